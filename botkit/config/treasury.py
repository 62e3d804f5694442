"""The ``treasury:`` section of bot.yaml: withdrawal accounts and their guard rails.

Every guard rail is on unless the file turns it off, and none can be turned
off entirely: withdrawals are refused until ``enabled: true``; an address must
be on the asset's allowlist (with its chain and tag, if it has them); an asset
needs caps per withdrawal and per rolling day before anything of it leaves;
``keep`` is left on the venue. ``dry_run: true`` prints every request instead
of sending it.

``jobs`` are the withdrawals the node makes on a schedule (live and paper
runs, ``botkit.treasury.jobs``): a ``sweep`` withdraws what an account holds
above ``keep`` to an allowlisted address; a ``rebalance`` keeps the balance of
one account (``to``) inside a ``band`` by moving inventory from (and back to)
another account (``from``), to each one's deposit address. Every job's
withdrawal passes the same guard rails as any other.

The section is checked in two stages like the rest of the file: the models
below (one section at a time), then :func:`check_treasury` (what needs the
venue registry or the whole section: a venue's withdrawal client and its
options, credentials, accounts an allowlist entry names).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from botkit.config.durations import PositiveDuration
from botkit.config.errors import ConfigIssue, NotAllowed, issues_from_validation, show
from botkit.config.secret_keys import collect_secrets
from botkit.config.values import NonNegativeMoney, PositiveMoney, Section, empty_if_none
from botkit.redact import Secret
from botkit.schedule import Cron
from botkit.venues import registry

__all__ = [
    "AllowedAddress",
    "AssetLimits",
    "JobEntry",
    "RebalanceJob",
    "SweepJob",
    "TreasuryAccount",
    "TreasuryConfig",
    "check_treasury",
    "resolve_to",
    "withdrawal_venues",
]

_ASSET = re.compile(r"[A-Z0-9]{1,16}")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def withdrawal_venues() -> tuple[str, ...]:
    """The venues with a withdrawal client, sorted."""
    return tuple(sorted(n for n, s in registry.specs().items() if s.withdrawal_client))


def _withdrawal_venue(name: str) -> str:
    known = withdrawal_venues()
    if name not in known:
        raise NotAllowed(f"{show(name)} is not allowed", f"must be one of {', '.join(known)}")
    return name


def _url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValueError(f"{show(value)} is not allowed: must start with https:// or http://")
    return value


def _asset_code(value: str) -> str:
    if not isinstance(value, str) or not _ASSET.fullmatch(value):
        raise NotAllowed(
            f"{show(value)} is not an asset code",
            "write it in upper case letters and digits, as the venue does (BTC, USDT)",
        )
    return value


def _account_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise NotAllowed(f"{show(value)} is not allowed", "use letters, digits, _ and -")
    return value


def _text(value: Any) -> Any:
    # A tag written as a YAML number (XRP destination tags are numbers) is its text.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


AssetCode = Annotated[str, AfterValidator(_asset_code)]
AccountName = Annotated[str, AfterValidator(_account_name)]


class TreasuryAccount(Section):
    """One withdrawal API account: the venue, where it is, and its credentials."""

    venue: Annotated[str, AfterValidator(_withdrawal_venue)]
    base_url: Annotated[str | None, AfterValidator(_url)] = None
    api_key: Secret | None = None
    api_secret: Secret | None = None
    request_timeout: PositiveDuration = 10 * 1_000_000_000
    options: Annotated[dict[str, Any], BeforeValidator(empty_if_none)] = Field(default_factory=dict)


class AllowedAddress(Section):
    """An address withdrawals of an asset may go to."""

    address: str = Field(min_length=1, max_length=256)
    label: str | None = Field(default=None, min_length=1, max_length=64)
    chain: str | None = Field(default=None, min_length=1, max_length=32)
    tag: Annotated[str | None, BeforeValidator(_text)] = Field(
        default=None, min_length=1, max_length=128
    )
    accounts: tuple[AccountName, ...] | None = Field(default=None, min_length=1)

    @field_validator("address")
    @classmethod
    def _no_spaces(cls, v: str) -> str:
        if v != v.strip() or any(c.isspace() for c in v):
            raise ValueError("an address has no spaces; check what was pasted")
        return v


class AssetLimits(Section):
    """The caps of one asset, in the asset's own units."""

    per_withdrawal: PositiveMoney
    per_day: PositiveMoney
    keep: NonNegativeMoney = Decimal(0)

    @field_validator("per_day")
    @classmethod
    def _day_holds_one(cls, v: Decimal, info: ValidationInfo) -> Decimal:
        one = info.data.get("per_withdrawal")
        if one is not None and v < one:
            raise ValueError(f"{v} is not allowed: must be >= per_withdrawal ({one})")
        return v


