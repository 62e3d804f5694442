"""A fourth venue from one test module: adding a venue is a package and a suite subclass.

"Toy" is a made-up venue with a small signed REST API. This module holds all of
it — what a venue package would: its options, its adapter on the venue kit,
its ``SPEC``; and what a simulator module would: ``make_exchange`` and
``setup_routes`` over the project's matching backend — then registers it and
runs the one shared venue suite against it. Nothing outside this file names it.

The toy protocol (a document of one paragraph): every call is under ``/toy``;
private calls carry ``X-Toy-Key``, ``X-Toy-Nonce`` (strictly increasing) and
``X-Toy-Sign``, the hex HMAC-SHA256 of ``nonce + method + path + body`` with
the secret. Errors are ``{"error": "..."}`` with the HTTP status. Symbols are
``BASE-QUOTE``; numbers are strings; times are nanoseconds; a fill has the
fields of an execution (``trade_id``, ``venue_order_id``, ``price``, ...).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from aiohttp import web

from botkit.events import BookSnapshot
from botkit.model import Fill, Instrument, Liquidity, Order, OrderStatus, OrderType, Side
from botkit.simulator.backend import ExchangeBackend, SimReject
from botkit.simulator.server import RunningSimulator
from botkit.venues import registry
from botkit.venues.kit.adapter import AdapterBase, Connection, MarketEvent
from botkit.venues.kit.errors import ErrorRules, InvalidRequest, NotFound, VenueError, classify
from botkit.venues.kit.nonce import ClockNonce
from botkit.venues.kit.options import VenueOptions
from botkit.venues.kit.parsing import (
    Fields,
    hmac_sha256_hex,
    json_body,
    list_of,
    lookup,
    parse_levels,
    rows,
    side_of,
)
from botkit.venues.kit.rest import RestClient, SignedCalls, api_base, path
from botkit.venues.kit.types import VenueOrder, ack

from .suite import Live, VenueSuite, connection_for

VENUE = "toy"
DEFAULT_API_KEY = "toy-key"
DEFAULT_API_SECRET = "toy-secret"

# ====================================================================================
# The venue package: options, parsing, adapter, SPEC
# ====================================================================================


class ToyOptions(VenueOptions):
    """Toy documents no rate limit."""


_STATUS = {s: OrderStatus(s) for s in ("open", "partially_filled", "filled", "canceled")}


def classify_error(
    http_status: int | None, body: object, *, retry_after: float | None = None
) -> VenueError:
    return classify(VENUE, http_status, body, ErrorRules(), retry_after=retry_after)


def _order(f: Fields) -> VenueOrder:
    status, raw = lookup(f, ("status",), _STATUS)
    return VenueOrder(
        venue=VENUE,
        venue_order_id=f.ident("id"),
        client_id=f.opt_ident("client_id"),
        symbol=f.text("symbol").replace("-", "/"),
        side=side_of(f, "side"),
        type=OrderType(f.text("type")),
        price=f.opt_price("price"),
        size=f.positive("size"),
        filled=f.non_negative("filled"),
        avg_price=f.opt_price("avg_price"),
        status=status or OrderStatus.UNKNOWN,
        ts_ns=f.time_ns("ts", unit="ns"),
        raw_status=raw,
    )


def _fill(f: Fields) -> Fill:
    return Fill(
        trade_id=f.ident("trade_id"),
        client_id=f.opt_ident("client_id") or "",
        symbol=f.text("symbol").replace("-", "/"),
        side=side_of(f, "side"),
        price=f.positive("price"),
        size=f.positive("size"),
        fee=f.decimal("fee"),
        fee_asset=f.text("fee_asset"),
        liquidity=Liquidity(f.text("liquidity")),
        ts_ns=f.time_ns("ts_ns", unit="ns"),
        venue_order_id=f.opt_ident("venue_order_id"),
    )


class ToyAdapter(AdapterBase):
    """The whole adapter: what the kit does not already do."""

    name = VENUE
    Options = ToyOptions

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.http = RestClient(
            VENUE,
            api_base(connection.base_url, "/toy"),
            classify=classify_error,
            timeout_s=self.options.request_timeout_s,
        )
        self.signed = SignedCalls(
            VENUE, connection.nonce or ClockNonce(), interval_s=self.options.spacing_s
        )
        self._key = connection.credentials.get("api_key", "")
        self._secret = connection.credentials.get("api_secret", "")
        self._instruments: dict[str, Instrument] = {}

    async def _connect(self) -> None:
        markets = (await self.http.send("GET", "/markets")).body
        self._instruments = {
            i.symbol: i
            for i in (
                Instrument(
                    VENUE,
                    f.text("symbol").replace("-", "/"),
                    f.text("base"),
                    f.text("quote"),
                    f.positive("tick"),
                    f.positive("lot"),
                    min_notional=f.opt_non_negative("min_value"),
                )
                for f in list_of(markets, VENUE, "market")
            )
        }

    async def _private(self, method: str, route: str, body: object = None) -> Any:
        text = "" if body is None else json_body(body)

        async def attempt(nonce: int, sent: asyncio.Event) -> Any:
            sign = hmac_sha256_hex(self._secret, f"{nonce}{method}/toy{route}{text}")
            headers = {"X-Toy-Key": self._key, "X-Toy-Nonce": str(nonce), "X-Toy-Sign": sign}
            reply = await self.http.send(
                method, route, data=text or None, headers=headers, sent=sent
            )
            return reply.body

        return await self.signed.call(attempt)

    async def instruments(self) -> dict[str, Instrument]:
        await self.ready()
        return dict(self._instruments)

    async def place(self, order: Order) -> VenueOrder:
        await self.ready()
        body = {
            "client_id": order.venue_client_id,
            "symbol": order.symbol.replace("/", "-"),
            "side": order.side.value,
            "type": order.type.value,
            "size": order.size,
            "price": order.price,
        }
        reply = await self._private("POST", "/orders", body)
        venue_id = Fields(reply, VENUE, "order_ack").ident("id")
        self.ids.remember(order.venue_client_id, venue_id)
        return ack(order, VENUE, venue_id)

    async def cancel(self, order: Order) -> None:
        await self.ready()
        venue_id = order.venue_order_id or self.ids.venue_id(order.venue_client_id)
        if venue_id is None:
            found = await self.find_order(order)
            if found is None:
                raise NotFound(VENUE, f"no order {order.venue_client_id}")
            venue_id = found.venue_order_id
        await self._private("DELETE", path("orders", venue_id))

    async def edit(self, order: Order, price: Decimal, size: Decimal) -> VenueOrder:
        raise InvalidRequest(VENUE, "toy has no edit; the router cancels and replaces")

    async def cancel_all(self, symbol: str | None = None) -> None:
        await self.ready()
        route = "/orders" if symbol is None else path("orders", "of", symbol.replace("/", "-"))
        await self._private("DELETE", route)

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        await self.ready()
        listed = rows(await self._private("GET", "/orders"), _order, venue=VENUE, kind="order")
        return [vo for vo in listed if symbol is None or vo.symbol == symbol]

    async def find_order(self, order: Order) -> VenueOrder | None:
        await self.ready()
        try:
            payload = await self._private("GET", path("orders", "by-client", order.venue_client_id))
        except NotFound:
            return None
        vo = _order(Fields(payload, VENUE, "order"))
        self.ids.remember(order.venue_client_id, vo.venue_order_id)
        return vo

    async def user_trades(self, since_ns: int | None, symbol: str | None = None) -> list[Fill]:
        await self.ready()
        payload = await self._private("GET", path("fills", since_ns or 0))
        fills = rows(payload, _fill, self.skipped.at("GET /fills"), venue=VENUE, kind="fill")
        return [f for f in fills if symbol is None or f.symbol == symbol]

    async def balances(self) -> dict[str, Decimal]:
        await self.ready()
        f = Fields(await self._private("GET", "/balances"), VENUE, "balances")
        return {asset: f.decimal(asset) for asset in f.names()}

    async def positions(self) -> dict[str, Decimal]:
        return {}

    async def market_stream(self, symbols: list[str]) -> AsyncIterator[MarketEvent]:
        while True:
            for symbol in symbols:
                f = Fields((await self.http.send("GET", path("book", symbol))).body, VENUE, "book")
                bids = parse_levels(f.raw("bids"), VENUE, "book", "bids", descending=True)
                asks = parse_levels(f.raw("asks"), VENUE, "book", "asks", descending=False)
                yield BookSnapshot(f.time_ns("ts", unit="ns"), symbol, bids, asks)
            await asyncio.sleep(1.0)

    def user_trade_stream(self, since_ns: int | None) -> AsyncIterator[Fill] | None:
        return None


SPEC = registry.VenueSpec(
    name=VENUE,
    title="Toy",
    auth="hmac",
    capabilities=registry.Capabilities(client_id=True),
    credentials=("api_key", "api_secret"),
    adapter=f"{__name__}:ToyAdapter",
    options=f"{__name__}:ToyOptions",
    simulator=__name__,
)

# ====================================================================================
# The simulator module: make_exchange and setup_routes, checks written from the
# paragraph above (nothing here calls the adapter's code)
# ====================================================================================


def make_exchange(seed: int, **options: Any) -> ExchangeBackend:
    inst = Instrument(
        VENUE,
        "BTC/USDT",
        "BTC",
        "USDT",
        tick_size="0.01",
        lot_size="0.001",
        min_notional="1",
        maker_fee="0.001",
        taker_fee="0.002",
    )
    return ExchangeBackend(
        VENUE,
        {inst.symbol: inst},
        balances={"USDT": Decimal("1000000"), "BTC": Decimal("20")},
        seed=seed,
        mids={inst.symbol: 30000.0},
        **options,
    )


def setup_routes(app: web.Application, exchange: ExchangeBackend) -> None:
    last_nonce = {"value": 0}

    def error(status: int, message: str) -> web.Response:
        return web.json_response({"error": message}, status=status)

    def order_json(o: Order) -> dict[str, Any]:
        return {
            "id": o.venue_order_id,
            "client_id": o.client_id,
            "symbol": o.symbol.replace("/", "-"),
            "side": o.side.value,
            "type": o.type.value,
            "price": None if o.price is None else str(o.price),
            "size": str(o.size),
            "filled": str(o.filled),
            "avg_price": None if o.avg_price is None else str(o.avg_price),
            "status": o.status.value,
            "ts": o.updated_ns or o.created_ns,
        }

    def signed(handler: Any) -> Any:
        async def check(request: web.Request) -> web.StreamResponse:
            body = await request.text()
            nonce_text = request.headers.get("X-Toy-Nonce", "")
            if request.headers.get("X-Toy-Key") != DEFAULT_API_KEY or not nonce_text.isdigit():
                return error(401, "unknown key or no nonce")
            message = f"{nonce_text}{request.method}{request.rel_url.raw_path}{body}".encode()
            expected = hmac.new(DEFAULT_API_SECRET.encode(), message, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, request.headers.get("X-Toy-Sign", "")):
                return error(401, "bad signature")
            if int(nonce_text) <= last_nonce["value"]:
                return error(401, f"nonce must exceed {last_nonce['value']}")
            last_nonce["value"] = int(nonce_text)
            try:
                return await handler(request, json.loads(body) if body else None)
            except SimReject as rej:
                return error(rej.http_status, rej.message)
            except (ValueError, KeyError, TypeError) as err:
                return error(400, f"bad request: {err}")

        return check

    async def markets(request: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "symbol": s.replace("/", "-"),
                    "base": i.base,
                    "quote": i.quote,
                    "tick": str(i.tick_size),
                    "lot": str(i.lot_size),
                    "min_value": None if i.min_notional is None else str(i.min_notional),
                }
                for s, i in exchange.instruments.items()
            ]
        )

    async def book(request: web.Request) -> web.Response:
        b = exchange.books.get(request.match_info["symbol"])
        if b is None:
            return error(404, "no such market")
        return web.json_response(
            {
                "bids": [[repr(p), repr(s)] for p, s in b.bid_levels()],
                "asks": [[repr(p), repr(s)] for p, s in b.ask_levels()],
                "ts": exchange.steps,
            }
        )

    async def place(request: web.Request, data: Any) -> web.Response:
        # The record of requests a simulator built on the kit keeps by itself.
        exchange.requests["place"] += 1
        price = data.get("price")
        o = exchange.place(
            data["symbol"].replace("-", "/"),
            Side(data["side"]),
            OrderType(data["type"]),
            Decimal(data["size"]),
            None if price is None else Decimal(price),
            str(data["client_id"]),
        )
        if o.venue_order_id is None:
            return error(400, o.reason or "rejected")
        return web.json_response({"id": o.venue_order_id, "client_id": o.client_id})

    async def list_open(request: web.Request, data: Any) -> web.Response:
        return web.json_response([order_json(o) for o in exchange.open_orders()])

    async def by_client(request: web.Request, data: Any) -> web.Response:
        o = exchange.by_client.get(request.match_info["client_id"])
        if o is None or o.venue_order_id is None:
            return error(404, "no such order")
        return web.json_response(order_json(o))

    async def cancel(request: web.Request, data: Any) -> web.Response:
        exchange.cancel(request.match_info["id"])
        return web.json_response({})

    async def cancel_all(request: web.Request, data: Any) -> web.Response:
        symbol = request.match_info.get("symbol")
        exchange.cancel_all(None if symbol is None else symbol.replace("-", "/"))
        return web.json_response({})

    async def fills(request: web.Request, data: Any) -> web.Response:
        # The toy's fills carry the execution's own field names; numbers as strings.
        def row(f: Fill) -> dict[str, Any]:
            plain = {
                k: str(v) if isinstance(v, Decimal | Enum) else v for k, v in f._asdict().items()
            }
            return {**plain, "symbol": f.symbol.replace("/", "-")}

        since = int(request.match_info["since"])
        return web.json_response([row(f) for f in exchange.user_trades(since)])

    async def balances(request: web.Request, data: Any) -> web.Response:
        if exchange.faults.garbles("balances"):  # the kit's servers do this for every route
            return web.json_response({"surprise": [1, 2, 3]})
        return web.json_response({k: str(v) for k, v in exchange.balances.items()})

    r = app.router
    r.add_get("/toy/markets", markets)
    r.add_get("/toy/book/{symbol}", book)
    r.add_post("/toy/orders", signed(place))
    r.add_get("/toy/orders", signed(list_open))
    r.add_delete("/toy/orders", signed(cancel_all))
    r.add_get("/toy/orders/by-client/{client_id}", signed(by_client))
    r.add_delete("/toy/orders/of/{symbol}", signed(cancel_all))
    r.add_delete("/toy/orders/{id}", signed(cancel))
    r.add_get("/toy/fills/{since}", signed(fills))
    r.add_get("/toy/balances", signed(balances))


# ====================================================================================
# The tests: registered from here, through the one shared suite
# ====================================================================================


@pytest.fixture(autouse=True, scope="module")
def toy_is_a_venue() -> Iterator[None]:
    with registry.registered(SPEC):
        yield


class TestToyVenue(VenueSuite):
    venue = VENUE

    def make_adapter(self, sim: RunningSimulator) -> ToyAdapter:
        return registry.get(VENUE).adapter_class().from_connection(connection_for(sim))

    async def test_declares_what_its_spec_says(self, live: Live) -> None:
        a = live.adapter
        assert (a.supports_client_id, a.has_user_trade_stream, a.supports_edit) == (
            True,
            False,
            False,
        )
        assert registry.get(VENUE).options_model() is ToyOptions
        assert VENUE in registry.names()
