"""The `botkit` command.

Exit codes: 0 done; 1 a backtest finished but its strategies raised (see
``--allow-errors``), or the bot refused a ``botkit ctl`` command; 2 a mistake
in bot.yaml, the command line or the data (``botkit status``: no journal); 3
``botkit ctl`` got no reply (the broker or the bot could not be reached), or
``botkit status`` read no status from the broker; 130 interrupted by Ctrl-C (a
backtest still writes its report, marked partial); 141 the reader of the
output went away (``botkit ... | head``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

EXIT_STRATEGY_ERRORS = 1
EXIT_REFUSED = 1
EXIT_CONFIG = 2
EXIT_NO_REPLY = 3
EXIT_INTERRUPTED = 130
# What a shell reports for a program killed by SIGPIPE: `| head` closing early is
# not a failure of ours, but it is not a complete output either.
EXIT_BROKEN_PIPE = 141


def _setup_logging(level: str, secrets: Sequence[str] = ()) -> None:
    from botkit.redact import install_redaction

    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    install_redaction(logging.getLogger(), secrets)


def _load(path: str):
    from botkit.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def _cli_time(option: str, text: str | None) -> datetime | None:
    """``--start``/``--end`` read like ``data.start``/``data.end`` of bot.yaml."""
    if text is None:
        return None
    from pydantic import TypeAdapter, ValidationError

    from botkit.config.values import UtcDatetime

    try:
        value: datetime = TypeAdapter(UtcDatetime).validate_python(text)
    except ValidationError as exc:
        reason = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
        raise _UsageError(f"{option}: {reason}") from None
    return value


class _UsageError(Exception):
    """A command-line mistake: printed as one line, exit 2."""


def _with_range(config: Any, args: argparse.Namespace) -> Any:
    """The config with ``--start``/``--end`` in place of ``data.start``/``data.end``."""
    start = _cli_time("--start", args.start)
    end = _cli_time("--end", args.end)
    if start is None and end is None:
        return config
    data = config.data.model_copy(
        update={
            "start": start if start is not None else config.data.start,
            "end": end if end is not None else config.data.end,
        }
    )
    if data.start is not None and data.end is not None and data.end <= data.start:
        raise _UsageError(
            f"the replay would end ({data.end.isoformat()}) before it starts "
            f"({data.start.isoformat()}); give an --end after --start (or data.start)"
        )
    return config.model_copy(update={"data": data})


def _check_out_dir(out: Path, what: str) -> None:
    # The first existing part of the path must be a folder, or writing fails late.
    for part in (out, *out.parents):
        if part.exists():
            if not part.is_dir():
                raise _UsageError(
                    f"{what} {out}: {part} is a file, not a folder; choose another folder"
                )
            return


def cmd_backtest(args: argparse.Namespace) -> int:
    config = _load(args.config)
    _setup_logging(args.log_level or config.log_level, config.secret_values())
    from botkit.backtest.catalog import CatalogError
    from botkit.backtest.report import format_table
    from botkit.backtest.runner import BacktestDataError, run_backtest

    try:
        config = _with_range(config, args)
        out = Path(args.out) if args.out else config.resolve_path(config.output.dir)
        _check_out_dir(out, "--out" if args.out else "output.dir")
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    progress = False if args.no_progress else None
    try:
        result, summary = run_backtest(config, out, progress=progress)
    except (BacktestDataError, CatalogError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from botkit.dashboard.runfiles import write_run_files

    # The series `botkit dashboard` charts (equity.csv, prices.csv, run.json).
    write_run_files(result, config, out)
    print(format_table(summary))
    print(f"report: {out}")
    if summary["partial"]:
        print("interrupted: the report above is partial", file=sys.stderr)
        return EXIT_INTERRUPTED
    errors = summary["strategy_errors"]["total"]
    if errors and not args.allow_errors:
        print(
            f"error: strategies raised {errors:,} exception(s) "
            f"({', '.join(summary['strategy_errors']['by_hook'])}); the log shows the first "
            "tracebacks. Fix the strategy, or pass --allow-errors to accept the run",
            file=sys.stderr,
        )
        return EXIT_STRATEGY_ERRORS
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import json

    from botkit.config import parse_duration

    config = _load(args.config)
    _setup_logging(args.log_level or config.log_level, config.secret_values())
    if config.mode == "backtest":
        print(
            "error: bot.yaml says mode: backtest; use `botkit backtest`, or set mode: paper "
            "or mode: live",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    from botkit.aio import run as run_async
    from botkit.node import StartError, run_live

    duration = parse_duration(args.duration) / 1e9 if args.duration else None
    try:
        summary = run_async(run_live(config, duration))
    except (StartError, ValueError) as exc:
        # One line, no traceback: the run never started (``--log-level debug`` shows why).
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(json.dumps(summary))
    return 0


def cmd_feed(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from botkit.config import parse_duration

    config = _load(args.config)
    _setup_logging(args.log_level or config.log_level, config.secret_values())
    from botkit.ops.feed import FeedError, run_feed

    duration = parse_duration(args.duration) / 1e9 if args.duration else None
    try:
        summary = asyncio.run(run_feed(config, duration))
    except FeedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(json.dumps(summary))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from botkit.config import parse_duration
    from botkit.ops.statusview import show

    config = _load(args.config)
    code, text = show(config, as_json=args.json, timeout_s=parse_duration(args.timeout) / 1e9)
    print(text, file=sys.stderr if text.startswith("error: ") else sys.stdout)
    return code


def _option_value(text: str) -> object:
    """``--option k=v``: v as JSON when it reads as JSON (numbers, true, null...), else text."""
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text


def cmd_venue_sim(args: argparse.Namespace) -> int:
    from botkit.simulator.server import serve

    options: dict[str, object] = {}
    for item in args.option or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"error: --option takes KEY=VALUE, got {item!r}", file=sys.stderr)
            return EXIT_CONFIG
        options[key.replace("-", "_")] = _option_value(value)
    if args.api_key is not None:
        options["api_key"] = args.api_key
    if args.api_secret is not None:
        options["api_secret"] = args.api_secret
    if args.user_trades_framing is not None:
        if args.venue != "blocktrade":
            print("error: --user-trades-framing is BlockTrade's option", file=sys.stderr)
            return EXIT_CONFIG
        options["user_trades_framing"] = args.user_trades_framing
    options["documented_limits"] = args.rate_limits == "documented"
    faults = {
        name: value
        for name, value in (
            ("fail_rate", args.fail_rate),
            ("stall_rate", args.stall_rate),
            ("stall_s", args.stall_s),
            ("fail_after_probability", args.fail_after),
            ("drop_ws_every_s", args.drop_ws_every),
            ("duplicate_rate", args.duplicate_rate),
            ("reorder_rate", args.reorder_rate),
        )
        if value is not None
    }
    try:
        serve(
            args.venue,
            args.port,
            host=args.host,
            seed=args.seed,
            admin_token=args.admin_token,
            faults=faults,
            **options,
        )
    except (TypeError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return 0


def _param_value(text: str) -> object:
    """``--param k=v`` of ``botkit ctl``: whole numbers, true/false/null and JSON objects or
    lists as JSON; anything else (decimals included, so they stay exact) as text."""
    import json
    import re

    if re.fullmatch(r"-?\d+|true|false|null", text) or text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _ctl_args(args: argparse.Namespace) -> dict[str, object]:
    pairs: dict[str, object] = {}
    for item in args.param or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise _UsageError(f"--param takes KEY=VALUE, got {item!r}")
        pairs[key] = _param_value(value)
    out: dict[str, object] = {}
    if args.command_name == "set_param":
        if not pairs:
            raise _UsageError("set_param needs at least one --param NAME=VALUE")
        out["params"] = pairs
    else:
        out.update(pairs)
    if args.strategy is not None:
        out["strategy"] = args.strategy
    if args.symbol is not None:
        out["symbol"] = args.symbol
    return out


def cmd_ctl(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from botkit.config import parse_duration

    try:
        command_args = _ctl_args(args)
        timeout_s = parse_duration(args.timeout) / 1e9
    except (_UsageError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from botkit.ops.client import BrokerSettings, settings_from
    from botkit.ops.ctl import CtlError, send
    from botkit.ops.topics import Topics
    from botkit.redact import Secret

    secret = password = None
    prefix = "botkit"
    if args.config:
        config = _load(args.config)
        if config.mqtt is None:
            print(f"error: {args.config} has no mqtt: section", file=sys.stderr)
            return EXIT_CONFIG
        settings = settings_from(config.mqtt, config.resolve_path)
        prefix = config.mqtt.topic_prefix
        secret = config.mqtt.signing_secret()
    else:
        settings = BrokerSettings()
    overrides = {"host": args.host, "port": args.port}
    settings = BrokerSettings(
        **{**settings.__dict__, **{k: v for k, v in overrides.items() if v is not None}}
    )
    for option, var in (("--password-env", args.password_env), ("--secret-env", args.secret_env)):
        if var is not None and not os.environ.get(var):
            print(f"error: {option}: environment variable {var} is not set", file=sys.stderr)
            return EXIT_CONFIG
    if args.password_env:
        password = Secret(os.environ[args.password_env])
    if args.secret_env:
        secret = Secret(os.environ[args.secret_env])
    try:
        reply = asyncio.run(
            send(
                settings,
                Topics(args.prefix or prefix, args.bot_id),
                args.command_name,
                command_args,
                secret=secret,
                username=args.username,
                password=password,
                timeout_s=timeout_s,
            )
        )
    except CtlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NO_REPLY
    print(json.dumps(reply, indent=2))
    return 0 if reply.get("ok") else EXIT_REFUSED


def cmd_strategies(args: argparse.Namespace) -> int:
    from botkit.plugins import available

    infos = available()
    if not infos:
        print("no strategies installed in the entry-point group botkit.strategies")
        return 0
    width = max(len(i.name) for i in infos)
    for info in infos:
        text = info.summary if info.error is None else f"(failed to load: {info.error})"
        print(f"{info.name:<{width}}  {text}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="botkit", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--version", action="version", version=f"botkit {_version()}")
    sub = ap.add_subparsers(dest="command", required=True)

    bt = sub.add_parser("backtest", help="replay recorded data through the strategies")
    bt.add_argument("config", help="path to bot.yaml")
    bt.add_argument("--out", help="output folder (default: output.dir of bot.yaml)")
    bt.add_argument("--no-progress", action="store_true", help="no progress bar")
    bt.add_argument("--log-level", help="override log_level of bot.yaml")
    bt.add_argument(
        "--start", help="replay from this UTC date/time on (overrides data.start), e.g. 2024-08-08"
    )
    bt.add_argument("--end", help="replay up to this UTC date/time, exclusive (overrides data.end)")
    bt.add_argument(
        "--allow-errors",
        action="store_true",
        help="exit 0 even when strategy hooks raised (they are counted in summary.json)",
    )
    bt.set_defaults(func=cmd_backtest)

    run = sub.add_parser("run", help="paper-trade or trade live until stopped")
    run.add_argument("config", help="path to bot.yaml (mode: paper or live)")
    run.add_argument("--duration", help="stop by itself after this long, e.g. 30s")
    run.add_argument("--log-level", help="override log_level of bot.yaml")
    run.set_defaults(func=cmd_run)

    fd = sub.add_parser(
        "feed",
        help="publish a venue's market data on MQTT for bots with data.source: mqtt",
        description="Connect to bot.yaml's venue (live.simulator too) and publish the market "
        "data of its instruments on <prefix>/feed/<venue>/<symbol>/<stream> of the broker in "
        "its mqtt: section (docs/operations.md).",
    )
    fd.add_argument("config", help="path to bot.yaml (venue, instruments, live, mqtt)")
    fd.add_argument("--duration", help="stop by itself after this long, e.g. 30s")
    fd.add_argument("--log-level", help="override log_level of bot.yaml")
    fd.set_defaults(func=cmd_feed)

    stat = sub.add_parser(
        "status",
        help="a bot's positions, open orders, today's PnL and health",
        description="Read the bot's journal (live.journal) and, with an mqtt: section, its "
        "retained status on the broker. Exit 2: no journal; 3: no status from the broker.",
    )
    stat.add_argument("config", help="path to bot.yaml")
    stat.add_argument("--json", action="store_true", help="print JSON")
    stat.add_argument("--timeout", default="2s", help="how long to wait for the status (2s)")
    stat.set_defaults(func=cmd_status)

    vs = sub.add_parser(
        "venue-sim",
        help="run a local venue simulator",
        description="Serve a venue's own protocol over a simulated exchange; prints the "
        "URLs and credentials it serves on start.",
    )
    from botkit.simulator.server import venues

    vs.add_argument("--venue", required=True, choices=venues())
    vs.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    vs.add_argument("--port", type=int, default=8400)
    vs.add_argument("--seed", type=int, default=1, help="seed of the simulated market")
    vs.add_argument("--api-key", help="the API key to accept (Alpha5: the bearer token)")
    vs.add_argument("--api-secret", help="the API secret to accept")
    vs.add_argument(
        "--user-trades-framing",
        choices=("bare", "framed"),
        help="BlockTrade: user trades on the websocket as the bare object the document "
        "shows (default) or framed like the other channels",
    )
    vs.add_argument(
        "--rate-limits",
        choices=("documented", "off"),
        default="documented",
        help="enforce the venues' documented request limits (ALP: 2 private calls a second)",
    )
    vs.add_argument("--admin-token", help="protect /__sim__/ with X-Sim-Admin-Token")
    vs.add_argument(
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="any simulator option, e.g. v3_reading=official (alp), token=... (alpha5)",
    )
    faults = vs.add_argument_group("faults (all off by default)")
    faults.add_argument("--fail-rate", type=float, help="share of private calls answered 5xx")
    faults.add_argument(
        "--fail-after", type=float, help="share of those failures that acted first (0.5)"
    )
    faults.add_argument("--stall-rate", type=float, help="share of private calls stalled")
    faults.add_argument("--stall-s", type=float, help="how long a stall lasts (2.0 s)")
    faults.add_argument(
        "--drop-ws-every", type=float, metavar="S", help="drop websockets every S s"
    )
    faults.add_argument("--duplicate-rate", type=float, help="share of account messages repeated")
    faults.add_argument("--reorder-rate", type=float, help="share of account batches reordered")
    vs.set_defaults(func=cmd_venue_sim)

    ctl = sub.add_parser(
        "ctl",
        help="send a control command to a running bot over MQTT",
        description="Publish a command on <prefix>/<bot_id>/control and print the reply "
        "(docs/operations.md). Exit 0: done; 1: the bot refused it; 3: no reply.",
    )
    ctl.add_argument("bot_id", help="the bot's mqtt.bot_id")
    ctl.add_argument(
        "command_name",
        metavar="command",
        choices=("pause", "resume", "cancel_all", "flatten", "halt", "set_param", "status"),
        help="pause | resume | cancel_all | flatten | halt | set_param | status",
    )
    ctl.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="an argument of the command; for set_param a strategy param to set (repeat it)",
    )
    ctl.add_argument("--strategy", help="pause/resume/cancel_all/set_param: this strategy only")
    ctl.add_argument("--symbol", help="cancel_all: this symbol only")
    ctl.add_argument(
        "-c", "--config", help="bot.yaml whose mqtt: section gives the broker and signing secret"
    )
    ctl.add_argument("--host", help="the broker (default: mqtt.host, else 127.0.0.1)")
    ctl.add_argument("--port", type=int, help="the broker's port (default: mqtt.port, else 1883)")
    ctl.add_argument("--prefix", help="topic prefix (default: mqtt.topic_prefix, else botkit)")
    ctl.add_argument("--username", help="connect as this user (default: mqtt.username)")
    ctl.add_argument("--password-env", metavar="VAR", help="the password is in this variable")
    ctl.add_argument("--secret-env", metavar="VAR", help="sign with the secret in this variable")
    ctl.add_argument("--timeout", default="5s", help="how long to wait for the reply (5s)")
    ctl.set_defaults(func=cmd_ctl)

    st = sub.add_parser("strategies", help="list the installed strategies")
    st.set_defaults(func=cmd_strategies)

    from botkit import journal_cli
    from botkit.backtest import data_cli
    from botkit.dashboard import cli as dashboard_cli
    from botkit.recording import cli as recording_cli
    from botkit.sweep import cli as sweep_cli
    from botkit.treasury import cli as treasury_cli

    recording_cli.register(sub)
    data_cli.register(sub)
    journal_cli.register(sub)
    sweep_cli.register(sub)
    treasury_cli.register(sub)
    dashboard_cli.register(sub)
    return ap


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("botkit")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _quiet_stdout() -> None:
    # Python flushes stdout again at exit; pointing it at devnull keeps that
    # flush from raising a second BrokenPipeError.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            args = build_parser().parse_args(argv)
            code = int(args.func(args) or 0)
        except SystemExit as exc:
            # argparse and _load leave by SystemExit; callers of main() get the code.
            if not isinstance(exc.code, int):
                raise
            code = exc.code
        finally:
            # Inside the try, so a reader that left (`| head`) is caught here, also
            # after argparse's own exit (--help, --version).
            sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


if __name__ == "__main__":
    raise SystemExit(main())
