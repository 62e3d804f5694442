"""bot.yaml: what loads, what the defaults are, and what a user sees when it is wrong.

Every bad file must produce one paragraph that names the field, so the tests
check the message text a user would read.
"""

from __future__ import annotations

import logging
import textwrap
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from botkit.config import (
    BotConfig,
    ConfigError,
    OrderSpec,
    RiskLimits,
    format_duration,
    load_config,
    parse_config,
    parse_duration,
)
from botkit.intents import Place
from botkit.model import Instrument, OrderType, Side
from botkit.redact import Secret, install_redaction
from botkit.risk import RiskModule
from botkit.venues import registry
from botkit.venues.registry import VenueSpec

# A strategy file the configs below point at: its Params model is what the
# loader validates `params:` with, before anything runs.
STRATEGY_FILE = '''
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from botkit import hookimpl
from botkit.config import OrderSpec


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbol: str
    size: Decimal = Field(gt=0)
    entry: OrderSpec | None = None


class Sized:
    """Trades a fixed size."""

    Params = Params

    def __init__(self, params):
        self.p = Params.model_validate(params)

    @hookimpl
    def on_trade(self, ctx, trade):
        return None
'''

GOOD = """\
mode: backtest
venue:
  name: sim
instruments:
  - symbol: BTC/USDT
    tick_size: "0.01"
    lot_size: "0.00001"
    min_notional: "5"
strategies:
  - name: sized
    use: strategies/sized.py:Sized
    params: {symbol: BTC/USDT, size: "0.01"}
"""


@pytest.fixture
def bot_dir(tmp_path: Path) -> Path:
    """A bot folder with the test strategy in strategies/sized.py."""
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "sized.py").write_text(STRATEGY_FILE, encoding="utf-8")
    return tmp_path


def load(bot_dir: Path, text: str, env: dict[str, str] | None = None) -> BotConfig:
    path = bot_dir / "bot.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_config(path, env=env or {})


def error(bot_dir: Path, text: str, env: dict[str, str] | None = None) -> str:
    """The message a user sees for a bad bot.yaml; always one paragraph."""
    with pytest.raises(ConfigError) as info:
        load(bot_dir, text, env)
    message = str(info.value)
    assert "\n" not in message
    assert "Traceback" not in message
    assert "bot.yaml" in message
    return message


# --------------------------------------------------------------------------- loading


def test_minimal_file_gets_the_documented_defaults(bot_dir: Path) -> None:
    cfg = load(bot_dir, GOOD)
    assert cfg.mode == "backtest"
    assert cfg.log_level == "info"
    assert cfg.venue.name == "sim" and cfg.venue.api_key is None and cfg.venue.options == {}
    assert cfg.account.balances == {}
    assert cfg.risk == RiskLimits()
    assert cfg.sim.latency == 0 and cfg.sim.slippage_bps == 0 and cfg.sim.queue_position
    assert cfg.data.catalog == Path("backtest_data")
    assert cfg.data.venue == "sim"  # defaults to venue.name
    assert cfg.data.start is None and cfg.data.end is None
    assert cfg.data.kinds == ("book", "quotes", "trades", "bars")
    assert cfg.output.dir == Path("reports/latest")
    assert cfg.output.progress == "auto"
    assert cfg.output.equity_interval == 60 * 10**9
    inst = cfg.instruments[0]
    assert (inst.base, inst.quote) == ("BTC", "USDT")  # read from the symbol
    assert inst.kind == "spot" and inst.maker_fee == 0 and inst.allowed_sides is None


