"""Alpha5 adapter: the ``VenueAdapter`` contract over Alpha5's REST API.

Capabilities: native edit (``edit_order``, so ``supports_edit``), post-only,
reduce-only, IOC/FOK, stop orders (``stop_limit``/``stop_market`` with a
``trigger``), positions and ``close_position``. Alpha5 documents no websocket,
so fills come from REST polling alone (``has_user_trade_stream = False``) and
``market_stream`` polls the order book and recent trades. Built on the venue
kit (``botkit.venues.kit``): lifecycle, options, id memory, skip counts and the
REST core.

Options (``venue.options`` in bot.yaml: ``options.Alpha5Options``):

* ``api``: ``"v1.0.0"`` (default: the published document, JSON-body POSTs) or
  ``"seed"`` (document 000: query parameters, GETs) — see ``rest``.
* ``bearer_token`` (a string or a ``botkit.redact.Secret``, kept wrapped
  until the header is built), else the ``api_key`` credential: sent as
  ``Authorization: Bearer <token>`` on private calls. ``api_secret`` and the
  connection's ``nonce`` have no use at this venue.
* ``asset_param``: which asset fills the ``asset`` parameter of recent_trades,
  get_positions, get_order_history (and the seed's open orders and
  cancel-all): ``"base"`` (default; ``BTC`` for ``BTC-M20``) or ``"settling"``
  (the contract's settling asset). The documents only say "the asset symbol".
* ``page_size`` (100), ``poll_interval_s`` (1), ``book_depth`` (10),
  ``match_window_s`` (60), ``stop_trigger`` (``last_price``), ``api_prefix``
  (``/v1``), ``status_refresh_s`` (30); the kit's ``request_timeout_s`` (10),
  ``min_request_interval_s`` (0), ``id_memory``.

Choices where the documents are unclear (change them through the options named):

* Symbols: a contract becomes ``BASE/QUOTE`` for a perpetual (``BTC-PERPETUAL``
  quoted in USDT -> ``BTC/USDT``) and ``BASE/QUOTE-<rest of the contract
  symbol>`` for anything else (``BTC-M20`` -> ``BTC/USDT-M20``); should two
  contracts still meet on one name, both are named ``BASE/QUOTE-<contract
  symbol>``. The connection's ``symbols`` limit the adapter to those contracts.
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
  the venue), so fills and orders come back carrying our client id. The ids
  live in the kit's ``IdMemory`` (bounded by ``id_memory``), as does the
  contract of each venue order seen (for fills that name only their order).
* Edit: v1.0.0 titles edit_order "Cancel remaining size of the order and place
  a new one". The size sent is the order's new total size (the seed: "the
  requested order size"). The adapter edits by the venue order id it holds;
  should a reply name a different order id, later calls follow the new id
  while fills of the old one still map to our order. An edit whose reply is
  lost (a 5xx after acting, a timeout) may have put a new order in place of
  the old one, with an id we never learn from it: the edit is noted before it
  is sent, and a look-up (``find_order``, also before a cancel or edit of that
  order) that finds the old order closed looks for an unclaimed order with the
  edit's side, type, price and size, and makes it the attempt's order.
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
  in ``skipped`` — once, however often the venue sends it again (the kit's
  ``SkipCounter`` with ``once``); the other rows are returned.
* Positions: v1.0.0's Position has no size. A row without one is logged and
  counted once in ``skipped`` and left out, so the gateway's position
  cross-check sees nothing to compare for it. A contract row that does not
  parse is skipped and counted once the same way (the listing is read again
  every ``status_refresh_s``).
* Balances: only the seed documents ``wallet_balances``; when the venue
  answers it 404, ``balances()`` (and ``balance_sheet()``) is ``{}`` from then
  on. A row's ``available`` is its free part in ``balance_sheet()``.
* ``market_stream`` emits a BookSnapshot per symbol and the public trades new
  since the previous poll, every ``poll_interval_s``; the trades already printed
  when the stream starts are not replayed. v1.0.0's recent trades name no
  contract: rows are given to the asset's one listed contract, and when an
  asset has several, rows without a contract are dropped and counted. Market
  data with a non-positive price or size is dropped and counted (``skipped``,
  every time); a book of unknown shape is a poll failure, skipped and counted,
  never an empty book; the poll backs off and tries again.
* ``connect()`` fails with one ``VenueError``/``ParseError`` (a network failure
  becomes ``VenueUnavailable`` naming the URL) and leaves no session open;
  ``close()`` closes the session for good, so a poll that outlives it cannot
  open another one (its calls fail with a ``VenueError``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal

from botkit.events import Trade
from botkit.model import Fill, Instrument, Order, OrderStatus, OrderType, TimeInForce
from botkit.venues.alpha5 import parsing
from botkit.venues.alpha5.options import Alpha5Options
from botkit.venues.alpha5.parsing import VENUE, ContractSpec
from botkit.venues.alpha5.rest import Alpha5Rest
from botkit.venues.kit.adapter import AdapterBase, Connection, MarketEvent
from botkit.venues.kit.errors import (
    AMBIGUOUS,
    NotFound,
    OrderRejected,
    ParseError,
    UnreadableReply,
    VenueError,
    VenueUnavailable,
    is_ambiguous,
)
from botkit.venues.kit.rest import Reply
from botkit.venues.kit.types import AssetBalance, VenueOrder, ack

__all__ = ["Alpha5Adapter", "Contract"]

log = logging.getLogger("botkit.venues.alpha5")

NS_PER_MS = 1_000_000
TIF_OUT = {
    TimeInForce.GTC: "good_til_cancelled",
    TimeInForce.IOC: "immediate_or_cancel",
    TimeInForce.FOK: "fill_or_kill",
}
INFERRED_CLOSED = "inferred:closed_unfilled"
# Reject codes of the contract-status check (see the module docstring).
STATUS_CODES = {
    "disrupted": "contract_disrupted",
    "disrupted_post_only": "contract_post_only",
    "expired": "contract_expired",
}


@dataclasses.dataclass(frozen=True)
class Contract:
    """One venue contract and our instrument for it.

    ``asset`` is the value sent as the ``asset`` parameter for this contract.
    """

    contract_symbol: str
    asset: str
    instrument: Instrument
    spec: ContractSpec | None = None


@dataclasses.dataclass(frozen=True)
class _Edit:
    """An edit sent whose reply we do not have: it may have replaced the order."""

    venue_order_id: str  # the order it was sent for
    price: Decimal | None
    size: Decimal
    sent_ns: int


def our_symbol(contract_symbol: str, base: str, quote: str, perpetual: bool) -> str:
    if perpetual:
        return f"{base}/{quote}"
    _, sep, rest = contract_symbol.partition("-")
    return f"{base}/{quote}-{rest if sep else contract_symbol}"


class Alpha5Adapter(AdapterBase):
    """``VenueAdapter`` for Alpha5 (see the module notes for every choice)."""

    name = VENUE
    Options = Alpha5Options
    options: Alpha5Options

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        opts = self.options
        token = opts.bearer_token or connection.credentials.get("api_key") or None
        self.rest = Alpha5Rest(connection.base_url, opts, token)
        self.http = self.rest.http
        self.match_window_ns = int(opts.match_window_s * 1e9)
        self._contracts: dict[str, Contract] = {}  # by our symbol
        self._by_venue: dict[str, Contract] = {}  # by contract symbol
        self._per_asset: Counter[str] = Counter()  # listed contracts per asset parameter
        self._assets: dict[str, int] | None = None  # asset -> precision, read once
        # venue order id -> contract symbol, for fills that name only their order
        self._contract_of_order: OrderedDict[str, str] = OrderedDict()
        # Edits sent without a readable reply, by venue client id (see ``_edit_landed``).
        self._edits: OrderedDict[str, _Edit] = OrderedDict()
        self._loaded_at = 0.0
        self._no_balances = False
        self._load_lock = asyncio.Lock()

    # ----- lifecycle and reference data ---------------------------------------------------

    async def _connect(self) -> None:
        try:
            await self._load()
        except AMBIGUOUS as err:
            raise VenueUnavailable(
                self.name,
                f"cannot load contracts from {self.http.base_url}: "
                f"{str(err) or type(err).__name__}",
            ) from err

    async def close(self) -> None:
        # For good: a market poll still running must not open a session nobody closes.
        await self.http.close(final=True)
        await super().close()

    async def _load(self) -> None:
        async with self._load_lock:
            if self._assets is None:
                self._assets = (await self.rest.assets()).read(parsing.parse_assets)
            reply = await self.rest.live_contracts()
            skipped: list[ParseError] = []
            specs = reply.read(parsing.parse_contract_specs, self._assets, skipped.append)
            if skipped and not specs:
                # Nothing readable at all: the shape is not the document's.
                raise UnreadableReply.of(skipped[0], endpoint=reply.endpoint)
            for err in skipped:
                self.skipped(err.at(reply.endpoint), once=True)
            self._install(specs)
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
            asset = spec.settle if self.options.asset_param == "settling" else spec.base
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
        await self.ready()
        return {s: c.instrument for s, c in self._contracts.items()}

    async def _contract(self, symbol: str) -> Contract:
        await self.ready()
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
        await self.ready()
        return list(self._contracts.values())

    def _ours(self, contract_symbol: str) -> str | None:
        c = self._by_venue.get(contract_symbol)
        return c.instrument.symbol if c is not None else None

    def _view(self, vo: VenueOrder, client_id: str | None = None) -> VenueOrder | None:
        """The venue's order in our terms (our symbol and client id); None if not ours."""
        symbol = self._ours(vo.symbol)
        if symbol is None:
            return None
        self._note_contract(vo.venue_order_id, vo.symbol)
        cid = client_id or self.ids.client_id(vo.venue_order_id) or vo.client_id
        return dataclasses.replace(vo, symbol=symbol, client_id=cid)

    def _note_contract(self, venue_order_id: str, contract_symbol: str) -> None:
        """Remember an order's contract, bounded like the id memory (oldest first out)."""
        self._contract_of_order[venue_order_id] = contract_symbol
        self._contract_of_order.move_to_end(venue_order_id)
        if len(self._contract_of_order) > self.ids.limit:
            self._contract_of_order.popitem(last=False)

    def _remember(self, client_id: str, venue_order_id: str) -> None:
        if not self.ids.remember(client_id, venue_order_id):
            log.warning(
                "venue order %s of %s is claimed by another client id", venue_order_id, client_id
            )

    # ----- contract status ------------------------------------------------------------------

    async def _refresh_status(self) -> None:
        """Re-read the contracts' status when it is older than ``status_refresh_s``."""
        if time.monotonic() - self._loaded_at < self.options.status_refresh_s:
            return
        try:
            await self._load()
        except (VenueError, ParseError, *AMBIGUOUS) as err:
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
        if order.type.needs_price:
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
            params["trigger"] = self.options.stop_trigger
        return params

    def _acted(self, reply: Reply, what: str, order: Order | None = None) -> VenueOrder:
        """The order in the reply to a call that changed state, in our terms.

        A reply we cannot read does not say the call failed: it is ambiguous
        (``UnreadableReply``), so the gateway looks the order up instead of giving up.
        """
        vo = reply.read(parsing.parse_order, what)
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
        # The memory is per attempt and follows an edit that changed the id.
        return self.ids.venue_id(order.venue_client_id) or order.venue_order_id

    async def _venue_id(self, order: Order) -> str:
        vid = self._known_venue_id(order)
        if vid is None or order.venue_client_id in self._edits:
            # Unknown, or an earlier edit may have replaced it: the old id would be refused.
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
        await self.ready()
        vid = await self._venue_id(order)
        await self.rest.cancel_order(vid)
        edit = self._edits.get(order.venue_client_id)
        if edit is not None and edit.venue_order_id == vid:
            # Closed before the edit landed: the venue will refuse that edit.
            del self._edits[order.venue_client_id]

    async def edit(self, order: Order, price: Decimal, size: Decimal) -> VenueOrder:
        c = await self._contract(order.symbol)
        await self._check_tradable(c, order)
        vid = await self._venue_id(order)
        price_arg = price if order.type.needs_price else None
        cid = order.venue_client_id
        # Noted before it leaves: a lost reply (or a timeout, which cancels this call)
        # leaves a new order at the venue whose id only a look-up can learn.
        self._note_edit(cid, _Edit(vid, price_arg, size, time.time_ns()))
        try:
            reply = await self.rest.edit_order(vid, size=size, price=price_arg)
        except Exception as err:
            if not is_ambiguous(err):
                self._edits.pop(cid, None)  # refused as sent: nothing changed
            raise
        vo = self._acted(reply, "edit_order", order)
        self._edits.pop(cid, None)
        if vo.venue_order_id != vid:
            log.info("alpha5 edit of order %s answered as order %s", vid, vo.venue_order_id)
        return vo

    async def cancel_all(self, symbol: str | None = None) -> None:
        for c in await self._contracts_for(symbol):
            await self.rest.cancel_all_open_orders(c.asset, c.contract_symbol)

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        out: list[VenueOrder] = []
        for c in await self._contracts_for(symbol):
            reply = await self.rest.open_orders(c.asset, c.contract_symbol)
            orders = reply.read(parsing.parse_orders, "get_open_orders")
            out += [v for v in map(self._view, orders) if v is not None]
        return out

    async def _orders_created(self, c: Contract) -> list[tuple[VenueOrder, int | None]]:
        """The contract's open orders, then its orders with fills; each with its creation time.

        Open orders first: an order that fills between the two calls moves into the
        history, which is read second, so it is not missed.
        """
        listed = await self.rest.open_orders(c.asset, c.contract_symbol)
        found = listed.read(parsing.parse_orders_created, "get_open_orders")
        filled = await self.rest.order_history(c.asset)
        history = filled.read(parsing.parse_orders_created, "get_order_history")
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
        cid = order.venue_client_id
        candidates = await self._orders_created(c)
        if vid is not None:
            known = next((vo for vo, _ in candidates if vo.venue_order_id == vid), None)
            if known is None or known.status not in (
                OrderStatus.OPEN,
                OrderStatus.PARTIALLY_FILLED,
            ):
                replaced = self._edit_landed(order, vid, candidates)
                if replaced is not None:
                    return replaced
            if known is not None:
                return self._view(known, cid)
            # Acknowledged, yet neither open nor ever filled: it was closed unfilled.
            return ack(
                order, self.name, vid, status=OrderStatus.CANCELED, raw_status=INFERRED_CLOSED
            )
        match = self._match(order, candidates, order.price, order.size, order.created_ns)
        if match is None:
            return None
        self._remember(cid, match.venue_order_id)
        return self._view(match, cid)

    def _note_edit(self, client_id: str, edit: _Edit) -> None:
        self._edits[client_id] = edit
        self._edits.move_to_end(client_id)
        if len(self._edits) > self.ids.limit:
            self._edits.popitem(last=False)

    def _edit_landed(
        self, order: Order, vid: str, candidates: list[tuple[VenueOrder, int | None]]
    ) -> VenueOrder | None:
        """The order an edit without a reply put in place of ``vid``, if it did.

        v1.0.0's edit cancels the order and places a new one: when its reply is
        lost, the new order is live and nobody's until found by its terms (the
        edit's price and size), like a place whose reply was lost. Found, it is
        the attempt's order from then on. The note is kept while ``vid`` is open
        (a stalled edit may still land) and dropped once it is closed and
        nothing took its place: an edit of a closed order is refused.
        """
        cid = order.venue_client_id
        edit = self._edits.get(cid)
        if edit is None or edit.venue_order_id != vid:
            return None
        price = edit.price if edit.price is not None else order.price
        match = self._match(order, candidates, price, edit.size, edit.sent_ns)
        del self._edits[cid]
        if match is None:
            return None
        log.warning(
            "alpha5 edit of order %s had no reply: it is now order %s", vid, match.venue_order_id
        )
        self._remember(cid, match.venue_order_id)
        return self._view(match, cid)

    def _match(
        self,
        order: Order,
        candidates: list[tuple[VenueOrder, int | None]],
        price: Decimal | None,
        size: Decimal,
        sent_ns: int,
    ) -> VenueOrder | None:
        """The unclaimed order with ``order``'s side and type and these terms, sent at
        ``sent_ns`` (for an order whose venue id we never learned)."""
        earliest = sent_ns - self.match_window_ns
        cid = order.venue_client_id
        best: tuple[int, VenueOrder] | None = None
        for vo, created in candidates:
            if (
                self.ids.claimed(vo.venue_order_id, by_other_than=cid)
                or vo.side is not order.side
                or vo.size != size
                or (created is not None and created < earliest)
            ):
                continue
            if vo.type is not None and vo.type is not order.type:
                continue
            # A post-only price may have been moved inside the touch by the venue.
            if order.type.needs_price and vo.price != price and not order.post_only:
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
            reply = await self.rest.order_history(c.asset)
            history = reply.read(parsing.parse_orders, "get_order_history")
            ids = [vo.venue_order_id for vo in history if vo.symbol == c.contract_symbol]
            if not ids:
                raise NotFound(
                    self.name,
                    f"no order on {c.contract_symbol} to name the position by",
                    code="no_open_position",
                )
            order_id = ids[0]
        reply = await self.rest.close_position(c.contract_symbol, order_id, price)
        if isinstance(reply.body, Mapping) and "contract_id" in reply.body:
            return None  # v1.0.0's Position reply
        return self._acted(reply, "close_position")

    # ----- account --------------------------------------------------------------------------

    async def user_trades(self, since_ns: int | None, symbol: str | None = None) -> list[Fill]:
        await self.ready()
        reply = await self.rest.user_trades()
        # No time filter: every call reads the same rows again, so a bad one counts once.
        skip = self.skipped.at(reply.endpoint, once=True)
        fills = reply.read(parsing.parse_user_trades, skip, self._contract_of_order)
        floor = None if since_ns is None else since_ns - since_ns % NS_PER_MS
        out = []
        for f in fills:
            ours = self._ours(f.symbol)
            if ours is None:
                continue  # a contract outside ``symbols`` (or listed since we loaded)
            if (floor is not None and f.ts_ns < floor) or (symbol is not None and ours != symbol):
                continue
            cid = f.client_id or (self.ids.client_id(f.venue_order_id or "") or "")
            out.append(f._replace(symbol=ours, client_id=cid))
        out.sort(key=lambda f: (f.ts_ns, f.trade_id))
        return out

    async def balances(self) -> dict[str, Decimal]:
        return {asset: b.total for asset, b in (await self.balance_sheet()).items()}

    async def balance_sheet(self) -> dict[str, AssetBalance]:
        if self._no_balances:
            return {}
        await self.ready()
        try:
            reply = await self.rest.wallet_balances()
        except NotFound:
            # Only the seed documents wallet_balances; v1.0.0 has no balance endpoint.
            self._no_balances = True
            log.warning("alpha5 has no wallet_balances endpoint: balances are unknown")
            return {}
        return reply.read(parsing.parse_balance_sheet)

    async def positions(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for c in await self._contracts_for(None):
            reply = await self.rest.positions(c.asset, c.contract_symbol)
            skip = self.skipped.at(reply.endpoint, once=True)
            sizes = reply.read(parsing.parse_positions, c.contract_symbol, skip)
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
        events: list[MarketEvent] = []
        for c in contracts:
            reply = await self.rest.order_book(c.contract_symbol, self.options.book_depth)
            skip = self.skipped.at(reply.endpoint)
            snap = reply.read(parsing.parse_order_book, c.contract_symbol, time.time_ns(), skip)
            events.append(snap._replace(symbol=c.instrument.symbol))
        wanted = {c.contract_symbol for c in contracts}
        trades: list[Trade] = []
        for asset in sorted({c.asset for c in contracts}):
            # Rows that name no contract belong to the asset's only contract, if it has one.
            only = [c.contract_symbol for c in contracts if c.asset == asset]
            default = only[0] if self._per_asset[asset] == 1 and len(only) == 1 else None
            reply = await self.rest.recent_trades(asset, 100)
            skip = self.skipped.at(reply.endpoint)
            rows = reply.read(parsing.parse_recent_trades, default, skip)
            trades += [t for t in rows if t.symbol in wanted]
        return events, trades

    async def market_stream(self, symbols: list[str]) -> AsyncIterator[MarketEvent]:
        """Polls the order book and the recent trades of ``symbols``, resuming after errors."""
        contracts = [await self._contract(s) for s in symbols]
        interval = self.options.poll_interval_s
        seen: deque[str] = deque(maxlen=5000)
        seen_set: set[str] = set()
        first = True
        failures = 0
        while True:
            try:
                events, trades = await self._poll_market(contracts)
            except (VenueError, ParseError, *AMBIGUOUS) as err:
                failures += 1
                if isinstance(err, ParseError):
                    self.skipped(err)  # a book or page of unknown shape: counted, never empty
                else:
                    log.warning("alpha5 market poll failed (%s); retrying", err)
                await asyncio.sleep(min(30.0, interval * 2 ** min(failures, 5)))
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
            await asyncio.sleep(interval)
