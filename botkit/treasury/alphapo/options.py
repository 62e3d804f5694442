"""AlphaPo's account options (``treasury.accounts.<name>.options``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DEFAULT_API_PREFIX", "DEFAULT_BASE_URL", "AlphaPoOptions"]

DEFAULT_BASE_URL = "https://app.alphapo.net"
DEFAULT_API_PREFIX = "/api/v2"


class AlphaPoOptions(BaseModel):
    """``end_user_reference``: the "permanent ID of the customer in your system" the
    document requires (no personal data; at most 255 characters); null sends the
    account's name. ``amounts_as``: ``amount``/``amount_to`` are typed "number" and
    the example sends a number; ``string`` sends ``"0.5"`` instead."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    end_user_reference: str | None = Field(None, min_length=1, max_length=255)
    api_prefix: str = DEFAULT_API_PREFIX
    amounts_as: Literal["number", "string"] = "number"
