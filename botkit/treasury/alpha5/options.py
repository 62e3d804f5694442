"""Alpha5's withdrawal account options (``treasury.accounts.<name>.options``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Alpha5WithdrawalOptions"]


class Alpha5WithdrawalOptions(BaseModel):
    """``withdrawals_path``: the seed spells the list ``/acccount/get_withdrawals`` (three
    c's) in its heading and examples and ``/account/...`` everywhere else; the
    consistent spelling is sent. ``match_slack_s``: how long before an attempt was
    journaled a withdrawal found by its fields may have been made (clocks differ)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_prefix: str = "/v1"
    withdrawals_path: str = Field("/account/get_withdrawals", pattern=r"^/[a-z_/]+$")
    match_slack_s: float = Field(5.0, ge=0, le=3600)
