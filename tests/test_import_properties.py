"""Property tests: a file with randomly spoiled rows never crashes an importer.

Each example takes a good file of one format, spoils some of its data lines
(a field replaced by text, a sign, nan, a huge number, a field dropped or
added, a line duplicated, swapped or replaced by garbage) and imports it. The
import either works, and then every data line was imported or reported by its
line number (and what it wrote replays through the catalog's checks), or it
fails as a whole with a ValueError naming the file, writing nothing.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from import_fixtures import (
    binance_aggtrades,
    binance_klines,
    binance_trades,
    bybit_lines,
    ohlcv_csv,
    save,
    tardis_book,
    tardis_trades,
)

from botkit.backtest.catalog import Catalog, replay
from botkit.backtest.importers import ImportResult, import_file

# format -> (file name, good lines, whether line 1 is a header). Line 1 is never spoiled:
# a header is the format's, and a headerless file's first row tells its layout.
CSV_FILES: dict[str, tuple[str, list[str], bool]] = {
    "ohlcv-csv": ("candles_1m.csv", ohlcv_csv(12), True),
    "binance-trades": ("BTCUSDT-trades-2024-01-01.csv", binance_trades(12), False),
    "binance-aggtrades": ("BTCUSDT-aggTrades-2024-01-01.csv", binance_aggtrades(12, "usdm"), True),
    "binance-klines": ("BTCUSDT-1m-2024-01-01.csv", binance_klines(12), False),
    "tardis-trades": ("trades.csv", tardis_trades(12), True),
    "tardis-book": ("book.csv", tardis_book(), True),
}
ONE_ROW_PER_LINE = {
    "ohlcv-csv",
    "binance-trades",
    "binance-aggtrades",
    "binance-klines",
    "tardis-trades",
}

# No quote or line break: a quote would join CSV lines, and the property counts lines.
TEXT = st.text(st.characters(exclude_characters='"\r\n', exclude_categories=("Cs",)), max_size=8)
VALUES = (
    st.sampled_from(
        [
            "",
            "abc",
            "-1",
            "0",
            "-0.5",
            "nan",
            "inf",
            "1e309",
            "99999999999999999999",
            "1",
            "4000000000",
            "True",
            "bid",
            "buy",
            "\u00e9",
        ]
    )
    | TEXT
)
OPS = st.sampled_from(["field", "field", "field", "drop", "add", "blank", "dup", "swap", "garbage"])


def spoil(lines: list[str], skip: int, data: st.DataObject) -> list[str]:
    lines = list(lines)
    for _ in range(data.draw(st.integers(1, 4), label="spoils")):
        i = data.draw(st.integers(skip, len(lines) - 1), label="line")
        op = data.draw(OPS, label="op")
        fields = lines[i].split(",")
        j = data.draw(st.integers(0, len(fields) - 1), label="field")
        if op == "field":
            fields[j] = data.draw(VALUES, label="value")
            lines[i] = ",".join(fields)
        elif op == "drop":
            del fields[j]
            lines[i] = ",".join(fields)
        elif op == "add":
            lines[i] = lines[i] + "," + data.draw(VALUES, label="extra")
        elif op == "blank":
            lines[i] = ""
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap" and i + 1 < len(lines):
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
        elif op == "garbage":
            lines[i] = data.draw(TEXT, label="garbage").replace(",", ";")
    return lines


@contextmanager
def imported(
    fmt: str, name: str, lines: list[str]
) -> Iterator[tuple[Catalog, ImportResult | None]]:
    """Import ``lines`` as file ``name`` into a fresh catalog (removed afterwards); the
    result is None when the import failed as a whole, as it may, cleanly."""
    with tempfile.TemporaryDirectory(prefix="prop-") as tmp:
        root = Path(tmp)
        path = save(root / name, lines)
        cat = Catalog(root / "cat")
        try:
            result = import_file(cat, fmt, path, "v", "BTC/USDT")
        except ValueError as e:
            assert name in str(e) or "refused" in str(e), e
            assert cat.entries() == [], "a failed import wrote rows"
            result = None
        yield cat, result


def check(cat: Catalog, result: ImportResult, lines: list[str]) -> int:
    """What holds for every import; returns the number of events the catalog replays."""
    reported = [s.line for s in result.skipped]
    assert len(reported) == len(set(reported)), "a line reported twice"
    assert all(1 <= n <= len(lines) for n in reported)
    # What was written passes every check the replay makes (sorted times, prices > 0...).
    return sum(len(batch) for batch in replay(cat, "v", ["BTC/USDT"]))


@settings(max_examples=30, deadline=None)
@given(fmt=st.sampled_from(sorted(CSV_FILES)), data=st.data())
def test_spoiled_csv_rows_are_imported_or_reported(fmt: str, data: st.DataObject) -> None:
    name, good, header = CSV_FILES[fmt]
    lines = spoil(good, 1, data)
    with imported(fmt, name, lines) as (cat, result):
        if result is None:
            return
        replayed = check(cat, result, lines)
        imported_rows = sum(result.rows.values())
    if fmt in ONE_ROW_PER_LINE:
        data_lines = sum(1 for line in lines[header:] if line.replace(",", "").strip())
        other = result.notes.get("rows_of_other_symbols", 0)
        assert imported_rows + result.skipped_count + other == data_lines
        assert replayed == imported_rows
    else:
        assert (replayed > 0) == (imported_rows > 0)


def spoil_json(lines: list[str], data: st.DataObject) -> list[str]:
    lines = list(lines)
    for _ in range(data.draw(st.integers(1, 4), label="spoils")):
        i = data.draw(st.integers(0, len(lines) - 1), label="line")
        try:
            msg: dict[str, Any] = json.loads(lines[i])
        except ValueError:
            msg = {}  # a line spoiled before
        where = data.draw(st.sampled_from(["ts", "u", "s", "type", "level", "cut", "garbage"]))
        value = data.draw(st.one_of(VALUES, st.integers(-5, 10**20), st.none(), st.just([])))
        if where == "cut":
            lines[i] = lines[i][: data.draw(st.integers(0, max(0, len(lines[i]) - 1)))]
            continue
        if where == "garbage" or not isinstance(msg, dict) or "data" not in msg:
            lines[i] = data.draw(TEXT)
            continue
        if where == "ts":
            msg["ts"] = value
        elif where == "type":
            msg["type"] = value
        elif where in ("u", "s"):
            msg["data"][where] = value
        else:
            side = data.draw(st.sampled_from(["b", "a"]))
            if msg["data"][side]:
                msg["data"][side][0][data.draw(st.integers(0, 1))] = value
        lines[i] = json.dumps(msg)
    return lines


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_spoiled_bybit_lines_are_imported_or_reported(data: st.DataObject) -> None:
    lines = spoil_json(bybit_lines(8), data)
    with imported("bybit-ob", "x_ob500.data", lines) as (cat, result):
        if result is None:
            return
        replayed = check(cat, result, lines)
    used = result.notes["snapshots"] + result.notes["deltas"]
    assert used + result.skipped_count == sum(1 for line in lines if line.strip())
    assert replayed == used
