"""Step: the Key Vault holding the platform's secrets (Microsoft.KeyVault/vaults)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from provisioner.azure import call, raw, wait
from provisioner.config import EnvironmentSpec, Section
from provisioner.diff import Rules, lower
from provisioner.errors import ConfigProblem
from steps._base import ArmStep, name_problems, no_double_hyphen, rules

SECTION = "key_vault"


class Config(Section):
    sku: Literal["standard", "premium"] = "standard"
    soft_delete_retention_days: int = Field(default=90, ge=7, le=90)
    purge_protection: bool = False
    rbac_authorization: bool = True


class KeyVault(ArmStep):
    type = "Microsoft.KeyVault/vaults"
    dependencies = ("resource_group",)
    holds_data = True  # secrets; a deleted vault's name stays reserved for the retention period
    rules = rules(Rules(
        normalizers=(("properties.sku.name", lower), ("properties.sku.family", lower), ("properties.tenantId", lower)),
        # Retention is fixed once the vault exists (azure-sdk-facts §1 Key Vault).
        replace_on=("properties.softDeleteRetentionInDays",),
    ))

    @property
    def config(self) -> Config:
        return self.env.section(SECTION, Config)

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.config
        props: dict[str, Any] = {
            "tenantId": self.env.tenant_id,
            "sku": {"family": "A", "name": c.sku},
            # API >= 2026-02-01 turns RBAC on by default; say it explicitly so the intent is in the plan.
            "enableRbacAuthorization": c.rbac_authorization,
            "enableSoftDelete": True,
            "softDeleteRetentionInDays": c.soft_delete_retention_days,
        }
        if c.purge_protection:
            # Purge protection is irreversible and Azure rejects an explicit false: declare it only when on.
            props["enablePurgeProtection"] = True
        return self.base(**props)

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.keyvault.vaults.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.keyvault.vaults.begin_create_or_update, self.resource_group, self.resource_name, desired))

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        patch = {"tags": desired["tags"], "properties": {k: v for k, v in desired["properties"].items() if k != "softDeleteRetentionInDays"}}
        call(clients.keyvault.vaults.update, self.resource_group, self.resource_name, patch)

    def delete(self, clients: Any) -> None:
        call(clients.keyvault.vaults.delete, self.resource_group, self.resource_name)


def instances(env: EnvironmentSpec) -> list[KeyVault]:
    return [KeyVault(env, "key_vault", env.resource_name("key_vault"))]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    problems = name_problems(env, "key_vault", r"[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]",
                             "3-24 letters, digits and '-', starting with a letter, globally unique", no_double_hyphen)
    if env.is_production and not env.section(SECTION, Config).purge_protection:
        problems.append(ConfigProblem(env.where("key_vault.purge_protection"), "key_vault.purge_protection",
                                      "production vaults must have purge protection (architecture: 'Soft delete, purge protection')"))
    return problems
