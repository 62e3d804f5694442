"""Venue payload parsing.

Example payloads are transcribed from the seed documents (the capture dropped
closing brackets and braces; they are restored, nothing else is changed). ALP's
examples are kept as JSON text so their numbers reach the parser as the floats a
JSON decoder makes. Payloads not in a document are marked as such.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botkit.events import BookDelta, BookSnapshot, Ticker, Trade
from botkit.model import Fill, Instrument, Liquidity, OrderStatus, OrderType, Side, TimeInForce
from botkit.venues.alp import parsing as alp
from botkit.venues.alpha5 import parsing as a5
from botkit.venues.blocktrade import parsing as bt
from botkit.venues.kit import parsing as _common
from botkit.venues.kit.errors import ParseError
from botkit.venues.kit.types import VenueOrder

D = Decimal
MS = 1_000_000


def iso_ns(text: str) -> int:
    dt = datetime.fromisoformat(text)
    return int(dt.timestamp()) * 10**9 + dt.microsecond * 1000


# =====================================================================================
# BlockTrade (seed 004)
# =====================================================================================

BT_ASSET_EUR = {  # GET /trading_assets, 200 Response
    "id": 2,
    "full_name": "Euro",
    "iso_code": "EUR",
    "icon_path": "/media/eur.svg",
    "icon_path_png": "/media/eur.png",
    "color": "#3A61AD",
    "sign": "€",
    "currency_type": "FIAT",
    "minimal_withdrawal_amount": "0.01",
    "minimal_order_value": "0.1",
    "maximum_order_value": 620000,
    "decimal_precision": 2,
    "lot_size": "0.1",
    "deposit_methods": "WALLET_ADDRESS",
    "is_restricted_for_user": True,
    "tags": "NEW",
    "is_favourite": True,
}
# Not in the document: the base asset the example pair refers to (id 3).
BT_ASSET_BTC = {
    "id": 3,
    "iso_code": "BTC",
    "currency_type": "CRYPTOCURRENCY",
    "minimal_order_value": "0.0001",
    "maximum_order_value": "100",
    "decimal_precision": 8,
    "lot_size": "0.00000001",
    "is_restricted_for_user": False,
}
BT_PAIR = {  # GET /trading_pairs, 200 Response (the empty list's "]" restored)
    "id": 1,
    "base_asset_id": 3,
    "quote_asset_id": 2,
    "decimal_precision": 2,
    "lot_size": "0.01",
    "tick_size": "0.00001",
    "restricted_directions_for_user": [],
}
BT_ORDER_BOOK = {  # GET /order_book/{trading_pair_id}
    "asks": [{"amount": "2.20535071", "price": "6140.11", "value": "13541.09"}],
    "bids": [{"amount": "2.20535071", "price": "6140.11", "value": "13541.09"}],
}
BT_TICKER = {  # GET /ticker/{trading_pair_id}
    "last_price": "6039.3",
    "bid_price": "6050.17",
    "ask_price": "6056.77",
    "volume": "42000.0024",
    "low": "5999.74",
    "high": "6200.76",
}
BT_TRADES = {  # GET /trades/{trading_pair_id}
    "data": [
        {
            "id": 12834779,
            "order_id": 16329236,
            "matched_order_id": 16284185,
            "trading_pair_id": 1,
            "symbol": "BTC/USD",
            "direction": "SELL",
            "amount": "0.1734811",
            "price": "6048.22",
            "date": 1533543752844,
        }
    ],
    "count": 1293512,
    "offset": 0,
    "limit": 10,
}
BT_USER_TRADE = {  # GET /user_trades item; also the websocket's bare user trade
    "id": 19873,
    "order_id": 23498,
    "trading_pair_id": 1,
    "symbol": "BTC/USD",
    "direction": "SELL",
    "amount": "0.1734811",
    "price": "6048.22",
    "date": 1533543752844,
    "fee_value": "0.000003",
    "trade_value": "1049.25",
    "maker": True,
}
BT_USER_TRADES = {"data": [BT_USER_TRADE], "count": 1234}  # GET /user_trades
# Not in the document: the framed shape every other channel uses (design.md).
BT_WS_USER_TRADES_FRAMED = {"message_type": "user_trades", "payload": {"data": [BT_USER_TRADE]}}
BT_ORDER = {  # GET /orders/{id}
    "id": 14804210,
    "customer_order_id": "04e4bf8e-0a0f-4026-9eef-0906813225f3",
    "portfolio_id": 1,
    "trading_pair_id": 1,
    "direction": "BUY",
    "type": "LIMIT",
    "amount": "0.2",
    "remaining_amount": "0.1",
    "price": "6048.22",
    "time_in_force": "GTC",
    "stop_price": None,
    "date": 1533456985351,
    "status": "PARTIALLY_FILLED",
    "trades": [{"id": 1234, "value": "0.1", "price": "6048.22", "time": 1533543752844}],
}
BT_ORDERS = {"data": [BT_ORDER], "count": 2, "offset": 0, "limit": 10}  # GET /orders
BT_ORDER_ACK = {"id": 16342774, "customer_order_id": "04e4bf8e-0a0f-4026-9eef-0906813225f3"}
BT_WS_USER_ORDERS = {
    "message_type": "user_orders",
    "payload": {
        "data": [
            {
                "id": 16575930,
                "customer_order_id": "04e4bf8e-0a0f-4026-9eef-0906813225f3",
                "portfolio_id": 1,
                "trading_pair_id": 1,
                "direction": "BUY",
                "type": "LIMIT",
                "amount": "0.1",
                "remaining_amount": "0.05",
                "price": "100",
                "time_in_force": "GTC",
                "stop_price": None,
                "date": 1533555163180,
                "status": "PARTIALLY_FILLED",
                "trades": [{"id": 1234, "amount": "0.05", "price": "100", "time": 1533555164180}],
            }
        ]
    },
}
BT_WS_ORDER_BOOK = {
    "message_type": "order_book",
    "payload": {
        "trading_pair_id": 1,
        "data": [
            {
                "bids": [{"price": "6043.23", "amount": "2.5510545", "value": "15417.19"}],
                "asks": [{"price": "6044.1", "amount": "4.81763208", "value": "29118.25"}],
            }
        ],
    },
}
BT_WS_TRADES = {
    "message_type": "trades",
    "payload": {
        "trading_pair_id": 1,
        "data": [{"id": 123, "price": "6045.37", "amount": "0.48216109", "time": 1533553731493}],
    },
}
BT_WS_TICKER = {
    "message_type": "ticker",
    "payload": {
        "trading_pair_id": 1,
        "data": [
            {
                "ask_price": "6045.72",
                "bid_price": "6044.69",
                "last_price": "6045.72",
                "volume": "42000.0024",
                "high": "18245.44",
                "low": "10.69",
            }
        ],
    },
}
BT_WS_UNSUBSCRIBED = {
    "message_type": "unsubscribed",
    "payload": {"channel_name": "order_book", "parameters": {"trading_pair_id": 1}},
}


@pytest.fixture(scope="module")
def markets() -> bt.Markets:
    return bt.parse_markets([BT_PAIR], [BT_ASSET_EUR, BT_ASSET_BTC])


class TestBlockTradeMarkets:
    def test_instrument(self, markets: bt.Markets) -> None:
        assert markets.instruments == (
            Instrument(
                venue="blocktrade",
                symbol="BTC/EUR",
                base="BTC",
                quote="EUR",
                tick_size=D("0.00001"),
                lot_size=D("0.01"),
                min_notional=D("0.1"),
                max_notional=D("620000"),
            ),
        )
        assert markets.symbol(1) == "BTC/EUR"
        assert markets.pair_by_symbol["BTC/EUR"] == 1
        assert markets.asset_by_id == {2: "EUR", 3: "BTC"}
        assert markets.restricted_assets == frozenset({"EUR"})
        assert markets.instrument("BTC/EUR") is markets.instruments[0]
        assert markets.instrument("ETH/EUR") is None

    @pytest.mark.parametrize(
        "restricted,allowed",
        [
            (["SELL"], frozenset({Side.BUY})),
            (["BUY"], frozenset({Side.SELL})),
            (["BUY", "SELL"], frozenset()),
            ([], None),
        ],
    )
    def test_restricted_directions(
        self, restricted: list[str], allowed: frozenset[Side] | None
    ) -> None:
        pair = {**BT_PAIR, "restricted_directions_for_user": restricted}
        (inst,) = bt.parse_markets([pair], [BT_ASSET_EUR, BT_ASSET_BTC]).instruments
        assert inst.allowed_sides == allowed

    def test_fallbacks(self) -> None:
        pair = {k: v for k, v in BT_PAIR.items() if k not in ("tick_size", "lot_size")}
        (inst,) = bt.parse_markets([pair], [BT_ASSET_EUR, BT_ASSET_BTC]).instruments
        assert inst.tick_size == D("0.01")  # 10 ** -decimal_precision
        assert inst.lot_size == D("0.00000001")  # the base asset's lot size

    def test_unknown_asset(self) -> None:
        with pytest.raises(ParseError) as exc:
            bt.parse_markets([BT_PAIR], [BT_ASSET_EUR])
        assert exc.value.field == "[0].base_asset_id"
        assert exc.value.venue == "blocktrade"
        assert exc.value.kind == "trading_pair"

    def test_bad_tick(self) -> None:
        with pytest.raises(ParseError, match=r"\[0\]\.tick_size: must be > 0"):
            bt.parse_markets([{**BT_PAIR, "tick_size": "0"}], [BT_ASSET_EUR, BT_ASSET_BTC])


class TestBlockTradeOrders:
    def test_rest_order(self, markets: bt.Markets) -> None:
        order = bt.parse_order(BT_ORDER, markets)
        assert order == VenueOrder(
            venue="blocktrade",
            venue_order_id="14804210",
            client_id="04e4bf8e-0a0f-4026-9eef-0906813225f3",
            symbol="BTC/EUR",
            side=Side.BUY,
            type=OrderType.LIMIT,
            price=D("6048.22"),
            size=D("0.2"),
            filled=D("0.1"),
            avg_price=D("6048.22"),
            status=OrderStatus.PARTIALLY_FILLED,
            ts_ns=1533456985351 * MS,
            raw_status="PARTIALLY_FILLED",
            tif=TimeInForce.GTC,
            stop_price=None,
        )
        assert order.remaining == D("0.1")

    def test_rest_order_page(self, markets: bt.Markets) -> None:
        assert bt.parse_orders(BT_ORDERS, markets) == [bt.parse_order(BT_ORDER, markets)]

    def test_ws_user_orders(self, markets: bt.Markets) -> None:
        (order,) = bt.parse_orders(BT_WS_USER_ORDERS, markets)
        assert order.venue_order_id == "16575930"
        assert (order.size, order.filled, order.avg_price) == (D("0.1"), D("0.05"), D("100"))
        assert order.price == D("100")
        assert order.status is OrderStatus.PARTIALLY_FILLED
        assert order.ts_ns == 1533555163180 * MS

    @pytest.mark.parametrize(
        "raw,remaining,status",
        [
            ("NEW", "0.2", OrderStatus.OPEN),
            ("NEW", "0.15", OrderStatus.PARTIALLY_FILLED),  # derived from the amounts
            ("FILLED", "0", OrderStatus.FILLED),
            ("CANCELLED", "0.1", OrderStatus.CANCELED),
            ("CANCELED", "0.2", OrderStatus.CANCELED),
            ("REJECTED", "0.2", OrderStatus.REJECTED),
            ("EXPIRED", "0.2", OrderStatus.EXPIRED),
            ("PENDING_SOMETHING", "0.2", OrderStatus.UNKNOWN),  # never guessed
        ],
    )
    def test_statuses(
        self, markets: bt.Markets, raw: str, remaining: str, status: OrderStatus
    ) -> None:
        payload = {**BT_ORDER, "status": raw, "remaining_amount": remaining, "trades": []}
        order = bt.parse_order(payload, markets)
        assert order.status is status
        assert order.raw_status == raw
        assert order.status_known == (status is not OrderStatus.UNKNOWN)

    def test_price_as_number_and_unknown_type(self, markets: bt.Markets) -> None:
        order = bt.parse_order({**BT_ORDER, "price": 1000, "type": "ICEBERG"}, markets)
        assert order.price == D("1000")
        assert order.type is None

    def test_unknown_pair_is_an_error_not_a_guess(self, markets: bt.Markets) -> None:
        with pytest.raises(ParseError, match="unknown trading pair 9"):
            bt.parse_order({**BT_ORDER, "trading_pair_id": 9}, markets)

    def test_remaining_above_amount(self, markets: bt.Markets) -> None:
        with pytest.raises(ParseError) as exc:
            bt.parse_order({**BT_ORDER, "remaining_amount": "0.3"}, markets)
        assert exc.value.field == "remaining_amount"

    def test_order_ack(self) -> None:
        assert bt.parse_order_ack(BT_ORDER_ACK) == (
            "16342774",
            "04e4bf8e-0a0f-4026-9eef-0906813225f3",
        )


class TestBlockTradeFills:
    EXPECTED = Fill(
        trade_id="19873",
        client_id="",
        symbol="BTC/EUR",
        side=Side.SELL,
        price=D("6048.22"),
        size=D("0.1734811"),
        fee=D("0.000003"),
        fee_asset="EUR",
        liquidity=Liquidity.MAKER,
        ts_ns=1533543752844 * MS,
        venue_order_id="23498",
    )

    @pytest.mark.parametrize(
        "payload",
        [BT_USER_TRADES, BT_USER_TRADE, BT_WS_USER_TRADES_FRAMED, [BT_USER_TRADE]],
        ids=["rest", "ws-bare", "ws-framed", "list"],
    )
    def test_every_shape(self, markets: bt.Markets, payload: object) -> None:
        assert bt.parse_user_trades(payload, markets) == [self.EXPECTED]

    def test_without_markets_uses_the_trade_symbol(self) -> None:
        (fill,) = bt.parse_user_trades(BT_USER_TRADE)
        assert (fill.symbol, fill.fee_asset) == ("BTC/USD", "USD")

    def test_fee_in_base(self, markets: bt.Markets) -> None:
        (fill,) = bt.parse_user_trades(BT_USER_TRADE, markets, fee_asset="base")
        assert fill.fee_asset == "BTC"

    def test_taker_and_missing_maker(self, markets: bt.Markets) -> None:
        (taker,) = bt.parse_user_trades({**BT_USER_TRADE, "maker": False}, markets)
        assert taker.liquidity is Liquidity.TAKER
        bare = {k: v for k, v in BT_USER_TRADE.items() if k not in ("maker", "fee_value")}
        (unknown,) = bt.parse_user_trades(bare, markets)
        assert unknown.liquidity is Liquidity.TAKER
        assert unknown.fee == 0

    def test_ws_message_types(self) -> None:
        assert bt.ws_message_type(BT_USER_TRADE) == "user_trades"
        assert bt.ws_message_type(BT_WS_USER_TRADES_FRAMED) == "user_trades"
        assert bt.ws_message_type(BT_WS_ORDER_BOOK) == "order_book"
        assert bt.ws_message_type(BT_WS_UNSUBSCRIBED) == "unsubscribed"
        with pytest.raises(ParseError):
            bt.ws_message_type({"hello": 1})


class TestBlockTradePublic:
    def test_order_book(self) -> None:
        book = bt.parse_order_book(BT_ORDER_BOOK, "BTC/EUR", 7)
        assert book == BookSnapshot(7, "BTC/EUR", [(6140.11, 2.20535071)], [(6140.11, 2.20535071)])

    def test_book_sorting(self) -> None:
        payload = {
            "bids": [{"price": "1", "amount": "1"}, {"price": "3", "amount": "1"}],
            "asks": [{"price": "9", "amount": "1"}, {"price": "5", "amount": "1"}],
        }
        book = bt.parse_order_book(payload, "X", 0)
        assert [p for p, _ in book.bids] == [3.0, 1.0]
        assert [p for p, _ in book.asks] == [5.0, 9.0]

    def test_ticker(self) -> None:
        t = bt.parse_ticker(BT_TICKER, "BTC/EUR", 5)
        assert t == Ticker(5, "BTC/EUR", 6050.17, 6056.77, last=6039.3)
        empty = bt.parse_ticker({"bid_price": None, "ask_price": None, "volume": "0"}, "X", 1)
        assert (empty.bid, empty.ask, empty.last) == (None, None, None)

    def test_trades(self) -> None:
        assert bt.parse_trades(BT_TRADES, "BTC/EUR") == [
            Trade(1533543752844 * MS, "BTC/EUR", 6048.22, 0.1734811, Side.SELL, "12834779")
        ]

    def test_ws_order_book(self, markets: bt.Markets) -> None:
        snap = bt.parse_ws_order_book(BT_WS_ORDER_BOOK, markets, 9, snapshot=True)
        assert snap == BookSnapshot(9, "BTC/EUR", [(6043.23, 2.5510545)], [(6044.1, 4.81763208)])
        delta = bt.parse_ws_order_book(BT_WS_ORDER_BOOK, markets, 9, snapshot=False)
        assert isinstance(delta, BookDelta)
        assert delta.bids == snap.bids and delta.asks == snap.asks

    def test_ws_trades(self, markets: bt.Markets) -> None:
        assert bt.parse_ws_trades(BT_WS_TRADES, markets) == [
            Trade(1533553731493 * MS, "BTC/EUR", 6045.37, 0.48216109, None, "123")
        ]

    def test_ws_ticker(self, markets: bt.Markets) -> None:
        assert bt.parse_ws_ticker(BT_WS_TICKER, markets, 3) == [
            Ticker(3, "BTC/EUR", 6044.69, 6045.72, last=6045.72)
        ]


# =====================================================================================
# ALP.COM (seed 001) — JSON text as printed in the document; ``#`` comments in the
# v3 examples are stripped, and ``}...]`` is closed as ``}]``.
# =====================================================================================


def doc_json(text: str) -> Any:
    text = re.sub(r"#[^\n]*", "", text)
    text = text.replace("}...]", "}]")
    text = re.sub(r",(\s*[}\]])", r"\1", text)  # a comma left before a stripped comment
    return json.loads(text)


ALP_PAIRS = """[
  {
    "name": "BTC_USD",
    "currency1": "BTC",
    "currency2": "USD",
    "price_precision": 2,
    "amount_precision": 6,
    "maximum_order_size": 100000000.00000000,
    "minimum_order_size": 0.00000001,
    "liquidity_type": 10
   }
]"""
ALP_TICKER = """[
  {
    "timestamp": 1642511387.55049,
    "pair": "ETH_BTC",
    "last": 0.076,
    "diff": 0,
    "vol": 0,
    "high": 0,
    "low": 0,
    "buy": 0.071346,
    "sell": 0.080317
  }
]"""
ALP_ORDERBOOK = """{
  "sell": [
    {
      "price": 911.519,
      "amount": 0.000446
     }
   ],
  "buy": [
    {
      "price": 911.122,
      "amount": 0.001233
    }
  ]
}"""
ALP_ORDERS_OWN = """[
  {
    "amount": 0.500000000,
    "pair": "ETH_USD",
    "type": "buy",
    "status": 3,
    "price": 0.00113000,
    "id": 11249
  }
]"""
ALP_ORDER = """{
  "id": 11259,
  "date": 1478025717394,
  "pair": "BTC_USD",
  "type": "buy",
  "price": 870.69000000,
  "amount": 0.1250000,
  "amount_filled": "0.00419580",
  "amount_original": 0.0041958,
  "status": "1"
}"""
ALP_CREATE = """{
  "success": true,
  "type": "buy",
  "date": 1483721079.51632,
  "oid": 11268,
  "price": 870.69000000,
  "amount": 0.00000000,
  "trades": [
    {
      "type": "sell",
      "price": 870.69000000,
      "o_id": 11266,
      "amount": 0.00010000,
      "tid": 6049
    }
  ]
}"""
ALP_EXCHANGES = """[
  {
    "id": 6030,
    "account_id": 384360,
    "price": 839.36000000,
    "pair": "BTC_USD",
    "type": "sell",
    "timestamp": 1483705817.735508,
    "amount": 0.00281167
  }
]"""
ALP_V3_ORDERS = """[{
  "id": 76575,
  "account_id": 25,
  "pair": "BTC_USDT",
  "wallet_type": "SPOT",
  "side": "BUY",
  "type": "LIMIT",
  "tif": "GTC",
  "price": 20450.05,
  "stop_price": 0, #used if type is stop
  "amount": 0.05, #amount in base currency
  "amount_filled": 0,
  "amount_cancelled": 0,
  "status": "OPEN",
  "date": "2022-10-06T08:28:06.801064-04:00",
  "updated_at": "2022-10-06T08:28:06.801064-04:00",
  "open_at": "",
  "expire_after": "",
  "done_at": ""
}...]"""
ALP_V3_TRADES = """[{
  "date": "2022-10-06T08:28:06.801064-04:00",
  "status": "FILLED", #status for account order set after trade
  "side": "BUY",
  "type": "LIMIT",
  "price": 23400.34,
  "amount": 0.05,
  "amount_unfilled": 0,
  "fee_rate": 0.001,
  "fee_amount": 1.170017,
  "is_maker": true,
  "account_id": 25,
  "currency": "USDT", #may be empty
  "pair": "BTC_USDT",
  "fee_currency": "USDT",
  "wallet_type": "SPOT"
}...]"""
ALP_V3_ACK = "34"
# Not in the document: v1 own exchanges are documented without an example; the
# public exchanges example has the same fields.
ALP_OWN_EXCHANGES = ALP_EXCHANGES

ALP_TS = iso_ns("2022-10-06T08:28:06.801064-04:00")


class TestAlp:
    def test_pairs(self) -> None:
        assert alp.parse_pairs(doc_json(ALP_PAIRS)) == [
            Instrument(
                venue="alp",
                symbol="BTC_USD",
                base="BTC",
                quote="USD",
                tick_size=D("0.01"),
                lot_size=D("0.000001"),
                min_size=D("0.00000001"),
                max_size=D("100000000"),
            )
        ]

    def test_tickers(self) -> None:
        assert alp.parse_tickers(doc_json(ALP_TICKER)) == [
            Ticker(1642511387550490000, "ETH_BTC", 0.071346, 0.080317, last=0.076)
        ]

    def test_orderbook(self) -> None:
        book = alp.parse_order_book(doc_json(ALP_ORDERBOOK), "BTC_USD", 11)
        assert book == BookSnapshot(11, "BTC_USD", [(911.122, 0.001233)], [(911.519, 0.000446)])

    def test_orders_own(self) -> None:
        (order,) = alp.parse_orders_v1(doc_json(ALP_ORDERS_OWN))
        assert order == VenueOrder(
            venue="alp",
            venue_order_id="11249",
            client_id=None,
            symbol="ETH_USD",
            side=Side.BUY,
            type=OrderType.LIMIT,
            price=D("0.00113"),
            size=D("0.5"),
            filled=D("0.5"),  # status 3 "Done": fully executed
            avg_price=None,
            status=OrderStatus.FILLED,
            ts_ns=0,
            raw_status="3",
        )

    def test_order_detail(self) -> None:
        order = alp.parse_order_v1(doc_json(ALP_ORDER))
        assert order.venue_order_id == "11259"
        assert order.size == D("0.0041958")  # amount_original
        assert order.filled == D("0.00419580")
        assert str(order.filled) == "0.00419580"  # the string's digits are kept
        assert order.price == D("870.69")
        assert order.status is OrderStatus.OPEN  # "1" Active, as the venue says
        assert order.ts_ns == 1478025717394 * MS

    @pytest.mark.parametrize(
        "status,filled,expected",
        [
            (1, "0", OrderStatus.OPEN),
            (1, "0.1", OrderStatus.PARTIALLY_FILLED),
            ("2", "0.1", OrderStatus.CANCELED),
            (3, "0.5", OrderStatus.FILLED),
            (7, "0", OrderStatus.UNKNOWN),
        ],
    )
    def test_v1_statuses(self, status: object, filled: str, expected: OrderStatus) -> None:
        payload = {"id": 1, "pair": "BTC_USD", "type": "sell", "price": "1", "amount": "0.5"}
        order = alp.parse_order_v1({**payload, "status": status, "amount_filled": filled})
        assert order.status is expected
        assert order.raw_status == str(status)

    def test_v1_remaining_reading(self) -> None:
        payload = {"id": 1, "pair": "BTC_USD", "type": "buy", "price": "1", "status": 1}
        order = alp.parse_order_v1({**payload, "amount": "0.3", "amount_original": "0.5"})
        assert (order.size, order.filled) == (D("0.5"), D("0.2"))
        assert order.status is OrderStatus.PARTIALLY_FILLED

    def test_create_ack(self) -> None:
        assert alp.parse_order_ack_v1(doc_json(ALP_CREATE)) == "11268"
        with pytest.raises(ParseError):
            alp.parse_order_ack_v1({"success": False, "error": "nope"})

    def test_public_exchanges(self) -> None:
        assert alp.parse_exchanges(doc_json(ALP_EXCHANGES)) == [
            Trade(1483705817735508000, "BTC_USD", 839.36, 0.00281167, Side.SELL, "6030")
        ]

    def test_own_exchanges(self) -> None:
        assert alp.parse_own_exchanges_v1(doc_json(ALP_OWN_EXCHANGES)) == [
            Fill(
                trade_id="6030",
                client_id="",
                symbol="BTC_USD",
                side=Side.SELL,
                price=D("839.36"),
                size=D("0.00281167"),
                fee=D(0),
                fee_asset="USD",
                liquidity=Liquidity.TAKER,
                ts_ns=1483705817735508000,
            )
        ]

    def test_v3_orders(self) -> None:
        assert alp.parse_orders_v3(doc_json(ALP_V3_ORDERS)) == [
            VenueOrder(
                venue="alp",
                venue_order_id="76575",
                client_id=None,
                symbol="BTC_USDT",
                side=Side.BUY,
                type=OrderType.LIMIT,
                price=D("20450.05"),
                size=D("0.05"),
                filled=D("0"),
                avg_price=None,
                status=OrderStatus.OPEN,
                ts_ns=ALP_TS,
                raw_status="OPEN",
                tif=TimeInForce.GTC,
                stop_price=None,
            )
        ]
        assert ALP_TS == 1665059286801064000

    def test_v3_order_with_client_id_and_nanoseconds(self) -> None:
        payload = doc_json(ALP_V3_ORDERS)[0]
        payload.update(
            client_order_id="jkndijejnmjn2554562",
            updated_at="2022-10-06T12:28:06.801064123Z",
            amount_filled=0.01,
            status="PARTIALLY_FILLED",
        )
        order = alp.parse_order_v3(payload)
        assert order.client_id == "jkndijejnmjn2554562"
        assert order.ts_ns == 1665059286801064123
        assert order.filled == D("0.01")
        assert order.status is OrderStatus.PARTIALLY_FILLED

    def test_v3_account_trades(self) -> None:
        (fill,) = alp.parse_account_trades_v3(doc_json(ALP_V3_TRADES))
        assert fill.trade_id.startswith("alp3:")
        assert fill == Fill(
            trade_id=fill.trade_id,
            client_id="",
            symbol="BTC_USDT",
            side=Side.BUY,
            price=D("23400.34"),
            size=D("0.05"),
            fee=D("1.170017"),
            fee_asset="USDT",
            liquidity=Liquidity.MAKER,
            ts_ns=ALP_TS,
        )
        # The same trade, polled again with its numbers written differently,
        # gets the same id, so it is counted once.
        again = doc_json(ALP_V3_TRADES)
        again[0].update(price="23400.340", amount="0.050")
        assert alp.parse_account_trades_v3(again)[0].trade_id == fill.trade_id
        other = doc_json(ALP_V3_TRADES)
        other[0]["amount"] = 0.06
        assert alp.parse_account_trades_v3(other)[0].trade_id != fill.trade_id
        with_id = doc_json(ALP_V3_TRADES)
        with_id[0]["id"] = 99
        assert alp.parse_account_trades_v3(with_id)[0].trade_id == "99"

    def test_v3_ack(self) -> None:
        assert alp.parse_order_ack_v3(json.loads(ALP_V3_ACK)) == "34"
        assert alp.parse_order_ack_v3({"id": 35}) == "35"
        assert alp.parse_order_ack_v3([34]) == "34"  # the official docs' reply
        for bad in (None, True, "", [], [1, 2], [None]):
            with pytest.raises(ParseError):
                alp.parse_order_ack_v3(bad)


# ALP.COM, the official docs (seeds/reference/alp-api-docs.md) — JSON text as
# printed; a trailing ``, ...`` or ``...`` inside a list is dropped.

ALP_OFFICIAL_PAIRS = """[{
    "name": "BTC_USDT",
    "currency1": "BTC",
    "currency2": "USDT",
    "price_precision": 2,
    "amount_precision": 8,
    "minimum_order_size": 0.001,
    "maximum_order_size": 10.0,
    "minimum_order_value": 10.0
}]"""
ALP_OFFICIAL_ORDERBOOK = """{
    "buy": [
        {
            "amount": 1.0,
            "price": 45000.0
        },
        {
            "amount": 2.0,
            "price": 44990.0
        }
    ],
    "sell": [
        {
            "amount": 1.0,
            "price": 45010.0
        },
        {
            "amount": 2.0,
            "price": 45020.0
        }
    ]
}"""
ALP_OFFICIAL_TRADES = """[{
    "id": 1,
    "price": 45000.0,
    "amount": 2.5,
    "timestamp": 1630862400.0,
    "pair": "BTC_USDT",
    "type": "buy"
}]"""
ALP_OFFICIAL_ACCOUNTS = """[{
    "id": 123,
    "email": "example@email.com",
    "name": "John Doe"
}]"""
ALP_OFFICIAL_BALANCES = """[{
    "balance": 1000.0,
    "reserve": 500.0,
    "currency": "USDT",
    "wallet_type": "SPOT",
    "last_update_at": "2023-09-04T12:00:00Z",
    "account_id": 12345
}]"""
ALP_OFFICIAL_FEEINFO = """[{
    "account_id": 12345,
    "active_once": ["2023-09-04T12:00:00Z", "2023-09-05T12:00:00Z"],
    "taker_fee_rate": 0.002,
    "maker_fee_rate": 0.0015,
    "fee_currency": "USD",
    "priority": 1,
    "currency": null,
    "pair": null,
    "is_active": true
}]"""
ALP_OFFICIAL_ORDERS = """[{
    "id": 123,
    "account_id": 456,
    "pair": "BTC_USDT",
    "amount": 1.5,
    "price": 45000.0,
    "side": "BID",
    "status": "FILLED",
    "type": "LIMIT",
    "wallet_type": "SPOT",
    "amount_canceled": 0.0,
    "amount_filled": 1.5,
    "date": "2023-09-04T12:00:00Z",
    "open_at": "2023-09-04T11:59:00Z",
    "tif": "GTC",
    "updated_at": "2023-09-04T12:01:00Z",
    "done_at": null,
    "expire_after": null,
    "stop_price": null
}]"""
ALP_OFFICIAL_ACCOUNT_TRADES = """[{
    "id": 293107798,
    "pair": "BTC_USDT",
    "side": "BUY",
    "price": 45000.0,
    "amount": 1.0,
    "fee": 0.005,
    "timestamp": 1630862400.0,
    "order_id": 123456
}]"""
ALP_OFFICIAL_ACK = "[34]"
ALP_OFFICIAL_CANCEL = """{
  "1": "CANCELLED",
  "5": "CANCELLED",
  "8": "order not found"
}"""


class TestAlpOfficial:
    """The official docs' examples read by the same parsers as the seed's."""

    def test_pairs_carry_the_minimum_order_value(self) -> None:
        (inst,) = alp.parse_pairs(doc_json(ALP_OFFICIAL_PAIRS))
        assert (inst.symbol, inst.tick_size, inst.lot_size) == ("BTC_USDT", D("0.01"), D("1E-8"))
        assert (inst.min_size, inst.max_size, inst.min_notional) == (D("0.001"), D(10), D(10))

    def test_orderbook_and_public_trades(self) -> None:
        book = alp.parse_order_book(doc_json(ALP_OFFICIAL_ORDERBOOK), "BTC_USDT", 5)
        assert book.bids == [(45000.0, 1.0), (44990.0, 2.0)]
        assert book.asks == [(45010.0, 1.0), (45020.0, 2.0)]
        assert alp.parse_exchanges(doc_json(ALP_OFFICIAL_TRADES)) == [
            Trade(1630862400 * 10**9, "BTC_USDT", 45000.0, 2.5, Side.BUY, "1")
        ]

    def test_account_records(self) -> None:
        assert alp.parse_accounts_v3(doc_json(ALP_OFFICIAL_ACCOUNTS)) == [("123", None)]
        assert alp.parse_accounts_v3([{"id": 7, "parent_id": 123}]) == [("7", "123")]
        assert alp.parse_balances_v3(doc_json(ALP_OFFICIAL_BALANCES)) == {"USDT": D("1500.0")}
        fees = doc_json(ALP_OFFICIAL_FEEINFO)
        inside = iso_ns("2023-09-04T18:00:00+00:00")
        assert alp.parse_feeinfo_v3(fees, now_ns=inside) == {"": (D("0.0015"), D("0.002"))}
        assert alp.parse_feeinfo_v3(fees, now_ns=inside + 86_400 * 10**9) == {}  # expired
        by_id = [{**fees[0], "pair": 7, "active_once": [None, None]}]
        assert alp.parse_feeinfo_v3(by_id) == {"#7": (D("0.0015"), D("0.002"))}

    def test_orders(self) -> None:
        (row,) = alp.parse_order_rows_v3(doc_json(ALP_OFFICIAL_ORDERS))
        assert row.order == VenueOrder(
            venue="alp",
            venue_order_id="123",
            client_id=None,
            symbol="BTC_USDT",
            side=Side.BUY,  # "BID"
            type=OrderType.LIMIT,
            price=D("45000.0"),
            size=D("1.5"),
            filled=D("1.5"),
            avg_price=None,
            status=OrderStatus.FILLED,
            ts_ns=iso_ns("2023-09-04T12:01:00+00:00"),
            raw_status="FILLED",
            tif=TimeInForce.GTC,
            stop_price=None,
        )
        assert row.created_ns == iso_ns("2023-09-04T12:00:00+00:00") and row.done_ns is None
        # The previous revision's "BTC/USDT" and the other statuses of the official enum.
        old = {**doc_json(ALP_OFFICIAL_ORDERS)[0], "pair": "BTC/USDT", "amount_filled": 0.5}
        for status, expected in (
            ("PENDING", OrderStatus.PARTIALLY_FILLED),
            ("PARTIAL_FILLED", OrderStatus.PARTIALLY_FILLED),
            ("PARTIAL_CANCELED", OrderStatus.CANCELED),
            ("FAILED", OrderStatus.REJECTED),
            ("UNDEFINED", OrderStatus.UNKNOWN),
        ):
            order = alp.parse_order_v3({**old, "status": status, "side": "ASK"})
            assert (order.symbol, order.side, order.status) == ("BTC_USDT", Side.SELL, expected)

    def test_account_trades_name_their_order(self) -> None:
        (trade,) = alp.parse_account_trade_records_v3(doc_json(ALP_OFFICIAL_ACCOUNT_TRADES))
        assert trade.fill == Fill(
            trade_id="293107798",
            client_id="",
            symbol="BTC_USDT",
            side=Side.BUY,
            price=D("45000.0"),
            size=D("1.0"),
            fee=D("0.005"),
            fee_asset="USDT",  # not in the record: the quote currency, as in the seed
            liquidity=Liquidity.TAKER,  # not in the record
            ts_ns=1630862400 * 10**9,
            venue_order_id="123456",
        )
        assert trade.is_maker is None and trade.unfilled is None

    def test_place_and_cancel_replies(self) -> None:
        assert alp.parse_order_ack_v3(json.loads(ALP_OFFICIAL_ACK)) == "34"
        reply = alp.parse_cancel_reply_v3(json.loads(ALP_OFFICIAL_CANCEL))
        assert reply == {"1": "CANCELLED", "5": "CANCELLED", "8": "order not found"}
        assert [alp.cancel_succeeded(v) for v in reply.values()] == [True, True, False]
        assert alp.parse_cancel_reply_v3(None) == {}  # 202, no body
        with pytest.raises(ParseError, match="cancel"):
            alp.parse_cancel_reply_v3({"1": 2})
        with pytest.raises(ParseError) as empty:  # an empty key still names the field
            alp.parse_cancel_reply_v3({"": None})
        assert empty.value.field == '""'


# =====================================================================================
# Alpha5 (seed 000) — only the Asset schema is documented; every other payload
# here follows the field names this package assumes (not from the document).
# =====================================================================================

A5_ASSET = {"symbol": "ETH", "name": "Ethereum", "precision": 8}  # Schemas: Asset
A5_CONTRACT = {  # assumed shape
    "contract_symbol": "BTC-PERPETUAL",
    "asset": "BTC",
    "type": "future",
    "tick_size": "0.5",
    "lot_size": "10",
    "min_size": "10",
    "maker_fee": "-0.00025",
    "taker_fee": "0.00075",
}
A5_ORDER = {  # assumed shape
    "order_id": "ETH-123",
    "contract_symbol": "BTC-PERPETUAL",
    "side": "buy",
    "type": "limit",
    "price": "30000.5",
    "size": "100",
    "filled_size": "40",
    "avg_price": "30000",
    "status": "open",
    "time_in_force": "good_til_cancelled",
    "timestamp": 1700000000123,
}
A5_TRADE = {  # assumed shape
    "trade_id": "T-1",
    "order_id": "ETH-123",
    "contract_symbol": "BTC-PERPETUAL",
    "side": "sell",
    "price": 30001.5,
    "size": 20,
    "fee": "-0.0000001",
    "fee_asset": "BTC",
    "liquidity": "M",
    "timestamp": 1700000000,
}


class TestAlpha5:
    def test_assets(self) -> None:
        assert a5.parse_assets([A5_ASSET]) == {"ETH": 8}
        assert a5.parse_assets({"result": [A5_ASSET]}) == {"ETH": 8}

    def test_contracts(self) -> None:
        assert a5.parse_contracts([A5_CONTRACT]) == [
            Instrument(
                venue="alpha5",
                symbol="BTC-PERPETUAL",
                base="BTC",
                quote="USD",
                tick_size=D("0.5"),
                lot_size=D("10"),
                min_size=D("10"),
                kind="future",
                maker_fee=D("-0.00025"),
                taker_fee=D("0.00075"),
            )
        ]

    def test_contracts_deribit_aliases(self) -> None:
        payload = {
            "result": [
                {
                    "instrument_name": "ETH-PERPETUAL",
                    "base_currency": "ETH",
                    "quote_currency": "USD",
                    "kind": "future",
                    "tick_size": 0.05,
                    "min_trade_amount": 1,
                }
            ]
        }
        (inst,) = a5.parse_contracts(payload)
        assert (inst.symbol, inst.tick_size, inst.lot_size) == ("ETH-PERPETUAL", D("0.05"), D(1))

    def test_order(self) -> None:
        assert a5.parse_order(A5_ORDER) == VenueOrder(
            venue="alpha5",
            venue_order_id="ETH-123",
            client_id=None,
            symbol="BTC-PERPETUAL",
            side=Side.BUY,
            type=OrderType.LIMIT,
            price=D("30000.5"),
            size=D("100"),
            filled=D("40"),
            avg_price=D("30000"),
            status=OrderStatus.PARTIALLY_FILLED,
            ts_ns=1700000000123 * MS,
            raw_status="open",
            tif=TimeInForce.GTC,
        )
        assert a5.parse_order({"result": {"order": A5_ORDER}}) == a5.parse_order(A5_ORDER)
        assert a5.parse_orders({"orders": [A5_ORDER]}) == [a5.parse_order(A5_ORDER)]

    def test_market_order_without_numeric_price(self) -> None:
        order = a5.parse_order({**A5_ORDER, "type": "market", "price": "market_price"})
        assert order.price is None and order.type is OrderType.MARKET
        with pytest.raises(ParseError):
            a5.parse_order({**A5_ORDER, "price": "market_price"})

    def test_unknown_status(self) -> None:
        order = a5.parse_order({**A5_ORDER, "status": "triggered_somehow"})
        assert order.status is OrderStatus.UNKNOWN
        assert order.raw_status == "triggered_somehow"

    def test_user_trades(self) -> None:
        assert a5.parse_user_trades({"result": {"trades": [A5_TRADE]}}) == [
            Fill(
                trade_id="T-1",
                client_id="",
                symbol="BTC-PERPETUAL",
                side=Side.SELL,
                price=D("30001.5"),
                size=D("20"),
                fee=D("-0.0000001"),
                fee_asset="BTC",
                liquidity=Liquidity.MAKER,
                ts_ns=1700000000 * 10**9,
                venue_order_id="ETH-123",
            )
        ]
        taker = {**A5_TRADE, "liquidity": None, "is_maker": False}
        assert a5.parse_user_trades([taker])[0].liquidity is Liquidity.TAKER
        with pytest.raises(ParseError):
            a5.parse_user_trades([{**A5_TRADE, "liquidity": "X"}])

    def test_order_book(self) -> None:
        payload = {
            "result": {
                "bids": [[30000, 5], [30000.5, 1]],
                "asks": [{"price": "30001", "amount": "2"}],
                "timestamp": 1700000000123456,
            }
        }
        book = a5.parse_order_book(payload, "BTC-PERPETUAL", 1)
        assert book == BookSnapshot(
            1700000000123456000, "BTC-PERPETUAL", [(30000.5, 1.0), (30000.0, 5.0)], [(30001, 2)]
        )

    def test_ticker(self) -> None:
        payload = {"best_bid_price": 10, "best_ask_price": 11, "best_bid_amount": 3, "last": 0}
        assert a5.parse_ticker(payload, "X", 4) == Ticker(4, "X", 10.0, 11.0, 3.0, None, None)

    def test_recent_trades(self) -> None:
        payload = [{"id": 5, "price": "1.5", "amount": "2", "direction": "buy", "timestamp": 1}]
        assert a5.parse_recent_trades(payload, "X") == [Trade(10**9, "X", 1.5, 2.0, Side.BUY, "5")]
        with pytest.raises(ParseError):
            a5.parse_recent_trades(payload)  # no symbol anywhere


# =====================================================================================
# Numbers, times, and totality
# =====================================================================================


class TestNumbers:
    @pytest.mark.parametrize(
        "value,expected",
        [
            ("6048.22", "6048.22"),
            (" 0.10 ", "0.10"),
            (0.1, "0.1"),
            (1e-08, "1E-8"),
            (100000000.0, "100000000.0"),
            (620000, "620000"),
            ("-3", "-3"),
            ("1e3", "1E+3"),
        ],
    )
    def test_exact(self, value: object, expected: str) -> None:
        assert str(_common.parse_decimal(value, "v", "k", "f")) == expected

    @pytest.mark.parametrize(
        "value",
        [True, None, "", "abc", "1_000", "NaN", "Infinity", float("nan"), float("inf"), [], {},
         "1e999", 10**60, "0.1" + "0" * 60 + "1"],
    )  # fmt: skip
    def test_rejected(self, value: object) -> None:
        with pytest.raises(ParseError) as exc:
            _common.parse_decimal(value, "venue", "kind", "a.b")
        assert (exc.value.venue, exc.value.kind, exc.value.field) == ("venue", "kind", "a.b")

    @settings(max_examples=100, deadline=None)
    @given(
        st.builds(
            lambda digits, exponent: Decimal(f"{digits}E{exponent}"),
            st.integers(min_value=-(10**30), max_value=10**30),
            st.integers(min_value=-40, max_value=10),
        )
    )
    def test_decimal_round_trip(self, d: Decimal) -> None:
        for text in (str(d), format(d, "f")):
            parsed = _common.parse_decimal(text, "v", "k", "f")
            assert parsed == d
            assert str(parsed) == str(Decimal(text))  # same digits and exponent

    @settings(max_examples=100, deadline=None)
    @given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e30, max_value=1e30))
    def test_float_is_its_printed_decimal(self, x: float) -> None:
        expected = Decimal(repr(x))
        if expected.as_tuple().exponent < -40:  # type: ignore[operator]
            # Digits below 1e-40 (no money is that small): refused, never rounded.
            with pytest.raises(ParseError, match="out of range"):
                _common.parse_decimal(x, "v", "k", "f")
            return
        assert _common.parse_decimal(x, "v", "k", "f") == expected

    @settings(max_examples=100, deadline=None)
    @given(
        st.decimals(min_value=D("0.00000001"), max_value=D("1e12"), places=8),
        st.decimals(min_value=D("0.00000001"), max_value=D("1e6"), places=8),
    )
    def test_fill_round_trip(self, price: Decimal, size: Decimal) -> None:
        trade = {**BT_USER_TRADE, "price": str(price), "amount": str(size)}
        (fill,) = bt.parse_user_trades(trade)
        assert (str(fill.price), str(fill.size)) == (str(price), str(size))


class TestTimes:
    @pytest.mark.parametrize(
        "text,expected",
        [
            ("2022-10-06T08:28:06.801064-04:00", 1665059286801064000),
            ("2022-10-06T12:28:06Z", 1665059286000000000),
            ("2022-10-06 12:28:06.5", 1665059286500000000),
            ("2022-10-06T12:28:06.123456789+00:00", 1665059286123456789),
            ("2022-10-06T17:58:06+0530", 1665059286000000000),
        ],
    )
    def test_iso(self, text: str, expected: int) -> None:
        assert _common.iso_to_ns(text, "v", "k", "f") == expected

    @pytest.mark.parametrize(
        "text", ["", "2022-13-01T00:00:00Z", "2022-10-06", "yesterday", "2022-10-06T00:00:00+25:00"]
    )
    def test_bad_iso(self, text: str) -> None:
        with pytest.raises(ParseError):
            _common.iso_to_ns(text, "v", "k", "f")

    @pytest.mark.parametrize(
        "value,unit,expected",
        [
            (1533543752844, "ms", 1533543752844000000),
            (1483705817.735508, "s", 1483705817735508000),
            (1700000000, "auto", 1700000000 * 10**9),
            (1700000000123, "auto", 1700000000123 * MS),
            (1700000000123456, "auto", 1700000000123456000),
            (1700000000123456789, "auto", 1700000000123456789),
            ("1533543752844", "ms", 1533543752844000000),
        ],
    )
    def test_epoch(self, value: object, unit: str, expected: int) -> None:
        assert _common.epoch_to_ns(value, unit, "v", "k", "f") == expected

    @pytest.mark.parametrize("value", [-1, 10**30, True, "soon"])
    def test_bad_epoch(self, value: object) -> None:
        with pytest.raises(ParseError):
            _common.epoch_to_ns(value, "ms", "v", "k", "f")


class TestParseErrors:
    def test_field_paths(self, markets: bt.Markets) -> None:
        bad = copy.deepcopy(BT_USER_TRADES)
        bad["data"][0]["price"] = "abc"
        with pytest.raises(ParseError) as exc:
            bt.parse_user_trades(bad, markets)
        assert (exc.value.venue, exc.value.kind, exc.value.field) == (
            "blocktrade",
            "user_trade",
            "data[0].price",
        )

        pairs = doc_json(ALP_PAIRS)
        del pairs[0]["currency2"]
        with pytest.raises(ParseError, match=r"alp pair: \[0\]\.currency2: missing"):
            alp.parse_pairs(pairs)

        with pytest.raises(ParseError) as exc:
            bt.parse_orders(BT_WS_USER_ORDERS | {"payload": {"data": [{"id": 1}]}}, markets)
        assert exc.value.field.startswith("data[0].")

    def test_not_an_object(self) -> None:
        with pytest.raises(ParseError, match="<root>: expected a list"):
            alp.parse_pairs({"name": "x"})
        with pytest.raises(ParseError, match="expected an object"):
            bt.parse_ticker([], "X", 0)


# --- totality: nothing but ParseError, whatever arrives -----------------------------------

KNOWN_KEYS = sorted(
    {
        *BT_ASSET_EUR,
        *BT_PAIR,
        *BT_ORDER,
        *BT_USER_TRADE,
        *BT_TICKER,
        "data",
        "payload",
        "message_type",
        "bids",
        "asks",
        "buy",
        "sell",
        *doc_json(ALP_V3_ORDERS)[0],
        *doc_json(ALP_V3_TRADES)[0],
        *doc_json(ALP_PAIRS)[0],
        *doc_json(ALP_OFFICIAL_ORDERS)[0],
        *doc_json(ALP_OFFICIAL_ACCOUNT_TRADES)[0],
        *doc_json(ALP_OFFICIAL_PAIRS)[0],
        *doc_json(ALP_OFFICIAL_FEEINFO)[0],
        *A5_ORDER,
        *A5_TRADE,
        *A5_CONTRACT,
        "result",
    }
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(
        ["BUY", "sell", "LIMIT", "NEW", "1", "0", "-1", "1e5", "2022-10-06T08:28:06Z"]
    )
    | st.decimals(allow_nan=True).map(str)
)
json_like = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=6), children, max_size=6)
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, value: object) -> object:
    """A documented example with some of its fields dropped or replaced."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            action = draw(st.sampled_from(["keep", "keep", "recurse", "replace", "drop"]))
            if action == "keep":
                out[k] = v
            elif action == "recurse":
                out[k] = draw(mutated(v))
            elif action == "replace":
                out[k] = draw(json_like)
        return out
    if isinstance(value, list):
        return [draw(mutated(v)) for v in value if draw(st.booleans()) or len(value) == 1]
    return draw(st.one_of(st.just(value), json_like))


