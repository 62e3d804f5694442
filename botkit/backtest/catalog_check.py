"""``botkit data check``: every file of the catalog read, each problem reported with its
file and row (from 0, as ``pyarrow.parquet.read_table(path).slice(row, 1)``).

Errors are what replay refuses (an unreadable file, nulls, values, times outside
the file's day, bar ranges) and what replay cannot see one batch at a time: time
going backwards anywhere in a file, duplicated trade ids, crossed books (each
snapshot, and the book rebuilt from snapshots and deltas after each delta event),
crossed quotes, prices off the tick size and trade sizes off the lot size of
``instrument.json``. Warnings are gaps (as ``data list`` counts them), bars off
their interval's grid and a symbol without ``instrument.json``.
"""

from __future__ import annotations

import argparse
import heapq
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from botkit.backtest.catalog import (
    BID,
    BOOK_DELTAS,
    BOOK_SNAPSHOTS,
    FUNDING,
    NS_PER_DAY,
    QUOTES,
    TRADES,
    Catalog,
    CatalogError,
    bar_interval_ns,
    day_start_ns,
    is_bars_kind,
)
from botkit.backtest.catalog_tools import DEFAULT_GAP_NS, SILENT_KINDS, gap_arg, human, iso
from botkit.backtest.checks import (
    TS_MAX_NS,
    TS_MIN_NS,
    check_schema,
    iter_batches,
    open_parquet,
    rules_for,
)

