"""BlockTrade's own protocol over the simulated exchange (seed document 004).

REST under ``/api/v1`` (the prefix of the document's example code), one
websocket endpoint at ``/ws/v1/notification`` (the document's ``WS
/ws/v1/notification (Channel)`` headings name one path per channel; the text
says there is "one common endpoint for all websockets connections").

Public: ``GET trading_assets``, ``trading_pairs``, ``order_book/{id}``,
``ticker/{id}``, ``trades/{id}``. Private (``X-Api-Key``/``X-Nonce``/
``X-Signature``): ``GET user``, ``portfolios``, ``fees``, ``settings``,
``user_trades``, ``orders``, ``orders/{id}``, ``customer_orders/{id}``; ``POST
orders``, ``customer_orders``, ``orders/{id}/cancel``,
``customer_orders/{id}/cancel``, ``orders/cancel``, ``orders/cancel_active``,
``portfolios/{id}/withdraw``, ``portfolios/{id}/fiat_withdrawals``; ``GET
portfolios/{id}/fiat_withdrawals``, ``portfolios/{id}/fiat_withdrawals/{withdrawal_id}``,
``user/bank_accounts``. Websocket channels: order_book, trades, ticker,
portfolio, user_orders, user_trades. The authentication check is written here
from the document's example code, not taken from the adapter.

Which reading of every ambiguity this simulator picks (``BlockTradeOptions``
switches the ones a client must cope with either way):

* Authentication: the signature is the upper-case hex HMAC-SHA256 of
  ``KEY.NONCE`` plus ``.BODY`` when the raw request body is non-empty (the
  document's ``if request_body:``), over the body's bytes as sent; query
  strings are not signed; a lower-case signature is refused ("All characters
  are then changed to uppercase"). The nonce is decimal digits, strictly
  greater than the last *accepted* one for the key (a request that fails
  authentication does not consume it). Every auth failure is ``401
  {"message": ...}`` naming the cause (Unauthenticated, Invalid API key,
  Invalid nonce, Invalid signature).
* Errors are the document's Error schema, ``{"message": "..."}``, with no codes,
  also for unknown paths (404) and wrong methods (405). The status carries the
  class: 400 invalid arguments (tick, lot, order value, insufficient funds:
  "Insufficient funds ..."), 404 trading pair / order / portfolio not found,
  409 a ``customer_order_id`` that already exists, 422 "Order can not be
  cancelled" (not open any more), 401 authentication.
* Request bodies follow the schemas: every field typed, unknown fields refused
  (``strict_fields``). ``amount`` and ``stop_price`` are strings ("number as
  string", and every example agrees); ``price`` is typed "number as string" but
  the example sends ``"price": 1000``, so both a string and a JSON number are
  accepted. The example's ``"customer_order_id": 1`` (typed string) is accepted
  as the string "1". ``"stop_price": null`` is "not given".
* ``POST /orders`` (no ``customer_order_id`` in its request schema) assigns a
  UUID as the customer order id, as its response example shows one.
* Order types LIMIT and MARKET; time in force GTC, IOC and FOK (``settings``
  has a ``disable_fill_or_kill`` feature, so FOK exists); stop orders are
  refused (400; ``settings`` says ``disable_stop_order``).
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
* ``GET /fees``: the FeeType schema has one TRADING fee per asset (or
  ``default``) and no maker/taker split, so every trade pays the same rate:
  ``percent_value`` is that rate in percent of the trade value ("0.2" is 0.2 %),
  ``min_fee`` "0".
* Portfolios: one portfolio (id 916). ``available_amount`` is what new orders
  may use, ``reserved_amount`` what open orders hold, ``locked_amount`` 0;
  ``wallet_address`` is the asset's deposit address (a fixed UUID per asset, as
  the example shows one).
* Crypto withdrawals (``POST /portfolios/{id}/withdraw``): ``amount`` a string
  (at least the asset's ``minimal_withdrawal_amount``, at most the available
  amount), ``trading_asset_id`` a crypto asset (a fiat one is refused: it has
  its own call), ``message`` optional text, ``destination_address`` in the
  document's format: for XRP ``the_address?dt=<digits>``, for KAYA
  ``the_address?msg=<text without white space, ?, &, #, =>``, for XLM
  ``the_address?memoId=<digits>`` (``tagged_assets=True`` lists those three
  assets; the tag is part of the format, so an address
  without it is refused: 400), and for any other asset the address alone (a
  ``?`` part is refused). The amount leaves the portfolio at once and the call
  answers the portfolios, as its example does; ``settle_s`` later the
  withdrawal is done, or failed and refunded for an address in
  ``fail_addresses`` (the REST API shows a crypto withdrawal nowhere but in the
  balance).
* Fiat withdrawals (``POST /portfolios/{id}/fiat_withdrawals``):
  ``bank_account_id`` one of the user's bank accounts (``bank_accounts``; an
  unknown one is 404 "Bank account not found", one that is not VERIFIED 400),
  ``trading_asset_id`` a FIAT asset, ``amount`` a string as above, ``type``
  optional and SEPA (the only value). It answers the portfolios; the withdrawal
  is listed (``GET .../fiat_withdrawals``, newest first, no paging: none is
  documented) and fetched by id as ``FiatWithdrawalDetails``: ``status``
  PENDING, then ``settle_s`` later CHECKED (done), or FAILED (refunded) for a
  bank account id in ``fail_addresses``. ``GET /user/bank_accounts`` lists the
  accounts.
* ``maximum_order_value`` is a string, as the TradingAsset schema types it (the
  example shows a number; ``max_order_value_as="number"`` sends that instead);
  min/max order value are the *quote* asset's.
* Websocket: messages are ``{message_type, payload: {..., data: [...]}}``,
  except user trades, sent as the bare trade object the document shows (one
  message per trade; ``user_trades_framing="framed"`` sends the framed shape
  instead). The first order_book message after subscribing is the full book,
  the next ones carry changed levels with their new amount ("0" removes the
  level). Subscribing to user_trades replays the trades since ``start_time``
  (inclusive, ms), then streams new ones. A subscription to a channel that
  does not exist (or is not simulated), and an unsubscribe of a channel the
  session is not subscribed to, answer ``{"message_type": "error", "payload":
  {"message": ...}}`` and change nothing; a good unsubscribe is confirmed with
  ``{"message_type": "unsubscribed", "payload": {"channel_name", "parameters"
  (when not empty)}}``.
* Websocket authentication: either signed headers on the handshake (a bad
  signature or nonce refuses the upgrade with 401) or ``auth_token`` (``GET
  /user``'s ``websocket_auth_token``) in the subscription. The document lists
  portfolio, user activity and user orders as the authenticated channels; user
  trades are "trades belonging to the authenticated user", so they need it too.
  A private subscription without authentication answers
  ``{"message_type": "error", "payload": {"message": "Unauthenticated"}}``.
* A session with no frame from the client (pings count) for
  ``ws_idle_timeout_s`` (60, as documented) is closed by the server.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal

from aiohttp import web

from botkit.events import BookSnapshot
from botkit.model import ZERO, Fill, Instrument, Order, OrderStatus, OrderType, Side, TimeInForce
from botkit.simulator.backend import ExchangeBackend, PublicTrade
from botkit.simulator.kit import (
    NonceBook,
    Params,
    Refusal,
    Route,
    SignedHeaders,
    SimRequest,
    VenueServer,
    WsSession,
    hmac_sha256_hex,
    same,
    split_options,
    unauthorized,
)
from botkit.simulator.withdrawals import SimWithdrawal, WithdrawalLedger

__all__ = [
    "API",
    "ASSETS",
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "DEFAULT_WS_TOKEN",
    "PAIRS",
    "TAGGED_ASSETS",
    "WS_PATH",
    "BlockTradeOptions",
    "BlockTradeServer",
    "make_server",
]

VENUE = "blocktrade"
API = "/api/v1"
WS_PATH = "/ws/v1/notification"

DEFAULT_API_KEY = "bt-test-key"
DEFAULT_API_SECRET = "bt-test-secret"
DEFAULT_WS_TOKEN = "1111111111111111111111111111111111111111"
PORTFOLIO_ID = 916
DAY_MS = 86_400_000

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
    maximum_order_value: str
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

    @property
    def symbol(self) -> str:
        return f"{self.base}/{self.quote}"


ASSETS: tuple[AssetSpec, ...] = (
    AssetSpec(2, "EUR", "Euro", "FIAT", 2, "0.01", "0.1", "620000", "0.01"),
    AssetSpec(3, "BTC", "Bitcoin", "CRYPTOCURRENCY", 8, "0.00000001", "0.0001", "100", "0.0005"),
    AssetSpec(4, "ETH", "Ethereum", "CRYPTOCURRENCY", 8, "0.00000001", "0.001", "2000", "0.005"),
    AssetSpec(5, "USDT", "Tether", "CRYPTOCURRENCY", 2, "0.01", "10", "1000000", "10"),
)
# The assets whose withdrawal address carries a tag (``tagged_assets=True`` lists them).
TAGGED_ASSETS: tuple[AssetSpec, ...] = (
    AssetSpec(6, "XRP", "Ripple", "CRYPTOCURRENCY", 6, "0.000001", "1", "1000000", "20"),
    AssetSpec(7, "XLM", "Stellar", "CRYPTOCURRENCY", 7, "0.0000001", "1", "1000000", "1"),
    AssetSpec(8, "KAYA", "Kaya", "CRYPTOCURRENCY", 8, "0.00000001", "1", "1000000", "1"),
)

# "the proper format of the destination address": the parameter after "?" per asset,
# and whether its value is a number.
ADDRESS_FORMATS: Mapping[str, tuple[str, bool]] = {
    "XRP": ("dt", True),
    "KAYA": ("msg", False),
    "XLM": ("memoId", True),
}
FIAT_TYPES = ("SEPA",)
FIAT_STATUS: Mapping[str, str] = {
    "pending": "PENDING",
    "completed": "CHECKED",
    "failed": "FAILED",
    "cancelled": "FAILED",
}


@dataclass(frozen=True)
class BankAccount:
    """One of the user's bank accounts (``BankAccountData``)."""

    id: str
    iban: str
    bic: str
    display_name: str
    status: str = "VERIFIED"


