"""The order state machine: one explicit table of the transitions the router allows.

The real world breaks the happy path, so the table allows a fill after a cancel
was acknowledged (CANCELED -> FILLED bookkeeping), a fill before the ack
(PENDING_NEW -> PARTIALLY_FILLED), and an UNKNOWN state for ambiguous outcomes
that reconciliation settles later. A change the table does not allow is refused
(and counted) by the router, with both states in the message.
"""

from __future__ import annotations

from botkit.model import OrderStatus

S = OrderStatus

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_NEW: frozenset(
        {
            S.OPEN,
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.REJECTED,
            S.CANCELED,
            S.EXPIRED,
            S.UNKNOWN,
            S.PENDING_CANCEL,
        }
    ),
    S.UNKNOWN: frozenset(
        {S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.REJECTED, S.CANCELED, S.EXPIRED, S.PENDING_CANCEL}
    ),
    S.OPEN: frozenset(
        {
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.PENDING_CANCEL,
            S.PENDING_EDIT,
            S.CANCELED,
            S.EXPIRED,
            S.UNKNOWN,
        }
    ),
    S.PARTIALLY_FILLED: frozenset(
        {
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.PENDING_CANCEL,
            S.PENDING_EDIT,
            S.CANCELED,
            S.EXPIRED,
            S.UNKNOWN,
        }
    ),
    S.PENDING_CANCEL: frozenset(
        {S.CANCELED, S.PARTIALLY_FILLED, S.FILLED, S.OPEN, S.EXPIRED, S.UNKNOWN}
    ),
    S.PENDING_EDIT: frozenset(
        {S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELED, S.EXPIRED, S.UNKNOWN}
    ),
    # Late fills after a cancel or expiry acknowledgement.
    S.CANCELED: frozenset({S.FILLED}),
    S.EXPIRED: frozenset({S.FILLED}),
    S.FILLED: frozenset(),
    S.REJECTED: frozenset(),
}

CLOSED = frozenset({S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED})


class InvalidTransition(RuntimeError):
    """A state change the table does not allow."""

    def __init__(self, client_id: str, old: OrderStatus, new: OrderStatus) -> None:
        super().__init__(f"order {client_id}: {old.value} -> {new.value} is not a transition")
        self.client_id = client_id
        self.old = old
        self.new = new


def can_transition(old: OrderStatus, new: OrderStatus) -> bool:
    return new in TRANSITIONS[old]


__all__ = ["CLOSED", "TRANSITIONS", "InvalidTransition", "can_transition"]
