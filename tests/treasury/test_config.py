"""bot.yaml's ``treasury:`` section: checked like every other section, one paragraph
per mistake naming the field and the fix; secrets only from the environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from botkit.config import ConfigError, parse_config
from botkit.config.treasury import AllowedAddress, AssetLimits, TreasuryAccount, TreasuryConfig
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
    msg = error("treasury:\n  accounts:\n    a: {venue: blocktrade}\n")
    assert "treasury.accounts.a.venue: 'blocktrade' is not allowed; must be one of" in msg
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
    for model in (TreasuryConfig, TreasuryAccount, AllowedAddress, AssetLimits):
        missing = set(model.model_fields) - documented
        assert not missing, (model.__name__, sorted(missing))
    options = (ROOT / "docs" / "treasury.md").read_text(encoding="utf-8")
    from botkit.treasury.alpha5 import Alpha5WithdrawalOptions
    from botkit.treasury.alphapo import AlphaPoOptions
    from botkit.treasury.viewer import ViewerOptions

    for model in (AlphaPoOptions, ViewerOptions, Alpha5WithdrawalOptions):
        for key in model.model_fields:
            assert f"| `{key}` |" in options, (model.__name__, key)
