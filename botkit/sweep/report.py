"""What a sweep writes to ``--out``: results.csv, results.html, sweep.json (and, for a
walk-forward, walkforward.csv and oos_equity.csv).

- ``results.csv``: one row per run in ranked order (ranked runs first, then runs
  whose metric is null, then failed runs). Columns: ``rank`` (empty when not
  ranked), ``run``, ``status`` (``ok``/``failed``), ``param.<name>`` per swept param,
  then the metrics with their units in the header (``strategy_pnl [USDT]``,
  ``return [fraction]``, ``sharpe [daily, annualised]`` with ``sharpe_caveat``
  beside it, counts bare), the run's ``start``/``end`` (UTC), ``seed``,
  ``botkit_version`` (the worker's), ``wall_s [s]``, ``worker`` and ``error``.
  Money is the summary's exact decimal string; a null metric is an empty cell
  and its caveat says why. A walk-forward adds ``window`` and ``phase``
  (``train``/``test``) in front, and ranks the train runs within each window.
- ``results.html``: one self-contained page (inline CSS, no script, no external
  reference): what ran and how it is ranked, a heatmap when exactly two params
  vary (an HTML table, each cell coloured by the ranking metric, greener is
  better, exact value in the cell), and the runs table; a walk-forward adds its
  windows and the joined out-of-sample equity (a PNG embedded as base64).
- ``sweep.json``: the command's settings, the counts, the ranking (metric,
  direction, note) and the best run, with the walk-forward's windows and join.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from botkit.backtest.report import dec_str
from botkit.sweep.grid import Value, format_params, format_value
from botkit.sweep.metrics import METRICS, Metric, Ranking, get_metric, strategy_metric
from botkit.sweep.tasks import RunOutcome

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right;white-space:nowrap}
th{background:#f2f2f2}
td.l,th.l{text-align:left}
td.null{background:#eee;color:#777}
tr.failed td{color:#a00}
p.note{background:#fff8dc;padding:.5em;border-left:4px solid #e0c000}
small{color:#666}
"""


