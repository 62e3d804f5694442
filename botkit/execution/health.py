"""The live run's health: counters of everything that went wrong and was survived.

Every fault the live components absorb (a lost answer, a row that did not
parse, a dropped stream, a background task restarted) is counted here under a
stable name, so a run's summary and its operator see what happened even when
the bot carried on. The counters are a plain dict (``counts``), readable at any
time; ``count`` is the one way to add to them.
"""

from __future__ import annotations


class Health:
    """Named counters of absorbed faults (``counts[name]``: how many times)."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def __getitem__(self, what: str) -> int:
        return self.counts.get(what, 0)

    def snapshot(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


__all__ = ["Health"]
