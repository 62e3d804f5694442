"""ALP.COM through the shared venue suite: router, live gateway, adapter, simulator.

Once per reading of the v3 API: the seed document's (``api-key``/``api-secret``
headers, the seed's paths and payloads) and the official docs' (JWT + X-SIGN, the
official paths, decimal strings, trades that name their order).
"""

from __future__ import annotations

from typing import Any, ClassVar

from botkit.simulator.server import RunningSimulator
from botkit.venues.alp import AlpAdapter

from .suite import Live, VenueSuite, connection_for


class TestAlpAdapter(VenueSuite):
    venue = "alp"
    sim_symbol = "BTC_USDT"
    adapter_options: ClassVar[dict[str, Any]] = {}

    def make_adapter(self, sim: RunningSimulator) -> AlpAdapter:
        return AlpAdapter(connection_for(sim, **self.adapter_options))

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
    adapter_options: ClassVar[dict[str, Any]] = {"api": "official"}
