"""Hook specifications for strategies (pluggy project ``botkit``).

A strategy is a class built from its params (``Cls(params)``) whose methods are
marked with ``@hookimpl``; it implements only the hooks it needs. Hooks are
plain synchronous functions: the engine owns the asyncio loop and calls them in
event-time order. Every hook may return an iterable of intents
(``Place``, ``Edit``, ``Cancel``, ``CancelAll``), a single intent, or None.

``ctx`` is the strategy's read-only view of the world: ``ctx.now_ns``,
``ctx.params``, ``ctx.instrument(symbol)``, ``ctx.book(symbol)``,
``ctx.open_orders(symbol)``, ``ctx.position(symbol)``, ``ctx.balance(asset)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from botkit.events import (
        Bar,
        BookDelta,
        BookSnapshot,
        OrderUpdate,
        Ticker,
        Timer,
        Trade,
        TradeBatch,
    )
    from botkit.intents import Intent
    from botkit.model import Fill

PROJECT = "botkit"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Intents = Iterable["Intent"] | None


@hookspec
def on_start(ctx: Any) -> Intents:
    """Called once before the first event, after instruments and balances are known."""


@hookspec
def on_trade(ctx: Any, trade: Trade) -> Intents:
    """Called for every public trade on the strategy's symbols."""


@hookspec
def scan_trades(ctx: Any, batch: TradeBatch, start: int, stop: int) -> int:
    """Optional, backtest only: skip the trades ``on_trade`` would ignore, in bulk.

    A strategy driven by trades usually does nothing on most of them (an EMA
    cross strategy updates two numbers). When every strategy that takes a
    symbol's trades implements this hook, the engine hands it the trades as
    columns instead of calling ``on_trade`` once per trade. The strategy reads
    ``batch.price[i]`` (and ``batch.ts_ns``, or ``batch[i]`` for a whole Trade)
    for ``i`` from ``start`` on, updating its state exactly as ``on_trade``
    would, and returns the index of the first trade it did *not* consume:
    one on which ``on_trade`` might act, or ``stop`` when none. The engine then
    sends that trade through ``on_trade`` as usual.

    The promise it makes: for every trade it consumed, ``on_trade`` would have
    returned no intents and read nothing from ``ctx`` (the clock, the book and
    the account are not advanced during a scan). Timers, order arrivals and
    trades that reach a resting order never fall inside ``[start, stop)``: the
    engine stops the range before them. Returning ``start`` is always correct.
    Live and paper runs call ``on_trade`` only. A strategy that raises here is
    counted like any hook error and gets ``on_trade`` for every trade from then on.
    """


@hookspec
def on_book(ctx: Any, book: BookSnapshot | BookDelta) -> Intents:
    """Called after each order book snapshot or delta is applied to ``ctx.book(symbol)``."""


@hookspec
def on_ticker(ctx: Any, ticker: Ticker) -> Intents:
    """Called for every best bid/ask (ticker) update."""


@hookspec
def on_bar(ctx: Any, bar: Bar) -> Intents:
    """Called when an OHLCV bar closes."""


@hookspec
def on_timer(ctx: Any, timer: Timer) -> Intents:
    """Called when one of the strategy's timers from bot.yaml fires.

    In a backtest timers run on the event clock, live on the wall clock.
    """


@hookspec
def on_order(ctx: Any, order: OrderUpdate) -> Intents:
    """Called when one of the strategy's orders changes state.

    Rejections arrive here too, with ``status`` REJECTED, a stable ``code``
    and a human ``reason``: from the risk module or from the venue.
    """


@hookspec
def on_fill(ctx: Any, fill: Fill) -> Intents:
    """Called once per execution of one of the strategy's orders (never twice)."""


@hookspec
def on_stop(ctx: Any) -> Intents:
    """Called once when the run ends; intents returned here are still processed."""
