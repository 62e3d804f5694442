"""Alpha5Adapter against a recording stand-in venue on 127.0.0.1.

The stand-in answers each path with a reply set by the test (the v1.0.0
document's shapes unless a test says otherwise) and records every request, so
the tests see exactly what the adapter sends — methods, query strings, JSON
bodies, headers — for both documents, and how it meets replies that no
simulator would send: statuses, unreadable bodies, bad rows.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import time
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal as D
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from botkit.events import BookSnapshot, Trade
from botkit.model import Order, OrderType, Side, TimeInForce
from botkit.redact import Secret
from botkit.venues.alpha5 import Alpha5Adapter
from botkit.venues.kit.adapter import Connection
from botkit.venues.kit.errors import OrderRejected, ParseError, VenueError, VenueUnavailable

from .test_alpha5_documents import USER_TRADE, V1_ORDER, doc


def asset(symbol: str, precision: int) -> dict[str, Any]:
    return {"symbol": symbol, "name": symbol, "precision": precision}


def contract(symbol: str, quote: str, settle: str, **changes: Any) -> dict[str, Any]:
    precision = {"USDT": 8, "USD": 0, "BTC": 8}
    return {
        "symbol": symbol,
        "name": symbol,
        "contract_type": "perpetual",
        "tick_size": "0.5",
        "status": "operational",
        "maximum_position_limit": "1000",
        "quoting_asset": asset(quote, precision[quote]),
        "settling_asset": asset(settle, precision[settle]),
        **changes,
    }


ASSETS = [asset("BTC", 3), asset("ETH", 2), asset("USDT", 8), asset("USD", 0)]
CONTRACTS = [
    contract("BTC-PERPETUAL", "USDT", "USDT"),
    contract("BTC-INVERSE", "USD", "BTC"),
    contract("ETH-M20", "USDT", "USDT", contract_type="future", status="disrupted"),
    contract("ETH-U20", "USDT", "USDT", contract_type="future", status="disrupted_post_only"),
    contract("ETH-Z19", "USDT", "USDT", contract_type="future", status="expired"),
]
BTC, INVERSE, ETH_DISRUPTED, ETH_POST_ONLY = "BTC/USDT", "BTC/USD", "ETH/USDT-M20", "ETH/USDT-U20"


def v1_order(order_id: str, symbol: str = "BTC-PERPETUAL", **changes: Any) -> dict[str, Any]:
    return {
        **doc(V1_ORDER),
        "id": order_id,
        "status": "open",
        "filled_size": "0",
        "cancelled_size": "0",
        "contract": {"id": "c-1", "symbol": symbol},
        **changes,
    }


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass
class Reply:
    body: Any = None
    status: int = 200
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeVenue:
    """Answers ``/v1/<path>`` with the reply set for it; records every request."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.replies: dict[str, Any] = {
            "public/get_assets": ASSETS,
            "public/get_live_contracts": CONTRACTS,
            "account/place_order": v1_order("o-1"),
            "account/edit_order": v1_order("o-1", limit_price="7000.5", size="2"),
            "account/cancel_order": v1_order("o-1", cancelled_size="1.33"),
            "account/cancel_all_open_orders": Reply(raw=b""),
            "account/close_position": {"side": "buy", "price": "10", "contract_id": "c-1"},
            "account/get_open_orders": [],
            "account/get_order_history": [],
            "account/get_user_trades": [],
            "account/get_positions": [],
            "account/wallet_balances": [{"asset": "USDT", "balance": "100"}],
        }
        self.app = web.Application()
        self.app.router.add_route("*", "/v1/{path:.*}", self._handle)

    def calls(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        raw_body = await request.read()
        body = json.loads(raw_body) if raw_body else None
        self.seen.append(
            Seen(request.method, path, dict(request.query), body, dict(request.headers))
        )
        reply = self.replies.get(path, Reply({"error": "not_found"}, status=404))
        if callable(reply):
            reply = reply(request)
        if not isinstance(reply, Reply):
            reply = Reply(reply)
        if reply.raw is not None:
            return web.Response(body=reply.raw, status=reply.status, headers=reply.headers)
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)


