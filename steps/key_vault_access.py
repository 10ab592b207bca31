"""Step: 'Key Vault Secrets User' for the web app's (and slot's) identity on the vault (roleAssignments)."""

from __future__ import annotations

import uuid
from typing import Any

from provisioner.azure import raw
from provisioner.engine.config import EnvironmentSpec
from steps import _kv_references
from steps._role_assignment import PrincipalRoleAssignment
from steps.deployment_slot import slot_config, slots_enabled

SECTION = None  # nothing to configure: the role and the principals follow from the other steps
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"  # built-in "Key Vault Secrets User": read secret values
# Until the assignment was named from the principal, it was uuid5(this, vault|site or slot id|role): an
# environment provisioned then keeps its grant under that name while the principal is the same.
EARLIER_NAMESPACE = uuid.UUID("7c3e9a52-5a0e-4d55-9b1e-0f6f2b1d4c11")


def vault_id(env: EnvironmentSpec) -> str:
    return (f"/subscriptions/{env.subscription_id}/resourceGroups/{env.resource_name('resource_group')}"
            f"/providers/Microsoft.KeyVault/vaults/{env.resource_name('key_vault')}")


class KeyVaultAccess(PrincipalRoleAssignment):
    """One role assignment at the vault's scope for the system-assigned identity of the site (or its slot),
    named from vault + principal + role: an identity re-created (new principal) gets a new assignment, and
    the stale one is reported by the vault's owned collection of role assignments (steps/owned.py), which
    revokes it, or leaves it for a person while production's lock on the vault stands."""

    def __init__(self, env: EnvironmentSpec, name: str, owner_step: str, site: str, slot: str | None = None):
        group = env.resource_name("resource_group")

        def read_owner(clients: Any) -> dict[str, Any] | None:
            if slot:
                return raw(clients.web.web_apps.get_slot, group, site, slot)
            return raw(clients.web.web_apps.get, group, site)

        super().__init__(env, name, owner_step, vault_id(env), SECRETS_USER, read_owner)
        self.site, self.slot = site, slot

    @property
    def depends_on(self) -> tuple[str, ...]:
        return ("key_vault", self.owner_step)

    def earlier(self) -> str:
        owner = (f"/subscriptions/{self.env.subscription_id}/resourceGroups/{self.resource_group}"
                 f"/providers/Microsoft.Web/sites/{self.site}" + (f"/slots/{self.slot}" if self.slot else ""))
        return str(uuid.uuid5(EARLIER_NAMESPACE, f"{self.scope}|{owner}|{SECRETS_USER}".lower()))

    def created(self, clients: Any) -> None:
        # An app that already has its settings cached the failed resolution: wait for the role to reach Key
        # Vault (minutes on Azure), restarting the app so it re-reads them (nothing to wait for on a first run).
        _kv_references.await_resolved(clients, self.resource_group, self.site, self.slot, None)


def instances(env: EnvironmentSpec) -> list[KeyVaultAccess]:
    site = env.resource_name("web_app")
    out = [KeyVaultAccess(env, "key_vault_access", "web_app", site)]
    if slots_enabled(env):
        out.append(KeyVaultAccess(env, "key_vault_access:slot", "deployment_slot", site, slot_config(env).name))
    return out
