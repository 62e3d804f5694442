"""``botkit record`` and the recording commands of ``botkit data`` (``compact``, ``gaps``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botkit.recording.recorder import DEFAULT_FLUSH_NS, MarketRecorder, record_stream

if TYPE_CHECKING:
    from botkit.config import BotConfig

log = logging.getLogger("botkit.recording")

EXIT_CONFIG = 2


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``record`` to the ``botkit`` parser."""
    rec = subparsers.add_parser(
        "record",
        help="record a venue's public market data into the catalog",
        description="Record trades, book snapshots and deltas, best bid/ask and bars from "
        "the venue of bot.yaml into a catalog, until stopped (SIGINT/SIGTERM) or --duration. "
        "Each event keeps the venue's time (ts_ns) and the receive time (recv_ns); outages "
        "are marked as gaps. Flushed every --flush; compacted into the day files on stop.",
    )
    rec.add_argument("config", help="path to bot.yaml (its venue: section is used)")
    rec.add_argument(
        "--symbols",
        nargs="+",
        help="symbols to record (default: the instruments of bot.yaml); commas work too",
    )
    rec.add_argument(
        "--out", help="catalog folder (default: live.record.dir, else data.catalog of bot.yaml)"
    )
    rec.add_argument("--duration", help="stop by itself after this long, e.g. 30s")
    rec.add_argument("--flush", help="write to disk at least this often (default 2s)")
    rec.add_argument("--log-level", help="override log_level of bot.yaml")
    rec.set_defaults(func=cmd_record)
    return rec


def register_data_commands(sub: Any) -> None:
    """Add ``compact`` and ``gaps`` to the ``botkit data`` subcommands."""
    cp = sub.add_parser(
        "compact",
        help="move finished recordings into the catalog's day files",
        description="Compact what recorders that stopped or were killed left (segments) into "
        "the day files, dropping duplicates. A recorder still running is left alone.",
    )
    cp.add_argument("--catalog", default="backtest_data", help="catalog directory (%(default)s)")
    cp.add_argument("--venue", default=None, help="only this venue")
    cp.set_defaults(func=cmd_compact)

    gp = sub.add_parser(
        "gaps",
        help="list the outages marked in recordings",
        description="List the gaps recorders marked (reconnects, restarts), per symbol.",
    )
    gp.add_argument("--catalog", default="backtest_data", help="catalog directory (%(default)s)")
    gp.add_argument("--venue", default=None, help="only this venue")
    gp.add_argument("--json", action="store_true", help="one JSON object per gap")
    gp.set_defaults(func=cmd_gaps)


# ----- botkit record ---------------------------------------------------------------------


def cmd_record(args: argparse.Namespace) -> int:
    from botkit.cli import _load, _setup_logging
    from botkit.config import parse_duration
    from botkit.node import StartError

    config = _load(args.config)
    _setup_logging(args.log_level or config.log_level, config.secret_values())
    try:
        if config.venue.name == "sim":
            raise ValueError(
                "venue.name is sim, which has no live feed to record; name the venue to record "
                "(blocktrade, alp or alpha5)"
            )
        symbols = _symbols(args.symbols) or [i.symbol for i in config.instruments]
        settings = config.live.record
        if args.out:
            out = Path(args.out)
        else:
            out = config.resolve_path(settings.dir if settings else config.data.catalog)
        if args.flush:
            flush_ns = parse_duration(args.flush)
        else:
            flush_ns = settings.flush if settings else DEFAULT_FLUSH_NS
        if flush_ns <= 0:
            raise ValueError("--flush must be > 0")
        duration = parse_duration(args.duration) / 1e9 if args.duration else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        summary = asyncio.run(record(config, symbols, out, flush_ns, duration))
    except StartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(json.dumps(summary))
    return 0


def _symbols(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or ():
        out += [s.strip() for s in v.split(",") if s.strip()]
    return list(dict.fromkeys(out))


async def record(
    config: BotConfig,
    symbols: list[str],
    out: Path,
    flush_ns: int = DEFAULT_FLUSH_NS,
    duration_s: float | None = None,
) -> dict[str, Any]:
    """Record ``symbols`` from the venue of ``config`` into the catalog ``out`` until
    SIGINT/SIGTERM or ``duration_s``; returns what was recorded."""
    from botkit.execution.retry import describe
    from botkit.node import StartError, open_venue

    venue = config.venue.name
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        async with AsyncExitStack() as stack:
            try:
                adapter = await stack.enter_async_context(open_venue(config, None))
                listed = await adapter.instruments()
                missing = [s for s in symbols if s not in listed]
                if missing:
                    raise ValueError(
                        f"{', '.join(missing)} not listed on {venue} (it lists "
                        f"{', '.join(sorted(listed)) or 'nothing'})"
                    )
                recorder = MarketRecorder(
                    out, venue, flush_ns=flush_ns, instruments={s: listed[s] for s in symbols}
                ).open(symbols)
            except Exception as exc:
                log.debug("recording %s failed to start", venue, exc_info=True)
                raise StartError(f"cannot start recording {venue}: {describe(exc)}") from exc
            tasks = [
                asyncio.create_task(record_stream(adapter, symbols, recorder)),
                asyncio.create_task(recorder.flush_every()),
            ]
            try:
                if duration_s is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), duration_s)
                else:
                    await stop.wait()
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                try:
                    recorder.close()
                except OSError as exc:
                    # What was flushed stays in its segments: the next start compacts it.
                    log.error("could not finish the recording: %s", exc)
            return {"venue": venue, "symbols": symbols, "out": str(out), **recorder.status()}
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


# ----- botkit data compact / gaps ------------------------------------------------------------


def cmd_compact(args: argparse.Namespace) -> int:
    from botkit.backtest.catalog import CatalogError
    from botkit.recording.compaction import compact

    try:
        report = compact(args.catalog, args.venue)
    except (CatalogError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"{args.catalog}: compacted {report.summary()}")
    return 0


def cmd_gaps(args: argparse.Namespace) -> int:
    from botkit.backtest.catalog import Catalog, CatalogError
    from botkit.recording.compaction import read_gaps

    catalog = Catalog(args.catalog)
    found = 0
    try:
        for venue in [args.venue] if args.venue else catalog.venues():
            for symbol in catalog.symbols(venue):
                for gap in read_gaps(catalog, venue, symbol):
                    found += 1
                    if args.json:
                        print(json.dumps({"venue": venue, **gap.to_json()}))
                        continue
                    seconds = (gap.end_ns - gap.start_ns) / 1e9
                    print(
                        f"{venue}\t{symbol}\t{_iso(gap.start_ns)}\t{_iso(gap.end_ns)}\t"
                        f"{seconds:.3f} s\t{gap.reason}"
                    )
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if not found and not args.json:
        print(f"{args.catalog}: no gaps recorded")
    return 0


def _iso(ts_ns: int) -> str:
    dt = datetime.fromtimestamp(ts_ns / 1e9, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


__all__ = ["cmd_compact", "cmd_gaps", "cmd_record", "record", "register", "register_data_commands"]
