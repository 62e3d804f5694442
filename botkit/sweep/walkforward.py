"""Walk-forward: optimise on a train window, run the choice on the window after it.

``--walk-forward train=30d,test=7d`` cuts the data range into windows:

- the range is ``data.start``/``data.end`` (or ``--start``/``--end``) where set,
  else what the catalog holds for every configured symbol in ``data.kinds``
  (from the first timestamp, floored to the second, to the last, included);
- window *k* trains on ``[s + k*test, s + k*test + train)`` and tests on the
  ``test`` that follows, ``[s + k*test + train, s + (k+1)*test + train)``: the test
  windows are consecutive and do not overlap, each train window ends where its
  test window begins (train windows overlap each other, rolling forward by
  ``test``); only whole windows are made, and the tail left over is reported;
- on each train window every grid set runs (or an Optuna study,
  ``<study name>-w<k>``, grows to ``--trials``), the best by the metric (ranked as
  everywhere in the sweep) is chosen, and that set alone runs on the test
  window. The choice sees only train-window runs: the test window is out of
  sample.

Each window's run is its own backtest from the configured balances; nothing is
carried from one window to the next (a position open at a test window's end is
marked at its last price, and its unrealised PnL is in that window's result).
The out-of-sample results are joined (:func:`join`): the total strategy PnL is
the exact sum of the test windows' strategy PnL, the equity change likewise,
and the equity curve is the test windows' curves chained: the first as it is,
each later one shifted by a constant so that it starts where the previous one
ended (its own starting equity replaced by the joined curve's last value), so
the joined curve's change over each window is that window's equity change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from botkit.config import BotConfig
from botkit.config.durations import format_duration, parse_duration
from botkit.sweep.cluster import Pool, SweepProgress
from botkit.sweep.grid import Value
from botkit.sweep.metrics import Direction, Metric, rank
from botkit.sweep.runners import Best, Setup, SweepError, collect, optimize
from botkit.sweep.space import Space
from botkit.sweep.tasks import RunOutcome

NS = 1_000_000_000


@dataclass(frozen=True)
class Window:
    """One walk-forward step; times are ns since the epoch, ends exclusive."""

    index: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int


@dataclass(frozen=True)
class Plan:
    """The windows cut from ``[start, end)``, and the tail no whole window covers."""

    start: int
    end: int
    train_ns: int
    test_ns: int
    windows: tuple[Window, ...]

    @property
    def unused_ns(self) -> int:
        return self.end - (self.windows[-1].test_end if self.windows else self.start)


def parse_spec(text: str) -> tuple[int, int]:
    """``train=30d,test=7d`` -> (train, test) in ns; :class:`SweepError` otherwise."""
    parts: dict[str, str] = {}
    for piece in (text or "").split(","):
        key, eq, value = piece.partition("=")
        key = key.strip()
        if not eq or key not in ("train", "test") or key in parts or not value.strip():
            raise SweepError(
                f"--walk-forward {text!r}: write train=<duration>,test=<duration>, "
                "e.g. train=30d,test=7d (units ms, s, m, h, d)"
            )
        parts[key] = value.strip()
    if set(parts) != {"train", "test"}:
        raise SweepError(f"--walk-forward {text!r}: give both train= and test=")
    out = []
    for key in ("train", "test"):
        try:
            ns = parse_duration(parts[key])
        except (ValueError, TypeError) as exc:
            raise SweepError(f"--walk-forward {key}={parts[key]}: {exc}") from None
        if ns <= 0:
            raise SweepError(f"--walk-forward {key}={parts[key]}: must be > 0")
        out.append(ns)
    return out[0], out[1]


def plan(start: int, end: int, train_ns: int, test_ns: int) -> Plan:
    """Cut ``[start, end)`` into whole windows (module doc)."""
    windows = []
    k = 0
    while start + k * test_ns + train_ns + test_ns <= end:
        t0 = start + k * test_ns
        windows.append(Window(k, t0, t0 + train_ns, t0 + train_ns, t0 + train_ns + test_ns))
        k += 1
    if not windows:
        raise SweepError(
            f"--walk-forward: the data range ({format_duration(max(end - start, 0))}) is shorter "
            f"than one train window and one test window ({format_duration(train_ns)} + "
            f"{format_duration(test_ns)}); shorten them or give more data"
        )
    return Plan(start, end, train_ns, test_ns, tuple(windows))


def data_range(config: BotConfig, catalog: str | None = None) -> tuple[int, int]:
    """``[start, end)`` in ns: data.start/end where set, else the catalog's coverage of
    every configured symbol (the latest first timestamp to the earliest last one)."""
    from botkit.backtest.catalog import Catalog, _streams_spec, to_ns
    from botkit.backtest.runner import _kind_spans

    start = None if config.data.start is None else to_ns(config.data.start)
    end = None if config.data.end is None else to_ns(config.data.end)
    if start is not None and end is not None:
        return start, end
    root = Path(catalog) if catalog is not None else config.resolve_path(config.data.catalog)
    cat = Catalog(root)
    venue = config.data.venue or config.venue.name
    los, his = [], []
    for inst in config.instruments:
        kinds = [k for _, k in _streams_spec(cat, venue, [inst.symbol], config.data.kinds)]
        spans = _kind_spans(cat, venue, inst.symbol, kinds)
        if not spans:
            raise SweepError(
                f"--walk-forward: the catalog {root} holds no {', '.join(config.data.kinds)} "
                f"for {inst.symbol} on {venue}; set data.start and data.end, or import data"
            )
        los.append(min(lo for lo, _, _ in spans.values()))
        his.append(max(hi for _, hi, _ in spans.values()))
    lo = max(los)
    lo -= lo % NS
    hi = min(his) + 1
    return (start if start is not None else lo), (end if end is not None else hi)


# ------------------------------------------------------------------ running


@dataclass
class WindowResult:
    """A window's choice (from its train runs only) and its out-of-sample run."""

    window: Window
    chosen: dict[str, Value] | None
    chosen_run: int | None
    train_value: Any
    ranked_by: str | None
    note: str | None
    test: RunOutcome | None
    error: str | None = None


