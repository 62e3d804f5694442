"""What each control command does to the running bot.

The commands run on the event loop, between market events, so they see and
change the engine exactly as a strategy hook would: orders go through the
engine's own path (``Engine.submit``: gate, risk module, router), never around
it. Each returns a JSON-ready result or raises :class:`CommandError` with a
stable code; a refused command has changed nothing.

==============  ==============================================================
``pause``       refuse new orders and edits (code ``paused``); ``strategy``: one only
``resume``      trade again: unpause, kill switch back to active
``cancel_all``  cancel open orders (``strategy``, ``symbol``: only those)
``flatten``     kill switch to reducing, cancel every open order, and send each
                non-zero position a reduce-only market order that closes it; what a
                thin book leaves is sent again (``follow_up``) until flat
``halt``        the kill switch: halted (only cancels pass), every order cancelled
``set_param``   change strategy params (``strategy``, ``params``), validated by
                the strategy's ``Params`` model as bot.yaml is; the strategy
                takes them in ``update_params(params)``
``status``      the status payload
==============  ==============================================================
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from botkit.config.errors import issues_from_validation
from botkit.config.secret_keys import is_secret_key
from botkit.intents import CancelAll, Place
from botkit.model import Order, OrderStatus, OrderType, Side
from botkit.ops.gate import TradingGate
from botkit.ops.payloads import dec
from botkit.plugins import params_model
from botkit.redact import MASK

if TYPE_CHECKING:
    from botkit.engine import Engine
    from botkit.plugins import StrategySpec

log = logging.getLogger("botkit.ops")

FLATTEN_TRIES = 20  # closing orders per position before flatten gives up on it
# Rejects no retry can change: the rest of the position is too small to trade.
_UNCLOSABLE = frozenset({"size_below_lot", "below_min_size", "below_min_notional", "off_lot"})


class CommandError(Exception):
    """A command refused: ``code`` is stable, the message says why and what to send."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _only(args: Mapping[str, Any], allowed: Sequence[str], command: str) -> None:
    extra = sorted(set(args) - set(allowed))
    if extra:
        takes = f"it takes {', '.join(allowed)}" if allowed else "it takes none"
        raise CommandError("invalid_args", f"{command} does not take {', '.join(extra)}; {takes}")


