"""The journal against the venue's own record, field by field (issue 8's end check).

``assert_journal_is_the_venue(journal, exchange, ...)`` after a live run with
everything cancelled and the fills caught up:

* every fill the journal holds is one of the venue's executions — the venue
  order it was on, side, price, size, fee and fee asset, maker or taker (where
  the venue says) and the time to the millisecond — and every execution is in
  the journal, once;
* nothing is open at the venue, nothing is open in the journal;
* every venue order that traded belongs to one journal order (by the venue
  client id the router sent, ``<client id>`` or ``<client id>-r<n>``, or, on a
  venue that takes no client id, by the venue order ids of the journal's fills
  and orders); the journal order's filled size is the sum of those orders';
* each journal order's last placement, when the venue holds it, has the
  journal's venue order id, side, type and limit price, and the journal's final
  status is the venue's: FILLED when fully filled, REJECTED when the venue
  refused it, else CANCELED; a last placement the venue never held left the
  order with no venue order id, CANCELED when an earlier placement was live,
  else REJECTED.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from botkit.journal import Journal
from botkit.model import Fill, Order, OrderStatus, OrderType
from botkit.simulator.backend import ExchangeBackend

S = OrderStatus
ZERO = Decimal(0)


def same_id(venue_order_id: str | None) -> str | None:
    return venue_order_id


def attempt_of(venue_client_id: str) -> tuple[str, int]:
    """``q5-r3`` -> (``q5``, 3): the order, and which of its placements a venue client id is."""
    base, sep, n = venue_client_id.rpartition("-r")
    return (base, int(n)) if sep and n.isdigit() else (venue_client_id, 1)


def fill_record(
    f: Fill, owner: str | None, order_id: str | None, symbol: str, liquidity: bool
) -> tuple[Any, ...]:
    return (
        owner,
        order_id,
        symbol,
        f.side,
        f.price,
        f.size,
        f.fee,
        f.fee_asset,
        f.liquidity if liquidity else None,
        f.ts_ns // 1_000_000,
    )


def assert_journal_is_the_venue(
    journal: Journal,
    exchange: ExchangeBackend,
    *,
    wire_id: Callable[[str | None], str | None] = same_id,
    symbol_of: Callable[[str], str] = str,
    client_ids: bool = True,
    says_liquidity: bool = True,
) -> None:
    """``wire_id`` turns the simulator's venue order id into the one on the wire (the
    journal's), ``symbol_of`` the simulator's symbol into ours; ``client_ids`` is False
    for a venue that takes no client order id."""
    assert exchange.open_orders() == [], "orders left open at the venue"
    assert journal.orders(open_only=True) == [], "orders left open in the journal"

    fills = journal.fills()
    assert len({f.trade_id for f in fills}) == len(fills), "a trade id counted twice"

    # Whose each execution is: the venue's trade names the placement's client id,
    # the journal's fill the strategy's order (on a venue without client ids, the
    # venue order ids below tie them).
    def venue_owner(f: Fill) -> str | None:
        return attempt_of(f.client_id)[0] if client_ids else None

    def journal_owner(f: Fill) -> str | None:
        return f.client_id if client_ids else None

    assert Counter(
        fill_record(f, journal_owner(f), f.venue_order_id, f.symbol, says_liquidity) for f in fills
    ) == Counter(
        fill_record(
            f, venue_owner(f), wire_id(f.venue_order_id), symbol_of(f.symbol), says_liquidity
        )
        for f in exchange.trades
    ), "the journal's fills are not the venue's executions"

    orders = {o.client_id: o for o in journal.orders()}
    owner: dict[str, str] = {}  # wire venue order id -> journal client id
    for f in fills:
        if f.venue_order_id is not None:
            assert owner.setdefault(f.venue_order_id, f.client_id) == f.client_id, f
    for o in orders.values():
        if o.venue_order_id is not None:
            assert owner.setdefault(o.venue_order_id, o.client_id) == o.client_id, o

    placements: dict[str, list[Order]] = {cid: [] for cid in orders}
    for coid, at_venue in exchange.by_client.items():
        vid = wire_id(at_venue.venue_order_id)
        base = attempt_of(coid)[0] if client_ids else owner.get(vid or "")
        if base is None:
            # Only a venue without client ids has placements the journal cannot name:
            # an edit's earlier placement that never traded.
            assert not client_ids and at_venue.filled == ZERO, at_venue
            continue
        assert base in orders, f"venue order {coid} is no journal order's"
        if vid is not None and vid in owner:
            assert owner[vid] == base, (coid, vid, owner[vid])
        placements[base].append(at_venue)
        if client_ids:  # no placement the journal does not know of
            assert attempt_of(coid)[1] <= orders[base].attempt, (coid, orders[base])

    for cid, order in orders.items():
        mine = placements[cid]
        assert order.filled == sum((o.filled for o in mine), ZERO), (order, mine)
        assert order.filled == sum((f.size for f in fills if f.client_id == cid), ZERO), order
        last = next(
            (
                o
                for o in mine
                if order.venue_order_id is not None
                and wire_id(o.venue_order_id) == order.venue_order_id
            ),
            None,
        )
        if last is None:
            # Its last placement never reached the venue (refused before it, or proved
            # absent after a lost response): nothing of it is live, nothing points at it.
            # An order some placement of which was live (a cancel-and-replace whose
            # replacement never landed) ends CANCELED, one never live REJECTED; a venue
            # without client ids may hold earlier placements the journal cannot name.
            assert order.venue_order_id is None, order
            if mine or order.filled or order.attempt > 1:
                assert order.status is S.CANCELED, order
            elif client_ids:
                assert order.status is S.REJECTED, order
            else:
                assert order.status in (S.CANCELED, S.REJECTED), order
            continue
        if client_ids:
            assert last.client_id == order.venue_client_id, (order, last)
        assert (order.symbol, order.side, order.type) == (
            symbol_of(last.symbol),
            last.side,
            last.type,
        ), (order, last)
        if order.type is not OrderType.MARKET:
            assert order.price == last.price, (order, last)
        if last.status is S.FILLED or order.filled >= order.size:
            expected = S.FILLED
        elif last.status is S.REJECTED:
            expected = S.REJECTED
        else:  # cancelled by us, or an IOC's rest cancelled by the venue
            expected = S.CANCELED
        assert order.status is expected, (order, [(o.status, o.filled) for o in mine])
