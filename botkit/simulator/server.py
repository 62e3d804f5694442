"""The simulator's aiohttp app: a venue's protocol server plus test-only admin routes.

``botkit venue-sim --venue NAME --port N`` runs one for any venue the registry
(``botkit.venues.registry``) lists with a simulator; tests start one in-process
with ``async with running_simulator("alp") as sim:`` on a free loopback port,
and read the ground truth from ``sim.exchange`` (the ``ExchangeBackend``).

A venue's simulator module provides ``make_server(seed, **options)``, which
builds its protocol server (a ``botkit.simulator.kit.VenueServer``) over a
fresh ``ExchangeBackend``. A module written for the older interface
(``make_exchange(seed, **options)`` and ``setup_routes(app, exchange)``) is
still served.

Admin routes (not part of any venue's protocol, under ``/__sim__/``):
``POST faults`` (JSON of ``Faults`` fields), ``GET trades`` (the account's
executions), ``GET rejected`` (refused requests), ``GET state`` (positions,
balances, open orders, the requests received by route), ``POST step?n=N``
(advance the market N steps, at most ``MAX_STEPS``, yielding to the event loop
between chunks). With an
``admin_token`` they need the header ``X-Sim-Admin-Token: <token>``; their
errors use the venue's own error shape, like everything else the server says.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

from botkit.simulator.backend import ExchangeBackend
from botkit.simulator.kit import Params, Refusal, Route, SimRequest, VenueServer
from botkit.venues import registry

__all__ = [
    "ADMIN_HEADER",
    "MAX_STEPS",
    "RunningSimulator",
    "build_app",
    "default_credentials",
    "running_simulator",
    "serve",
    "venues",
]

EXCHANGE_KEY: web.AppKey[ExchangeBackend] = web.AppKey("exchange", ExchangeBackend)
SERVER_KEY: web.AppKey[Any] = web.AppKey("server", object)
ADMIN_HEADER = "X-Sim-Admin-Token"
MAX_STEPS = 100_000
STEP_CHUNK = 200


def venues() -> tuple[str, ...]:
    """The venues that have a protocol simulator."""
    return tuple(n for n, spec in registry.specs().items() if spec.simulated)


def protocol(venue: str) -> Any:
    """The venue's simulator module, found through the venue registry."""
    spec = registry.get(venue)
    if not spec.simulated:
        raise ValueError(f"venue {venue!r} has no simulator: choose one of {', '.join(venues())}")
    return spec.simulator_module()


def make_server(venue: str, seed: int = 1, **options: Any) -> VenueServer | None:
    """The venue's protocol server over a fresh backend (None for an older-style module)."""
    module = protocol(venue)
    factory = getattr(module, "make_server", None)
    return None if factory is None else factory(seed, **options)


def default_credentials(venue: str) -> dict[str, str]:
    """The credentials a venue's simulator accepts unless told otherwise."""
    server = make_server(venue)
    if server is not None:
        return server.credentials
    module = protocol(venue)
    creds = {"api_key": getattr(module, "DEFAULT_API_KEY", None)}
    creds["api_secret"] = getattr(module, "DEFAULT_API_SECRET", None)
    return {k: v for k, v in creds.items() if v is not None}


def _fill_json(f: Any) -> dict[str, Any]:
    return {
        "trade_id": f.trade_id,
        "client_id": f.client_id,
        "symbol": f.symbol,
        "side": f.side.value,
        "price": str(f.price),
        "size": str(f.size),
        "fee": str(f.fee),
        "fee_asset": f.fee_asset,
        "liquidity": f.liquidity.value,
        "ts_ns": f.ts_ns,
        "venue_order_id": f.venue_order_id,
    }


class AdminRoutes:
    """The ``/__sim__/`` routes over one backend, optionally behind a token."""

    def __init__(self, backend: ExchangeBackend, token: str | None) -> None:
        self.backend = backend
        self.token = token

    def routes(self) -> list[Route]:
        return [
            Route("POST", "/__sim__/faults", self.faults, "admin"),
            Route("GET", "/__sim__/trades", self.trades, "admin"),
            Route("GET", "/__sim__/rejected", self.rejected, "admin"),
            Route("GET", "/__sim__/state", self.state, "admin"),
            Route("POST", "/__sim__/step", self.step, "admin"),
        ]

    def check(self, req: SimRequest) -> None:
        if self.token is None:
            return
        given = req.headers.get(ADMIN_HEADER, "")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), self.token.encode()):
            raise Refusal(401, f"admin routes need {ADMIN_HEADER}", "admin_unauthorized")

    def faults(self, req: SimRequest) -> web.Response:
        self.check(req)
        changes = req.json_object()
        try:
            self.backend.faults.update(**changes)
        except (KeyError, TypeError, ValueError) as exc:
            raise Refusal(400, f"faults: {exc}", "invalid_params") from None
        return web.json_response({"ok": True})

    def trades(self, req: SimRequest) -> web.Response:
        self.check(req)
        return web.json_response([_fill_json(f) for f in self.backend.trades])

    def rejected(self, req: SimRequest) -> web.Response:
        self.check(req)
        return web.json_response(
            [
                {"ts_ns": t, "what": w, "code": c, "message": m}
                for t, w, c, m in self.backend.rejected
            ]
        )

    def state(self, req: SimRequest) -> web.Response:
        self.check(req)
        be = self.backend
        return web.json_response(
            {
                "positions": {k: str(v) for k, v in be.positions.items()},
                "balances": {k: str(v) for k, v in be.balances.items()},
                "open_orders": [o.client_id for o in be.open_orders()],
                "requests": dict(sorted(be.requests.items())),
            }
        )

    async def step(self, req: SimRequest) -> web.Response:
        self.check(req)
        p = Params(req.query, "query")
        n = p.integer("n", low=1, high=MAX_STEPS) or 1
        p.finish()
        for done in range(n):
            self.backend.step()
            if done % STEP_CHUNK == STEP_CHUNK - 1:
                await asyncio.sleep(0)  # other requests and the websockets go on meanwhile
        return web.json_response({"steps": self.backend.steps})


