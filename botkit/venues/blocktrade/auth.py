"""BlockTrade request signing (pure; no clock, no I/O).

What the document's example code computes, and what this module does:

* message = ``"{api_key}.{nonce}"``, followed by ``".{body}"`` only when the body
  is a non-empty string (the example tests ``if request_body:``, so an empty
  body and no body sign the same), encoded as UTF-8;
* the HMAC key is the API secret, UTF-8 encoded; the hash is SHA-256;
* the signature is the hex digest in upper case.

Headers are ``X-Api-Key``, ``X-Nonce`` (the decimal nonce) and ``X-Signature``.
``Content-Type: application/json`` is the HTTP client's business, not part of
the signature. The body that is signed must be byte for byte the body that is
sent: build it once with ``json_body`` and pass the same string to both.
``json_body`` writes Decimals as plain strings: ``price`` is typed "number as
string" although the document's example sends ``"price": 1000``.

The same headers, signed with no body, authenticate the websocket connection
(the document's second websocket authentication method).

Nonce: the example uses whole seconds (``int(time.time())``), which repeats
within a second; the venue only asks for an increasing value. The adapter takes
nonces from ``botkit.venues.kit.nonce.NonceSource`` (milliseconds by default,
persisted in the journal).
"""

from __future__ import annotations

from botkit.venues.kit.parsing import check_header_value, hmac_sha256_hex, json_body

__all__ = ["json_body", "sign_headers", "signature"]


def signature(api_key: str, api_secret: str, nonce: int, body: str | None = None) -> str:
    """The upper-case hex HMAC-SHA256 of ``KEY.NONCE[.BODY]`` keyed with the secret."""
    message = f"{api_key}.{nonce}"
    if body:
        message = f"{message}.{body}"
    return hmac_sha256_hex(api_secret, message).upper()


def sign_headers(api_key: str, api_secret: str, nonce: int, body: str | None) -> dict[str, str]:
    """The three authentication headers for one request (or websocket handshake)."""
    if isinstance(nonce, bool) or not isinstance(nonce, int) or nonce < 0:
        raise ValueError(f"nonce must be a non-negative int, got {nonce!r}")
    return {
        "X-Api-Key": check_header_value("api_key", api_key),
        "X-Nonce": str(nonce),
        "X-Signature": signature(api_key, api_secret, nonce, body),
    }
