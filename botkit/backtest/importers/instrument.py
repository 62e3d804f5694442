"""``instrument.json`` for an import: written the first time, checked every time after.

A catalog symbol (``<venue>/<SYMBOL>``) holds one market. Before an importer
writes a row, :func:`settle_instrument` compares what the file says about its
market with what the user asked for and with what the symbol already holds, and
refuses (:class:`ImportRefused`) when they disagree:

- the file names another instrument (``--symbol ETH/USDT`` on a ``BTCUSDT``
  file: the exchange symbol read from the data or its file name);
- the file is another kind of market (spot into a symbol that holds a
  perpetual, or ``--kind`` against what the data says);
- ``--base``/``--quote`` or an exchange symbol against those already stored;
- a tick or lot size given by flag against the one already stored, or prices
  (sizes) off the stored grid, when that grid was given by flag.

``force=True`` (``--force``) imports anyway, says so, and stores the new values.

Tick and lot sizes come from the flags (``tick_size``, ``lot_size``), else from
the stored ``instrument.json``, else from the data: the coarsest grid every price
(size) lies on (:func:`~botkit.backtest.importers.common.finest_step`). What was
inferred is listed under ``"inferred"`` in ``instrument.json`` and said in the
import's summary; an inferred value is refined by later imports (to the grid both
files lie on) and replaced by a flag without a refusal.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from botkit.backtest.importers.common import ImportResult, finest_step

KINDS = ("spot", "perpetual", "future", "inverse_perpetual", "inverse_future")

# Quote assets recognised at the end of an exchange symbol (BTCUSDT -> BTC, USDT).
_QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USD", "EUR", "TRY", "BTC", "ETH", "BNB")

# Written when a file has no order sizes at all (bars of quote volume), or prices on no
# grid that can be told: placeholders, said so.
PLACEHOLDER_LOT = Decimal("0.00000001")
PLACEHOLDER_TICK = Decimal("0.00000001")
_PLACEHOLDERS = {"tick_size": PLACEHOLDER_TICK, "lot_size": PLACEHOLDER_LOT}


class ImportRefused(ValueError):
    """The file is another market than the symbol holds (or than asked); nothing was written."""


@dataclass(frozen=True, slots=True)
class Wanted:
    """What the user said about the instrument (flags); None: not said."""

    tick_size: Decimal | str | None = None
    lot_size: Decimal | str | None = None
    kind: str | None = None
    base: str | None = None
    quote: str | None = None
    force: bool = False


@dataclass(frozen=True, slots=True)
class Facts:
    """What the file says about its market.

    ``exchange_symbol`` as the exchange spells it (``BTCUSDT``) and where it was read
    (``symbol_from``); ``kind`` when the data (or a format flag such as ``--market``)
    tells it, with ``kind_why`` in words; ``assumed_kind`` when it only suggests one.
    """

    exchange_symbol: str | None = None
    symbol_from: str = "by its data"
    kind: str | None = None
    kind_why: str = ""
    assumed_kind: str | None = None


def compact(symbol: str) -> str:
    """A symbol reduced for comparison: ``BTC/USDT``, ``btc-usdt``, ``BTCUSDT`` and
    ``BTC/USDT:USDT`` (a settle asset) all give ``BTCUSDT``."""
    return re.sub(r"[^A-Z0-9]", "", symbol.split(":")[0].upper())


def split_symbol(symbol: str, exchange_symbol: str | None, wanted: Wanted) -> tuple[str, str]:
    """(base, quote): from the flags, else ``BASE/QUOTE``, else a known quote at the end."""
    if wanted.base and wanted.quote:
        return wanted.base, wanted.quote
    base = quote = None
    if "/" in symbol:
        base, rest = symbol.split("/", 1)
        quote = rest.split(":", 1)[0]
    else:
        for text in (symbol, exchange_symbol or ""):
            c = compact(text)
            q = next((q for q in _QUOTES if c.endswith(q) and len(c) > len(q)), None)
            if q is not None:
                base, quote = c[: -len(q)], q
                break
    base, quote = wanted.base or base, wanted.quote or quote
    if not base or not quote:
        raise ValueError(
            f"cannot tell the base and quote assets of {symbol!r}: write the symbol as "
            "BASE/QUOTE (e.g. BTC/USD) or pass --base and --quote"
        )
    return base, quote


def _decimal(value: Decimal | str, name: str) -> Decimal:
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{name} {value!r} is not a decimal number") from None
    if not d.is_finite() or d <= 0:
        raise ValueError(f"{name} must be a decimal > 0, got {value!r}")
    return d.normalize()


def _text(d: Decimal) -> str:
    """A decimal as plain digits: ``0.00000001``, ``100`` (never ``1E-8``, ``1E+2``)."""
    return format(d.normalize(), "f")


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _on_grid(step: Decimal, grid: Decimal) -> bool:
    return step % grid == 0


def _gcd(a: Decimal, b: Decimal) -> Decimal:
    """The coarsest grid both steps lie on."""
    exp = min(int(a.as_tuple().exponent), int(b.as_tuple().exponent))
    g = math.gcd(int(a.scaleb(-exp)), int(b.scaleb(-exp)))
    return Decimal(g).scaleb(exp).normalize()


class _Settler:
    def __init__(self, venue: str, symbol: str, existing: dict[str, Any] | None) -> None:
        self.venue, self.symbol = venue, symbol
        self.existing = existing or {}
        self.was_inferred = set(self.existing.get("inferred") or ())
        self.problems: list[str] = []
        self.said: list[str] = []
        self.inferred: set[str] = set()

    def grid(
        self,
        key: str,
        given: Decimal | str | None,
        seen: Decimal | None,
        what: str,
        weak: bool = False,
    ) -> Decimal | None:
        """The step for ``key``: given, else stored (checked against ``seen``), else ``seen``.
        A ``weak`` reading (bar volumes: sums of sizes) is used only when nothing is stored."""
        stored = self.existing.get(key)
        stored_d = _decimal(stored, f"instrument.json {key}") if stored else None
        if key in self.was_inferred and stored_d == _PLACEHOLDERS[key]:
            stored_d = None  # a placeholder: anything the data shows is better
        if weak and stored_d is not None:
            seen = None
        if given is not None:
            g = _decimal(given, _flag(key))
            if stored_d is not None and stored_d != g and key not in self.was_inferred:
                self.problems.append(
                    f"{_flag(key)} {_text(g)} differs from the {key} {_text(stored_d)} "
                    "in instrument.json"
                )
            elif stored_d is not None and stored_d != g:
                self.said.append(
                    f"{key} {_text(g)} (was {_text(stored_d)}, inferred by an earlier import)"
                )
            return g
        if stored_d is not None:
            if seen is None or _on_grid(seen, stored_d):
                if key in self.was_inferred:
                    self.inferred.add(key)
                return stored_d
            if key in self.was_inferred:
                new = _gcd(stored_d, seen)
                self.inferred.add(key)
                self.said.append(
                    f"{key} {_text(new)} inferred (was {_text(stored_d)}: these {what} are on "
                    "a finer grid); "
                    f"pass {_flag(key)} to set it"
                )
                return new
            self.problems.append(
                f"the {what} are on a grid of {_text(seen)}, off the {key} {_text(stored_d)} in "
                f"instrument.json (pass {_flag(key)} with --force to change it)"
            )
            return seen
        if seen is not None:
            self.inferred.add(key)
            self.said.append(
                f"{key} {_text(seen)} inferred from the {what} (the coarsest grid they all "
                "lie on); "
                f"pass {_flag(key)} to set it"
            )
            return seen
        return None

    def kind(self, facts: Facts, wanted: Wanted) -> str:
        if wanted.kind is not None and wanted.kind not in KINDS:
            raise ValueError(f"--kind {wanted.kind!r}: expected one of {', '.join(KINDS)}")
        if wanted.kind and facts.kind and wanted.kind != facts.kind:
            self.problems.append(f"--kind {wanted.kind}, but {facts.kind_why} ({facts.kind})")
        kind = wanted.kind or facts.kind
        stored = self.existing.get("kind")
        if kind is None:
            if stored:
                if "kind" in self.was_inferred:
                    self.inferred.add("kind")  # still an assumption
                return str(stored)
            kind = facts.assumed_kind or "spot"
            self.inferred.add("kind")
            why = f" ({facts.kind_why})" if facts.kind_why else " (the file does not say)"
            self.said.append(f"kind {kind} assumed{why}; pass --kind to set it")
            return kind
        if stored and stored != kind:
            if "kind" in self.was_inferred:
                self.said.append(f"kind {kind} (was {stored}, assumed by an earlier import)")
            else:
                why = facts.kind_why if not wanted.kind else f"--kind {wanted.kind}"
                self.problems.append(
                    f"{self.venue} {self.symbol} holds {stored} data (instrument.json), "
                    f"and this file is {kind} ({why})"
                )
        return kind


def settle_instrument(
    catalog: Any,
    venue: str,
    symbol: str,
    facts: Facts,
    wanted: Wanted,
    result: ImportResult,
    prices: np.ndarray,
    sizes: np.ndarray | None,
    sizes_what: str = "trade sizes",
) -> dict[str, Any]:
    """Decide the instrument (or raise :class:`ImportRefused`); returns what to store.

    ``prices`` and ``sizes`` are the file's, for the grids; ``sizes=None`` when the
    file holds no order sizes. ``sizes_what`` names them in messages; ``"bar volumes"``
    only suggests a lot size where none is stored. Nothing is written here: :func:`store_instrument`
    writes it once the rows are in the catalog.
    """
    existing = catalog.instrument(venue, symbol)
    s = _Settler(venue, symbol, existing)
    if facts.exchange_symbol and compact(facts.exchange_symbol) != compact(symbol):
        s.problems.append(
            f"the file is {facts.exchange_symbol} ({facts.symbol_from}), not {symbol}"
        )
    stored_ex = s.existing.get("exchange_symbol")
    if facts.exchange_symbol and stored_ex and compact(stored_ex) != compact(facts.exchange_symbol):
        s.problems.append(
            f"{venue} {symbol} holds {stored_ex} (instrument.json), and this file is "
            f"{facts.exchange_symbol}"
        )
    kind = s.kind(facts, wanted)
    base, quote = split_symbol(symbol, facts.exchange_symbol, wanted)
    for key, value in (("base", base), ("quote", quote)):
        stored = s.existing.get(key)
        if stored and stored != value:
            s.problems.append(
                f"{_flag(key)} {value} differs from the {key} {stored} in instrument.json"
            )
    tick = s.grid("tick_size", wanted.tick_size, finest_step(prices), "prices")
    seen_lot = finest_step(sizes) if sizes is not None else None
    # Bar volumes are sums of order sizes: a bound on the lot, never a check of one.
    weak = sizes_what == "bar volumes"
    lot = s.grid("lot_size", wanted.lot_size, seen_lot, sizes_what, weak)
    if tick is None:
        tick = PLACEHOLDER_TICK
        s.inferred.add("tick_size")
        s.said.append(
            f"tick_size {_text(tick)} written as a placeholder: the prices lie on no grid "
            "botkit can tell (more than 12 decimals, or more digits than a float holds); "
            "pass --tick-size"
        )
    if lot is None:
        lot = PLACEHOLDER_LOT
        s.inferred.add("lot_size")
        s.said.append(
            f"lot_size {_text(lot)} written as a placeholder: the file has no order sizes to infer "
            "it from; pass --lot-size"
        )
    if s.problems:
        if not wanted.force:
            raise ImportRefused(
                f"refused to import into {venue} {symbol}: "
                + "; ".join(s.problems)
                + ". Import it under another --venue or --symbol, or pass --force to "
                "import it anyway (instrument.json then takes this file's values)"
            )
        s.said += [f"imported despite: {p} (--force)" for p in s.problems]
    info: dict[str, Any] = dict(s.existing)
    info.pop("venue", None)
    info.pop("symbol", None)
    info.update(base=base, quote=quote, kind=kind, tick_size=_text(tick), lot_size=_text(lot))
    if facts.exchange_symbol:
        info["exchange_symbol"] = facts.exchange_symbol
    if s.inferred:
        info["inferred"] = sorted(s.inferred)
    else:
        info.pop("inferred", None)
    result.said += s.said
    return info


def store_instrument(
    catalog: Any, venue: str, symbol: str, info: dict[str, Any], result: ImportResult
) -> None:
    """Write ``instrument.json`` (when it changed) and keep it in the result."""
    before = catalog.instrument(venue, symbol)
    after = {"venue": venue, "symbol": symbol, **info}
    if before != after:
        result.paths.append(catalog.write_instrument(venue, symbol, info))
    result.instrument = after


__all__ = [
    "KINDS",
    "PLACEHOLDER_LOT",
    "PLACEHOLDER_TICK",
    "Facts",
    "ImportRefused",
    "Wanted",
    "compact",
    "settle_instrument",
    "split_symbol",
    "store_instrument",
]