_MARKETS = bt.parse_markets([BT_PAIR], [BT_ASSET_EUR, BT_ASSET_BTC])


def left_out(err: ParseError) -> None:
    """A parser's ``skip`` under test: what it leaves out is a ParseError naming its field."""
    assert isinstance(err, ParseError) and err.venue and err.field


PARSERS: list[tuple[str, Callable[[Any], object], object]] = [
    ("bt.markets.pairs", lambda p: bt.parse_markets(p, [BT_ASSET_EUR, BT_ASSET_BTC]), [BT_PAIR]),
    ("bt.markets.assets", lambda p: bt.parse_markets([BT_PAIR], p), [BT_ASSET_EUR, BT_ASSET_BTC]),
    ("bt.order", lambda p: bt.parse_order(p, _MARKETS), BT_ORDER),
    ("bt.orders", lambda p: bt.parse_orders(p, _MARKETS), BT_WS_USER_ORDERS),
    ("bt.order_ack", bt.parse_order_ack, BT_ORDER_ACK),
    ("bt.user_trades", lambda p: bt.parse_user_trades(p, _MARKETS), BT_USER_TRADES),
    ("bt.user_trades.bare", bt.parse_user_trades, BT_USER_TRADE),
    ("bt.order_book", lambda p: bt.parse_order_book(p, "X", 0), BT_ORDER_BOOK),
    ("bt.ticker", lambda p: bt.parse_ticker(p, "X", 0), BT_TICKER),
    ("bt.trades", lambda p: bt.parse_trades(p, "X"), BT_TRADES),
    ("bt.ws_type", bt.ws_message_type, BT_WS_TRADES),
    (
        "bt.ws_book",
        lambda p: bt.parse_ws_order_book(p, _MARKETS, 0, snapshot=True),
        BT_WS_ORDER_BOOK,
    ),
    ("bt.ws_trades", lambda p: bt.parse_ws_trades(p, _MARKETS), BT_WS_TRADES),
    ("bt.ws_ticker", lambda p: bt.parse_ws_ticker(p, _MARKETS, 0), BT_WS_TICKER),
    ("alp.pairs", alp.parse_pairs, doc_json(ALP_PAIRS)),
    ("alp.tickers", alp.parse_tickers, doc_json(ALP_TICKER)),
    ("alp.book", lambda p: alp.parse_order_book(p, "X", 0), doc_json(ALP_ORDERBOOK)),
    ("alp.orders_v1", alp.parse_orders_v1, doc_json(ALP_ORDERS_OWN)),
    ("alp.order_v1", alp.parse_order_v1, doc_json(ALP_ORDER)),
    ("alp.ack_v1", alp.parse_order_ack_v1, doc_json(ALP_CREATE)),
    ("alp.exchanges", alp.parse_exchanges, doc_json(ALP_EXCHANGES)),
    ("alp.own_exchanges", alp.parse_own_exchanges_v1, doc_json(ALP_OWN_EXCHANGES)),
    ("alp.orders_v3", alp.parse_orders_v3, doc_json(ALP_V3_ORDERS)),
    ("alp.trades_v3", alp.parse_account_trades_v3, doc_json(ALP_V3_TRADES)),
    ("alp.ack_v3", alp.parse_order_ack_v3, 34),
    ("alp.official.pairs", alp.parse_pairs, doc_json(ALP_OFFICIAL_PAIRS)),
    (
        "alp.official.book",
        lambda p: alp.parse_order_book(p, "X", 0, skip=left_out),
        doc_json(ALP_OFFICIAL_ORDERBOOK),
    ),
    (
        "alp.official.trades",
        lambda p: alp.parse_exchanges(p, skip=left_out),
        doc_json(ALP_OFFICIAL_TRADES),
    ),
    ("alp.official.accounts", alp.parse_accounts_v3, doc_json(ALP_OFFICIAL_ACCOUNTS)),
    ("alp.official.balances", alp.parse_balances_v3, doc_json(ALP_OFFICIAL_BALANCES)),
    (
        "alp.official.feeinfo",
        lambda p: alp.parse_feeinfo_v3(p, now_ns=1_693_850_000 * 10**9),
        doc_json(ALP_OFFICIAL_FEEINFO),
    ),
    ("alp.official.orders", alp.parse_order_rows_v3, doc_json(ALP_OFFICIAL_ORDERS)),
    (
        "alp.official.account_trades",
        lambda p: alp.parse_account_trade_records_v3(p, skip=left_out),
        doc_json(ALP_OFFICIAL_ACCOUNT_TRADES) + doc_json(ALP_V3_TRADES),
    ),
    ("alp.official.ack", alp.parse_order_ack_v3, json.loads(ALP_OFFICIAL_ACK)),
    ("alp.official.cancel", alp.parse_cancel_reply_v3, json.loads(ALP_OFFICIAL_CANCEL)),
    ("a5.assets", a5.parse_assets, [A5_ASSET]),
    ("a5.contracts", a5.parse_contracts, [A5_CONTRACT]),
    ("a5.order", a5.parse_order, A5_ORDER),
    ("a5.orders", a5.parse_orders, [A5_ORDER]),
    ("a5.user_trades", a5.parse_user_trades, [A5_TRADE]),
    ("a5.book", lambda p: a5.parse_order_book(p, "X", 0), {"bids": [[1, 2]], "asks": []}),
    ("a5.ticker", lambda p: a5.parse_ticker(p, "X", 0), {"bid": 1, "ask": 2}),
    ("a5.trades", lambda p: a5.parse_recent_trades(p, "X"), [A5_TRADE]),
]


