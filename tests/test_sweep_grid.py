"""The sweep's parts that need no cluster: the grid syntax, binding it to bot.yaml,
ranking, walk-forward windows and the join, and the command's early errors."""

from __future__ import annotations

import io
import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from sweep_support import DAY_NS, EMA, START_NS, TOY, bot_yaml, toy_prices, write_trades

from botkit.cli import main
from botkit.config import load_config
from botkit.sweep.cluster import SweepProgress, failed
from botkit.sweep.grid import MAX_RUNS, GridError, format_value, parse_grid
from botkit.sweep.metrics import METRICS, get_metric, rank
from botkit.sweep.runners import SweepError
from botkit.sweep.space import bind
from botkit.sweep.tasks import RunOutcome
from botkit.sweep.walkforward import data_range, join, parse_spec, plan

ROOT = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------------ the syntax


def test_ranges_lists_and_single_values() -> None:
    grid = parse_grid("fast=5..20,slow=30..100:10")
    assert grid.names == ["fast", "slow"]
    assert grid.axes[0].values == tuple(range(5, 21))
    assert grid.axes[1].values == (30, 40, 50, 60, 70, 80, 90, 100)
    assert grid.size == 16 * 8
    sets = grid.param_sets()
    assert sets[:2] == [{"fast": 5, "slow": 30}, {"fast": 5, "slow": 40}]  # last axis fastest
    assert sets[-1] == {"fast": 20, "slow": 100}


def test_decimals_are_exact_and_the_high_end_is_a_bound() -> None:
    grid = parse_grid(["size=0.01..0.05:0.01", "skew=0.5|1|1.5", "n=30..95:10"])
    assert grid.axes[0].values == tuple(Decimal(f"0.0{i}") for i in range(1, 6))
    assert grid.axes[1].values == (Decimal("0.5"), 1, Decimal("1.5"))
    assert grid.axes[2].values == (30, 40, 50, 60, 70, 80, 90)
    assert grid.axes[2].hi == 90  # the last value on the step, for Optuna too


def test_words_booleans_null_and_strategy_names() -> None:
    grid = parse_grid("trend.source=trades|bars, trend.allow_short=true|false, maker.x=null")
    assert [(a.strategy, a.param) for a in grid.axes] == [
        ("trend", "source"),
        ("trend", "allow_short"),
        ("maker", "x"),
    ]
    assert grid.axes[0].values == ("trades", "bars")
    assert grid.axes[1].values == (True, False)
    assert grid.axes[2].values == (None,)
    assert grid.varying == [grid.axes[0], grid.axes[1]]


def test_a_decimal_range_without_a_step_is_only_for_optimize() -> None:
    grid = parse_grid("size=0.01..0.05")
    assert grid.size is None and grid.axes[0].values is None
    with pytest.raises(GridError, match=r"a decimal range needs a step in a grid \(e\.g\. 0\.01"):
        grid.param_sets()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "the grid is empty"),
        ("fast", "'fast' has no '='; write each axis as name=values"),
        ("fast=", "fast= has no values"),
        ("fast=5..", "the high end '' is not a number"),
        ("fast=20..5", "the range is empty; write the low end first (5..20)"),
        ("fast=5..20:0", "the step must be > 0"),
        ("fast=5..20:-5", "the step must be > 0, got -5"),
        ("fast=1|2|1", "a value is listed twice"),
        ("fast=1|2..3", "a list holds values, not ranges ('2..3')"),
        ("fast=1..2..3", "a range is low..high or low..high:step (one '..')"),
        ("fast=1e5..2e5", "the low end '1e5' is not a number"),
        ("2fast=1", "'2fast' is not a param name"),
        ("trend.=1", "'trend.' is not a param name"),
        ("fast=1,,slow=2", "empty item in the grid"),
        ("fast=1,fast=2", "fast is given twice"),
        ("fast=0..1000000000", "has 1,000,000,001 values, more than the 100,000 runs"),
        ("a=1..1000,b=1..1000", "more than 100,000 param sets (1000 x 1000)"),
        ("fast=0.0000000000000000001..1:1", "has more than 18 decimals"),
        ("fast=" + "9" * 31, "has more than 30 digits"),
    ],
)
def test_mistakes_are_one_clear_line(text: str, says: str) -> None:
    with pytest.raises(GridError) as err:
        parse_grid(text)
    assert says in str(err.value)
    assert "\n" not in str(err.value)


