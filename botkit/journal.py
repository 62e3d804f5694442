"""The journal: a durable store of orders, fills, stream cursors and nonces (SQLite).

A restart must resume where the bot stopped without losing or double counting a
fill, and a nonce must never go backwards. The journal gives that only if callers
write *before* they act:

- record an order as PENDING_NEW with its client id before sending it, so a
  place that times out or a crash mid-send can be looked up by client id later;
- reserve a nonce before signing with it, so a restart starts above anything a
  venue may have seen (one value per commit, or a block of them under one
  stored high-water mark: ``nonce_source(key, block=N)``);
- record a fill (with the order's new state, in one transaction) before acting
  on it, and advance the stream cursor after; a fill replayed from the cursor
  after a crash is then a duplicate, which :meth:`Journal.record_fill` refuses.

Every write method commits before it returns (inside
:meth:`Journal.transaction`, when the outermost block ends), except
:meth:`Journal.stage_order` on a journal opened with ``order_log=True`` and
``synchronous="NORMAL"``: it appends the order to a log file beside the
journal and leaves the commit to the next one (see there). With
``synchronous="FULL"`` (the default) a commit is on disk when it returns, so it
survives a power loss; ``"NORMAL"`` skips the fsync on commit in WAL mode: a
commit survives the process being killed, but the last few may be lost if the
machine goes down (the file stays consistent either way).
FULL costs one fsync per commit -- milliseconds on an ordinary disk, against
tens of microseconds for NORMAL -- so a burst of writes that belong together
should share one commit through :meth:`Journal.transaction`.

Fills are keyed by (venue, trade id). A ``Fill`` carries no venue, so the
journal is opened with the venue it records for (``venue=``) and each fill call
may override it.

The strategy a fill is attributed to is the strategy of its order when the
journal knows the order, else the fill's own ``strategy`` -- the same rule the
execution router uses, so positions rebuilt here match the router's.

One connection serves the whole process. Methods are synchronous, short and
guarded by a lock, so threads may share a journal; asyncio code calls them
directly (do not ``await`` inside :meth:`Journal.transaction`).
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from botkit.model import (
    ZERO,
    Fill,
    Instrument,
    Liquidity,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeInForce,
    to_decimal,
)
from botkit.venues.kit.nonce import NS_PER_UNIT

__all__ = [
    "SCHEMA_VERSION",
    "Journal",
    "JournalError",
    "Synchronous",
]

Synchronous = Literal["FULL", "NORMAL"]

_INT64_MAX = 2**63 - 1

# The cursor holding the sequence number of the last order-log row committed.
ORDER_LOG_CURSOR = "journal.order_log"
_LOG_LOCK_WAIT_S = 5.0  # as long as SQLite waits for a lock
# The order log is cut back to empty once everything in it is committed and it has
# grown past this: not after every commit, as a file emptied and grown again costs
# the filesystem a block allocation on the next write, on the path to the send.
_LOG_TRUNCATE_BYTES = 1 << 20

try:  # the ``fast`` extra: an order-log line in ~1 µs rather than ~5
    from orjson import dumps as _fast_dumps
except ImportError:  # pragma: no cover - the extra is optional
    _fast_dumps = None


def _log_line(seq: int, row: tuple[Any, ...]) -> bytes:
    """One order-log line: ``[seq, *row]`` in JSON (strings, integers and nulls only)."""
    if _fast_dumps is not None:
        return _fast_dumps([seq, *row]) + b"\n"
    return (json.dumps([seq, *row], separators=(",", ":")) + "\n").encode()


# Each entry takes the schema from version i to version i + 1; entry 0 creates
# version 1. A new version appends an entry and never edits an old one, because
# journals written by older releases replay the list from where they stopped.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE orders (
            client_id      TEXT PRIMARY KEY,
            symbol         TEXT NOT NULL,
            side           TEXT NOT NULL,
            type           TEXT NOT NULL,
            size           TEXT NOT NULL,
            price          TEXT,
            tif            TEXT NOT NULL,
            post_only      INTEGER NOT NULL,
            reduce_only    INTEGER NOT NULL,
            stop_price     TEXT,
            strategy       TEXT NOT NULL,
            status         TEXT NOT NULL,
            filled         TEXT NOT NULL,
            avg_price      TEXT,
            fees           TEXT NOT NULL,
            venue_order_id TEXT,
            created_ns     INTEGER NOT NULL,
            updated_ns     INTEGER NOT NULL,
            reason         TEXT,
            code           TEXT
        )
        """,
        "CREATE INDEX orders_strategy_symbol ON orders (strategy, symbol)",
        "CREATE INDEX orders_status ON orders (status)",
        "CREATE INDEX orders_venue_order_id ON orders (venue_order_id)",
        """
        CREATE TABLE fills (
            seq            INTEGER PRIMARY KEY,
            venue          TEXT NOT NULL,
            trade_id       TEXT NOT NULL,
            client_id      TEXT NOT NULL,
            symbol         TEXT NOT NULL,
            side           TEXT NOT NULL,
            price          TEXT NOT NULL,
            size           TEXT NOT NULL,
            fee            TEXT NOT NULL,
            fee_asset      TEXT NOT NULL,
            liquidity      TEXT NOT NULL,
            ts_ns          INTEGER NOT NULL,
            venue_order_id TEXT,
            strategy       TEXT NOT NULL,
            UNIQUE (venue, trade_id)
        )
        """,
        "CREATE INDEX fills_ts ON fills (ts_ns, seq)",
        "CREATE INDEX fills_strategy_symbol ON fills (strategy, symbol)",
        """
        CREATE TABLE cursors (
            stream     TEXT PRIMARY KEY,
            value      TEXT NOT NULL,
            updated_ns INTEGER NOT NULL
        )
        """,
        """
        CREATE TABLE nonces (
            key  TEXT PRIMARY KEY,
            last INTEGER NOT NULL
        )
        """,
    ),
    # Version 2: the venue attempt of an order (cancel-and-replace sends a new client id).
    ("ALTER TABLE orders ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1",),
)

