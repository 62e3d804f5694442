"""Backtesting a recording as the run that received it: ``data.clock: receive``.

A paper or live run handles each market event when it arrives: its feed moves the
engine's clock to the receive time, then dispatches the event as the venue stamped
it (``botkit.node._feed``). :func:`received` reads a recording back the same way
(every event of every symbol and kind in the order it was received, each with its
receive time and the venue's own stamp), and :func:`run_received` drives an engine
with it through the very calls the feed makes (``Engine.tick``, then
``Engine.dispatch``). The strategies, the risk module, the router and the matching
engine then see the same events at the same clock times in the backtest as in the
run that recorded them, and give the same orders and fills
(``tests/test_recording_parity.py``).

The reading and its checks are the catalog's (``botkit.backtest.catalog``, the
receive clock of :func:`~botkit.backtest.catalog.replay`).
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from botkit.backtest.catalog import (
    BOOK_DELTAS,
    RECEIVE_CLOCK,
    Catalog,
    _event_chunks,
    _streams_spec,
    book_at,
)
from botkit.engine import Engine

Received = tuple[int, Any]  # (recv_ns, the event as the venue stamped it)


def received(
    catalog: Catalog,
    venue: str,
    symbols: str | Sequence[str],
    kinds: Iterable[str] = ("book", "quotes", "trades", "bars"),
    start_ns: int | None = None,
    end_ns: int | None = None,
    batch_rows: int = 65536,
) -> Iterator[list[Received]]:
    """Batches of (receive time, event) in the order the events were received, in
    ``[start_ns, end_ns)`` of the receive clock. A window that starts mid-recording
    opens with the book as it stood then (:func:`~botkit.backtest.catalog.book_at`).

    Every file must hold receive times (``recv_ns``); one that does not is a
    ``CatalogError``, as on the receive clock of ``replay``.
    """
    spec = _streams_spec(catalog, venue, symbols, kinds)
    streams: list[Iterator[tuple[int, int, int, Any]]] = []
    if start_ns is not None:
        for sym in dict.fromkeys(s for s, k in spec if k == BOOK_DELTAS):
            snap = book_at(catalog, venue, sym, start_ns)
            if snap is not None:
                streams.append(iter([(start_ns, -1, 0, snap)]))
    for rank, (sym, kind) in enumerate(spec):
        chunks = _event_chunks(
            catalog, venue, sym, kind, start_ns, end_ns, batch_rows, RECEIVE_CLOCK, True
        )
        streams.append(_keyed(chunks, rank))
    batch: list[Received] = []
    # Receive times of one recorder never repeat; ties (two recorders) go in the
    # catalog's tie order: book, quotes, trades, bars, then the symbols' order.
    for recv, _, _, event in heapq.merge(*streams, key=lambda row: row[:3]):
        batch.append((recv, event))
        if len(batch) >= batch_rows:
            yield batch
            batch = []
    if batch:
        yield batch


def _keyed(
    chunks: Iterator[tuple[Any, Sequence[Any]]], rank: int
) -> Iterator[tuple[int, int, int, Any]]:
    seq = 0
    for times, events in chunks:
        for t, event in zip(times.tolist(), events, strict=True):
            yield t, rank, seq, event
            seq += 1


def run_received(
    engine: Engine,
    batches: Iterable[Sequence[Received]],
    on_batch: Callable[[int], None] | None = None,
) -> None:
    """Run ``engine`` over received events as a paper or live run's feed does: at each
    event the clock moves to its receive time (timers, latency and equity samples due
    by then run first), then the event is dispatched."""
    started = False
    n = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as Engine.run_backtest: events make no cycles; collect between batches
    try:
        for i, batch in enumerate(batches):
            for recv, event in batch:
                if not started:
                    engine.start(recv)
                    started = True
                engine.tick(recv)
                engine.dispatch(event)
            n += len(batch)
            if i % 32 == 31:
                gc.collect(1)
            if on_batch is not None:
                on_batch(n)
    finally:
        if gc_was_enabled:
            gc.enable()
    if not started:
        engine.start(0)


__all__ = ["Received", "received", "run_received"]
