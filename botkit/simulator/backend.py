"""The exchange behind every simulated venue protocol.

It keeps the account's orders (as ``botkit.model.Order`` records), matches them
with the same ``MatchingEngine`` fill model the backtest uses against a seeded
background market (``MarketFlow``), validates requests the way a venue does
(tick, lot, order value, post-only, reduce-only, funds), and keeps the venue's
own record of the account's trades: the ground truth tests compare against.
It also keeps what every venue has whatever its protocol: the public tape of
prints, and the last nonce accepted per API key.

Protocol servers (``botkit.simulator.<venue>``, built on ``botkit.simulator.kit``)
translate HTTP and websocket messages to these calls and these outcomes to the
venue's own payloads and error codes. Events reach them through ``subscribers``:
``("order", Order)``, ``("fill", Fill)``, ``("book", BookSnapshot)`` and
``("print", PublicTrade)``.

Contracts: a symbol in ``inverse`` is sized in its quote currency (a contract
of 1 USD, say) and settled in its base: its order value is the size itself and
its fee, ``size / price x rate``, is charged in the base currency. Every other
derivative is linear (size in the base, value ``price x size`` in the quote).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter, deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botkit.book import OrderBook
from botkit.events import Trade
from botkit.model import (
    ZERO,
    Fill,
    Instrument,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from botkit.simulator.faults import Faults
from botkit.simulator.flow import MarketFlow
from botkit.venues.sim import MatchingEngine

__all__ = ["ExchangeBackend", "Faults", "PublicTrade", "SimReject"]

S = OrderStatus
TAPE_LENGTH = 5000


class SimReject(Exception):
    """A definite refusal, with a venue-neutral code the protocol maps to its own."""

    def __init__(
        self, code: str, message: str, http_status: int = 400, symbol: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.symbol = symbol  # the market it was about, when there is one


@dataclass(frozen=True, slots=True)
class PublicTrade:
    """One print on the exchange's public tape: the background market's or the account's.

    ``id`` counts from 1 in the order printed; price and size are on the
    instrument's grid; ``side`` is the aggressor's; ``own`` marks the account's
    own taker fills.
    """

    id: int
    ts_ns: int
    symbol: str
    price: Decimal
    size: Decimal
    side: Side | None
    own: bool = False


Subscriber = Callable[[str, Any], None]  # (kind: "order" | "fill" | "book" | "trade", payload)


Subscriber = Callable[[str, Any], None]  # (kind, payload): see the module notes


class ExchangeBackend:
    """One simulated exchange account and its market; venue-neutral."""

    def __init__(
        self,
        name: str,
        instruments: dict[str, Instrument],
        balances: dict[str, Decimal] | None = None,
        seed: int = 1,
        step_s: float = 0.1,
        mids: dict[str, float] | None = None,
        derivatives: bool = False,
        flow_options: dict[str, Any] | None = None,
        inverse: Collection[str] = (),
        order_ids: Callable[[], str] | None = None,
    ) -> None:
        self.name = name
        self.instruments = instruments
        self.derivatives = derivatives
        self.inverse = frozenset(inverse)
        self.balances: dict[str, Decimal] = dict(balances or {})
        self.positions: dict[str, Decimal] = {s: ZERO for s in instruments}
        self.books = {s: OrderBook(s) for s in instruments}
        # Each venue's own account rules are kept here, not the sim venue's margin model.
        self.venue = MatchingEngine(
            instruments, self.books, self, queue_position=True, name=name, margin=False
        )
        self.step_s = step_s
        mids = mids or {}
        self.flows = {
            s: MarketFlow(
                s,
                i.tick_size,
                i.lot_size,
                mids.get(s, 30000.0),
                seed=seed + n,
                **(flow_options or {}),
            )
            for n, (s, i) in enumerate(sorted(instruments.items()))
        }
        self.orders: dict[str, Order] = {}  # by venue order id
        self.by_client: dict[str, Order] = {}
        self.venue_ids: dict[str, str] = {}  # client id -> venue id
        self.trades: list[Fill] = []  # the account's executions: the ground truth
        self.rejected: list[tuple[int, str, str, str]] = []  # (ts, what, code, message)
        # Every HTTP request that reached a route, by the route's ``what`` ("place",
        # "balances", ...): the record of what the venue was asked, refused or not.
        self.requests: Counter[str] = Counter()
        self.public_trades: deque[PublicTrade] = deque(maxlen=TAPE_LENGTH)
        self.last_nonce: dict[str, int] = {}  # per API key, the last nonce accepted
        self.faults = Faults()
        self.subscribers: list[Subscriber] = []
        # The venue's own order ids: the matching engine names orders "<name>-<n>";
        # a venue with ids of another shape (UUIDs) supplies them.
        self._order_ids = order_ids
        self._wanted_ids: dict[str, str] = {}  # client id -> venue id asked for at place
        self._renamed: dict[str, str] = {}  # matching engine id -> venue id
        self._cid = itertools.count(1)
        self._print_ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self.steps = 0

    # ----- lifecycle ---------------------------------------------------------------

    def step(self, ts_ns: int | None = None) -> None:
        """Advance the background market one step (the server calls this on a timer)."""
        ts = ts_ns if ts_ns is not None else time.time_ns()
        self.steps += 1
        for sym, flow in self.flows.items():
            snap, trades = flow.step(ts)
            self.books[sym].apply_snapshot(snap)
            if self.venue.resting_count:
                self.venue.on_book(sym)
            self._publish("book", snap)
            for t in trades:
                self.books[sym].last_trade = t
                if self.venue.resting_count:
                    self.venue.on_trade(t, ts)
                self._print_background(t)

    async def run(self) -> None:
        while True:
            self.step()
            await asyncio.sleep(self.step_s)

    def start(self) -> None:
        if self._task is None:
            self.step()
            self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _publish(self, kind: str, payload: Any) -> None:
        for sub in list(self.subscribers):
            sub(kind, payload)

    def _print(
        self, ts: int, symbol: str, price: Decimal, size: Decimal, side: Side | None, own: bool
    ) -> None:
        trade = PublicTrade(next(self._print_ids), ts, symbol, price, size, side, own)
        self.public_trades.append(trade)
        self._publish("print", trade)

    def _print_background(self, t: Trade) -> None:
        inst = self.instruments[t.symbol]
        price = Decimal(repr(t.price)).quantize(inst.tick_size)
        size = Decimal(repr(t.size)).quantize(inst.lot_size)
        self._print(t.ts_ns, t.symbol, price, size, t.side, False)

    def reject(
        self, what: str, code: str, message: str, http_status: int = 400, symbol: str | None = None
    ) -> SimReject:
        """Log a refused request (tests assert this log stays empty) and build the error."""
        self.rejected.append((time.time_ns(), what, code, message))
        return SimReject(code, message, http_status, symbol)

    # ----- requests ----------------------------------------------------------------------

    def value(self, symbol: str, price: Decimal, size: Decimal) -> Decimal:
        """An order's value in the quote currency (an inverse contract's size is its value)."""
        return size if symbol in self.inverse else price * size

    def place(
        self,
        symbol: str,
        side: Side,
        type: OrderType,
        size: Decimal,
        price: Decimal | None = None,
        client_id: str | None = None,
        tif: TimeInForce = TimeInForce.GTC,
        post_only: bool = False,
        reduce_only: bool = False,
        stop_price: Decimal | None = None,
        venue_order_id: str | None = None,
    ) -> Order:
        """Validate and submit an order; ``venue_order_id`` names it (else the venue's ids)."""
        inst = self.instruments.get(symbol)
        if inst is None:
            raise self.reject("place", "unknown_instrument", f"unknown market {symbol}", 404)

        def refuse(code: str, message: str, status: int = 400) -> SimReject:
            return self.reject("place", code, message, status, symbol)

        if client_id is not None and client_id in self.by_client:
            raise refuse("duplicate_client_id", f"client order id {client_id} already exists", 409)
        if size <= 0 or size % inst.lot_size:
            raise refuse(
                "invalid_size", f"size {size} is not a positive multiple of {inst.lot_size}"
            )
        if type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            if price is None or price <= 0 or price % inst.tick_size:
                raise refuse(
                    "invalid_price", f"price {price} is not a positive multiple of {inst.tick_size}"
                )
        elif price is not None:
            raise refuse("unexpected_price", "a market order takes no price")
        if type.is_stop:
            raise refuse("unsupported_order_type", "stop orders are not simulated")
        ref = price if price is not None else self._reference(symbol, side)
        if ref is None:
            raise refuse("no_liquidity", "no price to value a market order")
        value = self.value(symbol, ref, size)
        if inst.min_size is not None and size < inst.min_size:
            raise refuse("below_min_size", f"size {size} < {inst.min_size}")
        if inst.max_size is not None and size > inst.max_size:
            raise refuse("above_max_size", f"size {size} > {inst.max_size}")
        if inst.min_notional is not None and value < inst.min_notional:
            raise refuse("below_min_notional", f"order value {value} < {inst.min_notional}")
        if inst.max_notional is not None and value > inst.max_notional:
            raise refuse("above_max_notional", f"order value {value} > {inst.max_notional}")
        if post_only and (type is not OrderType.LIMIT or tif is not TimeInForce.GTC):
            raise refuse("post_only_not_allowed", "post-only needs a GTC limit")
        if reduce_only:
            pos = self.positions.get(symbol, ZERO)
            reduces = (pos > 0 and side is Side.SELL) or (pos < 0 and side is Side.BUY)
            open_ro = sum(
                (
                    o.remaining
                    for o in self.by_client.values()
                    if o.is_open and o.reduce_only and o.symbol == symbol and o.side is side
                ),
                ZERO,
            )
            if not reduces or size + open_ro > abs(pos):
                raise refuse(
                    "reduce_only_would_increase",
                    "a reduce-only order may only shrink the position",
                )
        if not self.derivatives:
            need_asset, need = (inst.quote, value) if side is Side.BUY else (inst.base, size)
            if self.available(need_asset) < need:
                raise refuse("insufficient_funds", f"not enough {need_asset}: need {need}")
        cid = client_id or f"sim-c{next(self._cid)}"
        order = Order(
            cid,
            symbol,
            side,
            type,
            size,
            price,
            tif,
            post_only,
            reduce_only,
            stop_price,
            created_ns=time.time_ns(),
        )
        self.by_client[cid] = order
        if venue_order_id is not None:
            self._wanted_ids[cid] = venue_order_id
        self.venue.submit(order, time.time_ns())
        return order

    def _reference(self, symbol: str, side: Side) -> Decimal | None:
        book = self.books[symbol]
        px = book.best_ask if side is Side.BUY else book.best_bid
        px = px if px is not None else book.last_price
        return None if px is None else Decimal(repr(px))

    def available(self, asset: str) -> Decimal:
        locked = ZERO
        for o in self.by_client.values():
            if not o.is_open or o.type is not OrderType.LIMIT:
                continue
            inst = self.instruments[o.symbol]
            if o.side is Side.BUY and inst.quote == asset:
                locked += o.remaining * o.price  # type: ignore[operator]
            elif o.side is Side.SELL and inst.base == asset:
                locked += o.remaining
        return self.balances.get(asset, ZERO) - locked

    def find(self, venue_order_id: str | None = None, client_id: str | None = None) -> Order:
        order = None
        if venue_order_id is not None:
            order = self.orders.get(venue_order_id)
        if order is None and client_id is not None:
            order = self.by_client.get(client_id)
        if order is None:
            raise self.reject("find", "order_not_found", "no such order", 404)
        return order

    def cancel(self, venue_order_id: str | None = None, client_id: str | None = None) -> Order:
        order = self.find(venue_order_id, client_id)
        if not order.is_open:
            raise self.reject(
                "cancel", "order_not_open", f"order is {order.status.value}", 400, order.symbol
            )
        self.venue.cancel(order, time.time_ns())
        return order

    def edit(
        self,
        venue_order_id: str | None,
        client_id: str | None,
        price: Decimal | None,
        size: Decimal | None,
    ) -> Order:
        order = self.find(venue_order_id, client_id)
        inst = self.instruments[order.symbol]

        def refuse(code: str, message: str) -> SimReject:
            return self.reject("edit", code, message, 400, order.symbol)

        if not order.is_open:
            raise refuse("order_not_open", f"order is {order.status.value}")
        new_price = price if price is not None else order.price
        new_size = size if size is not None else order.size
        if new_price is None or new_price <= 0 or new_price % inst.tick_size:
            raise refuse("invalid_price", f"price {new_price} is off the tick grid")
        if new_size <= order.filled or new_size % inst.lot_size:
            raise refuse("invalid_size", f"size {new_size} is not valid")
        before = len(self.rejected)
        self.venue.edit(order, new_price, new_size, time.time_ns())
        if order.code == "post_only_would_cross" and len(self.rejected) == before:
            order.code = None
            raise refuse("post_only_would_cross", "the new price would cross")
        return order

    def cancel_all(self, symbol: str | None = None) -> list[Order]:
        targets = self.open_orders(symbol)
        for o in targets:
            self.venue.cancel(o, time.time_ns())
        return targets

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [
            o
            for o in self.by_client.values()
            if o.is_open and (symbol is None or o.symbol == symbol)
        ]

    def user_trades(self, since_ns: int = 0, symbol: str | None = None) -> list[Fill]:
        return [
            f for f in self.trades if f.ts_ns >= since_ns and (symbol is None or f.symbol == symbol)
        ]

    # ----- MatchingEngine listener: outcomes of the matching engine ------------------------------

    def on_ack(self, client_id: str, venue_order_id: str, ts_ns: int) -> None:
        order = self.by_client[client_id]
        vid = self._wanted_ids.pop(client_id, None) or (
            self._order_ids() if self._order_ids is not None else venue_order_id
        )
        if vid != venue_order_id:
            self._renamed[venue_order_id] = vid
        order.venue_order_id = vid
        self.orders[vid] = order
        self.venue_ids[client_id] = vid
        order.status = S.OPEN
        self._changed(order, ts_ns)

    def on_reject(self, client_id: str, code: str, reason: str, ts_ns: int) -> None:
        order = self.by_client[client_id]
        self._wanted_ids.pop(client_id, None)
        order.status, order.code, order.reason = S.REJECTED, code, reason
        self.rejected.append((ts_ns, "place", code, reason))
        self._changed(order, ts_ns)

    def on_canceled(self, client_id: str, ts_ns: int, reason: str | None = None) -> None:
        order = self.by_client[client_id]
        order.status = S.CANCELED
        self._changed(order, ts_ns)

    def on_cancel_rejected(self, client_id: str, code: str, reason: str, ts_ns: int) -> None:
        pass

    def on_edited(self, client_id: str, price: Decimal, size: Decimal, ts_ns: int) -> None:
        order = self.by_client[client_id]
        order.price, order.size = price, size
        self._changed(order, ts_ns)

    def on_edit_rejected(self, client_id: str, code: str, reason: str, ts_ns: int) -> None:
        self.by_client[client_id].code = code

    def on_expired(self, client_id: str, ts_ns: int, reason: str | None = None) -> None:
        order = self.by_client[client_id]
        order.status = S.FILLED if order.filled >= order.size else S.CANCELED
        self._changed(order, ts_ns)

    def on_fill(self, fill: Fill) -> None:
        inst = self.instruments[fill.symbol]
        renamed = self._renamed.get(fill.venue_order_id or "")
        if renamed is not None:
            fill = fill._replace(venue_order_id=renamed)
        if fill.symbol in self.inverse:
            # Sized in the quote currency, settled in the base: the fee is on the
            # base value of the contracts, size / price.
            rate = inst.maker_fee if fill.liquidity.value == "maker" else inst.taker_fee
            fill = fill._replace(fee=fill.size / fill.price * rate, fee_asset=inst.base)
        order = self.by_client[fill.client_id]
        filled = order.filled + fill.size
        order.avg_price = (
            fill.price
            if not order.filled
            else ((order.avg_price or ZERO) * order.filled + fill.price * fill.size) / filled
        )
        order.filled = filled
        order.fees += fill.fee
        if filled >= order.size:
            order.status = S.FILLED
        elif order.status is S.OPEN:
            order.status = S.PARTIALLY_FILLED
        signed = fill.size if fill.side is Side.BUY else -fill.size
        self.positions[fill.symbol] = self.positions.get(fill.symbol, ZERO) + signed
        bal = self.balances
        if not self.derivatives:
            bal[inst.base] = bal.get(inst.base, ZERO) + signed
            bal[inst.quote] = bal.get(inst.quote, ZERO) - signed * fill.price
        bal[fill.fee_asset] = bal.get(fill.fee_asset, ZERO) - fill.fee
        self.trades.append(fill)
        if fill.liquidity.value == "taker":
            self._print(fill.ts_ns, fill.symbol, fill.price, fill.size, fill.side, True)
        self._publish("fill", fill)
        self._changed(order, fill.ts_ns)

    def _changed(self, order: Order, ts_ns: int) -> None:
        order.updated_ns = ts_ns
        self._publish("order", order)
