"""The idempotency key of a withdrawal, and the references a venue keeps it under.

The key is a SHA-256 over the request's every field that changes what leaves
the account (account, venue, asset, amounts, address, tag, chain, conversion)
plus the caller's ``reference``: the same request is the same key, so a retry
finds the journaled attempt, and a deliberate second withdrawal of the same
amount to the same address needs a reference of its own. Amounts are written
canonically (``0.50`` and ``0.5`` are one amount).

The key is journaled before anything is sent, and each venue gets a reference
derived from it that it stores with the withdrawal (AlphaPo's ``foreign_id``,
the viewer API's ``guid``): a venue that refuses a second withdrawal under the
same reference makes a resend after a lost reply harmless.
"""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal

from botkit.treasury.model import WithdrawalRequest

__all__ = ["canonical_amount", "guid_of", "idempotency_key", "reference_of"]

VERSION = "botkit-withdrawal-v1"


def canonical_amount(value: Decimal | None) -> str:
    """``0.50`` -> ``0.5``, ``1E+2`` -> ``100``; None -> ``""``."""
    if value is None:
        return ""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def idempotency_key(account: str, venue: str, request: WithdrawalRequest) -> str:
    """64 hex characters, stable for the same account, venue and request."""
    parts = (
        VERSION,
        account,
        venue,
        request.asset,
        canonical_amount(request.amount),
        request.address,
        request.tag or "",
        request.chain or "",
        request.convert_to or "",
        canonical_amount(request.amount_to),
        request.reference,
    )
    # Length-prefixed, so no field's text can shift into its neighbour's.
    data = "".join(f"{len(p)}:{p};" for p in parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


def reference_of(key: str, prefix: str = "bk-") -> str:
    """A short text reference from the key (``bk-`` and 32 hex digits: 128 bits)."""
    return prefix + key[:32]


def guid_of(key: str) -> str:
    """A UUID (version 4 layout, as the viewer API's example guid) from the key."""
    return str(uuid.UUID(hex=key[:32], version=4))
