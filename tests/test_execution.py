"""The execution router: the order state machine and fill tracking, driven by a scripted venue."""

from __future__ import annotations

from decimal import Decimal

import pytest

from botkit import Instrument, OrderType, Place, Side, TimeInForce
from botkit.execution import ON_ORDER, TRANSITIONS, ExecutionRouter, Updates, can_transition
from botkit.execution.transitions import Phase
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
    assert set(TRANSITIONS) == set(OrderStatus) | set(Phase)  # every state has a row
    assert TRANSITIONS[S.FILLED] == frozenset()
    # Only an order given up as absent that turns up after all leaves REJECTED.
    assert TRANSITIONS[S.REJECTED] == {S.FILLED, S.CANCELED}
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


def test_an_edit_that_replaces_the_venue_order_follows_the_new_id(router) -> None:  # type: ignore[no-untyped-def]
    # Alpha5's edit cancels the remaining size and places a new order: the
    # confirmation names it, and fills of the old order and of the new one both count.
    r, v, _ = router
    o = acked(r, "q", size="2")
    r.on_fill(fill(o, "t1", "0.5"))  # on the first venue order, "V-q"
    assert r.edit("s", Edit("q", D("101"), D("2")), 3)
    r.on_edited("q", D("101"), D("2"), 4, venue_order_id="V2")
    assert o.venue_order_id == "V2" and r.order_of_venue_id("V2") is o
    assert r.order_of_venue_id("V-q") is o  # a late fill of the old one still maps
    stranger = fill(o, "t2", "0.5")._replace(client_id="", venue_order_id="V2", strategy="")
    r.on_fill(stranger)
    assert o.filled == D("1") and r.orphan_fills == 0
    # Found later under yet another id (an edit whose reply was lost): followed too.
    r.on_renamed("q", "V3")
    assert o.venue_order_id == "V3" and r.order_of_venue_id("V3") is o
    r.cancel("s", "q", 6)
    assert v.calls[-1] == ("cancel", "q")


def test_a_client_id_is_never_reused(router) -> None:  # type: ignore[no-untyped-def]
    r, v, _ = router
    place(r, cid="x")
    second = place(r, cid="x")
    assert second.status is S.REJECTED and second.code == "duplicate_client_id"
    assert v.calls == [("submit", "x")]


# ----- one request in flight ------------------------------------------------------------------


def acked(r: ExecutionRouter, cid: str = "q", size: str = "1") -> Order:
    o = place(r, size, cid=cid)
    r.on_ack(cid, f"V-{cid}", 2)
    return o


def test_the_table_names_the_replace_steps_and_what_each_waits_for() -> None:
    # A cancel is only sent for an acknowledged order.
    assert not can_transition(S.PENDING_NEW, S.PENDING_CANCEL)
    assert not can_transition(S.UNKNOWN, S.PENDING_CANCEL)
    # Cancel-and-replace: cancel the attempt, then place the next one.
    assert can_transition(S.OPEN, Phase.REPLACE_CANCEL)
    assert can_transition(Phase.REPLACE_CANCEL, Phase.REPLACE_NEW)
    assert can_transition(Phase.REPLACE_NEW, S.OPEN)
    assert can_transition(Phase.REPLACE_NEW, S.UNKNOWN)  # the new attempt's place was ambiguous
    assert can_transition(Phase.REPLACE_CANCEL, S.PENDING_CANCEL)  # a cancel takes over
    assert not can_transition(Phase.REPLACE_NEW, Phase.REPLACE_CANCEL)  # one request at a time
    assert not can_transition(S.PENDING_EDIT, S.PENDING_CANCEL)
    assert Phase.REPLACE_CANCEL.status is S.PENDING_EDIT  # what strategies see


def test_a_cancel_before_the_ack_waits_for_it_and_goes_once(router) -> None:  # type: ignore[no-untyped-def]
    r, v, _ = router
    o = place(r, cid="q")
    assert r.cancel("s", "q", 2) and r.cancel("s", "q", 3)
    assert r.cancel_all("s", SYM, 4) == 1
    assert v.calls == [("submit", "q")] and o.status is S.PENDING_NEW
    r.on_ack("q", "V1", 5)
    assert v.calls == [("submit", "q"), ("cancel", "q")] and o.status is S.PENDING_CANCEL
    assert r.cancel_all("s", SYM, 6) == 1  # already being cancelled: nothing more is sent
    assert v.calls[-1] == ("cancel", "q") and len(v.calls) == 2
    r.on_canceled("q", 7)
    r.on_canceled("q", 8)  # a repeated confirmation changes nothing
    assert o.status is S.CANCELED and r.illegal_transitions == 0