def build_app(
    venue: str,
    seed: int = 1,
    run_market: bool = True,
    admin_token: str | None = None,
    **options: Any,
) -> web.Application:
    """The app of one venue's simulator (``options`` go to the venue's ``make_server``)."""
    app = web.Application()
    server = make_server(venue, seed, **options)
    if server is not None:
        backend = server.backend
        server.install(app, extra=AdminRoutes(backend, admin_token).routes())
    else:  # a module of the older interface
        module = protocol(venue)
        backend = module.make_exchange(seed, **options)
        module.setup_routes(app, backend)
        admin = AdminRoutes(backend, admin_token)
        for route in admin.routes():
            app.router.add_route(route.method, route.path, _plain_handler(route))
    app[EXCHANGE_KEY] = backend
    app[SERVER_KEY] = server

    async def market(app: web.Application) -> AsyncIterator[None]:
        if run_market:
            backend.start()
        yield
        await backend.stop()

    app.cleanup_ctx.append(market)
    return app


def _plain_handler(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    from botkit.simulator.kit import read_request

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            result = route.action(await read_request(request))
            return await result if asyncio.iscoroutine(result) else result  # type: ignore[return-value]
        except Refusal as refusal:
            return web.json_response({"error": refusal.message}, status=refusal.status)

    return handle


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningSimulator:
    """A simulator serving on ``host:port``; ``exchange`` is its backend (the ground truth)."""

    venue: str
    port: int
    exchange: ExchangeBackend
    server: VenueServer | None = None
    host: str = "127.0.0.1"
    admin_token: str | None = field(default=None, repr=False)

    @property
    def backend(self) -> ExchangeBackend:
        return self.exchange

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def urls(self) -> dict[str, str]:
        """The venue's documented base URLs on this server (REST, and websocket if any)."""
        return self.server.urls(self.base_url) if self.server else {"rest": self.base_url}

    @property
    def admin_headers(self) -> dict[str, str]:
        return {ADMIN_HEADER: self.admin_token} if self.admin_token else {}

    def set_faults(self, **faults: Any) -> None:
        self.exchange.faults.update(**faults)

    def position(self, symbol: str) -> Decimal:
        return self.exchange.positions.get(symbol, Decimal(0))

    @property
    def credentials(self) -> dict[str, str]:
        """The credentials this simulator accepts."""
        if self.server is not None:
            return self.server.credentials
        return default_credentials(self.venue)


@asynccontextmanager
async def running_simulator(
    venue: str,
    port: int | None = None,
    seed: int = 1,
    *,
    host: str = "127.0.0.1",
    admin_token: str | None = None,
    **options: Any,
) -> AsyncIterator[RunningSimulator]:
    """Run a simulator inside the current event loop (for tests), on loopback by default."""
    app = build_app(venue, seed=seed, admin_token=admin_token, **options)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = port or free_port()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        yield RunningSimulator(venue, port, app[EXCHANGE_KEY], app[SERVER_KEY], host, admin_token)
    finally:
        await runner.cleanup()


def banner(venue: str, host: str, port: int, app: web.Application) -> str:
    """What ``botkit venue-sim`` prints on start: the URLs and credentials it serves."""
    server: VenueServer | None = app[SERVER_KEY]
    origin = f"http://{host}:{port}"
    urls = server.urls(origin) if server is not None else {"rest": origin}
    creds = server.credentials if server is not None else default_credentials(venue)
    lines = [f"{venue} simulator listening on {origin}"]
    lines += [f"  {name:<10} {url}" for name, url in urls.items()]
    lines += [f"  {name:<10} {value}" for name, value in creds.items()]
    if not creds:
        lines.append("  credentials none needed")
    lines.append(f"  admin      {origin}/__sim__/ (state, trades, rejected, faults, step)")
    return "\n".join(lines)


def serve(
    venue: str,
    port: int,
    host: str = "127.0.0.1",
    seed: int = 1,
    admin_token: str | None = None,
    faults: dict[str, Any] | None = None,
    **options: Any,
) -> None:
    """Run a simulator until interrupted (``botkit venue-sim``)."""
    app = build_app(venue, seed=seed, admin_token=admin_token, **options)
    if faults:
        app[EXCHANGE_KEY].faults.update(**faults)

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            # Only once the port is open: whoever reads the banner can connect at once.
            print(banner(venue, host, port, app), flush=True)
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
