"""Warnings and errors to the ``log`` topic, with every known secret scrubbed first.

A logging handler on the root logger at WARNING: whatever botkit, a venue
adapter or a strategy logs at warning level or above is queued for MQTT (the
publisher's bounded queue; logging never waits on the broker). The text goes
through the same :class:`botkit.redact.RedactingFilter` as the terminal log,
with the config's secrets, the MQTT password and the signing secret. Records
of the MQTT client libraries themselves stay out, so a broker problem cannot
feed on itself.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from typing import Any

from botkit.ops import payloads
from botkit.ops.publisher import Publisher
from botkit.ops.topics import LOG
from botkit.redact import RedactingFilter, Secret

_SKIP = ("mqtt", "aiomqtt", "paho", "amqtt", "transitions")
MAX_MESSAGE = 4000


class MqttLogHandler(logging.Handler):
    """Queues each warning and error record as a ``log`` message."""

    def __init__(self, publisher: Publisher, secrets: Iterable[str | Secret] = ()) -> None:
        super().__init__(logging.WARNING)
        self.publisher = publisher
        self.addFilter(RedactingFilter(secrets))
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        name = record.name
        if name.split(".", 1)[0] in _SKIP:
            return
        try:
            message = record.getMessage()[:MAX_MESSAGE]
            exc = record.exc_text  # set and scrubbed by the filter when there are secrets
            if exc is None and record.exc_info:
                exc = logging.Formatter().formatException(record.exc_info)
            body = (record, message, exc[-MAX_MESSAGE:] if exc else None)
            ts_ns = int(record.created * 1e9)
            if threading.get_ident() == self._thread:
                self.publisher.put(LOG, ts_ns, _build, body)
            elif not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self.publisher.put, LOG, ts_ns, _build, body)
        except Exception:
            self.handleError(record)


def _build(arg: tuple[logging.LogRecord, str, str | None]) -> dict[str, Any]:
    return payloads.log_record(*arg)


def install(publisher: Publisher, secrets: Iterable[str | Secret]) -> MqttLogHandler:
    handler = MqttLogHandler(publisher, secrets)
    logging.getLogger().addHandler(handler)
    return handler


def uninstall(handler: MqttLogHandler) -> None:
    logging.getLogger().removeHandler(handler)


__all__ = ["MqttLogHandler", "install", "uninstall"]
