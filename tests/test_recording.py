"""The market data recorder: receive times, durable segments, compaction without
duplicates, gaps, and replay in the order events were received.

These tests drive ``MarketRecorder`` with events built by hand and a fake clock,
so every receive time is known; ``test_recording_sigkill.py`` records a venue
simulator in a subprocess and kills it, and ``test_recording_parity.py`` checks
a paper run against the backtest of its own recording.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from botkit.backtest.catalog import Catalog, CatalogError, replay
from botkit.backtest.data_cli import main as data_main
from botkit.config import parse_config
from botkit.events import BookDelta, BookSnapshot, Ticker, Trade
from botkit.model import Instrument, Side
from botkit.recording import MarketRecorder, compact, read_gaps
from botkit.recording.recorder import RECONNECTED
from botkit.recording.replay import received as replayed
from botkit.recording.segments import read_segment

SYM = "BTC/USDT"
T0 = 1_720_000_000_000_000_000  # 2024-07-03 09:46:40 UTC
MS = 1_000_000


def clock(start: int = T0 + 10 * MS, step: int = MS):  # type: ignore[no-untyped-def]
    """A fake wall clock: each reading is ``step`` later than the one before."""
    ticks = itertools.count(start, step)
    return lambda: next(ticks)


def recorder(root: Path, start: int = T0 + 10 * MS, **kw: object) -> MarketRecorder:
    inst = Instrument(
        "bt", SYM, "BTC", "USDT", tick_size="0.01", lot_size="0.001", min_notional="10"
    )
    return MarketRecorder(
        root, "bt", instruments={SYM: inst}, clock=clock(start), fsync=False, **kw
    ).open()


def events(cat: Catalog, clock: str = "exchange") -> list[object]:
    return [e for batch in replay(cat, "bt", [SYM], clock=clock) for e in batch]


def book(ts: int, bid: float = 100.0, ask: float = 100.1) -> BookSnapshot:
    return BookSnapshot(ts, SYM, [(bid, 1.0), (bid - 0.1, 2.0)], [(ask, 1.5)])


def test_a_recording_replays_in_the_order_it_was_received(tmp_path: Path) -> None:
    # BlockTrade's feed: the book and ticker carry the adapter's receive stamp, trades
    # the venue's own (older, whole milliseconds) time. Sorted by those times, a step's
    # trades would come before the book update the venue sent first.
    received = [
        book(T0 + 5 * MS + 7),
        Ticker(T0 + 5 * MS + 9, SYM, 100.0, 100.1, None, None, 100.05),
        Trade(T0 + 4 * MS, SYM, 100.1, 0.5, None, "11"),
        BookDelta(T0 + 6 * MS + 3, SYM, [], [(100.1, 1.0)]),
        Trade(T0 + 4 * MS, SYM, 100.1, 0.5, Side.BUY, "12"),
    ]
    rec = recorder(tmp_path)
    stamps = [rec.record(ev) for ev in received]
    rec.close()

    cat = Catalog(tmp_path)
    assert stamps == [T0 + 10 * MS + i * MS for i in range(5)]  # strictly increasing
    # On the receive clock: the events as received, each stamped when it was received.
    assert events(cat, "receive") == [ev._replace(ts_ns=t) for ev, t in zip(received, stamps)]
    # What a backtest of the recording runs on: each event as received, as the venue
    # stamped it, with its receive time (the engine's clock when the run got it).
    arrived = [pair for batch in replayed(cat, "bt", [SYM], batch_rows=2) for pair in batch]
    assert arrived == list(zip(stamps, received))
    # On the exchange clock: the venue's times, which put the trades first.
    assert [type(e).__name__ for e in events(cat)] == [
        "Trade",
        "Trade",
        "BookSnapshot",
        "Ticker",
        "BookDelta",
    ]
    # Each day file keeps both times; the venue's rules are beside the data.
    trades = pq.read_table(cat.files("bt", SYM, "trades")[0])
    assert trades.column("ts_ns").to_pylist() == [T0 + 4 * MS] * 2
    assert trades.column("recv_ns").to_pylist() == [stamps[2], stamps[4]]
    assert cat.instrument("bt", SYM)["min_notional"] == "10"  # type: ignore[index]
    # The run's segments are gone: only the venue's compaction lock file is left.
    assert [p.name for p in (tmp_path / "_recording" / "bt").iterdir()] == [".compact.lock"]


def test_a_ticker_keeps_what_it_did_not_give_unknown(tmp_path: Path) -> None:
    # A ticker without sizes must not replay as sizes of 0: the book would read the
    # touch as empty. A one-sided quote keeps its missing side, and the last price stays.
    quotes = [
        Ticker(T0 + 1, SYM, 100.0, 100.1, None, None, 100.05),
        Ticker(T0 + 2, SYM, None, 100.2, None, 3.0, None),
    ]
    rec = recorder(tmp_path)
    for q in quotes:
        rec.record(q)
    rec.close()
    assert events(Catalog(tmp_path)) == quotes


def test_segments_are_whole_up_to_the_last_flush_and_a_restart_appends_without_duplicates(
    tmp_path: Path,
) -> None:
    rec = recorder(tmp_path)
    rec.record(book(T0))
    for i in range(1, 7):
        rec.record(Trade(T0 + i * MS, SYM, 100.0 + i, 0.1, Side.SELL, str(i)))
        if i % 2 == 0:
            rec.flush()  # three flushes of two trades each
    run_dir = rec.run_dir
    assert run_dir is not None
    rec.close(compact=False)  # stopped without compacting: the segments stay
    segment = next(run_dir.glob("BTC-USDT/trades/*.arrows"))
    # A recorder killed in the middle of writing a batch leaves a torn tail.
    with segment.open("r+b") as f:
        f.seek(0, 2)
        size = f.tell()
        f.truncate(size - 40)
    torn = read_segment(segment)
    assert torn.torn and torn.rows == 4  # the last batch is cut: the two before are whole
    assert torn.table is not None
    assert torn.table.column("trade_id").to_pylist() == ["1", "2", "3", "4"]

    # A restart compacts what the first run left and goes on; the venue sends trade 4
    # again (the restarted stream overlaps), and 5 and 6 are lost with the torn batch.
    again = recorder(tmp_path, start=T0 + 900 * MS)
    assert not run_dir.exists()  # compacted into the day files
    again.record(book(T0 + 800 * MS))
    for i in (4, 7, 8):
        again.record(Trade(T0 + (800 + i) * MS, SYM, 100.0 + i, 0.1, Side.SELL, str(i)))
    again.close()

    cat = Catalog(tmp_path)
    ids = [e.trade_id for e in events(cat, "receive") if isinstance(e, Trade)]
    assert ids == ["1", "2", "3", "4", "7", "8"]  # trade 4 once, with the later receipt
    (gap,) = read_gaps(cat, "bt", SYM)
    # From the last event the first run wrote out to the first the second one received.
    assert (gap.start_ns, gap.end_ns) == (T0 + 14 * MS, T0 + 900 * MS)
    assert gap.reason == "no recorder was running"


def test_compacting_the_same_segments_twice_changes_nothing(tmp_path: Path) -> None:
    rec = recorder(tmp_path)
    rec.record(book(T0))
    rec.record(BookDelta(T0 + 1, SYM, [(100.0, 0.5)], []))
    rec.record(BookDelta(T0 + 1, SYM, [(100.0, 0.7)], []))  # same venue time, two events
    rec.record(Ticker(T0 + 2, SYM, 100.0, 100.1, 1.0, 2.0))
    rec.record(Trade(T0 + 3, SYM, 100.1, 0.2, None, None))  # a trade without an id
    rec.record(Trade(T0 + 3, SYM, 100.1, 0.2, None, "9"))
    run_dir = rec.run_dir
    assert run_dir is not None
    rec.close(compact=False)
    kept = tmp_path / "copy"
    shutil.copytree(run_dir, kept)
    assert compact(tmp_path).runs == 1
    first = events(Catalog(tmp_path), "receive")
    # A compaction killed after writing the day files and before deleting the segments.
    shutil.copytree(kept, run_dir)
    report = compact(tmp_path, "bt")
    assert report.runs == 1 and report.rows["book_deltas"] == 2
    assert events(Catalog(tmp_path), "receive") == first
    assert len(first) == 6


def test_a_reconnect_or_a_failed_stream_is_marked_as_a_gap(tmp_path: Path) -> None:
    rec = recorder(tmp_path)
    rec.record(book(T0))
    rec.record(BookDelta(T0 + 1, SYM, [(100.0, 0.5)], []))  # t0 + 11 ms
    # The adapter reconnected: the venue sends the whole book again.
    rec.record(book(T0 + 2))  # t0 + 12 ms
    rec.record(BookDelta(T0 + 3, SYM, [(100.0, 0.4)], []))  # t0 + 13 ms
    rec.outage("the market data stream failed and was opened again")
    rec.record(book(T0 + 4))  # t0 + 14 ms: one gap, not two
    rec.close()
    cat = Catalog(tmp_path)
    gaps = read_gaps(cat, "bt", SYM)
    assert [(g.start_ns - T0, g.end_ns - T0, g.reason) for g in gaps] == [
        (11 * MS, 12 * MS, RECONNECTED),
        (13 * MS, 14 * MS, "the market data stream failed and was opened again"),
    ]


def test_botkit_data_compact_and_gaps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = recorder(tmp_path)
    rec.record(book(T0))
    rec.record(BookDelta(T0 + 1, SYM, [(100.0, 0.5)], []))
    rec.record(book(T0 + 2))
    rec.close(compact=False)
    assert not Catalog(tmp_path).entries()  # nothing in the day files yet
    assert data_main(["data", "compact", "--catalog", str(tmp_path)]) == 0
    assert "compacted 1 run(s), 2 segment(s): book_deltas 1, book_snapshots 6" in (
        capsys.readouterr().out
    )
    assert len(Catalog(tmp_path).entries()) == 2
    assert data_main(["data", "gaps", "--catalog", str(tmp_path)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("bt\tBTC/USDT\t2024-07-03T09:46:40.011Z\t2024-07-03T09:46:40.012Z")
    assert line.endswith(f"0.001 s\t{RECONNECTED}")


def test_a_backtest_replays_a_recording_a_killed_recorder_left(tmp_path: Path) -> None:
    from botkit.backtest.runner import run_backtest

    rec = recorder(tmp_path / "data")
    rec.record(book(T0))
    for i in range(1, 4):
        rec.record(Trade(T0 + i * MS, SYM, 100.05, 0.1, Side.SELL, str(i)))
    rec.close(compact=False)  # as a SIGKILL leaves it: segments only
    config = parse_config(
        """
