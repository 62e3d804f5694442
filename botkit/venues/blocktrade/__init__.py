"""BlockTrade: spot REST + websockets (seed document 004).

``auth`` signs requests (``X-Api-Key``/``X-Nonce``/``X-Signature``: upper-case
hex HMAC-SHA256 of ``KEY.NONCE[.BODY]``); ``parsing`` turns the venue's payloads
into model values and its error replies into ``botkit.venues.kit.errors`` types.

Choices where the document is unclear (details in the modules' docstrings):

* Nonces: the example uses whole seconds, which repeat; a ``NonceSource``
  (milliseconds, persisted) is used instead — the venue only asks for increase.
* Prices and amounts are sent as strings (typed "number as string", although
  the example sends ``"price": 1000``); ``json_body`` writes Decimals that way.
* Order status: NEW/FILLED (the enum) plus PARTIALLY_FILLED (the examples) and
  CANCELLED/CANCELED, REJECTED, EXPIRED; anything else is UNKNOWN and left to
  reconciliation.
* User trades on the websocket: both the bare trade object and the framed
  ``{message_type, payload: {data: [...]}}`` shape are accepted.
* Symbols are ``BASE/QUOTE`` iso codes; min/max order value come from the
  quote asset; fee rates from ``GET /fees`` (the quote asset's entry, else
  ``default``), else the fills alone.
* Client ids: each attempt of an order (``Order.venue_client_id``) is its own
  ``customer_order_id``, reported back verbatim.
* Market data and user trades: a row that does not parse (a non-positive price
  or size among them) is skipped and counted; the rest of the page stands.
"""

from botkit.venues.blocktrade.adapter import BlockTradeAdapter
from botkit.venues.blocktrade.auth import sign_headers
from botkit.venues.blocktrade.options import BlockTradeOptions
from botkit.venues.blocktrade.parsing import VENUE, Markets, classify_error, parse_markets
from botkit.venues.registry import Capabilities, VenueSpec

SPEC = VenueSpec(
    name="blocktrade",
    title="BlockTrade",
    auth="hmac",
    capabilities=Capabilities(
        client_id=True, user_trade_stream=True, market_stream=True, withdrawals=True
    ),
    credentials=("api_key", "api_secret"),
    adapter="botkit.venues.blocktrade.adapter:BlockTradeAdapter",
    options="botkit.venues.blocktrade.options:BlockTradeOptions",
    simulator="botkit.simulator.blocktrade",
    document="004",
    withdrawal_client="botkit.treasury.blocktrade.client:BlockTradeWithdrawalClient",
)

__all__ = [
    "SPEC",
    "VENUE",
    "BlockTradeAdapter",
    "BlockTradeOptions",
    "Markets",
    "classify_error",
    "parse_markets",
    "sign_headers",
]
