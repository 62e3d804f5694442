"""The pre-trade risk module: where a strategy's intent becomes a grid order, or a reject.

``RiskModule.check`` runs every ``Place`` and ``Edit`` through the checks below,
in this order; the first failure rejects with a stable code (``REJECT_CODES``):

1. ``unknown_instrument``; for an edit ``unknown_order``; ``side_not_allowed``.
2. Order shape: ``invalid_order`` (not an intent, or an unknown order type or
   time in force), ``invalid_size``, ``invalid_price``, ``missing_price``,
   ``unexpected_price``, ``missing_stop_price``, ``post_only_not_allowed``.
3. Quantize (``size_below_lot``; with ``rounding: reject``: ``off_lot``,
   ``off_tick``).
4. Post-only against the book (``post_only_would_cross``, or slide).
5. Reduce-only clipping (``reduce_only_would_increase``).
6. Size bounds (``below_min_size``, ``above_max_size``).
7. Order value (``no_reference_price``, ``below_min_notional``,
   ``above_max_notional``).
8. Account limits (``trading_halted``, ``reducing_only``, ``max_position``,
   ``max_open_orders``, ``rate_limited``, ``price_band``).

``Cancel`` and ``CancelAll`` always pass.

Choices where the design leaves room:

- An ``Edit`` is checked as the order it leaves behind: the existing order with
  the new price and/or the new *total* size. The already filled part stays
  filled, so the open part is ``new size - filled``. A new size at or below the
  filled size is ``invalid_size``. Reduce-only clipping, the size bounds, the
  order value and the position cap apply to the open part, because that is
  what can still trade (and what a cancel-and-replace would send). An edit
  never adds an order, so ``max_open_orders`` does not apply to it. The
  accepted ``Edit`` carries both the resulting price and the resulting total
  size. An edit of a closed order, or with no order given, is ``unknown_order``.
- The stop price rounds like the limit price (buy down, sell up). A stop price
  on a non-stop order is ``unexpected_price``.
- A ``STOP_MARKET`` order is valued, and price-banded, at its stop price; a
  ``MARKET`` order always needs a reference price (``no_reference_price``),
  even when the instrument has no value bounds.
- A post-only slide goes to the highest grid price strictly below the best ask
  (lowest strictly above the best bid), which is ``best ask - tick`` when the
  book is on the grid. Without a book side the post-only check is skipped; the
  venue enforces post-only anyway.
- The position cap is measured in the order's direction:
  ``side.sign * position + same-side open remaining + this order``, so an order
  that shrinks an oversized position is never blocked by it.
- The rate limiter counts accepted ``Place`` and ``Edit`` decisions in a
  sliding window on ``now_ns`` (the event clock in a backtest).
- Numbers: a float becomes the decimal it prints as (``Decimal(repr(x))``);
  str, int, Decimal and numpy scalars are accepted too. A side other than buy
  or sell is ``side_not_allowed``; an unknown order type or time in force, or a
  number so large it does not fit the tick or lot grid, is ``invalid_order``
  (a code added to the design's list). A buy price below one tick rounds to 0
  and is ``invalid_price``. Book prices that are None, not finite or not > 0
  count as unknown.
- ``rounding: reject`` only refuses off-grid input; reduce-only clipping and the
  post-only slide still adjust the order.
- A rejected ``Decision`` carries the strategy's original intent; an accepted
  one carries the normalized intent. An accepted decision's ``reason`` is empty
  unless the risk module changed the order materially (a post-only slide, a
  reduce-only clip).
"""

from __future__ import annotations

import difflib
import math
import re
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from numbers import Integral, Real
from types import MappingProxyType
from typing import Any

from botkit.intents import Cancel, CancelAll, Edit, Place
from botkit.model import ZERO, Instrument, OrderType, Side, TimeInForce

REJECT_CODES: tuple[str, ...] = (
    "unknown_instrument",
    "unknown_order",
    "side_not_allowed",
    "invalid_order",
    "invalid_size",
    "invalid_price",
    "missing_price",
    "unexpected_price",
    "missing_stop_price",
    "post_only_not_allowed",
    "size_below_lot",
    "off_lot",
    "off_tick",
    "post_only_would_cross",
    "reduce_only_would_increase",
    "below_min_size",
    "above_max_size",
    "no_reference_price",
    "below_min_notional",
    "above_max_notional",
    "trading_halted",
    "reducing_only",
    "max_position",
    "max_open_orders",
    "rate_limited",
    "price_band",
)

