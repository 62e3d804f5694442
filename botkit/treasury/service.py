"""The treasury: a withdrawal from request to final status, behind every guard rail.

``Treasury.withdraw(account, request)`` is the whole path; the CLI splits it in
two to ask for confirmation in between, and the scheduler's jobs (sweeps and
rebalancing) call it with a ``reference`` of their own:

1. :meth:`Treasury.plan` — the guard rails (``guards``, the client's ``check``),
   the idempotency key (``keys``), what the journal knows of it, and the exact
   request (``PreparedRequest``, signed): nothing is written, nothing sent;
2. :meth:`Treasury.execute` — if an earlier attempt of the same request may
   have reached the venue, look it up by its reference first and adopt it;
   else journal the attempt (``reserve``: the daily cap re-checked), send it,
   journal the outcome. A lost reply (timeout, reset, 5xx, unreadable) is
   ``unknown``: looked up at once where the venue documents a lookup, and by
   the next run of the same request otherwise — which resends the same
   reference, refused by the venue as a duplicate if the first one arrived. On a
   venue that keeps no reference of ours (``Features.dedupe`` false) the attempt
   is looked up by its fields, and never resent until found or settled by hand
   (:meth:`Treasury.mark`);
3. :meth:`Treasury.follow` — poll the venue until the status is final, every
   change journaled.

A dry run (``treasury.dry_run`` or ``dry_run=True``) runs 1 and stops: the
outcome carries the request exactly as it would leave (``prepared.shown()``
masks the secrets). Logs at INFO never hold a secret or a whole address
(addresses are shortened: ``bc1qxy…0wlh``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botkit.config.treasury import TreasuryConfig
from botkit.redact import Secret, shorten
from botkit.treasury import guards
from botkit.treasury.client import Connection, WithdrawalClient
from botkit.treasury.errors import DuplicateWithdrawal, NotDocumented, WithdrawalRefused
from botkit.treasury.journal import TreasuryJournal, WithdrawalRecord
from botkit.treasury.keys import idempotency_key
from botkit.treasury.model import Withdrawal, WithdrawalRequest, WithdrawalStatus
from botkit.treasury.wire import PreparedRequest
from botkit.venues import registry
from botkit.venues.kit.errors import AMBIGUOUS, Conflict, VenueError

__all__ = ["Outcome", "Plan", "Treasury", "build_clients"]

log = logging.getLogger("botkit.treasury")

# The journal states a withdrawal the venue has taken moves through.
_STATE_OF = {
    WithdrawalStatus.PENDING: "pending",
    WithdrawalStatus.COMPLETED: "completed",
    WithdrawalStatus.FAILED: "failed",
    WithdrawalStatus.CANCELLED: "cancelled",
}


@dataclass(frozen=True)
class Plan:
    """A withdrawal that passed the guard rails, ready to execute.

    ``prepared`` is None when there is nothing to send: the journal shows the
    same request already taken by the venue (``existing``).
    """

    account: str
    venue: str
    request: WithdrawalRequest
    key: str
    venue_ref: str
    prepared: PreparedRequest | None
    existing: WithdrawalRecord | None
    label: str | None = None
    found: Withdrawal | None = None  # an earlier attempt, found at the venue

    @property
    def summary(self) -> str:
        """One line for logs: shortened address, no secret."""
        return _describe(self.request, self.account, self.label)


@dataclass(frozen=True)
class Outcome:
    """What became of a withdrawal. ``state`` is the journal's (``dry_run`` for a dry
    run); ``sent`` says whether a create request went out in this call (whatever the
    venue made of it: a refusal, a duplicate, a lost reply)."""

    plan: Plan
    state: str
    sent: bool
    message: str
    record: WithdrawalRecord | None = None
    withdrawal: Withdrawal | None = None

    @property
    def key(self) -> str:
        return self.plan.key

    @property
    def prepared(self) -> PreparedRequest | None:
        return self.plan.prepared


def _describe(request: WithdrawalRequest, account: str, label: str | None) -> str:
    amount = (
        f"{request.amount} {request.asset}"
        if request.amount is not None
        else f"{request.asset} for {request.amount_to} {request.convert_to}"
    )
    if request.amount is not None and request.convert_to:
        amount += f" as {request.convert_to}"
    where = shorten(request.address) + (f" ({label})" if label else "")
    extra = "".join(
        f" {name} {value}" for name, value in (("chain", request.chain),) if value is not None
    )
    return f"{amount} to {where}{extra} via {account}"


def build_clients(config: TreasuryConfig) -> dict[str, WithdrawalClient]:
    """One client per ``treasury.accounts`` entry, from the venue registry."""
    out: dict[str, WithdrawalClient] = {}
    for name, account in config.accounts.items():
        cls = registry.get(account.venue).withdrawal_client_class()
        out[name] = cls(
            Connection(
                name,
                account.base_url,
                account.api_key,
                account.api_secret,
                account.request_timeout / 1e9,
                account.options,
            )
        )
    return out


class Treasury:
    """See the module notes. ``clock`` gives epoch nanoseconds (tests move it)."""

    def __init__(
        self,
        config: TreasuryConfig,
        clients: Mapping[str, WithdrawalClient],
        journal: TreasuryJournal,
        *,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self.clients = dict(clients)
        self.journal = journal
        self.clock = clock

    @classmethod
    def from_config(cls, config: Any) -> Treasury:
        """From a loaded ``BotConfig`` (its ``treasury:`` section and its folder)."""
        t: TreasuryConfig = config.treasury
        journal = TreasuryJournal(config.resolve_path(t.journal))
        return cls(t, build_clients(t), journal)

    def secrets(self) -> tuple[Secret, ...]:
        return self.config.secrets()

    async def close(self) -> None:
        for client in self.clients.values():
            await client.close()
        self.journal.close()

    def client(self, account: str) -> WithdrawalClient:
        """The account's client; ``WithdrawalRefused`` (``unknown_account``) if none."""
        client = self.clients.get(account)
        if client is None:
            known = ", ".join(self.clients) or "none"
            raise WithdrawalRefused(
                "unknown_account",
                f"'{account}' is not a treasury account (configured: {known})",
                "Name one of treasury.accounts",
            )
        return client

    # ----- 1. plan ------------------------------------------------------------------------

    async def plan(self, account: str, request: WithdrawalRequest) -> Plan:
        """Every guard rail, the key, the journal's record and the prepared request;
        raises ``WithdrawalRefused`` (nothing sent, nothing written)."""
        try:
            return await self._plan(account, request)
        except WithdrawalRefused as refusal:
            log.warning(
                "withdrawal of %s refused (%s): %s",
                _describe(request, account, None),
                refusal.code,
                refusal.message,
            )
            raise

    async def _plan(self, account: str, request: WithdrawalRequest) -> Plan:
        context = guards.Context(self.config, account, request)
        guards.run(context, guards.FIRST)
        client = self.clients[account]
        await self._load(client)
        client.check(request)
        key = idempotency_key(account, client.venue, request)
        existing = self.journal.get(key)
        label = self._label(account, request)
        if existing is not None and existing.state in ("pending", "completed"):
            return Plan(
                account, client.venue, request, key, existing.venue_ref, None, existing, label
            )
        if existing is not None and existing.state in ("failed", "cancelled"):
            raise WithdrawalRefused(
                "already_sent",
                f"this withdrawal was sent before and ended {existing.state} "
                f"(journal key {key[:12]})",
                "To send it again on purpose, give it a new reference",
            )
        unsettled = existing is not None and existing.state in ("sending", "unknown")
        if unsettled and not client.features.dedupe:
            # Never resent blindly: it must be found at the venue, or marked by hand.
            assert existing is not None
            found = await self._look_up(client, existing)
            if found is None:
                raise _unsettled(existing)
            return Plan(
                account,
                client.venue,
                request,
                key,
                existing.venue_ref,
                None,
                existing,
                label,
                found,
            )
        asset, _ = request.capped
        spent = self.journal.spent(asset, self.clock() - guards.DAY_NS, exclude_key=key)
        balance = await self._balance(client, request, context)
        guards.run(guards.Context(self.config, account, request, spent, balance))
        prepared = client.prepare(request, key)
        return Plan(
            account, client.venue, request, key, client.reference(key), prepared, existing, label
        )

    async def _load(self, client: WithdrawalClient) -> None:
        """What the client needs from the venue before it can check a request."""
        try:
            await client.load()
        except (VenueError, *AMBIGUOUS) as err:
            raise WithdrawalRefused(
                "venue_unavailable",
                f"{client.venue} could not be asked what a withdrawal needs ({err})",
                "Try again later",
            ) from err

    def _label(self, account: str, request: WithdrawalRequest) -> str | None:
        entry = guards.allowlist_entry(self.config, account, request)
        return entry.label if entry else None

    async def _balance(
        self, client: WithdrawalClient, request: WithdrawalRequest, context: guards.Context
    ) -> Decimal | None:
        """The venue's balance when a ``keep`` needs it (and the venue reports one)."""
        limits = context.limits
        if limits is None or limits.keep == 0 or not client.features.balance:
            return None
        try:
            return await client.balance(request.asset)
        except (VenueError, *AMBIGUOUS) as err:
            raise WithdrawalRefused(
                "balance_unavailable",
                f"the {request.asset} balance could not be read to keep {limits.keep} "
                f"{request.asset} on the venue ({_scrub(str(err), request)})",
                "Try again later",
            ) from err

    # ----- 2. execute ---------------------------------------------------------------------

    async def withdraw(
        self, account: str, request: WithdrawalRequest, *, dry_run: bool | None = None
    ) -> Outcome:
        """``plan`` then ``execute`` (a dry run stops after the plan)."""
        plan = await self.plan(account, request)
        if self.config.dry_run if dry_run is None else dry_run:
            return self.dry_run(plan)
        return await self.execute(plan)

    def dry_run(self, plan: Plan) -> Outcome:
        log.info("withdrawal %s: dry run of %s, nothing sent", plan.key[:12], plan.summary)
        return Outcome(plan, "dry_run", False, "dry run: nothing was sent")

    async def execute(self, plan: Plan) -> Outcome:
        client = self.clients[plan.account]
        existing = plan.existing
        if plan.found is not None:
            record = self._adopt(plan, plan.found, "found at the venue")
            return Outcome(
                plan, record.state, False, "found at the venue: not sent again", record, plan.found
            )
        if plan.prepared is None:
            assert existing is not None
            return Outcome(
                plan,
                existing.state,
                False,
                f"already sent (venue id {existing.venue_id or 'unknown'}): not sent again",
                existing,
            )
        if existing is not None and existing.state in ("sending", "unknown"):
            found = await self._look_up(client, existing)
            if found is not None:
                record = self._adopt(plan, found, "found at the venue")
                return Outcome(
                    plan, record.state, False, "found at the venue: not sent again", record, found
                )
        limits = self.config.limits.get(plan.request.capped[0])
        record = self.journal.reserve(
            self._record(plan), per_day=limits.per_day if limits else None, window_ns=guards.DAY_NS
        )
        log.info(
            "withdrawal %s: sending %s (attempt %d)", plan.key[:12], plan.summary, record.attempts
        )
        try:
            withdrawal = await client.send(plan.prepared)
        except DuplicateWithdrawal as err:
            return await self._duplicate(client, plan, err)
        except Conflict as err:
            return await self._lost_reply(
                client, plan, f"conflict: {_scrub(err.message, plan.request)}"
            )
        except VenueError as err:
            if err.ambiguous:
                return await self._lost_reply(client, plan, _scrub(str(err), plan.request))
            message = _scrub(err.message, plan.request)
            record = self.journal.update(plan.key, "refused", reason=message)
            log.warning("withdrawal %s: refused by %s: %s", plan.key[:12], plan.venue, message)
            return Outcome(plan, "refused", True, f"refused by {plan.venue}: {message}", record)
        except AMBIGUOUS as err:
            return await self._lost_reply(client, plan, type(err).__name__)
        record = self._adopt(plan, withdrawal, None)
        return Outcome(plan, record.state, True, "sent", record, withdrawal)

    def _record(self, plan: Plan) -> WithdrawalRecord:
        r = plan.request
        cap_asset, cap_amount = r.capped
        assert cap_amount is not None
        return WithdrawalRecord(
            key=plan.key,
            account=plan.account,
            venue=plan.venue,
            asset=r.asset,
            amount=r.amount,
            address=r.address,
            tag=r.tag,
            chain=r.chain,
            convert_to=r.convert_to,
            amount_to=r.amount_to,
            reference=r.reference,
            venue_ref=plan.venue_ref,
            cap_asset=cap_asset,
            cap_amount=cap_amount,
            state="sending",
        )

    def _adopt(self, plan: Plan, w: Withdrawal, note: str | None) -> WithdrawalRecord:
        state = _STATE_OF[w.status]
        record = self.journal.update(
            plan.key, state, venue_id=w.id, raw_status=w.raw_status, txid=w.txid, reason=note
        )
        log.info(
            "withdrawal %s: %s at %s, venue id %s (%s)%s",
            plan.key[:12],
            state,
            plan.venue,
            w.id or "unknown",
            w.raw_status,
            f": {note}" if note else "",
        )
        return record

    async def _look_up(
        self, client: WithdrawalClient, record: WithdrawalRecord
    ) -> Withdrawal | None:
        """The withdrawal at the venue by its reference; None if absent or not knowable."""
        try:
            return await client.find(record)
        except NotDocumented:
            return None  # the venue has no lookup for this kind of withdrawal
        except (VenueError, *AMBIGUOUS) as err:
            log.warning("withdrawal %s: lookup failed: %s", record.key[:12], err)
            return None

    async def _lost_reply(self, client: WithdrawalClient, plan: Plan, why: str) -> Outcome:
        record = self.journal.update(plan.key, "unknown", reason=f"reply lost: {why}")
        log.warning("withdrawal %s: the outcome is unknown (%s); looking it up", plan.key[:12], why)
        found = await self._look_up(client, record)
        if found is not None:
            record = self._adopt(plan, found, "found at the venue after a lost reply")
            return Outcome(
                plan, record.state, True, "sent (found after a lost reply)", record, found
            )
        if not client.features.dedupe:
            how = (
                f"{plan.venue} keeps no reference of ours, so it is not sent again until it "
                "is found there or marked by hand (botkit withdrawals --mark "
                f"{plan.key[:12]} --as sent|not-sent, after checking the venue's history)"
            )
        elif client.features.get:
            how = "it is looked up by its reference first"
        else:
            how = "it is resent under the same reference, which the venue refuses if it has it"
        return Outcome(
            plan,
            "unknown",
            True,
            f"the outcome is unknown ({why}); run the same withdrawal again to settle it: {how}, "
            "so it is never paid twice",
            record,
        )

    async def _duplicate(
        self, client: WithdrawalClient, plan: Plan, err: DuplicateWithdrawal
    ) -> Outcome:
        found = await self._look_up(client, self.journal.update(plan.key, "unknown"))
        if found is not None:
            record = self._adopt(plan, found, "already at the venue")
            return Outcome(
                plan, record.state, True, "already at the venue: not sent again", record, found
            )
        record = self.journal.update(
            plan.key,
            "pending",
            raw_status="duplicate reference",
            reason=f"the venue already has withdrawal {plan.venue_ref}: "
            + _scrub(err.message, plan.request),
        )
        log.info(
            "withdrawal %s: %s already has it (reference %s): not sent again",
            plan.key[:12],
            plan.venue,
            plan.venue_ref,
        )
        return Outcome(plan, "pending", True, "already at the venue: not sent again", record)

    def mark(self, key: str, *, sent: bool, note: str = "") -> WithdrawalRecord:
        """Settle by hand an attempt whose outcome is unknown, after checking the venue:
        ``sent`` makes it pending (it counts, and is never sent again), not sent makes it
        refused (the next run of the same withdrawal sends it). ``key`` may be the
        first characters of the key (12 are shown), if they name one record."""
        matches = [r for r in self.journal.records() if r.key.startswith(key)]
        if len(matches) != 1 or len(key) < 8:
            raise KeyError(
                f"{key!r} names {len(matches)} journaled withdrawals: give at least 8 "
                "characters of exactly one key (botkit withdrawals --journal shows them)"
            )
        record = matches[0]
        if record.state not in ("sending", "unknown"):
            raise ValueError(
                f"withdrawal {record.key[:12]} is {record.state}: only an attempt whose outcome "
                "is unknown is marked by hand"
            )
        reason = f"marked {'sent' if sent else 'not sent'} by hand" + (f": {note}" if note else "")
        if sent:
            record = self.journal.update(
                record.key, "pending", raw_status="marked sent", reason=reason
            )
        else:
            record = self.journal.update(record.key, "refused", reason=reason)
        log.warning("withdrawal %s: %s", record.key[:12], reason)
        return record

    # ----- 3. follow ----------------------------------------------------------------------

    async def refresh(self, key: str) -> WithdrawalRecord:
        """Ask the venue once for a journaled withdrawal's status; journal any change."""
        record = self.journal.get(key)
        if record is None:
            raise KeyError(key)
        if record.final or (record.state == "sending" and record.venue_id is None):
            return record
        client = self.client(record.account)
        if not client.features.get:
            raise NotDocumented(client.venue, "withdrawal lookup", getattr(client, "document", ""))
        found = await client.find(record)
        if found is None:
            return record
        state = _STATE_OF[found.status]
        if (state, found.raw_status) == (record.state, record.raw_status):
            return record
        record = self.journal.update(
            key, state, venue_id=found.id, raw_status=found.raw_status, txid=found.txid
        )
        log.info(
            "withdrawal %s: %s (%s)%s",
            key[:12],
            state,
            found.raw_status,
            f", txid {shorten(found.txid)}" if found.txid else "",
        )
        return record

    async def follow(
        self, key: str, *, poll_s: float | None = None, timeout_s: float | None = None
    ) -> WithdrawalRecord:
        """Poll until the status is final (or ``timeout_s``, default
        ``treasury.follow_timeout``, passes); the last record. On a venue that documents
        no lookup the journal's record is all there is: it is returned at once."""
        poll = poll_s if poll_s is not None else self.config.poll_interval / 1e9
        limit = timeout_s if timeout_s is not None else self.config.follow_timeout / 1e9
        deadline = time.monotonic() + limit
        while True:
            try:
                record = await self.refresh(key)
            except NotDocumented as err:
                log.info("withdrawal %s: status not followed: %s", key[:12], err)
                record = self.journal.get(key)
                assert record is not None
                return record
            except (VenueError, *AMBIGUOUS) as err:
                log.warning("withdrawal %s: status check failed: %s", key[:12], err)
                record = self.journal.get(key)
                assert record is not None
            if record.final or time.monotonic() >= deadline:
                return record
            await asyncio.sleep(min(poll, max(0.0, deadline - time.monotonic())))


def _unsettled(record: WithdrawalRecord) -> WithdrawalRefused:
    return WithdrawalRefused(
        "outcome_unknown",
        f"an earlier attempt of this withdrawal (key {record.key[:12]}) may have reached "
        f"{record.venue}, which keeps no reference of ours to look it up by, and it is not "
        "in the venue's list",
        "Check the venue's withdrawal history, then run botkit withdrawals --mark "
        f"{record.key[:12]} --as sent (it left) or --as not-sent (it did not; the next run "
        "sends it)",
    )


def _scrub(text: str, request: WithdrawalRequest) -> str:
    """A venue's message with the destination address shortened (venues echo it)."""
    return text.replace(request.address, shorten(request.address)) if request.address else text
