"""Examples of the risk module: one test per reject code, plus rounding, slide, edits, limits."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

import pytest

from botkit import Cancel, CancelAll, Edit, Instrument, OrderType, Place, RiskModule, Side
from botkit.model import Order, OrderStatus, TimeInForce
from botkit.risk import REJECT_CODES, Decision, RateLimit, RiskConfigError, RiskLimits
from botkit.risk.checks import (
    Reject,
    check_kill_switch,
    check_known,
    check_max_open_orders,
    check_max_position,
    check_order_rate,
    check_order_value,
    check_post_only,
    check_price_band,
    check_reduce_only,
    check_shape,
    check_side,
    check_size_bounds,
    quantize,
)
from botkit.risk.limits import RateWindow, Rules
from botkit.risk.order import OrderDraft, draft_edit, draft_place

BTC = Instrument(
    venue="sim",
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    tick_size="0.01",
    lot_size="0.001",
    min_size="0.002",
    max_size="100",
    min_notional="5",
    max_notional="1000000",
)


@dataclass(frozen=True)
class Book:
    best_bid: float | None = 100.0
    best_ask: float | None = 100.5
    last_price: float | None = 100.2


@dataclass(frozen=True)
class Open:
    """An open order as the engine hands it to the risk module."""

    side: Side
    remaining: Decimal
    reduce_only: bool = False
    client_id: str | None = None


BOOK = Book()


def check(intent, limits=None, **kwargs) -> Decision:
    kwargs.setdefault("book", BOOK)
    return RiskModule(limits).check(intent, kwargs.pop("instrument", BTC), **kwargs)


def rejected(decision: Decision, code: str) -> Decision:
    assert not decision.accepted, decision
    assert decision.code == code, decision
    assert decision.reason, decision
    return decision


def accepted(decision: Decision) -> Decision:
    assert decision.accepted, decision
    assert decision.code is None
    return decision


def an_order(**changes) -> Order:
    base = Order(
        client_id="o1",
        symbol="BTC/USDT",
        side=Side.BUY,
        type=OrderType.LIMIT,
        size=Decimal("1.000"),
        price=Decimal("99.00"),
        status=OrderStatus.OPEN,
    )
    return dataclasses.replace(base, **changes)


# --------------------------------------------------------------------------- accepted orders


def test_market_buy_with_a_float_size_becomes_grid_decimals() -> None:
    d = accepted(check(Place("BTC/USDT", "buy", 0.0523456, type="market")))
    assert d.intent == Place(
        "BTC/USDT",
        Side.BUY,
        Decimal("0.052"),
        None,
        OrderType.MARKET,
        TimeInForce.GTC,
    )
    assert hash(d.intent) == hash(Place("BTC/USDT", "buy", Decimal("0.052"), type="market"))
    assert isinstance(d.intent.size, Decimal)
    assert d.reason == ""


def test_limit_order_fields_are_normalized() -> None:
    place = Place("BTC/USDT", "SELL", "0.5", 101.237, tif="ioc", client_id="c9")
    d = accepted(check(place))
    assert d.intent.side is Side.SELL
    assert d.intent.type is OrderType.LIMIT
    assert d.intent.tif is TimeInForce.IOC
    assert d.intent.price == Decimal("101.24") and str(d.intent.price) == "101.24"
    assert str(d.intent.size) == "0.500"
    assert d.intent.client_id == "c9"


def test_the_input_intent_is_returned_untouched_on_reject() -> None:
    place = Place("BTC/USDT", Side.BUY, 0.001, 100)
    d = check(place)
    assert d.intent is place


def test_numpy_and_int_numbers_are_accepted() -> None:
    import numpy as np

    d = accepted(check(Place("BTC/USDT", Side.BUY, np.float64(0.1), np.int64(100))))
    assert d.intent.size == Decimal("0.100")
    assert d.intent.price == Decimal("100.00")


def test_decision_is_frozen() -> None:
    d = check(Place("BTC/USDT", Side.BUY, 1, 100))
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.accepted = False  # type: ignore[misc]


def test_cancels_always_pass_even_when_halted_and_unknown() -> None:
    rm = RiskModule({"kill_switch": "halted", "max_order_rate": "1/s"})
    for intent in (Cancel("x"), CancelAll(), CancelAll("BTC/USDT")):
        d = rm.check(intent, None)
        assert d.accepted and d.intent is intent and d.code is None


def test_open_orders_may_be_any_iterable() -> None:
    opens = (o for o in [Open(Side.SELL, Decimal("0.4"), reduce_only=True)])
    d = accepted(
        check(
            Place("BTC/USDT", Side.SELL, 1, 101, reduce_only=True),
            position=1,
            open_orders=opens,
            limits={"max_open_orders": 5},
        )
    )
    assert d.intent.size == Decimal("0.600")


# --------------------------------------------------------------------------- rounding


def test_buy_price_rounds_down_and_sell_price_rounds_up() -> None:
    buy = accepted(check(Place("BTC/USDT", Side.BUY, 1, 99.999)))
    sell = accepted(check(Place("BTC/USDT", Side.SELL, 1, 101.001)))
    assert buy.intent.price == Decimal("99.99")
    assert sell.intent.price == Decimal("101.01")


def test_size_rounds_down_to_the_lot() -> None:
    d = accepted(check(Place("BTC/USDT", Side.BUY, 0.0999999, 100)))
    assert d.intent.size == Decimal("0.099")


def test_stop_price_rounds_like_the_price() -> None:
    buy = Place("BTC/USDT", Side.BUY, 1, type="stop_market", stop_price=105.555)
    sell = Place("BTC/USDT", Side.SELL, 1, 94.444, type="stop_limit", stop_price=95.001)
    assert accepted(check(buy)).intent.stop_price == Decimal("105.55")
    d = accepted(check(sell))
    assert (d.intent.price, d.intent.stop_price) == (Decimal("94.45"), Decimal("95.01"))


def test_rounding_reject_accepts_on_grid_values() -> None:
    d = accepted(check(Place("BTC/USDT", Side.BUY, "0.25", "100.1"), {"rounding": "reject"}))
    assert d.intent.price == Decimal("100.10") and d.intent.size == Decimal("0.250")


def test_rounding_reject_with_a_float_that_prints_on_grid() -> None:
    # 0.1 is not exactly representable, but it prints as 0.1, which is on the grid.
    accepted(check(Place("BTC/USDT", Side.BUY, 0.1, 100.1), {"rounding": "reject"}))


def test_absurdly_large_numbers_reject_rather_than_raise() -> None:
    rejected(check(Place("BTC/USDT", Side.BUY, 1e30, 100)), "invalid_size")
    rejected(check(Place("BTC/USDT", Side.BUY, 1, "1e40")), "invalid_price")


# --------------------------------------------------------------------------- post-only


def test_post_only_that_does_not_cross_passes_unchanged() -> None:
    d = accepted(check(Place("BTC/USDT", Side.BUY, 1, 100.49, post_only=True)))
    assert d.intent.price == Decimal("100.49") and d.intent.post_only is True


def test_post_only_slide_moves_a_buy_to_one_tick_under_the_ask() -> None:
    d = accepted(check(Place("BTC/USDT", Side.BUY, 1, 101, post_only=True), {"post_only": "slide"}))
    assert d.intent.price == Decimal("100.49")
    assert "slid" in d.reason


def test_post_only_slide_moves_a_sell_to_one_tick_over_the_bid() -> None:
    d = accepted(
        check(Place("BTC/USDT", Side.SELL, 1, 99.5, post_only=True), {"post_only": "slide"})
    )
    assert d.intent.price == Decimal("100.01")


def test_post_only_slide_with_an_off_grid_book_stays_strictly_inside() -> None:
    book = Book(best_bid=100.004, best_ask=100.506, last_price=100.2)
    limits = {"post_only": "slide"}
    buy = accepted(check(Place("BTC/USDT", Side.BUY, 1, 101, post_only=True), limits, book=book))
    sell = accepted(check(Place("BTC/USDT", Side.SELL, 1, 99, post_only=True), limits, book=book))
    assert buy.intent.price == Decimal("100.50")
    assert sell.intent.price == Decimal("100.01")


def test_post_only_without_a_book_is_left_to_the_venue() -> None:
    accepted(check(Place("BTC/USDT", Side.BUY, 1, 101, post_only=True), book=None))


# --------------------------------------------------------------------------- reduce-only


def test_reduce_only_is_clipped_to_the_position() -> None:
    d = accepted(check(Place("BTC/USDT", Side.SELL, 2, 101, reduce_only=True), position="0.75"))
    assert d.intent.size == Decimal("0.750")
    assert "clipped" in d.reason


def test_reduce_only_counts_other_reduce_only_orders_on_the_same_side() -> None:
    opens = [
        Open(Side.BUY, Decimal("0.3"), reduce_only=True),
        Open(Side.BUY, Decimal("5"), reduce_only=False),  # not reduce-only: ignored
        Open(Side.SELL, Decimal("5"), reduce_only=True),  # other side: ignored
    ]
    place = Place("BTC/USDT", Side.BUY, 1, 100, reduce_only=True)
    d = accepted(check(place, position=-0.8, open_orders=opens))
    assert d.intent.size == Decimal("0.500")


def test_reduce_only_room_is_rounded_down_to_the_lot() -> None:
    d = accepted(check(Place("BTC/USDT", Side.SELL, 1, 101, reduce_only=True), position="0.12345"))
    assert d.intent.size == Decimal("0.123")


# --------------------------------------------------------------------------- edits


def test_edit_price_only_keeps_the_size() -> None:
    d = accepted(check(Edit("o1", price=98.126), order=an_order()))
    assert d.intent == Edit("o1", price=Decimal("98.12"), size=Decimal("1.000"))


def test_edit_size_is_the_new_total_and_filled_size_stays_filled() -> None:
    order = an_order(filled=Decimal("0.4"))
    d = accepted(check(Edit("o1", size="0.9"), order=order))
    assert d.intent.size == Decimal("0.900") and d.intent.price == Decimal("99.00")


def test_edit_checks_the_open_part_against_the_minimum_value() -> None:
    # 0.45 filled, new total 0.5: 0.05 left at 99 = 4.95 USDT < 5.
    order = an_order(filled=Decimal("0.45"))
    rejected(check(Edit("o1", size="0.5"), order=order), "below_min_notional")


def test_edit_at_or_below_the_filled_size_is_invalid() -> None:
    order = an_order(filled=Decimal("0.5"))
    rejected(check(Edit("o1", size="0.5"), order=order), "invalid_size")


def test_edit_of_a_reduce_only_order_is_clipped_to_the_open_room() -> None:
    order = an_order(side=Side.SELL, price=Decimal("101"), reduce_only=True, filled=Decimal("0.2"))
    opens = [Open(Side.SELL, Decimal("0.8"), reduce_only=True, client_id="o1")]  # itself
    d = accepted(check(Edit("o1", size=3), order=order, position="0.5", open_orders=opens))
    # 0.2 already filled (the position is what is left); 0.5 may still be sold.
    assert d.intent.size == Decimal("0.700")


def test_edit_does_not_count_itself_against_max_position_or_open_orders() -> None:
    opens = [Open(Side.BUY, Decimal("1"), client_id="o1")]
    limits = {"max_position": "1.5", "max_open_orders": 1}
    accepted(check(Edit("o1", size="1.5"), limits, order=an_order(), open_orders=opens))
    rejected(
        check(Edit("o1", size="1.6"), limits, order=an_order(), open_orders=opens),
        "max_position",
    )


def test_edit_of_a_post_only_order_is_checked_against_the_book() -> None:
    order = an_order(post_only=True)
    rejected(check(Edit("o1", price=100.5), order=order), "post_only_would_cross")
    d = accepted(check(Edit("o1", price=100.5), {"post_only": "slide"}, order=order))
    assert d.intent.price == Decimal("100.49")


# --------------------------------------------------------------------------- account limits


def test_max_position_per_symbol_with_a_default() -> None:
    limits = {"max_position": {"ETH/USDT": "10", "default": "1"}}
    rejected(check(Place("BTC/USDT", Side.BUY, "1.5", 100), limits), "max_position")
    eth = dataclasses.replace(BTC, symbol="ETH/USDT")
    accepted(check(Place("ETH/USDT", Side.BUY, "1.5", 100), limits, instrument=eth))


def test_max_position_counts_open_orders_on_the_same_side_only() -> None:
    opens = [Open(Side.BUY, Decimal("0.6")), Open(Side.SELL, Decimal("5"))]
    place = Place("BTC/USDT", Side.BUY, "0.5", 100)
    rejected(check(place, {"max_position": "1"}, position="0.1", open_orders=opens), "max_position")
    accepted(check(place, {"max_position": "1.2"}, position="0.1", open_orders=opens))


def test_max_position_never_blocks_an_order_that_shrinks_the_position() -> None:
    # Long 5 with a cap of 1 (the cap was lowered): selling 2 is still allowed.
    accepted(check(Place("BTC/USDT", Side.SELL, 2, 101), {"max_position": "1"}, position=5))


def test_reduce_only_is_exempt_from_max_position() -> None:
    limits = {"max_position": "0"}
    accepted(check(Place("BTC/USDT", Side.SELL, 1, 101, reduce_only=True), limits, position=1))


def test_max_open_orders_uses_the_given_total() -> None:
    place = Place("BTC/USDT", Side.BUY, 1, 100)
    limits = {"max_open_orders": 3}
    accepted(check(place, limits, open_order_count=2))
    rejected(check(place, limits, open_order_count=3), "max_open_orders")


def test_rate_limit_is_a_sliding_window_on_the_event_clock() -> None:
    rm = RiskModule({"max_order_rate": {"count": 2, "per": "1s"}})
    place = Place("BTC/USDT", Side.BUY, 1, 100)
    second = 1_000_000_000
    assert rm.check(place, BTC, now_ns=0).accepted
    assert rm.check(place, BTC, now_ns=second // 2).accepted
    rejected(rm.check(place, BTC, now_ns=second - 1), "rate_limited")
    # Cancels are not counted; rejected orders are not counted.
    assert rm.check(Cancel("x"), BTC, now_ns=second - 1).accepted
    assert rm.check(place, BTC, now_ns=second).accepted  # the first left the window
    rejected(rm.check(place, BTC, now_ns=second + 1), "rate_limited")


def test_rate_limit_does_not_count_orders_rejected_later_in_the_checks() -> None:
    rm = RiskModule({"max_order_rate": "1/s", "price_band": "0.01"})
    rejected(rm.check(Place("BTC/USDT", Side.BUY, 1, 150), BTC, book=BOOK, now_ns=0), "price_band")
    assert rm.check(Place("BTC/USDT", Side.BUY, 1, 100), BTC, book=BOOK, now_ns=1).accepted


def test_price_band_is_not_applied_without_a_last_price() -> None:
    place = Place("BTC/USDT", Side.BUY, 1, 150)
    accepted(check(place, {"price_band": "0.05"}, book=Book(last_price=None)))
    rejected(check(place, {"price_band": "0.05"}), "price_band")


def test_price_band_applies_to_the_reference_price_of_a_market_order() -> None:
    book = Book(best_bid=90, best_ask=110, last_price=100)
    place = Place("BTC/USDT", Side.BUY, 1, type=OrderType.MARKET)
    accepted(check(place, {"price_band": "0.1"}, book=book))
    rejected(check(place, {"price_band": "0.05"}, book=book), "price_band")


def test_kill_switch_can_be_changed_at_run_time() -> None:
    rm = RiskModule()
    assert rm.kill_switch == "active"
    rm.set_kill_switch("reducing")
    assert rm.kill_switch == "reducing"
    assert rm.limits.kill_switch == "active"
    sell = Place("BTC/USDT", Side.SELL, 1, 101, reduce_only=True)
    assert rm.check(sell, BTC, position=1, book=BOOK).accepted
    rejected(rm.check(Place("BTC/USDT", Side.BUY, 1, 100), BTC, book=BOOK), "reducing_only")
    rm.set_kill_switch("active")
    assert rm.check(Place("BTC/USDT", Side.BUY, 1, 100), BTC, book=BOOK).accepted
    with pytest.raises(RiskConfigError):
        rm.set_kill_switch("off")


def test_market_order_valued_at_the_last_price_without_a_book_side() -> None:
    place = Place("BTC/USDT", Side.SELL, "0.04", type=OrderType.MARKET)
    rejected(check(place, book=Book(best_bid=None, last_price=100)), "below_min_notional")
    accepted(check(place, book=Book(best_bid=None, last_price=200)))


def test_stop_market_is_valued_at_its_stop_price() -> None:
    place = Place("BTC/USDT", Side.BUY, "0.04", type="stop_market", stop_price=100)
    rejected(check(place, book=None), "below_min_notional")
    accepted(check(place._replace(stop_price=150), book=None))


def test_inputs_are_not_mutated() -> None:
    opens = [Open(Side.SELL, Decimal("0.1"), reduce_only=True)]
    order = an_order(side=Side.SELL, reduce_only=True)
    before = (list(opens), dataclasses.replace(order))
    check(Edit("o1", size=5, price=101), order=order, position=1, open_orders=opens)
    assert (opens, order) == before


# --------------------------------------------------------------------------- one test per code


def test_rejects_unknown_instrument() -> None:
    d = check(Place("DOGE/USDT", Side.BUY, 1, 1), instrument=None)
    rejected(d, "unknown_instrument")
    assert "DOGE/USDT" in d.reason


def test_rejects_unknown_order() -> None:
    rejected(check(Edit("o1", price=100)), "unknown_order")
    closed = an_order(status=OrderStatus.FILLED)
    rejected(check(Edit("o1", price=100), order=closed), "unknown_order")


def test_rejects_side_not_allowed() -> None:
    buy_only = dataclasses.replace(BTC, allowed_sides=frozenset({Side.BUY}))
    rejected(check(Place("BTC/USDT", Side.SELL, 1, 100), instrument=buy_only), "side_not_allowed")
    rejected(check(Place("BTC/USDT", "long", 1, 100)), "side_not_allowed")


def test_rejects_invalid_order() -> None:
    rejected(check(Place("BTC/USDT", Side.BUY, 1, 100, type="limmit")), "invalid_order")
    rejected(check(Place("BTC/USDT", Side.BUY, 1, 100, tif="day")), "invalid_order")
    rejected(check("buy 1 BTC"), "invalid_order")


@pytest.mark.parametrize("size", [0, -1, float("nan"), float("inf"), "abc", None, True, "NaN"])
def test_rejects_invalid_size(size: object) -> None:
    rejected(check(Place("BTC/USDT", Side.BUY, size, 100)), "invalid_size")  # type: ignore[arg-type]


@pytest.mark.parametrize("price", [0, -5, float("nan"), float("-inf"), "x"])
def test_rejects_invalid_price(price: object) -> None:
    rejected(check(Place("BTC/USDT", Side.BUY, 1, price)), "invalid_price")  # type: ignore[arg-type]


def test_rejects_missing_price() -> None:
    d = rejected(check(Place("BTC/USDT", Side.BUY, 1)), "missing_price")
    assert "limit" in d.reason


def test_rejects_unexpected_price() -> None:
    rejected(check(Place("BTC/USDT", Side.BUY, 1, 100, type="market")), "unexpected_price")
    rejected(check(Place("BTC/USDT", Side.BUY, 1, 100, stop_price=99)), "unexpected_price")


def test_rejects_missing_stop_price() -> None:
    rejected(check(Place("BTC/USDT", Side.BUY, 1, type="stop_market")), "missing_stop_price")


def test_rejects_post_only_not_allowed() -> None:
    place = Place("BTC/USDT", Side.BUY, 1, 100, tif="ioc", post_only=True)
    rejected(check(place), "post_only_not_allowed")


def test_rejects_size_below_lot() -> None:
    d = rejected(check(Place("BTC/USDT", Side.BUY, 0.0009, 100)), "size_below_lot")
    assert "0.0009" in d.reason and "0.001" in d.reason


def test_rejects_off_lot() -> None:
    rejected(check(Place("BTC/USDT", Side.BUY, "0.1234", 100), {"rounding": "reject"}), "off_lot")


def test_rejects_off_tick() -> None:
    limits = {"rounding": "reject"}
    rejected(check(Place("BTC/USDT", Side.BUY, 1, "100.005"), limits), "off_tick")
    stop = Place("BTC/USDT", Side.BUY, 1, type="stop_market", stop_price="100.005")
    rejected(check(stop, limits), "off_tick")


def test_rejects_post_only_would_cross() -> None:
    rejected(check(Place("BTC/USDT", Side.BUY, 1, 100.5, post_only=True)), "post_only_would_cross")
    rejected(check(Place("BTC/USDT", Side.SELL, 1, 100, post_only=True)), "post_only_would_cross")


def test_rejects_reduce_only_would_increase() -> None:
    buy = Place("BTC/USDT", Side.BUY, 1, 100, reduce_only=True)
    rejected(check(buy, position=0), "reduce_only_would_increase")
    rejected(check(buy, position=1), "reduce_only_would_increase")
    covered = [Open(Side.BUY, Decimal("1"), reduce_only=True)]
    rejected(check(buy, position=-1, open_orders=covered), "reduce_only_would_increase")


def test_rejects_below_min_size() -> None:
    d = rejected(check(Place("BTC/USDT", Side.BUY, "0.001", 10000)), "below_min_size")
    assert "0.001" in d.reason and "0.002" in d.reason


def test_rejects_above_max_size() -> None:
    rejected(check(Place("BTC/USDT", Side.BUY, 101, 1)), "above_max_size")


def test_rejects_no_reference_price() -> None:
    place = Place("BTC/USDT", Side.BUY, 1, type="market")
    rejected(check(place, book=None), "no_reference_price")
    rejected(check(place, book=Book(best_ask=None, last_price=None)), "no_reference_price")


def test_rejects_below_min_notional() -> None:
    d = rejected(check(Place("BTC/USDT", Side.BUY, "0.032", 100)), "below_min_notional")
    assert d.reason == "order value 3.2 USDT is below the minimum 5 USDT"


def test_rejects_above_max_notional() -> None:
    rejected(check(Place("BTC/USDT", Side.BUY, 100, 20000)), "above_max_notional")


def test_rejects_insufficient_balance() -> None:
    # A spot buy locks price x size plus the fee; 1 at 100 needs 100 USDT, 99 is free.
    free = {"USDT": Decimal("99"), "BTC": Decimal("0.5")}
    d = rejected(check(Place("BTC/USDT", Side.BUY, 1, 100), balances=free), "insufficient_balance")
    assert d.reason == "buy 1 BTC/USDT needs 100 USDT, 99 is free"
    # A sell locks its size of the base: no short selling on spot.
    rejected(check(Place("BTC/USDT", Side.SELL, 1, 100), balances=free), "insufficient_balance")
    assert accepted(check(Place("BTC/USDT", Side.SELL, "0.5", 100), balances=free)).lock == (
        "BTC",
        Decimal(1),
    )
    # What fits is accepted and carries its lock per unit: the price plus the worse fee.
    with_fees = dataclasses.replace(BTC, maker_fee="-0.0001", taker_fee="0.001")
    d = accepted(
        check(Place("BTC/USDT", Side.BUY, "0.5", 100), balances=free, instrument=with_fees)
    )
    assert d.lock == ("USDT", Decimal("100.100"))
    # A market buy is locked at the best ask moved by the slippage allowance.
    risk = RiskModule(slippage_bps=100)
    market = Place("BTC/USDT", Side.BUY, "0.98", type="market")
    rejected(risk.check(market, BTC, book=BOOK, balances=free), "insufficient_balance")
    assert risk.check(
        Place("BTC/USDT", Side.BUY, "0.97", type="market"), BTC, book=BOOK, balances=free
    ).lock == ("USDT", Decimal("101.51"))


def test_rejects_insufficient_margin() -> None:
    # A derivative holds margin instead: a short needs no base asset; 1 at 100 at 1x
    # leverage needs 100 USDT of margin, at 2x half of it.
    free = {"USDT": Decimal("99"), "BTC": Decimal("0.5")}
    perp = dataclasses.replace(BTC, kind="perpetual")
    d = rejected(
        check(Place("BTC/USDT", Side.SELL, 1, 100), balances=free, instrument=perp),
        "insufficient_margin",
    )
    assert d.reason == "sell 1 BTC/USDT at 1x needs 100 USDT of margin and fees, 99 is available"
    risk = RiskModule()
    risk.leverage = {"BTC/USDT": Decimal(2)}
    d = accepted(risk.check(Place("BTC/USDT", Side.SELL, 1, 100), perp, balances=free))
    assert d.lock == ("USDT", Decimal("50"))
    # Closing the strategy's own position holds nothing.
    closing = Place("BTC/USDT", Side.SELL, 1, 100)
    assert accepted(check(closing, position=1, balances=free, instrument=perp)).lock is None


def test_an_edit_may_use_what_its_own_order_locks() -> None:
    order = Order("c1", "BTC/USDT", Side.BUY, OrderType.LIMIT, Decimal(1), Decimal(90))
    free = {"USDT": Decimal(20)}
    # 90 are locked by the order itself, 20 more are free: 1 at 110 fits, at 111 not.
    accepted(check(Edit("c1", price=110), order=order, balances=free))
    rejected(check(Edit("c1", price=111), order=order, balances=free), "insufficient_balance")


# An inverse contract: size in USD, settled in BTC; its value is size / price, in BTC.
INVERSE = Instrument(
    "alpha5",
    "BTC/USD",
    "BTC",
    "USD",
    tick_size="0.5",
    lot_size="1",
    min_notional="0.001",
    max_notional="1",
    kind="inverse_perpetual",
)


def test_an_inverse_contract_is_valued_as_size_over_price_in_the_base_asset() -> None:
    assert INVERSE.is_inverse and INVERSE.value_asset == "BTC"
    # 100 USD at 50,000 is 0.002 BTC: inside 0.001..1 BTC.
    accepted(check(Place("BTC/USD", Side.BUY, 100, 50000), instrument=INVERSE))
    d = rejected(
        check(Place("BTC/USD", Side.BUY, 10, 50000), instrument=INVERSE), "below_min_notional"
    )
    assert d.reason == "order value 0.0002 BTC is below the minimum 0.001 BTC"
    d = rejected(
        check(Place("BTC/USD", Side.SELL, 60000, 50000), instrument=INVERSE), "above_max_notional"
    )
    assert d.reason == "order value 1.2 BTC is above the maximum 1 BTC"
    # A market buy is valued at the best ask: 100 USD at 40,000 is 0.0025 BTC.
    market = Place("BTC/USD", Side.BUY, 100, type=OrderType.MARKET)
    accepted(check(market, instrument=INVERSE, book=Book(best_ask=40000, best_bid=39999.5)))


def test_rejects_trading_halted() -> None:
    sell = Place("BTC/USDT", Side.SELL, 1, 101, reduce_only=True)
    rejected(check(sell, {"kill_switch": "halted"}, position=1), "trading_halted")


def test_rejects_reducing_only() -> None:
    rejected(
        check(Place("BTC/USDT", Side.BUY, 1, 100), {"kill_switch": "reducing"}), "reducing_only"
    )


def test_rejects_max_position() -> None:
    d = rejected(check(Place("BTC/USDT", Side.SELL, 2, 101), {"max_position": 1.5}), "max_position")
    assert "short" in d.reason and "1.5" in d.reason


def test_rejects_max_open_orders() -> None:
    opens = [Open(Side.BUY, Decimal(1))] * 2
    place = Place("BTC/USDT", Side.BUY, 1, 99)
    rejected(check(place, {"max_open_orders": 2}, open_orders=opens), "max_open_orders")


def test_rejects_rate_limited() -> None:
    rm = RiskModule({"max_order_rate": "2/m"})
    place = Place("BTC/USDT", Side.BUY, 1, 100)
    for t in (0, 1):
        assert rm.check(place, BTC, now_ns=t).accepted
    rejected(rm.check(place, BTC, now_ns=59_000_000_000), "rate_limited")


def test_rejects_price_band() -> None:
    d = rejected(check(Place("BTC/USDT", Side.SELL, 1, 90), {"price_band": "0.05"}), "price_band")
    assert "95.19" in d.reason  # 100.2 * 0.95


def test_every_reject_code_has_its_own_test() -> None:
    tested = {
        name.removeprefix("test_rejects_") for name in globals() if name.startswith("test_rejects_")
    }
    assert tested == set(REJECT_CODES)
    assert len(REJECT_CODES) == len(set(REJECT_CODES))


# --------------------------------------------------------------------------- configuration


def test_defaults() -> None:
    limits = RiskModule().limits
    assert limits == RiskLimits()
    assert (limits.rounding, limits.post_only, limits.kill_switch) == ("round", "reject", "active")
    assert limits.max_position is None and limits.max_open_orders is None
    assert limits.max_order_rate is None and limits.price_band is None


def test_from_mapping_normalizes_every_setting() -> None:
    limits = RiskLimits.from_mapping(
        {
            "rounding": "reject",
            "post_only": "slide",
            "kill_switch": "reducing",
            "max_position": {"BTC/USDT": 1.5, "default": "2"},
            "max_open_orders": "50",
            "max_order_rate": "20/s",
            "price_band": 0.05,
        }
    )
    assert limits.rounding == "reject" and limits.post_only == "slide"
    assert limits.kill_switch == "reducing"
    assert limits.max_position == {"BTC/USDT": Decimal("1.5"), "default": Decimal("2")}
    assert limits.position_cap("BTC/USDT") == Decimal("1.5")
    assert limits.position_cap("ETH/USDT") == Decimal("2")
    assert limits.max_open_orders == 50
    rate = limits.max_order_rate
    assert rate is not None and (rate.count, rate.per) == (20, 1_000_000_000)
    assert limits.price_band == Decimal("0.05")
    assert RiskModule(limits).limits is limits
    assert hash(limits) == hash(limits.model_copy())
    assert RiskModule(limits).kill_switch == "reducing"


@pytest.mark.parametrize(
    ("text", "count", "per_ns"),
    [
        ("20/s", 20, 1_000_000_000),
        ("2/m", 2, 60_000_000_000),
        ("100/10s", 100, 10_000_000_000),
        ("5 / 500ms", 5, 500_000_000),
        ({"count": 2, "per": "1s"}, 2, 1_000_000_000),
        ({"count": "3", "per": 0.5}, 3, 500_000_000),
    ],
)
def test_order_rate_forms(text: object, count: int, per_ns: int) -> None:
    rate = RiskLimits.from_mapping({"max_order_rate": text}).max_order_rate
    assert isinstance(rate, RateLimit) and (rate.count, rate.per) == (count, per_ns)


def test_a_single_max_position_is_a_decimal() -> None:
    assert RiskLimits.from_mapping({"max_position": 1.5}).max_position == Decimal("1.5")
    assert RiskLimits(max_position="3").position_cap("ANY") == Decimal("3")


def test_unknown_key_suggests_the_right_one() -> None:
    with pytest.raises(RiskConfigError) as err:
        RiskLimits.from_mapping({"post_onyl": "slide"})
    assert err.value.field == "risk.post_onyl"
    assert "did you mean 'post_only'" in str(err.value)
    assert "price_band" in err.value.allowed


@pytest.mark.parametrize(
    ("mapping", "field", "value"),
    [
        ({"rounding": "nearest"}, "risk.rounding", "nearest"),
        ({"post_only": True}, "risk.post_only", True),
        ({"kill_switch": "off"}, "risk.kill_switch", "off"),
        ({"max_position": "lots"}, "risk.max_position", "lots"),
        ({"max_position": -1}, "risk.max_position", -1),
        ({"max_position": {"BTC/USDT": "x"}}, "risk.max_position.BTC/USDT", "x"),
        ({"max_open_orders": 1.5}, "risk.max_open_orders", 1.5),
        ({"max_open_orders": True}, "risk.max_open_orders", True),
        ({"max_order_rate": "20 per second"}, "risk.max_order_rate", "20 per second"),
        ({"max_order_rate": "0/s"}, "risk.max_order_rate", "0/s"),
        ({"max_order_rate": {"count": 2, "per": "soon"}}, "risk.max_order_rate.per", "soon"),
        ({"max_order_rate": {"count": 2, "every": "1s"}}, "risk.max_order_rate.every", "1s"),
        ({"price_band": "0"}, "risk.price_band", "0"),
        ({"price_band": "nan"}, "risk.price_band", "nan"),
    ],
)
def test_config_errors_name_the_field_value_and_what_is_allowed(
    mapping: dict, field: str, value: object
) -> None:
    with pytest.raises(RiskConfigError) as err:
        RiskLimits.from_mapping(mapping)
    assert isinstance(err.value, ValueError)
    assert err.value.field == field
    assert err.value.value == value
    assert err.value.allowed and err.value.allowed in str(err.value)
    assert field in str(err.value)


def test_limits_must_be_a_mapping() -> None:
    with pytest.raises(RiskConfigError):
        RiskModule(["rounding", "round"])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the steps, one by one

DEFAULT_RULES = Rules(RiskLimits())


def draft(place: Place, inst: Instrument = BTC, rules: Rules = DEFAULT_RULES) -> OrderDraft:
    """A draft past the steps every later one relies on: side, shape and quantize."""
    o = draft_place(place, inst)
    assert check_side(o) is None and check_shape(o) is None and quantize(o, rules) is None
    return o


def test_step_known_instrument_and_order() -> None:
    assert check_known(Place("BTC/USDT", Side.BUY, 1, 100), BTC) is None
    assert check_known(Place("DOGE/USDT", Side.BUY, 1, 1), None) == Reject(
        "unknown_instrument", "unknown instrument DOGE/USDT"
    )
    assert check_known(Edit("o1", price=100), BTC, an_order()) is None
    refused = check_known(Edit("o1", price=100), BTC, an_order(status=OrderStatus.CANCELED))
    assert refused is not None and refused.code == "unknown_order"
    assert "canceled" in refused.reason


def test_step_side_is_normalised_and_must_be_allowed() -> None:
    o = draft_place(Place("BTC/USDT", "SELL", 1, 100), BTC)
    assert check_side(o) is None
    assert o.side is Side.SELL and not o.is_buy
    buy_only = dataclasses.replace(BTC, allowed_sides=frozenset({Side.BUY}))
    assert check_side(draft_place(Place("BTC/USDT", Side.SELL, 1, 100), buy_only)) == Reject(
        "side_not_allowed", "sell orders are not allowed on BTC/USDT"
    )


def test_step_shape_turns_the_numbers_into_decimals() -> None:
    o = draft_place(Place("BTC/USDT", Side.BUY, 0.1, "100.5", tif="ioc"), BTC)
    check_side(o)
    assert check_shape(o) is None
    assert (o.size, o.price, o.stop) == (Decimal("0.1"), Decimal("100.5"), None)
    assert o.type is OrderType.LIMIT and o.tif is TimeInForce.IOC
    missing = draft_place(Place("BTC/USDT", Side.BUY, 1), BTC)
    check_side(missing)
    assert check_shape(missing) == Reject("missing_price", "a limit order needs a price")


def test_step_quantize_rounds_away_from_crossing() -> None:
    buy = draft(Place("BTC/USDT", Side.BUY, "0.12345", "100.129"))
    sell = draft(Place("BTC/USDT", Side.SELL, "0.12345", "100.121"))
    assert (buy.size, buy.price, buy.open_size) == (
        Decimal("0.123"),
        Decimal("100.12"),
        Decimal("0.123"),
    )
    assert sell.price == Decimal("100.13")
    strict = Rules(RiskLimits(rounding="reject"))
    o = draft_place(Place("BTC/USDT", Side.BUY, "0.12345", 100), BTC)
    check_side(o)
    check_shape(o)
    assert quantize(o, strict) == Reject(
        "off_lot", "size 0.12345 is not a multiple of the lot 0.001"
    )


def test_step_post_only_slides_inside_the_touch() -> None:
    slide = Rules(RiskLimits(post_only="slide"))
    o = draft(Place("BTC/USDT", Side.BUY, 1, 101, post_only=True), rules=slide)
    assert check_post_only(o, slide, BOOK) is None
    assert o.price == Decimal("100.49")
    assert o.notes == ["post-only price slid from 101 to 100.49"]
    crossing = draft(Place("BTC/USDT", Side.BUY, 1, 101, post_only=True))
    refused = check_post_only(crossing, DEFAULT_RULES, BOOK)
    assert refused is not None and refused.code == "post_only_would_cross"
    assert check_post_only(crossing, DEFAULT_RULES, None) is None  # no book: the venue decides


def test_step_reduce_only_clips_to_the_uncovered_position() -> None:
    o = draft(Place("BTC/USDT", Side.SELL, 2, 101, reduce_only=True))
    covering = [Open(Side.SELL, Decimal("0.25"), reduce_only=True)]
    assert check_reduce_only(o, DEFAULT_RULES, Decimal("1"), covering) is None
    assert (o.size, o.open_size) == (Decimal("0.750"), Decimal("0.750"))
    assert o.notes == ["reduce-only size clipped from 2 to 0.75"]
    refused = check_reduce_only(o, DEFAULT_RULES, Decimal("-1"), ())
    assert refused is not None and refused.code == "reduce_only_would_increase"


def test_step_size_bounds_apply_to_the_open_size() -> None:
    assert check_size_bounds(draft(Place("BTC/USDT", Side.BUY, "0.002", 100))) is None
    assert check_size_bounds(draft(Place("BTC/USDT", Side.BUY, "0.001", 100))) == Reject(
        "below_min_size", "size 0.001 is below the minimum 0.002"
    )


def test_step_order_value_of_a_market_order_uses_the_far_side_of_the_book() -> None:
    free = dataclasses.replace(BTC, min_notional=None, max_notional=None)
    o = draft(Place("BTC/USDT", Side.BUY, 1, type="market"), inst=free)
    assert check_order_value(o, BOOK) is None
    # The book's float is kept as it is; no check needed it as a Decimal.
    assert o.ref == 100.5 and isinstance(o.ref, float)
    small = draft(Place("BTC/USDT", Side.BUY, "0.04", type="market"))
    assert check_order_value(small, BOOK) == Reject(
        "below_min_notional", "order value 4.02 USDT is below the minimum 5 USDT"
    )
    refused = check_order_value(small, None)
    assert refused is not None and refused.code == "no_reference_price"


def test_step_kill_switch() -> None:
    plain = draft(Place("BTC/USDT", Side.BUY, 1, 100))
    reducing = draft(Place("BTC/USDT", Side.SELL, 1, 101, reduce_only=True))
    assert check_kill_switch(plain, "active") is None
    assert check_kill_switch(reducing, "reducing") is None
    assert check_kill_switch(plain, "reducing").code == "reducing_only"  # type: ignore[union-attr]
    assert check_kill_switch(reducing, "halted").code == "trading_halted"  # type: ignore[union-attr]


def test_step_max_position_counts_the_same_side_open_orders() -> None:
    rules = Rules(RiskLimits(max_position={"default": "1"}))
    o = draft(Place("BTC/USDT", Side.BUY, "0.5", 100))
    assert check_max_position(o, rules, Decimal("0.2"), [Open(Side.SELL, Decimal(5))]) is None
    refused = check_max_position(o, rules, Decimal("0.2"), [Open(Side.BUY, Decimal("0.4"))])
    assert refused is not None and refused.code == "max_position"
    assert "exposure on BTC/USDT 1.1" in refused.reason


def test_step_max_open_orders_counts_new_orders_only() -> None:
    rules = Rules(RiskLimits(max_open_orders=2))
    o = draft(Place("BTC/USDT", Side.BUY, 1, 100))
    assert check_max_open_orders(o, rules, [Open(Side.BUY, Decimal(1))], None) is None
    assert check_max_open_orders(o, rules, (), 2) == Reject(
        "max_open_orders", "2 open orders already; the limit is 2"
    )
    edit = draft_edit(Edit("o1", price=100), an_order(), BTC)
    assert check_max_open_orders(edit, rules, (), 5) is None


def test_step_order_rate_is_a_sliding_window() -> None:
    window = RateWindow(RateLimit(count=1, per="1s"))
    o = draft(Place("BTC/USDT", Side.BUY, 1, 100))
    assert check_order_rate(o, window, 0) is None
    window.record(0)
    assert check_order_rate(o, window, 999_999_999) == Reject(
        "rate_limited", "1 orders in the last 1s; the limit is 1"
    )
    assert check_order_rate(o, window, 1_000_000_000) is None
    assert check_order_rate(o, None, 0) is None


def test_step_price_band_around_the_last_trade() -> None:
    rules = Rules(RiskLimits(price_band="0.05"))
    near = draft(Place("BTC/USDT", Side.BUY, 1, 100))
    far = draft(Place("BTC/USDT", Side.BUY, 1, 150))
    for o in (near, far):
        check_order_value(o, BOOK)
    assert check_price_band(near, rules, BOOK) is None
    refused = check_price_band(far, rules, BOOK)
    assert refused is not None and refused.code == "price_band"
    assert check_price_band(far, rules, Book(last_price=None)) is None


def test_the_first_failing_step_decides_in_the_design_order() -> None:
    # An order that breaks a rule of nearly every step; fixing one at a time walks the list.
    halted = {"kill_switch": "halted", "price_band": "0.001"}
    place = Place("BTC/USDT", "hold", "0.0001", "abc", tif="ioc", post_only=True)
    codes = []
    for fix in (
        {"side": Side.BUY},
        {"price": "100.5"},
        {"tif": "gtc"},
        {"size": "0.001"},
        {"post_only": False},
        {"size": "0.002"},
        {"size": 1},
    ):
        codes.append(check(place, halted).code)
        place = place._replace(**fix)
    codes.append(check(place, halted).code)
    codes.append(check(place, {"price_band": "0.001"}).code)
    assert codes == [
        "side_not_allowed",
        "invalid_price",
        "post_only_not_allowed",
        "size_below_lot",
        "post_only_would_cross",
        "below_min_size",
        "below_min_notional",
        "trading_halted",
        "price_band",
    ]
    accepted(check(place))
