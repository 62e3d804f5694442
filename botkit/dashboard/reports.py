"""Reading backtest output folders and sweeps for the dashboard's backtest browser.

A *run* is a folder with ``summary.json`` (what ``botkit backtest`` writes:
``botkit.backtest.report``), usually with ``fills.csv`` and, from this
version on, the series of ``botkit.dashboard.runfiles`` (``equity.csv``,
``prices.csv``, ``run.json``). A *sweep* is a folder with ``results.csv``:
one row per run, some columns the params that made it, the others its
metrics (``botkit sweep`` writes it). :class:`Reports` finds both under one
root folder (up to three levels down) and reads them as JSON-ready values:

- :meth:`Reports.listing`: every run with its headline numbers, every sweep;
- :meth:`Reports.run`: one run's summary, the params that produced it, the
  equity curve against buy-and-hold, the drawdown, the prices with the trades
  on them; a run without ``equity.csv`` gets a curve rebuilt from its fills,
  marked ``approximate``;
- :meth:`Reports.fills`: the fills table (columns and rows, exact strings);
- :meth:`Reports.sweep`: the results table, which columns are params and which
  metrics (guessed from the names, changeable on the page) and the link from a
  row to its run folder where there is one.

Ids are paths relative to the root; nothing outside the root is ever read.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from botkit.dashboard.runfiles import EQUITY_CSV, PRICES_CSV, RUN_JSON

SUMMARY = "summary.json"
FILLS = "fills.csv"
RESULTS = "results.csv"
MAX_DEPTH = 3
MAX_ENTRIES = 2000
MAX_POINTS = 4000  # per chart line; longer series keep each bucket's ends, min and max
MAX_TRADES = 20_000

# Column names that say "a param" outright (the rest is guessed from metric words).
PARAM_PREFIXES = ("param.", "params.", "param_", "params_", "p.", "p_")
METRIC_WORDS = (
    "pnl",
    "return",
    "sharpe",
    "sortino",
    "calmar",
    "cagr",
    "drawdown",
    "dd",
    "equity",
    "fills",
    "orders",
    "trades",
    "fees",
    "volume",
    "turnover",
    "win",
    "profit",
    "score",
    "exposure",
    "rejects",
    "events",
    "wall",
    "errors",
    "partial",
    "duration",
)
PREFERRED_METRICS = ("sharpe", "return", "strategy_pnl", "pnl", "equity_change")
LINK_COLUMNS = ("run", "run_id", "run_dir", "dir", "out", "out_dir", "path", "folder", "name", "id")


class NotFound(LookupError):
    """No such run or sweep under the root."""


def _ms(ts_ns: int | str) -> int:
    return int(ts_ns) // 1_000_000


def _float(text: Any) -> float | None:
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def reduce(points: Sequence[Sequence[Any]], limit: int = MAX_POINTS) -> list[list[Any]]:
    """At most ``limit`` points of ``[x, y]``: each bucket's first, last, min and max kept."""
    if len(points) <= limit:
        return [list(p) for p in points]
    per = math.ceil(len(points) / (limit // 4))
    out: list[list[Any]] = []
    for i in range(0, len(points), per):
        bucket = points[i : i + per]
        keep = {0, len(bucket) - 1}
        ys = [p[1] if p[1] is not None else 0.0 for p in bucket]
        keep.add(ys.index(min(ys)))
        keep.add(ys.index(max(ys)))
        out.extend(list(bucket[j]) for j in sorted(keep))
    return out


def drawdown(equity: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """``[t, equity / running peak - 1]`` (0 at a new high, negative below it)."""
    peak = -math.inf
    out = []
    for t, v in equity:
        if v is None:
            continue
        peak = max(peak, v)
        out.append([t, (v / peak - 1.0) if peak > 0 else 0.0])
    return out


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        return header, [row for row in reader if row]


class Reports:
    """The runs and sweeps under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    # ----- finding ---------------------------------------------------------------------------

    def _id(self, folder: Path) -> str:
        rel = folder.relative_to(self.root).as_posix()
        return "." if rel in ("", ".") else rel

    def folder(self, rid: str, marker: str) -> Path:
        """The folder of run or sweep ``rid`` (it must hold ``marker``), inside the root."""
        path = (self.root / (rid or ".")).resolve()
        if not path.is_relative_to(self.root) or not (path / marker).is_file():
            raise NotFound(rid)
        return path

    def _walk(self) -> Iterable[Path]:
        if not self.root.is_dir():
            return
        found = 0
        for here, dirs, files in os.walk(self.root):
            depth = len(Path(here).relative_to(self.root).parts)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if depth < MAX_DEPTH else []
            if SUMMARY in files or RESULTS in files:
                yield Path(here)
                found += 1
                if found >= MAX_ENTRIES:
                    return

    def listing(self) -> dict[str, Any]:
        """Every run (newest first) and every sweep under the root."""
        runs: list[dict[str, Any]] = []
        sweeps: list[dict[str, Any]] = []
        for folder in self._walk():
            if (folder / SUMMARY).is_file():
                runs.append(self._run_line(folder))
            if (folder / RESULTS).is_file():
                header, rows = _read_csv(folder / RESULTS)
                sweeps.append(
                    {
                        "id": self._id(folder),
                        "name": folder.name,
                        "rows": len(rows),
                        "columns": len(header),
                        "mtime": (folder / RESULTS).stat().st_mtime,
                    }
                )
        runs.sort(key=lambda r: (-r["mtime"], r["id"]))
        sweeps.sort(key=lambda r: (-r["mtime"], r["id"]))
        return {"root": self.root.name, "runs": runs, "sweeps": sweeps}

    def _run_line(self, folder: Path) -> dict[str, Any]:
        s = _read_json(folder / SUMMARY) or {}
        dd = s.get("max_drawdown") or {}
        bh = (s.get("benchmark") or {}).get("buy_and_hold") or {}
        return {
            "id": self._id(folder),
            "name": folder.name,
            "mtime": (folder / SUMMARY).stat().st_mtime,
            "start": s.get("start"),
            "end": s.get("end"),
            "strategies": s.get("strategies") or [],
            "quote": s.get("quote_asset"),
            "fills": s.get("fills"),
            "strategy_pnl": (s.get("strategy_pnl") or {}).get("total"),
            "equity_change": s.get("equity_change"),
            "return": s.get("return"),
            "buy_and_hold_return": bh.get("return"),
            "max_drawdown": dd.get("fraction"),
            "sharpe": s.get("sharpe"),
            "partial": bool(s.get("partial")),
            "series": (folder / EQUITY_CSV).is_file(),
        }

    # ----- one run ---------------------------------------------------------------------------

    def run(self, rid: str) -> dict[str, Any]:
        folder = self.folder(rid, SUMMARY)
        summary = _read_json(folder / SUMMARY) or {}
        fills_header, fills = _read_csv(folder / FILLS) if (folder / FILLS).is_file() else ([], [])
        col = {name: i for i, name in enumerate(fills_header)}
        if (folder / EQUITY_CSV).is_file():
            series = self._series(folder)
            approximate = False
        else:
            series = rebuild_series(summary, fills, col)
            approximate = True
        equity = series["equity"]
        trades = [
            [
                _ms(r[col["ts_ns"]]),
                _float(r[col["price"]]),
                r[col["side"]],
                r[col["size"]],
                r[col["strategy"]],
                r[col["symbol"]],
            ]
            for r in fills[:MAX_TRADES]
            if {"ts_ns", "price", "side", "size", "strategy", "symbol"} <= col.keys()
        ]
        return {
            "id": self._id(folder),
            "name": folder.name,
            "summary": summary,
            "params": self.params(folder),
            "approximate": approximate,
            "equity": reduce(equity),
            "buy_and_hold": reduce(series["buy_and_hold"]),
            "held": reduce(series["held"]),
            "drawdown": reduce(drawdown(equity)),
            "prices": {sym: reduce(path) for sym, path in series["prices"].items()},
            "trades": trades,
            "trades_total": len(fills),
        }

    def _series(self, folder: Path) -> dict[str, Any]:
        header, rows = _read_csv(folder / EQUITY_CSV)
        c = {name: i for i, name in enumerate(header)}
        equity, bh, held = [], [], []
        for r in rows:
            t = _ms(r[c["ts_ns"]])
            equity.append([t, _float(r[c["equity"]])])
            if "buy_and_hold" in c and r[c["buy_and_hold"]]:
                bh.append([t, _float(r[c["buy_and_hold"]])])
            if "starting_balances_held" in c and r[c["starting_balances_held"]]:
                held.append([t, _float(r[c["starting_balances_held"]])])
        prices: dict[str, list[list[Any]]] = {}
        if (folder / PRICES_CSV).is_file():
            header, rows = _read_csv(folder / PRICES_CSV)
            c = {name: i for i, name in enumerate(header)}
            for r in rows:
                prices.setdefault(r[c["symbol"]], []).append(
                    [_ms(r[c["ts_ns"]]), _float(r[c["price"]])]
                )
        return {"equity": equity, "buy_and_hold": bh, "held": held, "prices": prices}

    def params(self, folder: Path) -> dict[str, Any]:
        """What produced the run: ``run.json``'s strategies, else its sweep row, else names."""
        run = _read_json(folder / RUN_JSON)
        if isinstance(run, dict) and run.get("strategies") is not None:
            return {"source": RUN_JSON, "strategies": run["strategies"], "data": run.get("data")}
        for up in (folder.parent, folder.parent.parent):
            if not up.is_relative_to(self.root) or not (up / RESULTS).is_file():
                continue
            sweep = self.sweep(self._id(up))
            for i, target in sweep["runs"].items():
                if target == self._id(folder):
                    row = sweep["rows"][int(i)]
                    values = {name: row[sweep["columns"].index(name)] for name in sweep["params"]}
                    return {"source": f"{self._id(up)}/{RESULTS}", "sweep_params": values}
        names = (_read_json(folder / SUMMARY) or {}).get("strategies") or []
        return {"source": None, "strategies": [{"name": n, "params": None} for n in names]}

    def fills(self, rid: str) -> dict[str, Any]:
        """The fills table: ``columns`` and ``rows`` (strings, as in fills.csv)."""
        folder = self.folder(rid, SUMMARY)
        if not (folder / FILLS).is_file():
            return {"columns": [], "rows": []}
        header, rows = _read_csv(folder / FILLS)
        return {"columns": header, "rows": rows}

    # ----- sweeps ----------------------------------------------------------------------------

    def sweep(self, sid: str) -> dict[str, Any]:
        folder = self.folder(sid, RESULTS)
        header, rows = _read_csv(folder / RESULTS)
        numeric = [
            name
            for i, name in enumerate(header)
            if rows
            and all(_float(r[i]) is not None for r in rows if i < len(r) and r[i] != "")
            and any(i < len(r) and r[i] != "" for r in rows)
        ]
        params, metrics = split_columns(header, numeric)
        runs: dict[str, str] = {}
        link = next((c for c in LINK_COLUMNS if c in header), None)
        if link is not None:
            i = header.index(link)
            for n, r in enumerate(rows):
                target = self._link(folder, r[i] if i < len(r) else "")
                if target is not None:
                    runs[str(n)] = target
        return {
            "id": self._id(folder),
            "name": folder.name,
            "columns": header,
            "rows": rows,
            "numeric": numeric,
            "params": params,
            "metrics": metrics,
            "metric": default_metric(metrics),
            "runs": runs,
        }

    def _link(self, sweep_folder: Path, value: str) -> str | None:
        if not value:
            return None
        for base in (sweep_folder, self.root):
            path = (base / value).resolve()
            if path.is_relative_to(self.root) and (path / SUMMARY).is_file():
                return self._id(path)
        return None


def _is_metric(name: str) -> bool:
    low = name.lower()
    words = low.replace(".", "_").replace("-", "_").split("_")
    return any(w in words or (len(w) > 3 and w in low) for w in METRIC_WORDS)


def split_columns(header: Sequence[str], numeric: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(params, metrics)`` among the numeric columns of a results table.

    Columns named ``param.x`` / ``params.x`` / ``p_x`` ... are the params when there
    are any; otherwise numeric columns whose names read as metrics (``sharpe``,
    ``strategy_pnl``, ``max_drawdown``...) are the metrics and the others the params.
    """
    explicit = [c for c in header if c.lower().startswith(PARAM_PREFIXES)]
    if explicit:
        params = [c for c in explicit if c in numeric] or explicit
        metrics = [c for c in numeric if c not in explicit and c.lower() not in LINK_COLUMNS]
        return params, metrics
    metrics = [c for c in numeric if _is_metric(c)]
    params = [c for c in numeric if c not in metrics and c.lower() not in LINK_COLUMNS]
    if not metrics and params:  # nothing reads as a metric: the last numeric column is one
        metrics = [params.pop()]
    return params, metrics


def default_metric(metrics: Sequence[str]) -> str | None:
    for want in PREFERRED_METRICS:
        for c in metrics:
            if c.lower() == want or c.lower().endswith("." + want):
                return c
    for want in PREFERRED_METRICS:
        for c in metrics:
            if want in c.lower():
                return c
    return metrics[0] if metrics else None


def _dec(text: Any) -> Decimal | None:
    try:
        d = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def rebuild_series(
    summary: dict[str, Any], fills: Sequence[Sequence[str]], col: dict[str, int]
) -> dict[str, Any]:
    """An approximate equity curve from the fills alone (a run without ``equity.csv``).

    Each strategy position and its cash flows are marked at the symbol's last fill
    price, and the starting holdings at the same prices; the curve starts at the
    summary's ``initial_equity`` and ends at its ``final_equity``. Buy-and-hold
    follows the benchmark symbol's fill prices.
    """
    e0 = _dec(summary.get("initial_equity")) or Decimal(0)
    quote = summary.get("quote_asset") or ""
    holdings = [
        (h.get("symbol"), _dec(h.get("amount")), _dec(h.get("start_price")))
        for h in (summary.get("holdings_drift") or {}).get("holdings") or []
    ]
    bh = (summary.get("benchmark") or {}).get("buy_and_hold") or {}
    bh_symbol, bh_p0 = bh.get("symbol"), _dec(bh.get("start_price"))
    pos: dict[str, Decimal] = {}
    cash: dict[str, Decimal] = {}
    last: dict[str, Decimal] = {}
    start_ms = _ms(summary.get("start_ns") or 0)
    equity: list[list[Any]] = [[start_ms, float(e0)]]
    buy_hold: list[list[Any]] = [[start_ms, float(e0)]] if bh_p0 else []
    prices: dict[str, list[list[Any]]] = {}
    needed = {"ts_ns", "symbol", "side", "price", "size", "fee"}
    if needed <= col.keys():
        for r in fills:
            sym = r[col["symbol"]]
            price, size, fee = _dec(r[col["price"]]), _dec(r[col["size"]]), _dec(r[col["fee"]])
            if price is None or size is None:
                continue
            signed = size if r[col["side"]] == "buy" else -size
            pos[sym] = pos.get(sym, Decimal(0)) + signed
            paid = price * signed
            fee_asset = r[col["fee_asset"]] if "fee_asset" in col else ""
            if fee is not None and fee_asset in ("", quote):
                paid += fee
            cash[sym] = cash.get(sym, Decimal(0)) - paid
            last[sym] = price
            t = _ms(r[col["ts_ns"]])
            value = e0 + sum(cash[s] + pos[s] * last[s] for s in pos)
            for hsym, amount, p0 in holdings:
                if hsym in last and amount is not None and p0 is not None:
                    value += amount * (last[hsym] - p0)
            equity.append([t, float(value)])
            prices.setdefault(sym, []).append([t, float(price)])
            if sym == bh_symbol and bh_p0:
                buy_hold.append([t, float(e0 * price / bh_p0)])
    final = _dec(summary.get("final_equity"))
    end_ms = _ms(summary.get("end_ns") or 0)
    if final is not None and end_ms:
        equity.append([end_ms, float(final)])
        if bh_p0 and _dec(bh.get("final_equity")) is not None:
            buy_hold.append([end_ms, float(_dec(bh.get("final_equity")) or 0)])
    return {"equity": equity, "buy_and_hold": buy_hold, "held": [], "prices": prices}


__all__ = ["NotFound", "Reports", "default_metric", "drawdown", "rebuild_series", "reduce"]
