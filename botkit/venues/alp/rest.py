"""ALP.COM REST calls on the kit's HTTP core: public GETs and authenticated private calls.

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
  Decimals as number literals or decimal strings (the document's ``numbers``);
  whatever is signed is exactly what is sent.
* The documented limit is 2 private calls a second per account. This client is
  the one place that sees every private call (one adapter operation can make
  several: a lookup before a cancel, two 30-day windows of trades, the token
  request), so it owns the limit: every private call, whatever its scheme, takes
  its turn in one ``kit.rest.SignedCalls`` and leaves at least ``spacing_s``
  after the one before — the options' 0.5 s × (1 + ``rate_margin``) = 0.55 s.
  A fixed interval rather than a sliding window of 2 per second, because it
  complies with every reading of "2 calls per second" (a rolling one-second
  window, a fixed one-second bucket, a minimum spacing) and the 10 % (50 ms) is
  room for network jitter between our clock and the venue's; a caller that
  already paces its calls at that interval is never delayed here.
* Nonces (v1) come from a ``NonceSource`` (inject the journal's, so a restart
  never goes backwards). The venue wants each nonce above the previous one, so a
  turn is held from drawing the nonce until the request is written
  (``release="sent"``) — not while its answer is awaited — and requests leave in
  nonce order. A reply refusing the nonce means nothing was done, so that call
  is re-signed with a fresh nonce, at most ``NONCE_RETRIES`` times (after moving
  the source past the value the venue quotes, if it quotes one). v3 calls carry
  no nonce: they take their turn (``SignedCalls.spaced``) without drawing one.
* Replies are decoded by the kit (``RestClient``, ``exact=True``): JSON numbers
  as exact Decimals; a 2xx body that is not text in its charset, JSON nested too
  deep, a number no Decimal can hold, or ``NaN`` is an ``UnreadableReply``
  naming the endpoint. The token request alone takes a plain-text answer too
  (the document's Python client reads ``text/plain``). An error status, or a 2xx
  whose body says ``"success": false``, becomes a ``botkit.venues.kit.errors``
  type through ``parsing.classify_error`` (a 5xx is always ambiguous). Timeouts
  and connection errors propagate as ``asyncio.TimeoutError`` /
  ``aiohttp.ClientError`` (``kit.errors.AMBIGUOUS``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from botkit.venues.alp.auth import (
    bearer_headers,
    sign,
    signed_payload,
    v1_headers,
    v3_key_headers,
    x_sign,
)
from botkit.venues.alp.options import V3Auth
from botkit.venues.alp.parsing import VENUE, Jwt, classify_error, is_error_body, parse_jwt
from botkit.venues.kit.errors import AuthError, InvalidRequest
from botkit.venues.kit.nonce import ClockNonce, NonceSource
from botkit.venues.kit.parsing import check_header_value, json_body
from botkit.venues.kit.rest import (
    KeyPair,
    Reply,
    RestClient,
    SignedCalls,
    api_base,
    query_params,
)

__all__ = ["AUTH_PATH", "NONCE_RETRIES", "AlpRest", "origin"]

log = logging.getLogger("botkit.venues.alp.rest")

Params = Mapping[str, object]
Numbers = Literal["number", "string"]
OnSend = Callable[[], None] | None

AUTH_PATH = "/api/v3/auth"
NONCE_RETRIES = 2  # a venue far ahead may refuse once more after the jump it quotes
_API_SUFFIXES = ("/api/v1", "/api/v3", "/api")
_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class _Request:
    """One private request as it will be sent (its auth headers added per attempt)."""

    verb: str
    path: str
    query: Params
    data: str | dict[str, str] | None
    headers: Mapping[str, str]

    async def send(
        self,
        http: RestClient,
        sent: asyncio.Event,
        headers: Mapping[str, str] | None = None,
        *,
        text: bool = False,
    ) -> Reply:
        return await http.send(
            self.verb,
            self.path,
            params=self.query,
            data=self.data,
            headers=self.headers if headers is None else headers,
            sent=sent,
            text=text,
        )


def origin(base_url: str) -> str:
    """The venue's origin from a base URL that may end in one of the documents' API roots."""
    root = api_base(base_url)
    for suffix in _API_SUFFIXES:
        if root.endswith(suffix):
            return root[: -len(suffix)]
    return root


class AlpRest:
    """ALP.COM's calls; ``http`` is the one session, ``calls`` the private-call turns."""

    def __init__(
        self,
        base_url: str,
        keys: KeyPair | None = None,
        *,
        nonce: NonceSource | None = None,
        timeout_s: float = 10.0,
        spacing_s: float = 0.55,
        sign_query_params: bool = False,
        v3_auth: V3Auth = "api-key",
        numbers: Numbers = "number",
        jwt_renew_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if v3_auth not in ("api-key", "jwt"):
            raise ValueError(f"v3_auth must be 'api-key' or 'jwt', got {v3_auth!r}")
        self.http = RestClient(
            VENUE,
            origin(base_url),
            classify=classify_error,
            timeout_s=timeout_s,
            error_body=is_error_body,
            exact=True,
        )
        self.calls = SignedCalls(
            VENUE,
            nonce if nonce is not None else ClockNonce(unit="ms"),
            interval_s=spacing_s,
            release="sent",
            retries=NONCE_RETRIES,
        )
        self.keys = keys or KeyPair(None, None)  # public calls need none
        self.sign_query_params = sign_query_params
        self.v3_auth: V3Auth = v3_auth
        self.numbers: Numbers = numbers
        self.jwt_renew_s = jwt_renew_s
        self._clock = clock
        self._token_lock = asyncio.Lock()
        self._token: Jwt | None = None
        self._renew_at = 0.0
        self.private_calls = 0  # sent, for tests and health reports

    @property
    def token(self) -> Jwt | None:
        """The JWT in use (official reading), None before the first private call."""
        return self._token

    async def close(self) -> None:
        await self.http.close()

    # ----- calls -------------------------------------------------------------------------

    async def public(self, path: str, params: Params | None = None) -> Reply:
        """A public GET."""
        return await self.http.send("GET", path, params=params)

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
        """An authenticated call: ``params`` go in the query, ``body`` as JSON (or a form).

        ``on_send`` runs just before the request leaves (after waiting for its turn):
        a call cancelled before that point certainly did nothing at the venue. A
        value that cannot be sent or signed is an ``InvalidRequest``, raised before
        anything leaves.
        """
        key, secret = self.keys.reveal(VENUE)
        verb = method.upper()
        query = query_params(params)
        scheme = self.v3_auth if path.startswith("/api/v3/") else "v1"
        data: str | dict[str, str] | None
        try:
            if verb == "GET":
                data, signed = None, dict(query)
            elif form:
                data = query_params(body)
                signed = dict(data)
            else:
                data, signed = json_body(body or {}, decimals=self.numbers), dict(body or {})
            headers = {} if isinstance(data, dict) or data is None else dict(_JSON)
            if scheme == "v1":
                payload = signed_payload(verb, signed, sign_query_params=self.sign_query_params)
                signature = sign(key, secret, payload)
                check_header_value("api_key", key)  # now, not in the call's turn
            elif scheme == "api-key":
                headers |= v3_key_headers(key, secret)
            elif isinstance(data, str):
                headers["X-SIGN"] = x_sign(secret, data)
        except (TypeError, ValueError) as err:
            raise InvalidRequest(VENUE, f"cannot send {verb} {path}: {err}") from None
        request = _Request(verb, path, query, data, headers)
        if scheme == "v1":
            return await self._signed(request, key, signature, on_send)
        if scheme == "api-key":
            return await self._spaced(request, on_send)
        return await self._with_token(request, on_send)

    def _sending(self, on_send: Callable[[], None] | None) -> Callable[[], None]:
        def sending() -> None:
            self.private_calls += 1
            if on_send is not None:
                on_send()

        return sending

    async def _signed(self, request: _Request, key: str, signature: str, on_send: OnSend) -> Reply:
        """A v1 call: its turn, and a fresh nonce each time it is sent (the nonce is
        not part of the signature)."""

        async def attempt(nonce: int, sent: asyncio.Event) -> Reply:
            headers = {**request.headers, **v1_headers(key, signature, nonce)}
            return await request.send(self.http, sent, headers)

        return await self.calls.call(attempt, on_send=self._sending(on_send))

    async def _spaced(self, request: _Request, on_send: OnSend, *, text: bool = False) -> Reply:
        """A call without a nonce, in its turn among the private calls."""

        async def attempt(sent: asyncio.Event) -> Reply:
            return await request.send(self.http, sent, text=text)

        return await self.calls.spaced(attempt, on_send=self._sending(on_send))

    async def _with_token(self, request: _Request, on_send: OnSend) -> Reply:
        """A call with the JWT; a 401 to it renews the token once and sends it again."""
        renewed = False
        while True:
            token = await self._jwt()
            bearer = dataclasses.replace(
                request, headers={**request.headers, **bearer_headers(token.token)}
            )
            try:
                return await self._spaced(bearer, on_send)
            except AuthError as err:
                if renewed:
                    raise
                # Expired early, revoked, or our clock is off: one new token, one retry.
                renewed = True
                self._drop_token(token)
                log.info("alp refused the token (%s); requesting a new one", err.message)

    # ----- the JWT -----------------------------------------------------------------------

    async def _jwt(self) -> Jwt:
        """The current token, requested (in its turn among the private calls) when due."""
        async with self._token_lock:
            now = self._clock()
            if self._token is not None and now < self._renew_at:
                return self._token
            key, secret = self.keys.reveal(VENUE)
            body = json_body({"api_key": key, "api_secret": secret})
            try:
                # The official client signs every JSON request it sends, this one too.
                headers = {**_JSON, "X-SIGN": x_sign(secret, body)}
            except ValueError as err:
                raise InvalidRequest(VENUE, f"cannot send POST {AUTH_PATH}: {err}") from None
            request = _Request("POST", AUTH_PATH, {}, body, headers)
            reply = await self._spaced(request, None, text=True)
            token = reply.read(parse_jwt)
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
