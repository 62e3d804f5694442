"""ALP.COM's own HTTP protocol (seed document 001) over the simulated exchange.

Routes, as the document gives them (no websocket is documented, so there is none):

public  ``GET /api/v1/currencies/``, ``/api/v1/pairs/``, ``/api/v1/ticker/``,
        ``/api/v1/orderbook/<pair>``, ``/api/v1/exchanges/``,
        ``/api/charts/<pair>/<timeframe>/chart``, ``/api/v1/order/<pk>/`` (the
        document's example calls it without auth headers; sent with them, they
        are checked like any private call)
v1      ``GET /api/v1/wallets/``, ``/api/v1/orders/own/``, ``/api/v1/exchanges/own/``,
        ``/api/v1/deposits/``, ``/api/v1/withdraws/``; ``POST /api/v1/order/``,
        ``/api/v1/order-cancel/`` (form or JSON bodies)
v3      ``GET /api/v3/feeinfo``, ``/api/v3/accounts``, ``/api/v3/accounts/trades``,
        ``/api/v3/accounts/balances``; ``GET|POST|DELETE /api/v3/orders``

Every private v1 call is authenticated as the document describes: ``X-KEY``, an
``X-NONCE`` greater than the key's previous one, and ``X-SIGN`` = hex
HMAC-SHA256 (keyed with the secret) of the key followed by the sorted,
form-encoded parameters (``botkit.venues.alp.auth``); v3 calls as the section at
the end of this module says (the seed's ``api-key``/``api-secret`` headers, or
the official JWT + ``X-SIGN``). Then, in this order: the
optional rate limit, fault injection (``exchange.faults``: 500/502/503 before or
after acting, or a stall), and the request itself.

How this simulator reads what the document leaves open (``AlpOptions`` switches
the ones a client must cope with either way):

* GET requests sign ``{}``, as every example does, even when query filters are
  sent (``sign_query_params=True``: the query is signed instead). POST/DELETE
  sign their body's top-level fields; a JSON number is signed as its digits, a
  list or boolean as Python's ``str()`` of it (what ``urlencode`` does).
* Error bodies (the document's error section is missing): v1 order calls answer
  400 ``{"success": false, "error": msg}``; v1 authentication and throttling
  answer DRF-style ``{"detail": msg}`` (401 / 429); v3 answers ``{"error": msg}``
  with 400 or 401, the only statuses it documents. A reused ``client_order_id``
  is a 400 saying it "already exists".
* ``POST /api/v3/orders`` answers 201 with the bare order id. ``DELETE
  /api/v3/orders`` answers 202 when it cancelled something and 204 (no body) when
  no open order matched — including an order that already filled or was
  cancelled. Cancels take effect at once.
* v3 orders do NOT echo ``client_order_id`` and v3 account trades carry no trade
  id, order id or client id — exactly the document's examples
  (``echo_client_order_id=True`` / ``trade_order_ids=True`` add them). A trade's
  ``amount_unfilled`` and ``status`` are its order's, right after that trade.
* v3 order statuses: OPEN, PARTIALLY_FILLED, FILLED, CANCELLED (also for an
  IOC/FOK remainder), REJECTED. ``amount_cancelled`` is what was left when it
  was cancelled. Times are RFC 3339 in UTC with microseconds
  (``2022-10-06T12:28:06.801064Z``); ``start_time``/``end_time`` filters accept
  the documented ``2006-01-02T15:04:05Z07:00`` with or without a fraction, and
  apply to an order's creation time. The 30-day window rule is enforced.
* The documented limit of 2 private calls a second is off by default
  (``rate_limit_per_s=2`` turns it on): a call over the limit in a rolling second
  (less 50 ms of network jitter) answers 429 ``{"detail": "Request was
  throttled. Expected available in N seconds."}`` and does nothing. Every refusal
  (auth, throttling, bad parameters, the exchange's own) is logged in
  ``exchange.rejected``.
* ``minimum_order_size``/``maximum_order_size`` bound the amount in the base
  currency. v3 fee rates are fractions; fees are charged in the quote currency.
* Balances (v1 wallets, v3 balances): ``balance`` is the free amount and
  ``reserve`` what open orders lock; the total is their sum.
* v3 has no post-only or reduce-only flag; ``wallet_type`` must be SPOT (margin
  is not simulated). A MARKET order takes ``base_amount``, or ``quote_amount``
  converted at the touch.
* The public order book shows the background market (the account's own resting
  orders are not merged in). Public trades are the background market's prints
  plus the account's taker fills; ``type`` is the aggressor's side.
* v1 order details: ``amount`` is the unfilled amount, ``amount_original`` the
  size, ``amount_filled`` a string, ``status`` a string (the example's shapes);
  ``/orders/own/`` lists ``amount`` as the size and ``status`` as an integer.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from botkit.model import ZERO, Fill, Instrument, Liquidity, Order, OrderStatus, OrderType, Side
from botkit.model import TimeInForce as Tif
from botkit.simulator.backend import ExchangeBackend, SimReject
from botkit.venues.alp.auth import encode_json, sign
from botkit.venues.kit.errors import ParseError
from botkit.venues.kit.parsing import iso_to_ns, parse_decimal

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "AlpExchange",
    "AlpOptions",
    "make_exchange",
    "setup_routes",
]

DEFAULT_API_KEY = "alp-sim-key"
DEFAULT_API_SECRET = "alp-sim-secret"

S = OrderStatus
DAY_NS = 86_400 * 10**9
OTHER_ACCOUNT = 384360  # whose side of a public trade is not ours
JITTER_S = 0.05

STATUS_V3 = {
    S.OPEN: "OPEN",
    S.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    S.FILLED: "FILLED",
    S.CANCELED: "CANCELLED",
    S.EXPIRED: "CANCELLED",
    S.REJECTED: "REJECTED",
}
TYPES_V3 = {
    "LIMIT": OrderType.LIMIT,
    "MARKET": OrderType.MARKET,
    "STOP_LIMIT": OrderType.STOP_LIMIT,
    "STOP_MARKET": OrderType.STOP_MARKET,
}
TIFS = {"GTC": Tif.GTC, "IOC": Tif.IOC, "FOK": Tif.FOK}
TIMEFRAMES_S = {"5": 300, "15": 900, "30": 1800, "60": 3600, "240": 14400, "D": 86400}

# The venue's wording for each refusal of the simulated exchange.
REASONS = {
    "unknown_instrument": "Pair not found",
    "duplicate_client_id": "Order with this client_order_id already exists",
    "invalid_size": "Invalid amount",
    "invalid_price": "Invalid price",
    "below_min_size": "Amount is less than minimum order size",
    "above_max_size": "Amount is greater than maximum order size",
    "below_min_notional": "Order value is too small",
    "above_max_notional": "Order value is too big",
    "insufficient_funds": "Insufficient funds",
    "no_liquidity": "No liquidity to execute the order",
    "order_not_found": "Order not found or not active",
    "order_not_open": "Order not found or not active",
    "unsupported_order_type": "Order type is not supported",
    "post_only_not_allowed": "Invalid order parameters",
    "reduce_only_would_increase": "Invalid order parameters",
    "post_only_would_cross": "Order would take liquidity",
}


@dataclass(frozen=True)
class AlpOptions:
    """The protocol's knobs (``make_exchange(**options)``); defaults follow the document."""

    api_key: str = DEFAULT_API_KEY
    api_secret: str = DEFAULT_API_SECRET
    account_id: int = 25
    sign_query_params: bool = False
    echo_client_order_id: bool = False
    trade_order_ids: bool = False
    rate_limit_per_s: float | None = None  # the documented 2/s per account; None = off
    max_window_days: int = 30
    # --- v3 auth and the official reading (a stand-in until the simulator rewrite) ---
    v3_auth: str = "api-key"  # "api-key": the seed's headers; "jwt": the official flow
    jwt_ttl_s: float = 3600.0
    document: str = "seed"  # "official": the official shapes on shared v3 paths


