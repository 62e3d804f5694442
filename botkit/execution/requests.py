"""Requests to the venue: place, cancel and edit, with retries, backoff and UNKNOWN outcomes.

The router sends a request only when the order has none in flight, names the
attempt it is about (``Order.venue_client_id``), and expects exactly one answer
back through its callbacks. Each request here runs as one task and gives that
answer, whatever the venue does:

* A definite refusal (``OrderRejected``, ``InvalidRequest``...) is answered at
  once with the venue's code and reason.
* A rate-limit refusal did not act: it is sent again after the venue's
  Retry-After (or the backoff).
* An ambiguous outcome (5xx, 409, a timeout, a reset, a reply that does not
  parse, anything unexpected) is never called a failure and never blindly
  resent. A place goes to UNKNOWN and is looked up by client id after
  ``lookup_grace_s`` (a stalled request may still reach the matching engine):
  found, it is tracked; absent, it is given up as ``not_at_venue`` and watched
  for a while by reconciliation, in case it lands after all. An ambiguous edit
  is looked up, and confirmed only if the venue shows the new terms. A cancel is
  retried, and then the venue is asked what became of the order.
* Fresh at send time: just before a place or an edit with a price leaves (after
  the rate limiter's queue, after any backoff) the ``recheck`` decides again
  against the current book: send, move the price (the router hears
  ``on_repriced``), or drop it (``post_only_would_cross``).
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

from botkit.execution.freshness import DROP, Recheck, send_as_is
from botkit.execution.link import VenueLink, now_ns
from botkit.execution.retry import Backoff, describe
from botkit.execution.router import ExecutionRouter
from botkit.execution.transitions import NOT_AT_VENUE, Phase
from botkit.model import Order, OrderStatus
from botkit.venues.kit.errors import RateLimited, VenueError
from botkit.venues.kit.types import VenueOrder

log = logging.getLogger("botkit.execution.live")

S = OrderStatus
POST_ONLY_WOULD_CROSS = "post_only_would_cross"
_SETTLING = frozenset({S.PENDING_NEW, S.UNKNOWN, Phase.REPLACE_NEW})
_CANCELLING = frozenset({S.PENDING_CANCEL, Phase.REPLACE_CANCEL})


class _Dropped(Exception):
    """The recheck refused to send; the router has been told."""


class Requests:
    """Place, cancel and edit tasks, and the look-ups that settle their outcomes."""

    def __init__(
        self,
        link: VenueLink,
        *,
        recheck: Recheck = send_as_is,
        max_attempts: int = 8,
        backoff: Backoff | None = None,
        lookup_grace_s: float = 10.0,
    ) -> None:
        self.link = link
        self.adapter = link.adapter
        self.router: ExecutionRouter = link.router
        self.recheck = recheck
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.lookup_grace = lookup_grace_s
        # Attempts given up as absent after an ambiguous place, by venue client id: they
        # may still land (a stall longer than the grace); reconciliation watches them.
        self.given_up: dict[str, Order] = {}

    def _count(self, what: str) -> None:
        self.link.health.count(what)

    # ----- the venue port ------------------------------------------------------------------

    def submit(self, leg: Order) -> None:
        self.link.stage_order(leg)  # written before it is sent: a restart knows it exists
        self.link.spawn(self._place(leg, leg.venue_client_id), leg.client_id)

    def cancel(self, leg: Order) -> None:
        self.link.journal_order(leg)
        self.link.spawn(self._cancel(leg, leg.venue_client_id), leg.client_id)

    def edit(self, leg: Order, price: Decimal, size: Decimal) -> None:
        self.link.journal_order(leg)
        self.link.spawn(self._edit(leg, leg.venue_client_id, price, size), leg.client_id)

    # ----- place ---------------------------------------------------------------------------

    def _fresh_place(self, leg: Order, vcid: str) -> None:
        """The last look before a place leaves: the price may move, or it may not go."""
        if leg.price is None:
            return
        verdict = self.recheck(leg, leg.price)
        if verdict is None:
            return
        if verdict is DROP:
            self._count("dropped_at_send")
            self.router.on_reject(
                vcid,
                POST_ONLY_WOULD_CROSS,
                f"the post-only price {leg.price} would cross the book when sent",
                now_ns(),
            )
            raise _Dropped
        self._count("repriced_at_send")
        self.router.on_repriced(
            vcid,
            verdict,  # type: ignore[arg-type]
            now_ns(),
            f"post-only price moved from {leg.price} to {verdict}: the book moved while it waited",
        )

    async def _place(self, leg: Order, vcid: str) -> None:
        try:
            for attempt in range(self.max_attempts):
                try:
                    await self.link.turn()
                    self._fresh_place(leg, vcid)
                    vo = await self.link.send(lambda: self.adapter.place(leg))
                except _Dropped:
                    return
                except RateLimited as err:  # refused before acting: safe to send again
                    self._count("rate_limited")
                    await self.backoff.pause(attempt, err)
                    continue
                except VenueError as err:
                    if err.ambiguous:
                        await self._ambiguous_place(leg, vcid, err)
                    else:
                        self._count("rejected")
                        self.router.on_reject(
                            vcid, err.code or "venue_rejected", err.message, now_ns()
                        )
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as err:  # a timeout, a reset, an unreadable reply: it may exist
                    await self._ambiguous_place(leg, vcid, err)
                    return
                self.apply(leg, vcid, vo)
                return
            self.router.on_reject(
                vcid, "rate_limited", "the venue refused every attempt for its rate", now_ns()
            )
        finally:
            self.link.journal_order(leg)

    async def _ambiguous_place(self, leg: Order, vcid: str, err: BaseException) -> None:
        self._count("ambiguous_place")
        log.warning("place of %s is ambiguous (%s): looking it up", vcid, describe(err))
        self.router.on_ambiguous(vcid, describe(err), now_ns())
        self.link.journal_order(leg)
        await asyncio.sleep(self.lookup_grace)
        await self.settle(leg, vcid)

    async def settle(self, leg: Order, vcid: str) -> None:
        """Find an attempt of unknown fate at the venue: track it, or give it up as absent."""
        known, vo = await self.look_up(leg, vcid, self.max_attempts * 4)
        if not known:
            log.error("order %s: venue unreachable; it stays UNKNOWN until reconciliation", vcid)
            return
        if vo is None:
            self._count("absent")
            self.given_up[vcid] = leg
            self.router.on_reject(
                vcid,
                NOT_AT_VENUE,
                "the place was ambiguous and the venue has no such order",
                now_ns(),
            )
        else:
            self.apply(leg, vcid, vo)
        self.link.journal_order(leg)

    async def look_up(
        self, leg: Order, vcid: str, tries: int = 1
    ) -> tuple[bool, VenueOrder | None]:
        """Ask the venue about an attempt, up to ``tries`` times while asking fails.

        Returns whether it answered, and what it said (None: it has no such order).
        """
        for attempt in range(tries):
            try:
                return True, await self.link.call(lambda: self.adapter.find_order(leg))
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._count("lookup_failed")
                log.info("lookup of %s failed: %s", vcid, describe(err))
                if attempt + 1 < tries:
                    await self.backoff.pause(min(attempt, 5), err)
        return False, None

    def apply(self, leg: Order, vcid: str, vo: VenueOrder) -> None:
        """Take the venue's view of an attempt's state. Fills come only from user trades.

        A state the venue shows closed is taken before the acknowledgement: an ack
        lets a request that waited go (a cancel), which a closed order must not send.
        """
        r = self.router
        order = r.order_of(vcid)
        if order is None:
            return
        ts = vo.ts_ns or now_ns()
        if order.is_open:
            if vo.status is S.FILLED:
                r.on_filled(vcid, ts)  # nothing more to send about it; the fills settle it
            elif vo.status is S.CANCELED:
                r.on_canceled(vcid, ts)
            elif vo.status is S.EXPIRED:
                r.on_expired(vcid, ts)
            elif vo.status is S.REJECTED:
                r.on_reject(vcid, "venue_rejected", vo.raw_status, ts)
            elif vo.status is S.UNKNOWN:
                log.warning(
                    "order %s: venue status %r unknown; left to reconciliation",
                    vcid,
                    vo.raw_status,
                )
        current = r.venue_order(order) is leg  # not once a replace has moved past it
        if current and leg.venue_order_id not in (None, vo.venue_order_id):
            r.on_renamed(vcid, vo.venue_order_id)
        if current and (leg.venue_order_id is None or r.state(order) in _SETTLING):
            adopted = r.adopted_fills
            r.on_ack(vcid, vo.venue_order_id, ts)
            if r.adopted_fills != adopted and self.link.journal is not None:
                # Fills that came before this ack named their order: the journal too.
                self.link.journal.adopt_fills(order)

    # ----- cancel --------------------------------------------------------------------------

    async def _turn(self, vcid: str) -> bool:
        """Wait for the rate limit's turn; False when the order closed meanwhile (its fills
        came): then there is nothing to send, and the venue would refuse it."""
        await self.link.turn()
        order = self.router.order_of(vcid)
        if order is None or not order.is_open:
            self._count("closed_before_send")
            return False
        return True

    async def _cancel(self, leg: Order, vcid: str) -> None:
        try:
            for attempt in range(self.max_attempts):
                try:
                    if not await self._turn(vcid):
                        return
                    await self.link.send(lambda: self.adapter.cancel(leg))
                except VenueError as err:
                    if err.retryable and not err.ambiguous:  # refused before acting
                        await self.backoff.pause(attempt, err)
                        continue
                    if err.ambiguous:
                        if await self._cancel_landed(leg, vcid, attempt, err):
                            return
                        continue
                    # Refused: most often because it filled or was already gone: ask.
                    await self.refresh(leg, vcid, (err.code or "cancel_rejected", err.message))
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as err:
                    if await self._cancel_landed(leg, vcid, attempt, err):
                        return
                    continue
                self.router.on_canceled(vcid, now_ns())
                return
            await self.refresh(leg, vcid, ("cancel_failed", "the venue did not answer"))
        finally:
            self.link.journal_order(leg)

    async def _cancel_landed(self, leg: Order, vcid: str, attempt: int, err: BaseException) -> bool:
        """A cancel of unknown outcome is not blindly sent again: ask the venue first.

        Like an ambiguous place, the look-up waits ``lookup_grace_s`` first (a stalled
        cancel may still land). True when the answer settled it (the order is closed
        there, or gone); False to send the cancel again.
        """
        log.info("cancel of %s is ambiguous (%s): looking it up", vcid, describe(err))
        self._count("ambiguous_cancel")
        await asyncio.sleep(self.lookup_grace)
        for tries in range(self.max_attempts):
            known, vo = await self.refresh(leg, vcid)  # acts on a closed state it finds
            if known:
                break
            await self.backoff.pause(attempt + tries, err)
        else:
            return False
        if vo is not None and not vo.status.is_closed:
            return False
        order = self.router.order_of(vcid)
        if vo is None and order is not None and order.is_open:
            self._count("vanished")
            self.router.on_canceled(vcid, now_ns(), "the venue no longer has this order")
        return True

    async def refresh(
        self, leg: Order, vcid: str, cancel_refused: tuple[str, str] | None = None
    ) -> tuple[bool, VenueOrder | None]:
        """Ask the venue about one attempt and act on a closed state.

        Returns whether the venue answered, and what it said (None: no such order).

        After a refused cancel the order is left as it was unless the venue shows
        it closed (or filled: its fills then settle it), or has no such order at
        all, which closes it: there is nothing left to cancel, nor to track.
        """
        r = self.router
        known, vo = await self.look_up(leg, vcid)
        order = r.order_of(vcid)
        if order is None:
            return known, vo
        if vo is not None and vo.status.is_closed:
            if vo.status is S.FILLED and cancel_refused is not None:
                self._count("cancel_lost_to_fill")
            self.apply(leg, vcid, vo)
        elif cancel_refused is not None and r.state(order) in _CANCELLING:
            if known and vo is None and leg.venue_order_id is not None:
                self._count("vanished")
                r.on_canceled(vcid, now_ns(), "the venue no longer has this order")
            else:
                r.on_cancel_rejected(vcid, *cancel_refused, now_ns())
        return known, vo

    # ----- edit ----------------------------------------------------------------------------

    async def _edit(self, leg: Order, vcid: str, price: Decimal, size: Decimal) -> None:
        try:
            for attempt in range(self.max_attempts):
                try:
                    if not await self._turn(vcid):
                        return
                    verdict = self.recheck(leg, price)
                    if verdict is DROP:
                        self._count("dropped_at_send")
                        self.router.on_edit_rejected(
                            vcid,
                            POST_ONLY_WOULD_CROSS,
                            f"the post-only price {price} would cross the book when sent",
                            now_ns(),
                        )
                        return
                    if verdict is not None:
                        self._count("repriced_at_send")
                        price = verdict  # type: ignore[assignment]
                    vo = await self.link.send(lambda p=price: self.adapter.edit(leg, p, size))  # type: ignore[misc]
                except VenueError as err:
                    if err.retryable and not err.ambiguous:
                        await self.backoff.pause(attempt, err)
                        continue
                    if err.ambiguous:
                        await self._settle_edit(leg, vcid, price, size, err)
                    else:
                        self.router.on_edit_rejected(
                            vcid, err.code or "edit_rejected", err.message, now_ns()
                        )
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as err:
                    await self._settle_edit(leg, vcid, price, size, err)
                    return
                self.router.on_edited(
                    vcid, vo.price or price, vo.size or size, now_ns(), vo.venue_order_id
                )
                return
            self.router.on_edit_rejected(
                vcid, "rate_limited", "the venue refused every attempt for its rate", now_ns()
            )
        finally:
            self.link.journal_order(leg)

    async def _settle_edit(
        self, leg: Order, vcid: str, price: Decimal, size: Decimal, err: BaseException
    ) -> None:
        """An edit of unknown outcome: it happened only if the venue shows the new terms."""
        self._count("ambiguous_edit")
        log.warning("edit of %s is ambiguous (%s): looking it up", vcid, describe(err))
        await asyncio.sleep(self.lookup_grace)
        known, vo = await self.look_up(leg, vcid, self.max_attempts)
        if vo is not None and vo.price == price and vo.size == size:
            self.router.on_edited(vcid, price, size, now_ns(), vo.venue_order_id)
        else:
            why = "the venue does not show the edit" if known else "the venue did not answer"
            self.router.on_edit_rejected(vcid, "edit_failed", why, now_ns())


__all__ = ["POST_ONLY_WOULD_CROSS", "Requests"]
