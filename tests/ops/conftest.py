"""A real MQTT broker for the tests: mosquitto when installed, else amqtt's (never a mock).

``BOTKIT_TEST_BROKER=amqtt`` runs the tests on the amqtt broker even where
mosquitto is installed (what a machine without mosquitto does).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from botkit.ops.localbroker import LocalBroker, available_kind

KIND = os.environ.get("BOTKIT_TEST_BROKER") or available_kind()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """An anonymous broker on a free port of 127.0.0.1, for one test."""
    with LocalBroker(tmp_path / "broker", kind=KIND) as b:
        yield b
