"""ALP.COM's ``venue.options`` (see the adapter's module notes for what each one chooses)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from botkit.venues.alp.wire import DOCUMENTS, Api, Document, SendTif
from botkit.venues.kit.options import VenueOptions

__all__ = ["AlpOptions", "V3Auth"]

V3Auth = Literal["api-key", "jwt"]


class AlpOptions(VenueOptions):
    """The seed: "We have limit in 2 calls per second from single account to
    authorization required methods". ``min_request_interval_s`` is that figure
    (0.5 s), for the gateway to pace its queue by; the REST client keeps every
    private call ``spacing_s`` apart (0.5 s × (1 + ``rate_margin``) = 0.55 s).
    """

    min_request_interval_s: float = Field(0.5, ge=0, le=60)
    # Orders remembered: each is an order record too (attribution walks them), so fewer
    # than the kit's default; a bot placing 2 orders a second keeps hours of them.
    id_memory: int = Field(20_000, ge=100)
    api: Api = "seed"  # which document's paths and payloads are sent
    v3_auth: V3Auth | None = None  # None: the document's ("api-key" seed, "jwt" official)
    jwt_renew_s: float = Field(60.0, ge=0)  # renew the token this long before its exp
    sign_query_params: bool = False  # v1 GETs sign their query (the examples sign {})
    account_id: int | str | None = None
    load_fees: bool = True
    read_back: bool = False  # look IOC/FOK/market orders up right after placing them
    post_only: Literal["reject", "send"] = "reject"  # when the document has no flag
    send_tif: SendTif | None = None  # None: the document's ("always" seed, "unless_gtc")
    twin_orders: Literal["refuse", "allow"] | None = None  # None: refuse when trades lack ids
    balance_includes_reserve: bool = False
    match_slack_ms: int = Field(5_000, ge=0)
    find_window_s: float = Field(120.0, ge=0)
    window_days: int = Field(30, ge=1)
    max_lookback_days: int = Field(365, ge=1)  # user_trades never reads further back
    trade_pages: int = Field(20, ge=1)  # full pages of account trades followed per window
    market_poll_s: float = Field(1.0, gt=0)
    book_depth: int = Field(20, ge=1)

    @property
    def document(self) -> Document:
        return DOCUMENTS[self.api]
