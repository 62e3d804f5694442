"""The market data feed's health, as the node's feed task sees it.

The feed task marks the stream open when it (re)starts iterating it, stamps
the wall-clock time of every message it hands the engine, and counts the
failures that made it reconnect. A source that keeps its own connection (the
MQTT market data of ``data.source: mqtt``, ``botkit.ops.marketdata``) marks
its reconnects and losses itself, and counts the sequence gaps it saw and the
book snapshots it asked for. The status (``botkit.ops.status``) reports it as
websocket health and the age of the last message, and so does the terminal's
status line (:meth:`FeedHealth.line`).
"""

from __future__ import annotations

import time


class FeedHealth:
    """Open or not, how many times it failed, and when the last message came."""

    __slots__ = ("errors", "gaps", "last_error", "last_ns", "open", "opened", "resyncs", "source")

    def __init__(self, source: str = "venue") -> None:
        self.source = source  # "venue" (its websocket or polling) or "mqtt" (botkit feed)
        self.open = False
        self.opened = 0  # how many times a stream was started (1 + reconnects)
        self.errors = 0
        self.last_error: str | None = None
        self.last_ns: int | None = None
        self.gaps = 0  # sequence gaps seen (MQTT market data)
        self.resyncs = 0  # book snapshots asked for after a gap (MQTT market data)

    def started(self) -> None:
        self.open = True
        self.opened += 1

    def failed(self, exc: BaseException) -> None:
        self.open = False
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"[:300]

    def age_s(self, now_ns: int | None = None) -> float | None:
        """Seconds since the last message (None: none yet)."""
        if self.last_ns is None:
            return None
        now = time.time_ns() if now_ns is None else now_ns
        return round(max(0, now - self.last_ns) / 1e9, 3)

    def snapshot(self, now_ns: int | None = None) -> dict[str, object]:
        return {
            "connected": self.open,
            "reconnects": max(0, self.opened - 1),
            "errors": self.errors,
            "last_error": self.last_error,
            "last_message_age_s": self.age_s(now_ns),
            "source": self.source,
            "gaps": self.gaps,
            "resyncs": self.resyncs,
        }

    def line(self, now_ns: int | None = None) -> str:
        """For the status line: ``feed venue up, last 0.2s ago, reconnects 0, errors 0``."""
        age = self.age_s(now_ns)
        text = (
            f"feed {self.source} {'up' if self.open else 'DOWN'}, "
            f"last {'never' if age is None else f'{age:.1f}s ago'}, "
            f"reconnects {max(0, self.opened - 1)}, errors {self.errors}"
        )
        if self.source == "mqtt":
            text += f", gaps {self.gaps}, resyncs {self.resyncs}"
        return text


__all__ = ["FeedHealth"]
