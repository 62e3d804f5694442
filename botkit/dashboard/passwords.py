"""The dashboard's password hashes: scrypt (standard library) with a random salt.

``hash_password(pw)`` gives the line that goes in bot.yaml's
``dashboard.password_hash``::

    scrypt$ln=15,r=8,p=1$<salt, base64>$<key, base64>

``ln`` is log2 of scrypt's cost ``n``; ``r`` and ``p`` its block size and
parallelism. 2^15 x 8 costs 32 MiB and about 0.1 s per guess, on purpose. The
parameters travel with the hash, so a stronger setting later still checks old
hashes; :func:`verify_password` refuses absurd ones (a hand-edited hash cannot
make a login cost gigabytes). Comparison is in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets

from botkit.redact import Secret, reveal

LN = 15
R = 8
P = 1
SALT_BYTES = 16
KEY_BYTES = 32
MIN_LENGTH = 8
# Bounds on a stored hash's parameters: 2^20 x 32 is 4 GiB, far past any sane setting.
_MAX_LN, _MAX_R, _MAX_P = 20, 32, 16
_FORMAT = re.compile(
    r"scrypt\$ln=(?P<ln>\d{1,2}),r=(?P<r>\d{1,3}),p=(?P<p>\d{1,2})"
    r"\$(?P<salt>[A-Za-z0-9+/]+)\$(?P<key>[A-Za-z0-9+/]+)"
)


class PasswordError(ValueError):
    """A password that may not be used, or a stored hash that cannot be read."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _scrypt(password: str, salt: bytes, ln: int, r: int, p: int, length: int) -> bytes:
    n = 1 << ln
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * r * n * p, dklen=length
    )


def hash_password(password: str, *, ln: int = LN, r: int = R, p: int = P) -> str:
    """The stored form of ``password`` (a fresh random salt each time)."""
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"a dashboard password has at least {MIN_LENGTH} characters")
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, ln, r, p, KEY_BYTES)
    return f"scrypt$ln={ln},r={r},p={p}${_b64(salt)}${_b64(key)}"


def parse_hash(stored: str | Secret) -> tuple[int, int, int, bytes, bytes]:
    """``(ln, r, p, salt, key)`` of a stored hash; :class:`PasswordError` if it is not one."""
    m = _FORMAT.fullmatch(reveal(stored).strip())
    if m is None:
        raise PasswordError("not a dashboard password hash (scrypt$ln=...$salt$key)")
    ln, r, p = int(m["ln"]), int(m["r"]), int(m["p"])
    if not (1 <= ln <= _MAX_LN and 1 <= r <= _MAX_R and 1 <= p <= _MAX_P):
        raise PasswordError(f"scrypt parameters out of bounds (ln<={_MAX_LN}, r<={_MAX_R})")
    try:
        salt, key = _unb64(m["salt"]), _unb64(m["key"])
    except (binascii.Error, ValueError):
        raise PasswordError("the salt or key of the hash is not base64") from None
    if len(salt) < 8 or len(key) < 16:
        raise PasswordError("the salt or key of the hash is too short")
    return ln, r, p, salt, key


def verify_password(password: str, stored: str | Secret) -> bool:
    """Whether ``password`` matches ``stored`` (slow by design: run it off the event loop)."""
    ln, r, p, salt, key = parse_hash(stored)
    return hmac.compare_digest(_scrypt(password, salt, ln, r, p, len(key)), key)


__all__ = ["MIN_LENGTH", "PasswordError", "hash_password", "parse_hash", "verify_password"]
