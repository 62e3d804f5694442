"""``botkit feed``: one venue's market data on MQTT, for any number of bots.

The feed connects to the configured venue as a paper or live run does
(``venue:``, ``live.simulator``, the journal for nonces) and publishes the
normalised market events of the configured instruments under
``<prefix>/feed/<venue>/<symbol level>/<stream>`` (``botkit.ops.topics``):
``trades``, ``book`` (snapshots and deltas), ``ticker`` and ``bars``. A bot
with ``data.source: mqtt`` takes them instead of the venue's own stream
(``botkit.ops.marketdata``). docs/operations.md has the topics and payloads.

Sequence numbers: each (symbol, stream) counts its messages from 1, within one
``session`` (the feed process; a restarted feed starts a new session), so a
consumer sees a lost message as a gap. On ``book`` every venue snapshot and
delta is the next number; a consumer that saw a gap asks for a snapshot on
``.../<symbol level>/book/request`` and the feed answers on the ``book`` topic
itself with its whole book, marked ``requested`` and carrying the seq of the
last change it holds (it is that book, not a new change). On the one topic
the answer can never overtake or trail the deltas around it: MQTT keeps one
publisher's order on a topic. Requests for a symbol are answered at most every
:data:`MIN_SNAPSHOT_INTERVAL_S` (those arriving meanwhile share one answer).

The retained ``<prefix>/feed/<venue>/status`` says whether the feed runs, its
session and its health (with an ``offline`` last will). Publishing goes through
the bot's bounded :class:`~botkit.ops.publisher.Publisher`: the venue's stream
is never held up by the broker, and a full queue drops the oldest messages,
which consumers see as gaps.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import signal
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import aiomqtt

from botkit.book import OrderBook
from botkit.events import BookSnapshot
from botkit.ops import feedpayloads, payloads
from botkit.ops.client import make_client, settings_from
from botkit.ops.health import FeedHealth
from botkit.ops.publisher import Publisher
from botkit.ops.status import botkit_version
from botkit.ops.topics import BOOK, BOOK_REQUEST, STREAMS, FeedTopics, symbol_level
from botkit.redact import redact

if TYPE_CHECKING:
    from botkit.config import BotConfig
    from botkit.venues.kit.adapter import VenueAdapter

log = logging.getLogger("botkit.ops.feed")

MIN_SNAPSHOT_INTERVAL_S = 0.25  # at most one requested snapshot per symbol this often
CLOSE_TIMEOUT_S = 3.0
RESTART_DELAY_S = 1.0  # after the venue's stream failed


class FeedError(Exception):
    """The feed could not start (no mqtt: section, the venue unreachable or refusing,
    a symbol the venue does not list). The message is one line."""


def levels_of(symbols: Sequence[str]) -> dict[str, str]:
    """Topic level -> symbol; ``ValueError`` when a symbol cannot be a topic level or two
    symbols would share one (``BTC/USDT`` and ``BTC-USDT``)."""
    out: dict[str, str] = {}
    for symbol in symbols:
        level = symbol_level(symbol)
        if level in out:
            raise ValueError(f"{out[level]!r} and {symbol!r} would share the topic level {level!r}")
        out[level] = symbol
    return out


class MarketFeed:
    """Publishes one venue's market events and answers snapshot requests."""

    def __init__(self, config: BotConfig, symbols: Sequence[str]) -> None:
        mqtt = config.mqtt
        if mqtt is None:
            raise FeedError("the feed publishes on the broker of bot.yaml's mqtt: section")
        self.venue = config.venue.name
        self.topics = FeedTopics(mqtt.topic_prefix, self.venue)
        self.session = uuid.uuid4().hex[:12]
        self.symbols = list(symbols)
        self.symbol_of_level = levels_of(self.symbols)
        self.level_of = {s: lvl for lvl, s in self.symbol_of_level.items()}
        self.books = {s: OrderBook(s) for s in self.symbols}
        self.seq: Counter[tuple[str, str]] = Counter()  # (symbol, stream) -> last seq
        self.published: Counter[str] = Counter()  # by stream
        self.requests = 0
        self.snapshots_sent = 0
        self.health = FeedHealth()
        self.started_ns = time.time_ns()
        self.version = botkit_version()
        self._secrets = config.secrets()
        self._interval_s = mqtt.interval / 1e9
        self._status_interval_s = config.live.status_interval / 1e9
        self._client_id = f"botkit-feed-{self.venue}-{mqtt.bot_id}"
        self.settings = settings_from(mqtt, config.resolve_path)
        self._pending: set[str] = set()
        self._answered: dict[str, float] = {}
        self.publisher = Publisher(
            self.topics,
            self._client,
            self.status_body,
            qos=mqtt.qos,
            queue_size=mqtt.queue_size,
            reconnect_delay_s=mqtt.reconnect_delay / 1e9,
            subscriptions=(self.topics.requests,),
            on_message=self._on_message,
            envelope=self._envelope,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    # ----- the wire ------------------------------------------------------------------------

    def _envelope(self, seq: int, ts_ns: int, body: Mapping[str, Any]) -> dict[str, Any]:
        return feedpayloads.envelope(self.venue, self.session, seq, ts_ns, body)

    def _client(self) -> aiomqtt.Client:
        will = aiomqtt.Will(
            self.topics.status,
            payloads.dumps(self._envelope(0, time.time_ns(), self._head("offline", False))),
            qos=1,
            retain=True,
        )
        return make_client(self.settings, identifier=self._client_id, will=will)

    # ----- market events -----------------------------------------------------------------

    def publish(self, ev: Any) -> None:
        """Queue one market event from the venue on its stream (the next seq)."""
        stream = feedpayloads.stream_of(ev)
        level = self.level_of.get(ev.symbol)
        if stream is None or level is None:
            return
        if stream == BOOK:
            book = self.books[ev.symbol]
            if ev.__class__ is BookSnapshot:
                book.apply_snapshot(ev)
            else:
                book.apply_delta(ev)
        key = (ev.symbol, stream)
        seq = self.seq[key] + 1
        self.seq[key] = seq
        now = self.health.last_ns = time.time_ns()
        self.published[stream] += 1
        self.publisher.put(f"{level}/{stream}", now, feedpayloads.body, ev, seq=seq)

    def snapshot_of(self, symbol: str) -> BookSnapshot:
        """The feed's whole book of ``symbol`` as it stands."""
        book = self.books[symbol]
        return BookSnapshot(book.ts_ns, symbol, book.bid_levels(), book.ask_levels())

    # ----- snapshot requests ---------------------------------------------------------------

    async def _on_message(self, message: aiomqtt.Message) -> None:
        parsed = self.topics.parse(str(message.topic))
        if parsed is None or parsed[1] != BOOK_REQUEST:
            return
        symbol = self.symbol_of_level.get(parsed[0])
        if symbol is None:
            log.debug("feed: a snapshot request for %s, which this feed does not carry", parsed[0])
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug("feed: snapshot of %s asked for: %s", symbol, _text(message.payload))
        self.request(symbol)

    def request(self, symbol: str) -> None:
        """Answer a request for ``symbol``'s book: now, or when its interval is over."""
        self.requests += 1
        if symbol in self._pending:
            return  # one answer serves every request that arrived meanwhile
        self._pending.add(symbol)
        wait = self._answered.get(symbol, -math.inf) + MIN_SNAPSHOT_INTERVAL_S - time.monotonic()
        asyncio.get_running_loop().call_later(max(0.0, wait), self._answer, symbol)

    def _answer(self, symbol: str) -> None:
        self._pending.discard(symbol)
        self._answered[symbol] = time.monotonic()
        seq = self.seq[(symbol, BOOK)]
        if seq == 0:
            return  # no book yet: the venue's first snapshot goes out by itself
        self.snapshots_sent += 1
        self.publisher.put(
            f"{self.level_of[symbol]}/{BOOK}",
            time.time_ns(),
            _requested,
            self.snapshot_of(symbol),
            seq=seq,
        )

    # ----- status --------------------------------------------------------------------------

    def _head(self, state: str, online: bool) -> dict[str, Any]:
        return {
            "state": state,
            "online": online,
            "schema": payloads.SCHEMA_VERSION,
            "version": self.version,
            "symbols": self.symbols,
            "started_at": payloads.iso(self.started_ns),
        }

    def status_body(self, final: bool = False) -> dict[str, Any]:
        out = self._head("stopped" if final else "running", not final)
        now = time.time_ns()
        out["uptime_s"] = round((now - self.started_ns) / 1e9, 3)
        health = self.health.snapshot(now)
        if health["last_error"] is not None:
            health["last_error"] = redact(str(health["last_error"]), self._secrets)
        out["websocket"] = health
        out["published"] = {s: self.published[s] for s in STREAMS}
        out["requests"] = self.requests
        out["snapshots_sent"] = self.snapshots_sent
        out["telemetry"] = self.publisher.stats()
        return out

    def summary(self) -> dict[str, Any]:
        """What the feed did, for the command's last line."""
        return {
            "venue": self.venue,
            "session": self.session,
            "symbols": self.symbols,
            "published": dict(self.published),
            "requests": self.requests,
            "snapshots_sent": self.snapshots_sent,
            "telemetry": self.publisher.stats(),
        }

    def line(self) -> str:
        """The feed's status line on the terminal."""
        stats = self.publisher.stats()
        sent = ", ".join(f"{s} {self.published[s]}" for s in STREAMS if self.published[s]) or "0"
        return (
            f"published {sent} | snapshot requests {self.requests}, answered "
            f"{self.snapshots_sent} | {self.health.line()} | mqtt "
            f"{'connected' if stats['connected'] else 'DOWN'}, queued {stats['queued']}, "
            f"dropped {stats['dropped']}"
        )

    # ----- the run -------------------------------------------------------------------------

    def start(self) -> None:
        """Connect to the broker (in the background) and keep the status current."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self.publisher.run(), name="feed-publisher"),
                asyncio.create_task(self._every(), name="feed-status"),
            ]

    async def _every(self) -> None:
        status_due = time.monotonic()
        line_due = status_due + self._status_interval_s
        while True:
            now = time.monotonic()
            if now >= status_due:
                status_due = now + self._interval_s
                self.publisher.status_changed()
            if now >= line_due:
                line_due = now + self._status_interval_s
                log.info("feed: %s", self.line())
            await asyncio.sleep(max(0.05, min(status_due, line_due) - time.monotonic()))

    async def pump(self, adapter: VenueAdapter) -> None:
        """The venue's market events onto the topics, restarting the stream when it fails."""
        from botkit.execution.retry import describe

        while True:
            try:
                self.health.started()
                async for ev in adapter.market_stream(self.symbols):
                    self.publish(ev)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.health.failed(exc)
                log.warning(
                    "feed: the venue's market data stream failed (%s); again in 1s", describe(exc)
                )
                log.debug("market data stream failure", exc_info=True)
            await asyncio.sleep(RESTART_DELAY_S)

    async def close(self) -> None:
        """Send what is queued and a retained ``stopped`` status, then disconnect."""
        if self._closed:
            return
        self._closed = True
        if not self._tasks:
            return
        runner, ticker = self._tasks
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        await self.publisher.close(self.status_body(final=True), CLOSE_TIMEOUT_S)
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


def _requested(snap: BookSnapshot) -> dict[str, Any]:
    return feedpayloads.body(snap, requested=True)


def _text(raw: Any) -> str:
    data = bytes(raw) if isinstance(raw, bytes | bytearray) else str(raw or "").encode()
    try:
        return json.dumps(json.loads(data))[:200]
    except ValueError:
        return repr(data[:200])


async def run_feed(config: BotConfig, duration_s: float | None = None) -> dict[str, Any]:
    """Run ``botkit feed`` until a signal or ``duration_s``; returns what it published.

    Raises :class:`FeedError` (one line, its cause chained) when it cannot start.
    """
    from botkit.execution.retry import describe
    from botkit.journal import Journal, JournalError
    from botkit.node import open_venue

    venue = config.venue.name
    what = f"cannot start the feed of {venue}"
    if config.mqtt is None:
        raise FeedError(
            f"{what}: bot.yaml has no mqtt: section; the feed publishes on the broker it names "
            "(add mqtt: {host: ..., bot_id: ...})"
        )
    if venue == "sim":
        from botkit.venues import registry

        live = ", ".join(n for n in registry.names("trading") if n != "sim")
        raise FeedError(
            f"{what}: sim is the backtests' simulated venue, with no market of its own; set "
            f"venue.name to a live venue ({live}), with live.simulator: true to try it locally"
        )
    symbols = [i.symbol for i in config.instruments]
    try:
        feed = MarketFeed(config, symbols)
    except ValueError as exc:
        raise FeedError(f"{what}: {exc}") from exc
    try:
        journal = Journal(config.resolve_path(config.live.journal), venue=venue)
    except (JournalError, OSError) as exc:
        raise FeedError(f"{what}: {describe(exc)}") from exc
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        async with AsyncExitStack() as stack:
            try:
                adapter = await stack.enter_async_context(open_venue(config, journal))
                listed = await adapter.instruments()
            except Exception as exc:
                log.debug("the feed failed to start", exc_info=True)
                raise FeedError(f"{what}: {describe(exc)}") from exc
            missing = [s for s in symbols if s not in listed]
            if missing:
                raise FeedError(
                    f"{what}: {', '.join(missing)} not listed there (it lists "
                    f"{', '.join(sorted(listed)[:20])})"
                )
            feed.start()
            stack.push_async_callback(feed.close)
            log.info(
                "feed: publishing %s market data of %s on %s/<symbol>/{trades,book,ticker,bars} "
                "(session %s)",
                venue,
                ", ".join(symbols),
                feed.topics.root,
                feed.session,
            )
            pump = asyncio.create_task(feed.pump(adapter), name="feed-pump")
            try:
                if duration_s is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), duration_s)
                else:
                    await stop.wait()
            finally:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
            log.info("feed stopped: %s", feed.line())
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        journal.close()
    return feed.summary()


__all__ = ["MIN_SNAPSHOT_INTERVAL_S", "FeedError", "MarketFeed", "levels_of", "run_feed"]
