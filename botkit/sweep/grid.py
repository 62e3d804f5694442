"""The grid syntax of ``botkit sweep --grid``: text to axes, axes to param sets.

::

    grid   := axis ("," axis)*
    axis   := name "=" values
    name   := param | strategy "." param       (param: a Python identifier)
    values := range | list | value
    range  := number ".." number [":" step]   both ends included when on the step
    list   := value ("|" value)+
    value  := integer | decimal | true | false | null | word

Examples: ``fast=5..20`` (5, 6, ..., 20), ``slow=30..100:10`` (30, 40, ..., 100),
``size=0.01..0.05:0.01`` (exact decimals 0.01, 0.02, ..., 0.05), ``source=trades|bars``,
``trend.fast=8|13|21``, ``allow_short=true|false``, ``size=0.02`` (one value).

- A range's upper end is a bound: ``30..95:10`` is 30, 40, ..., 90.
- A range of whole numbers steps by 1 unless told; a decimal range needs its
  step for a grid (``0.1..0.5:0.1``). Without one it is a continuous range,
  which only ``--optimize`` can search.
- Numbers are exact: decimals stay :class:`~decimal.Decimal` (``0.1`` is exactly
  0.1), written without exponent, at most 30 digits and 18 decimals.
- A grid is at most :data:`MAX_RUNS` param sets; the count is known before any
  value is made, so ``0..10000000000`` is a quick error, not a hang.

:func:`parse_grid` raises :class:`GridError` (one line naming the axis and what
is wrong) for anything else; it never raises another exception on any text.
Which strategy a name belongs to is decided later, against bot.yaml
(:mod:`botkit.sweep.space`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Union

# A value a param can take from the command line.
Value = Union[int, Decimal, bool, str, None]  # noqa: UP007 (a type alias, read at runtime)

MAX_RUNS = 100_000
MAX_DIGITS = 30
MAX_DECIMALS = 18

_INT = re.compile(r"[+-]?\d+")
_DEC = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)")
_PARAM = re.compile(r"[A-Za-z_]\w*")
_WORDS: dict[str, Value] = {"true": True, "false": False, "null": None}


class GridError(ValueError):
    """A mistake in ``--grid`` text: ``str()`` is one line naming the axis."""


@dataclass(frozen=True)
class Axis:
    """One swept param: its name as written and the values it takes.

    ``values`` lists them (a range expanded in order); it is None for a
    continuous range (a decimal range with no step), which has ``lo`` and ``hi``
    only. A range keeps ``lo``, ``hi`` and ``step`` (``hi`` the last value on the
    step) so that ``--optimize`` can make a distribution of it.
    """

    name: str
    strategy: str | None
    param: str
    text: str
    values: tuple[Value, ...] | None
    lo: int | Decimal | None = None
    hi: int | Decimal | None = None
    step: int | Decimal | None = None

    @property
    def is_range(self) -> bool:
        return self.lo is not None

    @property
    def is_integer_range(self) -> bool:
        return self.is_range and all(isinstance(v, int) for v in (self.lo, self.hi, self.step))

    @property
    def count(self) -> int | None:
        """How many values (None: continuous)."""
        return None if self.values is None else len(self.values)


@dataclass(frozen=True)
class Grid:
    """The parsed axes, in the order written."""

    axes: tuple[Axis, ...]

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.axes]

    @property
    def size(self) -> int | None:
        """The number of param sets (None when an axis is continuous)."""
        n = 1
        for axis in self.axes:
            if axis.count is None:
                return None
            n *= axis.count
        return n

    @property
    def varying(self) -> list[Axis]:
        """The axes with more than one value (a continuous one counts)."""
        return [a for a in self.axes if a.count is None or a.count > 1]

    def param_sets(self) -> list[dict[str, Value]]:
        """Every combination, the last axis changing fastest (the order runs are numbered in)."""
        for axis in self.axes:
            if axis.values is None:
                raise GridError(
                    f"{axis.name}={axis.text}: a decimal range needs a step in a grid "
                    f"(e.g. {axis.lo}..{axis.hi}:{_example_step(axis)}); without one it is "
                    "continuous, which only --optimize searches"
                )
        return [
            dict(zip(self.names, combo))
            for combo in itertools.product(*(a.values or () for a in self.axes))
        ]


def _example_step(axis: Axis) -> Decimal:
    assert axis.lo is not None and axis.hi is not None
    with localcontext() as ctx:
        ctx.prec = 80
        span = Decimal(axis.hi) - Decimal(axis.lo)
        return (span / 10).normalize() if span > 0 else Decimal("0.1")


def parse_grid(texts: str | Sequence[str]) -> Grid:
    """Parse one ``--grid`` text, or several (their axes joined, in order)."""
    if isinstance(texts, str):
        texts = [texts]
    axes: list[Axis] = []
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            raise GridError("the grid is empty; write it as name=values, e.g. fast=5..20,slow=50")
        for piece in text.split(","):
            axes.append(_axis(piece.strip(), text))
    seen: set[str] = set()
    for axis in axes:
        if axis.name in seen:
            raise GridError(f"{axis.name} is given twice; give each param once")
        seen.add(axis.name)
    grid = Grid(tuple(axes))
    total = 1
    for axis in axes:
        total *= axis.count or 1
        if total > MAX_RUNS:
            raise GridError(
                f"the grid makes more than {MAX_RUNS:,} param sets "
                f"({' x '.join(str(a.count) for a in axes if a.count)}); use wider steps, "
                "fewer values, or --optimize to search it"
            )
    return grid


def _axis(piece: str, whole: str) -> Axis:
    if not piece:
        raise GridError(
            f"empty item in the grid {whole!r}; separate axes with one ',' "
            "(e.g. fast=5..20,slow=30..100:10)"
        )
    name, eq, spec = piece.partition("=")
    name, spec = name.strip(), spec.strip()
    if not eq:
        raise GridError(
            f"{piece!r} has no '='; write each axis as name=values (e.g. fast=5..20, "
            "size=0.01|0.02, trend.slow=30..100:10)"
        )
    strategy, dot, param = name.rpartition(".")
    if not _PARAM.fullmatch(param) or (dot and not strategy.strip()):
        raise GridError(
            f"{name!r} is not a param name; write param or strategy.param "
            "(a param name is letters, digits and _)"
        )
    if not spec:
        raise GridError(f"{name}= has no values; e.g. {name}=5..20, {name}=1|2|3 or {name}=5")
    strategy_name = strategy.strip() if dot else None
    if ".." in spec and "|" not in spec:
        lo, hi, step, expanded = _range(name, spec)
        return Axis(name, strategy_name, param, spec, expanded, lo, hi, step)
    tokens = [t.strip() for t in spec.split("|")]
    values: list[Value] = []
    for token in tokens:
        if ".." in token:
            raise GridError(
                f"{name}={spec}: a list holds values, not ranges ({token!r}); "
                f"write either a range ({token}) or a list (a|b|c)"
            )
        values.append(parse_value(name, token))
    if len(set(map(_key, values))) != len(values):
        raise GridError(f"{name}={spec}: a value is listed twice")
    return Axis(name, strategy_name, param, spec, tuple(values))


def _key(v: Value) -> tuple[str, str]:
    # 1 and True are equal in Python, and 1 and Decimal("1.0") too: tell them apart.
    return (type(v).__name__, str(v))


def _number(name: str, spec: str, token: str, what: str) -> int | Decimal:
    token = token.strip()
    digits = sum(c.isdigit() for c in token)
    if _INT.fullmatch(token):
        if digits > MAX_DIGITS:
            raise GridError(f"{name}={spec}: {what} {token} has more than {MAX_DIGITS} digits")
        return int(token)
    if _DEC.fullmatch(token):
        if digits > MAX_DIGITS:
            raise GridError(f"{name}={spec}: {what} {token} has more than {MAX_DIGITS} digits")
        if len(token.partition(".")[2]) > MAX_DECIMALS:
            raise GridError(f"{name}={spec}: {what} {token} has more than {MAX_DECIMALS} decimals")
        return Decimal(token)
    raise GridError(
        f"{name}={spec}: {what} {token!r} is not a number; a range is "
        "low..high or low..high:step, e.g. 5..20, 30..100:10, 0.01..0.05:0.01"
    )


def _range(
    name: str, spec: str
) -> tuple[int | Decimal, int | Decimal, int | Decimal | None, tuple[Value, ...] | None]:
    body, colon, step_text = spec.partition(":")
    parts = body.split("..")
    if len(parts) != 2:
        raise GridError(
            f"{name}={spec}: a range is low..high or low..high:step (one '..'), e.g. 30..100:10"
        )
    lo = _number(name, spec, parts[0], "the low end")
    hi = _number(name, spec, parts[1], "the high end")
    step: int | Decimal | None = _number(name, spec, step_text, "the step") if colon else None
    if lo > hi:
        raise GridError(f"{name}={spec}: the range is empty; write the low end first ({hi}..{lo})")
    if step is not None and step <= 0:
        raise GridError(f"{name}={spec}: the step must be > 0, got {step}")
    if step is None:
        if isinstance(lo, int) and isinstance(hi, int):
            step = 1
        else:
            return lo, hi, None, None  # continuous: --optimize only
    with localcontext() as ctx:
        ctx.prec = 2 * MAX_DIGITS + MAX_DECIMALS
        count = int((Decimal(hi) - Decimal(lo)) // Decimal(step)) + 1
        if count > MAX_RUNS:
            raise GridError(
                f"{name}={spec} has {count:,} values, more than the {MAX_RUNS:,} runs a grid "
                "may make; use a wider step, or --optimize to search it"
            )
        if isinstance(lo, int) and isinstance(step, int):
            values: tuple[Value, ...] = tuple(lo + i * step for i in range(count))
        else:
            d_lo, d_step = Decimal(lo), Decimal(step)
            values = tuple(d_lo + i * d_step for i in range(count))
        last = values[-1]
    assert isinstance(last, int | Decimal)
    return lo, last, step, values


def parse_value(name: str, token: str) -> Value:
    """One value as the grid reads it (``name`` is for the error message)."""
    if not token:
        raise GridError(f"{name}: an empty value; write values as a|b|c")
    if _INT.fullmatch(token) or _DEC.fullmatch(token):
        return _number(name, token, token, "the value")
    word = _WORDS.get(token.lower(), token)
    if isinstance(word, str) and any(c in word for c in "=,"):
        raise GridError(f"{name}: {token!r} cannot hold '=' or ','")
    return word


def format_value(v: Value) -> str:
    """A value as the grid writes it: exact decimals, ``true``/``false``/``null``."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        text = format(v, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(v)


def format_params(params: dict[str, Value]) -> str:
    """``fast=5, slow=30``."""
    return ", ".join(f"{k}={format_value(v)}" for k, v in params.items())


__all__ = [
    "MAX_RUNS",
    "Axis",
    "Grid",
    "GridError",
    "Value",
    "format_params",
    "format_value",
    "parse_grid",
    "parse_value",
]