@pytest.fixture
async def venue() -> AsyncIterator[tuple[FakeVenue, str]]:
    fake = FakeVenue()
    server = TestServer(fake.app, host="127.0.0.1")
    await server.start_server()
    try:
        yield fake, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def make(url: str, *, symbols: tuple[str, ...] | None = None, **options: Any) -> Alpha5Adapter:
    """The adapter as the node builds it: from a ``Connection``."""
    return Alpha5Adapter(Connection(url, options=options, symbols=symbols))


_seq = iter(range(1, 10**6))


def order(symbol: str = BTC, **kw: Any) -> Order:
    defaults: dict[str, Any] = {"side": Side.BUY, "type": OrderType.LIMIT, "size": D("0.5")}
    defaults["price"] = D("7891.5")
    defaults.update(kw)
    return Order(f"c-{next(_seq)}", symbol, created_ns=time.time_ns(), **defaults)


# ----- requests as each document spells them -----------------------------------------------


async def test_v1_requests_are_json_posts_with_the_bearer_token(
    venue: tuple[FakeVenue, str],
) -> None:
    fake, url = venue
    a = make(url, bearer_token=Secret(" tok-1 "))
    try:
        o = order(post_only=True)
        placed = await a.place(o)
        assert (placed.venue_order_id, placed.client_id, placed.symbol) == ("o-1", o.client_id, BTC)
        await a.edit(o, D("7000.5"), D("2"))
        await a.cancel(o)
        await a.cancel_all(BTC)
        assert await a.close_position(BTC, D("10")) is None
    finally:
        await a.close()
    (place,) = fake.calls("account/place_order")
    assert place.method == "POST" and place.query == {}
    assert place.headers["Authorization"] == "Bearer tok-1"
    assert place.headers["Content-Type"] == "application/json"
    assert place.body == {
        "contract_symbol": "BTC-PERPETUAL",
        "side": "buy",
        "size": "0.5",
        "type": "limit",
        "price": "7891.5",
        "time_in_force": "good_til_cancelled",
        "post_only": True,
    }
    expected = {
        "account/edit_order": {"order_id": "o-1", "size": "2", "price": "7000.5"},
        "account/cancel_order": {"order_id": "o-1"},
        "account/cancel_all_open_orders": {"contract_symbol": "BTC-PERPETUAL"},
        "account/close_position": {"contract_symbol": "BTC-PERPETUAL", "price": "10"},
    }
    for path, body in expected.items():
        (call,) = fake.calls(path)
        assert (call.method, call.body, call.query) == ("POST", body, {}), path
        assert call.headers["Authorization"] == "Bearer tok-1"
    # Public calls carry no token.
    assert all("Authorization" not in s.headers for s in fake.seen if s.path.startswith("public"))


async def test_seed_requests_are_query_parameters(venue: tuple[FakeVenue, str]) -> None:
    fake, url = venue
    fake.replies["account/get_order_history"] = [v1_order("o-9", status="filled")]
    fake.replies["account/close_position"] = v1_order("o-10", side="sell")
    a = make(url, api="seed")
    try:
        o = order(type=OrderType.STOP_LIMIT, stop_price=D("7900"), tif=TimeInForce.IOC)
        await a.place(o)
        await a.edit(o, D("7000.5"), D("2"))
        await a.cancel(o)
        await a.cancel_all(BTC)
        await a.open_orders(BTC)
        closing = await a.close_position(BTC)
        assert closing is not None and closing.side is Side.SELL
    finally:
        await a.close()
    (place,) = fake.calls("account/place_order")
    assert place.method == "POST" and place.body is None
    assert place.query == {
        "contract_symbol": "BTC-PERPETUAL",
        "side": "buy",
        "size": "0.5",
        "type": "stop_limit",
        "price": "7891.5",
        "time_in_force": "immediate_or_cancel",
        "stop_price": "7900",
        "trigger": "last_price",
    }
    expected = {
        "account/edit_order": {"order_id": "o-1", "size": "2", "price": "7000.5"},
        "account/cancel_order": {"order_id": "o-1"},
        "account/cancel_all_open_orders": {"asset": "BTC", "contract_symbol": "BTC-PERPETUAL"},
        "account/get_open_orders": {"asset": "BTC", "contract_symbol": "BTC-PERPETUAL"},
        "account/close_position": {"order_id": "o-9"},
    }
    for path, query in expected.items():
        (call,) = fake.calls(path)
        assert (call.method, call.query, call.body) == ("GET", query, None), path


