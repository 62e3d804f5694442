"""The example strategies, unchanged, telling every order update and fill they receive.

Each update is logged as one line ``parity {json}`` in the order the strategy got
it, with the order's client id replaced by its number in the order the strategy
first heard of it: run tags and the router's id prefix differ from run to run, the
sequence does not. A paper run and a backtest of the same events log the same lines.
"""

from __future__ import annotations

import json
from typing import Any

from botkit_strategies.ema_cross import EmaCross
from botkit_strategies.grid import Grid
from botkit_strategies.market_maker import MarketMaker

from botkit import Context, hookimpl
from botkit.events import OrderUpdate
from botkit.model import Fill


def _text(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


class _Told:
    """Numbers client ids and logs updates: the part every probe shares."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def order(self, ctx: Context, u: OrderUpdate) -> None:
        self._log(
            ctx,
            "order",
            u.client_id,
            status=_text(u.status),
            side=_text(u.side),
            type=_text(u.type),
            price=_text(u.price),
            size=_text(u.size),
            filled=_text(u.filled),
            avg_price=_text(u.avg_price),
            code=u.code,
        )

    def fill(self, ctx: Context, f: Fill) -> None:
        self._log(
            ctx,
            "fill",
            f.client_id,
            side=_text(f.side),
            price=_text(f.price),
            size=_text(f.size),
            fee=_text(f.fee),
            liquidity=_text(f.liquidity),
        )

    def _log(self, ctx: Context, what: str, client_id: str, **fields: Any) -> None:
        n = self.ids.setdefault(client_id, len(self.ids))
        ctx.log.info("parity %s", json.dumps({"strategy": ctx.name, what: n, **fields}))


class ProbedMarketMaker(MarketMaker):
    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.told = _Told()

    @hookimpl
    def on_order(self, ctx: Context, order: OrderUpdate) -> Any:
        self.told.order(ctx, order)
        return super().on_order(ctx, order)

    @hookimpl
    def on_fill(self, ctx: Context, fill: Fill) -> Any:
        self.told.fill(ctx, fill)
        return super().on_fill(ctx, fill)


class ProbedGrid(Grid):
    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.told = _Told()

    @hookimpl
    def on_order(self, ctx: Context, order: OrderUpdate) -> Any:
        self.told.order(ctx, order)
        return super().on_order(ctx, order)

    @hookimpl
    def on_fill(self, ctx: Context, fill: Fill) -> Any:
        self.told.fill(ctx, fill)
        return super().on_fill(ctx, fill)


class ProbedEmaCross(EmaCross):
    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.told = _Told()

    @hookimpl
    def on_order(self, ctx: Context, order: OrderUpdate) -> None:
        self.told.order(ctx, order)

    @hookimpl
    def on_fill(self, ctx: Context, fill: Fill) -> None:
        self.told.fill(ctx, fill)
