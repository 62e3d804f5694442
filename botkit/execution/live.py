"""The live gateway: the synchronous router on one side, an async venue adapter on the other.

``LiveGateway`` is the router's venue port in live mode. The router calls
``submit``/``cancel``/``edit`` and carries on; each request runs as an asyncio
task and its outcome comes back through the router's venue callbacks, after
which the engine delivers the resulting updates to strategies. The work is
split by concern, one module each:

==================  ===============================================================
``requests``        place, cancel, edit: retries, backoff, UNKNOWN outcomes, look-ups,
                    the freshness re-check just before sending
``fills``           the user-trades stream, REST catch-up, the cursor, dedupe, and
                    rows that do not parse (counted and skipped, never fatal)
``reconcile``       open orders against the venue's, given-up orders that land
                    later, positions
``balances``        the venue's balances as the account of record, the locks of
                    open orders, and the race between a snapshot and fills
``ratelimit``       the venue's documented private-call rate, with a safety margin
``retry``           backoff, and which transport failures are ambiguous
``link``            what they share: the adapter's calls, the journal, the tasks
``health``          the run's counters of absorbed faults
==================  ===============================================================

Every request names the attempt it is about (``Order.venue_client_id``) in its
answer, so an answer about an earlier attempt can never touch the current one.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from botkit.execution.balances import AccountSync
from botkit.execution.fills import FillTracker
from botkit.execution.freshness import Recheck, send_as_is
from botkit.execution.health import Health
from botkit.execution.link import VenueLink
from botkit.execution.ratelimit import RATE_MARGIN, RateLimiter
from botkit.execution.reconcile import GIVE_UP_WATCH_NS, Reconciler
from botkit.execution.requests import Requests
from botkit.execution.retry import TRANSIENT, Backoff
from botkit.execution.router import ExecutionRouter
from botkit.model import Fill, Order
from botkit.venues.kit.adapter import VenueAdapter

AMBIGUOUS = TRANSIENT  # the old name, kept for importers


class LiveGateway:
    """Implements the router's venue port over an async adapter.

    ``recheck`` decides again, just before a place or an edit with a price
    leaves, whether it still may (see ``freshness``); the node builds it from
    the risk module's post-only policy and the books. ``rate_margin`` multiplies
    the venue's documented request interval (see ``ratelimit``).
    """

    def __init__(
        self,
        adapter: VenueAdapter,
        router: ExecutionRouter,
        journal: Any = None,
        request_timeout_s: float = 10.0,
        max_attempts: int = 8,
        backoff_s: tuple[float, float] = (0.2, 5.0),
        poll_interval_s: float = 5.0,
        lookup_grace_s: float | None = None,
        recheck: Recheck = send_as_is,
        rate_margin: float = RATE_MARGIN,
    ) -> None:
        self.adapter = adapter
        self.router = router
        self.journal = journal
        self.health = Health()
        self.counters = self.health.counts  # name -> count of every fault absorbed
        self.limiter = RateLimiter(adapter.min_request_interval_s, rate_margin)
        self.supports_edit = adapter.supports_edit
        self.poll_interval = poll_interval_s
        backoff = Backoff(*backoff_s)
        self.link = VenueLink(
            adapter, router, journal, self.limiter, self.health, request_timeout_s
        )
        # Wait this long before looking up an order whose place was ambiguous: a
        # stalled request may still be on its way to the matching engine.
        self.requests = Requests(
            self.link,
            recheck=recheck,
            max_attempts=max_attempts,
            backoff=backoff,
            lookup_grace_s=lookup_grace_s if lookup_grace_s is not None else request_timeout_s,
        )
        self.fills = FillTracker(self.link, poll_interval_s=poll_interval_s, backoff=backoff)
        self.reconciler = Reconciler(self.link, self.requests)
        self.account = AccountSync(self.link, self.fills)
        # One reconciliation at a time: the periodic sweep and an explicit call would
        # otherwise settle (and cancel) the same orders twice.
        self._reconciling = asyncio.Lock()
        self.cursor_key = self.fills.cursor_key

    # ----- the venue port ------------------------------------------------------------------

    def submit(self, order: Order, now_ns: int) -> None:
        self.requests.submit(order)

    def cancel(self, order: Order, now_ns: int) -> None:
        self.requests.cancel(order)

    def edit(self, order: Order, price: Decimal, size: Decimal, now_ns: int) -> None:
        self.requests.edit(order, price, size)

    # ----- fills ---------------------------------------------------------------------------

    def deliver(self, fill: Fill) -> bool:
        """One execution from any path; True when it was new."""
        return self.fills.deliver(fill)

    def start_fills(self) -> None:
        """Start the fill poll and stream (and with them the periodic quiet-order checks);
        after the stream reconnects, a whole reconciliation (balances included)."""
        self.fills.start(self._sweep, self.reconcile)

    async def catch_up(self) -> int:
        """REST user trades from the cursor on; how many were new."""
        return await self.fills.catch_up()

    async def _sweep(self, min_age_ns: int) -> None:
        if self.router.open_count or self.requests.given_up:
            await self.reconcile(min_age_ns, balances=False)
        else:
            await self.fills.catch_up()

    # ----- reconciliation ------------------------------------------------------------------

    async def reconcile(self, min_age_ns: int = 0, *, balances: bool = True) -> dict[str, Any]:
        """Compare the router's open orders with the venue's and settle every difference,
        catch up with the fills, cross-check positions, and (``balances``) take the
        venue's balances as the account's (``botkit.execution.balances``).

        ``min_age_ns`` skips orders that changed more recently than that (their
        news may still be on its way); orders with a request running are skipped.
        The quiet-order checks between reconciliations (every fill poll) leave
        the balances alone.
        """
        async with self._reconciling:
            report: dict[str, Any] = dict(await self.reconciler.orders(min_age_ns))
            if balances:
                # The balance snapshot, then the catch-up of fills that confirms it.
                report["balances"] = await self.account.refresh()
            else:
                await self.fills.catch_up()
            report["position_mismatches"] = await self.reconciler.positions()
            return report

    # ----- lifetime ------------------------------------------------------------------------

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Wait for every request in flight (used when stopping)."""
        await self.link.drain(timeout_s)

    async def close(self) -> None:
        await self.link.close()


__all__ = ["AMBIGUOUS", "GIVE_UP_WATCH_NS", "LiveGateway"]
