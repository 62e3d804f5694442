"""Alpha5 authentication and request encoding (pure).

Authentication: the seed document lists every endpoint's authentication as
"None"; the published v1.0.0 document puts HTTP bearer auth
(``Authorization: Bearer {access-token}``) on every operation. Both are
supported: an optional token from the config is sent as
``Authorization: Bearer <token>``; without one no header is sent. The token may
arrive as a ``botkit.redact.Secret`` (``bearer_token: ${ALPHA5_TOKEN}`` in
``venue.options``); it is revealed only here, where the header is built.

Request parameters: ``query_params`` formats query strings (every GET, and the
seed's private calls, which list all their parameters ``in: query``);
``json_params`` writes the JSON bodies of v1.0.0's POSTs. Both leave None out
and refuse floats (money is a Decimal here); the kit writes Decimals in plain
notation (never ``1E-8``: v1.0.0's Decimal is "number or string", and a string
keeps it exact). In a query string booleans are ``true``/``false``; in a body
they are JSON booleans.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import Enum

from botkit.redact import Secret, reveal
from botkit.venues.kit.parsing import check_header_value, json_body
from botkit.venues.kit.rest import query_params as query_text

__all__ = ["auth_headers", "json_params", "plain_token", "query_params", "request_params"]


def plain_token(token: str | Secret | None) -> str | None:
    """The token's text, stripped; None when there is none. Refuses an empty token."""
    if token is None:
        return None
    if not isinstance(token, str | Secret):
        raise TypeError(f"bearer token: expected a string, got {type(token).__name__}")
    text = reveal(token).strip()
    if not text:
        raise ValueError("bearer token is empty")
    check_header_value("bearer token", text)
    return text


def auth_headers(token: str | Secret | None = None) -> dict[str, str]:
    """``{"Authorization": "Bearer <token>"}``, or ``{}`` when there is no token."""
    text = plain_token(token)
    return {} if text is None else {"Authorization": f"Bearer {text}"}


def _scalar(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        raise TypeError("send prices and sizes as Decimal, not float")
    if not isinstance(value, bool | int | str | Decimal):
        raise TypeError(f"cannot send a {type(value).__name__} as a request parameter")
    return value


def request_params(params: Mapping[str, object]) -> dict[str, object]:
    """The parameters to send, in the order given: None left out, enums as their values."""
    return {key: _scalar(value) for key, value in params.items() if value is not None}


def query_params(params: Mapping[str, object]) -> list[tuple[str, str]]:
    """Query-string pairs in the order given."""
    return list(query_text(request_params(params)).items())


def json_params(params: Mapping[str, object]) -> str:
    """A JSON request body (the exact text sent)."""
    return json_body(request_params(params))
