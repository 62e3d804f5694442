"""Writing a backtest's output folder and its stdout summary.

``write_report(result, out_dir)`` writes:

- ``summary.json``: the headline numbers (see ``summarize``). Money is an exact
  ``Decimal`` rendered as a plain string (never a float, never exponent form);
  ratios are floats; a ratio not shown is ``null`` next to a caveat saying why.
  The equity change is split into strategy PnL and the starting holdings' drift
  (``botkit.backtest.pnl``).
- ``fills.csv`` and ``orders.csv``: one row per fill / order, exact numbers.
- ``equity.png``: the equity curve with its benchmarks and a drawdown panel.
- ``price.png`` (when anything filled): each strategy's entries and exits on the
  price.
- ``report.html``: one self-contained page (inline CSS, the charts embedded as
  base64, no external references) with the summary, per-strategy numbers,
  rejects by reason and the first/last fills. It and the stdout table round
  amounts to each asset's precision (``display_decimals``); the files above
  keep them exact.

The equity curve used for the metrics is ``result.equity`` anchored at
``(start_ns, initial_equity)`` when its first sample comes later, and at
``(end_ns, final_equity)`` when its last sample comes earlier, so a loss before
the first sample still counts in the drawdown. Metric definitions are in
``botkit.backtest.metrics``.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import sys
from array import array
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import chain, islice
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from botkit.backtest import metrics
from botkit.backtest.pnl import Attribution, FillFlows, attribute, pricing_symbols
from botkit.backtest.result import BacktestResult
from botkit.backtest.spill import (
    appended_in_time_order,
    field_values,
    fill_tables,
    in_time_order,
    last_in_time_order,
    order_tables,
)
from botkit.model import ZERO, Fill, Order, Position, Side

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)

FILL_COLUMNS = (
    "ts",
    "ts_ns",
    "strategy",
    "symbol",
    "side",
    "price",
    "size",
    "fee",
    "fee_asset",
    "liquidity",
    "trade_id",
    "client_id",
    "venue_order_id",
)

ORDER_COLUMNS = (
    "client_id",
    "strategy",
    "symbol",
    "side",
    "type",
    "tif",
    "price",
    "size",
    "filled",
    "avg_price",
    "status",
    "post_only",
    "reduce_only",
    "code",
    "reason",
    "created",
    "created_ns",
    "updated",
    "updated_ns",
    "stop_price",
    "fees",
    "venue_order_id",
)


# ---------------------------------------------------------------- formatting


def iso_utc(ts_ns: int) -> str:
    """``2024-01-02T03:04:05.123456Z``; integer arithmetic so no float rounding."""
    # Naive UTC + "Z": isoformat is much faster than strftime on 100k-row CSVs.
    dt = _EPOCH_NAIVE + timedelta(microseconds=ts_ns // 1000)
    return dt.isoformat(timespec="microseconds") + "Z"


def dec_str(value: Decimal) -> str:
    """A Decimal as a plain, exact string: no exponent, no trailing zeros, no "-0"."""
    if value == 0:
        return "0"
    # Not Decimal.normalize(): it rounds to the context precision.
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _opt_dec(value: Decimal | None) -> str:
    return "" if value is None else dec_str(value)


def _ratio(value: float | None) -> float | None:
    # JSON has no NaN/Infinity, and an undefined ratio is better shown as null.
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _enum_str(value: Any) -> str:
    return "" if value is None else str(getattr(value, "value", value))


def _bool_str(value: bool) -> str:
    return "true" if value else "false"


# ------------------------------------------------------------------- summary


def equity_curve(result: BacktestResult) -> list[tuple[int, Decimal]]:
    """``result.equity`` in time order, anchored at the run's start and end (module doc)."""
    curve = sorted(result.equity, key=lambda s: s[0])
    if not curve or curve[0][0] > result.start_ns:
        curve.insert(0, (result.start_ns, result.initial_equity))
    if curve[-1][0] < result.end_ns:
        curve.append((result.end_ns, result.final_equity))
    return curve


def _is_quote_fee(fill: Fill, quote: str) -> bool:
    return fill.fee_asset in ("", quote)


class _FillSums:
    """Fill totals (one strategy's, or the run's), summed in fill order as the sums
    over a list of those fills would be."""

    __slots__ = ("by_asset", "count", "fees", "notional")

    def __init__(self) -> None:
        self.count = 0
        self.notional = ZERO  # price x size, in the quote asset
        self.fees = ZERO  # paid in the quote asset
        self.by_asset: dict[str, Decimal] = defaultdict(lambda: ZERO)  # every fee asset's

    def fees_by_asset(self) -> dict[str, str]:
        return {a: dec_str(v) for a, v in sorted(self.by_asset.items())}


class _Tally:
    """What the summary needs of every fill and order, read in one pass over each: a
    long run's are on disk (botkit.backtest.spill), and each pass reads them back."""

    def __init__(self, result: BacktestResult, *, read_fills: bool = True) -> None:
        """``read_fills=False``: the fills are to come through :meth:`add`, from a pass
        that feeds other totals too."""
        self.quote = result.quote_asset
        self.total = _FillSums()
        self.fills: dict[str, _FillSums] = defaultdict(_FillSums)
        if read_fills:
            for f in result.fills:
                self.add(f)
        self.orders: Counter[str] = Counter(field_values(result.orders, "strategy"))

    def add(self, f: Fill) -> None:
        quote = self.quote
        notional = f.price * f.size
        quote_fee = _is_quote_fee(f, quote)
        asset = f.fee_asset or quote
        for sums in (self.fills[f.strategy], self.total):
            sums.count += 1
            sums.notional += notional
            if quote_fee:
                sums.fees += f.fee
            sums.by_asset[asset] += f.fee


def _is_quote_fee(fill: Fill, quote: str) -> bool:
    return fill.fee_asset in ("", quote)


def _strategy_names(result: BacktestResult, tally: _Tally) -> list[str]:
    # Declared strategies first, then any name only seen in the records, so
    # nothing traded goes missing from the per-strategy table.
    names = list(dict.fromkeys(result.strategies))
    seen = set(names)
    extra = set(tally.fills) | set(tally.orders)
    extra |= {strategy for strategy, _ in result.positions}
    names += sorted(extra - seen)
    return names


