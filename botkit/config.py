"""bot.yaml: the schema, and loading it into typed, frozen models.

``load_config(path)`` reads a file; ``parse_config(text)`` reads a string.
Either returns a :class:`BotConfig` or raises :class:`ConfigError`, whose
``str()`` is one paragraph naming the file (and line), the field path
(``strategies[0].params.size``), the bad value, what is allowed and the fix.
Every key is documented in docs/bot-yaml.md.

Loading goes in stages, each reporting every problem it finds:

1. YAML (syntax errors with line and column; a key given twice is an error,
   where plain YAML would silently keep the last one);
2. ``${VAR}`` substitution from the environment, and the secrets rule: under
   ``venue:``, a key named like ``*key``, ``*secret``, ``*token``,
   ``*password`` or ``*passphrase`` must be written as ``${VAR}``; its value
   becomes a :class:`botkit.redact.Secret`;
3. the schema (pydantic, ``extra="forbid"``, with "did you mean" for keys);
4. what needs the whole file or outside code: each strategy is resolved and
   its params validated with its ``Params`` model, strategy names are unique,
   ``params.symbol`` is a configured instrument, the ``risk:`` mapping passes
   ``botkit.risk.RiskLimits.from_mapping``, the venue suits the mode.

Money (prices, sizes, fees, balances) is ``Decimal``; a float from YAML is
taken as the decimal it prints as (``0.1`` -> ``Decimal("0.1")``). Durations
are stored as integer nanoseconds.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from botkit.intents import Place
from botkit.model import Instrument, OrderType, Side, TimeInForce, to_decimal
from botkit.plugins import PluginError, check_hooks, closest, params_model, resolve
from botkit.redact import MASK, Secret
from botkit.venues import registry

DOCS = "docs/bot-yaml.md"
SECRET_SUFFIXES = ("key", "secret", "token", "password", "passphrase")

# --------------------------------------------------------------------------- errors


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a config file."""

    loc: tuple[str | int, ...]
    problem: str
    allowed: str | None = None
    fix: str | None = None
    line: int | None = None
    value: Any = None

    @property
    def path(self) -> str:
        return format_loc(self.loc)

    def describe(self) -> str:
        head = f"{self.path}: " if self.loc else ""
        text = head + self.problem.rstrip(".")
        if self.allowed:
            allowed = self.allowed.rstrip(".")
            # After a question ("did you mean ...?") the list starts a new sentence.
            if text.endswith("?"):
                text += f" {allowed[:1].upper()}{allowed[1:]}"
            else:
                text += f"; {allowed}"
        if not text.endswith("?"):
            text += "."
        if self.fix:
            text += f" {self.fix.rstrip('.')}."
        return text


class ConfigError(Exception):
    """A bot.yaml that cannot be used. ``str()`` is one paragraph a user can act on.

    ``issues`` holds every problem found in the failing stage; ``path``,
    ``value`` and ``allowed`` are those of the first.
    """

    def __init__(self, source: str, issues: Sequence[ConfigIssue]) -> None:
        if not issues:
            raise ValueError("ConfigError needs at least one issue")
        self.source = source
        self.issues = tuple(issues)
        first = self.issues[0]
        self.path = first.path
        self.value = first.value
        self.allowed = first.allowed
        self.line = first.line
        super().__init__(self._render())

    def _render(self) -> str:
        first, rest = self.issues[0], self.issues[1:]
        where = self.source if first.line is None else f"{self.source}, line {first.line}"
        text = f"{where}: {first.describe()}"
        if rest:
            shown = [
                (f"line {i.line}: " if i.line is not None else "") + i.describe() for i in rest[:3]
            ]
            more = f" ... and {len(rest) - 3} more" if len(rest) > 3 else ""
            text += f" Also: {' '.join(shown)}{more}"
        # One paragraph whatever a message carried in (YAML problems, values).
        return " ".join(text.split())


def format_loc(loc: Sequence[str | int]) -> str:
    """``("strategies", 0, "params", "size")`` -> ``strategies[0].params.size``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _show(value: Any) -> str:
    """A value as the user wrote it, short enough for one line."""
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        text = value if _is_number(value) else f"'{value}'"
    elif isinstance(value, Mapping):
        text = "a mapping {" + ", ".join(str(k) for k in list(value)[:5]) + "}"
    elif isinstance(value, list | tuple):
        text = f"a list of {len(value)}"
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{_show(value)} (a boolean)"
    if isinstance(value, int | float | Decimal):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {_show(value)}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _is_number(text: str) -> bool:
    try:
        return Decimal(text.strip()).is_finite()
    except (InvalidOperation, ValueError):
        return False


def is_secret_key(key: object) -> bool:
    """Whether a key names a secret: ``api_key``, ``apiSecret``, ``token``, ..."""
    return isinstance(key, str) and key.lower().endswith(SECRET_SUFFIXES)


# --------------------------------------------------------------------------- value types


def _decimal_in(value: Any) -> Decimal:
    """A bot.yaml number as an exact Decimal (model.to_decimal), in the config's wording."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {_kind(value)}")
    try:
        return to_decimal(value)
    except TypeError:
        raise ValueError(f"expected a number, got {_kind(value)}") from None
    except ValueError as exc:
        if "finite" in str(exc):
            raise ValueError(f"{_show(value)} is not allowed: must be a finite number") from None
        raise ValueError(f'{_show(value)} is not a number (write e.g. "0.01")') from None


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


