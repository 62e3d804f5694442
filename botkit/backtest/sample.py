"""A seeded, byte-reproducible synthetic BTC/USDT market for backtests and tests.

The model (prices in integer ticks of 0.01, sizes in integer lots of 0.00001):

- **Fair value** ``F`` moves every ~100 ms. Its velocity is an Ornstein–Uhlenbeck
  process (moves persist for about a minute, as order flow does; roughly $45 a
  minute, 1 sd). On top of that the market goes through *regimes* lasting
  minutes: trends up or down (a drift of 0.8–2.5 % an hour), mean-reverting
  stretches (a pull back to where the stretch began, with faster swings) and
  calm spells; after a trend it more often pauses or turns than carries on.
  Rare jumps (a few an hour, 0.04–0.15 %) come with a burst of taker
  activity, and a pull towards the opening price (half-life 30 min) keeps the
  session range-bound overall.
- **Liquidity providers** re-quote every ~100 ms: levels on the wrong side of
  ``F`` are cancelled, the touch is placed around ``F`` with a spread of mostly
  1–3 ticks, the gap a moving touch leaves behind is filled with new levels,
  each side is kept 25–40 levels deep (gaps widen away from the touch), and a
  few random adds, resizes and cancels make the depth churn. Resting sizes are
  heavy-tailed and mostly round amounts; the touch holds the largest.
- **Takers** arrive as a Poisson process (3–5 a second, with clustered
  activity). A taker buys with a probability that rises with ``F`` above the
  mid, so trades push the price where fair value goes. A buy walks the asks
  from the best one, printing one trade per level it touches (ids are
  consecutive), and reduces or removes those levels. Taker sizes are
  heavy-tailed: a lognormal body and a Pareto tail. About one taker in 170 is
  a *sweep*: it takes every level up to a limit $0.50–4 past the touch, and
  fair value moves to where it stopped, so the book re-forms there.

Every book change is a delta at the time it happens: the liquidity update at
its ~100 ms tick, a trade's effect at the trade's own ts_ns (so at that instant
the catalog holds the trade and the delta showing the book *after* it).
Snapshots are taken at the start and every 5 minutes, showing the book as it
stood just before that instant. ``bars_1m`` are aggregated from the trades.

The same seed gives the same bytes (with the same numpy and pyarrow versions).
"""

from __future__ import annotations

import math
import shutil
from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from botkit.backtest.catalog import (
    ASK,
    BID,
    BOOK_DELTAS,
    BOOK_SNAPSHOTS,
    SIDE_BUY,
    SIDE_SELL,
    TRADES,
    Catalog,
    symbol_dir,
    to_ns,
)

SEC = 1_000_000_000
MIN = 60 * SEC

TICKS_PER_UNIT = 100  # the tick is 0.01
LOTS_PER_UNIT = 100_000  # the lot is 0.00001

INSTRUMENT: dict[str, str] = {
    "base": "BTC",
    "quote": "USDT",
    "kind": "spot",
    "tick_size": "0.01",
    "lot_size": "0.00001",
    "min_size": "0.00001",
    "min_notional": "5",
    "maker_fee": "0.0002",
    "taker_fee": "0.0005",
}


@dataclass(frozen=True, slots=True)
class SampleSpec:
    """What to generate. The market's constants are in :class:`MarketModel`."""

    seed: int = 7
    hours: float = 4.0
    start: str = "2024-03-04T00:00:00+00:00"
    venue: str = "sim"
    symbol: str = "BTC/USDT"


