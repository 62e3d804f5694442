"""Grid: a ladder of limit buys under the price, each one sold one spacing higher when it fills.

A level cycles through three states: *armed* (its buy rests on the book),
*holding* (the buy filled; a reduce-only sell, the exit, rests one spacing
above it) and back to *armed* once the exit has filled. Fills drive every
transition (``on_fill``); order updates (``on_order``) only notice orders that
ended without filling, which are retried after ``retry_ms`` on the next trade
(or, on a symbol with only bars, the next bar).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from botkit import CancelAll, Context, Place, Side, hookimpl
from botkit.events import Bar, OrderUpdate, Trade
from botkit.intents import Intent
from botkit.model import Fill, Instrument, OrderStatus
from botkit.sizing import is_dust, min_order_size, order_lock

DEFAULT_SPACING_PCT = Decimal("0.1")
_NEVER = 1 << 62
# What an order is to its level.
_BUY = 0
_EXIT = 1
_LAPSED = 2  # an exit that ended unfilled; it may still see a late fill

PositivePrice = Annotated[Decimal, Field(gt=0)]


class GridOrder(BaseModel):
    """One explicit level: a buy price and its own size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    price: Decimal = Field(gt=0)
    size: Decimal = Field(gt=0)


class GridParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str
    size: Decimal = Field(Decimal("0.001"), gt=0, description="buy size per level, base asset")
    spacing_pct: Decimal | None = Field(
        None, gt=0, lt=100, description="distance between levels, % of the starting price"
    )
    spacing: Decimal | None = Field(
        None, gt=0, description="distance between levels, in the quote currency"
    )
    levels: list[PositivePrice] | None = Field(
        None, min_length=1, description="explicit buy prices (instead of count)"
    )
    orders: list[GridOrder] | None = Field(
        None, min_length=1, description="explicit buy prices with their own sizes"
    )
    count: int = Field(5, ge=1, le=1000, description="levels below the starting price")
    lower: Decimal | None = Field(None, gt=0, description="no buy levels below this price")
    upper: Decimal | None = Field(None, gt=0, description="no buy levels above this price")
    retry_ms: float = Field(1000.0, ge=0, description="wait before re-placing a refused order")
    cancel_on_stop: bool = Field(True, description="cancel the grid's orders when the run ends")

    @field_validator("spacing")
    @classmethod
    def _one_spacing(cls, v: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if v is not None and info.data.get("spacing_pct") is not None:
            raise ValueError("give spacing_pct or spacing, not both")
        return v

    @field_validator("levels")
    @classmethod
    def _distinct_levels(cls, v: list[Decimal] | None) -> list[Decimal] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError("levels must be distinct prices")
        return v

    @field_validator("orders")
    @classmethod
    def _one_list(cls, v: list[GridOrder] | None, info: ValidationInfo) -> list[GridOrder] | None:
        if v is None:
            return v
        if info.data.get("levels") is not None:
            raise ValueError("give levels or orders, not both")
        if len({o.price for o in v}) != len(v):
            raise ValueError("orders must have distinct prices")
        return v

    @field_validator("count")
    @classmethod
    def _count_or_list(cls, v: int, info: ValidationInfo) -> int:
        # Only runs when count is given: the default stands aside for an explicit list.
        if info.data.get("levels") is not None or info.data.get("orders") is not None:
            raise ValueError("count does not apply when levels or orders are given")
        return v

    @field_validator("upper")
    @classmethod
    def _bounds_in_order(cls, v: Decimal | None, info: ValidationInfo) -> Decimal | None:
        lower = info.data.get("lower")
        if v is not None and lower is not None and v <= lower:
            raise ValueError(f"upper ({v}) must be above lower ({lower})")
        return v


class _Level:
    """One rung of the ladder and the position it holds."""

    __slots__ = ("buy_id", "exit_price", "exits", "index", "price", "size", "unplaced")

    def __init__(self, index: int, price: Decimal, exit_price: Decimal, size: Decimal) -> None:
        self.index = index
        self.price = price
        self.exit_price = exit_price
        self.size = size
        self.buy_id: str | None = None  # the resting buy, if any
        self.unplaced = Decimal(0)  # bought and not yet covered by an exit order
        self.exits: set[str] = set()  # open exit orders

    @property
    def idle(self) -> bool:
        return self.buy_id is None and not self.unplaced and not self.exits


class Grid:
    """A buy ladder below the price; each filled buy gets a reduce-only exit one spacing up.

    The ladder starts at the first price seen (the last trade at start, else the
    first trade, or on a symbol with only bars the first bar's close): ``count``
    buys at ``start - k * step`` for k = 1..count, where the step is ``spacing``
    (quote currency) or ``spacing_pct`` percent of the starting price, rounded
    down to the tick (at least one tick) once, at start.
    ``levels`` (prices, each of ``size``) or ``orders`` (``{price, size}``
    items) give the buys explicitly instead; explicit prices at or above the
    starting price are skipped. Levels outside ``lower``..``upper`` are left out.

    When a buy fills (in part or in full), a reduce-only limit sell of the filled
    size is placed at the buy price plus one step; a partial fill waits until the
    part is large enough for the instrument's minimum size and order value.
    When every exit of a level has filled and its buy is done, the buy is placed
    again: the level is re-armed. An order that ends without filling (rejected,
    cancelled, expired) is placed again on the first trade ``retry_ms`` later.
    Bars stand for trades until the first trade is seen: on bar data (hourly
    candles, say) the ladder starts at a close and retries on later bars, and the
    simulated venue fills the limits when a bar's range reaches them.
    The grid's orders are cancelled on stop unless ``cancel_on_stop`` is false.

    Funds: on a spot instrument a buy is placed only when the free quote balance
    covers it (``botkit.sizing.order_lock``), nearest the price first; the levels
    it does not cover wait, unsent, and are looked at again ``retry_ms`` later (on
    the next trade or bar after it). An account too small for the whole ladder
    trades the part it can pay for, instead of having the rest refused
    ``insufficient_balance`` on every retry. It is logged once at warning level;
    ``unfunded`` counts the levels waiting.

    Sizing: a level's size below the smallest order the instrument accepts at
    that level's price (one lot, ``min_size``, ``min_notional``) is raised to
    it, with one warning for the ladder. Dust: what a level holds that is too
    small to sell in one order once its buy is done (a partial fill, the rest of
    a partly filled exit) is left in the position, knowingly: logged at info
    level, counted in ``dust``, and the level is re-armed.

    Params: ``symbol``; ``size`` (0.001); ``spacing_pct`` (0.1) or ``spacing``;
    ``count`` (5), or ``levels`` / ``orders``; ``lower``, ``upper`` (none);
    ``retry_ms`` (1000); ``cancel_on_stop`` (true).
    """

    Params = GridParams

    def __init__(self, params: dict[str, Any]) -> None:
        p = GridParams.model_validate(params)
        self.p = p
        self.symbol = p.symbol
        self.levels: list[_Level] = []
        self.started = False
        self.stopped = False
        self._by_cid: dict[str, tuple[_Level, int]] = {}  # client id -> (level, kind)
        self._retry_at = 0  # the first trade starts the ladder
        self._saw_trade = False  # once a trade is seen, bars no longer drive the grid
        self._retry_ns = int(p.retry_ms * 1_000_000)
        self._seq = 0
        self._prefix = ""
        self._inst: Instrument | None = None
        self.dust = Decimal(0)  # bought and left unsold: too small for one order
        self.unfunded = 0  # levels waiting for the free balance to cover their buy
        self._told_unfunded = False

    # Params that lay the ladder out at start: changing them after would orphan orders.
    _LAYOUT = ("spacing_pct", "spacing", "levels", "orders", "count", "lower", "upper")

    def update_params(self, params: dict[str, Any]) -> None:
        """New params while it runs (``botkit ctl ... set_param``).

        Before the ladder is laid out (no price yet) any param may change. After,
        ``retry_ms`` and ``cancel_on_stop`` apply at once, and ``size`` to every
        buy placed from then on (a level's ``orders`` size stays its own); a
        change of the ladder's layout is refused: change bot.yaml and restart.
        """
        p = GridParams.model_validate(params)
        if self.started:
            moved = [k for k in self._LAYOUT if getattr(p, k) != getattr(self.p, k)]
            if moved:
                raise ValueError(
                    f"{', '.join(moved)} laid the ladder out at start and cannot change "
                    "while it runs; change bot.yaml and restart"
                )
            inst = self._inst
            if p.size != self.p.size and p.orders is None and inst is not None:
                for level in self.levels:  # on the lot, and at least the least order there
                    least = min_order_size(inst, level.price, headroom=Decimal(0))
                    level.size = max(inst.size_down(p.size), least)
        self.p = p
        self._retry_ns = int(p.retry_ms * 1_000_000)

    # ----- hooks -------------------------------------------------------------------

    @hookimpl
    def on_start(self, ctx: Context) -> list[Intent] | None:
        self._inst = ctx.instrument(self.symbol)
        # A run tag keeps client ids unique across restarts (see market_maker).
        self._prefix = f"{ctx.name}-{_base36(ctx.now_ns // 1_000_000)}"
        last = ctx.book(self.symbol).last_price
        return None if last is None else self._start(ctx, last)

    @hookimpl
    def on_trade(self, ctx: Context, trade: Trade) -> list[Intent] | None:
        self._saw_trade = True
        if trade.ts_ns < self._retry_at:
            return None  # the steady state: fills come through on_fill
        if not self.started:
            return self._start(ctx, trade.price)
        return self._retry(ctx)

    @hookimpl
    def on_bar(self, ctx: Context, bar: Bar) -> list[Intent] | None:
        # Only where there are no trades (a catalog of candles): a bar then is the
        # market's latest price, as the simulated venue fills on bars only there too.
        if self._saw_trade or bar.ts_ns < self._retry_at:
            return None
        if not self.started:
            return self._start(ctx, bar.close)
        return self._retry(ctx)

    @hookimpl
    def on_order(self, ctx: Context, order: OrderUpdate) -> list[Intent] | None:
        # Fills are on_fill's business; this only notices orders that ended without one.
        status = order.status
        if not status.is_closed or status is OrderStatus.FILLED or self.stopped:
            return None
        cid = order.client_id
        entry = self._by_cid.get(cid)
        if entry is None:
            return None
        level, kind = entry
        if kind == _BUY:
            if level.buy_id == cid:
                level.buy_id = None
        elif kind == _EXIT:
            level.exits.discard(cid)
            level.unplaced += order.size - order.filled  # still held: sell it again later
            self._by_cid[cid] = (level, _LAPSED)
        if status is OrderStatus.REJECTED:
            del self._by_cid[cid]  # it never reached the venue: no late fill can come
        self._retry_at = min(self._retry_at, ctx.now_ns + self._retry_ns)
        return None

    @hookimpl
    def on_fill(self, ctx: Context, fill: Fill) -> list[Intent] | None:
        cid = fill.client_id
        entry = self._by_cid.get(cid)
        if entry is None or self.stopped:
            return None
        level, kind = entry
        order = ctx.order(cid)
        done = order is None or not order.is_open
        if done:
            del self._by_cid[cid]
        if kind == _BUY:
            level.unplaced += fill.size
            if done and level.buy_id == cid:
                level.buy_id = None
            exit_ = self._exit(ctx, level, final=level.buy_id is None)
            if exit_ is not None:
                return [exit_]
            return self._arm_funded(ctx, [level]) if level.idle else None
        if kind == _EXIT:
            if done:
                level.exits.discard(cid)
        else:
            # A late fill of an exit given up on: that much no longer needs selling.
            level.unplaced -= min(level.unplaced, fill.size)
        return self._arm_funded(ctx, [level]) if level.idle else None

    @hookimpl
    def on_stop(self, ctx: Context) -> list[Intent] | None:
        self.stopped = True  # what the cancels below bring back must not re-arm anything
        self._retry_at = _NEVER
        if self.p.cancel_on_stop and self.started:
            return [CancelAll(self.symbol)]
        return None

    # ----- the ladder --------------------------------------------------------------

    def _start(self, ctx: Context, last: float) -> list[Intent] | None:
        inst = self._inst
        assert inst is not None, "on_start sets the instrument"
        p = self.p
        self.started = True
        self._retry_at = _NEVER
        ref = Decimal(repr(last))
        top = inst.price_down(ref)
        if p.spacing is not None:
            raw_step = p.spacing
        else:
            raw_step = ref * (p.spacing_pct or DEFAULT_SPACING_PCT) / 100
        step = max(inst.price_down(raw_step), inst.tick_size)
        if p.orders is not None:
            wanted = [(o.price, o.size) for o in p.orders]
        elif p.levels is not None:
            wanted = [(price, p.size) for price in p.levels]
        else:
            wanted = [(top - k * step, p.size) for k in range(1, p.count + 1)]
        raised: list[str] = []
        for price, size in wanted:
            buy = inst.price_down(price)
            if buy >= ref or buy <= 0:
                ctx.log.warning(
                    "grid level %s is not below the start price %s: skipped", price, ref
                )
                continue
            if (p.lower is not None and buy < p.lower) or (p.upper is not None and buy > p.upper):
                continue
            # A limit buy is valued at its own price: no headroom needed.
            least = min_order_size(inst, buy, headroom=Decimal(0))
            lot = inst.size_down(size)
            if lot < least:
                raised.append(f"{size} at {buy} -> {least}")
                lot = least
            self.levels.append(_Level(len(self.levels), buy, buy + step, lot))
        if raised:
            ctx.log.warning(
                "grid level sizes below the smallest order the instrument accepts, raised: %s",
                "; ".join(raised),
            )
        if not self.levels:
            ctx.log.warning("grid on %s has no level to place around %s", self.symbol, ref)
            return None
        return self._arm_funded(ctx, self.levels) or None

    def _next_id(self, level: _Level, kind: str) -> str:
        self._seq += 1
        return f"{self._prefix}-L{level.index}{kind}{self._seq}"

    def _arm_funded(self, ctx: Context, levels: list[_Level]) -> list[Intent]:
        """Buys for the idle ``levels``, in ladder order, as far as the free balance pays
        for them (spot); the rest wait for a retry."""
        inst = self._inst
        assert inst is not None
        out: list[Intent] = []
        budget: dict[str, Decimal] = {}
        waiting = 0
        for level in levels:
            lock = order_lock(inst, Side.BUY, level.price, level.size)
            if lock is not None:
                asset, need = lock
                free = budget[asset] if asset in budget else ctx.free(asset)
                if need > free:
                    waiting += 1
                    continue
                budget[asset] = free - need
            out.append(self._arm(level))
        # Every idle level is one waiting for funds now (the others have been armed).
        self.unfunded = sum(1 for level in self.levels if level.idle)
        if waiting:
            self._retry_at = min(self._retry_at, ctx.now_ns + self._retry_ns)
            if not self._told_unfunded:
                self._told_unfunded = True
                ctx.log.warning(
                    "grid on %s: the free %s does not cover %d level(s); they wait for funds "
                    "and are tried again every %s ms",
                    self.symbol,
                    inst.quote,
                    waiting,
                    self.p.retry_ms,
                )
        return out

    def _arm(self, level: _Level) -> Place:
        cid = level.buy_id = self._next_id(level, "b")
        self._by_cid[cid] = (level, _BUY)
        return Place(self.symbol, Side.BUY, level.size, level.price, client_id=cid)

    def _exit(self, ctx: Context, level: _Level, final: bool) -> Place | None:
        """A reduce-only sell for what the level holds uncovered, once it is worth sending."""
        size = level.unplaced
        if not size:
            return None
        inst = self._inst
        assert inst is not None
        if is_dust(inst, size, level.exit_price):
            if not final:
                return None  # a sliver of a partial fill: wait for more of the buy to fill
            # No more will come: selling it would be rejected again on every retry.
            level.unplaced = Decimal(0)
            self.dust += size
            ctx.log.info(
                "grid level %s: %s %s is below the smallest order; left in the position "
                "(dust so far %s)",
                level.price,
                size,
                self.symbol,
                self.dust,
            )
            return None
        level.unplaced = Decimal(0)
        cid = self._next_id(level, "x")
        level.exits.add(cid)
        self._by_cid[cid] = (level, _EXIT)
        return Place(
            self.symbol, Side.SELL, size, level.exit_price, reduce_only=True, client_id=cid
        )

    def _retry(self, ctx: Context) -> list[Intent] | None:
        self._retry_at = _NEVER
        out: list[Intent] = []
        for level in self.levels:
            if level.unplaced:
                exit_ = self._exit(ctx, level, final=level.buy_id is None)
                if exit_ is not None:
                    out.append(exit_)
        out += self._arm_funded(ctx, [level for level in self.levels if level.idle])
        return out or None


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    n = abs(n)
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out
