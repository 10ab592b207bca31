"""After app settings are written: wait, bounded, until every Key Vault reference resolves, restarting the app."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from provisioner.azure import call
from provisioner.core.errors import AzureCallError, ProvisionerError

# Role assignments take up to 10 minutes to reach Key Vault (learn.microsoft.com/azure/key-vault/general/
# rbac-guide); the app's first fetch may come before that. On the local cloud everything is faster.
TIMEOUT_AZURE = 900.0
TIMEOUT_LOCAL = 60.0
# App Service caches a reference's resolution and re-reads it on a configuration change or a restart
# (App Service docs, "Rotation"): restarting is how a reference that failed early is tried again.
RESTART_EVERY_POLLS = 4


def _statuses(clients: Any, resource_group: str, site: str, slot: str | None) -> dict[str, tuple[str, str]]:
    """setting -> (status, details), from GET {site}[/slots/{slot}]/config/configreferences/appsettings."""
    web = clients.web.web_apps
    try:
        if slot:
            refs = call(lambda: list(web.get_app_settings_key_vault_references_slot(resource_group, site, slot)))
        else:
            refs = call(lambda: list(web.get_app_settings_key_vault_references(resource_group, site)))
    except AzureCallError as exc:
        if exc.status == 404:
            return {}  # no such app (yet): it has no references to resolve
        raise
    out = {}
    for ref in refs:
        props = getattr(ref, "properties", None)
        status = getattr(props, "status", None) or "Initialized"
        status = str(getattr(status, "value", status))  # the SDK's ResolveStatus enum, or a plain string
        out[str(ref.name).rsplit("/", 1)[-1]] = (status, str(getattr(props, "details", None) or ""))
    return out


def restart(clients: Any, resource_group: str, site: str, slot: str | None) -> None:
    """Restart the app (or slot), if it exists: how App Service re-reads its Key Vault references."""
    try:
        if slot:
            call(clients.web.web_apps.restart_slot, resource_group, site, slot)
        else:
            call(clients.web.web_apps.restart, resource_group, site)
    except AzureCallError as exc:
        if exc.status != 404:
            raise


def await_resolved(clients: Any, resource_group: str, site: str, slot: str | None, names: Iterable[str] | None,
                   timeout: float | None = None) -> None:
    """Fails naming each reference still unresolved, with Azure's status and reason, after `timeout`.
    names=None: every reference the app has now (after its role or the vault's network was repaired)."""
    wanted = sorted(names if names is not None else _statuses(clients, resource_group, site, slot))
    if not wanted:
        return
    target = getattr(clients, "target", None)
    local = bool(getattr(target, "local", False)) or bool(getattr(target, "plain_http", False))
    poll = max(float(getattr(target, "polling_interval", 5.0) or 5.0), 0.05) if target else 5.0
    if timeout is None:
        timeout = TIMEOUT_LOCAL if local else TIMEOUT_AZURE
    deadline = time.monotonic() + timeout
    polls = 0
    while True:
        found = _statuses(clients, resource_group, site, slot)
        pending = {n: found.get(n, ("Initialized", "not resolved yet")) for n in wanted
                   if found.get(n, ("",))[0] != "Resolved"}
        if not pending:
            return
        if time.monotonic() >= deadline:
            where = f"{site}/slots/{slot}" if slot else site
            reasons = "; ".join(f"{n}: {status} ({details})" if details else f"{n}: {status}"
                                for n, (status, details) in pending.items())
            raise ProvisionerError(f"Key Vault reference(s) on {where} still unresolved after {timeout:.0f}s: {reasons}")
        time.sleep(poll)
        polls += 1
        if polls % RESTART_EVERY_POLLS == 0:
            restart(clients, resource_group, site, slot)
