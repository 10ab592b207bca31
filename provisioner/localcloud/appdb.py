"""The stand-in app's database: its DATABASE_URL app setting as App Service resolves it when a container starts, and
a sign-in with it on every health request (the app answers 503 when the database refuses it).

App Service resolves Key Vault references when the app starts; a versionless reference is re-fetched "within 24
hours" or on a restart or configuration change (learn.microsoft.com/azure/app-service/app-service-key-vault-
references, "Rotation"), so a running container keeps the value it started with: here, until its next restart.
A URL with no password is the managed-identity sign-in (docs/operations.md "The app's database sign-in"): the app
gets a token for PostgreSQL from its identity endpoint and sends it as the password.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlparse

from .types import web_kvrefs
from .types.managedidentity import user_assigned_principal

SETTING = "DATABASE_URL"
CLIENT_ID_SETTING = "AZURE_CLIENT_ID"  # azure-identity's variable naming a user-assigned identity


def resolve(engine: Any, site_id: str) -> str:
    """The DATABASE_URL a container starting now gets ("" when the app has none or it does not resolve)."""
    settings = (engine.get(f"{site_id}/config/appsettings") or {}).get("properties") or {}
    value = str(settings.get(SETTING) or "")
    if not value.startswith("@"):
        return value
    ref = web_kvrefs.parse(value)
    store = getattr(engine, "secret_store", None)
    if ref is None or store is None:
        return ""
    return store.value(*ref) or ""


def refusal(engine: Any, site_id: str, url: str, token_for: Callable[[str], str] | None) -> str | None:
    """Why the database refuses the app signing in with `url` now, or None (also when there is no real engine)."""
    engine_pg = getattr(engine, "pg", None)
    if not url or engine_pg is None or not engine_pg.real:
        return None
    parsed = urlparse(url)
    user, password = unquote(parsed.username or ""), unquote(parsed.password or "")
    if not password:
        site = engine.get(site_id) or {}
        principal = str((site.get("identity") or {}).get("principalId") or "")
        # ManagedIdentityCredential reads AZURE_CLIENT_ID and asks the identity endpoint for that user-assigned
        # identity's token (azure-identity docs, "Specify a user-assigned managed identity"); an id the app does not
        # carry is refused there, so the app gets no token at all.
        client_id = str(((engine.get(f"{site_id}/config/appsettings") or {}).get("properties") or {}).get(CLIENT_ID_SETTING)
                        or "")
        if client_id:
            principal = user_assigned_principal(engine, site, client_id) or ""
            if not principal:
                return f"no user-assigned managed identity with client id {client_id} on this app"
        if not principal or token_for is None:
            return "no managed identity to get a database token with"
        password = token_for(principal)
    return engine_pg.app_sign_in(parsed.hostname or "", user, password, parsed.path.lstrip("/") or "postgres")
