"""The backtest's fast paths: trades as columns, skipped by ``scan_trades`` or
decided on in bulk by ``on_trade_columns``.

Every test here runs the same strategies over the same trades as a list of
Trade objects (``on_trade`` for every trade), as TradeBatch columns that the
strategies scan (``trade_path="scan"``), and as columns a symbol's only
strategy decides on with numpy (``trade_path="auto"``), and asks for the same
run: the same orders, the same fills in the same order, the same equity curve
and the same clock.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
from botkit_strategies.ema_cross import EmaCross

from botkit import CancelAll, Instrument, OrderType, Place, Side, hookimpl
from botkit.engine import Engine
from botkit.events import Trade, TradeBatch, TradeColumns
from botkit.intents import At
from botkit.node import build_sim_engine
from botkit.plugins import PluginError, StrategySpec

SYM = "BTC/USDT"
D = Decimal


def random_walk(n: int, seed: int) -> TradeBatch:
    """n trades on a 0.01 grid, 1 ms to 2 s apart, with sizes, sides and ids."""
    rng = random.Random(seed)
    ts, price, size, side = [], [], [], []
    t, p = 1_700_000_000_000_000_000, 30_000.0
    for _ in range(n):
        t += rng.randint(1_000_000, 2_000_000_000)
        p = round(p + rng.choice((-0.02, -0.01, 0.0, 0.01, 0.02)) * rng.randint(1, 30), 2)
        ts.append(t)
        price.append(p)
        size.append(round(rng.uniform(0.001, 0.5), 5))
        side.append(rng.choice((1, 2, 0)))
    return TradeBatch(
        SYM, ts, price, size, side, list(range(1, n + 1)), {1: Side.BUY, 2: Side.SELL}
    )


def chunks(batch: TradeBatch, rows: int) -> list[TradeBatch]:
    return [batch[i : i + rows] for i in range(0, len(batch), rows)]


class Ladder:
    """Every ``every``-th trade it rests a buy a few ticks under the print; a timer pulls them.

    It scans by counting, so its scan stops exactly where on_trade would act,
    and it leaves resting orders that the venue fills on trades *between* its
    stops: the engine must stop every scan at those.
    """

    def __init__(self, params: dict[str, Any]) -> None:
        self.every = int(params.get("every", 40))
        self.seen = 0
        self.fills: list[tuple[int, str]] = []
        self.timers = 0

    @hookimpl
    def on_trade(self, ctx: Any, trade: Trade) -> list[Place] | None:
        self.seen += 1
        if self.seen % self.every:
            return None
        price = D(repr(trade.price)) - D("0.05")
        return [Place(SYM, Side.BUY, D("0.01"), price=price)]

    @hookimpl
    def scan_trades(self, ctx: Any, batch: TradeBatch, start: int, stop: int) -> int:
        for i in range(start, stop):
            if (self.seen + 1) % self.every == 0:
                return i
            self.seen += 1
        return stop

    @hookimpl
    def on_fill(self, ctx: Any, fill: Any) -> None:
        self.fills.append((ctx.now_ns, fill.client_id))

    @hookimpl
    def on_timer(self, ctx: Any, timer: Any) -> list[CancelAll]:
        self.timers += 1
        return [CancelAll(SYM)]


class Listener:
    """Takes every trade through on_trade and never scans: the symbol loses the fast path."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.trades = 0

    @hookimpl
    def on_trade(self, ctx: Any, trade: Trade) -> None:
        self.trades += 1


def engine_for(btc: Instrument, make: Any, latency_ns: int = 0, path: str = "auto") -> Engine:
    specs = make()
    return build_sim_engine(
        {SYM: btc},
        specs,
        # BTC too: the strategies here sell before they buy, and a spot account
        # cannot sell what it does not hold.
        balances={"USDT": D(10_000_000), "BTC": D(1_000)},
        latency_ns=latency_ns,
        equity_interval_ns=60_000_000_000,
        trade_path=path,
    )


