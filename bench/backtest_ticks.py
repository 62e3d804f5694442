#!/usr/bin/env python3
"""The reference EMA-cross workload through botkit's full path.

engine + risk module + execution router + simulated venue, over the ticks that
``../shared/bench-peers/gen_data.py`` makes (seed 42). With no latency, no
slippage and no fees the result must equal the reference exactly:
1,000,000 ticks -> 28,804 fills, PnL -0.3027 USDT.

    python bench/backtest_ticks.py                 # 1M ticks
    python bench/backtest_ticks.py --n 10000000    # 10M ticks (memory check)
    python bench/backtest_ticks.py --profile       # pyinstrument profile
    python bench/backtest_ticks.py --path scan     # scan_trades (Python lists), no columns
    python bench/backtest_ticks.py --per-event     # on_trade for every tick, no scan_trades

The default path is ``on_trade_columns``: ema_cross decides on numpy columns.

The generated data is cached in bench/.data/ (not committed). Events are
streamed from Parquet in batches, never loaded whole; the timing includes
reading them and building the event objects. Fills and closed orders spill to
Parquet in a temporary folder as ``botkit backtest`` spills them
(``botkit.backtest.spill``); ``--no-spill`` keeps them all in memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT.parent / "shared" / "bench-peers"
SYMBOL = "BTC/USDT"
REFERENCE = {1_000_000: (28_804, Decimal("-0.3027"))}


def ensure_data(n: int, seed: int, data_dir: Path) -> Path:
    out = data_dir / f"n{n}-seed{seed}"
    ticks = out / "ticks.parquet"
    if not ticks.exists():
        gen = PEERS / "gen_data.py"
        if not gen.exists():
            sys.exit(
                f"cannot find the reference generator at {gen}: shared/ must sit beside the repo"
            )
        subprocess.run(
            [sys.executable, str(gen), str(out), "--n", str(n), "--seed", str(seed)], check=True
        )
    return ticks


def run(
    ticks: Path,
    batch_rows: int,
    per_event: bool = False,
    path: str = "auto",
    spill: bool = True,
) -> dict[str, object]:
    if not spill:
        return _run(ticks, batch_rows, per_event, path, None)
    with tempfile.TemporaryDirectory(prefix="botkit-bench-spill-") as folder:
        return _run(ticks, batch_rows, per_event, path, Path(folder))


def _run(
    ticks: Path, batch_rows: int, per_event: bool, path: str, spill_dir: Path | None
) -> dict[str, object]:
    # pyarrow imports pandas on its first conversion, and ema_cross's columnar path
    # scipy.signal: one-off imports (0.3 s and 0.8 s) that are not per-event work,
    # so they happen before the clock starts.
    import pandas  # noqa: F401
    import scipy.signal  # noqa: F401
    from botkit_strategies.ema_cross import EmaCross

    from botkit.backtest.catalog import iter_trade_batches
    from botkit.model import Instrument
    from botkit.node import build_sim_engine
    from botkit.plugins import StrategySpec

    inst = Instrument("sim", SYMBOL, "BTC", "USDT", tick_size="0.01", lot_size="0.00001")
    strategy = EmaCross({"symbol": SYMBOL, "fast": 10, "slow": 50, "size": "0.01"})
    start_cash = Decimal(1_000_000)
    engine = build_sim_engine(
        {SYMBOL: inst},
        [StrategySpec("ema_cross", strategy, symbols=frozenset({SYMBOL}))],
        balances={"USDT": start_cash},
        trade_path=path,
    )
    if spill_dir is not None:
        from botkit.backtest.spill import install

        install(engine, spill_dir)
    batches = iter_trade_batches(ticks, SYMBOL, batch_rows=batch_rows)
    t0 = time.perf_counter()
    # A list of Trade objects per batch takes the one-by-one path; TradeBatch columns
    # let ema_cross's scan_trades skip the ticks that cross nothing.
    engine.run_backtest((b.events() for b in batches) if per_event else batches)
    engine.stop()
    wall = time.perf_counter() - t0
    fills = engine.router.fills
    last = Decimal(repr(engine.books[SYMBOL].last_price))
    cash = sum((-f.side.sign * f.price * f.size for f in fills), Decimal(0))
    pos = sum((f.side.sign * f.size for f in fills), Decimal(0))
    pnl = cash + pos * last
    return {
        "engine": "botkit",
        "path": "per-event" if per_event else {"auto": "columns"}.get(path, path),
        "spill": spill_dir is not None,
        "events": engine.events,
        "wall_s": round(wall, 3),
        "events_per_s": round(engine.events / wall),
        "fills": len(fills),
        "pnl": str(pnl.quantize(Decimal("0.0001"))),
        "equity_pnl": str((engine.equity_now() - start_cash).quantize(Decimal("0.0001"))),
        "rejects": dict(engine.rejects),
        "open_position": str(pos),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--data-dir", type=Path, default=ROOT / "bench" / ".data")
    ap.add_argument("--batch-rows", type=int, default=65_536)
    ap.add_argument("--profile", action="store_true", help="profile with pyinstrument")
    ap.add_argument("--per-event", action="store_true", help="on_trade per tick, no scan_trades")
    ap.add_argument(
        "--path",
        choices=("auto", "scan", "events"),
        default="auto",
        help="the engine's trade_path for the batches (auto: on_trade_columns)",
    )
    ap.add_argument("--no-spill", action="store_true", help="keep every fill and order in memory")
    a = ap.parse_args()
    ticks = ensure_data(a.n, a.seed, a.data_dir)
    if a.profile:
        from pyinstrument import Profiler

        prof = Profiler()
        prof.start()
        rec = run(ticks, a.batch_rows, a.per_event, a.path, not a.no_spill)
        prof.stop()
        print(prof.output_text(unicode=True, color=False))
    else:
        rec = run(ticks, a.batch_rows, a.per_event, a.path, not a.no_spill)
    print(json.dumps(rec))
    ref = REFERENCE.get(a.n) if a.seed == 42 else None
    if ref is not None:
        ok = rec["fills"] == ref[0] and Decimal(str(rec["pnl"])) == ref[1]
        print(f"reference {ref[0]} fills, pnl {ref[1]}: {'MATCH' if ok else 'MISMATCH'}")
        if not ok:
            sys.exit(1)


if __name__ == "__main__":
    main()
