"""freqtrade's JSON files: ``ohlcv-json`` (candles) and ``freqtrade-trades``.

- ``ohlcv-json``: ``[[open_ms, open, high, low, close, volume], ...]``, volume in
  the base asset. Stored as ``bars_<interval>`` with ts_ns = open time + interval
  (the close). The interval comes from ``interval``, else from the file name
  (``BTC_USDT-1h.json``), else from the most common step between candles.
- ``freqtrade-trades``: ``[[ts_ms, id, type, side, price, amount, cost], ...]``
  (or the same fields as objects); ``side`` is the taker's.

Both are JSON arrays, so a skipped entry is reported by its place in the array
(``row 12``, from 1). The pair and the market come from freqtrade's file names:
``BTC_USDT-1h.json`` is the spot pair BTC/USDT, ``BTC_USDT_USDT-1h-futures.json``
the perpetual BTC/USDT:USDT. Both write ``instrument.json``: the tick size from
the prices and the lot size from the trade sizes (candles: from the volumes, a
bound only) unless given, and say so.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from botkit.backtest.catalog import SIDE_BUY, SIDE_SELL, SIDE_UNKNOWN, TRADES, Catalog
from botkit.backtest.importers.bars import BarRows, interval_in_name, parse_interval
from botkit.backtest.importers.common import (
    Clock,
    Columns,
    ImportResult,
    RowError,
    TradeIds,
    epoch_ns,
    inner_name,
    integer,
    open_text,
    positive,
    write_tables,
)
from botkit.backtest.importers.instrument import Facts, Wanted, settle_instrument, store_instrument

_PAIR_IN_NAME = re.compile(r"^([A-Za-z0-9]+(?:_[A-Za-z0-9]+){1,2})-")
_FT_FIELDS = ("timestamp", "id", "type", "side", "price", "amount", "cost")


def _load_json(path: Path) -> Any:
    with open_text(path) as f:
        return json.load(f)


def _facts(path: Path) -> Facts:
    """The pair and market freqtrade's file name gives (``BTC_USDT_USDT-1h-futures.json``)."""
    name = inner_name(path)
    m = _PAIR_IN_NAME.match(name)
    if not m:
        return Facts()
    parts = m.group(1).split("_")
    pair = f"{parts[0]}/{parts[1]}" + (f":{parts[2]}" if len(parts) == 3 else "")
    where = f"by its file name {name}"
    if len(parts) == 3 or "-futures." in name:
        why = "a freqtrade futures file (its name has a settle asset or -futures)"
        return Facts(pair, where, kind="perpetual", kind_why=why)
    return Facts(pair, where, kind="spot", kind_why="a freqtrade spot file (by its name)")


def import_ohlcv_json(
    catalog: Catalog,
    path: str | Path,
    venue: str,
    symbol: str,
    interval: str | None = None,
    *,
    tick_size: Decimal | str | None = None,
    lot_size: Decimal | str | None = None,
    kind: str | None = None,
    base: str | None = None,
    quote: str | None = None,
    force: bool = False,
) -> ImportResult:
    """Import freqtrade OHLCV JSON (rows of [open_ms, open, high, low, close, volume]).

    The bar length comes from ``interval``, else from the file name
    (``BTC_USDT-1h.json``), else from the most common step between candles.
    """
    path = Path(path)
    rows = _load_json(path)
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{path}: expected a non-empty JSON list of candles")
    result = ImportResult()
    bars = BarRows(result, "candle time")
    for i, r in enumerate(rows, 1):
        try:
            if not isinstance(r, list) or len(r) < 6:
                raise RowError(
                    "columns", f"expected [time, open, high, low, close, volume], got {r!r:.60}"
                )
            t = epoch_ns(integer(r[0], "time"), "ms", "time")
            bars.add(t, r[1], r[2], r[3], r[4], r[5])
        except RowError as e:
            result.skip(i, e.code, e.reason, "row")
    if not len(bars):
        raise ValueError(f"{path}: no usable candle ({result.skipped_count} skipped)")
    if interval is not None:
        interval_ns: int | None = parse_interval(interval)
    else:
        interval_ns = interval_in_name(path.name)
    kind_name, table = bars.finish(interval_ns)
    wanted = Wanted(tick_size, lot_size, kind, base, quote, force)
    volumes = table.column("volume").to_numpy()
    info = settle_instrument(
        catalog,
        venue,
        symbol,
        _facts(path),
        wanted,
        result,
        bars.prices(),
        volumes,
        "bar volumes",
    )
    write_tables(catalog, venue, symbol, {kind_name: table}, result)
    store_instrument(catalog, venue, symbol, info, result)
    return result


def _trade_id(value: Any) -> int | str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None if value is None else str(value)


def import_freqtrade_trades(
    catalog: Catalog,
    path: str | Path,
    venue: str,
    symbol: str,
    *,
    tick_size: Decimal | str | None = None,
    lot_size: Decimal | str | None = None,
    kind: str | None = None,
    base: str | None = None,
    quote: str | None = None,
    force: bool = False,
) -> ImportResult:
    """Import freqtrade trades JSON: rows of [ts_ms, id, type, side, price, amount, cost]."""
    path = Path(path)
    rows = _load_json(path)
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a JSON list of trades")
    result = ImportResult()
    cols = Columns(ts_ns="q", price="d", size="d", side="b")
    ids = TradeIds()
    clock = Clock("timestamp")
    side_codes = {"buy": SIDE_BUY, "sell": SIDE_SELL}
    for i, r in enumerate(rows, 1):
        try:
            if isinstance(r, dict):
                r = [r.get(k) for k in _FT_FIELDS]
            if not isinstance(r, list) or len(r) < 6:
                raise RowError("columns", f"expected [{', '.join(_FT_FIELDS)}], got {r!r:.60}")
            ts = epoch_ns(integer(r[0], "timestamp"), "ms", "timestamp")
            clock.check(ts)
            price, size = positive(r[4], "price"), positive(r[5], "amount")
        except RowError as e:
            result.skip(i, e.code, e.reason, "row")
            continue
        clock.accept(ts)
        cols.add(ts_ns=ts, price=price, size=size, side=side_codes.get(r[3], SIDE_UNKNOWN))
        ids.append(_trade_id(r[1]))
    wanted = Wanted(tick_size, lot_size, kind, base, quote, force)
    table = cols.table({"trade_id": ids.array()})
    if table.num_rows:
        info = settle_instrument(
            catalog,
            venue,
            symbol,
            _facts(path),
            wanted,
            result,
            cols.numpy("price"),
            cols.numpy("size"),
        )
        write_tables(catalog, venue, symbol, {TRADES: table}, result)
        store_instrument(catalog, venue, symbol, info, result)
    elif result.skipped_count:
        first = result.skipped[0]
        raise ValueError(
            f"{path}: no usable trade ({result.skipped_count:,} skipped; first: {first})"
        )
    else:
        result.rows[TRADES] = 0
    return result


__all__ = ["import_freqtrade_trades", "import_ohlcv_json"]
