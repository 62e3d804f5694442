"""Alpha5 REST client: one aiohttp session, the documented paths, typed errors.

Every parameter goes in the query string (``auth.query_params``), POSTs
included, as the document lists them all ``in: query``. Private calls
(``/account/...``) carry ``Authorization: Bearer <token>`` when a token is
configured (the document says "None"; see ``auth``).

The base URL is the document's ``https://<host>/v1``; a base URL given without
a path (``http://127.0.0.1:8080``) gets ``/v1`` appended, so the simulator's
``base_url`` and the venue's documented one both work.

Replies are unwrapped from ``{"result": ...}`` when enveloped. An HTTP error, or
a 2xx whose body is an error object, becomes a ``VenueError`` through
``parsing.classify_error`` (5xx: ``VenueUnavailable``, ambiguous). Timeouts and
connection errors propagate as ``asyncio.TimeoutError``/``aiohttp.ClientError``,
which the live gateway treats as ambiguous.

Alpha5 has no request nonce; the constructor still takes a ``NonceSource`` so
every venue's client is built the same way (it is kept, never used).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from botkit.venues.alpha5.auth import auth_headers, query_params
from botkit.venues.alpha5.parsing import ENVELOPES, classify_error
from botkit.venues.kit.errors import parse_retry_after
from botkit.venues.kit.nonce import ClockNonce, NonceSource

__all__ = ["DEFAULT_PREFIX", "Alpha5Rest"]

DEFAULT_PREFIX = "/v1"


def _base(url: str, prefix: str) -> str:
    url = url.rstrip("/")
    if urlsplit(url).path in ("", "/"):
        url += prefix
    return url


def _is_error_body(body: object) -> bool:
    return (
        isinstance(body, Mapping)
        and body.get("error") not in (None, False, "")
        and ("result" not in body)
    )


class Alpha5Rest:
    """Async client for the Alpha5 endpoints the adapter uses."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        nonce: NonceSource | None = None,
        timeout_s: float = 10.0,
        prefix: str = DEFAULT_PREFIX,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base_url = _base(base_url, prefix)
        self._auth = auth_headers(token)  # validates the token once, up front
        self.nonce = nonce or ClockNonce()  # unused: Alpha5 takes no nonce
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session = session
        self._own_session = session is None

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
            self._own_session = True
        return self._session

    async def close(self) -> None:
        if self._session is not None and self._own_session and not self._session.closed:
            await self._session.close()
        self._session = None

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | None = None,
        *,
        private: bool = False,
    ) -> Any:
        """One call; the decoded result (envelope removed) or a typed VenueError."""
        session = await self._get_session()
        headers = {"Accept": "application/json", **(self._auth if private else {})}
        async with session.request(
            method,
            self.base_url + path,
            params=query_params(params or {}),
            headers=headers,
        ) as resp:
            text = await resp.text()
            status = resp.status
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        try:
            body: object = json.loads(text) if text else None
        except ValueError:
            body = text  # a proxy's HTML error page, say
        if status >= 400:
            raise classify_error(status, body, retry_after=retry_after)
        if _is_error_body(body):
            raise classify_error(status, body, retry_after=retry_after)
        if isinstance(body, Mapping):
            for key in ENVELOPES:
                if key in body:
                    return body[key]
        return body

    # ----- public -------------------------------------------------------------------------

    async def assets(self) -> Any:
        return await self.request("GET", "/public/get_assets")

    async def live_contracts(self, asset: str | None = None, kind: str | None = None) -> Any:
        return await self.request(
            "GET", "/public/get_live_contracts", {"asset": asset, "type": kind}
        )

    async def ticker(self, contract_symbol: str) -> Any:
        return await self.request("GET", "/public/ticker", {"contract_symbol": contract_symbol})

    async def order_book(self, contract_symbol: str, depth: int | None = None) -> Any:
        return await self.request(
            "GET", "/public/order_book", {"contract_symbol": contract_symbol, "depth": depth}
        )

    async def recent_trades(self, asset: str, count: int | None = None) -> Any:
        return await self.request("GET", "/public/recent_trades", {"asset": asset, "count": count})

    # ----- trading ------------------------------------------------------------------------

    async def place_order(self, params: Mapping[str, object]) -> Any:
        return await self.request("POST", "/account/place_order", params, private=True)

    async def edit_order(self, order_id: str, size: object = None, price: object = None) -> Any:
        return await self.request(
            "GET",
            "/account/edit_order",
            {"order_id": order_id, "size": size, "price": price},
            private=True,
        )

    async def cancel_order(self, order_id: str) -> Any:
        return await self.request(
            "GET", "/account/cancel_order", {"order_id": order_id}, private=True
        )

    async def cancel_all_open_orders(self, asset: str, contract_symbol: str) -> Any:
        return await self.request(
            "GET",
            "/account/cancel_all_open_orders",
            {"asset": asset, "contract_symbol": contract_symbol},
            private=True,
        )

    async def open_orders(self, asset: str, contract_symbol: str, kind: str | None = None) -> Any:
        return await self.request(
            "GET",
            "/account/get_open_orders",
            {"asset": asset, "contract_symbol": contract_symbol, "type": kind},
            private=True,
        )

    async def order_history(self, asset: str) -> Any:
        return await self.request(
            "GET", "/account/get_order_history", {"asset": asset}, private=True
        )

    async def user_trades(self, order_id: str | None = None) -> Any:
        return await self.request(
            "GET", "/account/get_user_trades", {"order_id": order_id}, private=True
        )

    # ----- account ------------------------------------------------------------------------

    async def positions(self, asset: str, contract_symbol: str) -> Any:
        return await self.request(
            "GET",
            "/account/get_positions",
            {"asset": asset, "contract_symbol": contract_symbol},
            private=True,
        )

    async def close_position(self, order_id: str, price: object = None) -> Any:
        return await self.request(
            "GET", "/account/close_position", {"order_id": order_id, "price": price}, private=True
        )

    async def wallet_balances(self, asset: str | None = None) -> Any:
        return await self.request("GET", "/account/wallet_balances", {"asset": asset}, private=True)
