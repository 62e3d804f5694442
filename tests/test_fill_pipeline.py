"""The live gateway's fill paths under hostile input: fill tracking never stops silently.

The one place a fake adapter is right: these tests are about the gateway, not a
venue. ``ScriptedAdapter`` implements the ``VenueAdapter`` protocol and hands the
gateway whatever a test scripts: REST pages and stream messages holding rows
that are not fills or are fills with impossible fields, and errors raised while
reading them (``ParseError``, ``decimal.InvalidOperation``, ``RecursionError``
from hostile nesting, ...). Whatever it gets, no exception escapes the gateway's
delivery, the poll and the stream keep running, each bad row or page is counted
in the run's health, and the next good fill is counted, once.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botkit import Instrument, OrderType, Place, Side, TimeInForce
from botkit.execution import ExecutionRouter
from botkit.execution.live import LiveGateway
from botkit.journal import Journal
from botkit.model import Fill, Liquidity, Order, OrderStatus
from botkit.venues.kit.adapter import MarketEvent, VenueAdapter
from botkit.venues.kit.errors import ParseError, VenueUnavailable
from botkit.venues.kit.types import VenueOrder

SYM = "BTC/USDT"
D = Decimal
NOW = time.time_ns()

fuzz_settings = settings(max_examples=60, deadline=None)


class ScriptedAdapter:
    """A venue adapter that says exactly what the test scripted, and nothing else."""

    name = "scripted"
    supports_edit = False
    supports_client_id = True
    min_request_interval_s = 0.0
    has_user_trade_stream = True

    def __init__(
        self,
        pages: list[Any] = (),  # type: ignore[assignment]
        connections: list[list[Any]] = (),  # type: ignore[assignment]
        listings: list[Any] = (),  # type: ignore[assignment]
    ) -> None:
        # A page or a listing is a list of rows, or an exception to raise instead; a
        # connection is a list of stream items, where an exception is raised in turn.
        self.pages = deque(pages)
        self.connections = deque(connections)
        self.listings = deque(listings)

    async def connect(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def instruments(self) -> dict[str, Instrument]:
        return {}

    async def place(self, order: Order) -> VenueOrder:
        raise VenueUnavailable(self.name, "scripted: no orders")

    async def cancel(self, order: Order) -> None:
        pass

    async def edit(self, order: Order, price: Decimal, size: Decimal) -> VenueOrder:
        raise VenueUnavailable(self.name, "scripted: no edits")

    async def cancel_all(self, symbol: str | None = None) -> None:
        pass

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        return _next(self.listings)  # type: ignore[no-any-return]

    async def find_order(self, order: Order) -> VenueOrder | None:
        return None

    async def user_trades(self, since_ns: int | None, symbol: str | None = None) -> list[Fill]:
        return _next(self.pages)  # type: ignore[no-any-return]

    async def balances(self) -> dict[str, Decimal]:
        return {}

    async def positions(self) -> dict[str, Decimal]:
        return {}

    def market_stream(self, symbols: list[str]) -> AsyncIterator[MarketEvent]:
        return _quiet()

    def user_trade_stream(self, since_ns: int | None) -> AsyncIterator[Fill] | None:
        if not self.connections:
            return _quiet()
        return _play(self.connections.popleft())


def _next(script: deque[Any]) -> Any:
    if not script:
        return []
    item = script.popleft()
    if isinstance(item, BaseException):
        raise item
    return item


async def _play(items: list[Any]) -> AsyncIterator[Any]:
    for item in items:
        if isinstance(item, BaseException):
            raise item
        yield item


async def _quiet() -> AsyncIterator[Any]:
    await asyncio.Event().wait()
    yield None  # never reached


def good(n: int) -> Fill:
    return Fill(
        f"GOOD-{n}", "", SYM, Side.BUY, D("100.5"), D("0.01"), D("0.001"), "USDT",
        Liquidity.TAKER, NOW + n, "V-unknown", "",
    )  # fmt: skip


# ----- what a hostile venue sends ------------------------------------------------------------

numbers = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([D("-1"), D(0), D("1e999999"), D("NaN"), D("-Infinity"), D("sNaN")]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.none(),
    st.text(max_size=8),
)
texts = st.one_of(st.text(max_size=12).filter(lambda t: not t.startswith("GOOD")), st.none(),
                  st.integers())  # fmt: skip
nested = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=10,
)
bad_fills = st.builds(
    Fill,
    trade_id=texts,
    client_id=texts,
    symbol=texts,
    side=st.one_of(st.sampled_from(list(Side)), st.text(max_size=4), st.none()),
    price=numbers,
    size=numbers,
    fee=numbers,
    fee_asset=texts,
    liquidity=st.one_of(st.sampled_from(list(Liquidity)), st.text(max_size=4)),
    ts_ns=st.one_of(st.integers(), st.floats(), st.none(), st.just(10**30)),
    venue_order_id=texts,
    strategy=texts,
)
rows = st.one_of(bad_fills, nested)
# Fresh exceptions for every draw: one instance raised again and again would drag a
# growing traceback along.
errors = st.sampled_from(
    [
        lambda: ParseError("scripted", "user_trade", "data[3].price", "not a number"),
        InvalidOperation,
        lambda: RecursionError("maximum recursion depth exceeded while decoding a JSON array"),
        lambda: KeyError("price"),
        lambda: TypeError("'NoneType' object is not subscriptable"),
        lambda: ValueError("Extra data: line 1 column 5"),
        lambda: UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
        lambda: VenueUnavailable("scripted", "HTTP 503"),
        TimeoutError,
    ]
).map(lambda make: make())
pages = st.lists(st.one_of(errors, st.lists(rows, max_size=4)), max_size=4)


def gateway(adapter: ScriptedAdapter, journal: Journal) -> tuple[ExecutionRouter, LiveGateway]:
    btc = Instrument("scripted", SYM, "BTC", "USDT", tick_size="0.01", lot_size="0.00001")
    router = ExecutionRouter({SYM: btc})
    gw = LiveGateway(
        adapter,
        router,
        journal,
        request_timeout_s=1.0,
        poll_interval_s=0.001,
        backoff_s=(0.001, 0.002),
    )
    router.attach(gw)
    return router, gw


async def until(check: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.001)


def test_the_adapter_is_a_venue_adapter() -> None:
    assert isinstance(ScriptedAdapter(), VenueAdapter)


@given(st.lists(rows, max_size=12))
@fuzz_settings
def test_delivering_any_row_never_raises_and_the_next_good_fill_counts(items: list[Any]) -> None:
    with Journal(":memory:", venue="scripted") as journal:
        router, gw = gateway(ScriptedAdapter(), journal)
        for item in items:
            gw.deliver(item)  # never raises, whatever the item
        assert gw.deliver(good(1)) is True
        assert gw.deliver(good(1)) is False  # once only
        assert journal.has_fill("GOOD-1") and router.fills[-1].trade_id == "GOOD-1"
        # Every row was counted as new, as a repeat, or as unusable; none broke anything.
        c = gw.counters
        assert (
            len(router.fills) + c.get("duplicate_fill", 0) + c.get("bad_fill", 0) == len(items) + 2
        )
        assert c.get("fill_failed", 0) == 0


def track_until(adapter: ScriptedAdapter, trade_id: str) -> dict[str, int]:
    """Run the gateway's fill loops until ``trade_id`` is counted and journaled; its health."""

    async def run() -> dict[str, int]:
        with Journal(":memory:", venue="scripted") as journal:
            router, gw = gateway(adapter, journal)
            gw.start_fills()
            try:
                await until(lambda: any(f.trade_id == trade_id for f in router.fills))
            finally:
                await gw.close()
            assert journal.has_fill(trade_id)
            return gw.counters

    return asyncio.run(run())


