"""One websocket connection of a venue's simulator: queueing, faults, liveness.

A venue subclasses :class:`WsSession` with its channels (``on_text`` for the
client's messages, ``on_event`` for the backend's events) and calls
:meth:`WsSession.serve` from its websocket route. The session then:

* sends queued messages in order from one task (``send``);
* batches account messages per loop turn and passes each batch through the
  faults' ``mangle`` (``send_account``), so duplicates and reorders happen
  across messages as on a flaky stream;
* closes the connection every ``faults.drop_ws_every_s`` (code 1001);
* closes a session that sent no frame for ``idle_timeout_s`` (pings count);
* reads client text through the strict JSON decoder (``kit.request``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from botkit.simulator.kit.request import Refusal, decode_json

if TYPE_CHECKING:
    from botkit.simulator.kit.server import VenueServer

__all__ = ["WsSession"]

_CLOSING = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR)
MAX_MESSAGE_CHARS = 65536


class WsSession:
    """One connection; subclass with the venue's channels."""

    def __init__(self, server: VenueServer) -> None:
        self.server = server
        # Pings are answered by hand: a ping is activity that keeps the session alive.
        self.ws = web.WebSocketResponse(autoping=False, max_msg_size=4 * MAX_MESSAGE_CHARS)
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self._account: list[str] = []
        self._flush_scheduled = False
        self.opened = time.monotonic()

    # ----- what a venue supplies ------------------------------------------------------

    def on_message(self, message: Any) -> None:
        """One decoded client message."""

    def on_bad_message(self, reason: str) -> None:
        """A client message that is not JSON (or too large, too deep...)."""

    def on_event(self, kind: str, payload: Any) -> None:
        """A backend event (``ExchangeBackend``'s kinds)."""

    # ----- sending --------------------------------------------------------------------

    def send(self, message: object) -> None:
        self.queue.put_nowait(json.dumps(message))

    def send_account(self, message: object) -> None:
        """An account message: batched per loop turn, then duplicated/reordered by faults."""
        self._account.append(json.dumps(message))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_account)

    def _flush_account(self) -> None:
        self._flush_scheduled = False
        batch, self._account = self._account, []
        for text in self.server.backend.faults.mangle(batch):
            self.queue.put_nowait(text)

    async def _sender(self) -> None:
        faults = self.server.backend.faults
        while not self.ws.closed:
            timeout = 0.5
            if faults.drop_ws_every_s:
                left = self.opened + faults.drop_ws_every_s - time.monotonic()
                if left <= 0:
                    await self.ws.close(code=1001, message=b"connection dropped")
                    return
                timeout = min(timeout, left)
            try:
                text = await asyncio.wait_for(self.queue.get(), timeout)
            except TimeoutError:
                continue
            await self.ws.send_str(text)

    # ----- the connection -------------------------------------------------------------

    def _received(self, text: str) -> None:
        if len(text) > MAX_MESSAGE_CHARS:
            self.on_bad_message("message too large")
            return
        try:
            message = decode_json(text)
        except Refusal as refusal:
            self.on_bad_message(refusal.message)
            return
        self.on_message(message)

    async def serve(self, request: web.Request, idle_timeout_s: float) -> web.WebSocketResponse:
        """Run the connection until either side closes it."""
        ws = self.ws
        await ws.prepare(request)
        self.server.sessions.add(self)
        sender = asyncio.get_running_loop().create_task(self._sender())
        try:
            while not ws.closed:
                try:
                    msg = await ws.receive(timeout=idle_timeout_s)
                except TimeoutError:
                    await ws.close(code=1000, message=b"inactive session")
                    break
                if msg.type == WSMsgType.TEXT:
                    self._received(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    self.on_bad_message("binary frames are not understood")
                elif msg.type == WSMsgType.PING:
                    await ws.pong(msg.data)
                elif msg.type in _CLOSING:
                    break
        finally:
            self.server.sessions.discard(self)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
            if not ws.closed:
                await ws.close()
        return ws
