"""What can go wrong with a withdrawal, as types a caller acts on.

* :class:`WithdrawalRefused` — refused here, before anything was sent: a guard
  rail (disabled, not allowlisted, a cap, the balance to keep) or a rule the
  venue's document states (a tag for XRP, ``amount`` or ``amount_to``). Its
  ``str()`` is one paragraph naming what was refused, why, and the fix.
* :class:`NotDocumented` — the venue's document has no such call (AlphaPo's
  seed documents only the create call): nothing is guessed, nothing sent.
* :class:`DuplicateWithdrawal` — the venue already has a withdrawal with our
  reference (``foreign_id``/``guid``): an earlier attempt got through. It is a
  ``Conflict`` (ambiguous): the withdrawal exists, it is looked up, never resent.
* Venue replies otherwise raise ``botkit.venues.kit.errors`` types; timeouts
  and resets raise as themselves (``AMBIGUOUS``).
"""

from __future__ import annotations

from botkit.venues.kit.errors import Conflict

__all__ = ["DuplicateWithdrawal", "NotDocumented", "WithdrawalRefused"]


class WithdrawalRefused(Exception):
    """Refused before sending; ``code`` is stable (``not_allowlisted``, ``daily_cap``...)."""

    def __init__(self, code: str, message: str, fix: str | None = None) -> None:
        self.code = code
        self.message = message.rstrip(".")
        self.fix = fix.rstrip(".") if fix else None
        text = f"withdrawal refused ({code}): {self.message}."
        if self.fix:
            text += f" {self.fix}."
        super().__init__(text)


class NotDocumented(Exception):
    """The venue's document does not describe this call."""

    def __init__(self, venue: str, call: str, document: str) -> None:
        self.venue = venue
        self.call = call
        super().__init__(
            f"{venue}: its document ({document}) describes no {call} call, "
            "and botkit does not guess one"
        )


class DuplicateWithdrawal(Conflict):
    """The venue already holds a withdrawal under this reference (an earlier attempt)."""
