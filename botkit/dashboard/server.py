"""The dashboard's web server (aiohttp): pages, the JSON API, the websocket, the login.

Routes (everything but the login page and the static assets needs a logged-in
session; every POST needs the session's CSRF token):

=============================  ===============================================
``GET /login``                 the login form (its CSRF token inside)
``POST /login``                username, password, csrf: a new session, or 401
                               (429 once failures are over the limit)
``POST /logout``               end the session
``GET /``                      the page (bots and backtests)
``GET /static/<file>``         the page's own CSS and JS (package data)
``GET /ws?csrf=<token>``       the websocket: the bot list, then what the
                               watched bot does, pushed as it happens
``GET /api/bots``              the bot list
``POST /api/bots/<id>/control``  ``{"command", "args", "confirm"}``: the command
                               sent over MQTT; the bot's reply (504: none)
``GET /api/runs``              runs and sweeps in the reports folder
``GET /api/run?id=``           one run: summary, params, series, trades
``GET /api/fills?id=``         one run's fills table
``GET /api/sweep?id=``         one sweep's results table
=============================  ===============================================

Every response carries a strict Content-Security-Policy (only the
dashboard's own scripts and styles, no inline script, no framing), and API
responses are not cached. The page gets no secret: not the password hash,
not the broker's or the venue's credentials, not the signing secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from botkit.dashboard.bridge import COMMANDS, DESTRUCTIVE, CtlError, MqttBridge
from botkit.dashboard.hub import Hub
from botkit.dashboard.journalsource import JournalSource
from botkit.dashboard.passwords import PasswordError, verify_password
from botkit.dashboard.reports import NotFound, Reports
from botkit.dashboard.sessions import (
    COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    Session,
    Sessions,
    cookie_options,
)
from botkit.dashboard.throttle import LoginThrottle
from botkit.redact import Secret

log = logging.getLogger("botkit.dashboard")

STATIC = Path(__file__).resolve().parent / "static"
TICK_S = 1.0
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OPEN_PATHS = ("/login", "/static/", "/favicon.ico")
_COMMAND_ARGS = {
    "pause": ("strategy",),
    "resume": ("strategy",),
    "cancel_all": ("strategy", "symbol"),
}
_dumps = partial(json.dumps, separators=(",", ":"), allow_nan=False)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Login:
    """Who may log in, and how sessions and failed logins are limited."""

    username: str
    password_hash: Secret
    secure_cookies: bool = False
    session_ttl_s: float = 8 * 3600.0
    session_idle_s: float = 1800.0
    login_attempts: int = 5
    login_window_s: float = 300.0


class Dashboard:
    """The web side of ``botkit dashboard``: one aiohttp application."""

    def __init__(
        self,
        login: Login,
        hub: Hub,
        *,
        bridge: MqttBridge | None = None,
        journal: JournalSource | None = None,
        reports: Reports | None = None,
    ) -> None:
        self.login_settings = login
        self.hub = hub
        self.bridge = bridge
        self.journal = journal
        self.reports = reports
        self.sessions = Sessions(login.session_ttl_s, login.session_idle_s)
        self.throttle = LoginThrottle(login.login_attempts, login.login_window_s)
        self.app = web.Application(
            middlewares=[self._headers, self._guard], client_max_size=64 * 1024
        )
        self.app.cleanup_ctx.append(self._sources)
        # Open pages' websockets, closed on shutdown: a server stopping waits for its
        # handlers, and a page's socket would otherwise hold it until it times out.
        self._sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.app.on_shutdown.append(self._close_sockets)
        r = self.app.router
        r.add_get("/", self.page)
        r.add_get("/login", self.login_page)
        r.add_post("/login", self.login)
        r.add_post("/logout", self.logout)
        r.add_get("/ws", self.websocket)
        r.add_get("/api/bots", self.bots)
        r.add_post("/api/bots/{bot}/control", self.control)
        r.add_get("/api/runs", self.runs)
        r.add_get("/api/run", self.run)
        r.add_get("/api/fills", self.fills)
        r.add_get("/api/sweep", self.sweep)
        r.add_static("/static/", STATIC, append_version=False)

    # ----- background sources --------------------------------------------------------------

    async def _sources(self, app: web.Application) -> AsyncIterator[None]:
        tasks = []
        if self.bridge is not None:
            tasks.append(asyncio.create_task(self.bridge.run(), name="dashboard-mqtt"))
        if self.journal is not None:
            tasks.append(asyncio.create_task(self.journal.run(), name="dashboard-journal"))
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ----- middlewares -----------------------------------------------------------------------

    @web.middleware
    async def _headers(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        if response.prepared:  # a websocket: its headers went with the handshake
            return response
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "no-referrer")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if not request.path.startswith("/static/"):
            h.setdefault("Cache-Control", "no-store")
        if self.login_settings.secure_cookies:
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        if isinstance(response, web.HTTPException):
            raise response
        return response

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Sessions, login and CSRF: the only gate, in front of every handler."""
        session = self._session(request)
        if request.path.startswith(_OPEN_PATHS):
            if request.method not in _SAFE_METHODS:
                await self._check_csrf(request, session)
            return await handler(request)
        if session is None or not session.authenticated:
            if request.path.startswith(("/api/", "/ws")):
                raise _json_error(401, "not logged in: log in at /login")
            raise web.HTTPSeeOther("/login")
        if request.method not in _SAFE_METHODS:
            await self._check_csrf(request, session)
        return await handler(request)

    def _session(self, request: web.Request) -> Session | None:
        """The request's live session, or None."""
        return self.sessions.get(request.cookies.get(COOKIE))

    def _user(self, request: web.Request) -> Session:
        """The logged-in session of a request the guard let through."""
        session = self._session(request)
        if session is None or not session.authenticated:
            raise _json_error(401, "not logged in: log in at /login")
        return session

    async def _check_csrf(self, request: web.Request, session: Session | None) -> None:
        origin = request.headers.get("Origin")
        if origin is not None and origin != "null" and _host_of(origin) != request.host:
            log.warning(
                "dashboard: refused a %s to %s from origin %s", request.method, request.path, origin
            )
            raise _json_error(403, "cross-origin request refused")
        token = request.headers.get(CSRF_HEADER)
        if token is None and request.content_type == "application/x-www-form-urlencoded":
            token = str((await request.post()).get(CSRF_FIELD) or "") or None
        if session is None or not session.csrf_ok(token):
            log.warning(
                "dashboard: refused a %s to %s without a valid CSRF token",
                request.method,
                request.path,
            )
            raise _json_error(403, "missing or wrong CSRF token: reload the page")

    # ----- pages -----------------------------------------------------------------------------

    def _cookie(self, response: web.StreamResponse, session: Session) -> None:
        ttl = self.login_settings.session_ttl_s if session.authenticated else None
        response.set_cookie(
            COOKIE, session.id, **cookie_options(self.login_settings.secure_cookies, ttl)
        )

    def _template(self, name: str, **values: str) -> str:
        text = (STATIC / name).read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", html.escape(value, quote=True))
        return text

    async def page(self, request: web.Request) -> web.Response:
        session = self._user(request)
        body = self._template("app.html", csrf=session.csrf, user=session.user or "")
        return web.Response(text=body, content_type="text/html")

    def _login_form(self, session: Session, error: str = "", status: int = 200) -> web.Response:
        body = self._template("login.html", csrf=session.csrf, error=error)
        response = web.Response(text=body, content_type="text/html", status=status)
        self._cookie(response, session)
        return response

    async def login_page(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if session is not None and session.authenticated:
            raise web.HTTPSeeOther("/")
        return self._login_form(session or self.sessions.new())

    async def login(self, request: web.Request) -> web.StreamResponse:
        session = self._session(request)
        if session is None:  # the guard checked its token: it had one a moment ago
            raise _json_error(403, "the session ended: reload the login page")
        form = await request.post()
        user = str(form.get("username") or "")[:200]
        password = str(form.get("password") or "")[:1000]
        keys = (f"ip:{request.remote}", f"user:{user.lower()}")
        wait = self.throttle.retry_after(*keys)
        if wait > 0:
            log.warning("dashboard: login refused (too many failures) from %s", request.remote)
            response = self._login_form(
                session, f"Too many failed logins. Try again in {int(wait) + 1} s.", 429
            )
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        want = self.login_settings
        try:
            # Checked even for an unknown user, so the answer takes as long either way.
            ok = await asyncio.to_thread(verify_password, password, want.password_hash)
        except PasswordError:
            log.error("dashboard: dashboard.password_hash cannot be read")
            ok = False
        ok = ok and user == want.username
        if not ok:
            self.throttle.failed(*keys)
            log.warning("dashboard: failed login from %s", request.remote)
            return self._login_form(session, "Wrong username or password.", 401)
        self.throttle.succeeded(*keys)
        fresh = self.sessions.login(session, user)
        log.info("dashboard: %s logged in from %s", user, request.remote)
        response = _redirect("/")
        self._cookie(response, fresh)
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        self.sessions.end(self._session(request))
        response = _redirect("/login")
        response.del_cookie(COOKIE, path="/")
        return response

    # ----- live bots -------------------------------------------------------------------------

    async def bots(self, request: web.Request) -> web.Response:
        return web.json_response(self.hub.bots_message(), dumps=_dumps)

    async def control(self, request: web.Request) -> web.Response:
        bot_id = request.match_info["bot"]
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise _json_error(400, 'send a JSON object: {"command": ...}') from None
        if not isinstance(body, dict):
            raise _json_error(400, 'send a JSON object: {"command": ...}')
        command = body.get("command")
        if command not in COMMANDS:
            raise _json_error(400, f"command: one of {', '.join(COMMANDS)}")
        args = body.get("args") or {}
        allowed = _COMMAND_ARGS.get(command, ())
        if not isinstance(args, dict) or any(
            k not in allowed or not isinstance(v, str) for k, v in args.items()
        ):
            raise _json_error(400, f"{command} takes {', '.join(allowed) or 'no args'} (text)")
        if command in DESTRUCTIVE and body.get("confirm") is not True:
            raise _json_error(400, f'{command} needs "confirm": true (it cannot be undone)')
        bot = self.hub.bots.get(bot_id)
        if bot is None:
            raise _json_error(404, f"no bot {bot_id!r}")
        if self.bridge is None or not bot.controllable:
            raise _json_error(409, f"{bot_id} is read from a journal: no broker to send commands")
        user = self._user(request).user
        log.info("dashboard: %s sends %s to %s", user, command, bot_id)
        try:
            reply = await self.bridge.command(bot_id, command, args or None)
        except CtlError as exc:
            log.warning("dashboard: %s to %s: %s", command, bot_id, exc)
            return web.json_response({"error": str(exc)}, status=504, dumps=_dumps)
        log.info(
            "dashboard: %s to %s: ok=%s state=%s",
            command,
            bot_id,
            reply.get("ok"),
            reply.get("state"),
        )
        return web.json_response({"reply": reply}, dumps=_dumps)

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        session = self._user(request)
        origin = request.headers.get("Origin")
        if origin is not None and _host_of(origin) != request.host:
            raise _json_error(403, "cross-origin websocket refused")
        if not session.csrf_ok(request.query.get("csrf")):
            raise _json_error(403, "missing or wrong CSRF token: reload the page")
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=4096)
        await ws.prepare(request)
        self._sockets.add(ws)
        listener = self.hub.listen()
        listener.push(self.hub.bots_message())

        async def send() -> None:
            while True:
                await ws.send_str(_dumps(await listener.queue.get()))

        async def tick() -> None:
            while True:
                await asyncio.sleep(TICK_S)
                if self.sessions.get(session.id) is None:  # logged out or expired
                    await ws.close(code=4401, message=b"session ended")
                    return
                listener.push(self.hub.tick_message(listener.bot))

        tasks = [asyncio.create_task(send()), asyncio.create_task(tick())]
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                with contextlib.suppress(ValueError, AttributeError):
                    data = json.loads(msg.data)
                    if isinstance(data, dict) and "watch" in data:
                        watch = data["watch"]
                        listener.watch(watch if isinstance(watch, str) else None)
        finally:
            for task in tasks:
                task.cancel()
            self.hub.leave(listener)
        return ws

    async def _close_sockets(self, app: web.Application) -> None:
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"dashboard stopping")

    # ----- backtests -------------------------------------------------------------------------

    def _reports(self) -> Reports:
        if self.reports is None:
            raise _json_error(404, "no reports folder: start the dashboard with --reports DIR")
        return self.reports

    async def runs(self, request: web.Request) -> web.Response:
        reports = self.reports
        listing = (
            await asyncio.to_thread(reports.listing)
            if reports is not None
            else {"root": None, "runs": [], "sweeps": []}
        )
        return web.json_response(listing, dumps=_dumps)

    async def _read(
        self, request: web.Request, read: Callable[[Reports, str], Any]
    ) -> web.Response:
        reports = self._reports()
        rid = request.query.get("id", "")
        try:
            data = await asyncio.to_thread(read, reports, rid)
        except NotFound:
            raise _json_error(404, f"no run or sweep {rid!r} in the reports folder") from None
        return web.json_response(data, dumps=_dumps)

    async def run(self, request: web.Request) -> web.Response:
        return await self._read(request, Reports.run)

    async def fills(self, request: web.Request) -> web.Response:
        return await self._read(request, Reports.fills)

    async def sweep(self, request: web.Request) -> web.Response:
        return await self._read(request, Reports.sweep)


def _host_of(origin: str) -> str:
    return origin.split("://", 1)[-1].rstrip("/")


def _json_error(status: int, message: str) -> web.HTTPException:
    cls = {
        400: web.HTTPBadRequest,
        401: web.HTTPUnauthorized,
        403: web.HTTPForbidden,
        404: web.HTTPNotFound,
        409: web.HTTPConflict,
    }[status]
    return cls(text=_dumps({"error": message}), content_type="application/json")


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


__all__ = ["Dashboard", "Login"]
