"""Loading bot.yaml: from text to a checked :class:`BotConfig`, or one :class:`ConfigError`.

``load_config(path)`` reads a file; ``parse_config(text)`` reads a string. Each
stage reports every problem it finds, and stops the load if there is one:

1. YAML (syntax errors with line and column; a key given twice is an error,
   where plain YAML would silently keep the last one);
2. ``${VAR}`` substitution and the secrets rule (``botkit.config.env``);
3. the schema (``botkit.config.schema``, with "did you mean" for keys);
4. what needs the whole file or outside code: each strategy is resolved and its
   params validated with its ``Params`` model, strategy names are unique,
   ``params.symbol`` is a configured instrument, the venue suits the mode and
   ``venue.options`` passes the venue's own options model.

Every issue gets the line of the key it is about.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from botkit.config.env import expand
from botkit.config.errors import DOCS, ConfigError, ConfigIssue, issues_from_validation, kind
from botkit.config.schema import BotConfig
from botkit.config.secret_keys import env_name_for
from botkit.plugins import PluginError, check_hooks, closest, params_model, resolve
from botkit.venues import registry

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


# --------------------------------------------------------------------------- whole-file checks


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
    ]
    if issues:
        raise ConfigError(source, [_with_line(i, text) for i in issues])

    cfg._source_path = source_path
    cfg._base_dir = base_dir
    return cfg
