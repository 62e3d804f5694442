"""The derivatives account rules: positions settle into a wallet, margin, funding, liquidation.

Like ``botkit.account`` for spot, these rules are applied in three places that
must agree: the risk module (before an order is sent), the router (its view of
the account, which strategies read) and the simulated venue (the account of
record in backtest and paper). Perpetuals and futures (``kind: perpetual``,
``future``, ``inverse_perpetual``, ``inverse_future``) follow them; spot does not.

**Wallet.** A derivative settles in one asset, its ``value_asset``: the quote for
a linear contract (USDT for BTC/USDT), the base for an inverse one (BTC for
BTC/USD, whose sizes are contracts of one USD each). A fill moves no base or
quote: it changes the position, and the PnL it realises and its fee go into the
wallet, the balance of the settlement asset. Funding goes there too.

**PnL.** A linear position of ``q`` (signed, base units) entered at ``e`` is worth
``q x (mark - e)``; an inverse one of ``q`` contracts ``q x (1/e - 1/mark)`` in the
base asset. An inverse position's average entry is the contract-weighted
harmonic mean of its fill prices, which is what makes that formula hold when a
position is built from several fills.

**Margin** (cross: one pool per settlement asset). A position's value at the mark
is ``|q| x mark`` (linear) or ``|q| / mark`` (inverse). It holds initial margin
``value / leverage`` and needs maintenance margin ``value x maintenance_margin``.
The leverage is the account's setting for the symbol (``account.leverage``),
capped by the instrument's ``max_leverage``. An order holds initial margin for
the part of it that does not close the strategy's own position, at its price
(a market order at the reference price plus the slippage allowance, as a spot
buy is locked), plus the worse of the two fee rates on its whole value.
That is reserved when it is placed, as a spot order locks its balance, and
released as it fills or closes. The **available** balance, what a new order's
margin must fit in, is ``wallet + unrealised PnL - position margin - order
margin``; an order that does not fit is refused ``insufficient_margin``.

**Liquidation.** When ``wallet + unrealised PnL`` falls to the maintenance margin
of the positions settled in that asset, every one of them is closed at once by
the venue: the position that moved at the price where the equality holds (its
*liquidation price*; at the trade's price if the market gapped through it), the
others at their marks, each charged the taker fee. Open orders on those
symbols are cancelled. A loss beyond the wallet (a gap) is not charged to the
account: the wallet stops at zero, as an exchange's insurance fund takes the
rest. For one position alone the liquidation price of a long is
``e x (1 - W/(q e)) / (1 - m)`` (linear; ``W`` the wallet, ``m`` the maintenance
rate), i.e. ``e x (1 - 1/L) / (1 - m)`` when the wallet is exactly the initial
margin at leverage ``L``.

**Funding** (perpetuals only). At each funding time (every ``funding_interval``
from midnight UTC; 8 h by default: 00:00, 08:00, 16:00) a position pays
``q x mark x rate`` (linear) or ``q / mark x rate`` (inverse) in the settlement
asset: longs pay shorts when the rate is positive. Where the catalog records a
symbol's funding (kind ``funding``), it is paid at the recorded times and rates
instead of on the grid at ``sim.funding_rate``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal

from botkit.model import ZERO, Instrument, Position, Side

ONE = Decimal(1)
DEFAULT_MAINTENANCE = Decimal("0.005")
_BUY = Side.BUY
_NEW = tuple.__new__
# A long whose account is under water at any price: liquidated at the next mark.
_NOW_LONG = Decimal("Infinity")


def is_derivative(inst: Instrument) -> bool:
    return inst.kind != "spot"


def is_perpetual(inst: Instrument) -> bool:
    return inst.kind.endswith("perpetual")


def maintenance_rate(inst: Instrument) -> Decimal:
    m = inst.maintenance_margin
    return DEFAULT_MAINTENANCE if m is None else m


def leverage_for(inst: Instrument, setting: Mapping[str, Decimal] | Decimal | None) -> Decimal:
    """The leverage a symbol trades at: the account's setting, capped by the instrument."""
    if isinstance(setting, Mapping):
        lev = setting.get(inst.symbol, setting.get("*", ONE))
    else:
        lev = ONE if setting is None else setting
    cap = inst.max_leverage
    return cap if cap is not None and lev > cap else lev


def unrealized(inst: Instrument, size: Decimal, entry: Decimal, mark: Decimal) -> Decimal:
    """A position's PnL at ``mark``, in the settlement asset (module doc)."""
    if not size:
        return ZERO
    if inst.kind.startswith("inverse_"):
        return size * (ONE / entry - ONE / mark)
    return size * (mark - entry)


def apply_fill(
    inst: Instrument, pos: Position, side: Side, price: Decimal, size: Decimal
) -> Position:
    """The position after one fill, its realised PnL in the settlement asset.

    Linear contracts and spot use ``Position.apply`` (arithmetic average entry).
    An inverse position of ``q`` contracts is, in the reciprocal price ``1/p``, a
    linear position of ``-q``: its PnL ``q (1/e - 1/p)`` is ``-q (1/p - 1/e)``, and
    the arithmetic mean of ``1/p`` is the harmonic mean of ``p``. So it is applied
    there, and its entry given back as a price.
    """
    if not inst.kind.startswith("inverse_"):
        return pos.apply(side, price, size)
    sym, q, entry, pnl = pos
    flipped = _NEW(Position, (sym, ZERO - q, ONE / entry if q else ZERO, pnl))
    _, nq, nx, npnl = flipped.apply(side.opposite, ONE / price, size)
    return _NEW(Position, (sym, ZERO - nq, ONE / nx if nq else ZERO, npnl))


