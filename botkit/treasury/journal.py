"""The treasury journal: every withdrawal attempt, written before it is sent (SQLite).

A withdrawal that leaves twice is money lost, so the rule is the trading
journal's (``botkit.journal``): write first, act after.

* :meth:`TreasuryJournal.reserve` records the attempt under its idempotency key
  (state ``sending``) *before* the request leaves, in the same transaction that
  re-checks the rolling daily cap with the table locked;
* the outcome then moves it on: ``pending`` (the venue took it), ``unknown``
  (the reply was lost: a later run looks it up by its reference before
  sending anything), ``refused`` (the venue said no: nothing left), then the
  final ``completed``, ``failed`` or ``cancelled`` as the status is followed;
* every change is also appended to ``events``, the withdrawal's history.

Amounts are exact decimal strings. One connection per process, guarded by a
lock, in WAL mode with ``synchronous=FULL``: a state is on disk when the call
returns. Schema versions migrate like the trading journal's.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from botkit.journal import JournalError, _migrate

__all__ = ["COUNTED", "FINAL", "STATES", "TreasuryJournal", "WithdrawalRecord"]

STATES = ("sending", "unknown", "pending", "completed", "failed", "cancelled", "refused")
FINAL = frozenset({"completed", "failed", "cancelled", "refused"})
# What counts against the daily cap: anything that left, or may have.
COUNTED = ("sending", "unknown", "pending", "completed")

_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE withdrawals (
            key         TEXT PRIMARY KEY,
            account     TEXT NOT NULL,
            venue       TEXT NOT NULL,
            asset       TEXT NOT NULL,
            amount      TEXT,
            address     TEXT NOT NULL,
            tag         TEXT,
            chain       TEXT,
            convert_to  TEXT,
            amount_to   TEXT,
            reference   TEXT NOT NULL,
            venue_ref   TEXT NOT NULL,
            cap_asset   TEXT NOT NULL,
            cap_amount  TEXT NOT NULL,
            state       TEXT NOT NULL,
            venue_id    TEXT,
            raw_status  TEXT,
            txid        TEXT,
            reason      TEXT,
            attempts    INTEGER NOT NULL,
            created_ns  INTEGER NOT NULL,
            updated_ns  INTEGER NOT NULL
        )
        """,
        "CREATE INDEX withdrawals_cap ON withdrawals (cap_asset, created_ns)",
        """
        CREATE TABLE withdrawal_events (
            seq        INTEGER PRIMARY KEY,
            key        TEXT NOT NULL,
            ts_ns      INTEGER NOT NULL,
            state      TEXT NOT NULL,
            raw_status TEXT,
            note       TEXT
        )
        """,
        "CREATE INDEX withdrawal_events_key ON withdrawal_events (key, seq)",
    ),
)


@dataclass(frozen=True)
class WithdrawalRecord:
    """One journaled withdrawal (see the module notes for ``state``)."""

    key: str
    account: str
    venue: str
    asset: str
    amount: Decimal | None
    address: str
    tag: str | None
    chain: str | None
    convert_to: str | None
    amount_to: Decimal | None
    reference: str
    venue_ref: str  # what the venue keeps it under (foreign_id, guid)
    cap_asset: str
    cap_amount: Decimal
    state: str
    venue_id: str | None = None
    raw_status: str | None = None
    txid: str | None = None
    reason: str | None = None
    attempts: int = 0
    created_ns: int = 0
    updated_ns: int = 0

    @property
    def final(self) -> bool:
        return self.state in FINAL


_COLUMNS = tuple(f.name for f in fields(WithdrawalRecord))
_DECIMALS = frozenset({"amount", "amount_to", "cap_amount"})
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM withdrawals"
_UPSERT = (
    f"INSERT INTO withdrawals ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
    "ON CONFLICT (key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "key")
)


def _row(record: WithdrawalRecord) -> tuple[Any, ...]:
    out = []
    for name in _COLUMNS:
        value = getattr(record, name)
        out.append(format(value, "f") if isinstance(value, Decimal) else value)
    return tuple(out)


def _record(row: tuple[Any, ...]) -> WithdrawalRecord:
    values = {
        name: (Decimal(v) if name in _DECIMALS and v is not None else v)
        for name, v in zip(_COLUMNS, row, strict=True)
    }
    return WithdrawalRecord(**values)


