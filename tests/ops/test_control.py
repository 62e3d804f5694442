"""Each control command works end to end against a running bot, and a command from
the wrong sender changes nothing.

One bot serves the module: `botkit run` (paper, the stepper strategy, which sends
a market order every 200 ms and keeps a buy resting below the market) on a broker
with users and topic ACLs, its commands signed with a shared secret. The
operator connects with its own credentials, may publish on the control topic
and read everything; the viewer may only read. Every test leaves the bot running.

Orders carry the engine's clock (``event_ts``) and a reply the time the command
was carried out (``ts``), so "after the command" is exact, whatever order the
messages arrive in.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import aiomqtt
import pytest

from botkit.ops.ctl import command_payload
from botkit.ops.localbroker import Access, LocalBroker
from botkit.ops.topics import FILLS, ORDERS, POSITIONS, REJECTS, REPLY, STATUS

from .conftest import KIND
from .helpers import ROOT, Bot, Watcher, assert_valid, bot_yaml

SIGNING = "shared-control-secret-5d1e"
USERS = {"bot": "bot-pw", "operator": "operator-pw", "viewer": "viewer-pw"}
ACL = {
    "bot": Access(read=["botkit/ctl1/#"], write=["botkit/ctl1/#"]),
    "operator": Access(read=["botkit/#"], write=["botkit/+/control"]),
    "viewer": Access(read=["botkit/#"]),
}


@dataclass
class Desk:
    broker: LocalBroker
    bot: Bot
    config: Path


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    tmp = tmp_path_factory.mktemp("control")
    with LocalBroker(tmp / "broker", kind=KIND, users=USERS, acl=ACL) as broker:
        config = bot_yaml(
            tmp,
            broker,
            "ctl1",
            mqtt="""  username: bot
  password: ${BOT_MQTT_PASSWORD}
  signing_secret_env: BOT_SIGNING
  signing_window: 10s
""",
        )
        bot = Bot(config, env={"BOT_MQTT_PASSWORD": USERS["bot"], "BOT_SIGNING": SIGNING})
        try:
            yield Desk(broker, bot, config)
        finally:
            bot.stop()


@pytest.fixture
async def operator(desk: Desk) -> AsyncIterator[Watcher]:
    """The operator's connection, once the bot is trading; resumes the bot afterwards."""
    async with Watcher(
        desk.broker, "ctl1", username="operator", password=USERS["operator"], secret=SIGNING
    ) as w:
        await w.wait_for(STATUS, lambda p: p["state"] == "running", timeout_s=30)
        await w.wait_for(ORDERS, lambda p: p["status"] == "pending_new")
        yield w
        assert_valid(REPLY, w.of(REPLY))
        assert (await w.send("resume"))["ok"]


def after(reply: dict[str, object]) -> object:
    """Orders (fills...) stamped after the command was carried out."""
    return lambda p: p["event_ts"] > reply["ts"]


async def test_pause_stops_new_orders_and_resume_restarts_them(operator: Watcher) -> None:
    paused = await operator.send("pause")
    assert (
        paused["ok"] and paused["state"] == "paused" and paused["result"] == {"paused": ["stepper"]}
    )
    # The stepper keeps trying every 200 ms: each try is refused with code paused.
    refused = await operator.wait_for(REJECTS, after(paused))
    assert refused["code"] == "paused" and refused["strategy"] == "stepper"
    await asyncio.sleep(0.6)
    since_pause = [o for o in operator.of(ORDERS) if after(paused)(o)]
    assert since_pause and all(o["status"] in ("rejected", "canceled") for o in since_pause)
    assert {o["code"] for o in since_pause if o["status"] == "rejected"} == {"paused"}
    assert not [f for f in operator.of(FILLS) if after(paused)(f)]
    assert (await operator.wait_for(STATUS, lambda p: p["state"] == "paused"))["online"]

    resumed = await operator.send("resume")
    assert resumed["ok"] and resumed["state"] == "running"
    placed = await operator.wait_for(
        ORDERS, lambda p: after(resumed)(p) and p["status"] == "pending_new"
    )
    assert placed["strategy"] == "stepper"
    await operator.wait_for(FILLS, after(resumed))


