"""The withdrawal parsers read the documents' examples, and nothing else ever crashes
them: random and mutated replies give a value or a ParseError naming the field.

The examples are the documents' own (document 002's create reply, document
003's withdrawal, list and envelope), copied here as data.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botkit.treasury.alpha5 import parsing as alpha5
from botkit.treasury.alphapo import parsing as alphapo
from botkit.treasury.model import DepositAddress, Page, Withdrawal, WithdrawalStatus
from botkit.treasury.viewer import parsing as viewer
from botkit.venues.kit.errors import (
    AuthError,
    Conflict,
    InvalidRequest,
    NotFound,
    ParseError,
    VenueError,
    VenueUnavailable,
)

ALPHAPO_CREATED = {
    "data": {
        "id": 678388,
        "foreign_id": "user_2317",
        "end_user_reference": "guest_user17",
        "type": "withdrawal_exchange",
        "status": "processing",
        "amount": "25.00000000",
        "sender_amount": "25.00000000",
        "sender_currency": "EUR",
        "receiver_currency": "BTC",
        "receiver_amount": "0.000015",
    }
}
VIEWER_WITHDRAWAL = {
    "id": 10,
    "customer_id": "10",
    "asset_symbol": "ETH",
    "amount": "5",
    "state": "COMPLETED",
    "note": "2018-03-15T16:13:45.610463Z",
    "txid": "0x4643bb6b393ac20a6175c713175734a72517c63d6f73a3ca90a15356f2e967da0",
    "completed_at": "2018-03-15T16:13:45.610463Z",
    "inserted_at": "2018-03-15T16:13:45.610463Z",
    "is_internal": True,
    "target_address": "0x4643bb6b393ac20a6175c713175734a72517c63d6f7",
}
VIEWER_ONE = {"code": 0, "message": "", "data": VIEWER_WITHDRAWAL}
# Document 000 shows {} for every wallet reply; the simulator's record is the reading.
ALPHA5_WITHDRAWAL = {
    "id": "5d1f0b2c-6f4e-4d55-9f1a-1b2c3d4e5f60",
    "asset": "USDT",
    "address": "0x4643bb6b393ac20a6175c713175734a72517c63d6f7",
    "amount": "250",
    "status": "completed",
    "timestamp": 1718000000000,
}
VIEWER_LIST = {
    "data": [VIEWER_WITHDRAWAL],
    "page_token": "eyJvZmZzZXQiOjEwMCwia2luZCI6IlRSQU5TRkVSIn0=",
}


def test_the_alphapo_example_reads_as_documented() -> None:
    w = alphapo.parse_created(ALPHAPO_CREATED)
    assert w.status is WithdrawalStatus.PENDING and w.raw_status == "processing"
    assert (w.id, w.reference, w.asset, w.amount) == ("678388", "user_2317", "EUR", Decimal(25))
    assert ("receiver_amount", "0.000015") in w.details


def test_alpha5_replies_are_read_leniently() -> None:
    w = alpha5.parse_one(ALPHA5_WITHDRAWAL)
    assert w.status is WithdrawalStatus.COMPLETED and w.amount == Decimal(250)
    assert w.created_ns == 1_718_000_000_000_000_000
    taken = alpha5.parse_one({})  # the document's example reply
    assert taken.status is WithdrawalStatus.PENDING and taken.id is None
    assert alpha5.parse_list({}) == [] and alpha5.parse_list([ALPHA5_WITHDRAWAL]) == [w]
    assert alpha5.parse_deposit_address("bc1qaddr", "BTC").address == "bc1qaddr"


def test_the_viewer_examples_read_as_documented() -> None:
    w = viewer.parse_one(VIEWER_ONE, "c37173f4-751f-4cc1-9904-c1041dcae4f7")
    assert w.status is WithdrawalStatus.COMPLETED and w.internal is True
    assert w.amount == Decimal(5) and w.asset == "ETH" and w.id == "10"
    assert w.created_ns == 1_521_130_425_610_463_000
    page = viewer.parse_page(VIEWER_LIST)
    assert page.items == (viewer.parse_one(VIEWER_ONE),)
    assert page.next_token == VIEWER_LIST["page_token"]
    assert viewer.parse_page({"data": [], "page_token": ""}).next_token is None
    # The attribute table's asset_uuid stands in for a missing asset_symbol.
    other = {**VIEWER_WITHDRAWAL, "asset_symbol": None, "asset_uuid": "u-1", "state": "weird"}
    w = viewer.parse_withdrawal(viewer.Fields(other, "viewer", "withdrawal"))
    assert w.asset == "U-1" and w.status is WithdrawalStatus.PENDING and w.raw_status == "weird"


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (403, {"error": "Bad signature header", "code": "bad_header_signature"}, AuthError),
        (400, {"error": "foreign_id already exists", "code": "duplicate_foreign_id"}, Conflict),
        (400, {"errors": {"foreign_id": "The foreign id has already been taken."}}, Conflict),
        (400, {"error": "Bad content format", "code": "bad_content_format"}, InvalidRequest),
        (502, "<html>Bad Gateway</html>", VenueUnavailable),
    ],
)
def test_alphapo_errors_are_typed(status: int, body: object, kind: type) -> None:
    assert isinstance(alphapo.classify_error(status, body), kind)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, {"code": 40100, "message": "Invalid token"}, AuthError),
        (404, {"code": 40400, "message": "withdrawal not found"}, NotFound),
        (409, {"code": 40900, "message": "guid taken"}, Conflict),
        (200, {"code": 10001, "message": "no"}, InvalidRequest),
    ],
)
def test_viewer_errors_are_typed(status: int, body: object, kind: type) -> None:
    assert viewer.is_error_body(body) is (status == 200 or body.get("code") != 0)  # type: ignore[union-attr]
    assert isinstance(viewer.classify_error(status, body), kind)


def test_a_viewer_reply_with_code_0_is_not_an_error() -> None:
    assert not viewer.is_error_body(VIEWER_ONE) and not viewer.is_error_body(VIEWER_LIST)
    assert viewer.is_error_body({"code": True})


# ----- random and mutated replies ------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),
    st.decimals(),
    st.text(max_size=12),
    st.sampled_from(
        [
            "processing",
            "PENDING",
            "COMPLETED",
            "1e999999",
            "-1",
            "0.1",
            "2018-13-45T99:00:00Z",
            "\ud800",
            "",
            "NaN",
        ]
    ),
)
json_like = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=8,
)


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


PARSERS: list[tuple[str, Callable[[Any], object], object]] = [
    ("alphapo.created", alphapo.parse_created, ALPHAPO_CREATED),
    ("viewer.one", viewer.parse_one, VIEWER_ONE),
    ("viewer.page", viewer.parse_page, VIEWER_LIST),
    ("alpha5.one", alpha5.parse_one, ALPHA5_WITHDRAWAL),
    ("alpha5.list", lambda p: Page(tuple(alpha5.parse_list(p))), [ALPHA5_WITHDRAWAL]),
    ("alpha5.address", lambda p: alpha5.parse_deposit_address(p, "BTC"), {"address": "x"}),
]


def consistent(result: object) -> None:
    if isinstance(result, DepositAddress):
        assert result.address and result.address == result.address.strip()
        return
    items = result.items if isinstance(result, Page) else (result,)
    for w in items:
        assert isinstance(w, Withdrawal)
        assert isinstance(w.status, WithdrawalStatus) and isinstance(w.raw_status, str)
        assert w.amount is None or (w.amount.is_finite() and w.amount >= 0)
        assert w.id is None or (w.id and w.id == w.id.strip())
        assert w.venue != "viewer" or w.id  # the viewer API's withdrawals always have one


@pytest.mark.parametrize(("name", "parse", "example"), PARSERS, ids=[p[0] for p in PARSERS])
def test_mutated_replies_never_crash_a_parser(
    name: str, parse: Callable[[Any], object], example: object
) -> None:
    @settings(max_examples=300, deadline=None)
    @given(payload=st.one_of(mutated(example), json_like))
    def check(payload: object) -> None:
        try:
            result = parse(payload)
        except ParseError as err:
            assert err.venue in ("alphapo", "viewer", "alpha5") and err.field
            return
        consistent(result)

    check()


@settings(max_examples=300, deadline=None)
@given(status=st.one_of(st.none(), st.integers(100, 599)), body=json_like)
def test_any_error_reply_classifies_without_crashing(status: int | None, body: object) -> None:
    for classify in (alphapo.classify_error, viewer.classify_error):
        err = classify(status, body)
        assert isinstance(err, VenueError)
        if status is not None and status >= 500:
            assert err.ambiguous
