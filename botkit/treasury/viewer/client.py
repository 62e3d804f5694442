"""The "viewer" withdrawals API (document 003) behind the treasury's client interface.

What the document says, and how each rule is kept:

* Create (``POST /viewer/withdrawals``): ``symbol``, ``target_address`` and
  ``amount`` required, ``memo``, ``guid`` and ``gateway_name`` optional, each
  typed string: ``amount`` is sent as a decimal string, the request's tag as
  ``memo``, its chain as ``gateway_name``.
* ``guid`` is derived from the idempotency key (a UUID, like the document's
  example), so every attempt of one request carries the same guid, and the
  withdrawal can be fetched by it (``GET /viewer/withdrawals/{guid}``) when a
  create's reply is lost, before anything is sent again.
* ``gateway_name`` must be one of the listed gateways (Bitcoin, Ethereum, Tron,
  EOS, Mixin), written as listed; another is refused here.
* The API converts nothing: ``convert_to``/``amount_to`` are refused here.
* List: ``page_token`` (the page after it), ``limit`` (default 50), ``kind``
  (on_chain, off_chain, internal) and ``asset_symbol``; an unknown kind is
  refused here. A page ends the list when it carries no token (or an empty
  one).
* Cancel (``POST .../{guid}/cancel``) is asynchronous: ``code`` 0 only means
  the request was taken; the state says the rest.
* The document documents no balance or deposit address call.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from botkit.treasury.client import ClientBase, Connection
from botkit.treasury.errors import WithdrawalRefused
from botkit.treasury.keys import guid_of
from botkit.treasury.model import Features, Page, Withdrawal, WithdrawalRequest
from botkit.treasury.viewer.options import ViewerOptions
from botkit.treasury.viewer.parsing import GATEWAYS, KINDS, VENUE, parse_one, parse_page
from botkit.treasury.viewer.rest import ViewerRest
from botkit.treasury.wire import PreparedRequest
from botkit.venues.kit.errors import NotFound
from botkit.venues.kit.parsing import json_body

__all__ = ["ViewerClient"]


class ViewerClient(ClientBase):
    venue: ClassVar[str] = VENUE
    document: ClassVar[str] = "document 003"
    features: ClassVar[Features] = Features(get=True, list=True, cancel=True, dedupe=True)
    options_model = ViewerOptions
    default_base_url: ClassVar[str | None] = None

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.options: ViewerOptions = self.load_options(connection.options)
        self.rest = ViewerRest(
            self.base_url,
            connection.api_key,
            timeout_s=connection.timeout_s,
            api_prefix=self.options.api_prefix,
            auth_header=self.options.auth_header,
            auth_scheme=self.options.auth_scheme,
        )
        self.wire = self.rest.wire

    def check(self, request: WithdrawalRequest) -> None:
        if request.convert_to is not None or request.amount_to is not None:
            raise WithdrawalRefused(
                "conversion_not_supported",
                "the viewer API converts nothing: it takes no convert_to or amount_to "
                "(document 003)",
                "Withdraw the asset itself with amount",
            )
        if request.amount is None:
            raise WithdrawalRefused("missing_amount", "no amount given")
        if request.chain is not None and request.chain not in GATEWAYS:
            raise WithdrawalRefused(
                "unknown_gateway",
                f"gateway {request.chain!r} is not one the document lists ({', '.join(GATEWAYS)})",
                "Give one of them, spelt as listed",
            )
        if not request.address:
            raise WithdrawalRefused("missing_address", "no destination address")

    def reference(self, key: str) -> str:
        return guid_of(key)

    def body(self, request: WithdrawalRequest, key: str) -> str:
        """The create body, in the document's parameter order, every value a string."""
        payload: dict[str, object] = {
            "symbol": request.asset,
            "target_address": request.address,
            "amount": request.amount,
        }
        if request.tag is not None:
            payload["memo"] = request.tag
        payload["guid"] = self.reference(key)
        if request.chain is not None:
            payload["gateway_name"] = request.chain
        return json_body(payload)

    def prepare(self, request: WithdrawalRequest, key: str) -> PreparedRequest:
        self.check(request)
        return self.rest.create_request(self.body(request, key))

    async def send(self, prepared: PreparedRequest) -> Withdrawal:
        reply = await self.rest.send(prepared)
        guid = (prepared.json() or {}).get("guid")
        return reply.read(parse_one, guid)

    async def get(self, reference: str, venue_id: str | None = None) -> Withdrawal | None:
        try:
            reply = await self.rest.get(reference)
        except NotFound:
            return None
        return reply.read(parse_one, reference)

    async def list(
        self,
        *,
        asset: str | None = None,
        kind: str | None = None,
        page_token: str | None = None,
        limit: int | None = None,
    ) -> Page:
        if kind is not None and kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        size = limit if limit is not None else self.options.page_size
        if size < 1:
            raise ValueError(f"limit must be at least 1, got {size}")
        params = {"page_token": page_token, "limit": size, "kind": kind, "asset_symbol": asset}
        return (await self.rest.list(params)).read(parse_page)

    async def cancel(self, reference: str) -> None:
        uuid.UUID(reference)  # a guid we made; anything else is a caller's mistake
        await self.rest.cancel(reference)
