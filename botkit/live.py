"""`botkit run`: paper and live trading on the one path.

live:  venue websocket market data -> engine -> risk -> router -> LiveGateway -> venue
paper: venue websocket market data -> engine -> risk -> router -> SimVenue (in process)

A live run starts from the journal: the orders it knows, the fills already
counted, the user-trades cursor and the last nonce. It reconciles with the
venue before the first strategy hook runs, and again every
``live.reconcile_interval``. SIGINT or SIGTERM (or ``--duration``) stops it:
strategies' ``on_stop``, open orders cancelled if ``live.cancel_on_stop``,
requests in flight awaited, the journal closed, exit status 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from botkit.backtest.runner import make_strategies
from botkit.book import OrderBook
from botkit.config import BotConfig
from botkit.engine import Engine
from botkit.execution import ExecutionRouter
from botkit.journal import Journal
from botkit.model import Instrument
from botkit.redact import reveal
from botkit.risk import RiskModule
from botkit.venues.base import VenueAdapter
from botkit.venues.live import LiveGateway
from botkit.venues.sim import SimVenue

log = logging.getLogger("botkit.live")

ADAPTERS = {
    "blocktrade": ("botkit.venues.blocktrade.adapter", "BlockTradeAdapter"),
    "alp": ("botkit.venues.alp.adapter", "AlpAdapter"),
    "alpha5": ("botkit.venues.alpha5.adapter", "Alpha5Adapter"),
}
TICK_S = 0.1  # how often wall-clock timers are checked when the market is quiet


class JournalNonce:
    """A nonce source whose every value is persisted before use: it never goes backwards."""

    def __init__(self, journal: Journal, key: str, unit: str = "ms") -> None:
        self.journal = journal
        self.key = key
        self.div = 1_000_000 if unit == "ms" else 1_000

    def next(self) -> int:
        return self.journal.reserve_nonce(self.key, time.time_ns() // self.div)

    @property
    def last(self) -> int:
        return self.journal.last_nonce(self.key)


def make_adapter(
    name: str,
    base_url: str,
    ws_url: str | None,
    api_key: str | None,
    api_secret: str | None,
    nonce: Any = None,
    options: dict[str, Any] | None = None,
) -> VenueAdapter:
    if name not in ADAPTERS:
        raise ValueError(f"no live adapter for venue {name!r}: choose one of {sorted(ADAPTERS)}")
    module, cls = ADAPTERS[name]
    adapter_cls = getattr(importlib.import_module(module), cls)
    return adapter_cls(  # type: ignore[no-any-return]
        base_url, ws_url, api_key=api_key, api_secret=api_secret, nonce=nonce, **(options or {})
    )


@asynccontextmanager
async def _venue(config: BotConfig, journal: Journal) -> AsyncIterator[VenueAdapter]:
    """The configured venue's adapter; with ``live.simulator`` against an in-process simulator."""
    venue = config.venue
    async with AsyncExitStack() as stack:
        base_url, ws_url = venue.base_url, venue.ws_url
        key = reveal(venue.api_key) if venue.api_key is not None else None
        secret = reveal(venue.api_secret) if venue.api_secret is not None else None
        options = dict(venue.options)
        if config.live.simulator:
            from botkit.simulator.server import running_simulator

            sim = await stack.enter_async_context(
                running_simulator(venue.name, seed=config.live.simulator_seed)
            )
            base_url, ws_url = sim.base_url, sim.ws_url
            if key is None:  # the simulator's own test credentials
                proto = importlib.import_module(f"botkit.simulator.{venue.name}")
                key = getattr(proto, "DEFAULT_API_KEY", None)
                secret = getattr(proto, "DEFAULT_API_SECRET", None)
            log.info("trading against the local %s simulator at %s", venue.name, base_url)
        if base_url is None:
            raise ValueError(f"venue.base_url is needed to trade on {venue.name}")
        nonce = JournalNonce(journal, f"{venue.name}:nonce")
        adapter = make_adapter(venue.name, base_url, ws_url, key, secret, nonce, options)
        await adapter.connect()
        stack.push_async_callback(adapter.close)
        yield adapter


