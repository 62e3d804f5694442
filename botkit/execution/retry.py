"""When to try again, and how long to wait first.

``Backoff`` doubles a delay from ``low`` up to ``high`` seconds per attempt and
honours a venue's ``Retry-After``. ``TRANSIENT`` are the failures of the
transport itself (timeouts, resets, refused connections): a state-changing
request that met one may or may not have taken effect, exactly like a 5xx
(``VenueError.ambiguous``), so it is never called a refusal.
"""

from __future__ import annotations

import asyncio

import aiohttp

from botkit.venues.kit.errors import ParseError, RateLimited

TRANSIENT: tuple[type[BaseException], ...] = (
    asyncio.TimeoutError,
    aiohttp.ClientError,
    ConnectionError,
)


class Backoff:
    """Exponential delays: ``min(high, low * 2**attempt)``, at least a venue's Retry-After."""

    __slots__ = ("high", "low")

    def __init__(self, low: float = 0.2, high: float = 5.0) -> None:
        self.low = low
        self.high = high

    def delay(self, attempt: int, err: BaseException | None = None) -> float:
        delay = min(self.high, self.low * (2 ** min(attempt, 30)))
        if isinstance(err, RateLimited) and err.retry_after:
            delay = max(delay, err.retry_after)
        return delay

    async def pause(self, attempt: int, err: BaseException | None = None) -> None:
        await asyncio.sleep(self.delay(attempt, err))


def describe(err: BaseException) -> str:
    """One line about an error; a parse error names the venue, the payload and the field."""
    if isinstance(err, ParseError):
        return f"unreadable {err.kind} from {err.venue}: field {err.field}: {err.detail}"
    return str(err) or type(err).__name__


__all__ = ["TRANSIENT", "Backoff", "describe"]
