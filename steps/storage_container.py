"""Step: the private blob containers for backups and logs (Microsoft.Storage/storageAccounts/blobServices/containers)."""

from __future__ import annotations

import re
from typing import Any, Literal

from provisioner.azure import call, raw
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, lower
from steps._base import ArmStep, absent_is
from steps._fields import UNUSED, SdkModel, nm

SECTION = "storage_containers"
# Azure: 3-63 lower-case letters, digits and '-', starting with a letter or digit; every '-' sits between
# two letters or digits (so no '--' and no trailing '-').
NAME = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")


class Config(Section):
    names: list[str] = []
    public_access: Literal["None"] = "None"  # backups and audit logs are never public


class StorageContainer(ArmStep):
    type = "Microsoft.Storage/storageAccounts/blobServices/containers"
    model = SdkModel("azure.mgmt.storage.models", "BlobContainer")
    not_managed = (
        nm(UNUSED, "properties.enableNfsV3AllSquash", "properties.enableNfsV3RootSquash", "properties.metadata")
    )
    needs = ("storage_account",)
    holds_data = True  # deleting a container deletes every blob in it
    # etag, lastModifiedTime, lease*, deleted*, immutability*, legalHold and hasImmutabilityPolicy are
    # server-populated (azure-sdk-facts §1 "Lifecycle policy + blob container") and out of scope because
    # we do not declare them. publicAccess is an enum: ARM compares enums case-insensitively.
    # The account's own encryption (Azure's default scope, which a blob cannot override) and no access point
    # or version-level immutability: declared, so a change by hand is drift.
    rules = Rules(normalizers=(("properties.publicAccess", lower),
                               ("properties.defaultEncryptionScope", absent_is("$account-encryption-key")),
                               ("properties.denyEncryptionScopeOverride", absent_is(False))),
                  absent=("properties.blobAccessPointConfiguration", "properties.immutableStorageWithVersioning"))

    def parent_path(self) -> str:
        return f"storageAccounts/{self.account}/blobServices/default"

    @property
    def account(self) -> str:
        return self.env.resource_name("storage_account")

    def desired(self, known: Any) -> dict[str, Any]:
        return {"properties": {"publicAccess": self.env.section(SECTION, Config).public_access,
                               "defaultEncryptionScope": "$account-encryption-key", "denyEncryptionScopeOverride": False}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.storage.blob_containers.get, self.resource_group, self.account, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        call(clients.storage.blob_containers.create, self.resource_group, self.account, self.resource_name, desired)

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # PATCH: a PUT on an existing container is also accepted, but PATCH leaves metadata alone.
        call(clients.storage.blob_containers.update, self.resource_group, self.account, self.resource_name, desired)

    def delete(self, clients: Any) -> None:
        call(clients.storage.blob_containers.delete, self.resource_group, self.account, self.resource_name)


def instances(env: EnvironmentSpec) -> list[StorageContainer]:
    return [StorageContainer(env, f"storage_container:{name}", name) for name in env.section(SECTION, Config).names]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    problems = []
    names = env.section(SECTION, Config).names
    for i, name in enumerate(names):
        key = f"{SECTION}.names[{i}]"
        where = env.where(f"{SECTION}.names")
        if not NAME.fullmatch(name):
            problems.append(ConfigProblem(where, key, f"{name!r} is not a valid container name: 3-63 lower-case "
                                          "letters, digits and '-', starting with a letter or digit, no '--'"))
        elif name in names[:i]:
            problems.append(ConfigProblem(where, key, f"{name!r} is listed twice"))
    return problems
