"""AlphaPo crypto withdrawals (document 002) behind the treasury's client interface.

What the document says, and how each rule is kept:

* ``POST /api/v2/withdrawal/crypto`` with ``currency``, ``address``,
  ``amount``, ``foreign_id`` and ``end_user_reference`` required, ``tag``,
  ``convert_to`` and ``amount_to`` optional; the body signed (``auth``).
* ``foreign_id`` ("unique ID of the withdrawal request") is derived from the
  idempotency key (``bk-`` + 32 hex digits): the same request always carries
  the same one, so a resend after a lost reply is refused by AlphaPo as a
  duplicate rather than paid twice.
* ``end_user_reference`` ("permanent ID of the customer", at most 255
  characters, no personal data): the account option, else the account's name.
* "If you are withdrawing XRP, a tag/memo is required": a request whose
  arriving currency is XRP without a tag is refused here.
* "You can only specify either amount_to or amount": exactly one is sent;
  ``amount_to`` is the amount in ``convert_to``, so it needs ``convert_to``.
* Amounts are typed "number" (the example sends ``"amount": 0``): sent as JSON
  numbers written from the Decimal's exact digits (``amounts_as: string`` sends
  strings). ``tag`` is sent only when given (the example's ``"tag": null``
  means "none").
* The document has no network/chain field: a request naming one is refused
  rather than sent without it.
* Only the create call is documented: ``get``, ``list``, ``cancel`` and the
  deposit address raise ``NotDocumented``; the status a create answers
  (``processing``) is the last one botkit can know.
"""

from __future__ import annotations

from typing import ClassVar

from botkit.treasury.alphapo.options import DEFAULT_BASE_URL, AlphaPoOptions
from botkit.treasury.alphapo.parsing import VENUE, parse_created
from botkit.treasury.alphapo.rest import AlphaPoRest
from botkit.treasury.client import ClientBase, Connection
from botkit.treasury.errors import WithdrawalRefused
from botkit.treasury.keys import reference_of
from botkit.treasury.model import Features, Withdrawal, WithdrawalRequest
from botkit.treasury.wire import PreparedRequest
from botkit.venues.kit.errors import UnreadableReply
from botkit.venues.kit.parsing import ParseError, json_body

__all__ = ["TAG_REQUIRED", "AlphaPoClient"]

TAG_REQUIRED = frozenset({"XRP"})


class AlphaPoClient(ClientBase):
    venue: ClassVar[str] = VENUE
    document: ClassVar[str] = "document 002"
    features: ClassVar[Features] = Features(dedupe=True)  # foreign_id is unique
    options_model = AlphaPoOptions
    default_base_url: ClassVar[str | None] = DEFAULT_BASE_URL

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.options: AlphaPoOptions = self.load_options(connection.options)
        self.rest = AlphaPoRest(
            self.base_url,
            connection.api_key,
            connection.api_secret,
            timeout_s=connection.timeout_s,
            api_prefix=self.options.api_prefix,
        )
        self.wire = self.rest.wire
        self.end_user_reference = self.options.end_user_reference or connection.account

    def check(self, request: WithdrawalRequest) -> None:
        if request.amount is not None and request.amount_to is not None:
            raise WithdrawalRefused(
                "amount_and_amount_to",
                "AlphaPo takes either amount or amount_to, never both (document 002)",
                "Give only one of them",
            )
        if request.amount is None and request.amount_to is None:
            raise WithdrawalRefused("missing_amount", "give amount (or amount_to with convert_to)")
        if request.amount_to is not None and request.convert_to is None:
            raise WithdrawalRefused(
                "amount_to_without_convert_to",
                "amount_to is the amount in the convert_to currency, and no convert_to is given",
                "Add convert_to, or give amount instead",
            )
        if request.convert_to is not None and request.convert_to == request.asset:
            raise WithdrawalRefused(
                "convert_to_same_asset", f"convert_to is the currency withdrawn ({request.asset})"
            )
        if request.arriving_asset in TAG_REQUIRED and request.tag is None:
            raise WithdrawalRefused(
                "missing_tag",
                f"an {request.arriving_asset} withdrawal needs a destination tag/memo "
                "(document 002: without one the funds may be lost)",
                "Give the tag of the destination (e.g. --tag)",
            )
        if request.chain is not None:
            raise WithdrawalRefused(
                "chain_not_supported",
                "AlphaPo's withdrawal call has no network/chain field (document 002)",
                "Leave chain empty",
            )
        if not request.address:
            raise WithdrawalRefused("missing_address", "no destination address")

    def reference(self, key: str) -> str:
        return reference_of(key)

    def body(self, request: WithdrawalRequest, key: str) -> str:
        """The request body, in the document's field order."""
        payload: dict[str, object] = {"currency": request.asset, "address": request.address}
        if request.tag is not None:
            payload["tag"] = request.tag
        if request.amount is not None:
            payload["amount"] = request.amount
        payload["foreign_id"] = self.reference(key)
        payload["end_user_reference"] = self.end_user_reference
        if request.convert_to is not None:
            payload["convert_to"] = request.convert_to
        if request.amount_to is not None:
            payload["amount_to"] = request.amount_to
        return json_body(payload, decimals=self.options.amounts_as)

    def prepare(self, request: WithdrawalRequest, key: str) -> PreparedRequest:
        self.check(request)
        return self.rest.create_request(self.body(request, key))

    async def send(self, prepared: PreparedRequest) -> Withdrawal:
        body = await self.rest.send(prepared)
        try:
            return parse_created(body)
        except ParseError as err:
            raise UnreadableReply.of(err, endpoint="POST /withdrawal/crypto") from err
