"""``botkit withdraw`` and ``botkit withdrawals``.

``botkit withdraw bot.yaml --account NAME --asset BTC --amount 0.5 --to cold``
sends one withdrawal through every guard rail of bot.yaml's ``treasury:``
section. ``--to`` takes an allowlist label or an address. On a terminal it shows
the request and asks for ``yes``; ``--yes`` confirms for scripts (without it, a
run that is not on a terminal sends nothing); ``--dry-run`` prints the exact
request (secrets masked) and sends nothing; ``--wait`` follows the status
until it is final. Running the same command again never pays twice: it finds
the journaled attempt and looks it up at the venue.

``botkit withdrawals bot.yaml`` lists an account's withdrawals from the venue
with their status (``--all`` follows the pages, ``--page-token`` starts at
one); ``--journal`` lists what botkit journaled instead (the only record for a
venue that documents no list), ``--refresh`` first asks the venue for the
status of the journal's unfinished ones. ``--mark KEY --as sent|not-sent``
settles by hand an attempt whose reply was lost on a venue that keeps no
reference of ours (Alpha5), after checking the venue's history.

``botkit treasury run-job bot.yaml NAME`` runs one of ``treasury.jobs`` once,
for its latest scheduled fire time (``--at`` names another): a fire time the
bot already ran sends nothing new. ``--dry-run`` prints the request it would
send.

Exit status: 0 sent, already sent, or shown (dry run, listings, a job with
nothing to do); 1 the outcome is not known yet (run the same command again),
the withdrawal failed or was cancelled, or a job waits for an earlier run; 2
refused (a guard rail, the venue, bot.yaml or the command line) or not
confirmed: nothing was sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from botkit.redact import shorten

__all__ = ["EXIT_REFUSED", "EXIT_UNKNOWN", "register"]

EXIT_UNKNOWN = 1
EXIT_REFUSED = 2
MAX_PAGES = 1000


class _Usage(Exception):
    """A command-line mistake: one line, exit 2."""


def register(sub: Any) -> None:
    """Add ``withdraw`` and ``withdrawals`` to the ``botkit`` command's subparsers."""
    w = sub.add_parser(
        "withdraw",
        help="send a withdrawal through bot.yaml's treasury guard rails",
        description=__doc__.split("\n\n")[1].replace("``", ""),
    )
    w.add_argument("config", help="path to bot.yaml")
    w.add_argument("--account", help="a treasury.accounts name (default: the only one)")
    w.add_argument("--asset", required=True, help="the currency withdrawn, e.g. BTC")
    w.add_argument("--amount", help="how much of it (or --amount-to with --convert-to)")
    w.add_argument("--to", required=True, help="an allowlist label, or the address itself")
    w.add_argument("--tag", help="destination tag / memo (XRP, XLM, EOS...)")
    w.add_argument("--chain", help="network / gateway, e.g. Ethereum")
    w.add_argument("--convert-to", help="AlphaPo: the currency to send instead")
    w.add_argument("--amount-to", help="AlphaPo: the amount to arrive, in --convert-to")
    w.add_argument(
        "--reference",
        default="",
        help="tells a deliberate repeat of the same withdrawal from a retry of it",
    )
    w.add_argument("--dry-run", action="store_true", help="print the request, send nothing")
    w.add_argument("--yes", action="store_true", help="send without asking (for scripts)")
    w.add_argument("--wait", action="store_true", help="follow the status until it is final")
    w.add_argument("--log-level", help="override log_level of bot.yaml")
    w.set_defaults(func=cmd_withdraw)

    ws = sub.add_parser("withdrawals", help="list withdrawals and their status")
    ws.add_argument("config", help="path to bot.yaml")
    ws.add_argument("--account", help="a treasury.accounts name (default: the only one)")
    ws.add_argument("--asset", help="only this currency")
    ws.add_argument("--kind", help="only this kind (viewer API: on_chain, off_chain, internal)")
    ws.add_argument("--limit", type=int, help="rows per page")
    ws.add_argument("--page-token", help="start at this page")
    ws.add_argument("--all", action="store_true", help="follow every page")
    ws.add_argument("--journal", action="store_true", help="list botkit's journal instead")
    ws.add_argument(
        "--refresh", action="store_true", help="update the journal's unfinished ones first"
    )
    ws.add_argument(
        "--mark",
        metavar="KEY",
        help="settle by hand an attempt whose outcome is unknown (with --as)",
    )
    ws.add_argument(
        "--as",
        dest="mark_as",
        choices=("sent", "not-sent"),
        help="what the venue's history shows for --mark: it left, or it did not",
    )
    ws.add_argument("--full", action="store_true", help="show whole addresses")
    ws.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    ws.add_argument("--log-level", help="override log_level of bot.yaml")
    ws.set_defaults(func=cmd_withdrawals)

    tr = sub.add_parser("treasury", help="the treasury's scheduled jobs (sweeps, rebalancing)")
    jobs = tr.add_subparsers(dest="treasury_command", required=True)
    rj = jobs.add_parser(
        "run-job",
        help="run one of treasury.jobs once, by hand",
        description=__doc__.split("\n\n")[3].replace("``", ""),
    )
    rj.add_argument("config", help="path to bot.yaml")
    rj.add_argument("name", help="the job's name (treasury.jobs[].<kind>.name)")
    rj.add_argument("--dry-run", action="store_true", help="print the request, send nothing")
    rj.add_argument(
        "--at",
        help="the fire time to run, UTC ISO 8601 (default: the job's latest scheduled one)",
    )
    rj.add_argument("--log-level", help="override log_level of bot.yaml")
    rj.set_defaults(func=cmd_run_job)


