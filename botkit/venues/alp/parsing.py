"""ALP.COM payloads -> model values (pure functions of decoded JSON).

Both readings of the v3 API (seed document 001 and the official docs; see
``wire``) are accepted whichever one the adapter sends by, since a real venue may
answer either way. Numbers arrive as JSON floats (``0.00000001``) or strings
(``"0.00419580"``); both become exact Decimals (a float through its printed
form). Every failure is a ``ParseError`` naming the venue, the payload's kind
and the field path (the adapter adds the endpoint: ``Reply.read``, or the
``skip`` it passes, ``SkipCounter.at(endpoint)``). A list endpoint answering
``null`` or nothing is an empty list (the official Python client reads replies
as ``raw_result or []``; a Go backend, which the ``2006-01-02T15:04:05Z07:00``
time format suggests, writes an empty list as ``null``). Parsers of lists whose
rows stand alone (account trades, public trades, book levels) take a ``skip``:
a row that does not parse goes there and the others stand.

Choices made where the documents are unclear or disagree:

* Pairs: tick = ``10**-price_precision``, lot = ``10**-amount_precision``,
  ``minimum_order_size``/``maximum_order_size`` bound the size (base currency),
  the official ``minimum_order_value`` is the minimum notional. A pair name is
  ``BASE_QUOTE``; the official orders example's ``"BTC/USDT"`` is read as
  ``BTC_USDT`` everywhere a pair is read.
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
* v3 orders: seed statuses OPEN, PARTIALLY_FILLED, FILLED, CANCELLED, and the
  official PENDING (accepted, not yet in the book: open), PARTIAL_FILLED,
  PARTIAL_CANCELED/PARTIAL_CANCELLED (closed with a part filled), FAILED
  (refused), EXPIRED; anything else (UNDEFINED) UNKNOWN. Sides BUY/SELL (seed)
  or BID/ASK (official). ``price``/``stop_price`` 0 or null mean "not set";
  unset times are ``""`` (seed) or null (official). ``client_order_id`` is read
  when the venue echoes it; ``date`` is the creation time and ``done_at`` the
  closing time (``OrderRow``), both in the venue's clock.
* Place reply: the bare id ``34`` (seed) or an array of ids ``[34]`` (official);
  an object with ``id``/``order_id`` is accepted too.
* Cancel reply (official, by ids): a map of order id to status (``"CANCELLED"``
  or a reason such as ``"order not found"``); no body otherwise.
* Fills, v3 ``/accounts/trades``: the official record has ``id`` (trade id),
  ``order_id``, ``fee`` and a float ``timestamp``; the seed's has none of the
  ids but ``fee_amount``, ``fee_currency``, ``is_maker``, ``amount_unfilled``,
  the order's ``type`` and ``status`` and an RFC 3339 ``date``. Either is read.
  Without an id, a stable id is derived from the record's fields (pair, time,
  side, price, amount, unfilled amount, fee), so a trade polled twice is still
  counted once; identical records within one reply are told apart by a ``#n``
  suffix. Without ``is_maker`` the liquidity is TAKER (the official record does
  not say; the fee it gives is exact either way). Without ``fee_currency`` the
  fee is in the quote currency, as in the seed's example. A row that does not
  parse goes to ``skip``; the rest of the page stands.
* Fills, v1 ``/exchanges/own/``: ``type`` is read as the account's own side;
  the payload has no fee, order id or maker flag, so fee = 0 in the quote
  currency and liquidity TAKER. Use v3 account trades for fees.
* Accounts: the parent is ``parent_id`` (official, absent for a master account)
  or ``id_parent`` (seed, 0 for a master account).
* v3 balances: ``balance`` is read as the free part and ``reserve`` (locked in
  orders) comes on top; see ``parse_balances_v3``.
* Fee info: ``pair``/``currency`` are names (seed) or integer ids (official,
  which the pair list does not carry, so such a rule applies to no pair we
  know); ``active_once`` ``[from, to]`` limits a rule in time.
* Market data: public trades' ``type`` is the aggressor's side. A book level or
  public trade with a non-positive price or size, or one that is not even
  numbers, goes to ``skip`` (the kit's ``parse_levels`` and ``rows``); a book
  without its ``buy``/``sell`` lists is a ParseError, never an empty book.
  Ticker ``buy`` is the best bid and ``sell`` the best ask; a 0 price there
  means "none".
* JWT (``POST /api/v3/auth``): the reply is the token as a JSON string (the
  document) or as plain text (the Python client reads ``text/plain`` too); its
  ``exp`` is read from the token's payload (base64url JSON), unverified — only
  the venue can verify it. A token without ``exp`` is renewed when refused.
* Errors: the seed has no error section. Bodies are read in the usual shapes
  (``{"detail"}``, ``{"error"}``, ``{"success": false, ...}``, field error
  maps) and the official ``{"code", "message"}``. ``"success": false`` with a
  2xx status is a definite refusal. A message saying something "already
  exists" (a reused ``client_order_id``) is a ``Conflict``: ambiguous, since
  our own earlier attempt may have gone through.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from botkit.events import BookSnapshot, Level, Ticker, Trade
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
    ORDER_TYPES,
    Fields,
    Skip,
    any_time_to_ns,
    list_of,
    lookup,
    parse_decimal,
    parse_levels,
    rows,
    settle_status,
    side_of,
    synthetic_id,
)
from botkit.venues.kit.types import AssetBalance, VenueOrder

__all__ = [
    "ERROR_RULES",
    "VENUE",
    "AccountTrade",
    "Jwt",
    "OrderRow",
    "classify_error",
    "is_error_body",
    "parse_account_trade_records_v3",
    "parse_account_trades_v3",
    "parse_accounts_v3",
    "parse_balance_sheet_v3",
    "parse_balances_v3",
    "parse_cancel_reply_v3",
    "parse_exchanges",
    "parse_feeinfo_v3",
    "parse_jwt",
    "parse_order_ack_v1",
    "parse_order_ack_v3",
    "parse_order_book",
    "parse_order_rows_v3",
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
        "pending": OrderStatus.OPEN,
        "partially_filled": OrderStatus.PARTIALLY_FILLED,
        "partial_filled": OrderStatus.PARTIALLY_FILLED,
        "filled": OrderStatus.FILLED,
        "cancelled": OrderStatus.CANCELED,
        "canceled": OrderStatus.CANCELED,
        "partial_canceled": OrderStatus.CANCELED,
        "partial_cancelled": OrderStatus.CANCELED,
        "partially_canceled": OrderStatus.CANCELED,
        "partially_cancelled": OrderStatus.CANCELED,
        "rejected": OrderStatus.REJECTED,
        "failed": OrderStatus.REJECTED,
        "expired": OrderStatus.EXPIRED,
    }
)

# v3 order types are ours in upper case (LIMIT, STOP_MARKET): the kit's ORDER_TYPES.
TIME_IN_FORCE: Mapping[str, Tif] = MappingProxyType({t.value: t for t in Tif})  # GTC, ...

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
_CANCELLED = frozenset({"cancelled", "canceled"})


def _fail(kind: str, field: str, detail: str) -> ParseError:
    return ParseError(VENUE, kind, field, detail)


def _items(payload: object, kind: str) -> list[object]:
    """A list endpoint's items; ``null`` or an empty body is an empty list."""
    if payload is None or payload == "":
        return []
    if not isinstance(payload, list):
        raise _fail(kind, "<root>", f"expected a list, got {type(payload).__name__}")
    return payload


