"""Resource groups through ResourceManagementClient, plus the generic ARM behaviour they show."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.resource.resources import ResourceManagementClient

from .conftest import SUB, raw


def test_group_lifecycle(cloud, make):
    rmc = make(ResourceManagementClient)
    created = rmc.resource_groups.create_or_update("rg-a", {"location": "East US", "tags": {"env": "dev"}})
    assert created.location == "eastus"
    assert created.id == f"/subscriptions/{SUB}/resourceGroups/rg-a"
    assert created.properties.provisioning_state == "Succeeded"
    assert rmc.resource_groups.check_existence("rg-a") is True
    assert rmc.resource_groups.check_existence("rg-missing") is False
    got = rmc.resource_groups.get("RG-A")  # ids are case-insensitive, casing of the creator is kept
    assert got.name == "rg-a" and got.tags == {"env": "dev"} and got.type == "Microsoft.Resources/resourceGroups"
    updated = rmc.resource_groups.update("rg-a", {"tags": {"team": "x"}})
    assert updated.tags == {"team": "x"}  # tags replaced whole
    assert "rg-a" in [g.name for g in rmc.resource_groups.list()]
    body = cloud.state()[f"/subscriptions/{SUB}/resourceGroups/rg-a"]
    assert body["systemData"]["createdBy"] == "fundrbolt-provisioner"
    rmc.resource_groups.begin_delete("rg-a").result()
    with pytest.raises(ResourceNotFoundError) as err:
        rmc.resource_groups.get("rg-a")
    assert err.value.error.code == "ResourceGroupNotFound"


def test_group_delete_removes_contents(cloud, make):
    rmc = make(ResourceManagementClient)
    rmc.resource_groups.create_or_update("rg-b", {"location": "westeurope"})
    status, _, _ = raw(cloud, "PUT", f"/subscriptions/{SUB}/resourceGroups/rg-b/providers/Microsoft.Foo/bars/x"
                       "?api-version=2024-01-01", {"location": "westeurope", "properties": {"a": 1}})
    assert status == 201
    rmc.resource_groups.begin_delete("rg-b").result()
    assert [rid for rid in cloud.state() if "/resourcegroups/rg-b" in rid.lower()] == []


def test_group_location_cannot_change(make):
    rmc = make(ResourceManagementClient)
    rmc.resource_groups.create_or_update("rg-c", {"location": "eastus"})
    with pytest.raises(HttpResponseError) as err:
        rmc.resource_groups.create_or_update("rg-c", {"location": "westus"})
    assert err.value.status_code == 409


def test_generic_resource_by_id(cloud, make, rg):
    """Any type the local cloud has no profile for still gets id/name/type/systemData/provisioningState."""
    rmc = make(ResourceManagementClient)
    rid = f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Contoso/widgets/w1"
    poller = rmc.resources.begin_create_or_update_by_id(
        rid, {"location": "North Europe", "properties": {"size": 3, "nested": {"a": 1, "b": 2}}},
        api_version="2024-01-01")
    res = poller.result()
    assert res.location == "northeurope" and res.properties["provisioningState"] == "Succeeded"
    got = rmc.resources.get_by_id(rid, api_version="2024-01-01")
    assert got.name == "w1" and got.type == "Microsoft.Contoso/widgets"
    patched = rmc.resources.begin_update_by_id(rid, {"properties": {"nested": {"b": 3}}, "tags": {"k": "v"}},
                                               api_version="2024-01-01").result()
    assert patched.properties["nested"] == {"a": 1, "b": 3} and patched.properties["size"] == 3
    assert rmc.resources.check_existence_by_id(rid, api_version="2024-01-01") is True
    listed = list(rmc.resources.list_by_resource_group(rg))
    assert [r.name for r in listed] == ["w1"]
    rmc.resources.begin_delete_by_id(rid, api_version="2024-01-01").result()
    assert rmc.resources.check_existence_by_id(rid, api_version="2024-01-01") is False
