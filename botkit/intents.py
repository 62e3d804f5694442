"""What strategies emit: place, edit, cancel, cancel-all.

Sizes and prices may be given as float, int, str or Decimal; the risk module
turns them into grid ``Decimal`` values (``Decision.intent``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from botkit.model import OrderType, Side, TimeInForce

Num = Decimal | float | int | str


@dataclass(frozen=True, slots=True)
class Place:
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


@dataclass(frozen=True, slots=True)
class Edit:
    """Change the price and/or size of an open order, keeping its client id."""

    client_id: str
    price: Num | None = None
    size: Num | None = None


@dataclass(frozen=True, slots=True)
class Cancel:
    client_id: str


@dataclass(frozen=True, slots=True)
class CancelAll:
    """Cancel the strategy's open orders, on one symbol or on all of them."""

    symbol: str | None = None


Intent = Place | Edit | Cancel | CancelAll
