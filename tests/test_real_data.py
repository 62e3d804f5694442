"""Backtests you can trust, on real recorded market data (issue 9).

Every real data set in ``../shared/data/real/`` that has an importer is imported
once into a scratch catalog with ``botkit data import``, and each of the example
strategies that suits it (``ema_cross``, ``market_maker``, ``grid``) is backtested
on it with ``botkit backtest``, as a user runs them: a bot.yaml with the market's
real rules (tick, lot, minimum order value, fees) and a spot account funded with
the quote asset and some of the base asset.

Each run must end with exit code 0 (no strategy raised), write its whole report,
trade where the strategy has something to trade on, keep every fill on the
instrument's tick and lot grid with the fee the instrument's rates give, never
take a balance below zero, and report a strategy PnL that the fills add up to.

The data is read from the shared folder beside the repository and never copied
into it (``SHARED`` in conftest.py).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import SHARED

from botkit.cli import main
from botkit.margin import apply_fill, unrealized
from botkit.model import Instrument, Position, Side

D = Decimal
REAL = SHARED / "data" / "real"


@dataclass(frozen=True)
class DataSet:
    """One recording, how it is imported, the market's rules then, and the account."""

    file: str  # under REAL
    format: str  # a `botkit data import --format`
    symbol: str
    instrument: dict[str, str]  # the bot.yaml instrument entry, but its symbol
    balances: dict[str, str]  # the spot account a backtest starts with
    what: str  # what the recording holds, for the reader
    # Order latency to the simulated venue. On candles an order trades only on bars that
    # opened after it arrived: any latency at all moves a market order sent on a close
    # from the next bar's open to the one after, an hour later on hourly bars.
    latency: str = "5ms"
    import_flags: tuple[str, ...] = ()  # what `botkit data import` needs beyond the format

    @property
    def base(self) -> str:
        return self.symbol.split("/")[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("/")[1]


BINANCE_SPOT_FEES = {"maker_fee": "0.001", "taker_fee": "0.001"}  # Binance spot, 0.1% both

# The catalog venue each data set is filed under is its key: two recordings of one
# symbol (ETH/USDT in 1h and 5m bars, BTC/USDT spot and USD-M) never share a venue.
DATA_SETS: dict[str, DataSet] = {
    "binance-spot-l2": DataSet(
        "hftbacktest/spot/btcusdt_20240808.gz",
        "hftbacktest",
        "BTC/USDT",
        {"tick_size": "0.01", "lot_size": "0.00001", "min_notional": "5", **BINANCE_SPOT_FEES},
        {"USDT": "10000", "BTC": "0.1"},
        "Binance spot BTCUSDT, 346 s of L2 depth, trades and bookTicker quotes (2024-08-08)",
    ),
    "binance-usdm-l2": DataSet(
        "hftbacktest/usdm/btcusdt_20240808.gz",
        "hftbacktest",
        "BTC/USDT",
        # The importer writes market data only (no instrument.json, no kind): the kind is
        # what bot.yaml says, and left out it would be spot. Binance's USD-M rules then.
        {
            "tick_size": "0.1",
            "lot_size": "0.001",
            "min_notional": "100",
            "kind": "perpetual",
            "maker_fee": "0.0002",
            "taker_fee": "0.0005",
        },
        {"USDT": "10000"},
        "Binance USD-M BTCUSDT perpetual, 345 s of L2 depth, trades and quotes (2024-08-08)",
    ),
    "binance-xrpeth-trades": DataSet(
        "freqtrade/XRP_ETH-trades.json.gz",
        "freqtrade-trades",
        "XRP/ETH",
        # XRP/ETH trades near 0.0014 ETH: prices to 1e-8, whole XRP, 0.01 ETH minimum.
        {"tick_size": "0.00000001", "lot_size": "1", "min_notional": "0.01", **BINANCE_SPOT_FEES},
        {"ETH": "10", "XRP": "2000"},
        "Binance spot XRP/ETH, 12,477 trades over 2.5 days (2019-10-11 to 13)",
    ),
    "nfi-btcusdt-1h": DataSet(
        "nostalgiaforinfinity/BTC_USDT-1h.json",
        "ohlcv-json",
        "BTC/USDT",
        {"tick_size": "0.01", "lot_size": "0.000001", "min_notional": "10", **BINANCE_SPOT_FEES},
        {"USDT": "10000", "BTC": "0.1"},
        "Binance spot BTC/USDT, 5,482 hourly candles (2020-12-01 to 2021-07-17)",
        latency="0ms",
    ),
    "nfi-ethusdt-1h": DataSet(
        "nostalgiaforinfinity/ETH_USDT-1h.json",
        "ohlcv-json",
        "ETH/USDT",
        {"tick_size": "0.01", "lot_size": "0.00001", "min_notional": "10", **BINANCE_SPOT_FEES},
        {"USDT": "10000", "ETH": "2"},
        "Binance spot ETH/USDT, 5,482 hourly candles (2020-12-01 to 2021-07-17)",
        latency="0ms",
    ),
    "nfi-solusdt-1h": DataSet(
        "nostalgiaforinfinity/SOL_USDT-1h.json",
        "ohlcv-json",
        "SOL/USDT",
        # SOL traded from 1.18 to 58 USDT: prices to 1e-4, sizes to 0.01 SOL.
        {"tick_size": "0.0001", "lot_size": "0.01", "min_notional": "10", **BINANCE_SPOT_FEES},
        {"USDT": "10000", "SOL": "100"},
        "Binance spot SOL/USDT, 5,482 hourly candles (2020-12-01 to 2021-07-17)",
        latency="0ms",
    ),
    "nfi-ethusdt-5m": DataSet(
        "nostalgiaforinfinity/ETH_USDT-5m.json",
        "ohlcv-json",
        "ETH/USDT",
        {"tick_size": "0.01", "lot_size": "0.00001", "min_notional": "10", **BINANCE_SPOT_FEES},
        {"USDT": "10000", "ETH": "2"},
        "Binance spot ETH/USDT, 65,742 five-minute candles (2020-12-01 to 2021-07-17)",
        latency="0ms",
    ),
    "ftx-btcperp-1m": DataSet(
        "nautilus_trader/btc-perp-20211231-20220201_1m.csv",
        "ohlcv-csv",
        "BTC/USD",
        # FTX's linear BTC-PERP, settled in USD; its prices include quarters and eighths.
        {
            "tick_size": "0.125",
            "lot_size": "0.0001",
            "kind": "perpetual",
            "maker_fee": "0.0002",
            "taker_fee": "0.0007",
        },
        {"USD": "10000"},
        "FTX BTC-PERP, 45,031 one-minute candles (2021-12-31 to 2022-02-01)",
        latency="0ms",
        import_flags=("--kind", "perpetual", "--volume-in", "quote"),
    ),
}

# The recordings not backtested here yet, and why. Each names its file under REAL;
# test_every_real_data_set_is_covered_or_listed_here keeps this list honest.
NOT_YET_COVERED: dict[str, str] = {
    "nautilus_trader/xrpusdt-ob500.data.zip": (
        "Bybit linear XRPUSDT ob500 L2 snapshot + deltas: 50 messages over 5 s, a parser "
        "fixture (imported and its book checked in tests/test_import_real.py), too short to "
        "simulate a strategy on"
    ),
}


@dataclass(frozen=True)
class Run:
    """One backtest: a strategy with its params on a data set (optionally a time window,
    and an account other than the data set's)."""

    data: str  # a DATA_SETS key
    use: str  # the strategy's installed name
    params: dict[str, Any]
    timers: dict[str, str] = field(default_factory=dict)
    start: str | None = None
    end: str | None = None
    # The least number of fills the run must make (it has something to trade on).
    min_fills: int = 1
    balances: dict[str, str] | None = None  # None: the data set's account
    # How many orders the account may refuse (spot: insufficient_balance).
    max_rejects: int = 0

    @property
    def id(self) -> str:
        held = (
            "" if self.balances is None else "-".join(f"{v}{k}" for k, v in self.balances.items())
        )
        return f"{self.use}@{self.data}" + (f"-with-{held}" if held else "")

    @property
    def account(self) -> dict[str, str]:
        return DATA_SETS[self.data].balances if self.balances is None else self.balances


TREND_BARS = {"fast": 12, "slow": 26, "source": "bars"}  # closes of 12 and 26 bars
TREND_TICKS = {"fast": 50, "slow": 500}  # the last 50 and 500 trade prints
MAY_2021 = {"start": "2021-05-01", "end": "2021-06-01"}  # ETH fell from 4,300 to 1,900
RUNS: list[Run] = [
    # A trend follower on hourly closes, over the full seven months: it must trade.
    Run("nfi-btcusdt-1h", "ema_cross", {**TREND_BARS, "size": "0.01"}, min_fills=50),
    Run("nfi-ethusdt-1h", "ema_cross", {**TREND_BARS, "size": "0.2"}, min_fills=50),
    Run("nfi-solusdt-1h", "ema_cross", {**TREND_BARS, "size": "20"}, min_fills=50),
    Run("nfi-ethusdt-5m", "ema_cross", {**TREND_BARS, "size": "0.2"}, **MAY_2021, min_fills=50),
    # ... and on a perpetual's minute candles, a month of them, on margin.
    Run("ftx-btcperp-1m", "ema_cross", {**TREND_BARS, "size": "0.01"}, min_fills=50),
    # ... and on trade prints.
    Run("binance-xrpeth-trades", "ema_cross", {**TREND_TICKS, "size": "100"}, min_fills=4),
    Run("binance-spot-l2", "ema_cross", {**TREND_TICKS, "size": "0.001"}, min_fills=4),
    Run("binance-usdm-l2", "ema_cross", {**TREND_TICKS, "size": "0.002"}, min_fills=4),
    # Two-sided post-only quotes around the touch, on the L2 captures.
    Run("binance-spot-l2", "market_maker", {"size": "0.001"}, {"refresh": "30s"}, min_fills=20),
    Run("binance-usdm-l2", "market_maker", {"size": "0.002"}, {"refresh": "30s"}, min_fills=20),
    # A ladder of limit buys, each sold one spacing up: on trades, and on candles.
    Run(
        "binance-spot-l2", "grid", {"size": "0.001", "spacing_pct": "0.02", "count": 5}, min_fills=2
    ),
    Run(
        "binance-usdm-l2", "grid", {"size": "0.002", "spacing_pct": "0.02", "count": 5}, min_fills=2
    ),
    Run(
        "binance-xrpeth-trades",
        "grid",
        {"size": "100", "spacing_pct": "0.5", "count": 8},
        min_fills=2,
    ),
    Run("nfi-btcusdt-1h", "grid", {"size": "0.01", "spacing_pct": "2", "count": 10}, min_fills=10),
    Run("nfi-ethusdt-1h", "grid", {"size": "0.2", "spacing_pct": "2", "count": 10}, min_fills=10),
    Run("nfi-solusdt-1h", "grid", {"size": "20", "spacing_pct": "3", "count": 10}, min_fills=10),
    Run("ftx-btcperp-1m", "grid", {"size": "0.01", "spacing_pct": "1", "count": 10}, min_fills=10),
    Run(
        "nfi-ethusdt-5m",
        "grid",
        {"size": "0.2", "spacing_pct": "2", "count": 10},
        **MAY_2021,
        min_fills=10,
    ),
]

# Accounts too small for what the strategy would do: the balance rules bind. The market
# maker quotes a side only once the account can pay for it (with no BTC, the ask waits
# for a bid to fill), the grid arms the levels the free balance covers and keeps the rest
# waiting, so neither has anything refused; the trend follower's buy is refused when the
# cash is short, once per signal.
THIN_ACCOUNTS: list[Run] = [
    Run(
        "binance-spot-l2",
        "market_maker",
        {"size": "0.001"},
        {"refresh": "30s"},
        balances={"USDT": "100"},
        min_fills=20,
    ),
    Run(
        "binance-spot-l2",
        "market_maker",
        {"size": "0.001"},
        {"refresh": "30s"},
        balances={"BTC": "0.003"},
        min_fills=20,
    ),
    Run(
        "binance-xrpeth-trades",
        "grid",
        {"size": "100", "spacing_pct": "0.5", "count": 8},  # 0.14 ETH a level
        balances={"ETH": "0.5"},
        min_fills=2,
    ),
    Run(
        "nfi-solusdt-1h",
        "grid",
        {"size": "20", "spacing_pct": "3", "count": 10},
        balances={"USDT": "300"},
        min_fills=10,
    ),
    Run(
        "nfi-btcusdt-1h",
        "ema_cross",
        {**TREND_BARS, "size": "0.01"},  # 196 USDT at the start, 646 at the top
        balances={"USDT": "300"},
        min_fills=50,
        max_rejects=40,
    ),
]

STRATEGIES = ("ema_cross", "market_maker", "grid")
NO_BOOK = "it quotes around the best bid and ask, and this recording has no order book"
# The (data set, strategy) pairs not run, because the strategy has nothing to work on.
NOT_SUITED: dict[tuple[str, str], str] = {
    ("binance-xrpeth-trades", "market_maker"): NO_BOOK + " (trade prints only)",
    ("nfi-btcusdt-1h", "market_maker"): NO_BOOK + " (candles only)",
    ("nfi-ethusdt-1h", "market_maker"): NO_BOOK + " (candles only)",
    ("nfi-solusdt-1h", "market_maker"): NO_BOOK + " (candles only)",
    ("nfi-ethusdt-5m", "market_maker"): NO_BOOK + " (candles only)",
    ("ftx-btcperp-1m", "market_maker"): NO_BOOK + " (candles only)",
}


# ---- importing and running ---------------------------------------------------------


@dataclass
class Report:
    """What one `botkit backtest` left: its exit code and output, and its report folder."""

    run: Run
    code: int
    stdout: str
    out: Path
    summary: dict[str, Any]
    fills: list[dict[str, str]]  # fills.csv, in time order
    orders: list[dict[str, str]]  # orders.csv

    @property
    def data(self) -> DataSet:
        return DATA_SETS[self.run.data]

    @property
    def start_balances(self) -> dict[str, Decimal]:
        ds = self.data
        return {asset: D(self.run.account.get(asset, "0")) for asset in (ds.base, ds.quote)}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def bot_yaml(run: Run, catalog: Path) -> dict[str, Any]:
    """The bot.yaml of one run: the data set's market and account, one strategy."""
    ds = DATA_SETS[run.data]
    return {
        "mode": "backtest",
        "log_level": "warning",
        "venue": {"name": "sim"},
        "instruments": [{"symbol": ds.symbol, **ds.instrument}],
        "account": {"balances": run.account},
        "strategies": [
            {
                "name": run.use,
                "use": run.use,
                "params": {"symbol": ds.symbol, **run.params},
                "timers": run.timers,
            }
        ],
        "risk": {"rounding": "round", "post_only": "slide", "max_open_orders": 100},
        "sim": {"latency": ds.latency, "slippage_bps": "1", "queue_position": True},
        "data": {"catalog": str(catalog), "venue": run.data, "start": run.start, "end": run.end},
        "output": {"dir": "report", "progress": "off", "equity_interval": "1h"},
    }


@pytest.fixture(scope="module")
def backtests(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Run], Report]:
    """Runs a backtest the first time a test asks for it, and hands the same report to
    every test after. The data sets are imported once, with `botkit data import`, each
    under its own venue in one scratch catalog."""
    root = tmp_path_factory.mktemp("real")
    catalog = root / "catalog"
    with redirect_stdout(io.StringIO()):
        for venue, ds in DATA_SETS.items():
            argv = ["data", "import", "--format", ds.format, "--venue", venue]
            argv += ["--symbol", ds.symbol, "--catalog", str(catalog), *ds.import_flags]
            argv.append(str(REAL / ds.file))
            assert main(argv) == 0, venue
    done: dict[str, Report] = {}

    def backtest(run: Run) -> Report:
        if run.id not in done:
            folder = root / run.id.replace("@", "-on-")
            folder.mkdir()
            bot = folder / "bot.yaml"
            bot.write_text(yaml.safe_dump(bot_yaml(run, catalog), sort_keys=False))
            out = folder / "report"
            printed = io.StringIO()
            with redirect_stdout(printed):
                code = main(["backtest", str(bot), "--no-progress", "--out", str(out)])
            summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
            fills, orders = read_csv(out / "fills.csv"), read_csv(out / "orders.csv")
            done[run.id] = Report(run, code, printed.getvalue(), out, summary, fills, orders)
        return done[run.id]

    return backtest


