"""Failed logins, rate-limited: a few tries per window, then refusals until the window passes.

Failures are counted per client address and per username, each within a
sliding window (``dashboard.login_attempts`` per ``dashboard.login_window``).
Once either has used its attempts, every further login from that address or
for that user is refused at once, before the password is even checked, until
the oldest failure leaves the window: guessing costs the attacker the window,
not the server a hash. A successful login clears its address's and user's
failures.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    """Counts failed logins by key (``ip:...``, ``user:...``) in a sliding window."""

    def __init__(
        self,
        attempts: int = 5,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self.clock = clock
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        seen = self._failures.get(key)
        if seen is None:
            return deque()
        while seen and seen[0] <= now - self.window_s:
            seen.popleft()
        if not seen:
            del self._failures[key]
        return seen

    def retry_after(self, *keys: str) -> float:
        """Seconds until a login may be tried for these keys (0: now)."""
        now = self.clock()
        wait = 0.0
        for key in keys:
            seen = self._recent(key, now)
            if len(seen) >= self.attempts:
                wait = max(wait, seen[len(seen) - self.attempts] + self.window_s - now)
        return wait

    def failed(self, *keys: str) -> None:
        """Count one failed login against each key."""
        now = self.clock()
        if len(self._failures) >= self.max_keys:  # a flood of addresses: forget the stalest
            for key in list(self._failures)[: self.max_keys // 10]:
                del self._failures[key]
        for key in keys:
            seen = self._failures.setdefault(key, deque())
            seen.append(now)
            while len(seen) > self.attempts:
                seen.popleft()

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)


__all__ = ["LoginThrottle"]
