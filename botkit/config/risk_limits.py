"""The ``risk:`` section of bot.yaml: the limits the risk module applies.

The limits are part of the config schema, so a bad value is reported like any
other key: path, value, what is allowed, the fix and the line. ``botkit.risk``
re-exports these names; :class:`botkit.risk.RiskModule` takes the section's
mapping (checked with :meth:`RiskLimits.from_mapping`), a :class:`RiskLimits`,
or None for the defaults.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BeforeValidator,
    PlainSerializer,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from botkit.config.durations import format_duration, parse_duration
from botkit.config.errors import ConfigIssue, NotAllowed, issues_from_validation, show
from botkit.config.values import Section, decimal_where, lower, whole_number

Rounding = Literal["round", "reject"]
PostOnlyPolicy = Literal["reject", "slide"]
KillSwitch = Literal["active", "reducing", "halted"]

ROUNDING_MODES: tuple[str, ...] = get_args(Rounding)
POST_ONLY_POLICIES: tuple[str, ...] = get_args(PostOnlyPolicy)
KILL_SWITCH_STATES: tuple[str, ...] = get_args(KillSwitch)


class RiskConfigError(ValueError):
    """A bad ``risk:`` setting given straight to the risk module (not through bot.yaml).

    ``str()`` names the field, the value and what is allowed, in the words of a
    config error; ``field`` is the path (``risk.max_order_rate.per``), ``value``
    the value given and ``allowed`` the allowed text as the message shows it.
    """

    def __init__(self, issue: ConfigIssue, value: Any) -> None:
        self.issue = issue
        self.field = issue.path
        self.value = value
        self.allowed = issue.allowed_text() or ""
        super().__init__(issue.describe())


# --------------------------------------------------------------------------- max_order_rate

_RATE_ALLOWED = (
    'must be "N/<period>" (e.g. "2/1s", "20/s", "100/10s", "5/500ms") or {count: N, per: "1s"}'
)
_PERIOD_ALLOWED = 'must be a period > 0 such as "1s", "500ms", "1m", or a number of seconds'
_RATE_TEXT = re.compile(r"\s*(\d+)\s*/\s*(.+?)\s*")
# Unit words the rate has always accepted; parse_duration knows only the short ones.
_LONG_UNITS = re.compile(r"(sec|min)$")


def _period_ns(value: Any) -> int:
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str):
        text = _LONG_UNITS.sub(lambda m: m.group(1)[0], text)
        if text[:1].isalpha():
            text = "1" + text  # "2/s" is two per one second
    try:
        ns = parse_duration(text)
    except ValueError:
        ns = 0
    if ns <= 0:
        raise NotAllowed(f"{show(value)} is not allowed", _PERIOD_ALLOWED)
    return ns


class RateLimit(Section):
    """At most ``count`` accepted orders and edits in any window of ``per`` nanoseconds.

    Written ``"N/<period>"`` (``"2/1s"``, ``"20/s"``, ``"100/10s"``) or
    ``{count: N, per: <duration>}``.
    """

    count: Annotated[int, BeforeValidator(whole_number(1))]
    per: Annotated[
        int,
        BeforeValidator(_period_ns),
        PlainSerializer(format_duration, return_type=str, when_used="json"),
    ]

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if not isinstance(data, str):
            return data
        m = _RATE_TEXT.fullmatch(data)
        try:
            if m is None:
                raise NotAllowed(data, _RATE_ALLOWED)
            count, per = m.groups()
            # Checked here so that a bad part is reported as the whole text, as written.
            whole_number(1)(count)
            _period_ns(per)
        except NotAllowed:
            raise NotAllowed(f"{show(data)} is not allowed", _RATE_ALLOWED) from None
        return {"count": count, "per": per}

    def __str__(self) -> str:
        return f"{self.count} per {format_duration(self.per)}"


# --------------------------------------------------------------------------- max_position

_CAP_ALLOWED = 'must be a size in the base asset >= 0, e.g. "0.5"'
_POSITION_ALLOWED = (
    f"{_CAP_ALLOWED}, or a mapping of symbols (and an optional default) to such sizes"
)


def _symbol_key(key: Any) -> Any:
    if not isinstance(key, str) or not key:
        raise NotAllowed(
            f"{show(key)} is not allowed", "keys must be symbols (e.g. BTC/USDT) or default"
        )
    return key


Cap = Annotated[Decimal, BeforeValidator(decimal_where(lambda d: d >= 0, _CAP_ALLOWED))]
_PER_SYMBOL = TypeAdapter(dict[Annotated[str, BeforeValidator(_symbol_key)], Cap])
_one_cap = decimal_where(lambda d: d >= 0, _POSITION_ALLOWED)


def _as_held(caps: Decimal | dict[str, Decimal] | None) -> Any:
    return caps


def _position_caps(value: Any) -> Decimal | dict[str, Decimal] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        # Its errors come out at risk.max_position.<symbol>.
        return _PER_SYMBOL.validate_python(value)
    return _one_cap(value)


# --------------------------------------------------------------------------- the section


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else check(value)


_BAND_ALLOWED = 'must be a fraction of the last price, > 0 and <= 1 (e.g. "0.05")'


class RiskLimits(Section):
    """The ``risk:`` section: how the risk module rounds and what it limits.

    Build it from the section's mapping with :meth:`from_mapping` (errors are
    :class:`RiskConfigError`), or as ``RiskLimits(max_position="1", ...)``.
    """

    rounding: Annotated[Rounding, BeforeValidator(lower)] = "round"
    post_only: Annotated[PostOnlyPolicy, BeforeValidator(lower)] = "reject"
    kill_switch: Annotated[KillSwitch, BeforeValidator(lower)] = "active"
    max_position: Annotated[
        Decimal | dict[str, Decimal] | None,
        PlainValidator(_position_caps, json_schema_input_type=Decimal | dict[str, Decimal] | None),
        # Dumped as what it holds; through the union pydantic would warn about each member.
        PlainSerializer(_as_held, return_type=Any),
    ] = None
    max_open_orders: Annotated[int | None, BeforeValidator(_optional(whole_number(0)))] = None
    max_order_rate: RateLimit | None = None
    price_band: Annotated[
        Decimal | None,
        BeforeValidator(_optional(decimal_where(lambda d: 0 < d <= 1, _BAND_ALLOWED))),
    ] = None

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any] | None) -> RiskLimits:
        """Build from the ``risk:`` mapping; a bad key or value is a :class:`RiskConfigError`."""
        if d is None:
            return cls()
        if not isinstance(d, Mapping):
            problem = f"{show(d)} is not allowed"
            allowed = "must be a mapping of risk settings"
            raise RiskConfigError(ConfigIssue(("risk",), problem, allowed, value=d), d)
        try:
            return cls.model_validate(d)
        except ValidationError as exc:
            first = issues_from_validation(exc, cls, ("risk",))[0]
            raise RiskConfigError(first, _value_at(d, first.loc[1:])) from None

    def position_cap(self, symbol: str) -> Decimal | None:
        """The max_position cap for ``symbol`` (a per-symbol entry, else ``default``), or None."""
        cap = self.max_position
        if cap is None or isinstance(cap, Decimal):
            return cap
        return cap.get(symbol, cap.get("default"))

    def __hash__(self) -> int:
        # The per-symbol caps are a dict, which is not hashable itself.
        cap = self.max_position
        caps = tuple(sorted(cap.items())) if isinstance(cap, dict) else cap
        return hash(
            (
                self.rounding,
                self.post_only,
                self.kill_switch,
                caps,
                self.max_open_orders,
                self.max_order_rate,
                self.price_band,
            )
        )


def _value_at(node: Any, loc: tuple[str | int, ...]) -> Any:
    """The value given at ``loc`` (an issue's ``value`` is the key, for an unknown key)."""
    for part in loc:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node
