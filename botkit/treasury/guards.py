"""The guard rails: every check a withdrawal passes before anything is sent.

Like the risk module's pre-trade checks, each rule is one small function with
one reason to refuse, and :data:`CHECKS` is the list, in order; reading it
tells every rule. Each returns None or the :class:`WithdrawalRefused` it
raises. All of them are on by default and none can be switched off: with an
empty ``treasury:`` section every withdrawal is refused.

1. ``disabled`` — ``treasury.enabled`` is false;
2. ``unknown_account`` — no such ``treasury.accounts`` entry;
3. ``invalid_amount`` — an amount that is not > 0;
4. ``not_allowlisted`` — the address is not on the allowlist of the asset that
   arrives there, with the request's chain and tag (a chain or tag on the
   entry must match; a request with one needs an entry with the same), for
   this account;
5. ``no_limits`` — the capped asset has no ``treasury.limits`` entry;
6. ``per_withdrawal_cap`` — above the asset's ``per_withdrawal``;
7. ``daily_cap`` — with what was sent in the last 24 hours (rolling; pending,
   completed and not-yet-known withdrawals count), above ``per_day``;
8. ``keep_balance`` / ``balance_unknown`` — the venue's balance minus the amount
   would fall below ``keep`` (a ``keep`` above 0 on a venue that reports no
   balance is refused: it cannot be checked; with ``keep`` 0 the balance is not
   read, and the venue refuses what it cannot pay itself).

The venue's own rules (a tag for XRP, ``amount`` or ``amount_to``) are the
client's ``check``, run between 2 and 3. The daily cap is checked again, with
the journal's rows locked, when the attempt is journaled (``journal.reserve``),
so two processes cannot both spend the last of a day's cap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from botkit.config.treasury import AllowedAddress, AssetLimits, TreasuryConfig
from botkit.redact import shorten
from botkit.treasury.errors import WithdrawalRefused
from botkit.treasury.model import WithdrawalRequest

__all__ = ["CHECKS", "DAY_NS", "Context", "allowlist_entry", "daily_refusal", "run"]

DAY_NS = 86_400 * 1_000_000_000


@dataclass(frozen=True)
class Context:
    """What the checks look at. ``spent_today``: the capped asset's amount sent in the
    rolling day, this request excluded; ``balance``: the venue's, None if unknown."""

    config: TreasuryConfig
    account: str
    request: WithdrawalRequest
    spent_today: Decimal = Decimal(0)
    balance: Decimal | None = None

    @property
    def limits(self) -> AssetLimits | None:
        return self.config.limits.get(self.request.capped[0])


Check = Callable[[Context], WithdrawalRefused | None]


def _disabled(c: Context) -> WithdrawalRefused | None:
    if c.config.enabled:
        return None
    return WithdrawalRefused(
        "disabled",
        "withdrawals are disabled in bot.yaml (treasury.enabled is false)",
        "Set treasury.enabled: true once the accounts, allowlist and limits are right "
        "(treasury.dry_run: true shows what would be sent without sending)",
    )


def _unknown_account(c: Context) -> WithdrawalRefused | None:
    if c.account in c.config.accounts:
        return None
    known = ", ".join(c.config.accounts) or "none"
    return WithdrawalRefused(
        "unknown_account",
        f"'{c.account}' is not a treasury account (configured: {known})",
        "Name one of treasury.accounts",
    )


def _invalid_amount(c: Context) -> WithdrawalRefused | None:
    for name, value in (("amount", c.request.amount), ("amount_to", c.request.amount_to)):
        if value is not None and value <= 0:
            return WithdrawalRefused("invalid_amount", f"{name} {value} is not above 0")
    return None


def allowlist_entry(
    config: TreasuryConfig, account: str, request: WithdrawalRequest
) -> AllowedAddress | None:
    """The allowlist entry the request goes to (address, chain, tag and account match)."""
    for entry in config.allowlist.get(request.arriving_asset, ()):
        if (
            entry.address == request.address
            and entry.chain == request.chain
            and entry.tag == request.tag
            and (entry.accounts is None or account in entry.accounts)
        ):
            return entry
    return None


