"""What a backtest run hands to the report writer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from botkit.model import Fill, Instrument, Order, Position


@dataclass
class BacktestResult:
    """Everything a report needs, in exact numbers.

    ``equity`` is sampled on the event clock (``output.equity_interval``) and at
    the last event: (ts_ns, account equity in ``quote_asset``, marked at the
    last trade price). ``positions`` are per (strategy, symbol); ``marks`` the
    last trade price per symbol. ``hook_errors`` counts the exceptions strategy
    hooks raised, by ``"<strategy>.<hook>"``; ``partial`` is set when the run was
    interrupted before the end of the data; ``warnings`` are what the run warned of.

    ``initial_balances`` are the account's starting balances; ``initial_marks``
    the last trade price per symbol when ``initial_equity`` was taken (the first
    equity sample); ``prices`` the last trade price per symbol at every equity
    sample (floats, as market data is: for charts and the benchmark line);
    ``instruments`` give the assets' precision for the printed report.

    Derivatives (``botkit.margin``): ``funding`` is what each (strategy, symbol)
    paid in funding (< 0: received), in the settlement asset; ``liquidations``
    the (ts, symbol, price) of each liquidation (its fills are in ``fills``, with
    the client id ``liquidation``); ``absorbed`` the losses beyond the wallet
    the venue did not charge, by asset.

    A backtest's ``fills`` and ``orders`` are spill logs, read back from disk as
    they are iterated (``botkit.backtest.spill``): iterate them rather than copy
    them into lists; ``botkit.backtest.spill.in_time_order`` and
    ``orders_in_order`` sort them without holding them all.
    """

    strategies: list[str]
    quote_asset: str
    initial_equity: Decimal
    final_equity: Decimal
    start_ns: int
    end_ns: int
    events: int
    wall_s: float
    fills: Sequence[Fill] = field(default_factory=list)
    orders: Sequence[Order] = field(default_factory=list)
    rejects: Counter[str] = field(default_factory=Counter)
    equity: list[tuple[int, Decimal]] = field(default_factory=list)
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    marks: dict[str, Decimal] = field(default_factory=dict)
    balances: dict[str, Decimal] = field(default_factory=dict)
    hook_errors: dict[str, int] = field(default_factory=dict)
    initial_balances: dict[str, Decimal] = field(default_factory=dict)
    initial_marks: dict[str, Decimal] = field(default_factory=dict)
    prices: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    instruments: dict[str, Instrument] = field(default_factory=dict)
    partial: bool = False
    warnings: list[str] = field(default_factory=list)
    funding: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    liquidations: list[tuple[int, str, Decimal]] = field(default_factory=list)
    absorbed: dict[str, Decimal] = field(default_factory=dict)
