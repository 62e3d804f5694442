"""Wiring the one path together around the simulated venue (backtest and paper)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botkit.book import OrderBook
from botkit.engine import Engine, StrategySpec
from botkit.execution import ExecutionRouter
from botkit.model import Instrument
from botkit.risk import RiskModule
from botkit.venues.sim import SimVenue


def build_sim_engine(
    instruments: dict[str, Instrument],
    strategies: list[StrategySpec],
    risk_limits: Any = None,
    balances: dict[str, Decimal] | None = None,
    latency_ns: int = 0,
    slippage_bps: Decimal | int | str = 0,
    queue_position: bool = True,
    equity_interval_ns: int = 60_000_000_000,
    cancel_on_stop: bool = False,
) -> Engine:
    books = {s: OrderBook(s) for s in instruments}
    router = ExecutionRouter(instruments, balances=balances)
    venue = SimVenue(
        instruments,
        books,
        router,
        latency_ns=latency_ns,
        slippage_bps=slippage_bps,
        queue_position=queue_position,
    )
    router.attach(venue)
    return Engine(
        instruments,
        strategies,
        RiskModule(risk_limits),
        router,
        venue,
        equity_interval_ns=equity_interval_ns,
        cancel_on_stop=cancel_on_stop,
        books=books,
    )
