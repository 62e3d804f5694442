"""The backtest output folder: summary.json, CSVs, the chart, the HTML page, the stdout table."""

from __future__ import annotations

import csv
import itertools
import json
import re
import statistics
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from botkit.backtest.report import (
    benchmark_lines,
    entries_and_exits,
    format_table,
    money,
    write_report,
)
from botkit.backtest.result import BacktestResult
from botkit.model import (
    Fill,
    Instrument,
    Liquidity,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeInForce,
)

D = Decimal
S = 10**9
T0 = 1_704_067_200 * S  # 2024-01-01T00:00:00Z
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BTC_USDT = Instrument("sim", "BTC-USDT", "BTC", "USDT", tick_size="0.01", lot_size="0.0001")


def make_fill(
    sec: int,
    strategy: str,
    side: Side,
    price: str,
    size: str,
    fee: str,
    liquidity: Liquidity = Liquidity.MAKER,
    fee_asset: str = "USDT",
) -> Fill:
    return Fill(
        trade_id=f"T{sec}",
        client_id=f"{strategy}-{sec}",
        symbol="BTC-USDT",
        side=side,
        price=D(price),
        size=D(size),
        fee=D(fee),
        fee_asset=fee_asset,
        liquidity=liquidity,
        ts_ns=T0 + sec * S,
        venue_order_id=f"V{sec}",
        strategy=strategy,
    )


def make_order(
    sec: int,
    strategy: str,
    side: Side,
    price: str,
    size: str,
    status: OrderStatus,
    filled: str = "0",
    code: str | None = None,
) -> Order:
    return Order(
        client_id=f"{strategy}-{sec}",
        symbol="BTC-USDT",
        side=side,
        type=OrderType.LIMIT,
        size=D(size),
        price=D(price),
        tif=TimeInForce.GTC,
        post_only=strategy == "mm",
        strategy=strategy,
        status=status,
        filled=D(filled),
        avg_price=D(price) if filled != "0" else None,
        created_ns=T0 + sec * S,
        updated_ns=T0 + sec * S + 5,
        code=code,
        reason=None if code is None else f"rejected: {code}",
    )


def sample_result() -> BacktestResult:
    """Two strategies on one symbol over a minute, equity sampled every 15 s.

    mm buys 0.1 @ 20000 and sells it @ 20050 (+5 realised); trend buys
    0.05 @ 20100 and still holds it, marked at 20200 (+5 unrealised).
    """
    fills = [
        make_fill(10, "mm", Side.BUY, "20000", "0.1", "0.2"),
        make_fill(20, "trend", Side.BUY, "20100", "0.05", "0.5025", Liquidity.TAKER),
        make_fill(30, "mm", Side.SELL, "20050", "0.1", "0.2005"),
    ]
    orders = [
        make_order(9, "mm", Side.BUY, "20000", "0.1", OrderStatus.FILLED, "0.1"),
        make_order(19, "trend", Side.BUY, "20100", "0.05", OrderStatus.FILLED, "0.05"),
        make_order(29, "mm", Side.SELL, "20050", "0.1", OrderStatus.FILLED, "0.1"),
        make_order(31, "mm", Side.BUY, "19000", "0.1", OrderStatus.CANCELED),
        make_order(
            32, "mm", Side.BUY, "1", "0.001", OrderStatus.REJECTED, code="below_min_notional"
        ),
    ]
    return BacktestResult(
        strategies=["mm", "trend"],
        quote_asset="USDT",
        initial_equity=D("1000"),
        final_equity=D("1009.097"),
        start_ns=T0,
        end_ns=T0 + 60 * S,
        events=120_000,
        wall_s=2.0,
        fills=fills,
        orders=orders,
        rejects=Counter({"below_min_notional": 2, "post_only_would_cross": 1}),
        equity=[
            (T0, D("1000")),
            (T0 + 15 * S, D("1010")),
            (T0 + 30 * S, D("990")),
            (T0 + 45 * S, D("1020")),
            (T0 + 60 * S, D("1009.097")),
        ],
        positions={
            ("mm", "BTC-USDT"): Position("BTC-USDT", D("0"), D("0"), D("5.0")),
            ("trend", "BTC-USDT"): Position("BTC-USDT", D("0.05"), D("20100"), D("0")),
        },
        marks={"BTC-USDT": D("20200")},
        balances={"USDT": D("1009.097")},
        initial_balances={"USDT": D("1000")},
        initial_marks={"BTC-USDT": D("20000")},
        prices={"BTC-USDT": [(T0 + i * 15 * S, 20000.0 + 50 * i) for i in range(5)]},
        instruments={"BTC-USDT": BTC_USDT},
    )


