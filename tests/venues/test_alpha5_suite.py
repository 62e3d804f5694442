"""The shared venue suite over Alpha5's adapter and its simulator.

The simulator requires a bearer token here (the document's authentication is
"None"; the token is the optional one the adapter supports), so every private
call of the suite also proves the adapter sends it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from botkit.simulator.alpha5 import TEST_TOKEN
from botkit.simulator.server import RunningSimulator
from botkit.venues.alpha5 import Alpha5Adapter
from botkit.venues.kit.adapter import Connection

from .suite import Live, VenueSuite


class TestAlpha5Adapter(VenueSuite):
    venue = "alpha5"
    sim_options: ClassVar[dict[str, Any]] = {"token": TEST_TOKEN}

    def make_adapter(self, sim: RunningSimulator) -> Alpha5Adapter:
        return Alpha5Adapter(Connection(sim.base_url, credentials={"api_key": TEST_TOKEN}))

    async def test_declares_what_the_document_gives_it(self, live: Live) -> None:
        # A native edit_order; no client-id field and no websocket in the document.
        a = live.adapter
        assert (a.supports_client_id, a.has_user_trade_stream, a.supports_edit) == (
            False,
            False,
            True,
        )
