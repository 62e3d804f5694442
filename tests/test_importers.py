"""Importers, on real recorded files from the shared data folder (never copied into the repo)."""

from __future__ import annotations

import json
from itertools import groupby
from pathlib import Path

import numpy as np
import pytest

from botkit.backtest.catalog import Catalog, replay, to_ns
from botkit.backtest.data_cli import main as data_main
from botkit.backtest.importers import (
    import_freqtrade_trades,
    import_hftbacktest,
    import_ohlcv_json,
    parse_interval,
)
from botkit.events import Bar, BookDelta, BookSnapshot, Trade
from botkit.model import Side

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
SPOT_FEED = REAL / "hftbacktest" / "spot" / "btcusdt_20240808.gz"
BTC_1H = REAL / "nostalgiaforinfinity" / "BTC_USDT-1h.json"
XRP_TRADES = REAL / "freqtrade" / "XRP_ETH-trades.json.gz"
USDM_FEED = REAL / "hftbacktest" / "usdm" / "btcusdt_20240808.gz"
MS = 1_000_000


def test_the_real_data_is_beside_the_project() -> None:
    # These tests read the shared recordings in place; CI runs with them beside the repo.
    assert REAL.is_dir(), f"{REAL} is missing: the tests need ../shared/data/real"


@pytest.fixture(scope="module")
def binance(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    cat = Catalog(tmp_path_factory.mktemp("catalog"))
    result = import_hftbacktest(cat, SPOT_FEED, "binance", "BTC/USDT")
    # Binance's sync procedure on this file: the README's own replay found the same.
    assert result.notes["snapshots"] == 1
    assert result.notes["diffs_applied"] == 3_449
    assert result.notes["diffs_dropped"] == 2
    assert result.notes["sequence_gaps"] == 0
    assert result.notes["book_tickers"] == 28_040
    return cat


def test_binance_trades_are_all_there_with_exchange_times(binance: Catalog) -> None:
    trades = [e for b in replay(binance, "binance", ["BTC/USDT"], kinds=["trades"]) for e in b]
    assert len(trades) == 9_757
    ids = [t.trade_id for t in trades]
    assert ids == list(range(3_735_683_259, 3_735_693_016))  # contiguous
    first = trades[0]
    # {"t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true}
    assert first == Trade(1_723_161_255_342 * MS, "BTC/USDT", 61837.63, 0.02, Side.SELL, 3735683259)
    assert min(t.price for t in trades) == 61583.22
    assert max(t.price for t in trades) == 61860.80
    # Trades span midnight UTC, so they sit in two day files.
    assert [str(e.date) for e in binance.entries(kind="trades")] == ["2024-08-08", "2024-08-09"]


def test_binance_book_rebuilds_and_never_crosses(binance: Catalog) -> None:
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    snapshots = deltas = 0
    stream = (e for b in replay(binance, "binance", ["BTC/USDT"], kinds=["book"]) for e in b)
    for e in stream:
        if isinstance(e, BookSnapshot):
            snapshots += 1
            bids, asks = dict(e.bids), dict(e.asks)
            assert len(bids) == len(asks) == 1000
            continue
        assert isinstance(e, BookDelta)
        assert snapshots, "a delta before the snapshot"
        deltas += 1
        for levels, book in ((e.bids, bids), (e.asks, asks)):
            for price, size in levels:
                if size > 0:
                    book[price] = size
                else:
                    book.pop(price, None)
        assert max(bids) < min(asks), f"crossed at {e.ts_ns}"
    assert snapshots == 1
    assert deltas == 3_449  # one event per applied diff (no two share a millisecond)


def test_binance_replay_interleaves_book_and_trades(binance: Catalog) -> None:
    stream = [e for b in replay(binance, "binance", ["BTC/USDT"]) for e in b]
    assert [e.ts_ns for e in stream] == sorted(e.ts_ns for e in stream)
    # At one instant the book comes before the trades.
    for _, group in groupby(stream, key=lambda e: e.ts_ns):
        kinds = [isinstance(e, Trade) for e in group]
        assert kinds == sorted(kinds)


def test_ohlcv_json_becomes_hourly_bars(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    result = import_ohlcv_json(cat, BTC_1H, "binance", "BTC/USDT")
    assert result.rows == {"bars_1h": 5_482}
    assert result.notes["gaps"] == 6  # real outages, kept as they are

    bars = [e for b in replay(cat, "binance", "BTC/USDT", kinds=["bars"]) for e in b]
    assert len(bars) == 5_482
    hour = 3_600 * 1_000_000_000
    # [1606780800000, 19695.87, 19720.0, 19479.8, 19565.47, 4570.361518]; stamped at its close.
    assert bars[0] == Bar(
        1_606_780_800_000 * MS + hour,
        "BTC/USDT",
        hour,
        19695.87,
        19720.0,
        19479.8,
        19565.47,
        4570.361518,
    )
    assert bars[-1].ts_ns == to_ns("2021-07-17T21:00:00Z")
    assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in bars)


def test_freqtrade_trades(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    assert import_freqtrade_trades(cat, XRP_TRADES, "binance", "XRP/ETH").rows == {"trades": 12_477}
    trades = [e for b in replay(cat, "binance", "XRP/ETH") for e in b]
    assert len(trades) == 12_477
    assert np.array_equal([t.trade_id for t in trades], np.arange(13_519_807, 13_532_284))
    sides = [t.side for t in trades]
    assert (sides.count(Side.BUY), sides.count(Side.SELL)) == (6_524, 5_953)
    # [1570752011620, "13519807", null, "sell", 0.00141342, 23.0, 0.03250866]
    assert trades[0] == Trade(
        1_570_752_011_620 * MS, "XRP/ETH", 0.00141342, 23.0, Side.SELL, 13519807
    )

    # Importing the same file again changes nothing.
    import_freqtrade_trades(cat, XRP_TRADES, "binance", "XRP/ETH")
    assert sum(e.rows for e in cat.entries()) == 12_477


def test_import_and_list_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = str(tmp_path / "data")
    argv = ["data", "import", "--format", "freqtrade-trades", "--venue", "binance"]
    assert data_main([*argv, "--symbol", "XRP/ETH", "--catalog", catalog, str(XRP_TRADES)]) == 0
    assert "trades: 12,477 rows" in capsys.readouterr().out

    assert data_main(["data", "list", "--catalog", catalog]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == [
        *("venue", "symbol", "kind", "from", "to", "days", "rows", "gaps", "longest", "MB")
    ]
    assert out[1].split()[:7] == [
        "binance",
        "XRP/ETH",
        "trades",
        "2019-10-11T00:00:11Z",
        "2019-10-13T11:19:28Z",
        "3",
        "12,477",
    ]

    missing = tmp_path / "nope.json"
    assert data_main([*argv, "--symbol", "X/Y", "--catalog", catalog, str(missing)]) == 2
    garbled = tmp_path / "garbled.json"
    garbled.write_text("[{not json")
    assert data_main([*argv, "--symbol", "X/Y", "--catalog", catalog, str(garbled)]) == 2
    assert f"cannot import {garbled} as freqtrade-trades" in capsys.readouterr().err


def test_intervals() -> None:
    assert parse_interval("1m") == 60 * 1_000_000_000
    assert parse_interval("4h") == 4 * 3_600 * 1_000_000_000
    with pytest.raises(ValueError):
        parse_interval("1M")  # months have no fixed length


def test_binance_sync_drops_stale_diffs_and_stops_at_a_gap(tmp_path: Path) -> None:
    t0 = 1_723_161_250_000  # ms: the catalog takes times from 2000 to 2100

    def diff(e: int, first: int, last: int, bid: str) -> str:
        data = {"e": "depthUpdate", "E": t0 + e, "U": first, "u": last, "b": [[bid, "1"]], "a": []}
        return f"{(t0 + e) * MS} " + json.dumps({"stream": "x@depth", "data": data})

    snapshot = {"lastUpdateId": 10, "bids": [["100", "1"]], "asks": [["101", "2"]]}
    feed = tmp_path / "feed.txt"
    feed.write_text(
        "\n".join(
            [
                diff(1_000, 1, 5, "99"),  # older than the snapshot: dropped
                f"{(t0 + 1_050) * MS} {json.dumps(snapshot)}",
                diff(1_100, 8, 12, "99.5"),  # straddles lastUpdateId + 1: applied
                diff(1_200, 13, 14, "99.6"),  # continues: applied
                diff(1_300, 20, 21, "99.7"),  # updates 15..19 are missing
                diff(1_400, 22, 23, "99.8"),  # no new snapshot, so never applied
            ]
        )
    )
    cat = Catalog(tmp_path / "cat")
    result = import_hftbacktest(cat, feed, "binance", "BTC/USDT")

    assert result.notes["diffs_dropped"] == 1
    assert result.notes["diffs_applied"] == 2
    assert result.notes["sequence_gaps"] == 1
    book = [e for b in replay(cat, "binance", "BTC/USDT") for e in b]
    assert book == [
        # Stored at the exchange time of the first diff applied after it.
        BookSnapshot((t0 + 1_100) * MS, "BTC/USDT", [(100.0, 1.0)], [(101.0, 2.0)]),
        BookDelta((t0 + 1_100) * MS, "BTC/USDT", [(99.5, 1.0)], []),
        BookDelta((t0 + 1_200) * MS, "BTC/USDT", [(99.6, 1.0)], []),
    ]


def test_the_usdm_book_equals_the_captured_book_ticker_at_the_same_update_id(
    tmp_path: Path,
) -> None:
    """Where a bookTicker carries the update id of the last depth diff applied, the top
    of the book rebuilt from the catalog is the ticker's best bid and ask (the README
    found 126 such moments in this capture)."""
    import gzip

    cat = Catalog(tmp_path)
    import_hftbacktest(cat, USDM_FEED, "binance", "BTC/USDT")
    snapshot_id = None
    diffs: list[tuple[int, int]] = []  # (E, u) of every diff, in the order received
    tickers: dict[int, tuple[float, float]] = {}  # update id -> (best bid, best ask)
    with gzip.open(USDM_FEED, "rt") as f:
        for line in f:
            msg = json.loads(line.split(" ", 1)[1])
            data = msg.get("data", msg)
            if "stream" not in msg:
                snapshot_id = data["lastUpdateId"]
            elif data.get("e") == "depthUpdate":
                diffs.append((data["E"], data["u"]))
            elif data.get("e") == "bookTicker":
                tickers[data["u"]] = (float(data["b"]), float(data["a"]))
    assert snapshot_id is not None
    # The catalog holds one delta event per exchange time: the book after it is the book
    # after the last diff applied at that time.
    last_u_at = {e * MS: u for e, u in diffs if u > snapshot_id}
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    compared = 0
    for e in (e for b in replay(cat, "binance", ["BTC/USDT"], kinds=["book"]) for e in b):
        if isinstance(e, BookSnapshot):
            bids, asks = dict(e.bids), dict(e.asks)
            continue
        for levels, book in ((e.bids, bids), (e.asks, asks)):
            for price, size in levels:
                if size:
                    book[price] = size
                else:
                    book.pop(price, None)
        ticker = tickers.get(last_u_at.get(e.ts_ns, -1))
        if ticker is not None:
            assert (max(bids), min(asks)) == ticker, e.ts_ns
            compared += 1
    assert compared >= 100, compared
