"""A dependency-free one-line terminal progress bar for long replays.

``update`` is called once per batch of events, so it does almost nothing unless
enough time has passed to redraw (at most ``1 / min_interval`` times a second).
A disabled bar writes nothing at all, so it is safe to leave in place when
output is piped to a file or captured by tests.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

_BAR_WIDTH = 24


def _fmt_duration(seconds: float) -> str:
    s = max(0, round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}"


def _fmt_count(n: float) -> str:
    # Short human units keep the line narrow enough for an 80-column terminal.
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f}{unit}"
    return f"{n:.0f}"


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        # Closed or exotic streams (e.g. some capture objects) are not terminals.
        return False


class Progress:
    """``Progress(total, enabled=None, stream=sys.stderr, label="backtest")``.

    ``total`` is the expected number of events (None when unknown: no bar or
    ETA, only count and rate). ``enabled=None`` means "only when the stream is
    a terminal". ``stream`` defaults to the ``sys.stderr`` of the moment the
    bar is made, so redirected/captured stderr is honoured. ``unit`` names what
    is counted (``ev`` events, ``B`` bytes); ``total`` and ``label`` may be
    changed between updates (a download learns its sizes as it goes).
    """

    def __init__(
        self,
        total: int | None,
        enabled: bool | None = None,
        stream: TextIO | None = None,
        label: str = "backtest",
        *,
        unit: str = "ev",
        min_interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total if total is None or total > 0 else None
        self.stream: TextIO = stream if stream is not None else sys.stderr
        self.enabled = _is_tty(self.stream) if enabled is None else enabled
        self.label = label
        self.unit = unit
        self.min_interval = min_interval
        self._clock = clock
        self._start = clock()
        self._last_draw = -float("inf")
        self._last_len = 0
        self._done = 0
        self._closed = False

    def update(self, n_done: int) -> None:
        """Record that ``n_done`` events are done in total; redraw if it is time to."""
        self._done = n_done
        if not self.enabled or self._closed:
            return
        now = self._clock()
        if now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        self._draw(now)

    def close(self) -> None:
        """Draw the final state and end the line. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if not self.enabled:
            return
        self._draw(self._clock())
        self.stream.write("\n")
        self.stream.flush()

    def render(self, now: float | None = None) -> str:
        """The line as it would be drawn now (without carriage return or padding)."""
        now = self._clock() if now is None else now
        elapsed = max(now - self._start, 0.0)
        rate = self._done / elapsed if elapsed > 0 else 0.0
        parts = [self.label]
        if self.total is not None:
            frac = min(max(self._done / self.total, 0.0), 1.0)
            filled = int(frac * _BAR_WIDTH)
            parts.append("[" + "#" * filled + "." * (_BAR_WIDTH - filled) + "]")
            parts.append(f"{frac * 100:5.1f}%")
            parts.append(f"{_fmt_count(self._done)}/{_fmt_count(self.total)} {self.unit}")
        else:
            parts.append(f"{_fmt_count(self._done)} {self.unit}")
        parts.append(f"{_fmt_count(rate)} {self.unit}/s")
        if self._closed:
            parts.append(f"in {_fmt_duration(elapsed)}")
        elif self.total is not None and rate > 0:
            remaining = max(self.total - self._done, 0)
            parts.append(f"ETA {_fmt_duration(remaining / rate)}")
        return " ".join(parts)

    def _draw(self, now: float) -> None:
        line = self.render(now)
        # Pad over the previous line's tail, since "\r" does not clear it.
        pad = " " * max(self._last_len - len(line), 0)
        self._last_len = len(line)
        self.stream.write("\r" + line + pad)
        self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["Progress"]
