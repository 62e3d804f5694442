"""The engine: one loop feeding market events to strategies and intents to the venue.

Every mode runs the same path: market event -> local book -> simulated or live
venue -> strategy hooks -> risk module -> router -> venue, and venue outcomes
(order updates, fills) back to the strategy that owns the order.

Strategies arrive registered (``botkit.plugins``), their hooks resolved into
plain callables, which the engine sorts into per-symbol call lists: the hot
loop never goes through pluggy's dispatch. A strategy that raises is logged and
counted; the loop goes on. The engine owns the clock and the loop; the node
(``botkit.node``) builds it and its collaborators for a mode.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import logging
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from typing import Any, Protocol

from botkit.account import exact
from botkit.book import OrderBook
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
)
from botkit.execution.router import ExecutionRouter
from botkit.execution.updates import ON_ORDER, Updates, snapshot
from botkit.intents import INTENT_TYPES, At, Cancel, CancelAll, Edit, Intent, Place
from botkit.model import ZERO, Instrument, Order, OrderStatus, OrderType, Side
from botkit.plugins import LoadedStrategy
from botkit.risk import RiskModule
from botkit.schedule import Schedule, Window, first_due, next_due

log = logging.getLogger("botkit.engine")

INF = 1 << 62
_ONE_INTENT = frozenset(INTENT_TYPES)


class SimulatedMarket(Protocol):
    """A venue that matches orders against the engine's own market data (backtest, paper).

    The engine hands it every trade and book change, and runs it on the
    engine's clock: requests in flight arrive at ``next_due`` (``advance``).
    A live venue matches on its own and has no such side: the engine then
    runs with :data:`NO_MARKET`.
    """

    # What a trade print can act on: resting orders and positions that can be
    # liquidated; 0 means no trade can do anything at the venue.
    resting_count: int
    next_due: int  # when the venue next acts on its own: a request arrives, funding is due

    def on_trade(self, trade: Trade, ts: int) -> None: ...

    def on_book(self, symbol: str) -> None: ...

    def on_bar(self, bar: Bar) -> None:
        """A bar closed: fill what it reached (on symbols whose only data is bars)."""
        ...

    def advance(self, now_ns: int) -> None: ...

    def begin(self, now_ns: int) -> None:
        """The clock starts (funding is scheduled from here)."""
        ...

    def end(self, now_ns: int) -> None:
        """The run ends: nothing new falls due (requests in flight still arrive)."""
        ...

    def first_touch(self, symbol: str, prices: Sequence[float], start: int, stop: int) -> int:
        """The index of the first price in ``[start, stop)`` that reaches a resting order
        (or a position's liquidation price)."""
        ...


class _NoMarket:
    """The engine's side of a venue that matches by itself: nothing rests, nothing is due."""

    resting_count = 0
    next_due = INF

    def on_trade(self, trade: Trade, ts: int) -> None:
        pass

    def on_book(self, symbol: str) -> None:
        pass

    def on_bar(self, bar: Bar) -> None:
        pass

    def advance(self, now_ns: int) -> None:
        pass

    def begin(self, now_ns: int) -> None:
        pass

    def end(self, now_ns: int) -> None:
        pass

    def first_touch(self, symbol: str, prices: Sequence[float], start: int, stop: int) -> int:
        return stop


NO_MARKET: SimulatedMarket = _NoMarket()


@dataclass
class _Slot:
    name: str
    ctx: Context
    symbols: frozenset[str] | None
    hooks: dict[str, Callable[..., Any]]
    timers: dict[str, Schedule]
    window: Window | None = None
    active: bool = True  # inside its trading window (always, without one)


# What a scheduled entry on the engine's clock does (botkit.schedule).
_TIMER, _OPEN, _CLOSE = 0, 1, 2


def _no_scan(ctx: Any, batch: TradeBatch, start: int, stop: int) -> int:
    return start


class Engine:
    def __init__(
        self,
        instruments: dict[str, Instrument],
        strategies: Sequence[LoadedStrategy],
        risk: RiskModule,
        router: ExecutionRouter,
        updates: Updates,
        market: SimulatedMarket = NO_MARKET,
        equity_interval_ns: int = 60_000_000_000,
        quote_asset: str | None = None,
        cancel_on_stop: bool = False,
        books: dict[str, OrderBook] | None = None,
        balance_check: bool | None = None,
        trade_path: str = "auto",
    ) -> None:
        """Run ``strategies`` (registered through ``botkit.plugins``) over ``instruments``.

        ``router`` sends what the risk module accepts to the venue and posts
        what comes back to ``updates``, which the engine delivers to strategies.
        ``market`` is the venue's matching side when it matches against the
        engine's own market data (backtest and paper), else :data:`NO_MARKET`.
        ``balance_check`` gives the risk module the router's free balances for
        its spot check (``insufficient_balance``); None means "where a
        simulated market keeps the account" (live, the node decides).
        ``trade_path`` picks how a backtest replays TradeBatches: "auto" (a
        symbol's only strategy's ``on_trade_columns``, else every strategy's
        ``scan_trades``, else ``on_trade``), "scan" (never columns) or
        "events" (``on_trade`` for every trade); all give the same run.
        """
        if trade_path not in ("auto", "scan", "events"):
            raise ValueError(f"trade_path is {trade_path!r}: use auto, scan or events")
        self.trade_path = trade_path
        self.instruments = instruments
        self.books = books if books is not None else {s: OrderBook(s) for s in instruments}
        self.risk = risk
        self.router = router
        self.market = market
        slippage = getattr(market, "slippage", None)
        if slippage is not None:
            # A market buy is locked at what the venue may charge: its slippage included.
            risk.slippage = slippage
        # The balance check runs on the router's free balances: the simulated
        # venue's account (backtest, paper), or live the venue's balances as the
        # gateway refreshes them at each reconciliation (``live.balance_check``).
        if balance_check is None:
            balance_check = market is not NO_MARKET
        self._free = router.locks.free if balance_check else None
        # Derivatives: the router's margin view is marked on the engine's books, and the
        # risk module checks margin at the account's leverage.
        router.margin.mark = self._mark
        risk.leverage = router.margin.leverage
        self.now_ns = 0
        self.events = 0
        self.rejects: Counter[str] = Counter()
        self.hook_errors: Counter[str] = Counter()
        self.cancel_on_stop = cancel_on_stop
        self.quote_asset = quote_asset or next(iter(instruments.values())).quote
        self.equity: list[tuple[int, Decimal]] = []
        # Each symbol's last trade price at each equity sample: what the equity was
        # marked at (the report's holdings drift, benchmark and price chart).
        self.marks: dict[str, list[tuple[int, float]]] = {sym: [] for sym in instruments}
        self.initial_equity: Decimal | None = None
        self._equity_interval = equity_interval_ns
        self._equity_due = INF
        self._updates = updates
        self._pending = updates.queue
        self._draining = False
        # (due, seq, strategy, timer name, schedule, what): timers and window edges
        self._timers: list[tuple[int, int, str, str, Schedule, int]] = []
        self._routes_changed = False
        self._tseq = itertools.count()
        self._next_wakeup = INF
        self.slots: dict[str, _Slot] = {}
        for loaded in strategies:
            spec = loaded.spec
            if spec.name in self.slots:
                raise ValueError(f"two strategies are named {spec.name!r}")
            self.slots[spec.name] = _Slot(
                spec.name,
                Context(spec.name, spec.params, self, instruments, self.books, router),
                spec.symbols,
                dict(loaded.hooks),
                dict(spec.timers),
                spec.window,
            )
        self._by_symbol: dict[str, dict[str, tuple[tuple[Callable[..., Any], Context, _Slot], ...]]]
        self._by_symbol = {}
        self._trade_routes: dict[str, tuple[OrderBook, Any]] = {}
        self._scan_routes: dict[str, tuple[OrderBook, list[list[Any]]]] = {}
        self._column_routes: dict[str, tuple[OrderBook, Callable[..., Any], Context, _Slot]] = {}
        self._build_routes()
        self._wants_orders = {n for n, s in self.slots.items() if "on_order" in s.hooks}
        # Consulted before the risk module for each new order and edit (cancels always
        # pass): None lets it through, else (code, reason) refuses it. Remote control
        # (botkit.ops) sets it while the bot is paused; None costs the hot path nothing.
        self.gate: Callable[[str, Place | Edit], tuple[str, str] | None] | None = None

    def _build_routes(self) -> None:
        """Who hears each market event: the strategies inside their trading window.

        The dicts are updated in place: a replay loop that holds one sees the change.
        """
        live = [s for s in self.slots.values() if s.active]
        self._by_symbol.clear()
        self._by_symbol.update(
            {
                hook: {
                    sym: tuple(
                        (s.hooks[hook], s.ctx, s)
                        for s in live
                        if hook in s.hooks and (s.symbols is None or sym in s.symbols)
                    )
                    for sym in self.instruments
                }
                for hook in ("on_trade", "on_book", "on_ticker", "on_bar")
            }
        )
        self._trade_routes.clear()
        self._trade_routes.update(
            {sym: (self.books[sym], self._by_symbol["on_trade"][sym]) for sym in self.instruments}
        )
        # Symbols whose every trade subscriber can scan: their TradeBatches take the
        # fast path. Entries are lists so a scanner that raises can be switched off.
        self._scan_routes.clear()
        self._scan_routes.update(
            {
                sym: (
                    self.books[sym],
                    [[s.hooks["scan_trades"], fn, ctx, s] for fn, ctx, s in subs],
                )
                for sym, subs in self._by_symbol["on_trade"].items()
                if all("scan_trades" in s.hooks for _, _, s in subs) and self.trade_path != "events"
            }
        )
        # A symbol whose only trade subscriber decides in bulk on numpy columns.
        self._column_routes.clear()
        if self.trade_path == "auto":
            self._column_routes.update(
                {
                    sym: (
                        self.books[sym],
                        subs[0][2].hooks["on_trade_columns"],
                        subs[0][1],
                        subs[0][2],
                    )
                    for sym, subs in self._by_symbol["on_trade"].items()
                    if len(subs) == 1 and "on_trade_columns" in subs[0][2].hooks
                }
            )
        self._routes_changed = True

    def _schedule(self, due: int | None, slot: str, name: str, when: Schedule, what: int) -> None:
        if due is not None:
            heapq.heappush(self._timers, (due, next(self._tseq), slot, name, when, what))

    # ----- lifecycle -------------------------------------------------------------------

    def start(self, now_ns: int) -> None:
        self.now_ns = now_ns
        windowed = False
        for slot in self.slots.values():
            for tname, when in slot.timers.items():
                self._schedule(first_due(when, now_ns), slot.name, tname, when, _TIMER)
            w = slot.window
            if w is not None:
                windowed = True
                slot.active = w.is_open(now_ns)
                self._schedule(w.open.next_after(now_ns), slot.name, "", w.open, _OPEN)
                self._schedule(w.close.next_after(now_ns), slot.name, "", w.close, _CLOSE)
        if windowed:
            self._build_routes()
        if self._equity_interval > 0:
            self._equity_due = now_ns  # the first sample as soon as prices are known
        self.market.begin(now_ns)
        self._routes_changed = False
        self._refresh_wakeup()
        for slot in self.slots.values():
            self._call(slot, "on_start")

    def stop(self) -> None:
        for slot in self.slots.values():
            self._call(slot, "on_stop")
        if self.cancel_on_stop:
            for slot in self.slots.values():
                self.router.cancel_all(slot.name, None, self.now_ns)
            self._drain()
        self.market.end(self.now_ns)
        self._drain()
        # Requests still on their way (order latency) arrive, so no order ends half-sent.
        while self.market.next_due < INF:
            self.now_ns = self.market.next_due
            self.market.advance(self.now_ns)
            self._drain()
        self._sample_equity(self.now_ns)

    # ----- the loop ---------------------------------------------------------------------

    def run_backtest(
        self, batches: Iterable[Sequence[Any]], on_batch: Callable[[int], None] | None = None
    ) -> None:
        """Replay time-ordered batches of market events on the event clock.

        A batch is a list of events or a :class:`TradeBatch` (the trades of one
        symbol as columns), which skips quiet trades in bulk when the symbol's
        strategies implement ``scan_trades``.
        """
        started = False
        n = 0
        # Automatic GC would walk every young event object again and again (a third
        # of the run time); events make no reference cycles, so collect between batches.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            for i, batch in enumerate(batches):
                if not started and len(batch):
                    self.start(batch[0].ts_ns)
                    started = True
                if batch.__class__ is TradeBatch:
                    self._replay_trade_batch(batch)  # type: ignore[arg-type]
                else:
                    self._replay_events(batch)
                n += len(batch)
                if i % 32 == 31:
                    gc.collect(1)
                if on_batch is not None:
                    on_batch(n)
        finally:
            if gc_was_enabled:
                gc.enable()
        self.events += n
        if not started:
            self.start(0)

    def _replay_events(self, batch: Iterable[Any]) -> None:
        venue = self.market
        routes = self._trade_routes
        books = self.books
        by_symbol = self._by_symbol  # updated in place when a trading window opens or closes
        for ev in batch:
            ts = ev.ts_ns
            if ts >= self._next_wakeup:
                self._wake(ts)
            self.now_ns = ts
            cls = ev.__class__
            if cls is Trade:  # _deliver inlined: this runs once per trade
                route = routes.get(ev.symbol)
                if route is None:
                    continue
                route[0].last_trade = ev
                if venue.resting_count:
                    venue.on_trade(ev, ts)
                    if self._pending:
                        self._drain()
                for fn, ctx, slot in route[1]:
                    try:
                        out = fn(ctx, ev)
                    except Exception:
                        self._hook_failed(slot, "on_trade")
                        continue
                    if out:
                        self._emit(slot, out)
            elif cls is BookDelta:  # dispatch_other and _fan_out inlined: once per book update
                sym = ev.symbol
                book = books.get(sym)
                if book is None:
                    continue
                book.apply_delta(ev)
                if venue.resting_count:
                    venue.on_book(sym)
                for fn, ctx, slot in by_symbol["on_book"][sym]:
                    try:
                        out = fn(ctx, ev)
                    except Exception:
                        self._hook_failed(slot, "on_book")
                        continue
                    if out:
                        self._emit(slot, out)
            else:
                self.dispatch_other(ev)

    def _replay_trade_batch(self, batch: TradeBatch) -> None:
        rest: TradeBatch | None = batch
        while rest is not None:
            if rest.symbol in self._column_routes:
                rest = self._replay_trade_columns(rest)
            else:
                rest = self._replay_trade_run(rest)

    def _replay_trade_columns(self, batch: TradeBatch) -> TradeBatch | None:
        """The same outcome as replaying ``batch`` trade by trade, decided on columns.

        The one strategy taking these trades is asked for the range up to the
        next wake-up (timer, order arrival, equity sample) or the next trade that
        reaches a resting order; it answers with the first trade it did not
        consume, or with intents and the trade that triggered them. That trade
        then goes through the one-by-one path (book, venue, clock), carrying the
        intents instead of an ``on_trade`` call.
        """
        book, hook, ctx, slot = self._column_routes[batch.symbol]
        on_trade = slot.hooks["on_trade"]
        venue = self.market
        cols = batch.columns()
        ts = cols.ts_ns
        prices = cols.price
        n = len(ts)
        if not n:
            return None
        last_ts = int(ts[-1])
        i = 0
        seen_wake, wake_at = -1, n
        while i < n:
            wake = self._next_wakeup
            if wake != seen_wake:
                seen_wake = wake
                wake_at = int(ts.searchsorted(wake)) if wake <= last_ts else n
            cap = wake_at if wake_at > i else i
            if venue.resting_count and cap > i:
                cap = venue.first_touch(batch.symbol, prices, i, cap)
            k, intents, acted = i, None, False
            if i < cap:
                try:
                    out = hook(ctx, cols, i, cap)
                    if out.__class__ is At:
                        k, intents = out
                        acted = True
                        if k.__class__ is not int or not i <= k < cap:
                            raise ValueError(
                                f"on_trade_columns returned At({k!r}), not in [{i}, {cap})"
                            )
                    elif out.__class__ is int and i <= out <= cap:
                        k = out
                    else:
                        raise ValueError(
                            f"on_trade_columns returned {out!r}, not an index in [{i}, {cap}]"
                        )
                except Exception:
                    self._hook_failed(slot, "on_trade_columns")
                    # From here on: its scan_trades, or on_trade for every trade.
                    del slot.hooks["on_trade_columns"]
                    self._build_routes()
                    self._routes_changed = False
                    return batch[i:]  # type: ignore[return-value]
            if k >= n:
                break
            # An answer's trade lies before every wake-up: its range ended before them.
            ev = self._take_trade(batch, book, k, int(ts[k]), not acted)
            if ev is None:
                return batch[k:]  # type: ignore[return-value]
            if not acted:
                self._deliver(on_trade, ctx, slot, "on_trade", ev)
            elif intents:
                self._emit(slot, intents)
            i = k + 1
        if i < n:  # the batch ended inside a consumed range
            book.last_trade = batch[n - 1]
        self.now_ns = last_ts
        return None

    def _replay_trade_run(self, batch: TradeBatch) -> TradeBatch | None:
        """The same outcome as replaying ``batch`` trade by trade, with quiet trades skipped.

        Each scanning strategy keeps its own cursor: the first trade it has not
        consumed. A trade is processed one by one (book, venue, on_trade for the
        strategies whose cursor is on it) only where a strategy stopped, or where
        something else needs it: a timer, an order arriving, an equity sample
        (all wake-ups on the clock) or a trade reaching a resting order. A scan
        never runs past those, so a strategy that is ahead of the others has only
        consumed trades that concern nobody but itself.
        """
        route = self._scan_routes.get(batch.symbol)
        if route is None:
            self._replay_events(batch.events())
            return None
        book, scanners = route
        venue = self.market
        ts = batch.ts_ns
        prices = batch.price
        n = len(ts)
        if not n:
            return None
        cursors = [0] * len(scanners)
        i = 0
        seen_wake, wake_at = -1, n  # the wake-up time last looked up, and its index
        while i < n:
            wake = self._next_wakeup
            if wake != seen_wake:
                seen_wake = wake
                wake_at = bisect_left(ts, wake, i, n) if wake <= ts[-1] else n
            cap = wake_at if wake_at > i else i
            if venue.resting_count and cap > i:
                cap = venue.first_touch(batch.symbol, prices, i, cap)
            p = cap
            for j, entry in enumerate(scanners):
                c = cursors[j]
                if c < cap:
                    c = self._scan(entry, batch, c, cap)
                    cursors[j] = c
                if c < p:
                    p = c
            if p >= n:
                break
            # Trade p goes through the one-by-one path.
            ev = self._take_trade(batch, book, p, ts[p], True)
            if ev is None:
                return batch[p:]  # type: ignore[return-value]
            for j, (_, fn, ctx, slot) in enumerate(scanners):
                if cursors[j] == p:  # else it consumed this trade in a scan already
                    cursors[j] = p + 1
                    self._deliver(fn, ctx, slot, "on_trade", ev)
            i = p + 1
        if i < n:  # the batch ended inside a scan
            book.last_trade = batch[n - 1]
        self.now_ns = ts[n - 1]
        return None

    def _take_trade(
        self, batch: TradeBatch, book: OrderBook, k: int, t: int, wake: bool
    ) -> Trade | None:
        """Trade k of a batch through the one-by-one path, up to its strategies: what is
        due by its time (with ``wake``), the clock, the book's last trade, the venue.

        None when a trading window opened or closed at a wake-up: who hears the symbol
        changed, and every scan stopped here (scans end at wake-ups), so the caller
        replays the rest of the batch on the new routes.
        """
        if wake and t >= self._next_wakeup:
            if k:
                book.last_trade = batch[k - 1]  # what wake-ups (equity) see as the last price
            self._wake(t)
            if self._routes_changed:
                self._routes_changed = False
                return None
        self.now_ns = t
        ev = batch[k]
        book.last_trade = ev
        venue = self.market
        if venue.resting_count:
            venue.on_trade(ev, t)
            if self._pending:
                self._drain()
        return ev

    def _scan(self, entry: list[Any], batch: TradeBatch, start: int, stop: int) -> int:
        scan, _, ctx, slot = entry
        try:
            k = scan(ctx, batch, start, stop)
            if k.__class__ is not int or not start <= k <= stop:
                raise ValueError(f"scan_trades returned {k!r}, not an index in [{start}, {stop}]")
        except Exception:
            self._hook_failed(slot, "scan_trades")
            entry[0] = _no_scan  # from here on every trade goes through on_trade
            return start
        return k

    def dispatch(self, ev: Any) -> None:
        """Handle one market event (live and paper feed it one at a time)."""
        ts = ev.ts_ns
        if ts >= self._next_wakeup:
            self._wake(ts)
        if ts > self.now_ns:
            self.now_ns = ts
        self.events += 1
        if ev.__class__ is Trade:
            book = self.books.get(ev.symbol)
            if book is None:
                return
            book.last_trade = ev
            if self.market.resting_count:
                # Fills are stamped on the engine's clock: a live trade's own time is the
                # venue's, which may be earlier than orders placed since it was printed.
                self.market.on_trade(ev, self.now_ns)
                self._drain()
            self._fan_out("on_trade", ev.symbol, ev)
        else:
            self.dispatch_other(ev)

    def dispatch_other(self, ev: Any) -> None:
        cls = ev.__class__
        book = self.books.get(ev.symbol)
        if book is None:
            return
        if cls is BookDelta or cls is BookSnapshot:
            if cls is BookDelta:
                book.apply_delta(ev)
            else:
                book.apply_snapshot(ev)
            if self.market.resting_count:
                self.market.on_book(ev.symbol)
            self._fan_out("on_book", ev.symbol, ev)
        elif cls is Bar:
            # The venue sees the bar before the strategies: orders sent on earlier bars
            # trade on it, and what a strategy sends now can first trade on the next one.
            book.apply_bar(ev)
            self.market.on_bar(ev)
            self._drain()
            self._fan_out("on_bar", ev.symbol, ev)
        elif cls is Ticker:
            book.apply_ticker(ev)
            # The quote may show a resting order's level smaller: the queue ahead shrinks.
            if self.market.resting_count:
                self.market.on_book(ev.symbol)
            self._fan_out("on_ticker", ev.symbol, ev)
        else:
            log.warning("dropped an event of unknown type %s", cls.__name__)

    def _fan_out(self, hook: str, symbol: str, ev: Any) -> None:
        for fn, ctx, slot in self._by_symbol[hook][symbol]:
            self._deliver(fn, ctx, slot, hook, ev)

    def _deliver(
        self, fn: Callable[..., Any], ctx: Context, slot: _Slot, hook: str, ev: Any
    ) -> None:
        try:
            out = fn(ctx, ev)
        except Exception:
            self._hook_failed(slot, hook)
            return
        if out:
            self._emit(slot, out)

    # ----- time: timers, venue latency, equity samples -------------------------------

    def _refresh_wakeup(self) -> None:
        t = self._timers[0][0] if self._timers else INF
        self._next_wakeup = min(t, self.market.next_due, self._equity_due)

    def _wake(self, ts: int) -> None:
        """Run everything due up to ``ts``, in time order, on the event clock."""
        while True:
            t_timer = self._timers[0][0] if self._timers else INF
            t_venue = self.market.next_due
            t_eq = self._equity_due
            t = min(t_timer, t_venue, t_eq)
            if t > ts:
                break
            self.now_ns = t
            if t == t_venue:
                self.market.advance(t)
                self._drain()
            elif t == t_timer:
                due, _, sname, tname, when, what = heapq.heappop(self._timers)
                self._schedule(next_due(when, due), sname, tname, when, what)
                slot = self.slots[sname]
                if what == _TIMER:
                    if slot.active:
                        interval = when if when.__class__ is int else 0
                        self._call(slot, "on_timer", Timer(t, tname, interval, due))  # type: ignore[arg-type]
                elif (what == _OPEN) is not slot.active:
                    self._toggle_window(slot, what == _OPEN)
            else:
                # Until every holding has a price, try again at the next event; then
                # stay on the interval grid.
                iv = self._equity_interval
                if self._sample_equity(t):
                    due = (t // iv + 1) * iv
                    # Samples before the next timer, order arrival or event all see what
                    # this one saw (nothing else moves the account or the prices): copy it.
                    quiet = min(ts, t_timer - 1, t_venue - 1)
                    if due <= quiet:
                        due = self._repeat_sample(t, range(due, quiet + 1, iv))
                    self._equity_due = due
                else:
                    self._equity_due = ts + 1
        self._refresh_wakeup()

    def _repeat_sample(self, t: int, dues: range) -> int:
        """The sample taken at ``t`` again at each of ``dues``; the next due after them."""
        eq = self.equity[-1][1]
        self.equity.extend(zip(dues, repeat(eq)))
        for path in self.marks.values():
            if path and path[-1][0] == t:
                path.extend(zip(dues, repeat(path[-1][1])))
        return dues[-1] + dues.step

    def _mark(self, symbol: str) -> Decimal | None:
        book = self.books.get(symbol)
        last = None if book is None else book.last_price
        return None if last is None else exact(last)

    def _toggle_window(self, slot: _Slot, opening: bool) -> None:
        """A strategy's trading window opened or closed: it hears market events and
        timers only inside it, and its orders are cancelled when it closes."""
        slot.active = opening
        self._build_routes()
        log.info("strategy %s: trading window %s", slot.name, "opens" if opening else "closes")
        if not opening:
            self.router.cancel_all(slot.name, None, self.now_ns)
            self._drain()

    def equity_now(self) -> Decimal:
        """Account value in the quote asset, assets marked at the last trade price."""
        return self._equity()[0]

    def _equity(self) -> tuple[Decimal, bool]:
        """(equity, complete): complete is False while a held asset has no price yet."""
        bal = self.router.balances
        total = bal.get(self.quote_asset, ZERO)
        complete = True
        marked: set[str] = {self.quote_asset}
        for sym, inst in self.instruments.items():
            if inst.base in marked or inst.quote != self.quote_asset:
                continue
            amount = bal.get(inst.base, ZERO)
            if not amount:
                continue
            last = self.books[sym].last_price
            if last is None:
                complete = False
                continue
            total += amount * Decimal(repr(last))
            marked.add(inst.base)
        margin = self.router.margin
        if margin.positions:
            # Derivative positions add their PnL at the marks, in their settlement asset.
            for asset in {margin.instruments[s].value_asset for s in margin.positions}:
                upnl = margin.state(asset)[0]
                if asset == self.quote_asset:
                    total += upnl
                    continue
                price = self._asset_price(asset)
                if price is None:
                    complete = False
                else:
                    total += upnl * price
        return total, complete

    def _asset_price(self, asset: str) -> Decimal | None:
        """An asset's price in the quote asset: the last price of an instrument it is the
        base of, quoted in the quote asset."""
        for sym, inst in self.instruments.items():
            if inst.base == asset and inst.quote == self.quote_asset:
                last = self.books[sym].last_price
                return None if last is None else Decimal(repr(last))
        return None

    def _sample_equity(self, ts: int) -> bool:
        eq, complete = self._equity()
        if not complete:
            return False  # an unpriced holding would show as a loss
        if self.initial_equity is None:
            self.initial_equity = eq
        again = bool(self.equity) and self.equity[-1][0] == ts
        if again:
            self.equity[-1] = (ts, eq)
        else:
            self.equity.append((ts, eq))
        for sym, path in self.marks.items():
            last = self.books[sym].last_price
            if last is None:
                continue
            if path and path[-1][0] == ts:
                path[-1] = (ts, last)
            else:
                path.append((ts, last))
        return True

    # ----- intents ----------------------------------------------------------------------

    def _call(self, slot: _Slot, hook: str, *args: Any) -> None:
        fn = slot.hooks.get(hook)
        if fn is None:
            return
        try:
            out = fn(slot.ctx, *args)
        except Exception:
            self._hook_failed(slot, hook)
            return
        if out:
            self._emit(slot, out)

    def _hook_failed(self, slot: _Slot, hook: str) -> None:
        key = f"{slot.name}.{hook}"
        self.hook_errors[key] += 1
        if self.hook_errors[key] <= 3:  # the first few with traceback, then only counted
            log.exception("strategy %s raised in %s; the loop goes on", slot.name, hook)

    def tick(self, now_ns: int) -> None:
        """Advance the wall clock when no market event came (live timers)."""
        if now_ns >= self._next_wakeup:
            self._wake(now_ns)
        if now_ns > self.now_ns:
            self.now_ns = now_ns

    def deliver(self) -> None:
        """Deliver what the router posted since (live: the venue reported something)."""
        self._drain()

    def submit(self, strategy: str, intents: Iterable[Any]) -> None:
        """Process intents on behalf of a strategy (e.g. remote control)."""
        self._emit(self.slots[strategy], intents)

    def _emit(self, slot: _Slot, intents: Iterable[Any] | Intent) -> None:
        if intents.__class__ in _ONE_INTENT:
            self._apply(slot, intents)  # a bare intent: intents are tuples, not to be iterated
        else:
            try:
                each = iter(intents)  # type: ignore[arg-type]
            except TypeError:
                log.error("strategy %s returned %r, not intents", slot.name, intents)
                self.hook_errors[f"{slot.name}.return"] += 1
                each = iter(())
            for intent in each:
                self._apply(slot, intent)
        self._drain()
        if self.market.next_due < self._next_wakeup:
            self._next_wakeup = self.market.next_due

    def _apply(self, slot: _Slot, intent: Any) -> None:
        router = self.router
        name = slot.name
        cls = intent.__class__
        if not slot.active and (cls is Place or cls is Edit):
            self._rejected(
                slot, intent, "outside_window", "the strategy's trading window is closed"
            )
            return
        if cls is Place:
            if self.gate is not None and (refused := self.gate(name, intent)) is not None:
                self._rejected(slot, intent, *refused)
                return
            symbol = intent.symbol
            d = self.risk.check(
                intent,
                self.instruments.get(symbol),
                router.position_size(name, symbol),
                self.books.get(symbol),
                router.open_view(name, symbol),
                now_ns=self.now_ns,
                open_order_count=router.open_count,
                balances=self._free,
            )
            if d.accepted:
                router.place(name, d.intent, self.now_ns, d.lock)
            else:
                self._rejected(slot, intent, d.code, d.reason)
        elif cls is Edit:
            order = router.orders.get(intent.client_id)
            if order is None or order.strategy != name or not order.is_open:
                self._edit_refused(
                    slot,
                    intent.client_id,
                    order if order is not None and order.strategy == name else None,
                )
                return
            if self.gate is not None and (refused := self.gate(name, intent)) is not None:
                self._rejected(slot, intent, *refused)
                return
            symbol = order.symbol
            others = [o for o in router.open_orders(name, symbol) if o is not order]
            d = self.risk.check(
                intent,
                self.instruments.get(symbol),
                router.position_size(name, symbol),
                self.books.get(symbol),
                others,
                order=order,
                now_ns=self.now_ns,
                open_order_count=router.open_count,
                balances=self._free,
            )
            if d.accepted:
                router.edit(name, d.intent, self.now_ns)
            else:
                self._rejected(slot, intent, d.code, d.reason)
        elif cls is Cancel:
            router.cancel(name, intent.client_id, self.now_ns)
        elif cls is CancelAll:
            router.cancel_all(name, intent.symbol, self.now_ns)
        else:
            self.rejects["invalid_intent"] += 1
            log.error("strategy %s emitted %r, which is not an intent", name, intent)

    def _edit_refused(self, slot: _Slot, client_id: str, order: Order | None) -> None:
        """An edit of an order that is closed (it raced a fill) or was never this strategy's."""
        code = "order_not_open" if order is not None else "unknown_order"
        self.rejects[code] += 1
        if slot.name not in self._wants_orders:
            return
        if order is not None:
            update = snapshot(
                order, self.now_ns, code, f"the order is {order.status.value}; nothing to edit"
            )
        else:
            update = OrderUpdate(
                self.now_ns,
                client_id,
                "",
                Side.BUY,
                OrderType.LIMIT,
                OrderStatus.REJECTED,
                None,
                ZERO,
                ZERO,
                None,
                None,
                code,
                "no order with this client id",
                slot.name,
            )
        self._updates.post(slot.name, update)
        self._drain()

    def _rejected(self, slot: _Slot, intent: Place | Edit, code: str | None, reason: str) -> None:
        code = code or "rejected"
        self.rejects[code] += 1
        log.debug("%s: %s rejected: %s (%s)", slot.name, type(intent).__name__, reason, code)
        self.router.reject_local(slot.name, intent, code, reason, self.now_ns)

    # ----- order updates and fills back to strategies ---------------------------------

    def _drain(self) -> None:
        if self._draining:
            return  # the outer drain picks these up, in order
        self._draining = True
        pending = self._pending
        try:
            while pending:
                kind, strategy, obj = pending.popleft()
                slot = self.slots.get(strategy)
                if slot is not None:
                    self._call(slot, "on_order" if kind == ON_ORDER else "on_fill", obj)
        finally:
            self._draining = False


__all__ = ["NO_MARKET", "Engine", "SimulatedMarket", "snapshot"]
