"""Alpha5 parsing from the published v1.0.0 document's own examples (seeds/reference).

Each ``V1_*`` text is copied from the document's example responses; the tests
change only what they say they change.
"""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

import pytest

from botkit.events import BookSnapshot, Ticker
from botkit.model import Instrument, OrderStatus, OrderType, Side, TimeInForce
from botkit.venues.alpha5 import parsing as a5
from botkit.venues.kit.errors import ParseError
from botkit.venues.kit.parsing import decode_json

V1_ASSETS = """[{"symbol": "USDT", "name": "Ethereum", "precision": 8}]"""
V1_CONTRACTS = """[
  {
    "symbol": "BTC-M20",
    "name": "BTC-June",
    "contract_type": "future",
    "settle_at": "2020-06-22T16:17:45Z",
    "launch_at": "2020-06-22T16:17:45Z",
    "tick_size": "0.5",
    "status": "operational",
    "initial_margin": "0.04",
    "maintainance_margin": "0.02",
    "maximum_position_limit": 1000,
    "quoting_asset": {"symbol": "USDT", "name": "Ethereum", "precision": 8},
    "settling_asset": {"symbol": "USDT", "name": "Ethereum", "precision": 8}
  }
]"""
V1_TICKER = """{
  "open": "10.000", "high": "10.000", "low": "10.000", "close": "10.000",
  "timestamp": 1592828815073
}"""
V1_ORDER_BOOK = """{
  "depth": 20,
  "buy": [{"price": "9200.23", "size": "779"}],
  "sell": [{"price": "9200.23", "size": "779"}]
}"""
V1_RECENT_TRADES = """[
  {"side": "buy", "price": "10.000", "size": "10.000", "timestamp": 1592828815073}
]"""
V1_ORDER = """{
  "id": "d25c9454-b488-11ea-b3de-0242ac130004",
  "type": "limit",
  "side": "buy",
  "status": "limit",
  "limit_price": "7891.33",
  "stop_price": "7891.30",
  "size": "1.33",
  "filled_size": "0.771",
  "cancelled_size": "0.12",
  "time_in_force": "good_til_cancelled",
  "contract": {"id": "d25c9454-b488-11ea-b3de-0242ac130004", "symbol": "BTC-M20"}
}"""
V1_POSITIONS = """[
  {"side": "buy", "price": "10.000", "contract_id": "d25c9454-b488-11ea-b3de-0242ac130004"}
]"""

MS = 1_000_000


def doc(text: str) -> Any:
    return json.loads(text)


def decode_body(raw: bytes, charset: str | None, kind: str) -> object:
    """A reply body as the Alpha5 client reads it: the kit's decoder, JSON numbers exact."""
    return decode_json(raw, "alpha5", kind, charset=charset, exact=True)


def order(**changes: object) -> dict[str, Any]:
    return {**doc(V1_ORDER), **changes}


# ----- reference data --------------------------------------------------------------------


def test_assets() -> None:
    assert a5.parse_assets(doc(V1_ASSETS)) == {"USDT": 8}
    # precision is not required by the schema: such an asset has none to offer
    assert a5.parse_assets([{"symbol": "BTC"}]) == {}


def test_linear_contract() -> None:
    (spec,) = a5.parse_contract_specs(doc(V1_CONTRACTS), {"BTC": 8, "USDT": 8})
    assert spec.instrument == Instrument(
        venue="alpha5",
        symbol="BTC-M20",
        base="BTC",
        quote="USDT",
        tick_size=D("0.5"),
        lot_size=D("0.00000001"),
        kind="future",
    )
    assert (spec.base, spec.quote, spec.settle, spec.inverse) == ("BTC", "USDT", "USDT", False)
    assert (spec.perpetual, spec.status, spec.operational) == (False, "operational", True)
    assert spec.max_position == D(1000) and spec.contract_id is None


def test_linear_contract_needs_the_base_assets_precision() -> None:
    # The document's own examples together: get_assets lists only USDT, and the
    # contract gives no lot size, so the size grid of BTC is unknown.
    with pytest.raises(ParseError) as exc:
        a5.parse_contracts(doc(V1_CONTRACTS), a5.parse_assets(doc(V1_ASSETS)))
    assert (exc.value.venue, exc.value.kind) == ("alpha5", "get_live_contracts")
    assert "lot_size" in exc.value.field and "BTC" in exc.value.detail


