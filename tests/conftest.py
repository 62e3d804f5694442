"""Shared fixtures: the instrument most tests trade, and paths beside the repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from botkit import Instrument

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
