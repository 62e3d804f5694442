"""Importers from real recorded market-data formats into the catalog.

Formats:

- ``hftbacktest``: the raw Binance feed as recorded by hftbacktest's collector,
  one ``<local_receive_ts_ns> <json>`` line per message (gzip or plain). Lines
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
- ``ohlcv-json``: freqtrade's OHLCV JSON, ``[[open_ms, o, h, l, c, v], ...]``.
  Stored as ``bars_<interval>`` with ts_ns = open time + interval (the close).
- ``freqtrade-trades``: freqtrade's trades JSON, ``[[ts_ms, id, type, side,
  price, amount, cost], ...]`` (or the same fields as objects).

The book follows Binance's documented sync procedure: diffs up to the
snapshot's ``lastUpdateId`` are dropped, the first applied diff must straddle it
(``U <= lastUpdateId + 1 <= u``), and each later diff must continue the previous
one (``U == previous u + 1``; futures streams: ``pu == previous u``). A gap stops
the deltas until the next snapshot. The snapshot is stored at the exchange time
of the first diff applied after it: the REST answer has no exchange time, and
that diff (stored at the same ts_ns, so replayed right after the snapshot)
brings the book to a state the exchange really showed.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

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
    SIDE_UNKNOWN,
    TRADES,
    Catalog,
    bars_kind,
)

MS = 1_000_000  # ns per ms
_UNIT_NS = {"s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9, "d": 86_400 * 10**9}
_UNIT_NS["w"] = 7 * _UNIT_NS["d"]


@dataclass
class ImportResult:
    """What an import wrote: rows per kind, and anything worth knowing about the data."""

    rows: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    paths: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{k}: {v:,} rows" for k, v in self.rows.items()]
        parts += [f"{k}: {v:,}" for k, v in self.notes.items()]
        return ", ".join(parts)


def _open_text(path: Path) -> IO[str]:
    """Open a text file, gunzipping it when it is gzip (by its magic bytes, not its name)."""
    with path.open("rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def _load_json(path: Path) -> Any:
    with _open_text(path) as f:
        return json.load(f)


def parse_interval(text: str) -> int:
    """``1m``, ``5m``, ``1h``, ``1d``, ``1w`` -> nanoseconds."""
    m = re.fullmatch(r"(\d+)([smhdw])", text.strip())
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"unsupported interval {text!r}: use e.g. 1m, 5m, 1h, 1d")
    return int(m.group(1)) * _UNIT_NS[m.group(2)]


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
    with _open_text(path) as f:
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


def import_hftbacktest(catalog: Catalog, path: str | Path, venue: str, symbol: str) -> ImportResult:
    """Import a raw Binance feed recorded by hftbacktest (trades + L2 book)."""
    path = Path(path)
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
    for kind, table in tables.items():
        if table.num_rows:
            result.paths += catalog.write(venue, symbol, kind, table)
        result.rows[kind] = table.num_rows
    return result


# ---- freqtrade OHLCV JSON -------------------------------------------------------------


def _interval_from_name(path: Path) -> int | None:
    m = re.search(r"-(\d+[smhdw])(?:-[a-z]+)?\.json(?:\.gz)?$", path.name)
    return parse_interval(m.group(1)) if m else None


def import_ohlcv_json(
    catalog: Catalog,
    path: str | Path,
    venue: str,
    symbol: str,
    interval: str | None = None,
) -> ImportResult:
    """Import freqtrade OHLCV JSON (rows of [open_ms, open, high, low, close, volume]).

    The bar length comes from ``interval``, else from the file name
    (``BTC_USDT-1h.json``), else from the most common step between candles.
    """
    path = Path(path)
    rows = _load_json(path)
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{path}: expected a non-empty JSON list of candles")
    open_ms = np.array([int(r[0]) for r in rows], dtype=np.int64)
    values = np.array([r[1:6] for r in rows], dtype=np.float64)
    if interval is not None:
        interval_ns = parse_interval(interval)
    else:
        interval_ns = _interval_from_name(path) or _common_step_ns(open_ms)
    table = pa.table(
        {
            "ts_ns": open_ms * MS + interval_ns,
            "open": values[:, 0],
            "high": values[:, 1],
            "low": values[:, 2],
            "close": values[:, 3],
            "volume": values[:, 4],
        }
    )
    kind = bars_kind(interval_ns)
    result = ImportResult()
    result.paths += catalog.write(venue, symbol, kind, table)
    result.rows[kind] = table.num_rows
    gaps = int(np.count_nonzero(np.diff(open_ms) != interval_ns // MS))
    result.notes["gaps"] = gaps
    return result


def _common_step_ns(open_ms: np.ndarray) -> int:
    steps = np.diff(np.unique(open_ms))
    if len(steps) == 0:
        raise ValueError("cannot infer the bar interval from one candle: pass an interval")
    values, counts = np.unique(steps, return_counts=True)
    return int(values[np.argmax(counts)]) * MS


# ---- freqtrade trades JSON -------------------------------------------------------------

_FT_FIELDS = ("timestamp", "id", "type", "side", "price", "amount", "cost")


def import_freqtrade_trades(
    catalog: Catalog, path: str | Path, venue: str, symbol: str
) -> ImportResult:
    """Import freqtrade trades JSON: rows of [ts_ms, id, type, side, price, amount, cost]."""
    path = Path(path)
    rows = _load_json(path)
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a JSON list of trades")
    if rows and isinstance(rows[0], dict):
        rows = [[r.get(k) for k in _FT_FIELDS] for r in rows]
    side_codes = {"buy": SIDE_BUY, "sell": SIDE_SELL}
    ids = [r[1] for r in rows]
    # Exchange ids are usually numbers sent as strings: store them as int64 then.
    numeric = all(isinstance(i, int) or (isinstance(i, str) and i.isdigit()) for i in ids)
    table = pa.table(
        {
            "ts_ns": pa.array([int(r[0]) * MS for r in rows], type=pa.int64()),
            "price": pa.array([float(r[4]) for r in rows], type=pa.float64()),
            "size": pa.array([float(r[5]) for r in rows], type=pa.float64()),
            "side": pa.array([side_codes.get(r[3], SIDE_UNKNOWN) for r in rows], type=pa.int8()),
            "trade_id": (
                pa.array([int(i) for i in ids], type=pa.int64())
                if numeric
                else pa.array([None if i is None else str(i) for i in ids], type=pa.string())
            ),
        }
    )
    result = ImportResult()
    if table.num_rows:
        result.paths += catalog.write(venue, symbol, TRADES, table)
    result.rows[TRADES] = table.num_rows
    return result


Importer = Callable[..., ImportResult]
FORMATS: dict[str, Importer] = {
    "hftbacktest": import_hftbacktest,
    "ohlcv-json": import_ohlcv_json,
    "freqtrade-trades": import_freqtrade_trades,
}


def import_file(
    catalog: Catalog, fmt: str, path: str | Path, venue: str, symbol: str, **options: Any
) -> ImportResult:
    """Import ``path`` in format ``fmt`` (one of :data:`FORMATS`)."""
    try:
        importer = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; expected one of {sorted(FORMATS)}") from None
    return importer(catalog, path, venue, symbol, **options)


__all__ = [
    "FORMATS",
    "ImportResult",
    "import_file",
    "import_freqtrade_trades",
    "import_hftbacktest",
    "import_ohlcv_json",
    "parse_interval",
]
