"""Fresh at send time: a post-only price checked again just before it leaves.

An order can wait between the strategy's decision and the moment it is sent:
in the rate limiter's queue, in a retry's backoff, behind the request in flight
for the same order. The book moves meanwhile, so a post-only price that was
inside the spread when the risk module checked it may cross by the time it
goes (a BlockTrade or ALP post-only order is sent as a plain limit, which would
then take liquidity). The live gateway asks a ``Recheck`` just before each
place or edit with a price leaves:

- ``None``: send it as it is;
- a ``Decimal``: send this price instead (slid inside the touch);
- ``DROP``: do not send it (the strategy hears ``post_only_would_cross``).

``PostOnlyRecheck`` applies the risk module's ``post_only`` policy (``slide``
or ``reject``) against the freshest local book, and logs at debug how old that
book was (``OrderBook.received_ns``, stamped by the live feed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Final, Protocol

from botkit.book import OrderBook
from botkit.model import Instrument, Order, Side

log = logging.getLogger("botkit.execution.freshness")


class _Drop:
    """Do not send: the order would cross."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DROP"


DROP: Final = _Drop()
Verdict = Decimal | None | _Drop


class Recheck(Protocol):
    def __call__(self, order: Order, price: Decimal) -> Verdict:
        """The verdict on sending ``order`` at ``price`` now."""
        ...


def send_as_is(order: Order, price: Decimal) -> Verdict:
    """The recheck of a gateway given none: everything goes as decided."""
    return None


class PostOnlyRecheck:
    """Re-applies the post-only policy against the current book, just before sending."""

    def __init__(
        self,
        policy: str,
        instruments: Mapping[str, Instrument],
        books: Mapping[str, OrderBook],
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        if policy not in ("slide", "reject"):
            raise ValueError(f"post-only policy must be 'slide' or 'reject', got {policy!r}")
        self.slide = policy == "slide"
        self.instruments = instruments
        self.books = books
        self.clock = clock

    def __call__(self, order: Order, price: Decimal) -> Verdict:
        if not order.post_only:
            return None
        book = self.books.get(order.symbol)
        inst = self.instruments.get(order.symbol)
        if book is None or inst is None:
            return None
        buy = order.side is Side.BUY
        touch = book.best_ask if buy else book.best_bid
        received = book.received_ns
        age_ms = (self.clock() - received) / 1e6 if received else float("nan")
        log.debug(
            "post-only %s %s at %s: %s %s from a book %.1f ms old",
            order.venue_client_id,
            order.side.value,
            price,
            "ask" if buy else "bid",
            touch,
            age_ms,
        )
        if touch is None or not touch > 0:
            return None  # no side to cross: the venue enforces post-only anyway
        far = Decimal(repr(touch))
        if (price < far) if buy else (price > far):
            return None
        if not self.slide:
            return DROP
        # One grid step inside the touch: the highest price strictly below the ask for
        # a buy, the lowest strictly above the bid for a sell (the risk module's slide,
        # against the book as it is now).
        tick = inst.tick_size
        steps, rest = divmod(far, tick)
        slid = (steps - (0 if rest else 1)) * tick if buy else (steps + 1) * tick
        return slid if slid > 0 else DROP


__all__ = ["DROP", "PostOnlyRecheck", "Recheck", "Verdict", "send_as_is"]
