"""The CSV and book importers on small files written from each provider's documented layout.

Each test is an example of use: import a file, then read back what the catalog
replays, what ``instrument.json`` holds and what the import said.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from import_fixtures import (
    T0,
    T2025,
    binance_aggtrades,
    binance_klines,
    binance_trades,
    bybit_lines,
    ohlcv_csv,
    price,
    save,
    size,
    tardis_book,
    tardis_trades,
)

from botkit.backtest.catalog import Catalog, replay
from botkit.backtest.data_cli import main as data_main
from botkit.backtest.importers import (
    FORMATS,
    ImportRefused,
    import_binance_aggtrades,
    import_binance_klines,
    import_binance_trades,
    import_bybit_ob,
    import_file,
    import_freqtrade_trades,
    import_hftbacktest,
    import_ohlcv_csv,
    import_tardis_book,
    import_tardis_trades,
)
from botkit.events import Bar, BookDelta, BookSnapshot, Trade
from botkit.model import Side

S = 1_000_000_000
MS = 1_000_000


def events(
    cat: Catalog, venue: str, symbol: str, kinds: tuple[str, ...] = ("book", "trades", "bars")
) -> list[object]:
    return [e for batch in replay(cat, venue, [symbol], kinds=kinds) for e in batch]


# ---- data.binance.vision ---------------------------------------------------------------


def test_binance_spot_trades_zipped_without_a_header(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "cat")
    f = save(tmp_path / "BTCUSDT-trades-2024-01-01.zip", binance_trades(20))
    result = import_binance_trades(cat, f, "binance", "BTC/USDT")

    assert result.rows == {"trades": 20}
    assert result.skipped_count == 0
    trades = events(cat, "binance", "BTC/USDT")
    # 1000,42000.00,0.001,...,1704067200000,False,True: the buyer was not the maker.
    assert trades[0] == Trade(T0 * S, "BTC/USDT", 42000.0, 0.001, Side.BUY, 1000)
    assert trades[1] == Trade(
        T0 * S + 250 * MS, "BTC/USDT", float(price(1)), 0.002, Side.SELL, 1001
    )
    inst = cat.instrument("binance", "BTC/USDT")
    assert inst is not None
    assert (inst["kind"], inst["exchange_symbol"]) == ("spot", "BTCUSDT")
    assert (inst["tick_size"], inst["lot_size"]) == ("0.01", "0.001")
    assert inst["inferred"] == ["lot_size", "tick_size"]
    assert any(s.startswith("tick_size 0.01 inferred from the prices") for s in result.said)


def test_binance_usdm_trades_have_a_header_and_are_a_perpetual(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "cat")
    f = save(tmp_path / "BTCUSDT-trades-2024-01-01.csv", binance_trades(10, "usdm"))
    result = import_binance_trades(cat, f, "binance-usdm", "BTC/USDT")
    assert result.rows == {"trades": 10}
    assert cat.instrument("binance-usdm", "BTC/USDT")["kind"] == "perpetual"  # type: ignore[index]
    assert [t.side for t in events(cat, "binance-usdm", "BTC/USDT")][:3] == [
        Side.BUY,
        Side.SELL,
        Side.SELL,
    ]


def test_binance_spot_times_in_microseconds_from_2025(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "cat")
    f = save(tmp_path / "BTCUSDT-aggTrades-2025-01-01.zip", binance_aggtrades(5, t0_s=T2025))
    result = import_binance_aggtrades(cat, f, "binance", "BTC/USDT")
    trades = events(cat, "binance", "BTC/USDT")
    assert [t.ts_ns for t in trades] == [T2025 * S + i * 250 * MS for i in range(5)]
    assert [t.trade_id for t in trades] == [700, 701, 702, 703, 704]  # the aggregate ids
    assert "times read as µs (Binance spot files from 2025 on) since 1970, by their magnitude" in (
        result.said
    )


def test_binance_usdm_aggtrades(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "cat")
    f = save(tmp_path / "ETHUSDT-aggTrades-2024-01.csv", binance_aggtrades(6, "usdm"))
    result = import_binance_aggtrades(cat, f, "binance-usdm", "ETH/USDT")
    assert result.rows == {"trades": 6}
    assert cat.instrument("binance-usdm", "ETH/USDT")["kind"] == "perpetual"  # type: ignore[index]


def test_binance_klines_are_stored_at_their_close(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "cat")
    f = save(tmp_path / "BTCUSDT-1m-2024-01-01.zip", binance_klines(30))
    result = import_binance_klines(cat, f, "binance", "BTC/USDT")
    assert result.rows == {"bars_1m": 30}
    bars = events(cat, "binance", "BTC/USDT")
    first = binance_klines(1)[0].split(",")
    assert bars[0] == Bar((T0 + 60) * S, "BTC/USDT", 60 * S, *(float(x) for x in first[1:6]))
    assert "market spot assumed: it has no header line, as spot files; pass --market to say" in (
        result.said
    )


def test_binance_klines_in_microseconds_and_with_a_header(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "cat")
    spot = save(tmp_path / "BTCUSDT-5m-2025-01-01.csv", binance_klines(4, t0_s=T2025, minutes=5))
    import_binance_klines(cat, spot, "binance", "BTC/USDT")
    assert [b.ts_ns for b in events(cat, "binance", "BTC/USDT")] == [
        (T2025 + 300 * (i + 1)) * S for i in range(4)
    ]
    usdm = save(tmp_path / "BTCUSDT-1h-2024-01-01.csv", binance_klines(3, "usdm", minutes=60))
    result = import_binance_klines(cat, usdm, "binance-usdm", "BTC/USDT", market="usdm")
    assert result.rows == {"bars_1h": 3}
    assert cat.instrument("binance-usdm", "BTC/USDT")["kind"] == "perpetual"  # type: ignore[index]


# ---- Tardis ------------------------------------------------------------------------------


def test_tardis_trades_keep_exchange_and_receive_times_apart(tmp_path: Path) -> None:
    lines = tardis_trades(6)
    lines += tardis_trades(3, symbol="ETHUSDT")[1:]  # a bundle of two symbols
    f = save(tmp_path / "binance-futures_trades_2024-01-01.csv.gz", lines)
    cat = Catalog(tmp_path / "cat")
    result = import_tardis_trades(cat, f, "binance-futures", "BTC/USDT")

    assert result.rows == {"trades": 6}
    assert result.notes["rows_of_other_symbols"] == 3
    trades = events(cat, "binance-futures", "BTC/USDT")
    assert trades[0] == Trade(T0 * S, "BTC/USDT", 42000.0, 0.001, Side.BUY, 9000)
    assert [t.side for t in trades[:3]] == [Side.BUY, Side.SELL, None]  # buy, sell, unknown
    # The receive time (local_timestamp, 3 ms later) is stored beside the exchange's.
    stored = pq.read_table(cat.files("binance-futures", "BTC/USDT", "trades")[0])
    assert stored.column("recv_ns").to_pylist()[:2] == [T0 * S + 3 * MS, T0 * S + 103 * MS]
    inst = cat.instrument("binance-futures", "BTC/USDT")
    assert inst is not None and inst["kind"] == "perpetual"


def test_tardis_exchange_time_before_the_row_above_keeps_file_order(tmp_path: Path) -> None:
    lines = tardis_trades(4)
    fields = lines[3].split(",")  # the third trade: its exchange time 150 ms earlier
    fields[2] = str(int(fields[2]) - 150_000)
    lines[3] = ",".join(fields)
    cat = Catalog(tmp_path / "cat")
    result = import_tardis_trades(cat, save(tmp_path / "t.csv", lines), "tardis", "BTC/USDT")
    assert result.rows == {"trades": 4}
    assert result.notes["exchange_time_kept_in_order"] == 1
    times = [t.ts_ns for t in events(cat, "tardis", "BTC/USDT")]
    assert times == [T0 * S, T0 * S + 100 * MS, T0 * S + 100 * MS, T0 * S + 300 * MS]


def test_tardis_book_rebuilds_with_snapshots_resetting_the_book(tmp_path: Path) -> None:
    lines = tardis_book()
    # An update before the first snapshot, as Tardis files may begin: skipped.
    lines.insert(1, lines[7].replace(f",{T0 * 1_000_000 + 10_000},", f",{T0 * 1_000_000},"))
    f = save(tmp_path / "book.csv.gz", lines)
    cat = Catalog(tmp_path / "cat")
    result = import_tardis_book(cat, f, "tardis", "BTC/USDT")

    assert [str(s) for s in result.skipped] == [
        "line 2: an update before the first snapshot: no book to apply it to"
    ]
    assert (result.notes["snapshots"], result.notes["updates"]) == (2, 4)
    t = T0 * S
    assert events(cat, "tardis", "BTC/USDT") == [
        BookSnapshot(
            t,
            "BTC/USDT",
            [(100.0, 1.0), (99.5, 2.0), (99.0, 3.0)],
            [(100.5, 1.5), (101.0, 2.5), (101.5, 3.5)],
        ),
        BookDelta(t + 10 * MS, "BTC/USDT", [(100.0, 0.0), (99.5, 4.0)], []),
        BookDelta(t + 20 * MS, "BTC/USDT", [], [(100.5, 0.5)]),
        BookDelta(t + 30 * MS, "BTC/USDT", [], [(100.0, 1.0)]),
        BookSnapshot(t + 40 * MS, "BTC/USDT", [(98.0, 1.0), (97.5, 1.0)], [(98.5, 2.0)]),
        BookDelta(t + 50 * MS, "BTC/USDT", [(98.0, 0.25)], []),
    ]
    inst = cat.instrument("tardis", "BTC/USDT")
    assert inst is not None and (inst["tick_size"], inst["lot_size"]) == ("0.5", "0.25")


def test_a_bad_book_row_leaves_the_book_unknown_until_the_next_snapshot(tmp_path: Path) -> None:
    lines = tardis_book()
    lines[8] = lines[8].replace(",4", ",-4")  # the second update row: a negative size
    cat = Catalog(tmp_path / "cat")
    result = import_tardis_book(cat, save(tmp_path / "b.csv", lines), "tardis", "BTC/USDT")
    assert [str(s) for s in result.skipped] == [
        "line 9: amount '-4' must be >= 0",
        "line 10: the book is unknown since line 9; waiting for the next snapshot",
        "line 11: the book is unknown since line 9; waiting for the next snapshot",
    ]
    # The first update's good row stays; the book picks up again at the next snapshot.
    kinds = [type(e).__name__ for e in events(cat, "tardis", "BTC/USDT")]
    assert kinds == ["BookSnapshot", "BookDelta", "BookSnapshot", "BookDelta"]


# ---- Bybit (fixture; the real file is in test_import_real.py) ---------------------------


def test_bybit_skips_a_stale_update_id_and_desyncs_on_a_bad_delta(tmp_path: Path) -> None:
    lines = bybit_lines(6)
    lines[3] = lines[2]  # a repeat of update 102: left out, the book is already past it
    bad = json.loads(lines[5])
    bad["data"]["a"][0][1] = "lots"
    lines[5] = json.dumps(bad)
    cat = Catalog(tmp_path / "cat")
    result = import_bybit_ob(cat, save(tmp_path / "x_ob500.data", lines), "bybit", "XRP/USDT")
    assert [str(s) for s in result.skipped] == [
        "line 4: update id u 102 is not after 102 (a repeat, or out of order)",
        "line 6: data.a[0] size 'lots' is not a number",
        "line 7: the book is unknown since line 6 (skipped); waiting for a snapshot",
    ]
    assert (result.notes["snapshots"], result.notes["deltas"]) == (1, 3)


# ---- OHLCV CSV ---------------------------------------------------------------------------


def test_ohlcv_csv_by_position_with_epoch_seconds_and_close_times(tmp_path: Path) -> None:
    # No header; time in column 5 as seconds since 1970, the bar's close time; ';' separated.
    rows = [
        f"{o};{o + 1};{o - 1};{o + 0.5};7;{T0 + 300 * (i + 1)}"
        for i, o in enumerate((100.0, 100.5, 101.0))
    ]
    f = save(tmp_path / "candles.txt", rows)
    cat = Catalog(tmp_path / "cat")
    result = import_ohlcv_csv(
        cat,
        f,
        "csv",
        "ABC/USD",
        columns="time=5,open=0,high=1,low=2,close=3,volume=4",
        time_is="close",
        delimiter=";",
        lot_size="0.1",
    )
    assert result.rows == {"bars_5m": 3}
    bars = events(cat, "csv", "ABC/USD")
    assert bars[0] == Bar((T0 + 300) * S, "ABC/USD", 300 * S, 100.0, 101.0, 99.0, 100.5, 7.0)
    assert "times read as s since 1970, by their magnitude; pass --time-unit to set it" in (
        result.said
    )
    assert (
        "bar interval 5m inferred from the most common step between bars; pass --interval "
        "to set it" in result.said
    )
    assert cat.instrument("csv", "ABC/USD")["lot_size"] == "0.1"  # type: ignore[index]


def test_ohlcv_csv_with_a_strptime_format_and_quote_volume(tmp_path: Path) -> None:
    rows = [
        "Date,Open,High,Low,Close,Turnover",
        "31/12/2023 23:00,10,12,9,11,330",
        "01/01/2024 00:00,11,11,10,10.5,210",
    ]
    cat = Catalog(tmp_path / "cat")
    result = import_ohlcv_csv(
        cat,
        save(tmp_path / "x_1h.csv", rows),
        "csv",
        "ABC/USD",
        columns="volume=Turnover",
        time_format="%d/%m/%Y %H:%M",
        volume_in="quote",
    )
    bars = events(cat, "csv", "ABC/USD")
    # Bars stamped at open + 1h (the interval from the file name); 330 USD at (12+9+11)/3.
    assert [b.ts_ns for b in bars] == [T0 * S, (T0 + 3600) * S]
    assert bars[0].volume == pytest.approx(330 / (32 / 3))
    assert any(s.startswith("volume was in the quote asset: converted") for s in result.said)
    inst = cat.instrument("csv", "ABC/USD")
    assert inst is not None and inst["lot_size"] == "0.00000001"  # a placeholder, said so
    assert any(s.startswith("lot_size 0.00000001 written as a placeholder") for s in result.said)


# ---- bad rows: imported around, reported by line ----------------------------------------


def _binance_bad(rows: list[str]) -> list[str]:
    rows = list(rows)
    rows[1] = rows[1].replace(price(1), "abc", 1)  # line 2: text in the price column
    f = rows[3].split(",")
    f[4] = str(T0 * 1000 - 1000)  # line 4: a time before the rows above
    rows[3] = ",".join(f)
    rows[5] = rows[5].replace(f",{size(5)},", f",-{size(5)},", 1)  # line 6: negative size
    return rows


def _tardis_bad(rows: list[str]) -> list[str]:
    rows = list(rows)
    rows[2] = rows[2].replace(price(1), "abc")  # line 3 (after the header)
    f = rows[4].split(",")
    f[2] = f[3] = str(T0 * 1_000_000 - 1_000_000)  # line 5: times going backwards
    rows[4] = ",".join(f)
    rows[6] = rows[6].replace(f",{size(5)}", f",-{size(5)}")  # line 7
    return rows


def _ohlcv_bad(rows: list[str]) -> list[str]:
    rows = list(rows)
    rows[2] = rows[2].replace(f",{float(price(1))},", ",abc,", 1)  # line 3: the open
    rows[4] = "2023-12-31 00:00:00.000000" + rows[4][26:]  # line 5: backwards
    f = rows[6].split(",")
    f[5] = "-" + f[5]  # line 7: a negative volume
    rows[6] = ",".join(f)
    return rows


BAD_FILES = {
    "binance-trades": ("BTCUSDT-trades-2024-01-01.csv", binance_trades(10), _binance_bad, 1),
    "tardis-trades": ("trades.csv", tardis_trades(10, "BTCUSDT"), _tardis_bad, 2),
    "ohlcv-csv": ("candles.csv", ohlcv_csv(10), _ohlcv_bad, 2),
}


@pytest.mark.parametrize("fmt", sorted(BAD_FILES))
def test_bad_rows_are_reported_by_line_and_the_good_ones_imported(fmt: str, tmp_path: Path) -> None:
    name, rows, spoil, first = BAD_FILES[fmt]
    f = save(tmp_path / name, spoil(rows))
    cat = Catalog(tmp_path / "cat")
    result = import_file(cat, fmt, f, "v", "BTC/USDT")

    assert sum(result.rows.values()) == 7  # of 10
    lines = [s.line for s in result.skipped]
    assert lines == [first + 1, first + 3, first + 5]
    codes = [s.code for s in result.skipped]
    assert codes == ["bad_value", "time_backwards", "bad_value"]
    text = [str(s) for s in result.skipped]
    assert "'abc' is not a number" in text[0]
    assert "goes backwards" in text[1]
    assert "must be >" in text[2]
    assert result.summary().endswith("skipped: 3 rows")
    assert len(events(cat, "v", "BTC/USDT")) == 7  # and what was written replays


def test_a_file_cut_short_imports_its_complete_lines(tmp_path: Path) -> None:
    whole = save(tmp_path / "whole.csv", tardis_trades(3000))
    cut = tmp_path / "cut.csv.gz"
    save(cut, tardis_trades(3000))
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])  # an interrupted download
    a, b = Catalog(tmp_path / "a"), Catalog(tmp_path / "b")
    import_tardis_trades(a, whole, "v", "BTC/USDT")
    result = import_tardis_trades(b, cut, "v", "BTC/USDT")

    n = result.rows["trades"]
    assert 0 < n < 3000
    # Every trade imported is one of the file's, whole: no half-written last row.
    assert events(b, "v", "BTC/USDT") == events(a, "v", "BTC/USDT")[:n]
    last = result.skipped[-1]
    assert (last.code, last.line) == ("truncated", n + 2)
    assert "is it complete?" in last.reason


def test_the_cli_lists_skipped_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = save(tmp_path / "candles.csv", _ohlcv_bad(ohlcv_csv(10)))
    argv = ["data", "import", "--format", "ohlcv-csv", "--venue", "v", "--symbol", "BTC/USDT"]
    assert data_main([*argv, "--catalog", str(tmp_path / "cat"), str(f)]) == 0
    out = capsys.readouterr().out
    assert "imported candles.csv -> v BTC/USDT: bars_1m: 7 rows, gaps: 3, skipped: 3 rows" in out
    assert "  skipped 3 rows (bad_value 2, time_backwards 1):" in out
    assert "    line 3: open 'abc' is not a number" in out
    assert "    line 7: volume '-15.5' must be >= 0" in out


# ---- mixing markets is refused -------------------------------------------------------------


def test_futures_into_a_symbol_holding_spot_is_refused_unless_forced(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "cat")
    spot = save(tmp_path / "BTCUSDT-trades-2024-01-01.csv", binance_trades(5))
    usdm = save(tmp_path / "um" / "BTCUSDT-trades-2024-01-01.csv", binance_trades(5, "usdm"))
    import_binance_trades(cat, spot, "binance", "BTC/USDT")
    with pytest.raises(
        ImportRefused,
        match=re.escape(
            "holds spot data (instrument.json), and this file is perpetual (trades with 6 "
            "columns are USD-M futures)"
        ),
    ):
        import_binance_trades(cat, usdm, "binance", "BTC/USDT")
    assert sum(e.rows for e in cat.entries()) == 5  # nothing written

    # Under its own venue it is welcome; with force it goes in, and says so.
    import_binance_trades(cat, usdm, "binance-usdm", "BTC/USDT")
    result = import_binance_trades(cat, usdm, "binance", "BTC/USDT", force=True)
    assert result.said[-1].startswith("imported despite: binance BTC/USDT holds spot data")
    assert cat.instrument("binance", "BTC/USDT")["kind"] == "perpetual"  # type: ignore[index]


def test_another_symbol_is_refused(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "cat")
    f = save(tmp_path / "BTCUSDT-aggTrades-2024-01-01.zip", binance_aggtrades(5))
    with pytest.raises(
        ImportRefused,
        match=r"the file is BTCUSDT \(by its file name "
        r"BTCUSDT-aggTrades-2024-01-01.csv\), not ETH/USDT",
    ):
        import_binance_aggtrades(cat, f, "binance", "ETH/USDT")
    bybit = save(tmp_path / "ob.data", bybit_lines(2))
    with pytest.raises(ImportRefused, match=r"the file is XRPUSDT \(by its data\), not BTC/USDT"):
        import_bybit_ob(cat, bybit, "bybit", "BTC/USDT")
    tardis = save(tmp_path / "t.csv", tardis_trades(3, "SOLUSDT"))
    with pytest.raises(ImportRefused, match=re.escape("t.csv holds SOLUSDT, not BTC/USDT")):
        import_tardis_trades(cat, tardis, "tardis", "BTC/USDT")
    assert cat.entries() == []
    # --force files it under the symbol asked for.
    assert import_tardis_trades(cat, tardis, "tardis", "BTC/USDT", force=True).rows == {"trades": 3}


def test_a_kind_mismatch_with_instrument_json_is_refused(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "cat")
    cat.write_instrument(
        "v",
        "BTC/USDT",
        {
            "base": "BTC",
            "quote": "USDT",
            "kind": "future",
            "tick_size": "0.01",
            "lot_size": "0.001",
        },
    )
    f = save(tmp_path / "trades.csv", tardis_trades(4, exchange="binance"))  # a spot exchange
    with pytest.raises(
        ImportRefused,
        match=re.escape(
            "v BTC/USDT holds future data (instrument.json), and this file is spot "
            "(Tardis exchange binance)"
        ),
    ):
        import_tardis_trades(cat, f, "v", "BTC/USDT")
    with pytest.raises(ImportRefused, match="--kind perpetual, but Tardis exchange binance"):
        import_tardis_trades(cat, f, "w", "BTC/USDT", kind="perpetual")


def test_the_market_flag_must_match_the_columns(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "cat")
    f = save(tmp_path / "BTCUSDT-trades-2024-01-01.csv", binance_trades(4))
    with pytest.raises(
        ImportRefused,
        match=re.escape(
            "--market usdm, but BTCUSDT-trades-2024-01-01.csv is a spot file (trades with 7 "
            "columns are spot)"
        ),
    ):
        import_binance_trades(cat, f, "binance", "BTC/USDT", market="usdm")
    with pytest.raises(
        ValueError,
        match="is a Binance trades file by its name: import it with --format binance-trades",
    ):
        import_binance_klines(cat, f, "binance", "BTC/USDT")


def test_a_grid_given_by_flag_is_kept_and_checked(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "cat")
    f = save(tmp_path / "BTCUSDT-trades-2024-01-01.csv", binance_trades(8))
    import_binance_trades(cat, f, "binance", "BTC/USDT", tick_size="0.01", lot_size="0.001")
    assert "inferred" not in cat.instrument("binance", "BTC/USDT")  # type: ignore[operator]
    with pytest.raises(
        ImportRefused, match=re.escape("--tick-size 0.1 differs from the tick_size 0.01")
    ):
        import_binance_trades(cat, f, "binance", "BTC/USDT", tick_size="0.1")
    # Prices off the stored grid: another market, or a changed tick size.
    rows = binance_trades(3, t0_s=T0 + 86_400)
    rows[0] = rows[0].replace("42000.00", "42000.005")
    finer = save(tmp_path / "d2" / "BTCUSDT-trades-2024-01-02.csv", rows)
    with pytest.raises(
        ImportRefused,
        match=re.escape(
            "the prices are on a grid of 0.005, off the tick_size 0.01 in instrument.json"
        ),
    ):
        import_binance_trades(cat, finer, "binance", "BTC/USDT")


def test_an_inferred_grid_is_refined_by_later_files(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "cat")
    coarse = ["exchange,symbol,timestamp,local_timestamp,id,side,price,amount"] + [
        f"binance,BTCUSDT,{(T0 + i) * 1_000_000},{(T0 + i) * 1_000_000},{i},buy,{p},1"
        for i, p in enumerate(("100.5", "101", "102.5"))
    ]
    import_tardis_trades(cat, save(tmp_path / "a.csv", coarse), "v", "BTC/USDT")
    assert cat.instrument("v", "BTC/USDT")["tick_size"] == "0.5"  # type: ignore[index]
    result = import_tardis_trades(
        cat,
        save(tmp_path / "b.csv", tardis_trades(5, exchange="binance", t0_s=T0 + 60)),
        "v",
        "BTC/USDT",
    )
    assert cat.instrument("v", "BTC/USDT")["tick_size"] == "0.01"  # type: ignore[index]
    assert result.said[0].startswith("tick_size 0.01 inferred (was 0.5")


def test_assumptions_stay_marked_and_placeholders_give_way(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "cat")
    quote_volume = save(tmp_path / "a" / "candles_1m.csv", ohlcv_csv(5))
    import_ohlcv_csv(cat, quote_volume, "v", "BTC/USDT", volume_in="quote")
    inst = cat.instrument("v", "BTC/USDT") or {}
    assert (inst["kind"], inst["lot_size"]) == ("spot", "0.00000001")
    assert inst["inferred"] == ["kind", "lot_size", "tick_size"]
    # Later bars of the same market: still assumptions, still said to be.
    later = save(tmp_path / "b" / "candles_1m.csv", ohlcv_csv(5, t0_s=T0 + 600))
    import_ohlcv_csv(cat, later, "v", "BTC/USDT", volume_in="quote")
    assert (cat.instrument("v", "BTC/USDT") or {})["inferred"] == ["kind", "lot_size", "tick_size"]
    # Trades of it show the real lot size, which replaces the placeholder.
    trades = save(tmp_path / "t.csv", tardis_trades(5, exchange="binance", t0_s=T0 + 3600))
    import_tardis_trades(cat, trades, "v", "BTC/USDT")
    inst = cat.instrument("v", "BTC/USDT") or {}
    assert (inst["kind"], inst["lot_size"]) == ("spot", "0.001")


def test_the_cli_refuses_with_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = save(tmp_path / "BTCUSDT-trades-2024-01-01.zip", binance_trades(5))
    base = ["data", "import", "--catalog", str(tmp_path / "cat"), "--venue", "binance"]
    argv = [*base, "--format", "binance-trades", "--symbol", "ETH/USDT", str(f)]
    assert data_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {f}: refused to import into binance ETH/USDT: the file is ")
    assert "or pass --force to import it anyway" in err
    assert data_main([*argv[:-1], "--force", str(f)]) == 0

    # A flag of another format is a mistake, named.
    argv = [*base, "--format", "binance-trades", "--symbol", "BTC/USDT", "--columns", "time=0"]
    assert data_main([*argv, str(f)]) == 2
    assert "error: --columns applies only to --format ohlcv-csv" in capsys.readouterr().err


def test_import_help_names_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        data_main(["data", "import", "--help"])
    out = capsys.readouterr().out
    for fmt in FORMATS:
        assert f"\n  {fmt} " in out
    assert "--volume-in {base,quote}" in out and "--market {spot,usdm}" in out


# ---- every importer writes instrument.json -------------------------------------------------


def test_freqtrade_trades_write_instrument_json(tmp_path: Path) -> None:
    rows = [
        [(T0 + i) * 1000, str(50 + i), None, "buy", 0.00141342 + i * 1e-8, 23.0 + i, 0.1]
        for i in range(4)
    ]
    f = tmp_path / "XRP_ETH-trades.json"
    f.write_text(json.dumps(rows))
    cat = Catalog(tmp_path / "cat")
    result = import_freqtrade_trades(cat, f, "binance", "XRP/ETH")
    assert cat.instrument("binance", "XRP/ETH") == {
        "venue": "binance",
        "symbol": "XRP/ETH",
        "base": "XRP",
        "quote": "ETH",
        "kind": "spot",
        "exchange_symbol": "XRP/ETH",
        "tick_size": "0.00000001",
        "lot_size": "1",
        "inferred": ["lot_size", "tick_size"],
    }
    assert result.said == [
        "tick_size 0.00000001 inferred from the prices (the coarsest grid they all lie on); "
        "pass --tick-size to set it",
        "lot_size 1 inferred from the trade sizes (the coarsest grid they all lie on); "
        "pass --lot-size to set it",
    ]


def test_hftbacktest_futures_feed_is_refused_under_a_spot_symbol(tmp_path: Path) -> None:
    t = T0 * 1000

    def line(msg: dict[str, object], stream: str = "btcusdt@trade") -> str:
        return f"{t * MS} " + json.dumps({"stream": stream, "data": msg})

    trade = {
        "e": "trade",
        "E": t,
        "T": t,
        "s": "BTCUSDT",
        "t": 1,
        "p": "100.1",
        "q": "0.5",
        "m": True,
    }
    spot = save(tmp_path / "spot.gz", [line(trade)])
    futures = save(tmp_path / "usdm.gz", [line(trade | {"X": "MARKET"})])
    cat = Catalog(tmp_path / "cat")
    import_hftbacktest(cat, spot, "binance", "BTC/USDT")
    with pytest.raises(
        ImportRefused,
        match=re.escape(
            "holds spot data (instrument.json), and this file is perpetual (a Binance USD-M "
            "futures feed"
        ),
    ):
        import_hftbacktest(cat, futures, "binance", "BTC/USDT")
    assert import_hftbacktest(cat, futures, "binance-usdm", "BTC/USDT").rows["trades"] == 1


def test_decimal_flags_are_checked(tmp_path: Path) -> None:
    f = save(tmp_path / "BTCUSDT-trades-2024-01-01.csv", binance_trades(3))
    with pytest.raises(ValueError, match="--tick-size must be a decimal > 0"):
        import_binance_trades(Catalog(tmp_path / "c"), f, "b", "BTC/USDT", tick_size="-1")
    with pytest.raises(ValueError, match="--lot-size 'x' is not a decimal number"):
        import_binance_trades(Catalog(tmp_path / "c"), f, "b", "BTC/USDT", lot_size="x")
