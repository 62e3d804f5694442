"""What the ALP adapter remembers about venue orders, to find them and attribute trades.

The seed's v3 records name no order by client id (the order list does not echo
``client_order_id``) and its account trades name no order at all, so the adapter
keeps a record (``Track``) of every order it sent or saw listed: what was sent,
when, the venue's id once known, the trades attributed to it, and when it
closed. That record is ALP's own (attribution by fields needs it); the tie of a
client id to a venue order id is the kit's ``IdMemory``, the adapter's
``ids``, which ``Memory`` keeps up to date whenever a record learns both.

Everything here is bounded, oldest first: records and the ``IdMemory`` at its
own limit, trade attributions at five times it (an order has a few trades),
the client ids whose place never left this process and the trades known to be
nobody's at the limit.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from botkit.model import ZERO, OrderType, Side, TimeInForce
from botkit.venues.kit.ids import IdMemory

__all__ = ["Memory", "Track"]

log = logging.getLogger("botkit.venues.alp")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class Track:
    """One venue order as this adapter knows it (``vid`` None until the venue names it).

    ``coid`` is the client id it was sent with (``Order.venue_client_id``), or the
    venue's echo of it. ``created_ns`` is when we sent it (or, for an order first
    seen in a listing, its venue creation time); ``venue_created_ns`` and
    ``venue_done_ns`` are the venue's own times from a listing, when read.
    """

    vid: str | None
    coid: str | None
    pair: str
    side: Side
    type: OrderType | None
    price: Decimal | None
    size: Decimal
    created_ns: int
    tif: TimeInForce | None = None
    stop_price: Decimal | None = None
    seen: Decimal = ZERO  # the trade amounts attributed to it so far
    closed_ns: int | None = None  # when it was learnt closed (no trades after it)
    inflight: bool = False  # its place request is out and unanswered
    venue_created_ns: int | None = None
    venue_done_ns: int | None = None
    key: int = field(default=0, compare=False)

    @property
    def live(self) -> bool:
        return self.closed_ns is None

    def same_book_slot(
        self, pair: str, side: Side, price: Decimal | None, stop: Decimal | None
    ) -> bool:
        """Same pair, side, limit price and stop price: fills could not be told apart."""
        return (
            self.pair == pair
            and self.side is side
            and self.price == price
            and self.stop_price == stop
        )


def _put(table: OrderedDict[K, V], key: K, value: V, limit: int) -> None:
    """Insert or refresh ``key``, dropping the oldest entries beyond ``limit``."""
    table[key] = value
    table.move_to_end(key)
    while len(table) > limit:
        table.popitem(last=False)


class Memory:
    """The adapter's order records, their ids and trade attributions (see the module notes)."""

    def __init__(self, ids: IdMemory) -> None:
        self.ids = ids
        self.limit = ids.limit
        self._tracks: OrderedDict[int, Track] = OrderedDict()
        self._by_vid: dict[str, Track] = {}
        self._owner: OrderedDict[str, Track] = OrderedDict()  # trade id -> its order
        self._unsent: OrderedDict[str, None] = OrderedDict()  # coids never sent
        self._orphans: OrderedDict[str, None] = OrderedDict()  # trades that are nobody's
        self._next = 0

    # ----- records -----------------------------------------------------------------------

    def add(self, track: Track) -> Track:
        self._next += 1
        track.key = self._next
        self._tracks[track.key] = track
        if track.vid is not None:
            self._by_vid[track.vid] = track
            self._tie(track)
        while len(self._tracks) > self.limit:
            _, old = self._tracks.popitem(last=False)
            if old.vid is not None and self._by_vid.get(old.vid) is old:
                del self._by_vid[old.vid]
        return track

    def forget(self, track: Track) -> None:
        self._tracks.pop(track.key, None)
        if track.vid is not None and self._by_vid.get(track.vid) is track:
            del self._by_vid[track.vid]

    def bind(self, track: Track, vid: str) -> None:
        """The venue named ``track``'s order ``vid``."""
        other = self._by_vid.get(vid)
        if other is not None and other is not track:
            # The same venue order seen twice (a listing, then a lookup): keep one record.
            track.seen = max(track.seen, other.seen)
            track.coid = track.coid or other.coid
            track.venue_created_ns = track.venue_created_ns or other.venue_created_ns
            track.venue_done_ns = track.venue_done_ns or other.venue_done_ns
            self.forget(other)
        track.vid = vid
        self._by_vid[vid] = track
        self._tie(track)

    def name(self, track: Track, coid: str | None) -> None:
        """``track``'s order is ``coid``'s (the venue echoed it, or a lookup for it found it)."""
        if coid and coid != track.coid:
            track.coid = coid
            self._tie(track)

    def _tie(self, track: Track) -> None:
        if track.vid is not None and track.coid and not self.ids.remember(track.coid, track.vid):
            log.warning("alp order %s of %s is claimed by another client id", track.vid, track.coid)

    def by_vid(self, vid: str) -> Track | None:
        return self._by_vid.get(vid)

    def for_coid(self, coid: str) -> list[Track]:
        return [t for t in self._tracks.values() if t.coid == coid]

    def tracks(self) -> Iterable[Track]:
        return self._tracks.values()

    # ----- trades ------------------------------------------------------------------------

    def owner(self, trade_id: str) -> Track | None:
        return self._owner.get(trade_id)

    def own(self, trade_id: str, track: Track) -> None:
        _put(self._owner, trade_id, track, self.limit * 5)

    def orphan(self, trade_id: str) -> None:
        """The trade matched no order even with the venue's order list read: nobody's."""
        _put(self._orphans, trade_id, None, self.limit)

    def settled(self, trade_id: str) -> bool:
        """Whether the trade was attributed already (to an order, or to nobody)."""
        return trade_id in self._owner or trade_id in self._orphans

    # ----- places that never left ----------------------------------------------------------

    def not_sent(self, coid: str) -> None:
        _put(self._unsent, coid, None, self.limit)

    def never_sent(self, coid: str) -> bool:
        return coid in self._unsent
