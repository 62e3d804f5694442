"""``botkit dashboard``: serve the dashboard; ``botkit dashboard hash-password``: make a login.

::

    botkit dashboard [CONFIG] [--broker HOST[:PORT]] [--prefix P] [--secret-env VAR]
                     [--journal PATH] [--reports DIR] [--host H] [--port P]
    botkit dashboard hash-password            # prompts twice, or reads one line from stdin

``CONFIG`` is a bot.yaml (its ``mqtt:`` section gives the broker, the topic
prefix, TLS and the signing secret; its ``dashboard:`` section the login), or
a file holding only a ``dashboard:`` section (then ``--broker`` says where the
bots are). With no broker at all the dashboard reads a journal instead
(``--journal``, ``dashboard.journal``, else a bot.yaml's ``live.journal``).
The options override the files. Exit 2: a mistake in the files or options.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import ssl
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

EXIT_CONFIG = 2


class UsageError(Exception):
    """A mistake in the config or the options: one line, exit 2."""


def register(sub: Any) -> None:
    """Add ``dashboard`` to the ``botkit`` command."""
    p = sub.add_parser(
        "dashboard",
        help="the web dashboard: live bots over MQTT, backtests and sweeps",
        description="Serve the dashboard (docs/dashboard.md). `botkit dashboard hash-password` "
        "prints the password hash for dashboard.password_hash.",
    )
    p.add_argument(
        "config",
        nargs="?",
        help="bot.yaml (or a file with only a dashboard: section); or hash-password",
    )
    p.add_argument("--broker", metavar="HOST[:PORT]", help="the MQTT broker (default: mqtt:)")
    p.add_argument("--prefix", help="topic prefix (default: mqtt.topic_prefix, else botkit)")
    p.add_argument("--secret-env", metavar="VAR", help="sign commands with the secret in VAR")
    p.add_argument("--journal", help="read this journal when there is no broker")
    p.add_argument("--reports", help="the folder of backtest runs and sweeps to browse")
    p.add_argument("--host", help="address to listen on (default: dashboard.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default: dashboard.port, 8780)")
    p.add_argument("--log-level", default="info", help="debug, info, warning or error")
    p.set_defaults(func=main)


# ----- hash-password ----------------------------------------------------------------------------


def hash_password_command() -> int:
    from botkit.dashboard.passwords import PasswordError, hash_password

    if sys.stdin.isatty():
        first = getpass.getpass("dashboard password: ")
        if getpass.getpass("again: ") != first:
            print("error: the two passwords differ", file=sys.stderr)
            return EXIT_CONFIG
    else:
        first = sys.stdin.readline().rstrip("\r\n")
    try:
        print(hash_password(first))
    except PasswordError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return 0


# ----- the server's settings --------------------------------------------------------------------


@dataclass
class Plan:
    """Everything ``botkit dashboard`` will run with, resolved from files and options."""

    dashboard: Any  # DashboardConfig
    base_dir: Path
    settings: Any | None = None  # BrokerSettings, or None: no broker
    prefix: str = "botkit"
    signing: Any | None = None  # Secret
    journal: Path | None = None
    reports: Path | None = None
    secrets: tuple[Any, ...] = ()


def _load_dashboard_only(path: Path, data: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    from botkit.config.dashboard import DashboardConfig
    from botkit.config.env import expand
    from botkit.config.errors import ConfigError, issues_from_validation

    expanded, issues = expand(data, os.environ, "dashboard")
    if issues:
        raise ConfigError(str(path), issues)
    try:
        return DashboardConfig.model_validate(expanded.get("dashboard"))
    except ValidationError as exc:
        raise ConfigError(
            str(path), issues_from_validation(exc, DashboardConfig, ("dashboard",))
        ) from None


def plan(args: argparse.Namespace) -> Plan:
    """Read the config and the options into a :class:`Plan` (:class:`UsageError` if wrong)."""
    import yaml

    from botkit.config import ConfigError, load_config
    from botkit.ops.client import BrokerSettings, settings_from
    from botkit.redact import Secret

    if not args.config:
        raise UsageError(
            "give a bot.yaml (or a file with a dashboard: section) with the login: "
            "dashboard: {username: ..., password_hash: ...}; make the hash with "
            "`botkit dashboard hash-password`"
        )
    path = Path(args.config)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError:
        raw = None  # load_config says where
    try:
        if isinstance(raw, dict) and set(raw) == {"dashboard"}:
            config = None
            dashboard = _load_dashboard_only(path, raw)
            base = path.resolve().parent
        else:
            config = load_config(path)
            dashboard = config.dashboard
            base = config.base_dir
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if dashboard is None:
        raise UsageError(
            f"{path} has no dashboard: section; add dashboard: {{username: ..., "
            "password_hash: ...}} (the hash from `botkit dashboard hash-password`)"
        )
    problem = dashboard.read_env(os.environ)
    if problem:
        raise UsageError(problem)

    def resolve(p: str | Path) -> Path:
        p = Path(p).expanduser()
        return p if p.is_absolute() else base / p

    out = Plan(dashboard=dashboard, base_dir=base, secrets=dashboard.secrets())
    if config is not None:
        out.secrets = config.secrets()
    if config is not None and config.mqtt is not None:
        out.settings = settings_from(config.mqtt, config.resolve_path)
        out.prefix = config.mqtt.topic_prefix
        out.signing = config.mqtt.signing_secret()
    if args.broker:
        host, _, port = args.broker.rpartition(":") if ":" in args.broker else (args.broker, "", "")
        try:
            port_n = int(port) if port else 1883
        except ValueError:
            raise UsageError(f"--broker takes HOST[:PORT], got {args.broker!r}") from None
        out.settings = replace(out.settings or BrokerSettings(), host=host, port=port_n)
    if args.prefix:
        out.prefix = args.prefix
    if args.secret_env:
        value = os.environ.get(args.secret_env)
        if not value:
            raise UsageError(f"--secret-env: environment variable {args.secret_env} is not set")
        out.signing = Secret(value)
        out.secrets = (*out.secrets, out.signing)
    if args.journal:
        out.journal = Path(args.journal)
    elif dashboard.journal is not None:
        out.journal = resolve(dashboard.journal)
    elif out.settings is None and config is not None:
        out.journal = config.resolve_path(config.live.journal)
    if out.settings is None and out.journal is None:
        raise UsageError("no broker and no journal: give --broker HOST[:PORT] or --journal PATH")
    if out.journal is not None and not out.journal.is_file():
        raise UsageError(f"no journal at {out.journal}")
    if args.reports:
        out.reports = Path(args.reports)
    elif dashboard.reports is not None:
        out.reports = resolve(dashboard.reports)
    elif config is not None:  # the folder above output.dir, once a backtest made it
        default = config.resolve_path(config.output.dir).parent
        out.reports = default if default.is_dir() else None
    if out.reports is not None and not out.reports.is_dir():
        raise UsageError(f"reports folder {out.reports}: no such folder")
    return out


def build(p: Plan) -> Any:
    """The :class:`~botkit.dashboard.server.Dashboard` for a plan."""
    from botkit.dashboard.bridge import MqttBridge
    from botkit.dashboard.hub import Hub
    from botkit.dashboard.journalsource import JournalSource
    from botkit.dashboard.reports import Reports
    from botkit.dashboard.server import Dashboard, Login

    d = p.dashboard
    hub = Hub()
    bridge = None
    if p.settings is not None:
        bridge = MqttBridge(
            hub,
            p.settings,
            p.prefix,
            username=d.mqtt_username,
            password=d.mqtt_password(),
            secret=p.signing,
            timeout_s=d.command_timeout / 1e9,
        )
    journal = JournalSource(hub, p.journal) if p.journal is not None else None
    login = Login(
        username=d.username,
        password_hash=d.password_hash,
        secure_cookies=d.secure_cookies if d.secure_cookies is not None else d.tls is not None,
        session_ttl_s=d.session_ttl / 1e9,
        session_idle_s=d.session_idle / 1e9,
        login_attempts=d.login_attempts,
        login_window_s=d.login_window / 1e9,
    )
    reports = Reports(p.reports) if p.reports is not None else None
    return Dashboard(login, hub, bridge=bridge, journal=journal, reports=reports)


def _tls(p: Plan) -> ssl.SSLContext | None:
    tls = p.dashboard.tls
    if tls is None:
        return None
    base = p.base_dir
    cert = tls.cert_file if tls.cert_file.is_absolute() else base / tls.cert_file
    key = tls.key_file if tls.key_file.is_absolute() else base / tls.key_file
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"dashboard.tls: cannot load {cert} and {key}: {exc}") from None
    return ctx


def main(args: argparse.Namespace) -> int:
    if args.config == "hash-password":
        return hash_password_command()
    from aiohttp import web

    from botkit.redact import install_redaction

    try:
        p = plan(args)
        ctx = _tls(p)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    install_redaction(logging.getLogger(), [s.reveal() for s in p.secrets])
    dashboard = build(p)
    host = args.host or p.dashboard.host
    port = args.port or p.dashboard.port
    scheme = "https" if ctx is not None else "http"
    where = (
        f"broker {p.settings.host}:{p.settings.port}, prefix {p.prefix}"
        if p.settings is not None
        else f"journal {p.journal}"
    )
    print(
        f"botkit dashboard on {scheme}://{host}:{port}/ ({where}; reports: {p.reports or 'none'})",
        flush=True,
    )
    if host not in ("127.0.0.1", "localhost", "::1") and ctx is None:
        logging.getLogger("botkit.dashboard").warning(
            "dashboard: listening on %s without TLS: passwords and cookies cross the network "
            "in clear; set dashboard.tls or put it behind a TLS proxy",
            host,
        )
    # No access log: the websocket's URL carries the session's CSRF token.
    web.run_app(dashboard.app, host=host, port=port, ssl_context=ctx, print=None, access_log=None)
    return 0


__all__ = ["Plan", "UsageError", "build", "hash_password_command", "main", "plan", "register"]