@dataclass(frozen=True, slots=True)
class PublicTrade:
    id: int
    ts_ns: int
    pair: str
    price: Decimal
    amount: Decimal
    side: Side | None
    account_id: int


class AlpExchange(ExchangeBackend):
    """The simulated exchange plus what ALP's protocol needs to remember."""

    def __init__(self, options: AlpOptions, *args: Any, **kwargs: Any) -> None:
        super().__init__("alp", *args, **kwargs)
        self.alp = options
        self.last_nonce: dict[str, int] = {}
        self.recent_calls: deque[float] = deque()
        # Per trade id: the order's (unfilled amount, v3 status) right after the trade.
        self.after_trade: dict[str, tuple[Decimal, str]] = {}
        self.public_trades: deque[PublicTrade] = deque(maxlen=5000)
        self._public_ids = itertools.count(1)
        self.subscribers.append(self._record)

    def _record(self, kind: str, payload: Any) -> None:
        if kind == "fill":
            fill: Fill = payload
            order = self.by_client[fill.client_id]
            self.after_trade[fill.trade_id] = (order.size - order.filled, v3_status(order))
            if fill.liquidity is Liquidity.TAKER:
                self._public(
                    fill.ts_ns, fill.symbol, fill.price, fill.size, fill.side, self.alp.account_id
                )
        elif kind == "trade":
            self._public(
                payload.ts_ns,
                payload.symbol,
                Decimal(repr(payload.price)),
                Decimal(repr(payload.size)),
                payload.side,
                OTHER_ACCOUNT,
            )

    def _public(
        self, ts: int, pair: str, price: Decimal, amount: Decimal, side: Side | None, account: int
    ) -> None:
        self.public_trades.append(
            PublicTrade(next(self._public_ids), ts, pair, price, amount, side, account)
        )

    def order_by_id(self, oid: int) -> Order | None:
        return self.orders.get(f"{self.name}-{oid}")


def v3_status(order: Order) -> str:
    if order.status in (S.CANCELED, S.EXPIRED) and order.filled >= order.size:
        return "FILLED"
    return STATUS_V3.get(order.status, order.status.value.upper())


def _instruments() -> dict[str, Instrument]:
    def pair(
        base: str, quote: str, price_dp: int, amount_dp: int, min_size: str, max_size: str
    ) -> Instrument:
        return Instrument(
            venue="alp",
            symbol=f"{base}_{quote}",
            base=base,
            quote=quote,
            tick_size=Decimal(1).scaleb(-price_dp),
            lot_size=Decimal(1).scaleb(-amount_dp),
            min_size=Decimal(min_size),
            max_size=Decimal(max_size),
            maker_fee=Decimal("0.001"),
            taker_fee=Decimal("0.002"),
        )

    return {
        i.symbol: i
        for i in (
            pair("BTC", "USDT", 2, 4, "0.0001", "100"),
            pair("ETH", "USDT", 2, 3, "0.001", "1000"),
        )
    }


_EXCHANGE_OPTIONS = ("balances", "step_s", "mids", "flow_options")


def make_exchange(seed: int = 1, **options: Any) -> AlpExchange:
    """BTC_USDT and ETH_USDT with ALP-style rules; USDT, BTC and ETH to trade with.

    ``options``: any ``AlpOptions`` field, plus ``balances``, ``step_s``, ``mids``
    and ``flow_options`` for the simulated exchange.
    """
    names = {f.name for f in fields(AlpOptions)}
    unknown = set(options) - names - set(_EXCHANGE_OPTIONS)
    if unknown:
        raise TypeError(f"unknown alp simulator option(s): {', '.join(sorted(unknown))}")
    alp = AlpOptions(**{k: v for k, v in options.items() if k in names})
    balances = {k: Decimal(str(v)) for k, v in (options.get("balances") or {}).items()} or {
        "USDT": Decimal(5_000_000),
        "BTC": Decimal(100),
        "ETH": Decimal(1000),
    }
    return AlpExchange(
        alp,
        _instruments(),
        balances,
        seed=seed,
        step_s=options.get("step_s", 0.1),
        mids=options.get("mids") or {"BTC_USDT": 30000.0, "ETH_USDT": 2000.0},
        derivatives=False,
        flow_options=options.get("flow_options"),
    )


# --- wire formats ---------------------------------------------------------------------


def _us(ns: int) -> int:
    """Times go out with microseconds; compare on what went out."""
    return ns - ns % 1000


