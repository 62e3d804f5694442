"""The account live: the venue's balances are the record, the router's view follows fills.

Live, the router's balances start from the venue's (read when the run starts)
and, between reconciliations, follow the fills exactly as in a backtest. At
each reconciliation (at start, every ``live.reconcile_interval``, after the
user-trades stream reconnects) :class:`AccountSync` reads the venue's balances
again and they *replace* the router's totals: a deposit, a withdrawal, a fee
charged differently, a fill of another bot on the same account all show up
there. The risk module's spot check (``insufficient_balance``) runs on the
router's free balances, so what it refuses is refused on the venue's figures
of the last reconciliation plus the fills since.

Locks. Every open spot order locks what it may spend, by the rules of
``botkit.account``: an order placed in this run locks when it is sent (the risk
module's ``Decision.lock``); an order restored from the journal, or placed
while the check was off, is locked here (``relock``) at its price (a stop at
its stop price) for its remaining size, before the first strategy hook runs
after a restart. An open market order (no price) is not locked: it settles at
once. Orders at the venue that are not this bot's lock nothing here.

The race (a fill and the venue's snapshot). A balance reply is a snapshot of
the venue's account at some moment the bot cannot see. A fill the venue had
executed by then but the bot had not yet heard of would be counted twice if
the snapshot replaced the router's view (once in the snapshot, once when the
fill arrives); a fill executed after it would be lost. The rule: **a snapshot
is applied only if no fill reached the router, by any path (stream, poll,
catch-up), from just before the balance request was sent until a REST
catch-up of user trades made after the reply has finished.** Then every fill
the venue had executed at the snapshot was already counted here (one it had
executed but we had not heard of would have turned up in that catch-up), and
every fill after it is still to come and will be applied on top. A fill that
arrives in that window may be older or newer than the snapshot, and nothing
tells which: the snapshot is then dropped (``balance_snapshot_raced``), the
router's view (the last good snapshot plus every fill since) stands, and the
snapshot is asked for again, up to ``attempts`` times per reconciliation. This
assumes the venue's trade list is as fresh as its balances (it lists a trade as
soon as the balance reflects it).

A reply that cannot be read (a ParseError, a value that is not a finite
decimal) or a call that fails never stops the loop: it is logged at warning
level, counted (``balance_unreadable``, ``balance_read_failed``), and the last
good view stays. A reply with no balances at all (a venue without a balance
endpoint) does not replace a view either.

Cross-check. Where the venue reports each asset's free part apart
(``balance_sheet()``), the router's computed free balance of every asset a spot
instrument uses is compared with it, once per applied snapshot taken while no
request was in flight. The venue may or may not hold back the fee a buy may
pay, so its free figure agrees when it lies between ours (which provisions the
worse fee) and ours plus that provision. Differences are one warning per
reconciliation, both numbers for each asset that differs
(``free_balance_mismatch``): orders at the venue that are not this bot's,
withdrawals pending, or a venue that locks by another rule.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from decimal import Decimal

from botkit.account import buy_fee_rate, is_spot, lock_rate
from botkit.execution.fills import MAGNITUDE, FillTracker
from botkit.execution.link import VenueLink
from botkit.execution.retry import describe
from botkit.model import ZERO, Side
from botkit.risk.order import fmt
from botkit.venues.kit.errors import ParseError
from botkit.venues.kit.types import AssetBalance

log = logging.getLogger("botkit.execution.balances")

ATTEMPTS = 3  # snapshots asked for per reconciliation while fills keep racing them

# What ``refresh`` reports (in the reconciliation's report, under "balances").
APPLIED = "applied"  # the venue's balances replaced the router's
RACED = "raced"  # fills kept arriving around every snapshot: the router's view stands
UNREADABLE = "unreadable"  # the reply could not be read: the last good view stands
FAILED = "failed"  # the call failed: likewise
EMPTY = "empty"  # the venue reported no balances at all: likewise


def _bad_amount(v: object) -> bool:
    return (
        not isinstance(v, Decimal)
        or not v.is_finite()
        or bool(v and not -MAGNITUDE <= v.adjusted() <= MAGNITUDE)
    )


def unreadable_part(sheet: object) -> str | None:
    """What makes a balance reply unusable (None when it is sound): it must map asset
    names to ``AssetBalance`` values whose amounts are finite decimals."""
    if not isinstance(sheet, Mapping):
        return f"a {type(sheet).__name__}, not a mapping of assets"
    for asset, balance in sheet.items():
        if not isinstance(asset, str) or not asset:
            return f"asset name {asset!r:.60}"
        if not isinstance(balance, AssetBalance):
            return f"{asset}: a {type(balance).__name__}, not a balance"
        if _bad_amount(balance.total):
            return f"{asset} total {balance.total!r:.60}"
        if balance.free is not None and _bad_amount(balance.free):
            return f"{asset} free {balance.free!r:.60}"
    return None


class AccountSync:
    """Keeps the router's account on the venue's figures (see the module notes)."""

    def __init__(self, link: VenueLink, fills: FillTracker, attempts: int = ATTEMPTS) -> None:
        self.link = link
        self.adapter = link.adapter
        self.router = link.router
        self.fills = fills
        self.attempts = attempts
        self.last: dict[str, AssetBalance] | None = None  # the last snapshot applied
        self._told_empty = False

    def _count(self, what: str) -> None:
        self.link.health.count(what)

    # ----- locks ---------------------------------------------------------------------------

    def relock(self) -> int:
        """Lock what every open spot order without a lock may spend; how many were locked."""
        router = self.router
        locks = router.locks
        added = 0
        for order in router.orders.values():
            if not order.is_open or order.client_id in locks:
                continue
            inst = router.instruments.get(order.symbol)
            if inst is None or not is_spot(inst):
                continue
            price = order.price if order.price is not None else order.stop_price
            if price is None:
                continue  # a market order: it settles at once
            asset, rate = lock_rate(inst, order.side is Side.BUY, price)
            locks.lock(order.client_id, asset, rate, order.remaining, force=True)
            added += 1
        if added:
            log.info("%d open order(s) lock their part of the balances again", added)
        return added

    # ----- the venue's balances ------------------------------------------------------------

    async def _read(self) -> dict[str, AssetBalance]:
        sheet = getattr(self.adapter, "balance_sheet", None)
        if sheet is not None:
            return await sheet()  # type: ignore[no-any-return]
        totals = await self.adapter.balances()
        if not isinstance(totals, Mapping):
            return totals  # type: ignore[return-value]  # unreadable_part names it
        return {a: AssetBalance(t) if isinstance(t, Decimal) else t for a, t in totals.items()}

    async def refresh(self) -> str:
        """Relock; read the venue's balances and catch up with the fills; apply the
        balances by the race rule (module notes).

        Returns what happened to the balances (``APPLIED``, ``RACED``, ``UNREADABLE``,
        ``FAILED``, ``EMPTY``): whatever it is, the last good view stands unless
        ``APPLIED``. The catch-up of fills is always made, even when the balances
        could not be read; only a failure of that catch-up propagates (the
        reconciliation failed, as it would without balances).
        """
        self.relock()
        for _ in range(self.attempts):
            mark = len(self.router.fills)
            quiet = not self.link.in_flight
            sheet, outcome = await self._snapshot()
            # Any fill around the snapshot? This brings in every fill the venue had
            # executed by the time it answered.
            await self.fills.catch_up()
            if sheet is None:
                return outcome
            if len(self.router.fills) != mark:
                self._count("balance_snapshot_raced")
                log.info(
                    "%s balances not applied: %d fill(s) arrived around the snapshot; "
                    "the view from fills stands",
                    self.link.venue,
                    len(self.router.fills) - mark,
                )
                continue
            self._apply(sheet)
            if quiet and not self.link.in_flight:
                self._cross_check(sheet)
            return APPLIED
        log.info(
            "%s balances not applied: fills kept arriving (%d tries); next reconciliation",
            self.link.venue,
            self.attempts,
        )
        return RACED

    async def _snapshot(self) -> tuple[Mapping[str, AssetBalance] | None, str]:
        """The venue's balances, or None and why not (logged and counted here)."""
        venue = self.link.venue
        try:
            sheet = await self.link.call(self._read)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            unreadable = isinstance(err, ParseError)
            self._count("balance_unreadable" if unreadable else "balance_read_failed")
            log.warning(
                "%s balances %s (%s); keeping the last view",
                venue,
                "could not be read" if unreadable else "call failed",
                describe(err),
            )
            return None, UNREADABLE if unreadable else FAILED
        problem = unreadable_part(sheet)
        if problem is not None:
            self._count("balance_unreadable")
            log.warning("%s balances could not be read (%s); keeping the last view", venue, problem)
            return None, UNREADABLE
        if not sheet:
            if not self._told_empty:
                self._told_empty = True
                log.warning("%s reported no balances; keeping the last view", venue)
            return None, EMPTY
        return sheet, APPLIED

    def _apply(self, sheet: Mapping[str, AssetBalance]) -> None:
        """The venue's totals replace the router's (in place: the locks and the engine's
        free balances read this very dict)."""
        balances = self.router.balances
        moved = [
            f"{asset} {fmt(balances.get(asset, ZERO))} -> {fmt(b.total)}"
            for asset, b in sorted(sheet.items())
            if balances.get(asset, ZERO) != b.total
        ]
        moved += [f"{a} {fmt(v)} -> gone" for a, v in sorted(balances.items()) if a not in sheet]
        balances.clear()
        balances.update((asset, b.total) for asset, b in sheet.items())
        self.last = dict(sheet)
        if moved:
            log.info("%s balances from the venue: %s", self.link.venue, ", ".join(moved))

    def _fee_provision(self) -> dict[str, Decimal]:
        """What the router's buy locks hold for fees, per asset (the venue may not)."""
        router = self.router
        out: dict[str, Decimal] = {}
        for key, (asset, _, held) in router.locks.orders.items():
            order = router.orders.get(key)
            inst = router.instruments.get(order.symbol) if order is not None else None
            if order is None or inst is None or order.side is not Side.BUY:
                continue
            fee = buy_fee_rate(inst)
            if fee:
                out[asset] = out.get(asset, ZERO) + held * fee / (1 + fee)
        return out

    def _cross_check(self, sheet: Mapping[str, AssetBalance]) -> None:
        router = self.router
        assets = sorted(
            {a for i in router.instruments.values() if is_spot(i) for a in (i.base, i.quote)}
        )
        provision = self._fee_provision()
        differ = []
        for asset in assets:
            balance = sheet.get(asset)
            if balance is None or balance.free is None:
                continue
            ours = router.locks.free_of(asset)
            if not ours <= balance.free <= ours + provision.get(asset, ZERO):
                differ.append(f"{asset} venue {fmt(balance.free)}, ours {fmt(ours)}")
        if differ:
            self._count("free_balance_mismatch")
            log.warning(
                "%s free balances differ from ours (orders not this bot's, withdrawals "
                "pending, or locks by another rule): %s",
                self.link.venue,
                "; ".join(differ),
            )


__all__ = ["ATTEMPTS", "AccountSync", "unreadable_part"]
