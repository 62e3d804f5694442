"""The run's state and the retained ``status`` payload.

The state is one word:

==========  ====================================================================
running     trading normally
paused      ``pause``: new orders and edits refused (code ``paused``), cancels pass
reducing    the kill switch on reducing (``flatten``, or ``risk.kill_switch``):
            only reduce-only orders pass
halted      the kill switch on halted (``halt``): only cancels pass
stopped     the run ended cleanly
offline     the broker's last will: the bot's connection died without a goodbye
==========  ====================================================================
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from botkit.ops import payloads
from botkit.redact import Secret, redact

if TYPE_CHECKING:
    from botkit.engine import Engine
    from botkit.ops.gate import TradingGate
    from botkit.ops.health import FeedHealth
    from botkit.plugins import StrategySpec

STATES = ("running", "paused", "reducing", "halted", "stopped", "offline")
_BY_KILL_SWITCH = {"active": "running", "reducing": "reducing", "halted": "halted"}


def botkit_version() -> str:
    try:
        return version("botkit")
    except PackageNotFoundError:
        return "unknown"


def state_of(engine: Engine, gate: TradingGate) -> str:
    """running, paused, reducing or halted: the kill switch first, then the pause."""
    word = _BY_KILL_SWITCH.get(engine.risk.kill_switch, "halted")
    if word == "running" and gate.all:
        return "paused"
    return word


class StatusBuilder:
    """Builds the status body of one run from its parts (all read, none changed)."""

    def __init__(
        self,
        *,
        mode: str,
        venue: str,
        strategies: Sequence[tuple[str, str]],
        secrets: Sequence[Secret | str] = (),
        started_ns: int | None = None,
    ) -> None:
        self.mode = mode
        self.venue = venue
        self.strategy_uses = list(strategies)  # (name, use)
        self.secrets = tuple(secrets)
        self.started_ns = time.time_ns() if started_ns is None else started_ns
        self.version = botkit_version()
        self.engine: Engine | None = None
        self.gate: TradingGate | None = None
        self.feed: FeedHealth | None = None
        self.specs: dict[str, StrategySpec] = {}
        self.telemetry: Callable[[], dict[str, Any]] | None = None
        self.venue_health: Callable[[], dict[str, Any]] | None = None

    def _clean(self, text: str | None) -> str | None:
        return None if text is None else redact(text, self.secrets)

    def offline(self) -> dict[str, Any]:
        """The last will: what the broker tells everyone when the bot vanishes."""
        return {**self._head("offline", online=False), "reason": "connection lost"}

    def body(self, final: bool = False) -> dict[str, Any]:
        """The current status; ``final``: the run has stopped."""
        engine, gate = self.engine, self.gate
        if engine is None or gate is None:
            state = "stopped" if final else "running"
        else:
            state = "stopped" if final else state_of(engine, gate)
        out = self._head(state, online=not final)
        now = time.time_ns()
        out["uptime_s"] = round((now - self.started_ns) / 1e9, 3)
        if engine is not None:
            out["orders_open"] = engine.router.open_count
            out["fills"] = len(engine.router.fills)
            out["rejects"] = dict(sorted(engine.rejects.items()))
            out["hook_errors"] = sum(engine.hook_errors.values())
            out["kill_switch"] = engine.risk.kill_switch
        if gate is not None:
            names = [n for n, _ in self.strategy_uses]
            out["paused_strategies"] = gate.paused(names)
        if self.feed is not None:
            feed = self.feed.snapshot(now)
            feed["last_error"] = self._clean(feed["last_error"])  # type: ignore[arg-type]
            out["websocket"] = feed
        if self.telemetry is not None:
            out["telemetry"] = self.telemetry()
        if self.venue_health is not None:
            out["venue_health"] = self.venue_health()
        return out

    def _head(self, state: str, online: bool) -> dict[str, Any]:
        return {
            "state": state,
            "online": online,
            "schema": payloads.SCHEMA_VERSION,
            "version": self.version,
            "mode": self.mode,
            "venue": self.venue,
            "strategies": [{"name": n, "use": u} for n, u in self.strategy_uses],
            "started_at": payloads.iso(self.started_ns),
        }


__all__ = ["STATES", "StatusBuilder", "botkit_version", "state_of"]
