"""Alpha5's ``venue.options`` (see the adapter's module notes for each choice)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from botkit.redact import Secret
from botkit.venues.alpha5.auth import plain_token
from botkit.venues.kit.options import SecretOption, VenueOptions

__all__ = ["DEFAULT_PREFIX", "Alpha5Options", "Api"]

DEFAULT_PREFIX = "/v1"  # the documents' server URL is https://<host>/v1
Api = Literal["v1.0.0", "seed"]


class Alpha5Options(VenueOptions):
    """Neither document names a rate limit: ``min_request_interval_s`` stays 0."""

    api: Api = "v1.0.0"  # whose requests to send: the published document's or the seed's
    bearer_token: SecretOption | None = None  # else the api_key credential, if any
    asset_param: Literal["base", "settling"] = "base"  # what fills the "asset" parameter
    api_prefix: str = DEFAULT_PREFIX
    page_size: int = Field(100, ge=1)  # v1.0.0's paged order lists
    poll_interval_s: float = Field(1.0, gt=0)  # market data polling
    book_depth: int = Field(10, ge=1)
    match_window_s: float = Field(60.0, ge=0)  # find_order's fallback match
    # Both documents list index_price, mark_price and last_price.
    stop_trigger: Literal["last_price", "mark_price", "index_price"] = "last_price"
    status_refresh_s: float = Field(30.0, ge=0)  # contract status, re-read before a place

    @field_validator("bearer_token")
    @classmethod
    def _usable_token(cls, token: Secret | None) -> Secret | None:
        # Stripped and checked here, once: empty or header-breaking text is refused.
        text = plain_token(token)
        return None if text is None else Secret(text)
