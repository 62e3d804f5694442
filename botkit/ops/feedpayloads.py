"""The market data feed's JSON payloads, both ways: market events to JSON and back.

Every stream message starts with ``venue``, ``session`` (the feed process's id:
a new one after the feed restarts), ``seq`` and ``ts`` (when the feed received
the event, ISO 8601 UTC with microseconds), then the event: ``symbol``,
``ts_ns`` (the event's own time, integer nanoseconds: the engine's clock) and
the event's fields.

Prices and sizes are JSON numbers: the events' floats (``botkit.events``:
market data is floats, money is ``Decimal``), written in the shortest form
that reads back as the same float, so a consumer gets bit for bit the event the
feed had. This differs on purpose from the telemetry topics, whose money is
exact decimal strings: nothing here is money of the account.

:func:`decode` is the consumer's side: it reads a payload strictly (types,
finite numbers, levels as ``[price, size]`` pairs) and raises
:class:`FeedPayloadError` for anything else, so a malformed message is
skipped and counted, never dispatched. ``botkit/ops/schemas/feed_*.json`` is
the contract, checked in tests.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from botkit.events import Bar, BookDelta, BookSnapshot, Level, Ticker, Trade
from botkit.model import Side
from botkit.ops import payloads
from botkit.ops.topics import BARS, BOOK, TICKER, TRADES

MarketEvent = Trade | BookSnapshot | BookDelta | Ticker | Bar

SNAPSHOT = "snapshot"
DELTA = "delta"


class FeedPayloadError(ValueError):
    """A feed payload that is not what the schema says (the message is skipped)."""


def envelope(
    venue: str, session: str, seq: int, ts_ns: int, body: Mapping[str, Any]
) -> dict[str, Any]:
    """The fields every feed message starts with, then the stream's own."""
    return {"venue": venue, "session": session, "seq": seq, "ts": payloads.iso(ts_ns), **body}


def stream_of(ev: Any) -> str | None:
    """The stream an event goes on (``trades``, ``book``, ``ticker``, ``bars``), or None."""
    return _STREAM_OF.get(ev.__class__)


def _levels(levels: Sequence[Level]) -> list[list[float]]:
    return [[p, s] for p, s in levels]


def body(ev: MarketEvent, requested: bool = False) -> dict[str, Any]:
    """The stream message body of one market event (``requested``: a book snapshot sent
    because a consumer asked for it, which repeats the book's seq)."""
    cls = ev.__class__
    if cls is Trade:
        t: Trade = ev  # type: ignore[assignment]
        return {
            "symbol": t.symbol,
            "ts_ns": t.ts_ns,
            "price": t.price,
            "size": t.size,
            "side": t.side.value if t.side is not None else None,
            "trade_id": t.trade_id,
        }
    if cls is BookSnapshot or cls is BookDelta:
        b: BookSnapshot = ev  # type: ignore[assignment]
        return {
            "symbol": b.symbol,
            "ts_ns": b.ts_ns,
            "type": SNAPSHOT if cls is BookSnapshot else DELTA,
            "requested": requested,
            "bids": _levels(b.bids),
            "asks": _levels(b.asks),
        }
    if cls is Ticker:
        k: Ticker = ev  # type: ignore[assignment]
        return {
            "symbol": k.symbol,
            "ts_ns": k.ts_ns,
            "bid": k.bid,
            "ask": k.ask,
            "bid_size": k.bid_size,
            "ask_size": k.ask_size,
            "last": k.last,
        }
    if cls is Bar:
        r: Bar = ev  # type: ignore[assignment]
        return {
            "symbol": r.symbol,
            "ts_ns": r.ts_ns,
            "interval_ns": r.interval_ns,
            "open": r.open,
            "high": r.high,
            "low": r.low,
            "close": r.close,
            "volume": r.volume,
        }
    raise TypeError(f"not a market event: {cls.__name__}")


# ----- reading ---------------------------------------------------------------------------------


def _field(p: Mapping[str, Any], name: str) -> Any:
    try:
        return p[name]
    except KeyError:
        raise FeedPayloadError(f"no {name!r}") from None


def _int(p: Mapping[str, Any], name: str) -> int:
    v = _field(p, name)
    if isinstance(v, bool) or not isinstance(v, int):
        raise FeedPayloadError(f"{name!r} is not a whole number: {v!r}")
    return v


