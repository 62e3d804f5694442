"""A withdrawal is paid once, whatever happens to the replies.

The key is journaled before the request leaves; a lost reply (a timeout, a 5xx
after the venue acted) is looked up by the reference the venue keeps (the
viewer API's guid) before anything is sent again, and where the venue
documents no lookup (AlphaPo) the resend carries the same ``foreign_id``, which
the venue refuses as a duplicate. Each test counts the creates the simulator
received and the withdrawals it holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from botkit.simulator.server import RunningSimulator, running_simulator
from botkit.treasury import WithdrawalRequest
from botkit.treasury.keys import idempotency_key

from .helpers import BTC_COLD, make_treasury, treasury_config

ROOT = "/viewer/withdrawals"
ALPHAPO_CREATE = "/api/v2/withdrawal/crypto"
FAST = {"request_timeout": "300ms"}


@pytest.fixture
async def viewer() -> AsyncIterator[RunningSimulator]:
    async with running_simulator("viewer", run_market=False, settle_s=0.2) as sim:
        yield sim


@pytest.fixture
async def alphapo() -> AsyncIterator[RunningSimulator]:
    async with running_simulator("alphapo", run_market=False, settle_s=0.2) as sim:
        yield sim


def fast_config(sim: RunningSimulator):  # type: ignore[no-untyped-def]
    config = treasury_config(sim)
    account = config.accounts[sim.venue].model_copy(update={"request_timeout": 300_000_000})
    return config.model_copy(update={"accounts": {sim.venue: account}})


async def test_a_timeout_on_create_then_a_retry_sends_one_withdrawal(
    viewer: RunningSimulator, tmp_path: Path
) -> None:
    viewer.server.delay_next_replies, viewer.server.reply_delay_s = 1, 1.0
    treasury = make_treasury(fast_config(viewer), tmp_path / "j.sqlite")
    request = WithdrawalRequest("BTC", "0.5", BTC_COLD)

    first = await treasury.withdraw("viewer", request)
    # The reply never came in time; the guid found it at the venue (settled meanwhile).
    assert first.sent and first.state == "completed"
    assert first.message == "sent (found after a lost reply)"
    retry = await treasury.withdraw("viewer", request)
    assert not retry.sent and retry.state == "completed"
    assert retry.message.startswith("already sent")

    assert len(viewer.server.sent("POST", ROOT)) == 1
    assert len(viewer.server.ledger.items) == 1
    events = [state for _, state, _, _ in treasury.journal.events(first.key)]
    assert events == ["sending", "unknown", "completed"]
    await treasury.close()


async def test_an_unknown_outcome_is_looked_up_before_it_is_sent_again(
    viewer: RunningSimulator, tmp_path: Path
) -> None:
    # The create acts and answers 503; the lookup right after fails too.
    viewer.set_faults(fail_next=2, fail_after_probability=1.0)
    treasury = make_treasury(fast_config(viewer), tmp_path / "j.sqlite")
    request = WithdrawalRequest("BTC", "0.5", BTC_COLD)
    first = await treasury.withdraw("viewer", request)
    assert first.state == "unknown" and "run the same withdrawal again" in first.message

    retry = await treasury.withdraw("viewer", request)
    assert retry.state == "pending" and not retry.sent
    assert retry.message == "found at the venue: not sent again"
    assert len(viewer.server.sent("POST", ROOT)) == 1
    assert len(viewer.server.ledger.items) == 1
    await treasury.close()


async def test_a_crash_between_journal_and_reply_is_settled_by_the_next_run(
    viewer: RunningSimulator, tmp_path: Path
) -> None:
    """The process journaled the attempt, sent it and died: the next process (a new
    treasury on the same journal) finds it by guid instead of sending it again."""
    journal = tmp_path / "j.sqlite"
    config = treasury_config(viewer)
    request = WithdrawalRequest("BTC", "0.5", BTC_COLD)
    crashed = make_treasury(config, journal)
    plan = await crashed.plan("viewer", request)
    crashed.journal.reserve(crashed._record(plan), per_day=None, window_ns=0)
    assert plan.prepared is not None
    await crashed.clients["viewer"].send(plan.prepared)  # ... and then the process died
    await crashed.close()

    again = make_treasury(config, journal)
    outcome = await again.withdraw("viewer", request)
    assert outcome.state == "pending" and not outcome.sent
    assert len(viewer.server.sent("POST", ROOT)) == 1
    await again.close()


async def test_a_lost_alphapo_reply_is_settled_by_the_same_foreign_id(
    alphapo: RunningSimulator, tmp_path: Path
) -> None:
    alphapo.server.delay_next_replies, alphapo.server.reply_delay_s = 1, 1.0
    treasury = make_treasury(fast_config(alphapo), tmp_path / "j.sqlite")
    request = WithdrawalRequest("BTC", "0.5", BTC_COLD)

    first = await treasury.withdraw("alphapo", request)
    assert first.state == "unknown"
    assert "resent under the same reference, which the venue refuses if it has it" in (
        first.message
    )
    retry = await treasury.withdraw("alphapo", request)
    # Sent again under the same foreign_id, and refused by AlphaPo as a duplicate.
    assert retry.state == "pending" and retry.sent
    assert retry.message == "already at the venue: not sent again"

    creates = alphapo.server.sent("POST", ALPHAPO_CREATE)
    assert len(creates) == 2 and creates[0].body == creates[1].body  # the same foreign_id
    assert len(alphapo.server.ledger.items) == 1  # one withdrawal
    assert [code for _, _, code, _ in alphapo.exchange.rejected] == ["duplicate_foreign_id"]
    third = await treasury.withdraw("alphapo", request)
    assert third.message.startswith("already sent") and len(alphapo.server.requests) == 2
    await treasury.close()


async def test_the_same_request_is_one_withdrawal_and_a_new_reference_another(
    viewer: RunningSimulator, tmp_path: Path
) -> None:
    treasury = make_treasury(treasury_config(viewer), tmp_path / "j.sqlite")
    request = WithdrawalRequest("BTC", "0.1", BTC_COLD)
    assert (await treasury.withdraw("viewer", request)).sent
    assert not (await treasury.withdraw("viewer", request)).sent
    # 0.10 is the same amount as 0.1: the same withdrawal.
    assert not (await treasury.withdraw("viewer", WithdrawalRequest("BTC", "0.10", BTC_COLD))).sent
    again = WithdrawalRequest("BTC", "0.1", BTC_COLD, reference="second sweep")
    assert (await treasury.withdraw("viewer", again)).sent
    assert len(viewer.server.ledger.items) == 2
    assert idempotency_key("viewer", "viewer", request) != idempotency_key(
        "viewer", "viewer", again
    )
    await treasury.close()


async def test_the_status_is_followed_until_final_and_journaled(
    viewer: RunningSimulator, tmp_path: Path
) -> None:
    treasury = make_treasury(treasury_config(viewer), tmp_path / "j.sqlite")
    outcome = await treasury.withdraw("viewer", WithdrawalRequest("BTC", "0.1", BTC_COLD))
    record = await treasury.follow(outcome.key, poll_s=0.05, timeout_s=5)
    assert record.state == "completed" and record.raw_status == "COMPLETED"
    assert record.txid and record.venue_id == outcome.record.venue_id  # type: ignore[union-attr]
    events = [(state, raw) for _, state, raw, _ in treasury.journal.events(outcome.key)]
    assert events == [("sending", None), ("pending", "PENDING"), ("completed", "COMPLETED")]
    # Final: nothing more to ask the venue.
    asked = len(viewer.server.sent("GET"))
    assert (await treasury.refresh(outcome.key)).state == "completed"
    assert len(viewer.server.sent("GET")) == asked
    await treasury.close()


async def test_a_cancelled_withdrawal_ends_cancelled_and_cannot_be_resent(
    viewer: RunningSimulator, tmp_path: Path
) -> None:
    from botkit.treasury import WithdrawalRefused

    treasury = make_treasury(treasury_config(viewer), tmp_path / "j.sqlite")
    request = WithdrawalRequest("BTC", "0.1", BTC_COLD)
    outcome = await treasury.withdraw("viewer", request)
    await treasury.clients["viewer"].cancel(outcome.plan.venue_ref)
    await asyncio.sleep(0.05)
    record = await treasury.follow(outcome.key, poll_s=0.05, timeout_s=5)
    assert record.state == "cancelled"
    with pytest.raises(WithdrawalRefused, match="ended cancelled"):
        await treasury.withdraw("viewer", request)
    assert len(viewer.server.sent("POST", ROOT)) == 1
    await treasury.close()
