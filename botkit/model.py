"""Value types for everything that touches an account.

Prices, sizes, fees, positions and balances are exact ``Decimal`` values on the
instrument's grid. Market events (``botkit.events``) carry floats for speed; the
risk module is where a float becomes a grid value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from enum import StrEnum
from typing import NamedTuple

ZERO = Decimal(0)

Number = Decimal | float | int | str


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is _BUY else -1

    @property
    def opposite(self) -> Side:
        return _SELL if self is _BUY else _BUY


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"
    STOP_LIMIT = "stop_limit"
    STOP_MARKET = "stop_market"

    @property
    def is_stop(self) -> bool:
        return self in _STOPS

    @property
    def needs_price(self) -> bool:
        return self in _PRICED


class TimeInForce(StrEnum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(StrEnum):
    PENDING_NEW = "pending_new"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    PENDING_EDIT = "pending_edit"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @property
    def is_closed(self) -> bool:
        return self in _CLOSED


_CLOSED = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)

# Enum members as plain module names for code that runs per order or per fill:
# on Python 3.11 every attribute read on an enum class (``Side.BUY``) goes
# through EnumType.__getattr__'s slow hook, about 110 ns each.
_BUY = Side.BUY
_SELL = Side.SELL
_STOPS = frozenset({OrderType.STOP_LIMIT, OrderType.STOP_MARKET})
_PRICED = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})
_NEW = tuple.__new__


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


def to_decimal(value: Number, name: str = "value") -> Decimal:
    """Exact conversion: a float becomes the decimal it prints as (0.1 -> '0.1')."""
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, bool):
        raise TypeError(f"{name}: expected a number, got a bool")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name}: {value!r} is not a finite number")
        d = Decimal(repr(value))
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{name}: {value!r} is not a number") from None
    else:
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    if not d.is_finite():
        raise ValueError(f"{name}: {value!r} is not a finite number")
    return d


def _opt_decimal(value: Number | None, name: str) -> Decimal | None:
    return None if value is None else to_decimal(value, name)


def round_to_step(value: Decimal, step: Decimal, up: bool) -> Decimal:
    """Round ``value`` to a multiple of ``step``: up is towards +inf, down towards -inf."""
    q = (value / step).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return (q * step).quantize(step)


def on_step(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable market and its rules. Numbers are ``Decimal`` (str/int/float accepted).

    ``kind`` is ``spot``, ``perpetual`` or ``future`` for linear markets (size in
    the base asset, value ``price x size`` in the quote asset), and
    ``inverse_perpetual`` or ``inverse_future`` for inverse contracts (size in
    the quote asset, e.g. USD, settled in the base asset: value ``size / price``
    in the base asset). ``min_notional``/``max_notional`` are in the asset the
    value is in (``value_asset``). ``max_leverage`` and ``maintenance_margin``
    (a rate of the position's value) are a derivative's margin terms
    (``botkit.margin``; None: no cap, and the default rate).
    """

    venue: str
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_size: Decimal | None = None
    max_size: Decimal | None = None
    min_notional: Decimal | None = None
    max_notional: Decimal | None = None
    kind: str = "spot"
    maker_fee: Decimal = ZERO
    taker_fee: Decimal = ZERO
    allowed_sides: frozenset[Side] | None = None
    max_leverage: Decimal | None = None
    maintenance_margin: Decimal | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__
        for name in ("tick_size", "lot_size"):
            v = to_decimal(getattr(self, name), name)
            if v <= 0:
                raise ValueError(f"Instrument {self.symbol}: {name} must be > 0, got {v}")
            put(self, name, v)
        for name in (
            "min_size",
            "max_size",
            "min_notional",
            "max_notional",
            "max_leverage",
            "maintenance_margin",
        ):
            put(self, name, _opt_decimal(getattr(self, name), name))
        for name in ("maker_fee", "taker_fee"):
            put(self, name, to_decimal(getattr(self, name), name))
        if self.allowed_sides is not None:
            put(self, "allowed_sides", frozenset(Side(s) for s in self.allowed_sides))

    @property
    def is_inverse(self) -> bool:
        return self.kind.startswith("inverse_")

    @property
    def value_asset(self) -> str:
        """The asset an order's value is counted in: the quote, or the base when inverse."""
        return self.base if self.kind.startswith("inverse_") else self.quote

    def order_value(self, size: Decimal, price: Decimal) -> Decimal:
        """An order's value in ``value_asset``: price x size, or size / price when inverse
        (sizes of an inverse contract are in the quote asset)."""
        return size / price if self.kind.startswith("inverse_") else price * size

    def price_down(self, price: Decimal) -> Decimal:
        return round_to_step(price, self.tick_size, up=False)

    def price_up(self, price: Decimal) -> Decimal:
        return round_to_step(price, self.tick_size, up=True)

    def size_down(self, size: Decimal) -> Decimal:
        return round_to_step(size, self.lot_size, up=False)

    def fee(self, notional: Decimal, liquidity: Liquidity) -> Decimal:
        rate = self.maker_fee if liquidity is Liquidity.MAKER else self.taker_fee
        return notional * rate