Money = Annotated[Decimal, BeforeValidator(_decimal_in)]
"""A Decimal from str, int, Decimal or float (via its repr)."""
PositiveMoney = Annotated[Decimal, BeforeValidator(_decimal_in), AfterValidator(_positive)]
NonNegativeMoney = Annotated[Decimal, BeforeValidator(_decimal_in), AfterValidator(_non_negative)]
Fee = Annotated[Decimal, BeforeValidator(_decimal_in), AfterValidator(_fee)]

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
DURATION_HELP = (
    'a duration such as "250ms", "30s", "1m", "1h", "1d" (or "1h30m"), or a number of seconds'
)


def parse_duration(value: str | int | float | Decimal | timedelta) -> int:
    """A duration in integer nanoseconds.

    ``"250ms"``, ``"30s"``, ``"1m"``, ``"1h"``, ``"1d"``, combinations such as
    ``"1h30m"``, ``"us"``/``"ns"`` for the fine end, or a plain number of
    seconds (``30``, ``"0.5"``). Raises ``ValueError`` for anything else, for a
    negative duration, or for one finer than a nanosecond.
    """
    if isinstance(value, bool):
        raise ValueError(f"{_show(value)} is not a duration: use {DURATION_HELP}")
    if isinstance(value, timedelta):
        ns = Decimal((value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds) * 1_000
    elif isinstance(value, int | float | Decimal):
        try:
            seconds = _decimal_in(value)
        except ValueError:
            raise ValueError(f"{_show(value)} is not a duration: use {DURATION_HELP}") from None
        ns = seconds * 1_000_000_000
    elif isinstance(value, str):
        text = value.strip()
        if _is_number(text):
            ns = Decimal(text) * 1_000_000_000
        elif _DURATION_RE.fullmatch(text):
            ns = sum(
                (
                    Decimal(num) * _NS_PER_UNIT[unit]
                    for num, unit in _DURATION_PART_RE.findall(text)
                ),
                Decimal(0),
            )
        else:
            raise ValueError(f"{_show(value)} is not a duration: use {DURATION_HELP}")
    else:
        raise ValueError(f"expected {DURATION_HELP}, got {_kind(value)}")
    if ns < 0:
        raise ValueError(f"{_show(value)} is not allowed: a duration must be >= 0")
    if ns != ns.to_integral_value():
        raise ValueError(f"{_show(value)} is finer than a nanosecond")
    return int(ns)


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
                f"{_show(value)} is not a date/time: use ISO 8601 in UTC, "
                "e.g. 2024-01-31 or 2024-01-31T12:00:00Z"
            ) from None
    else:
        raise ValueError(f"expected an ISO 8601 date/time, got {_kind(value)}")
    # Times in bot.yaml are UTC unless they say otherwise.
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


UtcDatetime = Annotated[datetime, BeforeValidator(_utc_datetime)]


def _empty_if_none(value: Any) -> Any:
    # `params:` with nothing after it is YAML null; it means "none".
    return {} if value is None else value


# --------------------------------------------------------------------------- models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrderSpec(_Model):
    """An explicit order, for strategies that take orders in their params.

    Use it as a field of a strategy's ``Params`` model::

        class Params(BaseModel):
            model_config = ConfigDict(extra="forbid")
            symbol: str
            entry: OrderSpec

    A limit order needs a price, a market order takes none, sizes and prices
    are > 0, and only a good-till-cancelled limit order can be post-only.
    """

    side: Side
    size: PositiveMoney
    # `type` comes before `price` and `tif` so their checks can see it.
    type: OrderType = OrderType.LIMIT
    price: PositiveMoney | None = Field(default=None, validate_default=True)
    tif: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False

    @field_validator("type")
    @classmethod
    def _limit_or_market(cls, v: OrderType) -> OrderType:
        if v not in (OrderType.LIMIT, OrderType.MARKET):
            raise ValueError(f"'{v}' is not allowed: must be limit or market")
        return v

    @field_validator("price")
    @classmethod
    def _price_fits_type(cls, v: Decimal | None, info: ValidationInfo) -> Decimal | None:
        kind = info.data.get("type")
        if kind is OrderType.LIMIT and v is None:
            raise ValueError("a limit order needs a price")
        if kind is OrderType.MARKET and v is not None:
            raise ValueError(
                f"a market order takes no price (got {v}); remove it or use type: limit"
            )
        return v

    @field_validator("post_only")
    @classmethod
    def _post_only_fits(cls, v: bool, info: ValidationInfo) -> bool:
        if v and info.data.get("type") is OrderType.MARKET:
            raise ValueError("only a limit order can be post-only")
        if v and info.data.get("tif") not in (None, TimeInForce.GTC):
            raise ValueError("a post-only order must be tif: gtc")
        return v

    def to_place(self, symbol: str, client_id: str | None = None) -> Place:
        """The ``Place`` intent for this order on ``symbol``."""
        return Place(
            symbol=symbol,
            side=self.side,
            size=self.size,
            price=self.price,
            type=self.type,
            tif=self.tif,
            post_only=self.post_only,
            reduce_only=self.reduce_only,
            client_id=client_id,
        )


