"""``botkit ctl``: send one control command to a running bot and wait for its reply.

It subscribes to ``<prefix>/<bot_id>/control/reply`` first, then publishes the
command (QoS 1) with a fresh correlation id, signed when a signing secret is
given, and returns the reply with that id. ``botkit ctl --config bot.yaml``
takes the broker, credentials, TLS, topic prefix and signing secret from the
bot's ``mqtt:`` section; options override each part.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import aiomqtt

from botkit.ops.client import BrokerSettings, make_client
from botkit.ops.signing import seal
from botkit.ops.topics import CONTROL, REPLY, Topics
from botkit.redact import Secret


class CtlError(Exception):
    """No reply: the broker refused or could not be reached, or the bot did not answer."""


def command_payload(
    command: str,
    args: dict[str, Any] | None = None,
    *,
    request_id: str | None = None,
    secret: Secret | str | None = None,
    ts: float | None = None,
) -> tuple[str, bytes]:
    """``(id, payload)`` of a command: plain JSON, or the signed envelope with ``secret``."""
    rid = request_id or f"ctl-{uuid.uuid4().hex[:12]}"
    body: dict[str, Any] = {"id": rid, "command": command}
    if args:
        body["args"] = args
    if secret is not None or ts is not None:
        body["ts"] = time.time() if ts is None else ts
    if secret is not None:
        return rid, seal(body, secret)
    return rid, json.dumps(body, separators=(",", ":")).encode()


async def send(
    settings: BrokerSettings,
    topics: Topics,
    command: str,
    args: dict[str, Any] | None = None,
    *,
    secret: Secret | str | None = None,
    username: str | None = None,
    password: Secret | str | None = None,
    timeout_s: float = 5.0,
) -> dict[str, Any]:
    """Send ``command`` and return the bot's reply (its JSON object)."""
    rid, payload = command_payload(command, args, secret=secret)
    try:
        async with make_client(
            settings,
            identifier=f"botkit-ctl-{uuid.uuid4().hex[:8]}",
            username=username,
            password=password,
        ) as client:
            await client.subscribe(topics.of(REPLY), qos=1)
            await client.publish(topics.of(CONTROL), payload, qos=1)
            try:
                async with asyncio.timeout(timeout_s):
                    async for message in client.messages:
                        try:
                            reply = json.loads(bytes(message.payload))  # type: ignore[arg-type]
                        except (ValueError, TypeError):
                            continue
                        if isinstance(reply, dict) and reply.get("id") == rid:
                            return reply
            except TimeoutError:
                raise CtlError(
                    f"no reply from bot {topics.bot_id} within {timeout_s:g}s: is it running, "
                    f"connected to {settings.host}:{settings.port} with topic prefix "
                    f"{topics.prefix!r}, and may this user publish on {topics.of(CONTROL)}?"
                ) from None
    except aiomqtt.MqttError as exc:
        raise CtlError(f"the broker at {settings.host}:{settings.port}: {exc}") from None
    raise CtlError("the connection closed before the reply came")


__all__ = ["CtlError", "command_payload", "send"]
