"""``botkit status bot.yaml``: what a bot holds and how it is doing.

From the journal (``live.journal``; read only, so it works while the bot runs):
the strategies' open positions, the open orders, and today's PnL. "Today" is
the current day in ``schedule.timezone`` (UTC when it is not set), the day the
daily report uses too; its PnL is what that day's fills realised (each
position's average cost carried over from the fills before it) net of that
day's fees in the quote asset. The journal holds no market prices, so open
positions are shown at their average entry, not marked. With an ``mqtt:``
section, the bot's retained status on the broker adds its health: state, the
market data feed, the MQTT link, rejects by code.

Exit codes: 0 shown; 2 no journal (or an unreadable one, or a mistake in
bot.yaml); 3 ``mqtt:`` is configured but no status could be read from the
broker (the journal's part is still shown).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botkit.model import ZERO, Fill, Order, Position
from botkit.ops import payloads
from botkit.schedule import timezone_of

if TYPE_CHECKING:
    from botkit.config import BotConfig
    from botkit.journal import Journal
    from botkit.ops.client import BrokerSettings

EXIT_OK = 0
EXIT_NO_JOURNAL = 2
EXIT_NO_STATUS = 3


def day_of(now_ns: int, tz: str) -> tuple[str, int, int]:
    """``(date, start_ns, end_ns)`` of the day ``now_ns`` falls in, in ``tz``."""
    zone = timezone_of(tz)
    now = datetime.fromtimestamp(now_ns / 1e9, zone)
    start = datetime(now.year, now.month, now.day, tzinfo=zone)
    end = datetime.combine(start.date() + timedelta(days=1), start.time(), tzinfo=zone)
    return start.date().isoformat(), _ns(start), _ns(end)


def _ns(dt: datetime) -> int:
    return int(dt.timestamp()) * 1_000_000_000


def _quote_of(symbol: str, quotes: dict[str, str]) -> str:
    if symbol in quotes:
        return quotes[symbol]
    for sep in ("/", "-", "_"):
        if sep in symbol:
            return symbol.rsplit(sep, 1)[1]
    return "?"


def day_pnl(
    fills: list[Fill], start_ns: int, end_ns: int, quotes: dict[str, str]
) -> dict[str, Any]:
    """The day's fills, fees by asset, and per quote asset the PnL they realised
    (``realized``), the fees paid in it (``fees``) and the two together (``net``)."""
    positions: dict[tuple[str, str], Position] = {}
    realized: dict[str, Decimal] = defaultdict(Decimal)
    fees: dict[str, Decimal] = defaultdict(Decimal)
    count = 0
    for f in fills:  # in time order: the day's fills close positions opened before it
        if f.ts_ns >= end_ns:
            break
        key = (f.strategy, f.symbol)
        before = positions.get(key) or Position(f.symbol)
        after = before.apply(f.side, f.price, f.size)
        positions[key] = after
        if f.ts_ns >= start_ns:
            count += 1
            realized[_quote_of(f.symbol, quotes)] += after.realized_pnl - before.realized_pnl
            fees[f.fee_asset] += f.fee
    by_quote = {
        q: {
            "realized": payloads.dec(r, trim=True),
            "fees": payloads.dec(fees.get(q, ZERO), trim=True),
            "net": payloads.dec(r - fees.get(q, ZERO), trim=True),
        }
        for q, r in sorted(realized.items())
    }
    return {
        "fills": count,
        "pnl": by_quote,
        "fees_by_asset": {a: payloads.dec(v, trim=True) for a, v in sorted(fees.items())},
    }


def journal_view(
    journal: Journal, quotes: dict[str, str], tz: str, now_ns: int | None = None
) -> dict[str, Any]:
    """Positions, open orders, today's PnL and the last activity, from a journal."""
    now = time.time_ns() if now_ns is None else now_ns
    fills = journal.fills()
    orders = journal.orders(open_only=True)
    date, start, end = day_of(now, tz)
    # The last fill, or the last change of an open order (closed ones: their fills say it).
    last = max([f.ts_ns for f in fills[-1:]] + [o.updated_ns for o in orders], default=None)
    positions = []
    for (strategy, symbol), p in sorted(journal.positions().items()):
        if p.size:
            positions.append(
                {
                    "strategy": strategy,
                    "symbol": symbol,
                    "size": payloads.dec(p.size),
                    "avg_price": payloads.dec(p.avg_price, trim=True),
                    "realized_pnl": payloads.dec(p.realized_pnl, trim=True),
                }
            )
    return {
        "journal": str(journal.path),
        "positions": positions,
        "open_orders": [_order(o) for o in orders],
        "today": {"date": date, "timezone": tz, **day_pnl(fills, start, end, quotes)},
        "fills_total": len(fills),
        "last_activity": payloads.iso(last) if last else None,
    }


