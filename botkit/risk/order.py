"""The order as the checks see it, and the numbers in it.

An :class:`OrderDraft` is built once per check, from a ``Place``
(:func:`draft_place`) or from an ``Edit`` and the order it edits
(:func:`draft_edit`). It starts with the strategy's values as given
(``side_in``, ``size_in``, ...); the steps in ``botkit.risk.checks`` fill in the
normalised ones (``side``, ``size``, ``price``, ...) as they pass, and adjust
them (quantize, slide, clip). :meth:`OrderDraft.intent` is what goes to the
venue when every step passed.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from numbers import Integral, Real
from typing import Any

from botkit.intents import Edit, Place
from botkit.model import ZERO, Instrument, OrderType, Side, TimeInForce

_INF = math.inf

# The Place fields in the order a Place tuple holds them. draft_place unpacks a
# Place and OrderDraft.intent builds one with tuple.__new__ (in C: about 0.3 us
# less than Place(...) with ten keywords, on every accepted order); both rely on
# this order, so a changed Place fails here, at import, instead of shifting fields.
_PLACE_FIELDS = (
    "symbol",
    "side",
    "size",
    "price",
    "type",
    "tif",
    "post_only",
    "reduce_only",
    "client_id",
    "stop_price",
)
if Place._fields != _PLACE_FIELDS:
    raise RuntimeError(f"Place is now {Place._fields}: update OrderDraft.intent")
_new_tuple = tuple.__new__
_new = object.__new__


class OrderDraft:
    """One order under check: the strategy's values, then the normalised ones.

    ``filled`` is the part of an edited order that is already filled (0 for a
    new order); ``open_size`` is what can still trade (``size - filled``).
    ``ref`` is the price the order is valued at (set by the order-value step):
    the limit or stop price, or for a market order the book's price as the book
    holds it (a float), made a Decimal only where a check needs the number.
    """

    __slots__ = (
        "client_id",
        "filled",
        "inst",
        "is_buy",
        "is_edit",
        "notes",
        "open_size",
        "post_only",
        "price",
        "price_in",
        "reduce_only",
        "ref",
        "side",
        "side_in",
        "size",
        "size_in",
        "stop",
        "stop_in",
        "symbol",
        "tif",
        "tif_in",
        "type",
        "type_in",
    )

    inst: Instrument
    symbol: str
    client_id: str | None
    side_in: Any
    size_in: Any
    price_in: Any
    stop_in: Any
    type_in: Any
    tif_in: Any
    post_only: bool  # as given until the shape step makes it a bool
    reduce_only: bool
    is_edit: bool
    filled: Decimal
    notes: list[str] | None
    # Set by the steps, in this order: side, shape, quantize, order value.
    side: Side
    is_buy: bool
    type: OrderType
    tif: TimeInForce
    size: Decimal
    price: Decimal | None
    stop: Decimal | None
    open_size: Decimal
    ref: Decimal | float | None

    def note(self, text: str) -> None:
        """Record a material change to the order (a slide, a clip): the accepted reason."""
        if self.notes is None:
            self.notes = [text]
        else:
            self.notes.append(text)

    def intent(self) -> Place | Edit:
        """The intent as it will be sent: an ``Edit`` carries the resulting total size."""
        if self.is_edit:
            return Edit(self.client_id, self.price, self.size)  # type: ignore[arg-type]
        return _new_tuple(  # type: ignore[no-any-return]
            Place,
            (
                self.symbol,
                self.side,
                self.size,
                self.price,
                self.type,
                self.tif,
                self.post_only,
                self.reduce_only,
                self.client_id,
                self.stop,
            ),
        )

    def counts_itself(self, open_order: Any) -> bool:
        """Whether an open order is the one being edited (it must not count against itself)."""
        return self.is_edit and getattr(open_order, "client_id", None) == self.client_id


def draft_place(place: Place, inst: Instrument) -> OrderDraft:
    """The draft of a new order."""
    o: OrderDraft = _new(OrderDraft)
    o.inst = inst
    # Unpacked in Place's field order, which the check on _PLACE_FIELDS guards;
    # a call with ten attribute reads costs twice as much, on every order.
    (
        o.symbol,
        o.side_in,
        o.size_in,
        o.price_in,
        o.type_in,
        o.tif_in,
        o.post_only,
        o.reduce_only,
        o.client_id,
        o.stop_in,
    ) = place
    o.is_edit = False
    o.filled = ZERO
    o.notes = None
    return o


def draft_edit(edit: Edit, order: Any, inst: Instrument) -> OrderDraft:
    """The draft of the order an edit leaves behind: ``order`` with the new price and size."""
    o: OrderDraft = _new(OrderDraft)
    o.inst = inst
    o.symbol = order.symbol
    o.side_in = order.side
    o.size_in = order.size if edit.size is None else edit.size
    o.price_in = order.price if edit.price is None else edit.price
    o.type_in = order.type
    o.tif_in = order.tif
    o.post_only = order.post_only
    o.reduce_only = order.reduce_only
    o.client_id = edit.client_id
    o.stop_in = order.stop_price
    o.is_edit = True
    o.filled = strict_decimal(getattr(order, "filled", ZERO), "order.filled")
    o.notes = None
    return o


# --------------------------------------------------------------------------- numbers


def to_num(x: Any) -> Decimal | None:
    """A finite Decimal from a strategy's number, or None when it is not one.

    A float becomes the decimal it prints as (``Decimal(repr(x))``); str, int,
    Decimal and numpy scalars are accepted too.
    """
    cls = x.__class__
    if cls is float:
        # `x - x` is nan for inf and nan.
        return Decimal(repr(x)) if x - x == 0.0 else None
    if cls is Decimal:
        return x if x.is_finite() else None
    if cls is int:
        return Decimal(x)
    if cls is bool or x is None:
        return None
    if isinstance(x, str):
        try:
            d = Decimal(x)
        except InvalidOperation:
            return None
        return d if d.is_finite() else None
    if isinstance(x, Decimal):
        return x if x.is_finite() else None
    if isinstance(x, Integral):
        return Decimal(int(x))
    if isinstance(x, Real):
        # numpy and friends: go through float so repr gives the plain digits.
        f = float(x)
        return Decimal(repr(f)) if math.isfinite(f) else None
    return None


def book_value(x: Any) -> float | Decimal | None:
    """A usable book or last price as the book holds it, or None when unknown, not
    finite or not positive. A float stays a float: making it a Decimal costs
    about 0.5 us, and most orders never need the number."""
    if x.__class__ is float:
        return x if 0.0 < x < _INF else None
    d = to_num(x)
    return d if d is not None and d > 0 else None


# Book prices as Decimals, by float: the same touch is checked for edit after edit, and
# Decimal(repr(x)) costs ~0.6 us. Only floats go in, so 100.0 always gives Decimal('100.0').
_BOOK_PRICES: dict[float, Decimal] = {}


def book_price(x: Any) -> Decimal | None:
    """A usable book or last price as a Decimal, or None (see :func:`book_value`)."""
    if x.__class__ is float:
        d = _BOOK_PRICES.get(x)
        if d is None:
            if not 0.0 < x < _INF:
                return None
            if len(_BOOK_PRICES) >= 4096:
                _BOOK_PRICES.clear()
            d = _BOOK_PRICES[x] = Decimal(repr(x))
        return d
    d = to_num(x)
    return d if d is not None and d > 0 else None


def strict_decimal(x: Any, name: str) -> Decimal:
    """Numbers the engine supplies (position, open remaining): a bad one is a bug, so raise."""
    if x.__class__ is Decimal:
        return x  # type: ignore[no-any-return]
    d = to_num(x)
    if d is None:
        raise ValueError(f"{name}: {x!r} is not a finite number")
    return d


def fmt(d: Decimal) -> str:
    """A Decimal for a message: no exponent, no trailing zeros."""
    if d == 0:
        return "0"
    d = d.normalize()
    # Plain digits for anything a venue trades; an exponent for absurd magnitudes.
    return f"{d:f}" if -30 < d.adjusted() < 30 else str(d)


def show(value: Any) -> str:
    """A strategy's value for a message; never raises, whatever the value."""
    try:
        if isinstance(value, Decimal) and value.is_finite():
            return fmt(value)
        if isinstance(value, int) and not isinstance(value, bool):
            # str() of an int beyond 4,300 digits raises; a Decimal prints any size.
            return fmt(Decimal(value)) if value else "0"
        text = repr(value) if isinstance(value, str) else str(value)
    except Exception:
        return f"<{type(value).__name__} that cannot be shown>"
    return text if len(text) <= 80 else f"{text[:40]}...({len(text)} characters)"
