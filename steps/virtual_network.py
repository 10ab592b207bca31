"""Step: the virtual network the app's regional VNet integration joins (Microsoft.Network/virtualNetworks)."""

from __future__ import annotations

import ipaddress
from typing import Any

from provisioner.azure import call, raw, wait
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules
from steps._base import ArmStep, absent_is, name_problems, off_is_none, rules
from steps._fields import PLACEMENT, UNUSED, SdkModel, nm

SECTION = "network"


class Config(Section):
    # The architecture plans "VNet integration for App Service"; the subnet is used only for the app's
    # outbound traffic, so one private range per environment is enough (VNets are not peered).
    address_space: str = "10.40.0.0/16"
    # App Service regional VNet integration subnet: /28 at least, /26 recommended (one address per instance
    # plus scaling headroom; learn.microsoft.com/azure/app-service/overview-vnet-integration#subnet-requirements).
    app_subnet_prefix: str = "10.40.1.0/26"
    # Private endpoints (PostgreSQL's in production: steps/postgres_private_endpoint.py) live in their own subnet.
    endpoint_subnet_prefix: str = "10.40.2.0/27"


def lane_of(env: EnvironmentSpec) -> str:
    """Microsoft.Network answers 409 AnotherOperationInProgress to concurrent writes on one VNet."""
    return f"vnet:{env.resource_name('virtual_network')}"


class VirtualNetwork(ArmStep):
    type = "Microsoft.Network/virtualNetworks"
    model = SdkModel("azure.mgmt.network.models", "VirtualNetwork")
    not_managed = (
        nm("owned by the subnet step (each subnet is its own step; others are the virtual_network/subnets "
           "collection's)", "properties.subnets")
        + nm(PLACEMENT, "extendedLocation")
        + nm(UNUSED, "properties.enableVmProtection", "properties.flowTimeoutInMinutes")
    )
    needs = ("resource_group",)
    # The address space is a set of prefixes; the subnets are owned by the subnet step, never compared here.
    rules = rules(Rules(
        sets=("properties.addressSpace.addressPrefixes",),
        # A peering joins another network to this one, custom DNS servers would resolve the vault's name
        # elsewhere: the intended state has neither, so either is drift.
        absent=("properties.virtualNetworkPeerings", "properties.dhcpOptions.dnsServers",
                # IP allocations, IPAM pools, BGP communities and gateway prefixes (routing the platform does not
                # use), a DDoS plan, encryption that is on: each declared absent (a value is drift).
                "properties.ipAllocations", "properties.summarizedGatewayPrefixes",
                "properties.addressSpace.ipamPoolPrefixAllocations", "properties.bgpCommunities",
                "properties.ddosProtectionPlan", "properties.encryption"),
        normalizers=(("properties.enableDdosProtection", absent_is(False)),
                     ("properties.privateEndpointVNetPolicies", absent_is("Disabled")),
                     ("properties.encryption", off_is_none)),
    ))

    @property
    def lane(self) -> str | None:
        return lane_of(self.env)

    def desired(self, known: Any) -> dict[str, Any]:
        return self.base(addressSpace={"addressPrefixes": [self.env.section(SECTION, Config).address_space]},
                         enableDdosProtection=False, privateEndpointVNetPolicies="Disabled")

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.network.virtual_networks.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.network.virtual_networks.begin_create_or_update, self.resource_group, self.resource_name,
                  desired))

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # A PUT replaces the subnet list (a subnet left out is deleted, one in use refuses the whole PUT):
        # re-send the subnets that exist (hashicorp/terraform-provider-azurerm: inline vs separate subnets).
        subnets = [{"name": s["name"], "properties": s.get("properties") or {}}
                   for s in (observed.get("properties") or {}).get("subnets") or []]
        body = {**desired, "properties": {**desired["properties"], "subnets": subnets}}
        wait(call(clients.network.virtual_networks.begin_create_or_update, self.resource_group, self.resource_name,
                  body))

    def delete(self, clients: Any) -> None:
        wait(call(clients.network.virtual_networks.begin_delete, self.resource_group, self.resource_name))


def instances(env: EnvironmentSpec) -> list[VirtualNetwork]:
    return [VirtualNetwork(env, "virtual_network", env.resource_name("virtual_network"))]


def _network(env: EnvironmentSpec, key: str, value: str, problems: list[ConfigProblem]) -> Any:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        problems.append(ConfigProblem(env.where(f"{SECTION}.{key}"), f"{SECTION}.{key}",
                                      f"{value!r} is not a network in CIDR form (e.g. 10.40.0.0/16)"))
        return None
    if net.version != 4 or not net.is_private:
        problems.append(ConfigProblem(env.where(f"{SECTION}.{key}"), f"{SECTION}.{key}",
                                      f"{value!r} must be a private IPv4 range (RFC 1918)"))
        return None
    return net


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    problems = name_problems(env, "virtual_network", r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}[A-Za-z0-9_]",
                             "2-64 letters, digits, '_', '.' and '-', starting with a letter or digit")
    c = env.section(SECTION, Config)
    space = _network(env, "address_space", c.address_space, problems)
    subnet = _network(env, "app_subnet_prefix", c.app_subnet_prefix, problems)
    key = f"{SECTION}.app_subnet_prefix"
    if space is not None and subnet is not None and not subnet.subnet_of(space):
        problems.append(ConfigProblem(env.where(key), key, f"{c.app_subnet_prefix} is outside "
                                      f"network.address_space {c.address_space}"))
    elif subnet is not None and subnet.prefixlen > 28:
        problems.append(ConfigProblem(env.where(key), key, f"{c.app_subnet_prefix} is too small: App Service VNet "
                                      "integration needs a /28 or larger subnet (/26 recommended)"))
    return problems
