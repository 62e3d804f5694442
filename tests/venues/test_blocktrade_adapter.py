"""BlockTrade adapter against the BlockTrade simulator, over real loopback HTTP and websockets.

Nothing is patched: the adapter speaks BlockTrade's protocol to
``botkit.simulator.blocktrade`` and the simulated exchange is the ground truth.
The market only moves when a test steps it (``run_market=False``).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from botkit.events import BookDelta, BookSnapshot, Ticker, Trade
from botkit.model import Fill, Order, OrderStatus, OrderType, Side, TimeInForce
from botkit.simulator.blocktrade import DEFAULT_API_KEY, DEFAULT_API_SECRET
from botkit.simulator.server import RunningSimulator, running_simulator
from botkit.venues.blocktrade import BlockTradeAdapter
from botkit.venues.blocktrade.auth import json_body, sign_headers
from botkit.venues.blocktrade.rest import BlockTradeRest
from botkit.venues.blocktrade.websocket import BlockTradeWebsocket, ws_url_for
from botkit.venues.kit.adapter import Connection
from botkit.venues.kit.errors import (
    AuthError,
    InsufficientFunds,
    InvalidRequest,
    NotFound,
    OrderRejected,
    VenueError,
    VenueUnavailable,
)
from botkit.venues.kit.nonce import ClockNonce

D = Decimal
S = OrderStatus
SYMBOL = "BTC/USDT"
MS = 1_000_000


def make_adapter(sim: RunningSimulator, **options: Any) -> BlockTradeAdapter:
    credentials = {
        "api_key": options.pop("api_key", DEFAULT_API_KEY),
        "api_secret": options.pop("api_secret", DEFAULT_API_SECRET),
    }
    nonce = options.pop("nonce", None)
    return BlockTradeAdapter(
        Connection(sim.base_url, sim.ws_url, credentials=credentials, options=options, nonce=nonce)
    )


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with running_simulator("blocktrade", run_market=False) as running:
        running.exchange.step()
        yield running


@pytest.fixture
async def bt(sim: RunningSimulator) -> AsyncIterator[BlockTradeAdapter]:
    adapter = make_adapter(sim)
    await adapter.connect()
    try:
        yield adapter
    finally:
        await adapter.close()


def order(
    side: Side,
    size: str | Decimal,
    price: str | Decimal | None,
    type: OrderType = OrderType.LIMIT,
    tif: TimeInForce = TimeInForce.GTC,
    cid: str | None = None,
    post_only: bool = False,
) -> Order:
    return Order(
        cid or f"t-{uuid.uuid4().hex[:12]}",
        SYMBOL,
        side,
        type,
        D(size),
        None if price is None else D(price),
        tif,
        post_only=post_only,
        created_ns=time.time_ns(),
    )


def touch(sim: RunningSimulator) -> tuple[Decimal, Decimal]:
    book = sim.exchange.books[SYMBOL]
    assert book.best_bid is not None and book.best_ask is not None
    return D(repr(book.best_bid)), D(repr(book.best_ask))


def passive_buy(sim: RunningSimulator, size: str = "0.01", cid: str | None = None) -> Order:
    bid, _ = touch(sim)
    return order(Side.BUY, size, bid - 100, cid=cid)


async def taker_buy(bt: BlockTradeAdapter, sim: RunningSimulator, size: str = "0.001") -> Order:
    """A buy that sweeps the asks: filled at once (in one or more trades)."""
    _, ask = touch(sim)
    o = order(Side.BUY, size, ask + 1)
    vo = await bt.place(o)
    o.venue_order_id = vo.venue_order_id
    assert sim.exchange.by_client[o.client_id].status is S.FILLED
    return o


def taker_buy_later(
    bt: BlockTradeAdapter, sim: RunningSimulator, delay_s: float = 0.2
) -> asyncio.Future[Order]:
    """A taker buy ``delay_s`` from now, while the caller is listening to a stream."""

    async def later() -> Order:
        await asyncio.sleep(delay_s)
        return await taker_buy(bt, sim)

    return asyncio.ensure_future(later())


async def collect(
    stream: AsyncIterator[Any],
    done: Callable[[list[Any]], bool],
    timeout_s: float = 5.0,
    step: Callable[[], None] | None = None,
) -> list[Any]:
    """Items from ``stream`` until ``done(items)``; ``step`` (moving the market) runs
    while waiting. TimeoutError when ``done`` never holds."""
    items: list[Any] = []

    async def pump() -> None:
        async for item in stream:
            items.append(item)

    task = asyncio.ensure_future(pump())
    deadline = time.monotonic() + timeout_s
    try:
        while not done(items):
            if task.done():
                task.result()  # the stream failed: raise its error
            if time.monotonic() > deadline:
                raise TimeoutError(f"collected {len(items)} items, condition not met")
            if step is not None:
                step()
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await stream.aclose()  # type: ignore[attr-defined]
    return list(items)


# ----- reference data and account ------------------------------------------------------------


async def test_instruments_carry_blocktrade_rules(bt: BlockTradeAdapter) -> None:
    instruments = await bt.instruments()
    assert set(instruments) == {"BTC/USDT", "ETH/BTC", "BTC/EUR"}
    btc = instruments[SYMBOL]
    assert (btc.base, btc.quote, btc.tick_size, btc.lot_size) == (
        "BTC",
        "USDT",
        D("0.01"),
        D("0.00001"),
    )
    # Minimum and maximum order value are the quote asset's.
    assert (btc.min_notional, btc.max_notional) == (D("10"), D("1000000"))
    assert instruments["ETH/BTC"].tick_size == D("0.00001")
    assert bt.supports_client_id and not bt.supports_edit and bt.has_user_trade_stream


async def test_balances_and_positions(bt: BlockTradeAdapter, sim: RunningSimulator) -> None:
    assert await bt.balances() == {k: v for k, v in sim.exchange.balances.items()}
    o = passive_buy(sim)
    await bt.place(o)
    # An open order reserves funds; the total is unchanged, the free part
    # (available_amount) is what is left.
    assert (await bt.balances())["USDT"] == sim.exchange.balances["USDT"]
    usdt = (await bt.balance_sheet())["USDT"]
    assert usdt.total == sim.exchange.balances["USDT"]
    assert usdt.free == sim.exchange.balances["USDT"] - o.price * o.size
    assert await bt.positions() == {}
    assert sim.exchange.rejected == []


# ----- orders --------------------------------------------------------------------------------


async def test_place_find_list_cancel(bt: BlockTradeAdapter, sim: RunningSimulator) -> None:
    o = passive_buy(sim)
    vo = await bt.place(o)
    assert vo.status is S.OPEN and vo.client_id == o.client_id and vo.venue_order_id.isdigit()
    # The venue stores our client id as customer_order_id.
    assert sim.exchange.by_client[o.client_id].venue_order_id

    found = await bt.find_order(o)  # by client id: the order object has no venue id yet
    assert found is not None
    assert (found.venue_order_id, found.client_id, found.status) == (
        vo.venue_order_id,
        o.client_id,
        S.OPEN,
    )
    assert (found.price, found.size, found.filled) == (o.price, o.size, 0)

    listed = await bt.open_orders(SYMBOL)
    assert [v.venue_order_id for v in listed] == [vo.venue_order_id]
    assert await bt.open_orders("ETH/BTC") == []

    o.venue_order_id = vo.venue_order_id
    await bt.cancel(o)
    gone = await bt.find_order(o)
    assert gone is not None and gone.status is S.CANCELED and gone.raw_status == "CANCELLED"
    assert await bt.open_orders() == []
    assert sim.exchange.rejected == []


async def test_find_order_of_an_order_never_placed_is_none(
    bt: BlockTradeAdapter, sim: RunningSimulator
) -> None:
    assert await bt.find_order(passive_buy(sim)) is None


async def test_partial_then_full_fill(bt: BlockTradeAdapter, sim: RunningSimulator) -> None:
    book = sim.exchange.books[SYMBOL]
    ask, level = book.ask_levels(1)[0]
    # A buy at the best ask for more than the level holds: takes the level, rests the rest.
    size = D(repr(level)) + D("0.5")
    o = order(Side.BUY, size, D(repr(ask)))
    await bt.place(o)
    vo = await bt.find_order(o)
    assert vo is not None and vo.status is S.PARTIALLY_FILLED
    assert vo.filled == D(repr(level)) and vo.avg_price == D(repr(ask))
    assert vo.raw_status == "PARTIALLY_FILLED"

    fills = await bt.user_trades(None)
    assert [(f.size, f.price, f.client_id, f.venue_order_id) for f in fills] == [
        (D(repr(level)), D(repr(ask)), o.client_id, vo.venue_order_id)
    ]
    truth = sim.exchange.trades[0]
    assert fills[0].fee == truth.fee and fills[0].fee_asset == "USDT"
    assert fills[0].liquidity.value == "taker" and fills[0].side is Side.BUY

    # Step the market until the resting rest trades.
    for _ in range(400):
        sim.exchange.step()
        if sim.exchange.by_client[o.client_id].status is S.FILLED:
            break
    done = await bt.find_order(o)
    assert done is not None and done.status is S.FILLED and done.filled == size
    fills = await bt.user_trades(None)
    assert sum(f.size for f in fills) == size
    assert sorted((f.price, f.size) for f in fills) == sorted(
        (t.price, t.size) for t in sim.exchange.trades
    )
    assert sim.exchange.rejected == []


async def test_ioc_and_market_orders_are_read_back(
    bt: BlockTradeAdapter, sim: RunningSimulator
) -> None:
    bid, _ = touch(sim)
    ioc = order(Side.BUY, "0.01", bid - 100, tif=TimeInForce.IOC)
    vo = await bt.place(ioc)
    assert vo.status is S.CANCELED  # nothing to take: the venue cancelled the rest
    mkt = order(Side.BUY, "0.001", None, type=OrderType.MARKET)
    vo = await bt.place(mkt)
    assert vo.status is S.FILLED and vo.filled == D("0.001") and vo.price is None
    assert sim.exchange.rejected == []


async def test_cancel_all_by_symbol_and_everything(
    bt: BlockTradeAdapter, sim: RunningSimulator
) -> None:
    for _ in range(2):
        await bt.place(passive_buy(sim))
    eth = Order(
        "eth-1", "ETH/BTC", Side.BUY, OrderType.LIMIT, D("1"), D("0.04"), created_ns=time.time_ns()
    )
    await bt.place(eth)
    await bt.cancel_all(SYMBOL)
    assert [vo.symbol for vo in await bt.open_orders()] == ["ETH/BTC"]
    await bt.cancel_all()
    assert await bt.open_orders() == []
    assert sim.exchange.rejected == []


async def test_open_orders_pages(sim: RunningSimulator) -> None:
    bt = make_adapter(sim, page_size=2)
    try:
        placed = [await bt.place(passive_buy(sim)) for _ in range(5)]
        listed = await bt.open_orders(SYMBOL)
        assert sorted(v.venue_order_id for v in listed) == sorted(v.venue_order_id for v in placed)
    finally:
        await bt.close()


async def test_each_attempt_is_its_own_customer_order_id(
    bt: BlockTradeAdapter, sim: RunningSimulator
) -> None:
    """The router's cancel-and-replace sends the next attempt of the same order: the
    venue holds it as ``<client id>-r<n>`` and the adapter reports that id verbatim."""
    o = passive_buy(sim, cid="strategy-7")
    first = await bt.place(o)
    assert first.client_id == "strategy-7"
    o.venue_order_id = first.venue_order_id
    await bt.cancel(o)
    # What the router does when the cancel is confirmed: the next attempt, new price.
    o.venue_order_id, o.price, o.size = None, o.price - 1, D("0.02")  # type: ignore[operator]
    o.attempt = 2
    second = await bt.place(o)
    assert second.venue_order_id != first.venue_order_id
    assert second.client_id == "strategy-7-r2"
    assert sim.exchange.by_client["strategy-7-r2"].venue_order_id  # a fresh customer_order_id
    found = await bt.find_order(o)
    assert found is not None and found.venue_order_id == second.venue_order_id
    assert found.client_id == "strategy-7-r2" and found.price == o.price
    assert found.size == D("0.02")
    assert [v.client_id for v in await bt.open_orders()] == ["strategy-7-r2"]
    # Its fills name the attempt too (the router maps it to the order).
    assert sim.exchange.rejected == []

    # A restarted adapter knows nothing; the journal gives it the order and its attempt
    # (and the nonce source).
    fresh = make_adapter(sim, nonce=bt.rest.nonce)
    try:
        restored = Order(
            "strategy-7", SYMBOL, Side.BUY, OrderType.LIMIT, o.size, o.price, attempt=2
        )
        again = await fresh.find_order(restored)
        assert again is not None and again.venue_order_id == second.venue_order_id
        first_attempt = Order("strategy-7", SYMBOL, Side.BUY, OrderType.LIMIT, D("0.01"), o.price)
        old = await fresh.find_order(first_attempt)
        assert old is not None and old.venue_order_id == first.venue_order_id
        assert old.status is S.CANCELED
    finally:
        await fresh.close()
    # A place of an attempt the venue already holds (409): the earlier send got through.
    fresh = make_adapter(sim, nonce=bt.rest.nonce)
    try:
        dup = await fresh.place(o)
        assert dup.venue_order_id == second.venue_order_id and dup.client_id == "strategy-7-r2"
    finally:
        await fresh.close()
    assert [code for _, _, code, _ in sim.exchange.rejected] == ["duplicate_client_id"]


async def test_fills_of_an_attempt_carry_its_id(
    bt: BlockTradeAdapter, sim: RunningSimulator
) -> None:
    _, ask = touch(sim)
    o = order(Side.BUY, "0.001", ask + 1, cid="strategy-8")
    o.attempt = 3
    await bt.place(o)
    fills = await bt.user_trades(None)
    assert fills and {f.client_id for f in fills} == {"strategy-8-r3"}
    assert sim.exchange.rejected == []


async def test_post_only_policy(sim: RunningSimulator, bt: BlockTradeAdapter) -> None:
    with pytest.raises(InvalidRequest, match="post-only"):
        await bt.place(order(Side.BUY, "0.01", touch(sim)[0] - 100, post_only=True))
    assert sim.exchange.by_client == {}  # refused before anything was sent
    sender = make_adapter(sim, post_only="send")
    try:
        vo = await sender.place(order(Side.BUY, "0.01", touch(sim)[0] - 100, post_only=True))
        assert vo.status is S.OPEN
    finally:
        await sender.close()


async def test_without_customer_order_ids_find_order_matches(sim: RunningSimulator) -> None:
    bt = make_adapter(sim, use_customer_order_id=False)
    try:
        o = passive_buy(sim, size="0.03")
        vo = await bt.place(o)
        # The venue assigned its own (UUID) customer order id.
        assert o.client_id not in sim.exchange.by_client
        assert (await bt.find_order(o)).venue_order_id == vo.venue_order_id  # type: ignore[union-attr]
        await bt.place(passive_buy(sim, size="0.04"))  # a different order: never matched
    finally:
        await bt.close()
    restarted = make_adapter(sim, use_customer_order_id=False)
    try:
        found = await restarted.find_order(o)
        assert found is not None and found.venue_order_id == vo.venue_order_id
        assert found.client_id == o.client_id
        assert await restarted.find_order(passive_buy(sim, size="0.05")) is None
    finally:
        await restarted.close()


# ----- refusals --------------------------------------------------------------------------------


async def test_venue_refusals_are_typed_with_the_venue_reason(
    bt: BlockTradeAdapter, sim: RunningSimulator
) -> None:
    bid, _ = touch(sim)
    with pytest.raises(OrderRejected) as small:
        await bt.place(order(Side.BUY, "0.0001", bid - 100))  # ~3 USDT < 10 USDT
    assert small.value.status == 400 and "minimal order value" in small.value.reason
    assert not small.value.ambiguous

    with pytest.raises(OrderRejected, match="tick size"):
        await bt.place(order(Side.BUY, "0.01", bid - D("0.005")))

    with pytest.raises(InsufficientFunds):
        await bt.place(order(Side.SELL, "25", bid + 100))  # the account holds 20 BTC
    with pytest.raises(NotFound):
        await bt.cancel(
            Order("nope", SYMBOL, Side.BUY, OrderType.LIMIT, D(1), D(1), venue_order_id="1")
        )
    codes = [code for _, _, code, _ in sim.exchange.rejected]
    assert codes == ["below_min_notional", "invalid_price", "insufficient_funds", "order_not_found"]


async def test_cancel_of_a_closed_order_is_refused(
    bt: BlockTradeAdapter, sim: RunningSimulator
) -> None:
    o = await taker_buy(bt, sim, "0.001")
    with pytest.raises(InvalidRequest) as err:
        await bt.cancel(o)
    assert err.value.status == 422 and "can not be cancelled" in err.value.message


async def test_bad_signature_is_an_auth_error(sim: RunningSimulator) -> None:
    bad = make_adapter(sim, api_secret="not-the-secret")
    try:
        with pytest.raises(AuthError) as err:
            await bad.connect()  # the portfolio lookup is signed
        assert err.value.status == 401 and "signature" in err.value.message.lower()
    finally:
        await bad.close()
    bad = make_adapter(sim, api_secret="not-the-secret", portfolio_id=916)
    try:
        with pytest.raises(AuthError, match=r"(?i)signature"):
            await bad.place(passive_buy(sim))
    finally:
        await bad.close()
    assert sim.exchange.by_client == {}


async def test_a_nonce_behind_the_venue_jumps_past_what_the_venue_last_saw(
    sim: RunningSimulator,
) -> None:
    ahead = make_adapter(sim, nonce=ClockNonce(last=10**15))
    try:
        await ahead.balances()
    finally:
        await ahead.close()
    behind = make_adapter(sim, portfolio_id=916)  # ms nonces: far below 10**15
    try:
        await behind.balances()  # refused once, then signed past the venue's last nonce
        assert behind.rest.nonce.last > 10**15
    finally:
        await behind.close()


async def test_concurrent_private_calls_keep_nonces_in_order(
    bt: BlockTradeAdapter, sim: RunningSimulator
) -> None:
    orders = [passive_buy(sim) for _ in range(8)]
    await asyncio.gather(*(bt.place(o) for o in orders), bt.balances(), bt.open_orders())
    assert len(sim.exchange.open_orders()) == 8 and sim.exchange.rejected == []


async def test_5xx_is_ambiguous_and_the_order_is_found(
    bt: BlockTradeAdapter, sim: RunningSimulator
) -> None:
    # The venue acted, then failed: the order exists although the reply was a 5xx.
    sim.set_faults(fail_next=1, fail_after_probability=1.0)
    acted = passive_buy(sim)
    with pytest.raises(VenueUnavailable) as err:
        await bt.place(acted)
    assert err.value.ambiguous and err.value.status in (500, 502, 503)
    found = await bt.find_order(acted)
    assert found is not None and found.status is S.OPEN

    # Failed before acting: the lookup proves it absent.
    sim.set_faults(fail_next=1, fail_after_probability=0.0)
    absent = passive_buy(sim)
    with pytest.raises(VenueError) as err2:
        await bt.place(absent)
    assert err2.value.ambiguous
    assert await bt.find_order(absent) is None


async def test_stalls_are_timeouts(sim: RunningSimulator) -> None:
    bt = make_adapter(sim, request_timeout_s=0.3)
    try:
        await bt.connect()
        sim.set_faults(stall_next=1, stall_s=0.6)
        with pytest.raises(asyncio.TimeoutError):
            await bt.balances()
        await asyncio.sleep(0.4)
        assert await bt.balances()  # the next call is fine
    finally:
        await bt.close()


# ----- user trades ----------------------------------------------------------------------------


async def test_user_trades_since_is_inclusive_with_boundary_duplicates(
    bt: BlockTradeAdapter, sim: RunningSimulator
) -> None:
    for _ in range(3):
        await taker_buy(bt, sim)
        await asyncio.sleep(0.005)
    every = await bt.user_trades(None)
    assert len(every) == len(sim.exchange.trades) and all(f.client_id for f in every)
    assert [f.ts_ns for f in every] == sorted(f.ts_ns for f in every)
    first_ms = every[0].ts_ns // MS
    boundary = next(f for f in every if f.ts_ns // MS > first_ms + 2)
    since = await bt.user_trades(boundary.ts_ns + 500_000)  # inside the trade's millisecond
    ids = {f.trade_id for f in since}
    assert ids >= {f.trade_id for f in every if f.ts_ns >= boundary.ts_ns}  # inclusive
    assert every[0].trade_id not in ids
    assert await bt.user_trades(every[-1].ts_ns + 10 * MS) == []
    assert await bt.user_trades(None, "ETH/BTC") == []


async def test_user_trades_page(sim: RunningSimulator) -> None:
    bt = make_adapter(sim, page_size=2)
    try:
        for _ in range(3):
            await taker_buy(bt, sim)
        fills = await bt.user_trades(None)
        assert len(sim.exchange.trades) > 2  # more than one page
        assert len(fills) == len(sim.exchange.trades) == len({f.trade_id for f in fills})
    finally:
        await bt.close()


async def test_user_trade_stream_replays_then_streams(
    bt: BlockTradeAdapter, sim: RunningSimulator
) -> None:
    await taker_buy(bt, sim)
    stream = bt.user_trade_stream(None)
    assert stream is not None
    extra = taker_buy_later(bt, sim)
    await asyncio.sleep(0)
    fills: list[Fill] = await collect(
        stream, lambda got: extra.done() and len(got) == len(sim.exchange.trades)
    )
    await extra
    assert sorted(f.trade_id for f in fills) == sorted(
        f.trade_id for f in await bt.user_trades(None)
    )
    assert all(f.client_id for f in fills)


async def test_user_trade_stream_survives_drops_and_duplicates(
    framed_sim: RunningSimulator,
) -> None:
    sim = framed_sim
    bt = make_adapter(sim, reconnect_backoff_s=(0.05, 0.2))
    try:
        await bt.connect()
        sim.set_faults(duplicate_rate=1.0, reorder_rate=1.0, drop_ws_every_s=0.4)
        stream = bt.user_trade_stream(None)
        assert stream is not None

        async def trade_on() -> None:
            for _ in range(4):
                await taker_buy(bt, sim)
                await asyncio.sleep(0.25)

        producer = asyncio.ensure_future(trade_on())
        await asyncio.sleep(0)
        fills = await collect(
            stream,
            lambda got: producer.done() and len(got) >= len(sim.exchange.trades),
            timeout_s=6,
        )
        await producer
        ids = [f.trade_id for f in fills]
        assert len(ids) == len(set(ids)) == len(sim.exchange.trades)  # each once, none lost
        assert bt.ws.connections >= 2  # it did reconnect (and resumed)
    finally:
        await bt.close()


async def test_user_trade_stream_with_the_rest_token(sim: RunningSimulator) -> None:
    bt = make_adapter(sim, ws_auth="token")
    try:
        await taker_buy(bt, sim)
        stream = bt.user_trade_stream(None)
        assert stream is not None
        fills = await collect(stream, lambda got: len(got) == len(sim.exchange.trades))
        assert all(f.client_id for f in fills)
    finally:
        await bt.close()


async def test_a_private_channel_without_authentication_is_refused(sim: RunningSimulator) -> None:
    rest = BlockTradeRest(sim.base_url)
    await rest.open()
    try:
        ws = BlockTradeWebsocket(ws_url_for(sim.base_url, sim.ws_url), rest)

        async def subs() -> list[dict[str, Any]]:
            return [{"subscribe_user_trades": {}}]

        with pytest.raises(AuthError, match="Unauthenticated"):
            async for _ in ws.stream(subs):
                pass
    finally:
        await rest.close()


# ----- market data -----------------------------------------------------------------------------


async def test_market_stream_snapshot_then_deltas(
    bt: BlockTradeAdapter, sim: RunningSimulator
) -> None:
    events = await collect(
        bt.market_stream([SYMBOL]),
        lambda got: (
            sum(isinstance(e, BookDelta) for e in got) >= 2
            and any(isinstance(e, Trade) for e in got)
        ),
        step=sim.exchange.step,
    )
    books = [e for e in events if isinstance(e, BookSnapshot | BookDelta)]
    assert isinstance(books[0], BookSnapshot) and books[0].symbol == SYMBOL
    assert all(isinstance(b, BookDelta) for b in books[1:])
    assert books[0].bids[0][0] < books[0].asks[0][0]
    assert any(isinstance(e, Ticker) and e.bid is not None for e in events)
    trade = next(e for e in events if isinstance(e, Trade))
    assert trade.symbol == SYMBOL and trade.price > 0 and trade.trade_id


async def test_market_stream_reconnects_with_a_fresh_snapshot(sim: RunningSimulator) -> None:
    bt = make_adapter(sim, reconnect_backoff_s=(0.05, 0.2))
    try:
        sim.set_faults(drop_ws_every_s=0.3)
        events = await collect(
            bt.market_stream([SYMBOL]),
            lambda got: sum(isinstance(e, BookSnapshot) for e in got) >= 2,
            step=sim.exchange.step,
        )
        books = [e for e in events if isinstance(e, BookSnapshot | BookDelta)]
        assert isinstance(books[0], BookSnapshot)
        # A full book comes once per connection, and every later message is a delta.
        snapshots = sum(isinstance(b, BookSnapshot) for b in books)
        assert 2 <= snapshots <= bt.ws.connections
        assert any(isinstance(b, BookDelta) for b in books)
    finally:
        await bt.close()


async def test_keepalive_pings_hold_an_idle_session_open() -> None:
    async with running_simulator("blocktrade", run_market=False, ws_idle_timeout_s=0.4) as sim:
        sim.exchange.step()
        alive = make_adapter(sim, heartbeat_s=0.1)
        silent = make_adapter(sim, heartbeat_s=None, reconnect_backoff_s=(0.05, 0.1))
        try:
            # Book subscriptions with no market moves: after the snapshot, silence.
            results = await asyncio.gather(_count_connections(alive), _count_connections(silent))
            assert results[0] == 1  # pings kept it open
            assert results[1] >= 2  # the server closed the idle one; it reconnected
        finally:
            await alive.close()
            await silent.close()


async def _count_connections(adapter: BlockTradeAdapter) -> int:
    stream = adapter.market_stream([SYMBOL])
    with pytest.raises(asyncio.TimeoutError):
        await collect(stream, lambda got: False, timeout_s=1.2)
    return adapter.ws.connections


# ----- the wire protocol ---------------------------------------------------------------------


async def test_wire_format_signed_body_and_replies(sim: RunningSimulator) -> None:
    """What goes over the wire: signed JSON with string numbers; 202 with no body; errors
    as {"message": ...}."""
    nonce = ClockNonce()
    async with aiohttp.ClientSession() as http:
        bid, _ = touch(sim)
        body = json_body(
            {
                "customer_order_id": "wire-1",
                "portfolio_id": 916,
                "direction": "BUY",
                "type": "LIMIT",
                "trading_pair_id": 1,
                "amount": D("0.01"),
                "price": bid - 100,
                "time_in_force": "GTC",
            }
        )
        assert '"amount":"0.01"' in body
        headers = sign_headers(DEFAULT_API_KEY, DEFAULT_API_SECRET, nonce.next(), body)
        async with http.post(
            f"{sim.base_url}/api/v1/customer_orders",
            data=body,
            headers={**headers, "Content-Type": "application/json"},
        ) as r:
            assert r.status == 200
            ack = await r.json()
        assert set(ack) == {"id", "customer_order_id"} and ack["customer_order_id"] == "wire-1"

        headers = sign_headers(DEFAULT_API_KEY, DEFAULT_API_SECRET, nonce.next(), None)
        async with http.post(
            f"{sim.base_url}/api/v1/orders/{ack['id']}/cancel", headers=headers
        ) as r:
            assert r.status == 202 and await r.read() == b""

        # The document's example sends the price as a number: accepted too.
        body = json.dumps(
            {
                "customer_order_id": 2,
                "portfolio_id": 916,
                "direction": "SELL",
                "type": "LIMIT",
                "trading_pair_id": 1,
                "amount": "0.01",
                "price": 99999,
            }
        )
        headers = sign_headers(DEFAULT_API_KEY, DEFAULT_API_SECRET, nonce.next(), body)
        async with http.post(
            f"{sim.base_url}/api/v1/customer_orders", data=body, headers=headers
        ) as r:
            assert r.status == 200 and (await r.json())["customer_order_id"] == "2"

        # Signed over a different body than the one sent.
        headers = sign_headers(DEFAULT_API_KEY, DEFAULT_API_SECRET, nonce.next(), "{}")
        async with http.post(
            f"{sim.base_url}/api/v1/customer_orders", data=body, headers=headers
        ) as r:
            assert r.status == 401 and await r.json() == {"message": "Invalid signature"}

        async with http.get(f"{sim.base_url}/api/v1/ticker/99") as r:
            assert r.status == 404 and await r.json() == {"message": "Trading pair not found"}
