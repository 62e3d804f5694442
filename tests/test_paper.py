"""A paper run leaves what a backtest leaves: journal, report, and a log an operator can read.

The run is the real `botkit run` in a subprocess: market data from the BlockTrade
protocol simulator on 127.0.0.1 (`live.simulator: true`), orders filled by the
in-process matching engine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from botkit_strategies.ema_cross import EmaCross
from conftest import ROOT

from botkit import Instrument, Side
from botkit.events import Trade
from botkit.journal import Journal
from botkit.node import build_sim_engine, status_line, strategy_pnl
from botkit.plugins import StrategySpec


def paper_yaml(tmp: Path) -> Path:
    cfg = tmp / "paper.yaml"
    cfg.write_text(f"""
mode: paper
log_level: info
venue:
  name: blocktrade
instruments:
  - symbol: BTC/USDT
    tick_size: "0.01"
    lot_size: "0.00001"
    min_notional: "1"        # the simulated venue says 10: it wins, with a warning
account:
  balances: {{USDT: "100000", BTC: "1"}}  # a spot account trades only what it holds
strategies:
  - name: maker
    use: market_maker
    params: {{symbol: BTC/USDT, size: "0.01", half_spread_ticks: 1}}
    timers: {{refresh: 1s}}
risk:
  post_only: slide
  max_open_orders: 1         # the maker quotes both sides: one of them is refused
output:
  dir: {tmp / "report"}
live:
  journal: {tmp / "journal.sqlite"}
  simulator: true
  status_interval: 1s
""")
    return cfg


def test_a_paper_run_journals_reports_and_logs_its_status(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "botkit.cli", "run", str(paper_yaml(tmp_path)), "--duration", "6s"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["fills"] > 0 and summary["rejects"]["max_open_orders"] > 0

    # Every order (rejected ones included) and every fill is in the journal.
    with Journal(tmp_path / "journal.sqlite", venue="blocktrade", create=False) as journal:
        orders, fills = journal.orders(), journal.fills()
    assert len(orders) == summary["orders"] and len(fills) == summary["fills"]
    assert {o.strategy for o in orders} == {"maker"} and {f.strategy for f in fills} == {"maker"}
    assert not [o for o in orders if not o.status.is_closed]  # cancelled on stop, then flushed

    # The backtest's report, in output.dir.
    report = tmp_path / "report"
    for name in ("summary.json", "fills.csv", "orders.csv", "report.html", "equity.png"):
        assert (report / name).stat().st_size > 0, name
    assert json.loads((report / "summary.json").read_text())["fills"] == summary["fills"]

    log = run.stderr
    status = [line for line in log.splitlines() if "INFO botkit.node: status: pnl " in line]
    assert len(status) >= 3, log[-3000:]  # one a second over six seconds
    assert "open orders" in status[-1] and "rejects max_open_orders" in status[-1]
    assert "rejected [max_open_orders]" in log
    overrides = [line for line in log.splitlines() if "WARNING" in line and "min_notional" in line]
    assert len(overrides) == 1 and "min_notional 1 -> 10" in overrides[0], log[-3000:]


def test_paper_runs_sharing_a_journal_keep_each_runs_fills(tmp_path: Path) -> None:
    # The matching engine numbers its trades from 1 each run; the journal keeps both runs.
    cfg = paper_yaml(tmp_path)
    counts = []
    for _ in range(2):
        run = subprocess.run(
            [sys.executable, "-m", "botkit.cli", "run", str(cfg), "--duration", "3s"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        counts.append(json.loads(run.stdout.strip().splitlines()[-1])["fills"])
    with Journal(tmp_path / "journal.sqlite", venue="blocktrade", create=False) as journal:
        assert journal.fill_count() == sum(counts) > 0


def test_the_status_line_counts_the_strategies_pnl_apart_from_holdings(btc: Instrument) -> None:
    # Long 0.1 bought at 110 (taker fee 0.022), marked at 120: +1 - 0.022. The 1 BTC held
    # from the start gains 10 as well, which the equity change shows and the PnL does not.
    ema = EmaCross({"symbol": "BTC/USDT", "fast": 2, "slow": 4, "size": "0.1"})
    engine = build_sim_engine(
        {"BTC/USDT": btc},
        [StrategySpec("ema", ema)],
        balances={"USDT": Decimal(1000), "BTC": Decimal(1)},
    )
    prices = (110, 110, 110, 110, 110, 120)
    engine.run_backtest([[Trade((i + 1) * 10**9, "BTC/USDT", p, 1.0, Side.SELL, i)
                          for i, p in enumerate((100, 100, 100, 100, *prices))]])  # fmt: skip
    assert strategy_pnl(engine) == Decimal("0.978")
    line = status_line(engine)
    assert line.startswith("pnl +0.98 USDT (equity +")
    assert "positions ema:BTC/USDT 0.1" in line and "fills 1 | rejects 0" in line
