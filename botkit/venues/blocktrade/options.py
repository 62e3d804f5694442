"""BlockTrade's ``venue.options`` (see the adapter's module notes for each choice)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from botkit.venues.kit.options import VenueOptions

__all__ = ["BlockTradeOptions"]

DEFAULT_API_PREFIX = "/api/v1"
DEFAULT_WS_PATH = "/ws/v1/notification"
OPEN_STATUSES = "NEW,PARTIALLY_FILLED"


class BlockTradeOptions(VenueOptions):
    """BlockTrade documents no rate limit: ``min_request_interval_s`` stays 0."""

    portfolio_id: int | None = None  # else the first one GET /portfolios lists
    api_prefix: str = DEFAULT_API_PREFIX
    ws_path: str = DEFAULT_WS_PATH
    use_customer_order_id: bool = True  # POST /customer_orders (else POST /orders)
    post_only: Literal["reject", "send"] = "reject"
    since_overlap_ms: int = Field(1, ge=0, le=60_000)
    ws_auth: Literal["headers", "token"] = "headers"
    heartbeat_s: float | None = Field(20.0, gt=0)
    reconnect_backoff_s: tuple[float, float] = (0.2, 5.0)
    match_slack_ms: int = Field(2000, ge=0)
    fee_asset: Literal["quote", "base"] = "quote"
    load_fees: bool = True  # GET /fees at start; fees are otherwise left to the fills
    fees_in_percent: bool = True  # percent_value 0.2 means 0.2 %
    user_trade_stream: bool = True
    page_size: int = Field(1000, ge=1, le=1000)  # the documented maximum
    lookup_attempts: int = Field(4, ge=1, le=20)
    open_statuses: str = OPEN_STATUSES

    @field_validator("reconnect_backoff_s")
    @classmethod
    def _backoff_in_order(cls, value: tuple[float, float]) -> tuple[float, float]:
        lo, hi = value
        if not 0 < lo <= hi:
            raise ValueError("expected (low, high) with 0 < low <= high")
        return value
