"""Shared fixtures: the instrument most tests trade, and paths beside the repo."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

from botkit import Instrument
from botkit.backtest.sample import SampleSpec, write_sample

# Property tests explore the same examples on every run, so a run's verdict is the
# code's and not the dice's; set HYPOTHESIS_PROFILE=explore to search afresh (and keep
# what it finds as an @example).
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture
def btc() -> Instrument:
    return Instrument(
        "sim",
        "BTC/USDT",
        "BTC",
        "USDT",
        tick_size="0.01",
        lot_size="0.001",
        min_notional="5",
        maker_fee="0.001",
        taker_fee="0.002",
    )


@pytest.fixture(scope="session")
def small_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 15-minute sample catalog (every kind, sim BTC/USDT); copy it before changing it."""
    root = tmp_path_factory.mktemp("small") / "data"
    write_sample(root, SampleSpec(hours=0.25))
    return root


@pytest.fixture
def bot(tmp_path: Path, small_catalog: Path) -> Path:
    """The shipped bot.yaml on a private copy of the 15-minute sample catalog."""
    shutil.copytree(small_catalog, tmp_path / "data")
    text = (ROOT / "bot.yaml").read_text().replace("catalog: backtest_data", "catalog: data")
    (tmp_path / "bot.yaml").write_text(text)
    return tmp_path / "bot.yaml"
