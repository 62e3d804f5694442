"""What a paper or live run tells its operator: rejects in the log, and (paper) the journal.

A live run's gateway journals every order and fill as the venue reports it. A
paper run has no gateway: its orders go to the in-process matching engine,
which reports straight to the router. ``RecordingUpdates`` sits where the
router posts every order change and fill anyway (the ``Updates`` queue), so a
paper run journals the same orders and fills without the router or the
matching engine knowing about journals.

Writes are buffered and flushed in one transaction (every status interval and
at stop): a paper run may fill hundreds of times a second, and one fsync per
fill would slow the loop that also serves market data. A crash loses at most
the last interval of a paper run, which trades no money.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Protocol

from botkit.execution.updates import Updates
from botkit.journal import Journal
from botkit.model import Fill, Order, OrderStatus

log = logging.getLogger("botkit.orders")


class Recorder:
    """Order changes and fills waiting to be written to ``journal``.

    ``trade_prefix`` goes in front of each fill's trade id: the matching engine
    numbers its trades from 1 in every run, and the journal keys fills by trade
    id, so a second paper run on the same journal would otherwise lose its fills
    as duplicates of the first run's.
    """

    def __init__(self, journal: Journal, trade_prefix: str) -> None:
        self.journal = journal
        self.trade_prefix = trade_prefix
        # The order itself, not a copy: a flush writes its latest state once.
        self._orders: dict[str, Order] = {}
        self._fills: list[Fill] = []

    def order(self, order: Order) -> None:
        self._orders[order.client_id] = order

    def fill(self, fill: Fill) -> None:
        self._fills.append(fill)

    def flush(self) -> None:
        if not self._orders and not self._fills:
            return
        prefix = self.trade_prefix
        with self.journal.transaction():
            # Orders first, so each fill finds its order's strategy.
            for order in self._orders.values():
                self.journal.record_order(order)
            for fill in self._fills:
                self.journal.record_fill(fill._replace(trade_id=f"{prefix}:{fill.trade_id}"))
        # Only once written: a failed flush keeps everything for the next one.
        self._orders, self._fills = {}, []


class UpdatesTap(Protocol):
    """Anything else that wants every order change and fill as it happens (MQTT
    telemetry, ``botkit.ops.telemetry``). Called on the trading path: it must only
    take note, never wait."""

    def order(
        self, order: Order, ts_ns: int, code: str | None = None, reason: str | None = None
    ) -> None: ...

    def fill(self, strategy: str, fill: Fill) -> None: ...


class RecordingUpdates(Updates):
    """``Updates`` that also log every reject at info level with its code, and hand
    every order change and fill to a ``Recorder`` and a ``tap`` when there are ones."""

    __slots__ = ("_recorder", "_tap")

    def __init__(
        self,
        wants_orders: Collection[str] = (),
        wants_fills: Collection[str] = (),
        wake: Callable[[], None] | None = None,
        recorder: Recorder | None = None,
        tap: UpdatesTap | None = None,
    ) -> None:
        super().__init__(wants_orders, wants_fills, wake)
        self._recorder = recorder
        self._tap = tap

    def order(
        self, order: Order, ts_ns: int, code: str | None = None, reason: str | None = None
    ) -> None:
        if order.status is OrderStatus.REJECTED:
            log.info(
                "%s: order %s (%s %s %s at %s) rejected [%s]: %s",
                order.strategy,
                order.client_id,
                order.side.value,
                order.size,
                order.symbol,
                order.price if order.price is not None else "market",
                code or order.code or "rejected",
                reason or order.reason or "",
            )
        if self._recorder is not None:
            self._recorder.order(order)
        if self._tap is not None:
            self._tap.order(order, ts_ns, code, reason)
        super().order(order, ts_ns, code, reason)

    def fill(self, strategy: str, fill: Fill) -> None:
        if self._recorder is not None:
            self._recorder.fill(fill)
        if self._tap is not None:
            self._tap.fill(strategy, fill)
        super().fill(strategy, fill)


__all__ = ["Recorder", "RecordingUpdates", "UpdatesTap"]
