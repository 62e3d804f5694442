"""Alpha5 authentication (pure).

The document lists the authentication of every endpoint, private ones included,
as "None". A deployment that does need credentials is expected to use a bearer
token, so an optional token from the config is sent as
``Authorization: Bearer <token>``; without one no header is sent.

Request parameters: every documented parameter is ``in: query`` (several private
calls — cancel_order, edit_order, cancel_all_open_orders — are even GETs), so
parameters go in the query string, also for POSTs. ``query_params`` formats them:
Decimals as plain strings (never floats), booleans as ``true``/``false``, None
dropped. ``place_order`` documents no side parameter; the adapter sends
``side=buy|sell`` (see ``botkit.venues.alpha5``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import Enum

from botkit.venues.kit.parsing import check_header_value

__all__ = ["auth_headers", "query_params"]


def auth_headers(token: str | None = None) -> dict[str, str]:
    """``{"Authorization": "Bearer <token>"}``, or ``{}`` when there is no token."""
    if token is None:
        return {}
    token = token.strip()
    if not token:
        raise ValueError("bearer token is empty")
    check_header_value("token", token)
    return {"Authorization": f"Bearer {token}"}


def _format(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        # Plain notation: "1E-8" is a valid Decimal but not a price a venue parses.
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("send prices and sizes as Decimal, not float")
    return str(value)


def query_params(params: Mapping[str, object]) -> list[tuple[str, str]]:
    """Query-string pairs in the order given, None values left out."""
    return [(key, _format(value)) for key, value in params.items() if value is not None]
