"""With an `mqtt:` section the daily report goes out on `<prefix>/<bot_id>/report/daily` at
QoS 1, the same report the job writes to `output.dir/daily/`. The job is the one the node
schedules (`_node_jobs`, as a paper or live run builds it), run here at once instead of
at midnight, in a bot whose engine has traded and whose MQTT link is up."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiomqtt

from botkit import Instrument, OrderType, Place, Side, hookimpl
from botkit.config import parse_config
from botkit.events import Trade
from botkit.node import _node_jobs, build_sim_engine
from botkit.ops.health import FeedHealth
from botkit.ops.localbroker import LocalBroker
from botkit.ops.service import OpsService
from botkit.ops.topics import REPORT, Topics
from botkit.plugins import StrategySpec

from .helpers import assert_valid, decimal_string


class BuyOnce:
    """Buys 0.1 at market on the first trade."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.done = False

    @hookimpl
    def on_trade(self, ctx: Any, trade: Trade) -> list[Place] | None:
        if self.done:
            return None
        self.done = True
        return [Place("BTC/USDT", Side.BUY, "0.1", type=OrderType.MARKET)]


async def test_the_daily_report_job_publishes_the_report_it_writes(
    broker: LocalBroker, tmp_path: Path, btc: Instrument
) -> None:
    config = parse_config(
        f"""
mode: paper
venue: {{name: blocktrade}}
instruments: [{{symbol: BTC/USDT, tick_size: "0.01", lot_size: "0.001"}}]
strategies: [{{use: ema_cross, params: {{symbol: BTC/USDT}}}}]
schedule: {{timezone: Europe/London, daily_report: "0 0 * * *"}}
output: {{dir: reports}}
mqtt: {{host: {broker.host}, port: {broker.port}, bot_id: rep-1}}
""",
        base_dir=tmp_path,
    )
    spec = StrategySpec("buyer", BuyOnce({}))
    engine = build_sim_engine(
        {"BTC/USDT": btc}, [spec], balances={"USDT": Decimal(1000), "BTC": Decimal(0)}
    )
    engine.run_backtest([[Trade(10**9, "BTC/USDT", 100.0, 1.0, Side.SELL, 1)]])
    engine.run_backtest([[Trade(2 * 10**9, "BTC/USDT", 101.0, 1.0, Side.SELL, 2)]])
    ops = OpsService(config)
    ops.bind(engine, [spec], FeedHealth())
    topic = Topics("botkit", "rep-1")
    async with aiomqtt.Client(broker.host, broker.port) as desk:
        await desk.subscribe(topic.of(REPORT), qos=1)
        ops.start()
        jobs = _node_jobs(config, engine, None, ops)
        job = jobs.scheduler.get_job("daily_report")
        assert job is not None
        await job.func()  # what the scheduler runs at midnight, Europe/London
        received: aiomqtt.Message | None = None
        async with asyncio.timeout(10):
            async for m in desk.messages:
                if str(m.topic) == topic.of(REPORT):
                    received = m
                    break
        await ops.close()
    assert received is not None and received.qos == 1 and not received.retain
    report = json.loads(bytes(received.payload))  # type: ignore[arg-type]
    assert_valid(REPORT, [report])
    assert jobs.runs["daily_report"] == 1
    written = sorted((tmp_path / "reports" / "daily").glob("*.json"))
    assert len(written) == 1
    on_disk = json.loads(written[0].read_text())
    assert {k: report[k] for k in on_disk} == on_disk  # the same report, after the envelope
    assert (report["bot_id"], report["seq"], report["timezone"]) == ("rep-1", 1, "Europe/London")
    assert report["fills"] == 1 and report["positions"] == {"buyer:BTC/USDT": "0.100"}
    assert all(decimal_string(v) for v in report["balances"].values())
    assert decimal_string(report["strategy_pnl"]["change"])
