"""An L2 book rebuilt while importing, and the catalog rows it turns into.

Book formats (Bybit, Tardis) send a snapshot, then updates of absolute level
sizes (0 removes a level). The importer keeps the book as it goes
(:class:`L2Book`) so that it can

- refuse a crossed snapshot (the catalog cannot replay one);
- count updates after which the book is crossed (kept: it is what the venue sent);
- know when the book is unknown: before the first snapshot, and after a skipped
  update (a bad row, a time going backwards, a sequence gap) until the next
  snapshot. Updates in that stretch are skipped and reported too.

:class:`BookRows` collects ``book_snapshots`` and ``book_deltas`` rows. The
catalog replays all rows of one ``ts_ns`` as one event, and a snapshot before
the deltas at the same instant; a snapshot that follows a delta at the same
instant is moved 1 ns later, so that replay keeps the file's order.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from botkit.backtest.catalog import ASK, BID
from botkit.backtest.importers.common import Columns

MAX_LEVELS = 32_767  # the catalog's level column is int16


class L2Book:
    """Price -> size per side, with the best bid and ask kept up to date cheaply."""

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self._best: list[float | None] = [None, None]
        self._known = [True, True]  # False: recompute the best of that side when asked

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self._best = [None, None]
        self._known = [True, True]

    def set(self, side: int, price: float, size: float) -> None:
        levels = self.bids if side == BID else self.asks
        best = self._best[side]
        if size > 0:
            levels[price] = size
            if self._known[side] and (
                best is None or (price > best if side == BID else price < best)
            ):
                self._best[side] = price
        elif levels.pop(price, None) is not None and price == best:
            self._known[side] = False

    def best(self, side: int) -> float | None:
        if not self._known[side]:
            levels = self.bids if side == BID else self.asks
            self._best[side] = (max(levels) if side == BID else min(levels)) if levels else None
            self._known[side] = True
        return self._best[side]

    def crossed(self) -> bool:
        bid, ask = self.best(BID), self.best(ASK)
        return bid is not None and ask is not None and bid >= ask


class BookRows:
    """Catalog rows of book snapshots and deltas (with ``recv_ns`` when ``recv``)."""

    def __init__(self, recv: bool = False) -> None:
        extra = {"recv_ns": "q"} if recv else {}
        self.recv = recv
        self.snaps = Columns(ts_ns="q", side="b", level="h", price="d", size="d", **extra)
        self.deltas = Columns(ts_ns="q", side="b", price="d", size="d", **extra)
        self.snapshots = 0
        self.events = 0
        self.levels_cut = 0
        self._last_delta_ts: int | None = None

    def snapshot(self, ts: int, book: L2Book, recv: int | None = None) -> int:
        """Store the book as a snapshot at ``ts`` (or 1 ns later, see the module); returns
        the time it was stored at."""
        if self._last_delta_ts is not None and ts <= self._last_delta_ts:
            ts = self._last_delta_ts + 1
        for side, levels in (
            (BID, sorted(book.bids.items(), reverse=True)),
            (ASK, sorted(book.asks.items())),
        ):
            if len(levels) > MAX_LEVELS:
                self.levels_cut += len(levels) - MAX_LEVELS
                levels = levels[:MAX_LEVELS]
            for level, (price, size) in enumerate(levels):
                row = {"ts_ns": ts, "side": side, "level": level, "price": price, "size": size}
                if self.recv:
                    row["recv_ns"] = recv if recv is not None else ts
                self.snaps.add(**row)
        self.snapshots += 1
        return ts

    def delta(
        self, ts: int, levels: Iterable[tuple[int, float, float]], recv: int | None = None
    ) -> None:
        """Store one update: (side, price, new size) per level, applied in order."""
        for side, price, size in levels:
            row = {"ts_ns": ts, "side": side, "price": price, "size": size}
            if self.recv:
                row["recv_ns"] = recv if recv is not None else ts
            self.deltas.add(**row)
        self._last_delta_ts = ts
        self.events += 1

    def tables(self) -> dict[str, pa.Table]:
        return {"book_snapshots": self.snaps.table(), "book_deltas": self.deltas.table()}


__all__ = ["MAX_LEVELS", "BookRows", "L2Book"]
