"""A backtest's fills and closed orders, spilled to Parquet as they grow.

The report needs every fill and every order of the run. Held as Python objects
they cost about 1.3 KB a fill with its order (Decimals, strings, the objects
themselves): 10 million events of the reference EMA cross (285k fills) took
~350 MB for them alone. :class:`SpillLog` keeps the newest ``rows`` items in
memory and writes older ones to Parquet part files in a scratch folder; they are
read back a batch at a time, so the report streams them instead of holding them.

Money round-trips exactly: a Decimal is stored as its ``str()`` in a Parquet
string column, which ``Decimal()`` reads back to the same digits and exponent (a
scaled integer would need each instrument's grid and still lose the exponent
that prices printed as ``0.10`` carry). Enums are stored as their value, ``None``
as null.

Each part is written in ``key`` order, stably (ties keep their append order), with
the append position in a ``seq`` column: :meth:`SpillLog.in_order` is then a k-way
merge of the parts, which yields exactly what ``sorted(log, key=key)`` would (parts
that follow each other, as a backtest's fills in time do, are simply chained), and
iteration in append order reorders one part at a time.

:func:`install` puts an engine's router and simulated venue on spill logs.
"""

from __future__ import annotations

import heapq
import os
import secrets
import shutil
import tempfile
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from enum import Enum
from itertools import chain, islice, pairwise, repeat
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from botkit.model import Fill, Liquidity, Order, OrderStatus, OrderType, Side, TimeInForce

if TYPE_CHECKING:
    from botkit.engine import Engine
    from botkit.execution.router import ExecutionRouter

T = TypeVar("T")

# Items kept in memory per log before a part is written: ~25 MB of fills, ~35 MB of
# orders; small enough that reading one part back whole stays cheap too.
DEFAULT_ROWS = 32_768
# Closed orders the router keeps before the archive takes them: the archive holds
# its newest ``rows`` in memory anyway, so this only covers what touches an order
# right after it closed.
_GRACE = 1_024
# Rows per Parquet row group and per batch read back: what a merge holds per part.
_BATCH = 4_096

_STR, _OPT_STR, _DEC, _OPT_DEC, _INT, _BOOL, _ENUM, _OPT_ENUM = range(8)
_ARROW = {
    _STR: pa.string(),
    _OPT_STR: pa.string(),
    _DEC: pa.string(),
    _OPT_DEC: pa.string(),
    _INT: pa.int64(),
    _BOOL: pa.bool_(),
    _ENUM: pa.string(),
    _OPT_ENUM: pa.string(),
}
_TUPLE_NEW = tuple.__new__