def _cron_expr(v: Any) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str):
        raise ValueError(f"expected a cron expression in quotes, got {show(v)}")
    Cron(v, "UTC")  # the syntax; the timezone is schedule.timezone's
    return v


class _Job(Section):
    """What every job has: a name, a schedule (``cron`` or ``every``), a least amount
    worth sending and a dry run of its own."""

    name: Annotated[str, AfterValidator(_account_name)]
    cron: Annotated[str | None, BeforeValidator(_cron_expr)] = None
    every: PositiveDuration | None = None
    min_amount: NonNegativeMoney = Decimal(0)
    dry_run: bool = False

    @model_validator(mode="after")
    def _one_schedule(self) -> _Job:
        if (self.cron is None) == (self.every is None):
            raise ValueError(
                "give the job one schedule: cron: '<expr>' (in schedule.timezone) or "
                "every: <duration>"
            )
        return self


def _named(data: Any, kind: str, *parts: str) -> Any:
    """The default name of a job: its kind and its asset and accounts."""
    if isinstance(data, dict) and data.get("name") is None:
        named = [str(data[p]) for p in parts if isinstance(data.get(p), str)]
        return {**data, "name": "-".join([kind, *named])}
    return data


class SweepJob(_Job):
    """Withdraw what ``account`` holds of ``asset`` above ``keep`` to ``to`` (an
    allowlist label or address of the asset)."""

    account: AccountName
    asset: AssetCode
    keep: NonNegativeMoney
    to: str = Field(min_length=1, max_length=256)

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        return _named(data, "sweep", "asset", "account")