class Commands:
    """The control commands over one engine and its strategies."""

    NAMES = ("pause", "resume", "cancel_all", "flatten", "halt", "set_param", "status")

    def __init__(
        self,
        engine: Engine,
        strategies: Sequence[StrategySpec],
        gate: TradingGate,
        status: Callable[[], dict[str, Any]],
        changed: Callable[[], None],
    ) -> None:
        self.engine = engine
        self.specs = {s.name: s for s in strategies}
        self._index = {s.name: i for i, s in enumerate(strategies)}
        self.gate = gate
        self._status = status
        self._changed = changed  # the state changed: publish the status now
        self._flattening: dict[tuple[str, str], int] = {}  # position -> closing orders sent

    def run(self, command: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Carry out ``command``; raises :class:`CommandError` when refused."""
        if command not in self.NAMES:
            raise CommandError(
                "unknown_command",
                f"unknown command {command!r}; the commands are {', '.join(self.NAMES)}",
            )
        self.engine.tick(time.time_ns())  # the clock the orders are stamped with
        result: dict[str, Any] = getattr(self, command)(args)
        return result

    # ----- helpers -------------------------------------------------------------------

    def _strategy(self, args: Mapping[str, Any], required: bool = False) -> str | None:
        name = args.get("strategy")
        if name is None:
            if required:
                if len(self.specs) == 1:
                    return next(iter(self.specs))
                raise CommandError(
                    "invalid_args",
                    f"say which strategy: {', '.join(self.specs)} (args.strategy)",
                )
            return None
        if not isinstance(name, str) or name not in self.specs:
            raise CommandError(
                "unknown_strategy",
                f"no strategy named {name!r}; this bot runs {', '.join(self.specs)}",
            )
        return name

    def _symbol(self, args: Mapping[str, Any]) -> str | None:
        symbol = args.get("symbol")
        if symbol is not None and symbol not in self.engine.instruments:
            raise CommandError(
                "unknown_symbol",
                f"{symbol!r} is not traded here; symbols: {', '.join(self.engine.instruments)}",
            )
        return symbol  # type: ignore[no-any-return]

    def _set_gate(self) -> None:
        self.engine.gate = self.gate if self.gate.active else None

    def _cancel_all(self, strategy: str | None, symbol: str | None) -> int:
        router = self.engine.router
        names = [strategy] if strategy is not None else list(self.engine.slots)
        before = sum(len(router.open_orders(n, symbol)) for n in names)
        for name in names:
            self.engine.submit(name, [CancelAll(symbol)])
        return before

    # ----- the commands ----------------------------------------------------------------

    def pause(self, args: Mapping[str, Any]) -> dict[str, Any]:
        _only(args, ("strategy",), "pause")
        strategy = self._strategy(args)
        self.gate.pause(strategy)
        self._set_gate()
        self._changed()
        return {"paused": self.gate.paused(list(self.specs))}

    def resume(self, args: Mapping[str, Any]) -> dict[str, Any]:
        _only(args, ("strategy",), "resume")
        strategy = self._strategy(args)
        self.gate.resume(strategy)
        if strategy is None:
            self.engine.risk.set_kill_switch("active")
        self._set_gate()
        self._changed()
        return {"paused": self.gate.paused(list(self.specs))}

    def cancel_all(self, args: Mapping[str, Any]) -> dict[str, Any]:
        _only(args, ("strategy", "symbol"), "cancel_all")
        strategy, symbol = self._strategy(args), self._symbol(args)
        return {"cancelling": self._cancel_all(strategy, symbol)}

    def halt(self, args: Mapping[str, Any]) -> dict[str, Any]:
        _only(args, (), "halt")
        self.engine.risk.set_kill_switch("halted")
        self.gate.resume()  # halted refuses everything the pause did, and more
        self._set_gate()
        cancelling = self._cancel_all(None, None)
        self._changed()
        return {"cancelling": cancelling}

    def flatten(self, args: Mapping[str, Any]) -> dict[str, Any]:
        _only(args, (), "flatten")
        engine = self.engine
        engine.risk.set_kill_switch("reducing")
        self.gate.resume()  # the closing orders must get through
        self._set_gate()
        cancelling = self._cancel_all(None, None)
        self._flattening = {
            key: 0
            for key, pos in sorted(engine.router.positions.items())
            if pos.size and key[0] in engine.slots
        }
        closing = []
        for strategy, symbol in list(self._flattening):
            size = engine.router.position_size(strategy, symbol)
            order = self._close(strategy, symbol)
            closing.append(
                {
                    "strategy": strategy,
                    "symbol": symbol,
                    "position": dec(size),
                    "side": (Side.SELL if size > 0 else Side.BUY).value,
                    "client_id": order.client_id if order is not None else None,
                    "status": order.status.value if order is not None else None,
                    "code": order.code if order is not None else None,
                }
            )
        self._changed()
        return {"cancelling": cancelling, "closing": closing}

    def _close(self, strategy: str, symbol: str) -> Order | None:
        """One reduce-only market order for the whole position; the order, or None."""
        router = self.engine.router
        size = router.position_size(strategy, symbol)
        side = Side.SELL if size > 0 else Side.BUY
        first = len(router.orders)
        self.engine.submit(
            strategy, [Place(symbol, side, abs(size), type=OrderType.MARKET, reduce_only=True)]
        )
        self._flattening[(strategy, symbol)] += 1
        sent = list(router.orders.values())[first:]
        order = sent[0] if sent else None
        refused = order is not None and order.status is OrderStatus.REJECTED
        if refused and order is not None and order.code in _UNCLOSABLE:
            log.warning(
                "flatten: %s:%s %s cannot be closed (%s); it stays",
                strategy,
                symbol,
                size,
                order.code,
            )
            del self._flattening[(strategy, symbol)]
        return order

    def follow_up(self) -> None:
        """After ``flatten``: close again what a closing order left (a thin book), once
        the last one is done, until the position is zero or ``resume`` ends reducing."""
        if not self._flattening:
            return
        engine = self.engine
        if engine.risk.kill_switch != "reducing":
            self._flattening.clear()
            return
        engine.tick(time.time_ns())
        router = engine.router
        for (strategy, symbol), tries in list(self._flattening.items()):
            if not router.position_size(strategy, symbol):
                del self._flattening[(strategy, symbol)]
                log.info("flatten: %s:%s is flat", strategy, symbol)
            elif router.open_orders(strategy, symbol):
                continue  # the last closing order (or a cancel) is still working
            elif tries >= FLATTEN_TRIES:
                del self._flattening[(strategy, symbol)]
                log.warning("flatten: %s:%s still open after %d orders", strategy, symbol, tries)
            else:
                self._close(strategy, symbol)

    def set_param(self, args: Mapping[str, Any]) -> dict[str, Any]:
        _only(args, ("strategy", "params"), "set_param")
        name = self._strategy(args, required=True)
        assert name is not None
        values = args.get("params")
        if not isinstance(values, dict) or not values:
            raise CommandError(
                "invalid_args", "set_param needs params: a mapping of param names to new values"
            )
        spec = self.specs[name]
        cls = type(spec.instance)
        update = getattr(spec.instance, "update_params", None)
        if not callable(update):
            raise CommandError(
                "not_supported",
                f"strategy {name} ({cls.__qualname__}) does not take param changes while it "
                "runs: it has no update_params(params) method",
            )
        moved = sorted(k for k in ("symbol", "symbols") if k in values)
        if moved:
            raise CommandError(
                "invalid_param",
                f"{', '.join(moved)} cannot change while the bot runs (orders and books "
                "follow them); change bot.yaml and restart",
            )
        merged = {**spec.params, **values}
        model = params_model(cls)
        if model is not None:
            loc = ("strategies", self._index[name], "params")
            try:
                model.model_validate(merged)
            except ValidationError as exc:
                issues = issues_from_validation(exc, model, loc)
                raise CommandError(
                    "invalid_param", " ".join(i.describe() for i in issues)
                ) from None
        try:
            update(dict(merged))
        except Exception as exc:
            raise CommandError(
                "invalid_param", f"{name}.update_params refused it: {type(exc).__name__}: {exc}"
            ) from None
        spec.params.clear()
        spec.params.update(merged)
        return {
            "strategy": name,
            "params": {k: (MASK if is_secret_key(k) else merged[k]) for k in sorted(values)},
        }

    def status(self, args: Mapping[str, Any]) -> dict[str, Any]:
        _only(args, (), "status")
        return self._status()


__all__ = ["CommandError", "Commands"]
