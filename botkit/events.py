"""Market and order events, as the engine hands them to strategies.

Market events carry floats and plain ints (nanosecond timestamps). They are
created by the million in a backtest, so they are named tuples: built and read
at C speed, immutable, and positional (``Trade(ts_ns, symbol, price, size,
side, trade_id)``). Compare them by fields, not with ``==`` across types:
as tuples, two different event types with equal fields compare equal.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from itertools import repeat
from typing import Any, NamedTuple, overload

from botkit.model import OrderStatus, OrderType, Side

Level = tuple[float, float]  # (price, size)


class Trade(NamedTuple):
    """A public trade print. ``side`` is the aggressor (taker) side, or None if unknown."""

    ts_ns: int
    symbol: str
    price: float
    size: float
    side: Side | None = None
    trade_id: str | int | None = None


class BookSnapshot(NamedTuple):
    """The full visible book: bids best (highest) first, asks best (lowest) first."""

    ts_ns: int
    symbol: str
    bids: list[Level]
    asks: list[Level]


class BookDelta(NamedTuple):
    """Changed levels with their new absolute size; a size of 0 removes the level."""

    ts_ns: int
    symbol: str
    bids: list[Level]
    asks: list[Level]


class Ticker(NamedTuple):
    ts_ns: int
    symbol: str
    bid: float | None
    ask: float | None
    bid_size: float | None = None
    ask_size: float | None = None
    last: float | None = None


class Bar(NamedTuple):
    """An OHLCV bar; ``ts_ns`` is the bar's close time, ``interval_ns`` its length."""

    ts_ns: int
    symbol: str
    interval_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class Timer(NamedTuple):
    """A timer set in bot.yaml fired; ``scheduled_ns`` is when it was due."""

    ts_ns: int
    name: str
    interval_ns: int
    scheduled_ns: int


class OrderUpdate(NamedTuple):
    """A snapshot of one of the strategy's orders after a change (the ``on_order`` hook).

    ``code`` is the stable reject code (``below_min_notional``, ...) when the
    risk module or the venue refused the order; ``reason`` is the human text.
    """

    ts_ns: int
    client_id: str
    symbol: str
    side: Side
    type: OrderType
    status: OrderStatus
    price: Decimal | None
    size: Decimal
    filled: Decimal
    avg_price: Decimal | None
    venue_order_id: str | None = None
    code: str | None = None
    reason: str | None = None
    strategy: str = ""

    @property
    def remaining(self) -> Decimal:
        return self.size - self.filled


MarketEvent = Trade | BookSnapshot | BookDelta | Ticker | Bar


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building a batch of events.

    Event objects hold no reference cycles, but allocating tens of thousands of
    tracked objects triggers generation-0 collections every ~700 of them, which
    nearly halves the build rate. The previous state is always restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build_events(cls: type, *columns: Iterable[Any]) -> list[Any]:
    """Events from columns, one per row, without running Python code per row.

    The market events are NamedTuples, whose generated ``__new__`` is a Python
    function; ``tuple.__new__(cls, row)`` builds the identical object in C. A
    non-tuple event class falls back to its constructor.
    """
    with gc_paused():
        if issubclass(cls, tuple):
            return list(map(_TUPLE_NEW, repeat(cls), zip(*columns)))
        return list(map(cls, *columns))


_TUPLE_NEW = tuple.__new__


def _values(column: Any) -> list[Any]:
    return column.tolist() if hasattr(column, "tolist") else list(column)


def _none(i: int) -> None:
    return None


def _reader(column: Any) -> Callable[[int], Any]:
    """Row i of a column as a Python value: ``ndarray.item(i)`` for numpy, else indexing."""
    if column is None:
        return _none
    item = getattr(column, "item", None)
    return item if item is not None else column.__getitem__  # type: ignore[no-any-return]


class TradeBatch(Sequence[Trade]):
    """Consecutive trades of one symbol as columns: what a backtest replays fastest.

    It is a sequence of :class:`Trade` (``batch[i]`` builds one), and it hands
    its columns to strategies that implement ``scan_trades``: ``ts_ns`` and
    ``price`` are Python lists, read at list speed. Sizes, sides and trade ids
    (numpy arrays or sequences) become Python values the first time a trade is
    built. ``side_map`` turns raw side values into a Side (unmapped values give
    None); without it the values are already Side or None.
    """

    __slots__ = (
        "_id_at",
        "_ids",
        "_side_at",
        "_side_map",
        "_sides",
        "_size_at",
        "_sizes",
        "price",
        "symbol",
        "ts_ns",
    )

    def __init__(
        self,
        symbol: str,
        ts_ns: Sequence[int] | Any,
        price: Sequence[float] | Any,
        size: Sequence[float] | Any,
        side: Sequence[Any] | Any | None = None,
        trade_id: Sequence[Any] | Any | None = None,
        side_map: Mapping[Any, Side | None] | None = None,
    ) -> None:
        self.symbol = symbol
        self.ts_ns: list[int] = _values(ts_ns)
        self.price: list[float] = _values(price)
        n = len(self.ts_ns)
        columns = (("price", self.price), ("size", size), ("side", side), ("trade_id", trade_id))
        for name, col in columns:
            if col is not None and len(col) != n:
                raise ValueError(f"TradeBatch: {name} has {len(col)} rows, ts_ns has {n}")
        self._sizes = size
        self._sides = side
        self._ids = trade_id
        self._side_map = side_map
        # Readers of one row as a Python value: a strategy that scans builds a
        # trade only where it stops, so converting whole columns would be waste.
        self._size_at = _reader(size)
        self._id_at = _reader(trade_id)
        raw_side_at = _reader(side)
        if side_map is not None and side is not None:
            self._side_at: Callable[[int], Any] = lambda i: side_map.get(raw_side_at(i))
        else:
            self._side_at = raw_side_at

    def __len__(self) -> int:
        return len(self.ts_ns)

    @overload
    def __getitem__(self, i: int) -> Trade: ...

    @overload
    def __getitem__(self, i: slice) -> TradeBatch: ...

    def __getitem__(self, i: int | slice) -> Trade | TradeBatch:
        if isinstance(i, slice):
            return TradeBatch(
                self.symbol,
                self.ts_ns[i],
                self.price[i],
                self._sizes[i],
                None if self._sides is None else self._sides[i],
                None if self._ids is None else self._ids[i],
                self._side_map,
            )
        return _TUPLE_NEW(
            Trade,
            (
                self.ts_ns[i],
                self.symbol,
                self.price[i],
                self._size_at(i),
                self._side_at(i),
                self._id_at(i),
            ),
        )

    def __iter__(self) -> Iterator[Trade]:
        return iter(self.events())

    def events(self) -> list[Trade]:
        """Every trade as a :class:`Trade`, built at C speed."""
        sides: Iterable[Any]
        if self._sides is None:
            sides = repeat(None)
        elif self._side_map is None:
            sides = _values(self._sides)
        else:
            sides = map(self._side_map.get, _values(self._sides))
        ids = repeat(None) if self._ids is None else _values(self._ids)
        sizes = _values(self._sizes)
        return build_events(Trade, self.ts_ns, repeat(self.symbol), self.price, sizes, sides, ids)

    def __repr__(self) -> str:
        return f"TradeBatch({self.symbol!r}, {len(self)} trades)"