async def resting_order(operator: Watcher) -> dict[str, str]:
    """A resting buy of the stepper seen open: cancel what rests, and catch the next one."""
    cleared = await operator.send("cancel_all")
    assert cleared["ok"]
    order: dict[str, str] = await operator.wait_for(
        ORDERS,
        lambda p: (
            after(cleared)(p) and p["client_id"].startswith("rest-") and p["status"] == "open"
        ),
    )
    return order


async def test_cancel_all_cancels_the_resting_orders(operator: Watcher) -> None:
    resting = await resting_order(operator)
    reply = await operator.send("cancel_all", {"symbol": "BTC/USDT"})
    assert reply["ok"] and reply["result"]["cancelling"] >= 1
    await operator.wait_for(
        ORDERS, lambda p: p["client_id"] == resting["client_id"] and p["status"] == "canceled"
    )


async def test_flatten_ends_flat_and_keeps_the_bot_reducing(operator: Watcher) -> None:
    await operator.wait_for(
        POSITIONS, lambda p: any(Decimal(r["size"]) > 0 for r in p["positions"])
    )
    reply = await operator.send("flatten")
    assert reply["ok"] and reply["state"] == "reducing"
    closing = reply["result"]["closing"]
    assert [(c["strategy"], c["side"]) for c in closing] == [("stepper", "sell")]
    flat = await operator.wait_for(
        POSITIONS, lambda p: p["ts"] > reply["ts"] and Decimal(p["positions"][0]["size"]) == 0
    )
    assert flat["positions"][0]["strategy"] == "stepper"
    # Reducing: the stepper's buys are refused, so it stays flat.
    refused = await operator.wait_for(REJECTS, after(reply))
    assert refused["code"] == "reducing_only"
    await asyncio.sleep(0.6)
    latest = operator.of(POSITIONS)[-1]["positions"][0]
    assert Decimal(latest["size"]) == 0
    assert (await operator.wait_for(STATUS, lambda p: p["state"] == "reducing"))["online"]


async def test_halt_cancels_everything_and_lets_nothing_new_through(operator: Watcher) -> None:
    resting = await resting_order(operator)
    reply = await operator.send("halt")
    assert reply["ok"] and reply["state"] == "halted" and reply["result"]["cancelling"] >= 1
    await operator.wait_for(
        ORDERS, lambda p: p["client_id"] == resting["client_id"] and p["status"] == "canceled"
    )
    refused = await operator.wait_for(REJECTS, after(reply))
    assert refused["code"] == "trading_halted"
    await asyncio.sleep(0.5)
    since = [o for o in operator.of(ORDERS) if after(reply)(o)]
    assert since and all(o["status"] in ("rejected", "canceled") for o in since)
    status = (await operator.send("status"))["result"]
    assert status["state"] == "halted" and status["kill_switch"] == "halted"


async def test_set_param_changes_a_strategy_param_validated_like_bot_yaml(
    operator: Watcher,
) -> None:
    reply = await operator.send("set_param", {"params": {"size": "0.002"}})
    assert reply["ok"] and reply["result"] == {"strategy": "stepper", "params": {"size": "0.002"}}

    def bigger_buy(p: dict[str, str]) -> bool:
        return after(reply)(p) and p["type"] == "market" and p["side"] == "buy"

    assert (await operator.wait_for(ORDERS, bigger_buy))["size"] == "0.00200"

    bad = await operator.send("set_param", {"strategy": "stepper", "params": {"size": "-1"}})
    assert not bad["ok"] and bad["error"]["code"] == "invalid_param"
    assert bad["error"]["message"].startswith("strategies[0].params.size: ")
    assert "must be > 0" in bad["error"]["message"]
    moved = await operator.send("set_param", {"params": {"symbol": "ETH/USDT"}})
    assert moved["error"]["code"] == "invalid_param"
    unknown = await operator.send("set_param", {"strategy": "nobody", "params": {"size": "1"}})
    assert unknown["error"]["code"] == "unknown_strategy"
    # The refused values changed nothing: the next buys are still 0.002.
    later = await operator.wait_for(ORDERS, lambda p: bigger_buy(p) and p["event_ts"] > bad["ts"])
    assert later["size"] == "0.00200"
    assert (await operator.send("set_param", {"params": {"size": "0.001"}}))["ok"]


