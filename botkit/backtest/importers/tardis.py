"""Tardis.dev's downloadable CSV files: ``tardis-trades`` and ``tardis-book``.

Both are CSV with a header line (plain or ``.csv.gz``), one row per trade or per
price-level update, times in **µs** since 1970 (UTC):

- ``trades``: ``exchange,symbol,timestamp,local_timestamp,id,side,price,amount``;
  ``side`` is the taker's (``buy``, ``sell`` or ``unknown``), ``id`` may be empty.
- ``incremental_book_L2`` (``tardis-book``):
  ``exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount``;
  ``side`` is ``bid`` or ``ask``, ``amount`` the level's new size (0 removes it).
  A run of ``is_snapshot=true`` rows is a snapshot that replaces the book; the
  other rows are updates, one message per ``local_timestamp``. Updates before the
  first snapshot are skipped (Tardis documents them as buffered before it).

**Two clocks.** ``timestamp`` is the exchange's time and becomes ``ts_ns``;
``local_timestamp`` is when Tardis received the message and is kept beside it as
``recv_ns``. The file is in receive order, so:

- ``local_timestamp`` going backwards skips the row (``time_backwards``);
- a ``timestamp`` more than 10 minutes from its ``local_timestamp`` is not a
  time of that message (``bad_time``);
- a ``timestamp`` earlier than the row before keeps the file's order: the row is
  stored at the previous row's time and counted (``exchange_time_kept_in_order``),
  so that book updates are never replayed out of order.

Rows of other symbols (Tardis files may bundle several) are counted
(``rows_of_other_symbols``), not imported. A file whose only symbol is not
``symbol`` is refused unless ``force``. A bad book row, like a crossed snapshot,
leaves the book unknown: the updates after it are skipped until the next
snapshot (``no_snapshot``). The market kind follows the Tardis exchange id where
it is unambiguous (``binance`` spot, ``binance-futures`` perpetual, ...).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import numpy as np

from botkit.backtest.catalog import ASK, BID, SIDE_BUY, SIDE_SELL, SIDE_UNKNOWN, TRADES, Catalog
from botkit.backtest.importers.book import BookRows, L2Book
from botkit.backtest.importers.common import (
    SECOND,
    Clock,
    Columns,
    ImportResult,
    RowError,
    TradeIds,
    csv_rows,
    epoch_ns,
    integer,
    iso,
    non_negative,
    open_text,
    positive,
    write_tables,
)
from botkit.backtest.importers.instrument import (
    Facts,
    ImportRefused,
    Wanted,
    compact,
    settle_instrument,
    store_instrument,
)

TRADES_COLUMNS = (
    "exchange",
    "symbol",
    "timestamp",
    "local_timestamp",
    "id",
    "side",
    "price",
    "amount",
)
BOOK_COLUMNS = (
    "exchange",
    "symbol",
    "timestamp",
    "local_timestamp",
    "is_snapshot",
    "side",
    "price",
    "amount",
)
MAX_SKEW_NS = 600 * SECOND

_SPOT = {
    "binance",
    "binance-us",
    "binance-jersey",
    "coinbase",
    "bitstamp",
    "kraken",
    "gemini",
    "bitfinex",
    "bybit-spot",
    "okex",
    "huobi",
    "kucoin",
    "gate-io",
    "crypto-com",
}
_TRADE_SIDES = {"buy": SIDE_BUY, "sell": SIDE_SELL, "unknown": SIDE_UNKNOWN, "": SIDE_UNKNOWN}
_BOOK_SIDES = {"bid": BID, "ask": ASK}
_BOOLS = {"true": True, "false": False}


def _kind(exchange: str | None, symbol: str | None) -> Facts:
    sym = symbol or ""
    why = f"Tardis exchange {exchange}"
    if exchange in _SPOT:
        return Facts(symbol, kind="spot", kind_why=why)
    if exchange == "binance-futures":
        dated = "_" in sym and not sym.endswith("_PERP")
        return Facts(symbol, kind="future" if dated else "perpetual", kind_why=why)
    if exchange == "binance-delivery":
        perp = sym.endswith("_PERP")
        return Facts(symbol, kind="inverse_perpetual" if perp else "inverse_future", kind_why=why)
    if exchange == "deribit" and sym.endswith("-PERPETUAL"):
        return Facts(symbol, kind="inverse_perpetual", kind_why=why)
    return Facts(symbol, assumed_kind="spot", kind_why=f"{why}, whose market botkit does not know")


class _Header:
    def __init__(self, path: Path, stream: IO[str], expected: tuple[str, ...], what: str) -> None:
        self.rows: Iterator[tuple[int, list[str] | RowError]] = csv_rows(stream)
        first = next(self.rows, None)
        header = first[1] if first is not None else None
        names = [h.strip().lower() for h in header] if isinstance(header, list) else []
        missing = [c for c in expected if c not in names]
        if missing:
            got = ",".join(names)[:120] or "nothing"
            raise ValueError(
                f"{path.name} is not a Tardis {what} CSV: its first line is {got!r}, expected "
                f"the header {','.join(expected)}"
            )
        self.index = {c: names.index(c) for c in expected}
        self.width = len(names)


class _Times:
    """The two clocks of a Tardis row (see the module docstring)."""

    def __init__(self) -> None:
        self.local = Clock("local_timestamp")
        self.last: int | None = None
        self.kept_in_order = 0
        self.most_behind = 0

    def read(self, row: list[str], i_ts: int, i_local: int) -> tuple[int, int]:
        local = epoch_ns(integer(row[i_local], "local_timestamp"), "us", "local_timestamp")
        exch = epoch_ns(integer(row[i_ts], "timestamp"), "us", "timestamp")
        self.local.check(local)
        if abs(exch - local) > MAX_SKEW_NS:
            raise RowError(
                "bad_time",
                f"timestamp {iso(exch)} is {abs(exch - local) / SECOND:,.0f} s from its "
                f"local_timestamp {iso(local)} (more than {MAX_SKEW_NS // SECOND} s)",
            )
        return exch, local

    def accept(self, exch: int, local: int) -> int:
        """The row's stored time: its exchange time, never before the row before."""
        self.local.accept(local)
        if self.last is not None and exch < self.last:
            self.kept_in_order += 1
            self.most_behind = max(self.most_behind, self.last - exch)
            exch = self.last
        self.last = exch
        return exch

    def note(self, result: ImportResult) -> None:
        if self.kept_in_order:
            result.notes["exchange_time_kept_in_order"] = self.kept_in_order
            result.said.append(
                f"{self.kept_in_order:,} rows had an exchange time before the row above them "
                f"(by up to {self.most_behind / 1e6:,.3f} ms): stored at that row's time, in "
                "file order"
            )