def _dec_or_none(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


class Codec(Generic[T]):
    """Columns for the fields of a record type (a named tuple or a slotted dataclass
    whose fields are its positional constructor arguments), and back."""

    def __init__(
        self,
        cls: type[T],
        fields: Sequence[tuple[str, int, type[Enum] | None]],
        *,
        is_tuple: bool = False,
    ) -> None:
        self.cls = cls
        self.fields = tuple(fields)
        self._is_tuple = is_tuple
        self.schema = pa.schema(
            [(name, _ARROW[kind]) for name, kind, _ in self.fields] + [("seq", pa.int64())]
        )
        self._kinds = {name: kind for name, kind, _ in self.fields}
        # Enum members by value: calling the enum class is ~1 us per lookup.
        self._members = {
            name: {m.value: m for m in enum} for name, _, enum in self.fields if enum is not None
        }

    def encode(self, items: Sequence[T]) -> dict[str, list[Any]]:
        if self._is_tuple:
            columns: Iterable[Sequence[Any]] = zip(*items)  # type: ignore[call-overload]
        else:
            columns = (list(map(attrgetter(name), items)) for name, _, _ in self.fields)
        out: dict[str, list[Any]] = {}
        for (name, kind, enum), values in zip(self.fields, columns):
            if kind == _DEC:
                values = list(map(str, values))
            elif kind == _OPT_DEC:
                values = [None if v is None else str(v) for v in values]
            elif enum is not None and not issubclass(enum, str):
                values = [None if v is None else v.value for v in values]
            # A str enum member is a str already: Arrow takes it as its value.
            out[name] = list(values)
        return out

    def tables(self, items: Sequence[T]) -> Iterator[pa.Table]:
        """``items`` as Arrow tables of the codec's columns (no ``seq``), ``_BATCH`` rows each."""
        schema = pa.schema([(name, _ARROW[kind]) for name, kind, _ in self.fields])
        for start in range(0, len(items), _BATCH):
            chunk = self.encode(items[start : start + _BATCH])
            yield pa.Table.from_pydict(chunk, schema=schema)

    def decode_column(self, name: str, column: pa.Array | pa.ChunkedArray) -> Iterable[Any]:
        """One field's values, as the records hold them."""
        kind = self._kinds[name]
        values = column.to_pylist()
        if kind == _DEC:
            return map(Decimal, values)
        if kind == _OPT_DEC:
            return map(_dec_or_none, values)
        if kind == _ENUM:
            return map(self._members[name].__getitem__, values)
        if kind == _OPT_ENUM:
            return map(self._members[name].get, values, repeat(None))
        return values

    def decode(self, batch: pa.RecordBatch | pa.Table) -> list[T]:
        columns = [self.decode_column(name, batch.column(name)) for name, _, _ in self.fields]
        if self._is_tuple:
            return list(map(_TUPLE_NEW, repeat(self.cls), zip(*columns)))
        return [self.cls(*row) for row in zip(*columns)]


FILL_CODEC: Codec[Fill] = Codec(
    Fill,
    [
        ("trade_id", _STR, None),
        ("client_id", _STR, None),
        ("symbol", _STR, None),
        ("side", _ENUM, Side),
        ("price", _DEC, None),
        ("size", _DEC, None),
        ("fee", _DEC, None),
        ("fee_asset", _STR, None),
        ("liquidity", _OPT_ENUM, Liquidity),
        ("ts_ns", _INT, None),
        ("venue_order_id", _OPT_STR, None),
        ("strategy", _STR, None),
    ],
    is_tuple=True,
)

ORDER_CODEC: Codec[Order] = Codec(
    Order,
    [
        ("client_id", _STR, None),
        ("symbol", _STR, None),
        ("side", _ENUM, Side),
        ("type", _ENUM, OrderType),
        ("size", _DEC, None),
        ("price", _OPT_DEC, None),
        ("tif", _ENUM, TimeInForce),
        ("post_only", _BOOL, None),
        ("reduce_only", _BOOL, None),
        ("stop_price", _OPT_DEC, None),
        ("strategy", _STR, None),
        ("status", _ENUM, OrderStatus),
        ("filled", _DEC, None),
        ("avg_price", _OPT_DEC, None),
        ("fees", _DEC, None),
        ("venue_order_id", _OPT_STR, None),
        ("created_ns", _INT, None),
        ("updated_ns", _INT, None),
        ("reason", _OPT_STR, None),
        ("code", _OPT_STR, None),
        ("attempt", _INT, None),
    ],
)


class Scratch:
    """The folder a run's spill logs write to: made by their first part, removed with
    everything in it once no log (nor anything else) refers to this object any more,
    or when the interpreter exits.

    Under ``parent`` (a run's output folder) it is a dot-folder, which readers of
    output folders skip; with no parent it goes to the system's temporary folder.
    """

    def __init__(self, parent: Path | None = None) -> None:
        base = Path(parent) if parent is not None else Path(tempfile.gettempdir())
        self.path = base / f".spill-{os.getpid()}-{secrets.token_hex(4)}"
        self._remove = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def cleanup(self) -> None:
        """Remove the folder now."""
        self._remove()


class _Part:
    __slots__ = ("first", "hi", "lo", "ordered", "path", "rows")

    def __init__(
        self, path: Path, first: int, rows: int, ordered: bool, lo: object, hi: object
    ) -> None:
        self.path = path
        self.first = first  # the append position of its first item
        self.rows = rows
        self.ordered = ordered  # key order is append order: streams in batches either way
        self.lo, self.hi = lo, hi  # its smallest and largest key


def _merged(streams: list[tuple[Iterable[T], Any, Any]], key: Callable[[T], Any]) -> Iterator[T]:
    """Sorted streams, each with its smallest and largest key, merged stably (on equal
    keys the earlier stream's item first): the stable sort of their concatenation."""
    runs: list[list[Iterable[T]]] = []
    run_hi: Any = None
    for stream, lo, hi in streams:
        # A stream that starts at or after the run's last key just follows it: no
        # per-item merge for parts in time order, as a backtest's fills are.
        if runs and not lo < run_hi:
            runs[-1].append(stream)
        else:
            runs.append([stream])
        run_hi = hi  # sorted: its last key is at least the run's
    chained = [chain.from_iterable(run) for run in runs]
    if len(chained) == 1:
        return chained[0]
    # heapq.merge takes equal keys from the earlier iterable first.
    return heapq.merge(*chained, key=key)


class SpillLog(Sequence[T]):
    """An append-only list that keeps its newest ``rows`` items in memory and the
    rest in Parquet files under ``folder`` (module doc).

    Reads behave as on a list (``len``, iteration in append order, indexing,
    slicing); items read back from disk are equal copies, not the objects
    appended. Assigning to an index replaces the item, in memory or on disk.
    """

    def __init__(
        self,
        folder: Scratch | Path,
        name: str,
        codec: Codec[T],
        key: Callable[[T], Any],
        rows: int = DEFAULT_ROWS,
    ) -> None:
        # Holding the Scratch keeps its folder for as long as this log can be read.
        self.scratch = folder if isinstance(folder, Scratch) else None
        self.folder = folder.path if isinstance(folder, Scratch) else Path(folder)
        self.name = name
        self.codec = codec
        self.key = key
        self.rows = max(1, int(rows))
        self._tail: list[T] = []
        self._parts: list[_Part] = []
        self._spilled = 0
        # Items on disk replaced since (by append position): rare, so not rewritten.
        self._replaced: dict[int, T] = {}

    # ----- writing ---------------------------------------------------------------

    def append(self, item: T) -> None:
        tail = self._tail
        tail.append(item)
        if len(tail) >= self.rows:
            self.flush()

    def extend(self, items: Iterable[T]) -> None:
        for item in items:
            self.append(item)

    def flush(self) -> None:
        """Write the items in memory as one more part."""
        items = self._tail
        if not items:
            return
        order = sorted(range(len(items)), key=list(map(self.key, items)).__getitem__)
        first = self._spilled
        columns = self.codec.encode([items[i] for i in order])
        columns["seq"] = [first + i for i in order]
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.name}-{len(self._parts):06d}.parquet"
        table = pa.Table.from_pydict(columns, schema=self.codec.schema)
        pq.write_table(table, path, row_group_size=_BATCH)
        ordered = all(a < b for a, b in zip(order, islice(order, 1, None)))
        lo, hi = self.key(items[order[0]]), self.key(items[order[-1]])
        self._parts.append(_Part(path, first, len(items), ordered, lo, hi))
        self._spilled += len(items)
        self._on_flush(items)
        self._tail = []

    def _on_flush(self, items: list[T]) -> None:
        """Called with the items just written, before they leave memory."""

    @property
    def parts(self) -> int:
        """How many part files were written."""
        return len(self._parts)

    # ----- reading ---------------------------------------------------------------

    def __len__(self) -> int:
        return self._spilled + len(self._tail)

    def _batches(self, part: _Part) -> Iterator[tuple[list[int], list[T]]]:
        """(append positions, items) of a part, in key order, a batch at a time."""
        replaced = self._replaced
        for batch in pq.ParquetFile(part.path).iter_batches(batch_size=_BATCH):
            seqs = batch.column("seq").to_pylist()
            items = self.codec.decode(batch)
            if replaced:
                items = [replaced.get(s, x) for s, x in zip(seqs, items)]
            yield seqs, items

    def _read_part(self, part: _Part) -> list[T]:
        """A part's items in append order (the whole part: at most ``rows`` items)."""
        out: list[Any] = [None] * part.rows
        for seqs, items in self._batches(part):
            for s, x in zip(seqs, items):
                out[s - part.first] = x
        return out

    def __iter__(self) -> Iterator[T]:
        for part in list(self._parts):
            if part.ordered:
                for _, items in self._batches(part):
                    yield from items
            else:
                yield from self._read_part(part)
        yield from list(self._tail)

    def _sorted_tail(self) -> tuple[list[T], Any, Any]:
        tail = sorted(self._tail, key=self.key)
        return tail, self.key(tail[0]) if tail else None, self.key(tail[-1]) if tail else None

    def in_order(self) -> Iterator[T]:
        """The items sorted by ``key``, stably (ties in append order), streamed."""
        streams: list[tuple[Iterable[T], Any, Any]] = [
            ((x for _, items in self._batches(p) for x in items), p.lo, p.hi) for p in self._parts
        ]
        tail = self._sorted_tail()
        if tail[0]:
            streams.append(tail)
        # With the parts in append order and each sorted stably, a stable merge of
        # them is the stable global sort.
        return _merged(streams, self.key)

    def _chained(self) -> tuple[list[_Part], list[T], Any] | None:
        """The parts and the sorted tail when :meth:`in_order` is their concatenation
        (each starts at or after the previous one's last key, nothing replaced), with
        the last key; None when it is a per-item merge."""
        if self._replaced:
            return None
        tail, lo, hi = self._sorted_tail()
        bounds = [(p.lo, p.hi) for p in self._parts] + ([(lo, hi)] if tail else [])
        if any(b[0] < a[1] for a, b in pairwise(bounds)):
            return None
        return list(self._parts), tail, bounds[-1][1] if bounds else None

    def in_key_order(self) -> bool:
        """Whether append order is :meth:`in_order` already: then one pass in either
        serves a reader of each (a backtest's fills, appended as time goes)."""
        if self._replaced or not all(p.ordered for p in self._parts):
            return False
        key = self.key
        tail_keys = list(map(key, self._tail))
        if any(b < a for a, b in pairwise(tail_keys)):
            return False
        bounds = [(p.lo, p.hi) for p in self._parts]
        if tail_keys:
            bounds.append((tail_keys[0], tail_keys[-1]))
        return not any(b[0] < a[1] for a, b in pairwise(bounds))

    def in_order_tables(self) -> tuple[Iterator[pa.Table], Any] | None:
        """:meth:`in_order` as Arrow tables of the codec's columns, a batch at a time,
        with the last key: the items are never built, for a reader that wants their
        fields as columns. None when the parts would have to be merged item by item."""
        chained = self._chained()
        if chained is None:
            return None
        parts, tail, hi = chained
        return self._tables(parts, tail), hi

    def _tables(self, parts: list[_Part], tail: list[T]) -> Iterator[pa.Table]:
        names = [name for name, _, _ in self.codec.fields]
        for part in parts:
            for batch in pq.ParquetFile(part.path).iter_batches(batch_size=_BATCH, columns=names):
                yield pa.Table.from_batches([batch])
        yield from self.codec.tables(tail)

    def last_in_order(self, n: int) -> list[T]:
        """The last ``n`` items of :meth:`in_order`, reading only each part's end: those
        are among the last ``n`` of their part, and keep their order in the merge."""
        if n <= 0:
            return []
        streams: list[tuple[Iterable[T], Any, Any]] = []
        for part in self._parts:
            pf = pq.ParquetFile(part.path)
            groups: list[int] = []
            rows = 0
            for g in range(pf.metadata.num_row_groups - 1, -1, -1):
                groups.insert(0, g)
                rows += pf.metadata.row_group(g).num_rows
                if rows >= n:
                    break
            table = pf.read_row_groups(groups)
            table = table.slice(max(0, table.num_rows - n))
            items = self.codec.decode(table)
            if self._replaced:
                seqs = table.column("seq").to_pylist()
                items = [self._replaced.get(q, x) for q, x in zip(seqs, items)]
            streams.append((items, self.key(items[0]), part.hi))
        tail, _, hi = self._sorted_tail()
        if tail:
            streams.append((tail[-n:], self.key(tail[-n:][0]), hi))
        return list(deque(_merged(streams, self.key), maxlen=n))

    def values(self, name: str) -> Iterator[Any]:
        """One field of every item, in append order, reading only that column back."""
        for part in list(self._parts):
            table = pq.read_table(part.path, columns=[name, "seq"])
            values = list(self.codec.decode_column(name, table.column(name)))
            if not part.ordered or self._replaced:
                out: list[Any] = [None] * part.rows
                for q, v in zip(table.column("seq").to_pylist(), values):
                    item = self._replaced.get(q)
                    out[q - part.first] = v if item is None else getattr(item, name)
                values = out
            yield from values
        yield from map(attrgetter(name), list(self._tail))

    def _part_of(self, index: int) -> _Part:
        for part in self._parts:
            if part.first <= index < part.first + part.rows:
                return part
        raise IndexError(index)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            wanted = range(len(self))[index]
            if not wanted:
                return []
            if min(wanted[0], wanted[-1]) >= self._spilled:
                return [self._tail[i - self._spilled] for i in wanted]
            return _slice_by_reading(self, wanted)
        i = range(len(self))[index]  # IndexError as a list raises it
        if i >= self._spilled:
            return self._tail[i - self._spilled]
        if i in self._replaced:
            return self._replaced[i]
        part = self._part_of(i)
        return self._read_part(part)[i - part.first]

    def __setitem__(self, index: int, item: T) -> None:
        i = range(len(self))[index]
        if i >= self._spilled:
            self._tail[i - self._spilled] = item
        else:
            self._replaced[i] = item


