"""`botkit fills` / `botkit orders`: CSV and JSON lines from a journal, and clean errors."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from botkit.journal import Journal
from botkit.journal_cli import (
    EXIT_JOURNAL,
    FILL_COLUMNS,
    ORDER_COLUMNS,
    iso_ns,
    main,
    parse_since,
    register,
)
from botkit.model import Fill, Liquidity, Order, OrderStatus, OrderType, Side

D = Decimal
T0 = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z


@pytest.fixture
def jfile(tmp_path: Path) -> Path:
    path = tmp_path / "journal.db"
    with Journal(path, venue="sim", synchronous="NORMAL") as j:
        j.record_order(
            Order(
                "c1", "BTC/USDT", Side.BUY, OrderType.LIMIT, D("0.002"), D("42000.10"),
                strategy="mm", status=OrderStatus.FILLED, filled=D("0.002"),
                avg_price=D("42000.10"), fees=D("0.00000001"), venue_order_id="v1",
                created_ns=T0, updated_ns=T0 + 5,
            )
        )  # fmt: skip
        j.record_order(
            Order(
                "c2", "ETH/USDT", Side.SELL, OrderType.LIMIT, D("1.5"), D("2500"),
                post_only=True, strategy="grid", created_ns=T0 + 10, updated_ns=T0 + 10,
            )
        )  # fmt: skip
        j.record_fill(
            Fill(
                "t1", "c1", "BTC/USDT", Side.BUY, D("42000.10"), D("0.001"), D("0.00000001"),
                "BTC", Liquidity.MAKER, T0 + 1, "v1",
            )
        )  # fmt: skip
        j.record_fill(
            Fill(
                "t2", "c1", "BTC/USDT", Side.BUY, D("42000.10"), D("0.001"), D("0E-8"),
                "BTC", Liquidity.TAKER, T0 + 86_400_000_000_000, "v1",
            )
        )  # fmt: skip
        j.record_fill(
            Fill(
                "t3", "c2", "ETH/USDT", Side.SELL, D("2500"), D("0.5"), D("1.25"),
                "USDT", Liquidity.MAKER, T0 + 2 * 86_400_000_000_000,
            )
        )  # fmt: skip
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_fills_csv(jfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["fills", "--journal", str(jfile)], capsys)
    assert code == 0 and err == ""
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == FILL_COLUMNS
    recs = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert [r["trade_id"] for r in recs] == ["t1", "t2", "t3"]
    first = recs[0]
    assert first["time"] == "2024-01-01T00:00:00.000000001Z"
    assert first["ts_ns"] == str(T0 + 1)
    assert first["strategy"] == "mm"  # attributed through the order
    assert first["price"] == "42000.10"
    assert first["notional"] == "42.00010"
    assert first["fee"] == "0.00000001"  # exact, never 1E-8
    assert recs[1]["fee"] == "0.00000000"
    assert first["side"] == "buy" and first["liquidity"] == "maker"
    assert recs[2]["venue_order_id"] == ""  # None is an empty cell


def test_fills_json_lines(jfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["fills", "--journal", str(jfile), "--json"], capsys)
    assert code == 0
    recs = [json.loads(line) for line in out.splitlines()]
    assert len(recs) == 3
    assert list(recs[0]) == list(FILL_COLUMNS)
    assert recs[0]["price"] == "42000.10" and recs[0]["fee"] == "0.00000001"
    assert recs[0]["ts_ns"] == T0 + 1
    assert recs[2]["venue_order_id"] is None
    assert D(recs[2]["notional"]) == D("1250.0")


def test_fills_filters(jfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def ids(*extra: str) -> list[str]:
        code, out, _ = run(["fills", "--journal", str(jfile), "--json", *extra], capsys)
        assert code == 0
        return [json.loads(line)["trade_id"] for line in out.splitlines()]

    assert ids("--strategy", "mm") == ["t1", "t2"]
    assert ids("--symbol", "ETH/USDT") == ["t3"]
    assert ids("--since", "2024-01-02") == ["t2", "t3"]
    assert ids("--since", "2024-01-01T00:00:00.000001Z") == ["t2", "t3"]
    assert ids("--since", "2024-01-02T01:00:00+01:00") == ["t2", "t3"]  # = 00:00 UTC
    assert ids("--since", "2024-01-02T00:00:00.000001") == ["t3"]
    assert ids("--strategy", "mm", "--since", "2024-01-03") == []


def test_empty_result_still_has_a_header(jfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["fills", "--journal", str(jfile), "--strategy", "none"], capsys)
    assert code == 0
    assert out.splitlines() == [",".join(FILL_COLUMNS)]
    code, out, _ = run(["fills", "--journal", str(jfile), "--strategy", "none", "--json"], capsys)
    assert code == 0 and out == ""


def test_orders_csv_and_open(jfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["orders", "--journal", str(jfile)], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == ORDER_COLUMNS
    assert [r["client_id"] for r in rows] == ["c1", "c2"]
    c1, c2 = rows
    assert c1["status"] == "filled" and c1["filled"] == "0.002" and c1["remaining"] == "0.000"
    assert c1["fees"] == "0.00000001" and c1["created"] == "2024-01-01T00:00:00.000000000Z"
    assert c2["post_only"] == "true" and c2["reduce_only"] == "false"
    assert c2["avg_price"] == "" and c2["side"] == "sell"

    code, out, _ = run(["orders", "--journal", str(jfile), "--open"], capsys)
    assert [r["client_id"] for r in csv.DictReader(io.StringIO(out))] == ["c2"]


def test_orders_json(jfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["orders", "--journal", str(jfile), "--json", "--open"], capsys)
    assert code == 0
    (rec,) = [json.loads(line) for line in out.splitlines()]
    assert rec["client_id"] == "c2" and rec["status"] == "pending_new"
    assert rec["size"] == "1.5" and rec["remaining"] == "1.5" and rec["price"] == "2500"
    assert rec["post_only"] is True and rec["avg_price"] is None
    assert rec["created_ns"] == T0 + 10


def test_missing_journal_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.db"
    for cmd in ("fills", "orders"):
        code, out, err = run([cmd, "--journal", str(missing)], capsys)
        assert code == EXIT_JOURNAL == 2
        assert out == ""
        assert err.count("\n") == 1 and err.startswith("error: ") and "no journal" in err
    assert not missing.exists()  # reading never creates a journal


@pytest.mark.parametrize("kind", ["garbage", "other_sqlite", "newer", "bad_row", "directory"])
def test_corrupt_journal_is_one_line_and_exit_2(
    kind: str, tmp_path: Path, jfile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.db"
    if kind == "garbage":
        path.write_bytes(b"\x00\x01 not sqlite \n\n" * 500)
    elif kind == "other_sqlite":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE x (y)")
        conn.commit()
        conn.close()
    elif kind == "directory":
        path.mkdir()
    else:
        path = jfile
        conn = sqlite3.connect(path)
        if kind == "newer":
            conn.execute("UPDATE schema_version SET version = 42")
        else:
            conn.execute("UPDATE fills SET price = 'lots' WHERE trade_id = 't2'")
        conn.commit()
        conn.close()
    code, out, err = run(["fills", "--journal", str(path)], capsys)
    assert code == 2, err
    assert out == ""  # nothing half-printed before the error
    assert err.count("\n") == 1 and err.startswith("error: ")


def test_bad_since_is_a_usage_error(jfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["fills", "--journal", str(jfile), "--since", "yesterday"])
    assert exc.value.code == 2
    assert "ISO 8601" in capsys.readouterr().err


def test_time_helpers_are_exact() -> None:
    assert parse_since("2024-01-01T00:00:00Z") == T0
    assert parse_since("2024-01-01T00:00:00.123456Z") == T0 + 123_456_000
    assert parse_since("2024-01-01") == T0
    assert iso_ns(T0 + 123_456_789) == "2024-01-01T00:00:00.123456789Z"
    assert iso_ns(0) == "1970-01-01T00:00:00.000000000Z"


def test_register_adds_both_commands_to_a_bigger_cli(jfile: Path) -> None:
    ap = argparse.ArgumentParser(prog="botkit")
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("backtest")
    register(sub)
    args = ap.parse_args(["orders", "--journal", str(jfile), "--open"])
    assert args.command == "orders" and args.open and callable(args.func)
    args = ap.parse_args(["fills", "--journal", "j.db", "--symbol", "X", "--since", "2024-01-01"])
    assert args.since == T0 and args.symbol == "X"


def test_runs_as_a_program(jfile: Path, tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "botkit.journal_cli", "fills", "--journal", str(jfile)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert ok.returncode == 0 and ok.stdout.splitlines()[0] == ",".join(FILL_COLUMNS)
    bad = subprocess.run(
        [sys.executable, "-m", "botkit.journal_cli", "orders", "--journal", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2 and bad.stdout == "" and len(bad.stderr.splitlines()) == 1


def test_reading_does_not_wait_for_the_bots_writes(
    jfile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Journal(jfile, venue="sim") as bot, bot.transaction():
        bot.set_cursor("s", 1)  # the bot holds the write lock
        started = time.monotonic()
        code, out, _ = run(["orders", "--journal", str(jfile), "--json"], capsys)
        assert code == 0 and len(out.splitlines()) == 2
        assert time.monotonic() - started < 2  # not the 5 s lock timeout