ROUNDING_MODES = ("round", "reject")
POST_ONLY_POLICIES = ("reject", "slide")
KILL_SWITCH_STATES = ("active", "reducing", "halted")


# --------------------------------------------------------------------------- config


class RiskConfigError(ValueError):
    """A bad ``risk:`` setting; the message names the field, the value and what is allowed."""

    def __init__(
        self,
        field: str,
        value: Any,
        allowed: str,
        *,
        problem: str = "is not allowed",
        hint: str = "",
    ) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        hint = f" ({hint})" if hint else ""
        super().__init__(f"{field}: {value!r} {problem}{hint}; expected {allowed}")


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``count`` accepted orders and edits in any window of ``per_ns`` nanoseconds."""

    count: int
    per_ns: int

    def __str__(self) -> str:
        return f"{self.count} per {_fmt(Decimal(self.per_ns) / _NS_PER_S)}s"


_NS_PER_S = Decimal(1_000_000_000)
_UNIT_NS = MappingProxyType(
    {
        "ms": Decimal(1_000_000),
        "s": _NS_PER_S,
        "sec": _NS_PER_S,
        "m": 60 * _NS_PER_S,
        "min": 60 * _NS_PER_S,
        "h": 3600 * _NS_PER_S,
    }
)
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*(ms|sec|s|min|m|h)\s*$")
_PERIOD_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|sec|s|min|m|h)\s*$")
_RATE_ALLOWED = (
    '"N/s", "N/m", "N/<period>" (e.g. "2/1s", "100/10s", "5/500ms") or {count: N, per: "1s"}'
)


def _config_decimal(value: Any, field: str, allowed: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise RiskConfigError(field, value, allowed)
    try:
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        raise RiskConfigError(field, value, allowed) from None
    if not d.is_finite():
        raise RiskConfigError(field, value, allowed)
    return d


def _config_choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    allowed = " or ".join(choices)
    if not isinstance(value, str) or value.strip().lower() not in choices:
        raise RiskConfigError(field, value, allowed)
    return value.strip().lower()


def _config_cap(value: Any, field: str) -> Decimal:
    allowed = "a base-asset size >= 0 (number or string)"
    d = _config_decimal(value, field, allowed)
    if d < 0:
        raise RiskConfigError(field, value, allowed)
    return d


def _config_max_position(value: Any) -> Decimal | Mapping[str, Decimal] | None:
    field = "risk.max_position"
    if value is None:
        return None
    if isinstance(value, Mapping):
        caps: dict[str, Decimal] = {}
        for symbol, cap in value.items():
            if not isinstance(symbol, str) or not symbol:
                raise RiskConfigError(field, symbol, "symbols (e.g. BTC/USDT) or 'default' as keys")
            caps[symbol] = _config_cap(cap, f"{field}.{symbol}")
        return MappingProxyType(caps)
    return _config_cap(value, field)


def _config_max_open_orders(value: Any) -> int | None:
    field = "risk.max_open_orders"
    allowed = "a whole number >= 0"
    if value is None:
        return None
    if isinstance(value, Integral) and not isinstance(value, bool):
        n = int(value)
    else:
        d = _config_decimal(value, field, allowed)
        if d != d.to_integral_value():
            raise RiskConfigError(field, value, allowed)
        n = int(d)
    if n < 0:
        raise RiskConfigError(field, value, allowed)
    return n


def _config_period_ns(value: Any, field: str) -> int:
    allowed = 'a period such as "1s", "500ms", "1m", or a number of seconds'
    m = _PERIOD_RE.match(value) if isinstance(value, str) else None
    if m is not None:
        ns = Decimal(m.group(1)) * _UNIT_NS[m.group(2)]
    else:
        ns = _config_decimal(value, field, allowed) * _NS_PER_S
    if ns < 1:
        raise RiskConfigError(field, value, allowed)
    return int(ns)


def _config_count(value: Any, field: str) -> int:
    allowed = "a whole number >= 1"
    if isinstance(value, bool):
        raise RiskConfigError(field, value, allowed)
    d = _config_decimal(value, field, allowed)
    if d < 1 or d != d.to_integral_value():
        raise RiskConfigError(field, value, allowed)
    return int(d)


def _config_rate(value: Any) -> RateLimit | None:
    field = "risk.max_order_rate"
    if value is None:
        return None
    if isinstance(value, RateLimit):
        if not (isinstance(value.count, int) and value.count >= 1 and value.per_ns >= 1):
            raise RiskConfigError(field, value, "a count >= 1 in a period >= 1 ns")
        return value
    if isinstance(value, str):
        m = _RATE_RE.match(value)
        if m is None:
            raise RiskConfigError(field, value, _RATE_ALLOWED)
        count = int(m.group(1))
        per_ns = int(Decimal(m.group(2) or "1") * _UNIT_NS[m.group(3)])
        if count < 1 or per_ns < 1:
            raise RiskConfigError(field, value, _RATE_ALLOWED)
        return RateLimit(count, per_ns)
    if isinstance(value, Mapping):
        for key in value:
            if key not in ("count", "per"):
                raise RiskConfigError(f"{field}.{key}", value[key], "only the keys count and per")
        if "count" not in value or "per" not in value:
            raise RiskConfigError(field, dict(value), _RATE_ALLOWED)
        return RateLimit(
            _config_count(value["count"], f"{field}.count"),
            _config_period_ns(value["per"], f"{field}.per"),
        )
    raise RiskConfigError(field, value, _RATE_ALLOWED)


def _config_price_band(value: Any) -> Decimal | None:
    field = "risk.price_band"
    allowed = 'a fraction of the last price, > 0 and <= 1 (e.g. "0.05")'
    if value is None:
        return None
    d = _config_decimal(value, field, allowed)
    if not 0 < d <= 1:
        raise RiskConfigError(field, value, allowed)
    return d


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The typed ``risk:`` section of bot.yaml. Values are validated and normalized on creation."""

    rounding: str = "round"
    post_only: str = "reject"
    kill_switch: str = "active"
    max_position: Decimal | Mapping[str, Decimal] | None = None
    max_open_orders: int | None = None
    max_order_rate: RateLimit | None = None
    price_band: Decimal | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "rounding", _config_choice(self.rounding, "risk.rounding", ROUNDING_MODES))
        put(self, "post_only", _config_choice(self.post_only, "risk.post_only", POST_ONLY_POLICIES))
        put(
            self,
            "kill_switch",
            _config_choice(self.kill_switch, "risk.kill_switch", KILL_SWITCH_STATES),
        )
        put(self, "max_position", _config_max_position(self.max_position))
        put(self, "max_open_orders", _config_max_open_orders(self.max_open_orders))
        put(self, "max_order_rate", _config_rate(self.max_order_rate))
        put(self, "price_band", _config_price_band(self.price_band))

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any] | None) -> RiskLimits:
        """Build from the ``risk:`` mapping; unknown keys are errors, with a suggestion."""
        if d is None:
            return cls()
        if not isinstance(d, Mapping):
            raise RiskConfigError("risk", d, "a mapping of risk settings")
        known = _LIMIT_FIELDS
        for key in d:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"did you mean {close[0]!r}?" if close else ""
                raise RiskConfigError(
                    f"risk.{key}",
                    key,
                    "one of " + ", ".join(known),
                    problem="is not a risk setting",
                    hint=hint,
                )
        return cls(**d)

    def __hash__(self) -> int:
        # The per-symbol caps are a read-only mapping, which is not hashable itself.
        cap = self.max_position
        caps = tuple(sorted(cap.items())) if isinstance(cap, Mapping) else cap
        return hash(
            (
                self.rounding,
                self.post_only,
                self.kill_switch,
                caps,
                self.max_open_orders,
                self.max_order_rate,
                self.price_band,
            )
        )

    def position_cap(self, symbol: str) -> Decimal | None:
        """The max_position cap for ``symbol`` (a per-symbol entry, else ``default``), or None."""
        cap = self.max_position
        if cap is None or isinstance(cap, Decimal):
            return cap
        return cap.get(symbol, cap.get("default"))


