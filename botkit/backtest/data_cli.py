"""``botkit data ...``: make the sample, import recorded data; ``list`` and ``bars`` are in
``catalog_tools.py``, ``check`` in ``catalog_check.py``, ``download`` in ``download.py``.

``register(subparsers)`` adds the ``data`` command to the main ``botkit`` parser;
every subcommand sets ``func(args) -> int`` (the exit code). ``main(argv)`` runs
the same commands standalone, for tests.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botkit.backtest import catalog_tools, download
from botkit.backtest.catalog import Catalog, CatalogError
from botkit.backtest.importers import FORMAT_HELP, FORMATS, ImportRefused, import_file
from botkit.backtest.importers.binance import MARKETS
from botkit.backtest.importers.instrument import KINDS
from botkit.backtest.sample import SampleSpec, write_sample

DEFAULT_CATALOG = "backtest_data"

_IMPORT_EPILOG = (
    "formats:\n"
    + "\n".join(f"  {name:<18} {text}" for name, text in FORMAT_HELP.items())
    + """

examples:
  botkit data import --format ohlcv-csv --venue ftx --symbol BTC/USD --kind perpetual \\
      --volume-in quote btc-perp-20211231-20220201_1m.csv
  botkit data import --format bybit-ob --venue bybit --symbol XRP/USDT \\
      2024-12-01_XRPUSDT_ob500.data.zip
  botkit data import --format binance-aggtrades --venue binance --symbol BTC/USDT \\
      BTCUSDT-aggTrades-2024-01-01.zip BTCUSDT-aggTrades-2024-01-02.zip
  botkit data import --format tardis-trades --venue binance-futures --symbol BTC/USDT:USDT \\
      binance-futures_trades_2024-01-01_BTCUSDT.csv.gz

Each format, its columns and what is inferred: docs/data.md."""
)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``data`` (make-sample, import, list, bars, check, download) to an argparse
    subparsers object."""
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
        help="import recorded files into the catalog",
        description=(
            "Import recorded market data into the catalog. Re-importing is idempotent. "
            "Rows that cannot be used are skipped and listed by line number and reason; "
            "the rest is imported. instrument.json is written (tick and lot from the flags, "
            "else inferred from the data, and said so) or checked: a file of another market "
            "(another symbol, spot against futures) is refused unless --force."
        ),
        epilog=_IMPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    im.add_argument(
        "--format",
        required=True,
        choices=sorted(FORMATS),
        metavar="FORMAT",
        help="the file format (listed below)",
    )
    im.add_argument("--venue", required=True, help="venue name to file the data under")
    im.add_argument("--symbol", required=True, help="symbol, e.g. BTC/USDT")
    im.add_argument("--catalog", default=DEFAULT_CATALOG, help="catalog directory (%(default)s)")
    inst = im.add_argument_group("instrument (every format)")
    inst.add_argument("--tick-size", help="price grid (default: instrument.json, else inferred)")
    inst.add_argument("--lot-size", help="size grid (default: instrument.json, else inferred)")
    inst.add_argument("--kind", choices=KINDS, help="market kind (default: what the data says)")
    inst.add_argument("--base", help="base asset (default: from BASE/QUOTE in --symbol)")
    inst.add_argument("--quote", help="quote asset (default: from BASE/QUOTE in --symbol)")
    inst.add_argument(
        "--force",
        action="store_true",
        help="import a file of another market (symbol, kind, grid) than the symbol holds",
    )
    bars = im.add_argument_group("bars (ohlcv-json, ohlcv-csv, binance-klines)")
    bars.add_argument(
        "--interval", help="bar length such as 1m or 1h (default: file name, else the data)"
    )
    csvg = im.add_argument_group("ohlcv-csv")
    csvg.add_argument(
        "--columns",
        metavar="MAP",
        help="which column is which: time=NAME,open=NAME,... or positions from 0 "
        "(default: the usual names)",
    )
    csvg.add_argument(
        "--time-format",
        metavar="FMT",
        help="auto (default), epoch, iso, or a strptime format such as '%%d/%%m/%%Y %%H:%%M'",
    )
    csvg.add_argument(
        "--time-unit",
        choices=("s", "ms", "us", "ns"),
        help="unit of numeric times (default: by magnitude)",
    )
    csvg.add_argument(
        "--time-is",
        choices=("open", "close"),
        help="whether the times are the bars' open (default) or close times",
    )
    csvg.add_argument(
        "--volume-in",
        choices=("base", "quote"),
        help="the volume's asset (default base); quote is converted at the typical price",
    )
    csvg.add_argument(
        "--header",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether the first line is a header (default: unless it holds numbers)",
    )
    csvg.add_argument("--delimiter", help="field separator (default ,)")
    bin_ = im.add_argument_group("binance-trades, binance-aggtrades, binance-klines")
    bin_.add_argument(
        "--market",
        choices=MARKETS,
        help="spot or usdm (default: from the columns; klines: from the header line)",
    )
    im.add_argument("files", nargs="+", type=Path, metavar="FILE", help="the files to import")
    im.set_defaults(func=_import)

    catalog_tools.register(sub, DEFAULT_CATALOG)  # list, bars, check
    download.register(sub, DEFAULT_CATALOG)

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


# The import flags that are options of some importers: passed when set.
_OPTIONS = (
    "interval",
    "columns",
    "time_format",
    "time_unit",
    "time_is",
    "volume_in",
    "header",
    "delimiter",
    "market",
    "tick_size",
    "lot_size",
    "kind",
    "base",
    "quote",
)


def _options(args: argparse.Namespace) -> dict[str, Any] | str:
    """The importer's keyword options from the flags, or the error for a flag it does not take."""
    takes = inspect.signature(FORMATS[args.format]).parameters
    options: dict[str, Any] = {}
    for name in _OPTIONS:
        value = getattr(args, name)
        if value is None:
            continue
        if name not in takes:
            users = sorted(
                f for f, imp in FORMATS.items() if name in inspect.signature(imp).parameters
            )
            flag = "--" + name.replace("_", "-")
            return f"{flag} applies only to --format {', '.join(users)}"
        options[name] = value
    if args.force:
        options["force"] = True
    return options


def _import(args: argparse.Namespace) -> int:
    options = _options(args)
    if isinstance(options, str):
        print(f"error: {options}", file=sys.stderr)
        return 2
    for file in args.files:
        if not file.is_file():
            print(f"error: no such file: {file}", file=sys.stderr)
            return 2
    catalog = Catalog(args.catalog)
    for file in args.files:
        try:
            result = import_file(catalog, args.format, file, args.venue, args.symbol, **options)
        except CatalogError as e:
            # The catalog's own file is damaged, not the one being imported.
            print(f"error: {e}", file=sys.stderr)
            return 2
        except ImportRefused as e:
            print(f"error: {file}: {e}", file=sys.stderr)
            return 2
        except (
            ValueError,
            KeyError,
            TypeError,
            IndexError,
            OSError,
            EOFError,
            zipfile.BadZipFile,
        ) as e:
            print(f"error: cannot import {file} as {args.format}: {e}", file=sys.stderr)
            return 2
        print(f"imported {file.name} -> {args.venue} {args.symbol}: {result.summary()}")
        for line in result.report():
            print(f"  {line}")
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
