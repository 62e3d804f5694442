"""The simulator server: admin routes (bounded, protectable), names, and ``botkit venue-sim``."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from botkit.simulator.alp import AlpServer
from botkit.simulator.alpha5 import Alpha5Server
from botkit.simulator.backend import ExchangeBackend
from botkit.simulator.blocktrade import BlockTradeServer
from botkit.simulator.server import ADMIN_HEADER, MAX_STEPS, free_port, running_simulator
from botkit.venues.sim import MatchingEngine

ROOT = Path(__file__).resolve().parents[2]


def test_the_names_tell_server_backend_and_matching_engine_apart() -> None:
    for server in (BlockTradeServer, AlpServer, Alpha5Server):
        assert server.__name__.endswith("Server")
    assert ExchangeBackend is not MatchingEngine


async def test_admin_routes_can_be_protected() -> None:
    async with running_simulator("blocktrade", run_market=False, admin_token="adm") as sim:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{sim.base_url}/__sim__/state") as r:
                assert r.status == 401 and set(await r.json()) == {"message"}
            async with http.get(f"{sim.base_url}/__sim__/state", headers=sim.admin_headers) as r:
                assert r.status == 200 and "balances" in await r.json()
            async with http.post(
                f"{sim.base_url}/__sim__/faults",
                json={"fail_rate": 0.25},
                headers={ADMIN_HEADER: "adm"},
            ) as r:
                assert r.status == 200
        assert sim.exchange.faults.fail_rate == 0.25


async def test_step_is_bounded_and_yields_to_the_event_loop() -> None:
    async with running_simulator("alp", run_market=False) as sim, aiohttp.ClientSession() as http:
        async with http.post(f"{sim.base_url}/__sim__/step", params={"n": "100000000"}) as r:
            assert r.status == 400 and str(MAX_STEPS) in (await r.json())["message"]
        async with http.post(f"{sim.base_url}/__sim__/step", params={"n": "x"}) as r:
            assert r.status == 400
        before = sim.exchange.steps
        stepping = asyncio.ensure_future(
            http.post(f"{sim.base_url}/__sim__/step", params={"n": "3000"})
        )
        await asyncio.sleep(0.05)
        async with http.get(f"{sim.base_url}/api/v1/pairs/") as r:
            assert r.status == 200
        answered_at = sim.exchange.steps
        async with await stepping as r:
            assert (await r.json())["steps"] == before + 3000
        assert before < answered_at < before + 3000  # served while the steps went on


async def test_running_simulator_reports_credentials_and_urls() -> None:
    async with running_simulator(
        "blocktrade", run_market=False, api_key="k", api_secret="s"
    ) as sim:
        assert sim.credentials == {"api_key": "k", "api_secret": "s"}
        assert sim.urls["rest"].endswith("/api/v1")
        assert sim.urls["websocket"].endswith("/ws/v1/notification")
        assert sim.backend is sim.exchange
    async with running_simulator("alpha5", run_market=False, token="t") as sim:
        assert sim.credentials == {"api_key": "t"}
    with pytest.raises(TypeError, match="unknown alp simulator option"):
        async with running_simulator("alp", no_such_option=1):
            pass


def venue_sim(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "botkit.cli", "venue-sim", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_venue_sim_prints_what_it_serves_and_takes_the_options() -> None:
    port = free_port()
    proc = venue_sim(
        "--venue",
        "alp",
        "--port",
        str(port),
        "--api-key",
        "my-key",
        "--api-secret",
        "my-secret",
        "--seed",
        "3",
        "--fail-rate",
        "0",
        "--option",
        "v3_reading=official",
    )
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 60  # a cold interpreter on a loaded machine
        while not any(line.lstrip().startswith("admin") for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
            lines.append(proc.stdout.readline())
        text = "".join(lines)
        assert f"http://127.0.0.1:{port}" in text
        assert "my-key" in text and "my-secret" in text
        body = json.dumps({"api_key": "my-key", "api_secret": "my-secret"}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v3/auth", data=body)
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200 and json.loads(r.read()).count(".") == 2
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize(
    "args",
    [
        ["--venue", "alp", "--user-trades-framing", "framed"],
        ["--venue", "blocktrade", "--option", "no_such=1"],
        ["--venue", "blocktrade", "--option", "nonsense"],
    ],
)
def test_venue_sim_refuses_bad_options_with_exit_2(args: list[str]) -> None:
    proc = venue_sim(*args, "--port", str(free_port()))
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2 and err.startswith("error:") and "Traceback" not in err


async def test_a_simulator_module_of_the_older_interface_is_still_served(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # make_exchange + setup_routes, as a venue written before the kit provides them.
    from decimal import Decimal
    from types import ModuleType

    from aiohttp import web

    from botkit.model import Instrument
    from botkit.venues import registry

    module = ModuleType("toy_legacy_simulator")

    def make_exchange(seed: int, **options: object) -> ExchangeBackend:
        inst = Instrument("toy", "X/Y", "X", "Y", tick_size="1", lot_size="1")
        return ExchangeBackend("toy", {"X/Y": inst}, {"Y": Decimal(5)}, seed=seed)

    def setup_routes(app: web.Application, exchange: ExchangeBackend) -> None:
        async def hello(request: web.Request) -> web.Response:
            return web.json_response({"balance": str(exchange.balances["Y"])})

        app.router.add_get("/hello", hello)

    module.make_exchange = make_exchange  # type: ignore[attr-defined]
    module.setup_routes = setup_routes  # type: ignore[attr-defined]
    module.DEFAULT_API_KEY = "k"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    spec = registry.VenueSpec(name="toy-legacy", title="Toy", simulator=module.__name__)
    with registry.registered(spec):
        async with running_simulator("toy-legacy", run_market=False) as sim:
            assert sim.credentials == {"api_key": "k"}
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{sim.base_url}/hello") as r:
                    assert await r.json() == {"balance": "5"}
                async with http.post(f"{sim.base_url}/__sim__/step?n=2") as r:
                    assert (await r.json())["steps"] == 2