class OrderArchive(SpillLog[Order]):
    """Closed orders, spilled (:class:`SpillLog`), and found again by client id.

    Each part comes with the sorted hashes of its client ids (8 bytes an order, where
    a dict of the ids would hold every id string): :meth:`get` reads back only the row
    group holding the order a hash points to, and returns a copy of the order as it
    was archived, or None. The last ``cached`` orders found are kept, for a strategy
    that asks about the same old order again and again.
    """

    def __init__(
        self,
        folder: Scratch | Path,
        name: str = "orders",
        rows: int = DEFAULT_ROWS,
        cached: int = 1_024,
    ) -> None:
        super().__init__(folder, name, ORDER_CODEC, _order_key, rows)
        self._in_tail: dict[str, Order] = {}
        self._hashes: list[npt.NDArray[np.int64]] = []
        self._found: OrderedDict[str, Order] = OrderedDict()
        self._cached = max(0, int(cached))

    def append(self, item: Order) -> None:
        self._in_tail[item.client_id] = item
        super().append(item)

    def _on_flush(self, items: list[Order]) -> None:
        self._hashes.append(np.sort(np.fromiter((hash(o.client_id) for o in items), np.int64)))
        self._in_tail = {}

    def __contains__(self, client_id: object) -> bool:
        return isinstance(client_id, str) and self.get(client_id) is not None

    def get(self, client_id: str) -> Order | None:
        order = self._in_tail.get(client_id)
        if order is not None:
            return order
        order = self._found.get(client_id)
        if order is not None:
            self._found.move_to_end(client_id)
            return order
        h = hash(client_id)
        for n, hashes in enumerate(self._hashes):
            i = int(np.searchsorted(hashes, h))
            if i < len(hashes) and hashes[i] == h:
                order = self._read_one(self._parts[n], client_id)
                if order is not None:  # else two ids share the hash: look on
                    if self._cached:
                        self._found[client_id] = order
                        if len(self._found) > self._cached:
                            self._found.popitem(last=False)
                    return order
        return None

    def _read_one(self, part: _Part, client_id: str) -> Order | None:
        pf = pq.ParquetFile(part.path)
        ids = pf.read(columns=["client_id"]).column(0)
        row = pc.index(ids, client_id).as_py()
        if row < 0:
            return None
        group = row // _BATCH  # every row group but the last holds _BATCH rows
        table = pf.read_row_group(group).slice(row - group * _BATCH, 1)
        order = self.codec.decode(table)[0]
        seq = table.column("seq")[0].as_py()
        return self._replaced.get(seq, order)


