"""Fixtures shared by the venue test modules."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from botkit.simulator.server import RunningSimulator, running_simulator


@pytest.fixture(params=["bare", "framed"])
async def framed_sim(request: pytest.FixtureRequest) -> AsyncIterator[RunningSimulator]:
    """The BlockTrade simulator sending user trades as the bare objects the document
    shows, then framed like every other channel (the adapter reads both)."""
    async with running_simulator(
        "blocktrade", run_market=False, user_trades_framing=request.param
    ) as sim:
        sim.exchange.step()
        yield sim
