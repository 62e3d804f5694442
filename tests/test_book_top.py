"""The book's touch, kept incrementally (a heap of prices), always equals the best level."""

from __future__ import annotations

import random

from botkit.book import OrderBook
from botkit.events import BookDelta, BookSnapshot


def test_touch_follows_random_deltas_that_remove_and_readd_levels() -> None:
    rng = random.Random(7)
    book = OrderBook("X")
    book.apply_snapshot(
        BookSnapshot(
            0, "X", [(100.0 - i, 1.0) for i in range(5)], [(101.0 + i, 1.0) for i in range(5)]
        )
    )
    for t in range(1, 20_000):
        bids = [(float(rng.randint(80, 100)), rng.choice([0.0, 0.0, 1.0, 2.5])) for _ in range(3)]
        asks = [(float(rng.randint(101, 121)), rng.choice([0.0, 0.0, 1.0, 2.5])) for _ in range(3)]
        book.apply_delta(BookDelta(t, "X", bids, asks))
        assert book.best_bid == (max(book.bids) if book.bids else None)
        assert book.best_ask == (min(book.asks) if book.asks else None)
        if t % 5000 == 0:
            book.apply_snapshot(BookSnapshot(t, "X", [(90.0, 1.0)], [(111.0, 1.0)]))
            assert (book.best_bid, book.best_ask) == (90.0, 111.0)
