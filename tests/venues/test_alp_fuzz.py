"""Every ALP.COM parser entry point, fuzzed: nothing but ``ParseError`` ever escapes.

The shared table in ``test_parsing`` fuzzes each ALP parser (seed and official
examples, mutated, and arbitrary JSON) for totality. Here, the inputs that broke
parsers before, pushed into every field of every ALP example: numbers no Decimal
can hold, deep nesting, lone surrogates, NaN, negative and zero amounts — and
the results checked harder than "no crash" (a book never holds a non-positive
level, a fill never a non-positive size). Also: the decoding ALP's replies go
through (the kit's, with exact numbers) on arbitrary bytes in arbitrary
charsets, ``classify_error`` on anything, and a bad row among good ones in a
page of account trades.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botkit.events import BookSnapshot, Trade
from botkit.model import Fill, Instrument, OrderStatus
from botkit.venues.alp import parsing as alp
from botkit.venues.kit.errors import ParseError, VenueError
from botkit.venues.kit.parsing import decode_json
from botkit.venues.kit.types import VenueOrder

from .test_parsing import (
    ALP_OFFICIAL_ACCOUNT_TRADES,
    ALP_V3_TRADES,
    PARSERS,
    doc_json,
    json_like,
)

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3MDAwMDAwMDB9.c2lnbmF0dXJl"
ALP_PARSERS: list[tuple[str, Callable[[Any], object], object]] = [
    *(p for p in PARSERS if p[0].startswith("alp.")),
    ("alp.jwt", alp.parse_jwt, JWT),
    ("alp.jwt.object", alp.parse_jwt, {"token": JWT}),
]

NASTY: list[object] = [
    "1e999999999999999999999",
    "-1e999999999999999999",
    "1e-999999999999999999",
    "NaN",
    "Infinity",
    "-0",
    0,
    -5,
    "-1",
    "1" * 5000,
    1e308,
    10**400,
    "0x10",
    "١٢٣",  # Arabic-Indic digits
    "\ud800",
    "BTC/USDT",
    "",
    None,
    [],
    {},
    True,
]


def nested(depth: int) -> object:
    value: object = 1
    for i in range(depth):
        value = [value] if i % 2 else {"price": value}
    return value


def paths(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every place in a JSON value a field could be replaced."""
    out: list[tuple[object, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, (*prefix, i))
    return out


def replaced(value: object, path: tuple[object, ...], new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: replaced(v, rest, new) if k == head else v for k, v in value.items()}
    assert isinstance(value, list)
    return [replaced(v, rest, new) if i == head else v for i, v in enumerate(value)]


def check(result: object) -> None:
    """Whatever a parser returns makes sense."""
    if isinstance(result, BookSnapshot):
        assert all(p > 0 and s > 0 for p, s in (*result.bids, *result.asks))
        return
    items = result if isinstance(result, list) else [result]
    for item in items:
        if isinstance(item, alp.OrderRow):
            item = item.order
        if isinstance(item, alp.AccountTrade):
            item = item.fill
        if isinstance(item, VenueOrder):
            assert 0 <= item.filled <= item.size and isinstance(item.status, OrderStatus)
        elif isinstance(item, Fill):
            assert item.size > 0 and item.price > 0 and item.trade_id
            assert isinstance(item.fee, Decimal) and item.fee.is_finite()
        elif isinstance(item, Trade):
            assert item.price > 0 and item.size > 0
        elif isinstance(item, Instrument):
            assert item.tick_size > 0 and item.lot_size > 0


def parse_or_refuse(parser: Callable[[Any], object], payload: object) -> None:
    try:
        result = parser(payload)
    except ParseError as exc:
        assert exc.venue == "alp" and exc.field
        return
    check(result)


@pytest.mark.parametrize("name,parser,example", ALP_PARSERS, ids=[p[0] for p in ALP_PARSERS])
def test_every_field_replaced_by_every_nasty_value(
    name: str, parser: Callable[[Any], object], example: object
) -> None:
    check(parser(example))
    for path in paths(example) or [()]:
        for value in (*NASTY, nested(3000)):
            parse_or_refuse(parser, replaced(example, path, value))


@pytest.mark.parametrize("name,parser,example", ALP_PARSERS, ids=[p[0] for p in ALP_PARSERS])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_results_make_sense_or_are_refused(
    name: str, parser: Callable[[Any], object], example: object, data: st.DataObject
) -> None:
    places = paths(example) or [()]
    path = data.draw(st.sampled_from(places), label="path")
    value = data.draw(json_like | st.sampled_from(NASTY), label="value")
    parse_or_refuse(parser, replaced(example, path, value))


@pytest.mark.parametrize("name,parser,example", ALP_PARSERS, ids=[p[0] for p in ALP_PARSERS])
def test_deep_nesting_is_a_parse_error_or_nothing(
    name: str, parser: Callable[[Any], object], example: object
) -> None:
    for payload in (nested(3000), [nested(3000)], {"buy": nested(3000), "sell": []}):
        with contextlib.suppress(ParseError):
            check(parser(payload))


# --- reply bodies ---------------------------------------------------------------------------
# How ALP's replies are decoded (``RestClient(exact=True)``): what a 2xx can carry
# and fail at, over real HTTP, is in test_alp_robust; here the decoding itself.

charsets = st.sampled_from([None, "utf-8", "latin-1", "utf-16", "ascii", "no-such-charset"])


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=64), charset=charsets)
def test_decoding_raises_only_parse_errors(raw: bytes, charset: str | None) -> None:
    try:
        decode_json(raw, "alp", "GET /x", charset=charset, exact=True)
    except ParseError as exc:
        assert exc.venue == "alp" and exc.kind == "GET /x"


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"[1e999999999999999999999]",
        b'{"price": NaN}',
        b"[-Infinity]",
        b"\xff\xfe\x00[1]",
        b"9" * 5000,
    ],
)
def test_unreadable_json_is_a_parse_error(raw: bytes) -> None:
    with pytest.raises(ParseError, match=r"alp POST /api/v3/trading/order: <root>"):
        decode_json(raw, "alp", "POST /api/v3/trading/order", charset="utf-8", exact=True)


