"""Alpha5 REST client: one aiohttp session, the documented paths, typed errors.

Two documents spell the private calls differently; ``api`` picks one:

* ``"v1.0.0"`` (default, the published document): ``place_order``,
  ``edit_order``, ``cancel_order``, ``cancel_all_open_orders`` and
  ``close_position`` are POSTs with a JSON body; ``close_position`` is keyed by
  ``contract_symbol``; cancel-all's filters are all optional (only the contract
  is sent); ``get_open_orders`` and ``get_order_history`` are paged
  (``page_size``/``current_page`` in, ``X-Pagination-Total-Count`` out; without
  that header the reply is taken as complete); ``get_open_orders`` is sent
  without its optional ``asset``.
* ``"seed"`` (document 000): every parameter in the query string; cancel,
  edit, cancel-all and close-position are GETs, place_order a POST;
  ``close_position`` is keyed by an ``order_id``; cancel-all and open orders
  need ``asset`` and ``contract_symbol``.

Private calls (``/account/...``) carry ``Authorization: Bearer <token>`` when a
token is configured (see ``auth``). The base URL is the document's
``https://<host>/v1``; a base URL given without a path gets ``/v1`` appended.

Replies are decoded defensively: a body that is not text in its charset, not
JSON, nested too deep or holding a number beyond range is a ``ParseError``
naming the endpoint (never a ``UnicodeDecodeError``/``RecursionError``/
``InvalidOperation``). JSON numbers are decoded as Decimal, exactly. Replies
are unwrapped from ``{"result": ...}`` when enveloped (an older reading). An
HTTP error, or a 2xx whose body is an error object, becomes a ``VenueError``
through ``parsing.classify_error`` (5xx: ``VenueUnavailable``, ambiguous).
Timeouts and connection errors propagate as ``TimeoutError``/
``aiohttp.ClientError``, which the live gateway treats as ambiguous.

Alpha5 has no request nonce; the constructor still takes a ``NonceSource`` so
every venue's client is built the same way (it is kept, never used).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

import aiohttp

from botkit.redact import Secret
from botkit.venues.alpha5.auth import auth_headers, json_params, query_params
from botkit.venues.alpha5.parsing import ENVELOPES, VENUE, classify_error
from botkit.venues.kit.errors import ParseError, VenueError, parse_retry_after
from botkit.venues.kit.nonce import ClockNonce, NonceSource

__all__ = ["DEFAULT_PREFIX", "Alpha5Rest", "Api", "decode_body"]

DEFAULT_PREFIX = "/v1"
Api = Literal["v1.0.0", "seed"]
APIS: tuple[str, ...] = get_args(Api)
TOTAL_HEADER = "X-Pagination-Total-Count"
MAX_PAGES = 100  # a bound on paging, against a venue that never says it is done


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


def decode_body(raw: bytes, charset: str | None, endpoint: str) -> object:
    """A reply body as JSON (numbers as Decimal); None when empty; else a ParseError."""
    try:
        text = raw.decode(charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        raise ParseError(VENUE, endpoint, "<body>", f"not text in charset {charset!r}") from None
    if not text.strip():
        return None
    try:
        return json.loads(text, parse_float=Decimal)
    except RecursionError:
        raise ParseError(VENUE, endpoint, "<body>", "JSON nested too deep") from None
    except (ValueError, ArithmeticError) as err:
        raise ParseError(VENUE, endpoint, "<body>", f"not JSON: {str(err)[:80]}") from None


def _error(status: int, raw: bytes, charset: str | None, retry_after: float | None) -> VenueError:
    """The typed error of a refused call, whatever its body looks like."""
    try:
        body: object = decode_body(raw, charset, "error")
    except ParseError:
        body = raw.decode("utf-8", "replace")  # a proxy's HTML error page, say
    return classify_error(status, body, retry_after=retry_after)


def _total(headers: Mapping[str, str]) -> int | None:
    value = headers.get(TOTAL_HEADER)
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


class Alpha5Rest:
    """Async client for the Alpha5 endpoints the adapter uses."""

    def __init__(
        self,
        base_url: str,
        token: str | Secret | None = None,
        *,
        api: Api = "v1.0.0",
        nonce: NonceSource | None = None,
        timeout_s: float = 10.0,
        prefix: str = DEFAULT_PREFIX,
        page_size: int = 100,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if api not in APIS:
            raise ValueError(f"Alpha5 api must be one of {', '.join(APIS)}, got {api!r}")
        if page_size < 1:
            raise ValueError(f"page_size must be >= 1, got {page_size}")
        self.api = api
        self.base_url = _base(base_url, prefix)
        self._auth = auth_headers(token)  # validates the token once, up front
        self.nonce = nonce or ClockNonce()  # unused: Alpha5 takes no nonce
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.page_size = page_size
        self._session = session
        self._own_session = session is None
        self._closed = False

    @property
    def v1(self) -> bool:
        return self.api == "v1.0.0"

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            # A poll still running after close() must not open a session nobody closes.
            raise VenueError(VENUE, "the client is closed")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
            self._own_session = True
        return self._session

    async def reset(self) -> None:
        """Close the session; the next call opens a new one (after a failed connect)."""
        session, self._session = self._session, None
        if session is not None and self._own_session and not session.closed:
            await session.close()

    async def close(self) -> None:
        """Close the session for good; idempotent."""
        self._closed = True
        await self.reset()

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | None,
        body: Mapping[str, object] | None,
        private: bool,
    ) -> tuple[Any, Mapping[str, str]]:
        session = await self._get_session()
        endpoint = path.rsplit("/", 1)[-1]
        headers = {"Accept": "application/json", **(self._auth if private else {})}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(json_params(body), separators=(",", ":"), ensure_ascii=True)
        async with session.request(
            method,
            self.base_url + path,
            params=query_params(params or {}),
            data=data,
            headers=headers,
        ) as resp:
            raw = await resp.read()
            status = resp.status
            charset = resp.charset
            reply_headers = dict(resp.headers)
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        if status >= 400:
            raise _error(status, raw, charset, retry_after)
        decoded = decode_body(raw, charset, endpoint)
        if _is_error_body(decoded):
            raise _error(status, raw, charset, retry_after)
        if isinstance(decoded, Mapping):
            for key in ENVELOPES:
                if key in decoded:
                    return decoded[key], reply_headers
        return decoded, reply_headers

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | None = None,
        *,
        body: Mapping[str, object] | None = None,
        private: bool = False,
    ) -> Any:
        """One call; the decoded result (envelope removed) or a typed VenueError."""
        decoded, _ = await self._send(method, path, params, body, private)
        return decoded

    async def _paged(self, path: str, params: Mapping[str, object]) -> Any:
        """Every page of a v1.0.0 paged list (the seed has no paging: one call)."""
        if not self.v1:
            return await self.request("GET", path, params, private=True)
        out: list[Any] = []
        previous: object = None
        for page in range(1, MAX_PAGES + 1):
            query = {**params, "page_size": self.page_size, "current_page": page}
            items, headers = await self._send("GET", path, query, None, True)
            if not isinstance(items, list):
                if page == 1:
                    return items  # not a list: the parser names what it is
                raise ParseError(VENUE, path.rsplit("/", 1)[-1], "<body>", "a page is not a list")
            total = _total(headers)
            if not items or items == previous:
                break  # an empty page, or a venue that ignores current_page
            out += items
            previous = items
            if total is None or len(out) >= total:
                break
        return out

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

    async def _act(self, path: str, params: Mapping[str, object], seed_method: str) -> Any:
        """A state-changing call: a JSON-body POST (v1.0.0), or the seed's query form."""
        if self.v1:
            return await self.request("POST", path, body=params, private=True)
        return await self.request(seed_method, path, params, private=True)

    async def place_order(self, params: Mapping[str, object]) -> Any:
        return await self._act("/account/place_order", params, "POST")

    async def edit_order(self, order_id: str, size: object = None, price: object = None) -> Any:
        params = {"order_id": order_id, "size": size, "price": price}
        return await self._act("/account/edit_order", params, "GET")

    async def cancel_order(self, order_id: str) -> Any:
        return await self._act("/account/cancel_order", {"order_id": order_id}, "GET")

    async def cancel_all_open_orders(self, asset: str, contract_symbol: str) -> Any:
        # v1.0.0 makes every filter optional: the contract alone says which orders.
        params = {"asset": None if self.v1 else asset, "contract_symbol": contract_symbol}
        return await self._act("/account/cancel_all_open_orders", params, "GET")

    async def open_orders(self, asset: str, contract_symbol: str, kind: str | None = None) -> Any:
        # v1.0.0's asset is optional and its order-type filter is gone.
        params: dict[str, object] = {"contract_symbol": contract_symbol}
        if not self.v1:
            params = {"asset": asset, **params, "type": kind}
        return await self._paged("/account/get_open_orders", params)

    async def order_history(self, asset: str) -> Any:
        return await self._paged("/account/get_order_history", {"asset": asset})

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

    async def close_position(
        self, contract_symbol: str, order_id: str | None = None, price: object = None
    ) -> Any:
        """v1.0.0 closes by ``contract_symbol``; the seed by the id of an order on it."""
        if self.v1:
            params: dict[str, object] = {"contract_symbol": contract_symbol, "price": price}
        else:
            params = {"order_id": order_id, "price": price}
        return await self._act("/account/close_position", params, "GET")

    async def wallet_balances(self, asset: str | None = None) -> Any:
        """The seed's balances call (v1.0.0 documents none)."""
        return await self.request("GET", "/account/wallet_balances", {"asset": asset}, private=True)
