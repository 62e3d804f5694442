"""ALP.COM adapter against the ALP simulator, over real loopback HTTP.

Nothing is patched: the adapter speaks ALP's protocol to ``botkit.simulator.alp``
and the simulated exchange is the ground truth. The market only moves when a
test steps it (``run_market=False``). Private-call spacing is turned off here for
speed, except where the documented rate limit itself is under test.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest

from botkit.events import BookSnapshot, Trade
from botkit.model import Fill, Liquidity, Order, OrderStatus, OrderType, Side, TimeInForce
from botkit.simulator.alp import DEFAULT_API_KEY, DEFAULT_API_SECRET
from botkit.simulator.server import RunningSimulator, running_simulator
from botkit.venues.alp import AlpAdapter, parsing
from botkit.venues.alp.auth import sign, sign_headers
from botkit.venues.alp.rest import AlpRest
from botkit.venues.kit.adapter import Connection
from botkit.venues.kit.errors import (
    AuthError,
    InsufficientFunds,
    InvalidRequest,
    NotFound,
    OrderRejected,
    RateLimited,
    VenueUnavailable,
)
from botkit.venues.kit.nonce import ClockNonce, NonceSource
from botkit.venues.kit.parsing import json_body
from botkit.venues.kit.rest import KeyPair
from botkit.venues.kit.types import AssetBalance

D = Decimal
S = OrderStatus
SYMBOL = "BTC/USDT"
PAIR = "BTC_USDT"
TICK = D("0.01")


def connection(
    base_url: str,
    *,
    api_key: str | None = DEFAULT_API_KEY,
    api_secret: str | None = DEFAULT_API_SECRET,
    nonce: NonceSource | None = None,
    symbols: list[str] | None = None,
    **options: Any,
) -> Connection:
    """What the node builds from bot.yaml: the URL, the credentials, ``venue.options``."""
    credentials = {"api_key": api_key, "api_secret": api_secret}
    return Connection(
        base_url,
        credentials={k: v for k, v in credentials.items() if v is not None},
        options=options,
        nonce=nonce,
        symbols=None if symbols is None else tuple(symbols),
    )


def make_adapter(sim: RunningSimulator, **options: Any) -> AlpAdapter:
    """The adapter on ``sim``, its private-call spacing off (the rate tests set it)."""
    options.setdefault("min_request_interval_s", 0)
    return AlpAdapter(connection(sim.base_url, **options))


def rest_for(base_url: str, **kw: Any) -> AlpRest:
    """ALP's REST client alone, unspaced, with the simulator's credentials."""
    return AlpRest(base_url, KeyPair.of(DEFAULT_API_KEY, DEFAULT_API_SECRET), spacing_s=0, **kw)


@asynccontextmanager
async def venue(**sim_options: Any) -> AsyncIterator[tuple[RunningSimulator, AlpAdapter]]:
    adapter_options = sim_options.pop("adapter", {})
    async with running_simulator("alp", run_market=False, **sim_options) as sim:
        sim.exchange.step()
        adapter = make_adapter(sim, **adapter_options)
        await adapter.connect()
        try:
            yield sim, adapter
        finally:
            await adapter.close()


@pytest.fixture
async def alp() -> AsyncIterator[tuple[RunningSimulator, AlpAdapter]]:
    async with venue() as pair:
        yield pair


def touch(sim: RunningSimulator) -> tuple[Decimal, Decimal]:
    book = sim.exchange.books[PAIR]
    assert book.best_bid is not None and book.best_ask is not None
    return D(repr(book.best_bid)), D(repr(book.best_ask))


def order(
    cid: str,
    side: Side,
    size: str | Decimal,
    price: Decimal | None,
    type: OrderType = OrderType.LIMIT,
    tif: TimeInForce = TimeInForce.GTC,
    **kw: Any,
) -> Order:
    return Order(cid, SYMBOL, side, type, D(size), price, tif, created_ns=time.time_ns(), **kw)


async def placed(adapter: AlpAdapter, o: Order) -> Order:
    vo = await adapter.place(o)
    o.venue_order_id = vo.venue_order_id
    o.status = vo.status
    return o


def step_until(sim: RunningSimulator, o: Order, done: Any, limit: int = 3000) -> None:
    target = sim.exchange.by_client[o.client_id]
    for _ in range(limit):
        if done(target):
            return
        sim.exchange.step()
    raise AssertionError("the market never got there")


# ----- instruments, account --------------------------------------------------------------


async def test_instruments_carry_the_pairs_rules_and_fee_rates(alp: Any) -> None:
    sim, adapter = alp
    instruments = await adapter.instruments()
    assert set(instruments) == {"BTC/USDT", "ETH/USDT"}
    btc = instruments[SYMBOL]
    assert (btc.symbol, btc.base, btc.quote) == (SYMBOL, "BTC", "USDT")
    assert (btc.tick_size, btc.lot_size) == (D("0.01"), D("0.0001"))
    assert (btc.min_size, btc.max_size) == (D("0.0001"), D("100"))
    assert (btc.maker_fee, btc.taker_fee) == (D("0.001"), D("0.002"))  # from /api/v3/feeinfo
    only = make_adapter(sim, symbols=["ETH/USDT"], load_fees=False)
    try:
        assert list(await only.instruments()) == ["ETH/USDT"]
        assert (await only.instruments())["ETH/USDT"].maker_fee == 0
    finally:
        await only.close()


async def test_balances_are_totals_and_positions_empty(alp: Any) -> None:
    sim, adapter = alp
    bid, _ = touch(sim)
    await placed(adapter, order("lock", Side.BUY, "1", bid - 100 * TICK))
    balances = await adapter.balances()
    assert balances == {k: v for k, v in sim.exchange.balances.items()}  # locked funds included
    assert await adapter.positions() == {}
    assert adapter.user_trade_stream(None) is None
    assert sim.exchange.rejected == []


# ----- orders ---------------------------------------------------------------------------


async def test_place_list_find_cancel(alp: Any) -> None:
    sim, adapter = alp
    bid, _ = touch(sim)
    o = order("c-1", Side.BUY, "0.5", bid - 20 * TICK)
    vo = await adapter.place(o)
    assert (vo.status, vo.client_id, vo.symbol, vo.size) == (S.OPEN, "c-1", SYMBOL, D("0.5"))
    venue_order = sim.exchange.by_client["c-1"]
    assert venue_order.venue_order_id == f"alp-{vo.venue_order_id}"
    # The v3 list does not echo client ids (the document's example): the adapter knows.
    (listed,) = await adapter.open_orders(SYMBOL)
    assert (listed.venue_order_id, listed.client_id, listed.symbol) == (
        vo.venue_order_id,
        "c-1",
        SYMBOL,
    )
    assert await adapter.open_orders("ETH/USDT") == []
    found = await adapter.find_order(o)  # by the id the place reply gave
    assert found is not None and found.venue_order_id == vo.venue_order_id
    assert (found.price, found.size, found.status) == (bid - 20 * TICK, D("0.5"), S.OPEN)
    o.venue_order_id = vo.venue_order_id
    await adapter.cancel(o)
    assert venue_order.status is S.CANCELED
    with pytest.raises(OrderRejected) as refused:  # 204: nothing left to cancel
        await adapter.cancel(o)
    assert refused.value.definite
    gone = await adapter.find_order(o)
    assert gone is not None and gone.status is S.CANCELED
    assert await adapter.open_orders() == []
    assert sim.exchange.rejected == []


async def test_find_order_without_memory_matches_fields_or_the_echoed_id() -> None:
    for echo in (False, True):
        # Two identical live orders on purpose: the twin rule is switched off here.
        async with venue(echo_client_order_id=echo, adapter={"twin_orders": "allow"}) as (
            sim,
            adapter,
        ):
            bid, _ = touch(sim)
            o = order("c-9", Side.BUY, "0.3", bid - 30 * TICK)
            twin = order("c-8", Side.BUY, "0.3", bid - 30 * TICK)
            await placed(adapter, twin)
            await placed(adapter, o)
            # A restart with no memory of orders; the nonce comes back from the journal.
            fresh = make_adapter(sim, nonce=ClockNonce(adapter.nonce.last), twin_orders="allow")
            try:
                lookup = order("c-9", Side.BUY, "0.3", bid - 30 * TICK)
                lookup.created_ns = o.created_ns
                found = await fresh.find_order(lookup)
                assert found is not None and found.client_id == "c-9"
                # Without the echo, the earliest unclaimed twin is taken; with it, the right one.
                if echo:
                    assert found.venue_order_id == o.venue_order_id
                missing = order("c-7", Side.SELL, "0.3", bid + 30 * TICK)
                assert await fresh.find_order(missing) is None
            finally:
                await fresh.close()
            assert sim.exchange.rejected == []


async def test_cancel_and_replace_sends_a_fresh_client_order_id(alp: Any) -> None:
    sim, adapter = alp
    bid, _ = touch(sim)
    o = await placed(adapter, order("keep", Side.BUY, "0.2", bid - 40 * TICK))
    first = o.venue_order_id
    await adapter.cancel(o)
    # What the router does: same client id, the next attempt, new price, no venue id.
    o.price, o.venue_order_id, o.status = bid - 41 * TICK, None, S.PENDING_EDIT
    o.attempt = 2
    vo = await adapter.place(o)
    # The attempt's own id goes to the venue and comes back verbatim (the router maps it).
    assert vo.venue_order_id != first and vo.client_id == "keep-r2"
    assert sim.exchange.rejected == []  # no duplicate client_order_id
    sent = [c for c in sim.exchange.by_client if c.startswith("keep")]
    assert sent == ["keep", "keep-r2"]
    o.venue_order_id = vo.venue_order_id
    found = await adapter.find_order(o)
    assert found is not None and found.price == bid - 41 * TICK and found.client_id == "keep-r2"
    (listed,) = await adapter.open_orders()
    assert listed.client_id == "keep-r2"


async def test_cancel_all_by_pair_and_everything(alp: Any) -> None:
    sim, adapter = alp
    bid, _ = touch(sim)
    await placed(adapter, order("a", Side.BUY, "0.1", bid - 50 * TICK))
    await placed(adapter, order("b", Side.BUY, "0.1", bid - 51 * TICK))
    eth = Order("e", "ETH/USDT", Side.BUY, OrderType.LIMIT, D("1"), D("100"))
    await adapter.place(eth)
    await adapter.cancel_all(SYMBOL)
    assert [o.client_id for o in sim.exchange.open_orders()] == ["e"]
    await adapter.cancel_all()
    await adapter.cancel_all()  # 204: nothing to cancel is not an error
    assert sim.exchange.open_orders() == []
    assert sim.exchange.rejected == []


async def test_ioc_and_market_orders_are_read_back_on_request(alp: Any) -> None:
    sim, quick = alp
    bid, _ = touch(sim)
    plain = await quick.place(order("ioc0", Side.BUY, "0.1", bid - 10 * TICK, tif=TimeInForce.IOC))
    assert plain.status is S.OPEN  # from the reply alone; the venue already closed it
    adapter = make_adapter(sim, read_back=True, nonce=quick.nonce)  # one key, one nonce source
    try:
        ioc = await adapter.place(
            order("ioc", Side.BUY, "0.1", bid - 10 * TICK, tif=TimeInForce.IOC)
        )
        assert ioc.status is S.CANCELED and ioc.filled == 0
        market = await adapter.place(order("mkt", Side.BUY, "0.001", None, OrderType.MARKET))
        assert market.status is S.FILLED and market.filled == D("0.001")
    finally:
        await adapter.close()
    assert sim.exchange.rejected == []


async def test_post_only_policy() -> None:
    async with venue() as (sim, adapter):
        bid, _ = touch(sim)
        with pytest.raises(InvalidRequest) as refused:
            await adapter.place(order("po", Side.BUY, "0.1", bid - TICK, post_only=True))
        assert refused.value.code == "post_only_not_allowed"
        assert sim.exchange.by_client == {}  # nothing was sent
    async with venue(adapter={"post_only": "send"}) as (sim, adapter):
        bid, _ = touch(sim)
        vo = await adapter.place(order("po", Side.BUY, "0.1", bid - TICK, post_only=True))
        assert vo.status is S.OPEN


async def test_venue_refusals_are_typed_with_the_venue_reason(alp: Any) -> None:
    sim, adapter = alp
    _, ask = touch(sim)
    with pytest.raises(InsufficientFunds, match="Insufficient funds"):
        await adapter.place(order("big", Side.BUY, "99", ask * 10))
    with pytest.raises(OrderRejected, match="greater than maximum order size") as err:
        await adapter.place(order("huge", Side.SELL, "1000", ask))
    assert err.value.status == 400 and err.value.definite
    with pytest.raises(InvalidRequest, match="Invalid price"):
        await adapter.place(order("tick", Side.BUY, "0.1", ask - D("0.001")))
    with pytest.raises(NotFound):
        await adapter.place(Order("x", "DOGE/USDT", Side.BUY, OrderType.LIMIT, D(1), D(1)))
    codes = [code for _, _, code, _ in sim.exchange.rejected]
    assert codes == ["insufficient_funds", "above_max_size", "invalid_price"]
    assert await adapter.open_orders() == []


async def test_a_reused_client_order_id_is_ambiguous(alp: Any) -> None:
    sim, adapter = alp
    bid, _ = touch(sim)
    await adapter.place(order("dup", Side.BUY, "0.1", bid - 60 * TICK))
    other = make_adapter(sim)  # knows nothing, so it sends "dup" again
    try:
        with pytest.raises(Exception) as err:
            await other.place(order("dup", Side.BUY, "0.1", bid - 61 * TICK))
        assert getattr(err.value, "ambiguous", False)  # Conflict: the order may be ours
    finally:
        await other.close()


# ----- fills -------------------------------------------------------------------------------


async def test_partial_then_full_fill_through_user_trades(alp: Any) -> None:
    sim, adapter = alp
    bid, _ = touch(sim)
    o = await placed(adapter, order("f-1", Side.BUY, "2", bid))
    start = time.time_ns()
    step_until(sim, o, lambda v: v.filled > 0)
    venue_order = sim.exchange.by_client["f-1"]
    fills = await adapter.user_trades(start)
    assert sum(f.size for f in fills) == venue_order.filled
    step_until(sim, o, lambda v: v.filled >= v.size)
    fills = await adapter.user_trades(start)
    truth = sim.exchange.trades
    assert len(fills) == len(truth)
    assert sorted((f.price, f.size, f.fee, f.liquidity) for f in fills) == sorted(
        (t.price, t.size, t.fee, t.liquidity) for t in truth
    )
    assert {(f.client_id, f.venue_order_id, f.symbol) for f in fills} == {
        ("f-1", o.venue_order_id, SYMBOL)
    }
    assert all(f.fee_asset == "USDT" and f.liquidity is Liquidity.MAKER for f in fills)
    assert len({f.trade_id for f in fills}) == len(fills)
    found = await adapter.find_order(o)
    assert found is not None and found.status is S.FILLED and found.filled == D("2")
    assert sim.exchange.rejected == []


async def test_user_trades_since_is_inclusive_and_repeats_at_the_boundary(alp: Any) -> None:
    sim, adapter = alp
    _, ask = touch(sim)
    await adapter.place(order("t-1", Side.BUY, "0.05", ask + 5 * TICK))  # takes at once
    first = await adapter.user_trades(None)
    assert first and all(f.client_id == "t-1" for f in first)
    boundary = max(f.ts_ns for f in first)
    again = await adapter.user_trades(boundary)
    assert {f.trade_id for f in again} == {f.trade_id for f in first if f.ts_ns >= boundary}
    assert all(f.ts_ns >= boundary for f in again)
    assert await adapter.user_trades(boundary + 1) == []
    assert await adapter.user_trades(None, "ETH/USDT") == []
    # A cursor far in the past is read in 30-day windows (the venue's limit), without error.
    old = await adapter.user_trades(time.time_ns() - 70 * 86_400 * 10**9)
    assert {f.trade_id for f in old} == {f.trade_id for f in first}
    assert sim.exchange.rejected == []


async def test_identical_executions_of_twin_orders_are_two_fills() -> None:
    # Identical orders are refused by default (the twin rule, test_alp_fills); with the
    # rule off, identical executions are still two fills and the totals are exact.
    async with venue(adapter={"twin_orders": "allow"}) as (sim, adapter):
        await _twin_fills(sim, adapter)


async def _twin_fills(sim: RunningSimulator, adapter: AlpAdapter) -> list[Fill]:
    """Two identical orders fill completely: two orders' fills, each total exact."""
    bid, _ = touch(sim)
    a = await placed(adapter, order("twin-a", Side.BUY, "0.1", bid - 3 * TICK))
    b = await placed(adapter, order("twin-b", Side.BUY, "0.1", bid - 3 * TICK))
    step_until(
        sim, a, lambda v: v.filled >= v.size and sim.exchange.by_client["twin-b"].filled >= v.size
    )
    fills = await adapter.user_trades(None)
    assert len(fills) == len(sim.exchange.trades)
    assert len({f.trade_id for f in fills}) == len(fills)
    by_order: dict[str, Decimal] = {}
    for f in fills:
        by_order[f.client_id] = by_order.get(f.client_id, D(0)) + f.size
    assert by_order == {"twin-a": D("0.1"), "twin-b": D("0.1")}
    assert {f.venue_order_id for f in fills} == {a.venue_order_id, b.venue_order_id}
    return fills


