"""The node: builds the whole bot for a mode from a ``BotConfig``, and runs it.

Every mode assembles the same parts; only the ends differ:

==========  ===================================  =======================================
mode        market data from                     orders go to
==========  ===================================  =======================================
backtest    the catalog (``backtest_data/``)     the matching engine (``venues.sim``)
paper       the venue's public websocket         the matching engine, in process
live        the venue's public websocket         the venue, through ``execution.live``
==========  ===================================  =======================================

The parts are built in one order and each gets its collaborators at
construction: strategies are registered (``plugins``), which says who wants
order and fill updates; the router posts those to one ``Updates`` queue; the
venue reports outcomes to the router; the engine runs the strategies, the risk
module and the router, and delivers the queue. ``router.attach(venue)`` is the
one binding made after construction, because the router and its venue report
to each other.

A live run starts from the journal: the orders it knows, the fills already
counted, the user-trades cursor and the last nonce, and from the venue's
balances. It reconciles with the venue before the first strategy hook runs (open
orders, fills, positions, balances; every open spot order locks its part of the
balances again), and again every ``live.reconcile_interval``. With
``live.balance_check`` (the default) the risk module refuses a spot order the
free balance cannot pay for, as in a backtest. SIGINT or SIGTERM (or ``--duration``) stops it:
strategies' ``on_stop``, open orders cancelled if ``live.cancel_on_stop``,
requests in flight awaited, the journal closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botkit.book import OrderBook
from botkit.config import BotConfig
from botkit.engine import NO_MARKET, Engine, SimulatedMarket
from botkit.events import Trade
from botkit.execution.freshness import PostOnlyRecheck
from botkit.execution.recorder import Recorder, RecordingUpdates
from botkit.execution.router import ExecutionRouter, VenuePort
from botkit.execution.updates import Updates
from botkit.journal import Journal, JournalError
from botkit.model import Instrument
from botkit.ops.health import FeedHealth
from botkit.plugins import LoadedStrategy, StrategySpec, load_strategies, strategy_symbols
from botkit.redact import Secret, reveal
from botkit.risk import RiskModule
from botkit.venues import registry
from botkit.venues.sim import MatchingEngine

if TYPE_CHECKING:
    # Live mode's parts (aiohttp among them) load when a live run starts: a backtest
    # never pays for them.
    from botkit.execution.live import LiveGateway
    from botkit.execution.recorder import UpdatesTap
    from botkit.jobs import NodeJobs
    from botkit.ops.marketdata import MarketSource
    from botkit.ops.service import OpsService
    from botkit.recording import MarketRecorder
    from botkit.venues.kit.adapter import VenueAdapter

log = logging.getLogger("botkit.node")

TICK_S = 0.1  # how often wall-clock timers are checked when the market is quiet
# Nonces stored in the journal once per this many (a high-water mark a restart
# starts above), not once per signed request: a commit less before every order.
NONCE_BLOCK = 1000


# ----- strategies ---------------------------------------------------------------------------


def make_strategies(config: BotConfig) -> list[StrategySpec]:
    """One instance of each configured strategy, built as ``Cls(params)``."""
    known = {i.symbol for i in config.instruments}
    specs = []
    for sc in config.strategies:
        params = dict(sc.params)
        timers, window = config.schedules(sc)
        specs.append(
            StrategySpec(
                sc.name,
                sc.load_class()(params),
                params,
                strategy_symbols(params, known),
                timers,
                window,
            )
        )
    return specs


def _updates_for(
    strategies: Sequence[LoadedStrategy],
    wake: Callable[[], None] | None = None,
    recorder: Recorder | None = None,
    log_rejects: bool = False,
    tap: UpdatesTap | None = None,
) -> Updates:
    wants_orders = [s.name for s in strategies if "on_order" in s.hooks]
    wants_fills = [s.name for s in strategies if "on_fill" in s.hooks]
    if recorder is None and not log_rejects and tap is None:
        return Updates(wants_orders, wants_fills, wake)
    return RecordingUpdates(wants_orders, wants_fills, wake, recorder, tap)


def assemble(
    instruments: dict[str, Instrument],
    strategies: Sequence[StrategySpec],
    venue: Callable[[ExecutionRouter, dict[str, OrderBook]], VenuePort],
    *,
    risk_limits: Any = None,
    balances: Mapping[str, Decimal] | None = None,
    market: Callable[[VenuePort], SimulatedMarket] | None = None,
    wake: Callable[[], None] | None = None,
    id_prefix: str = "bk",
    equity_interval_ns: int = 60_000_000_000,
    cancel_on_stop: bool = False,
    recorder: Recorder | None = None,
    log_rejects: bool = False,
    leverage: Mapping[str, Decimal] | Decimal | None = None,
    balance_check: bool | None = None,
    tap: UpdatesTap | None = None,
    trade_path: str = "auto",
) -> Engine:
    """The one wiring every mode uses.

    ``venue(router, books)`` builds what orders go to; ``market(venue)`` its
    matching side when it matches against the engine's market data (the sim
    venue), else the engine runs with none. ``recorder`` journals every order
    change and fill (paper mode, where no gateway does); ``log_rejects`` logs
    each reject at info level (paper and live, where an operator watches);
    ``balance_check`` turns the risk module's spot balance check on or off
    (None: on where a simulated market keeps the account; see ``Engine``);
    ``tap`` sees every order change and fill too (MQTT telemetry, ``botkit.ops``).
    """
    loaded = load_strategies(strategies)
    updates = _updates_for(loaded, wake, recorder, log_rejects, tap)
    books = {s: OrderBook(s) for s in instruments}
    router = ExecutionRouter(
        instruments,
        balances=dict(balances or {}),
        updates=updates,
        id_prefix=id_prefix,
        leverage=leverage,
    )
    port = venue(router, books)
    router.attach(port)
    return Engine(
        instruments,
        loaded,
        RiskModule(risk_limits),
        router,
        updates,
        market=market(port) if market is not None else NO_MARKET,
        equity_interval_ns=equity_interval_ns,
        cancel_on_stop=cancel_on_stop,
        books=books,
        balance_check=balance_check,
        trade_path=trade_path,
    )


def build_sim_engine(
    instruments: dict[str, Instrument],
    strategies: Sequence[StrategySpec],
    risk_limits: Any = None,
    balances: Mapping[str, Decimal] | None = None,
    latency_ns: int = 0,
    slippage_bps: Decimal | int | str = 0,
    queue_position: bool = True,
    equity_interval_ns: int = 60_000_000_000,
    cancel_on_stop: bool = False,
    id_prefix: str = "bk",
    bar_fill: str = "next_open",
    bar_volume_share: Decimal | int | str = Decimal("0.1"),
    leverage: Mapping[str, Decimal] | Decimal | None = None,
    funding_rate: Decimal | int | str = 0,
    funding_interval_ns: int = 8 * 3600 * 10**9,
    funding_rates: Mapping[str, Sequence[tuple[int, Decimal]]] | None = None,
    trade_path: str = "auto",
) -> Engine:
    """An engine whose orders go to the matching engine (backtest and paper);
    ``funding_rates`` are recorded (time, rate) per perpetual, paid at their times;
    ``trade_path`` is the engine's (auto, scan or events: the same run each way)."""

    def sim(router: ExecutionRouter, books: dict[str, OrderBook]) -> MatchingEngine:
        return MatchingEngine(
            instruments,
            books,
            router,
            latency_ns=latency_ns,
            slippage_bps=slippage_bps,
            queue_position=queue_position,
            bar_fill=bar_fill,
            bar_volume_share=bar_volume_share,
            leverage=leverage,
            funding_rate=funding_rate,
            funding_interval_ns=funding_interval_ns,
            funding_rates=funding_rates,
        )

    return assemble(
        instruments,
        strategies,
        sim,
        risk_limits=risk_limits,
        balances=balances,
        market=lambda port: port,  # type: ignore[arg-type,return-value]
        id_prefix=id_prefix,
        equity_interval_ns=equity_interval_ns,
        cancel_on_stop=cancel_on_stop,
        leverage=leverage,
        trade_path=trade_path,
    )


