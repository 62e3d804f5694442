"""Alpha5 adapter: the ``VenueAdapter`` contract over Alpha5's REST API.

Capabilities: native edit (``edit_order``, so ``supports_edit``), post-only,
reduce-only, IOC/FOK, stop orders (``stop_limit``/``stop_market`` with a
``trigger``), positions and ``close_position``. Alpha5 documents no websocket,
so fills come from REST polling alone (``has_user_trade_stream = False``) and
``market_stream`` polls the order book and recent trades.

Choices where the document is unclear (change them through the options named):

* Symbols: a contract becomes ``BASE/QUOTE`` for a perpetual (``BTC-PERPETUAL``
  with quote USDT -> ``BTC/USDT``) and ``BASE/QUOTE-<rest of the contract
  symbol>`` for anything else (``BTC-29MAR24`` -> ``BTC/USDT-29MAR24``), so one
  asset's contracts never collide. Kind ``perpetual`` for perpetuals, else the
  contract type. ``symbols=[...]`` limits the adapter to those contracts.
* Credentials: authentication is documented as "None". An optional bearer token
  (option ``bearer_token``, else ``api_key``) is sent on private calls;
  ``api_secret`` and ``nonce`` have no use at this venue.
* ``place_order`` documents no side: ``side=buy|sell`` is sent. Nor does it
  take a client order id: ``supports_client_id`` is False, and the adapter keeps
  the venue's order id from each place reply (with our client id beside it, so
  fills and orders come back carrying our client id).
* ``find_order``: by the venue id when we have it (open orders, then order
  history, which holds every order with a fill); an order the venue
  acknowledged that is in neither was closed without a fill and is reported
  CANCELED (``raw_status`` says it was inferred). Without a venue id (the place
  reply was lost) the documented fallback matches the contract's open orders and
  history by side, type, price and size, created no earlier than our order's
  creation time minus ``match_window_s`` (default 60 s), not already claimed by
  another of our orders; the earliest such order wins.
* Time in force is sent for limit orders only ("applies to limit order") and
  for market orders only when not GTC. Stop orders are sent with
  ``trigger=<stop_trigger>`` (default ``last_price``; the document requires one
  for ``stop_limit``).
* User trades: the endpoint takes no time filter (and documents no paging
  parameters), so every call reads the account's trades and keeps those from
  ``since_ns`` on. Venue times are milliseconds, so ``since_ns`` is first
  floored to its millisecond: the boundary repeats (duplicates are allowed,
  the gateway dedupes by trade id), nothing is lost.
* Open orders, cancel-all and positions need asset *and* contract symbol, so
  they take one call per contract.
* ``market_stream`` emits a BookSnapshot per symbol and the public trades new
  since the previous poll, every ``poll_interval_s`` (default 1 s); the trades
  already printed when the stream starts are not replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from typing import Any

import aiohttp

from botkit.events import Trade
from botkit.model import Fill, Instrument, Order, OrderStatus, OrderType, TimeInForce
from botkit.venues.alpha5 import parsing
from botkit.venues.alpha5.rest import Alpha5Rest
from botkit.venues.kit.adapter import Connection, MarketEvent
from botkit.venues.kit.errors import NotFound, ParseError, VenueError
from botkit.venues.kit.nonce import NonceSource
from botkit.venues.kit.types import VenueOrder

__all__ = ["Alpha5Adapter", "Contract"]

log = logging.getLogger("botkit.venues.alpha5")

NS_PER_MS = 1_000_000
TIF_OUT = {
    TimeInForce.GTC: "good_til_cancelled",
    TimeInForce.IOC: "immediate_or_cancel",
    TimeInForce.FOK: "fill_or_kill",
}
INFERRED_CLOSED = "inferred:closed_unfilled"


@dataclasses.dataclass(frozen=True)
class Contract:
    """One venue contract and our instrument for it."""

    contract_symbol: str
    asset: str
    instrument: Instrument


def our_symbol(contract_symbol: str, base: str, quote: str, perpetual: bool) -> str:
    if perpetual:
        return f"{base}/{quote}"
    _, sep, rest = contract_symbol.partition("-")
    return f"{base}/{quote}-{rest if sep else contract_symbol}"


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
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        nonce: NonceSource | None = None,
        symbols: Iterable[str] | None = None,
        **options: Any,
    ) -> None:
        del ws_url, api_secret  # no websocket documented; nothing is signed
        token = options.pop("bearer_token", None) or api_key or None
        self.min_request_interval_s = float(options.pop("min_request_interval_s", 0.0))
        self.poll_interval_s = float(options.pop("poll_interval_s", 1.0))
        self.book_depth = int(options.pop("book_depth", 10))
        self.match_window_ns = int(float(options.pop("match_window_s", 60.0)) * 1e9)
        self.stop_trigger = str(options.pop("stop_trigger", "last_price"))
        timeout_s = float(options.pop("timeout_s", 10.0))
        prefix = str(options.pop("api_prefix", "/v1"))
        if options:
            raise TypeError(f"unknown Alpha5 options: {', '.join(sorted(options))}")
        self.rest = Alpha5Rest(base_url, token, nonce=nonce, timeout_s=timeout_s, prefix=prefix)
        self.symbols = frozenset(symbols) if symbols is not None else None
        self._contracts: dict[str, Contract] = {}  # by our symbol
        self._by_venue: dict[str, Contract] = {}  # by contract symbol
        self._client_of: dict[str, str] = {}  # venue order id -> our client id
        self._venue_of: dict[str, str] = {}  # our client id -> venue order id
        self._loaded = False
        self._lock = asyncio.Lock()

    # ----- lifecycle and reference data ---------------------------------------------------

    async def connect(self) -> None:
        if not self._loaded:
            await self._load()

    async def close(self) -> None:
        await self.rest.close()

    async def _load(self) -> None:
        async with self._lock:
            raw = await self.rest.live_contracts()
            perpetuals = parsing.parse_perpetuals(raw)
            contracts: dict[str, Contract] = {}
            for inst in parsing.parse_contracts(raw):
                perpetual = inst.symbol in perpetuals
                ours = our_symbol(inst.symbol, inst.base, inst.quote, perpetual)
                if self.symbols is not None and ours not in self.symbols:
                    continue
                mine = dataclasses.replace(
                    inst, symbol=ours, kind="perpetual" if perpetual else inst.kind
                )
                contracts[ours] = Contract(inst.symbol, inst.base, mine)
            self._contracts = contracts
            self._by_venue = {c.contract_symbol: c for c in contracts.values()}
            self._loaded = True

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
        cid = client_id or self._client_of.get(vo.venue_order_id) or vo.client_id
        return dataclasses.replace(vo, symbol=symbol, client_id=cid)

    def _remember(self, client_id: str, venue_order_id: str) -> None:
        self._client_of[venue_order_id] = client_id
        self._venue_of[client_id] = venue_order_id

    # ----- orders ---------------------------------------------------------------------------

    def _order_params(self, c: Contract, order: Order) -> dict[str, object]:
        params: dict[str, object] = {
            "contract_symbol": c.contract_symbol,
            "side": order.side.value,
            "size": order.size,
            "type": order.type.value,
        }
        if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
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

    def _acted(self, reply: object, what: str, client_id: str | None = None) -> VenueOrder:
        """The order in the reply to a call that changed state, in our terms.

        A reply we cannot read does not say the call failed: it is ambiguous (the
        base VenueError), so the gateway looks the order up instead of giving up.
        """
        try:
            vo = parsing.parse_order(reply)
        except ParseError as err:
            raise VenueError(self.name, f"unreadable {what} reply: {err}") from err
        if client_id is not None:
            self._remember(client_id, vo.venue_order_id)
        view = self._view(vo, client_id)
        if view is None:
            raise VenueError(self.name, f"{what} reply names contract {vo.symbol}")
        return view

    async def place(self, order: Order) -> VenueOrder:
        c = await self._contract(order.symbol)
        reply = await self.rest.place_order(self._order_params(c, order))
        return self._acted(reply, "place_order", order.client_id)

    async def _venue_id(self, order: Order) -> str:
        vid = order.venue_order_id or self._venue_of.get(order.client_id)
        if vid is None:
            found = await self.find_order(order)
            vid = found.venue_order_id if found is not None else None
        if vid is None:
            raise NotFound(
                self.name,
                f"order {order.client_id} is not known at the venue",
                code="order_not_found",
            )
        return vid

    async def cancel(self, order: Order) -> None:
        await self.rest.cancel_order(await self._venue_id(order))

    async def edit(self, order: Order, price: Decimal, size: Decimal) -> VenueOrder:
        vid = await self._venue_id(order)
        price_arg = price if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
        reply = await self.rest.edit_order(vid, size=size, price=price_arg)
        return self._acted(reply, "edit_order", order.client_id)

    async def cancel_all(self, symbol: str | None = None) -> None:
        for c in await self._contracts_for(symbol):
            await self.rest.cancel_all_open_orders(c.asset, c.contract_symbol)

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        out: list[VenueOrder] = []
        for c in await self._contracts_for(symbol):
            raw = await self.rest.open_orders(c.asset, c.contract_symbol)
            out += [v for v in map(self._view, parsing.parse_orders(raw)) if v is not None]
        return out

    async def _orders_created(self, c: Contract) -> list[tuple[VenueOrder, int]]:
        """The contract's open orders, then its orders with fills; each with its creation time.

        Open orders first: an order that fills between the two calls moves into the
        history, which is read second, so it is not missed.
        """
        found = parsing.parse_orders_created(
            await self.rest.open_orders(c.asset, c.contract_symbol)
        )
        history = parsing.parse_orders_created(await self.rest.order_history(c.asset))
        seen = {vo.venue_order_id for vo, _ in found}
        found += [
            (vo, t)
            for vo, t in history
            if vo.symbol == c.contract_symbol and vo.venue_order_id not in seen
        ]
        return found

    async def find_order(self, order: Order) -> VenueOrder | None:
        c = await self._contract(order.symbol)
        vid = order.venue_order_id or self._venue_of.get(order.client_id)
        candidates = await self._orders_created(c)
        if vid is not None:
            for vo, _ in candidates:
                if vo.venue_order_id == vid:
                    return self._view(vo, order.client_id)
            # Acknowledged, yet neither open nor ever filled: it was closed unfilled.
            return VenueOrder(
                venue=self.name,
                venue_order_id=vid,
                client_id=order.client_id,
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
        self._remember(order.client_id, match.venue_order_id)
        return self._view(match, order.client_id)

    def _match(self, order: Order, candidates: list[tuple[VenueOrder, int]]) -> VenueOrder | None:
        """The documented fallback for an order whose venue id we never learned."""
        earliest = order.created_ns - self.match_window_ns
        best: tuple[int, VenueOrder] | None = None
        for vo, created in candidates:
            if (
                vo.venue_order_id in self._client_of
                or vo.side is not order.side
                or vo.size != order.size
                or created < earliest
            ):
                continue
            if vo.type is not None and vo.type is not order.type:
                continue
            # A post-only price may have been moved inside the touch by the venue.
            priced = order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
            if priced and vo.price != order.price and not order.post_only:
                continue
            if best is None or created < best[0]:
                best = (created, vo)
        return best[1] if best is not None else None

    async def close_position(self, symbol: str, price: Decimal | None = None) -> VenueOrder:
        """Close the position in ``symbol`` (a reduce-only market order, or limit at ``price``).

        The venue's call takes an order id, not a contract: any order on the
        contract will do, and one that filled (so built the position) is in the
        order history.
        """
        c = await self._contract(symbol)
        history = parsing.parse_orders(await self.rest.order_history(c.asset))
        ids = [vo.venue_order_id for vo in history if vo.symbol == c.contract_symbol]
        if not ids:
            raise NotFound(
                self.name,
                f"no order on {c.contract_symbol} to name the position by",
                code="no_open_position",
            )
        return self._acted(await self.rest.close_position(ids[0], price), "close_position")

    # ----- account --------------------------------------------------------------------------

    async def user_trades(self, since_ns: int | None, symbol: str | None = None) -> list[Fill]:
        await self.connect()
        fills = parsing.parse_user_trades(await self.rest.user_trades())
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
        return parsing.parse_balances(await self.rest.wallet_balances())

    async def positions(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for c in await self._contracts_for(None):
            raw = await self.rest.positions(c.asset, c.contract_symbol)
            for contract_symbol, size in parsing.parse_positions(raw).items():
                ours = self._ours(contract_symbol)
                if ours is not None and size:
                    out[ours] = size
        return out

    # ----- streams --------------------------------------------------------------------------

    def user_trade_stream(self, since_ns: int | None) -> AsyncIterator[Fill] | None:
        return None  # no websocket documented: the gateway polls user_trades

    async def market_stream(self, symbols: list[str]) -> AsyncIterator[MarketEvent]:
        """Polls the order book and the recent trades of ``symbols``, resuming after errors."""
        contracts = [await self._contract(s) for s in symbols]
        assets = sorted({c.asset for c in contracts})
        wanted = {c.contract_symbol for c in contracts}
        seen: deque[str] = deque(maxlen=5000)
        seen_set: set[str] = set()
        first = True
        failures = 0
        while True:
            try:
                events: list[MarketEvent] = []
                for c in contracts:
                    raw = await self.rest.order_book(c.contract_symbol, self.book_depth)
                    snap = parsing.parse_order_book(raw, c.contract_symbol, time.time_ns())
                    events.append(snap._replace(symbol=c.instrument.symbol))
                trades: list[Trade] = []
                for asset in assets:
                    raw = await self.rest.recent_trades(asset, 100)
                    trades += [t for t in parsing.parse_recent_trades(raw) if t.symbol in wanted]
            except (TimeoutError, VenueError, ParseError, aiohttp.ClientError) as err:
                failures += 1
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
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self.close()
