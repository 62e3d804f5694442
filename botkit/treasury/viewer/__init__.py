"""The "viewer" withdrawals API of a custodial exchange (seed document 003).

List (``page_token`` paging, ``kind`` and ``asset_symbol`` filters), get by
guid, create with ``guid`` and ``gateway_name``, cancel. ``auth`` says how the
key is carried (the document is silent), ``rest`` the calls, ``parsing`` the
replies, ``client`` the document's rules. The protocol simulator is
``botkit.simulator.viewer``.
"""

from botkit.treasury.viewer.client import ViewerClient
from botkit.treasury.viewer.options import ViewerOptions
from botkit.treasury.viewer.parsing import GATEWAYS, KINDS, VENUE, parse_one, parse_page
from botkit.venues.registry import Capabilities, VenueSpec

SPEC = VenueSpec(
    name=VENUE,
    title="the viewer withdrawals API",
    kind="withdrawals",
    auth="bearer",
    capabilities=Capabilities(withdrawals=True),
    credentials=("api_key",),
    simulator="botkit.simulator.viewer",
    document="003",
    withdrawal_client="botkit.treasury.viewer.client:ViewerClient",
)

__all__ = [
    "GATEWAYS",
    "KINDS",
    "SPEC",
    "VENUE",
    "ViewerClient",
    "ViewerOptions",
    "parse_one",
    "parse_page",
]
