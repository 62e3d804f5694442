"""`botkit backtest`: replay the catalog through the one path and write the report."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botkit.backtest.result import BacktestResult
from botkit.config import BotConfig
from botkit.engine import Engine
from botkit.node import build_backtest


def _ns(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(dt.timestamp() * 1_000_000_000)
    dt = datetime.fromisoformat(str(value))
    return _ns(dt)


def run_backtest(
    config: BotConfig, out_dir: Path | None = None, progress: bool | None = None
) -> tuple[BacktestResult, dict[str, Any]]:
    from botkit.backtest.catalog import Catalog, replay, replay_count
    from botkit.backtest.progress import Progress
    from botkit.backtest.report import write_report

    engine = build_backtest(config)
    catalog = Catalog(config.resolve_path(config.data.catalog))
    venue = config.data.venue or config.venue.name
    symbols = list(engine.instruments)
    kinds = tuple(config.data.kinds)
    start, end = _ns(config.data.start), _ns(config.data.end)
    if not catalog.entries():
        raise FileNotFoundError(
            f"the data catalog {catalog.root} holds no data: run `botkit data make-sample` "
            "or import data with `botkit data import`"
        )
    total = replay_count(catalog, venue, symbols, kinds=kinds, start_ns=start, end_ns=end)
    mode = config.output.progress
    enabled = progress if progress is not None else {"on": True, "off": False}.get(mode)
    bar = Progress(total, enabled=enabled)
    t0 = time.perf_counter()
    try:
        engine.run_backtest(
            replay(catalog, venue, symbols, kinds=kinds, start_ns=start, end_ns=end),
            on_batch=bar.update,
        )
        engine.stop()
    finally:
        bar.close()
    wall = time.perf_counter() - t0
    result = collect(engine, wall)
    out = out_dir or config.resolve_path(config.output.dir)
    summary = write_report(result, Path(out))
    return result, summary


def collect(engine: Engine, wall_s: float) -> BacktestResult:
    from decimal import Decimal

    router = engine.router
    equity = engine.equity
    marks = {
        s: Decimal(repr(b.last_price)) for s, b in engine.books.items() if b.last_price is not None
    }
    initial = engine.initial_equity if engine.initial_equity is not None else engine.equity_now()
    return BacktestResult(
        strategies=list(engine.slots),
        quote_asset=engine.quote_asset,
        initial_equity=initial,
        final_equity=engine.equity_now(),
        start_ns=equity[0][0] if equity else 0,
        end_ns=engine.now_ns,
        events=engine.events,
        wall_s=wall_s,
        fills=list(router.fills),
        orders=list(router.all_orders()),
        rejects=engine.rejects.copy(),
        equity=list(equity),
        positions=router.positions,
        marks=marks,
        balances=dict(router.balances),
    )
