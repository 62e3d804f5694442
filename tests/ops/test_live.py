"""A live run (on the local BlockTrade protocol simulator, through the live gateway)
publishes the same topics as a paper run, plus the gateway's counters, and obeys
the same commands."""

from __future__ import annotations

from pathlib import Path

from botkit.ops.localbroker import LocalBroker
from botkit.ops.topics import FILLS, ORDERS, STATUS

from .helpers import Bot, Watcher, assert_valid, bot_yaml


async def test_a_live_run_publishes_and_obeys_too(broker: LocalBroker, tmp_path: Path) -> None:
    config = bot_yaml(tmp_path, broker, "live1")
    config.write_text(config.read_text().replace("mode: paper", "mode: live"))
    bot = Bot(config)
    try:
        async with Watcher(broker, "live1") as watcher:
            status = await watcher.wait_for(STATUS, lambda p: p["state"] == "running", timeout_s=30)
            assert status["mode"] == "live" and isinstance(status["venue_health"], dict)
            fill = await watcher.wait_for(FILLS, timeout_s=20)
            assert fill["fill_id"] == fill["trade_id"]  # the venue's own trade id, live
            halted = await watcher.send("halt")
            assert halted["ok"] and halted["state"] == "halted"
            refused = await watcher.wait_for(
                ORDERS, lambda p: p["event_ts"] > halted["ts"] and p["status"] == "rejected"
            )
            assert refused["code"] == "trading_halted"
            assert_valid(ORDERS, watcher.of(ORDERS))
            assert_valid(STATUS, watcher.of(STATUS))
        summary = bot.stop()
    finally:
        if bot.proc.poll() is None:
            bot.kill()
    assert summary["mode"] == "live" and summary["fills"] > 0
