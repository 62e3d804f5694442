"""`botkit status bot.yaml`: positions, open orders and today's PnL from the journal, the
health from the bot's retained MQTT status, and a clear refusal when there is no journal.
(test_feed.py runs it on a real bot that has stopped.)"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import aiomqtt
import pytest

from botkit.cli import main
from botkit.journal import Journal
from botkit.model import Fill, Liquidity, Order, OrderStatus, OrderType, Side
from botkit.ops.localbroker import LocalBroker, free_port
from botkit.ops.statusview import day_of, journal_view
from botkit.ops.topics import STATUS, Topics

D = Decimal


def ns(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp()) * 1_000_000_000


def fill(tid: str, side: Side, price: str, size: str, fee: str, at: str) -> Fill:
    return Fill(
        tid, "mm-1", "BTC/USDT", side, D(price), D(size), D(fee), "USDT", Liquidity.TAKER,
        ns(at), "v1", "mm",
    )  # fmt: skip


def write_journal(path: Path) -> None:
    """Bought 1 @ 100 late on 7 August (London); sold 0.4 @ 110 on the 8th; one buy open."""
    with Journal(path, venue="blocktrade") as j:
        bought = Order("mm-1", "BTC/USDT", Side.BUY, OrderType.MARKET, D(1), strategy="mm")
        bought.status, bought.filled, bought.created_ns = (
            OrderStatus.FILLED,
            D(1),
            ns("2024-08-07T22:30:00+00:00"),
        )
        j.record_order(bought)
        resting = Order("mm-2", "BTC/USDT", Side.BUY, OrderType.LIMIT, D("0.5"), D("95.5"))
        resting.strategy, resting.status = "mm", OrderStatus.OPEN
        resting.created_ns = resting.updated_ns = ns("2024-08-08T09:00:00+00:00")
        j.record_order(resting)
        # 22:30 UTC on the 7th is 23:30 in London: still the 7th there.
        j.record_fill(fill("t1", Side.BUY, "100", "1", "0.1", "2024-08-07T22:30:00+00:00"))
        j.record_fill(fill("t2", Side.SELL, "110", "0.4", "0.044", "2024-08-08T10:00:00+00:00"))


def config(tmp: Path, extra: str = "") -> Path:
    path = tmp / "bot.yaml"
    path.write_text(f"""
mode: paper
venue: {{name: blocktrade}}
instruments: [{{symbol: BTC/USDT, tick_size: "0.01", lot_size: "0.001"}}]
strategies: [{{use: ema_cross, params: {{symbol: BTC/USDT}}}}]
live: {{journal: state/journal.sqlite}}
{extra}
""")
    return path


def test_today_is_the_schedule_timezones_day_and_its_pnl_is_what_its_fills_realised(
    tmp_path: Path,
) -> None:
    write_journal(tmp_path / "j.sqlite")
    now = ns("2024-08-08T12:00:00+00:00")
    with Journal(tmp_path / "j.sqlite", create=False) as j:
        view = journal_view(j, {"BTC/USDT": "USDT"}, "Europe/London", now)
    assert view["today"] == {
        "date": "2024-08-08",
        "timezone": "Europe/London",
        "fills": 1,
        # 0.4 sold at 110 against the average cost of 100 bought the day before
        "pnl": {"USDT": {"realized": "4", "fees": "0.044", "net": "3.956"}},
        "fees_by_asset": {"USDT": "0.044"},
    }
    assert view["positions"] == [
        {"strategy": "mm", "symbol": "BTC/USDT", "size": "0.6", "avg_price": "100",
         "realized_pnl": "4"}
    ]  # fmt: skip
    assert [o["client_id"] for o in view["open_orders"]] == ["mm-2"]
    assert day_of(now, "Asia/Tokyo")[0] == "2024-08-08"
    # At 23:45 in London on the 7th, the sale has not happened yet and the buy is the day's.
    with Journal(tmp_path / "j.sqlite", create=False) as j:
        earlier = journal_view(j, {}, "Europe/London", ns("2024-08-07T22:45:00+00:00"))
    assert earlier["today"]["date"] == "2024-08-07" and earlier["today"]["fills"] == 1
    assert earlier["today"]["pnl"] == {"USDT": {"realized": "0", "fees": "0.1", "net": "-0.1"}}


def test_status_without_a_journal_says_where_it_looked_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", str(config(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no journal at ") and "state/journal.sqlite (live.journal)" in err
    assert "has not run yet" in err


def test_status_prints_the_journal_and_without_mqtt_the_last_activity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path, "schedule: {timezone: Europe/London}")
    write_journal(tmp_path / "state" / "journal.sqlite")
    assert main(["status", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "positions (1 open)\n  mm:BTC/USDT  0.6 @ 100 (realised 4)" in out
    assert "open orders (1)\n  mm-2  mm BTC/USDT buy 0.5 @ 95.5, filled 0, open" in out
    assert "Europe/London): pnl " in out
    assert "health: no mqtt: section, so no live status; last journal activity" in out
    assert main(["status", str(cfg), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] is None and data["fills_total"] == 2
    assert data["last_activity"] == "2024-08-08T10:00:00.000000Z"


def test_status_exits_3_when_the_broker_has_no_status_but_still_shows_the_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path, f"mqtt: {{port: {free_port()}, bot_id: nobody}}")
    write_journal(tmp_path / "state" / "journal.sqlite")
    assert main(["status", str(cfg), "--timeout", "1s"]) == 3
    out = capsys.readouterr().out
    assert "positions (1 open)" in out
    assert "health: no status from MQTT: the broker at 127.0.0.1:" in out


async def test_status_shows_a_running_bots_retained_health(
    broker: LocalBroker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path, f"mqtt: {{host: {broker.host}, port: {broker.port}, bot_id: mm-1}}")
    write_journal(tmp_path / "state" / "journal.sqlite")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    status = {
        "bot_id": "mm-1", "seq": 9, "ts": now, "state": "paused", "online": True,
        "schema": 1, "version": "0.1.0", "mode": "live", "venue": "blocktrade",
        "strategies": [{"name": "mm", "use": "market_maker"}], "started_at": now,
        "uptime_s": 3725.0, "orders_open": 1, "fills": 2, "rejects": {"paused": 3},
        "websocket": {"connected": False, "reconnects": 2, "errors": 3,
                      "last_error": "ConnectionResetError", "last_message_age_s": 41.5,
                      "source": "venue", "gaps": 0, "resyncs": 0},
    }  # fmt: skip
    async with aiomqtt.Client(broker.host, broker.port) as client:
        topic = Topics("botkit", "mm-1").of(STATUS)
        await client.publish(topic, json.dumps(status), qos=1, retain=True)
    code = await asyncio.to_thread(main, ["status", str(cfg)])
    out = capsys.readouterr().out
    assert code == 0, out
    health = out[out.index("health:") :]
    assert re.match(r"health: paused, live on blocktrade, status \ds old\n  up 1h02m\n", health)
    assert "orders open 1, fills 2, rejects paused 3" in health
    assert "feed venue DOWN, last message 41.5s ago, reconnects 2, errors 3" in health
