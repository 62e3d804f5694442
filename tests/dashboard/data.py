"""Report folders for the backtest browser's tests: a run with 10,000 fills and a sweep.

A real backtest (``botkit backtest``) makes the ordinary run; these make the
large and the many: a run folder in the report's own format (``summary.json``,
``fills.csv`` with the report's columns, ``equity.csv``, ``prices.csv``) with as
many fills as asked, and a sweep's ``results.csv`` over a grid of two params.
"""

from __future__ import annotations

import csv
import json
import math
import random
from decimal import Decimal
from pathlib import Path

from botkit.backtest.report import FILL_COLUMNS, iso_utc
from botkit.dashboard.runfiles import EQUITY_COLUMNS, PRICE_COLUMNS

START_NS = 1_709_510_400_000_000_000  # 2024-03-04T00:00:00Z
STRATEGIES = ("trend", "maker", "ladder")


def big_run(folder: Path, fills: int = 10_000, seed: int = 7) -> list[list[str]]:
    """A run folder with ``fills`` fills over one day; returns the fills.csv rows."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    step_ns = 86_400_000_000_000 // fills
    price = Decimal("63000.00")
    rows: list[list[str]] = []
    for i in range(fills):
        price = max(Decimal("1000"), price + Decimal(rng.randint(-800, 800)) / 100)
        ts = START_NS + i * step_ns + rng.randint(0, step_ns - 1)
        side = rng.choice(("buy", "sell"))
        size = Decimal(rng.randint(1, 500)) / 10_000
        fee = (price * size * Decimal("0.0005")).quantize(Decimal("0.00000001"))
        strategy = rng.choice(STRATEGIES)
        rows.append(
            [
                iso_utc(ts),
                str(ts),
                strategy,
                "BTC/USDT",
                side,
                str(price),
                str(size),
                str(fee),
                "USDT",
                rng.choice(("maker", "taker")),
                f"sim-t{i + 1}",
                f"{strategy}-{i // 3}",
                f"sim-{i // 3 + 1}",
            ]
        )
    with (folder / "fills.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(FILL_COLUMNS)
        w.writerows(rows)
    e0 = 226_000.0
    end_ns = START_NS + 86_400_000_000_000
    with (
        (folder / "equity.csv").open("w", newline="") as fh,
        (folder / "prices.csv").open("w", newline="") as ph,
    ):
        w, p = csv.writer(fh), csv.writer(ph)
        w.writerow(EQUITY_COLUMNS)
        p.writerow(PRICE_COLUMNS)
        for m in range(1441):
            ts = START_NS + m * 60_000_000_000
            equity = e0 + 900 * math.sin(m / 90) + m / 3
            hold = e0 * (1 + 0.01 * math.sin(m / 120))
            w.writerow([iso_utc(ts), ts, f"{equity:.2f}", repr(hold), repr(hold)])
            p.writerow([iso_utc(ts), ts, "BTC/USDT", repr(63000 * (1 + 0.01 * math.sin(m / 120)))])
    summary = {
        "partial": False,
        "quote_asset": "USDT",
        "strategies": list(STRATEGIES),
        "start": iso_utc(START_NS),
        "end": iso_utc(end_ns),
        "start_ns": START_NS,
        "end_ns": end_ns,
        "initial_equity": "226000",
        "final_equity": "226480",
        "strategy_pnl": {"total": "480", "by_strategy": {s: "160" for s in STRATEGIES}},
        "equity_change": "480",
        "return": 480 / 226_000,
        "benchmark": {"buy_and_hold": None, "hold_starting_balances": None},
        "sharpe": None,
        "sharpe_caveat": "not shown: run covers 1.0 d",
        "max_drawdown": {"fraction": 0.0079, "absolute": "1790"},
        "fills": fills,
        "orders": fills // 3,
        "fees": "1000",
        "rejects": {"total": 0, "by_reason": {}},
    }
    (folder / "summary.json").write_text(json.dumps(summary, indent=2))
    return rows


def sweep(folder: Path, fasts: tuple[int, ...], slows: tuple[int, ...]) -> list[dict[str, str]]:
    """A sweep's ``results.csv``: one row per (fast, slow) at two sizes; returns the rows."""
    folder.mkdir(parents=True)
    rows = []
    n = 0
    for fast in fasts:
        for slow in slows:
            for size in ("0.01", "0.05"):
                n += 1
                pnl = 40 * math.sin(fast / 10) + slow / 40 - 20 + (5 if size == "0.05" else 0)
                rows.append(
                    {
                        "run": f"run-{n:03d}",
                        "fast": str(fast),
                        "slow": str(slow),
                        "size": size,
                        "strategy_pnl": f"{pnl:.4f}",
                        "return": f"{pnl / 226_000:.8f}",
                        "sharpe": f"{pnl / 25:.3f}",
                        "max_drawdown": f"{0.001 * (1 + n % 7):.4f}",
                        "fills": str(50 + n),
                    }
                )
    with (folder / "results.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows
