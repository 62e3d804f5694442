"""Binance's public data (data.binance.vision): ``binance-trades``, ``binance-aggtrades``,
``binance-klines``.

The archives hold one CSV each (``BTCUSDT-trades-2024-01-01.zip``), imported
zipped or not. Columns, by position, as Binance documents them:

- trades, spot (7, no header): id, price, qty, quoteQty, time, isBuyerMaker,
  isBestMatch; USD-M (6, header): id, price, qty, quote_qty, time, is_buyer_maker.
- aggTrades, spot (8, no header): aggId, price, qty, firstId, lastId, time,
  isBuyerMaker, isBestMatch; USD-M (7, header): agg_trade_id, price, quantity,
  first_trade_id, last_trade_id, transact_time, is_buyer_maker.
- klines, both (12; USD-M with a header): open_time, open, high, low, close,
  volume, close_time, quote_volume, count, taker_buy_volume,
  taker_buy_quote_volume, ignore.

- **Market.** The number of columns tells spot trades from futures trades; a
  ``market`` (``spot``/``usdm``) that disagrees is refused unless ``force``.
  Klines look the same in both: the market is ``market``, else assumed from the
  header line (futures files have one, spot files do not) and said so. Spot is
  kind ``spot``; USD-M is ``perpetual`` (``future`` for a dated
  ``BTCUSDT_240927``).
- **Symbol.** Read from the file name (``BTCUSDT-aggTrades-2024-01.zip``) when it
  has Binance's form; a file of another data type than the format is an error.
- **Times** are ms since 1970, and µs in spot files from 2025 on: each value's
  unit is told by its magnitude. Trades are stored at their time, with the
  taker's side (``isBuyerMaker`` true: the seller took). aggTrades keep the
  aggregate id as ``trade_id``. Klines are stored at their close (open time +
  interval), the interval from ``interval``, else the file name, else the
  first kline (close_time + 1 unit - open_time); the volume is in the base asset.
- Rows are skipped, and reported by line, for the wrong number of columns, a
  value that is not a number (or not a finite number > 0), a time outside
  2000-2100 or going backwards, a kline whose close_time does not end its
  interval.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from itertools import islice
from pathlib import Path

from botkit.backtest.catalog import SIDE_BUY, SIDE_SELL, TRADES, Catalog
from botkit.backtest.importers.bars import BarRows, interval_in_name, parse_interval
from botkit.backtest.importers.common import (
    UNITS_NS,
    Clock,
    Columns,
    ImportResult,
    RowError,
    csv_rows,
    epoch_ns,
    inner_name,
    integer,
    open_text,
    positive,
    unit_of,
    write_tables,
)
from botkit.backtest.importers.instrument import (
    Facts,
    ImportRefused,
    Wanted,
    settle_instrument,
    store_instrument,
)

MARKETS = ("spot", "usdm")
# Columns per market, and where the fields are.
_TRADES = {7: "spot", 6: "usdm"}
_AGG = {8: "spot", 7: "usdm"}
_KLINE_WIDTH = 12
_NAME = re.compile(
    r"^([A-Z0-9_]+)-(trades|aggTrades|\d+[smhdw]|1mo)-\d{4}-\d{2}(?:-\d{2})?(?:\.csv)?$"
)
_MAKER = {"true": True, "false": False}


def _name_facts(path: Path, data_type: str) -> str | None:
    """The exchange symbol in a Binance file name; a name of another data type is an error."""
    name = inner_name(path)
    m = _NAME.match(name)
    if not m:
        return None
    kind = m.group(2)
    is_kline = kind not in ("trades", "aggTrades")
    if (data_type == "klines") != is_kline or (not is_kline and kind != data_type):
        fmt = {"trades": "binance-trades", "aggTrades": "binance-aggtrades"}.get(
            kind, "binance-klines"
        )
        raise ValueError(
            f"{name} is a Binance {kind} file by its name: import it with --format {fmt}"
        )
    return m.group(1)


def _kind_for(market: str, symbol: str | None) -> str:
    if market == "spot":
        return "spot"
    return "future" if symbol and re.search(r"_\d{6}$", symbol) else "perpetual"


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Units:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def ns(self, text: str, what: str) -> int:
        v = integer(text, what)
        unit = unit_of(v)
        if unit not in ("ms", "us"):
            raise RowError(
                "bad_time", f"{what} {v} is not a time in ms or µs between 2000 and 2100"
            )
        self.seen.add(unit)
        return epoch_ns(v, unit, what)

    def say(self, result: ImportResult) -> None:
        names = {"ms": "ms", "us": "µs (Binance spot files from 2025 on)"}
        if self.seen:
            result.said.append(
                "times read as "
                + " and ".join(names[u] for u in sorted(self.seen))
                + " since 1970, by their magnitude"
            )


def _market(
    path: Path,
    data_type: str,
    width: int,
    header: bool,
    market: str | None,
    force: bool,
    result: ImportResult,
) -> tuple[str, str]:
    """(market, why) from the column count (trades), or the flag, or the header (klines)."""
    if market is not None and market not in MARKETS:
        raise ValueError(f"--market {market!r}: expected spot or usdm")
    if data_type == "klines":
        if width != _KLINE_WIDTH:
            raise ValueError(f"{path.name} has {width} columns; Binance klines have {_KLINE_WIDTH}")
        if market is not None:
            return market, f"--market {market}"
        guess = "usdm" if header else "spot"
        why = (
            "it has a header line, as USD-M files do"
            if header
            else "it has no header line, as spot files"
        )
        result.said.append(f"market {guess} assumed: {why}; pass --market to say")
        return guess, ""
    layouts = _TRADES if data_type == "trades" else _AGG
    found = layouts.get(width)
    if found is None:
        expected = " or ".join(f"{n} ({m})" for n, m in layouts.items())
        raise ValueError(
            f"{path.name} has {width} columns; Binance {data_type} files have {expected}"
        )
    why = f"{data_type} with {width} columns are {'spot' if found == 'spot' else 'USD-M futures'}"
    if market is not None and market != found:
        if not force:
            raise ImportRefused(
                f"refused: --market {market}, but {path.name} is a {found} file ({why}). "
                "Pass the file's market, or --force to import it as it is"
            )
        result.said.append(f"imported despite --market {market}: {why} (--force)")
    return found, why


def _layout(path: Path) -> tuple[int, bool]:
    """(columns, whether line 1 is a header), from the first rows: the width most of them
    have, so that one bad row at the top does not decide it. Line 1 is a header when it
    has that width and holds no number."""
    first: list[str] | None = None
    widths: Counter[int] = Counter()
    with open_text(path) as f:
        for _, row in islice(csv_rows(f), 50):
            if isinstance(row, RowError):
                continue
            if first is None:
                first = row
            widths[len(row)] += 1
    if first is None:
        raise ValueError(f"{path.name} holds no CSV rows")
    width = widths.most_common(1)[0][0]
    header = len(first) == width and not any(_numeric(x) for x in first)
    return width, header


def _trades(
    data_type: str,
    catalog: Catalog,
    path: str | Path,
    venue: str,
    symbol: str,
    market: str | None,
    wanted: Wanted,
) -> ImportResult:
    path = Path(path)
    result = ImportResult()
    exchange_symbol = _name_facts(path, data_type)
    width, header = _layout(path)
    found, why = _market(path, data_type, width, header, market, wanted.force, result)
    i_price, i_qty = 1, 2
    i_time, i_maker = (4, 5) if data_type == "trades" else (5, 6)
    cols = Columns(ts_ns="q", price="d", size="d", side="b", trade_id="q")
    clock = Clock("time")
    units = _Units()
    with open_text(path) as f:
        rows = csv_rows(f)
        if header:
            next(rows, None)
        for n, row in rows:
            try:
                if isinstance(row, RowError):
                    raise row
                if len(row) != width:
                    raise RowError("columns", f"{len(row)} fields, expected {width}")
                ts = units.ns(row[i_time], "time")
                clock.check(ts)
                tid = integer(row[0], "id")
                price = positive(row[i_price], "price")
                size = positive(row[i_qty], "qty")
                maker = _MAKER.get(row[i_maker].strip().lower())
                if maker is None:
                    raise RowError(
                        "bad_value", f"is_buyer_maker {row[i_maker]!r:.30} is not true or false"
                    )
            except RowError as e:
                result.skip(n, e.code, e.reason)
                continue
            clock.accept(ts)
            # The buyer was the maker: the seller took.
            cols.add(
                ts_ns=ts,
                price=price,
                size=size,
                side=SIDE_SELL if maker else SIDE_BUY,
                trade_id=tid,
            )
    if not len(cols):
        raise ValueError(_nothing(path, result))
    units.say(result)
    facts = Facts(
        exchange_symbol,
        f"by its file name {inner_name(path)}",
        kind=_kind_for(found, exchange_symbol),
        kind_why=why or f"--market {found}",
    )
    info = settle_instrument(
        catalog, venue, symbol, facts, wanted, result, cols.numpy("price"), cols.numpy("size")
    )
    write_tables(catalog, venue, symbol, {TRADES: cols.table()}, result)
    store_instrument(catalog, venue, symbol, info, result)
    return result


def _nothing(path: Path, result: ImportResult) -> str:
    first = f"; first: {result.skipped[0]}" if result.skipped else ""
    return f"{path.name}: no row could be imported ({result.skipped_count:,} skipped{first})"


def import_binance_trades(
    catalog: Catalog,
    path: str | Path,
    venue: str,
    symbol: str,
    market: str | None = None,
    *,
    tick_size: Decimal | str | None = None,
    lot_size: Decimal | str | None = None,
    kind: str | None = None,
    base: str | None = None,
    quote: str | None = None,
    force: bool = False,
) -> ImportResult:
    """Import a Binance public-data ``trades`` CSV (spot or USD-M, zipped or not)."""
    wanted = Wanted(tick_size, lot_size, kind, base, quote, force)
    return _trades("trades", catalog, path, venue, symbol, market, wanted)


def import_binance_aggtrades(
    catalog: Catalog,
    path: str | Path,
    venue: str,
    symbol: str,
    market: str | None = None,
    *,
    tick_size: Decimal | str | None = None,
    lot_size: Decimal | str | None = None,
    kind: str | None = None,
    base: str | None = None,
    quote: str | None = None,
    force: bool = False,
) -> ImportResult:
    """Import a Binance public-data ``aggTrades`` CSV: one trade per aggregate trade."""
    wanted = Wanted(tick_size, lot_size, kind, base, quote, force)
    return _trades("aggTrades", catalog, path, venue, symbol, market, wanted)


def import_binance_klines(
    catalog: Catalog,
    path: str | Path,
    venue: str,
    symbol: str,
    market: str | None = None,
    interval: str | None = None,
    *,
    tick_size: Decimal | str | None = None,
    lot_size: Decimal | str | None = None,
    kind: str | None = None,
    base: str | None = None,
    quote: str | None = None,
    force: bool = False,
) -> ImportResult:
    """Import a Binance public-data ``klines`` CSV: bars stamped at their close."""
    path = Path(path)
    wanted = Wanted(tick_size, lot_size, kind, base, quote, force)
    result = ImportResult()
    exchange_symbol = _name_facts(path, "klines")
    width, header = _layout(path)
    found, why = _market(path, "klines", width, header, market, force, result)
    interval_ns = parse_interval(interval) if interval else interval_in_name(inner_name(path))
    bars = BarRows(result, "open_time")
    units = _Units()
    with open_text(path) as f:
        rows = csv_rows(f)
        if header:
            next(rows, None)
        for n, row in rows:
            try:
                if isinstance(row, RowError):
                    raise row
                if len(row) != _KLINE_WIDTH:
                    raise RowError("columns", f"{len(row)} fields, expected {_KLINE_WIDTH}")
                open_ns = units.ns(row[0], "open_time")
                close_ns = units.ns(row[6], "close_time")
                unit_ns = UNITS_NS[unit_of(integer(row[6], "close_time")) or "ms"]
                span = close_ns + unit_ns - open_ns
                if interval_ns is None and span > 0:
                    interval_ns = span
                if span != interval_ns:
                    raise RowError(
                        "bad_time",
                        f"close_time {row[6]} does not end the interval that opens at {row[0]}",
                    )
                bars.add(open_ns, row[1], row[2], row[3], row[4], row[5])
            except RowError as e:
                result.skip(n, e.code, e.reason)
    if not len(bars):
        raise ValueError(_nothing(path, result))
    units.say(result)
    kind_name, table = bars.finish(interval_ns)
    facts = Facts(
        exchange_symbol,
        f"by its file name {inner_name(path)}",
        kind=_kind_for(found, exchange_symbol) if why else None,
        kind_why=why or "from the market assumed by its header line",
        assumed_kind=_kind_for(found, exchange_symbol),
    )
    info = settle_instrument(
        catalog,
        venue,
        symbol,
        facts,
        wanted,
        result,
        bars.prices(),
        table.column("volume").to_numpy(),
        "bar volumes",
    )
    write_tables(catalog, venue, symbol, {kind_name: table}, result)
    store_instrument(catalog, venue, symbol, info, result)
    return result


__all__ = [
    "MARKETS",
    "import_binance_aggtrades",
    "import_binance_klines",
    "import_binance_trades",
]