_LIMIT_FIELDS: tuple[str, ...] = (
    "rounding",
    "post_only",
    "kill_switch",
    "max_position",
    "max_open_orders",
    "max_order_rate",
    "price_band",
)


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of a check: the intent as it will be sent, or a reject code and reason."""

    accepted: bool
    intent: Any
    code: str | None = None
    reason: str = ""


_INF = math.inf


def _make_place(*fields: Any) -> Place:
    """A Place from its ten fields in order, built in C (no generated ``__new__``)."""
    return _TUPLE_NEW(Place, fields)  # type: ignore[no-any-return]


_TUPLE_NEW = tuple.__new__


def _accept_factory() -> Callable[[Any, str], Decision]:
    """An accepted ``Decision`` built straight into its slots, for the same reason as above."""
    new = object.__new__
    s_accepted, s_intent, s_code, s_reason = (
        getattr(Decision, f.name).__set__ for f in fields(Decision)
    )

    def accept(intent: Any, reason: str) -> Decision:
        obj = new(Decision)
        s_accepted(obj, True)
        s_intent(obj, intent)
        s_code(obj, None)
        s_reason(obj, reason)
        return obj

    return accept


_accept = _accept_factory()


def _reject(intent: Any, code: str, reason: str) -> Decision:
    return Decision(False, intent, code, reason)


def _fmt(d: Decimal) -> str:
    """A Decimal for a message: no exponent, no trailing zeros."""
    if d == 0:
        return "0"
    d = d.normalize()
    # Plain digits for anything a venue trades; an exponent for absurd magnitudes.
    return f"{d:f}" if -30 < d.adjusted() < 30 else str(d)


def _show(value: Any) -> str:
    if isinstance(value, Decimal) and value.is_finite():
        return _fmt(value)
    return repr(value) if isinstance(value, str) else str(value)


def _to_num(x: Any) -> Decimal | None:
    """A finite Decimal from a strategy's number, or None when it is not one."""
    cls = x.__class__
    if cls is float:
        # Exact decimal of what the float prints as; `x - x` is nan for inf and nan.
        return Decimal(repr(x)) if x - x == 0.0 else None
    if cls is Decimal:
        return x if x.is_finite() else None
    if cls is int:
        return Decimal(x)
    if cls is bool or x is None:
        return None
    if isinstance(x, str):
        try:
            d = Decimal(x)
        except InvalidOperation:
            return None
        return d if d.is_finite() else None
    if isinstance(x, Decimal):
        return x if x.is_finite() else None
    if isinstance(x, Integral):
        return Decimal(int(x))
    if isinstance(x, Real):
        # numpy and friends: go through float so repr gives the plain digits.
        f = float(x)
        return Decimal(repr(f)) if math.isfinite(f) else None
    return None