@dataclass(frozen=True, slots=True)
class MarketModel:
    """The generator's constants (prices in ticks, sizes in BTC, times in seconds)."""

    start_price_ticks: int = 6_300_000  # 63,000.00
    step_s: float = 0.1  # the liquidity update period
    step_jitter_s: float = 0.02
    # Fair value velocity (ticks/s) is an OU process: moves persist for about a
    # minute instead of jittering every step, which would also churn the book for
    # nothing (every tick the touch moves costs delta rows).
    velocity_tau_s: float = 90.0
    velocity_ticks: float = 45.0  # its stationary sd, in trends
    revert_velocity_ticks: float = 70.0
    calm_velocity_ticks: float = 30.0
    micro_ticks: float = 4.0  # per-step noise
    regime_mean_s: float = 600.0
    regime_min_s: float = 120.0
    trend_pct_per_hour: tuple[float, float] = (0.8, 2.5)
    revert_half_life_s: tuple[float, float] = (120.0, 480.0)
    home_half_life_s: float = 1800.0
    jumps_per_hour: float = 3.0
    jump_pct: tuple[float, float] = (0.04, 0.15)
    jump_activity: float = 1.5  # added to log activity
    trade_rate_per_s: float = 3.0
    activity_sigma: float = 0.6  # stationary sd of log activity
    activity_half_life_s: float = 120.0
    taker_scale_ticks: float = 15.0  # logistic scale of P(buy) in F - mid
    taker_max_levels: int = 6
    sweep_share: float = 0.006  # of takers: about one sweep every 40 s
    sweep_reach_ticks: tuple[float, float] = (50.0, 400.0)  # from the touch
    sweep_impact: float = 1.0  # share of a sweep's move that fair value keeps
    taker_median_btc: float = 0.0015
    taker_tail_p: float = 0.2
    taker_tail_btc: float = 0.01
    taker_tail_alpha: float = 1.3
    taker_max_btc: float = 4.0
    touch_median_btc: float = 0.25
    level_median_btc: float = 0.03
    level_max_btc: float = 8.0
    spread_probs: tuple[float, ...] = (0.0, 0.55, 0.25, 0.12, 0.04, 0.02, 0.02)  # 0, 1, 2.. ticks
    spread_redraw_p: float = 0.15
    min_depth: int = 25
    max_depth: int = 40
    near_gap_ticks: float = 14.0
    far_gap_ticks: float = 45.0
    churn_per_step: float = 1.2
    snapshot_every_s: float = 300.0


@dataclass
class SampleSummary:
    """What :func:`write_sample` produced."""

    rows: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    price_min: float = 0.0
    price_max: float = 0.0
    first_price: float = 0.0
    last_price: float = 0.0
    start_ns: int = 0
    end_ns: int = 0
    bytes: int = 0
    paths: list[Path] = field(default_factory=list)


class _Draws:
    """Random numbers drawn from numpy in blocks: one generator call per 64k draws
    instead of one per draw keeps the generator fast and fully seed-determined."""

    BLOCK = 1 << 16

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._u: list[float] = []
        self._n: list[float] = []
        self._iu = 0
        self._in = 0

    def u(self) -> float:
        """Uniform in [0, 1)."""
        if self._iu >= len(self._u):
            self._u = self.rng.random(self.BLOCK).tolist()
            self._iu = 0
        self._iu += 1
        return self._u[self._iu - 1]

    def n(self) -> float:
        """Standard normal."""
        if self._in >= len(self._n):
            self._n = self.rng.standard_normal(self.BLOCK).tolist()
            self._in = 0
        self._in += 1
        return self._n[self._in - 1]

    def geometric(self, mean: float) -> int:
        """1, 2, 3, ... with the given mean (inverse transform)."""
        if mean <= 1.0:
            return 1
        return 1 + int(math.log(1.0 - self.u()) / math.log(1.0 - 1.0 / mean))

    def poisson(self, lam: float) -> int:
        if lam > 30.0:
            return int(self.rng.poisson(lam))
        # Knuth's method: fine for the small rates used here.
        limit, k, p = math.exp(-lam), 0, self.u()
        while p > limit:
            k += 1
            p *= self.u()
        return k

    def pick(self, cumulative: list[float]) -> int:
        return bisect_right(cumulative, self.u() * cumulative[-1])


class _Rows:
    """Column buffers as Python lists of ints; they become numpy arrays at the end."""

    def __init__(self, *names: str) -> None:
        self.cols: dict[str, list[int]] = {n: [] for n in names}


class _Book:
    """Price (ticks) -> size (lots) per side, prices kept sorted ascending, with the
    net change since the last delta."""

    def __init__(self) -> None:
        self.size: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.prices: tuple[list[int], list[int]] = ([], [])
        # price -> size before the first change since the last delta (0 = absent)
        self.before: tuple[dict[int, int], dict[int, int]] = ({}, {})

    def best(self, side: int) -> int:
        px = self.prices[side]
        return px[-1] if side == BID else px[0]

    def set(self, side: int, price: int, lots: int) -> None:
        sizes = self.size[side]
        old = sizes.get(price, 0)
        if old == lots:
            return
        self.before[side].setdefault(price, old)
        if lots <= 0:
            del sizes[price]
            px = self.prices[side]
            del px[bisect_left(px, price)]
        else:
            if not old:
                insort(self.prices[side], price)
            sizes[price] = lots

    def take_changes(self, side: int) -> list[tuple[int, int]]:
        """(price, new lots) that changed since the last call, best first."""
        before = self.before[side]
        sizes = self.size[side]
        out = [(p, sizes.get(p, 0)) for p, old in before.items() if sizes.get(p, 0) != old]
        before.clear()
        out.sort(reverse=side == BID)
        return out


