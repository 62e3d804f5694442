"""When things happen: interval and cron schedules, and trading windows.

One set of rules for every mode. A backtest evaluates them on the event clock,
a live or paper run on the wall clock, and both ask the same objects for the
next time, so a cron timer fires at the same instants in a backtest as it would
have live. Cron expressions are APScheduler's ``CronTrigger`` (standard five
fields: minute hour day month day-of-week), always in an explicit IANA timezone:
``0 9 * * mon-fri`` in ``Europe/London`` fires at 09:00 London time, which is
08:00 UTC in summer and 09:00 UTC in winter.

Two corners of the calendar are settled here, not left to the trigger:

- a wall-clock time skipped when the clocks go forward fires once, at the same
  clock reading after the jump (01:30 on a night that goes 01:00 -> 02:00
  fires at 02:30 local, one hour late);
- a wall-clock time that happens twice when the clocks go back fires at both
  instants, and never more often: a schedule always moves forward.

Interval timers fire on multiples of their interval from the Unix epoch (UTC),
whatever the timezone: ``1h`` fires on the hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

_NS = 1_000_000_000
_US = 1_000
# A cron trigger is minute-grained: stepping a minute at a time gets past a
# fire time the trigger repeats in the hour the clocks go back (APScheduler 3).
_STEP = timedelta(minutes=1)
_MAX_STEPS = 24 * 60


def timezone_of(name: str) -> ZoneInfo:
    """An IANA timezone by name; a clear ValueError for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a timezone: use an IANA name such as UTC, Europe/London "
            "or America/New_York"
        ) from None


def _to_dt(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // _NS, UTC) + timedelta(microseconds=(ns % _NS) // _US)


def _to_ns(dt: datetime) -> int:
    delta = dt.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * _US


@dataclass(frozen=True)
class Cron:
    """A cron expression in a timezone."""

    expr: str
    timezone: str

    def __post_init__(self) -> None:
        self.trigger  # noqa: B018 -- check the expression and the timezone now

    @cached_property
    def trigger(self) -> CronTrigger:
        from apscheduler.triggers.cron import CronTrigger  # only where cron is used

        tz = timezone_of(self.timezone)
        try:
            return CronTrigger.from_crontab(self.expr, timezone=tz)
        except ValueError as exc:
            raise ValueError(
                f"{self.expr!r} is not a cron expression ({exc}): give five fields, "
                "minute hour day month day-of-week, e.g. '0 9 * * mon-fri'"
            ) from None

    def next_after(self, ns: int) -> int | None:
        """The first fire time strictly after ``ns`` (None: it never fires again)."""
        trigger = self.trigger
        after = _to_dt(ns) + timedelta(microseconds=1)
        for _ in range(_MAX_STEPS):
            fire = trigger.get_next_fire_time(None, after)
            if fire is None:
                return None
            t = _to_ns(fire)
            if t > ns:
                return t
            after += _STEP
        return None

    def __str__(self) -> str:
        return f"cron {self.expr!r} ({self.timezone})"


Schedule = int | Cron  # an interval in ns, or a cron expression


def first_due(schedule: Schedule, now_ns: int) -> int | None:
    """When a schedule first fires after ``now_ns``."""
    if isinstance(schedule, Cron):
        return schedule.next_after(now_ns)
    return (now_ns // schedule + 1) * schedule


def next_due(schedule: Schedule, fired_ns: int) -> int | None:
    """When a schedule fires next, after firing at ``fired_ns``."""
    if isinstance(schedule, Cron):
        return schedule.next_after(fired_ns)
    return fired_ns + schedule


@dataclass(frozen=True)
class Window:
    """A trading window: a strategy trades from each ``open`` until the next ``close``."""

    open: Cron
    close: Cron

    def is_open(self, now_ns: int) -> bool:
        """Whether ``now_ns`` is inside the window: the next event is a close."""
        nxt_open = self.open.next_after(now_ns)
        nxt_close = self.close.next_after(now_ns)
        if nxt_close is None:
            return False
        return nxt_open is None or nxt_close < nxt_open


__all__ = ["Cron", "Schedule", "Window", "first_due", "next_due", "timezone_of"]