def _book_price(x: Any) -> Decimal | None:
    """A usable book or last price, or None when unknown, not finite or not positive."""
    if x.__class__ is float:
        return Decimal(repr(x)) if 0.0 < x < _INF else None
    d = _to_num(x)
    return d if d is not None and d > 0 else None


def _to_decimal_strict(x: Any, name: str) -> Decimal:
    """Engine-supplied numbers (position, open remaining): bad values are bugs, so raise."""
    d = _to_num(x)
    if d is None:
        raise ValueError(f"{name}: {x!r} is not a finite number")
    return d


def _enum_lookup(enum: type[Side] | type[OrderType] | type[TimeInForce]) -> Mapping[Any, Any]:
    table: dict[str, Any] = {}
    for member in enum:
        table[member.value] = member
        table[member.value.upper()] = member
    return MappingProxyType(table)


_SIDES = _enum_lookup(Side)
_TYPES = _enum_lookup(OrderType)
_TIFS = _enum_lookup(TimeInForce)

_BUY = Side.BUY
_LIMIT = OrderType.LIMIT
_MARKET = OrderType.MARKET
_STOP_LIMIT = OrderType.STOP_LIMIT
_STOP_MARKET = OrderType.STOP_MARKET
_GTC = TimeInForce.GTC


def _coerce(value: Any, table: Mapping[Any, Any]) -> Any:
    if isinstance(value, str):
        return table.get(value)
    return None


# --------------------------------------------------------------------------- the module


