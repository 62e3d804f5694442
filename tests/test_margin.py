"""Derivatives: margin, liquidation, funding and inverse contracts (``botkit.margin``).

Each example runs the whole path (strategy, risk module, router, simulated
venue) on a few hand-made trades, and checks the numbers against the formula a
textbook gives for them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from botkit import Instrument, OrderType, Place, Side, hookimpl
from botkit.engine import Engine
from botkit.events import Trade
from botkit.margin import MarginAccount, apply_fill, unrealized
from botkit.model import OrderStatus, Position
from botkit.node import build_sim_engine
from botkit.plugins import StrategySpec
from botkit.venues.sim import MatchingEngine

D = Decimal
HOUR = 3600 * 10**9


class Script:
    """Sends the intents given for each event time; keeps what it hears."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.script: dict[int, list[Any]] = params["script"]
        self.orders: list[Any] = []
        self.fills: list[Any] = []

    @hookimpl
    def on_trade(self, ctx: Any, trade: Any) -> list[Any]:
        return self.script.pop(ctx.now_ns, [])

    @hookimpl
    def on_order(self, ctx: Any, order: Any) -> None:
        self.orders.append(order)

    @hookimpl
    def on_fill(self, ctx: Any, fill: Any) -> None:
        self.fills.append(fill)


def linear_perp(maintenance: str = "0.005", fee: str = "0") -> Instrument:
    return Instrument(
        "sim",
        "BTC/USDT",
        "BTC",
        "USDT",
        tick_size="0.1",
        lot_size="0.001",
        kind="perpetual",
        maker_fee=fee,
        taker_fee=fee,
        maintenance_margin=maintenance,
    )


def inverse_perp() -> Instrument:
    # Sizes are contracts of 1 USD; PnL, fees and margin are in BTC.
    return Instrument(
        "sim",
        "BTC/USD",
        "BTC",
        "USD",
        tick_size="0.5",
        lot_size="1",
        kind="inverse_perpetual",
        maintenance_margin="0.005",
    )


def run(
    inst: Instrument,
    balances: dict[str, Decimal],
    script: dict[int, list[Any]],
    prices: list[tuple[int, float]],
    **kw: Any,
) -> tuple[Engine, Script]:
    strat = Script({"script": script})
    engine = build_sim_engine(
        {inst.symbol: inst}, [StrategySpec("s", strat)], balances=balances, **kw
    )
    engine.run_backtest([[Trade(ts, inst.symbol, px, 1.0, Side.BUY) for ts, px in prices]])
    engine.stop()
    return engine, strat


def market(inst: Instrument, side: Side, size: Any) -> Place:
    return Place(inst.symbol, side, size, type=OrderType.MARKET)


# ----------------------------------------------------------------------------- liquidation


def test_a_10x_long_is_liquidated_at_the_price_the_maintenance_margin_gives() -> None:
    perp = linear_perp()
    # 1,000 USDT buys 0.2 BTC at 50,000 (10,000 USDT) at 10x. Equity meets maintenance
    # margin where 1000 + 0.2 (P - 50000) = 0.005 x 0.2 x P:
    # P = 50000 (1 - 1/10) / (1 - 0.005) = 45,226.13..., 45,226.1 on the tick.
    expected = D(50000) * (1 - D(1) / 10) / (1 - D("0.005"))
    assert perp.price_down(expected) == D("45226.1")
    engine, s = run(
        perp,
        {"USDT": D(1000)},
        {1: [market(perp, Side.BUY, "0.2")]},
        [(1, 50000.0), (2, 46000.0), (3, 45226.2), (4, 45226.1), (5, 44000.0)],
        leverage=D(10),
    )
    router = engine.router
    # Still open at 45,226.2: one tick above the liquidation price.
    liq = [f for f in router.fills if f.client_id == "liquidation"]
    assert [(f.ts_ns, f.side, f.price, f.size) for f in liq] == [
        (4, Side.SELL, D("45226.1"), D("0.2"))
    ]
    assert router.liquidations == 1
    assert router.position_size("s", perp.symbol) == 0
    # The wallet keeps what is left: 1000 + 0.2 x (45226.1 - 50000) = 45.22 USDT,
    # about the maintenance margin of 45.23.
    assert router.balances == {"USDT": D("45.22")}
    venue: MatchingEngine = engine.market  # type: ignore[assignment]
    assert venue.balances == router.balances
    assert venue.liquidations == [(4, perp.symbol, D("45226.1"))]
    # The strategy heard the liquidation fill.
    assert len(s.fills) == 2 and s.fills[-1].client_id == "liquidation"


