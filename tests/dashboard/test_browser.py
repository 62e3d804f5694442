"""The dashboard end to end, in a real headless Chromium, against a real bot.

One desk serves the module: a broker with users and topic ACLs (mosquitto, else
amqtt); `botkit run` trading paper on the BlockTrade simulator (the stepper: a
market order every 200 ms and a buy resting below the market), its commands
signed; `botkit dashboard` started from the same bot.yaml, connected as its own
broker user; and a reports folder with a real backtest, a run of 10,000 fills and
a sweep. The tests log in, watch, steer and browse as a person does, and check
what they do on the bot itself (over MQTT and in its journal), not only on the
page. Each step leaves a screenshot; the paths and the timings are printed at the
end of the run. The halt comes last: it stops the bot's trading for good.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from ops.conftest import KIND
from ops.helpers import Bot, Watcher, bot_yaml
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from botkit.dashboard.passwords import hash_password
from botkit.journal import Journal
from botkit.ops.localbroker import Access, LocalBroker
from botkit.ops.topics import FILLS, ORDERS, REJECTS, STATUS

from . import data
from .conftest import FIGURES, ROOT, DashboardProcess, screenshot

USER, PASSWORD = "alice", "correct-horse-battery-7"
SIGNING = "dashboard-test-signing-4b1f"
USERS = {"bot": "bot-pw-81c", "dashboard": "dash-pw-2e9", "operator": "operator-pw-5a0"}
ACL = {
    "bot": Access(read=["botkit/dash1/#"], write=["botkit/dash1/#"]),
    # The dashboard reads every bot and may only publish commands.
    "dashboard": Access(read=["botkit/#"], write=["botkit/+/control"]),
    "operator": Access(read=["botkit/#"], write=["botkit/+/control"]),
}
BOT = "dash1"


@dataclass
class Desk:
    broker: LocalBroker
    bot: Bot
    dashboard: DashboardProcess
    config: Path
    reports: Path
    journal: Path
    big_fills: list[list[str]]
    sweep: list[dict[str, str]]
    secrets: tuple[str, ...]

    @property
    def url(self) -> str:
        return self.dashboard.url

    def operator(self, **kw: Any) -> Watcher:
        return Watcher(
            self.broker, BOT, username="operator", password=USERS["operator"], secret=SIGNING, **kw
        )


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    tmp = tmp_path_factory.mktemp("dashboard")
    reports = tmp / "reports"
    reports.mkdir()
    # A real backtest (the shipped bot.yaml, its first hour) while the bot starts.
    backtest = subprocess.Popen(
        [
            *(sys.executable, "-m", "botkit.cli", "backtest", "bot.yaml", "--no-progress"),
            *("--out", str(reports / "sample-1h"), "--end", "2024-03-04T01:00:00"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    big = data.big_run(reports / "big-run", fills=10_000)
    sweep = data.sweep(reports / "sweep-ema", fasts=(5, 10, 20, 40), slows=(50, 100, 200, 400, 800))
    password_hash = hash_password(PASSWORD)
    env = {
        "BOT_MQTT_PASSWORD": USERS["bot"],
        "BOT_SIGNING": SIGNING,
        "DASH_MQTT_PASSWORD": USERS["dashboard"],
    }
    with LocalBroker(tmp / "broker", kind=KIND, users=USERS, acl=ACL) as broker:
        config = bot_yaml(
            tmp,
            broker,
            BOT,
            mqtt="""  username: bot
  password: ${BOT_MQTT_PASSWORD}
  signing_secret_env: BOT_SIGNING
""",
            extra=f"""dashboard:
  username: {USER}
  password_hash: "{password_hash}"
  mqtt_username: dashboard
  mqtt_password_env: DASH_MQTT_PASSWORD
  reports: reports
