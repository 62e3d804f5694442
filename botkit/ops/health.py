"""The market data feed's health, as the node's feed task sees it.

The feed task marks the stream open when it (re)starts iterating it, stamps
the wall-clock time of every message it hands the engine, and counts the
failures that made it reconnect. The status (``botkit.ops.status``) reports
it as websocket health and the age of the last message.
"""

from __future__ import annotations

import time


class FeedHealth:
    """Open or not, how many times it failed, and when the last message came."""

    __slots__ = ("errors", "last_error", "last_ns", "open", "opened")

    def __init__(self) -> None:
        self.open = False
        self.opened = 0  # how many times a stream was started (1 + reconnects)
        self.errors = 0
        self.last_error: str | None = None
        self.last_ns: int | None = None

    def started(self) -> None:
        self.open = True
        self.opened += 1

    def failed(self, exc: BaseException) -> None:
        self.open = False
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"[:300]

    def snapshot(self, now_ns: int | None = None) -> dict[str, object]:
        now = time.time_ns() if now_ns is None else now_ns
        age = None if self.last_ns is None else round(max(0, now - self.last_ns) / 1e9, 3)
        return {
            "connected": self.open,
            "reconnects": max(0, self.opened - 1),
            "errors": self.errors,
            "last_error": self.last_error,
            "last_message_age_s": age,
        }


__all__ = ["FeedHealth"]