@dataclass
class WalkForward:
    plan: Plan
    windows: list[WindowResult]
    outcomes: list[RunOutcome]  # every run: train and test, tagged {"window", "phase"}
    joined: Joined | None = None
    studies: list[str] = field(default_factory=list)


def _choose(
    runs: Sequence[RunOutcome], metric: Metric, direction: Direction
) -> tuple[RunOutcome | None, Any, str, str | None]:
    ranking = rank({o.run_id: o.summary if o.ok else None for o in runs}, metric, direction)
    best = next((r for r in ranking.order if ranking.ranks[r] == 1), None)
    if best is None:
        return None, None, ranking.metric, ranking.note
    top = next(o for o in runs if o.run_id == best)
    from botkit.sweep.metrics import METRICS, get_metric

    used = METRICS.get(ranking.metric) or get_metric(ranking.metric, [])
    assert top.summary is not None
    return top, used.read(top.summary), ranking.metric, ranking.note


def run_walk_forward(
    pool: Pool,
    setup: Setup,
    space: Space,
    the_plan: Plan,
    metric: Metric,
    direction: Direction,
    *,
    param_sets: Sequence[dict[str, Value]] | None = None,
    optuna: dict[str, Any] | None = None,
    progress: SweepProgress | None = None,
) -> WalkForward:
    """Run the plan with a grid (``param_sets``) or Optuna (``optuna``: the keyword
    arguments of :func:`~botkit.sweep.runners.optimize` but the window's)."""
    outcomes: list[RunOutcome] = []
    results: dict[int, WindowResult] = {}
    studies: list[str] = []
    best = Best(metric, direction)
    # Run ids: the train runs window by window, then one test run per window.
    test_base = [0]

    def submit_test(w: Window, train: Sequence[RunOutcome]) -> None:
        top, value, ranked_by, note = _choose(train, metric, direction)
        if top is None:
            results[w.index] = WindowResult(
                w, None, None, None, ranked_by, note, None, error="no train run succeeded"
            )
            return
        results[w.index] = WindowResult(
            w, dict(top.params), top.run_id, value, ranked_by, note, None
        )
        pool.submit(
            setup.spec(
                test_base[0] + w.index,
                space,
                dict(top.params),
                start_ns=w.test_start,
                end_ns=w.test_end,
                keep_equity=True,
                tag={"window": w.index, "phase": "test", "chosen_from": top.run_id},
            )
        )
        if progress is not None:
            progress.add(1)

    if param_sets is not None:
        n = len(param_sets)
        test_base[0] = 1 + n * len(the_plan.windows)
        pending = {w.index: n for w in the_plan.windows}
        train: dict[int, list[RunOutcome]] = defaultdict(list)
        feed = (
            setup.spec(
                1 + w.index * n + i,
                space,
                params,
                start_ns=w.train_start,
                end_ns=w.train_end,
                tag={"window": w.index, "phase": "train"},
            )
            for w in the_plan.windows
            for i, params in enumerate(param_sets)
        )
        if progress is not None:
            progress.add(n * len(the_plan.windows))

        def on_outcome(o: RunOutcome) -> None:
            if o.tag.get("phase") != "train":
                return
            k = int(o.tag["window"])
            train[k].append(o)
            pending[k] -= 1
            if pending[k] == 0:
                submit_test(the_plan.windows[k], train[k])

        collect(pool, progress, outcomes, best, on_outcome, feed=feed)
    else:
        assert optuna is not None
        options = dict(optuna)
        base_name = options.pop("study_name")
        trained: list[tuple[Window, list[RunOutcome]]] = []
        run_id = 1
        for w in the_plan.windows:
            name = f"{base_name}-w{w.index}"
            studies.append(name)
            study = optimize(
                pool,
                setup,
                space,
                **options,
                study_name=name,
                progress=progress,
                start_ns=w.train_start,
                end_ns=w.train_end,
                tag={"window": w.index, "phase": "train"},
            )
            for o in study.outcomes:
                o.tag = {"window": w.index, "phase": "train", "trial": o.run_id}
                o.run_id, run_id = run_id, run_id + 1
            outcomes.extend(study.outcomes)
            trained.append((w, study.outcomes))
        test_base[0] = run_id
        # Only now: a test run in flight would come back inside the next study's batch.
        for w, runs in trained:
            submit_test(w, runs)
        collect(pool, progress, outcomes, best)
    for o in outcomes:
        if o.tag.get("phase") == "test":
            results[int(o.tag["window"])].test = o
    windows = [results[w.index] for w in the_plan.windows]
    joined = join([r.test for r in windows if r.test is not None and r.test.ok])
    return WalkForward(the_plan, windows, sorted(outcomes, key=lambda o: o.run_id), joined, studies)