@given(st.text(alphabet="abfst_.=,|:0123456789-+ .e", max_size=40) | st.text(max_size=30))
def test_any_text_parses_or_is_a_grid_error(text: str) -> None:
    try:
        grid = parse_grid(text)
    except GridError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert grid.axes and (grid.size is None or 1 <= grid.size <= MAX_RUNS)


@st.composite
def axes(draw: st.DrawFn) -> tuple[str, list[Any]]:
    kind = draw(st.sampled_from(["int", "dec", "list"]))
    if kind == "int":
        lo = draw(st.integers(-50, 50))
        hi = lo + draw(st.integers(0, 60))
        step = draw(st.integers(1, 15))
        return f"{lo}..{hi}:{step}", list(range(lo, hi + 1, step))
    if kind == "dec":
        places = draw(st.integers(1, 4))
        unit = Decimal(1).scaleb(-places)
        lo = draw(st.integers(-500, 500)) * unit
        steps = draw(st.integers(1, 50))
        step = steps * unit
        n = draw(st.integers(1, 12))
        # The high end may fall between two steps: it bounds the range.
        hi = lo + step * (n - 1) + draw(st.integers(0, steps - 1)) * unit
        return f"{lo}..{hi}:{step}", [lo + i * step for i in range(n)]
    words = draw(st.lists(st.sampled_from(["mid", "microprice", "5", "0.25", "true"]), min_size=1))
    unique = list(dict.fromkeys(words))
    parsed: list[Any] = [
        int(w) if w.isdigit() else Decimal(w) if "." in w else True if w == "true" else w
        for w in unique
    ]
    return "|".join(unique), parsed


@given(st.lists(axes(), min_size=1, max_size=3))
def test_written_grids_give_every_combination_in_order(specs: list[tuple[str, list[Any]]]) -> None:
    text = ",".join(f"p{i}={spec}" for i, (spec, _) in enumerate(specs))
    grid = parse_grid(text)
    expected = [
        {f"p{i}": v for i, v in enumerate(combo)}
        for combo in itertools.product(*(vals for _, vals in specs))
    ]
    sets = grid.param_sets()
    assert sets == expected
    # Exact: the same types and digits, not just equal numbers.
    assert [[format_value(v) for v in s.values()] for s in sets] == [
        [format_value(v) for v in s.values()] for s in expected
    ]


# ------------------------------------------------------------- bound to bot.yaml


@pytest.fixture(scope="module")
def shipped() -> Any:
    """The shipped bot.yaml: three strategies (trend, maker, ladder)."""
    return load_config(ROOT / "bot.yaml")


def test_with_several_strategies_a_name_needs_its_strategy(shipped: Any) -> None:
    with pytest.raises(GridError) as err:
        bind(parse_grid("fast=5..20"), shipped)
    assert str(err.value) == (
        "--grid fast: bot.yaml has 3 strategies (trend, maker, ladder); name the strategy as "
        "strategy.param; fast is a param of trend: write trend.fast"
    )
    with pytest.raises(GridError, match=r"no strategy named 'tren'; did you mean 'trend'\?"):
        bind(parse_grid("tren.fast=5"), shipped)
    with pytest.raises(GridError, match=r"has no param 'fsat'; did you mean 'fast'\?"):
        bind(parse_grid("trend.fsat=5"), shipped)
    space = bind(parse_grid("trend.fast=5|8,maker.half_spread_bps=0.5|1"), shipped)
    assert space.overrides({"trend.fast": 8, "maker.half_spread_bps": Decimal("0.5")}) == {
        0: {"fast": 8},
        1: {"half_spread_bps": Decimal("0.5")},
    }


