"""Loading bot.yaml: from text to a checked :class:`BotConfig`, or one :class:`ConfigError`.

``load_config(path)`` reads a file; ``parse_config(text)`` reads a string. Each
stage reports every problem it finds, and stops the load if there is one:

1. YAML (syntax errors with line and column; a key given twice is an error,
   where plain YAML would silently keep the last one);
2. ``${VAR}`` substitution and the secrets rule (``botkit.config.env``);
3. the schema (``botkit.config.schema``, with "did you mean" for keys);
4. what needs the whole file or outside code: each strategy is resolved and its
   params validated with its ``Params`` model, strategy names are unique,
   ``params.symbol`` is a configured instrument, the venue suits the mode,
   ``venue.options`` passes the venue's own options model and the environment
   variable ``mqtt.signing_secret_env`` names is set.

Every issue gets the line of the key it is about.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from botkit.config.env import expand
from botkit.config.errors import (
    DOCS,
    ConfigError,
    ConfigIssue,
    issues_from_validation,
    kind,
    show,
)
from botkit.config.schema import BotConfig
from botkit.config.secret_keys import env_name_for
from botkit.config.treasury import check_treasury
from botkit.plugins import PluginError, check_hooks, closest, params_model, resolve
from botkit.redact import Secret
from botkit.venues import registry

# --------------------------------------------------------------------------- YAML


class _DuplicateKey(yaml.MarkedYAMLError):
    pass


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that bot.yaml refuses (too big, too deep, an impossible date)."""


# bot.yaml is a page of settings. These bounds are far above any real one and keep
# a hostile or broken file from costing seconds or gigabytes: aliases can make a
# 1 KB file expand to billions of nodes ("billion laughs"), and PyYAML composes
# nested brackets recursively.
MAX_CHARS = 1_000_000
MAX_DEPTH = 32
MAX_NODES = 20_000
MAX_INT_DIGITS = 30


def _check_shape(text: str) -> None:
    """Walk the YAML events (no objects are built) and refuse a document that is
    nested too deep or that would hold too many nodes once aliases are expanded."""
    # Each open collection: its anchor and how many nodes it holds so far.
    stack: list[tuple[str | None, int]] = []
    sizes: dict[str, int] = {}
    total = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append((event.anchor, 1))
            total += 1
            if len(stack) > MAX_DEPTH:
                raise _Refused(
                    None,
                    None,
                    f"the document is nested more than {MAX_DEPTH} levels deep",
                    event.start_mark,
                )
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, n = stack.pop()
            if anchor is not None:
                sizes[anchor] = n
            if stack:
                stack[-1] = (stack[-1][0], stack[-1][1] + n)
            continue
        if isinstance(event, yaml.ScalarEvent):
            n = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in sizes and any(a == event.anchor for a, _ in stack):
                raise _Refused(
                    None,
                    None,
                    f"the alias *{event.anchor} is inside the value it names (a loop)",
                    event.start_mark,
                )
            n = sizes.get(event.anchor, 1)  # an unknown alias: the loader reports it
        else:
            continue
        total += n
        if stack:
            stack[-1] = (stack[-1][0], stack[-1][1] + n)
        if total > MAX_NODES:
            raise _Refused(
                None,
                None,
                f"the document would hold more than {MAX_NODES:,} values once its aliases "
                "(*name) are expanded",
                event.start_mark,
            )


class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping, and turns a value its
    tag cannot make (``!!float abc``, ``!!binary ???``) into an error at its line."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, ArithmeticError, LookupError):
            tag = node.tag.rsplit(":", 1)[-1]
            raise _Refused(
                None,
                None,
                f"this value cannot be read as {tag}; remove the '!!{tag}' tag or fix the value",
                node.start_mark,
            ) from None


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


def _construct_int(loader: _Loader, node: yaml.Node) -> int:
    text = node.value if isinstance(node, yaml.ScalarNode) else ""
    digits = sum(c.isdigit() for c in text)
    # Python refuses to read ints over 4,300 digits, and big ones are slow to convert.
    if digits > MAX_INT_DIGITS:
        raise _Refused(
            None,
            None,
            f"a whole number of {digits:,} digits; numbers in bot.yaml have at most "
            f"{MAX_INT_DIGITS} digits",
            node.start_mark,
        )
    value: int = yaml.SafeLoader.construct_yaml_int(loader, node)
    return value