def test_a_gap_through_the_liquidation_price_fills_at_the_trade_and_stops_the_wallet_at_zero() -> (
    None
):
    perp = linear_perp()
    engine, _ = run(
        perp,
        {"USDT": D(1000)},
        {1: [market(perp, Side.BUY, "0.2")]},
        [(1, 50000.0), (2, 44000.0)],
        leverage=D(10),
    )
    venue: MatchingEngine = engine.market  # type: ignore[assignment]
    # 1000 + 0.2 x (44000 - 50000) = -200: the venue absorbs the 200, the wallet is 0.
    assert venue.liquidations == [(2, perp.symbol, D(44000))]
    assert venue.absorbed == {"USDT": D(200)}
    assert engine.router.balances == {"USDT": D(0)}
    assert venue.balances == {"USDT": D(0)}


def test_a_short_is_liquidated_when_the_price_rises_to_its_liquidation_price() -> None:
    perp = linear_perp()
    # 0.2 short at 50,000, 1,000 USDT: 1000 - 0.2 (P - 50000) = 0.001 P
    # -> P = 11000 / 0.201 = 54,726.36..., 54,726.4 on the tick (up: the worse side).
    engine, _ = run(
        perp,
        {"USDT": D(1000)},
        {1: [market(perp, Side.SELL, "0.2")]},
        [(1, 50000.0), (2, 54726.3), (3, 54726.4)],
        leverage=D(10),
    )
    venue: MatchingEngine = engine.market  # type: ignore[assignment]
    assert venue.liquidations == [(3, perp.symbol, D("54726.4"))]
    assert engine.router.balances["USDT"] == D(1000) - D("0.2") * (D("54726.4") - 50000)


def test_liquidation_cancels_the_orders_on_the_liquidated_account() -> None:
    perp = linear_perp()
    engine, s = run(
        perp,
        {"USDT": D(1500)},
        {1: [market(perp, Side.BUY, "0.2")], 2: [Place(perp.symbol, Side.SELL, "0.1", 60000)]},
        [(1, 50000.0), (2, 50000.0), (3, 42000.0)],
        leverage=D(10),
    )
    last = {o.client_id: o for o in s.orders}
    canceled = [o for o in last.values() if o.status is OrderStatus.CANCELED]
    assert len(canceled) == 1 and canceled[0].price == D(60000)
    assert engine.router.open_count == 0


# ----------------------------------------------------------------------------- margin


def test_an_order_beyond_the_available_margin_is_refused_by_the_risk_module_and_the_venue() -> None:
    perp = linear_perp(fee="0.0005")
    # 1,000 USDT at 10x: 0.2 at 50,000 needs 1,000 of margin plus 5 of fee: too much.
    engine, s = run(
        perp,
        {"USDT": D(1000)},
        {1: [market(perp, Side.BUY, "0.2"), market(perp, Side.BUY, "0.199")]},
        [(1, 50000.0)],
        leverage=D(10),
    )
    rejected = [o for o in s.orders if o.status is OrderStatus.REJECTED]
    assert [o.code for o in rejected] == ["insufficient_margin"]
    assert rejected[0].reason == (
        "buy 0.2 BTC/USDT at 10x needs 1005 USDT of margin and fees, 1000 is available"
    )
    assert engine.router.position_size("s", perp.symbol) == D("0.199")
    # The venue, asked directly, refuses the same order on its own account.
    venue: MatchingEngine = engine.market  # type: ignore[assignment]
    order = engine.router._make_order("s", market(perp, Side.BUY, D("0.2")), 2)
    venue.submit(order, 2)
    assert venue.rejected[-1][2] == "insufficient_margin"


