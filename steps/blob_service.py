"""Step: the storage account's blob service settings: soft delete, versioning, CORS (Microsoft.Storage/
storageAccounts/blobServices `default`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from provisioner.azure import call, raw
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules
from steps._base import ArmStep, absent_is
from steps._fields import PLATFORM, UNUSED, SdkModel, nm

SECTION = "blob_service"


class Config(Section):
    # Built-in "Configure soft delete for blobs and containers on Storage Accounts" (7 days for both by
    # default) and "Configure your Storage account to enable blob versioning": the database backups and audit
    # logs live here (architecture "Storage Account (Backups, Logs)"), so a deleted or overwritten blob can
    # be brought back.
    soft_delete_days: int = Field(default=7, ge=1, le=365)
    container_soft_delete_days: int = Field(default=7, ge=1, le=365)
    versioning: bool = True


class BlobService(ArmStep):
    type = "Microsoft.Storage/storageAccounts/blobServices"
    model = SdkModel("azure.mgmt.storage.models", "BlobServiceProperties")
    not_managed = (
        nm(PLATFORM, "sku")
        + nm(UNUSED, "properties.defaultServiceVersion", "properties.automaticSnapshotPolicyEnabled")
    )
    needs = ("storage_account",)
    holds_data = False  # settings only: the blobs are the account's
    rules = Rules(
        normalizers=(("properties.cors.corsRules", absent_is([])), ("properties.isVersioningEnabled", absent_is(False)),
                     ("properties.deleteRetentionPolicy.allowPermanentDelete", absent_is(False)),
                     ("properties.containerDeleteRetentionPolicy.allowPermanentDelete", absent_is(False)),
                     ("properties.changeFeed.enabled", absent_is(False)), ("properties.restorePolicy.enabled", absent_is(False))),
        # A static website serves the account's `$web` container to anyone; last-access tracking lets a
        # lifecycle rule delete blobs by last read: neither is used, so a value is drift.
        absent=("properties.staticWebsite", "properties.changeFeed.retentionInDays", "properties.restorePolicy.days",
                "properties.lastAccessTimeTrackingPolicy"),
    )

    @property
    def account(self) -> str:
        return self.env.resource_name("storage_account")

    def parent_path(self) -> str | None:
        return f"storageAccounts/{self.account}"

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.env.section(SECTION, Config)
        return {"properties": {
            # No browser reads the backups or logs: no CORS rule (one allowing `*` added by hand is drift).
            "cors": {"corsRules": []},
            "deleteRetentionPolicy": {"enabled": True, "days": c.soft_delete_days, "allowPermanentDelete": False},
            "containerDeleteRetentionPolicy": {"enabled": True, "days": c.container_soft_delete_days,
                                               "allowPermanentDelete": False},
            "isVersioningEnabled": c.versioning,
            # Change feed and point-in-time restore are off (Azure's defaults).
            "changeFeed": {"enabled": False},
            "restorePolicy": {"enabled": False},
        }}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.storage.blob_services.get_service_properties, self.resource_group, self.account)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        # PUT .../blobServices/default: the service exists with the account; this sets its properties.
        call(clients.storage.blob_services.set_service_properties, self.resource_group, self.account, desired)

    def delete(self, clients: Any) -> None:
        """The blob service goes with its account; nothing to delete on its own."""


def instances(env: EnvironmentSpec) -> list[BlobService]:
    return [BlobService(env, "blob_service", "default")]
