"""`botkit backtest`: replay the catalog through the one path and write the report."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botkit.backtest.catalog import to_ns
from botkit.backtest.result import BacktestResult
from botkit.backtest.spill import DEFAULT_ROWS, Scratch, SpillLog, all_orders
from botkit.backtest.spill import install as install_spill
from botkit.config import BotConfig
from botkit.engine import Engine
from botkit.node import build_backtest

if TYPE_CHECKING:
    from botkit.backtest.catalog import Catalog

log = logging.getLogger(__name__)


class BacktestDataError(ValueError):
    """The catalog has nothing (or not enough) to replay for this config; ``str()`` says
    what it holds for the venue and symbol instead, and how to fix the config."""


class _Interrupt:
    """Ctrl-C during the replay ends it at the next batch, so the report is written
    from a consistent state; a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._old: Any = None

    def __enter__(self) -> _Interrupt:
        # Signal handlers can only be set from the main thread; elsewhere Ctrl-C
        # does not reach this code anyway.
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)

    def batches(self, batches: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
        for batch in batches:
            if self.requested:
                return
            yield batch


def run_backtest(
    config: BotConfig,
    out_dir: Path | None = None,
    progress: bool | None = None,
    *,
    report: bool = True,
    spill_rows: int = DEFAULT_ROWS,
) -> tuple[BacktestResult, dict[str, Any]]:
    """Replay the catalog per ``config.data`` and write the report.

    With ``report=False`` nothing is written: the summary is computed as for
    ``summary.json`` and returned (``botkit sweep`` runs many backtests so).

    Fills and closed orders beyond ``spill_rows`` of each go to Parquet files in a
    dot-folder of the output folder (the system's temporary folder with
    ``report=False``) as the run goes (``botkit.backtest.spill``); the result reads
    them from there, and the folder goes when the result does.

    Raises :class:`BacktestDataError` when a configured instrument has no data
    in the range, and ``CatalogError`` for a bad data file. Ctrl-C ends the
    replay early; the report is then marked ``partial``.
    """
    from botkit.backtest.catalog import Catalog, funding_rates, replay, replay_count
    from botkit.backtest.progress import Progress
    from botkit.backtest.report import summarize, write_report

    catalog = Catalog(config.resolve_path(config.data.catalog))
    venue = config.data.venue or config.venue.name
    _compact_recordings(catalog, venue)
    start = None if config.data.start is None else to_ns(config.data.start)
    end = None if config.data.end is None else to_ns(config.data.end)
    # Recorded funding of the perpetuals, paid at its own times (else sim.funding_rate).
    perpetuals = [i.symbol for i in config.instruments if i.kind.endswith("perpetual")]
    recorded = {s: funding_rates(catalog, venue, s, start, end) for s in perpetuals}
    engine = build_backtest(config, {s: rows for s, rows in recorded.items() if rows})
    out = Path(out_dir or config.resolve_path(config.output.dir)) if report else None
    install_spill(engine, Scratch(out), spill_rows)
    initial_balances = dict(engine.router.balances)
    symbols = list(engine.instruments)
    kinds = tuple(config.data.kinds)
    if not catalog.entries():
        raise BacktestDataError(
            f"the data catalog {catalog.root} holds no data: run `botkit data make-sample` "
            "or import data with `botkit data import`"
        )
    warnings = check_coverage(catalog, venue, symbols, kinds, start, end)
    for text in warnings:
        log.warning("%s", text)
    total = replay_count(catalog, venue, symbols, kinds=kinds, start_ns=start, end_ns=end)
    mode = config.output.progress
    enabled = progress if progress is not None else {"on": True, "off": False}.get(mode)
    bar = Progress(total, enabled=enabled)
    t0 = time.perf_counter()
    with _Interrupt() as interrupt:
        try:
            if config.data.clock == "receive":
                # A recording, replayed as the run that received it (botkit.recording.replay).
                from botkit.recording.replay import received, run_received

                arrived = received(catalog, venue, symbols, kinds=kinds, start_ns=start, end_ns=end)
                run_received(engine, interrupt.batches(arrived), on_batch=bar.update)
            else:
                events = replay(catalog, venue, symbols, kinds=kinds, start_ns=start, end_ns=end)
                engine.run_backtest(interrupt.batches(events), on_batch=bar.update)
        finally:
            bar.close()
        if engine.events == 0 and not interrupt.requested:
            raise BacktestDataError(
                f"no events replayed from {catalog.root} for {', '.join(symbols)} on {venue}"
                f"{_window_text(start, end)} with data.kinds [{', '.join(kinds)}]. "
                + " ".join(describe_holdings(catalog, venue, s) for s in symbols)
            )
        engine.stop()
    wall = time.perf_counter() - t0
    result = collect(engine, wall, initial_balances)
    result.partial = interrupt.requested
    result.warnings = warnings
    if out is None:
        return result, summarize(result)
    summary = write_report(result, out)
    return result, summary


def _compact_recordings(catalog: Catalog, venue: str) -> None:
    """Recordings of ``venue`` (``botkit record``, ``live.record``) are replayed from the
    day files: compact what finished recorders left first. A recorder still running
    keeps its segments until it stops."""
    from botkit.recording.compaction import compact

    report = compact(catalog.root, venue)
    if report.runs:
        log.info("compacted recordings of %s: %s", venue, report.summary())
    if report.live:
        log.warning(
            "%d recording(s) of %s are still running: what they recorded is replayed once "
            "they stop (or `botkit data compact` after they did)",
            len(report.live),
            venue,
        )


# ---- what the catalog holds ------------------------------------------------------


def _day(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns // 1_000_000_000, UTC).strftime("%Y-%m-%d %H:%M")


def _window_text(start: int | None, end: int | None) -> str:
    if start is None and end is None:
        return ""
    lo = "the start" if start is None else _day(start)
    hi = "the end" if end is None else _day(end)
    return f" between {lo} and {hi}"


def _kind_spans(
    catalog: Catalog, venue: str, symbol: str, kinds: Iterable[str]
) -> dict[str, tuple[int, int, int]]:
    """(first ts, last ts, rows) of each kind, from the file footers."""
    from botkit.backtest.catalog import _file_info

    spans: dict[str, tuple[int, int, int]] = {}
    for kind in kinds:
        lo: int | None = None
        hi: int | None = None
        rows = 0
        for path in catalog.files(venue, symbol, kind):
            info = _file_info(path)
            rows += info.rows
            if info.min_ts is not None and info.max_ts is not None:
                lo = info.min_ts if lo is None else min(lo, info.min_ts)
                hi = info.max_ts if hi is None else max(hi, info.max_ts)
        if lo is not None and hi is not None:
            spans[kind] = (lo, hi, rows)
    return spans


def describe_holdings(catalog: Catalog, venue: str, symbol: str) -> str:
    """One sentence: what the catalog holds for ``venue`` and ``symbol`` (kinds, ranges)."""
    venues = catalog.venues()
    if venue not in venues:
        return (
            f"The catalog {catalog.root} has no venue '{venue}' (it holds: "
            f"{', '.join(venues) or 'nothing'}); set data.venue to one of those."
        )
    symbols = catalog.symbols(venue)
    if symbol not in symbols:
        return (
            f"It holds no {symbol} on {venue} (symbols there: {', '.join(symbols) or 'none'}); "
            "import it with `botkit data import` or configure one of those."
        )
    spans = _kind_spans(catalog, venue, symbol, catalog.kinds(venue, symbol))
    if not spans:
        return f"It holds no rows for {symbol} on {venue}."
    held = "; ".join(
        f"{kind} {_day(lo)} to {_day(hi)} UTC ({rows:,} rows)"
        for kind, (lo, hi, rows) in spans.items()
    )
    return (
        f"For {symbol} on {venue} it holds: {held}. Set data.kinds, data.start and "
        "data.end (or --start/--end) to what is there."
    )


def check_coverage(
    catalog: Catalog,
    venue: str,
    symbols: Sequence[str],
    kinds: Sequence[str],
    start: int | None,
    end: int | None,
) -> list[str]:
    """Fail when a configured instrument has no data to replay; warn (returned texts)
    when no range is configured and the kinds replayed for one symbol cover very
    different time ranges (a day of ticks beside years of candles)."""
    from botkit.backtest.catalog import BOOK_DELTAS, BOOK_SNAPSHOTS, _streams_spec

    warnings: list[str] = []
    for symbol in symbols:
        chosen = [k for _, k in _streams_spec(catalog, venue, [symbol], kinds)]
        spans = _kind_spans(catalog, venue, symbol, chosen)
        window_lo = start if start is not None else -1
        window_hi = end - 1 if end is not None else 2**63
        clipped = {k: (max(lo, window_lo), min(hi, window_hi)) for k, (lo, hi, _) in spans.items()}
        clipped = {k: (lo, hi) for k, (lo, hi) in clipped.items() if lo <= hi}
        if not clipped:
            raise BacktestDataError(
                f"{symbol} has no data to replay on {venue}{_window_text(start, end)} "
                f"with data.kinds [{', '.join(kinds)}]. {describe_holdings(catalog, venue, symbol)}"
            )
        # One snapshot and the deltas after it are one book: the deltas carry its range.
        ranged = {
            k: v for k, v in clipped.items() if not (k == BOOK_SNAPSHOTS and BOOK_DELTAS in clipped)
        }
        # A range in the config is the range the user wants: only an open-ended
        # replay can silently stretch over the longest kind.
        if len(ranged) > 1 and start is None and end is None:
            lo = min(a for a, _ in ranged.values())
            hi = max(b for _, b in ranged.values())
            union = max(hi - lo, 1)
            # "Very different": one kind covers less than a tenth of what the replay spans,
            # so most of the run replays the other kinds alone.
            if any((b - a) * 10 < union for a, b in ranged.values()):
                ranges = ", ".join(f"{k} {_day(a)} to {_day(b)}" for k, (a, b) in ranged.items())
                warnings.append(
                    f"{symbol}: the kinds replayed cover very different ranges ({ranges} UTC), "
                    f"so the run spans {_day(lo)} to {_day(hi)} UTC; set data.start/data.end "
                    "(or --start/--end) to replay one range, or data.kinds to replay fewer kinds"
                )
    return warnings


def collect(
    engine: Engine, wall_s: float, initial_balances: dict[str, Decimal] | None = None
) -> BacktestResult:
    """What a stopped engine did, as the report reads it (backtest and paper alike);
    ``initial_balances`` are the account's before the run, which the report needs
    to tell the strategies' PnL from the drift of the starting holdings."""
    result = _collect(engine, wall_s)
    if initial_balances is not None:
        result.initial_balances = dict(initial_balances)
    result.prices = engine.marks
    result.initial_marks = {
        sym: Decimal(repr(path[0][1]))
        for sym, path in engine.marks.items()
        if path and path[0][0] == result.start_ns
    }
    return result


def _collect(engine: Engine, wall_s: float) -> BacktestResult:
    router = engine.router
    equity = engine.equity
    marks = {
        s: Decimal(repr(b.last_price)) for s, b in engine.books.items() if b.last_price is not None
    }
    initial = engine.initial_equity if engine.initial_equity is not None else engine.equity_now()
    return BacktestResult(
        strategies=list(engine.slots),
        quote_asset=engine.quote_asset,
        initial_equity=initial,
        final_equity=engine.equity_now(),
        start_ns=equity[0][0] if equity else 0,
        end_ns=engine.now_ns,
        events=engine.events,
        wall_s=wall_s,
        # A backtest's are spill logs (botkit.backtest.spill), read from disk, not copied.
        fills=router.fills if isinstance(router.fills, SpillLog) else list(router.fills),
        orders=all_orders(router),
        rejects=engine.rejects.copy(),
        equity=list(equity),
        positions=router.positions,
        marks=marks,
        balances=dict(router.balances),
        hook_errors=dict(engine.hook_errors),
        instruments=dict(engine.instruments),
        funding=dict(router.funding),
        liquidations=list(getattr(engine.market, "liquidations", ())),
        absorbed=dict(getattr(engine.market, "absorbed", {})),
    )
