"""Checks on recorded data as it is read, so that a bad file is one clear error.

A corrupted or hand-edited Parquet file must never end in a traceback, and
worse, never in a plausible but wrong backtest (a negative price or a shuffled
book replays "fine"). Every check here is a vectorised pass over one batch of
columns; the offending row is looked up only once a check has failed, so a
clean file costs a few reductions per column.

Rows in messages count from 0, as ``pyarrow.parquet.read_table(path).slice(row, 1)``
and pandas' default index do.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

# Timestamps outside these years are a unit mistake (seconds or ms taken as ns)
# or garbage; near int64's limits they would make the equity clock run for ever.
TS_MIN_NS = 946_684_800 * 1_000_000_000  # 2000-01-01T00:00:00Z
TS_MAX_NS = 4_102_444_800 * 1_000_000_000  # 2100-01-01T00:00:00Z

FIX_REIMPORT = (
    "Re-import the day from its source with `botkit data import` (or delete the file "
    "to leave the day out); `botkit data list` shows what the catalog holds"
)

# What each column may hold: "positive" (finite, > 0), "non_negative" (finite, >= 0)
# or an inclusive range of integer codes.
_Rule = str | tuple[int, int]
_RULES: dict[str, dict[str, _Rule]] = {
    "trades": {"price": "positive", "size": "positive", "side": (0, 2)},
    "book_snapshots": {
        "price": "positive",
        "size": "positive",
        "side": (0, 1),
        "level": (0, 32767),
    },
    "book_deltas": {"price": "positive", "size": "non_negative", "side": (0, 1)},
    "quotes": {
        "bid": "positive",
        "ask": "positive",
        "bid_size": "non_negative",
        "ask_size": "non_negative",
        "last": "positive",
    },
    "funding": {"rate": "rate"},
    "bars": {
        "open": "positive",
        "high": "positive",
        "low": "positive",
        "close": "positive",
        "volume": "non_negative",
    },
}
# Columns that may be null: a trade without an id, a quote value the venue did not give
# (a one-sided book, a ticker without sizes, or without a last price). Their rules
# apply to the values that are there.
NULLABLE_COLUMNS = frozenset({"trade_id", "bid", "ask", "bid_size", "ask_size", "last"})
_RULE_TEXT = {
    "positive": "a finite number > 0",
    "non_negative": "a finite number >= 0",
    "rate": "a finite rate between -1 and 1",
}


class CatalogError(ValueError):
    """A data file that cannot be replayed as it is.

    ``str()`` is one line: the file, the row (counting from 0) when there is
    one, what is wrong, and the fix.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        problem: str,
        *,
        row: int | None = None,
        fix: str = FIX_REIMPORT,
    ) -> None:
        self.path = Path(path)
        self.problem = problem
        self.row = row
        self.fix = fix
        where = str(self.path) if row is None else f"{self.path}, row {row}"
        super().__init__(f"{where}: {problem.rstrip('.')}. {fix.rstrip('.')}.")


def rules_for(kind: str) -> Mapping[str, _Rule]:
    return _RULES["bars" if kind.startswith("bars_") else kind]


def open_parquet(path: Path, **kwargs: Any) -> pq.ParquetFile:
    """``pq.ParquetFile`` with a truncated, empty or non-Parquet file as a CatalogError."""
    try:
        return pq.ParquetFile(path, **kwargs)
    except (pa.ArrowException, OSError) as exc:
        size = _size(path)
        what = "is empty (0 bytes)" if size == 0 else f"is not a readable Parquet file ({exc})"
        raise CatalogError(path, f"{what}; it may have been truncated or overwritten") from None


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def iter_batches(pf: pq.ParquetFile, path: Path, **kwargs: Any) -> Iterator[pa.RecordBatch]:
    """``pf.iter_batches(**kwargs)`` with a decoding failure (a damaged page) as a CatalogError."""
    it = pf.iter_batches(**kwargs)
    while True:
        try:
            batch = next(it)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as exc:
            raise CatalogError(path, f"cannot be decoded ({exc}); it is damaged") from None
        yield batch


