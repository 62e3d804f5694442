"""The Parquet catalog: layout, merging writes, and streaming replay."""

from __future__ import annotations

import json
import tracemalloc
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from botkit.backtest.catalog import (
    Catalog,
    bar_interval_ns,
    bars_kind,
    book_at,
    iter_trade_batches,
    replay,
    replay_count,
    to_ns,
)
from botkit.events import Bar, BookDelta, BookSnapshot, Trade
from botkit.model import Side

DAY = to_ns("2024-03-04T00:00:00Z")
SEC = 1_000_000_000
MIN = 60 * SEC
HOUR = 60 * MIN


def trades_df(ts: list[int], first_id: int = 1) -> pd.DataFrame:
    n = len(ts)
    return pd.DataFrame(
        {
            "ts_ns": ts,
            "price": [100.0 + i for i in range(n)],
            "size": [0.5] * n,
            "side": [1 if i % 2 == 0 else 2 for i in range(n)],
            "trade_id": list(range(first_id, first_id + n)),
        }
    )


def snapshot(ts: int, bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> pa.Table:
    rows = [(ts, 0, i, p, s) for i, (p, s) in enumerate(bids)]
    rows += [(ts, 1, i, p, s) for i, (p, s) in enumerate(asks)]
    ts_, side, level, price, size = zip(*rows)
    return pa.table(
        {"ts_ns": ts_, "side": side, "level": level, "price": price, "size": size},
    )


def delta(rows: list[tuple[int, str, float, float]]) -> pa.Table:
    ts, side, price, size = zip(*rows)
    return pa.table({"ts_ns": ts, "side": side, "price": price, "size": size})


def bars(ts: list[int], close: float = 100.0) -> pa.Table:
    n = len(ts)
    return pa.table(
        {
            "ts_ns": ts,
            "open": [close] * n,
            "high": [close + 1] * n,
            "low": [close - 1] * n,
            "close": [close] * n,
            "volume": [2.0] * n,
        }
    )


def events(catalog: Catalog, *args: object, **kwargs: object) -> list[object]:
    return [e for batch in replay(catalog, *args, **kwargs) for e in batch]  # type: ignore[arg-type]


# ---- layout and writing ------------------------------------------------------------------


def test_write_splits_rows_by_utc_day_into_sorted_files(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    late = DAY + 23 * HOUR + 59 * MIN
    # Unsorted input spanning midnight.
    paths = cat.write("sim", "BTC/USDT", "trades", trades_df([late + 2 * MIN, DAY + 5, late, DAY]))

    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "sim/BTC-USDT/trades/2024-03-04.parquet",
        "sim/BTC-USDT/trades/2024-03-05.parquet",
    ]
    day1 = pq.read_table(paths[0])
    assert day1.column("ts_ns").to_pylist() == [DAY, DAY + 5, late]
    assert day1.schema.field("side").type == pa.int8()
    assert [(e.kind, str(e.date), e.rows) for e in cat.entries()] == [
        ("trades", "2024-03-04", 3),
        ("trades", "2024-03-05", 1),
    ]
    # The "/" is gone from the directory name but the symbol is kept in the data.
    assert cat.symbols("sim") == ["BTC/USDT"]


def test_writing_again_merges_without_duplicates(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    cat.write("sim", "BTC/USDT", "trades", trades_df([DAY + 1, DAY + 2, DAY + 3]))
    # Overlapping re-import plus new trades: ids 2 and 3 are the same trades again.
    cat.write("sim", "BTC/USDT", "trades", trades_df([DAY + 2, DAY + 3, DAY + 4], first_id=2))
    ids = [t.trade_id for t in events(cat, "sim", ["BTC/USDT"], kinds=["trades"])]
    assert ids == [1, 2, 3, 4]

    # Bars are keyed by their close time: a rewrite replaces the bar.
    cat.write("sim", "BTC/USDT", "bars_1m", bars([DAY + MIN, DAY + 2 * MIN], close=100.0))
    cat.write("sim", "BTC/USDT", "bars_1m", bars([DAY + 2 * MIN], close=200.0))
    closes = [b.close for b in events(cat, "sim", ["BTC/USDT"], kinds=["bars"])]
    assert closes == [100.0, 200.0]

    # A book event (all rows of one ts_ns) is replaced whole.
    cat.write("sim", "BTC/USDT", "book_deltas", delta([(DAY + 5, "bid", 99.0, 1.0)] * 1))
    cat.write(
        "sim",
        "BTC/USDT",
        "book_deltas",
        delta([(DAY + 5, "bid", 98.0, 2.0), (DAY + 5, "ask", 101.0, 3.0)]),
    )
    (d,) = events(cat, "sim", ["BTC/USDT"], kinds=["book_deltas"])
    assert d == BookDelta(DAY + 5, "BTC/USDT", [(98.0, 2.0)], [(101.0, 3.0)])


def test_string_trade_ids_and_unknown_sides(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    table = pa.table(
        {
            "ts_ns": [DAY + 1, DAY + 2],
            "price": [1.5, 1.6],
            "size": [10.0, 20.0],
            "side": ["buy", None],
            "trade_id": ["a-1", "a-2"],
        }
    )
    cat.write("x", "XRP/ETH", "trades", table)
    got = events(cat, "x", "XRP/ETH")
    assert got == [
        Trade(DAY + 1, "XRP/ETH", 1.5, 10.0, Side.BUY, "a-1"),
        Trade(DAY + 2, "XRP/ETH", 1.6, 20.0, None, "a-2"),
    ]


def test_bad_input_is_refused(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    with pytest.raises(ValueError, match="unknown kind"):
        cat.write("sim", "BTC/USDT", "tickers", trades_df([DAY]))
    with pytest.raises(ValueError, match="missing columns"):
        cat.write("sim", "BTC/USDT", "trades", pd.DataFrame({"ts_ns": [DAY]}))
    with pytest.raises(ValueError, match="invalid side"):
        cat.write("sim", "BTC/USDT", "book_deltas", delta([(DAY, "sideways", 1.0, 1.0)]))
    with pytest.raises(ValueError, match="invalid venue"):
        cat.write("a/b", "BTC/USDT", "trades", trades_df([DAY]))


def test_instrument_rules_are_stored_as_decimal_strings(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    assert cat.instrument("sim", "BTC/USDT") is None
    path = cat.write_instrument(
        "sim",
        "BTC/USDT",
        {"tick_size": Decimal("0.01"), "lot_size": "0.00001", "min_notional": 5, "taker_fee": 0.1},
    )
    assert path == tmp_path / "sim" / "BTC-USDT" / "instrument.json"
    info = cat.instrument("sim", "BTC/USDT")
    assert info == {
        "venue": "sim",
        "symbol": "BTC/USDT",
        "tick_size": "0.01",
        "lot_size": "0.00001",
        "min_notional": "5",
        "taker_fee": "0.1",
    }
    assert json.loads(path.read_text()) == info


def test_bar_kinds_name_their_interval() -> None:
    assert bars_kind(60 * SEC) == "bars_1m"
    assert bars_kind(HOUR) == "bars_1h"
    assert bars_kind(5 * MIN) == "bars_5m"
    assert bars_kind(24 * HOUR) == "bars_1d"
    assert bar_interval_ns("bars_15m") == 15 * MIN
    with pytest.raises(ValueError):
        bar_interval_ns("bars_1M")


# ---- replay ----------------------------------------------------------------------------


def test_replay_merges_kinds_and_symbols_in_time_order_with_fixed_ties(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    t = DAY + MIN  # everything happens at once here
    for sym in ("BTC/USDT", "ETH/USDT"):
        cat.write("sim", sym, "bars_1m", bars([t]))
        cat.write("sim", sym, "trades", trades_df([t, DAY + 2 * MIN]))
        cat.write("sim", sym, "book_deltas", delta([(t, "bid", 99.0, 0.0)]))
        cat.write("sim", sym, "book_snapshots", snapshot(t, [(99.0, 1.0)], [(101.0, 1.0)]))

    got = [
        (type(e).__name__, e.symbol, e.ts_ns - DAY)
        for e in events(cat, "sim", ["ETH/USDT", "BTC/USDT"])
    ]

    # Book snapshot, book delta, trade, bar; each kind in the given symbol order.
    assert got == [
        ("BookSnapshot", "ETH/USDT", MIN),
        ("BookSnapshot", "BTC/USDT", MIN),
        ("BookDelta", "ETH/USDT", MIN),
        ("BookDelta", "BTC/USDT", MIN),
        ("Trade", "ETH/USDT", MIN),
        ("Trade", "BTC/USDT", MIN),
        ("Bar", "ETH/USDT", MIN),
        ("Bar", "BTC/USDT", MIN),
        ("Trade", "ETH/USDT", 2 * MIN),
        ("Trade", "BTC/USDT", 2 * MIN),
    ]
    bar = next(e for e in events(cat, "sim", "BTC/USDT", kinds=["bars"]) if isinstance(e, Bar))
    assert bar.interval_ns == MIN


def test_book_rows_become_events_with_levels_best_first(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    # Rows of one snapshot in any order: the level column orders them.
    snap = snapshot(DAY, [(99.0, 1.0), (98.0, 2.0)], [(101.0, 3.0), (102.0, 4.0)])
    cat.write("sim", "BTC/USDT", "book_snapshots", snap.take([3, 1, 0, 2]))
    cat.write(
        "sim",
        "BTC/USDT",
        "book_deltas",
        delta(
            [
                (DAY + 1, "ask", 101.0, 0.0),
                (DAY + 1, "bid", 100.0, 5.0),
                (DAY + 2, "ask", 103.0, 1.0),
            ]
        ),
    )
    assert events(cat, "sim", ["BTC/USDT"], kinds=["book"]) == [
        BookSnapshot(DAY, "BTC/USDT", [(99.0, 1.0), (98.0, 2.0)], [(101.0, 3.0), (102.0, 4.0)]),
        BookDelta(DAY + 1, "BTC/USDT", [(100.0, 5.0)], [(101.0, 0.0)]),
        BookDelta(DAY + 2, "BTC/USDT", [], [(103.0, 1.0)]),
    ]


def test_small_batches_give_the_same_stream(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    rng = np.random.default_rng(3)
    # Many equal timestamps, so batch edges fall inside groups of equal ts_ns.
    ts = np.sort(DAY + rng.integers(0, 3 * 86_400, 3000) * SEC // 100)
    cat.write("sim", "BTC/USDT", "trades", trades_df(ts.tolist()))
    dts = np.sort(DAY + rng.integers(0, 3 * 86_400, 500) * SEC // 100)
    cat.write(
        "sim",
        "BTC/USDT",
        "book_deltas",
        delta([(int(t), "bid" if i % 3 else "ask", 100.0 + i % 7, 1.0) for i, t in enumerate(dts)]),
    )
    cat.write(
        "sim", "BTC/USDT", "bars_1m", bars(list(range(DAY + MIN, DAY + 3 * 86_400 * SEC, 7 * MIN)))
    )

    whole = events(cat, "sim", ["BTC/USDT"])
    batches = list(replay(cat, "sim", ["BTC/USDT"], batch_rows=16))
    assert [e for b in batches for e in b] == whole
    assert len(batches) > 100
    keys = [(e.ts_ns, {BookDelta: 1, Trade: 2, Bar: 3}[type(e)]) for e in whole]
    assert all(a <= b for a, b in pairwise(keys))
    assert len(whole) == replay_count(cat, "sim", ["BTC/USDT"])


def test_a_window_opens_with_the_book_as_it_stood(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    cat.write("sim", "BTC/USDT", "book_snapshots", snapshot(DAY, [(99.0, 1.0)], [(101.0, 1.0)]))
    cat.write(
        "sim",
        "BTC/USDT",
        "book_deltas",
        delta(
            [
                (DAY + 10, "bid", 100.0, 2.0),
                (DAY + 20, "ask", 101.0, 0.0),
                (DAY + 20, "ask", 100.5, 3.0),
                (DAY + 30, "bid", 99.0, 0.0),
            ]
        ),
    )
    cat.write("sim", "BTC/USDT", "trades", trades_df([DAY + 5, DAY + 25, DAY + 35]))

    got = events(cat, "sim", ["BTC/USDT"], start_ns=DAY + 25, end_ns=DAY + 35)

    assert got[0] == BookSnapshot(DAY + 25, "BTC/USDT", [(100.0, 2.0), (99.0, 1.0)], [(100.5, 3.0)])
    assert [(type(e).__name__, e.ts_ns - DAY) for e in got[1:]] == [
        ("Trade", 25),
        ("BookDelta", 30),
    ]
    assert book_at(cat, "sim", "BTC/USDT", DAY) is None  # nothing before the first snapshot
    assert replay_count(cat, "sim", ["BTC/USDT"], start_ns=DAY, end_ns=DAY + 1_000) == 7


def test_replay_memory_stays_flat(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    n = 100_000
    ts = DAY + np.arange(n, dtype=np.int64) * (2 * 86_400 * SEC // n)  # two day files
    table = pa.table(
        {
            "ts_ns": ts,
            "price": np.round(100 + np.sin(np.arange(n) / 1e3), 2),
            "size": np.full(n, 0.01),
            "side": np.ones(n, dtype=np.int8),
            "trade_id": np.arange(n, dtype=np.int64),
        }
    )
    cat.write("sim", "BTC/USDT", "trades", table)
    del table, ts

    tracemalloc.start()
    try:
        count = 0
        for batch in replay(cat, "sim", ["BTC/USDT"], batch_rows=4096):
            assert len(batch) <= 4096
            count += len(batch)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    # Holding all 100k Trade objects would take over 20 MB; a batch takes under 1.
    assert peak < 6_000_000, f"peak {peak / 1e6:.1f} MB"


# ---- any Parquet file of trades ----------------------------------------------------------------


def test_iter_trade_batches_reads_foreign_trade_files(tmp_path: Path) -> None:
    path = tmp_path / "ticks.parquet"
    n = 1000
    pq.write_table(
        pa.table(
            {
                "ts_event": pa.array(DAY + np.arange(n) * SEC, type=pa.timestamp("ns", "UTC")),
                "price": np.round(30_000 + np.arange(n) * 0.01, 2),
                "size": np.full(n, 0.25),
                "aggressor": np.array([1, 2, 0, 2] * (n // 4), dtype=np.int8),
                "trade_id": np.arange(1, n + 1),
            }
        ),
        path,
    )
    batches = list(iter_trade_batches(path, "BTC/USDT", batch_rows=300))

    assert [len(b) for b in batches] == [300, 300, 300, 100]
    # A batch is a sequence of trades held as columns; slicing keeps it a batch.
    first = batches[0][:3]
    assert list(first) == [
        Trade(DAY, "BTC/USDT", 30_000.0, 0.25, Side.BUY, 1),
        Trade(DAY + SEC, "BTC/USDT", 30_000.01, 0.25, Side.SELL, 2),
        Trade(DAY + 2 * SEC, "BTC/USDT", 30_000.02, 0.25, None, 3),
    ]
    assert all(type(t) is Trade for b in batches for t in b)
    assert batches[1][0] == Trade(DAY + 300 * SEC, "BTC/USDT", 30_003.0, 0.25, Side.BUY, 301)
    assert batches[1].price[:2] == [30_003.0, 30_003.01]  # the columns scan_trades reads

    # Other column names and codes: here 0 means a buyer and there are no ids.
    other = iter_trade_batches(
        path, "X", side_col="aggressor", id_col=None, side_map={0: Side.BUY}, batch_rows=5
    )
    assert [(t.side, t.trade_id) for t in next(other)[:3]] == [
        (None, None),
        (None, None),
        (Side.BUY, None),
    ]
