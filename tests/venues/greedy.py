"""A strategy for live tests: one limit buy as it starts, whatever the account holds."""

from __future__ import annotations

from typing import Any

from botkit import Place, Side, hookimpl


class Greedy:
    """Places one buy of ``size`` at ``price`` in ``on_start`` (client id ``greedy-1``)."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.symbol = params["symbol"]
        self.size = params["size"]
        self.price = params["price"]

    @hookimpl
    def on_start(self, ctx: Any) -> list[Place]:
        return [Place(self.symbol, Side.BUY, self.size, self.price, client_id="greedy-1")]
