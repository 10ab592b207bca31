"""Slot swaps move only what Azure moves; the apps' hosts answer /health (503 for --unhealthy-image)."""

from __future__ import annotations

import io
import json
import time
import urllib.request
import zipfile

import pytest
from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import (
    AppServicePlan,
    CsmSlotEntity,
    Site,
    SiteConfig,
    SkuDescription,
    SlotConfigNamesResource,
    StringDictionary,
)

from provisioner.localcloud.apphosts import UPLOAD_PATH


@pytest.fixture
def web(make):
    return make(WebSiteManagementClient)


@pytest.fixture
def app(web, rg):
    plan = web.app_service_plans.begin_create_or_update(rg, "plan-1", AppServicePlan(
        location="eastus", kind="linux", reserved=True, sku=SkuDescription(name="S1", tier="Standard"))).result()

    def site(image: str, always_on: bool) -> Site:
        return Site(location="eastus", kind="app,linux,container", server_farm_id=plan.id,
                    site_config=SiteConfig(linux_fx_version=f"DOCKER|r/api:{image}", always_on=always_on,
                                           min_tls_version="1.2", health_check_path="/health"))

    web.web_apps.begin_create_or_update(rg, "api", site("v1", True)).result()
    web.web_apps.begin_create_or_update_slot(rg, "api", "staging", site("v2", False)).result()
    return "api"


