"""The book's per-row loop in C (botkit/_book.c) does exactly what its Python twin does.

Both are handed the same side (levels dict, heap of prices, best) and the same rows;
afterwards the dicts, the heaps (entry for entry, so heapq and the stale-entry sweep
read them alike) and the best prices are equal. The install builds the C loop;
``botkit.book.COMPILED`` says whether it did.
"""

from __future__ import annotations

from decimal import Decimal
from heapq import heapify
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import botkit.book
from botkit.book import _apply_side_py, _next_best

if botkit.book.COMPILED:
    from botkit._book import apply_side as c_apply_side
else:
    c_apply_side = None


class Level(NamedTuple):
    price: float
    size: float


def test_the_install_built_the_c_loop() -> None:
    assert botkit.book.COMPILED, (
        "botkit/_book.c did not build: install a C compiler and the Python headers "
        "(Debian: gcc python3-dev), then `pip install -e .` again"
    )


# Prices on a small grid so rows hit existing levels, the touch and gone levels often.
prices = st.integers(90, 110).map(float)
sizes = st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.5])
rows = st.lists(st.tuples(prices, sizes), max_size=30)


def _side(start: list[tuple[float, float]], is_bid: bool) -> tuple[dict, list, float | None]:
    levels = {p: s for p, s in start if s > 0}
    heap = [-p for p in levels] if is_bid else list(levels)
    heapify(heap)
    best = (max(levels) if is_bid else min(levels)) if levels else None
    return levels, heap, best


@settings(max_examples=300, deadline=None)
@given(start=rows, deltas=st.lists(rows, max_size=20), is_bid=st.booleans())
def test_c_and_python_leave_the_same_side(
    start: list[tuple[float, float]], deltas: list[list[tuple[float, float]]], is_bid: bool
) -> None:
    assert c_apply_side is not None
    py_levels, py_heap, py_best = _side(start, is_bid)
    c_levels, c_heap, c_best = _side(start, is_bid)
    for delta in deltas:
        py_best = _apply_side_py(py_levels, py_heap, delta, py_best, is_bid, _next_best)
        c_best = c_apply_side(c_levels, c_heap, delta, c_best, is_bid, _next_best)
        assert list(c_levels.items()) == list(py_levels.items())
        assert c_heap == py_heap
        assert c_best == py_best
        assert c_best == ((max(c_levels) if is_bid else min(c_levels)) if c_levels else None)


def test_rows_that_are_not_floats_compare_as_python_compares_them() -> None:
    """A feed that hands ints or Decimals gets the same book as with floats."""
    assert c_apply_side is not None
    rows = [(100, 1), (Decimal("101.5"), Decimal("2")), (99.0, 0), (101.5, 0.0), (102, 3)]
    c_levels: dict = {}
    c_heap: list = []
    py_levels: dict = {}
    py_heap: list = []
    c_best = c_apply_side(c_levels, c_heap, rows, None, True, _next_best)
    py_best = _apply_side_py(py_levels, py_heap, rows, None, True, _next_best)
    assert (c_levels, c_heap, c_best) == (py_levels, py_heap, py_best)
    assert c_best == 102 and c_levels == {100: 1, 102: 3}


@pytest.mark.parametrize("is_bid", [True, False])
def test_nan_inf_and_signed_zero_are_handled_as_python_handles_them(is_bid: bool) -> None:
    """A NaN size removes (it is not > 0), -0.0 is the key 0.0, infinities order."""
    assert c_apply_side is not None
    nan, inf = float("nan"), float("inf")
    deltas = [
        [(0.0, 1.0), (1.0, 2.0), (inf, 1.0), (-inf, 1.0)],
        [(-0.0, 3.0), (1.0, nan), (inf, 0.0)],
        [(-inf, 0.0), (0.0, 0.0), (2.0, 1.0)],
    ]
    c_side, py_side = _side([], is_bid), _side([], is_bid)
    for delta in deltas:
        c_best = c_apply_side(c_side[0], c_side[1], delta, c_side[2], is_bid, _next_best)
        py_best = _apply_side_py(py_side[0], py_side[1], delta, py_side[2], is_bid, _next_best)
        c_side, py_side = (c_side[0], c_side[1], c_best), (py_side[0], py_side[1], py_best)
        assert list(c_side[0].items()) == list(py_side[0].items())
        assert c_side[1] == py_side[1] and c_best == py_best
    assert c_side[0] == {2.0: 1.0} and c_side[2] == 2.0


def test_pairs_of_any_sequence_type_are_rows() -> None:
    assert c_apply_side is not None
    levels: dict = {}
    best = c_apply_side(levels, [], [[1.0, 2.0], Level(3.0, 4.0)], None, False, _next_best)
    assert best == 1.0 and levels == {1.0: 2.0, 3.0: 4.0}


@pytest.mark.parametrize("bad", [[(1.0,)], [(1.0, 2.0, 3.0)], [[1.0, 2.0, 3.0]], [1.0], ["abc"]])
def test_a_malformed_row_is_refused_and_leaves_earlier_rows_applied(bad: list) -> None:
    assert c_apply_side is not None
    levels: dict = {}
    heap: list = []
    with pytest.raises(ValueError, match="book level 1 must be a \\(price, size\\) pair"):
        c_apply_side(levels, heap, [(5.0, 1.0), *bad], None, False, _next_best)
    assert levels == {5.0: 1.0} and heap == [5.0]


def test_wrong_containers_are_refused() -> None:
    assert c_apply_side is not None
    with pytest.raises(TypeError, match="levels must be a dict and heap a list"):
        c_apply_side([], [], [], None, True, _next_best)
    with pytest.raises(TypeError, match="takes 6 arguments"):
        c_apply_side({}, [], [])
