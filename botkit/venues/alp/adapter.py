"""ALP.COM live adapter: the ``VenueAdapter`` contract over ALP's REST v1 and v3.

Capabilities: spot (``positions()`` is empty); LIMIT and MARKET orders with
GTC/IOC/FOK through ``POST /api/v3/orders`` carrying our client id as
``client_order_id``; cancel and cancel-all through ``DELETE /api/v3/orders``; no
native edit (the router cancels and replaces); fills by polling ``GET
/api/v3/accounts/trades`` (no websocket is documented: ``has_user_trade_stream``
is False); market data by polling the public v1 order book and trades; balances
from ``GET /api/v3/accounts/balances``; instruments from ``GET /api/v1/pairs/``
with fee rates from ``GET /api/v3/feeinfo``. Private calls are spaced 0.5 s
apart (the documented 2 calls a second per account).

Choices where the document is unclear or silent (each one an option):

* Symbols: ours are ``BASE/QUOTE`` built from the pair's ``currency1``/
  ``currency2``; the venue's pair ``name`` (``BTC_USDT``) is used on the wire.
* Signing and nonces: see ``auth`` and ``rest`` (GET signs ``{}`` as the
  examples do, ``sign_query_params`` to sign the query; ms nonces from an
  injectable ``NonceSource``; private calls leave one at a time, in nonce order).
* v3 bodies are JSON with prices and amounts as number literals (the examples'
  ``"limit_price": 25750.45``), written from the Decimal's exact digits.
* ``account_id`` (v3 order body): the option, else the first account ``GET
  /api/v3/accounts`` lists without a parent.
* Client ids and cancel-and-replace: the router keeps the strategy's client id
  across a replace, but a venue may refuse a ``client_order_id`` it has seen. The
  first order of a client id is sent as the id itself, a replacement as
  ``{id}~{base36 ms}`` (``replace_separator``); orders and fills are reported
  with the suffix stripped.
* Finding orders: the v3 order list has no client-id filter and its example
  shows no ``client_order_id``. ``find_order`` lists the orders created since
  the order (less ``match_slack_ms``) and takes, in this order: the venue id (from
  the place reply or an earlier match), a ``client_order_id`` the venue echoes,
  then the fallback: same pair, side, type, price and amount, created within
  ``find_window_s`` after we sent it, not claimed by another client id, and —
  as requests leave in order and venue ids count up — numbered between the
  orders we sent just before and just after it; the earliest such order. A place
  that timed out before it left this process is known to be absent without a
  call.
* Fills: v3 account trades carry no trade id, order id or client id in the
  document. The trade id is derived from the record (``parsing``). A trade is
  attributed to one of this adapter's orders (known from place replies, lookups
  and listings; when an unanswered place or an unmatched trade is about, the
  recent order list is read once to learn the rest): by an ``order_id`` /
  ``client_order_id`` when the venue sends one; else same pair, side and order
  type, a price the order allows (equal to its limit for a maker trade), not
  before the order nor after it closed, and the order's unfilled amount after
  the trade (``amount_unfilled``) consistent with the trades already attributed
  to it — exactly where possible, else merely possible. Orders the venue
  confirmed rank before ones whose place is still out, and those before ones
  whose place went unanswered; then the oldest (price-time priority). While a
  place that could own a new trade awaits its answer, trades from that one on
  are held back (the caller's inclusive cursor fetches them again). A trade that
  matches nothing is returned without a client id (the router counts an orphan).
  Two identical orders (same pair, side, type, price, amount) whose places were
  ambiguous can still swap fills; totals and positions stay exact.
* ``user_trades(since_ns)``: ``start_time`` has whole seconds in the documented
  format, so the request starts at ``since_ns``'s second (inclusive under either
  reading) and the reply is trimmed to ``ts >= since_ns``; a span longer than the
  venue's 30-day window is read window by window.
* Open orders: ``GET /api/v3/orders?open_only=true`` covers the venue's default
  window (30 days back); older open orders are not seen.
* Cancel: a 202 is success; a 204 ("no orders to cancel") is reported as an
  ``OrderRejected`` so the caller asks the venue what became of the order.
* A place is reported OPEN from its reply (the bare order id). IOC, FOK and
  market orders may already be closed by then; with ``read_back=True`` they are
  looked up at once (one more call), otherwise their fills and the gateway's
  reconciliation close them — at 2 calls a second the extra call is dear.
* Post-only: v3 has no post-only flag. ``post_only="reject"`` (default) refuses
  such orders locally (``InvalidRequest``, nothing sent); ``post_only="send"``
  sends them as plain GTC limits, relying on the risk module's crossing check.
  ``reduce_only`` means nothing on spot and is not sent.
* Balances: the total per currency, ``balance + reserve`` (``balance`` read as
  the free part; ``balance_includes_reserve=True`` for the other reading).
* Fees: ``feeinfo`` rates are fractions; a pair's own entry beats a generic one.
* Market data: the public order book every ``market_poll_s`` (``book_depth``
  levels a side) and the public trades newer than the last seen id; trades from
  before the stream started are not replayed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import aiohttp

from botkit.events import BookDelta, BookSnapshot, Ticker, Trade
from botkit.model import ZERO, Fill, Instrument, Order, OrderStatus, OrderType, Side, TimeInForce
from botkit.redact import Secret
from botkit.venues.alp.parsing import (
    VENUE,
    AccountTrade,
    parse_account_trade_records_v3,
    parse_accounts_v3,
    parse_balances_v3,
    parse_exchanges,
    parse_feeinfo_v3,
    parse_order_ack_v3,
    parse_order_book,
    parse_orders_v3,
    parse_pairs,
)
from botkit.venues.alp.rest import AlpRest
from botkit.venues.kit.adapter import Connection
from botkit.venues.kit.errors import (
    InvalidRequest,
    NotFound,
    OrderRejected,
    ParseError,
    VenueError,
)
from botkit.venues.kit.nonce import NonceSource
from botkit.venues.kit.parsing import Fields
from botkit.venues.kit.types import VenueOrder

__all__ = ["AlpAdapter", "AlpOptions"]

log = logging.getLogger("botkit.venues.alp")

MarketEvent = Trade | BookSnapshot | BookDelta | Ticker
S = OrderStatus

_NS = 1_000_000_000
_MS = 1_000_000
_SIDES = {Side.BUY: "BUY", Side.SELL: "SELL"}
_TYPES = {
    OrderType.LIMIT: "LIMIT",
    OrderType.MARKET: "MARKET",
    OrderType.STOP_LIMIT: "STOP_LIMIT",
    OrderType.STOP_MARKET: "STOP_MARKET",
}
_TIFS = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}
_AMBIGUOUS = (asyncio.TimeoutError, aiohttp.ClientError, ConnectionError)


@dataclass(frozen=True)
class AlpOptions:
    """``AlpAdapter(..., **options)``; see the module notes for what each one chooses."""

    request_timeout_s: float = 10.0
    min_request_interval_s: float = 0.5  # the documented 2 private calls a second
    private_interval_s: float | None = None  # the client's own spacing; None = the above
    sign_query_params: bool = False
    account_id: int | str | None = None
    load_fees: bool = True
    read_back: bool = False  # look IOC/FOK/market orders up right after placing them
    post_only: Literal["reject", "send"] = "reject"
    balance_includes_reserve: bool = False
    replace_separator: str = "~"
    match_slack_ms: int = 5_000
    find_window_s: float = 120.0
    window_days: int = 30
    max_lookback_days: int = 365  # user_trades never reads further back than this
    market_poll_s: float = 1.0
    book_depth: int = 20
    memory: int = 20_000  # orders and trade attributions remembered

    def __post_init__(self) -> None:
        if self.post_only not in ("reject", "send"):
            raise ValueError(f"post_only must be 'reject' or 'send', got {self.post_only!r}")
        if not self.replace_separator:
            raise ValueError("replace_separator must not be empty")
        if self.window_days < 1:
            raise ValueError("window_days must be >= 1")


@dataclass
class _Track:
    """What this adapter knows about one venue order (``vid`` None until the venue names it)."""

    vid: str | None
    cid: str | None
    coid: str | None
    pair: str
    side: Side
    type: OrderType | None
    price: Decimal | None
    size: Decimal
    created_ns: int
    seen: Decimal = ZERO  # the trade amounts attributed to it so far
    closed_ns: int | None = None  # when we learnt it was closed (no trades after it)
    inflight: bool = False  # its place request is out and unanswered
    key: int = field(default=0, compare=False)


class _Memory:
    """The adapter's orders and trade attributions, oldest dropped first."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._tracks: OrderedDict[int, _Track] = OrderedDict()
        self._by_vid: dict[str, _Track] = {}
        self._owner: OrderedDict[str, _Track] = OrderedDict()
        self._next = 0

    def add(self, track: _Track) -> _Track:
        self._next += 1
        track.key = self._next
        self._tracks[track.key] = track
        if track.vid is not None:
            self._by_vid[track.vid] = track
        while len(self._tracks) > self.limit:
            _, old = self._tracks.popitem(last=False)
            if old.vid is not None and self._by_vid.get(old.vid) is old:
                del self._by_vid[old.vid]
        return track

    def forget(self, track: _Track) -> None:
        self._tracks.pop(track.key, None)
        if track.vid is not None and self._by_vid.get(track.vid) is track:
            del self._by_vid[track.vid]

    def bind(self, track: _Track, vid: str) -> None:
        other = self._by_vid.get(vid)
        if other is not None and other is not track:
            # The same venue order seen twice (a listing, then a lookup): keep one record.
            track.seen = max(track.seen, other.seen)
            track.cid = track.cid or other.cid
            self.forget(other)
        track.vid = vid
        self._by_vid[vid] = track

    def by_vid(self, vid: str) -> _Track | None:
        return self._by_vid.get(vid)

    def for_cid(self, cid: str) -> list[_Track]:
        return [t for t in self._tracks.values() if t.cid == cid]

    def tracks(self) -> Iterable[_Track]:
        return self._tracks.values()

    def owner(self, trade_id: str) -> _Track | None:
        return self._owner.get(trade_id)

    def own(self, trade_id: str, track: _Track) -> None:
        self._owner[trade_id] = track
        while len(self._owner) > self.limit * 5:
            self._owner.popitem(last=False)


