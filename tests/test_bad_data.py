"""A damaged catalog file is one clear error naming the file and row: never a
traceback, never a plausible but wrong backtest.

Each test corrupts one file of a copy of a small sample catalog the way files
get damaged in practice (a copy cut short, an edit in pandas, a unit mistake)
and runs `botkit backtest` on it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from botkit.backtest.catalog import BOOK_DELTAS, BOOK_SNAPSHOTS, TRADES, Catalog
from botkit.backtest.checks import CatalogError
from botkit.cli import main


def day_file(bot: Path, kind: str) -> Path:
    (path,) = Catalog(bot.parent / "data").files("sim", "BTC/USDT", kind)
    return path


def rewrite(path: Path, change: Callable[[pa.Table], pa.Table]) -> None:
    pq.write_table(change(pq.read_table(path)), path)


def set_column(table: pa.Table, name: str, values: pa.Array | np.ndarray) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, name, pa.array(values))


def backtest(bot: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["backtest", str(bot), "--no-progress", "--out", str(bot.parent / "report")])
    return code, capsys.readouterr().err


def assert_clear_error(
    code: int, err: str, path: Path, *words: str, row: int | None = None
) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    assert str(path) in err, err
    if row is not None:
        assert f"row {row}:" in err, err
    for word in words:
        assert word in err, err
    assert "botkit data import" in err  # the fix
    assert len(err.strip().splitlines()) == 1, err


def test_the_uncorrupted_copy_runs(bot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = backtest(bot, capsys)
    assert code == 0, err


def test_a_truncated_parquet_file(bot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = day_file(bot, TRADES)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    code, err = backtest(bot, capsys)
    assert_clear_error(code, err, path, "not a readable Parquet file", "truncated")


def test_an_empty_parquet_file(bot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = day_file(bot, BOOK_DELTAS)
    path.write_bytes(b"")
    code, err = backtest(bot, capsys)
    assert_clear_error(code, err, path, "is empty (0 bytes)")


def test_a_renamed_column(bot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = day_file(bot, TRADES)
    rewrite(path, lambda t: t.rename_columns(["px" if n == "price" else n for n in t.schema.names]))
    code, err = backtest(bot, capsys)
    assert_clear_error(code, err, path, "has no column 'price'", "px")


def test_prices_written_as_text(bot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = day_file(bot, TRADES)
    rewrite(path, lambda t: set_column(t, "price", t.column("price").cast(pa.string())))
    code, err = backtest(bot, capsys)
    assert_clear_error(code, err, path, "column 'price' holds string values, expected numbers")


def test_a_null_price(bot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = day_file(bot, TRADES)

    def null_at_7(t: pa.Table) -> pa.Table:
        prices = t.column("price").to_pylist()
        prices[7] = None
        return set_column(t, "price", pa.array(prices, pa.float64()))

    rewrite(path, null_at_7)
    code, err = backtest(bot, capsys)
    assert_clear_error(code, err, path, "'price' is empty (null)", row=7)


def test_shuffled_timestamps(bot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = day_file(bot, TRADES)
    order = np.random.default_rng(1).permutation(pq.read_metadata(path).num_rows)
    rewrite(path, lambda t: t.take(pa.array(order)))
    code, err = backtest(bot, capsys)
    assert_clear_error(code, err, path, "timestamps go backwards", "sorted by ts_ns")


def test_a_nan_price(bot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = day_file(bot, TRADES)

    def nan_at_100(t: pa.Table) -> pa.Table:
        prices = t.column("price").to_numpy().copy()
        prices[100] = np.nan
        return set_column(t, "price", prices)

    rewrite(path, nan_at_100)
    code, err = backtest(bot, capsys)
    assert_clear_error(code, err, path, "'price' is nan, must be a finite number > 0", row=100)


def test_shuffled_book_deltas(bot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Shuffled deltas once replayed "fine" into a wrong book (and 190 times the fills).
    path = day_file(bot, BOOK_DELTAS)
    order = np.random.default_rng(2).permutation(pq.read_metadata(path).num_rows)
    rewrite(path, lambda t: t.take(pa.array(order)))
    code, err = backtest(bot, capsys)
    assert_clear_error(code, err, path, "timestamps go backwards")


def test_a_crossed_book_snapshot(bot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = day_file(bot, BOOK_SNAPSHOTS)
    # Bids and asks swapped in the first snapshot: its best bid is above its best ask.
    first = pq.read_table(path).column("ts_ns")[0].as_py()

    def swap_sides(t: pa.Table) -> pa.Table:
        ts, side = t.column("ts_ns").to_numpy(), t.column("side").to_numpy().copy()
        side[ts == first] = 1 - side[ts == first]
        return set_column(t, "side", side.astype(np.int8))

    rewrite(path, swap_sides)
    code, err = backtest(bot, capsys)
    assert_clear_error(code, err, path, f"snapshot at ts_ns {first}", "is crossed")


def test_a_negative_price(bot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = day_file(bot, BOOK_DELTAS)

    def negative_at_3(t: pa.Table) -> pa.Table:
        prices = t.column("price").to_numpy().copy()
        prices[3] = -prices[3]
        return set_column(t, "price", prices)

    rewrite(path, negative_at_3)
    code, err = backtest(bot, capsys)
    assert_clear_error(code, err, path, "must be a finite number > 0", row=3)


def test_a_timestamp_near_the_int64_limit(bot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Once a 32 s run into a MemoryError (an equity clock running to the year 2262).
    path = day_file(bot, TRADES)
    last = pq.read_metadata(path).num_rows - 1

    def far_future(t: pa.Table) -> pa.Table:
        ts = t.column("ts_ns").to_numpy().copy()
        ts[last] = np.iinfo(np.int64).max - 5
        return set_column(t, "ts_ns", ts)

    rewrite(path, far_future)
    code, err = backtest(bot, capsys)
    assert_clear_error(code, err, path, "is not a time between 2000 and 2100", row=last)


def test_a_bar_whose_high_is_below_its_close(bot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = day_file(bot, "bars_1m")

    def low_high(t: pa.Table) -> pa.Table:
        high = t.column("high").to_numpy().copy()
        high[2] = t.column("close")[2].as_py() - 1
        return set_column(t, "high", high)

    rewrite(path, low_high)
    code, err = backtest(bot, capsys)
    assert_clear_error(code, err, path, "do not contain its open/close", row=2)


def test_the_error_is_a_value_error_for_code_that_reads_the_catalog(bot: Path) -> None:
    from botkit.backtest.catalog import replay

    path = day_file(bot, TRADES)
    path.write_bytes(b"not parquet at all")
    with pytest.raises(CatalogError) as caught:
        list(replay(Catalog(bot.parent / "data"), "sim", "BTC/USDT"))
    assert caught.value.path == path
    assert isinstance(caught.value, ValueError)


def test_data_list_names_a_damaged_file(bot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = day_file(bot, TRADES)
    path.write_bytes(b"")
    code = main(["data", "list", "--catalog", str(bot.parent / "data")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{path}: is empty (0 bytes)" in err and "Traceback" not in err


def test_writing_into_a_damaged_day_file_names_it(bot: Path) -> None:
    path = day_file(bot, TRADES)
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(CatalogError) as caught:
        # A trade on the same day: it has to be merged into the damaged file.
        Catalog(bot.parent / "data").write(
            "sim",
            "BTC/USDT",
            TRADES,
            pa.table({"ts_ns": [1_709_510_400_000_000_001], "price": [1.0], "size": [1.0]}),
        )
    assert caught.value.path == path
    assert "Delete the file and import its day again" in str(caught.value)
