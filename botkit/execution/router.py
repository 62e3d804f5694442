"""The execution router: client ids, the order state machine, and fill tracking.

The router is synchronous and event-driven. It sends requests to a venue
gateway and learns what happened only through the venue's callbacks
(``on_ack``, ``on_fill``, ...). Whether the venue is the in-process simulator
or a live exchange behind asyncio tasks, the router cannot tell.

An order has at most one request at the venue at a time (the states of
``transitions`` say which). A cancel or edit from the strategy while one is in
flight waits, coalesced (the last edit wins), and goes when the request in
flight resolves; if by then the order has closed, a waiting edit is answered to
the strategy with ``order_not_open``. An edit while a cancel is on its way is
answered at once (``cancel_pending``). A cancel is only ever sent for an
acknowledged order, and never twice.

Venue attempts. On a venue without a native edit an edit is a cancel and a new
place: each placement is an *attempt*, sent with a client id the venue has never
seen (``Order.venue_client_id``: the strategy's id, then ``<id>-r2``, ...). The
strategy's ``Order`` always shows the current attempt (its ``attempt`` and
``venue_order_id``). Attempt 1 is that order object itself; each later attempt
is an internal record of its own (an ``Order`` with the same client id, the
attempt's number and what is left to place as its size), which is what the
venue port is given, so an adapter sends the right id and size. Callbacks name
the attempt (its venue client id); one about an earlier attempt is stale: it was
confirmed closed before the next one was placed, so it never touches the
current one.

Fills are keyed by the venue's trade id and counted once; positions and
balances follow from fills alone (a derivative's fill settles its PnL and fee
in the wallet: ``botkit.margin``; funding and liquidations come from the venue
as their own callbacks). A fill whose order is not known yet (it
arrived before the place's acknowledgement named the venue's order id) is
counted at once under the fill's own strategy, and moved to its order's
strategy when the acknowledgement comes.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from itertools import chain
from typing import Protocol

from botkit.account import FreeBalances, Locks, lock_rate
from botkit.execution.transitions import (
    CLOSED,
    IN_FLIGHT,
    NOT_AT_VENUE,
    RESTING,
    TRANSITIONS,
    Phase,
    State,
)
from botkit.execution.updates import Updates
from botkit.intents import Edit, Place
from botkit.margin import MarginAccount, apply_fill, margin_per_unit
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
P = Phase

# Codes of the answers the router gives a strategy itself.
ORDER_NOT_OPEN = "order_not_open"  # a waiting edit met an order that had closed meanwhile
CANCEL_PENDING = "cancel_pending"  # an edit of an order whose cancel is on its way
POST_ONLY_SLID = "post_only_slid"  # the price was moved at send time (``on_repriced``)
_FILLED_THERE = "the venue reports the order filled; the edit cannot apply"

_CLOSED = CLOSED
_RESTING = RESTING
# Members read per order or per fill, as plain names: on Python 3.11 a read like
# ``S.FILLED`` goes through EnumType.__getattr__'s slow hook (about 110 ns).
_PENDING_NEW = S.PENDING_NEW
_OPEN = S.OPEN
_PARTIALLY_FILLED = S.PARTIALLY_FILLED
_FILLED = S.FILLED
_PENDING_EDIT = S.PENDING_EDIT
_PENDING_CANCEL = S.PENDING_CANCEL
_UNKNOWN = S.UNKNOWN
_CANCELED = S.CANCELED
_REJECTED = S.REJECTED
_REPLACE_CANCEL = P.REPLACE_CANCEL
_REPLACE_NEW = P.REPLACE_NEW
# States an acknowledgement moves on to OPEN (or PARTIALLY_FILLED).
_ACKABLE = frozenset({S.PENDING_NEW, S.UNKNOWN, P.REPLACE_NEW})
# A partial fill moves these on to PARTIALLY_FILLED; closed and pending requests keep theirs.
_FILL_MOVES = frozenset({S.PENDING_NEW, S.UNKNOWN, S.OPEN, S.PARTIALLY_FILLED})
_BUY = Side.BUY
_CANCEL = "cancel"  # a waiting cancel; a waiting edit is its (price, size)


class VenuePort(Protocol):
    """What the router asks of a venue: the narrow port every venue implements.

    Requests return at once; outcomes come back later through the router's
    ``on_*`` callbacks (``on_ack``, ``on_fill``, ...), whether the venue is the
    in-process matching engine or a live exchange behind asyncio tasks. The
    ``order`` given is the attempt the request is about: send
    ``order.venue_client_id``, and name it so in the callbacks.
    """

    supports_edit: bool

    def submit(self, order: Order, now_ns: int) -> None: ...

    def cancel(self, order: Order, now_ns: int) -> None: ...

    def edit(self, order: Order, price: Decimal, size: Decimal, now_ns: int) -> None: ...


class ClosedOrders(Protocol):
    """Where closed orders go once the router lets go of them (``archive_closed``;
    ``botkit.backtest.spill.OrderArchive``)."""

    def append(self, order: Order) -> None: ...

    def get(self, client_id: str) -> Order | None: ...

    def __iter__(self) -> Iterator[Order]: ...

    def __len__(self) -> int: ...


class _OrderTable(dict[str, Order]):
    """``router.orders`` with closed orders archived: a client id the dict no longer
    holds is looked up in the archive, so reads (``get``, ``[]``, ``in``) answer as
    before. Iteration and ``len`` cover the orders still in memory."""

    __slots__ = ("archive",)

    def __init__(self, orders: Mapping[str, Order], archive: ClosedOrders) -> None:
        super().__init__(orders)
        self.archive = archive

    def get(self, client_id: str, default: Order | None = None) -> Order | None:  # type: ignore[override]
        order = dict.get(self, client_id)
        if order is None:
            order = self.archive.get(client_id)
        return default if order is None else order

    def __getitem__(self, client_id: str) -> Order:
        order = self.get(client_id)
        if order is None:
            raise KeyError(client_id)
        return order

    def __contains__(self, client_id: object) -> bool:
        return dict.__contains__(self, client_id) or (
            isinstance(client_id, str) and self.archive.get(client_id) is not None
        )


class _NoRepeats:
    """The trade ids seen, for a venue that never repeats one: nothing to remember."""

    __slots__ = ()

    def __contains__(self, trade_id: object) -> bool:
        return False

    def add(self, trade_id: str) -> None:
        pass


class _Replace:
    """A cancel-and-replace under way: its step and the terms the next attempt takes."""

    __slots__ = ("phase", "price", "size")

    def __init__(self, phase: Phase, price: Decimal | None, size: Decimal) -> None:
        self.phase = phase
        self.price = price
        self.size = size


class ExecutionRouter:
    """Tracks every order and fill of every strategy on one venue account."""

    def __init__(
        self,
        instruments: dict[str, Instrument],
        balances: dict[str, Decimal] | None = None,
        updates: Updates | None = None,
        id_prefix: str = "bk",
        leverage: Mapping[str, Decimal] | Decimal | None = None,
    ) -> None:
        self.instruments = instruments
        self.venue: VenuePort | None = None
        self.balances: dict[str, Decimal] = dict(balances or {})
        # What open spot orders lock, mirrored from the orders sent (botkit.account), and
        # the derivative positions of the account with the margin they hold (botkit.margin;
        # the engine gives it the marks).
        self.locks = Locks(self.balances)
        self.margin = MarginAccount(instruments, leverage)
        if self.margin:
            self.locks.adjust = self.margin.adjustment
        # Funding paid (> 0) or received, per (strategy, symbol), in the settlement asset.
        self.funding: dict[tuple[str, str], Decimal] = {}
        self.liquidations = 0
        self.updates = updates if updates is not None else Updates()
        self._prefix = id_prefix
        self._seq = itertools.count(1)
        self.orders: dict[str, Order] = {}  # every order ever, closed ones stay matchable
        self._by_venue_id: dict[str, Order] = {}  # every attempt's venue id -> its order
        self._attempts: dict[str, Order] = {}  # venue client id of attempt >= 2 -> that attempt
        self._open: dict[tuple[str, str], dict[str, Order]] = {}
        self._positions: dict[tuple[str, str], Position] = {}
        self._replacing: dict[str, _Replace] = {}
        self._waiting: dict[str, object] = {}  # client id -> _CANCEL or (price, size)
        self._orphans: dict[str, list[Fill]] = {}  # venue order id -> fills before its ack
        self._done: set[str] = set()  # filled at the venue, by its word; fills on their way
        self._seen_trades: set[str] | _NoRepeats = set()
        self.fills: list[Fill] = []
        self.duplicate_fills = 0
        self.orphan_fills = 0  # fills whose order was unknown when they arrived
        self.adopted_fills = 0  # of those, fills moved to their order once it was acknowledged
        self.stale_callbacks = 0  # callbacks about an earlier attempt, or repeated ones
        self.zombie_fills = 0  # fills of orders given up as absent that landed after all
        self.illegal_transitions = 0
        self.anomalies = 0
        self.open_count = 0
        self._archive: ClosedOrders | None = None
        self._closed: deque[Order] = deque()  # closed, not archived yet (oldest first)
        self._keep_closed = 0

    def archive_closed(self, archive: ClosedOrders, keep: int = 10_000) -> None:
        """From now on, hand closed orders to ``archive`` once ``keep`` newer ones have
        closed (a backtest's spill to disk), instead of holding every order forever.

        Lookups by client id still find them (``orders`` falls back to the archive,
        which returns copies). The grace of ``keep`` closings leaves a just-closed
        order in memory for what may still touch it; what comes after the grace
        (a late fill, a stale callback naming an earlier attempt) meets an order the
        router no longer tracks. So: for the simulated venue, which sends nothing
        about an order after it closed; not for a live one.
        """
        self._archive = archive
        self._keep_closed = max(0, int(keep))
        self.orders = _OrderTable(self.orders, archive)
        for order in list(self.orders.values()):
            if not order.is_open:
                self._closed.append(order)
        self._retire_closed()

    def trust_trade_ids(self) -> None:
        """The venue never sends a trade id twice (the simulated venue numbers its
        trades): stop keeping every id seen to count repeats once, a string per fill
        held for the whole run."""
        self._seen_trades = _NoRepeats()

    @property
    def archive(self) -> ClosedOrders | None:
        """Where closed orders went (``archive_closed``), or None: all are in ``orders``."""
        return self._archive

    def _retire_closed(self) -> None:
        closed = self._closed
        archive = self._archive
        assert archive is not None
        while len(closed) > self._keep_closed:
            order = closed.popleft()
            cid = order.client_id
            if dict.get(self.orders, cid) is not order or order.is_open:
                continue  # archived already (it closed twice), or reopened (a zombie fill)
            del self.orders[cid]
            vids = {order.venue_order_id}
            if order.attempt > 1:
                for n in range(2, order.attempt + 1):
                    leg = self._attempts.pop(f"{cid}-r{n}", None)
                    if leg is not None:
                        vids.add(leg.venue_order_id)
                # Earlier attempts' venue ids are kept for their late fills and are named
                # nowhere else: a replaced order is rare enough to look for them.
                vids.update(v for v, o in self._by_venue_id.items() if o is order)
            for vid in vids:
                if vid is not None and self._by_venue_id.get(vid) is order:
                    del self._by_venue_id[vid]
            archive.append(order)

    def attach(self, venue: VenuePort) -> None:
        """Bind the venue orders go to (once, by the node; the venue reports back here)."""
        self.venue = venue

    def restore(self, orders: Iterable[Order], fills: Iterable[Fill]) -> None:
        """Resume from a journal: known orders, fills already counted, positions from fills.

        An order that had a request in flight when the last run stopped is of
        unknown state now (the request may or may not have reached the venue):
        it comes back UNKNOWN, for reconciliation to settle. Balances are not
        replayed here: a live venue reports them itself.
        """
        for order in orders:
            if order.status in IN_FLIGHT or (order.is_open and order.venue_order_id is None):
                order.status = _UNKNOWN
            self.orders[order.client_id] = order
            if order.venue_order_id:
                self._by_venue_id[order.venue_order_id] = order
            if order.attempt > 1:
                leg = self._new_attempt(order, order.remaining, order.updated_ns)
                leg.venue_order_id = order.venue_order_id
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
    def free_balances(self) -> FreeBalances:
        """The account's free balances (total less what open spot orders lock), live."""
        return self.locks.free

    @property
    def locked_balances(self) -> dict[str, Decimal]:
        """What open spot orders lock, per asset (live: do not change it)."""
        return self.locks.locked

    @property
    def positions(self) -> dict[tuple[str, str], Position]:
        return dict(self._positions)

    def state(self, order: Order) -> State:
        """The order's state in the transition table (a replace's step, else its status)."""
        status = order.status
        if status is _PENDING_EDIT:
            step = self._replacing.get(order.client_id)
            if step is not None:
                return step.phase
        return status

    def venue_order(self, order: Order) -> Order:
        """The record of the order's current attempt: what the venue port is given."""
        if order.attempt == 1:
            return order
        return self._attempts.get(order.venue_client_id, order)

    def order_of(self, venue_client_id: str) -> Order | None:
        """The strategy's order behind a venue client id (any attempt's)."""
        order = self.orders.get(venue_client_id)
        if order is None:
            leg = self._attempts.get(venue_client_id)
            if leg is not None:
                order = self.orders.get(leg.client_id)
        return order

    def order_of_venue_id(self, venue_order_id: str) -> Order | None:
        """The strategy's order behind a venue order id (any attempt's)."""
        return self._by_venue_id.get(venue_order_id)

    def order_of_fill(self, fill: Fill) -> Order | None:
        """The order a fill belongs to: by client id (any attempt's), else by venue order id."""
        order = self.order_of(fill.client_id) if fill.client_id else None
        if order is None and fill.venue_order_id is not None:
            order = self._by_venue_id.get(fill.venue_order_id)
        return order

    def waiting(self, client_id: str) -> object | None:
        """The request waiting for the one in flight: ``"cancel"``, ``(price, size)`` or None."""
        return self._waiting.get(client_id)

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

    def place(
        self,
        strategy: str,
        intent: Place,
        now_ns: int,
        lock: tuple[str, Decimal] | None = None,
    ) -> Order:
        """Send an order the risk module accepted (prices and sizes on the grid).

        ``lock`` is what it locks per unit of size on a spot account (the risk
        module's ``Decision.lock``), held until the order closes.
        """
        if intent.client_id is not None and intent.client_id in self.orders:
            return self.reject_local(
                strategy,
                intent,
                "duplicate_client_id",
                f"client id {intent.client_id!r} was already used",
                now_ns,
            )
        order = self._make_order(strategy, intent, now_ns)
        if lock is not None:
            self.locks.lock(order.client_id, lock[0], lock[1], order.size, force=True)
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
        """Cancel an open order: at once when nothing is in flight, else when that resolves.

        True when the order is being (or will be) cancelled; a second cancel sends
        nothing more.
        """
        order = self.orders.get(client_id)
        if order is None or order.strategy != strategy or not order.is_open:
            return False
        if self._done and client_id in self._done:
            return True  # filled at the venue: its fills close it
        status = order.status
        if (status is _OPEN or status is _PARTIALLY_FILLED) and order.venue_order_id is not None:
            self._send_cancel(order, now_ns)
        elif status is not _PENDING_CANCEL:
            if self.state(order) is _REPLACE_CANCEL:
                # The replace's cancel is already on its way: it now serves this one.
                self._set(order, _PENDING_CANCEL, now_ns)
            else:
                self._waiting[client_id] = _CANCEL  # replaces a waiting edit
        return True

    def cancel_all(self, strategy: str, symbol: str | None, now_ns: int) -> int:
        targets = self.open_orders(strategy, symbol)
        return sum(self.cancel(strategy, o.client_id, now_ns) for o in targets)

    def edit(self, strategy: str, intent: Edit, now_ns: int) -> bool:
        """Apply an edit the risk module accepted: native edit, else cancel-and-replace.

        While a request is in flight the edit waits (the last one wins); an edit
        of an order being cancelled is answered at once and returns False.
        """
        order = self.orders.get(intent.client_id)
        if order is None or order.strategy != strategy or not order.is_open:
            return False
        if self._done and order.client_id in self._done:
            self.updates.order(order, now_ns, ORDER_NOT_OPEN, _FILLED_THERE)
            return False
        price = intent.price if intent.price is not None else order.price
        size = intent.size if intent.size is not None else order.size
        status = order.status
        if (status is _OPEN or status is _PARTIALLY_FILLED) and order.venue_order_id is not None:
            self._start_edit(order, price, size, now_ns)  # type: ignore[arg-type]
            return True
        cid = order.client_id
        if status is _PENDING_CANCEL or self._waiting.get(cid) is _CANCEL:
            self.updates.order(
                order, now_ns, CANCEL_PENDING, "the order is being cancelled; the edit cannot apply"
            )
            return False
        step = self._replacing.get(cid)
        if step is not None and step.phase is _REPLACE_CANCEL:
            # The next attempt is not placed yet: it takes the latest terms.
            step.price, step.size = price, size  # type: ignore[assignment]
        else:
            self._waiting[cid] = (price, size)
        return True

    def _send_cancel(self, order: Order, now_ns: int) -> None:
        if self._done and order.client_id in self._done:
            return  # filled at the venue: nothing to cancel
        if self._set(order, _PENDING_CANCEL, now_ns):
            assert self.venue is not None
            self.venue.cancel(self.venue_order(order), now_ns)

    def _start_edit(self, order: Order, price: Decimal, size: Decimal, now_ns: int) -> None:
        if price == order.price and size == order.size:
            return  # nothing would change: no request
        venue = self.venue
        assert venue is not None
        if venue.supports_edit:
            if self._set(order, _PENDING_EDIT, now_ns):
                venue.edit(order, price, size, now_ns)
        elif self._step(order, _REPLACE_CANCEL, now_ns, _Replace(_REPLACE_CANCEL, price, size)):
            venue.cancel(self.venue_order(order), now_ns)

    def _next_request(self, order: Order, ts_ns: int) -> None:
        """Send what waited for the request that just resolved, if the order can still take it."""
        waiting = self._waiting.pop(order.client_id, None)
        if waiting is None:
            return
        if order.venue_order_id is None or order.status not in _RESTING:
            self._waiting[order.client_id] = waiting  # still in flight
            return
        if waiting is _CANCEL:
            self._send_cancel(order, ts_ns)
        else:
            price, size = waiting  # type: ignore[misc]
            self._start_edit(order, price, size, ts_ns)

    def _drop_waiting(self, order: Order, ts_ns: int) -> None:
        """The order closed: a waiting edit can no longer apply (a waiting cancel is moot)."""
        waiting = self._waiting.pop(order.client_id, None)
        if waiting is not None and waiting is not _CANCEL:
            self.updates.order(
                order,
                ts_ns,
                ORDER_NOT_OPEN,
                f"the order is {order.status.value}; the edit could not apply",
            )

    # ----- venue callbacks -----------------------------------------------------

    def _named(self, venue_client_id: str, what: str) -> tuple[Order | None, bool]:
        """The order a callback names, and whether it names the order's current attempt."""
        order = self.orders.get(venue_client_id)
        if order is not None:
            return order, order.attempt == 1
        leg = self._attempts.get(venue_client_id)
        order = self.orders.get(leg.client_id) if leg is not None else None
        if order is None:
            self.anomalies += 1
            log.warning("%s for unknown order %s", what, venue_client_id)
            return None, False
        return order, leg.attempt == order.attempt  # type: ignore[union-attr]

    def _stale(self, what: str, venue_client_id: str, order: Order) -> None:
        self.stale_callbacks += 1
        log.info(
            "%s for %s ignored: it is about an earlier attempt (now attempt %d, %s)",
            what,
            venue_client_id,
            order.attempt,
            self.state(order).value,
        )

    def on_ack(self, client_id: str, venue_order_id: str, ts_ns: int) -> None:
        order = self.orders.get(client_id)  # the common case first: attempt 1, named by its id
        if order is None or order.attempt != 1:
            order, current = self._named(client_id, "ack")
            if order is None:
                return
        else:
            current = True
        vid = venue_order_id
        # A venue that names every attempt by the strategy's id acknowledges the
        # replacement under it: a venue id never seen before while the next attempt
        # is on its way can only be that attempt's.
        if not current and (self.state(order) is not _REPLACE_NEW or vid in self._by_venue_id):
            self._by_venue_id.setdefault(vid, order)  # late fills of that attempt
            self._stale("ack", client_id, order)
            return
        order.venue_order_id = vid
        if order.attempt != 1:
            self.venue_order(order).venue_order_id = vid
        self._by_venue_id[vid] = order
        if self._orphans and vid in self._orphans:
            self._adopt(order, vid, ts_ns)
        state = order.status
        if state is _PENDING_EDIT:
            state = self.state(order)
        if state in _ACKABLE:
            self._set(order, _PARTIALLY_FILLED if order.filled else _OPEN, ts_ns)
        # Otherwise a repeated ack, one after a fill that overtook it, or one after
        # the order closed: the venue id is kept for late fills.
        if self._waiting:
            self._next_request(order, ts_ns)

    def on_reject(self, client_id: str, code: str, reason: str, ts_ns: int) -> None:
        """The venue refused a place (or, found by reconciliation, refused it after all)."""
        order, current = self._named(client_id, "reject")
        if order is None:
            return
        if not current and self.state(order) is not _REPLACE_NEW:
            self._stale("reject", client_id, order)
            return
        if not order.is_open:
            return
        order.code, order.reason = code, reason
        state = self.state(order)
        if order.filled >= order.size and order.filled:
            new: OrderStatus = _FILLED
        elif (state is _PENDING_NEW or state is _UNKNOWN) and order.attempt == 1:
            # Part of it may have traded before the refusal: what is left is gone,
            # the fills stand.
            new = _CANCELED if order.filled else _REJECTED
        else:
            # It existed (an earlier attempt, or an ack): it did not fail as sent.
            new = _CANCELED
        self._set(order, new, ts_ns, code, reason)

    def on_found_closed(
        self, client_id: str, venue_order_id: str, status: OrderStatus, ts_ns: int
    ) -> None:
        """An attempt given up as absent turned up at the venue after all, and is closed
        there now (as found, or once its cancel went through): the order closes as the
        venue closed it, with its venue id. No request is sent about it."""
        order = self.order_of(client_id)
        if order is None or order.venue_client_id != client_id:
            return  # an earlier attempt's: the order itself moved on
        if order.status is not _REJECTED or order.code != NOT_AT_VENUE:
            return
        if order.venue_order_id is None:
            order.venue_order_id = venue_order_id
            self.venue_order(order).venue_order_id = venue_order_id
            self._by_venue_id.setdefault(venue_order_id, order)
        if order.filled >= order.size or status is _FILLED:
            # Its fills are still on their way when FILLED comes first: they settle the
            # amounts; the state is the venue's.
            self._set(order, _FILLED, ts_ns)
        else:
            self._set(
                order, _CANCELED, ts_ns, order.code, "found at the venue after all, and closed"
            )

    def on_ambiguous(self, client_id: str, reason: str, ts_ns: int) -> None:
        """The venue's answer did not say whether the order exists: UNKNOWN until settled."""
        order, current = self._named(client_id, "ambiguous outcome")
        if order is None:
            return
        if not current and self.state(order) is not _REPLACE_NEW:
            self._stale("ambiguous outcome", client_id, order)
            return
        state = self.state(order)
        if state is _PENDING_NEW or state is _REPLACE_NEW:
            order.reason = reason
            self._set(order, _UNKNOWN, ts_ns)

    def on_canceled(self, client_id: str, ts_ns: int, reason: str | None = None) -> None:
        """The venue confirmed the cancel of the attempt named (or cancelled it itself)."""
        order, current = self._named(client_id, "cancel confirmation")
        if order is None:
            return
        if not current:
            self._stale("cancel confirmation", client_id, order)
            return
        if not order.is_open:
            self.stale_callbacks += 1  # a repeated confirmation
            return
        if self.state(order) is _REPLACE_CANCEL:
            self._place_next_attempt(order, ts_ns)
            return
        if reason:
            order.reason = reason
        self._set(order, _FILLED if order.filled >= order.size else _CANCELED, ts_ns)

    def on_cancel_rejected(self, client_id: str, code: str, reason: str, ts_ns: int) -> None:
        order, current = self._named(client_id, "cancel refusal")
        if order is None or not current:
            return
        state = self.state(order)
        if state is _PENDING_CANCEL or state is _REPLACE_CANCEL:
            # A refused replace leaves the order as it was: the edit did not apply.
            self._set(order, _PARTIALLY_FILLED if order.filled else _OPEN, ts_ns, code, reason)
            if self._waiting:
                self._next_request(order, ts_ns)

    def on_edited(
        self,
        client_id: str,
        price: Decimal,
        size: Decimal,
        ts_ns: int,
        venue_order_id: str | None = None,
    ) -> None:
        """The venue confirmed an edit. A venue whose edit replaces the order (Alpha5's
        "cancel the remaining size and place a new one") names the new order in
        ``venue_order_id``: later requests and fills follow it, and late fills of the
        old one still map here."""
        order, current = self._named(client_id, "edit confirmation")
        if order is None or not current:
            return
        if order.status is not _PENDING_EDIT or self.state(order) is not _PENDING_EDIT:
            self.stale_callbacks += 1
            return
        order.price, order.size = price, size
        self._relock(order)
        if venue_order_id:
            self._follow(order, venue_order_id)
        filled = order.filled
        self._set(
            order,
            _FILLED if filled >= size else (_PARTIALLY_FILLED if filled else _OPEN),
            ts_ns,
        )
        if self._waiting:
            self._next_request(order, ts_ns)

    def on_renamed(self, client_id: str, venue_order_id: str) -> None:
        """The venue now knows the order's current attempt by another id (an edit that
        replaced it, found after its reply was lost)."""
        order, current = self._named(client_id, "new venue id")
        if order is not None and current and order.is_open:
            self._follow(order, venue_order_id)

    def _relock(self, order: Order) -> None:
        """An edited (or replaced) limit order locks at its new price and size."""
        key = order.client_id
        if key in self.locks and order.price is not None:
            inst = self.instruments[order.symbol]
            if order.symbol in self.margin.instruments:
                asset = inst.value_asset
                rate = margin_per_unit(
                    inst,
                    order.side,
                    order.price,
                    order.remaining,
                    self.position_size(order.strategy, order.symbol),
                    self.margin.leverage[order.symbol],
                    order.reduce_only,
                )
            else:
                asset, rate = lock_rate(inst, order.side is _BUY, order.price)
            self.locks.lock(key, asset, rate, order.remaining, force=True)

    def _follow(self, order: Order, venue_order_id: str) -> None:
        if venue_order_id != order.venue_order_id:
            order.venue_order_id = venue_order_id
            self.venue_order(order).venue_order_id = venue_order_id
            self._by_venue_id[venue_order_id] = order

    def on_edit_rejected(self, client_id: str, code: str, reason: str, ts_ns: int) -> None:
        order, current = self._named(client_id, "edit refusal")
        if order is None or not current or self.state(order) is not _PENDING_EDIT:
            return
        filled = order.filled
        self._set(
            order,
            _FILLED if filled >= order.size else (_PARTIALLY_FILLED if filled else _OPEN),
            ts_ns,
            code,
            reason,
        )
        if self._waiting:
            self._next_request(order, ts_ns)

    def on_expired(self, client_id: str, ts_ns: int, reason: str | None = None) -> None:
        order, current = self._named(client_id, "expiry")
        if order is None:
            return
        if not current:
            self._stale("expiry", client_id, order)
            return
        if not order.is_open:
            return
        if reason:
            order.reason = reason
        self._set(order, S.EXPIRED, ts_ns)

    def on_filled(self, client_id: str, ts_ns: int) -> None:
        """The venue reports the attempt named filled in full; its fills are on their way.

        Nothing more is sent about the order (a cancel would be refused): a cancel
        is taken as done, an edit is answered ``order_not_open``. Its status, filled
        totals, position and balances follow from the fills alone, as they arrive.
        """
        order, current = self._named(client_id, "filled report")
        if order is None or not current or not order.is_open:
            return
        self._done.add(order.client_id)
        waiting = self._waiting.pop(order.client_id, None)
        if waiting is not None and waiting is not _CANCEL:
            self.updates.order(order, ts_ns, ORDER_NOT_OPEN, _FILLED_THERE)

    def on_repriced(self, client_id: str, price: Decimal, ts_ns: int, reason: str) -> None:
        """The gateway moved the price of a place about to leave (a post-only slide)."""
        order, current = self._named(client_id, "reprice")
        if order is None or not current or not order.is_open:
            return
        leg = self.venue_order(order)
        leg.price = price
        order.price = price
        self.updates.order(order, ts_ns, POST_ONLY_SLID, reason)

    def on_fill(self, fill: Fill) -> bool:
        """Apply one execution; a trade id seen before is counted once only. True when new."""
        tid = fill.trade_id
        if tid in self._seen_trades:
            self.duplicate_fills += 1
            return False
        self._seen_trades.add(tid)
        order = self.orders.get(fill.client_id)
        if order is None:
            order = self.order_of_fill(fill)
        if order is None:
            strategy = fill.strategy
            self.orphan_fills += 1
            log.warning("fill %s for an order this bot does not know (yet)", tid)
            if fill.venue_order_id is not None:
                self._orphans.setdefault(fill.venue_order_id, []).append(fill)
        else:
            strategy = order.strategy
        self.fills.append(fill)
        self._apply_to_account(strategy, fill)
        if order is not None:
            locks = self.locks.orders
            # A fill that completes the order needs no partial release: closing releases all.
            if locks and order.client_id in locks and order.filled + fill.size < order.size:
                spent = fill.size if fill.side is not _BUY else fill.price * fill.size + fill.fee
                self.locks.use(order.client_id, fill.size, spent)
            self._count_fill(order, fill)
        self.updates.fill(strategy, fill)
        return True

    def on_funding(
        self, strategy: str, symbol: str, amount: Decimal, asset: str, ts_ns: int
    ) -> None:
        """A funding payment to (``amount`` > 0) or from the account, for one strategy's
        position."""
        self.balances[asset] = self.balances.get(asset, ZERO) + amount
        key = (strategy, symbol)
        self.funding[key] = self.funding.get(key, ZERO) - amount

    def on_liquidation(self, fills: list[Fill], asset: str, absorbed: Decimal, ts_ns: int) -> None:
        """The venue closed positions by liquidation: ``fills`` (no order of ours), and what
        of the loss it did not charge (``absorbed``: the wallet stops at zero)."""
        self.liquidations += 1
        log.warning(
            "liquidated: %s",
            ", ".join(
                f"{f.strategy} {f.side.value} {f.size} {f.symbol} at {f.price}" for f in fills
            ),
        )
        for fill in fills:
            if fill.trade_id in self._seen_trades:
                self.duplicate_fills += 1
                continue
            self._seen_trades.add(fill.trade_id)
            self.fills.append(fill)
            self._apply_to_account(fill.strategy, fill)
            self.updates.fill(fill.strategy, fill)
        if absorbed:
            self.balances[asset] = self.balances.get(asset, ZERO) + absorbed

    def _count_fill(self, order: Order, fill: Fill) -> None:
        """The order's filled totals and state after one of its fills."""
        filled = order.filled + fill.size
        if order.avg_price is None or not order.filled:
            order.avg_price = fill.price
        else:
            order.avg_price = (order.avg_price * order.filled + fill.price * fill.size) / filled
        order.filled = filled
        order.fees += fill.fee
        if order.status is _REJECTED:
            # Given up as absent after an ambiguous place, yet it landed and traded:
            # the fill counts (position, balances); filled up, it is FILLED as at the
            # venue. A part fill leaves the rest to reconciliation (found_closed).
            self.zombie_fills += 1
            log.warning("fill %s for %s, given up as absent", fill.trade_id, order.client_id)
            if filled >= order.size and order.code == NOT_AT_VENUE:
                self._set(order, _FILLED, fill.ts_ns)
            return
        attempt_done = order.attempt == 1 or self._attempt_done(order, fill)
        if filled >= order.size:
            if order.status is _PENDING_EDIT and self.state(order) is _PENDING_EDIT:
                pass  # the edit on its way may leave more to fill: its answer settles it
            elif attempt_done or not order.is_open:
                self._set(order, _FILLED, fill.ts_ns)
            else:
                self._stop_attempt(order, fill.ts_ns)
        elif order.status in _FILL_MOVES:
            self._set(order, _PARTIALLY_FILLED, fill.ts_ns)

    def _attempt_done(self, order: Order, fill: Fill) -> bool:
        """Count a fill on the current attempt's record; True once that attempt is filled.

        Late fills of an earlier attempt count for the order but not for the
        current attempt, which was sized from what was filled when it was placed.
        """
        leg = self._attempts.get(order.venue_client_id)
        if leg is None:
            return True
        vid = fill.venue_order_id
        if fill.client_id == leg.venue_client_id:
            mine = True
        elif vid is not None:
            mine = vid == leg.venue_order_id or (
                leg.venue_order_id is None and self._by_venue_id.get(vid) is None
            )
        else:
            mine = True  # nothing tells the attempts apart: the current one is likeliest
        if mine:
            leg.filled += fill.size
        return leg.filled >= leg.size

    def _stop_attempt(self, order: Order, ts_ns: int) -> None:
        """Late fills of an earlier attempt made up the size while the current one still
        works at the venue: cancel it, so no order stays live behind a FILLED one."""
        state = self.state(order)
        if state is _OPEN or state is _PARTIALLY_FILLED:
            self._send_cancel(order, ts_ns)
        elif state is _REPLACE_CANCEL:
            self._set(order, _PENDING_CANCEL, ts_ns)
        elif state is not _PENDING_CANCEL:
            self._waiting[order.client_id] = _CANCEL

    def _place_next_attempt(self, order: Order, ts_ns: int) -> None:
        """The current attempt's own cancel is confirmed: place the next with the new terms."""
        step = self._replacing[order.client_id]
        left = step.size - order.filled
        if left <= 0:
            # Fills while the cancel was on its way reach the edited size: nothing to place.
            order.size = step.size
            self._set(order, _FILLED, ts_ns)
            return
        order.price, order.size = step.price, step.size
        self._relock(order)
        order.attempt += 1
        order.venue_order_id = None
        leg = self._new_attempt(order, left, ts_ns)
        if self._step(order, _REPLACE_NEW, ts_ns):
            assert self.venue is not None
            self.venue.submit(leg, ts_ns)

    def _new_attempt(self, order: Order, size: Decimal, ts_ns: int) -> Order:
        """The record of the order's current attempt (>= 2), as the venue port gets it."""
        leg = Order(
            order.client_id,
            order.symbol,
            order.side,
            order.type,
            size,
            order.price,
            order.tif,
            order.post_only,
            order.reduce_only,
            order.stop_price,
            order.strategy,
            _PENDING_NEW,
            created_ns=ts_ns,
            updated_ns=ts_ns,
            attempt=order.attempt,
        )
        self._attempts[leg.venue_client_id] = leg
        return leg

    def _adopt(self, order: Order, vid: str, ts_ns: int) -> None:
        """Fills that arrived before this ack named their order: move them to it, once."""
        moved = self._orphans.pop(vid)
        keys = {(f.strategy, f.symbol) for f in moved} | {(order.strategy, f.symbol) for f in moved}
        for fill in moved:
            owned = fill._replace(client_id=order.client_id, strategy=order.strategy)
            for i in range(len(self.fills) - 1, -1, -1):
                if self.fills[i] is fill:
                    self.fills[i] = owned
                    break
            self.adopted_fills += 1
            self._count_fill(order, owned)
            self.updates.fill(order.strategy, owned)
        for strategy, symbol in keys:
            self._rebuild_position(strategy, symbol)

    def _rebuild_position(self, strategy: str, symbol: str) -> None:
        pos = Position(symbol)
        for f in self.fills:
            if f.symbol != symbol:
                continue
            owner = self.order_of_fill(f)
            if (owner.strategy if owner is not None else f.strategy) == strategy:
                inst = self.instruments.get(symbol)
                pos = (
                    pos.apply(f.side, f.price, f.size)
                    if inst is None
                    else apply_fill(inst, pos, f.side, f.price, f.size)
                )
        self._positions[(strategy, symbol)] = pos

    def _apply_to_account(self, strategy: str, fill: Fill) -> None:
        key = (strategy, fill.symbol)
        pos = self._positions.get(key)
        if pos is None:
            pos = Position(fill.symbol)
        inst = self.instruments.get(fill.symbol)
        bal = self.balances
        if inst is not None and fill.symbol in self.margin.instruments:
            self._positions[key] = apply_fill(inst, pos, fill.side, fill.price, fill.size)
            asset = inst.value_asset
            realised = self.margin.fill(inst, fill.side, fill.price, fill.size)
            bal[asset] = bal.get(asset, ZERO) + realised
        else:
            self._positions[key] = pos.apply(fill.side, fill.price, fill.size)
        if inst is not None and fill.symbol not in self.margin.instruments:
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
    ) -> bool:
        """Move the order to a status, if the table allows it from the order's state."""
        old: State = order.status
        if old is _PENDING_EDIT and self._replacing:
            old = self.state(order)
        if status is not old and status not in TRANSITIONS[old]:
            return self._illegal(order, old, status)
        if old is not order.status:  # leaving a replace's step
            del self._replacing[order.client_id]
        order.status = status
        order.updated_ns = ts_ns
        if status in _CLOSED:
            if self.locks.orders:
                self.locks.release(order.client_id)
            book = self._open.get((order.strategy, order.symbol))
            if book is not None and book.pop(order.client_id, None) is not None:
                self.open_count -= 1
            if self._done:
                self._done.discard(order.client_id)
            self.updates.order(order, ts_ns, code, reason)
            if self._waiting:
                self._drop_waiting(order, ts_ns)
            if self._archive is not None:
                self._closed.append(order)
                if len(self._closed) > self._keep_closed:
                    self._retire_closed()
            return True
        self.updates.order(order, ts_ns, code, reason)
        return True

    def _step(
        self, order: Order, phase: Phase, ts_ns: int, replace: _Replace | None = None
    ) -> bool:
        """Move the order to a step of a cancel-and-replace (strategies see PENDING_EDIT)."""
        old = self.state(order)
        if phase not in TRANSITIONS[old]:
            return self._illegal(order, old, phase)
        if replace is not None:
            self._replacing[order.client_id] = replace
        self._replacing[order.client_id].phase = phase
        order.status = _PENDING_EDIT
        order.updated_ns = ts_ns
        self.updates.order(order, ts_ns)
        return True

    def _illegal(self, order: Order, old: State, new: State) -> bool:
        self.illegal_transitions += 1
        self.anomalies += 1
        log.warning("order %s: ignored transition %s -> %s", order.client_id, old.value, new.value)
        return False

    def all_orders(self) -> Iterable[Order]:
        """Every order: the archived ones (``archive_closed``) first, then those in memory."""
        if self._archive is None:
            return self.orders.values()
        return chain(self._archive, self.orders.values())


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
