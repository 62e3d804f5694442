"""Scheduled treasury jobs: profit sweeps and inventory rebalancing.

bot.yaml's ``treasury.jobs`` lists them; a live or paper run schedules each on
the node's APScheduler jobs (``botkit.jobs.NodeJobs``, :func:`schedule_jobs`),
and ``botkit treasury run-job`` runs one by hand. A job never withdraws by a
path of its own: each run makes at most one :class:`WithdrawalRequest` and
hands it to ``Treasury.withdraw``, so every guard rail (enabled, allowlist,
caps per withdrawal and per rolling day, the balance to keep, the idempotency
key journaled before sending, dry run) applies to it as to any withdrawal.

* :class:`Sweep` — read ``account``'s balance of ``asset``; if it is above
  ``keep`` by at least ``min_amount``, withdraw the excess to ``to`` (an
  allowlist entry, with its chain and tag).
* :class:`Rebalance` — read ``to``'s balance of ``asset``; inside ``band`` there
  is nothing to do; below it, ``target - balance`` goes from ``from`` to
  ``to``'s deposit address; above it, ``balance - target`` goes back from
  ``to`` to ``from``'s deposit address. A deposit address is the receiving
  client's ``deposit_address`` and must be on the allowlist like any other.
  For ``cooldown`` after a transfer the job waits (the deposit takes time to
  arrive, and the balance it reads would not show it yet).

**Once per fire time.** Each run is named by its job and its scheduled fire
time, ``job:<name>@<time>`` (:func:`run_reference`), and that name is the
withdrawal's ``reference``, so it is part of the idempotency key journaled
before anything is sent. Before doing anything a run looks for a journaled
withdrawal of that name: if there is one, that run has happened, and it is
only settled (an attempt whose outcome was lost is the same request again,
which the treasury looks up before it would send anything) and never made
afresh — even though the balance it would read now is another. A restarted
bot, a coalesced missed run, or ``run-job`` by hand for a time the bot already
ran: one withdrawal. A run also waits while an earlier run of the job is
unsettled (it tries to settle it first).

The fire time of a run is the schedule's latest fire time not after the
moment it runs (:func:`fire_time`): for ``cron``, the cron's; for ``every``,
the multiple of the interval from the Unix epoch, as strategy timers fire.

Each run logs one line at INFO (WARNING when refused or uncertain) with the
amounts and the destination shortened (``bc1qxy…0wlh``); never a secret.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from botkit.config.treasury import (
    AllowedAddress,
    RebalanceJob,
    SweepJob,
    TreasuryConfig,
    resolve_to,
)
from botkit.schedule import Cron, Schedule
from botkit.treasury.errors import NotDocumented, WithdrawalRefused
from botkit.treasury.journal import WithdrawalRecord
from botkit.treasury.model import WithdrawalRequest
from botkit.treasury.service import Outcome, Treasury
from botkit.venues.kit.errors import AMBIGUOUS, VenueError

if TYPE_CHECKING:
    from botkit.jobs import NodeJobs

__all__ = [
    "JobRun",
    "Rebalance",
    "Sweep",
    "TreasuryJob",
    "build_jobs",
    "fire_time",
    "run_reference",
    "schedule_jobs",
    "scheduled",
]

log = logging.getLogger("botkit.treasury.jobs")

_NS = 1_000_000_000
_UNSETTLED = ("sending", "unknown")
_LOOKBACK_NS = 400 * 86_400 * _NS  # a cron that fired in none of these days never fires


def fire_time(schedule: Schedule, now_ns: int) -> int:
    """The schedule's latest fire time at or before ``now_ns``."""
    if not isinstance(schedule, Cron):
        return now_ns // schedule * schedule
    span = 60 * _NS
    while span <= _LOOKBACK_NS:
        t = schedule.next_after(now_ns - span)
        if t is not None and t <= now_ns:
            while (n := schedule.next_after(t)) is not None and n <= now_ns:
                t = n
            return t
        span *= 2
    raise ValueError(f"{schedule} has not fired in the last 400 days")


def _iso(ns: int) -> str:
    seconds, rest = divmod(ns, _NS)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f".{rest:09d}".rstrip("0") if rest else ""
    return f"{stamp}{fraction}Z"


def run_reference(job: str, fire_ns: int) -> str:
    """The name of one run of a job: ``job:<name>@<fire time, UTC>``."""
    return f"job:{job}@{_iso(fire_ns)}"