def _num(v: Any, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise FeedPayloadError(f"{name!r} is not a finite number: {v!r}")
    return float(v)


def _opt_num(p: Mapping[str, Any], name: str) -> float | None:
    v = p.get(name)
    return None if v is None else _num(v, name)


def _str(p: Mapping[str, Any], name: str) -> str:
    v = _field(p, name)
    if not isinstance(v, str) or not v:
        raise FeedPayloadError(f"{name!r} is not a text: {v!r}")
    return v


def _book_side(v: Any, name: str) -> list[Level]:
    if not isinstance(v, list):
        raise FeedPayloadError(f"{name!r} is not a list of [price, size]")
    out: list[Level] = []
    for i, level in enumerate(v):
        if not isinstance(level, list) or len(level) != 2:
            raise FeedPayloadError(f"{name}[{i}] is not a [price, size] pair")
        out.append((_num(level[0], f"{name}[{i}][0]"), _num(level[1], f"{name}[{i}][1]")))
    return out


def header(p: Any) -> tuple[str, int]:
    """``(session, seq)`` of a stream message; raises :class:`FeedPayloadError`."""
    if not isinstance(p, dict):
        raise FeedPayloadError("not a JSON object")
    seq = _int(p, "seq")
    if seq < 1:
        raise FeedPayloadError(f"'seq' must be >= 1: {seq}")
    return _str(p, "session"), seq


def is_snapshot(p: Mapping[str, Any]) -> bool:
    """A book message that replaces the whole book (else a delta); raises for neither."""
    kind = p.get("type")
    if kind not in (SNAPSHOT, DELTA):
        raise FeedPayloadError(f"'type' must be snapshot or delta: {kind!r}")
    return kind == SNAPSHOT


def decode(stream: str, p: Mapping[str, Any], symbol: str | None = None) -> MarketEvent:
    """The market event of a stream message (``symbol``: the one the topic names, which
    the payload must match). Raises :class:`FeedPayloadError` for anything malformed."""
    sym = _str(p, "symbol")
    if symbol is not None and sym != symbol:
        raise FeedPayloadError(f"'symbol' {sym!r} on the topic of {symbol!r}")
    ts = _int(p, "ts_ns")
    if stream == TRADES:
        side = p.get("side")
        if side not in (None, "buy", "sell"):
            raise FeedPayloadError(f"'side' must be buy, sell or null: {side!r}")
        trade_id = p.get("trade_id")
        if trade_id is not None and (
            isinstance(trade_id, bool) or not isinstance(trade_id, str | int)
        ):
            raise FeedPayloadError(f"'trade_id' must be text, a whole number or null: {trade_id!r}")
        return Trade(
            ts,
            sym,
            _num(_field(p, "price"), "price"),
            _num(_field(p, "size"), "size"),
            Side(side) if side is not None else None,
            trade_id,
        )
    if stream == BOOK:
        cls = BookSnapshot if is_snapshot(p) else BookDelta
        return cls(
            ts, sym, _book_side(_field(p, "bids"), "bids"), _book_side(_field(p, "asks"), "asks")
        )
    if stream == TICKER:
        return Ticker(
            ts,
            sym,
            _opt_num(p, "bid"),
            _opt_num(p, "ask"),
            _opt_num(p, "bid_size"),
            _opt_num(p, "ask_size"),
            _opt_num(p, "last"),
        )
    if stream == BARS:
        return Bar(
            ts,
            sym,
            _int(p, "interval_ns"),
            _num(_field(p, "open"), "open"),
            _num(_field(p, "high"), "high"),
            _num(_field(p, "low"), "low"),
            _num(_field(p, "close"), "close"),
            _num(_field(p, "volume"), "volume"),
        )
    raise FeedPayloadError(f"no stream {stream!r}")


_STREAM_OF: dict[type, str] = {
    Trade: TRADES,
    BookSnapshot: BOOK,
    BookDelta: BOOK,
    Ticker: TICKER,
    Bar: BARS,
}

__all__ = [
    "DELTA",
    "SNAPSHOT",
    "FeedPayloadError",
    "MarketEvent",
    "body",
    "decode",
    "envelope",
    "header",
    "is_snapshot",
    "stream_of",
]
