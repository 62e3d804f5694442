"""The simulator kit: what the venues' protocol simulators share.

Each venue's simulator (``botkit.simulator.<venue>``) supplies only its routes,
its authentication check (written from its own document, never imported from
the adapters) and its payload and error shapes; the kit gives it:

* :class:`VenueServer` / :class:`Route` — the server base: routes installed
  behind one error path that answers every malformed request with the venue's
  documented 4xx (``kit.server``);
* :class:`SimRequest` / :class:`Refusal` — a request read strictly (charset,
  UTF-8, JSON depth, duplicate keys, lone surrogates, huge numbers) and the
  refusal any check raises (``kit.request``);
* :class:`Params` — documented parameters read by name and type, unknown ones
  refused (``kit.params``);
* :class:`SignedHeaders`, :class:`NonceBook`, :class:`RateLimit`,
  :func:`hmac_sha256_hex`, :func:`bearer_token`, :func:`same` — the parts
  authentication checks are made of (``kit.auth``);
* :func:`split_options` — a venue's ``make_server(**options)`` into its options
  dataclass and the backend's, unknown names refused;
* :class:`Faults` — stalls, 5xx before or after acting, websocket drops,
  duplicated and reordered account messages (``botkit.simulator.faults``);
* :class:`WsSession` — one websocket connection with faults and liveness
  (``kit.websocket``).
"""

from botkit.simulator.faults import Faults
from botkit.simulator.kit.auth import (
    NonceBook,
    RateLimit,
    SignedHeaders,
    bearer_token,
    hmac_sha256_hex,
    parse_nonce,
    same,
    unauthorized,
)
from botkit.simulator.kit.params import Params
from botkit.simulator.kit.request import Refusal, SimRequest, decode_json, read_request
from botkit.simulator.kit.server import Route, VenueServer, split_options, to_json
from botkit.simulator.kit.websocket import WsSession

__all__ = [
    "Faults",
    "NonceBook",
    "Params",
    "RateLimit",
    "Refusal",
    "Route",
    "SignedHeaders",
    "SimRequest",
    "VenueServer",
    "WsSession",
    "bearer_token",
    "decode_json",
    "hmac_sha256_hex",
    "parse_nonce",
    "read_request",
    "same",
    "split_options",
    "to_json",
    "unauthorized",
]
