"""The idempotency key, the references venues keep it under, and shortened addresses."""

from __future__ import annotations

import uuid

from botkit.redact import shorten
from botkit.treasury import WithdrawalRequest
from botkit.treasury.keys import guid_of, idempotency_key, reference_of

from .helpers import BTC_COLD, XRP_COLD


def test_the_same_withdrawal_is_the_same_key_and_any_change_is_another() -> None:
    base = WithdrawalRequest("btc", "0.5", BTC_COLD)
    key = idempotency_key("desk", "viewer", base)
    assert len(key) == 64 and int(key, 16) >= 0
    same = [
        WithdrawalRequest("BTC", "0.50", BTC_COLD),
        WithdrawalRequest(" BTC ", "5E-1", f" {BTC_COLD} "),
    ]
    assert {idempotency_key("desk", "viewer", r) for r in same} == {key}
    different = [
        WithdrawalRequest("BTC", "0.5", BTC_COLD, reference="sweep-2"),
        WithdrawalRequest("BTC", "0.51", BTC_COLD),
        WithdrawalRequest("BTC", "0.5", BTC_COLD + "x"),
        WithdrawalRequest("BTC", "0.5", BTC_COLD, chain="Bitcoin"),
        WithdrawalRequest("BTC", "0.5", BTC_COLD, tag="1"),
    ]
    keys = {idempotency_key("desk", "viewer", r) for r in different}
    assert len(keys) == len(different) and key not in keys
    assert idempotency_key("other", "viewer", base) != key
    # Fields cannot run into each other: "a|b" + "" differs from "a" + "|b".
    a = WithdrawalRequest("XRP", "1", XRP_COLD, tag="12", reference="3")
    b = WithdrawalRequest("XRP", "1", XRP_COLD, tag="1", reference="23")
    assert idempotency_key("d", "v", a) != idempotency_key("d", "v", b)


def test_venue_references_come_from_the_key() -> None:
    key = idempotency_key("desk", "viewer", WithdrawalRequest("BTC", "1", BTC_COLD))
    assert reference_of(key) == "bk-" + key[:32]
    guid = guid_of(key)
    assert uuid.UUID(guid).version == 4 and guid == guid_of(key)


def test_addresses_are_shortened_for_logs() -> None:
    assert shorten(BTC_COLD) == "bc1qxy…0wlh"
    assert shorten("short") == "sho…" and shorten("") == "…"