def _each(payload: object, kind: str) -> list[Fields]:
    return list_of(_items(payload, kind), VENUE, kind)


def _step(f: Fields, name: str) -> Decimal:
    precision = f.integer(name)
    if not 0 <= precision <= _MAX_PRECISION:
        f.fail(name, f"out of range: {precision}")
    return Decimal(1).scaleb(-precision)


def _pair(f: Fields, *names: str) -> str:
    """A pair name as ``BASE_QUOTE`` (``BTC/USDT`` is read as ``BTC_USDT``)."""
    name = f.text(*names).replace("/", "_")
    base, sep, quote = name.partition("_")
    if not sep or not base or not quote:
        f.fail(names, f"expected BASE_QUOTE, got {name!r}")
    return name


def _quote_of(pair: str) -> str:
    return pair.partition("_")[2]


# --- instruments ------------------------------------------------------------------------


def parse_pairs(payload: object) -> list[Instrument]:
    """``GET /api/v1/pairs/`` or ``GET /api/v3/pairs`` -> Instruments."""
    instruments = []
    for f in _each(payload, "pair"):
        name = _pair(f, "name")
        min_size = f.opt_non_negative("minimum_order_size")
        max_size = f.opt_non_negative("maximum_order_size")
        if min_size is not None and max_size is not None and min_size > max_size:
            f.fail("minimum_order_size", f"{min_size} exceeds maximum_order_size {max_size}")
        min_value = f.opt_non_negative("minimum_order_value")
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
                min_notional=min_value or None,
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
        symbol=_pair(f, "pair"),
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
        raise _fail("order_v1", "<root>", "expected a list")
    return [parse_order_v1(item, path=f"[{i}]") for i, item in enumerate(payload)]


