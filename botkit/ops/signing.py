"""Signed control commands: HMAC-SHA256 over the exact bytes of the command.

With ``mqtt.signing_secret_env`` set, a command travels as an envelope::

    {"body": "<the command's JSON, as a string>", "hmac": "<hex HMAC-SHA256 of body>"}

The MAC covers the body's exact UTF-8 bytes, so nothing has to be re-serialised
the same way on both sides, and the body carries the sender's ``ts`` (Unix
seconds), which the bot checks against its own clock (``signing_window``).
Anyone who can publish on the control topic but lacks the secret cannot make a
command the bot accepts, and a captured one stops working once its timestamp
is out of the window (within it, the bot refuses a correlation id it has
already accepted).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from botkit.redact import Secret, reveal


def mac(body: bytes, secret: str | Secret) -> str:
    """The hex HMAC-SHA256 of ``body`` under ``secret``."""
    return hmac.new(reveal(secret).encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str, secret: str | Secret) -> bool:
    """Whether ``signature`` is ``body``'s MAC (compared in constant time)."""
    return hmac.compare_digest(mac(body, secret), signature.strip().lower())


def seal(command: dict[str, Any], secret: str | Secret) -> bytes:
    """The signed envelope of ``command`` (which should carry ``ts``), as sent on the wire."""
    body = json.dumps(command, separators=(",", ":"), ensure_ascii=False)
    return json.dumps({"body": body, "hmac": mac(body.encode(), secret)}).encode()


__all__ = ["mac", "seal", "verify"]
