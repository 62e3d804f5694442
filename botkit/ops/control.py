"""Reading a control command, checking who sent it, and the reply.

A command is one JSON object on ``<prefix>/<bot_id>/control``::

    {"id": "c-42", "command": "pause", "args": {"strategy": "maker"}, "ts": 1723118400.5}

``id`` is the correlation id (1 to 128 characters), echoed in the reply on
``.../control/reply``; ``args`` is optional; ``ts`` (Unix seconds) is required
when commands are signed. With a signing secret configured the object travels
inside the signed envelope of :mod:`botkit.ops.signing`, and a command is
refused, changing nothing, when:

- it is not signed, or its HMAC does not match (``bad_signature``);
- its ``ts`` is further than ``signing_window`` from the bot's clock (``stale``);
- its ``id`` was already accepted within the window (``replayed``).

Anything unreadable is answered with ``malformed`` and never raises: a broken or
hostile message costs one error reply. Who may publish on the topic at all is
the broker's business (credentials and ACLs, docs/operations.md).
"""

from __future__ import annotations

import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botkit.ops.signing import verify
from botkit.redact import Secret

MAX_PAYLOAD = 64 * 1024
MAX_ID = 128
FIELDS = ("id", "command", "args", "ts")


class Refused(Exception):
    """A command that will not be carried out: ``code``, a message, and the id if known."""

    def __init__(self, code: str, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True)
class Command:
    id: str
    command: str
    args: dict[str, Any] = field(default_factory=dict)
    ts: float | None = None


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise Refused("malformed", f"{what} is not JSON") from None


def _peek_id(obj: Any) -> str | None:
    """The correlation id of an object not yet trusted (for the error reply only)."""
    rid = obj.get("id") if isinstance(obj, dict) else None
    return rid if isinstance(rid, str) and 0 < len(rid) <= MAX_ID else None


class ControlReader:
    """Turns raw control messages into commands, or :class:`Refused`.

    ``secret``: commands must be signed with it; ``window_s``: how far a signed
    command's ``ts`` may be from ``clock()``.
    """

    def __init__(
        self,
        secret: Secret | None = None,
        window_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secret = secret
        self.window_s = window_s
        self.clock = clock
        self._accepted: OrderedDict[str, float] = OrderedDict()  # id -> when, signed only

    def read(self, payload: bytes) -> Command:
        if len(payload) > MAX_PAYLOAD:
            raise Refused("malformed", f"the command is over {MAX_PAYLOAD} bytes")
        obj = _json(payload, "the command")
        if self.secret is not None:
            obj = self._unseal(obj)
        command = self._parse(obj)
        if self.secret is not None:
            self._check_fresh(command)
        return command

    def _unseal(self, envelope: Any) -> Any:
        if not isinstance(envelope, dict):
            raise Refused("malformed", "a command is a JSON object")
        if set(envelope) != {"body", "hmac"}:
            raise Refused(
                "bad_signature",
                'commands to this bot must be signed: {"body": "<command JSON>", '
                '"hmac": "<hex HMAC-SHA256 of body>"}',
                _peek_id(envelope),
            )
        body, signature = envelope["body"], envelope["hmac"]
        if not isinstance(body, str) or not isinstance(signature, str):
            raise Refused("bad_signature", "body and hmac must be strings")
        raw = body.encode()
        obj = _json(raw, "the signed body")
        assert self.secret is not None
        if not verify(raw, signature, self.secret):
            raise Refused("bad_signature", "the signature does not match", _peek_id(obj))
        return obj

    def _parse(self, obj: Any) -> Command:
        if not isinstance(obj, dict):
            raise Refused("malformed", "a command is a JSON object with id and command")
        rid = _peek_id(obj)
        if rid is None:
            raise Refused("malformed", f"id must be a string of 1 to {MAX_ID} characters")
        extra = sorted(set(obj) - set(FIELDS))
        if extra:
            raise Refused(
                "malformed",
                f"unknown field(s) {', '.join(map(str, extra))}; a command has {', '.join(FIELDS)}",
                rid,
            )
        command = obj.get("command")
        if not isinstance(command, str) or not command:
            raise Refused("malformed", "command must be a command name", rid)
        args = obj.get("args", {})
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise Refused("malformed", "args must be a JSON object", rid)
        ts = obj.get("ts")
        if ts is not None and (
            isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts)
        ):
            raise Refused("malformed", "ts must be Unix time in seconds", rid)
        return Command(rid, command, args, None if ts is None else float(ts))

    def _check_fresh(self, cmd: Command) -> None:
        now = self.clock()
        if cmd.ts is None:
            raise Refused("stale", "a signed command needs ts (Unix seconds)", cmd.id)
        if abs(now - cmd.ts) > self.window_s:
            raise Refused(
                "stale",
                f"ts is {now - cmd.ts:+.1f}s from the bot's clock; at most "
                f"{self.window_s:g}s is accepted",
                cmd.id,
            )
        accepted = self._accepted
        while accepted and next(iter(accepted.values())) < now - 2 * self.window_s:
            accepted.popitem(last=False)
        if cmd.id in accepted:
            raise Refused("replayed", "a command with this id was already carried out", cmd.id)
        accepted[cmd.id] = now


def reply(
    request_id: str | None,
    command: str | None,
    state: str,
    result: dict[str, Any] | None = None,
    error: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The reply body: ``ok`` with a ``result``, or an ``error`` with code and message."""
    return {
        "id": request_id,
        "command": command,
        "ok": error is None,
        "state": state,
        "result": result if error is None else None,
        "error": None if error is None else {"code": error[0], "message": error[1]},
    }


__all__ = ["MAX_PAYLOAD", "Command", "ControlReader", "Refused", "reply"]
