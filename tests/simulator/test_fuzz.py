"""Fuzz each simulator's HTTP surface over real loopback: never a 500, always the venue's shape.

Random methods, documented and made-up paths, query strings, content types and
bodies — well-formed JSON of the documented fields with hostile values, numbers
out of any range, nesting too deep, invalid UTF-8, lone surrogates, unknown
charsets, form bodies, binary junk — sent with valid credentials half the time,
so the checks behind authentication are reached too. Every answer must be below
500, and every error must be JSON in the venue's own error shape.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botkit.simulator.alp import DEFAULT_API_KEY as ALP_KEY
from botkit.simulator.alp import DEFAULT_API_SECRET as ALP_SECRET
from botkit.simulator.blocktrade import DEFAULT_API_KEY as BT_KEY
from botkit.simulator.blocktrade import DEFAULT_API_SECRET as BT_SECRET
from botkit.simulator.server import make_server

from .helpers import Served, alp_v1_headers, request, served

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Values that go wrong in interesting ways, spliced into JSON as raw text.
RAW_NUMBERS = [
    "1e999999999",
    "-1e999999999",
    "1E+400",
    "1" * 60,
    "0." + "0" * 60 + "1",
    "-0",
    "1.5e-320",
]
FIELDS = [
    # BlockTrade
    "customer_order_id",
    "portfolio_id",
    "direction",
    "type",
    "trading_pair_id",
    "amount",
    "price",
    "time_in_force",
    "stop_price",
    "trading_asset_id",
    "destination_address",
    "message",
    "bank_account_id",
    "limit",
    "offset",
    "start_time",
    "status",
    # ALP
    "pair",
    "order_side",
    "order_type",
    "wallet_type",
    "base_amount",
    "quote_amount",
    "limit_price",
    "order_ids",
    "all",
    "order",
    "tif",
    "post_only",
    "client_order_id",
    "currency_id",
    "api_key",
    "api_secret",
    "open_only",
    "side",
    # Alpha5
    "contract_symbol",
    "size",
    "order_id",
    "asset",
    "reduce_only",
    "trigger",
    "depth",
    "page_size",
    "current_page",
]
TEXT_VALUES = [
    "BUY",
    "SELL",
    "buy",
    "LIMIT",
    "MARKET",
    "GTC",
    "BTC_USDT",
    "BTC-PERPETUAL",
    "BTC",
    "SPOT",
    "SEPA",
    "3f2b8a4e-1c6d-4e8f-9a0b-5c7d2e1f4a6b",
    "rEb8TK3gBgk5auZkwc6sHnwrGVJH8DuaLh?dt=1",
    "r?memoId=x",
    "0.01",
    "30000",
    "NaN",
    "Infinity",
    "1e999999999",
    "",
    " 1",
    "١٢",
    "\u202e",
    "\x00",
    "true",
]

scalars = st.one_of(
    st.sampled_from(TEXT_VALUES),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(max_size=20),
    st.sampled_from([f"__RAW{i}__" for i in range(len(RAW_NUMBERS))]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
documented_objects = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), values, max_size=8
)


def splice(text: str) -> str:
    return re.sub(r'"__RAW(\d+)__"', lambda m: RAW_NUMBERS[int(m.group(1))], text)


bodies = st.one_of(
    st.none(),
    documented_objects.map(lambda d: splice(json.dumps(d)).encode()),
    documented_objects.map(lambda d: splice(json.dumps(d, ensure_ascii=False)).encode()),
    st.integers(min_value=33, max_value=3000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=1, max_value=3000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.sampled_from(
        [
            b'{"pair": "\\ud800"}',
            b'{"price": "\\udfff\\ud800"}',
            b'{"amount": "\xff\xfe"}',
            b'{"a": 1, "a": 2}',
            b"NaN",
            b'{"x": Infinity}',
            b"\xef\xbb\xbf{}",
            b"{",
            b"null",
            b"[]",
            b'"just a string"',
        ]
    ),
    st.binary(max_size=64),
    st.dictionaries(st.sampled_from(FIELDS), st.sampled_from(TEXT_VALUES), max_size=5).map(
        lambda d: urlencode(d).encode()
    ),
)
content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "application/json; charset=x-unknown-charset",
        "application/json; charset=",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-16",
        "text/plain",
        "multipart/form-data; boundary=x",
    ]
)
queries = st.one_of(
    st.just(""),
    st.dictionaries(
        st.one_of(st.sampled_from(FIELDS), st.text(max_size=6)),
        st.one_of(st.sampled_from(TEXT_VALUES), st.text(max_size=10)),
        max_size=5,
    ).map(urlencode),
    st.sampled_from(["a=%ff", "a=%e2%82", "limit=1&limit=2", "=x", "&&", "n=1" * 50]),
)
segments = st.one_of(
    st.sampled_from(
        ["1", "2", "916", "0", "-1", "BTC_USDT", "99999999999999999999", "%ff", "x" * 300, "60"]
    ),
    st.text(min_size=1, max_size=12).map(lambda t: quote(t, safe="")),
)
METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"]


def templates(venue: str) -> list[str]:
    server = make_server(venue)
    assert server is not None
    paths = [r.path for r in server.routes()]
    return [*paths, "/", "/api", "/api/v1/", "/v1/account", "/__sim__/step", "/__sim__/faults"]


@st.composite
def paths(draw: st.DrawFn, venue: str) -> str:
    template = draw(st.one_of(st.sampled_from(templates(venue)), segments.map(lambda s: "/" + s)))
    path = re.sub(r"\{[^}]+\}", lambda _: draw(segments), template)
    query = draw(queries)
    return path + ("?" + query if query else "")


_nonces = itertools.count(1_800_000_000_000)


def blocktrade_auth(method: str, path: str, body: bytes) -> dict[str, str]:
    nonce = next(_nonces)
    message = f"{BT_KEY}.{nonce}".encode() + (b"." + body if body else b"")
    mac = hmac.new(BT_SECRET.encode(), message, hashlib.sha256).hexdigest().upper()
    return {"X-Api-Key": BT_KEY, "X-Nonce": str(nonce), "X-Signature": mac}


def alp_auth(method: str, path: str, body: bytes) -> dict[str, str]:
    if path.startswith("/api/v3/"):
        return {"api-key": ALP_KEY, "api-secret": ALP_SECRET}
    # The seed's example signs the payload as it has it; for bodies it could never
    # have sent (not an object, too deep, unencodable), sign {} and expect a refusal.
    try:
        payload = json.loads(body) if body and method != "GET" else {}
        if isinstance(payload, dict):
            return alp_v1_headers(ALP_KEY, ALP_SECRET, payload, next(_nonces))
    except (ValueError, RecursionError, UnicodeError):
        pass
    return alp_v1_headers(ALP_KEY, ALP_SECRET, {}, next(_nonces))


def no_auth(method: str, path: str, body: bytes) -> dict[str, str]:
    return {}


def blocktrade_error(path: str, body: Any) -> bool:
    return isinstance(body, dict) and set(body) == {"message"} and isinstance(body["message"], str)


def alp_error(path: str, body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    if path.startswith(("/api/v1/", "/api/charts/")):
        return set(body) in ({"detail"}, {"success", "error"})
    return set(body) == {"code", "message"}


def alpha5_error(path: str, body: Any) -> bool:
    inner = body.get("error") if isinstance(body, dict) else None
    return set(body) == {"error"} and isinstance(inner, dict) and set(inner) == {"code", "message"}


VENUES: dict[str, tuple[Callable[..., dict[str, str]], Callable[[str, Any], bool]]] = {
    "blocktrade": (blocktrade_auth, blocktrade_error),
    "alp": (alp_auth, alp_error),
    "alpha5": (no_auth, alpha5_error),
}


@pytest.fixture(scope="module", params=sorted(VENUES))
def venue(request: pytest.FixtureRequest) -> Iterator[tuple[str, Served]]:
    with served(request.param) as s:
        yield request.param, s


@st.composite
def requests(draw: st.DrawFn, venue: str) -> tuple[str, str, bytes | None, dict[str, str], bool]:
    return (
        draw(st.sampled_from(METHODS)),
        draw(paths(venue)),
        draw(bodies),
        {} if (ct := draw(content_types)) is None else {"Content-Type": ct},
        draw(st.booleans()),
    )


def test_no_request_is_answered_500_and_every_error_is_the_venues_json(
    venue: tuple[str, Served],
) -> None:
    name, sim = venue
    auth, is_error = VENUES[name]

    @SETTINGS
    @given(req=requests(name))
    def check(req: tuple[str, str, bytes | None, dict[str, str], bool]) -> None:
        method, path, body, headers, signed = req
        if signed:
            headers = {**headers, **auth(method, path.split("?")[0], body or b"")}
        status, reply_headers, raw = request(sim.port, method, path, body, headers)
        assert status < 500, (method, path, body, headers, raw[:300])
        if method == "HEAD" or status in (202, 204):
            return
        assert reply_headers.get("content-type", "").startswith("application/json"), raw[:200]
        decoded = json.loads(raw)
        if status >= 400:
            assert is_error(path.split("?")[0], decoded), (status, decoded)

    check()
    assert sim.call(
        lambda: not any(c == "internal_error" for _, _, c, _ in sim.sim.exchange.rejected)
    )
