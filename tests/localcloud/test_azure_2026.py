"""Azure as it is in December 2026, through the real SDK clients: each rule accepted and refused as Azure does
(docs/azure-2026.md cites the sources)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure.core.exceptions import HttpResponseError

from provisioner.localcloud.providers import register_all

from .conftest import rid


def _alert(mon, rg, name: str, window: timedelta, frequency: timedelta = timedelta(minutes=1)):
    from azure.mgmt.monitor.models import (
        MetricAlertResource,
        MetricAlertSingleResourceMultipleMetricCriteria,
        MetricCriteria,
    )

    return mon.metric_alerts.create_or_update(rg, name, MetricAlertResource(
        location="global", severity=2, enabled=True, scopes=[rid("Microsoft.Web/serverfarms/p")],
        evaluation_frequency=frequency, window_size=window,
        criteria=MetricAlertSingleResourceMultipleMetricCriteria(all_of=[MetricCriteria(
            name="c", metric_name="CpuPercentage", operator="GreaterThan", threshold=70, time_aggregation="Average")])))


# The oracle is Azure's documented set (MicrosoftDocs/azure-docs#38575, azurerm monitor_metric_alert docs).
AZURE_WINDOWS = [1, 5, 15, 30, 60, 360, 720, 1440]


@pytest.mark.parametrize("minutes", [2, 10, 20, 45, 120, 2880])
def test_a_metric_alert_window_outside_azures_set_is_refused(make, rg, minutes):
    from azure.mgmt.monitor import MonitorManagementClient

    with pytest.raises(HttpResponseError) as info:
        _alert(make(MonitorManagementClient), rg, f"w{minutes}", timedelta(minutes=minutes))
    assert info.value.status_code == 400 and info.value.error.code == "BadRequest"
    assert "PT15M" in info.value.error.message  # names the windows Azure accepts


@pytest.mark.parametrize("minutes", AZURE_WINDOWS)
def test_every_window_azure_offers_is_accepted(make, rg, minutes):
    from azure.mgmt.monitor import MonitorManagementClient

    frequency = timedelta(minutes=5 if minutes > 240 else 1)
    alert = _alert(make(MonitorManagementClient), rg, f"w{minutes}", timedelta(minutes=minutes), frequency)
    assert alert.window_size == timedelta(minutes=minutes)


def test_a_long_window_needs_a_five_minute_frequency(make, rg):
    from azure.mgmt.monitor import MonitorManagementClient

    mon = make(MonitorManagementClient)
    with pytest.raises(HttpResponseError) as info:
        _alert(mon, rg, "six-hours", timedelta(hours=6), timedelta(minutes=1))
    assert "five minutes" in info.value.error.message
    assert _alert(mon, rg, "six-hours", timedelta(hours=6), timedelta(minutes=5)).window_size == timedelta(hours=6)


def test_an_evaluation_frequency_outside_azures_set_is_refused(make, rg):
    from azure.mgmt.monitor import MonitorManagementClient

    with pytest.raises(HttpResponseError) as info:
        _alert(make(MonitorManagementClient), rg, "f10", timedelta(minutes=15), timedelta(minutes=10))
    assert info.value.status_code == 400 and "evaluation frequency" in info.value.error.message


# ----------------------------------------------------------------------------- PostgreSQL major versions


def _pg(version: str) -> dict:
    return {"location": "eastus", "sku": {"name": "Standard_B1ms", "tier": "Burstable"}, "properties": {
        "administratorLogin": "fundadmin", "administratorLoginPassword": "P@ssw0rd-never-returned",
        "version": version, "storage": {"storageSizeGB": 32}}}


def test_a_major_version_goes_up_in_place_as_a_long_running_patch(make, rg):
    from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient

    pg = make(PostgreSQLManagementClient)
    before = pg.servers.begin_create_or_update(rg, "pg-mvu", _pg("14")).result()
    poller = pg.servers.begin_update(rg, "pg-mvu", {"properties": {"version": "17"}})
    after = poller.result()
    # The same server (id, creation, FQDN), now on 17: Azure's in-place major version upgrade, not a new server.
    assert (after.id, after.fully_qualified_domain_name, after.version) == (before.id, before.fully_qualified_domain_name, "17")
    assert after.system_data.created_at == before.system_data.created_at


def test_a_major_version_upgrade_runs_as_an_operation_and_keeps_the_server_busy(tmp_path):
    import time

    from provisioner.localcloud import LocalCloud

    from .conftest import RG, SUB, raw

    with LocalCloud(latency="realistic", time_scale=0.002) as cloud:  # upgrade 300 s + 60 s: 0.72 s
        register_all(cloud)
        raw(cloud, "PUT", f"/subscriptions/{SUB}/resourceGroups/{RG}?api-version=2025-04-01", {"location": "eastus"})
        server = rid("Microsoft.DBforPostgreSQL/flexibleServers/pg-mvu")
        assert raw(cloud, "PUT", server + "?api-version=2026-10-01", _pg("14"))[0] == 202
        deadline = time.time() + 10
        while cloud.state()[server]["properties"]["state"] != "Ready" and time.time() < deadline:
            time.sleep(0.05)
        status, _, headers = raw(cloud, "PATCH", server + "?api-version=2026-10-01", {"properties": {"version": "17"}})
        assert status == 202 and "Azure-AsyncOperation" in headers
        assert cloud.state()[server]["properties"]["state"] == "Updating"  # offline while it runs
        while cloud.state()[server]["properties"]["state"] != "Ready" and time.time() < deadline:
            time.sleep(0.05)
        assert cloud.state()[server]["properties"]["version"] == "17"


@pytest.mark.parametrize("lower", ["13", "16"])
def test_a_major_version_never_goes_down(make, rg, lower):
    from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient

    pg = make(PostgreSQLManagementClient)
    pg.servers.begin_create_or_update(rg, "pg-down", _pg("17")).result()
    for attempt in (lambda: pg.servers.begin_update(rg, "pg-down", {"properties": {"version": lower}}).result(),
                    lambda: pg.servers.begin_create_or_update(rg, "pg-down", _pg(lower)).result()):
        with pytest.raises(HttpResponseError) as info:
            attempt()
        # Azure: 400 ParameterOutOfRange "The value of the 'Version' should be in: [...]" (azurerm#25344).
        assert (info.value.status_code, info.value.error.code) == (400, "ParameterOutOfRange")
        assert "[17,18]" in info.value.error.message
    assert pg.servers.get(rg, "pg-down").version == "17"


def test_a_version_azure_does_not_offer_is_refused(make, rg):
    from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient

    with pytest.raises(HttpResponseError) as info:
        make(PostgreSQLManagementClient).servers.begin_create_or_update(rg, "pg-x", _pg("17-tampered")).result()
    assert info.value.error.code == "ParameterOutOfRange"


# ----------------------------------------------------------------------------- App Service managed certificates


def test_a_managed_certificate_is_accepted_with_202_and_a_location_the_sdk_refuses(tmp_path):
    """As App Service answers (azure-sdk-for-go#13665 quotes it): 202, no body, Location under the certificate,
    Retry-After; the generated SDK raises on it (azure-sdk-for-python#34395); the certificate appears, thumbprint and
    all, when the operation ends."""
    import time

    from provisioner.azure import Clients, Target, put_accepted, raw
    from provisioner.localcloud import LocalCloud
    from tests.localcloud.test_delegation_tls import BINDING, HOST, PLAN, RG, _proofs
    from tests.localcloud.test_dns_email import ZONE, _site, delegate

    with LocalCloud(latency="realistic", time_scale=0.05) as cloud:  # issuing takes 60 s: 3 s here
        register_all(cloud)
        c = Clients(Target("00000000-0000-0000-0000-000000000000", cloud.url, local=True, polling_interval=0.1))
        c.resource.resource_groups.create_or_update(RG, {"location": "eastus"})
        c.dns.zones.create_or_update(RG, ZONE, {"location": "global"})
        delegate(c)
        site = _site(c)
        _proofs(c, site)
        c.web.web_apps.create_or_update_host_name_binding(RG, "site", HOST, BINDING)
        cert = {"location": "eastus", "properties": {"canonicalName": HOST, "serverFarmId": PLAN}}
        with pytest.raises(HttpResponseError) as info:
            c.web.certificates.create_or_update(RG, "api-cert", cert)
        response = info.value.response
        assert info.value.status_code == 202 and response.text() == ""
        location = response.headers["Location"]
        assert "/providers/Microsoft.Web/certificates/api-cert/operationresults/" in location
        assert int(response.headers["Retry-After"]) >= 1
        assert raw(c.web.certificates.get, RG, "api-cert") is None  # still being issued
        started = time.monotonic()
        put_accepted(c.web.certificates.create_or_update, RG, "other-cert", cert, polling_interval=0.1)
        assert time.monotonic() - started >= 2.0  # it waited for the operation
        issued = raw(c.web.certificates.get, RG, "other-cert")
        assert issued is not None and len(issued["properties"]["thumbprint"]) == 40


# ----------------------------------------------------------------------------- Static Web App custom domains


def test_a_custom_domain_azure_cannot_see_is_accepted_then_failed_by_its_operation(make, rg, cloud):
    """Static Web Apps take the PUT (202, the domain Validating) and fail the validation through the long-running
    operation (Azure/static-web-apps#225, #1745), not with a synchronous 400; the domain stays, status Failed,
    with Azure's message (#202, #911). A PUT once the CNAME is visible validates it."""
    from azure.mgmt.dns import DnsManagementClient
    from azure.mgmt.web import WebSiteManagementClient

    from .conftest import raw

    web = make(WebSiteManagementClient)
    site = web.static_sites.begin_create_or_update_static_site(rg, "swa", {
        "location": "eastus2", "sku": {"name": "Standard", "tier": "Standard"}}).result()
    domain = "admin.fundrbolt.app"
    path = rid("Microsoft.Web/staticSites/swa/customDomains", domain) + "?api-version=2024-11-01"
    status, _, headers = raw(cloud, "PUT", path, {"properties": {"validationMethod": "cname-delegation"}})
    assert status == 202 and "Azure-AsyncOperation" in headers  # accepted: no synchronous refusal
    poller = web.static_sites.begin_create_or_update_static_site_custom_domain(
        rg, "swa", domain, {"properties": {"validationMethod": "cname-delegation"}})
    with pytest.raises(HttpResponseError) as info:
        poller.result()
    assert info.value.error.code == "BadRequest" and "CNAME Record is invalid" in info.value.error.message
    failed = web.static_sites.get_static_site_custom_domain(rg, "swa", domain)
    assert (failed.status, failed.error_message) == ("Failed", info.value.error.message)
    dns = make(DnsManagementClient)  # the registered apex zone, with the CNAME Azure looks for
    dns.zones.create_or_update(rg, "fundrbolt.app", {"location": "global"})
    dns.record_sets.create_or_update(rg, "fundrbolt.app", "admin", "CNAME", {
        "properties": {"TTL": 60, "CNAMERecord": {"cname": site.default_hostname}}})
    web.static_sites.begin_create_or_update_static_site_custom_domain(
        rg, "swa", domain, {"properties": {"validationMethod": "cname-delegation"}}).result()
    assert web.static_sites.get_static_site_custom_domain(rg, "swa", domain).status == "Ready"


# ----------------------------------------------------------------------------- resource provider registration


def test_a_write_to_an_unregistered_namespace_is_refused_until_it_is_registered():
    """A new subscription has only Azure's default providers registered (Resource providers for Azure services);
    a write elsewhere is 409 MissingSubscriptionRegistration in ARM's shape (Azure/azure-sdk-for-node#2305), and
    registering takes a while (Registering, then Registered)."""
    import time

    from provisioner.localcloud import LocalCloud

    from .conftest import RG, SUB, raw

    with LocalCloud(latency="realistic", time_scale=0.02) as cloud:  # registration 60 s: 1.2 s here
        providers = f"/subscriptions/{SUB}/providers"
        assert raw(cloud, "PUT", f"/subscriptions/{SUB}/resourceGroups/{RG}?api-version=2025-04-01",
                   {"location": "eastus"})[0] == 201  # Microsoft.Resources: registered by default
        status, web, _ = raw(cloud, "GET", f"{providers}/Microsoft.Web?api-version=2025-04-01")
        assert (status, web["namespace"], web["registrationState"]) == (200, "Microsoft.Web", "NotRegistered")
        listed = {p["namespace"]: p["registrationState"] for p in
                  raw(cloud, "GET", f"{providers}?api-version=2025-04-01")[1]["value"]}
        assert listed["Microsoft.Authorization"] == "Registered" and listed["Microsoft.DBforPostgreSQL"] == "NotRegistered"
        plan = rid("Microsoft.Web/serverfarms/p") + "?api-version=2024-11-01"
        status, err, _ = raw(cloud, "PUT", plan, {"location": "eastus", "sku": {"name": "B1"}})
        assert (status, err["error"]["code"]) == (409, "MissingSubscriptionRegistration")
        assert "'Microsoft.Web'" in err["error"]["message"] and err["error"]["details"][0]["target"] == "Microsoft.Web"
        status, body, _ = raw(cloud, "POST", f"{providers}/Microsoft.Web/register?api-version=2025-04-01")
        assert (status, body["registrationState"]) == (200, "Registering")
        assert raw(cloud, "PUT", plan, {"location": "eastus", "sku": {"name": "B1"}})[0] == 409  # not yet
        deadline = time.time() + 10
        while raw(cloud, "GET", f"{providers}/Microsoft.Web?api-version=2025-04-01")[1]["registrationState"] != "Registered":
            assert time.time() < deadline
            time.sleep(0.1)
        assert raw(cloud, "PUT", plan, {"location": "eastus", "sku": {"name": "B1"}})[0] in (200, 201, 202)
        assert raw(cloud, "POST", f"{providers}/Microsoft.Nope/register?api-version=2025-04-01")[1]["error"]["code"] == \
            "InvalidResourceNamespace"


def test_registration_survives_a_restart(tmp_path):
    from provisioner.localcloud import LocalCloud

    from .conftest import SUB, raw

    state = tmp_path / "state.json"
    with LocalCloud(state_file=state) as cloud:
        raw(cloud, "POST", f"/subscriptions/{SUB}/providers/Microsoft.Cache/register?api-version=2025-04-01")
    with LocalCloud(state_file=state) as cloud:
        body = raw(cloud, "GET", f"/subscriptions/{SUB}/providers/Microsoft.Cache?api-version=2025-04-01")[1]
        assert body["registrationState"] == "Registered"