class _Symbols:
    """Which rows are ours: those of ``symbol`` (compared compactly), or exactly ``only``."""

    def __init__(self, symbol: str, only: str | None) -> None:
        self.want = compact(symbol)
        self.only = only
        self.seen: Counter[str] = Counter()
        self.exchanges: Counter[str] = Counter()
        self._match: dict[str, bool] = {}

    def ours(self, row: list[str], i_symbol: int, i_exchange: int) -> bool:
        sym = row[i_symbol] if i_symbol < len(row) else ""
        self.seen[sym] += 1
        hit = self._match.get(sym)
        if hit is None:
            hit = sym == self.only if self.only is not None else compact(sym) == self.want
            self._match[sym] = hit
        if hit and i_exchange < len(row):
            self.exchanges[row[i_exchange]] += 1
        return hit

    def chosen(self) -> str | None:
        return next((s for s in self.seen if self._match.get(s)), None)

    def other_rows(self) -> int:
        return sum(n for s, n in self.seen.items() if not self._match.get(s))


def _pick_symbols(path: Path, symbol: str, symbols: _Symbols, force: bool) -> str | None:
    """After a pass that matched nothing: the one symbol to import with ``force``, else
    an error (ImportRefused when the file holds a single other symbol)."""
    names = [s for s in symbols.seen if s]
    if len(names) == 1:
        if force:
            return names[0]
        raise ImportRefused(
            f"refused: {path.name} holds {names[0]}, not {symbol}. Import it with "
            f"--symbol for {names[0]}, or pass --force to file it under {symbol} anyway"
        )
    listed = ", ".join(names[:10]) or "none"
    raise ValueError(f"{path.name} holds no rows of {symbol}; its symbols: {listed}")


