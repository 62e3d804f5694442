"""The venue registry: every venue botkit knows, each declared once, by its own package.

A venue package (``botkit/venues/<name>/__init__.py``, or
``botkit/treasury/<name>/__init__.py`` for an API that only withdraws) declares
one :class:`VenueSpec` as ``SPEC``: its name, what it can do, how it
authenticates, where its adapter, its withdrawal client, its option schema and
its protocol simulator live. Nothing
outside the package spells its name: config validation, the ``botkit`` CLI
(``venue-sim --venue``), the simulator server and the live node all read this
registry. A venue that lives elsewhere (a plugin, or a test's toy venue) is
added with :func:`register`.

Specs name their parts as ``"module:attribute"`` strings so that reading the
registry (loading a bot.yaml, say) does not import every adapter.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Capabilities",
    "UnknownVenue",
    "VenueSpec",
    "get",
    "names",
    "register",
    "registered",
    "specs",
    "unregister",
]

AuthKind = Literal["none", "hmac", "bearer", "hmac-or-jwt"]
VenueKind = Literal["trading", "withdrawals", "simulated"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a venue's API offers, as the router and the node need to know it."""

    edit: bool = False  # a native edit/amend; without it the router cancels and replaces
    client_id: bool = False  # the venue stores our client id and finds orders by it
    user_trade_stream: bool = False  # fills pushed over a websocket (else REST polling)
    market_stream: bool = False  # public market data over a websocket (else REST polling)
    post_only: bool = False  # a post-only flag the venue enforces itself
    reduce_only: bool = False  # a reduce-only flag
    positions: bool = False  # derivatives: the venue reports positions
    withdrawals: bool = False  # a documented withdrawal API


@dataclass(frozen=True, slots=True)
class VenueSpec:
    """One venue, as its package declares it.

    ``adapter``, ``options`` and ``simulator`` are ``"module:attribute"``
    references (``simulator`` a module), loaded on first use. ``credentials``
    are the keys of ``venue:`` in bot.yaml a live run needs (each a
    ``${VAR}`` secret); ``optional_credentials`` may be given.
    """

    name: str
    title: str
    kind: VenueKind = "trading"
    auth: AuthKind = "none"
    capabilities: Capabilities = field(default_factory=Capabilities)
    credentials: tuple[str, ...] = ()
    optional_credentials: tuple[str, ...] = ()
    adapter: str | None = None
    options: str | None = None
    simulator: str | None = None
    document: str = ""  # the seed document it is written from
    withdrawal_client: str | None = None  # the treasury client (``WithdrawalClient``)

    def _load(self, ref: str | None, what: str) -> Any:
        if ref is None:
            raise UnknownVenue(f"venue {self.name!r} has no {what}")
        module, _, attr = ref.partition(":")
        obj: Any = importlib.import_module(module)
        return getattr(obj, attr) if attr else obj

    def adapter_class(self) -> Any:
        """The live adapter class (``VenueAdapter``); built as ``cls(connection)``."""
        return self._load(self.adapter, "live adapter")

    def options_model(self) -> Any:
        """The pydantic model of ``venue.options`` for this venue, or None."""
        return None if self.options is None else self._load(self.options, "options")

    def withdrawal_client_class(self) -> Any:
        """The treasury client class (``botkit.treasury.client.WithdrawalClient``)."""
        return self._load(self.withdrawal_client, "withdrawal client")

    def simulator_module(self) -> Any:
        """The protocol simulator (``make_exchange`` and ``setup_routes``)."""
        return self._load(self.simulator, "simulator")

    @property
    def live(self) -> bool:
        return self.adapter is not None

    @property
    def simulated(self) -> bool:
        return self.simulator is not None


class UnknownVenue(ValueError):
    """A venue name no package declares."""


_extra: dict[str, VenueSpec] = {}
_builtin: dict[str, VenueSpec] | None = None
# Where venue packages live: the trading venues, and the withdrawal-only APIs.
_PACKAGES = ("botkit.venues", "botkit.treasury")


def _discover() -> dict[str, VenueSpec]:
    global _builtin
    if _builtin is None:
        found: dict[str, VenueSpec] = {}
        for name in _PACKAGES:
            package = importlib.import_module(name)
            for info in pkgutil.iter_modules(package.__path__):
                if not info.ispkg or info.name == "kit":
                    continue
                module = importlib.import_module(f"{name}.{info.name}")
                spec = getattr(module, "SPEC", None)
                if isinstance(spec, VenueSpec):
                    found[spec.name] = spec
        _builtin = found
    return _builtin


def specs() -> dict[str, VenueSpec]:
    """Every known venue by name: the built-in packages, then registered ones."""
    return {**_discover(), **_extra}


def names(kind: VenueKind | None = None) -> tuple[str, ...]:
    """The known venue names (of one kind), sorted, the simulated venue first."""
    out = [s.name for s in specs().values() if kind is None or s.kind == kind]
    return tuple(sorted(out, key=lambda n: (n != "sim", n)))


def get(name: str) -> VenueSpec:
    """The spec of ``name``; :class:`UnknownVenue` lists the known ones."""
    known = specs()
    spec = known.get(name)
    if spec is None:
        raise UnknownVenue(f"unknown venue {name!r}: choose one of {', '.join(names())}")
    return spec


def register(spec: VenueSpec) -> None:
    """Add a venue that does not live in ``botkit.venues`` (a plugin or a test's venue)."""
    if spec.name in specs():
        raise ValueError(f"a venue named {spec.name!r} is already registered")
    _extra[spec.name] = spec


def unregister(name: str) -> None:
    _extra.pop(name, None)


@contextmanager
def registered(spec: VenueSpec) -> Iterator[VenueSpec]:
    """``register`` for the duration of a ``with`` block (tests)."""
    register(spec)
    try:
        yield spec
    finally:
        unregister(spec.name)
