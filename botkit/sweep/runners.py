"""The two ways a sweep chooses runs: every set of a grid, or an Optuna search.

:func:`run_grid` submits every param set at once and collects the outcomes as
they complete. :func:`optimize` drives an Optuna study (TPE, seeded) stored in
an SQLite file through Optuna's RDB storage, so a stopped search resumes:

- trials are asked in batches of the pool's size and told in trial order once
  the whole batch is back, so the same seed, space, data and batch size give
  the same trials whatever order the workers finish in;
- ``trials`` is the size the study should reach: a study that already holds
  some (finished or failed) runs only the rest;
- a trial left running by a stopped process is marked failed (user attribute
  ``interrupted``) and its params queued again, so it is run first;
- each trial keeps the run's summary, error, wall time and version in its user
  attributes, so results.csv lists the whole study after a resume;
- the study records the space, the metric, its direction, the data window and
  a hash of bot.yaml: resuming it with a different one is refused (use another
  ``--study-name``);
- a param set the strategy's ``Params`` refuse is told failed at once, with the
  reason, and never runs; a run whose metric is null (Sharpe on a short run) is
  told failed too, and if a whole first batch is null the search stops with
  :class:`MetricUnavailable` rather than optimising nothing.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botkit.sweep.cluster import Pool, SweepProgress, failed
from botkit.sweep.grid import Value, format_value, parse_value
from botkit.sweep.metrics import Direction, Metric, better
from botkit.sweep.space import Space
from botkit.sweep.tasks import RunOutcome, RunSpec, botkit_version

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)


class SweepError(ValueError):
    """A sweep that cannot start or go on: ``str()`` says why and what to do."""


class MetricUnavailable(SweepError):
    """The metric being optimised is null in every run (e.g. Sharpe on a short run)."""


@dataclass(frozen=True)
class Setup:
    """What every run of one sweep shares: bot.yaml's text and where its paths start."""

    config_text: str
    source: str
    base_dir: str
    catalog: str | None = None
    start_ns: int | None = None
    end_ns: int | None = None
    allow_errors: bool = False
    seed: int | None = None

    def spec(
        self,
        run_id: int,
        space: Space,
        params: dict[str, Value],
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        keep_equity: bool = False,
        tag: dict[str, Any] | None = None,
    ) -> RunSpec:
        return RunSpec(
            run_id=run_id,
            config_text=self.config_text,
            source=self.source,
            base_dir=self.base_dir,
            params=dict(params),
            overrides=space.overrides(params),
            start_ns=start_ns if start_ns is not None else self.start_ns,
            end_ns=end_ns if end_ns is not None else self.end_ns,
            catalog=self.catalog,
            keep_equity=keep_equity,
            allow_errors=self.allow_errors,
            seed=self.seed,
            tag=dict(tag or {}),
        )

    @property
    def config_hash(self) -> str:
        return hashlib.sha256(self.config_text.encode("utf-8")).hexdigest()[:16]


class Best:
    """The best run so far by ``metric`` (for the progress line), kept as runs arrive."""

    def __init__(self, metric: Metric, direction: Direction) -> None:
        self.metric = metric
        self.direction = direction
        self.value: Any = None
        self.outcome: RunOutcome | None = None

    def update(self, outcome: RunOutcome) -> str | None:
        """Take ``outcome`` into account; the text to show (None: nothing to show yet)."""
        if outcome.ok and outcome.summary is not None:
            v = self.metric.read(outcome.summary)
            if v is not None and (self.value is None or better(v, self.value, self.direction)):
                self.value, self.outcome = v, outcome
        if self.outcome is None or self.outcome.summary is None:
            return None
        from botkit.sweep.report import metric_text

        return f"{self.metric.name} {metric_text(self.outcome.summary, self.metric)}"


def collect(
    pool: Pool,
    progress: SweepProgress | None,
    outcomes: list[RunOutcome],
    best: Best,
    on_outcome: Callable[[RunOutcome], None] | None = None,
    feed: Iterator[RunSpec] | None = None,
) -> None:
    """Drain ``pool``: append each outcome as it arrives and update the progress line.

    ``feed`` holds runs still to submit: a few per slot are kept in flight and the
    rest submitted as runs complete, so a large grid never sits whole on the
    scheduler.
    """
    if feed is not None:
        for spec in itertools.islice(feed, max(8, 4 * pool.slots)):
            pool.submit(spec)
    for outcome in pool.results():
        outcomes.append(outcome)
        if feed is not None:
            following = next(feed, None)
            if following is not None:
                pool.submit(following)
        if on_outcome is not None:
            on_outcome(outcome)
        text = best.update(outcome)
        if progress is not None:
            progress.update(outcome, text)


