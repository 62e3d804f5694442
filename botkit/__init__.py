"""botkit: write a strategy once, run it backtested, paper-traded and live.

The public surface strategy authors use: ``hookimpl`` to mark hook methods
(``botkit.hookspecs`` documents every hook and ``INTERFACE_VERSION``), the
``Context`` every hook receives, the intents, the model's value types, and the
risk module.
"""

from botkit.context import Context
from botkit.hookspecs import INTERFACE_VERSION, hookimpl
from botkit.intents import Cancel, CancelAll, Edit, Place
from botkit.model import Instrument, OrderType, Side, TimeInForce
from botkit.risk import Decision, RiskModule

__all__ = [
    "INTERFACE_VERSION",
    "Cancel",
    "CancelAll",
    "Context",
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
