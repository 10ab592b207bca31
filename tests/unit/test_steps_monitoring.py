"""Monitoring steps call the real SDK operations (autospec'd) and their rules absorb Azure's documented noise."""

from types import SimpleNamespace
from unittest.mock import create_autospec

import pytest

from provisioner.core.model import UNKNOWN
from provisioner.engine.diff import diff
from steps.app_insights_billing import NO_CAP_GB
from steps.diagnostic_setting import API_VERSION
from tests.support import autospec_clients, session, step

RG = "fundrbolt-dev-rg"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
GROUP = f"{SUB}/resourceGroups/{RG}"


@pytest.fixture
def c():
    clients = autospec_clients()
    # applicationinsights is a multi-API client without `:vartype` docs, so tests.support finds no groups:
    # autospec the classes of the API versions the client pins (components 2020-02-02, billing 2015-05-01,
    # web tests 2022-06-15).
    from azure.mgmt.applicationinsights.v2015_05_01.operations import (
        ComponentCurrentBillingFeaturesOperations,
    )
    from azure.mgmt.applicationinsights.v2020_02_02.operations import ComponentsOperations
    from azure.mgmt.applicationinsights.v2022_06_15.operations import WebTestsOperations

    clients.appinsights = SimpleNamespace(
        components=create_autospec(ComponentsOperations, instance=True),
        component_current_billing_features=create_autospec(ComponentCurrentBillingFeaturesOperations, instance=True),
        web_tests=create_autospec(WebTestsOperations, instance=True),
    )
    return clients


def changes(s, desired, observed):
    return [(p.path, p.before, p.after) for p in diff(desired, observed, s.rules).changes]


# ----------------------------------------------------------------------------- Application Insights


def test_app_insights_is_workspace_based_and_sized_per_env(c, dev, prod):
    s = step(dev, "app_insights")
    d = s.desired({})
    p = d["properties"]
    assert p["WorkspaceResourceId"] == f"{GROUP}/providers/Microsoft.OperationalInsights/workspaces/fundrbolt-dev-logs"
    assert (p["IngestionMode"], p["Application_Type"], p["RetentionInDays"], p["SamplingPercentage"]) == (
        "LogAnalytics", "web", 90, 100.0)
    assert step(prod, "app_insights").desired({})["properties"]["SamplingPercentage"] == 10.0
    s.create(c, d)
    c.appinsights.components.create_or_update.assert_called_once_with(RG, "fundrbolt-dev-appi", d)
    s.read(c)
    assert c.appinsights.components.get.call_args.args == (RG, "fundrbolt-dev-appi")
    s.delete(c)
    c.appinsights.components.delete.assert_called_once_with(RG, "fundrbolt-dev-appi")


def test_app_insights_get_noise_is_not_drift(dev):
    # arm-examples ComponentsGet: lower-cased WorkspaceResourceId, read-only ids and secrets, msrest defaults.
    s = step(dev, "app_insights")
    d = s.desired({})
    observed = {
        "id": f"{GROUP}/providers/Microsoft.Insights/components/fundrbolt-dev-appi", "location": "East US",
        "kind": "web", "tags": d["tags"],
        "properties": {**d["properties"], "WorkspaceResourceId": d["properties"]["WorkspaceResourceId"].lower(),
                       "Flow_Type": "Bluefield", "Request_Source": "rest", "AppId": "887f", "ApplicationId": "x",
                       "InstrumentationKey": "bc09", "ConnectionString": "InstrumentationKey=bc09",
                       "SamplingPercentage": 100, "provisioningState": "Succeeded"},
    }
    assert changes(s, d, observed) == []
    observed["properties"]["SamplingPercentage"] = 50.0
    assert changes(s, d, observed) == [("properties.SamplingPercentage", 50.0, 100.0)]


def test_connection_string_is_sensitive(dev):
    s = step(dev, "app_insights")
    d = {"properties": {"ConnectionString": "InstrumentationKey=new"}}
    [change] = diff(d, {"properties": {"ConnectionString": "InstrumentationKey=old"}}, s.rules).changes
    assert change.sensitive and "old" not in str(change.before) and "new" not in str(change.after)


