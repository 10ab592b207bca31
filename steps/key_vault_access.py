"""Step: 'Key Vault Secrets User' for the web app's (and slot's) identity on the vault (roleAssignments)."""

from __future__ import annotations

import uuid
from typing import Any

from provisioner.azure import call, raw
from provisioner.config import EnvironmentSpec
from provisioner.diff import Rules, lower
from provisioner.errors import AzureCallError
from provisioner.model import UNKNOWN, ResourceRef
from provisioner.step import Step
from steps import _kv_references
from steps._fields import UNUSED, SdkModel, nm
from steps.deployment_slot import slot_config, slots_enabled

SECTION = None  # nothing to configure: the role and the principals follow from the other steps
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"  # built-in "Key Vault Secrets User": read secret values
# A fixed namespace for our assignment names: uuid5(namespace, scope|identity owner|role) is stable.
NAMESPACE = uuid.UUID("7c3e9a52-5a0e-4d55-9b1e-0f6f2b1d4c11")


class KeyVaultAccess(Step):
    """One role assignment at the vault's scope, for the system-assigned identity of `owner_step`."""

    type = "Microsoft.Authorization/roleAssignments"
    model = SdkModel("azure.mgmt.authorization.v2022_04_01.models", "RoleAssignment")
    not_managed = (
        nm(UNUSED, "properties.condition", "properties.conditionVersion",
               "properties.delegatedManagedIdentityResourceId", "properties.description")
    )
    rules = Rules(
        normalizers=(("properties.principalId", lower), ("properties.principalType", lower)),
        # Role assignments cannot be updated in place (ARM answers 409 RoleAssignmentUpdateNotPermitted):
        # a new principal (the app was re-created) means delete + create under the same name.
        replace_on=("properties.principalId", "properties.roleDefinitionId"),
    )

    def __init__(self, env: EnvironmentSpec, name: str, owner_step: str, owner_id: str):
        self.owner_step = owner_step  # the step whose body carries identity.principalId
        self.owner_id = owner_id  # the ARM id of the site/slot whose identity gets the role
        super().__init__(env, name, self.assignment_name(env, owner_id))

    @property
    def depends_on(self) -> tuple[str, ...]:
        return ("key_vault", self.owner_step)

    @staticmethod
    def vault_id(env: EnvironmentSpec) -> str:
        return (f"/subscriptions/{env.subscription_id}/resourceGroups/{env.resource_name('resource_group')}"
                f"/providers/Microsoft.KeyVault/vaults/{env.resource_name('key_vault')}")

    @classmethod
    def assignment_name(cls, env: EnvironmentSpec, owner_id: str) -> str:
        # Deterministic, so a re-run finds its own assignment and never creates a second one. The
        # identity's owner (site/slot id) stands for the principal: the principalId is unknown until the
        # site exists, and keeping the name when the principal changes makes that change a replace.
        key = f"{cls.vault_id(env)}|{owner_id}|{SECRETS_USER}".lower()
        return str(uuid.uuid5(NAMESPACE, key))

    @property
    def scope(self) -> str:
        return self.vault_id(self.env)

    @property
    def ref(self) -> ResourceRef:
        full = f"{self.scope}/providers/{self.type}/{self.resource_name}"
        return ResourceRef(self.env.subscription_id, self.resource_group, self.type, self.resource_name, scope=full)

    def desired(self, known: Any) -> dict[str, Any]:
        owner = known.get(self.owner_step) or {}
        principal = (owner.get("identity") or {}).get("principalId") or UNKNOWN
        return {"properties": {
            "roleDefinitionId": f"/subscriptions/{self.env.subscription_id}/providers/Microsoft.Authorization"
                                f"/roleDefinitions/{SECRETS_USER}",
            "principalId": principal,
            # Says what the principal is, so ARM does not look it up in a directory that may lag behind.
            "principalType": "ServicePrincipal",
        }}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.authorization.role_assignments.get, self.scope, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        self._assign(clients, desired)
        # An app that already has its settings cached the failed resolution: wait for the role to reach Key
        # Vault (minutes on Azure), restarting the app so it re-reads them (nothing to wait for on a first run).
        site, _, slot = self.owner_id.rsplit("/sites/", 1)[1].partition("/slots/")
        _kv_references.await_resolved(clients, self.resource_group, site, slot or None, None)

    def _assign(self, clients: Any, desired: dict[str, Any]) -> None:
        try:
            call(clients.authorization.role_assignments.create, self.scope, self.resource_name, desired)
        except AzureCallError as exc:
            if exc.code == "RoleAssignmentExists" and self.read(clients) is not None:
                # The create is not idempotent (Azure/azure-cli#8568: a repeated PUT answers 409): our
                # own earlier attempt landed. Under another name, the error stands (granted by hand).
                return
            if exc.code != "PrincipalNotFound":
                raise
            # A just-created identity takes a while to reach Entra ID replicas (azure-sdk-facts §1
            # System-assigned MI): mark it retryable so the executor's retry layer tries again.
            raise AzureCallError(str(exc), code=exc.code, status=exc.status, retryable=True) from None

    def delete(self, clients: Any) -> None:
        call(clients.authorization.role_assignments.delete, self.scope, self.resource_name)


def instances(env: EnvironmentSpec) -> list[KeyVaultAccess]:
    site = env.resource_name("web_app")
    site_id = (f"/subscriptions/{env.subscription_id}/resourceGroups/{env.resource_name('resource_group')}"
               f"/providers/Microsoft.Web/sites/{site}")
    out = [KeyVaultAccess(env, "key_vault_access", "web_app", site_id)]
    if slots_enabled(env):
        out.append(KeyVaultAccess(env, "key_vault_access:slot", "deployment_slot",
                                  f"{site_id}/slots/{slot_config(env).name}"))
    return out
