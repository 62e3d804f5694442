"""The simulated venue's fill model, shown through the engine and a tiny strategy."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botkit import Instrument, OrderType, Place, Side, hookimpl
from botkit.engine import Engine
from botkit.events import BookDelta, BookSnapshot, Trade
from botkit.model import Liquidity, OrderStatus
from botkit.node import build_sim_engine
from botkit.plugins import StrategySpec

SYM = "BTC/USDT"
D = Decimal


class OneShot:
    """Sends the given intents on its first event, records what comes back."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.intents = params["intents"]
        self.sent = False
        self.updates: list[Any] = []
        self.fills: list[Any] = []

    def _once(self) -> list[Any] | None:
        if self.sent:
            return None
        self.sent = True
        return self.intents

    @hookimpl
    def on_book(self, ctx: Any, book: Any) -> list[Any] | None:
        return self._once()

    @hookimpl
    def on_trade(self, ctx: Any, trade: Any) -> list[Any] | None:
        return self._once()

    @hookimpl
    def on_order(self, ctx: Any, order: Any) -> None:
        self.updates.append(order)

    @hookimpl
    def on_fill(self, ctx: Any, fill: Any) -> None:
        self.fills.append(fill)


def run(
    inst: Instrument, intents: list[Any], events: list[Any], **kw: Any
) -> tuple[Engine, OneShot]:
    strat = OneShot({"intents": intents})
    engine = build_sim_engine(
        {SYM: inst}, [StrategySpec("s", strat)], balances={"USDT": D(100000), "BTC": D(10)}, **kw
    )
    engine.run_backtest([events])
    engine.stop()
    return engine, strat


def book(ts: int = 1) -> BookSnapshot:
    return BookSnapshot(ts, SYM, [(99.0, 2.0), (98.0, 5.0)], [(101.0, 1.0), (102.0, 3.0)])


def test_market_order_walks_the_book(btc: Instrument) -> None:
    engine, s = run(btc, [Place(SYM, Side.BUY, "2.5", type=OrderType.MARKET)], [book()])
    assert [(f.price, f.size) for f in s.fills] == [(D("101"), D("1")), (D("102"), D("1.5"))]
    assert all(f.liquidity is Liquidity.TAKER for f in s.fills)
    assert s.fills[0].fee == D("101") * D("1") * D("0.002")  # taker fee in the quote asset
    assert s.updates[-1].status is OrderStatus.FILLED
    assert engine.router.position_size("s", SYM) == D("2.5")


def test_market_order_without_book_fills_at_last_trade_with_slippage(btc: Instrument) -> None:
    events = [Trade(1, SYM, 100.0, 1.0, Side.SELL, 1), Trade(2, SYM, 100.0, 1.0, Side.SELL, 2)]
    _, s = run(btc, [Place(SYM, Side.BUY, 1, type=OrderType.MARKET)], events, slippage_bps=10)
    assert [(f.price, f.size) for f in s.fills] == [(D("100.10"), D("1"))]


def test_resting_buy_waits_for_the_queue_ahead(btc: Instrument) -> None:
    # 2.0 rests ahead of us at 99; a sell print of 2.5 at 99 leaves 0.5 for us.
    events = [book(1), Trade(2, SYM, 99.0, 2.5, Side.SELL, 1)]
    _, s = run(btc, [Place(SYM, Side.BUY, 1, price=99)], events)
    assert [(f.price, f.size, f.liquidity) for f in s.fills] == [
        (D("99"), D("0.5"), Liquidity.MAKER)
    ]
    assert s.updates[-1].status is OrderStatus.PARTIALLY_FILLED


def test_queue_ahead_shrinks_when_the_level_shrinks(btc: Instrument) -> None:
    events = [book(1), BookDelta(2, SYM, [(99.0, 0.2)], []), Trade(3, SYM, 99.0, 0.7, Side.SELL, 1)]
    _, s = run(btc, [Place(SYM, Side.BUY, 1, price=99)], events)
    assert [f.size for f in s.fills] == [D("0.5")]


def test_trade_through_the_price_fills_completely(btc: Instrument) -> None:
    events = [book(1), Trade(2, SYM, 98.5, 0.01, Side.SELL, 1)]
    _, s = run(btc, [Place(SYM, Side.BUY, 3, price=99)], events)
    assert [(f.price, f.size) for f in s.fills] == [(D("99"), D("3"))]
    assert s.updates[-1].status is OrderStatus.FILLED


def test_buyer_aggressor_at_our_bid_does_not_fill_it(btc: Instrument) -> None:
    events = [book(1), Trade(2, SYM, 99.0, 10.0, Side.BUY, 1)]
    _, s = run(btc, [Place(SYM, Side.BUY, 1, price=99)], events, queue_position=False)
    assert s.fills == []


def test_venue_rejects_a_post_only_order_that_crosses_on_arrival(btc: Instrument) -> None:
    # Passes the risk module at send time; the book moves while the order is on its way.
    events = [
        book(1_000_000),
        BookDelta(2_000_000, SYM, [], [(100.4, 1.0)]),
        Trade(9_000_000, SYM, 100.4, 0.1, Side.BUY, 1),
    ]
    engine, s = run(
        btc,
        [Place(SYM, Side.BUY, 1, price="100.5", post_only=True)],
        events,
        latency_ns=5_000_000,
    )
    assert [r[2] for r in engine.router.venue.rejected] == ["post_only_would_cross"]
    assert s.updates[-1].status is OrderStatus.REJECTED
    assert s.updates[-1].code == "post_only_would_cross"
    assert not engine.rejects  # nothing was refused inside the process


def test_marketable_limit_takes_then_rests(btc: Instrument) -> None:
    engine, s = run(btc, [Place(SYM, Side.BUY, 2, price=101)], [book()])
    assert [(f.price, f.size) for f in s.fills] == [(D("101"), D("1"))]
    (order,) = engine.router.open_orders("s", SYM)
    assert order.remaining == D("1") and order.status is OrderStatus.PARTIALLY_FILLED


def test_latency_delays_arrival_on_the_event_clock(btc: Instrument) -> None:
    events = [
        Trade(1_000_000, SYM, 100.0, 1.0, Side.SELL, 1),
        Trade(3_000_000, SYM, 105.0, 1.0, Side.SELL, 2),
        Trade(9_000_000, SYM, 110.0, 1.0, Side.SELL, 3),
    ]
    _, s = run(btc, [Place(SYM, Side.BUY, 1, type=OrderType.MARKET)], events, latency_ns=5_000_000)
    # Sent at t=1ms, arrives at 6ms: the last price then is 105.
    assert [(f.price, f.ts_ns) for f in s.fills] == [(D("105"), 6_000_000)]
