"""bot.yaml: the schema, and loading it into typed, frozen models.

``load_config(path)`` reads a file; ``parse_config(text)`` reads a string.
Either returns a :class:`BotConfig` or raises :class:`ConfigError`, whose
``str()`` is one paragraph naming the file (and line), the field path
(``strategies[0].params.size``), the bad value, what is allowed and the fix.
Every key is documented in docs/bot-yaml.md.

The package is split by concern:

- ``loading``: YAML, the load stages and the checks that need the whole file;
- ``schema``: one pydantic model per section; ``risk_limits``: the ``risk:`` section;
- ``env``: ``${VAR}`` substitution and the secrets rule; ``secret_keys``: which
  keys name secrets;
- ``values`` and ``durations``: money, date/times and durations as bot.yaml writes them;
- ``errors``: issues, the error a user reads, and pydantic's errors in those words.
"""

from botkit.config.durations import (
    DURATION_HELP,
    Duration,
    PositiveDuration,
    format_duration,
    parse_duration,
)
from botkit.config.errors import ConfigError, ConfigIssue, NotAllowed, format_loc
from botkit.config.loading import load_config, parse_config
from botkit.config.risk_limits import RateLimit, RiskConfigError, RiskLimits
from botkit.config.schema import (
    DATA_KINDS,
    AccountConfig,
    BotConfig,
    DataConfig,
    InstrumentConfig,
    LiveConfig,
    OrderSpec,
    OutputConfig,
    RecordConfig,
    SimConfig,
    StrategyConfig,
    VenueConfig,
)
from botkit.config.secret_keys import SECRET_SUFFIXES, is_secret_key
from botkit.config.values import Fee, Money, NonNegativeMoney, PositiveMoney, UtcDatetime

__all__ = [
    "DATA_KINDS",
    "DURATION_HELP",
    "SECRET_SUFFIXES",
    "AccountConfig",
    "BotConfig",
    "ConfigError",
    "ConfigIssue",
    "DataConfig",
    "Duration",
    "Fee",
    "InstrumentConfig",
    "LiveConfig",
    "Money",
    "NonNegativeMoney",
    "NotAllowed",
    "OrderSpec",
    "OutputConfig",
    "PositiveDuration",
    "PositiveMoney",
    "RateLimit",
    "RecordConfig",
    "RiskConfigError",
    "RiskLimits",
    "SimConfig",
    "StrategyConfig",
    "UtcDatetime",
    "VenueConfig",
    "format_duration",
    "format_loc",
    "is_secret_key",
    "load_config",
    "parse_config",
    "parse_duration",
]
