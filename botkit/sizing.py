"""Order sizes from an instrument's minimums, for strategies that size themselves.

The risk module rejects an order below the instrument's lot, minimum size or
minimum order value (``size_below_lot``, ``below_min_size``,
``below_min_notional``). A strategy with a fixed size in the base asset meets
those on one venue and is rejected on every order on another (a futures venue
whose minimum order value is 100 USDT); these helpers let it ask what the
instrument accepts at the current price instead.

On a spot instrument an order must also be paid for: ``order_lock`` says what a
limit order locks (the rule of ``botkit.account``), so a strategy can hold back
an order the free balance cannot cover instead of sending it to be refused
``insufficient_balance`` again and again.
"""

from __future__ import annotations

from decimal import Decimal

from botkit.account import is_spot, lock_rate
from botkit.model import Instrument, Side, round_to_step

# A minimum order value is met at the price the size was chosen at; the order may
# be placed lower (a bid below the mid) or the price may fall before the next one.
# 10% above the minimum keeps such an order valid through a 9% fall.
DEFAULT_HEADROOM = Decimal("0.1")


def min_order_size(
    inst: Instrument, price: Decimal | float, headroom: Decimal = DEFAULT_HEADROOM
) -> Decimal:
    """The smallest size on the lot grid the instrument accepts at ``price``: at least
    one lot, ``min_size``, and ``min_notional`` with ``headroom`` (a share) on top.

    >>> btc = Instrument("x", "BTC/USDT", "BTC", "USDT", "0.01", "0.001", min_notional="100")
    >>> min_order_size(btc, 50_000)
    Decimal('0.003')
    """
    price = Decimal(repr(price)) if isinstance(price, float) else Decimal(price)
    need = inst.lot_size
    if inst.min_size is not None:
        need = max(need, inst.min_size)
    if inst.min_notional and price > 0:
        # Linear: value = price x size (quote). Inverse: value = size / price (base).
        # One division, last: 1 / price rounded first could lift an exact minimum a lot.
        value = inst.min_notional * (1 + headroom)
        need = max(need, value * price if inst.is_inverse else value / price)
    return round_to_step(need, inst.lot_size, up=True)


def is_dust(inst: Instrument, size: Decimal, price: Decimal | float) -> bool:
    """Whether a position of ``size`` (either sign) is too small to close in one order
    at ``price``: below one lot, ``min_size`` or the minimum order value."""
    size = abs(size)
    if size == 0:
        return False
    if size < inst.lot_size or (inst.min_size is not None and size < inst.min_size):
        return True
    if inst.min_notional:
        price = Decimal(repr(price)) if isinstance(price, float) else Decimal(price)
        if price <= 0:
            return False
        return inst.order_value(size, price) < inst.min_notional
    return False


def order_lock(
    inst: Instrument, side: Side, price: Decimal, size: Decimal
) -> tuple[str, Decimal] | None:
    """What a limit order of ``size`` at ``price`` locks while it rests, as (asset,
    amount): a buy its value plus the worse of the two fees in the quote asset, a sell
    its size of the base asset. None where the spot rules do not apply (perpetuals and
    futures lock nothing yet). Compare it with ``ctx.free(asset)``.

    >>> btc = Instrument("x", "BTC/USDT", "BTC", "USDT", "0.01", "0.001", maker_fee="0.001")
    >>> order_lock(btc, Side.BUY, Decimal("100"), Decimal("2"))
    ('USDT', Decimal('200.200'))
    >>> order_lock(btc, Side.SELL, Decimal("100"), Decimal("2"))
    ('BTC', Decimal('2'))
    """
    if not is_spot(inst):
        return None
    asset, per_unit = lock_rate(inst, side is Side.BUY, price)
    return asset, per_unit * size


__all__ = ["DEFAULT_HEADROOM", "is_dust", "min_order_size", "order_lock"]
