"""BlockTrade against bad input: every parser fuzzed, bad rows skipped and counted,
market data with non-positive prices or sizes dropped, unknown shapes named.

Parser tests feed mutated documented payloads (missing fields, wrong types, huge,
negative and NaN numbers, deep nesting, bad UTF-8 on the wire) and accept nothing
but ``ParseError``. Adapter tests run over loopback against the BlockTrade
simulator, whose own record of the account is made to hold a row that cannot be
read (the way a venue's bug or a hostile proxy would hand one over).
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botkit.events import BookDelta, BookSnapshot, Ticker, Trade
from botkit.model import Fill, Instrument, Liquidity, OrderType, Side
from botkit.simulator.backend import PublicTrade
from botkit.simulator.server import RunningSimulator, running_simulator
from botkit.venues.blocktrade import BlockTradeAdapter
from botkit.venues.blocktrade import parsing as bt
from botkit.venues.kit.adapter import Connection
from botkit.venues.kit.errors import ParseError
from botkit.venues.kit.parsing import decode_json

from .test_blocktrade_adapter import (
    collect,
    make_adapter,
    order,
    taker_buy,
    taker_buy_later,
    touch,
)
from .test_parsing import (
    BT_ASSET_BTC,
    BT_ASSET_EUR,
    BT_ORDER,
    BT_ORDER_ACK,
    BT_ORDER_BOOK,
    BT_ORDERS,
    BT_PAIR,
    BT_TICKER,
    BT_TRADES,
    BT_USER_TRADE,
    BT_USER_TRADES,
    BT_WS_ORDER_BOOK,
    BT_WS_TICKER,
    BT_WS_TRADES,
    BT_WS_USER_ORDERS,
    BT_WS_USER_TRADES_FRAMED,
)

D = Decimal
SYMBOL = "BTC/USDT"
MARKETS = bt.parse_markets([BT_PAIR], [BT_ASSET_EUR, BT_ASSET_BTC])
BT_FEES = {  # GET /fees, the document's example with its placeholder keys made real
    "TRADING": {
        "2": {"min_fee": "0", "percent_value": "0.25"},
        "default": {"min_fee": "0.01", "percent_value": "0.2"},
    },
    "MINER_FEE": {"default": {"min_fee": "0", "percent_value": "0"}},
}


# ----- the generator ------------------------------------------------------------------------------

HOSTILE_NUMBERS = [
    "1e999999999999999999999",
    "-1e999999999999999999999",
    "1e-999999999999999999999",
    "-1",
    "0",
    "-0.00000001",
    "NaN",
    "Infinity",
    "9" * 400,
    10**400,
    -5,
    float("nan"),
    float("inf"),
    1e308,
    "",
    " ",
    "1_000",
    "0x10",
]


def nested(depth: int, leaf: object) -> object:
    """``leaf`` inside ``depth`` lists and objects (built by a loop: any depth)."""
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"data": value}
    return value


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(HOSTILE_NUMBERS)
    | st.sampled_from(["BUY", "SELL", "LIMIT", "NEW", "CANCELLED", "2022-10-06T08:28:06Z"])
)
json_like = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                sorted({*BT_ORDER, *BT_USER_TRADE, *BT_PAIR, "data", "payload", "bids"})
            )
            | st.text(max_size=5),
            children,
            max_size=5,
        )
    ),
    max_leaves=10,
)
deep = st.builds(nested, st.integers(min_value=30, max_value=300), scalars)


_DROP = object()  # a field left out


def variants(value: object) -> st.SearchStrategy[object]:
    """What one field of a documented payload may become."""
    return st.one_of(
        st.just(value),
        st.just(value),
        st.deferred(lambda: mutated(value)),
        json_like,
        deep,
        st.sampled_from([*HOSTILE_NUMBERS, _DROP]),
    )


@st.composite
def mutated(draw: st.DrawFn, value: object) -> object:
    """A documented payload with fields dropped, retyped, made hostile or nested deep."""
    if isinstance(value, dict):
        fields = {k: draw(variants(v)) for k, v in value.items()}
        return {k: v for k, v in fields.items() if v is not _DROP}
    if isinstance(value, list):
        kept = draw(st.lists(st.sampled_from(value), max_size=len(value) + 1)) if value else []
        return [draw(mutated(v)) for v in kept] + draw(st.lists(json_like, max_size=2))
    return draw(st.one_of(st.just(value), json_like, st.sampled_from(HOSTILE_NUMBERS)))


def payloads(example: object) -> st.SearchStrategy[object]:
    return st.one_of(mutated(example), json_like, deep)


# ----- every parser entry point -------------------------------------------------------------------

Parser = Callable[[Any], object]

PARSERS: list[tuple[str, Parser, object]] = [
    ("markets.pairs", lambda p: bt.parse_markets(p, [BT_ASSET_EUR, BT_ASSET_BTC]), [BT_PAIR]),
    ("markets.assets", lambda p: bt.parse_markets([BT_PAIR], p), [BT_ASSET_EUR, BT_ASSET_BTC]),
    (
        "markets.fees",
        lambda p: bt.parse_markets([BT_PAIR], [BT_ASSET_EUR, BT_ASSET_BTC], bt.parse_fees(p)),
        BT_FEES,
    ),
    ("fees", bt.parse_fees, BT_FEES),
    ("order", lambda p: bt.parse_order(p, MARKETS), BT_ORDER),
    ("orders", lambda p: bt.parse_orders(p, MARKETS), BT_ORDERS),
    ("orders.ws", lambda p: bt.parse_orders(p, MARKETS), BT_WS_USER_ORDERS),
    ("order_ack", bt.parse_order_ack, BT_ORDER_ACK),
    ("user_trades", lambda p: bt.parse_user_trades(p, MARKETS, page=True), BT_USER_TRADES),
    ("user_trades.bare", bt.parse_user_trades, BT_USER_TRADE),
    ("user_trades.framed", lambda p: bt.parse_user_trades(p, MARKETS), BT_WS_USER_TRADES_FRAMED),
    ("order_book", lambda p: bt.parse_order_book(p, "X", 0), BT_ORDER_BOOK),
    ("ticker", lambda p: bt.parse_ticker(p, "X", 0), BT_TICKER),
    ("trades", lambda p: bt.parse_trades(p, "X"), BT_TRADES),
    ("ws_type", bt.ws_message_type, BT_WS_TRADES),
    ("ws_book", lambda p: bt.parse_ws_order_book(p, MARKETS, 0, snapshot=True), BT_WS_ORDER_BOOK),
    ("ws_delta", lambda p: bt.parse_ws_order_book(p, MARKETS, 0, snapshot=False), BT_WS_ORDER_BOOK),
    ("ws_trades", lambda p: bt.parse_ws_trades(p, MARKETS), BT_WS_TRADES),
    ("ws_ticker", lambda p: bt.parse_ws_ticker(p, MARKETS, 0), BT_WS_TICKER),
    ("classify", lambda p: bt.classify_error(400, p), {"message": "Error message"}),
]

# The same entry points as the adapter calls them: rows that do not parse are skipped.
SKIPPING: list[tuple[str, Callable[[Any, Callable[[ParseError], None]], object], object]] = [
    ("user_trades", lambda p, s: bt.parse_user_trades(p, MARKETS, skip=s), BT_USER_TRADES),
    ("trades", lambda p, s: bt.parse_trades(p, "X", skip=s), BT_TRADES),
    ("order_book", lambda p, s: bt.parse_order_book(p, "X", 0, skip=s), BT_ORDER_BOOK),
    (
        "ws_book",
        lambda p, s: bt.parse_ws_order_book(p, MARKETS, 0, snapshot=True, skip=s),
        BT_WS_ORDER_BOOK,
    ),
    (
        "ws_delta",
        lambda p, s: bt.parse_ws_order_book(p, MARKETS, 0, snapshot=False, skip=s),
        BT_WS_ORDER_BOOK,
    ),
    ("ws_trades", lambda p, s: bt.parse_ws_trades(p, MARKETS, skip=s), BT_WS_TRADES),
    ("ws_ticker", lambda p, s: bt.parse_ws_ticker(p, MARKETS, 0, skip=s), BT_WS_TICKER),
]


def sound(result: object) -> None:
    """What comes out is well formed: positive market prices and sizes, sane fills."""
    items: list[Any] = list(result) if isinstance(result, list | tuple) else [result]
    if isinstance(result, bt.Markets):
        items = list(result.instruments)
    if isinstance(result, BookSnapshot | BookDelta):
        zero_ok = isinstance(result, BookDelta)
        for price, size in (*result.bids, *result.asks):
            assert price > 0 and (size > 0 or (zero_ok and size == 0))
        return
    for item in items:
        if isinstance(item, Trade):
            assert item.price > 0 and item.size > 0
        elif isinstance(item, Ticker):
            assert all(v is None or v > 0 for v in (item.bid, item.ask, item.last))
        elif isinstance(item, Fill):
            assert item.price > 0 and item.size > 0 and item.trade_id
        elif isinstance(item, Instrument):
            assert item.tick_size > 0 and item.lot_size > 0 and 0 <= item.taker_fee < 1


@pytest.mark.parametrize("name,parser,example", PARSERS, ids=[p[0] for p in PARSERS])
def test_documented_examples_parse(name: str, parser: Parser, example: object) -> None:
    sound(parser(example))


@pytest.mark.parametrize("name,parser,example", PARSERS, ids=[p[0] for p in PARSERS])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_nothing_but_parse_errors(
    name: str, parser: Parser, example: object, data: st.DataObject
) -> None:
    payload = data.draw(payloads(example), label="payload")
    try:
        result = parser(payload)
    except ParseError as err:
        assert err.venue == "blocktrade" and err.field
        return
    sound(result)


@pytest.mark.parametrize("name,parser,example", PARSERS, ids=[p[0] for p in PARSERS])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_nothing_but_parse_errors_from_the_wire(
    name: str, parser: Parser, example: object, data: st.DataObject
) -> None:
    """The payload as bytes, then corrupted: what the REST client and websocket decode."""
    text = json.dumps(data.draw(mutated(example), label="payload"), allow_nan=True)
    raw = bytearray(text.encode())
    for _ in range(data.draw(st.integers(min_value=0, max_value=3), label="flips")):
        if raw:
            at = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
            raw[at] = data.draw(st.sampled_from([0xFF, 0xC3, 0x80, ord("["), ord('"'), 0x00]))
    try:
        sound(parser(decode_json(bytes(raw), "blocktrade", name)))
    except ParseError as err:
        assert err.venue == "blocktrade"


@pytest.mark.parametrize("name,parser,example", SKIPPING, ids=[p[0] for p in SKIPPING])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_skipping_parsers_keep_the_good_rows(
    name: str,
    parser: Callable[[Any, Callable[[ParseError], None]], object],
    example: object,
    data: st.DataObject,
) -> None:
    payload = data.draw(mutated(example), label="payload")
    skipped: list[ParseError] = []
    try:
        result = parser(payload, skipped.append)
    except ParseError:
        return  # the message itself is unreadable (no frame, no data list)
    sound(result)
    assert all(e.venue == "blocktrade" and e.field for e in skipped)


def test_one_bad_row_never_hides_the_others() -> None:
    page = copy.deepcopy(BT_USER_TRADES)
    good = page["data"][0]
    page["data"] = [
        {**good, "id": 1, "amount": "-1"},
        {**good, "id": 2, "price": "1e999999999999999999999"},
        {k: v for k, v in good.items() if k != "price"} | {"id": 3},
        {**good, "id": 4},
        nested(600, 1),
    ]
    skipped: list[ParseError] = []
    fills = bt.parse_user_trades(page, MARKETS, skip=skipped.append)
    assert [f.trade_id for f in fills] == ["4"]
    assert [e.field for e in skipped] == [
        "data[0].amount",
        "data[1].price",
        "data[2].price",
        "data[4]",
    ]


def test_market_data_with_non_positive_prices_or_sizes_is_dropped() -> None:
    message = copy.deepcopy(BT_WS_TRADES)
    row = message["payload"]["data"][0]
    message["payload"]["data"] = [
        {**row, "id": 1, "price": "-5"},
        {**row, "id": 2, "amount": "0"},
        {**row, "id": 3},
    ]
    skipped: list[ParseError] = []
    assert [t.trade_id for t in bt.parse_ws_trades(message, MARKETS, skip=skipped.append)] == ["3"]
    assert len(skipped) == 2
    with pytest.raises(ParseError, match="must be > 0"):
        bt.parse_ws_trades(message, MARKETS)  # never a Trade(price=-5.0)
    ticker = copy.deepcopy(BT_WS_TICKER)
    ticker["payload"]["data"][0]["bid_price"] = "-1"
    assert bt.parse_ws_ticker(ticker, MARKETS, 0, skip=skipped.append) == []


@pytest.mark.parametrize(
    "message,field",
    [
        ({"message_type": "order_book", "payload": {"trading_pair_id": 1}}, "payload.data"),
        (
            {"message_type": "order_book", "payload": {"trading_pair_id": 1, "data": [{}]}},
            "bids|asks",
        ),
        ({"message_type": "order_book", "payload": {"data": []}}, "trading_pair_id"),
    ],
)
def test_an_unknown_book_shape_is_an_error_never_an_empty_book(message: object, field: str) -> None:
    with pytest.raises(ParseError) as err:
        bt.parse_ws_order_book(message, MARKETS, 0, snapshot=True)
    assert err.value.venue == "blocktrade" and err.value.field.endswith(field)
    with pytest.raises(ParseError, match=r"bids\|asks"):
        bt.parse_order_book({"buy": [], "sell": []}, "X", 0)
    with pytest.raises(ParseError, match="data: missing"):
        bt.parse_user_trades({"trades": []}, MARKETS, page=True)


def test_fees_and_amounts_as_strings_or_numbers() -> None:
    fees = bt.parse_fees(BT_FEES)
    assert fees == {"2": D("0.0025"), "default": D("0.002")}
    assert bt.parse_fees(BT_FEES, percent=False)["default"] == D("0.2")
    assert bt.parse_fees({"TRADING": {"2": {"percent_value": None}}}) == {}
    (quoted,) = bt.parse_markets([BT_PAIR], [BT_ASSET_EUR, BT_ASSET_BTC], fees).instruments
    assert quoted.maker_fee == quoted.taker_fee == D("0.0025")  # the quote asset's (EUR, id 2)
    (based,) = bt.parse_markets(
        [BT_PAIR], [BT_ASSET_EUR, BT_ASSET_BTC], fees, fee_asset="base"
    ).instruments
    assert based.taker_fee == D("0.002")  # BTC has no entry: the default
    with pytest.raises(ParseError, match="not a fraction"):
        bt.parse_fees({"TRADING": {"default": {"percent_value": "100"}}})

    # maximum_order_value: the schema says string, the example a number; both read.
    as_number = {**BT_ASSET_EUR, "maximum_order_value": 620000, "minimal_order_value": 0.1}
    as_string = {**BT_ASSET_EUR, "maximum_order_value": "620000", "minimal_order_value": "0.1"}
    (a,) = bt.parse_markets([BT_PAIR], [as_number, BT_ASSET_BTC]).instruments
    (b,) = bt.parse_markets([BT_PAIR], [as_string, BT_ASSET_BTC]).instruments
    assert (a.min_notional, a.max_notional) == (b.min_notional, b.max_notional)
    assert a.max_notional == D("620000") and a.min_notional == D("0.1")
    numbers = {**BT_USER_TRADE, "price": 6048.22, "amount": 0.1734811, "fee_value": 3e-06}
    (fill,) = bt.parse_user_trades(numbers, MARKETS)
    assert (fill.price, fill.size, fill.fee) == (D("6048.22"), D("0.1734811"), D("0.000003"))


# ----- the adapter over loopback ---------------------------------------------------------------


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with running_simulator("blocktrade", run_market=False) as running:
        running.exchange.step()
        yield running


def corrupt(sim: RunningSimulator, like: Fill, trade_id: str, **bad: Any) -> Fill:
    """A row in the venue's own record of the account that cannot be read as a fill."""
    fill = like._replace(trade_id=trade_id, ts_ns=like.ts_ns + 1, **bad)
    sim.exchange.trades.append(fill)
    return fill


