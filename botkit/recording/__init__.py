"""Recording a venue's public market data into the catalog.

``botkit record bot.yaml`` (:mod:`botkit.recording.cli`) and paper or live runs
with ``live.record`` write trades, book snapshots and deltas, best bid/ask quotes
and bars, each with the venue's time (``ts_ns``) and the receive time
(``recv_ns``), into append-only segments flushed every few seconds
(:mod:`~botkit.recording.segments`), compacted into the catalog's day files
(:mod:`~botkit.recording.compaction`), with the outages marked as gaps.
:mod:`botkit.recording.recorder` describes the layout.
"""

from botkit.recording.compaction import CompactReport, compact, read_gaps
from botkit.recording.recorder import Gap, MarketRecorder, record_stream

__all__ = ["CompactReport", "Gap", "MarketRecorder", "compact", "read_gaps", "record_stream"]
