"""Reconciliation: the router's open orders against the venue's, given-up orders that land
later, and positions.

* Every open order with no request running is looked up in the venue's list of
  open orders (by venue id, then by the attempt's client id, then the strategy's):
  listed, the venue's view is taken; not listed, the venue is asked about that
  order alone, and an order of unknown fate is settled (tracked, or given up).
* An attempt given up as absent after an ambiguous place may still land (a
  request stalled past the lookup). It is watched for ``GIVE_UP_WATCH_NS``; if it
  turns up open, it is cancelled: the strategy was told it is gone. Its fills, if
  any, count through user trades.
* An order the venue lists as open under one of our client ids, whose order the
  router has closed, is cancelled likewise.
* Positions follow from fills alone; the venue's own figure is the cross-check
  (a difference is logged, never taken over).

A problem with one order (a lookup that fails, a reply that does not parse) is
counted and logged, and the others are still reconciled.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from decimal import Decimal

from botkit.execution.link import VenueLink, now_ns
from botkit.execution.requests import Requests
from botkit.execution.retry import describe
from botkit.model import Order, OrderStatus
from botkit.risk.order import fmt
from botkit.venues.kit.types import VenueOrder

log = logging.getLogger("botkit.execution.reconcile")

S = OrderStatus
GIVE_UP_WATCH_NS = 300 * 1_000_000_000  # how long an attempt given up on is watched for
_LIVE = frozenset({S.OPEN, S.PARTIALLY_FILLED, S.UNKNOWN})


class Reconciler:
    """Settles every difference between the router's orders and the venue's."""

    def __init__(self, link: VenueLink, requests: Requests) -> None:
        self.link = link
        self.adapter = link.adapter
        self.router = link.router
        self.requests = requests
        self._buried: set[str] = set()  # venue ids of zombies already cancelled

    def _count(self, what: str) -> None:
        self.link.health.count(what)

    async def orders(self, min_age_ns: int = 0) -> dict[str, int]:
        """Reconcile open orders; ``min_age_ns`` skips orders that changed more recently
        (their news may still be on its way). Orders with a request running are skipped."""
        listed_at = now_ns()
        venue_open = await self.link.call(lambda: self.adapter.open_orders(None))
        by_vid = {vo.venue_order_id: vo for vo in venue_open}
        by_cid = {vo.client_id: vo for vo in venue_open if vo.client_id}
        checked = 0
        now = now_ns()
        for order in list(self.router.orders.values()):
            if not order.is_open or self.link.busy(order.client_id):
                continue
            if min_age_ns and now - order.updated_ns < min_age_ns:
                continue
            leg = self.router.venue_order(order)
            vcid = leg.venue_client_id
            vo = (
                (by_vid.get(leg.venue_order_id) if leg.venue_order_id else None)
                or by_cid.get(vcid)
                or by_cid.get(order.client_id)
            )
            before = dataclasses.replace(order)
            try:
                await self._one(order, leg, vcid, vo)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._count("reconcile_order_failed")
                log.warning("reconciliation of %s failed: %s", vcid, describe(err))
            finally:
                # No request task ran here to write what the venue's answer changed (an
                # IOC's rest cancelled by the venue, say): the journal must learn it too.
                if order != before:
                    self.link.journal_order(order)
            checked += 1
        await self._bury_given_up()
        strangers = await self._strangers(venue_open, listed_at)
        return {"checked": checked, "strangers": strangers}

    async def _one(self, order: Order, leg: Order, vcid: str, vo: VenueOrder | None) -> None:
        if self.link.busy(order.client_id) or not order.is_open:
            return  # a request started while we were asking about other orders
        if vo is not None:
            self.requests.apply(leg, vcid, vo)
            return
        known, found = await self.requests.refresh(leg, vcid)
        if self.link.busy(order.client_id) or not order.is_open:
            return
        if order.status in (S.PENDING_NEW, S.UNKNOWN) or leg.venue_order_id is None:
            await self.requests.settle(leg, vcid)
        elif found is not None and found.status in (S.OPEN, S.PARTIALLY_FILLED):
            self.requests.apply(leg, vcid, found)  # not listed yet, but there
        elif known and found is None:
            # Left open: a lookup can miss a live order, and a live order closed here
            # would be untracked. A cancel of it settles it (the venue refuses, and has
            # no such order).
            self._count("missing_at_venue")
            log.warning("order %s is open here but the venue does not find it", vcid)

    async def _bury_given_up(self) -> None:
        """Attempts rejected as absent may still land: cancel any that turn up open."""
        horizon = now_ns() - GIVE_UP_WATCH_NS
        for vcid, leg in list(self.requests.given_up.items()):
            known, vo = await self.requests.look_up(leg, vcid)
            if not known:
                continue
            if vo is None:
                if leg.updated_ns < horizon:
                    self.requests.given_up.pop(vcid, None)
                continue
            if self.requests.given_up.pop(vcid, None) is None:
                continue  # taken off the watch while we asked
            if vo.status in _LIVE:
                self._count("zombie_canceled")
                log.warning("order %s landed after it was given up: cancelling it", vcid)
                if not await self._cancel_zombie(leg, vo):
                    # Watched again: the next reconciliation looks it up and tries again.
                    self._buried.discard(vo.venue_order_id)
                    self.requests.given_up[vcid] = leg
                    continue
                closed = S.CANCELED
            else:
                closed = vo.status
            # The journal says what the venue says: it was there, and is closed now.
            self.router.on_found_closed(vcid, vo.venue_order_id, closed, now_ns())
            self.link.journal_order(leg)

    async def _strangers(self, venue_open: list[VenueOrder], listed_at: int) -> int:
        """Open orders at the venue that are not ours, or are ours but were closed here
        before the list was made (one closed since may just be listed late)."""
        strangers = 0
        for vo in venue_open:
            order = self.router.order_of(vo.client_id) if vo.client_id else None
            if order is None:
                order = self.router.order_of_venue_id(vo.venue_order_id)
            if order is None:
                strangers += 1
                log.warning("open order %s at the venue is not this bot's", vo.venue_order_id)
            elif (
                not order.is_open
                and order.updated_ns < listed_at
                and vo.status in _LIVE
                and vo.venue_order_id not in self._buried
            ):
                self._count("zombie_canceled")
                log.warning(
                    "order %s is open at the venue but %s here: cancelling it",
                    vo.venue_order_id,
                    order.status.value,
                )
                await self._cancel_zombie(self.router.venue_order(order), vo)
        return strangers

    async def _cancel_zombie(self, leg: Order, vo: VenueOrder) -> bool:
        """Cancel a venue order the router has closed; True when the venue confirmed it."""
        self._buried.add(vo.venue_order_id)  # once: a later list may still show it
        ghost = dataclasses.replace(leg, venue_order_id=vo.venue_order_id)
        try:
            await self.link.call(lambda: self.adapter.cancel(ghost))
        except asyncio.CancelledError:
            raise
        except Exception as err:
            self._count("zombie_cancel_failed")
            log.warning("cancel of %s failed: %s", vo.venue_order_id, describe(err))
            return False
        return True

    async def positions(self) -> int:
        """Compare the venue's positions with the journal's (the router's, from fills);
        returns how many symbols differ, each logged at warning level.

        Only compared, never taken over: a strategy's position is what its own fills
        made it. A venue that reports none (spot) has nothing to compare; a reply that
        cannot be read is logged and counted, and the reconciliation goes on.
        """
        read = getattr(self.adapter, "positions", None)
        if read is None:
            return 0
        try:
            venue_positions = await self.link.call(read)
            if not isinstance(venue_positions, Mapping):
                raise TypeError(f"a {type(venue_positions).__name__}, not a mapping of symbols")
            sizes = [(str(sym), Decimal(size)) for sym, size in venue_positions.items()]
        except asyncio.CancelledError:
            raise
        except Exception as err:
            self._count("position_read_failed")
            log.warning(
                "%s positions could not be read (%s); compared again next time",
                self.link.venue,
                describe(err),
            )
            return 0
        mismatched = 0
        for symbol, size in sizes:
            ours = self.router.account_position(symbol)
            if ours != size:
                mismatched += 1
                self._count("position_mismatch")
                log.warning(
                    "%s: the venue says position %s, the journal's fills say %s (fills "
                    "from before this journal, or still on their way); positions are "
                    "left as the fills make them",
                    symbol,
                    fmt(size),
                    fmt(ours),
                )
        return mismatched


__all__ = ["GIVE_UP_WATCH_NS", "Reconciler"]