def run_grid(
    pool: Pool,
    setup: Setup,
    space: Space,
    param_sets: Sequence[dict[str, Value]],
    metric: Metric,
    direction: Direction,
    progress: SweepProgress | None = None,
    first_id: int = 1,
) -> list[RunOutcome]:
    """Run every param set (run ids from ``first_id``, in the grid's order)."""
    feed = (setup.spec(first_id + i, space, p) for i, p in enumerate(param_sets))
    outcomes: list[RunOutcome] = []
    collect(pool, progress, outcomes, Best(metric, direction), feed=feed)
    return sorted(outcomes, key=lambda o: o.run_id)


# ------------------------------------------------------------------ optuna


@dataclass
class StudyRun:
    """What :func:`optimize` did: every trial of the study as an outcome, and the counts."""

    outcomes: list[RunOutcome]
    study_name: str
    storage: str
    ran: int  # trials run by this call
    resumed_from: int  # finished trials the study held before this call
    requeued: list[int] = field(default_factory=list)  # interrupted trials queued again


# The user attribute each trial keeps its run in (params, summary, error, wall time, ...).
RUN_ATTR = "botkit_run"


def storage_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def _fingerprint(
    space: Space, metric: Metric, direction: Direction, setup: Setup, start: Any, end: Any
) -> dict[str, Any]:
    return {
        "space": space.describe(),
        "metric": metric.name,
        "direction": direction,
        "config_sha256": setup.config_hash,
        "window": [start, end],
    }


def _open_study(
    path: Path, name: str, direction: Direction, seed: int | None, fingerprint: dict[str, Any]
) -> optuna.Study:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path.parent.mkdir(parents=True, exist_ok=True)
    storage = optuna.storages.RDBStorage(storage_url(path))
    sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        sampler=sampler,
        direction="maximize" if direction == "max" else "minimize",
        load_if_exists=True,
    )
    stored = study.user_attrs.get("botkit")
    if stored is None:
        study.set_user_attr("botkit", fingerprint)
    elif stored != fingerprint:
        diff = ", ".join(
            f"{k}: stored {stored.get(k)!r}, now {fingerprint.get(k)!r}"
            for k in fingerprint
            if stored.get(k) != fingerprint.get(k)
        )
        raise SweepError(
            f"the study {name!r} in {path} was made for another search ({diff}); resuming it "
            "would mix runs that cannot be compared. Give another --study-name (or --study "
            "file) to start a new study"
        )
    return study


def _finished(trial: optuna.trial.FrozenTrial) -> bool:
    return trial.state.is_finished() and not trial.user_attrs.get("interrupted")


def _requeue_interrupted(study: optuna.Study) -> list[int]:
    """Trials a stopped process left RUNNING: marked failed and their params queued again."""
    from optuna.trial import Trial, TrialState

    numbers = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        Trial(study, t._trial_id).set_user_attr("interrupted", True)
        study.tell(t.number, state=TrialState.FAIL)
        study.enqueue_trial(t.params, skip_if_exists=False)
        numbers.append(t.number)
    return numbers


def outcome_from_trial(trial: optuna.trial.FrozenTrial, space: Space) -> RunOutcome:
    """A stored trial as an outcome (what results.csv lists after a resume)."""
    record = trial.user_attrs.get(RUN_ATTR) or {}
    params = record.get("params")
    decoded: dict[str, Value] = (
        {k: parse_value(k, v) for k, v in params.items()} if params else space.decode(trial.params)
    )
    error = record.get("error")
    if not record:
        error = "no record of this trial (not run by botkit sweep)"
    return RunOutcome(
        run_id=trial.number,
        params=decoded,
        summary=record.get("summary"),
        error=error,
        wall_s=float(record.get("wall_s", 0.0)),
        version=str(record.get("version", "")),
        worker=str(record.get("worker", "")),
        seed=record.get("seed"),
        tag=dict(record.get("tag") or {}),
    )