def with_starting_btc(result: BacktestResult, btc: str = "0.1") -> BacktestResult:
    """The same run on an account that also starts with ``btc`` BTC, which it never
    trades: every equity figure rises by the BTC's value at that moment's price."""
    amount = D(btc)
    prices = dict(result.prices["BTC-USDT"])
    result.initial_balances["BTC"] = amount
    result.initial_equity += amount * result.initial_marks["BTC-USDT"]
    result.final_equity += amount * result.marks["BTC-USDT"]
    result.equity = [(t, v + amount * D(repr(prices[t]))) for t, v in result.equity]
    return result


def empty_result(initial: str = "1000") -> BacktestResult:
    return BacktestResult(
        strategies=["idle"],
        quote_asset="USDT",
        initial_equity=D(initial),
        final_equity=D(initial),
        start_ns=T0,
        end_ns=T0,
        events=0,
        wall_s=0.0,
        equity=[(T0, D(initial))],
    )


@pytest.fixture
def report(tmp_path: Path) -> tuple[dict, Path]:
    out = tmp_path / "run"
    return write_report(sample_result(), out), out


# ---------------------------------------------------------------- summary


def test_summary_json_is_written_and_matches_the_returned_dict(report: tuple[dict, Path]) -> None:
    summary, out = report
    assert json.loads((out / "summary.json").read_text()) == summary


def test_money_is_exact_decimal_strings(report: tuple[dict, Path]) -> None:
    summary, _ = report
    assert summary["pnl"] == "9.097"
    assert summary["initial_equity"] == "1000"
    assert summary["final_equity"] == "1009.097"
    # 0.2 + 0.5025 + 0.2005
    assert D(summary["fees"]) == D("0.903")
    # 2000 + 1005 + 2005
    assert D(summary["volume"]) == D("5010")
    assert summary["return"] == pytest.approx(0.009097)
    assert summary["turnover"] == pytest.approx(5.01)


def test_counts_and_rejects_by_reason(report: tuple[dict, Path]) -> None:
    summary, _ = report
    assert summary["orders"] == 5
    assert summary["fills"] == 3
    assert summary["rejects"] == {
        "total": 3,
        "by_reason": {"below_min_notional": 2, "post_only_would_cross": 1},
    }
    assert summary["events"] == 120_000
    assert summary["events_per_s"] == pytest.approx(60_000)
    assert summary["start"] == "2024-01-01T00:00:00.000000Z"
    assert summary["end"] == "2024-01-01T00:01:00.000000Z"


def test_a_one_minute_run_shows_no_ratio_but_says_why(report: tuple[dict, Path]) -> None:
    summary, _ = report
    assert summary["sharpe"] is None and summary["sortino"] is None
    assert summary["daily_returns"] == 1
    assert summary["sharpe_caveat"] == (
        "not shown: run covers 0.0 h (1 daily return); Sharpe needs >= 30 daily returns"
    )
    assert "Sortino needs >= 30 daily returns" in summary["sortino_caveat"]