# ----- shared -------------------------------------------------------------------------------


def _load(args: argparse.Namespace) -> Any:
    from botkit.cli import _load as load_config
    from botkit.cli import _setup_logging

    config = load_config(args.config)
    _setup_logging(args.log_level or config.log_level, config.secret_values())
    return config


def _account(config: Any, given: str | None) -> str:
    accounts = list(config.treasury.accounts)
    if given:
        return str(given)
    if len(accounts) == 1:
        return accounts[0]
    raise _Usage(
        "name the account with --account: "
        + (f"one of {', '.join(accounts)}" if accounts else "bot.yaml has no treasury.accounts")
    )


def _run(main: Callable[[], Any]) -> int:
    from botkit.journal import JournalError

    try:
        return int(asyncio.run(main()))
    except (_Usage, JournalError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED


def _time(ns: int | None) -> str:
    if not ns:
        return "-"
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----- botkit withdraw --------------------------------------------------------------------


def _request(config: Any, account: str, args: argparse.Namespace) -> tuple[Any, str | None]:
    """The request from the arguments; ``--to`` as an allowlist label fills in the
    entry's address, chain and tag. Returns (request, label)."""
    from botkit.treasury.model import WithdrawalRequest

    arriving = (args.convert_to or args.asset).strip().upper()
    label = None
    address, chain, tag = args.to, args.chain, args.tag
    for entry in config.treasury.allowlist.get(arriving, ()):
        usable = entry.accounts is None or account in entry.accounts
        if entry.label == args.to and usable:
            label, address = entry.label, entry.address
            chain = chain if chain is not None else entry.chain
            tag = tag if tag is not None else entry.tag
            break
    try:
        request = WithdrawalRequest(
            asset=args.asset,
            amount=args.amount,
            address=address,
            tag=tag,
            chain=chain,
            convert_to=args.convert_to,
            amount_to=args.amount_to,
            reference=args.reference,
        )
    except (ValueError, TypeError) as exc:
        raise _Usage(str(exc)) from None
    return request, label


def _confirmed(plan: Any, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        print(
            "error: botkit withdraw asks for confirmation on a terminal; this is not one. "
            "Pass --yes to send from a script (nothing was sent)",
            file=sys.stderr,
        )
        return False
    r = plan.request
    print(f"About to withdraw from account {plan.account} ({plan.venue}):")
    amount = f"{r.amount} {r.asset}" if r.amount is not None else f"{r.asset} (see below)"
    print(f"  amount   {amount}" + (f", sent as {r.convert_to}" if r.convert_to else ""))
    if r.amount_to is not None:
        print(f"  arriving {r.amount_to} {r.convert_to}")
    print(f"  to       {r.address}" + (f"  ({plan.label})" if plan.label else ""))
    for name, value in (("tag/memo", r.tag), ("chain", r.chain)):
        if value is not None:
            print(f"  {name:<8} {value}")
    print("\nThe request:\n" + plan.prepared.shown() + "\n")
    try:
        answer = input("Type yes to send it: ")
    except EOFError:
        answer = ""
    if answer.strip().lower() != "yes":
        print("not sent", file=sys.stderr)
        return False
    return True


def cmd_withdraw(args: argparse.Namespace) -> int:
    from botkit.treasury.errors import WithdrawalRefused
    from botkit.treasury.service import Treasury

    config = _load(args)

    async def main() -> int:
        account = _account(config, args.account)
        request, _ = _request(config, account, args)
        treasury = Treasury.from_config(config)
        try:
            try:
                plan = await treasury.plan(account, request)
            except WithdrawalRefused as refusal:
                print(f"error: {refusal} Nothing was sent.", file=sys.stderr)
                return EXIT_REFUSED
            if plan.prepared is None:
                record = plan.existing
                print(
                    f"already sent: {record.state} at {plan.venue} (venue id "
                    f"{record.venue_id or 'unknown'}, key {plan.key[:12]}); not sent again"
                )
                return 0
            if args.dry_run or config.treasury.dry_run:
                treasury.dry_run(plan)
                print("dry run: this request would be sent (nothing was sent):")
                print(plan.prepared.shown())
                return 0
            if not _confirmed(plan, args.yes):
                return EXIT_REFUSED
            try:
                outcome = await treasury.execute(plan)
            except WithdrawalRefused as refusal:  # the daily cap, taken meanwhile
                print(f"error: {refusal} Nothing was sent.", file=sys.stderr)
                return EXIT_REFUSED
            record = outcome.record
            if outcome.state == "refused":
                print(f"error: {outcome.message}. Nothing was sent.", file=sys.stderr)
                return EXIT_REFUSED
            if outcome.state == "unknown":
                print(f"warning: {outcome.message}", file=sys.stderr)
                return EXIT_UNKNOWN
            print(
                f"{outcome.message}: {outcome.state} at {plan.venue} "
                f"(venue id {record.venue_id if record else None}, key {plan.key[:12]})"
            )
            if args.wait and record is not None and not record.final:
                record = await treasury.follow(plan.key)
                print(f"status: {record.state} ({record.raw_status})")
            if record is not None and record.state in ("failed", "cancelled", "unknown"):
                return EXIT_UNKNOWN
            return 0
        finally:
            await treasury.close()

    return _run(main)


# ----- botkit withdrawals -----------------------------------------------------------------

_VENUE_COLUMNS = ("id", "asset", "amount", "status", "raw_status", "address", "created", "txid")
_JOURNAL_COLUMNS = (
    "created",
    "account",
    "venue",
    "asset",
    "amount",
    "address",
    "state",
    "raw_status",
    "venue_id",
    "key",
)


def _print_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], as_json: bool) -> None:
    if as_json:
        for row in rows:
            print(json.dumps({c: row.get(c) for c in columns}))
        return
    text = [[str(row.get(c) if row.get(c) is not None else "-") for c in columns] for row in rows]
    widths = [max([len(c), *(len(t[i]) for t in text)]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for t in text:
        print("  ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)).rstrip())


def cmd_withdrawals(args: argparse.Namespace) -> int:
    from botkit.treasury.errors import NotDocumented
    from botkit.treasury.service import Treasury
    from botkit.venues.kit.errors import AMBIGUOUS, VenueError

    config = _load(args)

    def show(address: str | None) -> str | None:
        return address if args.full or address is None else shorten(address)

    async def from_journal(treasury: Treasury, account: str | None) -> int:
        if args.refresh:
            for record in treasury.journal.records(account, open_only=True):
                try:
                    await treasury.refresh(record.key)
                except (NotDocumented, VenueError, *AMBIGUOUS) as err:
                    print(f"warning: {record.key[:12]}: {err}", file=sys.stderr)
        rows = [
            {
                "created": _time(r.created_ns),
                "account": r.account,
                "venue": r.venue,
                "asset": r.asset,
                "amount": str(r.amount) if r.amount is not None else f"{r.amount_to} to",
                "address": show(r.address),
                "state": r.state,
                "raw_status": r.raw_status,
                "venue_id": r.venue_id,
                "key": r.key[:12],
            }
            for r in treasury.journal.records(account)
            if args.asset is None or r.asset == args.asset.upper()
        ]
        _print_rows(rows, _JOURNAL_COLUMNS, args.json)
        return 0

    async def from_venue(treasury: Treasury, account: str) -> int:
        client = treasury.client(account)
        token, rows = args.page_token, []
        for _ in range(MAX_PAGES):
            try:
                page = await client.list(
                    asset=args.asset.upper() if args.asset else None,
                    kind=args.kind,
                    page_token=token,
                    limit=args.limit,
                )
            except ValueError as exc:
                raise _Usage(str(exc)) from None
            rows += [
                {
                    "id": w.id,
                    "asset": w.asset,
                    "amount": str(w.amount) if w.amount is not None else None,
                    "status": w.status.value,
                    "raw_status": w.raw_status,
                    "address": show(w.address),
                    "created": _time(w.created_ns),
                    "txid": show(w.txid),
                }
                for w in page.items
            ]
            token = page.next_token
            if not args.all or token is None:
                break
        _print_rows(rows, _VENUE_COLUMNS, args.json)
        if token is not None and not args.json:
            print(f"more: --page-token {token}", file=sys.stderr)
        return 0

    async def main() -> int:
        from botkit.treasury.errors import WithdrawalRefused

        treasury = Treasury.from_config(config)
        try:
            if args.mark or args.mark_as:
                if not (args.mark and args.mark_as):
                    raise _Usage("--mark KEY and --as sent|not-sent go together")
                try:
                    record = treasury.mark(args.mark, sent=args.mark_as == "sent")
                except (KeyError, ValueError) as exc:
                    raise _Usage(str(exc).strip("'\"")) from None
                print(f"withdrawal {record.key[:12]}: {record.state} ({record.reason})")
                return 0
            if args.journal or args.refresh:
                return await from_journal(treasury, args.account)
            account = _account(config, args.account)
            try:
                return await from_venue(treasury, account)
            except NotDocumented as exc:
                print(f"note: {exc}; listing botkit's journal instead", file=sys.stderr)
                return await from_journal(treasury, account)
            except WithdrawalRefused as exc:
                raise _Usage(str(exc)) from None
            except (VenueError, *AMBIGUOUS) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return EXIT_REFUSED
        finally:
            await treasury.close()

    return _run(main)


# ----- botkit treasury run-job ------------------------------------------------------------

_JOB_EXIT = {
    "sent": 0,
    "settled": 0,
    "dry_run": 0,
    "nothing_to_do": 0,
    "already_ran": 0,
    "refused": EXIT_REFUSED,
    "unknown": EXIT_UNKNOWN,
    "failed": EXIT_UNKNOWN,
    "waiting": EXIT_UNKNOWN,
}


def _fire_ns(text: str) -> int:
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _Usage(f"--at {text!r} is not a time: write e.g. 2024-06-01T00:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def cmd_run_job(args: argparse.Namespace) -> int:
    import time

    from botkit.treasury.jobs import build_jobs
    from botkit.treasury.service import Treasury

    config = _load(args)

    async def main() -> int:
        jobs = {j.name: j for j in build_jobs(config.treasury, config.schedule.timezone)}
        job = jobs.get(args.name)
        if job is None:
            names = ", ".join(jobs) or "bot.yaml has none"
            raise _Usage(f"no treasury job named {args.name!r} (jobs: {names})")
        fire = _fire_ns(args.at) if args.at else job.fire_time(time.time_ns())
        treasury = Treasury.from_config(config)
        try:
            result = await job.run(treasury, fire, dry_run=True if args.dry_run else None)
        finally:
            await treasury.close()
        print(f"{job.name} ({result.fire_time}): {result.action}: {result.message}")
        prepared = result.outcome.prepared if result.outcome is not None else None
        if result.action == "dry_run" and prepared is not None:
            print("dry run: this request would be sent (nothing was sent):")
            print(prepared.shown())
        code = _JOB_EXIT[result.action]
        record = result.outcome.record if result.outcome is not None else None
        if code == 0 and record is not None and record.state in ("failed", "cancelled"):
            return EXIT_UNKNOWN
        return code

    return _run(main)
