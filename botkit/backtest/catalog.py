"""The Parquet data catalog: where recorded market data lives and how it is replayed.

Layout (one file per UTC day, rows sorted by ``ts_ns``)::

    <root>/<venue>/<SYMBOL with "/" replaced by "-">/<kind>/<YYYY-MM-DD>.parquet
    <root>/<venue>/<SYMBOL>/instrument.json

Kinds and their columns (timestamps are int64 nanoseconds since the Unix epoch, UTC):

- ``trades``: ts_ns, price, size, side (int8: 1 buyer was the aggressor, 2 seller,
  0 unknown), trade_id (int64 or string, may be null).
- ``book_snapshots``: ts_ns, side (int8: 0 bid, 1 ask), level (int16, 0 = best),
  price, size. The rows sharing a ts_ns are one snapshot.
- ``book_deltas``: ts_ns, side, price, size (the level's new absolute size; 0 removes
  it). The rows sharing a ts_ns are one delta event, applied in row order.
- ``quotes``: ts_ns (the exchange's time), bid, bid_size, ask, ask_size (the best bid
  and ask, e.g. Binance ``bookTicker``), recv_ns (when the recorder received it), and
  optionally last (the last trade price a ticker carried). bid, ask, their sizes and
  last may be null: the quote did not give them. Replayed as
  :class:`~botkit.events.Ticker` events: they keep the top of the book current between
  depth updates.
- ``bars_<interval>`` (``bars_1m``, ``bars_1h``, ...): ts_ns (the bar's *close* time),
  open, high, low, close, volume.
- ``funding``: ts_ns (a funding time), rate (the perpetual's funding rate paid then;
  positive: longs pay shorts). Not replayed as events: the simulated venue pays
  funding at these times (``botkit.margin``).

Every kind may also hold ``recv_ns`` (int64, when the recorder received the event;
``botkit record`` writes it): files without it stay valid. ``replay(...,
clock="receive")`` replays such data in the order it was received, each event stamped
with its ``recv_ns``: the order a live bot saw it in.

Every file records the original symbol in its Parquet key-value metadata (the
directory name loses the "/"), and the number of events it holds, so a progress
bar can be sized without reading any data.

Replay streams: each (symbol, kind) is read with ``ParquetFile.iter_batches`` day
after day, and the streams are merged by watermark, so memory stays flat however
long the recording is.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import repeat
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from botkit.backtest.checks import (
    NULLABLE_COLUMNS,
    TS_MAX_NS,
    TS_MIN_NS,
    CatalogError,
    check_columns,
    check_nulls,
    check_schema,
    check_snapshots_uncrossed,
    iter_batches,
    open_parquet,
)
from botkit.events import (
    Bar,
    BookDelta,
    BookSnapshot,
    Ticker,
    TradeBatch,
    build_events,
    gc_paused,
)
from botkit.model import Side

NS_PER_DAY = 86_400 * 1_000_000_000

TRADES = "trades"
BOOK_SNAPSHOTS = "book_snapshots"
BOOK_DELTAS = "book_deltas"
QUOTES = "quotes"
FUNDING = "funding"
BARS_PREFIX = "bars_"

# Trade side codes in the catalog.
SIDE_UNKNOWN, SIDE_BUY, SIDE_SELL = 0, 1, 2
# Book side codes in the catalog.
BID, ASK = 0, 1

_META_SYMBOL = b"botkit.symbol"
_META_KIND = b"botkit.kind"
_META_EVENTS = b"botkit.events"

_UNIT_NS = {"s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000, "d": NS_PER_DAY}
_BARS_RE = re.compile(r"^bars_(\d+)([smhd])$")
_DAY_FILE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.parquet$")

# Ties at one timestamp replay in this order: the book first (so a strategy sees the
# book as it stands after the event), then the trade that printed, then bars. A quote
# comes after the depth update of its instant: it is the fresher top of book.
_PRIORITY = {BOOK_SNAPSHOTS: 0, BOOK_DELTAS: 1, QUOTES: 2, TRADES: 3}


_BAR_PRIORITY = 4

# The clocks a replay can run on: the exchange's times (ts_ns) or the recorder's
# receive times (recv_ns).
EXCHANGE_CLOCK, RECEIVE_CLOCK = "exchange", "receive"

_FLOAT = pa.float64()
_SCHEMAS: dict[str, pa.Schema] = {
    TRADES: pa.schema(
        [
            ("ts_ns", pa.int64()),
            ("price", _FLOAT),
            ("size", _FLOAT),
            ("side", pa.int8()),
            ("trade_id", pa.int64()),  # or string: see _normalize
        ]
    ),
    BOOK_SNAPSHOTS: pa.schema(
        [
            ("ts_ns", pa.int64()),
            ("side", pa.int8()),
            ("level", pa.int16()),
            ("price", _FLOAT),
            ("size", _FLOAT),
        ]
    ),
    BOOK_DELTAS: pa.schema(
        [("ts_ns", pa.int64()), ("side", pa.int8()), ("price", _FLOAT), ("size", _FLOAT)]
    ),
    QUOTES: pa.schema(
        [
            ("ts_ns", pa.int64()),
            ("bid", _FLOAT),
            ("bid_size", _FLOAT),
            ("ask", _FLOAT),
            ("ask_size", _FLOAT),
            ("recv_ns", pa.int64()),
            ("last", _FLOAT),
        ]
    ),
    FUNDING: pa.schema([("ts_ns", pa.int64()), ("rate", _FLOAT)]),
    "bars": pa.schema(
        [
            ("ts_ns", pa.int64()),
            ("open", _FLOAT),
            ("high", _FLOAT),
            ("low", _FLOAT),
            ("close", _FLOAT),
            ("volume", _FLOAT),
        ]
    ),
}

# Columns a kind may leave out (files without them stay valid): when the receiver got
# the event, and the last price a ticker carried.
RECV_NS = "recv_ns"
_OMITTABLE = {RECV_NS, "last"}

# Row groups bound what a reader decodes at once; zstd 6 is within 1 % of the
# size of zstd 9 on market data at two thirds of the write time.
_ROW_GROUP_ROWS = 256 * 1024
_ZSTD_LEVEL = 6


def bars_kind(interval_ns: int) -> str:
    """The catalog kind for bars of this length: 60 s -> ``bars_1m``, 1 h -> ``bars_1h``."""
    if interval_ns <= 0:
        raise ValueError(f"bar interval must be > 0 ns, got {interval_ns}")
    for unit in ("d", "h", "m", "s"):
        n, rem = divmod(interval_ns, _UNIT_NS[unit])
        if rem == 0 and n > 0:
            return f"{BARS_PREFIX}{n}{unit}"
    raise ValueError(f"bar interval {interval_ns} ns is not a whole number of seconds")


def bar_interval_ns(kind: str) -> int:
    """The bar length of a ``bars_<n><s|m|h|d>`` kind, in nanoseconds."""
    m = _BARS_RE.match(kind)
    if not m:
        raise ValueError(f"not a bars kind: {kind!r} (expected e.g. bars_1m, bars_1h)")
    return int(m.group(1)) * _UNIT_NS[m.group(2)]


def is_bars_kind(kind: str) -> bool:
    return _BARS_RE.match(kind) is not None


def check_kind(kind: str) -> str:
    if kind in _PRIORITY or kind == FUNDING or is_bars_kind(kind):
        return kind
    raise ValueError(
        f"unknown kind {kind!r}: expected trades, book_snapshots, book_deltas, quotes, "
        "funding or bars_<n><s|m|h|d>"
    )


def symbol_dir(symbol: str) -> str:
    """The directory name of a symbol: ``BTC/USDT`` -> ``BTC-USDT``."""
    if not symbol or symbol.strip() != symbol or "\\" in symbol or symbol in (".", ".."):
        raise ValueError(f"invalid symbol {symbol!r}")
    return symbol.replace("/", "-")


def day_of(ts_ns: int) -> date:
    return date(1970, 1, 1) + timedelta(days=ts_ns // NS_PER_DAY)


def day_start_ns(day: date) -> int:
    return (day - date(1970, 1, 1)).days * NS_PER_DAY


def to_ns(value: int | str | datetime | date) -> int:
    """Nanoseconds since the epoch from an int (already ns), an ISO string, or a datetime."""
    if isinstance(value, bool):
        raise TypeError("expected a time, got a bool")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        delta = value - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    if isinstance(value, date):
        return day_start_ns(value)
    raise TypeError(f"expected a time, got {type(value).__name__}")


class Entry(NamedTuple):
    """One day file of the catalog."""

    venue: str
    symbol: str
    kind: str
    date: date
    path: Path
    rows: int


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A day file's rows, events and ``ts_ns`` range (None without statistics), from
    its footer: :func:`file_info`."""

    path: Path
    rows: int
    events: int
    min_ts: int | None
    max_ts: int | None


