"""Execution: the order state machine, the router that tracks orders and fills,
and live execution against a real venue (retries, UNKNOWN outcomes, the fills
pipeline, reconciliation).

``router`` is the same in every mode; ``live`` is what stands between the
router and an asynchronous venue adapter in live mode.
"""

from botkit.execution.router import ExecutionRouter, VenuePort
from botkit.execution.transitions import (
    TRANSITIONS,
    InvalidTransition,
    Phase,
    State,
    can_transition,
)
from botkit.execution.updates import ON_FILL, ON_ORDER, Updates, snapshot

__all__ = [
    "ON_FILL",
    "ON_ORDER",
    "TRANSITIONS",
    "ExecutionRouter",
    "InvalidTransition",
    "Phase",
    "State",
    "Updates",
    "VenuePort",
    "can_transition",
    "snapshot",
]