class TreasuryJournal:
    """Withdrawal attempts and their history in one SQLite file (WAL mode)."""

    def __init__(
        self, path: str | Path, *, clock: Callable[[], int] = time.time_ns, create: bool = True
    ) -> None:
        self.path = path if str(path) == ":memory:" else Path(path)
        self.clock = clock
        self._lock = threading.RLock()
        if isinstance(self.path, Path) and not self.path.exists():
            if not create:
                raise JournalError(f"no treasury journal at {self.path}")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=5.0
        )
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            _migrate(conn, _MIGRATIONS, create=create, where=str(self.path))
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise JournalError(f"cannot read {self.path} as a treasury journal: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> TreasuryJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # ----- reading -----------------------------------------------------------------------

    def get(self, key: str) -> WithdrawalRecord | None:
        with self._lock:
            row = self._conn.execute(f"{_SELECT} WHERE key = ?", (key,)).fetchone()
        return None if row is None else _record(row)

    def records(
        self, account: str | None = None, *, open_only: bool = False
    ) -> list[WithdrawalRecord]:
        """Oldest first; ``open_only``: not final yet (to follow or look up)."""
        where, args = [], []
        if account is not None:
            where.append("account = ?")
            args.append(account)
        if open_only:
            where.append(f"state NOT IN ({', '.join('?' * len(FINAL))})")
            args.extend(sorted(FINAL))
        sql = _SELECT + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY created_ns"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [_record(r) for r in rows]

    def spent(self, asset: str, since_ns: int, *, exclude_key: str | None = None) -> Decimal:
        """The capped amount of ``asset`` journaled since ``since_ns`` that left or may have."""
        with self._lock:
            return self._spent(self._conn, asset, since_ns, exclude_key)

    @staticmethod
    def _spent(
        conn: sqlite3.Connection, asset: str, since_ns: int, exclude_key: str | None
    ) -> Decimal:
        rows = conn.execute(
            "SELECT cap_amount FROM withdrawals WHERE cap_asset = ? AND created_ns >= ? "
            f"AND state IN ({', '.join('?' * len(COUNTED))}) AND key != ?",
            (asset, since_ns, *COUNTED, exclude_key or ""),
        ).fetchall()
        return sum((Decimal(r[0]) for r in rows), Decimal(0))

    def events(self, key: str) -> list[tuple[int, str, str | None, str | None]]:
        """``(ts_ns, state, raw_status, note)`` of one withdrawal, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT ts_ns, state, raw_status, note FROM withdrawal_events "
                "WHERE key = ? ORDER BY seq",
                (key,),
            ).fetchall()
        return [tuple(r) for r in rows]  # type: ignore[misc]

    # ----- writing -----------------------------------------------------------------------

    def reserve(
        self,
        record: WithdrawalRecord,
        *,
        per_day: Decimal | None,
        window_ns: int,
    ) -> WithdrawalRecord:
        """Journal an attempt as ``sending`` before it is sent, re-checking the daily cap
        with the table locked; a refusal writes nothing. An earlier attempt under the
        same key keeps its creation time (its place in the window) and counts once."""
        # Imported here: guards import the config, which the journal does not need.
        from botkit.treasury.guards import daily_refusal

        now = self.clock()
        with self._transaction() as conn:
            row = conn.execute(f"{_SELECT} WHERE key = ?", (record.key,)).fetchone()
            earlier = None if row is None else _record(row)
            if per_day is not None:
                spent = self._spent(conn, record.cap_asset, now - window_ns, record.key)
                refusal = daily_refusal(record.cap_asset, record.cap_amount, spent, per_day)
                if refusal is not None:
                    raise refusal
            stored = replace(
                record,
                state="sending",
                attempts=(earlier.attempts if earlier else 0) + 1,
                created_ns=earlier.created_ns if earlier else now,
                updated_ns=now,
                reason=None,
            )
            conn.execute(_UPSERT, _row(stored))
            self._event(conn, stored.key, now, "sending", None, f"attempt {stored.attempts}")
        return stored

    def update(
        self,
        key: str,
        state: str,
        *,
        venue_id: str | None = None,
        raw_status: str | None = None,
        txid: str | None = None,
        reason: str | None = None,
    ) -> WithdrawalRecord:
        """Move a journaled withdrawal on; fields given as None keep their value."""
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        now = self.clock()
        with self._transaction() as conn:
            row = conn.execute(f"{_SELECT} WHERE key = ?", (key,)).fetchone()
            if row is None:
                raise KeyError(key)
            old = _record(row)
            new = replace(
                old,
                state=state,
                venue_id=venue_id if venue_id is not None else old.venue_id,
                raw_status=raw_status if raw_status is not None else old.raw_status,
                txid=txid if txid is not None else old.txid,
                reason=reason,
                updated_ns=now,
            )
            conn.execute(_UPSERT, _row(new))
            if (new.state, new.raw_status) != (old.state, old.raw_status) or reason:
                self._event(conn, key, now, state, new.raw_status, reason)
        return new

    @staticmethod
    def _event(
        conn: sqlite3.Connection,
        key: str,
        ts: int,
        state: str,
        raw: str | None,
        note: str | None,
    ) -> None:
        conn.execute(
            "INSERT INTO withdrawal_events (key, ts_ns, state, raw_status, note) "
            "VALUES (?, ?, ?, ?, ?)",
            (key, ts, state, raw, note),
        )
