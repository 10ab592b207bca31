"""The types steps engineers add next: Insights, PostgreSQL, Redis, DNS, Communication, budgets, RBAC."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from provisioner.localcloud import LocalCloud
from provisioner.localcloud.providers import register_all

from .conftest import RG, SUB, dns_proof, raw, rid


def test_app_insights_family(cloud, make, rg):
    from azure.mgmt.applicationinsights import ApplicationInsightsManagementClient
    from azure.mgmt.applicationinsights.v2015_05_01.models import (
        ApplicationInsightsComponentBillingFeatures,
        ApplicationInsightsComponentDataVolumeCap,
    )
    from azure.mgmt.applicationinsights.v2020_02_02.models import ApplicationInsightsComponent
    from azure.mgmt.applicationinsights.v2022_06_15.models import (
        WebTest,
        WebTestGeolocation,
        WebTestPropertiesRequest,
    )

    ai = make(ApplicationInsightsManagementClient)
    comp = ai.components.create_or_update(rg, "appi-fund", ApplicationInsightsComponent(
        location="East US", kind="web", application_type="web", sampling_percentage=50.0, retention_in_days=30))
    assert comp.instrumentation_key and comp.connection_string.startswith("InstrumentationKey=")
    assert comp.sampling_percentage == 50.0 and comp.location == "eastus"
    assert comp.provisioning_state == "Succeeded"
    billing = ai.component_current_billing_features.get(rg, "appi-fund")
    assert billing.data_volume_cap.cap == 100.0
    ai.component_current_billing_features.update(rg, "appi-fund", ApplicationInsightsComponentBillingFeatures(
        data_volume_cap=ApplicationInsightsComponentDataVolumeCap(cap=2.0), current_billing_features=["Basic"]))
    assert ai.component_current_billing_features.get(rg, "appi-fund").data_volume_cap.cap == 2.0

    tags = {f"hidden-link:{comp.id}": "Resource"}
    test = ai.web_tests.create_or_update(rg, "wt-fund", WebTest(
        location="eastus", kind="standard", web_test_kind="standard", synthetic_monitor_id="wt-fund",
        web_test_name="wt-fund", locations=[WebTestGeolocation(location="emea-nl-ams-azr")],
        request=WebTestPropertiesRequest(request_url="https://fundrbolt.app/health"), tags=tags))
    assert test.tags == tags and test.provisioning_state == "Succeeded"


def test_monitor_family(cloud, make, rg):
    from azure.mgmt.monitor import MonitorManagementClient
    from azure.mgmt.monitor.models import (
        ActionGroupResource,
        AutoscaleProfile,
        AutoscaleSettingResource,
        EmailReceiver,
        MetricAlertAction,
        MetricAlertResource,
        MetricAlertSingleResourceMultipleMetricCriteria,
        MetricCriteria,
        ScaleCapacity,
    )

    mon = make(MonitorManagementClient)
    group = mon.action_groups.create_or_update(rg, "ag-fund", ActionGroupResource(
        location="Global", group_short_name="fund", enabled=True,
        email_receivers=[EmailReceiver(name="ops", email_address="ops@fundrbolt.app", use_common_alert_schema=True)]))
    assert group.email_receivers[0].status == "Enabled" and group.sms_receivers == []
    target = rid("Microsoft.Web/serverfarms/p")
    raw(cloud, "PUT", target + "?api-version=2025-05-01", {"location": "eastus", "sku": {"name": "S1"}})
    alert = mon.metric_alerts.create_or_update(rg, "cpu-high", MetricAlertResource(
        location="global", severity=2, enabled=True, scopes=[target], evaluation_frequency=timedelta(minutes=1),
        window_size=timedelta(minutes=5), criteria=MetricAlertSingleResourceMultipleMetricCriteria(all_of=[MetricCriteria(
            name="c", metric_name="CpuPercentage", operator="GreaterThan", threshold=80, time_aggregation="Average")]),
        actions=[MetricAlertAction(action_group_id=group.id)]))
    assert alert.evaluation_frequency.total_seconds() == 60
    assert cloud.state()[rid("Microsoft.Insights/metricAlerts/cpu-high")]["properties"]["windowSize"] == "PT5M"
    body = mon.metric_alerts.get(rg, "cpu-high").serialize()
    body["properties"]["evaluationFrequency"] = "Pt1m"  # as the published example sends it
    status, back, _ = raw(cloud, "PUT", rid("Microsoft.Insights/metricAlerts/cpu-high") + "?api-version=2018-03-01",
                          {"location": "global", "properties": body["properties"]})
    assert status == 200 and back["properties"]["evaluationFrequency"] == "PT1M"
    auto = mon.autoscale_settings.create_or_update(rg, "as-fund", AutoscaleSettingResource(
        location="eastus", target_resource_uri=target, enabled=True,
        profiles=[AutoscaleProfile(name="default", capacity=ScaleCapacity(minimum="1", maximum="3", default="1"),
                                   rules=[])]))
    assert auto.name == "as-fund" and auto.enabled is True
    # The SDK sends 'microsoft.insights/autoscalesettings': the id keeps the request's casing, as in ARM.
    state = {k.lower(): v for k, v in cloud.state().items()}
    assert state[rid("Microsoft.Insights/autoscaleSettings/as-fund").lower()]["properties"]["name"] == "as-fund"
    status, body, _ = raw(cloud, "PUT", f"{target}/providers/Microsoft.Insights/diagnosticSettings/to-logs"
                          "?api-version=2021-05-01-preview", {"properties": {"logs": [], "metrics": []}})
    assert status == 200 and body["name"] == "to-logs"


def _pg_server(location="eastus", ha="Disabled"):
    return {"location": location, "sku": {"name": "Standard_B1ms", "tier": "Burstable"}, "properties": {
        "administratorLogin": "fundadmin", "administratorLoginPassword": "P@ssw0rd-never-returned", "version": "16",
        "storage": {"storageSizeGB": 32}, "backup": {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"},
        "highAvailability": {"mode": ha}}}


def test_postgres_flexible(cloud, make, rg):
    from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient

    pg = make(PostgreSQLManagementClient)
    server = pg.servers.begin_create_or_update(rg, "pg-fund", _pg_server()).result()
    assert server.fully_qualified_domain_name == "pg-fund.postgres.database.azure.com"
    assert server.state == "Ready" and server.administrator_login == "fundadmin"
    assert "never-returned" not in str(cloud.state())
    db = pg.databases.begin_create(rg, "pg-fund", "app", {"properties": {"charset": "UTF8"}}).result()
    assert db.collation == "en_US.utf8"
    rule = pg.firewall_rules.begin_create_or_update(rg, "pg-fund", "azure", {"properties": {
        "startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"}}).result()
    assert rule.start_ip_address == "0.0.0.0"
    conf = pg.configurations.begin_update(rg, "pg-fund", "max_connections", {"properties": {"value": "200",
                                                                                              "source": "user-override"}}).result()
    assert conf.value == "200"
    updated = pg.servers.begin_update(rg, "pg-fund", {"tags": {"a": "b"}}).result()
    assert updated.tags == {"a": "b"} and updated.storage.storage_size_gb == 32
    pg.servers.begin_delete(rg, "pg-fund").result()
    with pytest.raises(ResourceNotFoundError):
        pg.databases.get(rg, "pg-fund", "app")


def test_postgres_server_is_busy():
    with LocalCloud(latency="realistic", time_scale=0.002) as cloud:  # server create 1.2 s
        register_all(cloud)
        raw(cloud, "PUT", f"/subscriptions/{SUB}/resourceGroups/{RG}?api-version=2025-04-01", {"location": "eastus"})
        server = rid("Microsoft.DBforPostgreSQL/flexibleServers/pg-busy")
        assert raw(cloud, "PUT", server + "?api-version=2024-08-01", _pg_server())[0] == 202
        status, body, _ = raw(cloud, "PUT", server + "/databases/app?api-version=2024-08-01", {"properties": {}})
        # Azure's code for this (Azure/bicep-registry-modules#4451) is ServerBusy, not ServerIsBusy.
        assert (status, body["error"]["code"]) == (409, "ServerBusy")


def test_a_new_ha_server_stays_updating_after_its_create_and_children_get_server_busy():
    import time

    # Server create 900 s (HA) and 300 s of standby creation, scaled: 1.8 s + 0.6 s.
    with LocalCloud(latency="realistic", time_scale=0.002) as cloud:
        register_all(cloud)
        raw(cloud, "PUT", f"/subscriptions/{SUB}/resourceGroups/{RG}?api-version=2025-04-01", {"location": "eastus"})
        server = rid("Microsoft.DBforPostgreSQL/flexibleServers/pg-ha")
        body = _pg_server()
        body["sku"] = {"name": "Standard_D2s_v3", "tier": "GeneralPurpose"}
        body["properties"]["highAvailability"] = {"mode": "ZoneRedundant"}
        assert raw(cloud, "PUT", server + "?api-version=2024-08-01", body)[0] == 202
        assert cloud.state()[server]["properties"]["state"] == "Updating"
        busy = 0
        deadline = time.time() + 10
        while cloud.state()[server]["properties"].get("state") == "Updating" and time.time() < deadline:
            props = cloud.state()[server]["properties"]
            assert props["highAvailability"]["state"] == "CreatingStandby"
            status, err, _ = raw(cloud, "PUT", server + "/firewallRules/r?api-version=2024-08-01", {"properties": {
                "startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"}})
            if status == 409:
                assert err["error"]["code"] == "ServerBusy"
                busy += 1
            time.sleep(0.1)
        assert busy > 5  # busy through the create and the standby creation after it
        props = cloud.state()[server]["properties"]
        assert (props["state"], props["highAvailability"]["state"]) == ("Ready", "Healthy")
        assert raw(cloud, "PUT", server + "/databases/app?api-version=2024-08-01", {"properties": {}})[0] == 202


def test_postgres_storage_never_shrinks(cloud, make, rg):
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient

    pg = make(PostgreSQLManagementClient)
    body = _pg_server()
    body["properties"]["storage"] = {"storageSizeGB": 64}
    pg.servers.begin_create_or_update(rg, "pg-grow", body).result()
    with pytest.raises(HttpResponseError) as err:
        pg.servers.begin_update(rg, "pg-grow", {"properties": {"storage": {"storageSizeGB": 32}}}).result()
    assert err.value.status_code == 400
    grown = pg.servers.begin_update(rg, "pg-grow", {"properties": {"storage": {"storageSizeGB": 128}}}).result()
    assert grown.storage.storage_size_gb == 128


def test_redis(cloud, make, rg):
    from azure.mgmt.redis import RedisManagementClient
    from azure.mgmt.redis.models import RedisCreateParameters, RedisFirewallRule, RedisUpdateParameters, Sku

    redis = make(RedisManagementClient)
    cache = redis.redis.begin_create(rg, "redis-fund", RedisCreateParameters(
        location="eastus", sku=Sku(name="Basic", family="C", capacity=0), minimum_tls_version="1.2",
        redis_configuration={"maxmemory-policy": "allkeys-lru"})).result()
    assert cache.host_name == "redis-fund.redis.cache.windows.net" and cache.ssl_port == 6380
    assert cache.redis_configuration.maxclients == "256" and cache.provisioning_state == "Succeeded"
    assert cache.redis_configuration.maxmemory_policy == "allkeys-lru"
    assert redis.redis.list_keys(rg, "redis-fund").primary_key
    updated = redis.redis.begin_update(rg, "redis-fund", RedisUpdateParameters(minimum_tls_version="1.2",
                                                                               tags={"t": "1"})).result()
    assert updated.tags == {"t": "1"}
    redis.firewall_rules.create_or_update(rg, "redis-fund", "office", RedisFirewallRule(
        start_ip="10.0.0.1", end_ip="10.0.0.2"))
    assert [r.name for r in redis.firewall_rules.list(rg, "redis-fund")] == ["office"]
    redis.redis.begin_delete(rg, "redis-fund").result()
    with pytest.raises(ResourceNotFoundError):
        redis.redis.get(rg, "redis-fund")


def test_dns(cloud, make, rg):
    from azure.mgmt.dns import DnsManagementClient
    from azure.mgmt.dns.models import CnameRecord, RecordSet, TxtRecord, Zone

    dns = make(DnsManagementClient)
    zone = dns.zones.create_or_update(rg, "fundrbolt.app", Zone(location="Global"), if_none_match="*")
    assert zone.location == "global" and zone.zone_type == "Public" and len(zone.name_servers) == 4
    cname = dns.record_sets.create_or_update(rg, "fundrbolt.app", "api", "CNAME", RecordSet(
        ttl=3600, cname_record=CnameRecord(cname="app-1.azurewebsites.net")))
    assert cname.fqdn == "api.fundrbolt.app." and cname.etag
    dns.record_sets.create_or_update(rg, "fundrbolt.app", "@", "TXT", RecordSet(
        ttl=3600, txt_records=[TxtRecord(value=["v=spf1 -all"])]))
    assert dns.zones.get(rg, "fundrbolt.app").number_of_record_sets == 4
    assert dns.record_sets.get(rg, "fundrbolt.app", "@", "TXT").txt_records[0].value == ["v=spf1 -all"]
    dns.record_sets.delete(rg, "fundrbolt.app", "api", "CNAME")
    dns.zones.begin_delete(rg, "fundrbolt.app").result()
    with pytest.raises(ResourceNotFoundError):
        dns.zones.get(rg, "fundrbolt.app")


def test_communication(cloud, make, rg):
    from azure.mgmt.communication import CommunicationServiceManagementClient

    comm = make(CommunicationServiceManagementClient)
    email = comm.email_services.begin_create_or_update(rg, "email-fund", {
        "location": "global", "properties": {"dataLocation": "United States"}}).result()
    # Azure's steady state for these services is Running (arm-examples emailServices/2025-05-01/get.json).
    assert email.provisioning_state == "Running" and email.location == "global"
    domain = comm.domains.begin_create_or_update(rg, "email-fund", "AzureManagedDomain", {
        "location": "global", "properties": {"domainManagement": "AzureManaged"}}).result()
    assert domain.from_sender_domain.endswith(".azurecomm.net")
    assert set(domain.verification_records) == {"Domain", "SPF", "DKIM", "DKIM2", "DMARC"}
    svc = comm.communication_services.begin_create_or_update(rg, "acs-fund", {
        "location": "global", "properties": {"dataLocation": "United States", "linkedDomains": [domain.id]}}).result()
    assert svc.host_name == "acs-fund.unitedstates.communication.azure.com" and svc.linked_domains == [domain.id]
    comm.communication_services.begin_delete(rg, "acs-fund").result()
    with pytest.raises(ResourceNotFoundError):
        comm.communication_services.get(rg, "acs-fund")


def test_budget_and_role_assignment(cloud, make, rg):
    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters
    from azure.mgmt.consumption import ConsumptionManagementClient

    cons = make(ConsumptionManagementClient)
    scope = f"/subscriptions/{SUB}/resourceGroups/{rg}"
    start = _this_month()
    budget = cons.budgets.create_or_update(scope, "monthly", {"properties": {
        "category": "Cost", "amount": 100, "timeGrain": "Monthly",
        "timePeriod": {"startDate": start},
        "notifications": {"a80": {"enabled": True, "operator": "GreaterThan", "threshold": 80,
                                  "contactEmails": ["ops@fundrbolt.app"], "locale": "en-us"}}}})
    again = cons.budgets.create_or_update(scope, "monthly", {"eTag": budget.e_tag, "properties": {
        "category": "Cost", "amount": 200, "timeGrain": "Monthly", "timePeriod": {"startDate": start}}})
    assert again.e_tag != budget.e_tag and again.amount == 200
    assert cons.budgets.get(scope, "monthly").current_spend.amount == 0.0
    cons.budgets.delete(scope, "monthly")

    auth = make(AuthorizationManagementClient)
    role = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"
    name = str(uuid.uuid4())
    ra = auth.role_assignments.create(scope, name, RoleAssignmentCreateParameters(
        role_definition_id=role, principal_id=str(uuid.uuid4()), principal_type="ServicePrincipal"))
    assert ra.scope == scope and ra.principal_type == "ServicePrincipal"
    assert auth.role_assignments.get(scope, name).role_definition_id == role
    auth.role_assignments.delete(scope, name)


def _this_month(months_back: int = 0) -> str:
    import datetime as dt

    today = dt.datetime.now(dt.UTC).date().replace(day=1)
    for _ in range(months_back):
        today = (today - dt.timedelta(days=1)).replace(day=1)
    return f"{today.isoformat()}T00:00:00Z"


def test_a_budget_cannot_start_in_a_past_month_nor_change_its_start(cloud, make, rg):
    from azure.mgmt.consumption import ConsumptionManagementClient

    cons = make(ConsumptionManagementClient)
    scope = f"/subscriptions/{SUB}/resourceGroups/{rg}"

    def body(start: str) -> dict:
        return {"properties": {"category": "Cost", "amount": 100, "timeGrain": "Monthly",
                               "timePeriod": {"startDate": start}}}

    with pytest.raises(HttpResponseError) as err:
        cons.budgets.create_or_update(scope, "b", body(_this_month(1)))
    assert err.value.status_code == 400 and "prior to current month" in str(err.value)
    with pytest.raises(HttpResponseError) as err:
        cons.budgets.create_or_update(scope, "b", body(_this_month()[:8] + "15T00:00:00Z"))
    assert "first day of the month" in str(err.value)
    made = cons.budgets.create_or_update(scope, "b", body(_this_month()))
    with pytest.raises(HttpResponseError) as err:
        cons.budgets.create_or_update(scope, "b", {**body(_this_month(1)), "eTag": made.e_tag})
    assert "cannot be updated" in str(err.value)


def test_unknown_post_action_is_explicit(cloud, rg):
    raw(cloud, "PUT", rid("Microsoft.Contoso/things/t") + "?api-version=1", {"location": "eastus"})
    status, body, _ = raw(cloud, "POST", rid("Microsoft.Contoso/things/t/doSomething") + "?api-version=1", {})
    assert status == 400 and body["error"]["code"] == "UnsupportedActionByLocalCloud"


def test_static_site(cloud, make, rg):
    from azure.mgmt.web import WebSiteManagementClient

    web = make(WebSiteManagementClient)
    site = web.static_sites.begin_create_or_update_static_site(rg, "swa-fund", {
        "location": "westeurope", "sku": {"name": "Standard", "tier": "Standard"},
        "properties": {"repositoryToken": "ghp_secret"}}).result()
    assert site.default_hostname.endswith(".azurestaticapps.net") and "ghp_secret" not in str(cloud.state())
    assert web.static_sites.list_static_site_secrets(rg, "swa-fund").properties["apiKey"]
    dns_proof(make, rg, "www.fundrbolt.app", site.default_hostname)  # validated through public DNS
    web.static_sites.begin_create_or_update_static_site_custom_domain(rg, "swa-fund", "www.fundrbolt.app", {
        "properties": {"validationMethod": "cname-delegation"}}).result()
    assert web.static_sites.get_static_site(rg, "swa-fund").custom_domains == ["www.fundrbolt.app"]
    with pytest.raises(HttpResponseError):
        web.static_sites.get_static_site(rg, "nope")


def test_a_metric_alert_window_shorter_than_its_frequency_is_refused(cloud, rg):
    alert = rid("Microsoft.Insights/metricAlerts/a")
    body = {"location": "global", "properties": {"severity": 2, "enabled": True, "scopes": [], "criteria": {
        "odata.type": "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria", "allOf": []},
        "evaluationFrequency": "PT15M", "windowSize": "PT5M"}}
    status, err, _ = raw(cloud, "PUT", alert + "?api-version=2018-03-01", body)
    assert status == 400 and "window size" in err["error"]["message"]
    body["properties"]["windowSize"] = "PT1H"
    assert raw(cloud, "PUT", alert + "?api-version=2018-03-01", body)[0] in (200, 201)


def test_sftp_needs_a_hierarchical_namespace(make, rg):
    """SFTP on a storage account without HNS is refused (MicrosoftDocs/azure-docs#84233); local users are not."""
    from azure.mgmt.storage import StorageManagementClient

    st = make(StorageManagementClient)
    st.storage_accounts.begin_create(rg, "sftpst1", {"location": "eastus", "kind": "StorageV2",
                                                     "sku": {"name": "Standard_LRS"}}).result()
    with pytest.raises(HttpResponseError) as refused:
        st.storage_accounts.update(rg, "sftpst1", {"properties": {"isSftpEnabled": True}})
    assert refused.value.status_code == 400 and "isSftpEnabled" in str(refused.value)
    st.storage_accounts.update(rg, "sftpst1", {"properties": {"isLocalUserEnabled": True}})
    assert st.storage_accounts.get_properties(rg, "sftpst1")["properties"]["isLocalUserEnabled"] is True
    st.storage_accounts.begin_create(rg, "sftpst2", {"location": "eastus", "kind": "StorageV2", "sku": {
        "name": "Standard_LRS"}, "properties": {"isHnsEnabled": True, "isSftpEnabled": True}}).result()
    assert st.storage_accounts.get_properties(rg, "sftpst2")["properties"]["isSftpEnabled"] is True


def test_redis_refuses_a_version_it_does_not_offer(make, rg):
    """redisVersion: "Supported versions: 4.0, 6.0 (latest)" (azure-mgmt-redis RedisResource): others are refused."""
    from azure.mgmt.redis import RedisManagementClient

    redis = make(RedisManagementClient)
    body = {"location": "eastus", "properties": {"sku": {"name": "Basic", "family": "C", "capacity": 0}}}
    for version in ("6", "4.0", "latest"):
        redis.redis.begin_create(rg, f"cache{version.replace('.', '')}", {**body, "properties": {
            **body["properties"], "redisVersion": version}}).result()
    with pytest.raises(HttpResponseError) as refused:
        redis.redis.begin_create(rg, "cache7", {**body, "properties": {**body["properties"], "redisVersion": "7.2"}}).result()
    assert refused.value.status_code == 400
