"""A strategy for the market data tests: it writes every market event it hears, in the
order it hears them, to a JSON-lines file, so a test can compare what a bot received
with what the feed published.

Each line is ``[kind, ...fields]``: ``["trade", ts_ns, price, size, side, trade_id]``,
``["snapshot" | "delta", ts_ns, bids, asks]``, ``["ticker", ts_ns, bid, ask, bid_size,
ask_size, last]``, ``["bar", ts_ns, interval_ns, open, high, low, close, volume]``
(floats as JSON numbers: they read back as the same floats). With ``buy_after`` it
also buys ``size`` at market once, after that many trades, so the run has a fill.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from botkit import Context, OrderType, Place, Side, hookimpl
from botkit.events import Bar, BookDelta, BookSnapshot, Ticker, Trade


class RecorderParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str
    out: str
    buy_after: int | None = None
    size: Decimal = Decimal("0.001")


def record(ev: Any) -> list[Any]:
    """One market event as the line the recorder writes (and tests compare)."""
    if isinstance(ev, Trade):
        side = ev.side.value if ev.side is not None else None
        return ["trade", ev.ts_ns, ev.price, ev.size, side, ev.trade_id]
    if isinstance(ev, BookSnapshot | BookDelta):
        kind = "snapshot" if isinstance(ev, BookSnapshot) else "delta"
        return [kind, ev.ts_ns, [list(x) for x in ev.bids], [list(x) for x in ev.asks]]
    if isinstance(ev, Ticker):
        return ["ticker", ev.ts_ns, ev.bid, ev.ask, ev.bid_size, ev.ask_size, ev.last]
    if isinstance(ev, Bar):
        return ["bar", ev.ts_ns, ev.interval_ns, ev.open, ev.high, ev.low, ev.close, ev.volume]
    raise TypeError(type(ev).__name__)


class Recorder:
    Params = RecorderParams

    def __init__(self, params: dict[str, Any]) -> None:
        self.p = RecorderParams.model_validate(params)
        self.file = open(self.p.out, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        self.trades = 0
        self.bought = False

    def _write(self, ev: Any) -> None:
        self.file.write(json.dumps(record(ev)) + "\n")

    @hookimpl
    def on_trade(self, ctx: Context, trade: Trade) -> list[Place] | None:
        self._write(trade)
        self.trades += 1
        if self.p.buy_after is not None and not self.bought and self.trades >= self.p.buy_after:
            self.bought = True
            return [Place(self.p.symbol, Side.BUY, self.p.size, type=OrderType.MARKET)]
        return None

    @hookimpl
    def on_book(self, ctx: Context, book: BookSnapshot | BookDelta) -> None:
        self._write(book)

    @hookimpl
    def on_ticker(self, ctx: Context, ticker: Ticker) -> None:
        self._write(ticker)

    @hookimpl
    def on_bar(self, ctx: Context, bar: Bar) -> None:
        self._write(bar)

    @hookimpl
    def on_stop(self, ctx: Context) -> None:
        self.file.close()
