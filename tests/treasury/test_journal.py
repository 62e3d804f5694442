"""The treasury journal: attempts written before they are sent, the day's cap kept
under the table lock, and every state change in the withdrawal's history."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from botkit.journal import JournalError
from botkit.treasury import WithdrawalRefused
from botkit.treasury.journal import TreasuryJournal, WithdrawalRecord

from .helpers import BTC_COLD, Clock

DAY = 86_400 * 10**9


def record(key: str, amount: str) -> WithdrawalRecord:
    return WithdrawalRecord(
        key=key,
        account="desk",
        venue="viewer",
        asset="BTC",
        amount=Decimal(amount),
        address=BTC_COLD,
        tag=None,
        chain=None,
        convert_to=None,
        amount_to=None,
        reference="",
        venue_ref=f"ref-{key}",
        cap_asset="BTC",
        cap_amount=Decimal(amount),
        state="sending",
    )


def test_an_attempt_is_journaled_and_moves_on(tmp_path: Path) -> None:
    clock = Clock()
    with TreasuryJournal(tmp_path / "t.sqlite", clock=clock) as journal:
        stored = journal.reserve(record("a", "0.30"), per_day=Decimal(1), window_ns=DAY)
        assert stored.state == "sending" and stored.attempts == 1
        clock.advance(1)
        journal.update("a", "unknown", reason="reply lost: TimeoutError")
        again = journal.reserve(record("a", "0.30"), per_day=Decimal(1), window_ns=DAY)
        assert again.attempts == 2 and again.created_ns == stored.created_ns
        done = journal.update("a", "pending", venue_id="17", raw_status="PENDING")
        assert done.venue_id == "17" and not done.final
        assert journal.update("a", "completed", raw_status="COMPLETED", txid="0xabc").final
        states = [state for _, state, _, _ in journal.events("a")]
        assert states == ["sending", "unknown", "sending", "pending", "completed"]
    # Reopened: everything is still there, amounts exact.
    with TreasuryJournal(tmp_path / "t.sqlite") as journal:
        r = journal.get("a")
        assert r is not None and r.amount == Decimal("0.30") and r.txid == "0xabc"
        assert journal.records(open_only=True) == []


def test_the_daily_cap_is_checked_again_when_an_attempt_is_journaled(tmp_path: Path) -> None:
    clock = Clock()
    with TreasuryJournal(tmp_path / "t.sqlite", clock=clock) as journal:
        journal.reserve(record("a", "0.6"), per_day=Decimal(1), window_ns=DAY)
        journal.reserve(record("b", "0.3"), per_day=Decimal(1), window_ns=DAY)
        with pytest.raises(WithdrawalRefused) as caught:
            journal.reserve(record("c", "0.2"), per_day=Decimal(1), window_ns=DAY)
        assert caught.value.code == "daily_cap" and journal.get("c") is None
        # A retry of an attempt already counted is not counted twice.
        journal.reserve(record("b", "0.3"), per_day=Decimal(1), window_ns=DAY)
        journal.update("b", "refused", reason="Insufficient balance")
        journal.reserve(record("c", "0.2"), per_day=Decimal(1), window_ns=DAY)
        assert journal.spent("BTC", clock() - DAY) == Decimal("0.8")
        clock.advance(86_401)
        assert journal.spent("BTC", clock() - DAY) == 0


def test_a_file_that_is_not_a_treasury_journal_is_refused(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="no treasury journal"):
        TreasuryJournal(tmp_path / "missing.sqlite", create=False)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(JournalError):
        TreasuryJournal(junk)
