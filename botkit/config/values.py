"""The value types bot.yaml is written in, and the base of every section's model.

Money (prices, sizes, fees, balances) is ``Decimal``; a float from YAML is
taken as the decimal it prints as (``0.1`` -> ``Decimal("0.1")``). Date/times
are UTC. Durations are in ``botkit.config.durations``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from numbers import Integral
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from botkit.config.errors import NotAllowed, kind, show
from botkit.model import to_decimal


class Section(BaseModel):
    """A mapping in bot.yaml: unknown keys are errors, and a loaded value never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# Bounds on every number in bot.yaml. The text is measured before it is converted,
# and the magnitude before anything turns it into an int: `int(Decimal("1e999999"))`
# builds a million-digit integer and seems to hang.
NUMBER_TEXT_MAX = 50
NUMBER_MAX = Decimal("1e15")
_BOUNDS_TEXT = "numbers in bot.yaml are below 1e15 and no finer than 1e-18"


def decimal_in(value: Any) -> Decimal:
    """A bot.yaml number as an exact Decimal (model.to_decimal), in the config's wording.

    Numbers out of the sane bounds (see ``NUMBER_MAX``) are refused before any
    conversion could be slow.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {kind(value)}")
    if isinstance(value, str) and len(value.strip()) > NUMBER_TEXT_MAX:
        raise ValueError(
            f"{show(value)} is too long for a number (at most {NUMBER_TEXT_MAX} characters)"
        )
    if isinstance(value, int) and abs(value) >= NUMBER_MAX:
        raise ValueError(f"{show(value)} is not allowed: {_BOUNDS_TEXT}")
    try:
        d = to_decimal(value)
    except TypeError:
        raise ValueError(f"expected a number, got {kind(value)}") from None
    except ValueError as exc:
        if "finite" in str(exc):
            raise ValueError(f"{show(value)} is not allowed: must be a finite number") from None
        raise ValueError(f'{show(value)} is not a number (write e.g. "0.01")') from None
    # adjusted() and the exponent need no arithmetic, so they cannot overflow.
    exponent = d.as_tuple().exponent
    if (d and d.adjusted() >= 15) or (isinstance(exponent, int) and exponent < -18):
        raise ValueError(f"{show(value)} is not allowed: {_BOUNDS_TEXT}")
    return d


def _positive(d: Decimal) -> Decimal:
    if d <= 0:
        raise ValueError(f"{d} is not allowed: must be > 0")
    return d


def _non_negative(d: Decimal) -> Decimal:
    if d < 0:
        raise ValueError(f"{d} is not allowed: must be >= 0")
    return d


def _fee(d: Decimal) -> Decimal:
    if not -1 < d < 1:
        raise ValueError(
            f"{d} is not allowed: a fee is a fraction of the order value between -1 and 1 "
            "(0.001 is 0.1%; negative is a rebate)"
        )
    return d


def _step(d: Decimal) -> Decimal:
    # Beyond these a price or size on the grid needs more digits than Decimal keeps
    # (28), and rounding to it fails long after the config was accepted.
    if not STEP_MIN <= d <= STEP_MAX:
        raise ValueError(f"{d} is not allowed: a tick or lot size lies between 1e-12 and 1e6")
    return d


STEP_MIN = Decimal("1e-12")
STEP_MAX = Decimal("1e6")

Money = Annotated[Decimal, BeforeValidator(decimal_in)]
"""A Decimal from str, int, Decimal or float (via its repr)."""
PositiveMoney = Annotated[Decimal, BeforeValidator(decimal_in), AfterValidator(_positive)]
NonNegativeMoney = Annotated[Decimal, BeforeValidator(decimal_in), AfterValidator(_non_negative)]
Fee = Annotated[Decimal, BeforeValidator(decimal_in), AfterValidator(_fee)]
Step = Annotated[
    Decimal, BeforeValidator(decimal_in), AfterValidator(_positive), AfterValidator(_step)
]
"""A tick or lot size: a number from 1e-12 to 1e6."""


def decimal_where(test: Callable[[Decimal], bool], allowed: str) -> Callable[[Any], Decimal]:
    """A validator for a number that passes ``test``; anything else is :class:`NotAllowed`."""

    def check(value: Any) -> Decimal:
        try:
            d = decimal_in(value)
        except ValueError:
            d = None
        if d is None or not test(d):
            raise NotAllowed(f"{show(value)} is not allowed", allowed)
        return d

    return check


def whole_number(at_least: int) -> Callable[[Any], int]:
    """A validator for a whole number >= ``at_least``, written as a number or as text."""
    allowed = f"must be a whole number >= {at_least} and below 1e15"

    def check(value: Any) -> int:
        if isinstance(value, Integral) and not isinstance(value, bool):
            n: int | None = int(value) if abs(int(value)) < NUMBER_MAX else None
        else:
            try:
                d = decimal_in(value)
            except ValueError:
                d = None
            n = int(d) if d is not None and d == d.to_integral_value() else None
        if n is None or n < at_least:
            raise NotAllowed(f"{show(value)} is not allowed", allowed)
        return n

    return check


# Market data is checked to lie in these years too (botkit.backtest.checks).
_YEARS = (2000, 2100)


def _utc_datetime(value: Any) -> Any:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"{show(value)} is not a date/time: use ISO 8601 in UTC, "
                "e.g. 2024-01-31 or 2024-01-31T12:00:00Z"
            ) from None
    else:
        raise ValueError(f"expected an ISO 8601 date/time, got {kind(value)}")
    # Times in bot.yaml are UTC unless they say otherwise.
    try:
        dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except OverflowError:
        dt = datetime.min.replace(tzinfo=UTC)  # refused just below, with the bounds
    if not _YEARS[0] <= dt.year < _YEARS[1]:
        shown = value.isoformat() if isinstance(value, date) else show(value)
        raise ValueError(
            f"{shown} is not allowed: must be in the years {_YEARS[0]} to {_YEARS[1] - 1}"
        )
    return dt


UtcDatetime = Annotated[datetime, BeforeValidator(_utc_datetime)]


def empty_if_none(value: Any) -> Any:
    # `params:` with nothing after it is YAML null; it means "none".
    return {} if value is None else value


def lower(value: Any) -> Any:
    """A choice written in any case (and with stray spaces) is the lower-case word."""
    return value.strip().lower() if isinstance(value, str) else value
