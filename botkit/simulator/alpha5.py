"""Alpha5's own REST protocol over the simulated exchange.

Two documents describe it: the seed (000, "Alpha5 Documentation", every
example response ``{}``, authentication "None") and the published v1.0.0
(``seeds/reference/alpha5-v1.0.0.md``, every response schema, bearer auth).
Payloads follow v1.0.0's schemas; requests are taken as either document makes
them. The base path is ``/v1``. No websocket is documented, so there is none.

Requests — where the two documents differ, both are accepted:

* ``place_order`` is a POST in both: its parameters in the query string (the
  seed) or a JSON body (v1.0.0). ``edit_order``, ``cancel_order``,
  ``cancel_all_open_orders`` and ``close_position`` are GETs with query
  parameters in the seed and POSTs with JSON bodies in v1.0.0: both are served,
  each with its own document's parameter table (``close_position`` by
  ``order_id`` on GET, by ``contract_symbol`` on POST; ``cancel_all_open_orders``
  needs ``asset`` and ``contract_symbol`` on GET, nothing on POST). A POST takes
  its parameters from the body when it has one (then the query must be empty),
  else from the query. GETs both documents list take the union of their
  parameters, required only where both require them.
* Parameters are typed as documented (numbers as a JSON number or a string,
  ``true``/``false``, the enums as written, order ids as UUIDs); unknown ones
  are refused (``strict_fields``). ``place_order`` documents no side: ``side``
  (``buy``/``sell``, the Side enum) is required — the one parameter the
  documents do not have.
* Authentication is "None" in the seed and bearer in v1.0.0: with
  ``token=None`` (the default) nothing is checked; with a token, private calls
  (``/v1/account/...``) need ``Authorization: Bearer <token>`` and are otherwise
  401 (public ones too with ``token_on_public=True``, as v1.0.0 lists bearer on
  every operation).

Replies (v1.0.0's shapes, bare, no envelope):

* Contract: ``symbol``, ``name``, ``contract_type`` (perpetual/future),
  ``settle_at`` (null for a perpetual), ``launch_at``, ``tick_size``, ``status``
  (operational), ``initial_margin``, ``maintainance_margin`` [sic],
  ``maximum_position_limit``, nested ``quoting_asset`` and ``settling_asset``
  Assets. Order book ``{depth, buy, sell}`` of ``{price, size}``; ticker
  ``{open, high, low, close, timestamp}`` over the last 24 h of prints; recent
  trades ``{side, price, size, timestamp}``, newest first. Numbers are strings.
* Order: ``id`` (a UUID), ``type``, ``side``, ``status``, ``limit_price``,
  ``stop_price``, ``size``, ``filled_size``, ``cancelled_size``,
  ``time_in_force``, ``contract: {id, symbol}`` — and nothing else, so a client
  can rely on nothing the document does not give. ``status`` is the documented
  enum: ``open`` while the order can still trade (a stop waiting for its trigger
  too), ``filled`` once it no longer can — filled, cancelled or expired;
  ``filled_size`` and ``cancelled_size`` say which (``status_values="extended"``
  sends ``cancelled`` and ``rejected`` instead). A stop order's ``type`` is
  ``stop_limit``/``stop_market``, as placed.
* Position: ``{side, price, contract_id}`` (the contract's UUID; ``price`` the
  average entry), open positions only (``position_size=True`` adds the signed
  ``size`` the document leaves out). ``close_position`` answers the position it
  closes, with a reduce-only market order (a limit order at ``price``).
* Lists of orders (open orders, history) page with ``page_size`` (default 100,
  at most 1000) and ``current_page`` (from 1), and say so in
  ``X-Pagination-Current-Page``, ``X-Pagination-Page-Size`` and
  ``X-Pagination-Total-Count``. Neither document gives the cancel-all reply:
  it is the list of the orders cancelled (Orders).
* User trades have no schema in either document: ``{id, order_id, contract:
  {id, symbol}, side, price, size, fee, fee_asset, liquidity, timestamp}``
  (UUIDs, ``liquidity`` maker/taker, ms timestamp), oldest first, all of them
  ("Pagination supported", with no paging parameters documented).
* Errors (undocumented in both): ``{"error": {"code", "message"}}`` with a 4xx
  (Deribit-flavoured codes, see ``ERRORS``), or 5xx when a fault is injected.

Readings of the rest:

* Linear or inverse, from the contract's settling asset: a contract settled in
  its quoting asset (USDT) is linear — size in the base asset, value = price x
  size in the quote. One settled in the base asset (BTC-USD-PERPETUAL, quoting
  USD, settling BTC) is inverse — the edit_order text "for perpetual and
  futures the amount is in USD units" — size in USD contracts, value = size,
  fees in BTC (``size / price x rate``).
* The default wallet holds USDT only: an order on the BTC-settled contract
  needs a BTC balance (``balances``) and is refused with ``not_enough_funds``
  without one.
* Sizes: Contract has no lot size, so a size's granularity is its unit asset's
  ``precision`` (get_assets): BTC 3 (0.001), ETH 2, USD 0 (1 USD); the
  largest size is ``maximum_position_limit``.
* ``edit_order``: v1.0.0 titles it "Cancel remaining size of the order and
  place a new one", so it does that: the order is closed (its remaining size
  cancelled) and a new order with a new id takes the given price and size (the
  old remaining size when none is given); the reply is the new order.
  ``edit="amend"`` reads the seed's "Change price, size and/or other
  properties of an order" instead: the same order, its size the new total. A
  stop order waiting for its trigger is amended in place either way.
* Post-only: "the price will be changed to be just below the bid" is read as
  buy -> best ask - tick, sell -> best bid + tick, on place and on edit, so a
  post-only order never crosses. ``post_only`` is only valid with
  ``time_in_force=good_til_cancelled`` and a limit order (400).
* Stop orders wait here for their trigger (``last_price``: prints;
  ``mark_price`` and ``index_price``: the book's mid), then enter the exchange
  as a limit/market order that keeps the stop's id. ``trigger`` is required for
  ``stop_limit``, as documented, and defaults to ``last_price`` for ``stop_market``.
* ``get_order_history`` lists the orders "that have been partially or fully
  filled" (open or closed), newest first.
* Wallet calls (seed only): ``wallet_balances`` is ``[{asset, balance,
  available}]``; deposit address, deposits and withdrawals (also under the
  seed's misspelt ``/acccount/get_withdrawals``) and ``withdraw`` are served
  simply: a withdrawal leaves at once.

Faults apply to the private calls: "stall" sleeps before acting, "fail" answers
500/502/503 before acting or, after it — the ambiguous case.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from aiohttp import web

from botkit.events import BookSnapshot
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
from botkit.simulator.backend import ExchangeBackend, PublicTrade, SimReject
from botkit.simulator.kit import (
    Params,
    Refusal,
    Route,
    SimRequest,
    VenueServer,
    bearer_token,
    same,
    split_options,
    unauthorized,
)

__all__ = [
    "API",
    "ERRORS",
    "TEST_TOKEN",
    "Alpha5Options",
    "Alpha5Server",
    "Contract",
    "make_server",
]

VENUE = "alpha5"
API = "/v1"  # the path of the documented base URL
TEST_TOKEN = "alpha5-test-token"  # a bearer token for tests that exercise authentication
DAY_NS = 86_400 * 10**9


@dataclass(frozen=True)
class AssetSpec:
    symbol: str
    name: str
    precision: int  # decimal places of an amount of it: a contract sized in it is sized so


@dataclass(frozen=True)
class Contract:
    """One listed contract: the venue's symbol, its assets and its rules."""

    symbol: str  # the venue's, e.g. BTC-PERPETUAL
    underlying: str  # the asset it is "of" (the ``asset`` parameters)
    quoting: str
    settling: str
    tick_size: str
    maximum_position_limit: str
    mid: float
    contract_type: str = "perpetual"

    @property
    def inverse(self) -> bool:
        """Settled in the underlying: sized in the quoting currency (USD contracts)."""
        return self.settling == self.underlying

    @property
    def ours(self) -> str:
        """The backend's symbol (``BASE/QUOTE``)."""
        return f"{self.underlying}/{self.quoting}"

    @property
    def id(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"alpha5:contract:{self.symbol}"))


