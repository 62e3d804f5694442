"""Where a backtest's equity change comes from: the strategies, or the starting holdings.

An account that starts with 2 BTC gains when BTC rises whether or not any
strategy trades. Reporting only the equity change credits the strategies with
that drift, so the change is split in two, all in the quote asset:

- **Strategy PnL**, per strategy and in total: realised PnL net of fees plus the
  unrealised PnL of the strategy's own open positions, marked at the last trade
  price, less the funding its perpetual positions paid. Realised PnL is
  average-cost (``Position.apply``; harmonic for inverse contracts,
  ``botkit.margin``) and *gross* of fees; fees paid in the quote asset are
  subtracted as they are, fees paid in another asset are valued at that asset's
  last trade price. An inverse contract's PnL is in its base asset and is
  valued the same way.
- **Holdings drift**: the starting balances revalued, ``amount x (last price -
  price when the starting equity was taken)`` for every asset but the quote.

The total is computed from cash flows (sale proceeds - purchase costs - fees +
open size x mark), which is exact in ``Decimal``; the average entry price behind
the realised figure is a rounded quotient, so unrealised PnL is taken as total -
realised net, and the three always add up.

``equity change = strategy PnL + holdings drift + absorbed``: the account's
value moves only by trading and by prices, and by the part of a liquidation's
loss beyond the wallet, which the venue did not charge (``absorbed``).
``unexplained`` is what is left over; it is 0 unless something the split does
not model happened (a fill before the first equity sample, a balance in an
asset that has no price in the quote asset).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from botkit.backtest.result import BacktestResult
from botkit.model import ZERO, Fill, Instrument, Side


@dataclass(frozen=True, slots=True)
class StrategyPnL:
    realized_gross: Decimal
    fees: Decimal  # every fee of the strategy, in the quote asset
    total: Decimal | None  # None when an open position has no price
    unvalued_fees: dict[str, Decimal] = field(default_factory=dict)
    funding: Decimal = ZERO  # paid by its perpetual positions (< 0: received), in quote

    @property
    def realized_net(self) -> Decimal:
        return self.realized_gross - self.fees - self.funding

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
    absorbed: Decimal = ZERO  # liquidation losses beyond the wallet, not charged (quote)

    @property
    def strategy_pnl(self) -> Decimal:
        return sum((p.total or ZERO for p in self.per_strategy.values()), ZERO)

    @property
    def holdings_drift(self) -> Decimal:
        return sum((h.drift or ZERO for h in self.holdings), ZERO)

    @property
    def unexplained(self) -> Decimal:
        return self.equity_change - self.strategy_pnl - self.holdings_drift - self.absorbed


def pricing_symbols(instruments: Mapping[str, Instrument], quote: str) -> dict[str, str]:
    """The symbol whose last price values each asset in ``quote``: the first instrument
    with that base quoted in ``quote``, as the engine marks equity."""
    out: dict[str, str] = {}
    for sym, inst in instruments.items():
        if inst.quote == quote and inst.base != quote:
            out.setdefault(inst.base, sym)
    return out


class FillFlows:
    """What :func:`attribute` needs of the fills, summed one fill at a time (in the
    order given) so that a report can feed it from a pass that serves other totals too:
    each strategy's cash flow, fees valued in the quote asset, and the fees it could
    not value, by asset."""

    def __init__(self, result: BacktestResult) -> None:
        self.quote = quote = result.quote_asset
        self.priced_by = pricing_symbols(result.instruments, quote)
        self.marks = result.marks
        self.instruments = result.instruments
        self.cash: dict[str, Decimal | None] = defaultdict(lambda: ZERO)
        self.fees: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.unvalued: dict[str, dict[str, Decimal]] = defaultdict(dict)

    def price_of(self, asset: str, marks: Mapping[str, Decimal]) -> Decimal | None:
        sym = self.priced_by.get(asset)
        return None if sym is None else marks.get(sym)

    def in_quote(self, asset: str, amount: Decimal) -> Decimal | None:
        if asset in ("", self.quote) or not amount:
            return amount
        price = self.price_of(asset, self.marks)
        return None if price is None else amount * price

    def inverse_asset(self, symbol: str) -> str | None:
        inst = self.instruments.get(symbol)
        return inst.value_asset if inst is not None and inst.is_inverse else None

    def add(self, f: Fill) -> None:
        inv = self.inverse_asset(f.symbol)
        if inv is None:
            notional: Decimal | None = f.price * f.size
            flow = notional if f.side is Side.SELL else -notional  # type: ignore[operator]
        else:  # buying contracts takes in size / price of the base asset
            amount = f.size / f.price
            flow = self.in_quote(inv, -amount if f.side is Side.SELL else amount)
        cash = self.cash
        c = cash[f.strategy]
        cash[f.strategy] = None if c is None or flow is None else c + flow
        if f.fee_asset in ("", self.quote):
            self.fees[f.strategy] += f.fee
            return
        price = self.price_of(f.fee_asset, self.marks)
        if price is None:
            bucket = self.unvalued[f.strategy]
            bucket[f.fee_asset] = bucket.get(f.fee_asset, ZERO) + f.fee
        else:
            self.fees[f.strategy] += f.fee * price


def attribute(
    result: BacktestResult, strategies: list[str], flows: FillFlows | None = None
) -> Attribution:
    """Split ``result``'s equity change into strategy PnL and holdings drift (module doc).

    ``flows``: the fills already summed (all of them, in the order ``result.fills``
    lists them), else they are read here."""
    if flows is None:
        flows = FillFlows(result)
        # The fills only count for the strategies asked about: with none, skip the pass
        # (a long run's fills are read back from disk, botkit.backtest.spill).
        for f in result.fills if strategies else ():
            flows.add(f)
    quote = flows.quote
    priced_by = flows.priced_by
    price_of = flows.price_of
    insts = result.instruments
    in_quote = flows.in_quote
    inverse_asset = flows.inverse_asset

    realized: dict[str, Decimal | None] = defaultdict(lambda: ZERO)
    value: dict[str, Decimal | None] = defaultdict(lambda: ZERO)  # open positions at the marks
    for (strategy, symbol), pos in result.positions.items():
        inv = inverse_asset(symbol)
        gross = pos.realized_pnl if inv is None else in_quote(inv, pos.realized_pnl)
        current_r = realized[strategy]
        realized[strategy] = None if gross is None or current_r is None else current_r + gross
        if not pos.size:
            continue
        mark = result.marks.get(symbol)
        current = value[strategy]
        if mark is None or current is None:
            value[strategy] = None
        elif inv is None:
            value[strategy] = current + pos.size * mark
        else:  # an inverse position is worth -size / mark of its base asset
            worth = in_quote(inv, -pos.size / mark)
            value[strategy] = None if worth is None else current + worth
    cash, fees, unvalued = flows.cash, flows.fees, flows.unvalued
    funding: dict[str, Decimal | None] = defaultdict(lambda: ZERO)
    for (strategy, symbol), paid in result.funding.items():
        inst = insts.get(symbol)
        valued = in_quote(inst.value_asset if inst is not None else quote, paid)
        current_f = funding[strategy]
        funding[strategy] = None if valued is None or current_f is None else current_f + valued
    open_by = {s for (s, _), pos in result.positions.items() if pos.size}
    per = {}
    for name in strategies:
        held, flows, paid_f, gross_r = value[name], cash[name], funding[name], realized[name]
        known = None not in (held, flows, paid_f, gross_r)
        total = flows + held - fees[name] - paid_f if known else None  # type: ignore[operator]
        if total is not None and name not in open_by:
            # Flat: everything is realised, and the cash flows say how much exactly (the
            # average entry behind Position.realized_pnl is a rounded quotient).
            gross_r = total + fees[name] + paid_f  # type: ignore[operator]
        per[name] = StrategyPnL(
            gross_r if gross_r is not None else ZERO,
            fees[name],
            total,
            dict(unvalued[name]),
            paid_f if paid_f is not None else ZERO,
        )
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
    absorbed = sum(
        (in_quote(asset, amount) or ZERO for asset, amount in result.absorbed.items()), ZERO
    )
    return Attribution(per, holdings, result.final_equity - result.initial_equity, absorbed)


__all__ = ["Attribution", "FillFlows", "Holding", "StrategyPnL", "attribute", "pricing_symbols"]
