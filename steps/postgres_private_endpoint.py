"""Steps: PostgreSQL's private endpoint (architecture "Private endpoints for PostgreSQL (production)"): a subnet for
private endpoints, the private DNS zone privatelink.postgres.database.azure.com linked to the VNet, the endpoint
and its DNS zone group. The app reaches the server through its regional VNet integration: all its outbound traffic
is routed into the VNet (steps/web_app.py), where the linked zone resolves the server's name to the endpoint."""

from __future__ import annotations

import copy
from typing import Any

from provisioner.azure import call, raw, wait
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules, lower
from steps._base import ArmStep, absent_is, rules
from steps._fields import PLACEMENT, UNUSED, SdkModel, nm
from steps._monitoring import group_id, resource_id
from steps.postgres_server import SECTION as PG_SECTION
from steps.postgres_server import Config as PgConfig
from steps.virtual_network import SECTION as NETWORK_SECTION
from steps.virtual_network import Config as NetworkConfig
from steps.virtual_network import lane_of

SECTION = None  # [postgres] private_endpoint, [network] endpoint_subnet_prefix
# The zone Azure's DNS answers privatelink CNAMEs of flexible servers from (learn.microsoft.com/azure/private-link/
# private-endpoint-dns, "Databases": Azure Database for PostgreSQL - Flexible server, postgresqlServer).
ZONE = "privatelink.postgres.database.azure.com"
GROUP_ID = "postgresqlServer"  # the flexible server's private link sub-resource (ServerGetWithPrivateEndpoints.json)


def enabled(env: EnvironmentSpec) -> bool:
    return env.section(PG_SECTION, PgConfig).private_endpoint


def endpoint_subnet_id(env: EnvironmentSpec) -> str:
    return (f"{resource_id(env, 'virtual_network')}/subnets/{env.resource_name('endpoint_subnet')}")


def zone_id(env: EnvironmentSpec) -> str:
    return f"{group_id(env)}/providers/Microsoft.Network/privateDnsZones/{ZONE}"


class EndpointSubnet(ArmStep):
    """Private endpoints cannot sit in the app's integration subnet (delegated to App Service): their own subnet,
    with no default outbound access (nothing in it starts connections; built-in "Subnets should be private")."""

    type = "Microsoft.Network/virtualNetworks/subnets"
    model = SdkModel("azure.mgmt.network.models", "Subnet")
    not_managed = (
        nm("the single addressPrefix is declared", "properties.addressPrefixes")
        + nm(UNUSED, "properties.sharingScope")
    )
    needs = ("virtual_network",)
    rules = Rules(
        normalizers=(("properties.privateEndpointNetworkPolicies", lower),
                     ("properties.privateLinkServiceNetworkPolicies", absent_is("Enabled"))),
        # No delegation, service endpoint, NSG, route table or NAT gateway in the intended state; an application
        # gateway, IP allocations, service endpoint policies or a service gateway would route or filter the
        # endpoints' traffic: declared absent too (as the app subnet's, steps/subnet.py).
        absent=("properties.networkSecurityGroup", "properties.routeTable", "properties.natGateway",
                "properties.applicationGatewayIPConfigurations", "properties.ipAllocations",
                "properties.ipamPoolPrefixAllocations", "properties.serviceEndpointPolicies", "properties.serviceGateway"),
    )

    def parent_path(self) -> str | None:
        return f"virtualNetworks/{self.env.resource_name('virtual_network')}"

    @property
    def lane(self) -> str | None:
        return lane_of(self.env)

    def desired(self, known: Any) -> dict[str, Any]:
        return {"properties": {
            "addressPrefix": self.env.section(NETWORK_SECTION, NetworkConfig).endpoint_subnet_prefix,
            "delegations": [], "serviceEndpoints": [],
            "privateEndpointNetworkPolicies": "Disabled",
            "privateLinkServiceNetworkPolicies": "Enabled",  # Azure's default; no private link service here
            "defaultOutboundAccess": False,
        }}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.network.subnets.get, self.resource_group, self.env.resource_name("virtual_network"),
                   self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.network.subnets.begin_create_or_update, self.resource_group,
                  self.env.resource_name("virtual_network"), self.resource_name, desired))

    def delete(self, clients: Any) -> None:
        wait(call(clients.network.subnets.begin_delete, self.resource_group, self.env.resource_name("virtual_network"),
                  self.resource_name))