def _round_lots(btc: float, cap_btc: float) -> int:
    """Resting orders are mostly round amounts: two significant digits."""
    x = max(1, int(min(btc, cap_btc) * LOTS_PER_UNIT))
    if x < 100:
        return x
    q = 10 ** (len(str(x)) - 2)
    return (x + q // 2) // q * q


class _FairValue:
    """The fair price in ticks: regimes, a persistent velocity, jumps, a pull home."""

    UP, DOWN, REVERT, CALM = 1, -1, 2, 0

    def __init__(self, model: MarketModel, draws: _Draws, price: float) -> None:
        self.m = model
        self.d = draws
        self.price = price
        self.home = price
        self.velocity = 0.0
        self.regime = self.CALM
        self.regime_end = -1
        self.drift = 0.0
        self.kappa = 0.0
        self.anchor = price
        self.vel_sd = model.velocity_ticks
        self.jumped = False

    def next_regime(self) -> int:
        # After a trend the market more often pauses or turns than carries on.
        if self.regime in (self.UP, self.DOWN):
            choices = (self.REVERT, self.CALM, -self.regime, self.regime)
            cumulative = [0.35, 0.5, 0.85, 1.0]
        else:
            choices = (self.UP, self.DOWN, self.REVERT, self.CALM)
            cumulative = [0.35, 0.7, 0.9, 1.0]
        return choices[self.d.pick(cumulative)]

    def start_regime(self, t_ns: int) -> None:
        m, d = self.m, self.d
        self.regime = self.next_regime()
        length = m.regime_min_s - (m.regime_mean_s - m.regime_min_s) * math.log(1.0 - d.u())
        self.regime_end = t_ns + int(length * SEC)
        self.anchor = self.price
        self.drift, self.kappa, self.vel_sd = 0.0, 0.0, m.velocity_ticks
        if self.regime in (self.UP, self.DOWN):
            lo, hi = m.trend_pct_per_hour
            pct = lo + (hi - lo) * d.u()
            self.drift = self.regime * pct * m.start_price_ticks / 100.0 / 3600.0
        elif self.regime == self.REVERT:
            lo, hi = m.revert_half_life_s
            self.kappa = math.log(2) / (lo + (hi - lo) * d.u())
            self.vel_sd = m.revert_velocity_ticks
        else:
            self.vel_sd = m.calm_velocity_ticks

    def advance(self, t_ns: int, dt: float) -> float:
        m, d = self.m, self.d
        if t_ns >= self.regime_end:
            self.start_regime(t_ns)
        a = math.exp(-dt / m.velocity_tau_s)
        self.velocity = a * self.velocity + self.vel_sd * math.sqrt(1.0 - a * a) * d.n()
        home_k = math.log(2) / m.home_half_life_s
        p = self.price
        p += (self.velocity + self.drift) * dt
        p += (self.kappa * (self.anchor - p) + home_k * (self.home - p)) * dt
        p += m.micro_ticks * d.n()
        self.jumped = d.u() < m.jumps_per_hour * dt / 3600.0
        if self.jumped:
            lo, hi = m.jump_pct
            pct = lo + (hi - lo) * d.u()
            with_trend = self.regime in (self.UP, self.DOWN) and d.u() < 0.7
            sign = self.regime if with_trend else (1 if d.u() < 0.5 else -1)
            p += sign * pct * m.start_price_ticks / 100.0
        self.price = p
        return p


class _Generator:
    def __init__(self, spec: SampleSpec, model: MarketModel) -> None:
        self.spec = spec
        self.m = model
        self.d = _Draws(np.random.default_rng(spec.seed))
        self.book = _Book()
        self.trades = _Rows("ts_ns", "price", "size", "side", "trade_id")
        self.deltas = _Rows("ts_ns", "side", "price", "size")
        self.snaps = _Rows("ts_ns", "side", "level", "price", "size")
        self.next_trade_id = 1
        self.spread = 1
        self.fv = _FairValue(model, self.d, float(model.start_price_ticks))
        cum = np.cumsum(model.spread_probs).tolist()
        self.spread_cum: list[float] = cum

    # ---- sizes ------------------------------------------------------------------

    def level_lots(self, touch: bool) -> int:
        # The touch is where the market makers sit: larger orders.
        m = self.m
        if touch:
            return _round_lots(m.touch_median_btc * math.exp(self.d.n()), m.level_max_btc)
        return _round_lots(m.level_median_btc * math.exp(1.4 * self.d.n()), m.level_max_btc)

    def taker_lots(self) -> int:
        m, d = self.m, self.d
        if d.u() >= m.taker_tail_p:
            btc = m.taker_median_btc * math.exp(1.3 * d.n())
        else:
            btc = m.taker_tail_btc * (1.0 - d.u()) ** (-1.0 / m.taker_tail_alpha)
        return max(1, int(min(btc, m.taker_max_btc) * LOTS_PER_UNIT))

    # ---- the liquidity providers ----------------------------------------------

    def seed_book(self) -> None:
        bid = round(self.fv.price) - 1
        self.book.set(BID, bid, self.level_lots(True))
        self.book.set(ASK, bid + 1, self.level_lots(True))
        self.extend(BID)
        self.extend(ASK)
        self.book.take_changes(BID)
        self.book.take_changes(ASK)

    def extend(self, side: int) -> None:
        """Add levels beyond the worst one; gaps widen away from the touch."""
        m, book = self.m, self.book
        px = book.prices[side]
        depth = m.min_depth + 3 + int(self.d.u() * (m.max_depth - m.min_depth - 8))
        best = book.best(side)
        while len(px) < depth:
            worst = px[0] if side == BID else px[-1]
            frac = min(1.0, abs(worst - best) / 300.0)
            step = self.d.geometric(m.near_gap_ticks + (m.far_gap_ticks - m.near_gap_ticks) * frac)
            book.set(side, worst - step if side == BID else worst + step, self.level_lots(False))

    def requote(self) -> None:
        """The ~100 ms update around the fair value."""
        m, d, book = self.m, self.d, self.book
        if d.u() < m.spread_redraw_p:
            self.spread = d.pick(self.spread_cum)
        bid_t = math.floor(self.fv.price - self.spread / 2.0)
        ask_t = bid_t + self.spread

        # Bids: quotes above the new touch are pulled, a new touch is placed, and
        # the gap it leaves behind is filled.
        px = book.prices[BID]
        while px and px[-1] > bid_t:
            book.set(BID, px[-1], 0)
        old = px[-1] if px else None
        if old != bid_t:
            book.set(BID, bid_t, self.level_lots(True))
            if old is not None:
                p = bid_t - d.geometric(m.near_gap_ticks)
                while p > old:
                    book.set(BID, p, self.level_lots(False))
                    p -= d.geometric(m.near_gap_ticks)
        # Asks: the mirror image.
        px = book.prices[ASK]
        while px and px[0] < ask_t:
            book.set(ASK, px[0], 0)
        old = px[0] if px else None
        if old != ask_t:
            book.set(ASK, ask_t, self.level_lots(True))
            if old is not None:
                p = ask_t + d.geometric(m.near_gap_ticks)
                while p < old:
                    book.set(ASK, p, self.level_lots(False))
                    p += d.geometric(m.near_gap_ticks)

        self.churn()
        for side in (BID, ASK):
            px = book.prices[side]
            while len(px) > m.max_depth:
                book.set(side, px[0] if side == BID else px[-1], 0)
            if len(px) < m.min_depth:
                self.extend(side)

    def churn(self) -> None:
        """Random adds, resizes and cancels, mostly near the touch."""
        m, d, book = self.m, self.d, self.book
        for _ in range(d.poisson(m.churn_per_step)):
            side = BID if d.u() < 0.5 else ASK
            px = book.prices[side]
            best = book.best(side)
            rank = min(d.geometric(1 / 0.15) - 1, len(px) - 1)
            price = px[-1 - rank] if side == BID else px[rank]
            u = d.u()
            if u < 0.45:
                book.set(side, price, self.level_lots(price == best))
            elif u < 0.7:
                if price != best and len(px) > m.min_depth:
                    book.set(side, price, 0)
            else:
                dist = d.geometric(m.near_gap_ticks * 2)
                new = best - dist if side == BID else best + dist
                if new not in book.size[side]:
                    book.set(side, new, self.level_lots(False))

    # ---- takers ---------------------------------------------------------------

    def take(self, ts: int) -> None:
        """One taker order at ``ts``: walks the opposite side from the touch.

        Most takers are small. A few sweep: they take every level up to a limit
        a few dollars away, and fair value follows them (their information is
        real), so the book re-forms around where the sweep ended.
        """
        m, book, d = self.m, self.book, self.d
        mid = (book.best(BID) + book.best(ASK)) / 2.0
        x = max(-50.0, min(50.0, (self.fv.price - mid) / m.taker_scale_ticks))
        buy = d.u() < 1.0 / (1.0 + math.exp(-x))
        side = ASK if buy else BID
        code = SIDE_BUY if buy else SIDE_SELL
        px, sizes = book.prices[side], book.size[side]
        if d.u() < m.sweep_share:
            lo, hi = m.sweep_reach_ticks
            reach = lo + (hi - lo) * d.u()
            limit = px[0] + reach if buy else px[-1] - reach
            want = 1 << 62
            max_levels = len(px)
        else:
            limit = math.inf if buy else -math.inf
            want = self.taker_lots()
            max_levels = m.taker_max_levels
        t = self.trades.cols
        price = mid
        for _ in range(max_levels):
            # The last level is never taken, so neither side of the book empties.
            if want <= 0 or len(px) <= 1:
                break
            price = px[0] if buy else px[-1]
            if (price > limit) if buy else (price < limit):
                break
            avail = sizes[price]
            fill = min(want, avail)
            book.set(side, price, avail - fill)
            want -= fill
            t["ts_ns"].append(ts)
            t["price"].append(price)
            t["size"].append(fill)
            t["side"].append(code)
            t["trade_id"].append(self.next_trade_id)
            self.next_trade_id += 1
        if max_levels != m.taker_max_levels:
            self.fv.price += m.sweep_impact * (price - mid)
        self.record_delta(ts)

    # ---- recording --------------------------------------------------------------

    def record_delta(self, ts: int) -> None:
        d = self.deltas.cols
        for side in (BID, ASK):
            changes = self.book.take_changes(side)
            if not changes:
                continue
            n = len(changes)
            d["ts_ns"].extend([ts] * n)
            d["side"].extend([side] * n)
            d["price"].extend([p for p, _ in changes])
            d["size"].extend([s for _, s in changes])

    def record_snapshot(self, ts: int) -> None:
        s = self.snaps.cols
        for side in (BID, ASK):
            px = self.book.prices[side]
            ordered = px[::-1] if side == BID else list(px)
            sizes = self.book.size[side]
            n = len(ordered)
            s["ts_ns"].extend([ts] * n)
            s["side"].extend([side] * n)
            s["level"].extend(range(n))
            s["price"].extend(ordered)
            s["size"].extend([sizes[p] for p in ordered])

    # ---- the clock ----------------------------------------------------------------

    def run(self) -> tuple[int, int]:
        m, d = self.m, self.d
        start = to_ns(datetime.fromisoformat(self.spec.start))
        end = start + round(self.spec.hours * 3600 * SEC)
        step_ns = round(m.step_s * SEC)
        jitter_ns = round(m.step_jitter_s * SEC)
        snap_ns = round(m.snapshot_every_s * SEC)
        dt = m.step_s

        self.seed_book()
        self.record_snapshot(start)
        next_snap = start + snap_ns

        # Log activity: an OU process that clusters the trade arrivals.
        act = 0.0
        act_a = math.exp(-math.log(2) * dt / m.activity_half_life_s)
        act_b = m.activity_sigma * math.sqrt(1 - act_a * act_a)
        act_mean_fix = m.activity_sigma**2 / 2  # so the mean rate is trade_rate_per_s
        t_prev = start
        k = 0
        while True:
            k += 1
            t_k = start + k * step_ns + int(d.u() * jitter_ns)
            if t_k >= end:
                break
            self.fv.advance(t_k, dt)
            act = act_a * act + act_b * d.n() + (m.jump_activity if self.fv.jumped else 0.0)
            rate = m.trade_rate_per_s * math.exp(act - act_mean_fix)
            n_trades = d.poisson(rate * (t_k - t_prev) / SEC)
            if n_trades:
                span = t_k - t_prev - 1
                times = sorted({t_prev + 1 + int(d.u() * span) for _ in range(n_trades)})
                for ts in times:
                    if ts >= next_snap:
                        self.record_snapshot(next_snap)
                        next_snap += snap_ns
                    self.take(ts)
            if t_k >= next_snap:
                self.record_snapshot(next_snap)
                next_snap += snap_ns
            self.requote()
            self.record_delta(t_k)
            t_prev = t_k
        return start, end


def _bars(trades: dict[str, np.ndarray], start: int, end: int) -> pa.Table:
    """1-minute bars closing at start + 1 min, start + 2 min, ...; a minute without
    trades is a flat bar at the previous close with zero volume."""
    ts, price, lots = trades["ts_ns"], trades["price"], trades["size"]
    n = (end - start) // MIN
    minute = (ts - start) // MIN
    starts = np.flatnonzero(np.r_[True, minute[1:] != minute[:-1]])
    idx = minute[starts]
    o = np.full(n, -1, dtype=np.int64)
    h, lo, c = o.copy(), o.copy(), o.copy()
    vol = np.zeros(n, dtype=np.int64)
    o[idx] = price[starts]
    h[idx] = np.maximum.reduceat(price, starts)
    lo[idx] = np.minimum.reduceat(price, starts)
    c[idx] = price[np.r_[starts[1:], len(ts)] - 1]
    vol[idx] = np.add.reduceat(lots, starts)
    last = int(price[0])
    for i in np.flatnonzero(o < 0).tolist():
        prev = int(c[i - 1]) if i > 0 else last
        o[i] = h[i] = lo[i] = c[i] = prev
    close_ts = start + (np.arange(n, dtype=np.int64) + 1) * MIN
    return pa.table(
        {
            "ts_ns": close_ts,
            # n / 100 is the double nearest to the decimal price, as if parsed from text.
            "open": o / TICKS_PER_UNIT,
            "high": h / TICKS_PER_UNIT,
            "low": lo / TICKS_PER_UNIT,
            "close": c / TICKS_PER_UNIT,
            "volume": vol / LOTS_PER_UNIT,
        }
    )


def _to_table(rows: _Rows) -> tuple[pa.Table, dict[str, np.ndarray]]:
    cols = {k: np.asarray(v, dtype=np.int64) for k, v in rows.cols.items()}
    out: dict[str, Any] = {}
    for k, v in cols.items():
        if k == "price":
            out[k] = v / TICKS_PER_UNIT
        elif k == "size":
            out[k] = v / LOTS_PER_UNIT
        elif k == "side":
            out[k] = v.astype(np.int8)
        elif k == "level":
            out[k] = v.astype(np.int16)
        else:
            out[k] = v
    return pa.table(out), cols


def generate(
    spec: SampleSpec | None = None, model: MarketModel | None = None
) -> tuple[dict[str, pa.Table], int, int]:
    """Run the model: a table per catalog kind, and the [start, end) range in ns."""
    gen = _Generator(spec or SampleSpec(), model or MarketModel())
    start, end = gen.run()
    trades, trade_cols = _to_table(gen.trades)
    tables = {
        TRADES: trades,
        BOOK_SNAPSHOTS: _to_table(gen.snaps)[0],
        BOOK_DELTAS: _to_table(gen.deltas)[0],
        "bars_1m": _bars(trade_cols, start, end),
    }
    return tables, start, end


def write_sample(
    out: str | Path,
    spec: SampleSpec | None = None,
    model: MarketModel | None = None,
) -> SampleSummary:
    """Generate the sample into the catalog at ``out``, replacing an earlier sample
    of the same venue and symbol (so a shorter run leaves no stale rows behind)."""
    spec = spec or SampleSpec()
    catalog = Catalog(out)
    tables, start, end = generate(spec, model)
    sdir = catalog.root / spec.venue / symbol_dir(spec.symbol)
    if sdir.exists():
        shutil.rmtree(sdir)
    summary = SampleSummary(start_ns=start, end_ns=end)
    for kind, table in tables.items():
        summary.paths.extend(catalog.write(spec.venue, spec.symbol, kind, table))
        summary.rows[kind] = table.num_rows
        ts = table.column("ts_ns").to_numpy()
        if kind in (BOOK_SNAPSHOTS, BOOK_DELTAS):
            summary.events[kind] = int(np.count_nonzero(np.diff(ts))) + 1 if len(ts) else 0
        else:
            summary.events[kind] = table.num_rows
    summary.paths.append(catalog.write_instrument(spec.venue, spec.symbol, INSTRUMENT))
    prices = tables[TRADES].column("price").to_numpy()
    if len(prices):
        summary.price_min = float(prices.min())
        summary.price_max = float(prices.max())
        summary.first_price = float(prices[0])
        summary.last_price = float(prices[-1])
    summary.bytes = sum(p.stat().st_size for p in summary.paths)
    return summary


__all__ = [
    "INSTRUMENT",
    "MarketModel",
    "SampleSpec",
    "SampleSummary",
    "generate",
    "write_sample",
]
