"""The risk module: where a strategy's intent becomes a grid order, or a reject.

Choices where the design leaves room:

- An ``Edit`` is checked as the order it leaves behind: the existing order with
  the new price and/or the new *total* size. The already filled part stays
  filled, so the open part is ``new size - filled``. A new size at or below the
  filled size is ``invalid_size``. Reduce-only clipping, the size bounds, the
  order value and the position cap apply to the open part, because that is
  what can still trade (and what a cancel-and-replace would send). An edit
  never adds an order, so ``max_open_orders`` does not apply to it. The
  accepted ``Edit`` carries both the resulting price and the resulting total
  size. An edit of a closed order, or with no order given, is ``unknown_order``.
- The stop price rounds like the limit price (buy down, sell up). A stop price
  on a non-stop order is ``unexpected_price``.
- A ``STOP_MARKET`` order is valued, and price-banded, at its stop price; a
  ``MARKET`` order always needs a reference price (``no_reference_price``),
  even when the instrument has no value bounds.
- A post-only slide goes to the highest grid price strictly below the best ask
  (lowest strictly above the best bid), which is ``best ask - tick`` when the
  book is on the grid. Without a book side the post-only check is skipped; the
  venue enforces post-only anyway.
- The position cap is measured in the order's direction:
  ``side.sign * position + same-side open remaining + this order``, so an order
  that shrinks an oversized position is never blocked by it.
- The rate limiter counts accepted ``Place`` and ``Edit`` decisions in a
  sliding window on ``now_ns`` (the event clock in a backtest).
- Numbers: a float becomes the decimal it prints as (``Decimal(repr(x))``);
  str, int, Decimal and numpy scalars are accepted too. A side other than buy
  or sell is ``side_not_allowed``; an unknown order type or time in force, or a
  number so large it does not fit the tick or lot grid, is ``invalid_order``
  (a code added to the design's list). A buy price below one tick rounds to 0
  and is ``invalid_price``. Book prices that are None, not finite or not > 0
  count as unknown.
- Balance (``botkit.account`` and ``botkit.margin`` have the rules): given the
  account's free balances (``balances=``), a spot order whose lock does not fit
  is ``insufficient_balance``, a derivative order whose initial margin and fees
  (at ``RiskModule.leverage``, per symbol, default 1) do not fit in the
  available balance is ``insufficient_margin``; checked last, after the account
  limits. A market buy is locked at its reference price moved up by
  ``slippage_bps`` (the venue's slippage allowance). Without ``balances`` the
  step is skipped.
  An accepted decision carries the lock in ``Decision.lock``: (asset, amount per
  unit of size), None when nothing is locked.
- ``rounding: reject`` only refuses off-grid input; reduce-only clipping and the
  post-only slide still adjust the order.
- A rejected ``Decision`` carries the strategy's original intent; an accepted
  one carries the normalized intent. An accepted decision's ``reason`` is empty
  unless the risk module changed the order materially (a post-only slide, a
  reduce-only clip).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from botkit.account import slippage_fraction
from botkit.config.errors import ConfigIssue, show
from botkit.intents import Cancel, CancelAll, Edit, Place
from botkit.model import Instrument
from botkit.risk.checks import (
    Reject,
    check_balance,
    check_kill_switch,
    check_known,
    check_max_open_orders,
    check_max_position,
    check_order_rate,
    check_order_value,
    check_post_only,
    check_price_band,
    check_reduce_only,
    check_shape,
    check_side,
    check_size_bounds,
    quantize,
)
from botkit.risk.limits import (
    KILL_SWITCH_STATES,
    RateWindow,
    RiskConfigError,
    RiskLimits,
    Rules,
    as_limits,
)
from botkit.risk.order import draft_edit, draft_place, fmt
from botkit.risk.order import show as show_value


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of a check: the intent as it will be sent, or a reject code and reason."""

    accepted: bool
    intent: Any
    code: str | None = None
    reason: str = ""
    lock: tuple[str, Decimal] | None = None


def _accept_factory() -> Callable[[Any, str], Decision]:
    """An accepted ``Decision`` built straight into its slots.

    Every accepted order makes one; the frozen dataclass's generated
    ``__init__`` (an ``object.__setattr__`` per field) costs about twice as much.
    """
    new = object.__new__
    s_accepted, s_intent, s_code, s_reason, s_lock = (
        getattr(Decision, f.name).__set__ for f in fields(Decision)
    )

    def accept(intent: Any, reason: str, lock: tuple[str, Decimal] | None = None) -> Decision:
        obj = new(Decision)
        s_accepted(obj, True)
        s_intent(obj, intent)
        s_code(obj, None)
        s_reason(obj, reason)
        s_lock(obj, lock)
        return obj

    return accept


_accept = _accept_factory()


# The engine passes the router's open orders as a dict's values view (or an empty
# tuple). Class tests first: an isinstance against the Collection ABC costs ~150 ns.
_DICT_VALUES = type({}.values())


def _reject(intent: Any, code: str, reason: str) -> Decision:
    return Decision(False, intent, code, reason)


def _refuse(intent: Any, reject: Reject) -> Decision:
    return Decision(False, intent, reject.code, reject.reason)