SCHEMA_VERSION = len(_MIGRATIONS)

_ORDER_COLUMNS: tuple[str, ...] = (
    "client_id",
    "symbol",
    "side",
    "type",
    "size",
    "price",
    "tif",
    "post_only",
    "reduce_only",
    "stop_price",
    "strategy",
    "status",
    "filled",
    "avg_price",
    "fees",
    "venue_order_id",
    "created_ns",
    "updated_ns",
    "reason",
    "code",
    "attempt",
)
_FILL_COLUMNS: tuple[str, ...] = (
    "trade_id",
    "client_id",
    "symbol",
    "side",
    "price",
    "size",
    "fee",
    "fee_asset",
    "liquidity",
    "ts_ns",
    "venue_order_id",
    "strategy",
)

_ORDER_SELECT = f"SELECT {', '.join(_ORDER_COLUMNS)} FROM orders"
_ORDER_UPSERT = (
    f"INSERT INTO orders ({', '.join(_ORDER_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_ORDER_COLUMNS))}) "
    "ON CONFLICT (client_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _ORDER_COLUMNS[1:])
)
_FILL_SELECT = f"SELECT {', '.join(_FILL_COLUMNS)} FROM fills"
_FILL_INSERT = (
    f"INSERT INTO fills (venue, {', '.join(_FILL_COLUMNS)}) "
    f"VALUES (?, {', '.join('?' * len(_FILL_COLUMNS))}) "
    "ON CONFLICT (venue, trade_id) DO NOTHING"
)
# Derived from the model so a new closed status cannot drift out of the filter.
_CLOSED_VALUES: tuple[str, ...] = tuple(s.value for s in OrderStatus if s.is_closed)


class JournalError(Exception):
    """The journal cannot be opened or read: missing, not a journal, too new, corrupt."""


