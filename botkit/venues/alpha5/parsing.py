"""Alpha5 payloads -> model values (pure functions of decoded JSON).

Two documents describe Alpha5. The seed (000) gives every example response as
``{}`` and defines only ``Asset``; the published v1.0.0 document (in
``seeds/reference``) has a schema for every reply except user trades and
cancel-all. The parsers read the v1.0.0 schemas first and still accept the
field names this package assumed before v1.0.0 was known (the seed's
parameter names and Deribit-style aliases), so a venue that answers either way
is read. Every alias tuple is a module constant, the v1.0.0 name first.

Every ``ParseError`` names the venue, the endpoint (``get_live_contracts``,
``order_book``, ...) and the field path (``[0].settling_asset.symbol``).

Readings of the v1.0.0 document:

* Decimals are "number or string"; both are read exactly (a JSON float as the
  decimal it prints as). Times are epoch numbers (ms in v1.0.0; s/ms/µs/ns are
  told apart by magnitude) or ISO 8601 strings.
* Contract: ``symbol``, ``contract_type`` (future/perpetual), ``tick_size``,
  ``status``, ``maximum_position_limit`` and nested ``quoting_asset`` /
  ``settling_asset`` Asset objects. It names no base asset: the base is the
  contract symbol's part before the first ``-`` (``BTC-M20`` -> ``BTC``).
  Settled in the quoting asset, the contract is linear (size in the base
  asset, value = price x size in the quoting asset). Settled in the base asset
  it is inverse — the seed's edit_order: "for perpetual and futures the amount
  is in USD units" — size in the quoting asset, value = size / price in the
  settling asset; the Instrument's ``kind`` is then ``inverse_perpetual`` or
  ``inverse_future`` (``base`` is the settling asset). A contract settled in a
  third asset (quanto) cannot be valued without a multiplier the document does
  not give: it is a ParseError. Without any settling asset (the older shapes)
  a contract is read as linear.
* No lot size is documented. An explicit one (``lot_size`` and aliases) wins;
  else it is one unit of the last digit of the asset the size is counted in:
  ``10^-precision`` of the base asset (``get_assets``) for a linear contract,
  of the quoting asset (its nested ``precision``) for an inverse one.
* ``maximum_position_limit`` is kept on ``ContractSpec.max_position``, not made
  a maximum order size: an order that flips a position may exceed it.
* Contract status: kept as text on ``ContractSpec.status`` (the adapter acts on
  it); absent means operational.
* Order: ``id``, ``type``, ``side``, ``status``, ``limit_price``,
  ``stop_price``, ``size``, ``filled_size``, ``cancelled_size``,
  ``time_in_force``, nested ``contract: {id, symbol}``. The OrderStatus enum is
  only open/filled (and the document's own example says ``"limit"``), so the
  sizes decide where the word cannot: all filled -> FILLED; filled plus
  cancelled covering the size -> CANCELED; an open word with part filled ->
  PARTIALLY_FILLED; any other unknown word -> UNKNOWN with the text kept, for
  reconciliation to settle. The older words (cancelled, rejected, expired,
  untriggered...) are still read. Orders carry no time in v1.0.0 (``ts_ns`` 0).
* Order book: ``buy``/``sell`` arrays of ``{price, size}`` (also the older
  ``bids``/``asks`` with ``[price, size]`` pairs). A payload with neither is a
  ParseError, never an empty book. Ticker: open/high/low/close/timestamp;
  ``close`` is read as the last price (v1.0.0 has no bid/ask).
* Recent trades and user trades: no trade id is documented. When a row has
  none, its id is derived from the fields that identify it (contract, time,
  side, price, size, and the order id for user trades) with a sha256
  (``kit.parsing.synthetic_id``), plus ``#n`` for the n-th identical row of one
  reply — so the same trade read twice has the same id. User trades have no
  schema at all; rows are read like an Order/RecentTrade (``order_id``,
  ``contract.symbol`` or ``contract_symbol``, side, price, size, timestamp,
  optional fee).
* Position: ``side``, ``price``, ``contract_id`` — and no size. A row without
  a size cannot be reported (a problem, see below); a size (signed, or with a
  side of sell meaning short) is read when the venue sends one.

Bad rows: ``parse_user_trades``, ``parse_recent_trades``, ``parse_order_book``,
``parse_ticker``, ``parse_positions`` and ``parse_contract_specs`` take an
optional ``skip`` (``kit.parsing.Skip``; the adapter passes its
``SkipCounter``). Without it the first bad row raises (strict); with it a row
that does not parse, and market data with a non-positive price or size, is left
out and its ``ParseError`` goes to ``skip``, which logs and counts it, while the
other rows are kept (``kit.parsing.rows``, ``kit.parsing.parse_levels``). A
payload whose shape is unknown as a whole always raises.

Errors: no error format is documented. Bodies are read as
``{"error": {"code", "message"}}``, ``{"error": "..."}`` or ``{"code",
"message"}``; symbolic codes are mapped, numeric ones are not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import TypeVar

from botkit.events import BookSnapshot, Level, Ticker, Trade
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
    Skip,
    lookup,
    parse_levels,
    rows,
    side_of,
    synthetic_id,
    unwrap,
)
from botkit.venues.kit.types import AssetBalance, VenueOrder

__all__ = [
    "ERROR_RULES",
    "VENUE",
    "ContractSpec",
    "classify_error",
    "parse_assets",
    "parse_balance_sheet",
    "parse_balances",
    "parse_contract_specs",
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

T = TypeVar("T")

ENVELOPES = ("result", "data")

# Endpoint names, as ParseError.kind.
ASSETS = "get_assets"
CONTRACTS = "get_live_contracts"
TICKER = "ticker"
ORDER_BOOK = "order_book"
RECENT_TRADES = "recent_trades"
ORDER = "order"
OPEN_ORDERS = "get_open_orders"
USER_TRADES = "get_user_trades"
POSITIONS = "get_positions"
BALANCES = "wallet_balances"

# Field aliases: the v1.0.0 name first, then the older assumed ones.
CONTRACT = "contract"  # v1.0.0 orders: {"contract": {"id", "symbol"}}
SYMBOL = ("contract_symbol", "instrument_name", "symbol")
CONTRACT_SYMBOL = ("symbol", "contract_symbol", "instrument_name")
ORDER_ID = ("id", "order_id")
TRADE_ORDER_ID = ("order_id",)
CLIENT_ID = ("client_order_id", "label", "client_id")
SIDE = ("side", "direction")
ORDER_TYPE_F = ("type", "order_type")
SIZE = ("size", "amount")
FILLED = ("filled_size", "filled_amount", "filled")
CANCELLED = ("cancelled_size", "canceled_size", "cancelled_amount")
PRICE = ("limit_price", "price")
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
QUOTING_ASSET = "quoting_asset"
SETTLING_ASSET = "settling_asset"
QUOTE = ("quote_currency", "quote")
SETTLE = ("settlement_currency", "settle_currency")
KIND = ("contract_type", "type", "kind")
STATUS_F = ("status",)
MAX_POSITION = ("maximum_position_limit",)
BID = ("best_bid_price", "bid_price", "bid")
ASK = ("best_ask_price", "ask_price", "ask")
BID_SIZE = ("best_bid_amount", "best_bid_size", "bid_size")
ASK_SIZE = ("best_ask_amount", "best_ask_size", "ask_size")
LAST = ("close", "last_price", "last")
OHLC = ("open", "high", "low")
BUY_LEVELS = ("buy", "bids")
SELL_LEVELS = ("sell", "asks")
MIN_VALUE = ("min_order_value", "min_notional")
MAX_VALUE = ("max_order_value", "max_notional")
BALANCE = ("balance", "total", "equity")
AVAILABLE = ("available", "available_balance")
PERIOD = ("settlement_period",)

DEFAULT_QUOTE = "USD"
DEFAULT_KIND = "future"
OPERATIONAL = "operational"
INVERSE_PREFIX = "inverse_"  # Instrument.kind of a contract settled in its base asset
MAX_PRECISION = 30

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
# Keys that mark a mapping as one record rather than a wrapper around a list.
_RECORD_KEYS = (*SYMBOL, *ORDER_ID, *TRADE_ID, CONTRACT, "side", "price", "size")


def _rows(
    payload: object, kind: str, build: Callable[[Fields], T], skip: Skip | None = None
) -> list[T]:
    """``build`` over the records of a list reply (``kit.parsing.rows``: see "Bad rows")."""
    body = unwrap(payload, ENVELOPES)
    path = ""
    if isinstance(body, Mapping):
        # Some list endpoints answer {"orders": [...]}/{"trades": [...]}: take the
        # one list inside, or treat the object as a single record.
        lists = [k for k, v in body.items() if isinstance(v, list)]
        if len(lists) == 1 and not any(k in body for k in _RECORD_KEYS):
            path = str(lists[0])
            body = body[lists[0]]
        else:
            body = [body]
    if not isinstance(body, list):
        raise ParseError(VENUE, kind, "<root>", f"expected a list, got {type(body).__name__}")
    return rows(body, build, skip, venue=VENUE, kind=kind, path=path)


def _opt_symbol(f: Fields) -> str | None:
    """The contract a record names: v1.0.0's nested ``contract.symbol``, else a flat field."""
    nested = f.raw(CONTRACT)
    if isinstance(nested, str) and nested.strip():
        return nested.strip()
    if nested is not None:
        inner = f.obj(CONTRACT).opt_text("symbol")
        if inner is not None:
            return inner
    return f.opt_text(*SYMBOL)


