"""One sweep task: one backtest, run where a Dask worker (or this process) runs it.

A :class:`RunSpec` is all that travels to a worker: bot.yaml's text, the folder
its relative paths are read from, the params to set and the data window. No
market data goes through the scheduler: the worker parses the text, reads the
catalog at ``data.catalog`` on its own filesystem (or ``catalog``, the path as
workers see it) and runs :func:`botkit.backtest.runner.run_backtest` with no
report written. What comes back is a :class:`RunOutcome`: the run's summary
(the dict summary.json holds), its wall time, the worker's botkit version, and
the equity curve when asked for (walk-forward test windows). A run that fails
(a data error, an exception, strategy hooks that raised) comes back with its
``error``; it never raises.

Workers need botkit installed (the same version: each outcome records the
worker's), the strategies bot.yaml names, the catalog at the path shipped, and
the environment variables bot.yaml reads (``${VAR}``).
"""

from __future__ import annotations

import functools
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botkit.sweep.grid import Value

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RunSpec:
    """One backtest to run: bot.yaml (as text) with ``overrides`` applied.

    ``overrides`` maps a strategy's index in bot.yaml to the params to set on it;
    ``params`` is the same set as the sweep names it (``fast``, ``trend.slow``),
    echoed back in the outcome. ``start_ns``/``end_ns`` (end exclusive) replace
    ``data.start``/``data.end`` when set.
    """

    run_id: int
    config_text: str
    source: str
    base_dir: str
    params: dict[str, Value]
    overrides: dict[int, dict[str, Value]]
    start_ns: int | None = None
    end_ns: int | None = None
    catalog: str | None = None
    keep_equity: bool = False
    allow_errors: bool = False
    seed: int | None = None
    tag: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunOutcome:
    """What one run gave: ``summary`` (None when it failed before a result), ``error``."""

    run_id: int
    params: dict[str, Value]
    summary: dict[str, Any] | None
    error: str | None
    wall_s: float
    version: str
    worker: str
    seed: int | None = None
    equity: list[tuple[int, str]] | None = None
    tag: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and self.summary is not None


def botkit_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("botkit")
    except PackageNotFoundError:
        return "unknown"


def ns_to_datetime(ts_ns: int) -> datetime:
    """Exact to the microsecond (bot.yaml's date/times are no finer)."""
    return _EPOCH + timedelta(microseconds=ts_ns // 1000)


@functools.lru_cache(maxsize=8)
def _parsed(text: str, source: str, base_dir: str) -> Any:
    # A worker runs many tasks of one sweep: parse (and resolve the strategies) once.
    from botkit.config import parse_config

    return parse_config(text, source=source, base_dir=base_dir)


def build_config(spec: RunSpec) -> Any:
    """The :class:`~botkit.config.BotConfig` the spec describes (raises ``ConfigError``)."""
    config = _parsed(spec.config_text, spec.source, spec.base_dir)
    return apply(config, spec.overrides, spec.start_ns, spec.end_ns, spec.catalog)


def apply(
    config: Any,
    overrides: dict[int, dict[str, Value]],
    start_ns: int | None = None,
    end_ns: int | None = None,
    catalog: str | None = None,
) -> Any:
    """``config`` with the params set on its strategies and the data window and catalog
    replaced; the strategies' resolved classes are kept (``model_copy``)."""
    strategies = list(config.strategies)
    for index, params in overrides.items():
        sc = strategies[index]
        strategies[index] = sc.model_copy(update={"params": {**sc.params, **params}})
    update: dict[str, Any] = {"strategies": tuple(strategies)}
    data: dict[str, Any] = {}
    if start_ns is not None:
        data["start"] = ns_to_datetime(start_ns)
    if end_ns is not None:
        data["end"] = ns_to_datetime(end_ns)
    if catalog is not None:
        data["catalog"] = Path(catalog)
    if data:
        update["data"] = config.data.model_copy(update=data)
    return config.model_copy(update=update)


def run_task(spec: RunSpec) -> RunOutcome:
    """Run one backtest (on a worker); every failure is returned as ``error``."""
    from botkit.backtest.report import equity_curve
    from botkit.backtest.runner import run_backtest

    t0 = time.perf_counter()
    summary: dict[str, Any] | None = None
    equity: list[tuple[int, str]] | None = None
    error: str | None = None
    try:
        config = build_config(spec)
        result, summary = run_backtest(config, None, progress=False, report=False)
        errors = summary["strategy_errors"]
        if errors["total"] and not spec.allow_errors:
            error = (
                f"strategies raised {errors['total']:,} exception(s) "
                f"({', '.join(errors['by_hook'])}); --allow-errors accepts such runs"
            )
        if spec.keep_equity:
            from botkit.backtest.report import dec_str

            equity = [(ts, dec_str(v)) for ts, v in equity_curve(result)]
    except Exception as exc:
        error = _describe(exc)
    return RunOutcome(
        run_id=spec.run_id,
        params=dict(spec.params),
        summary=summary,
        error=error,
        wall_s=time.perf_counter() - t0,
        version=botkit_version(),
        worker=f"{socket.gethostname()}:{os.getpid()}",
        seed=spec.seed,
        equity=equity,
        tag=dict(spec.tag),
    )


def _describe(exc: BaseException) -> str:
    from botkit.backtest.catalog import CatalogError
    from botkit.backtest.runner import BacktestDataError
    from botkit.config import ConfigError

    text = str(exc).strip() or repr(exc)
    if isinstance(exc, ConfigError | BacktestDataError | CatalogError):
        return text
    return f"{type(exc).__name__}: {text}"


__all__ = ["RunOutcome", "RunSpec", "apply", "botkit_version", "build_config", "run_task"]
