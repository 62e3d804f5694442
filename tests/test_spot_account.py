"""The spot account: orders lock what they may spend, nothing goes negative, no short selling.

Shown through the whole path (engine, risk module, router, simulated venue) and,
for the agreement of the risk module and the venue, through each on its own.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from botkit import Cancel, CancelAll, Edit, Instrument, OrderType, Place, RiskModule, Side, hookimpl
from botkit.book import OrderBook
from botkit.engine import Engine
from botkit.events import Bar, BookSnapshot, Trade
from botkit.model import Fill, Order, OrderStatus, TimeInForce
from botkit.node import build_sim_engine
from botkit.plugins import StrategySpec
from botkit.venues.sim import MatchingEngine

SYM = "BTC/USDT"
D = Decimal


class Script:
    """Sends the intents given for each event time; notes the account at every hook."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.script: dict[int, list[Any]] = params["script"]
        self.updates: list[Any] = []
        self.seen: list[tuple[dict[str, Decimal], dict[str, Decimal], dict[str, Decimal]]] = []

    def _step(self, ctx: Any) -> list[Any]:
        self.seen.append((ctx.balances, ctx.free_balances, ctx.locked_balances))
        return self.script.pop(ctx.now_ns, [])

    @hookimpl
    def on_trade(self, ctx: Any, trade: Any) -> list[Any]:
        return self._step(ctx)

    @hookimpl
    def on_book(self, ctx: Any, book: Any) -> list[Any]:
        return self._step(ctx)

    @hookimpl
    def on_bar(self, ctx: Any, bar: Any) -> list[Any]:
        return self._step(ctx)

    @hookimpl
    def on_order(self, ctx: Any, order: Any) -> None:
        self.updates.append(order)

    @hookimpl
    def on_fill(self, ctx: Any, fill: Any) -> None:
        self.seen.append((ctx.balances, ctx.free_balances, ctx.locked_balances))


def engine_with(
    inst: Instrument, balances: dict[str, Decimal], script: dict[int, list[Any]], **kw: Any
) -> tuple[Engine, Script]:
    strat = Script({"script": script})
    engine = build_sim_engine({SYM: inst}, [StrategySpec("s", strat)], balances=balances, **kw)
    return engine, strat


def book(ts: int, bid: float = 99.0, ask: float = 101.0) -> BookSnapshot:
    return BookSnapshot(ts, SYM, [(bid, 2.0), (bid - 1, 5.0)], [(ask, 1.0), (ask + 1, 3.0)])


def codes(s: Script) -> list[str | None]:
    return [u.code for u in s.updates if u.status is OrderStatus.REJECTED]


# ----------------------------------------------------------------------------- examples


def test_a_limit_buy_locks_quote_plus_the_worse_fee_until_it_is_cancelled(
    btc: Instrument,
) -> None:
    engine, _ = engine_with(
        btc,
        {"USDT": D(1000)},
        {1: [Place(SYM, Side.BUY, 5, 90, client_id="b")], 2: [Cancel("b")]},
    )
    engine.run_backtest([[book(1)]])
    ctx = engine.slots["s"].ctx
    # 5 x 90 x (1 + 0.002, the taker fee being the worse): 450.9 USDT locked.
    assert ctx.locked("USDT") == D("450.9")
    assert ctx.free("USDT") == D("549.1")
    assert ctx.balance("USDT") == D(1000)
    engine.run_backtest([[book(2)]])
    assert ctx.locked("USDT") == 0
    assert ctx.free("USDT") == D(1000)
    assert engine.market.locks.locked.get("USDT", 0) == 0  # type: ignore[attr-defined]


def test_a_partial_fill_uses_its_part_of_the_lock_and_keeps_the_rest(btc: Instrument) -> None:
    engine, _ = engine_with(
        btc, {"USDT": D(1000)}, {1: [Place(SYM, Side.BUY, 5, 90)]}, queue_position=False
    )
    engine.run_backtest([[book(1), Trade(2, SYM, 90.0, 2.0, Side.SELL)]])
    ctx = engine.slots["s"].ctx
    # 2 filled at 90 as maker: 180 plus a 0.18 fee spent; 3 x 90.18 stays locked.
    assert ctx.balance("USDT") == D("819.82")
    assert ctx.balance("BTC") == D(2)
    assert ctx.locked("USDT") == D("270.54")
    assert ctx.free("USDT") == D("549.28")
    venue: MatchingEngine = engine.market  # type: ignore[assignment]
    assert venue.balances["USDT"] == ctx.balance("USDT")
    assert venue.locks.locked["USDT"] == ctx.locked("USDT")


def test_an_expired_order_releases_its_lock(btc: Instrument) -> None:
    ioc = Place(SYM, Side.SELL, 1, 150, tif=TimeInForce.IOC)
    engine, s = engine_with(btc, {"USDT": D(10), "BTC": D(1)}, {1: [ioc]})
    engine.run_backtest([[book(1)]])
    ctx = engine.slots["s"].ctx
    assert [u.status for u in s.updates][-1] is OrderStatus.EXPIRED
    assert ctx.locked_balances == {}
    assert ctx.free("BTC") == D(1)