async def test_fills_go_to_the_live_order_not_a_cancelled_twin(alp: Any) -> None:
    sim, adapter = alp
    bid, _ = touch(sim)
    old = await placed(adapter, order("grid-1", Side.BUY, "0.1", bid - 3 * TICK))
    await adapter.cancel(old)
    new = await placed(adapter, order("grid-2", Side.BUY, "0.1", bid - 3 * TICK))
    step_until(sim, new, lambda v: v.filled >= v.size)
    fills = await adapter.user_trades(None)
    assert fills and {(f.client_id, f.venue_order_id) for f in fills} == {
        ("grid-2", new.venue_order_id)
    }


async def test_a_restarted_adapter_learns_the_orders_behind_trades() -> None:
    for ids in (False, True):
        async with venue(trade_order_ids=ids) as (sim, adapter):
            _, ask = touch(sim)
            o = await placed(adapter, order("r-1", Side.BUY, "0.02", ask + 5 * TICK))
            fresh = make_adapter(sim)
            try:
                fills = await fresh.user_trades(None)
            finally:
                await fresh.close()
            assert fills and {f.venue_order_id for f in fills} == {o.venue_order_id}
            # The client id is known only where the venue names it.
            assert {f.client_id for f in fills} == ({"r-1"} if ids else {""})


