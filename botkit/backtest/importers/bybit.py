"""``bybit-ob``: Bybit's order-book history files (``<date>_<SYMBOL>_ob500.data``, or zipped).

One JSON message a line, as Bybit's ``orderbook.<depth>.<SYMBOL>`` stream sends it::

    {"topic": "orderbook.500.XRPUSDT", "type": "snapshot" | "delta", "ts": <ms>,
     "data": {"s": "XRPUSDT", "b": [["1.9531", "6203"], ...], "a": [...],
              "u": <update id>, "seq": <cross sequence>}, "cts": <ms>}

- A ``snapshot`` replaces the book and becomes ``book_snapshots`` rows; a
  ``delta`` gives new absolute sizes (``"0"`` removes the level) and becomes one
  ``book_deltas`` event.
- ``ts_ns`` is Bybit's ``ts`` (when its system published the message, as
  Binance's ``E``); ``cts`` (the matching engine's time) is not stored.
- A line is skipped, and reported by line number, when it is not JSON or lacks
  a field, a price is not a finite number > 0 or a size a finite number >= 0,
  ``ts`` goes backwards, ``u`` does not increase, or it names another symbol.
  After a skipped delta the book is unknown, so the deltas up to the next
  snapshot are skipped as well (``no_snapshot``); so are deltas before the
  first snapshot. A snapshot with ``u`` = 1 (Bybit's service restarted) resets
  the sequence. ``u`` jumping forward is counted (``update_id_gaps``), not
  refused: Bybit does not document that it never skips.
- The market: the exchange symbol is ``data.s``; the 500-level books are Bybit's
  derivatives history (``perpetual``; ``inverse_perpetual`` for a ``...USD``
  symbol), other depths are assumed spot. Tick and lot sizes are inferred from
  the levels' prices and sizes unless given.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from botkit.backtest.catalog import ASK, BID, Catalog
from botkit.backtest.importers.book import BookRows, L2Book
from botkit.backtest.importers.common import (
    Clock,
    ImportResult,
    RowError,
    epoch_ns,
    integer,
    non_negative,
    numbered_lines,
    open_text,
    positive,
    write_tables,
)
from botkit.backtest.importers.instrument import Facts, Wanted, settle_instrument, store_instrument

_DEPTH = re.compile(r"^orderbook\.(\d+)\.")


def _levels(data: dict[str, Any], key: str, side: int) -> list[tuple[int, float, float]]:
    raw = data.get(key)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise RowError("bad_value", f"data.{key} is not a list of [price, size]")
    out = []
    for i, level in enumerate(raw):
        if not isinstance(level, list) or len(level) != 2:
            raise RowError("bad_value", f"data.{key}[{i}] is not [price, size]: {level!r:.40}")
        price = positive(level[0], f"data.{key}[{i}] price")
        size = non_negative(level[1], f"data.{key}[{i}] size")
        out.append((side, price, size))
    return out


class _Reader:
    def __init__(self, result: ImportResult) -> None:
        self.result = result
        self.book = L2Book()
        self.rows = BookRows()
        self.clock = Clock("ts")
        self.symbol: str | None = None
        self.depth: int | None = None
        self.last_u: int | None = None
        self.synced = False
        self.lost_at: int | None = None  # the line after which the book became unknown
        self.notes = {"snapshots": 0, "deltas": 0, "update_id_gaps": 0, "crossed_updates": 0}

    def line(self, n: int, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            raise RowError("bad_json", f"not JSON: {text[:40]!r}") from None
        if not isinstance(msg, dict) or not isinstance(msg.get("data"), dict):
            raise RowError("bad_value", "not a Bybit order-book message (no data object)")
        data = msg["data"]
        kind = msg.get("type")
        if kind not in ("snapshot", "delta"):
            raise RowError("bad_value", f"type {kind!r} is neither snapshot nor delta")
        s = data.get("s")
        if not isinstance(s, str) or not s:
            raise RowError("bad_value", "data.s (the symbol) is missing")
        if self.symbol is None:
            self.symbol = s
        elif s != self.symbol:
            raise RowError("other_symbol", f"symbol {s}, the file is {self.symbol}")
        if self.depth is None and isinstance(msg.get("topic"), str):
            m = _DEPTH.match(msg["topic"])
            self.depth = int(m.group(1)) if m else None
        ts = epoch_ns(integer(msg.get("ts"), "ts"), "ms", "ts")
        self.clock.check(ts)
        u = integer(data.get("u"), "data.u")
        if kind == "delta":
            if not self.synced:
                raise self._no_book()
            if self.last_u is not None and u <= self.last_u:
                raise RowError(
                    "sequence",
                    f"update id u {u} is not after {self.last_u} (a repeat, or out of order)",
                )
        levels = _levels(data, "b", BID) + _levels(data, "a", ASK)
        self.clock.accept(ts)
        if kind == "snapshot":
            self.book.clear()
            for side, price, size in levels:
                self.book.set(side, price, size)
            if self.book.crossed():
                self.synced = False
                self.lost_at = n
                raise RowError(
                    "crossed",
                    f"the snapshot is crossed (best bid {self.book.best(BID)} >= best ask "
                    f"{self.book.best(ASK)})",
                )
            self.rows.snapshot(ts, self.book)
            self.notes["snapshots"] += 1
            self.synced, self.lost_at = True, None
        else:
            if self.last_u is not None and u > self.last_u + 1:
                self.notes["update_id_gaps"] += 1
            for side, price, size in levels:
                self.book.set(side, price, size)
            if self.book.crossed():
                self.notes["crossed_updates"] += 1
            self.rows.delta(ts, levels)
            self.notes["deltas"] += 1
        self.last_u = u

    def _no_book(self) -> RowError:
        if self.lost_at is None:
            return RowError(
                "no_snapshot", "a delta before the first snapshot: no book to apply it to"
            )
        return RowError(
            "no_snapshot",
            f"the book is unknown since line {self.lost_at} (skipped); waiting for a snapshot",
        )

    def skipped(self, n: int, e: RowError) -> None:
        self.result.skip(n, e.code, e.reason)
        if e.code not in ("no_snapshot", "sequence") and self.synced:
            # A message left out: the book may no longer match the venue's. (A repeated
            # or stale update id is left out without that: the book is already past it.)
            self.synced = False
            self.lost_at = n


def _facts(symbol: str | None, depth: int | None) -> Facts:
    if depth == 500:
        inverse = symbol is not None and symbol.endswith("USD")
        why = "a 500-level book, from Bybit's derivatives history"
        return Facts(symbol, kind="inverse_perpetual" if inverse else "perpetual", kind_why=why)
    why = f"a {depth}-level Bybit book" if depth else "a Bybit book of unknown depth"
    return Facts(symbol, assumed_kind="spot", kind_why=why)


def import_bybit_ob(
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
    """Import a Bybit order-book history file (``.data`` or ``.data.zip``): book snapshots
    and deltas."""
    path = Path(path)
    result = ImportResult()
    reader = _Reader(result)
    with open_text(path) as f:
        for n, text in numbered_lines(f):
            try:
                if isinstance(text, RowError):
                    raise text
                if text.strip():
                    reader.line(n, text)
            except RowError as e:
                reader.skipped(n, e)
    if reader.notes["snapshots"] == 0:
        raise ValueError(
            f"{path.name}: no usable snapshot, so no book ({result.skipped_count} lines skipped"
            + (f"; first: {result.skipped[0]}" if result.skipped else "")
            + ")"
        )
    result.notes.update(reader.notes)
    wanted = Wanted(tick_size, lot_size, kind, base, quote, force)
    rows = reader.rows
    prices = np.concatenate([rows.snaps.numpy("price"), rows.deltas.numpy("price")])
    sizes = np.concatenate([rows.snaps.numpy("size"), rows.deltas.numpy("size")])
    facts = _facts(reader.symbol, reader.depth)
    info = settle_instrument(
        catalog, venue, symbol, facts, wanted, result, prices, sizes, "level sizes"
    )
    write_tables(catalog, venue, symbol, reader.rows.tables(), result)
    store_instrument(catalog, venue, symbol, info, result)
    return result


__all__ = ["import_bybit_ob"]
