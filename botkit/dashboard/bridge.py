"""The dashboard's MQTT side: every bot's topics in, control commands out.

:class:`MqttBridge` subscribes to ``<prefix>/+/#`` on the broker (so the
retained status of every bot arrives at once: that is the bot list) and hands
each message to the :class:`~botkit.dashboard.hub.Hub`; it reconnects with a
backoff when the broker goes away, and reports its own link in the hub's
``sources``. Commands go exactly as ``botkit ctl`` sends them
(:func:`botkit.ops.ctl.send`: a fresh correlation id, signed with the
signing secret when one is configured, the reply awaited on the reply topic),
as the dashboard's own broker user when one is configured.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

import aiomqtt

from botkit.dashboard.hub import Hub
from botkit.ops.client import BrokerSettings, make_client
from botkit.ops.ctl import CtlError, send
from botkit.ops.topics import CONTROL, REPLY, Topics
from botkit.redact import Secret

log = logging.getLogger("botkit.dashboard")

MIN_BACKOFF_S = 0.1
MAX_BACKOFF_S = 5.0
COMMANDS = ("pause", "resume", "cancel_all", "flatten", "halt", "status")
DESTRUCTIVE = frozenset({"cancel_all", "flatten", "halt"})


class MqttBridge:
    """One broker connection feeding the hub, and the commands sent to the bots."""

    def __init__(
        self,
        hub: Hub,
        settings: BrokerSettings,
        prefix: str = "botkit",
        *,
        username: str | None = None,
        password: Secret | None = None,
        secret: Secret | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.hub = hub
        self.settings = settings
        self.prefix = prefix
        self.username = username
        self.password = password
        self.secret = secret
        self.timeout_s = timeout_s
        self.link: dict[str, Any] = {
            "kind": "mqtt",
            "broker": f"{settings.host}:{settings.port}",
            "prefix": prefix,
            "connected": False,
            "reconnects": 0,
            "last_error": None,
            "signed": secret is not None,
        }
        hub.sources.append(self.link)
        self._connects = 0

    def _bot_and_kind(self, topic: str) -> tuple[str, str] | None:
        head = self.prefix + "/"
        if not topic.startswith(head):
            return None
        bot_id, _, rest = topic[len(head) :].partition("/")
        if not bot_id or rest in (CONTROL, REPLY):
            return None
        kind = Topics(self.prefix, bot_id).kind_of(topic)
        return None if kind is None else (bot_id, kind)

    def handle(self, topic: str, data: bytes) -> None:
        """One message from the broker."""
        where = self._bot_and_kind(topic)
        if where is None:
            return
        try:
            payload = json.loads(data)
        except ValueError:
            return
        self.hub.publish(*where, payload, now=time.time())

    async def run(self) -> None:
        """Stay connected and subscribed until cancelled."""
        backoff = MIN_BACKOFF_S
        while True:
            try:
                client = make_client(
                    self.settings,
                    identifier=f"botkit-dashboard-{uuid.uuid4().hex[:8]}",
                    username=self.username,
                    password=self.password,
                )
                async with client:
                    await client.subscribe(f"{self.prefix}/+/#", qos=1)
                    self._connects += 1
                    self.link.update(connected=True, reconnects=self._connects - 1, last_error=None)
                    log.info(
                        "dashboard: subscribed to %s/+/# on %s", self.prefix, self.link["broker"]
                    )
                    backoff = MIN_BACKOFF_S
                    async for message in client.messages:
                        raw = message.payload
                        data = raw if isinstance(raw, bytes | bytearray) else str(raw).encode()
                        self.handle(str(message.topic), bytes(data))
            except aiomqtt.MqttError as exc:
                self.link.update(connected=False, last_error=str(exc)[:200])
                log.warning("dashboard: the broker at %s: %s", self.link["broker"], exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def command(
        self, bot_id: str, command: str, args: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send a control command to ``bot_id`` and return its reply; :class:`CtlError` if none."""
        if command not in COMMANDS:
            raise ValueError(f"unknown command {command!r}: one of {', '.join(COMMANDS)}")
        return await send(
            self.settings,
            Topics(self.prefix, bot_id),
            command,
            args,
            secret=self.secret,
            username=self.username,
            password=self.password,
            timeout_s=self.timeout_s,
        )


__all__ = ["COMMANDS", "DESTRUCTIVE", "CtlError", "MqttBridge"]
