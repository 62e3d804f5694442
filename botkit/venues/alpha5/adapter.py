"""Alpha5 adapter: the ``VenueAdapter`` contract over Alpha5's REST API.

Capabilities: native edit (``edit_order``, so ``supports_edit``), post-only,
reduce-only, IOC/FOK, stop orders (``stop_limit``/``stop_market`` with a
``trigger``), positions and ``close_position``. Alpha5 documents no websocket,
so fills come from REST polling alone (``has_user_trade_stream = False``) and
``market_stream`` polls the order book and recent trades.

Options (``venue.options`` in bot.yaml; keyword arguments here):

* ``api``: ``"v1.0.0"`` (default: the published document, JSON-body POSTs) or
  ``"seed"`` (document 000: query parameters, GETs) — see ``rest``.
* ``bearer_token`` (a string or a ``botkit.redact.Secret``), else the
  ``api_key`` credential: sent as ``Authorization: Bearer <token>`` on private
  calls. ``api_secret`` and ``nonce`` have no use at this venue.
* ``asset_param``: which asset fills the ``asset`` parameter of recent_trades,
  get_positions, get_order_history (and the seed's open orders and
  cancel-all): ``"base"`` (default; ``BTC`` for ``BTC-M20``) or ``"settling"``
  (the contract's settling asset). The documents only say "the asset symbol".
* ``page_size`` (100), ``poll_interval_s`` (1), ``book_depth`` (10),
  ``match_window_s`` (60), ``stop_trigger`` (``last_price``), ``timeout_s``
  (10), ``api_prefix`` (``/v1``), ``status_refresh_s`` (30),
  ``min_request_interval_s`` (0).

Choices where the documents are unclear (change them through the options named):

* Symbols: a contract becomes ``BASE/QUOTE`` for a perpetual (``BTC-PERPETUAL``
  quoted in USDT -> ``BTC/USDT``) and ``BASE/QUOTE-<rest of the contract
  symbol>`` for anything else (``BTC-M20`` -> ``BTC/USDT-M20``); should two
  contracts still meet on one name, both are named ``BASE/QUOTE-<contract
  symbol>``. ``symbols=[...]`` limits the adapter to those contracts.
* Linear or inverse, lot size: see ``parsing``. An inverse contract's
  Instrument has ``kind`` ``inverse_perpetual``/``inverse_future``, ``base`` =
  the settling asset, sizes in the quoting asset; its order value is
  size / price in the settling asset.
* Contract status: only ``operational`` contracts trade. ``disrupted`` (and
  any status the documents do not name) refuses places and edits here, before
  sending, with ``OrderRejected`` code ``contract_disrupted`` (or
  ``contract_not_operational``); ``disrupted_post_only`` lets through only
  post-only GTC limit orders (code ``contract_post_only`` otherwise); cancels
  always go. ``expired`` contracts are not offered as instruments. The status
  is re-read at most every ``status_refresh_s`` before a place or edit (the
  Instrument the router holds is fixed for the run, so the check lives here).
* ``place_order`` documents no side: ``side`` is sent (``buy``/``sell``). Nor
  does it take a client order id: ``supports_client_id`` is False. The adapter
  keeps the venue's order id from each reply, keyed by the attempt's
  ``Order.venue_client_id`` (a cancel-and-replace attempt is another order at
  the venue), so fills and orders come back carrying our client id.
* Edit: v1.0.0 titles edit_order "Cancel remaining size of the order and place
  a new one". The size sent is the order's new total size (the seed: "the
  requested order size"). The adapter edits by the venue order id it holds;
  should a reply name a different order id, later calls follow the new id
  while fills of the old one still map to our order.
* ``find_order``: by the venue id when we have it (open orders, then order
  history, which holds every order with a fill); an order the venue
  acknowledged that is in neither was closed without a fill and is reported
  CANCELED (``raw_status`` says it was inferred). Without a venue id (the place
  reply was lost) the fallback matches the contract's open orders and history
  by side, type, price and size, not already claimed by another of our orders,
  created no earlier than our order's creation minus ``match_window_s`` when
  the venue gives creation times (v1.0.0 gives none); the earliest wins.
* Time in force is sent for limit orders only ("applies to limit order") and
  for market orders only when not GTC. Stop orders are sent with
  ``trigger=<stop_trigger>`` (the document requires one for ``stop_limit``).
* User trades: the endpoint takes no time filter, so every call reads the
  account's trades and keeps those from ``since_ns`` on (floored to the
  millisecond: the boundary repeats, the gateway dedupes by trade id). A row
  that does not parse is left out, logged (venue, endpoint, field) and counted
  once in ``counters["user_trade_skipped"]``; the other rows are returned.
* Positions: v1.0.0's Position has no size. A row without one is logged and
  counted (``position_unreadable``) and left out, so the gateway's position
  cross-check sees nothing to compare for it.
* Balances: only the seed documents ``wallet_balances``; when the venue
  answers it 404, ``balances()`` is ``{}`` from then on.
* ``market_stream`` emits a BookSnapshot per symbol and the public trades new
  since the previous poll, every ``poll_interval_s``; the trades already printed
  when the stream starts are not replayed. v1.0.0's recent trades name no
  contract: rows are given to the asset's one listed contract, and when an
  asset has several, rows without a contract are dropped and counted. Market
  data with a non-positive price or size is dropped and counted
  (``market_data_dropped``); a book of unknown shape is a logged poll failure,
  never an empty book.
* ``connect()`` fails with one ``VenueError``/``ParseError`` (a network failure
  becomes ``VenueUnavailable`` naming the URL) and leaves no session open;
  ``close()`` always closes the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import aiohttp

from botkit.events import Trade
from botkit.model import Fill, Instrument, Order, OrderStatus, OrderType, TimeInForce
from botkit.redact import Secret
from botkit.venues.alpha5 import parsing
from botkit.venues.alpha5.parsing import ContractSpec
from botkit.venues.alpha5.rest import Alpha5Rest
from botkit.venues.kit.adapter import Connection, MarketEvent
from botkit.venues.kit.errors import (
    NotFound,
    OrderRejected,
    ParseError,
    VenueError,
    VenueUnavailable,
)
from botkit.venues.kit.nonce import NonceSource
from botkit.venues.kit.types import VenueOrder

__all__ = ["Alpha5Adapter", "Contract"]

log = logging.getLogger("botkit.venues.alpha5")

T = TypeVar("T")

NS_PER_MS = 1_000_000
TIF_OUT = {
    TimeInForce.GTC: "good_til_cancelled",
    TimeInForce.IOC: "immediate_or_cancel",
    TimeInForce.FOK: "fill_or_kill",
}
INFERRED_CLOSED = "inferred:closed_unfilled"
PRICED = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})
NETWORK = (TimeoutError, aiohttp.ClientError, OSError)
ASSET_PARAMS = ("base", "settling")
# Reject codes of the contract-status check (see the module docstring).
STATUS_CODES = {
    "disrupted": "contract_disrupted",
    "disrupted_post_only": "contract_post_only",
    "expired": "contract_expired",
}
MAX_SEEN_PROBLEMS = 1000


@dataclasses.dataclass(frozen=True)
class Contract:
    """One venue contract and our instrument for it.

    ``asset`` is the value sent as the ``asset`` parameter for this contract.
    """

    contract_symbol: str
    asset: str
    instrument: Instrument
    spec: ContractSpec | None = None


def our_symbol(contract_symbol: str, base: str, quote: str, perpetual: bool) -> str:
    if perpetual:
        return f"{base}/{quote}"
    _, sep, rest = contract_symbol.partition("-")
    return f"{base}/{quote}-{rest if sep else contract_symbol}"


def _option(options: dict[str, Any], name: str, cast: Callable[[Any], T], default: T) -> T:
    raw = options.pop(name, default)
    try:
        return cast(raw)
    except (TypeError, ValueError):
        raise ValueError(f"Alpha5 option {name}: cannot use {raw!r}") from None


class Alpha5Adapter:
    name = "alpha5"
    supports_edit = True
    supports_client_id = False
    has_user_trade_stream = False

    @classmethod
    def from_connection(cls, connection: Connection) -> Alpha5Adapter:
        """The adapter the node builds from bot.yaml's ``venue:`` section."""
        creds = connection.credentials
        return cls(
            connection.base_url,
            connection.ws_url,
            api_key=creds.get("api_key"),
            api_secret=creds.get("api_secret"),
            nonce=connection.nonce,
            **dict(connection.options),
        )

    def __init__(
        self,
        base_url: str,
        ws_url: str | None = None,
        api_key: str | Secret | None = None,
        api_secret: str | Secret | None = None,
        *,
        nonce: NonceSource | None = None,
        symbols: Iterable[str] | None = None,
        **options: Any,
    ) -> None:
        del ws_url, api_secret  # no websocket documented; nothing is signed
        token = options.pop("bearer_token", None) or api_key or None
        api = str(options.pop("api", "v1.0.0"))
        self.asset_param = str(options.pop("asset_param", "base"))
        if self.asset_param not in ASSET_PARAMS:
            raise ValueError(f"Alpha5 option asset_param: one of {', '.join(ASSET_PARAMS)}")
        page_size = _option(options, "page_size", int, 100)
        self.min_request_interval_s = _option(options, "min_request_interval_s", float, 0.0)
        self.poll_interval_s = _option(options, "poll_interval_s", float, 1.0)
        self.book_depth = _option(options, "book_depth", int, 10)
        self.match_window_ns = int(_option(options, "match_window_s", float, 60.0) * 1e9)
        self.stop_trigger = str(options.pop("stop_trigger", "last_price"))
        self.status_refresh_s = _option(options, "status_refresh_s", float, 30.0)
        timeout_s = _option(options, "timeout_s", float, 10.0)
        prefix = str(options.pop("api_prefix", "/v1"))
        if options:
            raise TypeError(f"unknown Alpha5 options: {', '.join(sorted(options))}")
        self.rest = Alpha5Rest(
            base_url,
            token,
            api=api,  # type: ignore[arg-type]  # checked by Alpha5Rest
            nonce=nonce,
            timeout_s=timeout_s,
            prefix=prefix,
            page_size=page_size,
        )
        self.symbols = frozenset(symbols) if symbols is not None else None
        self.counters: dict[str, int] = {}
        self._contracts: dict[str, Contract] = {}  # by our symbol
        self._by_venue: dict[str, Contract] = {}  # by contract symbol
        self._per_asset: Counter[str] = Counter()  # listed contracts per asset parameter
        self._assets: dict[str, int] | None = None  # asset -> precision, read once
        self._client_of: dict[str, str] = {}  # venue order id -> the attempt's client id
        self._venue_of: dict[str, str] = {}  # the attempt's client id -> latest venue order id
        self._contract_of_order: dict[str, str] = {}  # venue order id -> contract symbol
        self._seen_problems: deque[str] = deque(maxlen=MAX_SEEN_PROBLEMS)
        self._loaded = False
        self._loaded_at = 0.0
        self._no_balances = False
        self._lock = asyncio.Lock()

    # ----- lifecycle and reference data ---------------------------------------------------

    async def connect(self) -> None:
        """Load the contracts; on failure one typed error, and no session left open."""
        if self._loaded:
            return
        try:
            await self._load()
        except (VenueError, ParseError):
            await self.rest.reset()
            raise
        except NETWORK as err:
            await self.rest.reset()
            raise VenueUnavailable(
                self.name,
                f"cannot load contracts from {self.rest.base_url}: "
                f"{str(err) or type(err).__name__}",
            ) from err

    async def close(self) -> None:
        await self.rest.close()

    def _problems(self, counter: str, problems: list[ParseError], once: bool) -> None:
        """Log and count what a parser left out; ``once``: a problem seen before is not counted."""
        for err in problems:
            text = str(err)
            new = text not in self._seen_problems
            if new:
                self._seen_problems.append(text)
                log.warning("%s: %s (left out)", counter, text)
            if new or not once:
                self.counters[counter] = self.counters.get(counter, 0) + 1

    async def _load(self) -> None:
        async with self._lock:
            if self._assets is None:
                self._assets = parsing.parse_assets(await self.rest.assets())
            raw = await self.rest.live_contracts()
            problems: list[ParseError] = []
            specs = parsing.parse_contract_specs(raw, self._assets, problems)
            if problems and not specs:
                raise problems[0]  # nothing readable at all: the shape is not the document's
            self._problems("contract_skipped", problems, once=True)
            self._install(specs)
            self._loaded = True
            self._loaded_at = time.monotonic()

    def _install(self, specs: list[ContractSpec]) -> None:
        live = [s for s in specs if s.status != "expired"]
        names = {
            s.contract_symbol: our_symbol(s.contract_symbol, s.base, s.quote, s.perpetual)
            for s in live
        }
        taken = Counter(names.values())
        contracts: dict[str, Contract] = {}
        per_asset: Counter[str] = Counter()
        for spec in live:
            asset = spec.settle if self.asset_param == "settling" else spec.base
            per_asset[asset] += 1
            ours = names[spec.contract_symbol]
            if taken[ours] > 1:
                ours = f"{spec.base}/{spec.quote}-{spec.contract_symbol}"
            if self.symbols is not None and ours not in self.symbols:
                continue
            kind = spec.instrument.kind
            if spec.perpetual:
                kind = parsing.INVERSE_PREFIX + "perpetual" if spec.inverse else "perpetual"
            mine = dataclasses.replace(spec.instrument, symbol=ours, kind=kind)
            contracts[ours] = Contract(spec.contract_symbol, asset, mine, spec)
        self._contracts = contracts
        self._by_venue = {c.contract_symbol: c for c in contracts.values()}
        self._per_asset = per_asset

    async def instruments(self) -> dict[str, Instrument]:
        await self.connect()
        return {s: c.instrument for s, c in self._contracts.items()}

    async def _contract(self, symbol: str) -> Contract:
        await self.connect()
        c = self._contracts.get(symbol)
        if c is None:
            await self._load()  # listed since we last looked?
            c = self._contracts.get(symbol)
        if c is None:
            raise NotFound(self.name, f"no Alpha5 contract for {symbol}")
        return c

    async def _contracts_for(self, symbol: str | None) -> list[Contract]:
        if symbol is not None:
            return [await self._contract(symbol)]
        await self.connect()
        return list(self._contracts.values())

    def _ours(self, contract_symbol: str) -> str | None:
        c = self._by_venue.get(contract_symbol)
        return c.instrument.symbol if c is not None else None

    def _view(self, vo: VenueOrder, client_id: str | None = None) -> VenueOrder | None:
        """The venue's order in our terms (our symbol and client id); None if not ours."""
        symbol = self._ours(vo.symbol)
        if symbol is None:
            return None
        self._contract_of_order[vo.venue_order_id] = vo.symbol
        cid = client_id or self._client_of.get(vo.venue_order_id) or vo.client_id
        return dataclasses.replace(vo, symbol=symbol, client_id=cid)

    def _remember(self, client_id: str, venue_order_id: str) -> None:
        self._client_of[venue_order_id] = client_id
        self._venue_of[client_id] = venue_order_id

    # ----- contract status ------------------------------------------------------------------

    async def _refresh_status(self) -> None:
        """Re-read the contracts' status when it is older than ``status_refresh_s``."""
        if time.monotonic() - self._loaded_at < self.status_refresh_s:
            return
        try:
            await self._load()
        except (VenueError, ParseError, *NETWORK) as err:
            # Keep what we knew; the venue refuses a disrupted contract itself anyway.
            self._loaded_at = time.monotonic()
            log.warning("alpha5 contract status not refreshed (%s)", err)

    async def _check_tradable(self, c: Contract, order: Order) -> None:
        await self._refresh_status()
        current = self._by_venue.get(c.contract_symbol, c)
        status = current.spec.status if current.spec is not None else parsing.OPERATIONAL
        if status == parsing.OPERATIONAL:
            return
        post_only = order.post_only and order.type is OrderType.LIMIT
        if status == "disrupted_post_only" and post_only and order.tif is TimeInForce.GTC:
            return
        raise OrderRejected(
            self.name,
            f"contract {c.contract_symbol} is {status}"
            + (": only post-only GTC limit orders" if status == "disrupted_post_only" else ""),
            code=STATUS_CODES.get(status, "contract_not_operational"),
        )

    # ----- orders ---------------------------------------------------------------------------

    def _order_params(self, c: Contract, order: Order) -> dict[str, object]:
        params: dict[str, object] = {
            "contract_symbol": c.contract_symbol,
            "side": order.side.value,
            "size": order.size,
            "type": order.type.value,
        }
        if order.type in PRICED:
            params["price"] = order.price
            params["time_in_force"] = TIF_OUT[order.tif]
        elif order.tif is not TimeInForce.GTC:
            params["time_in_force"] = TIF_OUT[order.tif]
        if order.post_only:
            params["post_only"] = True
        if order.reduce_only:
            params["reduce_only"] = True
        if order.type.is_stop:
            params["stop_price"] = order.stop_price
            params["trigger"] = self.stop_trigger
        return params

    def _acted(self, reply: object, what: str, order: Order | None = None) -> VenueOrder:
        """The order in the reply to a call that changed state, in our terms.

        A reply we cannot read does not say the call failed: it is ambiguous (the
        base VenueError), so the gateway looks the order up instead of giving up.
        """
        try:
            vo = parsing.parse_order(reply, what)
        except ParseError as err:
            raise VenueError(self.name, f"unreadable {what} reply: {err}") from err
        client_id = order.venue_client_id if order is not None else None
        if client_id is not None:
            self._remember(client_id, vo.venue_order_id)
        view = self._view(vo, client_id)
        if view is None:
            raise VenueError(self.name, f"{what} reply names contract {vo.symbol}")
        return view

    async def place(self, order: Order) -> VenueOrder:
        c = await self._contract(order.symbol)
        await self._check_tradable(c, order)
        reply = await self.rest.place_order(self._order_params(c, order))
        return self._acted(reply, "place_order", order)

    def _known_venue_id(self, order: Order) -> str | None:
        # The adapter's memory is per attempt and follows an edit that changed the id.
        return self._venue_of.get(order.venue_client_id) or order.venue_order_id

    async def _venue_id(self, order: Order) -> str:
        vid = self._known_venue_id(order)
        if vid is None:
            found = await self.find_order(order)
            vid = found.venue_order_id if found is not None else None
        if vid is None:
            raise NotFound(
                self.name,
                f"order {order.venue_client_id} is not known at the venue",
                code="order_not_found",
            )
        return vid

    async def cancel(self, order: Order) -> None:
        await self.rest.cancel_order(await self._venue_id(order))

    async def edit(self, order: Order, price: Decimal, size: Decimal) -> VenueOrder:
        c = await self._contract(order.symbol)
        await self._check_tradable(c, order)
        vid = await self._venue_id(order)
        price_arg = price if order.type in PRICED else None
        reply = await self.rest.edit_order(vid, size=size, price=price_arg)
        vo = self._acted(reply, "edit_order", order)
        if vo.venue_order_id != vid:
            log.info("alpha5 edit of order %s answered as order %s", vid, vo.venue_order_id)
        return vo

    async def cancel_all(self, symbol: str | None = None) -> None:
        for c in await self._contracts_for(symbol):
            await self.rest.cancel_all_open_orders(c.asset, c.contract_symbol)

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        out: list[VenueOrder] = []
        for c in await self._contracts_for(symbol):
            raw = await self.rest.open_orders(c.asset, c.contract_symbol)
            orders = parsing.parse_orders(raw, "get_open_orders")
            out += [v for v in map(self._view, orders) if v is not None]
        return out

    async def _orders_created(self, c: Contract) -> list[tuple[VenueOrder, int | None]]:
        """The contract's open orders, then its orders with fills; each with its creation time.

        Open orders first: an order that fills between the two calls moves into the
        history, which is read second, so it is not missed.
        """
        found = parsing.parse_orders_created(
            await self.rest.open_orders(c.asset, c.contract_symbol), "get_open_orders"
        )
        history = parsing.parse_orders_created(
            await self.rest.order_history(c.asset), "get_order_history"
        )
        seen = {vo.venue_order_id for vo, _ in found}
        found += [
            (vo, t)
            for vo, t in history
            if vo.symbol == c.contract_symbol and vo.venue_order_id not in seen
        ]
        return found

    async def find_order(self, order: Order) -> VenueOrder | None:
        c = await self._contract(order.symbol)
        vid = self._known_venue_id(order)
        candidates = await self._orders_created(c)
        if vid is not None:
            for vo, _ in candidates:
                if vo.venue_order_id == vid:
                    return self._view(vo, order.venue_client_id)
            # Acknowledged, yet neither open nor ever filled: it was closed unfilled.
            return VenueOrder(
                venue=self.name,
                venue_order_id=vid,
                client_id=order.venue_client_id,
                symbol=order.symbol,
                side=order.side,
                type=order.type,
                price=order.price,
                size=order.size,
                filled=Decimal(0),
                avg_price=None,
                status=OrderStatus.CANCELED,
                ts_ns=time.time_ns(),
                raw_status=INFERRED_CLOSED,
                tif=order.tif,
                stop_price=order.stop_price,
            )
        match = self._match(order, candidates)
        if match is None:
            return None
        self._remember(order.venue_client_id, match.venue_order_id)
        return self._view(match, order.venue_client_id)

    def _match(
        self, order: Order, candidates: list[tuple[VenueOrder, int | None]]
    ) -> VenueOrder | None:
        """The fallback for an order whose venue id we never learned."""
        earliest = order.created_ns - self.match_window_ns
        best: tuple[int, VenueOrder] | None = None
        for vo, created in candidates:
            if (
                vo.venue_order_id in self._client_of
                or vo.side is not order.side
                or vo.size != order.size
                or (created is not None and created < earliest)
            ):
                continue
            if vo.type is not None and vo.type is not order.type:
                continue
            # A post-only price may have been moved inside the touch by the venue.
            if order.type in PRICED and vo.price != order.price and not order.post_only:
                continue
            # Without creation times the venue's own order decides (open orders first).
            when = created if created is not None else 0
            if best is None or when < best[0]:
                best = (when, vo)
        return best[1] if best is not None else None

    async def close_position(self, symbol: str, price: Decimal | None = None) -> VenueOrder | None:
        """Close the position in ``symbol`` (a market order, or a limit at ``price``).

        v1.0.0 closes by contract and answers with the Position: None is returned
        and the closing trades arrive through user trades like any others. The
        seed's call takes an order id, not a contract: any order on the contract
        will do (one that filled, so built the position, is in the order
        history); a reply that is an order is returned as such.
        """
        c = await self._contract(symbol)
        order_id = None
        if not self.rest.v1:
            history = parsing.parse_orders(
                await self.rest.order_history(c.asset), "get_order_history"
            )
            ids = [vo.venue_order_id for vo in history if vo.symbol == c.contract_symbol]
            if not ids:
                raise NotFound(
                    self.name,
                    f"no order on {c.contract_symbol} to name the position by",
                    code="no_open_position",
                )
            order_id = ids[0]
        reply = await self.rest.close_position(c.contract_symbol, order_id, price)
        if isinstance(reply, Mapping) and "contract_id" in reply:
            return None  # v1.0.0's Position reply
        return self._acted(reply, "close_position")

    # ----- account --------------------------------------------------------------------------

    async def user_trades(self, since_ns: int | None, symbol: str | None = None) -> list[Fill]:
        await self.connect()
        problems: list[ParseError] = []
        fills = parsing.parse_user_trades(
            await self.rest.user_trades(), problems, self._contract_of_order
        )
        self._problems("user_trade_skipped", problems, once=True)
        floor = None if since_ns is None else since_ns - since_ns % NS_PER_MS
        out = []
        for f in fills:
            ours = self._ours(f.symbol)
            if ours is None:
                continue  # a contract outside ``symbols`` (or listed since we loaded)
            if (floor is not None and f.ts_ns < floor) or (symbol is not None and ours != symbol):
                continue
            cid = f.client_id or (self._client_of.get(f.venue_order_id or "") or "")
            out.append(f._replace(symbol=ours, client_id=cid))
        out.sort(key=lambda f: (f.ts_ns, f.trade_id))
        return out

    async def balances(self) -> dict[str, Decimal]:
        if self._no_balances:
            return {}
        try:
            return parsing.parse_balances(await self.rest.wallet_balances())
        except NotFound:
            # Only the seed documents wallet_balances; v1.0.0 has no balance endpoint.
            self._no_balances = True
            log.warning("alpha5 has no wallet_balances endpoint: balances are unknown")
            return {}

    async def positions(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for c in await self._contracts_for(None):
            raw = await self.rest.positions(c.asset, c.contract_symbol)
            problems: list[ParseError] = []
            sizes = parsing.parse_positions(raw, c.contract_symbol, problems)
            self._problems("position_unreadable", problems, once=True)
            for contract_symbol, size in sizes.items():
                ours = self._ours(contract_symbol)
                if ours is not None and size:
                    out[ours] = size
        return out

    # ----- streams --------------------------------------------------------------------------

    def user_trade_stream(self, since_ns: int | None) -> AsyncIterator[Fill] | None:
        return None  # no websocket documented: the gateway polls user_trades

    async def _poll_market(
        self, contracts: list[Contract]
    ) -> tuple[list[MarketEvent], list[Trade]]:
        problems: list[ParseError] = []
        events: list[MarketEvent] = []
        for c in contracts:
            raw = await self.rest.order_book(c.contract_symbol, self.book_depth)
            snap = parsing.parse_order_book(raw, c.contract_symbol, time.time_ns(), problems)
            events.append(snap._replace(symbol=c.instrument.symbol))
        wanted = {c.contract_symbol for c in contracts}
        trades: list[Trade] = []
        for asset in sorted({c.asset for c in contracts}):
            # Rows that name no contract belong to the asset's only contract, if it has one.
            only = [c.contract_symbol for c in contracts if c.asset == asset]
            default = only[0] if self._per_asset[asset] == 1 and len(only) == 1 else None
            raw = await self.rest.recent_trades(asset, 100)
            rows = parsing.parse_recent_trades(raw, default, problems)
            trades += [t for t in rows if t.symbol in wanted]
        self._problems("market_data_dropped", problems, once=False)
        return events, trades

    async def market_stream(self, symbols: list[str]) -> AsyncIterator[MarketEvent]:
        """Polls the order book and the recent trades of ``symbols``, resuming after errors."""
        contracts = [await self._contract(s) for s in symbols]
        seen: deque[str] = deque(maxlen=5000)
        seen_set: set[str] = set()
        first = True
        failures = 0
        while True:
            try:
                events, trades = await self._poll_market(contracts)
            except (VenueError, ParseError, *NETWORK) as err:
                failures += 1
                self.counters["market_poll_failed"] = self.counters.get("market_poll_failed", 0) + 1
                log.warning("alpha5 market poll failed (%s); retrying", err)
                await asyncio.sleep(min(30.0, self.poll_interval_s * 2 ** min(failures, 5)))
                continue
            failures = 0
            fresh = []
            for t in sorted(trades, key=lambda t: t.ts_ns):
                tid = str(t.trade_id)
                if tid in seen_set:
                    continue
                if len(seen) == seen.maxlen:
                    seen_set.discard(seen[0])
                seen.append(tid)
                seen_set.add(tid)
                if not first:
                    ours = self._ours(t.symbol)
                    if ours is not None:
                        fresh.append(t._replace(symbol=ours))
            first = False
            for event in (*events, *fresh):
                yield event
            await asyncio.sleep(self.poll_interval_s)

    async def __aenter__(self) -> Alpha5Adapter:
        try:
            await self.connect()
        except BaseException:
            await self.close()  # __aexit__ does not run when __aenter__ fails
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self.close()
