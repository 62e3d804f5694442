"""The orjson fast path of ``decode_json`` reads what the standard path reads, and fails
where it fails with the very same message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import orjson  # noqa: F401  (in the test extra: the fast path is always tested)
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botkit.venues.kit import parsing
from botkit.venues.kit.errors import ParseError
from botkit.venues.kit.parsing import decode_json


@contextmanager
def fast(on: bool) -> Iterator[None]:
    was = parsing.json_decoder_name() == "orjson"
    parsing.use_fast_json(on)
    try:
        yield
    finally:
        parsing.use_fast_json(was)


def outcome(raw: bytes | str, charset: str | None = None, exact: bool = False) -> str:
    """What decode_json gives: the value's repr (types and key order count) or the error."""
    try:
        return "ok " + repr(decode_json(raw, "venue", "ws_message", charset=charset, exact=exact))
    except ParseError as err:
        return f"error {type(err).__name__}: {err}"


def same(raw: bytes | str, charset: str | None = None, exact: bool = False) -> str:
    with fast(True):
        quick = outcome(raw, charset, exact)
    with fast(False):
        slow = outcome(raw, charset, exact)
    assert quick == slow, raw
    return quick


def test_the_fast_path_is_on_by_default_when_installed() -> None:
    assert parsing.json_decoder_name() == "orjson"
    assert parsing.use_fast_json(False) is False
    assert parsing.json_decoder_name() == "json"
    assert parsing.use_fast_json(True) is True


numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=12))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=6), inner, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(values, st.sampled_from(["compact", "spaced", "ascii"]), st.booleans())
def test_valid_documents_read_the_same(value: object, style: str, as_bytes: bool) -> None:
    if style == "compact":
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    elif style == "spaced":
        text = " \n" + json.dumps(value, indent=1, ensure_ascii=False) + "\t\r\n"
    else:
        text = json.dumps(value)
    raw: bytes | str = text.encode("utf-8", "surrogatepass") if as_bytes else text
    same(raw)


# Pieces of JSON and of things that are not: glued at random they make documents the
# decoders may disagree on (big numbers, constants, escapes, BOMs, bad UTF-8, depth).
PIECES = [
    "{", "}", "[", "]", ",", ":", '"a"', '"\\u00e9"', '"\\ud800"', '"\\udc00x"', '"\\n"',
    "1", "-0", "0.5", "1e400", "-1e400", "1e-400", "1E5", "12345678901234567890123",
    "18446744073709551616", "-9223372036854775809", "9223372036854775807", "01", "1.",
    ".5", "+1", "NaN", "Infinity", "-Infinity", "true", "false", "null", "tru", " ",
    "\t", "\n", "\x0c", "\u00a0", "\u2028", '"\x01"', "\ufeff", "é", "\\", "/*", "'a'",
]  # fmt: skip


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(PIECES), max_size=12),
    st.sampled_from([None, "utf-8", "UTF-8", "latin-1", "utf-16", "nonsense"]),
    st.booleans(),
)
def test_glued_pieces_read_or_fail_the_same(
    pieces: list[str], charset: str | None, b: bool
) -> None:
    text = "".join(pieces)
    raw: bytes | str = text.encode("utf-8", "surrogatepass") if b else text
    same(raw, charset)


@settings(max_examples=500)
@given(st.binary(max_size=40))
def test_random_bytes_read_or_fail_the_same(raw: bytes) -> None:
    same(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   ",
        b"\xef\xbb\xbf{}",
        b'{"a":1,"a":2,"b":3}',
        b"123456789012345678901234567890",
        b"[18446744073709551615, -9223372036854775809]",
        b'"\\ud800"',
        b"[" * 40 + b"]" * 40,
        b"[" * 2000 + b"]" * 2000,
        b'{"a":' * 32 + b"1" + b"}" * 32,
        b'{"a":' * 31 + b"1" + b"}" * 31,
        b'[{"a":[' * 11 + b"]}]" * 11,
        b"NaN",
        b"[1e400]",
        b'{"price": 0.1, "amount": 1e-7}',
        b"\xff",
    ],
)
def test_known_edges_read_or_fail_the_same(raw: bytes) -> None:
    same(raw)
    same(raw.decode("utf-8", "replace"))


def test_exact_decimals_never_take_the_fast_path() -> None:
    assert same(b'{"p": 0.10}', exact=True) == "ok {'p': Decimal('0.10')}"
