"""``ohlcv-csv``: candles from any CSV, given which column is which and how time is written.

- **Columns.** ``columns`` maps the fields ``time``, ``open``, ``high``, ``low``,
  ``close`` and ``volume`` to header names or to positions from 0
  (``"time=timestamp,volume=vol"``, ``{"time": 0}``); a field not mapped is found
  by its usual names (``timestamp``, ``time``, ``date``, ``open``/``o``, ...).
  The first line is a header unless it holds numbers (``header`` forces it);
  a file without one is read as time, open, high, low, close, volume unless
  mapped by position.
- **Time.** ``time_format`` is ``auto`` (numbers are counts since 1970, other
  text ISO 8601), ``epoch``, ``iso`` or a ``strptime`` format
  (``%d/%m/%Y %H:%M``). A count's unit is ``time_unit`` (``s``, ``ms``, ``us``,
  ``ns``), else the one that puts it between 2000 and 2100. A time without a
  zone is UTC; one with a zone is converted. ``time_is`` says whether the times
  are the bars' ``open`` (default) or ``close``; the catalog stamps bars at
  their close. The interval comes from ``interval``, else the file name
  (``..._1m.csv``), else the most common step.
- **Volume.** ``volume_in="quote"`` says the volume is in the quote asset (as
  FTX reported it): it is converted to the base asset at each bar's typical
  price (high + low + close) / 3, and the summary says so.
- The file names no market: the kind is ``kind``, else spot, said as assumed.
  The tick size is inferred from the prices, the lot size from the volumes
  (base volumes only; a placeholder otherwise) unless given.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from itertools import chain
from pathlib import Path

from botkit.backtest.catalog import Catalog, to_ns
from botkit.backtest.checks import TS_MAX_NS, TS_MIN_NS
from botkit.backtest.importers.bars import BarRows, interval_in_name, parse_interval
from botkit.backtest.importers.common import (
    ImportResult,
    RowError,
    csv_rows,
    epoch_ns,
    inner_name,
    open_text,
    unit_of,
    write_tables,
)
from botkit.backtest.importers.instrument import Facts, Wanted, settle_instrument, store_instrument

FIELDS = ("time", "open", "high", "low", "close", "volume")
_ALIASES = {
    "time": ("timestamp", "time", "date", "datetime", "open_time", "opentime", "open time", "ts"),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
    "volume": ("volume", "vol", "v", "base_volume"),
}
TIME_FORMATS = ("auto", "epoch", "iso")


def parse_columns(spec: str | Mapping[str, str | int] | None) -> dict[str, str | int]:
    """``"time=timestamp,open=1"`` (or a mapping) -> {field: header name or position}."""
    if spec is None:
        return {}
    items: list[tuple[str, str | int]]
    if isinstance(spec, str):
        items = []
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key, eq, value = part.partition("=")
            if not eq or not value.strip():
                raise ValueError(f"--columns: {part!r} is not FIELD=COLUMN (e.g. time=timestamp)")
            items.append((key.strip(), value.strip()))
    else:
        items = list(spec.items())
    out: dict[str, str | int] = {}
    for key, value in items:
        if key not in FIELDS:
            raise ValueError(
                f"--columns: unknown field {key!r}; the fields are {', '.join(FIELDS)}"
            )
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            out[key] = int(value)
        else:
            out[key] = str(value)
    return out


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _locate(
    names: list[str] | None, mapping: dict[str, str | int], path: Path
) -> tuple[dict[str, int], list[str]]:
    """Field -> position, and what to say about it."""
    said: list[str] = []
    where: dict[str, int] = {}
    lower = [n.strip().lower() for n in names] if names is not None else None
    for i, field in enumerate(FIELDS):
        chosen = mapping.get(field)
        if isinstance(chosen, int):
            where[field] = chosen
        elif chosen is not None:
            if lower is None or chosen.lower() not in lower:
                have = ", ".join(names or []) or "no header line"
                raise ValueError(f"{path.name}: no column {chosen!r} for {field} (columns: {have})")
            where[field] = lower.index(chosen.lower())
        elif lower is None:
            where[field] = i
        else:
            hit = next((a for a in _ALIASES[field] if a in lower), None)
            if hit is None:
                raise ValueError(
                    f"{path.name}: no {field} column among {', '.join(names or [])}; "
                    f"map it with --columns {field}=NAME"
                )
            where[field] = lower.index(hit)
    if lower is None and not mapping:
        said.append("no header line: columns read as time, open, high, low, close, volume")
    return where, said


class _TimeReader:
    def __init__(self, fmt: str | None, unit: str | None) -> None:
        self.fmt = fmt or "auto"
        if unit is not None and unit not in ("s", "ms", "us", "ns"):
            raise ValueError(f"--time-unit {unit!r}: expected s, ms, us or ns")
        self.unit = unit
        self.units: set[str] = set()
        self.naive = False

    def ns(self, text: str) -> int:
        t = text.strip()
        numeric = self.fmt == "epoch" or (self.fmt == "auto" and _looks_numeric(t))
        if numeric:
            return self._count(t)
        try:
            if self.fmt in ("auto", "iso"):
                dt = datetime.fromisoformat(t)
            else:
                dt = datetime.strptime(t, self.fmt)
        except ValueError:
            how = "ISO 8601" if self.fmt in ("auto", "iso") else f"the format {self.fmt!r}"
            raise RowError("bad_time", f"time {t!r:.40} is not a time in {how}") from None
        if dt.tzinfo is None:
            self.naive = True
            dt = dt.replace(tzinfo=UTC)
        ns = to_ns(dt)
        if not TS_MIN_NS <= ns < TS_MAX_NS:
            raise RowError("bad_time", f"time {t!r:.40} is not between the years 2000 and 2100")
        return ns

    def _count(self, t: str) -> int:
        try:
            value = float(t)
        except ValueError:
            raise RowError("bad_time", f"time {t!r:.40} is not a number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise RowError("bad_time", f"time {t!r:.40} is not a number")
        whole = int(t) if t.lstrip("-").isdigit() else int(value)
        unit = self.unit or unit_of(whole)
        if unit is None:
            return epoch_ns(whole)  # raises with the reason
        self.units.add(unit)
        if whole == value:
            return epoch_ns(whole, unit)
        return epoch_ns(round(value * {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}[unit]), "ns")

    def say(self, result: ImportResult) -> None:
        if self.units and self.unit is None:
            result.said.append(
                f"times read as {' and '.join(sorted(self.units))} since 1970, by their "
                "magnitude; pass --time-unit to set it"
            )
        if self.naive:
            result.said.append("times without a time zone read as UTC")


def import_ohlcv_csv(
    catalog: Catalog,
    path: str | Path,
    venue: str,
    symbol: str,
    interval: str | None = None,
    columns: str | Mapping[str, str | int] | None = None,
    time_format: str | None = None,
    time_unit: str | None = None,
    time_is: str = "open",
    volume_in: str = "base",
    header: bool | None = None,
    delimiter: str = ",",
    *,
    tick_size: Decimal | str | None = None,
    lot_size: Decimal | str | None = None,
    kind: str | None = None,
    base: str | None = None,
    quote: str | None = None,
    force: bool = False,
) -> ImportResult:
    """Import candles from a CSV file (plain, gzip or zip): ``bars_<interval>``."""
    path = Path(path)
    if time_is not in ("open", "close"):
        raise ValueError(f"--time-is {time_is!r}: expected open or close")
    if volume_in not in ("base", "quote"):
        raise ValueError(f"--volume-in {volume_in!r}: expected base or quote")
    mapping = parse_columns(columns)
    times = _TimeReader(time_format, time_unit)
    result = ImportResult()
    bars = BarRows(result, "time")
    with open_text(path) as f:
        rows = csv_rows(f, delimiter)
        first = next(rows, None)
        if first is None or isinstance(first[1], RowError):
            raise ValueError(f"{path.name}: no CSV rows to read")
        line, fields = first
        assert isinstance(fields, list)
        has_header = header if header is not None else not any(_looks_numeric(x) for x in fields)
        where, said = _locate(fields if has_header else None, mapping, path)
        result.said += said
        width = max(where.values()) + 1
        pending = [] if has_header else [(line, fields)]
        for n, row in chain(pending, rows):
            try:
                if isinstance(row, RowError):
                    raise row
                if len(row) < width:
                    raise RowError("columns", f"{len(row)} fields, expected at least {width}")
                t = times.ns(row[where["time"]])
                bars.add(t, *(row[where[k]] for k in FIELDS[1:]))
            except RowError as e:
                result.skip(n, e.code, e.reason)
    if not len(bars):
        first_skip = f"; first: {result.skipped[0]}" if result.skipped else ""
        raise ValueError(
            f"{path.name}: no usable bar ({result.skipped_count:,} skipped{first_skip})"
        )
    times.say(result)
    interval_ns = parse_interval(interval) if interval else interval_in_name(inner_name(path))
    kind_name, table = bars.finish(interval_ns, time_is, volume_in)
    result.said.append(
        f"the times are the bars' {time_is} times (--time-is); stored at each bar's close"
    )
    wanted = Wanted(tick_size, lot_size, kind, base, quote, force)
    volumes = table.column("volume").to_numpy() if volume_in == "base" else None
    info = settle_instrument(
        catalog, venue, symbol, Facts(), wanted, result, bars.prices(), volumes, "bar volumes"
    )
    write_tables(catalog, venue, symbol, {kind_name: table}, result)
    store_instrument(catalog, venue, symbol, info, result)
    return result


__all__ = ["FIELDS", "TIME_FORMATS", "import_ohlcv_csv", "parse_columns"]
