"""Properties of the risk module that must hold for any input."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import event, given, settings
from hypothesis import strategies as st

from botkit import Edit, Instrument, OrderType, Place, RiskModule, Side
from botkit.model import Order, OrderStatus, to_decimal
from botkit.risk import REJECT_CODES, Decision, RiskConfigError, RiskLimits

# Local settings, not a profile: loading a profile would change every other test run.
risk_settings = settings(max_examples=100, deadline=None)

TICKS = ["0.01", "0.5", "0.0001", "1", "0.25", "5", "0.00000001"]
LOTS = ["0.001", "0.1", "1", "0.00001", "0.25", "10"]


@dataclass(frozen=True)
class Book:
    best_bid: float | None
    best_ask: float | None
    last_price: float | None


@dataclass(frozen=True)
class Open:
    side: Side
    remaining: Decimal
    reduce_only: bool
    client_id: str | None = None


@dataclass(frozen=True)
class Case:
    """An instrument, a book and an order that is plausible for them (so many pass)."""

    inst: Instrument
    side: Side | str
    size: float | Decimal | str
    size_f: float
    price: float | Decimal | str
    book: Book


@st.composite
def instruments(draw: st.DrawFn) -> Instrument:
    return Instrument(
        venue="sim",
        symbol="X/USDT",
        base="X",
        quote="USDT",
        tick_size=draw(st.sampled_from(TICKS)),
        lot_size=draw(st.sampled_from(LOTS)),
        min_notional=draw(st.none() | st.sampled_from(["1", "5", "10", "100"])),
    )


@st.composite
def numbers(draw: st.DrawFn, value: float, step: Decimal) -> float | Decimal | str:
    """``value`` in a form a strategy may send: a float, a Decimal (short or with the float's
    full binary expansion), a string, or a value already on the grid."""
    form = draw(st.sampled_from(["float", "decimal", "exact", "str", "grid"]))
    if form == "float":
        return value
    if form == "exact":
        return Decimal(value)
    if form == "grid":
        return max(1, round(Decimal(repr(value)) / step)) * step
    d = Decimal(repr(value))
    return d if form == "decimal" else str(d)


sides = st.sampled_from([Side.BUY, Side.SELL, "buy", "sell"])


@st.composite
def cases(draw: st.DrawFn) -> Case:
    inst = draw(instruments())
    price = 10 ** draw(st.floats(-2, 5))
    size = 10 ** draw(st.floats(-1, 4)) / price  # an order value of 0.1..10k
    mid = price * draw(st.floats(0.97, 1.03))
    half_spread = mid * draw(st.floats(0, 0.005))
    last = draw(st.none() | st.floats(0.99, 1.01).map(lambda f: mid * f))
    return Case(
        inst=inst,
        side=draw(sides),
        size=draw(numbers(size, inst.lot_size)),
        size_f=size,
        price=draw(numbers(price, inst.tick_size)),
        book=Book(mid - half_spread, mid + half_spread, last),
    )


def on_grid(value: Decimal, step: Decimal) -> bool:
    return isinstance(value, Decimal) and value > 0 and value % step == 0


def seen(d: Decision) -> bool:
    event(d.code or "accepted")
    return d.accepted


@risk_settings
@given(cases())
def test_quantized_price_is_on_the_grid_and_never_more_aggressive(c: Case) -> None:
    d = RiskModule().check(Place("X/USDT", c.side, c.size, c.price), c.inst, book=c.book)
    if not seen(d):
        return
    asked = to_decimal(c.price)
    got = d.intent.price
    assert on_grid(got, c.inst.tick_size)
    if d.intent.side is Side.BUY:
        assert asked - c.inst.tick_size < got <= asked
    else:
        assert asked <= got < asked + c.inst.tick_size


@risk_settings
@given(cases())
def test_post_only_slide_never_crosses_and_never_gets_more_aggressive(c: Case) -> None:
    rm = RiskModule({"post_only": "slide"})
    d = rm.check(Place("X/USDT", c.side, c.size, c.price, post_only=True), c.inst, book=c.book)
    if not seen(d):
        return
    asked = to_decimal(c.price)
    got = d.intent.price
    assert on_grid(got, c.inst.tick_size)
    if d.intent.side is Side.BUY:
        assert got <= asked and got < to_decimal(c.book.best_ask)  # type: ignore[arg-type]
    else:
        assert got >= asked and got > to_decimal(c.book.best_bid)  # type: ignore[arg-type]


@risk_settings
@given(cases(), st.sampled_from(["round", "reject"]))
def test_size_is_never_rounded_up(c: Case, rounding: str) -> None:
    rm = RiskModule({"rounding": rounding})
    d = rm.check(Place("X/USDT", c.side, c.size, c.price), c.inst, book=c.book)
    if not seen(d):
        return
    asked = to_decimal(c.size)
    got = d.intent.size
    assert on_grid(got, c.inst.lot_size)
    assert asked - c.inst.lot_size < got <= asked
    if rounding == "reject":
        assert got == asked and d.intent.price == to_decimal(c.price)


@st.composite
def positions(draw: st.DrawFn, side: Side | str, size: float) -> tuple[Decimal, list[Open]]:
    """A position around the order size, mostly one the order can reduce, and other open
    orders, some of them reduce-only."""
    reducible = -1 if Side(side) is Side.BUY else 1
    sign = draw(st.sampled_from([reducible, reducible, reducible, -reducible, 0]))
    position = Decimal(repr(size * draw(st.floats(0.2, 3)))) * sign
    opens = draw(
        st.lists(
            st.builds(
                Open,
                side=st.sampled_from([Side.BUY, Side.SELL]),
                remaining=st.floats(0.01, 1.5).map(lambda f: Decimal(repr(size * f))),
                reduce_only=st.booleans(),
            ),
            max_size=3,
        )
    )
    return position, opens


@risk_settings
@given(cases(), st.data(), st.sampled_from([OrderType.LIMIT, OrderType.MARKET]))
def test_accepted_reduce_only_never_increases_the_position(
    c: Case, data: st.DataObject, otype: OrderType
) -> None:
    position, opens = data.draw(positions(c.side, c.size_f))
    price = None if otype is OrderType.MARKET else c.price
    place = Place("X/USDT", c.side, c.size, price, type=otype, reduce_only=True)
    d = RiskModule().check(place, c.inst, position=position, book=c.book, open_orders=opens)
    if not seen(d):
        return
    side = d.intent.side
    others = sum((o.remaining for o in opens if o.reduce_only and o.side == side), Decimal(0))
    # It is on the side that shrinks the position ...
    assert (position > 0) if side is Side.SELL else (position < 0)
    # ... and with the other reduce-only orders on that side it at most closes it.
    assert d.intent.size + others <= abs(position)
    assert d.intent.size <= to_decimal(c.size)


@risk_settings
@given(cases(), st.sampled_from([OrderType.LIMIT, OrderType.MARKET]))
def test_nothing_below_the_minimum_value_is_accepted(c: Case, otype: OrderType) -> None:
    price = None if otype is OrderType.MARKET else c.price
    d = RiskModule().check(Place("X/USDT", c.side, c.size, price, type=otype), c.inst, book=c.book)
    if not seen(d) or c.inst.min_notional is None:
        return
    if otype is OrderType.MARKET:
        far = c.book.best_ask if d.intent.side is Side.BUY else c.book.best_bid
        ref = to_decimal(far)  # type: ignore[arg-type]
    else:
        ref = d.intent.price
    assert ref * d.intent.size >= c.inst.min_notional


@risk_settings
@given(cases(), st.sampled_from(list(OrderType)), st.booleans(), st.floats(0.9, 1.1))
def test_accepted_numbers_are_decimals_on_the_grid(
    c: Case, otype: OrderType, post_only: bool, stop_factor: float
) -> None:
    place = Place(
        "X/USDT",
        c.side,
        c.size,
        c.price if otype.needs_price else None,
        type=otype,
        post_only=post_only,
        stop_price=float(to_decimal(c.price)) * stop_factor if otype.is_stop else None,
    )
    d = RiskModule({"post_only": "slide"}).check(place, c.inst, book=c.book)
    if not seen(d):
        assert d.code in REJECT_CODES
        return
    assert on_grid(d.intent.size, c.inst.lot_size)
    if otype.needs_price:
        assert on_grid(d.intent.price, c.inst.tick_size)
    else:
        assert d.intent.price is None
    if otype.is_stop:
        assert on_grid(d.intent.stop_price, c.inst.tick_size)
    else:
        assert d.intent.stop_price is None
    assert isinstance(d.intent.side, Side) and isinstance(d.intent.type, OrderType)


@risk_settings
@given(cases(), st.floats(0, 1), st.booleans(), st.booleans())
def test_an_accepted_edit_leaves_an_open_order_on_the_grid(
    c: Case, filled_part: float, new_size: bool, new_price: bool
) -> None:
    lot = c.inst.lot_size
    size = max(1, round(Decimal(repr(c.size_f * 2)) / lot)) * lot
    price = max(1, round(to_decimal(c.price) / c.inst.tick_size)) * c.inst.tick_size
    order = Order(
        client_id="e1",
        symbol="X/USDT",
        side=Side.BUY,
        type=OrderType.LIMIT,
        size=size,
        price=price,
        status=OrderStatus.PARTIALLY_FILLED,
        filled=(size * Decimal(repr(filled_part)) // lot) * lot,
    )
    edit = Edit("e1", price=c.price if new_price else None, size=c.size if new_size else None)
    d = RiskModule().check(edit, c.inst, book=c.book, order=order)
    if not seen(d):
        return
    assert d.intent.client_id == "e1"
    assert on_grid(d.intent.size, lot) and d.intent.size > order.filled
    assert d.intent.size <= (to_decimal(c.size) if new_size else size)
    assert on_grid(d.intent.price, c.inst.tick_size)
    assert d.intent.price <= (to_decimal(c.price) if new_price else price)


anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.text(max_size=12),
    st.sampled_from(["1e999999", "-0", "NaN", "sNaN", "Infinity", "0.1", "1_000", " 2 "]),
)


@risk_settings
@given(
    instruments(),
    anything,
    anything,
    anything,
    st.sampled_from(["buy", "sell", "hold", Side.BUY]),
    st.sampled_from(["limit", "market", "stop_limit", "stop_market", "twap"]),
    st.booleans(),
    st.booleans(),
)
def test_check_never_raises_on_strategy_input(
    inst: Instrument,
    size: object,
    price: object,
    stop: object,
    side: object,
    otype: object,
    post_only: bool,
    reduce_only: bool,
) -> None:
    place = Place(
        "X/USDT",
        side,  # type: ignore[arg-type]
        size,  # type: ignore[arg-type]
        price,  # type: ignore[arg-type]
        type=otype,  # type: ignore[arg-type]
        post_only=post_only,
        reduce_only=reduce_only,
        stop_price=stop,  # type: ignore[arg-type]
    )
    rm = RiskModule({"post_only": "slide", "max_position": "10", "price_band": "0.5"})
    d = rm.check(place, inst, position=Decimal("-3"), book=Book(99.0, 101.0, 100.0))
    seen(d)
    assert d.accepted or d.code in REJECT_CODES


class Unanswerable:
    """A flag whose truth value raises, as a strategy's buggy object might."""

    def __bool__(self) -> bool:
        raise RuntimeError("no truth value")


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("cannot print")

    __repr__ = __str__


