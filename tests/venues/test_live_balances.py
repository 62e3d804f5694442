"""Live, the venue's balances are the account of record and the spot check runs on them.

Each case runs the real stack (router, live gateway, adapter) over loopback
against the project's own simulators. What happens at the venue in between —
a print through our order's price, a deposit, another bot's order on the same
account — is done on the simulator's side, through its backend.

The race rule (``botkit.execution.balances``): a balance snapshot is applied
only if no fill reached the router from just before it was asked for until a
catch-up of user trades after it; otherwise it is dropped and asked for again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from botkit.account import buy_fee_rate
from botkit.config import load_config
from botkit.events import Trade
from botkit.execution import ExecutionRouter
from botkit.execution.live import LiveGateway
from botkit.intents import Place
from botkit.journal import Journal
from botkit.model import OrderStatus, OrderType, Side
from botkit.node import run_live
from botkit.risk.order import fmt
from botkit.simulator.alpha5 import TEST_TOKEN
from botkit.simulator.server import RunningSimulator, running_simulator
from botkit.venues.alp import AlpAdapter
from botkit.venues.alpha5 import Alpha5Adapter
from botkit.venues.blocktrade import BlockTradeAdapter
from botkit.venues.kit.adapter import Connection
from botkit.venues.kit.types import AssetBalance

from .suite import SUITE, Live, connection_for, engine_over, live_stack, until

S = OrderStatus
SYM = "BTC/USDT"
HERE = Path(__file__).resolve().parent
BALANCES_LOG = "botkit.execution.balances"

Race = Callable[[], Awaitable[None]]


class Racing:
    """An adapter whose next balance read races a fill: ``race`` runs once, just before
    the venue is asked (``race_before``) or just after it answered."""

    race: Race | None = None
    race_before = True

    async def balance_sheet(self) -> dict[str, AssetBalance]:
        race, self.race = self.race, None
        if race is not None and self.race_before:
            await race()
        sheet: dict[str, AssetBalance] = await super().balance_sheet()  # type: ignore[misc]
        if race is not None and not self.race_before:
            await race()
        return sheet


class RacingAlp(Racing, AlpAdapter):
    pass


class RacingBlockTrade(Racing, BlockTradeAdapter):
    pass


def print_through(sim: RunningSimulator, sim_symbol: str, price: Decimal) -> None:
    """A sell prints on the venue's tape one tick under ``price``: a resting buy there fills."""
    inst = sim.exchange.instruments[sim_symbol]
    ts = time.time_ns()
    below = float(price - inst.tick_size)
    sim.exchange.venue.on_trade(Trade(ts, sim_symbol, below, 1000.0, Side.SELL), ts)


async def resting_buy(live: Live, client_id: str, ticks_below: int = 50) -> Decimal:
    """A buy resting ``ticks_below`` the bid, sent as a strategy's, acknowledged; its price."""
    bid, _ = live.touch()
    inst = live.instrument
    price = bid - ticks_below * inst.tick_size
    live.submit(Place(inst.symbol, Side.BUY, inst.lot_size * 1000, price, client_id=client_id))
    await until(lambda: live.status(client_id) is S.OPEN)
    return price


# ----- the race between a snapshot and a fill --------------------------------------------------


async def test_a_fill_made_before_the_snapshot_and_heard_after_it_is_counted_once(
    tmp_path: Path,
) -> None:
    # ALP has no user-trades stream: with the poll an hour apart, only a catch-up
    # tells the router of a fill. The venue fills our order just before it answers
    # the balance request, so its snapshot already holds the fill the router has
    # not heard of: applied as it is, the catch-up would count the fill a second time.
    async with running_simulator("alp", run_market=False) as sim:
        sim.exchange.step()
        adapter = RacingAlp(connection_for(sim))
        path = tmp_path / "journal.sqlite"
        async with live_stack(sim, adapter, path, SYM, "BTC_USDT", poll_interval_s=3600) as live:
            price = await resting_buy(live, "raced")

            async def fill_it() -> None:
                print_through(sim, live.sim_symbol, price)

            adapter.race = fill_it
            report = await live.gateway.reconcile()

            assert live.status("raced") is S.FILLED and len(live.router.fills) == 1
            assert await live.gateway.catch_up() == 0  # nothing left to count again
            assert live.balances_differ() == {}
            # The first snapshot was dropped; the second, with no fill around it, applied.
            assert report["balances"] == "applied"
            assert live.gateway.health["balance_snapshot_raced"] == 1


