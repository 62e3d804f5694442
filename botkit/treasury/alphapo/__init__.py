"""AlphaPo: crypto withdrawals (seed document 002), an API that only withdraws.

``auth`` signs (``X-Processing-Key``, ``X-Processing-Signature`` = lower-case hex
HMAC-SHA512 of the exact body bytes), ``rest`` builds and sends the one
documented call, ``parsing`` reads its reply and errors, ``client`` keeps the
document's rules (see its docstring for every choice). The protocol simulator is
``botkit.simulator.alphapo``.
"""

from botkit.treasury.alphapo.auth import sign_headers, signature
from botkit.treasury.alphapo.client import AlphaPoClient
from botkit.treasury.alphapo.options import AlphaPoOptions
from botkit.treasury.alphapo.parsing import VENUE, classify_error, parse_created
from botkit.venues.registry import Capabilities, VenueSpec

SPEC = VenueSpec(
    name=VENUE,
    title="AlphaPo (crypto withdrawals)",
    kind="withdrawals",
    auth="hmac",
    capabilities=Capabilities(withdrawals=True),
    credentials=("api_key", "api_secret"),
    simulator="botkit.simulator.alphapo",
    document="002",
    withdrawal_client="botkit.treasury.alphapo.client:AlphaPoClient",
)

__all__ = [
    "SPEC",
    "VENUE",
    "AlphaPoClient",
    "AlphaPoOptions",
    "classify_error",
    "parse_created",
    "sign_headers",
    "signature",
]
