"""ALP.COM request authentication (pure; no clock, no I/O).

Three schemes, one per document and API version. Which one a call uses is the
REST client's choice (``rest``); this module only computes headers.

**v1** (seed document 001, "Authorization"). What its Python example computes:

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
encoded the same way by both. What is signed: POST/DELETE sign their parameters
(the form or JSON body's top-level fields); GET signs ``{}``, as every example
does even when query filters are sent (``get_auth_headers({})`` for
``/orders/own/``, whose filters are query parameters) — ``sign_query_params=True``
signs the query instead, should a venue check it.

**v3, seed reading** (document 001, "API v3 / Auth"): "Authentication keys must
be provided for each endpoint call. You need to include valid ``api-secret`` and
``api-key`` you have generated for your account." Read as two request headers of
exactly those names carrying the key and the secret (``v3_key_headers``). The
section signs nothing and has no nonce, so neither is sent.

**v3, official reading** (reference/alp-api-docs.md, "Authorization"): a JWT
from ``POST /api/v3/auth`` with body ``{"api_key", "api_secret"}``, sent as
``Authorization: Bearer <token>`` (``bearer_headers``) until its ``exp``; and for
"POST and DELETE requests to trading endpoints" an ``X-SIGN`` header, "the HMAC
SHA-256 hash of the request body using the api_secret" (``x_sign``). Details the
text leaves open, read from the Python client the document links to
(``alpcom-api``): the hash is lower-case hex (its ``hexdigest()``, as in v1);
what is hashed is the exact bytes of the JSON body as sent; every request with a
body carries it — the client signs all of its JSON requests, ``/auth``
included — and GETs carry none.

Numbers in bodies. Decimals are written in plain notation (``format(d, "f")``:
``0.00000001``, never ``1E-8``). The seed's v3 examples carry prices and amounts
as JSON numbers (``"limit_price": 25750.45``); the official place table types
them "decimal string" (``"base_amount": "1.0"``). The kit's ``json_body`` writes
either (``decimals="number"`` or ``"string"``) from the Decimal's exact digits,
and whatever is signed is exactly what is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from urllib.parse import urlencode

from botkit.venues.kit.parsing import check_header_value, hmac_sha256_hex

__all__ = [
    "SIGNED_METHODS",
    "V3_KEY_HEADER",
    "V3_SECRET_HEADER",
    "bearer_headers",
    "sign",
    "sign_headers",
    "signed_payload",
    "signing_message",
    "v1_headers",
    "v3_key_headers",
    "x_sign",
]

ParamValue = str | int | float | Decimal | bool | list[object] | None

# Methods whose parameters travel in the body and are always signed (v1).
SIGNED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

V3_KEY_HEADER = "api-key"
V3_SECRET_HEADER = "api-secret"


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:
        # A lone surrogate cannot be sent or signed: refuse it as a bad value, not a crash.
        raise ValueError(f"{what} is not valid Unicode text") from None


# --- v1 --------------------------------------------------------------------------------


def signing_message(api_key: str, payload: Mapping[str, ParamValue]) -> str:
    """``api_key`` + the payload sorted by key and form-encoded."""
    # A Decimal in plain notation, digits kept: Decimal("1E-8") -> 0.00000001.
    items = [(k, format(v, "f") if isinstance(v, Decimal) else v) for k, v in payload.items()]
    try:
        encoded = urlencode(sorted(items, key=lambda kv: kv[0]))
    except UnicodeEncodeError:
        raise ValueError("a request parameter is not valid Unicode text") from None
    return api_key + encoded


def sign(api_key: str, api_secret: str, payload: Mapping[str, ParamValue]) -> str:
    """The v1 ``X-SIGN``: lower-case hex HMAC-SHA256 of ``signing_message``."""
    message = _utf8(signing_message(api_key, payload), "the signed message")
    return hmac_sha256_hex(_utf8(api_secret, "api_secret"), message)


def signed_payload(
    method: str, params: Mapping[str, ParamValue] | None, *, sign_query_params: bool = False
) -> Mapping[str, ParamValue]:
    """What a v1 request signs: a POST/DELETE its body parameters; a GET ``{}`` (every
    example does, filters or not), or its query with ``sign_query_params=True``."""
    if method.upper() not in SIGNED_METHODS and not sign_query_params:
        return {}
    return params or {}


def v1_headers(api_key: str, signature: str, nonce: int) -> dict[str, str]:
    """v1 ``X-KEY``/``X-SIGN``/``X-NONCE``; the nonce is not part of the signature, so a
    request signed once takes a fresh nonce each time it is sent."""
    if isinstance(nonce, bool) or not isinstance(nonce, int) or nonce < 0:
        raise ValueError(f"nonce must be a non-negative int, got {nonce!r}")
    return {
        "X-KEY": check_header_value("api_key", api_key),
        "X-SIGN": signature,
        "X-NONCE": str(nonce),
    }


def sign_headers(
    api_key: str,
    api_secret: str,
    nonce: int,
    *,
    method: str = "POST",
    params: Mapping[str, ParamValue] | None = None,
    sign_query_params: bool = False,
) -> dict[str, str]:
    """v1 ``X-KEY``/``X-SIGN``/``X-NONCE`` for one request.

    ``params`` are the body parameters of a POST/DELETE, or the query parameters
    of a GET (signed only with ``sign_query_params=True``; see the module notes).
    """
    payload = signed_payload(method, params, sign_query_params=sign_query_params)
    return v1_headers(api_key, sign(api_key, api_secret, payload), nonce)


# --- v3 --------------------------------------------------------------------------------


def v3_key_headers(api_key: str, api_secret: str) -> dict[str, str]:
    """The seed's v3 auth: the key and the secret as ``api-key`` / ``api-secret`` headers."""
    return {
        V3_KEY_HEADER: check_header_value("api_key", api_key),
        V3_SECRET_HEADER: check_header_value("api_secret", api_secret),
    }


def bearer_headers(token: str) -> dict[str, str]:
    """The official v3 auth: ``Authorization: Bearer <jwt>``."""
    return {"Authorization": f"Bearer {check_header_value('token', token)}"}


def x_sign(api_secret: str, body: bytes | str) -> str:
    """The official ``X-SIGN``: lower-case hex HMAC-SHA256 of the body's exact bytes."""
    raw = _utf8(body, "the request body") if isinstance(body, str) else body
    return hmac_sha256_hex(_utf8(api_secret, "api_secret"), raw)
