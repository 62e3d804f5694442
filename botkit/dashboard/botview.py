"""What the dashboard knows about one bot, built from the bot's own messages.

A :class:`BotView` takes each message of the bot's topics (``apply(kind,
payload)``, the kinds of ``botkit.ops.topics``) and keeps what the page shows:
the latest status, positions and PnL, the open orders, the last fills (deduped
by ``fill_id``: fills come at least once), the PnL over time, rejects by code,
recent warnings, and the link's health as the dashboard sees it (when the last
message came, and the gaps in each topic's ``seq``: messages lost on the way).
``apply`` returns the change to push to the browsers watching that bot, or
None when nothing changed (a repeated fill). The journal source
(``botkit.dashboard.journalsource``) feeds the same view from a journal file.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from typing import Any, ClassVar

from botkit.ops.topics import FILLS, LOG, ORDERS, PNL, POSITIONS, REJECTS, STATUS

CLOSED = frozenset({"filled", "canceled", "rejected", "expired"})
MAX_FILLS = 500
MAX_PNL_POINTS = 4000
MAX_SEEN_FILL_IDS = 20_000


def _number(text: Any) -> float | None:
    try:
        return None if text is None else float(text)
    except (TypeError, ValueError):
        return None


class BotView:
    """One bot as the page shows it; ``source`` is ``mqtt`` or ``journal``."""

    def __init__(self, bot_id: str, source: str = "mqtt", controllable: bool = True) -> None:
        self.id = bot_id
        self.source = source
        self.controllable = controllable
        self.status: dict[str, Any] | None = None
        self.positions: list[dict[str, Any]] = []
        self.orders: dict[str, dict[str, Any]] = {}
        self.fills: deque[dict[str, Any]] = deque(maxlen=MAX_FILLS)
        self._fill_ids: OrderedDict[str, None] = OrderedDict()
        self.fills_seen = 0
        self.pnl: deque[list[Any]] = deque(maxlen=MAX_PNL_POINTS)
        self.pnl_last: dict[str, Any] | None = None
        self.rejects: Counter[str] = Counter()
        self.recent_rejects: deque[dict[str, Any]] = deque(maxlen=50)
        self.logs: deque[dict[str, Any]] = deque(maxlen=50)
        self.last_message_at: float | None = None
        self.messages = 0
        self.gaps: Counter[str] = Counter()
        self._last_seq: dict[str, int] = {}

    # ----- taking messages ------------------------------------------------------------------

    def apply(self, kind: str, payload: Any, now: float | None = None) -> dict[str, Any] | None:
        """Take one message; the change for the browsers, or None."""
        if not isinstance(payload, dict):
            return None
        self.last_message_at = time.time() if now is None else now
        self.messages += 1
        self._count_gap(kind, payload)
        handler = self._HANDLERS.get(kind)
        return None if handler is None else handler(self, payload)

    def _count_gap(self, kind: str, payload: dict[str, Any]) -> None:
        # The status's last will carries seq 0 and a retained status comes again on
        # every subscription: only the other topics count up one by one.
        seq = payload.get("seq")
        if kind == STATUS or not isinstance(seq, int):
            return
        last = self._last_seq.get(kind)
        if last is not None and seq > last + 1:
            self.gaps[kind] += seq - last - 1
        if last is None or seq > last:
            self._last_seq[kind] = seq

    def _status(self, p: dict[str, Any]) -> dict[str, Any]:
        self.status = p
        for code, n in (p.get("rejects") or {}).items():
            if isinstance(n, int):
                self.rejects[code] = max(self.rejects[code], n)
        return {"status": p, "rejects": dict(self.rejects)}

    def _fill(self, p: dict[str, Any]) -> dict[str, Any] | None:
        fid = str(p.get("fill_id") or p.get("trade_id") or "")
        if fid in self._fill_ids:
            return None
        self._fill_ids[fid] = None
        if len(self._fill_ids) > MAX_SEEN_FILL_IDS:
            self._fill_ids.popitem(last=False)
        self.fills.append(p)
        self.fills_seen += 1
        return {"fill": p}

    def _order(self, p: dict[str, Any]) -> dict[str, Any]:
        cid = str(p.get("client_id"))
        if p.get("status") in CLOSED:
            self.orders.pop(cid, None)
        else:
            self.orders[cid] = p
        return {"order": p}

    def _positions(self, p: dict[str, Any]) -> dict[str, Any]:
        self.positions = list(p.get("positions") or [])
        return {"positions": self.positions}

    def _pnl(self, p: dict[str, Any]) -> dict[str, Any]:
        self.pnl_last = p
        point = [p.get("ts"), _number(p.get("total")), _number(p.get("equity"))]
        self.pnl.append(point)
        return {"pnl": point, "pnl_last": p}

    def _reject(self, p: dict[str, Any]) -> dict[str, Any]:
        code = str(p.get("code") or "rejected")
        total = p.get("total")
        self.rejects[code] = max(self.rejects[code] + 1, total if isinstance(total, int) else 0)
        self.recent_rejects.append(p)
        return {"reject": p, "rejects": dict(self.rejects)}

    def _log(self, p: dict[str, Any]) -> dict[str, Any]:
        self.logs.append(p)
        return {"log": p}

    _HANDLERS: ClassVar[dict[str, Callable[[BotView, dict[str, Any]], dict[str, Any] | None]]] = {
        STATUS: _status,
        FILLS: _fill,
        ORDERS: _order,
        POSITIONS: _positions,
        PNL: _pnl,
        REJECTS: _reject,
        LOG: _log,
    }

    # ----- what the page reads ---------------------------------------------------------------

    @property
    def state(self) -> str:
        return str((self.status or {}).get("state") or "unknown")

    def health(self, now: float | None = None) -> dict[str, Any]:
        """The link as the dashboard sees it, plus the bot's own feed and queue accounts."""
        now = time.time() if now is None else now
        status = self.status or {}
        age = None if self.last_message_at is None else round(now - self.last_message_at, 3)
        return {
            "last_message_age_s": age,
            "messages": self.messages,
            "gaps": dict(self.gaps),
            "lost": sum(self.gaps.values()),
            "websocket": status.get("websocket"),
            "telemetry": status.get("telemetry"),
            "venue_health": status.get("venue_health"),
        }

    def summary(self, now: float | None = None) -> dict[str, Any]:
        """One line of the bot list."""
        status = self.status or {}
        return {
            "id": self.id,
            "source": self.source,
            "controllable": self.controllable,
            "state": self.state,
            "online": bool(status.get("online")),
            "mode": status.get("mode"),
            "venue": status.get("venue"),
            "strategies": [s.get("name") for s in status.get("strategies") or []],
            "fills": status.get("fills", self.fills_seen),
            "orders_open": status.get("orders_open", len(self.orders)),
            "last_message_age_s": self.health(now)["last_message_age_s"],
        }

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """Everything the page shows for this bot, at once (then :meth:`apply`'s changes)."""
        return {
            "summary": self.summary(now),
            "status": self.status,
            "positions": self.positions,
            "orders": list(self.orders.values()),
            "fills": list(self.fills),
            "pnl": list(self.pnl),
            "pnl_last": self.pnl_last,
            "rejects": dict(self.rejects),
            "recent_rejects": list(self.recent_rejects),
            "logs": list(self.logs),
            "health": self.health(now),
        }


__all__ = ["CLOSED", "BotView"]
