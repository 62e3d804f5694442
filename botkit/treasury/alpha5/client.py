"""Alpha5's wallet calls (document 000) behind the treasury's client interface.

What the document says, and how each rule is kept:

* ``POST /account/withdraw`` with ``asset`` (optional), ``address`` ("in
  currency format, it must be in address book") and ``amount``, all ``in:
  query``: sent as the query string, with the adapter's optional bearer token.
  ``asset`` is always sent (the withdrawal's asset is never left to a default).
* No tag, network or conversion parameter exists: a request with one is refused
  here rather than sent without it.
* ``GET /account/get_withdrawals`` (optional ``asset``) lists withdrawals, with
  no paging; ``GET /account/get_deposit_address`` (``asset``) and ``GET
  /account/wallet_balances`` (``asset``) give the deposit address and the
  balance (so the ``keep`` guard rail can be checked).
* Alpha5 takes no reference of ours: a withdrawal whose reply was lost is
  found by its fields (asset, address, amount, made no earlier than the
  attempt was journaled, less ``match_slack_s``), and never resent otherwise
  (``Features.dedupe`` is false): the treasury refuses until it is found or
  settled by hand.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from botkit.treasury.alpha5.options import Alpha5WithdrawalOptions
from botkit.treasury.alpha5.parsing import (
    is_error_body,
    parse_deposit_address,
    parse_list,
    parse_one,
)
from botkit.treasury.client import ClientBase, Connection
from botkit.treasury.errors import WithdrawalRefused
from botkit.treasury.journal import WithdrawalRecord
from botkit.treasury.model import DepositAddress, Features, Page, Withdrawal, WithdrawalRequest
from botkit.treasury.wire import PreparedRequest, Wire
from botkit.venues.alpha5.auth import auth_headers, query_params
from botkit.venues.alpha5.parsing import VENUE, classify_error, parse_balances
from botkit.venues.kit.rest import Reply

__all__ = ["Alpha5WithdrawalClient"]


class Alpha5WithdrawalClient(ClientBase):
    venue: ClassVar[str] = VENUE
    document: ClassVar[str] = "document 000"
    features: ClassVar[Features] = Features(
        get=True, list=True, deposit_address=True, balance=True, dedupe=False
    )
    options_model = Alpha5WithdrawalOptions
    default_base_url: ClassVar[str | None] = None

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.options: Alpha5WithdrawalOptions = self.load_options(connection.options)
        self.wire = Wire(
            VENUE,
            self.base_url,
            classify=classify_error,
            timeout_s=connection.timeout_s,
            prefix=self.options.api_prefix,
            error_body=is_error_body,
        )
        self.auth = auth_headers(connection.api_key)  # {} without a token

    def _request(
        self, method: str, route: str, params: dict[str, object], endpoint: str
    ) -> PreparedRequest:
        return self.wire.prepare(
            method,
            route,
            params=dict(query_params(params)),
            headers=self.auth,
            secret_headers=frozenset({"Authorization"}),
            endpoint=endpoint,
        )

    async def _get(self, route: str, params: dict[str, object]) -> Reply:
        return await self.wire.send(self._request("GET", route, params, route.rsplit("/", 1)[-1]))

    def check(self, request: WithdrawalRequest) -> None:
        unsupported = [
            name
            for name, value in (
                ("tag", request.tag),
                ("chain", request.chain),
                ("convert_to", request.convert_to),
                ("amount_to", request.amount_to),
            )
            if value is not None
        ]
        if unsupported:
            raise WithdrawalRefused(
                "not_supported",
                f"Alpha5's withdraw call takes no {', '.join(unsupported)} (document 000)",
                "Leave it out, or use a venue that takes it",
            )
        if request.amount is None:
            raise WithdrawalRefused("missing_amount", "no amount given")
        if not request.address:
            raise WithdrawalRefused("missing_address", "no destination address")

    def reference(self, key: str) -> str:
        return key  # Alpha5 keeps none: the journal's key stands for it

    def prepare(self, request: WithdrawalRequest, key: str) -> PreparedRequest:
        self.check(request)
        params: dict[str, object] = {
            "asset": request.asset,
            "address": request.address,
            "amount": request.amount,
        }
        return self._request("POST", "/account/withdraw", params, "create")

    async def send(self, prepared: PreparedRequest) -> Withdrawal:
        return (await self.wire.send(prepared)).read(parse_one)

    async def _all(self, asset: str | None) -> list[Withdrawal]:
        return (await self._get(self.options.withdrawals_path, {"asset": asset})).read(parse_list)

    async def get(self, reference: str, venue_id: str | None = None) -> Withdrawal | None:
        if venue_id is None:
            return None  # no reference of ours at the venue: see find()
        return next((w for w in await self._all(None) if w.id == venue_id), None)

    async def find(self, record: WithdrawalRecord) -> Withdrawal | None:
        if record.venue_id is not None:
            return await self.get(record.venue_ref, record.venue_id)
        since = record.created_ns - int(self.options.match_slack_s * 1e9)
        matches = [
            w
            for w in await self._all(record.asset)
            if w.address == record.address
            and w.amount == record.amount
            and (w.created_ns is None or w.created_ns >= since)
        ]
        # Two alike: which is ours cannot be told, so neither is claimed.
        return matches[0] if len(matches) == 1 else None

    async def list(
        self,
        *,
        asset: str | None = None,
        kind: str | None = None,
        page_token: str | None = None,
        limit: int | None = None,
    ) -> Page:
        if kind is not None or page_token is not None:
            raise ValueError("Alpha5's withdrawal list has no kind filter and no pages")
        items = sorted(await self._all(asset), key=lambda w: w.created_ns or 0, reverse=True)
        return Page(tuple(items[:limit] if limit else items))

    async def deposit_address(self, asset: str, chain: str | None = None) -> DepositAddress:
        if chain is not None:
            raise ValueError("Alpha5's deposit address call takes no chain")
        reply = await self._get("/account/get_deposit_address", {"asset": asset})
        return reply.read(parse_deposit_address, asset)

    async def balance(self, asset: str) -> Decimal | None:
        reply = await self._get("/account/wallet_balances", {"asset": asset})
        return reply.read(parse_balances).get(asset, Decimal(0))
