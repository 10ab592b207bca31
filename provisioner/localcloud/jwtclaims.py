"""The claims of a bearer token: the payload of an (unsigned, unverified) JWT; {} for any other token."""

from __future__ import annotations

import base64
import json
from typing import Any


def claims(token: str | None) -> dict[str, Any]:
    """The local cloud trusts every issuer it is told about, so the signature is not checked."""
    parts = (token or "").split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = json.loads(base64.urlsafe_b64decode((parts[1] + "=" * (-len(parts[1]) % 4)).encode()))
    except (ValueError, UnicodeDecodeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def encode(payload: dict[str, Any]) -> str:
    """An unsigned JWT (alg none) carrying `payload`: what the local cloud's token endpoint issues."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")

    return f"{part({'typ': 'JWT', 'alg': 'none'})}.{part(payload)}.local"