def optimize(
    pool: Pool,
    setup: Setup,
    space: Space,
    *,
    trials: int,
    metric: Metric,
    direction: Direction,
    study_path: Path,
    study_name: str,
    seed: int | None = None,
    progress: SweepProgress | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    batch: int | None = None,
    tag: dict[str, Any] | None = None,
) -> StudyRun:
    """Grow the study ``study_name`` in ``study_path`` to ``trials`` trials (module doc)."""
    from optuna.trial import TrialState

    space.check_axes()
    distributions = space.distributions()
    if not distributions:
        raise SweepError("--optimize needs at least one param with more than one value")
    start = start_ns if start_ns is not None else setup.start_ns
    end = end_ns if end_ns is not None else setup.end_ns
    fingerprint = _fingerprint(space, metric, direction, setup, start, end)
    study = _open_study(study_path, study_name, direction, seed, fingerprint)
    requeued = _requeue_interrupted(study)
    done = sum(1 for t in study.get_trials(deepcopy=False) if _finished(t))
    resumed_from = done
    size = max(1, batch or pool.slots)
    todo = max(0, trials - done)
    if progress is not None:
        progress.add(todo)
    ran = 0
    best = Best(metric, direction)
    while done < trials:
        asked = [study.ask(distributions) for _ in range(min(size, trials - done))]
        refused: dict[int, str] = {}
        for trial in asked:
            params = space.decode(trial.params)
            reason = space.check(params)
            if reason is not None:
                refused[trial.number] = reason
                continue
            pool.submit(
                setup.spec(trial.number, space, params, start_ns=start, end_ns=end, tag=tag)
            )
        outcomes: dict[int, RunOutcome] = {}
        for outcome in pool.results():
            outcomes[outcome.run_id] = outcome
            text = best.update(outcome)
            if progress is not None:
                progress.update(outcome, text)
        null_caveats: list[str | None] = []
        for trial in asked:
            params = space.decode(trial.params)
            # One user attribute per trial (one write): what results.csv shows after a resume.
            record: dict[str, Any] = {
                "params": {k: format_value(v) for k, v in params.items()},
                "seed": setup.seed,
                "tag": dict(tag or {}),
            }
            if trial.number in refused:
                record["error"] = f"refused by the strategy's Params: {refused[trial.number]}"
                record["version"] = botkit_version()
                trial.set_user_attr(RUN_ATTR, record)
                study.tell(trial, state=TrialState.FAIL)
                if progress is not None:
                    spec = setup.spec(trial.number, space, params)
                    progress.update(failed(spec, record["error"]))
                continue
            outcome = outcomes[trial.number]
            record.update(
                wall_s=outcome.wall_s,
                version=outcome.version,
                worker=outcome.worker,
                error=outcome.error,
                summary=outcome.summary,
            )
            value = metric.read(outcome.summary) if outcome.summary is not None else None
            if outcome.ok and value is None:
                caveat = metric.caveat(outcome.summary or {})
                null_caveats.append(caveat)
                record["objective"] = f"{metric.name} is null" + (f": {caveat}" if caveat else "")
            if value is not None:
                record["value"] = repr(value) if isinstance(value, float) else format_value(value)
            trial.set_user_attr(RUN_ATTR, record)
            if not outcome.ok or value is None:
                study.tell(trial, state=TrialState.FAIL)
            else:
                study.tell(trial, float(value))
        done += len(asked)
        ran += len(asked) - len(refused)
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not complete and null_caveats and len(null_caveats) == len(outcomes):
            caveat = next((c for c in null_caveats if c), None)
            raise MetricUnavailable(
                f"--metric {metric.name} is null in every run so far"
                + (f" ({caveat})" if caveat else "")
                + "; there is nothing to optimise. Optimise strategy_pnl (the default), or "
                "give a data range long enough for it"
            )
    trials_now = [
        t for t in study.get_trials(deepcopy=False) if not t.user_attrs.get("interrupted")
    ]
    return StudyRun(
        outcomes=[outcome_from_trial(t, space) for t in trials_now if t.state.is_finished()],
        study_name=study_name,
        storage=str(study_path),
        ran=ran,
        resumed_from=resumed_from,
        requeued=requeued,
    )


__all__ = [
    "Best",
    "MetricUnavailable",
    "Setup",
    "StudyRun",
    "SweepError",
    "collect",
    "optimize",
    "outcome_from_trial",
    "run_grid",
    "storage_url",
]