def _slice_by_reading(items: Iterable[T], wanted: range) -> list[T]:
    """``items[wanted]`` for a sequence read in order: the window it spans, read once."""
    if not wanted:
        return []
    lo, hi = min(wanted[0], wanted[-1]), max(wanted[0], wanted[-1])
    window = list(islice(items, lo, hi + 1))
    return [window[i - lo] for i in wanted]


class SpillChain(Sequence[T]):
    """A spill log followed by a list, read as one sequence (neither is copied): a
    run's archived orders and those still in the router's memory."""

    def __init__(self, log: SpillLog[T], rest: Sequence[T]) -> None:
        self.log = log
        self.rest = rest

    def __len__(self) -> int:
        return len(self.log) + len(self.rest)

    def __iter__(self) -> Iterator[T]:
        yield from self.log
        yield from self.rest

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return _slice_by_reading(self, range(len(self))[index])
        i = range(len(self))[index]
        n = len(self.log)
        return self.log[i] if i < n else self.rest[i - n]

    def values(self, name: str) -> Iterator[Any]:
        """One field of every item, reading only that column of the log back."""
        yield from self.log.values(name)
        yield from map(attrgetter(name), self.rest)

    def in_order(self) -> Iterator[T]:
        """Sorted by the log's key, stably (the log's items before the rest's on ties)."""
        key = self.log.key
        return heapq.merge(self.log.in_order(), sorted(self.rest, key=key), key=key)

    def in_order_tables(self) -> tuple[Iterator[pa.Table], Any] | None:
        """:meth:`in_order` as Arrow tables (:meth:`SpillLog.in_order_tables`), or None
        when the rest would have to be merged into the log item by item."""
        logged = self.log.in_order_tables()
        if logged is None:
            return None
        tables, hi = logged
        key = self.log.key
        rest = sorted(self.rest, key=key)
        if rest and hi is not None and key(rest[0]) < hi:
            return None
        last = key(rest[-1]) if rest else hi
        return chain(tables, self.log.codec.tables(rest)), last

    def last_in_order(self, n: int) -> list[T]:
        """The last ``n`` items of :meth:`in_order`."""
        if n <= 0:
            return []
        key = self.log.key
        rest = sorted(self.rest, key=key)[-n:]
        merged = heapq.merge(self.log.last_in_order(n), rest, key=key)
        return list(deque(merged, maxlen=n))


