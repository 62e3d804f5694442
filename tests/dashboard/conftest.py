"""What the dashboard's tests share: a real headless Chromium, a `botkit dashboard`
process, and a record of the screenshots and timings each run took.

The browser is Debian's ``chromium`` driven through Debian's ``chromedriver`` with
Selenium (W3C WebDriver): the driver matches the browser's version, nothing is
downloaded, and a test reads as what a person does (type, click, wait for text).
When Chromium cannot be started the tests fail, saying how to install it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from botkit.ops.localbroker import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("BOTKIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = (
    os.environ.get("BOTKIT_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
)
INSTALL = "apt-get install -y chromium chromium-driver (what .ci/run does before the tests)"
# As a machine with no network beyond 127.0.0.1 needs it: no sandbox (root), no GPU, and
# none of Chromium's own background connections.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--window-size=1400,1100",
)

# Filled by the tests, printed at the end of the run (pytest_terminal_summary).
SCREENSHOTS: list[str] = []
FIGURES: dict[str, str] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not SCREENSHOTS and not FIGURES:
        return
    tr = terminalreporter
    tr.section("dashboard")
    for name, value in FIGURES.items():
        tr.write_line(f"{name}: {value}")
    for path in SCREENSHOTS:
        tr.write_line(f"screenshot: {path}")


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the screenshots go to (printed at the end of the run)."""
    return tmp_path_factory.mktemp("screenshots")


def screenshot(driver: Any, folder: Path, name: str) -> Path:
    path = folder / f"{len(SCREENSHOTS) + 1:02d}-{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot at {path}"
    SCREENSHOTS.append(str(path))
    print(f"screenshot: {path}")
    return path


def _can_install() -> bool:
    """Debian's apt as root: then a missing Chromium is installed (index refreshed first)."""
    if shutil.which("apt-get") is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
    return done.returncode == 0


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the whole run (each test starts from its own page)."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    if missing and _can_install():
        # The browser is a real part these tests need, so they start it as they start a
        # broker: on a fresh Debian machine (as root) the README's test command installs it.
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            capture_output=True,
            timeout=900,
            check=False,
        )
        missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    if missing:
        pytest.fail(f"Chromium is not installed ({', '.join(missing)} missing): {INSTALL}")
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except WebDriverException as exc:
        pytest.fail(f"Chromium could not be started ({exc.msg}); {INSTALL}")
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


class DashboardProcess:
    """`botkit dashboard` in a subprocess on a free port of 127.0.0.1."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(args[0]).parent / f"dashboard-{self.port}.log"
        out = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "botkit.cli", "dashboard", *args, "--port", str(self.port)],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        out.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"botkit dashboard exited: {self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError(f"botkit dashboard did not listen: {self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.output()
