"""Fuzz every Alpha5 parser entry point: nothing but a ParseError ever escapes.

Payloads are the v1.0.0 document's examples with fields dropped or replaced,
and arbitrary JSON-like values: numbers as ints, floats, Decimals (the client
decodes JSON numbers as Decimal) and strings far out of range, lone surrogates
(legal in JSON text), and nesting deep enough to exhaust the stack. What a
parser returns must be consistent (positive prices and sizes, filled <= size).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botkit.events import BookSnapshot, Ticker, Trade
from botkit.model import Fill, Instrument
from botkit.venues.alpha5 import parsing as a5
from botkit.venues.alpha5.parsing import ContractSpec
from botkit.venues.kit.errors import ParseError, VenueError
from botkit.venues.kit.types import VenueOrder

from .test_alpha5_documents import (
    USER_TRADE,
    V1_ASSETS,
    V1_CONTRACTS,
    V1_ORDER,
    V1_ORDER_BOOK,
    V1_POSITIONS,
    V1_RECENT_TRADES,
    V1_TICKER,
    decode_body,
    doc,
    inverse_contract,
)
from .test_parsing import mutated

ASSETS = {"BTC": 8, "USDT": 8}

KEYS = sorted(
    {
        *doc(V1_ORDER),
        *doc(V1_CONTRACTS)[0],
        *doc(V1_ORDER_BOOK),
        *doc(V1_TICKER),
        *USER_TRADE,
        *doc(V1_POSITIONS)[0],
        "symbol",
        "precision",
        "contract_symbol",
        "order_id",
        "trade_id",
        "bids",
        "asks",
        "direction",
        "amount",
        "lot_size",
        "result",
        "data",
    }
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.decimals()
    | st.text(max_size=10)
    | st.sampled_from(
        [
            "buy",
            "sell",
            "open",
            "filled",
            "limit",
            "BTC-M20",
            "operational",
            "disrupted_post_only",
            "0",
            "-1",
            "1e999999999999999999999",
            "-1e-999999999999999999999",
            "NaN",
            "Infinity",
            "\ud800",
            "BTC-\udfff",
            "2020-06-22T16:17:45Z",
        ]
    )
)


def _nest(depth: int) -> object:
    value: object = []
    for _ in range(depth):
        value = [value] if depth % 2 else {"buy": value}
    return value


flat_json = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=6)
    ),
    max_leaves=12,
)
# Decoded JSON is never deeper than the decoder's recursion limit allows (about
# 1000); values this deep exhaust the stack of anything that recurses over them.
json_like = flat_json | st.integers(min_value=500, max_value=3_000).map(_nest)


@st.composite
def planted(draw: st.DrawFn, value: object) -> object:
    """A documented example with one field, at any depth, set to a hostile value.

    ``mutated`` (shared with the other venues' fuzz tests) drops and replaces
    fields with ordinary JSON; this puts this file's values (Decimals, numbers
    out of range, lone surrogates, deep nesting) where the parser looks.
    """
    if isinstance(value, list) and value:
        i = draw(st.integers(0, len(value) - 1))
        return [draw(planted(v)) if j == i else v for j, v in enumerate(value)]
    if isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        inner = value[key]
        nested = isinstance(inner, dict | list) and draw(st.booleans())
        return {**value, key: draw(planted(inner)) if nested else draw(json_like)}
    return draw(json_like)


def _noted(fn: Callable[..., object]) -> Callable[[object], object]:
    """The parser with a skip: what it skips must be ParseErrors too."""

    def run(payload: object) -> object:
        skipped: list[ParseError] = []
        result = fn(payload, skipped.append)
        assert all(isinstance(p, ParseError) and p.venue == "alpha5" for p in skipped)
        return result

    return run


ORDER = doc(V1_ORDER)
CONTRACTS = [*doc(V1_CONTRACTS), inverse_contract()]

PARSERS: list[tuple[str, Callable[[Any], object], object]] = [
    ("assets", a5.parse_assets, doc(V1_ASSETS)),
    ("contract_specs", lambda p: a5.parse_contract_specs(p, ASSETS), CONTRACTS),
    (
        "contract_specs.noted",
        _noted(lambda p, n: a5.parse_contract_specs(p, ASSETS, n)),
        CONTRACTS,
    ),
    ("contracts", lambda p: a5.parse_contracts(p, ASSETS), CONTRACTS),
    ("perpetuals", a5.parse_perpetuals, CONTRACTS),
    ("order", a5.parse_order, ORDER),
    ("orders", a5.parse_orders, [ORDER, ORDER]),
    ("orders_created", a5.parse_orders_created, [ORDER]),
    ("user_trades", a5.parse_user_trades, [USER_TRADE, USER_TRADE]),
    ("user_trades.noted", _noted(a5.parse_user_trades), [USER_TRADE, USER_TRADE]),
    ("positions", lambda p: a5.parse_positions(p, "X"), [{**doc(V1_POSITIONS)[0], "size": "2"}]),
    (
        "positions.noted",
        _noted(lambda p, n: a5.parse_positions(p, "X", n)),
        doc(V1_POSITIONS),
    ),
    ("balances", a5.parse_balances, [{"asset": "USDT", "balance": "10"}]),
    ("order_book", lambda p: a5.parse_order_book(p, "X", 0), doc(V1_ORDER_BOOK)),
    (
        "order_book.noted",
        _noted(lambda p, n: a5.parse_order_book(p, "X", 0, n)),
        doc(V1_ORDER_BOOK),
    ),
    ("ticker", lambda p: a5.parse_ticker(p, "X", 0), doc(V1_TICKER)),
    ("ticker.noted", _noted(lambda p, n: a5.parse_ticker(p, "X", 0, n)), doc(V1_TICKER)),
    ("recent_trades", lambda p: a5.parse_recent_trades(p, "X"), doc(V1_RECENT_TRADES)),
    (
        "recent_trades.noted",
        _noted(lambda p, n: a5.parse_recent_trades(p, None, n)),
        doc(V1_RECENT_TRADES),
    ),
]


def check(result: object) -> None:
    """Whatever a parser returns is internally consistent."""
    items: list[Any] = list(result) if isinstance(result, list | tuple | frozenset) else [result]
    if isinstance(result, BookSnapshot):
        items = [*result.bids, *result.asks]
        assert all(p > 0 and s > 0 for p, s in items)
        return
    for item in items:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], VenueOrder):
            item = item[0]
        if isinstance(item, VenueOrder):
            assert 0 <= item.filled <= item.size and item.ts_ns >= 0
        elif isinstance(item, Fill):
            assert item.size > 0 and item.price > 0
            assert isinstance(item.trade_id, str) and item.trade_id
        elif isinstance(item, Trade):
            assert item.price > 0 and item.size > 0 and item.trade_id
        elif isinstance(item, ContractSpec):
            assert item.instrument.tick_size > 0 and item.instrument.lot_size > 0
        elif isinstance(item, Instrument):
            assert item.tick_size > 0 and item.lot_size > 0
        elif isinstance(item, Ticker):
            prices = (item.bid, item.ask, item.last)
            assert all(p is None or p > 0 for p in prices)


@pytest.mark.parametrize("name,parser,example", PARSERS, ids=[p[0] for p in PARSERS])
def test_the_documented_example_parses(
    name: str, parser: Callable[[Any], object], example: object
) -> None:
    check(parser(example))


@pytest.mark.parametrize("name,parser,example", PARSERS, ids=[p[0] for p in PARSERS])
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_only_parse_errors_escape(
    name: str, parser: Callable[[Any], object], example: object, data: st.DataObject
) -> None:
    payload = data.draw(st.one_of(json_like, mutated(example), planted(example)), label="payload")
    try:
        result = parser(payload)
    except ParseError as exc:
        assert exc.venue == "alpha5" and exc.kind and exc.field
        return
    check(result)


@settings(max_examples=200, deadline=None)
@given(
    status=st.none() | st.integers(min_value=100, max_value=599),
    body=json_like | st.binary(max_size=40),
)
def test_error_replies_always_classify(status: int | None, body: object) -> None:
    assert isinstance(a5.classify_error(status, body), VenueError)


bodies = (
    st.binary(max_size=60)
    | flat_json.map(lambda v: repr(v).encode("utf-8", "surrogatepass"))
    | st.sampled_from(
        [
            b"[" * 30_000,
            b'{"size": 1e999999999999999999999999}',
            b"1" * 5_000,
            b'"\\ud800"',
            b"\xed\xa0\x80",
            b"NaN",
        ]
    )
)


@settings(max_examples=300, deadline=None)
@given(raw=bodies, charset=st.none() | st.sampled_from(["utf-8", "latin-1", "utf-16", "x-none"]))
def test_decoding_a_reply_only_raises_parse_errors(raw: bytes, charset: str | None) -> None:
    try:
        decoded = decode_body(raw, charset, "get_user_trades")
    except ParseError as exc:
        assert (exc.venue, exc.kind, exc.field) == ("alpha5", "get_user_trades", "<root>")
        return
    # Whatever decoded goes through a parser without anything but a ParseError.
    with contextlib.suppress(ParseError):
        check(a5.parse_user_trades(decoded, lambda err: None))


def test_a_huge_decimal_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        a5.parse_order({**ORDER, "size": Decimal("1E+999999999999999999")})