def test_closing_a_position_needs_no_margin_even_when_none_is_left() -> None:
    perp = linear_perp()
    engine, s = run(
        perp,
        {"USDT": D(1000)},
        {1: [market(perp, Side.BUY, "0.2")], 3: [market(perp, Side.SELL, "0.2")]},
        [(1, 50000.0), (2, 49000.0), (3, 49500.0)],
        leverage=D(10),
    )
    assert [o.status for o in s.orders if o.status.is_closed] == [OrderStatus.FILLED] * 2
    # Realised: 0.2 x (49500 - 50000) = -100.
    assert engine.router.balances == {"USDT": D(900)}


def test_free_balance_is_wallet_plus_unrealised_pnl_less_margin() -> None:
    perp = linear_perp()
    engine, _ = run(
        perp,
        {"USDT": D(1000)},
        {1: [market(perp, Side.BUY, "0.1")]},
        [(1, 50000.0), (2, 51000.0)],
        leverage=D(5),
    )
    ctx = engine.slots["s"].ctx
    # Wallet 1000; PnL 0.1 x 1000 = 100; margin 0.1 x 51000 / 5 = 1020.
    assert ctx.balance("USDT") == D(1000)
    assert ctx.free("USDT") == D(1000) + 100 - 1020
    # Equity counts the position's PnL: 1,100 USDT.
    assert engine.equity_now() == D(1100)


# ----------------------------------------------------------------------------- inverse


def test_inverse_pnl_is_the_textbook_formula() -> None:
    inv = inverse_perp()
    # Long 10,000 USD of contracts from 50,000 to 55,000: 10000 (1/50000 - 1/55000) BTC.
    engine, _ = run(
        inv,
        {"BTC": D(1)},
        {1: [market(inv, Side.BUY, 10000)], 2: [market(inv, Side.SELL, 10000)]},
        [(1, 50000.0), (2, 55000.0)],
    )
    pnl = D(10000) * (D(1) / 50000 - D(1) / 55000)
    assert engine.router.balances == {"BTC": D(1) + pnl}
    assert engine.router.position("s", inv.symbol).realized_pnl == pnl
    assert pnl == pytest.approx(D("0.0181818181818"))


def test_an_inverse_entry_averages_harmonically() -> None:
    inv = inverse_perp()
    pos = Position(inv.symbol)
    pos = apply_fill(inv, pos, Side.BUY, D(50000), D(5000))
    pos = apply_fill(inv, pos, Side.BUY, D(40000), D(5000))
    # 10,000 contracts for 0.1 + 0.125 BTC: entry 10000 / 0.225 = 44,444.44...
    assert pos.avg_price == D(10000) / D("0.225")
    closed = apply_fill(inv, pos, Side.SELL, D(50000), D(10000))
    # The same as each fill closed on its own: 0 + 5000 (1/40000 - 1/50000) = 0.025 BTC.
    assert closed.realized_pnl == pytest.approx(D("0.025"), abs=D("1e-20"))
    assert unrealized(inv, pos.size, pos.avg_price, D(50000)) == pytest.approx(
        D("0.025"), abs=D("1e-20")
    )