def inverse_contract(**changes: object) -> dict[str, Any]:
    (contract,) = doc(V1_CONTRACTS)
    contract.update(
        symbol="BTC-PERPETUAL",
        contract_type="perpetual",
        quoting_asset={"symbol": "USD", "name": "US Dollar", "precision": 0},
        settling_asset={"symbol": "BTC", "name": "Bitcoin", "precision": 8},
    )
    contract.update(changes)
    return contract


def test_inverse_contract() -> None:
    (spec,) = a5.parse_contract_specs([inverse_contract()])
    inst = spec.instrument
    assert (inst.base, inst.quote, inst.kind) == ("BTC", "USD", "inverse_perpetual")
    assert (inst.tick_size, inst.lot_size) == (D("0.5"), D(1))  # whole USD: precision 0
    assert (spec.inverse, spec.perpetual, spec.settle) == (True, True, "BTC")


def test_quanto_contract_is_refused_by_name() -> None:
    eth = {"symbol": "ETH", "name": "Ether", "precision": 8}
    with pytest.raises(ParseError) as exc:
        a5.parse_contract_specs([inverse_contract(settling_asset=eth)])
    assert exc.value.field == "[0].settling_asset.symbol" and "quanto" in exc.value.detail


@pytest.mark.parametrize("status", ["disrupted", "disrupted_post_only", "expired", "halted"])
def test_contract_status_is_kept(status: str) -> None:
    (spec,) = a5.parse_contract_specs([inverse_contract(status=status)])
    assert spec.status == status and not spec.operational


def test_bad_contract_rows_are_noted_and_the_others_kept() -> None:
    skipped: list[ParseError] = []
    good = inverse_contract()
    specs = a5.parse_contract_specs([{**good, "tick_size": "-1"}, good], None, skipped.append)
    assert [s.contract_symbol for s in specs] == ["BTC-PERPETUAL"]
    assert [p.field for p in skipped] == ["[0].tick_size|price_increment"]


# ----- market data -----------------------------------------------------------------------


def test_ticker() -> None:
    # v1.0.0 has no bid/ask: close is the last price.
    ticker = a5.parse_ticker(doc(V1_TICKER), "BTC-M20", 1)
    assert ticker == Ticker(1592828815073 * MS, "BTC-M20", None, None, None, None, 10.0)


def test_order_book() -> None:
    book = a5.parse_order_book(doc(V1_ORDER_BOOK), "BTC-M20", 7)
    assert book == BookSnapshot(7, "BTC-M20", [(9200.23, 779.0)], [(9200.23, 779.0)])


@pytest.mark.parametrize("payload", [{}, {"depth": 20}, {"bid": []}, {"buy": None}])
def test_an_order_book_of_unknown_shape_is_an_error_not_an_empty_book(payload: object) -> None:
    with pytest.raises(ParseError) as exc:
        a5.parse_order_book(payload, "BTC-M20", 7)
    assert (exc.value.venue, exc.value.kind) == ("alpha5", "order_book")
    assert "buy" in exc.value.field and "sell" in exc.value.field


def test_non_positive_book_levels_are_dropped_and_noted() -> None:
    payload = {
        "buy": [{"price": "9200", "size": "0"}, {"price": "9199", "size": "2"}],
        "sell": [{"price": "-1", "size": "3"}, {"price": "9201", "size": "1"}],
    }
    skipped: list[ParseError] = []
    book = a5.parse_order_book(payload, "X", 1, skipped.append)
    assert (book.bids, book.asks) == ([(9199.0, 2.0)], [(9201.0, 1.0)])
    assert [p.field for p in skipped] == ["buy[0]", "sell[0]"]
    with pytest.raises(ParseError):  # strict without a skip
        a5.parse_order_book(payload, "X", 1)