_Levels = list[tuple[float, float]]  # (price, size) of one side of a book


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: ``level`` error or warning, a stable ``code``, the file and row
    (from 0; None for the whole file) and what is wrong."""

    level: str
    code: str
    path: Path | None
    row: int | None
    message: str

    def __str__(self) -> str:
        where = "" if self.path is None else f"{self.path}: "
        if self.path is not None and self.row is not None:
            where = f"{self.path}, row {self.row}: "
        return f"{self.level}: {where}{self.message}"


@dataclass
class CheckReport:
    """Every finding (the first ``max_listed`` per file and code; ``counts`` has them
    all), and what was read."""

    findings: list[Finding] = field(default_factory=list)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    files: int = 0
    rows: int = 0
    max_listed: int = 10
    _listed: Counter[tuple[Path | None, str]] = field(default_factory=Counter)

    def add(self, level: str, code: str, path: Path | None, row: int | None, msg: str) -> None:
        self.counts[(level, code)] += 1
        key = (path, code)
        self._listed[key] += 1
        if self._listed[key] <= self.max_listed:
            self.findings.append(Finding(level, code, path, row, msg))

    def more(self, level: str, code: str, path: Path | None, n: int) -> None:
        """Count ``n`` findings beyond those listed (past ``max_listed``), unbuilt."""
        if n > 0:
            self.counts[(level, code)] += n
            self._listed[(path, code)] += n

    def count(self, level: str) -> int:
        return sum(n for (lv, _), n in self.counts.items() if lv == level)

    @property
    def errors(self) -> int:
        return self.count("error")

    @property
    def warnings(self) -> int:
        return self.count("warning")

    def unlisted(self) -> list[str]:
        """One line per file and code with more findings than were listed."""
        return [
            f"  ... and {n - self.max_listed:,} more {code} in {path}"
            for (path, code), n in self._listed.items()
            if n > self.max_listed
        ]

    def summary(self) -> str:
        def by(level: str) -> str:
            codes = sorted((c, n) for (lv, c), n in self.counts.items() if lv == level)
            return ", ".join(f"{c} {n:,}" for c, n in codes)

        files = "file" if self.files == 1 else "files"
        parts = [f"checked {self.files:,} {files}, {self.rows:,} rows"]
        for level, n in (("error", self.errors), ("warning", self.warnings)):
            plural = "" if n == 1 else "s"
            parts.append(f"{n:,} {level}{plural}" + (f" ({by(level)})" if n else ""))
        return ": ".join(parts[:1]) + ": " + "; ".join(parts[1:])


def check_catalog(
    catalog: Catalog,
    venue: str | None = None,
    symbol: str | None = None,
    kind: str | None = None,
    gap_ns: int = DEFAULT_GAP_NS,
    book: bool = True,
    max_listed: int = 10,
) -> CheckReport:
    """Read every file of the catalog (or the filter) and report each problem.

    Errors: unreadable files, nulls, values replay refuses, time going backwards,
    times outside the file's day, bars whose high/low do not contain open/close,
    crossed book snapshots, a book crossed after a delta (``book``: the book is
    rebuilt from the snapshots and deltas), crossed quotes, duplicated trade ids,
    prices off ``tick_size`` and trade/book sizes off ``lot_size``. Warnings: gaps
    (bar slots without a bar; silences over ``gap_ns`` in trades, book deltas and
    quotes), bars stamped off their interval's grid, a symbol without
    ``instrument.json`` (its grid is then not checked).
    """
    report = CheckReport(max_listed=max_listed)
    venues = [venue] if venue is not None else catalog.venues()
    for v in venues:
        for s in [symbol] if symbol is not None else catalog.symbols(v):
            kinds = [kind] if kind is not None else catalog.kinds(v, s)
            grid = _grid(catalog, v, s, report)
            for k in kinds:
                _check_stream(catalog, v, s, k, grid, gap_ns, report)
            if book and (kind is None or kind in (BOOK_SNAPSHOTS, BOOK_DELTAS)):
                _check_book_replay(catalog, v, s, report)
    # File by file in the order read, row by row within a file.
    order = {path: i for i, path in enumerate(dict.fromkeys(f.path for f in report.findings))}
    report.findings.sort(key=lambda f: (order[f.path], -1 if f.row is None else f.row))
    return report


@dataclass(frozen=True, slots=True)
class _Grid:
    tick: Decimal | None
    lot: Decimal | None


def _grid(catalog: Catalog, venue: str, symbol: str, report: CheckReport) -> _Grid:
    inst = catalog.instrument(venue, symbol)
    if inst is None:
        if catalog.kinds(venue, symbol):
            path = catalog.symbol_path(venue, symbol) / "instrument.json"
            report.add(
                "warning",
                "no_instrument",
                path,
                None,
                "missing: prices and sizes are not checked against a grid",
            )
        return _Grid(None, None)

    def step(key: str) -> Decimal | None:
        try:
            d = Decimal(str(inst.get(key)))
        except (InvalidOperation, ValueError):
            return None
        return d if d.is_finite() and d > 0 else None

    return _Grid(step("tick_size"), step("lot_size"))


_PRICE_COLUMNS = {
    TRADES: ("price",),
    BOOK_SNAPSHOTS: ("price",),
    BOOK_DELTAS: ("price",),
    QUOTES: ("bid", "ask"),
    "bars": ("open", "high", "low", "close"),
}
# Trade sizes only: a book level adds up orders, some placed under an older, finer lot
# size (Binance's BTCUSDT book holds levels of 6 decimals on a 5-decimal lot).
_SIZE_COLUMNS = {TRADES: ("size",)}
_COLUMNS = {
    TRADES: ["ts_ns", "price", "size", "side", "trade_id"],
    BOOK_SNAPSHOTS: ["ts_ns", "side", "level", "price", "size"],
    BOOK_DELTAS: ["ts_ns", "side", "price", "size"],
    QUOTES: ["ts_ns", "bid", "bid_size", "ask", "ask_size"],
    FUNDING: ["ts_ns", "rate"],
    "bars": ["ts_ns", "open", "high", "low", "close", "volume"],
}


def _family(kind: str) -> str:
    return "bars" if is_bars_kind(kind) else kind


class _Stream:
    """What the check carries from file to file of one (venue, symbol, kind)."""

    def __init__(self, kind: str, gap_ns: int) -> None:
        self.kind = kind
        self.prev_ts: int | None = None
        self.bar_ns = bar_interval_ns(kind) if is_bars_kind(kind) else None
        self.gap_ns = gap_ns if kind in SILENT_KINDS else None
        self.id_ranges: list[tuple[Path, int, int]] = []  # integer trade ids per file


def _check_stream(
    catalog: Catalog,
    venue: str,
    symbol: str,
    kind: str,
    grid: _Grid,
    gap_ns: int,
    report: CheckReport,
) -> None:
    stream = _Stream(kind, gap_ns)
    for day, path in zip(catalog.days(venue, symbol, kind), catalog.files(venue, symbol, kind)):
        report.files += 1
        try:
            _check_file(path, day, stream, grid, report)
        except CatalogError as e:
            report.add("error", "bad_file", path, e.row, e.problem)


def _check_file(path: Path, day: date, stream: _Stream, grid: _Grid, report: CheckReport) -> None:
    kind = stream.kind
    family = _family(kind)
    columns = _COLUMNS[family]
    pf = open_parquet(path)
    check_schema(path, kind, pf.schema_arrow, columns)  # as replay: every column, its type
    lo = max(day_start_ns(day), TS_MIN_NS)
    hi = min(day_start_ns(day) + NS_PER_DAY, TS_MAX_NS)
    row = 0
    ids: list[np.ndarray] = []
    for batch in iter_batches(pf, path, columns=columns, batch_size=1 << 20):
        n = batch.num_rows
        if n == 0:
            continue
        cols = _batch(path, batch, columns, row, report)
        if cols is None:
            report.rows += n
            return
        _check_batch(path, row, cols, stream, grid, (lo, hi), report)
        if "trade_id" in cols:
            ids.append(cols["trade_id"])
        row += n
        report.rows += n
    if ids:
        _check_trade_ids(path, np.concatenate(ids) if len(ids) > 1 else ids[0], stream, report)


def _batch(
    path: Path, batch: pa.RecordBatch, columns: list[str], row: int, report: CheckReport
) -> dict[str, np.ndarray] | None:
    """The batch as numpy columns; None (after reporting) when a needed column has nulls."""
    cols: dict[str, np.ndarray] = {}
    for i, name in enumerate(columns):
        col = batch.column(i)
        if name == "trade_id":
            cols[name] = (
                col.to_numpy(zero_copy_only=False)
                if pa.types.is_integer(col.type) and col.null_count == 0
                else np.array(col.to_pylist(), dtype=object)
            )
            continue
        if col.null_count:
            first = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            report.add(
                "error",
                "null",
                path,
                row + first,
                f"'{name}' is empty (null) in {col.null_count:,} rows",
            )
            return None
        cols[name] = col.to_numpy(zero_copy_only=False)
    return cols


def _rows(
    report: CheckReport,
    level: str,
    code: str,
    path: Path,
    first_row: int,
    mask: np.ndarray,
    message: Any,
) -> None:
    """Report every row where ``mask`` holds; ``message(i)`` says what is wrong at index i."""
    for i in np.flatnonzero(mask)[: report.max_listed].tolist():
        report.add(level, code, path, first_row + i, message(i))
    report.more(level, code, path, int(np.count_nonzero(mask)) - report.max_listed)


def _check_batch(
    path: Path,
    row: int,
    cols: dict[str, np.ndarray],
    stream: _Stream,
    grid: _Grid,
    day: tuple[int, int],
    report: CheckReport,
) -> None:
    ts = cols["ts_ns"].astype(np.int64)
    before = np.concatenate(([stream.prev_ts], ts[:-1])) if stream.prev_ts is not None else None
    if before is None:
        before = np.concatenate(([ts[0]], ts[:-1]))
    diffs = ts - before
    _rows(
        report,
        "error",
        "time_backwards",
        path,
        row,
        diffs < 0,
        lambda i: f"time goes backwards: {iso(int(ts[i]))} after {iso(int(before[i]))}",
    )
    lo, hi = day
    _rows(
        report,
        "error",
        "outside_day",
        path,
        row,
        (ts < lo) | (ts >= hi),
        lambda i: f"{iso(int(ts[i]))} is outside the day the file is named for",
    )
    for name, rule in rules_for(stream.kind).items():
        v = cols.get(name)
        if v is None:
            continue
        if isinstance(rule, tuple):
            bad = (v < rule[0]) | (v > rule[1])
            want = f"{rule[0]}..{rule[1]}"
        elif rule == "rate":
            bad, want = ~(np.isfinite(v) & (np.abs(v) < 1)), "a finite rate between -1 and 1"
        elif rule == "positive":
            bad, want = ~(np.isfinite(v) & (v > 0)), "a finite number > 0"
        else:
            bad, want = ~(np.isfinite(v) & (v >= 0)), "a finite number >= 0"
        _rows(
            report,
            "error",
            "bad_value",
            path,
            row,
            bad,
            lambda i, v=v, name=name, want=want: f"'{name}' is {_num(v[i])}, must be {want}",
        )
    family = _family(stream.kind)
    if family == "bars":
        o, h, lw, c = cols["open"], cols["high"], cols["low"], cols["close"]
        bad = (h < np.maximum(o, c)) | (lw > np.minimum(o, c))
        _rows(
            report,
            "error",
            "bar_range",
            path,
            row,
            bad,
            lambda i: (
                f"high/low {_num(h[i])}/{_num(lw[i])} do not contain open/close "
                f"{_num(o[i])}/{_num(c[i])}"
            ),
        )
        step = stream.bar_ns or 1
        if step <= NS_PER_DAY and NS_PER_DAY % step == 0:
            _rows(
                report,
                "warning",
                "bar_off_grid",
                path,
                row,
                ts % step != 0,
                lambda i: f"bar time {iso(int(ts[i]))} is not on the {human(step)} grid",
            )
        missing = np.where(diffs > step, diffs // step - 1, 0)
        _rows(
            report,
            "warning",
            "gap",
            path,
            row,
            missing > 0,
            lambda i: (
                f"{_bars(int(missing[i]))} missing: none closes between "
                f"{iso(int(before[i]))} and {iso(int(ts[i]))}"
            ),
        )
    elif stream.gap_ns is not None:
        g = stream.gap_ns
        _rows(
            report,
            "warning",
            "gap",
            path,
            row,
            diffs > g,
            lambda i: (
                f"no {stream.kind} for {human(int(diffs[i]))}: {iso(int(before[i]))} to "
                f"{iso(int(ts[i]))} (over {human(g)})"
            ),
        )
    if family == QUOTES:
        bid, ask = cols["bid"], cols["ask"]
        _rows(
            report,
            "error",
            "crossed_quote",
            path,
            row,
            bid >= ask,
            lambda i: f"the quote is crossed: bid {_num(bid[i])} >= ask {_num(ask[i])}",
        )
    if family == BOOK_SNAPSHOTS:
        _check_snapshots(path, row, cols, report)
    if grid.tick is not None:
        for name in _PRICE_COLUMNS.get(family, ()):
            _off_grid(report, "off_tick", path, row, cols[name], grid.tick, name, "tick_size")
    if grid.lot is not None:
        for name in _SIZE_COLUMNS.get(family, ()):
            _off_grid(report, "off_lot", path, row, cols[name], grid.lot, name, "lot_size")
    stream.prev_ts = int(ts[-1])


def _bars(n: int) -> str:
    return f"{n:,} bar" if n == 1 else f"{n:,} bars"


def _num(x: Any) -> str:
    """A number as Python prints it (numpy scalars print their type)."""
    return repr(x.item() if hasattr(x, "item") else x)


def _off_grid(
    report: CheckReport,
    code: str,
    path: Path,
    row: int,
    v: np.ndarray,
    step: Decimal,
    name: str,
    key: str,
) -> None:
    q = v / float(step)
    bad = np.abs(q - np.round(q)) > 1e-9 * np.abs(q) + 1e-9
    bad &= v != 0  # a removed book level (size 0) is on every grid
    _rows(
        report,
        "error",
        code,
        path,
        row,
        bad,
        lambda i: f"{name} {_num(v[i])} is not a multiple of {key} {step} (instrument.json)",
    )


def _check_snapshots(
    path: Path, row: int, cols: dict[str, np.ndarray], report: CheckReport
) -> None:
    ts, side, price = cols["ts_ns"], cols["side"], cols["price"]
    starts = np.flatnonzero(np.r_[True, ts[1:] != ts[:-1]])
    best_bid = np.maximum.reduceat(np.where(side == BID, price, -np.inf), starts)
    best_ask = np.minimum.reduceat(np.where(side == BID, np.inf, price), starts)
    # A snapshot cut by a batch boundary is judged by its parts: a part's best bid is no
    # better than the whole's, its best ask no lower, so a crossed part is a crossed book.
    crossed = np.flatnonzero(best_bid >= best_ask)
    for k in crossed[: report.max_listed].tolist():
        r = int(starts[k])
        report.add(
            "error",
            "crossed_book",
            path,
            row + r,
            f"the book snapshot at {iso(int(ts[r]))} is crossed: best bid "
            f"{_num(best_bid[k])} >= best ask {_num(best_ask[k])}",
        )
    report.more("error", "crossed_book", path, len(crossed) - report.max_listed)


def _check_trade_ids(path: Path, ids: np.ndarray, stream: _Stream, report: CheckReport) -> None:
    ints = ids.dtype != object  # text ids (or with nulls) are checked within the file only
    if not ints:
        keep = np.array([x is not None for x in ids], dtype=bool)
        if not keep.any():
            return
        values = ids[keep].astype(str)
        rows = np.flatnonzero(keep)
    else:
        values, rows = ids, np.arange(len(ids))
        if len(values) and bool(np.all(values[1:] > values[:-1])):
            _cross_file_ids(path, int(values[0]), int(values[-1]), stream, report)
            return
    order = np.argsort(values, kind="stable")
    sv = values[order]
    dup = np.flatnonzero(sv[1:] == sv[:-1]) + 1
    for j in dup[: report.max_listed].tolist():
        first, again = int(rows[order[j - 1]]), int(rows[order[j]])
        report.add(
            "error", "duplicate_trade_id", path, again, f"trade id {sv[j]} repeats row {first}"
        )
    report.more("error", "duplicate_trade_id", path, len(dup) - report.max_listed)
    if ints and len(values):
        _cross_file_ids(path, int(sv[0]), int(sv[-1]), stream, report)


def _cross_file_ids(path: Path, lo: int, hi: int, stream: _Stream, report: CheckReport) -> None:
    """Integer trade ids of an earlier file whose range overlaps this file's are compared."""
    for other, olo, ohi in stream.id_ranges:
        if olo <= hi and lo <= ohi:
            mine = _int_ids(path)
            theirs = _int_ids(other)
            both = np.intersect1d(mine, theirs)
            for tid in both[: report.max_listed].tolist():
                r = int(np.flatnonzero(mine == tid)[0])
                report.add(
                    "error", "duplicate_trade_id", path, r, f"trade id {tid} is also in {other}"
                )
    stream.id_ranges.append((path, lo, hi))


