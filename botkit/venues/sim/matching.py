"""The simulated matching venue behind backtest and paper mode.

Fill model (documented in README, "Simulated venue"):

* Limit orders rest at their price. A public trade *through* the price (a
  trade below a resting buy, above a resting sell) fills the order completely:
  in price-time priority the whole level traded. A trade *at* the price, by
  the opposite aggressor (or an unknown one), first eats the volume that was
  ahead of us in the queue and fills us only with what is left of its size.
  The queue ahead is the visible size at our level when the order arrived; it
  shrinks with trades at the level and when the level itself shrinks
  (cancellations are assumed to come from ahead of us).
* A market order walks the L2 book when there is one (the book is not
  consumed: the next market order sees the recorded book again); without a
  book it fills in full at the last trade price moved by ``slippage_bps``
  against the taker. A marketable limit order takes liquidity up to its price
  the same way and rests the remainder (IOC/FOK expire it instead).
* Post-only orders that would cross are rejected, as a real venue does.
* Bars drive fills for a symbol that has only bars (no trade, ticker or book
  seen): see "Bars" below.
* Maker and taker fees come from the instrument, charged in the quote asset.
* The venue keeps the account (``balances``, by default the listener's starting
  balances). On a spot instrument an order locks what it may spend when it
  arrives (``botkit.account`` has the rules) and is refused
  ``insufficient_balance`` when that is more than the free balance; fills use
  the lock up, a cancel or an expiry releases the rest. A market buy never
  spends more than its lock and the free balance together (it is locked at the
  reference price plus ``slippage_bps``, but walks the book): what they cannot
  pay for expires.
* Perpetuals and futures follow ``botkit.margin``: a fill changes the
  position and settles its PnL and fee in the wallet (the settlement asset's
  balance); an order holds initial margin (``account.leverage``) and is refused
  ``insufficient_margin`` when that is more than the available balance; a
  position whose account falls to its maintenance margin is liquidated at the
  first trade (or bar) that reaches its liquidation price, its open orders
  cancelled; perpetual positions pay or receive funding at each funding time
  (``sim.funding_rate``, ``sim.funding_interval``). A bar that reaches a
  liquidation price liquidates before any order fills on that bar.
* ``latency_ns`` delays every request's arrival at the venue on the event
  clock; the engine calls ``advance(now_ns)`` as time passes.

Bars (``sim.bar_fill``, ``sim.bar_volume_share``; docs/bot-yaml.md, ``sim``):

* A bar is known only once it has closed, so an order sent on a bar (from
  ``on_bar``, at its close time) can first trade on the *next* bar. With
  ``bar_fill: next_open`` a market order fills at the next bar's open; with
  ``bar_fill: close`` it fills at once at the close of the bar it was sent on
  (the last close), which assumes the close was still tradeable.
* Limit and stop orders trade when the bar's range reaches them, along an
  assumed path inside the bar: a bar that closes at or above its open went
  open -> low -> high -> close, one that closes below went open -> high ->
  low -> close (the pessimistic reading for a trend follower, and the one that
  decides which of a stop and a take-profit on both sides went first). A limit
  touched on the path fills at its price as maker; one the open already gapped
  through fills at the open. A stop fills at its stop price, or at the open
  when the open gapped through it, as taker; a stop-limit then works as a limit
  from the point where it triggered.
* An order that crossed the last close when it arrived (a marketable limit)
  takes liquidity: with ``next_open`` at the next open if that is within its
  limit, else it rests; with ``close`` at once at the last close. IOC and FOK
  orders are decided at that same point and expire there.
* Volume cap: one bar fills at most ``bar_volume_share`` of its volume (default
  0.1), rounded down to the lot, shared by the account's orders in the order
  the path reaches them. What is left waits: a market order fills on the
  following bars (at their opens, or their closes with ``close``), a limit
  stays resting. A bar with no volume fills nothing.
* An order trades only on bars that opened after it arrived at the venue: with
  ``latency`` an order sent at a close may miss the next bar.
* When a symbol has bars of several lengths, the shortest seen drives fills.
  Once trades, tickers or a book are seen for a symbol, bars no longer fill.
* Stop orders are filled on bar data only; elsewhere they are rejected
  (``unsupported_order_type``).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from botkit.account import ONE, Locks, buy_fee_rate, exact, is_spot, lock_rate, market_buy_price
from botkit.book import OrderBook
from botkit.events import Bar, Trade
from botkit.margin import (
    MarginAccount,
    funding_payment,
    is_derivative,
    is_perpetual,
    margin_per_unit,
)
from botkit.model import (
    ZERO,
    Fill,
    Instrument,
    Liquidity,
    Order,
    OrderType,
    Side,
    TimeInForce,
)

INF = 1 << 62
_BPS = Decimal("0.0001")
# Members read per order or per trade, as plain names: on Python 3.11 a read like
# ``Side.BUY`` goes through EnumType.__getattr__'s slow hook (about 110 ns).
_BUY = Side.BUY
_SELL = Side.SELL
_MARKET = OrderType.MARKET
_LIMIT = OrderType.LIMIT
_STOP_LIMIT = OrderType.STOP_LIMIT
_GTC = TimeInForce.GTC
_FOK = TimeInForce.FOK
_STOP_MARKET = OrderType.STOP_MARKET
_MAKER = Liquidity.MAKER
_TAKER = Liquidity.TAKER
_NEW = tuple.__new__


class SimListener(Protocol):
    def on_ack(self, client_id: str, venue_order_id: str, ts_ns: int) -> None: ...
    def on_reject(self, client_id: str, code: str, reason: str, ts_ns: int) -> None: ...
    def on_canceled(self, client_id: str, ts_ns: int, reason: str | None = None) -> None: ...
    def on_cancel_rejected(self, client_id: str, code: str, reason: str, ts_ns: int) -> None: ...
    def on_edited(self, client_id: str, price: Decimal, size: Decimal, ts_ns: int) -> None: ...
    def on_edit_rejected(self, client_id: str, code: str, reason: str, ts_ns: int) -> None: ...
    def on_expired(self, client_id: str, ts_ns: int, reason: str | None = None) -> None: ...
    def on_fill(self, fill: Fill) -> None: ...
    def on_funding(
        self, strategy: str, symbol: str, amount: Decimal, asset: str, ts_ns: int
    ) -> None: ...
    def on_liquidation(
        self, fills: list[Fill], asset: str, absorbed: Decimal, ts_ns: int
    ) -> None: ...


class _Resting:
    __slots__ = ("home", "is_buy", "order", "price_f", "queue", "since", "taker", "venue_id")

    def __init__(self, order: Order, venue_id: str, queue: Decimal) -> None:
        self.order = order
        self.price_f = float(order.price) if order.price is not None else 0.0
        self.is_buy = order.side is _BUY
        self.queue = queue
        self.venue_id = venue_id
        # On bar data: the list the order waits in (None: the trade path's resting
        # list), and whether it crossed the last close when it arrived.
        self.home: list[_Resting] | None = None
        self.taker = False
        self.since = 0  # when it arrived at the venue (bars: only later bars can fill it)


def _reach(path: Sequence[float], level: float, up: bool) -> tuple[float, float, int] | None:
    """Where ``path`` first gets to ``level`` (at or above it when ``up``, else at or below).

    Returns (distance travelled, price, index of the last point passed), the price
    being the start of the path when it starts beyond the level (a gap), else the
    level itself; None when the path never gets there.
    """
    x = path[0]
    if x >= level if up else x <= level:
        return 0.0, x, 0
    d = 0.0
    for i in range(1, len(path)):
        y = path[i]
        if y >= level if up else y <= level:
            return d + abs(level - x), level, i - 1
        d += abs(y - x)
        x = y
    return None


def bar_path(bar: Bar) -> tuple[float, float, float, float]:
    """The assumed price path inside a bar: up bars dip first, down bars rally first."""
    if bar.close >= bar.open:
        return (bar.open, bar.low, bar.high, bar.close)
    return (bar.open, bar.high, bar.low, bar.close)


_dec = exact  # a float as the Decimal it prints as (the last one is remembered)


class MatchingEngine:
    """An in-process venue that matches the account's orders against recorded market data."""

    supports_edit = True

    def __init__(
        self,
        instruments: dict[str, Instrument],
        books: dict[str, OrderBook],
        listener: SimListener,
        latency_ns: int = 0,
        slippage_bps: Decimal | int | str = 0,
        queue_position: bool = True,
        name: str = "sim",
        bar_fill: str = "next_open",
        bar_volume_share: Decimal | int | str = Decimal("0.1"),
        balances: Mapping[str, Decimal] | None = None,
        leverage: Mapping[str, Decimal] | Decimal | None = None,
        funding_rate: Decimal | int | str = 0,
        funding_interval_ns: int = 8 * 3600 * 10**9,
        margin: bool = True,
        funding_rates: Mapping[str, Sequence[tuple[int, Decimal]]] | None = None,
    ) -> None:
        self.instruments = instruments
        if balances is None:
            # Built next to a router, the venue starts from the same account.
            balances = getattr(listener, "balances", None) or {}
        self.balances: dict[str, Decimal] = dict(balances)
        self.locks = Locks(self.balances)
        # Spot symbols only: what a buy locks per unit of price (1 + the worse fee).
        self._buy_mult = {s: ONE + buy_fee_rate(i) for s, i in instruments.items() if is_spot(i)}
        self.books = books
        self.listener = listener
        self.latency_ns = int(latency_ns)
        self.slippage = Decimal(str(slippage_bps)) * _BPS
        self.queue_position = queue_position
        self.name = name
        self._resting: dict[str, list[_Resting]] = {s: [] for s in instruments}
        self._by_client: dict[str, _Resting] = {}
        self.resting_count = 0
        self._queue: list[tuple[int, int, Callable[..., None], tuple[object, ...]]] = []
        self._qseq = itertools.count()
        self.next_due = INF
        self._order_ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        self.trades: list[Fill] = []  # the venue's own record of the account's executions
        # Off when the host keeps the fills itself (a backtest spilling them to disk):
        # a second list of every fill would hold them all in memory again.
        self.keep_trades = True
        self.rejected: list[tuple[int, str, str, str]] = []  # (ts, client_id, code, reason)
        if bar_fill not in ("next_open", "close"):
            raise ValueError(f"bar_fill must be next_open or close, not {bar_fill!r}")
        self.bar_fill = bar_fill
        self._at_close = bar_fill == "close"
        self.bar_volume_share = Decimal(str(bar_volume_share))
        if not 0 < self.bar_volume_share <= 1:
            raise ValueError(f"bar_volume_share must be in (0, 1], not {bar_volume_share}")
        # Per bar-driven symbol: the bar length that drives its fills, what is left of
        # the last bar's volume cap, market orders waiting for a bar, and stop orders.
        self._bar_interval: dict[str, int] = {}
        self._bar_budget: dict[str, Decimal] = {}
        self._bar_waiting: dict[str, list[_Resting]] = {s: [] for s in instruments}
        self._stops: dict[str, list[_Resting]] = {s: [] for s in instruments}
        # Derivatives (botkit.margin): the account's positions, each strategy's part of
        # them, the prices at which they are liquidated (a long at or below the first,
        # a short at or above the second) and the funding clock.
        # ``margin=False``: a host that keeps its own account (the venue simulators)
        # has derivatives matched like spot.
        self._deriv = frozenset(s for s, i in instruments.items() if margin and is_derivative(i))
        self._inverse = frozenset(s for s in self._deriv if instruments[s].is_inverse)
        self.margin = MarginAccount(
            {s: instruments[s] for s in self._deriv}, leverage, mark=self._mark
        )
        if self._deriv:
            self.locks.adjust = self.margin.adjustment
        self._held: dict[tuple[str, str], Decimal] = {}
        self._liq: dict[str, tuple[float, float]] = {}
        self._liq_multi = False
        self.funding_rate = Decimal(str(funding_rate))
        self.funding_interval = int(funding_interval_ns)
        if self.funding_interval <= 0:
            raise ValueError(f"funding_interval_ns must be > 0, not {funding_interval_ns}")
        # Recorded funding (time, rate) per symbol is paid at its own times; the other
        # perpetuals pay the configured rate on the interval grid.
        perps = [s for s in self._deriv if is_perpetual(instruments[s])]
        recorded = funding_rates or {}
        self._recorded = {s: list(recorded[s]) for s in perps if recorded.get(s)}
        self._recorded_at = dict.fromkeys(self._recorded, 0)
        self._grid = [s for s in perps if s not in self._recorded] if self.funding_rate else []
        self._grid_due = INF
        self._funding_due = INF
        # (ts, strategy, symbol, amount paid (< 0: received), asset)
        self.funding: list[tuple[int, str, str, Decimal, str]] = []
        self.liquidations: list[tuple[int, str, Decimal]] = []  # (ts, symbol, price)
        self.absorbed: dict[str, Decimal] = {}  # losses beyond the wallet, by asset

    # ----- requests (from the router) ---------------------------------------------

    def submit(self, order: Order, now_ns: int) -> None:
        self._at(now_ns, self._arrive_new, order)

    def cancel(self, order: Order, now_ns: int) -> None:
        self._at(now_ns, self._arrive_cancel, order)

    def edit(self, order: Order, price: Decimal, size: Decimal, now_ns: int) -> None:
        self._at(now_ns, self._arrive_edit, order, price, size)

    def _at(self, now_ns: int, fn: Callable[..., None], *args: object) -> None:
        if self.latency_ns <= 0:
            fn(*args, now_ns)
            return
        due = now_ns + self.latency_ns
        heapq.heappush(self._queue, (due, next(self._qseq), fn, args))
        if due < self.next_due:
            self.next_due = due

    def advance(self, now_ns: int) -> None:
        """Deliver every request whose arrival time has come, and funding, in time order."""
        q = self._queue
        while True:
            t_req = q[0][0] if q else INF
            t_fund = self._funding_due
            if t_req <= t_fund:
                if t_req > now_ns:
                    break
                due, _, fn, args = heapq.heappop(q)
                fn(*args, due)
            else:
                if t_fund > now_ns:
                    break
                self._fund(t_fund)
        t = q[0][0] if q else INF
        self.next_due = t if t < self._funding_due else self._funding_due

    def begin(self, now_ns: int) -> None:
        """The clock starts: funding falls due at the recorded times after it, and on the
        interval grid from midnight UTC for the configured rate."""
        if self._grid:
            iv = self.funding_interval
            self._grid_due = (now_ns // iv + 1) * iv
        for sym, rows in self._recorded.items():
            self._recorded_at[sym] = bisect.bisect_right(rows, now_ns, key=lambda r: r[0])
        self._funding_due = self._next_funding()
        if self._funding_due < self.next_due:
            self.next_due = self._funding_due

    def _next_funding(self) -> int:
        t = self._grid_due
        for sym, rows in self._recorded.items():
            i = self._recorded_at[sym]
            if i < len(rows) and rows[i][0] < t:
                t = rows[i][0]
        return t

    def _fund(self, ts: int) -> None:
        """Pay what falls due at ``ts``: the recorded rates and the configured one."""
        rates: dict[str, Decimal] = {}
        if ts == self._grid_due:
            rates.update(dict.fromkeys(self._grid, self.funding_rate))
            self._grid_due += self.funding_interval
        for sym, rows in self._recorded.items():
            i = self._recorded_at[sym]
            while i < len(rows) and rows[i][0] <= ts:
                rates[sym] = rows[i][1]
                i += 1
            self._recorded_at[sym] = i
        self._pay_funding(ts, rates)
        self._funding_due = self._next_funding()

    def end(self, now_ns: int) -> None:
        """The run ends: no more funding (what is still in flight is delivered), and a
        market order still waiting for its next bar expires: there is none."""
        for waiting in self._bar_waiting.values():
            for r in list(waiting):
                self._remove(r)
                self._expire(r.order.client_id, now_ns, "the data ended before the next bar")
        self._funding_due = INF
        q = self._queue
        self.next_due = q[0][0] if q else INF

    # ----- arrivals at the venue ----------------------------------------------------

    def _expire(self, client_id: str, ts: int, reason: str) -> None:
        if client_id in self.locks:
            self.locks.release(client_id)
        self.listener.on_expired(client_id, ts, reason)

    def _lock_price(self, order: Order, inst: Instrument, book: OrderBook) -> Decimal | None:
        """The price a spot buy is locked at (None: a market buy with no reference)."""
        otype = order.type
        if otype is _MARKET:
            ref = book.best_ask
            if ref is None:
                ref = book.last_price
            return None if ref is None else market_buy_price(inst, _dec(ref), self.slippage)
        if otype is _STOP_MARKET:
            return market_buy_price(inst, order.stop_price, self.slippage)  # type: ignore[arg-type]
        return order.price

    def _lock(
        self, order: Order, inst: Instrument, book: OrderBook, ts: int, record: bool = True
    ) -> bool:
        """Lock what a spot order may spend; refuse it (False) when the free balance is short.

        Without ``record`` the order is only checked: a market order off bar data is
        settled before anything else can happen, so a lock would be released at once
        (its fills are held to the free balance instead: :meth:`_affordable`).
        """
        if order.side is _BUY:
            otype = order.type
            if otype is _LIMIT or otype is _STOP_LIMIT:
                price = order.price
            elif otype is _MARKET and book.best_ask is not None and not self.slippage:
                price = _dec(book.best_ask)
            else:
                price = self._lock_price(order, inst, book)
            if price is None:
                self._reject(order, "no_reference_price", "no ask and no last price to lock at", ts)
                return False
            asset, rate = inst.quote, price * self._buy_mult[order.symbol]
        else:
            asset, rate = inst.base, ONE
        if record:
            if self.locks.lock(order.client_id, asset, rate, order.remaining):
                return True
        elif rate * order.remaining <= self.locks.free_of(asset):
            return True
        self._reject(
            order,
            "insufficient_balance",
            f"{order.side.value} {order.remaining} {order.symbol} needs {rate * order.remaining} "
            f"{asset}, {self.locks.free_of(asset)} is free",
            ts,
        )
        return False

    def _affordable(self, order: Order, inst: Instrument, price: Decimal, size: Decimal) -> Decimal:
        """``size``, cut down (to the lot) to what a buy's lock and the free balance still pay
        for at ``price``."""
        each = price * (1 + inst.taker_fee)
        lk = self.locks.orders.get(order.client_id)
        if lk is None:  # checked, not locked: held to the free balance alone
            free = self.locks.free_of(inst.quote)
            if each * size <= free or each <= 0:
                return size
            return inst.size_down(free / each)
        if each <= lk[1] and lk[2] >= lk[1] * size:
            return size  # within the lock's own price and amount: the usual case
        cap = self.locks.affordable(order.client_id, each)
        if cap is None or cap >= size:
            return size
        return inst.size_down(cap)

    def _reject(self, order: Order, code: str, reason: str, ts: int) -> None:
        self.rejected.append((ts, order.client_id, code, reason))
        self.listener.on_reject(order.client_id, code, reason, ts)

    def _arrive_new(self, order: Order, ts: int) -> None:
        inst = self.instruments.get(order.symbol)
        if inst is None:
            self._reject(order, "unknown_instrument", f"{order.symbol} is not listed", ts)
            return
        bars = order.symbol in self._bar_interval and self._bar_driven(order.symbol)
        if order.type.is_stop and not bars:
            self._reject(
                order,
                "unsupported_order_type",
                "the simulator fills stop orders on bar data only",
                ts,
            )
            return
        book = self.books[order.symbol]
        if order.post_only and self._crosses(order, order.price, book):  # type: ignore[arg-type]
            self._reject(
                order,
                "post_only_would_cross",
                f"post-only {order.side.value} at {order.price} would take liquidity",
                ts,
            )
            return
        if order.symbol in self._buy_mult and not self._lock(
            order, inst, book, ts, bars or order.type is not _MARKET
        ):
            return
        if order.symbol in self._deriv and not self._margin_lock(order, inst, book, ts):
            return
        venue_id = f"{self.name}-{next(self._order_ids)}"
        self.listener.on_ack(order.client_id, venue_id, ts)
        if bars:
            self._bar_arrive(order, inst, book, ts, venue_id)
            return
        if order.type is _MARKET:
            left = self._take(order, inst, book, None, ts, venue_id)
            if left > 0:
                self._expire(
                    order.client_id, ts, "no liquidity (or locked balance) left for the rest"
                )
            return
        self._match_limit(order, inst, book, ts, venue_id)

    def _match_limit(
        self, order: Order, inst: Instrument, book: OrderBook, ts: int, venue_id: str
    ) -> None:
        limit: Decimal = order.price  # type: ignore[assignment]
        if self._crosses(order, limit, book):
            if order.tif is _FOK and self._available(order, limit, book) < order.remaining:
                self._expire(order.client_id, ts, "FOK: not enough liquidity")
                return
            left = self._take(order, inst, book, limit, ts, venue_id)
            if left <= 0:
                return
        if order.tif is not _GTC:
            self._expire(order.client_id, ts, f"{order.tif.value.upper()}: rest expired")
            return
        r = _Resting(order, venue_id, ZERO)
        if self.queue_position:
            r.queue = _dec(book.size_at(r.is_buy, r.price_f))
        self._resting[order.symbol].append(r)
        self._by_client[order.client_id] = r
        self.resting_count += 1

    def _arrive_cancel(self, order: Order, ts: int) -> None:
        r = self._by_client.get(order.client_id)
        if r is None:
            self.listener.on_cancel_rejected(
                order.client_id, "order_not_open", "the order is not open at the venue", ts
            )
            return
        self._remove(r)
        if order.client_id in self.locks:
            self.locks.release(order.client_id)
        self.listener.on_canceled(order.client_id, ts)

    def _arrive_edit(self, order: Order, price: Decimal, size: Decimal, ts: int) -> None:
        r = self._by_client.get(order.client_id)
        if r is None:
            self.listener.on_edit_rejected(
                order.client_id, "order_not_open", "the order is not open at the venue", ts
            )
            return
        book = self.books[order.symbol]
        if order.post_only and self._crosses(order, price, book):
            self.listener.on_edit_rejected(
                order.client_id,
                "post_only_would_cross",
                f"post-only {order.side.value} at {price} would take liquidity",
                ts,
            )
            return
        key = order.client_id
        if key in self.locks:
            inst = self.instruments[order.symbol]
            left = size - order.filled
            if order.symbol in self._deriv:
                asset = inst.value_asset
                rate = self._margin_rate(order, inst, price, left)
                code = "insufficient_margin"
            else:
                asset, rate = lock_rate(inst, order.side is _BUY, price)
                code = "insufficient_balance"
            if not self.locks.lock(key, asset, rate, left):
                self.listener.on_edit_rejected(
                    key,
                    code,
                    f"the edited order needs {rate * left} {asset}, "
                    f"{self.locks.free_of(asset) + self.locks.held(key)} is free",
                    ts,
                )
                return
        lose_priority = price != order.price or size > order.size
        self._remove(r)
        self.listener.on_edited(order.client_id, price, size, ts)
        if order.remaining <= 0:
            if key in self.locks:
                self.locks.release(key)  # edited down to what was filled: it is done
            return
        if r.home is not None:
            # Bars keep no queue: an edited order arrives again, as a new one would.
            self._bar_arrive(order, self.instruments[order.symbol], book, ts, r.venue_id)
            return
        if lose_priority:
            self._match_limit(order, self.instruments[order.symbol], book, ts, r.venue_id)
        else:
            self._resting[order.symbol].append(r)
            self._by_client[order.client_id] = r
            self.resting_count += 1

    def _remove(self, r: _Resting) -> None:
        home = r.home
        if home is None:
            self._resting[r.order.symbol].remove(r)
            self.resting_count -= 1
        else:
            home.remove(r)
            if home is self._resting[r.order.symbol]:
                self.resting_count -= 1
        del self._by_client[r.order.client_id]

    # ----- matching -------------------------------------------------------------------

    @staticmethod
    def _crosses(order: Order, price: Decimal, book: OrderBook) -> bool:
        if order.side is _BUY:
            ref = book.best_ask if book.asks or book.best_ask is not None else book.last_price
            return ref is not None and float(price) >= ref
        ref = book.best_bid if book.bids or book.best_bid is not None else book.last_price
        return ref is not None and float(price) <= ref

    @staticmethod
    def _available(order: Order, limit: Decimal, book: OrderBook) -> Decimal:
        lim = float(limit)
        if order.side is _BUY:
            levels = [(p, s) for p, s in book.asks.items() if p <= lim]
        else:
            levels = [(p, s) for p, s in book.bids.items() if p >= lim]
        if not levels and book.last_price is not None:
            return order.remaining  # trade-only data: the last print is taken as deep enough
        return sum((_dec(s) for _, s in levels), ZERO)

    def _take(
        self,
        order: Order,
        inst: Instrument,
        book: OrderBook,
        limit: Decimal | None,
        ts: int,
        venue_id: str,
    ) -> Decimal:
        """Fill as taker against the book (or the last trade); return the size left."""
        left = order.remaining
        buy = order.side is _BUY
        if book.asks if buy else book.bids:
            levels = book.ask_levels() if buy else book.bid_levels()
            lim = None if limit is None else float(limit)
            for p, s in levels:
                if lim is not None and (p > lim if buy else p < lim):
                    break
                size = min(left, inst.size_down(_dec(s)))
                if size <= 0:
                    continue
                price = _dec(p)
                if limit is None and buy and order.symbol in self._buy_mult:
                    size = self._affordable(order, inst, price, size)
                    if size <= 0:
                        break
                self._fill(order, inst, price, size, _TAKER, ts, venue_id)
                left -= size
                if left <= 0:
                    break
            return left
        last = book.last_price
        if last is None:
            return left
        px = _dec(last)
        if self.slippage:
            px = (
                inst.price_up(px * (1 + self.slippage))
                if buy
                else inst.price_down(px * (1 - self.slippage))
            )
        if limit is not None and (px > limit if buy else px < limit):
            return left
        size = left
        if limit is None and buy and order.symbol in self._buy_mult:
            size = self._affordable(order, inst, px, left)
            if size <= 0:
                return left
        self._fill(order, inst, px, size, _TAKER, ts, venue_id)
        return left - size

    def _fill(
        self,
        order: Order,
        inst: Instrument,
        price: Decimal,
        size: Decimal,
        liquidity: Liquidity,
        ts: int,
        venue_id: str,
    ) -> None:
        rate = inst.maker_fee if liquidity is _MAKER else inst.taker_fee
        sym = order.symbol
        notional = size / price if sym in self._inverse else price * size
        fee = notional * rate
        side = order.side
        fill: Fill = _NEW(  # Fill's twelve fields, built in C: once per execution
            Fill,
            (
                f"{self.name}-t{next(self._trade_ids)}",
                order.client_id,
                order.symbol,
                side,
                price,
                size,
                fee,
                inst.value_asset if sym in self._deriv else inst.quote,
                liquidity,
                ts,
                venue_id,
                order.strategy,
            ),
        )
        if self.keep_trades:
            self.trades.append(fill)
        self.listener.on_fill(fill)
        # The venue's own account: balances, and the order's lock used up.
        bal = self.balances
        base, quote = inst.base, inst.quote
        if sym in self._deriv:
            self._settle(order.strategy, inst, side, price, size, fee)
            spent = ZERO
        elif side is _BUY:
            spent = notional + fee
            bal[base] = bal.get(base, ZERO) + size
            bal[quote] = bal.get(quote, ZERO) - spent
        else:
            spent = size
            bal[base] = bal.get(base, ZERO) - size
            bal[quote] = bal.get(quote, ZERO) + notional - fee
        locks = self.locks
        if locks.orders and order.client_id in locks.orders:
            if order.remaining <= 0:  # the router counted the fill: the order is done
                locks.release(order.client_id)
            else:
                locks.use(order.client_id, size, spent)

    def on_trade(self, trade: Trade, ts: int) -> None:
        """Match resting orders against one public trade print."""
        if self._liq:
            if self._liq_multi:
                self._update_triggers()
            lv = self._liq.get(trade.symbol)
            if lv is not None and (trade.price <= lv[0] or trade.price >= lv[1]):
                self._liquidate(trade.symbol, trade.price, ts)
        resting = self._resting.get(trade.symbol)
        if not resting:
            return
        px = trade.price
        vol: Decimal | None = None  # the print's size, exact, once a level match needs it
        aggressor = trade.side
        inst = self.instruments[trade.symbol]
        for r in list(resting):
            if px < r.price_f if r.is_buy else px > r.price_f:
                size = r.order.remaining  # traded through our level: all of it went
            elif px == r.price_f and aggressor is not (_BUY if r.is_buy else _SELL):
                if vol is None:
                    vol = _dec(trade.size)
                if vol <= 0:
                    continue
                if r.queue >= vol:
                    r.queue -= vol
                    vol = ZERO
                    continue
                avail = vol - r.queue
                r.queue = ZERO
                size = min(r.order.remaining, inst.size_down(avail))
                vol -= size
            else:
                continue
            if size <= 0:
                continue
            order = r.order
            if size >= order.remaining:
                self._remove(r)
            self._fill(
                order,
                inst,
                order.price,
                size,
                _MAKER,
                ts,  # type: ignore[arg-type]
                r.venue_id,
            )

    def first_touch(self, symbol: str, prices: Sequence[float], start: int, stop: int) -> int:
        """The index of the first trade in ``prices[start:stop]`` that :meth:`on_trade`
        would act on (at or through a resting order's price), or ``stop``."""
        resting = self._resting.get(symbol)
        lv = self._liq.get(symbol) if self._liq else None
        if not resting and lv is None:
            return stop
        hi = max((r.price_f for r in resting if r.is_buy), default=-math.inf)
        lo = min((r.price_f for r in resting if not r.is_buy), default=math.inf)
        if lv is not None:  # a position's liquidation price is touched like an order
            hi = max(hi, lv[0])
            lo = min(lo, lv[1])
        for i in range(start, stop):
            x = prices[i]
            if x <= hi or x >= lo:
                return i
        return stop

    def on_book(self, symbol: str) -> None:
        """The level we rest at shrank: the volume ahead of us cannot exceed what is left."""
        resting = self._resting.get(symbol)
        if not resting or not self.queue_position:
            return
        book = self.books[symbol]
        for r in resting:
            if r.queue:
                level = _dec(book.size_at(r.is_buy, r.price_f))
                if level < r.queue:
                    r.queue = level

    # ----- derivatives (botkit.margin) ---------------------------------------------------

    def _mark(self, symbol: str) -> Decimal | None:
        """A symbol's mark price: its last trade (or close), else the middle of its book."""
        book = self.books.get(symbol)
        if book is None:
            return None
        last = book.last_price
        if last is None:
            bid, ask = book.best_bid, book.best_ask
            if bid is None or ask is None:
                return None
            return (exact(bid) + exact(ask)) / 2
        return exact(last)

    def _margin_price(self, order: Order, inst: Instrument, book: OrderBook) -> Decimal | None:
        """The price an order's margin is held at (None: a market order with no reference)."""
        otype = order.type
        buy = order.side is _BUY
        if otype is _LIMIT or otype is _STOP_LIMIT:
            return order.price
        if otype is _STOP_MARKET:
            stop: Decimal = order.stop_price  # type: ignore[assignment]
            return market_buy_price(inst, stop, self.slippage) if buy else stop
        ref = book.best_ask if buy else book.best_bid
        if ref is None:
            ref = book.last_price
        if ref is None:
            return None
        return market_buy_price(inst, _dec(ref), self.slippage) if buy else _dec(ref)

    def _margin_rate(
        self, order: Order, inst: Instrument, price: Decimal, size: Decimal
    ) -> Decimal:
        held = self._held.get((order.strategy, order.symbol), ZERO)
        lev = self.margin.leverage[order.symbol]
        return margin_per_unit(inst, order.side, price, size, held, lev, order.reduce_only)

    def _margin_lock(self, order: Order, inst: Instrument, book: OrderBook, ts: int) -> bool:
        """Hold what a derivative order needs; refuse it (False) when that is not available."""
        if order.reduce_only:
            return True  # the risk module clipped it to the position: it holds nothing
        price = self._margin_price(order, inst, book)
        if price is None:
            self._reject(order, "no_reference_price", "no book and no last price to value at", ts)
            return False
        size = order.remaining
        rate = self._margin_rate(order, inst, price, size)
        if not rate:
            return True
        asset = inst.value_asset
        if self.locks.lock(order.client_id, asset, rate, size):
            return True
        self._reject(
            order,
            "insufficient_margin",
            f"{order.side.value} {size} {order.symbol} at {self.margin.leverage[order.symbol]}x "
            f"needs {rate * size} {asset} of margin, {self.locks.free_of(asset)} is available",
            ts,
        )
        return False

    def _settle(
        self,
        strategy: str,
        inst: Instrument,
        side: Side,
        price: Decimal,
        size: Decimal,
        fee: Decimal,
    ) -> None:
        """A derivative fill in the account: position, wallet, liquidation prices."""
        asset = inst.value_asset
        bal = self.balances
        realised = self.margin.fill(inst, side, price, size)
        bal[asset] = bal.get(asset, ZERO) + realised - fee
        key = (strategy, inst.symbol)
        held = self._held.get(key, ZERO) + (size if side is _BUY else -size)
        if held:
            self._held[key] = held
        else:
            self._held.pop(key, None)
        self._update_triggers()

    def _update_triggers(self) -> None:
        """Every position's liquidation price, as the account stands (a trade print on a
        symbol that has one is seen by :meth:`on_trade`: it counts as resting)."""
        liq = self._liq
        self.resting_count -= len(liq)
        liq.clear()
        margin = self.margin
        positions = margin.positions
        self._liq_multi = len(positions) > 1
        for sym, pos in positions.items():
            asset = margin.instruments[sym].value_asset
            price = margin.liquidation_price(sym, self.balances.get(asset, ZERO))
            if price is None:
                continue
            f = float(price)
            liq[sym] = (f, math.inf) if pos.size > 0 else (-math.inf, f)
        self.resting_count += len(liq)

    def _liquidate(self, symbol: str, px: float, ts: int) -> None:
        """Close every position settled in ``symbol``'s asset and cancel their orders."""
        inst = self.instruments[symbol]
        asset = inst.value_asset
        margin = self.margin
        pos = margin.positions[symbol]
        trigger = margin.liquidation_price(symbol, self.balances.get(asset, ZERO))
        at = _dec(px)
        long = pos.size > 0
        price = at
        if trigger is not None and trigger.is_finite() and trigger > 0:
            on_grid = inst.price_down(trigger) if long else inst.price_up(trigger)
            # At the liquidation price, unless the market gapped through it.
            if (long and at >= on_grid) or (not long and at <= on_grid):
                price = on_grid
        for sym, i in self.instruments.items():
            if sym not in self._deriv or i.value_asset != asset:
                continue
            for home in (self._resting[sym], self._bar_waiting[sym], self._stops[sym]):
                for r in list(home):
                    self._remove(r)
                    cid = r.order.client_id
                    if cid in self.locks:
                        self.locks.release(cid)
                    self.listener.on_canceled(cid, ts, "liquidation")
        closing = [(symbol, price)]
        for other, p in margin.open_positions(asset):
            if other.symbol != symbol:
                closing.append((other.symbol, self._mark(other.symbol) or p.avg_price))
        fills: list[Fill] = []
        for sym, at_price in closing:
            i = self.instruments[sym]
            for (strategy, s), held in list(self._held.items()):
                if s != sym:
                    continue
                side = _SELL if held > 0 else _BUY
                size = abs(held)
                fee = i.order_value(size, at_price) * i.taker_fee
                fill: Fill = _NEW(
                    Fill,
                    (
                        f"{self.name}-liq{next(self._trade_ids)}",
                        "liquidation",
                        sym,
                        side,
                        at_price,
                        size,
                        fee,
                        asset,
                        _TAKER,
                        ts,
                        None,
                        strategy,
                    ),
                )
                if self.keep_trades:
                    self.trades.append(fill)
                fills.append(fill)
                self._settle(strategy, i, side, at_price, size, fee)
        absorbed = ZERO
        if self.balances.get(asset, ZERO) < 0:
            absorbed = -self.balances[asset]
            self.balances[asset] = ZERO
            self.absorbed[asset] = self.absorbed.get(asset, ZERO) + absorbed
            self._update_triggers()
        self.liquidations.append((ts, symbol, price))
        self.listener.on_liquidation(fills, asset, absorbed, ts)

    def _pay_funding(self, ts: int, rates: Mapping[str, Decimal]) -> None:
        """Each perpetual position with a rate due pays (or receives) funding."""
        if not self._held:
            return
        bal = self.balances
        for (strategy, sym), held in list(self._held.items()):
            rate = rates.get(sym)
            if not rate:
                continue
            inst = self.instruments[sym]
            mark = self._mark(sym)
            if mark is None:
                continue
            paid = funding_payment(inst, held, mark, rate)
            asset = inst.value_asset
            bal[asset] = bal.get(asset, ZERO) - paid
            self.funding.append((ts, strategy, sym, paid, asset))
            self.listener.on_funding(strategy, sym, -paid, asset, ts)
        self._update_triggers()

    # ----- bars -------------------------------------------------------------------------

    def _bar_driven(self, symbol: str) -> bool:
        return symbol in self._bar_interval and not self.books[symbol].has_market

    def _park(self, r: _Resting, home: list[_Resting]) -> None:
        r.home = home
        home.append(r)
        self._by_client[r.order.client_id] = r
        if home is self._resting[r.order.symbol]:
            self.resting_count += 1

    def _taker_price(self, inst: Instrument, px: float | Decimal, buy: bool) -> Decimal:
        p = px if px.__class__ is Decimal else _dec(px)  # type: ignore[arg-type]
        if self.slippage:
            p = (
                inst.price_up(p * (1 + self.slippage))
                if buy
                else inst.price_down(p * (1 - self.slippage))
            )
        return p

    def _bar_arrive(
        self, order: Order, inst: Instrument, book: OrderBook, ts: int, venue_id: str
    ) -> None:
        """A new (or edited) order on a symbol whose fills come from bars."""
        sym = order.symbol
        r = _Resting(order, venue_id, ZERO)
        r.since = ts
        otype = order.type
        if otype.is_stop:
            self._park(r, self._stops[sym])
            return
        market = otype is _MARKET
        r.taker = market or self._crosses(order, order.price, book)  # type: ignore[arg-type]
        if r.taker and self._at_close:
            # Taken now, at the last close, within what is left of that bar's cap.
            budget = self._bar_budget.get(sym, ZERO)
            want = order.remaining
            if order.tif is _FOK and budget < want:
                self._expire(order.client_id, ts, "FOK: beyond the bar's volume cap")
                return
            size = min(want, budget)
            px = self._taker_price(inst, book.last_price, order.side is _BUY)  # type: ignore[arg-type]
            short = False
            if market and r.is_buy and order.client_id in self.locks:
                afford = self._affordable(order, inst, px, size)
                short = afford < size
                size = afford
            if size > 0:
                self._bar_budget[sym] = budget - size
                self._fill(order, inst, px, size, _TAKER, ts, venue_id)
            if size >= want:
                return
            if short:
                self._expire(order.client_id, ts, "the locked balance pays for no more")
                return
            if order.tif is not _GTC:
                self._expire(
                    order.client_id, ts, f"{order.tif.value.upper()}: beyond the bar's volume cap"
                )
                return
            r.taker = market  # a limit's rest works through the next bars as a maker
        elif not r.taker and order.tif is not _GTC and self._at_close:
            self._expire(order.client_id, ts, f"{order.tif.value.upper()}: rest expired")
            return
        self._park(r, self._bar_waiting[sym] if market else self._resting[sym])

    def on_bar(self, bar: Bar) -> None:
        """Fill what this bar reaches; a no-op for symbols with trades, tickers or a book."""
        sym = bar.symbol
        book = self.books.get(sym)
        if book is None or book.has_market:
            return
        iv = self._bar_interval.get(sym)
        if iv is None or bar.interval_ns < iv:
            self._bar_interval[sym] = iv = bar.interval_ns
        elif bar.interval_ns != iv:
            return  # a longer bar summarises shorter ones already matched
        inst = self.instruments[sym]
        vol = bar.volume
        budget = inst.size_down(_dec(vol) * self.bar_volume_share) if vol > 0 else ZERO
        ts = bar.ts_ns
        if self._liq:
            if self._liq_multi:
                self._update_triggers()
            lv = self._liq.get(sym)
            if lv is not None:
                # At the liquidation price, or at the open when the bar gapped through it.
                if bar.low <= lv[0]:
                    self._liquidate(sym, bar.open if bar.open <= lv[0] else lv[0], ts)
                elif bar.high >= lv[1]:
                    self._liquidate(sym, bar.open if bar.open >= lv[1] else lv[1], ts)
        waiting, resting, stops = self._bar_waiting[sym], self._resting[sym], self._stops[sym]
        if not (waiting or resting or stops):
            self._bar_budget[sym] = budget
            return
        # An order that arrived after this bar opened (order latency) cannot have its
        # open nor know where in the bar it came: it trades from the next bar on.
        opened = ts - bar.interval_ns
        path = bar_path(bar)
        end = sum(abs(path[i + 1] - path[i]) for i in range(3))
        # (distance along the path, arrival order, order, price, liquidity, triggered stop)
        hits: list[tuple[float, int, _Resting, Decimal, Liquidity, bool]] = []
        seq = itertools.count()
        at = end if self._at_close else 0.0
        px = path[3] if self._at_close else path[0]
        for r in waiting:
            if r.since > opened:
                continue
            hits.append((at, next(seq), r, self._taker_price(inst, px, r.is_buy), _TAKER, False))
        for r in resting:
            if r.since > opened:
                continue
            hit = _reach(path, r.price_f, not r.is_buy)
            if hit is None or (hit[0] > 0 and r.order.tif is not _GTC):
                continue
            d, p, _ = hit
            if d == 0:
                price = _dec(p)
                liq = _TAKER if r.taker else _MAKER
            else:
                price, liq = r.order.price, _MAKER  # type: ignore[assignment]
            hits.append((d, next(seq), r, price, liq, False))
        for r in stops:
            if r.since > opened:
                continue
            order = r.order
            trig = _reach(path, float(order.stop_price), r.is_buy)  # type: ignore[arg-type]
            if trig is None:
                continue
            d, p, i = trig
            # At the stop price as given, or at the open the bar gapped through it to.
            at_stop: Decimal = order.stop_price if d > 0 else _dec(p)  # type: ignore[assignment]
            if order.type is _STOP_MARKET:
                price = self._taker_price(inst, at_stop, r.is_buy)
                hits.append((d, next(seq), r, price, _TAKER, True))
                continue
            rest = (p, *path[i + 1 :])
            hit = _reach(rest, r.price_f, not r.is_buy)
            if hit is None:
                hits.append((d, next(seq), r, ZERO, _TAKER, True))  # triggered, nothing filled
                continue
            d2, _, _ = hit
            price = at_stop if d2 == 0 else order.price
            hits.append((d + d2, next(seq), r, price, _TAKER if d2 == 0 else _MAKER, True))  # type: ignore[arg-type]
        hits.sort(key=lambda h: (h[0], h[1]))
        for _, _, r, price, liq, triggered in hits:
            order = r.order
            want = order.remaining
            size = ZERO if price <= 0 else min(want, budget)
            short = False
            if (
                size > 0
                and liq is _TAKER
                and r.is_buy
                and (order.type is _MARKET or order.type is _STOP_MARKET)
            ):
                afford = self._affordable(order, inst, price, size)
                short = afford < size
                size = afford
            if order.tif is _FOK and size < want:
                size = ZERO
            if size > 0:
                budget -= size
                if size >= want:
                    self._remove(r)
                self._fill(order, inst, price, size, liq, ts, r.venue_id)
                if size >= want:
                    continue
            if short:
                self._remove(r)
                self._expire(order.client_id, ts, "the locked balance pays for no more")
                continue
            if triggered:
                # A triggered stop stays triggered: a stop-market waits as a market
                # order, a stop-limit rests as the limit it now is.
                self._remove(r)
                r.taker = order.type is _STOP_MARKET
                self._park(r, waiting if r.taker else resting)
        # IOC and FOK orders were decided at this bar's open (or close): the rest expires.
        for lst in (waiting, resting):
            for r in list(lst):
                if r.order.tif is not _GTC and r.since <= opened:
                    self._remove(r)
                    self._expire(r.order.client_id, ts, "not filled at the bar")
        for r in resting:
            if r.since <= opened:
                r.taker = False
        self._bar_budget[sym] = budget