def test_every_param_set_is_checked_by_the_strategys_params_before_anything_runs(
    shipped: Any,
) -> None:
    grid = parse_grid("trend.fast=50..250:50,trend.slow=100|200")
    space = bind(grid, shipped)
    sets = grid.param_sets()
    with pytest.raises(GridError) as err:
        space.validate(sets)
    assert str(err.value) == (
        "--grid: trend.fast=100, trend.slow=100 is refused by the Params of trend: "
        "fast (100) must be shorter than slow (100). 6 of 10 param sets are refused; fix the "
        "ranges, or pass --skip-invalid to leave the refused ones out"
    )
    kept, refused = space.validate(sets, skip_invalid=True)
    assert [sets[i] for i in kept] == [
        {"trend.fast": 50, "trend.slow": 100},
        {"trend.fast": 50, "trend.slow": 200},
        {"trend.fast": 100, "trend.slow": 200},
        {"trend.fast": 150, "trend.slow": 200},
    ]
    assert len(refused) == 6
    # A bad value of one param is named as such.
    sizes = parse_grid("trend.size=-0.01|-0.02")
    with pytest.raises(GridError) as err:
        bind(sizes, shipped).validate(sizes.param_sets(), skip_invalid=True)
    assert "trend.size: -0.01 is not allowed: must be > 0." in str(err.value)
    assert "2 of 2 param sets are refused (all of them); fix the ranges" in str(err.value)
    # A refused symbol too: it must be an instrument of bot.yaml.
    space = bind(parse_grid("trend.symbol=ETH/USDT"), shipped)
    assert "is not a configured instrument" in (space.check({"trend.symbol": "ETH/USDT"}) or "")


def test_optimize_checks_each_range_alone_before_its_first_trial(shipped: Any) -> None:
    with pytest.raises(GridError) as err:
        bind(parse_grid("trend.size=-1..1"), shipped).check_axes()
    assert "trend.size=-1 is refused by strategy trend's Params: -1 is not allowed" in str(
        err.value
    )
    # fast=300 with slow=200 from bot.yaml is a combination: left to the trials.
    bind(parse_grid("trend.fast=5..300,trend.slow=100..400"), shipped).check_axes()


def test_ranges_become_optuna_distributions_and_come_back_exact(shipped: Any) -> None:
    space = bind(
        parse_grid(
            "trend.fast=5..20,trend.size=0.01..0.05:0.01,trend.source=trades|bars,trend.slow=200"
        ),
        shipped,
    )
    d = space.distributions()
    assert d == {
        "trend.fast": IntDistribution(5, 20, step=1),
        "trend.size": FloatDistribution(0.01, 0.05, step=0.01),
        "trend.source": CategoricalDistribution(["trades", "bars"]),
    }
    got = space.decode(
        {"trend.fast": 7, "trend.size": 0.030000000000000002, "trend.source": "bars"}
    )
    assert got == {
        "trend.fast": 7,
        "trend.size": Decimal("0.03"),
        "trend.source": "bars",
        "trend.slow": 200,
    }
    assert str(got["trend.size"]) == "0.03"
    assert space.encode(got) == {"trend.fast": 7, "trend.size": 0.03, "trend.source": "bars"}


# -------------------------------------------------------------------- ranking


def _summary(pnl: str, sharpe: float | None, caveat: str = "short run") -> dict[str, Any]:
    return {
        "strategy_pnl": {"total": pnl, "by_strategy": {}},
        "sharpe": sharpe,
        "sharpe_caveat": caveat,
        "max_drawdown": {"fraction": 0.1, "absolute": "5"},
    }


