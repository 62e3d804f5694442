"""The spot account rules: what an order locks, and balances split into free and locked.

The same rules are applied in three places, which must agree: the risk module
(before an order is sent), the router (its view of the account, which strategies
read) and the simulated venue (the account of record in backtest and paper).

On a spot instrument (``kind: spot``) an order locks what it may spend:

- a buy locks quote: ``price x size x (1 + fee)``, the fee rate being the larger
  of the maker and taker rates (a limit order may fill as either; a rebate
  never lowers a lock);
- a market buy has no price of its own: it is locked at the reference price
  (the best ask, else the last trade or close) moved up by the venue's slippage
  allowance and rounded up to the tick. That is the check before it is sent;
  at the venue a market buy walks the book and may pay above its lock, out of
  the free balance, as a real venue's would; what the lock and the free balance
  together cannot pay for expires;
- a stop-market buy is locked at its stop price moved by the same allowance;
- a sell locks its size of the base asset (its fee comes out of the proceeds),
  so a spot account cannot sell what it does not hold.

A fill uses up its part of the lock and the rest stays locked for the rest of
the order; a cancel or an expiry releases what is left. An order whose lock does
not fit in the free balance is refused ``insufficient_balance``.

Perpetuals, futures and inverse contracts are not under these rules: their
orders hold margin instead (``botkit.margin``), kept in the same ``Locks`` in
the settlement asset; what their positions add to the free balance (PnL less
the margin they hold) is ``Locks.adjust``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from botkit.model import ZERO, Instrument

ONE = Decimal(1)
_BPS = Decimal("0.0001")


@functools.lru_cache(maxsize=256)
def exact(x: float) -> Decimal:
    """A book price (a float) as the Decimal it prints as. Memoised: the risk module
    and the venue both convert the same best ask for one order (~0.6 us each)."""
    return Decimal(repr(x))


def is_spot(inst: Instrument) -> bool:
    """Whether the spot balance rules apply to the instrument."""
    return inst.kind == "spot"


def buy_fee_rate(inst: Instrument) -> Decimal:
    """The fee rate a buy's lock provisions for: the worse of maker and taker, never < 0."""
    rate = inst.maker_fee if inst.maker_fee > inst.taker_fee else inst.taker_fee
    return rate if rate > 0 else ZERO


def slippage_fraction(bps: Decimal | int | str) -> Decimal:
    return Decimal(str(bps)) * _BPS


def market_buy_price(inst: Instrument, ref: Decimal, slippage: Decimal) -> Decimal:
    """The price a market buy is locked at: the reference moved by the slippage, on the tick."""
    return inst.price_up(ref * (ONE + slippage)) if slippage else ref


def lock_rate(inst: Instrument, is_buy: bool, price: Decimal) -> tuple[str, Decimal]:
    """The asset an order locks and how much of it per unit of size, at ``price``."""
    if is_buy:
        return inst.quote, price * (ONE + buy_fee_rate(inst))
    return inst.base, ONE


class FreeBalances(Mapping[str, Decimal]):
    """A live, read-only view of the free balances: total minus locked, per asset."""

    __slots__ = ("_locked", "_locks", "_total")

    def __init__(self, total: dict[str, Decimal], locked: dict[str, Decimal], locks: Locks) -> None:
        self._total = total
        self._locked = locked
        self._locks = locks

    def __getitem__(self, asset: str) -> Decimal:
        total = self._total[asset]
        locked = self._locked.get(asset)
        free = total - locked if locked else total
        adjust = self._locks.adjust
        return free if adjust is None else free + adjust(asset)

    def get(self, asset: str, default: Decimal | None = None) -> Decimal | None:  # type: ignore[override]
        total = self._total.get(asset)
        if total is None:
            return default
        locked = self._locked.get(asset)
        free = total - locked if locked else total
        adjust = self._locks.adjust
        return free if adjust is None else free + adjust(asset)

    def held_by(self, key: str) -> Decimal:
        """What the order ``key`` holds (an edit replaces it, so it counts as free)."""
        return self._locks.held(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._total)

    def __len__(self) -> int:
        return len(self._total)


class Locks:
    """The locked part of an account's balances, order by order.

    ``total`` is the account's balances (the dict is shared, not copied: fills
    change it where it lives); ``locked`` the sum locked per asset (an asset
    with nothing locked has no entry); ``free`` a view of ``total - locked``;
    ``orders`` each locking order's ``[asset, amount per unit of size, amount
    still locked]`` by its key (a list, not an object: one is made per order);
    ``adjust`` (None on a spot-only account) what derivative positions add to an
    asset's free balance: their PnL less the margin they hold.
    """

    __slots__ = ("adjust", "free", "locked", "orders", "total")

    def __init__(self, total: dict[str, Decimal]) -> None:
        self.total = total
        self.locked: dict[str, Decimal] = {}
        self.orders: dict[str, list[Any]] = {}
        self.adjust: Callable[[str], Decimal] | None = None
        self.free = FreeBalances(total, self.locked, self)

    def __contains__(self, key: str) -> bool:
        return key in self.orders

    def free_of(self, asset: str) -> Decimal:
        free = self.total.get(asset, ZERO) - self.locked.get(asset, ZERO)
        adjust = self.adjust
        return free if adjust is None else free + adjust(asset)

    def held(self, key: str) -> Decimal:
        """What the order ``key`` still locks (0 when it locks nothing)."""
        lk = self.orders.get(key)
        return lk[2] if lk is not None else ZERO

    def lock(self, key: str, asset: str, rate: Decimal, size: Decimal, force: bool = False) -> bool:
        """Lock ``rate x size`` of ``asset`` for order ``key`` (replacing its lock), if free.

        ``force`` locks even when the free balance is short: the router mirrors
        what the venue already accepted.
        """
        orders = self.orders
        old = orders.get(key) if orders else None
        need = rate * size
        if not force:
            room = self.free_of(asset)
            if old is not None and old[0] == asset:
                room += old[2]
            if need > room:
                return False
        if old is not None:
            self.release(key)
        orders[key] = [asset, rate, need]
        locked = self.locked
        held = locked.get(asset)
        locked[asset] = held + need if held is not None else need
        return True

    def use(self, key: str, size: Decimal, spent: Decimal) -> None:
        """A fill of ``size`` that took ``spent`` of the locked asset: its part is released.

        The part is ``rate x size``, or what the fill spent when that is more (a
        market buy that paid above its lock price), never more than is left.
        """
        lk = self.orders.get(key)
        if lk is None:
            return
        part = lk[1] * size
        if spent > part:
            part = spent
        if part > lk[2]:
            part = lk[2]
        lk[2] -= part
        asset = lk[0]
        left = self.locked[asset] - part
        if left > 0:
            self.locked[asset] = left
        else:
            del self.locked[asset]

    def affordable(self, key: str, price_with_fee: Decimal) -> Decimal | None:
        """The largest size the order's lock and the free balance still pay for at this
        price (None: unbounded)."""
        lk = self.orders.get(key)
        if lk is None or price_with_fee <= 0:
            return None
        return (lk[2] + self.free_of(lk[0])) / price_with_fee

    def release(self, key: str) -> None:
        """The order closed: what it still locks is free again."""
        lk = self.orders.pop(key, None)
        if lk is not None and lk[2]:
            asset = lk[0]
            left = self.locked[asset] - lk[2]
            if left > 0:
                self.locked[asset] = left
            else:
                del self.locked[asset]