def test_paths_resolve_against_the_bot_yaml_folder(
    bot_dir: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Run from somewhere else: the strategy file and data paths still resolve.
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    cfg = load(bot_dir, GOOD)
    assert cfg.source_path == (bot_dir / "bot.yaml").resolve()
    assert cfg.base_dir == bot_dir.resolve()
    assert cfg.resolve_path(cfg.data.catalog) == bot_dir.resolve() / "backtest_data"
    assert cfg.resolve_path(cfg.output.dir) == bot_dir.resolve() / "reports" / "latest"
    assert cfg.resolve_path("/abs/x") == Path("/abs/x")
    assert load_config(bot_dir, env={}).source_path == cfg.source_path  # a folder works too


def test_full_example(bot_dir: Path) -> None:
    cfg = load(
        bot_dir,
        """
        mode: paper
        log_level: DEBUG
        venue:
          name: blocktrade
          base_url: https://api.example.com
          ws_url: wss://ws.example.com
          api_key: ${BLOCKTRADE_API_KEY}
          api_secret: ${BLOCKTRADE_API_SECRET}
          options: {portfolio_id: "${PORTFOLIO}", page_size: 500}
        instruments:
          - symbol: BTC/USDT
            base: BTC
            quote: USDT
            tick_size: 0.01
            lot_size: "0.00001"
            min_size: null
            max_size: 100
            min_notional: "5"
            kind: spot
            maker_fee: "0.0002"
            taker_fee: 0.0005
            allowed_sides: [buy]
          - {symbol: ETH-PERP, base: ETH, quote: USD, tick_size: "0.1", lot_size: 1,
             kind: perpetual}
        account:
          balances: {USDT: "100000", BTC: 0}
        strategies:
          - name: trend
            use: strategies/sized.py:Sized
            params: {symbol: BTC/USDT, size: 0.1}
            timers: {rebalance: 60s, heartbeat: 250ms}
          - use: strategies/sized.py:Sized
            params: {symbol: ETH-PERP, size: 1}
        risk: {rounding: reject, max_open_orders: 10}
        sim: {latency: 5ms, slippage_bps: "1.5", queue_position: false}
        data:
          catalog: data/catalog
          venue: binance
          start: 2024-01-01
          end: 2024-01-02T12:00:00+02:00
          kinds: [trades, bars]
        output: {dir: out, progress: off, equity_interval: 1h}
        """,
        env={
            "BLOCKTRADE_API_KEY": "key-123",
            "BLOCKTRADE_API_SECRET": "secret-456",
            "PORTFOLIO": "916",
        },
    )
    assert cfg.mode == "paper" and cfg.log_level == "debug"
    assert cfg.venue.api_key == Secret("key-123")
    assert cfg.venue.options == {"portfolio_id": "916", "page_size": 500}
    typed = cfg.venue.typed_options()  # checked by the venue's own options model
    assert typed.portfolio_id == 916 and typed.page_size == 500
    btc, eth = cfg.instruments
    assert btc.tick_size == Decimal("0.01")  # a YAML float becomes the decimal it prints as
    assert btc.taker_fee == Decimal("0.0005")
    assert btc.allowed_sides == (Side.BUY,)
    assert eth.kind == "perpetual" and eth.lot_size == 1
    assert cfg.account.balances == {"USDT": Decimal("100000"), "BTC": Decimal(0)}
    trend, second = cfg.strategies
    assert trend.timers == {"rebalance": 60 * 10**9, "heartbeat": 250 * 10**6}
    assert second.name == "strategies/sized.py:Sized"  # the name defaults to `use`
    assert cfg.sim.latency == 5 * 10**6 and cfg.sim.slippage_bps == Decimal("1.5")
    assert cfg.sim.queue_position is False
    assert cfg.data.venue == "binance"
    assert cfg.data.start == datetime(2024, 1, 1, tzinfo=UTC)
    assert cfg.data.end == datetime(2024, 1, 2, 10, tzinfo=UTC)
    assert cfg.output.progress == "off"  # YAML reads a bare off as false
    assert cfg.output.equity_interval == 3600 * 10**9


def test_make_instruments(bot_dir: Path) -> None:
    cfg = load(bot_dir, GOOD.replace("name: sim", "name: alp"))
    inst = cfg.make_instruments()["BTC/USDT"]
    assert inst == Instrument(
        "alp", "BTC/USDT", "BTC", "USDT", Decimal("0.01"), Decimal("0.00001"), min_notional=5
    )


def test_strategy_class_is_resolved_at_load(bot_dir: Path) -> None:
    cfg = load(bot_dir, GOOD)
    strategy = cfg.strategies[0]
    assert strategy.strategy_class.__name__ == "Sized"
    assert strategy.validated_params().size == Decimal("0.01")  # type: ignore[union-attr]
    instance = strategy.instantiate()
    assert instance.p.symbol == "BTC/USDT"  # type: ignore[attr-defined]
    assert cfg.strategy("sized") is strategy


def test_models_are_frozen(bot_dir: Path) -> None:
    cfg = load(bot_dir, GOOD)
    with pytest.raises(ValidationError):
        cfg.mode = "live"  # type: ignore[misc]


def test_parse_config_from_text(bot_dir: Path) -> None:
    cfg = parse_config(GOOD, source="inline.yaml", base_dir=bot_dir, env={})
    assert cfg.source_path is None and cfg.base_dir == bot_dir.resolve()
    with pytest.raises(ConfigError, match=r"^inline\.yaml"):
        parse_config("mode: [", source="inline.yaml", env={})


# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("250ms", 250_000_000),
        ("30s", 30 * 10**9),
        ("1m", 60 * 10**9),
        ("1h", 3600 * 10**9),
        ("1d", 86400 * 10**9),
        ("1h30m", 5400 * 10**9),
        ("1.5s", 1_500_000_000),
        ("500us", 500_000),
        ("0ms", 0),
        (30, 30 * 10**9),
        (0.25, 250_000_000),
        ("2", 2 * 10**9),
    ],
)
def test_parse_duration(text: str | int | float, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize("bad", ["10 sec", "1M", "-1s", -5, True, "", "1.5ns", "s"])
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)  # type: ignore[arg-type]


