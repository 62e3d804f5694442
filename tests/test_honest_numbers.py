"""The shipped sample's numbers as a user reads them: what the strategies made, apart
from what the starting BTC did by itself, and no ratio without its caveat."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from botkit.backtest.report import format_table
from botkit.backtest.runner import run_backtest
from botkit.config import load_config

D = Decimal


def backtest(tmp: Path, catalog: Path, **replace: str) -> dict[str, Any]:
    """Run the shipped bot.yaml on ``catalog`` with ``old=new`` text edits."""
    text = (ROOT / "bot.yaml").read_text().replace("catalog: backtest_data", f"catalog: {catalog}")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp / f"bot{len(list(tmp.glob('bot*.yaml')))}.yaml"
    path.write_text(text)
    _, summary = run_backtest(load_config(path), tmp / path.stem, progress=False)
    return summary


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The shipped sample as configured (100,000 USDT and 2 BTC), and with no BTC."""
    tmp = tmp_path_factory.mktemp("shipped")
    catalog = ROOT / "backtest_data"
    return {
        "2 BTC": backtest(tmp, catalog),
        "0 BTC": backtest(tmp, catalog, **{'BTC: "2"': 'BTC: "0"'}),
    }


def test_strategy_pnl_is_the_sum_of_the_strategies_and_excludes_the_holdings(
    shipped: dict[str, dict[str, Any]],
) -> None:
    with_btc, without = shipped["2 BTC"], shipped["0 BTC"]
    for summary in (with_btc, without):
        by_strategy = summary["strategy_pnl"]["by_strategy"]
        assert set(by_strategy) == {"trend", "maker", "ladder"}
        assert sum(D(v) for v in by_strategy.values()) == D(summary["strategy_pnl"]["total"])
        change = D(summary["strategy_pnl"]["total"]) + D(summary["holdings_drift"]["total"])
        assert change == D(summary["equity_change"])
        assert summary["unexplained"] == "0"
    # Without BTC a spot account cannot sell what it has not bought: sells are refused
    # (insufficient_balance), so the trend follower trades otherwise. The market
    # maker's refused asks change nothing it filled, and the grid never sells short:
    # both have the same PnL with or without the BTC, to the digit.
    assert with_btc["rejects"]["total"] == 0
    assert without["rejects"]["by_reason"]["insufficient_balance"] > 0
    for name in ("maker", "ladder"):
        pnl = with_btc["strategy_pnl"]["by_strategy"][name]
        assert pnl == without["strategy_pnl"]["by_strategy"][name]
    assert without["holdings_drift"]["total"] == "0"
    # The 2 BTC rose with the price, and that is most of the equity change.
    drift = with_btc["holdings_drift"]["holdings"][0]
    assert (drift["asset"], drift["amount"], drift["symbol"]) == ("BTC", "2", "BTC/USDT")
    assert D(drift["drift"]) == 2 * (D(drift["end_price"]) - D(drift["start_price"]))
    assert D(with_btc["holdings_drift"]["total"]) > 10 * abs(D(with_btc["strategy_pnl"]["total"]))


def test_per_strategy_realised_pnl_is_labelled_gross_and_net(
    shipped: dict[str, dict[str, Any]],
) -> None:
    for st in shipped["2 BTC"]["per_strategy"].values():
        gross, net = D(st["realized_pnl_gross"]), D(st["realized_pnl_net"])
        assert net == gross - D(st["fees_valued"])
        assert D(st["strategy_pnl"]) == net + D(st["unrealized_pnl"])
        assert "realized_pnl" not in st


def test_sharpe_on_the_four_hour_sample_is_null_with_its_caveat(
    shipped: dict[str, dict[str, Any]],
) -> None:
    summary = shipped["2 BTC"]
    assert summary["sharpe"] is None and summary["sortino"] is None
    assert summary["sharpe_caveat"] == (
        "not shown: run covers 4.0 h (1 daily return); Sharpe needs >= 30 daily returns"
    )
    text = format_table(summary)
    assert "Sharpe          –  (not shown: run covers 4.0 h" in text
    assert "(on account equity including starting holdings)" in text


def test_the_benchmark_is_the_starting_equity_held_in_btc(
    shipped: dict[str, dict[str, Any]],
) -> None:
    summary = shipped["2 BTC"]
    bh = summary["benchmark"]["buy_and_hold"]
    start, end = D(bh["start_price"]), D(bh["end_price"])
    assert D(bh["final_equity"]) == D(summary["initial_equity"]) * end / start
    held = summary["benchmark"]["hold_starting_balances"]
    assert held["pnl"] == summary["holdings_drift"]["total"]


def test_the_numbers_do_not_depend_on_the_equity_interval(
    tmp_path: Path, small_catalog: Path
) -> None:
    runs = {
        iv: backtest(tmp_path, small_catalog, **{"equity_interval: 1m": f"equity_interval: {iv}"})
        for iv in ("1s", "1m", "5m")
    }
    samples = {iv: s["equity_samples"] for iv, s in runs.items()}
    assert samples["1s"] > samples["1m"] > samples["5m"]
    first = runs["1m"]
    for summary in runs.values():
        assert (summary["sharpe"], summary["sortino"]) == (None, None)
        assert summary["sharpe_caveat"] == first["sharpe_caveat"]
        assert summary["strategy_pnl"] == first["strategy_pnl"]
        assert summary["holdings_drift"] == first["holdings_drift"]
        assert summary["equity_change"] == first["equity_change"]


def test_a_flat_strategy_realised_pnl_is_exact_though_its_average_entry_is_rounded() -> None:
    from decimal import Decimal as D

    from botkit.backtest.pnl import attribute
    from botkit.backtest.result import BacktestResult
    from botkit.model import Fill, Instrument, Liquidity, Position, Side

    inst = Instrument("sim", "X/USDT", "X", "USDT", "0.01", "1")
    # Buy 1 at 1 and 2 at 2, sell 3 at 2: the average entry 5/3 is rounded, so
    # Position.apply realises 0.999...9; the fills realise exactly 1.
    trades = [(Side.BUY, D(1), D(1)), (Side.BUY, D(2), D(2)), (Side.SELL, D(2), D(3))]
    fills = [
        Fill(f"t{i}", "c", "X/USDT", side, px, size, D(0), "USDT", Liquidity.TAKER, i, None, "s")
        for i, (side, px, size) in enumerate(trades)
    ]
    pos = Position("X/USDT")
    for side, px, size in trades:
        pos = pos.apply(side, px, size)
    assert pos.realized_pnl != 1
    result = BacktestResult(
        ["s"],
        "USDT",
        D(100),
        D(101),
        0,
        3,
        3,
        0.0,
        fills=fills,
        positions={("s", "X/USDT"): pos},
        marks={"X/USDT": D(2)},
        instruments={"X/USDT": inst},
    )
    pnl = attribute(result, ["s"]).per_strategy["s"]
    assert (pnl.realized_gross, pnl.unrealized, pnl.total) == (1, 0, 1)
