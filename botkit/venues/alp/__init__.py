"""ALP.COM: spot REST, v3 orders/trades/balances (seed document 001 or the official docs).

``AlpAdapter`` (``adapter``) is the live adapter, on the kit's ``AdapterBase``,
over the REST client ``rest`` (the kit's ``RestClient`` and ``SignedCalls``);
``options.AlpOptions`` is ``venue.options``; ``auth`` computes the three
authentication schemes (v1 ``X-KEY``/``X-SIGN``/``X-NONCE``; v3
``api-key``/``api-secret`` headers as the seed says; v3 JWT bearer + ``X-SIGN``
of the body as the official docs say); ``wire`` holds what each document sends
(paths, bodies, filters); ``parsing`` reads both documents' payloads into model
values and error replies into ``botkit.venues.kit.errors`` types; ``memory`` is
what the adapter remembers of venue orders to attribute trades that name none.

Choices where the documents are unclear (details in the modules' docstrings):

* Which document: ``api="seed"`` (default) or ``api="official"``; replies are
  read in either shape whichever is chosen.
* v3 auth: the seed's ``api-key``/``api-secret`` headers, or the official JWT +
  ``X-SIGN`` (``v3_auth``; default: the chosen document's).
* v1 GET requests: the examples sign ``{}`` even when query filters are sent;
  that is the default, ``sign_query_params=True`` signs the query instead.
* Nonces (v1): strictly increasing milliseconds from a persisted ``NonceSource``.
* v1 order amounts (``amount``/``amount_filled``/``amount_original``) are used
  inconsistently in the examples; see ``parsing`` for the reading chosen.
* Fills: exact by the official trade's ``order_id``; the seed's trades name no
  order, so no two live orders of the account share a pair, side and price
  (``twin_orders``), which makes their attribution exact.
* The private-call limit is 2 calls a second per account, enforced by the REST
  client with the kit's margin (``rate_margin``, 10 %); 100 a second per IP for
  public calls.
"""

from botkit.venues.alp.adapter import AlpAdapter
from botkit.venues.alp.auth import sign_headers
from botkit.venues.alp.options import AlpOptions
from botkit.venues.alp.parsing import VENUE, classify_error, parse_pairs
from botkit.venues.registry import Capabilities, VenueSpec

SPEC = VenueSpec(
    name="alp",
    title="ALP.COM",
    auth="hmac-or-jwt",
    # post_only: the official document's flag (api="official"); the seed has none.
    capabilities=Capabilities(client_id=True, post_only=True, withdrawals=True),
    credentials=("api_key", "api_secret"),
    adapter="botkit.venues.alp.adapter:AlpAdapter",
    options="botkit.venues.alp.options:AlpOptions",
    simulator="botkit.simulator.alp",
    document="001",
    withdrawal_client="botkit.treasury.alp.client:AlpWithdrawalClient",
)

__all__ = [
    "SPEC",
    "VENUE",
    "AlpAdapter",
    "AlpOptions",
    "classify_error",
    "parse_pairs",
    "sign_headers",
]
