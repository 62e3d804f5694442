"""The strategy's view of the world: ``ctx`` in every hook.

A ``Context`` is read-only: a strategy changes the world only by returning
intents. It is the same object in a backtest, a paper run and a live run, so a
strategy cannot tell which one it is in. Each strategy gets its own: orders and
positions are that strategy's own; balances are the account's.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from botkit.model import ZERO, Instrument, Order, Position

if TYPE_CHECKING:
    from botkit.book import OrderBook
    from botkit.execution.router import ExecutionRouter


class Clock(Protocol):
    """Whatever keeps the run's time (the engine): event time in a backtest, wall time live."""

    now_ns: int


class Context:
    """A strategy's read-only view: clock, instruments, books, its orders, positions, balances.

    Members:

    - ``name``: the strategy's name in bot.yaml (``strategies[].name``).
    - ``params``: its ``params:`` mapping from bot.yaml, as given.
    - ``log``: a logger named ``botkit.strategy.<name>``.
    - ``now_ns``: the current time in ns since the epoch (the event being
      handled in a backtest; the wall clock live).
    - ``instruments``: every configured instrument by symbol (tick, lot, bounds, fees).
    - ``instrument(symbol)``: one of them; ``KeyError`` for an unknown symbol.
    - ``book(symbol)``: the local order book (``best_bid``, ``best_ask``,
      ``last_price``, ``mid``, ``bid_levels()``, ``ask_levels()``; floats, None
      while unknown).
    - ``open_orders(symbol=None)``: this strategy's open orders (all symbols
      when None), as the router tracks them.
    - ``order(client_id)``: one of this strategy's orders, open or closed, or None.
    - ``position(symbol)``: this strategy's signed position size as a
      ``Decimal`` (long > 0), from its fills alone.
    - ``position_info(symbol)``: the same as a ``Position`` (size, average
      price, realised PnL).
    - ``balance(asset)``: the account's balance of an asset (``Decimal``, 0 when none):
      the total, free and locked together.
    - ``balances``: a copy of every balance of the account (totals).
    - ``free(asset)`` / ``locked(asset)``: the part of a balance an order can
      still use, and the part open spot orders lock (``botkit.account``: a buy
      locks quote plus fees, a sell its base); ``free + locked == balance``.
    - ``free_balances`` / ``locked_balances``: copies of both, by asset.
    """

    __slots__ = ("_books", "_clock", "_instruments", "_router", "log", "name", "params")

    def __init__(
        self,
        name: str,
        params: dict[str, Any],
        clock: Clock,
        instruments: dict[str, Instrument],
        books: dict[str, OrderBook],
        router: ExecutionRouter,
    ) -> None:
        self.name = name
        self.params = params
        self.log = logging.getLogger(f"botkit.strategy.{name}")
        self._clock = clock
        self._instruments = instruments
        self._books = books
        self._router = router

    @property
    def now_ns(self) -> int:
        return self._clock.now_ns

    @property
    def instruments(self) -> dict[str, Instrument]:
        return self._instruments

    def instrument(self, symbol: str) -> Instrument:
        return self._instruments[symbol]

    def book(self, symbol: str) -> OrderBook:
        return self._books[symbol]

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return self._router.open_orders(self.name, symbol)

    def order(self, client_id: str) -> Order | None:
        o = self._router.orders.get(client_id)
        return o if o is not None and o.strategy == self.name else None

    def position(self, symbol: str) -> Decimal:
        """Signed position size of this strategy (long > 0)."""
        return self._router.position_size(self.name, symbol)

    def position_info(self, symbol: str) -> Position:
        return self._router.position(self.name, symbol)

    def balance(self, asset: str) -> Decimal:
        return self._router.balances.get(asset, ZERO)

    @property
    def balances(self) -> dict[str, Decimal]:
        return dict(self._router.balances)

    def free(self, asset: str) -> Decimal:
        """What a new order may lock of an asset: the balance less what open orders lock."""
        return self._router.locks.free_of(asset)

    def locked(self, asset: str) -> Decimal:
        return self._router.locks.locked.get(asset, ZERO)

    @property
    def free_balances(self) -> dict[str, Decimal]:
        return dict(self._router.locks.free)

    @property
    def locked_balances(self) -> dict[str, Decimal]:
        return {a: v for a, v in self._router.locks.locked.items() if v}


__all__ = ["Clock", "Context"]
