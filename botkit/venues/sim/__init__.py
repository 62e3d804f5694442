"""The simulated venue: matching against recorded or live market data."""

from botkit.venues.sim.matching import SimVenue

__all__ = ["SimVenue"]