class RiskModule:
    """Pre-trade checks and quantization (``botkit.risk.checks`` lists the steps).

    ``limits`` is the ``risk:`` mapping of bot.yaml, its typed form
    (:class:`RiskLimits`), or None for the defaults; a bad mapping raises
    :class:`RiskConfigError` naming the field. ``slippage_bps`` is the allowance
    a market buy is locked with on a spot account (the simulated venue's
    ``sim.slippage_bps``; the engine sets it from the venue it matches on).
    """

    def __init__(
        self,
        limits: RiskLimits | Mapping[str, Any] | None = None,
        *,
        slippage_bps: Decimal | int | str = 0,
    ) -> None:
        self.slippage: Decimal = slippage_fraction(slippage_bps)
        # The leverage derivatives trade at, per symbol (the engine sets the account's).
        self.leverage: dict[str, Decimal] = {}
        self._limits = as_limits(limits)
        self._rules = Rules(self._limits)
        self._kill_switch: str = self._limits.kill_switch
        rate = self._limits.max_order_rate
        self._window = RateWindow(rate) if rate is not None else None

    @property
    def limits(self) -> RiskLimits:
        """The configured limits (``kill_switch`` there is the initial state)."""
        return self._limits

    @property
    def kill_switch(self) -> str:
        """The current kill-switch state: "active", "reducing" or "halted"."""
        return self._kill_switch

    def set_kill_switch(self, state: str) -> None:
        """Switch trading on (``active``), to reduce-only (``reducing``) or off (``halted``)."""
        word = state.strip().lower() if isinstance(state, str) else state
        if word not in KILL_SWITCH_STATES:
            allowed = f"must be one of {', '.join(KILL_SWITCH_STATES)}"
            issue = ConfigIssue(("risk", "kill_switch"), f"{show(state)} is not allowed", allowed)
            raise RiskConfigError(issue, state)
        self._kill_switch = word

    def check(
        self,
        intent: Any,
        instrument: Instrument | None,
        position: Any = 0,
        book: Any = None,
        open_orders: Iterable[Any] = (),
        *,
        order: Any = None,
        now_ns: int | None = None,
        open_order_count: int | None = None,
        balances: Mapping[str, Decimal] | None = None,
    ) -> Decision:
        """Check one intent: the steps below, in order; the first to refuse decides.

        ``order`` is the order an ``Edit`` changes; ``now_ns`` the clock of the
        rate limit (default: the monotonic clock); ``open_order_count`` the
        number of open orders ``max_open_orders`` counts (default: ``open_orders``);
        ``balances`` the account's free balances by asset, for the spot balance
        step (skipped when None).
        """
        cls = intent.__class__
        if cls is Place or (cls is not Edit and isinstance(intent, Place)):
            if instrument is None:
                return _refuse(intent, check_known(intent, instrument))  # type: ignore[arg-type]
            o = draft_place(intent, instrument)
        elif cls is Edit or isinstance(intent, Edit):
            refused = check_known(intent, instrument, order)
            if refused is not None:
                return _refuse(intent, refused)
            o = draft_edit(intent, order, instrument)  # type: ignore[arg-type]
        elif isinstance(intent, Cancel | CancelAll):
            return _accept(intent, "")
        else:
            kind = type(intent).__name__
            return _reject(
                intent, "invalid_order", f"{kind} is not an intent (Place, Edit, Cancel, CancelAll)"
            )
        oc = open_orders.__class__
        if oc is tuple or oc is _DICT_VALUES or oc is list or isinstance(open_orders, Collection):
            opens: Collection[Any] = open_orders  # type: ignore[assignment]
        else:
            opens = tuple(open_orders)  # the steps walk it more than once
        window = self._window
        if now_ns is None:
            now_ns = time.monotonic_ns() if window is not None else 0
        rules = self._rules
        try:
            refused = (
                check_side(o)
                or check_shape(o)
                or quantize(o, rules)
                or check_post_only(o, rules, book)
                or check_reduce_only(o, rules, position, opens)
                or check_size_bounds(o)
                or check_order_value(o, book)
                or check_kill_switch(o, self._kill_switch)
                or check_max_position(o, rules, position, opens)
                or check_max_open_orders(o, rules, opens, open_order_count)
                or check_order_rate(o, window, now_ns)
                or check_price_band(o, rules, book)
            )
            lock = None
            if refused is None and balances is not None:
                lock = check_balance(o, balances, self.slippage, order, position, self.leverage)
                if lock.__class__ is Reject:
                    refused = lock  # type: ignore[assignment]
        except ArithmeticError:
            # Only magnitudes no venue trades (beyond the decimal context) get here.
            # The intent itself is not shown: its numbers may not even print.
            inst = o.inst
            return _reject(
                intent,
                "invalid_order",
                f"a number in the {type(intent).__name__} on {show_value(o.symbol)} or its "
                f"context is out of range for the tick {fmt(inst.tick_size)} and lot "
                f"{fmt(inst.lot_size)}",
            )
        if refused is not None:
            return _refuse(intent, refused)
        if window is not None:
            window.record(now_ns)
        return _accept(o.intent(), "; ".join(o.notes) if o.notes else "", lock)  # type: ignore[arg-type]
