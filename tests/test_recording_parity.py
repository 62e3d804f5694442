"""★ A paper run and the backtest of what it recorded give the same orders and fills.

`botkit run` (paper mode, in a subprocess) trades three example strategies on the
market data of the BlockTrade protocol simulator over 127.0.0.1 (`live.simulator`)
and records that data (`live.record`). `botkit backtest` then replays the recording
through the same strategies. Every order update and fill each strategy receives is
logged by the probes of `recording_probes.py`; both runs must log the same lines in
the same order (prices, sizes, sides, statuses, fees, and which order each concerns).

The backtest replays the recording as the paper run received it
(`data.clock: receive`): each event at its receive time, as the venue stamped it,
through the calls the paper run's feed makes (`botkit.recording.replay`). So the two
engines see the same events at the same clock times, and the reports match row for
row, times included, except for ids (run tags) and the time orders cancelled at
stop were cancelled (each run stops at its own time).

What makes the comparison exact, and why each condition is needed:

- `data.clock: receive`. On BlockTrade the book and ticker carry the adapter's
  receive stamp and trades the venue's own (earlier) time, so on the exchange clock
  each market step's trades replay before the book update the venue sent first
  (asserted below): another run than the one recorded.
- `sim.latency: 0`: an order reaches the matching engine as it is sent. With a
  latency the requests still in flight when the paper run stops may be answered
  before its strategies' `on_stop` (on a wall-clock tick) and after it in the backtest.
- No timers: the paper run's clock starts before its first event and runs on after
  its last one, so a timer due then fires in paper only.
- The same starting balances, and the venue's own rules in the backtest: paper trades
  on the rules the venue lists (tick, lot, minimums, fees), which the recorder writes
  to `instrument.json`; the backtest's bot.yaml takes them from there.

Strategies may compare times: the balances are small, so orders are refused
(`insufficient_balance`) and the market maker and the grid retry them after their
`retry_ms` (the grid against the trade's own time, the market maker against the
engine's clock), at the same events in both runs.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

from conftest import ROOT

from botkit.backtest.catalog import Catalog, replay

PROBES = ROOT / "tests" / "recording_probes.py"

STRATEGIES = f"""
account:
  balances: {{USDT: "1000", BTC: "0.03"}}  # too little for every order: some are refused
strategies:
  - name: maker
    use: {PROBES}:ProbedMarketMaker
    params: {{symbol: BTC/USDT, size: "0.01", half_spread_ticks: 2}}
  - name: trend
    use: {PROBES}:ProbedEmaCross
    params: {{symbol: BTC/USDT, fast: 5, slow: 20, size: "0.01"}}
  - name: grid
    use: {PROBES}:ProbedGrid
    params: {{symbol: BTC/USDT, size: "0.01", spacing: "0.05", count: 4}}
risk:
  post_only: slide  # a post-only order that would cross is moved, not refused
sim:
  latency: 0ms
"""


def botkit(*args: str) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(
        [sys.executable, "-m", "botkit.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def probe_lines(stderr: str) -> list[dict[str, object]]:
    told = [line.split(" parity ", 1) for line in stderr.splitlines()]
    return [json.loads(parts[1]) for parts in told if len(parts) == 2]


def rows(path: Path, drop: set[str]) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return [{k: v for k, v in r.items() if k not in drop} for r in csv.DictReader(f)]


def key(row: dict[str, str]) -> str:
    return json.dumps(row, sort_keys=True)


FILL_IDS = {"trade_id", "client_id", "venue_order_id"}  # they carry each run's tag
# Orders open at the end are cancelled when each run stops, at its own time.
ORDER_IDS_AND_STOP = {"client_id", "venue_order_id", "updated", "updated_ns"}


def test_a_backtest_of_a_paper_runs_recording_gives_its_orders_and_fills(tmp_path: Path) -> None:
    paper_yaml = tmp_path / "paper.yaml"
    paper_yaml.write_text(f"""