def test_ratios_of_a_long_run_come_from_daily_returns(tmp_path: Path) -> None:
    # 40 days, equity sampled every 6 hours; only the midnight values count.
    day = 86_400 * S
    daily = [D(1000) + D(7 * (i % 5)) - D(3 * (i % 3)) + D(i) for i in range(41)]
    equity = []
    for i, value in enumerate(daily):
        equity.append((T0 + i * day, value))
        if i < 40:  # intraday noise the daily ratios must not see
            equity += [(T0 + i * day + h * 3600 * S, value + D(50)) for h in (6, 12, 18)]
    result = empty_result()
    result.equity = equity
    result.end_ns = equity[-1][0]
    result.final_equity = daily[-1]
    summary = write_report(result, tmp_path)

    r = [float(b / a) - 1 for a, b in itertools.pairwise(daily)]
    assert summary["daily_returns"] == 40 and summary["periods_per_year"] == 365
    assert summary["sharpe"] == pytest.approx(statistics.mean(r) / statistics.stdev(r) * 365**0.5)
    downside = (sum(min(x, 0) ** 2 for x in r) / len(r)) ** 0.5
    assert summary["sortino"] == pytest.approx(statistics.mean(r) / downside * 365**0.5)
    assert summary["sharpe_caveat"].startswith(
        "from 40 daily returns (UTC days), annualised with 365 days, zero risk-free rate; "
        "standard error about +-"
    )


def test_max_drawdown_says_what_it_is_measured_on(report: tuple[dict, Path]) -> None:
    summary, _ = report
    dd = summary["max_drawdown"]
    assert dd["measured_on"].startswith("account equity in USDT including the starting holdings")
    assert dd["fraction"] == pytest.approx(20 / 1010)
    assert dd["absolute"] == "20"
    assert dd["peak"] == "2024-01-01T00:00:15.000000Z"
    assert dd["trough"] == "2024-01-01T00:00:30.000000Z"


def test_exposure(report: tuple[dict, Path]) -> None:
    summary, _ = report
    # Something is held from 10 s to the end at 60 s.
    assert summary["exposure"]["time_fraction"] == pytest.approx(50 / 60)
    # Gross value / latest equity sample, marked at the last fill price:
    lev = (
        2000 / 1000 * 5  # [10, 15): mm 0.1 @ 20000
        + 2000 / 1010 * 5  # [15, 20)
        + 0.15 * 20100 / 1010 * 10  # [20, 30): mm 0.1 + trend 0.05 @ 20100
        + 0.05 * 20050 / 990 * 15  # [30, 45): trend only, last fill 20050
        + 0.05 * 20050 / 1020 * 15  # [45, 60)
    ) / 60
    assert summary["exposure"]["avg_gross_leverage"] == pytest.approx(lev)


def test_per_strategy_numbers(report: tuple[dict, Path]) -> None:
    summary, _ = report
    mm = summary["per_strategy"]["mm"]
    assert (mm["fills"], mm["orders"]) == (2, 4)
    assert D(mm["volume"]) == D("4005")
    assert D(mm["fees"]) == D("0.4005")
    assert D(mm["realized_pnl_gross"]) == D("5")
    assert D(mm["realized_pnl_net"]) == D("4.5995")  # 5 - 0.4005
    assert D(mm["strategy_pnl"]) == D("4.5995")
    assert mm["positions"]["BTC-USDT"]["size"] == "0"

    trend = summary["per_strategy"]["trend"]
    assert (trend["fills"], trend["orders"]) == (1, 1)
    assert D(trend["volume"]) == D("1005")
    assert trend["fees"] == "0.5025"
    assert D(trend["realized_pnl_gross"]) == 0
    assert D(trend["realized_pnl_net"]) == D("-0.5025")
    assert D(trend["unrealized_pnl"]) == D("5")  # 0.05 x (20200 - 20100)
    assert D(trend["strategy_pnl"]) == D("4.4975")
    pos = trend["positions"]["BTC-USDT"]
    assert (pos["size"], pos["avg_price"], pos["mark"]) == ("0.05", "20100", "20200")


def test_strategy_pnl_and_holdings_drift_add_up_to_the_equity_change(
    report: tuple[dict, Path],
) -> None:
    summary, _ = report
    assert summary["strategy_pnl"]["by_strategy"] == {"mm": "4.5995", "trend": "4.4975"}
    assert summary["strategy_pnl"]["total"] == "9.097"
    assert summary["holdings_drift"]["total"] == "0"
    assert summary["equity_change"] == summary["pnl"] == "9.097"
    assert summary["unexplained"] == "0"


