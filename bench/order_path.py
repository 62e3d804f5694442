#!/usr/bin/env python3
"""Time one market order through the full order path (issue 13, part 2).

Each order goes strategy intent -> risk module -> execution router -> simulated
venue (no latency: it fills at once on the last trade price) -> fill and order
bookkeeping -> ``on_order``/``on_fill`` back to the strategy, exactly as in a
backtest. Orders alternate buy and sell so the position stays flat.

    python bench/order_path.py              # 100,000 market orders
    python bench/order_path.py --n 20000    # fewer
    python bench/order_path.py --profile    # pyinstrument profile

Prints one JSON line: microseconds per order (the median of ``--repeat`` runs).
"""

from __future__ import annotations

import argparse
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


def run(n: int) -> tuple[float, int]:
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
    t0 = time.perf_counter()
    for i in range(n):
        engine.now_ns += 1_000_000  # 1 ms apart: the default rate limit never binds
        submit("bench", buy if i & 1 == 0 else sell)
    wall = time.perf_counter() - t0
    engine.stop()
    return wall / n * 1e6, len(engine.router.fills)


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
    fills = {f for _, f in runs}
    if fills != {a.n}:
        raise SystemExit(f"expected {a.n} fills per run, got {sorted(fills)}")
    us = [u for u, _ in runs]
    print(
        json.dumps(
            {
                "orders": a.n,
                "us_per_order": round(statistics.median(us), 2),
                "runs_us": [round(u, 2) for u in us],
                "fills": a.n,
            }
        )
    )


if __name__ == "__main__":
    main()
