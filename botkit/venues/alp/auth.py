"""ALP.COM request signing (pure; no clock, no I/O).

What the document's Python example computes, and what this module does:

* message = the API key followed by ``urlencode(sorted(payload.items()))`` —
  pairs sorted by key, each key and value ``str()``-ed and form-encoded
  (``quote_plus``: a space becomes ``+``), joined with ``&``; an empty payload
  adds nothing, so the message is then the bare key;
* ``X-SIGN`` = lower-case hex HMAC-SHA256 of that message keyed with the secret,
  both UTF-8 encoded;
* ``X-KEY`` = the key, ``X-NONCE`` = an integer greater than the previous one (the
  example uses milliseconds; the adapter takes ``ClockNonce(unit="ms")``).
  The nonce is not part of the signature.

The document's JavaScript example encodes values with ``encodeURIComponent``,
which differs from Python's form encoding for spaces and ``!'()*~``; we follow
the Python example. Values the bot sends (pair names, decimal numbers, ids) are
encoded the same way by both.

What is signed:

* POST/DELETE: the request parameters (the form or JSON body's top-level fields).
* GET: the document's examples sign ``{}`` even when query filters are sent
  (``get_auth_headers({})`` for ``/orders/own/`` whose filters are query
  parameters). ``sign_query_params=False`` (the default) follows the examples;
  ``True`` signs the query parameters instead, should the venue turn out to
  check them.

API v3 documents no signing scheme of its own ("include valid api-secret and
api-key ... functionality in progress"), so v3 requests are signed exactly like
v1; only the payload differs (v3 bodies are JSON, and their top-level fields are
what gets signed, a list value as its ``str()`` just as ``urlencode`` does).

Decimals are signed in plain notation (``format(d, "f")``: ``0.00000001``, never
``1E-8``), which is exactly how ``encode_json`` and a form body put them on the
wire, so the signature covers the text the venue receives. v3 bodies carry
prices and amounts as JSON numbers, as the document's examples do
(``"limit_price": 25750.45``); ``encode_json`` writes a Decimal as a number
literal with its exact digits (no float rounding on the way).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from urllib.parse import urlencode

from botkit.venues.kit.parsing import check_header_value, hmac_sha256_hex

__all__ = [
    "SIGNED_METHODS",
    "encode_json",
    "plain",
    "sign",
    "sign_headers",
    "signing_message",
]

ParamValue = str | int | float | Decimal | bool | list[object] | None

# Methods whose parameters travel in the body and are always signed.
SIGNED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def plain(value: Decimal) -> str:
    """A Decimal in plain notation, digits kept: ``Decimal("1E-8")`` -> ``0.00000001``."""
    return format(value, "f")


def signing_message(api_key: str, payload: Mapping[str, ParamValue]) -> str:
    """``api_key`` + the payload sorted by key and form-encoded."""
    items = [(k, plain(v) if isinstance(v, Decimal) else v) for k, v in payload.items()]
    return api_key + urlencode(sorted(items, key=lambda kv: kv[0]))


def _encode(value: object) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send {value!r}")
        return plain(value)
    if isinstance(value, Mapping):
        parts = (f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items())
        return "{" + ",".join(parts) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, float):
        raise TypeError("send money as Decimal, not float")
    return json.dumps(value, ensure_ascii=True)


def encode_json(payload: object) -> str:
    """Compact ASCII JSON with each Decimal as a number literal of its exact digits.

    Sign the payload and send exactly this text: both use the same plain digits.
    """
    return _encode(payload)


def sign(api_key: str, api_secret: str, payload: Mapping[str, ParamValue]) -> str:
    """The ``X-SIGN`` value: lower-case hex HMAC-SHA256 of ``signing_message``."""
    return hmac_sha256_hex(api_secret, signing_message(api_key, payload))


def sign_headers(
    api_key: str,
    api_secret: str,
    nonce: int,
    *,
    method: str = "POST",
    params: Mapping[str, ParamValue] | None = None,
    sign_query_params: bool = False,
) -> dict[str, str]:
    """``X-KEY``/``X-SIGN``/``X-NONCE`` for one request.

    ``params`` are the body parameters of a POST/DELETE, or the query parameters
    of a GET (signed only with ``sign_query_params=True``; see the module notes).
    """
    if isinstance(nonce, bool) or not isinstance(nonce, int) or nonce < 0:
        raise ValueError(f"nonce must be a non-negative int, got {nonce!r}")
    verb = method.upper()
    signed: Mapping[str, ParamValue] = params or {}
    if verb not in SIGNED_METHODS and not sign_query_params:
        signed = {}
    return {
        "X-KEY": check_header_value("api_key", api_key),
        "X-SIGN": sign(api_key, api_secret, signed),
        "X-NONCE": str(nonce),
    }
