"""The contract every live venue adapter fulfils, and the base that does the shared part.

An adapter speaks one venue's REST and websocket protocol and answers in the
model's terms (``Instrument``, ``VenueOrder``, ``Fill``, market events). It does
no bookkeeping of its own: the live gateway (``botkit.execution.live``) turns its
answers into router callbacks, retries ambiguous outcomes, and reconciles.

Errors are ``botkit.venues.kit.errors.VenueError`` subclasses: ``OrderRejected`` /
``InvalidRequest`` are definite refusals; ``VenueUnavailable``, timeouts and
connection resets (``errors.AMBIGUOUS``) are ambiguous (the order may or may
not exist at the venue).

Writing an adapter on :class:`AdapterBase` — what the venue supplies:

* ``name`` (class attribute): the registry name; the base reads the venue's
  ``SPEC`` for its capabilities (``supports_edit``, ``supports_client_id``,
  ``has_user_trade_stream``), so they are declared once, in ``SPEC``.
* ``Options`` (class attribute): its ``VenueOptions`` subclass; the base loads
  ``connection.options`` into ``self.options`` (``min_request_interval_s``
  comes from there).
* In ``__init__``, after ``super().__init__(connection)``: ``self.http``, its
  ``kit.rest.RestClient`` (the one session, closed by ``close()`` always).
* ``_connect()``: its start-up (load instruments, find the account); run once
  by ``connect()``, under a lock, after the session is open. A failure closes
  the session again; the next ``connect()`` starts over.
* The ``VenueAdapter`` methods. For them the base offers ``self.ids``
  (``kit.ids.IdMemory``: client id <-> venue order id), ``self.skipped``
  (:class:`SkipCounter`: pass ``self.skipped.at(endpoint)`` as the ``skip``
  of a parser, so bad rows are logged, counted and left out), ``kit.types.ack``
  to build the ``VenueOrder`` of a place reply, and ``ready()`` (``connect()``
  unless connected).
* Balances: ``balances()`` (totals) is required. A venue that reports each
  asset's free part apart overrides ``balance_sheet()`` too (and usually
  derives ``balances()`` from it); the base's ``balance_sheet()`` gives the
  totals with the free part unknown. The live gateway reads the sheet at each
  reconciliation (``botkit.execution.balances``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

from botkit.events import BookDelta, BookSnapshot, Ticker, Trade
from botkit.model import Fill, Instrument, Order
from botkit.venues import registry
from botkit.venues.kit.errors import ParseError
from botkit.venues.kit.ids import IdMemory
from botkit.venues.kit.nonce import NonceSource
from botkit.venues.kit.options import VenueOptions
from botkit.venues.kit.parsing import Skip
from botkit.venues.kit.rest import RestClient
from botkit.venues.kit.types import AssetBalance, VenueOrder

__all__ = ["AdapterBase", "Connection", "MarketEvent", "SkipCounter", "VenueAdapter"]

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
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
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

    async def balances(self) -> dict[str, Decimal]:
        """The account's total balance per asset (free and locked together).

        An adapter may also offer ``balance_sheet()`` (see :class:`AdapterBase`):
        each asset's total and, where the venue reports it apart, its free part.
        """

    async def positions(self) -> dict[str, Decimal]:
        """Signed position per symbol (derivatives venues; spot venues return {})."""

    def market_stream(self, symbols: list[str]) -> AsyncIterator[MarketEvent]:
        """Public market data, reconnecting by itself."""

    def user_trade_stream(self, since_ns: int | None) -> AsyncIterator[Fill] | None:
        """The account's executions as they happen (None when the venue has no such stream)."""


