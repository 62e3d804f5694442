"""The backtest browser's data: what `botkit backtest` writes for the charts, and what the
dashboard reads back from run folders and sweeps."""

from __future__ import annotations

import csv
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from botkit.cli import main
from botkit.dashboard.reports import NotFound, Reports, drawdown, reduce, split_columns

from . import data


@pytest.fixture
def run(bot: Path, tmp_path: Path) -> Path:
    """A real backtest of the shipped bot.yaml on the 15-minute sample."""
    out = tmp_path / "reports" / "sample"
    assert main(["backtest", str(bot), "--out", str(out), "--no-progress"]) == 0
    return out


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_backtest_leaves_its_equity_prices_and_params_for_the_dashboard(run: Path) -> None:
    summary = json.loads((run / "summary.json").read_text())
    equity = rows(run / "equity.csv")
    # The curve the metrics use: from the starting equity to the final, exact.
    assert equity[0]["equity"] == summary["initial_equity"]
    assert equity[-1]["equity"] == summary["final_equity"]
    assert summary["equity_samples"] <= len(equity) <= summary["equity_samples"] + 2
    bh = summary["benchmark"]["buy_and_hold"]
    assert float(equity[-1]["buy_and_hold"]) == pytest.approx(float(bh["final_equity"]))
    prices = rows(run / "prices.csv")
    assert {p["symbol"] for p in prices} == {"BTC/USDT"}
    assert Decimal(prices[-1]["price"]) == Decimal(bh["end_price"])
    params = json.loads((run / "run.json").read_text())
    assert params["strategies"][0] == {
        "name": "trend",
        "use": "ema_cross",
        "params": {"symbol": "BTC/USDT", "fast": 20, "slow": 200, "size": "0.05"},
    }


def test_a_run_reads_back_with_its_curves_trades_and_params(run: Path) -> None:
    reports = Reports(run.parent)
    listing = reports.listing()
    assert [r["id"] for r in listing["runs"]] == ["sample"] and listing["sweeps"] == []
    line = listing["runs"][0]
    summary = json.loads((run / "summary.json").read_text())
    assert line["fills"] == summary["fills"] and line["series"] is True
    got = reports.run("sample")
    assert not got["approximate"]
    assert len(got["equity"]) == len(rows(run / "equity.csv"))
    deepest = min(v for _, v in got["drawdown"])
    assert -deepest == pytest.approx(summary["max_drawdown"]["fraction"])
    assert len(got["trades"]) == summary["fills"] == len(reports.fills("sample")["rows"])
    assert got["params"]["source"] == "run.json"


def test_a_folder_without_the_series_gets_an_approximate_curve_from_its_fills(
    run: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "reports" / "bare"
    bare.mkdir()
    for name in ("summary.json", "fills.csv"):
        shutil.copy(run / name, bare / name)
    summary = json.loads((run / "summary.json").read_text())
    got = Reports(tmp_path / "reports").run("bare")
    assert got["approximate"]
    assert got["equity"][0][1] == float(summary["initial_equity"])
    assert got["equity"][-1][1] == pytest.approx(float(summary["final_equity"]))
    bh = summary["benchmark"]["buy_and_hold"]
    assert got["buy_and_hold"][-1][1] == pytest.approx(float(bh["final_equity"]))
    assert got["params"]["strategies"][0] == {"name": "trend", "params": None}


def test_ids_never_leave_the_reports_folder(run: Path, tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("{}")  # a run just outside the root
    reports = Reports(run.parent)
    for rid in ("..", "../reports/..", "/etc", "sample/../..", "nope"):
        with pytest.raises(NotFound):
            reports.run(rid)
    with pytest.raises(NotFound):
        reports.sweep("sample")  # a run is no sweep


def test_a_sweeps_params_and_metrics_are_told_apart_and_rows_link_to_runs(tmp_path: Path) -> None:
    made = data.sweep(tmp_path / "sw", fasts=(5, 10), slows=(50, 100, 200))
    data.big_run(tmp_path / "sw" / "run-003", fills=10)
    got = Reports(tmp_path).sweep("sw")
    assert got["params"] == ["fast", "slow", "size"]
    assert got["metrics"] == ["strategy_pnl", "return", "sharpe", "max_drawdown", "fills"]
    assert got["metric"] == "sharpe" and len(got["rows"]) == len(made) == 12
    assert got["runs"] == {"2": "sw/run-003"}
    listing = Reports(tmp_path).listing()
    assert [s["id"] for s in listing["sweeps"]] == ["sw"]
    assert listing["sweeps"][0]["rows"] == 12
    # A run inside a sweep, with no run.json, takes its params from its row.
    params = Reports(tmp_path).run("sw/run-003")["params"]
    assert params["sweep_params"] == {"fast": "5", "slow": "100", "size": "0.01"}


def test_column_names_can_say_param_outright() -> None:
    header = ["param.fast", "param.slow", "pnl", "trades", "label"]
    assert split_columns(header, header[:4]) == (["param.fast", "param.slow"], ["pnl", "trades"])
    assert split_columns(["a", "b"], ["a", "b"]) == (["a"], ["b"])


def test_long_series_are_reduced_keeping_their_extremes() -> None:
    points = [[i, float((i * 7919) % 1000)] for i in range(100_000)]
    small = reduce(points, 3000)
    assert 2000 < len(small) <= 3000
    assert min(p[1] for p in small) == 0.0 and max(p[1] for p in small) == 999.0
    assert small[0] == points[0] and small[-1][0] <= points[-1][0]
    assert drawdown([[0, 100.0], [1, 110.0], [2, 99.0], [3, 120.0]]) == [
        [0, 0.0],
        [1, 0.0],
        [2, pytest.approx(-0.1)],
        [3, 0.0],
    ]