class RiskModule:
    """Pre-trade checks and quantization; see the module docstring for the rules."""

    def __init__(self, limits: RiskLimits | Mapping[str, Any] | None = None) -> None:
        if limits is None:
            limits = RiskLimits()
        elif not isinstance(limits, RiskLimits):
            limits = RiskLimits.from_mapping(limits)
        self._limits = limits
        self._kill_switch = limits.kill_switch
        # Precomputed so check() does no per-call config work.
        self._round = limits.rounding == "round"
        self._slide = limits.post_only == "slide"
        cap = limits.max_position
        self._has_cap = cap is not None
        if isinstance(cap, Mapping):
            self._cap_default: Decimal | None = cap.get("default")
            self._caps: Mapping[str, Decimal] = cap
        else:
            self._cap_default = cap
            self._caps = MappingProxyType({})
        self._max_open = limits.max_open_orders
        rate = limits.max_order_rate
        self._rate_count = rate.count if rate is not None else 0
        self._rate_per_ns = rate.per_ns if rate is not None else 0
        self._sent: deque[int] = deque()
        self._grid_multiply = Context(prec=64, traps=[InvalidOperation, Inexact, Overflow]).multiply
        band = limits.price_band
        self._band = band
        self._band_lo = (1 - band) if band is not None else ZERO
        self._band_hi = (1 + band) if band is not None else ZERO

    @property
    def limits(self) -> RiskLimits:
        """The configured limits (``kill_switch`` there is the initial state)."""
        return self._limits

    @property
    def kill_switch(self) -> str:
        """The current kill-switch state: "active", "reducing" or "halted"."""
        return self._kill_switch

    def set_kill_switch(self, state: str) -> None:
        self._kill_switch = _config_choice(state, "risk.kill_switch", KILL_SWITCH_STATES)

    def check(
        self,
        intent: Any,
        instrument: Instrument | None,
        position: Any = 0,
        book: Any = None,
        open_orders: Iterable[Any] = (),
        *,
        order: Any = None,
        now_ns: int | None = None,
        open_order_count: int | None = None,
    ) -> Decision:
        """Check one intent; see the module docstring for the order of the checks."""
        cls = intent.__class__
        if cls is Place or (cls is not Edit and isinstance(intent, Place)):
            if instrument is None:
                return _reject(intent, "unknown_instrument", f"unknown instrument {intent.symbol}")
            # A Place's fields are _check's arguments, in the same order.
            args: tuple[Any, ...] = (*intent, False, ZERO)
        elif cls is Edit or isinstance(intent, Edit):
            if instrument is None:
                name = getattr(order, "symbol", intent.client_id)
                return _reject(intent, "unknown_instrument", f"unknown instrument {name}")
            if order is None:
                return _reject(
                    intent, "unknown_order", f"no open order {intent.client_id!r} to edit"
                )
            if order.client_id != intent.client_id:
                return _reject(
                    intent,
                    "unknown_order",
                    f"edit for {intent.client_id!r} was given order {order.client_id!r}",
                )
            if not getattr(order, "is_open", True):
                return _reject(
                    intent,
                    "unknown_order",
                    f"order {intent.client_id!r} is {order.status}; nothing to edit",
                )
            # The Edit is checked as the order it leaves behind.
            args = (
                order.symbol,
                order.side,
                order.size if intent.size is None else intent.size,
                order.price if intent.price is None else intent.price,
                order.type,
                order.tif,
                order.post_only,
                order.reduce_only,
                intent.client_id,
                order.stop_price,
                True,
                _to_decimal_strict(getattr(order, "filled", ZERO), "order.filled"),
            )
        elif isinstance(intent, Cancel | CancelAll):
            return _accept(intent, "")
        else:
            return _reject(
                intent,
                "invalid_order",
                f"{type(intent).__name__} is not an intent (Place, Edit, Cancel, CancelAll)",
            )
        oc = open_orders.__class__
        if oc is not tuple and oc is not list and not isinstance(open_orders, Collection):
            # It is walked more than once (reduce-only room, position cap, count).
            open_orders = tuple(open_orders)
        try:
            return self._check(
                intent, instrument, position, book, open_orders, now_ns, open_order_count, *args
            )
        except ArithmeticError:
            # Only magnitudes no venue trades (beyond the decimal context) get here.
            return _reject(
                intent,
                "invalid_order",
                f"a number in {intent!r} or its context is out of range for the "
                f"tick {_fmt(instrument.tick_size)} and lot {_fmt(instrument.lot_size)}",
            )

    def _check(
        self,
        intent: Any,
        inst: Instrument,
        position: Any,
        book: Any,
        open_orders: Collection[Any],
        now_ns: int | None,
        open_order_count: int | None,
        symbol: str,
        side_raw: Any,
        size_raw: Any,
        price_raw: Any,
        type_raw: Any,
        tif_raw: Any,
        post_only: Any,
        reduce_only: Any,
        client_id: str | None,
        stop_raw: Any,
        is_edit: bool,
        filled: Decimal,
    ) -> Decision:
        if post_only.__class__ is not bool:
            post_only = bool(post_only)
        if reduce_only.__class__ is not bool:
            reduce_only = bool(reduce_only)
        # 1. Side.
        side = side_raw if side_raw.__class__ is Side else _coerce(side_raw, _SIDES)
        if side is None:
            return _reject(intent, "side_not_allowed", f"side {side_raw!r} is not buy or sell")
        allowed = inst.allowed_sides
        if allowed is not None and side not in allowed:
            return _reject(
                intent, "side_not_allowed", f"{side} orders are not allowed on {inst.symbol}"
            )
        is_buy = side is _BUY

        # 2. Shape.
        otype = type_raw if type_raw.__class__ is OrderType else _coerce(type_raw, _TYPES)
        if otype is None:
            return _reject(
                intent,
                "invalid_order",
                f"order type {type_raw!r} is not one of " + ", ".join(t.value for t in OrderType),
            )
        tif = tif_raw if tif_raw.__class__ is TimeInForce else _coerce(tif_raw, _TIFS)
        if tif is None:
            return _reject(
                intent,
                "invalid_order",
                f"time in force {tif_raw!r} is not one of "
                + ", ".join(t.value for t in TimeInForce),
            )
        if size_raw.__class__ is float and 0.0 < size_raw < _INF:
            size = Decimal(repr(size_raw))
        else:
            size = _to_num(size_raw)
            if size is None or size <= 0:
                return _reject(
                    intent, "invalid_size", f"size {_show(size_raw)} is not a number > 0"
                )
        if filled and size <= filled:
            return _reject(
                intent,
                "invalid_size",
                f"new size {_fmt(size)} leaves nothing open: {_fmt(filled)} is already filled",
            )
        price: Decimal | None = None
        if price_raw is not None:
            price = _to_num(price_raw)
            if price is None or price <= 0:
                return _reject(
                    intent, "invalid_price", f"price {_show(price_raw)} is not a number > 0"
                )
        stop: Decimal | None = None
        if stop_raw is not None:
            stop = _to_num(stop_raw)
            if stop is None or stop <= 0:
                return _reject(
                    intent, "invalid_price", f"stop price {_show(stop_raw)} is not a number > 0"
                )
        if price is None:
            if otype is _LIMIT or otype is _STOP_LIMIT:
                return _reject(intent, "missing_price", f"a {otype} order needs a price")
        elif otype is _MARKET or otype is _STOP_MARKET:
            return _reject(intent, "unexpected_price", f"a {otype} order takes no price")
        if stop is None:
            if otype is _STOP_LIMIT or otype is _STOP_MARKET:
                return _reject(intent, "missing_stop_price", f"a {otype} order needs a stop price")
        elif otype is _LIMIT or otype is _MARKET:
            return _reject(intent, "unexpected_price", f"a {otype} order takes no stop price")
        if post_only and (otype is not _LIMIT or tif is not _GTC):
            return _reject(
                intent,
                "post_only_not_allowed",
                f"post_only needs a limit GTC order, not {otype} {tif}",
            )

        # 3. Quantize. divmod is exact or fails (a quotient beyond the context
        # precision); the product goes through a wide context that traps Inexact,
        # so a grid value is never silently rounded.
        lot = inst.lot_size
        tick = inst.tick_size
        mul = self._grid_multiply
        try:
            q, r = divmod(size, lot)
        except InvalidOperation:
            return _reject(intent, "invalid_size", f"size {_fmt(size)} is too large")
        if r and not self._round:
            return _reject(
                intent, "off_lot", f"size {_fmt(size)} is not a multiple of the lot {_fmt(lot)}"
            )
        size_q = mul(q, lot)
        open_size = size_q - filled
        if open_size <= 0:
            if filled:
                return _reject(
                    intent,
                    "size_below_lot",
                    f"size {_fmt(size)} rounds down to {_fmt(size_q)} on the lot "
                    f"{_fmt(lot)}, leaving nothing open after {_fmt(filled)} filled",
                )
            return _reject(
                intent,
                "size_below_lot",
                f"size {_fmt(size)} rounds down to 0 on the lot {_fmt(lot)}",
            )
        if price is not None:
            try:
                q, r = divmod(price, tick)
            except InvalidOperation:
                return _reject(intent, "invalid_price", f"price {_fmt(price)} is too large")
            if r:
                if not self._round:
                    return _reject(
                        intent,
                        "off_tick",
                        f"price {_fmt(price)} is not a multiple of the tick {_fmt(tick)}",
                    )
                if not is_buy:
                    q += 1
            if not q:
                return _reject(
                    intent,
                    "invalid_price",
                    f"price {_fmt(price)} rounds down to 0 on the tick {_fmt(tick)}",
                )
            price = mul(q, tick)
        if stop is not None:
            try:
                q, r = divmod(stop, tick)
            except InvalidOperation:
                return _reject(intent, "invalid_price", f"stop price {_fmt(stop)} is too large")
            if r:
                if not self._round:
                    return _reject(
                        intent,
                        "off_tick",
                        f"stop price {_fmt(stop)} is not a multiple of the tick {_fmt(tick)}",
                    )
                if not is_buy:
                    q += 1
            if not q:
                return _reject(
                    intent,
                    "invalid_price",
                    f"stop price {_fmt(stop)} rounds down to 0 on the tick {_fmt(tick)}",
                )
            stop = mul(q, tick)

        notes: list[str] | None = None

        # 4. Post-only against the touch.
        if post_only and book is not None and price is not None:
            if is_buy:
                ask = _book_price(getattr(book, "best_ask", None))
                if ask is not None and price >= ask:
                    if not self._slide:
                        return _reject(
                            intent,
                            "post_only_would_cross",
                            f"post-only buy at {_fmt(price)} would cross the best ask {_fmt(ask)}",
                        )
                    q, r = divmod(ask, tick)
                    slid = mul(q + 1 if r else q, tick) - tick
                    if slid <= 0:
                        return _reject(
                            intent,
                            "post_only_would_cross",
                            f"post-only buy cannot slide below the best ask {_fmt(ask)}",
                        )
                    notes = [f"post-only price slid from {_fmt(price)} to {_fmt(slid)}"]
                    price = slid
            else:
                bid = _book_price(getattr(book, "best_bid", None))
                if bid is not None and price <= bid:
                    if not self._slide:
                        return _reject(
                            intent,
                            "post_only_would_cross",
                            f"post-only sell at {_fmt(price)} would cross the best bid {_fmt(bid)}",
                        )
                    slid = mul(bid // tick, tick) + tick
                    notes = [f"post-only price slid from {_fmt(price)} to {_fmt(slid)}"]
                    price = slid

        # 5. Reduce-only: clip to what is left of the position after the other
        # reduce-only orders on the same side.
        pos: Decimal | None = None
        if reduce_only:
            pos = (
                position
                if position.__class__ is Decimal
                else _to_decimal_strict(position, "position")
            )
            if (pos >= 0) if is_buy else (pos <= 0):
                return _reject(
                    intent,
                    "reduce_only_would_increase",
                    f"a reduce-only {side} cannot reduce a position of {_fmt(pos)}",
                )
            room = abs(pos)
            for o in open_orders:
                if o.reduce_only and o.side == side and not _is_same(o, is_edit, client_id):
                    room -= _remaining(o)
            room_q = mul(room // lot, lot) if room > 0 else ZERO
            if room_q <= 0:
                return _reject(
                    intent,
                    "reduce_only_would_increase",
                    f"reduce-only {side}: position {_fmt(pos)} is already covered by "
                    f"other reduce-only orders",
                )
            if open_size > room_q:
                note = f"reduce-only size clipped from {_fmt(open_size)} to {_fmt(room_q)}"
                notes = [*notes, note] if notes else [note]
                open_size = room_q
                size_q = filled + open_size

        # 6. Size bounds.
        min_size = inst.min_size
        if min_size is not None and open_size < min_size:
            return _reject(
                intent,
                "below_min_size",
                f"size {_fmt(open_size)} is below the minimum {_fmt(min_size)}",
            )
        max_size = inst.max_size
        if max_size is not None and open_size > max_size:
            return _reject(
                intent,
                "above_max_size",
                f"size {_fmt(open_size)} is above the maximum {_fmt(max_size)}",
            )

        # 7. Order value.
        if otype is _MARKET:
            ref = None
            if book is not None:
                ref = _book_price(getattr(book, "best_ask" if is_buy else "best_bid", None))
                if ref is None:
                    ref = _book_price(getattr(book, "last_price", None))
            if ref is None:
                return _reject(
                    intent,
                    "no_reference_price",
                    f"market {side} on {symbol}: no {'ask' if is_buy else 'bid'} "
                    f"and no last price to value it",
                )
        elif otype is _STOP_MARKET:
            ref = stop
        else:
            ref = price
        min_value = inst.min_notional
        max_value = inst.max_notional
        if min_value is not None or max_value is not None:
            value = ref * open_size  # type: ignore[operator]
            if min_value is not None and value < min_value:
                return _reject(
                    intent,
                    "below_min_notional",
                    f"order value {_fmt(value)} {inst.quote} is below the minimum "
                    f"{_fmt(min_value)} {inst.quote}",
                )
            if max_value is not None and value > max_value:
                return _reject(
                    intent,
                    "above_max_notional",
                    f"order value {_fmt(value)} {inst.quote} is above the maximum "
                    f"{_fmt(max_value)} {inst.quote}",
                )

        # 8. Account limits.
        ks = self._kill_switch
        if ks != "active":
            if ks == "halted":
                return _reject(intent, "trading_halted", "trading is halted: only cancels pass")
            if not reduce_only:
                return _reject(
                    intent,
                    "reducing_only",
                    "the kill switch is on reducing: only reduce-only orders pass",
                )
        if self._has_cap and not reduce_only:
            cap = self._caps.get(symbol, self._cap_default)
            if cap is not None:
                if pos is None:
                    pos = (
                        position
                        if position.__class__ is Decimal
                        else _to_decimal_strict(position, "position")
                    )
                pending = ZERO
                for o in open_orders:
                    if o.side == side and not _is_same(o, is_edit, client_id):
                        pending += _remaining(o)
                exposure = (pos if is_buy else -pos) + pending + open_size
                if exposure > cap:
                    return _reject(
                        intent,
                        "max_position",
                        f"{side} {_fmt(open_size)} would make the "
                        f"{'long' if is_buy else 'short'} exposure on {symbol} {_fmt(exposure)} "
                        f"(position {_fmt(pos)}, open {side}s {_fmt(pending)}), "
                        f"above the cap {_fmt(cap)}",
                    )
        if not is_edit and self._max_open is not None:
            count = len(open_orders) if open_order_count is None else open_order_count
            if count >= self._max_open:
                return _reject(
                    intent,
                    "max_open_orders",
                    f"{count} open orders already; the limit is {self._max_open}",
                )
        rate_count = self._rate_count
        if rate_count:
            now = time.monotonic_ns() if now_ns is None else now_ns
            sent = self._sent
            cutoff = now - self._rate_per_ns
            while sent and sent[0] <= cutoff:
                sent.popleft()
            if len(sent) >= rate_count:
                return _reject(
                    intent,
                    "rate_limited",
                    f"{len(sent)} orders in the last "
                    f"{_fmt(Decimal(self._rate_per_ns) / _NS_PER_S)}s; "
                    f"the limit is {rate_count}",
                )
        band = self._band
        if band is not None and book is not None and ref is not None:
            last = _book_price(getattr(book, "last_price", None))
            if last is not None:
                lo = last * self._band_lo
                hi = last * self._band_hi
                if ref < lo or ref > hi:
                    what = "reference price" if otype is _MARKET else "price"
                    if otype is _STOP_MARKET:
                        what = "stop price"
                    return _reject(
                        intent,
                        "price_band",
                        f"{what} {_fmt(ref)} is outside {_fmt(lo)}..{_fmt(hi)} "
                        f"({_fmt(band)} around the last trade {_fmt(last)})",
                    )
        if rate_count:
            self._sent.append(now)

        reason = "; ".join(notes) if notes else ""
        if is_edit:
            return _accept(Edit(client_id, price, size_q), reason)  # type: ignore[arg-type]
        return _accept(
            _make_place(
                symbol,
                side,
                size_q,
                price,
                otype,
                tif,
                post_only,
                reduce_only,
                client_id,
                stop,
            ),
            reason,
        )


def _is_same(o: Any, is_edit: bool, client_id: str | None) -> bool:
    """Whether an open order is the one being edited (it must not count against itself)."""
    return is_edit and getattr(o, "client_id", None) == client_id


def _remaining(o: Any) -> Decimal:
    r = o.remaining
    return r if r.__class__ is Decimal else _to_decimal_strict(r, "open order remaining")


__all__ = [
    "KILL_SWITCH_STATES",
    "POST_ONLY_POLICIES",
    "REJECT_CODES",
    "ROUNDING_MODES",
    "Decision",
    "RateLimit",
    "RiskConfigError",
    "RiskLimits",
    "RiskModule",
]
