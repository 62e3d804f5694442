"""One sweep from start to end: bot.yaml and options in, runs done, results written.

:func:`sweep` is what ``botkit sweep`` calls, and the Python API::

    out = sweep(SweepOptions("bot.yaml", grid=["fast=5..20,slow=30..100:10"], workers=2))
    out.best.params, out.out_dir / "results.csv"

Everything is checked before the first run: the config, the grid and its
names, every param set against the strategies' ``Params`` (a grid; Optuna's
ranges one value at a time), the metric, the walk-forward windows. Those
mistakes raise (``ConfigError``, :class:`~botkit.sweep.grid.GridError`,
:class:`~botkit.sweep.runners.SweepError`); a failed run never does: it is a
row with its error.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from botkit.sweep.cluster import Pool, SweepProgress, open_pool
from botkit.sweep.grid import format_value, parse_grid
from botkit.sweep.metrics import DEFAULT_METRIC, Direction, Ranking, get_metric, rank
from botkit.sweep.report import (
    PARAM_PREFIX,
    heatmap,
    ranking_metric,
    render_html,
    rows,
    walk_forward_html,
    write_csv,
    write_json,
)
from botkit.sweep.runners import Setup, SweepError, optimize, run_grid
from botkit.sweep.space import bind
from botkit.sweep.tasks import RunOutcome, botkit_version
from botkit.sweep.walkforward import WalkForward, data_range, parse_spec, plan, run_walk_forward


@dataclass
class SweepOptions:
    """The options of ``botkit sweep`` (docs/sweeps.md describes each)."""

    config: str | Path
    grid: list[str]
    optimize: bool = False
    trials: int = 50
    seed: int = 0
    metric: str = DEFAULT_METRIC
    direction: Literal["max", "min"] | None = None
    study: Path | None = None
    study_name: str = "botkit-sweep"
    batch: int | None = None
    walk_forward: str | None = None
    workers: int | None = None
    scheduler: str | None = None
    catalog: str | None = None
    out: Path | None = None
    start: datetime | None = None
    end: datetime | None = None
    skip_invalid: bool = False
    allow_errors: bool = False
    progress: bool | None = None


@dataclass
class SweepOutput:
    """What a sweep did: every run, how they rank, what was written where."""

    outcomes: list[RunOutcome]
    ranking: Ranking | dict[int, Ranking]
    out_dir: Path
    meta: dict[str, Any]
    labels: list[str]
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    walk: WalkForward | None = None

    @property
    def best(self) -> RunOutcome | None:
        """The top-ranked run (a grid or Optuna sweep; None for a walk-forward)."""
        if not isinstance(self.ranking, Ranking):
            return None
        first = next((r for r in self.ranking.order if self.ranking.ranks[r] == 1), None)
        return next((o for o in self.outcomes if o.run_id == first), None)

    @property
    def exit_code(self) -> int:
        """0 when a run succeeded (a walk-forward: a test window), 1 when every run failed."""
        if self.walk is not None:
            return 0 if any(w.test is not None and w.test.ok for w in self.walk.windows) else 1
        return 0 if any(o.ok for o in self.outcomes) else 1


def _load(options: SweepOptions) -> tuple[Any, str]:
    from botkit.config import load_config

    config = load_config(options.config)
    path = config.source_path
    assert path is not None
    return config, path.read_text(encoding="utf-8")


def sweep(options: SweepOptions, pool: Pool | None = None) -> SweepOutput:
    """Run the sweep ``options`` describe on ``pool`` (default: :func:`open_pool` from
    ``workers``/``scheduler``), write the results to ``options.out`` and return them."""
    from botkit.backtest.catalog import to_ns

    t0 = time.perf_counter()
    config, text = _load(options)
    if options.start is not None or options.end is not None:
        data = config.data.model_copy(
            update={
                "start": options.start or config.data.start,
                "end": options.end or config.data.end,
            }
        )
        if data.start is not None and data.end is not None and data.end <= data.start:
            raise SweepError("--end must be after --start (or data.start)")
        config = config.model_copy(update={"data": data})
    start_ns = None if config.data.start is None else to_ns(config.data.start)
    end_ns = None if config.data.end is None else to_ns(config.data.end)
    grid = parse_grid(options.grid)
    space = bind(grid, config)
    names = [s.name for s in config.strategies]
    try:
        metric = get_metric(options.metric, names)
    except ValueError as exc:
        raise SweepError(str(exc)) from None
    direction: Direction = options.direction or metric.direction
    if options.trials < 1:
        raise SweepError("--trials must be at least 1")
    param_sets = None
    refused: list[tuple[int, str]] = []
    refused_sets: list[tuple[dict[str, Any], str]] = []
    if options.optimize:
        space.check_axes()
        if not space.distributions():
            raise SweepError("--optimize needs a param with more than one value to search")
    else:
        all_sets = grid.param_sets()
        kept, refused = space.validate(all_sets, skip_invalid=options.skip_invalid)
        param_sets = [all_sets[i] for i in kept]
        refused_sets = [(all_sets[i], why) for i, why in refused]
    the_plan = None
    if options.walk_forward is not None:
        train, test = parse_spec(options.walk_forward)
        lo, hi = data_range(config, options.catalog)
        the_plan = plan(lo, hi, train, test)
    out_dir = Path(options.out) if options.out else config.resolve_path("reports/sweep")
    for part in (out_dir, *out_dir.parents):
        if part.exists() and not part.is_dir():
            raise SweepError(f"--out {out_dir}: {part} is a file, not a folder")
        if part.exists():
            break
    out_dir.mkdir(parents=True, exist_ok=True)
    study_path = Path(options.study) if options.study else out_dir / "study.sqlite"
    setup = Setup(
        config_text=text,
        source=str(options.config),
        base_dir=str(config.base_dir),
        catalog=options.catalog,
        start_ns=start_ns,
        end_ns=end_ns,
        allow_errors=options.allow_errors,
        seed=options.seed,
    )
    progress = SweepProgress(0, enabled=options.progress)
    optuna_args: dict[str, Any] = {
        "trials": options.trials,
        "metric": metric,
        "direction": direction,
        "study_path": study_path,
        "study_name": options.study_name,
        "seed": options.seed,
        "batch": options.batch,
    }
    walk: WalkForward | None = None
    study_info: dict[str, Any] | None = None
    opened = (
        nullcontext(pool) if pool is not None else open_pool(options.scheduler, options.workers)
    )
    with opened as p:
        where = p.where
        try:
            if the_plan is not None:
                walk = run_walk_forward(
                    p,
                    setup,
                    space,
                    the_plan,
                    metric,
                    direction,
                    param_sets=param_sets,
                    optuna=optuna_args if options.optimize else None,
                    progress=progress,
                )
                outcomes = walk.outcomes
            elif options.optimize:
                study = optimize(p, setup, space, progress=progress, **optuna_args)
                outcomes = study.outcomes
                study_info = {
                    "file": str(study_path),
                    "name": study.study_name,
                    "trials": len(study.outcomes),
                    "ran_now": study.ran,
                    "resumed_from": study.resumed_from,
                    "requeued": study.requeued,
                    "storage": "optuna RDB storage (SQLite)",
                    "sampler": f"TPESampler(seed={options.seed}, constant_liar=True)",
                }
            else:
                assert param_sets is not None
                progress.add(len(param_sets))
                outcomes = run_grid(p, setup, space, param_sets, metric, direction, progress)
        finally:
            progress.close()
    labels = space.labels
    ranking: Ranking | dict[int, Ranking]
    if walk is not None:
        ranking = {
            w.index: rank(
                {
                    o.run_id: o.summary if o.ok else None
                    for o in outcomes
                    if o.tag.get("window") == w.index and o.tag.get("phase") == "train"
                },
                metric,
                direction,
            )
            for w in walk.plan.windows
        }
        first = next(iter(ranking.values()))
        ranking_meta: dict[str, Any] = {
            "metric": first.metric,
            "direction": first.direction,
            "requested": metric.name,
            "note": "; ".join(
                sorted({f"window {k}: {r.note}" for k, r in ranking.items() if r.note})
            )
            or None,
            "within": "each window's train runs",
        }
    else:
        ranking = rank({o.run_id: o.summary if o.ok else None for o in outcomes}, metric, direction)
        ranking_meta = {
            "metric": ranking.metric,
            "direction": ranking.direction,
            "requested": metric.name,
            "note": ranking.note,
        }
    header, body = rows(outcomes, ranking, labels)
    mode = "optimize (Optuna)" if options.optimize else "grid"
    meta: dict[str, Any] = {
        "config": str(options.config),
        "mode": ("walk-forward, " + mode) if walk is not None else mode,
        "grid": space.describe(),
        "ranking": ranking_meta,
        "counts": {
            "runs": len(outcomes),
            "ok": sum(1 for o in outcomes if o.ok),
            "failed": sum(1 for o in outcomes if not o.ok),
            "refused_skipped": len(refused),
        },
        "skipped": [
            {"params": {k: format_value(v) for k, v in s.items()}, "reason": why}
            for s, why in refused_sets[:100]
        ],
        "seed": options.seed,
        "botkit_version": botkit_version(),
        "worker_versions": sorted({o.version for o in outcomes if o.version}),
        "where": where,
        "wall_s": time.perf_counter() - t0,
        "data": {
            "start": None if config.data.start is None else config.data.start.isoformat(),
            "end": None if config.data.end is None else config.data.end.isoformat(),
            "catalog": options.catalog or str(config.resolve_path(config.data.catalog)),
        },
        "study": study_info,
    }
    output = SweepOutput(outcomes, ranking, out_dir, meta, labels, header, body, walk)
    best = output.best
    if best is not None and best.summary is not None:
        used = ranking_metric(ranking_meta["metric"], outcomes)
        meta["best"] = {
            "run": best.run_id,
            "params": {k: format_value(v) for k, v in best.params.items()},
            ranking_meta["metric"]: _json_value(used.read(best.summary)),
            "strategy_pnl": best.summary["strategy_pnl"]["total"],
        }
    walk_html = ""
    if walk is not None and options.optimize:
        meta["study"] = {"file": str(study_path), "names": walk.studies}
    if walk is not None:
        meta["walk_forward"] = _walk_meta(walk, labels)
        png = _joined_png(walk)
        walk_html = walk_forward_html(walk, labels, png)
        _write_walk_files(out_dir, walk, labels)
    write_csv(out_dir / "results.csv", header, body)
    heat_metric = ranking_metric(ranking_meta["metric"], outcomes)
    heat = (
        heatmap(outcomes, labels, heat_metric, ranking_meta["direction"]) if walk is None else None
    )
    (out_dir / "results.html").write_text(
        render_html(meta, header, body, heat, walk_html), encoding="utf-8"
    )
    write_json(out_dir / "sweep.json", meta)
    return output


def _json_value(v: Any) -> Any:
    from decimal import Decimal

    from botkit.backtest.report import dec_str

    return dec_str(v) if isinstance(v, Decimal) else v


def _walk_meta(walk: WalkForward, labels: list[str]) -> dict[str, Any]:
    from botkit.backtest.report import dec_str, iso_utc

    j = walk.joined
    return {
        "train": walk.plan.train_ns // 1_000_000_000,
        "test": walk.plan.test_ns // 1_000_000_000,
        "range": [iso_utc(walk.plan.start), iso_utc(walk.plan.end)],
        "unused_tail_s": walk.plan.unused_ns / 1e9,
        "windows": [
            {
                "window": r.window.index,
                "train": [iso_utc(r.window.train_start), iso_utc(r.window.train_end)],
                "test": [iso_utc(r.window.test_start), iso_utc(r.window.test_end)],
                "chosen": None
                if r.chosen is None
                else {k: format_value(v) for k, v in r.chosen.items()},
                "chosen_run": r.chosen_run,
                "ranked_by": r.ranked_by,
                "train_value": _json_value(r.train_value),
                "test_run": None if r.test is None else r.test.run_id,
                "test_strategy_pnl": r.test.summary["strategy_pnl"]["total"]
                if r.test is not None and r.test.summary is not None
                else None,
                "error": (r.test.error if r.test is not None else r.error),
            }
            for r in walk.windows
        ],
        "joined": None
        if j is None
        else {
            "windows": j.windows,
            "strategy_pnl": dec_str(j.strategy_pnl),
            "equity_change": dec_str(j.equity_change),
            "quote_asset": j.quote_asset,
            "how": (
                "strategy PnL and equity change: the exact sums of the test windows'; "
                "equity: the test windows' curves chained, each shifted by a constant to "
                "start where the previous one ended (oos_equity.csv)"
            ),
        },
        "studies": walk.studies,
    }


def _write_walk_files(out_dir: Path, walk: WalkForward, labels: list[str]) -> None:
    from botkit.backtest.report import dec_str, iso_utc

    header = [
        "window",
        "train_start",
        "train_end",
        "test_start",
        "test_end",
        *(PARAM_PREFIX + lbl for lbl in labels),
        "chosen_run",
        "ranked_by",
        "train_value",
        "test_run",
        "test_strategy_pnl",
        "test_equity_change",
        "test_fills",
        "error",
    ]
    body = []
    for r in walk.windows:
        w, t = r.window, r.test
        s = t.summary if t is not None else None
        body.append(
            [
                str(w.index),
                iso_utc(w.train_start),
                iso_utc(w.train_end),
                iso_utc(w.test_start),
                iso_utc(w.test_end),
                *(format_value(r.chosen[lbl]) if r.chosen else "" for lbl in labels),
                "" if r.chosen_run is None else str(r.chosen_run),
                r.ranked_by or "",
                "" if r.train_value is None else str(_json_value(r.train_value)),
                "" if t is None else str(t.run_id),
                s["strategy_pnl"]["total"] if s else "",
                s["equity_change"] if s else "",
                str(s["fills"]) if s else "",
                (t.error if t is not None else r.error) or "",
            ]
        )
    write_csv(out_dir / "walkforward.csv", header, body)
    j = walk.joined
    eq = [] if j is None else [[iso_utc(ts), str(ts), str(k), dec_str(v)] for ts, v, k in j.equity]
    write_csv(out_dir / "oos_equity.csv", ["ts", "ts_ns", "window", "equity"], eq)


def _joined_png(walk: WalkForward) -> bytes | None:
    j = walk.joined
    if j is None or not j.equity:
        return None
    from botkit.backtest.report import render_equity_png

    return render_equity_png([(ts, v) for ts, v, _ in j.equity], j.quote_asset)


__all__ = ["SweepOptions", "SweepOutput", "sweep"]
