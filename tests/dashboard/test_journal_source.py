"""Without a broker the dashboard reads a bot's journal, and still pushes what is new.

The journal is a real one (``botkit.journal``) that the test writes as a bot does,
and the dashboard the real application on 127.0.0.1, read over its websocket.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from botkit.dashboard.hub import Hub
from botkit.dashboard.journalsource import JournalSource
from botkit.dashboard.passwords import hash_password
from botkit.dashboard.server import Dashboard, Login
from botkit.journal import Journal
from botkit.model import Fill, Liquidity, Order, OrderStatus, OrderType, Side
from botkit.redact import Secret

PASSWORD = "journal-reader-pw"
T0 = 1_723_118_400_000_000_000


def order(cid: str, status: OrderStatus, price: str = "60000.00") -> Order:
    return Order(
        cid, "BTC/USDT", Side.BUY, OrderType.LIMIT, Decimal("0.010"), Decimal(price),
        strategy="maker", status=status, created_ns=T0, updated_ns=T0,
    )  # fmt: skip


def fill(n: int, side: Side, price: str) -> Fill:
    return Fill(
        f"t{n}", f"o{n}", "BTC/USDT", side, Decimal(price), Decimal("0.010"), Decimal("0.06"),
        "USDT", Liquidity.TAKER, T0 + n * 1_000_000_000, f"v{n}", "maker",
    )  # fmt: skip


@pytest.fixture
async def reader(tmp_path: Path) -> AsyncIterator[tuple[TestClient, Journal]]:
    journal = Journal(tmp_path / "maker-1.sqlite", venue="sim")
    journal.record_order(order("rest-1", OrderStatus.OPEN, "59000.00"))
    journal.record_fill(fill(1, Side.BUY, "60000.00"))
    hub = Hub()
    source = JournalSource(hub, journal.path, interval_s=0.05)
    login = Login("ops", Secret(hash_password(PASSWORD, ln=10)))
    dashboard = Dashboard(login, hub, journal=source)
    jar = aiohttp.CookieJar(unsafe=True)
    async with TestClient(TestServer(dashboard.app, host="127.0.0.1"), cookie_jar=jar) as client:
        page = await (await client.get("/login")).text()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        form = {"username": "ops", "password": PASSWORD, "csrf": csrf.group(1)}
        assert (await client.post("/login", data=form)).status == 200
        yield client, journal
    journal.close()


async def next_message(ws: Any, pred: Any, timeout_s: float = 5.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout_s):
        while True:
            msg = json.loads((await ws.receive()).data)
            if pred(msg):
                return msg  # type: ignore[no-any-return]


async def test_the_journals_bot_is_listed_and_its_new_fills_are_pushed(
    reader: tuple[TestClient, Journal],
) -> None:
    client, journal = reader
    token = re.search(r'name="csrf-token" content="([^"]+)"', await (await client.get("/")).text())
    assert token is not None
    async with client.ws_connect(f"/ws?csrf={token.group(1)}") as ws:
        bots = await next_message(ws, lambda m: m["type"] in ("bots", "tick") and m["bots"])
        (bot,) = bots["bots"]
        assert bot["id"] == "maker-1" and bot["source"] == "journal" and not bot["controllable"]
        await ws.send_json({"watch": "maker-1"})
        snap = (await next_message(ws, lambda m: m["type"] == "snapshot"))["view"]
        assert [f["fill_id"] for f in snap["fills"]] == ["t1"]
        assert [o["client_id"] for o in snap["orders"]] == ["rest-1"]
        (position,) = snap["positions"]
        assert position["strategy"] == "maker" and position["size"] == "0.010"

        # The bot goes on: a fill that closes the position, and its resting order cancelled.
        journal.record_fill(fill(2, Side.SELL, "60100.00"))
        journal.record_order(order("rest-1", OrderStatus.CANCELED, "59000.00"))
        pushed = await next_message(ws, lambda m: m["type"] == "update" and "fill" in m["change"])
        new = pushed["change"]["fill"]
        assert new["fill_id"] == "t2" and new["side"] == "sell" and new["price"] == "60100.00"
        closed = await next_message(ws, lambda m: m["type"] == "update" and "order" in m["change"])
        assert closed["change"]["order"]["client_id"] == "rest-1"
        pnl = await next_message(ws, lambda m: m["type"] == "update" and "pnl" in m["change"])
        # Realised 0.01 x 100 = 1, less two fees of 0.06.
        assert pnl["change"]["pnl_last"]["total"] == "0.88"

    # Read-only: there is no broker to send a command through.
    refused = await client.post(
        "/api/bots/maker-1/control",
        json={"command": "pause"},
        headers={"X-CSRF-Token": token.group(1)},
    )
    assert refused.status == 409 and "journal" in (await refused.json())["error"]
