"""Step: the storage account's lifecycle policy, archive then delete (Microsoft.Storage/storageAccounts/managementPolicies)."""

from __future__ import annotations

from typing import Any

from provisioner.azure import call, raw
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules
from steps._base import ArmStep
from steps._fields import SdkModel
from steps.storage_account import SECTION as STORAGE_SECTION
from steps.storage_account import Config as StorageConfig

SECTION = "storage_lifecycle"
POLICY = "default"  # the only name Azure accepts for a management policy
# The archive tier exists only for LRS, GRS and RA-GRS accounts (not ZRS, GZRS, RA-GZRS).
ARCHIVE_SKUS = ("Standard_LRS", "Standard_GRS", "Standard_RAGRS")


class Config(Section):
    archive_after_days: int | None = None  # days since last modification; None: never archive
    delete_after_days: int | None = None  # None: never delete


class LifecyclePolicy(ArmStep):
    type = "Microsoft.Storage/storageAccounts/managementPolicies"
    model = SdkModel("azure.mgmt.storage.models", "ManagementPolicy")
    needs = ("storage_account",)
    # The policy PUT to .../managementPolicies/default comes back named 'DefaultManagementPolicy'
    # (arm-examples StorageAccountGetManagementPolicy / SetManagementPolicy): `name` is in the differ's
    # envelope (server-populated) and we never declare it. properties.lastModifiedTime is server-populated.
    rules = Rules()

    def parent_path(self) -> str:
        return f"storageAccounts/{self.account}"

    @property
    def account(self) -> str:
        return self.env.resource_name("storage_account")

    @property
    def config(self) -> Config:
        return self.env.section(SECTION, Config)

    def desired(self, known: Any) -> dict[str, Any]:
        return {"properties": {"policy": {"rules": policy_rules(self.config)}}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.storage.management_policies.get, self.resource_group, self.account, POLICY)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        # PUT replaces the whole policy: the rule list is owned whole.
        call(clients.storage.management_policies.create_or_update, self.resource_group, self.account, POLICY, desired)

    def delete(self, clients: Any) -> None:
        call(clients.storage.management_policies.delete, self.resource_group, self.account, POLICY)


def policy_rules(c: Config) -> list[dict[str, Any]]:
    """One rule per action: tiering applies to block blobs only, deletion also to append blobs (audit logs)."""
    rules: list[dict[str, Any]] = []
    if c.archive_after_days:
        rules.append(_rule(f"archive-after-{c.archive_after_days}-days", ["blockBlob"],
                           {"tierToArchive": {"daysAfterModificationGreaterThan": c.archive_after_days}}))
    if c.delete_after_days:
        rules.append(_rule(f"delete-after-{c.delete_after_days}-days", ["blockBlob", "appendBlob"],
                           {"delete": {"daysAfterModificationGreaterThan": c.delete_after_days}}))
    return rules


def _rule(name: str, blob_types: list[str], base_blob: dict[str, Any]) -> dict[str, Any]:
    return {"enabled": True, "name": name, "type": "Lifecycle",
            "definition": {"filters": {"blobTypes": blob_types}, "actions": {"baseBlob": base_blob}}}


def instances(env: EnvironmentSpec) -> list[LifecyclePolicy]:
    c = env.section(SECTION, Config)
    # Azure rejects a policy with no rules: with nothing to do, there is no policy.
    return [LifecyclePolicy(env, "storage_lifecycle", POLICY)] if policy_rules(c) else []


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    c = env.section(SECTION, Config)
    problems = []
    for field in ("archive_after_days", "delete_after_days"):
        value = getattr(c, field)
        if value is not None and value <= 0:
            key = f"{SECTION}.{field}"
            problems.append(ConfigProblem(env.where(key), key, f"must be a positive number of days, got {value}"))
    if problems:
        return problems
    if c.archive_after_days and c.delete_after_days and c.archive_after_days >= c.delete_after_days:
        key = f"{SECTION}.delete_after_days"
        problems.append(ConfigProblem(env.where(key), key, f"must be later than archive_after_days "
                                      f"({c.archive_after_days}): blobs are archived first, then deleted"))
    sku = env.section(STORAGE_SECTION, StorageConfig).sku
    if c.archive_after_days and sku not in ARCHIVE_SKUS:
        key = f"{SECTION}.archive_after_days"
        problems.append(ConfigProblem(env.where(key), key, f"the archive tier is not available on {sku} accounts "
                                      f"(storage.sku; only {', '.join(ARCHIVE_SKUS)})"))
    return problems
