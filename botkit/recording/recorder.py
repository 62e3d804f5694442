"""The market data recorder: what a venue's public streams deliver, into the catalog.

``MarketRecorder.record(event)`` stamps each event with its receive time and
buffers it as catalog rows; ``flush()`` (every ``flush_ns``, see
:meth:`MarketRecorder.flush_every`) appends the buffered rows to the run's segment
files, durably; ``close()`` flushes and compacts the run into the catalog's day
files. ``botkit record`` (``botkit.recording.cli``) drives it from an adapter's
``market_stream``; a paper or live run with ``live.record`` drives it from the
node's own feed, so it records exactly what its strategies received.

Where things go (``<root>`` is the catalog folder)::

    <root>/_recording/<venue>/<run>/lock              held while the run records
    <root>/_recording/<venue>/<run>/meta.json         the run's symbols
    <root>/_recording/<venue>/<run>/gaps.jsonl        outages seen so far
    <root>/_recording/<venue>/<run>/<SYM>/<kind>/<YYYY-MM-DD>.arrows   segments
    <root>/<venue>/<SYM>/<kind>/<YYYY-MM-DD>.parquet  after compaction (the catalog)
    <root>/<venue>/<SYM>/gaps.json                    outages, after compaction
    <root>/<venue>/<SYM>/instrument.json              the venue's rules for the symbol

The catalog ignores ``_recording`` (names starting with ``_`` are not venues).

Times: ``ts_ns`` is the time the venue stamped (the adapter's, where the venue
sends none: BlockTrade's book and ticker channels carry none, so the adapter
stamps them when it parses them); ``recv_ns`` is when the recorder took the event
from the stream. Receive times of one recorder strictly increase, so they order
every event of every symbol and kind exactly as it was received, which
``replay(..., clock="receive")`` (``data.clock: receive``) replays.

Gaps: an outage is a record ``{symbol, start_ns, end_ns, reason}`` on the receive
clock, from the last event received before it to the first one after. The
recorder marks one when the stream fails and is opened again, when a book is
snapshotted again after deltas (the adapter re-subscribed after a dropped
connection: the venue sends a full book only then; the snapshot is recorded, so
the book is whole again from there), and when a recorder starts on a catalog
that holds earlier recordings of the symbol (the time nothing was recording).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from botkit.backtest.catalog import (
    BOOK_DELTAS,
    BOOK_SNAPSHOTS,
    NS_PER_DAY,
    QUOTES,
    TRADES,
    Catalog,
    bars_kind,
    day_of,
    symbol_dir,
)
from botkit.backtest.checks import TS_MAX_NS, TS_MIN_NS
from botkit.events import Bar, BookDelta, BookSnapshot, Ticker, Trade
from botkit.model import Instrument, Side
from botkit.recording.segments import SUFFIX, SegmentWriter, segment_schema

log = logging.getLogger("botkit.recording")

RECORDING_DIR = "_recording"
DEFAULT_FLUSH_NS = 2_000_000_000

_SIDE_CODE = {Side.BUY: 1, Side.SELL: 2}
RECONNECTED = "reconnected: the venue sent the whole book again"


@dataclass(frozen=True)
class Gap:
    """Nothing was recorded for ``symbol`` between ``start_ns`` and ``end_ns`` (receive
    clock): the last event before the outage and the first one after it."""

    symbol: str
    start_ns: int
    end_ns: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Gap:
        return cls(
            str(data["symbol"]), int(data["start_ns"]), int(data["end_ns"]), str(data["reason"])
        )


def recording_root(root: Path, venue: str) -> Path:
    """Where the runs recording ``venue`` into the catalog ``root`` keep their segments."""
    return root / RECORDING_DIR / venue


class RunLock:
    """An exclusive ``flock`` on a file: held by a live run (or a compaction), released
    by the OS when the process ends however it ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def acquire(self) -> bool:
        """Take the lock if nobody holds it; False when another process does."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "ab")  # noqa: SIM115 - kept open while the lock is held
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            return False
        self._file = f
        return True

    def wait(self) -> None:
        """Take the lock, waiting for whoever holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "ab")  # noqa: SIM115 - kept open while the lock is held
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        self._file = f

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> RunLock:
        self.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class _Rows:
    """Buffered rows of one (symbol, kind, day): column name -> values."""

    __slots__ = ("cols", "n")

    def __init__(self, kind: str) -> None:
        self.cols: dict[str, list[Any]] = {f.name: [] for f in segment_schema(kind)}
        self.n = 0


