"""The `botkit` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_CONFIG = 2


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


def cmd_backtest(args: argparse.Namespace) -> int:
    config = _load(args.config)
    _setup_logging(args.log_level or config.log_level, config.secret_values())
    from botkit.backtest.report import format_table
    from botkit.backtest.runner import run_backtest

    progress = False if args.no_progress else None
    try:
        _, summary = run_backtest(config, Path(args.out) if args.out else None, progress=progress)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    out = Path(args.out) if args.out else config.resolve_path(config.output.dir)
    print(format_table(summary))
    print(f"report: {out}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio
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
    from botkit.node import StartError, run_live

    duration = parse_duration(args.duration) / 1e9 if args.duration else None
    try:
        summary = asyncio.run(run_live(config, duration))
    except (StartError, ValueError) as exc:
        # One line, no traceback: the run never started (``--log-level debug`` shows why).
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(json.dumps(summary))
    return 0


def cmd_venue_sim(args: argparse.Namespace) -> int:
    from botkit.simulator.server import serve

    serve(args.venue, args.port, seed=args.seed)
    return 0


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
    ap = argparse.ArgumentParser(prog="botkit", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)

    bt = sub.add_parser("backtest", help="replay recorded data through the strategies")
    bt.add_argument("config", help="path to bot.yaml")
    bt.add_argument("--out", help="output folder (default: output.dir of bot.yaml)")
    bt.add_argument("--no-progress", action="store_true", help="no progress bar")
    bt.add_argument("--log-level", help="override log_level of bot.yaml")
    bt.set_defaults(func=cmd_backtest)

    run = sub.add_parser("run", help="paper-trade or trade live until stopped")
    run.add_argument("config", help="path to bot.yaml (mode: paper or live)")
    run.add_argument("--duration", help="stop by itself after this long, e.g. 30s")
    run.add_argument("--log-level", help="override log_level of bot.yaml")
    run.set_defaults(func=cmd_run)

    vs = sub.add_parser("venue-sim", help="run a local venue simulator")
    from botkit.simulator.server import venues

    vs.add_argument("--venue", required=True, choices=venues())
    vs.add_argument("--port", type=int, default=8400)
    vs.add_argument("--seed", type=int, default=1)
    vs.set_defaults(func=cmd_venue_sim)

    st = sub.add_parser("strategies", help="list the installed strategies")
    st.set_defaults(func=cmd_strategies)

    from botkit import journal_cli
    from botkit.backtest import data_cli

    data_cli.register(sub)
    journal_cli.register(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
