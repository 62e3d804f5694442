"""What goes on the wire for each reading of ALP.COM's API: paths, bodies, filters.

Two documents describe ALP's v3 API and they differ (seeds/reference/README.md
lists how). ``api="seed"`` follows the seed document 001 ("API v3" section, with
the v1 public endpoints); ``api="official"`` follows the official published docs
(reference/alp-api-docs.md, "Welcome to ALP.COM API v3 docs!"). A ``Document``
holds everything that differs on the sending side; parsing accepts both
readings whichever is chosen (``parsing``).

=================  ==============================  ======================================
                   seed (001)                      official (alp-api-docs.md)
=================  ==============================  ======================================
v3 auth            ``api-key``/``api-secret``      JWT bearer + ``X-SIGN`` (POST/DELETE)
instruments        ``GET /api/v1/pairs/``          ``GET /api/v3/pairs`` (+ min. value)
order book         ``GET /api/v1/orderbook/<p>``   ``GET /api/v3/orderbook?pair=``
public trades      ``GET /api/v1/exchanges/``      ``GET /api/v3/trades?pair=&limit=``
accounts           ``GET /api/v3/accounts``        not needed (no account_id on place)
fee info           ``GET /api/v3/feeinfo``         ``GET /api/v3/accounts/feeinfo``
balances           ``GET /api/v3/accounts/balances`` the same
orders             ``GET /api/v3/orders``          ``GET /api/v3/accounts/order``
place              ``POST /api/v3/orders``         ``POST /api/v3/trading/order``
cancel             ``DELETE /api/v3/orders``       ``DELETE /api/v3/trading/order``
account trades     ``GET /api/v3/accounts/trades`` the same, unix-second filters, limit 100
amounts in bodies  JSON numbers                    decimal strings
place fields       account_id, tif, ...            post_only; no tif in the table
cancel all         ``{"all": true, "pair": ""}``   ``{"all": true}`` or ``{"pair": p}``
=================  ==============================  ======================================

Choices on the sending side (each one an adapter option):

* ``tif``: the seed's place body has it; the official place table has not,
  though the official constants list GTC/IOC/FOK, its orders carry ``tif`` and
  the Python client it links sends ``tif``. ``send_tif`` = ``"always"`` (seed
  default), ``"unless_gtc"`` (official default: a GTC order goes without it, an
  IOC/FOK order with it), ``"never"`` (IOC/FOK orders are then refused locally,
  never silently sent as GTC).
* Official market BUY: the note says ``quote_amount`` is required, the table
  calls ``base_amount`` optional and the example sends ``base_amount``; the bot
  has a base size only, so ``base_amount`` is sent (a venue enforcing the note
  refuses the order, which is reported as such).
* Official order list: HEAD documents no query parameters ("up to 100 most
  recent"); the previous revision documented ``pair``/``open_only``; those two
  are sent and the reply is filtered again here, so a venue ignoring them
  still works. Time filters are not sent to it.
* ``stop_operator``: GTE for a buy stop, LTE for a sell stop (a buy stop
  triggers on a rise, a sell stop on a fall).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from botkit.model import Order, OrderType, Side, TimeInForce
from botkit.venues.kit.types import ORDER_TYPE_NAMES, SIDE_NAMES, TIF_NAMES

__all__ = [
    "DOCUMENTS",
    "OFFICIAL",
    "SEED",
    "Api",
    "Document",
    "SendTif",
    "cancel_all_body",
    "cancel_ids_body",
    "iso_seconds",
    "place_body",
    "trade_window",
]

Api = Literal["seed", "official"]
SendTif = Literal["always", "unless_gtc", "never"]
_NS = 1_000_000_000


@dataclass(frozen=True)
class Document:
    """One reading of the API: its paths and the shapes of what is sent."""

    name: Api
    v3_auth: Literal["api-key", "jwt"]
    pairs: str
    orderbook: str  # "{pair}" is replaced; without it the pair goes in the query
    public_trades: str
    accounts: str | None  # None: the place body takes no account_id
    feeinfo: str
    balances: str
    orders: str
    place: str
    cancel: str
    trades: str
    numbers: Literal["number", "string"]
    send_tif: SendTif
    post_only: bool  # the place body has a post_only flag
    trade_times: Literal["rfc3339", "unix"]  # the account-trade filters' format
    order_times: bool  # the order list takes start_time/end_time filters
    trades_limit: int | None  # the documented page size cap of account trades
    trade_ids: bool  # account trades name their trade and order (exact attribution)


SEED = Document(
    name="seed",
    v3_auth="api-key",
    pairs="/api/v1/pairs/",
    orderbook="/api/v1/orderbook/{pair}",
    public_trades="/api/v1/exchanges/",
    accounts="/api/v3/accounts",
    feeinfo="/api/v3/feeinfo",
    balances="/api/v3/accounts/balances",
    orders="/api/v3/orders",
    place="/api/v3/orders",
    cancel="/api/v3/orders",
    trades="/api/v3/accounts/trades",
    numbers="number",
    send_tif="always",
    post_only=False,
    trade_times="rfc3339",
    order_times=True,
    trades_limit=None,
    trade_ids=False,
)

OFFICIAL = Document(
    name="official",
    v3_auth="jwt",
    pairs="/api/v3/pairs",
    orderbook="/api/v3/orderbook",
    public_trades="/api/v3/trades",
    accounts=None,
    feeinfo="/api/v3/accounts/feeinfo",
    balances="/api/v3/accounts/balances",
    orders="/api/v3/accounts/order",
    place="/api/v3/trading/order",
    cancel="/api/v3/trading/order",
    trades="/api/v3/accounts/trades",
    numbers="string",
    send_tif="unless_gtc",
    post_only=True,
    trade_times="unix",
    order_times=False,
    trades_limit=100,
    trade_ids=True,
)

DOCUMENTS: dict[str, Document] = {"seed": SEED, "official": OFFICIAL}


def iso_seconds(ns: int) -> str:
    """The seed's ``2006-01-02T15:04:05Z07:00`` (whole seconds, floored), in UTC."""
    return f"{datetime.fromtimestamp(ns // _NS, UTC):%Y-%m-%dT%H:%M:%S}Z"


