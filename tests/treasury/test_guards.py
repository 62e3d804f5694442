"""Every guard rail refuses with a clear message, and nothing reaches the venue.

Each test runs a real withdrawal path (``Treasury``) against a simulator over
loopback and asserts on the simulator's log of every request it received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from botkit.simulator.server import RunningSimulator, running_simulator
from botkit.treasury import WithdrawalRefused, WithdrawalRequest
from botkit.treasury.service import Treasury

from .helpers import BTC_COLD, ETH_COLD, STRANGER, XRP_COLD, Clock, make_treasury, treasury_config


@pytest.fixture
async def viewer() -> AsyncIterator[RunningSimulator]:
    async with running_simulator("viewer", run_market=False, settle_s=0.1) as sim:
        yield sim


@pytest.fixture
async def alphapo() -> AsyncIterator[RunningSimulator]:
    async with running_simulator("alphapo", run_market=False, settle_s=0.1) as sim:
        yield sim


async def refused(
    treasury: Treasury, account: str, request: WithdrawalRequest
) -> WithdrawalRefused:
    with pytest.raises(WithdrawalRefused) as caught:
        await treasury.withdraw(account, request)
    return caught.value


async def test_withdrawals_are_disabled_unless_bot_yaml_enables_them(
    viewer: RunningSimulator, tmp_path: Path
) -> None:
    treasury = make_treasury(treasury_config(viewer, enabled=False), tmp_path / "j.sqlite")
    err = await refused(treasury, "viewer", WithdrawalRequest("BTC", "0.1", BTC_COLD))
    await treasury.close()
    assert err.code == "disabled"
    assert "treasury.enabled is false" in str(err) and "Set treasury.enabled: true" in str(err)
    assert viewer.server.requests == []


async def test_an_address_not_on_the_allowlist_is_refused(
    viewer: RunningSimulator, tmp_path: Path
) -> None:
    treasury = make_treasury(treasury_config(viewer), tmp_path / "j.sqlite")
    err = await refused(treasury, "viewer", WithdrawalRequest("BTC", "0.1", STRANGER))
    await treasury.close()
    assert err.code == "not_allowlisted"
    assert str(err) == (
        "withdrawal refused (not_allowlisted): bc1qar…5mdq is not on the BTC allowlist. "
        "Add the address under treasury.allowlist.BTC (with its chain and tag) after checking "
        "it, or send to an address that is there."
    )
    assert STRANGER not in str(err)
    assert viewer.server.requests == []


async def test_the_chain_and_the_account_of_an_allowlist_entry_must_match(
    viewer: RunningSimulator, tmp_path: Path
) -> None:
    config = treasury_config(
        viewer,
        accounts={"other": {"venue": "viewer", "base_url": viewer.base_url, "api_key": "x"}},
        allowlist={
            "USDT": [{"address": ETH_COLD, "chain": "Ethereum"}],
            "BTC": [{"address": BTC_COLD, "accounts": ["other"]}],
        },
    )
    treasury = make_treasury(config, tmp_path / "j.sqlite")
    tron = await refused(
        treasury, "viewer", WithdrawalRequest("USDT", "10", ETH_COLD, chain="Tron")
    )
    assert "allowlisted for USDT on chain Ethereum, not Tron" in str(tron)
    other = await refused(treasury, "viewer", WithdrawalRequest("BTC", "0.1", BTC_COLD))
    assert "allowlisted for BTC, but not for account 'viewer'" in str(other)
    await treasury.close()
    assert viewer.server.requests == []


async def test_a_cap_is_kept_over_a_rolling_day(viewer: RunningSimulator, tmp_path: Path) -> None:
    clock = Clock()
    treasury = make_treasury(treasury_config(viewer), tmp_path / "j.sqlite", clock)
    first = await treasury.withdraw("viewer", WithdrawalRequest("BTC", "1", BTC_COLD))
    assert first.state == "pending"

    clock.advance(23 * 3600)
    err = await refused(treasury, "viewer", WithdrawalRequest("BTC", "0.6", BTC_COLD))
    assert err.code == "daily_cap"
    assert "0.6 BTC with the 1 BTC sent in the last 24 hours is above the cap of 1.5 BTC" in str(
        err
    )
    assert "(0.5 BTC left)" in str(err)
    assert len(viewer.server.sent("POST")) == 1

    clock.advance(3600 + 1)  # the first one has left the window
    later = await treasury.withdraw("viewer", WithdrawalRequest("BTC", "0.6", BTC_COLD))
    assert later.state == "pending" and len(viewer.server.sent("POST")) == 2
    await treasury.close()


async def test_a_withdrawal_the_venue_refused_does_not_count_against_the_day(
    tmp_path: Path,
) -> None:
    async with running_simulator("viewer", run_market=False, balances={"BTC": "0.9"}) as sim:
        clock = Clock()
        treasury = make_treasury(treasury_config(sim), tmp_path / "j.sqlite", clock)
        too_much = await treasury.withdraw("viewer", WithdrawalRequest("BTC", "1", BTC_COLD))
        assert too_much.state == "refused" and too_much.sent
        assert "Insufficient balance of BTC" in too_much.message
        ok = await treasury.withdraw("viewer", WithdrawalRequest("BTC", "0.9", BTC_COLD))
        assert ok.state == "pending"
        assert treasury.journal.spent("BTC", clock() - 86_400 * 10**9) == Decimal("0.9")
        await treasury.close()


async def test_more_than_one_withdrawal_may_carry_is_refused(
    viewer: RunningSimulator, tmp_path: Path
) -> None:
    treasury = make_treasury(treasury_config(viewer), tmp_path / "j.sqlite")
    err = await refused(treasury, "viewer", WithdrawalRequest("BTC", "1.2", BTC_COLD))
    await treasury.close()
    assert err.code == "per_withdrawal_cap"
    assert "1.2 BTC is above the cap of 1 BTC per withdrawal" in str(err)
    assert viewer.server.requests == []


async def test_an_asset_without_caps_never_leaves(viewer: RunningSimulator, tmp_path: Path) -> None:
    config = treasury_config(viewer, allowlist={"EOS": [{"address": "eosaccount11"}]})
    treasury = make_treasury(config, tmp_path / "j.sqlite")
    err = await refused(treasury, "viewer", WithdrawalRequest("EOS", "5", "eosaccount11"))
    await treasury.close()
    assert err.code == "no_limits" and "Add treasury.limits.EOS" in str(err)
    assert viewer.server.requests == []


async def test_a_balance_to_keep_that_cannot_be_checked_is_refused(
    viewer: RunningSimulator, tmp_path: Path
) -> None:
    limits = {"BTC": {"per_withdrawal": "1", "per_day": "2", "keep": "0.5"}}
    treasury = make_treasury(treasury_config(viewer, limits=limits), tmp_path / "j.sqlite")
    err = await refused(treasury, "viewer", WithdrawalRequest("BTC", "0.1", BTC_COLD))
    await treasury.close()
    assert err.code == "balance_unknown"
    assert "0.5 BTC must stay on the venue, and this venue reports no balance" in str(err)
    assert viewer.server.requests == []


async def test_an_xrp_withdrawal_without_a_tag_is_refused(
    alphapo: RunningSimulator, tmp_path: Path
) -> None:
    treasury = make_treasury(treasury_config(alphapo), tmp_path / "j.sqlite")
    err = await refused(treasury, "alphapo", WithdrawalRequest("XRP", "20", XRP_COLD))
    assert err.code == "missing_tag"
    assert "an XRP withdrawal needs a destination tag/memo" in str(err)
    wrong = await refused(treasury, "alphapo", WithdrawalRequest("XRP", "20", XRP_COLD, tag="9"))
    assert wrong.code == "not_allowlisted" and "another tag/memo" in str(wrong)
    await treasury.close()
    assert alphapo.server.requests == []


async def test_amount_and_amount_to_together_are_refused(
    alphapo: RunningSimulator, tmp_path: Path
) -> None:
    treasury = make_treasury(treasury_config(alphapo), tmp_path / "j.sqlite")
    err = await refused(
        treasury,
        "alphapo",
        WithdrawalRequest("EUR", "100", BTC_COLD, convert_to="BTC", amount_to="0.002"),
    )
    await treasury.close()
    assert err.code == "amount_and_amount_to"
    assert "AlphaPo takes either amount or amount_to, never both" in str(err)
    assert alphapo.server.requests == []


async def test_a_conversion_is_capped_in_the_currency_that_arrives(
    alphapo: RunningSimulator, tmp_path: Path
) -> None:
    treasury = make_treasury(treasury_config(alphapo), tmp_path / "j.sqlite")
    err = await refused(
        treasury,
        "alphapo",
        WithdrawalRequest("EUR", None, BTC_COLD, convert_to="BTC", amount_to="2"),
    )
    assert err.code == "per_withdrawal_cap" and "2 BTC is above the cap of 1 BTC" in str(err)
    ok = await treasury.withdraw(
        "alphapo", WithdrawalRequest("EUR", None, BTC_COLD, convert_to="BTC", amount_to="0.002")
    )
    assert ok.state == "pending" and len(alphapo.server.ledger.items) == 1
    await treasury.close()


async def test_an_unknown_account_is_refused(viewer: RunningSimulator, tmp_path: Path) -> None:
    treasury = make_treasury(treasury_config(viewer), tmp_path / "j.sqlite")
    err = await refused(treasury, "cold-wallet", WithdrawalRequest("BTC", "0.1", BTC_COLD))
    await treasury.close()
    assert err.code == "unknown_account" and "(configured: viewer)" in str(err)
