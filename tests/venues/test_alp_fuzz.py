"""Every ALP.COM parser entry point, fuzzed: nothing but ``ParseError`` ever escapes.

Inputs are the documents' own examples (seed 001 and the official docs), mutated,
and arbitrary JSON-like values with the shapes that broke parsers before: numbers
no Decimal can hold, deep nesting, lone surrogates, NaN, negative and zero amounts.
``decode_body`` gets arbitrary bytes in arbitrary charsets. A parser either
returns values that make sense or raises a ParseError naming the venue and field.
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
from botkit.venues.alp.rest import decode_body
from botkit.venues.kit.errors import ParseError, VenueError
from botkit.venues.kit.types import VenueOrder

# --- the documents' examples ------------------------------------------------------------

SEED_PAIR = {
    "name": "BTC_USD",
    "currency1": "BTC",
    "currency2": "USD",
    "price_precision": 2,
    "amount_precision": 6,
    "maximum_order_size": 100000000.0,
    "minimum_order_size": 0.00000001,
    "liquidity_type": 10,
}
OFFICIAL_PAIR = {
    "name": "BTC_USDT",
    "currency1": "BTC",
    "currency2": "USDT",
    "price_precision": 2,
    "amount_precision": 8,
    "minimum_order_size": 0.001,
    "maximum_order_size": 10.0,
    "minimum_order_value": 10.0,
}
BOOK = {"buy": [{"amount": 1.0, "price": 45000.0}], "sell": [{"amount": 1.0, "price": 45010.0}]}
PUBLIC_TRADE = {
    "id": 1,
    "price": 45000.0,
    "amount": 2.5,
    "timestamp": 1630862400.0,
    "pair": "BTC_USDT",
    "type": "buy",
}
TICKER = {
    "timestamp": 1642511387.55049,
    "pair": "ETH_BTC",
    "last": 0.076,
    "buy": 0.071346,
    "sell": 0.080317,
}
V1_ORDER = {
    "id": 11259,
    "date": 1478025717394,
    "pair": "BTC_USD",
    "type": "buy",
    "price": 870.69,
    "amount": 0.125,
    "amount_filled": "0.00419580",
    "amount_original": 0.0041958,
    "status": "1",
}
V1_CREATE = {"success": True, "type": "buy", "date": 1483721079.51632, "oid": 11268}
SEED_ORDER = {
    "id": 76575,
    "account_id": 25,
    "pair": "BTC_USDT",
    "wallet_type": "SPOT",
    "side": "BUY",
    "type": "LIMIT",
    "tif": "GTC",
    "price": 20450.05,
    "stop_price": 0,
    "amount": 0.05,
    "amount_filled": 0,
    "amount_cancelled": 0,
    "status": "OPEN",
    "date": "2022-10-06T08:28:06.801064-04:00",
    "updated_at": "2022-10-06T08:28:06.801064-04:00",
    "open_at": "",
    "expire_after": "",
    "done_at": "",
}
OFFICIAL_ORDER = {
    "id": 123,
    "account_id": 456,
    "pair": "BTC_USDT",
    "amount": 1.5,
    "price": 45000.0,
    "side": "BID",
    "status": "FILLED",
    "type": "LIMIT",
    "wallet_type": "SPOT",
    "amount_canceled": 0.0,
    "amount_filled": 1.5,
    "date": "2023-09-04T12:00:00Z",
    "open_at": "2023-09-04T11:59:00Z",
    "tif": "GTC",
    "updated_at": "2023-09-04T12:01:00Z",
    "done_at": None,
    "expire_after": None,
    "stop_price": None,
}
SEED_TRADE = {
    "date": "2022-10-06T08:28:06.801064-04:00",
    "status": "FILLED",
    "side": "BUY",
    "type": "LIMIT",
    "price": 23400.34,
    "amount": 0.05,
    "amount_unfilled": 0,
    "fee_rate": 0.001,
    "fee_amount": 1.170017,
    "is_maker": True,
    "account_id": 25,
    "currency": "USDT",
    "pair": "BTC_USDT",
    "fee_currency": "USDT",
    "wallet_type": "SPOT",
}
OFFICIAL_TRADE = {
    "id": 293107798,
    "pair": "BTC_USDT",
    "side": "BUY",
    "price": 45000.0,
    "amount": 1.0,
    "fee": 0.005,
    "timestamp": 1630862400.0,
    "order_id": 123456,
}
ACCOUNTS = [{"id": 25, "name": "a", "email": "x", "id_parent": 0}, {"id": 123, "parent_id": 25}]
BALANCE = {
    "balance": 1000.0,
    "reserve": 500.0,
    "currency": "USDT",
    "wallet_type": "SPOT",
    "last_update_at": "2023-09-04T12:00:00Z",
    "account_id": 12345,
}
FEEINFO = {
    "account_id": 12345,
    "active_once": ["2023-09-04T12:00:00Z", "2023-09-05T12:00:00Z"],
    "taker_fee_rate": 0.002,
    "maker_fee_rate": 0.0015,
    "fee_currency": "USD",
    "priority": 1,
    "currency": None,
    "pair": None,
    "is_active": True,
}
CANCEL_MAP = {"1": "CANCELLED", "5": "CANCELLED", "8": "order not found"}
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3MDAwMDAwMDB9.c2lnbmF0dXJl"

PARSERS: list[tuple[str, Callable[[Any], object], object]] = [
    ("pairs.seed", alp.parse_pairs, [SEED_PAIR]),
    ("pairs.official", alp.parse_pairs, [OFFICIAL_PAIR]),
    ("book", lambda p: alp.parse_order_book(p, "X", 0, dropped=[]), BOOK),
    ("public_trades", lambda p: alp.parse_exchanges(p, dropped=[]), [PUBLIC_TRADE]),
    ("tickers", alp.parse_tickers, [TICKER]),
    ("order_v1", alp.parse_order_v1, V1_ORDER),
    ("orders_v1", alp.parse_orders_v1, [V1_ORDER]),
    ("ack_v1", alp.parse_order_ack_v1, V1_CREATE),
    ("own_exchanges_v1", alp.parse_own_exchanges_v1, [PUBLIC_TRADE]),
    ("order_v3.seed", alp.parse_order_v3, SEED_ORDER),
    ("order_v3.official", alp.parse_order_v3, OFFICIAL_ORDER),
    ("orders_v3", alp.parse_orders_v3, [SEED_ORDER, OFFICIAL_ORDER]),
    ("order_rows_v3", alp.parse_order_rows_v3, [OFFICIAL_ORDER]),
    ("ack_v3.seed", alp.parse_order_ack_v3, 34),
    ("ack_v3.official", alp.parse_order_ack_v3, [34]),
    ("cancel_reply", alp.parse_cancel_reply_v3, CANCEL_MAP),
    ("trades_page", alp.parse_account_trades_page, [SEED_TRADE, OFFICIAL_TRADE]),
    ("trade_records", alp.parse_account_trade_records_v3, [SEED_TRADE]),
    ("trades_v3", alp.parse_account_trades_v3, [OFFICIAL_TRADE]),
    ("accounts", alp.parse_accounts_v3, ACCOUNTS),
    ("balances", alp.parse_balances_v3, [BALANCE]),
    ("feeinfo", lambda p: alp.parse_feeinfo_v3(p, now_ns=1_693_850_000 * 10**9), [FEEINFO]),
    ("jwt", alp.parse_jwt, JWT),
]

KNOWN_KEYS = sorted(
    {
        *SEED_PAIR,
        *OFFICIAL_PAIR,
        *PUBLIC_TRADE,
        *V1_ORDER,
        *SEED_ORDER,
        *OFFICIAL_ORDER,
        *SEED_TRADE,
        *OFFICIAL_TRADE,
        *BALANCE,
        *FEEINFO,
        "buy",
        "sell",
        "parent_id",
        "id_parent",
        "token",
        "oid",
        "success",
    }
)

nasty_numbers = st.sampled_from(
    [
        "1e999999999999999999999",
        "-1e999999999999999999",
        "1e-999999999999999999",
        "NaN",
        "Infinity",
        "-0",
        "0",
        "-1",
        "1" * 5000,
        1e308,
        -5,
        0,
        10**400,
        "0x10",
        " 1 ",
        "1_000",
        "١٢٣",  # Arabic-Indic digits
    ]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(
        ["BUY", "ASK", "bid", "LIMIT", "OPEN", "PENDING", "BTC/USDT", "A_B", "\ud800"]
    )
    | nasty_numbers
)
json_like = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=6), children, max_size=6)
    ),
    max_leaves=12,
)


def nested(depth: int) -> object:
    value: object = 1
    for i in range(depth):
        value = [value] if i % 2 else {"price": value}
    return value


@st.composite
def mutated(draw: st.DrawFn, value: object) -> object:
    """A documented example with some of its fields dropped or replaced."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            action = draw(st.sampled_from(["keep", "keep", "recurse", "replace", "drop"]))
            if action == "keep":
                out[k] = v
            elif action == "recurse":
                out[k] = draw(mutated(v))
            elif action == "replace":
                out[k] = draw(json_like)
        return out
    if isinstance(value, list):
        return [draw(mutated(v)) for v in value if draw(st.booleans()) or len(value) == 1]
    return draw(st.one_of(st.just(value), json_like))


