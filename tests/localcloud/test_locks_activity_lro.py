"""Locks (ScopeLocked), the Activity Log through MonitorManagementClient, and realistic LRO timing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.resource.locks import ManagementLockClient
from azure.mgmt.resource.locks.models import ManagementLockObject
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import AppServicePlan, SkuDescription

from provisioner.localcloud import LocalCloud
from provisioner.localcloud.providers import register_all

from .conftest import RG, SUB, AllowHttp, StaticCred, raw, rid


def _plan(make, rg, name="plan-l"):
    return make(WebSiteManagementClient).app_service_plans.begin_create_or_update(
        rg, name, AppServicePlan(location="eastus", kind="linux", reserved=True,
                                 sku=SkuDescription(name="B1", tier="Basic"))).result()


def test_cannot_delete_lock_blocks_resource_and_group(cloud, make, rg):
    locks = make(ManagementLockClient)
    _plan(make, rg)
    lock = locks.management_locks.create_or_update_at_resource_group_level(
        rg, "no-delete", ManagementLockObject(level="CanNotDelete", notes="protect data"))
    assert lock.level == "CanNotDelete" and lock.name == "no-delete"
    assert locks.management_locks.get_at_resource_group_level(rg, "no-delete").notes == "protect data"
    with pytest.raises(HttpResponseError) as err:
        make(WebSiteManagementClient).app_service_plans.delete(rg, "plan-l")
    assert err.value.status_code == 409 and err.value.error.code == "ScopeLocked"
    with pytest.raises(HttpResponseError) as err:
        make(ResourceManagementClient).resource_groups.begin_delete(rg).result()
    assert err.value.error.code == "ScopeLocked"
    # CanNotDelete still allows writes.
    assert raw(cloud, "PATCH", rid("Microsoft.Web/serverfarms/plan-l") + "?api-version=2025-05-01",
               {"tags": {"x": "y"}})[0] == 200
    locks.management_locks.delete_at_resource_group_level(rg, "no-delete")
    make(WebSiteManagementClient).app_service_plans.delete(rg, "plan-l")


def test_resource_level_and_read_only_lock(cloud, make, rg):
    locks = make(ManagementLockClient)
    _plan(make, rg)
    locks.management_locks.create_or_update_at_resource_level(
        rg, "Microsoft.Web", "", "serverfarms", "plan-l", "ro", ManagementLockObject(level="ReadOnly"))
    status, body, _ = raw(cloud, "PATCH", rid("Microsoft.Web/serverfarms/plan-l") + "?api-version=2025-05-01",
                          {"tags": {"x": "y"}})
    assert (status, body["error"]["code"]) == (409, "ScopeLocked")
    with pytest.raises(HttpResponseError):
        make(ResourceManagementClient).resource_groups.begin_delete(rg).result()
    listed = list(locks.management_locks.list_at_resource_group_level(rg))
    assert [lk.name for lk in listed] == ["ro"]


def test_activity_log_attributes_out_of_band_change(cloud, make, rg):
    _plan(make, rg)
    start = datetime.now(UTC) - timedelta(minutes=1)
    plan_id = rid("Microsoft.Web/serverfarms/plan-l")
    status, _, _ = raw(cloud, "PATCH", plan_id + "?api-version=2025-05-01", {"tags": {"changed": "by-hand"}},
                       headers={"x-ms-correlation-request-id": "11111111-2222-3333-4444-555555555555"})
    assert status == 200
    monitor = make(MonitorManagementClient)
    end = datetime.now(UTC) + timedelta(minutes=1)
    flt = (f"eventTimestamp ge '{start.isoformat()}' and eventTimestamp le '{end.isoformat()}' "
           f"and resourceUri eq '{plan_id}'")
    events = list(monitor.activity_logs.list(filter=flt))
    assert [e.caller for e in events] == ["alice@fundrbolt.app", "fundrbolt-provisioner"]  # newest first
    manual = events[0]
    assert manual.correlation_id == "11111111-2222-3333-4444-555555555555"
    assert manual.operation_name.value == "Microsoft.Web/serverfarms/write"
    assert manual.status.value == "Succeeded" and manual.category.value == "Administrative"
    assert manual.resource_group_name == RG and manual.http_request.method == "PATCH"
    assert manual.event_timestamp.tzinfo is not None
    by_group = list(monitor.activity_logs.list(filter=f"eventTimestamp ge '{start.isoformat()}' and "
                                               f"resourceGroupName eq '{RG}'"))
    assert len(by_group) == 3  # group create, plan create, plan patch
    by_corr = list(monitor.activity_logs.list(
        filter=f"eventTimestamp ge '{start.isoformat()}' and correlationId eq '{manual.correlation_id}'"))
    assert len(by_corr) == 1


def test_realistic_lro_shows_transient_state():
    with LocalCloud(latency="realistic", time_scale=0.01) as cloud:
        register_all(cloud)
        web = WebSiteManagementClient(StaticCred(), SUB, base_url=cloud.url, per_call_policies=[AllowHttp()],
                                      polling_interval=0.05)
        raw(cloud, "PUT", f"/subscriptions/{SUB}/resourceGroups/{RG}?api-version=2025-04-01", {"location": "eastus"})
        poller = web.app_service_plans.begin_create_or_update(RG, "plan-r", AppServicePlan(
            location="eastus", sku=SkuDescription(name="S1", tier="Standard")))
        during = web.app_service_plans.get(RG, "plan-r")
        assert during.provisioning_state == "Creating"
        put = next(r for r in cloud.requests() if r["method"] == "PUT" and "serverfarms" in r["path"])
        assert put["status"] == 202
        started = time.monotonic()
        assert poller.result().provisioning_state == "Succeeded"
        assert time.monotonic() - started < 2.0
        assert cloud.state()[rid("Microsoft.Web/serverfarms/plan-r")]["properties"]["provisioningState"] == "Succeeded"


def test_lro_headers(cloud, rg):
    status, body, headers = raw(cloud, "PUT", rid("Microsoft.Web/serverfarms/p") + "?api-version=2025-05-01",
                                {"location": "eastus", "sku": {"name": "B1"}})
    assert status == 202 and body["properties"]["provisioningState"] == "Creating"
    assert "Retry-After" not in headers
    op_url = headers["Azure-AsyncOperation"]
    assert "/providers/Microsoft.Web/locations/eastus/operationStatuses/" in op_url
    status, op, _ = raw(cloud, "GET", op_url[len(cloud.url):])
    assert status == 200 and op["status"] == "Succeeded" and op["endTime"] and op["name"] in op_url


def test_cannot_delete_lock_refuses_deleting_a_role_assignment_scoped_to_the_resource(cloud, make, rg):
    import uuid

    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

    locks = make(ManagementLockClient)
    _plan(make, rg)
    scope = rid("Microsoft.Web/serverfarms/plan-l")
    auth = make(AuthorizationManagementClient)
    role = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d"

    def grant() -> str:
        name = str(uuid.uuid4())
        auth.role_assignments.create(scope, name, RoleAssignmentCreateParameters(
            role_definition_id=role, principal_id=str(uuid.uuid4()), principal_type="ServicePrincipal"))
        return name

    old = grant()
    locks.management_locks.create_or_update_at_resource_level(
        rg, "Microsoft.Web", "", "serverfarms", "plan-l", "keep", ManagementLockObject(level="CanNotDelete"))
    new = grant()  # adding an assignment under a CanNotDelete lock is allowed (MicrosoftDocs/azure-docs#110791)
    for name in (old, new):
        with pytest.raises(HttpResponseError) as err:
            auth.role_assignments.delete(scope, name)
        assert err.value.status_code == 409 and err.value.error.code == "ScopeLocked"
    locks.management_locks.delete_at_resource_level(rg, "Microsoft.Web", "", "serverfarms", "plan-l", "keep")
    auth.role_assignments.delete(scope, old)
