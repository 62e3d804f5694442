"""Over TLS: the bot verifies the broker against `mqtt.tls.ca_file`, publishes and takes
commands; `botkit ctl -c bot.yaml` connects the same way. The certificates are
made for the test by the `openssl` command: a CA, and a server certificate for
127.0.0.1 signed by it."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from botkit.ops.localbroker import LocalBroker
from botkit.ops.topics import FILLS, STATUS

from .conftest import KIND
from .helpers import ROOT, Bot, Watcher, bot_yaml


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for 127.0.0.1."""
    openssl = shutil.which("openssl")
    assert openssl, "the openssl command makes the test's certificates"
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (
        folder / n for n in ("ca.key", "ca.pem", "k.pem", "s.csr", "s.pem")
    )
    ext = folder / "san.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)

    run(
        "req",
        "-x509",
        *ec,
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
        "-days",
        "2",
        "-subj",
        "/CN=botkit test CA",
    )
    run("req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    run(
        "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext),
    )  # fmt: skip
    return ca, cert, key


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[LocalBroker, Path]]:
    ca, cert, key = make_certificates(tmp_path / "certs")
    with LocalBroker(tmp_path / "broker", kind=KIND, tls=(cert, key)) as broker:
        yield broker, ca


async def test_the_bot_and_botkit_ctl_speak_tls_to_the_broker(
    tls_broker: tuple[LocalBroker, Path], tmp_path: Path
) -> None:
    broker, ca = tls_broker
    config = bot_yaml(tmp_path, broker, "t1", mqtt=f"  tls: {{ca_file: {ca}}}\n")
    bot = Bot(config)
    try:
        context = ssl.create_default_context(cafile=str(ca))
        async with Watcher(broker, "t1", tls_context=context) as watcher:
            await watcher.wait_for(STATUS, lambda p: p["state"] == "running", timeout_s=30)
            await watcher.wait_for(FILLS)
            ctl = subprocess.run(
                [sys.executable, "-m", "botkit.cli", "ctl", "t1", "status", "-c", str(config)],
                cwd=ROOT,
                env=os.environ,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert ctl.returncode == 0, ctl.stderr
            assert json.loads(ctl.stdout)["result"]["telemetry"]["connected"] is True
        summary = bot.stop()
    finally:
        if bot.proc.poll() is None:
            bot.kill()
    assert summary["fills"] > 0
    # A client that does not trust the CA (tls: true, the system's CAs) gets nowhere.
    untrusting = config.with_name("untrusting.yaml")
    untrusting.write_text(config.read_text().replace(f"tls: {{ca_file: {ca}}}", "tls: true"))
    refused = subprocess.run(
        [sys.executable, "-m", "botkit.cli", "ctl", "t1", "status", "-c", str(untrusting)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 3 and "CERTIFICATE_VERIFY_FAILED" in refused.stderr
