"""The outgoing side: a bounded queue the trading loop drops messages into, and one
task that keeps a broker connection and empties the queue into it.

The trading loop never waits on MQTT. :meth:`Publisher.put` appends a small
tuple of immutable values to a lane and returns; the payload is built and
sent later by the publisher's task, between market events. Each lane holds at
most ``queue_size`` messages; when the broker is away long enough to fill one,
its oldest message is dropped and counted per topic (the newest state is the
more useful one), and the status reports the counts. The lanes, emptied in
this order:

1. ``reply``: answers to control commands;
2. ``fills``: at QoS 1 at least (a fill is never dropped for an order update),
   and the daily report;
3. ``events``: orders, rejects, positions, PnL and log lines, at ``mqtt.qos``
   (the market data feed's messages too).

The retained ``status`` is no queued message but a slot: whatever is current
is published (retained, QoS 1) when asked to and after every (re)connect,
replacing the offline last will the broker holds. A message whose publish
failed goes back to the head of its lane and is sent again after the
reconnect: fills are delivered at least once, and a consumer dedupes them by
``fill_id``.

The connection is re-made with a backoff (100 ms doubling up to
``reconnect_delay``) for as long as the run lasts. Control messages arriving
on the subscribed topics are handed to ``on_message``; an exception there is
logged and never ends the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import aiomqtt

from botkit.ops import payloads
from botkit.ops.topics import AT_LEAST_ONCE, REPLY, STATUS, Topics

log = logging.getLogger("botkit.ops.publisher")

# (kind, seq, ts_ns, build, arg): build(arg) is the topic's body; build None: arg is the
# payload already encoded (a message sent again after a failed publish).
Queued = tuple[str, int, int, Any, Any]

# (seq, ts_ns, body) -> the payload object: the fields every message starts with, then body.
Envelope = Callable[[int, int, Mapping[str, Any]], dict[str, Any]]


class TopicNames(Protocol):
    """Full topic names by kind (a bot's :class:`Topics`, a feed's ``FeedTopics``)."""

    def of(self, kind: str) -> str: ...


BATCH = 32  # messages encoded and sent together; encoding them holds the loop ~0.3 ms
MIN_BACKOFF_S = 0.1


class Lane:
    """One bounded FIFO of queued messages; overflow drops the oldest and counts it."""

    __slots__ = ("cap", "dropped", "items", "qos")

    def __init__(self, cap: int, qos: int, dropped: Counter[str]) -> None:
        self.items: deque[Queued] = deque()
        self.cap = cap
        self.qos = qos
        self.dropped = dropped

    def put(self, item: Queued) -> None:
        items = self.items
        if len(items) >= self.cap:
            self.dropped[items.popleft()[0]] += 1
        items.append(item)


class Publisher:
    """Keeps the broker connection and sends what the run queues.

    ``connect()`` makes a fresh, unconnected client (with the offline last
    will); ``status()`` builds the current status body; ``subscriptions`` are
    (re)subscribed on every connect and their messages go to ``on_message``.
    ``envelope`` makes each payload from its seq, time and body (default: a
    bot's ``bot_id``, ``seq`` and ``ts`` first, :func:`payloads.envelope`).
    """

    def __init__(
        self,
        topics: TopicNames,
        connect: Callable[[], aiomqtt.Client],
        status: Callable[[], dict[str, Any]],
        *,
        qos: int = 0,
        queue_size: int = 10_000,
        reconnect_delay_s: float = 2.0,
        subscriptions: tuple[str, ...] = (),
        on_message: Callable[[aiomqtt.Message], Awaitable[None]] | None = None,
        envelope: Envelope | None = None,
    ) -> None:
        self.topics = topics
        if envelope is None:
            if not isinstance(topics, Topics):
                raise TypeError("a Publisher of other topics than a bot's needs an envelope")
            bot_id = topics.bot_id

            def envelope(seq: int, ts_ns: int, body: Mapping[str, Any]) -> dict[str, Any]:
                return payloads.envelope(bot_id, seq, ts_ns, body)

        self._envelope: Envelope = envelope
        self._connect = connect
        self._status = status
        self._subscriptions = subscriptions
        self._on_message = on_message
        self._reconnect_cap = max(MIN_BACKOFF_S, reconnect_delay_s)
        self.dropped: Counter[str] = Counter()
        self.published: Counter[str] = Counter()
        self.reply_lane = Lane(queue_size, 1, self.dropped)
        self.fills_lane = Lane(queue_size, max(1, qos), self.dropped)
        self.events_lane = Lane(queue_size, qos, self.dropped)
        self._lanes = (self.reply_lane, self.fills_lane, self.events_lane)
        self._seq: Counter[str] = Counter()
        self._wakeup = asyncio.Event()
        self._status_due = True
        self.connected = False
        self.connects = 0  # successful connections; reconnects = connects - 1
        self.last_error: str | None = None
        self._reported_drops = 0
        self._closing = False
        self._final: dict[str, Any] | None = None
        self._done = asyncio.Event()
        self.encode_errors = 0
        self._topic_names: dict[str, str] = {}  # kind -> full topic, filled lazily

    # ----- the trading loop's side: never waits --------------------------------------

    def put(
        self,
        kind: str,
        ts_ns: int,
        build: Callable[[Any], dict[str, Any]],
        arg: Any,
        seq: int | None = None,
    ) -> None:
        """Queue one message for ``kind``'s topic; ``build(arg)`` makes its body later.

        ``seq`` None counts up by one per message of ``kind``; a caller that keeps its
        own numbering (the feed: a requested book snapshot repeats the book's) gives it.
        """
        if seq is None:
            seq = self._seq[kind] + 1
            self._seq[kind] = seq
        lane = self.fills_lane if kind in AT_LEAST_ONCE else self.events_lane
        lane.put((kind, seq, ts_ns, build, arg))
        if not self._wakeup.is_set():
            self._wakeup.set()

    def reply(self, body: dict[str, Any]) -> None:
        """Queue an answer to a control command (ahead of all telemetry)."""
        seq = self._seq[REPLY] + 1
        self._seq[REPLY] = seq
        self.reply_lane.put((REPLY, seq, time.time_ns(), _same, body))
        self._wakeup.set()

    def status_changed(self) -> None:
        """Publish the status again (state changed, or its interval came round)."""
        self._status_due = True
        self._wakeup.set()

    @property
    def queued(self) -> int:
        return sum(len(lane.items) for lane in self._lanes)

    @property
    def reconnects(self) -> int:
        return max(0, self.connects - 1)

    def stats(self) -> dict[str, Any]:
        """The queue's account, for the status: connection, sent, queued and dropped."""
        return {
            "connected": self.connected,
            "reconnects": self.reconnects,
            "queued": self.queued,
            "published": sum(self.published.values()),
            "dropped": sum(self.dropped.values()),
            "dropped_by_topic": dict(sorted(self.dropped.items())),
        }

    # ----- the publisher's task ------------------------------------------------------

    async def run(self) -> None:
        """Connect, send, reconnect: until :meth:`close` (or cancelled)."""
        backoff = MIN_BACKOFF_S
        while not self._done.is_set():
            try:
                client = self._connect()
                async with client:
                    self.connected = True
                    self.connects += 1
                    self.last_error = None
                    backoff = MIN_BACKOFF_S
                    if self.connects > 1:
                        log.info(
                            "MQTT: connected to the broker again (reconnect %d)", self.reconnects
                        )
                    self._report_drops()
                    self._status_due = True
                    await self._serve(client)
            except aiomqtt.MqttError as exc:
                self.last_error = str(exc) or type(exc).__name__
                if self.connected:
                    log.warning("MQTT: lost the broker (%s); reconnecting", self.last_error)
                elif self.connects == 0 and backoff == MIN_BACKOFF_S:
                    log.warning("MQTT: cannot reach the broker (%s); retrying", self.last_error)
            finally:
                self.connected = False
            if self._done.is_set():
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._reconnect_cap)

    async def close(self, final_status: dict[str, Any], timeout_s: float = 3.0) -> None:
        """Send what is queued and ``final_status`` (retained), then disconnect cleanly
        (so the broker drops the last will). Gives up after ``timeout_s``."""
        self._final = final_status
        self._closing = True
        self._wakeup.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._done.wait(), timeout_s)
        self._done.set()

    async def _serve(self, client: aiomqtt.Client) -> None:
        for topic in self._subscriptions:
            await client.subscribe(topic, qos=1)
        tasks = [asyncio.create_task(self._write(client))]
        if self._subscriptions:
            tasks.append(asyncio.create_task(self._read(client)))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for t in done:
            exc = t.exception()
            if exc is not None:
                raise exc

    async def _read(self, client: aiomqtt.Client) -> None:
        handler = self._on_message
        async for message in client.messages:
            if handler is None:
                continue
            try:
                await handler(message)
            except Exception:
                log.exception("MQTT: handling a message on %s failed", message.topic)

    async def _write(self, client: aiomqtt.Client) -> None:
        # Up to BATCH messages go out together (one wait for all their confirmations):
        # one publish at a time would need a turn of the loop per message.
        client.pending_calls_threshold = BATCH + 1
        while True:
            if self._status_due:
                self._status_due = False
                await self._send_status(client, self._status())
            batch = self._take(BATCH)
            if not batch:
                if self._closing:
                    if self._final is not None:
                        await self._send_status(client, self._final)
                    self._done.set()
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            await self._send(client, batch)

    async def _send(self, client: aiomqtt.Client, batch: list[tuple[Lane, Queued]]) -> None:
        """Publish a batch; whatever is not confirmed (the connection broke, or this task
        was cancelled because the reader saw it break first) goes back to the head of its
        lane, in order, to be sent again: at least once, never silently lost."""
        confirmed: set[int] = set()

        async def one(i: int, lane: Lane, m: Queued) -> None:
            await client.publish(self._topic(m[0]), m[4], qos=lane.qos)
            confirmed.add(i)

        try:
            results = await asyncio.gather(
                *(one(i, lane, m) for i, (lane, m) in enumerate(batch)), return_exceptions=True
            )
        finally:
            for i in range(len(batch) - 1, -1, -1):
                lane, m = batch[i]
                if i in confirmed:
                    self.published[m[0]] += 1
                else:
                    lane.items.appendleft(m)
        for result in results:
            if result is not None:
                raise result

    def _take(self, n: int) -> list[tuple[Lane, Queued]]:
        """Up to ``n`` messages, encoded, in lane order."""
        out: list[tuple[Lane, Queued]] = []
        for lane in self._lanes:
            items = lane.items
            while items and len(out) < n:
                kind, seq, ts_ns, build, arg = items.popleft()
                if build is not None:
                    arg = self._encode(kind, seq, ts_ns, build, arg)
                    if arg is None:
                        continue
                out.append((lane, (kind, seq, ts_ns, None, arg)))
        return out

    async def _send_status(self, client: aiomqtt.Client, body: dict[str, Any]) -> None:
        seq = self._seq[STATUS] + 1
        self._seq[STATUS] = seq
        data = payloads.dumps(self._envelope(seq, time.time_ns(), body))
        await client.publish(self._topic(STATUS), data, qos=1, retain=True)
        self.published[STATUS] += 1

    def _encode(
        self, kind: str, seq: int, ts_ns: int, build: Callable[[Any], dict[str, Any]], arg: Any
    ) -> bytes | None:
        try:
            return payloads.dumps(self._envelope(seq, ts_ns, build(arg)))
        except Exception:
            # A payload bug must not stop telemetry: the message is counted and skipped.
            self.encode_errors += 1
            if self.encode_errors <= 3:
                log.exception("MQTT: could not encode a %s message; skipped", kind)
            return None

    def _topic(self, kind: str) -> str:
        topic = self._topic_names.get(kind)
        if topic is None:
            topic = self._topic_names[kind] = self.topics.of(kind)
        return topic

    def _report_drops(self) -> None:
        total = sum(self.dropped.values())
        if total > self._reported_drops:
            lost = Counter(self.dropped)
            log.warning(
                "MQTT: %d message(s) dropped from the full queue while the broker was away "
                "(%s); the status counts them",
                total - self._reported_drops,
                ", ".join(f"{k} {n}" for k, n in sorted(lost.items())),
            )
            self._reported_drops = total


def _same(body: dict[str, Any]) -> dict[str, Any]:
    return body


__all__ = ["Envelope", "Lane", "Publisher", "TopicNames"]
