"""AlphaPo's one documented call on the wire: ``POST /api/v2/withdrawal/crypto``.

The base URL may be a bare origin (``https://app.alphapo.net``, the document's
host); the document's prefix ``/api/v2`` is then appended. The body is written
once (``json_body``: compact, ASCII, field order as the document lists them),
signed over exactly those bytes (``auth``) and sent as is.
"""

from __future__ import annotations

from typing import Any

from botkit.redact import Secret
from botkit.treasury.alphapo.auth import KEY_HEADER, SIGNATURE_HEADER, sign_headers
from botkit.treasury.alphapo.options import DEFAULT_API_PREFIX
from botkit.treasury.alphapo.parsing import VENUE, classify_error
from botkit.treasury.wire import PreparedRequest, Wire
from botkit.venues.kit.errors import AuthError
from botkit.venues.kit.rest import KeyPair

__all__ = ["CREATE_ROUTE", "AlphaPoRest"]

CREATE_ROUTE = "/withdrawal/crypto"


class AlphaPoRest:
    def __init__(
        self,
        base_url: str,
        api_key: str | Secret | None,
        api_secret: str | Secret | None,
        *,
        timeout_s: float = 10.0,
        api_prefix: str = DEFAULT_API_PREFIX,
    ) -> None:
        self.wire = Wire(
            VENUE, base_url, classify=classify_error, timeout_s=timeout_s, prefix=api_prefix
        )
        self.keys = KeyPair.of(api_key, api_secret)

    def create_request(self, body: str) -> PreparedRequest:
        """The signed create request carrying ``body`` (the exact text to send)."""
        if not self.keys.present:
            raise AuthError(VENUE, "no api_key/api_secret configured for this account")
        key, secret = self.keys.reveal(VENUE)
        return self.wire.prepare(
            "POST",
            CREATE_ROUTE,
            headers=sign_headers(key, secret, body),
            body=body,
            secret_headers=frozenset({KEY_HEADER, SIGNATURE_HEADER}),
            endpoint="create",
        )

    async def send(self, prepared: PreparedRequest) -> Any:
        return (await self.wire.send(prepared)).body

    async def close(self) -> None:
        await self.wire.close()
