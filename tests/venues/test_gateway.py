"""The live gateway's answers to an unreliable venue, one situation at a time."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

from botkit.execution import ExecutionRouter
from botkit.execution.live import LiveGateway
from botkit.intents import Place
from botkit.journal import Journal
from botkit.model import OrderStatus, OrderType, Side, TimeInForce
from botkit.simulator.server import running_simulator
from botkit.venues.alp import AlpAdapter
from botkit.venues.alpha5 import Alpha5Adapter
from botkit.venues.kit.adapter import Connection

from .suite import connection_for, live_stack, until

SYM = "BTC/USDT"


async def test_a_place_that_lands_after_it_was_given_up_is_cancelled_and_closed_as_such(
    tmp_path: Path,
) -> None:
    async with running_simulator("alpha5", run_market=False) as sim:
        sim.exchange.step()
        adapter = Alpha5Adapter(Connection(sim.base_url))
        await adapter.connect()
        instruments = await adapter.instruments()
        router = ExecutionRouter(instruments)
        journal = Journal(tmp_path / "j.sqlite", venue="alpha5")
        # The client gives up after 0.3 s and looks the order up 0.1 s later; the
        # venue sits on the request for 1 s and then places it after all.
        gateway = LiveGateway(
            adapter,
            router,
            journal,
            request_timeout_s=0.3,
            lookup_grace_s=0.1,
            backoff_s=(0.05, 0.2),
        )
        router.attach(gateway)
        sim.set_faults(stall_next=1, stall_s=1.0)
        bid = Decimal(repr(sim.exchange.books[SYM].best_bid))
        inst = instruments[SYM]
        intent = Place(
            SYM,
            Side.BUY,
            inst.lot_size * 10,
            bid - 100 * inst.tick_size,
            OrderType.LIMIT,
            TimeInForce.GTC,
        )
        order = router.place("s", intent, time.time_ns())
        try:
            await until(lambda: order.status is OrderStatus.REJECTED)
            assert order.code == "not_at_venue"
            await asyncio.sleep(1.2)  # the stalled request reaches the matching engine
            assert len(sim.exchange.open_orders()) == 1
            await gateway.reconcile()
            assert gateway.counters.get("zombie_canceled") == 1
            assert sim.exchange.open_orders() == []
            # The order was at the venue after all, and is cancelled there: router and
            # journal say so, with the venue's id, as the venue's record does.
            (at_venue,) = sim.exchange.by_client.values()
            assert order.status is OrderStatus.CANCELED
            assert order.venue_order_id == at_venue.venue_order_id
            (stored,) = journal.orders()
            assert (stored.status, stored.venue_order_id) == (
                OrderStatus.CANCELED,
                at_venue.venue_order_id,
            )
        finally:
            await gateway.close()
            await adapter.close()
            journal.close()


async def test_an_order_the_venue_closed_by_itself_is_closed_in_the_journal_too(
    tmp_path: Path,
) -> None:
    # An IOC that meets nothing is cancelled by the venue on arrival, while the place
    # reply only says it was accepted: reconciliation is what learns it closed.
    async with running_simulator("alp", run_market=False) as sim:
        sim.exchange.step()
        adapter = AlpAdapter(connection_for(sim))
        async with live_stack(sim, adapter, tmp_path / "j.sqlite", SYM, "BTC_USDT") as live:
            bid, _ = live.touch()
            inst = live.instrument
            intent = Place(
                SYM,
                Side.BUY,
                inst.lot_size * 10,
                bid - 100 * inst.tick_size,
                OrderType.LIMIT,
                TimeInForce.IOC,
            )
            order = live.router.place("s", intent, time.time_ns())
            await until(lambda: order.status is OrderStatus.OPEN)
            await live.gateway.drain()
            assert sim.exchange.open_orders() == []

            await live.gateway.reconcile()

            assert order.status is OrderStatus.CANCELED
            journaled = live.journal.order(order.client_id)
            assert journaled is not None and journaled.status is OrderStatus.CANCELED