def parse_order_ack_v1(payload: object) -> str:
    """``POST /api/v1/order/`` -> the venue order id (``oid``).

    A body with ``"success": false`` is an error: pass it to ``classify_error``.
    """
    f = Fields(payload, VENUE, "order_ack_v1")
    if f.raw("success") is False:
        f.fail("success", "false: this is an error reply")
    return f.ident("oid", "id")


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One listed v3 order with its creation and closing times in the venue's clock."""

    order: VenueOrder
    created_ns: int | None
    done_ns: int | None


def _order_row(f: Fields) -> OrderRow:
    size = f.non_negative("amount")
    filled = f.non_negative("amount_filled") if f.has("amount_filled") else ZERO
    if filled > size:
        f.fail("amount_filled", f"{filled} exceeds amount {size}")
    status, raw_status = lookup(f, ("status",), ORDER_STATUS_V3)
    order_type, _ = lookup(f, ("type",), ORDER_TYPES)
    tif, _ = lookup(f, ("tif",), TIME_IN_FORCE)
    created = f.opt_time_ns("date", unit="auto")
    updated = f.opt_time_ns("updated_at", unit="auto")
    order = VenueOrder(
        venue=VENUE,
        venue_order_id=f.ident("id"),
        client_id=f.opt_ident("client_order_id"),
        symbol=_pair(f, "pair"),
        side=side_of(f, "side"),
        type=order_type,
        price=f.opt_price("price"),
        size=size,
        filled=filled,
        avg_price=None,
        status=settle_status(status or OrderStatus.UNKNOWN, size, filled),
        ts_ns=updated if updated is not None else created or 0,
        raw_status=raw_status,
        tif=tif,
        stop_price=f.opt_price("stop_price"),
    )
    return OrderRow(order, created, f.opt_time_ns("done_at", unit="auto"))


def parse_order_rows_v3(payload: object) -> list[OrderRow]:
    """``GET /api/v3/orders`` (seed) or ``GET /api/v3/accounts/order`` (official)."""
    return [_order_row(f) for f in _each(payload, "order_v3")]


def parse_order_v3(payload: object, *, path: str = "") -> VenueOrder:
    """One listed v3 order."""
    return _order_row(Fields(payload, VENUE, "order_v3", path)).order


def parse_orders_v3(payload: object) -> list[VenueOrder]:
    """The v3 order list -> VenueOrders."""
    return [row.order for row in parse_order_rows_v3(payload)]


def parse_order_ack_v3(payload: object) -> str:
    """The place reply: ``34`` (seed, 201), ``[34]`` (official), or ``{"id": 34}``."""
    kind, where = "order_ack_v3", "<root>"
    if isinstance(payload, list):
        if len(payload) != 1:
            raise _fail(kind, where, f"expected one order id, got {len(payload)}")
        payload, where = payload[0], "[0]"
    if isinstance(payload, Mapping):
        return Fields(payload, VENUE, kind, "" if where == "<root>" else where).ident(
            "id", "order_id"
        )
    if isinstance(payload, bool) or not isinstance(payload, int | str):
        raise _fail(kind, where, f"expected an order id, got {type(payload).__name__}")
    text = str(payload).strip()
    if not text or len(text) > 64 or not text.isprintable():
        raise _fail(kind, where, "expected an order id")
    return text