# ------------------------------------------------------------------ joining


@dataclass
class Joined:
    """The out-of-sample test windows as one run (module doc for how)."""

    windows: int
    strategy_pnl: Decimal
    equity_change: Decimal
    start_equity: Decimal | None
    end_equity: Decimal | None
    equity: list[tuple[int, Decimal, int]]  # (ts_ns, joined equity, window index)
    quote_asset: str


def join(tests: Sequence[RunOutcome]) -> Joined | None:
    """Sum the test windows' strategy PnL and equity change exactly, and chain their
    equity curves (each shifted to start where the previous one ended)."""
    tests = sorted(tests, key=lambda o: int(o.tag.get("window", 0)))
    if not tests:
        return None
    pnl = Decimal(0)
    change = Decimal(0)
    curve: list[tuple[int, Decimal, int]] = []
    for o in tests:
        assert o.summary is not None
        pnl += Decimal(o.summary["strategy_pnl"]["total"])
        change += Decimal(o.summary["equity_change"])
        own = [(ts, Decimal(v)) for ts, v in (o.equity or [])]
        if not own:
            continue
        shift = Decimal(0) if not curve else curve[-1][1] - own[0][1]
        k = int(o.tag.get("window", 0))
        curve.extend((ts, v + shift, k) for ts, v in own)
    return Joined(
        windows=len(tests),
        strategy_pnl=pnl,
        equity_change=change,
        start_equity=curve[0][1] if curve else None,
        end_equity=curve[-1][1] if curve else None,
        equity=curve,
        quote_asset=str(tests[0].summary["quote_asset"]) if tests[0].summary else "",
    )


__all__ = [
    "Joined",
    "Plan",
    "WalkForward",
    "Window",
    "WindowResult",
    "data_range",
    "join",
    "parse_spec",
    "plan",
    "run_walk_forward",
]
