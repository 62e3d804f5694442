"""The simulated venue: a matching engine over recorded or live market data.

It is the venue of backtest and paper mode (``venue.name: sim`` in a backtest;
in paper mode orders go here while market data comes from a live venue).
"""

from botkit.venues.registry import Capabilities, VenueSpec
from botkit.venues.sim.matching import MatchingEngine

SPEC = VenueSpec(
    name="sim",
    title="the simulated matching venue (backtest and paper)",
    kind="simulated",
    capabilities=Capabilities(edit=True, client_id=True, post_only=True, reduce_only=True),
)

__all__ = ["SPEC", "MatchingEngine"]
