"""The ``dashboard:`` section of bot.yaml: ``botkit dashboard``'s login, address and folders.

The dashboard (``botkit.dashboard``, docs/dashboard.md) has its own login: one
``username`` and the ``password_hash`` that ``botkit dashboard hash-password``
prints (scrypt with a random salt; the password itself is never stored). The
hash is held as a :class:`botkit.redact.Secret`, so a printed config shows
``***``. The dashboard's own broker user (read every bot's topics, publish on
their control topics) is ``mqtt_username`` with the password in the environment
variable ``mqtt_password_env``; without them it connects as ``mqtt:`` says.
docs/bot-yaml.md documents every key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, field_validator, model_validator

from botkit.config.durations import PositiveDuration
from botkit.config.errors import NotAllowed, show
from botkit.config.values import Section
from botkit.redact import Secret

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# What hash-password prints: scrypt$ln=<log2 n>,r=<r>,p=<p>$<salt>$<hash> (base64, no padding).
HASH_FORMAT = re.compile(
    r"scrypt\$ln=\d{1,2},r=\d{1,3},p=\d{1,2}\$[A-Za-z0-9+/]{16,}\$[A-Za-z0-9+/]{32,}"
)


class DashboardTls(Section):
    """Serve the dashboard over HTTPS with this certificate and key."""

    cert_file: Path
    key_file: Path


class DashboardConfig(Section):
    """Who may log in to ``botkit dashboard``, where it listens, and what it shows."""

    username: str = Field(min_length=1, max_length=64)
    password_hash: Secret
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8780, ge=1, le=65535)
    reports: Path | None = None
    journal: Path | None = None
    tls: DashboardTls | None = None
    secure_cookies: bool | None = None
    session_ttl: PositiveDuration = 8 * 3600 * 1_000_000_000
    session_idle: PositiveDuration = 30 * 60 * 1_000_000_000
    login_attempts: int = Field(5, ge=1, le=1000)
    login_window: PositiveDuration = 5 * 60 * 1_000_000_000
    mqtt_username: str | None = Field(None, min_length=1)
    mqtt_password_env: str | None = None
    command_timeout: PositiveDuration = 5 * 1_000_000_000

    _mqtt_password: Secret | None = PrivateAttr(default=None)

    @field_validator("password_hash")
    @classmethod
    def _a_hash(cls, v: Secret) -> Secret:
        if not HASH_FORMAT.fullmatch(v.reveal()):
            # The value is never echoed: it may be a password written by mistake.
            raise NotAllowed(
                "this is not a password hash",
                "the line `botkit dashboard hash-password` prints (scrypt$ln=...)",
                "Run `botkit dashboard hash-password` and paste what it prints; never the "
                "password itself",
            )
        return v

    @field_validator("mqtt_password_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_NAME.fullmatch(v):
            raise NotAllowed(
                f"{show(v)} is not allowed",
                "the name of an environment variable (letters, digits and _)",
                "Name the variable, e.g. DASHBOARD_MQTT_PASSWORD, not its value",
            )
        return v

    @model_validator(mode="after")
    def _password_needs_user(self) -> DashboardConfig:
        if self.mqtt_password_env is not None and self.mqtt_username is None:
            raise NotAllowed(
                "mqtt_password_env is given without mqtt_username",
                "the broker checks the two together",
                "Add mqtt_username: under dashboard:",
            )
        return self

    def mqtt_password(self) -> Secret | None:
        """The dashboard's broker password, read from ``mqtt_password_env`` at load."""
        return self._mqtt_password

    def read_env(self, env: Any) -> str | None:
        """Read ``mqtt_password_env`` from ``env``; the problem in words, or None."""
        name = self.mqtt_password_env
        if name is None:
            return None
        value = env.get(name)
        if not value:
            return f"environment variable {name} (dashboard.mqtt_password_env) is " + (
                "set but empty" if value == "" else "not set"
            )
        self._mqtt_password = Secret(value)
        return None

    def secrets(self) -> tuple[Secret, ...]:
        """The section's secret values (for log redaction): the hash and the broker password."""
        return tuple(s for s in (self.password_hash, self._mqtt_password) if s is not None)


__all__ = ["HASH_FORMAT", "DashboardConfig", "DashboardTls"]
