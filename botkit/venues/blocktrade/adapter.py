"""BlockTrade live adapter: the ``VenueAdapter`` contract over BlockTrade's REST and websockets.

Capabilities (declared in ``SPEC``): spot (``positions()`` is empty), LIMIT and
MARKET orders with GTC/IOC/FOK, our client id sent as ``customer_order_id``
(``POST /customer_orders``) and looked up by it (``GET /customer_orders/{id}``),
no native edit (the router cancels and replaces), fills from the
``user_trades`` websocket channel with REST ``/user_trades`` as catch-up, market
data from the order_book, trades and ticker channels. Built on the venue kit
(``botkit.venues.kit``): lifecycle, options, id memory, REST core and signed calls.

Choices where the document is unclear or silent (each one an option of
``BlockTradeOptions``):

* URLs: ``base_url`` may be the bare origin; ``/api/v1`` (the example code's
  prefix) is appended. The websocket is ``/ws/v1/notification`` on ``ws_url``'s
  host, or on the REST host when ``ws_url`` is None.
* Nonces: a ``NonceSource`` (ms, strictly increasing; the journal's in live
  mode); private calls go one at a time so nonces arrive in order, and a refused
  nonce is re-signed once past the venue's (see ``rest``). The document names
  no rate limit: ``min_request_interval_s`` is 0 unless configured.
* Prices and amounts are sent as strings (typed "number as string"; the
  example's ``"price": 1000`` is read as sloppiness, and the parser accepts both).
* ``portfolio_id``: the option, else the first portfolio ``GET /portfolios``
  lists.
* Client ids: each attempt of an order is sent as its own ``customer_order_id``,
  ``Order.venue_client_id`` (the strategy's client id, then ``<id>-r<n>`` for
  the n-th cancel-and-replace: the venue refuses an id it has seen). Orders and
  fills report the venue's ``customer_order_id`` verbatim; the router maps an
  attempt's id to its order, and the journal keeps each order's attempt, so
  ``find_order`` after a restart asks for exactly the attempt it needs. A place
  refused as a duplicate (409) is an earlier send of the same attempt that got
  through: the order with that id is the answer.
* Without customer order ids (``use_customer_order_id=False``: ``POST /orders``,
  which assigns its own), ``find_order`` falls back to the venue id from the
  place reply, then to matching recent orders by pair, side, price, amount and
  time (at or after the order's creation less ``match_slack_ms``), skipping
  venue ids already claimed by another attempt.
* Post-only: BlockTrade has no post-only flag. ``post_only="reject"`` (default)
  refuses such orders locally (``InvalidRequest``, nothing sent) rather than
  risk taking liquidity; ``post_only="send"`` sends them as plain GTC limits at
  the price the order carries when ``place`` is called (the gateway checks it
  against the freshest book just before), relying on the risk module's
  crossing check. ``reduce_only`` has no meaning on a spot venue and is not
  sent (the risk module clips it to the position).
* Place replies: ``{"id", "customer_order_id"}`` only. A GTC limit is reported
  OPEN from it; IOC, FOK and market orders are read back (``GET /orders/{id}``)
  since they may already be closed; a read-back that keeps failing makes the
  place ambiguous, so the order is looked up rather than left open for good.
  A 400 reply to a place is an ``OrderRejected`` carrying the venue's message
  (the Error schema has no codes); a reply that cannot be read is ambiguous
  (``UnreadableReply``).
* Fees: ``GET /fees`` at start (``load_fees``), read as ``parsing`` explains;
  when the venue does not serve it (or refuses it) the instruments' fees stay
  0 and the fills, which carry the fee charged, are the record.
* ``user_trades(since_ns)``: ``start_time`` is "trades after this time" in ms
  while the venue keeps ns internally; to be inclusive under either reading the
  request starts ``since_overlap_ms`` (1) before ``since_ns``'s millisecond,
  pages by ``limit``/``offset`` (1000) until ``count`` is reached, and keeps
  duplicates at the boundary for the caller to drop. A row that does not parse
  is skipped, logged (venue, endpoint, field) and counted in ``skipped``; the
  good rows of the page are returned.
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
* Market data: a trade, ticker or book level with a non-positive price or size
  is dropped and counted (``skipped``); a message that cannot be read at all is
  skipped and counted too — never a stuck book: the next message of a book
  after a reconnect is a full snapshot again.
* Order status: NEW/PARTIALLY_FILLED/FILLED/CANCELLED(CANCELED)/REJECTED/EXPIRED;
  anything else is UNKNOWN and left to reconciliation (``parsing``).
* ``balances()`` is the total per asset (available + reserved + locked) of the
  trading portfolio; ``balance_sheet()`` gives ``available_amount`` apart, as
  the free part.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any, TypeVar

from botkit.model import ZERO, Fill, Instrument, Order, OrderType, TimeInForce
from botkit.venues.blocktrade.options import BlockTradeOptions
from botkit.venues.blocktrade.parsing import (
    VENUE,
    Markets,
    page_length,
    parse_fees,
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
from botkit.venues.blocktrade.rest import BlockTradeRest, path
from botkit.venues.blocktrade.websocket import BlockTradeWebsocket, Connected, ws_url_for
from botkit.venues.kit.adapter import AdapterBase, Connection, MarketEvent
from botkit.venues.kit.errors import (
    AMBIGUOUS,
    Conflict,
    InvalidRequest,
    NotFound,
    OrderRejected,
    ParseError,
    UnreadableReply,
    VenueError,
)
from botkit.venues.kit.parsing import Fields, Skip, list_of
from botkit.venues.kit.types import (
    ORDER_TYPE_NAMES,
    SIDE_NAMES,
    TIF_NAMES,
    AssetBalance,
    VenueOrder,
    ack,
)

__all__ = ["BlockTradeAdapter"]

log = logging.getLogger("botkit.venues.blocktrade")

T = TypeVar("T")

_MS = 1_000_000
_MAX_PAGES = 1000  # a bound on paging, never reached in practice
_USER_TRADE_TYPES = frozenset({"user_trades", "user_trade"})
_WS_USER_TRADES = "WS user_trades"


def _unknown_pair(err: ParseError) -> bool:
    return "trading_pair" in err.field or "unknown trading pair" in err.detail


class BlockTradeAdapter(AdapterBase):
    """``VenueAdapter`` for BlockTrade (see the module notes for every choice)."""

    name = VENUE
    Options = BlockTradeOptions
    options: BlockTradeOptions

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        opts = self.options
        creds = connection.credentials
        self.rest = BlockTradeRest(
            connection.base_url,
            creds.get("api_key"),
            creds.get("api_secret"),
            nonce=connection.nonce,
            timeout_s=opts.request_timeout_s,
            api_prefix=opts.api_prefix,
            spacing_s=opts.spacing_s,
        )
        self.http = self.rest.http
        self.ws = BlockTradeWebsocket(
            ws_url_for(connection.base_url, connection.ws_url, opts.ws_path),
            self.rest,
            heartbeat_s=opts.heartbeat_s,
            backoff_s=opts.reconnect_backoff_s,
            connect_timeout_s=opts.request_timeout_s,
        )
        self.has_user_trade_stream = self.has_user_trade_stream and opts.user_trade_stream
        self.portfolio_id = opts.portfolio_id
        self._fees: dict[str, Decimal] = {}
        self._markets: Markets | None = None
        self._ws_token: str | None = None

    # ----- lifecycle --------------------------------------------------------------------------

    async def _connect(self) -> None:
        if self.rest.has_credentials and self.options.load_fees:
            self._fees = await self._fee_table()
        await self._load_markets()
        if self.portfolio_id is None and self.rest.has_credentials:
            self.portfolio_id = await self._first_portfolio()

    async def _markets_now(self) -> Markets:
        await self.ready()
        assert self._markets is not None
        return self._markets

    async def _fee_table(self) -> dict[str, Decimal]:
        try:
            reply = await self.rest.private("GET", "/fees")
            return parse_fees(reply, percent=self.options.fees_in_percent)
        except (VenueError, ParseError) as err:
            log.warning("blocktrade fee table unavailable (%s): fees are left to the fills", err)
            return {}

    async def _load_markets(self) -> Markets:
        pairs = await self.rest.get("/trading_pairs")
        assets = await self.rest.get("/trading_assets")
        markets = self._read(
            "GET /trading_pairs",
            lambda: parse_markets(pairs, assets, self._fees, fee_asset=self.options.fee_asset),
        )
        if self.symbols:
            missing = [s for s in self.symbols if markets.instrument(s) is None]
            if missing:
                log.warning("symbols not listed at BlockTrade: %s", ", ".join(missing))
        self._markets = markets
        return markets

    @staticmethod
    def _read(endpoint: str, parse: Callable[[], T]) -> T:
        """Parse a reply of ``endpoint``; a shape we cannot read is an ``UnreadableReply``
        naming the venue, the endpoint and the field."""
        try:
            return parse()
        except ParseError as err:
            raise UnreadableReply.of(err, endpoint=endpoint) from err

    async def _parsed(self, endpoint: str, parse: Callable[[Markets, Skip], T]) -> T:
        """Parse with the current markets, rows that do not parse skipped and counted.

        A trading pair we do not know (listed since we loaded them) reloads the
        markets once, so its rows are read rather than skipped.
        """
        markets = await self._markets_now()
        for attempt in (1, 2):
            skipped: list[ParseError] = []
            try:
                result = parse(markets, skipped.append)
            except ParseError as err:
                if attempt == 1 and _unknown_pair(err):
                    markets = await self._load_markets()
                    continue
                raise UnreadableReply.of(err, endpoint=endpoint) from err
            if attempt == 1 and any(_unknown_pair(e) for e in skipped):
                markets = await self._load_markets()
                continue
            for err in skipped:
                self.skipped(err.at(endpoint))
            return result
        raise AssertionError("unreachable")

    async def _first_portfolio(self) -> int:
        rows = await self.rest.private("GET", "/portfolios")

        def first() -> int:
            portfolios = list_of(rows, VENUE, "portfolio")
            if not portfolios:
                raise ParseError(VENUE, "portfolio", "<root>", "no portfolio listed")
            return portfolios[0].integer("id")

        return self._read("GET /portfolios", first)

    # ----- reference data ---------------------------------------------------------------------

    async def instruments(self) -> dict[str, Instrument]:
        """Every listed pair, or only ``symbols`` when the connection names some."""
        markets = await self._markets_now()
        wanted = set(self.symbols) if self.symbols else None
        return {i.symbol: i for i in markets.instruments if wanted is None or i.symbol in wanted}

    async def _pair_id(self, symbol: str) -> int:
        markets = await self._markets_now()
        pid = markets.pair_by_symbol.get(symbol)
        if pid is None:
            pid = (await self._load_markets()).pair_by_symbol.get(symbol)
        if pid is None:
            raise NotFound(VENUE, f"unknown trading pair {symbol}")
        return pid

    def _view(self, vo: VenueOrder) -> VenueOrder:
        """The venue's order as reported: with customer order ids, its
        ``customer_order_id`` verbatim (remembered); without, the attempt id this
        adapter tied to the venue id, if any (the venue's own id is its UUID)."""
        if self.options.use_customer_order_id:
            if vo.client_id is not None:
                self.ids.remember(vo.client_id, vo.venue_order_id)
            return vo
        known = self.ids.client_id(vo.venue_order_id)
        return vo if known is None else dataclasses.replace(vo, client_id=known)

    # ----- orders -----------------------------------------------------------------------------

    async def place(self, order: Order) -> VenueOrder:
        await self.ready()
        if order.post_only and self.options.post_only == "reject":
            raise InvalidRequest(
                VENUE, "BlockTrade has no post-only orders (adapter option post_only='reject')"
            )
        pair_id = await self._pair_id(order.symbol)
        body: dict[str, Any] = {
            "portfolio_id": self.portfolio_id,
            "direction": SIDE_NAMES[order.side],
            "type": ORDER_TYPE_NAMES[order.type],
            "trading_pair_id": pair_id,
            "amount": order.size,
            "time_in_force": TIF_NAMES[order.tif],
        }
        if order.price is not None and order.type is not OrderType.MARKET:
            body["price"] = order.price
        if order.stop_price is not None:
            body["stop_price"] = order.stop_price
        cid = order.venue_client_id
        if self.options.use_customer_order_id:
            body = {"customer_order_id": cid, **body}
            route = "/customer_orders"
        else:
            route = "/orders"

        try:
            reply = await self.rest.private("POST", route, body=body)
        except Conflict:
            if self.options.use_customer_order_id:
                # Our attempt id exists: an earlier send of this very attempt got through.
                found = await self._order_by_customer_id(cid)
                if found is not None:
                    return found
            raise
        except InvalidRequest as err:
            if type(err) is not InvalidRequest:
                raise
            # A refused place is the venue rejecting the order, with its reason.
            raise OrderRejected(
                VENUE, err.message, status=err.status, code=err.code, body=err.body
            ) from err
        venue_id, echoed = self._read(f"POST {route}", lambda: parse_order_ack(reply))
        if not self.ids.remember(cid, venue_id):
            log.warning("venue order %s of %s is claimed by another client id", venue_id, cid)
        reported = echoed if (self.options.use_customer_order_id and echoed) else cid
        vo = ack(order, VENUE, venue_id, raw_status="NEW", client_id=reported)
        if order.type is OrderType.MARKET or order.tif is not TimeInForce.GTC:
            # Done at once (filled, or the rest cancelled): only the venue knows which.
            return await self._read_back(venue_id, vo)
        return vo

    async def _read_back(self, venue_id: str, vo: VenueOrder) -> VenueOrder:
        """The state of an order that does not rest (market, IOC, FOK) just after its place.

        Reporting it OPEN would leave it open for good if the rest was cancelled, so a
        read-back that keeps failing is reported as ambiguous: the caller looks the
        order up by client id later.
        """
        err: BaseException | None = None
        for attempt in range(self.options.lookup_attempts):
            try:
                return await self._order_by_venue_id(venue_id) or vo
            except (VenueError, *AMBIGUOUS) as e:
                if isinstance(e, VenueError) and not (e.ambiguous or e.retryable):
                    raise VenueError(VENUE, f"order {venue_id} placed; state unknown: {e}") from e
                err = e
                await asyncio.sleep(0.05 * 2**attempt)
        raise VenueError(VENUE, f"order {venue_id} placed; state unknown: {err}") from err

    async def cancel(self, order: Order) -> None:
        await self.ready()
        if order.venue_order_id is not None:
            await self.rest.private("POST", path("orders", order.venue_order_id, "cancel"))
            return
        cid = order.venue_client_id
        if self.options.use_customer_order_id:
            # Not acknowledged yet: the attempt is known to the venue by its own id.
            await self.rest.private("POST", path("customer_orders", cid, "cancel"))
            return
        venue_id = self.ids.venue_id(cid)
        if venue_id is None:
            vo = await self.find_order(order)
            if vo is None:
                raise NotFound(VENUE, f"order {cid} not found")
            venue_id = vo.venue_order_id
        await self.rest.private("POST", path("orders", venue_id, "cancel"))

    async def edit(self, order: Order, price: Decimal, size: Decimal) -> VenueOrder:
        raise InvalidRequest(VENUE, "BlockTrade has no order edit; the router cancels and replaces")

    async def cancel_all(self, symbol: str | None = None) -> None:
        await self.ready()
        if symbol is None:
            await self.rest.private("POST", "/orders/cancel_active")
            return
        pair_id = await self._pair_id(symbol)
        await self.rest.private("POST", "/orders/cancel", body={"trading_pair_id": pair_id})

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        params: dict[str, object] = {"status": self.options.open_statuses}
        if symbol is not None:
            params["trading_pair_id"] = await self._pair_id(symbol)
        orders = await self._list_orders(params)
        return [vo for vo in orders if not vo.status.is_closed]

    async def _list_orders(
        self, params: dict[str, object], max_pages: int = _MAX_PAGES
    ) -> list[VenueOrder]:
        await self.ready()
        seen: dict[str, VenueOrder] = {}
        offset = 0
        limit = self.options.page_size
        for _ in range(max_pages):
            page = await self.rest.private(
                "GET", "/orders", params={**params, "limit": limit, "offset": offset}
            )
            rows = await self._parsed("GET /orders", lambda m, _skip, p=page: parse_orders(p, m))
            for vo in rows:
                # Newest first: a page boundary shifts as orders arrive; ids dedupe it.
                seen.setdefault(vo.venue_order_id, self._view(vo))
            count = _count(page)
            offset += len(rows)
            if len(rows) < limit or (count is not None and offset >= count):
                break
        return list(seen.values())

    async def _order_by_venue_id(self, venue_id: str) -> VenueOrder | None:
        route = path("orders", venue_id)
        try:
            payload = await self.rest.private("GET", route)
        except NotFound:
            return None
        return self._view(await self._parsed(f"GET {route}", lambda m, _s: parse_order(payload, m)))

    async def _order_by_customer_id(self, customer_id: str) -> VenueOrder | None:
        route = path("customer_orders", customer_id)
        try:
            payload = await self.rest.private("GET", route)
        except NotFound:
            return None
        return self._view(await self._parsed(f"GET {route}", lambda m, _s: parse_order(payload, m)))

    async def find_order(self, order: Order) -> VenueOrder | None:
        await self.ready()
        cid = order.venue_client_id
        if self.options.use_customer_order_id:
            return await self._order_by_customer_id(cid)
        venue_id = self.ids.venue_id(cid) or order.venue_order_id
        if venue_id is not None:
            vo = await self._order_by_venue_id(venue_id)
            if vo is not None:
                self.ids.remember(cid, vo.venue_order_id)
                return dataclasses.replace(vo, client_id=cid)
        vo = await self._match_recent(order)
        if vo is not None:
            self.ids.remember(cid, vo.venue_order_id)
            return dataclasses.replace(vo, client_id=cid)
        return None

    async def _match_recent(self, order: Order) -> VenueOrder | None:
        """Fallback without client ids: the earliest recent order that looks like ours."""
        params: dict[str, object] = {"trading_pair_id": await self._pair_id(order.symbol)}
        recent = await self._list_orders(params, max_pages=1)
        since = order.created_ns - self.options.match_slack_ms * _MS
        cid = order.venue_client_id
        candidates = [
            vo
            for vo in recent
            if not self.ids.claimed(vo.venue_order_id, by_other_than=cid)
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
        return max(0, since_ns // _MS - self.options.since_overlap_ms)

    async def user_trades(self, since_ns: int | None, symbol: str | None = None) -> list[Fill]:
        await self.ready()
        params: dict[str, object] = {}
        if since_ns is not None:
            params["start_time"] = self._start_ms(since_ns)
        if symbol is not None:
            params["trading_pair_ids"] = await self._pair_id(symbol)
        fee_asset = self.options.fee_asset
        limit = self.options.page_size
        fills: dict[str, Fill] = {}
        offset = 0
        for _ in range(_MAX_PAGES):
            page = await self.rest.private(
                "GET", "/user_trades", params={**params, "limit": limit, "offset": offset}
            )
            rows = await self._parsed(
                "GET /user_trades",
                lambda m, skip, p=page: parse_user_trades(
                    p, m, fee_asset=fee_asset, skip=skip, page=True
                ),
            )
            for f in rows:
                fills.setdefault(f.trade_id, f)
            # Paged by the rows the venue sent, skipped ones included.
            n = page_length(page)
            count = _count(page)
            offset += n
            if n < limit or (count is not None and offset >= count):
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
        venue_id = fill.venue_order_id
        if fill.client_id or venue_id is None:
            return fill
        cid = self.ids.client_id(venue_id)
        if cid is None and not self.ids.known(venue_id):
            cid = await self._client_id_of(venue_id, fill.trade_id)
        return fill._replace(client_id=cid) if cid else fill

    async def _client_id_of(self, venue_id: str, trade_id: str) -> str | None:
        for attempt in range(self.options.lookup_attempts):
            try:
                vo = await self._order_by_venue_id(venue_id)
            except (VenueError, *AMBIGUOUS) as err:
                definite = isinstance(err, VenueError) and not (err.ambiguous or err.retryable)
                log.info("order %s of fill %s: lookup failed (%s)", venue_id, trade_id, err)
                if definite or isinstance(err, UnreadableReply):
                    break
                await asyncio.sleep(0.1 * 2**attempt)
                continue
            cid = vo.client_id if vo is not None else None
            if cid is None:
                self.ids.mark_unowned(venue_id)  # known to be nobody's: never asked again
            return cid
        return None  # not remembered: the next fill of this order asks again

    def user_trade_stream(self, since_ns: int | None) -> AsyncIterator[Fill] | None:
        if not self.has_user_trade_stream:
            return None
        return self._user_trade_stream(since_ns)

    async def _user_trade_stream(self, since_ns: int | None) -> AsyncIterator[Fill]:
        await self.ready()
        last_ns = since_ns
        seen: dict[str, int] = {}
        if self.options.ws_auth == "token" and self._ws_token is None:
            user = await self.rest.private("GET", "/user")
            self._ws_token = self._read(
                "GET /user", lambda: Fields(user, VENUE, "user").text("websocket_auth_token")
            )
        fee_asset = self.options.fee_asset

        async def subscriptions() -> list[dict[str, Any]]:
            params: dict[str, Any] = {}
            if self.options.ws_auth == "token":
                params["auth_token"] = self._ws_token
            if last_ns is not None:
                params["start_time"] = self._start_ms(last_ns)
            return [{"subscribe_user_trades": params}]

        signed = self.options.ws_auth == "headers"
        async for message in self.ws.stream(subscriptions, signed=signed):
            if isinstance(message, Connected):
                continue
            try:
                if ws_message_type(message) not in _USER_TRADE_TYPES:
                    continue
                fills = await self._parsed(
                    _WS_USER_TRADES,
                    lambda m, skip, msg=message: parse_user_trades(
                        msg, m, fee_asset=fee_asset, skip=skip
                    ),
                )
            except ParseError as err:
                self.skipped(err.at(_WS_USER_TRADES))
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
                self.skipped(err.at("WS market data"))
                continue
            for event in events:
                yield event

    async def _market_events(self, message: object, booked: set[int]) -> list[MarketEvent]:
        kind = ws_message_type(message)
        endpoint = f"WS {kind}"
        now = time.time_ns()
        if kind == "order_book":
            pid = Fields(message, VENUE, "ws_order_book").obj("payload").integer("trading_pair_id")
            snapshot = pid not in booked
            book = await self._parsed(
                endpoint,
                lambda m, skip: parse_ws_order_book(message, m, now, snapshot=snapshot, skip=skip),
            )
            booked.add(pid)
            return [book]
        if kind == "trades":
            return list(
                await self._parsed(endpoint, lambda m, skip: parse_ws_trades(message, m, skip=skip))
            )
        if kind == "ticker":
            return list(
                await self._parsed(
                    endpoint, lambda m, skip: parse_ws_ticker(message, m, now, skip=skip)
                )
            )
        return []

    # ----- account ----------------------------------------------------------------------------

    async def balances(self) -> dict[str, Decimal]:
        return {asset: b.total for asset, b in (await self.balance_sheet()).items()}

    async def balance_sheet(self) -> dict[str, AssetBalance]:
        markets = await self._markets_now()
        rows = await self.rest.private("GET", "/portfolios")
        by_id = self._read("GET /portfolios", lambda: _asset_sheet(rows, self.portfolio_id))
        if any(asset_id not in markets.asset_by_id for asset_id in by_id):
            markets = await self._load_markets()  # an asset listed since we loaded them
        sheet: dict[str, AssetBalance] = {}
        for asset_id, (total, free) in by_id.items():
            iso = markets.asset_by_id.get(asset_id, str(asset_id))
            had = sheet.get(iso)
            if had is not None:  # two portfolios (the trading one unknown): add them up
                total, free = total + had.total, free + (had.free or ZERO)
            sheet[iso] = AssetBalance(total, free)
        return sheet

    async def positions(self) -> dict[str, Decimal]:
        return {}  # spot: holdings are balances


def _asset_sheet(payload: object, portfolio_id: int | None) -> dict[int, tuple[Decimal, Decimal]]:
    """``GET /portfolios`` -> (total, available) by trading asset id, over the trading
    portfolio (or all of them when it is not known). The total is available +
    reserved + locked; available is what new orders may use."""
    sheet: dict[int, tuple[Decimal, Decimal]] = {}
    for p in list_of(payload, VENUE, "portfolio"):
        if portfolio_id is not None and p.integer("id") != portfolio_id:
            continue
        for a in p.each("assets") if p.has("assets") else ():
            asset_id = a.integer("trading_asset_id")
            available = a.non_negative("available_amount")
            total = (
                available
                + (a.opt_non_negative("reserved_amount") or ZERO)
                + (a.opt_non_negative("locked_amount") or ZERO)
            )
            had_total, had_free = sheet.get(asset_id, (ZERO, ZERO))
            sheet[asset_id] = (had_total + total, had_free + available)
    return sheet


def _count(page: object) -> int | None:
    if isinstance(page, dict):
        value = page.get("count")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None