BANK_ACCOUNTS: tuple[BankAccount, ...] = (
    BankAccount(
        "3f2b8a4e-1c6d-4e8f-9a0b-5c7d2e1f4a6b",
        "DE89370400440532013000",
        "COBADEFFXXX",
        "Desk EUR account",
    ),
    BankAccount(
        "8d1e7c2a-4b3f-4a9e-8c6d-0f5e2b7a9c1d",
        "FR1420041010050500013M02606",
        "PSSTFRPPXXX",
        "Not verified yet",
        "NEW",
    ),
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

STATUS: Mapping[OrderStatus, str] = {
    OrderStatus.PENDING_NEW: "NEW",
    OrderStatus.OPEN: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELED: "CANCELLED",
    OrderStatus.EXPIRED: "CANCELLED",
    OrderStatus.REJECTED: "REJECTED",
}
TYPES: Mapping[str, OrderType] = {"LIMIT": OrderType.LIMIT, "MARKET": OrderType.MARKET}
TIFS: Mapping[str, TimeInForce] = {
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "FOK": TimeInForce.FOK,
}
DIRECTIONS: Mapping[str, Side] = {"BUY": Side.BUY, "SELL": Side.SELL}

SIGNED = SignedHeaders(
    "X-Api-Key",
    "X-Nonce",
    "X-Signature",
    missing="Unauthenticated",
    bad_key="Invalid API key",
    bad_nonce="Invalid nonce",
    bad_signature="Invalid signature",
)
PRIVATE_CHANNELS = frozenset(
    {"portfolio", "user_orders", "user_trades", "user_activity", "user_broker_orders"}
)
PAIR_CHANNELS = frozenset({"order_book", "trades", "ticker"})
SIMULATED_CHANNELS = PAIR_CHANNELS | {"portfolio", "user_orders", "user_trades"}


@dataclass(frozen=True)
class BlockTradeOptions:
    """Protocol options (``running_simulator("blocktrade", api_key=..., ...)``)."""

    api_key: str = DEFAULT_API_KEY
    api_secret: str = DEFAULT_API_SECRET
    ws_token: str = DEFAULT_WS_TOKEN
    portfolio_id: int = PORTFOLIO_ID
    user_trades_framing: Literal["bare", "framed"] = "bare"
    max_order_value_as: Literal["string", "number"] = "string"
    ws_idle_timeout_s: float = 60.0
    trading_fee: str = "0.002"  # a fraction of the trade value; /fees shows it in percent
    strict_fields: bool = True
    restricted_directions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    assets: tuple[AssetSpec, ...] = ASSETS
    pairs: tuple[PairSpec, ...] = PAIRS
    tagged_assets: bool = False  # also list XRP, XLM and KAYA (TAGGED_ASSETS)
    settle_s: float = 2.0  # a withdrawal's time from taken to done (or failed)
    fail_addresses: tuple[str, ...] = ()  # withdrawals to these fail (and are refunded)
    bank_accounts: tuple[BankAccount, ...] = BANK_ACCOUNTS


def make_server(seed: int = 1, **options: Any) -> BlockTradeServer:
    """BlockTrade over a fresh exchange: ``options`` are ``BlockTradeOptions`` fields plus
    the backend's ``balances``, ``step_s`` and ``flow_options``."""
    opts, _ = split_options(VENUE, options, BlockTradeOptions)
    restricted = {
        s: tuple(d.upper() for d in v) for s, v in (opts.restricted_directions or {}).items()
    }
    opts = replace(opts, restricted_directions=restricted)
    if opts.tagged_assets:
        listed = {a.id for a in opts.assets}
        opts = replace(
            opts, assets=opts.assets + tuple(a for a in TAGGED_ASSETS if a.id not in listed)
        )
    assets = {a.iso: a for a in opts.assets}
    instruments: dict[str, Instrument] = {}
    for p in opts.pairs:
        quote = assets[p.quote]
        blocked = {Side(d.lower()) for d in restricted.get(p.symbol, ())}
        instruments[p.symbol] = Instrument(
            VENUE,
            p.symbol,
            p.base,
            p.quote,
            tick_size=p.tick_size,
            lot_size=p.lot_size,
            min_notional=quote.minimal_order_value,
            max_notional=quote.maximum_order_value,
            maker_fee=opts.trading_fee,
            taker_fee=opts.trading_fee,
            allowed_sides=frozenset(set(Side) - blocked) if blocked else None,
        )
    balances = options.get("balances")
    start = balances if balances is not None else DEFAULT_BALANCES
    order_ids = itertools.count(_ORDER_ID_BASE + 1)
    backend = ExchangeBackend(
        VENUE,
        instruments,
        balances={k: Decimal(str(v)) for k, v in start.items()},
        seed=seed,
        step_s=options.get("step_s", 0.1),
        mids={p.symbol: p.mid for p in opts.pairs},
        derivatives=False,
        flow_options=options.get("flow_options"),
        # BlockTrade's order ids are integers.
        order_ids=lambda: str(next(order_ids)),
    )
    return BlockTradeServer(backend, opts, seed)


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


def _path_int(text: str) -> int | None:
    """A path id: decimal digits only."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


Levels = dict[Decimal, Decimal]


# --- the server ---------------------------------------------------------------------------


class BlockTradeServer(VenueServer):
    """BlockTrade's REST and websocket protocol over one ``ExchangeBackend``."""

    venue = VENUE
    REJECTS: Mapping[str, tuple[int, str]] = {
        "unknown_instrument": (404, "Trading pair not found"),
        "duplicate_client_id": (409, "Order with customer_order_id already exists"),
        "order_not_found": (404, "Order not found"),
        "order_not_open": (422, "Order can not be cancelled"),
        "invalid_price": (
            400,
            "The order price must be an integer factor of the tick size {tick_size}",
        ),
        "unexpected_price": (400, "Price must not be set for a MARKET order"),
        "invalid_size": (
            400,
            "The order amount must be a positive multiple of the lot size {lot_size}",
        ),
        "below_min_notional": (
            400,
            "Order value is below the minimal order value of {min_notional} {quote}",
        ),
        "above_max_notional": (
            400,
            "Order value exceeds the maximum order value of {max_notional} {quote}",
        ),
        "insufficient_funds": (400, "Insufficient funds: {message}"),
        "no_liquidity": (400, "No liquidity to execute a MARKET order"),
        "unsupported_order_type": (400, "Order type not supported"),
    }

    def __init__(
        self, backend: ExchangeBackend, options: BlockTradeOptions | None = None, seed: int = 1
    ) -> None:
        super().__init__(backend)
        self.options = options or BlockTradeOptions()
        self.nonces = NonceBook(backend.last_nonce)
        self.assets = {a.iso: a for a in self.options.assets}
        self.asset_by_id = {a.id: a for a in self.options.assets}
        listed = backend.instruments
        self.pairs = {p.id: p for p in self.options.pairs if p.symbol in listed}
        self.pair_by_symbol = {p.symbol: p for p in self.pairs.values()}
        self.rng = random.Random(seed)
        self._trade_ids: dict[str, int] = {}
        self.order_fills: dict[str, list[tuple[int, Fill]]] = {}  # venue id -> (id, fill)
        # Crypto and fiat withdrawals (``extra["kind"]``), settled on the wall clock.
        self.withdrawals = WithdrawalLedger(
            backend.balances,
            settle_s=self.options.settle_s,
            fail_addresses=self.options.fail_addresses,
            first_id=4100,
        )

    # ----- the venue's parts for the kit ------------------------------------------------------

    def routes(self) -> Iterable[Route]:
        a = API
        return (
            Route("GET", f"{a}/trading_assets", self.trading_assets, "assets"),
            Route("GET", f"{a}/trading_pairs", self.trading_pairs, "pairs"),
            Route("GET", a + "/order_book/{pair}", self.order_book, "order_book"),
            Route("GET", a + "/ticker/{pair}", self.ticker, "ticker"),
            Route("GET", a + "/trades/{pair}", self.trades, "trades"),
            Route("GET", f"{a}/user", self.user, "user", private=True),
            Route("GET", f"{a}/portfolios", self.portfolios, "portfolios", private=True),
            Route("GET", f"{a}/fees", self.fees, "fees", private=True),
            Route("GET", f"{a}/settings", self.settings, "settings", private=True),
            Route("GET", f"{a}/user_trades", self.user_trades, "user_trades", private=True),
            Route("GET", f"{a}/orders", self.list_orders, "orders", private=True),
            Route("POST", f"{a}/orders", self.place_order, "place", private=True),
            Route("POST", f"{a}/orders/cancel_active", self.cancel_active, "cancel_all", True),
            Route("POST", f"{a}/orders/cancel", self.cancel_by_pair, "cancel_all", True),
            Route("GET", a + "/orders/{id}", self.order_details, "order", private=True),
            Route("POST", a + "/orders/{id}/cancel", self.cancel_order, "cancel", True),
            Route("POST", f"{a}/customer_orders", self.place_customer_order, "place", True),
            Route("GET", a + "/customer_orders/{id}", self.customer_order, "order", True),
            Route("POST", a + "/customer_orders/{id}/cancel", self.cancel_customer, "cancel", True),
            Route("POST", a + "/portfolios/{id}/withdraw", self.withdraw, "withdraw", True),
            Route("GET", a + "/portfolios/{id}/fiat_withdrawals", self.fiat_list, "fiat", True),
            Route(
                "POST", a + "/portfolios/{id}/fiat_withdrawals", self.fiat_create, "withdraw", True
            ),
            Route(
                "GET",
                a + "/portfolios/{id}/fiat_withdrawals/{withdrawal_id}",
                self.fiat_one,
                "fiat",
                True,
            ),
            Route("GET", f"{a}/user/bank_accounts", self.bank_accounts, "user", private=True),
            Route("GET", WS_PATH, self.websocket, "websocket"),
        )

    def error_body(self, refusal: Refusal, path: str) -> Any:
        return {"message": refusal.message}

    @property
    def credentials(self) -> dict[str, str]:
        return {"api_key": self.options.api_key, "api_secret": self.options.api_secret}

    def urls(self, origin: str) -> dict[str, str]:
        ws = origin.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        return {"rest": origin + API, "websocket": ws + WS_PATH}

    def authenticate(self, req: SimRequest, route: Route) -> None:
        """The document's ``gen_signature``, checked: upper-case hex HMAC-SHA256 of
        ``KEY.NONCE[.BODY]`` keyed with the secret."""
        opts = self.options

        def expected(nonce: int) -> str:
            message = f"{opts.api_key}.{nonce}".encode()
            if req.body:  # the example's ``if request_body:``
                message += b"." + req.body
            return hmac_sha256_hex(opts.api_secret, message).upper()

        SIGNED.check(req.headers, opts.api_key, self.nonces, expected)

    def on_event(self, kind: str, payload: Any) -> None:
        if kind == "fill" and payload.venue_order_id:
            self.order_fills.setdefault(payload.venue_order_id, []).append(
                (self.trade_id(payload), payload)
            )

    # ----- ids and lookups -----------------------------------------------------------------

    def trade_id(self, fill: Fill) -> int:
        tid = self._trade_ids.get(fill.trade_id)
        if tid is None:
            tid = _TRADE_ID_BASE + len(self._trade_ids) + 1
            self._trade_ids[fill.trade_id] = tid
        return tid

    def pair(self, text: str) -> PairSpec:
        pid = _path_int(text)
        pair = self.pairs.get(pid) if pid is not None else None
        if pair is None:
            raise Refusal(404, "Trading pair not found", "unknown_instrument")
        return pair

    def _order(self, order: Order | None) -> Order:
        if order is None or order.venue_order_id is None:
            raise Refusal(404, "Order not found", "order_not_found")
        return order

    def order_by_id(self, text: str) -> Order:
        return self._order(self.backend.orders.get(text) if _path_int(text) else None)

    def order_by_customer_id(self, text: str) -> Order:
        return self._order(self.backend.by_client.get(text))

    def params(self, values: Mapping[str, Any], source: Literal["json", "query"]) -> Params:
        return Params(values, source, strict=self.options.strict_fields)

    def body(self, req: SimRequest) -> Params:
        if not req.has_body:
            raise Refusal(400, "Request body must be a JSON object", "invalid_params")
        return self.params(req.json_object(), "json")

    # ----- payloads ---------------------------------------------------------------------------

    def order_json(self, order: Order, *, ws: bool = False) -> dict[str, Any]:
        amount_key = "amount" if ws else "value"
        trades = [
            {"id": tid, amount_key: _s(f.size), "price": _s(f.price), "time": _ms(f.ts_ns)}
            for tid, f in self.order_fills.get(order.venue_order_id or "", [])
        ]
        return {
            "id": int(order.venue_order_id or 0),
            "customer_order_id": order.client_id,
            "portfolio_id": self.options.portfolio_id,
            "trading_pair_id": self.pair_by_symbol[order.symbol].id,
            "direction": order.side.value.upper(),
            "type": order.type.value.upper(),
            "amount": _s(order.size),
            "remaining_amount": _s(max(order.size - order.filled, ZERO)),
            "price": None if order.price is None else _s(order.price),
            "time_in_force": order.tif.value.upper(),
            "stop_price": None if order.stop_price is None else _s(order.stop_price),
            "date": _ms(order.updated_ns or order.created_ns),
            "status": STATUS.get(order.status, order.status.value.upper()),
            "trades": trades,
        }

    def user_trade_json(self, f: Fill) -> dict[str, Any]:
        return {
            "id": self.trade_id(f),
            "order_id": int(f.venue_order_id) if f.venue_order_id else None,
            "trading_pair_id": self.pair_by_symbol[f.symbol].id,
            "symbol": f.symbol,
            "direction": f.side.value.upper(),
            "amount": _s(f.size),
            "price": _s(f.price),
            "date": _ms(f.ts_ns),
            "fee_value": _s(f.fee),
            "trade_value": _s(f.price * f.size),
            "maker": f.liquidity.value == "maker",
        }

    def public_trade_json(self, t: PublicTrade) -> dict[str, Any]:
        return {
            "id": _PUBLIC_TRADE_ID_BASE + t.id,
            "order_id": _ORDER_ID_BASE - 2 * t.id,
            "matched_order_id": _ORDER_ID_BASE - 2 * t.id - 1,
            "trading_pair_id": self.pair_by_symbol[t.symbol].id,
            "symbol": t.symbol,
            "direction": "BUY" if t.side is Side.BUY else "SELL",
            "amount": _s(t.size),
            "price": _s(t.price),
            "date": _ms(t.ts_ns),
        }

    def portfolios_json(self) -> list[dict[str, Any]]:
        self.withdrawals.settle()  # a failed withdrawal is refunded
        be = self.backend
        assets = []
        for a in self.options.assets:
            total = be.balances.get(a.iso, ZERO)
            available = be.available(a.iso)
            assets.append(
                {
                    "trading_asset_id": a.id,
                    "available_amount": _s(available),
                    "reserved_amount": _s(total - available),
                    "locked_amount": "0",
                    "wallet_address": self.wallet_address(a),
                }
            )
        return [{"id": self.options.portfolio_id, "assets": assets}]

    def wallet_address(self, a: AssetSpec) -> str:
        """The asset's deposit address: a fixed UUID (as the example), with the tag in the
        withdrawal format for the assets that need one (deposits to the portfolio)."""
        address = str(uuid.UUID(int=a.id * 7919 + self.options.portfolio_id))
        fmt = ADDRESS_FORMATS.get(a.iso)
        return f"{address}?{fmt[0]}={self.options.portfolio_id}" if fmt else address

    def levels(self, pair: PairSpec) -> tuple[Levels, Levels]:
        book = self.backend.books[pair.symbol]
        inst = self.backend.instruments[pair.symbol]
        bids = {_q(p, inst.tick_size): _q(s, inst.lot_size) for p, s in book.bid_levels()}
        asks = {_q(p, inst.tick_size): _q(s, inst.lot_size) for p, s in book.ask_levels()}
        return bids, asks

    @staticmethod
    def levels_json(levels: Levels, reverse: bool) -> list[dict[str, str]]:
        return [
            {"price": _s(p), "amount": _s(a), "value": _s(p * a)}
            for p, a in sorted(levels.items(), reverse=reverse)
        ]

    def ticker_json(self, pair: PairSpec) -> dict[str, Any]:
        book = self.backend.books[pair.symbol]
        inst = self.backend.instruments[pair.symbol]
        since = time.time_ns() - DAY_MS * 1_000_000
        day = [
            t for t in self.backend.public_trades if t.symbol == pair.symbol and t.ts_ns >= since
        ]

        def px(v: float | None) -> str | None:
            return None if v is None else _s(_q(v, inst.tick_size))

        return {
            "last_price": px(book.last_price),
            "bid_price": px(book.best_bid),
            "ask_price": px(book.best_ask),
            "volume": _s(sum((t.size for t in day), ZERO)),
            "low": _s(min(t.price for t in day)) if day else None,
            "high": _s(max(t.price for t in day)) if day else None,
        }

    # ----- public REST --------------------------------------------------------------------------

    def trading_assets(self, req: SimRequest) -> web.Response:
        self.params(req.query, "query").finish()
        max_as_number = self.options.max_order_value_as == "number"
        return self.reply(
            [
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
                    "maximum_order_value": (
                        Decimal(a.maximum_order_value) if max_as_number else a.maximum_order_value
                    ),
                    "decimal_precision": a.decimal_precision,
                    "lot_size": a.lot_size,
                    "deposit_methods": ["WALLET_ADDRESS"],
                    "is_restricted_for_user": False,
                    "tags": [],
                    "is_favourite": False,
                }
                for a in self.options.assets
            ],
            decimals="number",
        )

    def trading_pairs(self, req: SimRequest) -> web.Response:
        self.params(req.query, "query").finish()
        restricted = self.options.restricted_directions
        return self.reply(
            [
                {
                    "id": p.id,
                    "base_asset_id": self.assets[p.base].id,
                    "quote_asset_id": self.assets[p.quote].id,
                    "decimal_precision": p.decimal_precision,
                    "lot_size": p.lot_size,
                    "tick_size": p.tick_size,
                    "restricted_directions_for_user": list(restricted.get(p.symbol, ())),
                }
                for p in self.pairs.values()
            ]
        )

    def order_book(self, req: SimRequest) -> web.Response:
        pair = self.pair(req.match["pair"])
        self.params(req.query, "query").finish()
        bids, asks = self.levels(pair)
        return self.reply(
            {"bids": self.levels_json(bids, True), "asks": self.levels_json(asks, False)}
        )

    def ticker(self, req: SimRequest) -> web.Response:
        pair = self.pair(req.match["pair"])
        self.params(req.query, "query").finish()
        return self.reply(self.ticker_json(pair))

    def paging(self, p: Params, default_limit: int, max_offset: int | None) -> tuple[int, int]:
        limit = p.integer("limit", low=1, high=1000)
        limit = default_limit if limit is None else limit
        offset = p.integer("offset") or 0
        if max_offset is not None and offset > max_offset - limit:
            raise p.bad("offset", f"may be at most {max_offset} - limit")
        return limit, offset

    def trades(self, req: SimRequest) -> web.Response:
        pair = self.pair(req.match["pair"])
        p = self.params(req.query, "query")
        limit, offset = self.paging(p, 10, None)
        p.finish()
        rows = [t for t in reversed(self.backend.public_trades) if t.symbol == pair.symbol]
        return self.reply(
            {
                "data": [self.public_trade_json(t) for t in rows[offset : offset + limit]],
                "count": len(rows),
                "offset": offset,
                "limit": limit,
            }
        )

    # ----- private REST: account ----------------------------------------------------------------

    def user(self, req: SimRequest) -> web.Response:
        self.params(req.query, "query").finish()
        return self.reply(
            {
                "user_id": 952,
                "email": "trader@example.invalid",
                "primary_currency": {"id": 2, "name": "EUR"},
                "kyc_status": "OK",
                "websocket_auth_token": self.options.ws_token,
                "is_2fa_enabled": True,
                "account_type": "INDIVIDUAL",
                "instant_exchange_enabled": False,
                "ui_theme": "LIGHT",
            }
        )

    def portfolios(self, req: SimRequest) -> web.Response:
        self.params(req.query, "query").finish()
        return self.reply(self.portfolios_json())

    def fees(self, req: SimRequest) -> web.Response:
        self.params(req.query, "query").finish()
        percent = _s(Decimal(self.options.trading_fee) * 100)
        miner = {
            str(a.id): {"min_fee": "0", "percent_value": "0"}
            for a in self.options.assets
            if a.currency_type == "CRYPTOCURRENCY"
        }
        return self.reply(
            {
                "TRADING": {"default": {"min_fee": "0", "percent_value": percent}},
                "MINER_FEE": miner,
            }
        )

    def settings(self, req: SimRequest) -> web.Response:
        self.params(req.query, "query").finish()
        return self.reply(
            {
                "rounding_policy": {},
                "features": {
                    "ask_for_account_type": False,
                    "disable_deposit_and_withdraw": False,
                    "disable_kyc_verification": True,
                    "disable_fill_or_kill": False,
                    "disable_stop_order": True,
                    "referrer_campaign": False,
                    "show_beta_icons": False,
                    "subscriptions": True,
                    "instant_exchange_is_enabled": False,
                },
                "external": {"checkout": None},
            }
        )

    def user_trades(self, req: SimRequest) -> web.Response:
        p = self.params(req.query, "query")
        limit, offset = self.paging(p, 100, None)
        start = p.integer("start_time")
        end = p.integer("end_time")
        pair_ids = {
            self._csv_int(p, "trading_pair_ids", item) for item in p.csv("trading_pair_ids")
        }
        sides = set(p.csv("trade_sides"))
        if not sides <= set(DIRECTIONS):
            raise p.bad("trade_sides", "must list BUY and/or SELL")
        p.finish()
        rows = [
            f
            for f in self.backend.trades
            if (start is None or _ms(f.ts_ns) >= start)
            and (end is None or _ms(f.ts_ns) <= end)
            and (not pair_ids or self.pair_by_symbol[f.symbol].id in pair_ids)
            and (not sides or f.side.value.upper() in sides)
        ]
        rows.sort(key=lambda f: (f.ts_ns, self.trade_id(f)))
        page = [self.user_trade_json(f) for f in rows[offset : offset + limit]]
        return self.reply({"data": page, "count": len(rows)})

    @staticmethod
    def _csv_int(p: Params, name: str, item: str) -> int:
        n = _path_int(item)
        if n is None:
            raise p.bad(name, f"{item[:20]!r} is not an id")
        return n

    def _portfolio(self, req: SimRequest) -> None:
        if _path_int(req.match["id"]) != self.options.portfolio_id:
            raise Refusal(404, "Portfolio not found", "not_found")

    def _withdrawal_amount(self, p: Params, asset: AssetSpec, amount: Decimal) -> None:
        exponent = amount.normalize().as_tuple().exponent
        if amount <= 0 or not isinstance(exponent, int) or -exponent > asset.decimal_precision:
            raise p.bad("amount", f"must be > 0 with at most {asset.decimal_precision} decimals")
        if amount < Decimal(asset.minimal_withdrawal_amount):
            raise Refusal(
                400,
                f"The minimal withdrawal amount is {asset.minimal_withdrawal_amount} {asset.iso}",
                "invalid_params",
            )
        if amount > self.backend.available(asset.iso):
            raise Refusal(400, f"Insufficient funds: {asset.iso}", "insufficient_funds")

    @staticmethod
    def destination_problem(iso: str, text: str) -> str | None:
        """Why ``destination_address`` is not in the document's format for ``iso``."""
        address, sep, rest = text.partition("?")
        if not address or any(c.isspace() for c in text):
            return "destination_address is not an address"
        fmt = ADDRESS_FORMATS.get(iso)
        if fmt is None:
            return f"a {iso} destination address has no '?' part" if sep else None
        name, numeric = fmt
        shown = f"the_address?{name}=the_{'number' if numeric else 'message'}"
        if not sep or not rest.startswith(name + "="):
            return f"the {iso} destination address must be written {shown}"
        value = rest[len(name) + 1 :]
        if not value or any(c in value for c in "?&#="):
            return f"the {iso} destination address must be written {shown}"
        if numeric and not (value.isascii() and value.isdigit()):
            return f"the {iso} destination {name} must be a number"
        return None

    def withdraw(self, req: SimRequest) -> web.Response:
        self._portfolio(req)
        p = self.body(req)
        amount = p.decimal("amount", required=True, number=False)
        asset_id = p.integer("trading_asset_id", required=True)
        message = p.text("message", max_len=1024)
        target = p.text("destination_address", required=True, max_len=256)
        p.finish()
        asset = self.asset_by_id.get(asset_id or 0)
        if asset is None:
            raise Refusal(400, "Trading asset not found", "invalid_params")
        if asset.currency_type == "FIAT":
            raise p.bad("trading_asset_id", f"{asset.iso} is fiat: use fiat_withdrawals")
        assert amount is not None and target is not None
        problem = self.destination_problem(asset.iso, target)
        if problem is not None:
            raise p.bad("destination_address", problem)
        self._withdrawal_amount(p, asset, amount)
        address, _, rest = target.partition("?")
        tag = rest.partition("=")[2]
        self.withdrawals.create(
            str(uuid.uuid4()),
            asset.iso,
            amount,
            address,
            tag=tag or None,
            kind="crypto",
            message=message,
        )
        return self.reply(self.portfolios_json())

    # ----- private REST: fiat withdrawals and bank accounts ------------------------------------

    def bank_account_json(self, b: BankAccount) -> dict[str, Any]:
        return {
            "id": b.id,
            "iban": b.iban,
            "bic": b.bic,
            "display_name": b.display_name,
            "status": b.status,
        }

    def fiat_json(self, w: SimWithdrawal) -> dict[str, Any]:
        bank = next(b for b in self.options.bank_accounts if b.id == w.address)
        changed = w.completed_ns or w.extra.get("settled_ns") or w.created_ns
        return {
            "id": w.id,
            "customer_id": 952,
            "status": FIAT_STATUS[w.state],
            "type": w.extra["type"],
            "bank_account": self.bank_account_json(bank),
            "iso_code": w.asset,
            "amount": _s(w.amount),
            "fee": "0",
            "created_at": _ms(w.created_ns),
            "modified_at": _ms(changed),
        }

    def _fiat(self) -> list[SimWithdrawal]:
        return [w for w in self.withdrawals.newest_first() if w.extra["kind"] == "fiat"]

    def fiat_list(self, req: SimRequest) -> web.Response:
        self._portfolio(req)
        self.params(req.query, "query").finish()
        return self.reply([self.fiat_json(w) for w in self._fiat()])

    def fiat_one(self, req: SimRequest) -> web.Response:
        self._portfolio(req)
        self.params(req.query, "query").finish()
        wid = _path_int(req.match["withdrawal_id"])
        found = next((w for w in self._fiat() if w.id == wid), None)
        if found is None:
            raise Refusal(404, "Withdrawal not found", "not_found")
        return self.reply(self.fiat_json(found))

    def fiat_create(self, req: SimRequest) -> web.Response:
        self._portfolio(req)
        p = self.body(req)
        bank_id = p.text("bank_account_id", required=True, max_len=64)
        asset_id = p.integer("trading_asset_id", required=True)
        amount = p.decimal("amount", required=True, number=False)
        kind = p.choice("type", FIAT_TYPES) or FIAT_TYPES[0]
        p.finish()
        assert amount is not None
        asset = self.asset_by_id.get(asset_id or 0)
        if asset is None:
            raise Refusal(400, "Trading asset not found", "invalid_params")
        if asset.currency_type != "FIAT":
            raise p.bad("trading_asset_id", f"{asset.iso} is not a fiat currency")
        bank = next((b for b in self.options.bank_accounts if b.id == bank_id), None)
        if bank is None:
            raise Refusal(404, "Bank account not found", "not_found")
        if bank.status != "VERIFIED":
            raise p.bad("bank_account_id", f"the bank account is {bank.status}, not VERIFIED")
        self._withdrawal_amount(p, asset, amount)
        self.withdrawals.create(
            str(uuid.uuid4()), asset.iso, amount, bank.id, kind="fiat", type=kind
        )
        return self.reply(self.portfolios_json())

    def bank_accounts(self, req: SimRequest) -> web.Response:
        self.params(req.query, "query").finish()
        return self.reply(
            {
                "bank_accounts": [self.bank_account_json(b) for b in self.options.bank_accounts],
                "ref_number": f"BT{self.options.portfolio_id}",
                "send_to_data": {
                    "account_holder": "ETR AG",
                    "payment_provider": "Simulated Payments",
                    "iban": "CH9300762011623852957",
                    "bic": "SIMUCHZZXXX",
                },
            }
        )

    # ----- private REST: orders -----------------------------------------------------------------

    def list_orders(self, req: SimRequest) -> web.Response:
        p = self.params(req.query, "query")
        limit, offset = self.paging(p, 10, 100_000)
        statuses = set(p.csv("status"))
        types = set(p.csv("type"))
        pair_ids = {self._csv_int(p, "trading_pair_id", i) for i in p.csv("trading_pair_id")}
        p.finish()
        if not statuses <= set(STATUS.values()):
            raise p.bad("status", f"must list values of {', '.join(sorted(set(STATUS.values())))}")
        if not types <= set(TYPES):
            raise p.bad("type", f"must list values of {', '.join(TYPES)}")
        rows = []
        for order in self.backend.orders.values():
            js = self.order_json(order)
            if (
                (statuses and js["status"] not in statuses)
                or (types and js["type"] not in types)
                or (pair_ids and js["trading_pair_id"] not in pair_ids)
            ):
                continue
            rows.append(js)
        rows.sort(key=lambda js: js["id"], reverse=True)
        return self.reply(
            {
                "data": rows[offset : offset + limit],
                "count": len(rows),
                "offset": offset,
                "limit": limit,
            }
        )

    def order_details(self, req: SimRequest) -> web.Response:
        self.params(req.query, "query").finish()
        return self.reply(self.order_json(self.order_by_id(req.match["id"])))

    def customer_order(self, req: SimRequest) -> web.Response:
        self.params(req.query, "query").finish()
        return self.reply(self.order_json(self.order_by_customer_id(req.match["id"])))

    def _place(self, p: Params, customer_id: str) -> web.Response:
        """NewOrderRequest / NewCustomerOrderRequest, field by field as the schema types them."""
        portfolio = p.integer("portfolio_id", required=True)
        direction = p.choice("direction", DIRECTIONS, required=True)
        type_text = p.text("type", required=True)
        pair_id = p.integer("trading_pair_id", required=True)
        amount = p.decimal("amount", required=True, number=False)
        price = p.decimal("price")
        tif_text = p.choice("time_in_force", TIFS, default="GTC")
        stop = p.decimal("stop_price", number=False)
        p.finish()
        if portfolio != self.options.portfolio_id:
            raise Refusal(404, "Portfolio not found", "not_found")
        otype = TYPES.get(type_text or "")
        if otype is None:
            raise Refusal(400, f"Order type {type_text} is not supported", "unsupported_order_type")
        if stop is not None:
            raise Refusal(400, "Stop orders are not supported", "unsupported_order_type")
        pair = self.pairs.get(pair_id or 0)
        if pair is None:
            raise Refusal(404, "Trading pair not found", "unknown_instrument")
        assert direction is not None and amount is not None and tif_text is not None
        if direction in self.options.restricted_directions.get(pair.symbol, ()):
            raise Refusal(
                400, f"Direction {direction} is restricted for the user", "side_not_allowed"
            )
        order = self.backend.place(
            pair.symbol, DIRECTIONS[direction], otype, amount, price, customer_id, TIFS[tif_text]
        )
        if order.status is OrderStatus.REJECTED or order.venue_order_id is None:
            raise Refusal(400, order.reason or "Order rejected", order.code or "rejected")
        return self.reply({"id": int(order.venue_order_id), "customer_order_id": customer_id})

    def place_order(self, req: SimRequest) -> web.Response:
        p = self.body(req)
        return self._place(p, str(uuid.UUID(int=self.rng.getrandbits(128), version=4)))

    def place_customer_order(self, req: SimRequest) -> web.Response:
        p = self.body(req)
        customer_id = p.identifier("customer_order_id", required=True)
        assert customer_id is not None
        return self._place(p, customer_id)

    def _cancel(self, req: SimRequest, order: Order) -> web.Response:
        self.params(req.query, "query").finish()
        if req.has_body:
            self.params(req.json_object(), "json").finish()
        self.backend.cancel(order.venue_order_id, order.client_id)
        return web.Response(status=202)

    def cancel_order(self, req: SimRequest) -> web.Response:
        return self._cancel(req, self.order_by_id(req.match["id"]))

    def cancel_customer(self, req: SimRequest) -> web.Response:
        return self._cancel(req, self.order_by_customer_id(req.match["id"]))

    def cancel_active(self, req: SimRequest) -> web.Response:
        self.params(req.query, "query").finish()
        if req.has_body:
            self.params(req.json_object(), "json").finish()
        self.backend.cancel_all()
        return web.Response(status=202)

    def cancel_by_pair(self, req: SimRequest) -> web.Response:
        p = self.body(req)
        pair_id = p.integer("trading_pair_id", required=True)
        p.finish()
        pair = self.pairs.get(pair_id or 0)
        if pair is None:
            raise Refusal(404, "Trading pair not found", "unknown_instrument")
        self.backend.cancel_all(pair.symbol)
        return web.Response(status=202)

    # ----- websocket ------------------------------------------------------------------------

    async def websocket(self, req: SimRequest) -> web.StreamResponse:
        """The one websocket endpoint; signed headers on the handshake authenticate it."""
        authed = False
        if "X-Api-Key" in req.headers:
            self.authenticate(req, Route("GET", WS_PATH, self.websocket, "ws_connect"))
            authed = True
        assert req.raw is not None
        session = BlockTradeSession(self, authed)
        return await session.serve(req.raw, self.options.ws_idle_timeout_s)


