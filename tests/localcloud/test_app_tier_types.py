"""Local-cloud fidelity for the App Service tier: slot quotas, static sites, autoscale, role assignments."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.web import WebSiteManagementClient

from .conftest import SUB, raw, rid

ROLE = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"
NAME = "6f1c2a8e-3b4d-5e6f-8a9b-0c1d2e3f4a5b"


@pytest.fixture
def web(make):
    return make(WebSiteManagementClient)


def _plan(web, rg, sku: str, tier: str) -> dict:
    return web.app_service_plans.begin_create_or_update(rg, f"plan-{sku}", {
        "location": "eastus", "kind": "linux", "properties": {"reserved": True},
        "sku": {"name": sku, "tier": tier}}).result().as_dict()


def _site(web, rg, plan_id: str, name: str = "app-1") -> dict:
    return web.web_apps.begin_create_or_update(rg, name, {
        "location": "eastus", "kind": "app,linux,container", "identity": {"type": "SystemAssigned"},
        "properties": {"serverFarmId": plan_id}}).result().as_dict()


def test_no_slot_on_a_basic_plan(web, rg):
    plan = _plan(web, rg, "B1", "Basic")
    _site(web, rg, plan["id"])
    with pytest.raises(HttpResponseError) as info:
        web.web_apps.begin_create_or_update_slot(rg, "app-1", "staging", {"location": "eastus"}).result()
    assert info.value.status_code == 409 and "'Basic' SKU" in str(info.value)


def test_standard_plan_slot_does_not_inherit_config(web, rg):
    plan = _plan(web, rg, "S1", "Standard")
    _site(web, rg, plan["id"])
    web.web_apps.update_configuration(rg, "app-1", {"properties": {"alwaysOn": True}})
    slot = web.web_apps.begin_create_or_update_slot(rg, "app-1", "staging", {
        "location": "eastus", "kind": "app,linux,container", "identity": {"type": "SystemAssigned"},
        "properties": {"serverFarmId": plan["id"]}}).result()
    assert slot.identity.principal_id and slot.default_host_name == "app-1-staging.azurewebsites.net"
    assert web.web_apps.get_configuration_slot(rg, "app-1", "staging").always_on is False


def test_a_system_identity_turned_off_and_on_again_is_a_new_principal(web, rg):
    """Turning the identity off deletes its service principal; on again is another one (App Service docs,
    overview-managed-identity#remove-an-identity). Before: the local cloud handed back the same principalId."""
    plan = _plan(web, rg, "S1", "Standard")
    first = _site(web, rg, plan["id"])["identity"]["principalId"]
    again = _site(web, rg, plan["id"])["identity"]["principalId"]  # a re-PUT keeps the identity it has
    assert again == first
    web.web_apps.update(rg, "app-1", {"identity": {"type": "None"}})
    assert web.web_apps.get(rg, "app-1").identity.principal_id is None
    web.web_apps.update(rg, "app-1", {"identity": {"type": "SystemAssigned"}})
    new = web.web_apps.get(rg, "app-1").identity.principal_id
    assert new and new != first
    # principalId is read-only: a value sent with the body is not taken.
    sent = web.web_apps.begin_create_or_update(rg, "app-1", {
        "location": "eastus", "kind": "app,linux,container", "properties": {"serverFarmId": plan["id"]},
        "identity": {"type": "SystemAssigned", "principalId": first}}).result()
    assert sent.identity.principal_id == new


def test_static_site_region_sku_and_display_location(cloud, web, rg):
    path = rid("Microsoft.Web/staticSites/admin") + "?api-version=2025-05-01"
    status, body, _ = raw(cloud, "PUT", path, {"location": "eastus", "sku": {"name": "Standard"}})
    assert status == 400 and body["error"]["code"] == "LocationNotAvailableForResourceType"
    status, body, _ = raw(cloud, "PUT", path, {"location": "eastus2", "sku": {"name": "Premium"}})
    assert status == 400 and body["error"]["code"] == "InvalidSku"
    site = web.static_sites.begin_create_or_update_static_site(rg, "admin", {
        "location": "eastus2", "sku": {"name": "standard"}, "properties": {}}).result()
    assert site.location == "East US 2" and site.sku.name == "Standard" and site.sku.tier == "Standard"
    assert site.default_hostname.endswith(".azurestaticapps.net")


def _autoscale(plan_id: str, low: str = "1", high: str = "5") -> dict:
    trigger = {"metricName": "CpuPercentage", "metricResourceUri": plan_id, "timeGrain": "PT1M", "statistic": "Average",
               "timeWindow": "PT5M", "timeAggregation": "Average", "operator": "GreaterThan", "threshold": 70}
    return {"location": "eastus", "properties": {"enabled": True, "targetResourceUri": plan_id, "profiles": [{
        "name": "cpu", "capacity": {"minimum": low, "maximum": high, "default": low},
        "rules": [{"metricTrigger": trigger, "scaleAction": {"direction": "Increase", "type": "ChangeCount",
                                                             "value": "1", "cooldown": "PT5M"}}]}]}}


def test_autoscale_shape_and_refusals(cloud, make, web, rg):
    monitor = make(MonitorManagementClient)
    basic = _plan(web, rg, "B1", "Basic")
    with pytest.raises(HttpResponseError, match="Basic"):
        monitor.autoscale_settings.create_or_update(rg, "scale", _autoscale(basic["id"]))
    standard = _plan(web, rg, "S1", "Standard")
    with pytest.raises(HttpResponseError, match="limit of 10"):
        monitor.autoscale_settings.create_or_update(rg, "scale", _autoscale(standard["id"], high="11"))
    with pytest.raises(HttpResponseError, match="between minimum"):
        monitor.autoscale_settings.create_or_update(rg, "scale", _autoscale(standard["id"], low="3", high="2"))
    body = _autoscale(standard["id"])
    body["properties"]["profiles"][0]["rules"][0]["metricTrigger"]["timeGrain"] = "Pt1m"  # as a person might write it
    status, _, _ = raw(cloud, "PUT", rid("Microsoft.Insights/autoscaleSettings/scale") + "?api-version=2022-10-01", body)
    assert status == 201
    body = monitor.autoscale_settings.get(rg, "scale", cls=lambda r, o, h: r.http_response.json())
    assert "/providers/microsoft.insights/autoscalesettings/scale" in body["id"]
    p = body["properties"]
    assert p["name"] == "scale" and p["enabled"] is True and "provisioningState" not in p
    assert p["predictiveAutoscalePolicy"] == {"scaleMode": "Disabled", "scaleLookAheadTime": None}
    trigger = p["profiles"][0]["rules"][0]["metricTrigger"]
    assert trigger["timeGrain"] == "PT1M" and trigger["threshold"] == 70.0 and trigger["dividePerInstance"] is False


def test_role_assignments(cloud, make, web, rg):
    auth = make(AuthorizationManagementClient)
    plan = _plan(web, rg, "S1", "Standard")
    principal = _site(web, rg, plan["id"])["identity"]["principalId"]
    scope = rid("Microsoft.Web/sites/app-1")
    with pytest.raises(HttpResponseError, match="must be a GUID"):
        auth.role_assignments.create(scope, "not-a-guid", {"properties": {"roleDefinitionId": ROLE, "principalId": principal}})
    with pytest.raises(HttpResponseError, match="PrincipalNotFound|does not exist in the directory"):
        auth.role_assignments.create(scope, NAME, {"properties": {"roleDefinitionId": ROLE,
                                                                  "principalId": "99999999-9999-9999-9999-999999999999"}})
    made = auth.role_assignments.create(scope, NAME, {"properties": {"roleDefinitionId": ROLE, "principalId": principal}})
    assert made.principal_type == "ServicePrincipal" and made.scope == scope  # looked up: a managed identity
    with pytest.raises(HttpResponseError) as info:  # not idempotent (Azure/azure-cli#8568)
        auth.role_assignments.create(scope, NAME, {"properties": {"roleDefinitionId": ROLE, "principalId": principal}})
    assert "RoleAssignmentExists" in str(info.value)
    with pytest.raises(HttpResponseError) as info:
        auth.role_assignments.create(scope, NAME, {"properties": {
            "roleDefinitionId": ROLE, "principalId": "99999999-9999-9999-9999-999999999999", "principalType": "ServicePrincipal"}})
    assert "RoleAssignmentUpdateNotPermitted" in str(info.value)
    auth.role_assignments.delete(scope, NAME)
    # With principalType the directory lookup is skipped (the documented fix for replication delay).
    fresh = auth.role_assignments.create(scope, NAME, {"properties": {
        "roleDefinitionId": ROLE, "principalId": "99999999-9999-9999-9999-999999999999", "principalType": "ServicePrincipal"}})
    assert fresh.principal_id == "99999999-9999-9999-9999-999999999999"


def test_role_assignment_lists_follow_arm_filters(cloud, make, web, rg):
    """RoleAssignments_ListForScope: no filter = at, above and below; atScope() = at or above only;
    principalId eq = that principal anywhere related (learn.microsoft.com RoleAssignmentCollection.GetAll)."""
    auth = make(AuthorizationManagementClient)
    plan = _plan(web, rg, "S1", "Standard")
    _site(web, rg, plan["id"])
    group = f"/subscriptions/{SUB}/resourceGroups/{rg}"
    site = rid("Microsoft.Web/sites/app-1")
    names = {"group": "0b1e0000-0000-4000-8000-00000000000a", "site": "0b1e0000-0000-4000-8000-00000000000b"}
    a, b = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
    auth.role_assignments.create(group, names["group"], {"properties": {"roleDefinitionId": ROLE, "principalId": a,
                                                                         "principalType": "User"}})
    auth.role_assignments.create(site, names["site"], {"properties": {"roleDefinitionId": ROLE, "principalId": b,
                                                                       "principalType": "User"}})

    def listed(scope: str, flt: str | None = None) -> set[str]:
        return {r.name for r in auth.role_assignments.list_for_scope(scope, filter=flt)}

    assert listed(site, "atScope()") == {names["group"], names["site"]}  # inherited from the group, and its own
    assert listed(group, "atScope()") == {names["group"]}  # not the site's: it is below
    assert listed(group) == {names["group"], names["site"]}  # unfiltered: below too
    assert listed(group, f"principalId eq '{b}'") == {names["site"]}
    with pytest.raises(HttpResponseError) as info:
        auth.role_assignments.list_for_scope(group, filter="roleDefinitionId eq 'x'").next()
    assert info.value.status_code == 400
