"""Step: the app's VNet integration subnet, delegated to App Service, with a Key Vault service endpoint."""

from __future__ import annotations

from typing import Any

from provisioner.azure import call, raw, wait
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules, lower
from steps._base import ArmStep, absent_is
from steps._fields import UNUSED, SdkModel, nm
from steps.virtual_network import SECTION as NETWORK_SECTION
from steps.virtual_network import Config as NetworkConfig
from steps.virtual_network import lane_of

SECTION = None  # configured by [network]


class Subnet(ArmStep):
    type = "Microsoft.Network/virtualNetworks/subnets"
    model = SdkModel("azure.mgmt.network.models", "Subnet")
    not_managed = (
        nm("the single addressPrefix is declared", "properties.addressPrefixes")
        # Azure fills in a delegation's own id and type from its name, and the regions a service endpoint
        # covers from its service.
        + nm("subordinate to properties.delegations[].name (compared)", "properties.delegations[].id",
             "properties.delegations[].type")
        + nm("subordinate to properties.serviceEndpoints[].service (compared)", "properties.serviceEndpoints[].locations")
        + nm(UNUSED, "properties.sharingScope")
    )
    needs = ("virtual_network",)
    rules = Rules(
        normalizers=(("properties.delegations*.properties.serviceName", lower),
                     ("properties.serviceEndpoints*.service", lower)),
        sets=("properties.serviceEndpoints", "properties.delegations"),
        # Traffic of the app's integration subnet: no NSG, route table or NAT gateway in the intended state;
        # one attached by hand (which could drop or redirect the app's outbound calls) is drift.
        # An application gateway, IP allocations, service endpoint policies or a service gateway in it would
        # route or filter the same traffic: declared absent too.
        absent=("properties.networkSecurityGroup", "properties.routeTable", "properties.natGateway",
                "properties.applicationGatewayIPConfigurations", "properties.ipAllocations",
                "properties.ipamPoolPrefixAllocations", "properties.serviceEndpointPolicies", "properties.serviceGateway"),
    ).merged(Rules(normalizers=(
        # Azure's defaults for a new subnet (arm-examples SubnetGet; the local cloud's): private endpoint network
        # policies off, private link service policies on; default outbound access is on until set otherwise.
        ("properties.privateEndpointNetworkPolicies", absent_is("Disabled")),
        ("properties.privateLinkServiceNetworkPolicies", absent_is("Enabled")),
        ("properties.defaultOutboundAccess", absent_is(True)),
    ), exact=(), case_insensitive_keys=()))

    @property
    def vnet(self) -> str:
        return self.env.resource_name("virtual_network")

    def parent_path(self) -> str | None:
        return f"virtualNetworks/{self.vnet}"

    @property
    def lane(self) -> str | None:
        return lane_of(self.env)

    def desired(self, known: Any) -> dict[str, Any]:
        return {"properties": {
            "addressPrefix": self.env.section(NETWORK_SECTION, NetworkConfig).app_subnet_prefix,
            # Regional VNet integration needs a subnet delegated to Microsoft.Web/serverFarms
            # (learn.microsoft.com/azure/app-service/overview-vnet-integration#subnet-requirements).
            "delegations": [{"name": "app-service", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}],
            # The vault's and the storage account's virtualNetworkRules admit traffic from this subnet only
            # through these endpoints (learn.microsoft.com/azure/key-vault/general/overview-vnet-service-endpoints,
            # learn.microsoft.com/azure/storage/common/storage-network-security: "enable a service endpoint for
            # Azure Storage within the virtual network").
            "serviceEndpoints": [{"service": "Microsoft.KeyVault"}, {"service": "Microsoft.Storage"}],
            "privateEndpointNetworkPolicies": "Disabled",
            "privateLinkServiceNetworkPolicies": "Enabled",
            "defaultOutboundAccess": True,
        }}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.network.subnets.get, self.resource_group, self.vnet, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.network.subnets.begin_create_or_update, self.resource_group, self.vnet, self.resource_name,
                  desired))

    def delete(self, clients: Any) -> None:
        wait(call(clients.network.subnets.begin_delete, self.resource_group, self.vnet, self.resource_name))


def instances(env: EnvironmentSpec) -> list[Subnet]:
    return [Subnet(env, "subnet", env.resource_name("app_subnet"))]