ASSETS: tuple[AssetSpec, ...] = (
    AssetSpec("BTC", "Bitcoin", 3),
    AssetSpec("ETH", "Ethereum", 2),
    AssetSpec("USDT", "Tether USD", 8),
    AssetSpec("USD", "US Dollar", 0),
)
DEFAULT_CONTRACTS: tuple[Contract, ...] = (
    Contract("BTC-PERPETUAL", "BTC", "USDT", "USDT", "0.5", "1000", 30000.0),
    Contract("ETH-PERPETUAL", "ETH", "USDT", "USDT", "0.05", "10000", 2000.0),
    Contract("BTC-USD-PERPETUAL", "BTC", "USD", "BTC", "0.5", "10000000", 30000.0),
)
DEFAULT_BALANCES: Mapping[str, str] = {"USDT": "100000"}

# SimReject's venue-neutral codes -> Alpha5's code and HTTP status.
ERRORS: Mapping[str, tuple[str, int]] = {
    "unknown_instrument": ("instrument_not_found", 400),
    "duplicate_client_id": ("duplicate_order", 409),
    "invalid_size": ("invalid_amount", 400),
    "invalid_price": ("invalid_price", 400),
    "unexpected_price": ("invalid_price", 400),
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
    "invalid_params": ("invalid_params", 400),
    "malformed_request": ("invalid_params", 400),
    "unauthenticated": ("unauthorized", 401),
    "no_open_position": ("no_open_position", 400),
    "not_found": ("not_found", 404),
    "method_not_allowed": ("method_not_allowed", 405),
    "body_too_large": ("invalid_params", 413),
}

