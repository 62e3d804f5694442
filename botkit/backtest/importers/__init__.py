"""Importers from recorded market-data formats into the catalog.

One module per format, and what they share:

- ``common.py``: the result (rows written, rows skipped by line and reason,
  what was inferred), sources (plain, gzip or zip, by their magic bytes), number
  and time checks;
- ``instrument.py``: ``instrument.json``, written or checked, and the refusal to
  mix markets under one venue and symbol;
- ``bars.py``: candles from any format, stamped at their close.

``FORMATS`` maps each ``botkit data import --format`` name to its importer, a
function ``(catalog, path, venue, symbol, **options) -> ImportResult``;
``FORMAT_HELP`` describes each in one line. Every importer takes the keyword
options ``tick_size``, ``lot_size``, ``kind``, ``base``, ``quote`` and
``force`` (``instrument.py``); the others are its own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from botkit.backtest.catalog import Catalog
from botkit.backtest.importers.bars import parse_interval
from botkit.backtest.importers.binance import (
    import_binance_aggtrades,
    import_binance_klines,
    import_binance_trades,
)
from botkit.backtest.importers.bybit import import_bybit_ob
from botkit.backtest.importers.common import ImportResult, Skipped
from botkit.backtest.importers.freqtrade import import_freqtrade_trades, import_ohlcv_json
from botkit.backtest.importers.hftbacktest import import_hftbacktest
from botkit.backtest.importers.instrument import ImportRefused
from botkit.backtest.importers.ohlcv_csv import import_ohlcv_csv
from botkit.backtest.importers.tardis import import_tardis_book, import_tardis_trades

Importer = Callable[..., ImportResult]
FORMATS: dict[str, Importer] = {
    "hftbacktest": import_hftbacktest,
    "ohlcv-json": import_ohlcv_json,
    "freqtrade-trades": import_freqtrade_trades,
    "ohlcv-csv": import_ohlcv_csv,
    "bybit-ob": import_bybit_ob,
    "tardis-trades": import_tardis_trades,
    "tardis-book": import_tardis_book,
    "binance-trades": import_binance_trades,
    "binance-aggtrades": import_binance_aggtrades,
    "binance-klines": import_binance_klines,
}

FORMAT_HELP: dict[str, str] = {
    "hftbacktest": "raw Binance feed recorded by hftbacktest (.gz): trades, book, quotes",
    "ohlcv-json": "freqtrade OHLCV JSON ([[open_ms, o, h, l, c, v], ...]): bars",
    "freqtrade-trades": "freqtrade trades JSON (.json or .json.gz): trades",
    "ohlcv-csv": "candles in any CSV (--columns, --time-format, --time-is, --volume-in): bars",
    "bybit-ob": "Bybit order-book history (ob500 .data or .data.zip): book snapshots + deltas",
    "tardis-trades": "Tardis trades CSV (.csv or .csv.gz): trades, with receive times",
    "tardis-book": "Tardis incremental_book_L2 CSV: book snapshots + deltas, with receive times",
    "binance-trades": "data.binance.vision trades CSV, spot or usdm (.csv or .zip): trades",
    "binance-aggtrades": "data.binance.vision aggTrades CSV, spot or usdm: trades (aggregated)",
    "binance-klines": "data.binance.vision klines CSV, spot or usdm: bars",
}


def import_file(
    catalog: Catalog, fmt: str, path: str | Path, venue: str, symbol: str, **options: Any
) -> ImportResult:
    """Import ``path`` in format ``fmt`` (one of :data:`FORMATS`)."""
    try:
        importer = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; expected one of {sorted(FORMATS)}") from None
    return importer(catalog, path, venue, symbol, **options)


__all__ = [
    "FORMATS",
    "FORMAT_HELP",
    "ImportRefused",
    "ImportResult",
    "Skipped",
    "import_binance_aggtrades",
    "import_binance_klines",
    "import_binance_trades",
    "import_bybit_ob",
    "import_file",
    "import_freqtrade_trades",
    "import_hftbacktest",
    "import_ohlcv_csv",
    "import_ohlcv_json",
    "import_tardis_book",
    "import_tardis_trades",
    "parse_interval",
]
