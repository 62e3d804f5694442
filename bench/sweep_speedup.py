#!/usr/bin/env python3
"""Wall-clock speed-up of `botkit sweep` on a Dask LocalCluster over the same runs in-process.

    python bench/sweep_speedup.py                      # 16 runs, 2 workers, 3 rounds
    python bench/sweep_speedup.py --workers 4 --ticks 1000000 --rounds 5

The workload: ema_cross on a seeded random walk of ``--ticks`` trades (one every
100 ms, 5 bp fees), the grid ``fast=5..20:5,slow=30..60:10`` (16 param sets).
Each round runs the 16 one by one in this process (``InProcessPool``, the same
task function the workers run, no report written) and then as one sweep on the
cluster (started once, before the rounds); the rounds alternate so that a burst
of other load on the machine falls on both sides. Round 0 is reported apart:
its workers are cold (their first task imports botkit, pandas and the strategy).
It prints each round with how many cores other processes kept busy meanwhile,
the median speed-up of the warm rounds (and of those where the cores were
free), and checks both sides give the same summaries. The ceiling is the
number of cores; on a machine other sessions keep busy it falls towards 1
(docs/sweeps.md, "How fast").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

GRID = "fast=5..20:5,slow=30..60:10"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--ticks", type=int, default=400_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()

    from sweep_support import EMA, OtherLoad, bot_yaml, random_walk, write_trades

    from botkit.sweep import SweepOptions, sweep
    from botkit.sweep.cluster import DaskPool, InProcessPool, connect

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_trades(root / "data", random_walk(a.ticks), 100_000_000)
        bot = bot_yaml(root, EMA, fee="0.0005")
        t0 = time.perf_counter()
        with connect(workers=a.workers) as client:
            startup = time.perf_counter() - t0
            ratios = []
            cold = 0.0
            for r in range(a.rounds + 1):
                with OtherLoad() as other:
                    t = time.perf_counter()
                    seq = sweep(SweepOptions(bot, grid=[GRID], out=root / "seq"), InProcessPool())
                    seq_s = time.perf_counter() - t
                    t = time.perf_counter()
                    par = sweep(SweepOptions(bot, grid=[GRID], out=root / "par"), DaskPool(client))
                    par_s = time.perf_counter() - t
                same = [
                    {
                        k: v
                        for k, v in (o.summary or {}).items()
                        if k not in ("wall_s", "events_per_s")
                    }
                    for o in seq.outcomes
                ] == [
                    {
                        k: v
                        for k, v in (o.summary or {}).items()
                        if k not in ("wall_s", "events_per_s")
                    }
                    for o in par.outcomes
                ]
                if r == 0:
                    cold = seq_s / par_s
                else:
                    ratios.append((seq_s / par_s, other.cores))
                label = f"round {r}" + (" (cold workers)" if r == 0 else "")
                print(
                    f"{label}: in-process {seq_s:.2f} s, {a.workers}-worker LocalCluster "
                    f"{par_s:.2f} s, speed-up {seq_s / par_s:.2f}x, same results: {same}; "
                    f"other processes kept {other.cores:.2f} cores busy"
                )
        print(
            json.dumps(
                {
                    "runs": 16,
                    "ticks_per_run": a.ticks,
                    "workers": a.workers,
                    "cluster_startup_s": round(startup, 2),
                    "speedup_median": round(statistics.median(x for x, _ in ratios), 2),
                    # Rounds where other processes kept under a quarter of a core busy.
                    "speedup_median_free_cores": round(statistics.median(free), 2)
                    if (free := [x for x, o in ratios if o < 0.25])
                    else None,
                    "speedup_cold_round": round(cold, 2),
                    "speedups": [round(x, 2) for x, _ in ratios],
                    "other_cores_busy": [round(o, 2) for _, o in ratios],
                    "cores": os.cpu_count(),
                    "load_average_1m": round(os.getloadavg()[0], 2),
                }
            )
        )


if __name__ == "__main__":
    main()
