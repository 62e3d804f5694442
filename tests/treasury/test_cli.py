"""``botkit withdraw`` and ``botkit withdrawals`` against simulators over loopback."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from botkit.cli import main

from .helpers import BTC_COLD, STRANGER, Served, served

ROOT = "/viewer/withdrawals"

BOT = """
instruments: [{{symbol: BTC/USDT, tick_size: "0.01", lot_size: "0.001"}}]
strategies: [{{use: ema_cross, params: {{symbol: BTC/USDT}}}}]
treasury:
  enabled: {enabled}
  journal: state/treasury.sqlite
  poll_interval: 50ms
  accounts:
    hot:
      venue: viewer
      base_url: {url}
      api_key: ${{HOT_API_KEY}}
  allowlist:
    BTC:
      - {{address: {btc}, label: cold}}
  limits:
    BTC: {{per_withdrawal: "1", per_day: "2"}}
"""


@pytest.fixture(scope="module")
def viewer() -> Iterator[Served]:
    with served("viewer", settle_s=0.2) as s:
        yield s


@pytest.fixture
def bot(tmp_path: Path, viewer: Served, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOT_API_KEY", "viewer-test-token")
    path = tmp_path / "bot.yaml"
    path.write_text(BOT.format(enabled="true", url=viewer.sim.base_url, btc=BTC_COLD))
    return path


def creates(viewer: Served) -> int:
    return viewer.call(lambda: len(viewer.sim.server.sent("POST", ROOT)))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_withdraw_with_yes_sends_and_waits_for_the_final_status(
    bot: Path, viewer: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    before = creates(viewer)
    code = main(
        [
            "withdraw",
            str(bot),
            "--asset",
            "BTC",
            "--amount",
            "0.1",
            "--to",
            "cold",
            "--yes",
            "--wait",
            "--reference",
            "t1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "sent: pending at viewer" in out and "status: completed (COMPLETED)" in out
    assert creates(viewer) == before + 1
    # The same command again is the same withdrawal: nothing is sent.
    code = main(
        [
            "withdraw",
            str(bot),
            "--asset",
            "BTC",
            "--amount",
            "0.1",
            "--to",
            "cold",
            "--yes",
            "--reference",
            "t1",
        ]
    )
    assert code == 0 and "already sent: completed" in capsys.readouterr().out
    assert creates(viewer) == before + 1


def test_dry_run_prints_the_exact_request_with_secrets_masked(
    bot: Path, viewer: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    before = creates(viewer)
    code = main(
        ["withdraw", str(bot), "--asset", "BTC", "--amount", "0.2", "--to", BTC_COLD, "--dry-run"]
    )
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "dry run: this request would be sent (nothing was sent):"
    assert lines[1] == f"POST {viewer.sim.base_url}{ROOT}"
    assert "Authorization: ***" in lines and "viewer-test-token" not in out
    body = json.loads(lines[-1])
    assert body["symbol"] == "BTC" and body["amount"] == "0.2"
    assert body["target_address"] == BTC_COLD
    assert creates(viewer) == before


def test_without_a_terminal_or_yes_nothing_is_sent(
    bot: Path, viewer: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    before = creates(viewer)
    code = main(["withdraw", str(bot), "--asset", "BTC", "--amount", "0.3", "--to", "cold"])
    assert code == 2
    assert "Pass --yes to send from a script (nothing was sent)" in capsys.readouterr().err
    assert creates(viewer) == before


def test_on_a_terminal_it_asks_and_sends_only_on_yes(
    bot: Path,
    viewer: Served,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = creates(viewer)
    args = ["withdraw", str(bot), "--asset", "BTC", "--amount", "0.4", "--to", "cold"]
    monkeypatch.setattr("sys.stdin", Terminal("no\n"))
    assert main(args) == 2
    out = capsys.readouterr()
    assert f"to       {BTC_COLD}  (cold)" in out.out and "not sent" in out.err
    assert creates(viewer) == before
    monkeypatch.setattr("sys.stdin", Terminal("yes\n"))
    assert main(args) == 0
    assert "Type yes to send it: sent: pending" in capsys.readouterr().out
    assert creates(viewer) == before + 1


def test_a_refusal_is_one_paragraph_and_exit_status_2(
    bot: Path, viewer: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    before = creates(viewer)
    code = main(
        ["withdraw", str(bot), "--asset", "BTC", "--amount", "0.1", "--to", STRANGER, "--yes"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: withdrawal refused (not_allowlisted): bc1qar…5mdq is not on")
    assert err.rstrip().endswith("Nothing was sent.") and len(err.strip().splitlines()) == 1
    assert creates(viewer) == before


def test_a_withdrawal_while_disabled_is_refused(
    tmp_path: Path,
    viewer: Served,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOT_API_KEY", "viewer-test-token")
    path = tmp_path / "bot.yaml"
    path.write_text(BOT.format(enabled="false", url=viewer.sim.base_url, btc=BTC_COLD))
    before = creates(viewer)
    code = main(
        ["withdraw", str(path), "--asset", "BTC", "--amount", "0.1", "--to", "cold", "--yes"]
    )
    assert code == 2
    assert "withdrawals are disabled in bot.yaml (treasury.enabled is false)" in (
        capsys.readouterr().err
    )
    assert creates(viewer) == before


def test_withdrawals_lists_the_venues_pages_and_the_journal(
    bot: Path, viewer: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(3):
        assert (
            main(
                [
                    "withdraw",
                    str(bot),
                    "--asset",
                    "BTC",
                    "--amount",
                    f"0.0{n + 1}",
                    "--to",
                    "cold",
                    "--yes",
                    "--reference",
                    "list",
                ]
            )
            == 0
        )
    capsys.readouterr()
    assert main(["withdrawals", str(bot), "--limit", "2", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 and rows[0]["amount"] == "0.03"
    assert rows[0]["address"] == "bc1qxy…0wlh" and rows[0]["raw_status"] in ("PENDING", "COMPLETED")

    assert main(["withdrawals", str(bot), "--limit", "2", "--all", "--asset", "btc"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "id",
        "asset",
        "amount",
        "status",
        "raw_status",
        "address",
        "created",
        "txid",
    ]
    assert len(table) - 1 == viewer.call(lambda: len(viewer.sim.server.ledger.items))

    assert main(["withdrawals", str(bot), "--refresh", "--json"]) == 0
    journal = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["state"] for r in journal} <= {"pending", "completed"} and len(journal) == 3
    assert all(BTC_COLD not in json.dumps(r) for r in journal)


def test_logs_at_info_hold_no_secret_and_no_whole_address(
    bot: Path, viewer: Served, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.INFO):
        assert (
            main(
                [
                    "withdraw",
                    str(bot),
                    "--asset",
                    "BTC",
                    "--amount",
                    "0.05",
                    "--to",
                    "cold",
                    "--yes",
                    "--wait",
                    "--reference",
                    "logs",
                ]
            )
            == 0
        )
        main(
            ["withdraw", str(bot), "--asset", "BTC", "--amount", "0.05", "--to", STRANGER, "--yes"]
        )
    text = caplog.text
    assert "sending 0.05 BTC to bc1qxy…0wlh (cold) via hot" in text
    assert "completed" in text and "refused (not_allowlisted)" in text
    for secret_or_address in ("viewer-test-token", BTC_COLD, STRANGER):
        assert secret_or_address not in text
    capsys.readouterr()


ALPHAPO_BOT = """
instruments: [{{symbol: BTC/USDT, tick_size: "0.01", lot_size: "0.001"}}]
strategies: [{{use: ema_cross, params: {{symbol: BTC/USDT}}}}]
treasury:
  enabled: true
  accounts:
    payouts:
      venue: alphapo
      base_url: {url}
      api_key: ${{PAYOUTS_API_KEY}}
      api_secret: ${{PAYOUTS_API_SECRET}}
  allowlist:
    XRP: [{{address: rEb8TK3gBgk5auZkwc6sHnwrGVJH8DuaLh, tag: "12345", label: cold}}]
  limits:
    XRP: {{per_withdrawal: "500", per_day: "1000"}}
