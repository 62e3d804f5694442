"""Market and order events, as the engine hands them to strategies.

Market events carry floats and plain ints (nanosecond timestamps). They are
created by the million in a backtest, so they are named tuples: built and read
at C speed, immutable, and positional (``Trade(ts_ns, symbol, price, size,
side, trade_id)``). Compare them by fields, not with ``==`` across types:
as tuples, two different event types with equal fields compare equal.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from botkit.model import OrderStatus, OrderType, Side

Level = tuple[float, float]  # (price, size)


class Trade(NamedTuple):
    """A public trade print. ``side`` is the aggressor (taker) side, or None if unknown."""

    ts_ns: int
    symbol: str
    price: float
    size: float
    side: Side | None = None
    trade_id: str | int | None = None


class BookSnapshot(NamedTuple):
    """The full visible book: bids best (highest) first, asks best (lowest) first."""

    ts_ns: int
    symbol: str
    bids: list[Level]
    asks: list[Level]


class BookDelta(NamedTuple):
    """Changed levels with their new absolute size; a size of 0 removes the level."""

    ts_ns: int
    symbol: str
    bids: list[Level]
    asks: list[Level]


class Ticker(NamedTuple):
    ts_ns: int
    symbol: str
    bid: float | None
    ask: float | None
    bid_size: float | None = None
    ask_size: float | None = None
    last: float | None = None


class Bar(NamedTuple):
    """An OHLCV bar; ``ts_ns`` is the bar's close time, ``interval_ns`` its length."""

    ts_ns: int
    symbol: str
    interval_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class Timer(NamedTuple):
    """A timer set in bot.yaml fired; ``scheduled_ns`` is when it was due."""

    ts_ns: int
    name: str
    interval_ns: int
    scheduled_ns: int


class OrderUpdate(NamedTuple):
    """A snapshot of one of the strategy's orders after a change (the ``on_order`` hook).

    ``code`` is the stable reject code (``below_min_notional``, ...) when the
    risk module or the venue refused the order; ``reason`` is the human text.
    """

    ts_ns: int
    client_id: str
    symbol: str
    side: Side
    type: OrderType
    status: OrderStatus
    price: Decimal | None
    size: Decimal
    filled: Decimal
    avg_price: Decimal | None
    venue_order_id: str | None = None
    code: str | None = None
    reason: str | None = None
    strategy: str = ""

    @property
    def remaining(self) -> Decimal:
        return self.size - self.filled


MarketEvent = Trade | BookSnapshot | BookDelta | Ticker | Bar
