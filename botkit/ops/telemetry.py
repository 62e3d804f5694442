"""What the run's order changes and fills become on the telemetry topics.

:class:`TelemetryTap` sits in the ``Updates`` queue (``RecordingUpdates``'
tap), where the router posts every order change and fill. On the trading path
it only takes an immutable snapshot and queues it (``Publisher.put``); the
JSON is built later, by the publisher's task. Every order change goes to
``orders``; a refused order or edit (by the risk module, the pause gate or the
venue) to ``risk/rejects`` as well; every fill to ``fills`` (QoS 1).

:class:`Snapshots` builds the periodic ``positions`` and ``pnl`` messages off
the trading path, from the router's positions and the books' last prices.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botkit.events import OrderUpdate
from botkit.execution.updates import snapshot
from botkit.model import ZERO, Fill, Order, OrderStatus
from botkit.ops import payloads
from botkit.ops.topics import FILLS, ORDERS, PNL, POSITIONS, REJECTS

if TYPE_CHECKING:
    from botkit.engine import Engine
    from botkit.ops.publisher import Publisher

_REJECTED = OrderStatus.REJECTED


class TelemetryTap:
    """Queues every order change and fill for MQTT (an ``UpdatesTap``)."""

    __slots__ = ("_put", "fees", "fill_prefix", "positions_dirty", "reject_counts")

    def __init__(self, publisher: Publisher, fill_prefix: str | None = None) -> None:
        self._put = publisher.put
        # A fill's id on the topic: the journal's trade id (paper runs prefix it with the
        # run's id, so ids never repeat across runs sharing a journal).
        self.fill_prefix = fill_prefix
        self.reject_counts: Counter[str] = Counter()
        # (strategy, fee asset) -> fees paid in this run (the PnL adds them up per quote).
        self.fees: Counter[tuple[str, str]] = Counter()
        self.positions_dirty = False

    def order(
        self, order: Order, ts_ns: int, code: str | None = None, reason: str | None = None
    ) -> None:
        u = snapshot(order, ts_ns, code, reason)
        self._put(ORDERS, ts_ns, payloads.order, u)
        if code is not None or order.status is _REJECTED:
            c = u.code or "rejected"
            self.reject_counts[c] += 1
            self._put(REJECTS, ts_ns, _reject, (u, self.reject_counts[c]))

    def fill(self, strategy: str, fill: Fill) -> None:
        self._put(FILLS, fill.ts_ns, self._fill, (strategy, fill))
        self.fees[(strategy, fill.fee_asset)] += fill.fee
        self.positions_dirty = True

    def _fill(self, arg: tuple[str, Fill]) -> dict[str, Any]:
        strategy, f = arg
        fill_id = f.trade_id if self.fill_prefix is None else f"{self.fill_prefix}:{f.trade_id}"
        body = payloads.fill(f, fill_id)
        body["strategy"] = strategy or f.strategy
        return body


def _reject(arg: tuple[OrderUpdate, int]) -> dict[str, Any]:
    return payloads.reject(*arg)


class Snapshots:
    """The ``positions`` and ``pnl`` messages, built from the engine's state when asked."""

    def __init__(self, engine: Engine, tap: TelemetryTap) -> None:
        self.engine = engine
        self.tap = tap
        # Fees of fills restored from the journal (a live restart): counted once here,
        # this run's come through the tap.
        self._fees_before: Counter[tuple[str, str]] = Counter()
        for f in engine.router.fills:
            self._fees_before[(f.strategy, f.fee_asset)] += f.fee

    def _mark(self, symbol: str) -> Decimal | None:
        book = self.engine.books.get(symbol)
        last = book.last_price if book is not None else None
        return Decimal(repr(last)) if last is not None else None

    def positions(self, now_ns: int) -> None:
        rows = [
            payloads.position_row(strategy, pos, self._mark(symbol))
            for (strategy, symbol), pos in sorted(self.engine.router.positions.items())
        ]
        self.tap.positions_dirty = False
        self.tap._put(POSITIONS, now_ns, payloads.positions, rows)

    def pnl(self, now_ns: int) -> None:
        self.tap._put(PNL, now_ns, _same, self.pnl_body())

    def pnl_body(self) -> dict[str, Any]:
        """Realised and unrealised PnL of the strategies' positions, net of fees paid in
        the quote asset, per strategy and in total; and the account's equity change."""
        engine = self.engine
        quote = engine.quote_asset
        per: dict[str, dict[str, Decimal]] = {}
        for (strategy, symbol), pos in engine.router.positions.items():
            row = per.setdefault(strategy, {"realized": ZERO, "unrealized": ZERO, "fees": ZERO})
            row["realized"] += pos.realized_pnl
            mark = self._mark(symbol)
            if pos.size and mark is not None:
                row["unrealized"] += pos.unrealized(mark)
        for fees in (self._fees_before, self.tap.fees):
            for (strategy, asset), fee in fees.items():
                if asset == quote:
                    row = per.setdefault(
                        strategy, {"realized": ZERO, "unrealized": ZERO, "fees": ZERO}
                    )
                    row["fees"] += fee
        total = {
            k: sum((r[k] for r in per.values()), ZERO) for k in ("realized", "unrealized", "fees")
        }
        equity = engine.equity_now()
        start = engine.initial_equity
        return {
            "quote": quote,
            "total": _d(total["realized"] + total["unrealized"] - total["fees"]),
            "realized": _d(total["realized"]),
            "unrealized": _d(total["unrealized"]),
            "fees": _d(total["fees"]),
            "equity": _d(equity),
            "equity_change": _d(equity - start) if start is not None else None,
            "strategies": [
                {
                    "strategy": name,
                    "realized": _d(r["realized"]),
                    "unrealized": _d(r["unrealized"]),
                    "fees": _d(r["fees"]),
                    "total": _d(r["realized"] + r["unrealized"] - r["fees"]),
                }
                for name, r in sorted(per.items())
            ],
        }


def _d(value: Decimal | None) -> str | None:
    return payloads.dec(value, trim=True)


def _same(body: dict[str, Any]) -> dict[str, Any]:
    return body


__all__ = ["Snapshots", "TelemetryTap"]
