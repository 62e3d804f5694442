"""ALP.COM's withdraws list (seed document 001), read through the trading adapter's REST.

``client`` lists the account's withdrawals with their status (``parsing`` reads
the document's status table); the document has no withdraw call, so a
withdrawal through ALP.COM is refused. The venue's registry entry
(``botkit.venues.alp.SPEC``) names the client; the protocol simulator is the
trading one, ``botkit.simulator.alp``, whose backend is given withdrawals with
``AlpServer.add_withdraw`` (the API cannot create them).
"""

from botkit.treasury.alp.client import AlpWithdrawalClient
from botkit.treasury.alp.options import AlpWithdrawalOptions

__all__ = ["AlpWithdrawalClient", "AlpWithdrawalOptions"]
