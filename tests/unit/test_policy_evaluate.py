"""The policy evaluator against Microsoft's own files: conditions from policy/builtins (Azure/azure-policy, unchanged),
bodies from Microsoft's ARM examples (tests/fixtures/arm-examples); each rule both ways, met and not met."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from provisioner.engine.policy.aliases import path_of, select
from provisioner.engine.policy.definitions import builtins
from provisioner.engine.policy.evaluate import (
    Assignment,
    Environment,
    Resource,
    applies,
    evaluate,
    finding,
    queries,
    query,
)
from provisioner.engine.policy.expressions import Scope
from provisioner.engine.policy.expressions import evaluate as expression

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "arm-examples"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
DEFS = {d.reference_id: d for d in builtins()}


def body(path: str, status: str = "200") -> dict[str, Any]:
    return copy.deepcopy(json.loads((EXAMPLES / path).read_text())["responses"][status]["body"])


def resource(b: dict[str, Any], rtype: str, version: str = "2025-05-01") -> Resource:
    return Resource(b["id"], rtype, b, version)


SITE = "Microsoft.Web/sites/2025-03-01/GetWebApp.json"
CONFIG = "Microsoft.Web/sites/config/2024-11-01/GetSiteConfig.json"
STORAGE = "Microsoft.Storage/storageAccounts/2025-06-01/StorageAccountGetProperties.json"
VAULT = "Microsoft.KeyVault/vaults/2024-11-01/getVault.json"


def state(ref: str, *resources: Resource, related: dict | None = None, values: dict | None = None) -> str:
    d = DEFS[ref]
    a = Assignment(d, d.values(values or {}))
    env = Environment("sub", {}, tuple(resources))
    [result] = evaluate([a], env, related or {}, {}, NOW)
    return result.state


# --------------------------------------------------------------------------------------------------- aliases


def test_aliases_map_to_the_arm_paths_of_the_bodies_microsoft_publishes():
    site, pe = body(SITE), body("Microsoft.Network/privateEndpoints/2024-05-01/PrivateEndpointCreate.json")
    assert select(site, path_of("Microsoft.Web/sites/httpsOnly")).value is False  # as in the example
    assert select(site, path_of("Microsoft.Web/sites/sku")).value == "Standard"  # properties.sku, not the envelope
    config = body(CONFIG)
    assert select(config, path_of("Microsoft.Web/sites/config/web.http20Enabled")).value is False
    assert select(config, path_of("Microsoft.Web/sites/config/ftpsState")).value == "AllAllowed"
    groups = select(pe, path_of("Microsoft.Network/privateEndpoints/privateLinkServiceConnections[*].groupIds[*]"))
    assert groups.collection and groups.values == ("groupIdFromResource",)
    vault = body(VAULT)
    rules = select(vault, path_of("Microsoft.KeyVault/vaults/networkAcls.ipRules[*]"))
    assert rules.collection and rules.values == ()  # a missing array is an empty collection


def test_legacy_array_alias_names_every_entry_of_the_array():
    diag = {"properties": {"logs": [{"category": None, "categoryGroup": "allLogs", "enabled": True},
                                    {"category": None, "categoryGroup": "audit", "enabled": False}]}}
    found = select(diag, path_of("Microsoft.Insights/diagnosticSettings/logs.enabled"))
    assert found.collection and found.values == (True, False)


# ------------------------------------------------------------------------------------------ template functions


def test_template_functions_the_built_ins_use():
    scope = Scope(parameters={"LinuxPythonVersion": "3.12", "retentionDays": 7, "list": ["a", "b"]})
    assert expression("concat('PYTHON|', parameters('LinuxPythonVersion'))", scope) == "PYTHON|3.12"
    assert expression("padLeft('7', 3, '0')", scope) == "007"
    assert expression("int(split('7.00:00:00', createArray(':', '.'))[0])", scope) == 7
    assert expression("if(empty(''), 0, int('x'))", scope) == 0  # if() evaluates only the branch it takes
    assert expression("first(parameters('list'))", scope) == "a"
    assert expression("ipRangeContains('10.0.0.0/24', '10.0.0.7')", scope) is True
    assert expression("ipRangeContains('10.0.0.0/24', '10.0.1.7')", scope) is False
    assert expression("addDays('2026-01-01T00:00:00.0000000Z', 90)", scope).startswith("2026-04-01T00:00:00")


# ---------------------------------------------------------------------------------------------- audit rules


def test_https_only_both_ways():
    site = body(SITE)
    site["properties"]["httpsOnly"] = False
    assert state("Webapp_AuditHTTP_Audit", resource(site, "Microsoft.Web/sites")) == "non-compliant"
    site["properties"]["httpsOnly"] = True
    assert state("Webapp_AuditHTTP_Audit", resource(site, "Microsoft.Web/sites")) == "compliant"


def test_function_app_definitions_do_not_apply_to_a_web_app():
    site = resource(body(SITE), "Microsoft.Web/sites")
    d = DEFS["FunctionApp_AuditHTTP_Audit"]
    assert not applies(Assignment(d, d.values({})), Environment("s", {}, (site,)), site, NOW)
    flex = body("Microsoft.Web/sites/2024-11-01/CreateOrUpdateFunctionAppFlexConsumption.json")
    flex["kind"] = "functionapp,linux"  # the PUT response omits kind (arm-examples INDEX #6)
    fn = resource(flex, "Microsoft.Web/sites")
    assert applies(Assignment(d, d.values({})), Environment("s", {}, (fn,)), fn, NOW)


def test_storage_secure_transfer_tls_and_cross_tenant_replication_both_ways():
    account = body(STORAGE)
    r = resource(account, "Microsoft.Storage/storageAccounts")
    assert state("StorageAccountMinimumTLSVersion_Audit", r) == "non-compliant"  # the example sets none
    account["properties"].update(minimumTlsVersion="TLS1_2", supportsHttpsTrafficOnly=True,
                                 allowCrossTenantReplication=False)
    assert state("StorageAccountMinimumTLSVersion_Audit", r) == "compliant"
    assert state("Storage_AuditForHTTPSEnabled_Audit", r) == "compliant"
    assert state("StorageAccountAllowCrossTenantReplication_Audit", r) == "compliant"
    account["properties"]["supportsHttpsTrafficOnly"] = False
    assert state("Storage_AuditForHTTPSEnabled_Audit", r) == "non-compliant"


def test_sas_policy_of_seven_days_with_block_is_met_and_eight_days_is_not():
    account = body(STORAGE)
    r = resource(account, "Microsoft.Storage/storageAccounts")
    assert state("EnforceStorageSasMaxExpiration7Days_Deny", r) == "non-compliant"
    account["properties"]["sasPolicy"] = {"sasExpirationPeriod": "7.00:00:00", "expirationAction": "Block"}
    assert state("EnforceStorageSasMaxExpiration7Days_Deny", r) == "compliant"
    account["properties"]["sasPolicy"] = {"sasExpirationPeriod": "7.00:00:01", "expirationAction": "Block"}
    assert state("EnforceStorageSasMaxExpiration7Days_Deny", r) == "non-compliant"
    account["properties"]["sasPolicy"] = {"sasExpirationPeriod": "1.00:00:00", "expirationAction": "Log"}
    assert state("EnforceStorageSasMaxExpiration7Days_Deny", r) == "non-compliant"


def test_vault_purge_protection_rbac_and_firewall_both_ways():
    vault = body(VAULT)
    r = resource(vault, "Microsoft.KeyVault/vaults", "2024-11-01")
    vault["properties"].update(enableSoftDelete=True, enablePurgeProtection=True, enableRbacAuthorization=True,
                               networkAcls={"defaultAction": "Deny", "bypass": "AzureServices"})
    for ref in ("Recoverable_Audit", "Should_Use_RBAC", "FirewallEnabled_Audit"):
        assert state(ref, r) == "compliant", ref
    vault["properties"]["enablePurgeProtection"] = False
    assert state("Recoverable_Audit", r) == "non-compliant"
    vault["properties"]["networkAcls"]["defaultAction"] = "Allow"
    assert state("FirewallEnabled_Audit", r) == "non-compliant"


def test_value_count_with_ip_range_contains_restricts_vault_addresses():
    vault = body(VAULT)
    vault["properties"].update(networkAcls={"defaultAction": "Deny", "ipRules": [{"value": "203.0.113.7"}]},
                               publicNetworkAccess="Enabled")
    r = resource(vault, "Microsoft.KeyVault/vaults", "2024-11-01")
    values = {"restrictIPAddresses": "Yes", "allowedIPAddresses": ["203.0.113.0/24"]}
    assert state("FirewallEnabled_Audit", r, values=values) == "compliant"
    vault["properties"]["networkAcls"]["ipRules"].append({"value": "198.51.100.1"})
    assert state("FirewallEnabled_Audit", r, values=values) == "non-compliant"


# ------------------------------------------------------------------------------------- if-not-exists effects


def test_ftps_is_looked_for_in_the_sites_config_web():
    site = resource(body(SITE), "Microsoft.Web/sites")
    d = DEFS["AuditFTPS_WebApp_Audit"]
    env = Environment("sub", {}, (site,))
    q = query(Assignment(d, d.values({})), env, site, NOW)
    assert (q.path, q.many) == (f"{site.id}/config/web", False)
    config = body(CONFIG)  # ftpsState AllAllowed in Microsoft's example
    web = Resource(q.path, "Microsoft.Web/sites/config", config, "2024-11-01")
    assert state("AuditFTPS_WebApp_Audit", site, related={q: [web]}) == "non-compliant"
    config["ftpsState"] = "ignored: not under properties"
    config["properties"]["ftpsState"] = "FtpsOnly"
    assert state("AuditFTPS_WebApp_Audit", site, related={q: [web]}) == "compliant"
    assert state("AuditFTPS_WebApp_Audit", site, related={q: []}) == "non-compliant"  # no config at all


def test_cors_wildcard_in_the_config_is_not_met():
    site = resource(body(SITE), "Microsoft.Web/sites")
    d = DEFS["RestrictCORSAccess_WebApp_Audit"]
    q = query(Assignment(d, d.values({})), Environment("s", {}, (site,)), site, NOW)
    config = body(CONFIG)
    config["properties"]["cors"] = {"allowedOrigins": ["https://admin.example", "*"]}
    web = Resource(site.id + "/config/web", "Microsoft.Web/sites/config", config)
    assert state("RestrictCORSAccess_WebApp_Audit", site, related={q: [web]}) == "non-compliant"
    config["properties"]["cors"] = {"allowedOrigins": ["https://admin.example"]}
    assert state("RestrictCORSAccess_WebApp_Audit", site, related={q: [web]}) == "compliant"


def test_postgres_private_endpoint_connection_approved_is_met():
    server = body("Microsoft.DBforPostgreSQL/flexibleServers/2024-08-01/ServerGetWithPrivateEndpoints.json")
    r = resource(server, "Microsoft.DBforPostgreSQL/flexibleServers", "2024-08-01")
    d = DEFS["FlexibleServers_EnablePrivateEndPoint_AINE"]
    q = query(Assignment(d, d.values({})), Environment("s", {}, (r,)), r, NOW)
    assert q.path == f"{r.id}/privateEndpointConnections" and q.many
    pec = server["properties"]["privateEndpointConnections"][0]
    connection = Resource(pec["id"], q.type, pec)
    assert state("FlexibleServers_EnablePrivateEndPoint_AINE", r, related={q: [connection]}) == "compliant"
    pec["properties"]["privateLinkServiceConnectionState"]["status"] = "Pending"
    assert state("FlexibleServers_EnablePrivateEndPoint_AINE", r, related={q: [connection]}) == "non-compliant"


def test_log_checkpoints_is_looked_for_by_name_and_its_value_compared_case_insensitively():
    server = body("Microsoft.DBforPostgreSQL/flexibleServers/2025-08-01/ServersGet.json")
    r = resource(server, "Microsoft.DBforPostgreSQL/flexibleServers")
    d = DEFS["FlexibleServers_EnableLogCheckpoint_AINE"]
    q = query(Assignment(d, d.values({})), Environment("s", {}, (r,)), r, NOW)
    assert q.path == f"{r.id}/configurations/log_checkpoints"
    on = Resource(q.path, q.type, {"properties": {"value": "on"}})
    off = Resource(q.path, q.type, {"properties": {"value": "off"}})
    assert state("FlexibleServers_EnableLogCheckpoint_AINE", r, related={q: [on]}) == "compliant"
    assert state("FlexibleServers_EnableLogCheckpoint_AINE", r, related={q: [off]}) == "non-compliant"


def test_retention_days_existence_condition_reads_the_related_value_through_field():
    server = resource(body("Microsoft.DBforPostgreSQL/flexibleServers/2025-08-01/ServersGet.json"),
                      "Microsoft.DBforPostgreSQL/flexibleServers")
    d = DEFS["FlexibleServers_LogRetentionDays_DINE"]
    q = query(Assignment(d, d.values({})), Environment("s", {}, (server,)), server, NOW)
    seven = Resource(q.path, q.type, {"properties": {"value": "7"}})
    three = Resource(q.path, q.type, {"properties": {"value": "3"}})
    assert state("FlexibleServers_LogRetentionDays_DINE", server, related={q: [seven]}) == "compliant"
    assert state("FlexibleServers_LogRetentionDays_DINE", server, related={q: [three]}) == "non-compliant"


def test_diagnostic_setting_counted_by_category_group_with_assignment_parameters():
    vault = resource(body(VAULT), "Microsoft.KeyVault/vaults", "2024-11-01")
    workspace = "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/w"
    d = DEFS["DS_LA_keyvault-vaults_DINE"]
    values = {"logAnalytics": workspace, "categoryGroup": "allLogs"}
    q = query(Assignment(d, d.values(values)), Environment("s", {}, (vault,)), vault, NOW)
    assert q.path == f"{vault.id}/providers/Microsoft.Insights/diagnosticSettings" and q.many
    setting = {"id": q.path + "/diag", "properties": {"workspaceId": workspace, "logs": [
        {"category": None, "categoryGroup": "allLogs", "enabled": True},
        {"category": None, "categoryGroup": "audit", "enabled": False}]}}
    diag = Resource(setting["id"], q.type, setting)
    assert state("DS_LA_keyvault-vaults_DINE", vault, related={q: [diag]}, values=values) == "compliant"
    # The definition's default categoryGroup (audit) wants the audit group on and allLogs off.
    assert state("DS_LA_keyvault-vaults_DINE", vault, related={q: [diag]},
                 values={"logAnalytics": workspace}) == "non-compliant"
    setting["properties"]["workspaceId"] = workspace + "-elsewhere"
    assert state("DS_LA_keyvault-vaults_DINE", vault, related={q: [diag]}, values=values) == "non-compliant"


def test_resource_logs_count_each_entry_as_if_it_were_the_only_one():
    site = resource(body(SITE), "Microsoft.Web/sites")
    d = DEFS["ResourceLoggingMonitoring_Audit"]
    q = query(Assignment(d, d.values({})), Environment("s", {}, (site,)), site, NOW)
    logs = [{"category": None, "categoryGroup": "allLogs", "enabled": True, "retentionPolicy": {"enabled": False, "days": 0}},
            {"category": None, "categoryGroup": "audit", "enabled": False, "retentionPolicy": {"enabled": False, "days": 0}}]
    diag = Resource(q.path + "/d", q.type, {"properties": {"workspaceId": "w", "logs": logs}})
    assert state("ResourceLoggingMonitoring_Audit", site, related={q: [diag]}) == "compliant"
    logs[0]["enabled"] = False
    assert state("ResourceLoggingMonitoring_Audit", site, related={q: [diag]}) == "non-compliant"


def test_network_watcher_is_looked_for_in_its_own_group_by_the_vnets_location():
    vnet = Resource("/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v",
                    "Microsoft.Network/virtualNetworks", {"location": "eastus", "properties": {"subnets": []}})
    d = DEFS["NetworkWatcher_Enabled_Audit"]
    q = query(Assignment(d, d.values({})), Environment("sub", {}, (vnet,)), vnet, NOW)
    assert q.path == "/subscriptions/sub/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers"
    west = Resource(q.path + "/w", q.type, {"location": "westus"})
    east = Resource(q.path + "/e", q.type, {"location": "eastus"})
    assert state("NetworkWatcher_Enabled_Audit", vnet, related={q: [west]}) == "non-compliant"
    assert state("NetworkWatcher_Enabled_Audit", vnet, related={q: [west, east]}) == "compliant"


def test_private_dns_zone_group_rules_apply_only_to_endpoints_of_their_group():
    pe = body("Microsoft.Network/privateEndpoints/2024-05-01/PrivateEndpointCreate.json")
    r = resource(pe, "Microsoft.Network/privateEndpoints", "2024-05-01")
    d = DEFS["StoragePrivateDnsZoneGroup_Blob"]
    a = Assignment(d, d.values({"privateDnsZoneId": "z"}))
    assert not applies(a, Environment("s", {}, (r,)), r, NOW)
    pe["properties"]["privateLinkServiceConnections"][0]["properties"]["groupIds"] = ["blob"]
    assert applies(a, Environment("s", {}, (r,)), r, NOW)


def test_only_the_queries_of_applicable_rules_are_read():
    site = resource(body(SITE), "Microsoft.Web/sites")
    wanted = queries([Assignment(d, d.values({})) for d in builtins() if not d.required()],
                     Environment("s", {}, (site,)), NOW)
    assert {q.type for q in wanted} >= {"Microsoft.Web/sites/config", "Microsoft.Web/sites/basicPublishingCredentialsPolicies"}
    assert all(q.path.startswith(site.id) for q in wanted)


def test_a_missing_parameter_is_an_evaluation_error_not_a_verdict():
    account = resource(body(STORAGE), "Microsoft.Storage/storageAccounts")
    d = DEFS["AllowedStorageSkus_Audit"]
    got = finding(Assignment(d, d.values({})), Environment("s", {}, (account,)), account, {}, NOW)
    assert got is not None and got.state == "error" and "listOfAllowedSKUs" in got.detail


@pytest.mark.parametrize("sku,expected", [("Standard_LRS", "compliant"), ("Premium_LRS", "non-compliant")])
def test_allowed_skus_with_the_assignments_list(sku, expected):
    account = body(STORAGE)
    account["sku"]["name"] = sku
    assert state("AllowedStorageSkus_Audit", resource(account, "Microsoft.Storage/storageAccounts"),
                 values={"listOfAllowedSKUs": ["Standard_LRS"]}) == expected
