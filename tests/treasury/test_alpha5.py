"""Alpha5's wallet calls (document 000) through the treasury, against the Alpha5
simulator over loopback: a venue that reports balances (the ``keep`` guard rail
checked for real) and keeps no reference of ours (a lost reply is found by its
fields, or settled by hand, never resent blindly)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from botkit.simulator.server import RunningSimulator, running_simulator
from botkit.treasury import WithdrawalRefused, WithdrawalRequest
from botkit.treasury.service import Treasury

from .helpers import ETH_COLD, make_treasury, treasury_config

TOKEN = "a5-token"


@pytest.fixture
async def alpha5() -> AsyncIterator[RunningSimulator]:
    async with running_simulator("alpha5", run_market=False, token=TOKEN) as sim:
        yield sim


def made(sim: RunningSimulator) -> list[dict]:
    return sim.server._withdrawals  # type: ignore[union-attr]


def treasury_on(sim: RunningSimulator, tmp_path: Path, **changes: object) -> Treasury:
    return make_treasury(treasury_config(sim, **changes), tmp_path / "j.sqlite")


async def test_a_withdrawal_is_sent_as_the_documents_query_with_the_bearer_token(
    alpha5: RunningSimulator, tmp_path: Path
) -> None:
    treasury = treasury_on(alpha5, tmp_path)
    outcome = await treasury.withdraw("alpha5", WithdrawalRequest("USDT", "250", ETH_COLD))
    assert outcome.state == "completed" and outcome.sent
    assert outcome.prepared is not None
    assert outcome.prepared.route == "/account/withdraw" and outcome.prepared.body is None
    assert dict(outcome.prepared.params) == {"asset": "USDT", "address": ETH_COLD, "amount": "250"}
    assert outcome.prepared.header("Authorization") == f"Bearer {TOKEN}"
    [record] = made(alpha5)
    assert record["id"] == outcome.record.venue_id  # type: ignore[union-attr]
    assert alpha5.exchange.balances["USDT"] == Decimal("99750")
    await treasury.close()


async def test_the_balance_to_keep_is_checked_against_the_venues_balance(
    alpha5: RunningSimulator, tmp_path: Path
) -> None:
    limits = {"USDT": {"per_withdrawal": "1000", "per_day": "5000", "keep": "99900"}}
    treasury = treasury_on(alpha5, tmp_path, limits=limits)
    with pytest.raises(WithdrawalRefused) as refused:
        await treasury.withdraw("alpha5", WithdrawalRequest("USDT", "200", ETH_COLD))
    assert refused.value.code == "keep_balance"
    assert str(refused.value) == (
        "withdrawal refused (keep_balance): 200 USDT would leave 99800 USDT on the venue, "
        "below the 99900 USDT to keep (balance 100000). Send at most 100 USDT."
    )
    ok = await treasury.withdraw("alpha5", WithdrawalRequest("USDT", "100", ETH_COLD))
    assert ok.state == "completed" and len(made(alpha5)) == 1
    await treasury.close()


async def test_a_wrong_token_is_refused(alpha5: RunningSimulator, tmp_path: Path) -> None:
    treasury = treasury_on(
        alpha5,
        tmp_path,
        accounts={"alpha5": {"venue": "alpha5", "base_url": alpha5.base_url, "api_key": "wrong"}},
    )
    outcome = await treasury.withdraw("alpha5", WithdrawalRequest("USDT", "10", ETH_COLD))
    assert outcome.state == "refused" and made(alpha5) == []
    await treasury.close()


async def test_a_lost_reply_is_found_by_its_fields(
    alpha5: RunningSimulator, tmp_path: Path
) -> None:
    alpha5.set_faults(fail_next=1, fail_after_probability=1.0)  # acts, then answers 5xx
    treasury = treasury_on(alpha5, tmp_path)
    outcome = await treasury.withdraw("alpha5", WithdrawalRequest("USDT", "10", ETH_COLD))
    assert outcome.state == "completed" and outcome.message == "sent (found after a lost reply)"
    assert outcome.record is not None and outcome.record.venue_id == made(alpha5)[0]["id"]
    await treasury.close()


async def test_an_attempt_not_found_is_never_resent_until_settled_by_hand(
    alpha5: RunningSimulator, tmp_path: Path
) -> None:
    alpha5.set_faults(fail_next=1, fail_after_probability=0.0)  # 5xx before acting
    treasury = treasury_on(alpha5, tmp_path)
    request = WithdrawalRequest("USDT", "10", ETH_COLD)
    first = await treasury.withdraw("alpha5", request)
    assert first.state == "unknown" and "marked by hand" in first.message
    with pytest.raises(WithdrawalRefused) as refused:
        await treasury.withdraw("alpha5", request)
    assert refused.value.code == "outcome_unknown"
    assert f"botkit withdrawals --mark {first.key[:12]} --as sent" in str(refused.value)
    assert made(alpha5) == []

    treasury.mark(first.key[:12], sent=False, note="not in the venue's history")
    again = await treasury.withdraw("alpha5", request)
    assert again.state == "completed" and len(made(alpha5)) == 1
    await treasury.close()


async def test_the_documents_other_calls(alpha5: RunningSimulator, tmp_path: Path) -> None:
    treasury = treasury_on(alpha5, tmp_path)
    client = treasury.clients["alpha5"]
    address = await client.deposit_address("BTC")
    assert address.asset == "BTC" and len(address.address) == 32
    assert await client.balance("USDT") == Decimal("100000")
    await treasury.withdraw("alpha5", WithdrawalRequest("USDT", "10", ETH_COLD))
    page = await client.list(asset="USDT")
    assert [w.amount for w in page.items] == [Decimal(10)] and page.next_token is None
    with pytest.raises(WithdrawalRefused, match="takes no tag"):
        await treasury.withdraw("alpha5", WithdrawalRequest("USDT", "10", ETH_COLD, tag="1"))
    await treasury.close()
