"""The market maker, driven through the real engine, risk module, router and simulated venue.

The book sits at 99.99 / 100.01 (mid 100.00) and the quotes are 10 ticks from
the centre, so a flat market maker quotes 99.90 / 100.10. A sell print below
our bid fills it completely (the whole level traded), a sell print *at* it
fills what is left after the visible queue ahead of us.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from botkit_strategies.market_maker import MarketMaker
from pydantic import ValidationError

from botkit import Instrument, Side
from botkit.engine import Engine
from botkit.events import BookDelta, BookSnapshot, Trade
from botkit.model import OrderStatus
from botkit.node import build_sim_engine
from botkit.plugins import StrategySpec

SYM = "BTC/USDT"
D = Decimal
MS = 1_000_000
SEC = 1_000 * MS

BASE = {"symbol": SYM, "size": "1", "half_spread_ticks": 10, "max_inventory": "2"}


def book(ts: int, bid: float = 99.99, ask: float = 100.01) -> BookSnapshot:
    return BookSnapshot(ts, SYM, [(bid, 5.0)], [(ask, 5.0)])


def move(ts: int, old: tuple[float, float], new: tuple[float, float]) -> BookDelta:
    """The touch moves from (bid, ask) to (bid, ask)."""
    return BookDelta(ts, SYM, [(old[0], 0.0), (new[0], 5.0)], [(old[1], 0.0), (new[1], 5.0)])


def clock(ts: int) -> BookDelta:
    """An event that changes nothing, so the clock moves on."""
    return BookDelta(ts, SYM, [], [])


def sell_print(ts: int, price: float, size: float = 5.0) -> Trade:
    return Trade(ts, SYM, price, size, Side.SELL, ts)


def buy_print(ts: int, price: float, size: float = 5.0) -> Trade:
    return Trade(ts, SYM, price, size, Side.BUY, ts)


class Run:
    """One market maker on the simulated venue, with every request the router sent recorded."""

    def __init__(
        self,
        inst: Instrument,
        events: list[Any],
        latency_ns: int = 0,
        timers: dict[str, int] | None = None,
        balances: dict[str, Decimal] | None = None,
        **params: Any,
    ) -> None:
        self.mm = MarketMaker({**BASE, **params})
        self.engine: Engine = build_sim_engine(
            {SYM: inst},
            [StrategySpec("mm", self.mm, timers=timers or {})],
            balances=balances or {"USDT": D(100_000), "BTC": D(10)},
            latency_ns=latency_ns,
        )
        self.sent: list[tuple[str, int, str, Decimal | None, Decimal | None]] = []
        router = self.engine.router
        place, edit, cancel = router.place, router.edit, router.cancel

        def on_place(strategy: str, intent: Any, now_ns: int, *lock: Any) -> Any:
            self.sent.append(("place", now_ns, intent.client_id, intent.price, intent.size))
            return place(strategy, intent, now_ns, *lock)

        def on_edit(strategy: str, intent: Any, now_ns: int) -> Any:
            self.sent.append(("edit", now_ns, intent.client_id, intent.price, intent.size))
            return edit(strategy, intent, now_ns)

        def on_cancel(strategy: str, client_id: str, now_ns: int) -> Any:
            self.sent.append(("cancel", now_ns, client_id, None, None))
            return cancel(strategy, client_id, now_ns)

        router.place, router.edit, router.cancel = on_place, on_edit, on_cancel  # type: ignore[method-assign]
        self.engine.run_backtest([events])
        assert not self.engine.hook_errors

    def quotes(self) -> dict[Side, tuple[Decimal, Decimal]]:
        """The open quotes: side -> (price, open size)."""
        return {o.side: (o.price, o.remaining) for o in self.engine.router.open_orders("mm", SYM)}

    def kinds(self) -> list[str]:
        return [s[0] for s in self.sent]

    def position(self) -> Decimal:
        return self.engine.router.position_size("mm", SYM)


def test_places_post_only_quotes_on_both_sides(btc: Instrument) -> None:
    run = Run(btc, [book(SEC)])
    assert run.quotes() == {Side.BUY: (D("99.90"), D("1")), Side.SELL: (D("100.10"), D("1"))}
    orders = run.engine.router.open_orders("mm", SYM)
    assert all(o.post_only and o.status is OrderStatus.OPEN for o in orders)
    assert sorted(o.client_id.rsplit("-", 2)[1] for o in orders) == ["ask", "bid"]
    assert not run.engine.rejects


def test_half_spread_in_bps_and_microprice(btc: Instrument) -> None:
    # 20 bps of 100 is 0.20. The microprice leans to the thin side: 1 bid vs 3 asked.
    snap = BookSnapshot(SEC, SYM, [(99.98, 1.0)], [(100.02, 3.0)])
    params = {"half_spread_ticks": None, "half_spread_bps": "20", "reference": "microprice"}
    run = Run(btc, [snap], **params)
    # microprice = (99.98 * 3 + 100.02 * 1) / 4 = 99.99
    assert run.quotes() == {Side.BUY: (D("99.79"), D("1")), Side.SELL: (D("100.19"), D("1"))}


def test_edits_quotes_when_the_book_moves(btc: Instrument) -> None:
    events = [
        book(1 * SEC),
        move(2 * SEC, (99.99, 100.01), (100.04, 100.06)),  # mid +5 ticks: both quotes follow
        move(3 * SEC, (100.04, 100.06), (100.05, 100.07)),  # +1 tick: below requote_ticks
    ]
    run = Run(btc, events, requote_ticks=2)
    before = {o.side: (o.client_id, o.venue_order_id) for o in run.engine.router.orders.values()}
    assert run.kinds() == ["place", "place", "edit", "edit"]
    assert [(s[1], s[3]) for s in run.sent if s[0] == "edit"] == [
        (2 * SEC, D("99.95")),
        (2 * SEC, D("100.15")),
    ]
    assert run.quotes() == {Side.BUY: (D("99.95"), D("1")), Side.SELL: (D("100.15"), D("1"))}
    # The same two orders throughout: same client ids, same venue order ids, none cancelled.
    assert len(run.engine.router.orders) == 2
    after = {o.side: (o.client_id, o.venue_order_id) for o in run.engine.router.orders.values()}
    assert after == before
    assert all(o.status is OrderStatus.OPEN for o in run.engine.router.orders.values())
    assert not run.engine.rejects


def test_a_fill_skews_both_quotes_against_the_inventory(btc: Instrument) -> None:
    # Long 1 of max 2: both quotes move down by skew * half-spread * 1/2 = 5 ticks.
    events = [book(1 * SEC), sell_print(2 * SEC, 99.80)]
    run = Run(btc, events, skew=1.0)
    assert run.position() == D("1")
    assert run.quotes() == {Side.BUY: (D("99.85"), D("1")), Side.SELL: (D("100.05"), D("1"))}
    # A new bid (the old one filled) and the ask edited in place.
    assert run.kinds() == ["place", "place", "place", "edit"]
    ask_id = run.sent[1][2]
    assert run.sent[3][2] == ask_id and run.engine.router.orders[ask_id].is_open
    assert not run.engine.rejects


def test_stops_quoting_the_side_that_would_exceed_max_inventory(btc: Instrument) -> None:
    events = [
        book(1 * SEC),
        sell_print(2 * SEC, 99.80),  # bid filled: long 1 = max_inventory, so no new bid
        buy_print(3 * SEC, 100.50),  # the ask (at the mid, fully skewed) sells it back
    ]
    run = Run(btc, events, max_inventory="1")
    bid_fill, ask_fill = run.engine.router.fills
    assert (bid_fill.side, bid_fill.price) == (Side.BUY, D("99.90"))
    # Fully skewed at +1: the centre is 10 ticks under the mid, the ask right at the mid.
    assert (ask_fill.side, ask_fill.price) == (Side.SELL, D("100.00"))
    assert run.kinds() == ["place", "place", "edit", "place", "place"]
    # Flat again: both sides quoted, new orders, back at the unskewed prices.
    assert run.position() == 0
    assert run.quotes() == {Side.BUY: (D("99.90"), D("1")), Side.SELL: (D("100.10"), D("1"))}
    assert not run.engine.rejects


def test_a_side_the_account_cannot_pay_for_waits_unsent(btc: Instrument) -> None:
    # No BTC: nothing to sell until the bid fills. Refusing the ask once a second
    # (insufficient_balance, retry_ms) would be noise; it is simply not sent.
    events = [book(1 * SEC), clock(3 * SEC), sell_print(4 * SEC, 99.80), clock(6 * SEC)]
    run = Run(btc, events, balances={"USDT": D(150)})
    assert not run.engine.rejects
    assert [(s[0], s[1]) for s in run.sent] == [("place", 1 * SEC), ("place", 4 * SEC)]
    # The bid filled (99.90 + 0.1% fee): the 1 BTC bought pays for the ask at once, and
    # the 50.0001 USDT left cannot pay for another bid, which waits.
    assert run.position() == D("1") and run.engine.router.balances["USDT"] == D("50.0001")
    assert run.quotes() == {Side.SELL: (D("100.05"), D("1"))}


def test_cancels_a_live_quote_when_inventory_runs_out(btc: Instrument) -> None:
    # Max 1.2: a partial fill of 0.5 leaves no room for a full bid (0.5 + 1 > 1.2).
    events = [book(1 * SEC), sell_print(2 * SEC, 99.90, size=0.5)]
    run = Run(btc, events, max_inventory="1.2")
    assert run.position() == D("0.5")
    bid_id = run.sent[0][2]
    assert ("cancel", 2 * SEC, bid_id, None, None) in run.sent
    assert run.engine.router.orders[bid_id].status is OrderStatus.CANCELED
    assert Side.BUY not in run.quotes() and Side.SELL in run.quotes()


def test_a_partial_fill_tops_the_quote_back_up_by_edit(btc: Instrument) -> None:
    events = [book(1 * SEC), sell_print(2 * SEC, 99.90, size=0.25)]
    run = Run(btc, events, max_inventory="5")
    bid_id = run.sent[0][2]
    bid = run.engine.router.orders[bid_id]
    # Total size = filled 0.25 + a fresh full quote; the price moved with the skew.
    assert (bid.filled, bid.size, bid.remaining) == (D("0.25"), D("1.25"), D("1"))
    assert bid.status is OrderStatus.PARTIALLY_FILLED
    assert [s[0] for s in run.sent if s[2] == bid_id] == ["place", "edit"]


def test_one_request_per_side_in_flight(btc: Instrument) -> None:
    # 10 ms to the venue and back. Three book moves inside that window make no new
    # requests; the acknowledgement re-quotes once, to the latest book.
    lat = 10 * MS
    t0 = SEC
    b0, b1, b2, b3 = (99.99, 100.01), (100.04, 100.06), (100.09, 100.11), (100.14, 100.16)
    events = [
        book(t0),
        move(t0 + 20 * MS, b0, b1),  # acknowledged by now: edits go out
        move(t0 + 22 * MS, b1, b2),  # edits in flight: wait
        move(t0 + 24 * MS, b2, b3),  # still waiting
        clock(t0 + 40 * MS),
    ]
    run = Run(btc, events, latency_ns=lat)
    assert run.kinds() == ["place", "place", "edit", "edit", "edit", "edit"]
    # The second round goes out when the first is acknowledged, at the last book.
    assert [(s[1], s[3]) for s in run.sent[4:]] == [
        (t0 + 30 * MS, D("100.05")),
        (t0 + 30 * MS, D("100.25")),
    ]
    assert run.quotes() == {Side.BUY: (D("100.05"), D("1")), Side.SELL: (D("100.25"), D("1"))}
    assert not run.engine.rejects


def test_replaces_a_quote_the_venue_refused_as_crossing(btc: Instrument) -> None:
    # The bid left at 99.90; before it arrives the book drops onto it: the venue refuses it.
    lat = 10 * MS
    events = [book(SEC), move(SEC + 5 * MS, (99.99, 100.01), (99.85, 99.90)), clock(SEC + 50 * MS)]
    run = Run(btc, events, latency_ns=lat)
    first_bid = run.engine.router.orders[run.sent[0][2]]
    assert first_bid.status is OrderStatus.REJECTED and first_bid.code == "post_only_would_cross"
    # Re-placed at once on the refusal, around the new mid (99.875 - 10 ticks).
    assert run.sent[2][:2] == ("place", SEC + lat)
    assert run.quotes()[Side.BUY] == (D("99.77"), D("1"))
    assert not run.engine.rejects


def test_a_timer_snaps_quotes_that_drifted_less_than_requote_ticks(btc: Instrument) -> None:
    events = [
        book(1 * SEC),
        move(2 * SEC, (99.99, 100.01), (100.02, 100.04)),  # +3 ticks < requote_ticks 5
        clock(11 * SEC),  # past the 10 s timer
    ]
    run = Run(btc, events, timers={"refresh": 10 * SEC}, requote_ticks=5)
    assert [(s[0], s[1]) for s in run.sent[2:]] == [("edit", 10 * SEC), ("edit", 10 * SEC)]
    assert run.quotes() == {Side.BUY: (D("99.93"), D("1")), Side.SELL: (D("100.13"), D("1"))}


def test_a_skewed_quote_never_crosses_the_book(btc: Instrument) -> None:
    # Long the maximum with skew 2: the ask would sit 10 ticks under the mid, inside
    # the bid; it stops one tick above the best bid instead (post-only, never crossing).
    events = [book(SEC), sell_print(2 * SEC, 99.80)]
    run = Run(btc, events, max_inventory="1", skew=2.0)
    assert run.position() == D("1")
    assert run.quotes() == {Side.SELL: (D("100.00"), D("1"))}
    assert not run.engine.rejects


def test_cancels_its_quotes_on_stop(btc: Instrument) -> None:
    run = Run(btc, [book(SEC)])
    run.engine.stop()
    assert run.kinds()[-2:] == ["cancel", "cancel"]
    assert not run.engine.router.open_orders("mm", SYM)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"size": "-1"}, "size"),
        ({"size": "0"}, "size"),
        ({"half_spread_bps": "5"}, "half_spread_ticks"),  # both given with BASE's ticks
        ({"half_spread_ticks": 0}, "half_spread_ticks"),
        ({"max_inventory": "0.5"}, "max_inventory"),  # below size
        ({"skew": -1}, "skew"),
        ({"requote_ticks": 0}, "requote_ticks"),
        ({"reference": "last"}, "reference"),
        ({"half_spread": 3}, "half_spread"),  # unknown key
    ],
)
def test_bad_params_name_the_field(params: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        MarketMaker({**BASE, **params})
    assert [e["loc"][0] for e in err.value.errors()] == [field]


def test_symbol_is_required() -> None:
    with pytest.raises(ValidationError, match="symbol"):
        MarketMaker({})
