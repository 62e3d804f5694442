"""What every importer shares: the result, row problems, sources, numbers, times, grids.

An importer reads a file row by row (a CSV row or a JSON line). A row it cannot
use is *skipped* and *reported* (:meth:`ImportResult.skip`) with its line number
in the file (counting from 1, as an editor does) and the reason, and the import
goes on: a file with a few bad rows imports its good rows. Checks made on every
row:

- every price is a finite number > 0, every size a finite number > 0 (a book
  update's size may be 0: it removes the level);
- every time is a time between 2000 and 2100 (:func:`epoch_ns` reads seconds,
  ms, µs or ns since 1970, by magnitude unless the unit is given);
- time never goes backwards (:class:`Clock`).

Columns are collected in typed arrays (8 bytes a value) and written to the
catalog once the whole file is read, after the market checks of
``instrument.py`` passed.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import zipfile
import zlib
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa

from botkit.backtest.checks import TS_MAX_NS, TS_MIN_NS

MS = 1_000_000  # ns per ms
US = 1_000  # ns per µs
SECOND = 1_000_000_000

# How many skipped rows are kept one by one; beyond that only their count.
MAX_LISTED = 1_000


class RowError(ValueError):
    """One row the importer cannot use; ``code`` groups the reasons (``bad_value``...)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Skipped:
    """A row left out of the import: its line in the file (from 1) and why.

    In a JSON array (freqtrade) ``where`` is ``"row"`` and ``line`` counts the array's
    entries from 1.
    """

    line: int
    code: str
    reason: str
    where: str = "line"

    def __str__(self) -> str:
        return f"{self.where} {self.line}: {self.reason}"


@dataclass
class ImportResult:
    """What an import wrote, what it left out and what it decided on its own.

    - ``rows``: rows written per catalog kind.
    - ``notes``: counts worth knowing (gaps, diffs applied, ...).
    - ``skipped``: the rows left out, each with its line and reason (the first
      :data:`MAX_LISTED`; ``skipped_count`` counts them all, ``skipped_by_code``
      by reason).
    - ``instrument``: the ``instrument.json`` the symbol has after the import.
    - ``said``: what the importer inferred or assumed (a tick size read from the
      prices, a converted volume...), one sentence each.
    """

    rows: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    paths: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    skipped_count: int = 0
    skipped_by_code: Counter[str] = field(default_factory=Counter)
    instrument: dict[str, Any] | None = None
    said: list[str] = field(default_factory=list)

    def skip(self, line: int, code: str, reason: str, where: str = "line") -> None:
        self.skipped_count += 1
        self.skipped_by_code[code] += 1
        if len(self.skipped) < MAX_LISTED:
            self.skipped.append(Skipped(line, code, reason, where))

    def summary(self) -> str:
        """One line: rows per kind, then the notes, then how many rows were skipped."""
        parts = [f"{k}: {v:,} rows" for k, v in self.rows.items()]
        parts += [f"{k}: {v:,}" for k, v in self.notes.items()]
        if self.skipped_count:
            parts.append(f"skipped: {self.skipped_count:,} rows")
        return ", ".join(parts)

    def report(self, limit: int = 20) -> list[str]:
        """The lines to show a person: what was inferred, then the skipped rows."""
        out = list(self.said)
        if self.skipped_count:
            by = ", ".join(f"{code} {n:,}" for code, n in self.skipped_by_code.most_common())
            out.append(f"skipped {self.skipped_count:,} rows ({by}):")
            out += [f"  {s}" for s in self.skipped[:limit]]
            if self.skipped_count > limit:
                out.append(f"  ... and {self.skipped_count - limit:,} more")
        return out


# ---- sources ------------------------------------------------------------------------


