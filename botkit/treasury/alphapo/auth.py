"""AlphaPo request signing (document 002), pure.

``X-Processing-Key`` is the API key; ``X-Processing-Signature`` is "the request
body, signed with HMAC-SHA512 with your secret key": the HMAC-SHA512 of the
body's bytes exactly as sent, keyed with the secret (UTF-8), written as
lower-case hex (the document does not name the encoding; hex is the reading
AlphaPo's published examples use). Build the body once and pass the same text to
:func:`sign_headers` and to the wire.
"""

from __future__ import annotations

import hashlib
import hmac

from botkit.venues.kit.parsing import check_header_value

__all__ = ["KEY_HEADER", "SIGNATURE_HEADER", "sign_headers", "signature"]

KEY_HEADER = "X-Processing-Key"
SIGNATURE_HEADER = "X-Processing-Signature"


def signature(api_secret: str, body: str | bytes) -> str:
    """Lower-case hex HMAC-SHA512 of ``body`` (UTF-8 when text) keyed with the secret."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return hmac.new(api_secret.encode("utf-8"), data, hashlib.sha512).hexdigest()


def sign_headers(api_key: str, api_secret: str, body: str) -> dict[str, str]:
    """The two authentication headers, and the body's content type."""
    return {
        "Content-Type": "application/json",
        KEY_HEADER: check_header_value("api_key", api_key),
        SIGNATURE_HEADER: signature(api_secret, body),
    }