@dataclass(frozen=True)
class JobRun:
    """What one run of a job did.

    ``action``: ``sent`` (a withdrawal went out: ``outcome`` says what became of
    it), ``dry_run``, ``nothing_to_do``, ``already_ran`` (this fire time was run
    before: nothing new), ``settled`` (an earlier attempt of this fire time was
    looked up or sent again under its key), ``waiting`` (an earlier run is
    unsettled, ``code`` ``unsettled``; or the rebalance cools down), ``refused``
    (a guard rail or the venue said no: nothing left; ``code`` is the guard
    rail's), ``unknown`` (the outcome of what was sent is not known yet) or
    ``failed`` (the venue could not be read).
    """

    job: str
    kind: str
    fire_ns: int
    reference: str
    action: str
    message: str
    outcome: Outcome | None = None
    amount: Decimal | None = None
    code: str | None = None

    @property
    def sent(self) -> bool:
        """Whether a create request left in this run."""
        return self.outcome is not None and self.outcome.sent

    @property
    def fire_time(self) -> str:
        return _iso(self.fire_ns)


class TreasuryJob(ABC):
    """A job of ``treasury.jobs``: its name, schedule and :meth:`run`."""

    kind: ClassVar[str]

    def __init__(self, name: str, schedule: Schedule, *, dry_run: bool, min_amount: Decimal):
        self.name = name
        self.schedule = schedule
        self.dry_run = dry_run
        self.min_amount = min_amount

    def fire_time(self, now_ns: int) -> int:
        return fire_time(self.schedule, now_ns)

    def records(self, treasury: Treasury) -> list[WithdrawalRecord]:
        """This job's journaled withdrawals, oldest first."""
        prefix = f"job:{self.name}@"
        return [r for r in treasury.journal.records() if r.reference.startswith(prefix)]

    async def run(self, treasury: Treasury, fire_ns: int, *, dry_run: bool | None = None) -> JobRun:
        """One run for the fire time ``fire_ns`` (see the module notes); never raises
        for what the venue or the guard rails say, and logs what it did."""
        dry = (self.dry_run or treasury.config.dry_run) if dry_run is None else dry_run
        result = await self._run(treasury, fire_ns, dry)
        told = result.action in ("refused", "unknown", "failed") or result.code == "unsettled"
        level = logging.WARNING if told else logging.INFO
        log.log(
            level,
            "treasury job %s (%s): %s: %s",
            self.name,
            result.fire_time,
            result.action,
            result.message,
        )
        return result

    async def _run(self, treasury: Treasury, fire_ns: int, dry: bool) -> JobRun:
        reference = run_reference(self.name, fire_ns)
        records = self.records(treasury)
        this = [r for r in records if r.reference == reference]
        if this:
            return await self._again(treasury, fire_ns, reference, this[-1], dry)
        for earlier in records:
            if earlier.state in _UNSETTLED and not dry:
                await self._settle(treasury, earlier)
        waiting = [r for r in self.records(treasury) if r.state in _UNSETTLED]
        if waiting:
            r = waiting[-1]
            return self._result(
                fire_ns,
                reference,
                "waiting",
                f"the run of {r.reference.partition('@')[2]} is unsettled (withdrawal "
                f"{r.key[:12]}, {r.state}); this run waits until it is",
                code="unsettled",
            )
        try:
            return await self.plan_and_send(treasury, fire_ns, reference, dry)
        except WithdrawalRefused as refusal:
            return self._result(
                fire_ns, reference, "refused", f"{refusal} Nothing was sent", code=refusal.code
            )
        except (NotDocumented, ValueError) as err:
            return self._result(fire_ns, reference, "failed", str(err))
        except (VenueError, *AMBIGUOUS) as err:
            what = str(err) or type(err).__name__
            return self._result(
                fire_ns, reference, "failed", f"the venue could not be read: {what}"
            )

    @abstractmethod
    async def plan_and_send(
        self, treasury: Treasury, fire_ns: int, reference: str, dry: bool
    ) -> JobRun:
        """Read the venue, decide, and send at most one withdrawal."""

    # ----- shared steps ----------------------------------------------------------------------

    def _result(
        self,
        fire_ns: int,
        reference: str,
        action: str,
        message: str,
        outcome: Outcome | None = None,
        amount: Decimal | None = None,
        code: str | None = None,
    ) -> JobRun:
        return JobRun(
            self.name, self.kind, fire_ns, reference, action, message, outcome, amount, code
        )

    @staticmethod
    def _request_of(record: WithdrawalRecord) -> WithdrawalRequest:
        return WithdrawalRequest(
            asset=record.asset,
            amount=record.amount,
            address=record.address,
            tag=record.tag,
            chain=record.chain,
            convert_to=record.convert_to,
            amount_to=record.amount_to,
            reference=record.reference,
        )

    async def _settle(self, treasury: Treasury, record: WithdrawalRecord) -> Outcome | None:
        """The same request again: the treasury looks the attempt up before anything is
        sent (and on a venue that refuses a second withdrawal under the same reference,
        resends it under that reference); refused: it stays unsettled."""
        try:
            return await treasury.withdraw(record.account, self._request_of(record), dry_run=False)
        except WithdrawalRefused as refusal:
            log.warning(
                "treasury job %s: withdrawal %s stays unsettled: %s",
                self.name,
                record.key[:12],
                refusal,
            )
            return None

    async def _again(
        self, treasury: Treasury, fire_ns: int, reference: str, record: WithdrawalRecord, dry: bool
    ) -> JobRun:
        """A fire time that was run before: settle what it sent, never make it afresh."""
        if record.state not in _UNSETTLED:
            return self._result(
                fire_ns,
                reference,
                "already_ran",
                f"this fire time was run before (withdrawal {record.key[:12]}, {record.state}): "
                "nothing sent",
                amount=record.amount,
            )
        if dry:
            return self._result(
                fire_ns,
                reference,
                "dry_run",
                f"this fire time's withdrawal {record.key[:12]} is {record.state}; a real run "
                "settles it (dry run: nothing sent)",
                amount=record.amount,
            )
        outcome = await self._settle(treasury, record)
        if outcome is None:
            return self._result(
                fire_ns,
                reference,
                "unknown",
                f"this fire time's withdrawal {record.key[:12]} is still {record.state}",
                amount=record.amount,
            )
        return self._result(
            fire_ns,
            reference,
            "settled" if outcome.state not in _UNSETTLED else "unknown",
            f"this fire time's withdrawal {record.key[:12]}: {outcome.message} ({outcome.state})",
            outcome,
            record.amount,
        )

    async def _withdraw(
        self,
        treasury: Treasury,
        account: str,
        request: WithdrawalRequest,
        fire_ns: int,
        why: str,
        dry: bool,
    ) -> JobRun:
        outcome = await treasury.withdraw(account, request, dry_run=dry)
        what = f"{why}: {outcome.plan.summary}"
        reference = request.reference
        if outcome.state == "dry_run":
            return self._result(
                fire_ns,
                reference,
                "dry_run",
                f"{what} (dry run: nothing sent)",
                outcome,
                request.amount,
            )
        if outcome.state == "refused":
            return self._result(
                fire_ns, reference, "refused", f"{what}: {outcome.message}", outcome, request.amount
            )
        action = "unknown" if outcome.state in _UNSETTLED else "sent"
        message = f"{what}: {outcome.message} ({outcome.state}, withdrawal {outcome.key[:12]})"
        return self._result(fire_ns, reference, action, message, outcome, request.amount)

    async def _balance(self, treasury: Treasury, account: str, asset: str) -> Decimal:
        balance = await treasury.client(account).balance(asset)
        if balance is None:
            raise NotDocumented(treasury.client(account).venue, "balance", account)
        return balance

    def _too_small(self, amount: Decimal) -> bool:
        return amount <= 0 or amount < self.min_amount


