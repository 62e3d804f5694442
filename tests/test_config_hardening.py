"""bot.yaml however odd: one ConfigError paragraph, fast, in bounded memory.

Numbers are bounded before anything converts them, aliases cannot expand a
small file into gigabytes, nesting is bounded, and paths the run writes to are
checked at load.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botkit.cli import main
from botkit.config import ConfigError, parse_config

GOOD = (ROOT / "bot.yaml").read_text()


def parse(text: str) -> object:
    return parse_config(text, base_dir=ROOT)


def refused(text: str) -> tuple[str, float, float]:
    """The error text, the seconds and the peak megabytes it took to refuse ``text``.

    Timed and measured in two runs: tracing allocations slows Python several times
    over, which is not what a user waits for. The time is the process's CPU time: what
    a hang burns, and what a loaded test machine does not inflate."""
    t0 = time.process_time()
    with pytest.raises(ConfigError) as caught:
        parse(text)
    seconds = time.process_time() - t0
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError):
            parse(text)
    finally:
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return str(caught.value), seconds, peak_mb


def with_line(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


def with_data(line: str) -> str:
    return with_line("  kinds: [book, trades, bars]\n", f"  kinds: [book, trades, bars]\n{line}\n")


LAUGHS = "\n".join(
    [
        'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)),
    ]
)

ODD = {
    "an exponent of a million": (
        with_line("max_open_orders: 100", "max_open_orders: 1e999999"),
        "risk.max_open_orders: 1e999999 is not allowed",
    ),
    "a 5,000-digit integer": (
        with_line("max_open_orders: 100", "max_open_orders: " + "9" * 5000),
        "a whole number of 5,000 digits",
    ),
    "a duration of 1e999999999 seconds": (
        with_line("refresh: 30s", "refresh: 1e999999999"),
        "strategies[1].timers.refresh: 1e999999999 is not allowed",
    ),
    "a duration of a million years": (
        with_line("refresh: 30s", "refresh: 365000000d"),
        "a duration is at most 3650d",
    ),
    "a +99:00 offset": (
        with_data("  start: 2024-01-01 00:00:00+99:00"),
        "'2024-01-01 00:00:00+99:00' is not a valid date/time",
    ),
    "a +99:00 offset in quotes": (
        with_data('  start: "2024-01-01T00:00:00+99:00"'),
        "data.start: '2024-01-01T00:00:00+99:00' is not a date/time",
    ),
    "a date that overflows when made UTC": (
        with_data("  start: 9999-12-31T23:00:00-05:00"),
        "must be in the years 2000 to 2099",
    ),
    "a tag its value cannot be": (
        with_line("mode: backtest\n", "mode: !!float abc\n"),
        "line 5: this value cannot be read as float",
    ),
    "2,000 nested brackets": (
        with_line(
            "      fast: 20\n", "      fast: 20\n      deep: " + "[" * 2000 + "]" * 2000 + "\n"
        ),
        "nested more than 32 levels deep",
    ),
    "a billion laughs": (LAUGHS + "\n" + GOOD, "more than 20,000 values once its aliases"),
    "an alias inside its own value": ("loop: &a [1, *a]\n" + GOOD, "the alias *a is inside"),
    "a size with an absurd exponent in a strategy's params": (
        with_line('size: "0.05"', 'size: "1e999999"'),
        "strategies[0].params.size: 1e999999 is not allowed",
    ),
    "a tick size of 1e-30": (
        with_line('tick_size: "0.01"', 'tick_size: "1e-30"'),
        "instruments[0].tick_size",
    ),
    "a tick size of 1e-15": (
        with_line('tick_size: "0.01"', 'tick_size: "1e-15"'),
        "a tick or lot size lies between 1e-12 and 1e6",
    ),
    "a lot size of ten million": (
        with_line('lot_size: "0.00001"', 'lot_size: "10000000"'),
        "a tick or lot size lies between 1e-12 and 1e6",
    ),
    "a balance of 1e20": (
        with_line('USDT: "100000"', 'USDT: "1e20"'),
        "account.balances.USDT: 1e20 is not allowed: numbers in bot.yaml are below 1e15",
    ),
    "a min_notional finer than 1e-18": (
        with_line('min_notional: "5"', 'min_notional: "1e-20"'),
        "no finer than 1e-18",
    ),
}


@pytest.mark.parametrize("case", sorted(ODD))
def test_an_odd_value_is_one_paragraph_naming_it_within_a_second(case: str) -> None:
    text, says = ODD[case]
    parse(GOOD)  # imports and strategy discovery are not what is timed
    message, seconds, peak_mb = refused(text)
    assert says in message
    assert "\n" not in message
    assert seconds < 1.0, seconds
    assert peak_mb < 50, peak_mb


def test_a_billion_laughs_is_refused_before_anything_is_expanded() -> None:
    message, seconds, peak_mb = refused(LAUGHS + "\n" + GOOD)
    # l4, on line 5, would hold 66,430 values (10, 91, 820, 7,381, then 66,430): the
    # walk stops there, long before the 3.9 billion of l9.
    assert "line 5" in message
    assert seconds < 0.5 and peak_mb < 5, (seconds, peak_mb)


def test_ordinary_aliases_still_work() -> None:
    text = with_line("strategies:\n", 'x-size: &size "0.05"\nstrategies:\n').replace(
        'size: "0.05"', "size: *size"
    )
    # The only complaint is the unknown top-level key, so the alias itself was fine.
    message, _, _ = refused(text)
    assert "unknown key 'x-size'" in message


def test_output_dir_naming_a_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "reports").write_text("not a folder")
    text = GOOD.replace("dir: reports/latest", "dir: reports/latest")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, base_dir=tmp_path)
    message = str(caught.value)
    assert "output.dir: 'reports/latest' is not a folder" in message
    assert f"{tmp_path / 'reports'} is a file" in message


def test_output_dir_naming_a_file_is_exit_2_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bot.yaml").write_text(
        GOOD.replace("catalog: backtest_data", f"catalog: {ROOT / 'backtest_data'}").replace(
            "dir: reports/latest", "dir: taken"
        )
    )
    (tmp_path / "taken").write_text("")
    assert main(["backtest", str(tmp_path / "bot.yaml")]) == 2
    err = capsys.readouterr().err
    assert "output.dir: 'taken' is not a folder" in err and "Traceback" not in err


def test_out_naming_a_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("")
    code = main(["backtest", str(ROOT / "bot.yaml"), "--out", str(tmp_path / "file" / "r")])
    assert code == 2
    assert "is a file, not a folder" in capsys.readouterr().err


# ---- mutated configs -------------------------------------------------------------------

NASTY = [
    "1e999999",
    "-1e999999",
    "1e-999999",
    "9" * 400,
    "-0",
    ".nan",
    ".inf",
    "-.inf",
    "0x7fffffffffffffff",
    "0o777",
    "1_000_000",
    "~",
    "null",
    "true",
    "''",
    '"\\u0000"',
    "[]",
    "{}",
    "[" * 60 + "]" * 60,
    "*undefined",
    "&a [*a]",
    "!!python/object:os.system ls",
    "!!binary aGVsbG8=",
    "!!int [1]",
    "!!float abc",
    "!!timestamp 2024-99-99",
    "!!timestamp {}",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!int 99999999999999999999999999999999999",
    "2024-13-45",
    "2024-01-01T00:00:00+99:00",
    "0001-01-01",
    "9999-12-31T23:59:59-23:59",
    "1h30m" * 20,
    "-30s",
    "1e15",
    "999999999999999",
    '"1e-19"',
    "<<: *x",
    "? [a, b]\n  : c",
    "'",
    '"',
    "\t",
    "|",
    "%YAML 1.1",
    "---",
    "...",
]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = GOOD.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        how = draw(st.sampled_from(["value", "insert", "delete", "duplicate", "chars"]))
        if how == "value" and ":" in line:
            key = line.split(":", 1)[0]
            value = draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=12)))
            lines[i] = f"{key}: {value}"
        elif how == "insert":
            lines.insert(i, draw(st.sampled_from(NASTY)))
        elif how == "delete":
            del lines[i]
        elif how == "duplicate":
            lines.insert(i, line)
        else:
            at = draw(st.integers(0, len(line)))
            lines[i] = line[:at] + draw(st.text(max_size=4)) + line[at:]
        if not lines:
            lines = [""]
    return "\n".join(lines) + "\n"


@settings(
    max_examples=300,
    deadline=None,  # timed below in CPU time, which machine load does not inflate
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutated())
def test_a_mutated_config_loads_or_is_one_config_error(text: str) -> None:
    t0 = time.process_time()
    try:
        parse(text)
    except ConfigError as exc:
        assert "\n" not in str(exc)
    assert time.process_time() - t0 < 1.0


def test_a_huge_file_is_refused_without_reading_it_all() -> None:
    from botkit.config import load_config

    t0 = time.process_time()
    with pytest.raises(ConfigError) as caught:
        load_config("/dev/zero")
    assert time.process_time() - t0 < 1.0
    assert "is over 1,000,000 characters long" in str(caught.value)
