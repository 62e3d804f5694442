"""The exchange behind every simulated venue protocol.

It keeps the account's orders (as ``botkit.model.Order`` records), matches them
with the same ``MatchingEngine`` fill model the backtest uses against a seeded
background market (``MarketFlow``), validates requests the way a venue does
(tick, lot, order value, post-only, reduce-only, funds), and keeps the venue's
own record of the account's trades: the ground truth tests compare against.

Protocol modules (``botkit.simulator.<venue>``) translate HTTP and websocket
messages to these calls and these outcomes to the venue's own payloads and
error codes. Account events reach them through subscriber queues.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botkit.book import OrderBook
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
from botkit.simulator.flow import MarketFlow
from botkit.venues.sim import MatchingEngine

S = OrderStatus


class SimReject(Exception):
    """A definite refusal, with a venue-neutral code the protocol maps to its own."""

    def __init__(self, code: str, message: str, http_status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


@dataclass
class Faults:
    """Fault injection for tests; every knob defaults to "off".

    ``fail_next``/``stall_next`` hit the next N private REST calls; the rates
    hit calls at random (seeded). A failed call answers 5xx either before or
    after the exchange acted on it (``fail_after_probability``): the second is
    the ambiguous case a client must reconcile. ``drop_ws_every_s`` closes
    websockets periodically; ``duplicate_rate``/``reorder_rate`` mangle
    user-trade messages.
    """

    fail_next: int = 0
    stall_next: int = 0
    fail_rate: float = 0.0
    stall_rate: float = 0.0
    stall_s: float = 2.0
    fail_after_probability: float = 0.5
    drop_ws_every_s: float | None = None
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    seed: int = 7
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def update(self, **changes: Any) -> None:
        for k, v in changes.items():
            if k not in self.__dataclass_fields__ or k == "rng":
                raise KeyError(f"unknown fault {k!r}")
            current = getattr(self, k)
            # None switches an optional knob (drop_ws_every_s) back off.
            setattr(self, k, v if v is None or current is None else type(current)(v))
        if "seed" in changes:
            self.rng = random.Random(self.seed)

    def next_call(self) -> tuple[str | None, bool]:
        """What happens to the next private call: (None|"fail"|"stall", fail after acting)."""
        if self.fail_next > 0:
            self.fail_next -= 1
            return "fail", self.rng.random() < self.fail_after_probability
        if self.stall_next > 0:
            self.stall_next -= 1
            return "stall", False
        r = self.rng.random()
        if r < self.fail_rate:
            return "fail", self.rng.random() < self.fail_after_probability
        if r < self.fail_rate + self.stall_rate:
            return "stall", False
        return None, False

    def mangle(self, items: list[Any]) -> list[Any]:
        """Duplicate and reorder messages, as a flaky stream would."""
        out: list[Any] = []
        for it in items:
            out.append(it)
            if self.rng.random() < self.duplicate_rate:
                out.append(it)
        if len(out) > 1 and self.rng.random() < self.reorder_rate:
            i = self.rng.randrange(len(out) - 1)
            out[i], out[i + 1] = out[i + 1], out[i]
        return out


Subscriber = Callable[[str, Any], None]  # (kind: "order" | "fill" | "book" | "trade", payload)


class ExchangeBackend:
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
    ) -> None:
        self.name = name
        self.instruments = instruments
        self.derivatives = derivatives
        self.balances: dict[str, Decimal] = dict(balances or {})
        self.positions: dict[str, Decimal] = {s: ZERO for s in instruments}
        self.books = {s: OrderBook(s) for s in instruments}
        self.venue = MatchingEngine(instruments, self.books, self, queue_position=True, name=name)
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
        self.faults = Faults()
        self.subscribers: list[Subscriber] = []
        self._cid = itertools.count(1)
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
                self._publish("trade", t)

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

    def reject(self, what: str, code: str, message: str, http_status: int = 400) -> SimReject:
        """Log a refused request (tests assert this log stays empty) and build the error."""
        self.rejected.append((time.time_ns(), what, code, message))
        return SimReject(code, message, http_status)

    # ----- requests ----------------------------------------------------------------------

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
    ) -> Order:
        inst = self.instruments.get(symbol)
        if inst is None:
            raise self.reject("place", "unknown_instrument", f"unknown market {symbol}", 404)
        if client_id is not None and client_id in self.by_client:
            raise self.reject(
                "place", "duplicate_client_id", f"client order id {client_id} already exists", 409
            )
        if size <= 0 or size % inst.lot_size:
            raise self.reject(
                "place",
                "invalid_size",
                f"size {size} is not a positive multiple of {inst.lot_size}",
            )
        if type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            if price is None or price <= 0 or price % inst.tick_size:
                raise self.reject(
                    "place",
                    "invalid_price",
                    f"price {price} is not a positive multiple of {inst.tick_size}",
                )
        elif price is not None:
            raise self.reject("place", "invalid_price", "a market order takes no price")
        if type.is_stop:
            raise self.reject("place", "unsupported_order_type", "stop orders are not simulated")
        ref = price if price is not None else self._reference(symbol, side)
        if ref is None:
            raise self.reject("place", "no_liquidity", "no price to value a market order")
        value = ref * size
        if inst.min_size is not None and size < inst.min_size:
            raise self.reject("place", "below_min_size", f"size {size} < {inst.min_size}")
        if inst.max_size is not None and size > inst.max_size:
            raise self.reject("place", "above_max_size", f"size {size} > {inst.max_size}")
        if inst.min_notional is not None and value < inst.min_notional:
            raise self.reject(
                "place", "below_min_notional", f"order value {value} < {inst.min_notional}"
            )
        if inst.max_notional is not None and value > inst.max_notional:
            raise self.reject(
                "place", "above_max_notional", f"order value {value} > {inst.max_notional}"
            )
        if post_only and (type is not OrderType.LIMIT or tif is not TimeInForce.GTC):
            raise self.reject("place", "post_only_not_allowed", "post-only needs a GTC limit")
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
                raise self.reject(
                    "place",
                    "reduce_only_would_increase",
                    "a reduce-only order may only shrink the position",
                )
        if not self.derivatives:
            need_asset, need = (inst.quote, value) if side is Side.BUY else (inst.base, size)
            if self.available(need_asset) < need:
                raise self.reject(
                    "place", "insufficient_funds", f"not enough {need_asset}: need {need}"
                )
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
            raise self.reject("cancel", "order_not_open", f"order is {order.status.value}", 400)
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
        if not order.is_open:
            raise self.reject("edit", "order_not_open", f"order is {order.status.value}")
        new_price = price if price is not None else order.price
        new_size = size if size is not None else order.size
        if new_price is None or new_price <= 0 or new_price % inst.tick_size:
            raise self.reject("edit", "invalid_price", f"price {new_price} is off the tick grid")
        if new_size <= order.filled or new_size % inst.lot_size:
            raise self.reject("edit", "invalid_size", f"size {new_size} is not valid")
        before = len(self.rejected)
        self.venue.edit(order, new_price, new_size, time.time_ns())
        if order.code == "post_only_would_cross" and len(self.rejected) == before:
            order.code = None
            raise self.reject("edit", "post_only_would_cross", "the new price would cross")
        return order

    def cancel_all(self, symbol: str | None = None) -> list[Order]:
        targets = [
            o
            for o in self.by_client.values()
            if o.is_open and (symbol is None or o.symbol == symbol)
        ]
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
        order.venue_order_id = venue_order_id
        self.orders[venue_order_id] = order
        self.venue_ids[client_id] = venue_order_id
        order.status = S.OPEN
        self._changed(order, ts_ns)

    def on_reject(self, client_id: str, code: str, reason: str, ts_ns: int) -> None:
        order = self.by_client[client_id]
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
        inst = self.instruments[fill.symbol]
        signed = fill.size if fill.side is Side.BUY else -fill.size
        self.positions[fill.symbol] = self.positions.get(fill.symbol, ZERO) + signed
        bal = self.balances
        if not self.derivatives:
            bal[inst.base] = bal.get(inst.base, ZERO) + signed
            bal[inst.quote] = bal.get(inst.quote, ZERO) - signed * fill.price
        bal[fill.fee_asset] = bal.get(fill.fee_asset, ZERO) - fill.fee
        self.trades.append(fill)
        self._publish("fill", fill)
        self._changed(order, fill.ts_ns)

    def _changed(self, order: Order, ts_ns: int) -> None:
        order.updated_ns = ts_ns
        self._publish("order", order)
