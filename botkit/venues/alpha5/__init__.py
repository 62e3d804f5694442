"""Alpha5: derivatives REST (seed document 000).

``auth`` builds the optional bearer header and query strings; ``parsing`` turns
payloads into model values and error replies into ``botkit.venues.kit.errors``
types.

Choices where the document is unclear (details in the modules' docstrings):

* Authentication is documented as "None"; an optional bearer token from the
  config is sent as ``Authorization: Bearer <token>``.
* ``place_order`` documents no side parameter; the adapter sends ``side=buy`` or
  ``side=sell`` (the values the parsers also read back).
* Parameters go in the query string, as documented, POSTs included (several
  private calls are GETs).
* Post-only: "the price will be changed to be just below the bid" is read as
  buy -> best ask - tick, sell -> best bid + tick (the risk module's ``slide``).
* No response schemas are documented; the field names the parsers read are an
  explicit assumption (the document's parameter names first, Deribit-style
  aliases after them).
* No client order id is documented: the adapter keeps the venue's order id and
  finds orders by it, with a side/type/price/size/time match as the fallback.
* No websocket is documented: fills and market data are polled over REST.

``rest`` is the HTTP client and ``adapter.Alpha5Adapter`` the ``VenueAdapter``.
"""

from botkit.venues.alpha5.adapter import Alpha5Adapter
from botkit.venues.alpha5.auth import auth_headers, query_params
from botkit.venues.alpha5.parsing import VENUE, classify_error, parse_contracts
from botkit.venues.registry import Capabilities, VenueSpec

SPEC = VenueSpec(
    name="alpha5",
    title="Alpha5",
    auth="bearer",
    capabilities=Capabilities(
        edit=True, post_only=True, reduce_only=True, positions=True, withdrawals=True
    ),
    adapter="botkit.venues.alpha5.adapter:Alpha5Adapter",
    simulator="botkit.simulator.alpha5",
    document="000",
)

__all__ = [
    "SPEC",
    "VENUE",
    "Alpha5Adapter",
    "auth_headers",
    "classify_error",
    "parse_contracts",
    "query_params",
]
