"""The JSON Schema (draft 2020-12) of each MQTT topic's payload, one file per topic.

``risk/rejects`` is ``risk_rejects.json`` and ``control/reply`` is
``control_reply.json``; ``control.json`` describes a command (plain or signed).
The files are the contract: ``load(kind)`` reads one, and the tests validate
every message a paper run publishes against them.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from botkit.ops.topics import KINDS, schema_name


@cache
def load(kind: str) -> dict[str, Any]:
    """The schema of a topic kind (``"fills"``, ``"risk/rejects"``, ``"control/reply"``...)."""
    if kind not in KINDS:
        raise KeyError(f"no topic kind {kind!r}; kinds: {', '.join(KINDS)}")
    text = files(__name__).joinpath(f"{schema_name(kind)}.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


__all__ = ["load"]