class BlockTradeSession(WsSession):
    """One websocket connection: its subscriptions and what they receive."""

    server: BlockTradeServer

    def __init__(self, server: BlockTradeServer, authed: bool) -> None:
        super().__init__(server)
        self.authed = authed
        self.subs: set[tuple[str, int | None]] = set()
        self.books: dict[int, tuple[Levels, Levels]] = {}

    # -- backend events

    def on_event(self, kind: str, payload: Any) -> None:
        srv = self.server
        if kind == "book":
            pair = srv.pair_by_symbol.get(payload.symbol)
            if pair is None:
                return
            if ("order_book", pair.id) in self.subs:
                self._book_update(pair, payload)
            if ("ticker", pair.id) in self.subs:
                self._ticker(pair)
        elif kind == "print":
            pair = srv.pair_by_symbol.get(payload.symbol)
            if pair is not None and ("trades", pair.id) in self.subs:
                rec = srv.public_trade_json(payload)
                row = {k: rec[k] for k in ("id", "price", "amount")} | {"time": rec["date"]}
                self.send(
                    {
                        "message_type": "trades",
                        "payload": {"trading_pair_id": pair.id, "data": [row]},
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
            self.send_account(
                {
                    "message_type": "user_orders",
                    "payload": {"data": [srv.order_json(payload, ws=True)]},
                }
            )

    def _user_trades(self, fills: list[Fill]) -> None:
        rows = [self.server.user_trade_json(f) for f in fills]
        if self.server.options.user_trades_framing == "framed":
            if rows:
                self.send_account({"message_type": "user_trades", "payload": {"data": rows}})
            return
        for row in rows:
            self.send_account(row)

    def _portfolio(self) -> None:
        self.send({"message_type": "portfolio", "payload": {"data": self.server.portfolios_json()}})

    def _ticker(self, pair: PairSpec) -> None:
        self.send(
            {
                "message_type": "ticker",
                "payload": {"trading_pair_id": pair.id, "data": [self.server.ticker_json(pair)]},
            }
        )

    def _book_message(self, pair: PairSpec, bids: Levels, asks: Levels) -> dict[str, Any]:
        srv = self.server
        return {
            "message_type": "order_book",
            "payload": {
                "trading_pair_id": pair.id,
                "data": [
                    {"bids": srv.levels_json(bids, True), "asks": srv.levels_json(asks, False)}
                ],
            },
        }

    def _book_snapshot(self, pair: PairSpec) -> None:
        bids, asks = self.server.levels(pair)
        self.books[pair.id] = (bids, asks)
        self.send(self._book_message(pair, bids, asks))

    def _book_update(self, pair: PairSpec, snap: BookSnapshot) -> None:
        old = self.books.get(pair.id)
        if old is None:
            self._book_snapshot(pair)
            return
        bids, asks = self.server.levels(pair)
        self.books[pair.id] = (bids, asks)

        def diff(before: Levels, after: Levels) -> Levels:
            out = {p: a for p, a in after.items() if before.get(p) != a}
            out.update({p: ZERO for p in before if p not in after})
            return out

        changed_bids, changed_asks = diff(old[0], bids), diff(old[1], asks)
        if changed_bids or changed_asks:
            self.send(self._book_message(pair, changed_bids, changed_asks))

    # -- client messages

    def on_bad_message(self, reason: str) -> None:
        self._error(f"Invalid message: {reason}")

    def on_message(self, message: Any) -> None:
        if not isinstance(message, dict) or not message:
            self._error("Invalid message")
            return
        for key, params in message.items():
            action, _, channel = key.partition("_")
            if action not in ("subscribe", "unsubscribe") or not channel:
                self._error(f"Unknown message {key[:40]}")
            elif not isinstance(params, dict):
                self._error(f"{key[:40]}: the parameters must be an object")
            elif action == "subscribe":
                self._subscribe(channel, params)
            else:
                self._unsubscribe(channel, params)

    def _error(self, message: str) -> None:
        self.send({"message_type": "error", "payload": {"message": message}})

    def _key(self, channel: str, params: Params) -> tuple[str, int | None] | None:
        """The subscription a message names, or None (an error was sent)."""
        if channel not in SIMULATED_CHANNELS:
            self._error(f"Channel {channel[:40]} is not available")
            return None
        if channel not in PAIR_CHANNELS:
            return channel, None
        try:
            pid = params.integer("trading_pair_id", required=True)
        except Refusal as err:
            self._error(err.message)
            return None
        if pid not in self.server.pairs:
            self._error("Trading pair not found")
            return None
        return channel, pid

    def _subscribe(self, channel: str, values: dict[str, Any]) -> None:
        srv = self.server
        params = Params(values, "json", strict=srv.options.strict_fields)
        key = self._key(channel, params)
        if key is None:
            return
        try:
            token = params.text("auth_token") if channel in PRIVATE_CHANNELS else None
            start = params.integer("start_time") if channel == "user_trades" else None
            params.finish()
        except Refusal as err:
            self._error(err.message)
            return
        if channel in PRIVATE_CHANNELS and not (
            self.authed or (token is not None and same(token, srv.options.ws_token))
        ):
            srv.refuse("ws_subscribe", unauthorized(f"{channel}: Unauthenticated"))
            self._error("Unauthenticated")
            return
        self.subs.add(key)
        pair = srv.pairs.get(key[1] or 0)
        if channel == "order_book" and pair is not None:
            self._book_snapshot(pair)
        elif channel == "ticker" and pair is not None:
            self._ticker(pair)
        elif channel == "portfolio":
            self._portfolio()
        elif channel == "user_trades":
            past = [f for f in srv.backend.trades if start is None or _ms(f.ts_ns) >= start]
            self._user_trades(past)

    def _unsubscribe(self, channel: str, values: dict[str, Any]) -> None:
        params = Params(values, "json", strict=False)
        key = self._key(channel, params)
        if key is None:
            return
        if key not in self.subs:
            self._error(f"Not subscribed to {channel}")
            return
        self.subs.discard(key)
        if channel == "order_book" and key[1] is not None:
            self.books.pop(key[1], None)
        payload: dict[str, Any] = {"channel_name": channel}
        if values:
            payload["parameters"] = dict(values)
        self.send({"message_type": "unsubscribed", "payload": payload})