class PrivateDnsZone(ArmStep):
    type = "Microsoft.Network/privateDnsZones"
    model = SdkModel("azure.mgmt.privatedns.models", "PrivateZone")
    not_managed = nm("set by Azure: the zone's concurrency tag", "etag")
    needs = ("resource_group",)
    # PrivateZonePut.json: location 'Global' comes back 'global'; counts and limits are read-only.
    rules = Rules(normalizers=(("location", lower),))

    def desired(self, known: Any) -> dict[str, Any]:
        return {"location": "global", "tags": self.tags()}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.private_dns.private_zones.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.private_dns.private_zones.begin_create_or_update, self.resource_group, self.resource_name,
                  desired))

    def delete(self, clients: Any) -> None:
        wait(call(clients.private_dns.private_zones.begin_delete, self.resource_group, self.resource_name))


class VirtualNetworkLink(ArmStep):
    """The zone answers only inside linked VNets; no auto-registration (nothing here needs VM records)."""

    type = "Microsoft.Network/privateDnsZones/virtualNetworkLinks"
    model = SdkModel("azure.mgmt.privatedns.models", "VirtualNetworkLink")
    not_managed = nm("set by Azure: the link's concurrency tag", "etag") + nm(
        UNUSED, "properties.resolutionPolicy")
    needs = ("private_dns_zone", "virtual_network")
    rules = Rules(normalizers=(("location", lower),))

    def parent_path(self) -> str | None:
        return f"privateDnsZones/{ZONE}"

    def desired(self, known: Any) -> dict[str, Any]:
        return {"location": "global", "tags": self.tags(), "properties": {
            "virtualNetwork": {"id": resource_id(self.env, "virtual_network")}, "registrationEnabled": False}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.private_dns.virtual_network_links.get, self.resource_group, ZONE, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.private_dns.virtual_network_links.begin_create_or_update, self.resource_group, ZONE,
                  self.resource_name, desired))

    def delete(self, clients: Any) -> None:
        wait(call(clients.private_dns.virtual_network_links.begin_delete, self.resource_group, ZONE,
                  self.resource_name))


class PrivateEndpoint(ArmStep):
    type = "Microsoft.Network/privateEndpoints"
    model = SdkModel("azure.mgmt.network.models", "PrivateEndpoint")
    not_managed = (
        nm(PLACEMENT, "extendedLocation")
        + nm("set by Azure: the endpoint's concurrency tag", "etag")
        + nm("subordinate to properties.privateLinkServiceConnections[].name (compared; Azure derives the "
             "connection's id from it, PrivateEndpointCreate.json)", "properties.privateLinkServiceConnections[].id")
        + nm("subordinate to properties.privateLinkServiceConnections[].properties.privateLinkServiceConnectionState.status "
             "(compared: Approved; the description, actions and request message only speak while a connection is "
             "pending)",
             "properties.privateLinkServiceConnections[].properties.privateLinkServiceConnectionState.description",
             "properties.privateLinkServiceConnections[].properties.privateLinkServiceConnectionState.actionsRequired",
             "properties.privateLinkServiceConnections[].properties.requestMessage")
        + nm("filled in by Azure from the connection: the linked server's name and the address the endpoint got "
             "(PrivateEndpointGet.json); the A record the app resolves is the zone group's", "properties.customDnsConfigs")
        + nm(UNUSED, "properties.billingSku", "properties.applicationSecurityGroups")
    )
    needs = ("endpoint_subnet", "postgres_server")
    rules = rules(Rules(
        normalizers=(("properties.ipVersionType", absent_is("IPv4")), ("properties.customNetworkInterfaceName", absent_is("")),
                     ("properties.ipConfigurations", absent_is([])),
                     ("properties.manualPrivateLinkServiceConnections", absent_is([]))),
        # PrivateEndpointGet.json: the subnet comes back as its id only; anything more is not ours to see here.
        absent=("properties.subnet.name", "properties.subnet.properties", "properties.subnet.type",
                "properties.subnet.etag"),
    ))
    # Compared, never sent: the connection's state is the provider's answer (auto-approved when the caller may).
    COMPARE_ONLY = "privateLinkServiceConnectionState"

    def desired(self, known: Any) -> dict[str, Any]:
        return self.base(
            subnet={"id": endpoint_subnet_id(self.env)},
            privateLinkServiceConnections=[{"name": self.resource_name, "properties": {
                "privateLinkServiceId": resource_id(self.env, "postgres_server"), "groupIds": [GROUP_ID],
                "privateLinkServiceConnectionState": {"status": "Approved"}}}],
            # No static address, custom NIC name or manual (approval-pending) connection: Azure's defaults.
            ipConfigurations=[], customNetworkInterfaceName="", manualPrivateLinkServiceConnections=[],
            ipVersionType="IPv4",
        )

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.network.private_endpoints.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        body = copy.deepcopy(desired)
        for connection in body["properties"]["privateLinkServiceConnections"]:
            connection["properties"].pop(self.COMPARE_ONLY, None)
        wait(call(clients.network.private_endpoints.begin_create_or_update, self.resource_group, self.resource_name,
                  body))

    def delete(self, clients: Any) -> None:
        wait(call(clients.network.private_endpoints.begin_delete, self.resource_group, self.resource_name))


