"""Pieces every venue's authentication check is made of; the checks themselves are the venues'.

Each simulator writes its own check from its own document (what is signed, how,
in which header); this module holds only what such checks share: an HMAC, a
comparison that takes any header text, a strictly increasing nonce per key, a
bearer token read from ``Authorization``, and a rolling per-second rate limit.
Nothing here is imported from the adapters: a misreading shared by both sides
could never show.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from collections import deque
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass

from botkit.simulator.kit.request import Refusal

__all__ = [
    "NonceBook",
    "RateLimit",
    "SignedHeaders",
    "bearer_token",
    "hmac_sha256_hex",
    "parse_nonce",
    "same",
    "unauthorized",
]

_NONCE = re.compile(r"[0-9]{1,19}")


def hmac_sha256_hex(secret: str, message: str | bytes) -> str:
    """Lower-case hex HMAC-SHA256 of ``message`` (UTF-8) keyed with ``secret`` (UTF-8)."""
    data = message.encode("utf-8") if isinstance(message, str) else message
    return hmac.new(secret.encode("utf-8"), data, hashlib.sha256).hexdigest()


def same(given: str, expected: str) -> bool:
    """Constant-time equality of two header values, whatever characters they hold."""
    # compare_digest refuses non-ASCII str; bytes it takes as they are.
    return hmac.compare_digest(
        given.encode("utf-8", "replace"), expected.encode("utf-8", "replace")
    )


def unauthorized(message: str, code: str = "unauthenticated") -> Refusal:
    return Refusal(401, message, code, what="auth")


def parse_nonce(text: str | None) -> int | None:
    """A nonce header: decimal digits only (``int()`` would take " +1_0 " or "١")."""
    if text is None or not _NONCE.fullmatch(text):
        return None
    return int(text)


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of ``Authorization: Bearer <token>``, or None."""
    header = headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token or token != token.strip():
        return None
    return token


class NonceBook:
    """The last accepted nonce per API key; a nonce must be strictly greater.

    ``check`` before the signature is known good, ``accept`` after: a request
    that fails authentication does not consume its nonce.
    """

    def __init__(self, last: MutableMapping[str, int]) -> None:
        self.last = last

    def check(self, key: str, nonce: int) -> None:
        last = self.last.get(key, 0)
        if nonce <= last:
            raise unauthorized(f"Invalid nonce: must be greater than {last}", "invalid_nonce")

    def accept(self, key: str, nonce: int) -> None:
        self.last[key] = nonce


@dataclass(frozen=True)
class SignedHeaders:
    """One venue's key + nonce + signature headers, and how it words each refusal.

    ``check`` takes the expected signature as a function of the nonce: what is
    signed, and how, is the venue's own (written from its document).
    """

    key: str
    nonce: str
    signature: str
    missing: str
    bad_key: str
    bad_nonce: str
    bad_signature: str

    def check(
        self,
        headers: Mapping[str, str],
        api_key: str,
        nonces: NonceBook,
        expected: Callable[[int], str],
    ) -> None:
        """Refuse (401) unless the three headers hold the key, a fresh nonce and a
        signature equal to ``expected(nonce)``; then the nonce is used up."""
        key, nonce_text, signature = (
            headers.get(h) for h in (self.key, self.nonce, self.signature)
        )
        if not key or not nonce_text or not signature:
            raise unauthorized(self.missing)
        if not same(key, api_key):
            raise unauthorized(self.bad_key, "invalid_api_key")
        nonce = parse_nonce(nonce_text)
        if nonce is None:
            raise unauthorized(self.bad_nonce, "invalid_nonce")
        nonces.check(api_key, nonce)
        if not same(signature, expected(nonce)):
            raise unauthorized(self.bad_signature, "invalid_signature")
        nonces.accept(api_key, nonce)


class RateLimit:
    """At most ``per_s`` calls in any rolling second, less ``jitter_s``.

    A call counts for one second less some network jitter, so a client that
    spaces its calls exactly ``1 / per_s`` apart is never refused. A refused call
    does not count.
    """

    def __init__(self, per_s: float, jitter_s: float = 0.05) -> None:
        if per_s <= 0:
            raise ValueError(f"a rate limit must be positive, got {per_s}")
        self.per_s = per_s
        self.jitter_s = jitter_s
        self.calls: deque[float] = deque()

    def wait_s(self, now: float | None = None) -> float:
        """0 and the call is counted, or how long until one would be allowed."""
        now = time.monotonic() if now is None else now
        window = 1.0 - self.jitter_s
        calls = self.calls
        while calls and calls[0] <= now - window:
            calls.popleft()
        if len(calls) >= self.per_s:
            return calls[0] + window - now
        calls.append(now)
        return 0.0

    @staticmethod
    def retry_after(wait_s: float) -> int:
        """Whole seconds, as ``Retry-After`` and "Expected available in N seconds" give it."""
        return max(1, math.ceil(wait_s))
