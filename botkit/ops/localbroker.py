"""A real MQTT broker on 127.0.0.1, for tests, benchmarks and trying telemetry out.

:class:`LocalBroker` runs ``mosquitto`` when it is installed (looked up on the
PATH and in the sbin folders, where Debian puts it), else the pure-Python
``amqtt`` broker (a test extra) in a subprocess. Either way it is a separate
process on a free port that can be stopped, killed and started again on the
same port, with optional users (password file, no anonymous access), topic
ACLs and TLS::

    with LocalBroker(tmp, users={"bot": "pw"}, acl={"bot": Access(write=["botkit/#"])}) as b:
        print(b.host, b.port)

Only 127.0.0.1 is ever listened on.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
_SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")


def find_binary(name: str) -> str | None:
    """``name`` on the PATH, else in the sbin folders (where mosquitto usually is)."""
    found = shutil.which(name)
    if found:
        return found
    for folder in _SBIN:
        path = Path(folder) / name
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def available_kind() -> str:
    """``mosquitto`` when installed, else ``amqtt``."""
    return "mosquitto" if find_binary("mosquitto") else "amqtt"


@dataclass(frozen=True)
class Access:
    """Topic filters a user may subscribe to (``read``) and publish on (``write``)."""

    read: Sequence[str] = field(default_factory=tuple)
    write: Sequence[str] = field(default_factory=tuple)


def mosquitto_hash(password: str, iterations: int = 101) -> str:
    """A mosquitto 2 password-file hash (``$7$``: PBKDF2-SHA512), as mosquitto_passwd writes."""
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


class LocalBroker:
    """One broker process in ``workdir``; ``kind`` None picks mosquitto if installed."""

    def __init__(
        self,
        workdir: Path,
        *,
        kind: str | None = None,
        users: Mapping[str, str] | None = None,
        acl: Mapping[str, Access] | None = None,
        port: int | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.kind = kind or available_kind()
        if self.kind not in ("mosquitto", "amqtt"):
            raise ValueError(f"unknown broker kind {self.kind!r}: mosquitto or amqtt")
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.users = dict(users or {})
        self.acl = dict(acl or {})
        self.tls = tls  # (certificate, private key): the listener speaks TLS only
        self.host = HOST
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = self.workdir / f"{self.kind}.log"
        self._config = self._write_config()

    # ----- configuration ---------------------------------------------------------------

    def _write_config(self) -> Path:
        return self._mosquitto_config() if self.kind == "mosquitto" else self._amqtt_config()

    def _mosquitto_config(self) -> Path:
        lines = [
            f"listener {self.port} {HOST}",
            *([f"certfile {self.tls[0]}", f"keyfile {self.tls[1]}"] if self.tls else []),
            f"allow_anonymous {'false' if self.users else 'true'}",
            "persistence false",
            "set_tcp_nodelay true",  # acknowledge QoS 1 at once, not after Nagle's delay
            # Run as root, mosquitto would switch to its own user, who cannot read a
            # private temporary folder: stay who we are.
            f"user {getpass.getuser()}",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if self.users:
            pw = self.workdir / "mosquitto.passwd"
            self._mosquitto_passwords(pw)
            lines.append(f"password_file {pw}")
        if self.acl:
            acl = self.workdir / "mosquitto.acl"
            acl.write_text(mosquitto_acl(self.acl))
            lines.append(f"acl_file {acl}")
        path = self.workdir / "mosquitto.conf"
        path.write_text("\n".join(lines) + "\n")
        return path

    def _mosquitto_passwords(self, path: Path) -> None:
        tool = find_binary("mosquitto_passwd")
        if tool is not None:
            path.unlink(missing_ok=True)
            path.touch(mode=0o600)
            for user, password in self.users.items():
                subprocess.run([tool, "-b", str(path), user, password], check=True, timeout=30)
        else:
            path.write_text("".join(f"{u}:{mosquitto_hash(p)}\n" for u, p in self.users.items()))
            path.chmod(0o600)

    def _amqtt_config(self) -> Path:
        import yaml

        plugins: dict[str, object] = {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": not self.users},
        }
        if self.users:
            from pwdlib.hashers.argon2 import Argon2Hasher

            pw = self.workdir / "amqtt.passwd"
            hasher = Argon2Hasher()
            pw.write_text("".join(f"{u}:{hasher.hash(p)}\n" for u, p in self.users.items()))
            plugins["amqtt.plugins.authentication.FileAuthPlugin"] = {"password_file": str(pw)}
        if self.acl:
            plugins["amqtt.plugins.topic_checking.TopicAccessControlListPlugin"] = {
                "publish_acl": {u: list(a.write) for u, a in self.acl.items()},
                # amqtt reads the subscribe ACL from "acl" (its Config has no subscribe_acl).
                "acl": {u: list(a.read) for u, a in self.acl.items()},
            }
        listener: dict[str, object] = {"type": "tcp", "bind": f"{HOST}:{self.port}"}
        if self.tls:
            listener.update(ssl=True, certfile=str(self.tls[0]), keyfile=str(self.tls[1]))
        config = {"listeners": {"default": listener}, "plugins": plugins}
        path = self.workdir / "amqtt.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    # ----- the process -------------------------------------------------------------------

    def _command(self) -> list[str]:
        if self.kind == "mosquitto":
            binary = find_binary("mosquitto")
            if binary is None:
                raise RuntimeError("mosquitto is not installed")
            return [binary, "-c", str(self._config)]
        return [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(self._config)]

    def start(self, timeout_s: float = 20.0) -> LocalBroker:
        """Start the broker and wait until it accepts connections."""
        if self.running:
            return self
        log = self._log.open("ab")
        self.proc = subprocess.Popen(
            self._command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited at start: {self.log_tail()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.kind} did not listen on {HOST}:{self.port}: {self.log_tail()}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, kill: bool = False) -> None:
        """Stop the broker: SIGTERM (a clean shutdown), or SIGKILL with ``kill``."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def kill(self) -> None:
        """Kill the broker at once (SIGKILL): clients see their connection drop."""
        self.stop(kill=True)

    def restart(self) -> LocalBroker:
        self.stop()
        return self.start()

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self._log.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def mosquitto_acl(acl: Mapping[str, Access]) -> str:
    """A mosquitto ``acl_file`` for ``acl`` (read: subscribe, write: publish)."""
    out = []
    for user, access in acl.items():
        out.append(f"user {user}")
        writable = set(access.write)
        for topic in access.read:
            out.append(f"topic {'readwrite' if topic in writable else 'read'} {topic}")
        out += [f"topic write {t}" for t in access.write if t not in set(access.read)]
        out.append("")
    return "\n".join(out)


__all__ = ["Access", "LocalBroker", "available_kind", "find_binary", "free_port", "mosquitto_acl"]
