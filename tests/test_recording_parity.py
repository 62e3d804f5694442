"""★ A paper run and the backtest of what it recorded give the same orders and fills.

`botkit run` (paper mode, in a subprocess) trades three example strategies on the
market data of the BlockTrade protocol simulator over 127.0.0.1 (`live.simulator`)
and records that data (`live.record`). `botkit backtest` then replays the recording
through the same strategies. Every order update and fill each strategy receives is
logged by the probes of `recording_probes.py`; both runs must log the same lines in
the same order (prices, sizes, sides, statuses, fees, and which order each concerns).

What makes the comparison exact, and why each condition is needed:

- `data.clock: receive`: the backtest replays the events in the order the paper run
  received them. On BlockTrade the book and ticker carry the adapter's receive stamp
  and trades the venue's own (earlier) time, so on the exchange clock each market
  step's trades replay before the book update the venue sent first (asserted below).
- `sim.latency: 0`: an order reaches the matching engine as it is sent, in both runs.
  With a latency, paper delivers it on the wall clock and the backtest on event times.
- No timers: paper fires them on the wall clock, the backtest on event times.
- Nothing that waits on the clock: `risk.post_only: slide` (no post-only rejects, which
  the market maker retries once its clock has moved) and balances that cover every
  order (a refused order is retried after `retry_ms`). The engines' clocks differ
  (paper: the largest of the wall clock and the events' own times; backtest: the
  receive times), so a strategy that compares times may legitimately differ.
- The same starting balances, and the venue's own rules in the backtest: paper trades
  on the rules the venue lists (tick, lot, minimums, fees), which the recorder writes
  to `instrument.json`; the backtest's bot.yaml takes them from there.

The reports' `fills.csv` and `orders.csv` are compared as sets of rows without
times and ids, not row by row: both reports sort by time, and paper fill times mix
two clocks (a fill by a trade carries the venue's time of the trade, a fill on
arrival the engine's local time), so paper's `fills.csv` need not list fills in the
order they happened, while the backtest's does (checked below).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from conftest import ROOT

from botkit.backtest.catalog import Catalog, replay

PROBES = ROOT / "tests" / "recording_probes.py"

STRATEGIES = f"""
account:
  balances: {{USDT: "100000", BTC: "1"}}
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
  post_only: slide
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


FILL_TIMES_AND_IDS = {"ts", "ts_ns", "trade_id", "client_id", "venue_order_id"}
ORDER_TIMES_AND_IDS = {"client_id", "created", "created_ns", "updated", "updated_ns"}
ORDER_TIMES_AND_IDS |= {"venue_order_id"}


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
    assert len(received) == summary["events"] > 100

    # Every order update and fill, strategy by strategy, in the order it came.
    told_paper, told_backtest = probe_lines(paper.stderr), probe_lines(backtest.stderr)
    assert told_paper == told_backtest
    fills = Counter(str(line["strategy"]) for line in told_paper if "fill" in line)
    assert set(fills) == {"maker", "trend", "grid"} and sum(fills.values()) == summary["fills"]

    # The reports: the same fills and orders, with the same prices, sizes, fees, statuses.
    paper_fills = rows(tmp_path / "paper" / "fills.csv", FILL_TIMES_AND_IDS)
    backtest_fills = rows(tmp_path / "backtest" / "fills.csv", FILL_TIMES_AND_IDS)
    assert sorted(map(key, paper_fills)) == sorted(map(key, backtest_fills))
    assert len(paper_fills) == summary["fills"]
    paper_orders = rows(tmp_path / "paper" / "orders.csv", ORDER_TIMES_AND_IDS)
    backtest_orders = rows(tmp_path / "backtest" / "orders.csv", ORDER_TIMES_AND_IDS)
    assert sorted(map(key, paper_orders)) == sorted(map(key, backtest_orders))
    assert len(paper_orders) == summary["orders"]

    # The backtest's fills.csv lists fills in the order they happened; paper's, sorted
    # by times from two clocks, does not (see the module notes).
    happened = [
        (line["strategy"], line["side"], line["price"], line["size"])
        for line in told_paper
        if "fill" in line
    ]
    listed = [
        (r["strategy"], r["side"], r["price"], r["size"])
        for r in rows(tmp_path / "backtest" / "fills.csv", set())
    ]
    assert [_plain(f) for f in happened] == [_plain(f) for f in listed]

    # On the exchange clock the same recording replays in another order: why the
    # backtest above runs on the receive clock.
    by_venue_time = [e for b in replay(recorded, "blocktrade", ["BTC/USDT"]) for e in b]
    assert [type(e) for e in by_venue_time] != [type(e) for e in received]


def _plain(fill: tuple[object, ...]) -> tuple[str, ...]:
    """A fill as text with the numbers normalised (the probe prints 0.01000, the CSV 0.01)."""
    from decimal import Decimal

    name, side, price, size = (str(v) for v in fill)
    return name, side, str(Decimal(price).normalize()), str(Decimal(size).normalize())
