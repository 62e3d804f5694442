"""The reference EMA cross on bars alone: the peers' 842 one-minute bars reproduce the reference.

The data comes from ``../shared/bench-peers/gen_data.py`` (seed 42), written into
a catalog that holds only ``bars_1m`` for the symbol; the bot is a bot.yaml with
the shipped ``ema_cross`` reading bar closes. With ``sim.bar_fill: close`` every
fill is at its signal bar's close, which is the reference (20 fills, PnL
+0.6367, as backtrader's cheat-on-close, vectorbt and NautilusTrader give);
with ``next_open`` each fill is at the open of the bar after the signal
(+0.6373, as backtrader's default).
"""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SHARED

from botkit.backtest.catalog import Catalog, replay
from botkit.config import load_config
from botkit.model import Fill
from botkit.node import build_backtest

SYM = "BTC/USDT"

BOT_YAML = """
mode: backtest
venue: {{name: sim}}
instruments:
  - {{symbol: BTC/USDT, base: BTC, quote: USDT, tick_size: "0.01", lot_size: "0.00001"}}
account:
  balances: {{USDT: "1000000"}}
strategies:
  - name: ema
    use: ema_cross
    params: {{symbol: BTC/USDT, fast: 10, slow: 50, size: "0.01", source: bars}}
sim:
  bar_fill: {bar_fill}
data:
  catalog: data
"""


@pytest.fixture(scope="module")
def peer_bars(tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    """The reference bars (ts_open, ts_close, open, high, low, close, volume, ...)."""
    out = tmp_path_factory.mktemp("peers")
    gen = SHARED / "bench-peers" / "gen_data.py"
    assert gen.exists(), "shared/ must sit beside the repo"
    subprocess.run([sys.executable, str(gen), str(out), "--seed", "42"], check=True)
    return pq.read_table(out / "bars_1m.parquet")


def backtest(peer_bars: pa.Table, root: Path, bar_fill: str) -> tuple[list[Fill], Decimal, int]:
    """Run the bot on a bars-only catalog; return its fills, PnL at the last close, events."""
    Catalog(root / "data").write(
        "sim",
        SYM,
        "bars_1m",
        pa.table(
            {
                "ts_ns": peer_bars["ts_close"],  # the catalog stamps a bar at its close
                **{c: peer_bars[c] for c in ("open", "high", "low", "close", "volume")},
            }
        ),
    )
    (root / "bot.yaml").write_text(BOT_YAML.format(bar_fill=bar_fill), encoding="utf-8")
    config = load_config(root / "bot.yaml")
    engine = build_backtest(config)
    engine.run_backtest(replay(Catalog(root / "data"), "sim", [SYM]))
    engine.stop()
    fills = engine.router.fills
    last = Decimal(repr(peer_bars["close"][-1].as_py()))
    cash = sum((-f.side.sign * f.price * f.size for f in fills), Decimal(0))
    pos = sum((f.side.sign * f.size for f in fills), Decimal(0))
    assert dict(engine.rejects) == {}
    return fills, (cash + pos * last).quantize(Decimal("0.0001")), engine.events


def test_close_fills_reproduce_the_reference(peer_bars: pa.Table, tmp_path: Path) -> None:
    fills, pnl, events = backtest(peer_bars, tmp_path, "close")
    assert events == 842
    assert len(fills) == 20
    assert pnl == Decimal("0.6367")
    # Each fill is at the close of the bar the signal came on, stamped at that close.
    close_at = dict(zip(peer_bars["ts_close"].to_pylist(), peer_bars["close"].to_pylist()))
    assert all(f.price == Decimal(repr(close_at[f.ts_ns])) for f in fills)


def test_next_open_fills_at_the_next_bars_open(peer_bars: pa.Table, tmp_path: Path) -> None:
    closes, _, _ = backtest(peer_bars, tmp_path / "close", "close")
    fills, pnl, _ = backtest(peer_bars, tmp_path / "next", "next_open")
    assert len(fills) == 20
    assert pnl == Decimal("0.6373")
    # The same signals, each filled one bar later at that bar's open.
    ts_close = peer_bars["ts_close"].to_pylist()
    next_open = dict(zip(ts_close, peer_bars["open"].to_pylist()[1:]))
    next_close_ts = dict(pairwise(ts_close))
    assert [f.side for f in fills] == [f.side for f in closes]
    for signal, fill in zip(closes, fills):
        assert fill.ts_ns == next_close_ts[signal.ts_ns]
        assert fill.price == Decimal(repr(next_open[signal.ts_ns]))
