"""Storage accounts, blob containers, lifecycle policy; Log Analytics workspaces."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.loganalytics import LogAnalyticsManagementClient
from azure.mgmt.loganalytics.models import Workspace, WorkspaceCapping, WorkspacePatch, WorkspaceSku
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.storage.models import (
    BlobContainer,
    ManagementPolicy,
    ManagementPolicySchema,
    Sku,
    StorageAccountCreateParameters,
    StorageAccountUpdateParameters,
)


def test_storage_account(cloud, make, rg):
    st = make(StorageManagementClient)
    assert st.storage_accounts.check_name_availability({"name": "stfund1", "type": "Microsoft.Storage/storageAccounts"}
                                                      ).name_available is True
    acct = st.storage_accounts.begin_create(rg, "stfund1", StorageAccountCreateParameters(
        sku=Sku(name="Standard_LRS"), kind="StorageV2", location="East US", minimum_tls_version="TLS1_2",
        allow_blob_public_access=False)).result()
    assert acct.location == "eastus" and acct.provisioning_state == "Succeeded" and acct.sku.tier == "Standard"
    assert acct.primary_endpoints.blob == "https://stfund1.blob.core.windows.net/"
    assert acct.enable_https_traffic_only is True and acct.creation_time is not None
    assert acct.encryption.services.blob.enabled is True and acct.access_tier == "Hot"
    assert st.storage_accounts.check_name_availability({"name": "stfund1", "type": "Microsoft.Storage/storageAccounts"}
                                                      ).name_available is False
    updated = st.storage_accounts.update(rg, "stfund1", StorageAccountUpdateParameters(tags={"a": "b"}))
    assert updated.tags == {"a": "b"} and updated.minimum_tls_version == "TLS1_2"
    assert st.storage_accounts.get_properties(rg, "stfund1").creation_time == acct.creation_time
    keys = st.storage_accounts.list_keys(rg, "stfund1")["keys"]  # `.keys` is Mapping.keys on hybrid models
    assert [k["keyName"] for k in keys] == ["key1", "key2"]

    container = st.blob_containers.create(rg, "stfund1", "uploads", BlobContainer(public_access="None"))
    assert container.name == "uploads" and container.lease_state == "Available"
    assert [c.name for c in st.blob_containers.list(rg, "stfund1")] == ["uploads"]
    policy = st.management_policies.create_or_update(rg, "stfund1", "default", ManagementPolicy(
        policy=ManagementPolicySchema(rules=[{"enabled": True, "name": "expire", "type": "Lifecycle", "definition": {
            "filters": {"blobTypes": ["blockBlob"]},
            "actions": {"baseBlob": {"delete": {"daysAfterModificationGreaterThan": 30}}}}}])))
    assert policy.name == "DefaultManagementPolicy" and policy.last_modified_time is not None
    assert st.management_policies.get(rg, "stfund1", "default").policy.rules[0].name == "expire"

    st.storage_accounts.delete(rg, "stfund1")
    with pytest.raises(ResourceNotFoundError):
        st.blob_containers.get(rg, "stfund1", "uploads")
    assert not [k for k in cloud.state() if "stfund1" in k]


def test_log_analytics_workspace(make, rg):
    la = make(LogAnalyticsManagementClient)
    ws = la.workspaces.begin_create_or_update(rg, "log-fund", Workspace(
        location="eastus", sku=WorkspaceSku(name="PerGB2018"), retention_in_days=30,
        workspace_capping=WorkspaceCapping(daily_quota_gb=1))).result()
    assert ws.provisioning_state == "Succeeded" and len(ws.customer_id) == 36
    assert ws.workspace_capping.daily_quota_gb == 1 and ws.public_network_access_for_ingestion == "Enabled"
    patched = la.workspaces.update(rg, "log-fund", WorkspacePatch(retention_in_days=60))
    assert patched.retention_in_days == 60 and patched.customer_id == ws.customer_id
    assert [w.name for w in la.workspaces.list_by_resource_group(rg)] == ["log-fund"]
    la.workspaces.begin_delete(rg, "log-fund", force=True).result()
    with pytest.raises(ResourceNotFoundError):
        la.workspaces.get(rg, "log-fund")
