"""The shipped bot.yaml backtest gives the same orders and fills, byte for byte, as before
the speed work (issue 13): the book fast path and the order path change no number.

The digests are of the report's ``orders.csv`` and ``fills.csv`` as the per-event path
wrote them on the shipped sample (``backtest_data``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from botkit.backtest.runner import run_backtest
from botkit.config.loading import load_config

ROOT = Path(__file__).resolve().parents[1]

PINNED = {
    "fills.csv": "0404c69d6358cb9ad77022f412463141",
    "orders.csv": "812a076f443e1a0116328ab954239a97",
}


def test_shipped_bot_yaml_orders_and_fills_are_unchanged(tmp_path: Path) -> None:
    config = load_config(ROOT / "bot.yaml")
    _result, summary = run_backtest(config, tmp_path, progress=False)
    digests = {name: hashlib.md5((tmp_path / name).read_bytes()).hexdigest() for name in PINNED}
    assert digests == PINNED
    assert summary["events"] == 254_182
    assert summary["final_equity"] == "226893.0374009734"
    assert summary["fees"] == "140.1392884266"
