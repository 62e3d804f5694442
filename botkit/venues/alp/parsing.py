"""ALP.COM payloads -> model values (pure functions of decoded JSON).

Numbers arrive as JSON floats (``0.00000001``) or strings (``"0.00419580"``);
both become exact Decimals (a float through its printed form).

Choices made where the document is unclear:

* Pairs: tick = ``10**-price_precision``, lot = ``10**-amount_precision``,
  ``minimum_order_size``/``maximum_order_size`` bound the size (base currency).
  The symbol is the pair ``name`` (``BTC_USD``).
* v1 orders: statuses 1 Active -> OPEN (PARTIALLY_FILLED when part is filled),
  2 Canceled -> CANCELED, 3 Done -> FILLED; others -> UNKNOWN, reported in
  ``raw_status``. The document's examples use ``amount``, ``amount_filled`` and
  ``amount_original`` inconsistently (the create response shows ``amount`` 0
  after a full fill, i.e. the remaining amount). Read as: size =
  ``amount_original`` when present, else ``amount``; filled = ``amount_filled``
  when present, else ``amount_original - amount`` when both are present, else
  the whole size for a Done order and 0 otherwise. v1 orders are all limit
  orders. ``date`` is epoch milliseconds in order details but float seconds in
  the create response: v1 times are read by magnitude (see ``epoch_to_ns``).
* v3 orders: statuses OPEN/NEW, PARTIALLY_FILLED, FILLED, CANCELLED/CANCELED,
  REJECTED, EXPIRED; anything else UNKNOWN. ``price``/``stop_price`` 0 mean
  "not set". ``client_order_id`` is read when the venue echoes it.
* Fills, v1 ``/exchanges/own/``: ``type`` is read as the account's own side;
  the payload has no fee, order id or maker flag, so fee = 0 in the quote
  currency and liquidity TAKER. Use v3 account trades for fees.
* Fills, v3 ``/accounts/trades``: the example has no trade id. ``id``/``trade_id``
  are used when present; otherwise a stable id is derived from the record's
  fields (pair, time, side, price, amount, unfilled amount, fee), so a trade
  polled twice is still counted once; identical records within one reply are
  told apart by a ``#n`` suffix. ``is_maker`` gives the liquidity. The record
  names no order either: ``parse_account_trade_records_v3`` keeps the order's
  type and its unfilled amount after the trade for the adapter to attribute it
  (``order_id``/``client_order_id`` are read when a venue sends them).
* v3 balances: ``balance`` is read as the free part and ``reserve`` (locked in
  orders) comes on top; see ``parse_balances_v3``.
* Public ``exchanges``: ``type`` is read as the aggressor's side. Ticker ``buy``
  is the best bid and ``sell`` the best ask; a 0 price there means "none".
* Errors: the document's error section is missing. Bodies are read in the usual
  shapes (``{"detail"}``, ``{"error"}``, ``{"success": false, ...}``, field
  error maps). ``"success": false`` with a 2xx status is a definite refusal. A
  message saying something "already exists" (a reused ``client_order_id``) is a
  ``Conflict``: ambiguous, since our own earlier attempt may have gone through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from botkit.events import BookSnapshot, Ticker, Trade
from botkit.model import ZERO, Fill, Instrument, Liquidity, OrderStatus, OrderType
from botkit.model import TimeInForce as Tif
from botkit.venues.kit.errors import (
    AuthError,
    Conflict,
    ErrorRules,
    InvalidRequest,
    NotFound,
    ParseError,
    VenueError,
    classify,
)
from botkit.venues.kit.parsing import (
    Fields,
    list_of,
    lookup,
    parse_levels,
    settle_status,
    side_of,
    synthetic_id,
)
from botkit.venues.kit.types import VenueOrder

__all__ = [
    "ERROR_RULES",
    "VENUE",
    "AccountTrade",
    "classify_error",
    "is_error_body",
    "parse_account_trade_records_v3",
    "parse_account_trades_v3",
    "parse_accounts_v3",
    "parse_balances_v3",
    "parse_exchanges",
    "parse_feeinfo_v3",
    "parse_order_ack_v1",
    "parse_order_ack_v3",
    "parse_order_book",
    "parse_order_v1",
    "parse_order_v3",
    "parse_orders_v1",
    "parse_orders_v3",
    "parse_own_exchanges_v1",
    "parse_pairs",
    "parse_tickers",
]

VENUE = "alp"

ORDER_STATUS_V1: Mapping[str, OrderStatus] = MappingProxyType(
    {"1": OrderStatus.OPEN, "2": OrderStatus.CANCELED, "3": OrderStatus.FILLED}
)

ORDER_STATUS_V3: Mapping[str, OrderStatus] = MappingProxyType(
    {
        "open": OrderStatus.OPEN,
        "new": OrderStatus.OPEN,
        "partially_filled": OrderStatus.PARTIALLY_FILLED,
        "filled": OrderStatus.FILLED,
        "cancelled": OrderStatus.CANCELED,
        "canceled": OrderStatus.CANCELED,
        "rejected": OrderStatus.REJECTED,
        "expired": OrderStatus.EXPIRED,
    }
)

ORDER_TYPE_V3: Mapping[str, OrderType] = MappingProxyType(
    {
        "limit": OrderType.LIMIT,
        "market": OrderType.MARKET,
        "stop_limit": OrderType.STOP_LIMIT,
        "stop_market": OrderType.STOP_MARKET,
    }
)

TIME_IN_FORCE: Mapping[str, Tif] = MappingProxyType(
    {"gtc": Tif.GTC, "ioc": Tif.IOC, "fok": Tif.FOK}
)

# ALP v1 has the look of Django REST framework (``ordering=-id``, trailing
# slashes), whose stock messages these are; rate limits and insufficient funds
# are covered by the shared wordings.
ERROR_RULES = ErrorRules(
    messages=(
        ("authentication credentials", AuthError),
        ("invalid signature", AuthError),
        ("invalid sign", AuthError),
        ("nonce", AuthError),
        ("not found", NotFound),
        # A client_order_id the venue already holds: most likely our own earlier
        # attempt went through, so the order may be live — ambiguous, look it up.
        ("already exists", Conflict),
    )
)

_MAX_PRECISION = 30


def _step(f: Fields, name: str) -> Decimal:
    precision = f.integer(name)
    if not 0 <= precision <= _MAX_PRECISION:
        f.fail(name, f"out of range: {precision}")
    return Decimal(1).scaleb(-precision)


def _quote_of(f: Fields, pair: str, field: str = "pair") -> str:
    base, sep, quote = pair.partition("_")
    if not sep or not base or not quote:
        f.fail(field, f"expected BASE_QUOTE, got {pair!r}")
    return quote


# --- instruments ------------------------------------------------------------------------


def parse_pairs(payload: object) -> list[Instrument]:
    """``GET /api/v1/pairs/`` -> Instruments."""
    instruments = []
    for f in list_of(payload, VENUE, "pair"):
        name = f.text("name")
        min_size = f.opt_non_negative("minimum_order_size")
        max_size = f.opt_non_negative("maximum_order_size")
        if min_size is not None and max_size is not None and min_size > max_size:
            f.fail("minimum_order_size", f"{min_size} exceeds maximum_order_size {max_size}")
        instruments.append(
            Instrument(
                venue=VENUE,
                symbol=name,
                base=f.text("currency1"),
                quote=f.text("currency2"),
                tick_size=_step(f, "price_precision"),
                lot_size=_step(f, "amount_precision"),
                min_size=min_size,
                max_size=max_size,
            )
        )
    return instruments


# --- orders -----------------------------------------------------------------------------


def parse_order_v1(payload: object, *, path: str = "") -> VenueOrder:
    """One v1 order (``/order/<pk>/`` or an item of ``/orders/own/``)."""
    f = Fields(payload, VENUE, "order_v1", path)
    status, raw_status = lookup(f, ("status",), ORDER_STATUS_V1)
    status = status or OrderStatus.UNKNOWN

    size = f.non_negative("amount_original", "amount")
    if f.has("amount_filled"):
        filled = f.non_negative("amount_filled")
    elif f.has("amount_original") and f.has("amount"):
        filled = size - f.non_negative("amount")
    elif status is OrderStatus.FILLED:
        filled = size
    else:
        filled = ZERO
    if not ZERO <= filled <= size:
        f.fail("amount_filled", f"filled {filled} outside 0..{size}")

    return VenueOrder(
        venue=VENUE,
        venue_order_id=f.ident("id", "oid"),
        client_id=None,
        symbol=f.text("pair"),
        side=side_of(f, "type"),
        type=OrderType.LIMIT,
        price=f.opt_price("price"),
        size=size,
        filled=filled,
        avg_price=None,
        status=settle_status(status, size, filled),
        ts_ns=f.time_ns("date", unit="auto") if f.has("date") else 0,
        raw_status=raw_status,
    )


def parse_orders_v1(payload: object) -> list[VenueOrder]:
    """``GET /api/v1/orders/own/`` -> VenueOrders."""
    if not isinstance(payload, list):
        raise ParseError(VENUE, "order_v1", "<root>", "expected a list")
    return [parse_order_v1(item, path=f"[{i}]") for i, item in enumerate(payload)]


def parse_order_ack_v1(payload: object) -> str:
    """``POST /api/v1/order/`` -> the venue order id (``oid``).

    A body with ``"success": false`` is an error: pass it to ``classify_error``.
    """
    f = Fields(payload, VENUE, "order_ack_v1")
    if f.raw("success") is False:
        f.fail("success", "false: this is an error reply")
    return f.ident("oid", "id")


def parse_order_v3(payload: object, *, path: str = "") -> VenueOrder:
    """One item of ``GET /api/v3/orders``."""
    f = Fields(payload, VENUE, "order_v3", path)
    size = f.non_negative("amount")
    filled = f.non_negative("amount_filled") if f.has("amount_filled") else ZERO
    if filled > size:
        f.fail("amount_filled", f"{filled} exceeds amount {size}")
    status, raw_status = lookup(f, ("status",), ORDER_STATUS_V3)
    order_type, _ = lookup(f, ("type",), ORDER_TYPE_V3)
    tif, _ = lookup(f, ("tif",), TIME_IN_FORCE)
    ts = f.opt_time_ns("updated_at", unit="ms")
    if ts is None:
        ts = f.opt_time_ns("date", unit="ms") or 0
    return VenueOrder(
        venue=VENUE,
        venue_order_id=f.ident("id"),
        client_id=f.opt_ident("client_order_id"),
        symbol=f.text("pair"),
        side=side_of(f, "side"),
        type=order_type,
        price=f.opt_price("price"),
        size=size,
        filled=filled,
        avg_price=None,
        status=settle_status(status or OrderStatus.UNKNOWN, size, filled),
        ts_ns=ts,
        raw_status=raw_status,
        tif=tif,
        stop_price=f.opt_price("stop_price"),
    )


def parse_orders_v3(payload: object) -> list[VenueOrder]:
    """``GET /api/v3/orders`` -> VenueOrders."""
    if not isinstance(payload, list):
        raise ParseError(VENUE, "order_v3", "<root>", "expected a list")
    return [parse_order_v3(item, path=f"[{i}]") for i, item in enumerate(payload)]


def parse_order_ack_v3(payload: object) -> str:
    """``POST /api/v3/orders`` answers 201 with the bare order id (``34``)."""
    if isinstance(payload, bool) or not isinstance(payload, int | str):
        if isinstance(payload, Mapping):
            return Fields(payload, VENUE, "order_ack_v3").ident("id", "order_id")
        raise ParseError(VENUE, "order_ack_v3", "<root>", f"expected an order id, got {payload!r}")
    text = str(payload).strip()
    if not text:
        raise ParseError(VENUE, "order_ack_v3", "<root>", "empty order id")
    return text


# --- fills ------------------------------------------------------------------------------


def parse_own_exchanges_v1(payload: object) -> list[Fill]:
    """``GET /api/v1/exchanges/own/`` -> Fills (no fee information in v1)."""
    fills = []
    for f in list_of(payload, VENUE, "own_exchange_v1"):
        pair = f.text("pair")
        fills.append(
            Fill(
                trade_id=f.ident("id"),
                client_id="",
                symbol=pair,
                side=side_of(f, "type"),
                price=f.positive("price"),
                size=f.positive("amount"),
                fee=ZERO,
                fee_asset=_quote_of(f, pair),
                liquidity=Liquidity.TAKER,
                ts_ns=f.time_ns("timestamp", unit="s"),
                venue_order_id=f.opt_ident("order_id", "oid"),
            )
        )
    return fills


@dataclass(frozen=True, slots=True)
class AccountTrade:
    """One v3 account trade: the Fill, plus what the record says about its order.

    The document's record names no order (no order id, no client id), so an
    adapter attributes it from these: the order's type, and ``unfilled`` — the
    order's unfilled amount right after this trade (``amount_unfilled``).
    ``order_status`` is the order's status after the trade, as sent.
    """

    fill: Fill
    order_type: OrderType | None
    unfilled: Decimal | None
    order_status: str
    is_maker: bool | None


def parse_account_trade_records_v3(payload: object) -> list[AccountTrade]:
    """``GET /api/v3/accounts/trades`` -> AccountTrades (Fills with fees and maker/taker).

    A record without an id gets one derived from its fields; records identical
    in every field within one reply are distinct executions (a venue does not
    list one trade twice), so the second and later copies get ``#2``, ``#3``...
    appended — stable across polls, since identical records are interchangeable.
    """
    records = []
    seen: dict[str, int] = {}
    for f in list_of(payload, VENUE, "account_trade_v3"):
        pair = f.text("pair")
        side = side_of(f, "side")
        price = f.positive("price")
        size = f.positive("amount")
        fee = f.decimal("fee_amount") if f.has("fee_amount") else ZERO
        ts = f.time_ns("date", unit="ms")
        unfilled = f.opt_non_negative("amount_unfilled")
        trade_id = f.opt_ident("id", "trade_id")
        if trade_id is None:
            trade_id = synthetic_id("alp3", pair, ts, side.value, price, size, unfilled, fee)
            n = seen[trade_id] = seen.get(trade_id, 0) + 1
            if n > 1:
                trade_id = f"{trade_id}#{n}"
        maker = f.opt_boolean("is_maker")
        order_type, _ = lookup(f, ("type",), ORDER_TYPE_V3)
        records.append(
            AccountTrade(
                fill=Fill(
                    trade_id=trade_id,
                    client_id=f.opt_ident("client_order_id") or "",
                    symbol=pair,
                    side=side,
                    price=price,
                    size=size,
                    fee=fee,
                    fee_asset=f.opt_text("fee_currency") or _quote_of(f, pair),
                    liquidity=Liquidity.MAKER if maker else Liquidity.TAKER,
                    ts_ns=ts,
                    venue_order_id=f.opt_ident("order_id"),
                ),
                order_type=order_type,
                unfilled=unfilled,
                order_status=lookup(f, ("status",), ORDER_STATUS_V3)[1],
                is_maker=maker,
            )
        )
    return records


def parse_account_trades_v3(payload: object) -> list[Fill]:
    """``GET /api/v3/accounts/trades`` -> Fills with fees and maker/taker."""
    return [r.fill for r in parse_account_trade_records_v3(payload)]


# --- account ----------------------------------------------------------------------------


def parse_accounts_v3(payload: object) -> list[tuple[str, str | None]]:
    """``GET /api/v3/accounts`` -> ``(account id, parent id or None)`` per account."""
    out = []
    for f in list_of(payload, VENUE, "account_v3"):
        parent = f.opt_ident("id_parent")
        out.append((f.ident("id"), None if parent in (None, "0") else parent))
    return out


def parse_balances_v3(payload: object, *, reserve_is_extra: bool = True) -> dict[str, Decimal]:
    """``GET /api/v3/accounts/balances`` -> total per currency (SPOT wallets only).

    ``reserve`` is "locked in orders". The document does not say whether
    ``balance`` includes it; the wallet-activity example moves an order's
    amount out of ``balance`` into ``reserve``, so ``balance`` is read as the
    free part and the total is ``balance + reserve`` (``reserve_is_extra=False``
    reads ``balance`` as the total).
    """
    totals: dict[str, Decimal] = {}
    for f in list_of(payload, VENUE, "balance_v3"):
        wallet = f.opt_text("wallet_type")
        if wallet is not None and wallet.upper() != "SPOT":
            continue
        currency = f.text("currency")
        amount = f.decimal("balance")
        if reserve_is_extra:
            amount += f.opt_decimal("reserve") or ZERO
        totals[currency] = totals.get(currency, ZERO) + amount
    return totals


def parse_feeinfo_v3(payload: object) -> dict[str, tuple[Decimal, Decimal]]:
    """``GET /api/v3/feeinfo`` -> ``{pair: (maker rate, taker rate)}``; ``""`` = any pair.

    Rates are fractions (the trade example's ``fee_rate`` 0.001 gives its
    ``fee_amount``). Inactive entries are skipped; where several entries name
    the same pair, the lowest ``priority`` number wins (1 = first).
    """
    best: dict[str, tuple[int, Decimal, Decimal]] = {}
    for f in list_of(payload, VENUE, "feeinfo_v3"):
        if f.opt_boolean("is_active") is False:
            continue
        pair = f.opt_text("pair") or ""
        priority = f.integer("priority") if f.has("priority") else 0
        maker = f.non_negative("maker_fee_rate")
        taker = f.non_negative("taker_fee_rate")
        if pair not in best or priority < best[pair][0]:
            best[pair] = (priority, maker, taker)
    return {pair: (m, t) for pair, (_, m, t) in best.items()}


# --- public market data -----------------------------------------------------------------


def parse_order_book(payload: object, symbol: str, ts_ns: int) -> BookSnapshot:
    """``GET /api/v1/orderbook/<pair>`` (``buy``/``sell`` lists) -> BookSnapshot."""
    f = Fields(payload, VENUE, "orderbook")
    bids = parse_levels(f.raw("buy") or [], VENUE, "orderbook", "buy", descending=True)
    asks = parse_levels(f.raw("sell") or [], VENUE, "orderbook", "sell", descending=False)
    return BookSnapshot(ts_ns, symbol, bids, asks)


def _price_or_none(f: Fields, name: str) -> float | None:
    value = f.opt_decimal(name)
    if value is not None and value < 0:
        f.fail(name, f"must be >= 0, got {value}")
    return float(value) if value else None


def parse_tickers(payload: object) -> list[Ticker]:
    """``GET /api/v1/ticker/`` -> Tickers (bid = ``buy``, ask = ``sell``)."""
    return [
        Ticker(
            f.time_ns("timestamp", unit="s"),
            f.text("pair"),
            _price_or_none(f, "buy"),
            _price_or_none(f, "sell"),
            last=_price_or_none(f, "last"),
        )
        for f in list_of(payload, VENUE, "ticker")
    ]


def parse_exchanges(payload: object) -> list[Trade]:
    """``GET /api/v1/exchanges/`` -> public Trades."""
    return [
        Trade(
            f.time_ns("timestamp", unit="s"),
            f.text("pair"),
            f.number("price"),
            f.number("amount"),
            side_of(f, "type") if f.has("type") else None,
            f.ident("id"),
        )
        for f in list_of(payload, VENUE, "exchange")
    ]


# --- errors -----------------------------------------------------------------------------


def is_error_body(body: object) -> bool:
    """True for a 2xx body that is really an error (``"success": false``)."""
    return isinstance(body, Mapping) and body.get("success") is False


def classify_error(
    http_status: int | None, body: object, *, retry_after: float | None = None
) -> VenueError:
    """An ALP error reply (an error status, or a ``"success": false`` body)."""
    fallback = InvalidRequest if is_error_body(body) else None
    return classify(
        VENUE, http_status, body, ERROR_RULES, retry_after=retry_after, fallback=fallback
    )
