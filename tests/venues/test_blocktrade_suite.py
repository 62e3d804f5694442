"""The shared venue suite over BlockTrade's adapter and its simulator."""

from __future__ import annotations

from botkit.simulator.server import RunningSimulator
from botkit.venues.blocktrade import BlockTradeAdapter

from .suite import Live, VenueSuite, connection_for


class TestBlockTradeAdapter(VenueSuite):
    venue = "blocktrade"
    balances_route = "portfolios"

    def make_adapter(self, sim: RunningSimulator) -> BlockTradeAdapter:
        return BlockTradeAdapter(connection_for(sim))

    async def test_declares_what_the_document_gives_it(self, live: Live) -> None:
        # customer_order_id and a user-trades websocket; no native edit (cancel-replace).
        a = live.adapter
        assert (a.supports_client_id, a.has_user_trade_stream, a.supports_edit) == (
            True,
            True,
            False,
        )
