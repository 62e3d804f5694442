"""Strictly increasing request nonces for the HMAC-signed venues.

The venues' examples use the wall clock (whole seconds, or milliseconds); the
venues themselves only require each nonce to be greater than
the previous one. Whole seconds repeat within a second, and a clock can step
backwards (NTP), so a nonce is ``max(last + 1, now in the unit)``: it follows the
clock when the clock moves forward and counts up by one otherwise.

``last`` is what the journal persists; a source built from the persisted value
never goes backwards across a restart, even if the clock did. Changing the unit
later is safe in both directions: going from ms to µs jumps forward, going from
µs to ms keeps counting from the larger persisted value.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Literal, Protocol, runtime_checkable

__all__ = ["NS_PER_UNIT", "ClockNonce", "NonceSource", "NonceUnit", "advance_past_refusal"]

NonceUnit = Literal["ms", "us"]

NS_PER_UNIT: Mapping[str, int] = MappingProxyType({"ms": 1_000_000, "us": 1_000})
_NS_PER = NS_PER_UNIT


@runtime_checkable
class NonceSource(Protocol):
    """Strictly increasing nonces for one API key: what a signed venue's client draws from.

    Two implementations: :class:`ClockNonce` (in memory) and the journal's
    (``Journal.nonce_source``), which stores every value, or a high-water mark
    once per block of values, before handing it out.
    """

    @property
    def last(self) -> int:
        """The most recent value handed out (or the persisted starting value)."""
        ...

    def next(self) -> int:
        """The next value: greater than every value handed out before."""
        ...

    def advance_to(self, value: int) -> None:
        """Never hand out ``value`` or anything below it (the venue saw a higher one)."""
        ...


class ClockNonce:
    """Hands out strictly increasing integers for one API key, in memory.

    ``clock`` returns the current time in nanoseconds (``time.time_ns`` by
    default); tests and the simulator pass their own.
    """

    __slots__ = ("_clock", "_divisor", "_last", "_lock", "unit")

    def __init__(
        self,
        last: int = 0,
        unit: NonceUnit = "ms",
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        if isinstance(last, bool) or not isinstance(last, int):
            raise TypeError(f"last must be an int, got {type(last).__name__}")
        if last < 0:
            raise ValueError(f"last must be >= 0, got {last}")
        if unit not in _NS_PER:
            raise ValueError(f"unit must be one of {sorted(_NS_PER)}, got {unit!r}")
        self.unit: NonceUnit = unit
        self._divisor = _NS_PER[unit]
        self._clock = clock
        self._last = last
        # Several tasks or threads may sign with the same key; two of them must
        # never be handed the same value.
        self._lock = threading.Lock()

    @property
    def last(self) -> int:
        """The most recent nonce handed out (or the persisted starting value)."""
        return self._last

    def next(self) -> int:
        """The next nonce: ``max(last + 1, now in the unit)``."""
        now = self._clock() // self._divisor
        with self._lock:
            value = max(self._last + 1, now)
            self._last = value
            return value

    def advance_to(self, value: int) -> None:
        """Never hand out ``value`` or anything below it.

        For when the venue reports a higher last-seen nonce (another process used
        the key) or the journal holds a larger value than this source started from.
        """
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"value must be an int, got {type(value).__name__}")
        with self._lock:
            self._last = max(self._last, value)

    def __repr__(self) -> str:
        return f"ClockNonce(last={self._last}, unit={self.unit!r})"


_QUOTED_NONCE = re.compile(r"(\d{4,})")


def advance_past_refusal(source: NonceSource, message: str) -> None:
    """After a venue refused a nonce, skip past the last one it reports having seen.

    Venues answer like "Invalid nonce: must be greater than 1795481767007";
    counting up by one from a clock that is behind (a restart without the
    journal, another process on the key) could take many refusals.
    """
    quoted = _QUOTED_NONCE.findall(message)
    if quoted:
        source.advance_to(int(quoted[-1]))
