"""``botkit sweep``: many backtests of one bot.yaml on a Dask cluster (docs/sweeps.md).

``register(subparsers)`` adds the command to the main parser. Exit codes: 0 done
(at least one run succeeded); 1 every run failed (each row of results.csv has
its error); 2 a mistake in bot.yaml, the grid, the options or the data, found
before anything ran; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_ALL_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``sweep`` to an argparse subparsers object."""
    sp: argparse.ArgumentParser = subparsers.add_parser(
        "sweep",
        help="run many backtests (a grid, an Optuna search, walk-forward) on Dask",
        description=(
            "Run the backtest of bot.yaml once per param set, on a Dask LocalCluster "
            "(--workers) or a running scheduler (--scheduler), and write results.csv, "
            "results.html and sweep.json ranked by --metric. docs/sweeps.md has the grid "
            "syntax and examples."
        ),
        epilog=(
            "examples:\n"
            "  botkit sweep bot.yaml --grid 'fast=5..20,slow=30..100:10'\n"
            "  botkit sweep bot.yaml --grid 'trend.fast=5..30,trend.size=0.01..0.05:0.01' \\\n"
            "      --optimize --trials 60 --seed 1 --study runs/ema.sqlite\n"
            "  botkit sweep bot.yaml --grid 'fast=5..20:5,slow=40|80' \\\n"
            "      --walk-forward train=3d,test=1d"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sp.add_argument("config", help="path to bot.yaml")
    sp.add_argument(
        "--grid",
        action="append",
        required=True,
        metavar="SPEC",
        help="params to sweep: name=low..high[:step] | a|b|c | value, comma separated; "
        "name is param (one strategy) or strategy.param (repeatable)",
    )
    sp.add_argument("--optimize", action="store_true", help="search the grid with Optuna (TPE)")
    sp.add_argument("--trials", type=int, default=50, help="Optuna: trials the study reaches (50)")
    sp.add_argument("--seed", type=int, default=0, help="Optuna sampler seed, recorded per run (0)")
    sp.add_argument(
        "--metric",
        default="strategy_pnl",
        help="rank (and optimise) by: strategy_pnl, equity_change, return, sharpe, sortino, "
        "max_drawdown, max_drawdown_abs, fees, volume, fills, orders, rejects, "
        "strategy_pnl.<strategy> (strategy_pnl)",
    )
    sp.add_argument(
        "--direction", choices=("max", "min"), help="best is the max or min (the metric's own)"
    )
    sp.add_argument("--study", type=Path, help="Optuna: SQLite file (OUT/study.sqlite)")
    sp.add_argument("--study-name", default="botkit-sweep", help="Optuna: study name")
    sp.add_argument(
        "--batch", type=int, help="Optuna: trials asked at once (default: the cluster's slots)"
    )
    sp.add_argument(
        "--walk-forward",
        metavar="train=D,test=D",
        help="optimise on each train window, run the best on the test window after it",
    )
    sp.add_argument("--workers", type=int, help="LocalCluster processes (one per core); 0: no Dask")
    sp.add_argument("--scheduler", help="a running Dask scheduler, e.g. tcp://127.0.0.1:8786")
    sp.add_argument(
        "--catalog", help="the data catalog's path as the workers see it (data.catalog)"
    )
    sp.add_argument("--out", type=Path, help="output folder (reports/sweep beside bot.yaml)")
    sp.add_argument("--start", help="replay from this UTC date/time (overrides data.start)")
    sp.add_argument("--end", help="replay up to this UTC date/time, exclusive (data.end)")
    sp.add_argument(
        "--skip-invalid",
        action="store_true",
        help="leave out the param sets the strategy's Params refuse (else an error)",
    )
    sp.add_argument(
        "--allow-errors",
        action="store_true",
        help="count runs whose strategy hooks raised as ok (else failed)",
    )
    sp.add_argument("--top", type=int, default=10, help="rows printed (10)")
    sp.add_argument("--no-progress", action="store_true", help="no progress line")
    sp.set_defaults(func=cmd_sweep)
    return sp


def _time(option: str, text: str | None) -> Any:
    if text is None:
        return None
    from pydantic import TypeAdapter, ValidationError

    from botkit.config.values import UtcDatetime

    try:
        return TypeAdapter(UtcDatetime).validate_python(text)
    except ValidationError as exc:
        reason = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
        raise ValueError(f"{option}: {reason}") from None


def cmd_sweep(args: argparse.Namespace) -> int:
    import logging

    from botkit.backtest.catalog import CatalogError
    from botkit.config import ConfigError
    from botkit.sweep.grid import GridError
    from botkit.sweep.report import format_top
    from botkit.sweep.run import SweepOptions, sweep
    from botkit.sweep.runners import MetricUnavailable, SweepError

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        if args.scheduler and args.workers is not None:
            raise ValueError("--workers starts a LocalCluster; with --scheduler leave it out")
        if args.workers is not None and args.workers < 0:
            raise ValueError("--workers must be >= 0")
        if not args.optimize and (args.batch is not None or args.study is not None):
            raise ValueError("--study and --batch belong to --optimize")
        options = SweepOptions(
            config=args.config,
            grid=args.grid,
            optimize=args.optimize,
            trials=args.trials,
            seed=args.seed,
            metric=args.metric,
            direction=args.direction,
            study=args.study,
            study_name=args.study_name,
            batch=args.batch,
            walk_forward=args.walk_forward,
            workers=args.workers,
            scheduler=args.scheduler,
            catalog=args.catalog,
            out=args.out,
            start=_time("--start", args.start),
            end=_time("--end", args.end),
            skip_invalid=args.skip_invalid,
            allow_errors=args.allow_errors,
            progress=False if args.no_progress else None,
        )
        out = sweep(options)
    except MetricUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ConfigError, GridError, SweepError, CatalogError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: no results written (an Optuna study resumes)", file=sys.stderr)
        return EXIT_INTERRUPTED
    meta = out.meta
    counts = meta["counts"]
    print(
        f"{meta['mode']}: {counts['runs']:,} runs ({counts['ok']:,} ok, {counts['failed']:,} "
        f"failed) on {meta['where']} in {meta['wall_s']:.1f} s"
        + (
            f"; {counts['refused_skipped']:,} param sets skipped"
            if counts["refused_skipped"]
            else ""
        )
    )
    rk = meta["ranking"]
    print(f"ranked by {rk['metric']} ({rk['direction']} is best)")
    if rk.get("note"):
        print(f"note: {rk['note']}")
    print(format_top(out.header, out.rows, out.labels, args.top))
    walk = meta.get("walk_forward")
    if walk and walk["joined"]:
        j = walk["joined"]
        print(
            f"out of sample: {j['windows']} test window(s), strategy PnL {j['strategy_pnl']} "
            f"{j['quote_asset']} (summed), equity change {j['equity_change']} {j['quote_asset']}"
        )
    st = meta.get("study")
    if st and "names" in st:
        print(f"studies: {', '.join(st['names'])} in {st['file']}")
    elif st:
        print(
            f"study: {st['name']} in {st['file']} ({st['trials']} trials, {st['ran_now']} run now)"
        )
    print(f"results: {out.out_dir / 'results.csv'}, {out.out_dir / 'results.html'}")
    if out.exit_code:
        print("error: every run failed; results.csv has each error", file=sys.stderr)
    return out.exit_code