# ----- market data ------------------------------------------------------------------------------


async def test_market_stream_polls_book_and_new_trades(alp: Any) -> None:
    sim, _ = alp
    adapter = make_adapter(sim, market_poll_s=0.02)
    try:
        stream = adapter.market_stream([SYMBOL])
        first = await asyncio.wait_for(anext(stream), 5)
        assert isinstance(first, BookSnapshot) and first.symbol == SYMBOL
        bid, ask = touch(sim)
        assert first.bids[0][0] == float(bid) and first.asks[0][0] == float(ask)
        seen_before = {t.id for t in sim.exchange.public_trades}
        trades: list[Trade] = []
        for _ in range(200):
            sim.exchange.step()
            event = await asyncio.wait_for(anext(stream), 5)
            if isinstance(event, Trade):
                trades.append(event)
            if len(trades) >= 3:
                break
        assert len(trades) >= 3 and all(t.symbol == SYMBOL for t in trades)
        ids = [int(t.trade_id) for t in trades]  # type: ignore[arg-type]
        assert ids == sorted(ids) and not set(ids) & seen_before
        await stream.aclose()
    finally:
        await adapter.close()


# ----- authentication, faults, limits ----------------------------------------------------


async def test_bad_credentials_are_auth_errors(alp: Any) -> None:
    sim, _ = alp
    bad = make_adapter(sim, api_secret="wrong", load_fees=False, account_id=25)
    try:
        with pytest.raises(AuthError, match="api-secret"):
            await bad.balances()
    finally:
        await bad.close()
    assert [what for _, what, _, _ in sim.exchange.rejected] == ["auth"]