def test_recent_trades_get_stable_derived_ids() -> None:
    (trade,) = a5.parse_recent_trades(doc(V1_RECENT_TRADES), "BTC-M20")
    assert (trade.ts_ns, trade.symbol, trade.price, trade.size, trade.side) == (
        1592828815073 * MS,
        "BTC-M20",
        10.0,
        10.0,
        Side.BUY,
    )
    assert isinstance(trade.trade_id, str) and trade.trade_id.startswith("alpha5-trade:")
    (again,) = a5.parse_recent_trades(doc(V1_RECENT_TRADES), "BTC-M20")
    assert again.trade_id == trade.trade_id  # read twice, counted once downstream
    row = doc(V1_RECENT_TRADES)[0]
    twins = a5.parse_recent_trades([row, row, {**row, "price": "10.5"}], "BTC-M20")
    assert len({t.trade_id for t in twins}) == 3
    assert twins[0].trade_id == trade.trade_id and twins[1].trade_id == f"{trade.trade_id}#2"
    with pytest.raises(ParseError):
        a5.parse_recent_trades(doc(V1_RECENT_TRADES))  # no contract anywhere


def test_non_positive_trades_are_dropped_and_noted() -> None:
    row = doc(V1_RECENT_TRADES)[0]
    rows = [{**row, "price": "-5"}, {**row, "size": 0}, row]
    skipped: list[ParseError] = []
    trades = a5.parse_recent_trades(rows, "X", skipped.append)
    assert len(trades) == 1 and trades[0].price == 10.0
    assert [(p.kind, p.field.split(".")[0]) for p in skipped] == [
        ("recent_trades", "[0]"),
        ("recent_trades", "[1]"),
    ]


# ----- orders ----------------------------------------------------------------------------


def test_order_example() -> None:
    vo = a5.parse_order(doc(V1_ORDER), "place_order")
    assert (vo.venue_order_id, vo.symbol, vo.side, vo.type) == (
        "d25c9454-b488-11ea-b3de-0242ac130004",
        "BTC-M20",
        Side.BUY,
        OrderType.LIMIT,
    )
    assert (vo.price, vo.stop_price, vo.size, vo.filled) == (
        D("7891.33"),
        D("7891.30"),
        D("1.33"),
        D("0.771"),
    )
    assert (vo.tif, vo.ts_ns, vo.client_id, vo.avg_price) == (TimeInForce.GTC, 0, None, None)
    # The example's status is "limit", no OrderStatus value, and 0.439 is neither
    # filled nor cancelled: left to reconciliation, with the venue's word kept.
    assert (vo.status, vo.raw_status) == (OrderStatus.UNKNOWN, "limit")


@pytest.mark.parametrize(
    "status,filled,cancelled,expected",
    [
        ("open", "0", "0", OrderStatus.OPEN),
        ("open", "0.771", "0", OrderStatus.PARTIALLY_FILLED),
        ("open", "0.771", "0.559", OrderStatus.CANCELED),  # the rest was cancelled
        ("open", "0", "1.33", OrderStatus.CANCELED),
        ("filled", "1.33", "0", OrderStatus.FILLED),
        ("limit", "1.33", "0", OrderStatus.FILLED),  # the sizes say it all traded
        ("limit", "0.771", "0.559", OrderStatus.CANCELED),
        ("cancelled", "0", "0", OrderStatus.CANCELED),  # an older word, still read
    ],
)
def test_order_status_from_word_and_sizes(
    status: str, filled: str, cancelled: str, expected: OrderStatus
) -> None:
    vo = a5.parse_order(order(status=status, filled_size=filled, cancelled_size=cancelled))
    assert vo.status is expected and vo.raw_status == status


def test_inconsistent_order_sizes_are_refused() -> None:
    with pytest.raises(ParseError) as exc:
        a5.parse_order(order(filled_size="1", cancelled_size="1"))
    assert "cancelled_size" in exc.value.field
    with pytest.raises(ParseError) as exc:
        a5.parse_order(order(contract={"id": "x"}))  # a contract without its symbol
    assert "contract.symbol" in exc.value.field


def test_open_orders_list() -> None:
    (listed,) = a5.parse_orders([doc(V1_ORDER)], "get_open_orders")
    assert listed == a5.parse_order(doc(V1_ORDER))
    ((vo, created),) = a5.parse_orders_created([doc(V1_ORDER)])
    assert created is None and vo.ts_ns == 0  # v1.0.0 orders carry no time


