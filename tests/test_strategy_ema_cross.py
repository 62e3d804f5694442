"""EMA cross, driven through the real engine: warm-up, crosses, the bars source, params.

With ``fast: 2, slow: 4`` the EMAs warm up over four prices; after a flat 100
a print at 110 puts the fast EMA (106.67) above the slow one (104.00): a cross
up. A print at 90 after that pulls the fast one (95.56) under the slow one
(98.40): a cross down. Market orders without a book fill at the last print.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from botkit_strategies.ema_cross import EmaCross
from pydantic import ValidationError

from botkit import Instrument, OrderType, Side
from botkit.engine import Engine
from botkit.events import Bar, BookSnapshot, Trade
from botkit.node import build_sim_engine
from botkit.plugins import StrategySpec

SYM = "BTC/USDT"
D = Decimal
SEC = 1_000_000_000
BASE = {"symbol": SYM, "fast": 2, "slow": 4, "size": "0.1"}


def prints(*prices: float) -> list[Trade]:
    return [Trade((i + 1) * SEC, SYM, p, 1.0, Side.SELL, i) for i, p in enumerate(prices)]


def run(inst: Instrument, events: list[Any], **params: Any) -> Engine:
    engine = build_sim_engine(
        {SYM: inst},
        [StrategySpec("ema", EmaCross({**BASE, **params}))],
        balances={"USDT": D(100_000)},
    )
    engine.run_backtest([events])
    assert not engine.hook_errors and not engine.rejects
    return engine


def fills(engine: Engine) -> list[tuple[Side, Decimal, Decimal]]:
    return [(f.side, f.price, f.size) for f in engine.router.fills]


def test_no_signal_during_warm_up(btc: Instrument) -> None:
    # The fast EMA is far above the slow one from the 3rd print on, but the 4th print
    # (the slow length) only records which is on top: a trend already under way is no cross.
    engine = run(btc, prints(100, 100, 120, 130, 140))
    assert engine.router.orders == {}


def test_cross_up_buys_when_flat(btc: Instrument) -> None:
    engine = run(btc, prints(100, 100, 100, 100, 110))
    assert fills(engine) == [(Side.BUY, D("110"), D("0.1"))]
    (order,) = engine.router.orders.values()
    assert order.type is OrderType.MARKET


def test_cross_down_sells_when_long(btc: Instrument) -> None:
    engine = run(btc, prints(100, 100, 100, 100, 110, 90))
    assert fills(engine) == [(Side.BUY, D("110"), D("0.1")), (Side.SELL, D("90"), D("0.1"))]
    assert engine.router.position_size("ema", SYM) == 0


# A 4th print at 101 leaves the fast EMA on top at the end of the warm-up, so the
# print at 90 is a cross down.
UP_THEN_DOWN = (100, 100, 100, 101, 90)


def test_cross_down_when_flat_does_nothing_without_allow_short(btc: Instrument) -> None:
    assert run(btc, prints(*UP_THEN_DOWN)).router.orders == {}


def test_allow_short_goes_short_and_back_long(btc: Instrument) -> None:
    # Short selling needs a derivative: a spot account cannot sell BTC it does not hold.
    perp = dataclasses.replace(btc, kind="perpetual")
    engine = run(perp, prints(*UP_THEN_DOWN, 110), allow_short=True)
    # Short 0.1 on the cross down; on the cross up, cover and go long 0.1 in one order.
    assert fills(engine) == [(Side.SELL, D("90"), D("0.1")), (Side.BUY, D("110"), D("0.2"))]
    assert engine.router.position_size("ema", SYM) == D("0.1")


def test_bars_source_reads_closes_and_ignores_trades(btc: Instrument) -> None:
    book = BookSnapshot(SEC // 2, SYM, [(99.0, 5.0)], [(101.0, 5.0)])
    bars = [
        Bar((i + 1) * 60 * SEC, SYM, 60 * SEC, c, c, c, c, 1.0)
        for i, c in enumerate([100.0, 100.0, 100.0, 100.0, 110.0])
    ]
    # These prints would make a cross of their own (up, then down) if trades counted.
    noise = prints(100, 100, 100, 100, 130, 60)
    events = sorted([book, *bars, *noise], key=lambda e: e.ts_ns)
    engine = run(btc, events, source="bars")
    # One buy, on the 5th bar's close: a market order takes the best ask of the book.
    assert fills(engine) == [(Side.BUY, D("101"), D("0.1"))]
    assert engine.router.fills[0].ts_ns == 5 * 60 * SEC


def test_on_bars_alone_it_decides_on_the_close_and_fills_at_the_next_open(
    btc: Instrument,
) -> None:
    bars = [
        Bar((i + 1) * 60 * SEC, SYM, 60 * SEC, o, max(o, c), min(o, c), c, 100.0)
        for i, (o, c) in enumerate([(100, 100)] * 4 + [(100, 110), (111, 112)])
    ]
    engine = run(btc, bars, source="bars")
    # The cross comes on the 5th bar's close; the order fills at the 6th bar's open.
    assert fills(engine) == [(Side.BUY, D("111"), D("0.1"))]


def test_only_bars_with_source_trades_is_told_at_the_end(
    btc: Instrument, caplog: pytest.LogCaptureFixture
) -> None:
    bars = [Bar((i + 1) * 60 * SEC, SYM, 60 * SEC, 100, 100, 100, 100, 1.0) for i in range(3)]
    engine = run(btc, bars)
    engine.stop()
    assert engine.router.orders == {}
    told = [r.getMessage() for r in caplog.records if "set source: bars" in r.getMessage()]
    assert told == [
        "ema_cross on BTC/USDT read trades (source: trades) but got only bars (3); "
        "set source: bars to trade on bar closes"
    ]


def test_bars_before_trades_are_not_warned_of(
    btc: Instrument, caplog: pytest.LogCaptureFixture
) -> None:
    bar = Bar(SEC // 2, SYM, SEC // 2, 100, 100, 100, 100, 1.0)
    engine = run(btc, [bar, *prints(100, 100)])
    engine.stop()
    assert not [r for r in caplog.records if "set source: bars" in r.getMessage()]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"size": "-0.1"}, ("size",)),
        ({"size": "0"}, ("size",)),
        ({"fast": 0}, ("fast",)),
        ({"slow": 1}, ("slow",)),
        ({"source": "ticks"}, ("source",)),
        ({"fats": 3}, ("fats",)),  # unknown key
    ],
)
def test_bad_params_name_the_field(params: dict[str, Any], loc: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as err:
        EmaCross({**BASE, **params})
    assert [e["loc"] for e in err.value.errors()] == [loc]


def test_fast_must_be_shorter_than_slow() -> None:
    with pytest.raises(ValidationError, match=r"fast \(4\) must be shorter than slow \(4\)"):
        EmaCross({**BASE, "fast": 4})
