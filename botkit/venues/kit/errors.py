"""Typed venue errors, and the classification of a venue's error replies into them.

The execution router acts on the *type* of an error, never on its text:

=====================  ==========  =========  ==========================================
class                  retryable   ambiguous  what the router does with a failed place
=====================  ==========  =========  ==========================================
``InvalidRequest``     no          no         REJECTED at once (a definite refusal)
``OrderRejected``      no          no         REJECTED, with the venue's reason
``InsufficientFunds``  no          no         REJECTED (an ``OrderRejected``)
``AuthError``          no          no         REJECTED; the credentials need a human
``NotFound``           no          no         REJECTED (e.g. unknown trading pair)
``RateLimited``        yes         no         not placed; retry after ``retry_after``
``Conflict``           no          yes        UNKNOWN: look the client id up first
``VenueUnavailable``   yes         yes        UNKNOWN until reconciliation settles it
``VenueError`` (base)  no          yes        UNKNOWN (an error we could not classify)
=====================  ==========  =========  ==========================================

``ambiguous`` means the reply does not tell whether a state-changing request took
effect. A 409 is counted as ambiguous because, for a place, the likeliest clash is
a ``customer_order_id`` that already exists from an earlier attempt: the order may
well be live, so it must be looked up, not written off.

``classify(venue, http_status, body, rules)`` turns an HTTP status and a decoded
error body into one of these. Each venue's ``parsing`` module owns its
``ErrorRules`` (its code table and message patterns) and wraps ``classify``.
The order of precedence is:

1. A 5xx (and 408) is always ``VenueUnavailable``, whatever the body says, so a
   body can never turn an ambiguous outcome into a definite refusal.
2. The venue's error-code table, then its message patterns (case-insensitive
   substrings), refine a 4xx — or an error body delivered with a 2xx or over a
   websocket (``http_status=None``).
3. Otherwise the HTTP status decides; an unknown 4xx is an ``InvalidRequest``
   (the request was refused as sent), and no status at all is the ambiguous base
   ``VenueError``.

Parsing failures are a different thing: ``ParseError`` (a ``ValueError``) says a
payload did not have the shape we expected, and names the venue, the payload
kind, the field and (once the adapter knows it) the endpoint. A reply that a
state-changing call got back and could not read is an ``UnreadableReply``: both
a ``ParseError`` and an ambiguous ``VenueError``, since the call may well have
taken effect.

``AMBIGUOUS`` is the one tuple of transport exceptions (timeouts, connection
resets) that leave a request's outcome unknown, like an ambiguous
``VenueError``; ``is_ambiguous`` asks both questions at once.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import aiohttp

__all__ = [
    "AMBIGUOUS",
    "DEFAULT_RULES",
    "AuthError",
    "Conflict",
    "ErrorRules",
    "InsufficientFunds",
    "InvalidRequest",
    "NotFound",
    "OrderRejected",
    "ParseError",
    "RateLimited",
    "UnreadableReply",
    "VenueError",
    "VenueUnavailable",
    "classify",
    "error_fields",
    "is_ambiguous",
    "parse_retry_after",
]

# Transport failures after which a request may or may not have reached the venue:
# the caller treats them like an ambiguous VenueError (look the order up, never
# resend blindly). ``asyncio.TimeoutError`` is the builtin ``TimeoutError``.
AMBIGUOUS: tuple[type[BaseException], ...] = (
    asyncio.TimeoutError,
    aiohttp.ClientError,
    ConnectionError,
)


class ParseError(ValueError):
    """A venue payload did not have the expected shape.

    ``field`` is a path into the payload such as ``data[2].price`` (``<root>`` for
    the payload itself); ``kind`` names the payload (``user_trade``); ``endpoint``
    the call or channel it came from (``GET /user_trades``), when known — the
    pure parsers do not know it, the adapter adds it with :meth:`at`.
    """

    def __init__(
        self, venue: str, kind: str, field: str, detail: str, *, endpoint: str | None = None
    ) -> None:
        self.venue = venue
        self.kind = kind
        self.field = field
        self.detail = detail
        self.endpoint = endpoint
        where = f"{venue} {endpoint} ({kind})" if endpoint else f"{venue} {kind}"
        super().__init__(f"{where}: {field}: {detail}")

    def at(self, endpoint: str) -> ParseError:
        """The same error, naming the endpoint it came from (an existing one is kept)."""
        if self.endpoint:
            return self
        return ParseError(self.venue, self.kind, self.field, self.detail, endpoint=endpoint)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_parse, (type(self), self._args(), self._kwargs()))

    def _args(self) -> tuple[str, str, str, str]:
        return (self.venue, self.kind, self.field, self.detail)

    def _kwargs(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint}


def _rebuild_parse(
    cls: type[ParseError], args: tuple[str, str, str, str], kwargs: dict[str, Any]
) -> ParseError:
    # Keyword-only arguments do not survive the default exception pickling.
    return cls(*args, **kwargs)


class VenueError(Exception):
    """An error reply from a venue.

    ``status`` is the HTTP status (None for an error delivered otherwise, e.g. on a
    websocket), ``code`` the venue's own error code as a string when it sent one,
    ``message`` its human text, ``body`` the decoded body as received.
    """

    retryable: ClassVar[bool] = False
    ambiguous: ClassVar[bool] = True

    def __init__(
        self,
        venue: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        body: object = None,
    ) -> None:
        self.venue = venue
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.body = body
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [self.venue]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code is not None:
            parts.append(f"code {self.code}")
        return f"{' '.join(parts)}: {self.message}"

    @property
    def definite(self) -> bool:
        """True when the venue certainly did not carry out the request."""
        return not self.ambiguous

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments do not survive the default exception pickling.
        return (
            _rebuild,
            (type(self), self.venue, self.message, self.status, self.code, self.retry_after),
        )


def _rebuild(
    cls: type[VenueError],
    venue: str,
    message: str,
    status: int | None,
    code: str | None,
    retry_after: float | None,
) -> VenueError:
    return cls(venue, message, status=status, code=code, retry_after=retry_after)


class UnreadableReply(ParseError, VenueError):
    """A venue's reply that could not be read (undecodable, not JSON, unknown shape).

    A ``ParseError`` — it names the venue, the endpoint and the field, and at
    start-up it is one clear configuration-style error — and an *ambiguous*
    ``VenueError``: the request it answers may have taken effect, so a place is
    looked up rather than called refused, and a read is simply tried again.
    """

    retryable: ClassVar[bool] = False
    ambiguous: ClassVar[bool] = True

    def __init__(
        self,
        venue: str,
        kind: str,
        field: str,
        detail: str,
        *,
        endpoint: str | None = None,
        status: int | None = None,
    ) -> None:
        ParseError.__init__(self, venue, kind, field, detail, endpoint=endpoint)
        # What VenueError's readers look at (its own __init__ would rebuild the text).
        self.message = str(self)
        self.status = status
        self.code = None
        self.retry_after = None
        self.body = None

    @classmethod
    def of(
        cls, err: ParseError, *, endpoint: str | None = None, status: int | None = None
    ) -> UnreadableReply:
        """``err`` as an unreadable reply of ``endpoint``."""
        if isinstance(err, UnreadableReply):
            return err
        return cls(
            err.venue,
            err.kind,
            err.field,
            err.detail,
            endpoint=err.endpoint or endpoint,
            status=status,
        )

    def at(self, endpoint: str) -> UnreadableReply:
        return self if self.endpoint else UnreadableReply.of(self, endpoint=endpoint)

    def __reduce__(self) -> tuple[Any, ...]:
        return ParseError.__reduce__(self)

    def _kwargs(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "status": self.status}


def is_ambiguous(err: BaseException) -> bool:
    """True when a request that failed with ``err`` may still have taken effect."""
    if isinstance(err, VenueError):
        return err.ambiguous
    return isinstance(err, AMBIGUOUS)


class AuthError(VenueError):
    """401/403: bad key, bad signature, stale nonce or missing rights."""

    ambiguous = False


class NotFound(VenueError):
    """404: the order, trading pair or resource does not exist."""

    ambiguous = False


class Conflict(VenueError):
    """409: the request clashed with the venue's state (duplicate client id, ...)."""

    ambiguous = True


