"""The latency probe (botkit.latency), the event-loop choice (botkit.aio) and
``live.journal_sync``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvloop
from aiohttp import web

from botkit import aio, latency
from botkit.config import ConfigError, parse_config
from botkit.journal import JournalError
from botkit.node import StartError, run_live
from botkit.simulator.server import running_simulator
from botkit.venues.blocktrade.rest import BlockTradeRest
from botkit.venues.blocktrade.websocket import BlockTradeWebsocket, Connected, ws_url_for
from botkit.venues.kit.errors import VenueError
from botkit.venues.kit.rest import RestClient

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "live-sim.yaml"


@pytest.fixture(autouse=True)
def _probe_off() -> Iterator[None]:
    latency.uninstall()
    yield
    latency.uninstall()


# ----- the probe ---------------------------------------------------------------------------


def test_off_by_default_and_the_hooks_then_do_nothing() -> None:
    assert latency.probe is None
    latency.received()
    latency.written()
    assert latency.RECEIVED.get() == (0, 0)


async def test_a_frame_stamps_the_tasks_started_while_handling_it() -> None:
    probe = latency.install()

    async def request(times: int = 1) -> None:
        for _ in range(times):
            latency.written()

    await asyncio.create_task(request())  # started before any frame: not a sample
    assert probe.samples == []
    latency.received()
    await asyncio.create_task(request(times=3))  # a retry of the same request: one sample
    await asyncio.create_task(request())  # a later request from the same frame: none
    assert len(probe.samples) == 1
    latency.received()
    await asyncio.create_task(request())
    assert len(probe.samples) == 2
    assert len(probe.cpu_samples) == 2
    assert all(s >= 0 for s in probe.samples + probe.cpu_samples)


async def test_the_limit_caps_the_samples() -> None:
    probe = latency.install(latency.LatencyProbe(limit=2))
    for _ in range(5):
        latency.received()
        latency.written()
    assert len(probe.samples) == 2


async def test_the_rest_client_records_a_request_handed_to_the_transport() -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/orders", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def classify(status: int, payload: object, retry_after: float | None = None) -> VenueError:
        return VenueError("test", f"{status}")

    client = RestClient("test", f"http://127.0.0.1:{port}", classify=classify)
    probe = latency.install()
    try:
        await client.send("POST", "/orders", data="{}")  # no frame: no sample
        latency.received()
        reply = await asyncio.create_task(client.send("POST", "/orders", data="{}"))
        assert reply.body == {"ok": True}
    finally:
        await client.close()
        await runner.cleanup()
    assert len(probe.samples) == 1
    assert 0 < probe.samples[0] < 10**9


async def test_the_blocktrade_websocket_stamps_every_frame() -> None:
    async with running_simulator("blocktrade", admin_token=None) as sim:
        rest = BlockTradeRest(sim.base_url)
        await rest.open()
        ws = BlockTradeWebsocket(ws_url_for(sim.base_url, None), rest, heartbeat_s=None)

        async def subscriptions() -> list[dict[str, Any]]:
            return [{"subscribe_order_book": {"trading_pair_id": 1}}]

        latency.install()
        stamps = []
        try:
            async with asyncio.timeout(10):
                async for message in ws.stream(subscriptions):
                    if isinstance(message, Connected):
                        continue
                    stamps.append(latency.RECEIVED.get())
                    if len(stamps) == 2:
                        break
        finally:
            await rest.close()
    assert all(ns > 0 for ns, _ in stamps)
    assert stamps[1][0] > stamps[0][0]


# ----- the event loop ----------------------------------------------------------------------


def test_the_loop_is_uvloop_when_installed_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOTKIT_LOOP", raising=False)
    assert aio.event_loop_name() == "uvloop"
    assert aio.event_loop_name("asyncio") == "asyncio"
    assert aio.loop_factory("asyncio") is asyncio.new_event_loop
    monkeypatch.setenv("BOTKIT_LOOP", "asyncio")
    assert aio.event_loop_name() == "asyncio"
    monkeypatch.setenv("BOTKIT_LOOP", "trio")
    with pytest.raises(ValueError, match="BOTKIT_LOOP must be one of"):
        aio.loop_factory()


@pytest.mark.parametrize("kind", ["uvloop", "asyncio"])
def test_run_runs_on_the_chosen_loop(kind: str) -> None:
    async def which() -> type:
        return type(asyncio.get_running_loop())

    loop_type = aio.run(which(), kind)
    assert issubclass(loop_type, uvloop.Loop) == (kind == "uvloop")


# ----- live.journal_sync -------------------------------------------------------------------


def _config(extra: str = "") -> str:
    return EXAMPLE.read_text() + extra


def test_journal_sync_defaults_to_full_and_reads_normal() -> None:
    assert parse_config(_config(), base_dir=EXAMPLE.parent).live.journal_sync == "full"
    text = _config("  journal_sync: NORMAL\n")
    assert parse_config(text, base_dir=EXAMPLE.parent).live.journal_sync == "normal"
    with pytest.raises(ConfigError, match="journal_sync"):
        parse_config(_config("  journal_sync: off\n"), base_dir=EXAMPLE.parent)


@pytest.mark.parametrize(("given", "expected"), [("full", "FULL"), ("normal", "NORMAL")])
async def test_the_node_opens_the_journal_with_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, given: str, expected: str
) -> None:
    opened: list[dict[str, Any]] = []

    def journal(path: Path, **kwargs: Any) -> None:
        opened.append(kwargs)
        raise JournalError("stop here")

    monkeypatch.setattr("botkit.node.Journal", journal)
    config = parse_config(_config(f"  journal_sync: {given}\n"), base_dir=tmp_path)
    with pytest.raises(StartError, match="stop here"):
        await run_live(config, duration_s=0.1)
    assert opened[0]["synchronous"] == expected