def run_both(
    btc: Instrument, make: Any, trades: TradeBatch, rows: int = 1000, latency_ns: int = 0
) -> tuple[Engine, Engine]:
    """The per-event run and the scanned one; the columnar run must equal both."""
    per_event = engine_for(btc, make, latency_ns)
    per_event.run_backtest([list(b) for b in chunks(trades, rows)])
    per_event.stop()
    scanned = engine_for(btc, make, latency_ns, path="scan")
    scanned.run_backtest(chunks(trades, rows))
    scanned.stop()
    columns = engine_for(btc, make, latency_ns, path="auto")
    columns.run_backtest(chunks(trades, rows))
    columns.stop()
    assert_same_run(per_event, columns)
    return per_event, scanned


def assert_same_run(a: Engine, b: Engine) -> None:
    assert a.router.fills == b.router.fills
    orders = [
        (o.client_id, o.status, o.price, o.size, o.filled, o.created_ns, o.updated_ns)
        for o in a.router.all_orders()
    ]
    assert orders == [
        (o.client_id, o.status, o.price, o.size, o.filled, o.created_ns, o.updated_ns)
        for o in b.router.all_orders()
    ]
    assert a.equity == b.equity
    assert (a.events, a.now_ns, a.books[SYM].last_trade) == (
        b.events,
        b.now_ns,
        b.books[SYM].last_trade,
    )
    assert a.rejects == b.rejects
    assert a.hook_errors == b.hook_errors


def ema(name: str, fast: int, slow: int, **params: Any) -> StrategySpec:
    strategy = EmaCross({"symbol": SYM, "fast": fast, "slow": slow, "size": "0.01", **params})
    return StrategySpec(name, strategy, symbols=frozenset({SYM}))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ema_cross_trades_the_same_through_every_path(btc: Instrument, seed: int) -> None:
    trades = random_walk(20_000, seed)
    a, b = run_both(btc, lambda: [ema("ema", 10, 50)], trades)
    assert len(a.router.fills) > 100
    assert_same_run(a, b)


class CountingEma(EmaCross):
    """ema_cross, counting which hook saw what."""

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.per_trade = 0
        self.column_calls = 0
        self.acted = 0

    @hookimpl
    def on_trade(self, ctx: Any, trade: Trade) -> list[Place] | None:
        self.per_trade += 1
        return super().on_trade(ctx, trade)

    @hookimpl
    def on_trade_columns(self, ctx: Any, cols: TradeColumns, start: int, stop: int) -> int | At:
        self.column_calls += 1
        out = super().on_trade_columns(ctx, cols, start, stop)
        self.acted += out.__class__ is At
        return out


@pytest.mark.parametrize(
    ("latency_ns", "allow_short", "rows"),
    [(0, False, 1000), (250_000_000, True, 777), (3_000_000_000, False, 20_000)],
)
def test_ema_cross_decides_on_columns_and_trades_as_per_event(
    btc: Instrument, latency_ns: int, allow_short: bool, rows: int
) -> None:
    trades = random_walk(20_000, 11)

    params = {"symbol": SYM, "fast": 10, "slow": 50, "size": "0.01", "allow_short": allow_short}
    per_event = engine_for(btc, lambda: [StrategySpec("ema", CountingEma(params))], latency_ns)
    per_event.run_backtest([list(b) for b in chunks(trades, rows)])
    per_event.stop()
    strategy = CountingEma(params)
    columns = engine_for(btc, lambda: [StrategySpec("ema", strategy)], latency_ns)
    columns.run_backtest(chunks(trades, rows))
    columns.stop()
    assert len(per_event.router.fills) > 100
    assert_same_run(per_event, columns)
    # Most orders came from the columns (At); on_trade saw only the warm-up and the
    # trades at wake-ups (equity samples, order arrivals), where a cross may fall too.
    orders = len(columns.router.all_orders())
    assert orders * 0.9 < strategy.acted <= orders
    assert strategy.column_calls > 0
    assert strategy.per_trade < len(trades) // 4
    assert columns.hook_errors == {}