class InvalidRequest(VenueError):
    """400/422: the venue refused the request as sent — a definite refusal."""

    ambiguous = False


class OrderRejected(InvalidRequest):
    """The venue refused an order and said why (``message``)."""

    @property
    def reason(self) -> str:
        return self.message


class InsufficientFunds(OrderRejected):
    """Not enough balance or margin for the order or withdrawal."""


class RateLimited(VenueError):
    """429 or the venue's own rate-limit code; nothing was done. ``retry_after`` in s."""

    retryable = True
    ambiguous = False


class VenueUnavailable(VenueError):
    """5xx, gateway timeout or maintenance: the outcome is unknown."""

    retryable = True
    ambiguous = True


@dataclass(frozen=True)
class ErrorRules:
    """How one venue's error replies map onto the error classes.

    ``codes`` maps the venue's error code (compared as a string, so ``10028`` and
    ``"10028"`` are the same) to a class. ``messages`` is an ordered list of
    ``(substring, class)``: the first whose lower-cased substring occurs in the
    lower-cased message wins; a few wordings common to all venues (rate limits,
    insufficient funds) are tried after the venue's own.
    """

    codes: Mapping[str, type[VenueError]] = field(default_factory=lambda: MappingProxyType({}))
    messages: tuple[tuple[str, type[VenueError]], ...] = ()


