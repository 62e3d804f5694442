"""ALP.COM's withdraws list (document 001) through the treasury, against the ALP
simulator over loopback. The API has no call that makes a withdrawal, so the
simulator's backend is given them (``AlpServer.add_withdraw``); the list shows
them as they move through the document's status table."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from botkit.simulator.server import RunningSimulator, running_simulator
from botkit.treasury import WithdrawalRefused, WithdrawalRequest, WithdrawalStatus
from botkit.treasury.service import Treasury

from .helpers import BTC_COLD, STRANGER, make_treasury, treasury_config


@pytest.fixture
async def alp() -> AsyncIterator[RunningSimulator]:
    async with running_simulator(
        "alp", run_market=False, withdraw_settle_s=0.4, withdraw_fail_addresses=(STRANGER,)
    ) as sim:
        yield sim


def treasury_on(sim: RunningSimulator, tmp_path: Path) -> Treasury:
    # spacing_s 0: the simulator keeps no rate limit here, and the statuses move on a timer.
    account = {"venue": "alp", "base_url": sim.base_url, **sim.credentials}
    config = treasury_config(sim, accounts={"alp": {**account, "options": {"spacing_s": 0}}})
    return make_treasury(config, tmp_path / "j.sqlite")


async def test_the_list_is_empty_until_a_withdrawal_exists_then_shows_it(
    alp: RunningSimulator, tmp_path: Path
) -> None:
    treasury = treasury_on(alp, tmp_path)
    client = treasury.client("alp")
    assert (await client.list()).items == ()
    made = alp.server.add_withdraw("BTC", "0.53", BTC_COLD)  # type: ignore[union-attr]
    assert alp.exchange.balances["BTC"] == Decimal("99.47")
    page = await client.list()
    [w] = page.items
    assert page.next_token is None  # no paging is documented: one page holds them all
    assert (w.id, w.asset, w.amount) == (str(made.id), "BTC", Decimal("0.53"))
    assert (w.status, w.raw_status) == (WithdrawalStatus.PENDING, "10 New")
    assert w.created_ns is not None and abs(w.created_ns - made.created_ns) < 1_000_000
    await asyncio.sleep(0.45)
    [w] = (await client.list()).items
    assert (w.status, w.raw_status) == (WithdrawalStatus.COMPLETED, "30 Approved")
    # Every call was signed as document 001's v1 example signs (checked by the simulator).
    assert alp.exchange.requests["withdraws"] == 3 and alp.exchange.rejected == []
    await treasury.close()


async def test_refused_and_cancelled_withdrawals_are_final_and_refunded(
    alp: RunningSimulator, tmp_path: Path
) -> None:
    treasury = treasury_on(alp, tmp_path)
    server = alp.server
    refused = server.add_withdraw("ETH", "2", STRANGER)  # type: ignore[union-attr]
    cancelled = server.add_withdraw("USDT", "1000", BTC_COLD)  # type: ignore[union-attr]
    server.cancel_withdraw(cancelled.id)  # type: ignore[union-attr]
    await asyncio.sleep(0.45)
    rows = {w.id: w for w in (await treasury.client("alp").list()).items}
    assert rows[str(refused.id)].raw_status == "40 Refused"
    assert rows[str(refused.id)].status is WithdrawalStatus.FAILED
    assert rows[str(cancelled.id)].raw_status == "50 Canceled"
    assert rows[str(cancelled.id)].status is WithdrawalStatus.CANCELLED
    assert list(rows) == [str(cancelled.id), str(refused.id)]  # newest first
    assert alp.exchange.balances["ETH"] == Decimal(1000)
    assert alp.exchange.balances["USDT"] == Decimal(5_000_000)
    await treasury.close()


async def test_the_documented_filters_currency_and_status(
    alp: RunningSimulator, tmp_path: Path
) -> None:
    treasury = treasury_on(alp, tmp_path)
    client = treasury.client("alp")
    alp.server.add_withdraw("BTC", "1", BTC_COLD)  # type: ignore[union-attr]
    alp.server.add_withdraw("ETH", "3", BTC_COLD)  # type: ignore[union-attr]
    btc = (await client.list(asset="BTC")).items
    assert [w.asset for w in btc] == ["BTC"]
    assert len((await client.list(kind="10")).items) == 2
    assert (await client.list(kind="30")).items == ()
    assert len((await client.list(limit=1)).items) == 1
    with pytest.raises(ValueError, match="kind must be one of 10, 20, 30, 40, 50"):
        await client.list(kind="on_chain")
    with pytest.raises(ValueError, match="no pages"):
        await client.list(page_token="2")
    await treasury.close()


async def test_a_withdrawal_through_alp_is_refused_the_document_has_no_such_call(
    alp: RunningSimulator, tmp_path: Path
) -> None:
    treasury = treasury_on(alp, tmp_path)
    with pytest.raises(WithdrawalRefused) as refused:
        await treasury.withdraw("alp", WithdrawalRequest("BTC", "0.1", BTC_COLD))
    assert refused.value.code == "not_supported"
    assert "no withdraw call" in str(refused.value)
    assert sum(alp.exchange.requests.values()) == 0 and treasury.journal.records() == []
    await treasury.close()
