"""The topics: a bot's under ``<prefix>/<bot_id>/``, a market data feed's under
``<prefix>/feed/<venue>/`` (:class:`FeedTopics`)."""

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
REPORT = "report/daily"

TELEMETRY = (ORDERS, FILLS, POSITIONS, PNL, REJECTS, LOG, STATUS)
KINDS = (*TELEMETRY, CONTROL, REPLY, REPORT)
# Sent at QoS 1 at least (the publisher's second lane): what a consumer must not miss.
AT_LEAST_ONCE = frozenset({FILLS, REPORT})

# The market data feed (``botkit feed``): <prefix>/feed/<venue>/<symbol level>/<stream>,
# one stream per kind of market event, each with its own sequence numbers.
FEED = "feed"
TRADES = "trades"
BOOK = "book"
TICKER = "ticker"
BARS = "bars"
STREAMS = (TRADES, BOOK, TICKER, BARS)
BOOK_REQUEST = "book/request"  # a consumer asks for a book snapshot (one per symbol)
# Schema kinds of the feed's payloads: load("feed/book") is feed_book.json.
FEED_KINDS = tuple(f"{FEED}/{k}" for k in (*STREAMS, BOOK_REQUEST, STATUS))
# Characters no topic level may hold: "/" separates levels, "+" and "#" are wildcards.
_NOT_IN_LEVEL = ("+", "#", "\x00")


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


def symbol_level(symbol: str) -> str:
    """A symbol as one topic level: ``BTC/USDT`` -> ``BTC-USDT`` (payloads carry the symbol
    as it is). Raises ``ValueError`` for a symbol no topic level can hold."""
    level = symbol.replace("/", "-")
    if not level or any(c in level for c in _NOT_IN_LEVEL):
        raise ValueError(
            f"{symbol!r} cannot be an MQTT topic level (no '+', '#' or NUL, not empty)"
        )
    return level


@dataclass(frozen=True)
class FeedTopics:
    """The topics of one venue's market data feed, under ``<prefix>/feed/<venue>/``."""

    prefix: str
    venue: str

    @property
    def root(self) -> str:
        return f"{self.prefix}/{FEED}/{self.venue}"

    def of(self, kind: str) -> str:
        """``of("status")``, or ``of("BTC-USDT/book")`` (a symbol level and a stream)."""
        return f"{self.root}/{kind}"

    def stream(self, symbol: str, stream: str) -> str:
        """``stream("BTC/USDT", "book")`` -> ``botkit/feed/blocktrade/BTC-USDT/book``."""
        return f"{self.root}/{symbol_level(symbol)}/{stream}"

    def request(self, symbol: str) -> str:
        """Where a consumer asks for a fresh snapshot of ``symbol``'s book."""
        return self.stream(symbol, BOOK_REQUEST)

    @property
    def requests(self) -> str:
        """The filter matching every symbol's request topic (what the feed subscribes to)."""
        return f"{self.root}/+/{BOOK_REQUEST}"

    @property
    def status(self) -> str:
        return self.of(STATUS)

    @property
    def everything(self) -> str:
        return f"{self.root}/#"

    def parse(self, topic: str) -> tuple[str, str] | None:
        """``(symbol level, stream)`` of one of this feed's stream or request topics."""
        head = self.root + "/"
        if not topic.startswith(head):
            return None
        level, _, stream = topic[len(head) :].partition("/")
        if not level or stream not in (*STREAMS, BOOK_REQUEST):
            return None
        return level, stream


__all__ = [
    "AT_LEAST_ONCE",
    "BARS",
    "BOOK",
    "BOOK_REQUEST",
    "CONTROL",
    "FEED",
    "FEED_KINDS",
    "FILLS",
    "KINDS",
    "LOG",
    "ORDERS",
    "PNL",
    "POSITIONS",
    "REJECTS",
    "REPLY",
    "REPORT",
    "STATUS",
    "STREAMS",
    "TELEMETRY",
    "TICKER",
    "TRADES",
    "FeedTopics",
    "Topics",
    "schema_name",
    "symbol_level",
]
