"""Secrets: a holder that never prints its value, and redaction of text and logs.

API keys and secrets reach botkit only through environment variables named in
bot.yaml (see ``botkit.config``). The config wraps them in :class:`Secret`, so
a ``repr()`` of the config, an f-string or a traceback shows ``***``; the one
place that needs the value (request signing) calls :meth:`Secret.reveal`.

Wrapping is not enough once a value has been revealed: a venue error may echo
a header back, or a debug line may print a signed URL. :class:`RedactingFilter`
scrubs known secret values from every log record that passes through it, as
the last line of defence.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Iterable
from typing import Any

MASK = "***"


class Secret:
    """A secret string that shows as ``***`` everywhere except :meth:`reveal`.

    Two secrets are equal when their values are equal (compared in constant
    time). A secret never equals a plain ``str``: comparing against a literal is
    usually a mistake, and ``secret.reveal() == "..."`` says what is meant.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"Secret holds a str, got {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """The value itself. Use it only where it is sent, never where it is shown."""
        return self._value

    def __repr__(self) -> str:
        return MASK

    def __str__(self) -> str:
        return MASK

    def __format__(self, format_spec: str) -> str:
        return format(MASK, format_spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        # Hash a digest, not the value, so the hash says nothing useful about it.
        return hash((Secret, hashlib.sha256(self._value.encode()).digest()))

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce__(self) -> Any:
        # Pickling would write the value out in clear; a secret stays in memory.
        raise TypeError("a Secret cannot be pickled")

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        def to_secret(value: Any) -> Secret:
            if isinstance(value, Secret):
                return value
            if isinstance(value, str):
                return cls(value)
            raise ValueError(f"expected a string, got {type(value).__name__}")

        return core_schema.no_info_plain_validator_function(
            to_secret,
            json_schema_input_schema=core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda v: MASK, when_used="json"
            ),
        )


def reveal(value: str | Secret) -> str:
    """The plain value of a ``Secret``, or the string itself."""
    return value.reveal() if isinstance(value, Secret) else value


def _pattern(secrets: Iterable[str | Secret]) -> re.Pattern[str] | None:
    values = {reveal(s) for s in secrets}
    values.discard("")
    if not values:
        return None
    # Longest first, so a secret that contains another is masked whole.
    ordered = sorted(values, key=len, reverse=True)
    return re.compile("|".join(re.escape(v) for v in ordered))


def redact(text: str, secrets: Iterable[str | Secret]) -> str:
    """``text`` with every occurrence of each secret value replaced by ``***``."""
    pattern = _pattern(secrets)
    return text if pattern is None else pattern.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """A logging filter that removes secret values from records.

    The message is formatted with its args first and the result scrubbed, so a
    secret passed as an argument (``log.info("key %s", key)``) is caught too;
    exception and stack text are formatted and scrubbed the same way. The
    filter never drops a record.
    """

    def __init__(self, secrets: Iterable[str | Secret] = ()) -> None:
        super().__init__()
        self._secrets: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str | Secret) -> None:
        """Register more secret values (empty ones are ignored)."""
        values = {reveal(s) for s in secrets} - {""}
        if values - self._secrets:
            self._secrets = self._secrets | values
            self._pattern = _pattern(self._secrets)

    def __contains__(self, secret: object) -> bool:
        return isinstance(secret, str | Secret) and reveal(secret) in self._secrets

    def filter(self, record: logging.LogRecord) -> bool:
        pattern = self._pattern
        if pattern is None:
            return True
        try:
            message = record.getMessage()
        except Exception:
            # A broken format string: keep the raw parts, scrubbed, in one string.
            message = f"{record.msg} {record.args!r}"
        scrubbed = pattern.sub(MASK, message)
        if scrubbed != message:
            # The message is final now; leaving args would format it a second time.
            # Records without a secret keep their template and args untouched.
            record.msg = scrubbed
            record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the scrubbed text is
            # what reaches the output.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = pattern.sub(MASK, record.exc_text)
        if record.stack_info:
            record.stack_info = pattern.sub(MASK, record.stack_info)
        return True


def shorten(text: str, head: int = 6, tail: int = 4) -> str:
    """``text`` cut to its first ``head`` and last ``tail`` characters (``bc1qxy…0wlh``).

    For addresses and ids in logs: enough to tell two apart, not enough to use
    one. Text no longer than ``head + tail`` keeps only its first three
    characters, so nothing short is shown whole either.
    """
    if len(text) > head + tail:
        return f"{text[:head]}…{text[-tail:]}"
    return f"{text[:3]}…"


def install_redaction(
    logger: logging.Logger | str | None, secrets: Iterable[str | Secret]
) -> RedactingFilter:
    """Scrub ``secrets`` from everything ``logger`` writes; returns the filter.

    The filter goes on the logger and on each of its handlers: a logger's own
    filters do not see records that propagate up from child loggers, its
    handlers do. Install it after the handlers are configured. Calling it again
    adds the new secrets to the filter already installed.
    """
    if not isinstance(logger, logging.Logger):
        logger = logging.getLogger(logger)
    existing = next((f for f in logger.filters if isinstance(f, RedactingFilter)), None)
    flt = existing or RedactingFilter()
    flt.add(*secrets)
    if existing is None:
        logger.addFilter(flt)
    for handler in logger.handlers:
        if flt not in handler.filters:
            handler.addFilter(flt)
    return flt


__all__ = [
    "MASK",
    "RedactingFilter",
    "Secret",
    "install_redaction",
    "redact",
    "reveal",
    "shorten",
]