async def test_v1_open_orders_are_read_page_by_page(venue: tuple[FakeVenue, str]) -> None:
    fake, url = venue
    orders = [v1_order(f"o-{i}") for i in range(5)]

    def paged(request: web.Request) -> Reply:
        size, page = int(request.query["page_size"]), int(request.query["current_page"])
        chunk = orders[(page - 1) * size : page * size]
        return Reply(chunk, headers={"X-Pagination-Total-Count": str(len(orders))})

    fake.replies["account/get_open_orders"] = paged
    a = make(url, page_size=2)
    try:
        listed = await a.open_orders(BTC)
    finally:
        await a.close()
    assert [vo.venue_order_id for vo in listed] == [f"o-{i}" for i in range(5)]
    calls = fake.calls("account/get_open_orders")
    assert [c.query["current_page"] for c in calls] == ["1", "2", "3"]
    assert calls[0].query == {
        "contract_symbol": "BTC-PERPETUAL",
        "page_size": "2",
        "current_page": "1",
    }


async def test_a_venue_that_ignores_paging_is_read_once(venue: tuple[FakeVenue, str]) -> None:
    fake, url = venue
    everything = [v1_order(f"o-{i}") for i in range(3)]
    fake.replies["account/get_open_orders"] = Reply(
        everything, headers={"X-Pagination-Total-Count": "10"}
    )
    a = make(url, page_size=2)
    try:
        listed = await a.open_orders(BTC)
    finally:
        await a.close()
    assert [vo.venue_order_id for vo in listed] == ["o-0", "o-1", "o-2"]  # no duplicates
    assert len(fake.calls("account/get_open_orders")) == 2


async def test_bearer_token_option_may_be_a_secret_from_the_config(
    venue: tuple[FakeVenue, str],
) -> None:
    fake, url = venue
    connection = Connection(url, options={"bearer_token": Secret("from-env"), "api": "v1.0.0"})
    a = Alpha5Adapter.from_connection(connection)
    try:
        await a.balances()
    finally:
        await a.close()
    (call,) = fake.calls("account/wallet_balances")
    assert call.headers["Authorization"] == "Bearer from-env"


@pytest.mark.parametrize(
    "options,why",
    [
        ({"api": "v2"}, "api: Input should be 'v1.0.0' or 'seed'"),
        ({"asset_param": "quote"}, "asset_param: Input should be 'base' or 'settling'"),
        ({"page_size": "many"}, "page_size: Input should be a valid integer"),
        ({"page_size": 0}, "page_size: Input should be greater than or equal to 1"),
        ({"bearer_token": Secret("  ")}, "bearer_token: Value error, bearer token is empty"),
        ({"bearer_token": "a\nb"}, "bearer_token: Value error, bearer token must not contain"),
        ({"bearer_token": 42}, "bearer_token: Value error, expected a string"),
        ({"stop_trigger": "mid_price"}, "stop_trigger: Input should be"),
        ({"colour": "blue"}, "colour: unknown option"),
    ],
)
def test_bad_options_are_refused_up_front(options: dict[str, Any], why: str) -> None:
    with pytest.raises(ValueError) as exc:
        make("http://127.0.0.1:1", **options)
    assert f"alpha5 venue.options.{why}" in str(exc.value)
    assert "many" not in str(exc.value) and "blue" not in str(exc.value)  # values not echoed