def _order_key(o: Order) -> tuple[int, str]:
    # The order orders.csv lists them in.
    return o.created_ns, o.client_id


def _fill_key(f: Fill) -> int:
    return f.ts_ns


def fill_log(folder: Scratch | Path, rows: int = DEFAULT_ROWS) -> SpillLog[Fill]:
    """A spill log of fills, kept in time order (the order fills.csv lists them in)."""
    return SpillLog(folder, "fills", FILL_CODEC, _fill_key, rows)


def in_time_order(fills: Iterable[Fill]) -> Iterator[Fill]:
    """Fills by time, stably: a spill log merges its parts, anything else is sorted."""
    if isinstance(fills, (SpillLog, SpillChain)):
        return fills.in_order()
    return iter(sorted(fills, key=_fill_key))


def appended_in_time_order(fills: Sequence[Fill]) -> bool:
    """Whether iterating ``fills`` yields them as :func:`in_time_order` does."""
    if isinstance(fills, SpillLog):
        return fills.in_key_order()
    if isinstance(fills, SpillChain):
        return False
    times = [f.ts_ns for f in fills]
    return not any(b < a for a, b in pairwise(times))


def last_in_time_order(fills: Sequence[Fill], n: int) -> list[Fill]:
    """The last ``n`` of ``in_time_order(fills)``, without reading every fill back."""
    if n <= 0:
        return []
    if isinstance(fills, (SpillLog, SpillChain)):
        return fills.last_in_order(n)
    return sorted(fills, key=_fill_key)[-n:]


