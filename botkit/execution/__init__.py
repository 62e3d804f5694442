"""Execution: the order state machine, the router that tracks orders and fills,
and live execution against a real venue.

``transitions`` (the one table of what may happen to an order), ``router`` and
``updates`` are the same in every mode. Live mode puts ``live.LiveGateway``
between the router and an asynchronous venue adapter; it is made of one module
per concern: ``requests`` (place, cancel, edit: retries, UNKNOWN outcomes,
look-ups, the send-time ``freshness`` re-check), ``fills`` (stream, REST
catch-up, cursor, dedupe), ``reconcile`` (open orders, given-up orders, positions),
``balances`` (the venue's balances as the account of record), ``ratelimit``,
``retry``, ``link`` (what they share) and ``health`` (counters).
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