def _read_trades(
    path: Path, symbol: str, only: str | None, result: ImportResult
) -> tuple[Columns, TradeIds, _Symbols, _Times]:
    cols = Columns(ts_ns="q", price="d", size="d", side="b", recv_ns="q")
    ids = TradeIds()
    times = _Times()
    symbols = _Symbols(symbol, only)
    with open_text(path) as f:
        h = _Header(path, f, TRADES_COLUMNS, "trades")
        ix = h.index
        i_sym, i_ex, i_ts, i_loc = (
            ix["symbol"],
            ix["exchange"],
            ix["timestamp"],
            ix["local_timestamp"],
        )
        i_id, i_side, i_price, i_amount = ix["id"], ix["side"], ix["price"], ix["amount"]
        for n, row in h.rows:
            try:
                if isinstance(row, RowError):
                    raise row
                if not symbols.ours(row, i_sym, i_ex):
                    continue
                if len(row) != h.width:
                    raise RowError("columns", f"{len(row)} fields, the header has {h.width}")
                exch, local = times.read(row, i_ts, i_loc)
                side = _TRADE_SIDES.get(row[i_side].strip().lower())
                if side is None:
                    raise RowError(
                        "bad_value", f"side {row[i_side]!r:.30} is not buy, sell or unknown"
                    )
                price = positive(row[i_price], "price")
                size = positive(row[i_amount], "amount")
            except RowError as e:
                result.skip(n, e.code, e.reason)
                continue
            ts = times.accept(exch, local)
            cols.add(ts_ns=ts, price=price, size=size, side=side, recv_ns=local)
            tid = row[i_id].strip()
            ids.append(int(tid) if tid.isdigit() else (tid or None))
    return cols, ids, symbols, times


def _common(tick_size: Any, lot_size: Any, kind: Any, base: Any, quote: Any, force: bool) -> Wanted:
    return Wanted(tick_size, lot_size, kind, base, quote, force)


def import_tardis_trades(
    catalog: Catalog,
    path: str | Path,
    venue: str,
    symbol: str,
    *,
    tick_size: Decimal | str | None = None,
    lot_size: Decimal | str | None = None,
    kind: str | None = None,
    base: str | None = None,
    quote: str | None = None,
    force: bool = False,
) -> ImportResult:
    """Import a Tardis ``trades`` CSV (``.csv`` or ``.csv.gz``): trades, with ``recv_ns``."""
    path = Path(path)
    result = ImportResult()
    cols, ids, symbols, times = _read_trades(path, symbol, None, result)
    if symbols.chosen() is None:
        only = _pick_symbols(path, symbol, symbols, force)
        result = ImportResult()
        cols, ids, symbols, times = _read_trades(path, symbol, only, result)
    _finish_notes(result, symbols, times)
    ex = symbols.exchanges.most_common(1)
    facts = _kind(ex[0][0] if ex else None, symbols.chosen())
    wanted = _common(tick_size, lot_size, kind, base, quote, force)
    table = cols.table({"trade_id": ids.array()})
    if not table.num_rows:
        raise ValueError(_nothing(path, result))
    info = settle_instrument(
        catalog, venue, symbol, facts, wanted, result, cols.numpy("price"), cols.numpy("size")
    )
    write_tables(catalog, venue, symbol, {TRADES: table}, result)
    store_instrument(catalog, venue, symbol, info, result)
    return result