def check_schema(path: Path, kind: str, schema: pa.Schema, columns: Sequence[str]) -> None:
    """Every column the kind needs is there, with a type that can hold it."""
    names = schema.names
    for name in columns:
        if name not in names:
            raise CatalogError(
                path,
                f"has no column '{name}' (its columns: {', '.join(names) or 'none'}); "
                f"{kind} files have {', '.join(columns)}",
            )
        t = schema.field(name).type
        if name == "trade_id":
            ok = pa.types.is_integer(t) or pa.types.is_string(t) or pa.types.is_null(t)
            want = "integers or text"
        elif name in ("ts_ns", "side", "level"):
            ok = pa.types.is_integer(t)
            want = "integers" + (" (nanoseconds since 1970)" if name == "ts_ns" else "")
        else:
            ok = pa.types.is_floating(t) or pa.types.is_integer(t)
            want = "numbers"
        if not ok:
            raise CatalogError(path, f"column '{name}' holds {t} values, expected {want}")


def check_nulls(path: Path, batch: pa.RecordBatch, columns: Sequence[str], first_row: int) -> None:
    for i, name in enumerate(columns):
        col = batch.column(i)
        if col.null_count and name not in NULLABLE_COLUMNS:
            row = first_row + int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise CatalogError(path, f"'{name}' is empty (null)", row=row)


def check_columns(
    path: Path,
    kind: str,
    cols: Mapping[str, np.ndarray],
    first_row: int,
    prev_ts: int | None,
    ts_lo: int = TS_MIN_NS,
    ts_hi: int = TS_MAX_NS,
) -> int | None:
    """Check one batch; returns its last timestamp (the next batch's ``prev_ts``).

    ``[ts_lo, ts_hi)`` is where this file's timestamps belong (its day, within
    the sane years).
    """
    ts = cols["ts_ns"]
    n = len(ts)
    if n == 0:
        return prev_ts
    if prev_ts is not None and ts[0] < prev_ts:
        raise _backwards(path, first_row, int(ts[0]), prev_ts)
    if n > 1 and bool((ts[1:] < ts[:-1]).any()):
        i = int(np.flatnonzero(ts[1:] < ts[:-1])[0]) + 1
        raise _backwards(path, first_row + i, int(ts[i]), int(ts[i - 1]))
    # Sorted, so the ends bound every row.
    if ts[0] < ts_lo or ts[-1] >= ts_hi:
        i = 0 if ts[0] < ts_lo else int(np.searchsorted(ts, ts_hi, "left"))
        raise _out_of_range(path, first_row + i, int(ts[i]), ts_lo, ts_hi)
    for name, rule in rules_for(kind).items():
        v = cols.get(name)
        if v is None:
            continue
        if name in NULLABLE_COLUMNS and v.dtype.kind == "f":
            # A null (read as NaN) is a value the venue did not give: no rule applies.
            v = np.where(np.isnan(v), 1.0, v)
        if isinstance(rule, tuple):
            lo, hi = rule
            if v.min() < lo or v.max() > hi:
                i = int(np.flatnonzero((v < lo) | (v > hi))[0])
                raise CatalogError(
                    path, f"'{name}' is {v[i].item()}, must be {lo}..{hi}", row=first_row + i
                )
            continue
        # NaN fails both comparisons, so min/max catch it without an isnan pass.
        if rule == "rate":
            low_ok, high = v.min() > -1, 1.0
        else:
            low_ok, high = (v.min() > 0 if rule == "positive" else v.min() >= 0), np.inf
        if not (low_ok and v.max() < high):
            if rule == "rate":
                ok = np.isfinite(v) & (np.abs(v) < 1)
            else:
                ok = np.isfinite(v) & ((v > 0) if rule == "positive" else (v >= 0))
            i = int(np.flatnonzero(~ok)[0])
            raise CatalogError(
                path,
                f"'{name}' is {v[i].item()!r}, must be {_RULE_TEXT[rule]}",
                row=first_row + i,
            )
    if "high" in cols:
        _check_bar_range(path, cols, first_row)
    if "ask" in cols and "bid" in cols:
        _check_quotes_uncrossed(path, cols, first_row)
    return int(ts[-1])


