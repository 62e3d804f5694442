#!/usr/bin/env python3
"""What MQTT telemetry costs the trading loop: trade event -> order request, on and off.

Two bots of the same shape run in one event loop, as a paper or live run does:
the engine, the risk module and the router, with a strategy that answers every
trade with a limit order, and a venue port that timestamps each order request
(``submit``) and acknowledges and fills it once the loop is free, like a venue
answering between market events. One bot has telemetry on (``OpsService``: the
tap in the updates queue, the pause gate, the publisher connected to a real
broker on 127.0.0.1 and publishing every order change, fill, position and PnL
message), the other off. Trades go to them in alternating blocks, each trade
timed from ``Engine.dispatch`` to the order request, paced at ``--rate`` trades
a second (the loop idles between them, as on a live feed, and the publisher
sends meanwhile); ``--rate 0`` sends them back to back with one turn of the
loop each, more than the publisher can keep up with: its bounded queue then
drops, and says so.

    python bench/telemetry_latency.py                  # 10,000 samples each
    python bench/telemetry_latency.py --samples 50000 --rate 0

Prints one JSON line per mode (p50, p99, mean in microseconds) and what the
publisher sent and dropped. The broker is mosquitto when installed, else amqtt's.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from botkit import Instrument, Place, Side, hookimpl
from botkit.book import OrderBook
from botkit.config import parse_config
from botkit.engine import Engine
from botkit.events import Trade
from botkit.execution.router import ExecutionRouter
from botkit.model import Fill, Liquidity, Order
from botkit.node import assemble
from botkit.ops.health import FeedHealth
from botkit.ops.localbroker import LocalBroker
from botkit.ops.service import OpsService
from botkit.plugins import StrategySpec

SYMBOL = "BTC/USDT"
BLOCK = 500


class Quoter:
    """Answers every trade with a limit order at its price, alternating buy and sell."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.n = 0

    @hookimpl
    def on_trade(self, ctx: Any, trade: Trade) -> list[Place]:
        self.n += 1
        side = Side.BUY if self.n % 2 else Side.SELL
        return [Place(SYMBOL, side, "0.001", trade.price)]


class TimedVenue:
    """Stamps each order request, and acks and fills it when the loop is next free."""

    def __init__(self, router: ExecutionRouter) -> None:
        self.router = router
        self.sent_ns = 0
        self.waiting: list[Order] = []
        self.trades = 0

    def submit(self, order: Order, now_ns: int) -> None:
        self.sent_ns = time.perf_counter_ns()
        self.waiting.append(order)

    def cancel(self, order: Order, now_ns: int) -> None:
        self.router.on_canceled(order.client_id, now_ns)

    def edit(self, order: Order, price: Decimal, size: Decimal, now_ns: int) -> None:
        raise NotImplementedError

    def answer(self, now_ns: int) -> None:
        router = self.router
        for order in self.waiting:
            self.trades += 1
            vid = f"v{self.trades}"
            router.on_ack(order.client_id, vid, now_ns)
            fill = Fill(
                f"t{self.trades}",
                order.client_id,
                order.symbol,
                order.side,
                order.price or Decimal(0),
                order.size,
                Decimal("0.0001"),
                "USDT",
                Liquidity.MAKER,
                now_ns,
                vid,
                order.strategy,
            )
            router.on_fill(fill)
        self.waiting.clear()


def make_bot(instruments: dict[str, Instrument], ops: OpsService | None) -> tuple[Engine, Any]:
    ports: list[TimedVenue] = []

    def venue(router: ExecutionRouter, books: dict[str, OrderBook]) -> TimedVenue:
        ports.append(TimedVenue(router))
        return ports[0]

    spec = StrategySpec("quoter", Quoter({}))
    engine = assemble(
        instruments,
        [spec],
        venue,  # type: ignore[arg-type]
        balances={"USDT": Decimal(10**9), "BTC": Decimal(10**6)},
        log_rejects=True,  # as paper and live runs are wired
        tap=ops.tap if ops is not None else None,
    )
    if ops is not None:
        ops.bind(engine, [spec], FeedHealth())
    return engine, ports[0]


def pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000


async def bench(
    samples: int, warmup: int, rate: float, broker: LocalBroker
) -> list[dict[str, Any]]:
    config = parse_config(
        f"""
mode: paper
venue: {{name: blocktrade}}
instruments: [{{symbol: {SYMBOL}, tick_size: "0.01", lot_size: "0.001"}}]
strategies: [{{use: ema_cross, params: {{symbol: {SYMBOL}}}}}]
mqtt: {{host: {broker.host}, port: {broker.port}, bot_id: bench, interval: 1s, qos: 0}}
"""
    )
    instruments = config.make_instruments()
    ops = OpsService(config)
    bots = {"off": make_bot(instruments, None), "on": make_bot(instruments, ops)}
    ops.start()
    while not ops.publisher.connected:
        await asyncio.sleep(0.05)
    latencies: dict[str, list[int]] = {"off": [], "on": []}
    now = time.time_ns()
    for engine, _ in bots.values():
        engine.start(now)
    total = warmup + samples
    gap = 1.0 / rate if rate > 0 else 0.0
    due = time.monotonic()
    i = 0
    while i < total:
        for mode, (engine, port) in bots.items():
            for k in range(BLOCK):
                n = i + k
                ts = time.time_ns()
                trade = Trade(ts, SYMBOL, 60_000.0 + (n % 7), 0.01, Side.BUY, n)
                start = time.perf_counter_ns()
                engine.dispatch(trade)
                took = port.sent_ns - start
                if n >= warmup:
                    latencies[mode].append(took)
                port.answer(ts)
                engine.deliver()
                due += gap
                await asyncio.sleep(max(0.0, due - time.monotonic()))  # the publisher's turn
        i += BLOCK
    stats = ops.publisher.stats()
    await ops.close()
    out = []
    for mode, values in latencies.items():
        values = values[:samples]
        out.append(
            {
                "telemetry": mode,
                "samples": len(values),
                "p50_us": pct(values, 0.50),
                "p99_us": pct(values, 0.99),
                "mean_us": round(statistics.fmean(values) / 1000, 2),
            }
        )
    out.append({"rate": rate, "published": stats["published"], "dropped": stats["dropped"]})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--warmup", type=int, default=1_000)
    ap.add_argument("--rate", type=float, default=2_000, help="trades a second (0: no pause)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, LocalBroker(Path(tmp)) as broker:
        gc.collect()
        for line in asyncio.run(bench(args.samples, args.warmup, args.rate, broker)):
            print(json.dumps({**line, "broker": broker.kind}))


if __name__ == "__main__":
    main()
