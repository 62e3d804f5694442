"""Alpha5: derivatives REST (seed document 000 and the published v1.0.0 document).

``auth`` builds the optional bearer header and encodes requests; ``rest`` makes
either document's requests on the kit's HTTP core (option ``api``:
``"v1.0.0"``, the default, or ``"seed"``); ``parsing`` turns payloads into
model values and error replies into ``botkit.venues.kit.errors`` types;
``options.Alpha5Options`` is ``venue.options``; ``adapter.Alpha5Adapter`` is
the ``VenueAdapter``, built on the kit's ``AdapterBase``.

Choices where the documents are unclear (details in the modules' docstrings):

* Replies are read as v1.0.0's schemas (contracts with nested
  ``quoting_asset``/``settling_asset``, books as ``buy``/``sell``, orders with a
  nested ``contract``), and still as the older assumed shapes.
* Authentication is "None" in the seed and bearer in v1.0.0: an optional
  bearer token from the config (a string or a ``Secret``) is sent as
  ``Authorization: Bearer <token>``.
* A contract settled in its base asset is inverse (size in USD, value =
  size / price in the settling asset): ``Instrument.kind`` ``inverse_*``.
* Only ``operational`` contracts trade; ``disrupted_post_only`` takes post-only
  orders only; ``expired`` contracts are not offered.
* ``place_order`` documents no side parameter; the adapter sends ``side``
  (``buy``/``sell``, the values the parsers also read back).
* Post-only: "the price will be changed to be just below the bid" is read as
  buy -> best ask - tick, sell -> best bid + tick (the risk module's ``slide``).
* No trade id is documented: recent and user trades without one get a stable
  id derived from their fields.
* No client order id is documented: the adapter keeps the venue's order id and
  finds orders by it, with a side/type/price/size match as the fallback.
* No websocket is documented: fills and market data are polled over REST.
"""

from botkit.venues.alpha5.adapter import Alpha5Adapter
from botkit.venues.alpha5.auth import auth_headers, query_params
from botkit.venues.alpha5.options import Alpha5Options
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
    options="botkit.venues.alpha5.options:Alpha5Options",
    simulator="botkit.simulator.alpha5",
    document="000",
    withdrawal_client="botkit.treasury.alpha5.client:Alpha5WithdrawalClient",
)

__all__ = [
    "SPEC",
    "VENUE",
    "Alpha5Adapter",
    "Alpha5Options",
    "auth_headers",
    "classify_error",
    "parse_contracts",
    "query_params",
]
