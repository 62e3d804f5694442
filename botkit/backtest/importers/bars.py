"""Bars (candles) from any format: checked row by row, stamped at their close.

The catalog stamps a bar at its **close** time (``ts_ns`` = open + interval).
Formats give the open time (freqtrade, Binance klines, most CSVs) or the close
time (``time_is="close"``); :class:`BarRows` takes either and converts once the
interval is known. A row is skipped (and reported by line) when a price is not
a finite number > 0, the volume is not a finite number >= 0, the high and low
do not contain the open and close, or its time is not after the row before.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa

from botkit.backtest.catalog import bars_kind
from botkit.backtest.importers.common import (
    SECOND,
    Clock,
    Columns,
    ImportResult,
    RowError,
    non_negative,
    positive,
)

_UNIT_NS = {"s": SECOND, "m": 60 * SECOND, "h": 3600 * SECOND, "d": 86_400 * SECOND}
_UNIT_NS["w"] = 7 * _UNIT_NS["d"]


def parse_interval(text: str) -> int:
    """``1m``, ``5m``, ``1h``, ``1d``, ``1w`` -> nanoseconds."""
    m = re.fullmatch(r"(\d+)([smhdw])", text.strip())
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"unsupported interval {text!r}: use e.g. 1m, 5m, 1h, 1d")
    return int(m.group(1)) * _UNIT_NS[m.group(2)]


def interval_in_name(name: str) -> int | None:
    """The bar length a file name states: ``BTC_USDT-1h.json``, ``BTCUSDT-1m-2024-01.zip``,
    ``btc-perp-20211231-20220201_1m.csv``; None when it states none."""
    m = re.search(r"(?:^|[-_])(\d+[smhdw])(?=[-_.])", name)
    return parse_interval(m.group(1)) if m else None


def common_step_ns(times_ns: np.ndarray) -> int:
    """The most common step between sorted bar times."""
    steps = np.diff(np.unique(times_ns))
    if len(steps) == 0:
        raise ValueError("cannot infer the bar interval from one bar: pass --interval")
    values, counts = np.unique(steps, return_counts=True)
    return int(values[np.argmax(counts)])


class BarRows:
    """Bars as they are read; :meth:`finish` makes the catalog table."""

    def __init__(self, result: ImportResult, what: str = "time") -> None:
        self.result = result
        self.cols = Columns(t="q", open="d", high="d", low="d", close="d", volume="d")
        self.clock = Clock(what, strict=True)

    def add(self, t_ns: int, o: object, h: object, lo: object, c: object, v: object) -> None:
        """Check one bar (raises RowError) and keep it. ``t_ns`` is its open or close time."""
        self.clock.check(t_ns)
        op, hi, low, cl = (
            positive(o, "open"),
            positive(h, "high"),
            positive(lo, "low"),
            positive(c, "close"),
        )
        vol = non_negative(v, "volume")
        if hi < max(op, cl) or low > min(op, cl):
            raise RowError(
                "bad_value", f"high/low {hi!r}/{low!r} do not contain open/close {op!r}/{cl!r}"
            )
        self.clock.accept(t_ns)
        self.cols.add(t=t_ns, open=op, high=hi, low=low, close=cl, volume=vol)

    def __len__(self) -> int:
        return len(self.cols)

    def finish(
        self,
        interval_ns: int | None,
        time_is: str = "open",
        volume_in: str = "base",
    ) -> tuple[str, pa.Table]:
        """(kind, table) with ts_ns at each bar's close. ``interval_ns`` None: the most common
        step. ``volume_in="quote"`` converts the volume to the base asset at the bar's typical
        price (high + low + close) / 3 and says so."""
        t = self.cols.numpy("t")
        if interval_ns is None:
            interval_ns = common_step_ns(t)
            self.result.said.append(
                f"bar interval {bars_kind(interval_ns)[5:]} inferred from the most common step "
                "between bars; pass --interval to set it"
            )
        if time_is not in ("open", "close"):
            raise ValueError(f"time_is must be 'open' or 'close', got {time_is!r}")
        ts_ns = t + interval_ns if time_is == "open" else t
        volume = self.cols.numpy("volume")
        if volume_in == "quote":
            typical = self.cols.numpy("high") + self.cols.numpy("low") + self.cols.numpy("close")
            volume = volume / (typical / 3.0)
            self.result.said.append(
                "volume was in the quote asset: converted to the base asset at each bar's "
                "typical price (high + low + close) / 3, an estimate (the file has no base volume)"
            )
        elif volume_in != "base":
            raise ValueError(f"volume_in must be 'base' or 'quote', got {volume_in!r}")
        self.result.notes["gaps"] = int(np.count_nonzero(np.diff(t) != interval_ns))
        off_grid = int(np.count_nonzero(ts_ns % min(interval_ns, 86_400 * SECOND)))
        if off_grid and interval_ns < 86_400 * SECOND:
            self.result.notes["bars_off_interval_grid"] = off_grid
        table = pa.table(
            {
                "ts_ns": ts_ns,
                "open": self.cols.numpy("open"),
                "high": self.cols.numpy("high"),
                "low": self.cols.numpy("low"),
                "close": self.cols.numpy("close"),
                "volume": volume,
            }
        )
        return bars_kind(interval_ns), table

    def prices(self) -> np.ndarray:
        return np.concatenate([self.cols.numpy(c) for c in ("open", "high", "low", "close")])


__all__ = ["BarRows", "common_step_ns", "interval_in_name", "parse_interval"]
