"""Best bid/ask quotes (Binance bookTicker): imported, replayed as tickers, and keeping
the top of the book current between depth updates."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botkit_strategies.market_maker import MarketMaker
from conftest import ROOT, SHARED

from botkit import Instrument, Side
from botkit.backtest.catalog import QUOTES, Catalog, CatalogError, replay
from botkit.backtest.importers import import_hftbacktest
from botkit.book import OrderBook
from botkit.events import BookDelta, BookSnapshot, Ticker, Trade
from botkit.model import Liquidity
from botkit.node import build_sim_engine
from botkit.plugins import StrategySpec

MS = 1_000_000
SYM = "BTC/USDT"
T0 = 1_723_161_250_000  # ms


def line(local_ms: int, data: dict[str, Any], stream: str = "btcusdt@x") -> str:
    return f"{local_ms * MS} " + json.dumps({"stream": stream, "data": data})


def test_import_keeps_quotes_with_exchange_and_receive_time(tmp_path: Path) -> None:
    # The collector's clock runs 1 s behind the exchange (E - receive time = 1000 ms).
    lag = 1_000
    snapshot = {"lastUpdateId": 10, "bids": [["100", "1"]], "asks": [["101", "2"]]}
    depth = {"e": "depthUpdate", "E": T0 + 1_100, "U": 9, "u": 12, "b": [["100.2", "1"]], "a": []}
    trade = {"e": "trade", "E": T0 + 1_160, "T": T0 + 1_160, "t": 7, "p": "100.5", "q": "0.3"}
    feed = tmp_path / "feed.txt"
    feed.write_text(
        "\n".join(
            [
                f"{(T0 + 1_050 - lag) * MS} {json.dumps(snapshot)}",
                line(T0 + 1_100 - lag, depth),
                # Spot bookTicker: no exchange time, so it is placed by the clock offset.
                line(T0 + 1_150 - lag, {"u": 13, "b": "100.4", "B": "3", "a": "100.6", "A": "4"}),
                line(T0 + 1_160 - lag, {**trade, "m": True}),
                # Not newer than the depth book already applied: it says nothing new.
                line(T0 + 1_170 - lag, {"u": 12, "b": "100", "B": "1", "a": "101", "A": "2"}),
                # Futures bookTicker: stored at its transaction time T.
                line(
                    T0 + 1_175 - lag,
                    {"e": "bookTicker", "u": 14, "T": T0 + 1_170, "E": T0 + 1_171}
                    | {"b": "100.3", "B": "1.5", "a": "100.5", "A": "0.5"},
                ),
            ]
        )
    )
    cat = Catalog(tmp_path / "cat")
    result = import_hftbacktest(cat, feed, "binance", SYM)

    assert result.rows[QUOTES] == 2
    assert result.notes["book_tickers"] == 3
    assert result.notes["quotes_older_than_book"] == 1
    stored = pq.read_table(cat.files("binance", SYM, QUOTES, None, None)[0]).to_pylist()
    assert [(r["ts_ns"], r["recv_ns"]) for r in stored] == [
        ((T0 + 1_150) * MS, (T0 + 1_150 - lag) * MS),
        ((T0 + 1_170) * MS, (T0 + 1_175 - lag) * MS),
    ]

    events = [e for batch in replay(cat, "binance", SYM) for e in batch]
    assert [type(e).__name__ for e in events] == [
        "BookSnapshot",
        "BookDelta",
        "Ticker",
        "Trade",
        "Ticker",
    ]
    assert events[2] == Ticker((T0 + 1_150) * MS, SYM, 100.4, 100.6, 3.0, 4.0, None)
    assert events[4] == Ticker((T0 + 1_170) * MS, SYM, 100.3, 100.5, 1.5, 0.5, None)
    # Leaving quotes out of the kinds gives the depth book and trades alone.
    without = [e for b in replay(cat, "binance", SYM, kinds=["book", "trades"]) for e in b]
    assert not any(isinstance(e, Ticker) for e in without)


def test_a_quote_ties_after_the_depth_update_and_before_the_trade(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    ts = T0 * MS
    cat.write("binance", SYM, "trades", {"ts_ns": [ts], "price": [100.0], "size": [1.0]})
    cat.write(
        "binance",
        SYM,
        QUOTES,
        {"ts_ns": [ts], "bid": [99.9], "bid_size": [1.0], "ask": [100.0]}
        | {"ask_size": [2.0], "recv_ns": [ts]},
    )
    cat.write(
        "binance",
        SYM,
        "book_deltas",
        {"ts_ns": [ts], "side": [0], "price": [99.8]} | {"size": [1.0]},
    )
    events = [e for b in replay(cat, "binance", SYM) for e in b]
    assert [type(e) for e in events] == [BookDelta, Ticker, Trade]


def test_a_crossed_quote_is_a_clear_catalog_error(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    ts = T0 * MS
    (path,) = cat.write(
        "binance",
        SYM,
        QUOTES,
        {"ts_ns": [ts, ts + 1], "bid": [99.9, 100.2], "bid_size": [1.0, 1.0]}
        | {"ask": [100.0, 100.1], "ask_size": [1.0, 1.0], "recv_ns": [ts, ts + 1]},
    )
    with pytest.raises(CatalogError, match=r"row 1: the quote is crossed: bid 100.2 >= ask 100.1"):
        list(replay(cat, "binance", SYM))
    # A negative size is caught like any other bad value.
    table = pq.read_table(path)
    table = table.set_column(2, "bid_size", pa.array([1.0, -1.0]))
    pq.write_table(table, path)
    with pytest.raises(CatalogError, match=r"'bid_size' is -1\.0"):
        list(replay(cat, "binance", SYM))


def test_a_quote_sets_the_top_of_the_book_until_the_next_depth_update() -> None:
    book = OrderBook(SYM)
    book.apply_snapshot(
        BookSnapshot(1, SYM, [(100.0, 1.0), (99.9, 2.0), (99.8, 3.0)], [(100.1, 1.0), (100.2, 2.0)])
    )
    # The market fell: the quote shows 100.0 and 99.9 gone, and a new best ask.
    book.apply_ticker(Ticker(2, SYM, bid=99.8, ask=99.85, bid_size=0.5, ask_size=4.0))
    assert (book.best_bid, book.best_ask) == (99.8, 99.85)
    assert book.bid_levels() == [(99.8, 0.5)]
    assert book.ask_levels(2) == [(99.85, 4.0), (100.1, 1.0)]
    assert book.size_at(True, 100.0) == 0.0  # gone, though the depth book still lists it
    assert book.size_at(True, 99.8) == 0.5
    assert book.mid == pytest.approx(99.825)
    # A depth update brings the depth book up to date and the quote no longer applies.
    book.apply_delta(BookDelta(3, SYM, [(100.0, 0.0), (99.9, 0.0)], [(99.85, 4.0)]))
    assert not book.quoted
    assert (book.best_bid, book.best_ask) == (99.8, 99.85)
    assert book.bid_levels() == [(99.8, 3.0)]
    # A quote older than the depth book (a slow ticker channel) leaves the top alone.
    book.apply_ticker(Ticker(2, SYM, bid=100.0, ask=100.1, bid_size=1.0, ask_size=1.0))
    assert (book.best_bid, book.best_ask) == (99.8, 99.85)


class _Run:
    """The shipped market maker on the simulated venue over a list of events."""

    def __init__(self, inst: Instrument, events: list[Any]) -> None:
        mm = MarketMaker({"symbol": SYM, "size": "1", "half_spread_ticks": 10})
        self.engine = build_sim_engine(
            {SYM: inst},
            [StrategySpec("mm", mm)],
            balances={"USDT": Decimal(100_000), "BTC": Decimal(10)},
        )
        self.engine.run_backtest([events])
        assert not self.engine.hook_errors

    def buys(self) -> list[tuple[Decimal, Liquidity]]:
        return [(f.price, f.liquidity) for f in self.engine.router.fills if f.side is Side.BUY]


def test_a_resting_bid_is_not_traded_through_a_stale_book_when_quotes_are_used(
    btc: Instrument,
) -> None:
    depth = BookSnapshot(1 * MS, SYM, [(99.99, 5.0)], [(100.01, 5.0)])
    # Between two depth updates the market falls half a point: only the quote shows it.
    quote = Ticker(50 * MS, SYM, bid=99.50, ask=99.52, bid_size=3.0, ask_size=3.0)
    sell = Trade(60 * MS, SYM, 99.50, 1.0, Side.SELL, 1)

    stale = _Run(btc, [depth, sell])
    # Quoting 10 ticks under a mid of 100, the bid at 99.90 is traded through at 99.50:
    # a maker fill 0.40 better than the market, which the real book never offered.
    assert stale.buys() == [(Decimal("99.90"), Liquidity.MAKER)]

    current = _Run(btc, [depth, quote, sell])
    # The quote moved the mid to 99.51 and the bid to 99.41: the print does not reach it.
    assert current.buys() == []
    bid = next(o for o in current.engine.router.open_orders("mm", SYM) if o.side is Side.BUY)
    assert bid.price == Decimal("99.41")


def test_market_maker_fills_through_a_stale_book_fall_with_quotes_on_binance_usdm() -> None:
    feed = SHARED / "data" / "real" / "hftbacktest" / "usdm" / "btcusdt_20240808.gz"
    assert feed.exists(), f"{feed} is missing: shared/ must sit beside the repo"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "stale_book.py"), "--feed", "usdm"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    without, with_quotes = (json.loads(x) for x in run.stdout.splitlines() if x.startswith("{"))
    assert (without["quotes"], with_quotes["quotes"]) == (False, True)
    # The figures in docs/stale-book.md: 266 of 487 maker fills (55 %) were through an
    # order the real book showed marketable; with quotes 21 of 287 (7 %).
    assert without["stale_fills"] == 266
    assert with_quotes["stale_fills"] == 21
    assert with_quotes["stale_share"] < without["stale_share"] / 5