async def test_a_fill_heard_after_the_snapshot_was_taken_is_not_lost(tmp_path: Path) -> None:
    # BlockTrade streams user trades: the venue answers the balance request, then
    # fills our order, and the stream brings the fill to the router before the
    # snapshot is applied. Applied as it is, the snapshot would undo the fill.
    async with running_simulator("blocktrade", run_market=False) as sim:
        sim.exchange.step()
        adapter = RacingBlockTrade(connection_for(sim))
        async with live_stack(sim, adapter, tmp_path / "journal.sqlite", SYM) as live:
            price = await resting_buy(live, "raced")

            async def fill_and_hear_it() -> None:
                print_through(sim, live.sim_symbol, price)
                await until(lambda: len(live.router.fills) == 1)

            adapter.race, adapter.race_before = fill_and_hear_it, False
            report = await live.gateway.reconcile()

            assert live.status("raced") is S.FILLED
            assert live.balances_differ() == {}
            assert report["balances"] == "applied"
            assert live.gateway.health["balance_snapshot_raced"] == 1


# ----- locks of orders from before a restart ---------------------------------------------------


async def restart(sim: RunningSimulator, path: Path) -> tuple[ExecutionRouter, LiveGateway]:
    """What a live run does as it starts (``botkit.node``): the venue's balances, the
    journal's orders and fills, then a reconciliation before any strategy runs."""
    adapter = BlockTradeAdapter(connection_for(sim))
    await adapter.connect()
    router = ExecutionRouter(await adapter.instruments(), balances=await adapter.balances())
    journal = Journal(path, venue="blocktrade")
    router.restore(journal.orders(), journal.fills())
    gateway = LiveGateway(adapter, router, journal, request_timeout_s=3.0)
    router.attach(gateway)
    await gateway.reconcile()
    return router, gateway


async def test_orders_open_from_the_last_run_lock_their_part_again(tmp_path: Path) -> None:
    async with running_simulator(
        "blocktrade", run_market=False, balances={"USDT": "1000", "BTC": "0"}
    ) as sim:
        sim.exchange.step()
        path = tmp_path / "journal.sqlite"
        async with live_stack(sim, BlockTradeAdapter(connection_for(sim)), path, SYM) as live:
            price = await resting_buy(live, "left-open")
            inst = live.instrument
            lock = live.router.locks.held("left-open")
            assert lock == price * inst.lot_size * 1000 * (1 + buy_fee_rate(inst))
        # The run stopped without cancelling it (a crash, or live.cancel_on_stop: false).

        router, gateway = await restart(sim, path)
        try:
            quote = sim.exchange.balances[inst.quote]
            assert router.orders["left-open"].status is S.OPEN
            assert router.locks.held("left-open") == lock
            assert router.free_balances[inst.quote] == quote - lock
            # The spot check sees it: an order for one unit more than what is left free
            # is refused before it is sent.
            places = sim.exchange.requests["place"]
            engine = engine_over(router)
            size = ((quote - lock) / price).quantize(inst.lot_size) + inst.lot_size
            engine.submit(SUITE, [Place(SYM, Side.BUY, size, price, client_id="over")])
            assert router.orders["over"].code == "insufficient_balance"
            assert sim.exchange.requests["place"] == places
        finally:
            await gateway.close()
            await gateway.adapter.close()
            gateway.journal.close()


# ----- the venue's own free balance ------------------------------------------------------------


async def test_a_free_balance_the_venue_sees_otherwise_is_one_warning_with_both_numbers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_simulator("blocktrade", run_market=False) as sim:
        sim.exchange.step()
        adapter = BlockTradeAdapter(connection_for(sim))
        async with live_stack(sim, adapter, tmp_path / "journal.sqlite", SYM) as live:
            price = await resting_buy(live, "ours")
            await live.gateway.drain()
            caplog.set_level(logging.WARNING, logger=BALANCES_LOG)

            # Our order alone: the venue holds back price x size, we also the fee it may
            # pay. That is agreement.
            assert (await live.gateway.reconcile())["balances"] == "applied"
            assert [r for r in caplog.records if r.name == BALANCES_LOG] == []

            # Another bot on the same account places an order: the venue's free USDT
            # drops, ours cannot know why.
            size = live.instrument.lot_size * 1000
            other = sim.exchange.place(SYM, Side.BUY, OrderType.LIMIT, size, price)
            await live.gateway.reconcile()
            venue_free = sim.exchange.available("USDT")
            ours = live.router.free_balances["USDT"]
            assert venue_free < ours
            (warning,) = [r for r in caplog.records if r.name == BALANCES_LOG]
            assert warning.levelname == "WARNING"
            assert f"USDT venue {fmt(venue_free)}, ours {fmt(ours)}" in warning.getMessage()
            assert live.gateway.health["free_balance_mismatch"] == 1
            sim.exchange.cancel(client_id=other.client_id)


