"""AlphaPo's crypto withdrawal protocol (seed document 002), simulated.

One route, as documented: ``POST /api/v2/withdrawal/crypto``. The checks are
written here from the document, never taken from the treasury client.

Which reading of every gap in the document this simulator picks:

* Authentication: ``X-Processing-Key`` must be the key, ``X-Processing-Signature``
  the lower-case hex HMAC-SHA512 of the raw body bytes keyed with the secret
  (the document says "signed with HMAC-SHA512"; hex is AlphaPo's published
  reading). Upper-case hex is refused. Every auth failure is 403.
* Errors: the document shows none; every refusal is ``{"error": "...",
  "code": "..."}`` (the shape AlphaPo publishes) with codes ``no_header_key``,
  ``bad_header_key``, ``no_header_signature``, ``bad_header_signature`` (403),
  ``bad_content_format`` (400: not JSON, or a Content-Type other than
  ``application/json``), ``invalid_params`` (400: a field missing, of the wrong
  type or unknown), ``duplicate_foreign_id`` (400), ``insufficient_funds``
  (400), ``not_found`` (404), ``method_not_allowed`` (405).
* Body: ``currency``, ``address``, ``foreign_id`` (a string or a whole number:
  "any"), ``end_user_reference`` (at most 255 characters) required; ``tag``,
  ``convert_to`` optional (``null`` is "not given"); ``amount`` and
  ``amount_to`` are JSON numbers ("number"; a string is refused) and ``x >= 0``.
  Exactly one of ``amount``/``amount_to`` ("You can only specify either
  amount_to or amount"); ``amount_to`` only with ``convert_to``; unknown fields
  are refused.
* "If you are withdrawing XRP, a tag/memo is required": a withdrawal whose
  arriving currency (``convert_to``, else ``currency``) is XRP needs ``tag``.
* ``foreign_id`` is unique: a second withdrawal with the same one is refused
  (``duplicate_foreign_id``) and changes nothing.
* Conversion: ``convert_to`` is the currency sent, ``currency`` the one
  debited, at the fixed ``rates`` (``"BTC/EUR": 50000``: one BTC costs 50000
  EUR); receiver amounts are rounded down to 8 decimals, sender amounts up.
  Fiat currencies (EUR) can be debited but not sent.
* Each currency has a minimum withdrawal (what arrives); zero is below it.
  Amounts have at most 8 decimals and stay below 10^15.
* The reply is the document's: ``{"data": {id, foreign_id, end_user_reference,
  type, status: "processing", amount, sender_amount, sender_currency,
  receiver_currency, receiver_amount}}`` with amounts as 8-decimal strings;
  ``type`` is ``withdrawal_exchange`` with a conversion, else ``withdrawal``.
* The withdrawal settles ``settle_s`` later (the ledger's record; the document
  has no call to read it): completed, or failed and refunded for an address
  in ``fail_addresses``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

from aiohttp import web

from botkit.simulator.backend import ExchangeBackend
from botkit.simulator.kit import Params, Refusal, Route, SimRequest, same, split_options
from botkit.simulator.withdrawals import WithdrawalLedger, WithdrawalServer, empty_backend

__all__ = [
    "CREATE_PATH",
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "AlphaPoServer",
    "AlphaPoSimOptions",
    "make_server",
]

VENUE = "alphapo"
CREATE_PATH = "/api/v2/withdrawal/crypto"
DEFAULT_API_KEY = "alphapo-test-key"
DEFAULT_API_SECRET = "alphapo-test-secret"
EIGHT = Decimal("0.00000001")
MAX_AMOUNT = Decimal(10) ** 15

# Minimum withdrawal of each crypto currency; fiat ones can only be debited.
MINIMUMS: Mapping[str, str] = {
    "BTC": "0.0001",
    "ETH": "0.001",
    "LTC": "0.001",
    "XRP": "1",
    "USDT": "1",
}
FIAT = ("EUR", "USD")
DEFAULT_BALANCES: Mapping[str, str] = {
    "BTC": "10",
    "ETH": "100",
    "LTC": "100",
    "XRP": "100000",
    "USDT": "1000000",
    "EUR": "1000000",
}
DEFAULT_RATES: Mapping[str, str] = {"BTC/EUR": "50000", "ETH/EUR": "2500", "USDT/EUR": "0.9"}

# The kit's venue-neutral refusal codes in AlphaPo's words.
CODES: Mapping[str, str] = {
    "malformed_request": "bad_content_format",
    "body_too_large": "bad_content_format",
}


@dataclass(frozen=True)
class AlphaPoSimOptions:
    """Protocol options (``running_simulator("alphapo", settle_s=0.2, ...)``)."""

    api_key: str = DEFAULT_API_KEY
    api_secret: str = DEFAULT_API_SECRET
    settle_s: float = 2.0
    fail_addresses: tuple[str, ...] = ()
    minimums: Mapping[str, str] = field(default_factory=lambda: dict(MINIMUMS))
    rates: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_RATES))


def make_server(seed: int = 1, **options: Any) -> AlphaPoServer:
    """AlphaPo over a fresh account: ``options`` are ``AlphaPoSimOptions`` fields plus
    the backend's ``balances``."""
    opts, backend_options = split_options(VENUE, options, AlphaPoSimOptions)
    balances = backend_options.get("balances")
    backend = empty_backend(VENUE, DEFAULT_BALANCES if balances is None else balances)
    return AlphaPoServer(backend, opts)


def _check_amount(p: Params, name: str, value: Decimal) -> None:
    if value < 0:
        raise p.bad(name, "must be >= 0")
    if value >= MAX_AMOUNT:
        raise p.bad(name, "is out of range")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -8 and value != value.quantize(EIGHT):
        raise p.bad(name, "has more than 8 decimals")


