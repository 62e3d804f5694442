#!/usr/bin/env python3
"""Live tick-to-order latency: websocket message received -> order request written.

Starts the BlockTrade venue simulator (``botkit venue-sim``) in another process
on 127.0.0.1, so its CPU is not the bot's, with one public trade per market step
every ``--step-ms``; then runs the bot live against it in this process
(``botkit.node.run_live``: the real adapter, gateway, router, risk module and
engine) with a strategy that answers every trade with an order: a limit IOC
far from the market, alternating buy and sell, which the venue expires at once
(no fills, no open orders piling up, no own trades printed back). Closed loop
by default: a trade that arrives while the previous answer is still at the
venue (private calls go one at a time, each until its reply) is not answered,
and counted in ``trades_skipped``, so a sample never includes waiting behind
another order; ``--open-loop`` answers every trade regardless.

The latency probe (``botkit.latency``) takes ``time.perf_counter_ns()`` when the
websocket client gets a frame and when the order's HTTP request headers are
handed to the transport (aiohttp's ``on_request_headers_sent``); the interval
is in-process time only. The first ``--warmup`` samples are dropped.

    python bench/latency.py                      # 10,000 samples, the default loop
    python bench/latency.py --loop asyncio       # force the stdlib event loop
    python bench/latency.py --json stdlib        # force the stdlib JSON decoder

Prints one JSON line: p50, p99, p99.9, max and mean in microseconds of wall-clock
time and (``cpu``) of this thread's CPU time over the same intervals, the number
of samples, the event loop and the JSON decoder used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from botkit import OrderType, Place, Side, TimeInForce, hookimpl, latency
from botkit.aio import event_loop_name, new_event_loop
from botkit.config import parse_config
from botkit.events import Trade
from botkit.model import Order
from botkit.node import run_live
from botkit.simulator.server import free_port
from botkit.venues.kit import parsing

SYMBOL = "BTC/USDT"
HERE = Path(__file__).resolve()


class Answerer:
    """Answers every trade with a limit IOC 10% away from its price, buy and sell in turn.

    Closed loop (``closed_loop``, the default): a trade that arrives while the
    previous answer is still at the venue is counted (the probe's ``skipped``) and not
    answered, so no order waits behind another one's reply (private calls go one
    at a time) and each sample is the path itself, not a queue.
    """

    def __init__(self, params: dict[str, Any]) -> None:
        self.size = str(params.get("size", "0.001"))
        self.closed_loop = bool(params.get("closed_loop", True))
        self.n = 0
        self.busy = False

    @hookimpl
    def on_order(self, ctx: Any, order: Order) -> None:
        if order.status.is_closed:
            self.busy = False

    @hookimpl
    def on_trade(self, ctx: Any, trade: Trade) -> list[Place] | None:
        if self.busy and self.closed_loop:
            if latency.probe is not None:
                latency.probe.skipped += 1
            return None
        self.busy = True
        self.n += 1
        buy = self.n % 2 == 1
        price = round(trade.price * (0.9 if buy else 1.1), 2)
        return [
            Place(
                trade.symbol,
                Side.BUY if buy else Side.SELL,
                self.size,
                price,
                type=OrderType.LIMIT,
                tif=TimeInForce.IOC,
            )
        ]


def start_simulator(port: int, step_ms: float, seed: int) -> tuple[subprocess.Popen[str], dict]:
    """``botkit venue-sim`` in a child process; its credentials, read from the banner."""
    flow = {"trades_per_step": 1, "sweep_probability": 0}
    cmd = [
        sys.executable,
        "-m",
        "botkit.cli",
        "venue-sim",
        "--venue",
        "blocktrade",
        "--port",
        str(port),
        "--seed",
        str(seed),
        "--option",
        f"step_s={step_ms / 1000}",
        "--option",
        f"flow_options={json.dumps(flow)}",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    creds: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("api_key", "api_secret"):
            creds[parts[0]] = parts[1]
        if line.strip().startswith("admin"):
            break
    if proc.poll() is not None:
        raise SystemExit("the venue simulator did not start")
    return proc, creds


def bot_yaml(port: int, journal: Path, sync: str, closed_loop: bool) -> str:
    return f"""
