"""ALP.COM's withdraws list (document 001, v1 "List own made withdraws").

``GET /api/v1/withdraws/`` answers a list of ``{"id", "timestamp" (unix
seconds with a fraction), "currency", "amount" (a number), "status" (an
integer)}``. The statuses are the document's table:

=====  ==========  =============================  ==========
value  name        description                    read as
=====  ==========  =============================  ==========
10     New         created, verification needed   pending
20     Verified    waiting for approving          pending
30     Approved    approved by moderator          completed
40     Refused     refused by moderator           failed
50     Canceled    cancelled by user              cancelled
=====  ==========  =============================  ==========

Approved is read as completed: it is the table's only state after the two
waiting ones that is not a refusal or a cancel. Any other value is kept raw and
read as pending (never guessed final). A row names no address or txid.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from botkit.treasury.model import Withdrawal, WithdrawalStatus
from botkit.venues.alp.parsing import VENUE
from botkit.venues.kit.parsing import Fields, list_of, lookup

__all__ = ["STATUSES", "STATUS_NAMES", "parse_withdraws"]

STATUSES: Mapping[str, WithdrawalStatus] = MappingProxyType(
    {
        "10": WithdrawalStatus.PENDING,
        "20": WithdrawalStatus.PENDING,
        "30": WithdrawalStatus.COMPLETED,
        "40": WithdrawalStatus.FAILED,
        "50": WithdrawalStatus.CANCELLED,
    }
)
STATUS_NAMES: Mapping[str, str] = MappingProxyType(
    {"10": "New", "20": "Verified", "30": "Approved", "40": "Refused", "50": "Canceled"}
)


def _withdraw(f: Fields) -> Withdrawal:
    status, raw = lookup(f, ("status",), STATUSES)
    currency = f.opt_text("currency")
    name = STATUS_NAMES.get(raw)
    return Withdrawal(
        venue=VENUE,
        status=status or WithdrawalStatus.PENDING,
        raw_status=f"{raw} {name}" if name else raw,
        id=f.ident("id"),
        asset=currency.upper() if currency else None,
        amount=f.opt_non_negative("amount"),
        created_ns=f.opt_time_ns("timestamp", unit="s"),
    )


def parse_withdraws(payload: object) -> list[Withdrawal]:
    return [_withdraw(f) for f in list_of(payload, VENUE, "withdraws")]
