"""ALP.COM's withdrawal account options (``treasury.accounts.<name>.options``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AlpWithdrawalOptions"]


class AlpWithdrawalOptions(BaseModel):
    """``sign_query_params``: sign the list's query filters (the document's examples
    sign ``{}`` even when filters are sent; the trading adapter's option of the same
    name). ``spacing_s``: the least time between two private calls (the documented
    2 calls a second, with the adapter's 10 % margin)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sign_query_params: bool = False
    spacing_s: float = Field(0.55, ge=0, le=60)
