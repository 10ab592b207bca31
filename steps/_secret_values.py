"""Secret values for Key Vault: connection-string rendering, hashing, and reads of inputs GET never returns."""

from __future__ import annotations

import hashlib
import threading
from typing import Any
from urllib.parse import quote

from provisioner.azure import call, raw
from provisioner.core.errors import AzureCallError
from provisioner.core.redact import remember

POSTGRES_PORT = 5432
# The tag that carries a secret's fingerprint: the ARM control plane never returns a value, so what was
# written is recognised by this tag on the latest version (a new version set by hand lacks it).
FINGERPRINT_TAG = "fingerprint-sha256"
_written: dict[str, str] = {}  # "<vault id>|<secret>" (lower) -> the last value this process wrote there
_written_lock = threading.Lock()


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
    # rediss:// = TLS on the SSL port; the non-TLS port is disabled on our caches. Azure Cache for Redis:
    # <name>.redis.cache.windows.net:6380; Azure Managed Redis: <name>.<region>.redis.azure.net:10000 (TLS only).
    remember(key, quote(key, safe=""))
    url = f"rediss://:{quote(key, safe='')}@{host}:{ssl_port}/0"
    remember(url)
    return url


def key_vault_reference(vault_uri: str, secret: str) -> str:
    """An App Service Key Vault reference without a version: a new secret version is picked up as is."""
    return f"@Microsoft.KeyVault(SecretUri={vault_uri.rstrip('/')}/secrets/{secret}/)"


def vault_parts(vault_id: str) -> tuple[str, str]:
    """(resource group, vault name) of a vault's ARM id."""
    parts = vault_id.strip("/").split("/")
    return parts[3], parts[-1]


def written(vault_id: str, name: str) -> str | None:
    """A value this process wrote to the secret: the tool never reads one back (the vault's firewall keeps
    the deploying machine out of its data plane), it keeps what it generated for the rest of the run."""
    with _written_lock:
        return _written.get(f"{vault_id}|{name}".lower())


def arm_secret(clients: Any, vault_id: str, name: str) -> dict[str, Any] | None:
    """GET through the control plane: tags and attributes of the latest version, never the value."""
    rg, vault = vault_parts(vault_id)
    return raw(clients.keyvault.secrets.get, rg, vault, name)


def arm_write(clients: Any, vault_id: str, name: str, value: str, tags: dict[str, str],
              enabled: bool = True, content_type: str | None = None) -> None:
    """PUT through the control plane (a new version every time). Key Vault's firewall does not apply to it
    (learn.microsoft.com/azure/key-vault/general/overview-vnet-service-endpoints: control plane operations,
    including deploying secrets through ARM, are not affected by firewalls and virtual network rules)."""
    rg, vault = vault_parts(vault_id)
    remember(value)  # masked wherever it might appear (provisioner/core/redact.py)
    props: dict[str, Any] = {"value": value, "attributes": {"enabled": enabled}}
    if content_type:
        props["contentType"] = content_type
    call(clients.keyvault.secrets.create_or_update, rg, vault, name, {"tags": tags, "properties": props})
    with _written_lock:
        _written[f"{vault_id}|{name}".lower()] = value


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


def managed_redis_primary_key(clients: Any, resource_group: str, cluster: str) -> str | None:
    """POST .../databases/default/listKeys of an Azure Managed Redis cluster (spec example
    RedisEnterpriseDatabasesListKeys.json); None while the database is missing."""
    try:
        keys = call(clients.redisenterprise.databases.list_keys, resource_group, cluster, "default")
    except AzureCallError as exc:
        if exc.status == 404:
            return None
        raise
    remember(keys.primary_key, keys.secondary_key)
    return keys.primary_key
