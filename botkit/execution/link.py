"""What the live components share: the adapter behind its rate limit, the journal, the
run's health, and the asyncio tasks they run.

``call`` is the one way to the venue: it waits for the rate limiter, then sends
under the request timeout. A caller that must decide something at the last
moment (the freshness re-check) awaits ``turn()`` and then ``send()`` itself.

Tasks: a *request* (``spawn``) is awaited by ``drain`` when the run stops; a
*loop* (``supervise``) runs until ``close`` and is restarted, loudly, if it ever
ends with an exception. No task ends silently: a request task that raises is
logged with its traceback and counted (``request_task_failed``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from botkit.execution.health import Health
from botkit.execution.ratelimit import RateLimiter
from botkit.execution.router import ExecutionRouter
from botkit.model import Order
from botkit.venues.kit.adapter import VenueAdapter

log = logging.getLogger("botkit.execution.live")

T = TypeVar("T")

RESTART_PAUSE_S = 1.0  # before a loop that failed is started again


def now_ns() -> int:
    return time.time_ns()


class VenueLink:
    """The adapter, its rate limit and timeout, the journal, the health counters, the tasks."""

    def __init__(
        self,
        adapter: VenueAdapter,
        router: ExecutionRouter,
        journal: Any,
        limiter: RateLimiter,
        health: Health,
        timeout_s: float,
    ) -> None:
        self.adapter = adapter
        self.router = router
        self.journal = journal
        self.limiter = limiter
        self.health = health
        self.timeout = timeout_s
        self.venue = adapter.name
        # Request tasks running per strategy client id: reconciliation leaves those
        # orders alone, since the answer to their request is still to come. (A count,
        # not a set: a request's answer can start the next request before it ends.)
        self._busy: dict[str, int] = {}
        self._requests: set[asyncio.Task[Any]] = set()
        self._loops: set[asyncio.Task[Any]] = set()

    # ----- calls ---------------------------------------------------------------------------

    async def turn(self) -> None:
        """Wait until the rate limit lets the next private call go."""
        await self.limiter.wait()

    async def send(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Send one call now, under the request timeout."""
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation
        # that arrives as the call completes, and a loop being closed would carry on.
        async with asyncio.timeout(self.timeout):
            return await fn()

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        await self.turn()
        return await self.send(fn)

    # ----- journal -------------------------------------------------------------------------

    def journal_order(self, order: Order) -> None:
        """Write the strategy's order (given it or any of its attempts' records)."""
        if self.journal is not None:
            self.journal.record_order(self.router.order_of(order.client_id) or order)

    def stage_order(self, order: Order) -> None:
        """``journal_order`` for the write just before a send: the journal may keep it
        in its order log and commit it after the request has left
        (``Journal.stage_order``)."""
        if self.journal is not None:
            self.journal.stage_order(self.router.order_of(order.client_id) or order)

    # ----- tasks ---------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """How many request tasks are running (places, cancels, edits, look-ups)."""
        return len(self._requests)

    def busy(self, client_id: str) -> bool:
        """Whether a request about this order is still running."""
        return client_id in self._busy

    def spawn(self, coro: Coroutine[Any, Any, Any], client_id: str) -> None:
        """Run a request about one order; ``drain`` waits for it."""
        self._busy[client_id] = self._busy.get(client_id, 0) + 1
        task = asyncio.get_running_loop().create_task(coro)
        self._requests.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._requests.discard(t)
            left = self._busy.pop(client_id, 1) - 1
            if left:
                self._busy[client_id] = left
            if not t.cancelled() and t.exception() is not None:
                self.health.count("request_task_failed")
                log.error(
                    "the request task for order %s failed; reconciliation will settle it",
                    client_id,
                    exc_info=t.exception(),
                )

        task.add_done_callback(done)

    def supervise(
        self,
        name: str,
        loop: Callable[[], Coroutine[Any, Any, None]],
        pause_s: float = RESTART_PAUSE_S,
    ) -> None:
        """Run a background loop until ``close``; one that fails is reported and restarted."""

        async def guarded() -> None:
            while True:
                try:
                    await loop()
                    return  # it finished by itself (e.g. the venue has no such stream)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self.health.count("task_restarted")
                    log.exception("%s failed; restarting it in %.2f s", name, pause_s)
                await asyncio.sleep(pause_s)

        task = asyncio.get_running_loop().create_task(guarded(), name=name)
        self._loops.add(task)
        task.add_done_callback(self._loops.discard)

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Wait for every request in flight, and for those they lead to (used when stopping)."""
        deadline = time.monotonic() + timeout_s
        while self._requests and time.monotonic() < deadline:
            await asyncio.wait(set(self._requests), timeout=deadline - time.monotonic())

    async def close(self) -> None:
        everything = list(self._requests | self._loops)
        for task in everything:
            task.cancel()
        for task in everything:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


__all__ = ["RESTART_PAUSE_S", "VenueLink", "now_ns"]
