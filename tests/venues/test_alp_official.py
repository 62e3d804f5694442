"""ALP.COM by the official docs (``api="official"``): what differs from the seed.

Against the simulator's official reading (JWT + X-SIGN, official paths, decimal
strings, ``[id]`` replies, the cancel map, trades naming their order), and a
canned loopback venue for paging the 100-trade pages.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web

from botkit.model import Order, OrderType, Side, TimeInForce
from botkit.simulator.server import free_port
from botkit.venues.alp import AlpAdapter
from botkit.venues.kit.errors import InvalidRequest, OrderRejected

from .test_alp_adapter import SYMBOL, TICK, connection, order, placed, touch, venue

D = Decimal


def official(**options: Any) -> Any:
    return venue(v3_reading="official", adapter={"api": "official", **options})


async def test_post_only_goes_as_the_official_flag() -> None:
    async with official() as (sim, adapter):
        bid, ask = touch(sim)
        vo = await adapter.place(order("po-1", Side.BUY, "0.1", bid - TICK, post_only=True))
        assert sim.exchange.by_client["po-1"].post_only and vo.client_id == "po-1"
        # One that would take is refused by the venue (it is "only placed as maker").
        with pytest.raises(OrderRejected) as refused:
            await adapter.place(order("po-2", Side.BUY, "0.1", ask, post_only=True))
        assert refused.value.status == 400
        assert [code for _, _, code, _ in sim.exchange.rejected] == ["post_only_would_cross"]


async def test_the_seed_reading_keeps_its_own_post_only_choice() -> None:
    async with venue() as (sim, adapter):
        bid, _ = touch(sim)
        with pytest.raises(InvalidRequest) as refused:
            await adapter.place(order("po", Side.BUY, "0.1", bid - TICK, post_only=True))
        assert refused.value.code == "post_only_not_allowed" and sim.exchange.by_client == {}


async def test_tif_is_sent_only_when_it_says_something() -> None:
    async with official() as (sim, adapter):
        bid, _ = touch(sim)
        await adapter.place(order("g", Side.BUY, "0.1", bid - 10 * TICK))
        await adapter.place(order("i", Side.BUY, "0.1", bid - 11 * TICK, tif=TimeInForce.IOC))
        assert sim.exchange.by_client["i"].tif is TimeInForce.IOC
        assert not sim.exchange.by_client["i"].is_open  # an IOC that could not take
        assert sim.exchange.by_client["g"].is_open
    async with official(send_tif="never") as (sim, adapter):
        bid, _ = touch(sim)
        with pytest.raises(InvalidRequest, match="tif"):  # never silently a GTC
            await adapter.place(order("f", Side.BUY, "0.1", bid, tif=TimeInForce.FOK))
        assert sim.exchange.by_client == {}


async def test_cancel_reads_the_official_map() -> None:
    async with official() as (sim, adapter):
        bid, _ = touch(sim)
        o = await placed(adapter, order("c", Side.BUY, "0.1", bid - 20 * TICK))
        await adapter.cancel(o)
        assert not sim.exchange.by_client["c"].is_open
        with pytest.raises(OrderRejected, match="order not found") as refused:
            await adapter.cancel(o)  # {"<id>": "order not found"}
        assert refused.value.code == "order_not_open"
        assert sim.exchange.rejected == []


async def test_cancel_all_by_pair_and_everything() -> None:
    async with official() as (sim, adapter):
        bid, _ = touch(sim)
        await adapter.place(order("a", Side.BUY, "0.1", bid - 30 * TICK))
        await adapter.place(Order("e", "ETH/USDT", Side.BUY, OrderType.LIMIT, D(1), D(100)))
        await adapter.cancel_all(SYMBOL)  # {"pair": "BTC_USDT"} alone
        assert [o.client_id for o in sim.exchange.open_orders()] == ["e"]
        await adapter.cancel_all()  # {"all": true}
        assert sim.exchange.open_orders() == []
        assert await adapter.open_orders() == []
        assert sim.exchange.rejected == []


async def test_orders_are_listed_from_the_official_list() -> None:
    async with official() as (sim, adapter):
        bid, _ = touch(sim)
        o = await placed(adapter, order("l", Side.SELL, "0.1", bid + 40 * TICK))
        (listed,) = await adapter.open_orders(SYMBOL)
        assert (listed.venue_order_id, listed.side, listed.client_id) == (
            o.venue_order_id,
            Side.SELL,  # "ASK"
            "l",
        )
        found = await adapter.find_order(o)
        assert found is not None and found.price == bid + 40 * TICK


# ----- paging of account trades (at most 100 a reply) ---------------------------------------


def synthetic_trades(n: int, start_s: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i + 1,
            "pair": "BTC_USDT",
            "side": "BUY",
            "price": 100.0,
            "amount": 0.001,
            "fee": 0.0,
            "timestamp": start_s + i // 3 + 0.001 * (i % 3),  # three trades a second
            "order_id": 7,
        }
        for i in range(n)
    ]


@pytest.fixture
async def trades_venue() -> AsyncIterator[tuple[str, list[dict[str, Any]], list[dict[str, str]]]]:
    start = int(time.time()) - 3600
    trades = synthetic_trades(250, start)
    asked: list[dict[str, str]] = []

    async def account_trades(request: web.Request) -> web.Response:
        q = dict(request.query)
        asked.append(q)
        lo, hi = int(q.get("start_time", 0)), int(q.get("end_time", 1 << 40))
        limit = min(int(q.get("limit", 100)), 100)
        rows = [t for t in trades if lo <= t["timestamp"] < hi]
        rows.sort(key=lambda t: -t["timestamp"])  # newest first
        return web.json_response(rows[:limit])

    async def pairs(request: web.Request) -> web.Response:
        pair = {
            "name": "BTC_USDT",
            "currency1": "BTC",
            "currency2": "USDT",
            "price_precision": 2,
            "amount_precision": 4,
        }
        return web.json_response([pair])

    async def token(request: web.Request) -> web.Response:
        return web.json_response("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJrIn0.c2ln")

    app = web.Application()
    app.router.add_get("/api/v3/accounts/trades", account_trades)
    app.router.add_get("/api/v3/pairs", pairs)
    app.router.add_post("/api/v3/auth", token)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", trades, asked
    finally:
        await runner.cleanup()


async def test_a_full_page_of_trades_is_followed_by_the_next(trades_venue: Any) -> None:
    url, trades, asked = trades_venue
    adapter = AlpAdapter(
        connection(
            url,
            api_key="k",
            api_secret="s",
            api="official",
            load_fees=False,
            min_request_interval_s=0,
        )
    )
    try:
        since = int(trades[0]["timestamp"]) * 10**9
        fills = await adapter.user_trades(since)
        assert sorted(int(f.trade_id) for f in fills) == [t["id"] for t in trades]
        assert len(asked) >= 3 and all(q["limit"] == "100" for q in asked)
        assert all(q["start_time"] == str(since // 10**9) for q in asked)
        assert json.dumps(asked[0]).count("end_time") == 0  # the first page is open-ended
    finally:
        await adapter.close()
