"""BlockTrade's withdrawals (document 004) behind the treasury's client interface.

A thin client over the trading adapter's own modules: its signing
(``botkit.venues.blocktrade.auth``), its REST client with the nonce-ordered
private calls (``botkit.venues.blocktrade.rest.BlockTradeRest``) and its error
classification. What the document says, and how each rule is kept:

* Crypto: ``POST /portfolios/{id}/withdraw`` with ``amount`` (a string),
  ``trading_asset_id``, ``message`` (optional) and ``destination_address``, in
  the document's order. An XRP, KAYA or XLM destination carries its tag in the
  address (``addr?dt=``, ``?msg=``, ``?memoId=``; ``addresses``): the tag is
  required for those three and refused for any other asset. The call has no
  network field: a request naming a chain is refused. ``message`` carries our
  reference (``bk-`` and 32 hex digits; option ``message``).
* Fiat (an asset whose ``currency_type`` is FIAT): ``POST
  /portfolios/{id}/fiat_withdrawals`` with ``bank_account_id`` (the request's
  address: a bank account of the user's, VERIFIED at the venue, allowlisted
  here like any address), ``trading_asset_id``, ``amount`` and ``type``
  (``SEPA``, the only value; the request's chain, if given, must be it). No tag.
* The asset's ``trading_asset_id`` and ``minimal_withdrawal_amount`` come from
  ``GET /trading_assets`` (``load``, before the first check): an amount below
  the minimum is refused here.
* Both calls answer the portfolios, not the withdrawal: a withdrawal taken has
  no id and is PENDING (a 200 that is not the portfolios is a reply not
  understood: the outcome is unknown). Fiat withdrawals are listed (``GET
  /portfolios/{id}/fiat_withdrawals``, no paging documented) and fetched by id,
  so one is followed to its final status, found by its fields (asset, bank
  account, amount, made after the attempt was journaled) since the venue keeps
  no reference of ours. Crypto withdrawals have no REST lookup at all: their
  status stays what the create said, and one whose reply was lost is never
  resent until it is settled by hand (``Features.dedupe`` is false).
* Balance: the portfolio's ``available_amount``; deposit address: its
  ``wallet_address`` for the asset.

The nonce is drawn and the request signed when it leaves (a dry run shows the
key, nonce and signature as ``***``), in the REST client's turn so that nonces
stay in order with every other private call; the body is the exact text the
dry run printed.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any, ClassVar

from botkit.redact import Secret
from botkit.treasury.blocktrade.addresses import destination, tag_problem
from botkit.treasury.blocktrade.options import BlockTradeWithdrawalOptions
from botkit.treasury.blocktrade.parsing import (
    Asset,
    accepted,
    deposit_of,
    parse_assets,
    parse_fiat_list,
    parse_fiat_withdrawal,
    parse_portfolios,
    portfolio,
)
from botkit.treasury.client import ClientBase, Connection
from botkit.treasury.errors import NotDocumented, WithdrawalRefused
from botkit.treasury.journal import WithdrawalRecord
from botkit.treasury.keys import reference_of
from botkit.treasury.model import DepositAddress, Features, Page, Withdrawal, WithdrawalRequest
from botkit.treasury.wire import PreparedRequest
from botkit.venues.blocktrade.auth import sign_headers
from botkit.venues.blocktrade.parsing import VENUE
from botkit.venues.blocktrade.rest import BlockTradeRest
from botkit.venues.kit.errors import AuthError, NotFound
from botkit.venues.kit.parsing import json_body
from botkit.venues.kit.rest import Reply, path

__all__ = ["FIAT_TYPE", "BlockTradeWithdrawalClient"]

FIAT_TYPE = "SEPA"  # "Enumerated Values: type SEPA"
_AUTH_HEADERS = frozenset({"X-Api-Key", "X-Nonce", "X-Signature"})


class BlockTradeWithdrawalClient(ClientBase):
    venue: ClassVar[str] = VENUE
    document: ClassVar[str] = "document 004"
    features: ClassVar[Features] = Features(
        get=True, list=True, deposit_address=True, balance=True, dedupe=False
    )
    options_model = BlockTradeWithdrawalOptions
    default_base_url: ClassVar[str | None] = None

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.options: BlockTradeWithdrawalOptions = self.load_options(connection.options)
        self.rest = BlockTradeRest(
            self.base_url,
            connection.api_key,
            connection.api_secret,
            timeout_s=connection.timeout_s,
            api_prefix=self.options.api_prefix,
        )
        self.assets: dict[str, Asset] = {}
        self.portfolio_id: int | None = self.options.portfolio_id
        self._loading = asyncio.Lock()

    async def close(self) -> None:
        await self.rest.close()

    # ----- what every call needs ------------------------------------------------------------

    async def load(self) -> None:
        """The trading assets (ids, fiat or not, minimums) and the portfolio, once."""
        async with self._loading:
            if not self.assets:
                self.assets = (await self.rest.http.send("GET", "/trading_assets")).read(
                    parse_assets
                )
            if self.portfolio_id is None:
                portfolios = await self._portfolios()
                if not portfolios:
                    raise WithdrawalRefused(
                        "no_portfolio", "the BlockTrade account lists no portfolio"
                    )
                self.portfolio_id = portfolios[0].id

    def _asset(self, iso: str) -> Asset:
        asset = self.assets.get(iso)
        if asset is None:
            known = ", ".join(sorted(self.assets)) or "none loaded"
            raise WithdrawalRefused(
                "unknown_asset",
                f"{iso} is not a BlockTrade trading asset (known: {known})",
                "Check the asset code",
            )
        return asset

    async def _portfolios(self) -> list[Any]:
        reply = await self.rest.private("GET", "/portfolios")
        return Reply(200, reply, "GET /portfolios").read(parse_portfolios)

    def _root(self) -> str:
        assert self.portfolio_id is not None, "load() first"
        return path("portfolios", self.portfolio_id)

    # ----- create --------------------------------------------------------------------------

    def check(self, request: WithdrawalRequest) -> None:
        if request.convert_to is not None or request.amount_to is not None:
            raise WithdrawalRefused(
                "conversion_not_supported",
                "BlockTrade's withdraw calls convert nothing: no convert_to or amount_to "
                "(document 004)",
                "Withdraw the asset itself with amount",
            )
        if request.amount is None:
            raise WithdrawalRefused("missing_amount", "no amount given")
        asset = self._asset(request.asset)
        if asset.fiat:
            self._check_fiat(request)
        else:
            self._check_crypto(request)
        low = asset.minimal_withdrawal
        if low is not None and request.amount < low:
            raise WithdrawalRefused(
                "below_minimum",
                f"{request.amount} {request.asset} is below BlockTrade's minimal withdrawal "
                f"amount of {low} {request.asset}",
                f"Withdraw at least {low} {request.asset}",
            )

    @staticmethod
    def _check_crypto(request: WithdrawalRequest) -> None:
        if request.chain is not None:
            raise WithdrawalRefused(
                "chain_not_supported",
                "BlockTrade's crypto withdraw call has no network/chain field (document 004)",
                "Leave chain empty",
            )
        problem = tag_problem(request.asset, request.address, request.tag)
        if problem is not None:
            raise WithdrawalRefused(
                "address_format",
                problem,
                "Give the address alone and the tag/memo with it (--tag), as the "
                "allowlist entry holds them",
            )

    @staticmethod
    def _check_fiat(request: WithdrawalRequest) -> None:
        if request.tag is not None:
            raise WithdrawalRefused(
                "tag_not_supported", f"a fiat ({request.asset}) withdrawal takes no tag"
            )
        if request.chain is not None and request.chain != FIAT_TYPE:
            raise WithdrawalRefused(
                "unknown_fiat_type",
                f"a fiat withdrawal's type is {FIAT_TYPE} (the only one documented), "
                f"not {request.chain!r}",
                f"Give chain {FIAT_TYPE}, or none",
            )
        if not request.address or any(c.isspace() for c in request.address):
            raise WithdrawalRefused(
                "missing_address", "a fiat withdrawal needs the bank account's id as address"
            )

    def reference(self, key: str) -> str:
        return reference_of(key)

    def body(self, request: WithdrawalRequest, key: str) -> tuple[str, str]:
        """The create call's route and body, in the document's field order."""
        asset = self._asset(request.asset)
        payload: dict[str, object]
        if asset.fiat:
            payload = {
                "bank_account_id": request.address,
                "trading_asset_id": asset.id,
                "amount": request.amount,
                "type": request.chain or FIAT_TYPE,
            }
            return self._root() + "/fiat_withdrawals", json_body(payload)
        payload = {"amount": request.amount, "trading_asset_id": asset.id}
        if self.options.message == "reference":
            payload["message"] = self.reference(key)
        payload["destination_address"] = destination(request.asset, request.address, request.tag)
        return self._root() + "/withdraw", json_body(payload)

    def prepare(self, request: WithdrawalRequest, key: str) -> PreparedRequest:
        self.check(request)
        if not self.rest.has_credentials:
            raise AuthError(VENUE, "no api_key/api_secret configured for this account")
        route, body = self.body(request, key)
        key_value = self.connection.api_key
        headers = (
            ("Accept", "application/json"),
            ("Content-Type", "application/json"),
            ("X-Api-Key", key_value.reveal() if isinstance(key_value, Secret) else ""),
            ("X-Nonce", "(drawn when sent)"),
            ("X-Signature", "(signed when sent)"),
        )
        return PreparedRequest(
            "POST", self.rest.base_url, route, (), headers, body, _AUTH_HEADERS, "create"
        )

    async def send(self, prepared: PreparedRequest) -> Withdrawal:
        key, secret = self.rest.keys.reveal(VENUE)
        plain = {k: v for k, v in prepared.headers if k not in _AUTH_HEADERS}

        async def attempt(nonce: int, sent: asyncio.Event) -> Reply:
            headers = {**plain, **sign_headers(key, secret, nonce, prepared.body)}
            return await self.rest.http.send(
                prepared.method, prepared.route, data=prepared.body, headers=headers, sent=sent
            )

        # The answer is the portfolios: one of another shape is a reply not understood
        # (the withdrawal may have been taken), never a withdrawal taken for sure.
        (await self.rest.signed.call(attempt)).read(parse_portfolios)
        fields = prepared.json()
        fiat = "bank_account_id" in fields
        address = fields["bank_account_id"] if fiat else fields["destination_address"]
        asset = next(a.iso for a in self.assets.values() if a.id == fields["trading_asset_id"])
        return accepted(asset, Decimal(fields["amount"]), address)

    # ----- follow --------------------------------------------------------------------------

    async def _fiat_all(self) -> list[Withdrawal]:
        await self.load()
        body = await self.rest.private("GET", self._root() + "/fiat_withdrawals")
        return Reply(200, body, "GET /fiat_withdrawals").read(parse_fiat_list)

    async def get(self, reference: str, venue_id: str | None = None) -> Withdrawal | None:
        if venue_id is None:
            return None  # no reference of ours at the venue: see find()
        await self.load()
        try:
            body = await self.rest.private("GET", self._root() + path("fiat_withdrawals", venue_id))
        except NotFound:
            return None
        return Reply(200, body, "GET /fiat_withdrawals/{id}").read(parse_fiat_withdrawal)

    async def find(self, record: WithdrawalRecord) -> Withdrawal | None:
        await self.load()
        if not self._asset(record.asset).fiat:
            raise NotDocumented(VENUE, "crypto withdrawal lookup", self.document)
        if record.venue_id is not None:
            return await self.get(record.venue_ref, record.venue_id)
        since = record.created_ns - int(self.options.match_slack_s * 1e9)
        matches = [
            w
            for w in await self._fiat_all()
            if w.asset == record.asset
            and w.address == record.address
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
        if kind not in (None, "fiat"):
            raise ValueError(
                "BlockTrade lists fiat withdrawals only (kind fiat); its document has no "
                "list of crypto withdrawals"
            )
        if page_token is not None:
            raise ValueError("BlockTrade's fiat withdrawal list has no pages")
        items = [w for w in await self._fiat_all() if asset is None or w.asset == asset]
        items.sort(key=lambda w: w.created_ns or 0, reverse=True)
        return Page(tuple(items[:limit] if limit else items))

    # ----- the account ---------------------------------------------------------------------

    async def _own_portfolio(self) -> Any:
        await self.load()
        assert self.portfolio_id is not None
        return portfolio(await self._portfolios(), self.portfolio_id)

    async def deposit_address(self, asset: str, chain: str | None = None) -> DepositAddress:
        if chain is not None:
            raise ValueError("BlockTrade's portfolios name no network for a deposit address")
        await self.load()
        spec = self._asset(asset)
        if spec.fiat:
            raise ValueError(f"{asset} is fiat: it is deposited by bank transfer, not to a wallet")
        found = deposit_of(await self._own_portfolio(), spec)
        if found is None:
            raise NotFound(VENUE, f"the portfolio has no wallet address for {asset}")
        return found

    async def balance(self, asset: str) -> Decimal | None:
        await self.load()
        spec = self._asset(asset)
        return (await self._own_portfolio()).available.get(spec.id, Decimal(0))