def build_backtest(
    config: BotConfig,
    funding_rates: Mapping[str, Sequence[tuple[int, Decimal]]] | None = None,
) -> Engine:
    """The engine of ``botkit backtest`` for a loaded bot.yaml (``funding_rates``: the
    catalog's, per symbol)."""
    sim = config.sim
    return build_sim_engine(
        config.make_instruments(),
        make_strategies(config),
        config.risk,
        balances=dict(config.account.balances),
        latency_ns=sim.latency,
        slippage_bps=sim.slippage_bps,
        queue_position=sim.queue_position,
        equity_interval_ns=config.output.equity_interval,
        bar_fill=sim.bar_fill,
        bar_volume_share=sim.bar_volume_share,
        leverage=config.account.leverage,
        funding_rate=sim.funding_rate,
        funding_interval_ns=sim.funding_interval,
        funding_rates=funding_rates,
    )


# ----- paper and live ---------------------------------------------------------------------


def _plain(value: Any) -> Any:
    return reveal(value) if isinstance(value, Secret) else value


@asynccontextmanager
async def open_venue(config: BotConfig, journal: Journal | None) -> AsyncIterator[VenueAdapter]:
    """The configured venue's adapter; with ``live.simulator`` against an in-process simulator.

    Without a journal the session is public (market data only, as ``botkit record``
    uses it): no credentials are sent and no nonce is used.
    """
    from botkit.venues.kit.adapter import Connection

    venue = config.venue
    spec = registry.get(venue.name)
    async with AsyncExitStack() as stack:
        base_url, ws_url = venue.base_url, venue.ws_url
        credentials = {
            key: reveal(value)
            for key in (*spec.credentials, *spec.optional_credentials, "api_key", "api_secret")
            if journal is not None and (value := getattr(venue, key, None)) is not None
        }
        if config.live.simulator:
            from botkit.simulator.server import running_simulator

            sim = await stack.enter_async_context(
                running_simulator(venue.name, seed=config.live.simulator_seed)
            )
            base_url, ws_url = sim.base_url, sim.ws_url
            if not credentials and journal is not None:  # the simulator's own test credentials
                credentials = dict(sim.credentials)
            log.info("trading against the local %s simulator at %s", venue.name, base_url)
        if base_url is None:
            raise ValueError(f"venue.base_url is needed to trade on {venue.name}")
        connection = Connection(
            base_url,
            ws_url,
            credentials=credentials,
            options={k: _plain(v) for k, v in venue.options.items()},
            nonce=None
            if journal is None
            else journal.nonce_source(f"{venue.name}:nonce", block=NONCE_BLOCK),
        )
        adapter = spec.adapter_class().from_connection(connection)
        stack.push_async_callback(adapter.close)
        await adapter.connect()
        yield adapter


