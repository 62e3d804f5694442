"""A bot seen through its journal file, for a dashboard with no broker.

Without an ``mqtt:`` section there is no live status to read; the journal
(``live.journal``, or ``--journal``) still holds every order and fill of a paper
or live run (``botkit.journal``). :class:`JournalSource` reads it every
``interval_s`` (SQLite in WAL mode: reading never blocks the bot's writes) and
feeds what is new to the hub as the same payloads the MQTT topics carry
(``botkit.ops.payloads``): new fills, the open orders, the positions replayed
from the fills and the realised PnL over time. The bot is named after the
file; it cannot be steered from here (no broker, no commands).

A paper run writes its journal every ``live.status_interval``, so fills show
up that much later than over MQTT.
"""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from botkit.dashboard.hub import Hub
from botkit.journal import Journal, JournalError
from botkit.model import Fill, Order
from botkit.ops import payloads
from botkit.ops.topics import FILLS, ORDERS, PNL, POSITIONS, STATUS

log = logging.getLogger("botkit.dashboard")
SOURCE = "journal"


def order_payload(o: Order) -> dict[str, Any]:
    """An order from the journal, shaped like the ``orders`` topic's payload."""
    return {
        "strategy": o.strategy,
        "client_id": o.client_id,
        "venue_order_id": o.venue_order_id,
        "symbol": o.symbol,
        "side": o.side.value,
        "type": o.type.value,
        "status": o.status.value,
        "price": payloads.dec(o.price),
        "size": payloads.dec(o.size),
        "filled": payloads.dec(o.filled),
        "avg_price": payloads.dec(o.avg_price),
        "code": o.code,
        "reason": o.reason,
        "event_ts": payloads.iso(o.updated_ns),
    }


class JournalSource:
    """Polls one journal file and publishes what changed as bot ``bot_id``."""

    def __init__(
        self, hub: Hub, path: str | Path, bot_id: str | None = None, interval_s: float = 0.5
    ) -> None:
        self.hub = hub
        self.path = Path(path)
        self.bot_id = bot_id or self.path.stem
        self.interval_s = interval_s
        self.link: dict[str, Any] = {
            "kind": "journal",
            "journal": self.path.name,
            "connected": False,
            "last_error": None,
        }
        hub.sources.append(self.link)
        self._journal: Journal | None = None
        self._seen: set[str] = set()
        self._open: dict[str, dict[str, Any]] = {}
        self._last_ns = 0
        self._seq = 0
        self._fills = 0
        self._fees = Decimal(0)
        self._started = time.time_ns()

    def _publish(self, kind: str, body: dict[str, Any]) -> None:
        self._seq += 1
        message = payloads.envelope(self.bot_id, self._seq, time.time_ns(), body)
        self.hub.publish(self.bot_id, kind, message, source=SOURCE, controllable=False)

    def _read(self) -> tuple[list[Fill], list[Order], dict[Any, Any]]:
        if self._journal is None:
            self._journal = Journal(self.path, create=False)
        j = self._journal
        since = self._last_ns or None
        return j.fills(since_ns=since), j.orders(open_only=True), j.positions()

    def poll(self) -> bool:
        """Read the journal once and publish what is new; whether anything was."""
        return self._apply(*self._read())

    def _apply(
        self, fills: list[Fill], open_orders: list[Order], positions: dict[Any, Any]
    ) -> bool:
        changed = False
        marks: dict[str, Decimal] = {}
        for f in fills:
            marks[f.symbol] = f.price
            if f.trade_id in self._seen:
                continue
            self._seen.add(f.trade_id)
            self._last_ns = max(self._last_ns, f.ts_ns)
            self._fills += 1
            self._fees += f.fee
            self._publish(FILLS, payloads.fill(f, f.trade_id))
            changed = True
        now_open = {o.client_id: order_payload(o) for o in open_orders}
        for cid, p in now_open.items():
            if self._open.get(cid) != p:
                self._publish(ORDERS, p)
                changed = True
        for cid, p in self._open.items():
            if cid not in now_open:
                self._publish(ORDERS, {**p, "status": "closed"})
                changed = True
        self._open = now_open
        if changed or self._seq == 0:
            rows = [
                payloads.position_row(strategy, pos, marks.get(pos.symbol))
                for (strategy, _), pos in sorted(positions.items())
            ]
            self._publish(POSITIONS, payloads.positions(rows))
            realized = sum((p.realized_pnl for p in positions.values()), Decimal(0))
            self._publish(
                PNL,
                {
                    "quote": "",
                    "total": payloads.dec(realized - self._fees, trim=True),
                    "realized": payloads.dec(realized, trim=True),
                    "unrealized": "0",
                    "fees": payloads.dec(self._fees, trim=True),
                    "equity": None,
                    "equity_change": None,
                    "strategies": [],
                },
            )
            self._publish(STATUS, self._status(len(now_open)))
        return changed

    def _status(self, open_orders: int) -> dict[str, Any]:
        return {
            "state": "journal",
            "online": False,
            "mode": None,
            "venue": None,
            "strategies": [],
            "started_at": payloads.iso(self._started),
            "orders_open": open_orders,
            "fills": self._fills,
        }

    async def run(self) -> None:
        while True:
            try:
                # Read off the event loop (SQLite may wait on the bot's write lock);
                # publish on it (the browsers' queues belong to the loop).
                self._apply(*await asyncio.to_thread(self._read))
                self.link.update(connected=True, last_error=None)
            except (JournalError, OSError) as exc:
                self.link.update(connected=False, last_error=str(exc)[:200])
                if self._journal is not None:
                    self._journal.close()
                    self._journal = None
            await asyncio.sleep(self.interval_s)


__all__ = ["JournalSource", "order_payload"]