mode: paper
venue: {{name: blocktrade}}
instruments:
  - {{symbol: BTC/USDT, tick_size: "0.01", lot_size: "0.00001"}}
{STRATEGIES}
output: {{dir: {tmp_path / "paper"}}}
live:
  journal: {tmp_path / "journal.sqlite"}
  simulator: true
  status_interval: 2s
  record: {{dir: {tmp_path / "recorded"}, flush: 1s}}
""")
    paper = botkit("run", str(paper_yaml), "--duration", "6s")
    summary = json.loads(paper.stdout.strip().splitlines()[-1])

    recorded = Catalog(tmp_path / "recorded")
    rules = recorded.instrument("blocktrade", "BTC/USDT")
    assert rules is not None
    rule_keys = ("tick_size", "lot_size", "min_notional", "max_notional", "maker_fee", "taker_fee")
    instrument = {"symbol": "BTC/USDT", **{k: rules[k] for k in rule_keys if k in rules}}
    backtest_yaml = tmp_path / "backtest.yaml"
    backtest_yaml.write_text(f"""
mode: backtest
venue: {{name: blocktrade}}
instruments:
  - {json.dumps(instrument)}
{STRATEGIES}
data: {{catalog: {tmp_path / "recorded"}, clock: receive}}
output: {{dir: {tmp_path / "backtest"}}}
""")
    backtest = botkit("backtest", str(backtest_yaml), "--no-progress")

    # The recording holds every event the paper run's strategies saw, and nothing else.
    received = [e for b in replay(recorded, "blocktrade", ["BTC/USDT"], clock="receive") for e in b]
    assert len(received) == summary["events"] == summary["recorded"]["events"] > 100
    assert summary["recorded"]["gaps"] == 0 and not summary["recorded"]["skipped"]

    # Every order update and fill, strategy by strategy, in the order it came.
    told_paper, told_backtest = probe_lines(paper.stderr), probe_lines(backtest.stderr)
    assert told_paper == told_backtest
    fills = Counter(str(line["strategy"]) for line in told_paper if "fill" in line)
    assert set(fills) == {"maker", "trend", "grid"} and sum(fills.values()) == summary["fills"]
    # Places refused, and edits refused (the order stands, with the code).
    refused = [line for line in told_paper if line.get("code") == "insufficient_balance"]
    assert len(refused) == summary["rejects"]["insufficient_balance"] > 0

    # The reports: the same fills (times included, in the same order) and orders.
    paper_fills = rows(tmp_path / "paper" / "fills.csv", FILL_IDS)
    assert paper_fills == rows(tmp_path / "backtest" / "fills.csv", FILL_IDS)
    assert len(paper_fills) == summary["fills"]
    paper_orders = rows(tmp_path / "paper" / "orders.csv", ORDER_IDS_AND_STOP)
    backtest_orders = rows(tmp_path / "backtest" / "orders.csv", ORDER_IDS_AND_STOP)
    # Orders placed at one instant are listed by client id, and ids differ by run.
    assert sorted(map(key, paper_orders)) == sorted(map(key, backtest_orders))
    assert len(paper_orders) == summary["orders"]

    # The reports list fills in the order they happened, none before its order was placed.
    happened = [_fill_key(line) for line in told_paper if "fill" in line]
    assert [_fill_key(r) for r in paper_fills] == happened
    placed = {
        r["client_id"]: int(r["created_ns"]) for r in rows(tmp_path / "paper" / "orders.csv", set())
    }
    listed = rows(tmp_path / "paper" / "fills.csv", set())
    assert all(int(f["ts_ns"]) >= placed[f["client_id"]] for f in listed)

    # On the exchange clock the same recording replays in another order: why the
    # backtest above runs on the receive clock.
    by_venue_time = [e for b in replay(recorded, "blocktrade", ["BTC/USDT"]) for e in b]
    assert [type(e) for e in by_venue_time] != [type(e) for e in received]


def _fill_key(fill: dict[str, object]) -> tuple[str, ...]:
    """Who, which side, price and size, with the numbers as decimals print them
    (the probe says 0.01000 where the report says 0.01)."""
    return (
        str(fill["strategy"]),
        str(fill["side"]),
        str(Decimal(str(fill["price"])).normalize()),
        str(Decimal(str(fill["size"])).normalize()),
    )
