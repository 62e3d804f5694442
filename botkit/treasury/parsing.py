"""What the withdrawal parsers share: statuses normalised without guessing.

A venue's status word is looked up (case-insensitively) in the venue's own
table; a word the table does not hold is PENDING — never final, so a
withdrawal is followed until the venue says something we know — and the word
itself is kept as ``raw_status``.
"""

from __future__ import annotations

from collections.abc import Mapping

from botkit.treasury.model import WithdrawalStatus
from botkit.venues.kit.parsing import Fields

__all__ = ["status_of"]


def status_of(
    f: Fields, names: tuple[str, ...], table: Mapping[str, WithdrawalStatus]
) -> tuple[WithdrawalStatus, str]:
    """``(normalised, raw)`` of a required status field."""
    raw = f.text(*names)
    return table.get(raw.lower(), WithdrawalStatus.PENDING), raw
