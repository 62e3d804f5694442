"""BlockTrade REST client: one aiohttp session, signed private calls, typed errors.

* The base URL may be a bare origin (``https://host``); the document's API
  prefix ``/api/v1`` is then appended (``api_prefix``). A base URL that already
  has a path is used as given.
* Private calls carry ``X-Api-Key``/``X-Nonce``/``X-Signature`` (``auth``); the
  body that is signed is the exact string sent. Query parameters are not part of
  the signature (the document signs ``KEY.NONCE[.BODY]`` only).
* Nonces come from a ``NonceSource`` (inject the journal's to persist them).
  The venue requires every nonce to exceed the previous one, so two requests in
  flight at once could arrive out of order and the later nonce would be refused.
  Private calls are therefore serialised by default (``serialize_private``): a
  nonce is drawn and the request completes before the next one is signed. A
  reply that refuses the nonce (401 whose message mentions it) means nothing was
  done, so such a call is re-signed with a fresh nonce (``nonce_retries``).
* Error replies become ``botkit.venues.kit.errors`` types via
  ``parsing.classify_error`` (a 5xx is always ambiguous, whatever its body; a
  non-JSON body, e.g. a proxy's HTML page, is classified by its status).
  Timeouts and connection errors propagate as ``asyncio.TimeoutError`` /
  ``aiohttp.ClientError``: the caller treats them as ambiguous.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from yarl import URL

from botkit.venues.blocktrade.auth import sign_headers
from botkit.venues.blocktrade.parsing import VENUE, classify_error
from botkit.venues.kit.errors import AuthError, ParseError, parse_retry_after
from botkit.venues.kit.nonce import ClockNonce, NonceSource, advance_past_refusal
from botkit.venues.kit.parsing import json_body

__all__ = ["DEFAULT_API_PREFIX", "BlockTradeRest", "path"]

log = logging.getLogger("botkit.venues.blocktrade.rest")

DEFAULT_API_PREFIX = "/api/v1"

Params = Mapping[str, str | int]
Signer = Callable[[str | None], dict[str, str]]


def path(*segments: object) -> str:
    """A URL path from segments, each percent-encoded (customer order ids are free text)."""
    return "".join("/" + quote(str(s), safe="") for s in segments)


def _decode(text: str) -> object:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


class BlockTradeRest:
    """Async BlockTrade REST client; ``open()`` before use, ``close()`` after."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        nonce: NonceSource | None = None,
        timeout_s: float = 10.0,
        api_prefix: str = DEFAULT_API_PREFIX,
        serialize_private: bool = True,
        nonce_retries: int = 2,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        base = base_url.rstrip("/")
        if urlsplit(base).path in ("", "/"):
            base += api_prefix
        self.base_url = base
        self.api_key = api_key
        self._secret = api_secret
        self.nonce = nonce if nonce is not None else ClockNonce()
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.nonce_retries = nonce_retries
        self._lock: asyncio.Lock | None = asyncio.Lock() if serialize_private else None
        self._session = session
        self._own_session = session is None

    @property
    def has_credentials(self) -> bool:
        return bool(self.api_key) and self._secret is not None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            raise RuntimeError("BlockTradeRest is not open")
        return self._session

    async def open(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
            self._own_session = True

    async def close(self) -> None:
        if self._own_session and self._session is not None and not self._session.closed:
            await self._session.close()

    # -- signing

    def _sign(self, body: str | None) -> dict[str, str]:
        if not self.has_credentials:
            raise AuthError(VENUE, "no API key/secret configured for a private call")
        assert self.api_key is not None and self._secret is not None
        return sign_headers(self.api_key, self._secret, self.nonce.next(), body)

    @asynccontextmanager
    async def private_slot(self) -> AsyncIterator[Signer]:
        """Sign one request (or websocket handshake) and finish it inside the slot.

        Keeps nonces arriving at the venue in the order they were drawn.
        """
        if self._lock is None:
            yield self._sign
            return
        async with self._lock:
            yield self._sign

    # -- requests

    async def get(self, route: str, params: Params | None = None) -> Any:
        """A public GET."""
        return await self._send("GET", route, params, None, None)

    async def private(
        self,
        method: str,
        route: str,
        *,
        params: Params | None = None,
        body: object = None,
    ) -> Any:
        """A signed call; ``body`` (a JSON-able object) is serialised once, signed and sent."""
        text = None if body is None else json_body(body)
        for attempt in range(self.nonce_retries + 1):
            async with self.private_slot() as sign:
                headers = sign(text)
                if text is not None:
                    headers["Content-Type"] = "application/json"
                try:
                    return await self._send(method, route, params, text, headers)
                except AuthError as err:
                    if "nonce" not in err.message.lower() or attempt >= self.nonce_retries:
                        raise
                    advance_past_refusal(self.nonce, err.message)
                    log.warning("nonce refused (%s); re-signing with a fresh one", err.message)
        raise AssertionError("unreachable")

    async def _send(
        self,
        method: str,
        route: str,
        params: Params | None,
        body: str | None,
        headers: dict[str, str] | None,
    ) -> Any:
        url = URL(self.base_url + route, encoded=True)
        query = {k: str(v) for k, v in (params or {}).items()}
        all_headers = {"Accept": "application/json", **(headers or {})}
        async with self.session.request(
            method,
            url,
            params=query or None,
            data=body.encode() if body is not None else None,
            headers=all_headers,
        ) as resp:
            text = await resp.text()
            status = resp.status
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        payload = _decode(text)
        if not 200 <= status < 300:
            raise classify_error(status, payload, retry_after=retry_after)
        if isinstance(payload, str):
            raise ParseError(VENUE, f"{method} {route}", "<root>", "the reply is not JSON")
        return payload
