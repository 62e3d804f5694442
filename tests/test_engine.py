"""The engine: hooks resolved once, intents through risk to the venue, timers, and failures."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from botkit import Edit, Instrument, OrderType, Place, Side, hookimpl
from botkit.events import Trade
from botkit.model import OrderStatus
from botkit.node import build_sim_engine
from botkit.plugins import StrategySpec

SYM = "BTC/USDT"
D = Decimal


def trades(n: int, step_ns: int = 1_000_000_000, price: float = 100.0) -> list[Trade]:
    return [Trade(i * step_ns, SYM, price + (i % 3), 1.0, Side.SELL, i) for i in range(1, n + 1)]


class Recorder:
    """Implements a subset of the hooks, some with fewer arguments than the spec."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.timers: list[tuple[int, str]] = []
        self.trades = 0
        self.orders: list[Any] = []
        self.started = self.stopped = False

    @hookimpl
    def on_start(self, ctx: Any) -> None:
        self.started = True

    @hookimpl
    def on_trade(self, trade: Any) -> None:  # pluggy lets a hook take a subset of args
        self.trades += 1

    @hookimpl
    def on_timer(self, ctx: Any, timer: Any) -> list[Place] | None:
        self.timers.append((ctx.now_ns, timer.name))
        if timer.name == "order" and not self.orders:
            return [Place(SYM, Side.BUY, "0.000001", price=100)]  # below the lot: rejected
        return None

    @hookimpl
    def on_order(self, ctx: Any, order: Any) -> None:
        self.orders.append(order)

    @hookimpl
    def on_stop(self, ctx: Any) -> None:
        self.stopped = True


def test_timers_run_on_the_event_clock_and_rejects_reach_the_strategy(btc: Instrument) -> None:
    rec = Recorder({})
    engine = build_sim_engine(
        {SYM: btc},
        [StrategySpec("rec", rec, timers={"tick": 2_000_000_000, "order": 5_000_000_000})],
    )
    engine.run_backtest([trades(6)])
    engine.stop()
    assert rec.started and rec.stopped and rec.trades == 6
    assert rec.timers == [
        (2_000_000_000, "tick"),
        (4_000_000_000, "tick"),
        (5_000_000_000, "order"),
        (6_000_000_000, "tick"),
    ]
    (update,) = rec.orders
    assert update.status is OrderStatus.REJECTED and update.code == "size_below_lot"
    assert update.reason and engine.rejects == {"size_below_lot": 1}


class Boom:
    """Raises on every trade: the loop must go on and count it."""

    def __init__(self, params: dict[str, Any]) -> None:
        pass

    @hookimpl
    def on_trade(self, ctx: Any, trade: Any) -> None:
        raise RuntimeError("strategy bug")


class Buyer:
    """Buys once at market; reads its own position and balances through ctx."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.seen: list[Decimal] = []

    @hookimpl
    def on_trade(self, ctx: Any, trade: Any) -> list[Place] | None:
        self.seen.append(ctx.position(SYM))
        if len(self.seen) == 1:
            return [Place(SYM, Side.BUY, 0.5, type=OrderType.MARKET)]
        return None


def test_a_failing_strategy_does_not_stop_the_others(btc: Instrument) -> None:
    buyer = Buyer({})
    engine = build_sim_engine(
        {SYM: btc},
        [StrategySpec("boom", Boom({})), StrategySpec("buyer", buyer)],
        balances={"USDT": D(1000)},
    )
    engine.run_backtest([trades(3)])
    assert engine.hook_errors == {"boom.on_trade": 3}
    assert buyer.seen == [D(0), D("0.5"), D("0.5")]
    # Each strategy has its own position; the account's balances follow from the fills.
    assert engine.router.position_size("boom", SYM) == 0
    assert engine.router.balances["BTC"] == D("0.5")
    # 0.5 at the first print, 101, plus the 0.2% taker fee.
    assert engine.router.balances["USDT"] == D(1000) - D("50.5") - D("0.101")


def test_equity_is_sampled_on_the_event_clock(btc: Instrument) -> None:
    engine = build_sim_engine(
        {SYM: btc},
        [StrategySpec("rec", Recorder({}))],
        balances={"USDT": D(1000), "BTC": D(1)},
        equity_interval_ns=2_000_000_000,
    )
    engine.run_backtest([trades(5)])
    engine.stop()
    # The first sample once a price is known (at the next event), then on the 2 s grid.
    assert [ts for ts, _ in engine.equity] == [
        1_000_000_001,
        2_000_000_000,
        4_000_000_000,
        5_000_000_000,
    ]
    assert engine.initial_equity == D(1000) + D("101")  # BTC marked at the first price seen


class EditsGhost:
    """Edits an order that never existed, then one that has already filled."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.updates: list[Any] = []
        self.step = 0

    @hookimpl
    def on_trade(self, ctx: Any, trade: Any) -> list[Any] | None:
        self.step += 1
        if self.step == 1:
            return [
                Edit("no-such-order", price=1),
                Place(SYM, Side.BUY, 1, type=OrderType.MARKET, client_id="m1"),
            ]
        if self.step == 2:
            return [Edit("m1", price=99)]
        return None

    @hookimpl
    def on_order(self, ctx: Any, order: Any) -> None:
        self.updates.append(order)


