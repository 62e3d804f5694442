"""A live run that cannot start says why in one line and exits 2, with every session closed.

Each case runs the real `botkit run` in a subprocess against a venue on 127.0.0.1:
the project's simulators (with credentials they refuse, or a symbol they do not
list), a port nobody listens on, and a server that answers every request with a
body no venue would send.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from botkit.simulator.server import free_port, running_simulator

KEY = "k3y-the-simulator-has-never-seen"
SECRET = "s3cret-the-simulator-has-never-seen"


def bot_yaml(tmp: Path, venue: str, port: int, symbol: str = "BTC/USDT") -> Path:
    cfg = tmp / "bot.yaml"
    cfg.write_text(f"""
mode: live
log_level: error
venue:
  name: {venue}
  base_url: http://127.0.0.1:{port}
  ws_url: ws://127.0.0.1:{port}
  api_key: ${{BOT_KEY}}
  api_secret: ${{BOT_SECRET}}
instruments:
  - symbol: {symbol}
    tick_size: "0.01"
    lot_size: "0.00001"
strategies:
  - name: maker
    use: market_maker
    params: {{symbol: {symbol}, size: "0.01", half_spread_ticks: 1}}
live:
  journal: {tmp / "journal.sqlite"}
""")
    return cfg


async def botkit_run(cfg: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "default",  # a ResourceWarning (an unclosed session) would show
        "-m",
        "botkit.cli",
        "run",
        str(cfg),
        "--duration",
        "5s",
        env=dict(os.environ, BOT_KEY=KEY, BOT_SECRET=SECRET, PYTHONDEVMODE="1"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def assert_one_clean_line(rc: int, out: str, err: str, *fragments: str) -> None:
    assert rc == 2, err[-3000:]
    assert out == "" and "Traceback" not in err and "Unclosed" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[-3000:]
    assert lines[0].startswith("error: cannot start the live run on ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


async def test_credentials_the_venue_refuses(tmp_path: Path) -> None:
    for venue in ("blocktrade", "alp"):
        (tmp_path / venue).mkdir()
        async with running_simulator(venue, run_market=False) as sim:
            rc, out, err = await botkit_run(bot_yaml(tmp_path / venue, venue, sim.port))
        assert_one_clean_line(rc, out, err, venue, "401")


async def test_no_venue_listening(tmp_path: Path) -> None:
    rc, out, err = await botkit_run(bot_yaml(tmp_path, "blocktrade", free_port()))
    assert_one_clean_line(rc, out, err, "Cannot connect")


async def test_a_symbol_the_venue_does_not_list(tmp_path: Path) -> None:
    async with running_simulator("alpha5", run_market=False) as sim:
        rc, out, err = await botkit_run(bot_yaml(tmp_path, "alpha5", sim.port, "DOGE/USDT"))
    assert_one_clean_line(rc, out, err, "DOGE/USDT is not listed")


@asynccontextmanager
async def answering_nonsense() -> AsyncIterator[int]:
    """A server on 127.0.0.1 that answers every request with a JSON body of no known shape."""

    async def nonsense(request: web.Request) -> web.Response:
        return web.json_response({"surprise": [1, 2, 3]})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", nonsense)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield port
    finally:
        await runner.cleanup()


async def test_a_payload_that_does_not_parse(tmp_path: Path) -> None:
    async with answering_nonsense() as port:
        rc, out, err = await botkit_run(bot_yaml(tmp_path, "blocktrade", port))
    assert_one_clean_line(rc, out, err, "blocktrade")
