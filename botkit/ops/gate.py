"""Pause and resume: the gate the engine consults before the risk module.

While the bot (or one strategy) is paused, every new order and edit of it is
refused with the code ``paused``: the strategy hears it as a reject
(``on_order``), the operator sees it on ``risk/rejects``, and nothing reaches
the venue. Cancels always pass, and resting orders stay where they are (send
``cancel_all`` to take them down). The engine holds the gate only while
something is paused (``Engine.gate``), so a running bot pays nothing for it.
"""

from __future__ import annotations

from typing import Any

PAUSED = "paused"
_REASON = "paused by remote control: no new orders or edits until resume"


class TradingGate:
    """Which strategies are paused: all of them, or the named ones."""

    def __init__(self) -> None:
        self.all = False
        self.strategies: set[str] = set()

    def __call__(self, strategy: str, intent: Any) -> tuple[str, str] | None:
        if self.all or strategy in self.strategies:
            return PAUSED, _REASON
        return None

    @property
    def active(self) -> bool:
        """Whether anything is paused (the engine needs the gate only then)."""
        return self.all or bool(self.strategies)

    def pause(self, strategy: str | None = None) -> None:
        if strategy is None:
            self.all = True
        else:
            self.strategies.add(strategy)

    def resume(self, strategy: str | None = None) -> None:
        if strategy is None:
            self.all = False
            self.strategies.clear()
        else:
            self.strategies.discard(strategy)

    def paused(self, names: list[str]) -> list[str]:
        """Of ``names``, those paused now."""
        return [n for n in names if self.all or n in self.strategies]


__all__ = ["PAUSED", "TradingGate"]
