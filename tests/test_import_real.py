"""Every real recording in the shared data folder imports, and backtests run on what it gives.

The files are read from ``../shared/data/real`` (its README describes each); they
are never copied into the repository.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import SHARED

from botkit.backtest.catalog import Catalog, replay, to_ns
from botkit.backtest.importers import ImportResult, import_bybit_ob, import_file
from botkit.cli import main as botkit_main
from botkit.events import Bar, BookDelta, BookSnapshot

REAL = SHARED / "data" / "real"
FTX = REAL / "nautilus_trader" / "btc-perp-20211231-20220201_1m.csv"
BYBIT = REAL / "nautilus_trader" / "xrpusdt-ob500.data.zip"
S = 1_000_000_000

# file -> (format, venue, symbol, options, rows written per kind); counts from the README.
IMPORTS: dict[str, tuple[str, str, str, dict[str, Any], dict[str, int]]] = {
    "hftbacktest/spot/btcusdt_20240808.gz": (
        "hftbacktest",
        "binance",
        "BTC/USDT",
        {},
        {"trades": 9_757, "book_snapshots": 2_000},
    ),
    "hftbacktest/usdm/btcusdt_20240808.gz": (
        "hftbacktest",
        "binance-usdm",
        "BTC/USDT",
        {},
        {"trades": 21_313, "book_snapshots": 2_000},
    ),
    "freqtrade/XRP_ETH-trades.json.gz": (
        "freqtrade-trades",
        "binance",
        "XRP/ETH",
        {},
        {"trades": 12_477},
    ),
    "nostalgiaforinfinity/BTC_USDT-1h.json": (
        "ohlcv-json",
        "binance",
        "BTC/USDT",
        {},
        {"bars_1h": 5_482},
    ),
    "nostalgiaforinfinity/ETH_USDT-1h.json": (
        "ohlcv-json",
        "binance",
        "ETH/USDT",
        {},
        {"bars_1h": 5_482},
    ),
    "nostalgiaforinfinity/SOL_USDT-1h.json": (
        "ohlcv-json",
        "binance",
        "SOL/USDT",
        {},
        {"bars_1h": 5_482},
    ),
    "nostalgiaforinfinity/ETH_USDT-5m.json": (
        "ohlcv-json",
        "binance",
        "ETH/USDT",
        {},
        {"bars_5m": 65_742},
    ),
    "nautilus_trader/btc-perp-20211231-20220201_1m.csv": (
        "ohlcv-csv",
        "ftx",
        "BTC/USD",
        {"kind": "perpetual", "volume_in": "quote"},
        {"bars_1m": 45_031},
    ),
    "nautilus_trader/xrpusdt-ob500.data.zip": (
        "bybit-ob",
        "bybit",
        "XRP/USDT",
        {},
        {"book_snapshots": 1_000, "book_deltas": 2_966},
    ),
}


def test_every_real_file_has_an_import_here() -> None:
    assert REAL.is_dir(), "the shared data folder must sit beside the repository"
    on_disk = {str(p.relative_to(REAL)) for p in REAL.rglob("*") if p.is_file()}
    assert on_disk - {"README.md"} == set(IMPORTS)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Catalog, dict[str, ImportResult]]:
    """One catalog holding every real file, imported once for the tests of this module."""
    cat = Catalog(tmp_path_factory.mktemp("real") / "cat")
    results = {}
    for name, (fmt, venue, symbol, options, _) in IMPORTS.items():
        results[name] = import_file(cat, fmt, REAL / name, venue, symbol, **options)
    return cat, results


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_each_real_file_imports_whole(
    name: str, catalog: tuple[Catalog, dict[str, ImportResult]]
) -> None:
    cat, results = catalog
    _, venue, symbol, _, rows = IMPORTS[name]
    result = results[name]
    assert {k: result.rows[k] for k in rows} == rows
    assert result.skipped_count == 0
    inst = cat.instrument(venue, symbol)
    assert inst is not None and inst["tick_size"] and inst["lot_size"]
    # instrument.json lists what was guessed, and an import into the symbol said it.
    said = [s for n, r in results.items() if IMPORTS[n][1:3] == (venue, symbol) for s in r.said]
    for key in inst.get("inferred", []):
        assert any(s.startswith(f"{key} {inst[key]} ") for s in said), (key, said)


def test_the_real_files_give_their_markets(
    catalog: tuple[Catalog, dict[str, ImportResult]],
) -> None:
    cat, _ = catalog
    kinds = {(v, s): (cat.instrument(v, s) or {}).get("kind") for _, v, s, _, _ in IMPORTS.values()}
    assert kinds == {
        ("binance", "BTC/USDT"): "spot",
        ("binance-usdm", "BTC/USDT"): "perpetual",  # the feed's futures fields say so
        ("binance", "XRP/ETH"): "spot",
        ("binance", "ETH/USDT"): "spot",
        ("binance", "SOL/USDT"): "spot",
        ("ftx", "BTC/USD"): "perpetual",  # --kind
        ("bybit", "XRP/USDT"): "perpetual",  # a 500-level book: Bybit's derivatives history
    }
    usdm = cat.instrument("binance-usdm", "BTC/USDT") or {}
    assert (usdm["tick_size"], usdm["lot_size"]) == ("0.1", "0.001")


def test_the_bybit_book_rebuilds_uncrossed_to_the_readme_s_last_quote(
    catalog: tuple[Catalog, dict[str, ImportResult]],
) -> None:
    cat, results = catalog
    notes = results["nautilus_trader/xrpusdt-ob500.data.zip"].notes
    assert (notes["snapshots"], notes["deltas"], notes["update_id_gaps"]) == (1, 49, 0)
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    seen = []
    for e in (e for b in replay(cat, "bybit", ["XRP/USDT"]) for e in b):
        seen.append(e)
        if isinstance(e, BookSnapshot):
            bids, asks = dict(e.bids), dict(e.asks)
            assert len(bids) == len(asks) == 500
            continue
        assert isinstance(e, BookDelta)
        for levels, book in ((e.bids, bids), (e.asks, asks)):
            for price, size in levels:
                if size > 0:
                    book[price] = size
                else:
                    book.pop(price, None)
        assert max(bids) < min(asks), f"crossed at {e.ts_ns}"
    assert (max(bids), min(asks)) == (1.9537, 1.9538)
    # Bybit's ts, 2024-12-01 00:00:00.691 to 00:00:05.490.
    assert (seen[0].ts_ns, seen[-1].ts_ns) == (1_733_011_200_691_000_000, 1_733_011_205_490_000_000)
    assert len(seen) == 50


def test_the_ftx_bars_are_stamped_at_their_close_with_a_base_volume(
    catalog: tuple[Catalog, dict[str, ImportResult]],
) -> None:
    cat, results = catalog
    bars = [e for b in replay(cat, "ftx", ["BTC/USD"], end_ns=to_ns("2022-01-01")) for e in b]
    # 2021-12-31 23:01:00.000000,46319.0,46385.0,46319.0,46377.0,2300413.7295 (USD):
    # a bar opening at 23:01, closing at 23:02; the volume in BTC at (H + L + C) / 3.
    assert bars[0] == Bar(
        to_ns("2021-12-31T23:02:00Z"),
        "BTC/USD",
        60 * S,
        46319.0,
        46385.0,
        46319.0,
        46377.0,
        2300413.7295 / ((46385.0 + 46319.0 + 46377.0) / 3),
    )
    said = results["nautilus_trader/btc-perp-20211231-20220201_1m.csv"].said
    assert "times without a time zone read as UTC" in said
    assert any(s.startswith("volume was in the quote asset: converted") for s in said)
    # A few prices are on quarters and eighths, so that is the grid the data shows.
    assert cat.instrument("ftx", "BTC/USD")["tick_size"] == "0.125"  # type: ignore[index]


BOT = """
mode: backtest
venue: {{name: sim}}
instruments:
  - {{symbol: {symbol}, tick_size: "{tick}", lot_size: "{lot}", kind: perpetual}}