def test_format_duration_round_trips() -> None:
    for ns in (0, 250_000_000, 60 * 10**9, 90 * 10**9, 1, 1500):
        assert parse_duration(format_duration(ns)) == ns
    assert format_duration(60 * 10**9) == "1m"


# --------------------------------------------------------------------------- env and secrets


SECRET_VENUE = GOOD.replace(
    "venue:\n  name: sim\n",
    "venue:\n  name: blocktrade\n  api_key: ${BT_KEY}\n  api_secret: ${BT_SECRET}\n",
)
ENV = {"BT_KEY": "k-very-secret-key", "BT_SECRET": "s-very-secret-value"}


def test_env_substitution_anywhere(bot_dir: Path) -> None:
    text = GOOD.replace('size: "0.01"}', 'size: "${SIZE}"}').replace(
        "mode: backtest", "mode: ${MODE}"
    )
    cfg = load(bot_dir, text, env={"SIZE": "0.5", "MODE": "backtest"})
    assert cfg.strategies[0].params["size"] == "0.5"
    assert cfg.strategies[0].validated_params().size == Decimal("0.5")  # type: ignore[union-attr]


def test_missing_env_var_names_field_and_variable(bot_dir: Path) -> None:
    msg = error(bot_dir, SECRET_VENUE, env={"BT_KEY": "x"})
    assert "venue.api_secret" in msg
    assert "environment variable BT_SECRET is not set" in msg


def test_secrets_are_wrapped_and_never_shown(bot_dir: Path) -> None:
    cfg = load(bot_dir, SECRET_VENUE, env=ENV)
    assert isinstance(cfg.venue.api_key, Secret)
    assert cfg.venue.api_key.reveal() == ENV["BT_KEY"]
    dump = cfg.redacted_dict()
    assert dump["venue"]["api_key"] == "***" and dump["venue"]["api_secret"] == "***"
    for text in (repr(cfg), str(cfg), str(dump), cfg.model_dump_json()):
        assert ENV["BT_KEY"] not in text and ENV["BT_SECRET"] not in text
    assert {s.reveal() for s in cfg.secrets()} == set(ENV.values())


