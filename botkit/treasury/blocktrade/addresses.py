"""BlockTrade's destination address formats (document 004, "Withdraw crypto currency").

"In the case of withdrawing to XRP, KAYA or XLM destination address, the proper
format of the destination address is like listed in the table below":

=====  ==============================================
XRP    ``the_address?dt=the_destination_tag_number``
KAYA   ``the_address?msg=the_message``
XLM    ``the_address?memoId=the_memo_id_number``
=====  ==============================================

So for those three assets the tag is part of ``destination_address`` and is
required (the format has it); for every other asset an address carries no
``?`` suffix and a tag is refused rather than dropped. A tag "number" (XRP,
XLM) is decimal digits. The document shows the message unencoded, so a KAYA
message may not hold a character that would change the format (white space,
``?``, ``&``, ``#``, ``=``): it is refused rather than escaped in a way the
venue might not undo. Pure functions; the simulator keeps its own copy of the
rule, written from the same table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["FORMATS", "TagFormat", "destination", "split_destination", "tag_problem"]


@dataclass(frozen=True)
class TagFormat:
    """How one asset's tag is written after the address."""

    parameter: str  # dt, msg, memoId
    what: str  # the document's words for it
    pattern: re.Pattern[str]


_NUMBER = re.compile(r"[0-9]{1,20}")
_MESSAGE = re.compile(r"[^\s?&#=]{1,128}")

FORMATS: dict[str, TagFormat] = {
    "XRP": TagFormat("dt", "destination tag number", _NUMBER),
    "KAYA": TagFormat("msg", "message", _MESSAGE),
    "XLM": TagFormat("memoId", "memo id number", _NUMBER),
}


def tag_problem(asset: str, address: str, tag: str | None) -> str | None:
    """Why ``address`` with ``tag`` cannot be written for ``asset`` (None: it can)."""
    if not address or "?" in address or any(c.isspace() for c in address):
        return (
            f"the address {address[:6]!r}... must be the address alone (a tag goes in the tag, "
            "not after a '?')"
        )
    fmt = FORMATS.get(asset)
    if fmt is None:
        if tag is not None:
            return (
                f"BlockTrade's address formats carry a tag only for {', '.join(FORMATS)}, "
                f"not {asset}"
            )
        return None
    if tag is None:
        return (
            f"a {asset} withdrawal needs its {fmt.what}: the document's format is "
            f"the_address?{fmt.parameter}=the_{fmt.what.replace(' ', '_')}"
        )
    if not fmt.pattern.fullmatch(tag):
        if fmt.pattern is _NUMBER:
            return f"the {asset} {fmt.what} must be decimal digits"
        return f"the {asset} {fmt.what} may not hold white space, '?', '&', '#' or '='"
    return None


def destination(asset: str, address: str, tag: str | None) -> str:
    """``destination_address`` as the document formats it (check ``tag_problem`` first)."""
    fmt = FORMATS.get(asset)
    if fmt is None or tag is None:
        return address
    return f"{address}?{fmt.parameter}={tag}"


def split_destination(text: str) -> tuple[str, str | None]:
    """An address in one of the formats (a deposit address, say) -> (address, tag)."""
    address, sep, rest = text.partition("?")
    if not sep:
        return text, None
    for fmt in FORMATS.values():
        prefix = fmt.parameter + "="
        if rest.startswith(prefix) and rest[len(prefix) :]:
            return address, rest[len(prefix) :]
    return text, None