def test_edits_of_a_pending_order_are_coalesced_and_the_last_wins(router) -> None:  # type: ignore[no-untyped-def]
    r, v, _ = router
    o = place(r, cid="q")
    assert r.edit("s", Edit("q", D("101"), D("1")), 2)
    assert r.edit("s", Edit("q", D("102"), D("2")), 3)
    assert v.calls == [("submit", "q")]
    r.on_ack("q", "V1", 4)
    assert v.calls[-1] == ("edit", "q") and o.status is S.PENDING_EDIT
    assert r.edit("s", Edit("q", D("103"), D("2")), 5)  # waits for the edit in flight
    assert len(v.calls) == 2
    r.on_edited("q", D("102"), D("2"), 6)
    assert o.price == D("102") and v.calls[-1] == ("edit", "q") and len(v.calls) == 3
    r.on_edited("q", D("103"), D("2"), 7)
    assert o.status is S.OPEN and o.price == D("103") and r.waiting("q") is None


def test_an_edit_that_changes_nothing_sends_nothing(router) -> None:  # type: ignore[no-untyped-def]
    r, v, _ = router
    o = acked(r)
    assert r.edit("s", Edit("q", D("100"), D("1")), 3)
    assert v.calls == [("submit", "q")] and o.status is S.OPEN


def test_an_edit_of_an_order_being_cancelled_is_answered_at_once(router) -> None:  # type: ignore[no-untyped-def]
    r, v, updates = router
    acked(r)
    r.cancel("s", "q", 3)
    updates.queue.clear()
    assert not r.edit("s", Edit("q", D("101"), None), 4)
    assert v.calls == [("submit", "q"), ("cancel", "q")]
    ((_, _, update),) = updates.queue
    assert update.code == "cancel_pending" and update.status is S.PENDING_CANCEL


def test_a_waiting_edit_is_answered_when_the_order_fills_meanwhile(router) -> None:  # type: ignore[no-untyped-def]
    r, v, updates = router
    o = place(r, cid="q")
    r.edit("s", Edit("q", D("101"), None), 2)
    r.on_fill(fill(o, "t1", "1"))  # the whole order traded before the ack
    answers = [u for kind, _, u in updates.queue if kind == ON_ORDER and u.code]
    assert o.status is S.FILLED and [(a.code, a.status) for a in answers] == [
        ("order_not_open", S.FILLED)
    ]
    r.on_ack("q", "V1", 3)
    assert v.calls == [("submit", "q")]  # nothing was sent for the edit


def test_an_order_given_up_after_an_ambiguous_place_gets_no_requests(router) -> None:  # type: ignore[no-untyped-def]
    r, v, _ = router
    o = place(r, cid="q")
    r.on_ambiguous("q", "503 Service Unavailable", 2)
    assert o.status is S.UNKNOWN
    assert r.cancel("s", "q", 3) and r.cancel_all("s", None, 4) == 1
    r.on_reject("q", "not_at_venue", "the venue has no such order", 5)
    assert o.status is S.REJECTED and o.venue_order_id is None
    assert not r.cancel("s", "q", 6)
    assert v.calls == [("submit", "q")]


def replace_router(btc: Instrument) -> tuple[ExecutionRouter, ScriptedVenue, list[Order]]:
    """A venue without native edit that keeps every attempt it is given."""
    r = ExecutionRouter({SYM: btc})
    sent: list[Order] = []

    class Venue(ScriptedVenue):
        def submit(self, order: Order, now_ns: int) -> None:
            sent.append(order)
            self.calls.append(("submit", order.venue_client_id))

        def cancel(self, order: Order, now_ns: int) -> None:
            self.calls.append(("cancel", order.venue_client_id))

    v = Venue(supports_edit=False)
    r.attach(v)
    return r, v, sent


