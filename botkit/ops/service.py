"""Telemetry and remote control wired for one paper or live run.

The node (``botkit.node.run_live``) makes an :class:`OpsService` when bot.yaml
has an ``mqtt:`` section, before anything else, so the start's warnings are
published too; hands its :attr:`~OpsService.tap` to the ``Updates`` queue when
it assembles the engine; :meth:`~OpsService.bind`\\ s it to the engine once
there is one; :meth:`~OpsService.start`\\ s it with the strategies; and
:meth:`~OpsService.close`\\ s it after the engine stopped, which sends what is
queued, the final positions and PnL and a retained ``stopped`` status before
disconnecting. Nothing here ever waits on the broker from the trading path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import aiomqtt

from botkit.ops import loghandler, payloads
from botkit.ops.client import make_client, settings_from
from botkit.ops.commands import CommandError, Commands
from botkit.ops.control import ControlReader, Refused, reply
from botkit.ops.gate import TradingGate
from botkit.ops.health import FeedHealth
from botkit.ops.publisher import Publisher
from botkit.ops.status import StatusBuilder, state_of
from botkit.ops.telemetry import Snapshots, TelemetryTap
from botkit.ops.topics import CONTROL, REPORT, STATUS, Topics

if TYPE_CHECKING:
    from botkit.config import BotConfig
    from botkit.engine import Engine
    from botkit.execution.live import LiveGateway
    from botkit.plugins import StrategySpec

log = logging.getLogger("botkit.ops")

TICK_S = 0.25  # how often positions are re-sent after fills, at most
CLOSE_TIMEOUT_S = 3.0


class OpsService:
    """The MQTT side of one run: publisher, telemetry tap, log handler and commands."""

    def __init__(self, config: BotConfig) -> None:
        mqtt = config.mqtt
        if mqtt is None:
            raise ValueError("OpsService needs bot.yaml's mqtt: section")
        self.mqtt = mqtt
        self.topics = Topics(mqtt.topic_prefix, mqtt.bot_id)
        self.settings = settings_from(mqtt, config.resolve_path)
        self.gate = TradingGate()
        secrets = config.secrets()
        self.status = StatusBuilder(
            mode=config.mode,
            venue=config.venue.name,
            strategies=[(s.name, s.use) for s in config.strategies],
            secrets=secrets,
        )
        self.reader = ControlReader(mqtt.signing_secret(), mqtt.signing_window / 1e9)
        self.publisher = Publisher(
            self.topics,
            self._client,
            self.status.body,
            qos=mqtt.qos,
            queue_size=mqtt.queue_size,
            reconnect_delay_s=mqtt.reconnect_delay / 1e9,
            subscriptions=(self.topics.of(CONTROL),) if mqtt.control else (),
            on_message=self._on_message,
        )
        self.status.telemetry = self.publisher.stats
        self.tap = TelemetryTap(self.publisher)
        self.commands: Commands | None = None
        self.snapshots: Snapshots | None = None
        self.engine: Engine | None = None
        self._log_handler: loghandler.MqttLogHandler | None = loghandler.install(
            self.publisher, secrets
        )
        self._run: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._closed = False

    def _client(self) -> aiomqtt.Client:
        will = aiomqtt.Will(
            self.topics.of(STATUS),
            payloads.dumps(
                payloads.envelope(self.topics.bot_id, 0, time.time_ns(), self.status.offline())
            ),
            qos=1,
            retain=True,
        )
        return make_client(self.settings, identifier=f"botkit-{self.topics.bot_id}", will=will)

    # ----- the run's life ----------------------------------------------------------------

    def bind(
        self,
        engine: Engine,
        strategies: Sequence[StrategySpec],
        feed: FeedHealth,
        gateway: LiveGateway | None = None,
        fill_prefix: str | None = None,
    ) -> None:
        """Attach to the run's engine (its strategies, feed and, live, gateway)."""
        self.engine = engine
        self.tap.fill_prefix = fill_prefix
        self.status.engine = engine
        self.status.gate = self.gate
        self.status.feed = feed
        if gateway is not None:
            self.status.venue_health = gateway.health.snapshot
        self.commands = Commands(
            engine, strategies, self.gate, self.status.body, self.publisher.status_changed
        )
        self.snapshots = Snapshots(engine, self.tap)

    def start(self) -> None:
        """Connect (in the background: a missing broker never delays trading) and publish."""
        if self._run is None:
            self._run = asyncio.create_task(self.publisher.run(), name="mqtt-publisher")
            self._ticker = asyncio.create_task(self._every(), name="mqtt-snapshots")

    async def close(self) -> None:
        """Flush, say ``stopped`` (retained) and disconnect; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._run is not None:
            if self.snapshots is not None:
                now = time.time_ns()
                self.snapshots.positions(now)
                self.snapshots.pnl(now)
            await self.publisher.close(self.status.body(final=True), CLOSE_TIMEOUT_S)
            self._run.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._run
        if self._log_handler is not None:
            loghandler.uninstall(self._log_handler)
            self._log_handler = None

    async def _every(self) -> None:
        interval = self.mqtt.interval / 1e9
        due = time.monotonic()
        while True:
            now = time.monotonic()
            snaps = self.snapshots
            if now >= due:
                due = now + interval
                self.publisher.status_changed()
                if snaps is not None:
                    snaps.positions(time.time_ns())
                    snaps.pnl(time.time_ns())
            elif snaps is not None and self.tap.positions_dirty:
                snaps.positions(time.time_ns())
            if self.commands is not None:
                self.commands.follow_up()
            await asyncio.sleep(min(TICK_S, interval))

    def publish_report(self, report: dict[str, Any]) -> None:
        """Queue the daily report (``botkit.jobs.DailyReport``) on ``report/daily``, QoS 1."""
        self.publisher.put(REPORT, time.time_ns(), _same, dict(report))

    # ----- control -------------------------------------------------------------------------

    def state(self) -> str:
        if self.engine is None:
            return "running"
        return state_of(self.engine, self.gate)

    async def _on_message(self, message: aiomqtt.Message) -> None:
        raw = message.payload
        data = bytes(raw) if isinstance(raw, bytes | bytearray) else str(raw or "").encode()
        self.handle(data)

    def handle(self, data: bytes) -> dict[str, Any]:
        """Carry out one control message and queue its reply (returned too)."""
        try:
            cmd = self.reader.read(data)
        except Refused as r:
            log.warning("control: refused a command (%s): %s", r.code, r.message)
            body = reply(r.request_id, None, self.state(), error=(r.code, r.message))
            self.publisher.reply(body)
            return body
        if self.commands is None:
            body = reply(cmd.id, cmd.command, self.state(), error=("starting", "not started yet"))
        else:
            try:
                result = self.commands.run(cmd.command, cmd.args)
            except CommandError as exc:
                log.warning("control: %s (%s) refused: %s", cmd.command, exc.code, exc.message)
                body = reply(cmd.id, cmd.command, self.state(), error=(exc.code, exc.message))
            except Exception as exc:
                log.exception("control: %s failed", cmd.command)
                body = reply(
                    cmd.id, cmd.command, self.state(), error=("failed", type(exc).__name__)
                )
            else:
                if cmd.command != "status":
                    log.info("control: %s (%s) done; state %s", cmd.command, cmd.id, self.state())
                body = reply(cmd.id, cmd.command, self.state(), result=result)
        self.publisher.reply(body)
        return body


def _same(body: dict[str, Any]) -> dict[str, Any]:
    return body


__all__ = ["OpsService"]
