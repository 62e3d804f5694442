"""Which values in bot.yaml are secrets, and how they are named in the environment.

A key whose name ends in ``key``, ``secret``, ``token``, ``password`` or
``passphrase`` names a secret. Under ``venue:`` such a value must be written as
``${VAR}`` (``botkit.config.env`` enforces it) and becomes a
:class:`botkit.redact.Secret`; anywhere else it is only masked when the config
is printed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from botkit.redact import MASK, Secret

SECRET_SUFFIXES = ("key", "secret", "token", "password", "passphrase")


def is_secret_key(key: object) -> bool:
    """Whether a key names a secret: ``api_key``, ``apiSecret``, ``token``, ..."""
    return isinstance(key, str) and key.lower().endswith(SECRET_SUFFIXES)


def env_name_for(venue: str, key: str) -> str:
    """The environment variable a message suggests for a venue's secret: ``ALP_API_KEY``."""
    return re.sub(r"[^A-Za-z0-9]+", "_", f"{venue}_{key}").strip("_").upper()


def collect_secrets(node: Any, found: list[Secret]) -> None:
    """Append every :class:`Secret` in a nest of mappings and lists to ``found``, once each."""
    if isinstance(node, Secret):
        if node not in found:
            found.append(node)
    elif isinstance(node, Mapping):
        for v in node.values():
            collect_secrets(v, found)
    elif isinstance(node, list | tuple):
        for v in node:
            collect_secrets(v, found)


def mask_secret_keys(node: Any) -> Any:
    """A JSON-ready dump with the value under every secret-named key shown as ``***``."""
    if isinstance(node, dict):
        return {
            k: (MASK if is_secret_key(k) and v is not None else mask_secret_keys(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [mask_secret_keys(v) for v in node]
    return node
