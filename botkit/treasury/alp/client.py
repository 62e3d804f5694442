"""ALP.COM's withdraws list (document 001) behind the treasury's client interface.

A thin client over the trading adapter's REST client
(``botkit.venues.alp.rest.AlpRest``: v1 ``X-KEY``/``X-SIGN``/``X-NONCE``, nonces
in order, private calls spaced for the documented 2 a second). What the
document says, and how it is kept:

* ``GET /api/v1/withdraws/`` with the filters ``currency_id`` ("Filter
  currency", default all) and ``status`` (default all). The v1 currencies carry
  no id, so ``currency_id`` is sent the currency's short name (``BTC``), as the
  wallets list's filter of the same name. No paging is documented: one page
  holds every withdrawal, newest first as sent.
* The kinds of ``botkit withdrawals --kind`` are the status values (10-50).
* The document has no withdraw call (API v3's ``POST /api/v3/wallets/withdraw``
  is "Comming soon"), no lookup of one withdrawal, no deposit address and no
  balance in this client: a withdrawal through ALP.COM is refused here, before
  anything is built. The trading adapter reads the balances.
"""

from __future__ import annotations

from typing import ClassVar

from botkit.treasury.alp.options import AlpWithdrawalOptions
from botkit.treasury.alp.parsing import STATUSES, parse_withdraws
from botkit.treasury.client import ClientBase, Connection
from botkit.treasury.errors import NotDocumented, WithdrawalRefused
from botkit.treasury.model import Features, Page, Withdrawal, WithdrawalRequest
from botkit.treasury.wire import PreparedRequest
from botkit.venues.alp.parsing import VENUE
from botkit.venues.alp.rest import AlpRest
from botkit.venues.kit.rest import KeyPair

__all__ = ["WITHDRAWS_PATH", "AlpWithdrawalClient"]

WITHDRAWS_PATH = "/api/v1/withdraws/"


class AlpWithdrawalClient(ClientBase):
    venue: ClassVar[str] = VENUE
    document: ClassVar[str] = "document 001"
    features: ClassVar[Features] = Features(list=True)
    options_model = AlpWithdrawalOptions
    default_base_url: ClassVar[str | None] = "https://alp.com"

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.options: AlpWithdrawalOptions = self.load_options(connection.options)
        self.rest = AlpRest(
            self.base_url,
            KeyPair.of(connection.api_key, connection.api_secret),
            timeout_s=connection.timeout_s,
            spacing_s=self.options.spacing_s,
            sign_query_params=self.options.sign_query_params,
        )

    async def close(self) -> None:
        await self.rest.close()

    def check(self, request: WithdrawalRequest) -> None:
        raise WithdrawalRefused(
            "not_supported",
            "ALP.COM's document 001 has no withdraw call (API v3's wallets/withdraw is "
            "'Comming soon'); botkit only lists ALP.COM withdrawals",
            "Withdraw from another treasury account, or on ALP.COM itself",
        )

    def reference(self, key: str) -> str:
        return key

    def prepare(self, request: WithdrawalRequest, key: str) -> PreparedRequest:
        self.check(request)
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(self, prepared: PreparedRequest) -> Withdrawal:
        raise NotDocumented(VENUE, "withdraw", self.document)

    async def list(
        self,
        *,
        asset: str | None = None,
        kind: str | None = None,
        page_token: str | None = None,
        limit: int | None = None,
    ) -> Page:
        if kind is not None and kind not in STATUSES:
            raise ValueError(
                f"ALP.COM filters withdraws by status: kind must be one of {', '.join(STATUSES)}"
            )
        if page_token is not None:
            raise ValueError("ALP.COM's withdraws list has no pages")
        params = {"currency_id": asset, "status": kind}
        reply = await self.rest.private("GET", WITHDRAWS_PATH, params=params)
        items = reply.read(parse_withdraws)
        return Page(tuple(items[:limit] if limit else items))
