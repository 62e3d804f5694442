"""How a viewer API request carries its key (document 003 is silent on it).

The document says only which permission each call needs ("GET request need
Permission to view withdrawal history, POST request need Permission to execute
withdrawals"). The key is sent as a bearer token, ``Authorization: Bearer
<key>``; both the header and the scheme are account options
(``auth_header``, ``auth_scheme``) should the venue want another.
"""

from __future__ import annotations

from botkit.venues.kit.parsing import check_header_value

__all__ = ["auth_headers"]


def auth_headers(api_key: str, header: str = "Authorization", scheme: str = "Bearer") -> dict:
    value = f"{scheme} {api_key}" if scheme else api_key
    return {header: check_header_value("api_key", value)}
