"""ALP.COM through the shared venue suite: router, live gateway, adapter, simulator."""

from __future__ import annotations

from botkit.simulator.alp import DEFAULT_API_KEY, DEFAULT_API_SECRET
from botkit.simulator.server import RunningSimulator
from botkit.venues.alp import AlpAdapter

from .suite import VenueSuite


class TestAlpAdapter(VenueSuite):
    venue = "alp"
    sim_symbol = "BTC_USDT"

    def make_adapter(self, sim: RunningSimulator) -> AlpAdapter:
        return AlpAdapter(
            sim.base_url, sim.ws_url, api_key=DEFAULT_API_KEY, api_secret=DEFAULT_API_SECRET
        )