async def test_a_nonce_behind_the_venue_is_re_signed_once(alp: Any) -> None:
    # Nonces belong to v1 signing (v3 has none in either document): a v1 private call.
    sim, _ = alp
    nonce = ClockNonce(last=5)
    sim.exchange.last_nonce[DEFAULT_API_KEY] = 10**15  # another process used the key
    rest = rest_for(sim.base_url, nonce=nonce)
    try:
        # Refused once ("must be greater than ..."), then accepted.
        assert (await rest.private("GET", "/api/v1/wallets/")).status == 200
        assert nonce.last > 10**15
    finally:
        await rest.close()
    assert [what for _, what, _, _ in sim.exchange.rejected] == ["auth"]


async def test_concurrent_private_calls_keep_nonces_in_order(alp: Any) -> None:
    sim, adapter = alp
    await asyncio.gather(*(adapter.balances() for _ in range(8)))
    assert sim.exchange.rejected == []


async def test_5xx_is_ambiguous_and_the_order_is_settled_by_lookup(alp: Any) -> None:
    sim, adapter = alp
    bid, _ = touch(sim)
    for i, (after, expect_found) in enumerate(((1.0, True), (0.0, False))):
        sim.set_faults(fail_next=1, fail_after_probability=after)
        o = order(f"amb-{after}", Side.BUY, "0.1", bid - (70 + i) * TICK)
        with pytest.raises(VenueUnavailable) as err:
            await adapter.place(o)
        assert err.value.ambiguous and err.value.status in (500, 502, 503)
        found = await adapter.find_order(o)
        assert (found is not None) is expect_found
        if found is not None:
            assert found.client_id == o.client_id and found.status is S.OPEN
            assert (
                f"alp-{found.venue_order_id}" == sim.exchange.by_client[o.client_id].venue_order_id
            )
    assert sim.exchange.rejected == []


