"""The one venue test suite every adapter passes: subclass ``VenueSuite`` per venue.

Each test runs the real stack over loopback: the execution router, the live
gateway (retries, ambiguity, the fills pipeline), the venue's adapter, and the
project's simulator speaking that venue's own HTTP and websocket protocol. The
market only moves when a test steps it, so every outcome is deterministic.

A subclass sets ``venue`` and implements ``make_adapter(sim)`` (for an adapter
on the venue kit: ``Adapter(connection_for(sim))``); it may override ``symbol``
(ours, BASE/QUOTE), ``sim_symbol`` (the simulator's key), ``sim_options`` and
``balances_route`` (what the simulator calls the route the adapter reads
balances from).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from botkit.account import buy_fee_rate, is_spot
from botkit.engine import Engine
from botkit.execution import ExecutionRouter
from botkit.execution.live import LiveGateway
from botkit.intents import Edit, Place
from botkit.journal import Journal
from botkit.model import Instrument, Order, OrderStatus, OrderType, Side, TimeInForce
from botkit.plugins import StrategySpec, load_strategies
from botkit.risk import RiskModule
from botkit.risk.order import fmt
from botkit.simulator.server import RunningSimulator, running_simulator
from botkit.venues.kit.adapter import Connection, VenueAdapter

S = OrderStatus


@dataclass
class Live:
    sim: RunningSimulator
    adapter: VenueAdapter
    router: ExecutionRouter
    gateway: LiveGateway
    journal: Journal
    instrument: Instrument
    sim_symbol: str
    engine: Engine | None = None

    def touch(self) -> tuple[Decimal, Decimal]:
        book = self.sim.exchange.books[self.sim_symbol]
        assert book.best_bid is not None and book.best_ask is not None
        return Decimal(repr(book.best_bid)), Decimal(repr(book.best_ask))

    def place(
        self,
        side: Side,
        size: Decimal,
        price: Decimal | None,
        type: OrderType = OrderType.LIMIT,
        client_id: str | None = None,
    ) -> str:
        intent = Place(
            self.instrument.symbol, side, size, price, type, TimeInForce.GTC, client_id=client_id
        )
        return self.router.place(SUITE, intent, time.time_ns()).client_id

    def status(self, client_id: str) -> OrderStatus:
        return self.router.orders[client_id].status

    def submit(self, intent: Place) -> Order:
        """Send ``intent`` the way a strategy's goes: through the risk module, which checks
        a spot order against the router's free balances, then the router."""
        if self.engine is None:
            self.engine = engine_over(self.router)
        self.engine.submit(SUITE, [intent])
        assert intent.client_id is not None
        return self.router.orders[intent.client_id]

    def balances_differ(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Every asset whose balance differs between the router and the venue: (ours, theirs)."""
        ours, theirs = self.router.balances, self.sim.exchange.balances
        return {
            a: (ours.get(a, Decimal(0)), theirs.get(a, Decimal(0)))
            for a in ours.keys() | theirs.keys()
            if ours.get(a, Decimal(0)) != theirs.get(a, Decimal(0))
        }


SUITE = "suite"


class Quiet:
    """A strategy with no hooks: the suite sends its intents itself (``Live.submit``)."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params


def engine_over(router: ExecutionRouter, balance_check: bool = True) -> Engine:
    """The engine in front of a live router: risk module (with the spot balance check on
    the router's free balances, as ``live.balance_check`` has it) and one strategy."""
    strategies = load_strategies([StrategySpec(SUITE, Quiet({}))])
    return Engine(
        router.instruments,
        strategies,
        RiskModule(),
        router,
        router.updates,
        balance_check=balance_check,
    )


async def connect_live(
    adapter: VenueAdapter, journal_path: Path, venue: str, **timing: Any
) -> tuple[ExecutionRouter, Journal, LiveGateway]:
    """Connect the adapter and put the router, a journal and the live gateway in front of
    it, fills tracking started; ``timing`` are the gateway's timeouts and intervals."""
    await adapter.connect()
    instruments = await adapter.instruments()
    router = ExecutionRouter(instruments, balances=await adapter.balances())
    journal = Journal(journal_path, venue=venue)
    gateway = LiveGateway(adapter, router, journal, **timing)
    router.attach(gateway)
    gateway.start_fills()
    return router, journal, gateway


def calm(sim: RunningSimulator) -> None:
    """Switch off every random fault of the simulator (lost calls, stalls, stream mangling)."""
    sim.set_faults(
        fail_rate=0.0, stall_rate=0.0, drop_ws_every_s=None, duplicate_rate=0.0, reorder_rate=0.0
    )


@asynccontextmanager
async def live_stack(
    sim: RunningSimulator,
    adapter: VenueAdapter,
    journal_path: Path,
    symbol: str,
    sim_symbol: str | None = None,
    **gateway_options: Any,
) -> AsyncIterator[Live]:
    """The real stack over ``adapter``: router, live gateway (fills polled and, where the
    venue streams them, streamed) and journal; all closed on the way out.

    ``gateway_options`` override the gateway's test settings (quick timeouts,
    polls and back-off).
    """
    options = {
        "request_timeout_s": 3.0,
        "poll_interval_s": 0.3,
        "lookup_grace_s": 0.5,
        "backoff_s": (0.05, 0.5),
        **gateway_options,
    }
    try:
        router, journal, gateway = await connect_live(
            adapter, journal_path, adapter.name, **options
        )
    except BaseException:
        await adapter.close()
        raise
    try:
        instruments = router.instruments
        assert symbol in instruments, f"{symbol} not in {sorted(instruments)}"
        inst = instruments[symbol]
        yield Live(sim, adapter, router, gateway, journal, inst, sim_symbol or symbol)
    finally:
        await gateway.close()
        await adapter.close()
        journal.close()


def connection_for(sim: RunningSimulator, **options: Any) -> Connection:
    """What the node would build for ``sim``: its URLs and credentials, and ``options``."""
    nonce = options.pop("nonce", None)
    return Connection(
        sim.base_url, sim.ws_url, credentials=sim.credentials, options=options, nonce=nonce
    )


async def until(check: Callable[[], bool], timeout_s: float = 15.0, step: Any = None) -> None:
    """Wait for ``check()``; ``step()`` (e.g. moving the market) runs between looks."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        if step is not None:
            step()
        await asyncio.sleep(0.05)


class VenueSuite:
    venue: ClassVar[str]
    symbol: ClassVar[str] = "BTC/USDT"
    sim_symbol: ClassVar[str | None] = None
    sim_options: ClassVar[dict[str, Any]] = {}
    balances_route: ClassVar[str] = "balances"

    def make_adapter(self, sim: RunningSimulator) -> VenueAdapter:
        raise NotImplementedError

    @pytest.fixture
    async def live(self, tmp_path: Path) -> AsyncIterator[Live]:
        async with running_simulator(self.venue, run_market=False, **self.sim_options) as sim:
            sim.exchange.step()
            adapter = self.make_adapter(sim)
            path = tmp_path / "journal.sqlite"
            async with live_stack(sim, adapter, path, self.symbol, self.sim_symbol) as live:
                yield live

    # ----- the suite ---------------------------------------------------------------------------

    async def test_instruments_carry_the_venue_rules(self, live: Live) -> None:
        inst = live.instrument
        assert inst.tick_size > 0 and inst.lot_size > 0
        assert inst.symbol == self.symbol

    async def test_place_is_acknowledged_and_listed_by_the_venue(self, live: Live) -> None:
        bid, _ = live.touch()
        inst = live.instrument
        cid = live.place(Side.BUY, inst.lot_size * 100, bid - 50 * inst.tick_size)
        await until(lambda: live.status(cid) is S.OPEN)
        order = live.router.orders[cid]
        assert order.venue_order_id
        listed = await live.adapter.open_orders(self.symbol)
        assert any(vo.venue_order_id == order.venue_order_id for vo in listed)
        found = await live.adapter.find_order(order)
        assert found is not None and found.venue_order_id == order.venue_order_id
        assert live.sim.exchange.rejected == []

    async def test_fills_arrive_through_the_user_trades_path(self, live: Live) -> None:
        bid, _ = live.touch()
        size = live.instrument.lot_size * 1000
        cid = live.place(Side.BUY, size, bid)
        await until(lambda: live.status(cid) is S.OPEN)
        await until(lambda: live.status(cid) is S.FILLED, step=live.sim.exchange.step)
        order = live.router.orders[cid]
        assert order.filled == size
        venue_trades = list(live.sim.exchange.trades)
        await until(lambda: len(live.router.fills) == len(venue_trades))
        # Trade ids are the venue's own (some venues' ids are derived), so compare the trades.
        ours = sorted((f.price, f.size) for f in live.router.fills)
        assert ours == sorted((t.price, t.size) for t in venue_trades)
        assert len({f.trade_id for f in live.router.fills}) == len(live.router.fills)
        assert live.router.position_size("suite", self.symbol) == size
        assert live.journal.fill_count() == len(live.router.fills)
        assert live.sim.exchange.rejected == []

    async def test_a_partial_fill_leaves_the_rest_open(self, live: Live) -> None:
        # A buy through the ask for more than the book holds up to its price: it
        # takes what is there and the rest rests, deterministically partial.
        inst = live.instrument
        _, ask = live.touch()
        limit = ask + 2 * inst.tick_size
        book = live.sim.exchange.books[live.sim_symbol]
        available = sum(
            (Decimal(repr(s)) for p, s in book.asks.items() if Decimal(repr(p)) <= limit),
            Decimal(0),
        )
        size = available + inst.lot_size * 100
        cid = live.place(Side.BUY, size, limit)
        order = live.router.orders[cid]
        await until(lambda: order.filled == available)
        assert order.status is S.PARTIALLY_FILLED and 0 < order.filled < size
        assert order.remaining == inst.lot_size * 100
        assert live.sim.exchange.rejected == []

    async def test_edit_keeps_the_client_id(self, live: Live) -> None:
        bid, _ = live.touch()
        inst = live.instrument
        cid = live.place(Side.BUY, inst.lot_size * 100, bid - 50 * inst.tick_size)
        await until(lambda: live.status(cid) is S.OPEN)
        new_price = bid - 60 * inst.tick_size
        assert live.router.edit("suite", Edit(cid, new_price, inst.lot_size * 200), time.time_ns())
        order = live.router.orders[cid]
        await until(lambda: order.status is S.OPEN and order.price == new_price)
        vo = await live.adapter.find_order(live.router.orders[cid])
        assert vo is not None and vo.price == new_price and vo.size == inst.lot_size * 200
        assert live.sim.exchange.rejected == []

    async def test_cancel_and_cancel_all(self, live: Live) -> None:
        bid, _ = live.touch()
        inst = live.instrument
        cids = [
            live.place(Side.BUY, inst.lot_size * 100, bid - (50 + i) * inst.tick_size)
            for i in range(3)
        ]
        await until(lambda: all(live.status(c) is S.OPEN for c in cids))
        assert live.router.cancel("suite", cids[0], time.time_ns())
        await until(lambda: live.status(cids[0]) is S.CANCELED)
        assert live.router.cancel_all("suite", self.symbol, time.time_ns()) == 2
        await until(lambda: all(live.status(c) is S.CANCELED for c in cids))
        assert await live.adapter.open_orders(self.symbol) == []
        assert live.sim.exchange.rejected == []

    async def test_a_venue_refusal_surfaces_as_rejected_with_its_reason(self, live: Live) -> None:
        _, ask = live.touch()
        inst = live.instrument
        # Far more than the account holds: only the venue can know, so it refuses.
        cid = live.place(Side.BUY, inst.lot_size * 10**9, ask)
        await until(lambda: live.status(cid) is S.REJECTED)
        order = live.router.orders[cid]
        assert order.code and order.reason
        assert live.sim.exchange.rejected  # the venue logged the refusal

    # ----- the account: the venue's balances, the spot check on them --------------------------

    async def test_balances_follow_fills_and_are_the_venues_after_reconciliation(
        self, live: Live
    ) -> None:
        bid, _ = live.touch()
        inst = live.instrument
        cid = live.place(Side.BUY, inst.lot_size * 1000, bid)
        await until(lambda: live.status(cid) is S.FILLED, step=live.sim.exchange.step)
        await until(lambda: len(live.router.fills) == len(live.sim.exchange.trades))
        if is_spot(inst):
            # Between reconciliations the fills alone keep a spot account exact.
            assert live.balances_differ() == {}
        report = await live.gateway.reconcile()
        assert report["balances"] == "applied"
        assert live.balances_differ() == {}
        # The venue's figures, free part included where it reports one.
        sheet = live.gateway.account.last
        assert sheet is not None
        for asset, total in live.sim.exchange.balances.items():
            assert sheet[asset].total == total
            if sheet[asset].free is not None:
                assert sheet[asset].free == live.sim.exchange.available(asset)

    async def test_a_spot_order_beyond_the_free_balance_is_refused_before_it_is_sent(
        self, live: Live
    ) -> None:
        inst, exchange = live.instrument, live.sim.exchange
        bid, _ = live.touch()
        price = bid - 50 * inst.tick_size
        size = inst.lot_size * 1000
        places = exchange.requests["place"]
        if not is_spot(inst):
            # A contract is not under the spot rules: with the check on, its order goes
            # to the venue as it always did.
            order = live.submit(Place(self.symbol, Side.BUY, size, price, client_id="contract"))
            await until(lambda: order.status is S.OPEN)
            assert exchange.requests["place"] == places + 1
            return
        need = price * size * (1 + buy_fee_rate(inst))
        # Most of the account was withdrawn elsewhere: the venue holds half of what the
        # order needs, and the next reconciliation says so.
        exchange.balances[inst.quote] = (need / 2).quantize(Decimal("0.01"))
        assert (await live.gateway.reconcile())["balances"] == "applied"
        free = live.router.free_balances[inst.quote]
        assert free == exchange.balances[inst.quote]
        places = exchange.requests["place"]

        order = live.submit(Place(self.symbol, Side.BUY, size, price, client_id="too-big"))

        assert (order.status, order.code) == (S.REJECTED, "insufficient_balance")
        assert order.reason == (
            f"buy {fmt(size)} {self.symbol} needs {fmt(need)} {inst.quote}, {fmt(free)} is free"
        )
        await asyncio.sleep(0.2)
        assert exchange.requests["place"] == places  # nothing was sent
        assert "too-big" not in exchange.by_client and exchange.rejected == []

        # A deposit at the venue: the next reconciliation lets the order through.
        exchange.balances[inst.quote] += need
        assert (await live.gateway.reconcile())["balances"] == "applied"
        order = live.submit(Place(self.symbol, Side.BUY, size, price, client_id="fits"))
        await until(lambda: order.status is S.OPEN)
        assert exchange.requests["place"] == places + 1
        assert live.router.locks.held("fits") == need  # it locks what it may spend
        assert exchange.rejected == []

    async def test_a_balance_reply_that_cannot_be_read_keeps_the_last_view(
        self, live: Live, caplog: pytest.LogCaptureFixture
    ) -> None:
        quote = live.instrument.quote
        before = dict(live.router.balances)
        live.sim.exchange.balances[quote] += 1000  # a deposit the garbled reply hides
        live.sim.set_faults(garble_next=1, garble_what=self.balances_route)

        with caplog.at_level("WARNING", logger="botkit.execution.balances"):
            report = await live.gateway.reconcile()

        assert report["balances"] == "unreadable"
        assert live.router.balances == before
        assert live.gateway.health["balance_unreadable"] == 1
        (warning,) = [r for r in caplog.records if r.name == "botkit.execution.balances"]
        assert warning.levelname == "WARNING"
        assert "balances could not be read" in warning.getMessage()
        assert "keeping the last view" in warning.getMessage()
        # The next reconciliation reads the venue again and sees the deposit.
        assert (await live.gateway.reconcile())["balances"] == "applied"
        assert live.router.balances[quote] == before[quote] + 1000