def _sendable(f: Fields, names: tuple[str, ...], text: str) -> str:
    """An identifier we send back to the venue: text that encodes (JSON allows lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        f.fail(names, f"not valid text: {text!r:.60}")
    return text


def _symbol(f: Fields) -> str:
    found = _opt_symbol(f)
    if found is None:
        f.fail((f"{CONTRACT}.symbol", *SYMBOL), "missing")
    return found


class _Occurrences:
    """Derived ids: the same fields give the same id; the n-th identical row gets ``#n``."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.seen: dict[str, int] = {}

    def id(self, *parts: object) -> str:
        base = synthetic_id(self.prefix, *parts)
        n = self.seen.get(base, 0) + 1
        self.seen[base] = n
        return base if n == 1 else f"{base}#{n}"


# --- reference data ---------------------------------------------------------------------


def _precision(f: Fields, *names: str) -> int | None:
    if not f.has(*names):
        return None
    # A "number": 8 and 8.0 alike (JSON numbers arrive as Decimal from the client).
    precision = f.decimal(*names)
    if precision != precision.to_integral_value() or not 0 <= precision <= MAX_PRECISION:
        f.fail(names, f"expected a whole number of digits 0..{MAX_PRECISION}, got {precision}")
    return int(precision)


def _asset_precision(f: Fields) -> tuple[str, int | None]:
    return f.text("symbol"), _precision(f, "precision")


