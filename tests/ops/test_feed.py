"""One feed, two bots, one broker, four processes: `botkit feed` publishes the BlockTrade
simulator's market data on MQTT, and two paper bots (`botkit run` with `data.source:
mqtt`) trade on it. Each bot hears every trade, ticker and book change the feed
published, in the feed's order; an out-of-sequence message forced onto the book topic
makes both ask for a snapshot, drop the deltas until it comes, and carry on from it.

A tap subscribed to `botkit/feed/#` before the feed started is the record of what the
feed published; each bot's strategy (`recorder.py`) writes down every event the engine
handed it. One run serves the whole module (about 15 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from botkit.book import OrderBook
from botkit.events import BookDelta, BookSnapshot
from botkit.journal import Journal
from botkit.ops import feedpayloads, payloads
from botkit.ops.localbroker import LocalBroker
from botkit.ops.topics import BOOK, BOOK_REQUEST, STATUS, STREAMS, TICKER, TRADES, FeedTopics

from .conftest import KIND
from .helpers import ROOT, Bot, assert_valid
from .recorder import record

HERE = Path(__file__).resolve().parent
SYMBOL = "BTC/USDT"
TOPICS = FeedTopics("botkit", "blocktrade")
BOTS = ("desk-a", "desk-b")


def feed_yaml(tmp: Path, broker: LocalBroker) -> Path:
    """The feed: the in-process BlockTrade simulator's market, on the broker."""
    path = tmp / "feed.yaml"
    path.write_text(f"""
mode: paper
venue: {{name: blocktrade}}
instruments:
  - {{symbol: {SYMBOL}, tick_size: "0.01", lot_size: "0.00001"}}
strategies: [{{use: ema_cross, params: {{symbol: {SYMBOL}}}}}]   # a feed runs none
live: {{simulator: true, journal: {tmp / "feed.sqlite"}, status_interval: 1s}}
mqtt: {{host: {broker.host}, port: {broker.port}, bot_id: feeder, interval: 500ms}}
""")
    return path


def bot_yaml(tmp: Path, broker: LocalBroker, bot_id: str) -> Path:
    """A paper bot whose market data comes from the feed (`data.source: mqtt`)."""
    path = tmp / f"{bot_id}.yaml"
    path.write_text(f"""
mode: paper
venue: {{name: blocktrade}}
instruments:
  - {{symbol: {SYMBOL}, tick_size: "0.01", lot_size: "0.00001"}}
account: {{balances: {{USDT: "100000", BTC: "1"}}}}
strategies:
  - name: rec
    use: {HERE / "recorder.py"}:Recorder
    params: {{symbol: {SYMBOL}, out: {tmp / f"{bot_id}.jsonl"}, buy_after: 5}}
data: {{source: mqtt}}
output: {{dir: {tmp / f"{bot_id}-report"}}}
live: {{simulator: true, journal: {tmp / f"{bot_id}.sqlite"}, status_interval: 1s}}
mqtt: {{host: {broker.host}, port: {broker.port}, bot_id: {bot_id}, interval: 500ms}}
""")
    return path


@dataclass
class Msg:
    """One message the tap received."""

    topic: str
    stream: str  # trades, book, ticker, bars, book/request, or status
    payload: dict[str, Any]
    raw: bytes


@dataclass
class FeedRun:
    messages: list[Msg]  # everything on botkit/feed/#, in arrival order
    injected: int  # the index of the out-of-sequence message the test sent
    received: dict[str, list[list[Any]]]  # bot id -> the events its strategy heard
    summaries: dict[str, dict[str, Any]]  # the last line of each process
    configs: dict[str, Path] = field(default_factory=dict)

    def published(self, stream: str) -> list[Msg]:
        """What the feed published on a stream (the test's own message left out)."""
        return [m for i, m in enumerate(self.messages) if m.stream == stream and i != self.injected]


class Tap:
    """Subscribes to everything under the feed's root and keeps it, in arrival order."""

    def __init__(self, broker: LocalBroker) -> None:
        self.client = aiomqtt.Client(broker.host, broker.port, identifier="feed-tap")
        self.messages: list[Msg] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Tap:
        await self.client.__aenter__()
        await self.client.subscribe(TOPICS.everything, qos=1)
        self._task = asyncio.create_task(self._collect())
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            await self.client.__aexit__(None, None, None)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _collect(self) -> None:
        with contextlib.suppress(aiomqtt.MqttError):  # disconnected: keep what came
            async for m in self.client.messages:
                topic = str(m.topic)
                parsed = TOPICS.parse(topic)
                stream = parsed[1] if parsed else STATUS
                raw = bytes(m.payload)  # type: ignore[arg-type]
                self.messages.append(Msg(topic, stream, json.loads(raw), raw))

    def find(self, stream: str, pred: Any = lambda p: True) -> list[Msg]:
        return [m for m in self.messages if m.stream == stream and pred(m.payload)]

    async def wait(self, what: str, cond: Any, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout_s}s for {what}")
            await asyncio.sleep(0.05)