@dataclass(slots=True)
class Order:
    """The router's live record of one order. Mutated only by the execution router."""

    client_id: str
    symbol: str
    side: Side
    type: OrderType
    size: Decimal
    price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    stop_price: Decimal | None = None
    strategy: str = ""
    status: OrderStatus = OrderStatus.PENDING_NEW
    filled: Decimal = ZERO
    avg_price: Decimal | None = None
    fees: Decimal = ZERO
    venue_order_id: str | None = None
    created_ns: int = 0
    updated_ns: int = 0
    reason: str | None = None
    code: str | None = None
    attempt: int = 1  # the venue attempt: 1, then one more for each cancel-and-replace

    @property
    def remaining(self) -> Decimal:
        return self.size - self.filled

    @property
    def venue_client_id(self) -> str:
        """The client id this attempt is sent to the venue with; never the same twice.

        The strategy's client id for the first placement, ``<client id>-r<n>`` for
        the n-th (a cancel-and-replace places a new order, and venues refuse a
        client id they have seen). Venues report it back; the router maps it to
        the strategy's order.
        """
        return self.client_id if self.attempt == 1 else f"{self.client_id}-r{self.attempt}"

    @property
    def is_open(self) -> bool:
        return self.status not in _CLOSED


class Fill(NamedTuple):
    """One execution, keyed by the venue's trade id.

    Immutable. A named tuple rather than a frozen dataclass: one is built per
    execution on the backtest's hot path, and this builds at C speed.
    """

    trade_id: str
    client_id: str
    symbol: str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: Liquidity
    ts_ns: int
    venue_order_id: str | None = None
    strategy: str = ""

    @property
    def notional(self) -> Decimal:
        return self.price * self.size


class Position(NamedTuple):
    """A signed position (long > 0) with its average entry and realised PnL (immutable)."""

    symbol: str
    size: Decimal = ZERO
    avg_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO

    def apply(self, side: Side, price: Decimal, size: Decimal) -> Position:
        """The position after one fill (built in C, no generated ``__new__``: once per fill)."""
        sym, old, avg, pnl = self
        if side is _BUY:
            new = old + size
            adding = old >= 0
        else:
            new = old - size
            adding = old <= 0
        if not old:
            return _NEW(Position, (sym, new, price, pnl))
        if adding:  # the average entry moves
            return _NEW(Position, (sym, new, (avg * abs(old) + price * size) / abs(new), pnl))
        long = old > 0
        if long:
            pnl += (price - avg) * (old if size > old else size)
        else:
            pnl += (avg - price) * (-old if size > -old else size)
        if not new:
            return _NEW(Position, (sym, new, ZERO, pnl))
        if (new > 0) is long:
            return _NEW(Position, (sym, new, avg, pnl))
        return _NEW(Position, (sym, new, price, pnl))  # flipped through zero: the rest opens here

    def unrealized(self, mark: Decimal) -> Decimal:
        return (mark - self.avg_price) * self.size if self.size else ZERO


@dataclass(frozen=True, slots=True)
class Balance:
    asset: str
    total: Decimal = ZERO
    locked: Decimal = ZERO

    @property
    def available(self) -> Decimal:
        return self.total - self.locked


__all__ = [
    "ZERO",
    "Balance",
    "Fill",
    "Instrument",
    "Liquidity",
    "Order",
    "OrderStatus",
    "OrderType",
    "Position",
    "Side",
    "TimeInForce",
    "on_step",
    "round_to_step",
    "to_decimal",
]
