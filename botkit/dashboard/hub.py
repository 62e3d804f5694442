"""The bots the dashboard knows, and the browsers watching them: messages in, pushes out.

Sources (the MQTT bridge, the journal source) call :meth:`Hub.publish` with
each message of a bot; the hub applies it to that bot's
:class:`~botkit.dashboard.botview.BotView` and queues the change for every
browser watching that bot (a :class:`Listener`, one per websocket). A new bot
or a changed state goes to every browser as the bot list. A browser too slow
to keep up is not waited for: its queue is bounded, and when it overflows the
queue is emptied and the browser gets a fresh snapshot instead.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from botkit.dashboard.botview import BotView
from botkit.ops.topics import STATUS

QUEUE_SIZE = 2000


class Listener:
    """One browser: what it watches, and the messages waiting to be sent to it."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.bot: str | None = None
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)

    def push(self, message: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:  # too slow: start again from a snapshot
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(self.hub.bots_message())
            if self.bot is not None and self.bot in self.hub.bots:
                self.queue.put_nowait(self.hub.snapshot_message(self.bot))

    def watch(self, bot_id: str | None) -> None:
        """Watch ``bot_id`` from now on: its snapshot comes first, then its changes."""
        self.bot = bot_id
        if bot_id is not None and bot_id in self.hub.bots:
            self.push(self.hub.snapshot_message(bot_id))


class Hub:
    """Bots by id, and the listeners to tell about them."""

    def __init__(self) -> None:
        self.bots: dict[str, BotView] = {}
        self.listeners: set[Listener] = set()
        self.sources: list[dict[str, Any]] = []  # each source's own health (link to the broker)

    def view(self, bot_id: str, source: str = "mqtt", controllable: bool = True) -> BotView:
        bot = self.bots.get(bot_id)
        if bot is None:
            bot = self.bots[bot_id] = BotView(bot_id, source, controllable)
        return bot

    def publish(
        self,
        bot_id: str,
        kind: str,
        payload: Any,
        *,
        source: str = "mqtt",
        controllable: bool = True,
        now: float | None = None,
    ) -> None:
        """One message of ``bot_id``: update its view and tell the browsers."""
        known = bot_id in self.bots
        bot = self.view(bot_id, source, controllable)
        before = bot.state
        change = bot.apply(kind, payload, now)
        if change is not None:
            message = {"type": "update", "bot": bot_id, "change": change}
            for listener in self.listeners:
                if listener.bot == bot_id:
                    listener.push(message)
        if not known or (kind == STATUS and bot.state != before):
            self.broadcast(self.bots_message())

    def broadcast(self, message: dict[str, Any]) -> None:
        for listener in self.listeners:
            listener.push(message)

    def listen(self) -> Listener:
        listener = Listener(self)
        self.listeners.add(listener)
        return listener

    def leave(self, listener: Listener) -> None:
        self.listeners.discard(listener)

    # ----- messages -------------------------------------------------------------------------

    def bots_message(self, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        order = {"running": 0, "paused": 1, "reducing": 1, "halted": 1}
        bots = sorted(self.bots.values(), key=lambda b: (order.get(b.state, 2), b.id))
        return {
            "type": "bots",
            "bots": [b.summary(now) for b in bots],
            "sources": self.sources,
        }

    def snapshot_message(self, bot_id: str) -> dict[str, Any]:
        return {"type": "snapshot", "bot": bot_id, "view": self.bots[bot_id].snapshot()}

    def tick_message(self, bot_id: str | None, now: float | None = None) -> dict[str, Any]:
        """Once a second: the list (ages move on) and the watched bot's health."""
        now = time.time() if now is None else now
        out = self.bots_message(now)
        out["type"] = "tick"
        if bot_id is not None and bot_id in self.bots:
            out["health"] = self.bots[bot_id].health(now)
        return out


__all__ = ["Hub", "Listener"]
