"""The viewer API's calls on the wire (document 003).

* ``GET /viewer/withdrawals`` (``page_token``, ``limit``, ``kind``,
  ``asset_symbol`` in the query; ``limit`` is typed string, and a query is text
  anyway), ``GET /viewer/withdrawals/{guid}``, ``POST /viewer/withdrawals``
  (a JSON body, every value a string as the table types them),
  ``POST /viewer/withdrawals/{guid}/cancel``.
* Every call carries the key (``auth``); the header is masked in a dry run.
* A reply with ``code`` other than 0 is an error (``parsing.is_error_body``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botkit.redact import Secret
from botkit.treasury.viewer.auth import auth_headers
from botkit.treasury.viewer.parsing import VENUE, classify_error, is_error_body
from botkit.treasury.wire import PreparedRequest, Wire
from botkit.venues.kit.errors import AuthError
from botkit.venues.kit.rest import Reply, path

__all__ = ["ROOT", "ViewerRest"]

ROOT = "/viewer/withdrawals"


class ViewerRest:
    def __init__(
        self,
        base_url: str,
        api_key: str | Secret | None,
        *,
        timeout_s: float = 10.0,
        api_prefix: str = "",
        auth_header: str = "Authorization",
        auth_scheme: str = "Bearer",
    ) -> None:
        self.wire = Wire(
            VENUE,
            base_url,
            classify=classify_error,
            timeout_s=timeout_s,
            prefix=api_prefix,
            error_body=is_error_body,
        )
        self.key = Secret(api_key) if api_key else None
        self.auth_header = auth_header
        self.auth_scheme = auth_scheme

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        if self.key is None:
            raise AuthError(VENUE, "no api_key configured for this account")
        return {
            **auth_headers(self.key.reveal(), self.auth_header, self.auth_scheme),
            **(extra or {}),
        }

    def request(
        self,
        method: str,
        route: str,
        *,
        params: Mapping[str, object] | None = None,
        body: str | None = None,
        endpoint: str = "",
    ) -> PreparedRequest:
        extra = {"Content-Type": "application/json"} if body is not None else None
        return self.wire.prepare(
            method,
            route,
            params=params,
            headers=self._headers(extra),
            body=body,
            secret_headers=frozenset({self.auth_header}),
            endpoint=endpoint,
        )

    def create_request(self, body: str) -> PreparedRequest:
        return self.request("POST", ROOT, body=body, endpoint="create")

    async def send(self, prepared: PreparedRequest) -> Reply:
        return await self.wire.send(prepared)

    async def list(self, params: Mapping[str, object]) -> Reply:
        return await self.send(self.request("GET", ROOT, params=params, endpoint="list"))

    async def get(self, guid: str) -> Reply:
        return await self.send(self.request("GET", ROOT + path(guid), endpoint="get"))

    async def cancel(self, guid: str) -> Any:
        route = ROOT + path(guid) + "/cancel"
        return (await self.send(self.request("POST", route, endpoint="cancel"))).body

    async def close(self) -> None:
        await self.wire.close()
