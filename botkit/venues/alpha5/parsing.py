"""Alpha5 payloads -> model values (pure functions of decoded JSON).

The Alpha5 document gives no response schemas (every example response is
``{}``; only ``Asset`` — symbol, name, precision — is described). The field
names read here are therefore an assumption, made explicit and easy to change:
the primary name of each field follows the document's own parameter names
(``contract_symbol``, ``asset``, ``size``, ``price``, ``order_id``,
``time_in_force``, ``post_only``, ``reduce_only``, ``stop_price``), and the
aliases after it are the Deribit-style names that the document's endpoints and
enums (``get_open_orders``, ``good_til_cancelled``, ``BTC-PERPETUAL``,
``index_price``/``mark_price`` triggers) suggest. The local simulator emits the
primary names. All alias tuples are module constants.

Further choices:

* A response may come bare or in a ``{"result": ...}`` / ``{"data": ...}``
  envelope; both are accepted.
* Times may be epoch numbers in s/ms/µs/ns (told apart by magnitude) or
  ISO 8601 strings.
* Order status: open/new/untriggered -> OPEN (PARTIALLY_FILLED when part is
  filled), partially_filled, filled, cancelled/canceled, rejected, expired;
  anything else -> UNKNOWN with the raw text kept.
* A market order's non-numeric price (Deribit writes ``"market_price"``) is
  read as no price; elsewhere a non-numeric price is a ParseError.
* Contracts: ``lot_size`` falls back to ``size_increment``, ``contract_size``
  and ``min_trade_amount``; the quote currency to ``USD`` (the document: "for
  perpetual and futures the amount is in USD units"); the instrument kind is the
  contract ``type``/``kind`` (``future``, ``spread``, ...), ``future`` if absent;
  the minimum/maximum order value is ``min_order_value``/``max_order_value``
  (alias ``min_notional``/``max_notional``). A contract is perpetual when its
  ``settlement_period`` says so or its symbol ends in ``-PERPETUAL``.
* Positions: ``size`` signed, or unsigned with ``direction``/``side`` sell
  (short) or buy; balances: ``balance`` (alias ``total``/``equity``) per
  ``asset``.
* A fill without a maker flag is counted as taker (the conservative fee
  assumption); ``Fill.client_id`` is the order's label when one is echoed.
* Errors: no error format is documented. Bodies are read as
  ``{"error": {"code", "message"}}`` (JSON-RPC), ``{"error": "..."}`` or
  ``{"code", "message"}``; symbolic codes/messages (``not_enough_funds``,
  ``too_many_requests``, ``order_not_found``, ``unauthorized``, ...) are mapped,
  numeric codes are not (they differ between sources and cannot be checked
  against this venue). The codes the local simulator answers with
  (``instrument_not_found``, ``order_value_too_low``, ``reduce_only_violation``,
  ...) are in the table too.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

from botkit.events import BookSnapshot, Ticker, Trade
from botkit.model import ZERO, Fill, Instrument, Liquidity, OrderStatus, OrderType
from botkit.model import TimeInForce as Tif
from botkit.venues.kit.errors import (
    AuthError,
    ErrorRules,
    InsufficientFunds,
    InvalidRequest,
    NotFound,
    OrderRejected,
    ParseError,
    RateLimited,
    VenueError,
    classify,
)
from botkit.venues.kit.parsing import (
    ORDER_TYPES,
    Fields,
    list_of,
    lookup,
    parse_levels,
    settle_status,
    side_of,
    unwrap,
)
from botkit.venues.kit.types import VenueOrder

__all__ = [
    "ERROR_RULES",
    "VENUE",
    "classify_error",
    "parse_assets",
    "parse_balances",
    "parse_contracts",
    "parse_order",
    "parse_order_book",
    "parse_orders",
    "parse_orders_created",
    "parse_perpetuals",
    "parse_positions",
    "parse_recent_trades",
    "parse_ticker",
    "parse_user_trades",
]

VENUE = "alpha5"

ENVELOPES = ("result", "data")

# Field aliases: the first is the name the document's parameters use.
SYMBOL = ("contract_symbol", "instrument_name", "symbol")
ORDER_ID = ("order_id", "id")
CLIENT_ID = ("client_order_id", "label", "client_id")
SIDE = ("side", "direction")
ORDER_TYPE_F = ("type", "order_type")
SIZE = ("size", "amount")
FILLED = ("filled_size", "filled_amount", "filled")
AVG_PRICE = ("avg_price", "average_price")
STATUS = ("status", "order_state", "state")
TIF = ("time_in_force",)
STOP_PRICE = ("stop_price", "trigger_price")
TIME = (
    "last_update_timestamp",
    "updated_at",
    "timestamp",
    "creation_timestamp",
    "created_at",
)
CREATED = ("creation_timestamp", "created_at")
TRADE_ID = ("trade_id", "id")
FEE = ("fee",)
FEE_ASSET = ("fee_asset", "fee_currency")
LIQUIDITY = ("liquidity",)
MAKER_FLAG = ("is_maker", "maker")
TICK = ("tick_size", "price_increment")
LOT = ("lot_size", "size_increment", "contract_size", "min_trade_amount")
BASE = ("asset", "base_currency", "base")
QUOTE = ("quote_currency", "quote")
KIND = ("type", "kind", "contract_type")
BID = ("best_bid_price", "bid_price", "bid")
ASK = ("best_ask_price", "ask_price", "ask")
BID_SIZE = ("best_bid_amount", "best_bid_size", "bid_size")
ASK_SIZE = ("best_ask_amount", "best_ask_size", "ask_size")
LAST = ("last_price", "last")
MIN_VALUE = ("min_order_value", "min_notional")
MAX_VALUE = ("max_order_value", "max_notional")
BALANCE = ("balance", "total", "equity")
PERIOD = ("settlement_period",)

DEFAULT_QUOTE = "USD"
DEFAULT_KIND = "future"

ORDER_STATUS: Mapping[str, OrderStatus] = MappingProxyType(
    {
        "open": OrderStatus.OPEN,
        "new": OrderStatus.OPEN,
        "untriggered": OrderStatus.OPEN,
        "partially_filled": OrderStatus.PARTIALLY_FILLED,
        "filled": OrderStatus.FILLED,
        "cancelled": OrderStatus.CANCELED,
        "canceled": OrderStatus.CANCELED,
        "rejected": OrderStatus.REJECTED,
        "expired": OrderStatus.EXPIRED,
    }
)

ORDER_TYPE = ORDER_TYPES

TIME_IN_FORCE: Mapping[str, Tif] = MappingProxyType(
    {
        "good_til_cancelled": Tif.GTC,
        "fill_or_kill": Tif.FOK,
        "immediate_or_cancel": Tif.IOC,
        "gtc": Tif.GTC,
        "fok": Tif.FOK,
        "ioc": Tif.IOC,
    }
)

LIQUIDITY_CODES: Mapping[str, Liquidity] = MappingProxyType(
    {"m": Liquidity.MAKER, "maker": Liquidity.MAKER, "t": Liquidity.TAKER, "taker": Liquidity.TAKER}
)

_SYMBOLIC: tuple[tuple[str, type[VenueError]], ...] = (
    ("not_enough_funds", InsufficientFunds),
    ("insufficient_funds", InsufficientFunds),
    ("too_many_requests", RateLimited),
    ("order_not_found", NotFound),
    ("not_found", NotFound),
    ("unauthorized", AuthError),
    ("invalid_credentials", AuthError),
    ("invalid_token", AuthError),
    ("authorization_required", AuthError),
    ("forbidden", AuthError),
    ("post_only_reject", OrderRejected),
    ("reduce_only", OrderRejected),
    ("price_too_low", OrderRejected),
    ("price_too_high", OrderRejected),
    ("qty_too_low", OrderRejected),
    ("invalid_params", InvalidRequest),
    ("invalid_argument", InvalidRequest),
    ("invalid_arguments", InvalidRequest),
    # The codes the local simulator answers with (Deribit-flavoured, see
    # botkit.simulator.alpha5); a real deployment may add its own here.
    ("instrument_not_found", NotFound),
    ("invalid_amount", OrderRejected),
    ("invalid_price", OrderRejected),
    ("qty_too_high", OrderRejected),
    ("order_value_too_low", OrderRejected),
    ("order_value_too_high", OrderRejected),
    ("post_only_not_allowed", OrderRejected),
    ("reduce_only_violation", OrderRejected),
    ("not_enough_liquidity", OrderRejected),
    ("order_not_open", OrderRejected),
    ("no_open_position", OrderRejected),
    ("unsupported_order_type", InvalidRequest),
)

ERROR_RULES = ErrorRules(codes=MappingProxyType(dict(_SYMBOLIC)), messages=_SYMBOLIC)

_MARKET_TYPES = frozenset({OrderType.MARKET, OrderType.STOP_MARKET})


def _items(payload: object, kind: str) -> list[Fields]:
    body = unwrap(payload, ENVELOPES)
    if isinstance(body, Mapping):
        # Some list endpoints answer {"orders": [...]}/{"trades": [...]}: take the
        # one list inside, or treat the object as a single record.
        lists = [k for k, v in body.items() if isinstance(v, list)]
        if len(lists) == 1 and not any(k in body for k in (*SYMBOL, *ORDER_ID, *TRADE_ID)):
            return list_of(body[lists[0]], VENUE, kind, str(lists[0]))
        return [Fields(body, VENUE, kind)]
    return list_of(body, VENUE, kind)


# --- reference data ---------------------------------------------------------------------


def parse_assets(payload: object) -> dict[str, int]:
    """``GET /public/get_assets`` -> ``{symbol: precision}`` (the one documented schema)."""
    out: dict[str, int] = {}
    for f in _items(payload, "asset"):
        precision = f.integer("precision")
        if not 0 <= precision <= 30:
            f.fail("precision", f"out of range: {precision}")
        out[f.text("symbol")] = precision
    return out


def parse_contracts(payload: object) -> list[Instrument]:
    """``GET /public/get_live_contracts`` -> Instruments."""
    instruments = []
    for f in _items(payload, "contract"):
        min_size = f.opt_non_negative("min_size", "min_trade_amount")
        max_size = f.opt_non_negative("max_size")
        if min_size is not None and max_size is not None and min_size > max_size:
            f.fail("min_size", f"{min_size} exceeds max_size {max_size}")
        min_value = f.opt_non_negative(*MIN_VALUE)
        max_value = f.opt_non_negative(*MAX_VALUE)
        if min_value is not None and max_value is not None and min_value > max_value:
            f.fail(MIN_VALUE, f"{min_value} exceeds {max_value}")
        kind = f.opt_text(*KIND) or DEFAULT_KIND
        instruments.append(
            Instrument(
                venue=VENUE,
                symbol=f.text(*SYMBOL),
                base=f.text(*BASE),
                quote=f.opt_text(*QUOTE) or DEFAULT_QUOTE,
                tick_size=f.positive(*TICK),
                lot_size=f.positive(*LOT),
                min_size=min_size,
                max_size=max_size,
                min_notional=min_value,
                max_notional=max_value,
                kind=kind.lower(),
                maker_fee=f.opt_decimal("maker_fee", "maker_commission") or ZERO,
                taker_fee=f.opt_decimal("taker_fee", "taker_commission") or ZERO,
            )
        )
    return instruments


def parse_perpetuals(payload: object) -> frozenset[str]:
    """The contract symbols of ``get_live_contracts`` that are perpetual.

    Read from ``settlement_period``/``kind`` ``perpetual``, or else a
    ``-PERPETUAL`` symbol suffix (the document's own example symbol).
    """
    out = set()
    for f in _items(payload, "contract"):
        symbol = f.text(*SYMBOL)
        period = f.opt_text(*PERIOD)
        if (period or "").lower() == "perpetual" or symbol.upper().endswith("-PERPETUAL"):
            out.add(symbol)
    return frozenset(out)


# --- orders -----------------------------------------------------------------------------


def _order(f: Fields) -> VenueOrder:
    order_type, _ = lookup(f, ORDER_TYPE_F, ORDER_TYPE)
    size = f.non_negative(*SIZE)
    filled = f.opt_non_negative(*FILLED) or ZERO
    if filled > size:
        f.fail(FILLED, f"{filled} exceeds size {size}")
    try:
        price = f.opt_price("price")
    except ParseError:
        if order_type not in _MARKET_TYPES:
            raise
        price = None  # "market_price" and the like: a market order has no limit
    avg = f.opt_price(*AVG_PRICE)
    status, raw_status = lookup(f, STATUS, ORDER_STATUS)
    tif, _ = lookup(f, TIF, TIME_IN_FORCE)
    return VenueOrder(
        venue=VENUE,
        venue_order_id=f.ident(*ORDER_ID),
        client_id=f.opt_ident(*CLIENT_ID),
        symbol=f.text(*SYMBOL),
        side=side_of(f, *SIDE),
        type=order_type,
        price=price,
        size=size,
        filled=filled,
        avg_price=avg if filled > 0 else None,
        status=settle_status(status or OrderStatus.UNKNOWN, size, filled),
        ts_ns=f.opt_time_ns(*TIME, unit="auto") or 0,
        raw_status=raw_status,
        tif=tif,
        stop_price=f.opt_price(*STOP_PRICE),
    )


def parse_order(payload: object) -> VenueOrder:
    """One order (``place_order``/``edit_order`` reply, an order-history item)."""
    body = unwrap(payload, ENVELOPES)
    if isinstance(body, Mapping) and isinstance(body.get("order"), Mapping):
        body = body["order"]
    return _order(Fields(body, VENUE, "order"))


def parse_orders(payload: object) -> list[VenueOrder]:
    """``get_open_orders`` / ``get_order_history`` -> VenueOrders."""
    return [_order(f) for f in _items(payload, "order")]


def parse_orders_created(payload: object) -> list[tuple[VenueOrder, int]]:
    """Like ``parse_orders``, each with its creation time in ns.

    ``VenueOrder.ts_ns`` is the time of the last change; matching an order the
    venue holds without our client id needs the time it was created. Falls back
    to ``ts_ns`` when no creation time is given.
    """
    out = []
    for f in _items(payload, "order"):
        order = _order(f)
        out.append((order, f.opt_time_ns(*CREATED, unit="auto") or order.ts_ns))
    return out


# --- fills ------------------------------------------------------------------------------


def _liquidity(f: Fields) -> Liquidity:
    found, raw = lookup(f, LIQUIDITY, LIQUIDITY_CODES)
    if found is not None:
        return found
    if raw:
        f.fail(LIQUIDITY, f"unexpected value {raw!r}")
    return Liquidity.MAKER if f.opt_boolean(*MAKER_FLAG) else Liquidity.TAKER


def parse_user_trades(payload: object) -> list[Fill]:
    """``GET /account/get_user_trades`` -> Fills."""
    fills = []
    for f in _items(payload, "user_trade"):
        fee = f.opt_decimal(*FEE) or ZERO
        fills.append(
            Fill(
                trade_id=f.ident(*TRADE_ID),
                client_id=f.opt_ident(*CLIENT_ID) or "",
                symbol=f.text(*SYMBOL),
                side=side_of(f, *SIDE),
                price=f.positive("price"),
                size=f.positive(*SIZE),
                fee=fee,
                fee_asset=f.opt_text(*FEE_ASSET) or "",
                liquidity=_liquidity(f),
                ts_ns=f.time_ns(*TIME, unit="auto"),
                venue_order_id=f.opt_ident("order_id"),
            )
        )
    return fills


# --- account ----------------------------------------------------------------------------


def parse_positions(payload: object) -> dict[str, Decimal]:
    """``GET /account/get_positions`` -> signed size per contract (long > 0).

    The size may come signed, or unsigned with a ``side``/``direction`` of
    sell/short meaning a short position; a negative size always means short.
    """
    out: dict[str, Decimal] = {}
    for f in _items(payload, "position"):
        size = f.decimal(*SIZE)
        if size > 0 and f.has(*SIDE):
            raw = f.raw(*SIDE)
            text = raw.strip().lower() if isinstance(raw, str) else None
            if text in ("sell", "short"):
                size = -size
            elif text not in ("buy", "long", "zero", "flat"):
                f.fail(SIDE, f"unexpected direction {raw!r}")
        symbol = f.text(*SYMBOL)
        out[symbol] = out.get(symbol, ZERO) + size
    return out


def parse_balances(payload: object) -> dict[str, Decimal]:
    """``GET /account/wallet_balances`` -> total balance per asset."""
    out: dict[str, Decimal] = {}
    for f in _items(payload, "balance"):
        out[f.text(*BASE, "currency")] = f.decimal(*BALANCE)
    return out


# --- public market data -----------------------------------------------------------------


def parse_order_book(payload: object, symbol: str, ts_ns: int) -> BookSnapshot:
    """``GET /public/order_book``: levels as ``[price, size]`` or objects.

    The payload's own symbol and time win over the caller's when present.
    """
    f = Fields(unwrap(payload, ENVELOPES), VENUE, "order_book")
    bids = parse_levels(f.raw("bids") or [], VENUE, "order_book", "bids", descending=True)
    asks = parse_levels(f.raw("asks") or [], VENUE, "order_book", "asks", descending=False)
    ts = f.opt_time_ns("timestamp", unit="auto")
    return BookSnapshot(ts or ts_ns, f.opt_text(*SYMBOL) or symbol, bids, asks)


def parse_ticker(payload: object, symbol: str, ts_ns: int) -> Ticker:
    """``GET /public/ticker``."""
    f = Fields(unwrap(payload, ENVELOPES), VENUE, "ticker")

    def price(names: tuple[str, ...]) -> float | None:
        d = f.opt_non_negative(*names)
        return float(d) if d else None

    def size(names: tuple[str, ...]) -> float | None:
        d = f.opt_non_negative(*names)
        return None if d is None else float(d)

    return Ticker(
        f.opt_time_ns("timestamp", unit="auto") or ts_ns,
        f.opt_text(*SYMBOL) or symbol,
        price(BID),
        price(ASK),
        size(BID_SIZE),
        size(ASK_SIZE),
        price(LAST),
    )


def parse_recent_trades(payload: object, symbol: str | None = None) -> list[Trade]:
    """``GET /public/recent_trades`` -> public Trades (side = aggressor, if given)."""
    trades = []
    for f in _items(payload, "trade"):
        name = f.opt_text(*SYMBOL) or symbol
        if name is None:
            f.fail(SYMBOL, "missing")
        trades.append(
            Trade(
                f.time_ns(*TIME, unit="auto"),
                name,
                f.number("price"),
                f.number(*SIZE),
                side_of(f, *SIDE) if f.has(*SIDE) else None,
                f.ident(*TRADE_ID),
            )
        )
    return trades


# --- errors -----------------------------------------------------------------------------


def classify_error(
    http_status: int | None, body: object, *, retry_after: float | None = None
) -> VenueError:
    """An Alpha5 error reply -> typed VenueError."""
    return classify(VENUE, http_status, body, ERROR_RULES, retry_after=retry_after)
