"""Profit sweeps and rebalancing (``treasury.jobs``) end to end, against the
BlockTrade, Alpha5 and viewer simulators over loopback.

A job is run for a fire time given by the test (as the scheduler does with the
time it fires at), except in the one test that lets ``NodeJobs`` fire them on a
short interval. What every test holds: a job's withdrawal takes the treasury's
one path, so the guard rails refuse inside jobs too (nothing sent), and a fire
time is paid at most once, however often it is run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from botkit.config import parse_config
from botkit.config.treasury import TreasuryConfig
from botkit.jobs import NodeJobs
from botkit.schedule import Cron
from botkit.simulator.server import RunningSimulator, running_simulator
from botkit.treasury.jobs import build_jobs, fire_time, run_reference, schedule_jobs
from botkit.treasury.service import Treasury, build_clients

from .helpers import BTC_COLD, Clock, make_treasury, served

HOUR_NS = 3600 * 10**9


def _ns(when: datetime) -> int:
    return int(when.timestamp()) * 10**9 + when.microsecond * 1000


FIRE = 1_717_246_800 * 10**9  # 2024-06-01T13:00:00Z, a fire time of "0 * * * *"
A5_TOKEN = "a5-token"


@dataclass
class Venues:
    bt: RunningSimulator  # BlockTrade: account "desk"
    a5: RunningSimulator  # Alpha5: account "payouts"
    bt_usdt: str  # the deposit addresses, as each venue gives them
    a5_usdt: str

    def accounts(self, **extra: Any) -> dict[str, Any]:
        return {
            "desk": {"venue": "blocktrade", "base_url": self.bt.base_url, **self.bt.credentials},
            "payouts": {"venue": "alpha5", "base_url": self.a5.base_url, "api_key": A5_TOKEN},
            **extra,
        }


async def _deposit_address(config: TreasuryConfig, account: str, asset: str) -> str:
    client = build_clients(config)[account]
    try:
        return (await client.deposit_address(asset)).address
    finally:
        await client.close()


@pytest.fixture
async def venues() -> AsyncIterator[Venues]:
    bt_start = {"BTC": "2.4", "USDT": "1000"}
    async with (
        running_simulator("blocktrade", run_market=False, balances=bt_start, settle_s=0.1) as bt,
        running_simulator("alpha5", run_market=False, token=A5_TOKEN) as a5,
    ):
        v = Venues(bt, a5, "", "")
        bare = TreasuryConfig.model_validate({"accounts": v.accounts()})
        v.bt_usdt = await _deposit_address(bare, "desk", "USDT")
        v.a5_usdt = await _deposit_address(bare, "payouts", "USDT")
        yield v


SWEEP = {"account": "desk", "asset": "BTC", "keep": "1.5", "to": "cold", "cron": "0 * * * *"}
REBALANCE = {
    "asset": "USDT",
    "from": "payouts",
    "to": "desk",
    "band": ["5000", "20000"],
    "target": "10000",
    "cron": "*/15 * * * *",
    "cooldown": "30m",
}


def config(v: Venues, *jobs: dict[str, Any], **changes: Any) -> TreasuryConfig:
    data: dict[str, Any] = {
        "enabled": True,
        "accounts": v.accounts(),
        "allowlist": {
            "BTC": [{"address": BTC_COLD, "label": "cold"}],
            "USDT": [
                {"address": v.bt_usdt, "label": "desk-deposit", "accounts": ["payouts"]},
                {"address": v.a5_usdt, "label": "payouts-deposit", "accounts": ["desk"]},
            ],
        },
        "limits": {
            "BTC": {"per_withdrawal": "1", "per_day": "2"},
            "USDT": {"per_withdrawal": "25000", "per_day": "50000"},
        },
        "jobs": list(jobs) or [{"sweep": SWEEP}, {"rebalance": REBALANCE}],
        **changes,
    }
    return TreasuryConfig.model_validate(data)


def job_named(cfg: TreasuryConfig, name: str) -> Any:
    return next(j for j in build_jobs(cfg, "UTC") if j.name == name)


def withdraw_calls(sim: RunningSimulator) -> int:
    return sim.exchange.requests.get("withdraw", 0)


# ----- sweeps ----------------------------------------------------------------------------------


async def test_a_sweep_withdraws_what_is_above_keep_to_the_allowlisted_address(
    venues: Venues, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = config(venues)
    treasury = make_treasury(cfg, tmp_path / "j.sqlite")
    sweep = job_named(cfg, "sweep-BTC-desk")
    with caplog.at_level(logging.INFO, logger="botkit"):
        run = await sweep.run(treasury, FIRE)
    assert (run.action, run.amount, run.sent) == ("sent", Decimal("0.9"), True)
    [made] = venues.bt.server.withdrawals.items  # type: ignore[union-attr]
    assert (made.asset, made.amount, made.address) == ("BTC", Decimal("0.9"), BTC_COLD)
    assert venues.bt.exchange.balances["BTC"] == Decimal("1.5")
    [record] = treasury.journal.records()
    assert record.reference == "job:sweep-BTC-desk@2024-06-01T13:00:00Z" == run.reference
    # One line says what it read, what it sent and where, the address shortened.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert (
        "treasury job sweep-BTC-desk (2024-06-01T13:00:00Z): sent: 2.4 BTC on desk is 0.9 above "
        "1.5: 0.9 BTC to bc1qxy…0wlh (cold) via desk" in logged
    )
    assert BTC_COLD not in logged
    # The next hour there is nothing above keep.
    later = await sweep.run(treasury, FIRE + HOUR_NS)
    assert later.action == "nothing_to_do" and "nothing above 1.5 to sweep" in later.message
    assert withdraw_calls(venues.bt) == 1
    await treasury.close()


async def test_a_fire_time_run_twice_sends_once_even_after_a_restart(
    venues: Venues, tmp_path: Path
) -> None:
    cfg = config(venues)
    journal = tmp_path / "j.sqlite"
    treasury = make_treasury(cfg, journal)
    sweep = job_named(cfg, "sweep-BTC-desk")
    assert (await sweep.run(treasury, FIRE)).action == "sent"
    assert (await sweep.run(treasury, FIRE)).action == "already_ran"
    await treasury.close()
    # More BTC arrives; the bot restarts and the same fire time comes round again.
    venues.bt.exchange.balances["BTC"] += Decimal("0.6")
    restarted = make_treasury(cfg, journal)
    again = await job_named(cfg, "sweep-BTC-desk").run(restarted, FIRE)
    assert again.action == "already_ran" and not again.sent
    assert "this fire time was run before" in again.message
    assert withdraw_calls(venues.bt) == 1
    # The next fire time is a run of its own and sweeps the new excess.
    nxt = await sweep.run(restarted, FIRE + HOUR_NS)
    assert (nxt.action, nxt.amount) == ("sent", Decimal("0.6"))
    assert withdraw_calls(venues.bt) == 2 and len(restarted.journal.records()) == 2
    await restarted.close()


async def test_guard_rails_refuse_inside_jobs_and_nothing_is_sent(
    venues: Venues, tmp_path: Path
) -> None:
    disabled = config(venues, enabled=False)
    treasury = make_treasury(disabled, tmp_path / "a.sqlite")
    run = await job_named(disabled, "sweep-BTC-desk").run(treasury, FIRE)
    assert (run.action, run.code) == ("refused", "disabled") and "Nothing was sent" in run.message
    await treasury.close()

    tight = config(venues, limits={"BTC": {"per_withdrawal": "0.5", "per_day": "1"}})
    treasury = make_treasury(tight, tmp_path / "b.sqlite")
    run = await job_named(tight, "sweep-BTC-desk").run(treasury, FIRE)
    assert (run.action, run.code) == ("refused", "per_withdrawal_cap")
    await treasury.close()

    keep = config(venues, limits={"BTC": {"per_withdrawal": "1", "per_day": "2", "keep": "2"}})
    treasury = make_treasury(keep, tmp_path / "c.sqlite")
    run = await job_named(keep, "sweep-BTC-desk").run(treasury, FIRE)
    assert (run.action, run.code) == ("refused", "keep_balance")
    await treasury.close()

    # The venue's deposit address is not on the allowlist: the transfer is refused.
    unlisted = config(venues, allowlist={"BTC": [{"address": BTC_COLD, "label": "cold"}]})
    treasury = make_treasury(unlisted, tmp_path / "d.sqlite")
    run = await job_named(unlisted, "rebalance-USDT-payouts-desk").run(treasury, FIRE)
    assert (run.action, run.code) == ("refused", "not_allowlisted")
    await treasury.close()

    assert withdraw_calls(venues.bt) == 0 and withdraw_calls(venues.a5) == 0
    for name in "abcd":
        assert make_treasury(disabled, tmp_path / f"{name}.sqlite").journal.records() == []


async def test_the_daily_cap_counts_a_jobs_earlier_runs(venues: Venues, tmp_path: Path) -> None:
    cfg = config(venues, limits={"BTC": {"per_withdrawal": "1", "per_day": "1"}})
    clock = Clock()
    treasury = make_treasury(cfg, tmp_path / "j.sqlite", clock)
    sweep = job_named(cfg, "sweep-BTC-desk")
    assert (await sweep.run(treasury, FIRE)).action == "sent"  # 0.9
    venues.bt.exchange.balances["BTC"] += Decimal("0.5")
    clock.advance(3600)
    second = await sweep.run(treasury, FIRE + HOUR_NS)
    assert (second.action, second.code) == ("refused", "daily_cap")
    clock.advance(86_400)
    third = await sweep.run(treasury, FIRE + 25 * HOUR_NS)
    assert (third.action, third.amount) == ("sent", Decimal("0.5"))
    assert withdraw_calls(venues.bt) == 2
    await treasury.close()


async def test_a_dry_run_job_shows_the_request_and_sends_nothing(
    venues: Venues, tmp_path: Path
) -> None:
    cfg = config(venues, {"sweep": {**SWEEP, "dry_run": True}})
    treasury = make_treasury(cfg, tmp_path / "j.sqlite")
    run = await job_named(cfg, "sweep-BTC-desk").run(treasury, FIRE)
    assert run.action == "dry_run" and run.amount == Decimal("0.9") and not run.sent
    assert run.outcome is not None and run.outcome.prepared is not None
    assert '"amount":"0.9"' in (run.outcome.prepared.body or "")
    assert withdraw_calls(venues.bt) == 0 and treasury.journal.records() == []
    await treasury.close()


# ----- rebalancing -----------------------------------------------------------------------------


async def test_a_rebalance_tops_up_below_the_band_and_returns_the_excess_above_it(
    venues: Venues, tmp_path: Path
) -> None:
    cfg = config(venues)
    clock = Clock()
    treasury = make_treasury(cfg, tmp_path / "j.sqlite", clock)
    job = job_named(cfg, "rebalance-USDT-payouts-desk")

    # desk holds 1000 USDT, below the band: 9000 come from payouts (Alpha5) to its deposit address.
    up = await job.run(treasury, FIRE)
    assert (up.action, up.amount) == ("sent", Decimal("9000"))
    [sent] = venues.a5.server._withdrawals  # type: ignore[union-attr]
    assert (sent["address"], sent["amount"]) == (venues.bt_usdt, "9000")
    assert venues.a5.exchange.balances["USDT"] == Decimal(91000)

    # The deposit has not arrived yet: inside the cooldown the job waits.
    waiting = await job.run(treasury, FIRE + HOUR_NS // 4)
    assert waiting.action == "waiting"
    venues.bt.exchange.balances["USDT"] += Decimal(9000)  # it arrives
    clock.advance(31 * 60)
    inside = await job.run(treasury, FIRE + HOUR_NS)
    assert inside.action == "nothing_to_do" and "inside the band [5000, 20000]" in inside.message

    # Above the band the excess goes back from desk (BlockTrade) to payouts' deposit address.
    venues.bt.exchange.balances["USDT"] = Decimal(32000)
    down = await job.run(treasury, FIRE + 2 * HOUR_NS)
    assert (down.action, down.amount) == ("sent", Decimal("22000"))
    [back] = venues.bt.server.withdrawals.items  # type: ignore[union-attr]
    assert (back.address, back.amount) == (venues.a5_usdt, Decimal(22000))
    assert venues.bt.exchange.balances["USDT"] == Decimal(10000)
    assert [r.account for r in treasury.journal.records()] == ["payouts", "desk"]
    await treasury.close()


@pytest.mark.parametrize("rerun", ["the same fire time", "the next fire time"])
async def test_a_run_cut_off_while_sending_is_settled_never_paid_twice(
    venues: Venues, tmp_path: Path, rerun: str
) -> None:
    """The bot stops (the scheduler cancels the running job) after the create left and
    before its reply. Run again, the same fire time looks the withdrawal up by its guid;
    the next fire time settles the earlier run the same way before it does anything."""
    async with running_simulator("viewer", run_market=False, settle_s=0.1) as viewer:
        hot = {"venue": "viewer", "base_url": viewer.base_url, **viewer.credentials}
        cfg = config(
            venues,
            {"rebalance": {**REBALANCE, "from": "hot"}},
            accounts=venues.accounts(hot=hot),
            allowlist={"USDT": [{"address": venues.bt_usdt, "label": "desk-deposit"}]},
        )
        treasury = make_treasury(cfg, tmp_path / "j.sqlite")
        job = job_named(cfg, "rebalance-USDT-hot-desk")
        server: Any = viewer.server
        server.delay_next_replies, server.reply_delay_s = 1, 0.3
        running = asyncio.create_task(job.run(treasury, FIRE))
        while not server.ledger.items:  # the create has acted at the venue
            await asyncio.sleep(0.01)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        [record] = treasury.journal.records()
        assert record.state == "sending"

        if rerun == "the same fire time":
            again = await job.run(treasury, FIRE)
            assert again.action == "settled"
            assert "found at the venue: not sent again" in again.message
        else:
            # Settled first, then the transfer it finds is recent: the cooldown holds.
            later = await job.run(treasury, FIRE + HOUR_NS // 4)
            assert later.action == "waiting" and "cooldown" in later.message
        assert treasury.journal.records()[0].state in ("pending", "completed")
        assert (await job.run(treasury, FIRE)).action == "already_ran"
        assert len(server.sent("POST", "/viewer/withdrawals")) == 1
        assert len(server.ledger.items) == 1
        await treasury.close()


# ----- on the scheduler ------------------------------------------------------------------------


def test_fire_times_are_the_schedules_latest_not_after_now() -> None:
    hourly = Cron("0 * * * *", "UTC")
    assert fire_time(hourly, FIRE) == FIRE
    assert fire_time(hourly, FIRE + HOUR_NS - 1) == FIRE
    london = Cron("30 8 * * mon-fri", "Europe/London")  # 07:30 UTC in summer
    saturday = _ns(datetime(2024, 6, 1, 8, tzinfo=UTC))
    assert fire_time(london, saturday) == _ns(datetime(2024, 5, 31, 7, 30, tzinfo=UTC))
    assert fire_time(250_000_000, FIRE + 260_000_000) == FIRE + 250_000_000  # every 250ms
    assert run_reference("sweep-BTC-desk", FIRE + 250_000_000) == (
        "job:sweep-BTC-desk@2024-06-01T13:00:00.25Z"
    )


async def test_the_node_runs_the_jobs_on_its_scheduler_and_each_fire_time_pays_once(
    venues: Venues, tmp_path: Path
) -> None:
    """NodeJobs fires the sweep every 250 ms; only the first run finds BTC to sweep."""
    every = {**SWEEP, "cron": None, "every": "250ms"}
    cfg = config(venues, {"sweep": every})
    bot = parse_config(
        'instruments: [{symbol: BTC/USDT, tick_size: "0.01", lot_size: "0.001"}]\n'
        "strategies: [{use: ema_cross, params: {symbol: BTC/USDT}}]\n",
        base_dir=tmp_path,
    ).model_copy(update={"treasury": cfg})
    node_jobs = NodeJobs("UTC")
    assert [j.name for j in schedule_jobs(node_jobs, bot)] == ["sweep-BTC-desk"]
    node_jobs.start()
    try:
        for _ in range(60):
            await asyncio.sleep(0.05)
            if node_jobs.runs["treasury:sweep-BTC-desk"] >= 3:
                break
    finally:
        node_jobs.shutdown()
    assert node_jobs.runs["treasury:sweep-BTC-desk"] >= 3
    assert node_jobs.runs["treasury:sweep-BTC-desk.failed"] == 0
    assert withdraw_calls(venues.bt) == 1
    journal = Treasury.from_config(bot)
    [record] = journal.journal.records()
    fired = datetime.fromisoformat(record.reference.partition("@")[2].replace("Z", "+00:00"))
    assert _ns(fired) % 250_000_000 == 0  # a multiple of the interval from the epoch
    assert record.amount == Decimal("0.9")
    await journal.close()


def test_the_node_puts_bot_yamls_treasury_jobs_on_its_scheduler(tmp_path: Path) -> None:
    from botkit.node import _node_jobs

    text = BOT.format(url="http://127.0.0.1:9", cold=BTC_COLD)
    bot = parse_config(text, base_dir=tmp_path, env=ENV)
    jobs = _node_jobs(bot, None, None)  # type: ignore[arg-type]
    job = jobs.scheduler.get_job("treasury:sweep-BTC-desk")
    assert job is not None and "cron[" in str(job.trigger)


# ----- botkit treasury run-job -------------------------------------------------------------------

BOT = """
instruments: [{{symbol: BTC/USDT, tick_size: "0.01", lot_size: "0.001"}}]
strategies: [{{use: ema_cross, params: {{symbol: BTC/USDT}}}}]
schedule: {{timezone: UTC}}
treasury:
  enabled: true
  journal: state/treasury.sqlite
  accounts:
    desk:
      venue: blocktrade
      base_url: {url}
      api_key: ${{DESK_API_KEY}}
      api_secret: ${{DESK_API_SECRET}}
  allowlist:
    BTC: [{{address: {cold}, label: cold}}]
  limits:
    BTC: {{per_withdrawal: "1", per_day: "2"}}
  jobs:
    - sweep: {{account: desk, asset: BTC, keep: "1.5", to: cold, cron: "0 * * * *"}}
