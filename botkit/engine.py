"""The engine: one loop feeding market events to strategies and intents to the venue.

Every mode runs the same path: market event -> local book -> simulated or live
venue -> strategy hooks -> risk module -> router -> venue, and venue outcomes
(order updates, fills) back to the strategy that owns the order.

Hook implementations are resolved once, from pluggy's registry, into plain
per-symbol call lists: the hot loop never goes through pluggy's dispatch. A
strategy that raises is logged and counted; the loop goes on.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import logging
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pluggy

from botkit import hookspecs
from botkit.book import OrderBook
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
from botkit.execution import NOTIFY_ORDER, ExecutionRouter
from botkit.intents import INTENT_TYPES, Cancel, CancelAll, Edit, Intent, Place
from botkit.model import ZERO, Fill, Instrument, Order, OrderStatus, OrderType, Position, Side
from botkit.risk import RiskModule

log = logging.getLogger("botkit.engine")

HOOKS = (
    "on_start",
    "on_trade",
    "scan_trades",
    "on_book",
    "on_ticker",
    "on_bar",
    "on_timer",
    "on_order",
    "on_fill",
    "on_stop",
)
_ARGS = {
    "on_start": ("ctx",),
    "on_stop": ("ctx",),
    "on_trade": ("ctx", "trade"),
    "scan_trades": ("ctx", "batch", "start", "stop"),
    "on_book": ("ctx", "book"),
    "on_ticker": ("ctx", "ticker"),
    "on_bar": ("ctx", "bar"),
    "on_timer": ("ctx", "timer"),
    "on_order": ("ctx", "order"),
    "on_fill": ("ctx", "fill"),
}
INF = 1 << 62
_ONE_INTENT = frozenset(INTENT_TYPES)


class Context:
    """A strategy's read-only view: clock, instruments, books, its orders, positions, balances."""

    __slots__ = ("_engine", "log", "name", "params")

    def __init__(self, engine: Engine, name: str, params: dict[str, Any]) -> None:
        self._engine = engine
        self.name = name
        self.params = params
        self.log = logging.getLogger(f"botkit.strategy.{name}")

    @property
    def now_ns(self) -> int:
        return self._engine.now_ns

    @property
    def instruments(self) -> dict[str, Instrument]:
        return self._engine.instruments

    def instrument(self, symbol: str) -> Instrument:
        return self._engine.instruments[symbol]

    def book(self, symbol: str) -> OrderBook:
        return self._engine.books[symbol]

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return self._engine.router.open_orders(self.name, symbol)

    def order(self, client_id: str) -> Order | None:
        o = self._engine.router.orders.get(client_id)
        return o if o is not None and o.strategy == self.name else None

    def position(self, symbol: str) -> Decimal:
        """Signed position size of this strategy (long > 0)."""
        return self._engine.router.position_size(self.name, symbol)

    def position_info(self, symbol: str) -> Position:
        return self._engine.router.position(self.name, symbol)

    def balance(self, asset: str) -> Decimal:
        return self._engine.router.balances.get(asset, ZERO)

    @property
    def balances(self) -> dict[str, Decimal]:
        return dict(self._engine.router.balances)


@dataclass
class StrategySpec:
    """One strategy instance to run: its name, the object, its params and timers."""

    name: str
    instance: object
    params: dict[str, Any] = field(default_factory=dict)
    symbols: frozenset[str] | None = None  # None: every configured symbol
    timers: dict[str, int] = field(default_factory=dict)  # name -> interval ns


@dataclass
class _Slot:
    name: str
    ctx: Context
    symbols: frozenset[str] | None
    hooks: dict[str, Callable[..., Any]]
    timers: dict[str, int]


def _caller(impl: pluggy.HookImpl, hook: str) -> Callable[..., Any]:
    """A positional callable for a hookimpl, which may take any subset of the spec's args."""
    fn = impl.function
    spec_args = _ARGS[hook]
    args = tuple(impl.argnames)
    if args == spec_args:
        return fn
    if not set(args) <= set(spec_args):
        raise TypeError(f"{hook} takes {spec_args}, the strategy asks for {args}")
    pick = [spec_args.index(a) for a in args]
    return lambda *a: fn(*(a[i] for i in pick))


def _no_scan(ctx: Any, batch: TradeBatch, start: int, stop: int) -> int:
    return start


def plugin_view(instance: object) -> SimpleNamespace:
    """What pluggy registers for a strategy: its marked methods, found on the class.

    pluggy's ``register`` calls ``dir()`` on the plugin, which materialises the
    instance's ``__dict__``; from then on CPython reads every attribute of that
    instance on a slower path (measured 2.2x on a hook doing EMA arithmetic).
    So the strategy itself is never handed to pluggy: a view holding its bound
    methods is, and the methods still run on the untouched instance.
    """
    cls = type(instance)
    marker = f"{hookspecs.PROJECT}_impl"
    methods = {
        name: getattr(instance, name)
        for name in dir(cls)
        if not name.startswith("__") and hasattr(getattr(cls, name, None), marker)
    }
    return SimpleNamespace(**methods)


