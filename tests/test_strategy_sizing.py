"""The shipped strategies size themselves from the instrument's minimums and handle dust.

The ``btc`` fixture has a lot of 0.001 and a minimum order value of 5 USDT: at a
price of 100 the smallest order is 0.05 (0.055 with the 10% headroom a strategy
that quotes away from the price keeps).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest
from botkit_strategies.ema_cross import EmaCross
from botkit_strategies.grid import Grid
from botkit_strategies.market_maker import MarketMaker

from botkit import Instrument, Side
from botkit.engine import Engine
from botkit.events import BookSnapshot, Trade
from botkit.node import build_sim_engine
from botkit.plugins import StrategySpec
from botkit.sizing import is_dust, min_order_size, order_lock

SYM = "BTC/USDT"
D = Decimal
SEC = 1_000_000_000


def run(inst: Instrument, strategy: Any, events: list[Any]) -> Engine:
    engine = build_sim_engine(
        {SYM: inst},
        [StrategySpec("s", strategy)],
        balances={"USDT": D(100_000), "BTC": D(10)},
    )
    engine.run_backtest([events])
    assert not engine.hook_errors
    return engine


def prints(*prices: float) -> list[Trade]:
    return [Trade((i + 1) * SEC, SYM, p, 1.0, Side.SELL, i) for i, p in enumerate(prices)]


def fills(engine: Engine) -> list[tuple[Side, Decimal, Decimal]]:
    return [(f.side, f.price, f.size) for f in engine.router.fills]


def test_the_smallest_order_and_dust(btc: Instrument) -> None:
    assert min_order_size(btc, 100) == D("0.055")  # 5 / 100 + 10%, up to the lot
    assert min_order_size(btc, D(100), headroom=D(0)) == D("0.05")
    assert min_order_size(btc, 1_000_000) == D("0.001")  # never below one lot
    inverse = Instrument("x", "BTC/USD", "BTC", "USD", "0.5", "1", kind="inverse_perpetual",
                         min_notional="0.001")  # fmt: skip
    assert min_order_size(inverse, 50_000, headroom=D(0)) == D("50")  # 50 USD = 0.001 BTC
    assert is_dust(btc, D("0.04"), 100) and is_dust(btc, D("-0.04"), 100)
    assert not is_dust(btc, D("0.05"), 100) and not is_dust(btc, D(0), 100)


def test_what_an_order_locks(btc: Instrument) -> None:
    # A spot buy locks its value plus the worse fee (taker 0.2% here), a sell its size;
    # a perpetual locks nothing (no margin model yet).
    assert order_lock(btc, Side.BUY, D("100"), D("2")) == ("USDT", D("200.400"))
    assert order_lock(btc, Side.SELL, D("100"), D("2")) == ("BTC", D("2"))
    perp = Instrument("x", SYM, "BTC", "USDT", "0.1", "0.001", kind="perpetual")
    assert order_lock(perp, Side.BUY, D("100"), D("2")) is None


def test_market_maker_quotes_at_least_the_minimum_order(
    btc: Instrument, caplog: pytest.LogCaptureFixture
) -> None:
    # The default size (0.001) is worth 0.1 USDT here: every quote would be rejected.
    mm = MarketMaker({"symbol": SYM, "half_spread_ticks": 10})
    with caplog.at_level(logging.WARNING):
        engine = run(btc, mm, [BookSnapshot(SEC, SYM, [(99.99, 5.0)], [(100.01, 5.0)])])
    quotes = {o.side: o.size for o in engine.router.open_orders("s", SYM)}
    assert quotes == {Side.BUY: D("0.055"), Side.SELL: D("0.055")}
    assert not engine.rejects
    assert [r.message for r in caplog.records if "quoting 0.055" in r.message]


def test_ema_cross_raises_a_size_below_the_minimum(btc: Instrument) -> None:
    ema = EmaCross({"symbol": SYM, "fast": 2, "slow": 4, "size": "0.01"})
    engine = run(btc, ema, prints(100, 100, 100, 100, 110))
    assert fills(engine) == [(Side.BUY, D("110"), D("0.050"))]  # 5 / 110 + 10%, up to the lot
    assert not engine.rejects


def test_ema_cross_leaves_dust_and_sells_it_with_the_next_position(
    btc: Instrument, caplog: pytest.LogCaptureFixture
) -> None:
    ema = EmaCross({"symbol": SYM, "fast": 2, "slow": 4, "size": "0.1"})
    # Long 0.1 at 110; at 40 it is worth 4 USDT, below the 5 USDT minimum: the cross
    # down leaves it. The cross up at 49 (where 0.1 is still dust) buys on top of it,
    # raised to the minimum there (5.5 / 49, up to the lot); the cross down at 30
    # sells both together.
    with caplog.at_level(logging.INFO):
        engine = run(btc, ema, prints(100, 100, 100, 100, 110, *[40] * 10, 49, 30))
    assert fills(engine) == [
        (Side.BUY, D("110"), D("0.1")),
        (Side.BUY, D("49"), D("0.113")),
        (Side.SELL, D("30"), D("0.213")),
    ]
    assert engine.router.position_size("s", SYM) == 0
    assert not engine.rejects  # the old way: below_min_notional at every cross down
    assert [r for r in caplog.records if "below the smallest order" in r.message]


def test_grid_raises_each_level_to_the_minimum_at_its_price(btc: Instrument) -> None:
    grid = Grid({"symbol": SYM, "size": "0.01", "spacing": "1", "count": 3})
    engine = run(btc, grid, prints(100))
    sizes = {o.price: o.size for o in engine.router.open_orders("s", SYM)}
    # A limit buy is valued at its own price: 5 / 99 = 0.0505..., up to the lot.
    assert sizes == {D("99.00"): D("0.051"), D("98.00"): D("0.052"), D("97.00"): D("0.052")}
    assert not engine.rejects
