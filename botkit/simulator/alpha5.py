"""Alpha5's own REST protocol (seed document 000) over the simulated exchange.

Replies now follow the published v1.0.0 document (seeds/reference): bare JSON
(no envelope), contracts with nested ``quoting_asset``/``settling_asset``,
books as ``buy``/``sell`` of ``{price, size}``, orders with ``id``,
``limit_price``, ``cancelled_size`` and a nested ``contract``, statuses
``open``/``filled`` only, recent trades without an id or contract, positions
as ``{side, price, contract_id}``. ``api="v1.0.0"`` (default) takes v1.0.0's
requests (JSON-body POSTs for place, edit, cancel, cancel-all and
close-position; close-position by contract); ``api="seed"`` the seed's (query
parameters, GETs). Not in the document and kept as the simulator's own: the
contract's order limits and fees, a position's ``size``, the user-trade rows.
(Test-enabling edits, to be replaced by the simulator rewrite.) The rest of
this text describes the seed-era readings that still apply.

Every path, method and parameter is the document's: the base path is ``/v1``,
every parameter is in the query string (POSTs included), and the private calls
that the document makes GETs (``cancel_order``, ``edit_order``,
``cancel_all_open_orders``, ``close_position``...) are GETs here too. A wrong
method is answered 405 by the router, an unknown path 404.

The document leaves most of the protocol open. The readings this simulator picks
(and that ``botkit.venues.alpha5`` parses, accepting the alternatives too):

* Authentication is documented as "None". With ``token=None`` (the default) no
  credentials are checked; with a token, private calls (``/account/*``) need
  ``Authorization: Bearer <token>`` and are otherwise answered 401
  ``unauthorized``. There is no signature and no nonce to verify.
* ``place_order`` documents no side parameter. The simulator requires
  ``side=buy|sell`` (a missing or other value is 400 ``invalid_params``).
* Required parameters are enforced as the tables mark them, including the
  asset *and* contract symbol of ``get_open_orders``, ``get_positions`` and
  ``cancel_all_open_orders``; a contract that does not belong to the asset is
  400 ``invalid_params``. ``recent_trades`` is by asset (its only required
  parameter), each trade naming its contract.
* Replies: success is ``{"result": ...}``; an error is
  ``{"error": {"code": "<symbolic code>", "message": "..."}}`` with a 4xx
  (Deribit-flavoured codes, see ``ERRORS``), or 5xx when a fault is injected.
  Field names follow the document's parameter names (``contract_symbol``,
  ``order_id``, ``size``, ``price``, ``time_in_force``...). Numbers are strings,
  times are epoch milliseconds (``timestamp``, ``creation_timestamp``,
  ``last_update_timestamp``).
* Contracts are linear USDT-margined perpetuals: size is in the base asset and
  order value = price x size in USDT. (The edit_order text "for perpetual and
  futures the amount is in USD units" describes inverse contracts; they are not
  simulated.)
* Post-only: "the price will be changed to be just below the bid" is read as
  buy -> best ask - tick, sell -> best bid + tick, on place and on edit (the
  document says "the new price"), so a post-only order never crosses here.
  ``post_only`` is only valid with ``time_in_force=good_til_cancelled`` and a
  limit order (400 ``post_only_not_allowed``).
* Order status: ``open`` (also with part filled; ``filled_size`` tells),
  ``filled``, ``cancelled`` (IOC/FOK/market remainders too), ``rejected``, and
  ``untriggered`` for a stop order waiting for its trigger. ``edit_order``'s
  size is the order's new total size.
* Stop orders (``stop_limit``/``stop_market``) wait here, at the protocol
  level, for their trigger (``last_price``: trade prints; ``mark_price`` and
  ``index_price``: the book's mid), then enter the exchange as a limit/market
  order that keeps the stop's order id. ``trigger`` is required for
  ``stop_limit`` as documented and defaults to ``last_price`` for
  ``stop_market``.
* ``get_order_history`` lists the orders "that have been partially or fully
  filled" (open or closed), newest first; a cancelled order that never filled is
  in neither it nor ``get_open_orders``. ``get_user_trades`` ("pagination
  supported", no paging parameters documented) returns all of the account's
  trades, oldest first, optionally for one ``order_id``.
* ``get_positions`` "returns open positions": flat contracts are left out; the
  size is signed, with ``direction`` buy/sell. ``close_position`` takes the id of
  any order on the contract to close (the document's only parameter), closing
  with a reduce-only market order, or a limit order at ``price``.
* ``cancel_all_open_orders`` answers the number of orders cancelled.
* Wallet calls other than ``wallet_balances`` (deposit addresses, deposits,
  withdrawals) are not simulated. No websocket is documented, so there is none.

Faults (``exchange.faults``) apply to the private calls: "stall" sleeps before
acting, "fail" answers 500/502/503 before acting or, when ``fail_after_acting``,
after it — the ambiguous case.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from botkit.events import BookSnapshot, Trade
from botkit.model import (
    ZERO,
    Fill,
    Instrument,
    Liquidity,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeInForce,
)
from botkit.simulator.backend import ExchangeBackend, SimReject

__all__ = [
    "API",
    "ERRORS",
    "TEST_TOKEN",
    "Alpha5Exchange",
    "Contract",
    "make_exchange",
    "setup_routes",
]

VENUE = "alpha5"
API = "/v1"  # the path of the documented base URL
TEST_TOKEN = "alpha5-test-token"  # a bearer token for tests that exercise authentication


@dataclass(frozen=True)
class Contract:
    """One listed contract: the venue's symbol and the instrument (keyed by our symbol)."""

    contract_symbol: str
    instrument: Instrument
    settlement_period: str = "perpetual"
    contract_type: str = "perpetual"

    @property
    def asset(self) -> str:
        return self.instrument.base