def _url(schemes: tuple[str, ...]) -> Callable[[str | None], str | None]:
    def check(v: str | None) -> str | None:
        if v is not None and not v.startswith(schemes):
            raise ValueError(f"{_show(v)} is not allowed: must start with {' or '.join(schemes)}")
        return v

    return check


def _known_venue(name: str) -> str:
    known = registry.names()
    if name not in known:
        match = closest(name, known)
        raise ValueError(
            f"{_show(name)} is not allowed; must be one of {', '.join(known)}"
            + (f". Did you mean '{match}'?" if match else "")
        )
    return name


class VenueConfig(_Model):
    """Where orders go in live mode, and market data comes from in paper and live."""

    name: Annotated[str, AfterValidator(_known_venue)] = "sim"
    base_url: Annotated[str | None, AfterValidator(_url(("https://", "http://")))] = None
    ws_url: Annotated[str | None, AfterValidator(_url(("wss://", "ws://")))] = None
    api_key: Secret | None = None
    api_secret: Secret | None = None
    options: Annotated[dict[str, Any], BeforeValidator(_empty_if_none)] = Field(
        default_factory=dict
    )

    def secrets(self) -> tuple[Secret, ...]:
        """Every secret value in this section (for log redaction)."""
        found: list[Secret] = []
        _collect_secrets([self.api_key, self.api_secret, self.options], found)
        return tuple(found)


def _collect_secrets(node: Any, found: list[Secret]) -> None:
    if isinstance(node, Secret):
        if node not in found:
            found.append(node)
    elif isinstance(node, Mapping):
        for v in node.values():
            _collect_secrets(v, found)
    elif isinstance(node, list | tuple):
        for v in node:
            _collect_secrets(v, found)


class InstrumentConfig(_Model):
    """One market and its rules; ``make_instruments()`` turns it into a ``model.Instrument``."""

    symbol: str = Field(min_length=1)
    # base and quote come after symbol so they can be derived from "BTC/USDT".
    base: str | None = Field(default=None, validate_default=True)
    quote: str | None = Field(default=None, validate_default=True)
    tick_size: PositiveMoney
    lot_size: PositiveMoney
    min_size: NonNegativeMoney | None = None
    max_size: PositiveMoney | None = None
    min_notional: NonNegativeMoney | None = None
    max_notional: PositiveMoney | None = None
    kind: Literal["spot", "perpetual", "future"] = "spot"
    maker_fee: Fee = Decimal(0)
    taker_fee: Fee = Decimal(0)
    allowed_sides: tuple[Side, ...] | None = Field(default=None, min_length=1)

    @field_validator("base", "quote")
    @classmethod
    def _from_symbol(cls, v: str | None, info: ValidationInfo) -> str:
        if v:
            return v
        symbol = info.data.get("symbol")
        parts = symbol.split("/") if isinstance(symbol, str) else []
        if len(parts) == 2 and all(parts):
            return parts[0] if info.field_name == "base" else parts[1]
        raise ValueError(
            f"missing, and it cannot be read from the symbol {_show(symbol)}; "
            f"add {info.field_name}: (e.g. base: BTC, quote: USDT)"
        )

    @field_validator("max_size")
    @classmethod
    def _max_size_above_min(cls, v: Decimal | None, info: ValidationInfo) -> Decimal | None:
        low = info.data.get("min_size")
        if v is not None and low is not None and v < low:
            raise ValueError(f"{v} is not allowed: must be >= min_size ({low})")
        return v

    @field_validator("max_notional")
    @classmethod
    def _max_notional_above_min(cls, v: Decimal | None, info: ValidationInfo) -> Decimal | None:
        low = info.data.get("min_notional")
        if v is not None and low is not None and v < low:
            raise ValueError(f"{v} is not allowed: must be >= min_notional ({low})")
        return v

    @field_validator("allowed_sides")
    @classmethod
    def _unique_sides(cls, v: tuple[Side, ...] | None) -> tuple[Side, ...] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError("lists a side twice; use [buy], [sell] or null for both")
        return v

    def to_instrument(self, venue: str) -> Instrument:
        return Instrument(
            venue=venue,
            symbol=self.symbol,
            base=self.base or "",
            quote=self.quote or "",
            tick_size=self.tick_size,
            lot_size=self.lot_size,
            min_size=self.min_size,
            max_size=self.max_size,
            min_notional=self.min_notional,
            max_notional=self.max_notional,
            kind=self.kind,
            maker_fee=self.maker_fee,
            taker_fee=self.taker_fee,
            allowed_sides=None if self.allowed_sides is None else frozenset(self.allowed_sides),
        )


class AccountConfig(_Model):
    """Starting balances for backtest and paper mode (asset -> amount)."""

    balances: Annotated[dict[str, NonNegativeMoney], BeforeValidator(_empty_if_none)] = Field(
        default_factory=dict
    )


