"""The HTTP side every adapter shares: one session, safe decoding, typed errors, and
the discipline of nonce-signed private calls.

:class:`RestClient` — what a venue supplies: its name, its API base URL
(``api_base(url, prefix)``), its request timeout, and its ``classify``
function (``classify(status, body, *, retry_after=...) -> VenueError``, the
venue's ``parsing.classify_error``); optionally ``error_body(body) -> bool`` for
venues that report errors inside a 2xx reply (``{"success": false}``), and
``exact=True`` to read JSON numbers with a fraction as Decimal. It gives:

* ``send(method, route, params=..., data=..., headers=...) -> Reply``: one
  request. ``route`` is appended to the base URL as it is (build it with
  :func:`path`, which percent-encodes each segment); ``params`` become the query
  string (:func:`query_params`); ``data`` is the body exactly as it will be
  signed (a string), or a form (a mapping).
* Every reply body is decoded by ``parsing.decode_json``: an unknown charset,
  invalid UTF-8, a number out of range or nesting hundreds deep is never an
  exception of its own. An error status becomes ``classify(status, body,
  retry_after=...)`` (a body that cannot be read is classified by its status
  alone: a proxy's HTML page behind a 502 is still a 502); a 2xx body that
  cannot be read is an ``UnreadableReply`` (ambiguous: the call may have acted).
* Timeouts and connection errors propagate as themselves (``errors.AMBIGUOUS``).
* ``Reply.read(parse, *args)``: the body parsed, a ``ParseError`` turned into
  an ``UnreadableReply`` naming the endpoint. ``Reply.headers``: the reply's
  headers (case-insensitive), for venues that say something there (a total
  count of a paged list).
* ``close(final=True)``: closed for good; a later call raises ``VenueError``
  rather than opening a session nobody would close (for an adapter whose
  background polls may outlive its ``close()``).

:class:`KeyPair` — the API key and secret of private calls, kept as ``Secret``
until a request is signed; without them a private call is an ``AuthError``.

:class:`SignedCalls` — for venues that sign private calls with a strictly
increasing nonce (the HMAC venues). What a venue supplies: the adapter's
``NonceSource`` (the journal's in live mode) and its documented spacing; per
call, a coroutine function ``attempt(nonce, sent) -> T`` that signs with
``nonce`` and sends (passing ``sent`` on to ``RestClient.send``). It gives:

* one call at a time, in nonce order: a nonce is drawn only when the call's
  turn comes, and the next turn starts when the call has its reply (or, with
  ``release="sent"``, once its request is on the wire) — two calls in flight
  could otherwise reach the venue in the other order, and the later nonce
  would be refused;
* private calls spaced at least ``interval_s`` apart;
* a call refused for its nonce (nothing was done) re-signed once with a fresh
  nonce, after skipping past the last nonce the venue reports having seen
  (``nonce.advance_past_refusal``): another process on the key, or a restart
  without the journal, can put the venue far ahead of this process's clock;
* ``spaced(attempt)`` for a private call that carries no nonce (a venue with
  another auth scheme on some paths) but counts against the same limit: it
  takes its turn and its spacing like the others, and draws no nonce.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import KW_ONLY, dataclass, field
from decimal import Decimal
from types import MappingProxyType, SimpleNamespace
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp
from yarl import URL

from botkit import latency
from botkit.redact import Secret
from botkit.venues.kit.errors import (
    AuthError,
    ParseError,
    UnreadableReply,
    VenueError,
    parse_retry_after,
)
from botkit.venues.kit.nonce import NonceSource, advance_past_refusal
from botkit.venues.kit.parsing import decode_json

__all__ = [
    "Classify",
    "KeyPair",
    "Reply",
    "RestClient",
    "SignedCalls",
    "api_base",
    "is_nonce_refusal",
    "path",
    "query_params",
]

T = TypeVar("T")

log = logging.getLogger("botkit.venues.kit.rest")


class Classify(Protocol):
    """A venue's ``classify_error``: an error reply -> its typed ``VenueError``."""

    def __call__(
        self, http_status: int | None, body: object, *, retry_after: float | None = None
    ) -> VenueError: ...