def parse_assets(payload: object) -> dict[str, int]:
    """``GET /public/get_assets`` -> ``{symbol: precision}`` (assets without one are left out)."""
    listed = _rows(payload, ASSETS, _asset_precision)
    return {symbol: precision for symbol, precision in listed if precision is not None}


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """One Alpha5 contract as listed: what the Instrument cannot say.

    ``instrument.symbol`` is the venue's contract symbol here (the adapter gives
    it our name). ``inverse``: settled in the base asset, size counted in the
    quoting asset (``instrument.kind`` starts with ``inverse_``).
    """

    contract_symbol: str
    base: str
    quote: str
    settle: str
    inverse: bool
    perpetual: bool
    status: str
    max_position: Decimal | None
    contract_id: str | None
    instrument: Instrument

    @property
    def operational(self) -> bool:
        return self.status == OPERATIONAL


def _asset(f: Fields, nested: str, flat: tuple[str, ...]) -> tuple[str | None, int | None]:
    """An asset given as v1.0.0's nested Asset object (symbol, precision) or a flat symbol."""
    raw = f.raw(nested)
    if isinstance(raw, str):
        return (raw.strip() or None), None
    if raw is not None:
        inner = f.obj(nested)
        return inner.text("symbol"), _precision(inner, "precision")
    return f.opt_text(*flat), None


def _lot(
    f: Fields, size_asset: str, nested_precision: int | None, assets: Mapping[str, int]
) -> Decimal:
    if f.has(*LOT):
        return f.positive(*LOT)
    precision = nested_precision if nested_precision is not None else assets.get(size_asset)
    if precision is None:
        f.fail(LOT, f"missing, and get_assets gives no precision for {size_asset}")
    return Decimal(1).scaleb(-precision)


