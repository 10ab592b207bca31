"""Step: the storage account's blob service: soft delete of blobs and containers, versioning
(Microsoft.Storage/storageAccounts/blobServices, always named `default`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from provisioner.azure import call, raw
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules
from steps._base import ArmStep, absent_is
from steps._fields import UNUSED, SdkModel, nm

SECTION = "blob_service"
SERVICE = "default"  # the only blob service an account has


class Config(Section):
    # The account holds the database backups and audit logs (architecture "Storage Account (Backups, Logs)"): a
    # deleted or overwritten blob is kept this many days, a deleted container too (built-in "Configure soft delete
    # for blobs and containers on Storage Accounts": 7 days by default). Azure allows 1-365.
    soft_delete_days: int = Field(default=7, ge=1, le=365)
    container_soft_delete_days: int = Field(default=7, ge=1, le=365)
    # Every overwrite keeps the previous version (built-in "Configure your Storage account to enable blob
    # versioning"); the lifecycle policy ages versions out with the blobs.
    versioning: bool = True


class BlobService(ArmStep):
    type = "Microsoft.Storage/storageAccounts/blobServices"
    model = SdkModel("azure.mgmt.storage.models", "BlobServiceProperties")
    not_managed = (
        nm(UNUSED, "properties.cors", "properties.defaultServiceVersion", "properties.changeFeed",
           "properties.restorePolicy", "properties.automaticSnapshotPolicyEnabled",
           "properties.lastAccessTimeTrackingPolicy", "properties.staticWebsite.defaultIndexDocumentPath",
           "properties.staticWebsite.errorDocument404Path", "properties.staticWebsite.indexDocument")
    )
    needs = ("storage_account",)
    # A child without location or tags; the account's SKU is echoed read-only (BlobServiceProperties.sku).
    # Settings Azure leaves out until someone sets them: absent is their default (off).
    rules = Rules(normalizers=(("properties.staticWebsite.enabled", absent_is(False)),
                               ("properties.*.allowPermanentDelete", absent_is(False))))

    @property
    def account(self) -> str:
        return self.env.resource_name("storage_account")

    def parent_path(self) -> str:
        return f"storageAccounts/{self.account}"

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.env.section(SECTION, Config)
        return {"properties": {
            # A soft-deleted blob cannot be purged before its time (allowPermanentDelete off), or soft delete
            # protects nothing.
            "deleteRetentionPolicy": {"enabled": True, "days": c.soft_delete_days, "allowPermanentDelete": False},
            "containerDeleteRetentionPolicy": {"enabled": True, "days": c.container_soft_delete_days,
                                               "allowPermanentDelete": False},
            "isVersioningEnabled": c.versioning,
            # No anonymous static website (`$web` served to anyone) on the account that holds the backups.
            "staticWebsite": {"enabled": False},
        }}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.storage.blob_services.get_service_properties, self.resource_group, self.account)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        call(clients.storage.blob_services.set_service_properties, self.resource_group, self.account, desired)

    def delete(self, clients: Any) -> None:
        """The blob service goes with its account."""


def instances(env: EnvironmentSpec) -> list[BlobService]:
    return [BlobService(env, "blob_service", SERVICE)]
