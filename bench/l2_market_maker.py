#!/usr/bin/env python3
"""The market maker on a real L2 capture: feed messages per second (issue 13, part 1).

Imports the raw Binance USD-M BTCUSDT capture that hftbacktest's collector
recorded (``../shared/data/real/hftbacktest/usdm/btcusdt_20240808.gz``: one REST
snapshot, 6,551 depth diffs, 21,313 trades, ~345 s) into a scratch catalog, then
runs the shipped ``market_maker`` on the book and the trades through the engine,
risk module, router and simulated venue (5 ms order latency, queue position,
Binance's maker/taker fees). ``bench/peers/hftbacktest_mm.py`` runs a market maker
of the same shape in hftbacktest on the same file, for the side-by-side figure.

    python bench/l2_market_maker.py              # 3 runs, one JSON line each
    python bench/l2_market_maker.py --repeat 5
    python bench/l2_market_maker.py --quotes     # the bookTicker stream as well

``messages`` counts feed messages (a depth diff, a trade, a quote), ``rows`` the
book levels in the diffs; ``wall_s`` and ``cpu_s`` are the replay alone (the
import and the catalog's first read are not timed).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CAPTURE = ROOT.parent / "shared" / "data" / "real" / "hftbacktest" / "usdm" / "btcusdt_20240808.gz"
SYMBOL = "BTC/USDT"


def run_once(catalog: Any, quotes: bool) -> dict[str, Any]:
    from stale_book import maker_engine  # bench/: the script's own folder

    from botkit.backtest.catalog import replay

    engine = maker_engine("usdm")
    kinds = ["book", "trades"] + (["quotes"] if quotes else [])
    batches = replay(catalog, "binance", SYMBOL, kinds=kinds)
    rows = 0

    def count(batch: list[Any]) -> list[Any]:
        nonlocal rows
        for ev in batch:
            bids = getattr(ev, "bids", None)
            if bids is not None:
                rows += len(bids) + len(ev.asks)
        return batch

    events = [count(b) for b in batches]  # read before the clock starts
    t0, c0 = time.perf_counter(), time.thread_time()
    engine.run_backtest(events)
    engine.stop()
    wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
    fills = engine.router.fills
    return {
        "engine": "botkit",
        "strategy": "market_maker",
        "messages": engine.events,
        "rows": rows,
        "wall_s": round(wall, 4),
        "cpu_s": round(cpu, 4),
        "messages_per_s": round(engine.events / wall),
        "messages_per_cpu_s": round(engine.events / cpu),
        "orders": len(engine.router.all_orders()),
        "fills": len(fills),
        "quotes": quotes,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quotes", action="store_true", help="replay the bookTicker quotes too")
    ap.add_argument("--capture", type=Path, default=CAPTURE)
    args = ap.parse_args(argv)
    if not args.capture.exists():
        sys.exit(f"cannot find {args.capture}: shared/ must sit beside the repo")
    import pandas  # noqa: F401  (pyarrow imports it on first use: a one-off, not replay work)

    from botkit.backtest.catalog import Catalog
    from botkit.backtest.importers import import_hftbacktest

    with tempfile.TemporaryDirectory() as tmp:
        catalog = Catalog(Path(tmp))
        import_hftbacktest(catalog, args.capture, "binance", SYMBOL)
        for _ in range(args.repeat):
            print(json.dumps(run_once(catalog, args.quotes)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