def _int_ids(path: Path) -> np.ndarray:
    col = pq.read_table(path, columns=["trade_id"]).column(0)
    return col.drop_null().to_numpy()


def _check_book_replay(catalog: Catalog, venue: str, symbol: str, report: CheckReport) -> None:
    """Rebuild the book from the snapshots and deltas, in time order, and report each
    delta event after which it is crossed (once per crossing, until it uncrosses)."""
    deltas = dict(
        zip(catalog.days(venue, symbol, BOOK_DELTAS), catalog.files(venue, symbol, BOOK_DELTAS))
    )
    if not deltas:
        return
    snaps = dict(
        zip(
            catalog.days(venue, symbol, BOOK_SNAPSHOTS),
            catalog.files(venue, symbol, BOOK_SNAPSHOTS),
        )
    )
    book = _Book()
    for day in sorted(set(deltas) | set(snaps)):
        try:
            events = _snapshot_events(snaps[day]) if day in snaps else []
            if day in deltas:
                _replay_deltas(deltas[day], events, book, report)
            else:
                for _, bids, asks in events:
                    book.reset(bids, asks)
        except CatalogError:
            return  # the file check reports it
        except (pa.ArrowException, KeyError, ValueError):
            return


class _Book:
    """Bids and asks by price, with the best of each kept by lazy heaps."""

    def __init__(self) -> None:
        self.known = False
        self.crossed = False
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.bid_heap: list[float] = []  # negated prices
        self.ask_heap: list[float] = []

    def reset(self, bids: _Levels, asks: _Levels) -> None:
        self.bids, self.asks = dict(bids), dict(asks)
        self.bid_heap = [-p for p in self.bids]
        self.ask_heap = list(self.asks)
        heapq.heapify(self.bid_heap)
        heapq.heapify(self.ask_heap)
        self.known, self.crossed = True, False

    def best(self) -> tuple[float | None, float | None]:
        bh, ah = self.bid_heap, self.ask_heap
        while bh and -bh[0] not in self.bids:
            heapq.heappop(bh)
        while ah and ah[0] not in self.asks:
            heapq.heappop(ah)
        return (-bh[0] if bh else None), (ah[0] if ah else None)


