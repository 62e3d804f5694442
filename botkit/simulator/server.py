"""The simulator's aiohttp server: a venue's protocol module plus test-only admin routes.

``botkit venue-sim --venue NAME --port N`` runs one for any venue the registry
(``botkit.venues.registry``) lists with a simulator. Tests
start one in-process with ``async with running_simulator("alp") as sim:`` on a
free loopback port, and read the ground truth from ``sim.exchange``.

Admin routes (not part of any venue's protocol, under ``/__sim__/``):
``POST faults`` (JSON of ``Faults`` fields), ``GET trades`` (the account's
executions), ``GET rejected`` (refused requests), ``GET state`` (positions,
balances, open orders), ``POST step`` (advance the market N steps).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from aiohttp import web

from botkit.simulator.backend import ExchangeBackend
from botkit.venues import registry

EXCHANGE_KEY: web.AppKey[ExchangeBackend] = web.AppKey("exchange", ExchangeBackend)


class VenueProtocol(Protocol):
    """What each ``botkit.simulator.<venue>`` module provides."""

    def make_exchange(self, seed: int, **options: Any) -> ExchangeBackend: ...

    def setup_routes(self, app: web.Application, exchange: ExchangeBackend) -> None: ...


def venues() -> tuple[str, ...]:
    """The venues that have a protocol simulator."""
    return tuple(n for n, spec in registry.specs().items() if spec.simulated)


def protocol(venue: str) -> VenueProtocol:
    spec = registry.get(venue)
    if not spec.simulated:
        raise ValueError(f"venue {venue!r} has no simulator: choose one of {', '.join(venues())}")
    return spec.simulator_module()  # type: ignore[no-any-return]


def default_credentials(venue: str) -> dict[str, str]:
    """The credentials a venue's simulator accepts unless told otherwise."""
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


def _admin_routes(app: web.Application, exchange: ExchangeBackend) -> None:
    async def faults(request: web.Request) -> web.Response:
        try:
            exchange.faults.update(**(await request.json()))
        except (KeyError, TypeError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    async def trades(request: web.Request) -> web.Response:
        return web.json_response([_fill_json(f) for f in exchange.trades])

    async def rejected(request: web.Request) -> web.Response:
        return web.json_response(
            [{"ts_ns": t, "what": w, "code": c, "message": m} for t, w, c, m in exchange.rejected]
        )

    async def state(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "positions": {k: str(v) for k, v in exchange.positions.items()},
                "balances": {k: str(v) for k, v in exchange.balances.items()},
                "open_orders": [o.client_id for o in exchange.open_orders()],
            }
        )

    async def step(request: web.Request) -> web.Response:
        n = int(request.query.get("n", "1"))
        for _ in range(n):
            exchange.step()
        return web.json_response({"steps": exchange.steps})

    app.router.add_post("/__sim__/faults", faults)
    app.router.add_get("/__sim__/trades", trades)
    app.router.add_get("/__sim__/rejected", rejected)
    app.router.add_get("/__sim__/state", state)
    app.router.add_post("/__sim__/step", step)


def build_app(
    venue: str, seed: int = 1, run_market: bool = True, **options: Any
) -> web.Application:
    proto = protocol(venue)
    exchange = proto.make_exchange(seed, **options)
    app = web.Application()
    app[EXCHANGE_KEY] = exchange
    proto.setup_routes(app, exchange)
    _admin_routes(app, exchange)

    async def market(app: web.Application) -> AsyncIterator[None]:
        if run_market:
            exchange.start()
        yield
        await exchange.stop()

    app.cleanup_ctx.append(market)
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningSimulator:
    venue: str
    port: int
    exchange: ExchangeBackend

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def set_faults(self, **faults: Any) -> None:
        self.exchange.faults.update(**faults)

    def position(self, symbol: str) -> Decimal:
        return self.exchange.positions.get(symbol, Decimal(0))

    @property
    def credentials(self) -> dict[str, str]:
        """The credentials this simulator accepts."""
        return default_credentials(self.venue)


@asynccontextmanager
async def running_simulator(
    venue: str, port: int | None = None, seed: int = 1, **options: Any
) -> AsyncIterator[RunningSimulator]:
    """Run a simulator on 127.0.0.1 inside the current event loop (for tests)."""
    app = build_app(venue, seed=seed, **options)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = port or free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield RunningSimulator(venue, port, app[EXCHANGE_KEY])
    finally:
        await runner.cleanup()


def serve(venue: str, port: int, host: str = "127.0.0.1", seed: int = 1) -> None:
    """Run a simulator until interrupted (`botkit venue-sim`)."""
    app = build_app(venue, seed=seed)
    print(f"{venue} simulator on http://{host}:{port} (websocket ws://{host}:{port})", flush=True)
    web.run_app(app, host=host, port=port, print=None, access_log=None)


__all__ = [
    "RunningSimulator",
    "build_app",
    "default_credentials",
    "running_simulator",
    "serve",
    "venues",
]