# Ints past Python's 4,300-digit str() limit, either sign: writing a reason must not raise.
huge = st.integers(4_300, 6_000).flatmap(
    lambda n: st.sampled_from([10**n, -(10**n), 10**n + 7, Decimal(10) ** n])
)
odd_numbers = huge | st.just(Unprintable()) | anything
flags = st.booleans() | st.just(Unanswerable()) | st.just(Unprintable()) | st.integers(0, 2)


@risk_settings
@given(
    instruments(),
    odd_numbers,
    odd_numbers | st.none(),
    st.sampled_from(["limit", "market", "stop_limit"]),
    flags,
    flags,
    st.sampled_from([None, {"USDT": Decimal(1000), "X": Decimal(5)}]),
)
def test_huge_numbers_and_flags_without_a_truth_value_are_clean_rejects(
    inst: Instrument,
    size: object,
    price: object,
    otype: object,
    post_only: object,
    reduce_only: object,
    balances: dict[str, Decimal] | None,
) -> None:
    place = Place(
        "X/USDT",
        Side.BUY,
        size,  # type: ignore[arg-type]
        price,  # type: ignore[arg-type]
        type=otype,  # type: ignore[arg-type]
        post_only=post_only,  # type: ignore[arg-type]
        reduce_only=reduce_only,  # type: ignore[arg-type]
    )
    d = RiskModule().check(
        place, inst, position=Decimal(1), book=Book(99.0, 101.0, 100.0), balances=balances
    )
    seen(d)
    assert d.accepted or d.code in REJECT_CODES
    assert len(d.reason) < 400  # a reason names the value, never prints 5,000 digits
    if isinstance(post_only, Unanswerable | Unprintable) or isinstance(
        reduce_only, Unanswerable | Unprintable
    ):
        assert not d.accepted


