"""What an adapter remembers of its orders: client id <-> venue order id.

The router knows an order by its client id; a venue answers with its own order
id, and its fills often carry only that. :class:`IdMemory` is the one map an
adapter keeps between the two, both ways, bounded (the oldest pairs are
forgotten first), so a long run cannot grow it without end.

What a venue adapter does with it:

* ``remember(client_id, venue_order_id)`` when a place is acknowledged, when a
  lookup or a listing names an order, i.e. whenever the venue ties the two;
* ``client_id(venue_order_id)`` to give a fill or a listed order our id;
* ``venue_id(client_id)`` to cancel or look up an order whose acknowledgement
  the caller has not seen yet;
* ``claimed(venue_order_id, by_other_than=client_id)`` when matching a venue's
  order to ours by its fields (venues without client ids): an order already
  tied to another client id is not a candidate;
* ``mark_unowned(venue_order_id)`` when the venue says an order is nobody's we
  know (it stays unclaimed, and ``known`` stops the adapter from asking again).

A client id here is whatever id the venue holds for the order — for venues that
take client ids, the attempt's own (``Order.venue_client_id``); each attempt of
a cancel-and-replace is its own pair.
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["IdMemory"]


class IdMemory:
    """A bounded two-way map of client id <-> venue order id (one venue id per client id).

    A venue id is claimed by one client id at most: the first to claim it keeps
    it (``remember`` answers False for a clash, and the clash is left for the
    caller to report). A client id that is remembered again with a new venue id
    (a re-placed attempt of a venue without client ids) moves to it; its old
    venue id stays claimed by it, so no other order can take it.
    """

    __slots__ = ("_by_client", "_by_venue", "limit")

    def __init__(self, limit: int = 50_000) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        self.limit = limit
        self._by_venue: OrderedDict[str, str | None] = OrderedDict()  # None: nobody's we know
        self._by_client: dict[str, str] = {}

    def remember(self, client_id: str, venue_order_id: str) -> bool:
        """Tie the two ids; False (and nothing changed) if the venue id is another's."""
        owner = self._by_venue.get(venue_order_id)
        if owner is not None and owner != client_id:
            return False
        self._by_venue[venue_order_id] = client_id
        self._by_venue.move_to_end(venue_order_id)
        self._by_client[client_id] = venue_order_id
        self._trim()
        return True

    def mark_unowned(self, venue_order_id: str) -> None:
        """The venue order is known to belong to no client id of ours."""
        if venue_order_id not in self._by_venue:
            self._by_venue[venue_order_id] = None
            self._trim()

    def client_id(self, venue_order_id: str) -> str | None:
        return self._by_venue.get(venue_order_id)

    def venue_id(self, client_id: str) -> str | None:
        return self._by_client.get(client_id)

    def known(self, venue_order_id: str) -> bool:
        """True once the venue id was remembered or marked unowned."""
        return venue_order_id in self._by_venue

    def claimed(self, venue_order_id: str, by_other_than: str | None = None) -> bool:
        """True when a client id (other than ``by_other_than``) holds the venue id."""
        owner = self._by_venue.get(venue_order_id)
        return owner is not None and owner != by_other_than

    def __len__(self) -> int:
        return len(self._by_venue)

    def _trim(self) -> None:
        while len(self._by_venue) > self.limit:
            venue_id, owner = self._by_venue.popitem(last=False)
            if owner is not None and self._by_client.get(owner) == venue_id:
                del self._by_client[owner]
