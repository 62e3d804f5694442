"""botkit: write a strategy once, run it backtested, paper-traded and live."""

from botkit.hookspecs import hookimpl
from botkit.intents import Cancel, CancelAll, Edit, Place
from botkit.model import Instrument, OrderType, Side, TimeInForce
from botkit.risk import Decision, RiskModule

__all__ = [
    "Cancel",
    "CancelAll",
    "Decision",
    "Edit",
    "Instrument",
    "OrderType",
    "Place",
    "RiskModule",
    "Side",
    "TimeInForce",
    "hookimpl",
]
