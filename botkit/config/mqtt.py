"""The ``mqtt:`` section of bot.yaml: telemetry and remote control over an MQTT broker.

With the section present, a paper or live run publishes its orders, fills,
positions, PnL, rejects, warnings and a retained status under
``<topic_prefix>/<bot_id>/`` and takes commands on ``.../control``
(``botkit.ops``). Without it nothing connects anywhere. docs/bot-yaml.md
documents every key; docs/operations.md the topics and the commands.

``password`` follows the secrets rule (only ``${VAR}``); the command-signing
secret is named by the environment variable that holds it
(``signing_secret_env``), which the loader reads once
(:meth:`MqttConfig.signing_secret`) so the bot and ``botkit ctl`` take it from
the same place and it is scrubbed from the logs like every other secret.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PrivateAttr, field_validator, model_validator

from botkit.config.durations import PositiveDuration
from botkit.config.errors import NotAllowed, show
from botkit.config.values import Section
from botkit.redact import Secret

# One topic level: no separators, no wildcards, nothing a broker treats specially.
_LEVEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LEVEL_HELP = "1 to 64 letters, digits, '_', '-' or '.', starting with a letter or digit"


def _topic_level(field: str) -> Any:
    def check(v: str) -> str:
        if not isinstance(v, str) or not _LEVEL.fullmatch(v):
            raise NotAllowed(
                f"{show(v)} is not allowed",
                f"a {field} is one MQTT topic level: {_LEVEL_HELP}",
                "No '/', '+' or '#'",
            )
        if v == "feed":
            raise NotAllowed(
                "'feed' is not allowed",
                "<topic_prefix>/feed/ is where `botkit feed` publishes market data",
                "Choose another name",
            )
        return v

    return check


def _prefix(v: Any) -> Any:
    if not isinstance(v, str):
        return v
    parts = v.split("/")
    if not v or not all(_LEVEL.fullmatch(p) for p in parts):
        raise NotAllowed(
            f"{show(v)} is not allowed",
            f"topic levels separated by '/', each {_LEVEL_HELP}",
            "Write e.g. botkit or desk1/botkit, with no leading or trailing '/' and no wildcards",
        )
    return v


def _tls_in(v: Any) -> Any:
    # `tls: true` is TLS with the system's certificate authorities; `false` is none.
    if v is True:
        return {}
    if v is False:
        return None
    return v


class MqttTls(Section):
    """TLS to the broker. Empty (or ``tls: true``): verify the broker with the system's CAs."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False

    @model_validator(mode="after")
    def _key_with_cert(self) -> MqttTls:
        if self.key_file is not None and self.cert_file is None:
            raise NotAllowed(
                "key_file is given without cert_file",
                "a client certificate needs both",
                "Add cert_file: or remove key_file:",
            )
        return self


class MqttConfig(Section):
    """Where the broker is, who the bot is there, and how telemetry and control behave."""

    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(1883, ge=1, le=65535)
    bot_id: Annotated[str, BeforeValidator(_topic_level("bot_id"))]
    topic_prefix: Annotated[str, BeforeValidator(_prefix)] = "botkit"
    username: str | None = Field(None, min_length=1)
    password: Secret | None = None
    tls: Annotated[MqttTls | None, BeforeValidator(_tls_in)] = None
    qos: int = Field(0, ge=0, le=2)
    queue_size: int = Field(10_000, ge=10, le=1_000_000)
    interval: PositiveDuration = 5 * 1_000_000_000
    keepalive: PositiveDuration = 30 * 1_000_000_000
    reconnect_delay: PositiveDuration = 2 * 1_000_000_000
    control: bool = True
    signing_secret_env: str | None = None
    signing_window: PositiveDuration = 30 * 1_000_000_000

    _signing_secret: Secret | None = PrivateAttr(default=None)

    @field_validator("password")
    @classmethod
    def _password_with_user(cls, v: Secret | None, info: Any) -> Secret | None:
        if v is not None and info.data.get("username") is None:
            raise NotAllowed(
                "a password is given without a username",
                "the broker checks the two together",
                "Add username: under mqtt:",
            )
        return v

    @field_validator("signing_secret_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_NAME.fullmatch(v):
            raise NotAllowed(
                f"{show(v)} is not allowed",
                "the name of an environment variable (letters, digits and _)",
                "Name the variable, e.g. BOTKIT_CONTROL_SECRET, not its value",
            )
        return v

    @field_validator("keepalive")
    @classmethod
    def _whole_seconds(cls, v: int) -> int:
        if not 1_000_000_000 <= v <= 65_535 * 1_000_000_000:
            raise NotAllowed(
                f"{v / 1e9:g}s is not allowed",
                "MQTT keepalive is from 1s to 65535s",
                None,
            )
        return v

    def signing_secret(self) -> Secret | None:
        """The command-signing secret read from ``signing_secret_env`` at load, or None."""
        return self._signing_secret

    def secrets(self) -> tuple[Secret, ...]:
        """The section's secret values (for log redaction)."""
        return tuple(s for s in (self.password, self._signing_secret) if s is not None)


__all__ = ["MqttConfig", "MqttTls"]