class RebalanceJob(_Job):
    """Keep ``to``'s balance of ``asset`` inside ``band``: below it, move ``target`` less
    the balance from ``from`` to ``to``'s deposit address; above it, the balance less
    ``target`` back to ``from``'s."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    asset: AssetCode
    source: AccountName = Field(alias="from")
    to: AccountName
    band: tuple[NonNegativeMoney, NonNegativeMoney]
    target: NonNegativeMoney
    chain: str | None = Field(default=None, min_length=1, max_length=32)
    cooldown: PositiveDuration = 3600 * 1_000_000_000

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        return _named(data, "rebalance", "asset", "from", "to")

    @model_validator(mode="after")
    def _target_in_band(self) -> RebalanceJob:
        low, high = self.band
        if not low < high:
            raise ValueError(f"band [{low}, {high}]: the low end must be below the high end")
        if not low <= self.target <= high:
            raise ValueError(f"target {self.target} is not inside the band [{low}, {high}]")
        if self.source == self.to:
            raise ValueError(f"from and to are the same account ({self.to})")
        return self


class JobEntry(Section):
    """One entry of ``treasury.jobs``: ``{sweep: {...}}`` or ``{rebalance: {...}}``."""

    sweep: SweepJob | None = None
    rebalance: RebalanceJob | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> JobEntry:
        if (self.sweep is None) == (self.rebalance is None):
            raise ValueError("a job is {sweep: {...}} or {rebalance: {...}}: exactly one of them")
        return self

    @property
    def job(self) -> SweepJob | RebalanceJob:
        found = self.sweep or self.rebalance
        assert found is not None
        return found


class TreasuryConfig(Section):
    """The ``treasury:`` section (see the module notes)."""

    enabled: bool = False
    dry_run: bool = False
    journal: Path = Path("state/treasury.sqlite")
    poll_interval: PositiveDuration = 5 * 1_000_000_000
    follow_timeout: PositiveDuration = 3600 * 1_000_000_000
    accounts: Annotated[dict[AccountName, TreasuryAccount], BeforeValidator(empty_if_none)] = Field(
        default_factory=dict
    )
    allowlist: Annotated[
        dict[AssetCode, tuple[AllowedAddress, ...]], BeforeValidator(empty_if_none)
    ] = Field(default_factory=dict)
    limits: Annotated[dict[AssetCode, AssetLimits], BeforeValidator(empty_if_none)] = Field(
        default_factory=dict
    )
    jobs: Annotated[tuple[JobEntry, ...], BeforeValidator(empty_if_none)] = ()

    def secrets(self) -> tuple[Secret, ...]:
        found: list[Secret] = []
        collect_secrets(
            [[a.api_key, a.api_secret, a.options] for a in self.accounts.values()], found
        )
        return tuple(found)


def check_treasury(t: TreasuryConfig) -> list[ConfigIssue]:
    """What needs the venue registry or the whole section (see the module notes)."""
    issues: list[ConfigIssue] = []
    for name, account in t.accounts.items():
        loc: tuple[str | int, ...] = ("treasury", "accounts", name)
        spec = registry.get(account.venue)
        client = spec.withdrawal_client_class()
        model = client.options_model
        if model is not None:
            try:
                model.model_validate(account.options)
            except ValidationError as exc:
                issues += issues_from_validation(exc, model, (*loc, "options"))
        if account.base_url is None and client.default_base_url is None:
            issues.append(
                ConfigIssue(
                    (*loc, "base_url"),
                    f"{account.venue} needs a base_url: its document names no host",
                    fix="Add base_url: https://... (the venue's API root)",
                )
            )
        if t.enabled:
            for key in spec.credentials:
                if getattr(account, key) is None:
                    var = f"{name}_{key}".upper().replace("-", "_")
                    issues.append(
                        ConfigIssue(
                            (*loc, key),
                            f"withdrawals on {account.venue} need {key}",
                            fix=f"Add {key}: ${{{var}}} and set {var} in the environment",
                        )
                    )
    for asset, entries in t.allowlist.items():
        for i, entry in enumerate(entries):
            for j, named in enumerate(entry.accounts or ()):
                if named not in t.accounts:
                    issues.append(
                        ConfigIssue(
                            ("treasury", "allowlist", asset, i, "accounts", j),
                            f"'{named}' is not a treasury account",
                            allowed=f"accounts: {', '.join(t.accounts) or 'none configured'}",
                            fix="Name an account under treasury.accounts",
                            value=named,
                        )
                    )
        labels = [e.label for e in entries if e.label]
        for label in sorted({x for x in labels if labels.count(x) > 1}):
            issues.append(
                ConfigIssue(
                    ("treasury", "allowlist", asset),
                    f"the label '{label}' is given to two {asset} addresses",
                    fix="Give each address its own label",
                    value=label,
                )
            )
    return issues + _check_jobs(t)


def resolve_to(t: TreasuryConfig, account: str, asset: str, to: str) -> AllowedAddress | None:
    """A sweep's ``to``: the allowlist entry of ``asset`` with that label (or else that
    address) that ``account`` may send to."""
    usable = [e for e in t.allowlist.get(asset, ()) if e.accounts is None or account in e.accounts]
    return next((e for e in usable if e.label == to), None) or next(
        (e for e in usable if e.address == to), None
    )


def _check_jobs(t: TreasuryConfig) -> list[ConfigIssue]:
    """Names unique, accounts known, and each account's venue able to do its part."""
    issues: list[ConfigIssue] = []
    seen: set[str] = set()

    def features(account: str) -> Any:
        venue = t.accounts[account].venue
        return registry.get(venue).withdrawal_client_class().features

    def unknown(loc: tuple[str | int, ...], name: str) -> bool:
        if name in t.accounts:
            return False
        issues.append(
            ConfigIssue(
                loc,
                f"'{name}' is not a treasury account",
                allowed=f"accounts: {', '.join(t.accounts) or 'none configured'}",
                fix="Name an account under treasury.accounts",
                value=name,
            )
        )
        return True

    for i, entry in enumerate(t.jobs):
        job = entry.job
        kind = "sweep" if entry.sweep is not None else "rebalance"
        loc: tuple[str | int, ...] = ("treasury", "jobs", i, kind)
        if job.name in seen:
            issues.append(
                ConfigIssue(
                    (*loc, "name"),
                    f"two jobs are named '{job.name}'",
                    fix="Give each job a name of its own (name: ...)",
                    value=job.name,
                )
            )
        seen.add(job.name)
        if job.asset not in t.limits:
            issues.append(
                ConfigIssue(
                    (*loc, "asset"),
                    f"{job.asset} has no caps under treasury.limits, so nothing of it leaves",
                    fix=f"Add treasury.limits.{job.asset}: {{per_withdrawal: ..., per_day: ...}}",
                    value=job.asset,
                )
            )
        if isinstance(job, SweepJob):
            if unknown((*loc, "account"), job.account):
                continue
            if not features(job.account).balance:
                issues.append(
                    ConfigIssue(
                        (*loc, "account"),
                        "a sweep reads the account's balance, and "
                        f"{t.accounts[job.account].venue} reports none",
                        fix="Sweep from an account on a venue that reports its balance",
                        value=job.account,
                    )
                )
            if resolve_to(t, job.account, job.asset, job.to) is None:
                issues.append(
                    ConfigIssue(
                        (*loc, "to"),
                        f"'{job.to}' is not a label or address of the {job.asset} allowlist "
                        f"that account '{job.account}' may send to",
                        fix=f"Name an entry of treasury.allowlist.{job.asset}",
                        value=job.to,
                    )
                )
            continue
        if unknown((*loc, "from"), job.source) | unknown((*loc, "to"), job.to):
            continue
        watched = features(job.to)
        if not (watched.balance and watched.deposit_address):
            issues.append(
                ConfigIssue(
                    (*loc, "to"),
                    "a rebalance reads the balance and the deposit address of its 'to' "
                    f"account, and {t.accounts[job.to].venue} does not report both",
                    fix="Rebalance into an account on a venue that reports both",
                    value=job.to,
                )
            )
    return issues