async def test_stalls_surface_as_timeouts() -> None:
    async with venue(adapter={"request_timeout_s": 0.3}) as (sim, adapter):
        sim.set_faults(stall_next=1, stall_s=1.0)
        with pytest.raises(asyncio.TimeoutError):
            await adapter.balances()
        assert await adapter.balances()  # the next call is fine


async def test_the_documented_rate_limit() -> None:
    async with venue(rate_limit_per_s=2) as (sim, adapter):
        with pytest.raises(RateLimited) as err:
            for _ in range(4):
                await adapter.balances()
        assert err.value.retry_after and err.value.retry_after >= 1
    spaced = {"min_request_interval_s": 0.5, "rate_margin": 0}
    async with venue(rate_limit_per_s=2, adapter=spaced) as (sim, adapter):
        for _ in range(3):
            await adapter.balances()  # spaced 0.5 s apart: never throttled
        assert sim.exchange.rejected == []


async def test_signing_the_query_is_a_switch_on_both_sides() -> None:
    # Signing applies to v1 (the v3 sections sign no query): a v1 GET with filters.
    async with running_simulator("alp", run_market=False, sign_query_params=True) as sim:
        query = {"pair": PAIR, "status": 1}
        signed = rest_for(sim.base_url, sign_query_params=True)
        plain = rest_for(sim.base_url)
        try:
            assert (await signed.private("GET", "/api/v1/orders/own/", params=query)).body == []
            assert sim.exchange.rejected == []
            with pytest.raises(AuthError):
                await plain.private("GET", "/api/v1/orders/own/", params=query)
        finally:
            await signed.close()
            await plain.close()


