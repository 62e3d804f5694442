"""BlockTrade live adapter: the ``VenueAdapter`` contract over BlockTrade's REST and websockets.

Capabilities: spot (``positions()`` is empty), LIMIT and MARKET orders with
GTC/IOC/FOK, our client id sent as ``customer_order_id`` (``POST
/customer_orders``) and looked up by it (``GET /customer_orders/{id}``), no
native edit (the router cancels and replaces), fills from the ``user_trades``
websocket channel with REST ``/user_trades`` as catch-up, market data from the
order_book, trades and ticker channels.

Choices where the document is unclear or silent (each one an option):

* URLs: ``base_url`` may be the bare origin; ``/api/v1`` (the example code's
  prefix) is appended. The websocket is ``/ws/v1/notification`` on ``ws_url``'s
  host, or on the REST host when ``ws_url`` is None.
* Nonces: ``NonceSource`` (ms, strictly increasing, injectable so the journal
  persists it); private calls are serialised so nonces arrive in order (see
  ``rest``).
* Prices and amounts are sent as strings (typed "number as string"; the
  example's ``"price": 1000`` is read as sloppiness, and the parser accepts both).
* ``portfolio_id``: the option, else the first portfolio ``GET /portfolios``
  lists.
* Client ids and cancel-and-replace: the router keeps the strategy's client id
  across a replace, but the venue refuses a ``customer_order_id`` it has seen.
  The first order of a client id is sent as the id itself; each replacement as
  ``{id}~{n}`` (n = 2, 3, ...; ``replace_separator``). Orders, open orders and
  fills are reported with the suffix stripped. ``find_order`` looks up exactly
  the latest attempt this process sent; for a client id it did not send (after
  a restart, which forgets the counter) it probes ``id``, ``id~2``, ... upward
  to the live generation. A place refused as a duplicate (409) is resolved the
  same way: a live order with that id is the order; a closed one means a replace
  whose counter was lost, and the next generation is sent.
* Without customer order ids (``use_customer_order_id=False``: ``POST /orders``,
  which assigns its own), ``find_order`` falls back to the venue id from the
  place reply, then to matching recent orders by pair, side, price, amount and
  time (at or after the order's creation less ``match_slack_ms``), skipping
  venue ids already claimed by another client id.
* Post-only: BlockTrade has no post-only flag. ``post_only="reject"`` (default)
  refuses such orders locally (``InvalidRequest``, nothing sent) rather than
  risk taking liquidity; ``post_only="send"`` sends them as plain GTC limits,
  relying on the risk module's crossing check. ``reduce_only`` has no meaning on
  a spot venue and is not sent (the risk module clips it to the position).
* Place replies: ``{"id", "customer_order_id"}`` only. A GTC limit is reported
  OPEN from it; IOC, FOK and market orders are read back (``GET /orders/{id}``)
  since they may already be closed; a read-back that keeps failing makes the
  place ambiguous, so the order is looked up rather than left open for good.
  A 400 reply to a place is an ``OrderRejected`` carrying the venue's message
  (the Error schema has no codes); a reply that cannot be read is ambiguous.
* ``user_trades(since_ns)``: ``start_time`` is "trades after this time" in ms
  while the venue keeps ns internally; to be inclusive under either reading the
  request starts ``since_overlap_ms`` (1) before ``since_ns``'s millisecond,
  pages by ``limit``/``offset`` (1000) until ``count`` is reached, and keeps
  duplicates at the boundary for the caller to drop.
* The user-trades channel's message is accepted both as the bare trade object
  the document shows and framed like the other channels. It is resumed after a
  drop from the last seen trade's time (the same overlap), and trade ids seen in
  this stream are not yielded twice. Authentication: signed handshake headers
  (``ws_auth="headers"``, default) or the ``/user`` token (``ws_auth="token"``).
* Fills carry the client id when the venue order is known to this adapter (from
  a place reply, a lookup or a listing); an unknown one is looked up by ``GET
  /orders/{id}`` (retried on transient errors, then asked again at its next
  fill); failing that the fill goes out without it and the router matches the
  venue order id. A fill that precedes its place's acknowledgement (or follows
  an ambiguous place) is thus still the right order's.
* Order status: NEW/PARTIALLY_FILLED/FILLED/CANCELLED(CANCELED)/REJECTED/EXPIRED;
  anything else is UNKNOWN and left to reconciliation (``parsing``).
* ``balances()`` is the total per asset (available + reserved + locked) of the
  trading portfolio.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any, Literal, TypeVar

import aiohttp

from botkit.events import BookDelta, BookSnapshot, Ticker, Trade
from botkit.model import ZERO, Fill, Instrument, Order, OrderStatus, OrderType, Side, TimeInForce
from botkit.venues.blocktrade.parsing import (
    VENUE,
    Markets,
    parse_markets,
    parse_order,
    parse_order_ack,
    parse_orders,
    parse_user_trades,
    parse_ws_order_book,
    parse_ws_ticker,
    parse_ws_trades,
    ws_message_type,
)
from botkit.venues.blocktrade.rest import DEFAULT_API_PREFIX, BlockTradeRest, path
from botkit.venues.blocktrade.websocket import (
    DEFAULT_WS_PATH,
    BlockTradeWebsocket,
    Connected,
    ws_url_for,
)
from botkit.venues.kit.adapter import Connection
from botkit.venues.kit.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    OrderRejected,
    ParseError,
    VenueError,
)
from botkit.venues.kit.nonce import NonceSource
from botkit.venues.kit.parsing import Fields, list_of
from botkit.venues.kit.types import VenueOrder

__all__ = ["BlockTradeAdapter"]

log = logging.getLogger("botkit.venues.blocktrade")

T = TypeVar("T")
MarketEvent = Trade | BookSnapshot | BookDelta | Ticker

_MS = 1_000_000
_OPEN_STATUSES = "NEW,PARTIALLY_FILLED"
_MAX_PAGES = 1000  # a bound on paging, never reached in practice
_SIDES = {Side.BUY: "BUY", Side.SELL: "SELL"}
_TYPES = {
    OrderType.LIMIT: "LIMIT",
    OrderType.MARKET: "MARKET",
    OrderType.STOP_LIMIT: "STOP_LIMIT",
    OrderType.STOP_MARKET: "STOP_MARKET",
}
_TIFS = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}
_USER_TRADE_TYPES = frozenset({"user_trades", "user_trade"})


class BlockTradeAdapter:
    """``VenueAdapter`` for BlockTrade (see the module notes for every choice)."""

    name = VENUE
    supports_edit = False
    supports_client_id = True
    has_user_trade_stream = True

    @classmethod
    def from_connection(cls, connection: Connection) -> BlockTradeAdapter:
        """The adapter the node builds from bot.yaml's ``venue:`` section."""
        creds = connection.credentials
        return cls(
            connection.base_url,
            connection.ws_url,
            api_key=creds.get("api_key"),
            api_secret=creds.get("api_secret"),
            nonce=connection.nonce,
            **dict(connection.options),
        )

    def __init__(
        self,
        base_url: str,
        ws_url: str | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        nonce: NonceSource | None = None,
        symbols: list[str] | None = None,
        portfolio_id: int | None = None,
        timeout_s: float = 10.0,
        api_prefix: str = DEFAULT_API_PREFIX,
        ws_path: str = DEFAULT_WS_PATH,
        use_customer_order_id: bool = True,
        replace_separator: str = "~",
        post_only: Literal["reject", "send"] = "reject",
        since_overlap_ms: int = 1,
        ws_auth: Literal["headers", "token"] = "headers",
        heartbeat_s: float | None = 20.0,
        reconnect_backoff_s: tuple[float, float] = (0.2, 5.0),
        min_request_interval_s: float = 0.0,
        match_slack_ms: int = 2000,
        fee_asset: Literal["quote", "base"] = "quote",
        serialize_private: bool = True,
        user_trade_stream: bool = True,
        page_size: int = 1000,
        lookup_attempts: int = 4,
        open_statuses: str = _OPEN_STATUSES,
    ) -> None:
        if post_only not in ("reject", "send"):
            raise ValueError(f"post_only must be 'reject' or 'send', got {post_only!r}")
        if ws_auth not in ("headers", "token"):
            raise ValueError(f"ws_auth must be 'headers' or 'token', got {ws_auth!r}")
        self.rest = BlockTradeRest(
            base_url,
            api_key,
            api_secret,
            nonce=nonce,
            timeout_s=timeout_s,
            api_prefix=api_prefix,
            serialize_private=serialize_private,
        )
        self.ws = BlockTradeWebsocket(
            ws_url_for(base_url, ws_url, ws_path),
            self.rest,
            heartbeat_s=heartbeat_s,
            backoff_s=reconnect_backoff_s,
            connect_timeout_s=timeout_s,
        )
        self.symbols = list(symbols) if symbols else None
        self.portfolio_id = portfolio_id
        self.use_customer_order_id = use_customer_order_id
        self.separator = replace_separator
        self._suffix = re.compile(re.escape(replace_separator) + r"(\d+)$")
        self.post_only = post_only
        self.since_overlap_ms = since_overlap_ms
        self.ws_auth = ws_auth
        self.min_request_interval_s = min_request_interval_s
        self.match_slack_ms = match_slack_ms
        self.fee_asset: Literal["quote", "base"] = fee_asset
        self.has_user_trade_stream = user_trade_stream
        self.page_size = page_size
        self.lookup_attempts = lookup_attempts
        self.open_statuses = open_statuses
        self._markets: Markets | None = None
        self._connected = False
        self._connect_lock: asyncio.Lock | None = None
        # What this process knows of its orders at the venue.
        self._generation: dict[str, int] = {}  # client id -> latest customer_order_id suffix
        self._client_by_venue: dict[str, str] = {}  # venue order id -> client id
        self._venue_by_client: dict[str, str] = {}  # client id -> latest venue order id
        self._retired: set[str] = set()  # venue ids of replaced orders (no customer ids)
        self._ws_token: str | None = None

    # ----- lifecycle --------------------------------------------------------------------------

    async def connect(self) -> None:
        if self._connected:
            return
        if self._connect_lock is None:
            self._connect_lock = asyncio.Lock()
        async with self._connect_lock:
            if self._connected:
                return
            await self.rest.open()
            await self._load_markets()
            if self.portfolio_id is None and self.rest.has_credentials:
                self.portfolio_id = await self._first_portfolio()
            self._connected = True

    async def close(self) -> None:
        self._connected = False
        await self.rest.close()

    async def _ready(self) -> Markets:
        if not self._connected:
            await self.connect()
        assert self._markets is not None
        return self._markets

    async def _load_markets(self) -> Markets:
        pairs = await self.rest.get("/trading_pairs")
        assets = await self.rest.get("/trading_assets")
        markets = parse_markets(pairs, assets)
        if self.symbols:
            missing = [s for s in self.symbols if markets.instrument(s) is None]
            if missing:
                log.warning("symbols not listed at BlockTrade: %s", ", ".join(missing))
        self._markets = markets
        return markets

    async def _parsed(self, parse: Callable[[Markets], T]) -> T:
        """Parse with the current markets; a trading pair we do not know (listed since
        we loaded them) reloads them once."""
        markets = await self._ready()
        try:
            return parse(markets)
        except ParseError as err:
            if "trading_pair" not in err.field and "unknown trading pair" not in err.detail:
                raise
        return parse(await self._load_markets())

    async def _first_portfolio(self) -> int:
        rows = await self.rest.private("GET", "/portfolios")
        portfolios = list_of(rows, VENUE, "portfolio")
        if not portfolios:
            raise ParseError(VENUE, "portfolio", "<root>", "no portfolio listed")
        return portfolios[0].integer("id")

    # ----- reference data ---------------------------------------------------------------------

    async def instruments(self) -> dict[str, Instrument]:
        """Every listed pair, or only ``symbols`` when the adapter was given some."""
        markets = await self._ready()
        wanted = set(self.symbols) if self.symbols else None
        return {i.symbol: i for i in markets.instruments if wanted is None or i.symbol in wanted}

    async def _pair_id(self, symbol: str) -> int:
        markets = await self._ready()
        pid = markets.pair_by_symbol.get(symbol)
        if pid is None:
            pid = (await self._load_markets()).pair_by_symbol.get(symbol)
        if pid is None:
            raise NotFound(VENUE, f"unknown trading pair {symbol}")
        return pid

    # ----- client ids -------------------------------------------------------------------------

    def _customer_id(self, client_id: str, generation: int) -> str:
        return client_id if generation <= 1 else f"{client_id}{self.separator}{generation}"

    def _base_client_id(self, customer_id: str | None) -> str | None:
        if customer_id is None:
            return None
        m = self._suffix.search(customer_id)
        return customer_id[: m.start()] if m and int(m.group(1)) >= 2 else customer_id

    def _remember(self, client_id: str, venue_order_id: str) -> None:
        self._client_by_venue[venue_order_id] = client_id
        self._venue_by_client[client_id] = venue_order_id

    def _ours(self, vo: VenueOrder) -> VenueOrder:
        """The venue's view with the client id as the router knows it."""
        known = self._client_by_venue.get(vo.venue_order_id) or None
        # Without customer ids the venue's customer_order_id is its own UUID, not ours.
        ours = self._base_client_id(vo.client_id) if self.use_customer_order_id else None
        cid = ours or known
        return vo if cid is None or cid == vo.client_id else _with(vo, client_id=cid)

    # ----- orders -----------------------------------------------------------------------------

    async def place(self, order: Order) -> VenueOrder:
        await self._ready()
        if order.post_only and self.post_only == "reject":
            raise InvalidRequest(
                VENUE, "BlockTrade has no post-only orders (adapter option post_only='reject')"
            )
        pair_id = await self._pair_id(order.symbol)
        body: dict[str, Any] = {
            "portfolio_id": self.portfolio_id,
            "direction": _SIDES[order.side],
            "type": _TYPES[order.type],
            "trading_pair_id": pair_id,
            "amount": order.size,
            "time_in_force": _TIFS[order.tif],
        }
        if order.price is not None and order.type is not OrderType.MARKET:
            body["price"] = order.price
        if order.stop_price is not None:
            body["stop_price"] = order.stop_price

        cid = order.client_id
        if self.use_customer_order_id:
            generation = self._generation.get(cid, 0) + 1
            body = {"customer_order_id": self._customer_id(cid, generation), **body}
            self._generation[cid] = generation  # before sending: an ambiguous send counts
            route = "/customer_orders"
        else:
            route = "/orders"
            replaced = self._venue_by_client.pop(cid, None)
            if replaced is not None:
                self._retired.add(replaced)  # a replace: never match the old order again

        try:
            reply = await self.rest.private("POST", route, body=body)
        except VenueError as err:
            if isinstance(err, Conflict) and self.use_customer_order_id:
                found = await self._resolve_duplicate(order)
                if found is not None:
                    return found
            if type(err) is InvalidRequest:
                # A refused place is the venue rejecting the order, with its reason.
                raise OrderRejected(
                    VENUE, err.message, status=err.status, code=err.code, body=err.body
                ) from err
            raise
        try:
            venue_id, _ = parse_order_ack(reply)
        except ParseError as err:
            # It may well exist: let the caller look it up rather than call it refused.
            raise VenueError(VENUE, f"unreadable place reply: {err}") from err
        self._remember(cid, venue_id)
        now = time.time_ns()
        ack = VenueOrder(
            venue=VENUE,
            venue_order_id=venue_id,
            client_id=cid,
            symbol=order.symbol,
            side=order.side,
            type=order.type,
            price=order.price,
            size=order.size,
            filled=ZERO,
            avg_price=None,
            status=OrderStatus.OPEN,
            ts_ns=now,
            raw_status="NEW",
            tif=order.tif,
            stop_price=order.stop_price,
        )
        if order.type is OrderType.MARKET or order.tif is not TimeInForce.GTC:
            # Done at once (filled, or the rest cancelled): only the venue knows which.
            return await self._read_back(venue_id, ack)
        return ack

    async def _read_back(self, venue_id: str, ack: VenueOrder) -> VenueOrder:
        """The state of an order that does not rest (market, IOC, FOK) just after its place.

        Reporting it OPEN would leave it open for good if the rest was cancelled, so a
        read-back that keeps failing is reported as ambiguous: the caller looks the
        order up by client id later.
        """
        err: BaseException | None = None
        for attempt in range(self.lookup_attempts):
            try:
                return await self._order_by_venue_id(venue_id) or ack
            except (VenueError, aiohttp.ClientError, OSError, TimeoutError) as e:
                if isinstance(e, VenueError) and not (e.ambiguous or e.retryable):
                    raise VenueError(VENUE, f"order {venue_id} placed; state unknown: {e}") from e
                err = e
                await asyncio.sleep(0.05 * 2**attempt)
        raise VenueError(VENUE, f"order {venue_id} placed; state unknown: {err}") from err

    async def _resolve_duplicate(self, order: Order) -> VenueOrder | None:
        """A 409 on a place: our customer_order_id exists. Either an earlier attempt went
        through (it is live: that is the order) or a restart lost the replace counter
        (the existing one is closed: place the next generation)."""
        cid = order.client_id
        found = await self._probe(cid, 1)
        if found is None:
            return None
        generation, vo = found
        if vo.status.is_closed:
            self._generation[cid] = generation
            return await self.place(order)
        return vo

    async def cancel(self, order: Order) -> None:
        await self._ready()
        if order.venue_order_id is not None:
            await self.rest.private("POST", path("orders", order.venue_order_id, "cancel"))
            return
        if self.use_customer_order_id:
            # Not acknowledged yet: the latest attempt is the one to cancel.
            cid = order.client_id
            customer_id = self._customer_id(cid, self._generation.get(cid, 1))
            await self.rest.private("POST", path("customer_orders", customer_id, "cancel"))
            return
        vo = await self.find_order(order)
        if vo is None:
            raise NotFound(VENUE, f"order {order.client_id} not found")
        await self.rest.private("POST", path("orders", vo.venue_order_id, "cancel"))

    async def edit(self, order: Order, price: Decimal, size: Decimal) -> VenueOrder:
        raise InvalidRequest(VENUE, "BlockTrade has no order edit; the router cancels and replaces")

    async def cancel_all(self, symbol: str | None = None) -> None:
        await self._ready()
        if symbol is None:
            await self.rest.private("POST", "/orders/cancel_active")
            return
        pair_id = await self._pair_id(symbol)
        await self.rest.private("POST", "/orders/cancel", body={"trading_pair_id": pair_id})

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        params: dict[str, str | int] = {"status": self.open_statuses}
        if symbol is not None:
            params["trading_pair_id"] = await self._pair_id(symbol)
        orders = await self._list_orders(params)
        return [vo for vo in orders if not vo.status.is_closed]

    async def _list_orders(
        self, params: dict[str, str | int], max_pages: int = _MAX_PAGES
    ) -> list[VenueOrder]:
        seen: dict[str, VenueOrder] = {}
        offset = 0
        for _ in range(max_pages):
            page = await self.rest.private(
                "GET", "/orders", params={**params, "limit": self.page_size, "offset": offset}
            )
            rows = await self._parsed(lambda m, page=page: parse_orders(page, m))
            for vo in rows:
                # Newest first: a page boundary shifts as orders arrive; ids dedupe it.
                seen.setdefault(vo.venue_order_id, self._ours(vo))
            count = _count(page)
            offset += len(rows)
            if len(rows) < self.page_size or (count is not None and offset >= count):
                break
        if self.use_customer_order_id:
            for vo in seen.values():
                if vo.client_id is not None:
                    self._client_by_venue.setdefault(vo.venue_order_id, vo.client_id)
        return list(seen.values())

    async def _order_by_venue_id(self, venue_id: str) -> VenueOrder | None:
        try:
            payload = await self.rest.private("GET", path("orders", venue_id))
        except NotFound:
            return None
        return self._ours(await self._parsed(lambda m: parse_order(payload, m)))

    async def _order_by_customer_id(self, customer_id: str) -> VenueOrder | None:
        try:
            payload = await self.rest.private("GET", path("customer_orders", customer_id))
        except NotFound:
            return None
        return self._ours(await self._parsed(lambda m: parse_order(payload, m)))

    async def _probe(self, cid: str, start: int) -> tuple[int, VenueOrder] | None:
        """The highest generation of ``cid`` at the venue, probing from ``start`` upward;
        None when generation ``start`` itself does not exist."""
        found: tuple[int, VenueOrder] | None = None
        generation = start
        while True:
            vo = await self._order_by_customer_id(self._customer_id(cid, generation))
            if vo is None:
                return found
            found = (generation, vo)
            generation += 1

    async def find_order(self, order: Order) -> VenueOrder | None:
        await self._ready()
        cid = order.client_id
        if self.use_customer_order_id:
            known = self._generation.get(cid)
            if known is not None:
                # This process sent it: the latest attempt is exactly this generation.
                vo = await self._order_by_customer_id(self._customer_id(cid, known))
            else:
                # Not sent by this process (a restart): find the live generation.
                found = await self._probe(cid, 1)
                if found is not None:
                    self._generation[cid] = found[0]
                vo = found[1] if found is not None else None
            if vo is not None:
                self._remember(cid, vo.venue_order_id)
            return vo
        venue_id = self._venue_by_client.get(cid) or order.venue_order_id
        if venue_id is not None:
            vo = await self._order_by_venue_id(venue_id)
            if vo is not None:
                return _with(vo, client_id=cid)
        vo = await self._match_recent(order)
        if vo is not None:
            self._remember(cid, vo.venue_order_id)
            return _with(vo, client_id=cid)
        return None

    async def _match_recent(self, order: Order) -> VenueOrder | None:
        """Fallback without client ids: the earliest recent order that looks like ours."""
        params: dict[str, str | int] = {"trading_pair_id": await self._pair_id(order.symbol)}
        recent = await self._list_orders(params, max_pages=1)
        since = order.created_ns - self.match_slack_ms * _MS
        cid = order.client_id
        claimed = {v for v, c in self._client_by_venue.items() if c and c != cid} | self._retired
        candidates = [
            vo
            for vo in recent
            if vo.venue_order_id not in claimed
            and vo.side is order.side
            and vo.size == order.size
            and (order.price is None or vo.price == order.price)
            and (vo.ts_ns == 0 or vo.ts_ns >= since)
        ]
        if not candidates:
            return None
        return min(
            candidates, key=lambda vo: int(vo.venue_order_id) if vo.venue_order_id.isdigit() else 0
        )

    # ----- fills ------------------------------------------------------------------------------

    def _start_ms(self, since_ns: int) -> int:
        return max(0, since_ns // _MS - self.since_overlap_ms)

    async def user_trades(self, since_ns: int | None, symbol: str | None = None) -> list[Fill]:
        await self._ready()
        params: dict[str, str | int] = {}
        if since_ns is not None:
            params["start_time"] = self._start_ms(since_ns)
        if symbol is not None:
            params["trading_pair_ids"] = await self._pair_id(symbol)
        fills: dict[str, Fill] = {}
        offset = 0
        for _ in range(_MAX_PAGES):
            page = await self.rest.private(
                "GET", "/user_trades", params={**params, "limit": self.page_size, "offset": offset}
            )
            rows = await self._parsed(
                lambda m, page=page: parse_user_trades(page, m, fee_asset=self.fee_asset)
            )
            for f in rows:
                fills.setdefault(f.trade_id, f)
            count = _count(page)
            offset += len(rows)
            if len(rows) < self.page_size or (count is not None and offset >= count):
                break
        floor = None if since_ns is None else (since_ns // _MS) * _MS
        out = [f for f in fills.values() if floor is None or f.ts_ns >= floor]
        out.sort(key=lambda f: (f.ts_ns, f.trade_id))
        return [await self._with_client_id(f) for f in out]

    async def _with_client_id(self, fill: Fill) -> Fill:
        """The fill with our client id, looking its order up once when we do not know it.

        A fill can arrive before its place was acknowledged (or after an ambiguous
        place); without the client id the router could not tell whose it is.
        """
        vid = fill.venue_order_id
        if fill.client_id or vid is None:
            return fill
        cid = self._client_by_venue.get(vid)
        if cid is None:
            cid = await self._client_id_of(vid, fill.trade_id)
        return _with(fill, client_id=cid) if cid else fill

    async def _client_id_of(self, venue_id: str, trade_id: str) -> str | None:
        for attempt in range(self.lookup_attempts):
            try:
                vo = await self._order_by_venue_id(venue_id)
            except (VenueError, ParseError, aiohttp.ClientError, OSError, TimeoutError) as err:
                definite = isinstance(err, VenueError) and not (err.ambiguous or err.retryable)
                log.info("order %s of fill %s: lookup failed (%s)", venue_id, trade_id, err)
                if definite or isinstance(err, ParseError):
                    break
                await asyncio.sleep(0.1 * 2**attempt)
                continue
            cid = vo.client_id if vo is not None else None
            # Known now (or known to be nobody's): never asked again.
            self._client_by_venue[venue_id] = cid or ""
            return cid
        return None  # not remembered: the next fill of this order asks again

    def user_trade_stream(self, since_ns: int | None) -> AsyncIterator[Fill] | None:
        if not self.has_user_trade_stream:
            return None
        return self._user_trade_stream(since_ns)

    async def _user_trade_stream(self, since_ns: int | None) -> AsyncIterator[Fill]:
        await self._ready()
        last_ns = since_ns
        seen: dict[str, int] = {}
        if self.ws_auth == "token" and self._ws_token is None:
            user = Fields(await self.rest.private("GET", "/user"), VENUE, "user")
            self._ws_token = user.text("websocket_auth_token")

        async def subscriptions() -> list[dict[str, Any]]:
            params: dict[str, Any] = {}
            if self.ws_auth == "token":
                params["auth_token"] = self._ws_token
            if last_ns is not None:
                params["start_time"] = self._start_ms(last_ns)
            return [{"subscribe_user_trades": params}]

        async for message in self.ws.stream(subscriptions, signed=self.ws_auth == "headers"):
            if isinstance(message, Connected):
                continue
            try:
                if ws_message_type(message) not in _USER_TRADE_TYPES:
                    continue
                fills = await self._parsed(
                    lambda m, msg=message: parse_user_trades(msg, m, fee_asset=self.fee_asset)
                )
            except ParseError as err:
                log.warning("user trades: unreadable message skipped: %s", err)
                continue
            for fill in fills:
                if fill.trade_id in seen:
                    continue
                seen[fill.trade_id] = fill.ts_ns
                if last_ns is None or fill.ts_ns > last_ns:
                    last_ns = fill.ts_ns
                yield await self._with_client_id(fill)
            if len(seen) > 10_000:
                # Only the boundary of a resume can repeat: forget what lies well before it.
                horizon = (last_ns or 0) - 60_000 * _MS
                seen = {t: ts for t, ts in seen.items() if ts >= horizon}

    # ----- market data ------------------------------------------------------------------------

    def market_stream(self, symbols: list[str]) -> AsyncIterator[MarketEvent]:
        return self._market_stream(list(symbols))

    async def _market_stream(self, symbols: list[str]) -> AsyncIterator[MarketEvent]:
        pair_ids = [await self._pair_id(s) for s in symbols]
        booked: set[int] = set()  # pairs whose full book arrived on this connection

        async def subscriptions() -> list[dict[str, Any]]:
            subs: list[dict[str, Any]] = []
            for pid in pair_ids:
                params = {"trading_pair_id": pid}
                subs += [
                    {"subscribe_order_book": params},
                    {"subscribe_trades": params},
                    {"subscribe_ticker": params},
                ]
            return subs

        async for message in self.ws.stream(subscriptions):
            if isinstance(message, Connected):
                booked.clear()
                continue
            try:
                events = await self._market_events(message, booked)
            except ParseError as err:
                log.warning("market data: unreadable message skipped: %s", err)
                continue
            for event in events:
                yield event

    async def _market_events(self, message: object, booked: set[int]) -> list[MarketEvent]:
        kind = ws_message_type(message)
        now = time.time_ns()
        if kind == "order_book":
            pid = Fields(message, VENUE, "ws_order_book").obj("payload").integer("trading_pair_id")
            snapshot = pid not in booked
            book = await self._parsed(
                lambda m: parse_ws_order_book(message, m, now, snapshot=snapshot)
            )
            booked.add(pid)
            return [book]
        if kind == "trades":
            return list(await self._parsed(lambda m: parse_ws_trades(message, m)))
        if kind == "ticker":
            return list(await self._parsed(lambda m: parse_ws_ticker(message, m, now)))
        return []

    # ----- account ----------------------------------------------------------------------------

    async def balances(self) -> dict[str, Decimal]:
        markets = await self._ready()
        rows = await self.rest.private("GET", "/portfolios")
        totals: dict[str, Decimal] = {}
        for p in list_of(rows, VENUE, "portfolio"):
            if self.portfolio_id is not None and p.integer("id") != self.portfolio_id:
                continue
            for a in p.each("assets"):
                asset_id = a.integer("trading_asset_id")
                iso = markets.asset_by_id.get(asset_id)
                if iso is None:
                    iso = (await self._load_markets()).asset_by_id.get(asset_id, str(asset_id))
                total = (
                    a.non_negative("available_amount")
                    + (a.opt_non_negative("reserved_amount") or ZERO)
                    + (a.opt_non_negative("locked_amount") or ZERO)
                )
                totals[iso] = totals.get(iso, ZERO) + total
        return totals

    async def positions(self) -> dict[str, Decimal]:
        return {}  # spot: holdings are balances


def _with(record: T, **changes: Any) -> T:
    """A copy with fields changed, for the model's named tuples and dataclasses alike."""
    if hasattr(record, "_replace"):
        return record._replace(**changes)  # type: ignore[no-any-return]
    return dataclasses.replace(record, **changes)  # type: ignore[type-var]


def _count(page: object) -> int | None:
    if isinstance(page, dict):
        value = page.get("count")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None
