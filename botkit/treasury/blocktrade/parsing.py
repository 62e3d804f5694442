"""BlockTrade's withdrawal replies (document 004) as treasury values.

* ``GET /trading_assets``: each asset's ``id``, ``iso_code``, ``currency_type``
  (FIAT or CRYPTOCURRENCY) and ``minimal_withdrawal_amount`` (a string, or a
  number as other amounts of the examples are).
* ``GET /portfolios``: ``[{id, assets: [{trading_asset_id, available_amount,
  reserved_amount, locked_amount, wallet_address}]}]``. The balance a
  withdrawal can draw on is ``available_amount``; ``wallet_address`` is read as
  the asset's deposit address (null: none), in the withdrawal formats when it
  carries a tag (``addr?dt=1``).
* Both withdraw calls (crypto and fiat) answer the portfolios, not the
  withdrawal: a 200 is a withdrawal taken, of unknown id, status PENDING
  (raw status ``accepted``).
* A fiat withdrawal (``FiatWithdrawalDetails``): ``id``, ``customer_id``,
  ``status`` (the enum: PENDING, FAILED, CHECKED), ``type`` (SEPA),
  ``bank_account`` (``id``, ``iban``, ``bic``, ``display_name``, ``status``),
  ``iso_code``, ``amount``, ``fee``, ``created_at`` and ``modified_at`` (ms).
  CHECKED is read as completed: it is the enum's only state after PENDING that
  is not a failure. Another word is kept raw and read as PENDING. The bank
  account's id stands for the address; the IBAN is not kept.

Errors are the trading adapter's ``classify_error`` (the Error schema,
``{"message"}``, classed by the HTTP status).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from botkit.treasury.blocktrade.addresses import split_destination
from botkit.treasury.model import DepositAddress, Withdrawal, WithdrawalStatus
from botkit.treasury.parsing import status_of
from botkit.venues.blocktrade.parsing import VENUE
from botkit.venues.kit.parsing import Fields, ParseError, list_of

__all__ = [
    "FIAT_STATUSES",
    "Asset",
    "Portfolio",
    "accepted",
    "parse_assets",
    "parse_fiat_list",
    "parse_fiat_withdrawal",
    "parse_portfolios",
]

FIAT_STATUSES: Mapping[str, WithdrawalStatus] = MappingProxyType(
    {
        "pending": WithdrawalStatus.PENDING,
        "failed": WithdrawalStatus.FAILED,
        "checked": WithdrawalStatus.COMPLETED,
    }
)


@dataclass(frozen=True)
class Asset:
    """A trading asset as withdrawals need it."""

    id: int
    iso: str
    fiat: bool
    minimal_withdrawal: Decimal | None


@dataclass(frozen=True)
class Portfolio:
    """One portfolio: available amount and deposit address per trading asset id."""

    id: int
    available: Mapping[int, Decimal]
    wallet: Mapping[int, str]


def parse_assets(payload: object) -> dict[str, Asset]:
    """``GET /trading_assets`` -> the assets by iso code."""
    out: dict[str, Asset] = {}
    for f in list_of(payload, VENUE, "trading_assets"):
        iso = f.text("iso_code").strip().upper()
        out[iso] = Asset(
            id=f.integer("id"),
            iso=iso,
            fiat=(f.opt_text("currency_type") or "").upper() == "FIAT",
            minimal_withdrawal=f.opt_non_negative("minimal_withdrawal_amount"),
        )
    return out


def parse_portfolios(payload: object) -> list[Portfolio]:
    out = []
    for p in list_of(payload, VENUE, "portfolios"):
        available: dict[int, Decimal] = {}
        wallet: dict[int, str] = {}
        for a in p.each("assets"):
            asset_id = a.integer("trading_asset_id")
            available[asset_id] = a.non_negative("available_amount")
            address = a.opt_text("wallet_address")
            if address:
                wallet[asset_id] = address.strip()
        out.append(Portfolio(p.integer("id"), available, wallet))
    return out


def portfolio(portfolios: list[Portfolio], portfolio_id: int) -> Portfolio:
    for p in portfolios:
        if p.id == portfolio_id:
            return p
    raise ParseError(VENUE, "portfolios", "<root>", f"portfolio {portfolio_id} is not listed")


def deposit_of(p: Portfolio, asset: Asset) -> DepositAddress | None:
    text = p.wallet.get(asset.id)
    if text is None:
        return None
    address, tag = split_destination(text)
    return DepositAddress(VENUE, asset.iso, address, tag=tag)


def accepted(asset: str, amount: Decimal, address: str) -> Withdrawal:
    """What a 200 to a withdraw call means: taken, id and status unknown."""
    return Withdrawal(
        venue=VENUE,
        status=WithdrawalStatus.PENDING,
        raw_status="accepted",
        asset=asset,
        amount=amount,
        address=address,
    )


def _fiat(f: Fields) -> Withdrawal:
    status, raw = status_of(f, ("status",), FIAT_STATUSES)
    bank = f.obj("bank_account") if f.raw("bank_account") is not None else None
    iso = f.opt_text("iso_code")
    fee = f.opt_non_negative("fee")
    named = (
        ("type", f.opt_text("type")),
        ("fee", None if fee is None else str(fee)),
        ("bank_account", bank.opt_text("display_name") if bank else None),
    )
    details = tuple((name, value) for name, value in named if value)
    return Withdrawal(
        venue=VENUE,
        status=status,
        raw_status=raw,
        id=f.ident("id"),
        asset=iso.upper() if iso else None,
        amount=f.opt_non_negative("amount"),
        address=bank.opt_ident("id") if bank else None,
        created_ns=f.opt_time_ns("created_at", unit="ms"),
        completed_ns=(f.opt_time_ns("modified_at", unit="ms") if status.is_final else None),
        details=details,
    )


def parse_fiat_withdrawal(payload: object) -> Withdrawal:
    return _fiat(Fields(payload, VENUE, "fiat_withdrawal"))


def parse_fiat_list(payload: object) -> list[Withdrawal]:
    return [_fiat(f) for f in list_of(payload, VENUE, "fiat_withdrawals")]
