"""Helpers shared by the venue packages: HMAC signing, safe JSON decoding, exact
number parsing, typed field access with useful errors, time stamps, rows and
order-book levels.

Everything here is pure. Every parsing failure is a ``ParseError`` naming the
venue, the payload kind and the field path, so a bad payload is reported as
exactly that and nothing else: no ``UnicodeDecodeError``, ``RecursionError`` or
``decimal.InvalidOperation`` ever leaves this module.

What a venue's parser module supplies, and what it gets:

* ``decode_json(raw, venue, kind)`` turns a reply or websocket frame (bytes or
  text) into JSON values, refusing bad encodings, non-JSON constants, nesting
  deeper than ``MAX_JSON_DEPTH`` and lone surrogates.
* ``Fields(obj, venue, kind, path)`` reads one object: ``decimal``, ``positive``,
  ``integer``, ``ident``, ``time_ns``, ... each with aliases, each failing with
  the field's path. Numbers may come as JSON strings or numbers alike.
* ``rows(items, build, skip, venue=..., kind=..., path=...)`` builds one value
  per list item; with a ``skip`` callback (the adapter's ``SkipCounter``) an
  item that does not parse is reported and left out, so one bad row never
  hides the others. Market data
  built with ``Fields.positive_number`` thereby drops (and counts) a trade with
  a non-positive price or size; ``parse_levels`` does the same for book levels.
"""

from __future__ import annotations

import codecs
import hashlib
import hmac
import json
import math
import re
import reprlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Literal, NoReturn, TypeVar

from botkit.events import Level
from botkit.model import ZERO, OrderStatus, OrderType, Side
from botkit.venues.kit.errors import ParseError

__all__ = [
    "MAX_JSON_DEPTH",
    "SIDES",
    "Fields",
    "Skip",
    "any_time_to_ns",
    "average_price",
    "check_header_value",
    "decode_json",
    "epoch_to_ns",
    "hmac_sha256_hex",
    "iso_to_ns",
    "json_body",
    "json_decoder_name",
    "list_of",
    "lookup",
    "parse_decimal",
    "parse_levels",
    "rows",
    "settle_status",
    "side_of",
    "synthetic_id",
    "unwrap",
    "use_fast_json",
]

# Bounds on accepted numbers. Money never needs more, and keeping exponents small
# keeps later Decimal arithmetic (sums, products, quotients) clear of the
# context's overflow traps.
_MAX_ADJUSTED = 40
_MIN_EXPONENT = -40
_MAX_NS = 2**63 - 1

T = TypeVar("T")

# A callback that receives each record a parser left out (see ``rows``).
Skip = Callable[[ParseError], None]

# Venue payloads nest a handful of levels; a deeper document is hostile or broken,
# and walking it (here or in any later recursive code) could exhaust the stack.
MAX_JSON_DEPTH = 32

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

# The fast decoder (orjson, the optional ``fast`` extra) when installed. It only
# ever answers a document the standard decoder would read to the same value; for
# anything it refuses, or anything it might read otherwise (other charsets, exact
# decimals), the standard path runs, so results and error messages are the same.
try:
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - depends on the environment
    _orjson_loads = None

_fast_loads: Callable[[bytes | str], object] | None = _orjson_loads
_UTF8 = frozenset({"utf-8", "utf8", "UTF-8", "UTF8"})
# orjson reads an integer beyond 64 bits as a float, the standard decoder as an int:
# a document with 19 digits in a row (anywhere) goes the standard way.
_LONG_DIGITS_B = re.compile(rb"[0-9]{19}")
_LONG_DIGITS_S = re.compile(r"[0-9]{19}")


def use_fast_json(on: bool = True) -> bool:
    """Use the fast JSON decoder when installed (the default) or not; True if in use."""
    global _fast_loads
    _fast_loads = _orjson_loads if on else None
    return _fast_loads is not None


def json_decoder_name() -> str:
    """``orjson`` or ``json`` (the standard library): what ``decode_json`` reads with."""
    return "json" if _fast_loads is None else "orjson"


# --- signing ----------------------------------------------------------------------


def hmac_sha256_hex(secret: str | bytes, message: str | bytes) -> str:
    """Lower-case hex HMAC-SHA256; str arguments are UTF-8 encoded."""
    key = secret.encode() if isinstance(secret, str) else secret
    msg = message.encode() if isinstance(message, str) else message
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def check_header_value(name: str, value: str) -> str:
    """Refuse values that would break or inject into an HTTP header."""
    if any(c in value for c in "\r\n\0"):
        raise ValueError(f"{name} must not contain line breaks or NUL")
    return value


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        # Prices and sizes go out as plain-notation strings (venues type them
        # "number as string"): no float rounding, and never "1E-8".
        return format(value, "f")
    if isinstance(value, Side):
        return value.value
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")


