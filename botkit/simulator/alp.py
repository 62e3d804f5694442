"""ALP.COM's own HTTP protocol over the simulated exchange.

Two documents describe it: the seed (001: API v1 with HMAC auth, and an early
"API v3" private section) and the official docs in ``seeds/reference/`` (API v3
with a JWT auth flow, other v3 paths, an error format). Both path sets are
served; ``AlpOptions.v3_reading`` picks which document's authentication the v3
private calls require (and the shape of the one path both use differently,
``/api/v3/accounts/trades``). No websocket is served (the seed documents none;
the official one at ``wss://www.alp.com/ws`` is not simulated).

Routes:

v1 public   ``GET /api/v1/currencies/``, ``/api/v1/pairs/``, ``/api/v1/ticker/``,
            ``/api/v1/orderbook/<pair>``, ``/api/v1/exchanges/``,
            ``/api/charts/<pair>/<timeframe>/chart``, ``/api/v1/order/<pk>/`` (the
            example fetches it without auth headers; sent with them, they are checked)
v1 private  ``GET /api/v1/wallets/``, ``/orders/own/``, ``/exchanges/own/``,
            ``/deposits/``, ``/withdraws/``; ``POST /api/v1/order/``, ``/order-cancel/``
v3 (seed)   ``GET /api/v3/feeinfo``, ``/accounts``, ``/accounts/trades``,
            ``/accounts/balances``, ``/wallets/activity``; ``GET|POST|DELETE /api/v3/orders``
v3 (official) ``POST /api/v3/auth``; ``GET /api/v3/accounts/accounts``,
            ``/accounts/balances``, ``/accounts/feeinfo``, ``/accounts/order``,
            ``/accounts/trades``, ``/accounts/activity``; ``POST|DELETE
            /api/v3/trading/order``; public ``GET /api/v3/time``, ``/currencies``,
            ``/pairs``, ``/ticker``, ``/orderbook``, ``/trades``

Authentication, each checked here from its document (not from the adapter):

* v1: ``X-KEY``, ``X-NONCE`` (decimal digits, greater than the key's last
  accepted one) and ``X-SIGN`` = lower-case hex HMAC-SHA256, keyed with the
  secret, of the key followed by ``urlencode(sorted(payload.items()))`` — the
  document's Python example. GET requests sign ``{}``, as every example does,
  even when query filters are sent (``sign_query_params=True`` signs the query
  instead). POSTs sign their body's top-level fields: form values as sent; a
  JSON value as the Python example would ``str()`` it (a string as is, a number
  in its plain digits, ``True``/``False``/``None``, a list as ``[1, 5, 8]``).
* v3, ``v3_reading="seed"`` (the default): the seed's "include valid
  ``api-secret`` and ``api-key``", read as two headers of those names on every
  private v3 call.
* v3, ``v3_reading="official"``: ``POST /api/v3/auth {"api_key", "api_secret"}``
  answers a JWT (a JSON string; HS256, with ``exp``), sent as ``Authorization:
  Bearer <jwt>``; POST and DELETE calls also carry ``X-SIGN`` = lower-case hex
  HMAC-SHA256 of the request body's bytes keyed with the API secret.
* A v3 private call carrying v1's ``X-KEY``/``X-NONCE`` (or, in the seed
  reading, ``X-SIGN``) is refused: 401, whatever else it carries.
* The documented "limit in 2 calls per second from single account to
  authorization required methods" is enforced when ``rate_limit_per_s`` is set
  (``botkit venue-sim`` sets it; in-process tests choose): over the limit in a
  rolling second (less 50 ms of network jitter) a call is refused with 429
  ("Too Many Requests" in the errors table), ``Retry-After`` and "Request was
  throttled. Expected available in N seconds.", and does nothing.

How this simulator reads what the documents leave open (``AlpOptions`` switches
the ones a client must cope with either way):

* Errors: v3 and unknown paths answer the official ``{"code", "message"}``;
  ``code`` is symbolic (``INVALID_PARAMS``, ``INSUFFICIENT_FUNDS``...) except an
  invalid amount, ``"1003"`` as the official example has it. v1 (whose error
  section is missing) answers ``{"detail": msg}`` for 401/403/404/405/429, as
  the DRF-built v1 does, and ``{"success": false, "error": msg}`` otherwise.
  Statuses are the errors table's: 400 bad input (a reused
  ``client_order_id`` "already exists"), 401, 404, 405, 429.
* Place (both v3 paths take the union of both documents' fields): amounts and
  prices as JSON numbers (the seed's examples) or decimal strings (the
  official table); ``order_side`` BUY/SELL (BID/ASK also, as the official table
  says); ``wallet_type`` SPOT (the only one simulated; the others are refused);
  ``tif`` GTC/IOC/FOK; ``post_only`` (limit orders only) refuses an order that
  would take ("only placed as maker"); a MARKET order takes ``base_amount`` or
  ``quote_amount`` (converted at the touch), not both; stop orders are refused.
  ``/api/v3/orders`` answers 201 with the bare id (``34``), as the seed does;
  ``/api/v3/trading/order`` 200 with ``[34]``.
* Cancel: ``DELETE /api/v3/orders`` takes ``order_ids``, or ``all: true`` (with
  an optional ``pair``), and answers 202 when it cancelled something and 204 (no
  body) when no open order matched. ``DELETE /api/v3/trading/order`` takes
  exactly one of ``order_ids``, ``all: true``, ``pair``: by ids it answers 200
  with ``{"<id>": "CANCELLED" | "order not found"}``, else 202 with no body.
* Seed v3 orders do NOT echo ``client_order_id`` and seed v3 account trades
  carry no trade id, order id or client id — exactly the seed's examples
  (``echo_client_order_id=True`` / ``trade_order_ids=True`` add them). A trade's
  ``amount_unfilled`` and ``status`` are its order's right after that trade.
  Official account trades carry ``id``, ``order_id``, ``fee`` and a unix
  ``timestamp``, as the official example does. With the faults'
  ``duplicate_rate``/``reorder_rate`` on, a list of account trades comes back
  reordered, and in the official reading with some rows twice; a seed trade is
  never listed twice (it has no id, so a second copy would be, by the seed's
  own terms, a second execution).
* v3 order statuses: OPEN, PARTIALLY_FILLED (seed) / PARTIAL_FILLED (official),
  FILLED, CANCELLED (also an IOC/FOK remainder), REJECTED/FAILED. Seed times
  are RFC 3339 in UTC with microseconds and unset times ``""``; official ones
  have whole seconds and unset times ``null``. ``start_time``/``end_time``
  filters take the documented ``2006-01-02T15:04:05Z07:00`` (with or without a
  fraction), apply to an order's creation time, and may not span more than 30
  days (a missing end is 30 days after the start, a missing start 30 days
  before the end, neither: the last 30 days).
* ``minimum_order_size``/``maximum_order_size`` bound the amount in the base
  currency. Fee rates are fractions; fees are charged in the quote currency.
* Balances (v1 wallets, v3 balances): ``balance`` is the free amount and
  ``reserve`` what open orders lock; the total is their sum.
* The public order book shows the background market (the account's own resting
  orders are not merged in). Public trades are the exchange's tape: the
  background market's prints plus the account's taker fills; ``type`` is the
  aggressor's side.
* Withdraws (v1 ``GET /api/v1/withdraws/``): the document has no call that
  creates one, so the backend is given them by ``AlpServer.add_withdraw``
  (tests, or a desk's history to list); each debits the balance. A row is the
  example's ``{id, timestamp (unix seconds, a fraction), currency, amount (a
  number), status}``, newest first, no paging (none is documented). Status 10
  (New) when made, 20 (Verified) after half of ``withdraw_settle_s``, then 30
  (Approved), or 40 (Refused, refunded) for an address in
  ``withdraw_fail_addresses``, or 50 (Canceled, refunded) once
  ``cancel_withdraw`` was asked while it waited. ``currency_id`` filters by the
  currency's short name (v1 currencies have no ids, and the wallets list reads
  its filter of that name so: an unknown one lists nothing), ``status`` by the
  status value (one outside the table is 400).
* v1 order details: ``amount`` is the unfilled amount, ``amount_original`` the
  size, ``amount_filled`` a string, ``status`` a string (the example's shapes);
  ``/orders/own/`` lists ``amount`` as the size and ``status`` as an integer.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Literal
from urllib.parse import urlencode

from aiohttp import web

from botkit.model import ZERO, Fill, Instrument, Liquidity, Order, OrderStatus, OrderType, Side
from botkit.model import TimeInForce as Tif
from botkit.simulator.backend import ExchangeBackend, PublicTrade
from botkit.simulator.kit import (
    NonceBook,
    Params,
    RateLimit,
    Refusal,
    Route,
    SignedHeaders,
    SimRequest,
    VenueServer,
    bearer_token,
    hmac_sha256_hex,
    same,
    split_options,
    unauthorized,
)
from botkit.simulator.withdrawals import SimWithdrawal, WithdrawalLedger

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "AlpOptions",
    "AlpServer",
    "make_server",
]

VENUE = "alp"
DEFAULT_API_KEY = "alp-sim-key"
DEFAULT_API_SECRET = "alp-sim-secret"
DOCUMENTED_RATE_LIMIT_PER_S = 2.0  # "2 calls per second from single account"

S = OrderStatus
DAY_NS = 86_400 * 10**9
OTHER_ACCOUNT = 384360  # whose side of a public trade is not ours

STATUS_SEED = {
    S.OPEN: "OPEN",
    S.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    S.FILLED: "FILLED",
    S.CANCELED: "CANCELLED",
    S.EXPIRED: "CANCELLED",
    S.REJECTED: "REJECTED",
}
STATUS_OFFICIAL = {**STATUS_SEED, S.PARTIALLY_FILLED: "PARTIAL_FILLED", S.REJECTED: "FAILED"}
ORDER_TYPES = {
    "LIMIT": OrderType.LIMIT,
    "MARKET": OrderType.MARKET,
    "STOP_LIMIT": OrderType.STOP_LIMIT,
    "STOP_MARKET": OrderType.STOP_MARKET,
}
ORDER_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL, "BID": Side.BUY, "ASK": Side.SELL}
SIDES_V1 = {"buy": Side.BUY, "sell": Side.SELL}
SIDES_V3 = {"BUY": Side.BUY, "SELL": Side.SELL}
TIFS = {"GTC": Tif.GTC, "IOC": Tif.IOC, "FOK": Tif.FOK}
WALLET_TYPES = ("SPOT", "MARGIN_CROSS", "MARGIN_ISOLATED", "FUNDING")
STOP_OPERATORS = ("GTE", "LTE")
SIDE_EFFECTS = ("", "NO_SIDE_EFFECT", "AUTO_BORROW", "AUTO_REPAY")
TIMEFRAMES_S = {"5": 300, "15": 900, "30": 1800, "60": 3600, "240": 14400, "D": 86400}
# Fields a v3 place takes: the seed's body and the official table together.
PLACE_FIELDS = (
    "account_id",
    "wallet_type",
    "pair",
    "order_side",
    "order_type",
    "tif",
    "expire_after",
    "side_effect",
    "limit_price",
    "base_amount",
    "quote_amount",
    "stop_price",
    "stop_operator",
    "client_order_id",
    "valid_till",
    "post_only",
)
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})", re.ASCII
)
V1_SIGNED = SignedHeaders(
    "X-KEY",
    "X-NONCE",
    "X-SIGN",
    missing="Authentication credentials were not provided.",
    bad_key="Invalid API key.",
    bad_nonce="Invalid nonce: an integer is required.",
    bad_signature="Invalid signature.",
)
_V1_DETAIL_STATUSES = frozenset({401, 403, 404, 405, 406, 413, 429})
# Official v3 error codes: symbolic, but the documented example's "1003" for an amount.
_V3_CODES = {"invalid_size": "1003", "below_min_size": "1003", "above_max_size": "1003"}


@dataclass(frozen=True)
class AlpOptions:
    """The protocol's knobs (``make_server(**options)``); defaults follow the seed document."""

    api_key: str = DEFAULT_API_KEY
    api_secret: str = DEFAULT_API_SECRET
    account_id: int = 25
    v3_reading: Literal["seed", "official"] = "seed"
    sign_query_params: bool = False
    echo_client_order_id: bool = False
    trade_order_ids: bool = False
    rate_limit_per_s: float | None = None  # the documented 2/s per account; None = off
    max_window_days: int = 30
    jwt_ttl_s: float = 3600  # a fraction gives a fractional exp (a NumericDate may have one)
    strict_fields: bool = True
    withdraw_settle_s: float = 2.0  # from New (10) to Approved (30)
    withdraw_fail_addresses: tuple[str, ...] = ()  # withdraws to these are Refused (40)