# ----- positions and user trades ---------------------------------------------------------


def test_positions_example_has_no_size_to_report() -> None:
    skipped: list[ParseError] = []
    assert a5.parse_positions(doc(V1_POSITIONS), "BTC-M20", skipped.append) == {}
    (problem,) = skipped
    assert (problem.kind, problem.field) == ("get_positions", "[0].size|amount")
    # A venue that adds the size: the document's side says which way.
    sized = [{**doc(V1_POSITIONS)[0], "side": "sell", "size": "3"}]
    assert a5.parse_positions(sized, "BTC-M20") == {"BTC-M20": D(-3)}


USER_TRADE = {  # no schema in either document: an Order/RecentTrade-like row
    "order_id": "d25c9454-b488-11ea-b3de-0242ac130004",
    "contract": {"id": "c-1", "symbol": "BTC-M20"},
    "side": "buy",
    "price": "7891.5",
    "size": "0.5",
    "timestamp": 1592828815073,
}


def test_user_trades_without_ids_get_stable_ones() -> None:
    (fill,) = a5.parse_user_trades([USER_TRADE])
    assert (fill.symbol, fill.venue_order_id, fill.price, fill.size) == (
        "BTC-M20",
        USER_TRADE["order_id"],
        D("7891.5"),
        D("0.5"),
    )
    assert fill.trade_id.startswith("alpha5-fill:")
    assert a5.parse_user_trades([USER_TRADE])[0].trade_id == fill.trade_id
    twins = a5.parse_user_trades([USER_TRADE, USER_TRADE])
    assert [f.trade_id for f in twins] == [fill.trade_id, f"{fill.trade_id}#2"]
    other = a5.parse_user_trades([{**USER_TRADE, "size": "0.25"}])[0]
    assert other.trade_id != fill.trade_id
    # A row naming only its order is placed by what we know of that order.
    bare = {k: v for k, v in USER_TRADE.items() if k != "contract"}
    known = {USER_TRADE["order_id"]: "BTC-M20"}
    assert a5.parse_user_trades([bare], None, known)[0].symbol == "BTC-M20"


def test_a_bad_user_trade_row_is_skipped_and_the_others_kept() -> None:
    rows = [
        USER_TRADE,
        {**USER_TRADE, "price": None},
        {**USER_TRADE, "price": "1e999999999999999999999"},
        {**USER_TRADE, "size": "-1"},
        {**USER_TRADE, "timestamp": 1592828815074},
    ]
    skipped: list[ParseError] = []
    fills = a5.parse_user_trades(rows, skipped.append)
    assert [f.ts_ns for f in fills] == [1592828815073 * MS, 1592828815074 * MS]
    assert [(p.venue, p.kind, p.field) for p in skipped] == [
        ("alpha5", "get_user_trades", "[1].price"),
        ("alpha5", "get_user_trades", "[2].price"),
        ("alpha5", "get_user_trades", "[3].size|amount"),
    ]
    with pytest.raises(ParseError):
        a5.parse_user_trades(rows)  # strict without a skip


# ----- bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,charset",
    [
        (b"\xff\xfe{", None),  # not UTF-8
        (b"{}", "no-such-charset"),
        (b"[" * 100_000 + b"]" * 100_000, None),  # nested too deep
        (b"<html>bad gateway</html>", None),
        (b'{"price": 1e999999999999999999999}', None),
        (b"1" * 5000, None),  # beyond the integer digits JSON may carry
    ],
)
def test_unreadable_bodies_are_parse_errors(raw: bytes, charset: str | None) -> None:
    try:
        body = decode_body(raw, charset, "order_book")
    except ParseError as exc:
        assert (exc.venue, exc.kind, exc.field) == ("alpha5", "order_book", "<root>")
        return
    # Decoded after all (a huge number is legal JSON): the parser refuses it by name.
    with pytest.raises(ParseError) as exc:
        a5.parse_order_book(body, "X", 0)
    assert exc.value.kind == "order_book"


def test_json_numbers_are_exact() -> None:
    body = decode_body(b'{"price": 0.1234567890123456789}', None, "ticker")
    assert body == {"price": D("0.1234567890123456789")}
