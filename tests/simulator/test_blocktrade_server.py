"""BlockTrade's simulator, over real loopback, held to document 004.

Requests are signed with the document's own ``gen_signature`` (``helpers``), so
the simulator's check is tested against the document's code, not the adapter's.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from itertools import count
from typing import Any

import aiohttp
import pytest

from botkit.simulator.blocktrade import API, DEFAULT_API_KEY, DEFAULT_API_SECRET, WS_PATH
from botkit.simulator.server import RunningSimulator

from .helpers import blocktrade_headers, fetch, gen_signature, simulator

KEY, SECRET = DEFAULT_API_KEY, DEFAULT_API_SECRET
_nonces = count(1_700_000_000_000)


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with simulator("blocktrade") as s:
        yield s


async def call(
    sim: RunningSimulator,
    method: str,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
    signed: bool = True,
) -> tuple[int, Any]:
    text = json.dumps(body) if body is not None else ""
    data = raw if raw is not None else (text.encode() if text else None)
    sent = dict(headers or {})
    if signed:
        nonce = next(_nonces)
        sent = {**blocktrade_headers(KEY, SECRET, nonce, text), **sent}
        if raw is not None:  # bytes that may not be UTF-8: signed as they are
            mac = hmac.new(SECRET.encode(), f"{KEY}.{nonce}.".encode() + raw, hashlib.sha256)
            sent["X-Signature"] = mac.hexdigest().upper()
    status, reply, _ = await fetch(sim, method, API + path, data=data, headers=sent)
    return status, reply


# ----- authentication, as the document's example code computes it -------------------------


async def test_the_documents_signature_is_accepted_and_nothing_else(
    sim: RunningSimulator,
) -> None:
    assert (await call(sim, "GET", "/portfolios"))[0] == 200
    nonce = next(_nonces)
    body = json.dumps({"trading_pair_id": 1})
    good = gen_signature(KEY, SECRET, nonce, body)
    variants = {
        "lower case": {"X-Signature": good.lower()},
        "body not signed": {"X-Signature": gen_signature(KEY, SECRET, nonce)},
        "other secret": {"X-Signature": gen_signature(KEY, "nope", nonce, body)},
        "other key": {"X-Api-Key": "someone"},
        "nonce not digits": {"X-Nonce": f"+{nonce}"},
        "no signature": {"X-Signature": ""},
    }
    for why, change in variants.items():
        headers = {"X-Api-Key": KEY, "X-Nonce": str(nonce), "X-Signature": good, **change}
        status, reply = await call(
            sim, "POST", "/orders/cancel", raw=body.encode(), headers=headers, signed=False
        )
        assert status == 401 and set(reply) == {"message"}, why
    # None of the refusals consumed the nonce: the good request with it still passes.
    headers = {"X-Api-Key": KEY, "X-Nonce": str(nonce), "X-Signature": good}
    status, _ = await call(
        sim, "POST", "/orders/cancel", raw=body.encode(), headers=headers, signed=False
    )
    assert status == 202
    status, reply = await call(
        sim, "POST", "/orders/cancel", raw=body.encode(), headers=headers, signed=False
    )
    assert status == 401 and "must be greater than" in reply["message"]
    assert {w for _, w, _, _ in sim.exchange.rejected} == {"auth"}


# ----- documented endpoints and shapes -------------------------------------------------------


async def test_fees_are_served_in_the_fee_type_schema(sim: RunningSimulator) -> None:
    status, fees = await call(sim, "GET", "/fees")
    assert status == 200
    assert fees["TRADING"] == {"default": {"min_fee": "0", "percent_value": "0.2"}}
    for rule in fees["MINER_FEE"].values():
        assert set(rule) == {"min_fee", "percent_value"}
    assert (await call(sim, "GET", "/fees", signed=False))[0] == 401
    assert (await call(sim, "GET", "/settings"))[0] == 200


async def test_maximum_order_value_is_a_string_as_the_schema_types_it(
    sim: RunningSimulator,
) -> None:
    _, assets = await call(sim, "GET", "/trading_assets", signed=False)
    assert all(isinstance(a["maximum_order_value"], str) for a in assets)
    assert all(isinstance(a["minimal_order_value"], str) for a in assets)
    async with simulator("blocktrade", max_order_value_as="number") as other:
        _, assets = await call(other, "GET", "/trading_assets", signed=False)
        assert all(isinstance(a["maximum_order_value"], int) for a in assets)


async def test_unknown_paths_and_methods_answer_the_error_schema(sim: RunningSimulator) -> None:
    for method, path in (("GET", "/api/v1/nothing"), ("GET", "/"), ("DELETE", API + "/fees")):
        status, reply, headers = await fetch(sim, method, path)
        assert status in (404, 405) and headers["Content-Type"].startswith("application/json")
        assert set(reply) == {"message"}


async def test_a_withdrawal_leaves_the_portfolio(sim: RunningSimulator) -> None:
    body = {
        "amount": "1.5",
        "trading_asset_id": 3,
        "message": "to cold storage",
        "destination_address": "175tWpb8K1S7NmH4Zx6rewF9WQrcZv245W",
    }
    status, portfolios = await call(sim, "POST", "/portfolios/916/withdraw", body)
    assert status == 200 and portfolios[0]["id"] == 916
    assert sim.exchange.balances["BTC"] == Decimal("18.5")
    status, reply = await call(sim, "POST", "/portfolios/916/withdraw", {**body, "amount": 1.5})
    assert status == 400 and "string" in reply["message"]  # "number as string"
    assert (await call(sim, "POST", "/portfolios/1/withdraw", body))[0] == 404


# ----- strict requests ------------------------------------------------------------------------


def order_body(**changes: Any) -> dict[str, Any]:
    body = {
        "customer_order_id": "c-1",
        "portfolio_id": 916,
        "direction": "BUY",
        "type": "LIMIT",
        "trading_pair_id": 1,
        "amount": "0.01",
        "price": "20000",
        "time_in_force": "GTC",
        "stop_price": None,
    }
    return {k: v for k, v in {**body, **changes}.items() if v != "-"}


async def test_order_fields_are_read_as_the_schema_types_them(sim: RunningSimulator) -> None:
    ok = [
        order_body(),
        order_body(customer_order_id="c-2", price=20000),  # the example's number
        order_body(customer_order_id=3),  # the example's "customer_order_id": 1
        order_body(customer_order_id="c-4", stop_price="-", time_in_force="-"),
    ]
    for body in ok:
        status, reply = await call(sim, "POST", "/customer_orders", body)
        assert status == 200, (body, reply)
        assert set(reply) == {"id", "customer_order_id"}
    refused = {
        "amount as a number": (order_body(customer_order_id="r1", amount=0.01), 400),
        "lower-case enum": (order_body(customer_order_id="r2", direction="buy"), 400),
        "unknown field": (order_body(customer_order_id="r3", post_only=True), 400),
        "missing field": (order_body(customer_order_id="r4", amount="-"), 400),
        "huge number": (order_body(customer_order_id="r5", price="1e999999999"), 400),
        "not a number": (order_body(customer_order_id="r6", price="NaN"), 400),
        "unknown pair": (order_body(customer_order_id="r7", trading_pair_id=99), 404),
        "other portfolio": (order_body(customer_order_id="r8", portfolio_id=1), 404),
        "reused id": (order_body(), 409),
    }
    for why, (body, expected) in refused.items():
        status, reply = await call(sim, "POST", "/customer_orders", body)
        assert status == expected and set(reply) == {"message"}, (why, status, reply)


@pytest.mark.parametrize(
    "raw,content_type",
    [
        (b'{"trading_pair_id": 1', "application/json"),
        (b'{"trading_pair_id": "\xff"}', "application/json"),
        (b'{"trading_pair_id": 1}', "application/json; charset=x-klingon"),
        (b"[" * 40 + b"]" * 40, "application/json"),
        (b'{"trading_pair_id": 1e999999999}', "application/json"),
        (b'{"trading_pair_id": 1, "trading_pair_id": 2}', "application/json"),
    ],
)
async def test_malformed_bodies_are_400_never_500(
    sim: RunningSimulator, raw: bytes, content_type: str
) -> None:
    status, reply = await call(
        sim, "POST", "/orders/cancel", raw=raw, headers={"Content-Type": content_type}
    )
    assert status == 400 and set(reply) == {"message"}


# ----- websocket ------------------------------------------------------------------------------


async def ws_messages(ws: aiohttp.ClientWebSocketResponse, n: int) -> list[Any]:
    out = []
    for _ in range(n):
        out.append(json.loads((await asyncio.wait_for(ws.receive(), 5)).data))
    return out


async def test_unsubscribing_what_was_never_subscribed_is_refused(sim: RunningSimulator) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(sim.ws_url + WS_PATH) as ws,
    ):
        await ws.send_str(json.dumps({"unsubscribe_order_book": {"trading_pair_id": 1}}))
        await ws.send_str(json.dumps({"unsubscribe_no_such_channel": {}}))
        await ws.send_str(json.dumps({"unsubscribe_trades": {"trading_pair_id": 99}}))
        await ws.send_str(json.dumps({"subscribe_no_such_channel": {}}))
        errors = await ws_messages(ws, 4)
        assert [m["message_type"] for m in errors] == ["error"] * 4
        await ws.send_str(json.dumps({"subscribe_trades": {"trading_pair_id": 1}}))
        await ws.send_str(json.dumps({"unsubscribe_trades": {"trading_pair_id": 1}}))
        (confirmed,) = await ws_messages(ws, 1)
        assert confirmed == {
            "message_type": "unsubscribed",
            "payload": {"channel_name": "trades", "parameters": {"trading_pair_id": 1}},
        }
        await ws.send_str(json.dumps({"unsubscribe_trades": {"trading_pair_id": 1}}))
        (again,) = await ws_messages(ws, 1)
        assert again["message_type"] == "error"  # already unsubscribed
        await ws.send_str("[[[[" * 100)  # not JSON: an error message, the session goes on
        await ws.send_str(json.dumps({"subscribe_trades": {"trading_pair_id": "1"}}))
        assert [m["message_type"] for m in await ws_messages(ws, 2)] == ["error", "error"]


@pytest.mark.parametrize("framing", ["bare", "framed"])
async def test_user_trades_framing_is_selectable(framing: str) -> None:
    async with simulator("blocktrade", user_trades_framing=framing) as sim:
        status, _ = await call(
            sim, "POST", "/orders", order_body(customer_order_id="-", type="MARKET", price="-")
        )
        assert status == 200
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(sim.ws_url + WS_PATH) as ws,
        ):
            token = "1111111111111111111111111111111111111111"
            await ws.send_str(json.dumps({"subscribe_user_trades": {"auth_token": token}}))
            (first,) = await ws_messages(ws, 1)
        if framing == "bare":
            assert set(first) >= {"id", "order_id", "price", "amount", "fee_value", "maker"}
        else:
            assert first["message_type"] == "user_trades"
            assert {"id", "price"} <= set(first["payload"]["data"][0])