class Catalog:
    """A directory of market data in the botkit layout (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Catalog({str(self.root)!r})"

    # ---- layout ---------------------------------------------------------------

    def symbol_path(self, venue: str, symbol: str) -> Path:
        return self.root / _check_name(venue, "venue") / symbol_dir(symbol)

    def kind_path(self, venue: str, symbol: str, kind: str) -> Path:
        return self.symbol_path(venue, symbol) / check_kind(kind)

    def path(self, venue: str, symbol: str, kind: str, day: date) -> Path:
        return self.kind_path(venue, symbol, kind) / f"{day.isoformat()}.parquet"

    def venues(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not _hidden(p))

    def symbols(self, venue: str) -> list[str]:
        """The symbols recorded for ``venue``, spelled as they were written (``BTC/USDT``)."""
        vdir = self.root / venue
        if not vdir.is_dir():
            return []
        names = (self._symbol_name(d) for d in vdir.iterdir() if d.is_dir() and not _hidden(d))
        return sorted(names)

    def kinds(self, venue: str, symbol: str) -> list[str]:
        sdir = self.symbol_path(venue, symbol)
        if not sdir.is_dir():
            return []
        found = [d.name for d in sdir.iterdir() if d.is_dir() and _is_kind_name(d.name)]
        return sorted(found, key=_kind_sort_key)

    def days(self, venue: str, symbol: str, kind: str) -> list[date]:
        return [d for d, _ in self._day_files(venue, symbol, kind)]

    def entries(
        self, venue: str | None = None, symbol: str | None = None, kind: str | None = None
    ) -> list[Entry]:
        """Every day file, as (venue, symbol, kind, date, path, rows); rows from the footer."""
        out: list[Entry] = []
        for v in [venue] if venue is not None else self.venues():
            for s in [symbol] if symbol is not None else self.symbols(v):
                for k in [kind] if kind is not None else self.kinds(v, s):
                    for day, path in self._day_files(v, s, k):
                        rows = open_parquet(path).metadata.num_rows
                        out.append(Entry(v, s, k, day, path, rows))
        return out

    # ---- instruments ----------------------------------------------------------

    def instrument(self, venue: str, symbol: str) -> dict[str, Any] | None:
        """The instrument's rules as written by :meth:`write_instrument`, or None."""
        path = self.symbol_path(venue, symbol) / "instrument.json"
        if not path.is_file():
            return None
        with path.open(encoding="utf-8") as f:
            data: dict[str, Any] = json.load(f)
        return data

    def write_instrument(self, venue: str, symbol: str, info: Mapping[str, Any]) -> Path:
        """Store tick size, lot size, limits and fees. Numbers are kept as decimal strings
        so that ``0.1`` stays ``0.1`` (the risk module turns them into ``Decimal``)."""
        data: dict[str, Any] = {"venue": venue, "symbol": symbol}
        for key, value in info.items():
            data[key] = _json_value(value)
        path = self.symbol_path(venue, symbol) / "instrument.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        _atomic_write_bytes(path, text.encode("utf-8"))
        return path

    # ---- writing --------------------------------------------------------------

    def write(self, venue: str, symbol: str, kind: str, data: Any) -> list[Path]:
        """Add rows (a pyarrow Table or a pandas DataFrame) to the catalog.

        Rows are split by UTC day and merged into the existing day files, sorted by
        ts_ns (stable: equal timestamps keep their order, old rows before new).
        Writing the same data twice changes nothing: trades are keyed by trade_id,
        bars by ts_ns, and a book event (all rows of one ts_ns) replaces an existing
        event at the same ts_ns.
        """
        check_kind(kind)
        table = _normalize(kind, data)
        written: list[Path] = []
        if table.num_rows == 0:
            return written
        ts = table.column("ts_ns").to_numpy()
        days = ts // NS_PER_DAY
        order = np.argsort(days, kind="stable")
        days_sorted = days[order]
        bounds = np.flatnonzero(np.diff(days_sorted)) + 1
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [len(days_sorted)]))
        for s, e in zip(starts.tolist(), ends.tolist()):
            part = table.take(pa.array(order[s:e]))
            day = day_of(int(days_sorted[s]) * NS_PER_DAY)
            path = self.path(venue, symbol, kind, day)
            if path.exists():
                part = _merge(kind, _read_day_file(path), part)
            _write_file(path, kind, symbol, _sort_by_ts(part))
            written.append(path)
        return written

    # ---- reading helpers --------------------------------------------------------

    def files(
        self,
        venue: str,
        symbol: str,
        kind: str,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> list[Path]:
        """The day files that may hold rows in [start_ns, end_ns), in time order."""
        first = day_of(start_ns) if start_ns is not None else None
        last = day_of(end_ns - 1) if end_ns is not None else None
        return [
            path
            for day, path in self._day_files(venue, symbol, kind)
            if (first is None or day >= first) and (last is None or day <= last)
        ]

    def _day_files(self, venue: str, symbol: str, kind: str) -> list[tuple[date, Path]]:
        kdir = self.kind_path(venue, symbol, kind)
        if not kdir.is_dir():
            return []
        found = []
        for p in kdir.iterdir():
            m = _DAY_FILE_RE.match(p.name)
            if m and p.is_file():
                found.append((date.fromisoformat(m.group(1)), p))
        found.sort()
        return found

    def _symbol_name(self, sdir: Path) -> str:
        # The directory name lost the "/": prefer the spelling stored with the data.
        inst = sdir / "instrument.json"
        if inst.is_file():
            try:
                with inst.open(encoding="utf-8") as f:
                    name = json.load(f).get("symbol")
                if isinstance(name, str) and name:
                    return name
            except (OSError, ValueError):
                pass
        for kdir in sorted(sdir.iterdir()):
            if not (kdir.is_dir() and _is_kind_name(kdir.name)):
                continue
            for p in sorted(kdir.glob("*.parquet")):
                try:
                    meta = pq.read_schema(p).metadata or {}
                except (pa.ArrowException, OSError):
                    continue  # the replay names the damaged file
                if _META_SYMBOL in meta:
                    return meta[_META_SYMBOL].decode("utf-8")
        return sdir.name


# ---- normalising and writing tables -------------------------------------------


def _schema_for(kind: str) -> pa.Schema:
    return _SCHEMAS["bars"] if is_bars_kind(kind) else _SCHEMAS[kind]


def _normalize(kind: str, data: Any) -> pa.Table:
    """Any table-like input -> a pyarrow Table with exactly the kind's columns and types."""
    if isinstance(data, pa.RecordBatch):
        table = pa.Table.from_batches([data])
    elif isinstance(data, pa.Table):
        table = data
    elif _is_dataframe(data):
        table = pa.Table.from_pandas(data, preserve_index=False)
    elif isinstance(data, Mapping):
        table = pa.table(dict(data))
    else:
        raise TypeError(f"expected a pyarrow Table or a pandas DataFrame, got {type(data)}")
    schema = _schema_for(kind)
    names = set(table.column_names)
    optional = {"side", "trade_id"} if kind == TRADES else set()
    # Quotes always had a receive time; the other kinds may carry one.
    omittable = _OMITTABLE - {RECV_NS} if kind == QUOTES else _OMITTABLE
    missing = [
        f.name
        for f in schema
        if f.name not in names and f.name not in optional and f.name not in omittable
    ]
    if missing:
        raise ValueError(f"{kind}: missing columns {missing}; got {table.column_names}")
    allowed = {f.name for f in schema} | ({RECV_NS} if kind != QUOTES else set())
    extra = sorted(names - allowed)
    if extra:
        raise ValueError(f"{kind}: unexpected columns {extra}")
    n = table.num_rows
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    for field in [*schema, *([pa.field(RECV_NS, pa.int64())] if kind != QUOTES else [])]:
        if field.name in omittable and field.name not in names:
            continue
        if field.name not in names:
            col: pa.ChunkedArray | pa.Array = (
                pa.array(np.zeros(n, dtype=np.int8))
                if field.name == "side"
                else pa.nulls(n, type=pa.int64())
            )
        else:
            col = table.column(field.name).combine_chunks()
        if field.name in ("ts_ns", "recv_ns"):
            col = _to_int64_ns(col)
        elif field.name == "trade_id":
            col = _trade_ids(col)
        elif field.name == "side" and kind == TRADES:
            col = _trade_sides(col)
        elif field.name == "side":
            col = _book_sides(col)
        else:
            col = col.cast(field.type)
        nullable = field.name == "trade_id" or (kind == QUOTES and field.name in NULLABLE_COLUMNS)
        if not nullable and col.null_count:
            raise ValueError(f"{kind}: column {field.name} has {col.null_count} nulls")
        arrays.append(col)
        fields.append(pa.field(field.name, col.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _read_day_file(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise CatalogError(
            path,
            f"cannot be read to merge new rows into it ({exc})",
            fix="Delete the file and import its day again",
        ) from None


def _is_dataframe(data: Any) -> bool:
    # pandas is imported only when a DataFrame could be involved: it is slow to import.
    if type(data).__module__.split(".")[0] != "pandas":
        return False
    import pandas as pd

    return isinstance(data, pd.DataFrame)


def _to_int64_ns(col: pa.Array) -> pa.Array:
    if pa.types.is_timestamp(col.type):
        return col.cast(pa.timestamp("ns")).cast(pa.int64())
    return col.cast(pa.int64())


def _trade_ids(col: pa.Array) -> pa.Array:
    if pa.types.is_integer(col.type) or pa.types.is_null(col.type):
        return col.cast(pa.int64())
    if pa.types.is_floating(col.type):
        raise ValueError("trade_id must be integers or strings, not floats")
    return col.cast(pa.string())


_TRADE_SIDE_NAMES = {"buy": SIDE_BUY, "b": SIDE_BUY, "sell": SIDE_SELL, "s": SIDE_SELL}
_BOOK_SIDE_NAMES = {"bid": BID, "b": BID, "buy": BID, "ask": ASK, "a": ASK, "sell": ASK}


def _side_codes(
    col: pa.Array, names: Mapping[str, int], valid: set[int], what: str, null: int | None
) -> pa.Array:
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        values = [None if v is None else names.get(v.lower(), -1) for v in col.to_pylist()]
        col = pa.array(values, type=pa.int8())
    col = col.cast(pa.int8())
    if null is not None:
        col = col.fill_null(null)
    if col.null_count:
        raise ValueError(f"{what}: {col.null_count} missing sides")
    codes = col.to_numpy()
    bad = ~np.isin(codes, list(valid))
    if bad.any():
        raise ValueError(f"{what}: invalid side code(s) {sorted(set(codes[bad].tolist()))[:5]}")
    return pa.array(codes, type=pa.int8())


def _trade_sides(col: pa.Array) -> pa.Array:
    valid = {SIDE_UNKNOWN, SIDE_BUY, SIDE_SELL}
    return _side_codes(col, _TRADE_SIDE_NAMES, valid, "trades side (0/1/2)", SIDE_UNKNOWN)


def _book_sides(col: pa.Array) -> pa.Array:
    return _side_codes(col, _BOOK_SIDE_NAMES, {BID, ASK}, "book side (0 bid / 1 ask)", None)


def _sort_by_ts(table: pa.Table) -> pa.Table:
    ts = table.column("ts_ns").to_numpy()
    if len(ts) < 2 or bool(np.all(ts[1:] >= ts[:-1])):
        return table
    return table.take(pa.array(np.argsort(ts, kind="stable")))


def _merge(kind: str, old: pa.Table, new: pa.Table) -> pa.Table:
    """Old rows that the new rows replace are dropped; the rest are kept, old first."""
    old, new = _unify_columns(old, new)
    if kind == TRADES:
        old, new = _unify_trade_ids(old, new)
        new_ids = new.column("trade_id")
        keyed = new_ids.drop_null()
        if len(keyed):
            replaced = pc.is_in(old.column("trade_id"), value_set=keyed.combine_chunks())
            old = old.filter(pc.invert(pc.fill_null(replaced, False)))
        if RECV_NS in new.column_names and new_ids.null_count:
            # A recorded trade without an id is one receipt: (ts_ns, recv_ns).
            unkeyed = pc.is_null(old.column("trade_id")).to_numpy(zero_copy_only=False)
            old = old.filter(pa.array(~(_same_receipt(old, new) & unkeyed)))
    else:
        # Bars are keyed by their close time; a book event is all rows of one ts_ns,
        # and a recorded one (with recv_ns) all rows of one (ts_ns, recv_ns).
        new_ts = np.unique(new.column("ts_ns").to_numpy())
        hit = np.isin(old.column("ts_ns").to_numpy(), new_ts)
        if hit.any() and kind != QUOTES and RECV_NS in new.column_names:
            hit &= _same_receipt(old, new)
        if hit.any():
            old = old.filter(pa.array(~hit))
    return pa.concat_tables([old.select(new.column_names).cast(new.schema), new])


def _unify_columns(old: pa.Table, new: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Give both tables the omittable columns either has (null where not recorded)."""
    for name in _OMITTABLE:
        if name in new.column_names and name not in old.column_names:
            field = new.schema.field(name)
            old = old.append_column(field, pa.nulls(old.num_rows, field.type))
        elif name in old.column_names and name not in new.column_names:
            field = old.schema.field(name)
            new = new.append_column(field, pa.nulls(new.num_rows, field.type))
    return old, new


def _same_receipt(old: pa.Table, new: pa.Table) -> np.ndarray:
    """Which old rows share (ts_ns, recv_ns) with a new row; a row recorded without a
    receive time matches on ts_ns alone."""
    pairs = set(zip(new.column("ts_ns").to_pylist(), new.column(RECV_NS).to_pylist(), strict=True))
    new_ts = {t for t, _ in pairs}
    ts = old.column("ts_ns").to_numpy()
    out = np.zeros(len(ts), dtype=bool)
    idx = np.flatnonzero(np.isin(ts, np.fromiter(new_ts, dtype=np.int64, count=len(new_ts))))
    if len(idx):
        recv = old.column(RECV_NS).take(pa.array(idx)).to_pylist()
        ts_at = ts[idx].tolist()
        out[idx] = [r is None or (t, r) in pairs for t, r in zip(ts_at, recv, strict=True)]
    return out


def _unify_trade_ids(old: pa.Table, new: pa.Table) -> tuple[pa.Table, pa.Table]:
    ot, nt = old.schema.field("trade_id").type, new.schema.field("trade_id").type
    if ot == nt:
        return old, new
    # Mixed integer and string ids: strings hold both without loss.
    i = old.schema.get_field_index("trade_id")
    old = old.set_column(i, "trade_id", old.column("trade_id").cast(pa.string()))
    j = new.schema.get_field_index("trade_id")
    new = new.set_column(j, "trade_id", new.column("trade_id").cast(pa.string()))
    return old, new


def _count_events(kind: str, table: pa.Table) -> int:
    if kind in (BOOK_SNAPSHOTS, BOOK_DELTAS):
        ts = table.column("ts_ns").to_numpy()
        return int(np.count_nonzero(np.diff(ts))) + 1 if len(ts) else 0
    return table.num_rows


def _write_file(path: Path, kind: str, symbol: str, table: pa.Table) -> None:
    meta = {
        _META_SYMBOL: symbol.encode("utf-8"),
        _META_KIND: kind.encode("utf-8"),
        _META_EVENTS: str(_count_events(kind, table)).encode("ascii"),
    }
    table = table.replace_schema_metadata(meta)
    # Sorted timestamps and sequential integer ids shrink to almost nothing with
    # delta encoding; prices and sizes repeat, so the dictionary suits them.
    delta = [
        f.name
        for f in table.schema
        if f.name in ("ts_ns", RECV_NS) or (f.name == "trade_id" and pa.types.is_integer(f.type))
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        pq.write_table(
            table,
            tmp,
            row_group_size=_ROW_GROUP_ROWS,
            compression="zstd",
            compression_level=_ZSTD_LEVEL,
            use_dictionary=[c for c in table.column_names if c not in delta],
            column_encoding=dict.fromkeys(delta, "DELTA_BINARY_PACKED"),
            write_statistics=True,
        )
        # Readers never see a half-written day file.
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _json_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Side):
        return value.value
    if isinstance(value, set | frozenset | list | tuple):
        return sorted(_json_value(v) for v in value)
    return value


def _check_name(name: str, what: str) -> str:
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ValueError(f"invalid {what} {name!r}")
    return name


def _hidden(p: Path) -> bool:
    return p.name.startswith((".", "_"))


def _is_kind_name(name: str) -> bool:
    return name in _PRIORITY or name == FUNDING or is_bars_kind(name)


def _kind_sort_key(kind: str) -> tuple[int, int]:
    if is_bars_kind(kind):
        return (_BAR_PRIORITY, bar_interval_ns(kind))
    if kind == FUNDING:
        return (_BAR_PRIORITY + 1, 0)
    return (_PRIORITY[kind], 0)


# ---- file metadata (cheap: footers only) ----------------------------------------


def _file_info(path: Path) -> FileInfo:
    md = open_parquet(path).metadata
    kv = md.metadata or {}
    rows = md.num_rows
    try:
        events = int(kv[_META_EVENTS]) if _META_EVENTS in kv else rows
    except ValueError:
        events = rows
    lo: int | None = None
    hi: int | None = None
    if "ts_ns" not in md.schema.names:
        names = ", ".join(md.schema.names)
        raise CatalogError(path, f"has no column 'ts_ns' (its columns: {names})")
    ts_idx = md.schema.names.index("ts_ns")
    for i in range(md.num_row_groups):
        st = md.row_group(i).column(ts_idx).statistics
        if st is None or not st.has_min_max:
            return FileInfo(path, rows, events, None, None)
        lo = st.min if lo is None else min(lo, st.min)
        hi = st.max if hi is None else max(hi, st.max)
    return FileInfo(path, rows, events, lo, hi)


def file_info(path: str | os.PathLike[str]) -> FileInfo:
    """What a day file holds, from its footer alone (no data is read)."""
    return _file_info(Path(path))


def _row_groups_in(pf: pq.ParquetFile, start_ns: int | None, end_ns: int | None) -> list[int]:
    md = pf.metadata
    ts_idx = md.schema.names.index("ts_ns")  # present: check_schema ran
    keep = []
    for i in range(md.num_row_groups):
        st = md.row_group(i).column(ts_idx).statistics
        if st is not None and st.has_min_max:
            if start_ns is not None and st.max < start_ns:
                continue
            if end_ns is not None and st.min >= end_ns:
                continue
        keep.append(i)
    return keep


# ---- replay ---------------------------------------------------------------------


_CATALOG_SIDES: dict[int, Side | None] = {SIDE_BUY: Side.BUY, SIDE_SELL: Side.SELL}


def _column_values(col: pa.Array | pa.ChunkedArray) -> np.ndarray | list[Any]:
    """A numpy array when the column converts without copying, else Python values."""
    if col.null_count == 0 and (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        values: np.ndarray = col.to_numpy()
        return values
    return col.to_pylist()


def trades_from_arrays(
    symbol: str,
    ts_ns: np.ndarray,
    price: np.ndarray,
    size: np.ndarray,
    side: Sequence[Any] | np.ndarray | None,
    trade_id: Sequence[Any] | np.ndarray | None,
    side_map: Mapping[Any, Side | None] = _CATALOG_SIDES,
) -> TradeBatch:
    """Trades from columns, as a :class:`TradeBatch` (a sequence of Trade built on demand)."""
    return TradeBatch(symbol, ts_ns, price, size, side, trade_id, side_map)


def iter_trade_batches(
    path: str | os.PathLike[str],
    symbol: str,
    ts_col: str = "ts_event",
    price_col: str = "price",
    size_col: str = "size",
    side_col: str | None = "aggressor",
    id_col: str | None = "trade_id",
    side_map: Mapping[Any, Side | None] | None = None,
    batch_rows: int = 65536,
) -> Iterator[TradeBatch]:
    """Stream any Parquet file of trades as :class:`TradeBatch` columns (sequences of Trade).

    ``ts_col`` is int64 nanoseconds or a timestamp column; ``side_map`` maps the
    side column's values to a Side (unmapped values give ``side=None``; the default
    is 1 buyer / 2 seller aggressor). ``side_col``/``id_col`` may be None.
    """
    smap: Mapping[Any, Side | None] = (
        side_map if side_map is not None else {1: Side.BUY, 2: Side.SELL}
    )
    cols = [ts_col, price_col, size_col]
    if side_col is not None:
        cols.append(side_col)
    if id_col is not None:
        cols.append(id_col)
    p = Path(path)
    pf = _open_streaming(p)
    missing = [c for c in cols if c not in pf.schema_arrow.names]
    if missing:
        names = ", ".join(pf.schema_arrow.names)
        raise CatalogError(p, f"has no column {missing[0]!r} (its columns: {names})")
    row = 0
    prev_ts: int | None = None
    batches = iter_batches(pf, p, batch_size=batch_rows, columns=cols, use_threads=True)
    for batch in batches:
        if batch.num_rows == 0:
            continue
        check_nulls(p, batch, cols[:3], row)
        try:
            ts = _to_int64_ns(batch.column(0)).to_numpy()
            price = batch.column(1).cast(_FLOAT).to_numpy()
            size = batch.column(2).cast(_FLOAT).to_numpy()
        except (pa.ArrowException, ValueError) as exc:
            raise CatalogError(p, f"a time, price or size column is not numbers ({exc})") from None
        checked = {"ts_ns": ts, "price": price, "size": size}
        prev_ts = check_columns(p, TRADES, checked, row, prev_ts)
        row += batch.num_rows
        side = _column_values(batch.column(3)) if side_col is not None else None
        k = 4 if side_col is not None else 3
        ids = _column_values(batch.column(k)) if id_col is not None else None
        yield trades_from_arrays(symbol, ts, price, size, side, ids, smap)


def _open_streaming(path: str | os.PathLike[str]) -> pq.ParquetFile:
    # pre_buffer (pyarrow's default) keeps every column chunk it has read cached
    # until the file is closed, so memory would grow with the file; plain buffered
    # reads keep it flat.
    return open_parquet(Path(path), pre_buffer=False, buffer_size=_READ_BUFFER)


_READ_BUFFER = 4 << 20

_Columns = dict[str, np.ndarray]
_COLUMN_NAMES: dict[str, list[str]] = {
    TRADES: ["ts_ns", "price", "size", "side", "trade_id"],
    BOOK_SNAPSHOTS: ["ts_ns", "side", "level", "price", "size"],
    BOOK_DELTAS: ["ts_ns", "side", "price", "size"],
    QUOTES: ["ts_ns", "bid", "bid_size", "ask", "ask_size"],
    "bars": ["ts_ns", "open", "high", "low", "close", "volume"],
}
# Read when a file has them.
_OPTIONAL_READ: dict[str, tuple[str, ...]] = {QUOTES: ("last",)}


def _to_numpy(col: pa.Array) -> np.ndarray:
    if col.null_count == 0:
        return col.to_numpy(zero_copy_only=False)
    return np.array(col.to_pylist(), dtype=object)


_VALUE_COLUMNS = frozenset(
    {"price", "size", "open", "high", "low", "close", "volume"}
    | {"bid", "bid_size", "ask", "ask_size", "last"}
)


def _batch_columns(batch: pa.RecordBatch, columns: list[str]) -> _Columns:
    cols = {name: _to_numpy(batch.column(i)) for i, name in enumerate(columns)}
    for name in _VALUE_COLUMNS.intersection(cols):
        if cols[name].dtype != np.float64:
            # Integer prices in a hand-made file: events carry floats.
            cols[name] = cols[name].astype(np.float64)
    return cols


def _file_bounds(path: Path) -> tuple[int, int]:
    """Where the rows of a day file may lie: its UTC day, within the sane years."""
    start = day_start_ns(date.fromisoformat(path.stem))
    return max(start, TS_MIN_NS), min(start + NS_PER_DAY, TS_MAX_NS)


def _column_chunks(
    files: Sequence[Path],
    kind: str,
    columns: list[str],
    start_ns: int | None,
    end_ns: int | None,
    batch_rows: int,
    clock: str = EXCHANGE_CLOCK,
) -> Iterator[_Columns]:
    """Column chunks of one stream in time order. A timestamp never spans two chunks,
    so the merge can treat a chunk's last timestamp as a safe watermark.

    Every batch is checked as it is read (``botkit.backtest.checks``): a bad
    file stops the replay with a :class:`CatalogError` naming the file and row.
    On the receive clock ``ts_ns`` is the row's ``recv_ns`` (see :func:`replay`).
    """
    snapshots = kind == BOOK_SNAPSHOTS
    receive = clock == RECEIVE_CLOCK
    floor: int | None = None  # receive clock: the stream's last time so far
    for path in files:
        pf = _open_streaming(path)
        check_schema(path, kind, pf.schema_arrow, columns)
        names = pf.schema_arrow.names
        read = columns + [c for c in _OPTIONAL_READ.get(kind, ()) if c in names]
        if receive:
            if RECV_NS not in names:
                raise CatalogError(
                    path,
                    "has no receive times (recv_ns), so it cannot be replayed on the receive clock",
                    fix="Replay it on the exchange clock (data.clock: exchange), or record "
                    "the feed with `botkit record`",
                )
            read.append(RECV_NS)
        groups = (
            list(range(pf.metadata.num_row_groups))
            if receive
            else _row_groups_in(pf, start_ns, end_ns)
        )
        if not groups:
            continue
        md = pf.metadata
        row = sum(md.row_group(g).num_rows for g in range(groups[0]))
        ts_lo, ts_hi = _file_bounds(path)
        prev_ts: int | None = None
        carry: _Columns | None = None
        batches = iter_batches(pf, path, batch_size=batch_rows, row_groups=groups, columns=read)
        for batch in batches:
            check_nulls(path, batch, read, row)
            cols = _batch_columns(batch, read)
            prev_ts = check_columns(path, kind, cols, row, prev_ts, ts_lo, ts_hi)
            row += batch.num_rows
            if receive:
                cols, floor = _on_receive_clock(path, row - batch.num_rows, cols, floor)
            ts = cols["ts_ns"]
            lo = 0 if start_ns is None else int(np.searchsorted(ts, start_ns, "left"))
            hi = len(ts) if end_ns is None else int(np.searchsorted(ts, end_ns, "left"))
            if lo > 0 or hi < len(ts):
                cols = {k: v[lo:hi] for k, v in cols.items()}
            done = hi < len(ts)
            if carry is not None:
                cols = {k: _concat(carry[k], v) for k, v in cols.items()}
                carry = None
            ts = cols["ts_ns"]
            if len(ts) == 0:
                if done:
                    return
                continue
            if done:
                if snapshots:
                    check_snapshots_uncrossed(path, cols, BID)
                yield cols
                return
            # Hold back the rows of the last timestamp: the next batch may have more.
            cut = int(np.searchsorted(ts, ts[-1], "left"))
            if cut == 0:
                carry = cols
                continue
            out = {k: v[:cut] for k, v in cols.items()}
            if snapshots:
                check_snapshots_uncrossed(path, out, BID)
            yield out
            carry = {k: v[cut:] for k, v in cols.items()}
        if carry is not None and len(carry["ts_ns"]):
            if snapshots:
                check_snapshots_uncrossed(path, carry, BID)
            yield carry


def _on_receive_clock(
    path: Path, first_row: int, cols: _Columns, floor: int | None
) -> tuple[_Columns, int | None]:
    """The batch in the order it was received, stamped with its receive times.

    Rows are sorted by ``recv_ns`` (stable: the rows of one event keep their order).
    A row received before the stream's previous batch (a venue that sent its own
    times out of order) is kept at that batch's time, so the stream stays in order.
    The rows' own ``ts_ns`` are kept as ``event_ts`` (``botkit.recording.replay``
    replays events with them).
    """
    recv = cols.pop(RECV_NS).astype(np.int64, copy=False)
    if len(recv) == 0:
        return cols, floor
    bad = (recv < TS_MIN_NS) | (recv >= TS_MAX_NS)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CatalogError(
            path, f"recv_ns {recv[i]} is not a time between 2000 and 2100", row=first_row + i
        )
    if len(recv) > 1 and bool((recv[1:] < recv[:-1]).any()):
        order = np.argsort(recv, kind="stable")
        cols = {k: v[order] for k, v in cols.items()}
        recv = recv[order]
    if floor is not None and recv[0] < floor:
        recv = np.maximum(recv, floor)
    cols["event_ts"] = cols["ts_ns"]
    cols["ts_ns"] = recv
    return cols, int(recv[-1])


def _concat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype != b.dtype and (a.dtype == object or b.dtype == object):
        return np.concatenate([a.astype(object), b.astype(object)])
    return np.concatenate([a, b])


def _group_bounds(ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = np.concatenate(([0], np.flatnonzero(np.diff(ts)) + 1))
    ends = np.concatenate((starts[1:], [len(ts)]))
    return starts, ends


def _book_events(
    cls: type[BookSnapshot] | type[BookDelta], symbol: str, cols: _Columns
) -> tuple[np.ndarray, list[Any]]:
    ts, side = cols["ts_ns"], cols["side"]
    n = len(ts)
    # Bids before asks within each event; snapshots by level, deltas keep row order.
    keys: tuple[np.ndarray, ...] = (np.arange(n), side, ts)
    if "level" in cols:
        keys = (np.arange(n), cols["level"], side, ts)
    order = np.lexsort(keys)
    ts, side = ts[order], side[order]
    starts, ends = _group_bounds(ts)
    n_bids = np.add.reduceat((side == BID).astype(np.int64), starts)
    starts_l, ends_l = starts.tolist(), ends.tolist()
    mids = (starts + n_bids).tolist()
    ev_ts = ts[starts]
    with gc_paused():
        # One (price, size) tuple per row in a single C-level pass; each event then
        # takes two slices of that list: no Python code runs per level.
        levels = list(zip(cols["price"][order].tolist(), cols["size"][order].tolist()))
    bids = map(levels.__getitem__, map(slice, starts_l, mids))
    asks = map(levels.__getitem__, map(slice, mids, ends_l))
    events = build_events(cls, ev_ts.tolist(), repeat(symbol), bids, asks)
    return ev_ts, events


def _trade_events(symbol: str, cols: _Columns) -> tuple[np.ndarray, TradeBatch]:
    ts = cols["ts_ns"]
    events = trades_from_arrays(
        symbol, ts, cols["price"], cols["size"], cols["side"], cols["trade_id"]
    )
    return ts, events


def _bar_events(symbol: str, interval_ns: int, cols: _Columns) -> tuple[np.ndarray, list[Any]]:
    ts = cols["ts_ns"]
    events = build_events(
        Bar,
        ts.tolist(),
        repeat(symbol),
        repeat(interval_ns),
        cols["open"].tolist(),
        cols["high"].tolist(),
        cols["low"].tolist(),
        cols["close"].tolist(),
        cols["volume"].tolist(),
    )
    return ts, events


def _quote_events(symbol: str, cols: _Columns) -> tuple[np.ndarray, list[Any]]:
    ts = cols["ts_ns"]
    last = cols.get("last")
    events = build_events(
        Ticker,
        ts.tolist(),
        repeat(symbol),
        _given(cols["bid"]),
        _given(cols["ask"]),
        _given(cols["bid_size"]),
        _given(cols["ask_size"]),
        repeat(None) if last is None else _given(last),  # the ticker's last trade price
    )
    return ts, events


def _given(values: np.ndarray) -> list[float | None]:
    """A nullable quote column as Python values: None where the quote gave none (NaN)."""
    out: list[float | None] = values.tolist()
    if np.isnan(values).any():
        out = [None if v != v else v for v in out]
    return out


def _event_chunks(
    catalog: Catalog,
    venue: str,
    symbol: str,
    kind: str,
    start_ns: int | None,
    end_ns: int | None,
    batch_rows: int,
    clock: str = EXCHANGE_CLOCK,
    venue_times: bool = False,
) -> Iterator[tuple[np.ndarray, Sequence[Any]]]:
    """(times, events) chunks of one stream. On the receive clock the times are the
    receive times; the events carry them too, or with ``venue_times`` their own."""
    if clock == RECEIVE_CLOCK:
        # A day file is the exchange's day: an event received just after midnight may
        # be in the file before.
        lo = None if start_ns is None else start_ns - NS_PER_DAY
        hi = None if end_ns is None else end_ns + NS_PER_DAY
        files = catalog.files(venue, symbol, kind, lo, hi)
    else:
        files = catalog.files(venue, symbol, kind, start_ns, end_ns)
    columns = _COLUMN_NAMES["bars" if is_bars_kind(kind) else kind]
    interval = bar_interval_ns(kind) if is_bars_kind(kind) else 0
    chunks = _column_chunks(files, kind, columns, start_ns, end_ns, batch_rows, clock)
    for cols in chunks:
        if venue_times and "event_ts" in cols:
            yield _own_times(kind, symbol, interval, cols)
        elif kind == TRADES:
            yield _trade_events(symbol, cols)
        elif kind == BOOK_SNAPSHOTS:
            yield _book_events(BookSnapshot, symbol, cols)
        elif kind == BOOK_DELTAS:
            yield _book_events(BookDelta, symbol, cols)
        elif kind == QUOTES:
            yield _quote_events(symbol, cols)
        else:
            yield _bar_events(symbol, interval, cols)


def _own_times(
    kind: str, symbol: str, interval: int, cols: _Columns
) -> tuple[np.ndarray, list[Any]]:
    """A receive-clock chunk's events stamped with their own times, keyed by receive time."""
    recv, own = cols["ts_ns"], cols["event_ts"]
    if kind in (BOOK_SNAPSHOTS, BOOK_DELTAS):
        # One event is the rows of one receipt, which share their own time too.
        cls = BookSnapshot if kind == BOOK_SNAPSHOTS else BookDelta
        ev_recv, events = _book_events(cls, symbol, cols)
        own_at = dict(zip(recv.tolist(), own.tolist(), strict=True))
        stamped = [e._replace(ts_ns=own_at[t]) for e, t in zip(events, ev_recv.tolist())]
        return ev_recv, stamped
    mine = {**cols, "ts_ns": own}
    if kind == TRADES:
        return recv, _trade_events(symbol, mine)[1].events()
    if kind == QUOTES:
        return recv, _quote_events(symbol, mine)[1]
    return recv, _bar_events(symbol, interval, mine)[1]


def read_columns(
    catalog: Catalog,
    venue: str,
    symbol: str,
    kind: str,
    start_ns: int | None = None,
    end_ns: int | None = None,
    batch_rows: int = 65536,
) -> Iterator[dict[str, np.ndarray]]:
    """One kind's columns in time order, chunk by chunk (numpy arrays by column name),
    checked as replay checks them: a bad file is a :class:`CatalogError`."""
    files = catalog.files(venue, symbol, kind, start_ns, end_ns)
    columns = _COLUMN_NAMES["bars" if is_bars_kind(kind) else kind]
    yield from _column_chunks(files, kind, columns, start_ns, end_ns, batch_rows)


def _expand_kinds(catalog: Catalog, venue: str, symbol: str, kinds: Iterable[str]) -> list[str]:
    present = catalog.kinds(venue, symbol)
    out: list[str] = []
    for k in kinds:
        if k == "book":
            wanted = [BOOK_SNAPSHOTS, BOOK_DELTAS]
        elif k == "bars":
            wanted = [p for p in present if is_bars_kind(p)]
        else:
            wanted = [check_kind(k)]
        out.extend(w for w in wanted if w in present and w not in out)
    return sorted(out, key=_kind_sort_key)


def _streams_spec(
    catalog: Catalog, venue: str, symbols: str | Sequence[str], kinds: Iterable[str]
) -> list[tuple[str, str]]:
    """(symbol, kind) pairs in tie-break order: kind priority, then the symbols' order."""
    syms = [symbols] if isinstance(symbols, str) else list(symbols)
    kinds = list(kinds)
    pairs = [(s, k) for s in syms for k in _expand_kinds(catalog, venue, s, kinds)]
    sym_rank = {s: i for i, s in enumerate(syms)}
    return sorted(pairs, key=lambda p: (_kind_sort_key(p[1]), sym_rank[p[0]]))


def book_at(catalog: Catalog, venue: str, symbol: str, ts_ns: int) -> BookSnapshot | None:
    """The book as it stood just before ``ts_ns``: the last snapshot before it with the
    deltas since applied. None when no snapshot precedes ``ts_ns``."""
    snap_ts: int | None = None
    for path in reversed(catalog.files(venue, symbol, BOOK_SNAPSHOTS, None, ts_ns)):
        try:
            ts = pq.read_table(path, columns=["ts_ns"]).column("ts_ns").to_numpy()
            i = int(np.searchsorted(ts, ts_ns, "left"))
            if i > 0:
                snap_ts = int(ts[i - 1])
                rows = pq.read_table(path, filters=[("ts_ns", "=", snap_ts)])
                break
        except (pa.ArrowException, OSError, KeyError) as exc:
            raise CatalogError(path, f"cannot be read ({exc})") from None
    if snap_ts is None:
        return None
    cols = {c: rows.column(c).to_numpy() for c in _COLUMN_NAMES[BOOK_SNAPSHOTS]}
    _, (snap,) = _book_events(BookSnapshot, symbol, cols)
    bids = dict(snap.bids)
    asks = dict(snap.asks)
    # Deltas at the snapshot's own timestamp come after it (tie order), so include them.
    for _, events in _event_chunks(catalog, venue, symbol, BOOK_DELTAS, snap_ts, ts_ns, 65536):
        for ev in events:
            for levels, book in ((ev.bids, bids), (ev.asks, asks)):
                for p, s in levels:
                    if s > 0:
                        book[p] = s
                    else:
                        book.pop(p, None)
    return BookSnapshot(
        ts_ns,
        symbol,
        sorted(bids.items(), key=lambda lv: -lv[0]),
        sorted(asks.items()),
    )


class _Stream:
    __slots__ = ("chunks", "events", "pos", "ts")

    def __init__(self, chunks: Iterator[tuple[np.ndarray, Sequence[Any]]]) -> None:
        self.chunks = chunks
        self.ts: np.ndarray = np.empty(0, dtype=np.int64)
        self.events: Sequence[Any] = []
        self.pos = 0

    def fill(self) -> bool:
        """Make sure unconsumed events are buffered; False when the stream is over."""
        while self.pos >= len(self.events):
            nxt = next(self.chunks, None)
            if nxt is None:
                return False
            self.ts, self.events = nxt
            self.pos = 0
        return True


def replay(
    catalog: Catalog,
    venue: str,
    symbols: str | Sequence[str],
    kinds: Iterable[str] = ("book", "quotes", "trades", "bars"),
    start_ns: int | None = None,
    end_ns: int | None = None,
    batch_rows: int = 65536,
    book_at_start: bool = True,
    clock: str = EXCHANGE_CLOCK,
) -> Iterator[Sequence[Any]]:
    """Stream recorded events as batches in global time order.

    A batch is a list of events, or a :class:`TradeBatch` when it holds only the
    trades of one symbol (then the engine can skip quiet trades in bulk).

    Streams of several symbols and kinds are merged; events at the same ts_ns come
    as book snapshot, book delta, quote, trade, bar (shorter bars first), each kind
    in the order it was recorded and the symbols in the order given. ``kinds``
    takes ``"book"`` (snapshots + deltas), ``"quotes"`` (best bid/ask, replayed as
    :class:`Ticker`), ``"trades"``, ``"bars"`` (every bar kind recorded) or exact
    kind names. The window is [start_ns, end_ns). When it
    starts after a book snapshot, the replay opens with a snapshot of the book as
    it stood at start_ns (``book_at_start``), so deltas never apply to an empty book.

    ``clock="receive"`` replays data recorded with receive times (``recv_ns``, as
    ``botkit record`` writes) in the order the recorder received it, each event
    stamped with its receive time: what a live bot saw, in the order it saw it, which
    the exchange's own times (``"exchange"``, the default) may not give when a venue
    stamps some streams and not others. A file without ``recv_ns`` is then a
    :class:`CatalogError`.

    Memory stays flat: every stream holds at most about one ``batch_rows`` chunk.
    """
    if batch_rows <= 0:
        raise ValueError("batch_rows must be > 0")
    if clock not in (EXCHANGE_CLOCK, RECEIVE_CLOCK):
        raise ValueError(f"clock must be {EXCHANGE_CLOCK!r} or {RECEIVE_CLOCK!r}, not {clock!r}")
    spec = _streams_spec(catalog, venue, symbols, kinds)
    streams: list[_Stream] = []
    if start_ns is not None and book_at_start:
        for sym in dict.fromkeys(s for s, k in spec if k == BOOK_DELTAS):
            snap = book_at(catalog, venue, sym, start_ns)
            if snap is not None:
                first = iter([(np.array([start_ns], dtype=np.int64), [snap])])
                streams.append(_Stream(first))
    for sym, kind in spec:
        chunks = _event_chunks(catalog, venue, sym, kind, start_ns, end_ns, batch_rows, clock)
        streams.append(_Stream(chunks))
    yield from _merge_streams(streams)


def _merge_streams(streams: list[_Stream]) -> Iterator[Sequence[Any]]:
    active = [s for s in streams if s.fill()]
    while active:
        if len(active) == 1:
            s = active[0]
            yield s.events if s.pos == 0 else s.events[s.pos :]
            s.pos = len(s.events)
            if not s.fill():
                return
            continue
        # Every stream's future events are later than its last buffered one, so
        # everything up to the smallest of those is final.
        watermark = min(int(s.ts[-1]) for s in active)
        parts_ts: list[np.ndarray] = []
        parts_ev: list[Sequence[Any]] = []
        for s in active:
            cut = int(np.searchsorted(s.ts, watermark, "right"))
            if cut > s.pos:
                parts_ts.append(s.ts[s.pos : cut])
                parts_ev.append(s.events[s.pos : cut] if s.pos or cut < len(s.events) else s.events)
                s.pos = cut
        if len(parts_ev) == 1:
            yield parts_ev[0]
        else:
            # Parts are in tie-break order, so a stable sort on time alone is enough.
            order = np.argsort(np.concatenate(parts_ts), kind="stable")
            merged: list[Any] = []
            for part in parts_ev:
                merged.extend(part)
            yield list(map(merged.__getitem__, order.tolist()))
        active = [s for s in active if s.fill()]


def funding_rates(
    catalog: Catalog,
    venue: str,
    symbol: str,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> list[tuple[int, Decimal]]:
    """The recorded funding of ``symbol`` in [start_ns, end_ns): (time, rate) in time
    order, each rate the decimal its float prints as. Checked like every other kind."""
    columns = ["ts_ns", "rate"]
    out: list[tuple[int, Decimal]] = []
    for path in catalog.files(venue, symbol, FUNDING, start_ns, end_ns):
        pf = _open_streaming(path)
        check_schema(path, FUNDING, pf.schema_arrow, columns)
        ts_lo, ts_hi = _file_bounds(path)
        prev_ts: int | None = None
        row = 0
        for batch in iter_batches(pf, path, columns=columns):
            check_nulls(path, batch, columns, row)
            cols = _batch_columns(batch, columns)
            prev_ts = check_columns(path, FUNDING, cols, row, prev_ts, ts_lo, ts_hi)
            row += batch.num_rows
            for ts, rate in zip(cols["ts_ns"].tolist(), cols["rate"].tolist(), strict=True):
                if (start_ns is None or ts >= start_ns) and (end_ns is None or ts < end_ns):
                    out.append((ts, Decimal(repr(rate))))
    return out


def replay_count(
    catalog: Catalog,
    venue: str,
    symbols: str | Sequence[str],
    kinds: Iterable[str] = ("book", "quotes", "trades", "bars"),
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> int:
    """An estimate of how many events :func:`replay` will yield, from file footers only.

    Exact for whole days; a day cut by the window is prorated by time.
    """
    total = 0.0
    for sym, kind in _streams_spec(catalog, venue, symbols, kinds):
        for path in catalog.files(venue, sym, kind, start_ns, end_ns):
            info = _file_info(path)
            total += info.events * _overlap(info, start_ns, end_ns)
    return round(total)


def _overlap(info: FileInfo, start_ns: int | None, end_ns: int | None) -> float:
    if info.min_ts is None or info.max_ts is None:
        return 1.0
    lo = info.min_ts if start_ns is None else max(info.min_ts, start_ns)
    hi = info.max_ts + 1 if end_ns is None else min(info.max_ts + 1, end_ns)
    span = info.max_ts + 1 - info.min_ts
    return max(0.0, min(1.0, (hi - lo) / span))


__all__ = [
    "ASK",
    "BID",
    "BOOK_DELTAS",
    "BOOK_SNAPSHOTS",
    "EXCHANGE_CLOCK",
    "FUNDING",
    "NS_PER_DAY",
    "QUOTES",
    "RECEIVE_CLOCK",
    "RECV_NS",
    "SIDE_BUY",
    "SIDE_SELL",
    "SIDE_UNKNOWN",
    "TRADES",
    "Catalog",
    "CatalogError",
    "Entry",
    "FileInfo",
    "bar_interval_ns",
    "bars_kind",
    "book_at",
    "check_kind",
    "day_of",
    "file_info",
    "funding_rates",
    "is_bars_kind",
    "iter_trade_batches",
    "read_columns",
    "replay",
    "replay_count",
    "symbol_dir",
    "to_ns",
    "trades_from_arrays",
]
