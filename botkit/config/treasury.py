"""The ``treasury:`` section of bot.yaml: withdrawal accounts and their guard rails.

Every guard rail is on unless the file turns it off, and none can be turned
off entirely: withdrawals are refused until ``enabled: true``; an address must
be on the asset's allowlist (with its chain and tag, if it has them); an asset
needs caps per withdrawal and per rolling day before anything of it leaves;
``keep`` is left on the venue. ``dry_run: true`` prints every request instead
of sending it.

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
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from botkit.config.durations import PositiveDuration
from botkit.config.errors import ConfigIssue, NotAllowed, issues_from_validation, show
from botkit.config.secret_keys import collect_secrets
from botkit.config.values import NonNegativeMoney, PositiveMoney, Section, empty_if_none
from botkit.redact import Secret
from botkit.venues import registry

__all__ = [
    "AllowedAddress",
    "AssetLimits",
    "TreasuryAccount",
    "TreasuryConfig",
    "check_treasury",
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
    return issues