def _finish_notes(result: ImportResult, symbols: _Symbols, times: _Times) -> None:
    other = symbols.other_rows()
    if other:
        result.notes["rows_of_other_symbols"] = other
    times.note(result)


def _nothing(path: Path, result: ImportResult) -> str:
    first = f"; first: {result.skipped[0]}" if result.skipped else ""
    return f"{path.name}: no row could be imported ({result.skipped_count:,} skipped{first})"


# ---- incremental_book_L2 -------------------------------------------------------------


class _BookReader:
    def __init__(self, result: ImportResult) -> None:
        self.result = result
        self.book = L2Book()
        self.rows = BookRows(recv=True)
        self.synced = False
        self.lost_at: int | None = None
        # The snapshot being read: its lines, time, and whether a row of it was bad.
        self.snap_lines: list[int] | None = None
        self.snap_ts = self.snap_recv = 0
        self.snap_bad: int | None = None
        # The update message being read (rows sharing a local_timestamp).
        self.group: list[tuple[int, float, float]] = []
        self.group_ts = self.group_recv = 0
        self.crossed = 0
        self.zero_levels = 0

    def row(
        self, n: int, is_snapshot: bool, side: int, price: float, size: float, ts: int, local: int
    ) -> None:
        if is_snapshot:
            self.flush_group()
            if self.snap_lines is None:
                self.book.clear()
                self.snap_lines, self.snap_ts, self.snap_recv, self.snap_bad = [], ts, local, None
                self.synced = False
            self.snap_lines.append(n)
            if size == 0:
                self.zero_levels += 1
            self.book.set(side, price, size)
            return
        self.end_snapshot()
        if not self.synced:
            raise self.no_book()
        if self.group and local != self.group_recv:
            self.flush_group()
        if not self.group:
            self.group_ts, self.group_recv = ts, local
        self.group.append((side, price, size))
        self.book.set(side, price, size)

    def no_book(self) -> RowError:
        if self.lost_at is None:
            return RowError(
                "no_snapshot", "an update before the first snapshot: no book to apply it to"
            )
        return RowError(
            "no_snapshot",
            f"the book is unknown since line {self.lost_at}; waiting for the next snapshot",
        )

    def bad(self, n: int, e: RowError, is_snapshot: bool | None) -> None:
        """A row that was skipped: what it means for the book."""
        self.result.skip(n, e.code, e.reason)
        if e.code == "no_snapshot":
            return
        if self.snap_lines is not None and is_snapshot is not False:
            if self.snap_bad is None:
                self.snap_bad = n
            return
        self.flush_group()
        self.end_snapshot()
        if self.synced:
            self.synced, self.lost_at = False, n

    def flush_group(self) -> None:
        if not self.group:
            return
        self.rows.delta(self.group_ts, self.group, self.group_recv)
        self.group = []
        if self.book.crossed():
            self.crossed += 1

    def end_snapshot(self) -> None:
        lines = self.snap_lines
        if lines is None:
            return
        self.snap_lines = None
        why = None
        if self.snap_bad is not None:
            why = RowError(
                "no_snapshot", f"part of the snapshot with a bad row at line {self.snap_bad}"
            )
        elif self.book.crossed():
            why = RowError(
                "crossed",
                f"part of a crossed snapshot (best bid {self.book.best(BID)} >= best ask "
                f"{self.book.best(ASK)})",
            )
        elif not self.book.bids and not self.book.asks:
            why = RowError("no_snapshot", "part of an empty snapshot")
        if why is not None:
            for n in lines:
                if n != self.snap_bad:
                    self.result.skip(n, why.code, why.reason)
            self.synced, self.lost_at = False, lines[0]
            return
        self.rows.snapshot(self.snap_ts, self.book, self.snap_recv)
        self.synced, self.lost_at = True, None


