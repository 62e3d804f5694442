#!/usr/bin/env python3
"""L2 book rows per second: snapshots and deltas from a catalog applied to an OrderBook.

    python bench/book_apply.py                                # the shipped sample
    python bench/book_apply.py --catalog DIR --venue binance  # e.g. an imported capture

The events are read first (not timed); the figure is the best of ``--repeat`` passes,
in this thread's CPU time, so other load on the machine moves it little.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from botkit.backtest.catalog import Catalog, replay
from botkit.book import OrderBook
from botkit.events import BookDelta

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--catalog", type=Path, default=ROOT / "backtest_data")
    ap.add_argument("--venue", default="sim")
    ap.add_argument("--symbol", default="BTC/USDT")
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    batches = replay(Catalog(a.catalog), a.venue, a.symbol, kinds=["book"])
    events = [e for batch in batches for e in batch]
    rows = sum(len(e.bids) + len(e.asks) for e in events)
    best = float("inf")
    book = OrderBook(a.symbol)
    for _ in range(a.repeat):
        book = OrderBook(a.symbol)
        t0 = time.thread_time()
        for e in events:
            if e.__class__ is BookDelta:
                book.apply_delta(e)
            else:
                book.apply_snapshot(e)
        best = min(best, time.thread_time() - t0)
    print(
        json.dumps(
            {
                "events": len(events),
                "rows": rows,
                "cpu_ms": round(best * 1e3, 1),
                "rows_per_s": round(rows / best),
                "events_per_s": round(len(events) / best),
                "top": [book.best_bid, book.best_ask],
            }
        )
    )


if __name__ == "__main__":
    main()
