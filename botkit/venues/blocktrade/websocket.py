"""BlockTrade websocket client: connect, subscribe, keep alive, reconnect.

The venue has one endpoint for every channel (``/ws/v1/notification`` on the
REST host). Subscriptions are JSON objects such as ``{"subscribe_order_book":
{"trading_pair_id": 1}}``; nothing arrives until one is sent.

* Keep-alive: the venue closes a session idle for more than 60 s and points to
  RFC 6455 pings, so the client pings every ``heartbeat_s`` (20 s by default);
  a missing pong ends the connection, which then reconnects.
* Reconnect: any drop (close, error, heartbeat timeout, refused handshake that
  is not an authentication failure) reconnects with exponential backoff. The
  subscriptions are rebuilt for every connection by a callback, so a caller can
  resume (user trades from the last seen trade time). Every new connection is
  announced with a ``Connected`` marker before its messages, so callers know a
  book's next message is a full snapshot again.
* Frames are decoded by ``kit.parsing.decode_json``: one that is not JSON (or
  nests too deep, or is not valid text) is logged and skipped.
* Authentication for private channels: signed ``X-Api-Key``/``X-Nonce``/
  ``X-Signature`` headers on the handshake (``signed=True``; the nonce is drawn
  inside the REST client's private slot so it stays in order with REST calls),
  or an ``auth_token`` the caller puts in the subscription. A refused handshake
  (401/403) is retried once with a fresh nonce, then raised as ``AuthError``; an
  ``error`` message saying the session is unauthenticated raises ``AuthError``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from botkit import latency
from botkit.venues.blocktrade.options import DEFAULT_WS_PATH
from botkit.venues.blocktrade.parsing import VENUE, classify_error
from botkit.venues.blocktrade.rest import BlockTradeRest
from botkit.venues.kit.errors import AuthError, ParseError, error_fields
from botkit.venues.kit.parsing import decode_json

__all__ = ["DEFAULT_WS_PATH", "BlockTradeWebsocket", "Connected", "ws_url_for"]

log = logging.getLogger("botkit.venues.blocktrade.websocket")

Subscriptions = Callable[[], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class Connected:
    """A new connection is up and subscribed (``n`` counts connections, from 1)."""

    n: int


def ws_url_for(base_url: str, ws_url: str | None, ws_path: str = DEFAULT_WS_PATH) -> str:
    """The websocket URL: ``ws_url`` (its path defaulting to the venue's), else the
    REST host's with ws/wss for http/https ("the same hostname as REST API")."""
    if ws_url is None:
        parts = urlsplit(base_url)
        scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
        return urlunsplit((scheme, parts.netloc, ws_path, "", ""))
    parts = urlsplit(ws_url)
    if parts.path in ("", "/"):
        return urlunsplit((parts.scheme, parts.netloc, ws_path, parts.query, ""))
    return ws_url


def _unauthenticated(message: object) -> str | None:
    """The text of an ``error`` message that refuses authentication, else None."""
    if not isinstance(message, dict) or message.get("message_type") != "error":
        return None
    _, text = error_fields(message.get("payload") or message)
    low = (text or "").lower()
    if "unauth" in low or "auth_token" in low or "forbidden" in low:
        return text
    return None


class BlockTradeWebsocket:
    """Streams decoded messages from one endpoint, reconnecting by itself."""

    def __init__(
        self,
        url: str,
        rest: BlockTradeRest,
        *,
        heartbeat_s: float | None = 20.0,
        backoff_s: tuple[float, float] = (0.2, 5.0),
        connect_timeout_s: float = 10.0,
        auth_retries: int = 1,
    ) -> None:
        self.url = url
        self.rest = rest
        self.heartbeat_s = heartbeat_s
        self.backoff_s = backoff_s
        self.connect_timeout_s = connect_timeout_s
        self.auth_retries = auth_retries
        self.connections = 0  # connections made, over the client's life (for tests/metrics)

    async def _connect(self, signed: bool) -> aiohttp.ClientWebSocketResponse:
        session = self.rest.session
        kwargs: dict[str, Any] = {
            "heartbeat": self.heartbeat_s,
            "timeout": aiohttp.ClientWSTimeout(ws_close=self.connect_timeout_s),
        }
        connect = asyncio.timeout(self.connect_timeout_s)
        if not signed:
            async with connect:
                return await session.ws_connect(self.url, **kwargs)
        async with self.rest.private_slot() as sign, connect:
            return await session.ws_connect(self.url, headers=sign(None), **kwargs)

    async def stream(
        self, subscriptions: Subscriptions, *, signed: bool = False
    ) -> AsyncIterator[Any]:
        """``Connected`` markers and decoded JSON messages, forever (until cancelled or
        an authentication failure)."""
        failures = 0
        auth_failures = 0
        while True:
            try:
                ws = await self._connect(signed)
            except aiohttp.WSServerHandshakeError as err:
                if err.status in (401, 403):
                    auth_failures += 1
                    if auth_failures > self.auth_retries:
                        raise classify_error(err.status, {"message": err.message}) from err
                log.warning("websocket handshake refused (%s); retrying", err.status)
                await self._pause(failures)
                failures += 1
                continue
            except (aiohttp.ClientError, OSError, TimeoutError) as err:
                log.info("websocket connect failed (%s); retrying", err)
                await self._pause(failures)
                failures += 1
                continue
            auth_failures = 0
            self.connections += 1
            try:
                for sub in await subscriptions():
                    await ws.send_str(json.dumps(sub))
                yield Connected(self.connections)
                async for msg in ws:
                    if latency.probe is not None:
                        latency.received()  # the earliest point botkit sees the frame
                    if msg.type is aiohttp.WSMsgType.TEXT:
                        try:
                            data = decode_json(msg.data, VENUE, "ws_message")
                        except ParseError as err:
                            # One unreadable frame is skipped; the stream goes on.
                            log.warning("websocket: %s", err)
                            continue
                        refused = _unauthenticated(data)
                        if refused is not None:
                            raise AuthError(VENUE, refused)
                        failures = 0
                        yield data
                    elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                        break
            except (aiohttp.ClientError, OSError, TimeoutError) as err:
                log.info("websocket dropped (%s); reconnecting", err)
            finally:
                if not ws.closed:
                    await ws.close()
            log.info("websocket closed (code %s); reconnecting", ws.close_code)
            await self._pause(failures)
            failures += 1

    async def _pause(self, failures: int) -> None:
        lo, hi = self.backoff_s
        await asyncio.sleep(min(hi, lo * (2**failures)) if failures else lo / 4)
