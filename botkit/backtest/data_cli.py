"""``botkit data ...``: make the sample, import recorded data, list the catalog.

``register(subparsers)`` adds the ``data`` command to the main ``botkit`` parser;
every subcommand sets ``func(args) -> int`` (the exit code). ``main(argv)`` runs
the same commands standalone, for tests.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botkit.backtest.catalog import Catalog, CatalogError, Entry
from botkit.backtest.importers import FORMATS, import_file
from botkit.backtest.sample import SampleSpec, write_sample

DEFAULT_CATALOG = "backtest_data"


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``data`` (with make-sample, import, list) to an argparse subparsers object."""
    data = subparsers.add_parser(
        "data",
        help="market data catalog: make the sample, import recordings, list contents",
        description="Manage the Parquet market data catalog used by backtests.",
    )
    sub = data.add_subparsers(dest="data_command", metavar="COMMAND", required=True)

    spec = SampleSpec()
    mk = sub.add_parser(
        "make-sample",
        help="generate the seeded synthetic BTC/USDT sample (book, trades, 1m bars)",
        description="Generate the synthetic sample market. The same seed gives the same bytes.",
    )
    mk.add_argument("--out", default=DEFAULT_CATALOG, help="catalog directory (%(default)s)")
    mk.add_argument("--seed", type=int, default=spec.seed, help="random seed (%(default)s)")
    mk.add_argument("--hours", type=float, default=spec.hours, help="length (%(default)s h)")
    mk.add_argument("--start", default=spec.start, help="start time, ISO 8601 (%(default)s)")
    mk.add_argument("--venue", default=spec.venue, help="venue name (%(default)s)")
    mk.add_argument("--symbol", default=spec.symbol, help="symbol (%(default)s)")
    mk.set_defaults(func=_make_sample)

    im = sub.add_parser(
        "import",
        help="import a recorded file into the catalog",
        description="Import recorded market data into the catalog. Re-importing is idempotent.",
    )
    im.add_argument("--format", required=True, choices=sorted(FORMATS), help="file format")
    im.add_argument("--venue", required=True, help="venue name to file the data under")
    im.add_argument("--symbol", required=True, help="symbol, e.g. BTC/USDT")
    im.add_argument("--catalog", default=DEFAULT_CATALOG, help="catalog directory (%(default)s)")
    im.add_argument(
        "--interval", default=None, help="ohlcv-json: bar length such as 1m or 1h (default: guess)"
    )
    im.add_argument("file", type=Path, help="the file to import")
    im.set_defaults(func=_import)

    ls = sub.add_parser("list", help="list the catalog's contents", description="List the catalog.")
    ls.add_argument("--catalog", default=DEFAULT_CATALOG, help="catalog directory (%(default)s)")
    ls.add_argument("--venue", default=None, help="only this venue")
    ls.add_argument("--files", action="store_true", help="one line per day file")
    ls.set_defaults(func=_list)

    from botkit.recording.cli import register_data_commands

    register_data_commands(sub)  # compact, gaps
    return data


def _make_sample(args: argparse.Namespace) -> int:
    spec = SampleSpec(
        seed=args.seed, hours=args.hours, start=args.start, venue=args.venue, symbol=args.symbol
    )
    t0 = time.perf_counter()
    s = write_sample(args.out, spec)
    took = time.perf_counter() - t0
    print(f"wrote {spec.venue} {spec.symbol} to {args.out} in {took:.1f} s")
    for kind in s.rows:
        print(f"  {kind:<15} {s.events[kind]:>9,} events {s.rows[kind]:>10,} rows")
    print(
        f"  price {s.price_min:,.2f} .. {s.price_max:,.2f} "
        f"(first {s.first_price:,.2f}, last {s.last_price:,.2f}); {s.bytes / 1e6:.2f} MB",
    )
    return 0


def _import(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"error: no such file: {args.file}", file=sys.stderr)
        return 2
    options: dict[str, Any] = {}
    if args.interval is not None:
        if args.format != "ohlcv-json":
            print("error: --interval applies only to --format ohlcv-json", file=sys.stderr)
            return 2
        options["interval"] = args.interval
    catalog = Catalog(args.catalog)
    try:
        result = import_file(catalog, args.format, args.file, args.venue, args.symbol, **options)
    except CatalogError as e:
        # The catalog's own file is damaged, not the one being imported.
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (ValueError, KeyError, TypeError, IndexError) as e:
        print(f"error: cannot import {args.file} as {args.format}: {e}", file=sys.stderr)
        return 2
    print(f"imported {args.file.name} -> {args.venue} {args.symbol}: {result.summary()}")
    return 0


def _list(args: argparse.Namespace) -> int:
    catalog = Catalog(args.catalog)
    try:
        entries = catalog.entries(venue=args.venue)
    except CatalogError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not entries:
        print(f"{args.catalog}: empty")
        return 0
    if args.files:
        for e in entries:
            print(f"{e.venue}\t{e.symbol}\t{e.kind}\t{e.date}\t{e.rows}\t{e.path}")
        return 0
    groups: dict[tuple[str, str, str], list[Entry]] = {}
    for e in entries:
        groups.setdefault((e.venue, e.symbol, e.kind), []).append(e)
    header = ("venue", "symbol", "kind", "from", "to", "days", "rows", "MB")
    rows = [header]
    for (venue, symbol, kind), es in groups.items():
        size = sum(e.path.stat().st_size for e in es)
        rows.append(
            (
                venue,
                symbol,
                kind,
                str(es[0].date),
                str(es[-1].date),
                str(len(es)),
                f"{sum(e.rows for e in es):,}",
                f"{size / 1e6:.2f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``data`` subcommands standalone: ``main(["data", "list"])``."""
    parser = argparse.ArgumentParser(prog="botkit")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
