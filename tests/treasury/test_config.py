"""bot.yaml's ``treasury:`` section: checked like every other section, one paragraph
per mistake naming the field and the fix; secrets only from the environment."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from botkit.config import ConfigError, parse_config
from botkit.config.treasury import (
    AllowedAddress,
    AssetLimits,
    JobEntry,
    RebalanceJob,
    SweepJob,
    TreasuryAccount,
    TreasuryConfig,
)
from botkit.redact import Secret

ROOT = Path(__file__).resolve().parents[2]
BASE = """
instruments: [{symbol: BTC/USDT, tick_size: "0.01", lot_size: "0.001"}]
strategies: [{use: ema_cross, params: {symbol: BTC/USDT}}]
"""
ENV = {"PAYOUTS_API_KEY": "key-123", "PAYOUTS_API_SECRET": "secret-456"}


def error(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + text, env=ENV)
    return str(caught.value)


def test_the_defaults_refuse_every_withdrawal() -> None:
    t = parse_config(BASE, env=ENV).treasury
    assert not t.enabled and not t.dry_run
    assert t.accounts == {} and t.allowlist == {} and t.limits == {}


def test_a_full_section_loads_with_its_secrets_wrapped() -> None:
    cfg = parse_config(
        BASE
        + """
treasury:
  enabled: true
  accounts:
    payouts:
      venue: alphapo
      api_key: ${PAYOUTS_API_KEY}
      api_secret: ${PAYOUTS_API_SECRET}
      options: {end_user_reference: desk-1}
  allowlist:
    XRP: [{address: rEb8TK3gBgk5auZkwc6sHnwrGVJH8DuaLh, tag: 12345, label: cold}]
  limits:
    XRP: {per_withdrawal: 500, per_day: "1000", keep: 20}
""",
        env=ENV,
    )
    account = cfg.treasury.accounts["payouts"]
    assert isinstance(account.api_secret, Secret) and account.api_secret.reveal() == "secret-456"
    assert cfg.treasury.allowlist["XRP"][0].tag == "12345"
    assert str(cfg.treasury.limits["XRP"].keep) == "20"
    assert {s.reveal() for s in cfg.secrets()} == {"key-123", "secret-456"}
    assert "secret-456" not in repr(cfg) and "secret-456" not in str(cfg.redacted_dict())


def test_a_literal_secret_names_the_variable_to_use_and_never_echoes_it() -> None:
    msg = error("treasury:\n  accounts:\n    payouts: {venue: alphapo, api_secret: hunter2}\n")
    assert "line 6: treasury.accounts.payouts.api_secret: a secret cannot be written" in msg
    assert "Write api_secret: ${PAYOUTS_API_SECRET}" in msg and "hunter2" not in msg


def test_mistakes_are_reported_at_their_key_with_the_fix() -> None:
    msg = error(
        """
treasury:
  enabled: true
  accounts:
    payouts: {venue: alphapo, api_key: "${PAYOUTS_API_KEY}"}
    desk: {venue: viewer, api_key: "${PAYOUTS_API_KEY}"}
  allowlist:
    BTC: [{address: bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh, accounts: [payout]}]
  limits:
    BTC: {per_withdrawal: 2, per_day: 1}
"""
    )
    assert msg.startswith(
        "bot.yaml, line 13: treasury.limits.BTC.per_day: 1 is not allowed: must be >= "
        "per_withdrawal (2)."
    )
    msg = error(
        """
treasury:
  enabled: true
  accounts:
    payouts: {venue: alphapo, api_key: "${PAYOUTS_API_KEY}"}
    desk: {venue: viewer, api_key: "${PAYOUTS_API_KEY}"}
  allowlist:
    BTC: [{address: bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh, accounts: [payout]}]
