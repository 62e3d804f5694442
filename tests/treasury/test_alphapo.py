"""The AlphaPo client against its simulator over loopback HTTP (document 002)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest

from botkit.redact import Secret
from botkit.simulator.server import RunningSimulator, running_simulator
from botkit.treasury import DuplicateWithdrawal, NotDocumented, WithdrawalRefused
from botkit.treasury.alphapo import AlphaPoClient, signature
from botkit.treasury.client import Connection
from botkit.treasury.keys import idempotency_key
from botkit.treasury.model import WithdrawalRequest, WithdrawalStatus
from botkit.venues.kit.errors import AuthError, InsufficientFunds

from .helpers import BTC_COLD, XRP_COLD, alphapo_signature

CREATE = "/api/v2/withdrawal/crypto"


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with running_simulator("alphapo", run_market=False, settle_s=0.2) as sim:
        yield sim


def client_for(
    sim: RunningSimulator, secret: str | None = None, **options: object
) -> AlphaPoClient:
    creds = sim.credentials
    return AlphaPoClient(
        Connection(
            "desk",
            sim.base_url,
            Secret(creds["api_key"]),
            Secret(secret or creds["api_secret"]),
            options=options,
        )
    )


async def send(client: AlphaPoClient, request: WithdrawalRequest):  # type: ignore[no-untyped-def]
    return await client.send(client.prepare(request, idempotency_key("desk", "alphapo", request)))


def test_the_signature_is_hmac_sha512_of_the_body_in_lower_case_hex() -> None:
    # AlphaPo's published check value for its signing rule.
    body = '{"currency":"BTC","foreign_id":"123456"}'
    expected = (
        "03c25fcf7cd35e7d995e402cd5d51edd72d48e1471e865907967809a0c189ba55b90815f20e2bb10f82c7"
        "a9e9d865546fda58989c2ae9e8e2ff7bc29195fa1ec"
    )
    assert signature("AbCdEfG123456", body) == expected
    assert alphapo_signature("AbCdEfG123456", body.encode()) == expected


async def test_a_withdrawal_is_created_signed_over_the_exact_bytes_sent(
    sim: RunningSimulator,
) -> None:
    client = client_for(sim)
    request = WithdrawalRequest("BTC", "0.25", BTC_COLD)
    key = idempotency_key("desk", "alphapo", request)
    prepared = client.prepare(request, key)
    withdrawal = await client.send(prepared)
    await client.close()

    logged = sim.server.sent("POST", CREATE)
    assert len(logged) == 1
    raw = logged[0].body
    assert raw == prepared.body.encode()
    assert logged[0].headers["X-Processing-Signature"] == alphapo_signature(
        "alphapo-test-secret", raw
    )
    # The document's field order; amount a JSON number with its exact digits.
    assert raw.decode() == (
        f'{{"currency":"BTC","address":"{BTC_COLD}","amount":0.25,'
        f'"foreign_id":"{client.reference(key)}","end_user_reference":"desk"}}'
    )
    assert withdrawal.status is WithdrawalStatus.PENDING
    assert withdrawal.raw_status == "processing"
    assert withdrawal.reference == client.reference(key)
    assert withdrawal.amount == Decimal("0.25") and withdrawal.asset == "BTC"
    [record] = sim.server.ledger.items
    assert record.amount == Decimal("0.25") and record.address == BTC_COLD
    assert sim.exchange.balances["BTC"] == Decimal("9.75")


async def test_a_wrong_secret_is_refused_by_the_simulator(sim: RunningSimulator) -> None:
    client = client_for(sim, secret="not-the-secret")
    with pytest.raises(AuthError, match="Bad signature header"):
        await send(client, WithdrawalRequest("BTC", "0.1", BTC_COLD))
    await client.close()
    assert sim.server.ledger.items == []
    assert [code for _, what, code, _ in sim.exchange.rejected] == ["bad_header_signature"]


async def test_a_signature_over_other_bytes_or_in_upper_case_is_refused(
    sim: RunningSimulator,
) -> None:
    body = json.dumps(
        {
            "currency": "BTC",
            "address": BTC_COLD,
            "amount": 0.1,
            "foreign_id": "x1",
            "end_user_reference": "desk",
        }
    )
    good = alphapo_signature("alphapo-test-secret", body.encode())
    reformatted = body.replace(", ", ",")  # same JSON, other bytes
    async with aiohttp.ClientSession() as http:
        for data, sig in ((reformatted, good), (body, good.upper())):
            headers = {
                "Content-Type": "application/json",
                "X-Processing-Key": "alphapo-test-key",
                "X-Processing-Signature": sig,
            }
            async with http.post(sim.base_url + CREATE, data=data, headers=headers) as r:
                assert r.status == 403
                assert await r.json() == {
                    "error": "Bad signature header",
                    "code": "bad_header_signature",
                }
        headers["X-Processing-Signature"] = good
        async with http.post(sim.base_url + CREATE, data=body, headers=headers) as r:
            assert r.status == 200
    assert len(sim.server.ledger.items) == 1


async def test_the_same_foreign_id_is_refused_as_a_duplicate(sim: RunningSimulator) -> None:
    client = client_for(sim)
    request = WithdrawalRequest("BTC", "0.1", BTC_COLD)
    prepared = client.prepare(request, idempotency_key("desk", "alphapo", request))
    await client.send(prepared)
    with pytest.raises(DuplicateWithdrawal, match="foreign_id already exists"):
        await client.send(prepared)
    await client.close()
    assert len(sim.server.ledger.items) == 1
    assert sim.exchange.balances["BTC"] == Decimal("9.9")


async def test_a_conversion_sends_amount_to_in_the_target_currency(sim: RunningSimulator) -> None:
    client = client_for(sim, end_user_reference="treasury-desk-7")
    request = WithdrawalRequest("EUR", None, BTC_COLD, convert_to="BTC", amount_to="0.002")
    withdrawal = await send(client, request)
    await client.close()
    body = json.loads(sim.server.sent("POST")[0].body, parse_float=Decimal)
    assert body["convert_to"] == "BTC" and body["amount_to"] == Decimal("0.002")
    assert "amount" not in body and body["end_user_reference"] == "treasury-desk-7"
    # 0.002 BTC at 50000 EUR a BTC: 100 EUR debited.
    assert withdrawal.asset == "EUR" and withdrawal.amount == Decimal("100")
    assert ("receiver_amount", "0.00200000") in withdrawal.details
    assert sim.exchange.balances["EUR"] == Decimal("999900")


async def test_the_documents_rules_are_kept_before_anything_is_sent(
    sim: RunningSimulator,
) -> None:
    client = client_for(sim)
    cases = {
        "missing_tag": WithdrawalRequest("XRP", "20", XRP_COLD),
        "amount_and_amount_to": WithdrawalRequest(
            "EUR", "100", BTC_COLD, convert_to="BTC", amount_to="0.002"
        ),
        "amount_to_without_convert_to": WithdrawalRequest("EUR", None, BTC_COLD, amount_to="1"),
        "chain_not_supported": WithdrawalRequest("BTC", "0.1", BTC_COLD, chain="Bitcoin"),
    }
    for code, request in cases.items():
        with pytest.raises(WithdrawalRefused) as refused:
            client.prepare(request, "0" * 64)
        assert refused.value.code == code
    await client.close()
    assert sim.server.requests == []


async def test_the_simulator_keeps_the_same_rules_for_other_clients(
    sim: RunningSimulator,
) -> None:
    """What the document says, checked on raw requests: XRP needs a tag, amount and
    amount_to exclude each other, amounts are numbers, unknown fields are refused."""
    base = {"address": XRP_COLD, "foreign_id": "f", "end_user_reference": "desk"}
    cases = [
        ({**base, "currency": "XRP", "amount": 20}, "tag: is required when withdrawing XRP"),
        (
            {**base, "currency": "EUR", "amount": 1, "convert_to": "BTC", "amount_to": 1},
            "You can only specify either amount_to or amount",
        ),
        ({**base, "currency": "BTC", "amount": "0.1"}, "amount: must be a JSON number"),
        ({**base, "currency": "BTC", "amount": 0.1, "memo": "x"}, "unknown parameter(s): 'memo'"),
        ({**base, "currency": "BTC", "amount": -1}, "amount: must be >= 0"),
    ]
    async with aiohttp.ClientSession() as http:
        for payload, message in cases:
            body = json.dumps(payload).encode()
            headers = {
                "Content-Type": "application/json",
                "X-Processing-Key": "alphapo-test-key",
                "X-Processing-Signature": alphapo_signature("alphapo-test-secret", body),
            }
            async with http.post(sim.base_url + CREATE, data=body, headers=headers) as r:
                assert r.status == 400, payload
                reply = await r.json()
                assert message in reply["error"], reply
    assert sim.server.ledger.items == []


async def test_not_enough_funds_is_a_definite_refusal(sim: RunningSimulator) -> None:
    client = client_for(sim)
    with pytest.raises(InsufficientFunds):
        await send(client, WithdrawalRequest("BTC", "11", BTC_COLD))
    await client.close()
    assert sim.server.ledger.items == []


async def test_only_the_documented_call_exists(sim: RunningSimulator) -> None:
    client = client_for(sim)
    for call in (client.get("bk-1"), client.list(), client.deposit_address("BTC")):
        with pytest.raises(NotDocumented, match="document 002"):
            await call
    assert await client.balance("BTC") is None
    await client.close()
    assert sim.server.requests == []


async def test_a_withdrawal_settles_after_the_delay(sim: RunningSimulator) -> None:
    """The simulated venue's own record moves from pending to final (the document has
    no call to read it: the ledger is the ground truth)."""
    import asyncio

    client = client_for(sim)
    await send(client, WithdrawalRequest("BTC", "0.1", BTC_COLD))
    await client.close()
    [w] = sim.server.ledger.items
    assert w.state == "pending"
    await asyncio.sleep(0.25)
    sim.server.ledger.settle()
    assert w.state == "completed"