def parse_cancel_reply_v3(payload: object) -> dict[str, str]:
    """A cancel reply: the official map of order id -> status text; ``{}`` when no body."""
    kind = "cancel_v3"
    if payload is None or payload == "":
        return {}
    if not isinstance(payload, Mapping):
        raise _fail(kind, "<root>", f"expected an object, got {type(payload).__name__}")
    f = Fields(payload, VENUE, kind)
    out = {}
    for key, value in payload.items():
        if not isinstance(value, str):
            # The key names the field; an empty key still needs a name in the error.
            f.fail(str(key) or '""', f"expected a status text, got {type(value).__name__}")
        out[str(key).strip()] = value.strip()
    return out


def cancel_succeeded(status: str) -> bool:
    """Whether a status text of the official cancel map says the order was cancelled."""
    return status.strip().lower() in _CANCELLED


# --- fills ------------------------------------------------------------------------------


def parse_own_exchanges_v1(payload: object) -> list[Fill]:
    """``GET /api/v1/exchanges/own/`` -> Fills (no fee information in v1)."""
    fills = []
    for f in _each(payload, "own_exchange_v1"):
        pair = _pair(f, "pair")
        fills.append(
            Fill(
                trade_id=f.ident("id"),
                client_id="",
                symbol=pair,
                side=side_of(f, "type"),
                price=f.positive("price"),
                size=f.positive("amount"),
                fee=ZERO,
                fee_asset=_quote_of(pair),
                liquidity=Liquidity.TAKER,
                ts_ns=f.time_ns("timestamp", unit="s"),
                venue_order_id=f.opt_ident("order_id", "oid"),
            )
        )
    return fills


@dataclass(frozen=True, slots=True)
class AccountTrade:
    """One v3 account trade: the Fill, plus what the record says about its order.

    The official record names its order (``fill.venue_order_id``); the seed's does
    not, so an adapter attributes it from these: the order's type, and
    ``unfilled`` — the order's unfilled amount right after this trade
    (``amount_unfilled``). ``order_status`` is the order's status after the
    trade, as sent; ``is_maker`` None when the record does not say.
    """

    fill: Fill
    order_type: OrderType | None
    unfilled: Decimal | None
    order_status: str
    is_maker: bool | None


def _account_trade(f: Fields, seen: dict[str, int]) -> AccountTrade:
    pair = _pair(f, "pair")
    side = side_of(f, "side")
    price = f.positive("price")
    size = f.positive("amount")
    fee = f.decimal("fee_amount", "fee") if f.has("fee_amount", "fee") else ZERO
    ts = f.time_ns("date", "timestamp", unit="auto")
    unfilled = f.opt_non_negative("amount_unfilled")
    maker = f.opt_boolean("is_maker")
    order_type, _ = lookup(f, ("type",), ORDER_TYPES)
    status = lookup(f, ("status",), ORDER_STATUS_V3)[1]
    fee_asset = f.opt_text("fee_currency") or _quote_of(pair)
    client_id = f.opt_ident("client_order_id") or ""
    venue_order_id = f.opt_ident("order_id")
    trade_id = f.opt_ident("id", "trade_id")
    if trade_id is None:
        trade_id = synthetic_id("alp3", pair, ts, side.value, price, size, unfilled, fee)
        n = seen[trade_id] = seen.get(trade_id, 0) + 1
        if n > 1:
            trade_id = f"{trade_id}#{n}"
    fill = Fill(
        trade_id=trade_id,
        client_id=client_id,
        symbol=pair,
        side=side,
        price=price,
        size=size,
        fee=fee,
        fee_asset=fee_asset,
        liquidity=Liquidity.MAKER if maker else Liquidity.TAKER,
        ts_ns=ts,
        venue_order_id=venue_order_id,
    )
    return AccountTrade(fill, order_type, unfilled, status, maker)


def parse_account_trade_records_v3(payload: object, skip: Skip | None = None) -> list[AccountTrade]:
    """``GET /api/v3/accounts/trades`` -> one record per row; a row that does not parse
    goes to ``skip`` (the rest of the page stands), or without one is raised.

    A record without an id gets one derived from its fields; records identical
    in every field within one reply are distinct executions (a venue does not
    list one trade twice), so the second and later copies get ``#2``, ``#3``...
    appended — stable across polls, since identical records are interchangeable.
    A payload that is not a list at all is a ParseError.
    """
    seen: dict[str, int] = {}
    items = _items(payload, "account_trade_v3")
    build = lambda f: _account_trade(f, seen)  # noqa: E731
    return rows(items, build, skip, venue=VENUE, kind="account_trade_v3")