def _read_book(
    path: Path, symbol: str, only: str | None, result: ImportResult
) -> tuple[_BookReader, _Symbols, _Times]:
    reader = _BookReader(result)
    times = _Times()
    symbols = _Symbols(symbol, only)
    with open_text(path) as f:
        h = _Header(path, f, BOOK_COLUMNS, "incremental_book_L2")
        ix = h.index
        i_sym, i_ex, i_ts, i_loc = (
            ix["symbol"],
            ix["exchange"],
            ix["timestamp"],
            ix["local_timestamp"],
        )
        i_snap, i_side, i_price, i_amount = ix["is_snapshot"], ix["side"], ix["price"], ix["amount"]
        for n, row in h.rows:
            is_snapshot: bool | None = None
            try:
                if isinstance(row, RowError):
                    raise row
                if not symbols.ours(row, i_sym, i_ex):
                    continue
                if len(row) != h.width:
                    raise RowError("columns", f"{len(row)} fields, the header has {h.width}")
                is_snapshot = _BOOLS.get(row[i_snap].strip().lower())
                if is_snapshot is None:
                    raise RowError(
                        "bad_value", f"is_snapshot {row[i_snap]!r:.30} is not true or false"
                    )
                exch, local = times.read(row, i_ts, i_loc)
                side = _BOOK_SIDES.get(row[i_side].strip().lower())
                if side is None:
                    raise RowError("bad_value", f"side {row[i_side]!r:.30} is not bid or ask")
                price = positive(row[i_price], "price")
                size = non_negative(row[i_amount], "amount")
                if not is_snapshot and not reader.synced and reader.snap_lines is None:
                    raise reader.no_book()
            except RowError as e:
                reader.bad(n, e, is_snapshot)
                continue
            ts = times.accept(exch, local)
            try:
                reader.row(n, is_snapshot, side, price, size, ts, local)
            except RowError as e:
                reader.bad(n, e, is_snapshot)
    reader.flush_group()
    reader.end_snapshot()
    return reader, symbols, times


def import_tardis_book(
    catalog: Catalog,
    path: str | Path,
    venue: str,
    symbol: str,
    *,
    tick_size: Decimal | str | None = None,
    lot_size: Decimal | str | None = None,
    kind: str | None = None,
    base: str | None = None,
    quote: str | None = None,
    force: bool = False,
) -> ImportResult:
    """Import a Tardis ``incremental_book_L2`` CSV: book snapshots and deltas, with ``recv_ns``."""
    path = Path(path)
    result = ImportResult()
    reader, symbols, times = _read_book(path, symbol, None, result)
    if symbols.chosen() is None:
        only = _pick_symbols(path, symbol, symbols, force)
        result = ImportResult()
        reader, symbols, times = _read_book(path, symbol, only, result)
    rows = reader.rows
    if rows.snapshots == 0:
        raise ValueError(_nothing(path, result) + "; a book needs a snapshot")
    result.notes.update(
        snapshots=rows.snapshots, updates=rows.events, crossed_updates=reader.crossed
    )
    if reader.zero_levels:
        result.notes["snapshot_rows_of_size_0"] = reader.zero_levels
    if rows.levels_cut:
        result.notes["snapshot_levels_beyond_32767"] = rows.levels_cut
    _finish_notes(result, symbols, times)
    ex = symbols.exchanges.most_common(1)
    facts = _kind(ex[0][0] if ex else None, symbols.chosen())
    wanted = _common(tick_size, lot_size, kind, base, quote, force)
    prices = np.concatenate([rows.snaps.numpy("price"), rows.deltas.numpy("price")])
    sizes = np.concatenate([rows.snaps.numpy("size"), rows.deltas.numpy("size")])
    info = settle_instrument(
        catalog, venue, symbol, facts, wanted, result, prices, sizes, "level sizes"
    )
    write_tables(catalog, venue, symbol, rows.tables(), result)
    store_instrument(catalog, venue, symbol, info, result)
    return result


__all__ = ["BOOK_COLUMNS", "TRADES_COLUMNS", "import_tardis_book", "import_tardis_trades"]
