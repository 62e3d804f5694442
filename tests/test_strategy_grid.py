"""The grid, driven through the real engine, risk module, router and simulated venue.

Trade prints alone drive these runs (no book): the first print at 100.00 starts
the ladder; a sell print below a resting buy fills it (the whole level traded),
a buy print above a resting sell fills that.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from botkit_strategies.grid import Grid
from pydantic import ValidationError

from botkit import Cancel, Instrument, Side
from botkit.engine import Engine
from botkit.events import Bar, Trade
from botkit.model import Order, OrderStatus
from botkit.node import build_sim_engine
from botkit.plugins import StrategySpec

SYM = "BTC/USDT"
D = Decimal
SEC = 1_000_000_000

BASE = {"symbol": SYM, "size": "1", "spacing": "1", "count": 3}


def sell_print(ts: int, price: float, size: float = 5.0) -> Trade:
    return Trade(ts, SYM, price, size, Side.SELL, ts)


def buy_print(ts: int, price: float, size: float = 5.0) -> Trade:
    return Trade(ts, SYM, price, size, Side.BUY, ts)


def run(
    inst: Instrument,
    batches: Iterable[list[Any]],
    engine_out: list[Engine] | None = None,
    balances: dict[str, Decimal] | None = None,
    **params: Any,
) -> Engine:
    # A None drops the key from BASE (e.g. count=None to give explicit levels).
    params = {k: v for k, v in {**BASE, **params}.items() if v is not None}
    engine = build_sim_engine(
        {SYM: inst},
        [StrategySpec("grid", Grid(params))],
        balances=balances or {"USDT": D(100_000)},
    )
    if engine_out is not None:
        engine_out.append(engine)
    engine.run_backtest(batches)
    assert not engine.hook_errors
    return engine


def orders(engine: Engine) -> list[Order]:
    """Every order the grid sent, in the order it sent them."""
    return list(engine.router.orders.values())


def resting(engine: Engine) -> list[tuple[Side, Decimal, Decimal, bool]]:
    """The open orders as (side, price, open size, reduce_only), highest price first."""
    out = [(o.side, o.price, o.remaining, o.reduce_only) for o in engine.router.open_orders("grid")]
    return sorted(out, key=lambda o: o[1], reverse=True)  # type: ignore[arg-type, return-value]


BUY, SELL = Side.BUY, Side.SELL


def test_places_the_ladder_on_the_first_trade(btc: Instrument) -> None:
    engine = run(btc, [[sell_print(SEC, 100.00)]])
    assert resting(engine) == [
        (BUY, D("99.00"), D("1"), False),
        (BUY, D("98.00"), D("1"), False),
        (BUY, D("97.00"), D("1"), False),
    ]
    assert not engine.rejects


def test_a_filled_buy_gets_a_reduce_only_exit_one_spacing_up(btc: Instrument) -> None:
    engine = run(btc, [[sell_print(SEC, 100.00), sell_print(2 * SEC, 98.50)]])
    assert [(f.side, f.price, f.size) for f in engine.router.fills] == [(BUY, D("99.00"), D("1"))]
    assert resting(engine) == [
        (SELL, D("100.00"), D("1"), True),
        (BUY, D("98.00"), D("1"), False),
        (BUY, D("97.00"), D("1"), False),
    ]
    assert engine.router.position_size("grid", SYM) == D("1")
    assert not engine.rejects


def test_the_exit_fill_re_arms_the_buy(btc: Instrument) -> None:
    events = [sell_print(SEC, 100.00), sell_print(2 * SEC, 98.50), buy_print(3 * SEC, 100.50)]
    engine = run(btc, [events])
    assert [(f.side, f.price) for f in engine.router.fills] == [
        (BUY, D("99.00")),
        (SELL, D("100.00")),
    ]
    # A new buy order (a new client id) back on the 99.00 level; the round trip made 1.00.
    assert resting(engine) == [
        (BUY, D("99.00"), D("1"), False),
        (BUY, D("98.00"), D("1"), False),
        (BUY, D("97.00"), D("1"), False),
    ]
    first, rearmed = (o for o in orders(engine) if o.price == D("99.00"))
    assert first.status is OrderStatus.FILLED and rearmed.status is OrderStatus.OPEN
    assert first.client_id != rearmed.client_id and rearmed.created_ns == 3 * SEC
    pos = engine.router.position("grid", SYM)
    assert pos.size == 0 and pos.realized_pnl == D("1.00")
    assert not engine.rejects


def test_partial_fills_get_their_own_exits(btc: Instrument) -> None:
    events = [
        sell_print(SEC, 100.00),
        sell_print(2 * SEC, 99.00, size=0.4),  # 0.4 of the 99.00 buy
        sell_print(3 * SEC, 98.50),  # the other 0.6
        buy_print(4 * SEC, 100.50),  # both exits
    ]
    engine = run(btc, [events])
    exits = [o for o in orders(engine) if o.side is SELL]
    assert [(o.price, o.size, o.reduce_only, o.status) for o in exits] == [
        (D("100.00"), D("0.4"), True, OrderStatus.FILLED),
        (D("100.00"), D("0.6"), True, OrderStatus.FILLED),
    ]
    assert [o.created_ns for o in exits] == [2 * SEC, 3 * SEC]
    assert (BUY, D("99.00"), D("1"), False) in resting(engine)  # re-armed
    assert engine.router.position_size("grid", SYM) == 0
    assert not engine.rejects


def test_a_sliver_waits_for_more_of_the_buy(btc: Instrument) -> None:
    # 0.03 x 100 = 3 USDT is under the 5 USDT minimum order value: no exit for it alone.
    events = [sell_print(SEC, 100.00), sell_print(2 * SEC, 99.00, size=0.03)]
    engine = run(btc, [events])
    assert not [o for o in orders(engine) if o.side is SELL]
    events.append(sell_print(3 * SEC, 98.50))
    engine = run(btc, [events])
    (exit_,) = (o for o in orders(engine) if o.side is SELL)
    assert (exit_.price, exit_.size, exit_.created_ns) == (D("100.00"), D("1"), 3 * SEC)
    assert not engine.rejects


def test_spacing_in_percent_of_the_start_price(btc: Instrument) -> None:
    params = {"spacing": None, "spacing_pct": "0.5", "count": 2}
    engine = run(btc, [[sell_print(SEC, 200.00), sell_print(2 * SEC, 198.90)]], **params)
    # 0.5 % of 200.00 is a 1.00 step: buys at 199 and 198, the 199 exit at 200.
    assert resting(engine) == [
        (SELL, D("200.00"), D("1"), True),
        (BUY, D("198.00"), D("1"), False),
    ]


def test_explicit_orders_within_bounds(btc: Instrument) -> None:
    params = {
        "count": None,
        "orders": [
            {"price": "99.5", "size": "2"},
            {"price": "95", "size": "1"},  # under lower
            {"price": "101", "size": "1"},  # above the start price
        ],
        "lower": "96",
    }
    engine = run(btc, [[sell_print(SEC, 100.00), sell_print(2 * SEC, 99.00)]], **params)
    assert resting(engine) == [(SELL, D("100.50"), D("2"), True)]
    assert [o.price for o in orders(engine)] == [D("99.50"), D("100.50")]


def test_explicit_levels_share_the_size(btc: Instrument) -> None:
    engine = run(btc, [[sell_print(SEC, 100.00)]], count=None, levels=["99.25", "98.75"])
    assert resting(engine) == [
        (BUY, D("99.25"), D("1"), False),
        (BUY, D("98.75"), D("1"), False),
    ]


def test_a_buy_cancelled_from_outside_is_placed_again_after_retry_ms(btc: Instrument) -> None:
    box: list[Engine] = []

    def batches() -> Iterator[list[Trade]]:
        yield [sell_print(SEC, 100.00)]
        engine = box[0]
        top = next(o for o in orders(engine) if o.price == D("99.00"))
        engine.submit("grid", [Cancel(top.client_id)])  # an operator pulls one buy
        yield [sell_print(SEC + SEC // 2, 100.00), sell_print(3 * SEC, 100.00)]

    engine = run(btc, batches(), engine_out=box, retry_ms=1000)
    at_99 = [o for o in orders(engine) if o.price == D("99.00")]
    assert [(o.status, o.created_ns) for o in at_99] == [
        (OrderStatus.CANCELED, SEC),
        (OrderStatus.OPEN, 3 * SEC),  # not at 1.5 s: retry_ms had not passed
    ]


def test_levels_the_account_cannot_pay_for_wait_unsent(btc: Instrument) -> None:
    # 200 USDT pays for the 99 and 98 buys (99.198 and 98.196 with the 0.2% fee locked),
    # not for the 97: it waits, and later trades past retry_ms send nothing more.
    grid = Grid({**BASE, "retry_ms": 1000})
    engine = build_sim_engine({SYM: btc}, [StrategySpec("grid", grid)], balances={"USDT": D(200)})
    engine.run_backtest([[sell_print(SEC, 100.00), sell_print(3 * SEC, 100.00)]])
    assert resting(engine) == [
        (BUY, D("99.00"), D("1"), False),
        (BUY, D("98.00"), D("1"), False),
    ]
    assert len(orders(engine)) == 2 and not engine.rejects
    assert grid.unfunded == 1


def bar(minute: int, o: float, h: float, low: float, c: float) -> Bar:
    """The 1-minute candle that closes at ``minute``."""
    return Bar(minute * 60 * SEC, SYM, 60 * SEC, o, h, low, c, 100.0)


def test_on_candles_the_first_close_starts_the_ladder(btc: Instrument) -> None:
    # No trade at all: the first close (100.00) starts the ladder, a later candle that
    # reaches a buy fills it, and one that reaches its exit fills that.
    events = [
        bar(1, 100.00, 100.50, 99.50, 100.00),
        bar(2, 100.00, 100.20, 98.60, 98.80),  # down to 98.60: the 99.00 buy
        bar(3, 98.80, 100.40, 98.70, 100.30),  # up to 100.40: its exit at 100.00
    ]
    engine = run(btc, [events])
    assert [(f.side, f.price, f.ts_ns) for f in engine.router.fills] == [
        (BUY, D("99.00"), 2 * 60 * SEC),
        (SELL, D("100.00"), 3 * 60 * SEC),
    ]
    assert resting(engine) == [
        (BUY, D("99.00"), D("1"), False),  # re-armed
        (BUY, D("98.00"), D("1"), False),
        (BUY, D("97.00"), D("1"), False),
    ]
    assert not engine.rejects


def test_cancels_its_orders_on_stop(btc: Instrument) -> None:
    engine = run(btc, [[sell_print(SEC, 100.00)]])
    engine.stop()
    assert not engine.router.open_orders("grid")
    assert all(o.status is OrderStatus.CANCELED for o in orders(engine))


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"size": "-1"}, ("size",)),
        ({"spacing": "0"}, ("spacing",)),
        ({"spacing_pct": "1"}, ("spacing",)),  # both spacings given with BASE's spacing
        ({"count": 0}, ("count",)),
        ({"levels": ["99", "-98"]}, ("levels", 1)),
        ({"levels": ["99", "98"]}, ("count",)),  # count and levels both given
        ({"lower": "100", "upper": "90"}, ("upper",)),
        ({"orders": [{"price": "99"}]}, ("orders", 0, "size")),
        ({"spacing_percent": 1}, ("spacing_percent",)),  # unknown key
    ],
)
def test_bad_params_name_the_field(params: dict[str, Any], loc: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as err:
        Grid({**BASE, **params})
    assert [e["loc"] for e in err.value.errors()] == [loc]