class MarketRecorder:
    """Records market events of one venue into a catalog (see the module notes).

    ``flush_ns``: how often :meth:`flush_every` writes the buffers out (the most a
    killed recorder loses). ``instruments``: the venue's rules for the recorded
    symbols, written as each symbol's ``instrument.json`` so a backtest of the
    recording can use the venue's own tick, lot, minimums and fees.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        venue: str,
        *,
        flush_ns: int = DEFAULT_FLUSH_NS,
        instruments: Mapping[str, Instrument] | None = None,
        clock: Callable[[], int] = time.time_ns,
        fsync: bool = True,
    ) -> None:
        if flush_ns <= 0:
            raise ValueError(f"flush_ns must be > 0, not {flush_ns}")
        self.catalog = Catalog(root)
        self.venue = venue
        self.flush_ns = flush_ns
        self.instruments = dict(instruments or {})
        self._clock = clock
        self.fsync = fsync
        self.run_id = ""
        self.run_dir: Path | None = None
        self._lock: RunLock | None = None
        self._buffers: dict[tuple[str, str, int], _Rows] = {}
        self._writers: dict[tuple[str, str, int], SegmentWriter] = {}
        self._last_recv = 0
        self._last_seen: dict[str, int] = {}  # symbol -> its last receive time
        self._deltas: set[str] = set()  # symbols with deltas since their last snapshot
        self._pending: dict[str, tuple[int | None, str]] = {}  # symbol -> (gap start, why)
        self._new_gaps: list[Gap] = []
        self.gaps: list[Gap] = []  # every gap this run marked
        self.events = 0
        self.rows: Counter[str] = Counter()  # kind -> rows flushed
        self.skipped: Counter[str] = Counter()  # why -> events not recordable
        self.flushes = 0

    # ----- lifecycle ----------------------------------------------------------------

    def open(self, symbols: Iterable[str] = ()) -> MarketRecorder:
        """Start a run: compact what earlier runs left, write the instruments, and mark
        the time since the catalog's last recording of each symbol as a gap."""
        from botkit.recording.compaction import compact, compact_lock, last_received

        root = self.catalog.root
        report = compact(root, self.venue)
        if report.runs:
            log.info("compacted earlier recordings: %s", report.summary())
        now = time.time_ns()
        self.run_id = f"{now:d}-{os.getpid()}"
        self.run_dir = recording_root(root, self.venue) / self.run_id
        self._lock = RunLock(self.run_dir / "lock")
        # Under the venue's compaction lock, so no compaction finds the run unlocked.
        with compact_lock(root, self.venue):
            if not self._lock.acquire():  # a new folder: nobody else can hold it
                raise RuntimeError(f"cannot lock {self.run_dir}")
        wanted = list(dict.fromkeys([*symbols, *self.instruments]))
        meta = {"venue": self.venue, "started_ns": now, "symbols": {}}
        for sym in wanted:
            meta["symbols"][symbol_dir(sym)] = sym  # type: ignore[index]
            inst = self.instruments.get(sym)
            if inst is not None:
                self.catalog.write_instrument(self.venue, sym, _instrument_info(inst))
            last = last_received(self.catalog, self.venue, sym)
            if last is not None:
                self._pending[sym] = (last, "no recorder was running")
        _write_json(self.run_dir / "meta.json", meta)
        log.info(
            "recording %s %s into %s (flush every %.3g s)",
            self.venue,
            ", ".join(wanted) or "(symbols as they come)",
            self.catalog.root,
            self.flush_ns / 1e9,
        )
        return self

    def close(self, compact: bool = True) -> None:
        """Flush, close the segments and (``compact``) move the run into the day files."""
        if self.run_dir is None:
            return
        from botkit.recording.compaction import compact_lock, compact_run

        run_dir = self.run_dir
        try:
            self.flush()
            for w in self._writers.values():
                w.close()
            self._writers.clear()
            if compact:
                with compact_lock(self.catalog.root, self.venue):
                    report = compact_run(self.catalog, self.venue, run_dir)
                log.info("recording compacted into %s: %s", self.catalog.root, report.summary())
        finally:
            self.run_dir = None
            for w in self._writers.values():
                w.close()
            self._writers.clear()
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def __enter__(self) -> MarketRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- events -------------------------------------------------------------------

    def stamp(self) -> int:
        """The next receive time: the wall clock, strictly after the previous stamp."""
        now = self._clock()
        if now <= self._last_recv:
            now = self._last_recv + 1
        self._last_recv = now
        return now

    def record(self, ev: Any) -> int:
        """Buffer one market event (Trade, BookSnapshot, BookDelta, Ticker or Bar); returns
        its receive time. Events the catalog cannot hold are counted in ``skipped``."""
        recv = self.stamp()
        sym = ev.symbol
        cls = ev.__class__
        pending = self._pending.pop(sym, None)
        if pending is not None:
            start, why = pending
            self._gap(sym, start if start is not None else self._last_seen.get(sym), recv, why)
        elif cls is BookSnapshot and sym in self._deltas:
            # The venue sends a full book again only after a new subscription: the
            # connection dropped, and what happened meanwhile was not received.
            self._gap(sym, self._last_seen.get(sym), recv, RECONNECTED)
        self._last_seen[sym] = recv
        self.events += 1
        ts = ev.ts_ns
        if not TS_MIN_NS <= ts < TS_MAX_NS:
            self.skipped["time outside 2000-2100"] += 1
            return recv
        day = ts // NS_PER_DAY
        if cls is Trade:
            self._trade(sym, day, ev, recv)
        elif cls is BookDelta:
            self._deltas.add(sym)
            self._book(sym, day, BOOK_DELTAS, ev, recv)
        elif cls is BookSnapshot:
            self._deltas.discard(sym)
            self._book(sym, day, BOOK_SNAPSHOTS, ev, recv)
        elif cls is Ticker:
            self._quote(sym, day, ev, recv)
        elif cls is Bar:
            self._bar(sym, day, ev, recv)
        else:
            self.skipped[f"unknown event {cls.__name__}"] += 1
        return recv

    def outage(self, reason: str) -> None:
        """The stream broke: the next event of every symbol closes a gap from the last one."""
        for sym in self._last_seen:
            self._pending.setdefault(sym, (self._last_seen[sym], reason))

    def _gap(self, symbol: str, start: int | None, end: int, reason: str) -> None:
        if start is None:
            return
        gap = Gap(symbol, start, end, reason)
        self._new_gaps.append(gap)
        self.gaps.append(gap)
        log.warning(
            "%s %s: gap of %.3f s in the recording (%s)",
            self.venue,
            symbol,
            (end - start) / 1e9,
            reason,
        )

    def _rows(self, sym: str, kind: str, day: int) -> _Rows:
        key = (sym, kind, day)
        rows = self._buffers.get(key)
        if rows is None:
            rows = self._buffers[key] = _Rows(kind)
        return rows

    def _trade(self, sym: str, day: int, t: Trade, recv: int) -> None:
        if not (t.price > 0 and t.size > 0):
            self.skipped["trade with a price or size not > 0"] += 1
            return
        r = self._rows(sym, TRADES, day)
        c = r.cols
        c["ts_ns"].append(t.ts_ns)
        c["price"].append(t.price)
        c["size"].append(t.size)
        c["side"].append(_SIDE_CODE.get(t.side, 0))  # type: ignore[arg-type]
        c["trade_id"].append(None if t.trade_id is None else str(t.trade_id))
        c["recv_ns"].append(recv)
        r.n += 1

    def _book(self, sym: str, day: int, kind: str, ev: BookSnapshot | BookDelta, recv: int) -> None:
        if not ev.bids and not ev.asks:
            # An event is its rows; one with none cannot be stored.
            self.skipped[f"{kind} with no levels"] += 1
            return
        snapshot = kind == BOOK_SNAPSHOTS
        if snapshot and ev.bids and ev.asks and ev.bids[0][0] >= ev.asks[0][0]:
            self.skipped["crossed book snapshot"] += 1
            return
        r = self._rows(sym, kind, day)
        c = r.cols
        for side, levels in ((0, ev.bids), (1, ev.asks)):
            for i, (price, size) in enumerate(levels):
                c["ts_ns"].append(ev.ts_ns)
                c["side"].append(side)
                if snapshot:
                    c["level"].append(i)
                c["price"].append(price)
                c["size"].append(size)
                c["recv_ns"].append(recv)
                r.n += 1

    def _quote(self, sym: str, day: int, q: Ticker, recv: int) -> None:
        if q.bid is not None and q.ask is not None and q.bid >= q.ask:
            self.skipped["crossed quote"] += 1
            return
        r = self._rows(sym, QUOTES, day)
        c = r.cols
        c["ts_ns"].append(q.ts_ns)
        c["bid"].append(q.bid)
        c["bid_size"].append(q.bid_size)
        c["ask"].append(q.ask)
        c["ask_size"].append(q.ask_size)
        c["recv_ns"].append(recv)
        c["last"].append(q.last)
        r.n += 1

    def _bar(self, sym: str, day: int, b: Bar, recv: int) -> None:
        r = self._rows(sym, bars_kind(b.interval_ns), day)
        c = r.cols
        for name in ("ts_ns", "open", "high", "low", "close", "volume"):
            c[name].append(getattr(b, name))
        c["recv_ns"].append(recv)
        r.n += 1

    # ----- writing ------------------------------------------------------------------

    def flush(self) -> int:
        """Append every buffered row to its segment, durably; returns the rows written.

        When a write fails (a full disk), the rows not written stay buffered for the
        next flush, and the segment that failed is not appended to again (its tail
        may be torn): the next flush starts a new one.
        """
        if self.run_dir is None:
            raise RuntimeError("the recorder is not open")
        written = 0
        for key, rows in list(self._buffers.items()):
            if rows.n:
                w = self._writers.get(key)
                if w is None:
                    w = self._writers[key] = self._new_segment(*key)
                try:
                    w.append(rows.cols)
                except OSError:
                    del self._writers[key]
                    with contextlib.suppress(OSError):
                        w.close()
                    raise
                self.rows[key[1]] += rows.n
                written += rows.n
            del self._buffers[key]
        if self._new_gaps:
            path = self.run_dir / "gaps.jsonl"
            with open(path, "a", encoding="utf-8") as f:
                for gap in self._new_gaps:
                    f.write(json.dumps(gap.to_json()) + "\n")
                f.flush()
                if self.fsync:
                    os.fsync(f.fileno())
            self._new_gaps.clear()
        self.flushes += 1
        log.debug("flush %d: %d rows", self.flushes, written)
        return written

    def _new_segment(self, sym: str, kind: str, day: int) -> SegmentWriter:
        assert self.run_dir is not None
        folder = self.run_dir / symbol_dir(sym) / kind
        stem = day_of(day * NS_PER_DAY).isoformat()
        path = folder / f"{stem}{SUFFIX}"
        n = 0
        while path.exists():  # a segment whose write failed: never appended to again
            n += 1
            path = folder / f"{stem}.{n}{SUFFIX}"
        self._note_symbol(sym)
        return SegmentWriter(path, kind, sym, fsync=self.fsync)

    def _note_symbol(self, sym: str) -> None:
        assert self.run_dir is not None
        path = self.run_dir / "meta.json"
        meta = json.loads(path.read_text(encoding="utf-8"))
        if meta["symbols"].get(symbol_dir(sym)) != sym:
            meta["symbols"][symbol_dir(sym)] = sym
            _write_json(path, meta)

    async def flush_every(self) -> None:
        """Flush every ``flush_ns`` until cancelled (a failed flush is logged and retried)."""
        while True:
            await asyncio.sleep(self.flush_ns / 1e9)
            try:
                self.flush()
            except OSError as exc:
                # A full disk must not stop the run: the rows stay buffered for the
                # next flush.
                log.error("could not write the recording: %s", exc)

    def status(self) -> dict[str, Any]:
        """What the run recorded so far (events, rows by kind, gaps, skipped)."""
        return {
            "events": self.events,
            "rows": dict(self.rows),
            "flushes": self.flushes,
            "gaps": len(self.gaps),
            "skipped": dict(self.skipped),
        }


async def record_stream(
    adapter: Any, symbols: list[str], recorder: MarketRecorder, retry_s: float = 1.0
) -> None:
    """Record ``adapter.market_stream(symbols)`` until cancelled; a failed stream is
    opened again after ``retry_s`` and the outage marked as a gap."""
    while True:
        try:
            async for ev in adapter.market_stream(symbols):
                recorder.record(ev)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("market data stream failed; reconnecting")
        recorder.outage("the market data stream failed and was opened again")
        await asyncio.sleep(retry_s)


def _instrument_info(inst: Instrument) -> dict[str, Any]:
    info: dict[str, Any] = {
        "base": inst.base,
        "quote": inst.quote,
        "kind": inst.kind,
        "tick_size": inst.tick_size,
        "lot_size": inst.lot_size,
        "maker_fee": inst.maker_fee,
        "taker_fee": inst.taker_fee,
    }
    for key in ("min_size", "max_size", "min_notional", "max_notional"):
        value: Decimal | None = getattr(inst, key)
        if value is not None:
            info[key] = value
    return info


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


__all__ = [
    "DEFAULT_FLUSH_NS",
    "RECORDING_DIR",
    "Gap",
    "MarketRecorder",
    "RunLock",
    "record_stream",
    "recording_root",
]