def test_a_10x_inverse_long_is_liquidated_where_its_formula_says() -> None:
    inv = inverse_perp()
    # 0.02 BTC holds 10,000 contracts at 50,000 (0.2 BTC of value) at 10x.
    # W + q/e - q/P = m q / P  ->  P = q (1 + m) / (W + q/e) = 10050 / 0.22 = 45,681.8...
    p = D(10000) * D("1.005") / (D("0.02") + D(10000) / 50000)
    assert inv.price_down(p) == D("45681.5")
    engine, _ = run(
        inv,
        {"BTC": D("0.02")},
        {1: [market(inv, Side.BUY, 10000)]},
        [(1, 50000.0), (2, 45682.0), (3, 45681.5)],
        leverage=D(10),
    )
    venue: MatchingEngine = engine.market  # type: ignore[assignment]
    assert venue.liquidations == [(3, inv.symbol, D("45681.5"))]
    left = D("0.02") + D(10000) * (D(1) / 50000 - D(1) / D("45681.5"))
    assert engine.router.balances == {"BTC": left}
    assert 0 < left < D("0.0011")


# ----------------------------------------------------------------------------- funding


def at(hour: int, minute: int = 0) -> int:
    return int(datetime(2024, 3, 4, hour, minute, tzinfo=UTC).timestamp()) * 10**9


def test_funding_is_paid_by_longs_and_received_by_shorts_at_each_funding_time() -> None:
    perp = linear_perp()
    long = Script({"script": {at(7, 30): [market(perp, Side.BUY, 1)]}})
    short = Script({"script": {at(7, 30): [market(perp, Side.SELL, "0.5")]}})
    engine = build_sim_engine(
        {perp.symbol: perp},
        [StrategySpec("long", long), StrategySpec("short", short)],
        balances={"USDT": D(100_000)},
        funding_rate=D("0.0001"),
        leverage=D(2),
    )
    prices = [(at(7, 0), 50000.0), (at(7, 30), 50000.0), (at(7, 59), 52000.0)]
    prices += [(at(12), 51000.0), (at(15, 59), 50000.0), (at(16, 30), 49000.0)]
    engine.run_backtest([[Trade(ts, perp.symbol, px, 1.0, Side.BUY) for ts, px in prices]])
    engine.stop()
    venue: MatchingEngine = engine.market  # type: ignore[assignment]
    # At 08:00 the mark is 52,000 (the last trade): the long pays 1 x 52000 x 0.0001 = 5.2,
    # the short receives 2.6; at 16:00 (mark 50,000) 5 and 2.5. None at 00:00: no position.
    assert sorted(venue.funding) == sorted(
        [
            (at(8), "long", perp.symbol, D("5.2"), "USDT"),
            (at(8), "short", perp.symbol, D("-2.6"), "USDT"),
            (at(16), "long", perp.symbol, D("5.0"), "USDT"),
            (at(16), "short", perp.symbol, D("-2.5"), "USDT"),
        ]
    )
    router = engine.router
    assert router.funding == {("long", perp.symbol): D("10.2"), ("short", perp.symbol): D("-5.1")}
    # The wallet: 100,000 less the net funding 5.1; nothing realised yet.
    assert router.balances == {"USDT": D(100_000) - D("5.1")}
    assert venue.balances == router.balances


def test_a_negative_rate_pays_the_longs() -> None:
    perp = linear_perp()
    engine, _ = run(
        perp,
        {"USDT": D(10_000)},
        {at(7, 30): [market(perp, Side.BUY, "0.1")]},
        [(at(7, 30), 50000.0), (at(9), 50000.0)],
        funding_rate=D("-0.0002"),
    )
    assert engine.router.funding == {("s", perp.symbol): D("-1.0")}
    assert engine.router.balances == {"USDT": D("10001.0")}


def test_margin_account_liquidation_price_for_one_position_is_the_isolated_formula() -> None:
    perp = linear_perp()
    account = MarginAccount({perp.symbol: perp}, D(10))
    account.fill(perp, Side.BUY, D(50000), D("0.2"))
    p = account.liquidation_price(perp.symbol, D(1000))
    assert p == D(50000) * (1 - D(1) / 10) / (1 - D("0.005"))