"""
ENV = {"DESK_API_KEY": "bt-test-key", "DESK_API_SECRET": "bt-test-secret"}


def test_run_job_by_hand_dry_run_then_once_per_fire_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from botkit.cli import main

    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    with served("blocktrade", balances={"BTC": "2.4"}) as bt:
        path = tmp_path / "bot.yaml"
        path.write_text(BOT.format(url=bt.sim.base_url, cold=BTC_COLD))

        def sent() -> int:
            return int(bt.call(lambda: bt.sim.exchange.requests.get("withdraw", 0)))

        base = ["treasury", "run-job", str(path), "sweep-BTC-desk"]
        assert main([*base, "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert "dry_run: 2.4 BTC on desk is 0.9 above 1.5: 0.9 BTC to bc1qxy…0wlh (cold)" in out
        assert "dry run: this request would be sent (nothing was sent):" in out
        assert '"amount":"0.9"' in out and "X-Signature: ***" in out and sent() == 0

        at = ["--at", "2024-06-01T13:00Z"]
        assert main([*base, *at]) == 0
        out = capsys.readouterr().out
        assert out.startswith("sweep-BTC-desk (2024-06-01T13:00:00Z): sent:")
        assert main([*base, *at]) == 0
        assert "already_ran" in capsys.readouterr().out
        assert sent() == 1

        assert main(["treasury", "run-job", str(path), "nope"]) == 2
        assert "no treasury job named 'nope' (jobs: sweep-BTC-desk)" in capsys.readouterr().err
        assert main([*base, "--at", "yesterday"]) == 2
        assert sent() == 1


async def test_a_lost_reply_on_a_venue_without_lookup_holds_the_job_until_settled_by_hand(
    venues: Venues, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """BlockTrade keeps no reference of ours and lists no crypto withdrawals: a sweep
    whose reply was not understood is never sent again, and the job waits, loudly,
    until someone checks the venue and marks it."""
    cfg = config(venues)
    treasury = make_treasury(cfg, tmp_path / "j.sqlite")
    sweep = job_named(cfg, "sweep-BTC-desk")
    venues.bt.set_faults(garble_next=1, garble_what="withdraw")  # acts, answers nonsense
    first = await sweep.run(treasury, FIRE)
    assert first.action == "unknown" and venues.bt.exchange.balances["BTC"] == Decimal("1.5")
    venues.bt.exchange.balances["BTC"] += Decimal("0.3")
    with caplog.at_level(logging.WARNING, logger="botkit"):
        held = await sweep.run(treasury, FIRE + HOUR_NS)
    assert (held.action, held.code) == ("waiting", "unsettled")
    assert "waiting: the run of 2024-06-01T13:00:00Z is unsettled" in caplog.text
    assert withdraw_calls(venues.bt) == 1
    treasury.mark(first.outcome.key, sent=True)  # type: ignore[union-attr]
    after = await sweep.run(treasury, FIRE + 2 * HOUR_NS)
    assert (after.action, after.amount) == ("sent", Decimal("0.3"))
    assert withdraw_calls(venues.bt) == 2
    await treasury.close()
