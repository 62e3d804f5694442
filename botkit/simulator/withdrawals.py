"""What the withdrawal-API simulators share: the venue's ledger of withdrawals, a log
of every request received, and a reply that comes too late.

:class:`WithdrawalLedger` is the venue's own record (the ground truth tests
compare against): a withdrawal debits the account when it is accepted and
settles ``settle_s`` later — COMPLETED, or FAILED (refunded) for an address in
``fail_addresses``, or CANCELLED (refunded) when a cancel was asked for while
it was pending. Settlement is applied whenever the ledger is read, so a status
moves from pending to final on the wall clock without a timer.

:class:`WithdrawalServer` is the protocol server base of a withdrawal API (on the
kit's ``VenueServer``, over an ``ExchangeBackend`` with no markets, which keeps
the balances, the faults and the log of refused requests). It adds:

* ``requests`` — every HTTP request that reached the server (method, path,
  query, headers, body bytes), in order, whatever became of it: what tests
  assert "nothing was sent" on;
* ``delay_next_replies`` / ``reply_delay_s`` — the next create acts, then
  waits this long before answering (a client's timeout fires, the withdrawal
  exists all the same).

Nothing here is imported from the treasury clients.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from aiohttp import web

from botkit.model import ZERO
from botkit.simulator.backend import ExchangeBackend
from botkit.simulator.kit import Route, VenueServer

__all__ = ["LoggedRequest", "SimWithdrawal", "WithdrawalLedger", "WithdrawalServer"]

State = Literal["pending", "completed", "failed", "cancelled"]


@dataclass
class SimWithdrawal:
    """One withdrawal as the simulated venue keeps it."""

    id: int
    reference: str  # the client's reference (foreign_id, guid)
    asset: str  # the currency debited
    amount: Decimal  # debited
    address: str
    created_ns: int
    settle_at: float  # monotonic seconds
    tag: str | None = None
    chain: str | None = None
    outcome: Literal["completed", "failed"] = "completed"
    state: State = "pending"
    cancel_asked: bool = False
    completed_ns: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.state != "pending"


class WithdrawalLedger:
    """The withdrawals of one simulated account; balances live in ``balances``."""

    def __init__(
        self,
        balances: dict[str, Decimal],
        *,
        settle_s: float = 2.0,
        fail_addresses: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
        first_id: int = 1,
    ) -> None:
        self.balances = balances
        self.settle_s = settle_s
        self.fail_addresses = frozenset(fail_addresses)
        self.clock = clock
        self.items: list[SimWithdrawal] = []
        self.by_reference: dict[str, SimWithdrawal] = {}
        self._ids = itertools.count(first_id)

    def available(self, asset: str) -> Decimal:
        return self.balances.get(asset, ZERO)

    def create(
        self,
        reference: str,
        asset: str,
        amount: Decimal,
        address: str,
        *,
        tag: str | None = None,
        chain: str | None = None,
        **extra: Any,
    ) -> SimWithdrawal:
        """Record and debit (the caller has checked the funds and the reference)."""
        w = SimWithdrawal(
            id=next(self._ids),
            reference=reference,
            asset=asset,
            amount=amount,
            address=address,
            created_ns=time.time_ns(),
            settle_at=self.clock() + self.settle_s,
            tag=tag,
            chain=chain,
            outcome="failed" if address in self.fail_addresses else "completed",
            extra=dict(extra),
        )
        self.balances[asset] = self.available(asset) - amount
        self.items.append(w)
        self.by_reference[reference] = w
        return w

    def cancel(self, w: SimWithdrawal) -> None:
        """Ask for a cancel; it takes effect when the withdrawal next settles, if pending."""
        if not w.final:
            w.cancel_asked = True

    def settle(self) -> None:
        """Apply every settlement that is due."""
        now = self.clock()
        for w in self.items:
            if w.final:
                continue
            if w.cancel_asked:
                self._close(w, "cancelled")
            elif now >= w.settle_at:
                self._close(w, w.outcome)

    def _close(self, w: SimWithdrawal, state: State) -> None:
        w.state = state
        if state == "completed":
            w.completed_ns = time.time_ns()
        else:
            self.balances[w.asset] = self.available(w.asset) + w.amount

    def newest_first(self) -> list[SimWithdrawal]:
        self.settle()
        return sorted(self.items, key=lambda w: w.id, reverse=True)


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


def empty_backend(venue: str, balances: Mapping[str, Any]) -> ExchangeBackend:
    """A backend with no markets: balances, faults and the refusal log."""
    return ExchangeBackend(venue, {}, balances={k: Decimal(str(v)) for k, v in balances.items()})


class WithdrawalServer(VenueServer):
    """The base of a withdrawal API's simulator; see the module notes."""

    def __init__(self, backend: ExchangeBackend, ledger: WithdrawalLedger) -> None:
        super().__init__(backend)
        self.ledger = ledger
        self.requests: list[LoggedRequest] = []
        self.delay_next_replies = 0
        self.reply_delay_s = 1.0

    def routes(self) -> Iterable[Route]:
        raise NotImplementedError

    def install(self, app: web.Application, extra: Iterable[Route] = ()) -> None:
        super().install(app, extra)
        # Inside the kit's error path: a body too large is still the venue's own 413.
        app.middlewares.append(self._record)

    @web.middleware
    async def _record(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        if not request.path.startswith("/__sim__/"):
            body = await request.read()  # aiohttp keeps it for the handler
            self.requests.append(
                LoggedRequest(
                    request.method,
                    request.path,
                    request.rel_url.raw_query_string,
                    dict(request.headers),
                    body,
                )
            )
        return await handler(request)

    def sent(self, method: str, path: str | None = None) -> list[LoggedRequest]:
        """The logged requests of one method (and path)."""
        return [r for r in self.requests if r.method == method and (path is None or r.path == path)]

    async def late_reply(self) -> None:
        """Wait before answering, if asked to (after the request has acted)."""
        if self.delay_next_replies > 0:
            self.delay_next_replies -= 1
            await asyncio.sleep(self.reply_delay_s)