def _perpetual(base: str, tick: str, lot: str, max_size: str) -> Contract:
    return Contract(
        f"{base}-PERPETUAL",
        Instrument(
            VENUE,
            f"{base}/USDT",
            base,
            "USDT",
            tick_size=tick,
            lot_size=lot,
            min_size=lot,
            max_size=max_size,
            min_notional="5",
            max_notional="100000000",
            kind="perpetual",
            maker_fee="0.0002",
            taker_fee="0.0005",
        ),
    )


DEFAULT_CONTRACTS = (
    _perpetual("BTC", "0.5", "0.001", "1000"),
    _perpetual("ETH", "0.05", "0.01", "10000"),
)
DEFAULT_MIDS = {"BTC/USDT": 30000.0, "ETH/USDT": 2000.0}
DEFAULT_BALANCES = {"USDT": Decimal("100000")}
ASSET_NAMES = {"BTC": "Bitcoin", "ETH": "Ethereum", "USDT": "Tether USD"}

# SimReject's venue-neutral codes -> Alpha5's code and HTTP status.
ERRORS: Mapping[str, tuple[str, int]] = {
    "unknown_instrument": ("instrument_not_found", 400),
    "duplicate_client_id": ("duplicate_order", 409),
    "invalid_size": ("invalid_amount", 400),
    "invalid_price": ("invalid_price", 400),
    "below_min_notional": ("order_value_too_low", 400),
    "above_max_notional": ("order_value_too_high", 400),
    "below_min_size": ("qty_too_low", 400),
    "above_max_size": ("qty_too_high", 400),
    "post_only_not_allowed": ("post_only_not_allowed", 400),
    "reduce_only_would_increase": ("reduce_only_violation", 400),
    "insufficient_funds": ("not_enough_funds", 400),
    "no_liquidity": ("not_enough_liquidity", 400),
    "order_not_found": ("order_not_found", 404),
    "order_not_open": ("order_not_open", 400),
    "post_only_would_cross": ("post_only_reject", 400),
    "unsupported_order_type": ("unsupported_order_type", 400),
    # Protocol-level refusals (not raised by the exchange itself).
    "invalid_params": ("invalid_params", 400),
    "unauthorized": ("unauthorized", 401),
    "no_open_position": ("no_open_position", 400),
}

FAIL_STATUSES = ((500, "internal_server_error"), (502, "bad_gateway"), (503, "service_unavailable"))

ORDER_TYPES = {t.value: t for t in OrderType}
TIF_IN = {
    "good_til_cancelled": TimeInForce.GTC,
    "fill_or_kill": TimeInForce.FOK,
    "immediate_or_cancel": TimeInForce.IOC,
}
TIF_OUT = {v: k for k, v in TIF_IN.items()}
TRIGGERS = ("index_price", "mark_price", "last_price")
OPEN_ORDER_TYPES = ("all", "limit", "stop_all", "stop_limit", "stop_market")
CONTRACT_TYPES = ("future", "perpetual", "spread")
SIDES = {"buy": Side.BUY, "sell": Side.SELL}

STATUS_OUT = {
    OrderStatus.FILLED: "filled",
    OrderStatus.CANCELED: "cancelled",
    OrderStatus.EXPIRED: "cancelled",
    OrderStatus.REJECTED: "rejected",
}


class Alpha5Exchange(ExchangeBackend):
    """The simulated exchange plus what the Alpha5 protocol needs to know about it."""

    def __init__(
        self,
        contracts: tuple[Contract, ...],
        token: str | None,
        balances: dict[str, Decimal],
        seed: int,
        step_s: float,
        mids: dict[str, float],
        flow_options: dict[str, Any] | None,
        api: str = "v1.0.0",
    ) -> None:
        super().__init__(
            VENUE,
            {c.instrument.symbol: c.instrument for c in contracts},
            balances=balances,
            seed=seed,
            step_s=step_s,
            mids=mids,
            derivatives=True,
            flow_options=flow_options,
        )
        self.contracts = {c.contract_symbol: c for c in contracts}
        self.contract_of = {c.instrument.symbol: c for c in contracts}
        self.token = token
        self.api = api


