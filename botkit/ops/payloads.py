"""Each topic's JSON payload, built from the engine's own values.

Every payload is a JSON object with ``bot_id``, ``seq`` (counts up by one per
message on that topic, so a gap shows a message lost on the way) and ``ts``
(ISO 8601 UTC, microseconds). Money is an exact decimal string in plain
notation (``"0.00001"``, never ``1E-5`` or a float); a value that is not a
finite number (a strategy's NaN size, refused by the risk module) is null.
``botkit/ops/schemas/<topic>.json`` is the contract, checked in tests.

The builders run in the publisher's task, not on the trading path: the engine
side only queues the immutable values (``OrderUpdate``, ``Fill``) they read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botkit.events import OrderUpdate
from botkit.model import Fill, Position

SCHEMA_VERSION = 1
_ZERO = Decimal(0)


def dec(value: Decimal | None, trim: bool = False) -> str | None:
    """An exact decimal string in plain notation, or None (absent, NaN, infinite).

    Prices and sizes keep their grid's digits (``"0.00100"``); ``trim`` drops the
    trailing zeros a computed value carries (an average price, a PnL).
    """
    if value is None or not value.is_finite():
        return None
    if trim:
        value = value.normalize() if value else _ZERO
    text = format(value, "f")
    return text[1:] if not value and text.startswith("-") else text


def iso(ts_ns: int) -> str:
    """Epoch nanoseconds as ISO 8601 UTC with microseconds: ``2024-08-08T12:00:00.000001Z``."""
    seconds, ns = divmod(ts_ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).replace(microsecond=ns // 1000)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def envelope(bot_id: str, seq: int, ts_ns: int, body: Mapping[str, Any]) -> dict[str, Any]:
    """The fields every payload starts with, then the topic's own."""
    return {"bot_id": bot_id, "seq": seq, "ts": iso(ts_ns), **body}


def dumps(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON; anything that is not JSON (a float NaN) is an error, not output."""
    return json.dumps(payload, separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode()


def order(u: OrderUpdate) -> dict[str, Any]:
    """An order as it stands after a change (``orders``)."""
    return {
        "strategy": u.strategy,
        "client_id": u.client_id,
        "venue_order_id": u.venue_order_id,
        "symbol": u.symbol,
        "side": u.side.value,
        "type": u.type.value,
        "status": u.status.value,
        "price": dec(u.price),
        "size": dec(u.size),
        "filled": dec(u.filled),
        "avg_price": dec(u.avg_price),
        "code": u.code,
        "reason": u.reason,
        "event_ts": iso(u.ts_ns),
    }


def reject(u: OrderUpdate, total: int) -> dict[str, Any]:
    """A refused order or edit (``risk/rejects``); ``total`` counts rejects with its code so far."""
    return {
        "strategy": u.strategy,
        "client_id": u.client_id,
        "symbol": u.symbol,
        "side": u.side.value,
        "type": u.type.value,
        "price": dec(u.price),
        "size": dec(u.size),
        "code": u.code or "rejected",
        "reason": u.reason or "",
        "total": total,
        "event_ts": iso(u.ts_ns),
    }


def fill(f: Fill, fill_id: str) -> dict[str, Any]:
    """One execution (``fills``); ``fill_id`` is unique per fill (what a consumer dedupes on)."""
    return {
        "fill_id": fill_id,
        "trade_id": f.trade_id,
        "strategy": f.strategy,
        "client_id": f.client_id,
        "venue_order_id": f.venue_order_id,
        "symbol": f.symbol,
        "side": f.side.value,
        "price": dec(f.price),
        "size": dec(f.size),
        "notional": dec(f.price * f.size),
        "fee": dec(f.fee),
        "fee_asset": f.fee_asset,
        "liquidity": f.liquidity.value,
        "event_ts": iso(f.ts_ns),
    }


def position_row(strategy: str, p: Position, mark: Decimal | None) -> dict[str, Any]:
    unrealized = p.unrealized(mark) if mark is not None else None
    return {
        "strategy": strategy,
        "symbol": p.symbol,
        "size": dec(p.size),
        "avg_price": dec(p.avg_price, trim=True) if p.size else None,
        "realized_pnl": dec(p.realized_pnl, trim=True),
        "unrealized_pnl": dec(unrealized, trim=True),
        "mark": dec(mark),
    }


def positions(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Every position a strategy has held in this run, flat ones included (``positions``)."""
    return {"positions": list(rows)}


def log_record(record: logging.LogRecord, message: str, exception: str | None) -> dict[str, Any]:
    """A warning or error the bot logged (``log``), its text already scrubbed of secrets."""
    return {
        "level": record.levelname.lower(),
        "logger": record.name,
        "message": message,
        "exception": exception,
    }


__all__ = [
    "SCHEMA_VERSION",
    "dec",
    "dumps",
    "envelope",
    "fill",
    "iso",
    "log_record",
    "order",
    "position_row",
    "positions",
    "reject",
]
