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
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from typing import Any, NamedTuple, overload

import numpy as np

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


@dataclass(frozen=True, slots=True)
class TradeColumns:
    """One symbol's consecutive trades as numpy columns, for ``on_trade_columns``.

    ``ts_ns`` int64 nanoseconds, ``price`` and ``size`` float64, ``side`` int8:
    +1 buyer aggressor, -1 seller, 0 unknown. Arrays may be read-only views of
    the data as read; a strategy must not write to them.
    """

    symbol: str
    ts_ns: np.ndarray
    price: np.ndarray
    size: np.ndarray
    side: np.ndarray

    def __len__(self) -> int:
        return len(self.ts_ns)


_SIDE_CODE = {Side.BUY: 1, Side.SELL: -1}


class TradeBatch(Sequence[Trade]):
    """Consecutive trades of one symbol as columns: what a backtest replays fastest.

    It is a sequence of :class:`Trade` (``batch[i]`` builds one), and it hands
    its columns to strategies that implement ``scan_trades`` (``ts_ns`` and
    ``price`` as Python lists, read at list speed) or ``on_trade_columns``
    (:meth:`columns`, numpy arrays). Each view is made the first time it is
    asked for, so a path that reads only one pays only for it. Sizes, sides
    and trade ids become Python values where a trade is built. ``side_map``
    turns raw side values into a Side (unmapped values give None); without it
    the values are already Side or None.
    """

    __slots__ = (
        "_columns",
        "_id_at",
        "_ids",
        "_price",
        "_price_at",
        "_price_list",
        "_side_at",
        "_side_map",
        "_sides",
        "_size_at",
        "_sizes",
        "_ts",
        "_ts_at",
        "_ts_list",
        "symbol",
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
        n = len(ts_ns)
        columns = (("price", price), ("size", size), ("side", side), ("trade_id", trade_id))
        for name, col in columns:
            if col is not None and len(col) != n:
                raise ValueError(f"TradeBatch: {name} has {len(col)} rows, ts_ns has {n}")
        self._ts = ts_ns
        self._price = price
        self._ts_list: list[int] | None = None
        self._price_list: list[float] | None = None
        self._columns: TradeColumns | None = None
        self._sizes = size
        self._sides = side
        self._ids = trade_id
        self._side_map = side_map
        # Readers of one row as a Python value: a strategy that scans builds a
        # trade only where it stops, so converting whole columns would be waste.
        self._ts_at = _reader(ts_ns)
        self._price_at = _reader(price)
        self._size_at = _reader(size)
        self._id_at = _reader(trade_id)
        raw_side_at = _reader(side)
        if side_map is not None and side is not None:
            self._side_at: Callable[[int], Any] = lambda i: side_map.get(raw_side_at(i))
        else:
            self._side_at = raw_side_at

    @property
    def ts_ns(self) -> list[int]:
        """Exchange times as a Python list (made on first use)."""
        if self._ts_list is None:
            self._ts_list = _values(self._ts)
        return self._ts_list

    @property
    def price(self) -> list[float]:
        """Prices as a Python list (made on first use)."""
        if self._price_list is None:
            self._price_list = _values(self._price)
        return self._price_list

    def columns(self) -> TradeColumns:
        """The trades as numpy columns (made on first use; views where the data allows)."""
        if self._columns is None:
            self._columns = TradeColumns(
                self.symbol,
                np.asarray(self._ts, dtype=np.int64),
                np.asarray(self._price, dtype=np.float64),
                np.asarray(self._sizes, dtype=np.float64),
                self._side_codes(),
            )
        return self._columns

    def _side_codes(self) -> np.ndarray:
        n = len(self)
        if self._sides is None:
            return np.zeros(n, dtype=np.int8)
        raw = np.asarray(self._sides)
        if self._side_map is None:
            return np.fromiter((_SIDE_CODE.get(v, 0) for v in raw.tolist()), np.int8, n)
        codes = np.zeros(n, dtype=np.int8)
        # One comparison per distinct raw value, not one dict lookup per row.
        for value, side in self._side_map.items():
            code = _SIDE_CODE.get(side, 0) if side is not None else 0
            if code:
                codes[raw == value] = code
        return codes

    def __len__(self) -> int:
        return len(self._ts)

    @overload
    def __getitem__(self, i: int) -> Trade: ...

    @overload
    def __getitem__(self, i: slice) -> TradeBatch: ...

    def __getitem__(self, i: int | slice) -> Trade | TradeBatch:
        if isinstance(i, slice):
            return TradeBatch(
                self.symbol,
                self._ts[i],
                self._price[i],
                self._sizes[i],
                None if self._sides is None else self._sides[i],
                None if self._ids is None else self._ids[i],
                self._side_map,
            )
        return _TUPLE_NEW(
            Trade,
            (
                self._ts_at(i),
                self.symbol,
                self._price_at(i),
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
