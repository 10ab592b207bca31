"""Secret values for Key Vault: connection-string rendering, hashing, and reads of inputs GET never returns."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from provisioner.azure import call
from provisioner.errors import AzureCallError
from provisioner.redact import remember

POSTGRES_PORT = 5432


def sha256(value: str) -> str:
    """What a plan compares instead of a secret value (the compared field is also marked sensitive)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def postgres_url(login: str, password: str, host: str, database: str) -> str:
    # TLS is mandatory (architecture: "TLS 1.2+ for all connections"); the password is URL-quoted
    # because generated passwords may contain '@', ':' or '/'.
    remember(password, quote(password, safe=""))
    url = (f"postgresql://{quote(login, safe='')}:{quote(password, safe='')}@{host}:{POSTGRES_PORT}"
           f"/{quote(database, safe='')}?sslmode=require")
    remember(url)
    return url


def redis_url(key: str, host: str, ssl_port: int) -> str:
    # rediss:// = TLS on the SSL port; the non-TLS port is disabled on our caches.
    remember(key, quote(key, safe=""))
    url = f"rediss://:{quote(key, safe='')}@{host}:{ssl_port}/0"
    remember(url)
    return url


def key_vault_reference(vault_uri: str, secret: str) -> str:
    """An App Service Key Vault reference without a version: a new secret version is picked up as is."""
    return f"@Microsoft.KeyVault(SecretUri={vault_uri.rstrip('/')}/secrets/{secret}/)"


def get_secret(client: Any, name: str) -> Any | None:
    """The latest version of a secret (SDK object, kept inside the step), or None when it does not exist."""
    try:
        return call(client.get_secret, name)
    except AzureCallError as exc:
        if exc.status == 404:
            return None
        raise


def secret_value(client: Any, name: str) -> str | None:
    secret = get_secret(client, name)
    if secret is not None:
        remember(secret.value)  # every secret the run reads is masked wherever it appears
    return None if secret is None else secret.value


def redis_primary_key(clients: Any, resource_group: str, name: str) -> str | None:
    """POST .../listKeys: Redis keys never appear in a GET body (arm-examples RedisCacheCreate)."""
    try:
        keys = call(clients.redis.redis.list_keys, resource_group, name)
    except AzureCallError as exc:
        if exc.status == 404:
            return None
        raise
    remember(keys.primary_key, keys.secondary_key)
    return keys.primary_key
