"""Who is calling: the caller recorded for a request, taken from its bearer token."""

from __future__ import annotations

import base64
import json


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def caller_of(token: str) -> str:
    """A JWT's upn, else unique_name, else appid, else oid; any other token is its own caller
    (tests send `Bearer alice@fundrbolt.app` to act as a person in the portal)."""
    parts = token.split(".")
    if len(parts) == 3:
        try:
            payload = parts[1] + "=" * (-len(parts[1]) % 4)
            claims = json.loads(base64.urlsafe_b64decode(payload.encode()))
        except (ValueError, UnicodeDecodeError):
            claims = None
        if isinstance(claims, dict):
            for key in ("upn", "unique_name", "appid", "oid"):
                if claims.get(key):
                    return str(claims[key])
    return token
