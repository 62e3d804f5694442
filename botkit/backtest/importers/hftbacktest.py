"""``hftbacktest``: the raw Binance feed as recorded by hftbacktest's collector.

One ``<local_receive_ts_ns> <json>`` line per message (gzip or plain). Lines
with a ``stream`` envelope carry ``depthUpdate``, ``trade`` and ``bookTicker``
messages; a line without one is a REST depth snapshot (``lastUpdateId``).
Times are the exchange's (``E`` for depth, ``T`` for trades, ms -> ns), not the
collector's clock. ``bookTicker`` (the best bid and ask, sent on every change)
becomes the ``quotes`` kind: the depth stream is throttled (spot: 100 ms), and
between two depth updates only the quotes show where the top of the book is.
A quote is stored at its ``T`` when it has one (futures); the spot stream has
none, so it is stored at its receive time moved by the collector's clock
offset (the median of ``E`` minus receive time over the depth and trade
messages). Its receive time is kept as ``recv_ns``. A quote whose update id
is not newer than the depth already applied when it arrived says nothing the
book does not, and is dropped (``quotes_older_than_book``).

The book follows Binance's documented sync procedure: diffs up to the
snapshot's ``lastUpdateId`` are dropped, the first applied diff must straddle it
(``U <= lastUpdateId + 1 <= u``), and each later diff must continue the previous
one (``U == previous u + 1``; futures streams: ``pu == previous u``). A gap stops
the deltas until the next snapshot. The snapshot is stored at the exchange time
of the first diff applied after it: the REST answer has no exchange time, and
that diff (stored at the same ts_ns, so replayed right after the snapshot)
brings the book to a state the exchange really showed.

The market is read from the feed: futures messages carry fields spot ones do
not (``pu`` in depth updates, ``X`` in trades), so a USD-M capture is a
``perpetual`` (``future`` for a dated ``BTCUSDT_240927``) and is refused under a
symbol that holds spot data (``instrument.py``). Tick and lot sizes are
inferred from the prices and sizes unless given.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from botkit.backtest.catalog import (
    ASK,
    BID,
    BOOK_DELTAS,
    BOOK_SNAPSHOTS,
    QUOTES,
    SIDE_BUY,
    SIDE_SELL,
    TRADES,
    Catalog,
)
from botkit.backtest.importers.common import MS, ImportResult, open_text
from botkit.backtest.importers.instrument import (
    Facts,
    Wanted,
    settle_instrument,
    store_instrument,
)

# ---- hftbacktest raw Binance feed ------------------------------------------------


class _Columns:
    def __init__(self, *names: str) -> None:
        self.cols: dict[str, list[Any]] = {n: [] for n in names}

    def table(self, types: dict[str, pa.DataType]) -> pa.Table:
        return pa.table({k: pa.array(v, type=types[k]) for k, v in self.cols.items()})


_BOOK_TYPES = {
    "ts_ns": pa.int64(),
    "side": pa.int8(),
    "level": pa.int16(),
    "price": pa.float64(),
    "size": pa.float64(),
}


_MAX_BUFFERED_DIFFS = 100_000


class _BinanceBook:
    """Turns snapshots and depth diffs into catalog rows, following the sync procedure."""

    def __init__(self) -> None:
        self.snaps = _Columns("ts_ns", "side", "level", "price", "size")
        self.deltas = _Columns("ts_ns", "side", "price", "size")
        self.last_u: int | None = None  # None: not in sync
        self.pending: dict[str, Any] | None = None  # a snapshot waiting for its first diff
        # Diffs received while out of sync, for the next snapshot to pick up from.
        self.buffer: deque[dict[str, Any]] = deque(maxlen=_MAX_BUFFERED_DIFFS)
        self.notes: dict[str, int] = {
            "snapshots": 0,
            "diffs_applied": 0,
            "diffs_dropped": 0,
            "sequence_gaps": 0,
        }

    def on_snapshot(self, snap: dict[str, Any]) -> None:
        # A new snapshot re-syncs the book from scratch, whatever came before.
        self.pending = snap
        self.last_u = None
        buffered = list(self.buffer)
        self.buffer.clear()
        for diff in buffered:
            self.on_diff(diff)

    def on_diff(self, diff: dict[str, Any]) -> None:
        if self.last_u is not None:
            prev = diff.get("pu")
            ok = prev == self.last_u if prev is not None else diff["U"] == self.last_u + 1
            if ok:
                self._apply(diff)
                return
            self.notes["sequence_gaps"] += 1
            self.last_u = None
        if self.pending is None:
            self.buffer.append(diff)
            return
        last_id = int(self.pending["lastUpdateId"])
        if diff["u"] <= last_id:
            self.notes["diffs_dropped"] += 1
            return
        if diff["U"] > last_id + 1:
            # Updates between the snapshot and this diff are missing: the snapshot is
            # useless; wait for the next one.
            self.notes["sequence_gaps"] += 1
            self.pending = None
            self.buffer.append(diff)
            return
        self._write_snapshot(self.pending, diff["E"] * MS)
        self.pending = None
        self._apply(diff)

    def _write_snapshot(self, snap: dict[str, Any], ts: int) -> None:
        c = self.snaps.cols
        bids = sorted(((float(p), float(q)) for p, q in snap["bids"]), reverse=True)
        asks = sorted((float(p), float(q)) for p, q in snap["asks"])
        for side, levels in ((BID, bids), (ASK, asks)):
            level = 0
            for price, size in levels:
                if size <= 0:
                    continue
                c["ts_ns"].append(ts)
                c["side"].append(side)
                c["level"].append(level)
                c["price"].append(price)
                c["size"].append(size)
                level += 1
        self.notes["snapshots"] += 1

    def _apply(self, diff: dict[str, Any]) -> None:
        c = self.deltas.cols
        ts = diff["E"] * MS
        for side, key in ((BID, "b"), (ASK, "a")):
            for p, q in diff[key]:
                c["ts_ns"].append(ts)
                c["side"].append(side)
                c["price"].append(float(p))
                c["size"].append(float(q))
        self.last_u = diff["u"]
        self.notes["diffs_applied"] += 1


def _feed_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with open_text(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            local, _, payload = line.partition(" ")
            try:
                yield int(local), json.loads(payload)
            except ValueError:
                raise ValueError(
                    f"{path.name}:{lineno}: expected '<ts_ns> <json>', got {line[:60]!r}"
                ) from None


def _facts(symbols: set[str], futures: bool) -> Facts:
    exchange_symbol = next(iter(symbols)) if len(symbols) == 1 else None
    if not futures:
        return Facts(exchange_symbol, kind="spot", kind_why="a Binance spot feed")
    dated = exchange_symbol is not None and "_" in exchange_symbol
    why = "a Binance USD-M futures feed (its depth updates carry pu)"
    return Facts(exchange_symbol, kind="future" if dated else "perpetual", kind_why=why)


def import_hftbacktest(
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
    """Import a raw Binance feed recorded by hftbacktest (trades + L2 book + quotes)."""
    path = Path(path)
    wanted = Wanted(tick_size, lot_size, kind, base, quote, force)
    symbols: set[str] = set()
    futures = False
    book = _BinanceBook()
    trades = _Columns("ts_ns", "price", "size", "side", "trade_id")
    t = trades.cols
    quotes = _Columns("ts_ns", "bid", "bid_size", "ask", "ask_size", "recv_ns")
    q = quotes.cols
    # Exchange minus receive time, per depth or trade message: the clock offset that
    # places a quote without an exchange time.
    offsets: list[int] = []
    skipped = {
        "book_tickers": 0,
        "quotes_older_than_book": 0,
        "bad_quotes": 0,
        "non_market_trades": 0,
        "other_messages": 0,
    }
    for local_ts, msg in _feed_lines(path):
        data = msg.get("data") if "stream" in msg else None
        if data is None:
            if "lastUpdateId" in msg:
                book.on_snapshot(msg)
            else:
                skipped["other_messages"] += 1
            continue
        if "s" in data:
            symbols.add(data["s"])
        # Fields only the futures streams send.
        futures = futures or "pu" in data or "X" in data
        kind = data.get("e")
        if kind == "trade" and data.get("X", "MARKET") != "MARKET":
            # Futures insurance-fund and ADL fills are not market trades.
            skipped["non_market_trades"] += 1
        elif kind == "trade":
            t["ts_ns"].append(int(data["T"]) * MS)
            t["price"].append(float(data["p"]))
            t["size"].append(float(data["q"]))
            # m: the buyer was the maker, so the seller was the aggressor.
            t["side"].append(SIDE_SELL if data["m"] else SIDE_BUY)
            t["trade_id"].append(int(data["t"]))
            offsets.append(int(data["E"]) * MS - local_ts)
        elif kind == "depthUpdate":
            book.on_diff(data)
            offsets.append(int(data["E"]) * MS - local_ts)
        elif kind == "bookTicker" or ("b" in data and "B" in data and "u" in data):
            skipped["book_tickers"] += 1
            if book.last_u is not None and int(data["u"]) <= book.last_u:
                skipped["quotes_older_than_book"] += 1
                continue
            bid, ask = float(data["b"]), float(data["a"])
            if not 0 < bid < ask:
                skipped["bad_quotes"] += 1  # an empty side or a crossed quote
                continue
            q["ts_ns"].append(int(data["T"]) * MS if "T" in data else None)
            q["bid"].append(bid)
            q["bid_size"].append(float(data["B"]))
            q["ask"].append(ask)
            q["ask_size"].append(float(data["A"]))
            q["recv_ns"].append(local_ts)
        else:
            skipped["other_messages"] += 1
    offset = int(np.median(offsets)) if offsets else 0
    q["ts_ns"] = [
        ts if ts is not None else recv + offset
        for ts, recv in zip(q["ts_ns"], q["recv_ns"], strict=True)
    ]
    result = ImportResult(notes={**book.notes, **skipped})
    trade_types = {
        "ts_ns": pa.int64(),
        "price": pa.float64(),
        "size": pa.float64(),
        "side": pa.int8(),
        "trade_id": pa.int64(),
    }
    quote_types = {k: pa.float64() for k in ("bid", "bid_size", "ask", "ask_size")}
    quote_types |= {"ts_ns": pa.int64(), "recv_ns": pa.int64()}
    tables = {
        TRADES: trades.table(trade_types),
        QUOTES: quotes.table(quote_types),
        BOOK_SNAPSHOTS: book.snaps.table(_BOOK_TYPES),
        BOOK_DELTAS: book.deltas.table(_BOOK_TYPES),
    }
    prices = np.concatenate(
        [tables[k].column("price").to_numpy() for k in (TRADES, BOOK_SNAPSHOTS)]
    )
    sizes = np.concatenate([tables[k].column("size").to_numpy() for k in (TRADES, BOOK_SNAPSHOTS)])
    facts = _facts(symbols, futures)
    info = settle_instrument(catalog, venue, symbol, facts, wanted, result, prices, sizes)
    for kind, table in tables.items():
        if table.num_rows:
            result.paths += catalog.write(venue, symbol, kind, table)
        result.rows[kind] = table.num_rows
    store_instrument(catalog, venue, symbol, info, result)
    return result
