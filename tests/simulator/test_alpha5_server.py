"""Alpha5's simulator, over real loopback: v1.0.0's payloads, both documents' requests."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from botkit.simulator.server import RunningSimulator

from .helpers import fetch, simulator

ORDER_KEYS = {
    "id",
    "type",
    "side",
    "status",
    "limit_price",
    "stop_price",
    "size",
    "filled_size",
    "cancelled_size",
    "time_in_force",
    "contract",
}


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with simulator("alpha5") as s:
        yield s


async def call(
    sim: RunningSimulator,
    method: str,
    path: str,
    *,
    params: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body))
    headers = {"Content-Type": "application/json", **(headers or {})}
    return await fetch(sim, method, "/v1" + path, data=data, headers=headers, params=params)


def touch(sim: RunningSimulator, symbol: str = "BTC/USDT") -> tuple[Decimal, Decimal]:
    book = sim.exchange.books[symbol]
    assert book.best_bid is not None and book.best_ask is not None
    return Decimal(repr(book.best_bid)), Decimal(repr(book.best_ask))


async def place(sim: RunningSimulator, **fields: Any) -> dict[str, Any]:
    bid, _ = touch(sim)
    body = {
        "contract_symbol": "BTC-PERPETUAL",
        "side": "buy",
        "size": "0.01",
        "price": str(bid - 50),
        **fields,
    }
    status, order, _ = await call(sim, "POST", "/account/place_order", body=body)
    assert status == 200, order
    return order


# ----- v1.0.0's shapes ------------------------------------------------------------------------


async def test_contracts_books_and_orders_have_the_published_shapes(
    sim: RunningSimulator,
) -> None:
    _, contracts, _ = await call(sim, "GET", "/public/get_live_contracts")
    btc = next(c for c in contracts if c["symbol"] == "BTC-PERPETUAL")
    assert btc["quoting_asset"] == {"symbol": "USDT", "name": "Tether USD", "precision": 8}
    assert btc["settling_asset"]["symbol"] == "USDT"
    assert {"tick_size", "status", "maintainance_margin", "contract_type"} <= set(btc)
    _, book, _ = await call(
        sim, "GET", "/public/order_book", params={"contract_symbol": "BTC-PERPETUAL", "depth": "3"}
    )
    assert set(book) == {"depth", "buy", "sell"} and len(book["buy"]) == 3
    assert set(book["buy"][0]) == {"price", "size"}
    _, ticker, _ = await call(
        sim, "GET", "/public/ticker", params={"contract_symbol": "BTC-PERPETUAL"}
    )
    assert set(ticker) == {"open", "high", "low", "close", "timestamp"}
    _, trades, _ = await call(sim, "GET", "/public/recent_trades", params={"asset": "BTC"})
    assert trades and set(trades[0]) == {"side", "price", "size", "timestamp"}

    order = await place(sim)
    assert set(order) == ORDER_KEYS
    assert str(uuid.UUID(order["id"])) == order["id"]
    assert order["contract"]["symbol"] == "BTC-PERPETUAL" and uuid.UUID(order["contract"]["id"])
    assert (order["status"], order["filled_size"], order["cancelled_size"]) == ("open", "0", "0")


async def test_a_cancelled_order_reads_with_the_documented_statuses(sim: RunningSimulator) -> None:
    order = await place(sim)
    status, done, _ = await call(
        sim, "POST", "/account/cancel_order", body={"order_id": order["id"]}
    )
    assert status == 200
    # The OrderStatus enum is open/filled: done, and cancelled_size says how.
    assert (done["status"], done["cancelled_size"], done["filled_size"]) == ("filled", "0.01", "0")
    async with simulator("alpha5", status_values="extended") as other:
        order = await place(other)
        _, done, _ = await call(
            other, "POST", "/account/cancel_order", body={"order_id": order["id"]}
        )
        assert done["status"] == "cancelled"


# ----- both documents' requests ------------------------------------------------------------------


async def test_the_seeds_gets_and_v1_0_0s_posts_are_both_served(sim: RunningSimulator) -> None:
    bid, _ = touch(sim)
    # place_order: the seed's query parameters.
    status, first, _ = await call(
        sim,
        "POST",
        "/account/place_order",
        params={
            "contract_symbol": "BTC-PERPETUAL",
            "side": "buy",
            "size": "0.01",
            "price": str(bid - 60),
        },
    )
    assert status == 200
    second = await place(sim)  # v1.0.0's JSON body
    # cancel_order: a GET with the query (seed), a POST with a body (v1.0.0).
    status, _, _ = await call(sim, "GET", "/account/cancel_order", params={"order_id": first["id"]})
    assert status == 200
    status, _, _ = await call(sim, "POST", "/account/cancel_order", body={"order_id": second["id"]})
    assert status == 200
    # cancel_all_open_orders: the seed requires asset and contract_symbol; v1.0.0 nothing.
    status, reply, _ = await call(sim, "GET", "/account/cancel_all_open_orders")
    assert status == 400 and set(reply) == {"error"}
    await place(sim)
    status, cancelled, _ = await call(sim, "POST", "/account/cancel_all_open_orders", body={})
    assert status == 200 and len(cancelled) == 1 and set(cancelled[0]) == ORDER_KEYS
    # Both places at once is ambiguous: refused.
    status, _, _ = await call(
        sim,
        "POST",
        "/account/cancel_order",
        params={"order_id": first["id"]},
        body={"order_id": first["id"]},
    )
    assert status == 400


async def test_get_open_orders_pages_with_headers(sim: RunningSimulator) -> None:
    for _ in range(3):
        await place(sim)
    status, page, headers = await call(
        sim,
        "GET",
        "/account/get_open_orders",
        params={"contract_symbol": "BTC-PERPETUAL", "page_size": "2", "current_page": "2"},
    )
    assert status == 200 and len(page) == 1
    assert headers["X-Pagination-Total-Count"] == "3"
    assert headers["X-Pagination-Current-Page"] == "2" and headers["X-Pagination-Page-Size"] == "2"


@pytest.mark.parametrize(
    "fields,why",
    [
        ({"side": "BUY"}, "side"),
        ({"size": 1e400}, "size"),
        ({"size": "1e999999999"}, "size"),
        ({"post_only": "true"}, "post_only"),  # a JSON boolean in a JSON body
        ({"sidee": "buy"}, "unknown"),
        ({"time_in_force": "gtc"}, "time_in_force"),
    ],
)
async def test_requests_are_read_strictly(
    sim: RunningSimulator, fields: dict[str, Any], why: str
) -> None:
    body = {"contract_symbol": "BTC-PERPETUAL", "side": "buy", "size": "0.01", **fields}
    raw = json.dumps(body).replace("Infinity", "1e999999999").encode()
    status, reply, _ = await call(sim, "POST", "/account/place_order", body=raw)
    assert status == 400 and why in reply["error"]["message"], reply


async def test_order_ids_are_uuids(sim: RunningSimulator) -> None:
    status, reply, _ = await call(
        sim, "POST", "/account/cancel_order", body={"order_id": "alpha5-1"}
    )
    assert status == 400 and "UUID" in reply["error"]["message"]
    status, reply, _ = await call(
        sim, "POST", "/account/cancel_order", body={"order_id": str(uuid.uuid4())}
    )
    assert status == 404 and reply["error"]["code"] == "order_not_found"


# ----- readings ------------------------------------------------------------------------------


async def test_edit_cancels_the_rest_and_places_a_new_order(sim: RunningSimulator) -> None:
    order = await place(sim)
    new_price = str(Decimal(order["limit_price"]) - 10)
    status, new, _ = await call(
        sim,
        "POST",
        "/account/edit_order",
        body={"order_id": order["id"], "price": new_price, "size": "0.02"},
    )
    assert status == 200 and new["id"] != order["id"]
    assert (new["limit_price"], new["size"], new["status"]) == (new_price, "0.02", "open")
    old = sim.exchange.orders[order["id"]]
    assert not old.is_open
    async with simulator("alpha5", edit="amend") as other:
        order = await place(other)
        _, same, _ = await call(
            other,
            "GET",
            "/account/edit_order",
            params={"order_id": order["id"], "size": "0.02"},
        )
        assert same["id"] == order["id"] and same["size"] == "0.02"


async def test_an_inverse_contract_is_sized_in_usd_and_settled_in_btc() -> None:
    async with simulator("alpha5", balances={"USDT": "1000", "BTC": "1"}) as sim:
        _, contracts, _ = await call(sim, "GET", "/public/get_live_contracts")
        inverse = next(c for c in contracts if c["symbol"] == "BTC-USD-PERPETUAL")
        assert inverse["settling_asset"]["symbol"] == "BTC"
        assert inverse["quoting_asset"]["symbol"] == "USD"
        status, order, _ = await call(
            sim,
            "POST",
            "/account/place_order",
            body={
                "contract_symbol": "BTC-USD-PERPETUAL",
                "side": "buy",
                "size": "300",
                "type": "market",
            },
        )
        assert status == 200 and order["filled_size"] == "300"
        fills = sim.exchange.trades
        assert sum(f.size for f in fills) == 300 and {f.fee_asset for f in fills} == {"BTC"}
        assert all(f.fee == f.size / f.price * Decimal("0.0005") for f in fills)
        assert sim.exchange.balances["BTC"] == 1 - sum(f.fee for f in fills)
        assert sim.exchange.balances["USDT"] == 1000  # nothing in the quote currency
        status, trades, _ = await call(sim, "GET", "/account/get_user_trades")
        assert trades[0]["fee_asset"] == "BTC" and trades[0]["order_id"] == order["id"]


async def test_an_inverse_order_without_btc_is_refused(sim: RunningSimulator) -> None:
    status, reply, _ = await call(
        sim,
        "POST",
        "/account/place_order",
        body={"contract_symbol": "BTC-USD-PERPETUAL", "side": "buy", "size": "300"},
    )
    assert status == 400 and reply["error"]["code"] == "not_enough_funds"


async def test_positions_and_close_position(sim: RunningSimulator) -> None:
    await place(sim, type="market", price=None)
    params = {"asset": "BTC", "contract_symbol": "BTC-PERPETUAL"}
    _, positions, _ = await call(sim, "GET", "/account/get_positions", params=params)
    (pos,) = positions
    assert set(pos) == {"side", "price", "contract_id"} and pos["side"] == "buy"
    status, closed, _ = await call(
        sim, "POST", "/account/close_position", body={"contract_symbol": "BTC-PERPETUAL"}
    )
    assert status == 200 and closed["contract_id"] == pos["contract_id"]
    assert sim.position("BTC/USDT") == 0
    _, positions, _ = await call(sim, "GET", "/account/get_positions", params=params)
    assert positions == []


async def test_bearer_auth_is_optional() -> None:
    async with simulator("alpha5", token="sekrit") as sim:
        path = "/account/wallet_balances"
        assert (await call(sim, "GET", path))[0] == 401
        assert (await call(sim, "GET", path, headers={"Authorization": "Bearer nope"}))[0] == 401
        assert (await call(sim, "GET", path, headers={"Authorization": "Bearer sekrit"}))[0] == 200
        assert (await call(sim, "GET", "/public/get_assets"))[0] == 200
    async with simulator("alpha5", token="t", token_on_public=True) as sim:
        assert (await call(sim, "GET", "/public/get_assets"))[0] == 401
    async with simulator("alpha5") as sim:
        assert (await call(sim, "GET", "/account/wallet_balances"))[0] == 200  # "None"


async def test_stops_fire_once_though_their_own_fills_print(sim: RunningSimulator) -> None:
    """A triggered stop trades, and its prints check the stops again: none fires twice."""
    _, ask = touch(sim)
    stops = [
        await place(
            sim, type="stop_market", side="sell", price=None, stop_price=str(ask + n), size=size
        )
        for n, size in ((100, "0.01"), (200, "0.02"))
    ]
    assert sim.exchange.trades == []
    sim.exchange.step()  # the next print is below both stop prices
    by_order: dict[str, Decimal] = {}
    for fill in sim.exchange.trades:
        assert fill.venue_order_id is not None
        by_order[fill.venue_order_id] = by_order.get(fill.venue_order_id, Decimal(0)) + fill.size
    assert by_order == {stops[0]["id"]: Decimal("0.01"), stops[1]["id"]: Decimal("0.02")}
    _, still_open, _ = await call(
        sim,
        "GET",
        "/account/get_open_orders",
        params={"asset": "BTC", "contract_symbol": "BTC-PERPETUAL"},
    )
    assert still_open == []