def test_null_metrics_are_listed_unranked_and_failed_runs_last() -> None:
    summaries = {
        1: _summary("5", 1.5, "se 3"),
        2: _summary("9", None),
        3: None,
        4: _summary("-2", 2.5, "se 3"),
        5: _summary("7", None),
    }
    r = rank(summaries, METRICS["sharpe"])
    assert r.order == [4, 1, 2, 5, 3]
    assert r.ranks == {4: 1, 1: 2, 2: None, 5: None, 3: None}
    assert r.metric == "sharpe"
    assert r.note == (
        "2 run(s) have no sharpe (null: short run); they are listed after the ranked runs, unranked"
    )


def test_when_no_run_has_the_metric_the_ranks_follow_strategy_pnl_and_say_so() -> None:
    r = rank({1: _summary("1.5", None), 2: _summary("2.25", None)}, METRICS["sharpe"])
    assert (r.order, r.metric) == ([2, 1], "strategy_pnl")
    assert r.note == "ranked by strategy_pnl: sharpe is null in every run (short run)"


def test_exact_decimal_ranking_and_the_direction() -> None:
    # 0.1 + 0.2 vs 0.3: equal as decimals, so the run id breaks the tie.
    r = rank({1: _summary("0.30", 0.0), 2: _summary("0.3", 0.0)}, METRICS["strategy_pnl"])
    assert r.order == [1, 2]
    r = rank({1: _summary("1", 0.0), 2: _summary("2", 0.0)}, METRICS["strategy_pnl"], "min")
    assert r.order == [1, 2] and r.direction == "min"
    assert get_metric("strategy_pnl.trend", ["trend"]).name == "strategy_pnl.trend"
    with pytest.raises(ValueError, match=r"'sharp' is not a metric; did you mean 'sharpe'\?"):
        get_metric("sharp")


# --------------------------------------------------------------- walk-forward


def test_windows_roll_by_the_test_length_and_never_overlap_their_test() -> None:
    p = plan(0, 10 * DAY_NS + 5, 3 * DAY_NS, 2 * DAY_NS)
    assert [(w.train_start, w.train_end, w.test_start, w.test_end) for w in p.windows] == [
        (0, 3 * DAY_NS, 3 * DAY_NS, 5 * DAY_NS),
        (2 * DAY_NS, 5 * DAY_NS, 5 * DAY_NS, 7 * DAY_NS),
        (4 * DAY_NS, 7 * DAY_NS, 7 * DAY_NS, 9 * DAY_NS),
    ]
    assert p.unused_ns == DAY_NS + 5
    with pytest.raises(SweepError, match=r"shorter than one train window and one test window"):
        plan(0, 4 * DAY_NS, 3 * DAY_NS, 2 * DAY_NS)
    assert parse_spec("train=30d,test=7d") == (30 * DAY_NS, 7 * DAY_NS)
    for bad in ("train=30d", "train=30d,test=7d,step=1d", "train=30x,test=1d", "test=1d,test=2d"):
        with pytest.raises(SweepError, match="--walk-forward"):
            parse_spec(bad)


def test_the_range_is_the_catalogs_coverage_unless_bot_yaml_sets_it(tmp_path: Path) -> None:
    from botkit.sweep.tasks import ns_to_datetime

    write_trades(tmp_path / "data", toy_prices(), 60 * 10**9)
    config = load_config(bot_yaml(tmp_path, TOY))
    # 200 trades a minute apart: from the first to just after the last.
    assert data_range(config) == (START_NS, START_NS + 199 * 60 * 10**9 + 1)
    hour = 3600 * 10**9

    def ranged(start: int | None, end: int | None) -> Any:
        data = config.data.model_copy(
            update={
                "start": None if start is None else ns_to_datetime(start),
                "end": None if end is None else ns_to_datetime(end),
            }
        )
        return config.model_copy(update={"data": data})

    assert data_range(ranged(START_NS + hour, None)) == (
        START_NS + hour,
        START_NS + 199 * 60 * 10**9 + 1,
    )
    assert data_range(ranged(START_NS + hour, START_NS + 2 * hour)) == (
        START_NS + hour,
        START_NS + 2 * hour,
    )