def test_an_edit_of_a_missing_or_closed_order_is_answered(btc: Instrument) -> None:
    ghost = EditsGhost({})
    engine = build_sim_engine({SYM: btc}, [StrategySpec("g", ghost)], balances={"USDT": D(1000)})
    engine.run_backtest([trades(2)])
    codes = [(u.client_id, u.status, u.code) for u in ghost.updates if u.code]
    assert codes == [
        ("no-such-order", OrderStatus.REJECTED, "unknown_order"),
        ("m1", OrderStatus.FILLED, "order_not_open"),
    ]
    assert engine.rejects == {"unknown_order": 1, "order_not_open": 1}


class RestsAndStops:
    """Rests a far bid; the run ends while its cancel is still on its way."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.sent = False

    @hookimpl
    def on_trade(self, ctx: Any, trade: Any) -> list[Place] | None:
        if self.sent:
            return None
        self.sent = True
        return [Place(SYM, Side.BUY, 1, price=50)]


def test_requests_in_flight_arrive_before_the_run_ends(btc: Instrument) -> None:
    engine = build_sim_engine(
        {SYM: btc},
        [StrategySpec("r", RestsAndStops({}))],
        balances={"USDT": D(1000)},
        latency_ns=5_000_000_000,
        cancel_on_stop=True,
    )
    engine.run_backtest([trades(8)])
    engine.stop()
    (order,) = engine.router.orders.values()
    assert order.status is OrderStatus.CANCELED


class Ticker7:
    """A timer every 7 minutes that only counts: it cuts the quiet gaps between trades."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.fired = 0

    @hookimpl
    def on_timer(self, ctx: Any, timer: Any) -> None:
        self.fired += 1


@pytest.mark.parametrize("with_timer", [False, True])
def test_equity_samples_across_quiet_hours_are_each_the_value_before_them(
    btc: Instrument, with_timer: bool
) -> None:
    minute, hour = 60_000_000_000, 3_600_000_000_000
    start = 1_700_000_000 * 1_000_000_000 // hour * hour
    # One print an hour for three days, the price stepping each hour.
    prints = [
        Trade(start + h * hour + 17, SYM, 100.0 + (h % 7), 0.1, Side.BUY, h) for h in range(72)
    ]
    specs = [StrategySpec("t7", Ticker7({}), timers={"tick": 7 * minute})] if with_timer else []
    engine = build_sim_engine(
        {SYM: btc}, specs, balances={"USDT": D(1000), "BTC": D(1)}, equity_interval_ns=minute
    )
    engine.run_backtest([prints])
    engine.stop()

    # The first sample just after the first print (the price is known), then every
    # minute, each worth the last print strictly before it (an event at a sample's
    # time comes after it).
    times = [t for t, _ in engine.equity]
    assert times[0] == prints[0].ts_ns + 1
    assert times[1:-1] == list(range(start + minute, prints[-1].ts_ns + 1, minute))
    for t, eq in engine.equity[1:-1]:
        last = max((p for p in prints if p.ts_ns < t), key=lambda p: p.ts_ns)
        assert eq == D(1000) + D(repr(last.price)), t
    assert engine.marks[SYM][1:-1] == [(t, float(eq - D(1000))) for t, eq in engine.equity[1:-1]]
