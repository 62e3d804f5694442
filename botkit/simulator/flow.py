"""A seeded background market: a book around a random-walk mid and trades at the touch.

Every step moves the mid, rebuilds the visible book (``levels`` per side, one
tick apart from a 1-3 tick spread) and prints a few trades against it; some
sweep a level or two, so resting orders at or near the touch get partial and
full fills. The same seed gives the same market.
"""

from __future__ import annotations

import random
from decimal import Decimal

from botkit.events import BookSnapshot, Trade
from botkit.model import Side


class MarketFlow:
    def __init__(
        self,
        symbol: str,
        tick: Decimal,
        lot: Decimal,
        mid: float,
        seed: int = 1,
        levels: int = 10,
        trades_per_step: float = 2.0,
        sweep_probability: float = 0.3,
        volatility_ticks: float = 2.0,
    ) -> None:
        self.symbol = symbol
        self.tick = float(tick)
        self.lot = float(lot)
        self.rng = random.Random(seed)
        self.mid_ticks = round(mid / self.tick)
        self.levels = levels
        self.trades_per_step = trades_per_step
        self.sweep_probability = sweep_probability
        self.volatility = volatility_ticks
        self.trade_seq = 0

    def _px(self, ticks: int) -> float:
        return round(ticks * self.tick, 10)

    def _size(self) -> float:
        lots = int(self.rng.paretovariate(1.5) * 20)
        return round(max(1, lots) * self.lot, 10)

    def step(self, ts_ns: int) -> tuple[BookSnapshot, list[Trade]]:
        rng = self.rng
        self.mid_ticks = max(
            10 * self.levels, self.mid_ticks + round(rng.gauss(0, self.volatility))
        )
        half = rng.choice((1, 1, 2))
        bid0, ask0 = self.mid_ticks - half, self.mid_ticks + half
        bids = [(self._px(bid0 - i), self._size()) for i in range(self.levels)]
        asks = [(self._px(ask0 + i), self._size()) for i in range(self.levels)]
        trades = []
        n = int(self.trades_per_step) + (rng.random() < self.trades_per_step % 1)
        for _ in range(n):
            buy = rng.random() < 0.5
            side_levels = asks if buy else bids
            depth = 1 + (rng.random() < self.sweep_probability) * rng.choice((1, 2))
            for price, size in side_levels[:depth]:
                self.trade_seq += 1
                lots = max(1, round(size * rng.uniform(0.3, 1.2) / self.lot))
                trades.append(
                    Trade(
                        ts_ns,
                        self.symbol,
                        price,
                        round(lots * self.lot, 10),
                        Side.BUY if buy else Side.SELL,
                        self.trade_seq,
                    )
                )
        return BookSnapshot(ts_ns, self.symbol, bids, asks), trades
