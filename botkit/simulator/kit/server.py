"""The protocol server base: what every venue's simulator shares, so each supplies only its own.

A venue's server subclasses :class:`VenueServer` and gives:

* ``routes()``: its documented paths, each a :class:`Route` (``private`` routes
  are authenticated and pass through fault injection);
* ``authenticate(req, route)``: its own check, written from its document;
* ``error_body(refusal, path)``: its documented error shape;
* ``REJECTS``: the backend's venue-neutral refusal codes in its own words and
  statuses (a table of its vocabulary);
* optionally ``fault_response``, ``credentials``, ``urls`` and ``on_event``.

The base installs one error path in front of all of it: every request is read
strictly (``kit.request``), and whatever goes wrong — a malformed body, an
unknown path (aiohttp would answer plain text), a wrong method, a body too
large, a refused parameter, a backend refusal — is answered in the venue's own
JSON error shape with a 4xx. Every refusal is logged in the backend's
``rejected`` list. Only injected faults answer 5xx; a bug still answers the
venue's shape (500) and is logged with its traceback.
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Literal,
    TypeVar,
    get_args,
    get_origin,
    get_type_hints,
)

from aiohttp import web

from botkit.simulator.backend import ExchangeBackend, SimReject
from botkit.simulator.kit.request import Refusal, SimRequest, read_request

if TYPE_CHECKING:
    from botkit.simulator.kit.websocket import WsSession

__all__ = ["Action", "Route", "VenueServer", "split_options", "to_json"]

log = logging.getLogger("botkit.simulator")

Action = Callable[[SimRequest], "web.StreamResponse | Awaitable[web.StreamResponse]"]

# What the error path says for the HTTP errors aiohttp raises before a route runs.
_HTTP_ERRORS: Mapping[int, tuple[str, str]] = {
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("body_too_large", "Request body too large"),
}


@dataclass(frozen=True)
class Route:
    """One documented endpoint: ``what`` names it in the log of refused requests."""

    method: str
    path: str
    action: Action
    what: str
    private: bool = False


OptionsT = TypeVar("OptionsT")

# Options every venue's ``make_server`` takes for the backend (and ``botkit venue-sim``'s
# switch for the documented limits, which a venue without any ignores).
BACKEND_OPTIONS = frozenset({"balances", "mids", "step_s", "flow_options", "documented_limits"})


def split_options(
    venue: str, options: Mapping[str, Any], model: type[OptionsT]
) -> tuple[OptionsT, dict[str, Any]]:
    """``make_server(**options)`` -> (the venue's options dataclass, the backend's options).

    A name that is neither is a ``TypeError`` naming it; a value outside a
    ``Literal`` field's choices a ``ValueError``.
    """
    names = {f.name for f in fields(model)}  # type: ignore[arg-type]
    unknown = set(options) - names - BACKEND_OPTIONS
    if unknown:
        raise TypeError(f"unknown {venue} simulator option(s): {', '.join(sorted(unknown))}")
    for name, hint in get_type_hints(model).items():
        if name in options and get_origin(hint) is Literal and options[name] not in get_args(hint):
            choices = " or ".join(map(str, get_args(hint)))
            raise ValueError(f"{venue} simulator option {name} must be {choices}")
    chosen = model(**{k: v for k, v in options.items() if k in names})
    return chosen, {k: v for k, v in options.items() if k in BACKEND_OPTIONS}


def to_json(value: Any, decimals: Literal["string", "number"] = "string") -> str:
    """Compact JSON; a ``Decimal`` as a plain-notation string, or as a number literal."""

    def encode(v: Any) -> str:
        if isinstance(v, Decimal):
            text = format(v, "f")
            return text if decimals == "number" else json.dumps(text)
        if isinstance(v, Mapping):
            return "{" + ",".join(f"{json.dumps(str(k))}:{encode(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list | tuple):
            return "[" + ",".join(encode(x) for x in v) + "]"
        return json.dumps(v)

    return encode(value)


class _Context(dict[str, object]):
    """What a refusal's message is filled with; a field it does not know stays a "?"."""

    def __missing__(self, key: str) -> str:
        return "?"


