"""Append-only segment files: what a recorder writes between two compactions.

A segment is one Arrow IPC *stream* per (run, symbol, kind, UTC day): a schema, then
one record batch per flush. Each flush appends a batch, then flushes and fsyncs the
file, so a recorder killed at any moment (SIGKILL, power loss after the fsync)
leaves a file whose batches up to the last flush are whole; the one it was writing,
if any, is a torn tail that :func:`read_segment` leaves out. Appending costs the new
rows only, however long the day is; the day's Parquet file is written once, when
the segment is compacted (``botkit.recording.compaction``).

The columns are the catalog's for the kind (``botkit.backtest.catalog``) plus
``recv_ns``; trade ids are kept as text (every adapter reads them as text).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyarrow as pa

from botkit.backtest.catalog import (
    BOOK_DELTAS,
    BOOK_SNAPSHOTS,
    QUOTES,
    TRADES,
    is_bars_kind,
)

SUFFIX = ".arrows"  # the customary extension of an Arrow IPC stream

_F = pa.float64()
_I = pa.int64()
_S8 = pa.int8()

_SCHEMAS: dict[str, pa.Schema] = {
    TRADES: pa.schema(
        [
            ("ts_ns", _I),
            ("price", _F),
            ("size", _F),
            ("side", _S8),
            ("trade_id", pa.string()),
            ("recv_ns", _I),
        ]
    ),
    BOOK_SNAPSHOTS: pa.schema(
        [
            ("ts_ns", _I),
            ("side", _S8),
            ("level", pa.int16()),
            ("price", _F),
            ("size", _F),
            ("recv_ns", _I),
        ]
    ),
    BOOK_DELTAS: pa.schema(
        [("ts_ns", _I), ("side", _S8), ("price", _F), ("size", _F), ("recv_ns", _I)]
    ),
    QUOTES: pa.schema(
        [
            ("ts_ns", _I),
            ("bid", _F),
            ("bid_size", _F),
            ("ask", _F),
            ("ask_size", _F),
            ("recv_ns", _I),
            ("last", _F),
        ]
    ),
    "bars": pa.schema(
        [
            ("ts_ns", _I),
            ("open", _F),
            ("high", _F),
            ("low", _F),
            ("close", _F),
            ("volume", _F),
            ("recv_ns", _I),
        ]
    ),
}


def segment_schema(kind: str) -> pa.Schema:
    """The columns a segment of ``kind`` holds."""
    return _SCHEMAS["bars" if is_bars_kind(kind) else kind]


class SegmentWriter:
    """Appends record batches to one segment file; every :meth:`append` is durable."""

    def __init__(self, path: Path, kind: str, symbol: str, *, fsync: bool = True) -> None:
        self.path = path
        self.kind = kind
        self.symbol = symbol
        self.fsync = fsync
        self.rows = 0
        self.batches = 0
        schema = segment_schema(kind)
        self.schema = schema.with_metadata(
            {"botkit.symbol": symbol, "botkit.kind": kind, "botkit.recording": "1"}
        )
        self._file: IO[bytes] | None = None
        self._writer: pa.ipc.RecordBatchStreamWriter | None = None

    def append(self, columns: dict[str, list[object]]) -> None:
        """Write one batch (column name -> values) and make it durable."""
        batch = pa.record_batch(
            [pa.array(columns[f.name], type=f.type) for f in self.schema], schema=self.schema
        )
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # A new run never appends to an older file: whatever a killed writer left
            # at its tail stays where it is, behind whole batches.
            self._file = open(self.path, "xb")  # noqa: SIM115 - closed in close()
            self._writer = pa.ipc.new_stream(self._file, self.schema)
        self._writer.write_batch(batch)
        assert self._file is not None
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())
        self.rows += batch.num_rows
        self.batches += 1

    def close(self) -> None:
        """End the stream (an end-of-stream marker) and close the file. Idempotent."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._file is not None:
            self._file.flush()
            if self.fsync:
                os.fsync(self._file.fileno())
            self._file.close()
            self._file = None


@dataclass(frozen=True)
class Segment:
    """What a segment file holds: its whole batches, and whether a torn tail was left out."""

    path: Path
    symbol: str | None
    kind: str | None
    table: pa.Table | None  # None: not even the schema was written
    torn: bool

    @property
    def rows(self) -> int:
        return 0 if self.table is None else self.table.num_rows


def read_segment(path: Path) -> Segment:
    """Every whole batch of a segment; a batch cut short by a kill is left out (``torn``)."""
    batches: list[pa.RecordBatch] = []
    torn = False
    schema: pa.Schema | None = None
    try:
        with open(path, "rb") as f:
            try:
                reader = pa.ipc.open_stream(f)
            except (pa.ArrowInvalid, OSError, EOFError):
                return Segment(path, None, None, None, path.stat().st_size > 0)
            schema = reader.schema
            while True:
                try:
                    batches.append(reader.read_next_batch())
                except StopIteration:
                    break
                except (pa.ArrowInvalid, OSError, EOFError):
                    torn = True
                    break
    except FileNotFoundError:
        return Segment(path, None, None, None, False)
    meta = schema.metadata or {}
    symbol = meta.get(b"botkit.symbol")
    kind = meta.get(b"botkit.kind")
    return Segment(
        path,
        symbol.decode() if symbol else None,
        kind.decode() if kind else None,
        pa.Table.from_batches(batches, schema=schema),
        torn,
    )


__all__ = ["SUFFIX", "Segment", "SegmentWriter", "read_segment", "segment_schema"]