ORDER_TYPES = {t.value: t for t in OrderType}
TIF_IN = {
    "good_til_cancelled": TimeInForce.GTC,
    "fill_or_kill": TimeInForce.FOK,
    "immediate_or_cancel": TimeInForce.IOC,
}
TIF_OUT = {v: k for k, v in TIF_IN.items()}
TRIGGERS = ("index_price", "mark_price", "last_price")
OPEN_ORDER_TYPES = ("all", "limit", "stop_all", "stop_limit", "stop_market")
CONTRACT_TYPES_SEED = ("future", "spread")
CONTRACT_TYPES = ("future", "perpetual")
SIDES = {"buy": Side.BUY, "sell": Side.SELL}
EXTENDED_STATUS = {
    OrderStatus.CANCELED: "cancelled",
    OrderStatus.EXPIRED: "cancelled",
    OrderStatus.REJECTED: "rejected",
}


@dataclass(frozen=True)
class Alpha5Options:
    """The protocol's knobs (``make_server(**options)``); see the module notes."""

    token: str | None = None
    token_on_public: bool = False
    edit: Literal["replace", "amend"] = "replace"
    status_values: Literal["documented", "extended"] = "documented"
    position_size: bool = False
    strict_fields: bool = True
    contracts: tuple[Contract, ...] = DEFAULT_CONTRACTS
    assets: tuple[AssetSpec, ...] = ASSETS
    maker_fee: str = "0.0002"
    taker_fee: str = "0.0005"
    address_book: tuple[str, ...] = field(default=())  # empty: every address is in it


def make_server(seed: int = 1, **options: Any) -> Alpha5Server:
    """Alpha5 over a fresh exchange: USDT-settled (linear) and BTC-settled (inverse)
    perpetuals, derivatives accounting.

    ``options``: ``Alpha5Options`` fields, ``api_key`` (taken as the token, for
    harnesses that hand every venue a key; ``api_secret`` has no use here), and
    the backend's ``balances``, ``mids``, ``step_s`` and ``flow_options``.
    """
    api_key = options.pop("api_key", None)
    options.pop("api_secret", None)  # Alpha5 signs nothing
    if options.get("token") is None and api_key is not None:
        options["token"] = api_key
    opts, _ = split_options(VENUE, options, Alpha5Options)
    precision = {a.symbol: a.precision for a in opts.assets}
    instruments = {}
    for c in opts.contracts:
        unit = c.quoting if c.inverse else c.underlying
        instruments[c.ours] = Instrument(
            VENUE,
            c.ours,
            c.underlying,
            c.quoting,
            tick_size=c.tick_size,
            lot_size=Decimal(1).scaleb(-precision[unit]),
            max_size=c.maximum_position_limit,
            kind="inverse" if c.inverse else "linear",
            maker_fee=opts.maker_fee,
            taker_fee=opts.taker_fee,
        )
    rng = random.Random(seed)
    balances = options.get("balances")
    backend = ExchangeBackend(
        VENUE,
        instruments,
        balances={k: Decimal(str(v)) for k, v in (balances or DEFAULT_BALANCES).items()},
        seed=seed,
        step_s=options.get("step_s", 0.1),
        mids={c.ours: c.mid for c in opts.contracts} | dict(options.get("mids") or {}),
        derivatives=True,
        flow_options=options.get("flow_options"),
        inverse={c.ours for c in opts.contracts if c.inverse},
        order_ids=lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    )
    return Alpha5Server(backend, opts, rng)


# --- formatting -----------------------------------------------------------------------------


