"""Writing a backtest's output folder and its stdout summary.

``write_report(result, out_dir)`` writes:

- ``summary.json``: the headline numbers (see ``summarize``). Money is an exact
  ``Decimal`` rendered as a plain string (never a float, never exponent form);
  ratios are floats; undefined ratios are ``null``.
- ``fills.csv`` and ``orders.csv``: one row per fill / order, exact numbers.
- ``equity.png``: the equity curve with a drawdown panel.
- ``report.html``: one self-contained page (inline CSS, the chart embedded as
  base64, no external references) with the summary, per-strategy numbers,
  rejects by reason and the first/last fills.

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
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from botkit.backtest import metrics
from botkit.backtest.result import BacktestResult
from botkit.model import ZERO, Fill, Order, Position

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


def _fees(fills: Iterable[Fill], quote: str) -> tuple[Decimal, dict[str, str]]:
    """Fees in the quote asset, and every fee asset's total (not converted)."""
    in_quote = ZERO
    by_asset: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for f in fills:
        if _is_quote_fee(f, quote):
            in_quote += f.fee
        by_asset[f.fee_asset or quote] += f.fee
    return in_quote, {a: dec_str(v) for a, v in sorted(by_asset.items())}


def _strategy_names(result: BacktestResult) -> list[str]:
    # Declared strategies first, then any name only seen in the records, so
    # nothing traded goes missing from the per-strategy table.
    names = list(dict.fromkeys(result.strategies))
    seen = set(names)
    extra = {f.strategy for f in result.fills} | {o.strategy for o in result.orders}
    extra |= {strategy for strategy, _ in result.positions}
    names += sorted(extra - seen)
    return names


def _position_entry(pos: Position, mark: Decimal | None) -> dict[str, Any]:
    unrealized = pos.unrealized(mark) if mark is not None else None
    return {
        "size": dec_str(pos.size),
        "avg_price": dec_str(pos.avg_price),
        "realized_pnl": dec_str(pos.realized_pnl),
        "mark": _opt_dec(mark) or None,
        "unrealized_pnl": None if unrealized is None else dec_str(unrealized),
    }


def _per_strategy(result: BacktestResult) -> dict[str, dict[str, Any]]:
    quote = result.quote_asset
    fills_by: dict[str, list[Fill]] = defaultdict(list)
    for f in result.fills:
        fills_by[f.strategy].append(f)
    orders_by = Counter(o.strategy for o in result.orders)
    out: dict[str, dict[str, Any]] = {}
    for name in _strategy_names(result):
        fills = fills_by.get(name, [])
        fees, fees_by_asset = _fees(fills, quote)
        realized = ZERO
        unrealized = ZERO
        unrealized_known = True
        positions: dict[str, Any] = {}
        for (strategy, symbol), pos in sorted(result.positions.items()):
            if strategy != name:
                continue
            mark = result.marks.get(symbol)
            positions[symbol] = _position_entry(pos, mark)
            realized += pos.realized_pnl
            if pos.size:
                if mark is None:
                    unrealized_known = False
                else:
                    unrealized += pos.unrealized(mark)
        out[name] = {
            "fills": len(fills),
            "orders": orders_by.get(name, 0),
            "volume": dec_str(metrics.traded_notional(fills)),
            "fees": dec_str(fees),
            "fees_by_asset": fees_by_asset,
            "realized_pnl": dec_str(realized),
            "unrealized_pnl": dec_str(unrealized) if unrealized_known else None,
            "positions": positions,
        }
    return out