def test_secrets_never_reach_a_log_line(bot_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = load(bot_dir, SECRET_VENUE, env=ENV)
    log = logging.getLogger("botkit.tests.config")
    flt = install_redaction(log, cfg.secrets())
    try:
        with caplog.at_level(logging.INFO, logger="botkit.tests.config"):
            log.info("signing with %s", cfg.venue.api_key.reveal())  # type: ignore[union-attr]
            log.info("config: %s", cfg)
        assert "signing with ***" in caplog.text
        assert ENV["BT_KEY"] not in caplog.text and ENV["BT_SECRET"] not in caplog.text
    finally:
        log.removeFilter(flt)


def test_redacted_dict_loads_back(bot_dir: Path) -> None:
    import yaml

    cfg = load(bot_dir, GOOD.replace("mode: backtest", "mode: backtest\nsim: {latency: 5ms}"))
    dump = cfg.redacted_dict()
    assert dump["sim"]["latency"] == "5ms"
    assert dump["instruments"][0]["tick_size"] == "0.01"
    again = parse_config(yaml.safe_dump(dump), base_dir=bot_dir, env={})
    assert again.model_dump() == cfg.model_dump()


def test_literal_secret_is_rejected_without_echoing_it(bot_dir: Path) -> None:
    text = GOOD.replace("name: sim", "name: blocktrade\n  api_key: hunter2-literal")
    msg = error(bot_dir, text)
    assert "venue.api_key" in msg
    assert "must come from an environment variable" in msg
    assert "api_key: ${BLOCKTRADE_API_KEY}" in msg
    assert "hunter2" not in msg


def test_literal_secret_in_venue_options_is_rejected(bot_dir: Path) -> None:
    text = GOOD.replace("name: sim", "name: alpha5\n  options: {bearer_token: abc.def}")
    msg = error(bot_dir, text)
    assert "venue.options.bearer_token" in msg and "abc.def" not in msg


def test_live_signed_venue_needs_keys(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD.replace("mode: backtest", "mode: live").replace("sim", "alp", 1))
    assert "venue.api_key: live trading on alp needs api_key" in msg


# --------------------------------------------------------------------------- bad files


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    msg = str(info.value)
    assert "nope.yaml" in msg and "file not found" in msg and "\n" not in msg


def test_yaml_syntax_error_has_line_and_column(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD.replace("  name: sim", "  name: sim\n   bad: [1, 2"))
    assert "bot.yaml, line 4" in msg
    assert "YAML syntax error at column" in msg


def test_unquoted_env_reference_in_flow_mapping_gets_a_hint(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD.replace('size: "0.01"}', "size: ${SIZE}}"))
    assert 'quote a reference to the environment: "${VAR}"' in msg


def test_duplicate_yaml_key(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD + "mode: live\n")
    assert "line 13" in msg and "'mode' is given twice" in msg and "line 1" in msg


def test_empty_file(bot_dir: Path) -> None:
    assert "the file is empty" in error(bot_dir, "# nothing\n")


def test_misspelled_top_level_key(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD.replace("strategies:", "strategis:"))
    assert "bot.yaml, line 9: strategis: unknown key 'strategis'" in msg
    assert "did you mean 'strategies'?" in msg
    assert "Allowed keys here: mode, log_level, venue, instruments" in msg
    # The misspelling explains the missing key; it is not reported twice.
    assert "required key 'strategies'" not in msg


def test_misspelled_risk_key(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD + "risk:\n  max_postion: 1\n")
    assert "line 14: risk.max_postion: unknown key 'max_postion'" in msg
    assert "did you mean 'max_position'?" in msg


def test_bad_risk_value(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD + "risk: {post_only: sometimes}\n")
    assert "risk.post_only" in msg and "sometimes" in msg


def test_misspelled_nested_key(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD.replace("    min_notional:", "    min_notionl:"))
    assert "instruments[0].min_notionl: unknown key" in msg
    assert "did you mean 'min_notional'?" in msg


def test_wrong_type(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD.replace('tick_size: "0.01"', "tick_size: [1]"))
    assert "line 6: instruments[0].tick_size: expected a number, got a list" in msg
    assert "instruments: needs" not in msg


def test_value_out_of_range(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD.replace('lot_size: "0.00001"', "lot_size: 0"))
    assert "instruments[0].lot_size: 0 is not allowed: must be > 0" in msg


def test_bad_choice_suggests_the_closest(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD.replace("mode: backtest", "mode: bactest"))
    assert "line 1: mode: 'bactest' is not allowed; must be one of backtest, paper, live" in msg
    assert "Did you mean 'backtest'?" in msg


def test_bad_duration(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD + "sim: {latency: 10 sec}\n")
    assert "sim.latency: '10 sec' is not a duration" in msg and '"250ms"' in msg


def test_several_problems_are_reported_together(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD.replace("mode: backtest", "mode: x\nlog_level: loud"))
    assert "mode:" in msg and "Also: line 2: log_level:" in msg


def test_unknown_strategy(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD.replace("use: strategies/sized.py:Sized", "use: no_such_strategy"))
    assert "line 11: strategies[0].use: unknown strategy 'no_such_strategy'" in msg
    assert "Installed strategies:" in msg
    assert "path/to/file.py:ClassName" in msg


def test_unknown_strategy_class_in_file(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD.replace("sized.py:Sized", "sized.py:Sised"))
    assert "strategies[0].use" in msg and "did you mean 'Sized'?" in msg


def test_negative_size_in_strategy_params(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD.replace('size: "0.01"}', "size: -1}"))
    assert "line 12: strategies[0].params.size: -1 is not allowed: must be > 0" in msg


def test_unknown_strategy_param(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD.replace('size: "0.01"}', 'sise: "0.01"}'))
    assert "strategies[0].params.sise: unknown key 'sise'; did you mean 'size'?" in msg
    assert "required key 'size'" not in msg


def test_limit_order_without_price(bot_dir: Path) -> None:
    text = GOOD.replace(
        'size: "0.01"}', 'size: "0.01", entry: {side: buy, size: "0.1", type: limit}}'
    )
    msg = error(bot_dir, text)
    assert "strategies[0].params.entry.price: a limit order needs a price" in msg


def test_market_order_with_price(bot_dir: Path) -> None:
    text = GOOD.replace(
        'size: "0.01"}', 'size: "0.01", entry: {side: sell, size: 1, type: market, price: 5}}'
    )
    msg = error(bot_dir, text)
    assert "strategies[0].params.entry.price: a market order takes no price" in msg


def test_strategy_symbol_must_be_configured(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD.replace("symbol: BTC/USDT, size", "symbol: BTC/USD, size"))
    assert "strategies[0].params.symbol: 'BTC/USD' is not a configured instrument" in msg
    assert "did you mean 'BTC/USDT'?" in msg


def test_duplicate_strategy_names(bot_dir: Path) -> None:
    text = GOOD + (
        "  - name: sized\n    use: strategies/sized.py:Sized\n"
        "    params: {symbol: BTC/USDT, size: 1}\n"
    )
    msg = error(bot_dir, text)
    assert "line 13: strategies[1].name: 'sized' is already the name of strategies[0]" in msg


def test_duplicate_instruments(bot_dir: Path) -> None:
    text = GOOD.replace(
        "strategies:", "  - {symbol: BTC/USDT, tick_size: 1, lot_size: 1}\nstrategies:"
    )
    assert "instruments[1].symbol: 'BTC/USDT' is already configured" in error(bot_dir, text)


def test_no_instruments(bot_dir: Path) -> None:
    text = (
        GOOD.split("instruments:")[0]
        + "instruments: []\n"
        + "strategies:"
        + GOOD.split("strategies:")[1]
    )
    assert "instruments: needs at least 1 entry" in error(bot_dir, text)


def test_paper_mode_needs_a_live_venue(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD.replace("mode: backtest", "mode: paper"))
    assert "venue.name: 'sim' cannot be used with mode: paper" in msg
    assert "alp, alpha5, blocktrade" in msg


def test_timer_must_be_positive(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD + "    timers: {tick: 0s}\n")
    assert "strategies[0].timers.tick: 0s is not allowed: must be > 0" in msg


def test_end_before_start(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD + "data: {start: 2024-02-01, end: 2024-01-01}\n")
    assert "data.end" in msg and "must be after start" in msg


# --------------------------------------------------------------------------- OrderSpec


def test_order_spec_defaults_and_place() -> None:
    spec = OrderSpec(side="buy", size=0.1, price="100.5")  # type: ignore[arg-type]
    assert spec.type is OrderType.LIMIT and spec.size == Decimal("0.1")
    assert spec.to_place("BTC/USDT", client_id="c1") == Place(
        "BTC/USDT", Side.BUY, Decimal("0.1"), Decimal("100.5"), client_id="c1"
    )
    market = OrderSpec(side="sell", size="2", type="market")  # type: ignore[arg-type]
    assert market.price is None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"side": "buy", "size": "1"}, "price\n  Value error, a limit order needs a price"),
        ({"side": "buy", "size": -1, "price": 1}, "size\n  Value error, -1 is not allowed"),
        ({"side": "buy", "size": 1, "price": 0}, "0 is not allowed: must be > 0"),
        ({"side": "buy", "size": 1, "type": "market", "price": 1}, "takes no price"),
        ({"side": "buy", "size": 1, "type": "market", "post_only": True}, "post-only"),
        ({"side": "buy", "size": 1, "type": "stop_limit", "price": 1}, "limit or market"),
        ({"side": "buy", "size": 1, "price": 1, "tif": "ioc", "post_only": True}, "gtc"),
        ({"side": "hold", "size": 1, "price": 1}, "side"),
        ({"side": "buy", "size": 1, "price": 1, "colour": "red"}, "colour"),
    ],
)
def test_order_spec_rejects(fields: dict[str, object], expected: str) -> None:
    with pytest.raises(ValidationError) as info:
        OrderSpec.model_validate(fields)
    assert expected in str(info.value)


