"""A quoting run under faults, on every venue: nothing refused, nothing left behind.

The router, the live gateway and each venue's adapter against that venue's
simulator over loopback, while the simulator fails private calls with a 5xx
(half of them after acting), stalls some past the client's timeout, drops the
websocket and repeats and reorders user trades. A quoting loop places quotes far
from the touch, edits them (natively on Alpha5, by cancel-and-replace on
BlockTrade and ALP), cancels them one by one and all at once, and now and then
crosses with a small market order. At the end, with the faults off and
everything cancelled:

- the venue refused no cancel and no edit (no request about an order the bot
  had closed, or the venue never had), and no place;
- no order is open at the venue, and none is open in the journal;
- the journal's fills are the venue's trades, and the position is the venue's.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from botkit.intents import Edit, Place
from botkit.model import OrderType, Side, TimeInForce
from botkit.simulator.server import RunningSimulator, running_simulator
from botkit.venues import registry
from botkit.venues.kit.adapter import VenueAdapter

from .record import assert_journal_is_the_venue
from .suite import calm, connect_live, connection_for, until

SYM = "BTC/USDT"


def adapter_for(venue: str, sim: RunningSimulator) -> VenueAdapter:
    """The venue's adapter, as the node builds it, for this simulator."""
    options = {"request_timeout_s": 1.0} if venue == "blocktrade" else {}
    adapter: VenueAdapter = registry.get(venue).adapter_class()(connection_for(sim, **options))
    return adapter


# How each simulator's record reads next to the wire's (see record.py).
RECORDS: dict[str, dict[str, Any]] = {
    "blocktrade": {},
    "alp": {
        "wire_id": lambda v: None if v is None else v.rsplit("-", 1)[-1],
        "symbol_of": lambda pair: pair.replace("_", "/"),
    },
    "alpha5": {"client_ids": False},
}

STEPS = {"blocktrade": 160, "alpha5": 160, "alp": 24}  # ALP: 2 private calls a second


@pytest.mark.parametrize("venue", ["blocktrade", "alpha5", "alp"])
async def test_a_quoting_run_under_faults_leaves_nothing_behind(venue: str, tmp_path: Path) -> None:
    options: dict[str, Any] = {}
    if venue == "alpha5":
        from botkit.simulator.alpha5 import TEST_TOKEN

        options["token"] = TEST_TOKEN
    async with running_simulator(venue, run_market=False, seed=3, **options) as sim:
        sim.exchange.step()
        adapter = adapter_for(venue, sim)
        router, journal, gateway = await connect_live(
            adapter,
            tmp_path / "journal.sqlite",
            venue,
            request_timeout_s=1.0,
            # A stalled request lands stall_s after it left: the look-up after an
            # ambiguous outcome waits that long, or it resends a cancel that is
            # still on its way (and the venue refuses the second).
            lookup_grace_s=1.6,
            poll_interval_s=0.3,
            backoff_s=(0.05, 0.3),
        )
        inst = router.instruments[SYM]
        book = sim.exchange.books["BTC_USDT" if venue == "alp" else SYM]
        bid, ask = Decimal(repr(book.best_bid)), Decimal(repr(book.best_ask))
        tick, lot = inst.tick_size, inst.lot_size
        rng = random.Random(11)
        sim.set_faults(
            fail_next=3,  # the first places are ambiguous, whatever the dice say
            fail_rate=0.12,
            stall_rate=0.03,
            stall_s=1.4,
            drop_ws_every_s=1.5,
            duplicate_rate=0.3,
            reorder_rate=0.3,
        )
        placed = 0
        try:
            for _ in range(STEPS[venue]):
                now = time.time_ns()
                mine = [o for o in router.open_orders("q", SYM) if o.type is OrderType.LIMIT]
                r = rng.random()
                if r < 0.3 or not mine:
                    side = rng.choice([Side.BUY, Side.SELL])
                    away = (200 + rng.randrange(100)) * tick
                    price = bid - away if side is Side.BUY else ask + away
                    size = lot * rng.randrange(100, 300)
                    intent = Place(SYM, side, size, price, OrderType.LIMIT, TimeInForce.GTC)
                    router.place("q", intent, now)
                    placed += 1
                elif r < 0.75:
                    o = rng.choice(mine)
                    away = (200 + rng.randrange(100)) * tick
                    price = bid - away if o.side is Side.BUY else ask + away
                    router.edit("q", Edit(o.client_id, price, lot * rng.randrange(100, 300)), now)
                elif r < 0.85:
                    router.cancel("q", rng.choice(mine).client_id, now)
                elif r < 0.93:
                    router.cancel_all("q", SYM, now)
                else:
                    side = rng.choice([Side.BUY, Side.SELL])
                    size = max(lot * 10, inst.size_down((inst.min_notional or 0) * 3 / ask) + lot)
                    market = Place(SYM, side, size, None, OrderType.MARKET, TimeInForce.GTC)
                    router.place("q", market, now)
                    placed += 1
                await asyncio.sleep(0.05)

            calm(sim)
            # Cancel on stop: what is in flight finishes first, then its cancel goes.
            router.cancel_all("q", None, time.time_ns())
            await until(lambda: router.open_count == 0, timeout_s=90)
            await gateway.drain()
            await gateway.reconcile()  # anything given up that landed after all is cancelled
            await until(lambda: len(router.fills) >= len(sim.exchange.trades), timeout_s=30)

            assert sim.exchange.open_orders() == []
            # Lookups of orders that are not there (given up, or never arrived) are fine.
            refused = [r for r in sim.exchange.rejected if r[1] in ("place", "cancel", "edit")]
            assert refused == [], (refused, gateway.counters)
            assert router.illegal_transitions == 0
            stored = journal.orders()
            assert len(stored) == placed and not journal.orders(open_only=True)
            fills = journal.fills()
            venue_trades = sim.exchange.trades
            key = lambda f: (f.price, f.size, f.side)  # noqa: E731
            assert Counter(map(key, fills)) == Counter(map(key, venue_trades))
            assert router.account_position(SYM) == sum(sim.exchange.positions.values())
            counters = gateway.counters
            assert counters.get("ambiguous_place", 0) + counters.get("lookup_failed", 0) > 0
            assert_journal_is_the_venue(journal, sim.exchange, **RECORDS[venue])
        finally:
            await gateway.close()
            await adapter.close()
            journal.close()