def fee_rate(inst: Instrument) -> Decimal:
    rate = inst.maker_fee if inst.maker_fee > inst.taker_fee else inst.taker_fee
    return rate if rate > 0 else ZERO


def order_margin_rate(inst: Instrument, price: Decimal, leverage: Decimal) -> Decimal:
    """What one unit of an order's size holds at ``price``: initial margin and fee."""
    return inst.order_value(ONE, price) * (ONE / leverage + fee_rate(inst))


def margined_size(side: Side, size: Decimal, position: Decimal) -> Decimal:
    """The part of an order that does not close the strategy's own position."""
    if (side is _BUY and position < 0) or (side is not _BUY and position > 0):
        left = size - abs(position)
        return left if left > 0 else ZERO
    return size


def margin_per_unit(
    inst: Instrument,
    side: Side,
    price: Decimal,
    size: Decimal,
    position: Decimal,
    leverage: Decimal,
    reduce_only: bool = False,
) -> Decimal:
    """What an order of ``size`` holds per unit, averaged over its size: the part that
    closes the strategy's own ``position`` (all of a reduce-only order) holds nothing."""
    part = ZERO if reduce_only else margined_size(side, size, position)
    if not part or not size:
        return ZERO
    return order_margin_rate(inst, price, leverage) * part / size


def funding_payment(inst: Instrument, size: Decimal, mark: Decimal, rate: Decimal) -> Decimal:
    """What a position pays at one funding time (negative: it receives), in the
    settlement asset."""
    if inst.kind.startswith("inverse_"):
        return size / mark * rate
    return size * mark * rate


class MarginAccount:
    """The derivative positions of one account (per symbol) and their margin.

    ``mark(symbol)`` gives a symbol's mark price (None: not known yet); the
    owner supplies it (the venue and the engine read their books). Positions
    are the account's, netted over strategies.
    """

    __slots__ = ("instruments", "leverage", "mark", "positions")

    def __init__(
        self,
        instruments: Mapping[str, Instrument],
        leverage: Mapping[str, Decimal] | Decimal | None = None,
        mark: Callable[[str], Decimal | None] | None = None,
    ) -> None:
        self.instruments = {s: i for s, i in instruments.items() if is_derivative(i)}
        self.leverage = {s: leverage_for(i, leverage) for s, i in self.instruments.items()}
        self.mark: Callable[[str], Decimal | None] = mark or (lambda _s: None)
        self.positions: dict[str, Position] = {}

    def __bool__(self) -> bool:
        return bool(self.instruments)

    def fill(self, inst: Instrument, side: Side, price: Decimal, size: Decimal) -> Decimal:
        """Apply one fill to the account's position; the PnL it realised."""
        sym = inst.symbol
        pos = self.positions.get(sym)
        if pos is None:
            pos = Position(sym)
        after = apply_fill(inst, pos, side, price, size)
        if after.size:
            self.positions[sym] = after
        else:
            self.positions.pop(sym, None)
        return after.realized_pnl - pos.realized_pnl

    def open_positions(self, asset: str) -> Iterator[tuple[Instrument, Position]]:
        for sym, pos in self.positions.items():
            inst = self.instruments[sym]
            if inst.value_asset == asset:
                yield inst, pos

    def _mark_or_entry(self, sym: str, pos: Position) -> Decimal:
        m = self.mark(sym)
        return pos.avg_price if m is None else m

    def state(self, asset: str) -> tuple[Decimal, Decimal, Decimal]:
        """(unrealised PnL, position initial margin, maintenance margin) in ``asset``."""
        upnl = im = mm = ZERO
        for inst, pos in self.open_positions(asset):
            mark = self._mark_or_entry(inst.symbol, pos)
            value = inst.order_value(abs(pos.size), mark)
            upnl += unrealized(inst, pos.size, pos.avg_price, mark)
            im += value / self.leverage[inst.symbol]
            mm += value * maintenance_rate(inst)
        return upnl, im, mm

    def adjustment(self, asset: str) -> Decimal:
        """What positions add to the free balance of ``asset``: PnL less their margin."""
        if not self.positions:
            return ZERO
        upnl, im, _ = self.state(asset)
        return upnl - im

    def liquidation_price(self, sym: str, wallet: Decimal) -> Decimal | None:
        """The mark of ``sym`` at which the account's equity in its settlement asset meets
        the maintenance margin, the other positions at their marks (None: no position,
        or no such price)."""
        pos = self.positions.get(sym)
        if pos is None or not pos.size:
            return None
        inst = self.instruments[sym]
        asset = inst.value_asset
        rest = wallet
        for other, p in self.open_positions(asset):
            if other.symbol == sym:
                continue
            mark = self._mark_or_entry(other.symbol, p)
            rest += unrealized(other, p.size, p.avg_price, mark)
            rest -= other.order_value(abs(p.size), mark) * maintenance_rate(other)
        q, e, m = pos.size, pos.avg_price, maintenance_rate(inst)
        long = q > 0
        if inst.kind.startswith("inverse_"):
            # rest + q/e - q/P = |q| m / P  ->  P = (q + |q| m) / (rest + q/e)
            den = rest + q / e
            if long:
                return _NOW_LONG if den <= 0 else (q + q * m) / den
            return None if den >= 0 else (q - q * m) / den
        # rest + q (P - e) = |q| m P  ->  P = (q e - rest) / (q - |q| m)
        price = (q * e - rest) / (q - abs(q) * m)
        if price > 0:
            return price
        return None if long else ZERO  # a short already under water goes at any price


__all__ = [
    "DEFAULT_MAINTENANCE",
    "MarginAccount",
    "apply_fill",
    "funding_payment",
    "is_derivative",
    "is_perpetual",
    "leverage_for",
    "maintenance_rate",
    "margin_per_unit",
    "margined_size",
    "order_margin_rate",
    "unrealized",
]
