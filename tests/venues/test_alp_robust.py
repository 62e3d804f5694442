"""ALP.COM against replies no document promises: clean failures, skipped rows, pacing.

A small loopback server answers each path with a canned reply (status, body) and
records when each request arrived; the adapter is the real one over real HTTP.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web

from botkit.events import BookSnapshot, Trade
from botkit.model import Order, OrderType, Side
from botkit.simulator.server import free_port
from botkit.venues.alp import AlpAdapter
from botkit.venues.alp.options import AlpOptions
from botkit.venues.alp.parsing import parse_account_trades_v3
from botkit.venues.kit.errors import AuthError, InvalidRequest, ParseError, VenueError

from .test_alp_adapter import connection
from .test_parsing import ALP_V3_TRADES, doc_json

D = Decimal
PAIRS = [
    {
        "name": "BTC_USDT",
        "currency1": "BTC",
        "currency2": "USDT",
        "price_precision": 2,
        "amount_precision": 4,
        "maximum_order_size": 100,
        "minimum_order_size": 0.0001,
    }
]
ACCOUNTS = [{"id": 25, "name": "a", "email": "x", "id_parent": 0}]
FEES = [{"pair": "BTC_USDT", "maker_fee_rate": 0.001, "taker_fee_rate": 0.002, "priority": 1}]
TRADE = doc_json(ALP_V3_TRADES)[0]  # the seed's example

Reply = tuple[int, bytes | str | object]


@dataclass
class Canned:
    url: str
    replies: dict[str, Reply] = field(default_factory=dict)
    arrivals: list[tuple[float, str, dict[str, str]]] = field(default_factory=list)

    def set(self, path: str, body: object, status: int = 200) -> None:
        self.replies[path] = (status, body)

    def times(self, path: str) -> list[float]:
        return [t for t, p, _ in self.arrivals if p == path]


def seed_venue(canned: Canned) -> None:
    canned.set("/api/v1/pairs/", PAIRS)
    canned.set("/api/v3/accounts", ACCOUNTS)
    canned.set("/api/v3/feeinfo", FEES)
    canned.set("/api/v3/accounts/balances", [])
    canned.set("/api/v3/accounts/trades", [])


@pytest.fixture
async def canned() -> AsyncIterator[Canned]:
    state = Canned("")

    async def handle(request: web.Request) -> web.Response:
        state.arrivals.append((time.monotonic(), request.path, dict(request.headers)))
        status, body = state.replies.get(request.path, (404, {"error": "no such path"}))
        if isinstance(body, bytes):
            return web.Response(body=body, status=status, content_type="application/json")
        text = body if isinstance(body, str) else json.dumps(body)
        return web.Response(text=text, status=status, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    state.url = f"http://127.0.0.1:{port}"
    seed_venue(state)
    try:
        yield state
    finally:
        await runner.cleanup()


def adapter_for(canned: Canned, **options: Any) -> AlpAdapter:
    options.setdefault("min_request_interval_s", 0)
    return AlpAdapter(connection(canned.url, api_key="k", api_secret="s", **options))


async def fails_at_connect(canned: Canned, error: type[Exception], match: str) -> Exception:
    adapter = adapter_for(canned)
    with pytest.raises(error, match=match) as failed:
        await adapter.connect()
    assert "\n" not in str(failed.value)
    assert not adapter.http.is_open  # closed by the failed start itself
    await adapter.close()
    return failed.value


# ----- start-up ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path,body,match",
    [
        ("/api/v1/pairs/", {"pairs": PAIRS}, r"alp GET /api/v1/pairs/ \(pair\): <root>: expected"),
        ("/api/v1/pairs/", [{**PAIRS[0], "price_precision": "x"}], r"\[0\]\.price_precision"),
        ("/api/v3/feeinfo", [{"pair": "BTC_USDT"}], r"GET /api/v3/feeinfo .*\[0\]\.maker_fee_rate"),
        ("/api/v3/accounts", {"id": 25}, r"GET /api/v3/accounts .*<root>"),
        ("/api/v1/pairs/", b"[" * 100_000 + b"]" * 100_000, r"GET /api/v1/pairs/.*<root>: nested"),
        ("/api/v1/pairs/", b'[{"price_precision": 1e999999999999999999999}]', r"<root>: not JSON"),
        ("/api/v1/pairs/", b"\xff\xfe[]", r"<root>: not valid utf-8"),
    ],
)
async def test_an_unreadable_payload_at_start_is_one_parse_error(
    canned: Canned, path: str, body: object, match: str
) -> None:
    canned.set(path, body)
    err = await fails_at_connect(canned, ParseError, match)
    assert isinstance(err, ParseError) and err.venue == "alp"


async def test_refused_credentials_at_start_are_one_auth_error(
    canned: Canned, caplog: pytest.LogCaptureFixture
) -> None:
    canned.set("/api/v3/accounts", {"error": "invalid api-key or api-secret"}, 401)
    await fails_at_connect(canned, AuthError, r"alp HTTP 401: invalid api-key or api-secret")
    gc.collect()
    assert "Unclosed" not in caplog.text


async def test_a_missing_fee_endpoint_is_not_fatal(canned: Canned) -> None:
    canned.set("/api/v3/feeinfo", {"error": "not here"}, 404)
    adapter = adapter_for(canned)
    try:
        inst = (await adapter.instruments())["BTC/USDT"]
        assert inst.maker_fee == 0
    finally:
        await adapter.close()


async def test_connect_can_be_retried_after_a_failure(canned: Canned) -> None:
    canned.set("/api/v1/pairs/", {"oops": 1})
    adapter = adapter_for(canned)
    try:
        with pytest.raises(ParseError):
            await adapter.connect()
        canned.set("/api/v1/pairs/", PAIRS)
        await adapter.connect()
        assert list(await adapter.instruments()) == ["BTC/USDT"]
    finally:
        await adapter.close()


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b"[1e999999999999999999999]",
        b'{"price": NaN}',
        b"\xff\xfe\x00[1]",
        b"9" * 5000,
    ],
)
async def test_an_unreadable_reply_is_a_parse_error_on_success_and_an_error_otherwise(
    canned: Canned, raw: bytes
) -> None:
    adapter = adapter_for(canned)
    try:
        await adapter.connect()
        canned.set("/api/v3/accounts/balances", raw)
        with pytest.raises(ParseError, match="alp GET /api/v3/accounts/balances") as unreadable:
            await adapter.balances()
        assert isinstance(unreadable.value, VenueError) and unreadable.value.ambiguous
        canned.set("/api/v3/accounts/balances", raw, 400)
        with pytest.raises(VenueError) as refused:  # classified by its status
            await adapter.balances()
        assert not isinstance(refused.value, ParseError) and refused.value.status == 400
    finally:
        await adapter.close()


async def test_the_token_may_come_as_plain_text(canned: Canned) -> None:
    token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjk5OTk5OTk5OTl9.c2lnbmF0dXJl"
    canned.set("/api/v3/pairs", PAIRS)
    canned.set("/api/v3/auth", token)  # the Python client reads text/plain too
    adapter = adapter_for(canned, api="official", load_fees=False)
    try:
        assert await adapter.balances() == {}
        assert adapter.rest.token is not None and adapter.rest.token.token == token
        assert adapter.rest.token.expires_s == 9_999_999_999
    finally:
        await adapter.close()


# ----- fills -------------------------------------------------------------------------------


async def test_a_bad_trade_row_is_skipped_counted_and_logged(
    canned: Canned, caplog: pytest.LogCaptureFixture
) -> None:
    good = [dict(TRADE, amount=0.01 * (i + 1)) for i in range(3)]
    bad = [
        {**TRADE, "price": None},
        {**TRADE, "amount": -1},
        {**TRADE, "price": "1e999999999999999999999"},
    ]
    canned.set("/api/v3/accounts/trades", [good[0], *bad, good[1], good[2]])
    adapter = adapter_for(canned)
    try:
        # Each bad row is logged; a field's repeats at debug (the kit's SkipCounter).
        with caplog.at_level(logging.DEBUG, logger="botkit.venues.alp"):
            fills = await adapter.user_trades(None)
        assert sorted(f.size for f in fills) == [D("0.01"), D("0.02"), D("0.03")]
        assert adapter.skipped.total == 3
        assert "alp GET /api/v3/accounts/trades (account_trade_v3): [1].price" in caplog.text
        assert "[2].amount" in caplog.text and "[3].price" in caplog.text
        # And the next poll still works; the same bad rows met again are not new ones.
        assert len(await adapter.user_trades(None)) == 3
        assert adapter.skipped.total == 3
    finally:
        await adapter.close()


async def test_a_trade_page_of_another_shape_is_a_parse_error(canned: Canned) -> None:
    canned.set("/api/v3/accounts/trades", {"data": [TRADE]})
    adapter = adapter_for(canned)
    try:
        with pytest.raises(ParseError, match=r"GET /api/v3/accounts/trades .*<root>"):
            await adapter.user_trades(None)
    finally:
        await adapter.close()


async def test_null_is_an_empty_list(canned: Canned) -> None:
    canned.set("/api/v3/accounts/trades", "null")
    canned.set("/api/v3/accounts/balances", "null")
    adapter = adapter_for(canned)
    try:
        assert await adapter.user_trades(None) == []
        assert await adapter.balances() == {}
    finally:
        await adapter.close()


def test_amounts_are_read_as_strings_or_numbers() -> None:
    as_numbers = parse_account_trades_v3([TRADE])
    as_strings = parse_account_trades_v3(
        [{k: str(v) if isinstance(v, float) else v for k, v in TRADE.items()}]
    )
    assert as_numbers == as_strings
    assert as_numbers[0].price == D("23400.34") and as_numbers[0].fee == D("1.170017")


# ----- orders ---------------------------------------------------------------------------


@pytest.mark.parametrize("body", [{"result": "ok"}, b"[" * 50_000 + b"]" * 50_000, "[34, 35]"])
async def test_an_unreadable_place_reply_is_ambiguous(canned: Canned, body: object) -> None:
    canned.set("/api/v3/orders", body, 201)
    adapter = adapter_for(canned)
    try:
        o = Order("c1", "BTC/USDT", Side.BUY, OrderType.LIMIT, D("0.1"), D("100"))
        with pytest.raises(VenueError) as err:
            await adapter.place(o)
        assert err.value.ambiguous and not isinstance(err.value, InvalidRequest)
        assert "unreadable reply to the place" in err.value.message
    finally:
        await adapter.close()


async def test_a_value_that_cannot_be_sent_is_refused_not_crashed(canned: Canned) -> None:
    adapter = adapter_for(canned)
    try:
        o = Order("bad\ud800id", "BTC/USDT", Side.BUY, OrderType.LIMIT, D("0.1"), D("100"))
        # JSON escapes the lone surrogate; the place goes out (and the canned venue,
        # which has no place route, refuses it): no UnicodeEncodeError anywhere.
        with pytest.raises(VenueError):
            await adapter.place(o)
        # A v1 form body cannot carry it at all: refused before sending.
        with pytest.raises(InvalidRequest, match="not valid Unicode"):
            await adapter.rest.private("POST", "/api/v1/order/", body={"x": "\ud800"}, form=True)
    finally:
        await adapter.close()


# ----- market data -------------------------------------------------------------------------


async def next_event(stream: Any, timeout_s: float = 2.0) -> Any:
    return await asyncio.wait_for(anext(stream), timeout_s)


async def test_a_book_of_another_shape_is_never_an_empty_book(
    canned: Canned, caplog: pytest.LogCaptureFixture
) -> None:
    canned.set("/api/v1/orderbook/BTC_USDT", {"bids": [], "asks": []})
    canned.set("/api/v1/exchanges/", [])
    adapter = adapter_for(canned, market_poll_s=0.01)
    stream = adapter.market_stream(["BTC/USDT"])
    try:
        with pytest.raises(asyncio.TimeoutError):
            await next_event(stream, 0.5)
        assert adapter.skipped.counts["GET /api/v1/orderbook/BTC_USDT buy"] >= 1
        assert "alp GET /api/v1/orderbook/BTC_USDT (orderbook): buy: missing" in caplog.text
        canned.set("/api/v1/orderbook/BTC_USDT", {"buy": [], "sell": None})
        stream = adapter.market_stream(["BTC/USDT"])
        first = await next_event(stream, 10.0)
        assert isinstance(first, BookSnapshot) and first.bids == [] and first.asks == []
    finally:
        await stream.aclose()
        await adapter.close()


async def test_non_positive_market_data_is_dropped_and_counted(canned: Canned) -> None:
    canned.set(
        "/api/v1/orderbook/BTC_USDT",
        {
            "buy": [{"price": 100, "amount": 1}, {"price": 0, "amount": 1}, [99, "-2"]],
            "sell": [{"price": "101", "amount": "0"}, {"price": 102, "amount": 3}],
        },
    )
    trade = {"id": 1, "price": 100, "amount": 1, "timestamp": 1, "pair": "BTC_USDT"}
    canned.set("/api/v1/exchanges/", [trade])
    adapter = adapter_for(canned, market_poll_s=0.01)
    stream = adapter.market_stream(["BTC/USDT"])
    try:
        book = await next_event(stream)
        assert book.bids == [(100.0, 1.0)] and book.asks == [(102.0, 3.0)]
        assert adapter.skipped.total == 3
        bad = [
            {**trade, "id": 2, "price": -5},
            {**trade, "id": 3, "amount": 0},
            {**trade, "id": 4, "price": 100.5},
        ]
        canned.set("/api/v1/exchanges/", [trade, *bad])
        events = [await next_event(stream) for _ in range(2)]
        trades = [e for e in events if isinstance(e, Trade)]
        assert [(t.trade_id, t.price) for t in trades] == [("4", 100.5)]
        assert adapter.skipped.total >= 5
    finally:
        await stream.aclose()
        await adapter.close()


async def test_the_official_book_and_trades_are_read_the_same_way(canned: Canned) -> None:
    canned.set("/api/v3/pairs", [{**PAIRS[0], "minimum_order_value": 10.0}])
    canned.set("/api/v3/orderbook", {"buy": [{"amount": 1.0, "price": 45000.0}], "sell": []})
    canned.set("/api/v3/trades", [])
    # Public data needs no credentials.
    adapter = AlpAdapter(connection(canned.url, api_key=None, api_secret=None, api="official"))
    stream = adapter.market_stream(["BTC/USDT"])
    try:
        book = await next_event(stream)
        assert book.bids == [(45000.0, 1.0)]
        assert (await adapter.instruments())["BTC/USDT"].min_notional == 10
        asked = [headers for _, path, headers in canned.arrivals if path == "/api/v3/orderbook"]
        assert asked and "Authorization" not in asked[0]
    finally:
        await stream.aclose()
        await adapter.close()


# ----- the rate limit -------------------------------------------------------------------------


async def test_private_calls_keep_the_documented_rate_with_a_margin(canned: Canned) -> None:
    adapter = AlpAdapter(
        connection(canned.url, api_key="k", api_secret="s", load_fees=False, account_id=25)
    )
    try:
        assert adapter.min_request_interval_s == 0.5  # the documented figure, for the gateway
        assert adapter.rest.calls.interval_s == pytest.approx(0.55)  # what the client keeps
        await asyncio.gather(*(adapter.balances() for _ in range(4)))
        arrivals = canned.times("/api/v3/accounts/balances")
        gaps = [b - a for a, b in itertools.pairwise(arrivals)]
        assert len(gaps) == 3 and min(gaps) >= 0.54
        # 2 calls in any window of one second, whichever way the venue counts.
        assert all(b - a > 1.0 for a, b in zip(arrivals, arrivals[2:], strict=False))
    finally:
        await adapter.close()


def test_rate_options_are_checked() -> None:
    for options, named in (
        ({"rate_margin": -0.1}, "rate_margin"),
        ({"min_request_interval_s": -1}, "min_request_interval_s"),
        ({"api": "v2"}, "api"),
        ({"replace_separator": "~"}, "replace_separator: unknown option"),  # the router owns ids
    ):
        with pytest.raises(ValueError, match=f"alp venue.options.{named}"):
            AlpAdapter(connection("http://127.0.0.1:1", **options))
    assert AlpOptions.load({}).spacing_s == pytest.approx(0.55)  # 0.5 s and the kit's margin


async def test_a_place_stopped_by_the_token_never_counts_as_sent(canned: Canned) -> None:
    canned.set("/api/v3/pairs", PAIRS)
    adapter = adapter_for(canned, api="official", load_fees=False)
    try:
        o = Order("t1", "BTC/USDT", Side.BUY, OrderType.LIMIT, D("0.1"), D("100"))
        canned.set("/api/v3/auth", "not a token")
        with pytest.raises(AuthError, match="the place was not sent") as refused:
            await adapter.place(o)
        assert refused.value.definite  # rejected at once: nothing went out
        canned.set("/api/v3/auth", {"error": "down"}, 503)
        with pytest.raises(VenueError) as unavailable:
            await adapter.place(o)
        assert unavailable.value.ambiguous
        calls = len(canned.arrivals)
        assert await adapter.find_order(o) is None  # known absent, without a call
        assert len(canned.arrivals) == calls
        assert canned.times("/api/v3/trading/order") == []
    finally:
        await adapter.close()
