"""``botkit data list``, ``data bars`` and ``data check`` on small catalogs written here,
and on real recordings from ``../shared/data/real`` imported in place.

Catalog files that are broken on purpose (time going backwards, a repeated trade
id) are written with pyarrow directly: ``Catalog.write`` sorts and merges, so it
cannot make them.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SHARED

from botkit.backtest.catalog import Catalog, replay, to_ns
from botkit.backtest.catalog_check import check_catalog
from botkit.backtest.catalog_tools import build_bars, summarize
from botkit.backtest.data_cli import main as data_main
from botkit.backtest.importers import import_file

REAL = SHARED / "data" / "real"
S = 1_000_000_000
MIN = 60 * S
T0 = to_ns("2024-01-01T00:00:00Z")
DAY = 86_400 * S


def trades_table(times_s: list[float], prices: list[float], sizes: list[float] | None = None,
                 ids: list[int] | None = None) -> pa.Table:  # fmt: skip
    n = len(times_s)
    return pa.table(
        {
            "ts_ns": [T0 + round(t * S) for t in times_s],
            "price": prices,
            "size": sizes or [1.0] * n,
            "side": [1] * n,
            "trade_id": ids or list(range(1, n + 1)),
        }
    )


def bars_table(closes_min: list[int], price: float = 100.0) -> pa.Table:
    n = len(closes_min)
    return pa.table(
        {
            "ts_ns": [T0 + m * MIN for m in closes_min],
            "open": [price] * n,
            "high": [price + 1] * n,
            "low": [price - 1] * n,
            "close": [price] * n,
            "volume": [2.0] * n,
        }
    )


def bars(cat: Catalog, venue: str, symbol: str, kind: str) -> list[tuple[float, ...]]:
    return [
        (b.ts_ns, b.open, b.high, b.low, b.close, b.volume)
        for batch in replay(cat, venue, [symbol], kinds=(kind,))
        for b in batch
    ]


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """Real recordings, imported once: the Binance spot capture (trades, book, quotes),
    and Binance ETH/USDT 5m and 1h klines under two venues (to compare them)."""
    cat = Catalog(tmp_path_factory.mktemp("real") / "catalog")
    import_file(cat, "hftbacktest", REAL / "hftbacktest/spot/btcusdt_20240808.gz", "binance",
                "BTC/USDT")  # fmt: skip
    import_file(cat, "ohlcv-json", REAL / "nostalgiaforinfinity/ETH_USDT-5m.json", "klines5m",
                "ETH/USDT")  # fmt: skip
    import_file(cat, "ohlcv-json", REAL / "nostalgiaforinfinity/ETH_USDT-1h.json", "klines1h",
                "ETH/USDT")  # fmt: skip
    return cat


# ---- list ---------------------------------------------------------------------------------------


@pytest.fixture
def gappy(tmp_path: Path) -> Catalog:
    """Trades with a 5-minute silence and a day without a file; 1m bars missing 3 slots."""
    cat = Catalog(tmp_path / "catalog")
    cat.write("demo", "ABC/USD", "trades", trades_table([0, 10, 20, 320, 330], [100.0] * 5))
    cat.write("demo", "ABC/USD", "trades", trades_table([2 * 86_400], [101.0], ids=[6]))
    cat.write("demo", "ABC/USD", "bars_1m", bars_table([1, 2, 3, 7, 8, 9, 10]))
    cat.write_instrument("demo", "ABC/USD", {"base": "ABC", "quote": "USD", "kind": "spot",
                                             "tick_size": "0.01", "lot_size": "0.001"})  # fmt: skip
    return cat


def test_list_gives_range_rows_and_gaps_per_kind(
    gappy: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    trades, bars_1m = summarize(gappy)
    assert (trades.kind, trades.rows, trades.days) == ("trades", 6, 2)
    assert (trades.first_ns, trades.last_ns) == (T0, T0 + 2 * DAY)
    # Silences over 60s: 20s -> 320s, and the day without a file.
    assert trades.gaps == 2 and trades.longest_gap_ns == 2 * DAY - 330 * S
    # Bars closing 00:04, 00:05 and 00:06 are missing.
    assert (bars_1m.kind, bars_1m.rows, bars_1m.gaps, bars_1m.longest_gap_ns) == (
        "bars_1m", 7, 3, 3 * MIN
    )  # fmt: skip

    root = str(gappy.root)
    assert data_main(["data", "list", "--catalog", root]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == [
        *("venue", "symbol", "kind", "from", "to", "days", "rows", "gaps", "longest", "MB")
    ]
    assert out[1].split()[:9] == [
        *("demo", "ABC/USD", "trades", "2024-01-01T00:00:00Z", "2024-01-03T00:00:00Z"),
        *("2", "6", "2", "1d23h"),
    ]
    assert out[2].split()[:9] == [
        *("demo", "ABC/USD", "bars_1m", "2024-01-01T00:01:00Z", "2024-01-01T00:10:00Z"),
        *("1", "7", "3", "3m"),
    ]
    assert out[3].startswith("gaps: missing bar slots in bars; silences over 1m (--gap)")

    # A longer threshold: the 5-minute silence is no gap; --no-gaps reads footers only.
    assert data_main(["data", "list", "--catalog", root, "--kind", "trades", "--gap", "10m"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[7] == "1"
    assert data_main(["data", "list", "--catalog", root, "--no-gaps"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[7:9] for line in lines[1:]] == [["-", "-"], ["-", "-"]]
    assert data_main(["data", "list", "--catalog", root, "--gap", "soon"]) == 2
    assert "'soon' is not a duration" in capsys.readouterr().err


def test_list_on_real_klines_counts_binances_missing_hours(real: Catalog) -> None:
    found = {(k.venue, k.kind): k for k in summarize(real)}
    # The shared data's README: 11 hours missing in the 1h file, 177 slots in the 5m file.
    one_h = found[("klines1h", "bars_1h")]
    assert (one_h.rows, one_h.gaps, one_h.longest_gap_ns) == (5_482, 11, 3 * 3600 * S)
    assert found[("klines5m", "bars_5m")].gaps == 177
    trades = found[("binance", "trades")]
    assert (trades.rows, trades.gaps) == (9_757, 0)
    assert trades.first_ns == 1_723_161_255_342 * 1_000_000  # the first trade's T
    assert found[("binance", "book_snapshots")].gaps is None


# ---- bars ---------------------------------------------------------------------------------------


def test_bars_from_trades_close_at_the_interval_end_and_fill_quiet_minutes(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "catalog")
    times = [5, 20, 40, 59.999, 120, 150]  # none in the second minute; 120 opens the third
    cat.write("demo", "ABC/USD", "trades",
              trades_table(times, [10, 12, 9, 11, 13, 12.5], [1, 2, 1, 0.5, 1, 1]))  # fmt: skip
    result = build_bars(cat, "demo", "ABC/USD", "1m")
    assert (result.kind, result.bars, result.filled, result.replaced) == ("bars_1m", 3, 1, 0)
    assert bars(cat, "demo", "ABC/USD", "bars_1m") == [
        (T0 + 1 * MIN, 10, 12, 9, 11, 4.5),
        (T0 + 2 * MIN, 11, 11, 11, 11, 0.0),  # flat at the previous close
        (T0 + 3 * MIN, 13, 13, 12.5, 12.5, 2.0),
    ]
    # Built again: the same bars, replacing themselves.
    assert build_bars(cat, "demo", "ABC/USD", "1m").replaced == 3

    skipped = build_bars(cat, "demo", "ABC/USD", "1m", empty="skip")
    assert (skipped.bars, skipped.gaps_left) == (2, 1)


def test_bars_never_fill_a_day_without_a_source_file(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "catalog")
    cat.write("demo", "ABC/USD", "trades",
              trades_table([86_400 - 30, 2 * 86_400 + 30], [10.0, 11.0]))  # fmt: skip
    result = build_bars(cat, "demo", "ABC/USD", "1m")
    assert (result.bars, result.filled, result.gaps_left) == (2, 0, 1)
    # With a trade on the day between, the market was there all along: every minute is a bar.
    cat.write("demo", "ABC/USD", "trades", trades_table([1.5 * 86_400], [10.5], ids=[3]))
    result = build_bars(cat, "demo", "ABC/USD", "1m")
    assert (result.bars, result.gaps_left) == (1442, 0)
    assert result.filled == 1442 - 3


def test_bars_from_real_trades_match_a_pandas_resample(real: Catalog) -> None:
    result = build_bars(real, "binance", "BTC/USDT", "1m")
    got = bars(real, "binance", "BTC/USDT", "bars_1m")
    assert result.bars == len(got) == 7  # 23:54:15 .. 00:00:01
    table = pq.read_table(real.files("binance", "BTC/USDT", "trades"))
    df = table.select(["ts_ns", "price", "size"]).to_pandas()
    df.index = pd.to_datetime(df.pop("ts_ns"), utc=True)
    want = df["price"].resample("1min", closed="left", label="right").ohlc()
    want["volume"] = df["size"].resample("1min", closed="left", label="right").sum()
    assert [g[0] for g in got] == [t.value for t in want.index]
    assert [g[1:5] for g in got] == [
        tuple(r) for r in want[["open", "high", "low", "close"]].values
    ]
    assert np.allclose([g[5] for g in got], want["volume"].values, rtol=1e-12)


def test_bars_are_the_same_however_the_trades_are_read(real: Catalog, tmp_path: Path) -> None:
    whole = build_bars(real, "binance", "BTC/USDT", "1s")
    expected = bars(real, "binance", "BTC/USDT", "bars_1s")
    # Chunks of 7 rows: bars go on across chunks, and so do the quiet intervals.
    cut = build_bars(real, "binance", "BTC/USDT", "1s", batch_rows=7)
    assert (cut.bars, cut.filled, cut.replaced) == (whole.bars, whole.filled, whole.bars)
    got = bars(real, "binance", "BTC/USDT", "bars_1s")
    assert [b[:5] for b in got] == [b[:5] for b in expected]
    assert np.allclose([b[5] for b in got], [b[5] for b in expected], rtol=1e-12)  # sum order
    assert whole.filled > 0 and whole.bars == 347


def test_hourly_bars_from_real_5m_klines_match_binances_own_1h(real: Catalog) -> None:
    result = build_bars(real, "klines5m", "ETH/USDT", "1h", source="bars_5m")
    assert result.gaps_left == 6 and result.filled == 0  # missing bars stay missing
    made = {b[0]: b for b in bars(real, "klines5m", "ETH/USDT", "bars_1h")}
    theirs = {b[0]: b for b in bars(real, "klines1h", "ETH/USDT", "bars_1h")}
    # The 5m file runs 70 minutes past the 1h one: one more (partial) hour.
    assert set(made) - set(theirs) == {to_ns("2021-07-17T22:00:00Z")}
    assert set(theirs) <= set(made) and len(theirs) == 5_482
    assert all(made[t][1:5] == theirs[t][1:5] for t in theirs)
    # The shared data's README: volumes match but for 3 hours of Binance's own data.
    differ = sorted(t for t in theirs if not math.isclose(made[t][5], theirs[t][5], rel_tol=1e-9))
    assert differ == [to_ns(t) for t in (
        "2021-04-22T03:00:00Z", "2021-04-23T02:00:00Z", "2021-04-23T03:00:00Z"
    )]  # fmt: skip


def test_the_bars_command(gappy: Catalog, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["data", "bars", "--catalog", str(gappy.root), "--venue", "demo", "--symbol", "ABC/USD"]
    assert data_main([*argv, "--interval", "1m"]) == 0
    out = capsys.readouterr().out
    # Trades in the minutes 0 and 5 of day 1, then at day 3's first instant.
    assert out == (
        "demo ABC/USD: bars_1m: 7 bars from trades, closing 2024-01-01T00:01:00Z to "
        "2024-01-03T00:01:00Z; 4 flat (empty intervals); 1 gap left empty (no source file "
        "that day); 3 existing bars replaced\n"
    )
    assert data_main([*argv, "--interval", "5m", "--from-kind", "bars_1m"]) == 0
    assert "bars_5m: 3 bars from bars_1m" in capsys.readouterr().out
    assert data_main([*argv, "--interval", "1m", "--from-kind", "bars_5m"]) == 2
    assert "must be a longer multiple" in capsys.readouterr().err
    assert data_main([*argv, "--interval", "1m", "--from-kind", "quotes"]) == 2
    assert "expected trades or a bars kind" in capsys.readouterr().err


# ---- check --------------------------------------------------------------------------------------


def test_check_passes_the_sample_and_a_real_binance_capture(
    small_catalog: Path, real: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    assert data_main(["data", "check", "--catalog", str(small_catalog)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].endswith(": 0 errors; 0 warnings")

    # Book rebuilt from the snapshot and 3,449 diffs: never crossed; quotes never crossed;
    # every price on the 0.01 tick and every trade size on the lot.
    rows = 0
    for kind in ("trades", "quotes", "book_snapshots", "book_deltas"):
        report = check_catalog(real, venue="binance", kind=kind)
        assert report.findings == [] and report.errors == 0
        rows += report.rows
    assert rows == 9_757 + 28_040 + 2_000 + 124_073


def test_check_warns_of_each_outage_in_real_klines(
    real: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    report = check_catalog(real, venue="klines1h")
    gaps = [(f.path.stem, f.row, f.message.split(":")[0]) for f in report.findings if f.path]
    assert gaps == [
        ("2020-12-21", 16, "3 bars missing"),
        ("2020-12-25", 3, "1 bar missing"),
        ("2021-02-11", 5, "1 bar missing"),
        ("2021-03-06", 3, "1 bar missing"),
        ("2021-04-20", 3, "2 bars missing"),
        ("2021-04-25", 6, "3 bars missing"),
    ]
    assert all(f.level == "warning" and f.code == "gap" for f in report.findings)
    argv = ["data", "check", "--catalog", str(real.root), "--venue", "klines1h"]
    assert data_main(argv) == 0  # gaps are warnings
    assert "none closes between 2020-12-21T15:00:00Z and 2020-12-21T19:00:00Z" in (
        capsys.readouterr().out
    )
    assert data_main([*argv, "--strict"]) == 1


def write_raw(cat: Catalog, kind: str, day: str, columns: dict[str, list[object]]) -> Path:
    """A day file as it lies, unsorted and unmerged (a hand-edited or foreign file)."""
    path = cat.path("demo", "ABC/USD", kind, date.fromisoformat(day))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return path


def test_check_reports_every_problem_with_its_file_and_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cat = Catalog(tmp_path / "catalog")
    cat.write_instrument("demo", "ABC/USD", {"base": "ABC", "quote": "USD", "kind": "spot",
                                             "tick_size": "0.01", "lot_size": "0.001"})  # fmt: skip
    s = [T0 + i * S for i in range(10)]
    day1 = write_raw(cat, "trades", "2024-01-01", {
        "ts_ns": [s[0], s[2], s[1], s[3], s[4], s[5], s[5] + 200 * S],
        "price": [100.0, 100.01, 100.02, 100.005, 100.0, 100.0, 100.0],
        "size": [1.0, 1.0, 1.0, 1.0, 0.0015, 1.0, 1.0],
        "side": [1, 2, 1, 1, 2, 1, 1],
        "trade_id": [1, 2, 3, 4, 5, 2, 7],
    })  # fmt: skip
    day2 = write_raw(cat, "trades", "2024-01-02", {
        "ts_ns": [T0 + DAY], "price": [100.0], "size": [1.0], "side": [1], "trade_id": [7],
    })  # fmt: skip
    snaps1 = write_raw(cat, "book_snapshots", "2024-01-01", {
        "ts_ns": [s[0]] * 2, "side": [0, 1], "level": [0, 0], "price": [100.0, 100.5],
        "size": [1.0, 1.0],
    })  # fmt: skip
    snaps2 = write_raw(cat, "book_snapshots", "2024-01-02", {
        "ts_ns": [T0 + DAY] * 2, "side": [0, 1], "level": [0, 0], "price": [101.0, 100.5],
        "size": [1.0, 1.0],
    })  # fmt: skip
    deltas = write_raw(cat, "book_deltas", "2024-01-01", {
        "ts_ns": [s[1], s[2], s[2], s[3], s[4]],
        "side": [0, 0, 1, 0, 1],
        "price": [100.2, 100.6, 101.0, 100.6, 101.0],  # rows 1-2: the bid crosses the ask
        "size": [1.0, 1.0, 2.0, 0.0, 0.0],  # row 3 removes it
    })  # fmt: skip
    quotes = write_raw(cat, "quotes", "2024-01-01", {
        "ts_ns": s[:3], "bid": [100.0, 100.5, 100.0], "bid_size": [1.0] * 3,
        "ask": [100.5, 100.5, 100.5], "ask_size": [1.0] * 3, "recv_ns": s[:3],
    })  # fmt: skip

    report = check_catalog(cat)
    found = {(f.code, f.path, f.row) for f in report.findings}
    assert found == {
        ("time_backwards", day1, 2),
        ("off_tick", day1, 3),
        ("off_lot", day1, 4),
        ("duplicate_trade_id", day1, 5),  # repeats row 1
        ("gap", day1, 6),  # 200 s without a trade
        ("duplicate_trade_id", day2, 0),  # id 7 is also in day 1
        ("gap", day2, 0),
        ("crossed_book", snaps2, 0),
        ("crossed_book", deltas, 1),  # the delta event of rows 1-2
        ("crossed_quote", quotes, 1),
    }
    assert snaps1 not in {f.path for f in report.findings}
    assert (report.errors, report.warnings) == (8, 2)
    text = [str(f) for f in report.findings]
    assert (
        f"error: {snaps2}, row 0: the book snapshot at 2024-01-02T00:00:00Z is crossed: "
        "best bid 101.0 >= best ask 100.5"
    ) in text
    assert (
        f"error: {deltas}, row 1: the book is crossed after the delta at 2024-01-01T00:00:02Z: "
        "best bid 100.6 >= best ask 100.5"
    ) in text
    assert (
        f"error: {day1}, row 3: price 100.005 is not a multiple of tick_size 0.01 (instrument.json)"
    ) in text
    assert (
        f"error: {day1}, row 2: time goes backwards: 2024-01-01T00:00:01Z after "
        "2024-01-01T00:00:02Z"
    ) in text

    assert data_main(["data", "check", "--catalog", str(cat.root)]) == 1
    out = capsys.readouterr().out
    assert f"error: {day1}, row 5: trade id 2 repeats row 1" in out
    assert f"error: {day2}, row 0: trade id 7 is also in {day1}" in out
    assert out.splitlines()[-1] == (
        "checked 6 files, 20 rows: 8 errors (crossed_book 2, crossed_quote 1, "
        "duplicate_trade_id 2, off_lot 1, off_tick 1, time_backwards 1); 2 warnings (gap 2)"
    )
    # One kind only; the book rebuild can be left out.
    only = check_catalog(cat, kind="book_deltas", book=False)
    assert only.findings == [] and only.files == 1


def test_check_lists_a_few_findings_of_a_kind_per_file_and_counts_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cat = Catalog(tmp_path / "catalog")
    cat.write("demo", "ABC/USD", "trades", trades_table(list(range(25)), [100.001] * 25))
    cat.write_instrument("demo", "ABC/USD", {"tick_size": "0.01", "lot_size": "1"})
    argv = ["data", "check", "--catalog", str(cat.root), "--max-listed", "3"]
    assert data_main(argv) == 1
    path = cat.files("demo", "ABC/USD", "trades")[0]
    wrong = "price 100.001 is not a multiple of tick_size 0.01 (instrument.json)"
    assert capsys.readouterr().out.splitlines() == [
        *(f"error: {path}, row {row}: {wrong}" for row in range(3)),
        f"  ... and 22 more off_tick in {path}",
        "checked 1 file, 25 rows: 25 errors (off_tick 25); 0 warnings",
    ]


def test_check_names_an_unreadable_file_and_an_empty_filter(
    gappy: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    path = gappy.files("demo", "ABC/USD", "bars_1m")[0]
    path.write_bytes(b"PAR1 cut short")
    assert data_main(["data", "check", "--catalog", str(gappy.root)]) == 1
    assert f"error: {path}: is not a readable Parquet file" in capsys.readouterr().out
    assert data_main(["data", "check", "--catalog", str(gappy.root), "--venue", "nope"]) == 2
    assert "holds no files for nope" in capsys.readouterr().err
