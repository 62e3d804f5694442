"""The local L2 order book the engine keeps per symbol.

Strategies read it through ``ctx.book(symbol)``; the risk module and the
simulated venue read ``best_bid``, ``best_ask`` and ``last_price`` from it.
Prices and sizes are floats (market data); levels live in dicts keyed by price
and the touch is cached, because deltas mostly land away from the best price.
When a delta removes the touch, the next best comes from a heap of the side's
prices (stale entries, of levels gone since, are dropped as they surface), not
from a scan of every level.

The loop over a delta's rows runs in C (``botkit/_book.c``) when the install built
it, else in Python (``_apply_side_py``): the same steps on the same dict and heap,
checked against each other in ``tests/test_book_compiled.py``. In C a row costs
about 140 ns on a real capture, against 195 in Python; the dict operations on
float keys are most of it (a bare ``dict.update`` of the same rows takes 76 ns).

A ticker (best bid/ask quote) is fresher than a throttled depth stream: it sets
the top of the book until the next depth update. A quoted bid above the depth
book's best is the new best; one below it shows the levels above it gone. The
depth levels themselves are left as they were (the next depth update brings
them up to date), and ``best_bid``, ``best_ask``, the level lists and
``size_at`` read through the quote.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from heapq import heapify, heappop, heappush

from botkit.events import Bar, BookDelta, BookSnapshot, Level, Ticker, Trade


class OrderBook:
    __slots__ = (
        "_ask_heap",
        "_ask_size",
        "_bar_close",
        "_bid_heap",
        "_bid_size",
        "_depth_ask",
        "_depth_bid",
        "_quoted",
        "_ticker_last",
        "asks",
        "best_ask",
        "best_bid",
        "bids",
        "last_trade",
        "received_ns",
        "symbol",
        "ts_ns",
    )

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.best_bid: float | None = None
        self.best_ask: float | None = None
        # Every price of a side (bids negated) and maybe some gone since: the next best
        # when the touch is removed, in O(log n) (see _next_best).
        self._bid_heap: list[float] = []
        self._ask_heap: list[float] = []
        # The engine stores the last trade print whole: one store per trade event.
        self.last_trade: Trade | None = None
        self._ticker_last: float | None = None
        # Set by a ticker until the next depth update: the depth book's own touch,
        # to return to, and the quoted sizes at the touch (None: not quoted).
        self._quoted = False
        self._depth_bid: float | None = None
        self._depth_ask: float | None = None
        self._bid_size: float | None = None
        self._ask_size: float | None = None
        # The last bar's close: the reference price of a symbol that has only bars.
        self._bar_close: float | None = None
        self.ts_ns = 0
        # Wall-clock ns when a live feed last changed this book (0: never, as in a
        # backtest); only the live feed writes it, so backtests pay nothing per event.
        self.received_ns = 0

    @property
    def last_price(self) -> float | None:
        """The last trade's price, else the last ticker's, else the last bar's close."""
        t = self.last_trade
        if t is not None:
            return t.price
        x = self._ticker_last
        return x if x is not None else self._bar_close

    @property
    def last_size(self) -> float | None:
        t = self.last_trade
        return t.size if t is not None else None

    @property
    def mid(self) -> float | None:
        if self.best_bid is None or self.best_ask is None:
            return None
        return (self.best_bid + self.best_ask) / 2.0

    @property
    def spread(self) -> float | None:
        if self.best_bid is None or self.best_ask is None:
            return None
        return self.best_ask - self.best_bid

    @property
    def quoted(self) -> bool:
        """True while a ticker sets the top of the book (until the next depth update)."""
        return self._quoted

    def bid_levels(self, depth: int | None = None) -> list[Level]:
        """Bids best (highest) first."""
        bids = self.bids
        top = self.best_bid
        if self._quoted and top is not None:
            below = sorted((p for p in bids if p < top), reverse=True)
            levels = [(top, self.size_at(True, top))] + [(p, bids[p]) for p in below]
            return levels[:depth]
        prices = sorted(bids, reverse=True)[:depth]
        return [(p, bids[p]) for p in prices]

    def ask_levels(self, depth: int | None = None) -> list[Level]:
        """Asks best (lowest) first."""
        asks = self.asks
        top = self.best_ask
        if self._quoted and top is not None:
            above = sorted(p for p in asks if p > top)
            levels = [(top, self.size_at(False, top))] + [(p, asks[p]) for p in above]
            return levels[:depth]
        prices = sorted(asks)[:depth]
        return [(p, asks[p]) for p in prices]

    def size_at(self, is_bid: bool, price: float) -> float:
        levels = self.bids if is_bid else self.asks
        if self._quoted:
            top = self.best_bid if is_bid else self.best_ask
            if top is not None:
                if price == top:
                    quoted = self._bid_size if is_bid else self._ask_size
                    return quoted if quoted is not None else levels.get(price, 0.0)
                if price > top if is_bid else price < top:
                    return 0.0  # the quote shows this level gone
        return levels.get(price, 0.0)

    def _unquote(self) -> None:
        """A depth update is here: back to the depth book's own touch."""
        self._quoted = False
        self.best_bid = self._depth_bid
        self.best_ask = self._depth_ask

    def apply_snapshot(self, snap: BookSnapshot) -> None:
        self._quoted = False
        self.bids = {p: s for p, s in snap.bids if s > 0}
        self.asks = {p: s for p, s in snap.asks if s > 0}
        self._bid_heap = heap = [-p for p in self.bids]
        heapify(heap)
        self._ask_heap = heap = list(self.asks)
        heapify(heap)
        self.best_bid = max(self.bids) if self.bids else None
        self.best_ask = min(self.asks) if self.asks else None
        self.ts_ns = snap.ts_ns

    def apply_delta(self, delta: BookDelta) -> None:
        if self._quoted:
            self._unquote()
        # A side the delta does not touch costs one test (most deltas change one side).
        levels = delta.bids
        if levels:
            self.best_bid = _apply_side(
                self.bids, self._bid_heap, levels, self.best_bid, True, _next_best
            )
        levels = delta.asks
        if levels:
            self.best_ask = _apply_side(
                self.asks, self._ask_heap, levels, self.best_ask, False, _next_best
            )
        self.ts_ns = delta.ts_ns

    def apply_ticker(self, ticker: Ticker) -> None:
        bid, ask = ticker.bid, ticker.ask
        # A quote older than the depth book (a slow ticker channel on a live venue)
        # would set a staler top than the book's own.
        fresh = ticker.ts_ns >= self.ts_ns or not (self.bids or self.asks)
        if fresh and (bid is not None or ask is not None):
            if not self._quoted:
                self._quoted = True
                self._depth_bid = self.best_bid
                self._depth_ask = self.best_ask
                self._bid_size = self._ask_size = None
            if bid is not None:
                self.best_bid = bid
                self._bid_size = ticker.bid_size
            if ask is not None:
                self.best_ask = ask
                self._ask_size = ticker.ask_size
        if ticker.last is not None:
            self._ticker_last = ticker.last
            self.last_trade = None
        if fresh:
            self.ts_ns = ticker.ts_ns

    def apply_bar(self, bar: Bar) -> None:
        # Only a fallback: a trade print or ticker, when there are any, is fresher than
        # a close that summarises a whole interval.
        self._bar_close = bar.close

    @property
    def has_market(self) -> bool:
        """True once a trade, ticker or book level was seen: bars then no longer drive fills."""
        return (
            self.last_trade is not None
            or self._ticker_last is not None
            or self.best_bid is not None
            or self.best_ask is not None
        )

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.symbol} bid={self.best_bid} ask={self.best_ask} "
            f"last={self.last_price} levels={len(self.bids)}/{len(self.asks)})"
        )