def test_a_five_thousand_digit_size_is_rejected_with_a_short_reason() -> None:
    inst = Instrument("sim", "X/USDT", "X", "USDT", "0.01", "0.001")
    for size in (10**5000, -(10**5000)):
        d = RiskModule().check(Place("X/USDT", Side.BUY, size, 100), inst)
        assert d.code == "invalid_size"
        assert "1E+5000" in d.reason


def test_a_post_only_whose_truth_value_raises_is_an_invalid_order() -> None:
    inst = Instrument("sim", "X/USDT", "X", "USDT", "0.01", "0.001")
    place = Place("X/USDT", Side.BUY, 1, 100, post_only=Unanswerable())  # type: ignore[arg-type]
    d = RiskModule().check(place, inst)
    assert (d.accepted, d.code) == (False, "invalid_order")
    assert d.reason.startswith("post_only <")
    assert "Unanswerable object at" in d.reason
    assert d.reason.endswith("is neither true nor false")


# --------------------------------------------------------------------------- the limits

caps = st.decimals(min_value=0, max_value=1000, places=3)
limit_mappings = st.fixed_dictionaries(
    {},
    optional={
        "rounding": st.sampled_from(["round", "reject", "Reject"]),
        "post_only": st.sampled_from(["reject", "slide"]),
        "kill_switch": st.sampled_from(["active", "reducing", "halted"]),
        "max_position": st.none()
        | caps
        | caps.map(str)
        | st.dictionaries(st.sampled_from(["BTC/USDT", "ETH/USDT", "default"]), caps),
        "max_open_orders": st.none() | st.integers(0, 1000),
        "max_order_rate": st.none()
        | st.builds(
            "{}/{}".format,
            st.integers(1, 100),
            st.sampled_from(["s", "1s", "500ms", "10s", "1m", "2sec", "1min"]),
        )
        | st.fixed_dictionaries(
            {"count": st.integers(1, 100), "per": st.sampled_from(["1s", 0.5, "250ms", 2])}
        ),
        "price_band": st.none() | st.decimals(min_value="0.0001", max_value=1, places=4),
    },
)


@risk_settings
@given(limit_mappings)
def test_limits_load_back_from_their_dump(mapping: dict[str, object]) -> None:
    limits = RiskLimits.from_mapping(mapping)
    again = RiskLimits.from_mapping(limits.model_dump(mode="json"))
    assert again == limits and hash(again) == hash(limits)
    assert RiskModule(mapping).limits == limits


odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


@risk_settings
@given(
    st.dictionaries(
        st.sampled_from([*RiskLimits.model_fields, "max_postion", "count"]), odd_values, max_size=3
    )
)
def test_a_bad_limit_is_always_a_config_error_naming_it(mapping: dict[str, object]) -> None:
    try:
        RiskLimits.from_mapping(mapping)
    except RiskConfigError as err:
        assert err.field.startswith("risk.") and err.field.split(".")[1] in mapping
        assert err.field in str(err)