# Wording common enough across venues to be worth recognising everywhere.
_COMMON_MESSAGES: tuple[tuple[str, type[VenueError]], ...] = (
    ("too many requests", RateLimited),
    ("too_many_requests", RateLimited),
    ("rate limit", RateLimited),
    ("throttled", RateLimited),
    ("insufficient funds", InsufficientFunds),
    ("insufficient_funds", InsufficientFunds),
    ("insufficient balance", InsufficientFunds),
    ("insufficient margin", InsufficientFunds),
    ("not enough funds", InsufficientFunds),
    ("not_enough_funds", InsufficientFunds),
    ("not enough balance", InsufficientFunds),
)

DEFAULT_RULES = ErrorRules()

_BY_STATUS: Mapping[int, type[VenueError]] = MappingProxyType(
    {
        400: InvalidRequest,
        401: AuthError,
        403: AuthError,
        404: NotFound,
        409: Conflict,
        422: InvalidRequest,
        429: RateLimited,
    }
)

_MESSAGE_KEYS = ("message", "error_description", "detail", "error", "msg", "reason", "errors")
_CODE_KEYS = ("code", "error_code", "errorCode")
_MAX_MESSAGE = 500


# Error bodies nest a level or two; anything deeper is not a message worth reading,
# and walking it recursively could exhaust the stack.
_MAX_DEPTH = 8


def _text(value: object, depth: int = 0) -> str | None:
    """Flatten an error message that may be a string, a list or a field->errors map."""
    if value is None or isinstance(value, bool) or depth > _MAX_DEPTH:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        parts = [t for t in (_text(v, depth + 1) for v in value) if t]
        return "; ".join(parts) or None
    if isinstance(value, Mapping):
        # Django-REST-style {"price": ["Ensure ..."]}: keep the field names.
        parts = []
        for k, v in value.items():
            t = _text(v, depth + 1)
            if t:
                parts.append(f"{k}: {t}")
        return "; ".join(parts) or None
    return None


