"""The shared venue suite over BlockTrade's adapter and its simulator."""

from __future__ import annotations

from botkit.simulator.blocktrade import DEFAULT_API_KEY, DEFAULT_API_SECRET
from botkit.simulator.server import RunningSimulator
from botkit.venues.blocktrade import BlockTradeAdapter

from .suite import Live, VenueSuite


class TestBlockTradeAdapter(VenueSuite):
    venue = "blocktrade"

    def make_adapter(self, sim: RunningSimulator) -> BlockTradeAdapter:
        return BlockTradeAdapter(
            sim.base_url, sim.ws_url, api_key=DEFAULT_API_KEY, api_secret=DEFAULT_API_SECRET
        )

    async def test_declares_what_the_document_gives_it(self, live: Live) -> None:
        # customer_order_id and a user-trades websocket; no native edit (cancel-replace).
        a = live.adapter
        assert (a.supports_client_id, a.has_user_trade_stream, a.supports_edit) == (
            True,
            True,
            False,
        )