@dataclass(frozen=True, slots=True)
class Reply:
    """A 2xx reply: its status, the decoded body (None when empty), what was asked,
    and the reply's headers (looked up case-insensitively)."""

    status: int
    body: Any
    endpoint: str  # "GET /orders": for error messages and skip counts
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def read(self, parse: Callable[..., T], *args: object) -> T:
        """``parse(body, *args)``; a shape it cannot read is an ``UnreadableReply``
        naming this endpoint (ambiguous: the call may have acted all the same)."""
        try:
            return parse(self.body, *args)
        except ParseError as err:
            raise UnreadableReply.of(err, endpoint=self.endpoint, status=self.status) from err


@dataclass(frozen=True, slots=True, repr=False)
class KeyPair:
    """A venue's API key and secret for private calls, each kept as a ``Secret``.

    ``present`` says whether both were given (an empty one is none); ``reveal``
    hands them out where a request is signed, and without them is the
    ``AuthError`` a private call without credentials is.
    """

    key: Secret | None
    secret: Secret | None

    @classmethod
    def of(cls, key: str | Secret | None, secret: str | Secret | None) -> KeyPair:
        return cls(Secret(key) if key else None, Secret(secret) if secret else None)

    @property
    def present(self) -> bool:
        return self.key is not None and self.secret is not None

    def reveal(self, venue: str) -> tuple[str, str]:
        if self.key is None or self.secret is None:
            raise AuthError(venue, "no API key and secret configured for private calls")
        return self.key.reveal(), self.secret.reveal()

    def __repr__(self) -> str:
        return f"KeyPair(present={self.present})"


def path(*segments: object) -> str:
    """A route from segments, each percent-encoded (ids may be free text)."""
    return "".join("/" + quote(str(s), safe="") for s in segments)


def _query_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")  # never "1E-8"
    return str(value)


def query_params(params: Mapping[str, object] | None) -> dict[str, str]:
    """Query values as text: None dropped, booleans as true/false, Decimals plain."""
    return {k: _query_value(v) for k, v in (params or {}).items() if v is not None}


def api_base(base_url: str, prefix: str = "") -> str:
    """The API root: ``base_url`` without a trailing slash, plus ``prefix`` when the
    URL is a bare origin (``https://host`` -> ``https://host/api/v1``); a URL that
    already has a path is taken as the API root itself."""
    text = base_url.strip() if isinstance(base_url, str) else ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
    root = parts.path.rstrip("/")
    if not root:
        root = prefix.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, root, "", ""))


async def _headers_sent(
    session: aiohttp.ClientSession, ctx: SimpleNamespace, params: object
) -> None:
    """aiohttp trace hook: the request is on the wire (its headers; the body follows)."""
    if latency.probe is not None:
        latency.written()
    event = ctx.trace_request_ctx
    if isinstance(event, asyncio.Event):
        event.set()


