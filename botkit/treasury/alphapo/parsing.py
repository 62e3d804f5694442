"""AlphaPo's replies (document 002) as treasury values, and its errors as typed ones.

The create call answers ``{"data": {id, foreign_id, end_user_reference, type,
status, amount, sender_amount, sender_currency, receiver_currency,
receiver_amount}}``; amounts are decimal strings (numbers are read too).

Statuses: the document shows only ``processing`` (PENDING); any other word is
kept as the raw status and read as PENDING too, never guessed final.

Errors: the document gives no error shape. Both ``{"error": ..., "code": ...}``
(the shape AlphaPo publishes) and ``{"errors": {field: message}}`` are read;
codes and wordings that name a duplicate ``foreign_id`` are a
``DuplicateWithdrawal`` (the withdrawal exists: an earlier attempt got
through), the header codes an ``AuthError``; otherwise the HTTP status decides
(``botkit.venues.kit.errors.classify``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from botkit.treasury.errors import DuplicateWithdrawal
from botkit.treasury.model import Withdrawal, WithdrawalStatus
from botkit.treasury.parsing import status_of
from botkit.venues.kit.errors import (
    AuthError,
    ErrorRules,
    InsufficientFunds,
    InvalidRequest,
    VenueError,
    classify,
)
from botkit.venues.kit.parsing import Fields

__all__ = ["STATUSES", "VENUE", "classify_error", "parse_created"]

VENUE = "alphapo"

STATUSES: Mapping[str, WithdrawalStatus] = MappingProxyType(
    {"processing": WithdrawalStatus.PENDING}
)

RULES = ErrorRules(
    codes=MappingProxyType(
        {
            "no_header_key": AuthError,
            "bad_header_key": AuthError,
            "no_header_signature": AuthError,
            "bad_header_signature": AuthError,
            "bad_content_format": InvalidRequest,
            "duplicate_foreign_id": DuplicateWithdrawal,
            "insufficient_funds": InsufficientFunds,
        }
    ),
    messages=(
        ("foreign_id already exists", DuplicateWithdrawal),
        ("foreign id has already been taken", DuplicateWithdrawal),
        ("foreign_id has already been taken", DuplicateWithdrawal),
    ),
)


def classify_error(
    http_status: int | None, body: object, *, retry_after: float | None = None
) -> VenueError:
    return classify(VENUE, http_status, body, RULES, retry_after=retry_after)


def parse_created(body: object) -> Withdrawal:
    """The create call's reply; a ParseError names the field that does not fit."""
    f = Fields(body, VENUE, "withdrawal").obj("data")
    status, raw = status_of(f, ("status",), STATUSES)
    sender = f.opt_text("sender_currency")
    details = [
        (name, text)
        for name in ("type", "end_user_reference", "receiver_currency", "receiver_amount")
        if (text := _shown(f, name)) is not None
    ]
    amount = f.opt_non_negative("sender_amount", "amount")
    return Withdrawal(
        venue=VENUE,
        status=status,
        raw_status=raw,
        id=f.ident("id"),
        reference=f.opt_ident("foreign_id"),
        asset=sender.upper() if sender else None,
        amount=amount,
        details=tuple(details),
    )


def _shown(f: Fields, name: str) -> str | None:
    value = f.raw(name)
    if value is None or isinstance(value, bool | dict | list):
        return None
    return str(value)[:80]