def test_starting_holdings_drift_is_kept_out_of_strategy_pnl(tmp_path: Path) -> None:
    summary = write_report(with_starting_btc(sample_result(), "0.1"), tmp_path)
    # The strategies did what they did without the BTC: the same 9.097.
    assert summary["strategy_pnl"]["total"] == "9.097"
    assert summary["strategy_pnl"]["by_strategy"] == {"mm": "4.5995", "trend": "4.4975"}
    # 0.1 BTC from 20000 to 20200.
    assert summary["holdings_drift"]["total"] == "20"
    assert summary["holdings_drift"]["holdings"] == [
        {
            "asset": "BTC",
            "amount": "0.1",
            "symbol": "BTC-USDT",
            "start_price": "20000",
            "end_price": "20200",
            "drift": "20",
        }
    ]
    change = D(summary["equity_change"])
    assert change == D("29.097")
    assert change == D(summary["strategy_pnl"]["total"]) + D(summary["holdings_drift"]["total"])
    assert summary["unexplained"] == "0"
    assert summary["valuation"] == (
        "amounts in USDT; other assets valued at the last price (trade, or bar close on "
        "bar data) "
        "(BTC-USDT 20000 at the start, 20200 at the end)"
    )


def test_benchmarks_say_what_they_hold(tmp_path: Path) -> None:
    summary = write_report(with_starting_btc(sample_result(), "0.1"), tmp_path)
    bench = summary["benchmark"]
    held = bench["hold_starting_balances"]
    assert (held["final_equity"], held["pnl"]) == ("3020", "20")  # 1000 USDT + 0.1 BTC @ 20200
    assert held["what"].startswith("the starting balances held untouched")
    bh = bench["buy_and_hold"]
    # 3000 USDT of starting equity in BTC at 20000 is 0.15 BTC, worth 3030 at 20200.
    assert (bh["symbol"], bh["start_price"], bh["end_price"]) == ("BTC-USDT", "20000", "20200")
    assert (D(bh["final_equity"]), D(bh["pnl"]), bh["return"]) == (D(3030), D(30), 0.01)
    assert bh["what"] == (
        "the starting equity (3000 USDT) put into BTC at the first BTC-USDT price (20000) "
        "with no fee and held to the last (20200)"
    )


def test_benchmark_lines_follow_the_price_at_each_equity_sample() -> None:
    lines = benchmark_lines(with_starting_btc(sample_result(), "0.1"))
    assert set(lines) == {"buy and hold BTC", "starting balances held"}
    held = [v for _, v in lines["starting balances held"]]
    assert held == pytest.approx([3000, 3005, 3010, 3015, 3020])  # 0.1 BTC, +50 a sample
    bh = [v for _, v in lines["buy and hold BTC"]]
    assert bh == pytest.approx([3000 * p / 20000 for p in (20000, 20050, 20100, 20150, 20200)])


def test_entries_and_exits_follow_each_strategys_own_position() -> None:
    fills = [
        make_fill(1, "a", Side.BUY, "100", "2", "0"),  # opens long: entry
        make_fill(2, "b", Side.SELL, "100", "1", "0"),  # b opens short: entry
        make_fill(3, "a", Side.BUY, "101", "1", "0"),  # adds: entry
        make_fill(4, "a", Side.SELL, "102", "1", "0"),  # reduces: exit
        make_fill(5, "a", Side.SELL, "103", "4", "0"),  # flips through zero: exit
        make_fill(6, "a", Side.BUY, "99", "2", "0"),  # closes the short: exit
    ]
    marked = [(f.strategy, f.ts_ns, entry) for f, entry in entries_and_exits(fills)]
    assert [entry for _, _, entry in marked] == [True, True, True, False, False, False]


