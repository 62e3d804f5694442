"""EMA cross: a trend follower that trades market orders on fast/slow EMA crosses."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from botkit import Context, OrderType, Place, Side, hookimpl
from botkit.events import Bar, Trade, TradeBatch, TradeColumns
from botkit.intents import At
from botkit.sizing import is_dust, min_order_size

log = logging.getLogger(__name__)


class EmaCrossParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str
    fast: int = Field(10, gt=0, description="fast EMA length, in prices")
    slow: int = Field(50, gt=1, description="slow EMA length, in prices")
    size: Decimal = Field(
        Decimal("0.01"),
        gt=0,
        description="order size in the base asset; raised to the instrument's minimum order",
    )
    source: Literal["trades", "bars"] = "trades"
    allow_short: bool = False

    @model_validator(mode="after")
    def _fast_below_slow(self) -> EmaCrossParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")
        return self


class EmaCross:
    """Trend following on an EMA cross: buy when fast crosses above slow, sell on the cross down.

    Each EMA starts at the first price and updates as ``v = a*x + (1-a)*v`` with
    ``a = 2/(n+1)``. No signal before ``slow`` prices; the ``slow``-th price only
    records which EMA is on top. On a cross up while flat it buys ``size`` at
    market; on a cross down while long it sells the position at market (with
    ``allow_short`` it goes short instead of flat, and back). It reads trade
    prices (``source: trades``) or bar closes (``source: bars``). A bar arrives
    when it closes, so on bars it decides on the close; its market order fills
    at the next bar's open or at that close (``sim.bar_fill``).

    Sizing: each entry is at least the smallest order the instrument accepts at
    the signal price (one lot, ``min_size``, ``min_notional`` plus 10% headroom,
    see ``botkit.sizing``); a raised size is logged once. Dust: a position too
    small to close in one order (a fee taken in the base asset, a price that fell
    below the minimum order value) is left alone, knowingly: it counts as flat,
    so the next cross up buys ``size`` on top of it and the cross down after that
    sells both together. It is logged once at info level.

    Params: ``symbol``, ``fast`` (10), ``slow`` (50), ``size`` (0.01),
    ``source`` (trades), ``allow_short`` (false).
    """

    Params = EmaCrossParams

    def __init__(self, params: dict[str, Any]) -> None:
        self.fast_v = 0.0
        self.slow_v = 0.0
        self.count = 0
        self.above: bool | None = None
        self.warming = True
        self._bars_ignored = 0
        self._raised = False  # the size raise was logged
        self._dust_told: Decimal | None = None  # the dust position last logged
        # on_trade_columns: the EMAs over the current columns from index _base on,
        # and the indices where they cross (see _prepare).
        self._cols: TradeColumns | None = None
        self._base = 0
        self._fast_a = np.empty(0)
        self._slow_a = np.empty(0)
        self._above_a = np.empty(0, dtype=bool)
        self._crosses = np.empty(0, dtype=np.int64)
        self._set(params)

    def _set(self, params: dict[str, Any]) -> None:
        p = EmaCrossParams.model_validate(params)
        self.p = p
        self.symbol = p.symbol
        self.a_fast = 2.0 / (p.fast + 1.0)
        self.a_slow = 2.0 / (p.slow + 1.0)
        self.b_fast = 1.0 - self.a_fast
        self.b_slow = 1.0 - self.a_slow
        self.slow_n = p.slow
        self.on_trades = p.source == "trades"
        self._cols = None  # EMAs cached by on_trade_columns were of the old lengths

    def update_params(self, params: dict[str, Any]) -> None:
        """New params while it runs (``botkit ctl ... set_param``).

        ``size`` and ``allow_short`` apply from the next signal. New ``fast`` or
        ``slow`` lengths carry on from the current EMA values with the new
        smoothing (no new warm-up; a longer ``slow`` only delays the first signal
        of a run still warming up). ``source`` switches what feeds the EMAs.
        """
        self._set(params)

    def _update(self, ctx: Context, x: float) -> list[Place] | None:
        if self.count == 0:
            self.fast_v = x
            self.slow_v = x
        self.fast_v = self.a_fast * x + self.b_fast * self.fast_v
        self.slow_v = self.a_slow * x + self.b_slow * self.slow_v
        self.count += 1
        if self.count < self.slow_n:
            return None
        self.warming = False
        above = self.fast_v > self.slow_v
        if self.above is None or above == self.above:
            self.above = above
            return None
        self.above = above
        return self._on_cross(ctx, above, x)

    def _size(self, ctx: Context, price: float) -> Decimal:
        size = self.p.size
        least = min_order_size(ctx.instrument(self.symbol), price)
        if size >= least:
            return size
        if not self._raised:
            self._raised = True
            ctx.log.warning(
                "size %s is below the smallest order accepted at %s; trading %s",
                size,
                price,
                least,
            )
        return least

    def _on_cross(self, ctx: Context, up: bool, price: float) -> list[Place] | None:
        sym = self.symbol
        if ctx.open_orders(sym):
            return None  # the last signal's order is still on its way
        pos = ctx.position(sym)
        if pos and is_dust(ctx.instrument(sym), pos, price):
            if self._dust_told != pos:
                self._dust_told = pos
                ctx.log.info(
                    "position %s %s is below the smallest order: left as it is, traded as flat",
                    pos,
                    sym,
                )
            pos = Decimal(0)
        if up:
            if pos < 0:
                return [Place(sym, Side.BUY, -pos + self._size(ctx, price), type=OrderType.MARKET)]
            if pos == 0:
                return [Place(sym, Side.BUY, self._size(ctx, price), type=OrderType.MARKET)]
        elif pos > 0:
            target = pos + self._size(ctx, price) if self.p.allow_short else pos
            return [Place(sym, Side.SELL, target, type=OrderType.MARKET)]
        elif pos == 0 and self.p.allow_short:
            return [Place(sym, Side.SELL, self._size(ctx, price), type=OrderType.MARKET)]
        return None

    # The engine sends a strategy only its own symbol's events (params.symbol).
    @hookimpl
    def on_trade(self, ctx: Context, trade: Trade) -> list[Place] | None:
        if self.warming or not self.on_trades:
            return self._update(ctx, trade.price) if self.on_trades else None
        # The steady state, inlined: this runs once per trade, millions of times
        # (docs/strategies.md, section 6). b = 1 - a is computed once, and scan_trades
        # uses the same b, so both paths compute the same floats.
        x = trade.price
        fast = self.fast_v = self.a_fast * x + self.b_fast * self.fast_v
        slow = self.slow_v = self.a_slow * x + self.b_slow * self.slow_v
        above = fast > slow
        if above is self.above:
            return None
        self.above = above
        return self._on_cross(ctx, above, x)

    @hookimpl
    def scan_trades(self, ctx: Context, batch: TradeBatch, start: int, stop: int) -> int:
        """The backtest's fast path: the same arithmetic as on_trade, stopping before a cross."""
        if self.warming or not self.on_trades:
            return start  # warm-up (and bar mode) go through on_trade
        prices = batch.price
        af, bf, as_, bs = self.a_fast, self.b_fast, self.a_slow, self.b_slow
        fast, slow, above = self.fast_v, self.slow_v, self.above
        for i in range(start, stop):
            x = prices[i]
            f = af * x + bf * fast
            s = as_ * x + bs * slow
            if (f > s) is not above:
                # A cross: on_trade takes this trade, from the state before it.
                self.fast_v, self.slow_v = fast, slow
                return i
            fast, slow = f, s
        self.fast_v, self.slow_v = fast, slow
        return stop

    @hookimpl
    def on_trade_columns(self, ctx: Context, cols: TradeColumns, start: int, stop: int) -> int | At:
        """The backtest's columnar path: both EMAs over the batch at once, acting at crosses.

        ``lfilter`` runs the recursion ``v = a*x + b*v`` in C, one multiply-add
        per price in the same order as on_trade, so the floats are the same bit
        for bit. The EMAs are computed once per batch and reused by later calls
        while the state still matches them (on_trade may have taken a trade in
        between: it lands on the same values).
        """
        if self.warming or not self.on_trades:
            return start  # warm-up (and bar mode) go through on_trade
        if not self._continues(cols, start):
            self._prepare(cols, start)
        base, crosses = self._base, self._crosses
        j = int(crosses.searchsorted(start))
        price = cols.price
        while j < len(crosses):
            k = int(crosses[j])
            if k >= stop:
                break
            self._take(k - base)
            out = self._on_cross(ctx, self.above, float(price[k]))  # type: ignore[arg-type]
            if out:
                return At(k, out)
            j += 1
        self._take(stop - 1 - base)
        return stop

    def _continues(self, cols: TradeColumns, start: int) -> bool:
        """Whether the state is that of the cached EMAs just before ``start``."""
        r = start - 1 - self._base
        return (
            cols is self._cols
            and 0 <= r < len(self._fast_a)
            and self.fast_v == self._fast_a[r]
            and self.slow_v == self._slow_a[r]
            and self.above == self._above_a[r]
        )

    def _prepare(self, cols: TradeColumns, start: int) -> None:
        # Imported here: scipy.signal takes most of a second to import, which only
        # a backtest on this path should pay, once.
        from scipy.signal import lfilter

        x = cols.price[start:]
        fast, _ = lfilter([self.a_fast], [1.0, -self.b_fast], x, zi=[self.b_fast * self.fast_v])
        slow, _ = lfilter([self.a_slow], [1.0, -self.b_slow], x, zi=[self.b_slow * self.slow_v])
        above = fast > slow
        before = np.empty_like(above)
        before[0] = self.above
        before[1:] = above[:-1]
        self._cols, self._base = cols, start
        self._fast_a, self._slow_a, self._above_a = fast, slow, above
        self._crosses = np.flatnonzero(above != before) + start

    def _take(self, r: int) -> None:
        """The state after the cached row r."""
        if r >= 0:
            self.fast_v = float(self._fast_a[r])
            self.slow_v = float(self._slow_a[r])
            self.above = bool(self._above_a[r])

    @hookimpl
    def on_stop(self, ctx: Context) -> None:
        if self.on_trades and self.count == 0 and self._bars_ignored:
            # Bars and no trade at all: a bars-only catalog, where reading trades
            # left this strategy silent for the whole run.
            log.warning(
                "ema_cross on %s read trades (source: trades) but got only bars (%d); "
                "set source: bars to trade on bar closes",
                self.symbol,
                self._bars_ignored,
            )

    @hookimpl
    def on_bar(self, ctx: Context, bar: Bar) -> list[Place] | None:
        if self.on_trades:
            self._bars_ignored += 1
            return None
        return self._update(ctx, bar.close)
