"""Cron timers and trading windows, on a clock the test controls (the backtest's event
clock), and the node's jobs on APScheduler in a paper run.

The event clock is the controllable clock: a backtest fires timers at the
times of the events it replays, so a test can walk a strategy across a change
of the clocks in a few milliseconds.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from botkit import Instrument, Place, Side, hookimpl
from botkit.config import ConfigError, parse_config
from botkit.engine import Engine
from botkit.events import Trade, TradeBatch
from botkit.model import OrderStatus
from botkit.node import build_sim_engine
from botkit.plugins import StrategySpec
from botkit.schedule import Cron, Window

SYM = "BTC/USDT"
D = Decimal


def ns(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> int:
    return int(datetime(y, mo, d, h, mi, tzinfo=UTC).timestamp()) * 10**9


def utc(t: int) -> str:
    return datetime.fromtimestamp(t / 1e9, UTC).strftime("%m-%d %H:%M")


class Clockwatcher:
    """Notes every timer and trade it hears; optionally quotes once on its first trade."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.timers: list[tuple[str, int]] = []
        self.trades: list[int] = []
        self.orders: list[Any] = []
        self.quote = params.get("quote", False)

    @hookimpl
    def on_timer(self, ctx: Any, timer: Any) -> None:
        self.timers.append((timer.name, timer.ts_ns))

    @hookimpl
    def on_trade(self, ctx: Any, trade: Any) -> list[Any]:
        self.trades.append(trade.ts_ns)
        if self.quote and not ctx.open_orders(SYM):
            return [Place(SYM, Side.BUY, "0.01", trade.price - 100)]
        return []

    @hookimpl
    def on_order(self, ctx: Any, order: Any) -> list[Any]:
        self.orders.append(order)
        if order.status is OrderStatus.CANCELED:
            # Straight back in: refused while the window is closed.
            return [Place(SYM, Side.BUY, "0.01", 1000)]
        return []