def test_order_spec_is_usable_in_a_params_model() -> None:
    class Params(BaseModel):
        entry: OrderSpec

    assert (
        Params.model_validate({"entry": {"side": "sell", "size": 1, "price": 2}}).entry.price == 2
    )


def test_data_kinds_follow_the_catalog_names(bot_dir: Path) -> None:
    cfg = load(bot_dir, GOOD + "data: {kinds: [book_deltas, bars_1m, trades]}\n")
    assert cfg.data.kinds == ("book_deltas", "bars_1m", "trades")
    msg = error(bot_dir, GOOD + "data: {kinds: [book, trade]}\n")
    assert "data.kinds[1]: 'trade' is not allowed" in msg and "did you mean 'trades'?" in msg


def test_every_listed_symbol_must_be_configured(bot_dir: Path) -> None:
    text = GOOD.replace("strategies/sized.py:Sized", "strategies/plain.py:Plain").replace(
        "{symbol: BTC/USDT, size", "{symbols: [BTC/USDT, ETH/USDT], size"
    )
    (bot_dir / "strategies" / "plain.py").write_text("class Plain:\n    pass\n")
    msg = error(bot_dir, text)
    assert "strategies[0].params.symbols[1]: 'ETH/USDT' is not a configured instrument" in msg
    assert "; configured: BTC/USDT" in msg
    assert "did you mean" not in msg  # ETH/USDT is not a typo of BTC/USDT