def _magic(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(4)


def _zip_member(zf: zipfile.ZipFile, path: Path) -> str:
    names = [n for n in zf.namelist() if not n.endswith("/") and not n.startswith("__MACOSX")]
    if len(names) == 1:
        return names[0]
    # data.binance.vision and Bybit ship one file per archive; several is a bundle.
    stem = path.name.removesuffix(".zip")
    if stem in names:
        return stem
    raise ValueError(
        f"{path.name} holds {len(names)} files ({', '.join(names[:5])}); "
        "unzip it and import the file you mean"
    )


def open_text(path: Path) -> IO[str]:
    """A text stream of ``path``: gunzipped or unzipped by its magic bytes, not its name."""
    magic = _magic(path)
    # Bytes that are not UTF-8 become U+FFFD: the row holding them is then reported
    # (a bad number), not the whole file.
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")
    if magic == b"PK\x03\x04":
        with zipfile.ZipFile(path) as zf:
            # The member keeps the file open after the archive object is closed.
            raw = zf.open(_zip_member(zf, path))
        return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
    return path.open(encoding="utf-8", errors="replace", newline="")


def inner_name(path: Path) -> str:
    """The name of the data file itself: the zip's member, else the name without ``.gz``."""
    if _magic(path) == b"PK\x03\x04":
        with zipfile.ZipFile(path) as zf:
            return Path(_zip_member(zf, path)).name
    return path.name.removesuffix(".gz")


# A compressed file cut short (an interrupted download) fails while it is read.
_READ_ERRORS = (EOFError, OSError, zlib.error, zipfile.BadZipFile)


def _cut_off(exc: BaseException) -> RowError:
    return RowError(
        "truncated",
        f"the file cannot be read from here on ({type(exc).__name__}: {exc}); is it complete?",
    )


def csv_rows(stream: IO[str], delimiter: str = ",") -> Iterator[tuple[int, list[str] | RowError]]:
    """(line number, fields) for every CSV record; a record the csv module cannot read
    comes as a RowError instead of its fields (and a file cut short as a last one), and
    blank lines not at all."""
    reader = csv.reader(stream, delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield reader.line_num, RowError("bad_csv", f"unreadable CSV ({e})")
            continue
        except _READ_ERRORS as e:
            yield reader.line_num + 1, _cut_off(e)
            return
        if row and any(f.strip() for f in row):
            yield reader.line_num, row


def numbered_lines(stream: IO[str]) -> Iterator[tuple[int, str | RowError]]:
    """(line number from 1, text without its line end) for every line of a text stream;
    a file cut short ends with a RowError."""
    n = 0
    while True:
        try:
            line = stream.readline()
        except _READ_ERRORS as e:
            yield n + 1, _cut_off(e)
            return
        if not line:
            return
        n += 1
        yield n, line.rstrip("\r\n")


# ---- numbers ------------------------------------------------------------------------


def number(text: Any, what: str) -> float:
    """A float from a CSV or JSON field, or a RowError naming the field and the text."""
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise RowError("bad_value", f"{what} {_show(text)} is not a number") from None
    if not math.isfinite(v):
        raise RowError("bad_value", f"{what} {_show(text)} is not a finite number")
    return v


def positive(text: Any, what: str) -> float:
    v = number(text, what)
    if v <= 0:
        raise RowError("bad_value", f"{what} {_show(text)} must be > 0")
    return v


def non_negative(text: Any, what: str) -> float:
    v = number(text, what)
    if v < 0:
        raise RowError("bad_value", f"{what} {_show(text)} must be >= 0")
    return v


def integer(text: Any, what: str) -> int:
    """A whole number that fits the catalog's 64 bits, or a RowError."""
    if isinstance(text, int) and not isinstance(text, bool):
        v = text
    else:
        try:
            v = int(str(text).strip())
        except ValueError:
            raise RowError("bad_value", f"{what} {_show(text)} is not a whole number") from None
    if not -(2**63) <= v < 2**63:
        raise RowError("bad_value", f"{what} {_show(text)} is too large")
    return v


def _show(text: Any) -> str:
    s = repr(text)
    return s if len(s) <= 40 else s[:37] + "..."


# ---- times --------------------------------------------------------------------------

UNITS_NS = {"s": SECOND, "ms": MS, "us": US, "ns": 1}


def epoch_ns(value: int, unit: str | None = None, what: str = "time") -> int:
    """Nanoseconds from a count since 1970 in ``unit`` (s, ms, us, ns), or, when ``unit``
    is None, in whichever unit puts it between 2000 and 2100 (the ranges do not overlap:
    a time in ms is 1000 times one in s)."""
    if unit is not None:
        ns = value * UNITS_NS[unit]
        if TS_MIN_NS <= ns < TS_MAX_NS:
            return ns
        raise RowError(
            "bad_time", f"{what} {value} is not a time in {unit} between the years 2000 and 2100"
        )
    for factor in (SECOND, MS, US, 1):
        ns = value * factor
        if TS_MIN_NS <= ns < TS_MAX_NS:
            return ns
    raise RowError(
        "bad_time",
        f"{what} {value} is not a time: neither s, ms, µs nor ns since 1970 "
        "give a year between 2000 and 2100",
    )


def unit_of(value: int) -> str | None:
    """The unit (s, ms, us, ns) that makes ``value`` a time between 2000 and 2100."""
    for unit, factor in UNITS_NS.items():
        if TS_MIN_NS <= value * factor < TS_MAX_NS:
            return unit
    return None


class Clock:
    """Time must not go backwards: :meth:`check` raises a RowError for a row that does.

    ``strict`` also refuses a repeated time (bars: one bar per time).
    """

    def __init__(self, what: str = "time", strict: bool = False) -> None:
        self.what = what
        self.strict = strict
        self.last: int | None = None

    def check(self, ts: int) -> None:
        last = self.last
        if last is not None and (ts < last or (self.strict and ts == last)):
            if ts == last:
                raise RowError("duplicate_time", f"{self.what} {iso(ts)} repeats the row before")
            raise RowError(
                "time_backwards",
                f"{self.what} goes backwards: {iso(ts)} after {iso(last)}",
            )

    def accept(self, ts: int) -> None:
        self.last = ts


def iso(ts_ns: int) -> str:
    """A UTC time as text, to the microsecond (``2024-08-08 23:54:15.342``)."""
    s, ns = divmod(ts_ns, SECOND)
    t = np.datetime64(s, "s").astype("datetime64[us]") + np.timedelta64(ns // US, "us")
    text = str(t).replace("T", " ")
    return text.rstrip("0").rstrip(".") if "." in text else text


# ---- grids --------------------------------------------------------------------------


def finest_step(values: np.ndarray) -> Decimal | None:
    """The coarsest grid every value lies on: 10^-d times the gcd of the values in units
    of 10^-d, for the fewest decimals d that make them all whole. None for no values, or
    when they need more than 12 decimals or digits than a float holds."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) == 0:
        return None
    v = np.unique(v)
    for d in range(13):
        scaled = v * 10.0**d
        if scaled.max() >= 2.0**53:
            return None
        whole = np.round(scaled)
        if np.all(np.abs(scaled - whole) <= 1e-11 * scaled + 1e-9):
            g = int(np.gcd.reduce(whole.astype(np.int64)))
            return Decimal(g).scaleb(-d).normalize() if g else None
    return None


# ---- columns ------------------------------------------------------------------------


class Columns:
    """Typed column buffers: ``Columns(ts_ns="q", price="d", side="b")`` (array codes)."""

    def __init__(self, **codes: str) -> None:
        self.data: dict[str, array[Any]] = {name: array(code) for name, code in codes.items()}

    def __len__(self) -> int:
        return len(next(iter(self.data.values())))

    def add(self, **values: Any) -> None:
        for name, v in values.items():
            self.data[name].append(v)

    def numpy(self, name: str) -> np.ndarray:
        col = self.data[name]
        dtype = {"q": np.int64, "d": np.float64, "b": np.int8, "h": np.int16}[col.typecode]
        return np.frombuffer(col, dtype=dtype) if len(col) else np.empty(0, dtype=dtype)

    def table(self, extra: dict[str, pa.Array] | None = None) -> pa.Table:
        cols: dict[str, Any] = {name: self.numpy(name) for name in self.data}
        cols.update(extra or {})
        return pa.table(cols)


class TradeIds:
    """Trade ids: whole numbers while they all are, else text; None where there is none."""

    def __init__(self) -> None:
        self.ints: array[int] | None = array("q")
        self.texts: list[str | None] | None = None

    def append(self, value: int | str | None) -> None:
        if self.ints is not None:
            if isinstance(value, int) and -(2**63) <= value < 2**63:
                self.ints.append(value)
                return
            self.texts = [str(i) for i in self.ints]
            self.ints = None
        assert self.texts is not None
        self.texts.append(None if value is None else str(value))

    def array(self) -> pa.Array:
        if self.ints is not None:
            return pa.array(
                np.frombuffer(self.ints, dtype=np.int64) if self.ints else [], pa.int64()
            )
        return pa.array(self.texts, type=pa.string())


def write_tables(
    catalog: Any, venue: str, symbol: str, tables: dict[str, pa.Table], result: ImportResult
) -> None:
    """Write each non-empty table to the catalog and count its rows in ``result``."""
    for kind, table in tables.items():
        if table.num_rows:
            result.paths += catalog.write(venue, symbol, kind, table)
        result.rows[kind] = table.num_rows


__all__ = [
    "MAX_LISTED",
    "MS",
    "SECOND",
    "US",
    "Clock",
    "Columns",
    "ImportResult",
    "RowError",
    "Skipped",
    "TradeIds",
    "csv_rows",
    "epoch_ns",
    "finest_step",
    "inner_name",
    "integer",
    "iso",
    "non_negative",
    "number",
    "numbered_lines",
    "open_text",
    "positive",
    "unit_of",
    "write_tables",
]
