"""Durations in bot.yaml: "250ms", "30s", "1m", "1h30m" or seconds, held as integer nanoseconds."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

from botkit.config.errors import NotAllowed, is_number, kind, show
from botkit.config.values import decimal_in

_NS_PER_UNIT = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3_600 * 1_000_000_000,
    "d": 86_400 * 1_000_000_000,
}
_DURATION_PART = r"(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|µs|ms|s|m|h|d)"
_DURATION_RE = re.compile(rf"(?:{_DURATION_PART}\s*)+")
_DURATION_PART_RE = re.compile(_DURATION_PART)
# Ten years: longer is a typo, and a bound keeps huge numbers out of the clock.
MAX_DURATION_NS = 3650 * _NS_PER_UNIT["d"]
DURATION_HELP = (
    'a duration such as "250ms", "30s", "1m", "1h", "1d" (or "1h30m"), or a number of seconds'
)


def parse_duration(value: str | int | float | Decimal | timedelta) -> int:
    """A duration in integer nanoseconds.

    ``"250ms"``, ``"30s"``, ``"1m"``, ``"1h"``, ``"1d"``, combinations such as
    ``"1h30m"``, ``"us"``/``"ns"`` for the fine end, or a plain number of
    seconds (``30``, ``"0.5"``). Raises ``ValueError`` for anything else, for a
    negative duration, for one finer than a nanosecond or longer than ten years.
    """
    if isinstance(value, bool):
        raise _not_a_duration(value)
    if isinstance(value, str) and len(value.strip()) > 50:
        raise _not_a_duration(value)
    if isinstance(value, timedelta):
        ns = Decimal((value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds) * 1_000
    elif isinstance(value, int | float | Decimal):
        try:
            seconds = decimal_in(value)
        except ValueError:
            raise _not_a_duration(value) from None
        ns = seconds * 1_000_000_000
    elif isinstance(value, str):
        text = value.strip()
        if is_number(text):
            ns = decimal_in(text) * 1_000_000_000
        elif _DURATION_RE.fullmatch(text):
            ns = sum(
                (
                    decimal_in(num) * _NS_PER_UNIT[unit]
                    for num, unit in _DURATION_PART_RE.findall(text)
                ),
                Decimal(0),
            )
        else:
            raise _not_a_duration(value)
    else:
        raise ValueError(f"expected {DURATION_HELP}, got {kind(value)}")
    if ns < 0:
        raise ValueError(f"{show(value)} is not allowed: a duration must be >= 0")
    if ns > MAX_DURATION_NS:
        raise ValueError(f"{show(value)} is not allowed: a duration is at most 3650d (ten years)")
    if ns != ns.to_integral_value():
        raise ValueError(f"{show(value)} is finer than a nanosecond")
    return int(ns)


def _not_a_duration(value: object) -> NotAllowed:
    return NotAllowed(f"{show(value)} is not a duration", f"use {DURATION_HELP}")


def format_duration(ns: int) -> str:
    """Nanoseconds in the largest unit that is exact: ``60_000_000_000`` -> ``"1m"``."""
    if ns == 0:
        return "0s"
    for unit in ("d", "h", "m", "s", "ms", "us"):
        size = _NS_PER_UNIT[unit]
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def _positive_duration(ns: int) -> int:
    if ns <= 0:
        raise ValueError(f"{format_duration(ns)} is not allowed: must be > 0")
    return ns


_duration_out = PlainSerializer(format_duration, return_type=str, when_used="json")
Duration = Annotated[int, BeforeValidator(parse_duration), _duration_out]
"""Integer nanoseconds, written in bot.yaml as "250ms", "30s", "1m", ... or seconds."""
PositiveDuration = Annotated[
    int, BeforeValidator(parse_duration), AfterValidator(_positive_duration), _duration_out
]
