"""ALP.COM REST client: one aiohttp session, signed private calls, typed errors.

* ``base_url`` is the venue's origin (``https://alp.com``); the document's
  ``/api/v1`` (or ``/api``, ``/api/v3``) at its end is dropped, since calls name
  their full path (``/api/v1/pairs/``, ``/api/v3/orders``, ``/api/charts/...``).
* Private calls carry ``X-KEY``/``X-SIGN``/``X-NONCE`` (``auth``). POST/DELETE
  sign their body's fields; GET signs ``{}`` as the document's examples do
  (``sign_query_params=True`` signs the query instead). v1 bodies go as a form
  (the Python example's ``data=order``), v3 bodies as JSON with Decimals as
  number literals of their exact digits (the examples' ``"limit_price":
  25750.45``); whatever is signed is exactly what is sent.
* Nonces come from a ``NonceSource`` (inject the journal's, so a restart never
  goes backwards). The venue wants each nonce above the previous one, so two
  requests in flight could arrive out of order and the later one be refused:
  private calls leave one at a time, in nonce order (a lock is held from drawing
  the nonce until the request is written, not while its answer is awaited), and
  spaced ``min_interval_s`` apart (the documented 2 calls a second per account;
  0 turns it off). A reply
  refusing the nonce means nothing was done, so that call is re-signed with a
  fresh nonce, at most ``nonce_retries`` times (after moving the source past
  the value the venue quotes, if it quotes one).
* Replies are decoded with exact Decimals for JSON numbers. An error status, or a
  2xx whose body says ``"success": false``, becomes a ``botkit.venues.kit.errors``
  type through ``parsing.classify_error`` (a 5xx is always ambiguous). Timeouts
  and connection errors propagate as ``asyncio.TimeoutError`` /
  ``aiohttp.ClientError``: the caller treats them as ambiguous.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from botkit.redact import Secret
from botkit.venues.alp.auth import encode_json, plain, sign_headers
from botkit.venues.alp.parsing import VENUE, classify_error, is_error_body
from botkit.venues.kit.errors import AuthError, parse_retry_after
from botkit.venues.kit.nonce import ClockNonce, NonceSource, advance_past_refusal

__all__ = ["AlpRest", "Reply"]

log = logging.getLogger("botkit.venues.alp.rest")

Params = Mapping[str, object]

_API_SUFFIXES = ("/api/v1", "/api/v3", "/api")


class Reply(NamedTuple):
    status: int
    body: Any  # decoded JSON (Decimals for numbers), the raw text, or None when empty


def _origin(base_url: str) -> str:
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
    path = parts.path.rstrip("/")
    for suffix in _API_SUFFIXES:
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _decode(text: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text, parse_float=Decimal)
    except ValueError:
        return text


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return plain(value)
    return str(value)


async def _written(session: aiohttp.ClientSession, ctx: SimpleNamespace, params: object) -> None:
    """aiohttp trace hook: the request went out (its headers; any small body follows)."""
    event = ctx.trace_request_ctx
    if isinstance(event, asyncio.Event):
        event.set()


def _secret(value: str | Secret | None) -> Secret | None:
    return None if value is None else Secret(value)


class AlpRest:
    """Async ALP.COM REST client; ``open()`` before use (or let the first call do it)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | Secret | None = None,
        api_secret: str | Secret | None = None,
        *,
        nonce: NonceSource | None = None,
        timeout_s: float = 10.0,
        min_interval_s: float = 0.5,
        sign_query_params: bool = False,
        nonce_retries: int = 2,
    ) -> None:
        self.base_url = _origin(base_url)
        self._key = _secret(api_key)
        self._secret = _secret(api_secret)
        self.nonce = nonce if nonce is not None else ClockNonce(unit="ms")
        self.timeout_s = timeout_s
        self.min_interval_s = min_interval_s
        self.sign_query_params = sign_query_params
        self.nonce_retries = nonce_retries
        self._session: aiohttp.ClientSession | None = None
        self._private_lock = asyncio.Lock()
        self._last_private = float("-inf")

    @property
    def has_credentials(self) -> bool:
        return bool(self._key) and bool(self._secret)

    async def open(self) -> None:
        if self._session is None or self._session.closed:
            trace = aiohttp.TraceConfig()
            trace.on_request_headers_sent.append(_written)
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s), trace_configs=[trace]
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ----- calls -------------------------------------------------------------------------

    async def public(self, path: str, params: Params | None = None) -> Any:
        """A public GET; the decoded body."""
        reply = await self._send("GET", path, params, None, {})
        return reply.body

    async def private(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Params | None = None,
        form: bool = False,
        on_send: Callable[[], None] | None = None,
    ) -> Reply:
        """A signed call: ``params`` go in the query, ``body`` as JSON (or a form).

        ``on_send`` runs just before the request leaves (after waiting for its turn):
        a call cancelled before that point certainly did nothing at the venue.
        """
        if self._key is None or self._secret is None:
            raise AuthError(VENUE, "no API key and secret configured for private calls")
        verb = method.upper()
        query = {k: _text(v) for k, v in (params or {}).items()}
        payload = dict(body or {})
        if form:
            payload = {k: _text(v) for k, v in payload.items()}
        data = None if verb == "GET" else (payload if form else encode_json(payload))
        signed: Params = query if verb == "GET" else payload
        attempt = 0
        while True:
            async with self._private_lock:
                # Held from drawing the nonce until the request is on the wire, so
                # requests leave in nonce order; not while waiting for the answer, so a
                # slow reply does not hold up every other call.
                wait = self._last_private + self.min_interval_s - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                headers = sign_headers(
                    self._key.reveal(),
                    self._secret.reveal(),
                    self.nonce.next(),
                    method=verb,
                    params=signed,  # type: ignore[arg-type]
                    sign_query_params=self.sign_query_params,
                )
                if data is not None and not form:
                    headers["Content-Type"] = "application/json"
                self._last_private = time.monotonic()
                if on_send is not None:
                    on_send()
                written = asyncio.Event()
                task = asyncio.ensure_future(
                    self._send(verb, path, query, data, headers, written=written)
                )
                waiter = asyncio.ensure_future(written.wait())
                try:
                    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
                except BaseException:
                    task.cancel()
                    raise
                finally:
                    waiter.cancel()
            try:
                return await task  # cancelling this call cancels the request too
            except AuthError as err:
                if attempt >= self.nonce_retries or "nonce" not in err.message.lower():
                    raise
                attempt += 1
                advance_past_refusal(self.nonce, err.message)
                log.info("alp refused nonce (%s); re-signing", err.message)

    async def _send(
        self,
        method: str,
        path: str,
        params: Params | None,
        data: str | dict[str, str] | None,
        headers: dict[str, str],
        written: asyncio.Event | None = None,
    ) -> Reply:
        await self.open()
        assert self._session is not None
        query = {k: _text(v) for k, v in (params or {}).items()}
        async with self._session.request(
            method,
            self.base_url + path,
            params=query or None,
            data=data,
            headers=headers,
            trace_request_ctx=written,
        ) as resp:
            text = await resp.text()
            status = resp.status
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        body = _decode(text)
        if status >= 400:
            raise classify_error(status, body, retry_after=retry_after)
        if is_error_body(body):
            raise classify_error(status, body)
        return Reply(status, body)