def test_json_is_decoded_exactly() -> None:
    assert decode_json(b"  ", "alp", "x", exact=True) is None
    assert decode_json(b'"tok"', "alp", "x", exact=True) == "tok"
    assert decode_json(b"[0.1]", "alp", "x", exact=True) == [Decimal("0.1")]


@settings(max_examples=200, deadline=None)
@given(body=json_like, status=st.sampled_from([None, 200, 400, 401, 403, 404, 409, 429, 500]))
def test_classify_error_never_raises(body: object, status: int | None) -> None:
    assert isinstance(alp.classify_error(status, body), VenueError)


# --- a bad row among good ones --------------------------------------------------------------

OFFICIAL_TRADE = doc_json(ALP_OFFICIAL_ACCOUNT_TRADES)[0]
SEED_TRADE = doc_json(ALP_V3_TRADES)[0]


@settings(max_examples=100, deadline=None)
@given(
    path=st.sampled_from(paths(SEED_TRADE)),
    value=json_like | st.sampled_from(NASTY),
    index=st.integers(0, 2),
)
def test_a_bad_trade_row_is_skipped_and_the_others_kept(
    path: tuple[object, ...], value: object, index: int
) -> None:
    good = [dict(OFFICIAL_TRADE, id=i, amount=1 + i) for i in range(2)]
    rows: list[object] = [*good]
    rows.insert(index, replaced(SEED_TRADE, path, value))
    skipped: list[ParseError] = []
    page = alp.parse_account_trade_records_v3(
        json.loads(json.dumps(rows, default=str)), skip=skipped.append
    )
    assert {"0", "1"} <= {r.fill.trade_id for r in page}
    assert len(page) + len(skipped) == 3
    for err in skipped:
        assert err.venue == "alp" and err.field.startswith(f"[{index}]")
