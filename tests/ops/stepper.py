"""A strategy for the remote-control tests: it trades on every timer tick, so a test
sees at once whether orders still go out.

Each ``step`` timer it buys ``size`` at market while its position is below
``max_position``, then sells back down to ``size`` at market and starts again; it
also keeps one buy resting ``rest_bps`` below the last price (for ``cancel_all``
to take down). With ``junk`` it also sends an order of size 0 each step, which
the risk module refuses (``invalid_size``); ``shout`` is logged as a warning at
start. ``update_params`` takes new params while it runs (``set_param``).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from botkit import Context, OrderType, Place, Side, hookimpl
from botkit.events import OrderUpdate, Timer


class StepperParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str
    size: Decimal = Field(Decimal("0.001"), gt=0)
    max_position: Decimal = Field(Decimal("0.005"), gt=0)
    rest_bps: Decimal = Field(Decimal("500"), gt=0, lt=10_000)
    junk: bool = False
    shout: str | None = None


class Stepper:
    Params = StepperParams

    def __init__(self, params: dict[str, Any]) -> None:
        self.update_params(params)
        self.resting: str | None = None

    def update_params(self, params: dict[str, Any]) -> None:
        p = StepperParams.model_validate(params)
        self.p = p
        self.symbol = p.symbol

    @hookimpl
    def on_start(self, ctx: Context) -> None:
        if self.p.shout:
            logging.getLogger("tests.stepper").warning("shout: %s", self.p.shout)

    @hookimpl
    def on_timer(self, ctx: Context, timer: Timer) -> list[Place] | None:
        book = ctx.book(self.symbol)
        if book.last_price is None:
            return None
        out = []
        position = ctx.position(self.symbol)
        if position < self.p.max_position:
            out.append(Place(self.symbol, Side.BUY, self.p.size, type=OrderType.MARKET))
        else:  # back down to one step: once it has bought, it is never flat by itself
            out.append(Place(self.symbol, Side.SELL, position - self.p.size, type=OrderType.MARKET))
        if self.p.junk:
            out.append(Place(self.symbol, Side.BUY, 0, type=OrderType.MARKET))
        if self.resting is None:
            price = Decimal(repr(book.last_price)) * (1 - self.p.rest_bps / 10_000)
            self.resting = f"rest-{timer.ts_ns}"
            out.append(Place(self.symbol, Side.BUY, self.p.size, price, client_id=self.resting))
        return out

    @hookimpl
    def on_order(self, ctx: Context, order: OrderUpdate) -> None:
        if order.client_id == self.resting and order.status.is_closed:
            self.resting = None