def summarize(result: BacktestResult) -> dict[str, Any]:
    """The summary dict written to ``summary.json`` (JSON-ready: str, int, float, None)."""
    curve = equity_curve(result)
    values = [v for _, v in curve]
    ppy = metrics.periods_per_year([t for t, _ in curve])
    rets = metrics.returns(values)
    dd = metrics.max_drawdown(curve)
    pnl = result.final_equity - result.initial_equity
    ret = float(pnl / result.initial_equity) if result.initial_equity > 0 else None
    fees, fees_by_asset = _fees(result.fills, result.quote_asset)
    expo = metrics.exposure(
        result.fills, result.start_ns, result.end_ns, curve, result.initial_equity
    )
    by_reason = sorted(result.rejects.items(), key=lambda kv: (-kv[1], kv[0]))
    by_hook = sorted(result.hook_errors.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        # True when the run was interrupted: the numbers cover the data replayed until then.
        "partial": result.partial,
        "strategy_errors": {"total": sum(result.hook_errors.values()), "by_hook": dict(by_hook)},
        "warnings": list(result.warnings),
        "quote_asset": result.quote_asset,
        "strategies": list(result.strategies),
        "start": iso_utc(result.start_ns),
        "end": iso_utc(result.end_ns),
        "start_ns": result.start_ns,
        "end_ns": result.end_ns,
        "duration_s": (result.end_ns - result.start_ns) / 1e9,
        "initial_equity": dec_str(result.initial_equity),
        "final_equity": dec_str(result.final_equity),
        "pnl": dec_str(pnl),
        "return": _ratio(ret),
        "sharpe": _ratio(metrics.sharpe(rets, ppy)),
        "sortino": _ratio(metrics.sortino(rets, ppy)),
        "periods_per_year": _ratio(ppy),
        "equity_samples": len(result.equity),
        "max_drawdown": {
            "fraction": _ratio(dd.fraction),
            "absolute": dec_str(dd.absolute),
            "peak": None if dd.peak_ts is None else iso_utc(dd.peak_ts),
            "trough": None if dd.trough_ts is None else iso_utc(dd.trough_ts),
        },
        "fees": dec_str(fees),
        "fees_by_asset": fees_by_asset,
        "orders": len(result.orders),
        "fills": len(result.fills),
        "rejects": {"total": sum(result.rejects.values()), "by_reason": dict(by_reason)},
        "volume": dec_str(metrics.traded_notional(result.fills)),
        "turnover": _ratio(metrics.turnover(result.fills, result.initial_equity)),
        "exposure": {
            "time_fraction": _ratio(expo.time_fraction),
            "avg_gross_leverage": _ratio(expo.avg_gross_leverage),
        },
        "events": result.events,
        "wall_s": result.wall_s,
        "events_per_s": _ratio(result.events / result.wall_s) if result.wall_s > 0 else None,
        "per_strategy": _per_strategy(result),
    }


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


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


# --------------------------------------------------------------------- chart


