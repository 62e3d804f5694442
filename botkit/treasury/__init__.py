"""Treasury: withdrawals from venue accounts, behind guard rails.

One interface for every withdrawal API (``client.WithdrawalClient``: create,
get one, list with paging, cancel, deposit address and balance where the
venue documents them), one package per API split by concern like the venue
adapters (``alphapo/``, ``viewer/``: auth, rest, parsing, client; ``alpha5/``,
``blocktrade/`` and ``alp/`` are thin clients over the trading adapters' own
auth and REST), and the
path every withdrawal takes (``service.Treasury``): the guard rails
(``guards``), an idempotency key journaled before sending (``keys``,
``journal``), a lookup instead of a blind resend after a lost reply, and the
status followed until final.

=============  ================================================================
module         what it holds
=============  ================================================================
``model``      ``WithdrawalRequest``, ``Withdrawal``, ``WithdrawalStatus``,
               ``Page``, ``DepositAddress``, ``Features``
``client``     ``WithdrawalClient`` (the interface), ``Connection``, ``ClientBase``
``wire``       ``PreparedRequest`` (what a dry run prints is what is sent), ``Wire``
``errors``     ``WithdrawalRefused``, ``NotDocumented``, ``DuplicateWithdrawal``
``keys``       the idempotency key and the references venues keep it under
``guards``     the guard rails, one small function each
``journal``    ``TreasuryJournal``: attempts written before they are sent
``service``    ``Treasury``: plan, execute, follow
``jobs``       profit sweeps and rebalancing, on the node's scheduler, once per
               fire time
``cli``        ``botkit withdraw``, ``botkit withdrawals``, ``botkit treasury
               run-job``
=============  ================================================================

The configuration is bot.yaml's ``treasury:`` section
(``botkit.config.treasury``); docs/treasury.md describes it all.
"""

from botkit.treasury.client import Connection, WithdrawalClient
from botkit.treasury.errors import DuplicateWithdrawal, NotDocumented, WithdrawalRefused
from botkit.treasury.model import (
    DepositAddress,
    Features,
    Page,
    Withdrawal,
    WithdrawalRequest,
    WithdrawalStatus,
)

__all__ = [
    "Connection",
    "DepositAddress",
    "DuplicateWithdrawal",
    "Features",
    "NotDocumented",
    "Page",
    "Withdrawal",
    "WithdrawalClient",
    "WithdrawalRefused",
    "WithdrawalRequest",
    "WithdrawalStatus",
]
