"""What a sweep ranks runs by: metrics read from a backtest's summary, and the ranking.

Each metric is read from the summary ``summarize`` makes (summary.json): money
stays an exact :class:`~decimal.Decimal`, ratios are floats, counts ints. A
metric may be ``None`` in a run: Sharpe and Sortino on fewer than 30 daily
returns (the summary's ``sharpe_caveat`` says why), a return with no starting
equity. Such a run is never ranked as if it had a number: :func:`rank` ranks
the runs that have the metric and lists the others after them, unranked; when
no run has it, it ranks by strategy PnL instead and says so in ``note``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

Number = Decimal | float | int
Direction = Literal["max", "min"]


@dataclass(frozen=True)
class Metric:
    """One column of results.csv: how to read it from a summary, its unit, its sense."""

    name: str
    unit: str  # "quote" (the quote asset), "fraction", "ratio" or "count"
    direction: Direction  # which way is better
    read: Callable[[Mapping[str, Any]], Number | None]
    caveat: Callable[[Mapping[str, Any]], str | None] = lambda s: None
    what: str = ""

    def header(self, quote: str) -> str:
        """The CSV header: the name and its unit, e.g. ``strategy_pnl [USDT]``."""
        unit = {
            "quote": quote,
            "fraction": "fraction",
            "ratio": "daily, annualised",
            "count": "",
        }.get(self.unit, self.unit)
        return f"{self.name} [{unit}]" if unit else self.name


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "strategy_pnl",
            "quote",
            "max",
            lambda s: _dec(s["strategy_pnl"]["total"]),
            what="realised PnL net of fees plus unrealised PnL of the strategies' own positions",
        ),
        Metric(
            "equity_change",
            "quote",
            "max",
            lambda s: _dec(s["equity_change"]),
            what="strategy PnL + the drift of the starting holdings",
        ),
        Metric(
            "return",
            "fraction",
            "max",
            lambda s: _float(s["return"]),
            what="equity change / initial equity",
        ),
        Metric(
            "sharpe",
            "ratio",
            "max",
            lambda s: _float(s["sharpe"]),
            lambda s: s.get("sharpe_caveat"),
            what="Sharpe of daily returns (null under 30 daily returns)",
        ),
        Metric(
            "sortino",
            "ratio",
            "max",
            lambda s: _float(s["sortino"]),
            lambda s: s.get("sortino_caveat"),
            what="Sortino of daily returns (null under 30 daily returns)",
        ),
        Metric(
            "max_drawdown",
            "fraction",
            "min",
            lambda s: _float(s["max_drawdown"]["fraction"]),
            what="largest fall of account equity from a peak, as a fraction of the peak",
        ),
        Metric(
            "max_drawdown_abs",
            "quote",
            "min",
            lambda s: _dec(s["max_drawdown"]["absolute"]),
            what="largest fall of account equity from a peak",
        ),
        Metric("fees", "quote", "min", lambda s: _dec(s["fees"]), what="fees paid"),
        Metric("volume", "quote", "max", lambda s: _dec(s["volume"]), what="traded notional"),
        Metric("fills", "count", "max", lambda s: int(s["fills"]), what="fills"),
        Metric("orders", "count", "max", lambda s: int(s["orders"]), what="orders"),
        Metric(
            "rejects", "count", "min", lambda s: int(s["rejects"]["total"]), what="risk rejects"
        ),
    )
}

DEFAULT_METRIC = "strategy_pnl"


def strategy_metric(name: str) -> Metric:
    """``strategy_pnl.<name>``: one strategy's own PnL."""
    return Metric(
        f"strategy_pnl.{name}",
        "quote",
        "max",
        lambda s: _dec(s["strategy_pnl"]["by_strategy"].get(name)),
        what=f"strategy {name}'s own PnL",
    )