def is_spot(run: Run) -> bool:
    return DATA_SETS[run.data].instrument.get("kind", "spot") == "spot"


ALL_RUNS = RUNS + THIN_ACCOUNTS
SPOT_RUNS = [r for r in ALL_RUNS if is_spot(r)]
PERP_RUNS = [r for r in ALL_RUNS if not is_spot(r)]


@pytest.fixture(params=ALL_RUNS, ids=[r.id for r in ALL_RUNS])
def report(request: pytest.FixtureRequest, backtests: Callable[[Run], Report]) -> Report:
    return backtests(request.param)


@pytest.fixture(params=SPOT_RUNS, ids=[r.id for r in SPOT_RUNS])
def spot_report(request: pytest.FixtureRequest, backtests: Callable[[Run], Report]) -> Report:
    return backtests(request.param)


@pytest.fixture(params=PERP_RUNS, ids=[r.id for r in PERP_RUNS])
def perp_report(request: pytest.FixtureRequest, backtests: Callable[[Run], Report]) -> Report:
    return backtests(request.param)


def on_grid(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


def balances_after_each_fill(report: Report) -> list[dict[str, Decimal]]:
    """The account's balances after each fill, in order, from the starting ones."""
    base, quote = report.data.base, report.data.quote
    bal = report.start_balances
    out = []
    for f in report.fills:
        size, value, fee = D(f["size"]), D(f["price"]) * D(f["size"]), D(f["fee"])
        if f["side"] == "buy":
            bal = {base: bal[base] + size, quote: bal[quote] - value - fee}
        else:
            bal = {base: bal[base] - size, quote: bal[quote] + value - fee}
        out.append(bal)
    return out


def positions_after_each_fill(fills: list[dict[str, str]]) -> list[Decimal]:
    """The strategy's signed position after each fill."""
    pos, out = D(0), []
    for f in fills:
        pos += D(f["size"]) if f["side"] == "buy" else -D(f["size"])
        out.append(pos)
    return out


# ---- what is covered -------------------------------------------------------------


def test_every_real_data_set_is_covered_or_listed_here() -> None:
    recorded = {
        p.relative_to(REAL).as_posix()
        for p in REAL.rglob("*")
        if p.is_file() and p.name != "README.md"
    }
    covered = {ds.file for ds in DATA_SETS.values()}
    assert len(recorded) == 9  # the README's table
    assert covered | set(NOT_YET_COVERED) == recorded
    assert not covered & set(NOT_YET_COVERED)
    # Every (data set, strategy) pair is backtested, or is listed with the reason it is not.
    pairs = {(r.data, r.use) for r in RUNS}
    assert len(pairs) == len(RUNS)  # one run per pair
    assert not pairs & set(NOT_SUITED)
    assert pairs | set(NOT_SUITED) == {(d, s) for d in DATA_SETS for s in STRATEGIES}


# ---- every run ---------------------------------------------------------------------

CLOSED = {"filled", "canceled", "rejected", "expired"}


def test_the_backtest_ends_clean_and_writes_its_report(report: Report) -> None:
    assert report.code == 0, report.stdout
    assert "Strategy PnL" in report.stdout and "report: " in report.stdout
    out = report.out
    for name in ("summary.json", "fills.csv", "orders.csv", "report.html"):
        assert (out / name).stat().st_size > 0, name
    for name in ("equity.png", "price.png"):  # price.png is drawn once anything filled
        assert (out / name).read_bytes().startswith(b"\x89PNG\r\n"), name
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html") and report.run.use in html
    summary = report.summary
    assert summary["partial"] is False
    assert summary["strategy_errors"] == {"total": 0, "by_hook": {}}
    assert summary["warnings"] == []
    assert summary["events"] > 0
    # Nothing is left half-sent when the run ends. The market maker and the grid cancel
    # their orders on stop; the trend follower's last signal may still wait for a fill
    # (a market order sent on the last bar's close fills at the next bar's open).
    assert len(report.orders) == summary["orders"]
    left = [o for o in report.orders if o["status"] not in CLOSED]
    assert {o["status"] for o in left} <= {"open"}
    if report.run.use == "ema_cross":
        assert len(left) <= 1 and all(o == report.orders[-1] for o in left)
    else:
        assert not left


def test_it_trades_and_every_fill_is_on_the_grid_at_the_instruments_fee(report: Report) -> None:
    ds, fills, summary = report.data, report.fills, report.summary
    assert len(fills) == summary["fills"] == summary["per_strategy"][report.run.use]["fills"]
    assert len(fills) >= report.run.min_fills
    tick, lot = D(ds.instrument["tick_size"]), D(ds.instrument["lot_size"])
    rate = {"maker": D(ds.instrument["maker_fee"]), "taker": D(ds.instrument["taker_fee"])}
    for f in fills:
        price, size = D(f["price"]), D(f["size"])
        assert (f["symbol"], f["strategy"], f["fee_asset"]) == (ds.symbol, report.run.use, ds.quote)
        assert price > 0 and on_grid(price, tick), f
        assert size > 0 and on_grid(size, lot), f
        assert D(f["fee"]) == price * size * rate[f["liquidity"]], f
    times = [int(f["ts_ns"]) for f in fills]
    assert times == sorted(times)
    assert summary["start_ns"] <= times[0] and times[-1] <= summary["end_ns"]
    assert D(summary["fees"]) == sum(D(f["fee"]) for f in fills)
    for o in report.orders:
        assert on_grid(D(o["size"]), lot), o
        assert not o["price"] or on_grid(D(o["price"]), tick), o


# ---- spot runs: the account ------------------------------------------------------------


def test_no_balance_ever_goes_negative(spot_report: Report) -> None:
    ds, summary = spot_report.data, spot_report.summary
    after = balances_after_each_fill(spot_report)
    lowest = {asset: min(b[asset] for b in after) for asset in (ds.base, ds.quote)}
    assert all(v >= 0 for v in lowest.values()), lowest
    # The venue's account agrees with the fills: the balances they leave, valued at the
    # last price, are the final equity, to the digit (and the starting ones the first).
    prices = summary["benchmark"]["buy_and_hold"]
    first, last = D(prices["start_price"]), D(prices["end_price"])
    start = spot_report.start_balances
    assert D(summary["initial_equity"]) == start[ds.quote] + start[ds.base] * first
    end = after[-1]
    assert D(summary["final_equity"]) == end[ds.quote] + end[ds.base] * last


def test_the_strategy_pnl_is_what_its_fills_add_up_to(spot_report: Report) -> None:
    ds, fills, summary = spot_report.data, spot_report.fills, spot_report.summary
    name = spot_report.run.use
    mark = D(summary["benchmark"]["buy_and_hold"]["end_price"])
    position = positions_after_each_fill(fills)[-1]
    cash = sum(
        (D(f["price"]) * D(f["size"]) * (1 if f["side"] == "sell" else -1) for f in fills), D(0)
    )
    fees = sum((D(f["fee"]) for f in fills), D(0))
    pnl = D(summary["strategy_pnl"]["total"])
    assert pnl == cash - fees + position * mark
    assert summary["strategy_pnl"]["by_strategy"] == {name: summary["strategy_pnl"]["total"]}
    mine = summary["per_strategy"][name]
    assert D(mine["positions"][ds.symbol]["size"]) == position
    assert D(mine["fees_valued"]) == fees
    assert D(mine["realized_pnl_net"]) == D(mine["realized_pnl_gross"]) - fees
    assert D(mine["strategy_pnl"]) == pnl == D(mine["realized_pnl_net"]) + D(mine["unrealized_pnl"])
    # The account's change is the strategy's PnL plus the starting holdings' drift.
    change = D(summary["equity_change"])
    assert change == D(summary["final_equity"]) - D(summary["initial_equity"])
    assert change == pnl + D(summary["holdings_drift"]["total"])
    assert summary["unexplained"] == "0"
    first = D(summary["benchmark"]["buy_and_hold"]["start_price"])
    held = spot_report.start_balances[ds.base]
    assert D(summary["holdings_drift"]["total"]) == held * (mark - first)


def test_the_strategy_keeps_to_its_own_rules(spot_report: Report) -> None:
    run, fills, orders = spot_report.run, spot_report.fills, spot_report.orders
    # Sized from the instrument's minimums, and paid for: nothing it sent was refused, but
    # the trend follower's buys when the account was short of cash.
    rejects = spot_report.summary["rejects"]
    assert rejects["total"] <= run.max_rejects
    assert set(rejects["by_reason"]) <= {"insufficient_balance"}
    positions = positions_after_each_fill(fills)
    if run.use == "ema_cross":
        # Long only: it buys on a cross up and sells what it holds on the cross down.
        assert {o["type"] for o in orders} == {"market"}
        assert min(positions) >= 0
        assert {f["liquidity"] for f in fills} == {"taker"}
    elif run.use == "grid":
        # Limit buys, and reduce-only exits: it never sells what it has not bought.
        assert {o["type"] for o in orders} == {"limit"}
        assert all(o["reduce_only"] == "true" for o in orders if o["side"] == "sell")
        assert min(positions) >= 0
        assert {f["side"] for f in fills} == {"buy", "sell"}  # exits filled too
    else:
        # Post-only quotes: every fill made liquidity, and the inventory stayed within
        # its cap (10 quotes by default).
        assert {(o["type"], o["post_only"]) for o in orders} == {("limit", "true")}
        assert {f["liquidity"] for f in fills} == {"maker"}
        cap = 10 * D(run.params["size"])
        assert max(abs(p) for p in positions) <= cap
        assert {f["side"] for f in fills} == {"buy", "sell"}


# ---- perpetual runs: the margin account ----------------------------------------------


def test_a_perpetual_wallet_never_goes_negative_and_the_numbers_add_up(
    perp_report: Report,
) -> None:
    """On a perpetual no base asset changes hands: each fill settles its realised PnL and
    its fee in the USDT wallet (botkit.margin), which the fills replay to."""
    ds, fills, summary = perp_report.data, perp_report.fills, perp_report.summary
    inst = Instrument("sim", ds.symbol, ds.base, ds.quote, **ds.instrument)
    pos, wallet = Position(ds.symbol), perp_report.start_balances[ds.quote]
    lowest = wallet
    for f in fills:
        before = pos.realized_pnl
        pos = apply_fill(inst, pos, Side(f["side"]), D(f["price"]), D(f["size"]))
        wallet += pos.realized_pnl - before - D(f["fee"])
        lowest = min(lowest, wallet)
    assert lowest > 0
    assert summary["liquidations"]["count"] == 0
    mark = D(summary["benchmark"]["buy_and_hold"]["end_price"])
    assert D(summary["final_equity"]) == wallet + unrealized(inst, pos.size, pos.avg_price, mark)
    # No starting holdings but the quote: every change is the strategy's.
    assert D(summary["holdings_drift"]["total"]) == 0
    change = D(summary["equity_change"])
    assert abs(change - D(summary["strategy_pnl"]["total"])) < D("1e-20")
    assert abs(D(summary["unexplained"])) < D("1e-20")
