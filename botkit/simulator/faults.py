"""Fault injection: what a flaky venue does to a client, seeded and switchable at run time.

A private REST call can stall, or fail with a 5xx either before the exchange
acted on it or after (the ambiguous case a client must reconcile), or answer
200 with a body of no shape the venue documents (``garble_next``). Websockets
are dropped on a schedule; account messages (order updates, user trades) are
duplicated and reordered as a flaky stream would. Every knob defaults to off.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

__all__ = ["FAULT_STATUSES", "Faults"]

# The statuses an injected failure answers with: a crash, a proxy in front of the
# venue, an overloaded venue.
FAULT_STATUSES = (500, 502, 503)

T = TypeVar("T")


@dataclass
class Faults:
    """Fault injection for tests; every knob defaults to "off".

    ``fail_next``/``stall_next`` hit the next N private REST calls; the rates
    hit calls at random (seeded). A failed call answers 5xx either before or
    after the exchange acted on it (``fail_after_probability``): the second is
    the ambiguous case a client must reconcile. ``drop_ws_every_s`` closes
    websockets periodically; ``duplicate_rate``/``reorder_rate`` mangle
    account messages (order updates and user trades, also when a venue lists
    the account's trades over REST). ``garble_next`` answers the next N private
    calls to the route named ``garble_what`` (a route's ``what``: "balances",
    "portfolios", ...; None: any private route) with 200 and a JSON body of no
    documented shape, after acting.
    """

    fail_next: int = 0
    stall_next: int = 0
    fail_rate: float = 0.0
    stall_rate: float = 0.0
    stall_s: float = 2.0
    fail_after_probability: float = 0.5
    drop_ws_every_s: float | None = None
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    garble_next: int = 0
    garble_what: str | None = None
    seed: int = 7
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def update(self, **changes: Any) -> None:
        """Change knobs by name; unknown names and values of the wrong kind are errors."""
        for k, v in changes.items():
            if k not in self.__dataclass_fields__ or k == "rng":
                raise KeyError(f"unknown fault {k!r}")
            current = getattr(self, k)
            # None switches an optional knob (drop_ws_every_s) back off.
            setattr(self, k, v if v is None or current is None else type(current)(v))
        if "seed" in changes:
            self.rng = random.Random(self.seed)

    def garbles(self, what: str) -> bool:
        """Whether the reply to this call (a route's ``what``) is to be garbled; counts it."""
        if self.garble_next > 0 and self.garble_what in (None, what):
            self.garble_next -= 1
            return True
        return False

    def next_call(self) -> tuple[Literal["fail", "stall"] | None, bool]:
        """What happens to the next private call: (None|"fail"|"stall", fail after acting)."""
        if self.fail_next > 0:
            self.fail_next -= 1
            return "fail", self.rng.random() < self.fail_after_probability
        if self.stall_next > 0:
            self.stall_next -= 1
            return "stall", False
        r = self.rng.random()
        if r < self.fail_rate:
            return "fail", self.rng.random() < self.fail_after_probability
        if r < self.fail_rate + self.stall_rate:
            return "stall", False
        return None, False

    async def around(self, act: Callable[[], Awaitable[T]], failure: Callable[[int], T]) -> T:
        """Run one private call through the faults: stall, fail before, or fail after acting."""
        fault, after = self.next_call()
        if fault == "stall":
            await asyncio.sleep(self.stall_s)
        if fault == "fail" and not after:
            return failure(self.rng.choice(FAULT_STATUSES))
        result = await act()
        if fault == "fail":
            # It acted, then failed: the client cannot know which.
            return failure(self.rng.choice(FAULT_STATUSES))
        return result

    def mangle(self, items: list[T], *, duplicate: bool = True) -> list[T]:
        """Duplicate and reorder messages, as a flaky stream would.

        ``duplicate=False`` only reorders: for records a client could not tell
        from a second one if they came twice (no id of their own).
        """
        out: list[T] = []
        for it in items:
            out.append(it)
            if duplicate and self.rng.random() < self.duplicate_rate:
                out.append(it)
        if len(out) > 1 and self.rng.random() < self.reorder_rate:
            i = self.rng.randrange(len(out) - 1)
            out[i], out[i + 1] = out[i + 1], out[i]
        return out
