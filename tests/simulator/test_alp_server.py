"""ALP.COM's simulator, over real loopback, held to the seed (001) and the official docs.

v1 requests are signed with the seed's own Python example (``helpers``); the
official flow's X-SIGN is computed as its text says. Nothing comes from the adapter.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from itertools import count
from typing import Any

import pytest

from botkit.model import OrderType, Side
from botkit.simulator.alp import DEFAULT_API_KEY, DEFAULT_API_SECRET
from botkit.simulator.server import RunningSimulator

from .helpers import alp_official_sign, alp_v1_headers, fetch, simulator

KEY, SECRET = DEFAULT_API_KEY, DEFAULT_API_SECRET
SEED_V3 = {"api-key": KEY, "api-secret": SECRET}
_nonces = count(1_700_000_000_000)


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with simulator("alp") as s:
        yield s


def limit_order(**changes: Any) -> bytes:
    body = {
        "pair": "BTC_USDT",
        "order_side": "BUY",
        "order_type": "LIMIT",
        "wallet_type": "SPOT",
        "base_amount": "0.01",
        "limit_price": "20000.00",
        **changes,
    }
    return json.dumps(body).encode()


# ----- v1: the seed's HMAC ------------------------------------------------------------------


async def test_v1_is_signed_as_the_seeds_python_example(sim: RunningSimulator) -> None:
    # GET signs {} (every example does), even with query filters sent.
    headers = alp_v1_headers(KEY, SECRET, {}, next(_nonces))
    status, wallets, _ = await fetch(sim, "GET", "/api/v1/wallets/", headers=headers)
    assert status == 200 and {w["currency"] for w in wallets} == {"BTC", "ETH", "USDT"}
    # The document's create-order example, as a form.
    order = {"type": "buy", "pair": "BTC_USDT", "amount": "0.01", "price": "870.69"}
    headers = alp_v1_headers(KEY, SECRET, order, next(_nonces))
    status, reply, _ = await fetch(sim, "POST", "/api/v1/order/", data=order, headers=headers)
    assert status == 200 and reply["success"] is True
    # The cancel example with a JSON body and a number: signed as the example's str().
    cancel = {"order": reply["oid"]}
    headers = alp_v1_headers(KEY, SECRET, cancel, next(_nonces))
    headers["Content-Type"] = "application/json"
    status, reply, _ = await fetch(
        sim, "POST", "/api/v1/order-cancel/", data=json.dumps(cancel).encode(), headers=headers
    )
    assert status == 200 and reply == cancel
    # Signed over another payload, an upper-case signature, an old nonce: refused.
    nonce = next(_nonces)
    wrong = [
        alp_v1_headers(KEY, SECRET, {"type": "sell"}, nonce),
        {**alp_v1_headers(KEY, SECRET, order, nonce), "X-SIGN": "ABC"},
        alp_v1_headers(KEY, SECRET, order, 5),
    ]
    upper = alp_v1_headers(KEY, SECRET, order, nonce)
    upper["X-SIGN"] = upper["X-SIGN"].upper()
    for headers in (*wrong, upper):
        status, reply, _ = await fetch(sim, "POST", "/api/v1/order/", data=order, headers=headers)
        assert status == 401 and set(reply) == {"detail"}


# ----- v3: the seed's reading (api-key / api-secret headers) ---------------------------------


async def test_v3_takes_the_seeds_api_key_and_api_secret_headers(sim: RunningSimulator) -> None:
    status, balances, _ = await fetch(sim, "GET", "/api/v3/accounts/balances", headers=SEED_V3)
    assert status == 200 and balances
    status, oid, _ = await fetch(sim, "POST", "/api/v3/orders", data=limit_order(), headers=SEED_V3)
    assert status == 201 and isinstance(oid, int)  # the seed's bare "34"
    for headers in ({}, {"api-key": KEY}, {**SEED_V3, "api-secret": "nope"}):
        status, reply, _ = await fetch(sim, "GET", "/api/v3/orders", headers=headers)
        assert status == 401 and set(reply) == {"code", "message"}


async def test_v1_authentication_is_refused_on_v3(sim: RunningSimulator) -> None:
    v1 = alp_v1_headers(KEY, SECRET, {}, next(_nonces))
    for headers in (v1, {**SEED_V3, **v1}, {**SEED_V3, "X-NONCE": "1"}):
        status, reply, _ = await fetch(sim, "GET", "/api/v3/accounts/balances", headers=headers)
        assert status == 401 and "v1" in reply["message"]
    assert sim.exchange.by_client == {}


# ----- v3: the official reading (JWT + X-SIGN) ------------------------------------------------


async def jwt(sim: RunningSimulator, key: str = KEY, secret: str = SECRET) -> tuple[int, Any]:
    body = json.dumps({"api_key": key, "api_secret": secret}).encode()
    status, token, _ = await fetch(sim, "POST", "/api/v3/auth", data=body)
    return status, token


async def test_the_official_jwt_and_x_sign_flow() -> None:
    async with simulator("alp", v3_reading="official") as sim:
        assert (await jwt(sim, secret="nope"))[0] == 401
        status, token = await jwt(sim)
        assert status == 200 and isinstance(token, str)
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert claims["exp"] > time.time()  # "check the key exp in the JWT payload"
        bearer = {"Authorization": f"Bearer {token}"}
        status, orders, _ = await fetch(sim, "GET", "/api/v3/accounts/order", headers=bearer)
        assert (status, orders) == (200, [])
        body = limit_order()
        signed = {**bearer, "X-SIGN": alp_official_sign(SECRET, body)}
        status, ids, _ = await fetch(
            sim, "POST", "/api/v3/trading/order", data=body, headers=signed
        )
        assert status == 200 and isinstance(ids, list) and len(ids) == 1  # "[34]"
        for headers in (
            bearer,  # no X-SIGN on a POST
            {**bearer, "X-SIGN": alp_official_sign(SECRET, b"{}")},  # another body's
            {**bearer, "X-SIGN": alp_official_sign(SECRET, body).upper()},
            {"Authorization": "Bearer x.y.z", "X-SIGN": alp_official_sign(SECRET, body)},
            {**signed, "X-NONCE": "1"},  # v1's headers are refused
            SEED_V3,  # the other reading's headers
        ):
            status, reply, _ = await fetch(
                sim, "POST", "/api/v3/trading/order", data=body, headers=headers
            )
            assert status == 401 and set(reply) == {"code", "message"}
        cancel = json.dumps({"order_ids": [ids[0], 99999]}).encode()
        headers = {**bearer, "X-SIGN": alp_official_sign(SECRET, cancel)}
        status, result, _ = await fetch(
            sim, "DELETE", "/api/v3/trading/order", data=cancel, headers=headers
        )
        assert (status, result) == (200, {str(ids[0]): "CANCELLED", "99999": "order not found"})
        status, orders, _ = await fetch(sim, "GET", "/api/v3/accounts/order", headers=bearer)
        assert orders[0]["side"] == "BID" and orders[0]["amount_canceled"] == 0.01


async def test_an_expired_token_is_refused() -> None:
    async with simulator("alp", v3_reading="official", jwt_ttl_s=-1) as sim:
        _, token = await jwt(sim)
        status, reply, _ = await fetch(
            sim, "GET", "/api/v3/accounts/balances", headers={"Authorization": f"Bearer {token}"}
        )
        assert status == 401 and "expired" in reply["message"]


async def test_a_token_with_a_fractional_lifetime_is_good_until_its_exp() -> None:
    # A JWT's exp is a NumericDate, which may have a fraction (RFC 7519): a token the
    # simulator issued is taken until that time, then refused as expired.
    async with simulator("alp", v3_reading="official", jwt_ttl_s=1.5) as sim:
        _, token = await jwt(sim)
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert isinstance(claims["exp"], float)
        bearer = {"Authorization": f"Bearer {token}"}
        status, _, _ = await fetch(sim, "GET", "/api/v3/accounts/balances", headers=bearer)
        assert status == 200
        await asyncio.sleep(max(0.0, claims["exp"] - time.time()) + 0.05)
        status, reply, _ = await fetch(sim, "GET", "/api/v3/accounts/balances", headers=bearer)
        assert status == 401 and "expired" in reply["message"]


# ----- both documents' paths, the documented limit, malformed input ------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v3/feeinfo",
        "/api/v3/accounts",
        "/api/v3/orders",
        "/api/v3/accounts/trades",
        "/api/v3/accounts/balances",
        "/api/v3/accounts/accounts",
        "/api/v3/accounts/feeinfo",
        "/api/v3/accounts/order",
        "/api/v3/accounts/activity",
        "/api/v3/wallets/activity",
    ],
)
async def test_the_seeds_and_the_official_paths_are_served(
    sim: RunningSimulator, path: str
) -> None:
    status, reply, _ = await fetch(sim, "GET", path, headers=SEED_V3)
    assert status == 200 and isinstance(reply, list)


async def test_the_documented_two_private_calls_a_second() -> None:
    async with simulator("alp", documented_limits=True) as sim:
        statuses = []
        for _ in range(3):
            status, reply, headers = await fetch(
                sim, "GET", "/api/v3/accounts/balances", headers=SEED_V3
            )
            statuses.append(status)
        assert statuses == [200, 200, 429]
        assert int(headers["Retry-After"]) >= 1 and "throttled" in reply["message"]
        assert reply["code"] == "RATE_LIMITED"
        assert [w for _, w, _, _ in sim.exchange.rejected] == ["throttle"]
        await asyncio.sleep(1.0)
        for _ in range(3):  # spaced as the document allows: never refused
            assert (await fetch(sim, "GET", "/api/v3/accounts/balances", headers=SEED_V3))[0] == 200
            await asyncio.sleep(0.5)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"pair": "\\ud800"}',  # a lone surrogate: nothing could sign or echo it
        b'{"pair": "BTC_USDT", "base_amount": 1e999999999}',
        b'{"pair": "\xc3"}',
        b"[" * 64,
        b'{"pair": "BTC_USDT", "order_side": "BUY", "order_type": "LIMIT", "nonsense": 1}',
    ],
)
async def test_malformed_v3_bodies_are_400(sim: RunningSimulator, raw: bytes) -> None:
    status, reply, _ = await fetch(sim, "POST", "/api/v3/orders", data=raw, headers=SEED_V3)
    assert status == 400 and set(reply) == {"code", "message"}


async def test_a_lone_surrogate_in_a_v1_body_is_400(sim: RunningSimulator) -> None:
    headers = alp_v1_headers(KEY, SECRET, {}, next(_nonces))
    headers["Content-Type"] = "application/json"
    status, reply, _ = await fetch(
        sim, "POST", "/api/v1/order/", data=b'{"pair": "\\udc80"}', headers=headers
    )
    assert status == 400 and set(reply) == {"success", "error"}


async def test_unknown_paths_answer_json(sim: RunningSimulator) -> None:
    for path, keys in (("/api/v3/nope", {"code", "message"}), ("/api/v1/nope/", {"detail"})):
        status, reply, _ = await fetch(sim, "GET", path)
        assert status == 404 and set(reply) == keys


# ----- faults on the account's trade list ---------------------------------------------------


async def test_a_flaky_trade_list_reorders_and_repeats_only_rows_with_ids() -> None:
    for reading in ("seed", "official"):
        async with simulator("alp", v3_reading=reading) as sim:
            for i in range(4):  # sweeps of the asks: several trades each
                sim.exchange.place(
                    "BTC_USDT", Side.BUY, OrderType.MARKET, Decimal("0.05"), client_id=f"m{i}"
                )
            if reading == "seed":
                headers = SEED_V3
            else:
                headers = {"Authorization": f"Bearer {(await jwt(sim))[1]}"}
            path = "/api/v3/accounts/trades"
            _, calm, _ = await fetch(sim, "GET", path, headers=headers)
            assert len(calm) == len(sim.exchange.trades) >= 6
            sim.set_faults(duplicate_rate=0.5, reorder_rate=1.0)
            rows = [(await fetch(sim, "GET", path, headers=headers))[1] for _ in range(5)]
            key = lambda row: json.dumps(row, sort_keys=True)  # noqa: E731
            assert any(r != calm for r in rows)  # reordered
            for r in rows:
                assert {key(row) for row in r} == {key(row) for row in calm}  # nothing lost
            repeated = any(len(r) > len(calm) for r in rows)
            # Only a row with an id of its own may come twice: a seed trade has none.
            assert repeated is (reading == "official")
