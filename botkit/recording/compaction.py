"""Compaction: a finished recording run's segments into the catalog's day files.

A run is finished when no process holds its lock: it stopped cleanly (and then
compacted itself), or it was killed. Compaction reads every whole batch of each
segment (a torn tail is left out and reported), writes them with
:meth:`Catalog.write`, which merges them into the day's Parquet file and drops
what is already there (trades by trade id; a recorded book event or quote by its
times; a trade without an id by its exchange and receive time), adds the run's
gaps to each symbol's ``gaps.json``, and deletes the run. Compacting the same
segments twice (a compaction killed before it deleted them) changes nothing.

It runs when a recorder stops cleanly, when one starts (what killed runs left),
before a backtest replays a venue (``botkit backtest``), and on demand (``botkit
data compact``). A venue is compacted by one process at a time.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from botkit.backtest.catalog import RECV_NS, TRADES, Catalog
from botkit.backtest.checks import CatalogError, open_parquet
from botkit.recording.recorder import (
    RECORDING_DIR,
    Gap,
    RunLock,
    _write_json,
    recording_root,
)
from botkit.recording.segments import SUFFIX, read_segment

log = logging.getLogger("botkit.recording")

GAPS_FILE = "gaps.json"
_COMPACT_LOCK = ".compact.lock"


@dataclass
class CompactReport:
    """What a compaction did."""

    runs: int = 0
    segments: int = 0
    rows: Counter[str] = field(default_factory=Counter)  # kind -> rows written
    gaps: int = 0
    torn: list[Path] = field(default_factory=list)  # segments cut short by a kill
    live: list[Path] = field(default_factory=list)  # runs still recording: left alone

    def summary(self) -> str:
        rows = ", ".join(f"{k} {n:,}" for k, n in sorted(self.rows.items())) or "no rows"
        text = f"{self.runs} run(s), {self.segments} segment(s): {rows}; {self.gaps} gap(s)"
        if self.torn:
            text += f"; {len(self.torn)} segment(s) ended in a torn batch (left out)"
        if self.live:
            text += f"; {len(self.live)} run(s) still recording (left for later)"
        return text


def compact_lock(root: Path, venue: str) -> RunLock:
    """The lock one compaction (or a recorder creating its run) of ``venue`` holds."""
    return RunLock(recording_root(root, venue) / _COMPACT_LOCK)


def compact(root: str | Path, venue: str | None = None) -> CompactReport:
    """Compact every finished run of ``venue`` (every venue when None) in catalog ``root``."""
    root = Path(root)
    report = CompactReport()
    base = root / RECORDING_DIR
    if not base.is_dir():
        return report
    venues = [venue] if venue is not None else sorted(d.name for d in base.iterdir() if d.is_dir())
    catalog = Catalog(root)
    for v in venues:
        vdir = recording_root(root, v)
        if not vdir.is_dir():
            continue
        with compact_lock(root, v):
            for run in sorted(d for d in vdir.iterdir() if d.is_dir()):
                lock = RunLock(run / "lock")
                if not lock.acquire():
                    report.live.append(run)
                    continue
                try:
                    compact_run(catalog, v, run, report)
                finally:
                    lock.release()
    return report


def recording_in_progress(root: str | Path, venue: str) -> list[Path]:
    """The runs still recording ``venue`` into catalog ``root`` (their locks are held)."""
    vdir = recording_root(Path(root), venue)
    if not vdir.is_dir():
        return []
    live = []
    for run in sorted(d for d in vdir.iterdir() if d.is_dir()):
        lock = RunLock(run / "lock")
        if lock.acquire():
            lock.release()
        else:
            live.append(run)
    return live


def compact_run(
    catalog: Catalog, venue: str, run_dir: Path, report: CompactReport | None = None
) -> CompactReport:
    """Move one finished run into the catalog, then delete it. The caller holds the
    run's lock and the venue's compaction lock."""
    report = report if report is not None else CompactReport()
    names = _run_symbols(run_dir)
    for sdir in sorted(d for d in run_dir.iterdir() if d.is_dir()):
        for kdir in sorted(d for d in sdir.iterdir() if d.is_dir()):
            for path in sorted(kdir.glob(f"*{SUFFIX}")):
                seg = read_segment(path)
                report.segments += 1
                if seg.torn:
                    report.torn.append(path)
                    log.warning("%s: a batch cut short by a kill was left out", path)
                if seg.table is None or seg.rows == 0:
                    continue
                symbol = seg.symbol or names.get(sdir.name) or sdir.name
                kind = seg.kind or kdir.name
                table = _unique_trades(seg.table) if kind == TRADES else seg.table
                catalog.write(venue, symbol, kind, table)
                report.rows[kind] += table.num_rows
    gaps = _read_gap_lines(run_dir / "gaps.jsonl")
    by_symbol: dict[str, list[Gap]] = {}
    for gap in gaps:
        by_symbol.setdefault(gap.symbol, []).append(gap)
    for symbol, found in by_symbol.items():
        add_gaps(catalog, venue, symbol, found)
    report.gaps += len(gaps)
    report.runs += 1
    shutil.rmtree(run_dir, ignore_errors=True)
    return report


def _run_symbols(run_dir: Path) -> dict[str, str]:
    try:
        meta = json.loads((run_dir / "meta.json").read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in meta.get("symbols", {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _unique_trades(table: pa.Table) -> pa.Table:
    """A venue may send a trade twice (a repeat after a reconnect): keep the first."""
    ids = table.column("trade_id").to_pylist()
    seen: set[object] = set()
    keep = []
    for i in ids:
        if i is None:
            keep.append(True)
        elif i in seen:
            keep.append(False)
        else:
            seen.add(i)
            keep.append(True)
    return table if all(keep) else table.filter(pa.array(keep))


# ----- gaps ------------------------------------------------------------------------------


def _read_gap_lines(path: Path) -> list[Gap]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(Gap.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            continue  # the line a kill cut short
    return out


def gaps_path(catalog: Catalog, venue: str, symbol: str) -> Path:
    return catalog.symbol_path(venue, symbol) / GAPS_FILE


def read_gaps(catalog: Catalog, venue: str, symbol: str) -> list[Gap]:
    """The outages recorded for ``symbol`` (receive clock), oldest first."""
    path = gaps_path(catalog, venue, symbol)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [Gap.from_json(g) for g in data["gaps"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CatalogError(path, f"cannot be read ({exc})", fix="Delete it") from None


def add_gaps(catalog: Catalog, venue: str, symbol: str, gaps: list[Gap]) -> None:
    """Add gaps to ``symbol``'s ``gaps.json`` (the same gap twice is kept once)."""
    known = read_gaps(catalog, venue, symbol)
    merged = {(g.start_ns, g.end_ns): g for g in [*known, *gaps]}
    rows = [merged[k].to_json() for k in sorted(merged)]
    _write_json(gaps_path(catalog, venue, symbol), {"symbol": symbol, "gaps": rows})


# ----- what the catalog holds -------------------------------------------------------------


def last_received(catalog: Catalog, venue: str, symbol: str) -> int | None:
    """The latest receive time recorded for ``symbol`` (from the last day files' footers)."""
    best: int | None = None
    for kind in catalog.kinds(venue, symbol):
        for path in catalog.files(venue, symbol, kind)[-2:]:
            value = _max_recv(path)
            if value is not None and (best is None or value > best):
                best = value
    return best


def _max_recv(path: Path) -> int | None:
    md = open_parquet(path).metadata
    names = md.schema.names
    if RECV_NS not in names:
        return None
    idx = names.index(RECV_NS)
    best: int | None = None
    for g in range(md.num_row_groups):
        st = md.row_group(g).column(idx).statistics
        if st is None or not st.has_min_max:
            col = pq.read_table(path, columns=[RECV_NS]).column(RECV_NS).drop_null()
            return int(pc.max(col).as_py()) if len(col) else None
        best = st.max if best is None else max(best, st.max)
    return best


__all__ = [
    "GAPS_FILE",
    "CompactReport",
    "add_gaps",
    "compact",
    "compact_lock",
    "compact_run",
    "gaps_path",
    "last_received",
    "read_gaps",
    "recording_in_progress",
]