def _eight(value: Decimal) -> str:
    return format(value.quantize(EIGHT), "f")


class AlphaPoServer(WithdrawalServer):
    venue = VENUE

    def __init__(self, backend: ExchangeBackend, options: AlphaPoSimOptions | None = None) -> None:
        self.options = options or AlphaPoSimOptions()
        ledger = WithdrawalLedger(
            backend.balances,
            settle_s=self.options.settle_s,
            fail_addresses=self.options.fail_addresses,
            first_id=678_388,
        )
        super().__init__(backend, ledger)
        self.minimums = {k: Decimal(v) for k, v in self.options.minimums.items()}
        self.rates = {k: Decimal(v) for k, v in self.options.rates.items()}

    # ----- the kit's parts ----------------------------------------------------------------

    def routes(self) -> Iterable[Route]:
        return (Route("POST", CREATE_PATH, self.withdraw_crypto, "withdraw", private=True),)

    @property
    def credentials(self) -> dict[str, str]:
        return {"api_key": self.options.api_key, "api_secret": self.options.api_secret}

    def error_body(self, refusal: Refusal, path: str) -> Any:
        return {"error": refusal.message, "code": CODES.get(refusal.code, refusal.code)}

    def authenticate(self, req: SimRequest, route: Route) -> None:
        key = req.headers.get("X-Processing-Key")
        signature = req.headers.get("X-Processing-Signature")
        if not key:
            raise Refusal(403, "No key header", "no_header_key", what="auth")
        if not same(key, self.options.api_key):
            raise Refusal(403, "Bad key header", "bad_header_key", what="auth")
        if not signature:
            raise Refusal(403, "No signature header", "no_header_signature", what="auth")
        expected = hmac.new(
            self.options.api_secret.encode("utf-8"), req.body, hashlib.sha512
        ).hexdigest()
        if not same(signature, expected):
            raise Refusal(403, "Bad signature header", "bad_header_signature", what="auth")

    # ----- the route -------------------------------------------------------------------------

    def bad(self, message: str, code: str = "invalid_params") -> Refusal:
        return Refusal(400, message, code)

    async def withdraw_crypto(self, req: SimRequest) -> web.Response:
        self.ledger.settle()
        if req.content_type != "application/json":
            raise self.bad("Bad content format", "bad_content_format")
        p = Params(req.json_object(), "json")
        currency = p.text("currency", required=True, max_len=16)
        address = p.text("address", required=True, max_len=256)
        tag = p.text("tag", max_len=128)
        amount = p.decimal("amount", string=False)
        amount_to = p.decimal("amount_to", string=False)
        foreign_id = p.identifier("foreign_id", required=True, max_len=255)
        reference = p.text("end_user_reference", required=True, max_len=255)
        convert_to = p.text("convert_to", max_len=16)
        p.finish()
        assert currency and address and foreign_id and reference
        for name, value in (("amount", amount), ("amount_to", amount_to)):
            if value is not None:
                _check_amount(p, name, value)
        if amount is not None and amount_to is not None:
            raise self.bad("You can only specify either amount_to or amount")
        if amount is None and amount_to is None:
            raise p.bad("amount", "is required")
        if amount_to is not None and convert_to is None:
            raise p.bad("amount_to", "is the amount in convert_to, which is not given")
        if currency not in self.minimums and currency not in FIAT:
            raise p.bad("currency", f"{currency!r} is not a supported currency")
        arriving = convert_to or currency
        if convert_to is not None and (convert_to == currency or convert_to not in self.minimums):
            raise p.bad("convert_to", f"cannot convert {currency} to {convert_to!r}")
        if arriving in FIAT:
            raise p.bad("currency", f"{arriving} is fiat: give convert_to, the crypto to send")
        if arriving == "XRP" and tag is None:
            raise p.bad("tag", "is required when withdrawing XRP")
        if foreign_id in self.ledger.by_reference:
            raise self.bad("foreign_id already exists", "duplicate_foreign_id")
        sent, received = self._amounts(currency, convert_to, amount, amount_to)
        if received < self.minimums[arriving]:
            raise self.bad(
                f"amount is below the minimum withdrawal of {self.minimums[arriving]} {arriving}"
            )
        if sent > self.ledger.available(currency):
            raise self.bad("Insufficient funds", "insufficient_funds")
        w = self.ledger.create(
            foreign_id,
            currency,
            sent,
            address,
            tag=tag,
            receiver_currency=arriving,
            receiver_amount=received,
            end_user_reference=reference,
        )
        await self.late_reply()
        return self.reply(
            {
                "data": {
                    "id": w.id,
                    "foreign_id": foreign_id,
                    "end_user_reference": reference,
                    "type": "withdrawal_exchange" if convert_to else "withdrawal",
                    "status": "processing",
                    "amount": _eight(sent),
                    "sender_amount": _eight(sent),
                    "sender_currency": currency,
                    "receiver_currency": arriving,
                    "receiver_amount": _eight(received),
                }
            }
        )

    def _amounts(
        self,
        currency: str,
        convert_to: str | None,
        amount: Decimal | None,
        amount_to: Decimal | None,
    ) -> tuple[Decimal, Decimal]:
        """(debited in ``currency``, arriving in ``convert_to or currency``)."""
        if convert_to is None:
            assert amount is not None
            return amount, amount
        rate = self.rates.get(f"{convert_to}/{currency}")
        if rate is None:
            raise self.bad(f"conversion from {currency} to {convert_to} is not available")
        if amount is not None:
            return amount, (amount / rate).quantize(EIGHT, ROUND_DOWN)
        assert amount_to is not None
        return (amount_to * rate).quantize(EIGHT, ROUND_UP), amount_to
