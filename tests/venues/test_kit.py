"""The venue kit on its own: decoding, numbers, rows, id memory, acks, options, the REST
core (over a loopback server that answers badly on purpose) and the signed-call discipline."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import pickle
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field

from botkit.model import Order, OrderStatus, OrderType, Side, TimeInForce
from botkit.redact import Secret
from botkit.simulator.server import free_port
from botkit.venues import registry
from botkit.venues.blocktrade.parsing import classify_error as bt_classify
from botkit.venues.kit.adapter import AdapterBase, Connection, SkipCounter
from botkit.venues.kit.errors import (
    AMBIGUOUS,
    AuthError,
    InvalidRequest,
    ParseError,
    RateLimited,
    UnreadableReply,
    VenueError,
    VenueUnavailable,
    is_ambiguous,
)
from botkit.venues.kit.ids import IdMemory
from botkit.venues.kit.nonce import ClockNonce
from botkit.venues.kit.options import SecretOption, VenueOptions
from botkit.venues.kit.parsing import (
    MAX_JSON_DEPTH,
    Fields,
    decode_json,
    parse_decimal,
    parse_levels,
    rows,
)
from botkit.venues.kit.rest import (
    KeyPair,
    RestClient,
    SignedCalls,
    api_base,
    path,
    query_params,
)
from botkit.venues.kit.types import ack

D = Decimal


# ----- decoding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,charset,detail",
    [
        (b'{"a": "\xff"}', None, "not valid utf-8"),
        (b"{}", "x-no-such-charset", "unknown charset"),
        ("[" * 5000 + "]" * 5000, None, "nested deeper"),
        ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), None, "nested deeper"),
        ('{"price": NaN}', None, "not JSON"),
        ('{"price": Infinity}', None, "not JSON"),
        ('{"id": ' + "1" * 5000 + "}", None, "not JSON"),
        ('"\\ud800"', None, "lone surrogate"),
        ("{'a': 1}", None, "not JSON"),
    ],
)
def test_decode_json_refuses_with_a_parse_error(
    raw: bytes | str, charset: str | None, detail: str
) -> None:
    with pytest.raises(ParseError, match=detail) as err:
        decode_json(raw, "v", "GET /x", charset=charset)
    assert (err.value.venue, err.value.kind, err.value.field) == ("v", "GET /x", "<root>")


def test_decode_json_reads_what_is_json() -> None:
    assert decode_json(b"", "v", "k") is None
    assert decode_json(b"  \n", "v", "k") is None
    assert decode_json('{"p": "1.5"}'.encode("utf-16"), "v", "k", charset="utf-16") == {"p": "1.5"}
    assert decode_json(b'{"p": 0.1}', "v", "k") == {"p": 0.1}
    assert decode_json(b'{"p": 0.1}', "v", "k", exact=True) == {"p": D("0.1")}
    nested = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert decode_json(nested, "v", "k") is not None
    # An exponent too large for Decimal is a parse error, not decimal.InvalidOperation.
    with pytest.raises(ParseError):
        decode_json(b'{"p": 1e999999999999999999999}', "v", "k", exact=True)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_decode_json_raises_nothing_but_parse_errors_on_bytes(raw: bytes) -> None:
    with contextlib.suppress(ParseError):
        decode_json(raw, "v", "k")


@settings(max_examples=100, deadline=None)
@given(depth=st.integers(min_value=1, max_value=3000), opener=st.sampled_from(["[", '{"a":']))
def test_decode_json_any_depth(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    text = opener * depth + "1" + closer * depth
    if depth <= MAX_JSON_DEPTH:  # that many containers, one inside the other
        assert decode_json(text, "v", "k") is not None
    else:
        with pytest.raises(ParseError, match="nested deeper"):
            decode_json(text, "v", "k")


@pytest.mark.parametrize(
    "value",
    [
        "1e999999999999999999999",
        "-1e999999999999999999999",
        "1e-999999999999999999999",
        "9" * 5000,
        D("1E+999999"),
        float("nan"),
        float("-inf"),
        10**200,
    ],
)
def test_out_of_range_numbers_are_parse_errors(value: object) -> None:
    with pytest.raises(ParseError, match=r"range|finite"):
        parse_decimal(value, "v", "k", "f")


# ----- rows and levels ---------------------------------------------------------------------------


def _trade(f: Fields) -> tuple[float, float]:
    return f.positive_number("price"), f.positive_number("amount")


def test_rows_raise_without_skip_and_skip_with_it() -> None:
    data = [{"price": "1", "amount": "2"}, {"price": "-5", "amount": "1"}, {"price": "3"}, [1]]
    with pytest.raises(ParseError, match=r"data\[1\]\.price: must be > 0"):
        rows(data, _trade, venue="v", kind="trade", path="data")
    skipped: list[ParseError] = []
    assert rows(data, _trade, skipped.append, venue="v", kind="trade", path="data") == [(1.0, 2.0)]
    assert [e.field for e in skipped] == ["data[1].price", "data[2].amount", "data[3]"]


def test_levels_drop_non_positive_prices_and_sizes() -> None:
    raw = [
        {"price": "10", "amount": "1"},
        {"price": "0", "amount": "1"},
        {"price": "-1", "amount": "1"},
        {"price": "9", "amount": "-1"},
        {"price": "8", "amount": "0"},
        ["7", "2"],
    ]
    skipped: list[ParseError] = []
    full = parse_levels(
        raw, "v", "book", "bids", descending=True, allow_zero=False, skip=skipped.append
    )
    assert full == [(10.0, 1.0), (7.0, 2.0)]
    assert len(skipped) == 4
    skipped.clear()
    update = parse_levels(raw, "v", "book", "bids", descending=True, skip=skipped.append)
    assert update == [(10.0, 1.0), (8.0, 0.0), (7.0, 2.0)]  # 0 removes a level in an update
    assert len(skipped) == 3
    with pytest.raises(ParseError, match=r"bids\[1\]: price must be > 0"):
        parse_levels(raw, "v", "book", "bids", descending=True)


def test_skip_counter_counts_per_field_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    counter = SkipCounter("v")
    skip = counter.at("GET /user_trades")
    with caplog.at_level(logging.DEBUG, logger="botkit.venues.v"):
        for i in range(3):
            skip(ParseError("v", "user_trade", f"data[{i}].price", "missing"))
        skip(ParseError("v", "user_trade", "data[0].amount", "must be > 0, got -1"))
    assert counter.counts == {
        "GET /user_trades data[].price": 3,
        "GET /user_trades data[].amount": 1,
    }
    assert counter.total == 4
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "v GET /user_trades (user_trade): data[0].price: missing" in warnings[0]


def test_skip_counter_once_counts_a_record_met_again_once() -> None:
    # An endpoint that answers with the whole history on every call.
    counter = SkipCounter("v", memory=2)
    history = counter.at("GET /trades", once=True)
    bad = ParseError("v", "trade", "[3].price", "missing")
    for _ in range(3):
        history(bad)
    assert counter.counts == {"GET /trades [].price": 1}
    history(ParseError("v", "trade", "[4].price", "missing"))  # another bad record
    assert counter.counts == {"GET /trades [].price": 2}
    counter.at("GET /trades")(bad)  # without once, every meeting counts
    assert counter.total == 3
    for i in (5, 6):  # the memory is bounded: the oldest is forgotten first
        history(ParseError("v", "trade", f"[{i}].price", "missing"))
    history(bad)
    assert counter.counts == {"GET /trades [].price": 6}


# ----- errors -----------------------------------------------------------------------------------


def test_the_ambiguity_set_and_the_unreadable_reply() -> None:
    for exc in (TimeoutError(), aiohttp.ClientConnectionError(), ConnectionResetError()):
        assert isinstance(exc, AMBIGUOUS) and is_ambiguous(exc)
    assert is_ambiguous(VenueUnavailable("v", "m")) and not is_ambiguous(AuthError("v", "m"))
    assert not is_ambiguous(ValueError("not a transport failure"))

    err = UnreadableReply.of(
        ParseError("v", "order_ack", "id", "missing"), endpoint="POST /orders", status=200
    )
    assert isinstance(err, ParseError) and isinstance(err, VenueError)
    assert err.ambiguous and not err.retryable and not err.definite
    assert str(err) == err.message == "v POST /orders (order_ack): id: missing"
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is UnreadableReply and str(again) == str(err) and again.status == 200
    plain = pickle.loads(pickle.dumps(ParseError("v", "k", "f", "d").at("GET /y")))
    assert plain.endpoint == "GET /y" and str(plain) == "v GET /y (k): f: d"


def test_classify_survives_deeply_nested_error_bodies() -> None:
    body: Any = {"message": "deep"}
    for _ in range(5000):
        body = {"error": body, "errors": [body]}
    err = bt_classify(400, body)
    assert isinstance(err, InvalidRequest)


# ----- id memory and acks ----------------------------------------------------------------------


def test_id_memory_both_ways_with_claims() -> None:
    ids = IdMemory()
    assert ids.remember("a", "1") and ids.remember("b", "2")
    assert (ids.client_id("1"), ids.venue_id("b")) == ("a", "2")
    assert not ids.remember("c", "1")  # another client id's venue order
    assert ids.client_id("1") == "a" and ids.venue_id("c") is None
    assert ids.claimed("1", by_other_than="c") and not ids.claimed("1", by_other_than="a")
    assert not ids.claimed("9")
    ids.mark_unowned("9")
    assert ids.known("9") and ids.client_id("9") is None and not ids.claimed("9")
    assert ids.remember("a", "3")  # a re-placed attempt moves; its old id stays claimed
    assert ids.venue_id("a") == "3" and ids.claimed("1", by_other_than="b")


def test_id_memory_is_bounded_oldest_first() -> None:
    ids = IdMemory(limit=3)
    for i in range(5):
        ids.remember(f"c{i}", f"v{i}")
    assert len(ids) == 3
    assert ids.client_id("v0") is None and ids.venue_id("c0") is None
    assert ids.client_id("v4") == "c4"
    with pytest.raises(ValueError):
        IdMemory(limit=0)


def test_ack_is_the_order_as_sent() -> None:
    order = Order(
        "cid", "BTC/USDT", Side.SELL, OrderType.LIMIT, D("2"), D("100"), TimeInForce.IOC, attempt=2
    )
    vo = ack(order, "v", "77", raw_status="NEW", ts_ns=5)
    assert (vo.venue, vo.venue_order_id, vo.client_id, vo.symbol, vo.side) == (
        "v",
        "77",
        "cid-r2",
        "BTC/USDT",
        Side.SELL,
    )
    assert (vo.type, vo.price, vo.size, vo.filled, vo.avg_price, vo.tif) == (
        OrderType.LIMIT,
        D("100"),
        D("2"),
        0,
        None,
        TimeInForce.IOC,
    )
    assert (vo.status, vo.raw_status, vo.ts_ns) == (OrderStatus.OPEN, "NEW", 5)
    market = Order("m", "X", Side.BUY, OrderType.MARKET, D("1"), D("5"))
    closed = ack(market, "v", "8", status=OrderStatus.CANCELED, client_id="theirs", size=D("0.5"))
    assert (closed.price, closed.client_id, closed.size, closed.status) == (
        None,
        "theirs",
        D("0.5"),
        OrderStatus.CANCELED,
    )
    assert closed.ts_ns > 0


# ----- options ---------------------------------------------------------------------------------


class ExampleOptions(VenueOptions):
    min_request_interval_s: float = Field(0.5, ge=0)
    bearer_token: SecretOption | None = None
    account_id: str | None = None


def test_options_are_typed_and_strict() -> None:
    given = {"bearer_token": Secret("s3cr3t-value"), "account_id": Secret("acc")}
    opts = ExampleOptions.load(given, "ex")
    assert isinstance(opts.bearer_token, Secret) and opts.bearer_token.reveal() == "s3cr3t-value"
    assert opts.account_id == "acc"  # not a secret by this schema: unwrapped
    assert "s3cr3t" not in repr(opts) and "s3cr3t" not in str(opts.model_dump())
    assert ExampleOptions.load({"bearer_token": "plain"}).bearer_token == Secret("plain")
    assert opts.spacing_s == pytest.approx(0.55)  # the documented interval plus 10 %
    assert ExampleOptions.load(None).request_timeout_s == 10.0

    with pytest.raises(ValueError, match=r"^ex venue\.options\.timeout: unknown option$"):
        ExampleOptions.load({"timeout": 1}, "ex")
    with pytest.raises(ValueError, match=r"ex venue\.options\.request_timeout_s: .*greater than 0"):
        ExampleOptions.load({"request_timeout_s": 0}, "ex")
    with pytest.raises(ValueError) as err:
        ExampleOptions.load({"bearer_token": 12345, "rate_margin": "x"}, "ex")
    assert "bearer_token" in str(err.value) and "rate_margin" in str(err.value)
    assert "12345" not in str(err.value)  # a value is never echoed: it may be a secret


# ----- REST core over loopback --------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, dict[str, Handler]]]:
    """A loopback server whose routes a test fills in."""
    routes: dict[str, Handler] = {}

    async def dispatch(request: web.Request) -> web.StreamResponse:
        return await routes[request.rel_url.raw_path](request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", dispatch)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", routes
    finally:
        await runner.cleanup()


def raw(status: int, body: bytes, content_type: str = "application/json; charset=utf-8") -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})

    return handler


async def test_rest_client_decodes_safely_and_classifies(
    server: tuple[str, dict[str, Handler]],
) -> None:
    base, routes = server
    routes["/ok"] = raw(200, b'{"id": 7}')
    routes["/empty"] = raw(202, b"")
    routes["/bad-utf8"] = raw(200, b'{"id": "\xff"}')
    routes["/charset"] = raw(200, b"{}", "application/json; charset=x-no-such")
    routes["/deep"] = raw(200, b"[" * 3000 + b"]" * 3000)
    routes["/html"] = raw(200, b"<html>maintenance</html>", "text/html")
    routes["/garbage-503"] = raw(503, b"\xff\xfe\x00", "text/plain; charset=x-no-such")
    routes["/html-400"] = raw(400, b"<h1>Bad request</h1>", "text/html")
    routes["/deep-400"] = raw(400, b'{"error":' * 3000 + b"1" + b"}" * 3000)

    async def limited(request: web.Request) -> web.StreamResponse:
        return web.json_response({"message": "slow down"}, status=429, headers={"Retry-After": "3"})

    routes["/limited"] = limited

    async def echo(request: web.Request) -> web.StreamResponse:
        return web.json_response({"q": dict(request.query), "path": request.rel_url.raw_path})

    routes["/v1/echo/a%2Fb"] = echo

    client = RestClient("v", base, classify=bt_classify, timeout_s=5)
    try:
        reply = await client.send("GET", "/ok")  # opens the session itself
        assert (reply.status, reply.body, reply.endpoint) == (200, {"id": 7}, "GET /ok")
        assert (await client.send("POST", "/empty")).body is None
        for route in ("/bad-utf8", "/charset", "/deep", "/html"):
            with pytest.raises(UnreadableReply) as unreadable:
                await client.send("POST", route)
            assert unreadable.value.ambiguous and unreadable.value.endpoint == f"POST {route}"
        with pytest.raises(VenueUnavailable):
            await client.send("GET", "/garbage-503")
        with pytest.raises(InvalidRequest, match="Bad request"):
            await client.send("GET", "/html-400")
        with pytest.raises(InvalidRequest):
            await client.send("GET", "/deep-400")
        with pytest.raises(RateLimited) as rl:
            await client.send("GET", "/limited")
        assert rl.value.retry_after == 3.0
    finally:
        await client.close()
    assert not client.is_open

    prefixed = RestClient("v", api_base(base, "/v1"), classify=bt_classify, timeout_s=5)
    try:
        echoed = await prefixed.send(
            "GET", "/echo" + path("a/b"), params={"n": 1, "d": D("1E-8"), "f": False, "x": None}
        )
    finally:
        await prefixed.close()
    assert echoed.body["q"] == {"n": "1", "d": "0.00000001", "f": "false"}
    assert echoed.body["path"] == "/v1/echo/a%2Fb"


async def test_rest_client_hands_on_plain_text_only_when_asked(
    server: tuple[str, dict[str, Handler]],
) -> None:
    base, routes = server
    token = "a" * 300 + "." + "b" * 600 + "." + "c" * 40  # longer than an error's excerpt
    routes["/token"] = raw(200, token.encode(), "text/plain; charset=utf-8")
    routes["/json"] = raw(200, b'"quoted"')
    routes["/bytes"] = raw(200, b"\xff\xfe", "text/plain; charset=utf-8")
    client = RestClient("v", base, classify=bt_classify, timeout_s=5)
    try:
        with pytest.raises(UnreadableReply):
            await client.send("POST", "/token")  # JSON is what a reply is, by default
        assert (await client.send("POST", "/token", text=True)).body == token  # whole
        assert (await client.send("POST", "/json", text=True)).body == "quoted"  # JSON first
        with pytest.raises(UnreadableReply):
            await client.send("POST", "/bytes", text=True)  # not text at all
    finally:
        await client.close()


async def test_rest_client_reply_read_headers_and_a_final_close(
    server: tuple[str, dict[str, Handler]],
) -> None:
    base, routes = server

    async def counted(request: web.Request) -> web.StreamResponse:
        return web.json_response([1, 2], headers={"X-Total-Count": "12"})

    routes["/page"] = counted
    client = RestClient("v", base, classify=bt_classify, timeout_s=5)
    reply = await client.send("GET", "/page")
    assert reply.headers["x-total-count"] == "12"  # looked up case-insensitively
    assert reply.read(lambda body, i: body[i], 1) == 2
    with pytest.raises(UnreadableReply) as unreadable:
        reply.read(Fields, "v", "page")  # a list where an object was expected
    assert unreadable.value.endpoint == "GET /page" and unreadable.value.ambiguous
    await client.close()
    await client.send("GET", "/page")  # a plain close: the next call opens a session again
    await client.close(final=True)
    for call in (client.open(), client.send("GET", "/page")):
        with pytest.raises(VenueError, match="closed"):
            await call  # closed for good: no session that nobody would close
    assert not client.is_open
    await client.close()  # still idempotent


def test_key_pair_reveals_only_to_sign() -> None:
    keys = KeyPair.of("k", Secret("hunter2"))
    assert keys.present and keys.reveal("v") == ("k", "hunter2")
    assert "hunter2" not in repr(keys) and "hunter2" not in str(keys.secret)
    for missing in (KeyPair.of(None, "s"), KeyPair.of("k", ""), KeyPair(None, None)):
        assert not missing.present
        with pytest.raises(AuthError, match="no API key and secret"):
            missing.reveal("v")


def test_api_base_and_query_params() -> None:
    assert api_base("https://host", "/api/v1") == "https://host/api/v1"
    assert api_base("https://host/", "/api/v1") == "https://host/api/v1"
    assert api_base("https://host/custom/", "/api/v1") == "https://host/custom"
    with pytest.raises(ValueError, match="base_url"):
        api_base("host:8080", "/api")
    assert query_params({"a": True, "b": None, "c": D("0.10")}) == {"a": "true", "c": "0.10"}
    assert path("orders", "a b/c", 7) == "/orders/a%20b%2Fc/7"


# ----- signed calls ------------------------------------------------------------------------------


async def test_signed_calls_go_in_nonce_order_and_spaced() -> None:
    calls = SignedCalls("v", ClockNonce(), interval_s=0.05)
    started: list[tuple[int, float]] = []
    answered: list[int] = []
    loop = asyncio.get_running_loop()

    async def attempt(nonce: int, sent: asyncio.Event) -> int:
        started.append((nonce, loop.time()))
        sent.set()
        await asyncio.sleep(0.01 * (nonce % 3))  # slow and quick replies
        answered.append(nonce)
        return nonce

    results = await asyncio.gather(*(calls.call(attempt) for _ in range(6)))
    # Each call started after the one before had its reply, in nonce order.
    assert [n for n, _ in started] == answered == sorted(results)
    gaps = [b - a for (_, a), (_, b) in itertools.pairwise(started)]
    assert min(gaps) >= 0.049


@pytest.mark.parametrize("release", ["reply", "sent"])
async def test_the_spacing_runs_from_when_a_request_was_written(release: str) -> None:
    # The venue counts arrivals: a request slow to leave (a busy process) must not
    # let the next one follow it closer than the interval.
    calls = SignedCalls("v", ClockNonce(), interval_s=0.05, release=release)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    written: list[float] = []

    async def attempt(nonce: int, sent: asyncio.Event) -> int:
        if not written:
            await asyncio.sleep(0.04)  # the first takes 40 ms to build and write
        written.append(loop.time())
        sent.set()
        return nonce

    await asyncio.gather(*(calls.call(attempt) for _ in range(3)))
    gaps = [b - a for a, b in itertools.pairwise(written)]
    assert min(gaps) >= 0.049, gaps


async def test_signed_calls_release_when_sent() -> None:
    calls = SignedCalls("v", ClockNonce(), release="sent")
    started: list[int] = []
    gate = asyncio.Event()

    async def attempt(nonce: int, sent: asyncio.Event) -> int:
        started.append(nonce)
        sent.set()
        await gate.wait()  # no reply yet
        return nonce

    tasks = [asyncio.ensure_future(calls.call(attempt)) for _ in range(3)]
    await asyncio.sleep(0.05)
    assert len(started) == 3 and started == sorted(started)  # all on the wire, in order
    gate.set()
    assert sorted(await asyncio.gather(*tasks)) == started


async def test_a_refused_nonce_is_signed_again_past_the_venues() -> None:
    nonce = ClockNonce(last=10)
    seen: list[int] = []

    async def attempt(n: int, sent: asyncio.Event) -> str:
        seen.append(n)
        if n < 10**15:
            raise AuthError("v", f"Invalid nonce: must be greater than {10**15}", status=401)
        return "ok"

    assert await SignedCalls("v", nonce).call(attempt) == "ok"
    assert len(seen) == 2 and seen[1] == 10**15 + 1

    async def always(n: int, sent: asyncio.Event) -> str:
        raise AuthError("v", "Invalid nonce", status=401)

    with pytest.raises(AuthError):  # once only, then the refusal stands
        await SignedCalls("v", ClockNonce()).call(always)

    async def other(n: int, sent: asyncio.Event) -> str:
        seen.append(n)
        raise AuthError("v", "Invalid signature", status=401)

    seen.clear()
    with pytest.raises(AuthError, match="signature"):
        await SignedCalls("v", ClockNonce()).call(other)
    assert len(seen) == 1  # not a nonce refusal: not re-signed


class CountingNonce(ClockNonce):
    draws = 0

    def next(self) -> int:
        self.draws += 1
        return super().next()


async def test_spaced_calls_take_their_turn_without_a_nonce() -> None:
    nonce = CountingNonce()
    calls = SignedCalls("v", nonce, interval_s=0.05, release="sent")
    order: list[str] = []
    loop = asyncio.get_running_loop()
    times: list[float] = []
    sent_marks: list[str] = []

    async def signed(n: int, sent: asyncio.Event) -> int:
        order.append(f"signed {n}")
        times.append(loop.time())
        sent.set()
        return n

    async def unsigned(sent: asyncio.Event) -> str:
        order.append("unsigned")
        times.append(loop.time())
        sent.set()
        return "ok"

    first = await calls.call(signed)
    results = await asyncio.gather(
        calls.spaced(unsigned, on_send=lambda: sent_marks.append("u")), calls.call(signed)
    )
    assert results[0] == "ok" and results[1] > first
    assert order == [f"signed {first}", "unsigned", f"signed {results[1]}"]
    assert nonce.draws == 2 and sent_marks == ["u"]  # only the signed calls drew one
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.049  # spaced like the signed calls

    async def refused(sent: asyncio.Event) -> str:
        raise AuthError("v", "Invalid nonce: must be greater than 5", status=401)

    with pytest.raises(AuthError):  # it carries no nonce: nothing to re-sign
        await calls.spaced(refused)
    assert nonce.draws == 2


async def test_a_cancelled_caller_cancels_its_request() -> None:
    calls = SignedCalls("v", ClockNonce())
    cancelled = asyncio.Event()

    async def slow(n: int, sent: asyncio.Event) -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    task = asyncio.ensure_future(calls.call(slow))
    await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(cancelled.wait(), 1)

    async def quick(n: int, sent: asyncio.Event) -> int:
        return n

    assert await asyncio.wait_for(calls.call(quick), 1)  # the turn was released


# ----- the adapter base -------------------------------------------------------------------------


class FlakyAdapter(AdapterBase):
    name = "kit-test"
    Options = ExampleOptions

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.http = RestClient(self.name, connection.base_url, classify=bt_classify)
        self.starts = 0
        self.fail = True

    async def _connect(self) -> None:
        self.starts += 1
        await asyncio.sleep(0.01)
        if self.fail:
            raise VenueUnavailable(self.name, "not today")


async def test_adapter_base_lifecycle_and_capabilities() -> None:
    spec = registry.VenueSpec(
        name="kit-test",
        title="Kit test",
        capabilities=registry.Capabilities(edit=True, user_trade_stream=True),
    )
    with registry.registered(spec):
        adapter = FlakyAdapter.from_connection(
            Connection("http://127.0.0.1:9", options={"min_request_interval_s": 0.25})
        )
        assert (adapter.supports_edit, adapter.supports_client_id) == (True, False)
        assert adapter.has_user_trade_stream and adapter.min_request_interval_s == 0.25
        with pytest.raises(VenueUnavailable):
            await adapter.connect()
        assert not adapter.http.is_open and not adapter.connected  # closed after the failure
        adapter.fail = False
        await asyncio.gather(*(adapter.connect() for _ in range(5)))
        assert adapter.starts == 2 and adapter.connected and adapter.http.is_open
        await adapter.ready()
        assert adapter.starts == 2
        await adapter.close()
        await adapter.close()
        assert not adapter.http.is_open and not adapter.connected
        with pytest.raises(ValueError, match=r"kit-test venue\.options\.nope: unknown option"):
            FlakyAdapter(Connection("http://127.0.0.1:9", options={"nope": 1}))


def test_connection_repr_hides_credentials() -> None:
    text = repr(Connection("http://x", credentials={"api_secret": "hunter2"}))
    assert "hunter2" not in text


def test_json_body_round_trip_is_exact() -> None:
    from botkit.venues.kit.parsing import json_body

    body = json_body({"price": D("0.00000001"), "amount": D("12345678901234567890.5")})
    assert json.loads(body) == {"price": "0.00000001", "amount": "12345678901234567890.5"}


def test_json_body_can_write_decimals_as_number_literals() -> None:
    from botkit.venues.kit.parsing import json_body

    payload = {"p": D("25750.45"), "a": D("1E-8"), "ids": [1, 5], "f": True, "n": None, "s": "é"}
    text = json_body(payload, decimals="number")
    assert text == '{"p":25750.45,"a":0.00000001,"ids":[1,5],"f":true,"n":null,"s":"\\u00e9"}'
    assert json.loads(text, parse_float=D) == {**payload, "a": D("0.00000001")}
    assert json_body(payload) == json_body(payload, decimals="string")
    with pytest.raises(ValueError):
        json_body({"p": D("NaN")}, decimals="number")


def test_upper_case_names_of_our_vocabulary() -> None:
    from botkit.venues.kit.types import ORDER_TYPE_NAMES, SIDE_NAMES, TIF_NAMES

    assert dict(SIDE_NAMES) == {Side.BUY: "BUY", Side.SELL: "SELL"}
    assert ORDER_TYPE_NAMES[OrderType.STOP_LIMIT] == "STOP_LIMIT" and len(ORDER_TYPE_NAMES) == 4
    assert dict(TIF_NAMES) == {
        TimeInForce.GTC: "GTC",
        TimeInForce.IOC: "IOC",
        TimeInForce.FOK: "FOK",
    }
