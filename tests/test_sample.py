"""The seeded sample market: reproducible, and a book that trades can really happen on."""

from __future__ import annotations

from collections import Counter
from itertools import groupby
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from botkit.backtest.catalog import Catalog, replay, replay_count, to_ns
from botkit.backtest.data_cli import main as data_main
from botkit.backtest.sample import INSTRUMENT, SampleSpec, generate, write_sample
from botkit.events import Bar, BookDelta, BookSnapshot, Trade
from botkit.model import Side

MINUTES = 10
SPEC = SampleSpec(seed=7, hours=MINUTES / 60)
START = to_ns(SPEC.start)
SEC = 1_000_000_000
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    out = tmp_path_factory.mktemp("sample")
    write_sample(out, SPEC)
    return Catalog(out)


@pytest.fixture(scope="module")
def stream(sample: Catalog) -> list[object]:
    return [e for batch in replay(sample, "sim", ["BTC/USDT"]) for e in batch]


class Book:
    """A plain L2 book, rebuilt from the events as a strategy would see them."""

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}

    def copy(self) -> Book:
        b = Book()
        b.bids, b.asks = dict(self.bids), dict(self.asks)
        return b

    def apply(self, event: BookSnapshot | BookDelta) -> None:
        if isinstance(event, BookSnapshot):
            self.bids, self.asks = {}, {}
        for levels, side in ((event.bids, self.bids), (event.asks, self.asks)):
            for price, size in levels:
                if size > 0:
                    side[price] = size
                else:
                    side.pop(price, None)

    def crossed(self) -> bool:
        return max(self.bids) >= min(self.asks)

    def spread_ticks(self) -> int:
        return round((min(self.asks) - max(self.bids)) * 100)

    def take(self, trade: Trade) -> None:
        """Execute a trade print against the touch; it must be at the touch."""
        side = self.asks if trade.side is Side.BUY else self.bids
        touch = min(side) if trade.side is Side.BUY else max(side)
        assert trade.price == touch, f"{trade} is not at the touch {touch}"
        assert trade.size <= side[touch] + 1e-9
        left = round(side[touch] - trade.size, 5)
        if left > 0:
            side[touch] = left
        else:
            del side[touch]


def test_every_trade_is_at_the_touch_and_the_book_never_crosses(stream: list[object]) -> None:
    book = Book()
    trades = 0
    spreads: Counter[int] = Counter()
    for _ts, group in groupby(stream, key=lambda e: e.ts_ns):  # type: ignore[attr-defined]
        events = list(group)
        # At one instant the catalog holds the book *after* the trades (deltas come
        # first in replay), so trades are checked against the book just before it.
        before = book.copy()
        for e in events:
            if isinstance(e, BookSnapshot | BookDelta):
                book.apply(e)
                assert not book.crossed(), f"crossed after {e}"
                spreads[book.spread_ticks()] += 1
        prints = [e for e in events if isinstance(e, Trade)]
        for t in prints:
            before.take(t)
        if prints:
            trades += len(prints)
            # The delta at the trade's instant is exactly the trade's effect.
            assert (before.bids, before.asks) == (book.bids, book.asks)
    assert trades > MINUTES * 60  # a few a second
    # The spread is mostly 1-3 ticks.
    assert sum(spreads[k] for k in (1, 2, 3)) / sum(spreads.values()) > 0.85


def test_snapshots_every_five_minutes_match_the_book_built_from_deltas(
    stream: list[object],
) -> None:
    book = Book()
    snaps = 0
    for e in stream:
        if isinstance(e, BookSnapshot):
            if snaps:  # the first one starts the book
                assert (dict(e.bids), dict(e.asks)) == (book.bids, book.asks)
            assert e.ts_ns == START + snaps * 300 * SEC
            assert len(e.bids) >= 20 and len(e.asks) >= 20
            assert [p for p, _ in e.bids] == sorted((p for p, _ in e.bids), reverse=True)
            assert [p for p, _ in e.asks] == sorted(p for p, _ in e.asks)
            snaps += 1
        if isinstance(e, BookSnapshot | BookDelta):
            book.apply(e)
    assert snaps == MINUTES // 5  # at 0 and 5 minutes
    assert len(book.bids) >= 20 and len(book.asks) >= 20


def test_minute_bars_aggregate_the_trades(stream: list[object]) -> None:
    trades = [e for e in stream if isinstance(e, Trade)]
    bars = [e for e in stream if isinstance(e, Bar)]
    assert len(bars) == MINUTES
    for i, bar in enumerate(bars):
        close_ts = START + (i + 1) * 60 * SEC
        assert bar.ts_ns == close_ts and bar.interval_ns == 60 * SEC
        minute = [t for t in trades if close_ts - 60 * SEC <= t.ts_ns < close_ts]
        prices = [t.price for t in minute]
        assert (bar.open, bar.high, bar.low, bar.close) == (
            prices[0],
            max(prices),
            min(prices),
            prices[-1],
        )
        assert bar.volume == pytest.approx(sum(t.size for t in minute), abs=1e-9)


def test_prices_sizes_and_ids_are_on_the_instrument_grid(sample: Catalog) -> None:
    (entry,) = sample.entries(kind="trades")
    trades = pq.read_table(entry.path).to_pandas()
    ticks = trades["price"] * 100
    lots = trades["size"] * 100_000
    assert np.allclose(ticks, ticks.round(), atol=1e-6)
    assert np.allclose(lots, lots.round(), atol=1e-6) and (lots.round() >= 1).all()
    assert (np.diff(trades["trade_id"]) == 1).all()
    assert set(trades["side"]) == {1, 2}
    # Heavy tails: the largest trade dwarfs the typical one.
    assert trades["size"].max() > 50 * trades["size"].median()
    assert sample.instrument("sim", "BTC/USDT") == {
        "venue": "sim",
        "symbol": "BTC/USDT",
        **INSTRUMENT,
    }


def test_the_same_seed_gives_the_same_bytes(sample: Catalog, tmp_path: Path) -> None:
    write_sample(tmp_path, SPEC)
    for entry in sample.entries():
        twin = tmp_path / entry.path.relative_to(sample.root)
        assert twin.read_bytes() == entry.path.read_bytes(), entry.path.name
    other, _, _ = generate(SampleSpec(seed=8, hours=MINUTES / 60))
    (entry,) = sample.entries(kind="trades")
    assert other["trades"].num_rows != entry.rows


def test_make_sample_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = data_main(["data", "make-sample", "--out", str(tmp_path), "--hours", "0.05"])
    assert code == 0
    assert "book_deltas" in capsys.readouterr().out
    cat = Catalog(tmp_path)
    assert {e.kind for e in cat.entries()} == {"trades", "book_snapshots", "book_deltas", "bars_1m"}
    # Running it again replaces the sample rather than adding to it.
    rows = {e.kind: e.rows for e in cat.entries()}
    assert data_main(["data", "make-sample", "--out", str(tmp_path), "--hours", "0.05"]) == 0
    assert {e.kind: e.rows for e in cat.entries()} == rows


def test_the_shipped_sample() -> None:
    cat = Catalog(REPO / "backtest_data")
    kinds = {e.kind: e.rows for e in cat.entries(venue="sim", symbol="BTC/USDT")}
    assert set(kinds) == {"trades", "book_snapshots", "book_deltas", "bars_1m"}
    assert kinds["bars_1m"] == 4 * 60
    assert replay_count(cat, "sim", ["BTC/USDT"]) > 200_000
    size = sum(p.stat().st_size for p in (REPO / "backtest_data").rglob("*") if p.is_file())
    assert size < 20_000_000
