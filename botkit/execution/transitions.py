"""The order state machine: one explicit table of the transitions the router allows.

An order's state is its ``OrderStatus`` (what strategies see), refined by the two
steps of a cancel-and-replace (``Phase``), which strategies see as PENDING_EDIT.
Every state names the one request the order has in flight, so the table is also
the rule that an order has at most one request at the venue at a time:

=================  ==================================================
state              request in flight
=================  ==================================================
PENDING_NEW        the place of the first attempt
UNKNOWN            none answered: the place's outcome is being looked up
PENDING_CANCEL     a cancel of the current attempt
PENDING_EDIT       a native edit (venues with one)
REPLACE_CANCEL     the cancel of the current attempt, for a replace
REPLACE_NEW        the place of the next attempt, after the cancel
OPEN, PARTIALLY_   none: a new request may be sent
FILLED
closed states      none, ever again
=================  ==================================================

A strategy's cancel or edit that arrives while a request is in flight waits
(coalesced: the last edit wins) and is sent when the state returns to OPEN or
PARTIALLY_FILLED; that is the router's business, not a transition.

The real world breaks the happy path, so the table allows a fill after a cancel
was acknowledged (CANCELED -> FILLED bookkeeping), a fill before the ack
(PENDING_NEW -> PARTIALLY_FILLED), and an UNKNOWN state for ambiguous outcomes
that reconciliation settles later. A change the table does not allow is refused
(and counted) by the router, with both states in the message.

Choices:

* A cancel is only ever sent for an acknowledged attempt (the router waits for
  the ack), so nothing goes from PENDING_NEW or UNKNOWN to PENDING_CANCEL.
* A venue refusal after the ack (a reconciliation that finds an order rejected)
  closes the order as CANCELED, with the venue's code: it existed, so it was
  not refused as sent.
* REPLACE_CANCEL -> PENDING_CANCEL: the strategy cancels while the replace's
  cancel is on its way; that cancel now serves the strategy's, nothing new is sent.
* REJECTED -> FILLED / CANCELED: only for an order given up as absent after an
  ambiguous place (code ``not_at_venue``) that turns up at the venue after all.
  It gets no request of its own again; it closes as the venue closed it (its
  fills made it FILLED, or the cancel of it, or the venue, closed it), so the
  journal says what the venue says. The router allows this for that code alone.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeAlias

from botkit.model import OrderStatus

S = OrderStatus


class Phase(StrEnum):
    """The two steps of a cancel-and-replace; strategies see both as PENDING_EDIT."""

    REPLACE_CANCEL = "replace_cancel"  # the current attempt's cancel is on its way
    REPLACE_NEW = "replace_new"  # the next attempt's place is on its way

    @property
    def status(self) -> OrderStatus:
        """What strategies see."""
        return S.PENDING_EDIT


State: TypeAlias = OrderStatus | Phase

P = Phase
_LATE = frozenset({S.FILLED})  # late fills after a close: bookkeeping only

TRANSITIONS: dict[State, frozenset[State]] = {
    S.PENDING_NEW: frozenset(
        {S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.REJECTED, S.CANCELED, S.EXPIRED, S.UNKNOWN}
    ),
    S.UNKNOWN: frozenset({S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.REJECTED, S.CANCELED, S.EXPIRED}),
    S.OPEN: frozenset(
        {
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.PENDING_CANCEL,
            S.PENDING_EDIT,
            P.REPLACE_CANCEL,
            S.CANCELED,
            S.EXPIRED,
        }
    ),
    S.PARTIALLY_FILLED: frozenset(
        {
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.PENDING_CANCEL,
            S.PENDING_EDIT,
            P.REPLACE_CANCEL,
            S.CANCELED,
            S.EXPIRED,
        }
    ),
    # Refused cancel: back to OPEN / PARTIALLY_FILLED.
    S.PENDING_CANCEL: frozenset({S.CANCELED, S.PARTIALLY_FILLED, S.FILLED, S.OPEN, S.EXPIRED}),
    # Native edit: done or refused (OPEN / PARTIALLY_FILLED), or overtaken by the venue.
    S.PENDING_EDIT: frozenset({S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED}),
    # Own cancel confirmed: place the next attempt; refused: the edit cannot apply.
    P.REPLACE_CANCEL: frozenset(
        {
            P.REPLACE_NEW,
            S.OPEN,
            S.PARTIALLY_FILLED,
            S.PENDING_CANCEL,
            S.FILLED,
            S.CANCELED,
            S.EXPIRED,
        }
    ),
    # The next attempt acknowledged, refused (the order is gone), or of unknown fate.
    P.REPLACE_NEW: frozenset(
        {S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED, S.UNKNOWN}
    ),
    S.CANCELED: _LATE,
    S.EXPIRED: _LATE,
    S.FILLED: frozenset(),
    S.REJECTED: frozenset({S.FILLED, S.CANCELED}),  # found after all (see the notes)
}

CLOSED = frozenset({S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED})
NOT_AT_VENUE = "not_at_venue"  # the code of an order given up as absent
# States with a request in flight: a new request waits until the state leaves them.
IN_FLIGHT = frozenset(
    {S.PENDING_NEW, S.UNKNOWN, S.PENDING_CANCEL, S.PENDING_EDIT, P.REPLACE_CANCEL, P.REPLACE_NEW}
)
# States in which a request may be sent.
RESTING = frozenset({S.OPEN, S.PARTIALLY_FILLED})


class InvalidTransition(RuntimeError):
    """A state change the table does not allow."""

    def __init__(self, client_id: str, old: State, new: State) -> None:
        super().__init__(f"order {client_id}: {old.value} -> {new.value} is not a transition")
        self.client_id = client_id
        self.old = old
        self.new = new


def can_transition(old: State, new: State) -> bool:
    return new in TRANSITIONS[old]


def public(state: State) -> OrderStatus:
    """The status strategies see for a state."""
    return state.status if isinstance(state, Phase) else state


__all__ = [
    "CLOSED",
    "IN_FLIGHT",
    "RESTING",
    "TRANSITIONS",
    "InvalidTransition",
    "Phase",
    "State",
    "can_transition",
    "public",
]