def parse_account_trades_v3(payload: object, skip: Skip | None = None) -> list[Fill]:
    """``GET /api/v3/accounts/trades`` -> Fills with fees and maker/taker."""
    return [r.fill for r in parse_account_trade_records_v3(payload, skip=skip)]


# --- account ----------------------------------------------------------------------------


def parse_accounts_v3(payload: object) -> list[tuple[str, str | None]]:
    """The account list -> ``(account id, parent id or None)`` per account."""
    out = []
    for f in _each(payload, "account_v3"):
        parent = f.opt_ident("parent_id", "id_parent")
        out.append((f.ident("id"), None if parent in (None, "0") else parent))
    return out


def parse_balances_v3(payload: object, reserve_is_extra: bool = True) -> dict[str, Decimal]:
    """``GET /api/v3/accounts/balances`` -> total per currency (SPOT wallets only).

    ``reserve`` is "locked in orders" (seed) or "balance in open orders, pending
    withdraws, etc." (official). Neither document says whether ``balance``
    includes it; the wallet-activity example moves an order's amount out of
    ``balance`` into ``reserve``, so ``balance`` is read as the free part and the
    total is ``balance + reserve`` (``reserve_is_extra=False`` reads ``balance``
    as the total).
    """
    return {c: b.total for c, b in parse_balance_sheet_v3(payload, reserve_is_extra).items()}


def parse_balance_sheet_v3(
    payload: object, reserve_is_extra: bool = True
) -> dict[str, AssetBalance]:
    """``GET /api/v3/accounts/balances`` -> total and free part per currency (SPOT
    wallets only), read as ``parse_balances_v3`` says: the free part is ``balance``
    (``reserve_is_extra=False``: ``balance - reserve``)."""
    sheet: dict[str, AssetBalance] = {}
    for f in _each(payload, "balance_v3"):
        wallet = f.opt_text("wallet_type")
        if wallet is not None and wallet.upper() != "SPOT":
            continue
        currency = f.text("currency")
        balance = f.decimal("balance")
        reserve = f.opt_decimal("reserve") or ZERO
        if reserve_is_extra:
            total, free = balance + reserve, balance
        else:
            total, free = balance, balance - reserve
        had = sheet.get(currency)
        if had is not None:
            total, free = total + had.total, free + (had.free or ZERO)
        sheet[currency] = AssetBalance(total, free)
    return sheet


def _fee_pair(f: Fields) -> str:
    found = f.find("pair")
    if found is None or found[1] == "":
        return ""
    value = found[1]
    if isinstance(value, int) and not isinstance(value, bool):
        return f"#{value}"  # an id (official); pair names never start with "#"
    return _pair(f, "pair")


def _active(f: Fields, now_ns: int | None) -> bool:
    window = f.opt_items("active_once")
    if not window:
        return True
    if len(window) != 2:
        f.fail("active_once", f"expected [valid_from, valid_to], got {len(window)} items")
    bounds = [
        None if v in (None, "") else any_time_to_ns(v, "s", VENUE, f.kind, f"active_once[{i}]")
        for i, v in enumerate(window)
    ]
    if now_ns is None:
        return True
    start, end = bounds
    return (start is None or start <= now_ns) and (end is None or now_ns <= end)