def _construct_timestamp(loader: _Loader, node: yaml.Node) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError):
        value = node.value if isinstance(node, yaml.ScalarNode) else ""
        # e.g. a +99:00 offset, or a date past the year 9999 once made UTC
        raise _Refused(
            None,
            None,
            f"'{value}' is not a valid date/time; write ISO 8601, e.g. 2024-01-31T12:00:00Z, "
            "with an offset within ±23:59",
            node.start_mark,
        ) from None


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _load_yaml(text: str, source: str) -> dict[str, Any]:
    if len(text) > MAX_CHARS:
        raise ConfigError(
            source,
            [
                ConfigIssue(
                    (),
                    f"is over {MAX_CHARS:,} characters long; bot.yaml is at most {MAX_CHARS:,}",
                    fix="Check that this is the right file",
                )
            ],
        )
    try:
        _check_shape(text)
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
        if isinstance(exc, _Refused):
            raise ConfigError(
                source,
                [ConfigIssue((), problem, fix=f"See {DOCS} for what each key takes", line=line)],
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
                    f"the file must be a mapping of keys (mode:, venue:, ...), got {kind(data)}",
                    fix=f"See {DOCS} for the layout",
                    line=1,
                )
            ],
        )
    return data


def _with_line(issue: ConfigIssue, text: str) -> ConfigIssue:
    if issue.line is not None or not issue.loc:
        return issue
    return ConfigIssue(
        issue.loc, issue.problem, issue.allowed, issue.fix, _line_of(text, issue.loc), issue.value
    )


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


# --------------------------------------------------------------------------- numbers

# Any number anywhere in the file, strategy params included (their models are the
# strategies' own): beyond these it is a typo or an attack, and Decimal or int
# arithmetic on it could be slow or overflow. Sections of the schema are stricter.
_NUMBER_RE = re.compile(r"[-+]?(\d[\d_]*)?\.?\d*(e[-+]?\d+)?", re.IGNORECASE)
_DOC_MAX_EXP = 30