def check(result: object) -> None:
    """Whatever a parser returns makes sense."""
    if isinstance(result, alp.TradePage):
        for err in result.skipped:
            assert isinstance(err, ParseError) and err.venue == "alp" and err.field
        result = [r.fill for r in result.records]
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


@pytest.mark.parametrize("name,parser,example", PARSERS, ids=[p[0] for p in PARSERS])
def test_documented_example_parses(name: str, parser: Callable[[Any], object], example: object):
    check(parser(example))


@pytest.mark.parametrize("name,parser,example", PARSERS, ids=[p[0] for p in PARSERS])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_only_parse_errors(
    name: str, parser: Callable[[Any], object], example: object, data: st.DataObject
) -> None:
    payload = data.draw(st.one_of(json_like, mutated(example)), label="payload")
    try:
        result = parser(payload)
    except ParseError as exc:
        assert exc.venue == "alp" and exc.field
        return
    check(result)


@pytest.mark.parametrize("name,parser,example", PARSERS, ids=[p[0] for p in PARSERS])
def test_deep_nesting_is_a_parse_error_or_nothing(
    name: str, parser: Callable[[Any], object], example: object
) -> None:
    for payload in (nested(3000), [nested(3000)], {"buy": nested(3000), "sell": []}):
        with contextlib.suppress(ParseError):
            check(parser(payload))