def _test_run(window: int, pnl: str, change: str, curve: list[tuple[int, str]]) -> RunOutcome:
    return RunOutcome(
        run_id=window,
        params={},
        summary={
            "strategy_pnl": {"total": pnl},
            "equity_change": change,
            "quote_asset": "USDT",
        },
        error=None,
        wall_s=0.0,
        version="x",
        worker="w",
        equity=curve,
        tag={"window": window, "phase": "test"},
    )


def test_the_test_windows_join_exactly_and_their_curves_chain() -> None:
    joined = join(
        [
            _test_run(1, "-0.3", "-0.3", [(30, "1000"), (40, "999.7")]),
            _test_run(0, "0.1", "0.1", [(10, "1000"), (20, "1000.1")]),
        ]
    )
    assert joined is not None
    assert joined.strategy_pnl == Decimal("-0.2")  # exact: not -0.19999999999999998
    assert [(ts, str(v), k) for ts, v, k in joined.equity] == [
        (10, "1000", 0),
        (20, "1000.1", 0),
        (30, "1000.1", 1),  # window 1 starts where window 0 ended
        (40, "999.8", 1),
    ]
    assert joined.end_equity - joined.start_equity == Decimal("-0.2")  # type: ignore[operator]


# ----------------------------------------------------------- the command


def test_the_progress_line_counts_runs_failures_and_the_best_so_far() -> None:
    out = io.StringIO()
    bar = SweepProgress(0, enabled=True, stream=out)
    bar.add(4)
    ok = _test_run(0, "5", "5", [])
    bar.update(ok, "strategy_pnl 5 USDT")
    bar.update(failed(_spec(), "boom"))
    line = bar.render()
    assert line.startswith("sweep [############............] 2/4 runs  1 failed  ")
    assert "best strategy_pnl 5 USDT  ETA 0:0" in line
    bar.close()
    assert out.getvalue().endswith("\n") and "\r" in out.getvalue()
    quiet = io.StringIO()
    SweepProgress(3, stream=quiet).update(ok)  # not a terminal: silent
    assert quiet.getvalue() == ""


def _spec() -> Any:
    from botkit.sweep.tasks import RunSpec

    return RunSpec(1, "", "bot.yaml", ".", {"fast": 5}, {0: {"fast": 5}})


def test_mistakes_stop_the_command_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_trades(tmp_path / "data", toy_prices(), 60 * 10**9)
    bot = bot_yaml(tmp_path, EMA)
    out = tmp_path / "out"
    cases = [
        (["--grid", "fast=5..60:5,slow=30..60:10"], "is refused by the Params of trend"),
        (["--grid", "fast=5..20", "--metric", "sharp"], "did you mean 'sharpe'?"),
        (["--grid", "fsat=5"], "has no param 'fsat'; did you mean 'fast'?"),
        (["--grid", "fast=5", "--scheduler", "tcp://127.0.0.1:1"], "with --scheduler leave"),
        (["--grid", "fast=5", "--walk-forward", "train=1d,test=1d"], "shorter than one train"),
        (["--grid", "fast=5", "--study", "x.sqlite"], "--study and --batch belong to --optimize"),
        (["--grid", "fast=5", "--start", "yesterday"], "--start:"),
        (["--grid", "fast=5,slow=60", "--optimize"], "needs a param with more than one value"),
        (["--grid", "fast=5", "--out", str(bot)], "is a file, not a folder"),
    ]
    for args, says in cases:
        where = [] if "--out" in args else ["--out", str(out)]
        code = main(["sweep", str(bot), *args, "--workers", "2", *where])
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        assert err.startswith("error: ") and says in err, (args, err)
        assert not out.exists()  # nothing ran, nothing was written
