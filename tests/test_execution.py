"""The execution router: the order state machine and fill tracking, driven by a scripted venue."""

from __future__ import annotations

from decimal import Decimal

import pytest

from botkit import Instrument, OrderType, Place, Side, TimeInForce
from botkit.execution import ON_ORDER, TRANSITIONS, ExecutionRouter, Updates, can_transition
from botkit.intents import Edit
from botkit.model import Fill, Liquidity, Order, OrderStatus

S = OrderStatus
D = Decimal
SYM = "BTC/USDT"


class ScriptedVenue:
    """Records requests; the test plays the venue's answers by calling the router."""

    def __init__(self, supports_edit: bool = True) -> None:
        self.supports_edit = supports_edit
        self.calls: list[tuple[str, str]] = []

    def submit(self, order: Order, now_ns: int) -> None:
        self.calls.append(("submit", order.client_id))

    def cancel(self, order: Order, now_ns: int) -> None:
        self.calls.append(("cancel", order.client_id))

    def edit(self, order: Order, price: Decimal, size: Decimal, now_ns: int) -> None:
        self.calls.append(("edit", order.client_id))


@pytest.fixture
def router(btc: Instrument) -> tuple[ExecutionRouter, ScriptedVenue, Updates]:
    updates = Updates(wants_orders={"s"}, wants_fills={"s"})
    r = ExecutionRouter({SYM: btc}, balances={"USDT": D(1000), "BTC": D(0)}, updates=updates)
    v = ScriptedVenue()
    r.attach(v)
    return r, v, updates


def posted(updates: Updates) -> list[tuple[str, str]]:
    """What the router told the strategy, in order: order statuses and fill ids."""
    return [
        ("order", obj.status.value) if kind == ON_ORDER else ("fill", obj.trade_id)
        for kind, _, obj in updates.queue
    ]


def place(r: ExecutionRouter, size: str = "1", cid: str | None = None) -> Order:
    intent = Place(
        SYM, Side.BUY, D(size), D("100"), OrderType.LIMIT, TimeInForce.GTC, client_id=cid
    )
    return r.place("s", intent, 1)


def fill(order: Order, tid: str, size: str, price: str = "100") -> Fill:
    return Fill(
        tid,
        order.client_id,
        SYM,
        Side.BUY,
        D(price),
        D(size),
        D("0.1"),
        "USDT",
        Liquidity.MAKER,
        5,
        order.venue_order_id,
        "s",
    )


def test_every_status_has_a_row_and_closed_states_only_take_late_fills() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)
    assert TRANSITIONS[S.FILLED] == frozenset() and TRANSITIONS[S.REJECTED] == frozenset()
    assert can_transition(S.CANCELED, S.FILLED)  # a fill that raced the cancel
    assert can_transition(S.PENDING_NEW, S.PARTIALLY_FILLED)  # a fill before the ack
    assert not can_transition(S.FILLED, S.OPEN)


def test_happy_path_place_ack_partial_fill(router) -> None:  # type: ignore[no-untyped-def]
    r, v, updates = router
    o = place(r, "2")
    assert v.calls == [("submit", o.client_id)] and o.client_id.startswith("bk-s-")
    r.on_ack(o.client_id, "V1", 2)
    r.on_fill(fill(o, "t1", "0.5"))
    r.on_fill(fill(o, "t2", "1.5", price="99"))
    assert o.status is S.FILLED and o.filled == D("2") and o.avg_price == D("99.25")
    assert r.position_size("s", SYM) == D("2")
    assert r.balances["BTC"] == D("2")
    assert r.balances["USDT"] == D(1000) - D("50") - D("148.5") - D("0.2")
    assert posted(updates) == [
        ("order", "pending_new"),
        ("order", "open"),
        ("order", "partially_filled"),
        ("fill", "t1"),
        ("order", "filled"),
        ("fill", "t2"),
    ]
    assert r.open_orders("s") == [] and r.open_count == 0


def test_a_duplicate_trade_id_is_counted_once(router) -> None:  # type: ignore[no-untyped-def]
    r, _, _ = router
    o = place(r)
    r.on_ack(o.client_id, "V1", 2)
    f = fill(o, "t1", "0.4")
    for _ in range(3):
        r.on_fill(f)
    assert o.filled == D("0.4") and len(r.fills) == 1 and r.duplicate_fills == 2


def test_fill_before_ack_and_after_cancel(router) -> None:  # type: ignore[no-untyped-def]
    r, _, _ = router
    o = place(r)
    r.on_fill(fill(o, "t1", "0.3"))  # the fill overtook the ack
    assert o.status is S.PARTIALLY_FILLED
    r.on_ack(o.client_id, "V1", 2)
    assert r.cancel("s", o.client_id, 3) and o.status is S.PENDING_CANCEL
    r.on_canceled(o.client_id, 4)
    assert o.status is S.CANCELED
    r.on_fill(fill(o, "t2", "0.7"))  # traded at the venue before the cancel took effect
    assert o.status is S.FILLED and r.position_size("s", SYM) == D("1")


def test_a_venue_refusal_rejects_and_unknown_transitions_are_ignored(router) -> None:  # type: ignore[no-untyped-def]
    r, _, _ = router
    o = place(r)
    r.on_reject(o.client_id, "insufficient_funds", "not enough USDT", 2)
    assert o.status is S.REJECTED and o.code == "insufficient_funds"
    r.on_ack(o.client_id, "V1", 3)  # a stale ack cannot reopen a rejected order
    assert o.status is S.REJECTED


def test_edit_native_and_cancel_replace_keep_the_client_id(btc: Instrument) -> None:
    for native in (True, False):
        r = ExecutionRouter({SYM: btc})
        v = ScriptedVenue(supports_edit=native)
        r.attach(v)
        o = place(r, cid="quote-1")
        r.on_ack("quote-1", "V1", 2)
        assert r.edit("s", Edit("quote-1", D("101"), D("1")), 3)
        assert o.status is S.PENDING_EDIT
        if native:
            assert v.calls[-1] == ("edit", "quote-1")
            r.on_edited("quote-1", D("101"), D("1"), 4)
        else:
            assert v.calls[-1] == ("cancel", "quote-1")
            r.on_canceled("quote-1", 4)
            assert v.calls[-1] == ("submit", "quote-1") and o.price == D("101")
            r.on_ack("quote-1", "V2", 5)
        assert o.status is S.OPEN and o.price == D("101") and o.client_id == "quote-1"


def test_a_client_id_is_never_reused(router) -> None:  # type: ignore[no-untyped-def]
    r, v, _ = router
    place(r, cid="x")
    second = place(r, cid="x")
    assert second.status is S.REJECTED and second.code == "duplicate_client_id"
    assert v.calls == [("submit", "x")]