# ----- the wire ----------------------------------------------------------------------------------


def test_parsing_the_documents_v3_account_examples() -> None:
    # The document's samples (its "#" comments dropped).
    fees = [
        {
            "name": "account name",
            "account_id": 25,
            "is_active": True,
            "currency": "USDT",
            "pair": "BTC_USDT",
            "taker_fee_rate": 0.02,
            "maker_fee_rate": 0.01,
            "fee_currency": "USDT",
            "priority": 1,
        }
    ]
    assert parsing.parse_feeinfo_v3(fees) == {"BTC_USDT": (D("0.01"), D("0.02"))}
    generic = {**fees[0], "pair": "", "maker_fee_rate": 0.5, "priority": 2}
    inactive = {**fees[0], "is_active": False, "maker_fee_rate": 0.7, "priority": 0}
    assert parsing.parse_feeinfo_v3([generic, inactive, *fees]) == {
        "BTC_USDT": (D("0.01"), D("0.02")),
        "": (D("0.5"), D("0.02")),
    }
    balances = [
        {
            "account_id": 25,
            "balance": 2000.0,
            "reserve": 500.0,
            "currency": "USDT",
            "pair": "BTC_USDT",
            "wallet_type": "SPOT",
            "last_update_at": "2022-10-06T08:28:06.801064-04:00",
        },
        {
            "account_id": 25,
            "balance": 1,
            "reserve": 0,
            "currency": "ETH",
            "wallet_type": "ISOLATED_MARGIN",
        },
    ]
    assert parsing.parse_balances_v3(balances) == {"USDT": D("2500.0")}
    assert parsing.parse_balances_v3(balances, reserve_is_extra=False) == {"USDT": D("2000.0")}
    # The free part: ``balance`` itself, or ``balance - reserve`` when it is the total.
    assert parsing.parse_balance_sheet_v3(balances) == {"USDT": AssetBalance(D("2500"), D("2000"))}
    assert parsing.parse_balance_sheet_v3(balances, reserve_is_extra=False) == {
        "USDT": AssetBalance(D("2000"), D("1500"))
    }
    accounts = [
        {"id": 26, "name": "sub", "email": "x", "id_parent": 25},
        {"id": 25, "name": "account name", "email": "x", "id_parent": 0},
    ]
    assert parsing.parse_accounts_v3(accounts) == [("26", "25"), ("25", None)]
    trade = {
        "date": "2022-10-06T08:28:06.801064-04:00",
        "status": "FILLED",
        "side": "BUY",
        "type": "LIMIT",
        "price": 23400.34,
        "amount": 0.05,
        "amount_unfilled": 0,
        "fee_rate": 0.001,
        "fee_amount": 1.170017,
        "is_maker": True,
        "account_id": 25,
        "currency": "USDT",
        "pair": "BTC_USDT",
        "fee_currency": "USDT",
        "wallet_type": "SPOT",
    }
    first, second = parsing.parse_account_trade_records_v3([trade, dict(trade)])
    assert (first.order_type, first.unfilled, first.order_status, first.is_maker) == (
        OrderType.LIMIT,
        D(0),
        "FILLED",
        True,
    )
    assert second.fill.trade_id == first.fill.trade_id + "#2"  # two executions, not one
    assert parsing.parse_account_trades_v3([trade])[0] == first.fill


