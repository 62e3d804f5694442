"""BlockTrade payloads -> model values (pure functions of decoded JSON).

Choices made where the document is unclear:

* Symbols are ``BASE/QUOTE`` from the assets' ``iso_code`` (the document's own
  ``symbol`` field: "Base asset iso code / quote asset iso code"). Orders and
  websocket messages carry only ``trading_pair_id``, so those parsers take the
  ``Markets`` built by ``parse_markets``; an id not in it is a ParseError (the
  adapter refreshes its markets and retries) — a symbol is never made up.
* Instruments: ``tick_size`` and ``lot_size`` come from the trading pair; when a
  pair lacks ``tick_size`` the tick is ``10**-decimal_precision``, when it lacks
  ``lot_size`` the base asset's ``lot_size`` is used. Minimum and maximum order
  value (``minimal_order_value``/``maximum_order_value``) are taken from the
  quote asset, because an order's value is price x size in the quote currency.
  ``restricted_directions_for_user`` (BUY/SELL) is removed from the allowed
  sides. The assets' ``is_restricted_for_user`` is not applied (the document
  does not say what it restricts); ``Markets.restricted_assets`` lists them.
  Amounts are typed strings in the schemas while the examples send some as
  numbers (``maximum_order_value``: schema string, example ``620000``); every
  amount is read from either.
* Fees: ``GET /fees`` (``FeeType``) gives, under ``TRADING``, a
  ``percent_value`` per trading asset id or ``default``, one rate for maker and
  taker alike. A pair's rate is its quote asset's entry (the fee is charged in
  the quote asset, see user trades; the base asset's with ``fee_asset="base"``),
  else ``default``; ``percent_value`` is read as a percentage (0.2 = 0.2 %;
  ``percent=False`` for a fraction). ``min_fee`` has no place in an instrument
  and is left to the fills, which carry the fee actually charged. Without the
  fee table the instruments' fees are 0 and the fills alone tell.
* Order status: the enum lists NEW and FILLED while the examples show
  PARTIALLY_FILLED; CANCELLED/CANCELED, REJECTED and EXPIRED are accepted too.
  Anything else becomes OrderStatus.UNKNOWN with the venue's text kept in
  ``raw_status`` — never guessed. NEW with a reduced ``remaining_amount`` is
  PARTIALLY_FILLED. ``filled`` = ``amount - remaining_amount``; ``avg_price`` is
  the size-weighted mean of the order's embedded ``trades``, whose size field is
  ``value`` in the REST examples and ``amount`` on the websocket (both read).
* Order ``date`` is "the last change" in ms -> ``ts_ns``. ``price`` is typed
  "number as string" but the examples also show a bare number; every numeric
  field accepts both (the sending side always writes strings, see ``auth``).
* User trades arrive as ``{"data": [...], "count"}`` (REST), as the framed
  ``{"message_type": "user_trades", "payload": {"data": [...]}}`` or as the bare
  trade object the websocket section shows; all three (and a plain list) parse.
  ``fee_value`` is taken to be in the quote asset (like ``trade_value``);
  ``fee_asset="base"`` switches that. A trade without ``maker`` is counted as a
  taker fill (the conservative fee assumption). ``Fill.client_id`` is left
  empty: the router knows which of its orders ``venue_order_id`` is.
* Public trades: ``direction`` is read as the aggressor's side; the websocket
  trades carry no direction (side None).
* Websocket order book: the first message after subscribing is the full book,
  later ones are updates of the same shape; the caller says which
  (``snapshot=``). In an update a level's ``amount`` is its new total, 0 removes
  it; in a full book a level needs an amount above 0.
* Rows: parsers of lists (user trades, public trades, book levels, tickers)
  take a ``skip`` callback. Without it the first bad row raises; with it a row
  that does not parse — a trade or level with a non-positive price or size
  among them — is handed to ``skip`` and left out, and the good rows of the
  same page or message are returned.
* Errors: the Error schema is ``{"message": ...}`` with no codes, so the HTTP
  status decides, refined only by the common wordings in ``botkit.venues.kit.errors``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

from botkit.events import BookDelta, BookSnapshot, Level, Ticker, Trade
from botkit.model import ZERO, Fill, Instrument, Liquidity, OrderStatus, Side
from botkit.model import TimeInForce as Tif
from botkit.venues.kit.errors import ErrorRules, ParseError, VenueError, classify
from botkit.venues.kit.parsing import (
    ORDER_TYPES,
    Fields,
    Skip,
    average_price,
    list_of,
    lookup,
    parse_levels,
    rows,
    settle_status,
    side_of,
)
from botkit.venues.kit.types import VenueOrder

__all__ = [
    "ERROR_RULES",
    "VENUE",
    "Markets",
    "classify_error",
    "page_length",
    "parse_fees",
    "parse_markets",
    "parse_order",
    "parse_order_ack",
    "parse_order_book",
    "parse_orders",
    "parse_ticker",
    "parse_trades",
    "parse_user_trades",
    "parse_ws_order_book",
    "parse_ws_ticker",
    "parse_ws_trades",
    "ws_message_type",
]

VENUE = "blocktrade"

ORDER_STATUS: Mapping[str, OrderStatus] = MappingProxyType(
    {
        "new": OrderStatus.OPEN,
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
    {"gtc": Tif.GTC, "ioc": Tif.IOC, "fok": Tif.FOK}
)

# The document's Error schema has no codes; only the shared wordings apply.
ERROR_RULES = ErrorRules()

_MAX_PRECISION = 30


# --- markets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Markets:
    """Instruments plus the id maps BlockTrade's payloads need.

    ``symbol_by_pair`` maps ``trading_pair_id`` to our symbol; the reverse map
    and the per-symbol instrument lookup are derived from it.
    """

    instruments: tuple[Instrument, ...]
    symbol_by_pair: Mapping[int, str]
    asset_by_id: Mapping[int, str]
    restricted_assets: frozenset[str] = frozenset()
    pair_by_symbol: Mapping[str, int] = field(init=False)
    _by_symbol: Mapping[str, Instrument] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "symbol_by_pair", MappingProxyType(dict(self.symbol_by_pair)))
        put(self, "asset_by_id", MappingProxyType(dict(self.asset_by_id)))
        put(
            self, "pair_by_symbol", MappingProxyType({s: i for i, s in self.symbol_by_pair.items()})
        )
        put(self, "_by_symbol", MappingProxyType({i.symbol: i for i in self.instruments}))

    def symbol(self, pair_id: int) -> str | None:
        return self.symbol_by_pair.get(pair_id)

    def instrument(self, symbol: str) -> Instrument | None:
        return self._by_symbol.get(symbol)


def parse_fees(payload: object, *, percent: bool = True) -> dict[str, Decimal]:
    """``GET /fees`` -> the trading fee rate (a fraction) by trading asset id
    (as text) or ``"default"``; entries without a ``percent_value`` are left out."""
    f = Fields(payload, VENUE, "fees")
    if not f.has("TRADING"):
        return {}
    trading = f.obj("TRADING")
    rates: dict[str, Decimal] = {}
    for key in trading.names():
        if trading.raw(key) is None:
            continue
        value = trading.obj(key).opt_non_negative("percent_value")
        if value is None:
            continue
        rate = value / 100 if percent else value
        if rate >= 1:
            trading.fail(key, f"a fee rate of {rate} is not a fraction of the trade")
        rates[key.strip()] = rate
    return rates


def _fee_rate(fees: Mapping[str, Decimal], asset_id: int) -> Decimal:
    rate = fees.get(str(asset_id))
    return rate if rate is not None else fees.get("default", ZERO)


def parse_markets(
    pairs: object,
    assets: object,
    fees: Mapping[str, Decimal] | None = None,
    *,
    fee_asset: Literal["quote", "base"] = "quote",
) -> Markets:
    """``GET /trading_pairs`` and ``GET /trading_assets`` (and the rates of
    ``parse_fees``, when the fee table could be read) -> Markets."""
    asset_rows: dict[int, Fields] = {}
    iso: dict[int, str] = {}
    restricted: set[str] = set()
    for a in list_of(assets, VENUE, "trading_asset"):
        asset_id = a.integer("id")
        code = a.text("iso_code")
        asset_rows[asset_id] = a
        iso[asset_id] = code
        if a.opt_boolean("is_restricted_for_user"):
            restricted.add(code)

    instruments: list[Instrument] = []
    by_pair: dict[int, str] = {}
    for p in list_of(pairs, VENUE, "trading_pair"):
        pair_id = p.integer("id")
        base_id, quote_id = p.integer("base_asset_id"), p.integer("quote_asset_id")
        if base_id not in asset_rows:
            p.fail("base_asset_id", f"unknown asset id {base_id}")
        if quote_id not in asset_rows:
            p.fail("quote_asset_id", f"unknown asset id {quote_id}")
        base, quote = asset_rows[base_id], asset_rows[quote_id]
        symbol = f"{iso[base_id]}/{iso[quote_id]}"

        if p.has("tick_size"):
            tick = p.positive("tick_size")
        else:
            precision = p.integer("decimal_precision")
            if not 0 <= precision <= _MAX_PRECISION:
                p.fail("decimal_precision", f"out of range: {precision}")
            tick = Decimal(1).scaleb(-precision)
        lot = p.positive("lot_size") if p.has("lot_size") else base.positive("lot_size")
        rate = _fee_rate(fees or {}, quote_id if fee_asset == "quote" else base_id)

        instruments.append(
            Instrument(
                venue=VENUE,
                symbol=symbol,
                base=iso[base_id],
                quote=iso[quote_id],
                tick_size=tick,
                lot_size=lot,
                min_notional=quote.opt_non_negative("minimal_order_value"),
                max_notional=quote.opt_non_negative("maximum_order_value"),
                maker_fee=rate,
                taker_fee=rate,
                allowed_sides=_allowed_sides(p),
            )
        )
        by_pair[pair_id] = symbol

    return Markets(
        instruments=tuple(instruments),
        symbol_by_pair=by_pair,
        asset_by_id=iso,
        restricted_assets=frozenset(restricted),
    )


def _allowed_sides(p: Fields) -> frozenset[Side] | None:
    restricted: set[Side] = set()
    for i, value in enumerate(p.opt_items("restricted_directions_for_user")):
        if not isinstance(value, str) or value.strip().upper() not in ("BUY", "SELL"):
            p.fail(f"restricted_directions_for_user[{i}]", f"unexpected direction {value!r}")
        restricted.add(Side(value.strip().lower()))
    if not restricted:
        return None
    return frozenset(set(Side) - restricted)


def _symbol(f: Fields, markets: Markets | None, *, payload_symbol: bool = False) -> str:
    """The symbol of a record: by ``trading_pair_id`` in ``markets``, else (where
    the record has one, as user trades do) its own ``symbol`` field."""
    if markets is not None and f.has("trading_pair_id"):
        pair_id = f.integer("trading_pair_id")
        found = markets.symbol(pair_id)
        if found is not None:
            return found
        if not (payload_symbol and f.has("symbol")):
            f.fail("trading_pair_id", f"unknown trading pair {pair_id}")
    if payload_symbol and f.has("symbol"):
        return f.text("symbol")
    f.fail("trading_pair_id", "missing" if markets is not None else "no Markets to name it")


def _framed_items(payload: object, kind: str) -> tuple[Fields | None, list[object]]:
    """``(frame payload, data items)`` for a framed message, a REST page or a list."""
    if isinstance(payload, list):
        return None, payload
    root = Fields(payload, VENUE, kind)
    if root.has("payload"):
        # A framed message without its data is a shape we do not know: say so,
        # rather than report nothing happened.
        inner = root.obj("payload")
        return inner, inner.items("data")
    if root.has("data"):
        return None, root.items("data")
    return None, [payload]


# --- orders -----------------------------------------------------------------------------


def parse_order(payload: object, markets: Markets, *, path: str = "") -> VenueOrder:
    """One UserOrder object (``GET /orders/{id}``, ``/customer_orders/{id}``)."""
    f = Fields(payload, VENUE, "order", path)
    size = f.positive("amount")
    remaining = f.non_negative("remaining_amount") if f.has("remaining_amount") else size
    if remaining > size:
        f.fail("remaining_amount", f"{remaining} exceeds amount {size}")
    filled = size - remaining

    executions: list[tuple[Decimal, Decimal]] = []
    for t in f.each("trades") if f.has("trades") else ():
        executions.append((t.positive("price"), t.non_negative("amount", "value")))

    status, raw_status = lookup(f, ("status",), ORDER_STATUS)
    order_type, _ = lookup(f, ("type",), ORDER_TYPE)
    tif, _ = lookup(f, ("time_in_force",), TIME_IN_FORCE)
    return VenueOrder(
        venue=VENUE,
        venue_order_id=f.ident("id"),
        client_id=f.opt_ident("customer_order_id"),
        symbol=_symbol(f, markets),
        side=side_of(f, "direction"),
        type=order_type,
        price=f.opt_price("price"),
        size=size,
        filled=filled,
        avg_price=average_price(executions) if filled > 0 else None,
        status=settle_status(status or OrderStatus.UNKNOWN, size, filled),
        ts_ns=f.time_ns("date", unit="ms") if f.has("date") else 0,
        raw_status=raw_status,
        tif=tif,
        stop_price=f.opt_price("stop_price"),
    )


def parse_orders(payload: object, markets: Markets) -> list[VenueOrder]:
    """A page of orders (``GET /orders``), a ``user_orders`` websocket message, a
    list of orders, or a single order."""
    _, items = _framed_items(payload, "order")
    return [parse_order(item, markets, path=f"data[{i}]") for i, item in enumerate(items)]


def parse_order_ack(payload: object) -> tuple[str, str | None]:
    """``POST /orders`` -> ``(venue order id, customer_order_id or None)``."""
    f = Fields(payload, VENUE, "order_ack")
    return f.ident("id"), f.opt_ident("customer_order_id")


# --- fills ------------------------------------------------------------------------------


def _user_trade(f: Fields, markets: Markets | None, fee_asset: Literal["quote", "base"]) -> Fill:
    symbol = _symbol(f, markets, payload_symbol=True)
    inst = markets.instrument(symbol) if markets is not None else None
    if inst is not None:
        asset = inst.quote if fee_asset == "quote" else inst.base
    else:
        base, sep, quote = symbol.partition("/")
        if not sep or not base or not quote:
            f.fail("symbol", f"expected BASE/QUOTE, got {symbol!r}")
        asset = quote if fee_asset == "quote" else base
    maker = f.opt_boolean("maker")
    return Fill(
        trade_id=f.ident("id"),
        client_id="",
        symbol=symbol,
        side=side_of(f, "direction"),
        price=f.positive("price"),
        size=f.positive("amount"),
        fee=f.decimal("fee_value") if f.has("fee_value") else ZERO,
        fee_asset=asset,
        liquidity=Liquidity.MAKER if maker else Liquidity.TAKER,
        ts_ns=f.time_ns("date", unit="ms"),
        venue_order_id=f.opt_ident("order_id"),
    )


def parse_user_trades(
    payload: object,
    markets: Markets | None = None,
    *,
    fee_asset: Literal["quote", "base"] = "quote",
    skip: Skip | None = None,
    page: bool = False,
) -> list[Fill]:
    """User trades in any of their shapes (see the module notes) -> Fills; a row that
    does not parse raises, or goes to ``skip`` while the others are returned.
    ``page=True`` (``GET /user_trades``) insists on the page shape, ``{"data": [...]}``."""
    if page and not isinstance(payload, list):
        Fields(payload, VENUE, "user_trade").items("data")
    _, items = _framed_items(payload, "user_trade")
    build = lambda f: _user_trade(f, markets, fee_asset)  # noqa: E731
    return rows(items, build, skip, venue=VENUE, kind="user_trade", path="data")


def page_length(payload: object) -> int:
    """How many rows a page holds, good or bad (for offset paging)."""
    if isinstance(payload, Mapping) and isinstance(payload.get("data"), list):
        return len(payload["data"])
    return len(payload) if isinstance(payload, list) else 0


# --- public market data -----------------------------------------------------------------


def parse_order_book(
    payload: object, symbol: str, ts_ns: int, *, skip: Skip | None = None
) -> BookSnapshot:
    """``GET /order_book/{id}``; the payload has no time, so the caller gives ``ts_ns``."""
    f = Fields(payload, VENUE, "order_book")
    bids, asks = _sides(f, "", snapshot=True, skip=skip)
    return BookSnapshot(ts_ns, symbol, bids, asks)


def _sides(
    f: Fields, prefix: str, *, snapshot: bool, skip: Skip | None
) -> tuple[list[Level], list[Level]]:
    """A record's bids and asks, best first (one missing side is empty; both missing
    is a shape we do not know, never an empty book)."""
    if not f.has("bids") and not f.has("asks"):
        f.fail(("bids", "asks"), "missing")
    out = []
    for name, descending in (("bids", True), ("asks", False)):
        out.append(
            parse_levels(
                f.raw(name) or [],
                VENUE,
                f.kind,
                f"{prefix}{name}",
                descending=descending,
                allow_zero=not snapshot,
                skip=skip,
            )
        )
    return out[0], out[1]


def parse_ticker(payload: object, symbol: str, ts_ns: int) -> Ticker:
    """``GET /ticker/{id}``; null prices (no bid, no trade yet) stay None."""
    return _ticker(Fields(payload, VENUE, "ticker"), symbol, ts_ns)


def _ticker(f: Fields, symbol: str, ts_ns: int) -> Ticker:
    return Ticker(
        ts_ns,
        symbol,
        f.opt_positive_number("bid_price"),
        f.opt_positive_number("ask_price"),
        last=f.opt_positive_number("last_price"),
    )


def _trade(f: Fields, symbol: str) -> Trade:
    """A public trade; a price or size that is not > 0 makes the row a bad one."""
    return Trade(
        f.time_ns("date", "time", unit="ms"),
        symbol,
        f.positive_number("price"),
        f.positive_number("amount"),
        side_of(f, "direction") if f.has("direction") else None,
        f.ident("id"),
    )


def parse_trades(payload: object, symbol: str, *, skip: Skip | None = None) -> list[Trade]:
    """``GET /trades/{id}`` (``{"data": [...]}``) -> Trades, aggressor side from
    ``direction``."""
    _, items = _framed_items(payload, "trade")
    build = lambda f: _trade(f, symbol)  # noqa: E731
    return rows(items, build, skip, venue=VENUE, kind="trade", path="data")


# --- websockets -------------------------------------------------------------------------


def ws_message_type(message: object) -> str:
    """The channel of a websocket message: its ``message_type``, or ``user_trades``
    for the bare trade object the user-trades channel may send."""
    f = Fields(message, VENUE, "ws_message")
    if f.has("message_type"):
        return f.text("message_type")
    if f.has("fee_value") or (f.has("order_id") and f.has("direction")):
        return "user_trades"
    raise ParseError(VENUE, "ws_message", "message_type", "missing")


_FRAME_DATA = "payload.data"


def _frame(message: object, kind: str, markets: Markets) -> tuple[str, list[object]]:
    """A framed message's symbol and data items."""
    inner, items = _framed_items(message, kind)
    if inner is None:
        raise ParseError(VENUE, kind, "payload", "missing")
    return _symbol(inner, markets), items