async def test_a_bad_user_trade_row_is_skipped_and_counted(sim: RunningSimulator) -> None:
    bt_ = make_adapter(sim, page_size=2)
    try:
        await bt_.connect()
        await taker_buy(bt_, sim)
        good_before = list(sim.exchange.trades)
        corrupt(sim, good_before[-1], "bad-price", price=D("-5"))
        corrupt(sim, good_before[-1], "bad-size", size=D("0"))
        await asyncio.sleep(0.002)
        await taker_buy(bt_, sim)
        good = [f for f in sim.exchange.trades if not f.trade_id.startswith("bad-")]
        fills = await bt_.user_trades(None)
        # Every good fill, the one after the bad rows included; both bad rows counted.
        assert sorted((f.price, f.size) for f in fills) == sorted((f.price, f.size) for f in good)
        assert len(fills) == len(good) and all(f.client_id for f in fills)
        assert bt_.skipped.counts == {
            "GET /user_trades data[].price": 1,
            "GET /user_trades data[].amount": 1,
        }
        # And again from a cursor just before the bad rows: still the good ones after them.
        since = await bt_.user_trades(good_before[-1].ts_ns)
        after = [(f.price, f.size) for f in good if f not in good_before]
        assert after and set(after) <= {(f.price, f.size) for f in since}
        assert bt_.skipped.total == 4
    finally:
        await bt_.close()