def _contract(f: Fields, assets: Mapping[str, int]) -> ContractSpec:
    symbol = _sendable(f, CONTRACT_SYMBOL, f.text(*CONTRACT_SYMBOL))
    quote, quote_precision = _asset(f, QUOTING_ASSET, QUOTE)
    quote = quote or DEFAULT_QUOTE
    settle, _ = _asset(f, SETTLING_ASSET, SETTLE)
    base = f.opt_text(*BASE)
    if base is None:
        prefix, dash, _ = symbol.partition("-")
        if not dash or not prefix:
            f.fail(BASE, f"missing, and contract symbol {symbol!r} has no BASE- prefix")
        base = prefix
    base = _sendable(f, BASE, base)
    inverse = settle is not None and settle != quote and settle == base
    if settle is not None and settle not in (quote, base):
        f.fail(
            f"{SETTLING_ASSET}.symbol",
            f"{settle} is neither the quoting asset {quote} nor the base {base}: "
            f"a quanto contract cannot be valued",
        )
    tick = f.positive(*TICK)
    # The size is counted in the quoting asset (USD) for an inverse contract, else in the base.
    size_asset, size_precision = (quote, quote_precision) if inverse else (base, None)
    lot = _lot(f, size_asset, size_precision, assets)
    min_size = f.opt_non_negative("min_size", "min_trade_amount")
    max_size = f.opt_non_negative("max_size")
    if min_size is not None and max_size is not None and min_size > max_size:
        f.fail("min_size", f"{min_size} exceeds max_size {max_size}")
    min_value = f.opt_non_negative(*MIN_VALUE)
    max_value = f.opt_non_negative(*MAX_VALUE)
    if min_value is not None and max_value is not None and min_value > max_value:
        f.fail(MIN_VALUE, f"{min_value} exceeds {max_value}")
    kind = (f.opt_text(*KIND) or DEFAULT_KIND).lower()
    period = (f.opt_text(*PERIOD) or "").lower()
    perpetual = "perpetual" in (kind, period) or symbol.upper().endswith("-PERPETUAL")
    status = (f.opt_text(*STATUS_F) or OPERATIONAL).lower()
    instrument = Instrument(
        venue=VENUE,
        symbol=symbol,
        base=base,
        quote=quote,
        tick_size=tick,
        lot_size=lot,
        min_size=min_size,
        max_size=max_size,
        min_notional=min_value,
        max_notional=max_value,
        kind=INVERSE_PREFIX + kind if inverse else kind,
        maker_fee=f.opt_decimal("maker_fee", "maker_commission") or ZERO,
        taker_fee=f.opt_decimal("taker_fee", "taker_commission") or ZERO,
    )
    return ContractSpec(
        contract_symbol=symbol,
        base=base,
        quote=quote,
        settle=settle or quote,
        inverse=inverse,
        perpetual=perpetual,
        status=status,
        max_position=f.opt_non_negative(*MAX_POSITION),
        contract_id=f.opt_ident("id"),
        instrument=instrument,
    )


def parse_contract_specs(
    payload: object, assets: Mapping[str, int] | None = None, skip: Skip | None = None
) -> list[ContractSpec]:
    """``GET /public/get_live_contracts`` -> ContractSpecs; ``assets`` from ``parse_assets``."""
    known = assets or {}
    return _rows(payload, CONTRACTS, lambda f: _contract(f, known), skip)


def parse_contracts(payload: object, assets: Mapping[str, int] | None = None) -> list[Instrument]:
    """``GET /public/get_live_contracts`` -> Instruments (symbol = the contract symbol)."""
    return [spec.instrument for spec in parse_contract_specs(payload, assets)]


def parse_perpetuals(payload: object) -> frozenset[str]:
    """The contract symbols of ``get_live_contracts`` that are perpetual.

    Read from ``contract_type``/``settlement_period`` ``perpetual``, or else a
    ``-PERPETUAL`` symbol suffix (the seed's own example symbol).
    """
    return frozenset(s for s in _rows(payload, CONTRACTS, _perpetual) if s is not None)


def _perpetual(f: Fields) -> str | None:
    symbol = f.text(*CONTRACT_SYMBOL)
    marks = ((f.opt_text(*KIND) or "").lower(), (f.opt_text(*PERIOD) or "").lower())
    return symbol if "perpetual" in marks or symbol.upper().endswith("-PERPETUAL") else None