account:
  balances: {{{quote}: "100000"}}
strategies:
  - name: s
    use: {use}
    params: {params}
data:
  catalog: {catalog}
  venue: {venue}
{window}
output:
  dir: report
  progress: off
"""


def backtest(tmp_path: Path, catalog: Catalog, **fields: str) -> dict[str, Any]:
    fields.setdefault("window", "")
    (tmp_path / "bot.yaml").write_text(BOT.format(catalog=catalog.root, **fields))
    assert botkit_main(["backtest", str(tmp_path / "bot.yaml"), "--no-progress"]) == 0
    summary: dict[str, Any] = json.loads((tmp_path / "report" / "summary.json").read_text())
    return summary


def test_a_backtest_runs_on_the_imported_ftx_bars(
    catalog: tuple[Catalog, dict[str, ImportResult]], tmp_path: Path
) -> None:
    cat, _ = catalog
    summary = backtest(
        tmp_path,
        cat,
        symbol="BTC/USD",
        tick="0.125",
        lot="0.0001",
        quote="USD",
        use="ema_cross",
        params='{symbol: BTC/USD, fast: 10, slow: 50, size: "0.01", source: bars}',
        venue="ftx",
        window="  start: 2022-01-10\n  end: 2022-01-11",
    )
    assert summary["end"] == "2022-01-10T23:59:00.000000Z"
    fills = (tmp_path / "report" / "fills.csv").read_text().splitlines()
    assert len(fills) > 10  # an EMA cross on a day of minutes trades dozens of times
    assert summary["rejects"]["total"] == 0


def test_a_backtest_runs_on_the_imported_bybit_book(
    catalog: tuple[Catalog, dict[str, ImportResult]], tmp_path: Path
) -> None:
    cat, _ = catalog
    backtest(
        tmp_path,
        cat,
        symbol="XRP/USDT",
        tick="0.0001",
        lot="1",
        quote="USDT",
        use="market_maker",
        params='{symbol: XRP/USDT, size: "10", half_spread_ticks: 2}',
        venue="bybit",
    )
    orders = (tmp_path / "report" / "orders.csv").read_text().splitlines()
    header = orders[0].split(",")
    quotes = {
        row.split(",")[header.index("side")]: float(row.split(",")[header.index("price")])
        for row in orders[1:]
    }
    # The maker quoted both sides, outside the last book (best bid 1.9537, ask 1.9538).
    assert quotes["buy"] <= 1.9537 and quotes["sell"] >= 1.9538


def test_the_bybit_zip_imports_again_without_duplicates(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "cat")
    first = import_bybit_ob(cat, BYBIT, "bybit", "XRP/USDT")
    again = import_bybit_ob(cat, BYBIT, "bybit", "XRP/USDT")
    assert first.rows == again.rows
    assert sum(e.rows for e in cat.entries()) == 1_000 + 2_966
    assert again.said == []  # instrument.json as the first import left it: nothing new to say
