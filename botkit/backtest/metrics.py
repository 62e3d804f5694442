"""Performance metrics over a backtest's equity curve and fills.

Pure functions: no I/O, no state. Money stays ``Decimal``; ratios (returns,
Sharpe, Sortino, drawdown fraction, turnover, exposure) are ``float`` because
they are statistics, not amounts anyone settles.

Definitions
-----------
- Sample returns: simple returns between consecutive equity samples,
  ``r_i = e_i / e_{i-1} - 1``. A step whose starting equity is not positive has
  no defined return and is left out.
- Annualisation of ``sharpe``/``sortino`` over raw samples: the sampling
  interval is the *median* gap between sample timestamps (robust to the shorter
  final sample the engine takes at the last event), and a year is 365 days
  because crypto venues trade around the clock:
  ``periods_per_year = 365 d / median gap``.
- Sharpe: ``mean(r) / std(r, ddof=1) * sqrt(periods_per_year)`` with a zero
  risk-free rate.
- Sortino: ``mean(r - t) / dd * sqrt(periods_per_year)`` with target ``t``
  (default 0) and downside deviation ``dd = sqrt(mean(min(0, r - t)^2))``
  taken over *all* samples (Sortino & Price), not only the losing ones.
- Both need at least two returns, else ``None``. With zero dispersion (or no
  downside for Sortino) the ratio is ``0.0`` when the mean is zero too (a flat
  curve: no risk, no return) and ``None`` otherwise (it would be infinite).
- Reported ratios (``risk_ratios``): Sharpe and Sortino of *daily* returns,
  ``periods_per_year = 365``, so they do not depend on how often equity was
  sampled (``output.equity_interval``). Daily closes are the equity at each UTC
  midnight inside the run (the last sample at or before it); the run's first and
  last equity are added as the ends, so the first and last returns may cover
  partial days. With fewer than ``MIN_DAILY_RETURNS`` (30) daily returns the
  ratio is ``None`` and its caveat says why: annualising a few hours of
  minute-returns multiplies noise by sqrt(525,600) and gives figures like 33 or
  -2,935 that mean nothing. Every reported ratio carries a caveat; a shown one
  gives its standard error, ``sqrt((1 + SR_d^2 / 2) / n) * sqrt(365)`` (Lo, 2002,
  for independent returns), so 30 days of data read as roughly +-3.5.
- Max drawdown: the largest fall from a running peak, as a fraction of that
  peak and, separately, in quote currency; the two maxima may come from
  different episodes. The timestamps belong to the deepest fractional drawdown
  (or the deepest absolute one when no peak was positive).
- Turnover: total traded notional divided by the initial equity.
- Exposure: the time-weighted fraction of the run during which any
  (strategy, symbol) position is non-zero, and the time-weighted mean of gross
  position value / equity. Positions are replayed from fills (the run starts
  flat); between fills a symbol is marked at its last fill price, because the
  result carries no price path; equity is the latest equity sample.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from botkit.model import ZERO, Fill, Side

NS_PER_YEAR = 365 * 24 * 3600 * 10**9
NS_PER_DAY = 24 * 3600 * 10**9
DAYS_PER_YEAR = 365
# Fewer daily returns than this make an annualised ratio mostly noise (its
# standard error is about sqrt(365 / n), > 3.5 below 30 days), so none is shown.
MIN_DAILY_RETURNS = 30

# Relative spread below which float noise is treated as "no dispersion":
# equity 100 -> 110 -> 121 gives returns that differ only in the last bits.
_FLAT_TOLERANCE = 1e-12

FloatArray = npt.NDArray[np.float64]


def returns(equity: Sequence[Decimal | float]) -> FloatArray:
    """Simple per-sample returns of an equity series (steps from equity <= 0 dropped)."""
    if len(equity) < 2:
        return np.empty(0, dtype=np.float64)
    e = np.array([float(x) for x in equity], dtype=np.float64)
    prev, cur = e[:-1], e[1:]
    ok = prev > 0
    return cur[ok] / prev[ok] - 1.0


def periods_per_year(timestamps_ns: Sequence[int]) -> float | None:
    """Samples per year implied by the median gap between timestamps (None if unknown)."""
    if len(timestamps_ns) < 2:
        return None
    gaps = np.diff(np.array(timestamps_ns, dtype=np.int64))
    gaps = gaps[gaps > 0]
    if gaps.size == 0:
        return None
    return NS_PER_YEAR / float(np.median(gaps))


def _is_flat(r: FloatArray) -> bool:
    scale = max(1.0, float(np.max(np.abs(r))))
    return float(np.ptp(r)) <= _FLAT_TOLERANCE * scale


def sharpe(r: Sequence[float] | FloatArray, periods_per_year: float | None) -> float | None:
    """Annualised Sharpe ratio of per-sample returns, zero risk-free rate."""
    arr = np.asarray(r, dtype=np.float64)
    if arr.size < 2 or not periods_per_year or periods_per_year <= 0:
        return None
    mean = float(arr.mean())
    if _is_flat(arr):
        return 0.0 if abs(mean) <= _FLAT_TOLERANCE else None
    std = float(arr.std(ddof=1))
    return mean / std * math.sqrt(periods_per_year)


def sortino(
    r: Sequence[float] | FloatArray,
    periods_per_year: float | None,
    target: float = 0.0,
) -> float | None:
    """Annualised Sortino ratio: excess mean over downside deviation (all samples)."""
    arr = np.asarray(r, dtype=np.float64)
    if arr.size < 2 or not periods_per_year or periods_per_year <= 0:
        return None
    excess = arr - target
    mean = float(excess.mean())
    downside = np.minimum(excess, 0.0)
    dd = math.sqrt(float(np.mean(downside * downside)))
    if dd <= _FLAT_TOLERANCE:
        return 0.0 if abs(mean) <= _FLAT_TOLERANCE else None
    return mean / dd * math.sqrt(periods_per_year)


def daily_closes(equity: Sequence[tuple[int, Decimal]]) -> list[tuple[int, Decimal]]:
    """The run's first equity, the equity at each UTC midnight inside the run and its
    last equity (see module doc). ``equity`` is time-ordered ``(ts_ns, equity)``."""
    if not equity:
        return []
    start, end = equity[0][0], equity[-1][0]
    closes = [equity[0]]
    i = 0
    midnight = (start // NS_PER_DAY + 1) * NS_PER_DAY
    while midnight < end:
        while i + 1 < len(equity) and equity[i + 1][0] <= midnight:
            i += 1
        closes.append((midnight, equity[i][1]))
        midnight += NS_PER_DAY
    if end > closes[-1][0]:
        closes.append(equity[-1])
    return closes


def daily_returns(equity: Sequence[tuple[int, Decimal]]) -> FloatArray:
    """Simple returns between the daily closes of ``equity``."""
    return returns([v for _, v in daily_closes(equity)])


def _span_text(ns: int) -> str:
    hours = ns / 3.6e12
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


class Ratio(NamedTuple):
    """A reported ratio: its value (None when not shown) and the caveat that goes with it."""

    value: float | None
    caveat: str


class RiskRatios(NamedTuple):
    sharpe: Ratio
    sortino: Ratio
    daily_returns: int


def risk_ratios(
    equity: Sequence[tuple[int, Decimal]], min_returns: int = MIN_DAILY_RETURNS
) -> RiskRatios:
    """Sharpe and Sortino of daily returns, each with its caveat (module doc)."""
    r = daily_returns(equity)
    n = int(r.size)
    span = equity[-1][0] - equity[0][0] if equity else 0
    if n < min_returns:
        why = f"run covers {_span_text(span)} ({n} daily return{'' if n == 1 else 's'})"
        return RiskRatios(
            Ratio(None, f"not shown: {why}; Sharpe needs >= {min_returns} daily returns"),
            Ratio(None, f"not shown: {why}; Sortino needs >= {min_returns} daily returns"),
            n,
        )
    basis = f"from {n} daily returns (UTC days), annualised with 365 days, zero risk-free rate"

    def judged(name: str, value: float | None) -> Ratio:
        if value is None or not math.isfinite(value):
            return Ratio(None, f"undefined: the {n} daily returns have no {name}")
        daily = value / math.sqrt(DAYS_PER_YEAR)
        se = math.sqrt((1 + daily * daily / 2) / n) * math.sqrt(DAYS_PER_YEAR)
        return Ratio(value, f"{basis}; standard error about +-{se:.2f}")

    return RiskRatios(
        judged("dispersion", sharpe(r, DAYS_PER_YEAR)),
        judged("downside", sortino(r, DAYS_PER_YEAR)),
        n,
    )


class Drawdown(NamedTuple):
    fraction: float
    absolute: Decimal
    peak_ts: int | None
    trough_ts: int | None


def max_drawdown(equity: Sequence[tuple[int, Decimal]]) -> Drawdown:
    """Deepest fall from a running peak: ``(fraction, absolute, peak_ts, trough_ts)``.

    ``equity`` is a time-ordered sequence of ``(ts_ns, equity)``. With no fall
    at all the result is ``(0.0, 0, None, None)``.
    """
    best_frac = ZERO
    best_abs = ZERO
    frac_at: tuple[int, int] | None = None
    abs_at: tuple[int, int] | None = None
    peak: Decimal | None = None
    peak_ts = 0
    for ts, value in equity:
        if peak is None or value > peak:
            peak, peak_ts = value, ts
            continue
        fall = peak - value
        if fall > best_abs:
            best_abs, abs_at = fall, (peak_ts, ts)
        if peak > 0 and fall / peak > best_frac:
            best_frac, frac_at = fall / peak, (peak_ts, ts)
    at = frac_at or abs_at
    return Drawdown(
        fraction=float(best_frac),
        absolute=best_abs,
        peak_ts=at[0] if at else None,
        trough_ts=at[1] if at else None,
    )


def drawdown_series(values: Sequence[Decimal | float]) -> FloatArray:
    """Fractional drawdown at every sample (0 at a new peak), for charts."""
    e = np.array([float(x) for x in values], dtype=np.float64)
    if e.size == 0:
        return e
    peak = np.maximum.accumulate(e)
    out = np.zeros_like(e)
    pos = peak > 0
    out[pos] = (e[pos] - peak[pos]) / peak[pos]
    return out


def traded_notional(fills: Iterable[Fill]) -> Decimal:
    """Sum of price x size over fills, in the quote currency."""
    return sum((f.price * f.size for f in fills), ZERO)


def turnover(fills: Iterable[Fill], initial_equity: Decimal) -> float | None:
    """Traded notional / initial equity; None when the initial equity is not positive."""
    return turnover_of(traded_notional(fills), initial_equity)


def turnover_of(notional: Decimal, initial_equity: Decimal) -> float | None:
    """``turnover`` from the traded notional already summed."""
    if initial_equity <= 0:
        return None
    return float(notional / initial_equity)


@dataclass(frozen=True, slots=True)
class Exposure:
    time_fraction: float | None
    avg_gross_leverage: float | None


def exposure(
    fills: Iterable[Fill],
    start_ns: int,
    end_ns: int,
    equity: Sequence[tuple[int, Decimal]] = (),
    initial_equity: Decimal | None = None,
    *,
    time_ordered: bool = False,
) -> Exposure:
    """Time in the market and average gross position value / equity (see module doc).

    Fills before ``start_ns`` count from the start; fills after ``end_ns`` are
    ignored. Spans where equity is not positive are left out of the leverage
    average. Both values are None for an empty time range. ``time_ordered``: the
    fills come in time order already (a stream, read once), so they are not sorted.
    """
    if end_ns <= start_ns:
        return Exposure(None, None)
    fl = iter(fills if time_ordered else sorted(fills, key=lambda f: f.ts_ns))
    eq = sorted(equity, key=lambda s: s[0])
    sizes: dict[tuple[str, str], Decimal] = {}
    marks: dict[str, Decimal] = {}
    cur_equity = initial_equity if initial_equity is not None else (eq[0][1] if eq else None)
    nxt_fill = next(fl, None)  # the next fill not applied yet
    j = 0
    held_ns = 0
    lev_ns = 0
    lev_sum = 0.0

    def advance(t: int) -> None:
        nonlocal nxt_fill, j, cur_equity
        f = nxt_fill
        while f is not None and f.ts_ns <= t:
            key = (f.strategy, f.symbol)
            delta = f.size if f.side is Side.BUY else -f.size
            sizes[key] = sizes.get(key, ZERO) + delta
            marks[f.symbol] = f.price
            f = next(fl, None)
        nxt_fill = f
        while j < len(eq) and eq[j][0] <= t:
            cur_equity = eq[j][1]
            j += 1

    t = start_ns
    advance(t)
    while t < end_ns:
        nxt = end_ns
        if nxt_fill is not None:
            nxt = min(nxt, nxt_fill.ts_ns)
        if j < len(eq):
            nxt = min(nxt, eq[j][0])
        dt = nxt - t
        open_keys = [k for k, s in sizes.items() if s != 0]
        if open_keys:
            held_ns += dt
        if cur_equity is not None and cur_equity > 0:
            gross = sum((abs(sizes[k]) * marks[k[1]] for k in open_keys), ZERO)
            lev_sum += float(gross / cur_equity) * dt
            lev_ns += dt
        t = nxt
        advance(t)
    span = end_ns - start_ns
    return Exposure(
        time_fraction=held_ns / span,
        avg_gross_leverage=lev_sum / lev_ns if lev_ns else None,
    )


__all__ = [
    "DAYS_PER_YEAR",
    "MIN_DAILY_RETURNS",
    "NS_PER_DAY",
    "NS_PER_YEAR",
    "Drawdown",
    "Exposure",
    "Ratio",
    "RiskRatios",
    "daily_closes",
    "daily_returns",
    "drawdown_series",
    "exposure",
    "max_drawdown",
    "periods_per_year",
    "returns",
    "risk_ratios",
    "sharpe",
    "sortino",
    "traded_notional",
    "turnover",
    "turnover_of",
]