# ----- contracts: linear, inverse, status ---------------------------------------------------


async def test_instruments_linear_inverse_and_status(venue: tuple[FakeVenue, str]) -> None:
    _, url = venue
    a = make(url)
    try:
        inst = await a.instruments()
    finally:
        await a.close()
    assert set(inst) == {BTC, INVERSE, ETH_DISRUPTED, ETH_POST_ONLY}  # the expired one is gone
    btc, inverse = inst[BTC], inst[INVERSE]
    assert (btc.base, btc.quote, btc.kind, btc.lot_size) == ("BTC", "USDT", "perpetual", D("0.001"))
    assert (inverse.base, inverse.quote, inverse.kind) == ("BTC", "USD", "inverse_perpetual")
    assert (inverse.tick_size, inverse.lot_size) == (D("0.5"), D(1))  # whole USD


async def test_contract_status_decides_what_may_be_sent(venue: tuple[FakeVenue, str]) -> None:
    fake, url = venue
    a = make(url)
    try:
        with pytest.raises(OrderRejected) as exc:
            await a.place(order(ETH_DISRUPTED))
        assert exc.value.code == "contract_disrupted" and exc.value.definite
        with pytest.raises(OrderRejected) as exc:
            await a.place(order(ETH_POST_ONLY))
        assert exc.value.code == "contract_post_only"
        with pytest.raises(OrderRejected):  # post-only needs GTC to be post-only
            await a.place(order(ETH_POST_ONLY, post_only=True, tif=TimeInForce.IOC))
        assert fake.calls("account/place_order") == []  # nothing was sent
        await a.place(order(ETH_POST_ONLY, post_only=True))
        resting = order(ETH_DISRUPTED, venue_order_id="o-1")
        with pytest.raises(OrderRejected):
            await a.edit(resting, D("7000"), D("1"))
        await a.cancel(resting)  # cancels always go
    finally:
        await a.close()
    assert len(fake.calls("account/place_order")) == 1
    assert len(fake.calls("account/cancel_order")) == 1
    assert fake.calls("account/edit_order") == []


async def test_contract_status_is_read_again_when_stale(venue: tuple[FakeVenue, str]) -> None:
    fake, url = venue
    a = make(url, status_refresh_s=0.0)
    try:
        await a.connect()
        fake.replies["public/get_live_contracts"] = [
            contract("BTC-PERPETUAL", "USDT", "USDT", status="disrupted")
        ]
        with pytest.raises(OrderRejected):
            await a.place(order())
    finally:
        await a.close()
    assert fake.calls("account/place_order") == []


async def test_edit_keeps_finding_the_order_when_the_venue_renames_it(
    venue: tuple[FakeVenue, str],
) -> None:
    # v1.0.0: edit_order "cancels the remaining size and places a new one".
    fake, url = venue
    fake.replies["account/edit_order"] = v1_order("o-2", limit_price="7000.5", size="2")
    a = make(url)
    try:
        o = order()
        placed = await a.place(o)
        o.venue_order_id = placed.venue_order_id  # the router's ack
        edited = await a.edit(o, D("7000.5"), D("2"))
        assert (edited.venue_order_id, edited.client_id) == ("o-2", o.client_id)
        await a.cancel(o)
        fake.replies["account/get_user_trades"] = [
            {**USER_TRADE, "order_id": "o-1", "contract": {"symbol": "BTC-PERPETUAL"}},
            {**USER_TRADE, "order_id": "o-2", "contract": {"symbol": "BTC-PERPETUAL"}},
        ]
        fills = await a.user_trades(None)
    finally:
        await a.close()
    (cancel,) = fake.calls("account/cancel_order")
    assert cancel.body == {"order_id": "o-2"}
    assert {f.client_id for f in fills} == {o.client_id}  # fills of both ids are ours


