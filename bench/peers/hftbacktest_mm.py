#!/usr/bin/env python3
"""The L2 peer: a market maker in hftbacktest on the same real capture as
``bench/l2_market_maker.py``. Runs in its own throwaway virtualenv, never botkit's:

    python3 -m venv /tmp/hft && /tmp/hft/bin/pip install hftbacktest==2.4.4
    /tmp/hft/bin/python bench/peers/hftbacktest_mm.py [CAPTURE] [--repeat 3]

The capture (``../shared/data/real/hftbacktest/usdm/btcusdt_20240808.gz``) is
converted with hftbacktest's own ``binancefutures.convert`` (depth diffs and
trades; local time corrected by it), and its one REST snapshot is given as the
initial book. The strategy (numba) has botkit's ``market_maker`` shape: on every
feed message it computes both quotes a half-spread (0.25 bps of the mid, at least
one tick) around the mid, shifted against inventory, and moves a post-only quote
(GTX) by cancel and replace when it is a tick or more off; 0.002 BTC, 5 ms order
latency each way, Binance's maker/taker fees, hftbacktest's risk-averse queue
model. The first run pays numba's compile (``cold``); the others are warm.
Prints one JSON line per run: feed ``messages`` (depth diffs and trades, as
botkit counts them), ``rows`` (book levels), wall time and messages per second.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np
from hftbacktest import (
    BUY_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EXCH_EVENT,
    GTX,
    LIMIT,
    LOCAL_EVENT,
    NEW,
    SELL_EVENT,
    TRADE_EVENT,
    BacktestAsset,
    HashMapMarketDepthBacktest,
)
from hftbacktest.binding import event_dtype
from hftbacktest.data.utils import binancefutures
from numba import njit

HERE = Path(__file__).resolve().parent
CAPTURE = (
    HERE.parents[2] / "shared" / "data" / "real" / "hftbacktest" / "usdm" / "btcusdt_20240808.gz"
)
TICK, LOT, SIZE = 0.1, 0.001, 0.002
HALF_BPS = 0.25
MAX_POS = 10 * SIZE


def snapshot_rows(path: Path) -> np.ndarray:
    """The capture's REST snapshot (the one line without a stream) as an initial book."""
    with gzip.open(path, "rt") as fh:
        for line in fh:
            ts, _, body = line.partition(" ")
            msg = json.loads(body)
            if "stream" in msg:
                continue
            rows = [(BUY_EVENT, p, q) for p, q in msg["bids"]] + [
                (SELL_EVENT, p, q) for p, q in msg["asks"]
            ]
            out = np.zeros(len(rows), event_dtype)
            for i, (side, p, q) in enumerate(rows):
                ev = DEPTH_SNAPSHOT_EVENT | side | EXCH_EVENT | LOCAL_EVENT
                out[i] = (ev, int(ts), int(ts), float(p), float(q), 0, 0, 0.0)
            return out
    raise SystemExit(f"{path}: no REST snapshot line")


@njit
def market_maker(hbt, half_frac, max_pos, size):  # type: ignore[no-untyped-def]
    """botkit's market_maker, in hftbacktest's terms (module doc)."""
    bid_id = np.uint64(0)
    ask_id = np.uint64(0)
    next_id = np.uint64(1)
    bid_tick = np.int64(0)
    ask_tick = np.int64(0)
    wakeups = 0
    sent = 0
    while hbt.wait_next_feed(True, 10_000_000_000_000) != 1:
        wakeups += 1
        depth = hbt.depth(0)
        bb = depth.best_bid_tick
        ba = depth.best_ask_tick
        if bb <= 0 or ba <= bb:
            continue
        mid = (bb + ba) / 2.0
        half = max(mid * half_frac, 1.0)
        centre = mid - hbt.position(0) / max_pos * half
        want_bid = min(np.int64(np.floor(centre - half)), ba - 1)
        want_ask = max(np.int64(np.ceil(centre + half)), bb + 1)
        orders = hbt.orders(0)
        for is_bid in (True, False):
            oid = bid_id if is_bid else ask_id
            have = bid_tick if is_bid else ask_tick
            want = want_bid if is_bid else want_ask
            order = orders.get(oid) if oid else None
            live = order is not None and order.status == NEW
            if order is not None and order.req != 0:
                continue  # a request for this side is on its way
            if live and abs(want - have) < 1:
                continue
            if live:
                hbt.cancel(0, oid, False)
            oid = next_id
            next_id += 1
            if is_bid:
                hbt.submit_buy_order(0, oid, want * depth.tick_size, size, GTX, LIMIT, False)
                bid_id, bid_tick = oid, want
            else:
                hbt.submit_sell_order(0, oid, want * depth.tick_size, size, GTX, LIMIT, False)
                ask_id, ask_tick = oid, want
            sent += 1
        hbt.clear_inactive_orders(0)
    return wakeups, sent


def run(data: np.ndarray, snapshot: np.ndarray) -> tuple[float, int, int, float, int]:
    asset = (
        BacktestAsset()
        .data([data])
        .initial_snapshot(snapshot)
        .linear_asset(1.0)
        .constant_order_latency(5_000_000, 5_000_000)
        .risk_adverse_queue_model()
        .no_partial_fill_exchange()
        .trading_value_fee_model(0.0002, 0.0005)
        .tick_size(TICK)
        .lot_size(LOT)
    )
    hbt = HashMapMarketDepthBacktest([asset])
    t0 = time.perf_counter()
    wakeups, sent = market_maker(hbt, HALF_BPS / 10_000.0, MAX_POS, SIZE)
    wall = time.perf_counter() - t0
    trades = int(hbt.state_values(0).num_trades)
    position = float(hbt.position(0))
    hbt.close()
    return wall, int(wakeups), int(sent), position, trades


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
    if "--repeat" in sys.argv:
        args = [a for a in args if a != str(repeat)]
    path = Path(args[0]) if args else CAPTURE
    if not path.exists():
        raise SystemExit(f"cannot find {path}: shared/ must sit beside the repo")
    data = binancefutures.convert(str(path), combined_stream=True, buffer_size=2_000_000)
    snapshot = snapshot_rows(path)
    is_trade = (data["ev"] & TRADE_EVENT) != 0
    depth_msgs = len(set(data["local_ts"][~is_trade].tolist()))  # a diff's rows share its time
    messages = 1 + depth_msgs + int(is_trade.sum())  # the snapshot, the diffs, the trades
    rows = int((~is_trade).sum()) + len(snapshot)
    for i in range(repeat):
        wall, wakeups, sent, position, trades = run(data, snapshot)
        print(
            json.dumps(
                {
                    "engine": "hftbacktest 2.4.4",
                    "strategy": "market maker (njit)",
                    "run": "cold" if i == 0 else "warm",
                    "messages": messages,
                    "rows": rows,
                    "wall_s": round(wall, 4),
                    "messages_per_s": round(messages / wall),
                    "wakeups": wakeups,
                    "orders": sent,
                    "fills": trades,
                    "position": position,
                }
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