class Sweep(TreasuryJob):
    """Withdraw everything above ``keep`` to an allowlisted address (see the module notes)."""

    kind: ClassVar[str] = "sweep"

    def __init__(self, spec: SweepJob, schedule: Schedule, destination: AllowedAddress) -> None:
        super().__init__(spec.name, schedule, dry_run=spec.dry_run, min_amount=spec.min_amount)
        self.spec = spec
        self.destination = destination

    async def plan_and_send(
        self, treasury: Treasury, fire_ns: int, reference: str, dry: bool
    ) -> JobRun:
        s, to = self.spec, self.destination
        balance = await self._balance(treasury, s.account, s.asset)
        excess = balance - s.keep
        if self._too_small(excess):
            least = f" (the least worth sending is {self.min_amount})" if self.min_amount else ""
            return self._result(
                fire_ns,
                reference,
                "nothing_to_do",
                f"{balance} {s.asset} on {s.account}: nothing above {s.keep} to sweep{least}",
            )
        request = WithdrawalRequest(
            s.asset, excess, to.address, tag=to.tag, chain=to.chain, reference=reference
        )
        why = f"{balance} {s.asset} on {s.account} is {excess} above {s.keep}"
        return await self._withdraw(treasury, s.account, request, fire_ns, why, dry)


