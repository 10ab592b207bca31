"""Step: the storage account for backups and logs (Microsoft.Storage/storageAccounts)."""

from __future__ import annotations

from typing import Any, Literal

from provisioner.azure import call, raw, wait
from provisioner.config import EnvironmentSpec, Section
from provisioner.diff import Rules, lower
from provisioner.errors import ConfigProblem
from steps._base import ArmStep, name_problems, rules

SECTION = "storage"


class Config(Section):
    sku: Literal["Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Standard_GZRS", "Standard_RAGZRS"] = "Standard_LRS"
    kind: Literal["StorageV2"] = "StorageV2"
    access_tier: Literal["Hot", "Cool"] = "Hot"
    min_tls_version: Literal["TLS1_2", "TLS1_3"] = "TLS1_2"
    allow_blob_public_access: bool = False
    allow_shared_key_access: bool = True  # diagnostic exports and backup tooling still use keys


class StorageAccount(ArmStep):
    type = "Microsoft.Storage/storageAccounts"
    dependencies = ("resource_group",)
    holds_data = True
    # sku.tier, primaryEndpoints, creationTime, keyCreationTime, encryption, networkAcls are filled in by
    # Azure (arm-examples StorageAccountGetProperties) and stay out of scope because we do not declare them.
    rules = rules(Rules(
        normalizers=(("sku.name", lower), ("kind", lower), ("properties.accessTier", lower), ("properties.minimumTlsVersion", lower)),
        replace_on=("kind",),
    ))

    @property
    def config(self) -> Config:
        return self.env.section(SECTION, Config)

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.config
        body = self.base(
            minimumTlsVersion=c.min_tls_version,
            allowBlobPublicAccess=c.allow_blob_public_access,
            allowSharedKeyAccess=c.allow_shared_key_access,
            supportsHttpsTrafficOnly=True,
            accessTier=c.access_tier,
        )
        body.update(sku={"name": c.sku}, kind=c.kind)
        return body

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.storage.storage_accounts.get_properties, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.storage.storage_accounts.begin_create, self.resource_group, self.resource_name, desired))

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # PATCH: kind and location cannot change in place; everything else can.
        patch = {k: v for k, v in desired.items() if k in ("sku", "tags", "properties")}
        call(clients.storage.storage_accounts.update, self.resource_group, self.resource_name, patch)

    def delete(self, clients: Any) -> None:
        call(clients.storage.storage_accounts.delete, self.resource_group, self.resource_name)


def instances(env: EnvironmentSpec) -> list[StorageAccount]:
    return [StorageAccount(env, "storage_account", env.resource_name("storage_account"))]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    return name_problems(env, "storage_account", r"[a-z0-9]{3,24}",
                         "3-24 lower-case letters and digits, globally unique")