_VENUE_RULES = ("tick_size", "lot_size", "min_size", "max_size", "min_notional", "max_notional")


def _instruments(config: BotConfig, venue: dict[str, Instrument]) -> dict[str, Instrument]:
    """The configured symbols with the venue's own rules (the venue is the authority).

    Each rule bot.yaml sets that the venue overrides is said once, at warning
    level: a strategy sized for the config's minimum would otherwise be rejected
    with no hint why.
    """
    out = {}
    for sym, inst in config.make_instruments().items():
        if sym not in venue:
            raise ValueError(f"{sym} is not listed on {config.venue.name}: {sorted(venue)}")
        out[sym] = venue[sym]
        changed = [
            f"{rule} {mine} -> {theirs}"
            for rule in _VENUE_RULES
            if (mine := getattr(inst, rule)) is not None
            and (theirs := getattr(venue[sym], rule)) != mine
        ]
        if changed:
            log.warning(
                "%s: %s sets rules of its own; using the venue's instead of bot.yaml's: %s",
                sym,
                config.venue.name,
                ", ".join(changed),
            )
        added = [
            f"{rule} {theirs}"
            for rule in _VENUE_RULES
            if getattr(inst, rule) is None and (theirs := getattr(venue[sym], rule)) is not None
        ]
        if added:
            log.info("%s: the venue's rules: %s", sym, ", ".join(added))
    return out


class StartError(Exception):
    """A live or paper run could not start (the venue refused us, could not be reached,
    sent something unreadable, does not list a symbol...). The message is one line."""


async def run_live(config: BotConfig, duration_s: float | None = None) -> dict[str, Any]:
    """Run paper or live until a signal or ``duration_s``; returns a short account of the run.

    Any failure before the strategies start raises ``StartError`` (its cause
    chained, and logged with its traceback at debug level), after every session
    opened so far is closed.
    """
    from botkit.execution.retry import describe

    what = f"the {config.mode} run on {config.venue.name}"
    try:
        journal = Journal(
            config.resolve_path(config.live.journal),
            venue=config.venue.name,
            synchronous="FULL" if config.live.journal_sync == "full" else "NORMAL",
            order_log=True,
        )
    except (JournalError, OSError) as exc:
        raise StartError(f"cannot start {what}: {describe(exc)}") from exc
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    ops: OpsService | None = None
    try:
        async with AsyncExitStack() as stack:
            try:
                if config.mqtt is not None:
                    from botkit.ops.service import OpsService

                    ops = OpsService(config)  # first: the start's warnings go out too
                    stack.push_async_callback(ops.close)
                adapter = await stack.enter_async_context(open_venue(config, journal))
                run = await _start(config, adapter, journal, ops)
            except Exception as exc:
                log.debug("%s failed to start", what, exc_info=True)
                raise StartError(f"cannot start {what}: {describe(exc)}") from exc
            return await _serve(config, adapter, run, stop, duration_s)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        journal.close()


