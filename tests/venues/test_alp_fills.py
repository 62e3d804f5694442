"""ALP.COM fills attributed exactly, under either document.

The official account trade names its order (``order_id``): attribution is read.
The seed's names nothing, so the adapter refuses a second live order on the same
pair, side and price (the twin rule) and decides the rest from the record's fields
and the venue's own times. Checked against the simulator's ground truth: which
order every execution really belonged to.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest

from botkit.model import Fill, Order, Side
from botkit.simulator.server import RunningSimulator
from botkit.venues.kit.errors import InvalidRequest, OrderRejected

from .test_alp_adapter import (
    PAIR,
    SYMBOL,
    TICK,
    _twin_fills,
    make_adapter,
    order,
    placed,
    step_until,
    touch,
    venue,
)

D = Decimal


def truth(sim: RunningSimulator) -> dict[tuple[int, str, Decimal, Decimal], list[str]]:
    """Each execution's (time in µs, side, price, size) -> the venue ids of its orders."""
    out: dict[tuple[int, str, Decimal, Decimal], list[str]] = defaultdict(list)
    for f in sim.exchange.trades:
        vid = sim.exchange.by_client[f.client_id].venue_order_id or ""
        out[(f.ts_ns // 1000, f.side.value, f.price, f.size)].append(vid.rsplit("-", 1)[-1])
    return {k: sorted(v) for k, v in out.items()}


def ours(fills: list[Fill]) -> dict[tuple[int, str, Decimal, Decimal], list[str]]:
    out: dict[tuple[int, str, Decimal, Decimal], list[str]] = defaultdict(list)
    for f in fills:
        out[(f.ts_ns // 1000, f.side.value, f.price, f.size)].append(f.venue_order_id or "")
    return {k: sorted(v) for k, v in out.items()}


# ----- the twin rule (seed) ---------------------------------------------------------------


async def test_a_second_live_order_on_the_same_price_is_refused_before_it_is_sent() -> None:
    async with venue() as (sim, adapter):
        bid, _ = touch(sim)
        first = await placed(adapter, order("t-1", Side.BUY, "0.2", bid - 5 * TICK))
        # Another size does not help: after partial fills two such orders can be left
        # with the same unfilled amount, and a maker trade would fit either.
        for size in ("0.2", "0.1"):
            with pytest.raises(InvalidRequest) as refused:
                await adapter.place(order(f"t-2-{size}", Side.BUY, size, bid - 5 * TICK))
            assert refused.value.code == "twin_order" and "t-1" in refused.value.message
            assert refused.value.definite
        assert list(sim.exchange.by_client) == ["t-1"]  # nothing was sent
        # Another price, or the other side, is a different book slot.
        await adapter.place(order("t-3", Side.BUY, "0.2", bid - 6 * TICK))
        await adapter.place(order("t-4", Side.SELL, "0.2", bid + 500 * TICK))
        # Once the first is closed, its price is free again.
        await adapter.cancel(first)
        await adapter.place(order("t-5", Side.BUY, "0.2", bid - 5 * TICK))
        assert sim.exchange.rejected == []


async def test_two_places_in_flight_for_one_slot_cannot_both_go() -> None:
    spaced = {"min_request_interval_s": 0.2, "rate_margin": 0}
    async with venue(adapter=spaced) as (sim, adapter):
        bid, _ = touch(sim)
        results = await asyncio.gather(
            adapter.place(order("r-1", Side.BUY, "0.1", bid - 9 * TICK)),
            adapter.place(order("r-2", Side.BUY, "0.1", bid - 9 * TICK)),
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, InvalidRequest)]
        assert len(refused) == 1 and refused[0].code == "twin_order"
        assert len(sim.exchange.by_client) == 1


async def test_an_order_the_venue_closed_frees_its_slot_at_reconciliation() -> None:
    async with venue(adapter={"match_slack_ms": 0}) as (sim, adapter):
        bid, _ = touch(sim)
        first = await placed(adapter, order("v-1", Side.BUY, "0.1", bid - 7 * TICK))
        sim.exchange.cancel(f"alp-{first.venue_order_id}")  # not by us
        with pytest.raises(InvalidRequest):  # we do not know yet
            await adapter.place(order("v-2", Side.BUY, "0.1", bid - 7 * TICK))
        assert await adapter.open_orders(SYMBOL) == []  # what reconciliation reads
        await adapter.place(order("v-3", Side.BUY, "0.1", bid - 7 * TICK))


async def test_a_refused_place_frees_its_slot() -> None:
    async with venue() as (sim, adapter):
        _, ask = touch(sim)
        with pytest.raises(OrderRejected):  # more than the account holds
            await adapter.place(order("big", Side.BUY, "99", ask * 10))
        await adapter.place(order("ok", Side.BUY, "0.001", ask * 10))


async def test_the_rule_is_an_option() -> None:
    async with venue(adapter={"twin_orders": "allow"}) as (sim, adapter):
        bid, _ = touch(sim)
        await adapter.place(order("a", Side.BUY, "0.1", bid - 5 * TICK))
        await adapter.place(order("b", Side.BUY, "0.1", bid - 5 * TICK))
        assert len(sim.exchange.open_orders()) == 2


# ----- attribution ------------------------------------------------------------------------


async def test_taker_trades_of_two_crossing_orders_go_to_each_its_own() -> None:
    # Both take at the same asks and fill completely: every field of their trades is
    # alike (same prices, amount_unfilled 0 at the end). The venue's times decide.
    async with venue() as (sim, adapter):
        _, ask = touch(sim)
        a = await placed(adapter, order("x-a", Side.BUY, "0.004", ask + 5 * TICK))
        b = await placed(adapter, order("x-b", Side.BUY, "0.004", ask + 7 * TICK))
        fills = await adapter.user_trades(None)
        assert ours(fills) == truth(sim)
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for f in fills:
            sums[f.client_id] += f.size
        assert sums == {"x-a": D("0.004"), "x-b": D("0.004")}
        assert {f.venue_order_id for f in fills if f.client_id == "x-a"} == {a.venue_order_id}
        assert {f.venue_order_id for f in fills if f.client_id == "x-b"} == {b.venue_order_id}


async def test_a_reused_price_gives_each_order_its_own_maker_fills() -> None:
    async with venue() as (sim, adapter):
        bid, _ = touch(sim)
        price = bid - 2 * TICK
        old = await placed(adapter, order("p-1", Side.BUY, "5", price))
        step_until(sim, old, lambda v: v.filled > 0)
        with contextlib.suppress(OrderRejected):  # it may have filled completely
            await adapter.cancel(old)
        new = await placed(adapter, order("p-2", Side.BUY, "5", price))
        step_until(sim, new, lambda v: v.filled > 0)
        fills = await adapter.user_trades(None)
        assert {f.client_id for f in fills} == {"p-1", "p-2"}
        assert ours(fills) == truth(sim)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_quoting_attributes_every_fill_to_its_order(seed: int) -> None:
    # A quoting pattern: orders near the touch on both sides, some crossing, cancels
    # and re-places at prices just freed, fills polled now and then and at the end.
    rng = random.Random(seed)
    async with venue() as (sim, adapter):
        live: list[Order] = []
        seen: dict[str, Fill] = {}
        refused = 0
        for n in range(40):
            bid, ask = touch(sim)
            side = rng.choice([Side.BUY, Side.SELL])
            ticks = rng.randint(-3, 4)
            price = (bid - ticks * TICK) if side is Side.BUY else (ask + ticks * TICK)
            o = order(f"q-{n}", side, str(D(rng.randint(1, 40)) / 1000), price)
            try:
                live.append(await placed(adapter, o))
            except InvalidRequest as err:
                assert err.code == "twin_order"
                refused += 1
            if live and rng.random() < 0.3:
                victim = live.pop(rng.randrange(len(live)))
                with contextlib.suppress(OrderRejected):  # already filled
                    await adapter.cancel(victim)
            for _ in range(rng.randint(0, 6)):
                sim.exchange.step()
            if rng.random() < 0.3:
                for f in await adapter.user_trades(None):
                    seen.setdefault(f.trade_id, f)
        for f in await adapter.user_trades(None):
            seen.setdefault(f.trade_id, f)
        fills = list(seen.values())
        assert len(fills) == len(sim.exchange.trades) > 5
        assert all(f.client_id for f in fills)
        assert ours(fills) == truth(sim)
        assert refused > 0  # the rule was exercised


# ----- the official reading: trades name their order ---------------------------------------


def official(**options: Any) -> Any:
    return venue(v3_reading="official", adapter={"api": "official", **options})


async def test_official_twins_are_allowed_and_fills_read_from_order_id() -> None:
    async with official() as (sim, adapter):
        fills = await _twin_fills(sim, adapter)
        assert ours(fills) == truth(sim)
        assert all(f.trade_id.isdigit() for f in fills)  # the venue's trade ids


async def test_official_fills_of_a_restarted_adapter_name_their_orders() -> None:
    async with official() as (sim, adapter):
        _, ask = touch(sim)
        o = await placed(adapter, order("o-r", Side.BUY, "0.01", ask + 5 * TICK))
        fresh = make_adapter(sim, api="official")
        try:
            fills = await fresh.user_trades(None, SYMBOL)
        finally:
            await fresh.close()
        assert fills and {f.venue_order_id for f in fills} == {o.venue_order_id}
        assert {f.symbol for f in fills} == {SYMBOL}
        assert PAIR not in {f.symbol for f in fills}