def test_daily_cap_per_env_and_explicit_no_cap(c, dev, prod):
    s = step(dev, "app_insights_cap")
    d = s.desired({})
    assert d["DataVolumeCap"]["Cap"] == NO_CAP_GB  # dev: "unlimited" is the largest cap, so drift still shows
    assert step(prod, "app_insights_cap").desired({})["DataVolumeCap"]["Cap"] == 5.0
    assert step(session("staging"), "app_insights_cap").desired({})["DataVolumeCap"]["Cap"] == 1.0
    assert s.ref.id == f"{GROUP}/providers/Microsoft.Insights/components/fundrbolt-dev-appi/currentbillingfeatures"
    s.create(c, d)
    c.appinsights.component_current_billing_features.update.assert_called_once_with(RG, "fundrbolt-dev-appi", d)
    s.read(c)
    assert c.appinsights.component_current_billing_features.get.call_args.args == (RG, "fundrbolt-dev-appi")
    observed = {"CurrentBillingFeatures": ["Basic"], "DataVolumeCap": {
        "Cap": 1000.0, "ResetTime": 0, "WarningThreshold": 90, "StopSendNotificationWhenHitThreshold": False,
        "StopSendNotificationWhenHitCap": False, "MaxHistoryCap": 1000.0}}
    assert changes(s, d, observed) == []


# ----------------------------------------------------------------------------- diagnostic settings


def test_diagnostic_setting_is_an_extension_resource_written_by_id(c, dev):
    s = step(dev, "diagnostic_setting:web_app")
    d = s.desired({})
    assert s.ref.id == f"{GROUP}/providers/Microsoft.Web/sites/fundrbolt-dev-api/providers/Microsoft.Insights/diagnosticSettings/fundrbolt-dev-diag"
    assert d["properties"]["logs"] == [{"category": None, "categoryGroup": "allLogs", "enabled": True}]
    assert d["properties"]["metrics"] == [{"category": "AllMetrics", "enabled": True}]
    assert set(s.depends_on) == {"web_app", "log_analytics"}
    s.create(c, d)
    c.resource.resources.begin_create_or_update_by_id.assert_called_once_with(s.ref.id, d, api_version=API_VERSION)
    s.read(c)
    assert c.resource.resources.get_by_id.call_args.args == (s.ref.id,)
    assert c.resource.resources.get_by_id.call_args.kwargs["api_version"] == API_VERSION
    s.delete(c)
    c.resource.resources.begin_delete_by_id.assert_called_once_with(s.ref.id, api_version=API_VERSION)


def test_storage_metrics_on_the_account_logs_on_blob_service(dev):
    account = step(dev, "diagnostic_setting:storage_account").desired({})["properties"]
    assert "logs" not in account and account["metrics"] == [{"category": "Transaction", "enabled": True}]
    blob = step(dev, "diagnostic_setting:storage_blob")
    assert "/storageAccounts/fundrboltdevst/blobServices/default/providers/Microsoft.Insights/" in blob.ref.id
    assert blob.desired({})["properties"]["logs"][0]["categoryGroup"] == "allLogs"


def test_diagnostic_setting_get_noise_is_not_drift(dev):
    s = step(dev, "diagnostic_setting:key_vault")
    d = s.desired({})
    observed = {"id": s.ref.id, "name": "fundrbolt-dev-diag", "properties": {
        "workspaceId": d["properties"]["workspaceId"].lower(), "logAnalyticsDestinationType": None,
        "logs": [{"category": None, "categoryGroup": "allLogs", "enabled": True,
                  "retentionPolicy": {"enabled": False, "days": 0}}],
        "metrics": [{"category": "AllMetrics", "enabled": True, "timeGrain": None,
                     "retentionPolicy": {"enabled": False, "days": 0}}]}}
    assert changes(s, d, observed) == []


# ----------------------------------------------------------------------------- action group