def trades_every(start: int, end: int, step: timedelta) -> list[Trade]:
    n = int((end - start) // (step.total_seconds() * 1e9))
    return [
        Trade(start + int(i * step.total_seconds() * 1e9), SYM, 60000.0, 0.1, Side.BUY)
        for i in range(n)
    ]


def run(
    btc: Instrument,
    events: list[Any],
    timers: dict[str, Any] | None = None,
    window: Window | None = None,
    **params: Any,
) -> tuple[Engine, Clockwatcher]:
    strat = Clockwatcher(params)
    spec = StrategySpec("s", strat, timers=timers or {}, window=window)
    engine = build_sim_engine({SYM: btc}, [spec], balances={"USDT": D(100_000)})
    engine.run_backtest([events])
    engine.stop()
    return engine, strat


# ----------------------------------------------------------------------------- cron timers


def test_a_cron_timer_fires_at_nine_london_time_across_the_spring_change(btc: Instrument) -> None:
    nine = Cron("0 9 * * *", "Europe/London")
    events = trades_every(ns(2024, 3, 29), ns(2024, 4, 2, 12), timedelta(minutes=30))
    _, s = run(btc, events, {"open": nine})
    # 09:00 in London is 09:00 UTC until the clocks go forward on 31 March, then 08:00 UTC.
    assert [utc(t) for _, t in s.timers] == [
        "03-29 09:00",
        "03-30 09:00",
        "03-31 08:00",
        "04-01 08:00",
        "04-02 08:00",
    ]


def test_a_time_that_happens_twice_when_the_clocks_go_back_fires_twice(btc: Instrument) -> None:
    half_one = Cron("30 1 * * *", "Europe/London")
    events = trades_every(ns(2024, 10, 26, 12), ns(2024, 10, 28, 12), timedelta(minutes=10))
    _, s = run(btc, events, {"late": half_one})
    # 01:30 BST (00:30 UTC), then 01:30 GMT an hour later; then once a day.
    assert [utc(t) for _, t in s.timers] == ["10-27 00:30", "10-27 01:30", "10-28 01:30"]


def test_interval_and_cron_timers_keep_their_own_times(btc: Instrument) -> None:
    events = trades_every(ns(2024, 3, 4), ns(2024, 3, 4, 3), timedelta(minutes=5))
    quarter = Cron("*/15 * * * *", "UTC")
    _, s = run(btc, events, {"hourly": 3600 * 10**9, "quarter": quarter})
    hourly = [utc(t) for n, t in s.timers if n == "hourly"]
    assert hourly == ["03-04 01:00", "03-04 02:00"]
    assert len([n for n, _ in s.timers if n == "quarter"]) == 11  # 00:15 .. 02:45


# ----------------------------------------------------------------------------- windows


def test_a_trading_window_stops_the_strategy_and_cancels_its_orders(btc: Instrument) -> None:
    window = Window(Cron("0 8 * * *", "UTC"), Cron("0 16 * * *", "UTC"))
    events = trades_every(ns(2024, 3, 4, 6), ns(2024, 3, 5, 10), timedelta(minutes=30))
    engine, s = run(btc, events, {"tick": 3600 * 10**9}, window, quote=True)
    # It heard trades and timers only between 08:00 and 16:00 (and from 08:00 the next day).
    assert s.trades and all(8 <= datetime.fromtimestamp(t / 1e9, UTC).hour < 16 for t in s.trades)
    assert min(s.trades) == ns(2024, 3, 4, 8)
    assert all(8 <= datetime.fromtimestamp(t / 1e9, UTC).hour < 16 for _, t in s.timers)
    # Its resting bid was cancelled at the close; what it sent back was refused.
    cancels = [o for o in s.orders if o.status is OrderStatus.CANCELED]
    assert [utc(o.ts_ns) for o in cancels] == ["03-04 16:00"]
    refused = [o for o in s.orders if o.code == "outside_window"]
    assert len(refused) == 1 and refused[0].ts_ns == ns(2024, 3, 4, 16)
    assert engine.rejects["outside_window"] == 1


class Scanner:
    """Consumes trades in bulk with ``scan_trades``: the fast path must honour windows too."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.seen: list[int] = []

    @hookimpl
    def scan_trades(self, ctx: Any, batch: TradeBatch, start: int, stop: int) -> int:
        self.seen.extend(batch.ts_ns[start:stop])
        return stop

    @hookimpl
    def on_trade(self, ctx: Any, trade: Any) -> None:
        self.seen.append(trade.ts_ns)


def test_a_window_cuts_a_batch_of_trades_scanned_in_bulk(btc: Instrument) -> None:
    window = Window(Cron("0 8 * * *", "UTC"), Cron("0 16 * * *", "UTC"))
    ts = list(range(ns(2024, 3, 4), ns(2024, 3, 6), 60 * 10**9))  # one a minute, two days
    batch = TradeBatch(SYM, ts, [60000.0] * len(ts), [0.1] * len(ts))
    strat = Scanner({})
    engine = build_sim_engine({SYM: btc}, [StrategySpec("s", strat, window=window)])
    engine.run_backtest([batch])
    inside = [t for t in ts if 8 <= datetime.fromtimestamp(t / 1e9, UTC).hour < 16]
    assert strat.seen == inside  # each trade inside the windows once, none outside


def test_a_run_that_starts_inside_the_window_trades_at_once(btc: Instrument) -> None:
    window = Window(Cron("0 8 * * *", "UTC"), Cron("0 16 * * *", "UTC"))
    events = trades_every(ns(2024, 3, 4, 10), ns(2024, 3, 4, 17), timedelta(minutes=30))
    _, s = run(btc, events, window=window)
    assert min(s.trades) == ns(2024, 3, 4, 10) and max(s.trades) < ns(2024, 3, 4, 16)


# ----------------------------------------------------------------------------- bot.yaml


BASE = """
instruments: [{symbol: BTC/USDT, tick_size: "0.01", lot_size: "0.001"}]
strategies: [{use: ema_cross, params: {symbol: BTC/USDT}, %s}]
"""


def test_a_cron_schedule_needs_an_explicit_timezone() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(BASE % "timers: {t: {cron: '0 9 * * *'}}")
    assert "schedule.timezone is not set" in str(err.value)
    config = parse_config(BASE % "timers: {t: {cron: '0 9 * * *'}}" + "schedule: {timezone: UTC}")
    timers, window = config.schedules(config.strategies[0])
    assert timers == {"t": Cron("0 9 * * *", "UTC")} and window is None


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("timers: {t: {cron: '0 9 * *'}}", "is not a cron expression"),
        ("timers: {t: {crn: '0 9 * * *'}}", "a timer is a duration"),
        ("window: {open: '0 8 * * *'}", "close"),
        ("timers: {t: {cron: '0 25 * * *'}}", "is not a cron expression"),
    ],
)
def test_schedule_mistakes_are_one_clear_paragraph(entry: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(BASE % entry + "schedule: {timezone: UTC}")
    assert says in str(err.value)


def test_an_unknown_timezone_is_named() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(BASE % "timers: {}" + "schedule: {timezone: Mars/Olympus}")
    assert "'Mars/Olympus' is not a timezone" in str(err.value)


# ----------------------------------------------------------------------------- node jobs


async def test_node_jobs_run_on_apscheduler_and_a_failing_job_is_retried() -> None:
    from botkit.jobs import NodeJobs

    jobs = NodeJobs("UTC")
    ran: list[float] = []

    async def tick() -> None:
        ran.append(asyncio.get_running_loop().time())
        if len(ran) == 2:
            raise RuntimeError("a venue hiccup")

    jobs.every("tick", 100_000_000, tick)
    jobs.start()
    try:
        await asyncio.sleep(0.55)
    finally:
        jobs.shutdown()
    assert len(ran) >= 4  # every 100 ms; the failure did not stop it
    assert jobs.runs["tick.failed"] == 1 and jobs.runs["tick"] >= 3


def test_the_daily_report_covers_the_time_since_the_previous_one(
    btc: Instrument, tmp_path: Path
) -> None:
    from botkit.jobs import DailyReport

    events = [Trade(ns(2024, 3, 4, 9), SYM, 60000.0, 0.1, Side.BUY)]
    engine, _ = run(btc, events, quote=True)
    daily = DailyReport(engine, tmp_path, "Europe/London")
    first = json.loads(daily.write(ns(2024, 3, 4, 23, 59)).read_text())
    assert first["date"] == "2024-03-04" and first["fills"] == 0
    assert set(first) >= {"strategy_pnl", "fees_by_asset", "rejects", "positions", "balances"}
    second = json.loads(daily.write(ns(2024, 3, 5, 23, 59)).read_text())
    assert second["from"] == first["to"] and second["strategy_pnl"]["change"] == "0"
    assert [p.name for p in daily.written] == ["2024-03-04.json", "2024-03-05.json"]


async def test_a_live_run_reconciles_on_its_apscheduler_job(tmp_path: Path) -> None:
    from botkit.node import run_live

    config = parse_config(
        f"""
mode: live
log_level: warning
venue: {{name: blocktrade, options: {{post_only: send}}}}
instruments: [{{symbol: BTC/USDT, tick_size: "0.01", lot_size: "0.00001"}}]
strategies: [{{use: market_maker, params: {{symbol: BTC/USDT, size: "0.01"}}}}]
risk: {{post_only: slide}}
schedule: {{timezone: UTC, daily_report: "0 0 * * *"}}
output: {{dir: "{tmp_path / "out"}"}}
live:
  journal: {tmp_path / "journal.sqlite"}
  simulator: true
  reconcile_interval: 400ms
"""
    )
    summary = await run_live(config, duration_s=2.5)
    # Every 400 ms over 2.5 s, after the one at start-up (not counted here).
    assert summary["health"]["reconciliations"] >= 4
