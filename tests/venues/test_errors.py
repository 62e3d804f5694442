"""Venue error classification: what the router will do depends on the class."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botkit.venues.alp.parsing import classify_error as alp_classify
from botkit.venues.alp.parsing import is_error_body
from botkit.venues.alpha5.parsing import classify_error as alpha5_classify
from botkit.venues.blocktrade.parsing import classify_error as bt_classify
from botkit.venues.kit import errors as e

# The BlockTrade document's Error example, used by every error status it lists.
BT_ERROR = {"message": "Error message"}


@pytest.mark.parametrize(
    "status,cls",
    [
        (400, e.InvalidRequest),
        (401, e.AuthError),
        (403, e.AuthError),
        (404, e.NotFound),
        (409, e.Conflict),
        (422, e.InvalidRequest),
        (429, e.RateLimited),
        (418, e.InvalidRequest),
        (408, e.VenueUnavailable),
        (500, e.VenueUnavailable),
        (502, e.VenueUnavailable),
        (503, e.VenueUnavailable),
        (504, e.VenueUnavailable),
    ],
)
def test_blocktrade_statuses(status: int, cls: type[e.VenueError]) -> None:
    err = bt_classify(status, BT_ERROR)
    assert type(err) is cls
    assert err.venue == "blocktrade"
    assert err.status == status
    assert err.message == "Error message"
    assert err.code is None
    assert err.body == BT_ERROR


def test_router_flags() -> None:
    definite_refusals = [
        e.InvalidRequest,
        e.OrderRejected,
        e.InsufficientFunds,
        e.AuthError,
        e.NotFound,
    ]
    for cls in definite_refusals:
        assert not cls.ambiguous and not cls.retryable, cls
        assert cls("v", "m").definite
    assert e.RateLimited.retryable and not e.RateLimited.ambiguous
    assert e.VenueUnavailable.retryable and e.VenueUnavailable.ambiguous
    assert e.Conflict.ambiguous and not e.Conflict.retryable
    assert e.VenueError.ambiguous
    assert issubclass(e.InsufficientFunds, e.OrderRejected)
    assert issubclass(e.OrderRejected, e.InvalidRequest)
    assert e.OrderRejected("v", "post-only would cross").reason == "post-only would cross"


def test_server_error_body_never_makes_a_definite_refusal() -> None:
    err = bt_classify(503, {"message": "Insufficient funds"})
    assert type(err) is e.VenueUnavailable
    assert err.ambiguous


def test_message_refines_4xx() -> None:
    assert type(bt_classify(400, {"message": "Insufficient funds on portfolio"})) is (
        e.InsufficientFunds
    )
    assert type(bt_classify(409, {"message": "Too many requests"})) is e.RateLimited
    # "not enough access rights" is an auth problem, not a funds problem.
    assert type(bt_classify(403, {"message": "API key with not enough access rights"})) is (
        e.AuthError
    )


def test_retry_after() -> None:
    assert bt_classify(429, BT_ERROR, retry_after=2.5).retry_after == 2.5
    drf = {"detail": "Request was throttled. Expected available in 3 seconds."}
    err = alp_classify(429, drf)
    assert type(err) is e.RateLimited and err.retry_after == 3.0
    assert alp_classify(429, {"detail": "slow down", "retry_after": "1.5"}).retry_after == 1.5
    assert bt_classify(400, BT_ERROR, retry_after=None).retry_after is None


@pytest.mark.parametrize(
    "value,expected",
    [("3", 3.0), (" 0.5 ", 0.5), (2, 2.0), ("-1", None), ("soon", None), (None, None)],
)
def test_parse_retry_after(value: object, expected: float | None) -> None:
    assert e.parse_retry_after(value) == expected


def test_parse_retry_after_http_date_is_unknown() -> None:
    assert e.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert e.parse_retry_after("nan") is None
    assert e.parse_retry_after("inf") is None


class TestAlp:
    def test_success_false_is_a_definite_refusal(self) -> None:
        body = {"success": False, "error": "Price precision exceeded"}
        assert is_error_body(body)
        err = alp_classify(200, body)
        assert type(err) is e.InvalidRequest
        assert err.message == "Price precision exceeded"

    def test_success_false_insufficient_funds(self) -> None:
        err = alp_classify(200, {"success": False, "error": "Insufficient funds"})
        assert type(err) is e.InsufficientFunds

    def test_drf_field_errors(self) -> None:
        err = alp_classify(400, {"price": ["Ensure that there are no more than 2 decimal places."]})
        assert type(err) is e.InvalidRequest
        assert err.message == "price: Ensure that there are no more than 2 decimal places."

    def test_auth_messages(self) -> None:
        body = {"detail": "Authentication credentials were not provided."}
        assert type(alp_classify(403, body)) is e.AuthError
        assert type(alp_classify(400, {"error": "Invalid nonce"})) is e.AuthError

    def test_not_found(self) -> None:
        assert type(alp_classify(400, {"error": "Order not found"})) is e.NotFound

    def test_ordinary_success_is_not_an_error_body(self) -> None:
        assert not is_error_body({"success": True, "oid": 1})
        assert not is_error_body([1, 2])


class TestAlpha5:
    def test_json_rpc_error(self) -> None:
        body = {"jsonrpc": "2.0", "error": {"code": 10009, "message": "not_enough_funds"}}
        err = alpha5_classify(400, body)
        assert type(err) is e.InsufficientFunds
        assert err.code == "10009"
        assert err.message == "not_enough_funds"

    @pytest.mark.parametrize(
        "code,cls",
        [
            ("too_many_requests", e.RateLimited),
            ("order_not_found", e.NotFound),
            ("unauthorized", e.AuthError),
            ("invalid_params", e.InvalidRequest),
            ("post_only_reject", e.OrderRejected),
        ],
    )
    def test_symbolic_codes(self, code: str, cls: type[e.VenueError]) -> None:
        assert type(alpha5_classify(400, {"code": code, "message": "x"})) is cls
        assert type(alpha5_classify(None, {"error": code})) is cls

    def test_unclassified_without_status_is_ambiguous(self) -> None:
        err = alpha5_classify(None, {"error": {"code": 1, "message": "something odd"}})
        assert type(err) is e.VenueError
        assert err.ambiguous


@pytest.mark.parametrize(
    "body,expected",
    [
        ({"message": "m"}, (None, "m")),
        ({"error": "m", "code": 7}, ("7", "m")),
        ({"error": {"code": "X", "message": "m"}}, ("X", "m")),
        ({"detail": "m"}, (None, "m")),
        ({"errors": ["a", "b"]}, (None, "a; b")),
        ("plain text", (None, "plain text")),
        (b"bytes", (None, "bytes")),
        (None, (None, None)),
        ({}, (None, None)),
        ({"code": True, "message": ""}, (None, None)),
    ],
)
def test_error_fields(body: object, expected: tuple[str | None, str | None]) -> None:
    assert e.error_fields(body) == expected


def test_message_defaults_to_status() -> None:
    assert bt_classify(500, None).message == "HTTP 500"
    assert e.classify("v", None, None).message == "error"


def test_str_and_pickle() -> None:
    err = alpha5_classify(429, {"code": "too_many_requests", "message": "slow"}, retry_after=1.0)
    assert str(err) == "alpha5 HTTP 429 code too_many_requests: slow"
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is e.RateLimited
    assert (back.venue, back.status, back.code, back.message, back.retry_after) == (
        "alpha5",
        429,
        "too_many_requests",
        "slow",
        1.0,
    )
    perr = e.ParseError("alp", "pair", "[0].name", "missing")
    assert str(perr) == "alp pair: [0].name: missing"
    assert isinstance(perr, ValueError)
    again = pickle.loads(pickle.dumps(perr))
    assert (again.venue, again.kind, again.field) == ("alp", "pair", "[0].name")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.binary(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["message", "error", "code", "detail", "errors", "success", "x"])
            | st.text(max_size=5),
            children,
            max_size=5,
        )
    ),
    max_leaves=15,
)


@settings(max_examples=100, deadline=None)
@given(status=st.none() | st.integers(min_value=100, max_value=599), body=json_values)
def test_classify_total(status: int | None, body: object) -> None:
    for classify in (bt_classify, alp_classify, alpha5_classify):
        err = classify(status, body)
        assert isinstance(err, e.VenueError)
        assert isinstance(err.message, str) and err.message
        if status is not None and status >= 500:
            assert type(err) is e.VenueUnavailable
