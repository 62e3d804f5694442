"""The values of the treasury: what is asked of a withdrawal API, and what it answers.

Everything is a frozen dataclass and every amount an exact ``Decimal``. A
withdrawal's status is normalised to four values (:class:`WithdrawalStatus`)
while the venue's own word is kept beside it (``raw_status``): an unknown word is
never guessed to be final.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from botkit.model import to_decimal

__all__ = [
    "DepositAddress",
    "Features",
    "Page",
    "Withdrawal",
    "WithdrawalRequest",
    "WithdrawalStatus",
]


class WithdrawalStatus(StrEnum):
    """A withdrawal's state, the same for every venue."""

    PENDING = "pending"  # accepted, not final yet (the venue's processing, new, ...)
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self is not WithdrawalStatus.PENDING


def _amount(value: object, name: str) -> Decimal | None:
    if value is None:
        return None
    return to_decimal(value, name)  # type: ignore[arg-type]


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


@dataclass(frozen=True, slots=True)
class WithdrawalRequest:
    """One withdrawal as the desk asks for it, before any venue's vocabulary.

    ``asset`` is the currency leaving the account; ``amount`` how much of it.
    ``tag`` is the destination tag or memo (XRP, XLM, EOS...), ``chain`` the
    network or gateway (``Ethereum`` for USDT on Ethereum). ``convert_to`` and
    ``amount_to`` ask a venue that converts (AlphaPo) to send another currency:
    ``amount_to`` is then the amount that arrives, in ``convert_to``.
    ``reference`` tells two deliberate, otherwise identical withdrawals apart:
    the same request with the same reference is the same withdrawal, so running
    it again (after a timeout, say) looks it up instead of sending it twice.
    Amounts may be given as str, int or Decimal; they are kept as Decimal.
    """

    asset: str
    amount: Decimal | None
    address: str
    tag: str | None = None
    chain: str | None = None
    convert_to: str | None = None
    amount_to: Decimal | None = None
    reference: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "asset", self.asset.strip().upper())
        set_(self, "address", self.address.strip())
        set_(self, "amount", _amount(self.amount, "amount"))
        set_(self, "amount_to", _amount(self.amount_to, "amount_to"))
        set_(self, "tag", _text(self.tag))
        set_(self, "chain", _text(self.chain))
        convert = _text(self.convert_to)
        set_(self, "convert_to", None if convert is None else convert.upper())
        set_(self, "reference", self.reference.strip())

    @property
    def arriving_asset(self) -> str:
        """The currency the destination address receives."""
        return self.convert_to or self.asset

    @property
    def capped(self) -> tuple[str, Decimal | None]:
        """The asset and amount the caps apply to: the amount the request names, in its
        currency (``amount`` in ``asset``, or ``amount_to`` in ``convert_to``)."""
        if self.amount is None and self.amount_to is not None and self.convert_to:
            return self.convert_to, self.amount_to
        return self.asset, self.amount


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """A withdrawal as a venue reports it.

    ``id`` is the venue's own id; ``reference`` ours as the venue keeps it
    (AlphaPo's ``foreign_id``, the viewer API's ``guid``), when it says so.
    Fields the venue does not report are None.
    """

    venue: str
    status: WithdrawalStatus
    raw_status: str
    id: str | None = None
    reference: str | None = None
    asset: str | None = None
    amount: Decimal | None = None
    address: str | None = None
    tag: str | None = None
    txid: str | None = None
    created_ns: int | None = None
    completed_ns: int | None = None
    internal: bool | None = None
    details: tuple[tuple[str, str], ...] = field(default=())  # other fields worth showing


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a venue's list of withdrawals; ``next_token`` asks for the next."""

    items: tuple[Withdrawal, ...]
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class DepositAddress:
    """Where a venue takes deposits of ``asset`` (with a tag/memo when it needs one)."""

    venue: str
    asset: str
    address: str
    tag: str | None = None
    chain: str | None = None


@dataclass(frozen=True, slots=True)
class Features:
    """Which calls a withdrawal API documents (an undocumented one is never guessed).

    ``dedupe``: the venue keeps our reference and refuses a second withdrawal
    under it, so resending an attempt whose reply was lost cannot pay twice.
    Without it, such an attempt is never resent until it is found at the venue
    or marked by hand.
    """

    get: bool = False
    list: bool = False
    cancel: bool = False
    deposit_address: bool = False
    balance: bool = False
    dedupe: bool = False