def _check_quotes_uncrossed(path: Path, cols: Mapping[str, np.ndarray], first_row: int) -> None:
    # A crossed quote would set a crossed top of book, and every resting order
    # on either side would then look marketable.
    bid, ask = cols["bid"], cols["ask"]
    crossed = bid >= ask
    if crossed.any():
        i = int(np.flatnonzero(crossed)[0])
        raise CatalogError(
            path,
            f"the quote is crossed: bid {bid[i].item()!r} >= ask {ask[i].item()!r}; "
            "bid and ask may be swapped",
            row=first_row + i,
        )


def _check_bar_range(path: Path, cols: Mapping[str, np.ndarray], first_row: int) -> None:
    o, h, lo, c = cols["open"], cols["high"], cols["low"], cols["close"]
    bad = (h < np.maximum(o, c)) | (lo > np.minimum(o, c))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CatalogError(
            path,
            f"the bar's high/low ({h[i].item()!r}/{lo[i].item()!r}) do not contain its open/close "
            f"({o[i].item()!r}/{c[i].item()!r})",
            row=first_row + i,
        )


def check_snapshots_uncrossed(path: Path, cols: Mapping[str, np.ndarray], bid: int) -> None:
    """Each snapshot's best bid is below its best ask (``cols`` holds whole snapshots)."""
    ts, side, price = cols["ts_ns"], cols["side"], cols["price"]
    if len(ts) == 0:
        return
    starts = np.concatenate(([0], np.flatnonzero(ts[1:] != ts[:-1]) + 1))
    best_bid = np.maximum.reduceat(np.where(side == bid, price, -np.inf), starts)
    best_ask = np.minimum.reduceat(np.where(side == bid, np.inf, price), starts)
    crossed = best_bid >= best_ask
    if crossed.any():
        k = int(np.flatnonzero(crossed)[0])
        t = int(ts[starts[k]])
        raise CatalogError(
            path,
            f"the book snapshot at ts_ns {t} ({_iso(t)}) is crossed: best bid "
            f"{best_bid[k].item()!r} >= best ask {best_ask[k].item()!r}; "
            "bids and asks may be swapped",
        )


def _iso(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns // 1_000_000_000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _backwards(path: Path, row: int, ts: int, before: int) -> CatalogError:
    return CatalogError(
        path,
        f"timestamps go backwards (ts_ns {ts} after {before}); rows must be sorted by ts_ns",
        row=row,
    )


def _out_of_range(path: Path, row: int, ts: int, lo: int, hi: int) -> CatalogError:
    if not TS_MIN_NS <= ts < TS_MAX_NS:
        problem = (
            f"ts_ns {ts} is not a time between 2000 and 2100; ts_ns counts nanoseconds "
            "since 1970 (seconds or milliseconds are a unit mistake)"
        )
    else:
        problem = (
            f"ts_ns {ts} ({_iso(ts)}) is outside the day the file is named for "
            f"({_iso(lo)} to {_iso(hi)})"
        )
    return CatalogError(path, problem, row=row)


__all__ = [
    "FIX_REIMPORT",
    "NULLABLE_COLUMNS",
    "TS_MAX_NS",
    "TS_MIN_NS",
    "CatalogError",
    "check_columns",
    "check_nulls",
    "check_schema",
    "check_snapshots_uncrossed",
    "iter_batches",
    "open_parquet",
    "rules_for",
]
