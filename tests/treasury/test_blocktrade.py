"""BlockTrade's withdrawals (document 004) through the treasury, against the BlockTrade
simulator over loopback: the portfolio withdraw with the document's destination
formats for XRP, KAYA and XLM, fiat withdrawals to a verified bank account followed
to their final status, and a lost reply that is never paid twice."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from botkit.simulator.blocktrade import API, BANK_ACCOUNTS, DEFAULT_API_KEY, DEFAULT_API_SECRET
from botkit.simulator.server import RunningSimulator, running_simulator
from botkit.treasury import WithdrawalRefused, WithdrawalRequest, WithdrawalStatus
from botkit.treasury.service import Treasury

from .helpers import BTC_COLD, XRP_COLD, Clock, make_treasury, treasury_config

BANK = BANK_ACCOUNTS[0].id  # VERIFIED
UNVERIFIED = BANK_ACCOUNTS[1].id
XLM_COLD = "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ"
KAYA_COLD = "kaya1qy352eufx7n4cfx4h0y9a3k0tmv0x7k8s9e4"
START = {"BTC": "2", "XRP": "1000", "XLM": "5000", "KAYA": "300", "EUR": "10000"}


@pytest.fixture
async def bt() -> AsyncIterator[RunningSimulator]:
    async with running_simulator(
        "blocktrade", run_market=False, balances=START, settle_s=0.2, tagged_assets=True
    ) as sim:
        yield sim


def treasury_on(sim: RunningSimulator, tmp_path: Path, **changes: Any) -> Treasury:
    allowlist = {
        "BTC": [{"address": BTC_COLD, "label": "cold"}],
        "XRP": [
            {"address": XRP_COLD, "label": "cold", "tag": "12345"},
            {"address": XRP_COLD, "label": "untagged"},
        ],
        "XLM": [{"address": XLM_COLD, "tag": "4021"}],
        "KAYA": [{"address": KAYA_COLD, "tag": "desk-7"}],
        "EUR": [
            {"address": BANK, "label": "bank"},
            {"address": UNVERIFIED, "label": "new-bank"},
            {"address": BANK, "label": "sepa", "chain": "SEPA"},
        ],
    }
    limits = {
        asset: {"per_withdrawal": "5000", "per_day": "10000"}
        for asset in ("BTC", "XRP", "XLM", "KAYA", "EUR")
    }
    config = treasury_config(sim, allowlist=allowlist, limits=limits, **changes)
    return make_treasury(config, tmp_path / "j.sqlite", Clock())


def withdraw_calls(sim: RunningSimulator) -> int:
    """Create calls that reached the venue (crypto and fiat), refused or not."""
    return sim.exchange.requests.get("withdraw", 0)


async def test_a_crypto_withdrawal_is_the_documents_body_signed_when_it_leaves(
    bt: RunningSimulator, tmp_path: Path
) -> None:
    treasury = treasury_on(bt, tmp_path)
    outcome = await treasury.withdraw("blocktrade", WithdrawalRequest("BTC", "0.25", BTC_COLD))
    assert outcome.sent and outcome.state == "pending"
    assert outcome.withdrawal is not None and outcome.withdrawal.raw_status == "accepted"
    prepared = outcome.prepared
    assert prepared is not None and prepared.route == "/portfolios/916/withdraw"
    # The document's fields, in its order; the amount "number as string".
    assert json.loads(prepared.body or "") == {
        "amount": "0.25",
        "trading_asset_id": 3,
        "message": outcome.plan.venue_ref,
        "destination_address": BTC_COLD,
    }
    assert list(json.loads(prepared.body or "")) == [
        "amount",
        "trading_asset_id",
        "message",
        "destination_address",
    ]
    shown = prepared.shown()
    assert "X-Api-Key: ***" in shown and "X-Signature: ***" in shown
    assert DEFAULT_API_KEY not in shown and DEFAULT_API_SECRET not in shown
    # The simulator checked the signature over those bytes: the portfolio paid.
    assert bt.exchange.balances["BTC"] == Decimal("1.75")
    [sent] = bt.server.withdrawals.items  # type: ignore[union-attr]
    assert (sent.asset, sent.amount, sent.address) == ("BTC", Decimal("0.25"), BTC_COLD)
    assert sent.extra["message"] == outcome.plan.venue_ref
    await treasury.close()


@pytest.mark.parametrize(
    ("asset", "address", "tag", "destination"),
    [
        ("XRP", XRP_COLD, "12345", f"{XRP_COLD}?dt=12345"),
        ("XLM", XLM_COLD, "4021", f"{XLM_COLD}?memoId=4021"),
        ("KAYA", KAYA_COLD, "desk-7", f"{KAYA_COLD}?msg=desk-7"),
    ],
)
async def test_xrp_kaya_and_xlm_carry_their_tag_in_the_documents_address_format(
    bt: RunningSimulator, tmp_path: Path, asset: str, address: str, tag: str, destination: str
) -> None:
    treasury = treasury_on(bt, tmp_path)
    outcome = await treasury.withdraw(
        "blocktrade", WithdrawalRequest(asset, "50", address, tag=tag)
    )
    assert outcome.state == "pending"
    assert json.loads(outcome.prepared.body or "")["destination_address"] == destination  # type: ignore[union-attr]
    [sent] = bt.server.withdrawals.items  # type: ignore[union-attr]
    assert (sent.address, sent.tag) == (address, tag)  # the simulator read the format back
    assert bt.exchange.balances[asset] == Decimal(START[asset]) - 50
    await treasury.close()


async def test_a_tag_is_required_where_the_format_has_one_and_refused_elsewhere(
    bt: RunningSimulator, tmp_path: Path
) -> None:
    treasury = treasury_on(bt, tmp_path)
    refusals = {
        "XRP without its tag": WithdrawalRequest("XRP", "50", XRP_COLD),
        "XRP tag not a number": WithdrawalRequest("XRP", "50", XRP_COLD, tag="12a"),
        "the tag in the address": WithdrawalRequest("XRP", "50", f"{XRP_COLD}?dt=12345"),
        "a tag on BTC": WithdrawalRequest("BTC", "0.1", BTC_COLD, tag="1"),
        "a chain (no network field)": WithdrawalRequest("BTC", "0.1", BTC_COLD, chain="Bitcoin"),
        "below the minimum": WithdrawalRequest("XRP", "5", XRP_COLD, tag="12345"),
    }
    codes = {}
    for why, request in refusals.items():
        with pytest.raises(WithdrawalRefused) as refused:
            await treasury.withdraw("blocktrade", request)
        codes[why] = refused.value.code
    assert codes == {
        "XRP without its tag": "address_format",
        "XRP tag not a number": "address_format",
        "the tag in the address": "address_format",
        "a tag on BTC": "address_format",
        "a chain (no network field)": "chain_not_supported",
        "below the minimum": "below_minimum",
    }
    with pytest.raises(WithdrawalRefused) as refused:
        await treasury.withdraw("blocktrade", WithdrawalRequest("XRP", "50", XRP_COLD))
    assert "needs its destination tag number" in str(refused.value)
    assert "the_address?dt=the_destination_tag_number" in str(refused.value)
    assert withdraw_calls(bt) == 0 and treasury.journal.records() == []
    await treasury.close()


async def test_the_simulator_holds_the_address_format_by_itself(bt: RunningSimulator) -> None:
    """Written from the document, not from the client: a raw request without the tag."""

    async def post(body: dict[str, Any]) -> tuple[int, Any]:
        # The document's gen_signature: upper-case hex HMAC-SHA256 of KEY.NONCE.BODY.
        text = json.dumps(body)
        nonce = str(1_800_000_000_000 + withdraw_calls(bt))
        message = f"{DEFAULT_API_KEY}.{nonce}.{text}".encode()
        signature = hmac.new(DEFAULT_API_SECRET.encode(), message, hashlib.sha256).hexdigest()
        headers = {
            "X-Api-Key": DEFAULT_API_KEY,
            "X-Nonce": nonce,
            "X-Signature": signature.upper(),
            "Content-Type": "application/json",
        }
        url = f"{bt.base_url}{API}/portfolios/916/withdraw"
        async with aiohttp.ClientSession() as http, http.post(url, data=text, headers=headers) as r:
            return r.status, await r.json()

    base = {"amount": "50", "trading_asset_id": 6}
    status, reply = await post({**base, "destination_address": XRP_COLD})
    assert status == 400 and "the_address?dt=the_number" in reply["message"]
    status, reply = await post({**base, "destination_address": f"{XRP_COLD}?dt=abc"})
    assert status == 400 and "must be a number" in reply["message"]
    status, reply = await post(
        {**base, "trading_asset_id": 3, "destination_address": f"{BTC_COLD}?dt=1"}
    )
    assert status == 400 and "no '?' part" in reply["message"]
    status, _ = await post({**base, "destination_address": f"{XRP_COLD}?dt=7"})
    assert status == 200
    assert bt.exchange.balances["XRP"] == Decimal(950)


async def test_a_fiat_withdrawal_goes_to_a_verified_bank_account_and_is_followed_to_checked(
    bt: RunningSimulator, tmp_path: Path
) -> None:
    treasury = treasury_on(bt, tmp_path)
    outcome = await treasury.withdraw("blocktrade", WithdrawalRequest("EUR", "2500.50", BANK))
    assert outcome.state == "pending" and outcome.record is not None
    assert outcome.record.venue_id is None  # the call answers the portfolios, not the withdrawal
    assert outcome.prepared is not None
    assert outcome.prepared.route == "/portfolios/916/fiat_withdrawals"
    assert json.loads(outcome.prepared.body or "") == {
        "bank_account_id": BANK,
        "trading_asset_id": 2,
        "amount": "2500.50",
        "type": "SEPA",
    }
    assert bt.exchange.balances["EUR"] == Decimal("7499.50")
    # Found by its fields (the venue keeps no reference of ours), then by its id.
    record = await treasury.follow(outcome.key, poll_s=0.05, timeout_s=5)
    assert (record.state, record.raw_status, record.venue_id) == ("completed", "CHECKED", "4100")
    states = [e[1] for e in treasury.journal.events(outcome.key)]
    assert states[0] == "sending" and "pending" in states and states[-1] == "completed"
    client = treasury.client("blocktrade")
    [listed] = (await client.list()).items
    assert (listed.id, listed.status, listed.asset, listed.amount) == (
        "4100",
        WithdrawalStatus.COMPLETED,
        "EUR",
        Decimal("2500.50"),
    )
    assert listed.address == BANK and ("type", "SEPA") in listed.details
    assert await client.get("", "4100") == listed
    assert await client.get("", "999") is None
    await treasury.close()


async def test_fiat_withdrawals_to_an_unverified_account_or_by_another_type_are_refused(
    bt: RunningSimulator, tmp_path: Path
) -> None:
    treasury = treasury_on(bt, tmp_path)
    unverified = await treasury.withdraw("blocktrade", WithdrawalRequest("EUR", "100", UNVERIFIED))
    assert unverified.state == "refused" and "not VERIFIED" in unverified.message
    assert bt.exchange.balances["EUR"] == Decimal(10000)
    sepa = await treasury.withdraw(
        "blocktrade", WithdrawalRequest("EUR", "100", BANK, chain="SEPA")
    )
    assert sepa.state == "pending"
    with pytest.raises(WithdrawalRefused) as refused:
        await treasury.withdraw("blocktrade", WithdrawalRequest("EUR", "100", BANK, chain="SWIFT"))
    assert refused.value.code == "unknown_fiat_type"
    await treasury.close()


async def test_a_failed_fiat_withdrawal_is_refunded_and_journaled_failed(tmp_path: Path) -> None:
    async with running_simulator(
        "blocktrade", run_market=False, balances=START, settle_s=0.1, fail_addresses=(BANK,)
    ) as sim:
        treasury = treasury_on(sim, tmp_path)
        outcome = await treasury.withdraw("blocktrade", WithdrawalRequest("EUR", "300", BANK))
        record = await treasury.follow(outcome.key, poll_s=0.05, timeout_s=5)
        assert (record.state, record.raw_status) == ("failed", "FAILED")
        assert await treasury.client("blocktrade").balance("EUR") == Decimal(10000)
        await treasury.close()


async def test_a_lost_reply_is_never_sent_again_until_settled_by_hand(
    bt: RunningSimulator, tmp_path: Path
) -> None:
    treasury = treasury_on(bt, tmp_path)
    await treasury.client("blocktrade").load()  # the asset ids: the next call is the withdraw
    bt.set_faults(fail_next=1, fail_after_probability=1.0)  # it acts, then answers a 5xx
    request = WithdrawalRequest("BTC", "0.5", BTC_COLD)
    first = await treasury.withdraw("blocktrade", request)
    assert first.state == "unknown" and "marked by hand" in first.message
    assert bt.exchange.balances["BTC"] == Decimal("1.5")  # it did leave
    with pytest.raises(WithdrawalRefused) as refused:
        await treasury.withdraw("blocktrade", request)
    assert refused.value.code == "outcome_unknown"
    assert withdraw_calls(bt) == 1
    treasury.mark(first.key, sent=True)
    again = await treasury.withdraw("blocktrade", request)
    assert again.state == "pending" and not again.sent
    assert withdraw_calls(bt) == 1 and bt.exchange.balances["BTC"] == Decimal("1.5")
    await treasury.close()


async def test_balance_and_deposit_address_come_from_the_portfolio(
    bt: RunningSimulator, tmp_path: Path
) -> None:
    treasury = treasury_on(bt, tmp_path)
    client = treasury.client("blocktrade")
    assert await client.balance("XRP") == Decimal(1000)
    assert await client.balance("ETH") == Decimal(0)
    xrp = await client.deposit_address("XRP")
    assert xrp.tag == "916" and "?" not in xrp.address  # "addr?dt=916", split
    btc = await client.deposit_address("BTC")
    assert btc.tag is None and btc.address
    with pytest.raises(ValueError, match="bank transfer"):
        await client.deposit_address("EUR")
    await treasury.close()
