"""Alpha5's wallet replies, read leniently: the seed documents none of them.

Every example response of document 000's wallet calls is ``{}``, and the
published v1.0.0 document has no wallet calls at all. So:

* a withdrawal is an object with whatever of ``id``, ``asset``, ``address``,
  ``amount``, ``status``/``state`` and ``timestamp`` (ms or ISO) it carries; an
  empty object (the example) is a withdrawal the venue took, of unknown id and
  status (PENDING, raw status ``""``);
* statuses: completed/done/success, failed/rejected, cancelled/canceled, and
  anything else (pending, processing, new...) PENDING, kept raw;
* the list is a JSON list of such objects (or ``{"result": [...]}``);
* a deposit address is ``{"address", "tag"|"memo"?}`` (or a bare string);
* balances are the adapter's own ``parse_balances``.

Errors are the adapter's ``classify_error``; a 2xx carrying ``{"error": ...}``
is an error too.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from botkit.treasury.model import DepositAddress, Withdrawal, WithdrawalStatus
from botkit.venues.alpha5.parsing import ENVELOPES, VENUE
from botkit.venues.kit.parsing import Fields, ParseError, rows, unwrap

__all__ = ["STATUSES", "is_error_body", "parse_deposit_address", "parse_list", "parse_one"]

STATUSES: Mapping[str, WithdrawalStatus] = MappingProxyType(
    {
        "completed": WithdrawalStatus.COMPLETED,
        "complete": WithdrawalStatus.COMPLETED,
        "done": WithdrawalStatus.COMPLETED,
        "success": WithdrawalStatus.COMPLETED,
        "failed": WithdrawalStatus.FAILED,
        "rejected": WithdrawalStatus.FAILED,
        "cancelled": WithdrawalStatus.CANCELLED,
        "canceled": WithdrawalStatus.CANCELLED,
    }
)


def is_error_body(body: object) -> bool:
    return (
        isinstance(body, Mapping)
        and body.get("error") not in (None, False, "")
        and "result" not in body
    )


def _withdrawal(f: Fields) -> Withdrawal:
    raw = f.opt_text("status", "state") or ""
    asset = f.opt_text("asset", "currency")
    return Withdrawal(
        venue=VENUE,
        status=STATUSES.get(raw.lower(), WithdrawalStatus.PENDING),
        raw_status=raw,
        id=f.opt_ident("id", "withdrawal_id"),
        asset=asset.upper() if asset else None,
        amount=f.opt_non_negative("amount"),
        address=f.opt_text("address"),
        txid=f.opt_text("txid", "tx_id", "transaction_id"),
        created_ns=f.opt_time_ns("timestamp", "created_at", unit="ms"),
    )


def parse_one(body: object) -> Withdrawal:
    """The withdraw call's reply (``{}`` is a withdrawal of unknown id and status)."""
    payload = unwrap(body, ENVELOPES)
    if payload is None:
        payload = {}
    return _withdrawal(Fields(payload, VENUE, "withdraw"))


def parse_list(body: object) -> list[Withdrawal]:
    payload = unwrap(body, ENVELOPES)
    if payload == {} or payload is None:
        return []  # the document's example answer
    if not isinstance(payload, list):
        raise ParseError(VENUE, "get_withdrawals", "<root>", "expected a list")
    return rows(payload, _withdrawal, venue=VENUE, kind="get_withdrawals")


def parse_deposit_address(body: object, asset: str) -> DepositAddress:
    payload = unwrap(body, ENVELOPES)
    if isinstance(payload, str) and payload.strip():
        return DepositAddress(VENUE, asset, payload.strip())
    f = Fields(payload, VENUE, "get_deposit_address")
    return DepositAddress(
        VENUE,
        (f.opt_text("asset") or asset).upper(),
        f.text("address", "deposit_address"),
        tag=f.opt_text("tag", "memo"),
        chain=f.opt_text("network", "chain"),
    )