class Journal:
    """Durable orders, fills, cursors and nonces in one SQLite file (WAL mode)."""

    def __init__(
        self,
        path: str | Path,
        *,
        venue: str = "",
        synchronous: Synchronous = "FULL",
        create: bool = True,
        order_log: bool = False,
    ) -> None:
        sync = str(synchronous).upper()
        if sync not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}")
        self.path = path if str(path) == ":memory:" else Path(path)
        self.venue = venue
        self.synchronous: Synchronous = sync  # type: ignore[assignment]
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = self._connect(create)
        # The order log (see ``stage_order``): its file, while this journal owns it,
        # the rows appended there and not yet committed, and the last sequence number.
        self._log_fd: int | None = None
        self._staged: list[tuple[Any, ...]] = []
        self._staged_seq = 0
        self._log_bytes = 0  # the order log's size: it is cut back when it grows
        try:
            self._open_order_log(order_log)
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        venue: str = "",
        synchronous: Synchronous = "FULL",
        create: bool = True,
        order_log: bool = False,
    ) -> Journal:
        return cls(path, venue=venue, synchronous=synchronous, create=create, order_log=order_log)

    # ----- opening ---------------------------------------------------------------

    def _connect(self, create: bool) -> sqlite3.Connection:
        memory = self.path == ":memory:"
        if not memory:
            assert isinstance(self.path, Path)
            if not self.path.exists():
                if not create:
                    raise JournalError(f"no journal at {self.path}")
                self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: every transaction is begun explicitly, so nothing is
        # ever left open by the sqlite3 module's implicit BEGIN.
        conn = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=5.0
        )
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if not memory and str(mode).lower() != "wal":
                raise JournalError(f"{self.path}: cannot switch the journal to WAL mode ({mode})")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            _migrate(conn, _MIGRATIONS, create=create, where=str(self.path))
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise JournalError(f"cannot read {self.path} as a botkit journal: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        with self._lock:
            try:
                self._flush_staged()
            finally:
                if self._log_fd is not None:
                    os.close(self._log_fd)  # and with it the lock on the order log
                    self._log_fd = None
                self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r}, venue={self.venue!r})"

    # ----- transactions ------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Journal]:
        """Group writes into one commit: all of them land, or none.

        Nested use is allowed (a savepoint): an exception inside an inner block
        undoes only that block if the outer one catches it. Also the way to
        batch many writes into one fsync, e.g. when importing history.
        """
        with self._lock:
            depth = self._depth
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT sp{depth}")
            self._depth = depth + 1
            # Rows staged in the order log go into the first commit that comes: a
            # later write of the same order must land on top of them, never under.
            staged, self._staged = (self._staged, []) if depth == 0 else ([], self._staged)
            try:
                if staged:
                    self._write_staged(staged)
                yield self
            except BaseException:
                self._depth = depth
                if depth == 0:
                    self._staged = staged + self._staged
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                else:
                    conn.execute(f"ROLLBACK TO sp{depth}")
                    conn.execute(f"RELEASE sp{depth}")
                raise
            self._depth = depth
            if depth == 0:
                try:
                    conn.execute("COMMIT")
                except BaseException:
                    # A failed COMMIT (disk full, I/O error) may leave the
                    # transaction open; the next write must not join it.
                    self._staged = staged + self._staged
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                if (
                    staged
                    and not self._staged
                    and self._log_fd is not None
                    and self._log_bytes > _LOG_TRUNCATE_BYTES
                ):
                    # Everything in the log is committed: it may go. (Until then, and
                    # after a crash before this, its sequence numbers say it is in.)
                    os.ftruncate(self._log_fd, 0)
                    self._log_bytes = 0
            else:
                conn.execute(f"RELEASE sp{depth}")

    # ----- orders --------------------------------------------------------------------

    def record_order(self, order: Order) -> None:
        """Insert or replace the order with this client id (every field)."""
        row = _order_row(order)
        with self.transaction():
            self._conn.execute(_ORDER_UPSERT, row)

    def stage_order(self, order: Order) -> None:
        """Record the order as :meth:`record_order` does, cheaply where allowed.

        With the order log (``order_log=True``) and ``synchronous="NORMAL"``, the row
        is appended to the log file next to the journal (``<journal>-orders``, one
        ``write`` of one line, a few µs) and committed to SQLite with the next commit
        of anything, at the latest when the journal is closed. Like a NORMAL commit,
        the appended line survives the process being killed, not the machine going
        down; the next journal that takes the log (the bot's restart, or any
        journal opened once the bot has stopped) commits what it finds there. For
        the bot's write-before-send of a new order: the SQLite commit (tens to
        hundreds of µs) leaves the path from a market event to the order's request.

        Anything else (no order log, ``synchronous="FULL"``, whose promise is a
        power loss and which would need the fsync all the same) commits at once.
        """
        if self._log_fd is None or self.synchronous != "NORMAL":
            self.record_order(order)
            return
        row = _order_row(order)
        with self._lock:
            seq = self._staged_seq + 1
            line = _log_line(seq, row)
            if os.write(self._log_fd, line) != len(line):
                # A short write (a full disk): the piece that landed is cut off, or the
                # next line would be glued to it and unreadable; this row goes through
                # SQLite like any other.
                os.ftruncate(self._log_fd, self._log_bytes)
                self.record_order(order)
                return
            self._staged_seq = seq
            self._log_bytes += len(line)
            self._staged.append((seq, row))

    def _write_staged(self, staged: list[tuple[Any, ...]]) -> None:
        """The staged rows, and the sequence number they reach, into the open transaction."""
        for _, row in staged:
            self._conn.execute(_ORDER_UPSERT, row)
        self._conn.execute(
            "INSERT INTO cursors (stream, value, updated_ns) VALUES (?, ?, ?) "
            "ON CONFLICT (stream) DO UPDATE SET value = excluded.value, "
            "updated_ns = excluded.updated_ns",
            (ORDER_LOG_CURSOR, str(staged[-1][0]), time.time_ns()),
        )

    def _flush_staged(self) -> None:
        with self._lock:
            if self._staged:
                with self.transaction():
                    pass  # the transaction writes them

    def _open_order_log(self, own: bool) -> None:
        """Take the order log: commit what a previous process left in it, and (``own``)
        keep it, locked, for ``stage_order``.

        The log is owned by one open journal at a time (an exclusive ``flock``): a
        journal opened while the bot runs (the CLI) neither replays nor truncates
        it, and sees the bot's staged orders once the bot commits them.
        """
        if self.path == ":memory:":
            return
        log_path = Path(f"{self.path}-orders")
        flags = os.O_RDWR | os.O_APPEND | os.O_CLOEXEC
        try:
            fd = os.open(log_path, flags | (os.O_CREAT if own else 0), 0o600)
        except FileNotFoundError:
            return  # nothing was ever staged here
        except OSError:
            if own:
                raise
            return  # a reader without write access leaves it to the bot's next start
        try:
            if not _lock_file(fd, wait_s=_LOG_LOCK_WAIT_S if own else 0.0):
                if own:
                    raise JournalError(
                        f"{self.path} is in use by another process (its order log is locked)"
                    )
                os.close(fd)
                return
            self._replay_order_log(fd)
        except BaseException:
            os.close(fd)
            raise
        if own:
            self._log_fd = fd
        else:
            os.close(fd)

    def _replay_order_log(self, fd: int) -> None:
        size = os.fstat(fd).st_size
        data = os.pread(fd, size, 0) if size else b""
        with self._lock:
            done = self.cursor(ORDER_LOG_CURSOR)
            committed = int(done) if done is not None else 0
            lines = data.split(b"\n")[:-1]  # the last piece has no newline: cut by a crash
            rows: list[tuple[Any, ...]] = []
            for line in lines:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line the crash cut short was never acted on
                if not isinstance(rec, list) or len(rec) != len(_ORDER_COLUMNS) + 1:
                    raise JournalError(f"{self.path}-orders: not an order log line: {line[:80]!r}")
                if isinstance(rec[0], int) and rec[0] > committed:
                    rows.append((rec[0], tuple(rec[1:])))
            self._staged_seq = max([committed, *(seq for seq, _ in rows)])
            if rows:
                with self.transaction():
                    self._write_staged(rows)
            if size:
                os.ftruncate(fd, 0)
            self._log_bytes = 0  # what stage_order appends to: the file is empty now

    def order(self, client_id: str) -> Order | None:
        self._flush_staged()
        with self._lock:
            row = self._conn.execute(
                f"{_ORDER_SELECT} WHERE client_id = ?", (client_id,)
            ).fetchone()
        return None if row is None else _order_from_row(row)

    def orders(
        self, strategy: str | None = None, symbol: str | None = None, open_only: bool = False
    ) -> list[Order]:
        """Orders in creation order, optionally one strategy's, one symbol's, or only open ones."""
        where, args = _filters(("strategy = ?", strategy), ("symbol = ?", symbol))
        if open_only:
            where.append(f"status NOT IN ({', '.join('?' * len(_CLOSED_VALUES))})")
            args.extend(_CLOSED_VALUES)
        sql = _ORDER_SELECT + _where(where) + " ORDER BY created_ns, rowid"
        self._flush_staged()
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [_order_from_row(r) for r in rows]

    # ----- fills -----------------------------------------------------------------------

    def record_fill(self, fill: Fill, venue: str | None = None) -> bool:
        """Store a fill unless (venue, trade id) is already stored; False means a duplicate."""
        with self.transaction():
            return self._insert_fill(fill, self._venue(venue), self._strategy_of(fill))

    def record_fill_and_order(self, fill: Fill, order: Order, venue: str | None = None) -> bool:
        """Store a fill and its order's new state in one transaction.

        A duplicate fill writes nothing, not even the order: the router leaves
        an order untouched for a fill it has already counted.
        """
        if fill.client_id != order.client_id and not (
            fill.venue_order_id is not None and fill.venue_order_id == order.venue_order_id
        ):
            raise ValueError(
                f"fill {fill.trade_id} belongs to {fill.client_id or fill.venue_order_id!r}, "
                f"not to order {order.client_id!r}"
            )
        row = _order_row(order)
        with self.transaction():
            if not self._insert_fill(fill, self._venue(venue), order.strategy or fill.strategy):
                return False
            self._conn.execute(_ORDER_UPSERT, row)
            return True

    def adopt_fills(self, order: Order, venue: str | None = None) -> int:
        """Attribute to ``order`` the stored fills of its venue order id that name no
        order of theirs (fills that arrived before the place was acknowledged); returns
        how many. Rare, so it needs no index: a scan of the fills is fine."""
        if order.venue_order_id is None:
            return 0
        with self.transaction():
            cur = self._conn.execute(
                "UPDATE fills SET client_id = ?, strategy = ? "
                "WHERE venue = ? AND venue_order_id = ? AND client_id != ? "
                "AND client_id NOT IN (SELECT client_id FROM orders)",
                (
                    order.client_id,
                    order.strategy,
                    self._venue(venue),
                    order.venue_order_id,
                    order.client_id,
                ),
            )
            return int(cur.rowcount)

    def has_fill(self, trade_id: str, venue: str | None = None) -> bool:
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM fills WHERE venue = ? AND trade_id = ?",
                (self._venue(venue), trade_id),
            ).fetchone()
        return row is not None

    def fill_count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM fills").fetchone()[0])

    def fills(
        self,
        strategy: str | None = None,
        symbol: str | None = None,
        since_ns: int | None = None,
        *,
        venue: str | None = None,
    ) -> list[Fill]:
        """Fills in time order (ties in the order they were recorded); ``since_ns`` inclusive."""
        where, args = _filters(
            ("strategy = ?", strategy),
            ("symbol = ?", symbol),
            ("ts_ns >= ?", since_ns),
            ("venue = ?", venue),
        )
        sql = _FILL_SELECT + _where(where) + " ORDER BY ts_ns, seq"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [_fill_from_row(r) for r in rows]

    def _venue(self, venue: str | None) -> str:
        return self.venue if venue is None else venue

    def _strategy_of(self, fill: Fill) -> str:
        row = self._conn.execute(
            "SELECT strategy FROM orders WHERE client_id = ?", (fill.client_id,)
        ).fetchone()
        if row is None and fill.venue_order_id is not None:
            row = self._conn.execute(
                "SELECT strategy FROM orders WHERE venue_order_id = ? LIMIT 1",
                (fill.venue_order_id,),
            ).fetchone()
        return row[0] if row is not None and row[0] else fill.strategy

    def _insert_fill(self, fill: Fill, venue: str, strategy: str) -> bool:
        cur = self._conn.execute(_FILL_INSERT, (venue, *_fill_row(fill, strategy)))
        return cur.rowcount == 1

    # ----- cursors -----------------------------------------------------------------------

    def set_cursor(self, stream: str, value: str | int) -> None:
        """Remember how far a stream was consumed (e.g. the last user-trade time per venue)."""
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise TypeError(f"cursor value must be a str or int, got {type(value).__name__}")
        with self.transaction():
            self._conn.execute(
                "INSERT INTO cursors (stream, value, updated_ns) VALUES (?, ?, ?) "
                "ON CONFLICT (stream) DO UPDATE SET value = excluded.value, "
                "updated_ns = excluded.updated_ns",
                (stream, str(value), time.time_ns()),
            )

    def cursor(self, stream: str) -> str | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM cursors WHERE stream = ?", (stream,)
            ).fetchone()
        return None if row is None else str(row[0])

    # ----- nonces ------------------------------------------------------------------------

    def reserve_nonce(self, key: str, candidate: int) -> int:
        """``max(candidate, last + 1)``, durably stored before it is returned.

        ``candidate`` is typically the clock in the venue's unit. Because the
        value is committed first, a crash after the nonce was used can never
        make a restart hand out the same value or a lower one.
        """
        return self._reserve(key, candidate, 1)

    def reserve_nonce_block(self, key: str, n: int, candidate: int = 0) -> range:
        """Reserve ``n`` consecutive nonces with one durable write.

        Trade-off: one fsync per ``n`` nonces instead of one per nonce, but the
        values are fixed now, so they lag the clock as the block is used up (a
        venue that bounds a nonce's age would refuse stale ones), a crash skips
        the unused rest (harmless: venues need increasing values, not dense
        ones), and two processes sharing one key must not use blocks at all --
        their interleaved values would go backwards at the venue.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an int >= 1, got {n!r}")
        first = self._reserve(key, candidate, n)
        return range(first, first + n)

    def advance_nonce(self, key: str, value: int) -> None:
        """Make ``last`` at least ``value``, durably: nothing at or below it is handed out."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"nonce must be an int, got {type(value).__name__}")
        with self.transaction():
            self._conn.execute(
                "INSERT INTO nonces (key, last) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET last = MAX(last, excluded.last)",
                (key, value),
            )

    def nonce_source(self, key: str, unit: str = "ms", block: int = 1) -> JournalNonce:
        """A ``NonceSource`` stored here before use: every value (``block=1``), or a
        high-water mark once per ``block`` values (see :class:`JournalNonce`)."""
        return JournalNonce(self, key, unit, block=block)

    def last_nonce(self, key: str) -> int:
        """The highest nonce reserved for ``key`` (0 if none)."""
        with self._lock:
            row = self._conn.execute("SELECT last FROM nonces WHERE key = ?", (key,)).fetchone()
        return 0 if row is None else int(row[0])

    def _reserve(self, key: str, candidate: int, n: int) -> int:
        if isinstance(candidate, bool) or not isinstance(candidate, int):
            raise TypeError(f"nonce candidate must be an int, got {type(candidate).__name__}")
        with self.transaction():
            row = self._conn.execute("SELECT last FROM nonces WHERE key = ?", (key,)).fetchone()
            last = 0 if row is None else int(row[0])
            first = max(candidate, last + 1)
            top = first + n - 1
            if top > _INT64_MAX:
                raise OverflowError(f"nonce {top} for {key!r} does not fit in 64 bits")
            self._conn.execute(
                "INSERT INTO nonces (key, last) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET last = excluded.last",
                (key, top),
            )
        return first

    # ----- derived state -------------------------------------------------------------------

    def positions(self, strategy: str | None = None) -> dict[tuple[str, str], Position]:
        """Positions per (strategy, symbol), replayed from the stored fills alone."""
        out: dict[tuple[str, str], Position] = {}
        for f in self.fills(strategy=strategy):
            key = (f.strategy, f.symbol)
            pos = out.get(key)
            if pos is None:
                pos = Position(f.symbol)
            out[key] = pos.apply(f.side, f.price, f.size)
        return out

    def balances_delta(
        self, instruments: Mapping[str, Instrument] | None = None
    ) -> dict[str, Decimal]:
        """How the stored fills changed each asset: base ±size, quote ∓notional, fee asset −fee.

        The base and quote of a symbol come from ``instruments`` when given,
        else from a symbol written ``BASE/QUOTE`` (or with ``-`` or ``_``). A
        symbol that neither resolves raises ``ValueError``: a silently missing
        leg would be a wrong balance.
        """
        out: dict[str, Decimal] = {}
        legs: dict[str, tuple[str, str]] = {}
        for f in self.fills():
            pair = legs.get(f.symbol)
            if pair is None:
                pair = legs[f.symbol] = _legs(f.symbol, instruments)
            base, quote = pair
            sign = 1 if f.side is Side.BUY else -1
            out[base] = out.get(base, ZERO) + sign * f.size
            out[quote] = out.get(quote, ZERO) - sign * f.notional
            if f.fee:
                out[f.fee_asset] = out.get(f.fee_asset, ZERO) - f.fee
        return out

    def integrity_check(self) -> list[str]:
        """SQLite's own consistency check: ``["ok"]`` for a sound file."""
        with self._lock:
            return [str(r[0]) for r in self._conn.execute("PRAGMA integrity_check").fetchall()]

    def schema_version(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT version FROM schema_version").fetchone()[0])


def _lock_file(fd: int, wait_s: float) -> bool:
    """Take an exclusive ``flock`` on ``fd``, trying for up to ``wait_s``; True if taken.

    The owner waits a little: a reader replaying a log holds it only for that long.
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


# ----- schema -----------------------------------------------------------------------------


def _migrate(
    conn: sqlite3.Connection,
    migrations: Sequence[Sequence[str]],
    *,
    create: bool = True,
    where: str = "journal",
) -> int:
    """Bring the schema to ``len(migrations)`` in one transaction; return the version."""
    target = len(migrations)
    # Fast path without the write lock, so a reader (the CLI) opening a current
    # journal never queues behind the bot's writes.
    try:
        row = conn.execute("SELECT version FROM schema_version WHERE id = 1").fetchone()
    except sqlite3.OperationalError:
        row = None  # no such table yet: decided below, under the lock
    if row is not None and int(row[0]) == target:
        return target
    conn.execute("BEGIN IMMEDIATE")
    try:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        if "schema_version" not in tables:
            if tables:
                raise JournalError(f"{where} is an SQLite file but not a botkit journal")
            if not create:
                raise JournalError(f"{where} is empty, not a botkit journal")
            conn.execute(
                "CREATE TABLE schema_version ("
                "id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)"
            )
            conn.execute("INSERT INTO schema_version (id, version) VALUES (1, 0)")
        row = conn.execute("SELECT version FROM schema_version WHERE id = 1").fetchone()
        if row is None:
            raise JournalError(f"{where}: schema_version has no row")
        version = int(row[0])
        if version > target:
            raise JournalError(
                f"{where} has schema version {version}; this botkit reads up to {target}"
            )
        for step in migrations[version:]:
            for statement in step:
                conn.execute(statement)
        if version != target:
            conn.execute("UPDATE schema_version SET version = ? WHERE id = 1", (target,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return target


# ----- rows ---------------------------------------------------------------------------------

_E = TypeVar("_E", bound=Enum)


def _filters(*terms: tuple[str, Any]) -> tuple[list[str], list[Any]]:
    """WHERE terms and their arguments, for the filters given a value (None: no filter)."""
    given = [(term, value) for term, value in terms if value is not None]
    return [term for term, _ in given], [value for _, value in given]


def _where(clauses: list[str]) -> str:
    return f" WHERE {' AND '.join(clauses)}" if clauses else ""


def _dec_text(value: Any, name: str) -> str:
    # str() of a Decimal round-trips exactly, trailing zeros included.
    return str(to_decimal(value, name))


def _opt_dec_text(value: Any, name: str) -> str | None:
    return None if value is None else _dec_text(value, name)


def _ns(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int of nanoseconds, got {type(value).__name__}")
    return value


def _order_row(o: Order) -> tuple[Any, ...]:
    return (
        o.client_id,
        o.symbol,
        Side(o.side).value,
        OrderType(o.type).value,
        _dec_text(o.size, "size"),
        _opt_dec_text(o.price, "price"),
        TimeInForce(o.tif).value,
        int(bool(o.post_only)),
        int(bool(o.reduce_only)),
        _opt_dec_text(o.stop_price, "stop_price"),
        o.strategy,
        OrderStatus(o.status).value,
        _dec_text(o.filled, "filled"),
        _opt_dec_text(o.avg_price, "avg_price"),
        _dec_text(o.fees, "fees"),
        o.venue_order_id,
        _ns(o.created_ns, "created_ns"),
        _ns(o.updated_ns, "updated_ns"),
        o.reason,
        o.code,
        _int(o.attempt, "attempt"),
    )


def _fill_row(f: Fill, strategy: str) -> tuple[Any, ...]:
    return (
        f.trade_id,
        f.client_id,
        f.symbol,
        Side(f.side).value,
        _dec_text(f.price, "price"),
        _dec_text(f.size, "size"),
        _dec_text(f.fee, "fee"),
        f.fee_asset,
        Liquidity(f.liquidity).value,
        _ns(f.ts_ns, "ts_ns"),
        f.venue_order_id,
        strategy,
    )


def _dec(text: Any, what: str) -> Decimal:
    try:
        d = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        raise JournalError(f"corrupt journal row: {what} = {text!r} is not a number") from None
    if not d.is_finite():
        raise JournalError(f"corrupt journal row: {what} = {text!r} is not finite")
    return d


def _opt_dec(text: Any, what: str) -> Decimal | None:
    return None if text is None else _dec(text, what)


def _enum(cls: type[_E], value: Any, what: str) -> _E:
    try:
        return cls(value)
    except ValueError:
        raise JournalError(
            f"corrupt journal row: {what} = {value!r} is not a {cls.__name__}"
        ) from None


def _int(value: Any, what: str) -> int:
    if not isinstance(value, int):
        raise JournalError(f"corrupt journal row: {what} = {value!r} is not an integer")
    return value


def _order_from_row(r: Sequence[Any]) -> Order:
    cid = r[0]
    w = f"order {cid}"
    return Order(
        client_id=cid,
        symbol=r[1],
        side=_enum(Side, r[2], f"{w} side"),
        type=_enum(OrderType, r[3], f"{w} type"),
        size=_dec(r[4], f"{w} size"),
        price=_opt_dec(r[5], f"{w} price"),
        tif=_enum(TimeInForce, r[6], f"{w} tif"),
        post_only=bool(r[7]),
        reduce_only=bool(r[8]),
        stop_price=_opt_dec(r[9], f"{w} stop_price"),
        strategy=r[10],
        status=_enum(OrderStatus, r[11], f"{w} status"),
        filled=_dec(r[12], f"{w} filled"),
        avg_price=_opt_dec(r[13], f"{w} avg_price"),
        fees=_dec(r[14], f"{w} fees"),
        venue_order_id=r[15],
        created_ns=_int(r[16], f"{w} created_ns"),
        updated_ns=_int(r[17], f"{w} updated_ns"),
        reason=r[18],
        code=r[19],
        attempt=_int(r[20], f"{w} attempt"),
    )


def _fill_from_row(r: Sequence[Any]) -> Fill:
    tid = r[0]
    w = f"fill {tid}"
    return Fill(
        trade_id=tid,
        client_id=r[1],
        symbol=r[2],
        side=_enum(Side, r[3], f"{w} side"),
        price=_dec(r[4], f"{w} price"),
        size=_dec(r[5], f"{w} size"),
        fee=_dec(r[6], f"{w} fee"),
        fee_asset=r[7],
        liquidity=_enum(Liquidity, r[8], f"{w} liquidity"),
        ts_ns=_int(r[9], f"{w} ts_ns"),
        venue_order_id=r[10],
        strategy=r[11],
    )


def _legs(symbol: str, instruments: Mapping[str, Instrument] | None) -> tuple[str, str]:
    inst = instruments.get(symbol) if instruments is not None else None
    if inst is not None:
        return inst.base, inst.quote
    for sep in ("/", "-", "_"):
        parts = symbol.split(sep)
        if len(parts) == 2 and all(parts):
            return parts[0], parts[1]
    raise ValueError(
        f"cannot tell the base and quote of {symbol!r}: pass instruments to balances_delta"
    )


class JournalNonce:
    """A ``NonceSource`` backed by the journal: ``max(last + 1, now)``, never reused.

    It never goes backwards, across restarts, crashes and clock steps; after a
    venue refuses a nonce, ``advance_to`` skips past the value the venue reports.

    ``block`` (default 1): how many nonce values one durable write covers. With
    1, every value is committed before it is handed out (a commit per signed
    request). With ``block=N`` the journal stores a high-water mark ``N`` values
    above the value being handed out, and the values up to the mark are handed
    out from memory with no write; a restart (even after SIGKILL) starts above
    the stored mark, so a value handed out before the crash is never handed out
    again. What it costs: a restart skips the unused rest of the block (harmless:
    venues need increasing nonces, not dense ones), the first nonce after a
    restart can be up to ``N`` units ahead of the clock (1,000 ms: one second),
    and two processes must not draw from the same key of the same journal (each
    holds its own mark in memory; nothing the bot does).
    """

    __slots__ = ("_block", "_clock", "_divisor", "_last", "_lock", "_mark", "journal", "key")

    def __init__(
        self,
        journal: Journal,
        key: str,
        unit: str = "ms",
        clock: Callable[[], int] = time.time_ns,
        block: int = 1,
    ) -> None:
        if unit not in NS_PER_UNIT:
            raise ValueError(f"unit must be one of {sorted(NS_PER_UNIT)}, got {unit!r}")
        if isinstance(block, bool) or not isinstance(block, int) or block < 1:
            raise ValueError(f"block must be an int >= 1, got {block!r}")
        self.journal = journal
        self.key = key
        self._divisor = NS_PER_UNIT[unit]
        self._clock = clock
        self._block = block
        self._lock = threading.Lock()
        # What the journal holds: nothing at or below it may be handed out after a
        # restart, and nothing above it may be handed out before it is stored.
        self._mark = journal.last_nonce(key)
        self._last = self._mark

    @property
    def last(self) -> int:
        """The most recent value handed out (or the stored mark, before the first)."""
        with self._lock:
            return self._last

    def next(self) -> int:
        candidate = self._clock() // self._divisor
        with self._lock:
            value = max(self._last + 1, candidate)
            if value > self._mark:
                # Stored before it is used: the write that covers this value and the
                # next block - 1 ones. Another handle on the journal may have stored
                # more meanwhile; _reserve starts above whatever is there.
                value = self.journal._reserve(self.key, value, self._block)
                self._mark = value + self._block - 1
            self._last = value
            return value

    def advance_to(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"nonce must be an int, got {type(value).__name__}")
        with self._lock:
            if value > self._mark:
                self.journal.advance_nonce(self.key, value)
                self._mark = value
            self._last = max(self._last, value)