@dataclass
class _Started:
    """A run that has started: its engine, and its gateway when it trades live."""

    engine: Engine
    gateway: LiveGateway | None
    delivery: asyncio.Event
    # Paper mode: its orders and fills on their way to the journal.
    recorder: Recorder | None = None
    feed: FeedHealth = field(default_factory=FeedHealth)
    # MQTT telemetry and remote control, when bot.yaml has an mqtt: section.
    ops: OpsService | None = None
    # live.record: the market data the feed receives, on its way to a catalog.
    tape: MarketRecorder | None = None


def _post_only_policy(config: BotConfig) -> str:
    """The risk module's post-only policy, which the gateway applies again at send time."""
    return str(RiskModule(config.risk).limits.post_only)


async def _start(
    config: BotConfig, adapter: VenueAdapter, journal: Journal, ops: OpsService | None = None
) -> _Started:
    """Everything up to the first strategy hook: instruments, the engine, reconciliation."""
    from botkit.execution.live import LiveGateway

    instruments = _instruments(config, await adapter.instruments())
    strategies = make_strategies(config)
    tap = ops.tap if ops is not None else None
    live = config.mode == "live"
    run_id = journal.reserve_nonce("run", int(time.time()))
    delivery = asyncio.Event()
    gateways: list[LiveGateway] = []
    if live:
        balances = await adapter.balances()

        def venue(router: ExecutionRouter, books: dict[str, OrderBook]) -> VenuePort:
            router.restore(journal.orders(), journal.fills())
            gateway = LiveGateway(
                adapter,
                router,
                journal,
                request_timeout_s=config.live.request_timeout / 1e9,
                recheck=PostOnlyRecheck(_post_only_policy(config), instruments, books),
            )
            gateways.append(gateway)
            return gateway

        engine = assemble(
            instruments,
            strategies,
            venue,
            risk_limits=config.risk,
            balances=balances,
            leverage=config.account.leverage,
            wake=delivery.set,
            id_prefix=f"r{run_id:x}",
            cancel_on_stop=config.live.cancel_on_stop,
            log_rejects=True,
            balance_check=config.live.balance_check,
            tap=tap,
        )
        recorder = None
    else:
        sim = config.sim

        def venue(router: ExecutionRouter, books: dict[str, OrderBook]) -> VenuePort:
            return MatchingEngine(
                instruments,
                books,
                router,
                latency_ns=sim.latency,
                slippage_bps=sim.slippage_bps,
                queue_position=sim.queue_position,
                bar_fill=sim.bar_fill,
                bar_volume_share=sim.bar_volume_share,
                leverage=config.account.leverage,
                funding_rate=sim.funding_rate,
                funding_interval_ns=sim.funding_interval,
            )

        recorder = Recorder(journal, trade_prefix=f"p{run_id:x}")
        engine = assemble(
            instruments,
            strategies,
            venue,
            risk_limits=config.risk,
            balances=config.account.balances,
            market=lambda port: port,  # type: ignore[arg-type,return-value]
            id_prefix=f"p{run_id:x}",
            equity_interval_ns=config.output.equity_interval,
            cancel_on_stop=config.live.cancel_on_stop,
            recorder=recorder,
            log_rejects=True,
            leverage=config.account.leverage,
            tap=tap,
        )
    gateway = gateways[0] if gateways else None
    if gateway is not None:
        report = await gateway.reconcile()
        log.info("reconciled with %s: %s", adapter.name, report)
    run = _Started(
        engine, gateway, delivery, recorder, ops=ops, tape=_market_recorder(config, instruments)
    )
    if ops is not None:
        # A fill's id on MQTT is the journal's: paper trade ids carry the run's prefix.
        ops.bind(engine, strategies, run.feed, gateway, recorder.trade_prefix if recorder else None)
    return run