def tables_in_order(
    items: Sequence[T], codec: Codec[T], key: Callable[[T], Any]
) -> Iterator[pa.Table]:
    """``items`` sorted by ``key``, stably, as Arrow tables of ``codec``'s columns: a
    spill log's parts as they are read when they follow each other, else the items
    (merged from disk, or sorted in memory) encoded a batch at a time."""
    if isinstance(items, (SpillLog, SpillChain)):
        direct = items.in_order_tables()
        if direct is not None:
            return direct[0]
        return _encoded(items.in_order(), codec)
    return codec.tables(sorted(items, key=key))


def _encoded(items: Iterable[T], codec: Codec[T]) -> Iterator[pa.Table]:
    it = iter(items)
    while batch := list(islice(it, _BATCH)):
        yield from codec.tables(batch)


def fill_tables(fills: Sequence[Fill]) -> Iterator[pa.Table]:
    """The fills in time order (as :func:`in_time_order`), as Arrow tables."""
    return tables_in_order(fills, FILL_CODEC, _fill_key)


def order_tables(orders: Sequence[Order]) -> Iterator[pa.Table]:
    """The orders as orders.csv lists them (as :func:`orders_in_order`), as Arrow tables."""
    return tables_in_order(orders, ORDER_CODEC, _order_key)


