"""The drill's other components: Key Vault soft-delete recovery, redeploys of the API and the admin frontend through
the deploy paths, and the cache's live persistence against the document's target."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from provisioner.azure import by_id, call, raw, wait
from provisioner.core.errors import AzureCallError
from provisioner.operate import pgclient
from provisioner.operate.deploy import Backend, DeployFailed, deploy_backend
from provisioner.operate.drill_plan import Row, cache_row, keyvault_row, redeploy_row
from provisioner.operate.frontend import deploy_frontend

CANARY_SECRET = "drill-canary"
REDIS_API = "2024-11-01"
MANAGED_REDIS_API = "2025-07-01"


# ------------------------------------------------------------------------------------------------ Key Vault
@contextlib.contextmanager
def _vault_path(clients: Any, rg: str, vault: dict[str, Any], ip: str, say: Callable[[str], None]) -> Iterator[None]:
    """Let this machine's address through the vault's firewall for the block (a short-lived IP rule, removed
    after), when its network rules would refuse it."""
    acls = (vault.get("properties") or {}).get("networkAcls") or {}
    rules = list(acls.get("ipRules") or [])
    if str(acls.get("defaultAction") or "Allow").lower() != "deny" or any(
            str(r.get("value")).split("/")[0] == ip for r in rules):
        yield
        return
    name = vault["name"]
    say(f"opening {name}'s firewall to {ip} for the drill")
    call(clients.keyvault.vaults.update, rg, name,
         {"properties": {"networkAcls": {**acls, "ipRules": rules + [{"value": ip}]}}})
    try:
        yield
    finally:
        call(clients.keyvault.vaults.update, rg, name, {"properties": {"networkAcls": {**acls, "ipRules": rules}}})
        say(f"closed {name}'s firewall to {ip} again")


def keyvault_drill(clients: Any, rg: str, vault_name: str, purge_declared: bool, say: Callable[[str], None],
                   client_ip: str | None = None, clock: Callable[[], float] = time.monotonic) -> Row:
    """Set a scratch secret, soft-delete it, time its recovery, check it is the same version; delete it again."""
    vault = raw(clients.keyvault.vaults.get, rg, vault_name)
    if vault is None:
        return Row("keyvault", "error", detail=f"Key Vault {vault_name} not found in {rg}")
    ip = pgclient.public_ip(clients, client_ip)
    secrets_client = clients.secrets(str((vault.get("properties") or {}).get("vaultUri")))
    purge = bool((vault.get("properties") or {}).get("enablePurgeProtection"))
    with _vault_path(clients, rg, vault, ip, say):
        with contextlib.suppress(Exception):  # a deleted canary from an earlier run: bring it back first
            secrets_client.begin_recover_deleted_secret(CANARY_SECRET).wait()
        version = call(secrets_client.set_secret, CANARY_SECRET, secrets.token_urlsafe(16),
                       content_type="disaster-recovery drill").properties.version
        wait(call(secrets_client.begin_delete_secret, CANARY_SECRET))
        say(f"deleted {CANARY_SECRET} in {vault_name}; recovering it from soft delete")
        started = clock()
        recovered = wait(call(secrets_client.begin_recover_deleted_secret, CANARY_SECRET))
        seconds = clock() - started
        same = getattr(recovered, "version", None) == version
        # Leave no active secret the environment does not declare: deleted again (purged when allowed).
        wait(call(secrets_client.begin_delete_secret, CANARY_SECRET))
        if not purge:
            with contextlib.suppress(AzureCallError):
                call(secrets_client.purge_deleted_secret, CANARY_SECRET)
    row = keyvault_row(vault, purge_declared, seconds, same)
    row.figures["vault"] = vault_name
    return row


# ------------------------------------------------------------------------------------------------ app, frontend
def app_drill(backend: Backend, env_name: str, clock: Callable[[], float] = time.monotonic) -> Row:
    """Redeploy the image production runs, through the deploy path (slot, health gates, swap); then put the slot
    back on what it held, so the rollback target is the same as before the drill."""
    running = backend.image(None)
    if not running:
        return Row("app", "error", detail=f"{backend.t.site} runs no image: deploy one first")
    slot_before = backend.image(backend.t.slot) if backend.t.slot else None
    marker_before = backend.marker(backend.t.slot) if backend.t.slot else ""
    backend.say(f"redeploying {running} to {backend.t.site}")
    started = clock()
    try:
        # Every step of a deploy, although production runs that version (a plain deploy of it does nothing).
        deploy_backend(backend, env_name, running, redeploy=True)
    except DeployFailed as exc:  # the recovery path itself failed: the target is missed
        return Row("app", "fail", clock() - started, None, f"the redeploy failed: {exc}")
    seconds = clock() - started
    if backend.t.slot and slot_before and slot_before != backend.image(backend.t.slot):
        backend.say(f"putting slot '{backend.t.slot}' back on {slot_before} (the rollback target)")
        backend.set_version(slot_before, marker_before or slot_before, backend.t.slot)
    return redeploy_row("app", seconds, running, backend.image(None), f"({running})")


def frontend_drill(clients: Any, rg: str, name: str, dist: Path | None, say: Callable[[str], None],
                   clock: Callable[[], float] = time.monotonic) -> Row:
    if dist is None:
        return Row("frontend", "skipped", detail="not measured: pass --frontend-dist with the build of the running "
                   "version (the deploy workflow's FRONTEND_DIST)")
    started = clock()
    deploy_frontend(clients, rg, name, dist, say)
    return redeploy_row("frontend", clock() - started, str(dist), str(dist), f"from {dist}",
                        "the build comes from Git; the site holds no data of its own")


# ------------------------------------------------------------------------------------------------ cache
def cache_drill(clients: Any, resource_id: str) -> Row:
    """Read the live cache (its kind and SKU decide what it can promise); nothing is written."""
    managed = "/microsoft.cache/redisenterprise/" in resource_id.lower()
    body = by_id(clients, resource_id, MANAGED_REDIS_API if managed else REDIS_API)
    if body is None:
        return Row("cache", "error", detail=f"{resource_id} not found")
    database = by_id(clients, f"{resource_id}/databases/default", MANAGED_REDIS_API) if managed else None
    kind = "Microsoft.Cache/redisEnterprise" if managed else "Microsoft.Cache/redis"
    row = cache_row(kind, body, database)
    row.figures["resource"] = resource_id
    return row