def _iso(ns: int) -> str:
    ns = _us(ns)
    dt = datetime.fromtimestamp(ns // 10**9, UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{(ns // 1000) % 10**6:06d}Z"


def _epoch_s(ns: int) -> Decimal:
    return Decimal(_us(ns) // 1000).scaleb(-6)


def _dec_float(x: float) -> Decimal:
    return Decimal(repr(x))


def _json(payload: object, status: int = 200) -> web.Response:
    return web.Response(text=encode_json(payload), status=status, content_type="application/json")


class Refused(Exception):
    """A refusal the protocol answers itself (bad parameters, auth, throttling)."""

    def __init__(self, message: str, status: int = 400, shape: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.shape = shape  # "detail" forces the DRF shape


@dataclass
class Call:
    method: str
    query: Mapping[str, str]
    body: dict[str, Any]
    match: Mapping[str, str]


def _number(value: object, name: str) -> Decimal:
    try:
        return parse_decimal(value, "alp", "request", name)
    except ParseError:
        raise Refused(f"{name}: a valid number is required") from None


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes")


def _int(value: object, name: str, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        return int(str(value))
    except ValueError:
        raise Refused(f"{name}: a valid integer is required") from None


def _side(value: object, name: str) -> Side:
    text = str(value or "").strip().lower()
    if text not in ("buy", "sell"):
        raise Refused(f"{name}: must be rather BUY or SELL")
    return Side(text)


# --- the protocol ---------------------------------------------------------------------

Action = Callable[[Call], web.Response]


class AlpProtocol:
    def __init__(self, exchange: ExchangeBackend) -> None:
        if not isinstance(exchange, AlpExchange):
            raise TypeError("ALP routes need the exchange make_exchange() builds")
        self.ex = exchange
        self.opt = exchange.alp

    # ----- plumbing ----------------------------------------------------------------------

    def _error(self, version: int, message: str, status: int, shape: str = "") -> web.Response:
        if shape == "detail" or (version == 1 and status in (401, 403, 429)):
            return _json({"detail": message}, status)
        if version == 1:
            return _json({"success": False, "error": message}, status)
        if self.opt.document == "official":
            return _json({"code": str(status), "message": message}, status)
        return _json({"error": message}, status)

    def _refuse(self, what: str, version: int, err: Refused) -> web.Response:
        self.ex.reject(what, "alp_refused", err.message, err.status)
        return self._error(version, err.message, err.status, err.shape)

    def _sim_refusal(self, version: int, err: SimReject) -> web.Response:
        # ExchangeBackend.reject already logged it.
        phrase = REASONS.get(err.code, "Invalid request")
        status = 404 if err.code == "order_not_found" and version == 1 else 400
        return self._error(version, f"{phrase}: {err.message}", status)

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if request.method in ("GET", "HEAD"):
            return {}
        text = await request.text()
        if not text.strip():
            return {}
        if request.content_type == "application/x-www-form-urlencoded":
            return dict(parse_qsl(text, keep_blank_values=True))
        try:
            body = json.loads(text, parse_float=Decimal)
        except ValueError:
            raise Refused("JSON parse error") from None
        if not isinstance(body, dict):
            raise Refused("a JSON object is expected")
        return body

    def _authenticate(self, request: web.Request, call: Call, version: int, raw: bytes) -> None:
        if version == 3:
            v3_authenticate(self.opt, request, raw)
            return
        key = request.headers.get("X-KEY")
        sig = request.headers.get("X-SIGN")
        raw_nonce = request.headers.get("X-NONCE")
        if not key or not sig or not raw_nonce:
            raise Refused("Authentication credentials were not provided.", 401)
        if not hmac.compare_digest(key.encode(), self.opt.api_key.encode()):
            raise Refused("Invalid API key.", 401)
        if call.method in ("GET", "HEAD"):
            signed: Mapping[str, Any] = dict(call.query) if self.opt.sign_query_params else {}
        else:
            signed = call.body
        expected = sign(self.opt.api_key, self.opt.api_secret, signed)
        if not hmac.compare_digest(expected.encode(), sig.strip().lower().encode()):
            raise Refused("Invalid signature.", 401)
        try:
            nonce = int(raw_nonce)
        except ValueError:
            raise Refused("Invalid nonce: an integer is required.", 401) from None
        last = self.ex.last_nonce.get(key, 0)
        if nonce <= last:
            raise Refused(f"Invalid nonce: must be greater than {last}.", 401)
        self.ex.last_nonce[key] = nonce

    def _throttle(self) -> None:
        limit = self.opt.rate_limit_per_s
        if not limit:
            return
        now = time.monotonic()
        calls = self.ex.recent_calls
        # A call counts for one second, less some network jitter: a client that spaces
        # its calls exactly 1/limit apart must never be throttled.
        while calls and calls[0] <= now - 1.0 + JITTER_S:
            calls.popleft()
        if len(calls) >= limit:
            wait = max(1, round(calls[0] + 1.0 - now + 0.5))
            raise Refused(
                f"Request was throttled. Expected available in {wait} seconds.", 429, "detail"
            )
        calls.append(now)

    def private(
        self, version: int, what: str, action: Action
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            try:
                raw = await request.read()
                call = Call(
                    request.method, request.query, await self._body(request), request.match_info
                )
                self._authenticate(request, call, version, raw)
                self._throttle()
            except Refused as err:
                label = {401: "auth", 429: "throttle"}.get(err.status, what)
                return self._refuse(label, version, err)
            kind, after = self.ex.faults.next_call()
            if kind == "stall":
                await asyncio.sleep(self.ex.faults.stall_s)
            if kind == "fail" and not after:
                return self._failure()
            response = self._act(version, what, action, call)
            return self._failure() if kind == "fail" else response

        return handler

    def public(
        self, version: int, what: str, action: Action
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            call = Call(request.method, request.query, {}, request.match_info)
            return self._act(version, what, action, call)

        return handler

    def _act(self, version: int, what: str, action: Action, call: Call) -> web.Response:
        try:
            return action(call)
        except SimReject as err:
            return self._sim_refusal(version, err)
        except Refused as err:
            return self._refuse(what, version, err)

    def _failure(self) -> web.Response:
        status = self.ex.faults.rng.choice((500, 502, 503))
        text = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
        return web.Response(text=f"{status} {text[status]}", status=status)

    # ----- helpers ------------------------------------------------------------------------

    def _pair(self, name: object) -> Instrument:
        inst = self.ex.instruments.get(str(name or ""))
        if inst is None:
            raise Refused(f"Pair not found: {name!r}", 404 if not name else 400)
        return inst

    def _window(self, query: Mapping[str, str]) -> tuple[int, int]:
        def parse(name: str) -> int | None:
            text = query.get(name)
            if not text:
                return None
            try:
                return iso_to_ns(text, "alp", "query", name)
            except ParseError:
                raise Refused(f"{name}: format must be 2006-01-02T15:04:05Z07:00") from None

        span = self.opt.max_window_days * DAY_NS
        start, end = parse("start_time"), parse("end_time")
        if start is None and end is None:
            return time.time_ns() - span, 1 << 62
        if start is None:
            assert end is not None
            return end - span, end
        if end is None:
            return start, start + span
        if end - start > span:
            raise Refused(
                f"start_time and end_time interval must not exceed {self.opt.max_window_days} days"
            )
        return start, end

    def _oid(self, order: Order) -> int:
        return int((order.venue_order_id or "0").rsplit("-", 1)[-1])

    @staticmethod
    def _tid(trade_id: str) -> int:
        return int(trade_id.rsplit("t", 1)[-1])

    def _locked(self) -> dict[str, Decimal]:
        return {a: total - self.ex.available(a) for a, total in self.ex.balances.items()}

    # ----- public v1 ------------------------------------------------------------------------

    def currencies(self, call: Call) -> web.Response:
        signs = {"BTC": "Ƀ", "ETH": "Ξ", "USDT": "₮"}
        names = sorted({c for i in self.ex.instruments.values() for c in (i.base, i.quote)})
        return _json([{"sign": signs.get(c, c), "short_name": c} for c in names])

    def pairs(self, call: Call) -> web.Response:
        c1, c2 = call.query.get("currency1"), call.query.get("currency2")
        out = []
        for inst in self.ex.instruments.values():
            if (c1 and inst.base != c1) or (c2 and inst.quote != c2):
                continue
            out.append(
                {
                    "name": inst.symbol,
                    "currency1": inst.base,
                    "currency2": inst.quote,
                    "price_precision": -inst.tick_size.as_tuple().exponent,  # type: ignore[operator]
                    "amount_precision": -inst.lot_size.as_tuple().exponent,  # type: ignore[operator]
                    "maximum_order_size": inst.max_size,
                    "minimum_order_size": inst.min_size,
                    "liquidity_type": 10,
                }
            )
        return _json(out)

    def ticker(self, call: Call) -> web.Response:
        only = call.query.get("pair")
        now = time.time_ns()
        out = []
        for name in self.ex.instruments:
            if only and name != only:
                continue
            book = self.ex.books[name]
            day = [t for t in self._public_trades(name) if t.ts_ns >= now - DAY_NS]
            last = day[-1].price if day else ZERO
            out.append(
                {
                    "timestamp": _epoch_s(now),
                    "pair": name,
                    "last": last,
                    "diff": last - day[0].price if day else ZERO,
                    "vol": sum((t.amount for t in day), ZERO),
                    "high": max((t.price for t in day), default=ZERO),
                    "low": min((t.price for t in day), default=ZERO),
                    "buy": _dec_float(book.best_bid) if book.best_bid is not None else ZERO,
                    "sell": _dec_float(book.best_ask) if book.best_ask is not None else ZERO,
                }
            )
        return _json(out)

    def orderbook(self, call: Call) -> web.Response:
        inst = self._pair(call.match.get("pair"))
        book = self.ex.books[inst.symbol]
        q = call.query
        limit_sell = _int(q.get("limit_sell") or q.get("limit_asks"), "limit_sell", 0) or None
        limit_buy = _int(q.get("limit_buy") or q.get("limit_bids"), "limit_buy", 0) or None
        return _json(
            {
                "sell": [
                    {"price": _dec_float(p), "amount": _dec_float(s)}
                    for p, s in book.ask_levels(limit_sell)
                ],
                "buy": [
                    {"price": _dec_float(p), "amount": _dec_float(s)}
                    for p, s in book.bid_levels(limit_buy)
                ],
            }
        )

    def _public_trades(self, pair: str | None) -> list[PublicTrade]:
        return [t for t in self.ex.public_trades if pair is None or t.pair == pair]

    @staticmethod
    def _page(items: list[Any], query: Mapping[str, str], key: Callable[[Any], int]) -> list[Any]:
        ordering = query.get("ordering", "-id")
        if ordering not in ("id", "-id"):
            raise Refused("ordering: must be id or -id")
        items = sorted(items, key=key, reverse=ordering == "-id")
        offset = _int(query.get("offset"), "offset", 0)
        limit = _int(query.get("limit"), "limit", 100)
        return items[offset : offset + limit]

    def exchanges(self, call: Call) -> web.Response:
        trades = self._page(
            self._public_trades(call.query.get("pair") or None), call.query, lambda t: t.id
        )
        return _json(
            [
                {
                    "id": t.id,
                    "account_id": t.account_id,
                    "price": t.price,
                    "pair": t.pair,
                    "type": t.side.value if t.side is not None else "buy",
                    "timestamp": _epoch_s(t.ts_ns),
                    "amount": t.amount,
                }
                for t in trades
            ]
        )

    def chart(self, call: Call) -> web.Response:
        inst = self._pair(call.match.get("pair"))
        frame = TIMEFRAMES_S.get(call.match.get("timeframe", ""))
        if frame is None:
            raise Refused("timeframe: one of 5, 15, 30, 60, 240, D")
        since = _int(call.query.get("since"), "since", 0)
        until = _int(call.query.get("until"), "until", 1 << 40)
        bars: dict[int, dict[str, Any]] = {}
        for t in self._public_trades(inst.symbol):
            sec = t.ts_ns // 10**9
            if not since <= sec <= until:
                continue
            start = sec - sec % frame
            bar = bars.get(start)
            if bar is None:
                bars[start] = {
                    "volume": t.amount,
                    "high": t.price,
                    "low": t.price,
                    "close": t.price,
                    "time": start,
                    "open": t.price,
                }
            else:
                bar["volume"] += t.amount
                bar["high"] = max(bar["high"], t.price)
                bar["low"] = min(bar["low"], t.price)
                bar["close"] = t.price
        limit = _int(call.query.get("limit"), "limit", 720)
        return _json([bars[k] for k in sorted(bars)][-limit:])

    # ----- v1 private -------------------------------------------------------------------

    def wallets(self, call: Call) -> web.Response:
        only = call.query.get("currency_id")
        locked = self._locked()
        return _json(
            [
                {"currency": c, "balance": total - locked[c], "reserve": locked[c]}
                for c, total in sorted(self.ex.balances.items())
                if not only or c == only
            ]
        )

    @staticmethod
    def _v1_status(order: Order) -> int:
        if order.is_open:
            return 1
        return 3 if order.status is S.FILLED or order.filled >= order.size else 2

    def orders_own(self, call: Call) -> web.Response:
        q = call.query
        side = _side(q["type"], "type") if q.get("type") else None
        pair = q.get("pair")
        status = _int(q.get("status"), "status", 0)
        out = []
        for order in sorted(self.ex.orders.values(), key=self._oid, reverse=True):
            if (
                (side and order.side is not side)
                or (pair and order.symbol != pair)
                or (status and self._v1_status(order) != status)
            ):
                continue
            out.append(
                {
                    "amount": order.size,
                    "pair": order.symbol,
                    "type": order.side.value,
                    "status": self._v1_status(order),
                    "price": order.price or ZERO,
                    "id": self._oid(order),
                }
            )
        return _json(out[: _int(q.get("limit"), "limit", 2000)])

    def order_detail(self, call: Call) -> web.Response:
        oid = _int(call.match.get("pk"), "pk", 0)
        order = self.ex.order_by_id(oid)
        if order is None:
            return _json({"detail": "Not found."}, 404)
        return _json(
            {
                "id": oid,
                "date": _us(order.created_ns) // 10**6,
                "pair": order.symbol,
                "type": order.side.value,
                "price": order.price or ZERO,
                "amount": order.size - order.filled,
                "amount_filled": format(order.filled, "f"),
                "amount_original": order.size,
                "status": str(self._v1_status(order)),
            }
        )

    def order_create_v1(self, call: Call) -> web.Response:
        b = call.body
        for name in ("type", "pair", "amount", "price"):
            if b.get(name) in (None, ""):
                raise Refused(f"{name}: This field is required.")
        inst = self._pair(b["pair"])
        before = len(self.ex.trades)
        order = self.ex.place(
            inst.symbol,
            _side(b["type"], "type"),
            OrderType.LIMIT,
            _number(b["amount"], "amount"),
            _number(b["price"], "price"),
        )
        if order.status is S.REJECTED:
            return self._error(
                1, f"{REASONS.get(order.code or '', 'Rejected')}: {order.reason}", 400
            )
        own = [f for f in self.ex.trades[before:] if f.client_id == order.client_id]
        return _json(
            {
                "success": True,
                "type": order.side.value,
                "date": _epoch_s(order.created_ns),
                "oid": self._oid(order),
                "price": order.price,
                "amount": order.size - order.filled,
                "trades": [
                    {
                        "type": f.side.opposite.value,
                        "price": f.price,
                        "o_id": 0,
                        "amount": f.size,
                        "tid": self._tid(f.trade_id),
                    }
                    for f in own
                ],
            }
        )

    def order_cancel_v1(self, call: Call) -> web.Response:
        oid = _int(call.body.get("order"), "order", 0)
        order = self.ex.order_by_id(oid)
        if order is None or not order.is_open:
            raise Refused(REASONS["order_not_open"])
        self.ex.cancel(order.venue_order_id)
        return _json({"order": oid})

    def exchanges_own(self, call: Call) -> web.Response:
        q = call.query
        side = _side(q["type"], "type") if q.get("type") else None
        pair = q.get("pair")
        fills = [
            f
            for f in self.ex.trades
            if (not side or f.side is side) and (not pair or f.symbol == pair)
        ]
        page = self._page(fills, q, lambda f: self._tid(f.trade_id))
        return _json(
            [
                {
                    "id": self._tid(f.trade_id),
                    "account_id": self.opt.account_id,
                    "price": f.price,
                    "pair": f.symbol,
                    "type": f.side.value,
                    "timestamp": _epoch_s(f.ts_ns),
                    "amount": f.size,
                }
                for f in page
            ]
        )

    def empty_list(self, call: Call) -> web.Response:
        return _json([])

    # ----- v3 -------------------------------------------------------------------------------

    def feeinfo(self, call: Call) -> web.Response:
        return _json(
            [
                {
                    "name": "simulated account",
                    "account_id": self.opt.account_id,
                    "is_active": True,
                    "currency": inst.quote,
                    "pair": inst.symbol,
                    "taker_fee_rate": inst.taker_fee,
                    "maker_fee_rate": inst.maker_fee,
                    "fee_currency": inst.quote,
                    "priority": 1,
                }
                for inst in self.ex.instruments.values()
            ]
        )

    def accounts(self, call: Call) -> web.Response:
        return _json(
            [
                {
                    "id": self.opt.account_id,
                    "name": "simulated account",
                    "email": "sim@example.invalid",
                    "id_parent": 0,
                }
            ]
        )

    def balances(self, call: Call) -> web.Response:
        locked = self._locked()
        now = _iso(time.time_ns())
        return _json(
            [
                {
                    "account_id": self.opt.account_id,
                    "balance": total - locked[c],
                    "reserve": locked[c],
                    "currency": c,
                    "pair": "",
                    "wallet_type": "SPOT",
                    "last_update_at": now,
                }
                for c, total in sorted(self.ex.balances.items())
            ]
        )

    def _order_v3(self, order: Order) -> dict[str, Any]:
        closed = not order.is_open
        item: dict[str, Any] = {
            "id": self._oid(order),
            "account_id": self.opt.account_id,
            "pair": order.symbol,
            "wallet_type": "SPOT",
            "side": order.side.value.upper(),
            "type": order.type.value.upper(),
            "tif": order.tif.value.upper(),
            "price": order.price or ZERO,
            "stop_price": order.stop_price or ZERO,
            "amount": order.size,
            "amount_filled": order.filled,
            "amount_cancelled": order.size - order.filled
            if order.status in (S.CANCELED, S.EXPIRED)
            else ZERO,
            "status": v3_status(order),
            "date": _iso(order.created_ns),
            "updated_at": _iso(order.updated_ns or order.created_ns),
            "open_at": _iso(order.created_ns),
            "expire_after": "",
            "done_at": _iso(order.updated_ns) if closed else "",
        }
        if self.opt.echo_client_order_id and not order.client_id.startswith("sim-c"):
            item["client_order_id"] = order.client_id
        return item

    def orders_v3(self, call: Call) -> web.Response:
        q = call.query
        start, end = self._window(q)
        pair = q.get("pair")
        side = _side(q["side"], "side") if q.get("side") else None
        open_only = _flag(q.get("open_only", ""))
        out = [
            self._order_v3(o)
            for o in sorted(self.ex.orders.values(), key=self._oid)
            if start <= _us(o.created_ns) < end
            and (not pair or o.symbol == pair)
            and (side is None or o.side is side)
            and (not open_only or o.is_open)
        ]
        return _json(out)

    def create_v3(self, call: Call) -> web.Response:
        b = call.body
        for name in ("pair", "order_side", "order_type"):
            if b.get(name) in (None, ""):
                raise Refused(f"{name} is required")
        wallet = str(b.get("wallet_type") or "SPOT").upper()
        if wallet != "SPOT":
            raise Refused(f"wallet_type {wallet} is not available")
        account = b.get("account_id")
        if account not in (None, "", 0) and str(account) != str(self.opt.account_id):
            raise Refused(f"account {account} does not belong to this key")
        inst = self._pair(b["pair"])
        side = _side(b["order_side"], "order_side")
        otype = TYPES_V3.get(str(b["order_type"]).upper())
        if otype is None:
            raise Refused(f"order_type {b['order_type']!r} is not valid")
        tif = TIFS.get(str(b.get("tif") or "GTC").upper())
        if tif is None:
            raise Refused(f"tif {b.get('tif')!r} is not valid")
        price = _number(b["limit_price"], "limit_price") if b.get("limit_price") else None
        stop = _number(b["stop_price"], "stop_price") if b.get("stop_price") else None
        size = _number(b["base_amount"], "base_amount") if b.get("base_amount") else None
        if otype is OrderType.MARKET:
            price = None
            quote = _number(b["quote_amount"], "quote_amount") if b.get("quote_amount") else None
            if size is None and quote is not None:
                size = self._size_for(inst, side, quote)
        elif b.get("quote_amount"):
            raise Refused("quote_amount is allowed for market orders only")
        if size is None:
            raise Refused("base_amount is required")
        cid = str(b.get("client_order_id") or "") or None
        order = self.ex.place(
            inst.symbol, side, otype, size, price, client_id=cid, tif=tif, stop_price=stop
        )
        if order.status is S.REJECTED:
            return self._error(
                3, f"{REASONS.get(order.code or '', 'Rejected')}: {order.reason}", 400
            )
        return web.Response(text=str(self._oid(order)), status=201, content_type="application/json")

    def _size_for(self, inst: Instrument, side: Side, quote: Decimal) -> Decimal:
        book = self.ex.books[inst.symbol]
        ref = book.best_ask if side is Side.BUY else book.best_bid
        if ref is None:
            raise Refused(REASONS["no_liquidity"])
        lots = (quote / _dec_float(ref) / inst.lot_size).to_integral_value(rounding=ROUND_FLOOR)
        return lots * inst.lot_size

    def cancel_v3(self, call: Call) -> web.Response:
        b = call.body
        ids = b.get("order_ids") or []
        if not isinstance(ids, list):
            raise Refused("order_ids must be a list")
        if _flag(b.get("all", False)):
            pair = str(b.get("pair") or "") or None
            if pair is not None:
                self._pair(pair)
            done = self.ex.cancel_all(pair)
        elif ids:
            done = []
            for raw in ids:
                oid = _int(raw, "order_ids", 0)
                order = self.ex.order_by_id(oid)
                if order is not None and order.is_open:
                    done.append(self.ex.cancel(order.venue_order_id))
        else:
            raise Refused("rather order_ids or all=true must be specified")
        return web.Response(status=202 if done else 204)

    def account_trades(self, call: Call) -> web.Response:
        if self.opt.document == "official":
            return official_account_trades(self, call)
        q = call.query
        start, end = self._window(q)
        pair = q.get("pair")
        side = _side(q["side"], "side") if q.get("side") else None
        after = self.ex.after_trade
        out = []
        for f in self.ex.trades:
            if (
                not start <= _us(f.ts_ns) < end
                or (pair and f.symbol != pair)
                or (side is not None and f.side is not side)
            ):
                continue
            order = self.ex.by_client[f.client_id]
            unfilled, status = after.get(f.trade_id, (order.size - order.filled, "FILLED"))
            price_x_size = f.price * f.size
            item: dict[str, Any] = {
                "date": _iso(f.ts_ns),
                "status": status,
                "side": f.side.value.upper(),
                "type": order.type.value.upper(),
                "price": f.price,
                "amount": f.size,
                "amount_unfilled": unfilled,
                "fee_rate": (f.fee / price_x_size) if price_x_size else ZERO,
                "fee_amount": f.fee,
                "is_maker": f.liquidity is Liquidity.MAKER,
                "account_id": self.opt.account_id,
                "currency": self.ex.instruments[f.symbol].quote,
                "pair": f.symbol,
                "fee_currency": f.fee_asset,
                "wallet_type": "SPOT",
            }
            if self.opt.trade_order_ids:
                item["id"] = self._tid(f.trade_id)
                item["order_id"] = self._oid(order)
                if not order.client_id.startswith("sim-c"):
                    item["client_order_id"] = order.client_id
            out.append(item)
        return _json(out)


def setup_routes(app: web.Application, exchange: ExchangeBackend) -> None:
    p = AlpProtocol(exchange)
    r = app.router
    # public
    r.add_get("/api/v1/currencies/", p.public(1, "currencies", p.currencies))
    r.add_get("/api/v1/pairs/", p.public(1, "pairs", p.pairs))
    r.add_get("/api/v1/ticker/", p.public(1, "ticker", p.ticker))
    r.add_get("/api/v1/orderbook/{pair}", p.public(1, "orderbook", p.orderbook))
    r.add_get("/api/v1/exchanges/", p.public(1, "exchanges", p.exchanges))
    r.add_get("/api/charts/{pair}/{timeframe}/chart", p.public(1, "chart", p.chart))
    detail_private = p.private(1, "order", p.order_detail)
    detail_public = p.public(1, "order", p.order_detail)

    async def order_detail(request: web.Request) -> web.Response:
        # The document's example fetches it without auth headers; with them, they must hold.
        if "X-KEY" in request.headers:
            return await detail_private(request)
        return await detail_public(request)

    r.add_get("/api/v1/order/{pk}/", order_detail)
    # v1 private
    r.add_get("/api/v1/wallets/", p.private(1, "wallets", p.wallets))
    r.add_get("/api/v1/orders/own/", p.private(1, "orders", p.orders_own))
    r.add_post("/api/v1/order/", p.private(1, "place", p.order_create_v1))
    r.add_post("/api/v1/order-cancel/", p.private(1, "cancel", p.order_cancel_v1))
    r.add_get("/api/v1/exchanges/own/", p.private(1, "trades", p.exchanges_own))
    r.add_get("/api/v1/deposits/", p.private(1, "deposits", p.empty_list))
    r.add_get("/api/v1/withdraws/", p.private(1, "withdraws", p.empty_list))
    # v3
    r.add_get("/api/v3/feeinfo", p.private(3, "feeinfo", p.feeinfo))
    r.add_get("/api/v3/accounts", p.private(3, "accounts", p.accounts))
    r.add_get("/api/v3/accounts/balances", p.private(3, "balances", p.balances))
    r.add_get("/api/v3/accounts/trades", p.private(3, "trades", p.account_trades))
    r.add_get("/api/v3/orders", p.private(3, "orders", p.orders_v3))
    r.add_post("/api/v3/orders", p.private(3, "place", p.create_v3))
    r.add_delete("/api/v3/orders", p.private(3, "cancel", p.cancel_v3))
    setup_official_routes(app, p)


# =====================================================================================
# v3 authentication and the official reading — a stand-in, written from the documents,
# until the simulator rewrite replaces this module. Nothing here comes from the adapter.
#
# * Seed (document 001, "API v3 / Auth": "include valid api-secret and api-key"):
#   every v3 call carries headers ``api-key`` and ``api-secret`` (``v3_auth="api-key"``).
# * Official (alp-api-docs.md, "Authorization"; ``v3_auth="jwt"``): ``POST
#   /api/v3/auth`` with ``{"api_key", "api_secret"}`` answers a JWT as a JSON string
#   (HS256, ``exp`` = now + ``jwt_ttl_s``); every other v3 call needs ``Authorization:
#   Bearer <jwt>`` before its ``exp``; a POST/DELETE with a body needs ``X-SIGN`` = hex
#   HMAC-SHA256 of the body's bytes keyed with the API secret.
# * ``document="official"``: errors are ``{"code", "message"}``; account trades have
#   the official fields (``id``, ``order_id``, ``fee``, float ``timestamp``) with
#   unix-second ``start_time``/``end_time`` and ``limit`` (<= 100, newest first); and
#   the official paths are served: ``/api/v3/pairs``, ``/orderbook``, ``/trades``,
#   ``/accounts/accounts``, ``/accounts/feeinfo``, ``/accounts/order`` and
#   ``POST|DELETE /api/v3/trading/order`` (decimal strings, ``post_only``, ``[id]``
#   reply, cancel by exactly one of order_ids/all/pair).
# =====================================================================================

_JWT_KEY = b"alp-sim-jwt-signing-key"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _jwt_sign(header_payload: str) -> str:
    return _b64url(hmac.new(_JWT_KEY, header_payload.encode(), hashlib.sha256).digest())


def make_jwt(api_key: str, ttl_s: float, now: float | None = None) -> str:
    now = time.time() if now is None else now
    head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64url(json.dumps({"sub": api_key, "exp": int(now + ttl_s)}).encode())
    return f"{head}.{body}.{_jwt_sign(f'{head}.{body}')}"


def _jwt_valid(token: str, api_key: str) -> bool:
    parts = token.split(".")
    if len(parts) != 3 or not hmac.compare_digest(parts[2], _jwt_sign(f"{parts[0]}.{parts[1]}")):
        return False
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return False
    return claims.get("sub") == api_key and time.time() < claims.get("exp", 0)


def v3_authenticate(opt: AlpOptions, request: web.Request, raw: bytes) -> None:
    if opt.v3_auth == "api-key":
        key, secret = request.headers.get("api-key"), request.headers.get("api-secret")
        if not key or not secret:
            raise Refused("api-key and api-secret are required", 401)
        if not (
            hmac.compare_digest(key.encode(), opt.api_key.encode())
            and hmac.compare_digest(secret.encode(), opt.api_secret.encode())
        ):
            raise Refused("invalid api-key or api-secret", 401)
        return
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or not _jwt_valid(auth[7:].strip(), opt.api_key):
        raise Refused("invalid or expired token", 401)
    if request.method in ("POST", "DELETE") and raw:
        expected = hmac.new(opt.api_secret.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-SIGN", "").strip().lower()):
            raise Refused("invalid X-SIGN", 401)


def official_account_trades(p: AlpProtocol, call: Call) -> web.Response:
    q = call.query
    start = _int(q.get("start_time"), "start_time", 0) * 10**9
    end = _int(q.get("end_time"), "end_time", 1 << 40) * 10**9
    limit = _int(q.get("limit"), "limit", 100)
    if not 0 < limit <= 100:
        raise Refused("limit: must be 1..100")
    pair = q.get("pair")
    side = _side(q["side"], "side") if q.get("side") else None
    rows = [
        f
        for f in p.ex.trades
        if start <= _us(f.ts_ns) < end
        and (not pair or f.symbol == pair)
        and (side is None or f.side is side)
    ]
    rows.sort(key=lambda f: (f.ts_ns, p._tid(f.trade_id)), reverse=True)
    return _json(
        [
            {
                "id": p._tid(f.trade_id),
                "pair": f.symbol,
                "side": f.side.value.upper(),
                "price": f.price,
                "amount": f.size,
                "fee": f.fee,
                "timestamp": _epoch_s(f.ts_ns),
                "order_id": p._oid(p.ex.by_client[f.client_id]),
            }
            for f in rows[:limit]
        ]
    )


def _official_order(p: AlpProtocol, order: Order) -> dict[str, Any]:
    closed = not order.is_open
    return {
        "id": p._oid(order),
        "account_id": p.opt.account_id,
        "pair": order.symbol,
        "amount": order.size,
        "price": order.price or ZERO,
        "side": "BID" if order.side is Side.BUY else "ASK",
        "status": v3_status(order),
        "type": order.type.value.upper(),
        "wallet_type": "SPOT",
        "amount_canceled": order.size - order.filled if order.status is S.CANCELED else ZERO,
        "amount_filled": order.filled,
        "date": _iso(order.created_ns),
        "open_at": _iso(order.created_ns),
        "tif": order.tif.value.upper(),
        "updated_at": _iso(order.updated_ns or order.created_ns),
        "done_at": _iso(order.updated_ns) if closed else None,
        "expire_after": None,
        "stop_price": None,
    }


def _decimal_string(body: Mapping[str, Any], name: str) -> Decimal | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refused(f"{name}: a decimal string is required")
    return _number(value, name)


def setup_official_routes(app: web.Application, p: AlpProtocol) -> None:
    async def auth(request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text())
            ok = (
                isinstance(body, dict)
                and hmac.compare_digest(str(body.get("api_key")), p.opt.api_key)
                and hmac.compare_digest(str(body.get("api_secret")), p.opt.api_secret)
            )
        except ValueError:
            ok = False
        if not ok:
            p.ex.reject("auth", "alp_refused", "invalid api key or secret", 401)
            return _json({"code": "401", "message": "invalid api key or secret"}, 401)
        return _json(make_jwt(p.opt.api_key, p.opt.jwt_ttl_s))

    def pairs(call: Call) -> web.Response:
        out = []
        for inst in p.ex.instruments.values():
            out.append(
                {
                    "name": inst.symbol,
                    "currency1": inst.base,
                    "currency2": inst.quote,
                    "price_precision": -inst.tick_size.as_tuple().exponent,  # type: ignore[operator]
                    "amount_precision": -inst.lot_size.as_tuple().exponent,  # type: ignore[operator]
                    "minimum_order_size": inst.min_size,
                    "maximum_order_size": inst.max_size,
                    "minimum_order_value": inst.min_notional or ZERO,
                }
            )
        return _json(out)

    def orderbook(call: Call) -> web.Response:
        return p.orderbook(Call(call.method, call.query, {}, {"pair": call.query.get("pair", "")}))

    def trades(call: Call) -> web.Response:
        query = {**call.query, "ordering": "-id"}
        return p.exchanges(Call(call.method, query, {}, {}))

    def accounts(call: Call) -> web.Response:
        return _json([{"id": p.opt.account_id, "email": "sim@example.invalid", "name": "sim"}])

    def feeinfo(call: Call) -> web.Response:
        inst = next(iter(p.ex.instruments.values()))
        return _json(
            [
                {
                    "account_id": p.opt.account_id,
                    "active_once": [None, None],
                    "taker_fee_rate": inst.taker_fee,
                    "maker_fee_rate": inst.maker_fee,
                    "fee_currency": None,
                    "priority": 1,
                    "currency": None,
                    "pair": None,
                    "is_active": True,
                }
            ]
        )

    def orders(call: Call) -> web.Response:
        pair, open_only = call.query.get("pair"), _flag(call.query.get("open_only", ""))
        listed = [
            o
            for o in sorted(p.ex.orders.values(), key=p._oid, reverse=True)
            if (not pair or o.symbol == pair) and (not open_only or o.is_open)
        ]
        return _json([_official_order(p, o) for o in listed[:100]])

    def place(call: Call) -> web.Response:
        b = call.body
        for name in ("pair", "order_type", "order_side", "wallet_type"):
            if b.get(name) in (None, ""):
                raise Refused(f"{name} is required")
        if str(b["wallet_type"]).upper() != "SPOT":
            raise Refused(f"wallet_type {b['wallet_type']} is not available")
        inst = p._pair(b["pair"])
        side_text = str(b["order_side"]).upper()
        sides = {"BUY": Side.BUY, "BID": Side.BUY, "SELL": Side.SELL, "ASK": Side.SELL}
        if side_text not in sides:
            raise Refused("order_side: BUY or SELL")
        otype = TYPES_V3.get(str(b["order_type"]).upper())
        if otype is None:
            raise Refused(f"order_type {b['order_type']!r} is not valid")
        tif = TIFS.get(str(b.get("tif") or "GTC").upper())
        if tif is None:
            raise Refused(f"tif {b.get('tif')!r} is not valid")
        post_only = b.get("post_only", False)
        if not isinstance(post_only, bool) or (post_only and otype is not OrderType.LIMIT):
            raise Refused("post_only: a boolean, for limit orders only")
        size = _decimal_string(b, "base_amount")
        price = _decimal_string(b, "limit_price") if otype is OrderType.LIMIT else None
        if size is None:
            raise Refused("base_amount is required")
        order = p.ex.place(
            inst.symbol,
            sides[side_text],
            otype,
            size,
            price,
            client_id=str(b.get("client_order_id") or "") or None,
            tif=tif,
            post_only=post_only,
        )
        if order.status is S.REJECTED:
            return p._error(3, f"{REASONS.get(order.code or '', 'Rejected')}: {order.reason}", 400)
        return _json([p._oid(order)])

    def cancel(call: Call) -> web.Response:
        b = call.body
        given = [k for k in ("order_ids", "all", "pair") if b.get(k) not in (None, False, "")]
        if len(given) != 1:
            raise Refused("exactly one of order_ids, all or pair must be specified")
        if given[0] == "order_ids":
            ids = b["order_ids"]
            if not isinstance(ids, list):
                raise Refused("order_ids must be a list")
            out = {}
            for raw in ids:
                order = p.ex.order_by_id(_int(raw, "order_ids", 0))
                if order is None or not order.is_open:
                    out[str(raw)] = "order not found"
                else:
                    p.ex.cancel(order.venue_order_id)
                    out[str(raw)] = "CANCELLED"
            return _json(out)
        pair = str(b["pair"]) if given[0] == "pair" else None
        if pair is not None:
            p._pair(pair)
        p.ex.cancel_all(pair)
        return web.Response(status=202)

    r = app.router
    r.add_post("/api/v3/auth", auth)
    r.add_get("/api/v3/pairs", p.public(3, "pairs", pairs))
    r.add_get("/api/v3/orderbook", p.public(3, "orderbook", orderbook))
    r.add_get("/api/v3/trades", p.public(3, "trades", trades))
    r.add_get("/api/v3/accounts/accounts", p.private(3, "accounts", accounts))
    r.add_get("/api/v3/accounts/feeinfo", p.private(3, "feeinfo", feeinfo))
    r.add_get("/api/v3/accounts/order", p.private(3, "orders", orders))
    r.add_post("/api/v3/trading/order", p.private(3, "place", place))
    r.add_delete("/api/v3/trading/order", p.private(3, "cancel", cancel))
