"""ALP.COM through the shared venue suite: router, live gateway, adapter, simulator.

Once per reading of the v3 API: the seed document's (``api-key``/``api-secret``
headers, the seed's paths and payloads) and the official docs' (JWT + X-SIGN, the
official paths, decimal strings, trades that name their order).
"""

from __future__ import annotations

from typing import Any, ClassVar

from botkit.simulator.alp import DEFAULT_API_KEY, DEFAULT_API_SECRET
from botkit.simulator.server import RunningSimulator
from botkit.venues.alp import AlpAdapter

from .suite import Live, VenueSuite


class TestAlpAdapter(VenueSuite):
    venue = "alp"
    sim_symbol = "BTC_USDT"

    def make_adapter(self, sim: RunningSimulator) -> AlpAdapter:
        return AlpAdapter(
            sim.base_url, sim.ws_url, api_key=DEFAULT_API_KEY, api_secret=DEFAULT_API_SECRET
        )

    async def test_declares_what_the_document_gives_it(self, live: Live) -> None:
        # v3 client_order_id; no websocket (fills by polling) within 2 private calls a second.
        a = live.adapter
        assert (a.supports_client_id, a.has_user_trade_stream, a.supports_edit) == (
            True,
            False,
            False,
        )
        assert a.min_request_interval_s == 0.5


class TestAlpOfficialAdapter(TestAlpAdapter):
    sim_options: ClassVar[dict[str, Any]] = {"v3_reading": "official"}

    def make_adapter(self, sim: RunningSimulator) -> AlpAdapter:
        return AlpAdapter(
            sim.base_url,
            sim.ws_url,
            api_key=DEFAULT_API_KEY,
            api_secret=DEFAULT_API_SECRET,
            api="official",
        )
