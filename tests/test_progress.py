"""The terminal progress bar: silent when disabled, throttled when enabled."""

from __future__ import annotations

import io

from botkit.backtest.progress import Progress


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_disabled_bar_writes_nothing() -> None:
    out = io.StringIO()
    bar = Progress(1000, enabled=False, stream=out)
    for n in range(0, 1001, 100):
        bar.update(n)
    bar.close()
    assert out.getvalue() == ""


def test_default_is_enabled_only_on_a_terminal() -> None:
    piped = io.StringIO()
    with Progress(10, stream=piped) as bar:
        bar.update(5)
    assert piped.getvalue() == ""

    tty = TtyStream()
    with Progress(10, stream=tty) as bar:
        bar.update(5)
    assert "backtest" in tty.getvalue()


def test_redraws_at_most_every_min_interval() -> None:
    out = io.StringIO()
    clock = FakeClock()
    bar = Progress(1_000_000, enabled=True, stream=out, clock=clock)
    for n in range(1, 1001):  # a thousand batches in the same instant
        bar.update(n * 1000)
    assert out.getvalue().count("\r") == 1
    clock.t += 0.05
    bar.update(10)
    assert out.getvalue().count("\r") == 1
    clock.t += 0.06
    bar.update(20)
    assert out.getvalue().count("\r") == 2


def test_line_shows_bar_percent_rate_and_eta() -> None:
    out = io.StringIO()
    clock = FakeClock()
    bar = Progress(1000, enabled=True, stream=out, label="replay", clock=clock)
    clock.t += 10.0
    bar.update(250)  # 25 ev/s, 750 left -> 30 s
    line = out.getvalue().split("\r")[-1]
    assert line.startswith("replay [######.")
    assert "25.0%" in line
    assert "250/1.0k ev" in line
    assert "25 ev/s" in line
    assert "ETA 0:00:30" in line


def test_close_finishes_the_line_once() -> None:
    out = io.StringIO()
    clock = FakeClock()
    bar = Progress(100, enabled=True, stream=out, clock=clock)
    bar.update(40)
    clock.t += 2.0
    bar.update(100)
    bar.close()
    bar.close()
    text = out.getvalue()
    assert text.endswith("\n")
    assert text.count("\n") == 1
    final = text.rstrip("\n").split("\r")[-1]
    assert "100.0%" in final
    assert "in 0:00:02" in final
    assert "ETA" not in final


def test_unknown_total_shows_count_and_rate_only() -> None:
    out = io.StringIO()
    clock = FakeClock()
    bar = Progress(None, enabled=True, stream=out, clock=clock)
    clock.t += 2.0
    bar.update(3_000_000)
    line = out.getvalue().split("\r")[-1]
    assert "3.0M ev" in line
    assert "1.5M ev/s" in line
    assert "%" not in line
    assert "ETA" not in line


def test_shorter_line_overwrites_the_previous_one() -> None:
    out = io.StringIO()
    clock = FakeClock()
    bar = Progress(None, enabled=True, stream=out, clock=clock)
    clock.t += 1.0
    bar.update(5_000_000)
    clock.t += 1.0
    bar.update(6)
    first, second = out.getvalue().split("\r")[1:]
    assert len(second) == len(first)  # padded with spaces over the old tail
