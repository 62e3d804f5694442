"""The pre-trade risk module: where a strategy's intent becomes a grid order, or a reject.

``RiskModule.check`` runs every ``Place`` and ``Edit`` through the steps of
``botkit.risk.checks``, in the order of design.md's trading semantics; the
first to refuse rejects with a stable code (:data:`REJECT_CODES`). ``Cancel``
and ``CancelAll`` always pass.

- ``limits``: the ``risk:`` section (:class:`RiskLimits`, typed in the config
  schema) and what the checks read of it on every order;
- ``order``: :class:`OrderDraft`, the one order value the steps work over;
- ``checks``: one function per step;
- ``module``: :class:`RiskModule` and :class:`Decision`.
"""

from botkit.risk.checks import REJECT_CODES
from botkit.risk.limits import (
    KILL_SWITCH_STATES,
    POST_ONLY_POLICIES,
    ROUNDING_MODES,
    RateLimit,
    RiskConfigError,
    RiskLimits,
)
from botkit.risk.module import Decision, RiskModule

__all__ = [
    "KILL_SWITCH_STATES",
    "POST_ONLY_POLICIES",
    "REJECT_CODES",
    "ROUNDING_MODES",
    "Decision",
    "RateLimit",
    "RiskConfigError",
    "RiskLimits",
    "RiskModule",
]