# --- orders -----------------------------------------------------------------------------


def _status(
    f: Fields, size: Decimal, filled: Decimal, cancelled: Decimal
) -> tuple[OrderStatus, str]:
    """The order's state from its status word and, where the word cannot tell, its sizes."""
    word, raw = lookup(f, STATUS, ORDER_STATUS)
    if size > 0 and filled >= size:
        return OrderStatus.FILLED, raw
    cancelled_rest = cancelled > 0 and filled + cancelled >= size
    if word is None or word is OrderStatus.OPEN:
        if cancelled_rest:
            return OrderStatus.CANCELED, raw
        if word is None:
            return OrderStatus.UNKNOWN, raw
        return (OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN), raw
    return word, raw


def _order(f: Fields) -> VenueOrder:
    order_type, _ = lookup(f, ORDER_TYPE_F, ORDER_TYPE)
    size = f.non_negative(*SIZE)
    filled = f.opt_non_negative(*FILLED) or ZERO
    cancelled = f.opt_non_negative(*CANCELLED) or ZERO
    if filled > size:
        f.fail(FILLED, f"{filled} exceeds size {size}")
    if filled + cancelled > size:
        f.fail(CANCELLED, f"{cancelled} cancelled and {filled} filled exceed size {size}")
    try:
        price = f.opt_price(*PRICE)
    except ParseError:
        if order_type not in _MARKET_TYPES:
            raise
        price = None  # "market_price" and the like: a market order has no limit
    avg = f.opt_price(*AVG_PRICE)
    status, raw_status = _status(f, size, filled, cancelled)
    tif, _ = lookup(f, TIF, TIME_IN_FORCE)
    return VenueOrder(
        venue=VENUE,
        venue_order_id=_sendable(f, ORDER_ID, f.ident(*ORDER_ID)),
        client_id=f.opt_ident(*CLIENT_ID),
        symbol=_symbol(f),
        side=side_of(f, *SIDE),
        type=order_type,
        price=price,
        size=size,
        filled=filled,
        avg_price=avg if filled > 0 else None,
        status=status,
        ts_ns=f.opt_time_ns(*TIME, unit="auto") or 0,
        raw_status=raw_status,
        tif=tif,
        stop_price=f.opt_price(*STOP_PRICE),
    )


def parse_order(payload: object, endpoint: str = ORDER) -> VenueOrder:
    """One order: the reply of place_order, edit_order, cancel_order (v1.0.0 Order)."""
    body = unwrap(payload, ENVELOPES)
    if isinstance(body, Mapping) and isinstance(body.get("order"), Mapping):
        body = body["order"]
    return _order(Fields(body, VENUE, endpoint))


def parse_orders(payload: object, endpoint: str = OPEN_ORDERS) -> list[VenueOrder]:
    """``get_open_orders`` / ``get_order_history`` -> VenueOrders."""
    return _rows(payload, endpoint, _order)


def parse_orders_created(
    payload: object, endpoint: str = OPEN_ORDERS
) -> list[tuple[VenueOrder, int | None]]:
    """Like ``parse_orders``, each with its creation time in ns (None when not given).

    ``VenueOrder.ts_ns`` is the time of the last change; matching an order the
    venue holds without our client id needs the time it was created. Falls back
    to ``ts_ns`` when only that is given; v1.0.0 orders carry no time at all.
    """
    return _rows(payload, endpoint, _order_created)


def _order_created(f: Fields) -> tuple[VenueOrder, int | None]:
    order = _order(f)
    return order, f.opt_time_ns(*CREATED, unit="auto") or order.ts_ns or None


# --- fills ------------------------------------------------------------------------------


def _liquidity(f: Fields) -> Liquidity:
    found, raw = lookup(f, LIQUIDITY, LIQUIDITY_CODES)
    if found is not None:
        return found
    if raw:
        f.fail(LIQUIDITY, f"unexpected value {raw!r}")
    return Liquidity.MAKER if f.opt_boolean(*MAKER_FLAG) else Liquidity.TAKER