async def test_a_bad_user_trade_message_does_not_stop_the_stream(
    framed_sim: RunningSimulator,
) -> None:
    sim = framed_sim
    bt_ = make_adapter(sim)
    try:
        await taker_buy(bt_, sim)
        corrupt(sim, sim.exchange.trades[-1], "bad-1", price=D("-1"))
        stream = bt_.user_trade_stream(None)
        assert stream is not None
        extra = taker_buy_later(bt_, sim)
        good = lambda: [f for f in sim.exchange.trades if f.trade_id != "bad-1"]  # noqa: E731
        fills = await collect(stream, lambda got: extra.done() and len(got) == len(good()))
        await extra
        assert sorted(f.price for f in fills) == sorted(f.price for f in good())
        assert bt_.skipped.counts == {"WS user_trades data[].price": 1}
    finally:
        await bt_.close()


async def test_market_data_with_a_non_positive_price_is_dropped_and_counted(
    sim: RunningSimulator,
) -> None:
    bt_ = make_adapter(sim)
    try:
        stream = bt_.market_stream([SYMBOL])

        def step() -> None:
            # Public prints the venue's feed carries (until one gets through, as the
            # subscription may not be in place yet): a negative price, a zero size, a
            # good one.
            now = time.time_ns()
            for sub in list(sim.exchange.subscribers):
                sub("print", PublicTrade(1, now, SYMBOL, Decimal(-5), Decimal(1), Side.BUY))
                sub("print", PublicTrade(2, now, SYMBOL, Decimal(30000), Decimal(0), Side.BUY))
                sub("print", PublicTrade(3, now, SYMBOL, Decimal(30000), Decimal(1), Side.BUY))

        events = await collect(
            stream, lambda got: any(isinstance(e, Trade) for e in got), step=step
        )
        trades = [e for e in events if isinstance(e, Trade)]
        assert trades and all(t.price > 0 and t.size > 0 for t in trades)
        counts = bt_.skipped.counts
        assert set(counts) == {"WS trades payload.data[].price", "WS trades payload.data[].amount"}
        assert counts["WS trades payload.data[].price"] >= len(trades)
    finally:
        await bt_.close()


