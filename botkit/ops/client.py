"""An aiomqtt client for the configured broker: address, credentials, TLS, last will.

The bot's publisher and ``botkit ctl`` both connect through :func:`make_client`,
so both honour the same ``mqtt:`` settings. MQTT 3.1.1 is spoken (every broker
has it); the correlation id of a command travels in its JSON payload.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiomqtt

from botkit.config.mqtt import MqttConfig
from botkit.redact import Secret, reveal


@dataclass(frozen=True)
class BrokerSettings:
    """How to reach the broker; built from ``mqtt:`` by :func:`settings_from`."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: Secret | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    tls_insecure: bool = False
    keepalive_s: int = 30
    timeout_s: float = 10.0


def settings_from(
    mqtt: MqttConfig, resolve: Callable[[Path], Path] | None = None
) -> BrokerSettings:
    """The broker settings of ``mqtt:``; ``resolve(path)`` makes TLS paths absolute
    (``BotConfig.resolve_path``: relative to bot.yaml)."""

    def path(p: Path | None) -> Path | None:
        return p if p is None or resolve is None else resolve(p)

    tls = mqtt.tls
    return BrokerSettings(
        host=mqtt.host,
        port=mqtt.port,
        username=mqtt.username,
        password=mqtt.password,
        tls=tls is not None,
        ca_file=path(tls.ca_file) if tls else None,
        cert_file=path(tls.cert_file) if tls else None,
        key_file=path(tls.key_file) if tls else None,
        tls_insecure=tls.insecure if tls else False,
        keepalive_s=max(1, round(mqtt.keepalive / 1e9)),
    )


def tls_context(s: BrokerSettings) -> ssl.SSLContext | None:
    """The TLS context: the broker verified with ``ca_file`` (else the system's CAs),
    a client certificate when ``cert_file`` is given, hostname checks unless insecure."""
    if not s.tls:
        return None
    ctx = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
    if s.cert_file is not None:
        ctx.load_cert_chain(str(s.cert_file), str(s.key_file) if s.key_file else None)
    if s.tls_insecure:
        ctx.check_hostname = False
    return ctx


def make_client(
    s: BrokerSettings,
    *,
    identifier: str | None = None,
    will: aiomqtt.Will | None = None,
    username: str | None = None,
    password: str | Secret | None = None,
) -> aiomqtt.Client:
    """A client for ``s``; ``username``/``password`` replace the configured ones
    (``botkit ctl`` connects as the operator, not as the bot)."""
    user = username if username is not None else s.username
    secret = password if password is not None else s.password
    ctx = tls_context(s)
    return aiomqtt.Client(
        s.host,
        s.port,
        username=user,
        password=reveal(secret) if secret is not None else None,
        identifier=identifier,
        will=will,
        keepalive=s.keepalive_s,
        timeout=s.timeout_s,
        tls_context=ctx,
        tls_insecure=s.tls_insecure if ctx is not None else None,
    )


__all__ = ["BrokerSettings", "make_client", "settings_from", "tls_context"]
