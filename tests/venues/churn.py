"""A strategy for live tests: trades small market orders on a timer, alternating sides."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botkit import OrderType, Place, Side, hookimpl


class Churn:
    """Buys then sells ``size`` at market on every timer tick: many fills, flat inventory."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.symbol = params["symbol"]
        self.size = Decimal(str(params.get("size", "0.01")))

    @hookimpl
    def on_timer(self, ctx: Any, timer: Any) -> list[Place] | None:
        if ctx.open_orders(self.symbol):
            return None  # one order in flight at a time
        side = Side.SELL if ctx.position(self.symbol) > 0 else Side.BUY
        return [Place(self.symbol, side, self.size, type=OrderType.MARKET)]
