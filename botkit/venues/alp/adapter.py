"""ALP.COM live adapter: the ``VenueAdapter`` contract over ALP's REST API.

Capabilities: spot (``positions()`` is empty); LIMIT, MARKET and stop orders
with GTC/IOC/FOK, placed with our client id as ``client_order_id``; cancel and
cancel-all; no native edit (the router cancels and replaces); fills by polling
the v3 account trades (no websocket is used: ``has_user_trade_stream`` is
False); market data by polling the public order book and trades; balances from
the v3 balances; instruments from the pair list with fee rates from the fee
info. ``api`` picks the document whose paths and payloads are sent
(``"seed"`` — document 001, the default — or ``"official"``; ``wire`` lists the
differences), and ``v3_auth`` the v3 authentication (default: the chosen
document's; ``auth`` and ``rest`` describe both). Replies are read in either
document's shapes (``parsing``).

Choices where the documents are unclear or silent (each one an option):

* Symbols: ours are ``BASE/QUOTE`` built from the pair's ``currency1``/
  ``currency2``; the venue's pair ``name`` (``BTC_USDT``) is used on the wire.
* Rate limit: 2 private calls a second per account, documented;
  ``min_request_interval_s`` (0.5) is that figure, for the gateway to pace its
  queue by. The REST client enforces it on every private call with the kit's
  margin: ``spacing_s`` = 0.5 × (1 + ``rate_margin``) = 0.55 s (see ``rest`` for
  why an interval and why the margin).
* ``account_id`` (seed place body): the option, else the first account the
  account list shows without a parent. The official place body has none.
* Client ids: every placement of an order is sent with ``Order.venue_client_id``
  (``<client id>``, then ``<client id>-r<n>`` for the n-th cancel-and-replace),
  and reported back verbatim — the venue's echo when it sends one, else what was
  sent — in orders and fills; the router maps attempt ids to orders.
* Post-only: the official place body has ``post_only`` ("only placed as maker")
  and with ``api="official"`` a post-only LIMIT order is sent with it. The seed
  has no such flag: ``post_only="reject"`` (default) refuses such orders locally
  (``InvalidRequest``, nothing sent); ``post_only="send"`` sends them as plain
  GTC limits, relying on the risk module's crossing check. ``reduce_only``
  means nothing on spot and is not sent.
* Fills attributed exactly. The official account trade carries ``order_id``:
  a trade is its order's, read from the record. The seed's carries no id of any
  kind, so the adapter makes the ambiguity impossible instead: with
  ``twin_orders="refuse"`` (the default when the document's trades carry no
  order id) a place is refused (``InvalidRequest``, code ``twin_order``, nothing
  sent) while another order of this account is live on the same pair, side,
  limit price and stop price — live meaning not known closed, so including an
  unanswered place. Amount is not part of the key: two orders of different
  sizes at one price can be left with the same unfilled amount after partial
  fills, and then no field of a maker trade tells them apart. A seed trade is
  then attributed from its fields: same pair, side and order type; a maker
  trade (``is_maker``) at its order's limit price, a taker trade at a price the
  order allows; not before the order nor after it closed; the order's unfilled
  amount after the trade (``amount_unfilled``) consistent with the trades
  already attributed to it. If more than one order still fits (an order at a
  price reused right after the previous one there closed; two crossing orders
  sent close together), the venue's own times decide — read from the order list
  once per poll when not known: a maker trade belongs to the order that was in
  the book at its time (one per price, by the rule above), a taker trade to the
  order that arrived last before it (an order takes liquidity only on arrival).
  While a place that could own a new trade awaits its answer, trades from that
  one on are held back (the caller's inclusive cursor fetches them again). A
  trade that matches nothing is returned without a client id (the router
  counts an orphan). Totals and positions are exact whatever the attribution.
* Finding orders: the seed's order list has no client-id filter and its example
  shows no ``client_order_id``. ``find_order`` lists the orders created since
  the order (less ``match_slack_ms``) and takes, in this order: the venue id (from
  the place reply or an earlier match), a ``client_order_id`` the venue echoes,
  then the fallback: same pair, side, type, price and amount, created within
  ``find_window_s`` after we sent it, not claimed by another client id, and —
  as requests leave in order and venue ids count up — numbered between the
  orders we sent just before and just after it; the earliest such order. A place
  that timed out before it left this process is known to be absent without a
  call. The official order list returns the 100 most recent orders, unfiltered
  by time.
* ``user_trades(since_ns)``: the time filters have whole seconds, so the request
  starts at ``since_ns``'s second (inclusive under either reading) and the reply
  is trimmed to ``ts >= since_ns``; a span longer than the venue's 30-day window
  is read window by window. The official reply holds at most 100 trades: a full
  page is followed by the next one, bounded by time in the direction the page
  was sorted, up to ``trade_pages`` pages.
* Open orders: the order list with ``open_only=true`` covers the venue's
  default window (seed: 30 days back; official: the 100 most recent orders).
  An acknowledged order missing from it (and older than ``match_slack_ms``) is
  taken as closed, which frees its book slot for the twin rule.
* Cancel: a 202 is success; a 204 ("no orders to cancel", seed) or an official
  status other than CANCELLED for the order is reported as an ``OrderRejected``
  so the caller asks the venue what became of the order.
* A place is reported OPEN from its reply (the order id). IOC, FOK and market
  orders may already be closed by then; with ``read_back=True`` they are looked
  up at once (one more call), otherwise their fills and the gateway's
  reconciliation close them — at 2 calls a second the extra call is dear. A
  place or cancel whose 2xx reply cannot be read is ambiguous (a ``VenueError``),
  never a refusal: the order may well exist. A place that never left (the JWT
  could not be had) is known absent: an unreadable token is an ``AuthError``, a
  failed token request keeps its own error and ``find_order`` answers None
  without a call.
* Balances: the total per currency, ``balance + reserve`` (``balance`` read as
  the free part; ``balance_includes_reserve=True`` for the other reading).
* Fees: fee rates are fractions; a pair's own rule beats a generic one.
* Market data: the public order book every ``market_poll_s`` (``book_depth``
  levels a side) and the public trades newer than the last seen id; trades from
  before the stream started are not replayed. Levels and trades with a
  non-positive price or size are dropped, a payload of another shape is logged
  with its endpoint and field; both are counted in ``skipped`` (the kit's
  ``SkipCounter``), as is an account trade that does not parse — once, however
  often a poll meets it again.
* Start: ``connect()`` raises the typed error — ``AuthError`` for refused
  credentials, ``ParseError`` for an unreadable payload — with one message, and
  leaves no session open behind it.

Built on the venue kit (``botkit.venues.kit``): ``AdapterBase`` (lifecycle,
capabilities from ``SPEC``, options), ``RestClient``/``SignedCalls`` (``rest``),
``IdMemory`` (client id <-> venue order id, kept by ``memory``), ``ack``,
``SkipCounter`` and ``rows``. What stays ALP's own is the order record behind
the attribution of trades that name no order (``memory.Track``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator
from decimal import Decimal

from botkit.events import BookSnapshot, Trade
from botkit.model import ZERO, Fill, Instrument, Order, OrderType, Side, TimeInForce
from botkit.venues.alp.memory import Memory, Track
from botkit.venues.alp.options import AlpOptions
from botkit.venues.alp.parsing import (
    VENUE,
    AccountTrade,
    OrderRow,
    cancel_succeeded,
    parse_account_trade_records_v3,
    parse_accounts_v3,
    parse_balance_sheet_v3,
    parse_cancel_reply_v3,
    parse_exchanges,
    parse_feeinfo_v3,
    parse_order_ack_v3,
    parse_order_book,
    parse_order_rows_v3,
    parse_pairs,
)
from botkit.venues.alp.rest import AlpRest
from botkit.venues.alp.wire import (
    Document,
    SendTif,
    cancel_all_body,
    cancel_ids_body,
    iso_seconds,
    place_body,
    trade_window,
)
from botkit.venues.kit.adapter import AdapterBase, Connection, MarketEvent
from botkit.venues.kit.errors import (
    AMBIGUOUS,
    AuthError,
    InvalidRequest,
    NotFound,
    OrderRejected,
    ParseError,
    VenueError,
)
from botkit.venues.kit.nonce import NonceSource
from botkit.venues.kit.rest import KeyPair
from botkit.venues.kit.types import AssetBalance, VenueOrder, ack

__all__ = ["AlpAdapter", "AlpOptions"]

log = logging.getLogger("botkit.venues.alp")

_NS = 1_000_000_000
_MS = 1_000_000
Slot = tuple[str, Side, Decimal | None, Decimal | None]  # pair, side, limit price, stop price


def _note_closed(track: Track, vo: VenueOrder, done_ns: int | None = None) -> None:
    if vo.status.is_closed and track.closed_ns is None:
        track.closed_ns = done_ns or vo.ts_ns or time.time_ns()


class AlpAdapter(AdapterBase):
    """ALP.COM over REST (v3 orders, trades and balances; public data per the document)."""

    name = VENUE
    Options = AlpOptions
    options: AlpOptions

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        opts = self.options
        self._doc = doc = opts.document
        creds = connection.credentials
        self.rest = AlpRest(
            connection.base_url,
            KeyPair.of(creds.get("api_key"), creds.get("api_secret")),
            nonce=connection.nonce,
            timeout_s=opts.request_timeout_s,
            spacing_s=opts.spacing_s,
            sign_query_params=opts.sign_query_params,
            v3_auth=opts.v3_auth or doc.v3_auth,
            numbers=doc.numbers,
            jwt_renew_s=opts.jwt_renew_s,
        )
        self.http = self.rest.http
        self._send_tif: SendTif = opts.send_tif or doc.send_tif
        twins = opts.twin_orders or ("allow" if doc.trade_ids else "refuse")
        self._refuse_twins = twins == "refuse"
        self._instruments: dict[str, Instrument] = {}
        self._pair_of: dict[str, str] = {}  # our symbol -> the venue's pair
        self._symbol_of: dict[str, str] = {}  # the venue's pair -> our symbol
        self._account_id: str | None = None if opts.account_id is None else str(opts.account_id)
        self._memory = Memory(self.ids)
        # Book slots whose place is being sent (the twin rule), with the client id.
        self._placing: dict[Slot, str] = {}

    @property
    def nonce(self) -> NonceSource:
        """The nonce source (for the journal to persist ``nonce.last``)."""
        return self.rest.calls.nonce

    # ----- lifecycle --------------------------------------------------------------------

    async def _connect(self) -> None:
        doc = self._doc
        instruments = (await self.rest.public(doc.pairs)).read(parse_pairs)
        fees: dict[str, tuple[Decimal, Decimal]] = {}
        if self.rest.keys.present:
            if doc.accounts is not None and self._account_id is None:
                self._account_id = await self._find_account(doc.accounts)
            if self.options.load_fees:
                try:
                    reply = await self.rest.private("GET", doc.feeinfo)
                except (AuthError, ParseError):
                    raise  # refused credentials, or a reply we cannot read: no start
                except VenueError as err:
                    log.warning("alp fee info unavailable (%s): fees left at 0", err)
                else:
                    fees = reply.read(parse_feeinfo_v3, time.time_ns())
        self._set_instruments(instruments, fees)

    async def _find_account(self, path: str) -> str | None:
        try:
            reply = await self.rest.private("GET", path)
        except (AuthError, ParseError):
            raise
        except VenueError as err:
            log.warning("alp account list unavailable (%s): orders go without account_id", err)
            return None
        accounts = reply.read(parse_accounts_v3)
        top = [a for a, parent in accounts if parent is None]
        return (top or [a for a, _ in accounts] or [None])[0]

    def _set_instruments(
        self, instruments: list[Instrument], fees: dict[str, tuple[Decimal, Decimal]]
    ) -> None:
        wanted = set(self.symbols) if self.symbols is not None else None
        for inst in instruments:
            ours = f"{inst.base}/{inst.quote}"
            if wanted is not None and ours not in wanted and inst.symbol not in wanted:
                continue
            maker, taker = fees.get(inst.symbol) or fees.get("") or (ZERO, ZERO)
            self._instruments[ours] = dataclasses.replace(
                inst, symbol=ours, maker_fee=maker, taker_fee=taker
            )
            self._pair_of[ours] = inst.symbol
            self._symbol_of[inst.symbol] = ours

    async def close(self) -> None:
        # For good: a market poll still running must not open a session nobody closes.
        await self.http.close(final=True)
        await super().close()

    async def instruments(self) -> dict[str, Instrument]:
        await self.ready()
        return dict(self._instruments)

    # ----- symbols ----------------------------------------------------------------------

    def _pair(self, symbol: str) -> str:
        pair = self._pair_of.get(symbol)
        if pair is None:
            if symbol in self._symbol_of:
                return symbol
            raise NotFound(VENUE, f"unknown symbol {symbol!r}")
        return pair

    def _ours(self, pair: str) -> str:
        return self._symbol_of.get(pair) or pair.replace("_", "/", 1)

    # ----- orders -------------------------------------------------------------------------

    def _twin_of(self, slot: Slot) -> str | None:
        """Another order of ours on this pair, side, limit and stop price not known closed."""
        placing = self._placing.get(slot)
        if placing is not None:
            return placing
        for track in self._memory.tracks():
            if track.live and track.same_book_slot(*slot):
                return track.coid or track.vid or "(unnamed)"
        return None

    async def place(self, order: Order) -> VenueOrder:
        await self.ready()
        doc = self._doc
        pair = self._pair(order.symbol)
        if order.post_only and not doc.post_only and self.options.post_only == "reject":
            raise InvalidRequest(
                VENUE,
                "the seed's ALP v3 has no post-only orders (post_only='send' sends a plain "
                "limit; api='official' sends the official post_only flag)",
                code="post_only_not_allowed",
            )
        amount = order.remaining
        if amount <= 0:
            raise InvalidRequest(VENUE, f"nothing left to place for {order.client_id}")
        coid = order.venue_client_id
        try:
            body = place_body(
                doc, order, pair, amount, account_id=self._account_id, send_tif=self._send_tif
            )
        except ValueError as err:
            raise InvalidRequest(VENUE, str(err), code="unsupported_order") from None
        price = order.price if order.type.needs_price else None
        stop = order.stop_price if order.type.is_stop else None
        slot = (pair, order.side, price, stop)
        if self._refuse_twins:
            twin = self._twin_of(slot)
            if twin is not None:
                raise InvalidRequest(
                    VENUE,
                    f"order {twin} is still live on {pair} {order.side.value} at {price}: "
                    "ALP's trade records name no order, so the fills of two such orders could "
                    "not be told apart; place it once that order is closed, or at another price",
                    code="twin_order",
                )
            self._placing[slot] = coid  # taken now: a second place may come while this waits
        try:
            return await self._place(order, doc, pair, coid, body, price, stop, amount)
        finally:
            if self._placing.get(slot) == coid:
                del self._placing[slot]

    async def _place(
        self,
        order: Order,
        doc: Document,
        pair: str,
        coid: str,
        body: dict[str, object],
        price: Decimal | None,
        stop: Decimal | None,
        amount: Decimal,
    ) -> VenueOrder:
        sent: list[Track] = []

        def remember() -> None:
            # Created when the request leaves, not when it queued: tracks are then in
            # the order the venue received them, which is the order it matched them in.
            if not sent:
                sent.append(
                    self._memory.add(
                        Track(
                            None,
                            coid,
                            pair,
                            order.side,
                            order.type,
                            price,
                            amount,
                            time.time_ns(),
                            tif=order.tif,
                            stop_price=stop,
                            inflight=True,
                        )
                    )
                )

        try:
            reply = await self.rest.private("POST", doc.place, body=body, on_send=remember)
            vid = reply.read(parse_order_ack_v3)
        except ParseError as err:
            if not sent:
                # Not sent at all (the token reply could not be read): no order, no auth.
                self._memory.not_sent(coid)
                raise AuthError(VENUE, f"the place was not sent: {err}") from err
            sent[0].inflight = False
            # A 2xx we cannot read: the order may well exist, so this is no refusal.
            raise VenueError(VENUE, f"unreadable reply to the place: {err}") from err
        except VenueError as err:
            if not sent:
                self._memory.not_sent(coid)  # a lookup then knows it is absent without a call
            else:
                sent[0].inflight = False
                if not err.ambiguous:
                    self._memory.forget(sent[0])  # refused: nothing there to attract fills
            if type(err) is InvalidRequest:
                # A 400 to a place is the venue refusing this order, and saying why.
                raise OrderRejected(
                    VENUE, err.message, status=err.status, code=err.code, body=err.body
                ) from err
            raise
        except BaseException:
            if sent:
                sent[0].inflight = False
            else:
                # Cancelled (a caller's timeout) before it left: certainly not at the venue.
                self._memory.not_sent(coid)
            raise
        track = sent[0]
        track.inflight = False
        self._memory.bind(track, vid)
        immediate = order.type is OrderType.MARKET or order.tif is not TimeInForce.GTC
        if immediate:
            # It took what it could on arrival and is gone from the book: no later trades.
            track.closed_ns = time.time_ns()
            if self.options.read_back:
                found = await self._read_back(order, track)
                if found is not None:
                    return found
        return ack(order, VENUE, vid, raw_status=str(reply.status), client_id=coid, size=amount)

    async def _read_back(self, order: Order, track: Track) -> VenueOrder | None:
        try:
            return await self.find_order(order, _track=track)
        except (VenueError, ParseError, *AMBIGUOUS) as err:
            log.info("alp: could not read back order %s (%s)", track.vid, err)
            return None

    async def cancel(self, order: Order) -> None:
        await self.ready()
        vid = order.venue_order_id or self.ids.venue_id(order.venue_client_id)
        if vid is None:
            found = await self.find_order(order)
            if found is None:
                raise NotFound(VENUE, f"no order {order.venue_client_id} at the venue")
            vid = found.venue_order_id
        doc = self._doc
        try:
            reply = await self.rest.private("DELETE", doc.cancel, body=cancel_ids_body([vid]))
            statuses = reply.read(parse_cancel_reply_v3)
        except ParseError as err:
            raise VenueError(VENUE, f"unreadable reply during the cancel: {err}") from err
        track = self._memory.by_vid(vid)
        status = statuses.get(vid)
        if reply.status == 204 or (statuses and (status is None or not cancel_succeeded(status))):
            if track is not None and track.closed_ns is None and (reply.status == 204 or status):
                track.closed_ns = time.time_ns()  # filled or cancelled already
            raise OrderRejected(
                VENUE,
                f"order {vid} was not cancelled: "
                + (
                    status or ("no orders to cancel" if reply.status == 204 else "not in the reply")
                ),
                status=reply.status,
                code="order_not_open",
            )
        if track is not None and track.closed_ns is None:
            track.closed_ns = time.time_ns()

    async def edit(self, order: Order, price: Decimal, size: Decimal) -> VenueOrder:
        raise InvalidRequest(VENUE, "ALP has no order edit; the router cancels and replaces")

    async def cancel_all(self, symbol: str | None = None) -> None:
        await self.ready()
        pair = self._pair(symbol) if symbol is not None else None
        # Orders acknowledged before the request went out are closed once it is answered.
        before = [
            t
            for t in self._memory.tracks()
            if t.vid is not None and t.live and (pair is None or t.pair == pair)
        ]
        doc = self._doc
        try:
            reply = await self.rest.private("DELETE", doc.cancel, body=cancel_all_body(doc, pair))
            reply.read(parse_cancel_reply_v3)
        except ParseError as err:
            raise VenueError(VENUE, f"unreadable reply to the cancel-all: {err}") from err
        now = time.time_ns()
        for t in before:
            t.closed_ns = now

    async def _list_orders(self, params: dict[str, object]) -> list[OrderRow]:
        """The venue's order list (filters the document does not take are applied here)."""
        doc = self._doc
        sent = dict(params)
        since: int | None = sent.pop("_since_ns", None)  # type: ignore[assignment]
        if since is not None and doc.order_times:
            sent["start_time"] = iso_seconds(since)
        reply = await self.rest.private("GET", doc.orders, params=sent)
        rows = reply.read(parse_order_rows_v3)
        pair = params.get("pair")
        open_only = params.get("open_only")
        return [
            row
            for row in rows
            if (pair is None or row.order.symbol == pair)
            and not (open_only and row.order.status.is_closed)
        ]

    @staticmethod
    def _created(row: OrderRow) -> int:
        return row.created_ns if row.created_ns is not None else row.order.ts_ns

    def _absorb(self, row: OrderRow) -> VenueOrder:
        """Learn a listed order and report it in our terms (symbol, client id)."""
        vo = row.order
        track = self._memory.by_vid(vo.venue_order_id) or self._claim_pending(row)
        if track is None:
            track = self._record(row, vo.client_id)
        elif track.coid is None:
            self._memory.name(track, vo.client_id)
        return self._seen(track, row)

    def _record(self, row: OrderRow, coid: str | None) -> Track:
        """A record of a listed order this adapter did not know (sent before a restart)."""
        vo = row.order
        return self._memory.add(
            Track(
                vo.venue_order_id,
                coid,
                vo.symbol,
                vo.side,
                vo.type,
                vo.price,
                vo.size,
                self._created(row),
                tif=vo.tif,
                stop_price=vo.stop_price,
            )
        )

    def _seen(self, track: Track, row: OrderRow) -> VenueOrder:
        """What a listing tells of a known order (its times, whether it closed); the
        order in our terms (our symbol, the client id it was sent with)."""
        self._learn_times(track, row)
        _note_closed(track, row.order, row.done_ns)
        return dataclasses.replace(
            row.order, symbol=self._ours(row.order.symbol), client_id=track.coid
        )

    @staticmethod
    def _learn_times(track: Track, row: OrderRow) -> None:
        if row.created_ns is not None:
            track.venue_created_ns = row.created_ns
        if row.done_ns is not None:
            track.venue_done_ns = row.done_ns

    def _claim_pending(self, row: OrderRow) -> Track | None:
        """A listed order that is one we sent but never heard back about."""
        vo = row.order
        for track in self._memory.tracks():
            if track.vid is None and vo.client_id and vo.client_id == track.coid:
                self._memory.bind(track, vo.venue_order_id)
                return track
        if vo.client_id:
            return None
        for track in self._memory.tracks():
            if track.vid is None and not track.inflight and self._fits(track, row):
                self._memory.bind(track, vo.venue_order_id)
                return track
        return None

    def _fits(self, track: Track, row: OrderRow) -> bool:
        """Could this venue order be the one ``track`` sent (no client id to tell)?

        Same fields, created when it was sent, and — since requests leave in order
        and venue ids count up — its id between those of the orders we sent just
        before and just after it. While an identical order sent after it is still
        waiting for its answer, the two cannot be told apart yet: no.
        """
        vo = row.order
        created_ns = self._created(row)
        slack = self.options.match_slack_ms * _MS
        window = int(self.options.find_window_s * _NS)
        if not (
            self._same_order(track, vo)
            and track.created_ns - slack <= created_ns <= track.created_ns + window
        ):
            return False
        if not track.key or not vo.venue_order_id.isdigit():
            return True
        vid = int(vo.venue_order_id)
        for other in self._memory.tracks():
            if other is track:
                continue
            later = other.key > track.key
            if other.vid is None:
                if later and other.inflight and self._same_order(other, vo):
                    return False
                continue
            if other.vid.isdigit() and (int(other.vid) < vid) is later:
                return False  # sent after it but numbered before it, or the reverse
        return True

    @staticmethod
    def _same_order(track: Track, vo: VenueOrder) -> bool:
        return (
            track.pair == vo.symbol
            and track.side is vo.side
            and (vo.type is None or track.type is vo.type)
            and track.price == vo.price
            and track.size == vo.size
        )

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        await self.ready()
        params: dict[str, object] = {"open_only": True}
        if symbol is not None:
            params["pair"] = self._pair(symbol)
        asked_ns = time.time_ns()
        listed = await self._list_orders(params)
        out = [self._absorb(row) for row in listed if not row.order.status.is_closed]
        # An acknowledged order the venue no longer lists as open has closed (cancelled by
        # the venue, or a cancel-all that crossed a place): free its book slot. Orders
        # sent within the clock slack may not be listed yet and are left alone.
        still_open = {vo.venue_order_id for vo in out}
        slack = self.options.match_slack_ms * _MS
        for track in self._memory.tracks():
            if (
                track.live
                and track.vid is not None
                and track.vid not in still_open
                and track.created_ns < asked_ns - slack
                and ("pair" not in params or track.pair == params["pair"])
            ):
                track.closed_ns = asked_ns
        return out

    async def find_order(self, order: Order, *, _track: Track | None = None) -> VenueOrder | None:
        await self.ready()
        coid = order.venue_client_id
        mine = self._memory.for_coid(coid)
        if not mine and self._memory.never_sent(coid):
            return None  # its place never left this process
        pending = [t for t in mine if t.vid is None]
        slack = self.options.match_slack_ms * _MS
        starts = [t.created_ns for t in mine] + ([order.created_ns] if order.created_ns else [])
        params: dict[str, object] = {"pair": self._pair(order.symbol)}
        if starts:
            params["_since_ns"] = min(starts) - slack
        listed = await self._list_orders(params)

        if pending:
            # A place whose reply never came: look for exactly what was sent.
            for row in sorted(listed, key=lambda r: -self._created(r)):
                if row.order.client_id == coid:
                    track = next(t for t in pending if t.coid == coid)
                    self._memory.bind(track, row.order.venue_order_id)
                    return self._report(row, coid)
            for track in reversed(pending):
                hit = self._match_fields(track, listed, coid)
                if hit is not None:
                    self._memory.bind(track, hit.order.venue_order_id)
                    return self._report(hit, coid)
            for track in pending:
                # Proved absent: it must not attract the fills of a later, identical order.
                self._memory.forget(track)
            return None

        vid = order.venue_order_id or (_track.vid if _track is not None else None)
        if vid is None:
            vid = self.ids.venue_id(coid)
        if vid is not None:
            for row in listed:
                if row.order.venue_order_id == vid:
                    return self._report(row, coid)
            return None
        # Nothing remembered (a restart): the venue's echo of our id, else the fields.
        echoed = [row for row in listed if row.order.client_id == coid]
        if echoed:
            return self._report(max(echoed, key=self._created), coid)
        probe = Track(
            None,
            coid,
            self._pair(order.symbol),
            order.side,
            order.type,
            order.price if order.type.needs_price else None,
            order.remaining,
            order.created_ns or time.time_ns(),
        )
        hit = self._match_fields(probe, listed, coid)
        if hit is None and order.filled:
            probe.size = order.size
            hit = self._match_fields(probe, listed, coid)
        return self._report(hit, coid) if hit is not None else None

    def _match_fields(self, track: Track, listed: list[OrderRow], coid: str) -> OrderRow | None:
        """The earliest listed order that fits the track and is not another client id's."""
        for row in sorted(listed, key=self._created):
            if self.ids.claimed(row.order.venue_order_id, by_other_than=coid):
                continue
            if row.order.client_id and row.order.client_id != coid:
                continue
            if self._fits(track, row):
                return row
        return None

    def _report(self, row: OrderRow, coid: str) -> VenueOrder:
        vo = row.order
        track = self._memory.by_vid(vo.venue_order_id) or self._record(row, coid)
        self._memory.name(track, vo.client_id or coid)
        return self._seen(track, row)

    # ----- fills -------------------------------------------------------------------------

    async def user_trades(self, since_ns: int | None, symbol: str | None = None) -> list[Fill]:
        await self.ready()
        records = await self._read_trades(since_ns, symbol)
        ordered = sorted(
            records.values(), key=lambda r: (r.fill.ts_ns, -(r.unfilled or ZERO), r.fill.trade_id)
        )
        fresh = [r for r in ordered if not self._memory.settled(r.fill.trade_id)]
        held = self._hold_from(fresh)
        if held is not None:
            # A place that may own these trades is still waiting for its answer: hand out
            # only what came before them; the caller's inclusive cursor brings the rest
            # back on a later call, when the answer has told us whose they are.
            ordered = [r for r in ordered if r.fill.ts_ns < held]
            fresh = [r for r in fresh if r.fill.ts_ns < held]
        learned = False
        pending = [t for t in self._memory.tracks() if t.vid is None]
        if any(
            r.fill.venue_order_id is None and t.pair == r.fill.symbol and t.side is r.fill.side
            for r in fresh
            for t in pending
        ):
            # An order whose place went unanswered could own these: find out which
            # orders the venue really has before attributing.
            learned = await self._learn()
        fills = []
        for r in ordered:
            track, learned = await self._owner(r, learned)
            if since_ns is not None and r.fill.ts_ns < since_ns:
                continue
            f = r.fill
            fills.append(
                f._replace(
                    client_id=(track.coid if track is not None else None) or f.client_id,
                    symbol=self._ours(f.symbol),
                    venue_order_id=(track.vid if track is not None else None) or f.venue_order_id,
                )
            )
        return fills

    async def _read_trades(
        self, since_ns: int | None, symbol: str | None
    ) -> dict[str, AccountTrade]:
        """Every account trade from ``since_ns`` on, by trade id; bad rows skipped."""
        doc = self._doc
        # The same bad row comes back on every poll of its window: counted once.
        skip = self.skipped.at(f"GET {doc.trades}", once=True)
        base: dict[str, object] = {}
        if symbol is not None:
            base["pair"] = self._pair(symbol)
        if doc.trades_limit is not None:
            base["limit"] = doc.trades_limit
        records: dict[str, AccountTrade] = {}
        for start, end in self._windows(since_ns):
            params = {**base, **(trade_window(doc, start, end) if start is not None else {})}
            for _ in range(self.options.trade_pages):
                reply = await self.rest.private("GET", doc.trades, params=params)
                page = reply.read(parse_account_trade_records_v3, skip)
                for rec in page:
                    records.setdefault(rec.fill.trade_id, rec)
                # Paged by the rows the venue sent, skipped ones included.
                sent = len(reply.body) if isinstance(reply.body, list) else 0
                following = self._next_page(params, page, sent, start)
                if following is None:
                    break
                params = following
            else:
                log.warning(
                    "alp: account trades still full after %d pages", self.options.trade_pages
                )
        return records

    def _next_page(
        self,
        params: dict[str, object],
        records: list[AccountTrade],
        rows: int,
        start: int | None,
    ) -> dict[str, object] | None:
        """The request for the rest of a full page of trades, or None when it was all.

        Only the time filters can page (whole seconds, ``start_time`` inclusive and
        ``end_time`` exclusive), so the next request repeats the page's last second;
        the trades read twice are deduplicated by id.
        """
        limit = self._doc.trades_limit
        if limit is None or rows < limit or len(records) < 2:
            return None
        first, last = records[0].fill.ts_ns // _NS, records[-1].fill.ts_ns // _NS
        doc = self._doc
        if first > last:  # newest first: read what is older than the page's oldest second
            if start is not None and last * _NS < start:
                return None
            return {**params, **trade_window(doc, start or 0, (last + 1) * _NS)}
        if first < last:  # oldest first: read from the page's newest second on
            return {**params, **trade_window(doc, last * _NS, None)}
        log.warning("alp: more than %d account trades in one second; some are not read", limit)
        return None

    def _hold_from(self, fresh: list[AccountTrade]) -> int | None:
        """The time of the first new trade an unanswered place could own, if any."""
        slack = self.options.match_slack_ms * _MS
        out = [t for t in self._memory.tracks() if t.inflight]
        for r in fresh:
            f = r.fill
            if f.venue_order_id is not None:
                continue  # it names its order
            for t in out:
                if (
                    t.pair == f.symbol
                    and t.side is f.side
                    and f.ts_ns >= t.created_ns - slack
                    and (
                        t.price is None
                        or (f.price <= t.price if t.side is Side.BUY else f.price >= t.price)
                    )
                ):
                    return f.ts_ns
        return None

    async def _learn(self) -> bool:
        """Read the venue's recent orders into memory; False if that failed."""
        try:
            for row in await self._list_orders({}):
                self._absorb(row)
        except (VenueError, ParseError, *AMBIGUOUS) as err:
            log.info("alp: could not list orders to attribute trades (%s)", err)
            return False
        return True

    def _windows(self, since_ns: int | None) -> list[tuple[int | None, int | None]]:
        if since_ns is None:
            return [(None, None)]  # the venue's default: the latest trades
        span = self.options.window_days * 86_400 * _NS
        now = time.time_ns()
        since_ns = max(since_ns, now - self.options.max_lookback_days * 86_400 * _NS)
        start = since_ns - since_ns % _NS
        windows: list[tuple[int | None, int | None]] = []
        while start + span <= now:
            windows.append((start, start + span))
            start += span
        windows.append((start, None))
        return windows

    async def _owner(self, rec: AccountTrade, learned: bool) -> tuple[Track | None, bool]:
        """The order a trade is attributed to (committed), and whether orders were learnt."""
        fill = rec.fill
        if self._memory.settled(fill.trade_id):
            return self._memory.owner(fill.trade_id), learned
        track = self._named(rec)
        if track is None and not (fill.venue_order_id or fill.client_id):
            candidates = self._candidates(rec)
            if not learned and (
                not candidates
                or (len(candidates) > 1 and any(t.venue_created_ns is None for t in candidates))
            ):
                # Nothing fits (an order from before this process), or several do and
                # the venue's times would tell: read the venue's order list once.
                learned = await self._learn()
                candidates = self._candidates(rec)
            track = self._choose(rec, candidates)
        elif track is None and not learned:
            # The venue named an order we do not know: learn it, don't guess.
            learned = await self._learn()
            track = self._named(rec)
        if track is None:
            if learned:
                # Stays unattributed: a later order with the same fields must not take it.
                self._memory.orphan(fill.trade_id)
            log.warning("alp trade %s matches no known order", fill.trade_id)
            return None, learned
        track.seen += fill.size
        if track.seen >= track.size and track.closed_ns is None:
            track.closed_ns = fill.ts_ns
        self._memory.own(fill.trade_id, track)
        return track, learned

    def _named(self, rec: AccountTrade) -> Track | None:
        """The order a trade names by venue id or client id, if known."""
        fill = rec.fill
        if fill.venue_order_id is not None:
            return self._memory.by_vid(fill.venue_order_id)
        if fill.client_id:
            vid = self.ids.venue_id(fill.client_id)
            if vid is not None:
                return self._memory.by_vid(vid)
            named = self._memory.for_coid(fill.client_id)
            return named[-1] if named else None
        return None

    def _candidates(self, rec: AccountTrade) -> list[Track]:
        """The orders a trade that names none could belong to, from its fields."""
        fill = rec.fill
        slack = self.options.match_slack_ms * _MS
        out = []
        for t in self._memory.tracks():
            if t.pair != fill.symbol or t.side is not fill.side:
                continue
            if rec.order_type is not None and t.type is not None and t.type is not rec.order_type:
                continue
            if fill.ts_ns < t.created_ns - slack or t.seen + fill.size > t.size:
                continue
            if t.closed_ns is not None and fill.ts_ns > t.closed_ns + slack:
                continue
            if t.price is not None:
                if rec.is_maker and fill.price != t.price:
                    continue
                if (fill.price > t.price) if t.side is Side.BUY else (fill.price < t.price):
                    continue
            if rec.unfilled is not None and rec.unfilled + fill.size > t.size:
                continue
            out.append(t)
        return out

    def _choose(self, rec: AccountTrade, candidates: list[Track]) -> Track | None:
        """One of several orders a trade could belong to: by the venue's times, else ranked."""
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        ts = rec.fill.ts_ns
        if rec.is_maker is not None and all(t.venue_created_ns is not None for t in candidates):
            alive = [
                t
                for t in candidates
                if t.venue_created_ns <= ts  # type: ignore[operator]
                and (t.venue_done_ns is None or ts <= t.venue_done_ns)
            ]
            if rec.is_maker and len(alive) == 1:
                return alive[0]  # in the book at that time, at that price: one by the rule
            if not rec.is_maker and alive:
                # An order takes liquidity on arrival: the last to arrive before the trade.
                return max(alive, key=lambda t: t.venue_created_ns or 0)
        # Orders the venue confirmed, then ones whose place is still out, then ones whose
        # place went unanswered; orders still open at the trade's time before one that
        # had closed (within the clock slack); oldest first (price-time priority).
        ranked = sorted(
            candidates,
            key=lambda t: (
                0 if t.vid is not None else 1 if t.inflight else 2,
                t.closed_ns is not None and t.closed_ns < ts,
            ),
        )
        if rec.unfilled is not None:
            exact = [t for t in ranked if t.size - t.seen - rec.fill.size == rec.unfilled]
            if exact:
                return exact[0]
        return ranked[0]

    def user_trade_stream(self, since_ns: int | None) -> AsyncIterator[Fill] | None:
        return None  # fills come from polling user_trades

    # ----- account ------------------------------------------------------------------------

    async def balances(self) -> dict[str, Decimal]:
        return {c: b.total for c, b in (await self.balance_sheet()).items()}

    async def balance_sheet(self) -> dict[str, AssetBalance]:
        await self.ready()
        path = self._doc.balances
        reply = await self.rest.private("GET", path)
        return reply.read(parse_balance_sheet_v3, not self.options.balance_includes_reserve)

    async def positions(self) -> dict[str, Decimal]:
        return {}  # spot

    # ----- market data ----------------------------------------------------------------------

    def _book_request(self, pair: str) -> tuple[str, dict[str, object]]:
        path = self._doc.orderbook
        depth = self.options.book_depth
        params: dict[str, object] = {"limit_buy": depth, "limit_sell": depth}
        if "{pair}" in path:
            return path.replace("{pair}", pair), params
        return path, {"pair": pair, **params}

    def _trades_request(self, pair: str) -> tuple[str, dict[str, object]]:
        path = self._doc.public_trades
        if self._doc.name == "seed":
            return path, {"pair": pair, "limit": 100, "ordering": "-id"}
        return path, {"pair": pair, "limit": 100}

    async def _poll_book(self, ours: str, pair: str) -> BookSnapshot:
        path, params = self._book_request(pair)
        reply = await self.rest.public(path, params)
        skip = self.skipped.at(reply.endpoint)  # a level with a non-positive price or size
        return reply.read(lambda body: parse_order_book(body, ours, time.time_ns(), skip=skip))

    async def _poll_trades(self, pair: str) -> list[Trade]:
        path, params = self._trades_request(pair)
        reply = await self.rest.public(path, params)
        return reply.read(lambda body: parse_exchanges(body, skip=self.skipped.at(reply.endpoint)))

    async def market_stream(self, symbols: list[str]) -> AsyncIterator[MarketEvent]:
        """Polls the public order book and trades; errors back off and the loop goes on."""
        await self.ready()
        pairs = [
            (s if s in self._instruments else self._ours(self._pair(s)), self._pair(s))
            for s in symbols
        ]
        last_id: dict[str, int] = {}
        failures = 0
        while True:
            for ours, pair in pairs:
                try:
                    snapshot = await self._poll_book(ours, pair)
                    trades = await self._poll_trades(pair)
                except (VenueError, ParseError, *AMBIGUOUS) as err:
                    failures += 1
                    if isinstance(err, ParseError):
                        self.skipped(err)  # a payload of another shape: counted, never empty
                    else:
                        log.info("alp market data for %s failed (%s); retrying", pair, err)
                    await asyncio.sleep(
                        min(5.0, self.options.market_poll_s * 2 ** min(failures, 4))
                    )
                    continue
                failures = 0
                yield snapshot
                numbered = [t for t in trades if str(t.trade_id).isdigit()]
                newest = max((int(str(t.trade_id)) for t in numbered), default=None)
                if pair in last_id:
                    fresh = sorted(
                        (t for t in numbered if int(str(t.trade_id)) > last_id[pair]),
                        key=lambda t: int(str(t.trade_id)),
                    )
                    for t in fresh:
                        yield t._replace(symbol=ours)
                if newest is not None:
                    last_id[pair] = max(newest, last_id.get(pair, newest))
                elif pair not in last_id:
                    last_id[pair] = 0
            await asyncio.sleep(self.options.market_poll_s)
