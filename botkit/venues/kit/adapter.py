"""The contract every live venue adapter fulfils, whatever the venue's protocol.

An adapter speaks one venue's REST and websocket protocol and answers in the
model's terms (``Instrument``, ``VenueOrder``, ``Fill``, market events). It does
no bookkeeping of its own: the live gateway (``botkit.execution.live``) turns its
answers into router callbacks, retries ambiguous outcomes, and reconciles.

Errors are ``botkit.venues.kit.errors.VenueError`` subclasses: ``OrderRejected`` /
``InvalidRequest`` are definite refusals; ``VenueUnavailable``, timeouts and
connection resets are ambiguous (the order may or may not exist at the venue).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from botkit.events import BookDelta, BookSnapshot, Ticker, Trade
from botkit.model import Fill, Instrument, Order
from botkit.venues.kit.nonce import NonceSource
from botkit.venues.kit.types import VenueOrder

MarketEvent = Trade | BookSnapshot | BookDelta | Ticker


@dataclass(frozen=True)
class Connection:
    """Everything an adapter is built from: ``adapter_cls.from_connection(connection)``.

    ``credentials`` holds the plain values of the venue's credential keys
    (``api_key``, ``api_secret``, ...) for this process only; ``options`` is
    ``venue.options`` from bot.yaml, which the adapter validates with its own
    options model. ``nonce`` is the persisted nonce source of signed venues.
    """

    base_url: str
    ws_url: str | None = None
    credentials: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    nonce: NonceSource | None = None
    symbols: tuple[str, ...] | None = None


@runtime_checkable
class VenueAdapter(Protocol):
    name: str
    supports_edit: bool  # a native edit/amend (else the router cancels and replaces)
    supports_client_id: bool  # the venue stores our client id and finds orders by it
    min_request_interval_s: float  # the venue's documented private-call rate (0 = none)
    has_user_trade_stream: bool  # False: fills come from REST polling alone

    async def connect(self) -> None:
        """Open sessions; load instruments. Idempotent."""

    async def close(self) -> None: ...

    async def instruments(self) -> dict[str, Instrument]: ...

    async def place(self, order: Order) -> VenueOrder:
        """Send a new order; returns the venue's view (at least its order id)."""

    async def cancel(self, order: Order) -> None: ...

    async def edit(self, order: Order, price: Decimal, size: Decimal) -> VenueOrder:
        """Native edit; only called when ``supports_edit``."""

    async def cancel_all(self, symbol: str | None = None) -> None: ...

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]: ...

    async def find_order(self, order: Order) -> VenueOrder | None:
        """Look an order up by client id (or venue id): None when the venue has no such order."""

    async def user_trades(self, since_ns: int | None, symbol: str | None = None) -> list[Fill]:
        """The account's executions from ``since_ns`` on (inclusive; duplicates allowed)."""

    async def balances(self) -> dict[str, Decimal]: ...

    async def positions(self) -> dict[str, Decimal]:
        """Signed position per symbol (derivatives venues; spot venues return {})."""

    def market_stream(self, symbols: list[str]) -> AsyncIterator[MarketEvent]:
        """Public market data, reconnecting by itself."""

    def user_trade_stream(self, since_ns: int | None) -> AsyncIterator[Fill] | None:
        """The account's executions as they happen (None when the venue has no such stream)."""