def test_strategies_with_their_own_cursors_latency_timers_and_resting_orders(
    btc: Instrument,
) -> None:
    def make() -> list[StrategySpec]:
        return [
            ema("quick", 5, 20, allow_short=True),
            ema("slow", 30, 200),
            StrategySpec("ladder", Ladder({"every": 37}), timers={"pull": 90_000_000_000}),
        ]

    trades = random_walk(15_000, 7)
    a, b = run_both(btc, make, trades, rows=777, latency_ns=250_000_000)
    assert {f.strategy for f in b.router.fills} == {"quick", "slow", "ladder"}
    assert_same_run(a, b)


def test_a_symbol_with_a_strategy_that_does_not_scan_takes_every_trade(btc: Instrument) -> None:
    listener = Listener({})
    engine = build_sim_engine({SYM: btc}, [ema("ema", 10, 50), StrategySpec("all", listener)])
    trades = random_walk(3_000, 4)
    engine.run_backtest(chunks(trades, 500))
    assert listener.trades == 3_000
    a, b = run_both(btc, lambda: [ema("ema", 10, 50), StrategySpec("all", Listener({}))], trades)
    assert_same_run(a, b)


class BrokenScan(EmaCross):
    """Its scan fails after a while: from then on it gets on_trade for every trade."""

    def __init__(self, params: dict[str, Any], fail_after: int, result: Any = None) -> None:
        super().__init__(params)
        self.scans = 0
        self.fail_after = fail_after
        self.result = result

    @hookimpl
    def scan_trades(self, ctx: Any, batch: TradeBatch, start: int, stop: int) -> Any:
        self.scans += 1
        if self.scans > self.fail_after:
            if self.result is None:
                raise RuntimeError("scan broke")
            return self.result
        return super().scan_trades(ctx, batch, start, stop)


@pytest.mark.parametrize("result", [None, -1, 10**9, "3"])
def test_a_scan_that_fails_or_answers_nonsense_is_counted_and_on_trade_takes_over(
    btc: Instrument, result: Any
) -> None:
    params = {"symbol": SYM, "fast": 10, "slow": 50, "size": "0.01"}
    trades = random_walk(5_000, 5)
    reference = engine_for(btc, lambda: [ema("ema", 10, 50)])
    reference.run_backtest(chunks(trades, 1000))

    broken = BrokenScan(params, fail_after=20, result=result)
    engine = build_sim_engine(
        {SYM: btc}, [StrategySpec("ema", broken)], balances={"USDT": D(10**7)}, trade_path="scan"
    )
    engine.run_backtest(chunks(trades, 1000))

    assert engine.hook_errors == {"ema.scan_trades": 1}
    assert broken.scans == 21  # never asked again
    assert engine.router.fills == reference.router.fills


class BrokenColumns(EmaCross):
    """Its columnar hook fails after a while: its scan_trades takes over."""

    def __init__(self, params: dict[str, Any], fail_after: int, result: Any = None) -> None:
        super().__init__(params)
        self.calls = 0
        self.scans = 0
        self.fail_after = fail_after
        self.result = result

    @hookimpl
    def on_trade_columns(self, ctx: Any, cols: TradeColumns, start: int, stop: int) -> Any:
        self.calls += 1
        if self.calls > self.fail_after:
            if self.result is None:
                raise RuntimeError("columns broke")
            return self.result
        return super().on_trade_columns(ctx, cols, start, stop)

    @hookimpl
    def scan_trades(self, ctx: Any, batch: TradeBatch, start: int, stop: int) -> int:
        self.scans += 1
        return super().scan_trades(ctx, batch, start, stop)


