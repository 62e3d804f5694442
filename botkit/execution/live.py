"""The live gateway: the synchronous router on one side, an async venue adapter on the other.

The router calls ``submit``/``cancel``/``edit`` and carries on; each request
runs as an asyncio task and its outcome comes back through the router's venue
callbacks (``on_ack``, ``on_reject``, ``on_fill``, ...), after which the engine
is told to deliver the resulting updates to strategies.

What this module guarantees:

* A definite refusal (``OrderRejected``/``InvalidRequest``...) rejects at once,
  with the venue's reason. An ambiguous outcome (5xx, timeout, connection
  reset, 409) is never a failure and never blindly resent: the order goes to
  UNKNOWN and is looked up by client id until the venue shows it (tracked) or
  proves it absent (REJECTED).
* Requests respect the venue's private-call rate (a shared limiter) and back
  off exponentially on rate limits and transient errors.
* Fills come from the user-trades stream where the venue has one, with REST
  polling from the last cursor as catch-up on start, after every reconnect and
  as a slow safety net; a trade id is counted once (the journal's unique key
  survives restarts; the router dedupes in memory too).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

import aiohttp

from botkit.execution import ExecutionRouter
from botkit.model import Fill, Order, OrderStatus
from botkit.venues.kit.adapter import VenueAdapter
from botkit.venues.kit.errors import RateLimited, VenueError
from botkit.venues.kit.types import VenueOrder

log = logging.getLogger("botkit.execution.live")

S = OrderStatus
AMBIGUOUS = (asyncio.TimeoutError, aiohttp.ClientError, ConnectionError)
GIVE_UP_WATCH_NS = 300 * 1_000_000_000  # how long an order given up on is watched for


class RateLimiter:
    """Spaces calls at least ``interval_s`` apart (the venue's documented private-call rate)."""

    def __init__(self, interval_s: float) -> None:
        self.interval = interval_s
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if self.interval <= 0:
            return
        async with self._lock:
            now = time.monotonic()
            if self._next > now:
                await asyncio.sleep(self._next - now)
            self._next = max(now, self._next) + self.interval


def _now() -> int:
    return time.time_ns()


class LiveGateway:
    """Implements the router's venue interface over an async adapter."""

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
    ) -> None:
        self.adapter = adapter
        self.router = router
        self.journal = journal
        self.timeout = request_timeout_s
        self.max_attempts = max_attempts
        self.backoff = backoff_s
        self.poll_interval = poll_interval_s
        # Wait this long before looking up an order whose place was ambiguous: a
        # stalled request may still be on its way to the matching engine.
        self.lookup_grace = lookup_grace_s if lookup_grace_s is not None else request_timeout_s
        self.limiter = RateLimiter(adapter.min_request_interval_s)
        self.supports_edit = adapter.supports_edit
        self.cursor_key = f"{adapter.name}:user_trades"
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: set[asyncio.Task[Any]] = set()
        self._given_up: dict[str, Order] = {}
        self._cursor: int | None = None
        self.counters: dict[str, int] = {}

    # ----- plumbing ----------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, Any], background: bool = False) -> None:
        """Run a request (awaited by ``drain``) or a background loop (only cancelled)."""
        task = asyncio.get_running_loop().create_task(coro)
        (self._loops if background else self._tasks).add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._loops.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("venue task failed", exc_info=task.exception())

    def _count(self, what: str) -> None:
        self.counters[what] = self.counters.get(what, 0) + 1

    async def _call(self, fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        await self.limiter.wait()
        return await asyncio.wait_for(fn(), self.timeout)

    async def _pause(self, attempt: int, err: BaseException | None = None) -> None:
        lo, hi = self.backoff
        delay = min(hi, lo * (2**attempt))
        if isinstance(err, RateLimited) and err.retry_after:
            delay = max(delay, err.retry_after)
        await asyncio.sleep(delay)

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Wait for every request in flight (used when stopping)."""
        deadline = time.monotonic() + timeout_s
        while self._tasks and time.monotonic() < deadline:
            await asyncio.wait(set(self._tasks), timeout=deadline - time.monotonic())

    async def close(self) -> None:
        everything = list(self._tasks | self._loops)
        for task in everything:
            task.cancel()
        for task in everything:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _journal_order(self, order: Order) -> None:
        if self.journal is not None:
            self.journal.record_order(order)

    # ----- place ---------------------------------------------------------------------------

    def submit(self, order: Order, now_ns: int) -> None:
        self._journal_order(order)  # written before it is sent: a restart knows it exists
        self._spawn(self._place(order))

    async def _place(self, order: Order) -> None:
        cid = order.client_id
        for attempt in range(self.max_attempts):
            try:
                vo = await self._call(lambda: self.adapter.place(order))
            except RateLimited as err:  # refused before acting: safe to send again
                self._count("rate_limited")
                await self._pause(attempt, err)
                continue
            except VenueError as err:
                if not err.ambiguous:
                    self._count("rejected")
                    self.router.on_reject(cid, err.code or "venue_rejected", err.message, _now())
                    self._after(order)
                    return
                await self._ambiguous_place(order, err)
                return
            except AMBIGUOUS as err:
                await self._ambiguous_place(order, err)
                return
            self._apply_venue_order(order, vo)
            self._after(order)
            return
        await self._ambiguous_place(order, RuntimeError("rate limited on every attempt"))

    async def _ambiguous_place(self, order: Order, err: BaseException) -> None:
        self._count("ambiguous_place")
        log.warning(
            "place of %s is ambiguous (%s): looking it up",
            order.client_id,
            str(err) or type(err).__name__,
        )
        self.router.on_ambiguous(order.client_id, str(err) or type(err).__name__, _now())
        self._journal_order(order)
        await asyncio.sleep(self.lookup_grace)
        await self._settle(order)

    async def _settle(self, order: Order) -> None:
        """Find an order of unknown fate at the venue: track it, or reject it as absent."""
        for attempt in range(self.max_attempts * 4):
            try:
                vo = await self._call(lambda: self.adapter.find_order(order))
            except (VenueError, *AMBIGUOUS) as err:
                self._count("lookup_failed")
                await self._pause(min(attempt, 5), err)
                continue
            if vo is None:
                self._count("absent")
                self._given_up[order.client_id] = order
                self.router.on_reject(
                    order.client_id,
                    "not_at_venue",
                    "the place was ambiguous and the venue has no such order",
                    _now(),
                )
            else:
                self._apply_venue_order(order, vo)
            self._after(order)
            return
        log.error(
            "order %s: venue unreachable; it stays UNKNOWN until reconciliation", order.client_id
        )

    def _apply_venue_order(self, order: Order, vo: VenueOrder) -> None:
        """Take the venue's view of an order's state. Fills come only from user trades."""
        cid = order.client_id
        r = self.router
        if order.venue_order_id is None or order.status in (S.PENDING_NEW, S.UNKNOWN):
            r.on_ack(cid, vo.venue_order_id, vo.ts_ns or _now())
        if vo.status in (S.CANCELED, S.EXPIRED) and order.is_open:
            if vo.status is S.CANCELED:
                r.on_canceled(cid, vo.ts_ns or _now())
            else:
                r.on_expired(cid, vo.ts_ns or _now())
        elif vo.status is S.REJECTED and order.is_open:
            r.on_reject(cid, "venue_rejected", vo.raw_status, vo.ts_ns or _now())
        elif vo.status is S.UNKNOWN:
            log.warning(
                "order %s: venue status %r unknown; left to reconciliation", cid, vo.raw_status
            )

    def _after(self, order: Order) -> None:
        self._journal_order(order)

    # ----- cancel and edit ----------------------------------------------------------------------

    def cancel(self, order: Order, now_ns: int) -> None:
        self._journal_order(order)
        self._spawn(self._cancel(order))

    async def _cancel(self, order: Order) -> None:
        cid = order.client_id
        for attempt in range(self.max_attempts):
            if order.venue_order_id is None and order.status in (S.PENDING_CANCEL,):
                await asyncio.sleep(0.05 * (attempt + 1))  # the ack is still on its way
                continue
            try:
                await self._call(lambda: self.adapter.cancel(order))
            except VenueError as err:
                if err.retryable or err.ambiguous:
                    await self._pause(attempt, err)
                    continue
                # Refused: most often because it filled or was already gone; ask the venue.
                await self._refresh(
                    order, cancel_refused=(err.code or "cancel_rejected", err.message)
                )
                return
            except AMBIGUOUS as err:
                await self._pause(attempt, err)
                continue
            self.router.on_canceled(cid, _now())
            self._after(order)
            return
        await self._refresh(order, cancel_refused=("cancel_failed", "venue unreachable"))

    async def _refresh(self, order: Order, cancel_refused: tuple[str, str] | None = None) -> None:
        try:
            vo = await self._call(lambda: self.adapter.find_order(order))
        except (VenueError, *AMBIGUOUS):
            vo = None
        if vo is not None and vo.status in (S.CANCELED, S.EXPIRED, S.REJECTED):
            self._apply_venue_order(order, vo)
        elif vo is not None and vo.status is S.FILLED:
            # The fills arrive through user trades; the router settles FILLED then.
            self._count("cancel_lost_to_fill")
        elif cancel_refused is not None and order.status is S.PENDING_CANCEL:
            self.router.on_cancel_rejected(order.client_id, *cancel_refused, _now())
        self._after(order)

    def edit(self, order: Order, price: Decimal, size: Decimal, now_ns: int) -> None:
        self._journal_order(order)
        self._spawn(self._edit(order, price, size))

    async def _edit(self, order: Order, price: Decimal, size: Decimal) -> None:
        cid = order.client_id
        for attempt in range(self.max_attempts):
            try:
                vo = await self._call(lambda: self.adapter.edit(order, price, size))
            except VenueError as err:
                if err.retryable and not err.ambiguous:
                    await self._pause(attempt, err)
                    continue
                if not err.ambiguous:
                    self.router.on_edit_rejected(
                        cid, err.code or "edit_rejected", err.message, _now()
                    )
                    self._after(order)
                    return
                await self._pause(attempt, err)
                continue
            except AMBIGUOUS as err:
                await self._pause(attempt, err)
                continue
            self.router.on_edited(cid, vo.price or price, vo.size or size, _now())
            self._after(order)
            return
        self.router.on_edit_rejected(cid, "edit_failed", "venue unreachable", _now())
        self._after(order)

    # ----- fills ----------------------------------------------------------------------------------

    def deliver(self, fill: Fill) -> bool:
        """One execution from any path; True when it was new."""
        if self.journal is not None and not self.journal.record_fill(fill):
            self._count("duplicate_fill")
            return False
        before = len(self.router.fills)
        self.router.on_fill(fill)
        new = len(self.router.fills) > before
        if new:
            if self._cursor is None or fill.ts_ns > self._cursor:
                self._cursor = fill.ts_ns
                if self.journal is not None:
                    self.journal.set_cursor(self.cursor_key, fill.ts_ns)
            order = self.router.order_for(fill.client_id)
            if order is not None:
                self._journal_order(order)
        else:
            self._count("duplicate_fill")
        return new

    def start_fills(self) -> None:
        if self.journal is not None:
            stored = self.journal.cursor(self.cursor_key)
            self._cursor = int(stored) if stored is not None else None
        self._spawn(self._poll_fills(), background=True)
        if self.adapter.has_user_trade_stream:
            self._spawn(self._stream_fills(), background=True)

    async def catch_up(self) -> int:
        """REST user trades from the cursor on; the boundary repeats and dedupe drops it."""
        fills = await self._call(lambda: self.adapter.user_trades(self._cursor))
        return sum(self.deliver(f) for f in sorted(fills, key=lambda f: (f.ts_ns, f.trade_id)))

    async def _poll_fills(self) -> None:
        attempt = 0
        while True:
            try:
                await self.catch_up()
                if self.router.open_count or self._given_up:
                    # An order can close at the venue with no message to us (an IOC
                    # remainder expiring, a cancel by the venue): ask about the quiet ones.
                    await self.reconcile(min_age_ns=int(self.poll_interval * 1e9))
                attempt = 0
            except (VenueError, *AMBIGUOUS) as err:
                self._count("poll_failed")
                await self._pause(min(attempt, 5), err)
                attempt += 1
                continue
            await asyncio.sleep(self.poll_interval)

    async def _stream_fills(self) -> None:
        while True:
            stream = self.adapter.user_trade_stream(self._cursor)
            if stream is None:
                return
            try:
                async for fill in stream:
                    self.deliver(fill)
            except (VenueError, *AMBIGUOUS) as err:
                self._count("stream_dropped")
                log.info("user-trades stream dropped (%s); resuming from the cursor", err)
            # After every reconnect: what did we miss? (reconcile includes the catch-up)
            with contextlib.suppress(VenueError, *AMBIGUOUS):
                await self.reconcile(min_age_ns=int(self.poll_interval * 1e9))
            await asyncio.sleep(0.2)

    # ----- reconciliation ----------------------------------------------------------------------

    async def _bury_given_up(self) -> None:
        """Orders rejected as absent may still land (a stall longer than the lookup grace).

        The strategy was told they are gone, so any that turn up open are cancelled;
        their fills, if any, still count through user trades.
        """
        horizon = _now() - GIVE_UP_WATCH_NS
        for cid, order in list(self._given_up.items()):
            try:
                vo = await self._call(lambda o=order: self.adapter.find_order(o))  # type: ignore[misc]
            except (VenueError, *AMBIGUOUS):
                continue
            if vo is None:
                if order.updated_ns < horizon:
                    del self._given_up[cid]
                continue
            del self._given_up[cid]
            if vo.status in (S.OPEN, S.PARTIALLY_FILLED, S.UNKNOWN):
                self._count("zombie_canceled")
                log.warning("order %s landed after it was given up: cancelling it", cid)
                ghost = dataclasses.replace(order, venue_order_id=vo.venue_order_id)
                with contextlib.suppress(VenueError, *AMBIGUOUS):
                    await self._call(lambda g=ghost: self.adapter.cancel(g))  # type: ignore[misc]

    async def reconcile(self, min_age_ns: int = 0) -> dict[str, int]:
        """Compare the router's open orders with the venue's, and settle every difference.

        ``min_age_ns`` skips orders that changed more recently than that (their
        news may still be on its way), and orders with a request in flight.
        """
        venue_open = await self._call(lambda: self.adapter.open_orders(None))
        by_cid = {vo.client_id: vo for vo in venue_open if vo.client_id}
        by_vid = {vo.venue_order_id: vo for vo in venue_open}
        settled = 0
        now = _now()
        for order in list(self.router.orders.values()):
            if not order.is_open:
                continue
            if min_age_ns and (
                now - order.updated_ns < min_age_ns
                or order.status in (S.PENDING_NEW, S.UNKNOWN, S.PENDING_CANCEL, S.PENDING_EDIT)
            ):
                continue
            vo = by_cid.get(order.client_id) or (
                by_vid.get(order.venue_order_id) if order.venue_order_id else None
            )
            if vo is not None:
                self._apply_venue_order(order, vo)
            else:
                await self._refresh(order)
                if order.status in (S.PENDING_NEW, S.UNKNOWN):
                    await self._settle(order)
            settled += 1
        await self._bury_given_up()
        known = {o.client_id for o in self.router.orders.values()}
        strangers = [vo for vo in venue_open if vo.client_id not in known]
        for vo in strangers:
            log.warning("open order %s at the venue is not this bot's", vo.venue_order_id)
        await self.catch_up()
        mismatched = await self._check_positions()
        return {"checked": settled, "strangers": len(strangers), "position_mismatches": mismatched}

    async def _check_positions(self) -> int:
        """Positions follow from fills alone; the venue's own figure is the cross-check."""
        venue_positions = await self._call(self.adapter.positions)
        mismatched = 0
        for symbol, size in venue_positions.items():
            ours = self.router.account_position(symbol)
            if ours != size:
                mismatched += 1
                self._count("position_mismatch")
                log.warning(
                    "%s: the venue says position %s, our fills say %s (fills from "
                    "before this journal, or still on their way)",
                    symbol,
                    size,
                    ours,
                )
        return mismatched
