"""The report's fast paths over spilled fills and orders give what the per-record
paths give: CSV rows formatted column by column from the spilled Arrow tables, and
one shared pass over time-ordered fills for the totals, attribution, exposure and
price chart."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from test_report import sample_result, with_starting_btc
from test_spill import _fill, _order

from botkit.backtest import report
from botkit.backtest.report import (
    _ChartPoints,
    _fill_row,
    _fill_rows,
    _order_row,
    _order_rows,
    _summarize,
    iso_column,
    iso_utc,
    render_price_png,
    summarize,
)
from botkit.backtest.result import BacktestResult
from botkit.backtest.spill import (
    OrderArchive,
    SpillChain,
    SpillLog,
    appended_in_time_order,
    fill_log,
    fill_tables,
    in_time_order,
    order_tables,
    orders_in_order,
)
from botkit.model import Fill, Order

T0 = 1_704_067_200 * 10**9


def _rows(tables: object, formatter: object) -> list[list[str]]:
    return [list(row) for table in tables for row in formatter(table)]  # type: ignore[attr-defined, operator]


def _spilled(tmp_path: Path, fills: list[Fill], rows: int) -> SpillLog[Fill]:
    log = fill_log(tmp_path, rows=rows)
    log.extend(fills)
    return log


@pytest.mark.parametrize("rows", [1, 3, 10**6])
@pytest.mark.parametrize("shuffled", [False, True])
def test_fill_rows_from_tables_are_the_rows_of_the_fills(
    tmp_path: Path, rows: int, shuffled: bool
) -> None:
    """Awkward Decimals, None venue ids, two fee assets; parts that follow each other
    in time (read as they are) and parts that overlap (merged, then encoded)."""
    times = [T0 + (i * 7919 % 23 if shuffled else i // 2) for i in range(23)]
    fills = [_fill(i, ts) for i, ts in enumerate(times)]
    log = _spilled(tmp_path, fills, rows)
    expected = [_fill_row(f) for f in in_time_order(fills)]
    assert _rows(fill_tables(fills), _fill_rows) == expected
    assert _rows(fill_tables(log), _fill_rows) == expected
    assert (log.in_order_tables() is None) == (shuffled and rows < len(fills))


def test_fill_rows_of_a_log_with_a_replaced_fill(tmp_path: Path) -> None:
    fills = [_fill(i, T0 + i) for i in range(9)]
    log = _spilled(tmp_path, fills, 2)
    log[3] = fills[3] = fills[3]._replace(price=Decimal("7.50"), venue_order_id=None)
    assert log.in_order_tables() is None
    assert _rows(fill_tables(log), _fill_rows) == [_fill_row(f) for f in fills]


@pytest.mark.parametrize("rows", [2, 10**6])
@pytest.mark.parametrize("late", [False, True])
def test_order_rows_from_tables_are_the_rows_of_the_orders(
    tmp_path: Path, rows: int, late: bool
) -> None:
    """An archive and the orders still held; with ``late``, a held order created
    before the archived ones end (merged, not chained)."""
    orders = [_order(i, T0 + 10 * i) for i in range(11)]
    archive = OrderArchive(tmp_path, rows=rows)
    archive.extend(orders[:8])
    held: list[Order] = orders[8:]
    if late:
        held = [*held, replace(_order(11, T0 + 15), client_id="c-late")]
    chained = SpillChain(archive, held)
    expected = [_order_row(o) for o in orders_in_order([*orders[:8], *held])]
    assert _rows(order_tables(chained), _order_rows) == expected
    assert _rows(order_tables([*orders[:8], *held]), _order_rows) == expected
    assert (chained.in_order_tables() is None) == late


def test_iso_column_is_iso_utc() -> None:
    times = [0, 999, 1_000, T0, T0 + 123_456_789, -1, -1_001, 4_102_444_800 * 10**9 - 1]
    assert iso_column(times) == [iso_utc(t) for t in times]


def test_appended_in_time_order(tmp_path: Path) -> None:
    ordered = [_fill(i, T0 + i // 3) for i in range(20)]
    assert appended_in_time_order(ordered)
    assert appended_in_time_order(_spilled(tmp_path / "a", ordered, 4))
    assert appended_in_time_order(_spilled(tmp_path / "b", ordered, 10**6))
    assert appended_in_time_order([])
    # A fill earlier than the one before it: inside a part, across parts, in the tail.
    for n, at in enumerate((2, 4, 18)):
        fills = list(ordered)
        fills[at] = fills[at]._replace(ts_ns=T0 - 1)
        assert not appended_in_time_order(fills)
        assert not appended_in_time_order(_spilled(tmp_path / f"c{n}", fills, 4))
    log = _spilled(tmp_path / "d", ordered, 4)
    log[1] = ordered[1]
    assert not appended_in_time_order(log)  # replaced: read back from memory, item by item


def _spilled_result(tmp_path: Path, result: BacktestResult, rows: int) -> BacktestResult:
    result.fills = _spilled(tmp_path, list(result.fills), rows)
    return result


@pytest.mark.parametrize("rows", [1, 2, 10**6])
@pytest.mark.parametrize("btc", [None, "0.1"])
def test_one_pass_gives_what_a_pass_each_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: int, btc: str | None
) -> None:
    result = sample_result()
    if btc is not None:
        result = with_starting_btc(result, btc)
    result = _spilled_result(tmp_path, result, rows)
    assert appended_in_time_order(result.fills)
    chart = _ChartPoints(max_panels=6)
    shared, charted = _summarize(result, chart.add)
    assert charted
    shared_png = render_price_png(result, chart=chart)
    # The same with a pass per reader, as for fills not appended in time order.
    monkeypatch.setattr(report, "appended_in_time_order", lambda fills: False)
    apart, charted = _summarize(result, _ChartPoints(max_panels=6).add)
    assert not charted
    assert shared == apart == summarize(result)
    assert shared_png == render_price_png(result)


def test_fills_out_of_time_order_are_read_a_pass_each(tmp_path: Path) -> None:
    result = sample_result()
    result.fills = list(reversed(result.fills))
    assert not appended_in_time_order(result.fills)
    summary, charted = _summarize(result, _ChartPoints(max_panels=6).add)
    assert not charted
    assert summary == summarize(sample_result())
