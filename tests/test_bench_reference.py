"""The reference EMA-cross workload gives the reference result exactly (bench/backtest_ticks.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, SHARED


def test_one_million_ticks_reproduce_the_reference_fills_and_pnl(tmp_path: Path) -> None:
    assert (SHARED / "bench-peers" / "gen_data.py").exists(), "shared/ must sit beside the repo"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "backtest_ticks.py"), "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    record = json.loads(next(line for line in run.stdout.splitlines() if line.startswith("{")))
    assert record["fills"] == 28_804
    assert record["pnl"] == "-0.3027"
    assert record["equity_pnl"] == "-0.3027"
    assert record["rejects"] == {}
    assert "MATCH" in run.stdout
