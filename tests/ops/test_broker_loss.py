"""When the broker goes away the bot keeps trading, and when it comes back the bot
reconnects, publishes again and says what its bounded queue dropped meanwhile.
When the bot dies without a goodbye, the broker tells everyone it is offline.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from botkit.journal import Journal
from botkit.ops.localbroker import LocalBroker
from botkit.ops.payloads import iso
from botkit.ops.topics import FILLS, ORDERS, STATUS

from .helpers import Bot, Watcher, assert_valid, bot_yaml


async def test_the_bot_outlives_a_broker_restart_and_reports_its_queue_loss(
    broker: LocalBroker, tmp_path: Path
) -> None:
    # A queue of 10 per lane: a two-second outage overflows it.
    bot = Bot(bot_yaml(tmp_path, broker, "r1", mqtt="  queue_size: 10\n"))
    try:
        async with Watcher(broker, "r1") as before:
            await before.wait_for(STATUS, lambda p: p["state"] == "running", timeout_s=30)
            await before.wait_for(FILLS, lambda p: p["seq"] >= 3)
            await before.wait_for(ORDERS)
            killed_at = time.time_ns()
            broker.kill()
            await asyncio.sleep(2.0)
        last_order_seen = before.of(ORDERS)[-1]["seq"]
        broker.start()
        restarted_at = time.time_ns()
        async with Watcher(broker, "r1") as after:
            status = await after.wait_for(
                STATUS, lambda p: p["telemetry"]["reconnects"] >= 1, timeout_s=15
            )
            telemetry = status["telemetry"]
            assert telemetry["connected"] and telemetry["dropped"] > 0
            assert telemetry["dropped_by_topic"]["orders"] > 0
            assert status["state"] == "running" and status["websocket"]["connected"]
            # Publishing again: orders made after the restart arrive, numbered on from
            # where the lost ones left a gap at least as wide as what the queue dropped.
            fresh = await after.wait_for(ORDERS, lambda p: p["event_ts"] > iso(restarted_at))
            first_after = after.of(ORDERS)[0]["seq"]
            assert first_after - last_order_seen - 1 >= telemetry["dropped_by_topic"]["orders"]
            assert fresh["seq"] >= first_after > last_order_seen
            await after.wait_for(FILLS, lambda p: p["event_ts"] > iso(restarted_at))
            assert_valid(STATUS, after.of(STATUS))
        summary = bot.stop()
    finally:
        if bot.proc.poll() is None:
            bot.kill()
    # It kept trading while the broker was gone: fills in the journal from the outage.
    with Journal(tmp_path / "r1.sqlite", venue="blocktrade", create=False) as journal:
        fills = journal.fills()
    assert len(fills) == summary["fills"]
    assert [f for f in fills if killed_at < f.ts_ns < restarted_at]
    # And said so on its terminal log.
    assert "MQTT: lost the broker" in bot.stderr
    assert "dropped from the full queue while the broker was away" in bot.stderr


async def test_a_crashed_bot_shows_offline(broker: LocalBroker, tmp_path: Path) -> None:
    bot = Bot(bot_yaml(tmp_path, broker, "w1"))
    try:
        async with Watcher(broker, "w1", kinds=(STATUS,)) as watcher:
            await watcher.wait_for(STATUS, lambda p: p["state"] == "running", timeout_s=30)
            bot.kill()  # SIGKILL: no clean disconnect, so the broker sends the last will
            will = await watcher.wait_for(STATUS, lambda p: p["state"] == "offline")
    finally:
        if bot.proc.poll() is None:
            bot.kill()
    assert will["online"] is False and will["seq"] == 0 and will["reason"] == "connection lost"
    assert_valid(STATUS, [will])
    async with Watcher(broker, "w1", kinds=(STATUS,)) as late:  # retained for newcomers
        seen = await late.first_seen()
    assert seen.retain and seen.payload["state"] == "offline"
