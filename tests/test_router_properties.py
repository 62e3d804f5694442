"""Properties of the execution router under any sequence of strategy and venue events.

A strategy places, edits, cancels and cancels-all; a venue model of this test's
own (it shares no code with the router) acts on the requests when the test says,
answers them, loses answers (the router then hears an ambiguous outcome and a
later lookup), trades the resting orders, and delivers its messages late, out of
order and more than once. After every step:

- no transition the table refuses was tried;
- no order has two requests in flight, no cancel or edit names an attempt the
  venue never had, no attempt is cancelled again once a cancel closed it;
- the open-order count is right, and every order with a cancel or edit in flight
  has a venue order id.

At quiescence (every request acted on, every message delivered) the router's
open orders are the venue's open orders, attempt by attempt, and the filled
totals and the position equal the venue's fills, each counted once.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from botkit import Instrument, OrderType, Place, Side, TimeInForce
from botkit.execution import ExecutionRouter, Phase
from botkit.intents import Edit
from botkit.model import ZERO, Fill, Liquidity, Order, OrderStatus

D = Decimal
SYM = "BTC/USDT"
LOT = D("0.001")
S = OrderStatus
# States whose request names an acknowledged attempt (a cancel or an edit in flight).
NEEDS_VENUE_ID = {S.PENDING_CANCEL, S.PENDING_EDIT, Phase.REPLACE_CANCEL}

router_settings = settings(max_examples=300, deadline=None)


# ----- the venue model ----------------------------------------------------------------------


@dataclass
class VenueOrder:
    client_id: str  # as the venue received it: the attempt's own id
    owner: str  # the strategy's client id it was sent for
    venue_id: str
    side: Side
    price: Decimal
    size: Decimal
    filled: Decimal = ZERO
    state: str = "open"  # open | filled | canceled


@dataclass
class Request:
    kind: str  # place | cancel | edit
    client_id: str
    owner: str
    side: Side
    price: Decimal
    size: Decimal


@dataclass
class Message:
    kind: str
    client_id: str
    owner: str
    resolves: bool  # delivering it answers the owner's request in flight
    args: tuple[Any, ...] = ()
    delivered: bool = False


@dataclass
class VenueModel:
    """A venue with orders keyed by the client id each placement carried."""

    supports_edit: bool
    orders: dict[str, VenueOrder] = field(default_factory=dict)
    inbox: list[Request] = field(default_factory=list)
    outbox: list[Message] = field(default_factory=list)
    fills: list[tuple[str, str, Side, Decimal]] = field(default_factory=list)  # id, owner, ...
    in_flight: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: itertools.count(1))

    # What the router sends (the venue port).

    def _sent(self, owner: str, what: str) -> None:
        if self.in_flight[owner]:
            self.violations.append(f"{what} for {owner} while a request is in flight")
        self.in_flight[owner] += 1

    def submit(self, order: Order, now_ns: int) -> None:
        self._sent(order.client_id, "place")
        cid = order.venue_client_id
        if cid in self.orders or any(r.client_id == cid for r in self.inbox):
            self.violations.append(f"client id {cid} sent twice")
        self.inbox.append(
            Request(
                "place", cid, order.client_id, order.side, order.price, order.size - order.filled
            )
        )

    def cancel(self, order: Order, now_ns: int) -> None:
        self._sent(order.client_id, "cancel")
        cid = order.venue_client_id
        target = self.orders.get(cid)
        if target is None:
            self.violations.append(f"cancel of {cid}, which the venue never had")
        elif target.state == "canceled":
            # Only the router's own cancels close an order here, and it hears of each.
            self.violations.append(f"cancel of {cid}, which a cancel already closed")
        self.inbox.append(Request("cancel", cid, order.client_id, order.side, D(0), D(0)))

    def edit(self, order: Order, price: Decimal, size: Decimal, now_ns: int) -> None:
        self._sent(order.client_id, "edit")
        cid = order.venue_client_id
        if cid not in self.orders:
            self.violations.append(f"edit of {cid}, which the venue never had")
        self.inbox.append(Request("edit", cid, order.client_id, order.side, price, size))

    # What the venue does, when the test says.

    def _say(self, kind: str, req: Request, resolves: bool, *args: Any) -> None:
        self.outbox.append(Message(kind, req.client_id, req.owner, resolves, args))

    def act(self, index: int, mode: str) -> None:
        """Act on a request: ok, refuse, or lose the answer (before or after acting)."""
        req = self.inbox.pop(index % len(self.inbox))
        target = self.orders.get(req.client_id)
        acts = mode != "lost_before"
        answered = mode in ("ok", "refuse")
        if req.kind == "place":
            if mode == "refuse":
                self._say("reject", req, True)
                return
            if acts:
                vid = f"V{next(self.ids)}"
                self.orders[req.client_id] = VenueOrder(
                    req.client_id, req.owner, vid, req.side, req.price, req.size
                )
            if answered:
                self._say("ack", req, True, self.orders[req.client_id].venue_id)
            else:
                self._say("ambiguous", req, False)
        elif req.kind == "cancel":
            assert target is not None
            if acts and mode != "refuse" and target.state == "open":
                target.state = "canceled"
            if not answered:
                self._say("cancel_lookup", req, True)
            elif target.state == "canceled":
                self._say("canceled", req, True)
            else:
                self._say("cancel_refused", req, True)
        else:
            assert target is not None
            fits = target.state == "open" and req.size > target.filled
            if acts and mode != "refuse" and fits:
                target.price, target.size = req.price, req.size
            if not answered:
                self._say("edit_lookup", req, True, req.price, req.size)
            elif mode == "ok" and fits:
                self._say("edited", req, True, req.price, req.size)
            else:
                self._say("edit_refused", req, True)

    def trade(self, index: int, share: Decimal, by_venue_id_only: bool) -> None:
        """Fill part or all of a resting order; the fill reaches the router later."""
        resting = sorted((o for o in self.orders.values() if o.state == "open"), key=_key)
        if not resting:
            return
        o = resting[index % len(resting)]
        left = o.size - o.filled
        size = min(left, max(LOT, (left * share).quantize(LOT)))
        o.filled += size
        if o.filled >= o.size:
            o.state = "filled"
        tid = f"T{next(self.ids)}"
        self.fills.append((tid, o.owner, o.side, size))
        fill = Fill(
            tid,
            "" if by_venue_id_only else o.client_id,
            SYM,
            o.side,
            o.price,
            size,
            D(0),
            "USDT",
            Liquidity.MAKER,
            0,
            o.venue_id,
            "",
        )
        self.outbox.append(Message("fill", o.client_id, o.owner, False, (fill,)))

    def deliver(self, index: int, again: bool, router: ExecutionRouter, ts: int) -> None:
        """Hand one message to the router; ``again`` keeps a copy to be delivered once more."""
        msg = self.outbox[index % len(self.outbox)]
        if not (again and msg.kind in REPEATABLE):
            self.outbox.remove(msg)
        first = not msg.delivered
        msg.delivered = True
        if msg.resolves and first:
            self.in_flight[msg.owner] -= 1
        cid = msg.client_id
        truth = self.orders.get(cid)
        if msg.kind == "ack":
            router.on_ack(cid, msg.args[0], ts)
        elif msg.kind == "reject":
            router.on_reject(cid, "refused", "the venue refused the order", ts)
        elif msg.kind == "ambiguous":
            router.on_ambiguous(cid, "HTTP 503", ts)
            if first:  # the gateway looks the order up once the outcome was ambiguous
                self.outbox.append(Message("place_lookup", cid, msg.owner, True))
        elif msg.kind == "place_lookup":
            if truth is None:
                router.on_reject(cid, "not_at_venue", "the venue has no such order", ts)
            else:
                router.on_ack(cid, truth.venue_id, ts)
        elif msg.kind == "canceled":
            router.on_canceled(cid, ts)
        elif msg.kind == "cancel_refused":
            router.on_cancel_rejected(cid, "not_open", "the order is not open", ts)
        elif msg.kind == "cancel_lookup":
            assert truth is not None
            if truth.state == "canceled":
                router.on_canceled(cid, ts)
            elif truth.state == "open":
                router.on_cancel_rejected(cid, "cancel_failed", "the cancel did not land", ts)
            # filled: the fills on their way settle it
        elif msg.kind == "edited":
            router.on_edited(cid, msg.args[0], msg.args[1], ts)
        elif msg.kind == "edit_refused":
            router.on_edit_rejected(cid, "refused", "the venue refused the edit", ts)
        elif msg.kind == "edit_lookup":
            assert truth is not None
            if (truth.price, truth.size) == msg.args:  # it landed (and may have filled since)
                router.on_edited(cid, truth.price, truth.size, ts)
            else:
                router.on_edit_rejected(cid, "edit_failed", "the edit did not land", ts)
        else:
            router.on_fill(msg.args[0])


# What a venue may say twice: fills (a replayed stream), acks and cancel confirmations
# (an order update seen on two channels). Refusals and edit answers are the reply to
# one request, which the gateway hands over once.
REPEATABLE = frozenset({"fill", "ack", "canceled"})


def _key(o: VenueOrder) -> str:
    return o.client_id


# ----- the run --------------------------------------------------------------------------------

PRICES = [D("98"), D("99"), D("100"), D("101"), D("102")]
SIZES = [D("0.002"), D("0.003"), D("0.004"), D("0.005"), D("0.006")]
MODES = ["ok", "ok", "ok", "ok", "refuse", "lost_before", "lost_after"]

strategy_steps = st.one_of(
    st.tuples(st.just("place"), st.integers(0, 2), st.integers(0, 4), st.integers(0, 4)),
    st.tuples(st.just("edit"), st.integers(0, 2), st.integers(0, 4), st.integers(0, 4)),
    st.tuples(st.just("edit"), st.integers(0, 2), st.integers(0, 4), st.integers(0, 4)),
    st.tuples(st.just("cancel"), st.integers(0, 2)),
    st.tuples(st.just("cancel_all")),
)
venue_steps = st.one_of(
    st.tuples(st.just("act"), st.integers(0, 7), st.sampled_from(MODES)),
    st.tuples(
        st.just("trade"), st.integers(0, 7), st.sampled_from(["0.3", "0.5", "1"]), st.booleans()
    ),
    st.tuples(st.just("deliver"), st.integers(0, 7), st.booleans()),
)
# The venue moves twice as often as the strategy: each request needs an act and a delivery.
actions = st.one_of(strategy_steps, venue_steps, venue_steps)


def run(steps: list[tuple[Any, ...]], native_edit: bool) -> list[str]:
    """Play the steps, check as it goes, settle, check the end; name what happened."""
    btc = Instrument("sim", SYM, "BTC", "USDT", tick_size="0.01", lot_size=str(LOT))
    router = ExecutionRouter({SYM: btc})
    venue = VenueModel(supports_edit=native_edit)
    router.attach(venue)
    clock = itertools.count(1)

    def check(where: str) -> None:
        assert not venue.violations, f"{where}: {venue.violations}"
        assert router.illegal_transitions == 0, where
        live = [o for o in router.orders.values() if o.is_open]
        assert router.open_count == len(live), where
        for o in live:
            if router.state(o) in NEEDS_VENUE_ID:
                assert o.venue_order_id is not None, f"{where}: {o.client_id} {o.status}"

    for i, step in enumerate(steps):
        ts = next(clock)
        kind = step[0]
        if kind == "place":
            _, k, p, s = step
            cid = f"o{k}"
            if cid not in router.orders:
                side = Side.BUY if k % 2 else Side.SELL
                intent = Place(SYM, side, SIZES[s], PRICES[p], OrderType.LIMIT, TimeInForce.GTC,
                               client_id=cid)  # fmt: skip
                router.place("s", intent, ts)
        elif kind == "edit":
            _, k, p, s = step
            order = router.orders.get(f"o{k}")
            # The risk module refuses an edit to a size at or below what has filled.
            if order is not None and order.is_open and SIZES[s] > order.filled:
                router.edit("s", Edit(order.client_id, PRICES[p], SIZES[s]), ts)
        elif kind == "cancel":
            router.cancel("s", f"o{step[1]}", ts)
        elif kind == "cancel_all":
            router.cancel_all("s", None, ts)
        elif kind == "act" and venue.inbox:
            venue.act(step[1], step[2])
        elif kind == "trade":
            venue.trade(step[1], D(step[2]), step[3])
        elif kind == "deliver" and venue.outbox:
            venue.deliver(step[1], step[2], router, ts)
        check(f"step {i} {step}")

    # Quiescence: the venue acts on everything, every message arrives (duplicates too).
    for _ in range(10_000):
        if venue.inbox:
            venue.act(0, "ok")
        elif venue.outbox:
            venue.deliver(0, False, router, next(clock))
        else:
            break
        check("settling")
    assert not venue.inbox and not venue.outbox, "the run did not settle"

    mine = {(o.venue_client_id, o.venue_order_id) for o in router.orders.values() if o.is_open}
    theirs = {(o.client_id, o.venue_id) for o in venue.orders.values() if o.state == "open"}
    assert mine == theirs
    assert sum(venue.in_flight.values()) == 0
    filled: Counter[str] = Counter()
    position = D(0)
    for _, owner, side, size in venue.fills:
        filled[owner] += size
        position += size if side is Side.BUY else -size
    for o in router.orders.values():
        assert o.filled == filled[o.client_id], o.client_id
    assert len(router.fills) == len(venue.fills)
    assert router.position_size("s", SYM) == position
    assert router.position_size("", SYM) == 0  # every fill found its order
    assert router.illegal_transitions == 0
    return [
        name
        for name, happened in (
            ("a replacement was placed", any(o.attempt > 1 for o in router.orders.values())),
            ("a stale callback was ignored", router.stale_callbacks > 0),
            ("an orphan fill was adopted", router.adopted_fills > 0),
            ("a place was given up", any(o.code == "not_at_venue" for o in router.orders.values())),
            ("a fill was repeated", router.duplicate_fills > 0),
        )
        if happened
    ]


# Regression cases: the situations the live run against an independent venue met.
# One place, two edits and a cancel-all: one cancel, and no cancel of an order in flight.
@example(
    [("place", 0, 2, 1), ("edit", 0, 1, 1), ("edit", 0, 0, 1), ("cancel_all",),
     ("act", 0, "ok"), ("deliver", 0, False)],
    False,
)  # fmt: skip
# A stale cancel confirmation after the replacement was placed.
@example(
    [("place", 0, 2, 1), ("act", 0, "ok"), ("deliver", 0, False), ("edit", 0, 1, 1),
     ("act", 0, "ok"), ("deliver", 0, True), ("act", 0, "ok"), ("deliver", 0, False),
     ("deliver", 0, False)],
    False,
)  # fmt: skip
# A place answered 503 before acting: given up, never cancelled.
@example(
    [("place", 0, 2, 1), ("act", 0, "lost_before"), ("cancel", 0), ("cancel_all",),
     ("deliver", 0, False), ("deliver", 0, False)],
    False,
)  # fmt: skip
# A late fill of attempt 1 makes up the edited size while the replacement is live.
@example(
    [("place", 1, 2, 2), ("act", 0, "ok"), ("deliver", 0, False), ("trade", 0, "0.5", True),
     ("edit", 1, 1, 0), ("act", 0, "ok"), ("deliver", 1, False), ("act", 0, "ok"),
     ("deliver", 1, False), ("deliver", 0, False)],
    False,
)  # fmt: skip
# Found by this test: a fill reached the old size while a native edit raising the size was
# on its way; the order was called FILLED and the edited rest stayed live at the venue.
@example(
    [("place", 2, 0, 0), ("act", 0, "ok"), ("deliver", 0, False), ("edit", 2, 0, 3),
     ("act", 0, "ok"), ("trade", 0, "0.5", False), ("deliver", 1, False), ("deliver", 0, False)],
    True,
)  # fmt: skip
# Found by this test: an edit answer lost after it landed, then the order filled: the
# lookup must compare the terms, not ask whether the order is still open.
@example(
    [("place", 0, 2, 2), ("act", 0, "ok"), ("deliver", 0, False), ("edit", 0, 4, 0),
     ("act", 0, "lost_after"), ("trade", 0, "1", False)],
    True,
)  # fmt: skip
@given(st.lists(actions, min_size=20, max_size=120), st.sampled_from([False, False, True]))
@router_settings
def test_the_router_agrees_with_the_venue(steps: list[tuple[Any, ...]], native: bool) -> None:
    for name in run(steps, native):
        event(name)