venue: {name: sim}
instruments: [{symbol: BTC/USDT, tick_size: "0.01", lot_size: "0.001"}]
strategies: [{use: ema_cross, params: {symbol: BTC/USDT}}]
data: {catalog: data, venue: bt, clock: receive}
output: {progress: "off"}
""",
        base_dir=tmp_path,
    )
    _, summary = run_backtest(config, tmp_path / "report")
    assert summary["events"] == 4  # compacted first, then replayed
    assert [p.name for p in (tmp_path / "data" / "_recording" / "bt").iterdir()] == [
        ".compact.lock"
    ]


def test_a_file_without_receive_times_cannot_replay_on_the_receive_clock(
    small_catalog: Path,
) -> None:
    cat = Catalog(small_catalog)
    with pytest.raises(CatalogError, match=r"has no receive times \(recv_ns\)"):
        next(iter(replay(cat, "sim", ["BTC/USDT"], kinds=["trades"], clock="receive")))
    assert next(iter(replay(cat, "sim", ["BTC/USDT"], kinds=["trades"])))  # exchange: fine


async def test_a_dropped_websocket_is_a_gap_and_the_book_is_whole_again_after_it(
    tmp_path: Path,
) -> None:
    # `botkit record` against the BlockTrade simulator, which drops every websocket
    # every 0.6 s: the adapter reconnects and the venue sends the whole book again.
    from botkit.recording.cli import record
    from botkit.simulator.server import running_simulator

    async with running_simulator("blocktrade", seed=2) as sim:
        sim.set_faults(drop_ws_every_s=0.6)
        config = parse_config(f"""
venue: {{name: blocktrade, base_url: "{sim.base_url}", ws_url: "{sim.ws_url}"}}
instruments: [{{symbol: BTC/USDT, tick_size: "0.01", lot_size: "0.00001"}}]
strategies: [{{use: ema_cross, params: {{symbol: BTC/USDT}}}}]
""")
        summary = await record(config, [SYM], tmp_path, flush_ns=300 * MS, duration_s=2.5)

    cat = Catalog(tmp_path)
    gaps = read_gaps(cat, "blocktrade", SYM)
    assert len(gaps) == summary["gaps"] >= 2
    assert {g.reason for g in gaps} == {RECONNECTED}
    received = [pair for batch in replayed(cat, "blocktrade", [SYM]) for pair in batch]
    for gap in gaps:
        # Nothing was received inside the gap; the first event after it is the book.
        assert not [t for t, _ in received if gap.start_ns < t < gap.end_ns]
        after = next(e for t, e in received if t == gap.end_ns)
        assert isinstance(after, BookSnapshot) and after.bids and after.asks
