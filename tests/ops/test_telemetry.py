"""A paper run with an `mqtt:` section publishes every topic, each payload matching its
JSON Schema, money as exact decimal strings, no secret anywhere, and fills that a
deduping consumer receives exactly once per fill id.

One run serves the whole module: `botkit run` in a subprocess on the BlockTrade
simulator, a real broker with users, a watcher on every topic, a desk that
consumes fills, and a late subscriber that reads the retained status. The bot
reaches the broker through a cable that is cut halfway (a network failure): it
reconnects and sends again what the broker had not acknowledged, so a fill may
arrive twice, and the desk dedupes.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from botkit.journal import Journal
from botkit.ops.localbroker import LocalBroker
from botkit.ops.topics import CONTROL, FILLS, LOG, REJECTS, REPLY, STATUS, TELEMETRY

from .conftest import KIND
from .helpers import Bot, Cable, Seen, Watcher, assert_valid, bot_yaml, decimal_string

PASSWORD = "bot-broker-pw-7f3a"
SIGNING = "signing-secret-91c2e"
USERS = {"bot": PASSWORD, "watch": "watch-pw"}


@dataclass
class PaperRun:
    seen: list[Seen]  # everything the watcher received, in order
    desk_fills: list[dict[str, Any]]  # what the fills desk received, repeats included
    late_status: Seen  # what a subscriber gets after the bot stopped
    replies: dict[str, dict[str, Any]]
    summary: dict[str, Any]
    journal_fill_ids: set[str]

    def of(self, kind: str) -> list[Any]:
        return [s.payload for s in self.seen if s.kind == kind]


async def _record(broker: LocalBroker, config: Path, tmp: Path) -> PaperRun:
    auth = {"username": "watch", "password": "watch-pw"}
    async with (
        Watcher(broker, "paper1", secret=SIGNING, **auth) as watcher,
        Watcher(broker, "paper1", kinds=(FILLS,), **auth) as desk,
        Cable(broker) as cable,
    ):
        # The bot reaches the broker through the cable.
        config.write_text(config.read_text().replace(f"port: {broker.port}", f"port: {cable.port}"))
        bot = Bot(config, env={"BOT_MQTT_PASSWORD": PASSWORD, "BOT_SIGNING": SIGNING})
        try:
            await watcher.wait_for(STATUS, lambda p: p["state"] == "running", timeout_s=30)
            await desk.wait_for(FILLS, lambda p: p["seq"] >= 5, timeout_s=20)
            # Mid-run the bot loses its connection; what it had sent without an
            # acknowledgement goes again once it is back (at least once, never lost).
            cable.cut()
            back = await watcher.wait_for(
                STATUS,
                lambda p: p["state"] == "running" and p["telemetry"]["reconnects"] >= 1,
                timeout_s=15,
            )
            replies = {
                "status": await watcher.send("status"),
                "bogus": await watcher.send("bogus"),
            }
            await desk.wait_for(FILLS, lambda p: p["ts"] > back["ts"], timeout_s=20)
            summary = await asyncio.to_thread(bot.stop)
            await watcher.wait_for(STATUS, lambda p: p["state"] == "stopped", timeout_s=10)
            last = max(p["seq"] for p in watcher.of(FILLS))
            await desk.wait_for(FILLS, lambda p: p["seq"] == last, timeout_s=10)
        except BaseException as exc:
            if bot.proc.poll() is None:
                bot.kill()
            raise AssertionError(
                f"{exc!r}\nbot: {bot.stderr[-2000:]}\nbroker: {broker.log_tail()}"
            ) from exc
    async with Watcher(broker, "paper1", kinds=(STATUS,), **auth) as late:
        late_status = await late.first_seen()
    with Journal(tmp / "paper1.sqlite", venue="blocktrade", create=False) as journal:
        ids = {f.trade_id for f in journal.fills()}
    return PaperRun(watcher.seen, desk.of(FILLS), late_status, replies, summary, ids)


@pytest.fixture(scope="module")
def paper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PaperRun]:
    tmp = tmp_path_factory.mktemp("paper")
    with LocalBroker(tmp / "broker", kind=KIND, users=USERS) as broker:
        config = bot_yaml(
            tmp,
            broker,
            "paper1",
            mqtt="""  username: bot
  password: ${BOT_MQTT_PASSWORD}
  signing_secret_env: BOT_SIGNING
  qos: 1
