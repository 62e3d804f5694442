"""``botkit sweep``: many backtests of one bot.yaml, on Dask distributed.

One job per module:

- ``grid``: the ``--grid`` syntax, text to axes to param sets;
- ``space``: a grid bound to bot.yaml (which strategy each name sets), every
  param set checked with the strategy's ``Params``, Optuna distributions;
- ``metrics``: what runs are ranked by, and the ranking (null metrics unranked);
- ``tasks``: one run, as shipped to a worker (``RunSpec``) and as it comes back
  (``RunOutcome``);
- ``cluster``: the Dask ``LocalCluster`` or scheduler, the pools that run specs,
  the progress line;
- ``runners``: a grid (every set) and an Optuna study (SQLite, resumable);
- ``walkforward``: train/test windows, the choice per window, the join;
- ``report``: results.csv, results.html, sweep.json;
- ``run``: one sweep end to end (``sweep(SweepOptions(...))``); ``cli``: the command.

docs/sweeps.md is the user's guide.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Loaded on first use, so `botkit --help` (which registers `sweep`) stays quick.
_EXPORTS = {
    "Grid": "botkit.sweep.grid",
    "GridError": "botkit.sweep.grid",
    "parse_grid": "botkit.sweep.grid",
    "SweepOptions": "botkit.sweep.run",
    "SweepOutput": "botkit.sweep.run",
    "sweep": "botkit.sweep.run",
    "MetricUnavailable": "botkit.sweep.runners",
    "SweepError": "botkit.sweep.runners",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'botkit.sweep' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