def test_action_group_recipients_per_env(c, dev, prod):
    s = step(dev, "action_group")
    d = s.desired({})
    p = d["properties"]
    assert d["location"] == "Global" and p["groupShortName"] == "fb-dev" and p["enabled"] is True
    assert [r["emailAddress"] for r in p["emailReceivers"]] == ["devops@fundrbolt.app"]
    assert all(r["useCommonAlertSchema"] for r in p["emailReceivers"])
    assert [r["emailAddress"] for r in step(prod, "action_group").desired({})["properties"]["emailReceivers"]] == [
        "ops@fundrbolt.app", "engineering@fundrbolt.app"]
    s.create(c, d)
    c.monitor.action_groups.create_or_update.assert_called_once_with(RG, "fundrbolt-dev-alerts", d)
    s.update(c, d, d, ())
    assert c.monitor.action_groups.create_or_update.call_count == 2  # receivers need the PUT, not the PATCH
    s.read(c)
    assert c.monitor.action_groups.get.call_args.args == (RG, "fundrbolt-dev-alerts")


def test_action_group_get_noise_is_not_drift_but_a_hand_added_receiver_is(prod):
    # arm-examples getActionGroup: every receiver array comes back ([] when unset); e-mails gain `status`.
    s = step(prod, "action_group")
    d = s.desired({})
    observed = {"location": "Global", "tags": d["tags"], "properties": {
        **d["properties"],
        "emailReceivers": [{**r, "status": "Enabled"} for r in reversed(d["properties"]["emailReceivers"])]}}
    assert changes(s, d, observed) == []
    observed["properties"]["smsReceivers"] = [{"name": "x", "countryCode": "1", "phoneNumber": "5550100"}]
    assert [c[0] for c in changes(s, d, observed)] == ["properties.smsReceivers[x]"]


# ----------------------------------------------------------------------------- metric alerts


def test_metric_alerts_target_the_right_metrics(c, dev, prod):
    cpu = step(dev, "metric_alert:cpu").desired({})
    crit = cpu["properties"]["criteria"]["allOf"][0]
    assert cpu["properties"]["scopes"] == [f"{GROUP}/providers/Microsoft.Web/serverfarms/fundrbolt-dev-plan"]
    assert (crit["metricName"], crit["threshold"], cpu["properties"]["windowSize"], cpu["properties"]["severity"]) == (
        "CpuPercentage", 70, "PT15M", 2)
    latency = step(dev, "metric_alert:latency-p95").desired({})["properties"]
    assert latency["criteria"]["allOf"][0]["threshold"] == 0.5  # HttpResponseTime is in seconds
    assert latency["severity"] == 1 and latency["windowSize"] == "PT5M"
    # 80% of max_connections: B1ms allows 50 (dev), D2s_v3 allows 859 (production).
    assert step(dev, "metric_alert:db-connections").desired({})["properties"]["criteria"]["allOf"][0]["threshold"] == 40
    assert step(prod, "metric_alert:db-connections").desired({})["properties"]["criteria"]["allOf"][0]["threshold"] == 687
    s = step(dev, "metric_alert:memory")
    d = s.desired({})
    assert d["properties"]["actions"] == [{"actionGroupId": f"{GROUP}/providers/Microsoft.Insights/actionGroups/fundrbolt-dev-alerts"}]
    s.create(c, d)
    c.monitor.metric_alerts.create_or_update.assert_called_once_with(RG, "fundrbolt-dev-alert-memory", d)
    s.read(c)
    assert c.monitor.metric_alerts.get.call_args.args == (RG, "fundrbolt-dev-alert-memory")
    s.delete(c)
    c.monitor.metric_alerts.delete.assert_called_once_with(RG, "fundrbolt-dev-alert-memory")


def test_metric_alert_get_noise_is_not_drift(dev):
    # arm-examples getMetricAlertSingleResource: upper-case durations, hidden-link tag, lower-cased ids.
    s = step(dev, "metric_alert:error-rate")
    d = s.desired({})
    p = d["properties"]
    tags = {**d["tags"], f"hidden-link:{p['scopes'][0]}": "Resource"}
    observed = {"location": "global", "tags": tags,
                "properties": {**p, "evaluationFrequency": "PT1M", "windowSize": "PT5M",
                               "scopes": [x.lower() for x in p["scopes"]],
                               "actions": [{"actionGroupId": p["actions"][0]["actionGroupId"].lower(), "webHookProperties": {}}],
                               "criteria": {**p["criteria"], "allOf": [{**p["criteria"]["allOf"][0], "dimensions": [],
                                                                         "operator": "greaterthan"}]},
                               "lastUpdatedTime": "2026-11-25T00:00:00Z", "isMigrated": False}}
    assert changes(s, d, observed) == []
    tags["owner-note"] = "hand-added"
    assert [c[0] for c in changes(s, d, observed)] == ["tags.owner-note"]