def test_the_issues_example_buying_62k_with_1000_usdt_and_shorting_are_refused(
    btc: Instrument,
) -> None:
    engine, s = engine_with(
        btc,
        {"USDT": D(1000)},
        {
            1: [
                Place(SYM, Side.BUY, 1, type=OrderType.MARKET),
                Place(SYM, Side.SELL, 1, type=OrderType.MARKET),
            ]
        },
    )
    engine.run_backtest([[book(1, 61_999.0, 62_000.0)]])
    assert codes(s) == ["insufficient_balance", "insufficient_balance"]
    assert engine.rejects["insufficient_balance"] == 2
    assert engine.router.fills == []
    assert engine.router.balances == {"USDT": D(1000)}


def test_the_venue_refuses_what_it_cannot_lock_even_past_the_risk_module(
    btc: Instrument,
) -> None:
    # The venue checks on arrival, against its own account: here the router's view
    # was made to look richer than the venue's, so the risk module lets 180.36 USDT by.
    engine, s = engine_with(btc, {"USDT": D(100)}, {1: [Place(SYM, Side.BUY, 2, 90)]}, latency_ns=5)
    engine.router.balances["USDT"] = D(1000)
    engine.run_backtest([[book(1), book(10)]])
    assert codes(s) == ["insufficient_balance"]
    assert engine.router.locked_balances.get("USDT", 0) == 0  # released on the reject


def test_a_market_buy_walks_the_book_only_as_far_as_the_balance_pays(btc: Instrument) -> None:
    fee_free = dataclasses.replace(btc, maker_fee=0, taker_fee=0)
    # 1.5 at the best ask (101) is 151.5: it fits in 151.6 and is sent. At the venue
    # it walks to 102, paying past its lock out of the free balance, and stops there.
    engine, s = engine_with(
        fee_free, {"USDT": D("151.6")}, {1: [Place(SYM, Side.BUY, D("1.5"), type="market")]}
    )
    engine.run_backtest([[BookSnapshot(1, SYM, [(99.0, 2.0)], [(101.0, 1.0), (102.0, 3.0)])]])
    fills = [(f.price, f.size) for f in engine.router.fills]
    assert fills == [(D(101), D(1)), (D(102), D("0.496"))]
    assert engine.router.balances["USDT"] == D("0.008")
    assert s.updates[-1].status is OrderStatus.EXPIRED
    assert engine.router.locked_balances == {}


def test_perpetuals_are_not_under_the_spot_rules(btc: Instrument) -> None:
    perp = dataclasses.replace(btc, kind="perpetual")
    engine, s = engine_with(perp, {"USDT": D(1000)}, {1: [Place(SYM, Side.SELL, 1, type="market")]})
    engine.run_backtest([[book(1)]])
    assert codes(s) == []
    assert engine.router.position_size("s", SYM) == D(-1)
    assert engine.router.locked_balances == {}


# ----------------------------------------------------------------------------- properties

prices = st.integers(95, 105).map(D)
sizes = st.sampled_from(["0.001", "0.01", "0.5", "1", "2.5", "7", "40"]).map(D)
places = st.builds(
    lambda side, size, price, market, tif: Place(
        SYM,
        side,
        size,
        None if market else price,
        type="market" if market else "limit",
        tif=TimeInForce.GTC if market else tif,
    ),
    st.sampled_from([Side.BUY, Side.SELL]),
    sizes,
    prices,
    st.booleans(),
    st.sampled_from([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC]),
)
markets = st.one_of(
    st.builds(
        lambda p, q, aggressor: Trade(0, SYM, float(p), q, aggressor),
        prices,
        st.sampled_from([0.3, 1.0, 4.0]),
        st.sampled_from([Side.BUY, Side.SELL, None]),
    ),
    st.builds(lambda p: book(0, float(p) - 1, float(p) + 1), prices),
)
# Bars only: the venue fills from bars (market orders at the next open, which may gap).
bars = st.builds(
    lambda o, c, spread, vol: Bar(
        0, SYM, 10, float(o), float(max(o, c) + spread), float(min(o, c) - spread), float(c), vol
    ),
    prices,
    prices,
    st.integers(0, 3),
    st.sampled_from([0.0, 2.0, 50.0]),
)