def _get(cloud, host: str, path: str = "/health", data: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(cloud.url + path, data=data, headers={"Host": host, **(headers or {})},
                                 method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_swap_moves_the_image_and_settings_but_not_slot_specific_ones(cloud, web, rg, app):
    web.web_apps.update_slot_configuration_names(rg, app, SlotConfigNamesResource(app_setting_names=["ENVIRONMENT"]))
    web.web_apps.update_application_settings(rg, app, StringDictionary(properties={
        "ENVIRONMENT": "production", "FEATURE": "old", "XDT_MicrosoftApplicationInsights_EXTENSION_VERSION": "p"}))
    web.web_apps.update_application_settings_slot(rg, app, "staging", StringDictionary(properties={
        "ENVIRONMENT": "staging", "FEATURE": "new", "XDT_MicrosoftApplicationInsights_EXTENSION_VERSION": "s"}))
    poller = web.web_apps.begin_swap_slot(rg, app, "staging", CsmSlotEntity(target_slot="production",
                                                                           preserve_vnet=True))
    poller.result()
    prod, slot = web.web_apps.get_configuration(rg, app), web.web_apps.get_configuration_slot(rg, app, "staging")
    assert (prod.linux_fx_version, slot.linux_fx_version) == ("DOCKER|r/api:v2", "DOCKER|r/api:v1")
    # Always On stays with its slot (MicrosoftDocs app-service-deployment-slots-settings.md).
    assert (prod.always_on, slot.always_on) == (True, False)
    prod_settings = web.web_apps.list_application_settings(rg, app).properties
    assert prod_settings == {"ENVIRONMENT": "production", "FEATURE": "new",
                             "XDT_MicrosoftApplicationInsights_EXTENSION_VERSION": "p"}
    status = web.web_apps.get(rg, app).slot_swap_status
    assert (status.source_slot_name, status.destination_slot_name) == ("staging", "production")


def test_swap_to_a_missing_slot_is_404(web, rg, app):
    from azure.core.exceptions import ResourceNotFoundError

    with pytest.raises(ResourceNotFoundError):
        web.web_apps.begin_swap_slot(rg, app, "staging", CsmSlotEntity(target_slot="qa", preserve_vnet=True)).result()


def test_hosts_answer_health(cloud, web, rg, app):
    assert _get(cloud, "api.azurewebsites.net")[0] == 200
    assert _get(cloud, "api-staging.azurewebsites.net")[0] == 200
    assert _get(cloud, "api.azurewebsites.net", "/nope")[0] == 404
    assert _get(cloud, "nobody.azurewebsites.net")[0] == 404
    cloud.apphosts.unhealthy = ["v2"]
    status, body = _get(cloud, "api-staging.azurewebsites.net")
    assert status == 503 and json.loads(body)["status"] == "unhealthy"  # the slot runs r/api:v2
    assert _get(cloud, "api.azurewebsites.net")[0] == 200  # production runs r/api:v1
    web.web_apps.stop(rg, app)
    assert _get(cloud, "api.azurewebsites.net")[0] == 403


def test_static_upload_needs_the_deployment_token(cloud, make, rg):
    web = make(WebSiteManagementClient)
    site = web.static_sites.begin_create_or_update_static_site(rg, "admin", {
        "location": "eastus2", "sku": {"name": "Standard", "tier": "Standard"}, "properties": {}}).result()
    host = site.default_hostname
    token = web.static_sites.list_static_site_secrets(rg, "admin").properties["apiKey"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", "<p>hi</p>")
    assert _get(cloud, host, UPLOAD_PATH, buffer.getvalue(), {"x-deployment-token": "wrong"})[0] == 401
    assert b"waiting for your content" in _get(cloud, host, "/")[1]
    assert _get(cloud, host, UPLOAD_PATH, buffer.getvalue(), {"x-deployment-token": token})[0] == 200
    assert _get(cloud, host, "/") == (200, b"<p>hi</p>")


def _marker(cloud, host: str) -> tuple[int, str | None]:
    status, body = _get(cloud, host)
    return status, json.loads(body).get("deploy_marker")


def test_the_running_container_answers_until_the_new_one_has_started(cloud, web, rg, app):
    """App Service keeps the running container answering while a new image is pulled and started
    (provisioner/localcloud/containers.py): the first 200 after an image change is the old version."""
    web.web_apps.update_application_settings(rg, app, StringDictionary(properties={"DEPLOY_MARKER": "r/api:v1"}))
    cloud.apphosts.start_seconds = 0.6  # what --latency realistic sets (45 s x --time-scale)
    web.web_apps.update_configuration(rg, app, {"properties": {"linuxFxVersion": "DOCKER|r/api:v3"}})
    web.web_apps.update_application_settings(rg, app, StringDictionary(properties={"DEPLOY_MARKER": "r/api:v3"}))
    assert _marker(cloud, "api.azurewebsites.net") == (200, "r/api:v1")  # still the old container
    time.sleep(0.8)
    assert _marker(cloud, "api.azurewebsites.net") == (200, "r/api:v3")


def test_a_new_unhealthy_image_answers_503_once_it_has_started(cloud, web, rg, app):
    cloud.apphosts.unhealthy = ["broken"]
    cloud.apphosts.start_seconds = 0.4
    web.web_apps.update_configuration(rg, app, {"properties": {"linuxFxVersion": "DOCKER|r/api:broken-1"}})
    assert _get(cloud, "api.azurewebsites.net")[0] == 200  # the old one, until the new one runs
    time.sleep(0.6)
    assert _get(cloud, "api.azurewebsites.net")[0] == 503


def test_a_new_site_answers_503_until_its_first_container_has_started(cloud, web, rg, app):
    cloud.apphosts.start_seconds = 0.4
    plan = web.app_service_plans.get(rg, "plan-1")
    web.web_apps.begin_create_or_update(rg, "api2", Site(location="eastus", kind="app,linux,container",
                                                         server_farm_id=plan.id, site_config=SiteConfig(
                                                             linux_fx_version="DOCKER|r/api:v1"))).result()
    status, body = _get(cloud, "api2.azurewebsites.net")
    assert status == 503 and json.loads(body)["status"] == "starting"
    time.sleep(0.6)
    assert _get(cloud, "api2.azurewebsites.net")[0] == 200


def test_a_swap_moves_warm_containers_with_their_markers(cloud, web, rg, app):
    web.web_apps.update_application_settings(rg, app, StringDictionary(properties={"DEPLOY_MARKER": "one"}))
    web.web_apps.update_application_settings_slot(rg, app, "staging", StringDictionary(properties={"DEPLOY_MARKER": "two"}))
    cloud.apphosts.start_seconds = 30.0  # nothing started from now on would answer during this test
    web.web_apps.begin_swap_slot(rg, app, "staging", CsmSlotEntity(target_slot="production",
                                                                  preserve_vnet=True)).result()
    assert _marker(cloud, "api.azurewebsites.net") == (200, "two")
    assert _marker(cloud, "api-staging.azurewebsites.net") == (200, "one")


def test_swap_warm_up_statuses_stop_a_swap_to_an_unhealthy_slot(cloud, web, rg, app):
    """WEBSITE_SWAP_WARMUP_PING_STATUSES: a warm-up answer not in the list stops the swap (accepted, then the
    operation fails, nothing exchanged); without the setting every answer is valid (deploy-staging-slots.md)."""
    from azure.core.exceptions import HttpResponseError

    cloud.apphosts.unhealthy = ["v2"]  # the slot's image
    web.web_apps.update_application_settings_slot(rg, app, "staging", StringDictionary(properties={
        "WEBSITE_SWAP_WARMUP_PING_PATH": "/health", "WEBSITE_SWAP_WARMUP_PING_STATUSES": "200"}))
    with pytest.raises(HttpResponseError) as refused:
        web.web_apps.begin_swap_slot(rg, app, "staging", CsmSlotEntity(target_slot="production",
                                                                      preserve_vnet=True)).result()
    assert "503" in str(refused.value) and "WEBSITE_SWAP_WARMUP_PING_STATUSES" in str(refused.value)
    assert web.web_apps.get_configuration(rg, app).linux_fx_version == "DOCKER|r/api:v1"
    assert _get(cloud, "api.azurewebsites.net")[0] == 200

    web.web_apps.update_application_settings_slot(rg, app, "staging", StringDictionary(properties={
        "WEBSITE_SWAP_WARMUP_PING_PATH": "/health"}))
    web.web_apps.begin_swap_slot(rg, app, "staging", CsmSlotEntity(target_slot="production",
                                                                  preserve_vnet=True)).result()
    assert web.web_apps.get_configuration(rg, app).linux_fx_version == "DOCKER|r/api:v2"
    assert _get(cloud, "api.azurewebsites.net")[0] == 503  # every answer was valid: the swap went through


def test_swap_needs_both_fields(cloud, rg, app):
    from tests.e2e.helpers import rest

    from .conftest import rid

    path = rid("Microsoft.Web/sites/api/slots/staging/slotsswap")
    status, body = rest(cloud.url, "POST", path, {"targetSlot": "production"}, api_version="2024-11-01")
    assert status == 400 and "preserveVnet" in body["error"]["message"]
    assert rest(cloud.url, "POST", path, {"targetSlot": "production", "preserveVnet": True})[0] == 202