# --- reply bodies -------------------------------------------------------------------------

charsets = st.sampled_from([None, "utf-8", "latin-1", "utf-16", "ascii", "no-such-charset"])


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=64), charset=charsets, status=st.sampled_from([200, 201, 400, 503]))
def test_decode_body_only_parse_errors(raw: bytes, charset: str | None, status: int) -> None:
    try:
        decode_body(raw, charset, status, "GET /x")
    except ParseError as exc:
        assert status < 400 and exc.kind == "GET /x"


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
def test_unreadable_json_is_a_parse_error_on_success_and_text_on_error(raw: bytes) -> None:
    with pytest.raises(ParseError, match=r"alp POST /api/v3/trading/order: <body>"):
        decode_body(raw, "utf-8", 200, "POST /api/v3/trading/order")
    assert isinstance(decode_body(raw, "utf-8", 400, "POST /x"), str)


def test_plain_text_is_handed_on_and_json_decoded_exactly() -> None:
    assert decode_body(b"  ", None, 200, "x") is None
    assert decode_body(JWT.encode(), "utf-8", 200, "x") == JWT  # a token as text/plain
    assert decode_body(b'"tok"', None, 200, "x") == "tok"
    assert decode_body(b"[0.1]", None, 200, "x") == [Decimal("0.1")]


@settings(max_examples=200, deadline=None)
@given(body=json_like, status=st.sampled_from([None, 200, 400, 401, 403, 404, 409, 429, 500]))
def test_classify_error_never_raises(body: object, status: int | None) -> None:
    assert isinstance(alp.classify_error(status, body), VenueError)


# --- a bad row among good ones --------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(bad=json_like | mutated(SEED_TRADE), index=st.integers(0, 2))
def test_a_bad_trade_row_is_skipped_and_the_others_kept(bad: object, index: int) -> None:
    good = [dict(OFFICIAL_TRADE, id=i, amount=1 + i) for i in range(2)]
    rows: list[object] = [*good]
    rows.insert(index, bad)
    page = alp.parse_account_trades_page(json.loads(json.dumps(rows, default=str)))
    ids = {r.fill.trade_id for r in page.records}
    assert {"0", "1"} <= ids
    assert len(page.records) + len(page.skipped) == 3
    for err in page.skipped:
        assert err.venue == "alp" and err.field.startswith(f"[{index}]")
