"""The JSON Schema (draft 2020-12) of each MQTT topic's payload, one file per topic.

``risk/rejects`` is ``risk_rejects.json`` and ``control/reply`` is
``control_reply.json``; ``control.json`` describes a command (plain or signed);
``report/daily`` is ``report_daily.json``. The market data feed's payloads are
``feed/<stream>`` (``feed_trades.json``, ``feed_book.json``, ``feed_ticker.json``,
``feed_bars.json``), ``feed/book/request`` and ``feed/status``. The files are
the contract: ``load(kind)`` reads one, and the tests validate every message a
paper run and a feed publish against them.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from botkit.ops.topics import FEED_KINDS, KINDS, schema_name

ALL_KINDS = (*KINDS, *FEED_KINDS)


@cache
def load(kind: str) -> dict[str, Any]:
    """The schema of a topic kind (``"fills"``, ``"risk/rejects"``, ``"feed/book"``...)."""
    if kind not in ALL_KINDS:
        raise KeyError(f"no topic kind {kind!r}; kinds: {', '.join(ALL_KINDS)}")
    text = files(__name__).joinpath(f"{schema_name(kind)}.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


__all__ = ["ALL_KINDS", "load"]
