"""The viewer withdrawals API's replies (document 003) as treasury values.

* A withdrawal: ``id`` (number), ``customer_id``, ``asset_symbol`` (the
  examples; the attribute table says ``asset_uuid``: either is read),
  ``amount`` (string), ``state`` (PENDING/COMPLETED/FAILED/CANCELLED, any case;
  another word is kept raw and read as PENDING), ``txid``, ``completed_at``,
  ``inserted_at`` (RFC 3339), ``is_internal``, ``target_address``, ``note``,
  ``recipient_id``. The object carries no guid: a withdrawal is matched to our
  guid by the call that fetched it.
* ``GET`` and ``POST`` of one withdrawal answer ``{"code": 0, "message": "",
  "data": {...}}``; the list answers ``{"data": [...], "page_token": "..."}``.
  A reply whose ``code`` is not 0 is an error, whatever its HTTP status
  (``is_error_body``): the API said no, nothing was done.
* Errors: ``{"code": N, "message": "..."}`` with the HTTP status deciding the
  class (the document gives no error codes); a 409 (our guid already used) is a
  ``Conflict``: the withdrawal exists and is looked up.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from botkit.treasury.model import Page, Withdrawal, WithdrawalStatus
from botkit.treasury.parsing import status_of
from botkit.venues.kit.errors import InvalidRequest, VenueError, classify
from botkit.venues.kit.parsing import Fields, ParseError

__all__ = [
    "GATEWAYS",
    "KINDS",
    "STATUSES",
    "VENUE",
    "classify_error",
    "is_error_body",
    "parse_one",
    "parse_page",
    "parse_withdrawal",
]

VENUE = "viewer"
STATUSES: Mapping[str, WithdrawalStatus] = MappingProxyType(
    {
        "pending": WithdrawalStatus.PENDING,
        "completed": WithdrawalStatus.COMPLETED,
        "failed": WithdrawalStatus.FAILED,
        "cancelled": WithdrawalStatus.CANCELLED,
    }
)
# "Avaliable gateway names: Bitcoin, Ethereum, Tron, EOS, Mixin"
GATEWAYS = ("Bitcoin", "Ethereum", "Tron", "EOS", "Mixin")
# "kind: on_chain, off_chain, internal"
KINDS = ("on_chain", "off_chain", "internal")


def is_error_body(body: object) -> bool:
    """A reply whose ``code`` says it failed (``0`` is success; no code is a list)."""
    if not isinstance(body, Mapping) or "code" not in body:
        return False
    code = body["code"]
    return not (code == 0 and not isinstance(code, bool)) and code != "0"


def classify_error(
    http_status: int | None, body: object, *, retry_after: float | None = None
) -> VenueError:
    # A 2xx carrying code != 0 is the API's refusal: nothing was done.
    return classify(VENUE, http_status, body, retry_after=retry_after, fallback=InvalidRequest)


def parse_withdrawal(f: Fields, reference: str | None = None) -> Withdrawal:
    status, raw = status_of(f, ("state",), STATUSES)
    asset = f.opt_text("asset_symbol", "asset_uuid")
    internal = f.opt_boolean("is_internal")
    details = tuple(
        (name, value)
        for name in ("customer_id", "recipient_id", "note")
        if (value := f.opt_ident(name)) is not None
    )
    return Withdrawal(
        venue=VENUE,
        status=status,
        raw_status=raw,
        id=f.ident("id"),
        reference=reference,
        asset=asset.upper() if asset else None,
        amount=f.opt_non_negative("amount"),
        address=f.opt_text("target_address"),
        txid=f.opt_text("txid"),
        created_ns=f.opt_time_ns("inserted_at", unit="auto"),
        completed_ns=f.opt_time_ns("completed_at", unit="auto"),
        internal=internal,
        details=details,
    )


def parse_one(body: object, reference: str | None = None) -> Withdrawal:
    """``{"code": 0, "message": "", "data": {...}}`` (a GET or a create)."""
    root = Fields(body, VENUE, "withdrawal")
    return parse_withdrawal(root.obj("data"), reference)


def parse_page(body: object) -> Page:
    """``{"data": [...], "page_token": "..."}``: an empty or absent token ends the list."""
    root = Fields(body, VENUE, "withdrawals")
    items = tuple(parse_withdrawal(f) for f in root.each("data"))
    token = root.raw("page_token")
    if token is not None and not isinstance(token, str):
        raise ParseError(VENUE, "withdrawals", "page_token", "expected a string")
    return Page(items, (token or "").strip() or None)