class Rebalance(TreasuryJob):
    """Keep ``to``'s balance inside the band (see the module notes)."""

    kind: ClassVar[str] = "rebalance"

    def __init__(self, spec: RebalanceJob, schedule: Schedule) -> None:
        super().__init__(spec.name, schedule, dry_run=spec.dry_run, min_amount=spec.min_amount)
        self.spec = spec

    async def plan_and_send(
        self, treasury: Treasury, fire_ns: int, reference: str, dry: bool
    ) -> JobRun:
        s = self.spec
        now = treasury.clock()
        recent = [
            r
            for r in self.records(treasury)
            if r.state in ("pending", "completed") and now - r.created_ns < s.cooldown
        ]
        if recent:
            left = (s.cooldown - (now - recent[-1].created_ns)) / _NS
            return self._result(
                fire_ns,
                reference,
                "waiting",
                f"transfer {recent[-1].key[:12]} was made less than the cooldown ago; the "
                f"balance is read again in {left:.0f} s",
            )
        balance = await self._balance(treasury, s.to, s.asset)
        low, high = s.band
        if low <= balance <= high:
            return self._result(
                fire_ns,
                reference,
                "nothing_to_do",
                f"{balance} {s.asset} on {s.to} is inside the band [{low}, {high}]",
            )
        if balance < low:
            amount, sender, receiver = s.target - balance, s.source, s.to
            why = f"{balance} {s.asset} on {s.to} is below {low}: {amount} from {s.source}"
        else:
            amount, sender, receiver = balance - s.target, s.to, s.source
            why = f"{balance} {s.asset} on {s.to} is above {high}: {amount} back to {s.source}"
        if self._too_small(amount):
            return self._result(
                fire_ns,
                reference,
                "nothing_to_do",
                f"{why}, less than the least worth sending ({self.min_amount})",
            )
        deposit = await treasury.client(receiver).deposit_address(s.asset, s.chain)
        request = WithdrawalRequest(
            s.asset, amount, deposit.address, tag=deposit.tag, chain=s.chain, reference=reference
        )
        return await self._withdraw(treasury, sender, request, fire_ns, why, dry)


# ----- from bot.yaml, onto the scheduler -------------------------------------------------------


def build_jobs(treasury: TreasuryConfig, timezone: str | None) -> list[TreasuryJob]:
    """The jobs of ``treasury.jobs``; cron schedules are read in ``timezone``."""
    out: list[TreasuryJob] = []
    for entry in treasury.jobs:
        job = entry.job
        schedule: Schedule = (
            Cron(job.cron, timezone or "UTC") if job.cron is not None else int(job.every or 0)
        )
        if isinstance(job, SweepJob):
            to = resolve_to(treasury, job.account, job.asset, job.to)
            if to is None:  # checked when bot.yaml is loaded
                raise ValueError(f"treasury job {job.name}: {job.to!r} is not allowlisted")
            out.append(Sweep(job, schedule, to))
        else:
            out.append(Rebalance(job, schedule))
    return out


def scheduled(
    job: TreasuryJob,
    open_treasury: Callable[[], Treasury],
    *,
    clock: Callable[[], int] = time.time_ns,
    done: Callable[[JobRun], Any] | None = None,
) -> Callable[[], Awaitable[None]]:
    """The scheduler's callable for ``job``: each call runs it for the fire time it is
    called at, on a treasury opened for the run and closed after it."""

    async def run() -> None:
        fire = job.fire_time(clock())
        treasury = open_treasury()
        try:
            result = await job.run(treasury, fire)
        finally:
            await treasury.close()
        if done is not None:
            done(result)

    return run


def schedule_jobs(
    node_jobs: NodeJobs, config: Any, *, open_treasury: Callable[[], Treasury] | None = None
) -> Sequence[TreasuryJob]:
    """Put bot.yaml's treasury jobs on the node's scheduler (live and paper runs)."""
    jobs = build_jobs(config.treasury, config.schedule.timezone)
    opener = open_treasury or (lambda: Treasury.from_config(config))
    if jobs and not config.treasury.enabled:
        log.warning(
            "treasury jobs are scheduled while treasury.enabled is false: each run is "
            "refused (disabled) and sends nothing"
        )
    for job in jobs:
        name = f"treasury:{job.name}"
        if isinstance(job.schedule, Cron):
            node_jobs.on_cron(name, job.schedule, scheduled(job, opener))
        else:
            node_jobs.every(name, job.schedule, scheduled(job, opener), aligned=True)
        log.info("treasury job %s scheduled: %s", job.name, _describe(job.schedule))
    return jobs


def _describe(schedule: Schedule) -> str:
    if isinstance(schedule, Cron):
        return str(schedule)
    from botkit.config.durations import format_duration

    return f"every {format_duration(schedule)}"
