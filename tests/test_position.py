"""Position accounting: average entry and realised PnL, one fill at a time."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from botkit.model import Position, Side

D = Decimal
SYM = "BTC/USDT"


def reference(fills: list[tuple[Side, Decimal, Decimal]]) -> tuple[Decimal, Decimal, Decimal]:
    """Average-cost accounting written the slow, obvious way: (size, avg entry, realised)."""
    size, avg, realised = D(0), D(0), D(0)
    for side, price, qty in fills:
        signed = qty if side is Side.BUY else -qty
        if size == 0 or (size > 0) == (signed > 0):
            avg = (avg * abs(size) + price * qty) / abs(size + signed) if size else price
            size += signed
            continue
        closed = min(abs(size), qty)
        realised += (price - avg) * closed * (1 if size > 0 else -1)
        size += signed
        if size == 0:
            avg = D(0)
        elif (size > 0) != (size - signed > 0):
            avg = price  # flipped: what is left opened at this price
    return size, avg, realised


fills = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 10**7).map(lambda c: D(c) / 100),
        st.integers(1, 10**4).map(lambda lots: D(lots) / 1000),
    ),
    max_size=30,
)


@given(fills)
def test_position_follows_average_cost_accounting(seq: list[tuple[Side, Decimal, Decimal]]) -> None:
    pos = Position(SYM)
    for side, price, qty in seq:
        pos = pos.apply(side, price, qty)
    assert (pos.size, pos.avg_price, pos.realized_pnl) == reference(seq)
    assert type(pos) is Position and pos.symbol == SYM


def test_a_round_trip_and_a_flip() -> None:
    pos = Position(SYM).apply(Side.BUY, D(100), D(2)).apply(Side.BUY, D(110), D(2))
    assert pos == Position(SYM, D(4), D(105), D(0))
    pos = pos.apply(Side.SELL, D(120), D(5))  # closes 4 at +15 each, opens 1 short at 120
    assert pos == Position(SYM, D(-1), D(120), D(60))
    assert pos.apply(Side.BUY, D(100), D(1)) == Position(SYM, D(0), D(0), D(80))
