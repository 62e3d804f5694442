"""What the MQTT tests share: a bot.yaml, a bot running as `botkit run`, and MQTT clients
that watch its topics and send it commands."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
from jsonschema import Draft202012Validator

from botkit.ops.ctl import command_payload
from botkit.ops.localbroker import LocalBroker
from botkit.ops.schemas import load
from botkit.ops.topics import CONTROL, REPLY, Topics

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def bot_yaml(tmp: Path, broker: LocalBroker, bot_id: str, mqtt: str = "", extra: str = "") -> Path:
    """A paper run of the stepper on the in-process BlockTrade simulator, with ``mqtt:``."""
    path = tmp / f"{bot_id}.yaml"
    path.write_text(f"""
mode: paper
log_level: info
venue:
  name: blocktrade
instruments:
  - symbol: BTC/USDT
    tick_size: "0.01"
    lot_size: "0.00001"
    min_notional: "1"          # the simulated venue says 10: it wins, with a warning
account:
  balances: {{USDT: "100000", BTC: "1"}}
strategies:
  - name: stepper
    use: {HERE / "stepper.py"}:Stepper
    params: {{symbol: BTC/USDT, size: "0.001", max_position: "0.004"}}
    timers: {{step: 200ms}}
output:
  dir: {tmp / f"{bot_id}-report"}
