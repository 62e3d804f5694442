"""A grid bound to bot.yaml: which strategy each name sets, and which param sets it allows.

A name is a strategy param: ``fast`` when bot.yaml has one strategy,
``trend.fast`` (strategy name, then param) when it has several. Every param set
is checked with the strategy's ``Params`` model (the bot.yaml params with the
swept ones in place) before anything runs, so a refused combination is one
clear error naming the params, not a failed run. The same space gives
``--optimize`` its Optuna distributions: a whole-number range an
``IntDistribution``, a decimal range a ``FloatDistribution`` (stepped when the
range has a step, and each value put back on the exact decimal grid), a list a
``CategoricalDistribution``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from botkit.config import BotConfig
from botkit.config.errors import issues_from_validation
from botkit.plugins import closest, params_model
from botkit.sweep.grid import Axis, Grid, GridError, Value, format_params, format_value

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution


@dataclass(frozen=True)
class Target:
    """Where one axis lands: strategy ``index`` in bot.yaml, its ``name``, the ``param``."""

    axis: Axis
    index: int
    strategy: str
    param: str


class Space:
    """A :class:`Grid` bound to a config (see the module doc)."""

    def __init__(self, grid: Grid, config: BotConfig) -> None:
        self.grid = grid
        self.config = config
        self.targets = [_target(axis, config) for axis in grid.axes]
        self._models: dict[int, type[BaseModel] | None] = {
            t.index: params_model(config.strategies[t.index].strategy_class) for t in self.targets
        }
        self._symbols = {i.symbol for i in config.instruments}

    @property
    def labels(self) -> list[str]:
        return self.grid.names

    def overrides(self, params: Mapping[str, Value]) -> dict[int, dict[str, Value]]:
        """``{strategy index: {param: value}}`` for one param set."""
        out: dict[int, dict[str, Value]] = {}
        for t in self.targets:
            out.setdefault(t.index, {})[t.param] = params[t.axis.name]
        return out

    def check(self, params: Mapping[str, Value]) -> str | None:
        """Why the strategies' ``Params`` refuse this set (None: accepted)."""
        for index, changed in self.overrides(params).items():
            sc = self.config.strategies[index]
            merged = {**sc.params, **changed}
            for key in ("symbol",):
                if key in changed and changed[key] not in self._symbols:
                    return (
                        f"{self._where(index, key)}: {format_value(changed[key])!r} is not a "
                        f"configured instrument (configured: {', '.join(sorted(self._symbols))})"
                    )
            model = self._models[index]
            if model is None:
                continue
            try:
                model.model_validate(merged)
            except ValidationError as exc:
                prefix: tuple[str | int, ...] = (sc.name,) if self._named else ()
                issues = issues_from_validation(exc, model, prefix)
                # An error of the whole model (a combination) names no field: no prefix.
                issues = [replace(i, loc=()) if i.loc == prefix else i for i in issues]
                return "; ".join(i.describe().rstrip(".") for i in issues)
            except Exception as exc:  # a bug in the strategy's own validator
                return f"strategy {sc.name}'s Params raised {type(exc).__name__}: {exc}"
        return None

    @property
    def _named(self) -> bool:
        return any(t.axis.strategy is not None for t in self.targets)

    def _where(self, index: int, param: str) -> str:
        name = self.config.strategies[index].name
        return f"{name}.{param}" if self._named else param

    def validate(
        self, sets: Sequence[Mapping[str, Value]], skip_invalid: bool = False
    ) -> tuple[list[int], list[tuple[int, str]]]:
        """Check every set; returns (indices of accepted sets, [(index, reason)] refused).

        Raises :class:`GridError` describing the first refused set unless
        ``skip_invalid``, or when every set is refused.
        """
        ok: list[int] = []
        refused: list[tuple[int, str]] = []
        for i, params in enumerate(sets):
            reason = self.check(params)
            if reason is None:
                ok.append(i)
            else:
                refused.append((i, reason))
        if refused and (not skip_invalid or not ok):
            i, reason = refused[0]
            strategies = sorted({self.config.strategies[t.index].name for t in self.targets})
            more = (
                f" {len(refused):,} of {len(sets):,} param sets are refused"
                + (" (all of them)" if not ok else "")
                + "; fix the ranges"
                + (", or pass --skip-invalid to leave the refused ones out" if ok else "")
                if len(sets) > 1
                else ""
            )
            raise GridError(
                f"--grid: {format_params(dict(sets[i]))} is refused by the Params of "
                f"{', '.join(strategies)}: {reason}.{more}"
            )
        return ok, refused

    def check_axes(self) -> None:
        """Check each axis's values one at a time with the rest as in bot.yaml, and raise
        for an error about the swept param itself (its type, its bounds); an error about
        a combination (a model validator) waits for the actual sets. ``--optimize``
        runs this before its first trial."""
        for t in self.targets:
            model = self._models[t.index]
            sc = self.config.strategies[t.index]
            probe = [v for v in (t.axis.values or (t.axis.lo, t.axis.hi)) if v is not None]
            for value in probe:
                if t.param == "symbol" and value not in self._symbols:
                    raise GridError(f"{t.axis.name}={format_value(value)}: not an instrument")
                if model is None:
                    continue
                try:
                    model.model_validate({**sc.params, t.param: value})
                except ValidationError as exc:
                    mine = [e for e in exc.errors() if e["loc"] and e["loc"][0] == t.param]
                    if mine:
                        issues = issues_from_validation(exc, model, ())
                        reason = next(i.describe() for i in issues if i.loc[:1] == (t.param,))
                        raise GridError(
                            f"--grid {t.axis.name}={t.axis.text}: {t.axis.name}="
                            f"{format_value(value)} is refused by strategy {sc.name}'s Params: "
                            f"{reason.split(': ', 1)[-1]}"
                        ) from None

    # ------------------------------------------------------------- optuna

    def distributions(self) -> dict[str, BaseDistribution]:
        """The search space, one Optuna distribution per varying axis."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        out: dict[str, BaseDistribution] = {}
        for axis in self.grid.axes:
            if axis.count == 1:
                continue  # a fixed value, set on every trial
            if axis.is_integer_range:
                assert isinstance(axis.lo, int) and isinstance(axis.hi, int)
                assert isinstance(axis.step, int)
                out[axis.name] = IntDistribution(axis.lo, axis.hi, step=axis.step)
            elif axis.is_range:
                assert axis.lo is not None and axis.hi is not None
                step = None if axis.step is None else float(axis.step)
                out[axis.name] = FloatDistribution(float(axis.lo), float(axis.hi), step=step)
            else:
                out[axis.name] = CategoricalDistribution(
                    [format_value(v) for v in axis.values or ()]
                )
        return out

    def decode(self, suggested: Mapping[str, Any]) -> dict[str, Value]:
        """A trial's params as exact values (the fixed axes included), in axis order."""
        out: dict[str, Value] = {}
        for axis in self.grid.axes:
            if axis.count == 1:
                assert axis.values is not None
                out[axis.name] = axis.values[0]
                continue
            raw = suggested[axis.name]
            if axis.is_integer_range:
                out[axis.name] = int(raw)
            elif axis.is_range:
                out[axis.name] = _on_grid(axis, float(raw))
            else:
                by_text = {format_value(v): v for v in axis.values or ()}
                out[axis.name] = by_text[str(raw)]
        return out

    def encode(self, params: Mapping[str, Value]) -> dict[str, Any]:
        """Exact params as Optuna stores them (for ``enqueue_trial``)."""
        out: dict[str, Any] = {}
        for axis in self.grid.axes:
            if axis.count == 1:
                continue
            v = params[axis.name]
            if axis.is_integer_range:
                out[axis.name] = v
            elif axis.is_range:
                assert isinstance(v, Decimal | int)
                out[axis.name] = float(v)
            else:
                out[axis.name] = format_value(v)
        return out

    def describe(self) -> str:
        """The space as text, e.g. ``fast=5..20,slow=30..100:10`` (stored with a study)."""
        return ",".join(f"{a.name}={a.text}" for a in self.grid.axes)