# ----------------------------------------------------------------------------- the report


def summary_of(engine: Engine, balances: dict[str, Decimal]) -> dict[str, Any]:
    from botkit.backtest.report import summarize
    from botkit.backtest.runner import collect

    return summarize(collect(engine, 1.0, balances))


def test_the_summary_splits_funding_liquidation_and_pnl_and_they_add_up() -> None:
    perp = linear_perp(fee="0.0005")
    start = {"USDT": D(1100)}
    engine, _ = run(
        perp,
        start,
        {at(7, 30): [market(perp, Side.BUY, "0.2")]},
        [(at(7, 0), 50000.0), (at(7, 30), 50000.0), (at(9), 49000.0), (at(10), 40000.0)],
        leverage=D(10),
        funding_rate=D("0.0001"),
        equity_interval_ns=HOUR,
    )
    s = summary_of(engine, start)
    # Funding at 08:00 on 0.2 at 50,000: 1 USDT paid; then liquidated on the gap to 40,000.
    assert D(s["funding"]["total"]) == 1
    assert s["liquidations"]["count"] == 1
    assert s["liquidations"]["events"][0]["price"] == "40000"
    fees = D("0.2") * 50000 * D("0.0005") + D("0.2") * 40000 * D("0.0005")
    # The wallet would be 1100 - 1 - 2000 - fees: the venue absorbed what is below zero.
    absorbed = -(D(1100) - 1 - D(2000) - fees)
    assert D(s["liquidations"]["absorbed"]) == absorbed
    assert D(s["final_equity"]) == 0
    assert D(s["strategy_pnl"]["total"]) == -1 - D(2000) - fees
    assert D(s["unexplained"]) == 0
    assert D(s["equity_change"]) == D(s["strategy_pnl"]["total"]) + absorbed


def test_an_inverse_backtest_values_its_btc_pnl_in_usd_and_adds_up() -> None:
    inv = inverse_perp()
    start = {"BTC": D(1)}
    engine, _ = run(
        inv,
        start,
        {1: [market(inv, Side.BUY, 10000)], 3: [market(inv, Side.SELL, 10000)]},
        [(1, 50000.0), (2, 52000.0), (3, 55000.0)],
        equity_interval_ns=1,
    )
    s = summary_of(engine, start)
    pnl_btc = D(10000) * (D(1) / 50000 - D(1) / 55000)
    assert D(s["strategy_pnl"]["total"]) == pytest.approx(pnl_btc * 55000, abs=D("1e-15"))
    # The starting bitcoin rose from 50,000 to 55,000: that is holdings drift.
    assert D(s["holdings_drift"]["total"]) == 5000
    assert abs(D(s["unexplained"])) < D("1e-15")


# ----------------------------------------------------------------------------- properties

