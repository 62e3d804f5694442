"""`botkit fills` and `botkit orders`: read a journal, print CSV (default) or JSON lines.

Money is printed as exact decimal strings (never floats, never exponent
notation), timestamps as integer nanoseconds plus an ISO 8601 UTC column. A
missing or unreadable journal is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, TextIO

from botkit.journal import Journal, JournalError
from botkit.model import Fill, Order

__all__ = ["EXIT_JOURNAL", "FILL_COLUMNS", "ORDER_COLUMNS", "main", "register"]

EXIT_JOURNAL = 2

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

FILL_COLUMNS: tuple[str, ...] = (
    "time",
    "ts_ns",
    "trade_id",
    "strategy",
    "symbol",
    "side",
    "price",
    "size",
    "notional",
    "fee",
    "fee_asset",
    "liquidity",
    "client_id",
    "venue_order_id",
)

ORDER_COLUMNS: tuple[str, ...] = (
    "created",
    "client_id",
    "strategy",
    "symbol",
    "side",
    "type",
    "tif",
    "status",
    "price",
    "stop_price",
    "size",
    "filled",
    "remaining",
    "avg_price",
    "fees",
    "post_only",
    "reduce_only",
    "venue_order_id",
    "code",
    "reason",
    "created_ns",
    "updated_ns",
)


def iso_ns(ts_ns: int) -> str:
    """UTC ISO 8601 with all nine digits: a float second would lose the nanoseconds."""
    seconds, frac = divmod(ts_ns, 1_000_000_000)
    return (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def parse_since(text: str) -> int:
    """An ISO 8601 date or time (UTC unless it says otherwise) as epoch nanoseconds."""
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date or time (e.g. 2024-05-01T12:00:00Z)"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    # Integer arithmetic on the timedelta: a float timestamp would round the microseconds.
    return (dt - _EPOCH) // timedelta(microseconds=1) * 1000


def _fill_record(f: Fill) -> dict[str, Any]:
    return {
        "time": iso_ns(f.ts_ns),
        "ts_ns": f.ts_ns,
        "trade_id": f.trade_id,
        "strategy": f.strategy,
        "symbol": f.symbol,
        "side": f.side,
        "price": f.price,
        "size": f.size,
        "notional": f.notional,
        "fee": f.fee,
        "fee_asset": f.fee_asset,
        "liquidity": f.liquidity,
        "client_id": f.client_id,
        "venue_order_id": f.venue_order_id,
    }


def _order_record(o: Order) -> dict[str, Any]:
    return {
        "created": iso_ns(o.created_ns),
        "client_id": o.client_id,
        "strategy": o.strategy,
        "symbol": o.symbol,
        "side": o.side,
        "type": o.type,
        "tif": o.tif,
        "status": o.status,
        "price": o.price,
        "stop_price": o.stop_price,
        "size": o.size,
        "filled": o.filled,
        "remaining": o.remaining,
        "avg_price": o.avg_price,
        "fees": o.fees,
        "post_only": o.post_only,
        "reduce_only": o.reduce_only,
        "venue_order_id": o.venue_order_id,
        "code": o.code,
        "reason": o.reason,
        "created_ns": o.created_ns,
        "updated_ns": o.updated_ns,
    }


def _json_value(v: Any) -> Any:
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, Enum):
        return v.value
    return v


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, Enum):
        return str(v.value)
    return str(v)


def _write(
    records: Iterable[dict[str, Any]], columns: Sequence[str], as_json: bool, out: TextIO
) -> None:
    if as_json:
        for rec in records:
            out.write(json.dumps({c: _json_value(rec[c]) for c in columns}) + "\n")
        return
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for rec in records:
        writer.writerow([_csv_value(rec[c]) for c in columns])


def _with_journal(args: argparse.Namespace, body: Callable[[Journal], None]) -> int:
    try:
        with Journal(args.journal, create=False) as journal:
            body(journal)
    except (JournalError, sqlite3.Error) as exc:
        message = " ".join(str(exc).split())  # one line, whatever the driver said
        print(f"error: {args.journal}: {message}", file=sys.stderr)
        return EXIT_JOURNAL
    return 0


def cmd_fills(args: argparse.Namespace) -> int:
    def body(journal: Journal) -> None:
        fills = journal.fills(strategy=args.strategy, symbol=args.symbol, since_ns=args.since)
        _write((_fill_record(f) for f in fills), FILL_COLUMNS, args.json, sys.stdout)

    return _with_journal(args, body)


def cmd_orders(args: argparse.Namespace) -> int:
    def body(journal: Journal) -> None:
        orders = journal.orders(strategy=args.strategy, symbol=args.symbol, open_only=args.open)
        _write((_order_record(o) for o in orders), ORDER_COLUMNS, args.json, sys.stdout)

    return _with_journal(args, body)


def register(subparsers: Any) -> None:
    """Add ``fills`` and ``orders`` to the ``botkit`` command's subparsers."""
    fl = subparsers.add_parser("fills", help="list the fills in a journal")
    fl.add_argument("--journal", required=True, metavar="PATH", help="the journal file")
    fl.add_argument("--json", action="store_true", help="JSON lines instead of CSV")
    fl.add_argument("--strategy", help="only this strategy's fills")
    fl.add_argument("--symbol", help="only fills on this symbol")
    fl.add_argument(
        "--since",
        type=parse_since,
        metavar="ISO",
        help="only fills at or after this time (ISO 8601; UTC unless an offset is given)",
    )
    fl.set_defaults(func=cmd_fills)

    od = subparsers.add_parser("orders", help="list the orders in a journal")
    od.add_argument("--journal", required=True, metavar="PATH", help="the journal file")
    od.add_argument("--json", action="store_true", help="JSON lines instead of CSV")
    od.add_argument("--open", action="store_true", help="only orders that are still open")
    od.add_argument("--strategy", help="only this strategy's orders")
    od.add_argument("--symbol", help="only orders on this symbol")
    od.set_defaults(func=cmd_orders)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``fills`` or ``orders`` as the ``botkit`` command would (for tests and scripts)."""
    ap = argparse.ArgumentParser(prog="botkit", description=__doc__)
    register(ap.add_subparsers(dest="command", required=True))
    args = ap.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
