"""BlockTrade's withdrawals (seed document 004): crypto and fiat, from a portfolio.

A thin client over the trading adapter's auth, REST and error modules
(``botkit.venues.blocktrade``), so the signing and the nonce order of every
private call are the adapter's own. ``addresses`` holds the document's
destination formats for XRP, KAYA and XLM; ``parsing`` reads the replies;
``client`` keeps the document's rules (its docstring lists each choice). The
venue's registry entry (``botkit.venues.blocktrade.SPEC``) names the client;
the protocol simulator is the trading one, ``botkit.simulator.blocktrade``.
"""

from botkit.treasury.blocktrade.client import BlockTradeWithdrawalClient
from botkit.treasury.blocktrade.options import BlockTradeWithdrawalOptions

__all__ = ["BlockTradeWithdrawalClient", "BlockTradeWithdrawalOptions"]