class RestClient:
    """One aiohttp session for one adapter; ``open()`` before use (``send`` does it too)."""

    def __init__(
        self,
        venue: str,
        base_url: str,
        *,
        classify: Classify,
        timeout_s: float = 10.0,
        error_body: Callable[[object], bool] | None = None,
        exact: bool = False,
    ) -> None:
        self.venue = venue
        self.base_url = base_url.rstrip("/")
        self.classify = classify
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.error_body = error_body
        self.exact = exact
        self._session: aiohttp.ClientSession | None = None
        self._final = False

    @property
    def session(self) -> aiohttp.ClientSession:
        """The open session (websockets share it)."""
        if self._session is None or self._session.closed:
            raise RuntimeError(f"{self.venue}: the HTTP session is not open")
        return self._session

    @property
    def is_open(self) -> bool:
        return self._session is not None and not self._session.closed

    async def open(self) -> None:
        if self._final:
            raise VenueError(self.venue, "the HTTP client is closed")
        if not self.is_open:
            trace = aiohttp.TraceConfig()
            trace.on_request_headers_sent.append(_headers_sent)
            # No cookie jar: the venues' APIs authenticate by signature or token, never
            # by cookie, and a real jar's matching of every request's URL against its
            # cookies is a few µs on the path to an order's send.
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, trace_configs=[trace], cookie_jar=aiohttp.DummyCookieJar()
            )

    async def close(self, *, final: bool = False) -> None:
        """Close the session; with ``final``, for good (``open``/``send`` then raise)."""
        self._final = self._final or final
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def send(
        self,
        method: str,
        route: str,
        *,
        params: Mapping[str, object] | None = None,
        data: str | Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        sent: asyncio.Event | None = None,
        text: bool = False,
    ) -> Reply:
        """One request; the decoded 2xx reply, or the venue's typed error.

        ``text=True`` is for an endpoint that may answer ``text/plain``: a 2xx body
        that is not JSON is then handed on as its text (if it is text at all in
        its charset), for the endpoint's parser to judge.
        """
        await self.open()
        endpoint = f"{method} {route.split('?', 1)[0]}"
        body = data.encode() if isinstance(data, str) else data
        async with self.session.request(
            method,
            URL(self.base_url + route, encoded=True),
            params=query_params(params) or None,
            data=body,
            headers={"Accept": "application/json", **(headers or {})},
            trace_request_ctx=sent,
        ) as resp:
            raw = await resp.read()
            status = resp.status
            charset = resp.charset
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            headers = resp.headers
        ok = 200 <= status < 300
        try:
            payload = decode_json(raw, self.venue, endpoint, charset=charset, exact=self.exact)
        except ParseError as err:
            if not ok:
                payload = _as_text(raw, charset)  # a proxy's HTML page: classified by status
            elif text and (payload := _as_text(raw, charset, limit=None)) is not None:
                pass  # a text/plain answer, whole, for the endpoint's parser
            else:
                raise UnreadableReply.of(err, endpoint=endpoint, status=status) from None
        if not ok or (self.error_body is not None and self.error_body(payload)):
            raise self.classify(status, payload, retry_after=retry_after)
        return Reply(status, payload, endpoint, headers)


def _as_text(raw: bytes, charset: str | None, limit: int | None = 500) -> str | None:
    """A body that is not JSON, as text (None if not text): an error body cut to
    ``limit`` for the message, or a plain-text answer whole (``limit=None``)."""
    try:
        text = raw.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return None
    return text.strip()[:limit] or None


def is_nonce_refusal(err: VenueError) -> bool:
    """The common shape of a refused nonce: an authentication error that names it."""
    return isinstance(err, AuthError) and "nonce" in err.message.lower()


class _Sent(asyncio.Event):
    """Set when a request is on the wire (``_headers_sent``), remembering when: the
    venue counts its rate limit from arrivals, so the spacing runs from the write,
    not from when the turn began (a slow build under load would eat the margin)."""

    at: float | None = None

    def set(self) -> None:
        if self.at is None:
            self.at = time.monotonic()
        super().set()


