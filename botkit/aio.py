"""The event loop of a live or paper run: uvloop when it is installed, else asyncio's.

uvloop is an optional extra (``pip install -e '.[fast]'``); ``BOTKIT_LOOP``
(``auto``, the default, ``uvloop`` or ``asyncio``) overrides the choice, e.g.
``BOTKIT_LOOP=asyncio botkit run bot.yaml`` to compare.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

__all__ = ["LoopKind", "event_loop_name", "loop_factory", "new_event_loop", "run"]

T = TypeVar("T")
LoopKind = Literal["auto", "uvloop", "asyncio"]
KINDS: tuple[str, ...] = ("auto", "uvloop", "asyncio")


def _kind(kind: str | None) -> str:
    chosen = kind if kind is not None else os.environ.get("BOTKIT_LOOP", "auto")
    chosen = chosen.strip().lower() or "auto"
    if chosen not in KINDS:
        raise ValueError(f"BOTKIT_LOOP must be one of {', '.join(KINDS)}, got {chosen!r}")
    return chosen


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop  # type: ignore[no-any-return]


def loop_factory(kind: str | None = None) -> Callable[[], asyncio.AbstractEventLoop]:
    """The factory of the chosen loop: ``uvloop`` (an ImportError if not installed),
    ``asyncio``, or ``auto`` (uvloop when installed); None reads ``BOTKIT_LOOP``."""
    chosen = _kind(kind)
    if chosen == "asyncio":
        return asyncio.new_event_loop
    factory = _uvloop_factory()
    if factory is None:
        if chosen == "uvloop":
            raise ImportError("uvloop is not installed (pip install 'botkit[fast]')")
        return asyncio.new_event_loop
    return factory


def event_loop_name(kind: str | None = None) -> str:
    """``uvloop`` or ``asyncio``: what ``loop_factory(kind)`` makes."""
    return "asyncio" if loop_factory(kind) is asyncio.new_event_loop else "uvloop"


def new_event_loop(kind: str | None = None) -> asyncio.AbstractEventLoop:
    return loop_factory(kind)()


def run(main: Coroutine[Any, Any, T], kind: str | None = None) -> T:
    """``asyncio.run(main)`` on the chosen loop."""
    with asyncio.Runner(loop_factory=loop_factory(kind)) as runner:
        return runner.run(main)
