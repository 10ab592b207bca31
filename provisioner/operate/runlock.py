"""Where the run lock lives: the bootstrap account from envs (`[run_lock]`), created if missing; wires RunLock.

The lock cannot live in the environment's own storage account: on a first run that account does not
exist yet, and it is one of the resources the run changes. One bootstrap account per subscription (like
Terraform's state account) holds one lock blob per environment, `<container>/<env>.lock`. It is created
through the management plane with GET-then-PUT (idempotent: two first runs racing both end up with the
same account), so a second run sends no management write at all.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

from provisioner.azure import call, raw, wait
from provisioner.core.errors import AzureCallError, TargetError
from provisioner.operate.lease import Holder, RunLock


def _ensure_account(clients: Any, group: str, account: str, container: str, location: str, tags: dict[str, str]) -> dict:
    if raw(clients.resource.resource_groups.get, group) is None:
        call(clients.resource.resource_groups.create_or_update, group, {"location": location, "tags": tags})
    body = raw(clients.storage.storage_accounts.get_properties, group, account)
    if body is None:
        wait(call(clients.storage.storage_accounts.begin_create, group, account, {
            "location": location, "kind": "StorageV2", "sku": {"name": "Standard_LRS"}, "tags": tags,
            "properties": {"minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False,
                           "supportsHttpsTrafficOnly": True}}))
        body = raw(clients.storage.storage_accounts.get_properties, group, account)
        if body is None:
            raise TargetError(f"run lock: storage account {account} in {group} is not visible after creating it")
    if raw(clients.storage.blob_containers.get, group, account, container) is None:
        call(clients.storage.blob_containers.create, group, account, container, {"properties": {}})
    return body


def _local_blob_endpoint(arm_endpoint: str) -> str:
    """A local cloud names its blob endpoint on its control API (Azure names it in primaryEndpoints)."""
    try:
        with urllib.request.urlopen(f"{arm_endpoint.rstrip('/')}/_localcloud/endpoints", timeout=10) as resp:
            blob = json.loads(resp.read()).get("blob")
    except (OSError, ValueError) as exc:
        raise TargetError(f"run lock: {arm_endpoint} does not say where its blob endpoint is ({exc})") from None
    if not blob:
        raise TargetError(f"run lock: {arm_endpoint} serves no blob endpoint")
    return str(blob)


def open_lock(env: Any, clients: Any, on_wait: Callable[[str], None] | None = None, command: str = "provision") -> RunLock:
    """The environment's RunLock (not yet acquired), its account and container created if missing."""
    from provisioner.azure.blobs import LeaseBlob

    cfg = env.core.run_lock
    tags = {**env.core.tags, "Purpose": "provisioner run lock"}
    tags.pop("Environment", None)  # shared by every environment
    body = _ensure_account(clients, cfg.resource_group, cfg.storage_account, cfg.container,
                           cfg.location or env.location, tags)
    target = clients.target
    name = f"{env.name}.lock"
    if target.plain_http:
        # Local clouds and emulators: Shared Key from listKeys (their http endpoints take no bearer token).
        endpoint = f"{_local_blob_endpoint(target.arm_endpoint)}/{cfg.storage_account}"
        blob = LeaseBlob(endpoint, cfg.container, name, _key_credential(clients, cfg))
    else:
        endpoint = str(((body.get("properties") or {}).get("primaryEndpoints") or {}).get("blob") or "")
        if not endpoint:
            raise TargetError(f"run lock: storage account {cfg.storage_account} has no blob endpoint")
        # Azure: the run's own Entra ID identity (Storage Blob Data Contributor on the account). Without
        # that role, the account key from listKeys (Contributor has it), as Terraform's azurerm backend
        # does by default; said once on stderr.
        blob = LeaseBlob(endpoint, cfg.container, name, clients.credential())
        try:
            blob.ensure()
        except AzureCallError as exc:
            if exc.status != 403 or (body.get("properties") or {}).get("allowSharedKeyAccess") is False:
                raise
            if on_wait:
                on_wait(f"run lock: no Entra ID data access to {cfg.storage_account} ({exc.code}); using its "
                        "account key (grant 'Storage Blob Data Contributor' to avoid this)")
            blob = LeaseBlob(endpoint, cfg.container, name, _key_credential(clients, cfg))
    return RunLock(blob, env.name, Holder.current(command), cfg.lease_seconds, cfg.renew_seconds,
                   cfg.wait_seconds, on_wait=on_wait)


def _key_credential(clients: Any, cfg: Any) -> Any:
    from provisioner.azure.blobs import account_key_credential

    keys = raw(clients.storage.storage_accounts.list_keys, cfg.resource_group, cfg.storage_account) or {}
    try:
        return account_key_credential(cfg.storage_account, keys["keys"][0]["value"])
    except (KeyError, IndexError, TypeError):
        raise TargetError(f"run lock: listKeys on {cfg.storage_account} returned no key") from None


def describe_failure(exc: AzureCallError, env: Any) -> str:
    cfg = env.core.run_lock
    if exc.status == 403:
        return (f"run lock: no data access to storage account {cfg.storage_account} ({exc}); grant the run's "
                "identity 'Storage Blob Data Contributor' on it (docs/safety.md, One run at a time)")
    return f"run lock: {exc}"