class SkipCounter:
    """Counts (and logs) what an adapter's parsers left out: bad rows, bad messages,
    market data with a non-positive price or size.

    Call it with a ``ParseError``, or hand ``at(endpoint)`` to a parser as its
    ``skip``. Counts are keyed ``"<endpoint or kind> <field>"`` with list indices
    dropped (``GET /user_trades data[].price``), so one broken field is one line
    of the run's health however often it repeats. The first of each key is
    logged as a warning (venue, endpoint, field, why); repeats only at debug, so
    a venue sending bad data every second does not flood the log.

    ``once=True`` is for endpoints that answer with the same records on every
    call (a whole history with no time filter, a listing polled again and
    again): a record skipped before — the same error, word for word — is not
    counted again, so the count says how many bad records there are, not how
    often they were read. The last ``memory`` such errors are remembered.
    """

    def __init__(
        self, venue: str, logger: logging.Logger | None = None, *, memory: int = 1000
    ) -> None:
        self.venue = venue
        self.counts: Counter[str] = Counter()
        self._log = logger or logging.getLogger(f"botkit.venues.{venue}")
        self._seen: OrderedDict[str, None] = OrderedDict()  # errors counted with once=True
        self._memory = memory

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __call__(self, err: ParseError, *, once: bool = False) -> None:
        if once and self._met_before(str(err)):
            return
        key = f"{err.endpoint or err.kind} {_unindexed(err.field)}"
        self.counts[key] += 1
        level = logging.WARNING if self.counts[key] == 1 else logging.DEBUG
        self._log.log(level, "skipped (%d so far of this kind): %s", self.counts[key], err)

    def _met_before(self, text: str) -> bool:
        if text in self._seen:
            self._seen.move_to_end(text)
            return True
        self._seen[text] = None
        if len(self._seen) > self._memory:
            self._seen.popitem(last=False)
        return False

    def at(self, endpoint: str, *, once: bool = False) -> Skip:
        """A ``skip`` for parsers of ``endpoint``'s payloads (``once``: see the class notes)."""
        return lambda err: self(err.at(endpoint), once=once)


def _unindexed(field: str) -> str:
    out: list[str] = []
    depth = 0
    for ch in field:
        if ch == "[":
            depth += 1
            out.append("[]")
        elif ch == "]":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


class AdapterBase:
    """The shared lifecycle and memory of an adapter (see the module notes)."""

    name: ClassVar[str]
    Options: ClassVar[type[VenueOptions]] = VenueOptions

    http: RestClient

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        spec = registry.get(self.name)
        caps = spec.capabilities
        self.options = self.Options.load(connection.options, venue=self.name)
        self.supports_edit: bool = caps.edit
        self.supports_client_id: bool = caps.client_id
        self.has_user_trade_stream: bool = caps.user_trade_stream
        self.min_request_interval_s: float = self.options.min_request_interval_s
        self.symbols: tuple[str, ...] | None = connection.symbols
        self.ids = IdMemory(self.options.id_memory)
        self.skipped = SkipCounter(self.name)
        self._connected = False
        self._connect_lock = asyncio.Lock()

    @classmethod
    def from_connection(cls, connection: Connection) -> Self:
        """The adapter the node builds from bot.yaml's ``venue:`` section."""
        return cls(connection)

    @property
    def connected(self) -> bool:
        return self._connected

    async def connect(self) -> None:
        """Open the session and run the venue's start-up, once. Idempotent."""
        if self._connected:
            return
        async with self._connect_lock:
            if self._connected:
                return
            await self.http.open()
            try:
                await self._connect()
            except BaseException:
                await self.http.close()
                raise
            self._connected = True

    async def _connect(self) -> None:
        """The venue's start-up (instruments, account); the session is open."""

    async def ready(self) -> None:
        """``connect()`` unless connected: the first line of every call."""
        if not self._connected:
            await self.connect()

    async def balance_sheet(self) -> dict[str, AssetBalance]:
        """Each asset's total and, where the venue says, its free part (see the module notes).

        This default knows only the totals of ``balances()``: the free part is None.
        """
        totals: dict[str, Decimal] = await self.balances()  # type: ignore[attr-defined]
        return {asset: AssetBalance(total) for asset, total in totals.items()}

    async def close(self) -> None:
        """Close the session, whatever state the adapter is in. Idempotent."""
        self._connected = False
        await self.http.close()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
