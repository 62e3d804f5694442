"""The pre-trade checks: one function per step, each with one reason to deny.

``RiskModule.check`` runs them in the order of design.md's trading semantics;
the first that returns a :class:`Reject` decides. A step that passes returns
None, after filling in or adjusting the :class:`OrderDraft` for the steps after
it (a normalised side, grid values, a slid price, a clipped size).

1. :func:`check_known` -- ``unknown_instrument``; for an edit ``unknown_order``.
   :func:`check_side` -- ``side_not_allowed``.
2. :func:`check_shape` -- ``invalid_order``, ``invalid_size``, ``invalid_price``,
   ``missing_price``, ``unexpected_price``, ``missing_stop_price``,
   ``post_only_not_allowed``.
3. :func:`quantize` -- ``size_below_lot``; with ``rounding: reject`` ``off_lot``,
   ``off_tick``.
4. :func:`check_post_only` -- ``post_only_would_cross`` (or slide).
5. :func:`check_reduce_only` -- ``reduce_only_would_increase`` (or clip).
6. :func:`check_size_bounds` -- ``below_min_size``, ``above_max_size``.
7. :func:`check_order_value` -- ``no_reference_price``, ``below_min_notional``,
   ``above_max_notional``.
8. Account limits: :func:`check_kill_switch` (``trading_halted``,
   ``reducing_only``), :func:`check_max_position`, :func:`check_max_open_orders`,
   :func:`check_order_rate` (``rate_limited``), :func:`check_price_band`.
9. :func:`check_balance` -- ``insufficient_balance``: on a spot instrument the
   order's lock (``botkit.account``) must fit in the free balance;
   ``insufficient_margin``: on a derivative its margin and fees
   (``botkit.margin``) must fit in the available balance; only when the caller
   gives the free balances.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, NamedTuple

from botkit.account import ONE as _ONE
from botkit.account import buy_fee_rate, exact, lock_rate, market_buy_price
from botkit.intents import Edit
from botkit.margin import margin_per_unit
from botkit.model import ZERO, Instrument, OrderType, Side, TimeInForce
from botkit.risk.limits import RateWindow, Rules
from botkit.risk.order import (
    OrderDraft,
    book_price,
    book_value,
    fmt,
    show,
    strict_decimal,
    to_num,
)

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
    "insufficient_balance",
    "insufficient_margin",
)


class Reject(NamedTuple):
    """Why a step denies an order: a code from :data:`REJECT_CODES` and a message."""

    code: str
    reason: str


def _lookup(enum: type[Side] | type[OrderType] | type[TimeInForce]) -> Mapping[str, Any]:
    table: dict[str, Any] = {}
    for member in enum:
        table[member.value] = member
        table[member.value.upper()] = member
    return MappingProxyType(table)


_SIDES = _lookup(Side)
_TYPES = _lookup(OrderType)
_TIFS = _lookup(TimeInForce)

# Enum members as plain module names: on Python 3.11 every read of an enum
# class attribute (``Side.BUY``) goes through EnumType.__getattr__, about 110 ns,
# and these are read on every order.
_BUY = Side.BUY
_SELL = Side.SELL
_LIMIT = OrderType.LIMIT
_MARKET = OrderType.MARKET
_STOP_LIMIT = OrderType.STOP_LIMIT
_STOP_MARKET = OrderType.STOP_MARKET
_GTC = TimeInForce.GTC
_INF = math.inf


def _member(value: Any, table: Mapping[str, Any]) -> Any:
    """The enum member a strategy named ("buy", "BUY"), or None."""
    return table.get(value) if isinstance(value, str) else None


# --------------------------------------------------------------------------- 1. known, side


def check_known(intent: Any, instrument: Instrument | None, order: Any = None) -> Reject | None:
    """The instrument is known; an edit names an open order of this client id."""
    if instrument is None:
        if intent.__class__ is Edit or isinstance(intent, Edit):
            name = getattr(order, "symbol", intent.client_id)
        else:
            name = intent.symbol
        return Reject("unknown_instrument", f"unknown instrument {name}")
    if not isinstance(intent, Edit):
        return None
    if order is None:
        return Reject("unknown_order", f"no open order {intent.client_id!r} to edit")
    if order.client_id != intent.client_id:
        return Reject(
            "unknown_order", f"edit for {intent.client_id!r} was given order {order.client_id!r}"
        )
    if not getattr(order, "is_open", True):
        return Reject(
            "unknown_order", f"order {intent.client_id!r} is {order.status}; nothing to edit"
        )
    return None


def check_side(o: OrderDraft) -> Reject | None:
    """Buy or sell, and a side the instrument allows (BlockTrade's restricted directions)."""
    side = o.side_in if o.side_in.__class__ is Side else _member(o.side_in, _SIDES)
    if side is None:
        return Reject("side_not_allowed", f"side {o.side_in!r} is not buy or sell")
    allowed = o.inst.allowed_sides
    if allowed is not None and side not in allowed:
        return Reject("side_not_allowed", f"{side} orders are not allowed on {o.inst.symbol}")
    o.side = side
    o.is_buy = side is _BUY
    return None


# --------------------------------------------------------------------------- 2. shape


def check_shape(o: OrderDraft) -> Reject | None:
    """A well-formed order: a known type and time in force; a size, and any price, finite
    and > 0; a price and a stop price exactly where the type takes them; post-only only
    on a GTC limit order."""
    otype = o.type_in if o.type_in.__class__ is OrderType else _member(o.type_in, _TYPES)
    tif = o.tif_in if o.tif_in.__class__ is TimeInForce else _member(o.tif_in, _TIFS)
    if otype is None or tif is None:
        what, raw, enum = (
            ("order type", o.type_in, OrderType)
            if otype is None
            else ("time in force", o.tif_in, TimeInForce)
        )
        choices = ", ".join(t.value for t in enum)
        return Reject("invalid_order", f"{what} {raw!r} is not one of {choices}")
    raw = o.size_in
    # The two common cases first, without to_num's tests.
    if raw.__class__ is Decimal and raw.is_finite() and raw > 0:
        size: Decimal | None = raw
    elif raw.__class__ is float and 0.0 < raw < _INF:
        size = Decimal(repr(raw))
    else:
        size = _positive(raw)
        if size is None:
            return Reject("invalid_size", f"size {show(raw)} is not a number > 0")
    filled = o.filled
    if filled and size <= filled:  # type: ignore[operator]
        return Reject(
            "invalid_size",
            f"new size {fmt(size)} leaves nothing open: {fmt(filled)} is already filled",  # type: ignore[arg-type]
        )
    price = None if o.price_in is None else _positive(o.price_in)
    if price is None and o.price_in is not None:
        return Reject("invalid_price", f"price {show(o.price_in)} is not a number > 0")
    stop = None if o.stop_in is None else _positive(o.stop_in)
    if stop is None and o.stop_in is not None:
        return Reject("invalid_price", f"stop price {show(o.stop_in)} is not a number > 0")
    if price is None:
        if otype is _LIMIT or otype is _STOP_LIMIT:
            return Reject("missing_price", f"a {otype} order needs a price")
    elif otype is _MARKET or otype is _STOP_MARKET:
        return Reject("unexpected_price", f"a {otype} order takes no price")
    if stop is None:
        if otype is _STOP_LIMIT or otype is _STOP_MARKET:
            return Reject("missing_stop_price", f"a {otype} order needs a stop price")
    elif otype is _LIMIT or otype is _MARKET:
        return Reject("unexpected_price", f"a {otype} order takes no stop price")
    if o.post_only.__class__ is not bool or o.reduce_only.__class__ is not bool:
        for name in ("post_only", "reduce_only"):
            flag = getattr(o, name)
            try:
                setattr(o, name, bool(flag))
            except Exception:
                return Reject("invalid_order", f"{name} {show(flag)} is neither true nor false")
    if o.post_only and (otype is not _LIMIT or tif is not _GTC):
        return Reject(
            "post_only_not_allowed", f"post_only needs a limit GTC order, not {otype} {tif}"
        )
    o.type = otype
    o.tif = tif
    o.size = size  # type: ignore[assignment]
    o.price = price
    o.stop = stop
    return None


def _positive(raw: Any) -> Decimal | None:
    d = to_num(raw)
    return d if d is not None and d > 0 else None


# --------------------------------------------------------------------------- 3. quantize


def quantize(o: OrderDraft, rules: Rules) -> Reject | None:
    """Onto the instrument's grid: the size down to the lot, prices to the tick away from
    crossing (a buy down, a sell up), so never more aggressive than asked. With
    ``rounding: reject`` an off-grid size or price is refused instead."""
    lot = o.inst.lot_size
    # divmod is exact or fails (a quotient beyond the context's precision).
    try:
        q, r = divmod(o.size, lot)
    except InvalidOperation:
        return Reject("invalid_size", f"size {fmt(o.size)} is too large")
    if r and rules.reject_off_grid:
        return Reject("off_lot", f"size {fmt(o.size)} is not a multiple of the lot {fmt(lot)}")
    size = rules.grid(q, lot)
    open_size = size - o.filled
    if open_size <= 0:
        if o.filled:
            return Reject(
                "size_below_lot",
                f"size {fmt(o.size)} rounds down to {fmt(size)} on the lot {fmt(lot)}, "
                f"leaving nothing open after {fmt(o.filled)} filled",
            )
        return Reject(
            "size_below_lot", f"size {fmt(o.size)} rounds down to 0 on the lot {fmt(lot)}"
        )
    if o.price is not None:
        price = _on_tick(o, rules, o.price, "price")
        if price.__class__ is Reject:
            return price  # type: ignore[return-value]
        o.price = price  # type: ignore[assignment]
    if o.stop is not None:
        stop = _on_tick(o, rules, o.stop, "stop price")
        if stop.__class__ is Reject:
            return stop  # type: ignore[return-value]
        o.stop = stop  # type: ignore[assignment]
    o.size = size
    o.open_size = open_size
    return None


def _on_tick(o: OrderDraft, rules: Rules, price: Decimal, what: str) -> Decimal | Reject:
    tick = o.inst.tick_size
    try:
        q, r = divmod(price, tick)
    except InvalidOperation:
        return Reject("invalid_price", f"{what} {fmt(price)} is too large")
    if r:
        if rules.reject_off_grid:
            return Reject(
                "off_tick", f"{what} {fmt(price)} is not a multiple of the tick {fmt(tick)}"
            )
        if not o.is_buy:
            q += 1
    if not q:
        return Reject(
            "invalid_price", f"{what} {fmt(price)} rounds down to 0 on the tick {fmt(tick)}"
        )
    return rules.grid(q, tick)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- 4. post-only


def check_post_only(o: OrderDraft, rules: Rules, book: Any) -> Reject | None:
    """A post-only order must not cross the touch: refused, or with ``post_only: slide``
    moved to the nearest grid price strictly inside it. Without that side of the book the
    venue is left to enforce it."""
    if not o.post_only:
        return None
    price = o.price
    if book is None or price is None:
        return None
    tick = o.inst.tick_size
    grid = rules.grid
    if o.is_buy:
        ask = book_price(getattr(book, "best_ask", None))
        if ask is None or price < ask:
            return None
        if not rules.slide:
            return Reject(
                "post_only_would_cross",
                f"post-only buy at {fmt(price)} would cross the best ask {fmt(ask)}",
            )
        q, r = divmod(ask, tick)
        slid = grid(q + 1 if r else q, tick) - tick
        if slid <= 0:
            return Reject(
                "post_only_would_cross", f"post-only buy cannot slide below the best ask {fmt(ask)}"
            )
    else:
        bid = book_price(getattr(book, "best_bid", None))
        if bid is None or price > bid:
            return None
        if not rules.slide:
            return Reject(
                "post_only_would_cross",
                f"post-only sell at {fmt(price)} would cross the best bid {fmt(bid)}",
            )
        slid = grid(bid // tick, tick) + tick
    o.note(f"post-only price slid from {fmt(price)} to {fmt(slid)}")
    o.price = slid
    return None


# --------------------------------------------------------------------------- 5. reduce-only


def check_reduce_only(
    o: OrderDraft, rules: Rules, position: Any, open_orders: Collection[Any]
) -> Reject | None:
    """A reduce-only order may only shrink the position: its size is clipped (down to the
    lot) to the position less the other reduce-only orders on the same side."""
    if not o.reduce_only:
        return None
    pos = strict_decimal(position, "position")
    side = o.side
    if (pos >= 0) if o.is_buy else (pos <= 0):
        return Reject(
            "reduce_only_would_increase",
            f"a reduce-only {side} cannot reduce a position of {fmt(pos)}",
        )
    room = abs(pos)
    for other in open_orders:
        if other.reduce_only and other.side == side and not o.counts_itself(other):
            room -= _remaining(other)
    lot = o.inst.lot_size
    room = rules.grid(room // lot, lot) if room > 0 else ZERO
    if room <= 0:
        return Reject(
            "reduce_only_would_increase",
            f"reduce-only {side}: position {fmt(pos)} is already covered by "
            "other reduce-only orders",
        )
    if o.open_size > room:
        o.note(f"reduce-only size clipped from {fmt(o.open_size)} to {fmt(room)}")
        o.open_size = room
        o.size = o.filled + room
    return None


def _remaining(open_order: Any) -> Decimal:
    return strict_decimal(open_order.remaining, "open order remaining")


# --------------------------------------------------------------------------- 6. size bounds


def check_size_bounds(o: OrderDraft) -> Reject | None:
    """The open size within the instrument's minimum and maximum order size."""
    size = o.open_size
    low = o.inst.min_size
    if low is not None and size < low:
        return Reject("below_min_size", f"size {fmt(size)} is below the minimum {fmt(low)}")
    high = o.inst.max_size
    if high is not None and size > high:
        return Reject("above_max_size", f"size {fmt(size)} is above the maximum {fmt(high)}")
    return None


# --------------------------------------------------------------------------- 7. order value


def check_order_value(o: OrderDraft, book: Any) -> Reject | None:
    """The order value within the instrument's bounds: price x open size in the quote
    asset, or for an inverse contract (size counted in the quote asset) open size /
    price in the base asset. A market order is valued at the far side of the book,
    else the last trade price (on bar data, the last close), and needs one of them
    even when the instrument has no bounds; a stop-market order at its stop price."""
    otype = o.type
    if otype is _MARKET:
        ref: Decimal | float | None = None
        if book is not None:
            ref = book_value(getattr(book, "best_ask" if o.is_buy else "best_bid", None))
            if ref is None:
                ref = book_value(getattr(book, "last_price", None))
        if ref is None:
            return Reject(
                "no_reference_price",
                f"market {o.side} on {o.symbol}: no {'ask' if o.is_buy else 'bid'} "
                "and no last price to value it",
            )
    elif otype is _STOP_MARKET:
        ref = o.stop
    else:
        ref = o.price
    o.ref = ref
    inst = o.inst
    low = inst.min_notional
    high = inst.max_notional
    if low is None and high is None:
        return None
    value = inst.order_value(o.open_size, _decimal(ref))  # type: ignore[arg-type]
    unit = inst.value_asset
    if low is not None and value < low:
        return Reject(
            "below_min_notional",
            f"order value {fmt(value)} {unit} is below the minimum {fmt(low)} {unit}",
        )
    if high is not None and value > high:
        return Reject(
            "above_max_notional",
            f"order value {fmt(value)} {unit} is above the maximum {fmt(high)} {unit}",
        )
    return None


def _decimal(x: Decimal | float) -> Decimal:
    return Decimal(repr(x)) if x.__class__ is float else x  # type: ignore[return-value]


# --------------------------------------------------------------------------- 8. account limits


def check_kill_switch(o: OrderDraft, state: str) -> Reject | None:
    """The kill switch: ``halted`` lets only cancels through, ``reducing`` only reduce-only."""
    if state == "active":
        return None
    if state == "halted":
        return Reject("trading_halted", "trading is halted: only cancels pass")
    if not o.reduce_only:
        return Reject(
            "reducing_only", "the kill switch is on reducing: only reduce-only orders pass"
        )
    return None


def check_max_position(
    o: OrderDraft, rules: Rules, position: Any, open_orders: Collection[Any]
) -> Reject | None:
    """The exposure in the order's direction -- the position, the open orders on the same
    side and this order -- within ``max_position``; so an order that shrinks an oversized
    position is never blocked. Reduce-only orders are exempt."""
    if not rules.has_caps or o.reduce_only:
        return None
    cap = rules.position_cap(o.symbol)
    if cap is None:
        return None
    pos = strict_decimal(position, "position")
    side = o.side
    pending = ZERO
    for other in open_orders:
        if other.side == side and not o.counts_itself(other):
            pending += _remaining(other)
    exposure = (pos if o.is_buy else -pos) + pending + o.open_size
    if exposure <= cap:
        return None
    return Reject(
        "max_position",
        f"{side} {fmt(o.open_size)} would make the {'long' if o.is_buy else 'short'} exposure "
        f"on {o.symbol} {fmt(exposure)} (position {fmt(pos)}, open {side}s {fmt(pending)}), "
        f"above the cap {fmt(cap)}",
    )


def check_max_open_orders(
    o: OrderDraft, rules: Rules, open_orders: Collection[Any], count: int | None
) -> Reject | None:
    """At most ``max_open_orders`` open orders (``count`` of them, else as many as
    ``open_orders``); an edit adds none, so it is not limited."""
    limit = rules.max_open
    if limit is None or o.is_edit:
        return None
    if count is None:
        count = len(open_orders)
    if count < limit:
        return None
    return Reject("max_open_orders", f"{count} open orders already; the limit is {limit}")


def check_order_rate(o: OrderDraft, window: RateWindow | None, now_ns: int) -> Reject | None:
    """At most ``max_order_rate`` accepted orders and edits in the sliding window."""
    if window is None:
        return None
    used = window.used(now_ns)
    if used < window.count:
        return None
    return Reject(
        "rate_limited",
        f"{used} orders in the last {fmt(Decimal(window.per) / _NS_PER_S)}s; "
        f"the limit is {window.count}",
    )


_NS_PER_S = Decimal(1_000_000_000)


def check_price_band(o: OrderDraft, rules: Rules, book: Any) -> Reject | None:
    """A fat-finger guard: the price the order is valued at within ``price_band`` of the
    last trade. Without a last price it does not apply."""
    band = rules.band
    if band is None or book is None or o.ref is None:
        return None
    last = book_price(getattr(book, "last_price", None))
    if last is None:
        return None
    ref = _decimal(o.ref)
    low = last * rules.band_lo
    high = last * rules.band_hi
    if low <= ref <= high:
        return None
    what = {_MARKET: "reference price", _STOP_MARKET: "stop price"}.get(o.type, "price")
    return Reject(
        "price_band",
        f"{what} {fmt(ref)} is outside {fmt(low)}..{fmt(high)} "
        f"({fmt(band)} around the last trade {fmt(last)})",
    )


# --------------------------------------------------------------------------- 9. balance


def _check_margin(
    o: OrderDraft,
    balances: Mapping[str, Decimal],
    slippage: Decimal,
    order: Any,
    position: Any,
    leverage: Mapping[str, Decimal] | None,
) -> tuple[str, Decimal] | Reject | None:
    """A derivative order's margin and fee fit in the available balance."""
    inst = o.inst
    if o.type is _MARKET:
        ref = o.ref
        price = exact(ref) if ref.__class__ is float else ref
    elif o.type is _STOP_MARKET:
        price = o.stop
    else:
        price = o.price
    if o.is_buy and (o.type is _MARKET or o.type is _STOP_MARKET):
        price = market_buy_price(inst, price, slippage)  # type: ignore[arg-type]
    lev = leverage.get(o.symbol, _ONE) if leverage else _ONE
    pos = position if position.__class__ is Decimal else Decimal(position or 0)
    side = _BUY if o.is_buy else _SELL
    rate = margin_per_unit(
        inst,
        side,
        price,
        o.open_size,
        pos,
        lev,
        bool(o.reduce_only),  # type: ignore[arg-type]
    )
    if not rate:
        return None
    asset = inst.value_asset
    need = rate * o.open_size
    free = balances.get(asset, ZERO)
    if order is not None:
        free += _held_by(order, balances)
    if need > free:
        what = "buy" if o.is_buy else "sell"
        return Reject(
            "insufficient_margin",
            f"{what} {fmt(o.open_size)} {o.symbol} at {fmt(lev)}x needs {fmt(need)} {asset} "
            f"of margin and fees, {fmt(free)} is available",
        )
    return asset, rate


def _held_by(order: Any, balances: Mapping[str, Decimal]) -> Decimal:
    """What an order being edited already holds (its lock, when the view knows locks)."""
    held = getattr(balances, "held_by", None)
    return held(order.client_id) if held is not None else ZERO


def check_balance(
    o: OrderDraft,
    balances: Mapping[str, Decimal],
    slippage: Decimal,
    order: Any = None,
    position: Any = ZERO,
    leverage: Mapping[str, Decimal] | None = None,
) -> tuple[str, Decimal] | Reject | None:
    """A spot order's lock fits in the free balance (``botkit.account`` has the rules);
    a derivative's margin fits in the available balance (``botkit.margin``).

    Returns the lock as (asset, amount per unit of size) when it fits, None for
    an order that locks nothing. For an edit, what the order already locks
    counts as free: the edit replaces that lock. ``position`` is the strategy's
    own (the part of an order that closes it holds no margin), ``leverage`` the
    account's per symbol (default 1).
    """
    inst = o.inst
    if inst.kind != "spot":
        return _check_margin(o, balances, slippage, order, position, leverage)
    # botkit.account.lock_rate, unrolled: this runs on every order.
    if o.is_buy:
        otype = o.type
        if otype is _MARKET:
            ref = o.ref
            price = market_buy_price(inst, exact(ref) if ref.__class__ is float else ref, slippage)  # type: ignore[arg-type]
        elif otype is _STOP_MARKET:
            price = market_buy_price(inst, o.stop, slippage)  # type: ignore[arg-type]
        else:
            price = o.price  # type: ignore[assignment]
        asset = inst.quote
        rate = price * (_ONE + buy_fee_rate(inst))
    else:
        asset, rate = inst.base, _ONE
    need = rate * o.open_size
    free = balances.get(asset, ZERO)
    if order is not None and order.price is not None:
        free += lock_rate(inst, o.is_buy, order.price)[1] * _remaining(order)
    if need > free:
        what = "buy" if o.is_buy else "sell"
        return Reject(
            "insufficient_balance",
            f"{what} {fmt(o.open_size)} {o.symbol} needs {fmt(need)} {asset}, {fmt(free)} is free",
        )
    return asset, rate
