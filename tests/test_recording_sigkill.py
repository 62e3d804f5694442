"""Kill -9 a recorder mid-run and start it again: every flushed row survives, none is
doubled, and what was lost is exactly the outage, marked as a gap.

`botkit record` runs in a subprocess against `botkit venue-sim` (BlockTrade, another
subprocess that keeps running across the recorder's restart, so trade ids go on
as a real venue's do). The venue's public trade tape is the ground truth.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import ROOT

from botkit.backtest.catalog import Catalog, replay
from botkit.events import BookSnapshot, Trade
from botkit.recording import read_gaps
from botkit.recording.segments import read_segment
from botkit.simulator.server import free_port

SYM = "BTC/USDT"
BOTKIT = [sys.executable, "-m", "botkit.cli"]


def get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as r:  # 127.0.0.1 only
        return json.loads(r.read())


def venue_tape(base: str) -> list[tuple[str, int]]:
    """Every public BTC/USDT trade the venue printed: (id, time in ns), oldest first."""
    assets = get(f"{base}/api/v1/trading_assets")
    pairs = get(f"{base}/api/v1/trading_pairs")
    assert isinstance(assets, list) and isinstance(pairs, list)
    iso = {a["id"]: a["iso_code"] for a in assets}
    (pair,) = [
        p["id"]
        for p in pairs
        if (iso[p["base_asset_id"]], iso[p["quote_asset_id"]]) == ("BTC", "USDT")
    ]
    out: list[tuple[str, int]] = []
    offset = 0
    while True:
        page = get(f"{base}/api/v1/trades/{pair}?limit=100&offset={offset}")
        assert isinstance(page, dict)
        out += [(str(t["id"]), int(t["date"]) * 1_000_000) for t in page["data"]]
        offset += len(page["data"])
        if not page["data"] or offset >= page["count"]:
            return sorted(out, key=lambda t: (t[1], int(t[0])))  # a step shares one time


def flushed_rows(log: str) -> int:
    """Rows the recorder said it flushed (its debug lines ``flush N: M rows``)."""
    return sum(
        int(line.rsplit(": ", 1)[1].split()[0])
        for line in log.splitlines()
        if "botkit.recording: flush " in line
    )


def test_a_killed_recorder_restarts_without_duplicates_and_marks_the_outage(
    tmp_path: Path,
) -> None:
    port = free_port()
    sim = subprocess.Popen(
        [*BOTKIT, "venue-sim", "--venue", "blocktrade", "--port", str(port), "--seed", "3"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
        cfg = tmp_path / "record.yaml"
        cfg.write_text(f"""
venue:
  name: blocktrade
  base_url: {base}
  ws_url: ws://127.0.0.1:{port}
instruments:
  - {{symbol: {SYM}, tick_size: "0.01", lot_size: "0.00001"}}
strategies:
  - {{use: ema_cross, params: {{symbol: {SYM}}}}}
""")
        out = tmp_path / "catalog"
        record = [*BOTKIT, "record", str(cfg), "--out", str(out)]
        record += ["--flush", "300ms", "--log-level", "debug"]

        # Run 1: killed after a few flushes.
        log1 = tmp_path / "run1.log"
        with log1.open("w") as err:
            first = subprocess.Popen(record, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
            deadline = time.monotonic() + 60
            while log1.read_text().count("botkit.recording: flush ") < 4:
                assert first.poll() is None, log1.read_text()[-3000:]
                assert time.monotonic() < deadline, "the recorder did not flush"
                time.sleep(0.05)
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
        said = flushed_rows(log1.read_text())

        # What it left: segments whose batches are whole up to the last flush.
        (run,) = [d for d in (out / "_recording" / "blocktrade").iterdir() if d.is_dir()]
        segments = [read_segment(p) for p in sorted(run.rglob("*.arrows"))]
        assert {s.kind for s in segments} == {"trades", "book_snapshots", "book_deltas", "quotes"}
        assert all(s.table is not None for s in segments)
        assert sum(s.rows for s in segments) >= said > 0  # every flushed row is there
        (trades1,) = [s.table for s in segments if s.kind == "trades"]
        ids1 = trades1.column("trade_id").to_pylist()
        last_recv1 = max(max(s.table.column("recv_ns").to_pylist()) for s in segments)

        # Run 2: compacts what run 1 left, records, stops cleanly.
        again = subprocess.run(
            [*record, "--duration", "3s"], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert again.returncode == 0, again.stderr[-3000:]
        assert "compacted earlier recordings: 1 run(s)" in again.stderr
        tape = venue_tape(base)
    finally:
        sim.send_signal(signal.SIGINT)
        try:
            sim.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sim.kill()

    cat = Catalog(out)
    assert not [d for d in (out / "_recording" / "blocktrade").iterdir() if d.is_dir()]
    events = [e for b in replay(cat, "blocktrade", [SYM], clock="receive") for e in b]
    assert [e for b in replay(cat, "blocktrade", [SYM]) for e in b]  # both clocks read it
    trades = [e for e in events if isinstance(e, Trade)]
    ids = [str(t.trade_id) for t in trades]
    assert len(ids) == len(set(ids))  # no trade twice
    assert set(map(str, ids1)) <= set(ids)  # nothing run 1 flushed was lost

    # One gap: from the last event run 1 wrote to the first one run 2 received, when
    # the book was sent whole again.
    (gap,) = read_gaps(cat, "blocktrade", SYM)
    assert gap.reason == "no recorder was running"
    assert gap.start_ns == last_recv1
    after = [e for e in events if e.ts_ns >= gap.end_ns]
    assert after[0].ts_ns == gap.end_ns and isinstance(after[0], BookSnapshot)

    # The venue's tape: every trade it printed while the recorders ran is recorded,
    # except those printed during the outage (a trade is stamped by the venue when it
    # prints, and received within the market step after: 0.1 s).
    recorded = set(ids)
    printed = {i: t for i, t in tape}
    # Run 1 missed none of the trades printed while it ran, up to its last flush.
    in_run1 = [i for i, t in tape if printed[ids1[0]] <= t <= printed[ids1[-1]]]
    assert in_run1 == ids1
    first_t, last_t = trades[0], trades[-1]
    window = [(i, t) for i, t in tape if printed[str(first_t.trade_id)] <= t]
    window = [(i, t) for i, t in window if t <= printed[str(last_t.trade_id)]]
    missing = [(i, t) for i, t in window if i not in recorded]
    assert missing, "the outage lost trades"
    assert all(gap.start_ns - 200_000_000 <= t <= gap.end_ns for _, t in missing), (
        [(t - gap.start_ns) / 1e9 for _, t in missing],
        (gap.end_ns - gap.start_ns) / 1e9,
    )
