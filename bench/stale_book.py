#!/usr/bin/env python3
"""The market maker's fills through a stale book, with and without best bid/ask quotes.

Imports a raw Binance capture recorded by hftbacktest (depth diffs, trades and
bookTicker) into a scratch catalog, then runs the shipped ``market_maker`` on it
twice: on the depth book and trades alone, and with the bookTicker quotes as
well. A *through fill* is a maker fill made by a trade printing strictly
through the resting order's price (a sell below our bid, a buy above our ask).
A market maker quoting around the touch is traded through mostly when its idea
of the touch is stale; with quotes keeping the top current the share falls.

    python bench/stale_book.py                       # the USD-M futures capture
    python bench/stale_book.py --feed spot           # the spot capture (100 ms depth)

Prints one JSON line per run (``quotes`` false / true) with the fill counts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from bisect import bisect_left
from decimal import Decimal
from pathlib import Path
from typing import Any

from botkit_strategies.market_maker import MarketMaker

from botkit import Instrument, Side
from botkit.backtest.catalog import Catalog, replay
from botkit.backtest.importers import import_hftbacktest
from botkit.engine import Engine
from botkit.events import Ticker, Trade
from botkit.model import Fill, Liquidity
from botkit.node import build_sim_engine
from botkit.plugins import StrategySpec

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real" / "hftbacktest"
FEEDS = {feed: REAL / feed / "btcusdt_20240808.gz" for feed in ("usdm", "spot")}
SYMBOL = "BTC/USDT"
MS = 1_000_000

# Binance's BTCUSDT rules: the perpetual's tick is 0.1 and its minimum order value
# 100 USDT; spot's tick is 0.01 and its minimum 5 USDT.
RULES = {"usdm": ("0.1", "100", "0.002"), "spot": ("0.01", "5", "0.001")}


class TrueTop:
    """The recorded best bid/ask at any time, from the quotes: what the market really showed."""

    def __init__(self, catalog: Catalog) -> None:
        events = [e for b in replay(catalog, "binance", SYMBOL, kinds=["quotes"]) for e in b]
        self.ts = [e.ts_ns for e in events]
        self.quotes = events

    def at(self, ts_ns: int) -> Ticker | None:
        """The last quote before ``ts_ns`` (strictly: a quote at the trade's instant may
        already show the trade's effect)."""
        i = bisect_left(self.ts, ts_ns)
        return self.quotes[i - 1] if i else None


def stale_fills(through: list[tuple[Fill, Trade]], top: TrueTop) -> int:
    """Through fills of an order that the real book showed marketable: a bid at or above
    the recorded best ask (an ask at or below the best bid) just before the trade. Such an
    order rests only because the simulated book was stale; on the venue it would have
    crossed (post-only: been refused), never waited to be traded through."""
    n = 0
    for fill, trade in through:
        q = top.at(trade.ts_ns)
        if q is None:
            continue
        px = float(fill.price)
        if px >= q.ask if fill.side is Side.BUY else px <= q.bid:
            n += 1
    return n


def count_through_fills(engine: Engine) -> list[tuple[Fill, Trade]]:
    """Watch the simulated venue: every maker fill with the trade that made it,
    when that trade printed strictly through the order's price."""
    venue: Any = engine.market
    inner = venue.on_trade
    through: list[tuple[Fill, Trade]] = []

    def on_trade(trade: Trade, ts: int) -> None:
        n = len(venue.trades)
        inner(trade, ts)
        for fill in venue.trades[n:]:
            px = Decimal(repr(trade.price))
            if px < fill.price if fill.side is Side.BUY else px > fill.price:
                through.append((fill, trade))

    venue.on_trade = on_trade
    return through


def maker_engine(feed: str) -> Engine:
    """The shipped market maker on a Binance feed's rules, as the L2 benches run it:
    5 ms order latency, queue position, Binance's maker/taker fees."""
    tick, min_notional, size = RULES[feed]
    inst = Instrument(
        "binance",
        SYMBOL,
        "BTC",
        "USDT",
        tick_size=tick,
        lot_size="0.001",
        min_notional=min_notional,
        maker_fee="0.0002",
        taker_fee="0.0005",
    )
    mm = MarketMaker({"symbol": SYMBOL, "size": size})
    return build_sim_engine(
        {SYMBOL: inst},
        [StrategySpec("maker", mm, timers={"refresh": 30_000 * MS})],
        risk_limits={"rounding": "round", "post_only": "slide"},
        balances={"USDT": Decimal(1_000_000), "BTC": Decimal(10)},
        latency_ns=5 * MS,
        queue_position=True,
    )


def run(catalog: Catalog, feed: str, quotes: bool, top: TrueTop) -> dict[str, Any]:
    engine = maker_engine(feed)
    through = count_through_fills(engine)
    kinds = ["book", "trades"] + (["quotes"] if quotes else [])
    engine.run_backtest(replay(catalog, "binance", SYMBOL, kinds=kinds))
    engine.stop()
    fills = [f for f in engine.router.fills if f.strategy == "maker"]
    maker = [f for f in fills if f.liquidity is Liquidity.MAKER]
    stale = stale_fills(through, top)
    return {
        "feed": feed,
        "quotes": quotes,
        "fills": len(fills),
        "maker_fills": len(maker),
        "through_fills": len(through),
        "through_share": round(len(through) / max(len(maker), 1), 4),
        "stale_fills": stale,
        "stale_share": round(stale / max(len(maker), 1), 4),
        "events": engine.events,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feed", choices=sorted(FEEDS), default="usdm")
    args = ap.parse_args(argv)
    path = FEEDS[args.feed]
    if not path.exists():
        sys.exit(f"cannot find {path}: shared/ must sit beside the repo")
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Catalog(Path(tmp))
        imported = import_hftbacktest(catalog, path, "binance", SYMBOL)
        print(f"# {path.name} ({args.feed}): {imported.summary()}")
        top = TrueTop(catalog)
        for quotes in (False, True):
            print(json.dumps(run(catalog, args.feed, quotes, top)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