def error_fields(body: object, _depth: int = 0) -> tuple[str | None, str | None]:
    """Find ``(code, message)`` in a decoded error body of any common shape.

    Accepts a bare string, ``{"message": ...}``, ``{"error": "..."}``,
    ``{"error": {"code": ..., "message": ...}}`` (JSON-RPC), ``{"detail": ...}``
    and ``{"success": false, "error": ...}``.
    """
    if isinstance(body, str | bytes):
        raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        return None, raw.strip()[:_MAX_MESSAGE] or None
    if not isinstance(body, Mapping):
        return None, _text(body)
    nested = body.get("error")
    if (
        isinstance(nested, Mapping)
        and _depth < _MAX_DEPTH
        and any(k in nested for k in (*_CODE_KEYS, "message"))
    ):
        return error_fields(nested, _depth + 1)
    code: str | None = None
    for key in _CODE_KEYS:
        value = body.get(key)
        if value is not None and not isinstance(value, bool | Mapping | list):
            code = str(value).strip() or None
            break
    message: str | None = None
    for key in _MESSAGE_KEYS:
        message = _text(body.get(key))
        if message:
            break
    if message is None:
        # Django-REST-style validation errors at the top level: {"price": ["..."]}.
        fields = {
            k: v
            for k, v in body.items()
            if isinstance(v, list) and v and all(isinstance(x, str) for x in v)
        }
        message = _text(fields)
    if message is not None:
        message = message[:_MAX_MESSAGE]
    return code, message


_RETRY_IN = re.compile(r"(?:available|retry|try again)[^0-9]{0,20}(\d+(?:\.\d+)?)\s*s", re.I)


def parse_retry_after(value: object) -> float | None:
    """Seconds to wait from a ``Retry-After`` header value or a body field.

    Only the delay-seconds form is understood; an HTTP date needs a clock, which
    this pure module does not read, so it gives None.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        return None
    return seconds


def _retry_after_from_body(body: object, message: str | None) -> float | None:
    if isinstance(body, Mapping):
        for key in ("retry_after", "retryAfter", "retry_after_seconds"):
            found = parse_retry_after(body.get(key))
            if found is not None:
                return found
    if message:
        # Django REST framework: "Request was throttled. Expected available in 2 seconds."
        m = _RETRY_IN.search(message)
        if m:
            return float(m.group(1))
    return None


def _refine(code: str | None, message: str | None, rules: ErrorRules) -> type[VenueError] | None:
    if code is not None:
        cls = rules.codes.get(code)
        if cls is not None:
            return cls
    if message:
        lowered = message.lower()
        for pattern, cls in (*rules.messages, *_COMMON_MESSAGES):
            if pattern in lowered:
                return cls
    return None


def classify(
    venue: str,
    http_status: int | None,
    body: object,
    rules: ErrorRules = DEFAULT_RULES,
    *,
    retry_after: float | None = None,
    fallback: type[VenueError] | None = None,
) -> VenueError:
    """Build the typed error for one error reply (see the module docstring).

    ``retry_after`` is the caller's parsed ``Retry-After`` header, if any; a value
    found in the body is used when the header gave none. ``fallback`` replaces
    the ambiguous base class for an error body that came without an error status,
    for venues whose bodies say plainly that nothing was done (a
    ``"success": false`` convention).
    """
    code, message = error_fields(body)
    if http_status is not None and (http_status >= 500 or http_status == 408):
        cls: type[VenueError] = VenueUnavailable
    else:
        refined = _refine(code, message, rules)
        if refined is not None:
            cls = refined
        elif http_status is not None and http_status in _BY_STATUS:
            cls = _BY_STATUS[http_status]
        elif http_status is not None and 400 <= http_status < 500:
            cls = InvalidRequest
        else:
            # No status, or a 1xx/2xx/3xx carrying an error body: unless the venue's
            # convention says otherwise, we cannot tell what happened.
            cls = fallback or VenueError
    if message is None:
        message = f"HTTP {http_status}" if http_status is not None else "error"
    if retry_after is None and cls.retryable:
        retry_after = _retry_after_from_body(body, message)
    return cls(venue, message, status=http_status, code=code, retry_after=retry_after, body=body)
