"""What the sweep tests share: small generated catalogs, bot.yaml files, and a toy strategy.

``Toy`` buys ``size`` at market on trade number ``enter`` and sells it on trade
number ``exit``. On :func:`toy_prices` (falling to a low at trade 30, rising to a
high at trade 120, falling after) with no fees its PnL is ``size * (p[exit] -
p[enter])``: the best params are exactly ``enter=30, exit=120``. bot.yaml names
it by this file's path, so Dask workers load it as any strategy file.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from botkit import OrderType, Place, Side, hookimpl

HERE = Path(__file__).resolve().parent
DAY_NS = 86_400 * 10**9
START_NS = 1_709_510_400 * 10**9  # 2024-03-04T00:00:00Z


class ToyParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str
    enter: int = Field(0, ge=0, description="trade number to buy on")
    exit: int = Field(100, gt=0, description="trade number to sell on")
    size: Decimal = Field(Decimal("1"), gt=0)

    @model_validator(mode="after")
    def _exit_after_enter(self) -> ToyParams:
        if self.exit <= self.enter:
            raise ValueError(f"exit ({self.exit}) must come after enter ({self.enter})")
        return self


class Toy:
    """Buys on trade number ``enter``, sells on trade number ``exit`` (a test strategy)."""

    Params = ToyParams

    def __init__(self, params: dict[str, Any]) -> None:
        self.p = ToyParams.model_validate(params)
        self.n = -1

    @hookimpl
    def on_trade(self, ctx: Any, trade: Any) -> list[Place] | None:
        self.n += 1
        sym = self.p.symbol
        if self.n == self.p.enter:
            return [Place(sym, Side.BUY, self.p.size, type=OrderType.MARKET)]
        if self.n == self.p.exit and ctx.position(sym) > 0:
            return [Place(sym, Side.SELL, ctx.position(sym), type=OrderType.MARKET)]
        return None


def toy_prices(n: int = 200) -> np.ndarray:
    i = np.arange(n, dtype=np.float64)
    p = np.where(
        i <= 30,
        100.0 - i / 3.0,
        np.where(i <= 120, 90.0 + (i - 30.0) * 60.0 / 90.0, 150.0 - (i - 120.0) * 0.5),
    )
    return np.round(p, 2)


def random_walk(n: int, seed: int = 7, start: float = 60_000.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 4.0, n) + 0.6 * np.sin(np.arange(n) / 900.0)
    return np.round(start + np.cumsum(steps), 2)


def write_trades(
    root: Path, prices: np.ndarray, every_ns: int, start_ns: int = START_NS, seed: int = 1
) -> Path:
    """``prices`` as sim BTC/USDT trades, one every ``every_ns``, into the catalog ``root``."""
    from botkit.backtest.catalog import Catalog

    rng = np.random.default_rng(seed)
    n = len(prices)
    Catalog(root).write(
        "sim",
        "BTC/USDT",
        "trades",
        {
            "ts_ns": start_ns + np.arange(n, dtype=np.int64) * every_ns,
            "price": prices.astype(np.float64),
            "size": np.round(rng.uniform(0.001, 0.5, n), 3),
            "side": rng.integers(1, 3, n).astype(np.int8),
            "trade_id": np.arange(1, n + 1, dtype=np.int64),
        },
    )
    return root


INSTRUMENT = """instruments:
  - symbol: BTC/USDT
    base: BTC
    quote: USDT
    tick_size: "0.01"
    lot_size: "0.001"
    maker_fee: "{fee}"
    taker_fee: "{fee}"
"""


def bot_yaml(
    folder: Path,
    strategies: str,
    *,
    catalog: str = "data",
    fee: str = "0",
    extra: str = "",
) -> Path:
    """A backtest bot.yaml in ``folder`` replaying trades only, with ``strategies`` (YAML)."""
    text = (
        "mode: backtest\nlog_level: error\n"
        + INSTRUMENT.format(fee=fee)
        + 'account:\n  balances: {USDT: "1000000", BTC: "0"}\n'
        + "strategies:\n"
        + strategies
        + f"data:\n  catalog: {catalog}\n  kinds: [trades]\n"
        + "output:\n  progress: off\n"
        + extra
    )
    path = folder / "bot.yaml"
    path.write_text(text, encoding="utf-8")
    return path


EMA = """  - name: trend
    use: ema_cross
    params: {symbol: BTC/USDT, fast: 10, slow: 50, size: "0.05"}
"""

TOY = f"""  - name: toy
    use: {HERE / "sweep_support.py"}:Toy
    params: {{symbol: BTC/USDT, enter: 0, exit: 100}}
"""


class OtherLoad:
    """How many cores processes other than this one and its children (the Dask workers)
    kept busy meanwhile: ``with OtherLoad() as other: ...; other.cores``."""

    def __enter__(self) -> OtherLoad:
        self._start = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        total, ours, t = self._sample()
        total0, ours0, t0 = self._start
        self.cores = max(0.0, (total - total0) - (ours - ours0)) / max(t - t0, 1e-9)

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        import time

        import psutil

        c = psutil.cpu_times()
        total = c.user + c.system + c.nice + c.irq + c.softirq + getattr(c, "steal", 0.0)
        me = psutil.Process()
        ours = 0.0
        for p in [me, *me.children(recursive=True)]:
            try:
                t = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            ours += t.user + t.system
        return total, ours, time.monotonic()
