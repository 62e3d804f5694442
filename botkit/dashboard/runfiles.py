"""The series a backtest leaves beside its report, for the dashboard's charts.

The report (``botkit.backtest.report``) draws the equity curve into
``equity.png``; the dashboard draws it itself, so ``botkit backtest`` also
writes, into the same output folder:

- ``equity.csv``: ``ts, ts_ns, equity, buy_and_hold, starting_balances_held``,
  one row per equity sample (the curve the metrics use, anchored at the run's
  start and end); the benchmarks as of each sample (empty where unknown).
  Equity is exact; the benchmarks are floats, as the chart's are;
- ``prices.csv``: ``ts, ts_ns, symbol, price``, the last trade price of each
  symbol at every equity sample (the price chart the trades are drawn on);
- ``run.json``: what produced the run: each strategy's name, ``use`` and
  params, the data range, and the whole config as ``botkit`` prints it
  (secrets as ``***``, the ``dashboard:`` section left out).

A folder without them (a paper run's report, an older run) still opens in the
dashboard: ``botkit.dashboard.reports`` rebuilds an approximate curve from
``fills.csv`` and says so.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from botkit.backtest.result import BacktestResult
    from botkit.config import BotConfig

EQUITY_CSV = "equity.csv"
PRICES_CSV = "prices.csv"
RUN_JSON = "run.json"
EQUITY_COLUMNS = ("ts", "ts_ns", "equity", "buy_and_hold", "starting_balances_held")
PRICE_COLUMNS = ("ts", "ts_ns", "symbol", "price")


def _as_of(line: Sequence[tuple[int, float]], times: Sequence[int]) -> list[str]:
    """The value of a step line at each of ``times`` (its last point at or before), or ''."""
    if not line:
        return [""] * len(times)
    at = np.searchsorted(np.asarray([t for t, _ in line], dtype=np.int64), times, "right") - 1
    values = [repr(float(v)) for _, v in line]
    return [values[i] if i >= 0 else "" for i in at.tolist()]


def run_params(config: BotConfig) -> dict[str, Any]:
    """``run.json``'s content: the strategies and their params, the data range, the config."""
    full = config.redacted_dict()
    full.pop("dashboard", None)
    data = full.get("data") or {}
    return {
        "strategies": [
            {"name": s["name"], "use": s["use"], "params": s.get("params") or {}}
            for s in full.get("strategies") or []
        ],
        "data": {k: data.get(k) for k in ("venue", "start", "end", "kinds")},
        "config": full,
    }


def write_run_files(result: BacktestResult, config: BotConfig, out_dir: Path) -> None:
    """Write ``equity.csv``, ``prices.csv`` and ``run.json`` into ``out_dir`` (module doc)."""
    from botkit.backtest.report import benchmark_lines, dec_str, equity_curve, iso_column

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    curve = equity_curve(result)
    lines = benchmark_lines(result)
    buy_hold = next((v for k, v in lines.items() if k.startswith("buy and hold")), [])
    held = lines.get("starting balances held", [])
    times = [ts for ts, _ in curve]
    with (out / EQUITY_CSV).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(EQUITY_COLUMNS)
        w.writerows(
            zip(
                iso_column(times),
                times,
                [dec_str(equity) for _, equity in curve],
                _as_of(buy_hold, times),
                _as_of(held, times),
            )
        )
    with (out / PRICES_CSV).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(PRICE_COLUMNS)
        for symbol, path in sorted(result.prices.items()):
            stamps = [ts for ts, _ in path]
            w.writerows(
                zip(
                    iso_column(stamps),
                    stamps,
                    repeat(symbol),
                    [repr(float(price)) for _, price in path],
                )
            )
    (out / RUN_JSON).write_text(
        json.dumps(run_params(config), indent=2, default=str) + "\n", encoding="utf-8"
    )


__all__ = [
    "EQUITY_COLUMNS",
    "EQUITY_CSV",
    "PRICES_CSV",
    "PRICE_COLUMNS",
    "RUN_JSON",
    "run_params",
    "write_run_files",
]