def test_the_report_draws_entries_and_exits_on_the_price(report: tuple[dict, Path]) -> None:
    _, out = report
    assert (out / "price.png").read_bytes().startswith(PNG_SIGNATURE)
    page = (out / "report.html").read_text()
    assert "<h2>Entries and exits</h2>" in page
    assert 'alt="price with each strategy&#x27;s entries and exits"' in page


def test_a_run_without_fills_has_no_price_chart(tmp_path: Path) -> None:
    write_report(empty_result(), tmp_path)
    assert not (tmp_path / "price.png").exists()
    assert "Entries and exits" not in (tmp_path / "report.html").read_text()


def test_printed_amounts_are_rounded_to_the_asset_json_stays_exact(tmp_path: Path) -> None:
    result = sample_result()
    summary = write_report(result, tmp_path)
    assert summary["display_decimals"] == {"BTC": 4, "USDT": 2}
    assert summary["per_strategy"]["trend"]["fees"] == "0.5025"
    assert money("0.5025", "USDT", summary["display_decimals"]) == "0.50"
    assert money("0.00005", "BTC", summary["display_decimals"]) == "0.0000"  # half to even
    assert money("-0.001", "USDT", {"USDT": 2}) == "0.00"  # never "-0.00"
    assert money("9.097", "USDT", {"USDT": 2}, sign=True) == "+9.10"
    assert money("0.123456789", "ETH", {}) == "0.12345679"  # no precision known: 8 decimals
    page = (tmp_path / "report.html").read_text()
    assert ">0.50<" in page and "0.5025" not in page.split("<h2>Fills")[0]


def test_fees_in_other_assets_are_listed_not_converted(tmp_path: Path) -> None:
    result = sample_result()
    result.fills.append(
        make_fill(40, "trend", Side.BUY, "20000", "0.01", "0.00001", fee_asset="BTC")
    )
    summary = write_report(result, tmp_path)
    assert D(summary["fees"]) == D("0.903")
    assert summary["fees_by_asset"] == {"BTC": "0.00001", "USDT": "0.903"}
    assert summary["per_strategy"]["trend"]["fees_by_asset"]["BTC"] == "0.00001"


# ------------------------------------------------------------------- CSVs


