"""The "viewer" withdrawals API (seed document 003), simulated.

Routes, as documented: ``GET /viewer/withdrawals`` (list), ``GET
/viewer/withdrawals/{guid}``, ``POST /viewer/withdrawals`` (create) and ``POST
/viewer/withdrawals/{guid}/cancel``. The checks are written here from the
document, never taken from the treasury client.

Which reading of every gap in the document this simulator picks:

* Authentication: the document says only that GETs need the permission to view
  withdrawal history and POSTs the permission to execute withdrawals. The key
  is a bearer token (``Authorization: Bearer <token>``); a missing or unknown
  token is 401, a token without the permission (``permissions``: ``read``,
  ``write``) 403.
* Errors: the document's replies carry ``code`` (0) and ``message``; a refusal
  is ``{"code": N, "message": "..."}`` with N the HTTP status times 100
  (40000 a bad parameter, 40100, 40300, 40400, 40500, 40900 a guid already used,
  41300), sent with that HTTP status.
* Create: a JSON body (``Content-Type: application/json``), every documented
  value a string as the table types them (``amount`` as ``"2.52"``; a JSON
  number is refused); ``symbol``, ``target_address``, ``amount`` required;
  ``memo``, ``guid`` (a UUID, as the example; one is made when absent) and
  ``gateway_name`` (one of the listed Bitcoin, Ethereum, Tron, EOS, Mixin, and
  one that carries the asset: ``assets``) optional; unknown fields refused.
  ``amount`` > 0, at most 8 decimals, at least the asset's minimum, at most the
  balance. A guid used before is refused (409) and changes nothing.
* A withdrawal is ``on_chain``, ``off_chain`` (the Mixin gateway) or
  ``internal`` (an address in ``internal_addresses``: ``is_internal``).
* The withdrawal object has the example's fields plus the table's
  ``asset_uuid`` and ``recipient_id``: ``id``, ``customer_id``,
  ``asset_symbol``, ``asset_uuid``, ``amount``, ``state``, ``note``, ``txid``
  (null until completed), ``recipient_id``, ``completed_at`` (null until
  completed), ``inserted_at``, ``is_internal``, ``target_address``. States
  PENDING, then COMPLETED ``settle_s`` later (FAILED for an address in
  ``fail_addresses``; CANCELLED when a cancel came while it was pending);
  failed and cancelled ones are refunded.
* List: newest first; ``limit`` a whole number (default 50, at most
  ``max_limit``: the document gives none); ``kind`` and ``asset_symbol``
  filter; ``page_token`` is the base64 of a JSON cursor (``{"before_id": N}``),
  so pages stay stable while new withdrawals arrive. A full page carries the
  token of the next; the last page carries ``"page_token": null``. A token
  that is not one of ours is 400.
* Cancel answers ``{"code": 0, "message": "cancel request submitted", "data":
  null}`` whatever the state; the withdrawal becomes CANCELLED if it was still
  pending (the document: "returning code 0 does not mean final success").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from botkit.simulator.backend import ExchangeBackend
from botkit.simulator.kit import (
    Params,
    Refusal,
    Route,
    SimRequest,
    bearer_token,
    same,
    split_options,
    unauthorized,
)
from botkit.simulator.withdrawals import (
    SimWithdrawal,
    WithdrawalLedger,
    WithdrawalServer,
    empty_backend,
)

__all__ = ["DEFAULT_API_KEY", "ROOT", "ViewerServer", "ViewerSimOptions", "make_server"]

VENUE = "viewer"
ROOT = "/viewer/withdrawals"
DEFAULT_API_KEY = "viewer-test-token"
GATEWAYS = ("Bitcoin", "Ethereum", "Tron", "EOS", "Mixin")
KINDS = ("on_chain", "off_chain", "internal")
MAX_AMOUNT = Decimal(10) ** 15
EIGHT = Decimal("0.00000001")

# asset -> (the gateways that carry it, the first the default; the minimum withdrawal)
ASSETS: Mapping[str, tuple[tuple[str, ...], str]] = {
    "BTC": (("Bitcoin", "Mixin"), "0.0001"),
    "ETH": (("Ethereum", "Mixin"), "0.001"),
    "USDT": (("Ethereum", "Tron", "Mixin"), "1"),
    "EOS": (("EOS", "Mixin"), "0.1"),
}
DEFAULT_BALANCES: Mapping[str, str] = {
    "BTC": "10",
    "ETH": "100",
    "USDT": "1000000",
    "EOS": "10000",
}


@dataclass(frozen=True)
class ViewerSimOptions:
    """Protocol options (``running_simulator("viewer", settle_s=0.2, ...)``)."""

    api_key: str = DEFAULT_API_KEY
    permissions: tuple[str, ...] = ("read", "write")
    settle_s: float = 2.0
    fail_addresses: tuple[str, ...] = ()
    internal_addresses: tuple[str, ...] = ()
    max_limit: int = 200
    customer_id: str = "10"
    assets: Mapping[str, tuple[tuple[str, ...], str]] = field(default_factory=lambda: dict(ASSETS))


def make_server(seed: int = 1, **options: Any) -> ViewerServer:
    """The viewer API over a fresh account: ``options`` are ``ViewerSimOptions`` fields
    plus the backend's ``balances``."""
    opts, backend_options = split_options(VENUE, options, ViewerSimOptions)
    balances = backend_options.get("balances")
    backend = empty_backend(VENUE, DEFAULT_BALANCES if balances is None else balances)
    return ViewerServer(backend, opts)


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _iso(ts_ns: int | None) -> str | None:
    if ts_ns is None:
        return None
    seconds, ns = divmod(ts_ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ns // 1000:06d}Z"


def _token(before_id: int) -> str:
    return base64.b64encode(json.dumps({"before_id": before_id}).encode()).decode()


class ViewerServer(WithdrawalServer):
    venue = VENUE

    def __init__(self, backend: ExchangeBackend, options: ViewerSimOptions | None = None) -> None:
        self.options = options or ViewerSimOptions()
        ledger = WithdrawalLedger(
            backend.balances,
            settle_s=self.options.settle_s,
            fail_addresses=self.options.fail_addresses,
            first_id=10,
        )
        super().__init__(backend, ledger)
        self.assets = {k: (gw, Decimal(low)) for k, (gw, low) in self.options.assets.items()}

    # ----- the kit's parts ----------------------------------------------------------------

    def routes(self) -> Iterable[Route]:
        return (
            Route("GET", ROOT, self.list_withdrawals, "withdrawals", private=True),
            Route("POST", ROOT, self.create, "withdraw", private=True),
            Route("GET", ROOT + "/{guid}", self.get_one, "withdrawal", private=True),
            Route("POST", ROOT + "/{guid}/cancel", self.cancel, "cancel", private=True),
        )

    @property
    def credentials(self) -> dict[str, str]:
        return {"api_key": self.options.api_key}

    def error_body(self, refusal: Refusal, path: str) -> Any:
        return {"code": refusal.status * 100, "message": refusal.message}

    def authenticate(self, req: SimRequest, route: Route) -> None:
        if req.headers.get("Authorization") is None:
            raise unauthorized("Unauthenticated")
        token = bearer_token(req.headers)
        if token is None or not same(token, self.options.api_key):
            raise unauthorized("Invalid token", "invalid_api_key")
        needed = "read" if route.method == "GET" else "write"
        if needed not in self.options.permissions:
            what = "view withdrawal history" if needed == "read" else "execute withdrawals"
            raise Refusal(
                403, f"Permission denied: the key may not {what}", "forbidden", what="auth"
            )

    # ----- payloads --------------------------------------------------------------------------

    def withdrawal_json(self, w: SimWithdrawal) -> dict[str, Any]:
        return {
            "id": w.id,
            "customer_id": self.options.customer_id,
            "asset_symbol": w.asset,
            "asset_uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"viewer:asset:{w.asset}")),
            "amount": _plain(w.amount),
            "state": w.state.upper(),
            "note": "",
            "txid": self._txid(w) if w.state == "completed" else None,
            "recipient_id": None,
            "completed_at": _iso(w.completed_ns),
            "inserted_at": _iso(w.created_ns),
            "is_internal": w.extra["kind"] == "internal",
            "target_address": w.address,
        }

    @staticmethod
    def _txid(w: SimWithdrawal) -> str:
        return "0x" + hashlib.sha256(f"viewer:{w.id}:{w.reference}".encode()).hexdigest()

    def envelope(self, data: Any, message: str = "") -> web.Response:
        return self.reply({"code": 0, "message": message, "data": data})

    def _find(self, req: SimRequest) -> SimWithdrawal:
        w = self.ledger.by_reference.get(req.match["guid"])
        if w is None:
            raise Refusal(404, "withdrawal not found", "not_found")
        return w

    # ----- routes ----------------------------------------------------------------------------

    def list_withdrawals(self, req: SimRequest) -> web.Response:
        p = Params(req.query, "query")
        token = p.text("page_token", max_len=512)
        limit = p.integer("limit", low=1, high=self.options.max_limit) or 50
        kind = p.choice("kind", KINDS)
        asset = p.text("asset_symbol", max_len=16)
        p.finish()
        before = self._before(p, token)
        rows = [
            w
            for w in self.ledger.newest_first()
            if (kind is None or w.extra["kind"] == kind)
            and (asset is None or w.asset == asset)
            and (before is None or w.id < before)
        ]
        page = rows[:limit]
        more = len(rows) > limit
        return self.reply(
            {
                "data": [self.withdrawal_json(w) for w in page],
                "page_token": _token(page[-1].id) if more else None,
            }
        )

    @staticmethod
    def _before(p: Params, token: str | None) -> int | None:
        if token is None:
            return None
        try:
            cursor = json.loads(base64.b64decode(token, validate=True))
        except (binascii.Error, ValueError):
            raise p.bad("page_token", "is not a page token of this API") from None
        before = cursor.get("before_id") if isinstance(cursor, dict) else None
        if isinstance(before, bool) or not isinstance(before, int) or before < 0:
            raise p.bad("page_token", "is not a page token of this API")
        return before

    def get_one(self, req: SimRequest) -> web.Response:
        Params(req.query, "query").finish()
        self.ledger.settle()
        return self.envelope(self.withdrawal_json(self._find(req)))

    def cancel(self, req: SimRequest) -> web.Response:
        Params(req.query, "query").finish()
        if req.has_body:
            Params(req.json_object(), "json").finish()
        self.ledger.settle()
        self.ledger.cancel(self._find(req))
        return self.envelope(None, "cancel request submitted")

    async def create(self, req: SimRequest) -> web.Response:
        self.ledger.settle()
        Params(req.query, "query").finish()
        if req.content_type != "application/json":
            raise Refusal(400, "the body must be JSON (Content-Type: application/json)")
        p = Params(req.json_object(), "json")
        symbol = p.text("symbol", required=True, max_len=16)
        address = p.text("target_address", required=True, max_len=256)
        amount = p.decimal("amount", required=True, number=False)
        memo = p.text("memo", max_len=128)
        guid = p.text("guid", max_len=64)
        gateway = p.choice("gateway_name", GATEWAYS)
        p.finish()
        assert symbol and address and amount is not None
        spec = self.assets.get(symbol)
        if spec is None:
            raise p.bad("symbol", f"{symbol!r} is not an asset of this account")
        gateways, minimum = spec
        if gateway is not None and gateway not in gateways:
            raise p.bad("gateway_name", f"{symbol} is not carried by {gateway}")
        if guid is not None:
            try:
                guid = str(uuid.UUID(guid))
            except ValueError:
                raise p.bad("guid", "must be a UUID") from None
        if not 0 < amount < MAX_AMOUNT:
            raise p.bad("amount", "must be > 0")
        if amount != amount.quantize(EIGHT):
            raise p.bad("amount", "has more than 8 decimals")
        if amount < minimum:
            raise p.bad("amount", f"is below the minimum withdrawal of {minimum} {symbol}")
        if guid is not None and guid in self.ledger.by_reference:
            raise Refusal(409, f"a withdrawal with guid {guid} already exists", "duplicate_guid")
        if amount > self.ledger.available(symbol):
            raise Refusal(400, f"Insufficient balance of {symbol}", "insufficient_funds")
        gateway = gateway or gateways[0]
        if address in self.options.internal_addresses:
            kind = "internal"
        elif gateway == "Mixin":
            kind = "off_chain"
        else:
            kind = "on_chain"
        w = self.ledger.create(
            guid or str(uuid.uuid4()), symbol, amount, address, tag=memo, chain=gateway, kind=kind
        )
        await self.late_reply()
        return self.envelope(self.withdrawal_json(w))