async def test_a_replacement_attempt_is_not_confused_with_the_first(
    venue: tuple[FakeVenue, str],
) -> None:
    fake, url = venue
    a = make(url)
    try:
        o = order()
        await a.place(o)
        # Cancel-and-replace: the router sends attempt 2 with no venue id yet.
        o.venue_order_id, o.attempt = None, 2
        fake.replies["account/get_open_orders"] = []
        assert await a.find_order(o) is None  # never the first attempt's order
    finally:
        await a.close()


# ----- clean failures at start ---------------------------------------------------------------


def _no_unclosed_sessions(errors: list[dict[str, Any]]) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    texts = [str(w.message) for w in caught] + [str(e.get("message")) for e in errors]
    assert not [t for t in texts if "Unclosed" in t], texts


@pytest.mark.parametrize(
    "reply,error,text",
    [
        (Reply([{"asset": "BTC"}]), ParseError, "get_live_contracts"),
        (Reply({}), ParseError, "get_live_contracts"),
        (Reply(raw=b"\xff\xfe garbage"), ParseError, "GET /public/get_live_contracts"),
        (Reply(raw=b"[" * 50_000), ParseError, "nested deeper"),
        (Reply({"error": "maintenance"}, status=503), VenueUnavailable, "503"),
        (Reply({"error": {"code": "unauthorized"}}, status=401), VenueError, "401"),
    ],
)
async def test_a_failed_connect_is_one_typed_error_and_leaves_no_session(
    venue: tuple[FakeVenue, str], reply: Reply, error: type, text: str
) -> None:
    fake, url = venue
    fake.replies["public/get_live_contracts"] = reply
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, ctx: errors.append(ctx))
    a = make(url)
    with pytest.raises(error) as exc:
        await a.connect()
    assert text in str(exc.value) and "\n" not in str(exc.value)
    assert not a.http.is_open  # closed at once, not left for close()
    await a.close()
    del a
    _no_unclosed_sessions(errors)


