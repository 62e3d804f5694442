"""What the router has to tell strategies, queued until the engine delivers it.

The router never calls strategies: it posts order changes and fills here, and
the engine delivers them (``on_order``, ``on_fill``) in the order they were
posted, after whatever it is doing has finished. The node that builds a bot
makes one ``Updates`` and hands it to both, so neither writes into the other.

An order change is copied at the moment it is posted (an ``OrderUpdate``), since
the order itself moves on; only strategies that implement ``on_order`` get
copies, so a backtest whose strategies never look pays nothing for them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection
from typing import Any

from botkit.events import OrderUpdate
from botkit.model import Fill, Order

ON_ORDER = 0
ON_FILL = 1

_NEW = tuple.__new__


def snapshot(
    order: Order, ts_ns: int, code: str | None = None, reason: str | None = None
) -> OrderUpdate:
    """The order as it stands, as an immutable update; ``code``/``reason`` say why
    it changed when that is not the order's own (a refused edit leaves the order as
    it was, with a reason of its own)."""
    return _NEW(  # type: ignore[no-any-return]
        OrderUpdate,
        (
            ts_ns,
            order.client_id,
            order.symbol,
            order.side,
            order.type,
            order.status,
            order.price,
            order.size,
            order.filled,
            order.avg_price,
            order.venue_order_id,
            order.code if code is None else code,
            order.reason if reason is None else reason,
            order.strategy,
        ),
    )


class Updates:
    """A queue of ``(ON_ORDER | ON_FILL, strategy, OrderUpdate | Fill)``.

    ``wants_orders``/``wants_fills`` name the strategies that implement
    ``on_order``/``on_fill``; what no strategy would read is never queued.
    ``wake`` is called after each post (a live node uses it to schedule
    delivery on its loop; a backtest delivers synchronously and passes none).
    """

    __slots__ = ("_fills", "_orders", "_wake", "queue")

    def __init__(
        self,
        wants_orders: Collection[str] = (),
        wants_fills: Collection[str] = (),
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.queue: deque[tuple[int, str, Any]] = deque()
        self._orders = frozenset(wants_orders)
        self._fills = frozenset(wants_fills)
        self._wake = wake

    def order(
        self, order: Order, ts_ns: int, code: str | None = None, reason: str | None = None
    ) -> None:
        """An order changed (or a request about it was refused: ``code``, ``reason``)."""
        strategy = order.strategy
        if strategy in self._orders:
            self.queue.append((ON_ORDER, strategy, snapshot(order, ts_ns, code, reason)))
            if self._wake is not None:
                self._wake()

    def post(self, strategy: str, update: OrderUpdate) -> None:
        """An order update the caller built itself (e.g. about an order that does not exist)."""
        if strategy in self._orders:
            self.queue.append((ON_ORDER, strategy, update))
            if self._wake is not None:
                self._wake()

    def fill(self, strategy: str, fill: Fill) -> None:
        if strategy in self._fills:
            self.queue.append((ON_FILL, strategy, fill))
            if self._wake is not None:
                self._wake()

    def __bool__(self) -> bool:
        return bool(self.queue)

    def __len__(self) -> int:
        return len(self.queue)


__all__ = ["ON_FILL", "ON_ORDER", "Updates", "snapshot"]
