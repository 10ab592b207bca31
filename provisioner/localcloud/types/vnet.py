"""Microsoft.Network virtual networks and subnets (delegation, service endpoints) for regional VNet integration."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from ..errors import ArmError
from ..profile import EngineApi, TypeProfile, WriteCtx, defaults, det_guid
from . import netwatch

VNET = "Microsoft.Network/virtualNetworks"
SUBNET = "Microsoft.Network/virtualNetworks/subnets"


def _etag() -> str:
    return f'W/"{uuid.uuid4()}"'


def _networks(values: Any) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for value in values or []:
        try:
            out.append(ipaddress.ip_network(str(value), strict=True))
        except ValueError:
            raise ArmError(400, "InvalidAddressPrefixFormat", f"Address prefix {value} has an invalid format.") from None
    return out


def subnet_in_use(engine: EngineApi, subnet_id: str) -> bool:
    """A site (or slot) joined to the subnet holds it (App Service adds a serviceAssociationLink)."""
    for type_name in ("Microsoft.Web/sites", "Microsoft.Web/sites/slots"):
        for site in engine.find(type_name):
            if str((site.get("properties") or {}).get("virtualNetworkSubnetId") or "").lower() == subnet_id.lower():
                return True
    return False


def _vnet_before_write(ctx: WriteCtx) -> None:
    if not (ctx.sent_props.get("addressSpace") or {}).get("addressPrefixes"):
        raise ArmError(400, "InvalidRequestFormat", "addressSpace.addressPrefixes is required.")
    _networks(ctx.sent_props["addressSpace"]["addressPrefixes"])
    if ctx.existing is None or ctx.method != "PUT":
        return
    # A PUT replaces the subnet list: a subnet left out is deleted, and one in use cannot be (the reason the
    # virtual_network step re-sends the current subnets; hashicorp/terraform-provider-azurerm: inline subnets).
    keep = {str(s.get("name") or "").lower() for s in ctx.sent_props.get("subnets") or []}
    for subnet in ctx.engine.find(SUBNET, ctx.id):
        if subnet["name"].lower() in keep:
            continue
        if subnet_in_use(ctx.engine, subnet["id"]):
            raise ArmError(400, "InUseSubnetCannotBeDeleted", f"Subnet {subnet['name']} is in use by "
                           f"{ctx.id}/subnets/{subnet['name']}/serviceAssociationLinks/AppServiceLink and cannot "
                           "be deleted. In order to delete the subnet, delete all the resources within the subnet.")
        ctx.extra.setdefault("drop", []).append(subnet["id"])


def _vnet_populate(ctx: WriteCtx) -> None:
    ctx.body["etag"] = _etag()
    defaults(ctx.props, {"enableDdosProtection": False, "virtualNetworkPeerings": [], "privateEndpointVNetPolicies": "Disabled"})
    ctx.props["resourceGuid"] = ((ctx.existing or {}).get("properties") or {}).get("resourceGuid") or det_guid(ctx.id, ctx.now)
    ctx.props["subnets"] = [s for s in ctx.engine.find(SUBNET, ctx.id) if s["id"] not in ctx.extra.get("drop", [])]


def _vnet_after_write(ctx: WriteCtx) -> None:
    for subnet_id in ctx.extra.get("drop", []):
        ctx.engine.remove(subnet_id)
    netwatch.ensure(ctx.engine, ctx.id, str(ctx.body.get("location") or ""), ctx.now)


def _refresh_vnet(engine: EngineApi, subnet_id: str) -> None:
    vnet_id = subnet_id.rsplit("/subnets/", 1)[0]
    vnet = engine.get(vnet_id)
    if vnet is not None:
        vnet.setdefault("properties", {})["subnets"] = engine.find(SUBNET, vnet_id)
        engine.put_raw(vnet_id, vnet)


def _subnet_before_write(ctx: WriteCtx) -> None:
    props = ctx.sent_props if ctx.method == "PUT" else {**((ctx.existing or {}).get("properties") or {}), **ctx.sent_props}
    prefixes = _networks([props["addressPrefix"]] if props.get("addressPrefix") else props.get("addressPrefixes"))
    if not prefixes:
        raise ArmError(400, "InvalidRequestFormat", "addressPrefix is required.")
    vnet = ctx.engine.get(ctx.id.rsplit("/subnets/", 1)[0]) or {}
    space = _networks(((vnet.get("properties") or {}).get("addressSpace") or {}).get("addressPrefixes"))
    for net in prefixes:
        if not any(net.version == s.version and net.subnet_of(s) for s in space):  # type: ignore[arg-type]
            raise ArmError(400, "NetcfgSubnetRangeOutsideVnet", f"Subnet '{ctx.path.name}' is not valid because "
                           f"its IP address range is outside the IP address range of virtual network '{vnet.get('name')}'.")
        for other in ctx.engine.find(SUBNET, vnet.get("id", "")):
            if other["id"].lower() == ctx.id.lower():
                continue
            for theirs in _networks([(other.get("properties") or {}).get("addressPrefix")] if (other.get("properties") or {}).get("addressPrefix") else []):
                if net.overlaps(theirs):
                    raise ArmError(400, "NetcfgSubnetRangesOverlap", f"Subnet '{ctx.path.name}' is not valid because "
                                   f"its IP address range overlaps with that of an existing subnet '{other['name']}'.")
    if ctx.existing is not None and subnet_in_use(ctx.engine, ctx.id):
        delegated = [d for d in props.get("delegations") or [] if
                     str((d.get("properties") or {}).get("serviceName") or "").lower() == "microsoft.web/serverfarms"]
        if not delegated:
            raise ArmError(400, "SubnetMissingRequiredDelegation", f"Subnet {ctx.id} requires any of the following "
                           "delegation(s) [Microsoft.Web/serverFarms] to reference service association link.")


def _subnet_populate(ctx: WriteCtx) -> None:
    ctx.body["etag"] = _etag()
    props = ctx.props
    for endpoint in props.get("serviceEndpoints") or []:
        # A Key Vault service endpoint is global ('*'); others default to the region and its pair.
        endpoint.setdefault("locations", ["*"])
        endpoint["provisioningState"] = "Succeeded"
    for delegation in props.get("delegations") or []:
        name = delegation.get("name") or "delegation"
        delegation.update(id=f"{ctx.id}/delegations/{name}", etag=ctx.body["etag"],
                          type=f"{SUBNET}/delegations")
        dprops = delegation.setdefault("properties", {})
        dprops["provisioningState"] = "Succeeded"
        if str(dprops.get("serviceName") or "").lower() == "microsoft.web/serverfarms":
            dprops.setdefault("actions", ["Microsoft.Network/virtualNetworks/subnets/action"])
    defaults(props, {"privateEndpointNetworkPolicies": "Disabled", "privateLinkServiceNetworkPolicies": "Enabled",
                     "serviceEndpoints": [], "delegations": []})


def _subnet_before_delete(engine: EngineApi, body: dict[str, Any]) -> None:
    if subnet_in_use(engine, body["id"]):
        raise ArmError(400, "InUseSubnetCannotBeDeleted", f"Subnet {body['name']} is in use and cannot be deleted.")


def check_integration_subnet(engine: EngineApi, subnet_id: str) -> None:
    """Regional VNet integration needs an existing subnet delegated to Microsoft.Web/serverFarms
    (learn.microsoft.com/azure/app-service/overview-vnet-integration, "Subnet requirements")."""
    subnet = engine.get(subnet_id)
    if subnet is None:
        raise ArmError(404, "NotFound", f"Subnet '{subnet_id}' was not found.")
    delegations = (subnet.get("properties") or {}).get("delegations") or []
    if not any(str((d.get("properties") or {}).get("serviceName") or "").lower() == "microsoft.web/serverfarms"
               for d in delegations):
        raise ArmError(400, "SubnetMissingRequiredDelegation", f"Subnet {subnet_id} requires any of the following "
                       "delegation(s) [Microsoft.Web/serverFarms] to reference service association link.")


def has_service_endpoint(engine: EngineApi, subnet_id: str, service: str) -> bool:
    subnet = engine.get(subnet_id) or {}
    return any(str(e.get("service") or "").lower() == service.lower()
               for e in (subnet.get("properties") or {}).get("serviceEndpoints") or [])


PROFILES = [
    TypeProfile(type=VNET, lro=True, created=201, updated=200, latency=10.0, creating_state="Updating",
                delete_lro=True, before_write=_vnet_before_write, populate=_vnet_populate,
                after_write=_vnet_after_write),
    TypeProfile(type=SUBNET, lro=True, created=201, updated=200, latency=5.0, has_location=False,
                creating_state="Updating", delete_lro=True, before_write=_subnet_before_write,
                methods=frozenset({"GET", "PUT", "DELETE", "HEAD"}),
                populate=_subnet_populate, after_write=lambda ctx: _refresh_vnet(ctx.engine, ctx.id),
                before_delete=_subnet_before_delete,
                on_removed=lambda engine, body, now: _refresh_vnet(engine, body["id"])),
]