def _user_trade(f: Fields, ids: _Occurrences, contract_of_order: Mapping[str, str]) -> Fill:
    order_id = f.opt_ident(*TRADE_ORDER_ID)
    symbol = _opt_symbol(f) or (contract_of_order.get(order_id) if order_id else None)
    if symbol is None:
        f.fail((f"{CONTRACT}.symbol", *SYMBOL), "missing (and the order is not one we know)")
    side = side_of(f, *SIDE)
    price = f.positive("price")
    size = f.positive(*SIZE)
    ts_ns = f.time_ns(*TIME, unit="auto")
    fee = f.opt_decimal(*FEE) or ZERO
    liquidity = _liquidity(f)
    trade_id = f.opt_ident(*TRADE_ID)
    if trade_id is None:
        trade_id = ids.id(symbol, order_id or "", ts_ns, side.value, price, size)
    return Fill(
        trade_id=trade_id,
        client_id=f.opt_ident(*CLIENT_ID) or "",
        symbol=symbol,
        side=side,
        price=price,
        size=size,
        fee=fee,
        fee_asset=f.opt_text(*FEE_ASSET) or "",
        liquidity=liquidity,
        ts_ns=ts_ns,
        venue_order_id=order_id,
    )


def parse_user_trades(
    payload: object,
    skip: Skip | None = None,
    contract_of_order: Mapping[str, str] | None = None,
) -> list[Fill]:
    """``GET /account/get_user_trades`` -> Fills.

    ``contract_of_order`` (venue order id -> contract symbol) places a row that
    names only its order. With ``skip``, a row that does not parse is left out
    and its error goes there; the other rows are still returned.
    """
    ids = _Occurrences("alpha5-fill")
    known = contract_of_order or {}
    return _rows(payload, USER_TRADES, lambda f: _user_trade(f, ids, known), skip)


# --- account ----------------------------------------------------------------------------


def _position(f: Fields, symbol: str | None) -> tuple[str, Decimal]:
    name = _opt_symbol(f) or symbol
    if name is None:
        f.fail((f"{CONTRACT}.symbol", *SYMBOL), "missing")
    if not f.has(*SIZE):
        f.fail(SIZE, "missing: the position gives no size to report")
    size = f.decimal(*SIZE)
    if size > 0 and f.has(*SIDE):
        raw = f.raw(*SIDE)
        text = raw.strip().lower() if isinstance(raw, str) else None
        if text in ("sell", "short"):
            size = -size
        elif text not in ("buy", "long", "zero", "flat"):
            f.fail(SIDE, f"unexpected direction {text or type(raw).__name__}")
    return name, size


def parse_positions(
    payload: object, symbol: str | None = None, skip: Skip | None = None
) -> dict[str, Decimal]:
    """``GET /account/get_positions`` -> signed size per contract (long > 0).

    A row names its contract, or belongs to ``symbol`` (the contract asked
    for). The size may come signed, or unsigned with a ``side``/``direction`` of
    sell/short meaning a short position; a negative size always means short.
    """
    out: dict[str, Decimal] = {}
    for name, size in _rows(payload, POSITIONS, lambda f: _position(f, symbol), skip):
        out[name] = out.get(name, ZERO) + size
    return out


def parse_balances(payload: object) -> dict[str, Decimal]:
    """``GET /account/wallet_balances`` (seed only) -> total balance per asset."""
    return {asset: b.total for asset, b in parse_balance_sheet(payload).items()}


def parse_balance_sheet(payload: object) -> dict[str, AssetBalance]:
    """``GET /account/wallet_balances`` (seed only) -> total balance per asset, and its
    ``available`` part when the row gives one."""
    return dict(_rows(payload, BALANCES, _balance))


def _balance(f: Fields) -> tuple[str, AssetBalance]:
    return f.text(*BASE, "currency"), AssetBalance(f.decimal(*BALANCE), f.opt_decimal(*AVAILABLE))


# --- public market data -----------------------------------------------------------------


def _market_value(f: Fields, names: tuple[str, ...], what: str, skip: Skip | None) -> float | None:
    """An optional market price or size: a non-positive one is dropped (and given to ``skip``)."""
    d = f.opt_decimal(*names)
    if d is None:
        return None
    if d <= 0:
        if skip is not None:
            skip(ParseError(VENUE, f.kind, "|".join(names), f"{what} {d} is not > 0"))
        return None
    return float(d)


