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
* Maker and taker fees come from the instrument, charged in the quote asset.
* ``latency_ns`` delays every request's arrival at the venue on the event
  clock; the engine calls ``advance(now_ns)`` as time passes.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Protocol

from botkit.book import OrderBook
from botkit.events import Trade
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
_GTC = TimeInForce.GTC
_FOK = TimeInForce.FOK
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


class _Resting:
    __slots__ = ("is_buy", "order", "price_f", "queue", "venue_id")

    def __init__(self, order: Order, venue_id: str, queue: Decimal) -> None:
        self.order = order
        self.price_f = float(order.price)  # type: ignore[arg-type]
        self.is_buy = order.side is _BUY
        self.queue = queue
        self.venue_id = venue_id


def _dec(x: float) -> Decimal:
    return Decimal(repr(x))


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
    ) -> None:
        self.instruments = instruments
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
        self.rejected: list[tuple[int, str, str, str]] = []  # (ts, client_id, code, reason)

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
        self.next_due = self._queue[0][0]

    def advance(self, now_ns: int) -> None:
        """Deliver every request whose arrival time has come."""
        q = self._queue
        while q and q[0][0] <= now_ns:
            due, _, fn, args = heapq.heappop(q)
            fn(*args, due)
        self.next_due = q[0][0] if q else INF

    # ----- arrivals at the venue ----------------------------------------------------

    def _reject(self, order: Order, code: str, reason: str, ts: int) -> None:
        self.rejected.append((ts, order.client_id, code, reason))
        self.listener.on_reject(order.client_id, code, reason, ts)

    def _arrive_new(self, order: Order, ts: int) -> None:
        inst = self.instruments.get(order.symbol)
        if inst is None:
            self._reject(order, "unknown_instrument", f"{order.symbol} is not listed", ts)
            return
        if order.type.is_stop:
            self._reject(order, "unsupported_order_type", "the simulator has no stop orders", ts)
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
        venue_id = f"{self.name}-{next(self._order_ids)}"
        self.listener.on_ack(order.client_id, venue_id, ts)
        if order.type is _MARKET:
            left = self._take(order, inst, book, None, ts, venue_id)
            if left > 0:
                self.listener.on_expired(order.client_id, ts, "no liquidity left for the rest")
            return
        self._match_limit(order, inst, book, ts, venue_id)

    def _match_limit(
        self, order: Order, inst: Instrument, book: OrderBook, ts: int, venue_id: str
    ) -> None:
        limit: Decimal = order.price  # type: ignore[assignment]
        if self._crosses(order, limit, book):
            if order.tif is _FOK and self._available(order, limit, book) < order.remaining:
                self.listener.on_expired(order.client_id, ts, "FOK: not enough liquidity")
                return
            left = self._take(order, inst, book, limit, ts, venue_id)
            if left <= 0:
                return
        if order.tif is not _GTC:
            self.listener.on_expired(
                order.client_id, ts, f"{order.tif.value.upper()}: rest expired"
            )
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
        lose_priority = price != order.price or size > order.size
        self._remove(r)
        self.listener.on_edited(order.client_id, price, size, ts)
        if order.remaining <= 0:
            return
        if lose_priority:
            self._match_limit(order, self.instruments[order.symbol], book, ts, r.venue_id)
        else:
            self._resting[order.symbol].append(r)
            self._by_client[order.client_id] = r
            self.resting_count += 1

    def _remove(self, r: _Resting) -> None:
        self._resting[r.order.symbol].remove(r)
        del self._by_client[r.order.client_id]
        self.resting_count -= 1

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
                self._fill(order, inst, _dec(p), size, _TAKER, ts, venue_id)
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
        self._fill(order, inst, px, left, _TAKER, ts, venue_id)
        return ZERO

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
        fill: Fill = _NEW(  # Fill's twelve fields, built in C: once per execution
            Fill,
            (
                f"{self.name}-t{next(self._trade_ids)}",
                order.client_id,
                order.symbol,
                order.side,
                price,
                size,
                price * size * rate,
                inst.quote,
                liquidity,
                ts,
                venue_id,
                order.strategy,
            ),
        )
        self.trades.append(fill)
        self.listener.on_fill(fill)

    def on_trade(self, trade: Trade, ts: int) -> None:
        """Match resting orders against one public trade print."""
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
        if not resting:
            return stop
        hi = max((r.price_f for r in resting if r.is_buy), default=-math.inf)
        lo = min((r.price_f for r in resting if not r.is_buy), default=math.inf)
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
