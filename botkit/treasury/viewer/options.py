"""The viewer withdrawals API's account options (``treasury.accounts.<name>.options``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DEFAULT_PAGE_SIZE", "ViewerOptions"]

DEFAULT_PAGE_SIZE = 50  # the document's default ``limit``


class ViewerOptions(BaseModel):
    """The document names the permissions a key needs but not how a request carries
    it: the key (``api_key``) goes in ``auth_header`` as ``<auth_scheme> <key>``
    (an empty scheme sends the key alone). ``api_prefix`` is put before the
    documented paths (``/viewer/withdrawals``) when the base URL is a bare origin."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    auth_header: str = Field("Authorization", min_length=1, pattern=r"^[A-Za-z0-9-]+$")
    auth_scheme: str = Field("Bearer", pattern=r"^[A-Za-z0-9-]*$")
    api_prefix: str = ""
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=500)