async def test_fees_come_from_the_venues_fee_table(sim: RunningSimulator) -> None:
    # GET /fees: one TRADING rate in percent ("0.2" is 0.2 %), for maker and taker alike.
    bt_ = make_adapter(sim)
    try:
        inst = (await bt_.instruments())[SYMBOL]
        assert inst.maker_fee == inst.taker_fee == Decimal("0.002")
    finally:
        await bt_.close()


async def test_fees_fall_back_to_the_fills_without_the_fee_table(
    sim: RunningSimulator,
) -> None:
    # Without the table (load_fees off, or unreadable) start-up goes on; fills carry the fee.
    bt_ = make_adapter(sim, load_fees=False)
    try:
        inst = (await bt_.instruments())[SYMBOL]
        assert inst.maker_fee == inst.taker_fee == 0
        _, ask = touch(sim)
        vo = await bt_.place(order(Side.BUY, "0.001", ask + 1, type=OrderType.LIMIT))
        assert vo.venue_order_id
        fills = [f for f in await bt_.user_trades(None) if f.venue_order_id == vo.venue_order_id]
        assert fills  # each fill says what was paid
        assert all(f.fee > 0 and f.liquidity is Liquidity.TAKER for f in fills)
    finally:
        await bt_.close()


def test_adapter_options_are_checked_up_front() -> None:
    # The suffix logic is gone: the router gives every attempt its own client id.
    with pytest.raises(ValueError, match=r"blocktrade venue\.options\.replace_separator"):
        BlockTradeAdapter.from_connection(
            Connection("http://127.0.0.1:1", options={"replace_separator": "~"})
        )
    with pytest.raises(ValueError, match=r"blocktrade venue\.options\.page_size"):
        BlockTradeAdapter(Connection("http://127.0.0.1:1", options={"page_size": 5000}))