# ----- positions -------------------------------------------------------------------------------


async def test_a_position_the_venue_reports_otherwise_is_logged_and_left_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # position_size: the venue reports a size with each position (v1.0.0 gives none).
    async with running_simulator(
        "alpha5", run_market=False, token=TEST_TOKEN, position_size=True
    ) as sim:
        sim.exchange.step()
        # A trade made by hand before this journal began (its user-trades cursor starts
        # after it): the venue holds a position the journal's fills know nothing of.
        size = sim.exchange.instruments[SYM].lot_size * 100
        sim.exchange.place(SYM, Side.BUY, OrderType.MARKET, size)
        assert sim.position(SYM) == size
        path = tmp_path / "journal.sqlite"
        with Journal(path, venue="alpha5") as journal:
            journal.set_cursor("alpha5:user_trades", time.time_ns())
        adapter = Alpha5Adapter(Connection(sim.base_url, credentials={"api_key": TEST_TOKEN}))
        async with live_stack(sim, adapter, path, SYM) as live:
            with caplog.at_level(logging.WARNING, logger="botkit.execution.reconcile"):
                report = await live.gateway.reconcile()

            assert report["position_mismatches"] == 1
            assert live.gateway.health["position_mismatch"] == 1
            (warning,) = caplog.records
            assert f"{SYM}: the venue says position {fmt(size)}" in warning.getMessage()
            assert "the journal's fills say 0" in warning.getMessage()
            assert live.router.position_size(SUITE, SYM) == 0  # not overwritten
            assert live.router.fills == []


# ----- live.balance_check, through `botkit run`'s own start-up ---------------------------------


def live_yaml(tmp: Path, port: int, balance_check: bool) -> Path:
    cfg = tmp / "bot.yaml"
    cfg.write_text(f"""
mode: live
log_level: warning
venue:
  name: blocktrade
  base_url: http://127.0.0.1:{port}
  ws_url: ws://127.0.0.1:{port}
  api_key: ${{BT_KEY}}
  api_secret: ${{BT_SECRET}}
instruments:
  - symbol: BTC/USDT
    tick_size: "0.01"
    lot_size: "0.00001"
strategies:
  - name: greedy
    use: {HERE / "greedy.py"}:Greedy
    params: {{symbol: BTC/USDT, size: "0.01", price: "29000"}}
live:
  journal: {tmp / "journal.sqlite"}
  balance_check: {str(balance_check).lower()}
""")
    return cfg


@pytest.mark.parametrize("balance_check", [True, False])
async def test_live_balance_check_decides_who_refuses_an_order_the_account_cannot_pay(
    tmp_path: Path, balance_check: bool
) -> None:
    from botkit.simulator.blocktrade import DEFAULT_API_KEY, DEFAULT_API_SECRET

    # The account holds 100 USDT; the strategy buys 0.01 BTC at 29000 (290 USDT).
    async with running_simulator(
        "blocktrade", run_market=False, balances={"USDT": "100", "BTC": "0"}
    ) as sim:
        sim.exchange.step()
        env = {"BT_KEY": DEFAULT_API_KEY, "BT_SECRET": DEFAULT_API_SECRET}
        config = load_config(live_yaml(tmp_path, sim.port, balance_check), env=env)

        summary: dict[str, Any] = await run_live(config, duration_s=1.0)

        refusals = [code for _, what, code, _ in sim.exchange.rejected if what == "place"]
        if balance_check:
            # Refused here, as a backtest would: the venue never heard of it.
            assert summary["rejects"] == {"insufficient_balance": 1}
            assert sim.exchange.requests["place"] == 0 and refusals == []
        else:
            # Sent, and the venue refuses it for itself.
            assert summary["rejects"] == {}
            assert sim.exchange.requests["place"] == 1 and refusals == ["insufficient_funds"]