def sequences(market_events: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(
        st.tuples(
            market_events,
            st.lists(
                st.one_of(
                    places,
                    st.integers(1, 30).map(lambda n: Cancel(f"c{n}")),
                    st.tuples(st.integers(1, 30), prices, sizes).map(
                        lambda t: Edit(f"c{t[0]}", price=t[1], size=t[2])
                    ),
                ),
                max_size=3,
            ),
        ),
        min_size=1,
        max_size=25,
    )


def _named(intents: list[Any], seq: list[int]) -> list[Any]:
    out = []
    for i in intents:
        if isinstance(i, Place):
            seq[0] += 1
            i = i._replace(client_id=f"c{seq[0]}")
        out.append(i)
    return out


@settings(max_examples=60, deadline=None)
@given(
    sequences(markets) | sequences(bars),
    st.sampled_from(["0", "3", "250"]),
    st.sampled_from(["0", "1", "2.5"]),
    st.sampled_from([0, 0, 3]),
)
def test_random_orders_never_overdraw_a_spot_account(
    sequence: list[tuple[Any, list[Any]]], usdt: str, btc_held: str, latency: int
) -> None:
    inst = Instrument(
        "sim", SYM, "BTC", "USDT", "0.01", "0.001", maker_fee="0.001", taker_fee="0.002"
    )
    start = {"USDT": D(usdt), "BTC": D(btc_held)}
    script: dict[int, list[Any]] = {}
    events = []
    seq = [0]
    for i, (market_event, intents) in enumerate(sequence):
        ts = (i + 1) * 10
        events.append(market_event._replace(ts_ns=ts))
        script[ts] = _named(intents, seq)
    end = (len(sequence) + 1) * 10
    last = events[-1]
    closing = last._replace(ts_ns=end) if isinstance(last, Bar) else book(end)
    events.append(closing)
    script[end] = [CancelAll()]
    engine, s = engine_with(inst, start, script, latency_ns=latency, queue_position=False)
    engine.run_backtest([events, [closing._replace(ts_ns=end + 10)]])

    for total, free, locked in s.seen:
        assert all(v >= 0 for v in total.values()), total
        assert all(v >= 0 for v in free.values()), free
        assert all(v >= 0 for v in locked.values()), locked
        assert all(free[a] + locked.get(a, 0) == total[a] for a in total)
    # Position and balances follow from the fills alone: totals are conserved but for fees.
    fills: list[Fill] = engine.router.fills
    event(f"fills: {'some' if fills else 'none'}")
    event(f"refused insufficient_balance: {'insufficient_balance' in codes(s)}")
    bought = sum((f.size for f in fills if f.side is Side.BUY), D(0))
    sold = sum((f.size for f in fills if f.side is Side.SELL), D(0))
    paid = sum((f.price * f.size for f in fills if f.side is Side.BUY), D(0))
    got = sum((f.price * f.size for f in fills if f.side is Side.SELL), D(0))
    fees = sum((f.fee for f in fills), D(0))
    router = engine.router
    assert router.balances.get("BTC", 0) == start["BTC"] + bought - sold
    assert router.balances.get("USDT", 0) == start["USDT"] - paid + got - fees
    venue: MatchingEngine = engine.market  # type: ignore[assignment]
    assert {a: v for a, v in venue.balances.items() if v} == {
        a: v for a, v in router.balances.items() if v
    }
    # Everything was cancelled at the end: nothing stays locked, here or at the venue.
    assert router.locked_balances == {}
    assert not any(venue.locks.locked.values())


class Refusals:
    """A venue listener that keeps only the venue's refusals."""

    def __init__(self) -> None:
        self.codes: list[str] = []

    def on_reject(self, client_id: str, code: str, reason: str, ts_ns: int) -> None:
        self.codes.append(code)

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([Side.BUY, Side.SELL]),
    st.decimals("0.001", "5", places=3),
    st.none() | st.decimals("90", "110", places=2),
    st.decimals("0", "400", places=2),
    st.decimals("0", "3", places=3),
    st.sampled_from(["0", "0.001", "-0.0002"]),
    st.sampled_from([0, 10, 125]),
    st.sampled_from([0.0, 0.5]),
)
def test_the_risk_module_and_the_venue_agree_on_insufficient_balance(
    side: Side,
    size: Decimal,
    price: Decimal | None,
    usdt: Decimal,
    btc_held: Decimal,
    fee: str,
    slippage_bps: int,
    off_grid: float,
) -> None:
    inst = Instrument("sim", SYM, "BTC", "USDT", "0.01", "0.001", maker_fee=fee, taker_fee="0.001")
    ask = 100.0 + off_grid
    ob = OrderBook(SYM)
    ob.apply_snapshot(BookSnapshot(1, SYM, [(99.0, 50.0)], [(ask, 50.0)]))
    free = {"USDT": usdt, "BTC": btc_held}
    place = Place(SYM, side, size, price, type="limit" if price is not None else "market")
    risk = RiskModule(slippage_bps=slippage_bps)
    shaped = risk.check(place, inst, book=ob)
    assert shaped.accepted
    verdict = risk.check(place, inst, book=ob, balances=free)

    venue_said = Refusals()
    venue = MatchingEngine(
        {SYM: inst}, {SYM: ob}, venue_said, slippage_bps=slippage_bps, balances=free
    )
    p = shaped.intent
    venue.submit(Order("c1", SYM, p.side, p.type, p.size, p.price, p.tif), 1)

    risk_refused = verdict.code == "insufficient_balance"
    event(f"refused: {risk_refused}")
    assert risk_refused == (venue_said.codes == ["insufficient_balance"])
    assert verdict.accepted or risk_refused