def _time(doc: Document, ns: int) -> str | int:
    return iso_seconds(ns) if doc.trade_times == "rfc3339" else ns // _NS


def trade_window(doc: Document, start_ns: int, end_ns: int | None) -> dict[str, object]:
    """The account-trade time filters: ``start_time`` (>=) and ``end_time`` (<), floored
    to whole seconds — inclusive of ``start_ns`` under either format."""
    params: dict[str, object] = {"start_time": _time(doc, start_ns)}
    if end_ns is not None:
        params["end_time"] = _time(doc, end_ns)
    return params


def place_body(
    doc: Document,
    order: Order,
    pair: str,
    amount: Decimal,
    *,
    account_id: str | None,
    send_tif: SendTif,
) -> dict[str, object]:
    """The place body; ``ValueError`` for an order this reading cannot express."""
    body: dict[str, object] = {
        "pair": pair,
        "order_side": SIDE_NAMES[order.side],  # both documents: BUY / SELL
        "order_type": ORDER_TYPE_NAMES[order.type],  # LIMIT, MARKET, STOP_LIMIT, STOP_MARKET
        "wallet_type": "SPOT",
    }
    if account_id is not None and doc.accounts is not None:
        body["account_id"] = int(account_id) if account_id.isdigit() else account_id
    if send_tif == "always" or (send_tif == "unless_gtc" and order.tif is not TimeInForce.GTC):
        body["tif"] = TIF_NAMES[order.tif]
    elif order.tif is not TimeInForce.GTC:
        raise ValueError(f"{order.tif.value} orders need the tif field, and send_tif is 'never'")
    body["base_amount"] = amount
    if order.type.needs_price:
        if order.price is None:
            raise ValueError(f"{order.type.value} order without a price")
        body["limit_price"] = order.price
    if order.type.is_stop:
        if order.stop_price is None:
            raise ValueError("stop order without a stop price")
        body["stop_price"] = order.stop_price
        body["stop_operator"] = "GTE" if order.side is Side.BUY else "LTE"
    body["client_order_id"] = order.venue_client_id
    if order.post_only and doc.post_only and order.type is OrderType.LIMIT:
        body["post_only"] = True
    return body


def cancel_ids_body(ids: list[str]) -> dict[str, object]:
    """Cancel by venue ids (both readings): ``{"order_ids": [...]}`` with integer ids."""
    return {"order_ids": [int(i) if i.isdigit() else i for i in ids]}


def cancel_all_body(doc: Document, pair: str | None) -> dict[str, object]:
    """Cancel everything, or everything on one pair.

    The seed: "``all``=true, ``pair`` can be specified" (its example sends all three
    keys, ``"pair": ""`` for none). The official docs: "exactly one of order_ids,
    all, or pair".
    """
    if doc.name == "seed":
        return {"all": True, "pair": pair or ""}
    return {"pair": pair} if pair else {"all": True}
