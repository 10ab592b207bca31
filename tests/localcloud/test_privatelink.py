"""What the audit reads and the baseline writes: private endpoints, private DNS, PostgreSQL admins and parameters,
storage network rules, Network Watcher, a site's VNet connections and identity id; accepted and refused as Azure does."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from .conftest import SUB, raw, rid

VNET = "vnet"


def _network(make, rg, app_delegated: bool = True):
    from azure.mgmt.network import NetworkManagementClient

    net = make(NetworkManagementClient)
    net.virtual_networks.begin_create_or_update(rg, VNET, {"location": "eastus", "properties": {
        "addressSpace": {"addressPrefixes": ["10.40.0.0/16"]}}}).result()
    delegation = [{"name": "app", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}] if app_delegated else []
    net.subnets.begin_create_or_update(rg, VNET, "app", {"properties": {
        "addressPrefix": "10.40.1.0/26", "delegations": delegation}}).result()
    net.subnets.begin_create_or_update(rg, VNET, "endpoints", {"properties": {"addressPrefix": "10.40.2.0/27"}}).result()
    return net


def _server(cloud, name: str = "pg1", aad: str = "Disabled") -> str:
    path = rid("Microsoft.DBforPostgreSQL/flexibleServers", name)
    status, _, _ = raw(cloud, "PUT", path + "?api-version=2024-08-01", {
        "location": "eastus", "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {"administratorLogin": "admin1", "administratorLoginPassword": "Pa55-word-long",
                       "version": "14", "authConfig": {"activeDirectoryAuth": aad, "passwordAuth": "Enabled"}}})
    assert status in (200, 201, 202)
    return path


def _endpoint(subnet: str, target: str, group: str = "postgresqlServer") -> dict:
    return {"location": "eastus", "properties": {"subnet": {"id": subnet}, "privateLinkServiceConnections": [
        {"name": "c1", "properties": {"privateLinkServiceId": target, "groupIds": [group]}}]}}


def test_a_private_endpoint_connects_postgres_and_its_zone_group_writes_the_a_record(cloud, make, rg):
    from azure.mgmt.privatedns import PrivateDnsManagementClient

    net = _network(make, rg)
    server = _server(cloud)
    subnet = rid("Microsoft.Network/virtualNetworks", VNET, "subnets", "endpoints")
    pe = net.private_endpoints.begin_create_or_update(rg, "pe1", _endpoint(subnet, server)).result()
    [conn] = pe.private_link_service_connections
    assert conn.private_link_service_connection_state.status == "Approved"
    [dns] = pe.custom_dns_configs
    assert dns.fqdn == "pg1.postgres.database.azure.com" and dns.ip_addresses == ["10.40.2.4"]
    # The server's side (ServerGetWithPrivateEndpoints.json): an approved connection for group postgresqlServer.
    _, body, _ = raw(cloud, "GET", server + "/privateEndpointConnections?api-version=2024-08-01")
    [pec] = body["value"]
    assert pec["properties"]["groupIds"] == ["postgresqlServer"]
    assert pec["properties"]["privateLinkServiceConnectionState"]["status"] == "Approved"
    _, srv, _ = raw(cloud, "GET", server + "?api-version=2024-08-01")
    assert [c["name"] for c in srv["properties"]["privateEndpointConnections"]] == [pec["name"]]

    pdns = make(PrivateDnsManagementClient)
    zone = "privatelink.postgres.database.azure.com"
    made = pdns.private_zones.begin_create_or_update(rg, zone, {"location": "Global"}).result()
    assert made.location == "global" and made.number_of_record_sets == 1  # the SOA (PrivateZonePut.json)
    link = pdns.virtual_network_links.begin_create_or_update(rg, zone, "l1", {"location": "Global", "properties": {
        "virtualNetwork": {"id": rid("Microsoft.Network/virtualNetworks", VNET)}, "registrationEnabled": False}}).result()
    assert link.virtual_network_link_state == "Completed"
    group = net.private_dns_zone_groups.begin_create_or_update(rg, "pe1", "default", {"properties": {
        "privateDnsZoneConfigs": [{"name": "pg", "properties": {"privateDnsZoneId": made.id}}]}}).result()
    [rs] = group.private_dns_zone_configs[0].record_sets
    assert (rs.record_set_name, rs.ip_addresses) == ("pg1", ["10.40.2.4"])
    record = pdns.record_sets.get(rg, zone, "A", "pg1")
    assert [a.ipv4_address for a in record.a_records] == ["10.40.2.4"]
    # A zone with VNet links cannot be deleted.
    with pytest.raises(HttpResponseError) as err:
        pdns.private_zones.begin_delete(rg, zone).result()
    assert err.value.status_code == 409


def test_a_private_endpoint_is_refused_in_a_delegated_subnet_or_for_an_unknown_group(cloud, make, rg):
    net = _network(make, rg)
    server = _server(cloud)
    delegated = rid("Microsoft.Network/virtualNetworks", VNET, "subnets", "app")
    with pytest.raises(HttpResponseError) as err:
        net.private_endpoints.begin_create_or_update(rg, "pe1", _endpoint(delegated, server)).result()
    assert "Delegated" in str(err.value.error.code)
    free = rid("Microsoft.Network/virtualNetworks", VNET, "subnets", "endpoints")
    with pytest.raises(HttpResponseError) as err:
        net.private_endpoints.begin_create_or_update(rg, "pe1", _endpoint(free, server, "blob")).result()
    assert err.value.status_code == 400 and "postgresqlserver" in str(err.value)
    with pytest.raises(HttpResponseError):
        net.private_endpoints.begin_create_or_update(rg, "pe1", _endpoint(free, server + "-gone")).result()


def test_an_entra_administrator_needs_entra_sign_in(cloud, rg):
    admin = {"properties": {"principalType": "ServicePrincipal", "principalName": "app", "tenantId": SUB}}
    path = _server(cloud) + "/administrators/11111111-1111-1111-1111-111111111111?api-version=2024-08-01"
    status, body, _ = raw(cloud, "PUT", path, admin)
    assert status == 400 and body["error"]["code"] == "AadAuthDisabled"
    path = _server(cloud, "pg2", aad="Enabled") + "/administrators/11111111-1111-1111-1111-111111111111?api-version=2024-08-01"
    status, _, _ = raw(cloud, "PUT", path, admin)
    assert status in (200, 201, 202)
    _, got, _ = raw(cloud, "GET", path)
    assert got["name"] == "app" and got["properties"]["objectId"] == "11111111-1111-1111-1111-111111111111"


def test_read_only_server_parameters_keep_azures_value(cloud, rg):
    base = _server(cloud) + "/configurations/{}?api-version=2024-08-01"
    _, got, _ = raw(cloud, "GET", base.format("log_connections"))
    assert got["properties"]["value"] == "on" and got["properties"]["isReadOnly"] is True
    _, got, _ = raw(cloud, "GET", base.format("pgaudit.log"))
    assert got["properties"]["value"] == "none"
    status, body, _ = raw(cloud, "PATCH", base.format("log_connections"), {"properties": {"value": "off"}})
    assert status == 400
    status, _, _ = raw(cloud, "PATCH", base.format("log_checkpoints"), {"properties": {"value": "off"}})
    assert status in (200, 202)


def test_a_storage_network_rule_needs_the_subnets_service_endpoint(cloud, make, rg):
    from azure.mgmt.storage import StorageManagementClient

    net = _network(make, rg)
    subnet = rid("Microsoft.Network/virtualNetworks", VNET, "subnets", "app")
    storage = make(StorageManagementClient)
    body = {"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}, "properties": {
        "networkAcls": {"defaultAction": "Deny", "virtualNetworkRules": [{"id": subnet, "action": "Allow"}]}}}
    with pytest.raises(HttpResponseError) as err:
        storage.storage_accounts.begin_create(rg, "acct1", body).result()
    assert err.value.error.code == "NetworkAclsValidationFailure"
    net.subnets.begin_create_or_update(rg, VNET, "app", {"properties": {
        "addressPrefix": "10.40.1.0/26", "serviceEndpoints": [{"service": "Microsoft.Storage"}],
        "delegations": [{"name": "app", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}]}}).result()
    made = storage.storage_accounts.begin_create(rg, "acct1", body).result()
    assert made.network_rule_set.virtual_network_rules[0].state == "Succeeded"


def test_creating_a_vnet_enables_network_watcher_in_its_region(cloud, make, rg):
    _network(make, rg)
    path = f"/subscriptions/{SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers"
    _, body, _ = raw(cloud, "GET", path + "?api-version=2024-05-01")
    assert [(w["name"], w["location"]) for w in body["value"]] == [("NetworkWatcher_eastus", "eastus")]


def test_a_site_lists_its_vnet_integration_and_carries_its_identity_id(cloud, make, rg):
    from azure.mgmt.web import WebSiteManagementClient

    _network(make, rg)
    web = make(WebSiteManagementClient)
    plan = web.app_service_plans.begin_create_or_update(rg, "plan1", {
        "location": "eastus", "kind": "linux", "sku": {"name": "S1"}, "properties": {"reserved": True}}).result()
    subnet = rid("Microsoft.Network/virtualNetworks", VNET, "subnets", "app")
    web.web_apps.begin_create_or_update(rg, "site1", {
        "location": "eastus", "kind": "app,linux,container", "identity": {"type": "SystemAssigned"},
        "properties": {"serverFarmId": plan.id, "virtualNetworkSubnetId": subnet, "vnetRouteAllEnabled": True}}).result()
    [conn] = web.web_apps.list_vnet_connections(rg, "site1")
    assert conn.vnet_resource_id == subnet and conn.is_swift
    config = web.web_apps.get_configuration(rg, "site1")
    assert isinstance(config.managed_service_identity_id, int)
    assert [c.name for c in web.web_apps.list_configurations(rg, "site1")] == ["web"]
    site = web.web_apps.get(rg, "site1")
    assert site.outbound_vnet_routing.application_traffic is True and site.outbound_vnet_routing.all_traffic is False
    web.web_apps.update(rg, "site1", {"properties": {"outboundVnetRouting": {"allTraffic": True}}})
    assert web.web_apps.get(rg, "site1").outbound_vnet_routing.all_traffic is True