class StrategyConfig(_Model):
    """One strategy instance: which class, its params and its timers."""

    name: str = Field(min_length=1)
    use: str = Field(min_length=1)
    params: Annotated[dict[str, Any], BeforeValidator(_empty_if_none)] = Field(default_factory=dict)
    timers: Annotated[dict[str, PositiveDuration], BeforeValidator(_empty_if_none)] = Field(
        default_factory=dict
    )

    _cls: type | None = PrivateAttr(default=None)
    _base_dir: Path | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _name_defaults_to_use(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("name") is None and "use" in data:
            return {**data, "name": data["use"]}
        return data

    def load_class(self, base_dir: str | Path | None = None) -> type:
        """The strategy class (resolved once, at load time, by ``load_config``)."""
        if self._cls is None:
            self._cls = resolve(self.use, base_dir if base_dir is not None else self._base_dir)
        return self._cls

    @property
    def strategy_class(self) -> type:
        return self.load_class()

    def validated_params(self) -> BaseModel | None:
        """The params as the strategy's ``Params`` model, or None if it declares none."""
        model = params_model(self.strategy_class)
        return None if model is None else model.model_validate(self.params)

    def instantiate(self) -> object:
        """A new strategy instance: ``Cls(params)`` with a copy of the params."""
        return self.strategy_class(dict(self.params))


class SimConfig(_Model):
    """The simulated venue behind backtest and paper mode."""

    latency: Duration = 0
    slippage_bps: NonNegativeMoney = Decimal(0)
    queue_position: bool = True


DATA_KINDS = ("book", "trades", "bars", "book_snapshots", "book_deltas")
_BARS_KIND = re.compile(r"bars_\d+[smhd]")


def _data_kind(v: str) -> str:
    # The catalog's names: the three groups, or one exact recorded kind.
    if v in DATA_KINDS or _BARS_KIND.fullmatch(v):
        return v
    match = closest(v, DATA_KINDS)
    raise ValueError(
        f"{_show(v)} is not allowed: must be one of {', '.join(DATA_KINDS)} or bars_<n><s|m|h|d>"
        + (f"; did you mean '{match}'?" if match else "")
    )


DataKind = Annotated[str, AfterValidator(_data_kind)]


class DataConfig(_Model):
    """What a backtest replays from the data catalog."""

    catalog: Path = Path("backtest_data")
    venue: str | None = None
    start: UtcDatetime | None = None
    end: UtcDatetime | None = None
    kinds: tuple[DataKind, ...] = Field(default=("book", "trades", "bars"), min_length=1)

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, v: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("start")
        if v is not None and start is not None and v <= start:
            raise ValueError(f"{v.isoformat()} is not allowed: must be after start ({start})")
        return v

    @field_validator("kinds")
    @classmethod
    def _unique_kinds(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(v)) != len(v):
            raise ValueError("lists a kind twice")
        return v


def _progress_in(value: Any) -> Any:
    # YAML 1.1 reads a bare on/off as true/false.
    if isinstance(value, bool):
        return "on" if value else "off"
    return value


class OutputConfig(_Model):
    """Where reports go and how a run shows progress."""

    dir: Path = Path("reports/latest")
    progress: Annotated[Literal["auto", "on", "off"], BeforeValidator(_progress_in)] = "auto"
    equity_interval: PositiveDuration = 60 * 1_000_000_000


class LiveConfig(_Model):
    """Paper and live runs: the journal, what happens on stop, and the local simulator."""

    journal: Path = Path("state/journal.sqlite")
    cancel_on_stop: bool = True
    # Run the venue's protocol simulator in-process and trade against it: a live
    # run with no credentials and no network beyond 127.0.0.1.
    simulator: bool = False
    simulator_seed: int = 1
    reconcile_interval: PositiveDuration = 60 * 1_000_000_000
    request_timeout: PositiveDuration = 10 * 1_000_000_000


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


_SECTIONS = ("venue", "account", "risk", "sim", "data", "output", "live")


class BotConfig(_Model):
    """A loaded bot.yaml. Build it with :func:`load_config` or :func:`parse_config`."""

    mode: Literal["backtest", "paper", "live"] = "backtest"
    log_level: Annotated[Literal["debug", "info", "warning", "error"], BeforeValidator(_lower)] = (
        "info"
    )
    venue: VenueConfig = Field(default_factory=VenueConfig)
    instruments: tuple[InstrumentConfig, ...] = Field(min_length=1)
    account: AccountConfig = Field(default_factory=AccountConfig)
    strategies: tuple[StrategyConfig, ...] = Field(min_length=1)
    risk: dict[str, Any] = Field(default_factory=dict)
    sim: SimConfig = Field(default_factory=SimConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    live: LiveConfig = Field(default_factory=LiveConfig)

    _source_path: Path | None = PrivateAttr(default=None)
    _base_dir: Path | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        # An empty section (`risk:` with nothing under it) means the defaults.
        out = {k: v for k, v in data.items() if not (k in _SECTIONS and v is None)}
        venue = out.get("venue")
        name = venue.get("name", "sim") if isinstance(venue, Mapping) else "sim"
        section = out.get("data", {})
        if isinstance(name, str) and isinstance(section, Mapping) and section.get("venue") is None:
            out["data"] = {**section, "venue": name}
        return out

    @property
    def source_path(self) -> Path | None:
        """The bot.yaml this was loaded from (None when parsed from a string)."""
        return self._source_path

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the config are taken from."""
        return self._base_dir if self._base_dir is not None else Path.cwd()

    def resolve_path(self, p: str | Path) -> Path:
        """``p`` as an absolute path; a relative one is taken from :attr:`base_dir`."""
        path = Path(p).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def make_instruments(self) -> dict[str, Instrument]:
        """The configured instruments by symbol, on ``venue.name``."""
        return {i.symbol: i.to_instrument(self.venue.name) for i in self.instruments}

    def strategy(self, name: str) -> StrategyConfig:
        for s in self.strategies:
            if s.name == name:
                return s
        raise KeyError(name)

    def risk_limits(self) -> Any:
        """The ``risk:`` mapping as ``botkit.risk.RiskLimits``."""
        from botkit.risk import RiskLimits

        return RiskLimits.from_mapping(self.risk)

    def secrets(self) -> tuple[Secret, ...]:
        """Every secret value in the config, for :func:`botkit.redact.install_redaction`."""
        return self.venue.secrets()

    def secret_values(self) -> tuple[str, ...]:
        """The plain secret values, for redaction filters only; never print them."""
        return tuple(s.reveal() for s in self.secrets())

    def redacted_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready dump that is safe to print, log or publish.

        Secrets show as ``***`` (as does any value under a secret-named key,
        wherever it is), durations as strings such as ``"1m"``, money as
        decimal strings. Apart from the secrets it loads back as the same config.
        """
        data = self.model_dump(mode="json", fallback=_json_fallback)
        return _mask_secret_keys(data)


def _json_fallback(value: Any) -> Any:
    return MASK if isinstance(value, Secret) else str(value)


def _mask_secret_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (MASK if is_secret_key(k) and v is not None else _mask_secret_keys(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_mask_secret_keys(v) for v in node]
    return node


# --------------------------------------------------------------------------- YAML


class _DuplicateKey(yaml.MarkedYAMLError):
    pass


class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        # Keys brought in by a `<<` merge may be overridden; only literal repeats are errors.
        if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
            continue
        key = loader.construct_object(key_node)
        if key in seen:
            raise _DuplicateKey(
                None,
                None,
                f"the key '{key}' is given twice in the same mapping (first at line "
                f"{seen[key].start_mark.line + 1}); YAML would silently keep only the last",
                key_node.start_mark,
            )
        seen[key] = key_node
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        where = f" at column {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or "invalid YAML"
        if isinstance(exc, _DuplicateKey):
            raise ConfigError(
                source,
                [ConfigIssue((), problem, fix="Keep one of them", line=line)],
            ) from None
        fix = "Check the indentation and quoting around there"
        if "'\\t'" in problem:
            fix = "YAML indents with spaces, not tabs"
        elif "${" in _text_line(text, mark) and "flow" in str(exc.context):
            fix = 'Inside { } or [ ], quote a reference to the environment: "${VAR}"'
        elif "mapping values are not allowed" in problem:
            fix += "; a value that contains ': ' must be quoted"
        context = f" ({exc.context})" if exc.context else ""
        raise ConfigError(
            source,
            [ConfigIssue((), f"YAML syntax error{where}: {problem}{context}", fix=fix, line=line)],
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, [ConfigIssue((), f"YAML error: {exc}")]) from None
    if data is None:
        raise ConfigError(
            source,
            [
                ConfigIssue(
                    (),
                    "the file is empty",
                    fix=f"It needs at least instruments: and strategies: (see {DOCS})",
                )
            ],
        )
    if not isinstance(data, dict):
        raise ConfigError(
            source,
            [
                ConfigIssue(
                    (),
                    f"the file must be a mapping of keys (mode:, venue:, ...), got {_kind(data)}",
                    fix=f"See {DOCS} for the layout",
                    line=1,
                )
            ],
        )
    return data


def _text_line(text: str, mark: yaml.Mark | None) -> str:
    lines = text.splitlines()
    return lines[mark.line] if mark is not None and 0 <= mark.line < len(lines) else ""


def _line_of(text: str, loc: Sequence[str | int]) -> int | None:
    """The 1-based line of the node at ``loc`` (or of its deepest existing parent)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line: int | None = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


# --------------------------------------------------------------------------- environment

_REF = re.compile(r"\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_name_for(venue: str, key: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", f"{venue}_{key}").strip("_").upper()


class _Expander:
    """Substitutes ``${VAR}`` and applies the secrets rule, collecting issues."""

    def __init__(self, env: Mapping[str, str], venue_name: str) -> None:
        self.env = env
        self.venue_name = venue_name
        self.issues: list[ConfigIssue] = []

    def walk(self, node: Any, loc: tuple[str | int, ...], in_venue: bool, secret: bool) -> Any:
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                child = (*loc, k if isinstance(k, str | int) else str(k))
                under_venue = in_venue or (loc == () and k == "venue")
                out[k] = self.walk(v, child, under_venue, secret or (in_venue and is_secret_key(k)))
            return out
        if isinstance(node, list):
            return [self.walk(v, (*loc, i), in_venue, secret) for i, v in enumerate(node)]
        if secret:
            return self.secret(node, loc)
        if isinstance(node, str) and "${" in node:
            return self.substitute(node, loc)
        return node

    def lookup(self, name: str, loc: tuple[str | int, ...]) -> str | None:
        if not _NAME.fullmatch(name):
            self.issues.append(
                ConfigIssue(
                    loc,
                    f"'${{{name}}}' is not a valid environment variable reference",
                    fix="Write ${NAME}, where NAME has only letters, digits and _",
                )
            )
            return None
        value = self.env.get(name)
        if value is None:
            self.issues.append(
                ConfigIssue(
                    loc,
                    f"environment variable {name} is not set",
                    fix=f"Set {name} in the environment botkit runs in (export {name}=...)",
                )
            )
        return value

    def substitute(self, text: str, loc: tuple[str | int, ...]) -> str:
        def one(m: re.Match[str]) -> str:
            value = self.lookup(m.group(1).strip(), loc)
            return "" if value is None else value

        out = _REF.sub(one, text)
        if "${" in _REF.sub("", text):
            self.issues.append(
                ConfigIssue(
                    loc,
                    f"{_show(text)} has an unclosed '${{'",
                    fix="Write ${NAME} to read an environment variable",
                )
            )
        return out

    def secret(self, value: Any, loc: tuple[str | int, ...]) -> Secret | None:
        if value is None:
            return None
        m = _REF.fullmatch(value.strip()) if isinstance(value, str) else None
        if m is None:
            key = next((p for p in reversed(loc) if isinstance(p, str)), "secret")
            var = _env_name_for(self.venue_name, key)
            mixed = isinstance(value, str) and "${" in value
            # The value is never echoed: it is (or contains) the secret.
            self.issues.append(
                ConfigIssue(
                    loc,
                    "a secret must be exactly one ${VAR}, with nothing around it"
                    if mixed
                    else "a secret cannot be written in the file; it must come from an "
                    "environment variable",
                    fix=f"Write {key}: ${{{var}}} and set {var} in the environment",
                    value=MASK,
                )
            )
            return None
        name = m.group(1).strip()
        value = self.lookup(name, loc)
        if value is None:
            return None
        if value == "":
            self.issues.append(
                ConfigIssue(
                    loc,
                    f"environment variable {name} is set but empty",
                    fix=f"Set {name} to the secret, or remove the key",
                )
            )
            return None
        return Secret(value)


# --------------------------------------------------------------------------- pydantic errors


def _unwrap(t: Any) -> Any:
    while True:
        origin = get_origin(t)
        if origin is Annotated:
            t = get_args(t)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(t) if a is not type(None)]
            if len(args) != 1:
                return t
            t = args[0]
        else:
            return t


def _model_at(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    t: Any = root
    for part in loc:
        t = _unwrap(t)
        if isinstance(t, type) and issubclass(t, BaseModel):
            field = t.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return None
            t = field.annotation
            continue
        origin = get_origin(t)
        args = get_args(t)
        if origin in (list, tuple, Sequence) and args:
            t = args[0]
        elif origin in (dict, Mapping) and len(args) == 2:
            t = args[1]
        else:
            return None
    t = _unwrap(t)
    return t if isinstance(t, type) and issubclass(t, BaseModel) else None


_BOUNDS = {
    "greater_than": ("gt", ">"),
    "greater_than_equal": ("ge", ">="),
    "less_than": ("lt", "<"),
    "less_than_equal": ("le", "<="),
}
_EXPECTED = {
    "dict_type": "a mapping (key: value lines)",
    "model_type": "a mapping (key: value lines)",
    "model_attributes_type": "a mapping (key: value lines)",
    "list_type": "a list",
    "tuple_type": "a list",
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "decimal_type": "a number",
    "decimal_parsing": "a number",
    "float_type": "a number",
    "float_parsing": "a number",
    "path_type": "a path",
    "datetime_type": "a date/time",
}


def _issue_from_error(
    err: Mapping[str, Any],
    loc: tuple[str | int, ...],
    root: type[BaseModel],
    rel: tuple[str | int, ...],
) -> ConfigIssue:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    secret = any(is_secret_key(p) for p in loc)
    shown = MASK if secret else _show(value)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        parent = _model_at(root, rel[:-1])
        keys = list(parent.model_fields) if parent is not None else []
        match = closest(key, keys)
        problem = f"unknown key '{key}'" + (f"; did you mean '{match}'?" if match else "")
        return ConfigIssue(
            loc,
            problem,
            allowed=f"allowed keys here: {', '.join(keys)}" if keys else None,
            fix=f"Rename it to '{match}'" if match else "Remove it or fix its spelling",
            value=key,
        )
    if kind == "missing":
        return ConfigIssue(loc, f"required key '{loc[-1]}' is missing", fix="Add it", value=None)
    if kind in ("literal_error", "enum"):
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        match = closest(str(value), choices) if isinstance(value, str) else None
        return ConfigIssue(
            loc,
            f"{shown} is not allowed",
            allowed=f"must be one of {', '.join(choices)}",
            fix=f"Did you mean '{match}'?" if match else None,
            value=value,
        )
    if kind in _BOUNDS:
        key, op = _BOUNDS[kind]
        return ConfigIssue(loc, f"{shown} is not allowed: must be {op} {ctx.get(key)}", value=value)
    if kind == "too_short":
        need = ctx.get("min_length", 1)
        got = ctx.get("actual_length", len(value) if isinstance(value, Sequence) else 0)
        return ConfigIssue(
            loc,
            f"needs at least {need} {'entry' if need == 1 else 'entries'}, got {got or 'none'}",
            fix=f"Add {'one' if need == 1 else 'more'} (see {DOCS})",
            value=value,
        )
    if kind == "value_error":
        return ConfigIssue(loc, str(ctx.get("error", err["msg"])), value=value)
    if kind in _EXPECTED:
        return ConfigIssue(
            loc, f"expected {_EXPECTED[kind]}, got {MASK if secret else _kind(value)}", value=value
        )
    msg = str(err["msg"]).replace("Input should be", "must be").replace("Value error, ", "")
    return ConfigIssue(loc, f"{shown} is not allowed: {msg}", value=value)


def _issues_from_validation(
    exc: ValidationError, root: type[BaseModel], prefix: tuple[str | int, ...] = ()
) -> list[ConfigIssue]:
    """Issues for ``exc``, raised validating ``root`` at ``prefix`` in the file."""
    issues = [
        _issue_from_error(err, (*prefix, *err["loc"]), root, tuple(err["loc"]))
        for err in _errors(exc)
    ]
    return _drop_explained_missing(issues)


def _errors(exc: ValidationError) -> list[Any]:
    """The errors worth reporting.

    A sequence whose items failed is also reported by pydantic as too short
    ("at least 1 item after validation, not 0"); the item errors say it all.
    """
    out = []
    for err in exc.errors(include_url=False):
        if err["type"] == "too_short":
            value, need = err.get("input"), (err.get("ctx") or {}).get("min_length", 0)
            if isinstance(value, Sequence) and len(value) >= need:
                continue
        out.append(err)
    return out


def _drop_explained_missing(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    """Drop "x is missing" when a misspelled sibling key is already reported as "did you mean x"."""
    suggested = {
        (*i.loc[:-1], i.fix.removeprefix("Rename it to ").strip("'"))
        for i in issues
        if i.fix and i.fix.startswith("Rename it to ")
    }
    return [i for i in issues if not (i.problem.startswith("required key") and i.loc in suggested)]


def _with_line(issue: ConfigIssue, text: str) -> ConfigIssue:
    if issue.line is not None or not issue.loc:
        return issue
    return ConfigIssue(
        issue.loc, issue.problem, issue.allowed, issue.fix, _line_of(text, issue.loc), issue.value
    )


# --------------------------------------------------------------------------- whole-file checks


def _check_strategies(cfg: BotConfig, base_dir: Path) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    symbols = [i.symbol for i in cfg.instruments]
    first_of: dict[str, int] = {}
    for i, s in enumerate(cfg.strategies):
        if s.name in first_of:
            issues.append(
                ConfigIssue(
                    ("strategies", i, "name"),
                    f"'{s.name}' is already the name of strategies[{first_of[s.name]}]; "
                    "strategy names must be unique (a name defaults to `use`)",
                    fix="Give each strategy its own `name:`",
                    value=s.name,
                )
            )
        first_of.setdefault(s.name, i)
        try:
            cls = resolve(s.use, base_dir)
            check_hooks(cls, f"strategy '{s.name}' ({cls.__qualname__})")
            model = params_model(cls)
        except PluginError as exc:
            issues.append(ConfigIssue(("strategies", i, "use"), str(exc), value=s.use))
            continue
        s._cls = cls
        s._base_dir = base_dir
        if model is not None:
            try:
                model.model_validate(s.params)
            except ValidationError as exc:
                issues += _issues_from_validation(exc, model, ("strategies", i, "params"))
            except Exception as exc:
                # A bug in the strategy's own validators: report it, do not crash the CLI.
                issues.append(
                    ConfigIssue(
                        ("strategies", i, "params"),
                        f"the strategy's Params model raised {type(exc).__name__}: {exc}",
                        fix="Check the strategy's Params validators",
                    )
                )
        named: list[tuple[tuple[str | int, ...], Any]] = [
            (("strategies", i, "params", "symbol"), s.params.get("symbol"))
        ]
        listed = s.params.get("symbols")
        if isinstance(listed, list):
            named += [(("strategies", i, "params", "symbols", j), v) for j, v in enumerate(listed)]
        for loc, symbol in named:
            if isinstance(symbol, str) and symbol not in symbols:
                issues.append(_unknown_symbol(loc, symbol, symbols))
    return issues


def _unknown_symbol(loc: tuple[str | int, ...], symbol: str, symbols: list[str]) -> ConfigIssue:
    # Stricter than for keys: ETH/USDT is not a typo of BTC/USDT.
    match = closest(symbol, symbols, cutoff=0.85)
    return ConfigIssue(
        loc,
        f"'{symbol}' is not a configured instrument"
        + (f"; did you mean '{match}'?" if match else ""),
        allowed=f"configured: {', '.join(symbols)}",
        fix="Add it under instruments: or use one of those",
        value=symbol,
    )


def _check_instruments(cfg: BotConfig) -> list[ConfigIssue]:
    issues = []
    seen: dict[str, int] = {}
    for i, inst in enumerate(cfg.instruments):
        if inst.symbol in seen:
            issues.append(
                ConfigIssue(
                    ("instruments", i, "symbol"),
                    f"'{inst.symbol}' is already configured at instruments[{seen[inst.symbol]}]",
                    fix="Remove one of them",
                    value=inst.symbol,
                )
            )
        seen.setdefault(inst.symbol, i)
    return issues


def _check_venue(cfg: BotConfig) -> list[ConfigIssue]:
    venue = cfg.venue
    if cfg.mode != "backtest" and venue.name == "sim":
        return [
            ConfigIssue(
                ("venue", "name"),
                f"'sim' cannot be used with mode: {cfg.mode}, which reads market data "
                "from a live venue",
                allowed="must be one of " + ", ".join(registry.names("trading")),
                fix="Set venue.name, or use mode: backtest",
                value="sim",
            )
        ]
    issues = []
    spec = registry.get(venue.name)
    if cfg.mode == "live" and not cfg.live.simulator:
        for key in spec.credentials:
            if getattr(venue, key) is None:
                var = _env_name_for(venue.name, key)
                issues.append(
                    ConfigIssue(
                        ("venue", key),
                        f"live trading on {venue.name} needs {key}",
                        fix=f"Add {key}: ${{{var}}} under venue: and set {var} in the environment",
                    )
                )
    return issues


def _check_risk(cfg: BotConfig) -> list[ConfigIssue]:
    # Imported here: the risk module is a sibling with its own dependencies,
    # and only its validation is needed.
    from botkit.risk import RiskConfigError, RiskLimits

    try:
        RiskLimits.from_mapping(cfg.risk)
    except RiskConfigError as exc:
        field = str(exc.field)
        loc = tuple(field.split(".")) if field.startswith("risk") else ("risk", *field.split("."))
        is_dc = dataclasses.is_dataclass(RiskLimits)
        keys = [f.name for f in dataclasses.fields(RiskLimits)] if is_dc else []
        if keys and len(loc) == 2 and loc[1] not in keys:
            # An unknown key: say it the way every other section does.
            match = closest(str(loc[1]), keys)
            return [
                ConfigIssue(
                    loc,
                    f"unknown key '{loc[1]}'" + (f"; did you mean '{match}'?" if match else ""),
                    allowed=f"allowed keys here: {', '.join(keys)}",
                    fix=f"Rename it to '{match}'" if match else "Remove it or fix its spelling",
                    value=loc[1],
                )
            ]
        message = str(exc)
        prefix = f"{field}: "
        if message.startswith(prefix):
            message = message[len(prefix) :]
        return [ConfigIssue(loc, message, value=exc.value)]
    except (ValueError, TypeError) as exc:
        return [ConfigIssue(("risk",), str(exc))]
    return []


# --------------------------------------------------------------------------- loading


def parse_config(
    text: str,
    source: str = "bot.yaml",
    base_dir: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> BotConfig:
    """Parse bot.yaml text. ``source`` names it in messages; ``base_dir`` (default:
    the working directory) is where relative paths are taken from; ``env``
    (default: ``os.environ``) supplies ``${VAR}`` values. Raises :class:`ConfigError`.
    """
    base = Path(base_dir).resolve() if base_dir is not None else Path.cwd()
    return _parse(text, source, base, env, None)


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> BotConfig:
    """Load a bot.yaml file (or the bot.yaml inside a folder). Raises :class:`ConfigError`."""
    source = str(path)
    p = Path(path).expanduser()
    if p.is_dir() and (p / "bot.yaml").is_file():
        p = p / "bot.yaml"
        source = str(Path(path) / "bot.yaml")
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            source,
            [
                ConfigIssue(
                    (),
                    f"file not found (looked for {p.resolve()})",
                    fix=f"Check the path, or write one ({DOCS} describes every key)",
                )
            ],
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            source,
            [ConfigIssue((), "is a folder with no bot.yaml in it", fix="Pass the bot.yaml file")],
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            source, [ConfigIssue((), "is not UTF-8 text", fix="Save it as UTF-8")]
        ) from None
    except OSError as exc:
        raise ConfigError(
            source,
            [ConfigIssue((), f"cannot be read: {exc.strerror}", fix="Check its permissions")],
        ) from None
    resolved = p.resolve()
    return _parse(text, source, resolved.parent, env, resolved)


def _parse(
    text: str,
    source: str,
    base_dir: Path,
    env: Mapping[str, str] | None,
    source_path: Path | None,
) -> BotConfig:
    raw = _load_yaml(text, source)

    venue = raw.get("venue")
    venue_name = venue.get("name") if isinstance(venue, Mapping) else None
    expander = _Expander(
        os.environ if env is None else env, venue_name if isinstance(venue_name, str) else "venue"
    )
    expanded = expander.walk(raw, (), in_venue=False, secret=False)
    if expander.issues:
        raise ConfigError(source, [_with_line(i, text) for i in expander.issues])

    try:
        cfg = BotConfig.model_validate(expanded)
    except ValidationError as exc:
        issues = _issues_from_validation(exc, BotConfig)
        raise ConfigError(source, [_with_line(i, text) for i in issues]) from None

    issues = [
        *_check_venue(cfg),
        *_check_instruments(cfg),
        *_check_strategies(cfg, base_dir),
        *_check_risk(cfg),
    ]
    if issues:
        raise ConfigError(source, [_with_line(i, text) for i in issues])

    cfg._source_path = source_path
    cfg._base_dir = base_dir
    return cfg


__all__ = [
    "DATA_KINDS",
    "DURATION_HELP",
    "AccountConfig",
    "BotConfig",
    "ConfigError",
    "ConfigIssue",
    "DataConfig",
    "Duration",
    "InstrumentConfig",
    "Money",
    "OrderSpec",
    "OutputConfig",
    "SimConfig",
    "StrategyConfig",
    "VenueConfig",
    "format_duration",
    "format_loc",
    "is_secret_key",
    "load_config",
    "parse_config",
    "parse_duration",
]
