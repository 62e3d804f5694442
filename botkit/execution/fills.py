"""The fills pipeline: the user-trades stream, REST catch-up, the cursor, dedupe.

Fills come from the venue's user-trades stream where it has one, with REST
polling from the last cursor as catch-up on start, after every reconnect and as
a slow safety net. A trade id is counted once: the router dedupes in memory
(and knows every fill the journal holds after a restart), and the journal's
unique key holds across restarts. A new fill is applied by the router first,
then written to the journal together with its order's new state in one
transaction, before the stream cursor moves past it and before any strategy
hears of it (the engine delivers updates only after this returns).

Fill tracking never stops silently. Whatever a venue sends, a row that is not a
well-formed fill (a wrong type, a missing id, a price or size that is not a
finite number above zero, a time far in the future that would push the cursor
past real fills) is logged with the venue, the path and the field, counted in
the run's health (``bad_fill``), and skipped; an error raised while reading a
page or a message (``ParseError``, ``decimal.InvalidOperation``,
``RecursionError`` from hostile nesting, anything) is counted and logged the
same way, and the poll or the stream goes on by itself after a backoff. The
next good fill is still counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from botkit.execution.link import VenueLink, now_ns
from botkit.execution.retry import TRANSIENT, Backoff, describe
from botkit.model import Fill, Liquidity, Side
from botkit.venues.kit.errors import ParseError, VenueError

log = logging.getLogger("botkit.execution.fills")

# The gateway's sweep: catch up with REST and, when anything is open, reconcile orders
# quiet for at least the given ns.
Sweep = Callable[[int], Awaitable[Any]]

FUTURE_SLACK_NS = 24 * 3600 * 1_000_000_000  # a fill stamped later than now + this is bogus
MAGNITUDE = 30  # decimal exponents beyond +-this are not prices, sizes or fees


def _absurd(v: Decimal) -> bool:
    """Beyond any real price, size or fee (and beyond what arithmetic on it can bear)."""
    return not -MAGNITUDE <= v.adjusted() <= MAGNITUDE


def bad_field(item: object, now: int) -> str | None:
    """The first field that makes ``item`` unusable as a fill, or None when it is sound."""
    if not isinstance(item, Fill):
        return f"<row> ({type(item).__name__}, not a fill)"
    if not isinstance(item.trade_id, str) or not item.trade_id:
        return "trade_id"
    if not isinstance(item.client_id, str):
        return "client_id"
    if not isinstance(item.symbol, str) or not item.symbol:
        return "symbol"
    if not isinstance(item.side, Side):
        return "side"
    for name in ("price", "size"):
        v = getattr(item, name)
        if not isinstance(v, Decimal) or not v.is_finite() or v <= 0 or _absurd(v):
            return name
    fee = item.fee
    if not isinstance(fee, Decimal) or not fee.is_finite() or (fee and _absurd(fee)):
        return "fee"
    if not isinstance(item.fee_asset, str):
        return "fee_asset"
    if not isinstance(item.liquidity, Liquidity):
        return "liquidity"
    ts = item.ts_ns
    if isinstance(ts, bool) or not isinstance(ts, int) or ts <= 0 or ts > now + FUTURE_SLACK_NS:
        return "ts_ns"
    if item.venue_order_id is not None and not isinstance(item.venue_order_id, str):
        return "venue_order_id"
    if not isinstance(item.strategy, str):
        return "strategy"
    return None


class FillTracker:
    """Counts every fill once, from whichever path it comes, and keeps the cursor."""

    def __init__(
        self,
        link: VenueLink,
        *,
        poll_interval_s: float = 5.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.link = link
        self.adapter = link.adapter
        self.router = link.router
        self.journal = link.journal
        self.poll_interval = poll_interval_s
        self.backoff = backoff or Backoff()
        self.cursor_key = f"{link.venue}:user_trades"
        self.cursor: int | None = None
        if self.journal is not None:
            stored = self.journal.cursor(self.cursor_key)
            self.cursor = int(stored) if stored is not None else None

    def _count(self, what: str) -> None:
        self.link.health.count(what)

    def _unreadable(self, where: str, err: BaseException) -> None:
        """A page or message that could not be read at all: counted, logged, skipped."""
        self._count("parse_error" if isinstance(err, ParseError) else "fill_read_failed")
        log.warning("%s %s: %s; skipped", self.link.venue, where, describe(err))

    # ----- one fill --------------------------------------------------------------------------

    def deliver(self, item: object, where: str = "fills") -> bool:
        """One execution from any path; True when it was new. Never raises."""
        field = bad_field(item, now_ns())
        if field is not None:
            self._count("bad_fill")
            log.warning(
                "%s %s: a fill with an unusable %s skipped: %.300r",
                self.link.venue,
                where,
                field,
                item,
            )
            return False
        fill: Fill = item  # type: ignore[assignment]
        try:
            return self._apply(fill)
        except Exception:
            # A bug of ours, not the venue's: loud, counted, and the pipeline goes on.
            self._count("fill_failed")
            log.exception("%s %s: fill %s could not be applied", self.link.venue, where, fill)
            return False

    def _apply(self, fill: Fill) -> bool:
        if not self.router.on_fill(fill):
            self._count("duplicate_fill")
            return False
        order = self.router.order_of_fill(fill)
        if self.journal is not None:
            if order is not None:
                owned = fill._replace(client_id=order.client_id, strategy=order.strategy)
                self.journal.record_fill_and_order(owned, order)
            else:
                self.journal.record_fill(fill)  # its order is not known yet
        if self.cursor is None or fill.ts_ns > self.cursor:
            self.cursor = fill.ts_ns
            if self.journal is not None:
                self.journal.set_cursor(self.cursor_key, fill.ts_ns)
        return True

    # ----- REST ------------------------------------------------------------------------------

    async def catch_up(self) -> int:
        """REST user trades from the cursor on; the boundary repeats and dedupe drops it.

        An error reading the page propagates (the caller's loop counts it and
        tries again later); bad rows inside a page are skipped one by one.
        """
        since = self.cursor
        page = await self.link.call(lambda: self.adapter.user_trades(since))
        if not isinstance(page, list | tuple):
            self._unreadable("REST user_trades", TypeError(f"a {type(page).__name__}, not a list"))
            return 0
        good = []
        now = now_ns()
        for item in page:
            if bad_field(item, now) is None:
                good.append(item)
            else:
                self.deliver(item, "REST user_trades")  # counted and logged there
        good.sort(key=lambda f: (f.ts_ns, f.trade_id))
        return sum(self.deliver(f, "REST user_trades") for f in good)

    # ----- the loops -------------------------------------------------------------------------

    def start(self, sweep: Sweep, resync: Sweep | None = None) -> None:
        """Start the REST poll, and the stream where the venue has one.

        ``sweep`` runs every poll; ``resync`` (default: ``sweep``) after each
        reconnect of the stream.
        """
        self.link.supervise("fill poll", lambda: self._poll(sweep))
        if self.adapter.has_user_trade_stream:
            self.link.supervise("user-trades stream", lambda: self._stream(resync or sweep))

    async def _poll(self, sweep: Sweep) -> None:
        failures = 0
        quiet_ns = int(self.poll_interval * 1e9)
        while True:
            try:
                # Catch up, and ask about orders that have been quiet: one can close at
                # the venue with no message to us (an IOC remainder expiring, a cancel by
                # the venue).
                await sweep(quiet_ns)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._count("poll_failed")
                if not isinstance(err, (VenueError, *TRANSIENT)):
                    self._unreadable("REST poll", err)
                else:
                    log.info("%s fill poll failed: %s", self.link.venue, describe(err))
                await self.backoff.pause(min(failures, 5), err)
                failures += 1
                continue
            await asyncio.sleep(self.poll_interval)

    async def _stream(self, sweep: Sweep) -> None:
        failures = 0
        quiet_ns = int(self.poll_interval * 1e9)
        while True:
            try:
                stream = self.adapter.user_trade_stream(self.cursor)
                if stream is None:
                    return
                async for item in stream:
                    if self.deliver(item, "user-trades stream"):
                        failures = 0
                self._count("stream_ended")
            except asyncio.CancelledError:
                raise
            except (VenueError, *TRANSIENT) as err:
                self._count("stream_dropped")
                log.info("user-trades stream dropped (%s); resuming from the cursor", err)
            except Exception as err:
                self._count("stream_dropped")
                self._unreadable("user-trades stream", err)
            # After every reconnect: what did we miss?
            try:
                await sweep(quiet_ns)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._count("reconcile_failed")
                log.warning("%s catch-up after a reconnect failed: %s", self.link.venue, err)
            await self.backoff.pause(min(failures, 5))
            failures += 1


__all__ = ["FUTURE_SLACK_NS", "FillTracker", "bad_field"]