def _order(o: Order) -> dict[str, Any]:
    return {
        "client_id": o.client_id,
        "strategy": o.strategy,
        "symbol": o.symbol,
        "side": o.side.value,
        "type": o.type.value,
        "price": payloads.dec(o.price),
        "size": payloads.dec(o.size),
        "filled": payloads.dec(o.filled),
        "status": o.status.value,
        "created": payloads.iso(o.created_ns),
    }


async def read_status(settings: BrokerSettings, topic: str, timeout_s: float) -> dict[str, Any]:
    """The retained status on ``topic``; raises ``LookupError`` when none comes in
    ``timeout_s``, ``ConnectionError`` when the broker cannot be reached."""
    import aiomqtt

    from botkit.ops.client import make_client

    client = make_client(settings, identifier=f"botkit-status-{uuid.uuid4().hex[:8]}")
    try:
        async with client:
            await client.subscribe(topic, qos=1)
            try:
                async with asyncio.timeout(timeout_s):
                    async for message in client.messages:
                        raw = message.payload
                        data = bytes(raw) if isinstance(raw, bytes | bytearray) else b""
                        try:
                            body = json.loads(data)
                        except ValueError:
                            continue
                        if isinstance(body, dict):
                            return body
            except TimeoutError:
                pass
    except aiomqtt.MqttError as exc:
        raise ConnectionError(f"the broker at {settings.host}:{settings.port}: {exc}") from None
    raise LookupError(
        f"no status on {topic} within {timeout_s:g}s: the bot has not connected to this "
        "broker yet (or runs with another mqtt.bot_id or topic_prefix)"
    )


def _age(ts: str | None, now: datetime) -> str:
    if not ts:
        return "?"
    try:
        then = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return "?"
    return _span((now - then).total_seconds())