def test_cancel_and_replace_is_two_steps_with_a_fresh_client_id(btc: Instrument) -> None:
    r, v, sent = replace_router(btc)
    o = place(r, "1", cid="q")
    r.on_ack("q", "V1", 2)
    r.on_fill(fill(o, "t1", "0.4"))
    assert r.edit("s", Edit("q", D("99"), D("1")), 3)
    assert r.state(o) is Phase.REPLACE_CANCEL and o.status is S.PENDING_EDIT
    assert r.edit("s", Edit("q", D("98"), D("1")), 4)  # not placed yet: takes the latest terms
    assert v.calls == [("submit", "q"), ("cancel", "q")]
    r.on_canceled("q", 5)
    assert r.state(o) is Phase.REPLACE_NEW and v.calls[-1] == ("submit", "q-r2")
    nxt = sent[-1]
    assert (nxt.venue_client_id, nxt.size, nxt.price) == ("q-r2", D("0.6"), D("98"))
    assert o.attempt == 2 and o.venue_order_id is None and o.price == D("98")
    r.on_canceled("q", 6)  # a stale, repeated confirmation of attempt 1
    assert r.state(o) is Phase.REPLACE_NEW and r.stale_callbacks == 1
    r.on_ack("q-r2", "V2", 7)
    assert o.status is S.PARTIALLY_FILLED and o.venue_order_id == "V2"
    r.on_canceled("q", 8)  # and once more, after the replacement is live
    assert o.status is S.PARTIALLY_FILLED and r.stale_callbacks == 2
    f = fill(o, "t2", "0.6")
    r.on_fill(f._replace(client_id="q-r2", venue_order_id="V2"))
    assert o.status is S.FILLED and o.filled == D("1") and r.illegal_transitions == 0


def test_a_cancel_during_a_replace_rides_on_its_cancel(btc: Instrument) -> None:
    r, v, _ = replace_router(btc)
    o = place(r, cid="q")
    r.on_ack("q", "V1", 2)
    r.edit("s", Edit("q", D("99"), None), 3)
    assert r.cancel("s", "q", 4) and o.status is S.PENDING_CANCEL
    r.on_canceled("q", 5)
    assert o.status is S.CANCELED
    assert v.calls == [("submit", "q"), ("cancel", "q")]  # no replacement, no second cancel


def test_a_refused_replace_leaves_the_order_as_it_was(btc: Instrument) -> None:
    r, v, _ = replace_router(btc)
    o = place(r, cid="q")
    r.on_ack("q", "V1", 2)
    r.edit("s", Edit("q", D("99"), None), 3)
    r.on_cancel_rejected("q", "order_not_open", "filled", 4)
    assert o.status is S.OPEN and o.price == D("100") and r.state(o) is S.OPEN
    assert v.calls == [("submit", "q"), ("cancel", "q")]


def test_late_fills_of_the_first_attempt_never_leave_the_replacement_live(
    btc: Instrument,
) -> None:
    r, v, sent = replace_router(btc)
    o = place(r, "1", cid="q")
    r.on_ack("q", "V1", 2)
    r.edit("s", Edit("q", D("99"), None), 3)
    r.on_canceled("q", 4)
    r.on_ack("q-r2", "V2", 5)
    assert sent[-1].size == D("1")
    # Attempt 1 had traded in full before its cancel; the news comes only now.
    r.on_fill(fill(o, "t1", "1")._replace(venue_order_id="V1"))
    assert o.filled == D("1") and o.status is S.PENDING_CANCEL
    assert v.calls[-1] == ("cancel", "q-r2")  # the replacement must not stay live
    r.on_canceled("q-r2", 6)
    assert o.status is S.FILLED and r.open_count == 0


def test_an_orphan_fill_moves_to_its_order_when_the_ack_names_it(router) -> None:  # type: ignore[no-untyped-def]
    r, _, updates = router
    o = place(r, cid="q")
    stranger = fill(o, "t1", "0.4")._replace(client_id="", venue_order_id="V1", strategy="")
    r.on_fill(stranger)  # the venue's id is not known yet
    assert r.orphan_fills == 1 and r.position_size("", SYM) == D("0.4")
    assert o.filled == 0
    r.on_ack("q", "V1", 2)
    assert o.filled == D("0.4") and o.status is S.PARTIALLY_FILLED
    assert r.position_size("s", SYM) == D("0.4") and r.position_size("", SYM) == 0
    assert len(r.fills) == 1 and r.fills[0].strategy == "s" and r.adopted_fills == 1
    assert [u.trade_id for kind, _, u in updates.queue if kind != ON_ORDER] == ["t1"]
    r.on_fill(stranger)  # the same trade again: counted once
    assert o.filled == D("0.4") and r.duplicate_fills == 1


