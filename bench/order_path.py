#!/usr/bin/env python3
"""Time one market order through the full order path (issue 13, part 2).

Each order goes strategy intent -> risk module -> execution router -> simulated
venue (no latency: it fills at once on the last trade price) -> fill and order
bookkeeping -> ``on_order``/``on_fill`` back to the strategy, exactly as in a
backtest (automatic GC off, as in ``Engine.run_backtest``). Orders alternate buy
and sell so the position stays flat.

    python bench/order_path.py              # 100,000 market orders
    python bench/order_path.py --n 20000    # fewer
    python bench/order_path.py --profile    # pyinstrument profile

Prints one JSON line: microseconds per order, wall clock and this thread's CPU time
(the median of ``--repeat`` runs; on a shared machine the CPU figure is the steadier).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from decimal import Decimal
from typing import Any

from botkit import hookimpl
from botkit.events import Trade
from botkit.intents import Place
from botkit.model import Instrument, OrderType, Side
from botkit.node import build_sim_engine
from botkit.plugins import StrategySpec

SYMBOL = "BTC/USDT"


class Silent:
    """A strategy that only hears its fills (the orders come from the benchmark)."""

    def __init__(self) -> None:
        self.fills = 0

    @hookimpl
    def on_fill(self, ctx: Any, fill: Any) -> None:
        self.fills += 1


def run(n: int) -> tuple[float, float, int]:
    inst = Instrument("sim", SYMBOL, "BTC", "USDT", tick_size="0.01", lot_size="0.00001")
    strategy = Silent()
    engine = build_sim_engine(
        {SYMBOL: inst},
        [StrategySpec("bench", strategy, symbols=frozenset({SYMBOL}))],
        balances={"USDT": Decimal(10_000_000), "BTC": Decimal(100)},
    )
    engine.run_backtest([[Trade(1_000, SYMBOL, 30_000.0, 1.0)]])
    buy = Place(SYMBOL, Side.BUY, "0.01", type=OrderType.MARKET)
    sell = Place(SYMBOL, Side.SELL, "0.01", type=OrderType.MARKET)
    submit = engine.submit
    # As inside Engine.run_backtest: no automatic GC walking the orders kept so far.
    gc.disable()
    t0 = time.perf_counter()
    c0 = time.thread_time()
    for i in range(n):
        engine.now_ns += 1_000_000  # 1 ms apart: the default rate limit never binds
        submit("bench", buy if i & 1 == 0 else sell)
    cpu = time.thread_time() - c0
    wall = time.perf_counter() - t0
    gc.enable()
    engine.stop()
    return wall / n * 1e6, cpu / n * 1e6, len(engine.router.fills)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="profile one run with pyinstrument")
    a = ap.parse_args()
    if a.profile:
        from pyinstrument import Profiler

        prof = Profiler()
        prof.start()
        run(a.n)
        prof.stop()
        print(prof.output_text(unicode=True, color=False))
    runs = [run(a.n) for _ in range(a.repeat)]
    fills = {f for _, _, f in runs}
    if fills != {a.n}:
        raise SystemExit(f"expected {a.n} fills per run, got {sorted(fills)}")
    us = [u for u, _, _ in runs]
    cpu = [c for _, c, _ in runs]
    print(
        json.dumps(
            {
                "orders": a.n,
                "us_per_order": round(statistics.median(us), 2),
                "cpu_us_per_order": round(statistics.median(cpu), 2),
                "runs_us": [round(u, 2) for u in us],
                "fills": a.n,
            }
        )
    )


if __name__ == "__main__":
    main()