def _span(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def render(view: dict[str, Any], status: dict[str, Any] | None, problem: str | None) -> str:
    """The text ``botkit status`` prints."""
    lines = [f"journal {view['journal']}"]
    pos = view["positions"]
    lines.append(f"positions ({len(pos)} open)" + ("" if pos else ": flat"))
    for p in pos:
        lines.append(
            f"  {p['strategy']}:{p['symbol']}  {p['size']} @ {p['avg_price']} "
            f"(realised {p['realized_pnl']})"
        )
    orders = view["open_orders"]
    lines.append(f"open orders ({len(orders)})" + ("" if orders else ": none"))
    for o in orders:
        price = o["price"] if o["price"] is not None else "market"
        lines.append(
            f"  {o['client_id']}  {o['strategy']} {o['symbol']} {o['side']} {o['size']} @ "
            f"{price}, filled {o['filled']}, {o['status']}"
        )
    today = view["today"]
    pnl = today["pnl"]
    money = (
        "; ".join(
            f"{v['net']} {q} (realised {v['realized']}, fees {v['fees']})" for q, v in pnl.items()
        )
        or "0"
    )
    lines.append(
        f"today ({today['date']} {today['timezone']}): pnl {money}, {today['fills']} fill(s) "
        "[realised by the day's fills net of their fees; positions not marked]"
    )
    lines.append(_health(view, status, problem))
    return "\n".join(lines)


def _health(view: dict[str, Any], status: dict[str, Any] | None, problem: str | None) -> str:
    now = datetime.now().astimezone()
    if status is None:
        last = view["last_activity"]
        seen = f"last journal activity {_age(last, now)} ago ({last})" if last else "no activity"
        return f"health: {problem or 'no mqtt: section, so no live status'}; {seen}"
    state = status.get("state", "?")
    head = f"health: {state}"
    if state == "offline":
        head += " (the bot's connection died without a goodbye)"
    parts = [
        f"{head}, {status.get('mode', '?')} on {status.get('venue', '?')}, "
        f"status {_age(status.get('ts'), now)} old"
    ]
    if "uptime_s" in status and state not in ("stopped", "offline"):
        parts.append(f"up {_span(float(status['uptime_s']))}")
    if "orders_open" in status:
        rejects = ", ".join(f"{k} {n}" for k, n in status.get("rejects", {}).items()) or "0"
        parts.append(
            f"orders open {status['orders_open']}, fills {status.get('fills', 0)}, "
            f"rejects {rejects}"
        )
    ws = status.get("websocket")
    when = "at stop: " if state == "stopped" else ""
    if isinstance(ws, dict):
        age = ws.get("last_message_age_s")
        text = (
            f"{when}feed {ws.get('source', 'venue')} {'up' if ws.get('connected') else 'DOWN'}, "
            f"last message {'never' if age is None else f'{age}s ago'}, "
            f"reconnects {ws.get('reconnects', 0)}, errors {ws.get('errors', 0)}"
        )
        if ws.get("source") == "mqtt":
            text += f", gaps {ws.get('gaps', 0)}, resyncs {ws.get('resyncs', 0)}"
        parts.append(text)
    tel = status.get("telemetry")
    if isinstance(tel, dict):
        parts.append(
            f"{when}mqtt {'connected' if tel.get('connected') else 'DOWN'}, queued "
            f"{tel.get('queued', 0)}, dropped {tel.get('dropped', 0)}"
        )
    return "\n  ".join(parts)


def show(config: BotConfig, *, as_json: bool = False, timeout_s: float = 2.0) -> tuple[int, str]:
    """``(exit code, text)`` of ``botkit status`` for a loaded bot.yaml."""
    import sqlite3

    from botkit.journal import Journal, JournalError
    from botkit.ops.client import settings_from
    from botkit.ops.topics import STATUS, Topics

    path = config.resolve_path(config.live.journal)
    if not path.exists():
        return EXIT_NO_JOURNAL, (
            f"error: no journal at {path} (live.journal): this bot has not run yet with this "
            "bot.yaml, or its journal is elsewhere"
        )
    quotes = {i.symbol: i.quote or _quote_of(i.symbol, {}) for i in config.instruments}
    tz = config.schedule.timezone or "UTC"
    try:
        with Journal(path, create=False) as journal:
            view = journal_view(journal, quotes, tz)
    except (JournalError, sqlite3.Error) as exc:
        return EXIT_NO_JOURNAL, f"error: {path}: {' '.join(str(exc).split())}"
    status: dict[str, Any] | None = None
    problem: str | None = None
    code = EXIT_OK
    mqtt = config.mqtt
    if mqtt is not None:
        topic = Topics(mqtt.topic_prefix, mqtt.bot_id).of(STATUS)
        settings = settings_from(mqtt, config.resolve_path)
        try:
            status = asyncio.run(read_status(settings, topic, timeout_s))
        except (ConnectionError, LookupError) as exc:
            problem = f"no status from MQTT: {exc}"
            code = EXIT_NO_STATUS
    if as_json:
        out = {**view, "status": status, "status_problem": problem}
        return code, json.dumps(out, indent=2)
    return code, render(view, status, problem)


__all__ = ["day_of", "day_pnl", "journal_view", "read_status", "render", "show"]
