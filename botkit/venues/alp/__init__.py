"""ALP.COM: spot REST v1, and v3 orders/trades/balances (seed document 001).

``AlpAdapter`` (``adapter``) is the live adapter over the REST client ``rest``;
``auth`` signs requests (``X-KEY``/``X-SIGN``/``X-NONCE``: lower-case hex
HMAC-SHA256 of key + sorted, form-encoded payload); ``parsing`` turns payloads
into model values and error replies into ``botkit.venues.kit.errors`` types.

Choices where the document is unclear (details in the modules' docstrings):

* GET requests: the examples sign ``{}`` even when query filters are sent; that
  is the default, ``sign_query_params=True`` signs the query instead.
* v3 documents no signing scheme; it is signed like v1.
* Nonces: strictly increasing milliseconds from a persisted ``NonceSource``.
* v1 order amounts (``amount``/``amount_filled``/``amount_original``) are used
  inconsistently in the examples; see ``parsing`` for the reading chosen.
* v3 account trades carry no trade id; a stable id is derived from the record.
* The private-call limit is 2 calls a second per account (the risk module's
  rate limit), 100 a second per IP for public calls.
"""

from botkit.venues.alp.adapter import AlpAdapter
from botkit.venues.alp.auth import sign_headers
from botkit.venues.alp.parsing import VENUE, classify_error, parse_pairs
from botkit.venues.registry import Capabilities, VenueSpec

SPEC = VenueSpec(
    name="alp",
    title="ALP.COM",
    auth="hmac",
    capabilities=Capabilities(client_id=True, post_only=True, withdrawals=True),
    credentials=("api_key", "api_secret"),
    adapter="botkit.venues.alp.adapter:AlpAdapter",
    simulator="botkit.simulator.alp",
    document="001",
)

__all__ = ["SPEC", "VENUE", "AlpAdapter", "classify_error", "parse_pairs", "sign_headers"]
