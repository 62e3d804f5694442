"""Market maker: post-only quotes on both sides of one symbol, skewed against inventory.

The quote centre is the mid (or the top-of-book microprice); each side sits a
half-spread away, given in basis points of the centre or in ticks. Inventory
(the strategy's own signed position) shifts both quotes against itself, and a
side whose fill would take the inventory past ``max_inventory`` is withdrawn.

Quotes are kept alive with ``Edit`` (same client id, and on venues with a
native edit the same venue order id) rather than cancel-and-replace, and each
side has at most one request in flight: while a place, edit or cancel is
unacknowledged, that side waits. Per book event the work is a few float
operations and integer comparisons; the hook returns None unless a quote has to
move by at least ``requote_ticks``.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from botkit import Cancel, CancelAll, Context, Edit, Place, Side, hookimpl
from botkit.events import BookDelta, BookSnapshot, OrderUpdate, Ticker, Timer
from botkit.intents import Intent
from botkit.model import Fill, Instrument, OrderStatus
from botkit.sizing import min_order_size, order_lock

DEFAULT_HALF_SPREAD_BPS = Decimal("0.25")
# Without requote_ticks, a quote follows the centre once it is off by this share of the
# half-spread: close enough to stay where it should be, coarse enough not to edit on
# every one-tick flicker of a fine-grained book.
AUTO_REQUOTE_SHARE = 0.1
DEFAULT_INVENTORY_SIZES = 10  # max_inventory defaults to this many quote sizes

# Book prices are floats; a tiny slack keeps a price that sits on the grid from
# being pushed a whole tick away by representation error (100.01 / 0.01 = 10000.999...).
_EPS = 1e-6
_NO_PRICE = -(1 << 62)  # the tick index of a side with no order: every price differs from it

_PENDING = frozenset(
    {
        OrderStatus.PENDING_NEW,
        OrderStatus.PENDING_EDIT,
        OrderStatus.PENDING_CANCEL,
        OrderStatus.UNKNOWN,
    }
)
_RESTING = frozenset({OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED})


class MarketMakerParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str
    size: Decimal = Field(
        Decimal("0.001"),
        gt=0,
        description="quote size in the base asset; raised to the instrument's minimum order",
    )
    half_spread_bps: Decimal | None = Field(
        None, gt=0, description="distance of each quote from the centre, in bps of the centre"
    )
    half_spread_ticks: int | None = Field(
        None, gt=0, description="distance of each quote from the centre, in ticks"
    )
    reference: Literal["mid", "microprice"] = Field(
        "mid", description="quote centre: the mid, or the size-weighted top of book"
    )
    max_inventory: Decimal | None = Field(
        None, gt=0, description="largest |position| a fill may leave (default 10 x size)"
    )
    skew: float = Field(
        1.0, ge=0, description="shift of both quotes at max_inventory, in half-spreads"
    )
    requote_ticks: int | None = Field(
        None, ge=1, description="re-quote when a price moves this far (default: half-spread / 10)"
    )
    min_requote_ms: float = Field(
        0.0, ge=0, description="least time between two book-driven edits of one side"
    )
    retry_ms: float = Field(1000.0, ge=0, description="wait after a reject before retrying")

    @field_validator("half_spread_ticks")
    @classmethod
    def _one_half_spread(cls, v: int | None, info: ValidationInfo) -> int | None:
        if v is not None and info.data.get("half_spread_bps") is not None:
            raise ValueError("give half_spread_bps or half_spread_ticks, not both")
        return v

    @field_validator("max_inventory")
    @classmethod
    def _room_for_one_quote(cls, v: Decimal | None, info: ValidationInfo) -> Decimal | None:
        size = info.data.get("size")
        if v is not None and size is not None and v < size:
            raise ValueError(f"max_inventory ({v}) is below size ({size}): nothing could be quoted")
        return v


class _Quote:
    """One side's live quote, as far as the strategy knows it."""

    __slots__ = (
        "busy",
        "cid",
        "filled",
        "full",
        "hold_ns",
        "on",
        "sent_ns",
        "side",
        "tag",
        "ticks",
        "unfunded",
    )

    def __init__(self, side: Side, tag: str) -> None:
        self.side = side
        self.tag = tag
        self.cid: str | None = None  # the order standing for this side, open or on its way
        self.ticks = _NO_PRICE  # its price in ticks (what we asked for until the venue says)
        self.filled = Decimal(0)  # filled part of that order: an edit gives the new total size
        self.full = False  # its open part is the full quote size
        self.busy = False  # a request for this side is unacknowledged
        self.sent_ns = -1  # when the last request for this side went out
        self.hold_ns = -1  # after a reject: no new request until the clock passes this
        self.on = True  # inventory allows quoting this side
        self.unfunded = False  # the free balance does not pay for this side's quote

    def clear(self) -> None:
        self.cid = None
        self.ticks = _NO_PRICE
        self.filled = Decimal(0)
        self.full = False
        self.busy = False