def test_secret_values_are_for_redaction_filters(bot_dir: Path) -> None:
    cfg = load(bot_dir, SECRET_VENUE, env=ENV)
    assert sorted(cfg.secret_values()) == sorted(ENV.values())
    assert load(bot_dir, GOOD).secret_values() == ()


def test_suggestions_ignore_case(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD.replace("mode: backtest", "mode: Backtest"))
    assert "Did you mean 'backtest'?" in msg


def test_json_schema_is_available() -> None:
    schema = BotConfig.model_json_schema()
    assert {"instruments", "strategies"} <= set(schema["required"])


# --------------------------------------------------------------------------- risk section


def test_risk_section_is_typed_and_the_risk_module_takes_it(bot_dir: Path) -> None:
    text = GOOD + (
        "risk:\n"
        "  post_only: Slide\n"
        "  max_position: {BTC/USDT: '0.5', default: 1}\n"
        "  max_order_rate: 2/1s\n"
        "  price_band: '0.05'\n"
    )
    cfg = load(bot_dir, text)
    assert isinstance(cfg.risk, RiskLimits)
    assert cfg.risk.post_only == "slide"
    assert cfg.risk.max_position == {"BTC/USDT": Decimal("0.5"), "default": Decimal(1)}
    rate = cfg.risk.max_order_rate
    assert rate is not None and (rate.count, rate.per) == (2, 10**9)
    assert RiskModule(cfg.risk).limits is cfg.risk
    dump = cfg.redacted_dict()["risk"]
    assert dump["max_order_rate"] == {"count": 2, "per": "1s"} and dump["price_band"] == "0.05"


