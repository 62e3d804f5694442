"""The `botkit` command as a user runs it: the shipped backtest, and bad bot.yaml files."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from conftest import ROOT


def botkit(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "botkit.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_shipped_backtest_writes_a_report_with_fills_from_every_strategy(tmp_path: Path) -> None:
    out = tmp_path / "report"
    run = botkit("backtest", "bot.yaml", "--out", str(out), "--no-progress")
    assert run.returncode == 0, run.stderr
    assert "PnL" in run.stdout or "pnl" in run.stdout.lower()
    for name in ("summary.json", "fills.csv", "orders.csv", "equity.png", "report.html"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    per = summary["per_strategy"]
    assert set(per) == {"trend", "maker", "ladder"}
    assert all(per[name]["fills"] > 0 for name in per), per
    assert summary["events"] > 100_000


def test_strategies_lists_the_examples() -> None:
    run = botkit("strategies")
    assert run.returncode == 0, run.stderr
    for name in ("ema_cross", "market_maker", "grid"):
        assert name in run.stdout


BAD = {
    "unknown strategy": ("use: ema_cross", "use: ema_crosss", "ema_cross"),
    "negative size": ('size: "0.05"', 'size: "-0.05"', "size"),
    "misspelled key": ("max_open_orders: 100", "max_open_ordrs: 100", "max_open_orders"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_bot_yaml_gives_one_paragraph_and_exit_status_2(case: str, tmp_path: Path) -> None:
    old, new, must_name = BAD[case]
    text = (ROOT / "bot.yaml").read_text()
    assert old in text
    (tmp_path / "bot.yaml").write_text(text.replace(old, new, 1))
    run = botkit("backtest", str(tmp_path / "bot.yaml"))
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert must_name in run.stderr
    assert len(run.stderr.strip().splitlines()) <= 3, run.stderr


def test_a_limit_order_without_a_price_in_bot_yaml_is_refused(tmp_path: Path) -> None:
    # The grid can take an explicit ladder of orders; a limit order needs its price.
    text = (
        (ROOT / "bot.yaml")
        .read_text()
        .replace(
            "use: grid\n    params:\n      symbol: BTC/USDT\n",
            "use: grid\n    params:\n      symbol: BTC/USDT\n      orders:\n"
            '        - {side: buy, size: "0.01", type: limit}\n',
        )
    )
    (tmp_path / "bot.yaml").write_text(text)
    run = botkit("backtest", str(tmp_path / "bot.yaml"))
    assert run.returncode == 2, run.stderr
    assert "price" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize("mode", ["live", "paper"])
def test_the_documented_live_variant_runs_against_the_local_simulator(
    mode: str, tmp_path: Path
) -> None:
    # live: orders go to the simulated venue over HTTP; paper: the same live feed,
    # but orders fill in the in-process matching engine.
    text = (ROOT / "examples" / "live-sim.yaml").read_text()
    cfg = tmp_path / "live.yaml"
    cfg.write_text(
        text.replace(
            "journal: state/live-sim.sqlite", f"journal: {tmp_path / 'journal.sqlite'}"
        ).replace("mode: live", f"mode: {mode}")
    )
    run = botkit("run", str(cfg), "--duration", "6s")
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["mode"] == mode and summary["orders"] > 0 and summary["events"] > 0
    assert "Traceback" not in run.stderr


def journaled_orders(journal: Path) -> int:
    """Orders in a journal another process is writing (read-only; 0 until it exists)."""
    import sqlite3

    if not journal.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=1)) as db:
            return int(db.execute("SELECT count(*) FROM orders").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not written yet
        return 0


def test_sigterm_stops_a_live_run_cleanly(tmp_path: Path) -> None:
    import signal
    import time

    from botkit.journal import Journal

    journal = tmp_path / "journal.sqlite"
    cfg = tmp_path / "live.yaml"
    cfg.write_text(
        (ROOT / "examples" / "live-sim.yaml")
        .read_text()
        .replace("journal: state/live-sim.sqlite", f"journal: {journal}")
    )
    bot = subprocess.Popen(
        [sys.executable, "-m", "botkit.cli", "run", str(cfg)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Stop it once it has traded: a fixed wait would race a slow start on a busy machine.
    deadline = time.monotonic() + 60
    while not journaled_orders(journal):
        assert bot.poll() is None, bot.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "no order journaled within 60 s"
        time.sleep(0.2)
    time.sleep(1)
    bot.send_signal(signal.SIGTERM)
    out, err = bot.communicate(timeout=60)
    assert bot.returncode == 0, err[-3000:]
    assert json.loads(out.strip().splitlines()[-1])["orders"] > 0
    with Journal(journal, venue="blocktrade") as j:
        assert j.orders() and not j.orders(open_only=True)  # cancelled on stop, and flushed


HOOK_MISTAKES = {
    # A marked method whose name is no hook: pluggy would refuse it mid-run.
    "misspelled hook": (
        "    @hookimpl\n    def on_trades(self, ctx, trade):\n        return None\n",
        ["'on_trades'", "did you mean 'on_trade'?"],
    ),
    # A hook without the marker: it would silently never be called.
    "unmarked hook": (
        "    def on_fill(self, ctx, fill):\n        return None\n",
        ["'on_fill'", "@botkit.hookimpl"],
    ),
    # Both at once: a near-miss name without the marker.
    "unmarked misspelled hook": (
        "    def on_tick(self, ctx, trade):\n        return None\n",
        ["'on_tick'", "on_trade", "on_timer"],
    ),
}


@pytest.mark.parametrize("case", sorted(HOOK_MISTAKES))
def test_a_hook_mistake_in_a_strategy_is_a_config_error_naming_the_method(
    case: str, tmp_path: Path
) -> None:
    body, must_say = HOOK_MISTAKES[case]
    (tmp_path / "mine.py").write_text(
        "from botkit import hookimpl\n\n\nclass Mine:\n"
        "    def __init__(self, params):\n        self.params = params\n\n"
        "    @hookimpl\n    def on_bar(self, ctx, bar):\n        return None\n\n" + body
    )
    text = (ROOT / "bot.yaml").read_text()
    (tmp_path / "bot.yaml").write_text(text.replace("use: ema_cross", "use: mine.py:Mine", 1))
    run = botkit("backtest", str(tmp_path / "bot.yaml"), "--no-progress")
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert "strategies[0]" in run.stderr and "Mine" in run.stderr
    for words in must_say:
        assert words in run.stderr, run.stderr