def _number_issues(node: Any, loc: tuple[str | int, ...]) -> list[ConfigIssue]:
    """Issues for numbers (or numeric text) of absurd magnitude, walking ``node``
    (depth and size are bounded by :func:`_check_shape`)."""
    issues: list[ConfigIssue] = []
    if isinstance(node, Mapping):
        for key, value in node.items():
            issues += _number_issues(value, (*loc, key if isinstance(key, str | int) else str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            issues += _number_issues(value, (*loc, i))
    elif isinstance(node, float) and math.isfinite(node) and node != 0:
        if not 10.0**-_DOC_MAX_EXP <= abs(node) < 10.0**_DOC_MAX_EXP:
            issues.append(_absurd(loc, node))
    elif isinstance(node, str) and any(c.isdigit() for c in node[:64]):
        text = node.strip()
        if _NUMBER_RE.fullmatch(text):
            if len(text) > 64:
                issues.append(_absurd(loc, node))
            else:
                d = Decimal(text.replace("_", ""))
                if d and not -_DOC_MAX_EXP <= d.adjusted() < _DOC_MAX_EXP:
                    issues.append(_absurd(loc, node))
    return issues


def _absurd(loc: tuple[str | int, ...], value: Any) -> ConfigIssue:
    return ConfigIssue(
        loc,
        f"{show(value)} is not allowed: numbers in bot.yaml lie between 1e-{_DOC_MAX_EXP} "
        f"and 1e{_DOC_MAX_EXP}",
        fix="Check for a typo in the exponent",
        value=value,
    )


# --------------------------------------------------------------------------- whole-file checks


def _check_paths(cfg: BotConfig) -> list[ConfigIssue]:
    """Folders the run writes to (or reads from) must not name files."""
    issues = []
    for loc, path in (
        (("output", "dir"), cfg.output.dir),
        (("data", "catalog"), cfg.data.catalog),
    ):
        full = cfg.resolve_path(path)
        for part in (full, *full.parents):
            if part.exists():
                if not part.is_dir():
                    issues.append(
                        ConfigIssue(
                            loc,
                            f"'{path}' is not a folder: {part} is a file",
                            fix="Name a folder (it is created when missing)",
                            value=str(path),
                        )
                    )
                break
    return issues


def _validate(
    model: type[BaseModel], data: Any, loc: tuple[str | int, ...], owner: str
) -> tuple[BaseModel | None, list[ConfigIssue]]:
    """``data`` validated by a model that code outside the config declares (a strategy's
    params, a venue's options), with its errors reported at ``loc``."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, issues_from_validation(exc, model, loc)
    except Exception as exc:
        # A bug in the model's own validators: report it, do not crash the CLI.
        return None, [
            ConfigIssue(
                loc,
                f"the {owner} model raised {type(exc).__name__}: {exc}",
                fix=f"Check the {owner} validators",
            )
        ]


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
            _, found = _validate(model, s.params, ("strategies", i, "params"), "strategy's Params")
            issues += found
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
    spec = registry.get(venue.name)
    issues = []
    model = spec.options_model()
    if model is not None:
        typed, issues = _validate(model, venue.options, ("venue", "options"), "venue's options")
        venue._typed_options = typed
    if cfg.mode == "live" and not cfg.live.simulator:
        for key in spec.credentials:
            if getattr(venue, key) is None:
                var = env_name_for(venue.name, key)
                issues.append(
                    ConfigIssue(
                        ("venue", key),
                        f"live trading on {venue.name} needs {key}",
                        fix=f"Add {key}: ${{{var}}} under venue: and set {var} in the environment",
                    )
                )
    return issues


def _check_data_source(cfg: BotConfig) -> list[ConfigIssue]:
    """``data.source: mqtt`` reads ``botkit feed`` from the broker of ``mqtt:``, live or paper."""
    if cfg.data.source != "mqtt":
        return []
    loc = ("data", "source")
    if cfg.mode == "backtest":
        return [
            ConfigIssue(
                loc,
                "'mqtt' cannot be used with mode: backtest, which replays data.catalog",
                fix="Set mode: paper or mode: live, or remove data.source",
                value="mqtt",
            )
        ]
    if cfg.mqtt is None:
        return [
            ConfigIssue(
                loc,
                "'mqtt' needs an mqtt: section: the market data comes from `botkit feed` over "
                "the broker that section names",
                fix="Add mqtt: {host: <broker>, bot_id: <this bot's name>}, or set "
                "data.source: venue",
                value="mqtt",
            )
        ]
    from botkit.ops.topics import symbol_level

    issues = []
    for i, inst in enumerate(cfg.instruments):
        try:
            symbol_level(inst.symbol)
        except ValueError:
            issues.append(
                ConfigIssue(
                    ("instruments", i, "symbol"),
                    f"'{inst.symbol}' cannot be part of an MQTT topic, as data.source: mqtt "
                    "needs ('+' and '#' are wildcards)",
                    fix="Use the venue's symbol without '+' or '#', or data.source: venue",
                    value=inst.symbol,
                )
            )
    return issues


def _check_mqtt(cfg: BotConfig, env: Mapping[str, str]) -> list[ConfigIssue]:
    """The command-signing secret is read from the environment variable ``mqtt:`` names."""
    mqtt = cfg.mqtt
    if mqtt is None or mqtt.signing_secret_env is None:
        return []
    name = mqtt.signing_secret_env
    value = env.get(name)
    if not value:
        return [
            ConfigIssue(
                ("mqtt", "signing_secret_env"),
                f"environment variable {name} is "
                + ("set but empty" if value == "" else "not set")
                + "; it holds the secret that control commands are signed with",
                fix=f"Set {name} to a long random string (the same for the bot and botkit ctl), "
                "or remove signing_secret_env",
                value=name,
            )
        ]
    mqtt._signing_secret = Secret(value)
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
        # Read no more than the limit: a path to a huge file (or /dev/zero) fails fast.
        with p.open(encoding="utf-8") as f:
            text = f.read(MAX_CHARS + 1)
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
    issues = _number_issues(raw, ())
    if issues:
        raise ConfigError(source, [_with_line(i, text) for i in issues])

    venue = raw.get("venue")
    venue_name = venue.get("name") if isinstance(venue, Mapping) else None
    expanded, issues = expand(
        raw,
        os.environ if env is None else env,
        venue_name if isinstance(venue_name, str) else "venue",
    )
    if issues:
        raise ConfigError(source, [_with_line(i, text) for i in issues])

    try:
        cfg = BotConfig.model_validate(expanded)
    except ValidationError as exc:
        issues = issues_from_validation(exc, BotConfig)
        raise ConfigError(source, [_with_line(i, text) for i in issues]) from None

    issues = [
        *_check_venue(cfg),
        *_check_instruments(cfg),
        *_check_strategies(cfg, base_dir),
        *check_treasury(cfg.treasury),
        *_check_mqtt(cfg, os.environ if env is None else env),
        *_check_data_source(cfg),
    ]
    if issues:
        raise ConfigError(source, [_with_line(i, text) for i in issues])

    cfg._source_path = source_path
    cfg._base_dir = base_dir
    issues = _check_paths(cfg)
    if issues:
        raise ConfigError(source, [_with_line(i, text) for i in issues])
    return cfg