def render_equity_png(curve: Sequence[tuple[int, Decimal]], quote_asset: str = "") -> bytes:
    """The equity curve and its drawdown as PNG bytes (headless, no display needed)."""
    import matplotlib

    # Only pick the backend when pyplot is not loaded yet: switching it under a
    # user's interactive session would close their figures. The drawing below
    # uses Figure + the Agg canvas directly, so it never needs a display anyway.
    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 6), dpi=100)
    FigureCanvasAgg(fig)
    ax_eq, ax_dd = fig.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.08}
    )
    if curve:
        x = [_EPOCH + timedelta(microseconds=t // 1000) for t, _ in curve]
        values = [float(v) for _, v in curve]
        dd = metrics.drawdown_series([v for _, v in curve]) * 100.0
        ax_eq.plot(x, values, color="#1f77b4", linewidth=1.2)
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
    buf = io.BytesIO()
    # No "Software" tag: it carries a URL, and the report should reference nothing.
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


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


def _summary_rows(s: dict[str, Any]) -> list[tuple[str, str]]:
    q = s["quote_asset"]
    dd = s["max_drawdown"]
    expo = s["exposure"]
    rows = [
        ("PnL", _signed(s["pnl"], q)),
        ("Return", _e(_fmt_pct(s["return"]))),
        ("Initial equity", f"{_e(s['initial_equity'])} {_e(q)}"),
        ("Final equity", f"{_e(s['final_equity'])} {_e(q)}"),
        ("Sharpe (annualised)", _e(_fmt_float(s["sharpe"]))),
        ("Sortino (annualised)", _e(_fmt_float(s["sortino"]))),
        (
            "Max drawdown",
            f"{_e(_fmt_pct(dd['fraction']))} ({_e(dd['absolute'])} {_e(q)})"
            + (f" {_e(dd['peak'])} → {_e(dd['trough'])}" if dd["peak"] else ""),
        ),
        ("Fees", f"{_e(s['fees'])} {_e(q)}"),
        ("Volume", f"{_e(s['volume'])} {_e(q)}"),
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
    for asset, amount in s["fees_by_asset"].items():
        if asset != q:
            rows.insert(8, (f"Fees in {_e(asset)}", f"{_e(amount)} {_e(asset)}"))
    errors = s.get("strategy_errors") or {"total": 0}
    if errors["total"]:
        rows.insert(0, ("Strategy errors", _e(f"{errors['total']:,}")))
    if s.get("partial"):
        rows.insert(0, ("PARTIAL", _e(f"interrupted at {s['end']}")))
    return rows


def _fills_section(fills: Sequence[Fill], shown: int) -> str:
    if not fills:
        return "<p>No fills.</p>"
    ordered = sorted(fills, key=lambda f: f.ts_ns)
    header = [_e(c) for c in FILL_COLUMNS if c != "ts_ns"]

    def cells(f: Fill) -> list[str]:
        row = _fill_row(f)
        del row[1]  # ts_ns: the ISO time is enough to read
        return [_e(c) for c in row]

    if len(ordered) <= 2 * shown:
        rows = [cells(f) for f in ordered]
        return _table(header, rows, left=4)
    head = _table(header, [cells(f) for f in ordered[:shown]], left=4)
    omitted = len(ordered) - 2 * shown
    gap = (
        f'<tr class="gap"><td colspan="{len(header)}">… {omitted:,} fills not shown '
        "(all are in fills.csv) …</td></tr>"
    )
    tail = _table(header, [cells(f) for f in ordered[-shown:]], left=4)
    # One table: splice the gap row and the tail's body into the head's body.
    tail_body = tail.split("<tbody>", 1)[1]
    return head.replace("</tbody></table>", gap) + tail_body


def render_html(summary: dict[str, Any], fills: Sequence[Fill], png: bytes, shown: int) -> str:
    """The self-contained report page."""
    s = summary
    q = s["quote_asset"]
    strat_rows = [
        [
            _e(name),
            _e(st["fills"]),
            _e(st["orders"]),
            _e(st["volume"]),
            _e(st["fees"]),
            _signed(st["realized_pnl"]),
            _e("–" if st["unrealized_pnl"] is None else st["unrealized_pnl"]),
        ]
        for name, st in s["per_strategy"].items()
    ]
    pos_rows = [
        [
            _e(name),
            _e(sym),
            _e(p["size"]),
            _e(p["avg_price"]),
            _e(p["mark"] or "–"),
            _e(p["realized_pnl"]),
            _e(p["unrealized_pnl"] or "–"),
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
    img = base64.b64encode(png).decode("ascii")
    title = "Backtest: " + ", ".join(s["strategies"]) if s["strategies"] else "Backtest"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">{_e(s["start"])} → {_e(s["end"])} · quote {_e(q)} · '
        f"{s['events']:,} events</p>",
        "<h2>Summary</h2>",
        _table(["metric", "value"], _summary_rows(s)),
        "<h2>Equity</h2>",
        f'<img alt="equity curve and drawdown" src="data:image/png;base64,{img}">',
        "<h2>Per strategy</h2>",
        _table(
            ["strategy", "fills", "orders", f"volume ({_e(q)})", "fees", "realised", "unrealised"],
            strat_rows,
        )
        if strat_rows
        else "<p>No strategies.</p>",
        "<h2>Final positions</h2>",
        _table(
            ["strategy", "symbol", "size", "avg price", "mark", "realised", "unrealised"],
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
    summary = summarize(result)
    (out / "summary.json").write_text(
        json.dumps(summary, indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    fills = sorted(result.fills, key=lambda f: f.ts_ns)
    _write_csv(out / "fills.csv", FILL_COLUMNS, (_fill_row(f) for f in fills))
    orders = sorted(result.orders, key=lambda o: (o.created_ns, o.client_id))
    _write_csv(out / "orders.csv", ORDER_COLUMNS, (_order_row(o) for o in orders))
    png = render_equity_png(equity_curve(result), result.quote_asset)
    (out / "equity.png").write_bytes(png)
    (out / "report.html").write_text(
        render_html(summary, fills, png, max(html_fills, 0)), encoding="utf-8"
    )
    return summary


# -------------------------------------------------------------------- stdout


def _short_money(value: str | None) -> str:
    """At most 8 decimals for reading; the exact value is in summary.json."""
    if value is None:
        return "–"
    d = Decimal(value)
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -8:
        d = d.quantize(Decimal("1e-8"))
    return dec_str(d)


def format_table(summary: dict[str, Any]) -> str:
    """A short aligned text table for stdout, plus one line per strategy."""
    s = summary
    q = s["quote_asset"]
    dd = s["max_drawdown"]
    rej = s["rejects"]
    reasons = ", ".join(f"{code} {n}" for code, n in rej["by_reason"].items())
    pnl = _short_money(s["pnl"])
    if Decimal(s["pnl"]) > 0:
        pnl = "+" + pnl
    eps = s["events_per_s"]
    rows = [
        ("PnL", f"{pnl} {q}"),
        ("Return", _fmt_pct(s["return"])),
        ("Sharpe", _fmt_float(s["sharpe"], 2)),
        ("Sortino", _fmt_float(s["sortino"], 2)),
        ("Max DD", f"{_fmt_pct(dd['fraction'])} ({_short_money(dd['absolute'])} {q})"),
        ("Fees", f"{_short_money(s['fees'])} {q}"),
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

    header = ("strategy", "fills", "orders", f"volume {q}", "fees", "realised pnl")
    srows = [
        (
            name,
            f"{st['fills']:,}",
            f"{st['orders']:,}",
            _short_money(st["volume"]),
            _short_money(st["fees"]),
            _short_money(st["realized_pnl"]),
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
    "dec_str",
    "equity_curve",
    "format_table",
    "iso_utc",
    "render_equity_png",
    "render_html",
    "summarize",
    "write_report",
]
