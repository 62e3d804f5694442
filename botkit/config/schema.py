"""The bot.yaml schema: one frozen pydantic model per section.

Every key is documented in docs/bot-yaml.md. The models check what one section
can check on its own; what needs the whole file or outside code (strategy
classes, the venue's options model) is checked by ``botkit.config.loading``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from botkit.config.dashboard import DashboardConfig
from botkit.config.durations import (
    Duration,
    PositiveDuration,
    format_duration,
    parse_duration,
)
from botkit.config.errors import show
from botkit.config.mqtt import MqttConfig
from botkit.config.risk_limits import RiskLimits
from botkit.config.secret_keys import collect_secrets, mask_secret_keys
from botkit.config.treasury import TreasuryConfig
from botkit.config.values import (
    Fee,
    Money,
    NonNegativeMoney,
    PositiveMoney,
    Section,
    Step,
    UtcDatetime,
    empty_if_none,
    lower,
)
from botkit.intents import Place
from botkit.model import Instrument, OrderType, Side, TimeInForce
from botkit.plugins import closest, params_model, resolve
from botkit.redact import MASK, Secret
from botkit.schedule import Cron, Schedule, Window, timezone_of
from botkit.venues import registry


class OrderSpec(Section):
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
            raise ValueError(f"{show(v)} is not allowed: must start with {' or '.join(schemes)}")
        return v

    return check


def _known_venue(name: str) -> str:
    # A withdrawal-only API (``treasury.accounts``) is not a venue to trade on.
    known = tuple(n for n in registry.names() if registry.get(n).kind != "withdrawals")
    if name not in known:
        match = closest(name, known)
        raise ValueError(
            f"{show(name)} is not allowed; must be one of {', '.join(known)}"
            + (f". Did you mean '{match}'?" if match else "")
        )
    return name


class VenueConfig(Section):
    """Where orders go in live mode, and market data comes from in paper and live."""

    name: Annotated[str, AfterValidator(_known_venue)] = "sim"
    base_url: Annotated[str | None, AfterValidator(_url(("https://", "http://")))] = None
    ws_url: Annotated[str | None, AfterValidator(_url(("wss://", "ws://")))] = None
    api_key: Secret | None = None
    api_secret: Secret | None = None
    options: Annotated[dict[str, Any], BeforeValidator(empty_if_none)] = Field(default_factory=dict)

    _typed_options: BaseModel | None = PrivateAttr(default=None)

    def options_model(self) -> type[BaseModel] | None:
        """The venue's own model of ``options`` (declared in its registry entry), or None.

        Values under secret-named keys reach it as :class:`botkit.redact.Secret`,
        so the model declares such fields as ``Secret``.
        """
        return registry.get(self.name).options_model()

    def typed_options(self) -> BaseModel | None:
        """``options`` validated by the venue's model (None when the venue declares none).

        ``load_config`` validates them, reporting errors at ``venue.options.<key>``.
        """
        if self._typed_options is None:
            model = self.options_model()
            if model is not None:
                self._typed_options = model.model_validate(self.options)
        return self._typed_options

    def secrets(self) -> tuple[Secret, ...]:
        """Every secret value in this section (for log redaction)."""
        found: list[Secret] = []
        collect_secrets([self.api_key, self.api_secret, self.options], found)
        return tuple(found)


class InstrumentConfig(Section):
    """One market and its rules; ``make_instruments()`` turns it into a ``model.Instrument``."""

    symbol: str = Field(min_length=1)
    # base and quote come after symbol so they can be derived from "BTC/USDT".
    base: str | None = Field(default=None, validate_default=True)
    quote: str | None = Field(default=None, validate_default=True)
    tick_size: Step
    lot_size: Step
    min_size: NonNegativeMoney | None = None
    max_size: PositiveMoney | None = None
    min_notional: NonNegativeMoney | None = None
    max_notional: PositiveMoney | None = None
    kind: Literal["spot", "perpetual", "future", "inverse_perpetual", "inverse_future"] = "spot"
    maker_fee: Fee = Decimal(0)
    taker_fee: Fee = Decimal(0)
    allowed_sides: tuple[Side, ...] | None = Field(default=None, min_length=1)
    # Derivatives only (botkit.margin): the leverage cap, and the maintenance margin
    # as a rate of the position's value.
    max_leverage: Annotated[PositiveMoney, Field(le=1000)] | None = None
    maintenance_margin: Annotated[PositiveMoney, Field(lt=1)] | None = None

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
            f"missing, and it cannot be read from the symbol {show(symbol)}; "
            f"add {info.field_name}: (e.g. base: BTC, quote: USDT)"
        )

    @field_validator("max_size", "max_notional")
    @classmethod
    def _max_not_below_min(cls, v: Decimal | None, info: ValidationInfo) -> Decimal | None:
        low_key = "min_" + str(info.field_name).removeprefix("max_")
        low = info.data.get(low_key)
        if v is not None and low is not None and v < low:
            raise ValueError(f"{v} is not allowed: must be >= {low_key} ({low})")
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
            max_leverage=self.max_leverage,
            maintenance_margin=self.maintenance_margin,
        )


Leverage = Annotated[PositiveMoney, Field(le=1000)]


class AccountConfig(Section):
    """Starting balances for backtest and paper mode (asset -> amount), and the leverage
    derivatives trade at (one number, or per symbol with ``"*"`` for the rest)."""

    balances: Annotated[dict[str, NonNegativeMoney], BeforeValidator(empty_if_none)] = Field(
        default_factory=dict
    )
    leverage: Leverage | dict[str, Leverage] = Decimal(1)


def _cron_expr(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected a cron expression in quotes, got {show(v)}")
    Cron(v, "UTC")  # the syntax; the timezone is schedule.timezone's
    return v


CronExpr = Annotated[str, BeforeValidator(_cron_expr)]


class CronTimer(Section):
    """A timer that fires on a cron schedule, in ``schedule.timezone``."""

    cron: CronExpr


def _timer(v: Any) -> Any:
    """A duration, or ``{cron: ...}``: told apart here so an error names one of them."""
    if isinstance(v, Mapping):
        extra = sorted(str(k) for k in v if k != "cron")
        if extra or "cron" not in v:
            raise ValueError(
                f"a timer is a duration (e.g. 30s) or {{cron: '<expr>'}}, got keys "
                f"{sorted(str(k) for k in v)}"
            )
        return CronTimer(cron=_cron_expr(v["cron"]))
    if isinstance(v, CronTimer):
        return v
    ns = parse_duration(v)
    if ns <= 0:
        raise ValueError(f"{format_duration(ns)} is not allowed: must be > 0")
    return ns


def _timer_out(v: int | CronTimer) -> Any:
    return format_duration(v) if isinstance(v, int) else {"cron": v.cron}


TimerSpec = Annotated[
    int | CronTimer, BeforeValidator(_timer), PlainSerializer(_timer_out, when_used="json")
]


class WindowConfig(Section):
    """A trading window: the strategy trades from each ``open`` to the next ``close``."""

    open: CronExpr
    close: CronExpr


class StrategyConfig(Section):
    """One strategy instance: which class, its params, its timers and trading window."""

    name: str = Field(min_length=1)
    use: str = Field(min_length=1)
    params: Annotated[dict[str, Any], BeforeValidator(empty_if_none)] = Field(default_factory=dict)
    timers: Annotated[dict[str, TimerSpec], BeforeValidator(empty_if_none)] = Field(
        default_factory=dict
    )
    window: WindowConfig | None = None

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


class SimConfig(Section):
    """The simulated venue behind backtest and paper mode."""

    latency: Duration = 0
    slippage_bps: NonNegativeMoney = Decimal(0)
    queue_position: bool = True
    # How bars fill orders on a symbol that has only bars (botkit.venues.sim.matching).
    bar_fill: Literal["next_open", "close"] = "next_open"
    bar_volume_share: Annotated[PositiveMoney, Field(le=1)] = Decimal("0.1")
    # Perpetuals (botkit.margin): the funding rate per interval when the catalog has
    # no recorded rates, and the interval, counted from midnight UTC.
    funding_rate: Annotated[Money, Field(ge=-1, le=1)] = Decimal(0)
    funding_interval: PositiveDuration = 8 * 3600 * 10**9


DATA_KINDS = ("book", "quotes", "trades", "bars", "book_snapshots", "book_deltas")
_BARS_KIND = re.compile(r"bars_\d+[smhd]")


def _data_kind(v: str) -> str:
    # The catalog's names: the three groups, or one exact recorded kind.
    if v in DATA_KINDS or _BARS_KIND.fullmatch(v):
        return v
    match = closest(v, DATA_KINDS)
    raise ValueError(
        f"{show(v)} is not allowed: must be one of {', '.join(DATA_KINDS)} or bars_<n><s|m|h|d>"
        + (f"; did you mean '{match}'?" if match else "")
    )


DataKind = Annotated[str, AfterValidator(_data_kind)]


class DataConfig(Section):
    """What a backtest replays from the data catalog; where a paper or live run's market
    data comes from (``source``: the venue's stream, or ``botkit feed`` over MQTT)."""

    catalog: Path = Path("backtest_data")
    venue: str | None = None
    source: Literal["venue", "mqtt"] = "venue"
    start: UtcDatetime | None = None
    end: UtcDatetime | None = None
    kinds: tuple[DataKind, ...] = Field(default=("book", "quotes", "trades", "bars"), min_length=1)
    # Replay in the exchange's times (ts_ns), or in the order a recorder received the
    # events (recv_ns, as `botkit record` and `live.record` write it).
    clock: Literal["exchange", "receive"] = "exchange"

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


class OutputConfig(Section):
    """Where reports go and how a run shows progress."""

    dir: Path = Path("reports/latest")
    progress: Annotated[Literal["auto", "on", "off"], BeforeValidator(_progress_in)] = "auto"
    equity_interval: PositiveDuration = 60 * 1_000_000_000


class RecordConfig(Section):
    """Recording a run's market data into a catalog (``live.record``, ``botkit record``)."""

    dir: Path = Path("recordings")
    # How often the buffered events are written out: a killed recorder loses at most this.
    flush: PositiveDuration = 2 * 1_000_000_000


class LiveConfig(Section):
    """Paper and live runs: the journal, what happens on stop, and the local simulator."""

    journal: Path = Path("state/journal.sqlite")
    cancel_on_stop: bool = True
    # Run the venue's protocol simulator in-process and trade against it: a live
    # run with no credentials and no network beyond 127.0.0.1.
    simulator: bool = False
    simulator_seed: int = 1
    reconcile_interval: PositiveDuration = 60 * 1_000_000_000
    # Live: refuse a spot order the free balance cannot pay for before it is sent
    # (the venue's balances, refreshed at each reconciliation, plus fills since).
    # Off for an account other bots share: their trades move it between looks.
    balance_check: bool = True
    request_timeout: PositiveDuration = 10 * 1_000_000_000
    # How often the one-line status (PnL, positions, open orders, fills, rejects)
    # is logged at info level.
    status_interval: PositiveDuration = 5 * 1_000_000_000
    # Record the market data the run receives into a catalog (null: no recording).
    record: RecordConfig | None = None


class ScheduleConfig(Section):
    """The timezone cron schedules are read in, and the jobs the node runs on them."""

    # An IANA name; required once any cron schedule or trading window is used.
    timezone: str | None = None
    # Live and paper: write the day's report (PnL, fills, fees, rejects) on this cron.
    daily_report: CronExpr | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str | None) -> str | None:
        if v is not None:
            timezone_of(v)
        return v


