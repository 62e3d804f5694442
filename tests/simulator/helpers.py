"""Shared by the simulator tests: signers transcribed from the venue documents, and a
simulator served from a background thread for synchronous (hypothesis) tests.

The signers are the documents' own example code, written out again here: they are
the oracle the simulators' checks are held to, independent of both the simulators
and the adapters.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import http.client
import json
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from botkit.simulator.server import RunningSimulator, running_simulator

# ----- BlockTrade (seed 004, "Private API"): gen_signature, its garbled return line
# restored as the prose says ("HMAC encoded with your API secret, using SHA256"). -----


def gen_signature(api_key: str, api_secret: str, nonce: int, request_body: str = "") -> str:
    message = f"{api_key}.{nonce}".encode()
    if request_body:
        message += f".{request_body}".encode()
    return hmac.new(api_secret.encode(), msg=message, digestmod=hashlib.sha256).hexdigest().upper()


def blocktrade_headers(key: str, secret: str, nonce: int, body: str = "") -> dict[str, str]:
    return {
        "X-Api-Key": key,
        "X-Nonce": str(nonce),
        "X-Signature": gen_signature(key, secret, nonce, body),
        "Content-Type": "application/json",
    }


# ----- ALP.COM (seed 001, "Authorization", Python tab), placeholders as parameters. -----


def alp_v1_headers(api_key: str, api_secret: str, data: Mapping[str, Any], nonce: int) -> dict:
    msg = api_key + urlencode(sorted(data.items(), key=lambda val: val[0]))
    sign = hmac.new(api_secret.encode(), msg.encode(), digestmod="sha256").hexdigest()
    return {"X-KEY": api_key, "X-SIGN": sign, "X-NONCE": str(nonce)}


# ----- ALP.COM (official docs): "X-SIGN ... the HMAC SHA-256 hash of the request body
# using the api_secret". -----


def alp_official_sign(api_secret: str, body: bytes) -> str:
    return hmac.new(api_secret.encode(), body, hashlib.sha256).hexdigest()


# ----- a simulator in the test's loop --------------------------------------------------------


@asynccontextmanager
async def simulator(venue: str, **options: Any) -> AsyncIterator[RunningSimulator]:
    """A simulator whose market moves only when stepped, stepped once."""
    async with running_simulator(venue, run_market=False, **options) as sim:
        sim.exchange.step()
        yield sim


async def fetch(
    sim: RunningSimulator,
    method: str,
    path: str,
    *,
    data: bytes | str | Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """One request to ``sim``: (status, the decoded JSON body or None, headers)."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, sim.base_url + path, data=data, headers=dict(headers or {}), params=params
        ) as r,
    ):
        raw = await r.read()
        return r.status, json.loads(raw) if raw else None, dict(r.headers)


# ----- a simulator on a background thread -----------------------------------------------


@dataclass
class Served:
    sim: RunningSimulator
    loop: asyncio.AbstractEventLoop

    @property
    def port(self) -> int:
        return self.sim.port

    def call(self, fn: Any) -> Any:
        """Run ``fn()`` on the simulator's loop (its state is not thread-safe)."""

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)


@contextmanager
def served(venue: str, **options: Any) -> Iterator[Served]:
    """``running_simulator`` on a thread of its own, until the block ends."""
    ready: list[Served] = []
    started = threading.Event()
    stop: list[asyncio.Event] = []

    async def main() -> None:
        async with running_simulator(venue, run_market=False, **options) as sim:
            sim.exchange.step()
            stop.append(asyncio.Event())
            ready.append(Served(sim, asyncio.get_running_loop()))
            started.set()
            await stop[0].wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10), "the simulator did not start"
    try:
        yield ready[0]
    finally:
        ready[0].loop.call_soon_threadsafe(stop[0].set)
        thread.join(10)


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP request over loopback: (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def json_of(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8"))