def _next_best(levels: dict[float, float], heap: list[float], is_bid: bool) -> float | None:
    """A side's best price after its touch was removed: the heap's top still in the book.

    The heap holds every price the side has had (bids negated), some gone since;
    those are dropped as they surface.
    """
    if len(heap) > 2 * len(levels) + 64:  # mostly levels gone since: start afresh
        heap[:] = [-p for p in levels] if is_bid else list(levels)
        heapify(heap)
    while heap:
        p = -heap[0] if is_bid else heap[0]
        if p in levels:
            return p
        heappop(heap)
    return None


def _apply_side_py(
    levels: dict[float, float],
    heap: list[float],
    rows: Sequence[Level],
    best: float | None,
    is_bid: bool,
    next_best: Callable[[dict[float, float], list[float], bool], float | None],
) -> float | None:
    """One side of a delta: set or remove each level, keep the heap and the best price.

    ``botkit/_book.c`` does the same in C (``_apply_side`` is that when it built).
    """
    for p, s in rows:
        if s > 0:
            if p not in levels:
                heappush(heap, -p if is_bid else p)
                if best is None or (p > best if is_bid else p < best):
                    best = p
            levels[p] = s
        elif levels.pop(p, None) is not None and p == best:
            best = next_best(levels, heap, is_bid)
    return best


_apply_side: Callable[..., float | None]
try:
    from botkit._book import apply_side as _apply_side
except ImportError:  # no C compiler at install: the same steps in Python
    _apply_side = _apply_side_py
COMPILED = _apply_side is not _apply_side_py