def resolve_hooks(pm: pluggy.PluginManager, plugin: object) -> dict[str, Callable[..., Any]]:
    hooks: dict[str, Callable[..., Any]] = {}
    for name in HOOKS:
        for impl in getattr(pm.hook, name).get_hookimpls():
            if impl.plugin is plugin:
                hooks[name] = _caller(impl, name)
    return hooks


class Engine:
    def __init__(
        self,
        instruments: dict[str, Instrument],
        strategies: list[StrategySpec],
        risk: RiskModule,
        router: ExecutionRouter,
        venue: Any,
        equity_interval_ns: int = 60_000_000_000,
        quote_asset: str | None = None,
        cancel_on_stop: bool = False,
        books: dict[str, OrderBook] | None = None,
    ) -> None:
        self.instruments = instruments
        self.books = books if books is not None else {s: OrderBook(s) for s in instruments}
        self.risk = risk
        self.router = router
        self.venue = venue
        self.now_ns = 0
        self.events = 0
        self.rejects: Counter[str] = Counter()
        self.hook_errors: Counter[str] = Counter()
        self.cancel_on_stop = cancel_on_stop
        self.quote_asset = quote_asset or next(iter(instruments.values())).quote
        self.equity: list[tuple[int, Decimal]] = []
        self.initial_equity: Decimal | None = None
        self._equity_interval = equity_interval_ns
        self._equity_due = INF
        self._pending: deque[tuple[int, str, Any]] = deque()
        self._draining = False
        self._timers: list[tuple[int, int, str, str, int]] = []
        self._tseq = itertools.count()
        self._next_wakeup = INF
        router._notify = self._notify  # the router reports to whoever runs it
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.slots: dict[str, _Slot] = {}
        for spec in strategies:
            if spec.name in self.slots:
                raise ValueError(f"two strategies are named {spec.name!r}")
            view = plugin_view(spec.instance)
            self.pm.register(view, name=spec.name)
            self.slots[spec.name] = _Slot(
                spec.name,
                Context(self, spec.name, spec.params),
                spec.symbols,
                resolve_hooks(self.pm, view),
                dict(spec.timers),
            )
        self.pm.check_pending()
        self._by_symbol: dict[str, dict[str, tuple[tuple[Callable[..., Any], Context, _Slot], ...]]]
        self._by_symbol = {
            hook: {
                sym: tuple(
                    (s.hooks[hook], s.ctx, s)
                    for s in self.slots.values()
                    if hook in s.hooks and (s.symbols is None or sym in s.symbols)
                )
                for sym in instruments
            }
            for hook in ("on_trade", "on_book", "on_ticker", "on_bar")
        }
        self._trade_routes = {
            sym: (self.books[sym], self._by_symbol["on_trade"][sym]) for sym in instruments
        }
        for s in self.slots.values():
            if "scan_trades" in s.hooks and "on_trade" not in s.hooks:
                raise TypeError(
                    f"strategy {s.name} implements scan_trades without on_trade: the trade "
                    "a scan stops at is delivered through on_trade"
                )
        # Symbols whose every trade subscriber can scan: their TradeBatches take the
        # fast path. Entries are lists so a scanner that raises can be switched off.
        self._scan_routes: dict[str, tuple[OrderBook, list[list[Any]]]] = {
            sym: (
                self.books[sym],
                [[s.hooks["scan_trades"], fn, ctx, s] for fn, ctx, s in subs],
            )
            for sym, subs in self._by_symbol["on_trade"].items()
            if all("scan_trades" in s.hooks for _, _, s in subs)
        }
        self._wants_orders = {n for n, s in self.slots.items() if "on_order" in s.hooks}
        self._wants_fills = {n for n, s in self.slots.items() if "on_fill" in s.hooks}

    # ----- lifecycle -------------------------------------------------------------------

    def start(self, now_ns: int) -> None:
        self.now_ns = now_ns
        for slot in self.slots.values():
            for tname, interval in slot.timers.items():
                due = (now_ns // interval + 1) * interval
                heapq.heappush(self._timers, (due, next(self._tseq), slot.name, tname, interval))
        if self._equity_interval > 0:
            self._equity_due = now_ns  # the first sample as soon as prices are known
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
        # Requests still on their way (order latency) arrive, so no order ends half-sent.
        while self.venue.next_due < INF:
            self.now_ns = self.venue.next_due
            self.venue.advance(self.now_ns)
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
        venue = self.venue
        routes = self._trade_routes
        for ev in batch:
            ts = ev.ts_ns
            if ts >= self._next_wakeup:
                self._wake(ts)
            self.now_ns = ts
            if ev.__class__ is Trade:  # _deliver inlined: this runs once per trade
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
            else:
                self.dispatch_other(ev)

    def _replay_trade_batch(self, batch: TradeBatch) -> None:
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
            return
        book, scanners = route
        venue = self.venue
        ts = batch.ts_ns
        prices = batch.price
        n = len(ts)
        if not n:
            return
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
            t = ts[p]
            if t >= self._next_wakeup:
                if p:
                    book.last_trade = batch[p - 1]  # what wake-ups (equity) see as the last price
                self._wake(t)
            self.now_ns = t
            ev = batch[p]
            book.last_trade = ev
            if venue.resting_count:
                venue.on_trade(ev, t)
                if self._pending:
                    self._drain()
            for j, (_, fn, ctx, slot) in enumerate(scanners):
                if cursors[j] == p:  # else it consumed this trade in a scan already
                    cursors[j] = p + 1
                    self._deliver(fn, ctx, slot, "on_trade", ev)
            i = p + 1
        if i < n:  # the batch ended inside a scan
            book.last_trade = batch[n - 1]
        self.now_ns = ts[n - 1]

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
            if self.venue.resting_count:
                self.venue.on_trade(ev, ts)
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
            if self.venue.resting_count:
                self.venue.on_book(ev.symbol)
            self._fan_out("on_book", ev.symbol, ev)
        elif cls is Bar:
            self._fan_out("on_bar", ev.symbol, ev)
        elif cls is Ticker:
            book.apply_ticker(ev)
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
        self._next_wakeup = min(t, self.venue.next_due, self._equity_due)

    def _wake(self, ts: int) -> None:
        """Run everything due up to ``ts``, in time order, on the event clock."""
        while True:
            t_timer = self._timers[0][0] if self._timers else INF
            t_venue = self.venue.next_due
            t_eq = self._equity_due
            t = min(t_timer, t_venue, t_eq)
            if t > ts:
                break
            self.now_ns = t
            if t == t_venue:
                self.venue.advance(t)
                self._drain()
            elif t == t_timer:
                due, _, sname, tname, interval = heapq.heappop(self._timers)
                heapq.heappush(
                    self._timers, (due + interval, next(self._tseq), sname, tname, interval)
                )
                slot = self.slots[sname]
                self._call(slot, "on_timer", Timer(t, tname, interval, due))
            else:
                # Until every holding has a price, try again at the next event; then
                # stay on the interval grid.
                iv = self._equity_interval
                self._equity_due = (t // iv + 1) * iv if self._sample_equity(t) else ts + 1
        self._refresh_wakeup()

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
        return total, complete

    def _sample_equity(self, ts: int) -> bool:
        eq, complete = self._equity()
        if not complete:
            return False  # an unpriced holding would show as a loss
        if self.initial_equity is None:
            self.initial_equity = eq
        if self.equity and self.equity[-1][0] == ts:
            self.equity[-1] = (ts, eq)
        else:
            self.equity.append((ts, eq))
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

    def venue_changed(self) -> None:
        """A live venue reported something: deliver the resulting updates to strategies."""
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
        if self.venue.next_due < self._next_wakeup:
            self._next_wakeup = self.venue.next_due

    def _apply(self, slot: _Slot, intent: Any) -> None:
        router = self.router
        name = slot.name
        cls = intent.__class__
        if cls is Place:
            symbol = intent.symbol
            d = self.risk.check(
                intent,
                self.instruments.get(symbol),
                router.position_size(name, symbol),
                self.books.get(symbol),
                router.open_view(name, symbol),
                now_ns=self.now_ns,
                open_order_count=router.open_count,
            )
            if d.accepted:
                router.place(name, d.intent, self.now_ns)
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
            update = snapshot(order, self.now_ns)._replace(
                code=code, reason=f"the order is {order.status.value}; nothing to edit"
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
        self._pending.append((NOTIFY_ORDER, slot.name, update))
        self._drain()

    def _rejected(self, slot: _Slot, intent: Place | Edit, code: str | None, reason: str) -> None:
        code = code or "rejected"
        self.rejects[code] += 1
        log.debug("%s: %s rejected: %s (%s)", slot.name, type(intent).__name__, reason, code)
        self.router.reject_local(slot.name, intent, code, reason, self.now_ns)

    # ----- order updates and fills back to strategies ---------------------------------

    def _notify(self, kind: int, strategy: str, obj: Order | Fill) -> None:
        if kind == NOTIFY_ORDER:
            if strategy in self._wants_orders:
                self._pending.append((kind, strategy, snapshot(obj, self.now_ns)))  # type: ignore[arg-type]
        elif strategy in self._wants_fills:
            self._pending.append((kind, strategy, obj))

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
                    self._call(slot, "on_order" if kind == NOTIFY_ORDER else "on_fill", obj)
        finally:
            self._draining = False


def snapshot(order: Order, ts_ns: int) -> OrderUpdate:
    return OrderUpdate(
        ts_ns,
        order.client_id,
        order.symbol,
        order.side,
        order.type,
        order.status,
        order.price,
        order.size,
        order.filled,
        order.avg_price,
        order.venue_order_id,
        order.code,
        order.reason,
        order.strategy,
    )
