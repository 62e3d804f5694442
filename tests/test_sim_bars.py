"""Orders on bar-only data: the simulated venue's bar fill model, through the engine.

A bar is known when it closes, so what a strategy sends on a bar trades on the
next one (``sim.bar_fill: next_open``), or at the bar's own close for market
orders with ``bar_fill: close``. Limits and stops trade when the bar's range
reaches them, along the path open -> low -> high -> close for a bar that closed
up (open -> high -> low -> close for one that closed down), and one bar fills at
most ``bar_volume_share`` of its volume.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from botkit import Instrument, OrderType, Place, Side, TimeInForce, hookimpl
from botkit.config import ConfigError, parse_config
from botkit.engine import Engine
from botkit.events import Bar, Trade
from botkit.model import Fill, Liquidity, OrderStatus
from botkit.node import build_sim_engine
from botkit.plugins import StrategySpec

SYM = "BTC/USDT"
D = Decimal
MIN = 60_000_000_000


def bar(i: int, o: float, h: float, low: float, c: float, volume: float = 1000.0) -> Bar:
    """The i-th one-minute bar (stamped at its close)."""
    return Bar((i + 1) * MIN, SYM, MIN, o, h, low, c, volume)


class Script:
    """Sends ``at[i]`` when the i-th bar closes; records fills and order updates."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.at: dict[int, list[Any]] = params["at"]
        self.seen = 0
        self.fills: list[Fill] = []
        self.updates: list[Any] = []

    @hookimpl
    def on_bar(self, ctx: Any, bar: Bar) -> list[Any] | None:
        self.seen += 1
        return self.at.get(self.seen - 1)

    @hookimpl
    def on_order(self, ctx: Any, order: Any) -> None:
        self.updates.append(order)

    @hookimpl
    def on_fill(self, ctx: Any, fill: Fill) -> None:
        self.fills.append(fill)


def run(
    inst: Instrument, at: dict[int, list[Any]], events: list[Any], **kw: Any
) -> tuple[Engine, Script]:
    strat = Script({"at": at})
    engine = build_sim_engine(
        {SYM: inst}, [StrategySpec("s", strat)], balances={"USDT": D(100000), "BTC": D(10)}, **kw
    )
    engine.run_backtest([events])
    engine.stop()
    return engine, strat


def priced(s: Script) -> list[tuple[Side, Decimal, Decimal, Liquidity]]:
    return [(f.side, f.price, f.size, f.liquidity) for f in s.fills]


def market(side: Side, size: str) -> Place:
    return Place(SYM, side, size, type=OrderType.MARKET)


# ----- market orders ---------------------------------------------------------------------


def test_market_order_fills_at_the_next_bars_open(btc: Instrument) -> None:
    bars = [bar(0, 100, 101, 99, 100.5), bar(1, 100.7, 102, 100, 101.5)]
    engine, s = run(btc, {0: [market(Side.BUY, "1")]}, bars)
    assert priced(s) == [(Side.BUY, D("100.7"), D("1"), Liquidity.TAKER)]
    assert s.fills[0].fee == D("100.7") * D("0.002")  # the taker fee
    assert s.fills[0].ts_ns == bars[1].ts_ns
    assert engine.rejects == {}  # valued at the last close, not refused no_reference_price


def test_a_market_order_sent_on_the_last_bar_expires_when_the_data_ends(btc: Instrument) -> None:
    bars = [bar(0, 100, 101, 99, 100.5), bar(1, 100.7, 102, 100, 101.5)]
    engine, s = run(btc, {1: [market(Side.BUY, "1")]}, bars)
    # No next bar to open: the order is not left open in the report.
    assert s.fills == []
    last = s.updates[-1]
    assert last.status is OrderStatus.EXPIRED
    assert last.reason == "the data ended before the next bar"
    assert engine.router.open_count == 0