@given(pages)
@fuzz_settings
def test_the_rest_poll_survives_any_page_and_counts_the_next_good_fill(script: list[Any]) -> None:
    adapter = ScriptedAdapter(pages=[*script, [good(1)]])
    adapter.has_user_trade_stream = False
    counters = track_until(adapter, "GOOD-1")
    assert counters.get("poll_failed", 0) == sum(isinstance(p, BaseException) for p in script)


@given(st.lists(st.lists(st.one_of(errors, rows), max_size=4), max_size=4))
@fuzz_settings
def test_the_stream_survives_any_message_and_counts_the_next_good_fill(
    script: list[list[Any]],
) -> None:
    # The REST catch-up after each reconnect finds nothing: only the stream brings the
    # good fill, after everything else.
    counters = track_until(ScriptedAdapter(connections=[*script, [good(2)]]), "GOOD-2")
    dropped = sum(any(isinstance(i, BaseException) for i in c) for c in script)
    assert counters.get("stream_dropped", 0) == dropped


async def test_a_reconciliation_that_meets_bad_data_does_not_stop_the_stream() -> None:
    with Journal(":memory:", venue="scripted") as journal:
        adapter = ScriptedAdapter(
            pages=[ParseError("scripted", "user_trade", "data[0].ts", "missing")],
            connections=[[RecursionError("nested too deep")], [InvalidOperation()], [good(3)]],
            listings=[RecursionError("nested too deep"), ParseError("scripted", "order", "x", "?")],
        )
        router, gw = gateway(adapter, journal)
        # An open order makes every reconnect reconcile, and the reconciliation fails.
        intent = Place(SYM, Side.BUY, D("0.01"), D(90), OrderType.LIMIT, TimeInForce.GTC)
        order = router.place("s", intent, time.time_ns())
        try:
            gw.start_fills()
            await until(lambda: any(f.trade_id == "GOOD-3" for f in router.fills))
        finally:
            await gw.close()
        assert gw.counters["stream_dropped"] == 2
        assert gw.counters.get("reconcile_failed", 0) + gw.counters.get("poll_failed", 0) >= 2
        assert order.is_open  # nothing was decided about it from the bad data


