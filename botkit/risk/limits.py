"""The limits the checks apply: bot.yaml's ``risk:`` section, made ready for every order.

The typed section itself (:class:`RiskLimits`, :class:`RateLimit`) is part of the
config schema and defined there, in ``botkit.config.risk_limits``, once; it is
re-exported here. :class:`Rules` is what the checks read on every order,
worked out once from the limits; :class:`RateWindow` is the one limit with
state, the sliding window of ``max_order_rate``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from types import MappingProxyType
from typing import Any

from botkit.config.risk_limits import (
    KILL_SWITCH_STATES,
    POST_ONLY_POLICIES,
    ROUNDING_MODES,
    RateLimit,
    RiskConfigError,
    RiskLimits,
)
from botkit.model import ZERO

__all__ = [
    "KILL_SWITCH_STATES",
    "POST_ONLY_POLICIES",
    "ROUNDING_MODES",
    "RateLimit",
    "RateWindow",
    "RiskConfigError",
    "RiskLimits",
    "Rules",
    "as_limits",
]


def as_limits(limits: RiskLimits | Mapping[str, Any] | None) -> RiskLimits:
    """The typed limits from the ``risk:`` mapping, a :class:`RiskLimits`, or None (defaults)."""
    if limits is None:
        return RiskLimits()
    if isinstance(limits, RiskLimits):
        return limits
    return RiskLimits.from_mapping(limits)


class Rules:
    """The limits as the checks read them on every order, worked out once."""

    __slots__ = (
        "band",
        "band_hi",
        "band_lo",
        "caps",
        "default_cap",
        "grid",
        "has_caps",
        "max_open",
        "reject_off_grid",
        "slide",
    )

    def __init__(self, limits: RiskLimits) -> None:
        self.reject_off_grid = limits.rounding == "reject"
        self.slide = limits.post_only == "slide"
        # Grid values are a whole quotient times the tick or lot. The product goes
        # through a context wide enough for any venue's numbers that traps Inexact,
        # so a grid value is never silently rounded.
        self.grid = Context(prec=64, traps=[InvalidOperation, Inexact, Overflow]).multiply
        cap = limits.max_position
        self.has_caps = cap is not None
        # Copies: the caps in force do not change if the limits' mapping is changed.
        per_symbol = dict(cap) if isinstance(cap, Mapping) else {}
        self.caps: Mapping[str, Decimal] = MappingProxyType(per_symbol)
        self.default_cap: Decimal | None = (
            per_symbol.get("default") if isinstance(cap, Mapping) else cap
        )
        self.max_open = limits.max_open_orders
        band = limits.price_band
        self.band = band
        self.band_lo = (1 - band) if band is not None else ZERO
        self.band_hi = (1 + band) if band is not None else ZERO

    def position_cap(self, symbol: str) -> Decimal | None:
        return self.caps.get(symbol, self.default_cap)


class RateWindow:
    """The accepted orders and edits of the last ``per`` nanoseconds, for ``max_order_rate``."""

    __slots__ = ("count", "per", "sent")

    def __init__(self, rate: RateLimit) -> None:
        self.count = rate.count
        self.per = rate.per
        self.sent: deque[int] = deque()

    def used(self, now_ns: int) -> int:
        """How many were accepted in the window that ends at ``now_ns``."""
        sent = self.sent
        cutoff = now_ns - self.per
        while sent and sent[0] <= cutoff:
            sent.popleft()
        return len(sent)

    def record(self, now_ns: int) -> None:
        self.sent.append(now_ns)
