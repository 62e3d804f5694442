"""The parts of botkit.ops on their own: the mqtt: section, reading and signing
commands, payloads against their schemas, the pause gate in the engine, the
bounded queue."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from botkit import Instrument, OrderType, Place, Side, hookimpl
from botkit.config import ConfigError, parse_config
from botkit.events import Trade
from botkit.execution.updates import snapshot
from botkit.model import Order, OrderStatus
from botkit.node import build_sim_engine
from botkit.ops import payloads
from botkit.ops.control import ControlReader, Refused
from botkit.ops.ctl import command_payload
from botkit.ops.gate import TradingGate
from botkit.ops.publisher import Lane
from botkit.ops.signing import mac, seal, verify
from botkit.plugins import StrategySpec

from .helpers import assert_valid

BASE = """
mode: paper
venue: {name: blocktrade}
instruments: [{symbol: BTC/USDT, tick_size: "0.01", lot_size: "0.001"}]
strategies: [{use: ema_cross, params: {symbol: BTC/USDT}}]
"""


# ----- the mqtt: section --------------------------------------------------------------------


def test_the_mqtt_section_reads_with_its_defaults() -> None:
    cfg = parse_config(
        BASE + "mqtt: {bot_id: desk-1, username: bot, password: '${MQ_PW}'}\n",
        env={"MQ_PW": "s3cret"},
    )
    mqtt = cfg.mqtt
    assert mqtt is not None and mqtt.bot_id == "desk-1" and mqtt.topic_prefix == "botkit"
    assert (mqtt.host, mqtt.port, mqtt.qos, mqtt.queue_size) == ("127.0.0.1", 1883, 0, 10_000)
    assert repr(mqtt.password) == "***" and "s3cret" in cfg.secret_values()
    assert parse_config(BASE).mqtt is None  # no section: no broker at all
    assert parse_config(BASE + "mqtt:\n").mqtt is None  # nor an empty one


@pytest.mark.parametrize(
    ("section", "env", "message"),
    [
        ("mqtt: {port: 1883}\n", {}, "mqtt.bot_id: required key 'bot_id' is missing"),
        ("mqtt: {bot_id: a/b}\n", {}, "mqtt.bot_id: 'a/b' is not allowed; a bot_id is one MQTT"),
        ("mqtt: {bot_id: b, topic_prefix: 'x/#'}\n", {}, "mqtt.topic_prefix: 'x/#' is not allowed"),
        (
            "mqtt: {bot_id: b, username: u, password: hunter2}\n",
            {},
            "mqtt.password: a secret cannot be written in the file; it must come from an "
            "environment variable. Write password: ${MQTT_PASSWORD}",
        ),
        (
            "mqtt: {bot_id: b, password: '${P}'}\n",
            {"P": "x"},
            "mqtt.password: a password is given without a username",
        ),
        (
            "mqtt: {bot_id: b, signing_secret_env: CTL_SECRET}\n",
            {},
            "mqtt.signing_secret_env: environment variable CTL_SECRET is not set",
        ),
        ("mqtt: {bot_id: b, qos: 3}\n", {}, "mqtt.qos: 3 is not allowed: must be <= 2"),
        ("mqtt: {bot_id: b, keepalive: 100ms}\n", {}, "MQTT keepalive is from 1s to 65535s"),
        ("mqtt: {bot_id: b, tls: {key_file: k.pem}}\n", {}, "key_file is given without cert_file"),
        ("mqtt: {bot_id: b, hots: x}\n", {}, "did you mean 'host'?"),
    ],
)
def test_a_bad_mqtt_section_is_one_paragraph_naming_the_field_and_the_fix(
    section: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(BASE + section, env=env)
    text = str(err.value)
    assert message in text and "\n" not in text
    assert "hunter2" not in text


def test_the_signing_secret_comes_from_the_named_variable_and_is_scrubbed() -> None:
    cfg = parse_config(
        BASE + "mqtt: {bot_id: b, signing_secret_env: CTL_SECRET, tls: true}\n",
        env={"CTL_SECRET": "k3y"},
    )
    assert cfg.mqtt is not None and cfg.mqtt.tls is not None
    secret = cfg.mqtt.signing_secret()
    assert secret is not None and secret.reveal() == "k3y" and "k3y" in cfg.secret_values()
    assert "k3y" not in json.dumps(cfg.redacted_dict())


# ----- commands: reading, signing, freshness ---------------------------------------------


def test_a_plain_command_reads_and_garbage_is_refused_as_malformed() -> None:
    reader = ControlReader()
    cmd = reader.read(b'{"id": "c1", "command": "pause", "args": {"strategy": "mm"}}')
    assert (cmd.id, cmd.command, cmd.args) == ("c1", "pause", {"strategy": "mm"})
    for payload, rid in [
        (b"\xff\xfe", None),
        (b"[]", None),
        (b'{"command": "pause"}', None),
        (b'{"id": "c2", "command": "pause", "arg": {}}', "c2"),
        (b'{"id": "c3", "command": "pause", "args": [1]}', "c3"),
        (b'{"id": "c4", "command": "pause", "ts": "soon"}', "c4"),
        (b" " * 70_000, None),
    ]:
        with pytest.raises(Refused) as refused:
            reader.read(payload)
        assert refused.value.code == "malformed" and refused.value.request_id == rid


def test_signed_commands_need_the_secret_a_fresh_ts_and_a_new_id() -> None:
    now = [1_700_000_000.0]
    reader = ControlReader(secret="k", window_s=30, clock=lambda: now[0])
    _, good = command_payload("halt", request_id="h1", secret="k", ts=now[0] - 5)
    assert reader.read(good).command == "halt"

    def code(payload: bytes) -> str:
        with pytest.raises(Refused) as refused:
            reader.read(payload)
        return refused.value.code

    assert code(good) == "replayed"
    assert code(command_payload("halt", request_id="h2", secret="other", ts=now[0])[1]) == (
        "bad_signature"
    )
    assert code(command_payload("halt", request_id="h3")[1]) == "bad_signature"  # unsigned
    assert code(command_payload("halt", request_id="h4", secret="k", ts=now[0] - 31)[1]) == "stale"
    assert code(command_payload("halt", request_id="h5", secret="k", ts=now[0] + 31)[1]) == "stale"
    # The MAC covers the exact bytes: the same command re-serialised does not verify.
    envelope = json.loads(good)
    body = json.dumps(json.loads(envelope["body"]), indent=1)
    assert verify(envelope["body"].encode(), envelope["hmac"], "k")
    assert not verify(body.encode(), envelope["hmac"], "k")
    # RFC 4231, test case 2.
    assert mac(b"what do ya want for nothing?", "Jefe") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    sealed = json.loads(seal({"id": "x", "command": "status", "ts": 1.0}, "k"))
    assert set(sealed) == {"body", "hmac"}


# ----- payloads ----------------------------------------------------------------------------


def test_money_is_written_as_exact_plain_decimal_strings() -> None:
    assert payloads.dec(Decimal("1E-8")) == "0.00000001"
    assert payloads.dec(Decimal("0.00100")) == "0.00100"  # the grid's digits stay
    assert payloads.dec(Decimal("30000.1219500000"), trim=True) == "30000.12195"
    assert payloads.dec(Decimal("-0E-28"), trim=True) == "0"
    assert payloads.dec(Decimal("NaN")) is None and payloads.dec(None) is None
    assert payloads.iso(1_723_118_400_123_456_789) == "2024-08-08T12:00:00.123456Z"


def test_a_rejected_order_with_a_nonsense_size_still_matches_the_schema() -> None:
    order = Order("c1", "BTC/USDT", Side.BUY, OrderType.MARKET, Decimal("NaN"), strategy="s")
    order.status, order.code, order.reason = OrderStatus.REJECTED, "invalid_size", "size NaN"
    u = snapshot(order, 1_723_118_400_000_000_000)
    body = payloads.envelope("b", 1, u.ts_ns, payloads.order(u))
    assert body["size"] is None and body["status"] == "rejected"
    assert_valid("orders", [body])
    assert_valid("risk/rejects", [payloads.envelope("b", 1, u.ts_ns, payloads.reject(u, 1))])
    with pytest.raises(ValueError):
        payloads.dumps({"x": float("nan")})


# ----- the pause gate in the engine -----------------------------------------------------


class BuyEveryTrade:
    @hookimpl
    def on_trade(self, ctx, trade):  # type: ignore[no-untyped-def]
        return [Place("BTC/USDT", Side.BUY, "0.1", type=OrderType.MARKET)]


def test_the_gate_refuses_new_orders_of_a_paused_strategy_before_the_risk_module(
    btc: Instrument,
) -> None:
    engine = build_sim_engine(
        {"BTC/USDT": btc},
        [StrategySpec("a", BuyEveryTrade()), StrategySpec("b", BuyEveryTrade())],
        balances={"USDT": Decimal(100_000)},
    )
    gate = TradingGate()
    gate.pause("a")
    engine.gate = gate
    trades = [Trade((i + 1) * 10**9, "BTC/USDT", 100.0, 1.0, Side.SELL, i) for i in range(3)]
    engine.run_backtest([trades])
    by = {s: [o for o in engine.router.orders.values() if o.strategy == s] for s in "ab"}
    assert {o.code for o in by["a"]} == {"paused"} and len(by["a"]) == 3
    assert all(o.status is not OrderStatus.REJECTED for o in by["b"]) and len(by["b"]) == 3
    assert engine.rejects["paused"] == 3
    gate.resume("a")
    engine.gate = None  # what the commands do once nothing is paused
    engine.run_backtest([[Trade(9 * 10**9, "BTC/USDT", 100.0, 1.0, Side.SELL, 9)]])
    last_of_a = [o for o in engine.router.orders.values() if o.strategy == "a"][-1]
    assert last_of_a.code is None and last_of_a.status is not OrderStatus.REJECTED


# ----- the bounded queue ---------------------------------------------------------------------


def test_a_full_lane_drops_its_oldest_messages_and_counts_them_by_topic() -> None:
    from collections import Counter

    dropped: Counter[str] = Counter()
    lane = Lane(3, 0, dropped)
    for i, kind in enumerate(["orders", "orders", "log", "orders", "pnl"]):
        lane.put((kind, i + 1, 0, None, b""))
    assert [item[1] for item in lane.items] == [3, 4, 5]  # the newest stay
    assert dropped == {"orders": 2}


# ----- flatten on a thin book ------------------------------------------------------------


class BuyOnce:
    """Buys 0.5 at market on the first book it sees."""

    def __init__(self) -> None:
        self.bought = False

    @hookimpl
    def on_book(self, ctx, book):  # type: ignore[no-untyped-def]
        if self.bought:
            return None
        self.bought = True
        return [Place("BTC/USDT", Side.BUY, "0.5", type=OrderType.MARKET)]


def test_flatten_keeps_closing_what_a_thin_book_left_until_flat(btc: Instrument) -> None:
    import time

    from botkit.events import BookSnapshot
    from botkit.ops.commands import Commands

    spec = StrategySpec("s", BuyOnce())
    engine = build_sim_engine({"BTC/USDT": btc}, [spec], balances={"USDT": Decimal(100_000)})
    now = time.time_ns()
    engine.start(now)

    def book(bid_size: float) -> None:
        engine.dispatch(
            BookSnapshot(time.time_ns(), "BTC/USDT", [(99.0, bid_size)], [(101.0, 5.0)])
        )

    book(5.0)
    assert engine.router.position_size("s", "BTC/USDT") == Decimal("0.5")
    book(0.2)  # only 0.2 to sell into
    commands = Commands(engine, [spec], TradingGate(), dict, lambda: None)
    reply = commands.run("flatten", {})
    assert reply["closing"][0]["position"] == "0.500" and reply["closing"][0]["side"] == "sell"
    assert engine.router.position_size("s", "BTC/USDT") == Decimal("0.3")
    assert engine.risk.kill_switch == "reducing"
    book(1.0)  # the book refills: the next round closes the rest
    commands.follow_up()
    assert engine.router.position_size("s", "BTC/USDT") == 0
    closing = [o for o in engine.router.orders.values() if o.reduce_only]
    assert [o.side for o in closing] == [Side.SELL, Side.SELL]
    commands.follow_up()  # flat: nothing more is sent
    assert len([o for o in engine.router.orders.values() if o.reduce_only]) == 2