order_st = st.tuples(
    st.sampled_from([Side.BUY, Side.SELL]),
    st.sampled_from(["0.002", "0.01", "0.02", "0.05"]),
    st.sampled_from([None, -200, -50, 50, 200]),  # market, or a limit this far from the price
)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.floats(-0.05, 0.05), min_size=10, max_size=40),
    orders=st.dictionaries(st.integers(0, 9), st.lists(order_st, max_size=3), max_size=8),
    leverage=st.sampled_from([D(1), D(3), D(10), D(25)]),
    inverse=st.booleans(),
    trend=st.sampled_from([-0.03, 0.0, 0.03]),  # a crash or a rally liquidates someone
)
def test_random_trading_on_margin_never_leaves_a_negative_wallet_and_router_agrees_with_venue(
    steps: list[float],
    orders: dict[int, list[Any]],
    leverage: Decimal,
    inverse: bool,
    trend: float,
) -> None:
    inst = inverse_perp() if inverse else linear_perp(fee="0.0005")
    asset = "BTC" if inverse else "USDT"
    wallet = D("0.006") if inverse else D(300)
    scale = 10000 if inverse else 1  # inverse sizes are USD contracts
    price, prices = 50000.0, []
    for i, step in enumerate(steps):
        price = round(price * (1 + step + trend) * 2) / 2
        prices.append((i, price))
    script: dict[int, list[Any]] = {}
    for i, batch in orders.items():
        out = []
        for side, size, offset in batch:
            qty = D(size) * scale
            if offset is None:
                out.append(market(inst, side, qty))
            else:
                px = inst.price_down(D(prices[min(i, len(prices) - 1)][1]) + offset)
                out.append(Place(inst.symbol, side, qty, px))
        script[i] = out
    engine, _ = run(inst, {asset: wallet}, script, prices, leverage=leverage)
    venue: MatchingEngine = engine.market  # type: ignore[assignment]
    router = engine.router
    assert router.balances == venue.balances
    assert venue.balances.get(asset, D(0)) >= 0
    # The account's position is the sum of the strategy's, at the venue and the router.
    held = router.position_size("s", inst.symbol)
    venue_pos = venue.margin.positions.get(inst.symbol)
    assert held == (venue_pos.size if venue_pos is not None else 0)
    # Every fill on the grid; no order ever held more margin than was there.
    for f in router.fills:
        assert f.price % inst.tick_size == 0 and f.size % inst.lot_size == 0
    assert venue.locks.locked.get(asset, D(0)) >= 0
    event(f"liquidations: {min(len(venue.liquidations), 2)}")
    event(f"fills: {'none' if not router.fills else 'some'}")


# ----------------------------------------------------------------------------- recorded funding


class BuyOnce:
    """Buys ``size`` at market on the first trade, then holds."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.size = params["size"]
        self.sent = False

    @hookimpl
    def on_trade(self, ctx: Any, trade: Any) -> list[Any]:
        if self.sent:
            return []
        self.sent = True
        return [Place("BTC/USDT", Side.BUY, self.size, type=OrderType.MARKET)]


def test_a_backtest_pays_the_funding_recorded_in_the_catalog_at_its_times(
    tmp_path: Path,
) -> None:
    import pandas as pd

    from botkit.backtest.catalog import FUNDING, Catalog
    from botkit.backtest.runner import run_backtest
    from botkit.config import parse_config

    catalog = Catalog(tmp_path / "data")
    hours = [at(7), at(9), at(12), at(17), at(20)]
    catalog.write(
        "sim",
        "BTC/USDT",
        "trades",
        pd.DataFrame(
            {
                "ts_ns": hours,
                "price": [50000.0, 51000.0, 52000.0, 53000.0, 54000.0],
                "size": [1.0] * 5,
            }
        ),
    )
    # Recorded rates at 08:00 and 16:00 (and one before the data, never paid).
    catalog.write(
        "sim",
        "BTC/USDT",
        FUNDING,
        pd.DataFrame({"ts_ns": [at(0), at(8), at(16)], "rate": [0.5, 0.0001, -0.0003]}),
    )
    config = parse_config(
        f"""
instruments:
  - {{symbol: BTC/USDT, tick_size: "0.1", lot_size: "0.001", kind: perpetual}}
account: {{balances: {{USDT: "100000"}}}}
strategies: [{{name: s, use: "{__name__}:BuyOnce", params: {{size: "1"}}}}]
sim: {{funding_rate: "0.01"}}
data: {{catalog: "{tmp_path / "data"}"}}
output: {{dir: "{tmp_path / "out"}", progress: "off"}}
"""
    )
    result, summary = run_backtest(config, tmp_path / "out", progress=False)
    # Long 1 BTC from 07:00: at 08:00 (mark 50,000, the last trade) it pays 5; at 16:00
    # (mark 52,000) it receives 15.6. The configured rate is not used where rates are
    # recorded.
    assert result.funding == {("s", "BTC/USDT"): D(5) - D("15.6")}
    assert D(summary["funding"]["total"]) == D("-10.6")
