"""Performance metrics against small hand-computed examples."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest

from botkit.backtest import metrics
from botkit.model import Fill, Liquidity, Side

D = Decimal


def fill(
    ts: int, side: Side, price: str, size: str, strategy: str = "s", symbol: str = "X"
) -> Fill:
    return Fill(
        trade_id=f"t{ts}",
        client_id=f"c{ts}",
        symbol=symbol,
        side=side,
        price=D(price),
        size=D(size),
        fee=D(0),
        fee_asset="USD",
        liquidity=Liquidity.TAKER,
        ts_ns=ts,
        strategy=strategy,
    )


# ------------------------------------------------------------------ returns


def test_returns_are_simple_returns_between_samples() -> None:
    r = metrics.returns([D(100), D(110), D(99), D("108.9")])
    assert r == pytest.approx([0.1, -0.1, 0.1])


def test_returns_skip_steps_from_non_positive_equity() -> None:
    # 0 -> 50 has no defined return; 50 -> 75 is +50 %.
    assert metrics.returns([D(0), D(50), D(75)]) == pytest.approx([0.5])


def test_returns_of_short_series_are_empty() -> None:
    assert metrics.returns([]).size == 0
    assert metrics.returns([D(100)]).size == 0


# ------------------------------------------------------------ annualisation


def test_periods_per_year_uses_the_median_gap() -> None:
    hour = 3600 * 10**9
    # Hourly samples and a short final one (the "last event" sample).
    ts = [0, hour, 2 * hour, 3 * hour, 3 * hour + 10]
    assert metrics.periods_per_year(ts) == pytest.approx(365 * 24)


def test_periods_per_year_unknown_for_fewer_than_two_distinct_times() -> None:
    assert metrics.periods_per_year([]) is None
    assert metrics.periods_per_year([5]) is None
    assert metrics.periods_per_year([5, 5]) is None


# ------------------------------------------------------------ sharpe/sortino


def test_sharpe_by_hand() -> None:
    # r = [0.1, -0.1, 0.1]: mean 1/30, sample std sqrt(0.02/1.5) = 0.11547
    # per-period Sharpe 0.288675; four periods a year doubles it.
    r = [0.1, -0.1, 0.1]
    assert metrics.sharpe(r, 1) == pytest.approx(0.288675, abs=1e-6)
    assert metrics.sharpe(r, 4) == pytest.approx(0.57735, abs=1e-5)


def test_sortino_by_hand() -> None:
    # Downside deviation over all samples: sqrt((0 + 0.01 + 0) / 3) = 0.057735
    # mean 1/30 -> 0.57735 per period.
    r = [0.1, -0.1, 0.1]
    assert metrics.sortino(r, 1) == pytest.approx(0.57735, abs=1e-5)
    assert metrics.sortino(r, 4) == pytest.approx(1.1547, abs=1e-4)


def test_sortino_with_a_target() -> None:
    # Excess over 0.05: [0.05, -0.15, 0.05]; mean -0.01667; dd sqrt(0.0225/3).
    got = metrics.sortino([0.1, -0.1, 0.1], 1, target=0.05)
    assert got == pytest.approx(-(0.05 / 3) / math.sqrt(0.0225 / 3))


def test_flat_curve_gives_zero_not_a_division_error() -> None:
    flat = metrics.returns([D(100)] * 5)
    assert metrics.sharpe(flat, 365) == 0.0
    assert metrics.sortino(flat, 365) == 0.0


def test_constant_growth_has_no_finite_sharpe() -> None:
    # 100 -> 110 -> 121: returns equal up to float noise, zero dispersion.
    r = metrics.returns([D(100), D(110), D(121)])
    assert metrics.sharpe(r, 365) is None
    assert metrics.sortino(r, 365) is None  # no downside at all


def test_too_short_or_unknown_period_is_none() -> None:
    assert metrics.sharpe([0.1], 365) is None
    assert metrics.sortino([], 365) is None
    assert metrics.sharpe([0.1, 0.2], None) is None


# ------------------------------------------------------- reported ratios

DAY = 86_400 * 10**9
JAN_1 = 1_704_067_200 * 10**9  # 2024-01-01T00:00:00Z


def equity_every(interval_ns: int, days: int, start: int = JAN_1) -> list[tuple[int, Decimal]]:
    """One account's equity over ``days`` days, sampled every ``interval_ns``: a daily
    drift and swing, plus an intraday wiggle that only fine sampling sees."""

    def value(t: int) -> Decimal:
        day, into = divmod(t - JAN_1, DAY)
        close = 1000 + 3 * day + 25 * math.sin(day * 1.7)
        wiggle = 40 * math.sin(into / DAY * 2 * math.pi * 48)
        return Decimal(repr(round(close + wiggle, 6)))

    end = start + days * DAY
    return [(t, value(t)) for t in range(start, end + 1, interval_ns)]


def test_daily_closes_are_the_equity_at_each_utc_midnight() -> None:
    hour = 3600 * 10**9
    eq = [(JAN_1 + 20 * hour, D(100)), (JAN_1 + 23 * hour, D(101)), (JAN_1 + 25 * hour, D(99))]
    eq += [(JAN_1 + 49 * hour, D(105))]
    # start, midnight of Jan 2 (last sample before it: 101), Jan 3 (99), and the end
    assert metrics.daily_closes(eq) == [
        (JAN_1 + 20 * hour, D(100)),
        (JAN_1 + DAY, D(101)),
        (JAN_1 + 2 * DAY, D(99)),
        (JAN_1 + 49 * hour, D(105)),
    ]
    assert metrics.daily_returns(eq) == pytest.approx([0.01, 99 / 101 - 1, 105 / 99 - 1])


def test_ratios_do_not_depend_on_how_often_equity_was_sampled() -> None:
    minute = 60 * 10**9
    intervals = (minute, 5 * minute, 3600 * 10**9)
    runs = {iv: metrics.risk_ratios(equity_every(iv, 45)) for iv in intervals}
    first = runs[minute]
    assert first.daily_returns == 45 and first.sharpe.value is not None
    for got in runs.values():
        assert got.sharpe.value == pytest.approx(first.sharpe.value, rel=1e-12)
        assert got.sortino.value == pytest.approx(first.sortino.value, rel=1e-12)
        assert got.sharpe.caveat == first.sharpe.caveat


def test_a_four_hour_run_gets_no_ratio_and_the_reason() -> None:
    minute = 60 * 10**9
    four_hours = [s for s in equity_every(minute, 1) if s[0] <= JAN_1 + 4 * 3600 * 10**9]
    got = metrics.risk_ratios(four_hours)
    assert got.sharpe == (
        None,
        "not shown: run covers 4.0 h (1 daily return); Sharpe needs >= 30 daily returns",
    )
    assert got.sortino.value is None and "Sortino needs >= 30" in got.sortino.caveat


def test_a_shown_ratio_carries_its_standard_error() -> None:
    got = metrics.risk_ratios(equity_every(3600 * 10**9, 60))
    assert got.daily_returns == 60 and got.sharpe.value is not None
    daily = got.sharpe.value / math.sqrt(365)
    se = math.sqrt((1 + daily * daily / 2) / 60) * math.sqrt(365)
    assert got.sharpe.caveat.endswith(f"standard error about +-{se:.2f}")


def test_a_flat_or_steady_month_has_a_defined_or_undefined_ratio_with_its_reason() -> None:
    flat = [(JAN_1 + i * DAY, D(100)) for i in range(41)]
    assert metrics.risk_ratios(flat).sharpe.value == 0.0  # no risk, no return
    growing = [(JAN_1 + i * DAY, D(100) * D("1.01") ** i) for i in range(41)]
    assert metrics.risk_ratios(growing).sortino == (
        None,
        "undefined: the 40 daily returns have no downside",
    )


# --------------------------------------------------------------- drawdown


def test_max_drawdown_by_hand() -> None:
    curve = [(1, D(100)), (2, D(120)), (3, D(90)), (4, D(130)), (5, D(117))]
    dd = metrics.max_drawdown(curve)
    # 120 -> 90 is 25 % and 30; 130 -> 117 is only 10 % and 13.
    assert dd.fraction == pytest.approx(0.25)
    assert dd.absolute == D(30)
    assert (dd.peak_ts, dd.trough_ts) == (2, 3)
    fraction, absolute, peak_ts, trough_ts = dd  # also a plain tuple
    assert (fraction, absolute, peak_ts, trough_ts) == (0.25, D(30), 2, 3)


def test_max_drawdown_fraction_and_absolute_can_come_from_different_falls() -> None:
    # 100 -> 50 is 50 % (50 absolute); 1000 -> 800 is 20 % but 200 absolute.
    curve = [(1, D(100)), (2, D(50)), (3, D(1000)), (4, D(800))]
    dd = metrics.max_drawdown(curve)
    assert dd.fraction == pytest.approx(0.5)
    assert dd.absolute == D(200)
    assert (dd.peak_ts, dd.trough_ts) == (1, 2)  # the deepest fractional fall


def test_no_drawdown() -> None:
    assert metrics.max_drawdown([]) == (0.0, D(0), None, None)
    assert metrics.max_drawdown([(1, D(5))]) == (0.0, D(0), None, None)
    assert metrics.max_drawdown([(1, D(5)), (2, D(6))]) == (0.0, D(0), None, None)


def test_drawdown_series() -> None:
    got = metrics.drawdown_series([D(100), D(120), D(90), D(130)])
    np.testing.assert_allclose(got, [0.0, 0.0, -0.25, 0.0])


# ------------------------------------------------------ turnover, exposure


def test_turnover_is_notional_over_initial_equity() -> None:
    fills = [fill(1, Side.BUY, "50", "2"), fill(2, Side.SELL, "55", "2")]
    assert metrics.traded_notional(fills) == D(210)
    assert metrics.turnover(fills, D(100)) == pytest.approx(2.1)
    assert metrics.turnover(fills, D(0)) is None
    assert metrics.turnover([], D(100)) == 0.0


def test_exposure_time_in_market_and_leverage() -> None:
    # Long 1 @ 50 from t=20 to t=70 of a 0..100 run.
    fills = [fill(20, Side.BUY, "50", "1"), fill(70, Side.SELL, "60", "1")]
    e = metrics.exposure(fills, 0, 100, [(0, D(100))])
    assert e.time_fraction == pytest.approx(0.5)
    # 50 / 100 = 0.5x for half the run.
    assert e.avg_gross_leverage == pytest.approx(0.25)

    # Equity doubles at t=50: 0.5x for 30 ns then 0.25x for 20 ns -> 20 / 100.
    e = metrics.exposure(fills, 0, 100, [(0, D(100)), (50, D(200))])
    assert e.avg_gross_leverage == pytest.approx(0.2)


def test_exposure_counts_gross_across_strategies_and_marks_at_last_fill() -> None:
    # A long 1 and a short 1 in the same symbol are 2 units gross, not flat.
    fills = [
        fill(0, Side.BUY, "10", "1", strategy="a"),
        fill(50, Side.SELL, "20", "1", strategy="b"),
    ]
    e = metrics.exposure(fills, 0, 100, initial_equity=D(100))
    assert e.time_fraction == pytest.approx(1.0)
    # [0, 50): 1 x 10 / 100; [50, 100): 2 x 20 / 100.
    assert e.avg_gross_leverage == pytest.approx((0.1 * 50 + 0.4 * 50) / 100)


def test_exposure_of_an_empty_run() -> None:
    assert metrics.exposure([], 0, 100, initial_equity=D(100)) == metrics.Exposure(0.0, 0.0)
    assert metrics.exposure([], 5, 5) == metrics.Exposure(None, None)
    # No positive equity anywhere: time in market is known, leverage is not.
    e = metrics.exposure([fill(0, Side.BUY, "1", "1")], 0, 10, initial_equity=D(0))
    assert e == metrics.Exposure(1.0, None)