def test_market_order_fills_at_the_signal_bars_close_with_bar_fill_close(btc: Instrument) -> None:
    bars = [bar(0, 100, 101, 99, 100.5), bar(1, 100.7, 102, 100, 101.5)]
    _, s = run(btc, {0: [market(Side.SELL, "1")]}, bars, bar_fill="close")
    assert priced(s) == [(Side.SELL, D("100.5"), D("1"), Liquidity.TAKER)]
    assert s.fills[0].ts_ns == bars[0].ts_ns


def test_market_order_on_bars_moves_by_the_slippage(btc: Instrument) -> None:
    bars = [bar(0, 100, 101, 99, 100), bar(1, 100, 102, 100, 101)]
    _, s = run(btc, {0: [market(Side.BUY, "1")]}, bars, slippage_bps=10)
    assert priced(s) == [(Side.BUY, D("100.10"), D("1"), Liquidity.TAKER)]


def test_an_order_trades_only_on_bars_that_opened_after_it_arrived(btc: Instrument) -> None:
    # Sent at the first close (1 min), it reaches the venue at 2.5 min: the bar
    # that opened at 2 min is already under way, so the one opening at 3 min fills it.
    bars = [bar(i, 100 + i, 101 + i, 99 + i, 100 + i) for i in range(4)]
    _, s = run(btc, {0: [market(Side.BUY, "1")]}, bars, latency_ns=90_000_000_000)
    assert priced(s) == [(Side.BUY, D("103"), D("1"), Liquidity.TAKER)]


def test_risk_values_a_market_order_at_the_last_close(btc: Instrument) -> None:
    # 0.04 BTC at the close of 100 is 4 USDT, below the instrument's 5 USDT minimum.
    bars = [bar(0, 200, 201, 99, 100), bar(1, 100, 102, 100, 101)]
    engine, s = run(btc, {0: [market(Side.BUY, "0.04")]}, bars)
    assert engine.rejects == {"below_min_notional": 1}
    assert s.fills == []


# ----- the volume cap --------------------------------------------------------------------


def test_volume_cap_spreads_a_market_order_over_the_next_bars(btc: Instrument) -> None:
    # 10% (the default share) of each bar's 10 BTC is 1 BTC a bar.
    bars = [bar(i, 100 + i, 101 + i, 99 + i, 100 + i, volume=10) for i in range(5)]
    _, s = run(btc, {0: [market(Side.BUY, "2.5")]}, bars)
    assert [(f.price, f.size) for f in s.fills] == [
        (D("101"), D("1")),
        (D("102"), D("1")),
        (D("103"), D("0.5")),
    ]
    assert s.updates[-1].status is OrderStatus.FILLED


def test_volume_cap_is_configurable_and_shared_by_the_orders_a_bar_fills(
    btc: Instrument,
) -> None:
    bars = [bar(0, 100, 100, 100, 100, volume=4), bar(1, 100, 101, 95, 100, volume=4)]
    limits = [Place(SYM, Side.BUY, "1", price=p) for p in ("97", "98")]
    _, s = run(btc, {0: [market(Side.BUY, "1"), *limits]}, bars, bar_volume_share="0.5")
    # 2 BTC for the bar: the market order at the open, then the first limit the
    # path (open -> low) reaches: 98 before 97.
    assert [(f.price, f.size) for f in s.fills] == [(D("100"), D("1")), (D("98"), D("1"))]


def test_a_bar_without_volume_fills_nothing(btc: Instrument) -> None:
    bars = [bar(0, 100, 100, 100, 100), bar(1, 101, 101, 101, 101, volume=0)]
    _, s = run(btc, {0: [market(Side.BUY, "1")]}, bars)
    assert s.fills == []
    # It waited for a bar that trades; none came before the data ended.
    assert [u.status for u in s.updates[-2:]] == [OrderStatus.OPEN, OrderStatus.EXPIRED]


# ----- limit orders through the bar's range ---------------------------------------------