def get_metric(name: str, strategies: Sequence[str] = ()) -> Metric:
    """The metric called ``name`` (``strategy_pnl.<strategy>`` for one strategy's PnL);
    ``ValueError`` naming the choices otherwise."""
    if name in METRICS:
        return METRICS[name]
    prefix, dot, strategy = name.partition(".")
    if dot and prefix == "strategy_pnl" and strategy in strategies:
        return strategy_metric(strategy)
    from botkit.plugins import closest

    choices = [*METRICS, *(f"strategy_pnl.{s}" for s in strategies)]
    match = closest(name, choices)
    raise ValueError(
        f"--metric {name!r} is not a metric"
        + (f"; did you mean {match!r}?" if match else "")
        + f" Choose one of: {', '.join(choices)}"
    )


def better(a: Number, b: Number, direction: Direction) -> bool:
    return a > b if direction == "max" else a < b


@dataclass
class Ranking:
    """The runs in ranked order: ``ranks[run_id]`` is 1.. for a ranked run, None otherwise."""

    order: list[int]
    ranks: dict[int, int | None]
    metric: str  # what the ranks follow (the requested metric, or strategy_pnl instead)
    direction: Direction
    requested: str
    note: str | None


def rank(
    summaries: Mapping[int, Mapping[str, Any] | None],
    metric: Metric,
    direction: Direction | None = None,
) -> Ranking:
    """Rank runs (``run id -> summary``, None for a failed run) by ``metric``.

    Ranked: the runs whose metric is a number, best first (ties by run id).
    Then, unranked, the runs where it is null (best strategy PnL first), and the
    failed runs (by run id). If no run has the metric, the ranks follow
    strategy PnL instead and ``note`` says so, with the metric's caveat.
    """
    sense: Direction = direction or metric.direction
    ok = {rid: s for rid, s in summaries.items() if s is not None}
    failed = sorted(rid for rid, s in summaries.items() if s is None)
    pnl = METRICS[DEFAULT_METRIC]
    values = {rid: metric.read(s) for rid, s in ok.items()}
    have = [rid for rid, v in values.items() if v is not None]
    lacking = [rid for rid, v in values.items() if v is None]
    note: str | None = None
    used, used_sense = metric, sense
    if ok and not have and metric.name != pnl.name:
        caveat = next((metric.caveat(ok[r]) for r in lacking if metric.caveat(ok[r])), None)
        note = f"ranked by strategy_pnl: {metric.name} is null in every run" + (
            f" ({caveat})" if caveat else ""
        )
        used, used_sense = pnl, pnl.direction
        values = {rid: pnl.read(s) for rid, s in ok.items()}
        have = [rid for rid, v in values.items() if v is not None]
        lacking = [rid for rid, v in values.items() if v is None]
    elif lacking:
        caveat = next((metric.caveat(ok[r]) for r in lacking if metric.caveat(ok[r])), None)
        note = (
            f"{len(lacking)} run(s) have no {metric.name} (null"
            + (f": {caveat}" if caveat else "")
            + "); they are listed after the ranked runs, unranked"
        )

    def key(rid: int) -> tuple[Number, int]:
        v = values[rid]
        assert v is not None
        return (-v if used_sense == "max" else v, rid)

    ranked = sorted(have, key=key)

    def pnl_key(rid: int) -> tuple[Number, int]:
        v = pnl.read(ok[rid])
        return (-(v if v is not None else Decimal("-Infinity")), rid)

    unranked = sorted(lacking, key=pnl_key)
    ranks: dict[int, int | None] = {rid: i for i, rid in enumerate(ranked, 1)}
    ranks.update({rid: None for rid in [*unranked, *failed]})
    return Ranking(
        order=[*ranked, *unranked, *failed],
        ranks=ranks,
        metric=used.name,
        direction=used_sense,
        requested=metric.name,
        note=note,
    )


__all__ = [
    "DEFAULT_METRIC",
    "METRICS",
    "Metric",
    "Ranking",
    "better",
    "get_metric",
    "rank",
    "strategy_metric",
]
