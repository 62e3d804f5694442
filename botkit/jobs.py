"""The node's scheduled jobs in live and paper mode, on APScheduler.

Strategy timers and trading windows are not here: they run on the engine's
clock (``botkit.schedule``), the same code in a backtest and live, so a cron
timer fires at the same instants in both. These are the jobs around the
engine: the periodic reconciliation with the venue and the daily report. They
run on APScheduler's asyncio scheduler, in the bot's event loop: one instance
of a job at a time, and a run missed while the loop was busy is run once, not
once per missed time (``coalesce``).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botkit.schedule import Cron, timezone_of

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from botkit.engine import Engine

log = logging.getLogger("botkit.jobs")

Job = Callable[[], Awaitable[None]]


class NodeJobs:
    """APScheduler's asyncio scheduler with the node's jobs; cron in ``timezone``."""

    def __init__(self, timezone: str | None = None) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self.timezone = timezone or "UTC"
        self.scheduler: AsyncIOScheduler = AsyncIOScheduler(
            timezone=timezone_of(self.timezone),
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        )
        self.runs: Counter[str] = Counter()

    def every(self, name: str, interval_ns: int, job: Job, *, aligned: bool = False) -> None:
        """Run ``job`` every ``interval_ns`` (the first run one interval from now; with
        ``aligned``, at the multiples of the interval from the Unix epoch, as strategy
        timers fire: ``1h`` on the hour)."""
        from apscheduler.triggers.interval import IntervalTrigger

        trigger = IntervalTrigger(
            seconds=interval_ns / 1e9,
            timezone=timezone_of(self.timezone),
            start_date=datetime(1970, 1, 1, tzinfo=UTC) if aligned else None,
        )
        self.scheduler.add_job(self._counted(name, job), trigger, id=name, name=name)

    def on_cron(self, name: str, cron: Cron, job: Job) -> None:
        """Run ``job`` at each fire time of ``cron`` (in its own timezone)."""
        self.scheduler.add_job(self._counted(name, job), cron.trigger, id=name, name=name)

    def _counted(self, name: str, job: Job) -> Job:
        async def run() -> None:
            try:
                await job()
            except Exception:
                # A job that fails is told and tried again at its next time; it never
                # takes the bot down.
                log.exception("scheduled job %s failed", name)
                self.runs[f"{name}.failed"] += 1
            else:
                self.runs[name] += 1

        return run

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)


@dataclass
class DailyReport:
    """The day's figures of a live or paper run, written to ``<dir>/daily/<date>.json``.

    Each report covers the time since the previous one (or the start): fills,
    fees by asset, rejects by code and the change in strategy PnL; positions and
    balances as they stand. ``strategy_pnl`` is realised PnL net of fees plus the
    unrealised PnL of the strategies' positions at the last price, in the quote
    asset (``botkit.node.strategy_pnl``). Amounts are exact decimal strings in
    plain notation. ``publish``, when given, gets each report as written (with
    ``mqtt:``, the node hands ``OpsService.publish_report``: the report goes out
    on ``<prefix>/<bot_id>/report/daily`` at QoS 1 too).
    """

    engine: Engine
    out_dir: Path
    timezone: str = "UTC"
    publish: Callable[[dict[str, Any]], None] | None = None
    _fills_seen: int = 0
    _rejects_seen: Counter[str] = field(default_factory=Counter)
    _pnl_seen: Decimal = Decimal(0)
    _since_ns: int = 0
    written: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._since_ns = time.time_ns()

    def write(self, now_ns: int | None = None) -> Path:
        from botkit.node import strategy_pnl

        engine = self.engine
        router = engine.router
        now = time.time_ns() if now_ns is None else now_ns
        fills = router.fills[self._fills_seen :]
        fees: dict[str, Decimal] = {}
        for f in fills:
            fees[f.fee_asset] = fees.get(f.fee_asset, Decimal(0)) + f.fee
        rejects = engine.rejects - self._rejects_seen
        pnl = strategy_pnl(engine)
        day = datetime.fromtimestamp(now / 1e9, timezone_of(self.timezone)).date().isoformat()
        report: dict[str, Any] = {
            "date": day,
            "timezone": self.timezone,
            "from": _iso(self._since_ns),
            "to": _iso(now),
            "quote_asset": engine.quote_asset,
            "strategy_pnl": {"since_start": _plain(pnl), "change": _plain(pnl - self._pnl_seen)},
            "fills": len(fills),
            "fees_by_asset": {a: _plain(v) for a, v in sorted(fees.items())},
            "rejects": dict(sorted(rejects.items())),
            "positions": {
                f"{s}:{sym}": _plain(p.size) for (s, sym), p in sorted(router.positions.items())
            },
            "balances": {a: _plain(v) for a, v in sorted(router.balances.items())},
            "includes": (
                "fills, fees and rejects since the previous report; strategy PnL is realised "
                "net of fees plus unrealised at the last price, in the quote asset"
            ),
        }
        folder = self.out_dir / "daily"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{day}.json"
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        log.info(
            "daily report %s: strategy PnL %s (%+f), %d fills, rejects %s",
            path,
            pnl,
            float(pnl - self._pnl_seen),
            len(fills),
            dict(rejects) or "none",
        )
        self._fills_seen += len(fills)
        self._rejects_seen = engine.rejects.copy()
        self._pnl_seen = pnl
        self._since_ns = now
        self.written.append(path)
        if self.publish is not None:
            self.publish(report)
        return path

    async def job(self) -> None:
        self.write()


def _plain(value: Decimal) -> str:
    """An exact decimal in plain notation (``"0.00000000"``, never ``"0E-8"``)."""
    return format(value, "f")


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="seconds")


__all__ = ["DailyReport", "NodeJobs"]
