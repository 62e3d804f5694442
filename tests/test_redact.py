"""Secrets never show up in reprs, formatted strings or log output."""

from __future__ import annotations

import copy
import io
import logging
import pickle
from collections.abc import Iterator

import pytest

from botkit.redact import MASK, RedactingFilter, Secret, install_redaction, redact, reveal

KEY = "ak_live_9f8e7d6c5b4a"


def test_secret_shows_as_mask_everywhere_but_reveal() -> None:
    s = Secret(KEY)
    assert repr(s) == MASK
    assert str(s) == MASK
    assert f"{s}" == MASK
    assert f"{s:>5}" == "  ***"
    assert KEY not in repr([s, {"k": s}])
    assert s.reveal() == KEY
    assert reveal(s) == KEY
    assert reveal("plain") == "plain"


def test_secret_equality_is_by_value_and_hash_does_not_use_the_value() -> None:
    assert Secret(KEY) == Secret(KEY)
    assert Secret(KEY) != Secret("other")
    # Comparing to a literal is almost always a mistake; it must say what it means.
    assert Secret(KEY) != KEY
    assert hash(Secret(KEY)) == hash(Secret(KEY))
    assert hash(Secret(KEY)) != hash(KEY)
    assert len({Secret(KEY), Secret(KEY)}) == 1


def test_secret_copies_but_does_not_pickle() -> None:
    s = Secret(KEY)
    assert copy.deepcopy(s) == s
    assert copy.copy(s) is s
    with pytest.raises(TypeError):
        pickle.dumps(s)


def test_secret_wraps_only_strings() -> None:
    assert Secret(Secret(KEY)) == Secret(KEY)
    assert bool(Secret("")) is False
    with pytest.raises(TypeError):
        Secret(12345)  # type: ignore[arg-type]


def test_redact_replaces_every_occurrence_longest_first() -> None:
    text = f"key={KEY} again {KEY}; sub=abc; {KEY}abc"
    out = redact(text, [Secret(KEY), "abc", ""])
    assert KEY not in out and "abc" not in out
    assert out == f"key={MASK} again {MASK}; sub={MASK}; {MASK}{MASK}"
    assert redact("nothing here", []) == "nothing here"


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A private logger writing formatted lines to a buffer."""
    log = logging.getLogger("botkit.tests.redact")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    log.addHandler(handler)
    yield log, out
    log.removeHandler(handler)
    for f in list(log.filters):
        log.removeFilter(f)


def test_filter_scrubs_message_and_args(logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, out = logger
    install_redaction(log, [Secret(KEY)])
    log.info("signing with %s", KEY)
    log.warning("venue said: %(echo)s", {"echo": f"bad key {KEY}"})
    log.error(f"header X-Api-Key: {KEY}")
    text = out.getvalue()
    assert KEY not in text
    assert text.count(MASK) == 3
    assert "signing with ***" in text


def test_filter_scrubs_tracebacks(logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, out = logger
    install_redaction(log, [KEY])
    try:
        raise RuntimeError(f"401 for key {KEY}")
    except RuntimeError:
        log.exception("request failed")
    text = out.getvalue()
    assert "Traceback" in text and "RuntimeError: 401 for key ***" in text
    assert KEY not in text


def test_filter_catches_records_from_child_loggers(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    log, out = logger
    install_redaction(log, [KEY])
    child = logging.getLogger("botkit.tests.redact.venue")
    child.info("posting %s", KEY)
    assert KEY not in out.getvalue()
    assert "posting ***" in out.getvalue()


def test_install_twice_extends_the_same_filter(logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, out = logger
    first = install_redaction(log, ["one-secret"])
    second = install_redaction(log, ["two-secret"])
    assert first is second
    assert sum(isinstance(f, RedactingFilter) for f in log.filters) == 1
    assert "one-secret" in first and Secret("two-secret") in first
    log.info("one-secret two-secret")
    assert out.getvalue().strip().endswith("*** ***")


def test_filter_without_secrets_leaves_records_alone() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "a %s", ("b",), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "a b"


def test_records_without_a_secret_keep_their_template() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "fill %s at %s", ("b", 1), None)
    assert RedactingFilter([KEY]).filter(record)
    assert (record.msg, record.args) == ("fill %s at %s", ("b", 1))
