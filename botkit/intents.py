"""What strategies emit: place, edit, cancel, cancel-all.

Sizes and prices may be given as float, int, str or Decimal; the risk module
turns them into grid ``Decimal`` values (``Decision.intent``).

Intents are immutable named tuples: a strategy builds one for every order,
and a frozen dataclass's ``__init__`` (one ``object.__setattr__`` per field)
cost four times as much. Unlike plain tuples they compare equal only to an
intent of the same type: ``Cancel("a") != CancelAll("a")``, ``Place(...) !=
tuple(place)``. Change one with ``intent._replace(price=...)``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from botkit.model import OrderType, Side, TimeInForce

Num = Decimal | float | int | str


def _eq(self: tuple[Any, ...], other: object) -> bool:
    return self.__class__ is other.__class__ and tuple.__eq__(self, other)  # type: ignore[arg-type]


def _ne(self: tuple[Any, ...], other: object) -> bool:
    return not _eq(self, other)


def _hash(self: tuple[Any, ...]) -> int:
    return hash((self.__class__.__name__, *self))


class Place(NamedTuple):
    symbol: str
    side: Side
    size: Num
    price: Num | None = None
    type: OrderType = OrderType.LIMIT
    tif: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    client_id: str | None = None
    stop_price: Num | None = None

    __eq__ = _eq  # type: ignore[assignment]
    __ne__ = _ne  # type: ignore[assignment]
    __hash__ = _hash  # type: ignore[assignment]


class Edit(NamedTuple):
    """Change the price and/or size of an open order, keeping its client id."""

    client_id: str
    price: Num | None = None
    size: Num | None = None

    __eq__ = _eq  # type: ignore[assignment]
    __ne__ = _ne  # type: ignore[assignment]
    __hash__ = _hash  # type: ignore[assignment]


class Cancel(NamedTuple):
    client_id: str

    __eq__ = _eq  # type: ignore[assignment]
    __ne__ = _ne  # type: ignore[assignment]
    __hash__ = _hash  # type: ignore[assignment]


class CancelAll(NamedTuple):
    """Cancel the strategy's open orders, on one symbol or on all of them."""

    symbol: str | None = None

    __eq__ = _eq  # type: ignore[assignment]
    __ne__ = _ne  # type: ignore[assignment]
    __hash__ = _hash  # type: ignore[assignment]


Intent = Place | Edit | Cancel | CancelAll
INTENT_TYPES = (Place, Edit, Cancel, CancelAll)


class At(NamedTuple):
    """Intents and the index of the trade that triggered them (``on_trade_columns``).

    ``intents`` is what ``on_trade`` would have returned for trade ``index``:
    an iterable of intents, a single one, or None.
    """

    index: int
    intents: Any
