"""The execution router: client ids, the order state machine, and fill tracking.

The router is synchronous and event-driven. It sends requests to a venue
gateway and learns what happened only through the venue's callbacks
(``on_ack``, ``on_fill``, ...). Whether the venue is the in-process simulator
or a live exchange behind asyncio tasks, the router cannot tell.

Fills are keyed by the venue's trade id and counted once; positions and
balances follow from fills alone.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol

from botkit.execution.transitions import CLOSED, TRANSITIONS
from botkit.execution.updates import Updates
from botkit.intents import Edit, Place
from botkit.model import (
    ZERO,
    Fill,
    Instrument,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Side,
)

log = logging.getLogger("botkit.execution")

S = OrderStatus

_CLOSED = CLOSED
# Members read per order or per fill, as plain names: on Python 3.11 a read like
# ``S.FILLED`` goes through EnumType.__getattr__'s slow hook (about 110 ns).
_PENDING_NEW = S.PENDING_NEW
_OPEN = S.OPEN
_PARTIALLY_FILLED = S.PARTIALLY_FILLED
_FILLED = S.FILLED
_ACKABLE = frozenset({S.PENDING_NEW, S.UNKNOWN, S.PENDING_EDIT})
# A partial fill moves these on to PARTIALLY_FILLED; closed and pending requests keep theirs.
_FILL_MOVES = frozenset({S.PENDING_NEW, S.UNKNOWN, S.OPEN, S.PARTIALLY_FILLED})
_BUY = Side.BUY


class VenuePort(Protocol):
    """What the router asks of a venue: the narrow port every venue implements.

    Requests return at once; outcomes come back later through the router's
    ``on_*`` callbacks (``on_ack``, ``on_fill``, ...), whether the venue is the
    in-process matching engine or a live exchange behind asyncio tasks.
    """

    supports_edit: bool

    def submit(self, order: Order, now_ns: int) -> None: ...

    def cancel(self, order: Order, now_ns: int) -> None: ...

    def edit(self, order: Order, price: Decimal, size: Decimal, now_ns: int) -> None: ...


class ExecutionRouter:
    """Tracks every order and fill of every strategy on one venue account."""

    def __init__(
        self,
        instruments: dict[str, Instrument],
        balances: dict[str, Decimal] | None = None,
        updates: Updates | None = None,
        id_prefix: str = "bk",
    ) -> None:
        self.instruments = instruments
        self.venue: VenuePort | None = None
        self.balances: dict[str, Decimal] = dict(balances or {})
        self.updates = updates if updates is not None else Updates()
        self._prefix = id_prefix
        self._seq = itertools.count(1)
        self.orders: dict[str, Order] = {}  # every order ever, closed ones stay matchable
        self._by_venue_id: dict[str, Order] = {}
        self._attempts: dict[str, Order] = {}  # venue client id of a replacement -> its order
        self._open: dict[tuple[str, str], dict[str, Order]] = {}
        self._positions: dict[tuple[str, str], Position] = {}
        self._pending_replace: dict[str, tuple[Decimal, Decimal]] = {}
        self._seen_trades: set[str] = set()
        self.fills: list[Fill] = []
        self.duplicate_fills = 0
        self.orphan_fills = 0
        self.anomalies = 0
        self.open_count = 0

    def attach(self, venue: VenuePort) -> None:
        """Bind the venue orders go to (once, by the node; the venue reports back here)."""
        self.venue = venue

    def restore(self, orders: Iterable[Order], fills: Iterable[Fill]) -> None:
        """Resume from a journal: known orders, fills already counted, positions from fills.

        Balances are not replayed here: a live venue reports them itself.
        """
        for order in orders:
            self.orders[order.client_id] = order
            if order.venue_order_id:
                self._by_venue_id[order.venue_order_id] = order
            if order.attempt > 1:
                self._attempts[order.venue_client_id] = order
            if order.is_open:
                self.open_order_map(order.strategy, order.symbol)[order.client_id] = order
                self.open_count += 1
        for fill in fills:
            if fill.trade_id in self._seen_trades:
                continue
            self._seen_trades.add(fill.trade_id)
            self.fills.append(fill)
            key = (fill.strategy, fill.symbol)
            pos = self._positions.get(key) or Position(fill.symbol)
            self._positions[key] = pos.apply(fill.side, fill.price, fill.size)

    # ----- reads -------------------------------------------------------------

    def open_orders(self, strategy: str, symbol: str | None = None) -> list[Order]:
        if symbol is not None:
            book = self._open.get((strategy, symbol))
            return list(book.values()) if book else []
        return [o for (s, _), book in self._open.items() if s == strategy for o in book.values()]

    def open_order_map(self, strategy: str, symbol: str) -> dict[str, Order]:
        book = self._open.get((strategy, symbol))
        if book is None:
            book = self._open[(strategy, symbol)] = {}
        return book

    def open_view(self, strategy: str, symbol: str) -> Iterable[Order]:
        """The strategy's open orders on a symbol, as a live view (no copy)."""
        book = self._open.get((strategy, symbol))
        return book.values() if book else ()

    def position(self, strategy: str, symbol: str) -> Position:
        return self._positions.get((strategy, symbol)) or Position(symbol)

    def position_size(self, strategy: str, symbol: str) -> Decimal:
        pos = self._positions.get((strategy, symbol))
        return pos.size if pos is not None else ZERO

    def account_position(self, symbol: str) -> Decimal:
        return sum((p.size for (_, s), p in self._positions.items() if s == symbol), ZERO)

    @property
    def positions(self) -> dict[tuple[str, str], Position]:
        return dict(self._positions)

    # ----- requests ----------------------------------------------------------

    def new_client_id(self, strategy: str) -> str:
        return f"{self._prefix}-{strategy}-{next(self._seq)}"

    def _make_order(self, strategy: str, p: Place, now_ns: int) -> Order:
        # The risk module hands over normalised intents: enums, grid Decimals.
        return Order(
            p.client_id or self.new_client_id(strategy),
            p.symbol,
            p.side,
            p.type,
            p.size,  # type: ignore[arg-type]
            p.price,  # type: ignore[arg-type]
            p.tif,
            p.post_only,
            p.reduce_only,
            p.stop_price,  # type: ignore[arg-type]
            strategy,
            _PENDING_NEW,
            created_ns=now_ns,
            updated_ns=now_ns,
        )

    def place(self, strategy: str, intent: Place, now_ns: int) -> Order:
        """Send an order the risk module accepted (prices and sizes on the grid)."""
        if intent.client_id is not None and intent.client_id in self.orders:
            return self.reject_local(
                strategy,
                intent,
                "duplicate_client_id",
                f"client id {intent.client_id!r} was already used",
                now_ns,
            )
        order = self._make_order(strategy, intent, now_ns)
        self.orders[order.client_id] = order
        self.open_order_map(strategy, order.symbol)[order.client_id] = order
        self.open_count += 1
        self.updates.order(order, now_ns)
        assert self.venue is not None, "no venue attached"
        self.venue.submit(order, now_ns)
        return order

    def reject_local(
        self, strategy: str, intent: Place | Edit, code: str, reason: str, now_ns: int
    ) -> Order:
        """Record a refusal that never left the process (risk module, bad intent)."""
        if isinstance(intent, Place):
            order = Order(
                self.new_client_id(strategy)
                if intent.client_id in self.orders or intent.client_id is None
                else intent.client_id,
                intent.symbol,
                _side(intent.side),
                _otype(intent.type),
                _dec(intent.size),
                _dec(intent.price),
                strategy=strategy,
                status=S.REJECTED,
                created_ns=now_ns,
                updated_ns=now_ns,
                reason=reason,
                code=code,
            )
            self.orders[order.client_id] = order
            self.updates.order(order, now_ns)
            return order
        # A refused edit leaves the original order as it was; the strategy still hears why.
        order = self.orders[intent.client_id]
        self.updates.order(order, now_ns, code, reason)
        return order

    def cancel(self, strategy: str, client_id: str, now_ns: int) -> bool:
        order = self.orders.get(client_id)
        if order is None or order.strategy != strategy or not order.is_open:
            return False
        if order.status is S.PENDING_CANCEL:
            return True
        self._set(order, S.PENDING_CANCEL, now_ns)
        assert self.venue is not None
        self.venue.cancel(order, now_ns)
        return True

    def cancel_all(self, strategy: str, symbol: str | None, now_ns: int) -> int:
        targets = self.open_orders(strategy, symbol)
        return sum(self.cancel(strategy, o.client_id, now_ns) for o in targets)

    def edit(self, strategy: str, intent: Edit, now_ns: int) -> bool:
        """Apply an edit the risk module accepted: native edit, else cancel-and-replace."""
        order = self.orders.get(intent.client_id)
        if order is None or order.strategy != strategy or not order.is_open:
            return False
        price = intent.price if intent.price is not None else order.price
        size = intent.size if intent.size is not None else order.size
        assert self.venue is not None
        self._set(order, S.PENDING_EDIT, now_ns)
        if self.venue.supports_edit:
            self.venue.edit(order, price, size, now_ns)  # type: ignore[arg-type]
        else:
            self._pending_replace[order.client_id] = (price, size)  # type: ignore[assignment]
            self.venue.cancel(order, now_ns)
        return True

    # ----- venue callbacks -----------------------------------------------------

    def on_ack(self, client_id: str, venue_order_id: str, ts_ns: int) -> None:
        order = self.orders.get(client_id) or self._attempts.get(client_id)
        if order is None:
            self.anomalies += 1
            log.warning("ack for unknown order %s", client_id)
            return
        order.venue_order_id = venue_order_id
        self._by_venue_id[venue_order_id] = order
        if order.status in _ACKABLE:
            self._set(order, _PARTIALLY_FILLED if order.filled else _OPEN, ts_ns)

    def on_reject(self, client_id: str, code: str, reason: str, ts_ns: int) -> None:
        order = self.orders.get(client_id) or self._attempts.get(client_id)
        if order is None:
            self.anomalies += 1
            return
        order.code, order.reason = code, reason
        if order.filled:
            # Part of it traded before the refusal: what is left is gone, the fills stand.
            self._set(order, S.CANCELED, ts_ns)
        else:
            self._set(order, S.REJECTED, ts_ns)

    def on_ambiguous(self, client_id: str, reason: str, ts_ns: int) -> None:
        """The venue's answer did not say whether the order exists: UNKNOWN until settled."""
        order = self.orders.get(client_id) or self._attempts.get(client_id)
        if order is None:
            self.anomalies += 1
            return
        order.reason = reason
        self._set(order, S.UNKNOWN, ts_ns)

    def on_canceled(self, client_id: str, ts_ns: int, reason: str | None = None) -> None:
        order = self.orders.get(client_id) or self._attempts.get(client_id)
        if order is None:
            self.anomalies += 1
            return
        replace_with = self._pending_replace.pop(client_id, None)
        if replace_with is not None and order.status is S.PENDING_EDIT:
            # Cancel-and-replace: the strategy keeps its client id; only the venue's changes.
            order.price, order.size = replace_with
            order.venue_order_id = None
            order.attempt += 1
            self._attempts[order.venue_client_id] = order
            assert self.venue is not None
            self.venue.submit(order, ts_ns)
            return
        if reason:
            order.reason = reason
        self._set(order, S.CANCELED, ts_ns)

    def on_cancel_rejected(self, client_id: str, code: str, reason: str, ts_ns: int) -> None:
        order = self.orders.get(client_id) or self._attempts.get(client_id)
        if order is None or order.status is not S.PENDING_CANCEL:
            return
        self._set(order, S.PARTIALLY_FILLED if order.filled else S.OPEN, ts_ns, code, reason)

    def on_edited(self, client_id: str, price: Decimal, size: Decimal, ts_ns: int) -> None:
        order = self.orders.get(client_id) or self._attempts.get(client_id)
        if order is None:
            self.anomalies += 1
            return
        order.price, order.size = price, size
        status = (
            S.FILLED if order.filled >= size else (S.PARTIALLY_FILLED if order.filled else S.OPEN)
        )
        self._set(order, status, ts_ns)

    def on_edit_rejected(self, client_id: str, code: str, reason: str, ts_ns: int) -> None:
        order = self.orders.get(client_id) or self._attempts.get(client_id)
        if order is None or order.status is not S.PENDING_EDIT:
            return
        self._set(order, S.PARTIALLY_FILLED if order.filled else S.OPEN, ts_ns, code, reason)

    def on_expired(self, client_id: str, ts_ns: int, reason: str | None = None) -> None:
        order = self.orders.get(client_id) or self._attempts.get(client_id)
        if order is None:
            return
        if reason:
            order.reason = reason
        self._set(order, S.EXPIRED, ts_ns)

    def on_fill(self, fill: Fill) -> None:
        """Apply one execution; a trade id seen before is counted once only."""
        tid = fill.trade_id
        if tid in self._seen_trades:
            self.duplicate_fills += 1
            return
        self._seen_trades.add(tid)
        order = self.orders.get(fill.client_id) or self._attempts.get(fill.client_id)
        if order is None and fill.venue_order_id is not None:
            order = self._by_venue_id.get(fill.venue_order_id)
        strategy = order.strategy if order is not None else fill.strategy
        if order is None:
            self.orphan_fills += 1
            log.warning("fill %s for an order this bot does not know", tid)
        self.fills.append(fill)
        self._apply_to_account(strategy, fill)
        if order is not None:
            filled = order.filled + fill.size
            if order.avg_price is None or not order.filled:
                order.avg_price = fill.price
            else:
                order.avg_price = (order.avg_price * order.filled + fill.price * fill.size) / filled
            order.filled = filled
            order.fees += fill.fee
            if filled >= order.size:
                self._set(order, _FILLED, fill.ts_ns)
            elif order.status in _FILL_MOVES:
                self._set(order, _PARTIALLY_FILLED, fill.ts_ns)
        self.updates.fill(strategy, fill)

    def _apply_to_account(self, strategy: str, fill: Fill) -> None:
        key = (strategy, fill.symbol)
        pos = self._positions.get(key)
        if pos is None:
            pos = Position(fill.symbol)
        self._positions[key] = pos.apply(fill.side, fill.price, fill.size)
        inst = self.instruments.get(fill.symbol)
        bal = self.balances
        if inst is not None:
            notional = fill.price * fill.size
            if fill.side is _BUY:
                bal[inst.base] = bal.get(inst.base, ZERO) + fill.size
                bal[inst.quote] = bal.get(inst.quote, ZERO) - notional
            else:
                bal[inst.base] = bal.get(inst.base, ZERO) - fill.size
                bal[inst.quote] = bal.get(inst.quote, ZERO) + notional
        if fill.fee:
            bal[fill.fee_asset] = bal.get(fill.fee_asset, ZERO) - fill.fee

    # ----- state machine ---------------------------------------------------------

    def _set(
        self,
        order: Order,
        status: OrderStatus,
        ts_ns: int,
        code: str | None = None,
        reason: str | None = None,
    ) -> None:
        old = order.status
        if status is not old and status not in TRANSITIONS[old]:
            self.anomalies += 1
            log.warning(
                "order %s: ignored transition %s -> %s", order.client_id, old.value, status.value
            )
            return
        order.status = status
        order.updated_ns = ts_ns
        if status in _CLOSED:
            book = self._open.get((order.strategy, order.symbol))
            if book is not None and book.pop(order.client_id, None) is not None:
                self.open_count -= 1
        self.updates.order(order, ts_ns, code, reason)

    def all_orders(self) -> Iterable[Order]:
        return self.orders.values()

    def order_for(self, client_id: str) -> Order | None:
        """The order a venue's client id names: the strategy's own, or one attempt's."""
        return self.orders.get(client_id) or self._attempts.get(client_id)


def _dec(v: object) -> Decimal:
    if v is None:
        return ZERO
    try:
        return Decimal(repr(v)) if isinstance(v, float) else Decimal(str(v))
    except Exception:
        return ZERO


def _side(v: object) -> Side:
    try:
        return Side(v)
    except ValueError:
        return Side.BUY


def _otype(v: object) -> OrderType:
    try:
        return OrderType(v)
    except ValueError:
        return OrderType.LIMIT