def _snapshot_events(path: Path) -> list[tuple[int, _Levels, _Levels]]:
    t = pq.read_table(path, columns=["ts_ns", "side", "price", "size"])
    ts = t.column("ts_ns").to_numpy()
    side = t.column("side").to_numpy()
    price = t.column("price").to_numpy().tolist()
    size = t.column("size").to_numpy().tolist()
    starts = np.flatnonzero(np.r_[True, ts[1:] != ts[:-1]]).tolist() if len(ts) else []
    out = []
    for a, b in zip(starts, [*starts[1:], len(ts)]):
        bids = [(price[i], size[i]) for i in range(a, b) if side[i] == BID]
        asks = [(price[i], size[i]) for i in range(a, b) if side[i] != BID]
        out.append((int(ts[a]), bids, asks))
    return out


def _replay_deltas(
    path: Path,
    snapshots: list[tuple[int, _Levels, _Levels]],
    book: _Book,
    report: CheckReport,
) -> None:
    pf = open_parquet(path)
    k = 0  # the next snapshot
    row = 0
    cur: int | None = None
    cur_row = 0

    def settle() -> None:
        if cur is None or not book.known:
            return
        bid, ask = book.best()
        crossed = bid is not None and ask is not None and bid >= ask
        if crossed and not book.crossed:
            report.add(
                "error",
                "crossed_book",
                path,
                cur_row,
                f"the book is crossed after the delta at {iso(cur)}: best bid {bid!r} "
                f">= best ask {ask!r}",
            )
        book.crossed = crossed

    columns = ["ts_ns", "side", "price", "size"]
    for batch in iter_batches(pf, path, columns=columns, batch_size=1 << 18):
        ts = batch.column(0).to_numpy().tolist()
        side = batch.column(1).to_numpy().tolist()
        price = batch.column(2).to_numpy().tolist()
        size = batch.column(3).to_numpy().tolist()
        for i, t in enumerate(ts):
            if t != cur:
                settle()
                while k < len(snapshots) and snapshots[k][0] <= t:
                    book.reset(snapshots[k][1], snapshots[k][2])
                    k += 1
                cur, cur_row = t, row + i
            if not book.known:
                continue
            p, q = price[i], size[i]
            if side[i] == BID:
                if q > 0:
                    if p not in book.bids:
                        heapq.heappush(book.bid_heap, -p)
                    book.bids[p] = q
                else:
                    book.bids.pop(p, None)
            elif q > 0:
                if p not in book.asks:
                    heapq.heappush(book.ask_heap, p)
                book.asks[p] = q
            else:
                book.asks.pop(p, None)
        row += len(ts)
    settle()
    for _, bids, asks in snapshots[k:]:
        book.reset(bids, asks)


def cmd_check(args: argparse.Namespace) -> int:
    catalog = Catalog(args.catalog)
    if not catalog.root.is_dir():
        print(f"error: no catalog at {args.catalog}", file=sys.stderr)
        return 2
    try:
        gap_ns = gap_arg(args.gap)
        report = check_catalog(
            catalog, args.venue, args.symbol, args.kind, gap_ns, not args.no_book, args.max_listed
        )
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if report.files == 0:
        what = " ".join(x for x in (args.venue, args.symbol, args.kind) if x) or "anything"
        print(f"error: {args.catalog} holds no files for {what}", file=sys.stderr)
        return 2
    for f in report.findings:
        print(f)
    for line in report.unlisted():
        print(line)
    print(report.summary())
    if report.errors or (args.strict and report.warnings):
        return 1
    return 0


__all__ = ["CheckReport", "Finding", "check_catalog", "cmd_check"]