def make_exchange(
    seed: int = 1,
    *,
    token: str | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
    contracts: tuple[Contract, ...] = DEFAULT_CONTRACTS,
    balances: Mapping[str, Decimal | str | int] | None = None,
    mids: Mapping[str, float] | None = None,
    step_s: float = 0.1,
    flow_options: dict[str, Any] | None = None,
    api: str = "v1.0.0",
) -> Alpha5Exchange:
    """The Alpha5 exchange: USDT perpetuals, a USDT wallet, derivatives accounting.

    ``token`` is the bearer token private calls must carry (None: the documented
    "None" authentication). ``api_key`` is accepted as the token, for harnesses
    that hand every venue a key; ``api_secret`` has no use here.
    """
    del api_secret  # Alpha5 signs nothing
    start = {k: Decimal(str(v)) for k, v in (balances or DEFAULT_BALANCES).items()}
    return Alpha5Exchange(
        tuple(contracts),
        token if token is not None else api_key,
        start,
        seed,
        step_s,
        {**DEFAULT_MIDS, **(mids or {})},
        flow_options,
        api,
    )


# --- formatting -----------------------------------------------------------------------------


def _s(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _f(value: float | None) -> str | None:
    return None if value is None else format(Decimal(repr(value)), "f")


def _ms(ts_ns: int) -> int:
    return ts_ns // 1_000_000


@dataclass
class _Stop:
    """A stop order waiting at the protocol level for its trigger."""

    order_id: str
    symbol: str
    side: Side
    type: OrderType
    size: Decimal
    price: Decimal | None
    stop_price: Decimal
    trigger: str
    tif: TimeInForce
    reduce_only: bool
    created_ns: int
    updated_ns: int
    status: str = "untriggered"  # untriggered | triggered | cancelled | rejected
    venue_order_id: str | None = None  # the exchange's order once triggered
    reason: str | None = None


@dataclass
class _Query:
    """Typed access to one request's query string; bad input is 400 invalid_params."""

    q: Mapping[str, str]
    exchange: ExchangeBackend
    what: str
    seen: set[str] = field(default_factory=set)

    def bad(self, message: str) -> SimReject:
        return self.exchange.reject(self.what, "invalid_params", message)

    def text(self, name: str, required: bool = False) -> str | None:
        value = self.q.get(name)
        if value is None or value == "":
            if required:
                raise self.bad(f"{name} is required")
            return None
        return value

    def decimal(self, name: str, required: bool = False) -> Decimal | None:
        raw = self.text(name, required)
        if raw is None:
            return None
        try:
            d = Decimal(raw)
        except InvalidOperation:
            raise self.bad(f"{name} must be a number, got {raw!r}") from None
        if not d.is_finite():
            raise self.bad(f"{name} must be a finite number, got {raw!r}")
        return d

    def boolean(self, name: str) -> bool:
        raw = self.text(name)
        if raw is None:
            return False
        if raw.lower() not in ("true", "false"):
            raise self.bad(f"{name} must be true or false, got {raw!r}")
        return raw.lower() == "true"

    def choice(
        self,
        name: str,
        allowed: tuple[str, ...] | Mapping[str, Any],
        default: str | None = None,
        required: bool = False,
    ) -> str | None:
        raw = self.text(name, required)
        if raw is None:
            return default
        if raw not in allowed:
            raise self.bad(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
        return raw

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            n = int(raw)
        except ValueError:
            raise self.bad(f"{name} must be an integer, got {raw!r}") from None
        if not low <= n <= high:
            raise self.bad(f"{name} must be between {low} and {high}")
        return n


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Action = Callable[[_Query], Any]


class Alpha5Protocol:
    """The HTTP side of one simulated Alpha5 venue."""

    def __init__(self, exchange: ExchangeBackend) -> None:
        self.ex = exchange
        if isinstance(exchange, Alpha5Exchange):
            self.contracts = exchange.contracts
            self.contract_of = exchange.contract_of
            self.token = exchange.token
            self.api = exchange.api
        else:  # a plain ExchangeBackend: list its instruments as perpetuals
            self.contracts = {
                f"{i.base}-PERPETUAL": Contract(f"{i.base}-PERPETUAL", i)
                for i in exchange.instruments.values()
            }
            self.contract_of = {c.instrument.symbol: c for c in self.contracts.values()}
            self.token = None
            self.api = "v1.0.0"
        self.recent: dict[str, deque[Trade]] = {s: deque(maxlen=1000) for s in exchange.books}
        self.stops: dict[str, _Stop] = {}  # by order id
        self.stop_of_order: dict[str, str] = {}  # exchange order id -> stop order id
        self._stop_ids = itertools.count(1)
        exchange.subscribers.append(self._on_event)

    # ----- plumbing ---------------------------------------------------------------------

    @staticmethod
    def _error(code: str, message: str, status: int) -> web.Response:
        return web.json_response({"error": {"code": code, "message": message}}, status=status)

    def _refused(self, r: SimReject) -> web.Response:
        code, status = ERRORS.get(r.code, (r.code, r.http_status))
        return self._error(code, r.message, status)

    async def _params(self, request: web.Request, what: str) -> _Query:
        """The request's parameters: v1.0.0 POSTs carry a JSON object body, others a query."""
        if request.method != "POST" or self.api != "v1.0.0":
            return _Query(request.query, self.ex, what)
        try:
            body = json.loads(await request.read())
        except (ValueError, RecursionError):
            raise self.ex.reject(what, "invalid_params", "the body is not JSON") from None
        if not isinstance(body, dict) or any(isinstance(v, dict | list) for v in body.values()):
            raise self.ex.reject(what, "invalid_params", "the body must be a flat JSON object")
        flat = {
            k: ("true" if v else "false") if isinstance(v, bool) else str(v)
            for k, v in body.items()
            if v is not None
        }
        return _Query(flat, self.ex, what)

    def public(self, what: str, action: Action) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                result = action(_Query(request.query, self.ex, what))
            except SimReject as r:
                return self._refused(r)
            return web.json_response(result)

        return handler

    def private(self, what: str, action: Action) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            if self.token is not None:
                header = request.headers.get("Authorization", "")
                if header != f"Bearer {self.token}":
                    r = self.ex.reject(what, "unauthorized", "missing or invalid bearer token", 401)
                    return self._refused(r)
            # The body is read on arrival: a stalled client may be gone when the stall ends.
            try:
                params: _Query | SimReject = await self._params(request, what)
            except SimReject as r:
                params = r
            faults = self.ex.faults
            fault, after = faults.next_call()
            if fault == "stall":
                await asyncio.sleep(faults.stall_s)
            if fault == "fail" and not after:
                return self._fail()
            try:
                if isinstance(params, SimReject):
                    raise params
                reply: web.Response = web.json_response(action(params))
            except SimReject as r:
                reply = self._refused(r)
            if fault == "fail":
                return self._fail()  # it acted; the client cannot know
            return reply

        return handler

    def _fail(self) -> web.Response:
        status, code = self.ex.faults.rng.choice(FAIL_STATUSES)
        return self._error(code, "injected fault", status)

    def _contract(
        self, p: _Query, name: str = "contract_symbol", required: bool = True
    ) -> Contract | None:
        symbol = p.text(name, required)
        if symbol is None:
            return None
        c = self.contracts.get(symbol)
        if c is None:
            raise self.ex.reject(p.what, "unknown_instrument", f"unknown contract {symbol}")
        return c

    def _asset_contract(self, p: _Query, asset_required: bool = True) -> Contract:
        asset = p.text("asset", required=asset_required)
        c = self._contract(p)
        assert c is not None
        if asset is not None and c.asset != asset:
            raise p.bad(f"contract {c.contract_symbol} is not a {asset} contract")
        p.choice("contract_type", CONTRACT_TYPES)
        return c

    def _resolve(self, order_id: str) -> tuple[_Stop | None, Order | None]:
        """An order id -> (its untriggered stop, or None; the exchange order, or None)."""
        stop = self.stops.get(order_id)
        if stop is not None and stop.venue_order_id is None:
            return stop, None
        vid = stop.venue_order_id if stop is not None else order_id
        return None, self.ex.find(venue_order_id=vid)

    # ----- payloads ---------------------------------------------------------------------

    # v1.0.0 shapes (test-enabling edit, written from the document's schemas).

    def _asset_json(self, symbol: str) -> dict[str, Any]:
        # Asset.precision: the digits of the asset's amounts (a contract's lot size).
        lots = [c.instrument.lot_size for c in self.contracts.values() if c.asset == symbol]
        digits = -min(lot.as_tuple().exponent for lot in lots) if lots else 8  # type: ignore[operator]
        return {"symbol": symbol, "name": ASSET_NAMES.get(symbol, symbol), "precision": digits}

    @staticmethod
    def _contract_id(c: Contract) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"alpha5:{c.contract_symbol}"))

    def _contract_json(self, c: Contract) -> dict[str, Any]:
        i = c.instrument
        return {
            "symbol": c.contract_symbol,
            "name": c.contract_symbol,
            "contract_type": c.contract_type,
            "settle_at": None,
            "launch_at": "2020-06-22T16:17:45Z",
            "tick_size": _s(i.tick_size),
            "status": "operational",
            "initial_margin": "0.04",
            "maintainance_margin": "0.02",
            "maximum_position_limit": _s(i.max_size),
            "quoting_asset": self._asset_json(i.quote),
            "settling_asset": self._asset_json(i.quote),
            # Not in the document: the simulator's own limits and fees.
            "min_size": _s(i.min_size),
            "max_size": _s(i.max_size),
            "min_order_value": _s(i.min_notional),
            "max_order_value": _s(i.max_notional),
            "maker_fee": _s(i.maker_fee),
            "taker_fee": _s(i.taker_fee),
        }

    def _public_id(self, venue_order_id: str | None) -> str | None:
        if venue_order_id is None:
            return None
        return self.stop_of_order.get(venue_order_id, venue_order_id)

    def _v1_order(
        self,
        order_id: str | None,
        c: Contract,
        otype: OrderType,
        side: Side,
        price: Decimal | None,
        stop_price: Decimal | None,
        size: Decimal,
        filled: Decimal,
        closed: bool,
        tif: TimeInForce,
    ) -> dict[str, Any]:
        # OrderStatus is only open/filled: a closed remainder shows as cancelled_size.
        return {
            "id": order_id,
            "type": otype.value,
            "side": side.value,
            "status": "filled" if filled >= size else "open",
            "limit_price": _s(price),
            "stop_price": _s(stop_price),
            "size": _s(size),
            "filled_size": _s(filled),
            "cancelled_size": _s(size - filled if closed else ZERO),
            "time_in_force": TIF_OUT[tif],
            "contract": {"id": self._contract_id(c), "symbol": c.contract_symbol},
        }

    def _order_json(self, o: Order) -> dict[str, Any]:
        stop = self.stops.get(self._public_id(o.venue_order_id) or "")
        return self._v1_order(
            self._public_id(o.venue_order_id),
            self.contract_of[o.symbol],
            stop.type if stop else o.type,
            o.side,
            o.price,
            stop.stop_price if stop else None,
            o.size,
            o.filled,
            not o.is_open,
            o.tif,
        )

    def _stop_json(self, s: _Stop) -> dict[str, Any]:
        if s.venue_order_id is not None:
            return self._order_json(self.ex.orders[s.venue_order_id])
        return self._v1_order(
            s.order_id,
            self.contract_of[s.symbol],
            s.type,
            s.side,
            s.price,
            s.stop_price,
            s.size,
            ZERO,
            s.status != "untriggered",
            s.tif,
        )

    def _trade_json(self, f: Fill) -> dict[str, Any]:
        return {
            "trade_id": f.trade_id,
            "order_id": self._public_id(f.venue_order_id),
            "contract_symbol": self.contract_of[f.symbol].contract_symbol,
            "side": f.side.value,
            "price": _s(f.price),
            "size": _s(f.size),
            "fee": _s(f.fee),
            "fee_asset": f.fee_asset,
            "liquidity": "M" if f.liquidity is Liquidity.MAKER else "T",
            "timestamp": _ms(f.ts_ns),
        }

    # ----- public -------------------------------------------------------------------------

    def get_assets(self, p: _Query) -> list[dict[str, Any]]:
        assets = sorted(
            {a for c in self.contracts.values() for a in (c.instrument.base, c.instrument.quote)}
        )
        return [self._asset_json(a) for a in assets]

    def get_live_contracts(self, p: _Query) -> list[dict[str, Any]]:
        asset = p.text("asset")
        kind = p.text("type")
        if p.boolean("expired"):
            return []  # every simulated contract is a live perpetual
        return [
            self._contract_json(c)
            for c in self.contracts.values()
            if (asset is None or c.asset == asset) and (kind is None or c.contract_type == kind)
        ]

    def ticker(self, p: _Query) -> dict[str, Any]:
        c = self._contract(p)
        assert c is not None
        book = self.ex.books[c.instrument.symbol]
        prices = [t.price for t in self.recent[c.instrument.symbol]] or [
            x for x in (book.last_price, book.mid) if x is not None
        ][:1]
        return {
            "open": _f(prices[0]) if prices else None,
            "high": _f(max(prices)) if prices else None,
            "low": _f(min(prices)) if prices else None,
            "close": _f(prices[-1]) if prices else None,
            "timestamp": _ms(book.ts_ns or time.time_ns()),
        }

    def order_book(self, p: _Query) -> dict[str, Any]:
        c = self._contract(p)
        assert c is not None
        depth = p.integer("depth", 10, 1, 1000)
        book = self.ex.books[c.instrument.symbol]
        return {
            "depth": depth,
            "buy": [{"price": _f(px), "size": _f(sz)} for px, sz in book.bid_levels(depth)],
            "sell": [{"price": _f(px), "size": _f(sz)} for px, sz in book.ask_levels(depth)],
        }

    def recent_trades(self, p: _Query) -> list[dict[str, Any]]:
        asset = p.text("asset", required=True)
        count = p.integer("count", 10, 1, 1000)
        trades = [
            t
            for c in self.contracts.values()
            if c.asset == asset
            for t in self.recent[c.instrument.symbol]
        ]
        trades.sort(key=lambda t: t.ts_ns)
        return [
            {
                "side": t.side.value if t.side else None,
                "price": _f(t.price),
                "size": _f(t.size),
                "timestamp": _ms(t.ts_ns),
            }
            for t in trades[-count:]
        ]

    # ----- orders ---------------------------------------------------------------------------

    def _slide(self, symbol: str, side: Side, price: Decimal, what: str) -> Decimal:
        """Move a post-only price that would take liquidity to one tick inside the touch."""
        inst = self.ex.instruments[symbol]
        book = self.ex.books[symbol]
        if side is Side.BUY:
            ref = book.best_ask if book.best_ask is not None else book.last_price
            if ref is None or price < Decimal(repr(ref)):
                return price
            moved = inst.price_down(Decimal(repr(ref))) - inst.tick_size
        else:
            ref = book.best_bid if book.best_bid is not None else book.last_price
            if ref is None or price > Decimal(repr(ref)):
                return price
            moved = inst.price_up(Decimal(repr(ref))) + inst.tick_size
        if moved <= 0:
            raise self.ex.reject(what, "post_only_would_cross", "no post-only price left")
        return moved

    def place_order(self, p: _Query) -> dict[str, Any]:
        c = self._contract(p)
        assert c is not None
        size = p.decimal("size", required=True)
        assert size is not None
        otype = ORDER_TYPES[p.choice("type", ORDER_TYPES, "limit") or "limit"]
        price = p.decimal("price")
        tif = TIF_IN[p.choice("time_in_force", TIF_IN, "good_til_cancelled") or ""]
        post_only = p.boolean("post_only")
        reduce_only = p.boolean("reduce_only")
        side = SIDES[p.choice("side", SIDES, required=True) or ""]
        symbol = c.instrument.symbol
        if otype.is_stop:
            return self._place_stop(
                p, symbol, side, otype, size, price, tif, post_only, reduce_only
            )
        if post_only and price is not None and otype is OrderType.LIMIT and tif is TimeInForce.GTC:
            price = self._slide(symbol, side, price, "place")
        order = self.ex.place(symbol, side, otype, size, price, None, tif, post_only, reduce_only)
        if order.status is OrderStatus.REJECTED:
            # The exchange logged it already; only the reply is still to be made.
            raise SimReject(order.code or "invalid_params", order.reason or "rejected")
        return self._order_json(order)

    def _place_stop(
        self,
        p: _Query,
        symbol: str,
        side: Side,
        otype: OrderType,
        size: Decimal,
        price: Decimal | None,
        tif: TimeInForce,
        post_only: bool,
        reduce_only: bool,
    ) -> dict[str, Any]:
        stop_price = p.decimal("stop_price")
        if stop_price is None:
            raise p.bad("stop_price is required for stop orders")
        trigger = p.choice("trigger", TRIGGERS)
        if trigger is None:
            if otype is OrderType.STOP_LIMIT:
                raise p.bad("trigger is required for stop_limit orders")
            trigger = "last_price"
        inst = self.ex.instruments[symbol]
        reject = self.ex.reject
        if post_only:
            raise reject("place", "post_only_not_allowed", "post-only needs a GTC limit order")
        if size <= 0 or size % inst.lot_size:
            raise reject(
                "place",
                "invalid_size",
                f"size {size} is not a positive multiple of {inst.lot_size}",
            )
        if stop_price <= 0 or stop_price % inst.tick_size:
            raise reject("place", "invalid_price", f"stop price {stop_price} is off the tick grid")
        if otype is OrderType.STOP_LIMIT:
            if price is None or price <= 0 or price % inst.tick_size:
                raise reject(
                    "place",
                    "invalid_price",
                    f"price {price} is not a positive multiple of {inst.tick_size}",
                )
        elif price is not None:
            raise reject("place", "invalid_price", "a stop market order takes no price")
        if inst.min_size is not None and size < inst.min_size:
            raise reject("place", "below_min_size", f"size {size} < {inst.min_size}")
        if inst.max_size is not None and size > inst.max_size:
            raise reject("place", "above_max_size", f"size {size} > {inst.max_size}")
        value = (price or stop_price) * size
        if inst.min_notional is not None and value < inst.min_notional:
            raise reject(
                "place", "below_min_notional", f"order value {value} < {inst.min_notional}"
            )
        if inst.max_notional is not None and value > inst.max_notional:
            raise reject(
                "place", "above_max_notional", f"order value {value} > {inst.max_notional}"
            )
        now = time.time_ns()
        stop = _Stop(
            f"{VENUE}-s{next(self._stop_ids)}",
            symbol,
            side,
            otype,
            size,
            price,
            stop_price,
            trigger,
            tif,
            reduce_only,
            now,
            now,
        )
        self.stops[stop.order_id] = stop
        return self._stop_json(stop)

    def edit_order(self, p: _Query) -> dict[str, Any]:
        order_id = p.text("order_id", required=True)
        assert order_id is not None
        size = p.decimal("size")
        price = p.decimal("price")
        if size is None and price is None:
            raise p.bad("nothing to change: give size and/or price")
        stop, order = self._resolve(order_id)
        if stop is not None:
            return self._edit_stop(stop, price, size)
        assert order is not None
        if price is not None and order.post_only:
            price = self._slide(order.symbol, order.side, price, "edit")
        self.ex.edit(order.venue_order_id, None, price, size)
        return self._order_json(order)

    def _edit_stop(
        self, stop: _Stop, price: Decimal | None, size: Decimal | None
    ) -> dict[str, Any]:
        inst = self.ex.instruments[stop.symbol]
        if stop.status != "untriggered":
            raise self.ex.reject("edit", "order_not_open", f"order is {stop.status}")
        if size is not None and (size <= 0 or size % inst.lot_size):
            raise self.ex.reject("edit", "invalid_size", f"size {size} is not valid")
        if price is not None:
            if stop.type is OrderType.STOP_MARKET:
                raise self.ex.reject("edit", "invalid_price", "a stop market order has no price")
            if price <= 0 or price % inst.tick_size:
                raise self.ex.reject("edit", "invalid_price", f"price {price} is off the tick grid")
            stop.price = price
        if size is not None:
            stop.size = size
        stop.updated_ns = time.time_ns()
        return self._stop_json(stop)

    def cancel_order(self, p: _Query) -> dict[str, Any]:
        order_id = p.text("order_id", required=True)
        assert order_id is not None
        stop, order = self._resolve(order_id)
        if stop is not None:
            if stop.status != "untriggered":
                raise self.ex.reject("cancel", "order_not_open", f"order is {stop.status}")
            stop.status, stop.updated_ns = "cancelled", time.time_ns()
            return self._stop_json(stop)
        assert order is not None
        self.ex.cancel(venue_order_id=order.venue_order_id)
        return self._order_json(order)

    def cancel_all_open_orders(self, p: _Query) -> int:
        if self.api == "v1.0.0" and p.text("contract_symbol") is None:
            # v1.0.0: every filter is optional.
            asset = p.text("asset")
            p.choice("contract_type", CONTRACT_TYPES)
            chosen = [c for c in self.contracts.values() if asset is None or c.asset == asset]
        else:
            chosen = [self._asset_contract(p, asset_required=self.api != "v1.0.0")]
        cancelled = 0
        now = time.time_ns()
        for c in chosen:
            symbol = c.instrument.symbol
            cancelled += len(self.ex.cancel_all(symbol))
            for stop in self.stops.values():
                if stop.symbol == symbol and stop.status == "untriggered":
                    stop.status, stop.updated_ns = "cancelled", now
                    cancelled += 1
        return cancelled

    def get_open_orders(self, p: _Query) -> list[dict[str, Any]]:
        c = self._asset_contract(p, asset_required=self.api != "v1.0.0")
        kind = p.choice("type", OPEN_ORDER_TYPES, "all")
        symbol = c.instrument.symbol
        out = []
        if kind in ("all", "limit"):
            out += [
                self._order_json(o)
                for o in self.ex.open_orders(symbol)
                if o.venue_order_id is not None
            ]
        if kind != "limit":
            out += [
                self._stop_json(s)
                for s in self.stops.values()
                if s.symbol == symbol
                and s.status == "untriggered"
                and kind in ("all", "stop_all", s.type.value)
            ]
        return out

    def get_order_history(self, p: _Query) -> list[dict[str, Any]]:
        asset = p.text("asset", required=True)
        p.choice("contract_type", CONTRACT_TYPES)
        orders = [
            o
            for o in self.ex.orders.values()
            if o.filled > 0 and self.contract_of[o.symbol].asset == asset
        ]
        orders.sort(key=lambda o: o.created_ns, reverse=True)
        return [self._order_json(o) for o in orders]

    def get_user_trades(self, p: _Query) -> list[dict[str, Any]]:
        order_id = p.text("order_id")
        trades = [self._trade_json(f) for f in self.ex.trades]
        if order_id is not None:
            trades = [t for t in trades if t["order_id"] == order_id]
        return trades

    # ----- account --------------------------------------------------------------------------

    def get_positions(self, p: _Query) -> list[dict[str, Any]]:
        c = self._asset_contract(p)
        symbol = c.instrument.symbol
        size = self.ex.positions.get(symbol, ZERO)
        if not size:
            return []
        return [self._position_json(c)]

    def _position_json(self, c: Contract) -> dict[str, Any]:
        symbol = c.instrument.symbol
        size = self.ex.positions.get(symbol, ZERO)
        pos = Position(symbol)
        for f in self.ex.trades:
            if f.symbol == symbol:
                pos = pos.apply(f.side, f.price, f.size)
        return {
            "side": "buy" if size > 0 else "sell",
            "price": _s(pos.avg_price),
            "contract_id": self._contract_id(c),
            "size": _s(abs(size)),  # not in the document's Position
        }

    def close_position(self, p: _Query) -> dict[str, Any]:
        price = p.decimal("price")
        if self.api == "v1.0.0":
            c = self._contract(p)
            assert c is not None
            symbol = c.instrument.symbol
        else:
            order_id = p.text("order_id", required=True)
            assert order_id is not None
            stop, order = self._resolve(order_id)
            symbol = stop.symbol if stop is not None else order.symbol  # type: ignore[union-attr]
        reply = self._position_json(self.contract_of[symbol])
        size = self.ex.positions.get(symbol, ZERO)
        if not size:
            raise self.ex.reject(
                "close_position",
                "no_open_position",
                f"no open position in {self.contract_of[symbol].contract_symbol}",
            )
        side = Side.SELL if size > 0 else Side.BUY
        otype = OrderType.LIMIT if price is not None else OrderType.MARKET
        closing = self.ex.place(
            symbol, side, otype, abs(size), price, None, TimeInForce.GTC, False, True
        )
        if closing.status is OrderStatus.REJECTED:
            raise SimReject(closing.code or "invalid_params", closing.reason or "rejected")
        # v1.0.0 answers with the Position; the seed documents no reply: the closing order.
        return reply if self.api == "v1.0.0" else self._order_json(closing)

    def wallet_balances(self, p: _Query) -> list[dict[str, Any]]:
        asset = p.text("asset")
        return [
            {"asset": a, "balance": _s(v), "available": _s(v)}
            for a, v in sorted(self.ex.balances.items())
            if asset is None or a == asset
        ]

    # ----- market events: public trades and stop triggers ---------------------------------

    def _on_event(self, kind: str, payload: Any) -> None:
        if kind == "trade":
            trade: Trade = payload
            self.recent[trade.symbol].append(trade)
            self._trigger(trade.symbol, "last_price", trade.price)
        elif kind == "book":
            snap: BookSnapshot = payload
            if snap.bids and snap.asks:
                mid = (snap.bids[0][0] + snap.asks[0][0]) / 2
                self._trigger(snap.symbol, "mark_price", mid)
                self._trigger(snap.symbol, "index_price", mid)

    def _trigger(self, symbol: str, source: str, price: float) -> None:
        for stop in list(self.stops.values()):
            if stop.symbol != symbol or stop.status != "untriggered" or stop.trigger != source:
                continue
            stop_px = float(stop.stop_price)
            if price >= stop_px if stop.side is Side.BUY else price <= stop_px:
                self._fire(stop)

    def _fire(self, stop: _Stop) -> None:
        otype = OrderType.LIMIT if stop.type is OrderType.STOP_LIMIT else OrderType.MARKET
        stop.updated_ns = time.time_ns()
        try:
            order = self.ex.place(
                stop.symbol,
                stop.side,
                otype,
                stop.size,
                stop.price,
                None,
                stop.tif,
                False,
                stop.reduce_only,
            )
        except SimReject as r:
            stop.status, stop.reason = "rejected", r.message
            return
        if order.venue_order_id is None:
            stop.status, stop.reason = "rejected", order.reason
            return
        stop.status, stop.venue_order_id = "triggered", order.venue_order_id
        self.stop_of_order[order.venue_order_id] = stop.order_id