live:
  journal: {tmp / f"{bot_id}.sqlite"}
  simulator: true
  status_interval: 1s
{extra}
mqtt:
  host: {broker.host}
  port: {broker.port}
  bot_id: {bot_id}
  interval: 500ms
  keepalive: 2s
  reconnect_delay: 300ms
{mqtt}
""")
    return path


class Bot:
    """`botkit run` (or another long-running command: `feed`) in a subprocess, stopped as an
    operator stops it (SIGINT)."""

    def __init__(
        self, config: Path, env: Mapping[str, str] | None = None, command: str = "run"
    ) -> None:
        self.config = config
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "botkit.cli", command, str(config)],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout = ""
        self.stderr = ""

    def stop(self, timeout_s: float = 60) -> dict[str, Any]:
        """SIGINT, then the run's summary (the last line it prints)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        self.stdout, self.stderr = self.proc.communicate(timeout=timeout_s)
        assert self.proc.returncode == 0, self.stderr[-3000:]
        return json.loads(self.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

    def kill(self) -> None:
        """SIGKILL: a crash, no goodbye to the broker."""
        self.proc.kill()
        self.stdout, self.stderr = self.proc.communicate(timeout=30)


@dataclass
class Seen:
    """One message a watcher received."""

    kind: str
    payload: Any
    retain: bool
    raw: bytes
    at: float = field(default_factory=time.monotonic)


def validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(load(kind))


class Watcher:
    """Subscribes to every topic of one bot and keeps what arrives, in order.

    Use it as ``async with Watcher(broker, "b1") as w:``; ``wait_for(pred)`` waits
    for a message that matches, ``send(command)`` sends a command and waits for
    its reply (signed with ``secret``, as ``botkit ctl`` does).
    """

    def __init__(
        self,
        broker: LocalBroker,
        bot_id: str,
        *,
        username: str | None = None,
        password: str | None = None,
        identifier: str | None = None,
        clean_session: bool | None = None,
        secret: str | None = None,
        kinds: tuple[str, ...] | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.topics = Topics("botkit", bot_id)
        self.client = aiomqtt.Client(
            broker.host,
            broker.port,
            username=username,
            password=password,
            identifier=identifier,
            clean_session=clean_session,
            tls_context=tls_context,
        )
        self.secret = secret
        self.kinds = kinds
        self.seen: list[Seen] = []
        self.errors: list[BaseException] = []
        self._new = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Watcher:
        await self.client.__aenter__()
        if self.kinds is None:
            await self.client.subscribe(self.topics.everything, qos=1)
        else:
            for kind in self.kinds:
                await self.client.subscribe(self.topics.of(kind), qos=1)
        self._task = asyncio.create_task(self._collect())
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Disconnect first, then keep what had already arrived: the client acknowledged
        # it to the broker, which will not send it again.
        with contextlib.suppress(aiomqtt.MqttError):
            await self.client.__aexit__(None, None, None)
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._task, 5)

    async def _collect(self) -> None:
        try:
            async for m in self.client.messages:
                kind = self.topics.kind_of(str(m.topic))
                if kind is None:
                    continue
                raw = m.payload
                data = bytes(raw) if isinstance(raw, bytes | bytearray) else str(raw).encode()
                try:
                    payload = json.loads(data)
                except ValueError:  # garbage someone sent on the control topic
                    payload = data
                self.seen.append(Seen(kind, payload, bool(m.retain), data))
                self._new.set()
        except aiomqtt.MqttError as exc:  # the connection went: keep what came
            self.errors.append(exc)

    def of(self, kind: str, since: float = 0.0) -> list[Any]:
        """The payloads on ``kind`` so far (received after the monotonic time ``since``)."""
        return [s.payload for s in self.seen if s.kind == kind and s.at >= since]

    async def wait_for(
        self, kind: str, pred: Callable[[Any], bool] = lambda p: True, timeout_s: float = 10.0
    ) -> Any:
        """The first payload on ``kind`` (already seen or to come) that satisfies ``pred``."""
        start = 0
        deadline = time.monotonic() + timeout_s
        while True:
            for s in self.seen[start:]:
                if s.kind == kind and pred(s.payload):
                    return s.payload
            start = len(self.seen)
            left = deadline - time.monotonic()
            if left <= 0:
                last = self.of(kind)[-3:]
                raise AssertionError(f"nothing on {kind} matched in {timeout_s}s; last: {last}")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), left)

    async def wait_count(self, kind: str, n: int, timeout_s: float = 10.0) -> list[Any]:
        """The first ``n`` payloads on ``kind``, once that many arrived."""
        deadline = time.monotonic() + timeout_s
        while len(self.of(kind)) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.of(kind))} of {n} on {kind} in {timeout_s}s")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), max(0.0, deadline - time.monotonic()))
        return self.of(kind)[:n]

    async def first_seen(self, timeout_s: float = 10.0) -> Seen:
        """The first message that arrived (waiting for it if need be)."""
        deadline = time.monotonic() + timeout_s
        while not self.seen:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing arrived in {timeout_s}s")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), max(0.0, deadline - time.monotonic()))
        return self.seen[0]

    async def publish_command(self, payload: bytes) -> None:
        await self.client.publish(self.topics.of(CONTROL), payload, qos=1)

    async def send(
        self,
        command: str,
        args: dict[str, Any] | None = None,
        *,
        ts: float | None = None,
        timeout_s: float = 10.0,
    ) -> dict[str, Any]:
        """Send a command (signed when this watcher has a secret) and return its reply."""
        rid, payload = command_payload(command, args, secret=self.secret, ts=ts)
        await self.publish_command(payload)
        reply: dict[str, Any] = await self.wait_for(
            REPLY, lambda r: r["id"] == rid, timeout_s=timeout_s
        )
        return reply


def assert_valid(kind: str, payloads: list[Any]) -> None:
    """Every payload matches the topic's JSON Schema."""
    v = validator(kind)
    for p in payloads:
        errors = sorted(v.iter_errors(p), key=lambda e: list(e.path))
        assert not errors, (kind, p, [e.message for e in errors])


def decimal_string(text: str) -> bool:
    """A plain exact decimal (what money looks like on the wire)."""
    import re

    return re.fullmatch(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?", text) is not None


class Cable:
    """A TCP relay on 127.0.0.1 between the bot and the broker, that can be cut.

    ``cut()`` aborts every connection through it at once, as a network failure
    would: the bot sees its connection die mid-stream, with whatever was on the
    wire lost either way, and the broker sees a client gone without a goodbye.
    New connections go through as before.
    """

    def __init__(self, broker: LocalBroker) -> None:
        self.target = (broker.host, broker.port)
        self.port = 0
        self.cuts = 0
        self._server: asyncio.Server | None = None
        self._links: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> Cable:
        self._server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        for writer in self._links:
            writer.transport.abort()
        self._links.clear()
        self.cuts += 1

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._links += [writer, up_writer]
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()
