"""Where a backtest's equity change comes from: the strategies, or the starting holdings.

An account that starts with 2 BTC gains when BTC rises whether or not any
strategy trades. Reporting only the equity change credits the strategies with
that drift, so the change is split in two, all in the quote asset:

- **Strategy PnL**, per strategy and in total: realised PnL net of fees plus the
  unrealised PnL of the strategy's own open positions, marked at the last trade
  price. Realised PnL is average-cost (``Position.apply``) and *gross* of fees;
  fees paid in the quote asset are subtracted as they are, fees paid in another
  asset are valued at that asset's last trade price.
- **Holdings drift**: the starting balances revalued, ``amount x (last price -
  price when the starting equity was taken)`` for every asset but the quote.

The total is computed from cash flows (sale proceeds - purchase costs - fees +
open size x mark), which is exact in ``Decimal``; the average entry price behind
the realised figure is a rounded quotient, so unrealised PnL is taken as total -
realised net, and the three always add up.

``equity change = strategy PnL + holdings drift``: the account's value moves
only by trading and by prices. ``unexplained`` is what is left over; it is 0
unless something the split does not model happened (a fill before the first
equity sample, a balance in an asset that has no price in the quote asset).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from botkit.backtest.result import BacktestResult
from botkit.model import ZERO, Instrument, Side


@dataclass(frozen=True, slots=True)
class StrategyPnL:
    realized_gross: Decimal
    fees: Decimal  # every fee of the strategy, in the quote asset
    total: Decimal | None  # None when an open position has no price
    unvalued_fees: dict[str, Decimal] = field(default_factory=dict)

    @property
    def realized_net(self) -> Decimal:
        return self.realized_gross - self.fees

    @property
    def unrealized(self) -> Decimal | None:
        return None if self.total is None else self.total - self.realized_net


@dataclass(frozen=True, slots=True)
class Holding:
    asset: str
    amount: Decimal
    symbol: str | None  # the instrument that prices it; None: no price in the quote asset
    start_price: Decimal | None
    end_price: Decimal | None

    @property
    def drift(self) -> Decimal | None:
        if self.start_price is None or self.end_price is None:
            return None
        return self.amount * (self.end_price - self.start_price)


@dataclass(frozen=True, slots=True)
class Attribution:
    per_strategy: dict[str, StrategyPnL]
    holdings: list[Holding]
    equity_change: Decimal

    @property
    def strategy_pnl(self) -> Decimal:
        return sum((p.total or ZERO for p in self.per_strategy.values()), ZERO)

    @property
    def holdings_drift(self) -> Decimal:
        return sum((h.drift or ZERO for h in self.holdings), ZERO)

    @property
    def unexplained(self) -> Decimal:
        return self.equity_change - self.strategy_pnl - self.holdings_drift


def pricing_symbols(instruments: Mapping[str, Instrument], quote: str) -> dict[str, str]:
    """The symbol whose last price values each asset in ``quote``: the first instrument
    with that base quoted in ``quote``, as the engine marks equity."""
    out: dict[str, str] = {}
    for sym, inst in instruments.items():
        if inst.quote == quote and inst.base != quote:
            out.setdefault(inst.base, sym)
    return out


def attribute(result: BacktestResult, strategies: list[str]) -> Attribution:
    """Split ``result``'s equity change into strategy PnL and holdings drift (module doc)."""
    quote = result.quote_asset
    priced_by = pricing_symbols(result.instruments, quote)

    def price_of(asset: str, marks: Mapping[str, Decimal]) -> Decimal | None:
        sym = priced_by.get(asset)
        return None if sym is None else marks.get(sym)

    realized: dict[str, Decimal] = defaultdict(lambda: ZERO)
    value: dict[str, Decimal | None] = defaultdict(lambda: ZERO)  # open positions at the marks
    for (strategy, symbol), pos in result.positions.items():
        realized[strategy] += pos.realized_pnl
        if not pos.size:
            continue
        mark = result.marks.get(symbol)
        current = value[strategy]
        value[strategy] = None if mark is None or current is None else current + pos.size * mark
    cash: dict[str, Decimal] = defaultdict(lambda: ZERO)
    fees: dict[str, Decimal] = defaultdict(lambda: ZERO)
    unvalued: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for f in result.fills:
        notional = f.price * f.size
        cash[f.strategy] += notional if f.side is Side.SELL else -notional
        if f.fee_asset in ("", quote):
            fees[f.strategy] += f.fee
            continue
        price = price_of(f.fee_asset, result.marks)
        if price is None:
            bucket = unvalued[f.strategy]
            bucket[f.fee_asset] = bucket.get(f.fee_asset, ZERO) + f.fee
        else:
            fees[f.strategy] += f.fee * price
    per = {}
    for name in strategies:
        held = value[name]
        total = None if held is None else cash[name] + held - fees[name]
        per[name] = StrategyPnL(realized[name], fees[name], total, dict(unvalued[name]))
    holdings = [
        Holding(
            asset,
            amount,
            priced_by.get(asset),
            price_of(asset, result.initial_marks),
            price_of(asset, result.marks),
        )
        for asset, amount in sorted(result.initial_balances.items())
        if asset != quote and amount
    ]
    return Attribution(per, holdings, result.final_equity - result.initial_equity)


__all__ = ["Attribution", "Holding", "StrategyPnL", "attribute", "pricing_symbols"]
