"""Small files in the layouts the importers read, written by tests into tmp_path.

No real Tardis or data.binance.vision file is on disk, so these follow the
layouts as their providers document them:

- Tardis (docs.tardis.dev, "Downloadable CSV files"): a header line, times in µs.
- data.binance.vision (binance/binance-public-data README): spot files have no
  header line, USD-M files have one; spot times are µs from 2025 on.
"""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

T0 = 1_704_067_200  # 2024-01-01 00:00:00 UTC, in seconds
T2025 = 1_735_689_600  # 2025-01-01 00:00:00 UTC

TARDIS_TRADES_HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
TARDIS_BOOK_HEADER = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
BINANCE_TRADES_USDM_HEADER = "id,price,qty,quote_qty,time,is_buyer_maker"
BINANCE_AGG_USDM_HEADER = (
    "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker"
)
BINANCE_KLINES_HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
    "taker_buy_quote_volume,ignore"
)


def save(path: Path, lines: list[str]) -> Path:
    """Write lines to ``path``: gzipped for ``.gz``, as a one-file archive for ``.zip``."""
    text = "".join(line + "\n" for line in lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    elif path.name.endswith(".zip"):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            member = path.name.removesuffix(".zip")
            zf.writestr(member if "." in member else member + ".csv", text)
    else:
        path.write_text(text)
    return path


def price(i: int) -> str:
    """A wandering price on a 0.01 grid, as text."""
    return f"{42000 + (i * 37) % 100 * 0.01 + (i % 5) * 0.5:.2f}"


def size(i: int) -> str:
    """A size on a 0.001 grid (never 0)."""
    return f"{0.001 * (1 + i % 7):.3f}"


# ---- data.binance.vision -------------------------------------------------------------


def binance_trades(n: int, market: str = "spot", t0_s: int = T0, first_id: int = 1000) -> list[str]:
    """``trades``: spot id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch (µs from 2025);
    usdm id,price,qty,quote_qty,time,is_buyer_maker with a header. Ids from ``first_id``."""
    micro = market == "spot" and t0_s >= T2025
    rows = [] if market == "spot" else [BINANCE_TRADES_USDM_HEADER]
    for i in range(n):
        t = (t0_s * 1000 + i * 250) * (1000 if micro else 1)
        p, q = price(i), size(i)
        quote = f"{float(p) * float(q):.8f}"
        if market == "spot":
            rows.append(f"{first_id + i},{p},{q},{quote},{t},{'True' if i % 3 else 'False'},True")
        else:
            rows.append(f"{first_id + i},{p},{q},{quote},{t},{'true' if i % 3 else 'false'}")
    return rows


def binance_aggtrades(n: int, market: str = "spot", t0_s: int = T0) -> list[str]:
    micro = market == "spot" and t0_s >= T2025
    rows = [] if market == "spot" else [BINANCE_AGG_USDM_HEADER]
    for i in range(n):
        t = (t0_s * 1000 + i * 250) * (1000 if micro else 1)
        first = 5000 + 2 * i
        maker = i % 3 != 0
        if market == "spot":
            rows.append(f"{700 + i},{price(i)},{size(i)},{first},{first + 1},{t},{maker},True")
        else:
            rows.append(
                f"{700 + i},{price(i)},{size(i)},{first},{first + 1},{t},{str(maker).lower()}"
            )
    return rows


def binance_klines(n: int, market: str = "spot", t0_s: int = T0, minutes: int = 1) -> list[str]:
    micro = market == "spot" and t0_s >= T2025
    unit = 1_000_000 if micro else 1000
    rows = [] if market == "spot" else [BINANCE_KLINES_HEADER]
    for i in range(n):
        open_t = (t0_s + i * 60 * minutes) * unit
        close_t = open_t + 60 * minutes * unit - 1
        o, c = float(price(i)), float(price(i + 1))
        hi, lo = max(o, c) + 1.5, min(o, c) - 1.5
        rows.append(
            f"{open_t},{o:.2f},{hi:.2f},{lo:.2f},{c:.2f},{1.25 + i:.5f},{close_t},"
            f"{(1.25 + i) * c:.8f},{10 + i},0.5,{0.5 * c:.8f},0"
        )
    return rows


# ---- Tardis --------------------------------------------------------------------------


def tardis_trades(
    n: int, symbol: str = "BTCUSDT", exchange: str = "binance-futures", t0_s: int = T0
) -> list[str]:
    """``exchange,symbol,timestamp,local_timestamp,id,side,price,amount`` (µs); the
    receive time is 3 ms after the exchange's."""
    rows = [TARDIS_TRADES_HEADER]
    for i in range(n):
        ts = t0_s * 1_000_000 + i * 100_000
        side = ("buy", "sell", "unknown")[i % 3]
        rows.append(f"{exchange},{symbol},{ts},{ts + 3000},{9000 + i},{side},{price(i)},{size(i)}")
    return rows


def tardis_book(
    symbol: str = "BTCUSDT", exchange: str = "binance-futures", t0_s: int = T0
) -> list[str]:
    """A snapshot of 3 levels a side, three update messages, then a second snapshot."""
    us = t0_s * 1_000_000
    rows = [TARDIS_BOOK_HEADER]

    def row(dt_ms: int, snap: bool, side: str, p: str, q: str) -> str:
        ts = us + dt_ms * 1000
        return f"{exchange},{symbol},{ts},{ts + 2000},{str(snap).lower()},{side},{p},{q}"

    for p, q in (("100.0", "1"), ("99.5", "2"), ("99.0", "3")):
        rows.append(row(0, True, "bid", p, q))
    for p, q in (("100.5", "1.5"), ("101.0", "2.5"), ("101.5", "3.5")):
        rows.append(row(0, True, "ask", p, q))
    rows += [
        row(10, False, "bid", "100.0", "0"),  # the best bid leaves
        row(10, False, "bid", "99.5", "4"),
        row(20, False, "ask", "100.5", "0.5"),
        row(30, False, "ask", "100.0", "1"),  # a new best ask
    ]
    for p, q in (("98.0", "1"), ("97.5", "1")):
        rows.append(row(40, True, "bid", p, q))
    rows.append(row(40, True, "ask", "98.5", "2"))
    rows.append(row(50, False, "bid", "98.0", "0.25"))
    return rows


# ---- OHLCV CSV and Bybit ---------------------------------------------------------------


def ohlcv_csv(n: int, t0_s: int = T0) -> list[str]:
    """``timestamp,open,high,low,close,volume``: naive UTC datetimes, bar open times."""
    from datetime import UTC, datetime

    rows = ["timestamp,open,high,low,close,volume"]
    for i in range(n):
        t = datetime.fromtimestamp(t0_s + 60 * i, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        o, c = float(price(i)), float(price(i + 1))
        rows.append(f"{t},{o},{max(o, c) + 2},{min(o, c) - 2},{c},{10.5 + i}")
    return rows


def bybit_lines(n_deltas: int, symbol: str = "XRPUSDT", t0_ms: int = T0 * 1000) -> list[str]:
    """A Bybit ob500 snapshot and ``n_deltas`` deltas, one JSON message a line."""

    def msg(kind: str, i: int, bids: list[list[str]], asks: list[list[str]]) -> str:
        data = {"s": symbol, "b": bids, "a": asks, "u": 100 + i, "seq": 7000 + 3 * i}
        ts = t0_ms + 100 * i
        return json.dumps(
            {
                "topic": f"orderbook.500.{symbol}",
                "type": kind,
                "ts": ts,
                "data": data,
                "cts": ts - 2,
            }
        )

    lines = [msg("snapshot", 0, [["1.9531", "100"], ["1.9530", "50"]], [["1.9532", "70"]])]
    for i in range(1, n_deltas + 1):
        bid = f"{1.9525 + 0.0001 * (i % 5):.4f}"
        ask = f"{1.9533 + 0.0001 * (i % 3):.4f}"
        lines.append(msg("delta", i, [[bid, str(10 * i)]], [[ask, str(5 + i)]]))
    return lines