def _note_closed(track: _Track, vo: VenueOrder) -> None:
    if vo.status.is_closed and track.closed_ns is None:
        track.closed_ns = vo.ts_ns or time.time_ns()


def _iso_seconds(ns: int) -> str:
    """The documented ``2006-01-02T15:04:05Z07:00`` (whole seconds, floored), in UTC."""
    return f"{datetime.fromtimestamp(ns // _NS, UTC):%Y-%m-%dT%H:%M:%S}Z"


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


class AlpAdapter:
    """ALP.COM over REST (v1 public data, v3 orders, trades and balances)."""

    name = VENUE
    supports_edit = False
    supports_client_id = True
    has_user_trade_stream = False

    @classmethod
    def from_connection(cls, connection: Connection) -> AlpAdapter:
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
        api_key: str | Secret | None = None,
        api_secret: str | Secret | None = None,
        *,
        nonce: NonceSource | None = None,
        symbols: Iterable[str] | None = None,
        **options: Any,
    ) -> None:
        self.options = opts = AlpOptions(**options)
        self.ws_url = ws_url  # ALP documents no websocket; accepted for a uniform constructor
        self.min_request_interval_s = opts.min_request_interval_s
        spacing = opts.private_interval_s
        self.rest = AlpRest(
            base_url,
            api_key,
            api_secret,
            nonce=nonce,
            timeout_s=opts.request_timeout_s,
            min_interval_s=opts.min_request_interval_s if spacing is None else spacing,
            sign_query_params=opts.sign_query_params,
        )
        self._wanted = set(symbols) if symbols is not None else None
        self._instruments: dict[str, Instrument] = {}
        self._pair_of: dict[str, str] = {}  # our symbol -> the venue's pair
        self._symbol_of: dict[str, str] = {}  # the venue's pair -> our symbol
        self._account_id: str | None = None if opts.account_id is None else str(opts.account_id)
        self._memory = _Memory(opts.memory)
        # Client ids whose place was cancelled before it was sent.
        self._unsent: OrderedDict[str, None] = OrderedDict()
        # Trades that matched no order even after learning the venue's order list.
        self._orphans: OrderedDict[str, None] = OrderedDict()
        self._connected = False
        self._connect_lock = asyncio.Lock()

    @property
    def nonce(self) -> NonceSource:
        """The nonce source (for the journal to persist ``nonce.last``)."""
        return self.rest.nonce

    # ----- lifecycle --------------------------------------------------------------------

    async def connect(self) -> None:
        async with self._connect_lock:
            if self._connected:
                return
            await self.rest.open()
            instruments = parse_pairs(await self.rest.public("/api/v1/pairs/"))
            fees: dict[str, tuple[Decimal, Decimal]] = {}
            if self.rest.has_credentials:
                if self._account_id is None:
                    self._account_id = await self._find_account()
                if self.options.load_fees:
                    try:
                        reply = await self.rest.private("GET", "/api/v3/feeinfo")
                        fees = parse_feeinfo_v3(reply.body)
                    except (VenueError, ParseError) as err:
                        log.warning("alp fee info unavailable (%s): fees left at 0", err)
            self._set_instruments(instruments, fees)
            self._connected = True

    async def _find_account(self) -> str | None:
        try:
            accounts = parse_accounts_v3((await self.rest.private("GET", "/api/v3/accounts")).body)
        except (VenueError, ParseError) as err:
            log.warning("alp account list unavailable (%s): orders go without account_id", err)
            return None
        top = [a for a, parent in accounts if parent is None]
        return (top or [a for a, _ in accounts] or [None])[0]

    def _set_instruments(
        self, instruments: list[Instrument], fees: dict[str, tuple[Decimal, Decimal]]
    ) -> None:
        for inst in instruments:
            ours = f"{inst.base}/{inst.quote}"
            wanted = self._wanted
            if wanted is not None and ours not in wanted and inst.symbol not in wanted:
                continue
            maker, taker = fees.get(inst.symbol) or fees.get("") or (ZERO, ZERO)
            self._instruments[ours] = dataclasses.replace(
                inst, symbol=ours, maker_fee=maker, taker_fee=taker
            )
            self._pair_of[ours] = inst.symbol
            self._symbol_of[inst.symbol] = ours

    async def close(self) -> None:
        await self.rest.close()
        self._connected = False

    async def instruments(self) -> dict[str, Instrument]:
        await self.connect()
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

    def _strip(self, coid: str | None) -> str | None:
        if not coid:
            return None
        head, sep, tail = coid.rpartition(self.options.replace_separator)
        return head if sep and head and tail.isalnum() else coid

    # ----- orders -------------------------------------------------------------------------

    def _client_order_id(self, order: Order) -> str:
        cid = order.client_id
        if order.status is S.PENDING_NEW and not self._memory.for_cid(cid):
            return cid
        # A replacement (or a second attempt): the venue may refuse an id it has seen.
        return f"{cid}{self.options.replace_separator}{_base36(time.time_ns() // _MS)}"

    async def place(self, order: Order) -> VenueOrder:
        await self.connect()
        pair = self._pair(order.symbol)
        if order.post_only and self.options.post_only == "reject":
            raise InvalidRequest(
                VENUE,
                "ALP has no post-only orders (post_only='send' sends a plain limit)",
                code="post_only_not_allowed",
            )
        amount = order.remaining
        if amount <= 0:
            raise InvalidRequest(VENUE, f"nothing left to place for {order.client_id}")
        coid = self._client_order_id(order)
        body: dict[str, object] = {
            "wallet_type": "SPOT",
            "pair": pair,
            "order_side": _SIDES[order.side],
            "order_type": _TYPES[order.type],
            "tif": _TIFS[order.tif],
            "base_amount": amount,
            "client_order_id": coid,
        }
        if self._account_id is not None:
            body["account_id"] = (
                int(self._account_id) if self._account_id.isdigit() else self._account_id
            )
        if order.type.needs_price:
            if order.price is None:
                raise InvalidRequest(VENUE, f"{order.type.value} order without a price")
            body["limit_price"] = order.price
        if order.type.is_stop:
            if order.stop_price is None:
                raise InvalidRequest(VENUE, "stop order without a stop price")
            body["stop_price"] = order.stop_price
            body["stop_operator"] = "GTE" if order.side is Side.BUY else "LTE"
        sent: list[_Track] = []

        def remember() -> None:
            # Created when the request leaves, not when it queued: tracks are then in
            # the order the venue received them, which is the order it matched them in.
            if not sent:
                sent.append(
                    self._memory.add(
                        _Track(
                            None,
                            order.client_id,
                            coid,
                            pair,
                            order.side,
                            order.type,
                            order.price if order.type.needs_price else None,
                            amount,
                            time.time_ns(),
                            inflight=True,
                        )
                    )
                )

        try:
            reply = await self.rest.private("POST", "/api/v3/orders", body=body, on_send=remember)
        except VenueError as err:
            if sent:
                sent[0].inflight = False
            if not err.ambiguous and sent:
                self._memory.forget(sent[0])  # refused: nothing at the venue to attract fills
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
                self._unsent[order.client_id] = None
                while len(self._unsent) > self.options.memory:
                    self._unsent.popitem(last=False)
            raise
        track = sent[0]
        track.inflight = False
        vid = parse_order_ack_v3(reply.body)
        self._memory.bind(track, vid)
        if self.options.read_back and (
            order.type is OrderType.MARKET or order.tif is not TimeInForce.GTC
        ):
            found = await self._read_back(order, track)
            if found is not None:
                return found
        return VenueOrder(
            venue=VENUE,
            venue_order_id=vid,
            client_id=order.client_id,
            symbol=order.symbol,
            side=order.side,
            type=order.type,
            price=track.price,
            size=amount,
            filled=ZERO,
            avg_price=None,
            status=S.OPEN,
            ts_ns=time.time_ns(),
            raw_status=str(reply.status),
            tif=order.tif,
            stop_price=order.stop_price,
        )

    async def _read_back(self, order: Order, track: _Track) -> VenueOrder | None:
        try:
            return await self.find_order(order, _track=track)
        except (VenueError, ParseError, *_AMBIGUOUS) as err:
            log.info("alp: could not read back order %s (%s)", track.vid, err)
            return None

    async def cancel(self, order: Order) -> None:
        vid = order.venue_order_id
        if vid is None:
            found = await self.find_order(order)
            if found is None:
                raise NotFound(VENUE, f"no order {order.client_id} at the venue")
            vid = found.venue_order_id
        reply = await self.rest.private(
            "DELETE", "/api/v3/orders", body={"order_ids": [int(vid) if vid.isdigit() else vid]}
        )
        track = self._memory.by_vid(vid)
        if track is not None and track.closed_ns is None:
            track.closed_ns = time.time_ns()
        if reply.status == 204:
            raise OrderRejected(
                VENUE,
                "no orders to cancel: the order is already filled or cancelled",
                status=204,
                code="order_not_open",
            )

    async def edit(self, order: Order, price: Decimal, size: Decimal) -> VenueOrder:
        raise InvalidRequest(VENUE, "ALP has no order edit; the router cancels and replaces")

    async def cancel_all(self, symbol: str | None = None) -> None:
        await self.connect()
        pair = self._pair(symbol) if symbol is not None else ""
        # Orders acknowledged before the request went out are closed once it is answered.
        before = [
            t
            for t in self._memory.tracks()
            if t.vid is not None and t.closed_ns is None and (not pair or t.pair == pair)
        ]
        await self.rest.private("DELETE", "/api/v3/orders", body={"all": True, "pair": pair})
        now = time.time_ns()
        for t in before:
            t.closed_ns = now

    async def _list_orders(self, params: dict[str, object]) -> list[tuple[VenueOrder, int]]:
        """``GET /api/v3/orders``: each order with its creation time (``date``)."""
        body = (await self.rest.private("GET", "/api/v3/orders", params=params)).body
        orders = parse_orders_v3(body)
        out = []
        for i, (vo, raw) in enumerate(zip(orders, body, strict=True)):
            created = Fields(raw, VENUE, "order_v3", f"[{i}]").opt_time_ns("date", unit="ms")
            out.append((vo, created if created is not None else vo.ts_ns))
        return out

    def _absorb(self, vo: VenueOrder, created_ns: int) -> VenueOrder:
        """Learn a listed order and report it in our terms (symbol, client id)."""
        track = self._memory.by_vid(vo.venue_order_id)
        if track is None:
            track = self._claim_pending(vo, created_ns)
        if track is None:
            track = self._memory.add(
                _Track(
                    vo.venue_order_id,
                    self._strip(vo.client_id),
                    vo.client_id,
                    vo.symbol,
                    vo.side,
                    vo.type,
                    vo.price,
                    vo.size,
                    created_ns,
                )
            )
        elif track.cid is None and vo.client_id:
            track.cid = self._strip(vo.client_id)
        _note_closed(track, vo)
        return dataclasses.replace(vo, symbol=self._ours(vo.symbol), client_id=track.cid)

    def _claim_pending(self, vo: VenueOrder, created_ns: int) -> _Track | None:
        """A listed order that is one we sent but never heard back about."""
        for track in self._memory.tracks():
            if track.vid is None and vo.client_id and vo.client_id == track.coid:
                self._memory.bind(track, vo.venue_order_id)
                return track
        if vo.client_id:
            return None
        for track in self._memory.tracks():
            if track.vid is None and not track.inflight and self._fits(track, vo, created_ns):
                self._memory.bind(track, vo.venue_order_id)
                return track
        return None

    def _fits(self, track: _Track, vo: VenueOrder, created_ns: int) -> bool:
        """Could this venue order be the one ``track`` sent (no client id to tell)?

        Same fields, created when it was sent, and — since requests leave in order
        and venue ids count up — its id between those of the orders we sent just
        before and just after it. While an identical order sent after it is still
        waiting for its answer, the two cannot be told apart yet: no.
        """
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
    def _same_order(track: _Track, vo: VenueOrder) -> bool:
        return (
            track.pair == vo.symbol
            and track.side is vo.side
            and (vo.type is None or track.type is vo.type)
            and track.price == vo.price
            and track.size == vo.size
        )

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        await self.connect()
        params: dict[str, object] = {"open_only": True}
        if symbol is not None:
            params["pair"] = self._pair(symbol)
        listed = await self._list_orders(params)
        return [self._absorb(vo, created) for vo, created in listed if not vo.status.is_closed]

    async def find_order(self, order: Order, *, _track: _Track | None = None) -> VenueOrder | None:
        await self.connect()
        cid = order.client_id
        mine = self._memory.for_cid(cid)
        if not mine and cid in self._unsent:
            return None  # its place never left this process
        pending = [t for t in mine if t.vid is None]
        slack = self.options.match_slack_ms * _MS
        starts = [t.created_ns for t in mine] + ([order.created_ns] if order.created_ns else [])
        params: dict[str, object] = {"pair": self._pair(order.symbol)}
        if starts:
            params["start_time"] = _iso_seconds(min(starts) - slack)
        listed = await self._list_orders(params)

        if pending:
            # A place whose reply never came: look for exactly what was sent.
            coids = {t.coid for t in pending}
            for vo, created in sorted(listed, key=lambda item: -item[1]):
                if vo.client_id in coids:
                    track = next(t for t in pending if t.coid == vo.client_id)
                    self._memory.bind(track, vo.venue_order_id)
                    return self._report(vo, created, cid)
            for track in reversed(pending):
                hit = self._match_fields(track, listed, cid)
                if hit is not None:
                    self._memory.bind(track, hit[0].venue_order_id)
                    return self._report(*hit, cid)
            for track in pending:
                # Proved absent: it must not attract the fills of a later, identical order.
                self._memory.forget(track)
            return None

        vid = order.venue_order_id or (_track.vid if _track is not None else None)
        if vid is None and mine:
            vid = mine[-1].vid
        if vid is not None:
            for vo, created in listed:
                if vo.venue_order_id == vid:
                    return self._report(vo, created, cid)
            return None
        # Nothing remembered (a restart): the venue's echo of our id, else the fields.
        echoed = [(vo, c) for vo, c in listed if vo.client_id and self._strip(vo.client_id) == cid]
        if echoed:
            return self._report(*max(echoed, key=lambda item: item[1]), cid)
        probe = _Track(
            None,
            cid,
            None,
            self._pair(order.symbol),
            order.side,
            order.type,
            order.price if order.type.needs_price else None,
            order.remaining,
            order.created_ns or time.time_ns(),
        )
        hit = self._match_fields(probe, listed, cid)
        if hit is None and order.filled:
            probe.size = order.size
            hit = self._match_fields(probe, listed, cid)
        return self._report(*hit, cid) if hit is not None else None

    def _match_fields(
        self, track: _Track, listed: list[tuple[VenueOrder, int]], cid: str
    ) -> tuple[VenueOrder, int] | None:
        """The earliest listed order that fits the track and is not another client id's."""
        for vo, created in sorted(listed, key=lambda item: item[1]):
            claimed = self._memory.by_vid(vo.venue_order_id)
            if claimed is not None and claimed.cid not in (None, cid):
                continue
            if vo.client_id and self._strip(vo.client_id) != cid:
                continue
            if self._fits(track, vo, created):
                return vo, created
        return None

    def _report(self, vo: VenueOrder, created_ns: int, cid: str) -> VenueOrder:
        track = self._memory.by_vid(vo.venue_order_id)
        if track is None:
            track = self._memory.add(
                _Track(
                    vo.venue_order_id,
                    cid,
                    vo.client_id,
                    vo.symbol,
                    vo.side,
                    vo.type,
                    vo.price,
                    vo.size,
                    created_ns,
                )
            )
        track.cid = cid
        _note_closed(track, vo)
        return dataclasses.replace(vo, symbol=self._ours(vo.symbol), client_id=cid)

    # ----- fills -------------------------------------------------------------------------

    async def user_trades(self, since_ns: int | None, symbol: str | None = None) -> list[Fill]:
        await self.connect()
        base: dict[str, object] = {}
        if symbol is not None:
            base["pair"] = self._pair(symbol)
        records: dict[str, AccountTrade] = {}
        for params in self._windows(since_ns):
            reply = await self.rest.private(
                "GET", "/api/v3/accounts/trades", params={**base, **params}
            )
            for rec in parse_account_trade_records_v3(reply.body):
                records.setdefault(rec.fill.trade_id, rec)
        ordered = sorted(
            records.values(), key=lambda r: (r.fill.ts_ns, -(r.unfilled or ZERO), r.fill.trade_id)
        )
        fresh = [
            r
            for r in ordered
            if self._memory.owner(r.fill.trade_id) is None and r.fill.trade_id not in self._orphans
        ]
        held = self._hold_from(fresh)
        if held is not None:
            # A place that may own these trades is still waiting for its answer: hand out
            # only what came before them; the caller's inclusive cursor brings the rest
            # back on a later call, when the answer has told us whose they are.
            ordered = [r for r in ordered if r.fill.ts_ns < held]
            fresh = [r for r in fresh if r.fill.ts_ns < held]
        learned = False
        pending = [t for t in self._memory.tracks() if t.vid is None]
        if any(t.pair == r.fill.symbol and t.side is r.fill.side for r in fresh for t in pending):
            # An order whose place went unanswered could own these: find out which
            # orders the venue really has before guessing.
            learned = await self._learn()
        owners = {r.fill.trade_id: self._attribute(r) for r in ordered}
        unknown = [r for r in fresh if owners[r.fill.trade_id] is None]
        if unknown and not learned:
            learned = await self._learn()
            for r in unknown:
                owners[r.fill.trade_id] = self._attribute(r)
        for r in unknown:
            if learned and owners[r.fill.trade_id] is None:
                # Stays unattributed: a later order with the same fields must not take it.
                self._orphans[r.fill.trade_id] = None
                while len(self._orphans) > self.options.memory:
                    self._orphans.popitem(last=False)
        fills = []
        for r in ordered:
            if since_ns is not None and r.fill.ts_ns < since_ns:
                continue
            track = owners[r.fill.trade_id]
            if track is None:
                log.warning("alp trade %s matches no known order", r.fill.trade_id)
            f = r.fill
            fills.append(
                Fill(
                    trade_id=f.trade_id,
                    client_id=(track.cid if track is not None else None) or f.client_id,
                    symbol=self._ours(f.symbol),
                    side=f.side,
                    price=f.price,
                    size=f.size,
                    fee=f.fee,
                    fee_asset=f.fee_asset,
                    liquidity=f.liquidity,
                    ts_ns=f.ts_ns,
                    venue_order_id=(track.vid if track is not None else None) or f.venue_order_id,
                )
            )
        return fills

    def _hold_from(self, fresh: list[AccountTrade]) -> int | None:
        """The time of the first new trade an unanswered place could own, if any."""
        slack = self.options.match_slack_ms * _MS
        out = [t for t in self._memory.tracks() if t.inflight]
        for r in fresh:
            f = r.fill
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
        """Read the venue's recent orders (30 days back) into memory; False if that failed."""
        try:
            for vo, created in await self._list_orders({}):
                self._absorb(vo, created)
        except (VenueError, ParseError, *_AMBIGUOUS) as err:
            log.info("alp: could not list orders to attribute trades (%s)", err)
            return False
        return True

    def _windows(self, since_ns: int | None) -> list[dict[str, object]]:
        if since_ns is None:
            return [{}]  # the venue's default: 30 days back
        span = self.options.window_days * 86_400 * _NS
        now = time.time_ns()
        since_ns = max(since_ns, now - self.options.max_lookback_days * 86_400 * _NS)
        start = since_ns - since_ns % _NS
        windows: list[dict[str, object]] = []
        while start + span <= now:
            windows.append(
                {"start_time": _iso_seconds(start), "end_time": _iso_seconds(start + span)}
            )
            start += span
        windows.append({"start_time": _iso_seconds(start)})
        return windows

    def _attribute(self, rec: AccountTrade) -> _Track | None:
        fill = rec.fill
        known = self._memory.owner(fill.trade_id)
        if known is not None or fill.trade_id in self._orphans:
            return known
        track = None
        if fill.venue_order_id is not None:
            track = self._memory.by_vid(fill.venue_order_id)
        if track is None and fill.client_id:
            named = self._memory.for_cid(self._strip(fill.client_id) or "")
            track = named[-1] if named else None
        if track is None and (fill.venue_order_id or fill.client_id):
            return None  # the venue named an order we do not know: learn it, don't guess
        if track is None:
            track = self._guess(rec)
        if track is not None:
            track.seen += fill.size
            self._memory.own(fill.trade_id, track)
        return track

    def _guess(self, rec: AccountTrade) -> _Track | None:
        fill = rec.fill
        slack = self.options.match_slack_ms * _MS
        candidates = []
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
            candidates.append(t)
        # Orders the venue confirmed, then ones whose place is still out, then ones whose
        # place went unanswered; orders still open at the trade's time before one that
        # had closed (within the clock slack); oldest first (price-time priority).
        candidates.sort(
            key=lambda t: (
                0 if t.vid is not None else 1 if t.inflight else 2,
                t.closed_ns is not None and t.closed_ns < fill.ts_ns,
            )
        )
        if rec.unfilled is not None:
            exact = [t for t in candidates if t.size - t.seen - fill.size == rec.unfilled]
            if exact:
                return exact[0]
        return candidates[0] if candidates else None

    def user_trade_stream(self, since_ns: int | None) -> AsyncIterator[Fill] | None:
        return None  # ALP documents no websocket: fills come from polling user_trades

    # ----- account ------------------------------------------------------------------------

    async def balances(self) -> dict[str, Decimal]:
        await self.connect()
        reply = await self.rest.private("GET", "/api/v3/accounts/balances")
        return parse_balances_v3(
            reply.body, reserve_is_extra=not self.options.balance_includes_reserve
        )

    async def positions(self) -> dict[str, Decimal]:
        return {}  # spot

    # ----- market data ----------------------------------------------------------------------

    async def market_stream(self, symbols: list[str]) -> AsyncIterator[MarketEvent]:
        """Polls the public order book and trades; errors back off and the loop goes on."""
        await self.connect()
        pairs = [
            (s if s in self._instruments else self._ours(self._pair(s)), self._pair(s))
            for s in symbols
        ]
        last_id: dict[str, int] = {}
        failures = 0
        while True:
            for ours, pair in pairs:
                try:
                    book = await self.rest.public(
                        f"/api/v1/orderbook/{pair}",
                        {
                            "limit_buy": self.options.book_depth,
                            "limit_sell": self.options.book_depth,
                        },
                    )
                    trades = parse_exchanges(
                        await self.rest.public(
                            "/api/v1/exchanges/", {"pair": pair, "limit": 100, "ordering": "-id"}
                        )
                    )
                    snapshot = parse_order_book(book, ours, time.time_ns())
                except (VenueError, ParseError, *_AMBIGUOUS) as err:
                    failures += 1
                    log.info("alp market data for %s failed (%s); retrying", pair, err)
                    await asyncio.sleep(
                        min(5.0, self.options.market_poll_s * 2 ** min(failures, 4))
                    )
                    continue
                failures = 0
                yield snapshot
                newest = max(
                    (int(t.trade_id) for t in trades if str(t.trade_id).isdigit()), default=None
                )
                if pair in last_id:
                    fresh = sorted(
                        (
                            t
                            for t in trades
                            if str(t.trade_id).isdigit() and int(t.trade_id) > last_id[pair]
                        ),
                        key=lambda t: int(t.trade_id),  # type: ignore[arg-type]
                    )
                    for t in fresh:
                        yield t._replace(symbol=ours)
                if newest is not None:
                    last_id[pair] = max(newest, last_id.get(pair, newest))
                elif pair not in last_id:
                    last_id[pair] = 0
            await asyncio.sleep(self.options.market_poll_s)