"""


def test_alphapo_withdrawals_are_listed_from_the_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYOUTS_API_KEY", "alphapo-test-key")
    monkeypatch.setenv("PAYOUTS_API_SECRET", "alphapo-test-secret")
    with served("alphapo", settle_s=0.1) as alphapo:
        path = tmp_path / "bot.yaml"
        path.write_text(ALPHAPO_BOT.format(url=alphapo.sim.base_url))
        args = ["withdraw", str(path), "--asset", "XRP", "--amount", "25", "--to", "cold"]
        assert main([*args, "--yes", "--wait"]) == 0
        out = capsys.readouterr().out
        # The document has no status call: what the create answered is all there is.
        assert "sent: pending at alphapo" in out and "status: pending (processing)" in out
        sent = alphapo.call(lambda: alphapo.sim.server.ledger.items[0])
        assert sent.tag == "12345" and sent.amount == 25

        assert main(["withdrawals", str(path), "--json"]) == 0
        captured = capsys.readouterr()
        assert "describes no withdrawal list call" in captured.err
        [row] = [json.loads(line) for line in captured.out.splitlines()]
        assert row["state"] == "pending" and row["raw_status"] == "processing"
        assert row["venue_id"] == "678388" and row["address"] == "rEb8TK…uaLh"


ALPHA5_BOT = """
instruments: [{{symbol: BTC/USDT, tick_size: "0.01", lot_size: "0.001"}}]
strategies: [{{use: ema_cross, params: {{symbol: BTC/USDT}}}}]
treasury:
  enabled: true
  accounts:
    futures: {{venue: alpha5, base_url: {url}}}
  allowlist:
    USDT: [{{address: "0x4643bb6b393ac20a6175c713175734a72517c63d6f7", label: cold}}]
  limits:
    USDT: {{per_withdrawal: "500", per_day: "1000"}}
"""


def test_an_unknown_outcome_is_settled_by_hand_on_a_venue_without_references(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with served("alpha5") as alpha5:
        path = tmp_path / "bot.yaml"
        path.write_text(ALPHA5_BOT.format(url=alpha5.sim.base_url))
        args = ["withdraw", str(path), "--asset", "USDT", "--amount", "25", "--to", "cold"]
        alpha5.call(lambda: alpha5.sim.set_faults(fail_next=1, fail_after_probability=0.0))
        assert main([*args, "--yes"]) == 1
        hint = capsys.readouterr().err
        key = re.search(r"--mark (\w{12}) --as", hint).group(1)  # type: ignore[union-attr]
        assert main([*args, "--yes"]) == 2
        assert "(outcome_unknown)" in capsys.readouterr().err
        assert main(["withdrawals", str(path), "--mark", key, "--as", "not-sent"]) == 0
        assert "refused (marked not sent by hand)" in capsys.readouterr().out
        assert main([*args, "--yes"]) == 0
        assert "sent: completed at alpha5" in capsys.readouterr().out
        assert alpha5.call(lambda: len(alpha5.sim.server._withdrawals)) == 1
