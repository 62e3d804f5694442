"""Sessions and CSRF tokens, kept in the dashboard's memory.

Every visitor gets a session (a random 256-bit id in the cookie
``botkit_session``: HttpOnly, SameSite=Strict, Path=/, and Secure when the
dashboard is served over TLS) with its own CSRF token. Logging in replaces
the session with a new one (new id, new token), so an id planted before the
login is worth nothing after it. Every state-changing request (login, logout,
a control command) must carry the session's token (a form field or the
``X-CSRF-Token`` header), compared in constant time; the websocket carries it
in its URL. A session ends after ``session_idle`` without a request, or
``session_ttl`` after the login, whichever comes first; restarting the
dashboard ends them all.

The cookie holds only the id; nothing in it or in a token says anything
about the password or its hash.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

COOKIE = "botkit_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
_MAX_SESSIONS = 10_000


@dataclass
class Session:
    """One browser's session: anonymous until :meth:`Sessions.login` names its user."""

    id: str
    csrf: str
    created: float
    seen: float
    user: str | None = None
    data: dict[str, object] = field(default_factory=dict)

    @property
    def authenticated(self) -> bool:
        return self.user is not None

    def csrf_ok(self, token: str | None) -> bool:
        """Whether ``token`` is this session's CSRF token (constant time)."""
        return bool(token) and hmac.compare_digest(self.csrf.encode(), str(token).encode())


class Sessions:
    """The live sessions by id, with their lifetimes."""

    def __init__(
        self,
        ttl_s: float = 8 * 3600.0,
        idle_s: float = 1800.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.idle_s = idle_s
        self.clock = clock
        self._by_id: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def new(self, user: str | None = None) -> Session:
        now = self.clock()
        if len(self._by_id) >= _MAX_SESSIONS:
            self.sweep()
            if len(self._by_id) >= _MAX_SESSIONS:  # still full: drop the oldest anonymous ones
                anon = sorted((s for s in self._by_id.values() if not s.user), key=lambda s: s.seen)
                for s in anon[: _MAX_SESSIONS // 10]:
                    del self._by_id[s.id]
        s = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now, now, user)
        self._by_id[s.id] = s
        return s

    def get(self, sid: str | None) -> Session | None:
        """The live session with this id (and marks it used), or None."""
        if not sid:
            return None
        s = self._by_id.get(sid)
        if s is None:
            return None
        now = self.clock()
        if self._expired(s, now):
            del self._by_id[sid]
            return None
        s.seen = now
        return s

    def login(self, old: Session | None, user: str) -> Session:
        """A fresh authenticated session in place of ``old`` (which ends)."""
        self.end(old)
        return self.new(user)

    def end(self, s: Session | None) -> None:
        if s is not None:
            self._by_id.pop(s.id, None)

    def sweep(self) -> None:
        now = self.clock()
        for sid in [sid for sid, s in self._by_id.items() if self._expired(s, now)]:
            del self._by_id[sid]

    def _expired(self, s: Session, now: float) -> bool:
        if s.user is None:  # an anonymous session (the login page) lives for its idle time
            return now - s.seen > self.idle_s
        return now - s.created > self.ttl_s or now - s.seen > self.idle_s


def cookie_options(secure: bool, max_age_s: float | None = None) -> dict[str, Any]:
    """The attributes of the session cookie."""
    out: dict[str, Any] = {
        "httponly": True,
        "samesite": "Strict",
        "path": "/",
        "secure": secure,
    }
    if max_age_s is not None:
        out["max_age"] = int(max_age_s)
    return out


__all__ = ["COOKIE", "CSRF_FIELD", "CSRF_HEADER", "Session", "Sessions", "cookie_options"]