def test_resting_limit_fills_at_its_price_when_the_range_reaches_it(btc: Instrument) -> None:
    bars = [
        bar(0, 100, 100, 100, 100),
        bar(1, 100, 101, 99.5, 100),  # low 99.5: does not reach 99
        bar(2, 100, 101, 98.5, 100),  # low 98.5: reaches it
    ]
    _, s = run(btc, {0: [Place(SYM, Side.BUY, "1", price="99")]}, bars)
    assert priced(s) == [(Side.BUY, D("99"), D("1"), Liquidity.MAKER)]
    assert s.fills[0].ts_ns == bars[2].ts_ns
    assert s.fills[0].fee == D("99") * D("0.001")  # the maker fee


def test_limit_the_open_gapped_through_fills_at_the_open(btc: Instrument) -> None:
    bars = [bar(0, 100, 100, 100, 100), bar(1, 110, 112, 109, 111)]
    _, s = run(btc, {0: [Place(SYM, Side.SELL, "1", price="105")]}, bars)
    assert priced(s) == [(Side.SELL, D("110"), D("1"), Liquidity.MAKER)]


# ----- marketable limits ----------------------------------------------------------------


def test_marketable_limit_takes_at_the_next_open(btc: Instrument) -> None:
    bars = [bar(0, 100, 100, 100, 100), bar(1, 100.5, 102, 100, 101)]
    _, s = run(btc, {0: [Place(SYM, Side.BUY, "1", price="101")]}, bars)
    assert priced(s) == [(Side.BUY, D("100.5"), D("1"), Liquidity.TAKER)]


def test_marketable_limit_rests_when_the_next_open_is_beyond_it(btc: Instrument) -> None:
    # It crossed the close of 100, but the next bar opens at 103 and comes down to
    # 100.5 (open -> high -> low -> close on a down bar): it fills at 101 as maker.
    bars = [bar(0, 100, 100, 100, 100), bar(1, 103, 104, 100.5, 102)]
    _, s = run(btc, {0: [Place(SYM, Side.BUY, "1", price="101")]}, bars)
    assert priced(s) == [(Side.BUY, D("101"), D("1"), Liquidity.MAKER)]


def test_marketable_limit_takes_the_close_with_bar_fill_close(btc: Instrument) -> None:
    bars = [bar(0, 100, 100, 99, 100, volume=5), bar(1, 100, 100, 100, 100, volume=5)]
    _, s = run(btc, {0: [Place(SYM, Side.BUY, "1", price="101")]}, bars, bar_fill="close")
    # The cap (0.5 BTC of the signal bar's 5) takes half at the close; the rest
    # rests at 101 and fills on the next bar, whose open (100) is below it.
    assert priced(s) == [
        (Side.BUY, D("100"), D("0.5"), Liquidity.TAKER),
        (Side.BUY, D("100"), D("0.5"), Liquidity.MAKER),
    ]


def test_ioc_limit_is_decided_at_the_next_open(btc: Instrument) -> None:
    bars = [bar(0, 100, 100, 100, 100), bar(1, 102, 103, 99, 100)]
    ioc = Place(SYM, Side.BUY, "1", price="101", tif=TimeInForce.IOC)
    _, s = run(btc, {0: [ioc]}, bars)
    assert s.fills == []  # the low of 99 came after the open of 102: too late for an IOC
    assert s.updates[-1].status is OrderStatus.EXPIRED


# ----- stops and the intrabar path ------------------------------------------------------


def stop(side: Side, size: str, stop_price: str, price: str | None = None) -> Place:
    kind = OrderType.STOP_MARKET if price is None else OrderType.STOP_LIMIT
    return Place(SYM, side, size, price=price, type=kind, stop_price=stop_price)


@pytest.mark.parametrize(
    ("close", "first"),
    [(104.0, D("97")), (96.0, D("103"))],
    ids=["up bar: low first", "down bar: high first"],
)
def test_intrabar_path_decides_which_of_stop_and_target_fills_first(
    btc: Instrument, close: float, first: Decimal
) -> None:
    # Long 2 BTC: a stop-loss at 97 and a take-profit at 103, both inside the next bar.
    bars = [bar(0, 100, 100, 100, 100), bar(1, 100, 105, 95, close)]
    orders = [stop(Side.SELL, "1", "97"), Place(SYM, Side.SELL, "1", price="103")]
    _, s = run(btc, {0: orders}, bars)
    assert s.fills[0].price == first
    # At the order's own grid price (as the risk module sent it), not a float's echo.
    assert sorted(str(f.price) for f in s.fills) == ["103.00", "97.00"]
    assert {f.price: f.liquidity for f in s.fills} == {
        D("97"): Liquidity.TAKER,
        D("103"): Liquidity.MAKER,
    }


