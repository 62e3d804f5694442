"""The one interface every withdrawal client offers, and the base that fills in the rest.

A client is built from a :class:`Connection` (the account's base URL, keys,
timeout and options from bot.yaml's ``treasury.accounts``) and offers
:class:`WithdrawalClient`:

* ``load()`` — fetch once what ``check`` and ``prepare`` need from the venue
  (BlockTrade's trading asset ids); most clients need nothing;
* ``check(request)`` — refuse (``WithdrawalRefused``) what the venue's document
  forbids, before anything is built (a tag for XRP, ``amount`` or ``amount_to``);
* ``reference(key)`` — the reference the venue keeps our idempotency key under;
* ``prepare(request, key)`` — the exact create request (``PreparedRequest``),
  signed, for a dry run to print and ``send`` to send;
* ``send(prepared)`` — send it; the withdrawal as the venue reports it;
* ``get(reference, venue_id)`` — one withdrawal, None when the venue has none;
* ``find(record)`` — what a journaled attempt became at the venue (by its
  reference, or by its fields on a venue that keeps none), None if not found;
* ``list(...)`` — one page of withdrawals, ``Page.next_token`` for the next;
* ``cancel(reference)``, ``deposit_address(asset, chain)``, ``balance(asset)``.

``features`` says which of the optional calls the venue documents; a call it
does not document raises ``NotDocumented`` (:class:`ClientBase` does that), and
``balance`` of a venue without a balance call is None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ValidationError

from botkit.redact import Secret
from botkit.treasury.errors import NotDocumented
from botkit.treasury.journal import WithdrawalRecord
from botkit.treasury.model import DepositAddress, Features, Page, Withdrawal, WithdrawalRequest
from botkit.treasury.wire import PreparedRequest, Wire

__all__ = ["ClientBase", "Connection", "WithdrawalClient"]


@dataclass(frozen=True)
class Connection:
    """What a client is built from: one account of ``treasury.accounts``."""

    account: str
    base_url: str | None = None
    api_key: Secret | None = field(default=None, repr=False)
    api_secret: Secret | None = field(default=None, repr=False)
    timeout_s: float = 10.0
    options: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class WithdrawalClient(Protocol):
    """See the module notes."""

    venue: str
    features: Features

    async def load(self) -> None: ...

    def check(self, request: WithdrawalRequest) -> None: ...

    def reference(self, key: str) -> str: ...

    def prepare(self, request: WithdrawalRequest, key: str) -> PreparedRequest: ...

    async def send(self, prepared: PreparedRequest) -> Withdrawal: ...

    async def get(self, reference: str, venue_id: str | None = None) -> Withdrawal | None: ...

    async def find(self, record: WithdrawalRecord) -> Withdrawal | None: ...

    async def list(
        self,
        *,
        asset: str | None = None,
        kind: str | None = None,
        page_token: str | None = None,
        limit: int | None = None,
    ) -> Page: ...

    async def cancel(self, reference: str) -> None: ...

    async def deposit_address(self, asset: str, chain: str | None = None) -> DepositAddress: ...

    async def balance(self, asset: str) -> Decimal | None: ...

    async def close(self) -> None: ...


class ClientBase:
    """What every client shares: its options, its wire, and ``NotDocumented`` defaults.

    A subclass sets ``venue``, ``document``, ``features``, ``options_model`` and
    ``default_base_url`` (None: bot.yaml must give one) and builds ``self.wire``.
    """

    venue: ClassVar[str] = ""
    document: ClassVar[str] = ""
    features: ClassVar[Features] = Features()
    options_model: ClassVar[type[BaseModel] | None] = None
    default_base_url: ClassVar[str | None] = None
    wire: Wire

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.account = connection.account
        base = connection.base_url or self.default_base_url
        if base is None:
            raise ValueError(
                f"treasury account {connection.account!r} ({self.venue}) needs a base_url: "
                "the venue's document names no host"
            )
        self.base_url = base

    @classmethod
    def load_options(cls, options: Mapping[str, Any]) -> Any:
        """The account's options as the venue's model; a ValueError names each bad one."""
        if cls.options_model is None:
            if options:
                raise ValueError(f"{cls.venue} takes no options")
            return None
        try:
            return cls.options_model.model_validate(dict(options))
        except ValidationError as err:
            parts = [
                f"options.{'.'.join(map(str, e['loc']))}: "
                + ("unknown option" if e["type"] == "extra_forbidden" else e["msg"])
                for e in err.errors(include_input=False, include_url=False)
            ]
            raise ValueError("; ".join(parts)) from None

    async def load(self) -> None:
        return None

    def _undocumented(self, call: str) -> NotDocumented:
        return NotDocumented(self.venue, call, self.document)

    async def get(self, reference: str, venue_id: str | None = None) -> Withdrawal | None:
        raise self._undocumented("withdrawal lookup")

    async def find(self, record: WithdrawalRecord) -> Withdrawal | None:
        """By the reference the venue keeps (None where it documents no lookup)."""
        if not self.features.get:
            return None
        return await self.get(record.venue_ref, record.venue_id)

    async def list(
        self,
        *,
        asset: str | None = None,
        kind: str | None = None,
        page_token: str | None = None,
        limit: int | None = None,
    ) -> Page:
        raise self._undocumented("withdrawal list")

    async def cancel(self, reference: str) -> None:
        raise self._undocumented("withdrawal cancel")

    async def deposit_address(self, asset: str, chain: str | None = None) -> DepositAddress:
        raise self._undocumented("deposit address")

    async def balance(self, asset: str) -> Decimal | None:
        return None

    async def close(self) -> None:
        await self.wire.close()
