"""ALP.COM v3 authentication: the documents' own examples, then over real loopback.

The seed (document 001, "API v3 / Auth") asks for ``api-key`` and ``api-secret``;
the official docs (reference/alp-api-docs.md, "Authorization") for a JWT from
``POST /api/v3/auth`` as a Bearer token plus ``X-SIGN``, "the HMAC SHA-256 hash of
the request body using the api_secret", on POST and DELETE. The oracle below is
that sentence, written out: it hashes the exact bytes sent.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from botkit.model import Order, OrderType, Side
from botkit.simulator.alp import DEFAULT_API_KEY, DEFAULT_API_SECRET
from botkit.simulator.server import RunningSimulator, running_simulator
from botkit.venues.alp import AlpAdapter
from botkit.venues.alp.auth import bearer_headers, v3_key_headers, x_sign
from botkit.venues.alp.parsing import Jwt, parse_jwt
from botkit.venues.alp.wire import OFFICIAL, SEED, cancel_all_body, cancel_ids_body, place_body
from botkit.venues.kit.errors import AuthError, ParseError
from botkit.venues.kit.parsing import json_body

from .test_alp_adapter import make_adapter

D = Decimal


def document_x_sign(api_secret: str, body: bytes) -> str:
    """The official document's X-SIGN: HMAC SHA-256 of the request body, keyed with the
    api_secret (hex, as the Python client the document links prints it)."""
    return hmac.new(api_secret.encode(), body, hashlib.sha256).hexdigest()


# The official document's example bodies, verbatim.
DOC_LIMIT_ORDER = """{
    "pair": "BTC_USDT",
    "order_side": "BUY",
    "wallet_type": "SPOT",
    "base_amount": "1.0",
    "limit_price": "45000.00",
    "order_type": "LIMIT"
}"""
DOC_MARKET_ORDER = """{
    "pair": "BTC_USDT",
    "order_side": "BUY",
    "wallet_type": "SPOT",
    "quote_amount": "100.00",
    "order_type": "MARKET"
}"""
DOC_CANCEL_IDS = """{
  "order_ids": [1, 5, 8]
}"""
DOC_CANCEL_ALL = """{
  "all": true
}"""
DOC_AUTH_BODY = {"api_key": "<Your API Key>", "api_secret": "<Your API Secret>"}
DOC_TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."  # the document's reply, truncated


class TestDocumentExamples:
    @pytest.mark.parametrize("body", [DOC_LIMIT_ORDER, DOC_MARKET_ORDER, DOC_CANCEL_IDS])
    @pytest.mark.parametrize("secret", ["s", "Z%2Fq9+abc/def==", "sécret-ü"])
    def test_x_sign_is_the_hmac_of_the_exact_body(self, body: str, secret: str) -> None:
        assert x_sign(secret, body) == document_x_sign(secret, body.encode())
        assert x_sign(secret, body.encode()) == x_sign(secret, body)
        # The bytes, not the JSON's meaning: re-serialising changes the signature.
        compact = json.dumps(json.loads(body), separators=(",", ":"))
        assert x_sign(secret, compact) != x_sign(secret, body)

    def test_the_limit_order_body_is_the_documents(self) -> None:
        order = Order("c1", "BTC/USDT", Side.BUY, OrderType.LIMIT, D("1.0"), D("45000.00"))
        body = place_body(
            OFFICIAL, order, "BTC_USDT", order.remaining, account_id="25", send_tif="unless_gtc"
        )
        sent = json.loads(json_body(body, decimals=OFFICIAL.numbers))
        # The document's fields and values, decimal strings included, plus our client id;
        # no account_id (not in the official table) and no tif for a GTC order.
        assert sent == {**json.loads(DOC_LIMIT_ORDER), "client_order_id": "c1"}

    def test_the_seed_body_keeps_its_numbers_and_fields(self) -> None:
        order = Order("c1", "BTC/USDT", Side.SELL, OrderType.LIMIT, D("0.1"), D("25750.45"))
        body = place_body(
            SEED, order, "BTC_USDT", order.remaining, account_id="25", send_tif="always"
        )
        text = json_body(body, decimals=SEED.numbers)
        assert '"limit_price":25750.45' in text and '"base_amount":0.1' in text
        assert json.loads(text)["account_id"] == 25 and json.loads(text)["tif"] == "GTC"

    def test_cancel_bodies(self) -> None:
        assert cancel_ids_body(["1", "5", "8"]) == json.loads(DOC_CANCEL_IDS)
        assert cancel_all_body(OFFICIAL, None) == json.loads(DOC_CANCEL_ALL)
        assert cancel_all_body(OFFICIAL, "BTC_USDT") == {"pair": "BTC_USDT"}
        # The seed: "all=true, pair can be specified" (its example sends all the keys).
        assert cancel_all_body(SEED, None) == {"all": True, "pair": ""}

    def test_seed_v3_headers(self) -> None:
        assert v3_key_headers("k", "s") == {"api-key": "k", "api-secret": "s"}
        with pytest.raises(ValueError):
            v3_key_headers("k", "s\r\nX-Evil: 1")

    def test_bearer_header(self) -> None:
        assert bearer_headers("a.b.c") == {"Authorization": "Bearer a.b.c"}

    def test_the_documents_token_reply(self) -> None:
        # The header part of the document's token is a real JWT header...
        head = DOC_TOKEN.split(".")[0]
        assert json.loads(base64.urlsafe_b64decode(head + "==")) == {"alg": "HS256", "typ": "JWT"}
        # ...but the token itself is cut short ("..."): not a usable JWT.
        with pytest.raises(ParseError, match="alp jwt: token: expected a JWT"):
            parse_jwt(DOC_TOKEN)

    def test_token_expiry_is_read_from_the_payload(self) -> None:
        def token(claims: dict[str, Any]) -> str:
            part = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
            return f"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{part}.c2ln"

        assert parse_jwt(token({"exp": 1700000000})) == Jwt(token({"exp": 1700000000}), 1.7e9)
        assert parse_jwt(json.loads(json.dumps(token({"sub": 1})))).expires_s is None
        assert parse_jwt({"token": token({"exp": 5})}).expires_s == 5.0
        for bad in ({"exp": "soon"}, {"exp": -1}, {"exp": 1e300}, [1]):
            with pytest.raises(ParseError):
                parse_jwt(token(bad))  # type: ignore[arg-type]


# ----- over loopback ---------------------------------------------------------------------


def adapter_for(sim: RunningSimulator, **options: Any) -> AlpAdapter:
    return make_adapter(sim, **options)


@pytest.fixture
async def official_sim() -> AsyncIterator[RunningSimulator]:
    async with running_simulator(
        "alp", run_market=False, v3_reading="official", jwt_ttl_s=3600
    ) as sim:
        sim.exchange.step()
        yield sim


def auth_refusals(sim: RunningSimulator) -> list[str]:
    return [what for _, what, _, _ in sim.exchange.rejected if what == "auth"]


async def test_seed_headers_are_what_the_v3_calls_carry() -> None:
    async with running_simulator("alp", run_market=False) as sim:
        adapter = adapter_for(sim)
        try:
            await adapter.connect()  # the account list and fee info: both v3 private calls
            assert await adapter.balances()
            assert adapter.rest.private_calls == 3 and sim.exchange.rejected == []
        finally:
            await adapter.close()


@pytest.mark.parametrize("api", ["seed", "official"])
async def test_refused_credentials_fail_connect_with_one_clear_error(api: str) -> None:
    options = {"v3_reading": "official"} if api == "official" else {}
    async with running_simulator("alp", run_market=False, **options) as sim:
        adapter = adapter_for(sim, api=api, api_secret="wrong")
        with pytest.raises(AuthError) as refused:
            await adapter.connect()
        message = str(refused.value)
        assert message.startswith("alp HTTP 401") and "\n" not in message
        assert "wrong" not in message  # the secret is never in a message
        assert not adapter.http.is_open  # nothing left open by the failed start
        await adapter.close()  # and closing afterwards is harmless
        assert auth_refusals(sim) == ["auth"]


async def test_jwt_flow_token_bearer_and_signed_bodies(official_sim: RunningSimulator) -> None:
    sim = official_sim
    adapter = adapter_for(sim, api="official")
    try:
        await adapter.connect()
        token = adapter.rest.token
        assert token is not None and token.expires_s is not None
        assert token.expires_s > time.time() + 3000  # from the token's own exp
        bid = D(repr(sim.exchange.books["BTC_USDT"].best_bid))
        o = Order("j1", "BTC/USDT", Side.BUY, OrderType.LIMIT, D("0.1"), bid - D("1"))
        vo = await adapter.place(o)  # POST: bearer + X-SIGN of the body
        o.venue_order_id = vo.venue_order_id
        await adapter.cancel(o)  # DELETE: the same
        await adapter.balances()  # GET: bearer only
        assert adapter.rest.token is token  # one token for all of it
        assert sim.exchange.rejected == []
    finally:
        await adapter.close()


async def test_the_simulator_checks_x_sign(official_sim: RunningSimulator) -> None:
    # So that the flow above proves something: a wrong X-SIGN is refused.
    sim = official_sim
    body = json.dumps({"order_ids": [1]})
    async with aiohttp.ClientSession() as session:
        async with session.post(
            sim.base_url + "/api/v3/auth",
            json={"api_key": DEFAULT_API_KEY, "api_secret": DEFAULT_API_SECRET},
        ) as resp:
            token = await resp.json()
        for sign, expected in (
            ("0" * 64, 401),
            (document_x_sign(DEFAULT_API_SECRET, body.encode()), 200),
        ):
            headers = {**bearer_headers(token), "X-SIGN": sign, "Content-Type": "application/json"}
            async with session.delete(
                sim.base_url + "/api/v3/trading/order", data=body, headers=headers
            ) as resp:
                assert resp.status == expected


async def test_the_token_is_renewed_before_it_expires() -> None:
    async with running_simulator(
        "alp", run_market=False, v3_reading="official", jwt_ttl_s=1.5
    ) as sim:
        adapter = adapter_for(sim, api="official", jwt_renew_s=60)
        try:
            await adapter.connect()
            first = adapter.rest.token
            assert first is not None
            # A life (0.5 to 1.5 s: exp is whole seconds) shorter than jwt_renew_s: renewed
            # at half of what is left, so never refused.
            await asyncio.sleep(0.8)
            await adapter.balances()
            assert adapter.rest.token is not first
            assert auth_refusals(sim) == []  # renewed in time, never refused
        finally:
            await adapter.close()


async def test_a_refused_token_is_renewed_once_and_the_call_sent_again(
    official_sim: RunningSimulator,
) -> None:
    sim = official_sim
    adapter = adapter_for(sim, api="official")
    try:
        await adapter.connect()
        revoked = Jwt("eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjk5OTk5OTk5OTl9.bm9wZQ", 9_999_999_999.0)
        adapter.rest._token = revoked  # the venue no longer accepts it
        assert await adapter.balances()  # refused once, then sent with a new token
        assert adapter.rest.token is not revoked
        assert auth_refusals(sim) == ["auth"]
    finally:
        await adapter.close()


async def test_the_seed_headers_are_refused_by_a_jwt_venue(official_sim: RunningSimulator) -> None:
    # The two readings do not mix: the v3_auth option decides, whatever the paths.
    adapter = adapter_for(official_sim, api="official", v3_auth="api-key")
    with pytest.raises(AuthError):
        await adapter.connect()
    await adapter.close()
