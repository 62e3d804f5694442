"""The dashboard's login: password hashes, sessions, CSRF and failed-login limits.

The server is the real aiohttp application on a real socket of 127.0.0.1
(aiohttp's test server), asked over HTTP; no bot is needed to refuse a login.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from botkit.cli import main
from botkit.config import ConfigError, parse_config
from botkit.config.dashboard import HASH_FORMAT
from botkit.dashboard.hub import Hub
from botkit.dashboard.passwords import PasswordError, hash_password, parse_hash, verify_password
from botkit.dashboard.server import Dashboard, Login
from botkit.dashboard.sessions import Sessions
from botkit.dashboard.throttle import LoginThrottle
from botkit.redact import Secret

PASSWORD = "a-long-passphrase-81"
HASH = hash_password(PASSWORD, ln=10)  # cheaper than the default, for the tests


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ----- passwords ------------------------------------------------------------------------------


def test_a_hash_checks_its_password_only_and_never_repeats() -> None:
    stored = hash_password(PASSWORD)
    assert HASH_FORMAT.fullmatch(stored) and stored.startswith("scrypt$ln=15,r=8,p=1$")
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD + " ", stored)
    assert hash_password(PASSWORD) != stored  # a new salt every time
    assert PASSWORD not in stored


def test_short_passwords_and_unreadable_or_absurd_hashes_are_refused() -> None:
    with pytest.raises(PasswordError, match="at least 8"):
        hash_password("short")
    for bad in (
        "hunter2",
        "scrypt$ln=15,r=8,p=1$c2FsdA$",
        "scrypt$ln=30,r=8,p=1$" + "A" * 22 + "$" + "B" * 43,
    ):
        with pytest.raises(PasswordError):
            parse_hash(bad)


def test_hash_password_reads_the_password_from_stdin_and_prints_only_the_hash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["dashboard", "hash-password"]) == 0
    printed = capsys.readouterr().out.strip()
    assert verify_password(PASSWORD, printed) and PASSWORD not in printed
    monkeypatch.setattr(sys, "stdin", io.StringIO("abc\n"))
    assert main(["dashboard", "hash-password"]) == 2
    assert "at least 8 characters" in capsys.readouterr().err


# ----- the config section --------------------------------------------------------------------

BOT = """
instruments: [{symbol: BTC/USDT, tick_size: "0.01", lot_size: "0.001"}]
strategies: [{use: ema_cross, params: {symbol: BTC/USDT}}]
"""


def test_the_dashboard_section_holds_a_hash_that_never_prints() -> None:
    cfg = parse_config(BOT + f'dashboard: {{username: alice, password_hash: "{HASH}"}}')
    d = cfg.dashboard
    assert d is not None and d.username == "alice" and d.port == 8780
    assert verify_password(PASSWORD, d.password_hash)
    assert HASH not in repr(cfg) and HASH not in str(cfg.redacted_dict())
    assert d.password_hash in cfg.secrets()  # scrubbed from the bot's logs too


def test_a_password_written_where_the_hash_goes_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(BOT + "dashboard: {username: alice, password_hash: my-secret-password}")
    assert "dashboard.password_hash" in str(err.value) and "hash-password" in str(err.value)
    assert "my-secret-password" not in str(err.value)
    with pytest.raises(ConfigError, match="mqtt_username"):
        parse_config(
            BOT + f'dashboard: {{username: a, password_hash: "{HASH}", mqtt_password_env: X}}'
        )


def test_botkit_dashboard_says_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = tmp_path / "bot.yaml"
    bot.write_text(BOT)
    only = tmp_path / "dashboard.yaml"
    only.write_text(f'dashboard: {{username: alice, password_hash: "{HASH}"}}\n')
    said = []
    for args, why in (
        ([str(bot)], "has no dashboard: section"),
        ([str(only)], "no broker and no journal"),
        ([str(only), "--journal", str(tmp_path / "nope.sqlite")], "no journal at"),
        ([str(only), "--broker", "127.0.0.1:x"], "--broker takes HOST[:PORT]"),
    ):
        assert main(["dashboard", *args]) == 2
        said.append(capsys.readouterr().err)
        assert why in said[-1]
    assert not [text for text in said if HASH in text]


# ----- sessions and the throttle -------------------------------------------------------------


def test_sessions_end_when_idle_or_old_and_a_login_replaces_the_session() -> None:
    clock = Clock()
    sessions = Sessions(ttl_s=100, idle_s=30, clock=clock)
    anon = sessions.new()
    assert not anon.authenticated and sessions.get(anon.id) is anon
    user = sessions.login(anon, "alice")
    assert user.id != anon.id and user.csrf != anon.csrf and sessions.get(anon.id) is None
    assert user.csrf_ok(user.csrf) and not user.csrf_ok(anon.csrf) and not user.csrf_ok(None)
    for _ in range(4):  # used every 25 s: alive until the 100 s ttl
        clock.now += 25
        assert sessions.get(user.id) is user
    clock.now += 1
    assert sessions.get(user.id) is None
    idle = sessions.new("alice")
    clock.now += 31
    assert sessions.get(idle.id) is None


def test_the_throttle_refuses_after_the_attempts_until_the_window_passes() -> None:
    clock = Clock()
    throttle = LoginThrottle(attempts=3, window_s=60, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("ip:1", "user:a") == 0
        throttle.failed("ip:1", "user:a")
        clock.now += 1
    assert throttle.retry_after("ip:1") == pytest.approx(57)
    assert throttle.retry_after("user:a") == pytest.approx(57)  # the user, from anywhere
    assert throttle.retry_after("ip:2", "user:b") == 0
    clock.now += 57
    assert throttle.retry_after("ip:1", "user:a") == 0
    throttle.failed("ip:1")
    throttle.succeeded("ip:1")
    assert throttle.retry_after("ip:1") == 0


# ----- the server ----------------------------------------------------------------------------


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    login = Login("alice", Secret(HASH), login_attempts=3, login_window_s=60)
    dashboard = Dashboard(login, Hub())
    jar = aiohttp.CookieJar(unsafe=True)
    async with TestClient(TestServer(dashboard.app, host="127.0.0.1"), cookie_jar=jar) as c:
        yield c


def token(page: str) -> str:
    m = re.search(r'(?:name="csrf" value|name="csrf-token" content)="([^"]+)"', page)
    assert m, page
    return m.group(1)


async def login_form(client: TestClient) -> str:
    r = await client.get("/login")
    assert r.status == 200
    return token(await r.text())


async def test_nothing_but_the_login_page_opens_without_a_session(client: TestClient) -> None:
    page = await client.get("/", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/login"
    for path in ("/api/bots", "/api/runs", "/api/run?id=x", "/ws"):
        assert (await client.get(path)).status == 401, path
    r = await client.get("/login")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY"


async def test_a_login_needs_the_forms_token_and_the_right_password(client: TestClient) -> None:
    csrf = await login_form(client)
    before = client.session.cookie_jar.filter_cookies(client.make_url("/"))["botkit_session"].value
    creds = {"username": "alice", "password": PASSWORD}
    assert (await client.post("/login", data=creds, allow_redirects=False)).status == 403
    wrong = await client.post("/login", data={**creds, "password": "nope", "csrf": csrf})
    assert wrong.status == 401 and "Wrong username or password." in await wrong.text()
    nobody = await client.post("/login", data={**creds, "username": "mallory", "csrf": csrf})
    assert nobody.status == 401
    ok = await client.post("/login", data={**creds, "csrf": csrf}, allow_redirects=False)
    assert ok.status == 303 and ok.headers["Location"] == "/"
    after = client.session.cookie_jar.filter_cookies(client.make_url("/"))["botkit_session"].value
    assert after != before  # a new session at login: a planted id is worth nothing
    page = await client.get("/")
    assert page.status == 200 and HASH not in await page.text()
    assert (await client.get("/api/bots")).status == 200


async def test_failed_logins_are_rate_limited_even_for_the_right_password(
    client: TestClient,
) -> None:
    csrf = await login_form(client)
    for _ in range(3):
        r = await client.post(
            "/login", data={"username": "alice", "password": "x" * 9, "csrf": csrf}
        )
        assert r.status == 401
    locked = await client.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf": csrf}
    )
    assert locked.status == 429 and int(locked.headers["Retry-After"]) > 0
    assert "Too many failed logins" in await locked.text()
    assert (await client.get("/api/bots")).status == 401


async def test_state_changing_requests_need_the_sessions_token(client: TestClient) -> None:
    csrf = await login_form(client)
    await client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf": csrf})
    app_token = token(await (await client.get("/")).text())
    assert app_token != csrf
    control = "/api/bots/b1/control"
    assert (await client.post(control, json={"command": "halt", "confirm": True})).status == 403
    with_token = {"X-CSRF-Token": app_token}
    # Past the token, the request is read: a destructive command needs its confirmation.
    unconfirmed = await client.post(control, json={"command": "halt"}, headers=with_token)
    assert unconfirmed.status == 400 and "confirm" in (await unconfirmed.json())["error"]
    unknown = await client.post(control, json={"command": "set_param"}, headers=with_token)
    assert unknown.status == 400
    missing = await client.post(control, json={"command": "pause"}, headers=with_token)
    assert missing.status == 404  # no bot b1 here
    assert (await client.post("/logout", allow_redirects=False)).status == 403
    out = await client.post("/logout", data={"csrf": app_token}, allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/login"
    assert (await client.get("/api/bots")).status == 401


async def test_cookies_are_secure_when_served_over_tls() -> None:
    dashboard = Dashboard(Login("alice", Secret(HASH), secure_cookies=True), Hub())
    async with TestClient(TestServer(dashboard.app, host="127.0.0.1")) as c:
        r = await c.get("/login")
        assert "Secure" in r.headers["Set-Cookie"]
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_stopping_the_server_closes_an_open_pages_websocket_at_once() -> None:
    # A stopping server waits for its handlers; an open page must not hold it up.
    import asyncio
    import time

    login = Login("alice", Secret(HASH), login_attempts=3, login_window_s=60)
    server = TestServer(Dashboard(login, Hub()).app, host="127.0.0.1")
    client = TestClient(server, cookie_jar=aiohttp.CookieJar(unsafe=True))
    await client.start_server()
    try:
        csrf = await login_form(client)
        creds = {"username": "alice", "password": PASSWORD, "csrf": csrf}
        assert (await client.post("/login", data=creds, allow_redirects=False)).status == 303
        ws = await client.ws_connect(f"/ws?csrf={token(await (await client.get('/')).text())}")
        assert (await ws.receive_json())["type"]  # the page is live
        started = time.monotonic()
        await asyncio.wait_for(server.close(), timeout=5)
        assert time.monotonic() - started < 2
        ends = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
        while (await ws.receive(timeout=2)).type not in ends:
            pass  # messages sent before the close
        assert ws.closed
    finally:
        await client.close()
