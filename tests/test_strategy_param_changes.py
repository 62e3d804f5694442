"""The example strategies take new params while they run (``set_param`` calls
``update_params``): what changes at once, what waits for the next event, and
what is refused because it would orphan orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from botkit_strategies.ema_cross import EmaCross
from botkit_strategies.grid import Grid
from botkit_strategies.market_maker import MarketMaker

from botkit import Instrument, Side
from botkit.engine import Engine
from botkit.events import BookSnapshot, Trade
from botkit.model import OrderStatus
from botkit.node import build_sim_engine
from botkit.plugins import StrategySpec

SYM = "BTC/USDT"
D = Decimal
S = 1_000_000_000  # one second in ns


@pytest.fixture
def inst() -> Instrument:
    return Instrument("sim", SYM, "BTC", "USDT", tick_size="0.01", lot_size="0.001")


def engine_with(inst: Instrument, name: str, strategy: Any) -> Engine:
    engine = build_sim_engine(
        {SYM: inst},
        [StrategySpec(name, strategy)],
        balances={"USDT": D(1_000_000), "BTC": D(10)},
        equity_interval_ns=0,
    )
    engine.start(0)
    return engine


def book(ts: int, bid: float, ask: float) -> BookSnapshot:
    return BookSnapshot(ts, SYM, [(bid, 5.0)], [(ask, 5.0)])


def open_sizes(engine: Engine, strategy: str) -> dict[Side, Decimal]:
    return {o.side: o.size for o in engine.router.open_orders(strategy, SYM)}


def test_the_market_maker_requotes_to_a_new_size_and_spread(inst: Instrument) -> None:
    mm = MarketMaker({"symbol": SYM, "size": "0.01", "half_spread_ticks": 10})
    engine = engine_with(inst, "mm", mm)
    engine.dispatch(book(1 * S, 99.99, 100.01))
    engine.dispatch(book(2 * S, 99.99, 100.01))
    assert open_sizes(engine, "mm") == {Side.BUY: D("0.010"), Side.SELL: D("0.010")}
    prices = {o.side: o.price for o in engine.router.open_orders("mm", SYM)}
    assert prices == {Side.BUY: D("99.90"), Side.SELL: D("100.10")}

    mm.update_params({"symbol": SYM, "size": "0.02", "half_spread_ticks": 20})
    engine.dispatch(book(3 * S, 99.99, 100.01))
    engine.dispatch(book(4 * S, 99.99, 100.01))  # the edits' answers, then steady
    orders = engine.router.open_orders("mm", SYM)
    assert {o.side: (o.size, o.price) for o in orders} == {
        Side.BUY: (D("0.020"), D("99.80")),
        Side.SELL: (D("0.020"), D("100.20")),
    }
    # Edited in place: the same two client ids as before.
    assert len(engine.router.all_orders()) == 2


def test_ema_cross_trades_a_new_size_from_the_next_signal(inst: Instrument) -> None:
    ema = EmaCross({"symbol": SYM, "fast": 2, "slow": 3, "size": "0.01"})
    engine = engine_with(inst, "ema", ema)
    prices = [100.0, 100.0, 100.0, 101.0, 99.0, 102.0]
    t = 0
    for p in prices[:4]:
        t += S
        engine.dispatch(Trade(t, SYM, p, 1.0, Side.BUY, t))
    assert [f.size for f in engine.router.fills] == [D("0.010")]  # the cross up at 101

    ema.update_params({"symbol": SYM, "fast": 2, "slow": 3, "size": "0.05"})
    for p in prices[4:]:
        t += S
        engine.dispatch(Trade(t, SYM, p, 1.0, Side.BUY, t))
    # Down at 99 sells the position it holds; up at 102 buys the new size.
    assert [(f.side, f.size) for f in engine.router.fills] == [
        (Side.BUY, D("0.010")),
        (Side.SELL, D("0.010")),
        (Side.BUY, D("0.050")),
    ]


def test_the_grid_takes_a_new_size_and_refuses_a_new_layout(inst: Instrument) -> None:
    grid = Grid({"symbol": SYM, "size": "0.01", "spacing": "1", "count": 2})
    # Before the ladder is laid out, the layout may still change.
    grid.update_params({"symbol": SYM, "size": "0.01", "spacing": "2", "count": 2})
    engine = engine_with(inst, "grid", grid)
    engine.dispatch(Trade(1 * S, SYM, 100.0, 1.0, Side.BUY, 1))
    buys = sorted((o.price, o.size) for o in engine.router.open_orders("grid", SYM))
    assert buys == [(D("96.00"), D("0.010")), (D("98.00"), D("0.010"))]

    with pytest.raises(ValueError, match="spacing laid the ladder out at start"):
        grid.update_params({"symbol": SYM, "size": "0.01", "spacing": "3", "count": 2})
    grid.update_params({"symbol": SYM, "size": "0.03", "spacing": "2", "count": 2})
    # The 98 buy fills and its exit at 100 too: the level re-arms with the new size.
    engine.dispatch(Trade(2 * S, SYM, 97.5, 1.0, Side.SELL, 2))
    engine.dispatch(Trade(3 * S, SYM, 100.5, 1.0, Side.BUY, 3))
    engine.dispatch(Trade(4 * S, SYM, 100.5, 1.0, Side.BUY, 4))
    filled = [(f.side, f.price, f.size) for f in engine.router.fills]
    assert filled == [(Side.BUY, D("98.00"), D("0.010")), (Side.SELL, D("100.00"), D("0.010"))]
    buys = sorted(
        (o.price, o.size)
        for o in engine.router.open_orders("grid", SYM)
        if o.side is Side.BUY and o.status is OrderStatus.OPEN
    )
    assert buys == [(D("96.00"), D("0.010")), (D("98.00"), D("0.030"))]