"""
    )
    assert "treasury.accounts.payouts.api_secret: withdrawals on alphapo need api_secret" in msg
    assert "Add api_secret: ${PAYOUTS_API_SECRET}" in msg
    assert "treasury.accounts.desk.base_url: viewer needs a base_url" in msg
    assert "treasury.allowlist.BTC[0].accounts[0]: 'payout' is not a treasury account" in msg


def test_an_unknown_venue_or_option_is_named() -> None:
    msg = error("treasury:\n  accounts:\n    a: {venue: sim}\n")
    assert "treasury.accounts.a.venue: 'sim' is not allowed; must be one of" in msg
    msg = error("treasury:\n  accounts:\n    a: {venue: alphapo, options: {end_user: x}}\n")
    assert "treasury.accounts.a.options.end_user: unknown key 'end_user'" in msg
    assert "did you mean 'end_user_reference'?" in msg


def test_a_withdrawal_api_is_not_a_venue_to_trade_on() -> None:
    msg = error("venue: {name: alphapo}\n")
    assert "venue.name: 'alphapo' is not allowed" in msg


def test_asset_codes_are_upper_case() -> None:
    msg = error("treasury:\n  limits:\n    btc: {per_withdrawal: 1, per_day: 1}\n")
    assert "'btc' is not an asset code" in msg and "upper case" in msg


def test_every_treasury_key_is_documented() -> None:
    text = (ROOT / "docs" / "bot-yaml.md").read_text(encoding="utf-8")
    section = text.split("## `treasury`", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, re.M))
    models = (
        TreasuryConfig,
        TreasuryAccount,
        AllowedAddress,
        AssetLimits,
        JobEntry,
        SweepJob,
        RebalanceJob,
    )
    for model in models:
        keys = {f.alias or name for name, f in model.model_fields.items()}
        missing = keys - documented
        assert not missing, (model.__name__, sorted(missing))
    options = (ROOT / "docs" / "treasury.md").read_text(encoding="utf-8")
    from botkit.treasury.alp import AlpWithdrawalOptions
    from botkit.treasury.alpha5 import Alpha5WithdrawalOptions
    from botkit.treasury.alphapo import AlphaPoOptions
    from botkit.treasury.blocktrade import BlockTradeWithdrawalOptions
    from botkit.treasury.viewer import ViewerOptions

    for model in (
        AlphaPoOptions,
        ViewerOptions,
        Alpha5WithdrawalOptions,
        BlockTradeWithdrawalOptions,
        AlpWithdrawalOptions,
    ):
        for key in model.model_fields:
            assert f"| `{key}` |" in options, (model.__name__, key)


JOBS = """
schedule: {{timezone: UTC}}
treasury:
  accounts:
    desk: {{venue: blocktrade, base_url: "http://127.0.0.1:9"}}
    payouts: {{venue: alphapo}}
    a5: {{venue: alpha5, base_url: "http://127.0.0.1:9"}}
  allowlist:
    BTC: [{{address: bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh, label: cold}}]
  limits:
    BTC: {{per_withdrawal: "1", per_day: "2"}}
  jobs:
{jobs}
"""


def jobs_error(jobs: str, text: str = JOBS) -> str:
    return error(text.format(jobs=jobs))


def test_jobs_are_read_with_their_defaults() -> None:
    jobs = (
        '    - sweep: {account: desk, asset: BTC, keep: "0.5", to: cold, cron: "0 * * * *"}\n'
        "    - rebalance: {asset: BTC, from: desk, to: a5, band: [1, 3], target: 2, every: 15m}\n"
    )
    t = parse_config(BASE + JOBS.format(jobs=jobs), env=ENV).treasury
    sweep, rebalance = (entry.job for entry in t.jobs)
    assert isinstance(sweep, SweepJob) and isinstance(rebalance, RebalanceJob)
    assert (sweep.name, sweep.keep, sweep.min_amount, sweep.dry_run) == (
        "sweep-BTC-desk",
        Decimal("0.5"),
        Decimal(0),
        False,
    )
    assert rebalance.name == "rebalance-BTC-desk-a5" and rebalance.source == "desk"
    assert rebalance.every == 15 * 60 * 10**9 and rebalance.cooldown == 3600 * 10**9
    assert rebalance.band == (Decimal(1), Decimal(3))


def test_job_mistakes_are_reported_at_their_key() -> None:
    sweep = '{account: desk, asset: BTC, keep: "0.5", to: cold, cron: "0 * * * *"}'
    into_alphapo = (
        "    - rebalance: {asset: BTC, from: a5, to: payouts, band: [1, 2], target: 1, every: 1h}"
    )
    cases = {
        "    - sweep: {account: desk, asset: BTC, keep: 1, to: stranger, every: 1h}": (
            "treasury.jobs[0].sweep.to: 'stranger' is not a label or address of the BTC allowlist"
        ),
        "    - sweep: {account: payouts, asset: BTC, keep: 1, to: cold, every: 1h}": (
            "a sweep reads the account's balance, and alphapo reports none"
        ),
        "    - sweep: {account: nobody, asset: BTC, keep: 1, to: cold, every: 1h}": (
            "treasury.jobs[0].sweep.account: 'nobody' is not a treasury account"
        ),
        "    - sweep: {account: desk, asset: ETH, keep: 1, to: cold, every: 1h}": (
            "ETH has no caps under treasury.limits"
        ),
        "    - sweep: {account: desk, asset: BTC, keep: 1, to: cold}": "give the job one schedule",
        "    - rebalance: {asset: BTC, from: desk, to: a5, band: [1, 3], target: 5, every: 1h}": (
            "target 5 is not inside the band [1, 3]"
        ),
        into_alphapo: ("a rebalance reads the balance and the deposit address of its 'to' account"),
        f"    - sweep: {sweep}\n    - sweep: {sweep}": "two jobs are named 'sweep-BTC-desk'",
        "    - swept: {}": "treasury.jobs[0].swept: unknown key 'swept'; did you mean 'sweep'?",
        "    - {}": "a job is {sweep: {...}} or {rebalance: {...}}: exactly one of them",
    }
    for jobs, expected in cases.items():
        assert expected in jobs_error(jobs), jobs
    no_timezone = JOBS.replace("schedule: {{timezone: UTC}}\n", "")
    msg = jobs_error(f"    - sweep: {sweep}", no_timezone)
    assert "treasury job sweep-BTC-desk runs on a cron schedule, and schedule.timezone" in msg
