"""Market data from MQTT (``data.source: mqtt``): what ``botkit feed`` publishes, as the
same event objects the venue's own stream yields.

:class:`MqttMarketData` is a drop-in for a venue adapter's ``market_stream``:
the node's feed task iterates it and hands every event to ``Engine.dispatch``.
It keeps its own connection to the broker (client id ``botkit-<bot_id>-md``),
subscribes to each configured symbol's ``trades``, ``book``, ``ticker`` and
``bars`` of the venue in ``data.venue``, and reconnects by itself with the
backoff of ``mqtt.reconnect_delay``; it never ends and never raises, except
when cancelled.

:class:`Sequencer` decides, from each message's ``session`` and ``seq``, what
reaches the engine:

- trades, tickers and bars: every message in order; a repeat (a seq already
  seen) is dropped, a gap is counted and logged and the stream goes on (a
  lost trade cannot be had again);
- the book: a delta applies only on top of the one before it (seq + 1). At
  start, after a gap and when the feed's session changes, the book is out of
  sync: deltas are dropped and a snapshot is asked for on the symbol's
  ``book/request`` topic (again every :data:`RESNAPSHOT_AFTER_S` until one
  comes); the first snapshot puts it back in sync. A snapshot that repeats the
  seq the book is at (one another bot asked for) is dropped: this bot already
  has that book.

A message that cannot be read (not JSON, a field of the wrong type) is counted
and skipped, with one warning per stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import aiomqtt

from botkit.ops import feedpayloads, payloads
from botkit.ops.client import BrokerSettings, make_client, settings_from
from botkit.ops.feedpayloads import FeedPayloadError, MarketEvent
from botkit.ops.health import FeedHealth
from botkit.ops.topics import BOOK, STREAMS, FeedTopics

if TYPE_CHECKING:
    from botkit.config import BotConfig

log = logging.getLogger("botkit.ops.marketdata")

RESNAPSHOT_AFTER_S = 2.0  # ask for a book snapshot again when none came in this long
UNANSWERED_WARNING = 3  # requests without a snapshot before the log says so (once)
MIN_BACKOFF_S = 0.1


class MarketSource(Protocol):
    """What the node's feed task iterates: a venue adapter, or :class:`MqttMarketData`."""

    def market_stream(self, symbols: list[str]) -> AsyncIterator[Any]: ...


@dataclass
class _Stream:
    session: str | None = None
    last: int | None = None  # the last seq delivered
    synced: bool = False  # book: the book is whole (a snapshot applied, no gap since)


class Sequencer:
    """Which feed messages reach the engine, by (symbol, stream): see the module notes.

    :meth:`take` answers ``(deliver, resync)`` for each message: whether it goes
    to the engine, and whether the book just fell out of sync (a gap, or the
    feed's session changed under a whole book), so a snapshot is due at once.
    It keeps the counts the run's health reports: ``gaps`` (places where
    messages were missing), ``lost`` (how many), ``repeats`` and ``resyncs``.
    """

    def __init__(self) -> None:
        self.streams: dict[tuple[str, str], _Stream] = {}
        self.gaps = 0
        self.lost = 0
        self.repeats = 0
        self.resyncs = 0
        self.dropped_unsynced = 0  # book deltas dropped while waiting for a snapshot

    def _state(self, symbol: str, stream: str) -> _Stream:
        key = (symbol, stream)
        st = self.streams.get(key)
        if st is None:
            st = self.streams[key] = _Stream()
        return st

    def in_sync(self, symbol: str) -> bool:
        """Whether ``symbol``'s book is whole."""
        st = self.streams.get((symbol, BOOK))
        return st is not None and st.synced

    def take(
        self, symbol: str, stream: str, session: str, seq: int, snapshot: bool = False
    ) -> tuple[bool, bool]:
        """``(deliver, resync)`` for one message (``snapshot``: a book snapshot)."""
        st = self._state(symbol, stream)
        was_synced = st.synced
        if session != st.session:
            if st.session is not None:
                log.info(
                    "market data: the feed's session of %s %s changed (%s -> %s): it restarted",
                    symbol,
                    stream,
                    st.session,
                    session,
                )
            st.session, st.last, st.synced = session, None, False
        last = st.last
        if stream != BOOK:
            if last is not None and seq <= last:
                self.repeats += 1
                return False, False
            if last is not None and seq > last + 1:
                self._gap(symbol, stream, last, seq)
            st.last = seq
            return True, False
        if snapshot:
            if st.synced and last is not None and seq <= last:
                return False, False  # the book we have (asked for by someone else), or older
            st.last, st.synced = seq, True
            return True, False
        if st.synced and last is not None:
            if seq == last + 1:
                st.last = seq
                return True, False
            if seq <= last:
                self.repeats += 1
                return False, False
            self._gap(symbol, stream, last, seq)
            self.resyncs += 1
            st.synced = False
            return False, True
        self.dropped_unsynced += 1
        return False, was_synced  # True: a new session just put the book out of sync

    def _gap(self, symbol: str, stream: str, last: int, seq: int) -> None:
        missing = seq - last - 1
        self.gaps += 1
        self.lost += missing
        log.warning(
            "market data: %d %s message(s) of %s missing (seq %d after %d)%s",
            missing,
            stream,
            symbol,
            seq,
            last,
            "; asking for a book snapshot" if stream == BOOK else "",
        )