def parse_feeinfo_v3(
    payload: object, now_ns: int | None = None
) -> dict[str, tuple[Decimal, Decimal]]:
    """The fee rules -> ``{pair: (maker rate, taker rate)}``; ``""`` = any pair.

    Rates are fractions (the seed's trade example's ``fee_rate`` 0.001 gives its
    ``fee_amount``). Inactive rules, and rules whose ``active_once`` window does
    not hold ``now_ns``, are skipped; where several rules name the same pair, the
    lowest ``priority`` number wins (1 = first). A rule naming a pair by id is
    keyed ``#<id>``.
    """
    best: dict[str, tuple[int, Decimal, Decimal]] = {}
    for f in _each(payload, "feeinfo_v3"):
        if f.opt_boolean("is_active") is False or not _active(f, now_ns):
            continue
        pair = _fee_pair(f)
        priority = f.integer("priority") if f.has("priority") else 0
        maker = f.non_negative("maker_fee_rate")
        taker = f.non_negative("taker_fee_rate")
        if pair not in best or priority < best[pair][0]:
            best[pair] = (priority, maker, taker)
    return {pair: (m, t) for pair, (_, m, t) in best.items()}


# --- auth -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Jwt:
    """A bearer token and its ``exp`` (epoch seconds; None when the token has none)."""

    token: str
    expires_s: float | None


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _b64url_json(part: str, field: str) -> object:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        return json.loads(raw.decode(), parse_float=Decimal)
    except (binascii.Error, ValueError, ArithmeticError, RecursionError) as err:
        raise _fail("jwt", field, f"not base64url JSON ({type(err).__name__})") from None


def parse_jwt(payload: object) -> Jwt:
    """The ``/auth`` reply -> the token and its expiry (read, not verified)."""
    kind = "jwt"
    if isinstance(payload, Mapping):
        token = Fields(payload, VENUE, kind).text("token", "access_token", "jwt")
    elif isinstance(payload, str):
        token = payload.strip()
    else:
        raise _fail(kind, "<root>", f"expected a token, got {type(payload).__name__}")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]) or not all(set(p) <= _B64URL for p in parts):
        raise _fail(kind, "token", "expected a JWT (three base64url parts)")
    claims = _b64url_json(parts[1], "token.payload")
    if not isinstance(claims, Mapping):
        raise _fail(kind, "token.payload", "expected a JSON object")
    if claims.get("exp") is None:
        return Jwt(token, None)
    exp = parse_decimal(claims["exp"], VENUE, kind, "token.payload.exp")
    if not 0 < exp < 10**12:
        raise _fail(kind, "token.payload.exp", f"out of range: {exp}")
    return Jwt(token, float(exp))


# --- public market data -----------------------------------------------------------------


def _side_levels(book: Mapping[object, object], side: str, skip: Skip | None) -> list[Level]:
    if side not in book:
        raise _fail("orderbook", side, "missing")
    raw = book[side]
    if raw is None:
        return []
    # A full book: a level of size 0 means nothing here (allow_zero=False).
    return parse_levels(
        raw, VENUE, "orderbook", side, descending=side == "buy", allow_zero=False, skip=skip
    )


def parse_order_book(
    payload: object, symbol: str, ts_ns: int, skip: Skip | None = None
) -> BookSnapshot:
    """The order book (``buy``/``sell`` lists of ``{price, amount}``) -> BookSnapshot.

    Both lists must be there (``null`` is an empty side): a book of another shape
    is a ParseError, never an empty book. A level with a non-positive price or
    size, or not numbers at all, goes to ``skip`` (without one it is raised).
    """
    if not isinstance(payload, Mapping):
        raise _fail("orderbook", "<root>", f"expected an object, got {type(payload).__name__}")
    bids = _side_levels(payload, "buy", skip)
    asks = _side_levels(payload, "sell", skip)
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
            _pair(f, "pair"),
            _price_or_none(f, "buy"),
            _price_or_none(f, "sell"),
            last=_price_or_none(f, "last"),
        )
        for f in _each(payload, "ticker")
    ]


def _public_trade(f: Fields) -> Trade:
    return Trade(
        f.time_ns("timestamp", unit="s"),
        _pair(f, "pair"),
        f.positive_number("price"),
        f.positive_number("amount"),
        side_of(f, "type") if f.has("type") else None,
        f.ident("id"),
    )


def parse_exchanges(payload: object, skip: Skip | None = None) -> list[Trade]:
    """Public trades (``GET /api/v1/exchanges/`` or ``/api/v3/trades``) -> Trades.

    A trade that does not parse, a non-positive price or amount among them, goes
    to ``skip`` (without one it is raised).
    """
    items = _items(payload, "exchange")
    return rows(items, _public_trade, skip, venue=VENUE, kind="exchange")


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