_SECTIONS = (
    "venue",
    "account",
    "risk",
    "sim",
    "data",
    "output",
    "live",
    "schedule",
    "treasury",
)


class BotConfig(Section):
    """A loaded bot.yaml. Build it with :func:`load_config` or :func:`parse_config`."""

    mode: Literal["backtest", "paper", "live"] = "backtest"
    log_level: Annotated[Literal["debug", "info", "warning", "error"], BeforeValidator(lower)] = (
        "info"
    )
    venue: VenueConfig = Field(default_factory=VenueConfig)
    instruments: tuple[InstrumentConfig, ...] = Field(min_length=1)
    account: AccountConfig = Field(default_factory=AccountConfig)
    strategies: tuple[StrategyConfig, ...] = Field(min_length=1)
    risk: RiskLimits = Field(default_factory=RiskLimits)
    sim: SimConfig = Field(default_factory=SimConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    live: LiveConfig = Field(default_factory=LiveConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    treasury: TreasuryConfig = Field(default_factory=TreasuryConfig)
    # Telemetry and remote control over MQTT (botkit.ops); absent (or null): no broker.
    mqtt: MqttConfig | None = None
    # `botkit dashboard`'s login, address and folders (botkit.dashboard); absent: no dashboard.
    dashboard: DashboardConfig | None = None

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

    @model_validator(mode="after")
    def _cron_needs_a_timezone(self) -> BotConfig:
        if self.schedule.timezone is not None:
            return self
        for sc in self.strategies:
            crons = [n for n, t in sc.timers.items() if isinstance(t, CronTimer)]
            what = (
                f"strategies.{sc.name}.timers.{crons[0]}"
                if crons
                else f"strategies.{sc.name}.window"
                if sc.window is not None
                else None
            )
            if what is not None:
                raise ValueError(
                    f"{what} is a cron schedule, and schedule.timezone is not set: cron "
                    "times are read in that timezone; add e.g. `schedule: {timezone: UTC}` "
                    "(or Europe/London, America/New_York, ...)"
                )
        if self.schedule.daily_report is not None:
            raise ValueError(
                "schedule.daily_report is a cron schedule, and schedule.timezone is not set; "
                "add e.g. `timezone: UTC` under schedule:"
            )
        crons = [e.job.name for e in self.treasury.jobs if e.job.cron is not None]
        if crons:
            raise ValueError(
                f"treasury job {crons[0]} runs on a cron schedule, and schedule.timezone is "
                "not set; add e.g. `schedule: {timezone: UTC}`"
            )
        return self

    def schedules(self, sc: StrategyConfig) -> tuple[dict[str, Schedule], Window | None]:
        """A strategy's timers (interval ns or Cron) and its window, in the timezone."""
        tz = self.schedule.timezone or "UTC"
        timers: dict[str, Schedule] = {
            n: Cron(t.cron, tz) if isinstance(t, CronTimer) else t for n, t in sc.timers.items()
        }
        w = sc.window
        return timers, None if w is None else Window(Cron(w.open, tz), Cron(w.close, tz))

    def make_instruments(self) -> dict[str, Instrument]:
        """The configured instruments by symbol, on ``venue.name``."""
        return {i.symbol: i.to_instrument(self.venue.name) for i in self.instruments}

    def strategy(self, name: str) -> StrategyConfig:
        for s in self.strategies:
            if s.name == name:
                return s
        raise KeyError(name)

    def risk_limits(self) -> RiskLimits:
        """The ``risk:`` section (the same as :attr:`risk`)."""
        return self.risk

    def secrets(self) -> tuple[Secret, ...]:
        """Every secret value in the config, for :func:`botkit.redact.install_redaction`."""
        mqtt = self.mqtt.secrets() if self.mqtt is not None else ()
        dashboard = self.dashboard.secrets() if self.dashboard is not None else ()
        return self.venue.secrets() + self.treasury.secrets() + mqtt + dashboard

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
        return mask_secret_keys(data)


def _json_fallback(value: Any) -> Any:
    return MASK if isinstance(value, Secret) else str(value)
