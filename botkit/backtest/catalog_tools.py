"""Catalog tools: what the catalog holds (``list``) and bars made from trades (``bars``);
the full check of its files (``check``) is in ``catalog_check.py``.

- :func:`summarize` gives, per venue, symbol and kind, the time range, rows, days and
  bytes from the file footers alone, and the gaps from the ``ts_ns`` column (one
  int64 column, read at about 100M rows a second): for bars the bar slots without
  a bar, for trades, book deltas and quotes the silences longer than a threshold.
- :func:`build_bars` aggregates trades (or shorter bars) into ``bars_<interval>``
  with the catalog's bar semantics: a bar covers ``[open, open + interval)``, is
  stamped at its close (``ts_ns = open + interval``), and intervals are aligned on
  multiples of the interval since 1970-01-01 UTC.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from botkit.backtest.catalog import (
    BOOK_DELTAS,
    QUOTES,
    TRADES,
    Catalog,
    CatalogError,
    Entry,
    bar_interval_ns,
    bars_kind,
    day_of,
    file_info,
    is_bars_kind,
    read_columns,
)
from botkit.backtest.checks import iter_batches, open_parquet
from botkit.backtest.importers.bars import parse_interval
from botkit.config.durations import parse_duration

SECOND = 1_000_000_000
DEFAULT_GAP_NS = 60 * SECOND
# Kinds whose silences are gaps; book snapshots and funding come at intervals by nature.
SILENT_KINDS = (TRADES, BOOK_DELTAS, QUOTES)


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


def ts_chunks(paths: Sequence[Path]) -> Iterator[tuple[Path, int, np.ndarray]]:
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
    for _, _, ts in ts_chunks(paths):
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
        gap_ns = gap_arg(args.gap)
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


def gap_arg(text: str | None) -> int:
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
    parts = [ts for _, _, ts in ts_chunks(paths)]
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


# ---- the command line ----------------------------------------------------------------------


def register(sub: Any, default_catalog: str) -> None:
    """Add ``list``, ``bars`` and ``check`` to the ``botkit data`` subcommands."""
    from botkit.backtest import catalog_check  # it builds on this module

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
    ck.set_defaults(func=catalog_check.cmd_check)


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--venue", help="only this venue")
    p.add_argument("--symbol", help="only this symbol (with --venue)")
    p.add_argument("--kind", help="only this kind (trades, book_deltas, bars_1m, ...)")


__all__ = [
    "DEFAULT_GAP_NS",
    "SILENT_KINDS",
    "BarsResult",
    "KindSummary",
    "build_bars",
    "gap_arg",
    "human",
    "iso",
    "register",
    "summarize",
    "ts_chunks",
]