""",
        )
        bot = Bot(config, env=env)
        dashboard = DashboardProcess(str(config), env=env)
        try:
            _, err = backtest.communicate(timeout=120)
            assert backtest.returncode == 0, err[-2000:]
            yield Desk(
                broker,
                bot,
                dashboard,
                config,
                reports,
                tmp / f"{BOT}.sqlite",
                big,
                sweep,
                (PASSWORD, password_hash, SIGNING, *USERS.values()),
            )
        finally:
            dashboard.stop()
            if bot.proc.poll() is None:
                bot.stop()


def wait(driver: Any, what: str, until: Any, timeout_s: float = 10.0) -> Any:
    # A page being replaced (a form posted) answers "stale" or "not in the document"
    # for a moment: look again, until the time is up.
    return WebDriverWait(
        driver, timeout_s, poll_frequency=0.05, ignored_exceptions=(WebDriverException,)
    ).until(until, message=what)


def css(driver: Any, selector: str) -> Any:
    return driver.find_element(By.CSS_SELECTOR, selector)


def log_in(driver: Any, url: str, user: str = USER, password: str = PASSWORD) -> None:
    driver.get(url + "/login")
    css(driver, "#username").send_keys(user)
    css(driver, "#password").send_keys(password)
    css(driver, "#login-button").click()


def open_bot(driver: Any, desk: Desk) -> None:
    driver.get(f"{desk.url}/#/bots/{BOT}")
    wait(driver, "the bot's state", lambda d: css(d, "#bot-state").text == "running", 30)


def csrf_of(page: str) -> str:
    m = re.search(r'(?:name="csrf" value|name="csrf-token" content)="([^"]+)"', page)
    assert m, page[:500]
    return m.group(1)


def iso_s(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# ----- the login ----------------------------------------------------------------------------


async def test_a_wrong_password_is_refused(desk: Desk, chromium: Any, shots: Path) -> None:
    chromium.delete_all_cookies()
    log_in(chromium, desk.url, password="not-the-password")
    error = wait(chromium, "the refusal", lambda d: css(d, "#login-error").text)
    assert error == "Wrong username or password."
    assert chromium.current_url.endswith("/login")
    screenshot(chromium, shots, "wrong-password-refused")
    chromium.get(desk.url + "/")  # still not logged in: back to the login page
    assert chromium.current_url.endswith("/login")

    # The same with a plain HTTP client: 401, and the session it has opens nothing.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        page = await (await http.get(desk.url + "/login")).text()
        form = {"username": USER, "password": "guess", "csrf": csrf_of(page)}
        refused = await http.post(desk.url + "/login", data=form, allow_redirects=False)
        assert refused.status == 401 and "Wrong username or password." in await refused.text()
        assert (await http.get(desk.url + "/api/bots")).status == 401


async def test_the_page_shows_the_running_bot_from_its_retained_status(
    desk: Desk, chromium: Any, shots: Path
) -> None:
    log_in(chromium, desk.url)
    wait(chromium, "the page after login", lambda d: d.current_url.rstrip("/") == desk.url)
    cookie = chromium.get_cookie("botkit_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
    item = wait(chromium, "the bot in the list", lambda d: css(d, f'li[data-bot="{BOT}"]'), 30)
    item.find_element(By.TAG_NAME, "a").click()
    wait(chromium, "running", lambda d: css(d, "#bot-state").text == "running", 30)
    assert "paper · blocktrade" in css(chromium, "#bot-meta").text
    # Positions, fills, PnL and health fill in as the bot publishes them.
    wait(chromium, "a position", lambda d: "stepper" in css(d, "#positions").text)
    wait(chromium, "fills", lambda d: d.find_elements(By.CSS_SELECTOR, "#fills tr[data-fill-id]"))
    wait(chromium, "the PnL line", lambda d: d.find_elements(By.CSS_SELECTOR, "#pnl-svg path.line"))
    health = css(chromium, "#health").text
    assert "market data websocket\nconnected" in health and "queue loss" in health
    assert css(chromium, "#link-state").text == "live"
    screenshot(chromium, shots, "bot-live")


async def test_a_fill_made_on_the_simulator_appears_on_the_page_within_a_second(
    desk: Desk, chromium: Any
) -> None:
    open_bot(chromium, desk)
    wait(chromium, "fills", lambda d: d.find_elements(By.CSS_SELECTOR, "#fills tr[data-fill-id]"))
    # The page notes when each new fill row appears (the browser's own clock, which is
    # the bot's: one machine); the fills already shown do not count.
    chromium.execute_script("""
        const table = document.getElementById("fills");
        window.fillSeen = {};
        const rows = () => table.querySelectorAll("tr[data-fill-id]");
        for (const tr of rows()) fillSeen[tr.dataset.fillId] = null;
        new MutationObserver(() => {
          const now = Date.now();
          for (const tr of rows()) {
            const id = tr.dataset.fillId;
            if (!(id in fillSeen)) fillSeen[id] = [now, tr.dataset.eventTs];
          }
        }).observe(table, {childList: true, subtree: true});
    """)
    async with desk.operator(kinds=(FILLS,)) as watcher:
        await asyncio.sleep(3.0)
        seen = chromium.execute_script("return window.fillSeen")
    new = {fid: v for fid, v in seen.items() if v is not None}
    delays = sorted(v[0] / 1000 - iso_s(v[1]) for v in new.values())
    assert len(new) >= 5, new
    # Real fills of the bot: what it published on its fills topic.
    published = {f["fill_id"] for f in watcher.of(FILLS)}
    assert len(set(new) & published) >= 5
    assert delays[0] >= 0 and delays[-1] < 1.0, delays
    FIGURES["fill made on the simulator -> on the page"] = (
        f"{len(delays)} fills: median {statistics.median(delays) * 1000:.0f} ms, "
        f"max {delays[-1] * 1000:.0f} ms"
    )


async def test_a_request_without_the_csrf_token_is_refused(
    desk: Desk, chromium: Any, shots: Path
) -> None:
    open_bot(chromium, desk)
    # From the page itself (the session cookie goes along, the token does not).
    status, body = chromium.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch("/api/bots/dash1/control", {
          method: "POST",
          headers: {"Content-Type": "application/json"},
          body: JSON.stringify({command: "pause"}),
        })
          .then((r) => r.json().then((b) => done([r.status, b])));
    """)
    assert status == 403 and "CSRF" in body["error"]

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login_page = await (await http.get(desk.url + "/login")).text()
        creds = {"username": USER, "password": PASSWORD}
        no_token = await http.post(desk.url + "/login", data=creds, allow_redirects=False)
        assert no_token.status == 403
        ok = await http.post(
            desk.url + "/login", data={**creds, "csrf": csrf_of(login_page)}, allow_redirects=False
        )
        assert ok.status == 303 and ok.headers["Location"] == "/"
        token = csrf_of(await (await http.get(desk.url + "/")).text())
        control = f"{desk.url}/api/bots/{BOT}/control"
        for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": csrf_of(login_page)}):
            refused = await http.post(control, json={"command": "pause"}, headers=headers)
            assert refused.status == 403, headers
            assert "CSRF" in (await refused.json())["error"]
        cross = await http.post(
            control,
            json={"command": "pause"},
            headers={"X-CSRF-Token": token, "Origin": "http://evil.example"},
        )
        assert cross.status == 403
        assert (await http.post(desk.url + "/logout", allow_redirects=False)).status == 403
        # The token is all that was missing: with it the same client is answered.
        answered = await http.post(
            control, json={"command": "status"}, headers={"X-CSRF-Token": token}
        )
        assert answered.status == 200
        reply = (await answered.json())["reply"]
        assert reply["ok"] and reply["command"] == "status"
    # None of the refused pauses reached the bot.
    assert reply["state"] == "running" and reply["result"]["paused_strategies"] == []
    screenshot(chromium, shots, "csrf-refused-bot-still-running")


