"""App Service through WebSiteManagementClient: plan, Linux container app, config, settings, slots."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import (
    AppServicePlan,
    AppServicePlanPatchResource,
    CsmPublishingCredentialsPoliciesEntity,
    CsmSlotEntity,
    HostNameBinding,
    ManagedServiceIdentity,
    Site,
    SiteConfig,
    SiteConfigResource,
    SitePatchResource,
    SkuDescription,
    SlotConfigNamesResource,
    StringDictionary,
)

from .conftest import dns_proof, rid


@pytest.fixture
def web(make):
    return make(WebSiteManagementClient)


@pytest.fixture
def plan(web, rg):
    return web.app_service_plans.begin_create_or_update(rg, "plan-1", AppServicePlan(
        location="East US", kind="linux", reserved=True, sku=SkuDescription(name="S1", tier="Standard"))).result()


def _site(plan, **kw):
    return Site(location="eastus", kind="app,linux,container", server_farm_id=plan.id, https_only=True,
                identity=ManagedServiceIdentity(type="SystemAssigned"),
                site_config=SiteConfig(linux_fx_version="DOCKER|ghcr.io/fundrbolt/api:1.0", always_on=True,
                                       health_check_path="/health",
                                       app_settings=[{"name": "WEBSITES_PORT", "value": "8000"}]), **kw)


def test_plan(cloud, web, rg, plan):
    assert plan.reserved is True and plan.kind == "linux" and plan.location == "eastus"
    assert plan.sku.family == "S" and plan.sku.size == "S1" and plan.sku.capacity == 1
    assert plan.status == "Ready" and plan.provisioning_state == "Succeeded" and plan.number_of_sites == 0
    assert plan.geo_region == "East US" and plan.maximum_number_of_workers == 10
    patched = web.app_service_plans.update(rg, "plan-1", AppServicePlanPatchResource(per_site_scaling=True))
    assert patched.per_site_scaling is True and patched.reserved is True
    assert [p.name for p in web.app_service_plans.list_by_resource_group(rg)] == ["plan-1"]
    web.app_service_plans.delete(rg, "plan-1")
    with pytest.raises(ResourceNotFoundError):
        web.app_service_plans.get(rg, "plan-1")


def test_linux_container_app(cloud, web, rg, plan):
    site = web.web_apps.begin_create_or_update(rg, "app-1", _site(plan)).result()
    assert site.default_host_name == "app-1.azurewebsites.net" and site.state == "Running"
    assert site.host_names == ["app-1.azurewebsites.net"] and site.https_only is True
    assert site.identity.principal_id and site.identity.tenant_id
    assert site.reserved is True and site.sku == "Standard" and site.resource_group == rg
    ips = site.outbound_ip_addresses.split(",")
    assert len(ips) == 2 and site.possible_outbound_ip_addresses.startswith(site.outbound_ip_addresses)
    # GET /sites returns siteConfig mostly null; the real values live in config/web.
    assert site.site_config.linux_fx_version == "DOCKER|ghcr.io/fundrbolt/api:1.0"
    assert site.site_config.min_tls_version is None and site.site_config.health_check_path is None
    raw_site = cloud.state()[rid("Microsoft.Web/sites/app-1")]
    assert raw_site["properties"]["siteConfig"]["appSettings"] is None
    config = web.web_apps.get_configuration(rg, "app-1")
    assert config.always_on is True and config.health_check_path == "/health"
    assert config.min_tls_version == "1.2" and config.ftps_state == "AllAllowed" and config.number_of_workers == 1
    assert config.ip_security_restrictions[0].priority == 2147483647
    assert web.app_service_plans.get(rg, "plan-1").number_of_sites == 1

    patched = web.web_apps.update_configuration(rg, "app-1", SiteConfigResource(ftps_state="Disabled"))
    assert patched.ftps_state == "Disabled" and patched.always_on is True  # PATCH merges
    replaced = web.web_apps.create_or_update_configuration(rg, "app-1", SiteConfigResource(min_tls_version="1.2"))
    assert replaced.always_on is False and replaced.ftps_state == "AllAllowed"  # PUT replaces

    assert web.web_apps.list_application_settings(rg, "app-1").properties == {"WEBSITES_PORT": "8000"}
    web.web_apps.update_application_settings(rg, "app-1", StringDictionary(properties={"A": "1"}))
    assert web.web_apps.list_application_settings(rg, "app-1").properties == {"A": "1"}  # whole set replaced

    names = web.web_apps.update_slot_configuration_names(rg, "app-1", SlotConfigNamesResource(app_setting_names=["A"]))
    assert names.app_setting_names == ["A"]
    assert web.web_apps.get_ftp_allowed(rg, "app-1").allow is True
    web.web_apps.update_ftp_allowed(rg, "app-1", CsmPublishingCredentialsPoliciesEntity(allow=False))
    web.web_apps.update_scm_allowed(rg, "app-1", CsmPublishingCredentialsPoliciesEntity(allow=False))
    assert web.web_apps.get_ftp_allowed(rg, "app-1").allow is False
    assert web.web_apps.get_scm_allowed(rg, "app-1").allow is False

    updated = web.web_apps.update(rg, "app-1", SitePatchResource(client_affinity_enabled=False))
    assert updated.client_affinity_enabled is False and updated.https_only is True
    assert [s.name for s in web.web_apps.list_by_resource_group(rg)] == ["app-1"]
    web.web_apps.delete(rg, "app-1")
    with pytest.raises(ResourceNotFoundError):
        web.web_apps.get_configuration(rg, "app-1")
    assert not [k for k in cloud.state() if "/sites/app-1" in k]
    assert web.app_service_plans.get(rg, "plan-1").number_of_sites == 0


def test_plan_with_sites_cannot_be_deleted(web, rg, plan):
    web.web_apps.begin_create_or_update(rg, "app-2", _site(plan)).result()
    with pytest.raises(HttpResponseError) as err:
        web.app_service_plans.delete(rg, "plan-1")
    assert err.value.status_code == 409


def test_slots_and_swap(cloud, web, rg, plan):
    web.web_apps.begin_create_or_update(rg, "app-3", _site(plan)).result()
    slot = web.web_apps.begin_create_or_update_slot(rg, "app-3", "staging", Site(
        location="eastus", kind="app,linux,container",
        site_config=SiteConfig(linux_fx_version="DOCKER|ghcr.io/fundrbolt/api:2.0"))).result()
    assert slot.name == "app-3/staging" and slot.default_host_name == "app-3-staging.azurewebsites.net"
    assert slot.server_farm_id == plan.id
    assert web.web_apps.get_configuration_slot(rg, "app-3", "staging").always_on is False  # no inheritance
    web.web_apps.update_application_settings_slot(rg, "app-3", "staging", StringDictionary(properties={"S": "1"}))
    assert web.web_apps.list_application_settings_slot(rg, "app-3", "staging").properties == {"S": "1"}
    assert [s.name for s in web.web_apps.list_slots(rg, "app-3")] == ["app-3/staging"]
    web.web_apps.begin_swap_slot(rg, "app-3", "staging", CsmSlotEntity(target_slot="production",
                                                                      preserve_vnet=True)).result()
    assert web.web_apps.get_configuration(rg, "app-3").linux_fx_version == "DOCKER|ghcr.io/fundrbolt/api:2.0"
    assert web.web_apps.get(rg, "app-3").site_config.linux_fx_version == "DOCKER|ghcr.io/fundrbolt/api:2.0"
    web.web_apps.delete_slot(rg, "app-3", "staging")
    with pytest.raises(ResourceNotFoundError):
        web.web_apps.get_slot(rg, "app-3", "staging")


def test_host_name_binding(web, rg, plan, make):
    site = web.web_apps.begin_create_or_update(rg, "app-4", _site(plan)).result()
    # App Service checks the CNAME and asuid TXT in public DNS (refused without them: test_delegation_tls.py).
    dns_proof(make, rg, "api.fundrbolt.app", site.default_host_name, site.custom_domain_verification_id)
    binding = web.web_apps.create_or_update_host_name_binding(rg, "app-4", "api.fundrbolt.app", HostNameBinding(
        host_name_type="Verified", custom_host_name_dns_record_type="CName"))
    assert binding.name == "app-4/api.fundrbolt.app" and binding.site_name == "app-4"
    assert "api.fundrbolt.app" in web.web_apps.get(rg, "app-4").host_names
    assert [b.name for b in web.web_apps.list_host_name_bindings(rg, "app-4")] == ["app-4/api.fundrbolt.app"]
    web.web_apps.delete_host_name_binding(rg, "app-4", "api.fundrbolt.app")
    assert "api.fundrbolt.app" not in web.web_apps.get(rg, "app-4").host_names


def test_vnet_routing_has_two_names_for_one_setting(cloud, web, rg, plan):
    """API 2024-11-01 renamed vnetRouteAllEnabled & co to outboundVnetRouting.* (SDK OutboundVnetRouting:
    "Previously called VnetRouteAllEnabled"): a write of either name is read back under both."""
    web.web_apps.begin_create_or_update(rg, "app-r", _site(plan)).result()

    def props():
        return web.web_apps.get(rg, "app-r")["properties"]

    assert props()["vnetRouteAllEnabled"] is False and props()["outboundVnetRouting"]["applicationTraffic"] is False
    web.web_apps.update(rg, "app-r", {"properties": {"vnetRouteAllEnabled": True}})
    routing = props()["outboundVnetRouting"]
    assert routing["applicationTraffic"] is True and routing["allTraffic"] is False
    web.web_apps.update(rg, "app-r", {"properties": {"outboundVnetRouting": {"applicationTraffic": False,
                                                                             "imagePullTraffic": True}}})
    p = props()
    assert (p["vnetRouteAllEnabled"], p["vnetImagePullEnabled"], p["vnetContentShareEnabled"]) == (False, True, False)
    assert p["outboundVnetRouting"]["imagePullTraffic"] is True
