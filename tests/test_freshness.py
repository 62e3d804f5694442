"""Fresh at send time: the post-only re-check, the rate limiter's margin, and both in a live
gateway whose order waited in the rate limiter while the book moved (ALP's simulator:
2 private calls a second, post-only orders sent as plain limits)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from decimal import Decimal

import pytest

from botkit import Instrument, OrderType, Place, Side, TimeInForce
from botkit.book import OrderBook
from botkit.events import BookSnapshot
from botkit.execution import ON_ORDER, ExecutionRouter, Updates
from botkit.execution.freshness import DROP, PostOnlyRecheck
from botkit.execution.live import LiveGateway
from botkit.execution.ratelimit import RATE_MARGIN, RateLimiter
from botkit.model import Order, OrderStatus
from botkit.simulator.server import running_simulator
from botkit.venues.alp import AlpAdapter
from botkit.venues.kit.adapter import Connection

D = Decimal
SYM = "BTC/USDT"


def book(bid: float, ask: float, received_ns: int = 0) -> OrderBook:
    b = OrderBook(SYM)
    b.apply_snapshot(BookSnapshot(1, SYM, ((bid, 1.0),), ((ask, 1.0),)))
    b.received_ns = received_ns
    return b


def quote(side: Side, price: str, post_only: bool = True) -> Order:
    return Order("q", SYM, side, OrderType.LIMIT, D("1"), D(price), post_only=post_only)


def test_a_post_only_price_that_would_cross_now_is_slid_inside_the_touch(btc: Instrument) -> None:
    recheck = PostOnlyRecheck("slide", {SYM: btc}, {SYM: book(100.0, 100.5)})
    assert recheck(quote(Side.BUY, "100.40"), D("100.40")) is None  # still inside
    assert recheck(quote(Side.BUY, "100.60"), D("100.60")) == D("100.49")
    assert recheck(quote(Side.SELL, "99.90"), D("99.90")) == D("100.01")
    assert recheck(quote(Side.BUY, "101", post_only=False), D("101")) is None
    # A touch off the tick grid: the highest grid price strictly below it.
    off = PostOnlyRecheck("slide", {SYM: btc}, {SYM: book(99.0, 100.005)})
    assert off(quote(Side.BUY, "100.01"), D("100.01")) == D("100.00")


def test_with_the_reject_policy_it_is_dropped(btc: Instrument) -> None:
    recheck = PostOnlyRecheck("reject", {SYM: btc}, {SYM: book(100.0, 100.5)})
    assert recheck(quote(Side.BUY, "100.50"), D("100.50")) is DROP
    assert recheck(quote(Side.SELL, "100.10"), D("100.10")) is None
    empty = PostOnlyRecheck("reject", {SYM: btc}, {SYM: OrderBook(SYM)})
    assert empty(quote(Side.BUY, "100.50"), D("100.50")) is None  # no side: the venue decides


def test_the_age_of_the_book_decided_on_is_logged(
    btc: Instrument, caplog: pytest.LogCaptureFixture
) -> None:
    received = 1_000_000_000
    recheck = PostOnlyRecheck(
        "slide",
        {SYM: btc},
        {SYM: book(100.0, 100.5, received)},
        clock=lambda: received + 64_000_000,
    )
    with caplog.at_level(logging.DEBUG, "botkit.execution.freshness"):
        recheck(quote(Side.BUY, "100.20"), D("100.20"))
    assert "64.0 ms old" in caplog.text


async def test_the_rate_limiter_keeps_a_margin_over_the_documented_interval() -> None:
    limiter = RateLimiter(0.05)
    assert limiter.interval == pytest.approx(0.05 * RATE_MARGIN) and RATE_MARGIN > 1
    times = []
    for _ in range(4):
        await limiter.wait()
        times.append(time.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.05 * RATE_MARGIN - 0.002
    with pytest.raises(ValueError):
        RateLimiter(0.5, margin=0.9)


@pytest.mark.parametrize("policy", ["slide", "reject"])
async def test_an_order_that_waited_in_the_rate_limiter_is_checked_against_the_book_now(
    policy: str,
) -> None:
    async with running_simulator("alp", run_market=False) as sim:
        sim.exchange.step()
        options = {"post_only": "send"}
        adapter = AlpAdapter(Connection(sim.base_url, credentials=sim.credentials, options=options))
        await adapter.connect()
        try:
            instruments = await adapter.instruments()
            inst = instruments[SYM]
            venue_book = sim.exchange.books["BTC_USDT"]
            bid, ask = venue_book.best_bid, venue_book.best_ask
            assert bid is not None and ask is not None
            local = book(bid, ask, time.time_ns())
            updates = Updates(wants_orders={"mm"})
            router = ExecutionRouter(instruments, updates=updates)
            gateway = LiveGateway(
                adapter,
                router,
                request_timeout_s=5.0,
                recheck=PostOnlyRecheck(policy, instruments, {SYM: local}),
            )
            router.attach(gateway)
            far = D(repr(bid)) - 100 * inst.tick_size
            first = Place(SYM, Side.BUY, inst.lot_size * 100, far, OrderType.LIMIT, TimeInForce.GTC)
            router.place("mm", first, time.time_ns())
            # A post-only sell just above the bid, decided now; it queues behind the first.
            price = D(repr(bid)) + 5 * inst.tick_size
            quote = Place(
                SYM, Side.SELL, inst.lot_size * 100, price, OrderType.LIMIT, TimeInForce.GTC,
                post_only=True,
            )  # fmt: skip
            order = router.place("mm", quote, time.time_ns())
            # While it waits for its turn, the bids rise through its price.
            local.apply_snapshot(
                BookSnapshot(2, SYM, ((float(price) + 1.0, 1.0),), ((float(price) + 2.0, 1.0),))
            )
            local.received_ns = time.time_ns()
            deadline = time.monotonic() + 15
            while order.status is OrderStatus.PENDING_NEW:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            await gateway.drain()
            sent = [o for o in sim.exchange.by_client.values() if o.side is Side.SELL]
            if policy == "slide":
                slid = Decimal(repr(float(price) + 1.0)) + inst.tick_size
                assert order.status is OrderStatus.OPEN and order.price == slid
                assert [o.price for o in sent] == [slid]
                codes = [u.code for kind, _, u in updates.queue if kind == ON_ORDER]
                assert "post_only_slid" in codes
            else:
                assert order.status is OrderStatus.REJECTED
                assert order.code == "post_only_would_cross"
                assert sent == []  # it never left
            assert gateway.counters["repriced_at_send" if policy == "slide" else "dropped_at_send"]
        finally:
            await gateway.close()
            await adapter.close()