def _on_grid(axis: Axis, x: float) -> Decimal:
    """A float Optuna suggested, as the exact decimal it stands for: the nearest step of a
    stepped range, else the shortest decimal that reads back as ``x``, within the range."""
    lo, hi = Decimal(axis.lo or 0), Decimal(axis.hi or 0)
    if axis.step is not None:
        step = Decimal(axis.step)
        k = (Decimal(repr(x)) - lo) / step
        value = lo + step * k.to_integral_value()
    else:
        value = Decimal(repr(x))
    return min(max(value, lo), hi)


def _target(axis: Axis, config: BotConfig) -> Target:
    names = [s.name for s in config.strategies]
    if axis.strategy is None and len(names) > 1:
        having = [s.name for s in config.strategies if _has_param(s, axis.param)]
        hint = (
            f"; {axis.param} is a param of {', '.join(having)}: write "
            + " or ".join(f"{n}.{axis.param}" for n in having)
            if having
            else ""
        )
        raise GridError(
            f"--grid {axis.name}: bot.yaml has {len(names)} strategies ({', '.join(names)}); "
            f"name the strategy as strategy.param{hint}"
        )
    if axis.strategy is not None and axis.strategy not in names:
        match = closest(axis.strategy, names)
        raise GridError(
            f"--grid {axis.name}: bot.yaml has no strategy named {axis.strategy!r}"
            + (f"; did you mean {match!r}?" if match else "")
            + f" Its strategies: {', '.join(names)}"
        )
    index = 0 if axis.strategy is None else names.index(axis.strategy)
    sc = config.strategies[index]
    model = params_model(sc.strategy_class)
    if model is not None and axis.param not in model.model_fields and _forbids_extra(model):
        fields = list(model.model_fields)
        match = closest(axis.param, fields)
        raise GridError(
            f"--grid {axis.name}: strategy {sc.name} ({sc.use}) has no param {axis.param!r}"
            + (f"; did you mean {match!r}?" if match else "")
            + f" Its params: {', '.join(fields)}"
        )
    return Target(axis, index, sc.name, axis.param)


def _has_param(sc: Any, name: str) -> bool:
    model = params_model(sc.strategy_class)
    return name in sc.params or (model is not None and name in model.model_fields)


def _forbids_extra(model: type[BaseModel]) -> bool:
    return model.model_config.get("extra") == "forbid"


def bind(grid: Grid, config: BotConfig) -> Space:
    """The grid's names resolved against ``config``'s strategies; :class:`GridError` for a
    name that fits no strategy or param (with the choices)."""
    return Space(grid, config)


__all__ = ["Space", "Target", "bind"]
