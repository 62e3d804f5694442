"""The book's touch, kept incrementally (a heap of prices), always equals the best level,
and deltas of many levels (applied in bulk) leave the same book as one level at a time,
with the per-row loop in C (botkit/_book.c) and in Python alike."""

from __future__ import annotations

import random

import pytest

import botkit.book
from botkit.book import OrderBook
from botkit.events import BookDelta, BookSnapshot


def _one_by_one(book: dict[float, float], levels: list[tuple[float, float]]) -> None:
    for p, s in levels:
        if s > 0:
            book[p] = s
        else:
            book.pop(p, None)


@pytest.fixture(params=["c", "python"])
def row_loop(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "python":
        monkeypatch.setattr(botkit.book, "_apply_side", botkit.book._apply_side_py)
    return str(request.param)


@pytest.mark.parametrize("width", [3, 40])
def test_touch_and_levels_follow_random_deltas(width: int, row_loop: str) -> None:
    rng = random.Random(width)
    book = OrderBook("X")
    book.apply_snapshot(
        BookSnapshot(
            0, "X", [(100.0 - i, 1.0) for i in range(5)], [(101.0 + i, 1.0) for i in range(5)]
        )
    )
    bids, asks = dict(book.bids), dict(book.asks)
    for t in range(1, 5_000):
        # Prices repeat within a delta (the last entry decides), sizes are often 0.
        n_b, n_a = rng.randint(0, width), rng.randint(0, width)
        d_bids = [
            (float(rng.randint(60, 100)), rng.choice([0.0, 0.0, 1.0, 2.5])) for _ in range(n_b)
        ]
        d_asks = [
            (float(rng.randint(101, 141)), rng.choice([0.0, 0.0, 1.0, 2.5])) for _ in range(n_a)
        ]
        book.apply_delta(BookDelta(t, "X", d_bids, d_asks))
        _one_by_one(bids, d_bids)
        _one_by_one(asks, d_asks)
        assert book.bids == bids and book.asks == asks
        assert book.best_bid == (max(bids) if bids else None)
        assert book.best_ask == (min(asks) if asks else None)
        if t % 1000 == 0:
            book.apply_snapshot(BookSnapshot(t, "X", [(90.0, 1.0)], [(111.0, 1.0)]))
            bids, asks = {90.0: 1.0}, {111.0: 1.0}
            assert (book.best_bid, book.best_ask) == (90.0, 111.0)
