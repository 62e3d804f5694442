"""ALP.COM REST client: one aiohttp session, authenticated private calls, typed errors.

* ``base_url`` is the venue's origin (``https://alp.com``); the document's
  ``/api/v1`` (or ``/api``, ``/api/v3``) at its end is dropped, since calls name
  their full path (``/api/v1/pairs/``, ``/api/v3/orders``, ``/api/charts/...``).
* Authentication by path (``auth`` has the schemes and their sources): v1 paths
  carry ``X-KEY``/``X-SIGN``/``X-NONCE``; v3 paths carry, per ``v3_auth``,
  the seed's ``api-key``/``api-secret`` headers (``"api-key"``) or the official
  JWT (``"jwt"``): a token from ``POST /api/v3/auth`` sent as ``Authorization:
  Bearer``, renewed ``jwt_renew_s`` before its ``exp`` (or at half its remaining
  life when that is shorter), and once more if a call is refused with 401 (the
  refused call did nothing, so it is sent again with the new token); every
  request with a body also carries ``X-SIGN`` over the body's exact bytes.
  Bodies: v1 as a form (the Python example's ``data=order``), v3 as JSON with
  Decimals as number literals or decimal strings (``numbers``); whatever is
  signed is exactly what is sent.
* The documented limit is 2 private calls a second per account. This client is
  the one place that sees every private call (one adapter operation can make
  several: a lookup before a cancel, two 30-day windows of trades, the token
  request), so it enforces the limit: calls leave one at a time, at least
  ``min_interval_s`` apart — the adapter sets 0.5 s × 1.1 = 0.55 s. A fixed
  interval rather than a sliding window of 2 per second, because it complies
  with every reading of "2 calls per second" (a rolling one-second window, a
  fixed one-second bucket, a minimum spacing) and the 10 % (50 ms) is room for
  network jitter between our clock and the venue's; a caller that already paces
  its calls at that interval is never delayed here.
* Nonces (v1) come from a ``NonceSource`` (inject the journal's, so a restart
  never goes backwards). The venue wants each nonce above the previous one, so a
  lock is held from drawing the nonce until the request is written — not while
  its answer is awaited — and requests leave in nonce order. A reply refusing
  the nonce means nothing was done, so that call is re-signed with a fresh nonce,
  at most ``nonce_retries`` times (after moving the source past the value the
  venue quotes, if it quotes one).
* Replies are decoded strictly (``decode_body``): JSON numbers as exact
  Decimals; a 2xx body that is not valid text in its charset, or JSON nested too
  deep, or holding a number no Decimal can hold, or ``NaN``, is a ``ParseError``
  naming the endpoint; a body that is not JSON at all is handed on as text (the
  endpoint's parser decides — a JWT may come as plain text). An error status, or
  a 2xx whose body says ``"success": false``, becomes a
  ``botkit.venues.kit.errors`` type through ``parsing.classify_error`` (a 5xx is
  always ambiguous). Timeouts and connection errors propagate as
  ``asyncio.TimeoutError`` / ``aiohttp.ClientError``: the caller treats them as
  ambiguous.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from botkit.redact import Secret
from botkit.venues.alp.auth import (
    Numbers,
    bearer_headers,
    encode_json,
    plain,
    sign_headers,
    v3_key_headers,
    x_sign,
)
from botkit.venues.alp.parsing import VENUE, Jwt, classify_error, is_error_body, parse_jwt
from botkit.venues.kit.errors import AuthError, InvalidRequest, ParseError, parse_retry_after
from botkit.venues.kit.nonce import ClockNonce, NonceSource, advance_past_refusal

__all__ = ["AUTH_PATH", "AlpRest", "Reply", "V3Auth", "decode_body"]

log = logging.getLogger("botkit.venues.alp.rest")

Params = Mapping[str, object]
V3Auth = Literal["api-key", "jwt"]

AUTH_PATH = "/api/v3/auth"
_API_SUFFIXES = ("/api/v1", "/api/v3", "/api")
_MAX_ERROR_TEXT = 2000


class Reply(NamedTuple):
    status: int
    body: Any  # decoded JSON (Decimals for numbers), the raw text, or None when empty


class _Unreadable(ValueError):
    """JSON that parses as text but cannot be turned into values (NaN, Infinity)."""


def _no_constant(name: str) -> object:
    raise _Unreadable(f"{name} is not a number")


def decode_body(raw: bytes, charset: str | None, status: int, endpoint: str) -> Any:
    """A reply body: decoded JSON, the text when it is not JSON, None when empty.

    For a 2xx reply, text that cannot be decoded in its charset and JSON that
    cannot be read (too deep, an out-of-range number, NaN) are a ``ParseError``;
    for an error status they are kept as text for the error's message.
    """
    if not raw.strip():
        return None
    ok = status < 400
    try:
        text = raw.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        if ok:
            detail = f"not valid {charset or 'utf-8'} text"
            raise ParseError(VENUE, endpoint, "<body>", detail) from None
        return raw.decode("utf-8", "replace")[:_MAX_ERROR_TEXT]
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except json.JSONDecodeError:
        return text if ok else text[:_MAX_ERROR_TEXT]
    except (ValueError, ArithmeticError, RecursionError) as err:
        if ok:
            detail = "nested too deep" if isinstance(err, RecursionError) else str(err)[:120]
            raise ParseError(VENUE, endpoint, "<body>", f"unreadable JSON: {detail}") from None
        return text[:_MAX_ERROR_TEXT]


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
        min_interval_s: float = 0.55,
        sign_query_params: bool = False,
        nonce_retries: int = 2,
        v3_auth: V3Auth = "api-key",
        jwt_renew_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if v3_auth not in ("api-key", "jwt"):
            raise ValueError(f"v3_auth must be 'api-key' or 'jwt', got {v3_auth!r}")
        self.base_url = _origin(base_url)
        self._key = _secret(api_key)
        self._secret = _secret(api_secret)
        self.nonce = nonce if nonce is not None else ClockNonce(unit="ms")
        self.timeout_s = timeout_s
        self.min_interval_s = min_interval_s
        self.sign_query_params = sign_query_params
        self.nonce_retries = nonce_retries
        self.v3_auth: V3Auth = v3_auth
        self.jwt_renew_s = jwt_renew_s
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._private_lock = asyncio.Lock()
        self._last_private = float("-inf")
        self._token_lock = asyncio.Lock()
        self._token: Jwt | None = None
        self._renew_at = 0.0
        self.private_calls = 0  # sent, for tests and health reports

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
        numbers: Numbers = "number",
        on_send: Callable[[], None] | None = None,
    ) -> Reply:
        """An authenticated call: ``params`` go in the query, ``body`` as JSON (or a form).

        ``on_send`` runs just before the request leaves (after waiting for its turn):
        a call cancelled before that point certainly did nothing at the venue.
        """
        key, secret = self._credentials()
        verb = method.upper()
        query = {k: _text(v) for k, v in (params or {}).items()}
        payload = dict(body or {})
        if form:
            payload = {k: _text(v) for k, v in payload.items()}
        try:
            data = None if verb == "GET" else (payload if form else encode_json(payload, numbers))
        except (TypeError, ValueError) as err:
            raise InvalidRequest(VENUE, f"cannot send {verb} {path}: {err}") from None
        scheme = self.v3_auth if path.startswith("/api/v3/") else "v1"
        signed: Params = query if verb == "GET" else payload
        attempt = 0
        renewed = False
        while True:
            token = await self._jwt() if scheme == "jwt" else None

            def headers(token: Jwt | None = token) -> dict[str, str]:
                if scheme == "v1":
                    out = sign_headers(
                        key,
                        secret,
                        self.nonce.next(),
                        method=verb,
                        params=signed,  # type: ignore[arg-type]
                        sign_query_params=self.sign_query_params,
                    )
                elif token is None:
                    out = v3_key_headers(key, secret)
                else:
                    out = bearer_headers(token.token)
                    if isinstance(data, str) and data:
                        out["X-SIGN"] = x_sign(secret, data)
                if data is not None and not form:
                    out["Content-Type"] = "application/json"
                return out

            try:
                return await self._turn(verb, path, query, data, headers, on_send)
            except AuthError as err:
                if (
                    scheme == "v1"
                    and attempt < self.nonce_retries
                    and "nonce" in err.message.lower()
                ):
                    attempt += 1
                    advance_past_refusal(self.nonce, err.message)
                    log.info("alp refused nonce (%s); re-signing", err.message)
                    continue
                if token is not None and not renewed:
                    # Expired early, revoked, or our clock is off: one new token, one retry.
                    renewed = True
                    self._drop_token(token)
                    log.info("alp refused the token (%s); requesting a new one", err.message)
                    continue
                raise

    def _credentials(self) -> tuple[str, str]:
        if self._key is None or self._secret is None:
            raise AuthError(VENUE, "no API key and secret configured for private calls")
        return self._key.reveal(), self._secret.reveal()

    async def _turn(
        self,
        verb: str,
        path: str,
        query: Params,
        data: str | dict[str, str] | None,
        headers: Callable[[], dict[str, str]],
        on_send: Callable[[], None] | None,
    ) -> Reply:
        """Wait for this call's turn, send it, await its answer.

        The lock is held from the headers (the nonce) until the request is on the
        wire, so requests leave in nonce order and spaced; not while waiting for the
        answer, so a slow reply does not hold up every other call.
        """
        async with self._private_lock:
            wait = self._last_private + self.min_interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                built = headers()
            except ValueError as err:  # a value that cannot be signed or sent as a header
                raise InvalidRequest(VENUE, f"cannot send {verb} {path}: {err}") from None
            self._last_private = time.monotonic()
            self.private_calls += 1
            if on_send is not None:
                on_send()
            written = asyncio.Event()
            task = asyncio.ensure_future(self._send(verb, path, query, data, built, written))
            waiter = asyncio.ensure_future(written.wait())
            try:
                await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            except BaseException:
                task.cancel()
                raise
            finally:
                waiter.cancel()
        return await task  # cancelling this call cancels the request too

    # ----- the JWT -----------------------------------------------------------------------

    async def _jwt(self) -> Jwt:
        """The current token, requested (through the same rate-limited turn) when due."""
        async with self._token_lock:
            now = self._clock()
            if self._token is not None and now < self._renew_at:
                return self._token
            key, secret = self._credentials()
            body = encode_json({"api_key": key, "api_secret": secret})

            def headers() -> dict[str, str]:
                # The official client signs every JSON request it sends, this one too.
                return {"Content-Type": "application/json", "X-SIGN": x_sign(secret, body)}

            reply = await self._turn("POST", AUTH_PATH, {}, body, headers, None)
            token = parse_jwt(reply.body, endpoint=f"POST {AUTH_PATH}")
            self._token = token
            self._renew_at = self._renewal(token, self._clock())
            return token

    def _renewal(self, token: Jwt, now: float) -> float:
        if token.expires_s is None:
            return math.inf  # no exp to go by: renewed when refused
        left = token.expires_s - now
        if left <= 0:
            log.warning(
                "alp: the new token's exp is %.0f s in the past by our clock (clock skew?); "
                "using it until it is refused",
                -left,
            )
            return math.inf
        return token.expires_s - min(self.jwt_renew_s, left / 2)

    def _drop_token(self, token: Jwt) -> None:
        if self._token is token:
            self._token = None

    # ----- the wire ------------------------------------------------------------------------

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
            raw = await resp.read()
            status = resp.status
            charset = resp.charset
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        body = decode_body(raw, charset, status, f"{method} {path}")
        if status >= 400:
            raise classify_error(status, body, retry_after=retry_after)
        if is_error_body(body):
            raise classify_error(status, body)
        return Reply(status, body)
