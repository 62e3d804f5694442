"""The viewer withdrawals client against its simulator over loopback HTTP (document 003)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from botkit.redact import Secret
from botkit.simulator.server import RunningSimulator, running_simulator
from botkit.treasury import WithdrawalRefused
from botkit.treasury.client import Connection
from botkit.treasury.keys import idempotency_key
from botkit.treasury.model import Withdrawal, WithdrawalRequest, WithdrawalStatus
from botkit.treasury.viewer import ViewerClient
from botkit.venues.kit.errors import AuthError, Conflict, InvalidRequest

from .helpers import BTC_COLD, ETH_COLD, STRANGER

ROOT = "/viewer/withdrawals"


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with running_simulator(
        "viewer", run_market=False, settle_s=0.2, fail_addresses=(STRANGER,)
    ) as sim:
        yield sim


def client_for(sim: RunningSimulator, key: str | None = None, **options: object) -> ViewerClient:
    token = key or sim.credentials["api_key"]
    return ViewerClient(Connection("desk", sim.base_url, Secret(token), options=options))


async def send(client: ViewerClient, request: WithdrawalRequest) -> Withdrawal:
    return await client.send(client.prepare(request, idempotency_key("desk", "viewer", request)))


async def test_a_withdrawal_is_created_with_our_guid_and_string_values(
    sim: RunningSimulator,
) -> None:
    client = client_for(sim)
    request = WithdrawalRequest("USDT", "250.50", ETH_COLD, chain="Ethereum", reference="r1")
    key = idempotency_key("desk", "viewer", request)
    w = await client.send(client.prepare(request, key))
    await client.close()

    [logged] = sim.server.sent("POST", ROOT)
    assert logged.headers["Authorization"] == "Bearer viewer-test-token"
    body = json.loads(logged.body)
    assert body == {
        "symbol": "USDT",
        "target_address": ETH_COLD,
        "amount": "250.50",
        "guid": client.reference(key),
        "gateway_name": "Ethereum",
    }
    assert uuid.UUID(body["guid"]).version == 4
    assert w.status is WithdrawalStatus.PENDING and w.raw_status == "PENDING"
    assert w.reference == body["guid"] and w.amount == Decimal("250.5")
    assert w.address == ETH_COLD and w.internal is False and w.txid is None
    assert sim.exchange.balances["USDT"] == Decimal("999749.5")


async def test_pages_follow_the_token_to_the_end(sim: RunningSimulator) -> None:
    client = client_for(sim)
    for n in range(7):
        await send(client, WithdrawalRequest("BTC", f"0.0{n + 1}", BTC_COLD))
    await send(client, WithdrawalRequest("ETH", "1", ETH_COLD))

    pages, token = [], None
    while True:
        page = await client.list(asset="BTC", limit=3, page_token=token)
        pages.append([w.id for w in page.items])
        token = page.next_token
        if token is None:
            break
    ids = [i for p in pages for i in p]
    assert [len(p) for p in pages] == [3, 3, 1]
    assert ids == sorted(ids, key=int, reverse=True) and len(set(ids)) == 7  # newest first
    queries = [r.query for r in sim.server.sent("GET", ROOT)]
    assert queries[0] == "limit=3&asset_symbol=BTC"
    assert queries[1].startswith("page_token=") and queries[1].endswith("&limit=3&asset_symbol=BTC")
    everything = await client.list()
    assert len(everything.items) == 8 and everything.next_token is None
    await client.close()


async def test_a_withdrawal_is_fetched_by_guid_until_it_is_final(sim: RunningSimulator) -> None:
    client = client_for(sim)
    done = await send(client, WithdrawalRequest("BTC", "0.1", BTC_COLD))
    failing = await send(client, WithdrawalRequest("BTC", "0.2", STRANGER))
    cancelled = await send(client, WithdrawalRequest("BTC", "0.3", BTC_COLD))
    assert done.reference and failing.reference and cancelled.reference
    await client.cancel(cancelled.reference)
    assert (await client.get(done.reference)).status is WithdrawalStatus.PENDING  # type: ignore[union-attr]
    await asyncio.sleep(0.25)

    final = {w.reference: await client.get(w.reference) for w in (done, failing, cancelled)}
    assert {k: v.status for k, v in final.items() if v} == {
        done.reference: WithdrawalStatus.COMPLETED,
        failing.reference: WithdrawalStatus.FAILED,
        cancelled.reference: WithdrawalStatus.CANCELLED,
    }
    completed = final[done.reference]
    assert completed is not None and completed.txid and completed.completed_ns
    # The failed and the cancelled one were refunded.
    assert sim.exchange.balances["BTC"] == Decimal("9.9")
    assert await client.get(str(uuid.uuid4())) is None
    await client.close()


async def test_kinds_filter_the_list(sim: RunningSimulator) -> None:
    client = client_for(sim)
    await send(client, WithdrawalRequest("USDT", "10", ETH_COLD, chain="Tron"))
    await send(client, WithdrawalRequest("USDT", "11", ETH_COLD, chain="Mixin"))
    assert [w.amount for w in (await client.list(kind="off_chain")).items] == [Decimal(11)]
    assert [w.amount for w in (await client.list(kind="on_chain")).items] == [Decimal(10)]
    with pytest.raises(ValueError, match="kind must be one of"):
        await client.list(kind="transfer")
    await client.close()


async def test_a_wrong_key_is_refused(sim: RunningSimulator) -> None:
    client = client_for(sim, key="not-the-token")
    with pytest.raises(AuthError, match="Invalid token"):
        await client.list()
    with pytest.raises(AuthError):
        await send(client, WithdrawalRequest("BTC", "0.1", BTC_COLD))
    await client.close()
    assert sim.server.ledger.items == []


async def test_a_read_only_key_lists_but_cannot_withdraw() -> None:
    async with running_simulator("viewer", run_market=False, permissions=("read",)) as sim:
        client = client_for(sim)
        assert (await client.list()).items == ()
        with pytest.raises(AuthError, match="may not execute withdrawals"):
            await send(client, WithdrawalRequest("BTC", "0.1", BTC_COLD))
        await client.close()
        assert sim.server.ledger.items == []


async def test_a_second_create_with_the_same_guid_is_a_conflict(sim: RunningSimulator) -> None:
    client = client_for(sim)
    request = WithdrawalRequest("BTC", "0.1", BTC_COLD)
    prepared = client.prepare(request, idempotency_key("desk", "viewer", request))
    await client.send(prepared)
    with pytest.raises(Conflict, match="already exists"):
        await client.send(prepared)
    await client.close()
    assert len(sim.server.ledger.items) == 1


async def test_the_documents_rules_are_kept_before_anything_is_sent(
    sim: RunningSimulator,
) -> None:
    client = client_for(sim)
    for code, request in {
        "unknown_gateway": WithdrawalRequest("USDT", "10", ETH_COLD, chain="ethereum"),
        "conversion_not_supported": WithdrawalRequest(
            "EUR", None, BTC_COLD, convert_to="BTC", amount_to="1"
        ),
    }.items():
        with pytest.raises(WithdrawalRefused) as refused:
            client.prepare(request, "0" * 64)
        assert refused.value.code == code
    await client.close()
    assert sim.server.requests == []


async def test_the_venues_refusals_are_definite(sim: RunningSimulator) -> None:
    client = client_for(sim)
    with pytest.raises(InvalidRequest, match="Insufficient balance"):
        await send(client, WithdrawalRequest("BTC", "50", BTC_COLD))
    with pytest.raises(InvalidRequest, match="is not carried by Tron"):
        await send(client, WithdrawalRequest("BTC", "0.1", BTC_COLD, chain="Tron"))
    await client.close()
    assert sim.server.ledger.items == []