def _instruments(config: BotConfig, venue: dict[str, Instrument]) -> dict[str, Instrument]:
    """The configured symbols with the venue's own rules (the venue is the authority)."""
    out = {}
    for sym, inst in config.make_instruments().items():
        if sym not in venue:
            raise ValueError(f"{sym} is not listed on {config.venue.name}: {sorted(venue)}")
        out[sym] = venue[sym]
        if venue[sym].tick_size != inst.tick_size or venue[sym].lot_size != inst.lot_size:
            log.warning("%s: bot.yaml's tick/lot differ from the venue's; using the venue's", sym)
    return out


async def run_live(config: BotConfig, duration_s: float | None = None) -> dict[str, Any]:
    """Run until a signal or ``duration_s``; returns a short account of the run."""
    journal = Journal(config.resolve_path(config.live.journal), venue=config.venue.name)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        async with _venue(config, journal) as adapter:
            return await _run(config, adapter, journal, stop, duration_s)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        journal.close()


async def _run(
    config: BotConfig,
    adapter: VenueAdapter,
    journal: Journal,
    stop: asyncio.Event,
    duration_s: float | None,
) -> dict[str, Any]:
    instruments = _instruments(config, await adapter.instruments())
    books = {s: OrderBook(s) for s in instruments}
    live = config.mode == "live"
    run_id = journal.reserve_nonce("run", int(time.time()))
    if live:
        router = ExecutionRouter(instruments, await adapter.balances(), id_prefix=f"r{run_id:x}")
        router.restore(journal.orders(), journal.fills())
        gateway = LiveGateway(
            adapter, router, journal, request_timeout_s=config.live.request_timeout / 1e9
        )
        venue: Any = gateway
    else:
        router = ExecutionRouter(
            instruments, dict(config.account.balances), id_prefix=f"p{run_id:x}"
        )
        sim = config.sim
        venue = SimVenue(
            instruments,
            books,
            router,
            latency_ns=sim.latency,
            slippage_bps=sim.slippage_bps,
            queue_position=sim.queue_position,
        )
    router.attach(venue)
    engine = Engine(
        instruments,
        make_strategies(config),
        RiskModule(config.risk),
        router,
        venue,
        books=books,
        cancel_on_stop=config.live.cancel_on_stop,
    )
    if live:
        gateway.on_change = engine.venue_changed
        report = await gateway.reconcile()
        log.info("reconciled with %s: %s", adapter.name, report)
        gateway.start_fills()
    engine.start(time.time_ns())
    tasks = [
        asyncio.create_task(_feed(engine, adapter, list(instruments))),
        asyncio.create_task(_clock(engine)),
    ]
    if live:
        tasks.append(asyncio.create_task(_reconcile_every(gateway, config.live.reconcile_interval)))
    try:
        if duration_s is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), duration_s)
        else:
            await stop.wait()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        engine.now_ns = max(engine.now_ns, time.time_ns())
        engine.stop()
        if live:
            await gateway.drain()
            with contextlib.suppress(Exception):
                await gateway.catch_up()
            await gateway.close()
    return {
        "mode": config.mode,
        "events": engine.events,
        "orders": len(router.orders),
        "fills": len(router.fills),
        "rejects": dict(engine.rejects),
        "positions": {f"{s}:{sym}": str(p.size) for (s, sym), p in router.positions.items()},
    }


async def _feed(engine: Engine, adapter: VenueAdapter, symbols: list[str]) -> None:
    while True:
        try:
            async for ev in adapter.market_stream(symbols):
                engine.dispatch(ev)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("market data stream failed; reconnecting")
        await asyncio.sleep(1.0)


async def _clock(engine: Engine) -> None:
    while True:
        engine.tick(time.time_ns())
        await asyncio.sleep(TICK_S)


async def _reconcile_every(gateway: LiveGateway, interval_ns: int) -> None:
    while True:
        await asyncio.sleep(interval_ns / 1e9)
        try:
            await gateway.reconcile()
        except Exception:
            log.exception("reconciliation failed; will retry")
