"""No silent success: how `botkit` ends when a run did not do what was asked.

0 done; 1 strategies raised (unless --allow-errors); 2 a mistake in bot.yaml,
the command line or the data; 130 Ctrl-C (the backtest report is still
written, marked partial); 141 the reader of the output went away.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from conftest import ROOT

from botkit.backtest.catalog import Catalog
from botkit.cli import main

BOOM = """
from botkit import hookimpl


class Boom:
    def __init__(self, params):
        self.params = params

    @hookimpl
    def on_trade(self, ctx, trade):
        raise RuntimeError("a bug in the strategy")
"""

SLOW_AND_TELLING = '''
import pathlib
import time

from botkit import hookimpl


class Slow:
    """Says when the replay is under way, then makes it last long enough to interrupt."""

    def __init__(self, params):
        self.marker = pathlib.Path(params["marker"])

    @hookimpl
    def on_trade(self, ctx, trade):
        if not self.marker.exists():
            self.marker.write_text("replaying")
        time.sleep(0.002)
'''


def edit(bot: Path, old: str, new: str) -> None:
    text = bot.read_text()
    assert old in text
    bot.write_text(text.replace(old, new, 1))


def add_strategy(bot: Path, source: str, cls: str, params: str = "{}") -> None:
    (bot.parent / "mine.py").write_text(source)
    edit(
        bot,
        "strategies:\n",
        f"strategies:\n  - name: mine\n    use: mine.py:{cls}\n    params: {params}\n",
    )


def backtest(
    bot: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str, Path]:
    out = bot.parent / "report"
    code = main(["backtest", str(bot), "--no-progress", "--out", str(out), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err, out


def summary_of(out: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((out / "summary.json").read_text())
    return data


def botkit_process(*args: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(  # type: ignore[call-overload,no-any-return]
        [sys.executable, "-m", "botkit.cli", *args], text=True, **kwargs
    )


# ---- nothing to replay -----------------------------------------------------------


def test_an_instrument_with_no_data_is_exit_2_and_says_what_the_catalog_holds(
    bot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(
        bot,
        "instruments:\n",
        'instruments:\n  - {symbol: ETH/USDT, tick_size: "0.01", lot_size: "0.0001"}\n',
    )
    code, _, err, out = backtest(bot, capsys)
    assert code == 2, err
    assert "ETH/USDT has no data to replay on sim" in err
    assert "symbols there: BTC/USDT" in err
    assert not (out / "summary.json").exists()


def test_a_misspelt_data_venue_is_exit_2_and_lists_the_venues(
    bot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(bot, "  catalog: data\n", "  catalog: data\n  venue: simm\n")
    code, _, err, _ = backtest(bot, capsys)
    assert code == 2, err
    assert "has no venue 'simm' (it holds: sim)" in err


def test_a_range_with_no_data_is_exit_2_and_lists_each_kinds_range(
    bot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err, _ = backtest(bot, capsys, "--start", "2025-01-01", "--end", "2025-01-02")
    assert code == 2, err
    assert "between 2025-01-01 00:00 and 2025-01-02 00:00" in err
    for kind in ("trades 2024-03-04 00:00 to 2024-03-04 00:1", "book_snapshots", "bars_1m"):
        assert kind in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_kinds_not_recorded_replay_nothing_and_exit_2(
    bot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(bot, "kinds: [book, trades, bars]", "kinds: [bars_1h]")
    code, _, err, _ = backtest(bot, capsys)
    assert code == 2, err
    assert "with data.kinds [bars_1h]" in err and "bars_1m 2024-03-04" in err


# ---- strategy errors -----------------------------------------------------------------


def test_a_strategy_that_raises_is_counted_and_fails_the_run(
    bot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_strategy(bot, BOOM, "Boom")
    code, stdout, err, out = backtest(bot, capsys)
    assert code == 1
    errors = summary_of(out)["strategy_errors"]
    assert isinstance(errors, dict) and errors["total"] > 100
    assert errors["by_hook"] == {"mine.on_trade": errors["total"]}
    assert "Errors" in stdout and "mine.on_trade" in stdout
    assert "--allow-errors" in err.strip().splitlines()[-1]


def test_allow_errors_accepts_the_run_and_still_counts_them(
    bot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_strategy(bot, BOOM, "Boom")
    code, _, err, out = backtest(bot, capsys, "--allow-errors")
    assert code == 0, err
    errors = summary_of(out)["strategy_errors"]
    assert isinstance(errors, dict) and errors["total"] > 100


def test_a_clean_run_reports_zero_errors_and_is_not_partial(
    bot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err, out = backtest(bot, capsys)
    assert code == 0, err
    summary = summary_of(out)
    assert summary["strategy_errors"] == {"total": 0, "by_hook": {}}
    assert summary["partial"] is False


# ---- Ctrl-C ----------------------------------------------------------------------------


def test_ctrl_c_writes_a_partial_report_and_exits_130(bot: Path) -> None:
    marker = bot.parent / "replaying"
    add_strategy(bot, SLOW_AND_TELLING, "Slow", json.dumps({"marker": str(marker)}))
    out = bot.parent / "report"
    proc = botkit_process(
        "backtest", str(bot), "--no-progress", "--out", str(out),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the replay never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert stdout.startswith("PARTIAL: interrupted at ")
    assert "partial" in stderr
    summary = summary_of(out)
    assert summary["partial"] is True
    events = summary["events"]
    assert isinstance(events, int) and 0 < events < 60_000  # the sample holds ~70k
    assert "PARTIAL" in (out / "report.html").read_text()


# ---- pipes and --version ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code"),
    [
        # argparse drops the text of --help and --version that it cannot write.
        (["--version"], 0),
        (["--help"], 0),
        (["strategies"], 141),
        (["data", "list", "--catalog", "{catalog}"], 141),
        (["backtest", "{bot}", "--no-progress", "--out", "{out}"], 141),
    ],
    ids=["version", "help", "strategies", "data-list", "backtest"],
)
def test_every_command_ends_quietly_when_its_reader_goes_away(
    args: list[str], code: int, bot: Path
) -> None:
    # The reader closes the pipe before the first write, as `| head -0` would; `| head -1`
    # on longer output does the same after a line.
    values = {"catalog": str(bot.parent / "data"), "bot": str(bot), "out": str(bot.parent / "r")}
    read, write = os.pipe()
    os.close(read)
    try:
        proc = botkit_process(
            *(a.format(**values) for a in args), stdout=write, stderr=subprocess.PIPE
        )
    finally:
        os.close(write)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == code, stderr
    assert stderr == "", stderr


def test_head_reads_one_line_of_fills_and_botkit_ends_without_a_traceback(tmp_path: Path) -> None:
    from decimal import Decimal

    from botkit.journal import Journal
    from botkit.model import Fill, Liquidity, Side

    journal = tmp_path / "journal.db"
    with Journal(journal, venue="sim", synchronous="NORMAL") as j:
        for i in range(5_000):  # well past a pipe's buffer
            j.record_fill(
                Fill(
                    f"t{i}", "c1", "BTC/USDT", Side.BUY, Decimal("42000.1"), Decimal("0.001"),
                    Decimal("0"), "USDT", Liquidity.MAKER, 1_704_067_200_000_000_000 + i,
                )
            )  # fmt: skip
    shell = f"{sys.executable} -m botkit.cli fills --journal {journal} | head -1; "
    shell += 'echo "status ${PIPESTATUS[0]}"'
    run = subprocess.run(
        ["bash", "-c", shell], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert run.stdout.splitlines()[0].startswith("time,ts_ns,")  # the CSV header
    assert run.stdout.splitlines()[-1] == "status 141"
    assert "Traceback" not in run.stderr and "BrokenPipeError" not in run.stderr, run.stderr


def test_version_prints_the_package_version() -> None:
    from importlib.metadata import version

    run = subprocess.run(
        [sys.executable, "-m", "botkit.cli", "--version"], capture_output=True, text=True
    )
    assert run.returncode == 0
    assert run.stdout.strip() == f"botkit {version('botkit')}"


# ---- time ranges ---------------------------------------------------------------------


def test_start_and_end_on_the_command_line_bound_the_replay(
    bot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err, out = backtest(
        bot, capsys, "--start", "2024-03-04T00:05:00Z", "--end", "2024-03-04T00:10:00"
    )
    assert code == 0, err
    summary = summary_of(out)
    assert str(summary["start"]).startswith("2024-03-04T00:05")
    assert str(summary["end"]) < "2024-03-04T00:10"


def test_start_and_end_in_bot_yaml_bound_the_replay(
    bot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(bot, "  catalog: data\n", "  catalog: data\n  start: 2024-03-04T00:10:00Z\n")
    code, _, err, out = backtest(bot, capsys)
    assert code == 0, err
    assert str(summary_of(out)["start"]).startswith("2024-03-04T00:10")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--start", "yesterday"], "--start: 'yesterday' is not a date/time"),
        (["--start", "2024-03-04T00:10", "--end", "2024-03-04T00:05"], "give an --end after"),
    ],
)
def test_a_bad_start_or_end_is_exit_2(
    args: list[str], says: str, bot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err, _ = backtest(bot, capsys, *args)
    assert code == 2 and says in err, err


def add_year_of_hourly_bars(bot: Path) -> None:
    hour = 3_600_000_000_000
    end = 1_709_510_400_000_000_000  # 2024-03-04T00:00Z, where the sample's trades start
    ts = np.arange(end - 365 * 24 * hour, end, hour, dtype=np.int64) + hour
    price = np.full(len(ts), 60_000.0)
    bars = {"ts_ns": ts, "open": price, "high": price + 10, "low": price - 10, "close": price}
    table = pa.table({**bars, "volume": np.ones(len(ts))})
    Catalog(bot.parent / "data").write("sim", "BTC/USDT", "bars_1h", table)


def test_kinds_over_very_different_ranges_are_warned_of(
    bot: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    add_year_of_hourly_bars(bot)
    # A year replayed: hourly equity samples, not the shipped 525,600 one-minute ones.
    bot.write_text(bot.read_text().replace("equity_interval: 1m", "equity_interval: 1h"))
    code, _, err, out = backtest(bot, capsys)
    assert code == 0, err
    (warning,) = summary_of(out)["warnings"]  # type: ignore[misc]
    assert "cover very different ranges" in warning
    assert "bars_1h 2023-03-05 01:00 to 2024-03-04 00:00" in warning
    assert "set data.start/data.end (or --start/--end)" in warning
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [warning]


def test_the_range_the_config_asks_for_is_the_range_replayed(
    bot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_year_of_hourly_bars(bot)
    code, _, err, out = backtest(bot, capsys, "--start", "2024-03-04")
    assert code == 0, err
    summary = summary_of(out)
    assert summary["warnings"] == []
    assert str(summary["start"]).startswith("2024-03-04")


def test_one_snapshot_then_deltas_is_one_range_and_no_warning(
    bot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The hftbacktest import: one REST snapshot, then minutes of deltas and trades.
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    (path,) = Catalog(bot.parent / "data").files("sim", "BTC/USDT", "book_snapshots")
    table = pq.read_table(path)
    first = table.column("ts_ns")[0]
    pq.write_table(table.filter(pc.equal(table.column("ts_ns"), first)), path)
    code, _, err, out = backtest(bot, capsys)
    assert code == 0, err
    assert summary_of(out)["warnings"] == []