@dataclass(eq=False)
class SignedCalls:
    """Private calls in nonce order, spaced, and re-signed once after a nonce refusal.

    ``interval_s`` is the spacing to keep (``VenueOptions.spacing_s``: the
    documented interval plus the margin). ``release`` says when the next call
    may draw its nonce: when this one has its reply (``"reply"``, the safe
    default), or as soon as its request is written (``"sent"``: more calls in
    flight, for venues with a tight rate budget). ``retries`` re-signs after a
    refusal that ``is_refusal`` recognises.
    """

    venue: str
    nonce: NonceSource
    _: KW_ONLY
    interval_s: float = 0.0
    release: Literal["reply", "sent"] = "reply"
    retries: int = 1
    is_refusal: Callable[[VenueError], bool] = is_nonce_refusal
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)
    # When the last call left: its request written, or its turn began if not (yet).
    _last: float = field(default=float("-inf"), init=False, repr=False)

    def __post_init__(self) -> None:
        if self.release not in ("reply", "sent"):
            raise ValueError(f"release must be 'reply' or 'sent', got {self.release!r}")

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[Callable[[], int]]:
        """Hold the private-call turn (spaced after the previous one); yields a function
        that draws the nonce. Use it for anything signed that is not a REST call (a
        websocket handshake), and finish the signed request inside the block."""
        async with self._lock:
            wait = self._last + self.interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last = time.monotonic()
            yield self.nonce.next

    async def call(
        self,
        attempt: Callable[[int, asyncio.Event], Awaitable[T]],
        *,
        on_send: Callable[[], None] | None = None,
    ) -> T:
        """Run ``attempt(nonce, sent)`` in its turn; see the class notes.

        ``on_send`` runs when the turn has come, just before the request leaves:
        a call cancelled before that point certainly did nothing at the venue.
        """
        refusals = 0
        while True:
            try:
                return await self._run(lambda draw, sent: attempt(draw(), sent), on_send)
            except VenueError as err:
                if refusals >= self.retries or not self.is_refusal(err):
                    raise
                refusals += 1
                advance_past_refusal(self.nonce, err.message)
                log.warning("%s refused a nonce (%s); re-signing", self.venue, err.message)

    async def spaced(
        self,
        attempt: Callable[[asyncio.Event], Awaitable[T]],
        *,
        on_send: Callable[[], None] | None = None,
    ) -> T:
        """Run ``attempt(sent)``, a private call that carries no nonce, in its turn.

        For venues whose other private calls authenticate another way (a token, a
        key header) but count against the same per-account limit: the call keeps
        its place in the order and the spacing of the signed ones, and no nonce
        is drawn for it. ``on_send`` as for :meth:`call`; nothing is re-sent.
        """
        return await self._run(lambda _draw, sent: attempt(sent), on_send)

    async def _run(
        self,
        begin: Callable[[Callable[[], int], asyncio.Event], Awaitable[T]],
        on_send: Callable[[], None] | None,
    ) -> T:
        """``begin(draw, sent)`` in its turn; its outcome. Cancelling the caller cancels
        the request too."""
        if self.release == "reply":
            # The turn is held until the reply anyway: the request runs in the caller's
            # task, rather than in a new one the caller waits for (a pass through the
            # event loop, tens of µs, before the request is written).
            async with self.turn() as draw:
                if on_send is not None:
                    on_send()
                sent = _Sent()
                try:
                    return await begin(draw, sent)
                finally:
                    self._written(sent)
        task = await self._start(begin, on_send)
        return await task

    def _written(self, sent: _Sent) -> None:
        if sent.at is not None and sent.at > self._last:
            self._last = sent.at

    async def _start(
        self,
        begin: Callable[[Callable[[], int], asyncio.Event], Awaitable[T]],
        on_send: Callable[[], None] | None,
    ) -> asyncio.Future[T]:
        """Wait for the turn, start ``begin(draw, sent)``, hold the turn until its request
        is written (``release="sent"``); the request's task, for the caller to await."""
        async with self.turn() as draw:
            if on_send is not None:
                on_send()
            sent = _Sent()
            task = asyncio.ensure_future(begin(draw, sent))
            await _hold(task, sent)
            self._written(sent)
        return task


async def _hold(task: asyncio.Future[Any], sent: asyncio.Event | None) -> None:
    """Wait until ``task`` is done, or (given ``sent``) its request is written.

    The task is not awaited here (its outcome is the caller's); a cancelled wait
    cancels it, so nothing is left running for nobody.
    """
    waiter = asyncio.ensure_future(sent.wait()) if sent is not None else None
    try:
        await asyncio.wait(
            {task} if waiter is None else {task, waiter}, return_when=asyncio.FIRST_COMPLETED
        )
    except BaseException:
        task.cancel()
        raise
    finally:
        if waiter is not None:
            waiter.cancel()