def parse_ws_order_book(
    message: object,
    markets: Markets,
    ts_ns: int,
    *,
    snapshot: bool,
    skip: Skip | None = None,
) -> BookSnapshot | BookDelta:
    """An ``order_book`` message: the full book when ``snapshot``, else changes."""
    symbol, items = _frame(message, "ws_order_book", markets)
    bids: list[Level] = []
    asks: list[Level] = []
    for i, item in enumerate(items):
        # A record we cannot read fails the message (a book is never silently
        # emptied); only its bad levels are skipped.
        r = Fields(item, VENUE, "ws_order_book", f"{_FRAME_DATA}[{i}]")
        more_bids, more_asks = _sides(r, f"{r.path}.", snapshot=snapshot, skip=skip)
        bids += more_bids
        asks += more_asks
    bids.sort(key=lambda lv: lv[0], reverse=True)
    asks.sort(key=lambda lv: lv[0])
    cls = BookSnapshot if snapshot else BookDelta
    return cls(ts_ns, symbol, bids, asks)


def parse_ws_trades(message: object, markets: Markets, *, skip: Skip | None = None) -> list[Trade]:
    """A ``trades`` message -> Trades (the channel gives no aggressor side)."""
    symbol, items = _frame(message, "ws_trades", markets)
    build = lambda r: _trade(r, symbol)  # noqa: E731
    return rows(items, build, skip, venue=VENUE, kind="ws_trades", path=_FRAME_DATA)


def parse_ws_ticker(
    message: object, markets: Markets, ts_ns: int, *, skip: Skip | None = None
) -> list[Ticker]:
    """A ``ticker`` message -> Tickers (one per data item; normally one)."""
    symbol, items = _frame(message, "ws_ticker", markets)
    build = lambda r: _ticker(r, symbol, ts_ns)  # noqa: E731
    return rows(items, build, skip, venue=VENUE, kind="ws_ticker", path=_FRAME_DATA)


# --- errors -----------------------------------------------------------------------------


def classify_error(
    http_status: int | None, body: object, *, retry_after: float | None = None
) -> VenueError:
    """A BlockTrade error reply -> typed VenueError."""
    return classify(VENUE, http_status, body, ERROR_RULES, retry_after=retry_after)
