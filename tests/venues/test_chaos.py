"""Chaos: a thousand fills through a venue that fails, stalls, drops and repeats itself.

BlockTrade over real loopback HTTP and websockets against the simulator, which
fails 10% of private REST calls with a 5xx (half of them after acting on the
request), stalls some past the client's timeout, drops the websocket every two
seconds, and duplicates and reorders user-trade messages. At the end the
journal's fills equal the venue's record of the account's trades exactly, the
position equals the venue's, and no order was placed twice.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

from botkit.intents import Place
from botkit.model import OrderType, Side, TimeInForce
from botkit.simulator.server import running_simulator
from botkit.venues.blocktrade import BlockTradeAdapter

from .suite import calm, connect_live, connection_for

SYM = "BTC/USDT"
TARGET_FILLS = 1000  # at ~40 fills a second, ~25 s of faults of every kind


async def test_no_fill_is_lost_or_counted_twice_under_chaos(tmp_path: Path) -> None:
    async with running_simulator(
        "blocktrade",
        seed=11,
        step_s=0.02,
        balances={"USDT": "100000000", "BTC": "1000"},
        flow_options={"trades_per_step": 4.0, "sweep_probability": 0.5},
    ) as sim:
        adapter = BlockTradeAdapter(connection_for(sim, request_timeout_s=1.0))
        router, journal, gateway = await connect_live(
            adapter,
            tmp_path / "journal.sqlite",
            "blocktrade",
            request_timeout_s=1.0,
            lookup_grace_s=2.0,
            poll_interval_s=1.0,
            backoff_s=(0.05, 0.5),
        )
        instruments = router.instruments
        sim.set_faults(
            fail_rate=0.10,
            stall_rate=0.02,
            stall_s=1.5,
            drop_ws_every_s=2.0,
            duplicate_rate=0.2,
            reorder_rate=0.2,
        )
        inst = instruments[SYM]
        try:
            deadline = time.monotonic() + 150
            n = 0
            while len(router.fills) < TARGET_FILLS:
                assert time.monotonic() < deadline, f"only {len(router.fills)} fills"
                if router.open_count < 24:
                    n += 1
                    side = Side.BUY if n % 2 else Side.SELL
                    size = inst.lot_size * 50
                    intent = Place(SYM, side, size, None, OrderType.MARKET, TimeInForce.GTC)
                    router.place("chaos", intent, time.time_ns())
                await asyncio.sleep(0.005)

            calm(sim)
            deadline = time.monotonic() + 60
            while router.open_count or len(router.fills) < len(sim.exchange.trades):
                assert time.monotonic() < deadline, (
                    f"not settled: {router.open_count} open, "
                    f"{len(router.fills)}/{len(sim.exchange.trades)} fills"
                )
                await asyncio.sleep(0.1)
            await gateway.catch_up()

            venue = sim.exchange.trades
            fills = journal.fills()
            assert len(fills) == len(venue) >= TARGET_FILLS
            key = lambda f: (f.price, f.size, f.side)  # noqa: E731
            assert Counter(map(key, fills)) == Counter(map(key, venue))
            assert sorted(f.trade_id for f in fills) == sorted(f.trade_id for f in router.fills)
            venue_position = sim.exchange.positions[SYM]
            assert router.account_position(SYM) == venue_position
            assert sum(p.size for p in journal.positions().values()) == venue_position
            # Nothing was refused but lookups of places that never arrived: no order
            # twice, no stale nonce, nothing invalid.
            assert {r[2] for r in sim.exchange.rejected} <= {"order_not_found"}
            assert len(sim.exchange.by_client) <= n
            # The faults did happen: this was not a quiet run.
            counters = gateway.counters
            assert counters.get("ambiguous_place", 0) > 0
            assert counters.get("duplicate_fill", 0) > 0
            assert counters.get("stream_dropped", 0) + counters.get("poll_failed", 0) > 0
            assert abs(venue_position) <= inst.lot_size * 50 * 24
        finally:
            await gateway.close()
            await adapter.close()
            journal.close()
