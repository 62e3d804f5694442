"""Catalog tools: what the catalog holds (``list``), bars made from trades (``bars``) and a
full check of its files (``check``).

- :func:`summarize` gives, per venue, symbol and kind, the time range, rows, days and
  bytes from the file footers alone, and the gaps from the ``ts_ns`` column (one
  int64 column, read at about 100M rows a second): for bars the bar slots without
  a bar, for trades, book deltas and quotes the silences longer than a threshold.
- :func:`build_bars` aggregates trades (or shorter bars) into ``bars_<interval>``
  with the catalog's bar semantics: a bar covers ``[open, open + interval)``, is
  stamped at its close (``ts_ns = open + interval``), and intervals are aligned on
  multiples of the interval since 1970-01-01 UTC.
- :func:`check_catalog` reads every file and reports each problem with its file
  and row (from 0, as ``pyarrow.parquet.read_table(path).slice(row, 1)``): what
  replay refuses (nulls, values, times outside the file's day, bar ranges), and
  what replay cannot see one batch at a time: time going backwards anywhere,
  duplicated trade ids, crossed books (each snapshot, and the book rebuilt after
  each delta), crossed quotes, prices off the tick size and sizes off the lot size
  of ``instrument.json``, and gaps (warnings).
"""

from __future__ import annotations

import argparse
import heapq
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
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
    Entry,
    bar_interval_ns,
    bars_kind,
    day_of,
    day_start_ns,
    file_info,
    is_bars_kind,
    read_columns,
)
from botkit.backtest.checks import TS_MAX_NS, TS_MIN_NS, iter_batches, open_parquet, rules_for
from botkit.backtest.importers.bars import parse_interval
from botkit.config.durations import parse_duration

SECOND = 1_000_000_000
DEFAULT_GAP_NS = 60 * SECOND
# Kinds whose silences are gaps; book snapshots and funding come at intervals by nature.
SILENT_KINDS = (TRADES, BOOK_DELTAS, QUOTES)
_Levels = list[tuple[float, float]]  # (price, size) of one side of a book


# ---- times and durations as people read them ----------------------------------------


def iso(ts_ns: int, ms: bool = True) -> str:
    """``2024-08-08T23:54:15Z``: a time to the second, with ``.123`` when it has ms
    (and ``ms``)."""
    s, rem = divmod(ts_ns, SECOND)
    text = datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    milli = rem // 1_000_000
    return f"{text}.{milli:03d}Z" if milli and ms else f"{text}Z"