# ----- the backtest browser -------------------------------------------------------------------


def test_a_backtests_equity_curve_renders(desk: Desk, chromium: Any, shots: Path) -> None:
    chromium.get(desk.url + "/#/backtests")
    row = wait(chromium, "the run", lambda d: css(d, 'tr[data-run="sample-1h"]'))
    assert "trend, maker, ladder" in row.text
    row.find_element(By.CSS_SELECTOR, "td.link").click()
    line = wait(chromium, "the equity line", lambda d: css(d, "#equity-svg path.line.equity"))
    samples = (desk.reports / "sample-1h" / "equity.csv").read_text().strip().splitlines()[1:]
    points = int(line.get_attribute("data-points"))
    assert points == len(samples) >= 60  # one hour of 1-minute samples, every one drawn
    assert line.get_attribute("d").count("L") == points - 1
    bench = css(chromium, "#equity-svg path.line.bench")
    assert int(bench.get_attribute("data-points")) == points
    assert int(css(chromium, "#drawdown-svg path.line").get_attribute("data-points")) == points
    fills = (desk.reports / "sample-1h" / "fills.csv").read_text().strip().splitlines()[1:]
    assert fills, "the sample hour trades"
    markers = chromium.find_elements(By.CSS_SELECTOR, ".price-chart path.marker")
    assert len(markers) == len(fills)
    assert "fast 20" in css(chromium, "#bt-run .params").text  # the params that made it
    wait(chromium, "the fills table", lambda d: "fills · rendered" in css(d, ".vt-count").text)
    screenshot(chromium, shots, "backtest-equity-curve")


