"""Value types shared by the venue packages: what a venue says about an order."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from botkit.model import OrderStatus, OrderType, Side, TimeInForce

__all__ = ["VenueOrder"]


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
