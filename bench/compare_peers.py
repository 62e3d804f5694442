#!/usr/bin/env python3
"""botkit on the peers' reference workload, in the peers' JSON line format.

The workload of ``../shared/bench-peers/`` (``gen_data.py``, seed 42): 1,000,000
trade ticks and the 842 one-minute bars made from them, EMA 10/50 cross,
market orders of 0.01, no fees, fills at the signal's price. Each configuration
runs ``--repeat`` times, each in a fresh process (like the peers' ``run_bench.py``),
and prints one JSON line per run with the peers' keys (``engine, events, wall_s,
events_per_s, fills, pnl``, ``proc_s_in_script``, ``max_rss_mb``; plus ``label``,
``run`` and ``proc_s``, the external wall time of the process), then a markdown
table of medians.

    python bench/compare_peers.py                     # every configuration, 3 runs each
    python bench/compare_peers.py --only bars1m       # by label substring
    python bench/compare_peers.py --data DIR          # a gen_data.py output folder

Configurations: ``ticks/botkit_columns`` (ema_cross's ``on_trade_columns``: numpy
columns, EMAs by ``lfilter``), ``ticks/botkit_scan`` (its ``scan_trades`` over
Python lists), ``ticks/botkit_per_event`` (``on_trade`` for every tick), ``bars1m/botkit``
(``on_bar``, market orders filled at the signal bar's close: ``sim.bar_fill:
close``). ``wall_s`` is the replay through engine, risk module, router and
simulated venue, Parquet reading included; ``load_s`` is what precedes it.
Reference: ticks 28,804 fills, pnl -0.3027; bars 20 fills, pnl 0.6367.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

PROC_T0 = time.perf_counter()

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from backtest_ticks import ROOT, ensure_data  # noqa: E402

SYMBOL = "BTC/USDT"
CONFIGS: dict[str, str] = {
    "ticks/botkit_columns": "ticks",
    "ticks/botkit_scan": "ticks",
    "ticks/botkit_per_event": "ticks",
    "bars1m/botkit": "bars",
}
REFERENCE = {"ticks": (28_804, -0.3027), "bars": (20, 0.6367)}


def _engine(source: str, bar_fill: str = "next_open", trade_path: str = "auto") -> Any:
    from botkit_strategies.ema_cross import EmaCross

    from botkit.model import Instrument
    from botkit.node import build_sim_engine
    from botkit.plugins import StrategySpec

    inst = Instrument("sim", SYMBOL, "BTC", "USDT", tick_size="0.01", lot_size="0.00001")
    strategy = EmaCross(
        {"symbol": SYMBOL, "fast": 10, "slow": 50, "size": "0.01", "source": source}
    )
    return build_sim_engine(
        {SYMBOL: inst},
        [StrategySpec("ema_cross", strategy, symbols=frozenset({SYMBOL}))],
        balances={"USDT": Decimal(1_000_000)},
        bar_fill=bar_fill,
        trade_path=trade_path,
    )


def _pnl(engine: Any) -> float:
    fills = engine.router.fills
    last = Decimal(repr(engine.books[SYMBOL].last_price))
    cash = sum((-f.side.sign * f.price * f.size for f in fills), Decimal(0))
    pos = sum((f.side.sign * f.size for f in fills), Decimal(0))
    return round(float(cash + pos * last), 4)


def run_ticks(data: Path, path: str) -> dict[str, Any]:
    # One-off imports stay out of the timing: pyarrow's lazy import of pandas, and
    # scipy.signal, which the columnar path imports on first use.
    import pandas  # noqa: F401
    import scipy.signal  # noqa: F401

    from botkit.backtest.catalog import iter_trade_batches

    t_load = time.perf_counter()
    engine = _engine("trades", trade_path="scan" if path == "scan" else "auto")
    batches = iter_trade_batches(data / "ticks.parquet", SYMBOL, batch_rows=65_536)
    load_s = time.perf_counter() - t_load
    t0 = time.perf_counter()
    engine.run_backtest((b.events() for b in batches) if path == "per-event" else batches)
    engine.stop()
    wall = time.perf_counter() - t0
    return _record(engine, wall, load_s, path=path)


def run_bars(data: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from botkit.events import Bar

    t_load = time.perf_counter()
    engine = _engine("bars", bar_fill="close")
    cols = pq.read_table(data / "bars_1m.parquet").to_pydict()
    bars = [
        Bar(ts_close, SYMBOL, ts_close - ts_open, o, h, lo, c, v)
        for ts_open, ts_close, o, h, lo, c, v in zip(
            cols["ts_open"],
            cols["ts_close"],
            cols["open"],
            cols["high"],
            cols["low"],
            cols["close"],
            cols["volume"],
        )
    ]
    load_s = time.perf_counter() - t_load
    t0 = time.perf_counter()
    engine.run_backtest([bars])
    engine.stop()
    wall = time.perf_counter() - t0
    return _record(engine, wall, load_s, path="bars, fill at the bar's close")


def _record(engine: Any, wall: float, load_s: float, **extra: Any) -> dict[str, Any]:
    from importlib.metadata import version

    events = engine.events
    rec: dict[str, Any] = {
        "engine": f"botkit {version('botkit')}",
        "events": int(events),
        "wall_s": round(wall, 4),
        "events_per_s": round(events / wall, 1) if wall > 0 else None,
        "fills": len(engine.router.fills),
        "pnl": _pnl(engine),
        "load_s": round(load_s, 3),
        "rejects": dict(engine.rejects),
        **extra,
    }
    rec["proc_s_in_script"] = round(time.perf_counter() - PROC_T0, 3)
    rec["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return rec


def one(label: str, data: Path) -> dict[str, Any]:
    if label.startswith("ticks/botkit_"):
        return run_ticks(data, label.removeprefix("ticks/botkit_").replace("_", "-"))
    if label == "bars1m/botkit":
        return run_bars(data)
    raise SystemExit(f"unknown configuration {label!r}; one of {', '.join(CONFIGS)}")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="", help="labels containing any of these (comma list)")
    ap.add_argument("--data", type=Path, help="gen_data.py output (default: made in bench/.data)")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # a single run, in this process
    a = ap.parse_args()
    data = a.data or ensure_data(1_000_000, 42, ROOT / "bench" / ".data").parent
    if a.one:
        print(json.dumps(one(a.one, data)), flush=True)
        return 0
    only = [s for s in a.only.split(",") if s]
    labels = [c for c in CONFIGS if not only or any(s in c for s in only)]
    rows = []
    failed = False
    for label in labels:
        recs = []
        for i in range(a.repeat):
            t0 = time.perf_counter()
            cmd = [sys.executable, __file__, "--one", label, "--data", str(data)]
            p = subprocess.run(cmd, capture_output=True, text=True)
            proc_s = time.perf_counter() - t0
            lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
            if p.returncode != 0 or not lines:
                print(f"FAIL {label} rc={p.returncode}\n{p.stderr[-2000:]}", file=sys.stderr)
                failed = True
                break
            rec = json.loads(lines[-1])
            rec.update(label=label, run=i, proc_s=round(proc_s, 3))
            print(json.dumps(rec), flush=True)
            recs.append(rec)
        if recs:
            fills, pnl = REFERENCE[CONFIGS[label]]
            ok = recs[0]["fills"] == fills and abs(recs[0]["pnl"] - pnl) < 5e-5
            failed = failed or not ok

            def med(key: str, rs: list[dict[str, Any]] = recs) -> float:
                return float(statistics.median(r[key] for r in rs))

            rows.append(
                (
                    label,
                    recs[0]["events"],
                    med("wall_s"),
                    med("events_per_s"),
                    min(r["events_per_s"] for r in recs),
                    max(r["events_per_s"] for r in recs),
                    med("proc_s"),
                    med("max_rss_mb"),
                    recs[0]["fills"],
                    recs[0]["pnl"],
                    "✓" if ok else "✗",
                )
            )
    print()
    print(
        "| config | events | run wall_s (median) | events/s (median) | min..max "
        "| process s | peak RSS MB | fills | pnl | ref |"
    )
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|---|")
    for r in rows:
        print(
            f"| {r[0]} | {r[1]:,} | {r[2]:.4f} | {r[3]:,.0f} | {r[4]:,.0f}..{r[5]:,.0f} "
            f"| {r[6]:.2f} | {r[7]:.0f} | {r[8]:,} | {r[9]} | {r[10]} |"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