def lines(path: Path) -> list[list[Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def _run(broker: LocalBroker, tmp: Path) -> FeedRun:
    configs = {b: bot_yaml(tmp, broker, b) for b in BOTS}
    procs: dict[str, Bot] = {}
    async with Tap(broker) as tap:
        try:
            procs["feed"] = Bot(feed_yaml(tmp, broker), command="feed")
            await tap.wait("the feed's first snapshot", lambda: tap.find(BOOK))
            for b in BOTS:
                procs[b] = Bot(configs[b])

            def kinds(b: str) -> list[str]:
                return [r[0] for r in lines(tmp / f"{b}.jsonl")]

            def heard_snapshots(n: int, deltas_after: int) -> bool:
                for b in BOTS:
                    k = kinds(b)
                    if k.count("snapshot") < n:
                        return False
                    last = len(k) - 1 - k[::-1].index("snapshot")
                    if k[last:].count("delta") < deltas_after:
                        return False
                return True

            await tap.wait("both bots in sync", lambda: heard_snapshots(1, 5), timeout_s=40)
            # An out-of-sequence delta: as if five book changes had been lost on the way.
            last = tap.find(BOOK, lambda p: p["type"] == "delta")[-1].payload
            fake = {**last, "seq": last["seq"] + 5, "bids": [], "asks": []}
            await tap.client.publish(TOPICS.stream(SYMBOL, BOOK), json.dumps(fake), qos=1)
            await tap.wait("both bots back in sync", lambda: heard_snapshots(2, 10), timeout_s=20)
            summaries = {}
            for b in BOTS:
                summaries[b] = await asyncio.to_thread(procs[b].stop)
            summaries["feed"] = await asyncio.to_thread(procs["feed"].stop)
            await tap.wait(
                "the feed's stopped status",
                lambda: tap.find(STATUS, lambda p: p["state"] == "stopped"),
            )
        except BaseException as exc:
            logs = ""
            for name, proc in procs.items():
                if proc.proc.poll() is None:
                    proc.kill()
                elif not proc.stderr:  # it ended by itself: what did it say?
                    with contextlib.suppress(ValueError, subprocess.SubprocessError):
                        proc.stdout, proc.stderr = proc.proc.communicate(timeout=10)
                logs += f"\n{name} (exit {proc.proc.returncode}): {proc.stderr[-1500:]}"
            raise AssertionError(f"{exc!r}{logs}\nbroker: {broker.log_tail()}") from exc
    injected = next(i for i, m in enumerate(tap.messages) if m.stream == BOOK and m.payload == fake)
    received = {b: lines(tmp / f"{b}.jsonl") for b in BOTS}
    return FeedRun(tap.messages, injected, received, summaries, configs)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FeedRun]:
    tmp = tmp_path_factory.mktemp("feed")
    with LocalBroker(tmp / "broker", kind=KIND) as broker:
        yield asyncio.run(_run(broker, tmp))


def test_every_feed_message_matches_its_schema(run: FeedRun) -> None:
    for stream in (TRADES, BOOK, TICKER, BOOK_REQUEST, STATUS):
        msgs = [m.payload for m in run.messages if m.stream == stream]
        assert msgs, f"nothing on {stream}"
        assert_valid(f"feed/{stream}", msgs)
    # Prices and sizes are the events' floats: each message reads back as its event.
    for m in run.published(TRADES)[:50]:
        trade = feedpayloads.decode(TRADES, m.payload, SYMBOL)
        assert json.loads(json.dumps(feedpayloads.body(trade))) == {
            k: v for k, v in m.payload.items() if k not in ("venue", "session", "seq", "ts")
        }


def test_the_feed_numbers_each_stream_from_one_without_a_gap(run: FeedRun) -> None:
    assert len({m.payload["session"] for m in run.messages if m.stream in STREAMS}) == 1
    for stream in (TRADES, TICKER):
        seqs = [m.payload["seq"] for m in run.published(stream)]
        assert seqs == list(range(1, len(seqs) + 1)), stream
    changes = [m.payload for m in run.published(BOOK) if not m.payload["requested"]]
    assert [p["seq"] for p in changes] == list(range(1, len(changes) + 1))
    assert changes[0]["type"] == "snapshot"  # the venue's full book comes first


def test_a_requested_snapshot_is_the_book_as_of_its_seq(run: FeedRun) -> None:
    """Replaying the feed's own snapshot and deltas gives, at each answer to a request,
    exactly the levels the answer carries, and the seq of the last change."""
    book = OrderBook(SYMBOL)
    seq = 0
    answers = 0
    for m in run.published(BOOK):
        ev = feedpayloads.decode(BOOK, m.payload, SYMBOL)
        if m.payload["requested"]:
            assert m.payload["seq"] == seq
            assert [list(x) for x in book.bid_levels()] == m.payload["bids"]
            assert [list(x) for x in book.ask_levels()] == m.payload["asks"]
            answers += 1
        elif isinstance(ev, BookSnapshot):
            book.apply_snapshot(ev)
            seq = m.payload["seq"]
        else:
            assert isinstance(ev, BookDelta)
            book.apply_delta(ev)
            seq = m.payload["seq"]
    assert answers >= 2  # the bots' start, and the gap


@pytest.mark.parametrize("stream", [TRADES, TICKER])
@pytest.mark.parametrize("bot", BOTS)
def test_each_bot_hears_every_trade_and_ticker_in_order(
    run: FeedRun, bot: str, stream: str
) -> None:
    kind = {TRADES: "trade", TICKER: "ticker"}[stream]
    published = [record(feedpayloads.decode(stream, m.payload)) for m in run.published(stream)]
    heard = [r for r in run.received[bot] if r[0] == kind]
    assert len(heard) >= 10
    first = published.index(heard[0])
    # From the first it heard to the last, nothing missing, nothing repeated, nothing moved.
    assert heard == published[first : first + len(heard)]


@pytest.mark.parametrize("bot", BOTS)
def test_each_bot_books_every_change_and_resyncs_after_the_gap(run: FeedRun, bot: str) -> None:
    """The expected book stream of a bot, from the snapshot it started on: every delta in
    order; after the forced gap no delta until the next snapshot; a snapshot that repeats
    the seq the bot is at (one the other bot asked for) is not applied twice."""
    msgs = [(i, m) for i, m in enumerate(run.messages) if m.stream == BOOK and i != run.injected]
    recs = [record(feedpayloads.decode(BOOK, m.payload)) for _, m in msgs]
    heard = [r for r in run.received[bot] if r[0] in ("snapshot", "delta")]
    assert heard[0][0] == "snapshot"
    start = recs.index(heard[0])
    assert msgs[start][0] < run.injected  # the bot was in sync before the gap
    expected = [recs[start]]
    last, waiting, gap_seen = msgs[start][1].payload["seq"], False, False
    for (i, m), rec in zip(msgs[start + 1 :], recs[start + 1 :], strict=True):
        if not gap_seen and i > run.injected:
            waiting = gap_seen = True  # from here on, out of sync until a snapshot
        seq, snapshot = m.payload["seq"], m.payload["type"] == "snapshot"
        if snapshot and (waiting or seq > last):
            expected.append(rec)
            last, waiting = seq, False
        elif not snapshot and not waiting:
            assert seq == last + 1
            expected.append(rec)
            last = seq
    assert heard == expected[: len(heard)]
    assert [r[0] for r in heard].count("snapshot") == 2  # the start's, and the gap's


def test_the_gap_made_each_bot_ask_once_and_its_status_says_so(run: FeedRun) -> None:
    requests = [m.payload for m in run.messages if m.stream == BOOK_REQUEST]
    for bot in BOTS:
        mine = [r for r in requests if r["from"] == bot]
        assert [r["reason"] for r in mine] == ["start", "gap"], mine
        assert mine[1]["symbol"] == SYMBOL and mine[1]["session"] is not None
    for bot in BOTS:
        summary = run.summaries[bot]
        assert summary["fills"] >= 1  # the paper venue filled it on the feed's market
        assert summary["events"] >= len(run.received[bot])
    feed = run.summaries["feed"]
    assert feed["requests"] == len(requests) and feed["snapshots_sent"] >= 2


def test_botkit_status_shows_the_journal_and_the_bots_last_status(run: FeedRun) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "botkit.cli", "status", str(run.configs["desk-a"])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "positions (1 open)" in text and "rec:BTC/USDT  0.00100 @" in text
    assert "open orders (0): none" in text
    day = re.search(r"today \((\d{4}-\d\d-\d\d) UTC\): pnl -[0-9.]+ USDT .* (\d+) fill", text)
    assert day is not None, text
    with Journal(run.configs["desk-a"].parent / "desk-a.sqlite", create=False) as journal:
        on_day = [f for f in journal.fills() if payloads.iso(f.ts_ns)[:10] == day[1]]
    assert int(day[2]) == len(on_day) > 0  # the one market buy, in one fill or more
    assert "health: stopped, paper on blocktrade" in text
    assert "at stop: feed mqtt" in text and "gaps 1, resyncs 1" in text