def setup_routes(app: web.Application, exchange: ExchangeBackend) -> None:
    proto = Alpha5Protocol(exchange)
    r = app.router
    pub, prv = proto.public, proto.private
    r.add_get(f"{API}/public/get_assets", pub("get_assets", proto.get_assets))
    r.add_get(
        f"{API}/public/get_live_contracts", pub("get_live_contracts", proto.get_live_contracts)
    )
    r.add_get(f"{API}/public/ticker", pub("ticker", proto.ticker))
    r.add_get(f"{API}/public/order_book", pub("order_book", proto.order_book))
    r.add_get(f"{API}/public/recent_trades", pub("recent_trades", proto.recent_trades))
    r.add_post(f"{API}/account/place_order", prv("place", proto.place_order))
    # v1.0.0 makes these POSTs with a JSON body; the seed lists them as GETs.
    act = r.add_post if proto.api == "v1.0.0" else r.add_get
    act(f"{API}/account/edit_order", prv("edit", proto.edit_order))
    act(f"{API}/account/cancel_order", prv("cancel", proto.cancel_order))
    act(f"{API}/account/cancel_all_open_orders", prv("cancel_all", proto.cancel_all_open_orders))
    act(f"{API}/account/close_position", prv("close_position", proto.close_position))
    r.add_get(f"{API}/account/get_open_orders", prv("open_orders", proto.get_open_orders))
    r.add_get(f"{API}/account/get_order_history", prv("order_history", proto.get_order_history))
    r.add_get(f"{API}/account/get_user_trades", prv("user_trades", proto.get_user_trades))
    r.add_get(f"{API}/account/get_positions", prv("positions", proto.get_positions))
    r.add_get(f"{API}/account/wallet_balances", prv("balances", proto.wallet_balances))
