"""BlockTrade's withdrawal account options (``treasury.accounts.<name>.options``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from botkit.venues.blocktrade.options import DEFAULT_API_PREFIX

__all__ = ["BlockTradeWithdrawalOptions"]


class BlockTradeWithdrawalOptions(BaseModel):
    """``portfolio_id``: the portfolio withdrawals leave from (None: the first one ``GET
    /portfolios`` lists, as the trading adapter does). ``message``: what the crypto
    withdrawal's optional ``message`` carries: ``reference`` (our ``bk-`` reference, so
    the withdrawal can be told apart in the venue's history) or ``none`` (the field is
    left out). ``match_slack_s``: how much earlier than its journaled attempt a fiat
    withdrawal found by its fields may be dated (the venue keeps no reference of ours)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_prefix: str = DEFAULT_API_PREFIX
    portfolio_id: int | None = Field(None, ge=1)
    message: str = Field("reference", pattern=r"^(reference|none)$")
    match_slack_s: float = Field(5.0, ge=0, le=3600)