def test_stop_market_gapped_through_fills_at_the_open(btc: Instrument) -> None:
    bars = [bar(0, 100, 100, 100, 100), bar(1, 94, 95, 93, 94)]
    _, s = run(btc, {0: [stop(Side.SELL, "1", "97")]}, bars)
    assert priced(s) == [(Side.SELL, D("94"), D("1"), Liquidity.TAKER)]


def test_stop_limit_triggers_then_rests_at_its_limit(btc: Instrument) -> None:
    bars = [
        bar(0, 100, 100, 100, 100),
        bar(1, 100, 106, 100, 105.5),  # triggers at 105, never back to 104
        bar(2, 105, 105, 103.5, 104),  # the limit at 104 is reached
    ]
    _, s = run(btc, {0: [stop(Side.BUY, "1", "105", price="104")]}, bars)
    assert priced(s) == [(Side.BUY, D("104"), D("1"), Liquidity.MAKER)]
    assert s.fills[0].ts_ns == bars[2].ts_ns


def test_stop_orders_are_refused_on_trade_data(btc: Instrument) -> None:
    class OnTrade(Script):
        @hookimpl
        def on_trade(self, ctx: Any, trade: Trade) -> list[Any] | None:
            self.seen += 1
            return self.at.get(self.seen - 1)

    strat = OnTrade({"at": {0: [stop(Side.SELL, "1", "97")]}})
    engine = build_sim_engine({SYM: btc}, [StrategySpec("s", strat)], balances={"BTC": D(1)})
    engine.run_backtest([[Trade(1, SYM, 100.0, 1.0, Side.SELL, 1)]])
    engine.stop()
    assert strat.updates[-1].status is OrderStatus.REJECTED
    assert strat.updates[-1].code == "unsupported_order_type"


def test_bars_stop_filling_once_trades_are_seen(btc: Instrument) -> None:
    events = [
        bar(0, 100, 100, 100, 100),
        Trade(bar(0, 0, 0, 0, 0).ts_ns + 1, SYM, 100.0, 1.0, Side.SELL, 1),
        bar(1, 99, 99, 90, 95),  # reaches the limit, but the trades drive fills now
    ]
    _, s = run(btc, {0: [Place(SYM, Side.BUY, "1", price="98")]}, events)
    assert s.fills == []


# ----- bot.yaml -----------------------------------------------------------------------------

BOT = """
instruments: [{symbol: BTC/USDT, base: BTC, quote: USDT, tick_size: "0.01", lot_size: "0.001"}]
strategies: [{name: e, use: ema_cross, params: {symbol: BTC/USDT, source: bars}}]
sim: SIM
"""


def test_bot_yaml_sets_the_bar_fill_and_the_volume_share() -> None:
    text = BOT.replace("SIM", '{bar_fill: close, bar_volume_share: "0.25"}')
    sim = parse_config(text, env={}).sim
    assert (sim.bar_fill, sim.bar_volume_share) == ("close", D("0.25"))
    default = parse_config(BOT.replace("SIM", "{}"), env={}).sim
    assert (default.bar_fill, default.bar_volume_share) == ("next_open", D("0.1"))


@pytest.mark.parametrize(
    ("sim", "where"),
    [
        ("{bar_fill: open}", "sim.bar_fill"),
        ('{bar_volume_share: "1.5"}', "sim.bar_volume_share"),
        ("{bar_volume_share: 0}", "sim.bar_volume_share"),
    ],
)
def test_bot_yaml_refuses_a_bad_bar_setting_naming_it(sim: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(BOT.replace("SIM", sim), env={})
    assert where in str(info.value)
