"""The strategy contract: one documented function per hook (pluggy project ``botkit``).

A strategy is a class built from its params (``Cls(params: dict)``) whose
methods are marked with ``@botkit.hookimpl``; it implements only the hooks it
needs, and a hook may take any subset of its arguments, by name
(``def on_trade(self, ctx, trade)``, ``def on_trade(self, trade)``, or just
``def on_stop(self)``). A method
that looks like a hook but is not marked, or a marked method whose name is no
hook, is refused when the bot is loaded (exit status 2, naming the method).

Hooks are plain synchronous functions: the engine owns the asyncio loop and
calls them one at a time, in event-time order. Every hook except
``scan_trades`` and ``on_trade_columns`` may return intents (``Place``, ``Edit``, ``Cancel``,
``CancelAll``): an iterable of them, a single one, or None. Intents go through
the risk module, then the execution router; refusals come back through
``on_order``. A hook that raises is logged and counted, and the run goes on.

The same hooks run in a backtest, a paper run and a live run; nothing in their
arguments tells them apart.

``INTERFACE_VERSION`` is the version of this contract. It grows when a hook or
a ``Context`` member is added (old strategies keep working), and its major part
changes only if one is removed or changes meaning.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeAlias

import pluggy

if TYPE_CHECKING:
    from botkit.context import Context
    from botkit.events import (
        Bar,
        BookDelta,
        BookSnapshot,
        OrderUpdate,
        Ticker,
        Timer,
        Trade,
        TradeBatch,
        TradeColumns,
    )
    from botkit.intents import At, Intent
    from botkit.model import Fill

    # What a hook returns: intents (any iterable), one intent, or None.
    Intents: TypeAlias = Iterable[Intent] | Intent | None

PROJECT = "botkit"
INTERFACE_VERSION = (1, 3)
"""(major, minor): 1.0 the nine event hooks; 1.1 added ``scan_trades``; 1.2 added
``ctx.free``, ``ctx.locked``, ``ctx.free_balances`` and ``ctx.locked_balances``;
1.3 added ``on_trade_columns``."""

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def on_start(ctx: Context) -> Intents:
    """Called once, before the first market event.

    Instruments, balances and (live) the orders and positions restored from the
    journal are known by then; the book is usually still empty.

    :param ctx: the strategy's view of the world (``botkit.Context``).
    """


@hookspec
def on_trade(ctx: Context, trade: Trade) -> Intents:
    """Called for every public trade on the strategy's symbols.

    The local book's ``last_price`` is this trade's price when the hook runs,
    and any of the strategy's resting orders it reached have been filled first
    (their ``on_fill`` is delivered after this hook returns).

    :param ctx: the strategy's view of the world.
    :param trade: the trade: ``ts_ns``, ``symbol``, ``price``, ``size`` (floats),
        ``side`` (the aggressor's ``Side``, None when the venue does not say),
        ``trade_id``.
    """


@hookspec
def scan_trades(ctx: Context, batch: TradeBatch, start: int, stop: int) -> int:
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
    A strategy that implements this hook must implement ``on_trade`` too.

    :param ctx: the strategy's view of the world (not advanced during the scan).
    :param batch: one symbol's trades as columns (``botkit.events.TradeBatch``).
    :param start: the first index to look at.
    :param stop: one past the last index the strategy may consume.
    :returns: the first index not consumed, in ``[start, stop]``.
    """


@hookspec
def on_trade_columns(ctx: Context, cols: TradeColumns, start: int, stop: int) -> int | At:
    """Optional, backtest only: decide on trades in bulk, from numpy columns.

    The columnar form of ``scan_trades``, for a strategy that computes its
    signals with numpy over a whole batch (an EMA is one ``lfilter`` call). It
    gets ``cols.ts_ns``, ``cols.price``, ``cols.size`` and ``cols.side``
    (+1 buy, -1 sell, 0 unknown) and looks at the trades from ``start`` on.
    It returns either:

    * an ``int`` k in ``[start, stop]``: trades ``start .. k-1`` consumed
      without acting, exactly as ``scan_trades`` (trade k, if there is one,
      reaches ``on_trade`` as usual; returning ``start`` is always correct);
    * ``At(k, intents)`` with k in ``[start, stop)``: trades ``start .. k``
      consumed, its state now as after trade k, and ``intents`` what
      ``on_trade`` would have returned for trade k. The engine cuts the batch
      there: trade k moves the book and the venue, then the intents go through
      the risk module, the router and the sim venue at trade k's time, exactly
      as on the per-event path, and the next call starts at k + 1.

    The promise it makes: for every trade it consumed, ``on_trade`` would have
    done the same (nothing, or these intents at k) from the same state. Inside
    ``[start, stop)`` nothing changes the strategy's view: the engine stops the
    range before timers, order arrivals, equity samples and trades that reach a
    resting order or a liquidation price. The clock (``ctx.now_ns``) is not
    advanced during the call: read ``cols.ts_ns[k]``. The engine uses this hook
    where it is the only strategy taking a symbol's trades (one strategy's
    intents could change what another decides, and a batch decision could not
    see them); with several it uses ``scan_trades``, or ``on_trade``. Live and
    paper runs call ``on_trade`` only. A hook that raises or answers out of
    range is counted like any hook error, and that strategy gets ``scan_trades``
    (if it has it) or ``on_trade`` from then on. A strategy that implements
    this hook must implement ``on_trade`` too.

    :param ctx: the strategy's view of the world (not advanced during the call).
    :param cols: one symbol's trades as numpy columns (``botkit.events.TradeColumns``).
    :param start: the first index to look at.
    :param stop: one past the last index the strategy may consume.
    :returns: the first index not consumed, or ``At(index, intents)``.
    """


@hookspec
def on_book(ctx: Context, book: BookSnapshot | BookDelta) -> Intents:
    """Called after each order book snapshot or delta is applied to ``ctx.book(symbol)``.

    :param ctx: the strategy's view of the world; ``ctx.book(book.symbol)`` is
        the book with this change applied.
    :param book: the change itself: a ``BookSnapshot`` (every level) or a
        ``BookDelta`` (changed levels; size 0 removes a level).
    """


@hookspec
def on_ticker(ctx: Context, ticker: Ticker) -> Intents:
    """Called for every best bid/ask (ticker) update.

    :param ctx: the strategy's view of the world.
    :param ticker: ``ts_ns``, ``symbol``, ``bid``, ``ask``, ``bid_size``,
        ``ask_size``, ``last`` (floats; None where the venue did not say).
    """


@hookspec
def on_bar(ctx: Context, bar: Bar) -> Intents:
    """Called when an OHLCV bar closes.

    The simulated venue has already filled what this bar reached; on bar-only
    data what this hook sends trades on the next bars (``sim.bar_fill``).

    :param ctx: the strategy's view of the world.
    :param bar: ``ts_ns`` (the bar's close time), ``symbol``, ``interval_ns``,
        ``open``, ``high``, ``low``, ``close``, ``volume``.
    """


@hookspec
def on_timer(ctx: Context, timer: Timer) -> Intents:
    """Called when one of the strategy's timers from bot.yaml fires.

    In a backtest timers run on the event clock, live on the wall clock.

    :param ctx: the strategy's view of the world.
    :param timer: ``ts_ns`` (now), ``name`` (the key in bot.yaml's ``timers:``),
        ``interval_ns``, ``scheduled_ns`` (when it was due; live it may fire a
        little late).
    """


@hookspec
def on_order(ctx: Context, order: OrderUpdate) -> Intents:
    """Called when one of the strategy's orders changes state, or a request about it
    is refused.

    Rejections arrive here too, with ``status`` REJECTED, a stable ``code``
    and a human ``reason``: from the risk module or from the venue. A refused
    edit or cancel leaves the order as it was and says why in ``code`` and
    ``reason``.

    :param ctx: the strategy's view of the world.
    :param order: an immutable snapshot (``botkit.events.OrderUpdate``):
        ``client_id``, ``symbol``, ``side``, ``type``, ``status``, ``price``,
        ``size``, ``filled``, ``avg_price``, ``venue_order_id``, ``code``,
        ``reason``, ``ts_ns``.
    """


@hookspec
def on_fill(ctx: Context, fill: Fill) -> Intents:
    """Called once per execution of one of the strategy's orders (never twice).

    :param ctx: the strategy's view of the world; the position and balances
        already include this fill.
    :param fill: ``trade_id`` (the venue's), ``client_id``, ``symbol``,
        ``side``, ``price``, ``size``, ``fee``, ``fee_asset``, ``liquidity``
        (maker or taker), ``ts_ns`` — exact ``Decimal`` money.
    """


@hookspec
def on_stop(ctx: Context) -> Intents:
    """Called once when the run ends; intents returned here are still processed.

    Afterwards, with ``live.cancel_on_stop`` (the default for paper and live),
    every open order of the strategy is cancelled.

    :param ctx: the strategy's view of the world.
    """
