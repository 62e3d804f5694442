"""``${VAR}`` substitution from the environment, and the secrets rule.

Anywhere in bot.yaml, ``${NAME}`` is replaced by the environment variable
``NAME``; the substituted text is not parsed as YAML again. Under ``venue:``
(``venue.options`` included), ``mqtt:`` and ``treasury.accounts``, a value under a
secret-named key (``botkit.config.secret_keys``) must be exactly one ``${VAR}``: it becomes a
:class:`botkit.redact.Secret`, and a literal is an error whose message never
repeats the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from botkit.config.errors import ConfigIssue, show
from botkit.config.secret_keys import env_name_for, is_secret_key
from botkit.redact import MASK, Secret

# The sections whose secret-named keys must come from the environment.
SECRET_SECTIONS = ("venue", "mqtt")

_REF = re.compile(r"\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Loc = tuple[str | int, ...]


def expand(
    raw: Mapping[str, Any], env: Mapping[str, str], venue_name: str
) -> tuple[dict[str, Any], list[ConfigIssue]]:
    """``raw`` with every ``${VAR}`` substituted and secrets wrapped, and the problems found.

    ``venue_name`` names the environment variable a message suggests for a secret.
    """
    expander = _Expander(env, venue_name)
    out = expander.walk(dict(raw), (), in_venue=False, secret=False)
    return out, expander.issues


class _Expander:
    """Walks the YAML data, collecting issues instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str], venue_name: str) -> None:
        self.env = env
        self.venue_name = venue_name
        self.issues: list[ConfigIssue] = []

    def walk(self, node: Any, loc: Loc, in_venue: bool, secret: bool) -> Any:
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                child = (*loc, k if isinstance(k, str | int) else str(k))
                # Credentials live under venue:, mqtt: and treasury.accounts (withdrawal
                # APIs).
                under_venue = in_venue or (loc == () and k in SECRET_SECTIONS)
                under_venue = under_venue or (loc == ("treasury",) and k == "accounts")
                out[k] = self.walk(v, child, under_venue, secret or (in_venue and is_secret_key(k)))
            return out
        if isinstance(node, list):
            return [self.walk(v, (*loc, i), in_venue, secret) for i, v in enumerate(node)]
        if secret:
            return self.secret(node, loc)
        if isinstance(node, str) and "${" in node:
            return self.substitute(node, loc)
        return node

    def lookup(self, name: str, loc: Loc) -> str | None:
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

    def substitute(self, text: str, loc: Loc) -> str:
        def one(m: re.Match[str]) -> str:
            value = self.lookup(m.group(1).strip(), loc)
            return "" if value is None else value

        out = _REF.sub(one, text)
        if "${" in _REF.sub("", text):
            self.issues.append(
                ConfigIssue(
                    loc,
                    f"{show(text)} has an unclosed '${{'",
                    fix="Write ${NAME} to read an environment variable",
                )
            )
        return out

    def secret(self, value: Any, loc: Loc) -> Secret | None:
        if value is None:
            return None
        m = _REF.fullmatch(value.strip()) if isinstance(value, str) else None
        if m is None:
            key = next((p for p in reversed(loc) if isinstance(p, str)), "secret")
            if loc[:2] == ("treasury", "accounts"):
                owner = str(loc[2])
            else:
                owner = self.venue_name if loc[0] == "venue" else str(loc[0])
            var = env_name_for(owner, key)
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
