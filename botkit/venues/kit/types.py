"""Value types shared by the venue packages: what a venue says about an order."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from botkit.model import ZERO, Order, OrderStatus, OrderType, Side, TimeInForce

__all__ = ["ORDER_TYPE_NAMES", "SIDE_NAMES", "TIF_NAMES", "AssetBalance", "VenueOrder", "ack"]

# What venues that name sides, order types and times in force in upper case send
# (``BUY``, ``STOP_LIMIT``, ``GTC``): our names, upper-cased. Tables of vocabulary,
# written once for every such venue.
SIDE_NAMES: Mapping[Side, str] = MappingProxyType({s: s.value.upper() for s in Side})
ORDER_TYPE_NAMES: Mapping[OrderType, str] = MappingProxyType(
    {t: t.value.upper() for t in OrderType}
)
TIF_NAMES: Mapping[TimeInForce, str] = MappingProxyType({t: t.value.upper() for t in TimeInForce})


@dataclass(frozen=True, slots=True)
class AssetBalance:
    """One asset of the account as the venue reports it.

    ``total`` is the whole balance (free and locked together); ``free`` the part
    new orders may use, when the venue reports it apart (None when it does not).
    """

    total: Decimal
    free: Decimal | None = None

    @property
    def locked(self) -> Decimal | None:
        """What the venue holds back (open orders, pending withdrawals), when it says."""
        return None if self.free is None else self.total - self.free


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """One order as the venue reports it, in the model's terms.

    ``status`` is OrderStatus.UNKNOWN when the venue's status string is not one we
    know; ``raw_status`` always keeps the venue's own value, so the adapter can
    log it and let reconciliation settle the order rather than guess. An open
    order with some but not all of its size filled is reported as
    PARTIALLY_FILLED even when the venue calls it open/active/new.

    ``type`` and ``tif`` are None when the venue did not say (or said something
    we do not model). ``client_id`` is the venue's copy of our client id, when it
    has one. ``ts_ns`` is the venue's time of the last change (or of creation when
    that is all it gives), in nanoseconds since the epoch, 0 when unknown.
    """

    venue: str
    venue_order_id: str
    client_id: str | None
    symbol: str
    side: Side
    type: OrderType | None
    price: Decimal | None
    size: Decimal
    filled: Decimal
    avg_price: Decimal | None
    status: OrderStatus
    ts_ns: int
    raw_status: str
    tif: TimeInForce | None = None
    stop_price: Decimal | None = None

    @property
    def remaining(self) -> Decimal:
        return self.size - self.filled

    @property
    def status_known(self) -> bool:
        return self.status is not OrderStatus.UNKNOWN


def ack(
    order: Order,
    venue: str,
    venue_order_id: str,
    *,
    status: OrderStatus = OrderStatus.OPEN,
    raw_status: str = "",
    client_id: str | None = None,
    size: Decimal | None = None,
    ts_ns: int | None = None,
) -> VenueOrder:
    """The ``VenueOrder`` an adapter returns for ``order`` when the venue's reply
    gave little more than its order id (a place or edit acknowledgement).

    Everything the venue did not say is the order as sent: its symbol, side,
    type, tif and stop price; its price for a priced type (None for market
    orders); nothing filled yet. ``client_id`` is the id the venue holds, by
    default the attempt's own (``order.venue_client_id``); ``size`` defaults to
    ``order.size`` (pass ``order.remaining`` when only the rest was sent);
    ``status`` OPEN unless the venue said otherwise (``raw_status`` keeps its
    words); ``ts_ns`` now unless given.
    """
    return VenueOrder(
        venue=venue,
        venue_order_id=venue_order_id,
        client_id=order.venue_client_id if client_id is None else client_id,
        symbol=order.symbol,
        side=order.side,
        type=order.type,
        price=order.price if order.type.needs_price else None,
        size=order.size if size is None else size,
        filled=ZERO,
        avg_price=None,
        status=status,
        ts_ns=time.time_ns() if ts_ns is None else ts_ns,
        raw_status=raw_status,
        tif=order.tif,
        stop_price=order.stop_price,
    )
