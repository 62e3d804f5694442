"""Alpha5 REST calls on the kit's HTTP core: the documented paths, either document's form.

Two documents spell the private calls differently; the ``api`` option picks one:

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
``https://<host>/v1``; a base URL given without a path gets ``api_prefix``
(``/v1``) appended.

Replies are decoded by the kit (``kit.rest.RestClient``): a body that is not
text in its charset, not JSON, nested too deep or holding a number beyond range
is never an exception of its own — on a 2xx an ``UnreadableReply`` naming the
endpoint, on an error status the error classified by its status. JSON numbers
are read as Decimal, exactly (``exact=True``). Replies are unwrapped from
``{"result": ...}`` when enveloped (an older reading). An HTTP error, or a 2xx
whose body is an error object, becomes a ``VenueError`` through
``parsing.classify_error`` (5xx: ``VenueUnavailable``, ambiguous). Timeouts
and connection errors propagate as ``TimeoutError``/``aiohttp.ClientError``
(``kit.errors.AMBIGUOUS``).

Every call answers with the kit's ``Reply``: the body (envelope removed) and
the endpoint (``GET /public/order_book``) that parse errors and skip counts name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from botkit.redact import Secret
from botkit.venues.alpha5.auth import auth_headers, json_params, query_params
from botkit.venues.alpha5.options import Alpha5Options
from botkit.venues.alpha5.parsing import ENVELOPES, VENUE, classify_error
from botkit.venues.kit.errors import UnreadableReply
from botkit.venues.kit.parsing import unwrap
from botkit.venues.kit.rest import Reply, RestClient, api_base

__all__ = ["Alpha5Rest"]

TOTAL_HEADER = "X-Pagination-Total-Count"
MAX_PAGES = 100  # a bound on paging, against a venue that never says it is done


def _is_error_body(body: object) -> bool:
    """A 2xx reply that is an error object (``{"error": ...}`` and no result)."""
    return (
        isinstance(body, Mapping)
        and body.get("error") not in (None, False, "")
        and ("result" not in body)
    )


def _total(headers: Mapping[str, str]) -> int | None:
    value = headers.get(TOTAL_HEADER)
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


class Alpha5Rest:
    """The Alpha5 endpoints the adapter uses; ``http`` is the one session."""

    def __init__(
        self, base_url: str, options: Alpha5Options, token: str | Secret | None = None
    ) -> None:
        self.api = options.api
        self.page_size = options.page_size
        self.http = RestClient(
            VENUE,
            api_base(base_url, options.api_prefix),
            classify=classify_error,
            timeout_s=options.request_timeout_s,
            error_body=_is_error_body,
            exact=True,
        )
        self._auth = auth_headers(token)  # validates the token once, up front

    @property
    def v1(self) -> bool:
        return self.api == "v1.0.0"

    async def request(
        self,
        method: str,
        route: str,
        params: Mapping[str, object] | None = None,
        *,
        body: Mapping[str, object] | None = None,
        private: bool = False,
    ) -> Reply:
        """One call; its reply with the envelope removed, or a typed VenueError."""
        headers = dict(self._auth) if private else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        reply = await self.http.send(
            method,
            route,
            params=dict(query_params(params or {})),
            data=None if body is None else json_params(body),
            headers=headers,
        )
        return dataclasses.replace(reply, body=unwrap(reply.body, ENVELOPES))

    async def _paged(self, route: str, params: Mapping[str, object]) -> Reply:
        """Every page of a v1.0.0 paged list (the seed has no paging: one call)."""
        if not self.v1:
            return await self.request("GET", route, params, private=True)
        out: list[Any] = []
        previous: object = None
        first: Reply | None = None
        for page in range(1, MAX_PAGES + 1):
            query = {**params, "page_size": self.page_size, "current_page": page}
            reply = await self.request("GET", route, query, private=True)
            items = reply.body
            if not isinstance(items, list):
                if first is None:
                    return reply  # not a list: the parser names what it is
                kind = route.rsplit("/", 1)[-1]
                raise UnreadableReply(
                    VENUE, kind, "<root>", "a page is not a list", endpoint=reply.endpoint
                )
            first = first or reply
            total = _total(reply.headers)
            if not items or items == previous:
                break  # an empty page, or a venue that ignores current_page
            out += items
            previous = items
            if total is None or len(out) >= total:
                break
        assert first is not None
        return dataclasses.replace(first, body=out)

    # ----- public -------------------------------------------------------------------------

    async def assets(self) -> Reply:
        return await self.request("GET", "/public/get_assets")

    async def live_contracts(self, asset: str | None = None, kind: str | None = None) -> Reply:
        return await self.request(
            "GET", "/public/get_live_contracts", {"asset": asset, "type": kind}
        )

    async def ticker(self, contract_symbol: str) -> Reply:
        return await self.request("GET", "/public/ticker", {"contract_symbol": contract_symbol})

    async def order_book(self, contract_symbol: str, depth: int | None = None) -> Reply:
        return await self.request(
            "GET", "/public/order_book", {"contract_symbol": contract_symbol, "depth": depth}
        )

    async def recent_trades(self, asset: str, count: int | None = None) -> Reply:
        return await self.request("GET", "/public/recent_trades", {"asset": asset, "count": count})

    # ----- trading ------------------------------------------------------------------------

    async def _act(self, route: str, params: Mapping[str, object], seed_method: str) -> Reply:
        """A state-changing call: a JSON-body POST (v1.0.0), or the seed's query form."""
        if self.v1:
            return await self.request("POST", route, body=params, private=True)
        return await self.request(seed_method, route, params, private=True)

    async def place_order(self, params: Mapping[str, object]) -> Reply:
        return await self._act("/account/place_order", params, "POST")

    async def edit_order(self, order_id: str, size: object = None, price: object = None) -> Reply:
        params = {"order_id": order_id, "size": size, "price": price}
        return await self._act("/account/edit_order", params, "GET")

    async def cancel_order(self, order_id: str) -> Reply:
        return await self._act("/account/cancel_order", {"order_id": order_id}, "GET")

    async def cancel_all_open_orders(self, asset: str, contract_symbol: str) -> Reply:
        # v1.0.0 makes every filter optional: the contract alone says which orders.
        params = {"asset": None if self.v1 else asset, "contract_symbol": contract_symbol}
        return await self._act("/account/cancel_all_open_orders", params, "GET")

    async def open_orders(self, asset: str, contract_symbol: str, kind: str | None = None) -> Reply:
        # v1.0.0's asset is optional and its order-type filter is gone.
        params: dict[str, object] = {"contract_symbol": contract_symbol}
        if not self.v1:
            params = {"asset": asset, **params, "type": kind}
        return await self._paged("/account/get_open_orders", params)

    async def order_history(self, asset: str) -> Reply:
        return await self._paged("/account/get_order_history", {"asset": asset})

    async def user_trades(self, order_id: str | None = None) -> Reply:
        return await self.request(
            "GET", "/account/get_user_trades", {"order_id": order_id}, private=True
        )

    # ----- account ------------------------------------------------------------------------

    async def positions(self, asset: str, contract_symbol: str) -> Reply:
        return await self.request(
            "GET",
            "/account/get_positions",
            {"asset": asset, "contract_symbol": contract_symbol},
            private=True,
        )

    async def close_position(
        self, contract_symbol: str, order_id: str | None = None, price: object = None
    ) -> Reply:
        """v1.0.0 closes by ``contract_symbol``; the seed by the id of an order on it."""
        if self.v1:
            params: dict[str, object] = {"contract_symbol": contract_symbol, "price": price}
        else:
            params = {"order_id": order_id, "price": price}
        return await self._act("/account/close_position", params, "GET")

    async def wallet_balances(self, asset: str | None = None) -> Reply:
        """The seed's balances call (v1.0.0 documents none)."""
        return await self.request("GET", "/account/wallet_balances", {"asset": asset}, private=True)