async def test_an_unreachable_venue_is_venue_unavailable() -> None:
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, ctx: errors.append(ctx))
    server = TestServer(web.Application(), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    await server.close()  # nothing listens there any more
    with pytest.raises(VenueUnavailable) as exc:
        async with make(url, request_timeout_s=2.0):
            pass
    assert url in str(exc.value)
    _no_unclosed_sessions(errors)


async def test_close_is_final(venue: tuple[FakeVenue, str]) -> None:
    _, url = venue
    a = make(url)
    await a.connect()
    await a.close()
    with pytest.raises(VenueError):  # a late poll must not open a session nobody closes
        await a.balances()
    with pytest.raises(VenueError):
        await a.rest.order_book("BTC-PERPETUAL")  # nor a poll already past connect()
    assert not a.http.is_open


# ----- replies that do not parse ---------------------------------------------------------------


async def test_an_unreadable_place_reply_is_ambiguous(venue: tuple[FakeVenue, str]) -> None:
    fake, url = venue
    fake.replies["account/place_order"] = {"status": "ok"}
    a = make(url)
    try:
        with pytest.raises(VenueError) as exc:
            await a.place(order())
    finally:
        await a.close()
    assert exc.value.ambiguous and "place_order" in str(exc.value)


async def test_json_numbers_in_replies_are_read_exactly(venue: tuple[FakeVenue, str]) -> None:
    fake, url = venue
    body = json.dumps(v1_order("o-1", limit_price="PRICE")).replace('"PRICE"', "7891.1234567890123")
    fake.replies["account/place_order"] = Reply(raw=body.encode())
    a = make(url)
    try:
        placed = await a.place(order())
    finally:
        await a.close()
    assert placed.price == D("7891.1234567890123")  # a float would have lost digits


async def test_a_bad_contract_row_is_skipped_and_counted_once_across_reloads(
    venue: tuple[FakeVenue, str],
) -> None:
    fake, url = venue
    fake.replies["public/get_live_contracts"] = [
        *CONTRACTS,
        contract("BTC-BROKEN", "USDT", "USDT", tick_size="-1"),
    ]
    a = make(url, status_refresh_s=0.0)  # the listing is read again before every place
    try:
        await a.place(order())
        await a.place(order())
        assert BTC in await a.instruments()
    finally:
        await a.close()
    assert len(fake.calls("public/get_live_contracts")) == 3
    assert a.skipped.counts == {"GET /public/get_live_contracts [].tick_size|price_increment": 1}


async def test_what_the_adapter_remembers_of_orders_is_bounded(
    venue: tuple[FakeVenue, str],
) -> None:
    fake, url = venue
    placed = iter(range(10**6))
    fake.replies["account/place_order"] = lambda request: v1_order(f"o-{next(placed)}")
    a = make(url, id_memory=100)
    try:
        orders = [order() for _ in range(130)]
        for o in orders:
            await a.place(o)
        fake.replies["account/get_user_trades"] = [
            {k: v for k, v in {**USER_TRADE, "order_id": f"o-{i}"}.items() if k != "contract"}
            for i in (0, 129)
        ]
        fills = await a.user_trades(None)
    finally:
        await a.close()
    assert len(a.ids) == 100 and len(a._contract_of_order) == 100
    # The newest order is still known (its fill names only the order); the oldest is not.
    assert [(f.venue_order_id, f.client_id) for f in fills] == [("o-129", orders[-1].client_id)]
    assert a.skipped.total == 1  # the oldest order's fill: its contract is forgotten


async def test_a_bad_user_trade_row_is_skipped_logged_and_counted_once(
    venue: tuple[FakeVenue, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = venue
    good = {**USER_TRADE, "contract": {"symbol": "BTC-PERPETUAL"}}
    fake.replies["account/get_user_trades"] = [
        good,
        {**good, "price": "1e999999999999999999999"},
        {**good, "timestamp": USER_TRADE["timestamp"] + 1},
    ]
    a = make(url)
    try:
        with caplog.at_level(logging.WARNING, "botkit.venues.alpha5"):
            first = await a.user_trades(None)
            again = await a.user_trades(None)  # the next poll meets the same row
    finally:
        await a.close()
    assert len(first) == 2 and [f.trade_id for f in again] == [f.trade_id for f in first]
    assert a.skipped.counts == {"GET /account/get_user_trades [].price": 1}
    (record,) = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert "alpha5 GET /account/get_user_trades (get_user_trades): [1].price" in record.getMessage()


async def test_positions_without_a_size_are_reported_not_guessed(
    venue: tuple[FakeVenue, str],
) -> None:
    fake, url = venue
    fake.replies["account/get_positions"] = [{"side": "sell", "price": "10", "contract_id": "c-1"}]
    a = make(url, symbols=(BTC,))
    try:
        assert await a.positions() == {}
        fake.replies["account/get_positions"] = [
            {"side": "sell", "price": "10", "contract_id": "c-1", "size": "3"}
        ]
        assert await a.positions() == {BTC: D(-3)}
    finally:
        await a.close()
    assert a.skipped.counts == {"GET /account/get_positions [].size|amount": 1}


async def test_no_balance_endpoint_means_no_balances(venue: tuple[FakeVenue, str]) -> None:
    fake, url = venue
    del fake.replies["account/wallet_balances"]  # v1.0.0 documents none
    a = make(url)
    try:
        assert await a.balances() == {}
        assert await a.balances() == {}
    finally:
        await a.close()
    assert len(fake.calls("account/wallet_balances")) == 1


# ----- market data -------------------------------------------------------------------------


async def _poll(a: Alpha5Adapter, symbols: list[str], polls: int) -> list[Any]:
    events: list[Any] = []
    stream = a.market_stream(symbols)
    async with asyncio.timeout(10):
        async for event in stream:
            events.append(event)
            if sum(isinstance(e, BookSnapshot) for e in events) >= polls:
                break
    await stream.aclose()  # type: ignore[attr-defined]
    return events


async def test_market_data_drops_and_counts_non_positive_values(
    venue: tuple[FakeVenue, str],
) -> None:
    fake, url = venue
    fake.replies["public/get_live_contracts"] = CONTRACTS[:1]  # BTC's only contract
    fake.replies["public/order_book"] = {
        "depth": 10,
        "buy": [{"price": "100", "size": "0"}, {"price": "99", "size": "1"}],
        "sell": [{"price": "101", "size": "2"}],
    }
    prints = [{"side": "buy", "price": "100.5", "size": "1", "timestamp": 1_700_000_000_000}]

    def trades(request: web.Request) -> Any:
        # One new print per poll, and one with a negative price.
        ts = 1_700_000_000_000 + len(prints)
        prints.append({"side": "sell", "price": "100", "size": "1", "timestamp": ts})
        return [*prints, {"side": "buy", "price": "-5", "size": "1", "timestamp": ts}]

    fake.replies["public/recent_trades"] = trades
    a = make(url, symbols=(BTC,), poll_interval_s=0.01)
    try:
        events = await _poll(a, [BTC], polls=3)
    finally:
        await a.close()
    books = [e for e in events if isinstance(e, BookSnapshot)]
    assert all(b.bids == [(99.0, 1.0)] and b.asks == [(101.0, 2.0)] for b in books)
    printed = [e for e in events if isinstance(e, Trade)]
    assert printed and all(t.price == 100.0 and t.symbol == BTC for t in printed)
    assert len({t.trade_id for t in printed}) == len(printed)
    # A level and a print, every poll.
    assert a.skipped.counts["GET /public/order_book buy[]"] >= 3
    assert a.skipped.counts["GET /public/recent_trades [].price|size|amount"] >= 3
    assert (fake.calls("public/recent_trades")[0].query) == {"asset": "BTC", "count": "100"}


async def test_a_book_of_unknown_shape_is_a_logged_failure_not_an_empty_book(
    venue: tuple[FakeVenue, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = venue
    fake.replies["public/order_book"] = {"bids_v2": []}
    fake.replies["public/recent_trades"] = []
    a = make(url, symbols=(BTC,), poll_interval_s=0.01)
    try:
        with caplog.at_level(logging.WARNING, "botkit.venues.alpha5"):
            stream = a.market_stream([BTC])
            task = asyncio.ensure_future(stream.__anext__())
            await asyncio.sleep(0.3)
            assert not task.done()  # no book, empty or otherwise
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await stream.aclose()  # type: ignore[attr-defined]
    finally:
        await a.close()
    assert a.skipped.counts["GET /public/order_book buy|bids|sell|asks"] >= 1
    assert any(
        "alpha5 GET /public/order_book (order_book): buy|bids|sell|asks" in r.getMessage()
        for r in caplog.records
    )


async def test_prints_without_a_contract_are_not_guessed_between_two(
    venue: tuple[FakeVenue, str],
) -> None:
    # BTC has a linear and an inverse contract: v1.0.0's RecentTrade names neither.
    fake, url = venue
    fake.replies["public/order_book"] = {"buy": [], "sell": []}
    fake.replies["public/recent_trades"] = [
        {"side": "buy", "price": "100", "size": "1", "timestamp": 1_700_000_000_000}
    ]
    a = make(url, poll_interval_s=0.01)
    try:
        events = await _poll(a, [BTC, INVERSE], polls=4)
    finally:
        await a.close()
    assert not [e for e in events if isinstance(e, Trade)]
    no_contract = "[].contract.symbol|contract_symbol|instrument_name|symbol"
    assert a.skipped.counts[f"GET /public/recent_trades {no_contract}"] >= 1