""",
        )
        # The stepper also sends a size-0 order each step (a reject) and logs a secret.
        text = config.read_text().replace(
            'max_position: "0.004"}', 'max_position: "0.004", junk: true, shout: "${BOT_SIGNING}"}'
        )
        config.write_text(text)
        yield asyncio.run(_record(broker, config, tmp))


def test_every_topic_arrives_and_matches_its_schema(paper: PaperRun) -> None:
    for kind in (*TELEMETRY, REPLY, CONTROL):  # the commands the watcher sent, too
        payloads = paper.of(kind)
        assert payloads, f"nothing arrived on {kind}"
        assert_valid(kind, payloads)
    assert {p["state"] for p in paper.of(STATUS)} >= {"running", "stopped"}
    assert all(s.payload["bot_id"] == "paper1" for s in paper.seen if s.kind != CONTROL)


def test_each_topic_counts_its_messages_without_a_gap(paper: PaperRun) -> None:
    # The watcher subscribed before the bot started, at QoS 1, and everything went at
    # QoS 1: across the lost connection some came twice, none went missing. (The
    # status is a latest-value topic: one lost with the connection is sent anew.)
    for kind in TELEMETRY:
        if kind == STATUS:
            continue
        seqs = {p["seq"] for p in paper.of(kind)}
        assert seqs == set(range(1, max(seqs) + 1)), (kind, sorted(seqs)[:20])


def test_money_travels_as_exact_decimal_strings(paper: PaperRun) -> None:
    # Fills go at least once (QoS 1): the cut connection may bring one again.
    fills = list({f["fill_id"]: f for f in paper.of(FILLS)}.values())
    for f in fills:
        for key in ("price", "size", "notional", "fee"):
            assert isinstance(f[key], str) and decimal_string(f[key]), (key, f[key])
        assert Decimal(f["price"]) * Decimal(f["size"]) == Decimal(f["notional"])
    # The last positions message is the run's final position, digit for digit.
    final = paper.of("positions")[-1]["positions"]
    assert {f"{r['strategy']}:{r['symbol']}": r["size"] for r in final} == paper.summary[
        "positions"
    ]
    bought = sum(Decimal(f["size"]) for f in fills if f["side"] == "buy")
    sold = sum(Decimal(f["size"]) for f in fills if f["side"] == "sell")
    assert Decimal(final[0]["size"]) == bought - sold


def test_rejects_carry_the_risk_modules_code(paper: PaperRun) -> None:
    rejects = paper.of(REJECTS)
    assert {r["code"] for r in rejects} == {"invalid_size"}
    assert [r["total"] for r in rejects] == list(range(1, len(rejects) + 1))
    assert paper.summary["rejects"]["invalid_size"] == len(rejects)


def test_fills_arrive_exactly_once_per_fill_id_at_a_deduping_consumer(paper: PaperRun) -> None:
    received = [f["fill_id"] for f in paper.desk_fills]
    unique = set(received)
    # Every fill the journal has, none missing, none extra; a repeat is a redelivery.
    assert unique == paper.journal_fill_ids
    assert len(unique) == paper.summary["fills"]
    for fill_id in Counter(received) - Counter(unique):
        copies = [f for f in paper.desk_fills if f["fill_id"] == fill_id]
        assert all(c == copies[0] for c in copies)  # the same message again, not a new fill


def test_a_cut_connection_shows_offline_then_running_and_is_counted(paper: PaperRun) -> None:
    states = [p["state"] for p in paper.of(STATUS)]
    # The broker's last will when the cable was cut, then the bot back by itself.
    cut = states.index("offline")
    assert states[0] == "running" and "running" in states[cut:] and states[-1] == "stopped"
    final = paper.of(STATUS)[-1]["telemetry"]
    assert final["reconnects"] == 1 and final["dropped"] == 0  # a short loss fits the queue


def test_no_secret_ever_reaches_mqtt(paper: PaperRun) -> None:
    for seen in [*paper.seen, paper.late_status]:
        text = seen.raw.decode()
        assert PASSWORD not in text and SIGNING not in text
    # The strategy logged the signing secret: the log topic has it scrubbed.
    shouts = [p["message"] for p in paper.of(LOG) if p["message"].startswith("shout:")]
    assert shouts == ["shout: ***"]


def test_the_log_topic_carries_the_start_warnings(paper: PaperRun) -> None:
    logs = paper.of(LOG)
    assert any("min_notional 1 -> 10" in p["message"] for p in logs), logs
    assert {p["level"] for p in logs} == {"warning"}


def test_commands_are_answered_with_their_correlation_id(paper: PaperRun) -> None:
    status = paper.replies["status"]
    assert status["ok"] and status["state"] == "running" and status["error"] is None
    assert status["result"]["strategies"] == [
        {"name": "stepper", "use": status["result"]["strategies"][0]["use"]}
    ]
    assert status["result"]["websocket"]["connected"] is True
    bogus = paper.replies["bogus"]
    assert not bogus["ok"] and bogus["error"]["code"] == "unknown_command"
    assert "pause" in bogus["error"]["message"]


def test_status_is_retained_and_says_stopped_after_a_clean_stop(paper: PaperRun) -> None:
    late = paper.late_status
    assert late.retain and late.kind == STATUS
    assert late.payload["state"] == "stopped" and late.payload["online"] is False
    assert late.payload["fills"] == paper.summary["fills"]
    running = [p for p in paper.of(STATUS) if p["state"] == "running"]
    assert running[-1]["websocket"]["last_message_age_s"] < 5
    assert json.dumps(late.payload)  # plain JSON throughout
