"""Shared by the treasury tests: the documents' signing rule written out again, a
treasury wired to a running simulator, and a simulator on a thread for the CLI.

``alphapo_signature`` is the oracle the client and the simulator are both held
to: document 002's "the request body, signed with HMAC-SHA512 with your secret
key", as lower-case hex.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botkit.config.treasury import TreasuryConfig
from botkit.simulator.server import RunningSimulator, running_simulator
from botkit.treasury.journal import TreasuryJournal
from botkit.treasury.service import Treasury, build_clients

BTC_COLD = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"
ETH_COLD = "0x4643bb6b393ac20a6175c713175734a72517c63d6f7"
XRP_COLD = "rEb8TK3gBgk5auZkwc6sHnwrGVJH8DuaLh"
STRANGER = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


def alphapo_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


def treasury_config(sim: RunningSimulator | None = None, **changes: Any) -> TreasuryConfig:
    """An enabled treasury with one account on ``sim`` (named after its venue), the
    cold addresses above allowlisted and caps on BTC, ETH, USDT and XRP."""
    accounts = {}
    if sim is not None:
        accounts[sim.venue] = {
            "venue": sim.venue,
            "base_url": sim.base_url,
            **sim.credentials,
            "request_timeout": "2s",
        }
    data: dict[str, Any] = {
        "enabled": True,
        "accounts": accounts,
        "allowlist": {
            "BTC": [{"address": BTC_COLD, "label": "cold"}],
            "ETH": [{"address": ETH_COLD, "label": "cold", "chain": "Ethereum"}],
            "USDT": [
                {"address": ETH_COLD, "label": "erc20", "chain": "Ethereum"},
                {"address": ETH_COLD, "label": "plain"},
            ],
            "XRP": [
                {"address": XRP_COLD, "label": "cold", "tag": "12345"},
                {"address": XRP_COLD, "label": "untagged"},
            ],
        },
        "limits": {
            "BTC": {"per_withdrawal": "1", "per_day": "1.5"},
            "ETH": {"per_withdrawal": "10", "per_day": "20"},
            "USDT": {"per_withdrawal": "1000", "per_day": "5000"},
            "XRP": {"per_withdrawal": "500", "per_day": "1000"},
            "EUR": {"per_withdrawal": "10000", "per_day": "20000"},
        },
        "poll_interval": "50ms",
        "follow_timeout": "5s",
    }
    for key, value in changes.items():
        if key == "accounts":
            accounts.update(value)
        else:
            data[key] = value
    return TreasuryConfig.model_validate(data)


class Clock:
    """Epoch nanoseconds that a test moves on by hand (a day in a line)."""

    def __init__(self) -> None:
        import time

        self.now = time.time_ns()

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1e9)


def make_treasury(config: TreasuryConfig, journal: Path, clock: Clock | None = None) -> Treasury:
    clock = clock or Clock()
    return Treasury(
        config, build_clients(config), TreasuryJournal(journal, clock=clock), clock=clock
    )


# ----- a simulator on a thread of its own (the CLI runs its own event loop) ------------------


@dataclass
class Served:
    sim: RunningSimulator
    loop: asyncio.AbstractEventLoop

    def call(self, fn: Any) -> Any:
        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)


@contextmanager
def served(venue: str, **options: Any) -> Iterator[Served]:
    ready: list[Served] = []
    started = threading.Event()
    stop: list[asyncio.Event] = []

    async def main() -> None:
        async with running_simulator(venue, run_market=False, **options) as sim:
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
