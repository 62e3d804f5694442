"""Every trade path reproduces the reference EMA cross fill for fill.

The peers' generator (``../shared/bench-peers/gen_data.py``) writes 200,000
ticks with another seed than the benchmark's; the peers' plain-Python reference
(``bare_python_ema.run``, the semantics in ``common.py``) gives the fills a
correct engine must make: each market order at the price of the tick that made
the cross, 0.01 BTC, no fees. botkit runs the same ticks through the engine, the
risk module, the router and the simulated venue three ways: ``on_trade`` for
every tick, ``scan_trades`` over Python lists, and ``on_trade_columns`` over
numpy columns. The bars path has its own test (``test_bench_bars.py``).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from botkit_strategies.ema_cross import EmaCross
from conftest import SHARED

from botkit.backtest.catalog import iter_trade_batches
from botkit.model import Instrument, Side
from botkit.node import build_sim_engine
from botkit.plugins import StrategySpec

SYM = "BTC/USDT"
PEERS = SHARED / "bench-peers"


@pytest.fixture(scope="module")
def ticks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ticks")
    gen = PEERS / "gen_data.py"
    assert gen.exists(), "shared/ must sit beside the repo"
    subprocess.run(
        [sys.executable, str(gen), str(out), "--n", "200000", "--seed", "7"],
        check=True,
        capture_output=True,
    )
    return out / "ticks.parquet"


def reference_fills(ticks: Path) -> list[tuple[Side, Decimal]]:
    sys.path.insert(0, str(PEERS))  # the script imports its neighbour common.py
    try:
        spec = importlib.util.spec_from_file_location(
            "bare_python_ema", PEERS / "bare_python_ema.py"
        )
        assert spec is not None and spec.loader is not None
        module: Any = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(PEERS))
    prices = pq.read_table(ticks, columns=["price"]).column("price").to_pylist()
    return [
        (Side.BUY if side > 0 else Side.SELL, Decimal(repr(price)))
        for side, price, _ in module.run(prices)
    ]


@pytest.mark.parametrize("path", ["per-event", "scan", "columns"])
def test_each_trade_path_makes_the_reference_fills(ticks: Path, path: str) -> None:
    inst = Instrument("sim", SYM, "BTC", "USDT", tick_size="0.01", lot_size="0.00001")
    strategy = EmaCross({"symbol": SYM, "fast": 10, "slow": 50, "size": "0.01"})
    engine = build_sim_engine(
        {SYM: inst},
        [StrategySpec("ema", strategy, symbols=frozenset({SYM}))],
        balances={"USDT": Decimal(1_000_000)},
        trade_path="scan" if path == "scan" else "auto",
    )
    batches = iter_trade_batches(ticks, SYM, batch_rows=30_000)
    engine.run_backtest((b.events() for b in batches) if path == "per-event" else batches)
    engine.stop()

    expected = reference_fills(ticks)
    assert len(expected) > 2_000
    got = [(f.side, f.price) for f in engine.router.fills]
    assert got == expected
    assert all(f.size == Decimal("0.01") and f.fee == 0 for f in engine.router.fills)
    last = Decimal(repr(engine.books[SYM].last_price))
    pnl = sum((-f.side.sign * f.price * f.size for f in engine.router.fills), Decimal(0))
    pnl += sum((f.side.sign * f.size for f in engine.router.fills), Decimal(0)) * last
    ref = sum((-s.sign * p * Decimal("0.01") for s, p in expected), Decimal(0))
    ref += sum((s.sign * Decimal("0.01") for s, _ in expected), Decimal(0)) * last
    assert pnl == ref
    assert engine.equity_now() - Decimal(1_000_000) == pnl
    assert engine.rejects == {} and engine.hook_errors == {}