def _levels(f: Fields, names: tuple[str, ...], descending: bool, skip: Skip | None) -> list[Level]:
    found = f.find(*names)
    if found is None:
        return []
    name, raw = found
    # A full book: a level of size 0 means nothing here, so it is dropped like a bad one.
    return parse_levels(
        raw, VENUE, f.kind, name, descending=descending, allow_zero=False, skip=skip
    )


def parse_order_book(
    payload: object, symbol: str, ts_ns: int, skip: Skip | None = None
) -> BookSnapshot:
    """``GET /public/order_book``: v1.0.0's ``buy``/``sell`` of ``{price, size}``.

    The older ``bids``/``asks`` (levels as ``[price, size]`` or objects) are read
    too. A payload with neither is a ParseError, never an empty book. The
    payload's own symbol and time win over the caller's when present.
    """
    f = Fields(unwrap(payload, ENVELOPES), VENUE, ORDER_BOOK)
    if not f.has(*BUY_LEVELS, *SELL_LEVELS):
        f.fail((*BUY_LEVELS, *SELL_LEVELS), "missing: not an order book")
    bids = _levels(f, BUY_LEVELS, True, skip)
    asks = _levels(f, SELL_LEVELS, False, skip)
    ts = f.opt_time_ns("timestamp", unit="auto")
    return BookSnapshot(ts or ts_ns, _opt_symbol(f) or symbol, bids, asks)


_TICKER_KEYS = (*LAST, *OHLC, *BID, *ASK, *BID_SIZE, *ASK_SIZE)


def parse_ticker(payload: object, symbol: str, ts_ns: int, skip: Skip | None = None) -> Ticker:
    """``GET /public/ticker``: v1.0.0's open/high/low/close (close = last), or bid/ask."""
    body = unwrap(payload, ENVELOPES)
    f = Fields(body, VENUE, TICKER)
    if isinstance(body, Mapping) and not any(k in body for k in _TICKER_KEYS):
        f.fail(("close", *BID, *ASK), "missing: not a ticker")
    return Ticker(
        f.opt_time_ns("timestamp", unit="auto") or ts_ns,
        _opt_symbol(f) or symbol,
        _market_value(f, BID, "price", skip),
        _market_value(f, ASK, "price", skip),
        _market_value(f, BID_SIZE, "size", skip),
        _market_value(f, ASK_SIZE, "size", skip),
        _market_value(f, LAST, "price", skip),
    )


def _recent_trade(f: Fields, symbol: str | None, ids: _Occurrences) -> Trade:
    name = _opt_symbol(f) or symbol
    if name is None:
        f.fail((f"{CONTRACT}.symbol", *SYMBOL), "missing")
    ts_ns = f.time_ns(*TIME, unit="auto")
    price = f.decimal("price")
    size = f.decimal(*SIZE)
    side = side_of(f, *SIDE) if f.has(*SIDE) else None
    trade_id = f.opt_ident(*TRADE_ID)
    if price <= 0 or size <= 0:
        f.fail(("price", *SIZE), f"trade {price} x {size} is not > 0")
    if trade_id is None:
        trade_id = ids.id(name, ts_ns, side.value if side else "", price, size)
    return Trade(ts_ns, name, float(price), float(size), side, trade_id)


def parse_recent_trades(
    payload: object, symbol: str | None = None, skip: Skip | None = None
) -> list[Trade]:
    """``GET /public/recent_trades`` -> public Trades (side = aggressor, if given).

    v1.0.0's RecentTrade names no contract: rows belong to ``symbol`` unless
    they name one. With ``skip``, bad rows and rows with a non-positive price
    or size are left out and given to it.
    """
    ids = _Occurrences("alpha5-trade")
    return _rows(payload, RECENT_TRADES, lambda f: _recent_trade(f, symbol, ids), skip)


# --- errors -----------------------------------------------------------------------------


def classify_error(
    http_status: int | None, body: object, *, retry_after: float | None = None
) -> VenueError:
    """An Alpha5 error reply -> typed VenueError (whatever the body, never an exception)."""
    try:
        return classify(VENUE, http_status, body, ERROR_RULES, retry_after=retry_after)
    except RecursionError:
        detail = "error body nested too deep"
        return classify(VENUE, http_status, detail, ERROR_RULES, retry_after=retry_after)