async def test_a_stream_that_cannot_even_open_is_counted_and_opened_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(ScriptedAdapter):
        def user_trade_stream(self, since_ns: int | None) -> AsyncIterator[Fill] | None:
            if self.connections and self.connections[0] == ["boom"]:
                self.connections.popleft()
                raise RuntimeError("the adapter could not even open the stream")
            return super().user_trade_stream(since_ns)

    with Journal(":memory:", venue="scripted") as journal:
        adapter = Broken(connections=[["boom"], [good(4)]])
        router, gw = gateway(adapter, journal)
        gw.start_fills()
        try:
            await until(lambda: any(f.trade_id == "GOOD-4" for f in router.fills))
        finally:
            await gw.close()
        assert gw.counters["stream_dropped"] == 1  # counted and survived, not silent
        assert "could not even open the stream" in caplog.text


async def test_a_background_loop_that_raises_is_reported_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with Journal(":memory:", venue="scripted") as journal:
        _, gw = gateway(ScriptedAdapter(), journal)
        runs: list[int] = []

        async def flaky() -> None:
            runs.append(1)
            if len(runs) == 1:
                raise RuntimeError("a bug in a loop")

        gw.link.supervise("flaky loop", flaky, pause_s=0.01)
        try:
            await until(lambda: len(runs) == 2)
        finally:
            await gw.close()
        assert gw.counters["task_restarted"] == 1
        assert "flaky loop failed" in caplog.text and "a bug in a loop" in caplog.text


async def test_a_fill_before_the_ack_is_adopted_by_its_order_in_memory_and_journal() -> None:
    class SlowAck(ScriptedAdapter):
        def __init__(self) -> None:
            super().__init__()
            self.go = asyncio.Event()

        async def place(self, order: Order) -> VenueOrder:
            await self.go.wait()  # the reply is slow; the fill overtakes it
            return VenueOrder(
                self.name, "V1", order.venue_client_id, order.symbol, order.side,
                order.type, order.price, order.size, D(0), None, OrderStatus.OPEN,
                time.time_ns(), "NEW",
            )  # fmt: skip

    with Journal(":memory:", venue="scripted") as journal:
        adapter = SlowAck()
        router, gw = gateway(adapter, journal)
        intent = Place(SYM, Side.BUY, D("0.03"), D(90), OrderType.LIMIT, TimeInForce.GTC)
        order = router.place("mm", intent, time.time_ns())
        try:
            early = good(5)._replace(venue_order_id="V1")  # names only the venue's id
            assert gw.deliver(early)
            assert router.orphan_fills == 1 and order.filled == 0
            adapter.go.set()
            await until(lambda: order.venue_order_id == "V1")
        finally:
            await gw.close()
        assert order.filled == D("0.01") and order.status is OrderStatus.PARTIALLY_FILLED
        assert router.position_size("mm", SYM) == D("0.01")
        assert router.position_size("", SYM) == 0
        (stored,) = journal.fills()
        assert (stored.client_id, stored.strategy) == (order.client_id, "mm")
        assert set(journal.positions()) == {("mm", SYM)}