def _s(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _f(value: float | None) -> str | None:
    return None if value is None else format(Decimal(repr(value)), "f")


def _ms(ts_ns: int) -> int:
    return ts_ns // 1_000_000


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


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
    status: str = "untriggered"  # untriggered | triggered | cancelled | rejected
    reason: str | None = None


# --- the server ------------------------------------------------------------------------------


class Alpha5Server(VenueServer):
    """Alpha5's REST protocol (both documents' requests, v1.0.0's replies)."""

    venue = VENUE

    def __init__(
        self,
        backend: ExchangeBackend,
        options: Alpha5Options | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(backend)
        self.options = options or Alpha5Options()
        self.rng = rng or random.Random(1)
        self.contracts = {c.symbol: c for c in self.options.contracts}
        self.contract_of = {c.ours: c for c in self.options.contracts}
        self.assets = {a.symbol: a for a in self.options.assets}
        self.stops: dict[str, _Stop] = {}  # by order id, until triggered
        self._withdrawals: list[dict[str, Any]] = []
        self._trade_ids: dict[str, str] = {}
        self._due: deque[tuple[str, str, float]] = deque()  # trigger checks still to make
        self._triggering = False

    # ----- the venue's parts for the kit ------------------------------------------------------

    def routes(self) -> Iterable[Route]:
        pub, acc = f"{API}/public", f"{API}/account"
        seed_and_v1 = (
            ("edit_order", self.edit_order, "edit"),
            ("cancel_order", self.cancel_order, "cancel"),
            ("cancel_all_open_orders", self.cancel_all_open_orders, "cancel_all"),
            ("close_position", self.close_position, "close_position"),
        )
        return (
            Route("GET", f"{pub}/get_assets", self.get_assets, "assets"),
            Route("GET", f"{pub}/get_live_contracts", self.get_live_contracts, "contracts"),
            Route("GET", f"{pub}/ticker", self.ticker, "ticker"),
            Route("GET", f"{pub}/order_book", self.order_book, "order_book"),
            Route("GET", f"{pub}/recent_trades", self.recent_trades, "recent_trades"),
            Route("POST", f"{acc}/place_order", self.place_order, "place", private=True),
            *(
                Route(method, f"{acc}/{name}", action, what, private=True)
                for name, action, what in seed_and_v1
                for method in ("GET", "POST")
            ),
            Route("GET", f"{acc}/get_open_orders", self.get_open_orders, "open_orders", True),
            Route("GET", f"{acc}/get_order_history", self.get_order_history, "history", True),
            Route("GET", f"{acc}/get_user_trades", self.get_user_trades, "user_trades", True),
            Route("GET", f"{acc}/get_positions", self.get_positions, "positions", True),
            Route("GET", f"{acc}/wallet_balances", self.wallet_balances, "balances", True),
            Route("GET", f"{acc}/get_deposit_address", self.deposit_address, "deposits", True),
            Route("GET", f"{acc}/get_deposits", self.deposits, "deposits", True),
            Route("GET", f"{acc}/get_withdrawals", self.withdrawals, "withdrawals", True),
            Route("GET", f"{API}/acccount/get_withdrawals", self.withdrawals, "withdrawals", True),
            Route("POST", f"{acc}/withdraw", self.withdraw, "withdraw", private=True),
        )

    def error_body(self, refusal: Refusal, path: str) -> Any:
        code, _ = ERRORS.get(refusal.code, (refusal.code, refusal.status))
        return {"error": {"code": code, "message": refusal.message}}

    def translate(self, reject: SimReject) -> Refusal:
        _, status = ERRORS.get(reject.code, (reject.code, reject.http_status))
        return Refusal(status, reject.message, reject.code, logged=True)

    @property
    def credentials(self) -> dict[str, str]:
        token = self.options.token
        return {} if token is None else {"api_key": token}

    def urls(self, origin: str) -> dict[str, str]:
        return {"rest": origin + API}

    def authenticate(self, req: SimRequest, route: Route) -> None:
        token = self.options.token
        if token is None:
            return
        given = bearer_token(req.headers)
        if given is None or not same(given, token):
            raise unauthorized("missing or invalid bearer token")

    def needs_auth(self, route: Route) -> bool:
        return route.private or self.options.token_on_public

    def on_event(self, kind: str, payload: Any) -> None:
        if kind == "print":
            self._trigger(payload.symbol, "last_price", float(payload.price))
        elif kind == "book":
            snap: BookSnapshot = payload
            if snap.bids and snap.asks:
                mid = (snap.bids[0][0] + snap.asks[0][0]) / 2
                self._trigger(snap.symbol, "mark_price", mid)
                self._trigger(snap.symbol, "index_price", mid)

    # ----- parameters -----------------------------------------------------------------------

    def params(self, req: SimRequest) -> Params:
        """A GET's query; a POST's JSON body (v1.0.0) or, without one, its query (the seed)."""
        strict = self.options.strict_fields
        if req.method == "POST" and req.has_body:
            if req.query:
                raise Refusal(
                    400, "parameters go in the body or the query, not both", "invalid_params"
                )
            return Params(req.json_object(), "json", strict=strict)
        return Params(req.query, "query", strict=strict)

    def contract(self, p: Params, required: bool = True) -> Contract | None:
        symbol = p.text("contract_symbol", required)
        if symbol is None:
            return None
        c = self.contracts.get(symbol)
        if c is None:
            raise Refusal(400, f"unknown contract {symbol[:40]}", "unknown_instrument")
        return c

    def asset_contract(self, p: Params, asset_required: bool, types: tuple[str, ...]) -> Contract:
        asset = p.text("asset", asset_required)
        c = self.contract(p)
        assert c is not None
        if asset is not None and c.underlying != asset:
            raise p.bad("asset", f"contract {c.symbol} is not a {asset} contract")
        if types:  # a filter where the document lists one
            p.choice("contract_type", types)
        return c

    def order_id(self, p: Params) -> str:
        oid = p.text("order_id", required=True, max_len=36)
        assert oid is not None
        if not _is_uuid(oid):
            raise p.bad("order_id", "must be a UUID")
        return oid

    def resolve(self, order_id: str) -> tuple[_Stop | None, Order | None]:
        """An order id -> (its untriggered stop, or None; the exchange order, or None)."""
        stop = self.stops.get(order_id)
        if stop is not None and stop.status != "triggered":
            return stop, None
        return None, self.backend.find(venue_order_id=order_id)

    def paged(self, items: list[dict[str, Any]], p: Params) -> web.Response:
        size = p.integer("page_size", low=1, high=1000) or 100
        page = p.integer("current_page", low=1, high=10**6) or 1
        p.finish()
        start = (page - 1) * size
        headers = {
            "X-Pagination-Current-Page": str(page),
            "X-Pagination-Page-Size": str(size),
            "X-Pagination-Total-Count": str(len(items)),
        }
        return self.reply(items[start : start + size], headers=headers)

    # ----- payloads ---------------------------------------------------------------------

    def asset_json(self, symbol: str) -> dict[str, Any]:
        a = self.assets.get(symbol) or AssetSpec(symbol, symbol, 8)
        return {"symbol": a.symbol, "name": a.name, "precision": a.precision}

    def contract_json(self, c: Contract) -> dict[str, Any]:
        return {
            "symbol": c.symbol,
            "name": c.symbol,
            "contract_type": c.contract_type,
            "settle_at": None,
            "launch_at": "2020-06-22T16:17:45Z",
            "tick_size": c.tick_size,
            "status": "operational",
            "initial_margin": "0.04",
            "maintainance_margin": "0.02",
            "maximum_position_limit": c.maximum_position_limit,
            "quoting_asset": self.asset_json(c.quoting),
            "settling_asset": self.asset_json(c.settling),
        }

    def _status(self, open_: bool, status: OrderStatus | None) -> str:
        if open_:
            return "open"
        if self.options.status_values == "extended" and status in EXTENDED_STATUS:
            return EXTENDED_STATUS[status]
        return "filled"

    def order_json(self, o: Order) -> dict[str, Any]:
        c = self.contract_of[o.symbol]
        closed_unfilled = ZERO if o.is_open else o.size - o.filled
        stop = self.stops.get(o.venue_order_id or "")  # a triggered stop's order keeps its id
        return {
            "id": o.venue_order_id,
            "type": stop.type.value if stop else o.type.value,
            "side": o.side.value,
            "status": self._status(o.is_open, o.status),
            "limit_price": _s(o.price),
            "stop_price": _s(stop.stop_price) if stop else None,
            "size": _s(o.size),
            "filled_size": _s(o.filled),
            "cancelled_size": _s(closed_unfilled),
            "time_in_force": TIF_OUT[o.tif],
            "contract": {"id": c.id, "symbol": c.symbol},
        }

    def stop_json(self, s: _Stop) -> dict[str, Any]:
        c = self.contract_of[s.symbol]
        waiting = s.status == "untriggered"
        rejected = OrderStatus.REJECTED if s.status == "rejected" else OrderStatus.CANCELED
        return {
            "id": s.order_id,
            "type": s.type.value,
            "side": s.side.value,
            "status": self._status(waiting, None if waiting else rejected),
            "limit_price": _s(s.price),
            "stop_price": _s(s.stop_price),
            "size": _s(s.size),
            "filled_size": "0",
            "cancelled_size": "0" if waiting else _s(s.size),
            "time_in_force": TIF_OUT[s.tif],
            "contract": {"id": c.id, "symbol": c.symbol},
        }

    def trade_id(self, fill: Fill) -> str:
        tid = self._trade_ids.get(fill.trade_id)
        if tid is None:
            tid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            self._trade_ids[fill.trade_id] = tid
        return tid

    def trade_json(self, f: Fill) -> dict[str, Any]:
        c = self.contract_of[f.symbol]
        return {
            "id": self.trade_id(f),
            "order_id": f.venue_order_id,
            "contract": {"id": c.id, "symbol": c.symbol},
            "side": f.side.value,
            "price": _s(f.price),
            "size": _s(f.size),
            "fee": _s(f.fee),
            "fee_asset": f.fee_asset,
            "liquidity": "maker" if f.liquidity is Liquidity.MAKER else "taker",
            "timestamp": _ms(f.ts_ns),
        }

    def position(self, c: Contract) -> Position:
        pos = Position(c.ours)
        for f in self.backend.trades:
            if f.symbol == c.ours:
                pos = pos.apply(f.side, f.price, f.size)
        return pos

    def position_json(self, c: Contract, pos: Position) -> dict[str, Any]:
        out: dict[str, Any] = {
            "side": "buy" if pos.size > 0 else "sell",
            "price": _s(pos.avg_price),
            "contract_id": c.id,
        }
        if self.options.position_size:
            out["size"] = _s(pos.size)
        return out

    # ----- public -------------------------------------------------------------------------

    def get_assets(self, req: SimRequest) -> web.Response:
        Params(req.query, "query", strict=self.options.strict_fields).finish()
        used = sorted(
            {a for c in self.contracts.values() for a in (c.underlying, c.quoting, c.settling)}
        )
        return self.reply([self.asset_json(a) for a in used])

    def get_live_contracts(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        asset = p.text("asset")
        kind = p.choice("type", CONTRACT_TYPES)
        expired = p.boolean("expired")
        p.finish()
        if expired:
            return self.reply([])  # every simulated contract is live
        return self.reply(
            [
                self.contract_json(c)
                for c in self.contracts.values()
                if (asset is None or c.underlying == asset)
                and (kind is None or c.contract_type == kind)
            ]
        )

    def ticker(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        c = self.contract(p)
        p.finish()
        assert c is not None
        now = time.time_ns()
        day = [
            t for t in self.backend.public_trades if t.symbol == c.ours and t.ts_ns >= now - DAY_NS
        ]
        last = _f(self.backend.books[c.ours].last_price)
        return self.reply(
            {
                "open": _s(day[0].price) if day else last,
                "high": _s(max(t.price for t in day)) if day else last,
                "low": _s(min(t.price for t in day)) if day else last,
                "close": _s(day[-1].price) if day else last,
                "timestamp": _ms(now),
            }
        )

    def order_book(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        c = self.contract(p)
        depth = p.integer("depth", low=1, high=1000, string=True) or 20
        p.finish()
        assert c is not None
        book = self.backend.books[c.ours]
        return self.reply(
            {
                "depth": depth,
                "buy": [{"price": _f(px), "size": _f(sz)} for px, sz in book.bid_levels(depth)],
                "sell": [{"price": _f(px), "size": _f(sz)} for px, sz in book.ask_levels(depth)],
            }
        )

    def recent_trades(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        asset = p.text("asset", required=True)
        count = p.integer("count", low=1, high=1000, string=True) or 10
        p.finish()
        symbols = {c.ours for c in self.contracts.values() if c.underlying == asset}
        trades: list[PublicTrade] = [t for t in self.backend.public_trades if t.symbol in symbols]
        return self.reply(
            [
                {
                    "side": t.side.value if t.side else "buy",
                    "price": _s(t.price),
                    "size": _s(t.size),
                    "timestamp": _ms(t.ts_ns),
                }
                for t in reversed(trades[-count:])
            ]
        )

    # ----- orders -------------------------------------------------------------------------

    def slide(self, symbol: str, side: Side, price: Decimal, what: str) -> Decimal:
        """Move a post-only price that would take liquidity to one tick inside the touch."""
        inst = self.backend.instruments[symbol]
        book = self.backend.books[symbol]
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
            raise self.backend.reject(what, "post_only_would_cross", "no post-only price left")
        return moved

    def _placed(self, order: Order) -> Order:
        if order.status is OrderStatus.REJECTED:
            # The backend logged it already; only the reply is still to be made.
            raise SimReject(order.code or "invalid_params", order.reason or "rejected")
        return order

    def place_order(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        c = self.contract(p)
        size = p.decimal("size", required=True)
        otype = ORDER_TYPES[p.choice("type", ORDER_TYPES, default="limit") or "limit"]
        price = p.decimal("price")
        stop_price = p.decimal("stop_price")
        tif = TIF_IN[p.choice("time_in_force", TIF_IN, default="good_til_cancelled") or ""]
        post_only = p.boolean("post_only")
        reduce_only = p.boolean("reduce_only")
        trigger = p.choice("trigger", TRIGGERS)
        side_text = p.choice("side", SIDES, required=True)
        p.finish()
        assert c is not None and size is not None and side_text is not None
        side = SIDES[side_text]
        if otype.is_stop:
            stop = self._place_stop(
                p, c, side, otype, size, price, stop_price, trigger, tif, post_only, reduce_only
            )
            return self.reply(self.stop_json(stop))
        if stop_price is not None or trigger is not None:
            raise p.bad("stop_price", "stop_price and trigger are for stop orders only")
        if c.inverse and self.backend.balances.get(c.settling, ZERO) <= 0:
            # Settled in the underlying: no margin in it, no order.
            raise self.backend.reject(
                "place", "insufficient_funds", f"no {c.settling} to margin {c.symbol}"
            )
        if post_only and price is not None and otype is OrderType.LIMIT and tif is TimeInForce.GTC:
            price = self.slide(c.ours, side, price, "place")
        order = self.backend.place(
            c.ours, side, otype, size, price, None, tif, post_only, reduce_only
        )
        return self.reply(self.order_json(self._placed(order)))

    def _place_stop(
        self,
        p: Params,
        c: Contract,
        side: Side,
        otype: OrderType,
        size: Decimal,
        price: Decimal | None,
        stop_price: Decimal | None,
        trigger: str | None,
        tif: TimeInForce,
        post_only: bool,
        reduce_only: bool,
    ) -> _Stop:
        if stop_price is None:
            raise p.bad("stop_price", "is required for stop orders")
        if trigger is None:
            if otype is OrderType.STOP_LIMIT:
                raise p.bad("trigger", "is required for stop_limit orders")
            trigger = "last_price"
        inst = self.backend.instruments[c.ours]
        reject = self.backend.reject
        if post_only:
            raise reject("place", "post_only_not_allowed", "post-only needs a GTC limit order")
        if size <= 0 or size % inst.lot_size:
            raise reject(
                "place", "invalid_size", f"size {size} is not a multiple of {inst.lot_size}"
            )
        if stop_price <= 0 or stop_price % inst.tick_size:
            raise reject("place", "invalid_price", f"stop price {stop_price} is off the tick grid")
        if otype is OrderType.STOP_LIMIT:
            if price is None or price <= 0 or price % inst.tick_size:
                raise reject("place", "invalid_price", f"price {price} is off the tick grid")
        elif price is not None:
            raise reject("place", "unexpected_price", "a stop market order takes no price")
        if inst.max_size is not None and size > inst.max_size:
            raise reject("place", "above_max_size", f"size {size} > {inst.max_size}")
        order_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        stop = _Stop(
            order_id, c.ours, side, otype, size, price, stop_price, trigger, tif, reduce_only
        )
        self.stops[order_id] = stop
        return stop

    def edit_order(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        order_id = self.order_id(p)
        size = p.decimal("size")
        price = p.decimal("price")
        p.finish()
        if size is None and price is None:
            raise p.bad("size", "nothing to change: give size and/or price")
        stop, order = self.resolve(order_id)
        if stop is not None:
            return self.reply(self.stop_json(self._edit_stop(stop, price, size)))
        assert order is not None
        if price is not None and order.post_only:
            price = self.slide(order.symbol, order.side, price, "edit")
        if self.options.edit == "amend":
            self.backend.edit(order.venue_order_id, None, price, size)
            return self.reply(self.order_json(order))
        return self.reply(self.order_json(self._replace(order, price, size)))

    def _replace(self, order: Order, price: Decimal | None, size: Decimal | None) -> Order:
        """v1.0.0's edit: cancel the remaining size, place a new order for the rest."""
        inst = self.backend.instruments[order.symbol]
        new_price = price if price is not None else order.price
        new_size = size if size is not None else order.remaining
        # Checked before anything changes: a refused edit leaves the order as it was.
        if not order.is_open:
            raise self.backend.reject("edit", "order_not_open", f"order is {order.status.value}")
        if new_price is None or new_price <= 0 or new_price % inst.tick_size:
            raise self.backend.reject("edit", "invalid_price", f"price {new_price} is off the grid")
        if new_size <= 0 or new_size % inst.lot_size:
            raise self.backend.reject("edit", "invalid_size", f"size {new_size} is not valid")
        self.backend.cancel(order.venue_order_id)
        new = self.backend.place(
            order.symbol,
            order.side,
            order.type,
            new_size,
            new_price,
            None,
            order.tif,
            order.post_only,
            order.reduce_only,
        )
        return self._placed(new)

    def _edit_stop(self, stop: _Stop, price: Decimal | None, size: Decimal | None) -> _Stop:
        inst = self.backend.instruments[stop.symbol]
        reject = self.backend.reject
        if size is not None and (size <= 0 or size % inst.lot_size):
            raise reject("edit", "invalid_size", f"size {size} is not valid")
        if price is not None:
            if stop.type is OrderType.STOP_MARKET:
                raise reject("edit", "unexpected_price", "a stop market order has no price")
            if price <= 0 or price % inst.tick_size:
                raise reject("edit", "invalid_price", f"price {price} is off the tick grid")
            stop.price = price
        if size is not None:
            stop.size = size
        return stop

    def cancel_order(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        order_id = self.order_id(p)
        p.finish()
        stop, order = self.resolve(order_id)
        if stop is not None:
            if stop.status != "untriggered":
                raise self.backend.reject("cancel", "order_not_open", f"order is {stop.status}")
            stop.status = "cancelled"
            return self.reply(self.stop_json(stop))
        assert order is not None
        self.backend.cancel(venue_order_id=order.venue_order_id)
        return self.reply(self.order_json(order))

    def cancel_all_open_orders(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        if req.method == "POST":  # v1.0.0's form; the seed's is a GET
            asset = p.text("asset")
            c = self.contract(p, required=False)
            kind = p.choice("contract_type", CONTRACT_TYPES)
        else:
            c = self.asset_contract(p, True, CONTRACT_TYPES_SEED)
            asset, kind = c.underlying, None
        p.finish()
        chosen = [
            x
            for x in self.contracts.values()
            if (c is None or x is c)
            and (asset is None or x.underlying == asset)
            and (kind is None or x.contract_type == kind)
        ]
        out = []
        for x in chosen:
            out += [self.order_json(o) for o in self.backend.cancel_all(x.ours)]
            for stop in self.stops.values():
                if stop.symbol == x.ours and stop.status == "untriggered":
                    stop.status = "cancelled"
                    out.append(self.stop_json(stop))
        return self.reply(out)

    def get_open_orders(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        c = self.asset_contract(p, False, CONTRACT_TYPES_SEED + CONTRACT_TYPES)
        kind = p.choice("type", OPEN_ORDER_TYPES, default="all")
        out = []
        if kind in ("all", "limit"):
            out += [
                self.order_json(o)
                for o in self.backend.open_orders(c.ours)
                if o.venue_order_id is not None
            ]
        if kind != "limit":
            out += [
                self.stop_json(s)
                for s in self.stops.values()
                if s.symbol == c.ours
                and s.status == "untriggered"
                and kind in ("all", "stop_all", s.type.value)
            ]
        return self.paged(out, p)

    def get_order_history(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        asset = p.text("asset", required=True)
        p.choice("contract_type", CONTRACT_TYPES_SEED + CONTRACT_TYPES)
        orders = [
            o
            for o in self.backend.orders.values()
            if o.filled > 0 and self.contract_of[o.symbol].underlying == asset
        ]
        orders.sort(key=lambda o: o.created_ns, reverse=True)
        return self.paged([self.order_json(o) for o in orders], p)

    def get_user_trades(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        order_id = self.order_id(p) if p.has("order_id") else None
        p.finish()
        return self.reply(
            [
                self.trade_json(f)
                for f in self.backend.trades
                if order_id is None or f.venue_order_id == order_id
            ]
        )

    # ----- account --------------------------------------------------------------------------

    def get_positions(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        c = self.asset_contract(p, True, ())
        p.finish()
        pos = self.position(c)
        return self.reply([self.position_json(c, pos)] if pos.size else [])

    def close_position(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        if req.method == "POST":  # v1.0.0's form; the seed's is a GET
            c = self.contract(p)
        else:
            stop, order = self.resolve(self.order_id(p))
            symbol = stop.symbol if stop is not None else order.symbol  # type: ignore[union-attr]
            c = self.contract_of[symbol]
        price = p.decimal("price")
        p.finish()
        assert c is not None
        pos = self.position(c)
        if not pos.size:
            raise self.backend.reject(
                "close_position", "no_open_position", f"no open position in {c.symbol}"
            )
        side = Side.SELL if pos.size > 0 else Side.BUY
        otype = OrderType.LIMIT if price is not None else OrderType.MARKET
        self._placed(
            self.backend.place(
                c.ours, side, otype, abs(pos.size), price, None, TimeInForce.GTC, False, True
            )
        )
        return self.reply(self.position_json(c, pos))

    def wallet_balances(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        asset = p.text("asset")
        p.finish()
        return self.reply(
            [
                {"asset": a, "balance": _s(v), "available": _s(v)}
                for a, v in sorted(self.backend.balances.items())
                if asset is None or a == asset
            ]
        )

    def deposit_address(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        asset = p.text("asset", required=True)
        p.finish()
        address = uuid.uuid5(uuid.NAMESPACE_URL, f"alpha5:deposit:{asset}").hex
        return self.reply({"asset": asset, "address": address})

    def deposits(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        p.text("asset", required=True)
        p.finish()
        return self.reply([])

    def withdrawals(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        asset = p.text("asset")
        p.finish()
        return self.reply([w for w in self._withdrawals if asset is None or w["asset"] == asset])

    def withdraw(self, req: SimRequest) -> web.Response:
        p = self.params(req)
        asset = p.text("asset") or "USDT"
        address = p.text("address", required=True)
        amount = p.decimal("amount", required=True)
        p.finish()
        assert address is not None and amount is not None
        book = self.options.address_book
        if book and address not in book:
            raise p.bad("address", "must be in the address book")
        if amount <= 0 or amount > self.backend.balances.get(asset, ZERO):
            raise Refusal(400, f"not enough {asset} to withdraw {amount}", "insufficient_funds")
        self.backend.balances[asset] -= amount
        record = {
            "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "asset": asset,
            "address": address,
            "amount": _s(amount),
            "status": "completed",
            "timestamp": _ms(time.time_ns()),
        }
        self._withdrawals.append(record)
        return self.reply(record)

    # ----- stop orders -------------------------------------------------------------------

    def _trigger(self, symbol: str, source: str, price: float) -> None:
        # A fired stop trades, and its prints come back here while it is being placed:
        # they are queued and checked after it, so no stop fires inside another's placing.
        self._due.append((symbol, source, price))
        if self._triggering:
            return
        self._triggering = True
        try:
            while self._due:
                self._check_stops(*self._due.popleft())
        finally:
            self._triggering = False

    def _check_stops(self, symbol: str, source: str, price: float) -> None:
        for stop in list(self.stops.values()):
            if stop.symbol != symbol or stop.status != "untriggered" or stop.trigger != source:
                continue
            stop_px = float(stop.stop_price)
            if price >= stop_px if stop.side is Side.BUY else price <= stop_px:
                self._fire(stop)

    def _fire(self, stop: _Stop) -> None:
        otype = OrderType.LIMIT if stop.type is OrderType.STOP_LIMIT else OrderType.MARKET
        # Triggered before it is placed: a stop fires once, whatever its own fills print.
        stop.status = "triggered"
        try:
            order = self.backend.place(
                stop.symbol,
                stop.side,
                otype,
                stop.size,
                stop.price,
                None,
                stop.tif,
                False,
                stop.reduce_only,
                venue_order_id=stop.order_id,
            )
        except SimReject as r:
            stop.status, stop.reason = "rejected", r.message
            return
        if order.venue_order_id is None:
            stop.status, stop.reason = "rejected", order.reason