class VenueServer:
    """One venue's protocol over an :class:`ExchangeBackend`; see the module notes."""

    venue: ClassVar[str] = ""
    # Backend refusal code -> (status, message); ``{message}`` and the instrument's
    # fields (``{tick_size}``, ``{lot_size}``, ``{min_notional}``, ``{max_notional}``,
    # ``{base}``, ``{quote}``) are filled in.
    REJECTS: ClassVar[Mapping[str, tuple[int, str]]] = {}
    decimals: ClassVar[Literal["string", "number"]] = "string"

    def __init__(self, backend: ExchangeBackend) -> None:
        self.backend = backend
        self.sessions: set[WsSession] = set()
        self._what: dict[Any, str] = {}  # route handler -> what it is, for the error log
        backend.subscribers.append(self._dispatch)

    # ----- what each venue supplies ----------------------------------------------------

    def routes(self) -> Iterable[Route]:
        raise NotImplementedError

    def authenticate(self, req: SimRequest, route: Route) -> None:
        """Raise a 401 :class:`Refusal` unless ``req`` is authenticated for ``route``."""

    def needs_auth(self, route: Route) -> bool:
        """Whether ``route`` is authenticated (private ones are; faults hit only those)."""
        return route.private

    def error_body(self, refusal: Refusal, path: str) -> Any:
        raise NotImplementedError

    def on_event(self, kind: str, payload: Any) -> None:
        """A backend event (see ``ExchangeBackend``), before the websocket sessions see it."""

    @property
    def credentials(self) -> dict[str, str]:
        """The credentials this server accepts (for tests and ``botkit venue-sim``)."""
        return {}

    def urls(self, origin: str) -> dict[str, str]:
        """The documented base URLs served from ``origin`` (``http://host:port``)."""
        return {"rest": origin}

    def fault_response(self, status: int, path: str) -> web.Response:
        """An injected 5xx: a proxy's HTML page for 502, the venue's own error otherwise."""
        if status == 502:
            return web.Response(
                status=502,
                text="<html><body><h1>502 Bad Gateway</h1></body></html>",
                content_type="text/html",
            )
        text = "Service Unavailable" if status == 503 else "Internal Server Error"
        return self.error_response(Refusal(status, text, "injected_fault"), path)

    def garbled_response(self) -> web.Response:
        """An injected reply of no documented shape (``Faults.garble_next``): 200, JSON."""
        return web.json_response({"surprise": [1, 2, 3]})

    # ----- shared machinery -------------------------------------------------------------------

    def install(self, app: web.Application, extra: Iterable[Route] = ()) -> None:
        """Add the routes (and ``extra`` ones, such as the simulator's admin routes), the
        error path and the websocket shutdown to ``app``."""
        app.middlewares.append(self._errors)
        for route in (*self.routes(), *extra):
            handler = self._handler(route)
            self._what[handler] = route.what
            if route.method == "GET":
                app.router.add_get(route.path, handler, allow_head=False)
            else:
                app.router.add_route(route.method, route.path, handler)
        app.on_shutdown.append(self._close_sessions)

    def reply(
        self,
        payload: Any,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        *,
        decimals: Literal["string", "number"] | None = None,
    ) -> web.Response:
        """A JSON reply; Decimals as ``decimals`` says (the venue's default otherwise)."""
        return web.Response(
            text=to_json(payload, decimals or self.decimals),
            status=status,
            content_type="application/json",
            headers=headers,
        )

    def error_response(self, refusal: Refusal, path: str) -> web.Response:
        return self.reply(self.error_body(refusal, path), refusal.status, refusal.headers)

    def refuse(self, what: str, refusal: Refusal) -> Refusal:
        """Log ``refusal`` in the backend's record of refused requests (once)."""
        if not refusal.logged:
            self.backend.rejected.append(
                (time.time_ns(), refusal.what or what, refusal.code, refusal.message)
            )
            refusal.logged = True
        return refusal

    def translate(self, reject: SimReject) -> Refusal:
        """A backend refusal in the venue's words (the backend has logged it already)."""
        status, template = self.REJECTS.get(reject.code, (reject.http_status, "{message}"))
        context = _Context(message=reject.message)
        inst = self.backend.instruments.get(reject.symbol or "")
        if inst is not None:
            context |= {
                "tick_size": inst.tick_size,
                "lot_size": inst.lot_size,
                "min_notional": inst.min_notional,
                "max_notional": inst.max_notional,
                "base": inst.base,
                "quote": inst.quote,
            }
        return Refusal(status, template.format_map(context), reject.code, logged=True)

    def _handler(self, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            req = await read_request(request)
            self.backend.requests[route.what] += 1
            if self.needs_auth(route):
                self.authenticate(req, route)
            if not route.private:
                return await self._act(route, req)
            faults = self.backend.faults
            garble = faults.garbles(route.what)
            response = await faults.around(
                lambda: self._act(route, req),
                lambda status: self.fault_response(status, req.path),
            )
            return self.garbled_response() if garble else response

        return handle

    async def _act(self, route: Route, req: SimRequest) -> web.StreamResponse:
        try:
            result = route.action(req)
            if inspect.isawaitable(result):
                result = await result
            return result
        except SimReject as reject:
            refusal = self.translate(reject)
        except Refusal as err:
            refusal = self.refuse(route.what, err)
        return self.error_response(refusal, req.path)

    @web.middleware
    async def _errors(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        what = self._what.get(request.match_info.handler, "request")
        try:
            return await handler(request)
        except Refusal as refusal:
            return self.error_response(self.refuse(what, refusal), request.path)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            code, text = _HTTP_ERRORS.get(exc.status, ("http_error", exc.reason))
            refusal = Refusal(exc.status, text, code, what=what)
            return self.error_response(self.refuse(what, refusal), request.path)
        except Exception:
            log.exception("%s simulator: %s %s failed", self.venue, request.method, request.path)
            refusal = Refusal(500, "Internal server error", "internal_error", what=what)
            return self.error_response(self.refuse(what, refusal), request.path)

    def _dispatch(self, kind: str, payload: Any) -> None:
        self.on_event(kind, payload)
        for session in list(self.sessions):
            session.on_event(kind, payload)

    async def _close_sessions(self, app: web.Application) -> None:
        for session in list(self.sessions):
            await session.ws.close()