async def _serve(
    config: BotConfig,
    adapter: VenueAdapter,
    run: _Started,
    stop: asyncio.Event,
    duration_s: float | None,
) -> dict[str, Any]:
    """Run the started bot until ``stop`` (or ``duration_s``), then stop it cleanly."""
    engine, gateway, recorder = run.engine, run.gateway, run.recorder
    router = engine.router
    initial_balances = dict(router.balances)
    if gateway is not None:
        gateway.start_fills()
    tape = run.tape
    engine.start(time.time_ns())
    started = time.perf_counter()
    if run.ops is not None:
        run.ops.start()
    source: MarketSource = adapter
    if config.data.source == "mqtt":  # what `botkit feed` publishes, instead of the venue's
        from botkit.ops.marketdata import MqttMarketData

        source = MqttMarketData.from_config(config, run.feed)
    tasks = [
        asyncio.create_task(_feed(engine, source, list(engine.instruments), run.feed, tape)),
        asyncio.create_task(_clock(engine)),
        asyncio.create_task(_deliver(engine, run.delivery)),
        asyncio.create_task(_status_every(engine, recorder, config.live.status_interval, run.feed)),
    ]
    if tape is not None:
        tasks.append(asyncio.create_task(tape.flush_every()))
    jobs = _node_jobs(config, engine, gateway, run.ops)
    jobs.start()
    try:
        if duration_s is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), duration_s)
        else:
            await stop.wait()
    finally:
        jobs.shutdown()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        engine.now_ns = max(engine.now_ns, time.time_ns())
        engine.stop()
        if gateway is not None:
            await gateway.drain()
            with contextlib.suppress(Exception):
                await gateway.catch_up()
            engine.deliver()
            await gateway.close()
        if recorder is not None:
            _flush(recorder)
        if tape is not None:
            _close_tape(tape)
        if run.ops is not None:
            await run.ops.close()
        log.info("stopped: %s", status_line(engine, run.feed))
    summary: dict[str, Any] = {
        "mode": config.mode,
        "events": engine.events,
        "orders": len(router.orders),
        "fills": len(router.fills),
        "rejects": dict(engine.rejects),
        "positions": {f"{s}:{sym}": str(p.size) for (s, sym), p in router.positions.items()},
    }
    if gateway is not None:
        summary["health"] = gateway.health.snapshot()
    if tape is not None:
        summary["recorded"] = tape.status()
    if config.mode == "paper":
        try:
            out = _write_paper_report(
                config, engine, time.perf_counter() - started, initial_balances
            )
            summary["report"] = str(out)
        except OSError as exc:
            # The run itself went fine and its journal is written: say so, not a traceback.
            log.error("could not write the report: %s", exc)
            summary["report_error"] = str(exc)
    return summary


def _write_paper_report(
    config: BotConfig, engine: Engine, wall_s: float, initial_balances: dict[str, Decimal]
) -> Path:
    """The backtest's report of a paper run, in ``output.dir``; returns the folder."""
    from botkit.backtest.report import write_report
    from botkit.backtest.runner import collect

    out = config.resolve_path(config.output.dir)
    write_report(collect(engine, wall_s, initial_balances), out)
    log.info("report written to %s", out)
    return out


def strategy_pnl(engine: Engine) -> Decimal:
    """What the strategies made in the quote asset: realised plus unrealised PnL of the
    positions they opened (marked at the last price), net of fees paid in the quote
    asset. Unlike the change in equity, it leaves out the drift of starting holdings."""
    router = engine.router
    total = Decimal(0)
    for (_, sym), pos in router.positions.items():
        total += pos.realized_pnl
        last = engine.books[sym].last_price if sym in engine.books else None
        if pos.size and last is not None:
            total += pos.unrealized(Decimal(repr(last)))
    quote = engine.quote_asset
    return total - sum((f.fee for f in router.fills if f.fee_asset == quote), Decimal(0))


def status_line(engine: Engine, feed: FeedHealth | None = None) -> str:
    """PnL, positions, open orders, fills, rejects by code and the market data feed's
    health (``feed``), in one line."""
    router = engine.router
    equity = (
        engine.equity_now() - engine.initial_equity
        if engine.initial_equity is not None
        else Decimal(0)
    )
    positions = (
        ", ".join(f"{name}:{sym} {p.size}" for (name, sym), p in router.positions.items() if p.size)
        or "flat"
    )
    rejects = ", ".join(f"{code} {n}" for code, n in engine.rejects.most_common()) or "0"
    quote = engine.quote_asset
    line = (
        f"pnl {strategy_pnl(engine):+.2f} {quote} (equity {equity:+.2f}) | "
        f"positions {positions} | open orders {router.open_count} | "
        f"fills {len(router.fills)} | rejects {rejects}"
    )
    return line if feed is None else f"{line} | {feed.line()}"