async def test_status_replies_with_what_the_bot_is_doing(operator: Watcher) -> None:
    reply = await operator.send("status")
    status = reply["result"]
    assert reply["ok"] and reply["state"] == status["state"] == "running"
    assert status["mode"] == "paper" and status["venue"] == "blocktrade"
    assert [s["name"] for s in status["strategies"]] == ["stepper"]
    assert status["websocket"]["connected"] and status["websocket"]["last_message_age_s"] < 5
    assert status["telemetry"]["connected"] and status["fills"] > 0


async def test_commands_from_the_wrong_sender_are_refused_and_change_nothing(
    desk: Desk, operator: Watcher
) -> None:
    # Wrong password: the broker refuses the connection; nothing reaches the bot.
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(
            desk.broker.host, desk.broker.port, username="operator", password="guess"
        ):
            pass
    # The viewer may read but not publish on control: even a well signed pause is dropped.
    async with aiomqtt.Client(
        desk.broker.host, desk.broker.port, username="viewer", password=USERS["viewer"]
    ) as viewer:
        _, payload = command_payload("pause", secret=SIGNING, request_id="from-viewer")
        await viewer.publish("botkit/ctl1/control", payload, qos=1)
    # A bad signature, an old timestamp, no signature at all, a replay, garbage.
    sealed = json.loads(command_payload("pause", secret=SIGNING)[1])
    forged = json.dumps({"body": sealed["body"], "hmac": "0" * 64}).encode()
    old = command_payload("pause", secret=SIGNING, ts=time.time() - 120)[1]
    plain = command_payload("pause", request_id="plain")[1]
    status = command_payload("status", secret=SIGNING, request_id="once")[1]
    wrong_secret = command_payload("pause", secret="not-the-secret", request_id="wrong")[1]
    for payload in (forged, old, plain, status, status, wrong_secret, b"not json", b"[1, 2]"):
        await operator.publish_command(payload)
    replies = await operator.wait_count(REPLY, 8)  # answered in the order sent
    codes = [r["error"]["code"] if r["error"] else "ok" for r in replies]
    assert codes == [
        "bad_signature",
        "stale",
        "bad_signature",
        "ok",
        "replayed",
        "bad_signature",
        "malformed",
        "malformed",
    ]
    assert all(r["state"] == "running" for r in replies)
    assert not [r for r in operator.of(REPLY) if r["id"] == "from-viewer"]
    # Still trading: a new order after all of that.
    last = replies[-1]
    await operator.wait_for(ORDERS, lambda p: after(last)(p) and p["status"] == "pending_new")
    assert (await operator.send("status"))["state"] == "running"


def test_botkit_ctl_sends_a_command_and_prints_the_reply(desk: Desk) -> None:
    env = {**os.environ, "OPERATOR_PW": USERS["operator"], "BOT_SIGNING": SIGNING}
    env["BOT_MQTT_PASSWORD"] = USERS["bot"]
    base = [sys.executable, "-m", "botkit.cli", "ctl", "ctl1"]
    auth = ["-c", str(desk.config), "--username", "operator", "--password-env", "OPERATOR_PW"]

    def ctl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*base, *args, *auth], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )

    paused = ctl("pause")
    assert paused.returncode == 0, paused.stderr
    assert json.loads(paused.stdout)["state"] == "paused"
    refused = ctl("set_param", "--param", "size=-1")
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["error"]["code"] == "invalid_param"
    resumed = ctl("resume")
    assert resumed.returncode == 0 and json.loads(resumed.stdout)["state"] == "running"
    nobody = subprocess.run(
        [*base[:-1], "ghost", "status", "--timeout", "1s", *auth],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert nobody.returncode == 3 and "no reply from bot ghost" in nobody.stderr