def test_bad_risk_values_get_path_value_allowed_and_line(bot_dir: Path) -> None:
    text = GOOD + (
        "risk:\n  max_position:\n    BTC/USDT: lots\n  max_order_rate: {count: 2, per: soon}\n"
    )
    msg = error(bot_dir, text)
    assert "line 15: risk.max_position.BTC/USDT: 'lots' is not allowed; must be a size" in msg
    assert "line 16: risk.max_order_rate.per: 'soon' is not allowed; must be a period" in msg


def test_bad_order_rate_text(bot_dir: Path) -> None:
    msg = error(bot_dir, GOOD + "risk: {max_order_rate: 20 per second}\n")
    assert "line 13: risk.max_order_rate: '20 per second' is not allowed" in msg
    assert '"N/<period>"' in msg


# --------------------------------------------------------------------------- venue options


class ToyOptions(BaseModel):
    """A venue's own options model, as a venue package declares it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    account_id: str
    recv_window: int = Field(5000, gt=0)
    bearer_token: Secret | None = None


TOY_VENUE = VenueSpec(name="toyvenue", title="Toy venue", options=f"{__name__}:ToyOptions")
TOY = GOOD.replace("name: sim", "name: toyvenue\n  options:\n    account_id: a1")


def test_venue_options_are_validated_by_the_venues_model(bot_dir: Path) -> None:
    text = TOY.replace("a1", "a1\n    bearer_token: ${TOY_TOKEN}")
    with registry.registered(TOY_VENUE):
        cfg = load(bot_dir, text, env={"TOY_TOKEN": "tok-123"})
    options = cfg.venue.typed_options()
    assert isinstance(options, ToyOptions)
    assert options.account_id == "a1" and options.recv_window == 5000
    # A secret-named key holds a Secret, in the mapping and in the model.
    assert isinstance(options.bearer_token, Secret) and options.bearer_token.reveal() == "tok-123"
    assert cfg.venue.options["bearer_token"] == options.bearer_token
    assert "tok-123" not in repr(options)


def test_bad_venue_options_are_reported_at_their_key(bot_dir: Path) -> None:
    text = TOY.replace("account_id: a1", "acount_id: a1\n    recv_window: 0")
    with registry.registered(TOY_VENUE):
        msg = error(bot_dir, text)
    assert "line 5: venue.options.acount_id: unknown key 'acount_id'" in msg
    assert "did you mean 'account_id'?" in msg
    assert "line 6: venue.options.recv_window: 0 is not allowed: must be > 0" in msg
    assert "required key 'account_id'" not in msg


def test_venue_options_keep_the_secrets_rule(bot_dir: Path) -> None:
    with registry.registered(TOY_VENUE):
        msg = error(bot_dir, TOY.replace("a1", "a1\n    bearer_token: literal-token"))
    assert "venue.options.bearer_token" in msg and "literal-token" not in msg


def test_a_venue_without_an_options_model_takes_any_options(bot_dir: Path) -> None:
    bare = VenueSpec(name="barevenue", title="A venue that declares no options model")
    with registry.registered(bare):
        cfg = load(bot_dir, GOOD.replace("name: sim", "name: barevenue\n  options: {anything: 1}"))
        assert cfg.venue.options == {"anything": 1} and cfg.venue.typed_options() is None


def test_every_shipped_venue_checks_its_options(bot_dir: Path) -> None:
    for name in registry.names("trading"):
        msg = error(bot_dir, GOOD.replace("name: sim", f"name: {name}\n  options: {{anything: 1}}"))
        assert "venue.options.anything: unknown key 'anything'" in msg, name