async def _status_every(
    engine: Engine, recorder: Recorder | None, interval_ns: int, feed: FeedHealth | None = None
) -> None:
    """The status line every ``interval_ns``; a paper run's journal catches up with it."""
    while True:
        await asyncio.sleep(interval_ns / 1e9)
        if recorder is not None:
            _flush(recorder)
        log.info("status: %s", status_line(engine, feed))


def _flush(recorder: Recorder) -> None:
    try:
        recorder.flush()
    except (sqlite3.Error, OSError) as exc:
        # A full disk must not stop a paper run: what was not written stays buffered
        # for the next flush, and the report is still written at stop.
        log.error("could not write the journal: %s", exc)


async def _deliver(engine: Engine, posted: asyncio.Event) -> None:
    """Hand strategies what the venue reported, as soon as the loop is free."""
    while True:
        await posted.wait()
        posted.clear()
        engine.deliver()


def _market_recorder(
    config: BotConfig, instruments: Mapping[str, Instrument]
) -> MarketRecorder | None:
    """``live.record``: the recorder of the run's market data (None when not configured)."""
    if config.live.record is None:
        return None
    from botkit.recording import MarketRecorder

    rec = config.live.record
    return MarketRecorder(
        config.resolve_path(rec.dir), config.venue.name, flush_ns=rec.flush, instruments=instruments
    ).open()


def _close_tape(tape: MarketRecorder) -> None:
    try:
        tape.close()
    except OSError as exc:
        # What was flushed stays in its segments; the next recorder compacts them.
        log.error("could not finish the recording: %s", exc)


async def _feed(
    engine: Engine,
    adapter: MarketSource,
    symbols: list[str],
    health: FeedHealth,
    tape: MarketRecorder | None = None,
) -> None:
    books = engine.books
    while True:
        try:
            health.started()
            async for ev in adapter.market_stream(symbols):
                # The engine's clock at an event is when it arrived (what a recording
                # stores as its receive time), not the last 100 ms tick: a strategy that
                # compares times decides at the same events as in a backtest of them.
                now = tape.record(ev) if tape is not None else time.time_ns()
                engine.tick(now)
                engine.dispatch(ev)
                health.last_ns = now
                if ev.__class__ is not Trade:
                    # When the book last changed, by our clock: the send-time re-check
                    # logs how old the book it decides on is.
                    book = books.get(ev.symbol)
                    if book is not None:
                        book.received_ns = now
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            health.failed(exc)
            log.exception("market data stream failed; reconnecting")
        if tape is not None:
            tape.outage("the market data stream failed and was opened again")
        await asyncio.sleep(1.0)


async def _clock(engine: Engine) -> None:
    while True:
        engine.tick(time.time_ns())
        await asyncio.sleep(TICK_S)


def _node_jobs(
    config: BotConfig,
    engine: Engine,
    gateway: LiveGateway | None,
    ops: OpsService | None = None,
) -> NodeJobs:
    """The scheduled jobs of a live or paper run: reconciliation (live), the daily report
    (also published on MQTT with ``ops``), the treasury's sweeps and rebalancing."""
    from botkit.jobs import DailyReport, NodeJobs
    from botkit.schedule import Cron

    tz = config.schedule.timezone
    jobs = NodeJobs(tz)
    if gateway is not None:
        jobs.every("reconcile", config.live.reconcile_interval, lambda: _reconcile(gateway))
    if config.schedule.daily_report is not None:
        daily = DailyReport(
            engine,
            config.resolve_path(config.output.dir),
            tz or "UTC",
            publish=ops.publish_report if ops is not None else None,
        )
        jobs.on_cron("daily_report", Cron(config.schedule.daily_report, tz or "UTC"), daily.job)
    if config.treasury.jobs:
        from botkit.treasury.jobs import schedule_jobs

        schedule_jobs(jobs, config)
    return jobs


async def _reconcile(gateway: LiveGateway) -> None:
    from botkit.execution.retry import describe

    try:
        await gateway.reconcile()
        gateway.health.count("reconciliations")
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        # Expected now and then (a venue hiccup): counted and told in one line; the
        # traceback is for --log-level debug.
        gateway.health.count("reconcile_failed")
        log.warning("reconciliation failed (%s); will retry", describe(exc))
        log.debug("reconciliation failure", exc_info=True)


__all__ = [
    "StartError",
    "assemble",
    "build_backtest",
    "build_sim_engine",
    "make_strategies",
    "open_venue",
    "run_live",
]
