"""A latency probe: websocket message received -> HTTP request written, in process.

Off by default, and then free: the two instrumented points (the venue websocket
client as it gets a frame, the REST client's "request headers sent" trace hook)
each test one module global, ``probe``, against None and do nothing else.

On (``install()``, as ``bench/latency.py`` does), the websocket client stamps
every frame with ``time.perf_counter_ns()`` (and ``time.thread_time_ns()``) in a
context variable of the task
that reads the stream. Whatever that task starts while it handles the frame (the
live gateway's request task for an order a strategy placed on it) inherits the
stamp; when that request's headers are handed to the transport, the REST
client's trace hook takes ``perf_counter_ns()`` again and records the difference,
once per frame: the first request it led to (a retry, or a read-back the same
task sends after the order's reply, is not counted again). A request started by
anything else (the fill poll, reconciliation) carries no stamp and is ignored.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

__all__ = ["LatencyProbe", "install", "probe", "received", "uninstall", "written"]

# The perf_counter_ns() and thread_time_ns() at which the frame being handled was
# received ((0, 0): none).
RECEIVED: ContextVar[tuple[int, int]] = ContextVar("botkit_latency_received", default=(0, 0))


class LatencyProbe:
    """Collects received -> written intervals, in nanoseconds: ``samples`` of wall-clock
    time (``perf_counter_ns``) and ``cpu_samples`` of this thread's CPU time
    (``thread_time_ns``: the same interval less the time the OS ran something else)."""

    def __init__(self, limit: int | None = None) -> None:
        self.samples: list[int] = []
        self.cpu_samples: list[int] = []
        self.limit = limit  # stop recording past this many (None: no limit)
        self.skipped = 0  # for a bench: the events it chose not to answer
        self._last_origin = 0

    def received(self, now_ns: int, cpu_ns: int) -> None:
        RECEIVED.set((now_ns, cpu_ns))

    def written(self, now_ns: int, cpu_ns: int) -> None:
        origin, cpu_origin = RECEIVED.get()
        if not origin or origin == self._last_origin:
            return
        # Once per frame: the first request it led to. A retry, or a later request of
        # the same task (a read-back after the order's reply), is not a new sample.
        self._last_origin = origin
        RECEIVED.set((0, 0))
        if self.limit is None or len(self.samples) < self.limit:
            self.samples.append(now_ns - origin)
            self.cpu_samples.append(cpu_ns - cpu_origin)


probe: LatencyProbe | None = None


def install(new: LatencyProbe | None = None) -> LatencyProbe:
    """Turn the probe on (a fresh one unless given); returns it."""
    global probe
    probe = new if new is not None else LatencyProbe()
    return probe


def uninstall() -> None:
    """Turn the probe off."""
    global probe
    probe = None


def received() -> None:
    """A frame was received (call only when ``probe`` is not None)."""
    if probe is not None:
        probe.received(time.perf_counter_ns(), time.thread_time_ns())


def written() -> None:
    """A request was handed to the transport (call only when ``probe`` is not None)."""
    if probe is not None:
        probe.written(time.perf_counter_ns(), time.thread_time_ns())