def json_body(payload: object, *, decimals: Literal["string", "number"] = "string") -> str:
    """Serialise a request body; sign exactly this string and send exactly it.

    ASCII-only output (non-ASCII escaped) so the bytes on the wire do not depend
    on how the HTTP client encodes text. A Decimal is written from its exact
    digits in plain notation: as a string (``"0.00000001"``, the default, for
    venues that type amounts "number as string") or, with
    ``decimals="number"``, as a number literal (``0.00000001``, for venues whose
    examples carry JSON numbers); a Decimal that is not finite is a ValueError.
    """
    if decimals == "string":
        return json.dumps(payload, default=_json_default, separators=(",", ":"), ensure_ascii=True)
    return _number_literals(payload)


def _number_literals(value: object) -> str:
    # json.dumps cannot write a Decimal as a bare number without a float on the way:
    # containers are walked here, and every other value is json.dumps' own.
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send {value!r}")
        return format(value, "f")
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(k))}:{_number_literals(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_number_literals(v) for v in value) + "]"
    return json.dumps(value, default=_json_default, ensure_ascii=True)


# --- decoding -------------------------------------------------------------------------


def _no_constant(name: str) -> NoReturn:
    # NaN and Infinity are not JSON; Python's decoder would accept them.
    raise ValueError(f"{name} is not a JSON value")


def _check_tree(value: object, venue: str, kind: str) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH and strings no encoder can write.

    Iterative, so the check itself cannot run out of stack.
    """
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if not node.isascii():
                try:
                    node.encode("utf-8")
                except UnicodeEncodeError:
                    _fail(venue, kind, "<root>", "a string holds a lone surrogate")
            continue
        if isinstance(node, dict | list):
            if depth >= MAX_JSON_DEPTH:
                _fail(venue, kind, "<root>", f"nested deeper than {MAX_JSON_DEPTH} levels")
            children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)


def _check_depth(value: object, venue: str, kind: str) -> None:
    """``_check_tree`` for a value orjson made: its strings are valid UTF-8 by
    construction, so only the containers' depth is walked (the same refusal)."""
    if value.__class__ is not dict and value.__class__ is not list:
        return
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth >= MAX_JSON_DEPTH:
            _fail(venue, kind, "<root>", f"nested deeper than {MAX_JSON_DEPTH} levels")
        for child in node.values() if node.__class__ is dict else node:  # type: ignore[attr-defined]
            if child.__class__ is dict or child.__class__ is list:
                stack.append((child, depth + 1))


def decode_json(
    raw: bytes | str,
    venue: str,
    kind: str,
    *,
    charset: str | None = None,
    exact: bool = False,
) -> object:
    """JSON values from a reply body or websocket frame, or a ParseError saying why not.

    ``charset`` is the reply's declared one (UTF-8 when None). ``exact=True``
    reads JSON numbers with a fraction as Decimal (their digits exactly);
    otherwise as floats, which ``parse_decimal`` turns back into the decimal
    they print as. An empty body is ``None``.
    """
    if (
        _fast_loads is not None
        and not exact
        and (charset is None or charset in _UTF8)
        and (_LONG_DIGITS_S if isinstance(raw, str) else _LONG_DIGITS_B).search(raw) is None
    ):
        try:
            fast = _fast_loads(raw)
        except Exception:
            pass  # the standard path below says why, in its own words
        else:
            _check_depth(fast, venue, kind)
            return fast
    if isinstance(raw, bytes | bytearray):
        try:
            text = bytes(raw).decode(codecs.lookup(charset or "utf-8").name)
        except LookupError:
            _fail(venue, kind, "<root>", f"unknown charset {_show(charset)}")
        except UnicodeDecodeError as err:
            _fail(venue, kind, "<root>", f"not valid {charset or 'utf-8'}: {err.reason}")
    else:
        text = raw
    if not text.strip():
        return None
    try:
        value = json.loads(
            text, parse_float=Decimal if exact else float, parse_constant=_no_constant
        )
    except RecursionError:
        _fail(venue, kind, "<root>", f"nested deeper than {MAX_JSON_DEPTH} levels")
    except (ValueError, ArithmeticError) as err:
        # JSONDecodeError, a number too long for int(), a Decimal out of its range.
        _fail(venue, kind, "<root>", f"not JSON: {_show(str(err))}")
    _check_tree(value, venue, kind)
    return value


# --- scalar parsing -----------------------------------------------------------------


def _fail(venue: str, kind: str, field: str, detail: str) -> NoReturn:
    raise ParseError(venue, kind, field, detail)


def _short_repr() -> reprlib.Repr:
    """A repr for error messages: short, and never a deep walk of what a value holds."""
    r = reprlib.Repr()
    r.maxlevel, r.maxstring, r.maxother, r.maxlist, r.maxdict = 2, 50, 50, 4, 4
    return r


_REPR = _short_repr()  # configured once here, never changed


def _show(value: object) -> str:
    try:
        text = _REPR.repr(value)
    except (RecursionError, ValueError):  # nested too deep, or an int too long to print
        return f"<{type(value).__name__} too large to show>"
    return text if len(text) <= 60 else text[:57] + "..."


def parse_decimal(value: object, venue: str, kind: str, field: str) -> Decimal:
    """An exact Decimal from a JSON string, int or float.

    A float becomes the decimal it prints as (0.1 -> Decimal('0.1')), which is
    what the venue meant when it wrote ``0.1`` in its JSON. Magnitudes above
    1e40 and digits below 1e-40 are refused as out of range rather than carried
    into arithmetic (or into a float event as inf).
    """
    if isinstance(value, bool):
        _fail(venue, kind, field, f"expected a number, got {_show(value)}")
    if isinstance(value, str):
        text = value.strip()
        if not _NUMBER.fullmatch(text):
            _fail(venue, kind, field, f"expected a number, got {_show(value)}")
        try:
            d = Decimal(text)
        except (ArithmeticError, ValueError):
            # "1e999999999999999999999": an exponent beyond what Decimal can hold.
            _fail(venue, kind, field, f"number out of range: {_show(value)}")
    elif isinstance(value, int):
        if value.bit_length() > 140:
            _fail(venue, kind, field, "number out of range")
        d = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            _fail(venue, kind, field, f"expected a finite number, got {value!r}")
        d = Decimal(repr(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            _fail(venue, kind, field, f"expected a finite number, got {value!r}")
        d = value
    else:
        _fail(venue, kind, field, f"expected a number, got {type(value).__name__}")
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, checked above
    if exponent < _MIN_EXPONENT or (d and d.adjusted() > _MAX_ADJUSTED) or exponent > _MAX_ADJUSTED:
        _fail(venue, kind, field, f"number out of range: {_show(value)}")
    return d


def _int_value(value: object, venue: str, kind: str, field: str) -> int:
    if isinstance(value, bool):
        _fail(venue, kind, field, f"expected an integer, got {_show(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float | str):
        d = parse_decimal(value, venue, kind, field)
        if d == d.to_integral_value():
            return int(d)
    _fail(venue, kind, field, f"expected an integer, got {_show(value)}")


# --- timestamps -----------------------------------------------------------------------

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|z|[+-]\d{2}:?\d{2})?"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _check_ns(ns: int, venue: str, kind: str, field: str) -> int:
    if not 0 <= ns <= _MAX_NS:
        _fail(venue, kind, field, "time stamp out of range")
    return ns


def iso_to_ns(text: str, venue: str, kind: str, field: str) -> int:
    """RFC 3339 / ISO 8601 (``2022-10-06T08:28:06.801064-04:00``) to epoch ns.

    Up to nine fractional digits are kept exactly; no offset means UTC.
    """
    m = _ISO.fullmatch(text.strip())
    if not m:
        _fail(venue, kind, field, f"expected an ISO 8601 time, got {_show(text)}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, offset = m.group(7), m.group(8)
    tz = UTC
    if offset and offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            _fail(venue, kind, field, f"bad UTC offset in {_show(text)}")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        dt = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        _fail(venue, kind, field, f"not a valid time: {_show(text)}")
    delta = dt - _EPOCH
    seconds = delta.days * 86_400 + delta.seconds
    ns = seconds * 1_000_000_000 + (int(frac.ljust(9, "0")) if frac else 0)
    return _check_ns(ns, venue, kind, field)


def epoch_to_ns(value: object, unit: str, venue: str, kind: str, field: str) -> int:
    """An epoch number in ``unit`` (s, ms, us, ns or ``auto``) to ns, exactly.

    ``auto`` picks the unit from the magnitude (for times after 1973): below 1e11
    seconds, below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds.
    Float seconds (``1483705817.735508``) keep their printed digits.
    """
    d = parse_decimal(value, venue, kind, field)
    if d < 0:
        _fail(venue, kind, field, f"negative time stamp {_show(value)}")
    if unit == "auto":
        unit = "s" if d < 10**11 else "ms" if d < 10**14 else "us" if d < 10**17 else "ns"
    factor = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
    return _check_ns(int(d * factor), venue, kind, field)


def any_time_to_ns(value: object, unit: str, venue: str, kind: str, field: str) -> int:
    """A time that may come as an epoch number or an ISO 8601 string."""
    if isinstance(value, str) and not _NUMBER.fullmatch(value.strip()):
        return iso_to_ns(value, venue, kind, field)
    return epoch_to_ns(value, unit, venue, kind, field)


# --- objects ----------------------------------------------------------------------------


class Fields:
    """Typed access to one decoded JSON object, with errors that name the field.

    Every getter takes one or more alternative key names (aliases); the first key
    present with a non-null value is used.
    """

    __slots__ = ("_obj", "kind", "path", "venue")

    def __init__(self, obj: object, venue: str, kind: str, path: str = "") -> None:
        if not isinstance(obj, Mapping):
            _fail(venue, kind, path or "<root>", f"expected an object, got {type(obj).__name__}")
        self._obj: Mapping[object, object] = obj
        self.venue = venue
        self.kind = kind
        self.path = path

    # -- plumbing

    def _name(self, names: Sequence[str]) -> str:
        joined = "|".join(names)
        return f"{self.path}.{joined}" if self.path else joined

    def fail(self, names: Sequence[str] | str, detail: str) -> NoReturn:
        if isinstance(names, str):
            names = (names,)
        _fail(self.venue, self.kind, self._name(names), detail)

    def find(self, *names: str) -> tuple[str, object] | None:
        for name in names:
            value = self._obj.get(name)
            if value is not None:
                return name, value
        return None

    def has(self, *names: str) -> bool:
        return self.find(*names) is not None

    def names(self) -> list[str]:
        """The object's keys (for payloads keyed by ids, such as fee tables)."""
        return [k for k in self._obj if isinstance(k, str)]

    def raw(self, *names: str) -> object | None:
        found = self.find(*names)
        return None if found is None else found[1]

    def need(self, names: tuple[str, ...]) -> tuple[str, object]:
        """``(key, value)`` of the first alias present; ParseError "missing" if none."""
        found = self.find(*names)
        if found is None:
            self.fail(names, "missing")
        return found

    def _at(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    # -- scalars

    def decimal(self, *names: str) -> Decimal:
        name, value = self.need(names)
        return parse_decimal(value, self.venue, self.kind, self._at(name))

    def opt_decimal(self, *names: str) -> Decimal | None:
        found = self.find(*names)
        if found is None or found[1] == "":
            return None
        return parse_decimal(found[1], self.venue, self.kind, self._at(found[0]))

    def positive(self, *names: str) -> Decimal:
        d = self.decimal(*names)
        if d <= 0:
            self.fail(names, f"must be > 0, got {d}")
        return d

    def non_negative(self, *names: str) -> Decimal:
        d = self.decimal(*names)
        if d < 0:
            self.fail(names, f"must be >= 0, got {d}")
        return d

    def opt_non_negative(self, *names: str) -> Decimal | None:
        d = self.opt_decimal(*names)
        if d is not None and d < 0:
            self.fail(names, f"must be >= 0, got {d}")
        return d

    def opt_price(self, *names: str) -> Decimal | None:
        """A price that may be absent; 0 also means "not set" (``stop_price: 0``)."""
        d = self.opt_decimal(*names)
        if d is not None and d < 0:
            self.fail(names, f"must be >= 0, got {d}")
        return d if d else None

    def number(self, *names: str) -> float:
        """A float for market events, parsed through Decimal so bad input is caught."""
        return float(self.decimal(*names))

    def positive_number(self, *names: str) -> float:
        """A float that must be > 0 (a trade's price or size): else a ParseError."""
        return float(self.positive(*names))

    def opt_positive_number(self, *names: str) -> float | None:
        """``positive_number`` for a field that may be absent or null."""
        d = self.opt_decimal(*names)
        if d is not None and d <= 0:
            self.fail(names, f"must be > 0, got {d}")
        return None if d is None else float(d)

    def opt_number(self, *names: str) -> float | None:
        d = self.opt_decimal(*names)
        return None if d is None else float(d)

    def integer(self, *names: str) -> int:
        name, value = self.need(names)
        return _int_value(value, self.venue, self.kind, self._at(name))

    def text(self, *names: str) -> str:
        name, value = self.need(names)
        if not isinstance(value, str) or not value.strip():
            self.fail((name,), f"expected a non-empty string, got {_show(value)}")
        return value.strip()

    def opt_text(self, *names: str) -> str | None:
        found = self.find(*names)
        if found is None:
            return None
        name, value = found
        if not isinstance(value, str):
            self.fail((name,), f"expected a string, got {_show(value)}")
        return value.strip() or None

    def ident(self, *names: str) -> str:
        """An id the venue may send as a number or a string; kept as a string."""
        name, value = self.need(names)
        return self._ident(name, value)

    def opt_ident(self, *names: str) -> str | None:
        found = self.find(*names)
        if found is None or found[1] == "":
            return None
        return self._ident(*found)

    def _ident(self, name: str, value: object) -> str:
        if isinstance(value, bool) or not isinstance(value, int | str):
            self.fail((name,), f"expected an id (integer or string), got {_show(value)}")
        text = str(value).strip()
        if not text:
            self.fail((name,), "empty id")
        return text

    def boolean(self, *names: str) -> bool:
        name, value = self.need(names)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        self.fail((name,), f"expected a boolean, got {_show(value)}")

    def opt_boolean(self, *names: str) -> bool | None:
        return self.boolean(*names) if self.has(*names) else None

    def time_ns(self, *names: str, unit: str) -> int:
        name, value = self.need(names)
        return any_time_to_ns(value, unit, self.venue, self.kind, self._at(name))

    def opt_time_ns(self, *names: str, unit: str) -> int | None:
        found = self.find(*names)
        if found is None or found[1] == "":
            return None
        return any_time_to_ns(found[1], unit, self.venue, self.kind, self._at(found[0]))

    # -- containers

    def obj(self, *names: str) -> Fields:
        name, value = self.need(names)
        return Fields(value, self.venue, self.kind, self._at(name))

    def items(self, *names: str) -> list[object]:
        name, value = self.need(names)
        if not isinstance(value, list):
            self.fail((name,), f"expected a list, got {type(value).__name__}")
        return value

    def opt_items(self, *names: str) -> list[object]:
        return self.items(*names) if self.has(*names) else []

    def each(self, *names: str) -> Iterable[Fields]:
        """The objects of a list field, each as Fields with an indexed path."""
        name = self.need(names)[0]
        for i, item in enumerate(self.items(name)):
            yield Fields(item, self.venue, self.kind, f"{self._at(name)}[{i}]")


def list_of(payload: object, venue: str, kind: str, path: str = "") -> list[Fields]:
    """A top-level JSON list of objects, each as Fields."""
    if not isinstance(payload, list):
        _fail(venue, kind, path or "<root>", f"expected a list, got {type(payload).__name__}")
    prefix = path or ""
    return [Fields(item, venue, kind, f"{prefix}[{i}]") for i, item in enumerate(payload)]


def rows(
    items: Iterable[object],
    build: Callable[[Fields], T],
    skip: Skip | None = None,
    *,
    venue: str,
    kind: str,
    path: str = "",
) -> list[T]:
    """``build(Fields(item))`` for every item of a list at ``path``, in order.

    Without ``skip`` the first item that does not parse (not even an object, or
    ``build`` fails) raises its ParseError. With ``skip``, that item's error goes
    to ``skip`` and the item is left out: the good items of the same page or
    message still come back. Build market data with ``Fields.positive_number``
    so that a trade with a non-positive price or size is one such item.
    """
    out: list[T] = []
    for i, item in enumerate(items):
        try:
            out.append(build(Fields(item, venue, kind, f"{path}[{i}]")))
        except ParseError as err:
            if skip is None:
                raise
            skip(err)
    return out


def lookup(f: Fields, names: tuple[str, ...], table: Mapping[str, T]) -> tuple[T | None, str]:
    """Look a code up leniently: ``(value or None, the venue's raw text)``.

    For fields where an unknown value must be reported rather than rejected (an
    order status we do not know becomes UNKNOWN, not a lost order update). A
    value that is not even a string or integer is still a ParseError.
    """
    found = f.find(*names)
    if found is None:
        return None, ""
    name, value = found
    if isinstance(value, bool) or not isinstance(value, str | int):
        f.fail((name,), f"expected a string, got {_show(value)}")
    raw = str(value).strip()
    return table.get(raw.lower()), raw


SIDES: Mapping[str, Side] = MappingProxyType(
    {"buy": Side.BUY, "sell": Side.SELL, "bid": Side.BUY, "ask": Side.SELL}
)


def side_of(f: Fields, *names: str) -> Side:
    """A required buy/sell field (any case); anything else is a ParseError."""
    name, value = f.need(names)
    side = SIDES.get(value.strip().lower()) if isinstance(value, str) else None
    if side is None:
        f.fail((name,), f"expected buy or sell, got {_show(value)}")
    return side


# --- order arithmetic -------------------------------------------------------------------


def settle_status(status: OrderStatus, size: Decimal, filled: Decimal) -> OrderStatus:
    """An OPEN order with part of its size filled is PARTIALLY_FILLED.

    Derived from the fill amounts the venue gave, not guessed: venues that have no
    separate partial status ("Active", or "NEW" with a reduced remaining
    amount) still report how much is filled.
    """
    if status is OrderStatus.OPEN and ZERO < filled < size:
        return OrderStatus.PARTIALLY_FILLED
    return status


def average_price(executions: Iterable[tuple[Decimal, Decimal]]) -> Decimal | None:
    """Size-weighted average of ``(price, size)`` executions; None if there are none."""
    total = ZERO
    value = ZERO
    for price, size in executions:
        total += size
        value += price * size
    if total <= 0:
        return None
    return value / total


# --- order books ------------------------------------------------------------------------


def _level(item: object, venue: str, kind: str, where: str, allow_zero: bool) -> Level:
    if isinstance(item, list):
        if len(item) < 2:
            _fail(venue, kind, where, "expected [price, size]")
        price = parse_decimal(item[0], venue, kind, f"{where}[0]")
        size = parse_decimal(item[1], venue, kind, f"{where}[1]")
    else:
        f = Fields(item, venue, kind, where)
        price = f.decimal("price")
        size = f.decimal("amount", "size", "quantity")
    if price <= 0:
        _fail(venue, kind, where, f"price must be > 0, got {price}")
    if size < 0 or (size == 0 and not allow_zero):
        _fail(venue, kind, where, f"size must be {'>=' if allow_zero else '>'} 0, got {size}")
    return float(price), float(size)


def parse_levels(
    raw: object,
    venue: str,
    kind: str,
    path: str,
    *,
    descending: bool,
    allow_zero: bool = True,
    skip: Skip | None = None,
) -> list[Level]:
    """Book levels as ``(price, size)`` floats, best first.

    A level may be ``{"price": p, "amount"|"size"|"quantity": s}`` or ``[p, s]``.
    A price must be > 0 and a size >= 0; a size of 0 is a removal in a book
    update (``allow_zero``, the default) and meaningless in a full book
    (``allow_zero=False``). A level that breaks these rules raises, or — given
    ``skip`` — is reported there and dropped while the rest of the book stands.
    """
    if not isinstance(raw, list):
        _fail(venue, kind, path, f"expected a list, got {type(raw).__name__}")
    levels: list[Level] = []
    for i, item in enumerate(raw):
        try:
            levels.append(_level(item, venue, kind, f"{path}[{i}]", allow_zero))
        except ParseError as err:
            if skip is None:
                raise
            skip(err)
    levels.sort(key=lambda lv: lv[0], reverse=descending)
    return levels


def _canonical(part: object) -> str:
    if not isinstance(part, Decimal):
        return str(part)
    # 0.050 and 0.05 are the same amount; no normalize(), which would round
    # values longer than the context precision.
    text = format(part, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def synthetic_id(prefix: str, *parts: object) -> str:
    """A stable id from the fields of a record that arrives without one.

    Used to key fills a venue reports without a trade id, so that the same
    execution seen twice (REST poll and again after a restart) dedups.
    """
    canonical = "|".join(_canonical(p) for p in parts)
    # surrogatepass: a lone surrogate (valid in JSON text) must not raise here.
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{prefix}:{digest[:24]}"


def unwrap(payload: object, keys: tuple[str, ...]) -> object:
    """Strip one level of ``{"result": ...}``-style envelope, if present."""
    if isinstance(payload, Mapping):
        for key in keys:
            if key in payload and isinstance(payload[key], list | Mapping):
                return payload[key]
    return payload


# Every venue that names its order types after ours spells them the same way.
ORDER_TYPES: Mapping[str, OrderType] = MappingProxyType({t.value: t for t in OrderType})
