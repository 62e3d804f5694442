"""Alpha5's wallet calls (seed document 000) as a withdrawal client.

A thin client over the Alpha5 adapter's own modules: its authentication
(``botkit.venues.alpha5.auth``: an optional bearer token, query parameters) and
its error classification (``botkit.venues.alpha5.parsing``). ``client`` keeps
the document's rules; ``parsing`` reads the replies the document leaves
undescribed (every example response is ``{}``). The venue's registry entry
(``botkit.venues.alpha5.SPEC``) names the client; the protocol simulator is the
trading one, ``botkit.simulator.alpha5``.
"""

from botkit.treasury.alpha5.client import Alpha5WithdrawalClient
from botkit.treasury.alpha5.options import Alpha5WithdrawalOptions

__all__ = ["Alpha5WithdrawalClient", "Alpha5WithdrawalOptions"]
