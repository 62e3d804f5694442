"""What a user reads when bot.yaml is wrong.

A :class:`ConfigIssue` is one problem: the field path, what is wrong, what is
allowed, the fix and the line. A :class:`ConfigError` carries every issue one
stage of loading found, and its ``str()`` is one paragraph. Validators raise
:class:`NotAllowed` when they can say what is allowed; :func:`issues_from_validation`
turns pydantic's errors into issues in this wording, with "did you mean" for
misspelled keys and choices.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from botkit.config.secret_keys import is_secret_key
from botkit.plugins import closest
from botkit.redact import MASK, Secret

DOCS = "docs/bot-yaml.md"


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

    def allowed_text(self) -> str | None:
        """``allowed`` as :meth:`describe` shows it."""
        if not self.allowed:
            return None
        allowed = self.allowed.rstrip(".")
        # After a question ("did you mean ...?") the list starts a new sentence.
        if self.problem.rstrip(".").endswith("?"):
            return f"{allowed[:1].upper()}{allowed[1:]}"
        return allowed

    def describe(self) -> str:
        text = (f"{self.path}: " if self.loc else "") + self.problem.rstrip(".")
        allowed = self.allowed_text()
        if allowed:
            text += f" {allowed}" if text.endswith("?") else f"; {allowed}"
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


class NotAllowed(ValueError):
    """A value a validator refuses, saying what is allowed (and the fix, if there is one).

    Raised inside a pydantic validator it becomes a :class:`ConfigIssue` with
    these parts; elsewhere its ``str()`` reads ``problem: allowed``.
    """

    def __init__(self, problem: str, allowed: str, fix: str | None = None) -> None:
        self.problem = problem
        self.allowed = allowed
        self.fix = fix
        super().__init__(f"{problem}: {allowed}")


def format_loc(loc: Sequence[str | int]) -> str:
    """``("strategies", 0, "params", "size")`` -> ``strategies[0].params.size``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def show(value: Any) -> str:
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
        text = value if is_number(value) else f"'{value}'"
    elif isinstance(value, Mapping):
        text = "a mapping {" + ", ".join(str(k) for k in list(value)[:5]) + "}"
    elif isinstance(value, list | tuple):
        text = f"a list of {len(value)}"
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def kind(value: Any) -> str:
    """What a value is, for "expected a number, got ..."."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{show(value)} (a boolean)"
    if isinstance(value, int | float | Decimal):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {show(value)}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def is_number(text: str) -> bool:
    try:
        return Decimal(text.strip()).is_finite()
    except (InvalidOperation, ValueError):
        return False


# --------------------------------------------------------------------------- pydantic errors


def issues_from_validation(
    exc: ValidationError, root: type[BaseModel], prefix: tuple[str | int, ...] = ()
) -> list[ConfigIssue]:
    """Issues for ``exc``, raised validating ``root`` at ``prefix`` in the file."""
    issues = [
        _issue_from_error(err, (*prefix, *err["loc"]), root, tuple(err["loc"]))
        for err in _errors(exc)
    ]
    return _drop_explained_missing(issues)


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
    kind_ = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    secret = any(is_secret_key(p) for p in loc)
    shown = MASK if secret else show(value)
    if kind_ == "extra_forbidden":
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
    if kind_ == "missing":
        return ConfigIssue(loc, f"required key '{loc[-1]}' is missing", fix="Add it", value=None)
    if kind_ in ("literal_error", "enum"):
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        match = closest(str(value), choices) if isinstance(value, str) else None
        return ConfigIssue(
            loc,
            f"{shown} is not allowed",
            allowed=f"must be one of {', '.join(choices)}",
            fix=f"Did you mean '{match}'?" if match else None,
            value=value,
        )
    if kind_ in _BOUNDS:
        key, op = _BOUNDS[kind_]
        return ConfigIssue(loc, f"{shown} is not allowed: must be {op} {ctx.get(key)}", value=value)
    if kind_ == "too_short":
        need = ctx.get("min_length", 1)
        got = ctx.get("actual_length", len(value) if isinstance(value, Sequence) else 0)
        return ConfigIssue(
            loc,
            f"needs at least {need} {'entry' if need == 1 else 'entries'}, got {got or 'none'}",
            fix=f"Add {'one' if need == 1 else 'more'} (see {DOCS})",
            value=value,
        )
    if kind_ == "value_error":
        error = ctx.get("error")
        if isinstance(error, NotAllowed):
            return ConfigIssue(loc, error.problem, error.allowed, error.fix, value=value)
        return ConfigIssue(loc, str(error if error is not None else err["msg"]), value=value)
    if kind_ in _EXPECTED:
        return ConfigIssue(
            loc, f"expected {_EXPECTED[kind_]}, got {MASK if secret else kind(value)}", value=value
        )
    msg = str(err["msg"]).replace("Input should be", "must be").replace("Value error, ", "")
    return ConfigIssue(loc, f"{shown} is not allowed: {msg}", value=value)


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
    """Drop "x is missing" when a misspelled sibling key is already reported as "did you mean x",
    and put the other missing keys last: they are often the result of a misspelling."""
    suggested = {
        (*i.loc[:-1], i.fix.removeprefix("Rename it to ").strip("'"))
        for i in issues
        if i.fix and i.fix.startswith("Rename it to ")
    }
    kept = [i for i in issues if not (_is_missing(i) and i.loc in suggested)]
    return sorted(kept, key=_is_missing)


def _is_missing(issue: ConfigIssue) -> bool:
    return issue.problem.startswith("required key")