# A param's column in results.csv is param.<name>: no reader has to guess which columns
# are params (the dashboard's sweep page takes this prefix as the mark of one).
PARAM_PREFIX = "param."


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return dec_str(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def quote_of(outcomes: Sequence[RunOutcome]) -> str:
    for o in outcomes:
        if o.summary is not None:
            return str(o.summary.get("quote_asset", ""))
    return "quote"


def strategy_names(outcomes: Sequence[RunOutcome]) -> list[str]:
    for o in outcomes:
        if o.summary is not None:
            return list(o.summary.get("strategies", []))
    return []


def metric_columns(outcomes: Sequence[RunOutcome]) -> list[tuple[str, Metric, bool]]:
    """(header, metric, is_caveat) for every metric column, in order."""
    quote = quote_of(outcomes)
    names = strategy_names(outcomes)
    cols: list[tuple[str, Metric, bool]] = []
    for m in METRICS.values():
        cols.append((m.header(quote), m, False))
        if m.name in ("sharpe", "sortino"):
            cols.append((f"{m.name}_caveat", m, True))
        if m.name == "strategy_pnl" and len(names) > 1:
            for n in names:
                sm = strategy_metric(n)
                cols.append((sm.header(quote), sm, False))
    return cols


def metric_text(summary: Mapping[str, Any], metric: Metric | None) -> str:
    """A metric's value for people: money with its quote asset, null as ``null``."""
    m = metric or METRICS["strategy_pnl"]
    v = m.read(summary)
    if v is None:
        return "null"
    if m.unit == "quote":
        return f"{_cell(v)} {summary.get('quote_asset', '')}".strip()
    if isinstance(v, float):
        return f"{v:.4g}"
    return _cell(v)


def rows(
    outcomes: Sequence[RunOutcome],
    ranking: Ranking | Mapping[int, Ranking],
    labels: Sequence[str],
) -> tuple[list[str], list[list[str]]]:
    """The header and rows of results.csv (``ranking`` per window for a walk-forward)."""
    walk = isinstance(ranking, Mapping)
    cols = metric_columns(outcomes)
    header = [*(["window", "phase"] if walk else []), "rank", "run", "status"]
    header += [PARAM_PREFIX + lbl for lbl in labels]
    header += [h for h, _, _ in cols]
    header += ["start", "end", "seed", "botkit_version", "wall_s [s]", "worker", "error"]
    by_id = {o.run_id: o for o in outcomes}
    if walk:
        assert isinstance(ranking, Mapping)
        order: list[tuple[int, int | None]] = []
        windows = sorted({int(o.tag.get("window", 0)) for o in outcomes})
        for k in windows:
            r = ranking.get(k)
            if r is not None:
                order += [(rid, r.ranks.get(rid)) for rid in r.order]
            order += [
                (o.run_id, None)
                for o in outcomes
                if o.tag.get("window") == k and o.tag.get("phase") == "test"
            ]
    else:
        assert isinstance(ranking, Ranking)
        order = [(rid, ranking.ranks.get(rid)) for rid in ranking.order]
    out = []
    for rid, place in order:
        o = by_id[rid]
        s = o.summary
        row = [str(o.tag.get("window", "")), str(o.tag.get("phase", ""))] if walk else []
        row += [
            "" if place is None else str(place),
            str(rid),
            "ok" if o.ok else "failed",
        ]
        row += [format_value(o.params[lbl]) if lbl in o.params else "" for lbl in labels]
        for _, m, caveat in cols:
            if s is None:
                row.append("")
            elif caveat:
                row.append(m.caveat(s) or "")
            else:
                row.append(_cell(m.read(s)))
        row += [
            s["start"] if s else "",
            s["end"] if s else "",
            "" if o.seed is None else str(o.seed),
            o.version,
            f"{o.wall_s:.3f}",
            o.worker,
            o.error or "",
        ]
        out.append(row)
    return header, out


def write_csv(path: Path, header: Sequence[str], body: Sequence[Sequence[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(body)


# ---------------------------------------------------------------------- html


def _e(value: Any) -> str:
    return html.escape(str(value))


def _colour(t: float) -> str:
    """0 (worst) red, 0.5 yellow, 1 (best) green."""
    t = min(max(t, 0.0), 1.0)
    if t < 0.5:
        r, g = 230, int(110 + 230 * t)
    else:
        r, g = int(230 - 300 * (t - 0.5)), 225
    return f"rgb({r},{g},120)"


def heatmap(
    outcomes: Sequence[RunOutcome],
    labels: Sequence[str],
    metric: Metric,
    direction: str,
    max_side: int = 60,
) -> str | None:
    """An HTML table: rows the first varying param, columns the second, each cell the
    best run's metric there. None unless exactly two params vary (and not too many values)."""
    values: dict[str, list[Value]] = {}
    for lbl in labels:
        seen: dict[str, Value] = {}
        for o in outcomes:
            if lbl in o.params:
                seen.setdefault(format_value(o.params[lbl]), o.params[lbl])
        values[lbl] = list(seen.values())
    varying = [lbl for lbl in labels if len(values[lbl]) > 1]
    if len(varying) != 2 or any(len(values[v]) > max_side for v in varying):
        return None
    ya, xa = varying

    def order(vs: list[Value]) -> list[Value]:
        try:
            return sorted(vs)  # type: ignore[type-var]
        except TypeError:
            return vs

    ys, xs = order(values[ya]), order(values[xa])
    cell: dict[tuple[str, str], tuple[Any, RunOutcome]] = {}
    for o in outcomes:
        if not o.ok or o.summary is None:
            continue
        v = metric.read(o.summary)
        key = (format_value(o.params.get(ya)), format_value(o.params.get(xa)))
        old = cell.get(key)
        better = (
            old is None
            or (old[0] is None and v is not None)
            or (
                v is not None
                and old[0] is not None
                and (v > old[0] if direction == "max" else v < old[0])
            )
        )
        if better:
            cell[key] = (v, o)
    numbers = [float(v) for v, _ in cell.values() if v is not None]
    lo, hi = (min(numbers), max(numbers)) if numbers else (0.0, 0.0)
    head = f'<tr><th class="l">{_e(ya)} \\ {_e(xa)}</th>' + "".join(
        f"<th>{_e(format_value(x))}</th>" for x in xs
    )
    body = []
    for y in ys:
        tds = [f'<th class="l">{_e(format_value(y))}</th>']
        for x in xs:
            found = cell.get((format_value(y), format_value(x)))
            if found is None:
                tds.append('<td class="null" title="no successful run">–</td>')
                continue
            v, o = found
            if v is None:
                caveat = metric.caveat(o.summary or {}) or "null"
                tds.append(f'<td class="null" title="{_e(caveat)}">null</td>')
                continue
            t = 0.5 if hi == lo else (float(v) - lo) / (hi - lo)
            t = t if direction == "max" else 1 - t
            tip = f"run {o.run_id}: {format_params(o.params)}"
            tds.append(f'<td style="background:{_colour(t)}" title="{_e(tip)}">{_e(_cell(v))}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return f"<table>{head}</tr>{''.join(body)}</table>"


def _table(header: Sequence[str], body: Sequence[Sequence[str]], left: int = 0) -> str:
    ths = "".join(
        f'<th class="{"l" if i < left else ""}">{_e(h)}</th>' for i, h in enumerate(header)
    )
    trs = []
    for row in body:
        tds = "".join(
            f'<td class="{"l" if i < left else ""}">{_e(c)}</td>' for i, c in enumerate(row)
        )
        trs.append(f"<tr>{tds}</tr>")
    return f"<table><tr>{ths}</tr>{''.join(trs)}</table>"


# Left out of the page's table (results.csv has them): caveats become tooltips.
_HIDDEN = ("start", "end", "seed", "botkit_version", "worker", "volume [", "max_drawdown_abs [")


def runs_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """The runs as an HTML table: a null metric reads ``null``, its caveat on hover."""
    caveat_of = {
        header.index(h.split(" [")[0].replace("_caveat", "") + " [daily, annualised]"): i
        for i, h in enumerate(header)
        if h.endswith("_caveat")
    }
    shown = [
        i for i, h in enumerate(header) if not h.endswith("_caveat") and not h.startswith(_HIDDEN)
    ]
    first_metric = next((i for i, h in enumerate(header) if h.startswith("strategy_pnl [")), 0)
    status = header.index("status")
    after_metrics = header.index("start")
    ths = "".join(f"<th>{_e(header[i].removeprefix(PARAM_PREFIX))}</th>" for i in shown)
    trs = []
    for row in body:
        ok = row[status] == "ok"
        tds = []
        for i in shown:
            cell = row[i]
            if ok and not cell and first_metric <= i < after_metrics:
                tip = row[caveat_of[i]] if i in caveat_of else "null"
                tds.append(f'<td class="null" title="{_e(tip)}">null</td>')
            elif header[i] == "error":
                tds.append(f'<td class="l">{_e(cell)}</td>')
            else:
                tds.append(f"<td>{_e(cell)}</td>")
        cls = "" if ok else ' class="failed"'
        trs.append(f"<tr{cls}>{''.join(tds)}</tr>")
    return f"<table><tr>{ths}</tr>{''.join(trs)}</table>"


def render_html(
    meta: Mapping[str, Any],
    header: Sequence[str],
    body: Sequence[Sequence[str]],
    heat: str | None,
    walk_html: str = "",
    max_rows: int = 2000,
) -> str:
    title = f"Sweep: {meta.get('config', '')}"
    lines = [
        f"<p>{_e(meta.get('mode', ''))} over <code>{_e(meta.get('grid', ''))}</code>: "
        f"{meta['counts']['runs']:,} runs, {meta['counts']['ok']:,} ok, "
        f"{meta['counts']['failed']:,} failed; on {_e(meta.get('where', ''))}; "
        f"{meta.get('wall_s', 0):.1f} s; botkit {_e(meta.get('botkit_version', ''))}.</p>",
        f"<p>Ranked by <b>{_e(meta['ranking']['metric'])}</b> "
        f"({_e(meta['ranking']['direction'])} is best).</p>",
    ]
    if meta["ranking"].get("note"):
        lines.append(f'<p class="note">{_e(meta["ranking"]["note"])}</p>')
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        *lines,
    ]
    if heat is not None:
        parts += [
            f"<h2>Heatmap: {_e(meta['ranking']['metric'])}</h2>",
            "<p>Each cell is the best run with those two values; greener is better. "
            "Grey: null (hover for the caveat) or no successful run.</p>",
            heat,
        ]
    parts.append(walk_html)
    shown = body[:max_rows]
    parts += [
        f"<h2>Runs ({len(body):,})</h2>",
        "<p>Money is exact (as in summary.json); a null metric shows its caveat on hover. "
        "results.csv has every column (caveats, times, seed, version, worker)."
        + (
            f" The first {max_rows:,} rows are shown; results.csv has all."
            if len(body) > max_rows
            else ""
        )
        + "</p>",
        runs_table(header, shown),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def walk_forward_html(walk: Any, labels: Sequence[str], png: bytes | None) -> str:
    from botkit.backtest.report import iso_utc

    def day(ts: int) -> str:
        return iso_utc(ts)[:19].replace("T", " ")

    head = [
        "window",
        "train (UTC)",
        "test (UTC)",
        *labels,
        "train value",
        "test strategy pnl",
        "test error",
    ]
    body = []
    for r in walk.windows:
        w = r.window
        test = r.test
        body.append(
            [
                str(w.index),
                f"{day(w.train_start)} → {day(w.train_end)}",
                f"{day(w.test_start)} → {day(w.test_end)}",
                *(format_value(r.chosen[lbl]) if r.chosen else "" for lbl in labels),
                _cell(r.train_value),
                test.summary["strategy_pnl"]["total"] if test and test.summary else "",
                (test.error if test else r.error) or "",
            ]
        )
    j = walk.joined
    out = [
        "<h2>Walk-forward</h2>",
        "<p>Each window's params are the best of its train runs; the test window after it "
        "is out of sample. Each window is its own backtest from the configured balances.</p>",
        _table(head, body, left=3),
    ]
    if j is not None:
        out.append(
            f"<p>Out of sample, {j.windows} window(s) joined: strategy PnL "
            f"<b>{_e(dec_str(j.strategy_pnl))} {_e(j.quote_asset)}</b> (the sum of the "
            f"windows'), equity change {_e(dec_str(j.equity_change))} {_e(j.quote_asset)}. "
            "The equity curve chains the windows: each is shifted to start where the "
            "previous one ended.</p>"
        )
    if png is not None:
        data = base64.b64encode(png).decode("ascii")
        out.append(f'<img alt="joined out-of-sample equity" src="data:image/png;base64,{data}">')
    return "\n".join(out)


def write_json(path: Path, meta: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(meta, indent=2, allow_nan=False, default=str) + "\n", "utf-8")


def format_top(
    header: Sequence[str], body: Sequence[Sequence[str]], labels: Sequence[str], n: int = 10
) -> str:
    """The first ``n`` rows for stdout: rank, params and the headline metrics."""
    wanted = [
        "window",
        "phase",
        "rank",
        "run",
        *(PARAM_PREFIX + lbl for lbl in labels),
        *(h for h in header if h.startswith(("strategy_pnl [", "sharpe [", "max_drawdown ["))),
        "fills",
        "error",
    ]
    idx = [header.index(h) for h in wanted if h in header]
    floats = {
        j
        for j, i in enumerate(idx)
        if header[i].startswith(("sharpe [", "max_drawdown [", "return ["))
    }
    table = [
        [header[i].removeprefix(PARAM_PREFIX) for i in idx],
        *([row[i] for i in idx] for row in body[:n]),
    ]
    for row in table[1:]:
        row[-1] = row[-1][:60]
        for j in floats:
            row[j] = f"{float(row[j]):.4g}" if row[j] else "null"
    widths = [max(len(r[c]) for r in table) for c in range(len(idx))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)).rstrip() for r in table)


def ranking_metric(name: str, outcomes: Sequence[RunOutcome]) -> Metric:
    return METRICS.get(name) or get_metric(name, strategy_names(outcomes))


__all__ = [
    "PARAM_PREFIX",
    "format_top",
    "heatmap",
    "metric_columns",
    "metric_text",
    "quote_of",
    "ranking_metric",
    "render_html",
    "rows",
    "runs_table",
    "walk_forward_html",
    "write_csv",
    "write_json",
]
