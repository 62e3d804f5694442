"""BlockTrade's own protocol over the simulated exchange (seed document 004).

REST under ``/api/v1`` (the prefix of the document's example code), one
websocket endpoint at ``/ws/v1/notification`` (the document's ``WS
/ws/v1/notification (Channel)`` headings name one path per channel; the text
says there is "one common endpoint for all websockets connections").

Public: ``GET trading_assets``, ``trading_pairs``, ``order_book/{id}``,
``ticker/{id}``, ``trades/{id}``. Private (``X-Api-Key``/``X-Nonce``/
``X-Signature``): ``GET user``, ``portfolios``, ``user_trades``, ``orders``,
``orders/{id}``, ``customer_orders/{id}``; ``POST orders``, ``customer_orders``,
``orders/{id}/cancel``, ``customer_orders/{id}/cancel``, ``orders/cancel``,
``orders/cancel_active``. Websocket channels: order_book, trades, ticker,
portfolio, user_orders, user_trades.

Which reading of every ambiguity this simulator picks:

* Authentication: the signature is the upper-case hex HMAC-SHA256 of
  ``KEY.NONCE`` plus ``.BODY`` when the raw request body is non-empty (the
  document's ``if request_body:``); query strings are not signed. The nonce must
  be strictly greater than the last *accepted* one for the key (a request that
  fails authentication does not consume its nonce). Every auth failure is
  ``401 {"message": ...}``; the message names the cause (unknown key, invalid
  nonce, invalid signature).
* Errors are the document's Error schema, ``{"message": "..."}``, with no codes;
  the status carries the class: 400 invalid arguments (tick, lot, order value,
  insufficient funds: "Insufficient funds ..."), 404 trading pair / order /
  customer order not found, 409 a ``customer_order_id`` that already exists,
  422 "Order can not be cancelled" (not open any more), 401 authentication.
* ``price`` and ``amount`` are typed "number as string" but the example sends
  ``"price": 1000``: both a string and a JSON number are accepted. The example's
  ``"customer_order_id": 1`` (typed string) is accepted as the string "1".
* ``POST /orders`` (no ``customer_order_id`` in its request schema) assigns a
  UUID as the customer order id, as its response example shows one.
* Order types LIMIT and MARKET; time in force GTC, IOC and FOK (``disable_fill_or_kill``
  in the settings says FOK exists); stop orders are refused (400).
* Order status: NEW, PARTIALLY_FILLED, FILLED and CANCELLED (an IOC/market rest
  that did not trade is CANCELLED). ``date`` is the time of the last change.
  The order's ``trades`` use ``value`` for the traded amount over REST and
  ``amount`` on the websocket, as the two examples do.
* Cancels answer ``202`` with an empty body and take effect at once.
* ``GET /orders`` lists every order (open and closed), newest first; ``limit``
  defaults to 10 and may not exceed 1000; ``status``, ``type`` and
  ``trading_pair_id`` filter by comma-separated lists.
* ``GET /user_trades``: ``start_time`` is *inclusive* at millisecond precision
  (``date >= start_time``: the duplicates the document warns about), ``end_time``
  too; oldest first (so offset paging is stable while new trades arrive);
  ``limit`` defaults to 100, maximum 1000. ``fee_value`` is in the quote asset.
* Portfolios: one portfolio (id 916). ``available_amount`` is what new orders
  may use, ``reserved_amount`` what open orders hold, ``locked_amount`` 0.
* ``maximum_order_value`` is sent as a JSON number (as the example does), the
  other amounts as strings. Min/max order value are the *quote* asset's.
* Websocket: messages are ``{message_type, payload: {..., data: [...]}}``,
  except user trades, sent as the bare trade object the document shows (one
  message per trade; option ``user_trades_framing="framed"`` sends the framed
  shape instead). The first order_book message after subscribing is the full
  book, the next ones carry changed levels with their new amount ("0" removes
  the level). Subscribing to user_trades replays the trades since
  ``start_time`` (inclusive, ms), then streams new ones.
* Websocket authentication: either signed headers on the handshake (a bad
  signature or nonce refuses the upgrade with 401) or ``auth_token`` (``GET
  /user``'s ``websocket_auth_token``) in the subscription. The document lists
  portfolio, user activity and user orders as the authenticated channels; user
  trades are "trades belonging to the authenticated user", so they need it too.
  A private subscription without authentication answers
  ``{"message_type": "error", "payload": {"message": "Unauthenticated"}}``.
* A session with no frame from the client (pings count) for
  ``ws_idle_timeout_s`` (60, as documented) is closed by the server.
* Faults: private REST calls consult ``exchange.faults`` after authentication
  (``stall`` sleeps, ``fail`` answers 500/502/503, after acting when the fault
  says so); websockets close every ``drop_ws_every_s``; user-order and
  user-trade messages pass through ``faults.mangle``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import WSMsgType, web

from botkit.book import OrderBook
from botkit.events import BookSnapshot, Trade
from botkit.model import ZERO, Fill, Instrument, Order, OrderStatus, OrderType, Side, TimeInForce
from botkit.simulator.backend import ExchangeBackend, SimReject
from botkit.venues.blocktrade.auth import signature

VENUE = "blocktrade"
API = "/api/v1"
WS_PATH = "/ws/v1/notification"

DEFAULT_API_KEY = "bt-test-key"
DEFAULT_API_SECRET = "bt-test-secret"
DEFAULT_WS_TOKEN = "1111111111111111111111111111111111111111"
PORTFOLIO_ID = 916

# Real-looking ids, so an id mix-up between kinds shows in a test.
_ORDER_ID_BASE = 16_342_000
_TRADE_ID_BASE = 19_873_000
_PUBLIC_TRADE_ID_BASE = 12_834_000


@dataclass(frozen=True)
class AssetSpec:
    id: int
    iso: str
    full_name: str
    currency_type: str
    decimal_precision: int
    lot_size: str
    minimal_order_value: str
    maximum_order_value: int
    minimal_withdrawal_amount: str


@dataclass(frozen=True)
class PairSpec:
    id: int
    base: str
    quote: str
    tick_size: str
    lot_size: str
    decimal_precision: int
    mid: float


ASSETS: tuple[AssetSpec, ...] = (
    AssetSpec(2, "EUR", "Euro", "FIAT", 2, "0.01", "0.1", 620000, "0.01"),
    AssetSpec(3, "BTC", "Bitcoin", "CRYPTOCURRENCY", 8, "0.00000001", "0.0001", 100, "0.0005"),
    AssetSpec(4, "ETH", "Ethereum", "CRYPTOCURRENCY", 8, "0.00000001", "0.001", 2000, "0.005"),
    AssetSpec(5, "USDT", "Tether", "CRYPTOCURRENCY", 2, "0.01", "10", 1000000, "10"),
)

PAIRS: tuple[PairSpec, ...] = (
    PairSpec(1, "BTC", "USDT", "0.01", "0.00001", 2, 30000.0),
    PairSpec(2, "ETH", "BTC", "0.00001", "0.001", 5, 0.05),
    PairSpec(3, "BTC", "EUR", "0.01", "0.00001", 2, 28000.0),
)

DEFAULT_BALANCES: Mapping[str, str] = {
    "USDT": "1000000",
    "BTC": "20",
    "ETH": "50",
    "EUR": "100000",
}


@dataclass
class SimConfig:
    """Protocol options (``running_simulator("blocktrade", api_key=..., ...)``)."""

    api_key: str = DEFAULT_API_KEY
    api_secret: str = DEFAULT_API_SECRET
    ws_token: str = DEFAULT_WS_TOKEN
    portfolio_id: int = PORTFOLIO_ID
    user_trades_framing: str = "bare"  # "bare" (the document's example) | "framed"
    ws_idle_timeout_s: float = 60.0
    assets: tuple[AssetSpec, ...] = ASSETS
    pairs: tuple[PairSpec, ...] = PAIRS
    restricted_directions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    seed: int = 1


class BlockTradeExchange(ExchangeBackend):
    """The simulated exchange plus the protocol's options."""

    def __init__(self, *args: Any, config: SimConfig, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config = config


def make_exchange(
    seed: int,
    *,
    api_key: str = DEFAULT_API_KEY,
    api_secret: str = DEFAULT_API_SECRET,
    ws_token: str = DEFAULT_WS_TOKEN,
    balances: Mapping[str, Decimal | str | int] | None = None,
    maker_fee: str = "0.001",
    taker_fee: str = "0.002",
    user_trades_framing: str = "bare",
    ws_idle_timeout_s: float = 60.0,
    restricted_directions: Mapping[str, Iterable[str]] | None = None,
    step_s: float = 0.1,
    flow_options: dict[str, Any] | None = None,
) -> BlockTradeExchange:
    if user_trades_framing not in ("bare", "framed"):
        raise ValueError(f"user_trades_framing must be 'bare' or 'framed': {user_trades_framing!r}")
    restricted = {s: tuple(d.upper() for d in v) for s, v in (restricted_directions or {}).items()}
    config = SimConfig(
        api_key=api_key,
        api_secret=api_secret,
        ws_token=ws_token,
        user_trades_framing=user_trades_framing,
        ws_idle_timeout_s=ws_idle_timeout_s,
        restricted_directions=restricted,
        seed=seed,
    )
    assets = {a.iso: a for a in config.assets}
    instruments: dict[str, Instrument] = {}
    mids: dict[str, float] = {}
    for p in config.pairs:
        symbol = f"{p.base}/{p.quote}"
        quote = assets[p.quote]
        blocked = {Side(d.lower()) for d in restricted.get(symbol, ())}
        instruments[symbol] = Instrument(
            VENUE,
            symbol,
            p.base,
            p.quote,
            tick_size=p.tick_size,
            lot_size=p.lot_size,
            min_notional=quote.minimal_order_value,
            max_notional=quote.maximum_order_value,
            maker_fee=maker_fee,
            taker_fee=taker_fee,
            allowed_sides=frozenset(set(Side) - blocked) if blocked else None,
        )
        mids[symbol] = p.mid
    start = balances if balances is not None else DEFAULT_BALANCES
    return BlockTradeExchange(
        VENUE,
        instruments,
        balances={k: Decimal(str(v)) for k, v in start.items()},
        seed=seed,
        step_s=step_s,
        mids=mids,
        derivatives=False,
        flow_options=flow_options,
        config=config,
    )


# --- formatting ---------------------------------------------------------------------------


def _s(value: Decimal) -> str:
    """A plain decimal string: no exponent, no trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _q(value: float, step: Decimal) -> Decimal:
    return Decimal(repr(value)).quantize(step)


def _ms(ts_ns: int) -> int:
    return ts_ns // 1_000_000


_STATUS = {
    OrderStatus.PENDING_NEW: "NEW",
    OrderStatus.OPEN: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELED: "CANCELLED",
    OrderStatus.EXPIRED: "CANCELLED",
    OrderStatus.REJECTED: "REJECTED",
}
_TYPES = {"LIMIT": OrderType.LIMIT, "MARKET": OrderType.MARKET}
_TIFS = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}

# SimReject codes -> (HTTP status, message builder); the document has no error codes.
_REJECTS: Mapping[str, int] = {
    "unknown_instrument": 404,
    "duplicate_client_id": 409,
    "order_not_found": 404,
    "order_not_open": 422,
}


class _Refused(Exception):
    """A protocol-level refusal, already logged with the exchange."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


# --- protocol state -----------------------------------------------------------------------


class _State:
    """Id maps, trade history and auth bookkeeping the protocol adds to the exchange."""

    def __init__(self, exchange: ExchangeBackend, config: SimConfig) -> None:
        self.exchange = exchange
        self.config = config
        self.assets = {a.iso: a for a in config.assets}
        self.asset_by_id = {a.id: a for a in config.assets}
        listed = exchange.instruments
        self.pairs = {p.id: p for p in config.pairs if f"{p.base}/{p.quote}" in listed}
        self.pair_by_symbol = {f"{p.base}/{p.quote}": p for p in self.pairs.values()}
        self.last_nonce: dict[str, int] = {}
        self._order_ids: dict[str, int] = {}  # exchange venue id -> BlockTrade id
        self._orders_by_id: dict[int, Order] = {}
        self._trade_ids: dict[str, int] = {}
        self.order_fills: dict[str, list[tuple[int, Fill]]] = {}  # venue id -> (id, fill)
        self.public_trades: dict[int, deque[dict[str, Any]]] = {
            pid: deque(maxlen=1000) for pid in self.pairs
        }
        self.public_count: dict[int, int] = dict.fromkeys(self.pairs, 0)
        self.stats: dict[int, dict[str, Decimal]] = {pid: {} for pid in self.pairs}
        self._public_seq = 0
        self.rng = random.Random(config.seed)
        self.sessions: set[_WsSession] = set()
        exchange.subscribers.append(self._on_event)

    # -- ids

    def order_id(self, order: Order) -> int:
        vid = order.venue_order_id or ""
        oid = self._order_ids.get(vid)
        if oid is None:
            oid = _ORDER_ID_BASE + len(self._order_ids) + 1
            self._order_ids[vid] = oid
            self._orders_by_id[oid] = order
        return oid

    def order_by_id(self, oid: int) -> Order | None:
        return self._orders_by_id.get(oid)

    def trade_id(self, fill: Fill) -> int:
        tid = self._trade_ids.get(fill.trade_id)
        if tid is None:
            tid = _TRADE_ID_BASE + len(self._trade_ids) + 1
            self._trade_ids[fill.trade_id] = tid
        return tid

    def pair_of(self, symbol: str) -> PairSpec:
        return self.pair_by_symbol[symbol]

    def instrument(self, symbol: str) -> Instrument:
        return self.exchange.instruments[symbol]

    # -- exchange events

    def _on_event(self, kind: str, payload: Any) -> None:
        if kind == "order":
            if payload.venue_order_id:
                self.order_id(payload)
        elif kind == "fill":
            self.trade_id(payload)
            if payload.venue_order_id:
                self.order_fills.setdefault(payload.venue_order_id, []).append(
                    (self.trade_id(payload), payload)
                )
        elif kind == "trade":
            self._record_public(payload)
        for session in list(self.sessions):
            session.on_event(kind, payload)

    def _record_public(self, t: Trade) -> None:
        pair = self.pair_by_symbol.get(t.symbol)
        if pair is None:
            return
        inst = self.instrument(t.symbol)
        self._public_seq += 1
        price, amount = _q(t.price, inst.tick_size), _q(t.size, inst.lot_size)
        record = {
            "id": _PUBLIC_TRADE_ID_BASE + self._public_seq,
            "order_id": _ORDER_ID_BASE - 2 * self._public_seq,
            "matched_order_id": _ORDER_ID_BASE - 2 * self._public_seq - 1,
            "trading_pair_id": pair.id,
            "symbol": t.symbol,
            "direction": "BUY" if t.side is Side.BUY else "SELL",
            "amount": _s(amount),
            "price": _s(price),
            "date": _ms(t.ts_ns),
        }
        self.public_trades[pair.id].appendleft(record)
        self.public_count[pair.id] += 1
        st = self.stats[pair.id]
        st["volume"] = st.get("volume", ZERO) + amount
        st["high"] = max(st.get("high", price), price)
        st["low"] = min(st.get("low", price), price)

    # -- authentication

    def authenticate(self, headers: Mapping[str, str], body: str, what: str) -> None:
        cfg = self.config
        key = headers.get("X-Api-Key")
        nonce_text = headers.get("X-Nonce")
        sig = headers.get("X-Signature")
        if not key or not nonce_text or not sig:
            raise self.refuse(what, "unauthenticated", 401, "Unauthenticated")
        if key != cfg.api_key:
            raise self.refuse(what, "invalid_api_key", 401, "Invalid API key")
        try:
            nonce = int(nonce_text)
        except ValueError:
            raise self.refuse(what, "invalid_nonce", 401, "Invalid nonce") from None
        last = self.last_nonce.get(key, 0)
        if nonce <= last:
            raise self.refuse(
                what, "invalid_nonce", 401, f"Invalid nonce: must be greater than {last}"
            )
        expected = signature(cfg.api_key, cfg.api_secret, nonce, body)
        if not hmac.compare_digest(expected, sig):
            raise self.refuse(what, "invalid_signature", 401, "Invalid signature")
        self.last_nonce[key] = nonce

    def refuse(self, what: str, code: str, status: int, message: str) -> _Refused:
        self.exchange.reject(what, code, message, status)
        return _Refused(status, message)

    # -- payloads

    def order_json(self, order: Order, *, ws: bool = False) -> dict[str, Any]:
        pair = self.pair_of(order.symbol)
        amount_key = "amount" if ws else "value"
        trades = [
            {
                "id": tid,
                amount_key: _s(f.size),
                "price": _s(f.price),
                "time": _ms(f.ts_ns),
            }
            for tid, f in self.order_fills.get(order.venue_order_id or "", [])
        ]
        return {
            "id": self.order_id(order),
            "customer_order_id": order.client_id,
            "portfolio_id": self.config.portfolio_id,
            "trading_pair_id": pair.id,
            "direction": order.side.value.upper(),
            "type": order.type.value.upper(),
            "amount": _s(order.size),
            "remaining_amount": _s(max(order.size - order.filled, ZERO)),
            "price": None if order.price is None else _s(order.price),
            "time_in_force": order.tif.value.upper(),
            "stop_price": None if order.stop_price is None else _s(order.stop_price),
            "date": _ms(order.updated_ns or order.created_ns),
            "status": _STATUS.get(order.status, order.status.value.upper()),
            "trades": trades,
        }

    def user_trade_json(self, f: Fill) -> dict[str, Any]:
        pair = self.pair_of(f.symbol)
        order = self.exchange.orders.get(f.venue_order_id or "")
        return {
            "id": self.trade_id(f),
            "order_id": self.order_id(order) if order is not None else None,
            "trading_pair_id": pair.id,
            "symbol": f.symbol,
            "direction": f.side.value.upper(),
            "amount": _s(f.size),
            "price": _s(f.price),
            "date": _ms(f.ts_ns),
            "fee_value": _s(f.fee),
            "trade_value": _s(f.price * f.size),
            "maker": f.liquidity.value == "maker",
        }

    def portfolios_json(self) -> list[dict[str, Any]]:
        ex = self.exchange
        assets = []
        for a in self.config.assets:
            total = ex.balances.get(a.iso, ZERO)
            available = ex.available(a.iso)
            assets.append(
                {
                    "trading_asset_id": a.id,
                    "available_amount": _s(available),
                    "reserved_amount": _s(total - available),
                    "locked_amount": "0",
                    "wallet_address": str(uuid.UUID(int=a.id * 7919 + self.config.portfolio_id)),
                }
            )
        return [{"id": self.config.portfolio_id, "assets": assets}]

    def book_levels(self, book: OrderBook, inst: Instrument) -> dict[str, list[dict[str, str]]]:
        def level(price: float, size: float) -> dict[str, str]:
            p, a = _q(price, inst.tick_size), _q(size, inst.lot_size)
            return {"price": _s(p), "amount": _s(a), "value": _s(p * a)}

        return {
            "bids": [level(p, s) for p, s in book.bid_levels()],
            "asks": [level(p, s) for p, s in book.ask_levels()],
        }

    def ticker_json(self, pair: PairSpec) -> dict[str, Any]:
        symbol = f"{pair.base}/{pair.quote}"
        book = self.exchange.books[symbol]
        inst = self.instrument(symbol)
        st = self.stats[pair.id]

        def px(v: float | None) -> str | None:
            return None if v is None else _s(_q(v, inst.tick_size))

        return {
            "last_price": px(book.last_price),
            "bid_price": px(book.best_bid),
            "ask_price": px(book.best_ask),
            "volume": _s(st.get("volume", ZERO)),
            "low": _s(st["low"]) if "low" in st else None,
            "high": _s(st["high"]) if "high" in st else None,
        }


# --- request helpers ----------------------------------------------------------------------


def _int_param(value: object, name: str, state: _State, what: str) -> int:
    if isinstance(value, bool):
        raise state.refuse(what, "invalid_argument", 400, f"Invalid {name}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise state.refuse(what, "invalid_argument", 400, f"Invalid {name}")


def _decimal_param(value: object, name: str, state: _State, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise state.refuse(what, "invalid_argument", 400, f"Invalid {name}")
    try:
        d = Decimal(value.strip() if isinstance(value, str) else repr(value))
    except InvalidOperation:
        raise state.refuse(what, "invalid_argument", 400, f"Invalid {name}") from None
    if not d.is_finite():
        raise state.refuse(what, "invalid_argument", 400, f"Invalid {name}")
    return d


def _list_param(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _paging(
    query: Mapping[str, str], state: _State, what: str, default_limit: int, max_offset: int | None
) -> tuple[int, int]:
    limit = _int_param(query.get("limit", str(default_limit)), "limit", state, what)
    offset = _int_param(query.get("offset", "0"), "offset", state, what)
    if not 1 <= limit <= 1000:
        raise state.refuse(what, "invalid_argument", 400, "limit must be between 1 and 1000")
    if offset < 0 or (max_offset is not None and offset > max_offset - limit):
        raise state.refuse(what, "invalid_argument", 400, "offset out of range")
    return limit, offset


def _reject_message(state: _State, rej: SimReject, symbol: str | None) -> tuple[int, str]:
    """A SimReject in BlockTrade's words (and status)."""
    inst = state.exchange.instruments.get(symbol or "")
    code = rej.code
    if code == "unknown_instrument":
        return 404, "Trading pair not found"
    if code == "duplicate_client_id":
        return 409, rej.message.replace("client order id", "Order with customer_order_id")
    if code == "order_not_found":
        return 404, "Order not found"
    if code == "order_not_open":
        return 422, "Order can not be cancelled"
    if inst is not None:
        if code == "invalid_price":
            if "market order" in rej.message:
                return 400, "Price must not be set for a MARKET order"
            return 400, (
                f"The order price must be an integer factor of the tick size {inst.tick_size}"
            )
        if code == "invalid_size":
            return 400, (
                f"The order amount must be a positive multiple of the lot size {inst.lot_size}"
            )
        if code == "below_min_notional":
            return 400, (
                f"Order value is below the minimal order value of "
                f"{_s(inst.min_notional or ZERO)} {inst.quote}"
            )
        if code == "above_max_notional":
            return 400, (
                f"Order value exceeds the maximum order value of "
                f"{_s(inst.max_notional or ZERO)} {inst.quote}"
            )
    if code == "insufficient_funds":
        return 400, "Insufficient funds: " + rej.message
    if code == "no_liquidity":
        return 400, "No liquidity to execute a MARKET order"
    if code == "unsupported_order_type":
        return 400, "Order type not supported"
    return _REJECTS.get(code, rej.http_status), rej.message


# --- routes -------------------------------------------------------------------------------


Handler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]


def setup_routes(app: web.Application, exchange: ExchangeBackend) -> None:
    config = getattr(exchange, "config", None) or SimConfig()
    state = _State(exchange, config)
    faults = exchange.faults

    def public(fn: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Any:
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                return await fn(request)
            except _Refused as r:
                return _error(r.status, r.message)

        return handler

    def private(what: str, fn: Handler) -> Any:
        async def handler(request: web.Request) -> web.StreamResponse:
            body = await request.text()
            try:
                state.authenticate(request.headers, body, what)
            except _Refused as r:
                return _error(r.status, r.message)
            action, after = faults.next_call()
            if action == "stall":
                await asyncio.sleep(faults.stall_s)
            elif action == "fail" and not after:
                return _server_error(state)
            try:
                response = await fn(request, body)
            except _Refused as r:
                response = _error(r.status, r.message)
            if action == "fail":
                return _server_error(state)  # it acted, then failed: the ambiguous case
            return response

        return handler

    def pair_param(request: web.Request, what: str) -> PairSpec:
        text = request.match_info["trading_pair_id"]
        try:
            pair = state.pairs.get(int(text))
        except ValueError:
            pair = None
        if pair is None:
            raise state.refuse(what, "unknown_instrument", 404, "Trading pair not found")
        return pair

    # -- public

    async def trading_assets(request: web.Request) -> web.StreamResponse:
        rows = []
        for a in config.assets:
            rows.append(
                {
                    "id": a.id,
                    "full_name": a.full_name,
                    "iso_code": a.iso,
                    "icon_path": f"/media/{a.iso.lower()}.svg",
                    "icon_path_png": f"/media/{a.iso.lower()}.png",
                    "color": "#3A61AD",
                    "sign": "€" if a.iso == "EUR" else None,
                    "currency_type": a.currency_type,
                    "minimal_withdrawal_amount": a.minimal_withdrawal_amount,
                    "minimal_order_value": a.minimal_order_value,
                    "maximum_order_value": a.maximum_order_value,
                    "decimal_precision": a.decimal_precision,
                    "lot_size": a.lot_size,
                    "deposit_methods": ["WALLET_ADDRESS"],
                    "is_restricted_for_user": False,
                    "tags": [],
                    "is_favourite": False,
                }
            )
        return web.json_response(rows)

    async def trading_pairs(request: web.Request) -> web.StreamResponse:
        rows = []
        for p in state.pairs.values():
            rows.append(
                {
                    "id": p.id,
                    "base_asset_id": state.assets[p.base].id,
                    "quote_asset_id": state.assets[p.quote].id,
                    "decimal_precision": p.decimal_precision,
                    "lot_size": p.lot_size,
                    "tick_size": p.tick_size,
                    "restricted_directions_for_user": list(
                        config.restricted_directions.get(f"{p.base}/{p.quote}", ())
                    ),
                }
            )
        return web.json_response(rows)

    async def order_book(request: web.Request) -> web.StreamResponse:
        pair = pair_param(request, "order_book")
        symbol = f"{pair.base}/{pair.quote}"
        return web.json_response(
            state.book_levels(exchange.books[symbol], state.instrument(symbol))
        )

    async def ticker(request: web.Request) -> web.StreamResponse:
        pair = pair_param(request, "ticker")
        return web.json_response(state.ticker_json(pair))

    async def trades(request: web.Request) -> web.StreamResponse:
        pair = pair_param(request, "trades")
        limit, offset = _paging(request.query, state, "trades", 10, None)
        rows = list(state.public_trades[pair.id])[offset : offset + limit]
        return web.json_response(
            {"data": rows, "count": state.public_count[pair.id], "offset": offset, "limit": limit}
        )

    # -- private: account

    async def user(request: web.Request, body: str) -> web.StreamResponse:
        return web.json_response(
            {
                "user_id": 952,
                "email": "trader@example.invalid",
                "primary_currency": {"id": 2, "name": "EUR"},
                "kyc_status": "OK",
                "websocket_auth_token": config.ws_token,
                "is_2fa_enabled": True,
                "account_type": "INDIVIDUAL",
                "instant_exchange_enabled": False,
                "ui_theme": "LIGHT",
            }
        )

    async def portfolios(request: web.Request, body: str) -> web.StreamResponse:
        return web.json_response(state.portfolios_json())

    async def user_trades(request: web.Request, body: str) -> web.StreamResponse:
        q = request.query
        limit, offset = _paging(q, state, "user_trades", 100, None)
        start = (
            _int_param(q["start_time"], "start_time", state, "user_trades")
            if ("start_time" in q)
            else None
        )
        end = (
            _int_param(q["end_time"], "end_time", state, "user_trades")
            if ("end_time" in q)
            else None
        )
        pair_ids = {
            _int_param(p, "trading_pair_ids", state, "user_trades")
            for p in _list_param(q.get("trading_pair_ids"))
        }
        sides = {s.upper() for s in _list_param(q.get("trade_sides"))}
        rows = []
        for f in exchange.trades:
            ms = _ms(f.ts_ns)
            if start is not None and ms < start:
                continue
            if end is not None and ms > end:
                continue
            if pair_ids and state.pair_of(f.symbol).id not in pair_ids:
                continue
            if sides and f.side.value.upper() not in sides:
                continue
            rows.append(f)
        rows.sort(key=lambda f: (f.ts_ns, state.trade_id(f)))
        page = [state.user_trade_json(f) for f in rows[offset : offset + limit]]
        return web.json_response({"data": page, "count": len(rows)})

    # -- private: orders

    async def list_orders(request: web.Request, body: str) -> web.StreamResponse:
        q = request.query
        limit, offset = _paging(q, state, "orders", 10, 100_000)
        statuses = {s.upper() for s in _list_param(q.get("status"))}
        types = {s.upper() for s in _list_param(q.get("type"))}
        pair_ids = {
            _int_param(p, "trading_pair_id", state, "orders")
            for p in _list_param(q.get("trading_pair_id"))
        }
        rows = []
        for order in exchange.by_client.values():
            if order.venue_order_id is None:
                continue
            js = state.order_json(order)
            if statuses and js["status"] not in statuses:
                continue
            if types and js["type"] not in types:
                continue
            if pair_ids and js["trading_pair_id"] not in pair_ids:
                continue
            rows.append(js)
        rows.sort(key=lambda js: js["id"], reverse=True)
        return web.json_response(
            {
                "data": rows[offset : offset + limit],
                "count": len(rows),
                "offset": offset,
                "limit": limit,
            }
        )

    def find_by_id(text: str, what: str) -> Order:
        try:
            order = state.order_by_id(int(text))
        except ValueError:
            order = None
        if order is None:
            raise state.refuse(what, "order_not_found", 404, "Order not found")
        return order

    def find_by_customer_id(cid: str, what: str) -> Order:
        order = exchange.by_client.get(cid)
        if order is None or order.venue_order_id is None:
            raise state.refuse(what, "order_not_found", 404, "Order not found")
        return order

    async def order_details(request: web.Request, body: str) -> web.StreamResponse:
        return web.json_response(state.order_json(find_by_id(request.match_info["id"], "order")))

    async def customer_order_details(request: web.Request, body: str) -> web.StreamResponse:
        order = find_by_customer_id(request.match_info["id"], "customer_order")
        return web.json_response(state.order_json(order))

    def parse_body(body: str, what: str) -> dict[str, Any]:
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise state.refuse(what, "invalid_argument", 400, "Request body must be a JSON object")
        return data

    def place(data: dict[str, Any], customer_id: str, what: str) -> web.StreamResponse:
        for name in ("portfolio_id", "direction", "type", "trading_pair_id", "amount"):
            if data.get(name) is None:
                raise state.refuse(what, "invalid_argument", 400, f"Field '{name}' is required")
        if _int_param(data["portfolio_id"], "portfolio_id", state, what) != config.portfolio_id:
            raise state.refuse(what, "invalid_argument", 400, "Portfolio not found")
        direction = str(data["direction"]).upper()
        if direction not in ("BUY", "SELL"):
            raise state.refuse(what, "invalid_argument", 400, "Invalid direction")
        type_text = str(data["type"]).upper()
        otype = _TYPES.get(type_text)
        if otype is None:
            raise state.refuse(
                what, "unsupported_order_type", 400, f"Order type {type_text} is not supported"
            )
        tif_text = str(data.get("time_in_force") or "GTC").upper()
        tif = _TIFS.get(tif_text)
        if tif is None:
            raise state.refuse(what, "invalid_argument", 400, f"Invalid time_in_force {tif_text}")
        if data.get("stop_price") is not None:
            raise state.refuse(what, "unsupported_order_type", 400, "Stop orders are not supported")
        pair = state.pairs.get(_int_param(data["trading_pair_id"], "trading_pair_id", state, what))
        if pair is None:
            raise state.refuse(what, "unknown_instrument", 404, "Trading pair not found")
        symbol = f"{pair.base}/{pair.quote}"
        if direction in config.restricted_directions.get(symbol, ()):
            raise state.refuse(
                what, "side_not_allowed", 400, f"Direction {direction} is restricted for the user"
            )
        amount = _decimal_param(data["amount"], "amount", state, what)
        price = (
            None
            if data.get("price") is None
            else _decimal_param(data["price"], "price", state, what)
        )
        side = Side.BUY if direction == "BUY" else Side.SELL
        try:
            order = exchange.place(symbol, side, otype, amount, price, customer_id, tif)
        except SimReject as rej:
            status, message = _reject_message(state, rej, symbol)
            return _error(status, message)
        if order.status is OrderStatus.REJECTED or order.venue_order_id is None:
            return _error(400, order.reason or "Order rejected")
        return web.json_response({"id": state.order_id(order), "customer_order_id": customer_id})

    async def place_order(request: web.Request, body: str) -> web.StreamResponse:
        data = parse_body(body, "place")
        return place(data, str(uuid.UUID(int=state.rng.getrandbits(128), version=4)), "place")

    async def place_customer_order(request: web.Request, body: str) -> web.StreamResponse:
        data = parse_body(body, "place")
        cid = data.get("customer_order_id")
        if cid is None or isinstance(cid, bool) or not isinstance(cid, str | int):
            raise state.refuse(
                "place", "invalid_argument", 400, "Field 'customer_order_id' is required"
            )
        cid = str(cid).strip()
        if not cid:
            raise state.refuse("place", "invalid_argument", 400, "Invalid customer_order_id")
        return place(data, cid, "place")

    def cancel(order: Order) -> web.StreamResponse:
        try:
            exchange.cancel(order.venue_order_id, order.client_id)
        except SimReject as rej:
            status, message = _reject_message(state, rej, order.symbol)
            return _error(status, message)
        return web.Response(status=202)

    async def cancel_order(request: web.Request, body: str) -> web.StreamResponse:
        return cancel(find_by_id(request.match_info["id"], "cancel"))

    async def cancel_customer_order(request: web.Request, body: str) -> web.StreamResponse:
        return cancel(find_by_customer_id(request.match_info["id"], "cancel"))

    async def cancel_active(request: web.Request, body: str) -> web.StreamResponse:
        exchange.cancel_all()
        return web.Response(status=202)

    async def cancel_by_pair(request: web.Request, body: str) -> web.StreamResponse:
        data = parse_body(body, "cancel_all")
        if data.get("trading_pair_id") is None:
            raise state.refuse(
                "cancel_all", "invalid_argument", 400, "Field 'trading_pair_id' is required"
            )
        pid = _int_param(data["trading_pair_id"], "trading_pair_id", state, "cancel_all")
        pair = state.pairs.get(pid)
        if pair is None:
            raise state.refuse("cancel_all", "unknown_instrument", 404, "Trading pair not found")
        exchange.cancel_all(f"{pair.base}/{pair.quote}")
        return web.Response(status=202)

    r = app.router
    r.add_get(f"{API}/trading_assets", public(trading_assets))
    r.add_get(f"{API}/trading_pairs", public(trading_pairs))
    r.add_get(API + "/order_book/{trading_pair_id}", public(order_book))
    r.add_get(API + "/ticker/{trading_pair_id}", public(ticker))
    r.add_get(API + "/trades/{trading_pair_id}", public(trades))
    r.add_get(f"{API}/user", private("user", user))
    r.add_get(f"{API}/portfolios", private("portfolios", portfolios))
    r.add_get(f"{API}/user_trades", private("user_trades", user_trades))
    r.add_get(f"{API}/orders", private("orders", list_orders))
    r.add_post(f"{API}/orders", private("place", place_order))
    r.add_post(f"{API}/orders/cancel_active", private("cancel_all", cancel_active))
    r.add_post(f"{API}/orders/cancel", private("cancel_all", cancel_by_pair))
    r.add_get(API + "/orders/{id}", private("order", order_details))
    r.add_post(API + "/orders/{id}/cancel", private("cancel", cancel_order))
    r.add_post(f"{API}/customer_orders", private("place", place_customer_order))
    r.add_get(API + "/customer_orders/{id}", private("customer_order", customer_order_details))
    r.add_post(API + "/customer_orders/{id}/cancel", private("cancel", cancel_customer_order))

    async def websocket(request: web.Request) -> web.StreamResponse:
        return await _ws_handler(request, state)

    r.add_get(WS_PATH, websocket)

    async def close_sessions(app: web.Application) -> None:
        for session in list(state.sessions):
            await session.ws.close()

    app.on_shutdown.append(close_sessions)


def _server_error(state: _State) -> web.Response:
    status = state.exchange.faults.rng.choice((500, 502, 503))
    if status == 502:
        # What a proxy in front of the venue answers: not the venue's JSON.
        return web.Response(
            status=502, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html"
        )
    text = "Internal server error" if status == 500 else "Service Unavailable"
    return _error(status, text)


# --- websocket ----------------------------------------------------------------------------

_PRIVATE_CHANNELS = frozenset(
    {"portfolio", "user_orders", "user_trades", "user_activity", "user_broker_orders"}
)
_PAIR_CHANNELS = frozenset({"order_book", "trades", "ticker"})
_SUPPORTED = _PAIR_CHANNELS | {"portfolio", "user_orders", "user_trades"}


class _WsSession:
    """One websocket connection: its subscriptions and its outgoing queue."""

    def __init__(self, state: _State, ws: web.WebSocketResponse, authed: bool) -> None:
        self.state = state
        self.ws = ws
        self.authed = authed
        self.subs: set[tuple[str, int | None]] = set()
        self.books: dict[int, tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]] = {}
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self._user_batch: list[str] = []
        self._flush_scheduled = False
        self.opened = time.monotonic()

    def send(self, message: object) -> None:
        self.queue.put_nowait(json.dumps(message))

    def _send_user(self, message: object) -> None:
        # Batched per loop turn, so duplicates and reorders can happen across messages.
        self._user_batch.append(json.dumps(message))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_user)

    def _flush_user(self) -> None:
        self._flush_scheduled = False
        batch, self._user_batch = self._user_batch, []
        for text in self.state.exchange.faults.mangle(batch):
            self.queue.put_nowait(text)

    # -- exchange events

    def on_event(self, kind: str, payload: Any) -> None:
        st = self.state
        if kind == "book":
            pair = st.pair_by_symbol.get(payload.symbol)
            if pair is None:
                return
            if ("order_book", pair.id) in self.subs:
                self._book_update(pair, payload)
            if ("ticker", pair.id) in self.subs:
                self._ticker(pair)
        elif kind == "trade":
            pair = st.pair_by_symbol.get(payload.symbol)
            if pair is not None and ("trades", pair.id) in self.subs:
                rec = st.public_trades[pair.id][0]
                self.send(
                    {
                        "message_type": "trades",
                        "payload": {
                            "trading_pair_id": pair.id,
                            "data": [
                                {
                                    "id": rec["id"],
                                    "price": rec["price"],
                                    "amount": rec["amount"],
                                    "time": rec["date"],
                                }
                            ],
                        },
                    }
                )
        elif kind == "fill":
            if ("user_trades", None) in self.subs:
                self._user_trades([payload])
            if ("portfolio", None) in self.subs:
                self._portfolio()
        elif (
            kind == "order"
            and payload.venue_order_id is not None
            and ("user_orders", None) in self.subs
        ):
            self._send_user(
                {
                    "message_type": "user_orders",
                    "payload": {"data": [st.order_json(payload, ws=True)]},
                }
            )

    def _user_trades(self, fills: list[Fill]) -> None:
        rows = [self.state.user_trade_json(f) for f in fills]
        if self.state.config.user_trades_framing == "framed":
            if rows:
                self._send_user({"message_type": "user_trades", "payload": {"data": rows}})
            return
        for row in rows:
            self._send_user(row)

    def _portfolio(self) -> None:
        self.send({"message_type": "portfolio", "payload": {"data": self.state.portfolios_json()}})

    def _ticker(self, pair: PairSpec) -> None:
        self.send(
            {
                "message_type": "ticker",
                "payload": {"trading_pair_id": pair.id, "data": [self.state.ticker_json(pair)]},
            }
        )

    def _levels(self, symbol: str) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
        book = self.state.exchange.books[symbol]
        inst = self.state.instrument(symbol)
        bids = {_q(p, inst.tick_size): _q(s, inst.lot_size) for p, s in book.bid_levels()}
        asks = {_q(p, inst.tick_size): _q(s, inst.lot_size) for p, s in book.ask_levels()}
        return bids, asks

    def _book_message(
        self, pair: PairSpec, bids: dict[Decimal, Decimal], asks: dict[Decimal, Decimal]
    ) -> dict[str, Any]:
        def rows(levels: dict[Decimal, Decimal], reverse: bool) -> list[dict[str, str]]:
            return [
                {"price": _s(p), "amount": _s(a), "value": _s(p * a)}
                for p, a in sorted(levels.items(), reverse=reverse)
            ]

        return {
            "message_type": "order_book",
            "payload": {
                "trading_pair_id": pair.id,
                "data": [{"bids": rows(bids, True), "asks": rows(asks, False)}],
            },
        }

    def _book_snapshot(self, pair: PairSpec) -> None:
        bids, asks = self._levels(f"{pair.base}/{pair.quote}")
        self.books[pair.id] = (bids, asks)
        self.send(self._book_message(pair, bids, asks))

    def _book_update(self, pair: PairSpec, snap: BookSnapshot) -> None:
        old = self.books.get(pair.id)
        bids, asks = self._levels(snap.symbol)
        self.books[pair.id] = (bids, asks)
        if old is None:
            self.send(self._book_message(pair, bids, asks))
            return

        def diff(before: dict[Decimal, Decimal], after: dict[Decimal, Decimal]) -> dict:
            out = {p: a for p, a in after.items() if before.get(p) != a}
            out.update({p: ZERO for p in before if p not in after})
            return out

        db, da = diff(old[0], bids), diff(old[1], asks)
        if db or da:
            self.send(self._book_message(pair, db, da))

    # -- client messages

    def handle(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict) or not message:
            self._error("Invalid message")
            return
        for key, params in message.items():
            if not isinstance(params, dict):
                params = {}
            if key.startswith("subscribe_"):
                self._subscribe(key.removeprefix("subscribe_"), params)
            elif key.startswith("unsubscribe_"):
                self._unsubscribe(key.removeprefix("unsubscribe_"), params)
            else:
                self._error(f"Unknown message {key}")

    def _error(self, message: str) -> None:
        self.send({"message_type": "error", "payload": {"message": message}})

    def _pair(self, params: Mapping[str, Any]) -> PairSpec | None:
        pid = params.get("trading_pair_id")
        pair = self.state.pairs.get(pid) if isinstance(pid, int) else None
        if pair is None:
            self._error("Trading pair not found")
        return pair

    def _subscribe(self, channel: str, params: Mapping[str, Any]) -> None:
        st = self.state
        if channel not in _SUPPORTED:
            self._error(f"Channel {channel} is not available")
            return
        if channel in _PRIVATE_CHANNELS and not (
            self.authed or params.get("auth_token") == st.config.ws_token
        ):
            st.exchange.reject(
                "ws_subscribe", "unauthenticated", f"{channel}: Unauthenticated", 401
            )
            self._error("Unauthenticated")
            return
        if channel in _PAIR_CHANNELS:
            pair = self._pair(params)
            if pair is None:
                return
            self.subs.add((channel, pair.id))
            if channel == "order_book":
                self._book_snapshot(pair)
            elif channel == "ticker":
                self._ticker(pair)
            return
        self.subs.add((channel, None))
        if channel == "portfolio":
            self._portfolio()
        elif channel == "user_trades":
            start = params.get("start_time")
            since = start if isinstance(start, int) and not isinstance(start, bool) else None
            past = [f for f in st.exchange.trades if since is None or _ms(f.ts_ns) >= since]
            self._user_trades(past)

    def _unsubscribe(self, channel: str, params: Mapping[str, Any]) -> None:
        if channel in _PAIR_CHANNELS:
            pid = params.get("trading_pair_id")
            if isinstance(pid, int):
                self.subs.discard((channel, pid))
                if channel == "order_book":
                    self.books.pop(pid, None)
        else:
            self.subs.discard((channel, None))
        payload: dict[str, Any] = {"channel_name": channel}
        if params:
            payload["parameters"] = dict(params)
        self.send({"message_type": "unsubscribed", "payload": payload})

    # -- connection loops

    async def sender(self) -> None:
        faults = self.state.exchange.faults
        while not self.ws.closed:
            timeout = None
            if faults.drop_ws_every_s:
                timeout = self.opened + faults.drop_ws_every_s - time.monotonic()
                if timeout <= 0:
                    await self.ws.close(code=1001, message=b"connection dropped")
                    return
            try:
                text = await asyncio.wait_for(self.queue.get(), min(timeout or 0.5, 0.5))
            except TimeoutError:
                continue
            await self.ws.send_str(text)


async def _ws_handler(request: web.Request, state: _State) -> web.StreamResponse:
    authed = False
    if "X-Api-Key" in request.headers:
        try:
            state.authenticate(request.headers, "", "ws_connect")
        except _Refused as r:
            return _error(r.status, r.message)
        authed = True
    # Pings are answered by hand: a ping is activity that keeps the session alive.
    ws = web.WebSocketResponse(autoping=False)
    await ws.prepare(request)
    session = _WsSession(state, ws, authed)
    state.sessions.add(session)
    sender = asyncio.get_running_loop().create_task(session.sender())
    idle = state.config.ws_idle_timeout_s
    try:
        while not ws.closed:
            try:
                msg = await ws.receive(timeout=idle)
            except TimeoutError:
                await ws.close(code=1000, message=b"inactive session")
                break
            if msg.type == WSMsgType.TEXT:
                session.handle(msg.data)
            elif msg.type == WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type in (
                WSMsgType.CLOSE,
                WSMsgType.CLOSING,
                WSMsgType.CLOSED,
                WSMsgType.ERROR,
            ):
                break
    finally:
        state.sessions.discard(session)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
        if not ws.closed:
            await ws.close()
    return ws


__all__ = [
    "API",
    "ASSETS",
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "DEFAULT_WS_TOKEN",
    "PAIRS",
    "WS_PATH",
    "BlockTradeExchange",
    "SimConfig",
    "make_exchange",
    "setup_routes",
]