def check_result(result: object) -> None:
    """Whatever a parser returns is internally consistent."""
    items = result if isinstance(result, list | tuple) else [result]
    if isinstance(result, bt.Markets):
        items = list(result.instruments)
    for item in items:
        if isinstance(item, VenueOrder):
            assert 0 <= item.filled <= item.size
            assert isinstance(item.status, OrderStatus)
            assert item.ts_ns >= 0
        elif isinstance(item, Fill):
            assert item.size > 0 and item.price > 0
            assert isinstance(item.trade_id, str) and item.trade_id
        elif isinstance(item, Instrument):
            assert item.tick_size > 0 and item.lot_size > 0


@pytest.mark.parametrize("name,parser,example", PARSERS, ids=[p[0] for p in PARSERS])
def test_documented_example_parses(name: str, parser: Callable[[Any], object], example: object):
    check_result(parser(example))


@pytest.mark.parametrize("name,parser,example", PARSERS, ids=[p[0] for p in PARSERS])
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_only_parse_errors(
    name: str, parser: Callable[[Any], object], example: object, data: st.DataObject
) -> None:
    payload = data.draw(st.one_of(json_like, mutated(example)), label="payload")
    try:
        result = parser(payload)
    except ParseError as exc:
        assert exc.venue in ("blocktrade", "alp", "alpha5")
        assert exc.field
        return
    check_result(result)
