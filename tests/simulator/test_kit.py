"""The simulator kit: strict requests and parameters, the one error path, faults, limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from decimal import Decimal
from typing import Any, ClassVar

import aiohttp
import pytest
from aiohttp import web

from botkit.model import Instrument
from botkit.simulator.backend import ExchangeBackend
from botkit.simulator.kit import (
    Faults,
    NonceBook,
    Params,
    RateLimit,
    Refusal,
    Route,
    SimRequest,
    VenueServer,
    bearer_token,
    decode_json,
    parse_nonce,
    to_json,
)
from botkit.simulator.kit.request import MAX_DEPTH, decode_pairs, json_depth
from botkit.simulator.server import free_port

# ----- JSON, query strings, forms ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "[1e999999999]",  # a number out of any range decodes; Params refuses it where read
        '{"a": "ok", "b": [1, 2.5, null, true]}',
        '"\\u00e9"',
        "[" * MAX_DEPTH + "]" * MAX_DEPTH,
    ],
)
def test_good_json_decodes(text: str) -> None:
    decode_json(text)


@pytest.mark.parametrize(
    "text,why",
    [
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested deeper"),
        ("[" * 100_000, "nested deeper"),  # the depth is measured without recursion
        ('{"a": 1, "a": 2}', "duplicate key"),
        ('"\\ud800"', "lone surrogate"),
        ('{"\\udfff": 1}', "lone surrogate"),
        ("NaN", "NaN is not JSON"),
        ("[Infinity]", "Infinity is not JSON"),
        ("1" * 41, "out of range"),
        ("{", "malformed JSON"),
    ],
)
def test_bad_json_is_a_400(text: str, why: str) -> None:
    with pytest.raises(Refusal) as err:
        decode_json(text)
    assert err.value.status == 400 and why in err.value.message


def test_depth_ignores_brackets_in_strings_and_escapes() -> None:
    assert json_depth('{"a": "[[[[\\"]]"}') == 1
    assert json_depth('"\\\\"[[') == 2


@pytest.mark.parametrize("query", ["a=%ff", "a=%e2%82", "a=1&a=2"])
def test_malformed_query_strings_are_refused(query: str) -> None:
    with pytest.raises(Refusal):
        decode_pairs(query, "query string")


def test_query_strings_decode_strictly() -> None:
    assert decode_pairs("a=1+2&b=%C3%A9&c=", "q") == [("a", "1 2"), ("b", "é"), ("c", "")]


def _req(body: bytes, charset: str | None = None) -> SimRequest:
    return SimRequest("POST", "/", {}, None, body, "application/json", {}, charset)  # type: ignore[arg-type]


def test_body_charsets() -> None:
    assert _req(b'{"a": "\xc3\xa9"}', "UTF-8").json() == {"a": "é"}
    assert _req(b"{}", "us-ascii").json_object() == {}
    for body, charset in ((b"{}", "x-unknown"), (b"{}", "latin-1"), (b'{"a": "\xff"}', None)):
        with pytest.raises(Refusal) as err:
            _req(body, charset).json()
        assert err.value.status == 400
    with pytest.raises(Refusal):
        _req(b"[1]").json_object()
    assert _req(b"  ").json_object() == {}


# ----- parameters ----------------------------------------------------------------------------


def test_params_read_documented_types() -> None:
    p = Params(
        {"n": 1, "s": "0.10", "d": Decimal("2.5"), "b": True, "e": "GTC", "id": 7, "l": [1, 2]},
        "json",
    )
    assert p.decimal("n") == 1 and p.decimal("s") == Decimal("0.10") and p.decimal("d")
    assert p.boolean("b") is True and p.choice("e", ("GTC", "IOC")) == "GTC"
    assert p.identifier("id") == "7" and p.id_list("l") == [1, 2]
    assert p.text("missing") is None
    p.finish()


@pytest.mark.parametrize(
    "value,kw",
    [
        ("1e999999999", {}),
        (Decimal("1e999999999"), {}),
        ("NaN", {}),
        ("Infinity", {}),
        (" 1", {}),
        ("1_000", {}),
        ("+1", {}),
        ("٣", {}),  # a digit Decimal() would take
        (True, {}),
        ([1], {}),
        (1, {"number": False}),  # "number as string"
        ("1", {"string": False}),
        ("1" + "0" * 45, {}),
    ],
)
def test_params_refuse_bad_numbers(value: object, kw: dict[str, bool]) -> None:
    with pytest.raises(Refusal) as err:
        Params({"x": value}, "json").decimal("x", **kw)
    assert err.value.status == 400 and err.value.message.startswith("x:")


def test_params_refuse_what_the_document_does_not_allow() -> None:
    p = Params({"side": "buy", "extra": 1}, "json")
    with pytest.raises(Refusal, match="must be one of BUY, SELL"):
        p.choice("side", ("BUY", "SELL"))
    with pytest.raises(Refusal, match="unknown parameter"):
        Params({"extra": 1}, "json").finish()
    Params({"extra": 1}, "json", strict=False).finish()
    with pytest.raises(Refusal, match="is required"):
        Params({}, "json").integer("n", required=True)
    with pytest.raises(Refusal, match="between"):
        Params({"n": "5000"}, "query").integer("n", high=1000)
    with pytest.raises(Refusal, match="whole number"):
        Params({"n": "1.5"}, "query").integer("n")
    assert Params({"b": "TRUE"}, "query").boolean("b") is True
    with pytest.raises(Refusal):
        Params({"b": "yes"}, "query").boolean("b")
    with pytest.raises(Refusal):
        Params({"b": "true"}, "json").boolean("b")  # JSON booleans are true/false


# ----- auth parts -------------------------------------------------------------------------


def test_nonces_are_digits_only_and_strictly_increasing() -> None:
    for text in ("+1", " 1", "1_0", "٣", "", "1" * 20, "-1"):
        assert parse_nonce(text) is None
    book = NonceBook({})
    book.check("k", 5)
    book.accept("k", 5)
    with pytest.raises(Refusal, match="must be greater than 5") as err:
        book.check("k", 5)
    assert err.value.status == 401 and err.value.what == "auth"


def test_bearer_token() -> None:
    assert bearer_token({"Authorization": "Bearer abc"}) == "abc"
    assert bearer_token({"Authorization": "bearer abc"}) == "abc"
    for header in ("Basic abc", "Bearer", "Bearer  abc", "abc"):
        assert bearer_token({"Authorization": header}) is None


def test_rate_limit_counts_a_rolling_second_with_jitter() -> None:
    limit = RateLimit(2, jitter_s=0.05)
    assert limit.wait_s(0.0) == 0 and limit.wait_s(0.5) == 0
    wait = limit.wait_s(0.6)
    assert wait == pytest.approx(0.35) and RateLimit.retry_after(wait) == 1
    assert limit.wait_s(0.96) == 0  # 0.96 s after the first: spaced calls pass


async def test_faults_fail_before_or_after_acting() -> None:
    acted: list[int] = []

    async def act() -> str:
        acted.append(1)
        return "done"

    faults = Faults()
    assert await faults.around(act, lambda status: f"failed {status}") == "done"
    faults.update(fail_next=1, fail_after_probability=1.0)
    assert (await faults.around(act, lambda s: f"failed {s}")).startswith("failed 5")
    assert len(acted) == 2  # acted, then failed
    faults.update(fail_next=1, fail_after_probability=0.0)
    assert (await faults.around(act, lambda s: f"failed {s}")).startswith("failed")
    assert len(acted) == 2  # failed before acting
    with pytest.raises(KeyError):
        faults.update(no_such_fault=1)


def test_to_json_writes_decimals_as_strings_or_numbers() -> None:
    value = {"p": Decimal("1E-8"), "l": [Decimal("2.50")]}
    assert to_json(value) == '{"p":"0.00000001","l":["2.50"]}'
    assert to_json(value, "number") == '{"p":0.00000001,"l":[2.50]}'


# ----- the error path, through a toy venue that supplies only routes and shapes -----------------


class ToyServer(VenueServer):
    venue = "toy"
    REJECTS: ClassVar[Mapping[str, tuple[int, str]]] = {
        "invalid_price": (422, "bad price, tick {tick_size}: {message}")
    }

    def routes(self) -> Iterable[Route]:
        return (
            Route("POST", "/echo", self.echo, "echo"),
            Route("POST", "/place", self.place, "place", private=True),
            Route("GET", "/boom", self.boom, "boom"),
        )

    def error_body(self, refusal: Refusal, path: str) -> Any:
        return {"oops": refusal.message, "kind": refusal.code}

    def authenticate(self, req: SimRequest, route: Route) -> None:
        if req.headers.get("X-Token") != "t":
            raise Refusal(401, "who are you", "unauthenticated", what="auth")

    def echo(self, req: SimRequest) -> web.Response:
        p = Params(req.json_object(), "json")
        price = p.decimal("price", required=True)
        p.finish()
        return self.reply({"price": price})

    def place(self, req: SimRequest) -> web.Response:
        p = Params(req.json_object(), "json")
        price = p.decimal("price", required=True)
        p.finish()
        assert price is not None
        order = self.backend.place("X/Y", _side(), _limit(), Decimal(1), price)
        return self.reply({"id": order.venue_order_id})

    def boom(self, req: SimRequest) -> web.Response:
        raise RuntimeError("a bug")


def _side() -> Any:
    from botkit.model import Side

    return Side.BUY


def _limit() -> Any:
    from botkit.model import OrderType

    return OrderType.LIMIT


@pytest.fixture
async def toy() -> AsyncIterator[tuple[str, ExchangeBackend]]:
    inst = Instrument("toy", "X/Y", "X", "Y", tick_size="0.5", lot_size="1")
    backend = ExchangeBackend("toy", {"X/Y": inst}, {"Y": Decimal(1000)}, mids={"X/Y": 100.0})
    backend.step()
    app = web.Application(client_max_size=1024)
    ToyServer(backend).install(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", backend
    finally:
        await runner.cleanup()


async def test_every_error_is_the_venues_json_shape(
    toy: tuple[str, ExchangeBackend], caplog: pytest.LogCaptureFixture
) -> None:
    base, backend = toy
    cases: list[tuple[str, str, bytes, dict[str, str], int]] = [
        ("GET", "/nowhere", b"", {}, 404),
        ("GET", "/echo", b"", {}, 405),
        ("POST", "/echo", b'{"price": "1e999999999"}', {}, 400),
        ("POST", "/echo", b"[" * 1000, {}, 400),
        ("POST", "/echo", b'{"price": "\\ud800"}', {}, 400),
        ("POST", "/echo", b'{"price": 1}', {"Content-Type": "text/plain; charset=x-nope"}, 400),
        ("POST", "/echo", b'{"price": "\xff"}', {}, 400),
        ("POST", "/echo", b'{"price": 1, "extra": 2}', {}, 400),
        ("POST", "/echo?x=%ff", b'{"price": 1}', {}, 400),
        ("POST", "/echo", b"x" * 4096, {}, 413),
        ("POST", "/place", b'{"price": 1}', {}, 401),
        ("POST", "/place", b'{"price": 1.2}', {"X-Token": "t"}, 422),
        ("GET", "/boom", b"", {}, 500),  # a bug: still the venue's shape, and logged
    ]
    async with aiohttp.ClientSession() as http:
        for method, path, body, headers, status in cases:
            async with http.request(method, base + path, data=body, headers=headers) as r:
                assert r.status == status, (path, body[:40], await r.text())
                assert r.content_type == "application/json"
                reply = await r.json()
                assert set(reply) == {"oops", "kind"}, reply
        async with http.post(base + "/place", json={"price": 1.5}, headers={"X-Token": "t"}) as r:
            assert r.status == 200
    refused = [(what, code) for _, what, code, _ in backend.rejected]
    assert ("auth", "unauthenticated") in refused and ("place", "invalid_price") in refused
    assert ("request", "not_found") in refused
    assert "a bug" in caplog.text
    translated = [m for _, w, c, m in backend.rejected if c == "invalid_price"]
    assert translated  # the backend's own message; the reply used the venue's words


async def test_a_fault_answers_5xx_before_or_after_acting(
    toy: tuple[str, ExchangeBackend],
) -> None:
    base, backend = toy
    async with aiohttp.ClientSession() as http:
        for after in (0.0, 1.0):
            backend.faults.update(fail_next=1, fail_after_probability=after)
            async with http.post(
                base + "/place", json={"price": 1.5}, headers={"X-Token": "t"}
            ) as r:
                assert r.status in (500, 502, 503)
            await asyncio.sleep(0)
    assert len(backend.orders) == 1  # only the one failed after acting reached the exchange
