"""One HTTP request of a withdrawal API, built once: shown in a dry run, then sent as is.

A client *prepares* a request (:class:`PreparedRequest`: method, URL, headers,
the exact body text, already signed) and the same object is either printed
(:meth:`PreparedRequest.shown`, with the secret headers masked) or sent
(:class:`Wire`), so what a dry run prints is byte for byte what a real run sends.
The HTTP client adds only ``Host``, ``Content-Length`` and ``User-Agent``.

:class:`Wire` sends on the venue kit's ``RestClient`` (one session, strict
decoding, typed errors from the venue's ``classify_error``); timeouts and
connection errors propagate as themselves: the outcome of a create is then
unknown, and the caller looks the withdrawal up before anything is resent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from botkit.redact import MASK
from botkit.venues.kit.rest import Classify, Reply, RestClient, api_base, query_params

__all__ = ["PreparedRequest", "Wire"]


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A request ready to send: ``route`` is appended to ``base_url`` as it is."""

    method: str
    base_url: str
    route: str
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    secret_headers: frozenset[str] = field(default=frozenset())
    endpoint: str = ""  # "create", "get", ...: what the request is for

    @property
    def url(self) -> str:
        query = f"?{urlencode(self.params)}" if self.params else ""
        return f"{self.base_url}{self.route}{query}"

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def shown(self) -> str:
        """The request as text: request line, headers (secret ones as ``***``), body."""
        secret = {h.lower() for h in self.secret_headers}
        lines = [f"{self.method} {self.url}"]
        lines += [f"{k}: {MASK if k.lower() in secret else v}" for k, v in self.headers]
        if self.body is not None:
            lines += ["", self.body]
        return "\n".join(lines)

    def json(self) -> Any:
        """The body decoded (for tests and callers that want its fields)."""
        return None if self.body is None else json.loads(self.body)


class Wire:
    """Sends prepared requests for one venue account; ``close()`` when done."""

    def __init__(
        self,
        venue: str,
        base_url: str,
        *,
        classify: Classify,
        timeout_s: float = 10.0,
        prefix: str = "",
        error_body: Callable[[object], bool] | None = None,
    ) -> None:
        self.base_url = api_base(base_url, prefix)
        self.http = RestClient(
            venue,
            self.base_url,
            classify=classify,
            timeout_s=timeout_s,
            error_body=error_body,
            exact=True,
        )

    def prepare(
        self,
        method: str,
        route: str,
        *,
        params: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        body: str | None = None,
        secret_headers: frozenset[str] = frozenset(),
        endpoint: str = "",
    ) -> PreparedRequest:
        """A request on this account's API root (``Accept: application/json`` first)."""
        all_headers = {"Accept": "application/json", **(headers or {})}
        return PreparedRequest(
            method,
            self.base_url,
            route,
            tuple(query_params(params).items()),
            tuple(all_headers.items()),
            body,
            secret_headers,
            endpoint,
        )

    async def send(self, prepared: PreparedRequest) -> Reply:
        if prepared.base_url != self.base_url:
            raise ValueError(f"{prepared.url} was not prepared for {self.base_url}")
        return await self.http.send(
            prepared.method,
            prepared.route,
            params=dict(prepared.params),
            data=prepared.body,
            headers=dict(prepared.headers),
        )

    async def close(self) -> None:
        await self.http.close()