def test_fills_csv(report: tuple[dict, Path]) -> None:
    _, out = report
    with (out / "fills.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3
    assert list(rows[0]) == [
        "ts",
        "ts_ns",
        "strategy",
        "symbol",
        "side",
        "price",
        "size",
        "fee",
        "fee_asset",
        "liquidity",
        "trade_id",
        "client_id",
        "venue_order_id",
    ]
    first = rows[0]
    assert first["ts"] == "2024-01-01T00:00:10.000000Z"
    assert int(first["ts_ns"]) == T0 + 10 * S
    assert (first["strategy"], first["side"], first["liquidity"]) == ("mm", "buy", "maker")
    assert (first["price"], first["size"], first["fee"]) == ("20000", "0.1", "0.2")
    assert (first["trade_id"], first["client_id"], first["venue_order_id"]) == (
        "T10",
        "mm-10",
        "V10",
    )


def test_orders_csv(report: tuple[dict, Path]) -> None:
    _, out = report
    with (out / "orders.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["client_id"] for r in rows] == ["mm-9", "trend-19", "mm-29", "mm-31", "mm-32"]
    for col in ("type", "tif", "filled", "avg_price", "post_only", "reduce_only", "reason"):
        assert col in rows[0]
    filled, canceled, rejected = rows[0], rows[3], rows[4]
    assert (filled["status"], filled["filled"], filled["avg_price"]) == ("filled", "0.1", "20000")
    assert (filled["type"], filled["tif"], filled["post_only"]) == ("limit", "gtc", "true")
    assert (canceled["status"], canceled["avg_price"]) == ("canceled", "")
    assert (rejected["status"], rejected["code"]) == ("rejected", "below_min_notional")
    assert rejected["created"] == "2024-01-01T00:00:32.000000Z"
    assert int(rejected["updated_ns"]) == T0 + 32 * S + 5


# ----------------------------------------------------------- chart, HTML


def test_equity_png_is_a_png(report: tuple[dict, Path]) -> None:
    _, out = report
    assert (out / "equity.png").read_bytes().startswith(PNG_SIGNATURE)


def test_html_is_self_contained_and_shows_the_summary(report: tuple[dict, Path]) -> None:
    _, out = report
    page = (out / "report.html").read_text()
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page
    # The only images are the embedded charts: equity, and fills on the price.
    assert re.findall(r'src="([^"]{0,22})', page) == ["data:image/png;base64,"] * 2
    assert "+9.10 USDT" in page  # strategy PnL and equity change, at USDT's 0.01
    assert "0.91%" in page  # return
    assert "realised pnl (gross)" in page and "realised pnl (net)" in page
    for text in ("mm", "trend", "below_min_notional", "post_only_would_cross", "T10", "T30"):
        assert text in page


def test_html_shows_only_the_first_and_last_fills_of_a_long_run(tmp_path: Path) -> None:
    result = sample_result()
    result.fills = [make_fill(i, "mm", Side.BUY, "20000", "0.001", "0") for i in range(50)]
    write_report(result, tmp_path, html_fills=5)
    page = (tmp_path / "report.html").read_text()
    assert "40 fills not shown" in page
    shown = set(re.findall(r">(T\d+)<", page))
    assert shown == {f"T{i}" for i in (*range(5), *range(45, 50))}


# -------------------------------------------------------------- edge cases


def test_empty_run_with_one_equity_sample(tmp_path: Path) -> None:
    summary = write_report(empty_result(), tmp_path)
    assert summary["pnl"] == "0"
    assert summary["return"] == 0.0
    assert summary["sharpe"] is None and summary["sortino"] is None
    dd = summary["max_drawdown"]
    assert (dd["fraction"], dd["absolute"], dd["peak"], dd["trough"]) == (0.0, "0", None, None)
    assert (summary["fills"], summary["orders"], summary["rejects"]["total"]) == (0, 0, 0)
    assert summary["fees"] == "0" and summary["volume"] == "0"
    assert summary["events_per_s"] is None
    assert summary["exposure"] == {"time_fraction": None, "avg_gross_leverage": None}
    assert summary["per_strategy"]["idle"]["fills"] == 0
    with (tmp_path / "fills.csv").open(newline="") as fh:
        assert len(list(csv.reader(fh))) == 1  # header only
    assert (tmp_path / "equity.png").read_bytes().startswith(PNG_SIGNATURE)
    assert "No fills." in (tmp_path / "report.html").read_text()
    assert json.loads((tmp_path / "summary.json").read_text()) == summary


def test_run_without_equity_samples_uses_initial_and_final(tmp_path: Path) -> None:
    result = sample_result()
    result.equity = []
    summary = write_report(result, tmp_path)
    assert summary["pnl"] == "9.097"
    assert summary["max_drawdown"]["fraction"] == 0.0
    assert summary["sharpe"] is None  # one return is not enough


def test_zero_initial_equity_gives_none_not_a_crash(tmp_path: Path) -> None:
    result = empty_result("0")
    result.final_equity = D("5")
    result.end_ns = T0 + 10 * S
    summary = write_report(result, tmp_path)
    assert summary["pnl"] == "5"
    assert summary["return"] is None
    assert summary["turnover"] is None
    assert "Equity change   +5 USDT  (–; " in format_table(summary)


# ---------------------------------------------------------------- stdout


def test_format_table(report: tuple[dict, Path]) -> None:
    summary, _ = report
    text = format_table(summary)
    lines = text.splitlines()
    labels = [line.split("  ")[0].strip() for line in lines[:14]]
    assert labels == [
        "Strategy PnL",
        "Holdings drift",
        "Equity change",
        "Buy and hold",
        "Valued at",
        "Sharpe",
        "Sortino",
        "Max DD",
        "Fees",
        "Orders",
        "Fills",
        "Rejects",
        "Events/s",
        "",
    ]
    # Amounts in USDT print at its 0.01 precision; summary.json keeps 9.097.
    assert lines[0].startswith("Strategy PnL    +9.10 USDT  (realised net of fees + unrealised")
    assert lines[1].startswith("Holdings drift  0.00 USDT")
    assert lines[2].startswith("Equity change   +9.10 USDT  (0.91%; = strategy PnL + holdings")
    assert "+10.00 USDT (1.00%)" in lines[3]  # 1000 USDT held as BTC, 20000 -> 20200
    assert lines[5] == (
        "Sharpe          –  (not shown: run covers 0.0 h (1 daily return); "
        "Sharpe needs >= 30 daily returns)"
    )
    assert "1.98% (20.00 USDT)" in lines[7]  # 20 / 1010
    assert "below_min_notional 2" in lines[11]
    assert "60,000" in lines[12]
    # Values start in one column, two spaces after the longest label.
    assert all(line[14:16] == "  " and line[16] != " " for line in lines[:13])
    header = lines[14]
    assert header.split()[:3] == ["strategy", "fills", "orders"]
    for column in ("volume USDT", "realised pnl (gross)", "fees", "realised pnl (net)"):
        assert column in header
    mm = lines[15].split()
    # realised gross 5, fees 0.4005 -> 0.40, net 4.5995 -> 4.60, nothing open, total 4.60
    assert mm == ["mm", "2", "4", "4005.00", "5.00", "0.40", "4.60", "0.00", "4.60"]
    assert lines[16].split()[0] == "trend"


def test_format_table_of_an_empty_run(tmp_path: Path) -> None:
    text = format_table(write_report(empty_result(), tmp_path))
    assert "Sharpe" in text and "not shown" in text
    assert text.splitlines()[-1].split()[0] == "idle"


def test_a_long_curve_is_drawn_from_few_points_keeping_every_peak_and_trough() -> None:
    from botkit.backtest.report import CHART_POINTS, _thin

    # A year of one-minute samples: a slow wave with one deep spike down and one up.
    n = 525_600
    ts = [i * 60_000_000_000 for i in range(n)]
    ys = [100.0 + (i % 10_000) / 1_000 for i in range(n)]
    ys[123_457] = 1.0
    ys[400_001] = 500.0
    t, y = _thin(ts, ys)
    assert len(t) <= CHART_POINTS + 4
    assert t == sorted(t) and (t[0], t[-1]) == (ts[0], ts[-1])
    assert (min(y), max(y)) == (1.0, 500.0)
    assert all(ys[i // 60_000_000_000] == v for i, v in zip(t, y))
    # A short one is drawn as it is.
    assert _thin(ts[:100], ys[:100]) == (ts[:100], ys[:100])


def test_many_fill_markers_are_drawn_one_per_cell_finer_than_a_pixel() -> None:
    import numpy as np

    from botkit.backtest.report import _MARKER_GRID, CHART_POINTS, _one_per_cell

    rng = np.random.default_rng(3)
    n = 285_000  # a 10M-tick run's fills
    times = np.sort(rng.integers(0, 14 * 3_600 * 10**9, n))
    prices = 30_000 + np.cumsum(rng.normal(0, 0.5, n))
    t, p = _one_per_cell(times, prices)
    assert CHART_POINTS < len(t) < n // 4
    assert np.all(np.diff(t) >= 0)  # still in time order
    # Every marker left out has a kept one in its cell: less than a pixel apart.
    cols, rows = _MARKER_GRID
    dt = (times.max() - times.min()) / (cols - 1)
    dp = (prices.max() - prices.min()) / (rows - 1)
    kept = set(zip(((t - times.min()) // dt).astype(int), ((p - prices.min()) // dp).astype(int)))
    cells = zip(
        ((times - times.min()) // dt).astype(int), ((prices - prices.min()) // dp).astype(int)
    )
    assert sum(c not in kept for c in cells) < n * 0.001  # cell edges rounded either way
    # A few are drawn as they are.
    few_t, few_p = _one_per_cell(times[:100], prices[:100])
    assert few_t.tolist() == times[:100].tolist() and few_p.tolist() == prices[:100].tolist()