@pytest.mark.parametrize("result", [None, -1, 10**9, "3", At(-1, None), At(10**9, None)])
def test_a_columnar_hook_that_fails_or_answers_nonsense_hands_over_to_its_scan(
    btc: Instrument, result: Any
) -> None:
    params = {"symbol": SYM, "fast": 10, "slow": 50, "size": "0.01"}
    trades = random_walk(5_000, 5)
    reference = engine_for(btc, lambda: [ema("ema", 10, 50)], path="events")
    reference.run_backtest(chunks(trades, 1000))

    broken = BrokenColumns(params, fail_after=20, result=result)
    engine = build_sim_engine(
        {SYM: btc}, [StrategySpec("ema", broken)], balances={"USDT": D(10**7)}
    )
    engine.run_backtest(chunks(trades, 1000))

    assert engine.hook_errors == {"ema.on_trade_columns": 1}
    assert broken.calls == 21  # never asked again
    assert broken.scans > 0
    assert engine.router.fills == reference.router.fills


def test_scan_trades_and_on_trade_columns_need_on_trade(btc: Instrument) -> None:
    class OnlyScans:
        @hookimpl
        def scan_trades(self, ctx: Any, batch: Any, start: int, stop: int) -> int:
            return stop

    class OnlyColumns:
        @hookimpl
        def on_trade_columns(self, ctx: Any, cols: Any, start: int, stop: int) -> int:
            return stop

    with pytest.raises(PluginError, match="scan_trades without on_trade"):
        build_sim_engine({SYM: btc}, [StrategySpec("s", OnlyScans())])
    with pytest.raises(PluginError, match="on_trade_columns without on_trade"):
        build_sim_engine({SYM: btc}, [StrategySpec("c", OnlyColumns())])


def test_trades_nobody_subscribes_to_still_move_the_book_and_the_clock(btc: Instrument) -> None:
    engine = build_sim_engine({SYM: btc}, [])
    trades = random_walk(2_500, 6)
    engine.run_backtest(chunks(trades, 1000))
    assert engine.events == 2_500
    assert engine.books[SYM].last_trade == trades[-1]
    assert engine.now_ns == trades.ts_ns[-1]
    # The equity curve is still sampled once a minute on the event clock.
    minutes = (trades.ts_ns[-1] - trades.ts_ns[0]) // 60_000_000_000
    assert abs(len(engine.equity) - minutes) <= 2


def test_a_market_order_from_a_scan_stop_fills_at_that_trade(btc: Instrument) -> None:
    trades = random_walk(4_000, 8)
    engine = engine_for(btc, lambda: [ema("ema", 10, 50)])
    engine.run_backtest(chunks(trades, 1000))
    by_ts = {t: p for t, p in zip(trades.ts_ns, trades.price, strict=True)}
    fills = engine.router.fills
    assert fills
    # No latency: each market order fills at the print that made the cross.
    assert all(f.price == D(repr(by_ts[f.ts_ns])) for f in fills)
    assert {f.side for f in fills} == {Side.BUY, Side.SELL}
    assert all(o.type is OrderType.MARKET for o in engine.router.all_orders())


def test_the_shipped_sample_replays_its_trades_as_columns_with_the_same_outcome(
    btc: Instrument,
) -> None:
    from conftest import ROOT

    from botkit.backtest.catalog import Catalog, replay

    catalog = Catalog(ROOT / "backtest_data")
    batches = list(replay(catalog, "sim", ["BTC/USDT"], kinds=("trades",), batch_rows=20_000))
    assert batches and all(type(b) is TradeBatch for b in batches)
    as_lists = [b.events() for b in batches]
    assert sum(map(len, as_lists)) > 50_000

    def make() -> list[StrategySpec]:
        return [ema("ema", 10, 50, allow_short=True)]

    a, b = engine_for(btc, make), engine_for(btc, make)
    a.run_backtest(as_lists)
    b.run_backtest(batches)
    a.stop()
    b.stop()
    assert len(a.router.fills) > 100
    assert_same_run(a, b)