def human(ns: int) -> str:
    """A duration in the two largest units: ``4h``, ``1h30m``, ``2m03s``, ``850ms``."""
    if ns < SECOND:
        return f"{ns // 1_000_000}ms"
    s = ns // SECOND
    d, s = divmod(s, 86_400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if d:
        return f"{d}d{h}h" if h else f"{d}d"
    if h:
        return f"{h}h{m:02d}m" if m else f"{h}h"
    if m:
        return f"{m}m{s:02d}s" if s else f"{m}m"
    return f"{s}s"


# ---- list -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KindSummary:
    """What one (venue, symbol, kind) holds.

    ``gaps`` is None where gaps were not measured (``gaps=False``, book snapshots,
    funding). For bars it counts the missing bar slots and ``longest_gap_ns`` is the
    longest time without a bar (0: none missing); for trades, book deltas and quotes
    it counts the silences longer than ``gap_ns`` and ``longest_gap_ns`` is the
    longest silence, whatever its length.
    """

    venue: str
    symbol: str
    kind: str
    days: int
    rows: int
    bytes: int
    first_ns: int | None
    last_ns: int | None
    gaps: int | None = None
    longest_gap_ns: int | None = None


def summarize(
    catalog: Catalog,
    venue: str | None = None,
    symbol: str | None = None,
    kind: str | None = None,
    gap_ns: int = DEFAULT_GAP_NS,
    gaps: bool = True,
) -> list[KindSummary]:
    """One :class:`KindSummary` per (venue, symbol, kind) in the catalog (or the filter)."""
    groups: dict[tuple[str, str, str], list[Entry]] = {}
    for e in catalog.entries(venue, symbol, kind):
        groups.setdefault((e.venue, e.symbol, e.kind), []).append(e)
    out = []
    for (v, s, k), entries in groups.items():
        infos = [file_info(e.path) for e in entries]
        firsts = [i.min_ts for i in infos if i.min_ts is not None]
        lasts = [i.max_ts for i in infos if i.max_ts is not None]
        n_gaps = longest = None
        if gaps and (is_bars_kind(k) or k in SILENT_KINDS):
            step = bar_interval_ns(k) if is_bars_kind(k) else gap_ns
            n_gaps, longest = _gaps([e.path for e in entries], step, is_bars_kind(k))
        out.append(
            KindSummary(
                v,
                s,
                k,
                days=len(entries),
                rows=sum(i.rows for i in infos),
                bytes=sum(e.path.stat().st_size for e in entries),
                first_ns=min(firsts) if firsts else None,
                last_ns=max(lasts) if lasts else None,
                gaps=n_gaps,
                longest_gap_ns=longest,
            )
        )
    return out


def _ts_chunks(paths: Sequence[Path]) -> Iterator[tuple[Path, int, np.ndarray]]:
    """(file, first row, ts_ns) for every batch of the files' ``ts_ns`` columns."""
    for path in paths:
        pf = open_parquet(path)
        row = 0
        for batch in iter_batches(pf, path, columns=["ts_ns"], batch_size=1 << 20):
            ts = batch.column(0).to_numpy(zero_copy_only=False)
            yield path, row, ts
            row += len(ts)


def _gaps(paths: Sequence[Path], step: int, bars: bool) -> tuple[int, int]:
    """(count, longest): missing bar slots and the longest time without a bar (bars),
    or silences longer than ``step`` and the longest silence."""
    count = longest = 0
    prev: int | None = None
    for _, _, ts in _ts_chunks(paths):
        if len(ts) == 0:
            continue
        diffs = np.diff(ts) if prev is None else np.diff(np.concatenate(([prev], ts)))
        prev = int(ts[-1])
        if len(diffs) == 0:
            continue
        over = diffs[diffs > step]
        if bars:
            count += int(np.sum(over // step - 1))
            longest = max(longest, int(diffs.max()) - step)
        else:
            count += len(over)
            longest = max(longest, int(diffs.max()))
    return count, longest


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def _cmd_list(args: argparse.Namespace) -> int:
    catalog = Catalog(args.catalog)
    try:
        gap_ns = _gap_arg(args.gap)
        if args.files:
            entries = catalog.entries(venue=args.venue, symbol=args.symbol, kind=args.kind)
            if not entries:
                print(f"{args.catalog}: empty")
            for e in entries:
                print(f"{e.venue}\t{e.symbol}\t{e.kind}\t{e.date}\t{e.rows}\t{e.path}")
            return 0
        found = summarize(catalog, args.venue, args.symbol, args.kind, gap_ns, not args.no_gaps)
    except (CatalogError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not found:
        print(f"{args.catalog}: empty")
        return 0
    header = ("venue", "symbol", "kind", "from", "to", "days", "rows", "gaps", "longest", "MB")
    table = [header]
    for k in found:
        table.append(
            (
                k.venue,
                k.symbol,
                k.kind,
                iso(k.first_ns, ms=False) if k.first_ns is not None else "-",
                iso(k.last_ns, ms=False) if k.last_ns is not None else "-",
                str(k.days),
                f"{k.rows:,}",
                "-" if k.gaps is None else f"{k.gaps:,}",
                "-" if not k.longest_gap_ns else human(k.longest_gap_ns),
                f"{k.bytes / 1e6:.2f}",
            )
        )
    _print_table(table)
    if not args.no_gaps:
        print(
            f"gaps: missing bar slots in bars; silences over {human(gap_ns)} (--gap) in "
            "trades, book_deltas and quotes"
        )
    return 0


def _gap_arg(text: str | None) -> int:
    if text is None:
        return DEFAULT_GAP_NS
    ns = parse_duration(text)
    if ns <= 0:
        raise ValueError(f"--gap {text!r} must be > 0")
    return ns


# ---- bars -------------------------------------------------------------------------------


@dataclass
class BarsResult:
    """What :func:`build_bars` wrote: ``bars`` in all, of which ``filled`` were empty
    intervals written as flat bars; ``replaced`` bars were already in the catalog at
    those times; ``gaps_left`` silences were left without bars (a day with no source
    file, or ``empty="skip"``)."""

    kind: str
    source: str
    empty: str
    bars: int = 0
    filled: int = 0
    replaced: int = 0
    gaps_left: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    paths: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        if not self.bars:
            return f"{self.kind}: no bars ({self.source} holds no rows)"
        span = f"{iso(self.first_ns or 0)} to {iso(self.last_ns or 0)}"
        parts = [f"{self.kind}: {self.bars:,} bars from {self.source}, closing {span}"]
        parts.append(f"{self.filled:,} flat (empty intervals)")
        if self.gaps_left:
            what = "gap" if self.gaps_left == 1 else "gaps"
            why = "--empty skip" if self.empty == "skip" else "no source file that day"
            parts.append(f"{self.gaps_left:,} {what} left empty ({why})")
        parts.append(f"{self.replaced:,} existing bars replaced")
        return "; ".join(parts)


class _BarBuilder:
    """Turns per-chunk bars (sorted bucket ids with OHLCV) into the final bars: the last
    bucket of a chunk is held back (the next chunk may add to it), and the empty
    intervals between two bars are filled with flat bars unless the silence spans a
    day without a source file, or ``fill`` is False."""

    def __init__(self, interval_ns: int, fill: bool, source_days: set[date]) -> None:
        self.interval = interval_ns
        self.fill = fill
        self.source_days = source_days
        self.carry: list[float] | None = None  # [id, o, h, l, c, v]
        self.prev: tuple[int, float] | None = None  # (id, close) of the last bar out
        self.tables: list[pa.Table] = []
        self.filled = 0
        self.gaps_left = 0

    def add(
        self,
        ids: np.ndarray,
        o: np.ndarray,
        h: np.ndarray,
        lo: np.ndarray,
        c: np.ndarray,
        v: np.ndarray,
    ) -> None:
        if len(ids) == 0:
            return
        cols = [ids, o, h, lo, c, v]
        if self.carry is not None:
            cid, co, ch, cl, _, cv = self.carry
            if int(ids[0]) == int(cid):  # the held bar goes on in this chunk
                h[0], lo[0], o[0], v[0] = max(h[0], ch), min(lo[0], cl), co, v[0] + cv
            else:
                cols = [np.concatenate(([x], col)) for x, col in zip(self.carry, cols)]
        self.carry = [col[-1] for col in cols]
        self._emit([col[:-1] for col in cols])

    def finish(self) -> pa.Table | None:
        if self.carry is not None:
            self._emit([np.array([x]) for x in self.carry])
            self.carry = None
        return self.take()

    def take(self) -> pa.Table | None:
        tables, self.tables = self.tables, []
        return pa.concat_tables(tables) if tables else None

    def _emit(self, cols: list[np.ndarray]) -> None:
        ids = cols[0].astype(np.int64)
        if len(ids) == 0:
            return
        o, h, lo, c, v = (np.asarray(x, dtype=np.float64) for x in cols[1:])
        if self.prev is not None:
            ids = np.concatenate(([self.prev[0]], ids))
            o, h, lo, c, v = (
                np.concatenate(([x], col))
                for x, col in zip((0.0, 0.0, 0.0, self.prev[1], 0.0), (o, h, lo, c, v))
            )
            skip_first = True
        else:
            skip_first = False
        keep = self._slots(ids)
        full = np.concatenate([np.arange(a, b) for a, b in keep]) if keep else ids
        pos = np.searchsorted(ids, full)
        real = (pos < len(ids)) & (ids[np.minimum(pos, len(ids) - 1)] == full)
        last = np.searchsorted(ids, full, side="right") - 1  # the bar at or before each slot
        close_ff = c[last]
        out_o = np.where(real, o[np.minimum(pos, len(ids) - 1)], close_ff)
        out_h = np.where(real, h[np.minimum(pos, len(ids) - 1)], close_ff)
        out_l = np.where(real, lo[np.minimum(pos, len(ids) - 1)], close_ff)
        out_c = close_ff
        out_v = np.where(real, v[np.minimum(pos, len(ids) - 1)], 0.0)
        if skip_first:
            sl = slice(1, None)
            full, real = full[sl], real[sl]
            out_o, out_h, out_l, out_c, out_v = (x[sl] for x in (out_o, out_h, out_l, out_c, out_v))
        self.filled += int(np.count_nonzero(~real))
        self.prev = (int(ids[-1]), float(c[-1]))
        self.tables.append(
            pa.table(
                {
                    "ts_ns": (full + 1) * self.interval,
                    "open": out_o,
                    "high": out_h,
                    "low": out_l,
                    "close": out_c,
                    "volume": out_v,
                }
            )
        )

    def _slots(self, ids: np.ndarray) -> list[tuple[int, int]]:
        """The [from, to) runs of bucket ids to write: every id of a run is a bar, real or
        flat; a silence that is not filled splits the runs."""
        if len(ids) == 1:
            return [(int(ids[0]), int(ids[0]) + 1)]
        jumps = np.flatnonzero(np.diff(ids) > 1)
        breaks = [int(j) for j in jumps if not self._fills(int(ids[j]), int(ids[j + 1]))]
        self.gaps_left += len(breaks)
        runs, start = [], 0
        for j in breaks:
            runs.append((int(ids[start]), int(ids[j]) + 1))
            start = j + 1
        runs.append((int(ids[start]), int(ids[-1]) + 1))
        return runs

    def _fills(self, a: int, b: int) -> bool:
        """Whether the empty intervals between bars ``a`` and ``b`` become flat bars: a
        day without a source file in between means no recording, not a quiet market."""
        if not self.fill:
            return False
        first = day_of(a * self.interval) + timedelta(days=1)
        last = day_of(b * self.interval)
        d = first
        while d < last:
            if d not in self.source_days:
                return False
            d += timedelta(days=1)
        return True


def build_bars(
    catalog: Catalog,
    venue: str,
    symbol: str,
    interval: str | int,
    source: str = TRADES,
    empty: str | None = None,
    batch_rows: int = 1 << 20,
) -> BarsResult:
    """Build ``bars_<interval>`` of ``symbol`` from its ``source`` kind and write them.

    ``source`` is ``trades`` (each bar: the first, highest, lowest and last trade
    price of its interval, and the sum of the sizes) or a shorter bars kind such as
    ``bars_1m`` (open of the first, highest high, lowest low, close of the last, sum
    of volumes; the interval must be a multiple of the source's). ``empty`` says
    what an interval without source data becomes: ``flat`` (a bar at the previous
    close with zero volume, the default from trades: a quiet market, as Binance's
    klines show it) or ``skip`` (no bar, a gap: the default from bars, where a
    missing bar is missing data). A day without a source file is never filled.
    Bars already in the catalog at the same times are replaced. The source is read
    ``batch_rows`` at a time: memory stays flat however long it is.
    """
    interval_ns = parse_interval(interval) if isinstance(interval, str) else int(interval)
    kind = bars_kind(interval_ns)
    from_bars = is_bars_kind(source)
    if source != TRADES and not from_bars:
        raise ValueError(f"--from-kind {source!r}: expected trades or a bars kind (bars_1m)")
    if from_bars:
        src_ns = bar_interval_ns(source)
        if interval_ns <= src_ns or interval_ns % src_ns:
            raise ValueError(
                f"bars of {kind[5:]} cannot be made from {source}: the interval must be a "
                "longer multiple of the source's"
            )
    empty = empty or ("skip" if from_bars else "flat")
    if empty not in ("flat", "skip"):
        raise ValueError(f"--empty {empty!r}: expected flat or skip")
    if not catalog.days(venue, symbol, source):
        held = ", ".join(catalog.kinds(venue, symbol)) or "nothing"
        raise ValueError(f"{venue} {symbol} has no {source} (it holds {held})")
    existing = _existing_ts(catalog, venue, symbol, kind)
    builder = _BarBuilder(interval_ns, empty == "flat", set(catalog.days(venue, symbol, source)))
    result = BarsResult(kind, source, empty)

    def write(table: pa.Table | None) -> None:
        if table is None or table.num_rows == 0:
            return
        ts = table.column("ts_ns").to_numpy()
        result.bars += len(ts)
        result.replaced += int(np.count_nonzero(np.isin(ts, existing)))
        result.first_ns = int(ts[0]) if result.first_ns is None else result.first_ns
        result.last_ns = int(ts[-1])
        result.paths += catalog.write(venue, symbol, kind, table)

    pending = 0
    for cols in read_columns(catalog, venue, symbol, source, batch_rows=batch_rows):
        ts = cols["ts_ns"]
        if len(ts) == 0:
            continue
        if from_bars:
            bucket = (ts - src_ns) // interval_ns
            o, h, lo, c, v = cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"]
        else:
            bucket = ts // interval_ns
            o = h = lo = c = cols["price"]
            v = cols["size"]
        starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
        ends = np.r_[starts[1:], len(ts)]
        builder.add(
            bucket[starts],
            o[starts].astype(np.float64),
            np.maximum.reduceat(h, starts).astype(np.float64),
            np.minimum.reduceat(lo, starts).astype(np.float64),
            c[ends - 1].astype(np.float64),
            np.add.reduceat(v, starts).astype(np.float64),
        )
        pending += len(starts)
        if pending >= batch_rows:
            write(builder.take())
            pending = 0
    write(builder.finish())
    result.filled, result.gaps_left = builder.filled, builder.gaps_left
    return result


def _existing_ts(catalog: Catalog, venue: str, symbol: str, kind: str) -> np.ndarray:
    paths = catalog.files(venue, symbol, kind)
    parts = [ts for _, _, ts in _ts_chunks(paths)]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def _cmd_bars(args: argparse.Namespace) -> int:
    catalog = Catalog(args.catalog)
    try:
        result = build_bars(
            catalog, args.venue, args.symbol, args.interval, args.from_kind, args.empty
        )
    except (CatalogError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{args.venue} {args.symbol}: {result.summary()}")
    return 0 if result.bars else 2


# ---- check ------------------------------------------------------------------------------


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
            report.add("error", "unreadable", path, e.row, e.problem)


def _check_file(path: Path, day: date, stream: _Stream, grid: _Grid, report: CheckReport) -> None:
    kind = stream.kind
    family = _family(kind)
    columns = _COLUMNS[family]
    pf = open_parquet(path)
    names = pf.schema_arrow.names
    missing = [c for c in columns if c not in names and c != "trade_id"]
    if missing:
        report.add(
            "error",
            "columns",
            path,
            None,
            f"has no column {missing[0]!r} ({kind} files have {', '.join(columns)})",
        )
        return
    columns = [c for c in columns if c in names]
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


def _cmd_check(args: argparse.Namespace) -> int:
    catalog = Catalog(args.catalog)
    if not catalog.root.is_dir():
        print(f"error: no catalog at {args.catalog}", file=sys.stderr)
        return 2
    try:
        gap_ns = _gap_arg(args.gap)
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


# ---- the command line ----------------------------------------------------------------------


def register(sub: Any, default_catalog: str) -> None:
    """Add ``list``, ``bars`` and ``check`` to the ``botkit data`` subcommands."""
    ls = sub.add_parser(
        "list",
        help="list the catalog: time range, rows and gaps per venue, symbol and kind",
        description=(
            "List the catalog: per venue, symbol and kind the first and last time, days, rows "
            "and size from the file footers, and the gaps from the ts_ns column (bar slots "
            "without a bar; silences over --gap in trades, book_deltas and quotes)."
        ),
    )
    ls.add_argument("--catalog", default=default_catalog, help="catalog directory (%(default)s)")
    _filters(ls)
    ls.add_argument("--gap", help="a silence longer than this is a gap (60s)")
    ls.add_argument("--no-gaps", action="store_true", help="footers only: no gaps, no data read")
    ls.add_argument("--files", action="store_true", help="one line per day file")
    ls.set_defaults(func=_cmd_list)

    bars = sub.add_parser(
        "bars",
        help="build OHLCV bars from trades (or shorter bars) into bars_<interval>",
        description=(
            "Aggregate a symbol's trades (or shorter bars) into bars_<interval>. A bar covers "
            "[open, open + interval) and is stored at its close; an interval without trades is "
            "a flat bar at the previous close with zero volume (--empty skip: no bar). A day "
            "without a source file is never filled. Bars already at those times are replaced."
        ),
    )
    bars.add_argument("--catalog", default=default_catalog, help="catalog directory (%(default)s)")
    bars.add_argument("--venue", required=True)
    bars.add_argument("--symbol", required=True)
    bars.add_argument("--interval", required=True, help="bar length: 1s, 1m, 5m, 1h, 1d, ...")
    bars.add_argument(
        "--from-kind", default=TRADES, help="trades (default) or a shorter bars kind (bars_1m)"
    )
    bars.add_argument(
        "--empty",
        choices=("flat", "skip"),
        help="an interval without data: a flat bar (default from trades) or none (from bars)",
    )
    bars.set_defaults(func=_cmd_bars)

    ck = sub.add_parser(
        "check",
        help="check every file: crossed books, time order, gaps, duplicate ids, grid",
        description=(
            "Read every file and report each problem with its file and row (from 0): errors "
            "(crossed books and quotes, time going backwards, duplicated trade ids, prices off "
            "the tick and sizes off the lot of instrument.json, and whatever replay refuses) "
            "and warnings (gaps). Exit 0 without errors, 1 with errors (or warnings and "
            "--strict), 2 when nothing could be checked."
        ),
    )
    ck.add_argument("--catalog", default=default_catalog, help="catalog directory (%(default)s)")
    _filters(ck)
    ck.add_argument("--gap", help="a silence longer than this is a gap (60s)")
    ck.add_argument("--no-book", action="store_true", help="do not rebuild the book from deltas")
    ck.add_argument("--strict", action="store_true", help="warnings (gaps) fail the check too")
    ck.add_argument(
        "--max-listed", type=int, default=10, help="findings listed per file and code (10)"
    )
    ck.set_defaults(func=_cmd_check)


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--venue", help="only this venue")
    p.add_argument("--symbol", help="only this symbol (with --venue)")
    p.add_argument("--kind", help="only this kind (trades, book_deltas, bars_1m, ...)")


__all__ = [
    "DEFAULT_GAP_NS",
    "BarsResult",
    "CheckReport",
    "Finding",
    "KindSummary",
    "build_bars",
    "check_catalog",
    "human",
    "iso",
    "register",
    "summarize",
]
