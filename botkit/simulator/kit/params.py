"""Strict request parameters: each read by name with the type its document gives it.

A venue's protocol builds one :class:`Params` per request over a JSON object
(typed values) or a query string / form (every value a string) and reads each
documented field through it. Whatever does not fit is a :class:`Refusal` naming
the field: a missing required field, a wrong JSON type, a number that is not a
number, is out of range or is not finite, a value outside the documented enum.
``finish()`` then refuses any field the document does not list.

Numbers: where a document allows "number or string" both forms are read; a
string must be written as a JSON number is (``"0.1"``, ``"1E-8"``; no spaces,
no ``+``, no ``NaN``, no ``1_000``), and every number must lie within
``±10^MAX_EXPONENT`` with at most ``MAX_DIGITS`` significant digits — far beyond
any price or size, and small enough that arithmetic on it cannot fail.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal, TypeVar

from botkit.simulator.kit.request import Refusal

__all__ = ["MAX_DIGITS", "MAX_EXPONENT", "Params"]

MAX_EXPONENT = 30
MAX_DIGITS = 40
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"-?(0|[1-9][0-9]{0,18})")
_MISSING = object()

T = TypeVar("T")
Source = Literal["json", "query", "form"]


class Params:
    """One request's parameters, read by name; ``what`` names the request in refusals."""

    def __init__(
        self,
        values: Mapping[str, Any],
        source: Source,
        *,
        strict: bool = True,
        null_is_missing: bool = True,
    ) -> None:
        self.values = values
        self.source = source
        self.strict = strict
        # JSON ``null`` for an optional field reads as "not given" (the BlockTrade
        # example sends ``"stop_price": null``).
        self.null_is_missing = null_is_missing
        self.read: set[str] = set()

    @property
    def typed(self) -> bool:
        """True when values carry JSON types; False when every value is a string."""
        return self.source == "json"

    def bad(self, name: str, message: str) -> Refusal:
        return Refusal(400, f"{name}: {message}", "invalid_params")

    def has(self, name: str) -> bool:
        return self._raw(name) is not _MISSING

    def _raw(self, name: str) -> Any:
        self.read.add(name)
        value = self.values.get(name, _MISSING)
        if value is None and self.null_is_missing:
            return _MISSING
        if value == "" and not self.typed:
            return _MISSING  # ``?price=`` says nothing
        return value

    def _given(self, name: str, required: bool) -> Any:
        value = self._raw(name)
        if value is _MISSING and required:
            raise self.bad(name, "is required")
        return value

    def text(
        self, name: str, required: bool = False, *, max_len: int = 256, empty: bool = False
    ) -> str | None:
        """A string; ``empty``: ``""`` is taken as "not given" (documents that say "may be
        empty")."""
        value = self._given(name, required)
        if value is _MISSING or (empty and value == ""):
            return None
        if not isinstance(value, str):
            raise self.bad(name, "must be a string")
        if not value or len(value) > max_len:
            raise self.bad(name, f"must be 1 to {max_len} characters")
        return value

    def identifier(self, name: str, required: bool = False, *, max_len: int = 64) -> str | None:
        """A string id, or (in JSON) a whole number standing for one."""
        value = self._given(name, required)
        if value is _MISSING:
            return None
        if self.typed and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value or len(value) > max_len:
            raise self.bad(name, f"must be an id of 1 to {max_len} characters")
        if not value.isprintable() or value != value.strip():
            raise self.bad(name, "must be printable, without surrounding spaces")
        return value

    def decimal(
        self,
        name: str,
        required: bool = False,
        *,
        number: bool = True,
        string: bool = True,
    ) -> Decimal | None:
        """A decimal number; in JSON as a number (``number``) and/or a string (``string``)."""
        value = self._given(name, required)
        if value is _MISSING:
            return None
        if isinstance(value, bool):
            raise self.bad(name, "must be a number, not a boolean")
        if self.typed and isinstance(value, int | Decimal):
            if not number:
                raise self.bad(name, "must be a number written as a string")
            d = Decimal(value)
        elif isinstance(value, str):
            if self.typed and not string:
                raise self.bad(name, "must be a JSON number, not a string")
            if not _NUMBER.fullmatch(value):
                raise self.bad(name, f"{value[:40]!r} is not a number")
            d = Decimal(value)
        else:
            raise self.bad(name, "must be a number")
        return self._in_range(name, d)

    def _in_range(self, name: str, d: Decimal) -> Decimal:
        if not d.is_finite():
            raise self.bad(name, "must be finite")
        if d and (abs(d.adjusted()) > MAX_EXPONENT or len(d.as_tuple().digits) > MAX_DIGITS):
            raise self.bad(name, "is out of range")
        return d

    def integer(
        self,
        name: str,
        required: bool = False,
        *,
        low: int = 0,
        high: int = 2**63 - 1,
        string: bool | None = None,
    ) -> int | None:
        """A whole number in ``[low, high]``; in JSON a number, or a string if ``string``."""
        value = self._given(name, required)
        if value is _MISSING:
            return None
        if self.typed and isinstance(value, int) and not isinstance(value, bool):
            n = value
        elif isinstance(value, str) and (not self.typed or string):
            if not _INTEGER.fullmatch(value):
                raise self.bad(name, f"{value[:40]!r} is not a whole number")
            n = int(value)
        else:
            raise self.bad(name, "must be a whole number")
        if not low <= n <= high:
            raise self.bad(name, f"must be between {low} and {high}")
        return n

    def boolean(self, name: str, default: bool = False) -> bool:
        """JSON ``true``/``false``; in a query ``true``/``false`` (any case) or ``1``/``0``."""
        value = self._raw(name)
        if value is _MISSING:
            return default
        if self.typed:
            if not isinstance(value, bool):
                raise self.bad(name, "must be true or false")
            return value
        text = str(value).lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise self.bad(name, "must be true or false")

    def choice(
        self,
        name: str,
        allowed: Mapping[str, T] | Collection[str],
        required: bool = False,
        default: str | None = None,
    ) -> str | None:
        """One of the documented values, exactly as documented (case matters)."""
        value = self._given(name, required)
        if value is _MISSING:
            return default
        if not isinstance(value, str) or value not in allowed:
            shown = ", ".join(sorted(allowed))
            raise self.bad(name, f"must be one of {shown}")
        return value

    def id_list(self, name: str, *, max_items: int = 100) -> list[int] | None:
        """A JSON array of whole numbers (ids)."""
        value = self._raw(name)
        if value is _MISSING:
            return None
        if not isinstance(value, list) or len(value) > max_items:
            raise self.bad(name, f"must be an array of at most {max_items} ids")
        out = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item < 2**63:
                raise self.bad(name, "must hold whole-number ids")
            out.append(item)
        return out

    def csv(self, name: str) -> list[str]:
        """A comma-separated list (``1,2,3``); empty when not given."""
        text = self.text(name, max_len=4096)
        if text is None:
            return []
        items = text.split(",")
        if any(not item for item in items):
            raise self.bad(name, "has an empty item")
        return items

    def ignore(self, names: Iterable[str]) -> None:
        """Documented fields this simulator accepts but does not act on."""
        for name in names:
            self.read.add(name)

    def finish(self) -> None:
        """Refuse the fields the document does not list (when ``strict``)."""
        if not self.strict:
            return
        unknown = sorted(set(self.values) - self.read)
        if unknown:
            shown = ", ".join(repr(u[:40]) for u in unknown[:5])
            raise Refusal(400, f"unknown parameter(s): {shown}", "invalid_params")