def test_v3_bodies_carry_exact_numbers_and_sign_what_is_sent() -> None:
    body = {"limit_price": D("25750.45"), "base_amount": D("1E-8"), "order_ids": [1, 5]}
    text = json_body(body, decimals="number")  # the seed's JSON numbers
    assert text == '{"limit_price":25750.45,"base_amount":0.00000001,"order_ids":[1,5]}'
    decoded = json.loads(text, parse_float=D)
    assert sign("k", "s", body) == sign("k", "s", decoded)


async def test_wire_formats_v1_and_v3(alp: Any) -> None:
    sim, _ = alp
    rest = rest_for(sim.base_url + "/api/v1")
    try:
        bid, ask = touch(sim)
        # v1 create order: form body, signed fields, the document's reply shape.
        reply = await rest.private(
            "POST",
            "/api/v1/order/",
            body={"type": "buy", "pair": PAIR, "amount": D("0.01"), "price": ask + 20 * TICK},
            form=True,
        )
        body = reply.body
        assert body["success"] is True and body["type"] == "buy" and body["trades"]
        assert {"price", "amount", "tid", "o_id", "type"} <= set(body["trades"][0])
        oid = body["oid"]
        detail = (await rest.public(f"/api/v1/order/{oid}/")).body  # the example sends no auth
        assert detail["status"] == "3" and D(detail["amount_filled"]) == D("0.01")
        resting = (
            await rest.private(
                "POST",
                "/api/v1/order/",
                body={
                    "type": "sell",
                    "pair": PAIR,
                    "amount": "0.01",
                    "price": str(ask + 80 * TICK),
                },
                form=True,
            )
        ).body
        own = (await rest.private("GET", "/api/v1/orders/own/", params={"status": 1})).body
        assert [o["id"] for o in own] == [resting["oid"]] and own[0]["status"] == 1
        cancel = await rest.private(
            "POST", "/api/v1/order-cancel/", body={"order": resting["oid"]}, form=True
        )
        assert cancel.body == {"order": resting["oid"]}
        with pytest.raises(NotFound, match="not active"):
            await rest.private(
                "POST", "/api/v1/order-cancel/", body={"order": resting["oid"]}, form=True
            )
        wallets = (await rest.private("GET", "/api/v1/wallets/")).body
        assert {w["currency"] for w in wallets} == {"BTC", "ETH", "USDT"}
        mine = (await rest.private("GET", "/api/v1/exchanges/own/")).body
        assert mine and mine[0]["account_id"] == 25 and mine[0]["type"] == "buy"
        assert (await rest.private("GET", "/api/v1/deposits/")).body == []
        # Public v1.
        ticker = (await rest.public("/api/v1/ticker/", {"pair": PAIR})).body
        assert ticker[0]["buy"] == bid and ticker[0]["sell"] == ask
        assert {c["short_name"] for c in (await rest.public("/api/v1/currencies/")).body} == {
            "BTC",
            "ETH",
            "USDT",
        }
        book = (await rest.public(f"/api/v1/orderbook/{PAIR}", {"limit_buy": 2})).body
        assert len(book["buy"]) == 2
        chart = (await rest.public(f"/api/charts/{PAIR}/60/chart", {"limit": 1})).body
        assert len(chart) == 1 and {"open", "high", "low", "close", "volume", "time"} == set(
            chart[0]
        )
        # v3: 201 with the bare id; numbers exact; the 30-day window is enforced.
        created = await rest.private(
            "POST",
            "/api/v3/orders",
            body={
                "pair": PAIR,
                "order_side": "SELL",
                "order_type": "LIMIT",
                "tif": "GTC",
                "limit_price": ask + 90 * TICK,
                "base_amount": D("0.0100"),
                "client_order_id": "w",
            },
        )
        assert created.status == 201 and isinstance(created.body, int)
        listed = (await rest.private("GET", "/api/v3/orders", params={"open_only": True})).body
        assert listed[0]["id"] == created.body and listed[0]["status"] == "OPEN"
        assert "client_order_id" not in listed[0]
        assert listed[0]["price"] == ask + 90 * TICK and listed[0]["amount"] == D("0.01")
        with pytest.raises(InvalidRequest, match="30 days"):
            await rest.private(
                "GET",
                "/api/v3/orders",
                params={"start_time": "2024-01-01T00:00:00Z", "end_time": "2024-03-01T00:00:00Z"},
            )
        gone = await rest.private("DELETE", "/api/v3/orders", body={"order_ids": [created.body]})
        assert gone.status == 202
        again = await rest.private("DELETE", "/api/v3/orders", body={"order_ids": [created.body]})
        assert again.status == 204
        # An unsigned private call, and one signed over the wrong payload.
        async with rest.http.session.get(sim.base_url + "/api/v3/accounts") as resp:
            assert resp.status == 401
        headers = sign_headers(
            DEFAULT_API_KEY, DEFAULT_API_SECRET, rest.calls.nonce.next(), params={"order": 1}
        )
        async with rest.http.session.post(
            sim.base_url + "/api/v1/order-cancel/", data={"order": "2"}, headers=headers
        ) as resp:
            assert resp.status == 401 and "signature" in (await resp.text()).lower()
    finally:
        await rest.close()
    assert {what for _, what, _, _ in sim.exchange.rejected} == {"cancel", "orders", "auth"}