mode: live
log_level: warning
venue:
  name: blocktrade
  base_url: http://127.0.0.1:{port}
  ws_url: ws://127.0.0.1:{port}
  api_key: ${{BENCH_KEY}}
  api_secret: ${{BENCH_SECRET}}
instruments:
  - symbol: {SYMBOL}
    tick_size: "0.01"
    lot_size: "0.00001"
strategies:
  - name: answer
    use: {HERE}:Answerer
    params: {{size: "0.001", closed_loop: {str(closed_loop).lower()}}}
live:
  journal: {journal}
  journal_sync: {sync}
  cancel_on_stop: false
  status_interval: 60s
"""


def summary(samples_ns: list[int]) -> dict[str, float]:
    """p50, p99, p99.9, max and mean of nanosecond samples, in microseconds."""
    us = sorted(s / 1000 for s in samples_ns)
    n = len(us)

    def q(p: float) -> float:
        return round(us[min(n - 1, int(p * n))], 1)

    return {
        "p50_us": q(0.50),
        "p99_us": q(0.99),
        "p999_us": q(0.999),
        "max_us": round(us[-1], 1),
        "mean_us": round(statistics.fmean(us), 1),
    }


async def measure(
    port: int,
    creds: dict[str, str],
    want: int,
    timeout_s: float,
    sync: str,
    closed_loop: bool = True,
) -> latency.LatencyProbe:
    probe = latency.install(latency.LatencyProbe(limit=want))
    with tempfile.TemporaryDirectory() as tmp:
        config = parse_config(
            bot_yaml(port, Path(tmp) / "journal.sqlite", sync, closed_loop),
            env={"BENCH_KEY": creds["api_key"], "BENCH_SECRET": creds["api_secret"]},
        )

        async def enough() -> None:
            while len(probe.samples) < want:
                await asyncio.sleep(0.2)
            os.kill(os.getpid(), signal.SIGINT)  # run_live's own clean stop

        watcher = asyncio.create_task(enough())
        try:
            await run_live(config, duration_s=timeout_s)
        finally:
            watcher.cancel()
            latency.uninstall()
    return probe


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--step-ms", type=float, default=5.0, help="one trade every STEP_MS ms")
    ap.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    ap.add_argument("--json", choices=("auto", "stdlib"), default="auto", dest="json_lib")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--open-loop",
        action="store_true",
        help="answer every trade even while the previous order is at the venue",
    )
    ap.add_argument(
        "--journal-sync",
        choices=("full", "normal"),
        default="normal",
        help="live.journal_sync: 'full' adds the journal's fsync to every order",
    )
    a = ap.parse_args()
    if a.json_lib == "stdlib":
        parsing.use_fast_json(False)
    logging.basicConfig(level=logging.WARNING)
    port = free_port()
    sim, creds = start_simulator(port, a.step_ms, a.seed)
    want = a.samples + a.warmup
    timeout_s = want * max(a.step_ms, 10.0) / 1000 * 5 + 120
    try:
        loop = new_event_loop(a.loop)
        try:
            closed = not a.open_loop
            probe = loop.run_until_complete(
                measure(port, creds, want, timeout_s, a.journal_sync, closed)
            )
        finally:
            loop.close()
    finally:
        sim.terminate()
        sim.wait(10)
    kept = probe.samples[a.warmup :]
    cpu = probe.cpu_samples[a.warmup :]
    if len(kept) < a.samples:
        print(f"only {len(kept)} samples of {a.samples}", file=sys.stderr)
    rec: dict[str, Any] = {
        "bench": "latency",
        "what": "ws message received -> order request written (in-process)",
        "samples": len(kept),
        **(summary(kept) if kept else {}),
        "cpu": summary(cpu) if cpu else {},
        "loop": event_loop_name(a.loop),
        "json": parsing.json_decoder_name(),
        "step_ms": a.step_ms,
        "journal_sync": a.journal_sync,
        "trades_skipped": probe.skipped,
        "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(json.dumps(rec), flush=True)
    return 0 if len(kept) >= a.samples else 1


if __name__ == "__main__":
    raise SystemExit(main())
