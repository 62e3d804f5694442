"""BlockTrade REST calls on the kit's HTTP core: public GETs and signed private calls.

* The base URL may be a bare origin (``https://host``); the document's API
  prefix ``/api/v1`` is then appended (``api_prefix``). A base URL that already
  has a path is used as given.
* Private calls carry ``X-Api-Key``/``X-Nonce``/``X-Signature`` (``auth``); the
  body that is signed is the exact string sent. Query parameters are not part of
  the signature (the document signs ``KEY.NONCE[.BODY]`` only).
* Nonces come from a ``NonceSource`` (the journal's in live mode). The venue
  wants every nonce above the previous one, so private calls go one at a time,
  in nonce order, each holding its turn until its reply (``kit.rest.SignedCalls``);
  a reply refusing the nonce (a 401 that names it) means nothing was done, and
  the call is re-signed once past the nonce the venue quotes.
* Error replies become ``botkit.venues.kit.errors`` types via
  ``parsing.classify_error`` (a 5xx is always ambiguous, whatever its body; a
  body that is not JSON, e.g. a proxy's HTML page, is classified by its status).
  Timeouts and connection errors propagate as ``asyncio.TimeoutError`` /
  ``aiohttp.ClientError``: the caller treats them as ambiguous.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from botkit.redact import Secret
from botkit.venues.blocktrade.auth import sign_headers
from botkit.venues.blocktrade.options import DEFAULT_API_PREFIX
from botkit.venues.blocktrade.parsing import VENUE, classify_error
from botkit.venues.kit.errors import AuthError
from botkit.venues.kit.nonce import ClockNonce, NonceSource
from botkit.venues.kit.parsing import json_body
from botkit.venues.kit.rest import KeyPair, RestClient, SignedCalls, api_base, path

__all__ = ["DEFAULT_API_PREFIX", "BlockTradeRest", "path"]

Params = Mapping[str, object]
Signer = Callable[[str | None], dict[str, str]]


class BlockTradeRest:
    """BlockTrade's calls; ``open()`` before use (the first call does it too), ``close()`` after."""

    def __init__(
        self,
        base_url: str,
        api_key: str | Secret | None = None,
        api_secret: str | Secret | None = None,
        *,
        nonce: NonceSource | None = None,
        timeout_s: float = 10.0,
        api_prefix: str = DEFAULT_API_PREFIX,
        spacing_s: float = 0.0,
    ) -> None:
        self.http = RestClient(
            VENUE, api_base(base_url, api_prefix), classify=classify_error, timeout_s=timeout_s
        )
        self.signed = SignedCalls(
            VENUE, nonce if nonce is not None else ClockNonce(), interval_s=spacing_s
        )
        self.keys = KeyPair.of(api_key, api_secret)

    @property
    def base_url(self) -> str:
        return self.http.base_url

    @property
    def nonce(self) -> NonceSource:
        """The nonce source (the journal persists ``nonce.last``)."""
        return self.signed.nonce

    @property
    def has_credentials(self) -> bool:
        return self.keys.present

    @property
    def session(self) -> aiohttp.ClientSession:
        return self.http.session

    async def open(self) -> None:
        await self.http.open()

    async def close(self) -> None:
        await self.http.close()

    def _headers(self, nonce: int, body: str | None) -> dict[str, str]:
        key, secret = self.keys.reveal(VENUE)
        return sign_headers(key, secret, nonce, body)

    @asynccontextmanager
    async def private_slot(self) -> AsyncIterator[Signer]:
        """Sign one request that is not a REST call (the websocket handshake) in the
        private-call turn, so its nonce stays in order with theirs; finish it inside."""
        async with self.signed.turn() as draw:
            yield lambda body: self._headers(draw(), body)

    async def get(self, route: str, params: Params | None = None) -> Any:
        """A public GET; the decoded body."""
        return (await self.http.send("GET", route, params=params)).body

    async def private(
        self, method: str, route: str, *, params: Params | None = None, body: object = None
    ) -> Any:
        """A signed call; ``body`` (a JSON-able object) is serialised once, signed and sent."""
        text = None if body is None else json_body(body)
        if not self.has_credentials:
            raise AuthError(VENUE, "no API key/secret configured for a private call")

        async def attempt(nonce: int, sent: asyncio.Event) -> Any:
            headers = self._headers(nonce, text)
            if text is not None:
                headers["Content-Type"] = "application/json"
            reply = await self.http.send(
                method, route, params=params, data=text, headers=headers, sent=sent
            )
            return reply.body

        return await self.signed.call(attempt)