def _not_allowlisted(c: Context) -> WithdrawalRefused | None:
    r = c.request
    if allowlist_entry(c.config, c.account, r) is not None:
        return None
    asset, where = r.arriving_asset, shorten(r.address)
    same = [e for e in c.config.allowlist.get(asset, ()) if e.address == r.address]
    if not same:
        why = f"{where} is not on the {asset} allowlist"
    elif not any(e.accounts is None or c.account in e.accounts for e in same):
        why = f"{where} is allowlisted for {asset}, but not for account '{c.account}'"
    elif not any(e.chain == r.chain for e in same):
        chains = ", ".join(e.chain or "none" for e in same)
        why = f"{where} is allowlisted for {asset} on chain {chains}, not {r.chain or 'none'}"
    else:
        why = f"{where} is allowlisted for {asset} with another tag/memo than the one given"
    return WithdrawalRefused(
        "not_allowlisted",
        why,
        f"Add the address under treasury.allowlist.{asset} (with its chain and tag) "
        "after checking it, or send to an address that is there",
    )


def _no_limits(c: Context) -> WithdrawalRefused | None:
    if c.limits is not None:
        return None
    asset = c.request.capped[0]
    return WithdrawalRefused(
        "no_limits",
        f"{asset} has no caps in bot.yaml, and nothing leaves without them",
        f"Add treasury.limits.{asset}: {{per_withdrawal: ..., per_day: ...}}",
    )


def _per_withdrawal_cap(c: Context) -> WithdrawalRefused | None:
    asset, amount = c.request.capped
    limits = c.limits
    if limits is None or amount is None or amount <= limits.per_withdrawal:
        return None
    return WithdrawalRefused(
        "per_withdrawal_cap",
        f"{amount} {asset} is above the cap of {limits.per_withdrawal} {asset} per withdrawal",
        "Send less, in several withdrawals within the daily cap, or raise "
        f"treasury.limits.{asset}.per_withdrawal",
    )


def daily_refusal(
    asset: str, amount: Decimal, spent: Decimal, per_day: Decimal
) -> WithdrawalRefused | None:
    """The daily-cap refusal, if ``amount`` on top of ``spent`` exceeds ``per_day``."""
    if spent + amount <= per_day:
        return None
    left = max(per_day - spent, Decimal(0))
    return WithdrawalRefused(
        "daily_cap",
        f"{amount} {asset} with the {spent} {asset} sent in the last 24 hours is above the "
        f"cap of {per_day} {asset} per rolling day ({left} {asset} left)",
        f"Wait until earlier withdrawals leave the 24-hour window, or raise "
        f"treasury.limits.{asset}.per_day",
    )


def _daily_cap(c: Context) -> WithdrawalRefused | None:
    asset, amount = c.request.capped
    if c.limits is None or amount is None:
        return None
    return daily_refusal(asset, amount, c.spent_today, c.limits.per_day)


def _keep_balance(c: Context) -> WithdrawalRefused | None:
    limits = c.limits
    asset, amount = c.request.capped
    if limits is None or amount is None or asset != c.request.asset:
        return None  # a conversion's debit in the source currency is the venue's to price
    if c.balance is None:
        if limits.keep == 0:
            return None
        return WithdrawalRefused(
            "balance_unknown",
            f"{limits.keep} {asset} must stay on the venue, and this venue reports no balance",
            f"Set treasury.limits.{asset}.keep: 0 to withdraw from it without that check",
        )
    if c.balance - amount >= limits.keep:
        return None
    return WithdrawalRefused(
        "keep_balance",
        f"{amount} {asset} would leave {c.balance - amount} {asset} on the venue, below the "
        f"{limits.keep} {asset} to keep (balance {c.balance})",
        f"Send at most {max(c.balance - limits.keep, Decimal(0))} {asset}",
    )


# The venue's own rules (the client's ``check``) run between _unknown_account and
# _invalid_amount; see ``run``.
CHECKS: tuple[Check, ...] = (
    _invalid_amount,
    _not_allowlisted,
    _no_limits,
    _per_withdrawal_cap,
    _daily_cap,
    _keep_balance,
)
FIRST: tuple[Check, ...] = (_disabled, _unknown_account)


def run(c: Context, checks: tuple[Check, ...] = CHECKS) -> None:
    """Raise the first refusal of ``checks`` (``FIRST`` are run by the caller, before the
    client is even known)."""
    for check in checks:
        refusal = check(c)
        if refusal is not None:
            raise refusal