class DnsZoneGroup(ArmStep):
    """Azure writes (and keeps) the endpoint's A record in the zone: the server's name resolves to its address."""

    type = "Microsoft.Network/privateEndpoints/privateDnsZoneGroups"
    model = SdkModel("azure.mgmt.network.models", "PrivateDnsZoneGroup")
    not_managed = nm("set by Azure: the group's concurrency tag", "etag")
    needs = ("postgres_private_endpoint", "private_dns_zone")
    rules = Rules()

    @property
    def endpoint(self) -> str:
        return self.env.resource_name("postgres_private_endpoint")

    def parent_path(self) -> str | None:
        return f"privateEndpoints/{self.endpoint}"

    def desired(self, known: Any) -> dict[str, Any]:
        return {"properties": {"privateDnsZoneConfigs": [
            {"name": "postgres", "properties": {"privateDnsZoneId": zone_id(self.env)}}]}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.network.private_dns_zone_groups.get, self.resource_group, self.endpoint, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.network.private_dns_zone_groups.begin_create_or_update, self.resource_group, self.endpoint,
                  self.resource_name, desired))

    def delete(self, clients: Any) -> None:
        wait(call(clients.network.private_dns_zone_groups.begin_delete, self.resource_group, self.endpoint,
                  self.resource_name))


def instances(env: EnvironmentSpec) -> list[ArmStep]:
    if not enabled(env):
        return []
    return [
        EndpointSubnet(env, "endpoint_subnet", env.resource_name("endpoint_subnet")),
        PrivateDnsZone(env, "private_dns_zone", ZONE),
        VirtualNetworkLink(env, "private_dns_zone_link", env.resource_name("private_dns_zone_link")),
        PrivateEndpoint(env, "postgres_private_endpoint", env.resource_name("postgres_private_endpoint")),
        DnsZoneGroup(env, "postgres_private_dns_zone_group", "default"),
    ]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    import ipaddress

    c = env.section(NETWORK_SECTION, NetworkConfig)
    key = "network.endpoint_subnet_prefix"
    try:
        space = ipaddress.ip_network(c.address_space, strict=False)
        mine = ipaddress.ip_network(c.endpoint_subnet_prefix, strict=True)
        app = ipaddress.ip_network(c.app_subnet_prefix, strict=False)
    except ValueError as exc:
        return [ConfigProblem(env.where(key), key, f"not a network prefix: {exc}")]
    if not mine.subnet_of(space):  # type: ignore[arg-type]
        return [ConfigProblem(env.where(key), key, f"{mine} is outside the address space {space}")]
    if mine.overlaps(app):
        return [ConfigProblem(env.where(key), key, f"{mine} overlaps the app subnet {app}")]
    return []
