"""The parts of market data over MQTT on their own: the sequencer's rules, the payloads
both ways, the topics, the config, and, against a real broker in this process, the feed
answering snapshot requests and a bot's MQTT source asking for them and outliving a
broker restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from botkit.cli import main
from botkit.config import ConfigError, parse_config
from botkit.events import Bar, BookDelta, BookSnapshot, Ticker, Trade
from botkit.model import Side
from botkit.node import build_sim_engine, status_line
from botkit.ops import feedpayloads
from botkit.ops.client import BrokerSettings
from botkit.ops.feed import MarketFeed, levels_of
from botkit.ops.feedpayloads import FeedPayloadError
from botkit.ops.health import FeedHealth
from botkit.ops.localbroker import LocalBroker
from botkit.ops.marketdata import MqttMarketData, Sequencer
from botkit.ops.topics import BOOK, BOOK_REQUEST, TICKER, TRADES, FeedTopics, symbol_level

from .helpers import assert_valid

SYMBOL = "BTC/USDT"
TOPICS = FeedTopics("botkit", "blocktrade")
BASE = """
mode: paper
venue: {name: blocktrade}
instruments: [{symbol: BTC/USDT, tick_size: "0.01", lot_size: "0.001"}]
strategies: [{use: ema_cross, params: {symbol: BTC/USDT}}]
"""


# ----- the sequencer ---------------------------------------------------------------------------


def test_a_book_applies_deltas_in_order_only_on_top_of_a_snapshot() -> None:
    seq = Sequencer()

    def book(n: int, snapshot: bool = False, session: str = "s1") -> tuple[bool, bool]:
        return seq.take(SYMBOL, BOOK, session, n, snapshot)

    assert book(4) == (False, False)  # no book yet: dropped (the start's request is out)
    assert book(4, snapshot=True) == (True, False)
    assert book(5) == (True, False)
    assert book(5) == (False, False)  # a repeat
    assert book(5, snapshot=True) == (False, False)  # another bot's answer: the book we have
    assert book(8) == (False, True)  # 6 and 7 missing: out of sync, ask now
    assert book(9) == (False, False)  # dropped until the snapshot; asked already
    assert not seq.in_sync(SYMBOL)
    assert book(9, snapshot=True) == (True, False)
    assert book(10) == (True, False)
    assert (seq.gaps, seq.lost, seq.resyncs, seq.repeats) == (1, 2, 1, 1)
    # The feed restarted: a new session puts the book out of sync at once.
    assert book(3, session="s2") == (False, True)
    assert book(1, snapshot=True, session="s2") == (True, False)
    assert book(2, session="s2") == (True, False)


def test_trades_go_on_past_a_gap_and_drop_repeats() -> None:
    seq = Sequencer()
    taken = [seq.take(SYMBOL, TRADES, "s1", n)[0] for n in (1, 2, 2, 5, 4, 6)]
    assert taken == [True, True, False, True, False, True]
    assert (seq.gaps, seq.lost, seq.repeats) == (1, 2, 2)
    # A restarted feed counts from 1 again.
    assert seq.take(SYMBOL, TRADES, "s2", 1) == (True, False)


# ----- payloads and topics ---------------------------------------------------------------------


EVENTS = [
    Trade(1_723_118_403_200_000_001, SYMBOL, 60000.16, 0.00008, Side.BUY, "881734"),
    Trade(1_723_118_403_200_000_002, SYMBOL, 0.1 + 0.2, 1e-9, None, 17),
    BookSnapshot(5, SYMBOL, [(60000.1, 0.4), (59999.9, 1.25)], [(60000.2, 0.3)]),
    BookDelta(6, SYMBOL, [(59999.9, 0.0)], []),
    Ticker(7, SYMBOL, 60000.1, 60000.2, None, 0.3, 60000.15),
    Bar(60_000_000_000, SYMBOL, 60_000_000_000, 1.0, 2.5, 0.5, 2.0, 123.456),
]


@pytest.mark.parametrize("ev", EVENTS, ids=lambda e: type(e).__name__)
def test_each_event_reads_back_as_the_same_event_with_its_floats_exact(ev: Any) -> None:
    stream = feedpayloads.stream_of(ev)
    assert stream is not None
    payload = json.loads(
        json.dumps(feedpayloads.envelope("blocktrade", "s1", 3, 0, feedpayloads.body(ev)))
    )
    assert_valid(f"feed/{stream}", [payload])
    back = feedpayloads.decode(stream, payload, SYMBOL)
    assert type(back) is type(ev) and tuple(back) == tuple(ev)


@pytest.mark.parametrize(
    ("stream", "change", "message"),
    [
        (TRADES, {"price": "60000.1"}, "'price' is not a finite number"),
        (TRADES, {"price": True}, "'price' is not a finite number"),
        (TRADES, {"side": "long"}, "'side' must be buy, sell or null"),
        (TRADES, {"symbol": "ETH/USDT"}, "on the topic of 'BTC/USDT'"),
        (TRADES, {"ts_ns": 1.5}, "'ts_ns' is not a whole number"),
        (BOOK, {"type": "diff"}, "'type' must be snapshot or delta"),
        (BOOK, {"bids": [[1.0]]}, "bids[0] is not a [price, size] pair"),
        (BOOK, {"asks": [[1.0, math.inf]]}, "'asks[0][1]' is not a finite number"),
    ],
)
def test_a_malformed_payload_is_refused_naming_the_field(
    stream: str, change: dict[str, Any], message: str
) -> None:
    ev = EVENTS[0] if stream == TRADES else EVENTS[2]
    payload = {**feedpayloads.body(ev), **change}
    with pytest.raises(FeedPayloadError, match=message.replace("[", r"\[")):
        feedpayloads.decode(stream, payload, SYMBOL)
    with pytest.raises(FeedPayloadError, match="'seq' is not a whole number"):
        feedpayloads.header({"session": "s1", "seq": "3"})


def test_topics_name_the_venue_the_symbol_and_the_stream() -> None:
    assert TOPICS.stream(SYMBOL, BOOK) == "botkit/feed/blocktrade/BTC-USDT/book"
    assert TOPICS.request(SYMBOL) == "botkit/feed/blocktrade/BTC-USDT/book/request"
    assert TOPICS.requests == "botkit/feed/blocktrade/+/book/request"
    assert TOPICS.status == "botkit/feed/blocktrade/status"
    assert TOPICS.parse("botkit/feed/blocktrade/BTC-USDT/ticker") == ("BTC-USDT", TICKER)
    assert TOPICS.parse("botkit/feed/blocktrade/BTC-USDT/book/request") == (
        "BTC-USDT",
        BOOK_REQUEST,
    )
    assert TOPICS.parse("botkit/feed/blocktrade/status") is None
    with pytest.raises(ValueError, match="cannot be an MQTT topic level"):
        symbol_level("BTC+USDT")
    with pytest.raises(ValueError, match="would share the topic level 'BTC-USDT'"):
        levels_of(["BTC/USDT", "BTC-USDT"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "data: {source: mqtt}\n",
            "data.source: 'mqtt' needs an mqtt: section: the market data comes from `botkit feed`",
        ),
        (
            "data: {source: mqtt}\nmqtt: {bot_id: b}\n",
            "data.source: 'mqtt' cannot be used with mode: backtest",
        ),
        ("data: {source: kafka}\nmqtt: {bot_id: b}\n", "data.source: 'kafka' is not allowed"),
        ("mqtt: {bot_id: feed}\n", "mqtt.bot_id: 'feed' is not allowed"),
    ],
)
def test_a_bad_data_source_is_one_paragraph_naming_the_field_and_the_fix(
    extra: str, message: str
) -> None:
    text = BASE + extra
    if "backtest" in message:
        text = text.replace("mode: paper", "mode: backtest")
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_data_source_takes_the_feed_of_data_venue() -> None:
    cfg = parse_config(BASE + "data: {source: mqtt}\nmqtt: {bot_id: desk}\n")
    source = MqttMarketData.from_config(cfg)
    assert source.topics.root == "botkit/feed/blocktrade" and source.health.source == "mqtt"
    odd = BASE.replace("symbol: BTC/USDT, tick", "symbol: BTC#1, base: BTC, quote: USDT, tick")
    odd = odd.replace("params: {symbol: BTC/USDT}", "params: {symbol: BTC#1}")
    with pytest.raises(ConfigError, match=r"instruments\[0\].symbol: 'BTC#1' cannot be part"):
        parse_config(odd + "data: {source: mqtt}\nmqtt: {bot_id: desk}\n")


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        (
            "live: {journal: j.sqlite}\n",
            "error: cannot start the feed of blocktrade: bot.yaml has no mqtt: section; the "
            "feed publishes on the broker it names",
        ),
        (
            "live: {journal: j.sqlite}\nmqtt: {bot_id: f}\n",
            "error: cannot start the feed of sim: sim is the backtests' simulated venue",
        ),
    ],
)
def test_a_feed_that_cannot_start_says_why_in_one_line(
    yaml: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = BASE + yaml
    if "sim" in message:
        text = text.replace("mode: paper", "mode: backtest").replace("blocktrade", "sim")
    (tmp_path / "feed.yaml").write_text(text)
    assert main(["feed", str(tmp_path / "feed.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_the_status_line_tells_the_feeds_health(btc: Any) -> None:
    engine = build_sim_engine({SYMBOL: btc}, [])
    health = FeedHealth("mqtt")
    health.started()
    health.last_ns = time.time_ns() - 2_000_000_000
    health.gaps, health.resyncs = 1, 1
    line = status_line(engine, health)
    assert line.startswith("pnl +0.00 USDT") and "rejects 0 | feed mqtt up, last 2." in line
    assert line.endswith("reconnects 0, errors 0, gaps 1, resyncs 1")
    health.failed(ConnectionError("gone"))
    assert "feed mqtt DOWN" in status_line(engine, health)


# ----- against a broker -------------------------------------------------------------------------


async def _wait(what: str, cond: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout_s}s for {what}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def listening(broker: LocalBroker, *topics: str) -> AsyncIterator[tuple[Any, list[Any]]]:
    """A client subscribed to ``topics``, and the (topic, payload) it receives."""
    got: list[Any] = []
    client = aiomqtt.Client(broker.host, broker.port)
    await client.__aenter__()
    for t in topics:
        await client.subscribe(t, qos=1)

    async def collect() -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            async for m in client.messages:
                got.append((str(m.topic), json.loads(bytes(m.payload))))  # type: ignore[arg-type]

    task = asyncio.create_task(collect())
    try:
        yield client, got
    finally:
        with contextlib.suppress(aiomqtt.MqttError):
            await client.__aexit__(None, None, None)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_the_feed_answers_requests_with_its_book_as_of_its_last_change(
    broker: LocalBroker, tmp_path: Path
) -> None:
    config = parse_config(
        BASE + f"mqtt: {{host: {broker.host}, port: {broker.port}, bot_id: f1, interval: 1s}}\n",
        base_dir=tmp_path,
    )
    feed = MarketFeed(config, [SYMBOL])
    async with listening(broker, TOPICS.everything) as (client, got):
        feed.start()
        await _wait("the feed's status", lambda: any(t == TOPICS.status for t, _ in got))
        await client.publish(TOPICS.request(SYMBOL), b"{}", qos=1)  # no book yet: no answer
        await _wait("the request", lambda: feed.requests == 1)
        await asyncio.sleep(0.3)
        feed.publish(EVENTS[2])  # book seq 1
        feed.publish(EVENTS[3])  # book seq 2
        feed.publish(EVENTS[0])  # trades seq 1
        ask = {"from": "desk", "symbol": SYMBOL, "reason": "start", "session": None}
        request = json.dumps({**ask, "seq": None, "ts": "2024-08-08T12:00:00.000000Z"})
        await client.publish(TOPICS.request(SYMBOL), request, qos=1)
        await _wait("the answer", lambda: feed.snapshots_sent == 1)
        for _ in range(2):  # within 250 ms of that answer: both wait, and share the next
            await client.publish(TOPICS.request(SYMBOL), request, qos=1)
        await _wait("the second answer", lambda: feed.snapshots_sent == 2)
        await asyncio.sleep(0.4)  # nothing more comes
        await feed.close()
        await _wait("the stopped status", lambda: got[-1][1].get("state") == "stopped")
    book = [p for t, p in got if t == TOPICS.stream(SYMBOL, BOOK)]
    assert [(p["seq"], p["type"], p["requested"]) for p in book] == [
        (1, "snapshot", False),
        (2, "delta", False),
        (2, "snapshot", True),  # the book after change 2, not a change of its own
        (2, "snapshot", True),
    ]
    assert book[2]["bids"] == [[60000.1, 0.4]] and book[2]["asks"] == [[60000.2, 0.3]]
    apart = datetime.fromisoformat(book[3]["ts"]) - datetime.fromisoformat(book[2]["ts"])
    assert apart.total_seconds() >= 0.24 and (feed.requests, feed.snapshots_sent) == (4, 2)
    assert [p["seq"] for t, p in got if t == TOPICS.stream(SYMBOL, TRADES)] == [1]
    assert_valid("feed/book/request", [json.loads(request)])
    statuses = [p for t, p in got if t == TOPICS.status]
    assert_valid("feed/status", statuses)
    assert_valid("feed/book", book)
    assert statuses[-1]["published"] == {"trades": 1, "book": 2, "ticker": 0, "bars": 0}
    assert {p["session"] for p in book} == {feed.session}


async def test_the_mqtt_source_asks_for_a_snapshot_and_outlives_a_broker_restart(
    broker: LocalBroker,
) -> None:
    health = FeedHealth()
    source = MqttMarketData(
        BrokerSettings(broker.host, broker.port),
        TOPICS,
        "desk",
        health,
        reconnect_delay_s=0.2,
        resnapshot_after_s=0.5,
    )
    got: list[Any] = []

    async def consume() -> None:
        health.started()  # what the node's feed task does before iterating
        async for ev in source.market_stream([SYMBOL]):
            got.append(ev)

    def msg(stream: str, ev: Any, seq: int, session: str = "s1", **extra: Any) -> bytes:
        body = {**feedpayloads.body(ev), **extra}
        return json.dumps(feedpayloads.envelope("blocktrade", session, seq, 0, body)).encode()

    book_topic, trades_topic = TOPICS.stream(SYMBOL, BOOK), TOPICS.stream(SYMBOL, TRADES)
    task: asyncio.Task[None] | None = None
    try:
        async with listening(broker, TOPICS.request(SYMBOL)) as (feed, asked):
            task = asyncio.create_task(consume())
            await _wait("the start's request", lambda: len(asked) == 1)
            assert asked[0][1]["reason"] == "start" and asked[0][1]["from"] == "desk"
            await feed.publish(book_topic, msg(BOOK, EVENTS[3], 7), qos=1)  # no book: dropped
            await feed.publish(book_topic, msg(BOOK, EVENTS[2], 7, requested=True), qos=1)
            await feed.publish(book_topic, msg(BOOK, EVENTS[3], 8), qos=1)
            await feed.publish(trades_topic, b"not json", qos=1)  # skipped, counted
            await feed.publish(trades_topic, msg(TRADES, EVENTS[0], 1), qos=1)
            await _wait("three events", lambda: len(got) == 3)
        assert [type(e).__name__ for e in got] == ["BookSnapshot", "BookDelta", "Trade"]
        assert tuple(got[0]) == tuple(EVENTS[2]) and source.malformed[TRADES] == 1

        broker.kill()  # the broker dies; the source reconnects by itself
        await _wait("the loss", lambda: not health.open)
        broker.start()
        await _wait("the reconnect", lambda: health.open and source.connects == 2)
        async with listening(broker, TOPICS.request(SYMBOL)) as (feed, asked):
            # Resent until it arrives (the source may still be subscribing): repeats are
            # dropped by their seq, so the engine gets it once.
            while len(got) < 4:
                await feed.publish(trades_topic, msg(TRADES, EVENTS[1], 2), qos=1)
                await asyncio.sleep(0.1)
            # The book is still whole; a delta two changes on is a gap: ask at once.
            await feed.publish(book_topic, msg(BOOK, EVENTS[3], 10), qos=1)
            await _wait("the gap's request", lambda: len(asked) == 1)
            assert asked[0][1]["reason"] == "gap" and asked[0][1]["seq"] == 8
            await feed.publish(book_topic, msg(BOOK, EVENTS[2], 10, requested=True), qos=1)
            await _wait("the snapshot", lambda: len(got) == 5)
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert [type(e).__name__ for e in got[3:]] == ["Trade", "BookSnapshot"]
    assert (health.errors, health.gaps, health.resyncs) == (1, 1, 1)
    assert health.snapshot()["reconnects"] == 1 and health.snapshot()["source"] == "mqtt"


async def test_a_bot_with_no_feed_keeps_asking_and_says_what_to_check(
    broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    source = MqttMarketData(
        BrokerSettings(broker.host, broker.port), TOPICS, "desk", resnapshot_after_s=0.1
    )

    async def consume() -> None:
        async for _ in source.market_stream([SYMBOL]):
            pass

    async with listening(broker, TOPICS.request(SYMBOL)) as (_, asked):
        task = asyncio.create_task(consume())
        try:
            await _wait("three requests", lambda: len(asked) >= 3)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert [p["reason"] for _, p in asked[:3]] == ["start", "retry", "retry"]
    assert "3 requests for a book snapshot of BTC/USDT and none came: is `botkit feed` " in (
        caplog.text
    )