def test_ten_thousand_fills_render_and_filter_at_once(
    desk: Desk, chromium: Any, shots: Path
) -> None:
    chromium.get(desk.url + "/#/backtests")
    wait(chromium, "the runs", lambda d: css(d, 'tr[data-run="big-run"]'))
    # Timed in the browser (performance.now()): from the click to the table laid out,
    # and the table's own part (the rows in hand to the first screen drawn).
    loaded = chromium.execute_async_script("""
        const done = arguments[arguments.length - 1];
        delete BK.perf.fills;
        const t0 = performance.now();
        location.hash = "#/runs/big-run";
        (function ready() {
          if (BK.perf.fills && BK.perf.fills.rows === 10000) {
            requestAnimationFrame(() => requestAnimationFrame(() =>
              done({total: performance.now() - t0, render: BK.perf.fills.render})));
          } else setTimeout(ready, 2);
        })();
    """)
    rows_in_page = len(chromium.find_elements(By.CSS_SELECTOR, "#fills-table .vt-body .vt-row"))
    assert rows_in_page < 60  # only what shows: the table is virtual
    assert "10,000 fills" in css(chromium, "#fills-table .vt-count").text
    filtered = chromium.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const input = document.querySelector("#fills-table .vt-filter");
        const t0 = performance.now();
        input.value = "side:sell strategy:maker";
        input.dispatchEvent(new Event("input"));
        const sync = performance.now() - t0;
        requestAnimationFrame(() => requestAnimationFrame(() =>
          done({sync, painted: performance.now() - t0, shown: BK.bt.fillsTable.view.length})));
    """)
    expected = [r for r in desk.big_fills if r[4] == "sell" and r[2] == "maker"]
    assert filtered["shown"] == len(expected)
    first = css(chromium, "#fills-table .vt-body .vt-row")
    assert first.get_attribute("data-index") == str(desk.big_fills.index(expected[0]))
    # Sorting by price (a click on its header), then typing a filter as a person does.
    css(chromium, '#fills-table .vt-head [data-col="price"]').click()
    sort_ms = chromium.execute_script("return BK.perf.fills.sort")
    prices = [Decimal(r[5]) for r in expected]
    top = css(chromium, "#fills-table .vt-body .vt-row").find_elements(By.CLASS_NAME, "vt-cell")
    assert Decimal(top[5].text) == min(prices)
    box = css(chromium, "#fills-table .vt-filter")
    box.clear()
    box.send_keys("sim-t9999")
    wait(chromium, "one fill", lambda d: "1 of 10,000 fills" in css(d, ".vt-count").text)
    screenshot(chromium, shots, "ten-thousand-fills-filtered")
    assert loaded["render"] < 1000 and filtered["sync"] < 250, (loaded, filtered)
    FIGURES["10,000 fills: load + render (click to laid out)"] = f"{loaded['total']:.0f} ms"
    FIGURES["10,000 fills: table render"] = f"{loaded['render']:.1f} ms"
    FIGURES["10,000 fills: filter"] = (
        f"{filtered['sync']:.1f} ms ({filtered['painted']:.1f} ms to the next frame), "
        f"{filtered['shown']:,} rows match"
    )
    FIGURES["10,000 fills: sort by price"] = f"{sort_ms:.1f} ms"


def test_two_runs_side_by_side_and_a_sweeps_heatmap(desk: Desk, chromium: Any, shots: Path) -> None:
    chromium.get(desk.url + "/#/backtests")
    for run in ("sample-1h", "big-run"):
        row = wait(chromium, run, lambda d, run=run: css(d, f'tr[data-run="{run}"]'))
        row.find_element(By.CSS_SELECTOR, "input[type=checkbox]").click()
    css(chromium, "#bt-compare").click()
    both = wait(
        chromium,
        "both curves",
        lambda d: d.find_elements(By.CSS_SELECTOR, "#compare-svg path.line"),
    )
    assert [p.get_attribute("data-series") for p in both] == ["sample-1h", "big-run"]
    columns = chromium.find_elements(By.CSS_SELECTOR, ".side-by-side .card")
    assert [c.get_attribute("data-run") for c in columns] == ["sample-1h", "big-run"]
    screenshot(chromium, shots, "two-runs-side-by-side")

    chromium.get(desk.url + "/#/sweeps/sweep-ema")
    wait(chromium, "the heatmap", lambda d: css(d, "#heatmap-svg"))
    cells = chromium.find_elements(By.CSS_SELECTOR, "#heatmap-svg rect.cell")
    assert len(cells) == 4 * 5  # fast x slow; size is folded in (the best of the two)
    best: dict[tuple[str, str], float] = {}
    for r in desk.sweep:
        key = (r["fast"], r["slow"])
        best[key] = max(best.get(key, float("-inf")), float(r["sharpe"]))
    for cell in cells:
        key = (cell.get_attribute("data-x"), cell.get_attribute("data-y"))
        assert float(cell.get_attribute("data-value")) == pytest.approx(best[key])
    ranked = chromium.find_elements(By.CSS_SELECTOR, "#ranked tbody tr")
    assert len(ranked) == len(desk.sweep)
    top = ranked[0].find_elements(By.TAG_NAME, "td")
    assert float(top[1].text) == max(float(r["sharpe"]) for r in desk.sweep)
    screenshot(chromium, shots, "sweep-heatmap")


async def test_no_secret_reaches_the_page_or_the_log(desk: Desk, chromium: Any) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        page = await (await http.get(desk.url + "/login")).text()
        form = {"username": USER, "password": PASSWORD, "csrf": csrf_of(page)}
        assert (await http.post(desk.url + "/login", data=form)).status == 200
        seen = [page]
        for path in ("/", "/api/bots", "/api/runs", "/api/run?id=sample-1h", "/static/live.js"):
            seen.append(await (await http.get(desk.url + path)).text())
        app = seen[1]
    seen += [chromium.page_source, desk.dashboard.output()]
    for text in seen:
        for secret in desk.secrets:
            assert secret not in text
    # run.json (the params) carries the config with its secrets masked.
    run = json.loads((desk.reports / "sample-1h" / "run.json").read_text())
    assert "dashboard" not in run["config"]
    assert "http-equiv" not in app and "<script>" not in app  # scripts only from /static/


# ----- steering the bot -----------------------------------------------------------------------


async def test_halt_pressed_on_the_page_stops_the_bots_new_orders(
    desk: Desk, chromium: Any, shots: Path
) -> None:
    open_bot(chromium, desk)
    async with desk.operator() as watcher:
        await watcher.wait_for(ORDERS, lambda p: p["status"] == "pending_new")  # it trades
        # A destructive command asks first; "Cancel" sends nothing.
        css(chromium, 'button[data-command="halt"]').click()
        wait(
            chromium,
            "the confirmation",
            lambda d: css(d, "#confirm").get_attribute("open") is not None,
        )
        assert "Halt dash1?" in css(chromium, "#confirm-title").text
        screenshot(chromium, shots, "halt-confirmation")
        css(chromium, "#confirm-cancel").click()
        assert not css(chromium, "#reply").is_displayed()
        css(chromium, 'button[data-command="halt"]').click()
        wait(chromium, "the confirmation", lambda d: css(d, "#confirm-ok").is_displayed())
        css(chromium, "#confirm-ok").click()
        wait(chromium, "the reply", lambda d: css(d, "#reply").get_attribute("data-ok") == "true")
        reply = json.loads(css(chromium, "#reply pre").text)
        assert reply["command"] == "halt" and reply["state"] == "halted"
        wait(chromium, "halted", lambda d: css(d, "#bot-state").text == "halted")
        screenshot(chromium, shots, "halted-reply-shown")

        # The bot: its new orders are refused by the kill switch, nothing fills.
        refused = await watcher.wait_for(REJECTS, lambda p: p["event_ts"] > reply["ts"])
        assert refused["code"] == "trading_halted"
        await asyncio.sleep(1.0)
        since = [o for o in watcher.of(ORDERS) if o["event_ts"] > reply["ts"]]
        assert since and all(o["status"] in ("rejected", "canceled") for o in since)
        assert not [f for f in watcher.of(FILLS) if f["event_ts"] > reply["ts"]]
        status = (await watcher.send("status"))["result"]
        assert status["state"] == "halted" and status["kill_switch"] == "halted"
        assert (await watcher.wait_for(STATUS, lambda p: p["state"] == "halted"))["online"]
    # And its journal, once it stopped: no fill after the halt.
    summary = desk.bot.stop()
    assert summary["fills"] > 0
    halted_ns = int(iso_s(reply["ts"]) * 1e9)
    with Journal(desk.journal, create=False) as journal:
        fills = journal.fills()
    assert fills and not [f for f in fills if f.ts_ns > halted_ns + 1_000_000]
    wait(chromium, "stopped", lambda d: css(d, "#bot-state").text == "stopped", 15)