# ----------------------------------------------------------------------------- web tests and availability alerts


def test_web_test_url_is_known_after_the_site_exists(c, dev):
    s = step(dev, "web_test:backend")
    assert s.desired({})["properties"]["Request"]["RequestUrl"] is UNKNOWN
    known = {"web_app": {"properties": {"defaultHostName": "fundrbolt-dev-api.azurewebsites.net"}}}
    d = s.desired(known)
    p = d["properties"]
    assert p["Request"]["RequestUrl"] == "https://fundrbolt-dev-api.azurewebsites.net/health"
    # dev runs its tests every 15 minutes to fit its budget (envs/dev.toml [web_tests]); production every 5.
    assert (d["kind"], p["Kind"], p["Frequency"], p["SyntheticMonitorId"]) == ("standard", "standard", 900, s.resource_name)
    assert [loc["Id"] for loc in p["Locations"]] == ["us-va-ash-azr", "us-ca-sjc-azr", "emea-gb-db3-azr"]
    assert d["tags"][f"hidden-link:{GROUP}/providers/Microsoft.Insights/components/fundrbolt-dev-appi"] == "Resource"
    s.create(c, d)
    c.appinsights.web_tests.create_or_update.assert_called_once_with(RG, "fundrbolt-dev-webtest-backend", d)
    s.read(c)
    assert c.appinsights.web_tests.get.call_args.args == (RG, "fundrbolt-dev-webtest-backend")
    front = step(dev, "web_test:frontend")
    assert "static_web_app" in front.depends_on
    url = front.desired({"static_web_app": {"properties": {"defaultHostname": "nice-sea-1.azurestaticapps.net"}}})
    assert url["properties"]["Request"]["RequestUrl"] == "https://nice-sea-1.azurestaticapps.net/"


def test_web_test_get_noise_is_not_drift(dev):
    # arm-examples WebTestGet: location normalized, an extra hidden-link tag to the site, our link kept.
    s = step(dev, "web_test:backend")
    d = s.desired({"web_app": {"properties": {"defaultHostName": "h.azurewebsites.net"}}})
    tags = {k.lower() if k.startswith("hidden-link") else k: v for k, v in d["tags"].items()}
    tags[f"hidden-link:{GROUP}/providers/Microsoft.Web/sites/fundrbolt-dev-api"] = "Resource"
    observed = {"location": "eastus", "kind": "standard", "tags": tags,
                "properties": {**d["properties"], "Locations": list(reversed(d["properties"]["Locations"])),
                               "provisioningState": "Succeeded"}}
    assert changes(s, d, observed) == []
    del tags[f"hidden-link:{GROUP}/providers/Microsoft.Insights/components/fundrbolt-dev-appi".lower()]
    assert [c[0] for c in changes(s, d, observed)][0].startswith("tags.hidden-link:")


def test_availability_alert_links_test_and_component(c, dev):
    s = step(dev, "availability_alert:backend")
    d = s.desired({})
    crit = d["properties"]["criteria"]
    test = f"{GROUP}/providers/Microsoft.Insights/webtests/fundrbolt-dev-webtest-backend"
    component = f"{GROUP}/providers/Microsoft.Insights/components/fundrbolt-dev-appi"
    assert crit == {"odata.type": "Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria",
                    "webTestId": test, "componentId": component, "failedLocationCount": 2}
    assert d["properties"]["scopes"] == [test, component] and d["properties"]["severity"] == 1
    assert "web_test:backend" in s.depends_on
    s.create(c, d)
    c.monitor.metric_alerts.create_or_update.assert_called_once_with(RG, "fundrbolt-dev-alert-availability-backend", d)


# ----------------------------------------------------------------------------- budget