class MarketMaker:
    """Two-sided post-only quotes around the mid, skewed against inventory, kept alive by edits.

    Centre: the mid, or with ``reference: microprice`` the top-of-book
    microprice ``(bid * ask_size + ask * bid_size) / (bid_size + ask_size)``.
    Each quote sits ``half_spread_bps`` (bps of the centre) or
    ``half_spread_ticks`` away; the bid is rounded down and the ask up to the
    tick, and neither is placed at or through the opposite touch.

    Inventory skew: both quotes move by ``-skew * half_spread * position /
    max_inventory`` (a long position lowers them, so the ask is hit sooner and
    the bid later). The bid is withdrawn while ``position + size`` would exceed
    ``max_inventory``; the ask while ``position - size`` would go below
    ``-max_inventory``.

    Re-quoting: on every book or ticker event the desired prices are computed;
    a side whose price moved by ``requote_ticks`` or more (by default a tenth
    of the half-spread, at least one tick) is edited (never cancelled and
    replaced), at most once per ``min_requote_ms``. A side with
    no order gets a new post-only order with a fresh client id
    ``<name>-<run>-bid-<n>``. Each side has at most one request in flight. A
    fill updates the inventory and re-quotes at once (to the exact tick, and
    back to the full size after a partial fill); so does a timer, which snaps
    quotes that drifted less than ``requote_ticks``. A rejected place or edit
    is retried after ``retry_ms``, except a ``post_only_would_cross``, which is
    retried on the next event. All quotes are cancelled on stop.

    Sizing: at the first price, a ``size`` below the smallest order the
    instrument accepts there (one lot, ``min_size``, ``min_notional`` plus 10%
    headroom, see ``botkit.sizing``) is raised to it, with one warning; so is
    the default ``max_inventory``. A position below the minimum needs no order
    of its own: the quotes trade around it and the next fill absorbs it.

    Funds: on a spot instrument a side is quoted, or moved, only when the free
    balance pays for it (``botkit.sizing.order_lock``: the bid's value plus fees
    in the quote asset, the ask's size in the base asset; an edit may use what
    the order already locks). A side the account cannot pay for waits, and is
    quoted at the first event after the balance allows it (an account with no
    base asset quotes the ask once a bid has filled), instead of being refused
    ``insufficient_balance`` once every ``retry_ms``. It is logged at info level
    each time a side starts waiting.

    Params: ``symbol``; ``size`` (0.001); ``half_spread_bps`` (0.25) or
    ``half_spread_ticks``; ``reference`` (mid | microprice); ``max_inventory``
    (10 x size); ``skew`` (1.0); ``requote_ticks`` (half-spread / 10);
    ``min_requote_ms`` (0); ``retry_ms`` (1000).
    """

    Params = MarketMakerParams

    def __init__(self, params: dict[str, Any]) -> None:
        self.bid = _Quote(Side.BUY, "bid")
        self.ask = _Quote(Side.SELL, "ask")
        self._skew_units = 0.0  # centre shift in half-spreads, from the inventory
        self._seq = 0
        self._ready = False
        # Known from the instrument at start.
        self._book: Any = None
        self._prefix = ""
        self._tick = Decimal(1)
        self._inv_tick = 1.0
        self._inst: Instrument | None = None
        self.position = Decimal(0)
        self._set(params)

    def _set(self, params: dict[str, Any]) -> None:
        """Take params, and what follows from them (with the instrument once started)."""
        p = MarketMakerParams.model_validate(params)
        self.p = p
        self.symbol = p.symbol
        if p.half_spread_ticks is not None:
            self._half_frac = 0.0
        else:
            bps = p.half_spread_bps if p.half_spread_bps is not None else DEFAULT_HALF_SPREAD_BPS
            self._half_frac = float(bps) / 10_000.0
        self._micro = p.reference == "microprice"
        self._thr = p.requote_ticks or 0  # 0: set from the half-spread at the first quote
        self._min_gap_ns = int(p.min_requote_ms * 1_000_000)
        self._retry_ns = int(p.retry_ms * 1_000_000)
        self._half_abs = 0.0
        self._size = p.size
        self._max_inv = p.max_inventory or p.size * DEFAULT_INVENTORY_SIZES
        self._sized = False  # the size is checked against the minimums at the next price
        inst = self._inst
        if inst is not None:
            if p.half_spread_ticks is not None:
                self._half_abs = p.half_spread_ticks * float(inst.tick_size)
            # Quantized once, so a partly filled quote can be compared with the full size
            # exactly; at least a lot until the next price says what the minimums need.
            self._size = max(inst.size_down(p.size), inst.lot_size)
            self._max_inv = p.max_inventory or self._size * DEFAULT_INVENTORY_SIZES
            self._on_position(self.position)

    def update_params(self, params: dict[str, Any]) -> None:
        """New params while it runs (``botkit ctl ... set_param``).

        Every param but the symbol may change. The quotes move to the new spread,
        size, skew and inventory limit at the next book event (a size change is an
        edit of each quote), as they would after a fill; a request already on its
        way is answered first.
        """
        size = self._size
        self._set(params)
        if self._size != size:
            # Quotes of the old size are no longer "full": the next event edits them.
            self.bid.full = self.ask.full = False

    # ----- hooks -------------------------------------------------------------------

    @hookimpl
    def on_start(self, ctx: Context) -> list[Intent] | None:
        inst = ctx.instrument(self.symbol)
        self._tick = inst.tick_size
        self._inv_tick = 1.0 / float(inst.tick_size)
        self._inst = inst
        self._set(self.p.model_dump())
        self._book = ctx.book(self.symbol)
        # A run tag keeps client ids unique across restarts (the venue and the journal
        # remember ids of earlier runs); in a backtest it is the first event's time.
        self._prefix = f"{ctx.name}-{_base36(ctx.now_ns // 1_000_000)}"
        self._on_position(ctx.position(self.symbol))
        self._ready = True
        return self._requote(ctx, True)

    @hookimpl
    def on_book(self, ctx: Context, book: BookSnapshot | BookDelta) -> list[Intent] | None:
        if not self._ready:
            return None
        return self._requote(ctx, False)

    @hookimpl
    def on_ticker(self, ctx: Context, ticker: Ticker) -> list[Intent] | None:
        if not self._ready:
            return None
        return self._requote(ctx, False)

    @hookimpl
    def on_timer(self, ctx: Context, timer: Timer) -> list[Intent] | None:
        if not self._ready:
            return None
        return self._requote(ctx, True)

    @hookimpl
    def on_order(self, ctx: Context, order: OrderUpdate) -> list[Intent] | None:
        cid = order.client_id
        q = self.bid if cid == self.bid.cid else self.ask if cid == self.ask.cid else None
        if q is None:
            return None  # an order this side has already let go of
        status = order.status
        if status in _PENDING:
            return None  # still ours to wait for
        was_busy = q.busy
        now = ctx.now_ns
        if status in _RESTING:
            q.busy = False
            q.ticks = int((order.price / self._tick).to_integral_value())
            q.filled = order.filled
            q.full = order.size - order.filled == self._size
            if order.code is not None:  # an edit or cancel was refused; the order stands
                q.hold_ns = self._hold(order.code, now, q.sent_ns)
        else:
            q.clear()
            if status is OrderStatus.REJECTED:
                q.hold_ns = self._hold(order.code, now, q.sent_ns)
            elif status is OrderStatus.FILLED:
                return None  # on_fill follows and re-quotes with the new inventory
        # Only an answer to our own request re-quotes here: an unsolicited update
        # (a partial fill) is followed by on_fill. The clock must have moved since the
        # request, so a venue that answers at once cannot drive a loop within one event.
        if was_busy and now > q.sent_ns and self._ready:
            return self._requote(ctx, False)
        return None

    @hookimpl
    def on_fill(self, ctx: Context, fill: Fill) -> list[Intent] | None:
        if not self._ready or fill.symbol != self.symbol:
            return None
        self._on_position(ctx.position(self.symbol))
        return self._requote(ctx, True)

    @hookimpl
    def on_stop(self, ctx: Context) -> list[Intent] | None:
        self._ready = False
        return [CancelAll(self.symbol)]

    # ----- quoting -----------------------------------------------------------------

    def _on_position(self, pos: Decimal) -> None:
        self.position = pos
        size = self._size
        cap = self._max_inv
        self.bid.on = pos + size <= cap
        self.ask.on = pos - size >= -cap
        ratio = float(pos / cap)
        # Beyond the cap (a position from before the start) the shift stays at its maximum.
        ratio = 1.0 if ratio > 1.0 else -1.0 if ratio < -1.0 else ratio
        self._skew_units = -self.p.skew * ratio

    def _fit_size(self, ctx: Context, price: float) -> None:
        """Raise the quote size to the smallest order the instrument accepts at ``price``
        (its minimum size and order value, with headroom), saying so once."""
        self._sized = True
        inst = self._inst
        if inst is None:
            return
        least = min_order_size(inst, price)
        if self._size >= least:
            return
        ctx.log.warning(
            "%s: size %s is below the smallest order %s accepts at %s (%s); quoting %s",
            ctx.name,
            self.p.size,
            inst.venue,
            price,
            _minimums(inst),
            least,
        )
        self._size = least
        if self.p.max_inventory is None:
            self._max_inv = least * DEFAULT_INVENTORY_SIZES
        elif self.p.max_inventory < least:
            ctx.log.warning(
                "%s: max_inventory %s is below one quote (%s): nothing will be quoted",
                ctx.name,
                self.p.max_inventory,
                least,
            )
        self._on_position(self.position)

    def _hold(self, code: str | None, now: int, sent_ns: int) -> int:
        if code == "post_only_would_cross":
            return sent_ns  # the book moved under the request: retry on the next event
        return now + self._retry_ns

    def _requote(self, ctx: Context, force: bool) -> list[Intent] | None:
        """The intents that bring both quotes to where they should be, or None."""
        book = self._book
        bb = book.best_bid
        ba = book.best_ask
        if bb is None or ba is None:
            return None
        if self._micro:
            bs = book.bids.get(bb)
            asz = book.asks.get(ba)
            ref = (bb * asz + ba * bs) / (bs + asz) if bs and asz else (bb + ba) * 0.5
        else:
            ref = (bb + ba) * 0.5
        if not self._sized:
            self._fit_size(ctx, ref)
        half = ref * self._half_frac if self._half_frac else self._half_abs
        centre = ref + self._skew_units * half
        inv = self._inv_tick
        bid_t = math.floor((centre - half) * inv + _EPS)
        top = math.ceil(ba * inv - _EPS) - 1  # the highest bid that does not touch the ask
        if bid_t > top:
            bid_t = top
        ask_t = math.ceil((centre + half) * inv - _EPS)
        bottom = math.floor(bb * inv + _EPS) + 1
        if ask_t < bottom:
            ask_t = bottom
        thr = self._thr
        if not thr:
            thr = self._thr = max(1, int(half * inv * AUTO_REQUOTE_SHARE))
        if force:
            thr = 1
        # _side's first two tests inlined: on most book events both sides are busy or
        # steady, and the two calls cost more than the rest of the re-quote.
        q = self.bid
        if q.busy or (q.cid is not None and q.full and q.on and -thr < bid_t - q.ticks < thr):
            a = None
        else:
            a = self._side(ctx, q, bid_t, thr, force)
        q = self.ask
        if q.busy or (q.cid is not None and q.full and q.on and -thr < ask_t - q.ticks < thr):
            b = None
        else:
            b = self._side(ctx, q, ask_t, thr, force)
        if a is None:
            return None if b is None else [b]
        return [a] if b is None else [a, b]

    def _side(self, ctx: Context, q: _Quote, want: int, thr: int, force: bool) -> Intent | None:
        if q.busy:
            return None
        cid = q.cid
        if cid is not None and q.full and q.on and -thr < want - q.ticks < thr:
            return None  # the steady state: nothing to do
        now = ctx.now_ns
        if cid is not None and not _still_open(ctx, cid):
            return None  # it closed, and the update saying so is on its way to on_order
        if not q.on:
            if cid is None:
                return None
            q.busy = True
            q.sent_ns = now
            return Cancel(cid)
        if now <= q.hold_ns or want <= 0:
            return None
        price = self._tick * want
        if not self._funded(ctx, q, price):
            return None
        if cid is None:
            self._seq += 1
            cid = q.cid = f"{self._prefix}-{q.tag}-{self._seq}"
            q.busy = True
            q.sent_ns = now
            q.ticks = want
            return Place(self.symbol, q.side, self._size, price, post_only=True, client_id=cid)
        if not force and now - q.sent_ns < self._min_gap_ns:
            return None
        q.busy = True
        q.sent_ns = now
        q.ticks = want
        return Edit(cid, price=price, size=q.filled + self._size)

    def _funded(self, ctx: Context, q: _Quote, price: Decimal) -> bool:
        """Whether the free balance pays for ``q``'s quote at ``price`` (its full size;
        for an edit, what the order locks now counts as free)."""
        inst = self._inst
        assert inst is not None
        lock = order_lock(inst, q.side, price, self._size)
        if lock is None:
            return True
        asset, need = lock
        free = ctx.free(asset)
        if q.cid is not None:
            order = ctx.order(q.cid)
            if order is not None and order.price is not None and order.is_open:
                held = order_lock(inst, q.side, order.price, order.remaining)
                if held is not None:
                    free += held[1]
        if need <= free:
            q.unfunded = False
            return True
        if not q.unfunded:
            q.unfunded = True
            ctx.log.info(
                "%s: %s %s %s needs %s %s, %s is free: waiting for funds",
                ctx.name,
                q.tag,
                self._size,
                self.symbol,
                need,
                asset,
                free,
            )
        return False


def _minimums(inst: Instrument) -> str:
    parts = [f"lot {inst.lot_size}"]
    if inst.min_size is not None:
        parts.append(f"min_size {inst.min_size}")
    if inst.min_notional is not None:
        parts.append(f"min_notional {inst.min_notional} {inst.value_asset}")
    return ", ".join(parts)


def _still_open(ctx: Context, cid: str) -> bool:
    order = ctx.order(cid)
    return order is not None and order.is_open


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    n = abs(n)
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out