class MqttMarketData:
    """The market events ``botkit feed`` publishes, for ``Engine.dispatch`` (module notes)."""

    def __init__(
        self,
        settings: BrokerSettings,
        topics: FeedTopics,
        bot_id: str,
        health: FeedHealth | None = None,
        *,
        reconnect_delay_s: float = 2.0,
        resnapshot_after_s: float = RESNAPSHOT_AFTER_S,
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.bot_id = bot_id
        self.health = health if health is not None else FeedHealth("mqtt")
        self.health.source = "mqtt"
        self.reconnect_cap_s = max(MIN_BACKOFF_S, reconnect_delay_s)
        self.resnapshot_after_s = resnapshot_after_s
        self.sequencer = Sequencer()
        self.received: Counter[str] = Counter()  # by stream, delivered or not
        self.delivered: Counter[str] = Counter()
        self.malformed: Counter[str] = Counter()
        self.requests_sent = 0
        self.feed_state: str | None = None  # the feed's retained status: running, stopped...
        self.connects = 0
        self._asked: dict[str, float] = {}  # symbol -> when a snapshot was last asked for
        self._why: dict[str, str] = {}  # symbol -> why the next request is made
        self._unanswered: Counter[str] = Counter()  # requests since the book was last whole
        self._wake = asyncio.Event()

    @classmethod
    def from_config(cls, config: BotConfig, health: FeedHealth | None = None) -> MqttMarketData:
        """The source of a bot with ``data.source: mqtt`` (the broker of its ``mqtt:``)."""
        mqtt = config.mqtt
        if mqtt is None:
            raise ValueError("data.source: mqtt needs the mqtt: section")
        venue = config.data.venue or config.venue.name
        return cls(
            settings_from(mqtt, config.resolve_path),
            FeedTopics(mqtt.topic_prefix, venue),
            mqtt.bot_id,
            health,
            reconnect_delay_s=mqtt.reconnect_delay / 1e9,
        )

    def market_stream(self, symbols: list[str]) -> AsyncIterator[MarketEvent]:
        return self._stream(list(symbols))

    # ----- the connection ------------------------------------------------------------------

    async def _stream(self, symbols: list[str]) -> AsyncIterator[MarketEvent]:
        routes = {self.topics.stream(s, k): (s, k) for s in symbols for k in STREAMS}
        backoff = MIN_BACKOFF_S
        while True:
            client = make_client(self.settings, identifier=f"botkit-{self.bot_id}-md")
            connected = False
            try:
                async with client:
                    connected = True
                    self.connects += 1
                    if not self.health.open:  # the first start is the node's feed task's
                        self.health.started()
                    if self.connects > 1:
                        log.info("market data: connected to the broker again")
                    backoff = MIN_BACKOFF_S
                    for topic in routes:
                        await client.subscribe(topic, qos=1)
                    await client.subscribe(self.topics.status, qos=1)
                    asker = asyncio.create_task(self._keep_asking(client, symbols))
                    try:
                        async for message in client.messages:
                            for ev in self._read(message, routes):
                                yield ev
                    finally:
                        asker.cancel()
                        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                            await asker
            except aiomqtt.MqttError as exc:
                if self.health.open:  # told once per loss, not once per attempt
                    self.health.failed(exc)
                    log.warning(
                        "market data: %s the broker at %s:%d (%s); reconnecting",
                        "lost" if connected else "cannot reach",
                        self.settings.host,
                        self.settings.port,
                        exc,
                    )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.reconnect_cap_s)

    async def _keep_asking(self, client: aiomqtt.Client, symbols: Sequence[str]) -> None:
        """Ask for a snapshot of every book out of sync: at once, then again while none came."""
        while True:
            self._wake.clear()
            now = time.monotonic()
            for symbol in symbols:
                if self.sequencer.in_sync(symbol):
                    self._unanswered.pop(symbol, None)
                    continue
                asked = self._asked.get(symbol)
                if asked is None or now - asked >= self.resnapshot_after_s:
                    reason = self._why.pop(symbol, "start" if asked is None else "retry")
                    try:
                        await self._ask(client, symbol, reason)
                    except aiomqtt.MqttError:
                        return  # the connection is going: the reader sees it and reconnects
                    self._unanswered[symbol] += 1
                    if self._unanswered[symbol] == UNANSWERED_WARNING:
                        log.warning(
                            "market data: %d requests for a book snapshot of %s and none came: "
                            "is `botkit feed` running for %s with %s, on this broker, under "
                            "topic prefix %r?",
                            UNANSWERED_WARNING,
                            symbol,
                            self.topics.venue,
                            symbol,
                            self.topics.prefix,
                        )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(0.25, self.resnapshot_after_s / 4))

    async def _ask(self, client: aiomqtt.Client, symbol: str, reason: str) -> None:
        self._asked[symbol] = time.monotonic()
        st = self.sequencer.streams.get((symbol, BOOK))
        body = {
            "from": self.bot_id,
            "symbol": symbol,
            "reason": reason,
            "session": st.session if st else None,
            "seq": st.last if st else None,
            "ts": payloads.iso(time.time_ns()),
        }
        self.requests_sent += 1
        await client.publish(self.topics.request(symbol), payloads.dumps(body), qos=1)

    def _read(
        self, message: aiomqtt.Message, routes: dict[str, tuple[str, str]]
    ) -> list[MarketEvent]:
        topic = str(message.topic)
        route = routes.get(topic)
        if route is None:
            if topic == self.topics.status:
                self._feed_status(message.payload)
            return []
        symbol, stream = route
        self.received[stream] += 1
        try:
            p = json.loads(_bytes(message.payload))
            session, seq = feedpayloads.header(p)
            snapshot = stream == BOOK and feedpayloads.is_snapshot(p)
            ev = feedpayloads.decode(stream, p, symbol)
        except (ValueError, FeedPayloadError) as exc:
            self.malformed[stream] += 1
            level = logging.WARNING if self.malformed[stream] == 1 else logging.DEBUG
            log.log(level, "market data: skipped a message on %s (%s)", topic, exc)
            return []
        deliver, resync = self.sequencer.take(symbol, stream, session, seq, snapshot)
        self.health.gaps = self.sequencer.gaps
        self.health.resyncs = self.sequencer.resyncs
        if resync:  # the asker sends the request at once
            self._asked.pop(symbol, None)
            self._why[symbol] = "gap"
            self._wake.set()
        if not deliver:
            return []
        self.delivered[stream] += 1
        return [ev]

    def _feed_status(self, raw: Any) -> None:
        try:
            state = json.loads(_bytes(raw)).get("state")
        except (ValueError, AttributeError):
            return
        if state != self.feed_state:
            if state == "running":
                log.info("market data: the %s feed is running", self.topics.venue)
            elif self.feed_state is not None or state is not None:
                log.warning(
                    "market data: the %s feed is %s: no market data until it runs again",
                    self.topics.venue,
                    state,
                )
            self.feed_state = state


def _bytes(raw: Any) -> bytes:
    return bytes(raw) if isinstance(raw, bytes | bytearray) else str(raw or "").encode()


__all__ = ["RESNAPSHOT_AFTER_S", "MarketSource", "MqttMarketData", "Sequencer"]
