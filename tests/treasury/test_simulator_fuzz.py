"""Fuzz the withdrawal simulators' HTTP surface over loopback: never a 500, every error
in the API's own shape.

Random methods, documented and made-up paths, query strings, content types and
bodies (the documented fields with hostile values, JSON nested too deep,
invalid UTF-8, lone surrogates, form bodies, binary junk), signed or carrying
the key half the time so the checks behind authentication are reached too.
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import Served, alphapo_signature, served

SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FIELDS = [
    "currency",
    "address",
    "tag",
    "amount",
    "foreign_id",
    "end_user_reference",
    "convert_to",
    "amount_to",
    "symbol",
    "target_address",
    "memo",
    "guid",
    "gateway_name",
    "page_token",
    "limit",
    "kind",
    "asset_symbol",
]
TEXT = [
    "BTC",
    "XRP",
    "EUR",
    "Ethereum",
    "Mixin",
    "on_chain",
    "0.1",
    "1e999999999",
    "-1",
    "",
    " 1",
    "١٢",
    "\x00",
    "c37173f4-751f-4cc1-9904-c1041dcae4f7",
    "eyJiZWZvcmVfaWQiOiAxfQ==",
]
scalars = st.one_of(
    st.sampled_from(TEXT),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
objects = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), values, max_size=8
)
bodies = st.one_of(
    st.none(),
    objects.map(lambda d: json.dumps(d).encode()),
    objects.map(lambda d: json.dumps(d, ensure_ascii=False).encode()),
    st.integers(min_value=33, max_value=2000).map(lambda n: b"[" * n + b"]" * n),
    st.sampled_from(
        [
            b'{"amount": "\\ud800"}',
            b'{"a": 1, "a": 2}',
            b"NaN",
            b"{",
            b"null",
            b"[]",
            b'{"amount": 1e999999999}',
            b'{"amount": "\xff"}',
        ]
    ),
    st.binary(max_size=48),
    st.dictionaries(st.sampled_from(FIELDS), st.sampled_from(TEXT), max_size=4).map(
        lambda d: urlencode(d).encode()
    ),
)
content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=latin-1",
        "application/x-www-form-urlencoded",
        "text/plain",
    ]
)
segments = st.one_of(
    st.sampled_from(["1", "c37173f4-751f-4cc1-9904-c1041dcae4f7", "%ff", "x" * 300]),
    st.text(min_size=1, max_size=10).map(lambda t: quote(t, safe="")),
)
queries = st.one_of(
    st.just(""),
    st.dictionaries(st.sampled_from(FIELDS), st.sampled_from(TEXT), max_size=4).map(urlencode),
    st.sampled_from(["limit=0", "limit=99999", "page_token=%ff", "limit=1&limit=2", "kind=x"]),
)
PATHS = {
    "alphapo": ["/api/v2/withdrawal/crypto", "/api/v2/withdrawal", "/"],
    "viewer": [
        "/viewer/withdrawals",
        "/viewer/withdrawals/{guid}",
        "/viewer/withdrawals/{guid}/cancel",
        "/viewer",
    ],
}


def alphapo_auth(body: bytes) -> dict[str, str]:
    return {
        "X-Processing-Key": "alphapo-test-key",
        "X-Processing-Signature": alphapo_signature("alphapo-test-secret", body),
    }


def viewer_auth(body: bytes) -> dict[str, str]:
    return {"Authorization": "Bearer viewer-test-token"}


def alphapo_error(body: Any) -> bool:
    return isinstance(body, dict) and set(body) == {"error", "code"}


def viewer_error(body: Any) -> bool:
    return isinstance(body, dict) and set(body) == {"code", "message"} and body["code"] != 0


VENUES: dict[str, tuple[Callable[[bytes], dict[str, str]], Callable[[Any], bool]]] = {
    "alphapo": (alphapo_auth, alphapo_error),
    "viewer": (viewer_auth, viewer_error),
}


@pytest.fixture(scope="module", params=sorted(VENUES))
def venue(request: pytest.FixtureRequest) -> Iterator[tuple[str, Served]]:
    with served(request.param) as s:
        yield request.param, s


@st.composite
def requests(draw: st.DrawFn, venue: str) -> tuple[str, str, bytes | None, dict[str, str], bool]:
    template = draw(st.one_of(st.sampled_from(PATHS[venue]), segments.map(lambda s: "/" + s)))
    path = re.sub(r"\{[^}]+\}", lambda _: draw(segments), template)
    query = draw(queries)
    content_type = draw(content_types)
    return (
        draw(st.sampled_from(["GET", "POST", "DELETE", "PUT", "HEAD"])),
        path + ("?" + query if query else ""),
        draw(bodies),
        {} if content_type is None else {"Content-Type": content_type},
        draw(st.booleans()),
    )


def send(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.getheader("content-type") or "", resp.read()
    finally:
        conn.close()


def test_no_request_is_answered_500_and_every_error_is_the_apis_json(
    venue: tuple[str, Served],
) -> None:
    name, sim = venue
    auth, is_error = VENUES[name]

    @SETTINGS
    @given(req=requests(name))
    def check(req: tuple[str, str, bytes | None, dict[str, str], bool]) -> None:
        method, path, body, headers, signed = req
        if signed:
            headers = {**headers, **auth(body or b"")}
        status, content_type, raw = send(sim.sim.port, method, path, body, headers)
        assert status < 500, (method, path, body, raw[:300])
        if method == "HEAD":
            return
        assert content_type.startswith("application/json"), raw[:200]
        if status >= 400:
            assert is_error(json.loads(raw)), (status, raw[:300])

    check()
    rejected = sim.call(lambda: list(sim.sim.exchange.rejected))
    assert not any(code == "internal_error" for _, _, code, _ in rejected)
