"""One request as a simulator reads it: bytes first, then strictly decoded text, JSON or form.

aiohttp's own ``request.text()``/``json()`` trust the client: an unknown
charset raises ``LookupError``, invalid UTF-8 ``UnicodeDecodeError``, JSON
nested a thousand deep ``RecursionError`` — each a 500. Here every way a body,
a query string or a header can be malformed is a :class:`Refusal`, which the
venue's server answers with its own documented 4xx error shape.

What counts as well-formed (the venues' documents all speak JSON over UTF-8):

* a body's charset, when the ``Content-Type`` names one, is UTF-8 or ASCII;
  the bytes must be valid UTF-8;
* JSON is RFC 8259 JSON: no ``NaN``/``Infinity``, no duplicate keys in one
  object, no lone surrogates (``"\\ud800"`` decodes to a string that cannot be
  encoded again, so nothing could sign or echo it), nesting at most
  ``MAX_DEPTH`` deep, integers of at most ``MAX_INT_DIGITS`` digits (beyond
  that Python refuses to convert them anyway); fractional numbers become exact
  ``Decimal``s, whose range :class:`Params` checks where a value is read;
* query strings and form bodies are percent-decoded strictly (invalid UTF-8 is
  refused, not replaced), and a name may appear once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import CIMultiDictProxy

__all__ = [
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "Refusal",
    "SimRequest",
    "decode_json",
    "decode_pairs",
    "read_request",
]

MAX_DEPTH = 32
MAX_INT_DIGITS = 40
_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
# The characters that matter when measuring how deep JSON nests.
_TOKEN = re.compile(r'[\[\]{}"\\]')


class Refusal(Exception):
    """A definite refusal: the venue answers it with a 4xx in its own error shape.

    ``code`` is venue-neutral (it goes to the backend's log of refused
    requests); ``what`` names the kind of request (``"auth"``, ``"place"``...),
    None for the route's own. ``headers`` are sent with the error (a 429's
    ``Retry-After``). ``logged`` is set when the backend has logged it already.
    """

    def __init__(
        self,
        status: int,
        message: str,
        code: str = "invalid_request",
        *,
        what: str | None = None,
        headers: Mapping[str, str] | None = None,
        logged: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.what = what
        self.headers = dict(headers or {})
        self.logged = logged


def _bad(message: str) -> Refusal:
    return Refusal(400, message, "malformed_request")


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"integer of {len(text)} digits is out of range")
    return int(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _encodable(value: object, depth: int = 0) -> bool:
    """False when a string anywhere in ``value`` holds a lone surrogate."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_encodable(k, depth) and _encodable(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_encodable(v, depth + 1) for v in value)
    return True


def json_depth(text: str, limit: int = MAX_DEPTH) -> int:
    """How deep brackets nest in ``text`` outside strings, without parsing it.

    Linear in the length of ``text`` whatever it holds, and stops once past ``limit``.
    """
    depth = deepest = 0
    in_string = False
    escaped_at = -1
    for m in _TOKEN.finditer(text):
        ch, pos = m.group(), m.start()
        if in_string:
            if pos == escaped_at:
                continue
            if ch == "\\":
                escaped_at = pos + 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def decode_json(text: str) -> Any:
    """Strict JSON (see the module notes); a :class:`Refusal` when it is not."""
    if json_depth(text) > MAX_DEPTH:
        raise _bad(f"malformed JSON: nested deeper than {MAX_DEPTH}")
    try:
        value = json.loads(
            text,
            parse_float=Decimal,
            parse_int=_int,
            parse_constant=_no_constant,
            object_pairs_hook=_unique,
        )
    except (ValueError, RecursionError) as exc:
        raise _bad(f"malformed JSON: {exc}") from None
    if not _encodable(value):
        raise _bad("malformed JSON: a string holds a lone surrogate")
    return value


def decode_pairs(text: str, what: str) -> list[tuple[str, str]]:
    """``a=1&b=2`` (form-encoded, ``+`` is a space), strictly; each name at most once."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad(f"malformed {what}: {exc}") from None
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            raise _bad(f"malformed {what}: {name!r} given more than once")
        seen.add(name)
    return pairs


@dataclass
class SimRequest:
    """The parts of one HTTP request a venue's protocol reads, decoded on demand."""

    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDictProxy[str]
    body: bytes
    content_type: str
    match: Mapping[str, str]
    charset: str | None = None
    raw: web.Request | None = field(default=None, repr=False)  # for a websocket upgrade
    _json: Any = field(default=None, repr=False)
    _json_read: bool = field(default=False, repr=False)

    @property
    def has_body(self) -> bool:
        return bool(self.body.strip())

    def text(self) -> str:
        """The body as text: UTF-8 (or ASCII) only."""
        if self.charset is not None and self.charset.lower() not in _CHARSETS:
            raise _bad(f"unsupported charset {self.charset!r}: send UTF-8")
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _bad(f"the body is not valid UTF-8: {exc.reason} at byte {exc.start}") from None

    def json(self) -> Any:
        """The body as strict JSON (decoded once)."""
        if not self._json_read:
            self._json = decode_json(self.text())
            self._json_read = True
        return self._json

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object; an empty body is an empty object."""
        if not self.has_body:
            return {}
        value = self.json()
        if not isinstance(value, dict):
            raise _bad("the body must be a JSON object")
        return value

    def form(self) -> dict[str, str]:
        """The body as ``application/x-www-form-urlencoded`` pairs."""
        return dict(decode_pairs(self.text(), "form body"))

    @property
    def is_form(self) -> bool:
        return self.content_type == "application/x-www-form-urlencoded"


async def read_request(request: web.Request) -> SimRequest:
    """Read the whole request; a body too large is aiohttp's 413, anything malformed a 400."""
    body = await request.read()
    try:
        charset = request.charset
    except (ValueError, LookupError):
        charset = "(unreadable)"
    # Decoded here rather than by yarl, which replaces invalid UTF-8 silently.
    query = dict(decode_pairs(request.rel_url.raw_query_string, "query string"))
    return SimRequest(
        method=request.method,
        path=request.path,
        query=query,
        headers=request.headers,
        body=body,
        content_type=request.content_type,
        match=request.match_info,
        charset=charset,
        raw=request,
    )
