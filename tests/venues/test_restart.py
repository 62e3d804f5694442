"""Kill -9 a live bot mid-run and start it again on the same journal: nothing lost or doubled."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from botkit.journal import Journal
from botkit.simulator.server import free_port

HERE = Path(__file__).resolve().parent


def get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as r:  # 127.0.0.1 only
        return json.loads(r.read())


def journal_fills(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("select count(*) from fills").fetchone()[0])
    except sqlite3.Error:
        return 0


def write_config(tmp: Path, port: int, journal_sync: str = "full") -> Path:
    cfg = tmp / "bot.yaml"
    cfg.write_text(f"""
mode: live
log_level: warning
venue:
  name: blocktrade
  base_url: http://127.0.0.1:{port}
  ws_url: ws://127.0.0.1:{port}
  api_key: ${{BT_KEY}}
  api_secret: ${{BT_SECRET}}
instruments:
  - symbol: BTC/USDT
    tick_size: "0.01"
    lot_size: "0.00001"
strategies:
  - name: churn
    use: {HERE / "churn.py"}:Churn
    params: {{symbol: BTC/USDT, size: "0.01"}}
    timers: {{trade: 100ms}}
live:
  journal: {tmp / "journal.sqlite"}
  journal_sync: {journal_sync}
  cancel_on_stop: true
""")
    return cfg


@pytest.mark.parametrize("journal_sync", ["full", "normal"])
def test_sigkill_and_restart_lose_nothing_and_double_nothing(
    tmp_path: Path, journal_sync: str
) -> None:
    """With ``normal``, orders are written before their send to the journal's order log
    (``Journal.stage_order``), not committed: the kill may land with some only there."""
    from botkit.simulator.blocktrade import DEFAULT_API_KEY, DEFAULT_API_SECRET

    port = free_port()
    env = dict(os.environ, BT_KEY=DEFAULT_API_KEY, BT_SECRET=DEFAULT_API_SECRET)
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "botkit.cli",
            "venue-sim",
            "--venue",
            "blocktrade",
            "--port",
            str(port),
            "--seed",
            "5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                get(f"{base}/__sim__/state")
                break
            except OSError:
                assert time.monotonic() < deadline, "simulator did not start"
                time.sleep(0.1)
        cfg = write_config(tmp_path, port, journal_sync)
        journal = tmp_path / "journal.sqlite"
        run = [sys.executable, "-m", "botkit.cli", "run", str(cfg)]

        bot = subprocess.Popen(
            [*run, "--duration", "60s"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while journal_fills(journal) < 30:
            assert bot.poll() is None, bot.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "no fills in time"
            time.sleep(0.2)
        os.kill(bot.pid, signal.SIGKILL)  # mid-run: orders and fills in flight
        bot.wait()
        with Journal(journal, venue="blocktrade") as j:
            nonce_before = j.last_nonce("blocktrade:nonce")

        again = subprocess.run(
            [*run, "--duration", "4s"], env=env, capture_output=True, text=True, timeout=120
        )
        assert again.returncode == 0, again.stderr[-3000:]

        venue_trades = get(f"{base}/__sim__/trades")
        state = get(f"{base}/__sim__/state")
        rejected = get(f"{base}/__sim__/rejected")
        with Journal(journal, venue="blocktrade") as j:
            fills = j.fills()
            nonce_after = j.last_nonce("blocktrade:nonce")
            positions = j.positions()
            orders = j.orders()
        assert isinstance(venue_trades, list) and isinstance(state, dict)
        # Every execution the venue made is in the journal, exactly once.
        assert len(fills) == len(venue_trades) >= 30
        assert sorted((f.price, f.size, f.side.value) for f in fills) == sorted(
            (Decimal(t["price"]), Decimal(t["size"]), t["side"]) for t in venue_trades
        )
        assert sum(p.size for p in positions.values()) == Decimal(state["positions"]["BTC/USDT"])
        # No order was sent twice, and every nonce the venue saw went up.
        assert not [r for r in rejected if r["code"] in ("duplicate_client_id", "invalid_nonce")]
        assert len({o.client_id for o in orders}) == len(orders)
        # Every fill is of an order the journal knows: none was sent unrecorded.
        assert {f.client_id for f in fills} <= {o.client_id for o in orders}
        assert nonce_after > nonce_before > 0
    finally:
        sim.send_signal(signal.SIGINT)
        try:
            sim.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sim.kill()