def _position_entry(pos: Position, mark: Decimal | None) -> dict[str, Any]:
    unrealized = pos.unrealized(mark) if mark is not None else None
    return {
        "size": dec_str(pos.size),
        "avg_price": dec_str(pos.avg_price),
        "realized_pnl_gross": dec_str(pos.realized_pnl),
        "mark": _opt_dec(mark) or None,
        "unrealized_pnl": None if unrealized is None else dec_str(unrealized),
    }


def _per_strategy(
    result: BacktestResult, split: Attribution, tally: _Tally
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, pnl in split.per_strategy.items():
        fills = tally.fills.get(name) or _FillSums()
        positions = {
            symbol: _position_entry(pos, result.marks.get(symbol))
            for (strategy, symbol), pos in sorted(result.positions.items())
            if strategy == name
        }
        out[name] = {
            "fills": fills.count,
            "orders": tally.orders.get(name, 0),
            "volume": dec_str(fills.notional),
            # Paid in the quote asset; fees_valued adds the other assets' at their last price.
            "fees": dec_str(fills.fees),
            "fees_by_asset": fills.fees_by_asset(),
            "fees_valued": dec_str(pnl.fees),
            "realized_pnl_gross": dec_str(pnl.realized_gross),
            "realized_pnl_net": dec_str(pnl.realized_net),
            "funding": dec_str(pnl.funding),
            "unrealized_pnl": _opt_dec(pnl.unrealized) or None,
            "strategy_pnl": _opt_dec(pnl.total) or None,
            "positions": positions,
        }
    return out


def _decimals(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 8


def display_decimals(result: BacktestResult) -> dict[str, int]:
    """Decimals to print each asset with: the quote asset at its finest tick size
    (prices and amounts in it), a base asset at its finest lot size."""
    out: dict[str, int] = {}
    for inst in result.instruments.values():
        out[inst.quote] = max(out.get(inst.quote, 0), _decimals(inst.tick_size))
        out[inst.base] = max(out.get(inst.base, 0), _decimals(inst.lot_size))
    return out


def _mark_path(result: BacktestResult, symbol: str) -> list[tuple[int, float]]:
    return result.prices.get(symbol, [])


def _benchmark_symbol(result: BacktestResult) -> str | None:
    """The first instrument quoted in the quote asset that has a price at both ends."""
    for sym, inst in result.instruments.items():
        if inst.quote != result.quote_asset:
            continue
        if _start_price(result, sym) is not None and result.marks.get(sym) is not None:
            return sym
    return None


def _start_price(result: BacktestResult, symbol: str) -> Decimal | None:
    if symbol in result.initial_marks:
        return result.initial_marks[symbol]
    path = _mark_path(result, symbol)
    return Decimal(repr(path[0][1])) if path else None


def _benchmark(result: BacktestResult, split: Attribution) -> dict[str, Any]:
    q = result.quote_asset
    e0 = result.initial_equity

    def ret(pnl: Decimal) -> float | None:
        return _ratio(float(pnl / e0)) if e0 > 0 else None

    drift = split.holdings_drift
    held = {
        "what": f"the starting balances held untouched (no trading), valued in {q}",
        "final_equity": dec_str(e0 + drift),
        "pnl": dec_str(drift),
        "return": ret(drift),
    }
    out: dict[str, Any] = {"hold_starting_balances": held, "buy_and_hold": None}
    sym = _benchmark_symbol(result)
    if sym is not None:
        p0 = _start_price(result, sym)
        p1 = result.marks[sym]
        if p0 is not None and p0 > 0:
            base = result.instruments[sym].base
            final = e0 * p1 / p0
            out["buy_and_hold"] = {
                "what": (
                    f"the starting equity ({dec_str(e0)} {q}) put into {base} at the first "
                    f"{sym} price ({dec_str(p0)}) with no fee and held to the last ({dec_str(p1)})"
                ),
                "symbol": sym,
                "start_price": dec_str(p0),
                "end_price": dec_str(p1),
                "final_equity": dec_str(final),
                "pnl": dec_str(final - e0),
                "return": ret(final - e0),
            }
    return out


def _holdings(split: Attribution) -> list[dict[str, Any]]:
    return [
        {
            "asset": h.asset,
            "amount": dec_str(h.amount),
            "symbol": h.symbol,
            "start_price": _opt_dec(h.start_price) or None,
            "end_price": _opt_dec(h.end_price) or None,
            "drift": _opt_dec(h.drift) or None,
        }
        for h in split.holdings
    ]


def _valuation_text(result: BacktestResult) -> str:
    q = result.quote_asset
    used = sorted(set(pricing_symbols(result.instruments, q).values()))
    if not used:
        return f"amounts in {q}"
    prices = "; ".join(
        f"{sym} {_opt_dec(_start_price(result, sym)) or '?'} at the start, "
        f"{_opt_dec(result.marks.get(sym)) or '?'} at the end"
        for sym in used
    )
    return (
        f"amounts in {q}; other assets valued at the last price "
        f"(trade, or bar close on bar data) ({prices})"
    )


def _feeding(fills: Iterable[Fill], sinks: Sequence[Callable[[Fill], None]]) -> Iterator[Fill]:
    for f in fills:
        for sink in sinks:
            sink(f)
        yield f


def summarize(result: BacktestResult) -> dict[str, Any]:
    """The summary dict written to ``summary.json`` (JSON-ready: str, int, float, None)."""
    return _summarize(result)[0]


def _summarize(
    result: BacktestResult, also: Callable[[Fill], None] | None = None
) -> tuple[dict[str, Any], bool]:
    """:func:`summarize`, and whether ``also`` was given every fill in time order.

    When the fills were appended in time order (a backtest's are), the totals, the
    attribution, the exposure and ``also`` share one pass over them: a long run's are
    read back from disk (botkit.backtest.spill), and building them back is most of
    what each pass costs. The totals are sums in the order the fills are listed
    either way, so the numbers are the same as from a pass each."""
    curve = equity_curve(result)
    ratios = metrics.risk_ratios(curve)
    dd = metrics.max_drawdown(curve)
    shared = appended_in_time_order(result.fills)
    tally = _Tally(result, read_fills=not shared)
    flows = FillFlows(result) if shared else None
    fills = in_time_order(result.fills)
    if flows is not None:
        sinks = [tally.add, flows.add] + ([also] if also is not None else [])
        fills = _feeding(fills, sinks)
    expo = metrics.exposure(
        fills,
        result.start_ns,
        result.end_ns,
        curve,
        result.initial_equity,
        time_ordered=True,
    )
    # The exposure stops at the run's end (or never starts on an empty range): the
    # other readers still need the fills it left.
    if flows is not None:
        deque(fills, maxlen=0)
    split = attribute(result, _strategy_names(result, tally), flows)
    change = split.equity_change
    ret = float(change / result.initial_equity) if result.initial_equity > 0 else None
    fees, fees_by_asset = tally.total.fees, tally.total.fees_by_asset()
    by_reason = sorted(result.rejects.items(), key=lambda kv: (-kv[1], kv[0]))
    by_hook = sorted(result.hook_errors.items(), key=lambda kv: (-kv[1], kv[0]))
    q = result.quote_asset
    per_strategy = _per_strategy(result, split, tally)
    summary = {
        # True when the run was interrupted: the numbers cover the data replayed until then.
        "partial": result.partial,
        "strategy_errors": {"total": sum(result.hook_errors.values()), "by_hook": dict(by_hook)},
        "warnings": list(result.warnings),
        "quote_asset": q,
        "valuation": _valuation_text(result),
        "strategies": list(result.strategies),
        "start": iso_utc(result.start_ns),
        "end": iso_utc(result.end_ns),
        "start_ns": result.start_ns,
        "end_ns": result.end_ns,
        "duration_s": (result.end_ns - result.start_ns) / 1e9,
        "initial_equity": dec_str(result.initial_equity),
        "final_equity": dec_str(result.final_equity),
        "strategy_pnl": {
            "total": dec_str(split.strategy_pnl),
            "by_strategy": {n: st["strategy_pnl"] for n, st in per_strategy.items()},
            "includes": (
                "realised PnL net of fees and funding plus unrealised PnL of the positions "
                "the strategies opened, marked at the last price (trade, or bar close on bar "
                f"data), in {q}"
            ),
        },
        "funding": {
            "total": dec_str(sum((p.funding for p in split.per_strategy.values()), Decimal(0))),
            "by_strategy": {n: st["funding"] for n, st in per_strategy.items()},
            "includes": (
                "funding paid by perpetual positions (negative: received), valued in "
                f"{q} at the last price; part of strategy PnL"
            ),
        },
        "liquidations": {
            "count": len(result.liquidations),
            "events": [
                {"time": iso_utc(ts), "symbol": sym, "price": dec_str(px)}
                for ts, sym, px in result.liquidations
            ],
            # The part of liquidation losses beyond the wallet the venue did not charge.
            "absorbed": dec_str(split.absorbed),
        },
        "holdings_drift": {
            "total": dec_str(split.holdings_drift),
            "holdings": _holdings(split),
            "includes": (
                "the change in value of the starting balances (amount x (last price - "
                f"price when the starting equity was taken)), in {q}"
            ),
        },
        "equity_change": dec_str(change),
        # Left over after the split (and the absorbed liquidation loss): 0 unless
        # something the split does not model
        # happened (see botkit.backtest.pnl).
        "unexplained": dec_str(split.unexplained),
        # The same as equity_change, kept under its old name.
        "pnl": dec_str(change),
        "return": _ratio(ret),
        "benchmark": _benchmark(result, split),
        "sharpe": _ratio(ratios.sharpe.value),
        "sharpe_caveat": ratios.sharpe.caveat,
        "sortino": _ratio(ratios.sortino.value),
        "sortino_caveat": ratios.sortino.caveat,
        "daily_returns": ratios.daily_returns,
        "periods_per_year": metrics.DAYS_PER_YEAR,
        "equity_samples": len(result.equity),
        "max_drawdown": {
            "fraction": _ratio(dd.fraction),
            "absolute": dec_str(dd.absolute),
            "peak": None if dd.peak_ts is None else iso_utc(dd.peak_ts),
            "trough": None if dd.trough_ts is None else iso_utc(dd.trough_ts),
            "measured_on": (
                f"account equity in {q} including the starting holdings, as sampled "
                "every output.equity_interval (a finer interval can find a deeper trough)"
            ),
        },
        "fees": dec_str(fees),
        "fees_by_asset": fees_by_asset,
        "orders": sum(tally.orders.values()),
        "fills": tally.total.count,
        "rejects": {"total": sum(result.rejects.values()), "by_reason": dict(by_reason)},
        "volume": dec_str(tally.total.notional),
        "turnover": _ratio(metrics.turnover_of(tally.total.notional, result.initial_equity)),
        "exposure": {
            "time_fraction": _ratio(expo.time_fraction),
            "avg_gross_leverage": _ratio(expo.avg_gross_leverage),
        },
        "events": result.events,
        "wall_s": result.wall_s,
        "events_per_s": _ratio(result.events / result.wall_s) if result.wall_s > 0 else None,
        "display_decimals": display_decimals(result),
        "per_strategy": per_strategy,
    }
    return summary, flows is not None and also is not None


# ---------------------------------------------------------------------- CSVs


def _fill_row(f: Fill) -> list[str]:
    return [
        iso_utc(f.ts_ns),
        str(f.ts_ns),
        f.strategy,
        f.symbol,
        _enum_str(f.side),
        dec_str(f.price),
        dec_str(f.size),
        dec_str(f.fee),
        f.fee_asset,
        _enum_str(f.liquidity),
        f.trade_id,
        f.client_id,
        f.venue_order_id or "",
    ]


def _order_row(o: Order) -> list[str]:
    return [
        o.client_id,
        o.strategy,
        o.symbol,
        _enum_str(o.side),
        _enum_str(o.type),
        _enum_str(o.tif),
        _opt_dec(o.price),
        dec_str(o.size),
        dec_str(o.filled),
        _opt_dec(o.avg_price),
        _enum_str(o.status),
        _bool_str(o.post_only),
        _bool_str(o.reduce_only),
        o.code or "",
        o.reason or "",
        iso_utc(o.created_ns),
        str(o.created_ns),
        iso_utc(o.updated_ns),
        str(o.updated_ns),
        _opt_dec(o.stop_price),
        dec_str(o.fees),
        o.venue_order_id or "",
    ]


def iso_column(ts_ns: Sequence[int] | Any) -> list[str]:
    """``iso_utc`` of each time, formatted by numpy in one pass."""
    return [s + "Z" for s in np.datetime_as_string(_times64(ts_ns), unit="us")]


def _texts(column: pa.ChunkedArray) -> list[str]:
    """A string column's values, null as ''."""
    return column.fill_null("").to_pylist()  # type: ignore[no-any-return]


def _dec_texts(column: pa.ChunkedArray) -> list[str]:
    """``dec_str`` of a column of Decimals stored as their ``str()`` (null: ''), each
    distinct value formatted once: a run's prices, sizes and fees repeat a lot."""
    coded = column.fill_null("").combine_chunks().dictionary_encode()
    texts = [dec_str(Decimal(v)) if v else "" for v in coded.dictionary.to_pylist()]
    return list(map(texts.__getitem__, coded.indices.to_numpy().tolist()))


def _bool_texts(column: pa.ChunkedArray) -> list[str]:
    return [_bool_str(v) for v in column.to_pylist()]


def _int_texts(column: pa.ChunkedArray) -> list[str]:
    return list(map(str, column.to_pylist()))


def _fill_rows(table: pa.Table) -> Iterator[tuple[str, ...]]:
    """``_fill_row`` of each fill of a table of FILL_CODEC columns, column by column."""
    c = table.column
    return zip(
        iso_column(c("ts_ns").to_numpy()),
        _int_texts(c("ts_ns")),
        _texts(c("strategy")),
        _texts(c("symbol")),
        _texts(c("side")),
        _dec_texts(c("price")),
        _dec_texts(c("size")),
        _dec_texts(c("fee")),
        _texts(c("fee_asset")),
        _texts(c("liquidity")),
        _texts(c("trade_id")),
        _texts(c("client_id")),
        _texts(c("venue_order_id")),
    )


def _order_rows(table: pa.Table) -> Iterator[tuple[str, ...]]:
    """``_order_row`` of each order of a table of ORDER_CODEC columns."""
    c = table.column
    return zip(
        _texts(c("client_id")),
        _texts(c("strategy")),
        _texts(c("symbol")),
        _texts(c("side")),
        _texts(c("type")),
        _texts(c("tif")),
        _dec_texts(c("price")),
        _dec_texts(c("size")),
        _dec_texts(c("filled")),
        _dec_texts(c("avg_price")),
        _texts(c("status")),
        _bool_texts(c("post_only")),
        _bool_texts(c("reduce_only")),
        _texts(c("code")),
        _texts(c("reason")),
        iso_column(c("created_ns").to_numpy()),
        _int_texts(c("created_ns")),
        iso_column(c("updated_ns").to_numpy()),
        _int_texts(c("updated_ns")),
        _dec_texts(c("stop_price")),
        _dec_texts(c("fees")),
        _texts(c("venue_order_id")),
    )


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


# --------------------------------------------------------------------- chart


def benchmark_lines(result: BacktestResult) -> dict[str, list[tuple[int, float]]]:
    """The benchmarks' value over time (floats, for the chart), on the equity's clock."""
    e0 = float(result.initial_equity)
    lines: dict[str, list[tuple[int, float]]] = {}
    sym = _benchmark_symbol(result)
    p0 = _start_price(result, sym) if sym is not None else None
    if sym is not None and p0 is not None and p0 > 0:
        base = result.instruments[sym].base
        lines[f"buy and hold {base}"] = [
            (t, e0 * p / float(p0)) for t, p in _mark_path(result, sym)
        ]
    split = attribute(result, [])
    held = [h for h in split.holdings if h.symbol is not None and h.start_price is not None]
    if held:
        times = sorted({t for h in held for t, _ in _mark_path(result, h.symbol or "")})
        cursors = {h.asset: 0 for h in held}
        last = {h.asset: float(h.start_price or 0) for h in held}
        path: list[tuple[int, float]] = []
        for t in times:
            value = e0
            for h in held:
                prices = _mark_path(result, h.symbol or "")
                i = cursors[h.asset]
                while i < len(prices) and prices[i][0] <= t:
                    last[h.asset] = prices[i][1]
                    i += 1
                cursors[h.asset] = i
                value += float(h.amount) * (last[h.asset] - float(h.start_price or 0))
            path.append((t, value))
        lines["starting balances held"] = path
    return lines


def _times(ts: Iterable[int]) -> list[datetime]:
    return [_EPOCH + timedelta(microseconds=t // 1000) for t in ts]


def _times64(ts: Sequence[int]) -> Any:
    """The same times as :func:`_times`, as numpy datetimes: matplotlib converts those
    as one array, a list of datetimes one by one (seconds for a long run's fills)."""
    return (np.asarray(ts, dtype=np.int64) // 1000).astype("datetime64[us]")


# A chart is 1,000 pixels wide: past a few thousand points a line adds nothing
# but drawing time (a year of one-minute samples is 525,600).
CHART_POINTS = 4000


def _thin(ts: Sequence[int], ys: Sequence[float]) -> tuple[list[int], list[float]]:
    """At most about :data:`CHART_POINTS` points drawing the same line: in each bucket
    of consecutive points its first and last, lowest and highest, in time order, so
    every peak and trough (a drawdown's bottom) stays on the chart."""
    n = len(ts)
    if n <= CHART_POINTS:
        return list(ts), list(ys)
    step = -(-n // (CHART_POINTS // 4))
    out_t: list[int] = []
    out_y: list[float] = []
    for a in range(0, n, step):
        b = min(a + step, n)
        chunk = ys[a:b]
        lo = a + min(range(b - a), key=chunk.__getitem__)
        hi = a + max(range(b - a), key=chunk.__getitem__)
        for i in sorted({a, lo, hi, b - 1}):
            out_t.append(ts[i])
            out_y.append(ys[i])
    return out_t, out_y


def _figure(height: float) -> Any:
    import matplotlib

    # Only pick the backend when pyplot is not loaded yet: switching it under a
    # user's interactive session would close their figures. The drawing below
    # uses Figure + the Agg canvas directly, so it never needs a display anyway.
    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    # No "Software" tag: it carries a URL, and the report should reference nothing.
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def render_equity_png(
    curve: Sequence[tuple[int, Decimal]],
    quote_asset: str = "",
    benchmarks: dict[str, list[tuple[int, float]]] | None = None,
) -> bytes:
    """The equity curve (with its benchmarks) and its drawdown as PNG bytes (headless)."""
    fig = _figure(6)
    ax_eq, ax_dd = fig.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.08}
    )
    if curve:
        ts = [t for t, _ in curve]
        eq_t, values = _thin(ts, [float(v) for _, v in curve])
        dd_t, dd = _thin(ts, (metrics.drawdown_series([v for _, v in curve]) * 100.0).tolist())
        ax_eq.plot(_times(eq_t), values, color="#1f77b4", linewidth=1.2, label="equity")
        styles = iter([("#7f7f7f", "--"), ("#ff7f0e", ":")])
        for name, line in (benchmarks or {}).items():
            if line:
                color, dash = next(styles, ("#2ca02c", "-."))
                line_t, line_y = _thin([t for t, _ in line], [v for _, v in line])
                ax_eq.plot(
                    _times(line_t),
                    line_y,
                    color=color,
                    linestyle=dash,
                    linewidth=1.0,
                    label=name,
                )
        if benchmarks:
            ax_eq.legend(loc="best", fontsize="small")
        x = _times(dd_t)
        ax_dd.fill_between(x, dd, 0.0, color="#d62728", alpha=0.35)
        ax_dd.plot(x, dd, color="#d62728", linewidth=0.8)
    else:
        ax_eq.text(0.5, 0.5, "no equity samples", ha="center", va="center")
    ax_eq.set_ylabel(f"equity ({quote_asset})" if quote_asset else "equity")
    ax_eq.grid(True, alpha=0.3)
    ax_dd.set_ylabel("drawdown %")
    ax_dd.grid(True, alpha=0.3)
    ax_dd.set_xlabel("time (UTC)")
    fig.autofmt_xdate()
    return _png(fig)


class _Entries:
    """Each (strategy, symbol)'s position, to tell entries from exits (see below)."""

    def __init__(self) -> None:
        self._size: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)

    def is_entry(self, f: Fill) -> bool:
        """Whether ``f``, the next fill in time order, is an entry."""
        key = (f.strategy, f.symbol)
        before = self._size[key]
        delta = f.size if f.side is Side.BUY else -f.size
        self._size[key] = before + delta
        return before == 0 or (before > 0) == (delta > 0)


def _marked(fills: Iterable[Fill]) -> Iterator[tuple[Fill, bool]]:
    """Each fill of a time-ordered stream with whether it is an entry (see below)."""
    entries = _Entries()
    for f in fills:
        yield f, entries.is_entry(f)


def entries_and_exits(fills: Iterable[Fill]) -> list[tuple[Fill, bool]]:
    """Each fill with True when it opens or adds to its strategy's position on the
    symbol (an entry), False when it reduces or closes it (an exit); a fill that
    flips the position through zero counts as an exit."""
    return list(_marked(in_time_order(fills)))


# The marker groups of the entries-and-exits chart, in drawing order.
_MARKS = (
    (True, Side.BUY, {"marker": "^", "color": "#2ca02c", "label": "entry buy"}),
    (True, Side.SELL, {"marker": "v", "color": "#d62728", "label": "entry sell"}),
    (False, Side.BUY, {"marker": "o", "color": "#2ca02c", "label": "exit buy"}),
    (False, Side.SELL, {"marker": "o", "color": "#d62728", "label": "exit sell"}),
)


class _ChartPoints:
    """The price chart's markers, fed the fills in time order one at a time: per panel
    and marker group, the points' times and prices, plain numbers, so the fills
    themselves need not all be in memory."""

    def __init__(self, max_panels: int) -> None:
        self.max_panels = max_panels
        self.points: dict[
            tuple[str, str], dict[tuple[bool, Side], tuple[array[int], array[float]]]
        ] = {}
        self._entries = _Entries()

    def add(self, f: Fill) -> None:
        entry = self._entries.is_entry(f)
        key = (f.strategy, f.symbol)
        panel = self.points.get(key)
        if panel is None:
            if len(self.points) >= self.max_panels:
                return  # panels go to the first pairs to trade
            # Typed arrays, 16 bytes a fill, where lists of Python numbers take ~70: the
            # points are held from the summary's pass until the chart is drawn.
            panel = self.points[key] = {(e, sd): (array("q"), array("d")) for e, sd, _ in _MARKS}
        times, prices = panel[(entry, f.side)]
        times.append(f.ts_ns)
        prices.append(float(f.price))


# Finer than the chart's pixels: markers closer than this are drawn on top of each
# other, so one of them shows the same picture.
_MARKER_GRID = (2000, 600)


def _one_per_cell(times: Any, prices: Any) -> tuple[np.ndarray, np.ndarray]:
    """Past :data:`CHART_POINTS` markers, the first of each cell of a grid finer than the
    chart's pixels: a 10M-tick run's 285k markers drawn as the same picture for a
    fraction of matplotlib's time and memory. Fewer are returned as they are."""
    t = np.asarray(times, dtype=np.int64)
    p = np.asarray(prices, dtype=np.float64)
    if len(t) <= CHART_POINTS:
        return t, p
    cols, rows = _MARKER_GRID
    t_span = max(int(t.max() - t.min()), 1)
    p_span = float(p.max() - p.min()) or 1.0
    col = (t - t.min()) * (cols - 1) // t_span
    row = ((p - p.min()) * ((rows - 1) / p_span)).astype(np.int64)
    _, first = np.unique(col * rows + row, return_index=True)
    keep = np.sort(first)
    return t[keep], p[keep]


def render_price_png(
    result: BacktestResult, max_panels: int = 6, chart: _ChartPoints | None = None
) -> bytes | None:
    """One panel per (strategy, symbol) that traded: the price at the equity samples
    with the strategy's entries (triangles) and exits (circles). None with no fills.

    ``chart``: the markers, already fed every fill (else the fills are read here)."""
    if chart is None:
        chart = _ChartPoints(max_panels)
        for f in in_time_order(result.fills):
            chart.add(f)
    points = chart.points
    panels = list(points)
    if not panels:
        return None
    fig = _figure(2.2 * len(panels) + 0.8)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (strategy, symbol) in zip(axes, panels):
        path = _mark_path(result, symbol)
        if path:
            path_t, path_y = _thin([t for t, _ in path], [p for _, p in path])
            ax.plot(_times(path_t), path_y, color="#555", lw=0.8)
        for is_entry, side, style in _MARKS:
            times, prices = points[(strategy, symbol)][(is_entry, side)]
            if not times:
                continue
            face = style["color"] if is_entry else "none"
            at, px = _one_per_cell(times, prices)
            ax.scatter(
                _times64(at),
                px,  # an array: matplotlib masks a list item by item
                marker=style["marker"],
                facecolors=face,
                edgecolors=style["color"],
                s=28,
                linewidths=1.0,
                label=style["label"],
                zorder=3,
            )
        ax.set_title(f"{strategy} on {symbol}", fontsize="medium", loc="left")
        ax.set_ylabel(
            f"price ({result.instruments[symbol].quote})"
            if symbol in result.instruments
            else "price"
        )
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="x-small")
    axes[-1].set_xlabel("time (UTC)")
    fig.autofmt_xdate()
    return _png(fig)


# ---------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;
margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em}
.sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right;white-space:nowrap}
th{background:#f4f4f4}td.l,th.l{text-align:left}
tr.gap td{text-align:center;color:#888;font-style:italic}
.neg{color:#b00}.pos{color:#070}
img{max-width:100%;border:1px solid #eee}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _fmt_pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f}%"


def _fmt_float(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _signed(money: str, unit: str = "") -> str:
    """A money string, coloured by sign (escaped HTML)."""
    text = _e(f"{money} {unit}" if unit else money)
    d = Decimal(money)
    cls = "neg" if d < 0 else "pos" if d > 0 else ""
    return f'<span class="{cls}">{text}</span>' if cls else text


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], left: int = 1) -> str:
    """An HTML table; cells are already-escaped HTML; the first ``left`` columns align left."""
    th = "".join(
        f'<th class="l">{h}</th>' if i < left else f"<th>{h}</th>" for i, h in enumerate(header)
    )
    body = []
    for row in rows:
        tds = "".join(
            f'<td class="l">{c}</td>' if i < left else f"<td>{c}</td>" for i, c in enumerate(row)
        )
        body.append(f"<tr>{tds}</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def money(value: str | None, asset: str, decimals: dict[str, int], sign: bool = False) -> str:
    """An exact amount rounded for reading to the asset's precision (``display_decimals``;
    at most 8 decimals for an asset without one). ``summary.json`` keeps the exact value."""
    if value is None:
        return "–"
    d = Decimal(value)
    places = decimals.get(asset)
    if places is None:
        exponent = d.as_tuple().exponent
        places = min(8, max(0, -exponent)) if isinstance(exponent, int) else 8
    text = f"{d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN):f}"
    if text.lstrip("-").strip("0.") == "":
        text = text.lstrip("-")  # no "-0.00"
    if sign and d > 0 and text.strip("0.") != "":
        text = "+" + text
    return text


def _ratio_text(value: float | None, caveat: str) -> str:
    return ("–" if value is None else f"{value:.2f}") + f"  ({caveat})"


def _holdings_text(s: dict[str, Any]) -> str:
    dec = s["display_decimals"]
    parts = [
        f"{money(h['amount'], h['asset'], dec)} {h['asset']}"
        + (
            f" {money(h['start_price'], s['quote_asset'], dec)} → "
            f"{money(h['end_price'], s['quote_asset'], dec)}"
            if h["drift"] is not None
            else " (no price: not valued)"
        )
        for h in s["holdings_drift"]["holdings"]
    ]
    return "starting " + ", ".join(parts) if parts else "no starting holdings but the quote asset"


def _benchmark_text(s: dict[str, Any]) -> tuple[str, str] | None:
    bh = s["benchmark"]["buy_and_hold"]
    if bh is None:
        return None
    q = s["quote_asset"]
    value = (
        f"{money(bh['pnl'], q, s['display_decimals'], sign=True)} {q} ({_fmt_pct(bh['return'])})"
    )
    return value, bh["what"]


def _summary_rows(s: dict[str, Any]) -> list[tuple[str, str]]:
    q = s["quote_asset"]
    dec = s["display_decimals"]
    dd = s["max_drawdown"]
    expo = s["exposure"]

    def m(value: str | None, sign: bool = False) -> str:
        return money(value, q, dec, sign)

    def signed(value: str | None) -> str:
        if value is None:
            return "–"
        return _signed(m(value, sign=True), q)

    rows = [
        (
            "Strategy PnL",
            f"{signed(s['strategy_pnl']['total'])}<br><small>{_e(s['strategy_pnl']['includes'])}"
            "</small>",
        ),
        (
            "Holdings drift",
            f"{signed(s['holdings_drift']['total'])}<br><small>{_e(_holdings_text(s))}</small>",
        ),
        (
            "Equity change",
            f"{signed(s['equity_change'])} ({_e(_fmt_pct(s['return']))})<br><small>"
            "= strategy PnL + holdings drift</small>",
        ),
        ("Initial equity", f"{_e(m(s['initial_equity']))} {_e(q)}"),
        ("Final equity", f"{_e(m(s['final_equity']))} {_e(q)}"),
        ("Valued at", _e(s["valuation"])),
        ("Sharpe (daily, annualised)", _e(_ratio_text(s["sharpe"], s["sharpe_caveat"]))),
        ("Sortino (daily, annualised)", _e(_ratio_text(s["sortino"], s["sortino_caveat"]))),
        (
            "Max drawdown",
            f"{_e(_fmt_pct(dd['fraction']))} ({_e(m(dd['absolute']))} {_e(q)})"
            + (f" {_e(dd['peak'])} → {_e(dd['trough'])}" if dd["peak"] else "")
            + f"<br><small>on {_e(dd['measured_on'])}</small>",
        ),
        ("Fees", f"{_e(m(s['fees']))} {_e(q)}"),
        ("Volume", f"{_e(m(s['volume']))} {_e(q)}"),
        ("Turnover", _e(_fmt_float(s["turnover"], 2) + ("×" if s["turnover"] is not None else ""))),
        ("Time in market", _e(_fmt_pct(expo["time_fraction"]))),
        ("Avg gross leverage", _e(_fmt_float(expo["avg_gross_leverage"]))),
        ("Orders", _e(s["orders"])),
        ("Fills", _e(s["fills"])),
        ("Rejects", _e(s["rejects"]["total"])),
        ("Events", _e(f"{s['events']:,}")),
        ("Wall time", _e(f"{s['wall_s']:.2f} s")),
        ("Events/s", _e("–" if s["events_per_s"] is None else f"{s['events_per_s']:,.0f}")),
        ("Period", f"{_e(s['start'])} → {_e(s['end'])}"),
    ]
    bench = _benchmark_text(s)
    if bench is not None:
        rows.insert(5, ("Buy and hold", f"{_e(bench[0])}<br><small>{_e(bench[1])}</small>"))
    if Decimal(s["unexplained"]):
        rows.insert(3, ("Unexplained", _e(f"{m(s['unexplained'])} {q}")))
    if Decimal(s["funding"]["total"]):
        rows.insert(1, ("Funding paid", _e(f"{m(s['funding']['total'])} {q}")))
    if s["liquidations"]["count"]:
        rows.insert(1, ("Liquidations", _e(s["liquidations"]["count"])))
    fees_at = next(i for i, (k, _) in enumerate(rows) if k == "Fees") + 1
    for asset, amount in s["fees_by_asset"].items():
        if asset != q:
            rows.insert(
                fees_at, (f"Fees in {_e(asset)}", f"{_e(money(amount, asset, dec))} {_e(asset)}")
            )
    errors = s.get("strategy_errors") or {"total": 0}
    if errors["total"]:
        rows.insert(0, ("Strategy errors", _e(f"{errors['total']:,}")))
    if s.get("partial"):
        rows.insert(0, ("PARTIAL", _e(f"interrupted at {s['end']}")))
    return rows


def _fills_section(fills: Sequence[Fill], shown: int) -> str:
    if not fills:
        return "<p>No fills.</p>"
    header = [_e(c) for c in FILL_COLUMNS if c != "ts_ns"]

    def cells(f: Fill) -> list[str]:
        row = _fill_row(f)
        del row[1]  # ts_ns: the ISO time is enough to read
        return [_e(c) for c in row]

    # Only both ends are read into memory: a long run's fills may be on disk.
    ordered = in_time_order(fills)
    if len(fills) <= 2 * shown:
        return _table(header, [cells(f) for f in ordered], left=4)
    head = _table(header, [cells(f) for f in islice(ordered, shown)], left=4)
    last = last_in_time_order(fills, shown)
    omitted = len(fills) - 2 * shown
    gap = (
        f'<tr class="gap"><td colspan="{len(header)}">… {omitted:,} fills not shown '
        "(all are in fills.csv) …</td></tr>"
    )
    tail = _table(header, [cells(f) for f in last], left=4)
    # One table: splice the gap row and the tail's body into the head's body.
    tail_body = tail.split("<tbody>", 1)[1]
    return head.replace("</tbody></table>", gap) + tail_body


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def render_html(
    summary: dict[str, Any],
    fills: Sequence[Fill],
    png: bytes,
    shown: int,
    price_png: bytes | None = None,
) -> str:
    """The self-contained report page."""
    s = summary
    q = s["quote_asset"]
    dec = s["display_decimals"]

    def m(value: str | None) -> str:
        return _e(money(value, q, dec))

    def signed(value: str | None) -> str:
        return "–" if value is None else _signed(money(value, q, dec, sign=True))

    strat_rows = [
        [
            _e(name),
            _e(st["fills"]),
            _e(st["orders"]),
            m(st["volume"]),
            signed(st["realized_pnl_gross"]),
            m(st["fees_valued"]),
            signed(st["realized_pnl_net"]),
            signed(st["unrealized_pnl"]),
            f"<b>{signed(st['strategy_pnl'])}</b>",
        ]
        for name, st in s["per_strategy"].items()
    ]
    base_of = {h["symbol"]: h["asset"] for h in s["holdings_drift"]["holdings"] if h["symbol"]}
    pos_rows = [
        [
            _e(name),
            _e(sym),
            _e(money(p["size"], base_of.get(sym, ""), dec)),
            m(p["avg_price"]),
            m(p["mark"]),
            signed(p["realized_pnl_gross"]),
            signed(p["unrealized_pnl"]),
        ]
        for name, st in s["per_strategy"].items()
        for sym, p in st["positions"].items()
    ]
    rej = s["rejects"]
    rej_html = (
        _table(
            ["code", "count"],
            [[_e(code), _e(n)] for code, n in rej["by_reason"].items()]
            + [["<b>total</b>", f"<b>{_e(rej['total'])}</b>"]],
        )
        if rej["total"]
        else "<p>No rejects.</p>"
    )
    title = "Backtest: " + ", ".join(s["strategies"]) if s["strategies"] else "Backtest"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">{_e(s["start"])} → {_e(s["end"])} · quote {_e(q)} · '
        f"{s['events']:,} events · amounts rounded to each asset's precision "
        "(exact in summary.json)</p>",
        "<h2>Summary</h2>",
        _table(["metric", "value"], _summary_rows(s)),
        "<h2>Equity</h2>",
        "<p>Account equity with the benchmarks: the starting balances held untouched, "
        "and the starting equity held in the base asset.</p>",
        _img(png, "equity curve with benchmarks, and drawdown"),
        "<h2>Per strategy</h2>",
        _table(
            [
                "strategy",
                "fills",
                "orders",
                f"volume ({_e(q)})",
                "realised pnl (gross)",
                "fees",
                "realised pnl (net)",
                "unrealised",
                "strategy pnl",
            ],
            strat_rows,
        )
        if strat_rows
        else "<p>No strategies.</p>",
        "<p>Strategy PnL = realised PnL (gross) − fees + unrealised PnL of the strategy's "
        "open positions marked at the last price (trade, or bar close on bar data), "
        f"in {_e(q)}.</p>",
    ]
    if price_png is not None:
        parts += [
            "<h2>Entries and exits</h2>",
            "<p>Each strategy's fills on the price: filled triangles open or add to a "
            "position, hollow circles reduce or close it.</p>",
            _img(price_png, "price with each strategy's entries and exits"),
        ]
    parts += [
        "<h2>Final positions</h2>",
        _table(
            ["strategy", "symbol", "size", "avg price", "mark", "realised (gross)", "unrealised"],
            pos_rows,
            left=2,
        )
        if pos_rows
        else "<p>No positions.</p>",
        "<h2>Rejects by reason</h2>",
        rej_html,
        f"<h2>Fills ({len(fills):,})</h2>",
        _fills_section(fills, shown),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------- entry


def write_report(result: BacktestResult, out_dir: Path, *, html_fills: int = 20) -> dict[str, Any]:
    """Write the output folder (module doc) and return the summary.

    ``html_fills`` is how many fills the HTML shows from each end of the run.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    chart = _ChartPoints(max_panels=6)
    summary, charted = _summarize(result, chart.add)
    (out / "summary.json").write_text(
        json.dumps(summary, indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    # Streamed in order as Arrow columns: a long run's fills and orders are on disk
    # (botkit.backtest.spill), stored as text already, and building each record back
    # only to print it again cost more than the rest of the report.
    fills = fill_tables(result.fills)
    _write_csv(out / "fills.csv", FILL_COLUMNS, chain.from_iterable(map(_fill_rows, fills)))
    orders = order_tables(result.orders)
    _write_csv(out / "orders.csv", ORDER_COLUMNS, chain.from_iterable(map(_order_rows, orders)))
    png = render_equity_png(equity_curve(result), result.quote_asset, benchmark_lines(result))
    (out / "equity.png").write_bytes(png)
    price_png = render_price_png(result, chart=chart if charted else None)
    if price_png is not None:
        (out / "price.png").write_bytes(price_png)
    (out / "report.html").write_text(
        render_html(summary, result.fills, png, max(html_fills, 0), price_png), encoding="utf-8"
    )
    return summary


# -------------------------------------------------------------------- stdout


def format_table(summary: dict[str, Any]) -> str:
    """A short aligned text table for stdout, plus one line per strategy.

    Amounts are rounded to each asset's precision; every ratio comes with its caveat.
    """
    s = summary
    q = s["quote_asset"]
    dec = s["display_decimals"]
    dd = s["max_drawdown"]
    rej = s["rejects"]
    reasons = ", ".join(f"{code} {n}" for code, n in rej["by_reason"].items())
    eps = s["events_per_s"]

    def m(value: str | None, sign: bool = False) -> str:
        return money(value, q, dec, sign)

    rows = [
        (
            "Strategy PnL",
            f"{m(s['strategy_pnl']['total'], True)} {q}  (realised net of fees + unrealised, "
            "of the strategies' own positions)",
        ),
        ("Holdings drift", f"{m(s['holdings_drift']['total'], True)} {q}  ({_holdings_text(s)})"),
        (
            "Equity change",
            f"{m(s['equity_change'], True)} {q}  ({_fmt_pct(s['return'])}; "
            "= strategy PnL + holdings drift)",
        ),
    ]
    if Decimal(s["funding"]["total"]):
        rows.insert(
            1,
            ("Funding paid", f"{m(s['funding']['total'], True)} {q}  (in strategy PnL)"),
        )
    liq = s["liquidations"]
    if liq["count"]:
        rows.append(
            (
                "Liquidations",
                f"{liq['count']}  (absorbed by the venue: {m(liq['absorbed'])} {q})",
            )
        )
    if Decimal(s["unexplained"]):
        rows.append(("Unexplained", f"{m(s['unexplained'], True)} {q}  (see summary.json)"))
    bench = _benchmark_text(s)
    if bench is not None:
        bh = s["benchmark"]["buy_and_hold"]
        base = bh["symbol"].split("/")[0] if "/" in bh["symbol"] else bh["symbol"]
        rows.append(
            (
                "Buy and hold",
                f"{bench[0]}  (the starting equity held as {base}: {bh['symbol']} "
                f"{m(bh['start_price'])} → {m(bh['end_price'])}, no fees)",
            )
        )
    rows += [
        ("Valued at", s["valuation"]),
        ("Sharpe", _ratio_text(s["sharpe"], s["sharpe_caveat"])),
        ("Sortino", _ratio_text(s["sortino"], s["sortino_caveat"])),
        (
            "Max DD",
            f"{_fmt_pct(dd['fraction'])} ({m(dd['absolute'])} {q})  "
            f"(on account equity including starting holdings)",
        ),
        ("Fees", f"{m(s['fees'])} {q}"),
        ("Orders", f"{s['orders']:,}"),
        ("Fills", f"{s['fills']:,}"),
        ("Rejects", f"{rej['total']:,}" + (f"  ({reasons})" if reasons else "")),
        ("Events/s", "–" if eps is None else f"{eps:,.0f}"),
    ]
    errors = s.get("strategy_errors") or {"total": 0, "by_hook": {}}
    if errors["total"]:
        hooks = ", ".join(f"{hook} {n}" for hook, n in errors["by_hook"].items())
        rows.append(("Errors", f"{errors['total']:,}  (strategy exceptions: {hooks})"))
    key_w = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(key_w)}  {v}" for k, v in rows]
    if s.get("partial"):
        lines.insert(
            0,
            f"PARTIAL: interrupted at {s['end']}; the numbers cover the data replayed until then",
        )

    header = (
        "strategy",
        "fills",
        "orders",
        f"volume {q}",
        "realised pnl (gross)",
        "fees",
        "realised pnl (net)",
        "unrealised",
        "strategy pnl",
    )
    srows = [
        (
            name,
            f"{st['fills']:,}",
            f"{st['orders']:,}",
            m(st["volume"]),
            m(st["realized_pnl_gross"]),
            m(st["fees_valued"]),
            m(st["realized_pnl_net"]),
            m(st["unrealized_pnl"]),
            m(st["strategy_pnl"]),
        )
        for name, st in s["per_strategy"].items()
    ]
    if srows:
        widths = [max(len(r[i]) for r in [header, *srows]) for i in range(len(header))]

        def line(cells: Sequence[str]) -> str:
            first = cells[0].ljust(widths[0])
            rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
            return "  ".join([first, *rest]).rstrip()

        lines.append("")
        lines.append(line(header))
        lines.extend(line(r) for r in srows)
    return "\n".join(lines)


__all__ = [
    "FILL_COLUMNS",
    "ORDER_COLUMNS",
    "benchmark_lines",
    "dec_str",
    "display_decimals",
    "entries_and_exits",
    "equity_curve",
    "format_table",
    "iso_utc",
    "money",
    "render_equity_png",
    "render_html",
    "render_price_png",
    "summarize",
    "write_report",
]