def field_values(items: Iterable[Any], name: str) -> Iterator[Any]:
    """``getattr(x, name)`` of every item; of a spill log, read from that column alone."""
    if isinstance(items, (SpillLog, SpillChain)):
        return items.values(name)
    return map(attrgetter(name), items)


def orders_in_order(orders: Iterable[Order]) -> Iterator[Order]:
    """Orders by (created_ns, client_id), as orders.csv lists them."""
    if isinstance(orders, (SpillLog, SpillChain)):
        return orders.in_order()
    return iter(sorted(orders, key=_order_key))


def all_orders(router: ExecutionRouter) -> Sequence[Order]:
    """Every order of a finished run: the archive then what the router still holds
    (a list of them when nothing was archived)."""
    archive = router.archive
    held = list(dict.values(router.orders))
    if isinstance(archive, SpillLog):
        return SpillChain(archive, held)
    return list(router.all_orders())


def install(engine: Engine, folder: Scratch | Path, rows: int = DEFAULT_ROWS) -> None:
    """Put a fresh engine's fills and closed orders on spill logs in ``folder``.

    The router's ``fills`` becomes a spill log and its closed orders go to an
    :class:`OrderArchive` (``ExecutionRouter.archive_closed``). The simulated venue
    stops keeping its own copy of the executions, which nothing in a backtest reads,
    and the router the trade ids it saw, which that venue never repeats.
    """
    from botkit.venues.sim.matching import MatchingEngine

    router = engine.router
    log = fill_log(folder, rows)
    log.extend(router.fills)
    router.fills = log  # type: ignore[assignment]
    router.archive_closed(OrderArchive(folder, rows=rows), keep=min(rows, _GRACE))
    market = engine.market
    if isinstance(market, MatchingEngine):
        market.keep_trades = False
        market.trades.clear()
        router.trust_trade_ids()


__all__ = [
    "DEFAULT_ROWS",
    "FILL_CODEC",
    "ORDER_CODEC",
    "Codec",
    "OrderArchive",
    "Scratch",
    "SpillChain",
    "SpillLog",
    "all_orders",
    "appended_in_time_order",
    "field_values",
    "fill_log",
    "fill_tables",
    "in_time_order",
    "install",
    "last_in_time_order",
    "order_tables",
    "orders_in_order",
    "tables_in_order",
]