def test_budget_amounts_and_notifications(c, dev, prod):
    s = step(dev, "budget")
    d = s.desired({})
    p = d["properties"]
    from steps.budget import start_date

    assert (p["amount"], p["timeGrain"], p["timePeriod"]["startDate"]) == (100, "Monthly", start_date())
    assert {(n["thresholdType"], n["threshold"]) for n in p["notifications"].values()} == {
        ("Actual", 80), ("Forecasted", 90), ("Actual", 100)}
    assert all(n["contactEmails"] == ["devops@fundrbolt.app"] for n in p["notifications"].values())
    assert step(prod, "budget").desired({})["properties"]["amount"] == 1000
    assert s.ref.id == f"{GROUP}/providers/Microsoft.Consumption/budgets/fundrbolt-dev-budget"
    s.create(c, d)
    c.consumption.budgets.create_or_update.assert_called_once_with(GROUP, "fundrbolt-dev-budget", d)
    s.read(c)
    assert c.consumption.budgets.get.call_args.args == (GROUP, "fundrbolt-dev-budget")


def test_budget_update_carries_the_etag(c, dev):
    s = step(dev, "budget")
    live = {"eTag": '"1d34d012214157f"', "properties": {"timePeriod": {"startDate": "2026-11-01T00:00:00Z",
                                                                       "endDate": "2036-10-31T00:00:00Z"}}}
    d = s.desired({"budget": live})
    s.update(c, d, live, ())
    body = c.consumption.budgets.create_or_update.call_args.args[2]
    assert body["eTag"] == '"1d34d012214157f"'
    # The start date is create-only: the update re-sends the live timePeriod (the PUT requires it), never a new one.
    assert body["properties"] == {**d["properties"], "timePeriod": live["properties"]["timePeriod"]}


def test_budget_starts_the_month_it_is_created_and_is_never_compared_again(dev):
    import datetime as dt

    from steps.budget import start_date

    assert start_date(dt.date(2027, 3, 17)) == "2027-03-01T00:00:00Z"
    assert start_date(dt.date(2027, 1, 1)) == "2027-01-01T00:00:00Z"
    s = step(dev, "budget")
    assert "timePeriod" in s.desired({"budget": None})["properties"]  # a create carries it
    existing = {"properties": {"timePeriod": {"startDate": "2025-01-01T00:00:00Z"}}}
    assert "timePeriod" not in s.desired({"budget": existing})["properties"]  # an update never does


def test_budget_get_noise_is_not_drift(dev):
    # arm-examples Budget.json: id without a leading slash, eTag, currentSpend, endDate filled, no locale.
    s = step(dev, "budget")
    d = s.desired({})
    notes = {k: {kk: vv for kk, vv in v.items() if kk != "locale"} for k, v in d["properties"]["notifications"].items()}
    observed = {"id": s.ref.id[1:], "eTag": '"1d34"', "properties": {
        **d["properties"], "notifications": notes, "currentSpend": {"amount": 80.89, "unit": "USD"},
        "timePeriod": {"startDate": "2026-11-01T00:00:00Z", "endDate": "2036-10-31T00:00:00Z"}}}
    assert changes(s, d, observed) == []
    # Any live start date is fine: never compared (create-only), never a replace.
    observed["properties"]["timePeriod"]["startDate"] = "2026-12-01T00:00:00Z"
    assert diff(d, observed, s.rules).changes == []


def test_diagnostic_settings_compare_only_enabled_categories(dev):
    s = step(dev, "diagnostic_setting:web_app")
    d = s.desired({})
    live = {"properties": {**d["properties"],
                           "logs": [*d["properties"]["logs"], {"categoryGroup": "audit", "enabled": False}],
                           "metrics": [*d["properties"]["metrics"], {"category": "Other", "enabled": False}]}}
    assert diff(d, live, s.rules).changes == []
    # An enabled category that is not declared, or a declared one switched off, is still a difference.
    live["properties"]["logs"][0] = {**live["properties"]["logs"][0], "enabled": False}
    # Shown as the missing element, whole (its position: the entry has no name).
    assert [c.path for c in diff(d, live, s.rules).changes] == ["properties.logs[0]"]