def test_an_illegal_transition_is_counted_and_logged_with_both_states(
    router, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    r, _, _ = router
    o = acked(r)
    r.on_fill(fill(o, "t1", "1"))
    # No callback asks for this (each checks the state first); the table is the backstop.
    assert not r._set(o, S.OPEN, 3)
    assert r.illegal_transitions == 1 and o.status is S.FILLED
    assert "filled -> open" in caplog.text


def test_an_order_given_up_as_absent_that_fills_after_all_is_filled(router) -> None:  # type: ignore[no-untyped-def]
    r, v, updates = router
    o = place(r, cid="q")
    r.cancel("s", "q", 1)  # waits: and after the refusal there is nothing to send
    r.on_ambiguous("q", "timeout", 2)
    r.on_reject("q", "not_at_venue", "the venue has no such order", 3)
    r.on_fill(fill(o, "t1", "0.4"))  # it landed after all, and traded
    assert o.status is S.REJECTED and o.filled == D("0.4") and r.zombie_fills == 1
    r.on_fill(fill(o, "t2", "0.6"))  # filled up: the venue says FILLED, so do we
    assert o.status is S.FILLED and r.illegal_transitions == 0
    assert r.position_size("s", SYM) == D("1")
    assert v.calls == [("submit", "q")]  # and nothing was ever sent about it again
    assert posted(updates)[-2:] == [("order", "filled"), ("fill", "t2")]


def test_an_order_given_up_as_absent_that_turns_up_closes_as_the_venue_closed_it(router) -> None:  # type: ignore[no-untyped-def]
    r, v, _ = router
    o = place(r, cid="q")
    r.on_ambiguous("q", "timeout", 2)
    r.on_reject("q", "not_at_venue", "the venue has no such order", 3)
    # Reconciliation finds it at the venue after all and has it cancelled there.
    r.on_found_closed("q", "V9", S.CANCELED, 4)
    assert o.status is S.CANCELED and o.venue_order_id == "V9"
    assert r.order_of_venue_id("V9") is o and v.calls == [("submit", "q")]
    # Any other refusal stands for good: a risk or venue refusal never reopens.
    other = place(r, cid="p")
    r.on_reject("p", "insufficient_funds", "no", 5)
    r.on_found_closed("p", "V10", S.CANCELED, 6)
    r.on_fill(fill(other, "t3", "1"))
    assert other.status is S.REJECTED and r.illegal_transitions == 0


def test_restored_orders_with_a_request_in_flight_come_back_unknown(btc: Instrument) -> None:
    r = ExecutionRouter({SYM: btc})
    pending = Order("a", SYM, Side.BUY, OrderType.LIMIT, D(1), D(100), status=S.PENDING_CANCEL)
    pending.venue_order_id = "V1"
    moving = Order("b", SYM, Side.BUY, OrderType.LIMIT, D(1), D(99), status=S.PENDING_EDIT)
    moving.attempt = 3
    resting = Order("c", SYM, Side.BUY, OrderType.LIMIT, D(1), D(98), status=S.OPEN)
    resting.venue_order_id = "V3"
    r.restore([pending, moving, resting], [])
    assert [o.status for o in (pending, moving, resting)] == [S.UNKNOWN, S.UNKNOWN, S.OPEN]
    leg = r.venue_order(moving)
    assert leg is not moving and leg.venue_client_id == "b-r3" and leg.size == D(1)
    assert r.order_of("b-r3") is moving and r.open_count == 3


def test_a_fill_up_to_the_old_size_waits_for_the_edit_on_its_way(router) -> None:  # type: ignore[no-untyped-def]
    r, _, _ = router
    o = acked(r, size="1")
    r.edit("s", Edit("q", D("100"), D("3")), 3)  # more size, on its way
    r.on_fill(fill(o, "t1", "1"))
    assert o.status is S.PENDING_EDIT  # the venue may already hold the larger order
    r.on_edited("q", D("100"), D("3"), 4)
    assert o.status is S.PARTIALLY_FILLED and o.remaining == D("2")
    o2 = acked(r, cid="q2", size="1")
    r.edit("s", Edit("q2", D("100"), D("3")), 5)
    r.on_fill(fill(o2, "t2", "1"))
    r.on_edit_rejected("q2", "order_not_open", "it filled", 6)  # the edit came too late
    assert o2.status is S.FILLED


def test_an_order_the_venue_reports_filled_gets_no_more_requests(router) -> None:  # type: ignore[no-untyped-def]
    r, v, updates = router
    o = place(r, cid="q")
    r.cancel("s", "q", 2)  # waits for the ack
    r.on_filled("q", 3)  # the place's reply says it traded in full
    r.on_ack("q", "V1", 4)
    assert r.cancel("s", "q", 5) and r.cancel_all("s", None, 6) == 1
    assert not r.edit("s", Edit("q", D("101"), None), 7)
    assert v.calls == [("submit", "q")]  # a cancel would only be refused
    assert o.status is S.OPEN and o.filled == 0  # status and totals follow the fills
    r.on_fill(fill(o, "t1", "1"))
    assert o.status is S.FILLED and o.filled == D("1")
    answers = [u.code for kind, _, u in updates.queue if kind == ON_ORDER and u.code]
    assert answers == ["order_not_open"]