# v1 withdraw statuses (the document's table) by the ledger's states.
WITHDRAW_STATUS = {"completed": 30, "failed": 40, "cancelled": 50}


def _instruments() -> dict[str, Instrument]:
    def pair(
        base: str, quote: str, price_dp: int, amount_dp: int, min_size: str, max_size: str
    ) -> Instrument:
        return Instrument(
            venue=VENUE,
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


def make_server(seed: int = 1, **options: Any) -> AlpServer:
    """BTC_USDT and ETH_USDT with ALP-style rules; USDT, BTC and ETH to trade with.

    ``options``: any ``AlpOptions`` field, plus ``balances``, ``step_s``, ``mids``
    and ``flow_options`` for the backend, and ``documented_limits`` (turn the
    documented rate limit on unless ``rate_limit_per_s`` says otherwise).
    """
    opts, backend_options = split_options(VENUE, options, AlpOptions)
    if backend_options.get("documented_limits") and "rate_limit_per_s" not in options:
        opts = replace(opts, rate_limit_per_s=DOCUMENTED_RATE_LIMIT_PER_S)
    balances = {k: Decimal(str(v)) for k, v in (options.get("balances") or {}).items()} or {
        "USDT": Decimal(5_000_000),
        "BTC": Decimal(100),
        "ETH": Decimal(1000),
    }
    backend = ExchangeBackend(
        VENUE,
        _instruments(),
        balances,
        seed=seed,
        step_s=options.get("step_s", 0.1),
        mids=options.get("mids") or {"BTC_USDT": 30000.0, "ETH_USDT": 2000.0},
        derivatives=False,
        flow_options=options.get("flow_options"),
    )
    return AlpServer(backend, opts)


# --- wire formats ---------------------------------------------------------------------


def _us(ns: int) -> int:
    """Times go out with microseconds; compare on what went out."""
    return ns - ns % 1000


def _iso(ns: int, fraction: bool = True) -> str:
    ns = _us(ns)
    dt = datetime.fromtimestamp(ns // 10**9, UTC)
    if not fraction:
        return f"{dt:%Y-%m-%dT%H:%M:%S}Z"
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{(ns // 1000) % 10**6:06d}Z"


def _epoch_s(ns: int) -> Decimal:
    return Decimal(_us(ns) // 1000).scaleb(-6)


def parse_rfc3339(text: str) -> int | None:
    """``2006-01-02T15:04:05Z07:00`` (a fraction allowed) in ns, or None."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        return None
    whole, fraction, zone = m.groups()
    try:
        dt = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return None
    return int(dt.timestamp()) * 10**9 + int((fraction or "0").ljust(9, "0"))


def _py_text(value: object) -> str:
    """How the document's Python example puts a value into its signed message:
    ``urlencode`` sends ``str(v)`` (a container shows its items' ``repr``)."""
    if isinstance(value, str):
        return value
    return _py_repr(value)


def _py_repr(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")  # the digits it was written with, in plain notation
    if isinstance(value, list):
        return "[" + ", ".join(_py_repr(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py_repr(k)}: {_py_repr(v)}" for k, v in value.items()) + "}"
    return repr(value)


def v1_signature(api_key: str, api_secret: str, payload: Mapping[str, object]) -> str:
    """The seed's ``get_auth_headers``: HMAC of key + sorted, form-encoded payload."""
    pairs = sorted(((k, _py_text(v)) for k, v in payload.items()), key=lambda kv: kv[0])
    return hmac_sha256_hex(api_secret, api_key + urlencode(pairs))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- the server --------------------------------------------------------------------------


class AlpServer(VenueServer):
    """ALP.COM's REST protocol (v1 and both readings of v3) over one ``ExchangeBackend``."""

    venue = VENUE
    decimals = "number"  # ALP's payloads carry amounts and prices as JSON numbers
    REJECTS: Mapping[str, tuple[int, str]] = {
        "unknown_instrument": (400, "Pair not found: {message}"),
        "duplicate_client_id": (400, "Order with this client_order_id already exists"),
        "invalid_size": (400, "Invalid amount: {message}"),
        "invalid_price": (400, "Invalid price: {message}"),
        "unexpected_price": (400, "Invalid price: {message}"),
        "below_min_size": (400, "Amount is less than minimum order size: {message}"),
        "above_max_size": (400, "Amount is greater than maximum order size: {message}"),
        "below_min_notional": (400, "Order value is too small: {message}"),
        "above_max_notional": (400, "Order value is too big: {message}"),
        "insufficient_funds": (400, "Insufficient funds: {message}"),
        "no_liquidity": (400, "No liquidity to execute the order"),
        "order_not_found": (400, "Order not found or not active"),
        "order_not_open": (400, "Order not found or not active"),
        "unsupported_order_type": (400, "Order type is not supported"),
        "post_only_not_allowed": (400, "Invalid order parameters: {message}"),
        "post_only_would_cross": (400, "Order would take liquidity: {message}"),
    }

    def __init__(self, backend: ExchangeBackend, options: AlpOptions | None = None) -> None:
        super().__init__(backend)
        self.options = options or AlpOptions()
        self.nonces = NonceBook(backend.last_nonce)
        per_s = self.options.rate_limit_per_s
        self.limit = RateLimit(per_s) if per_s else None
        # Per trade id: the order's (unfilled amount, seed status) right after the trade.
        self.after_trade: dict[str, tuple[Decimal, str]] = {}
        self._jwt_key = secrets.token_bytes(32)
        names = sorted({c for i in backend.instruments.values() for c in (i.base, i.quote)})
        self.currency_ids = {c: n for n, c in enumerate(names, 1)}
        self.pair_ids = {s: n for n, s in enumerate(sorted(backend.instruments), 1)}
        self.withdraws = WithdrawalLedger(
            backend.balances,
            settle_s=self.options.withdraw_settle_s,
            fail_addresses=self.options.withdraw_fail_addresses,
            first_id=403,
        )

    # ----- the venue's parts for the kit ------------------------------------------------------

    def routes(self) -> Iterable[Route]:
        v1, v3 = "/api/v1", "/api/v3"
        return (
            # v1 public
            Route("GET", f"{v1}/currencies/", self.currencies, "currencies"),
            Route("GET", f"{v1}/pairs/", self.pairs_v1, "pairs"),
            Route("GET", f"{v1}/ticker/", self.ticker_v1, "ticker"),
            Route("GET", v1 + "/orderbook/{pair}", self.orderbook_v1, "orderbook"),
            Route("GET", f"{v1}/exchanges/", self.exchanges, "trades"),
            Route("GET", "/api/charts/{pair}/{timeframe}/chart", self.chart, "chart"),
            Route("GET", v1 + "/order/{pk}/", self.order_detail, "order"),
            # v1 private
            Route("GET", f"{v1}/wallets/", self.wallets, "wallets", private=True),
            Route("GET", f"{v1}/orders/own/", self.orders_own, "orders", private=True),
            Route("POST", f"{v1}/order/", self.order_create_v1, "place", private=True),
            Route("POST", f"{v1}/order-cancel/", self.order_cancel_v1, "cancel", private=True),
            Route("GET", f"{v1}/exchanges/own/", self.exchanges_own, "trades", private=True),
            Route("GET", f"{v1}/deposits/", self.empty_list, "deposits", private=True),
            Route("GET", f"{v1}/withdraws/", self.withdraws_v1, "withdraws", private=True),
            # v3, the seed's paths
            Route("GET", f"{v3}/feeinfo", self.feeinfo_seed, "feeinfo", private=True),
            Route("GET", f"{v3}/accounts", self.accounts_seed, "accounts", private=True),
            Route("GET", f"{v3}/accounts/balances", self.balances, "balances", private=True),
            Route("GET", f"{v3}/accounts/trades", self.account_trades, "trades", private=True),
            Route("GET", f"{v3}/wallets/activity", self.activity, "activity", private=True),
            Route("GET", f"{v3}/orders", self.orders_seed, "orders", private=True),
            Route("POST", f"{v3}/orders", self.create_seed, "place", private=True),
            Route("DELETE", f"{v3}/orders", self.cancel_seed, "cancel", private=True),
            # v3, the official paths
            Route("POST", f"{v3}/auth", self.auth, "auth"),
            Route("GET", f"{v3}/accounts/accounts", self.accounts_official, "accounts", True),
            Route("GET", f"{v3}/accounts/feeinfo", self.feeinfo_official, "feeinfo", True),
            Route("GET", f"{v3}/accounts/order", self.orders_official, "orders", True),
            Route("GET", f"{v3}/accounts/activity", self.activity, "activity", True),
            Route("POST", f"{v3}/trading/order", self.create_official, "place", True),
            Route("DELETE", f"{v3}/trading/order", self.cancel_official, "cancel", True),
            Route("GET", f"{v3}/time", self.server_time, "time"),
            Route("GET", f"{v3}/currencies", self.currencies, "currencies"),
            Route("GET", f"{v3}/pairs", self.pairs_v3, "pairs"),
            Route("GET", f"{v3}/ticker", self.ticker_v3, "ticker"),
            Route("GET", f"{v3}/orderbook", self.orderbook_v3, "orderbook"),
            Route("GET", f"{v3}/trades", self.trades_v3, "trades"),
        )

    def error_body(self, refusal: Refusal, path: str) -> Any:
        if path.startswith(("/api/v1/", "/api/charts/")):
            if refusal.status in _V1_DETAIL_STATUSES:
                return {"detail": refusal.message}
            return {"success": False, "error": refusal.message}
        code = _V3_CODES.get(refusal.code) or refusal.code.upper()
        return {"code": code, "message": refusal.message}

    @property
    def credentials(self) -> dict[str, str]:
        return {"api_key": self.options.api_key, "api_secret": self.options.api_secret}

    def urls(self, origin: str) -> dict[str, str]:
        return {"rest": origin, "api_v1": f"{origin}/api/v1", "api_v3": f"{origin}/api/v3"}

    def authenticate(self, req: SimRequest, route: Route) -> None:
        if req.path.startswith("/api/v3/"):
            self._auth_v3(req)
        else:
            self._auth_v1(req)
        self._throttle()

    def on_event(self, kind: str, payload: Any) -> None:
        if kind == "fill":
            # The seed's trades carry their order's state right after the trade.
            order = self.backend.by_client[payload.client_id]
            self.after_trade[payload.trade_id] = (
                order.size - order.filled,
                self.status(order, STATUS_SEED),
            )

    # ----- authentication -----------------------------------------------------------------

    def _auth_v1(self, req: SimRequest) -> None:
        opts = self.options
        if req.method == "GET":
            payload: Mapping[str, object] = req.query if opts.sign_query_params else {}
        else:
            payload = self._body_v1(req)
        V1_SIGNED.check(
            req.headers,
            opts.api_key,
            self.nonces,
            lambda nonce: v1_signature(opts.api_key, opts.api_secret, payload),
        )

    def _auth_v3(self, req: SimRequest) -> None:
        opts = self.options
        official = opts.v3_reading == "official"
        v1_headers = ("X-KEY", "X-NONCE") if official else ("X-KEY", "X-NONCE", "X-SIGN")
        if any(h in req.headers for h in v1_headers):
            raise unauthorized(
                "API v3 does not take v1 authentication (X-KEY/X-SIGN/X-NONCE)", "v1_auth_on_v3"
            )
        if not official:
            key, secret = req.headers.get("api-key"), req.headers.get("api-secret")
            if not key or not secret:
                raise unauthorized("api-key and api-secret headers are required")
            if not (same(key, opts.api_key) and same(secret, opts.api_secret)):
                raise unauthorized("Invalid api-key or api-secret", "invalid_api_key")
            return
        token = bearer_token(req.headers)
        if token is None:
            raise unauthorized("Authorization: Bearer <token> is required")
        self._check_jwt(token)
        if req.method in ("POST", "DELETE"):
            sig = req.headers.get("X-SIGN")
            if not sig:
                raise unauthorized("X-SIGN is required", "invalid_signature")
            if not same(sig, hmac_sha256_hex(opts.api_secret, req.body)):
                raise unauthorized("Invalid signature.", "invalid_signature")

    def _check_jwt(self, token: str) -> None:
        parts = token.split(".")
        try:
            if len(parts) != 3 or not token.isascii():
                raise ValueError("not a JWT")
            header = json.loads(_unb64(parts[0]))
            claims = json.loads(_unb64(parts[1]))
            signature = _unb64(parts[2])
        except (ValueError, UnicodeDecodeError):
            raise unauthorized("Invalid token", "invalid_token") from None
        signed = f"{parts[0]}.{parts[1]}".encode()
        expected = hmac_sha256_hex(self._jwt_key.hex(), signed)
        if (
            not isinstance(header, dict)
            or header.get("alg") != "HS256"
            or not same(signature.hex(), expected)
            or not isinstance(claims, dict)
            or claims.get("api_key") != self.options.api_key
        ):
            raise unauthorized("Invalid token", "invalid_token")
        exp = claims.get("exp")
        # RFC 7519's NumericDate: seconds, "non-integer values can be represented".
        if isinstance(exp, bool) or not isinstance(exp, int | float) or exp <= time.time():
            raise unauthorized("Token expired", "token_expired")

    def issue_jwt(self) -> str:
        now = int(time.time())
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {
            "sub": str(self.options.account_id),
            "api_key": self.options.api_key,
            "iat": now,
            "exp": now + self.options.jwt_ttl_s,
        }
        payload = _b64(json.dumps(claims).encode())
        mac = hmac_sha256_hex(self._jwt_key.hex(), f"{header}.{payload}".encode())
        return f"{header}.{payload}.{_b64(bytes.fromhex(mac))}"

    def _throttle(self) -> None:
        if self.limit is None:
            return
        wait = self.limit.wait_s()
        if wait > 0:
            seconds = RateLimit.retry_after(wait)
            raise Refusal(
                429,
                f"Request was throttled. Expected available in {seconds} seconds.",
                "rate_limited",
                what="throttle",
                headers={"Retry-After": str(seconds)},
            )

    # ----- helpers ------------------------------------------------------------------------

    def _params(
        self, values: Mapping[str, Any], source: Literal["json", "query", "form"]
    ) -> Params:
        return Params(values, source, strict=self.options.strict_fields)

    def query(self, req: SimRequest) -> Params:
        return self._params(req.query, "query")

    def _body_v1(self, req: SimRequest) -> dict[str, Any]:
        if not req.has_body:
            return {}
        if req.is_form:
            return req.form()
        return req.json_object()

    def body_v1(self, req: SimRequest) -> Params:
        return self._params(self._body_v1(req), "form" if req.is_form else "json")

    def body_v3(self, req: SimRequest) -> Params:
        return self._params(req.json_object(), "json")

    def instrument(self, name: str | None) -> Instrument:
        inst = self.backend.instruments.get(name or "")
        if inst is None:
            raise Refusal(400 if name else 404, f"Pair not found: {name!r}", "unknown_instrument")
        return inst

    def window(self, p: Params) -> tuple[int, int]:
        """The documented ``start_time``/``end_time`` filter (RFC 3339), at most 30 days."""

        def read(name: str) -> int | None:
            text = p.text(name, max_len=40)
            if text is None:
                return None
            ns = parse_rfc3339(text)
            if ns is None:
                raise p.bad(name, "format must be 2006-01-02T15:04:05Z07:00")
            return ns

        span = self.options.max_window_days * DAY_NS
        start, end = read("start_time"), read("end_time")
        if start is None and end is None:
            return time.time_ns() - span, 1 << 62
        if start is None:
            assert end is not None
            return end - span, end
        if end is None:
            return start, start + span
        if end - start > span:
            raise p.bad(
                "end_time",
                f"start_time and end_time interval must not exceed "
                f"{self.options.max_window_days} days",
            )
        return start, end

    @staticmethod
    def oid(order: Order) -> int:
        return int((order.venue_order_id or "0").rsplit("-", 1)[-1])

    @staticmethod
    def tid(trade_id: str) -> int:
        return int(trade_id.rsplit("t", 1)[-1])

    def listed(self, rows: list[Any], *, duplicate: bool) -> list[Any]:
        """Account trades as a flaky venue lists them when the faults say so (see the
        module notes); the faults' random draws are left alone when they are off."""
        faults = self.backend.faults
        if not (faults.duplicate_rate or faults.reorder_rate):
            return rows
        return faults.mangle(rows, duplicate=duplicate)

    def order_by_id(self, oid: int) -> Order | None:
        return self.backend.orders.get(f"{VENUE}-{oid}")

    def locked(self) -> dict[str, Decimal]:
        return {a: total - self.backend.available(a) for a, total in self.backend.balances.items()}

    def tape(self, pair: str | None) -> list[PublicTrade]:
        return [t for t in self.backend.public_trades if pair is None or t.symbol == pair]

    def status(self, order: Order, table: Mapping[OrderStatus, str]) -> str:
        if order.status in (S.CANCELED, S.EXPIRED) and order.filled >= order.size:
            return "FILLED"
        return table.get(order.status, order.status.value.upper())

    # ----- public ---------------------------------------------------------------------------

    def server_time(self, req: SimRequest) -> web.Response:
        self.query(req).finish()
        return self.reply({"serverTime": int(time.time())})

    def currencies(self, req: SimRequest) -> web.Response:
        self.query(req).finish()
        signs = {"BTC": "Ƀ", "ETH": "Ξ", "USDT": "₮"}
        return self.reply([{"sign": signs.get(c, c), "short_name": c} for c in self.currency_ids])

    def _pairs(self, req: SimRequest) -> list[Instrument]:
        p = self.query(req)
        c1, c2 = p.text("currency1"), p.text("currency2")
        p.finish()
        return [
            i
            for i in self.backend.instruments.values()
            if (not c1 or i.base == c1) and (not c2 or i.quote == c2)
        ]

    def pairs_v1(self, req: SimRequest) -> web.Response:
        return self.reply([self._pair(inst) | {"liquidity_type": 10} for inst in self._pairs(req)])

    def pairs_v3(self, req: SimRequest) -> web.Response:
        return self.reply(
            [
                self._pair(inst) | {"minimum_order_value": inst.min_notional or ZERO}
                for inst in self._pairs(req)
            ]
        )

    def _pair(self, inst: Instrument) -> dict[str, Any]:
        return {
            "name": inst.symbol,
            "currency1": inst.base,
            "currency2": inst.quote,
            "price_precision": -int(inst.tick_size.as_tuple().exponent),
            "amount_precision": -int(inst.lot_size.as_tuple().exponent),
            "minimum_order_size": inst.min_size,
            "maximum_order_size": inst.max_size,
        }

    def _ticker(self, name: str, now: int) -> dict[str, Any]:
        book = self.backend.books[name]
        day = [t for t in self.tape(name) if t.ts_ns >= now - DAY_NS]
        last = day[-1].price if day else ZERO
        return {
            "timestamp": _epoch_s(now),
            "pair": name,
            "last": last,
            "diff": last - day[0].price if day else ZERO,
            "vol": sum((t.size for t in day), ZERO),
            "high": max((t.price for t in day), default=ZERO),
            "low": min((t.price for t in day), default=ZERO),
            "buy": Decimal(repr(book.best_bid)) if book.best_bid is not None else ZERO,
            "sell": Decimal(repr(book.best_ask)) if book.best_ask is not None else ZERO,
            "open": day[0].price if day else ZERO,
        }

    def _tickers(self, req: SimRequest) -> list[dict[str, Any]]:
        p = self.query(req)
        only = p.text("pair")
        p.finish()
        now = time.time_ns()
        return [self._ticker(n, now) for n in self.backend.instruments if not only or n == only]

    def ticker_v1(self, req: SimRequest) -> web.Response:
        return self.reply([{k: v for k, v in t.items() if k != "open"} for t in self._tickers(req)])

    def ticker_v3(self, req: SimRequest) -> web.Response:
        out = []
        for t in self._tickers(req):
            inst = self.backend.instruments[t["pair"]]
            first = t["last"] - t["diff"]
            percent = t["diff"] / first * 100 if first else ZERO
            pair = self._pair(inst)
            precisions = {k: pair[k] for k in ("price_precision", "amount_precision")}
            out.append(t | {"diff_percent": percent} | precisions)
        return self.reply(out)

    def _book(self, inst: Instrument, p: Params) -> dict[str, Any]:
        book = self.backend.books[inst.symbol]
        limit_sell = p.integer("limit_sell", low=1, high=10_000)
        limit_buy = p.integer("limit_buy", low=1, high=10_000)
        return {
            "sell": [
                {"price": Decimal(repr(px)), "amount": Decimal(repr(sz))}
                for px, sz in book.ask_levels(limit_sell)
            ],
            "buy": [
                {"price": Decimal(repr(px)), "amount": Decimal(repr(sz))}
                for px, sz in book.bid_levels(limit_buy)
            ],
        }

    def orderbook_v1(self, req: SimRequest) -> web.Response:
        inst = self.instrument(req.match.get("pair"))
        p = self.query(req)
        # The document's example sends ``limit_bids``/``limit_asks``; its table names
        # ``limit_buy``/``limit_sell``: both are read (the table's win).
        book = self._book(inst, p)
        asks = p.integer("limit_asks", low=1, high=10_000)
        bids = p.integer("limit_bids", low=1, high=10_000)
        p.choice("group", ("0", "1"))
        p.finish()
        if asks is not None and not p.has("limit_sell"):
            book["sell"] = book["sell"][:asks]
        if bids is not None and not p.has("limit_buy"):
            book["buy"] = book["buy"][:bids]
        return self.reply(book)

    def orderbook_v3(self, req: SimRequest) -> web.Response:
        p = self.query(req)
        inst = self.instrument(p.text("pair", required=True))
        book = self._book(inst, p)
        p.finish()
        return self.reply({"buy": book["buy"], "sell": book["sell"]})

    def _page(self, items: list[Any], p: Params, key: Callable[[Any], int]) -> list[Any]:
        ordering = p.choice("ordering", ("id", "-id"), default="-id")
        offset = p.integer("offset") or 0
        limit = p.integer("limit", low=1, high=10_000) or 100
        items = sorted(items, key=key, reverse=ordering == "-id")
        return items[offset : offset + limit]

    def exchanges(self, req: SimRequest) -> web.Response:
        p = self.query(req)
        trades = self._page(self.tape(p.text("pair")), p, lambda t: t.id)
        p.finish()
        return self.reply(
            [
                {
                    "id": t.id,
                    "account_id": self.options.account_id if t.own else OTHER_ACCOUNT,
                    "price": t.price,
                    "pair": t.symbol,
                    "type": t.side.value if t.side is not None else "buy",
                    "timestamp": _epoch_s(t.ts_ns),
                    "amount": t.size,
                }
                for t in trades
            ]
        )

    def trades_v3(self, req: SimRequest) -> web.Response:
        p = self.query(req)
        inst = self.instrument(p.text("pair", required=True))
        limit = p.integer("limit", low=1, high=1000) or 100
        p.finish()
        trades = self.tape(inst.symbol)[-limit:]
        return self.reply(
            [
                {
                    "id": t.id,
                    "price": t.price,
                    "amount": t.size,
                    "timestamp": _epoch_s(t.ts_ns),
                    "pair": t.symbol,
                    "type": t.side.value if t.side is not None else "buy",
                }
                for t in reversed(trades)
            ]
        )

    def chart(self, req: SimRequest) -> web.Response:
        inst = self.instrument(req.match.get("pair"))
        frame = TIMEFRAMES_S.get(req.match.get("timeframe", ""))
        if frame is None:
            raise Refusal(400, "timeframe: one of 5, 15, 30, 60, 240, D", "invalid_params")
        p = self.query(req)
        since = p.integer("since") or 0
        until = p.integer("until")
        limit = p.integer("limit", low=1, high=10_000) or 720
        p.finish()
        bars: dict[int, dict[str, Any]] = {}
        for t in self.tape(inst.symbol):
            sec = t.ts_ns // 10**9
            if sec < since or (until is not None and sec > until):
                continue
            start = sec - sec % frame
            bar = bars.get(start)
            if bar is None:
                bars[start] = {
                    "volume": t.size,
                    "high": t.price,
                    "low": t.price,
                    "close": t.price,
                    "time": start,
                    "open": t.price,
                }
            else:
                bar["volume"] += t.size
                bar["high"] = max(bar["high"], t.price)
                bar["low"] = min(bar["low"], t.price)
                bar["close"] = t.price
        return self.reply([bars[k] for k in sorted(bars)][-limit:])

    # ----- v1 private -----------------------------------------------------------------------

    def wallets(self, req: SimRequest) -> web.Response:
        p = self.query(req)
        only = p.text("currency_id")
        p.finish()
        locked = self.locked()
        return self.reply(
            [
                {"currency": c, "balance": total - locked[c], "reserve": locked[c]}
                for c, total in sorted(self.backend.balances.items())
                if not only or c == only
            ]
        )

    @staticmethod
    def v1_status(order: Order) -> int:
        if order.is_open:
            return 1
        return 3 if order.status is S.FILLED or order.filled >= order.size else 2

    def orders_own(self, req: SimRequest) -> web.Response:
        p = self.query(req)
        side = p.choice("type", SIDES_V1)
        pair = p.text("pair")
        status = p.integer("status", low=1, high=3)
        limit = p.integer("limit", low=1, high=10_000) or 2000
        p.finish()
        out = [
            {
                "amount": order.size,
                "pair": order.symbol,
                "type": order.side.value,
                "status": self.v1_status(order),
                "price": order.price or ZERO,
                "id": self.oid(order),
            }
            for order in sorted(self.backend.orders.values(), key=self.oid, reverse=True)
            if (not side or order.side.value == side)
            and (not pair or order.symbol == pair)
            and (not status or self.v1_status(order) == status)
        ]
        return self.reply(out[:limit])

    def order_detail(self, req: SimRequest) -> web.Response:
        # The document's example fetches it without auth headers; with them, they must hold.
        if "X-KEY" in req.headers:
            self.authenticate(req, Route("GET", req.path, self.order_detail, "order"))
        self.query(req).finish()
        pk = req.match.get("pk", "")
        order = self.order_by_id(int(pk)) if pk.isascii() and pk.isdigit() else None
        if order is None:
            raise Refusal(404, "Not found.", "order_not_found")
        return self.reply(
            {
                "id": self.oid(order),
                "date": _us(order.created_ns) // 10**6,
                "pair": order.symbol,
                "type": order.side.value,
                "price": order.price or ZERO,
                "amount": order.size - order.filled,
                "amount_filled": format(order.filled, "f"),
                "amount_original": order.size,
                "status": str(self.v1_status(order)),
            }
        )

    def order_create_v1(self, req: SimRequest) -> web.Response:
        p = self.body_v1(req)
        side = p.choice("type", SIDES_V1, required=True)
        inst = self.instrument(p.text("pair", required=True))
        amount = p.decimal("amount", required=True)
        price = p.decimal("price", required=True)
        p.finish()
        assert side is not None and amount is not None
        before = len(self.backend.trades)
        order = self.backend.place(inst.symbol, SIDES_V1[side], OrderType.LIMIT, amount, price)
        self._refused_at_match(order)
        own = [f for f in self.backend.trades[before:] if f.client_id == order.client_id]
        return self.reply(
            {
                "success": True,
                "type": order.side.value,
                "date": _epoch_s(order.created_ns),
                "oid": self.oid(order),
                "price": order.price,
                "amount": order.size - order.filled,
                "trades": [
                    {
                        "type": f.side.opposite.value,
                        "price": f.price,
                        "o_id": 0,
                        "amount": f.size,
                        "tid": self.tid(f.trade_id),
                    }
                    for f in own
                ],
            }
        )

    def _refused_at_match(self, order: Order) -> None:
        """The matching engine refused the order (post-only crossing): the venue's 400."""
        if order.status is S.REJECTED:
            template = self.REJECTS.get(order.code or "", (400, "Rejected: {message}"))[1]
            raise Refusal(
                400, template.format(message=order.reason), order.code or "rejected", logged=True
            )

    def order_cancel_v1(self, req: SimRequest) -> web.Response:
        p = self.body_v1(req)
        oid = p.integer("order", required=True, string=True)
        p.finish()
        order = self.order_by_id(oid or 0)
        if order is None or not order.is_open:
            raise Refusal(400, "Order not found or not active", "order_not_open")
        self.backend.cancel(order.venue_order_id)
        return self.reply({"order": oid})

    def exchanges_own(self, req: SimRequest) -> web.Response:
        p = self.query(req)
        side = p.choice("type", SIDES_V1)
        pair = p.text("pair")
        fills = [
            f
            for f in self.backend.trades
            if (not side or f.side.value == side) and (not pair or f.symbol == pair)
        ]
        page = self._page(fills, p, lambda f: self.tid(f.trade_id))
        p.finish()
        return self.reply(
            [
                {
                    "id": self.tid(f.trade_id),
                    "account_id": self.options.account_id,
                    "price": f.price,
                    "pair": f.symbol,
                    "type": f.side.value,
                    "timestamp": _epoch_s(f.ts_ns),
                    "amount": f.size,
                }
                for f in page
            ]
        )

    # ----- v1: withdraws (listed; the document has no call that makes one) ------------------

    def add_withdraw(
        self, currency: str, amount: Decimal | str, address: str = "", *, reference: str = ""
    ) -> SimWithdrawal:
        """Put a withdrawal in the account's books (the API cannot create one): it debits
        the balance and moves New -> Verified -> Approved (or Refused) on the wall clock."""
        value = Decimal(amount)
        if value <= 0 or value > self.backend.balances.get(currency, ZERO):
            raise ValueError(f"cannot withdraw {value} {currency}: the balance is lower")
        ref = reference or f"alp-withdraw-{len(self.withdraws.items) + 1}"
        return self.withdraws.create(ref, currency, value, address)

    def cancel_withdraw(self, withdraw_id: int) -> None:
        """The user cancels a withdrawal that is still waiting (status 50, refunded)."""
        self.withdraws.cancel(next(w for w in self.withdraws.items if w.id == withdraw_id))

    def withdraw_status(self, w: SimWithdrawal) -> int:
        if w.state in WITHDRAW_STATUS:
            return WITHDRAW_STATUS[w.state]
        halfway = w.settle_at - self.withdraws.settle_s / 2
        return 20 if self.withdraws.clock() >= halfway else 10

    def withdraws_v1(self, req: SimRequest) -> web.Response:
        p = self.query(req)
        currency = p.text("currency_id", max_len=16)
        status = p.integer("status", low=10, high=50)
        p.finish()
        if status is not None and status not in (10, 20, 30, 40, 50):
            raise p.bad("status", "must be one of 10, 20, 30, 40, 50")
        rows = []
        for w in self.withdraws.newest_first():
            code = self.withdraw_status(w)
            if (currency is None or w.asset == currency) and (status is None or code == status):
                rows.append(
                    {
                        "id": w.id,
                        "timestamp": _epoch_s(w.created_ns),
                        "currency": w.asset,
                        "amount": w.amount,
                        "status": code,
                    }
                )
        return self.reply(rows)

    def empty_list(self, req: SimRequest) -> web.Response:
        p = self.query(req)
        p.ignore(("currency_id", "status"))
        p.finish()
        return self.reply([])

    # ----- v3: account ---------------------------------------------------------------------

    def auth(self, req: SimRequest) -> web.Response:
        """``POST /api/v3/auth``: the official flow's JWT, for the key and secret."""
        p = self.body_v3(req)
        key = p.text("api_key", required=True)
        secret = p.text("api_secret", required=True)
        p.finish()
        assert key is not None and secret is not None
        if not (same(key, self.options.api_key) and same(secret, self.options.api_secret)):
            raise unauthorized("Invalid api_key or api_secret", "invalid_api_key")
        return self.reply(self.issue_jwt())

    def feeinfo_seed(self, req: SimRequest) -> web.Response:
        self.query(req).finish()
        return self.reply(
            [
                {
                    "name": "simulated account",
                    "account_id": self.options.account_id,
                    "is_active": True,
                    "currency": inst.quote,
                    "pair": inst.symbol,
                    "taker_fee_rate": inst.taker_fee,
                    "maker_fee_rate": inst.maker_fee,
                    "fee_currency": inst.quote,
                    "priority": 1,
                }
                for inst in self.backend.instruments.values()
            ]
        )

    def feeinfo_official(self, req: SimRequest) -> web.Response:
        self.query(req).finish()
        return self.reply(
            [
                {
                    "account_id": self.options.account_id,
                    "active_once": None,
                    "taker_fee_rate": inst.taker_fee,
                    "maker_fee_rate": inst.maker_fee,
                    "fee_currency": inst.quote,
                    "priority": 1,
                    "currency": self.currency_ids[inst.quote],
                    "pair": self.pair_ids[inst.symbol],
                    "is_active": True,
                }
                for inst in self.backend.instruments.values()
            ]
        )

    def accounts_seed(self, req: SimRequest) -> web.Response:
        p = self.query(req)
        p.boolean("include_subaccounts")
        p.finish()
        return self.reply(
            [
                {
                    "id": self.options.account_id,
                    "name": "simulated account",
                    "email": "sim@example.invalid",
                    "id_parent": 0,
                }
            ]
        )

    def accounts_official(self, req: SimRequest) -> web.Response:
        p = self.query(req)
        p.boolean("include_subaccounts")
        p.finish()
        return self.reply(
            [{"id": self.options.account_id, "email": "sim@example.invalid", "name": "simulated"}]
        )

    def balances(self, req: SimRequest) -> web.Response:
        self.query(req).finish()
        locked = self.locked()
        now = _iso(time.time_ns())
        return self.reply(
            [
                {
                    "account_id": self.options.account_id,
                    "balance": total - locked[c],
                    "reserve": locked[c],
                    "currency": c,
                    "pair": "",
                    "wallet_type": "SPOT",
                    "last_update_at": now,
                }
                for c, total in sorted(self.backend.balances.items())
            ]
        )

    def activity(self, req: SimRequest) -> web.Response:
        p = self.query(req)
        p.ignore(("currency", "side", "limit", "offset"))
        self.window(p)
        p.finish()
        return self.reply([])

    # ----- v3: orders -------------------------------------------------------------------------

    def _order_seed(self, order: Order) -> dict[str, Any]:
        closed = not order.is_open
        item: dict[str, Any] = {
            "id": self.oid(order),
            "account_id": self.options.account_id,
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
            "status": self.status(order, STATUS_SEED),
            "date": _iso(order.created_ns),
            "updated_at": _iso(order.updated_ns or order.created_ns),
            "open_at": _iso(order.created_ns),
            "expire_after": "",
            "done_at": _iso(order.updated_ns) if closed else "",
        }
        if self.options.echo_client_order_id and not order.client_id.startswith("sim-c"):
            item["client_order_id"] = order.client_id
        return item

    def _order_official(self, order: Order) -> dict[str, Any]:
        return {
            "id": self.oid(order),
            "account_id": self.options.account_id,
            "pair": order.symbol,
            "amount": order.size,
            "price": order.price or ZERO,
            "side": "BID" if order.side is Side.BUY else "ASK",
            "status": self.status(order, STATUS_OFFICIAL),
            "type": order.type.value.upper(),
            "wallet_type": "SPOT",
            "amount_canceled": order.size - order.filled
            if order.status in (S.CANCELED, S.EXPIRED)
            else ZERO,
            "amount_filled": order.filled,
            "date": _iso(order.created_ns, fraction=False),
            "open_at": _iso(order.created_ns, fraction=False),
            "tif": order.tif.value.upper(),
            "updated_at": _iso(order.updated_ns or order.created_ns, fraction=False),
            "done_at": None if order.is_open else _iso(order.updated_ns, fraction=False),
            "expire_after": None,
            "stop_price": order.stop_price,
        }

    def _orders(self, p: Params) -> list[Order]:
        start, end = self.window(p)
        pair = p.text("pair")
        side = p.choice("side", SIDES_V3)
        open_only = p.boolean("open_only")
        p.finish()
        return [
            o
            for o in sorted(self.backend.orders.values(), key=self.oid)
            if start <= _us(o.created_ns) < end
            and (not pair or o.symbol == pair)
            and (side is None or o.side.value == side.lower())
            and (not open_only or o.is_open)
        ]

    def orders_seed(self, req: SimRequest) -> web.Response:
        return self.reply([self._order_seed(o) for o in self._orders(self.query(req))])

    def orders_official(self, req: SimRequest) -> web.Response:
        orders = self._orders(self.query(req))[-100:]  # "up to 100 most recent"
        return self.reply([self._order_official(o) for o in reversed(orders)])

    def _create(self, req: SimRequest) -> Order:
        """A v3 place; see the module notes for what both documents' fields mean."""
        p = self.body_v3(req)
        inst = self.instrument(p.text("pair", required=True))
        side_text = p.choice("order_side", ORDER_SIDES, required=True)
        type_text = p.choice("order_type", ORDER_TYPES, required=True)
        wallet = p.choice("wallet_type", WALLET_TYPES, default="SPOT")
        tif_text = p.choice("tif", TIFS, default="GTC")
        account = p.integer("account_id")
        price = p.decimal("limit_price")
        size = p.decimal("base_amount")
        quote = p.decimal("quote_amount")
        stop = p.decimal("stop_price")
        p.choice("stop_operator", STOP_OPERATORS)
        side_effect = p.choice("side_effect", SIDE_EFFECTS, default="")
        expire = p.text("expire_after", max_len=40, empty=True)  # "may be empty"
        valid_till = p.text("valid_till", max_len=40, empty=True)
        cid = p.text("client_order_id", max_len=64)
        post_only = p.boolean("post_only")
        p.finish()
        assert side_text is not None and type_text is not None and tif_text is not None
        otype = ORDER_TYPES[type_text]
        if wallet != "SPOT" or side_effect not in ("", "NO_SIDE_EFFECT"):
            raise p.bad("wallet_type", f"{wallet} is not available (margin is not simulated)")
        if account not in (None, 0, self.options.account_id):
            raise Refusal(403, f"account {account} does not belong to this key", "forbidden")
        if expire or valid_till:
            raise p.bad("expire_after", "timed orders are not simulated")
        if otype.is_stop or stop:
            raise Refusal(400, "Order type is not supported", "unsupported_order_type")
        if post_only and otype is not OrderType.LIMIT:
            raise p.bad("post_only", "is for limit orders only")
        side = ORDER_SIDES[side_text]
        if otype is OrderType.MARKET:
            if price is not None:
                raise p.bad("limit_price", "is not taken by a market order")
            if (size is None) == (quote is None):
                raise p.bad("base_amount", "a market order takes base_amount or quote_amount")
            if size is None:
                assert quote is not None
                size = self._size_for(inst, side, quote)
        else:
            if quote is not None:
                raise p.bad("quote_amount", "is allowed for market orders only")
            if price is None:
                raise p.bad("limit_price", "is required for limit orders")
            if size is None:
                raise p.bad("base_amount", "is required for limit orders")
        order = self.backend.place(
            inst.symbol,
            side,
            otype,
            size,
            price,
            client_id=cid,
            tif=TIFS[tif_text],
            post_only=post_only,
        )
        self._refused_at_match(order)
        return order

    def _size_for(self, inst: Instrument, side: Side, quote: Decimal) -> Decimal:
        book = self.backend.books[inst.symbol]
        ref = book.best_ask if side is Side.BUY else book.best_bid
        if ref is None:
            raise Refusal(400, "No liquidity to execute the order", "no_liquidity")
        lots = (quote / Decimal(repr(ref)) / inst.lot_size).to_integral_value(rounding=ROUND_FLOOR)
        return lots * inst.lot_size

    def create_seed(self, req: SimRequest) -> web.Response:
        return self.reply(self.oid(self._create(req)), 201)

    def create_official(self, req: SimRequest) -> web.Response:
        return self.reply([self.oid(self._create(req))])

    def _cancel_ids(self, ids: list[int]) -> dict[str, str]:
        out = {}
        for oid in ids:
            order = self.order_by_id(oid)
            if order is not None and order.is_open:
                self.backend.cancel(order.venue_order_id)
                out[str(oid)] = "CANCELLED"
            else:
                out[str(oid)] = "order not found"
        return out

    def cancel_seed(self, req: SimRequest) -> web.Response:
        p = self.body_v3(req)
        ids = p.id_list("order_ids") or []
        everything = p.boolean("all")
        pair = p.text("pair", empty=True)  # the example sends "pair": ""
        p.finish()
        if everything:
            if pair is not None:
                self.instrument(pair)
            done = bool(self.backend.cancel_all(pair))
        elif ids:
            done = "CANCELLED" in self._cancel_ids(ids).values()
        else:
            raise p.bad("order_ids", "rather order_ids or all=true must be specified")
        return web.Response(status=202 if done else 204)

    def cancel_official(self, req: SimRequest) -> web.Response:
        p = self.body_v3(req)
        ids = p.id_list("order_ids")
        everything = p.boolean("all")
        pair = p.text("pair")
        p.finish()
        if sum((ids is not None, everything, pair is not None)) != 1:
            raise p.bad("order_ids", "exactly one of order_ids, all or pair must be specified")
        if ids is not None:
            return self.reply(self._cancel_ids(ids))
        if pair is not None:
            self.instrument(pair)
        self.backend.cancel_all(pair)
        return web.Response(status=202)

    # ----- v3: trades -------------------------------------------------------------------------

    def account_trades(self, req: SimRequest) -> web.Response:
        p = self.query(req)
        if self.options.v3_reading == "official":
            return self._trades_official(p)
        start, end = self.window(p)
        pair = p.text("pair")
        side = p.choice("side", SIDES_V3)
        p.finish()
        out = []
        for f in self.backend.trades:
            if (
                not start <= _us(f.ts_ns) < end
                or (pair and f.symbol != pair)
                or (side is not None and f.side.value != side.lower())
            ):
                continue
            out.append(self._trade_seed(f))
        return self.reply(self.listed(out, duplicate=self.options.trade_order_ids))

    def _trade_seed(self, f: Fill) -> dict[str, Any]:
        order = self.backend.by_client[f.client_id]
        unfilled, status = self.after_trade[f.trade_id]
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
            "account_id": self.options.account_id,
            "currency": self.backend.instruments[f.symbol].quote,
            "pair": f.symbol,
            "fee_currency": f.fee_asset,
            "wallet_type": "SPOT",
        }
        if self.options.trade_order_ids:
            item["id"] = self.tid(f.trade_id)
            item["order_id"] = self.oid(order)
            if not order.client_id.startswith("sim-c"):
                item["client_order_id"] = order.client_id
        return item

    def _trades_official(self, p: Params) -> web.Response:
        pair = p.text("pair")
        side = p.choice("side", SIDES_V3)
        start = p.integer("start_time")
        end = p.integer("end_time")
        limit = p.integer("limit", low=1, high=100) or 100
        p.finish()
        rows = [
            f
            for f in self.backend.trades
            if (not pair or f.symbol == pair)
            and (side is None or f.side.value == side.lower())
            and (start is None or f.ts_ns >= start * 10**9)
            and (end is None or f.ts_ns < end * 10**9)
        ][-limit:]
        out = [
            {
                "id": self.tid(f.trade_id),
                "pair": f.symbol,
                "side": f.side.value.upper(),
                "price": f.price,
                "amount": f.size,
                "fee": f.fee,
                "timestamp": _epoch_s(f.ts_ns),
                "order_id": self.oid(self.backend.by_client[f.client_id]),
            }
            for f in rows
        ]
        return self.reply(self.listed(out, duplicate=True))
