"""The topics of one bot: everything lives under ``<prefix>/<bot_id>/``."""

from __future__ import annotations

from dataclasses import dataclass

# Topic kinds (the last levels after <prefix>/<bot_id>/), each with a JSON Schema file
# of the same name in botkit/ops/schemas/ ("/" becomes "_").
ORDERS = "orders"
FILLS = "fills"
POSITIONS = "positions"
PNL = "pnl"
REJECTS = "risk/rejects"
LOG = "log"
STATUS = "status"
CONTROL = "control"
REPLY = "control/reply"

TELEMETRY = (ORDERS, FILLS, POSITIONS, PNL, REJECTS, LOG, STATUS)
KINDS = (*TELEMETRY, CONTROL, REPLY)


def schema_name(kind: str) -> str:
    """The schema file's stem for a topic kind: ``risk/rejects`` -> ``risk_rejects``."""
    return kind.replace("/", "_")


@dataclass(frozen=True)
class Topics:
    """The full topic names of one bot."""

    prefix: str
    bot_id: str

    @property
    def root(self) -> str:
        return f"{self.prefix}/{self.bot_id}"

    def of(self, kind: str) -> str:
        """``of("fills")`` -> ``botkit/<bot_id>/fills``."""
        return f"{self.root}/{kind}"

    @property
    def everything(self) -> str:
        """The filter matching every topic of this bot (``botkit/<bot_id>/#``)."""
        return f"{self.root}/#"

    def kind_of(self, topic: str) -> str | None:
        """The kind of one of this bot's topics, or None for another topic."""
        head = self.root + "/"
        if not topic.startswith(head):
            return None
        kind = topic[len(head) :]
        return kind if kind in KINDS else None


__all__ = [
    "CONTROL",
    "FILLS",
    "KINDS",
    "LOG",
    "ORDERS",
    "PNL",
    "POSITIONS",
    "REJECTS",
    "REPLY",
    "STATUS",
    "TELEMETRY",
    "Topics",
    "schema_name",
]
