"""Microsoft.Network private endpoints (with their DNS zone groups) and private DNS zones (links, record sets).

Shapes follow Microsoft's examples in Azure/azure-rest-api-specs: network stable/2024-05-01 PrivateEndpointCreate.json
and PrivateEndpointDnsZoneGroupCreate.json; privatedns stable/2024-06-01 PrivateZonePut.json,
VirtualNetworkLinkPut.json and RecordSetAGet.json.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from .. import pg_arm
from ..errors import ArmError
from ..profile import EngineApi, TypeProfile, WriteCtx, defaults, det_guid
from . import postgres_access

ENDPOINT = "Microsoft.Network/privateEndpoints"
ZONE = "Microsoft.Network/privateDnsZones"
RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "PTR", "SOA", "SRV", "TXT")
# Target sub-resources (groupIds) a private endpoint can connect to, and the host name Azure registers for it
# (learn.microsoft.com/azure/private-link/private-endpoint-dns, "Azure services DNS zone configuration").
GROUPS: dict[str, dict[str, str]] = {
    "microsoft.dbforpostgresql/flexibleservers": {"postgresqlserver": "postgres.database.azure.com"},
    "microsoft.keyvault/vaults": {"vault": "vault.azure.net"},
    "microsoft.cache/redis": {"rediscache": "redis.cache.windows.net"},
    "microsoft.web/sites": {"sites": "azurewebsites.net"},
    "microsoft.storage/storageaccounts": {g: f"{g}.core.windows.net" for g in ("blob", "file", "queue", "table", "web", "dfs")},
}


def _etag() -> str:
    return f'W/"{uuid.uuid4()}"'


def _type_of(resource_id: str) -> str:
    low = resource_id.lower()
    at = low.rfind("/providers/")
    parts = low[at + len("/providers/"):].split("/") if at >= 0 else []
    return "/".join([parts[0], *parts[1::2]]) if parts else ""


def _connections(props: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in props.get("privateLinkServiceConnections") or [] if isinstance(c, dict)]


def _endpoint_before_write(ctx: WriteCtx) -> None:
    props = ctx.sent_props
    subnet_id = str((props.get("subnet") or {}).get("id") or "")
    subnet = ctx.engine.get(subnet_id) if subnet_id else None
    if subnet is None:
        raise ArmError(400, "InvalidResourceReference", f"Resource {subnet_id or '(no subnet)'} referenced by resource "
                       f"{ctx.id} was not found.")
    # A subnet delegated to a service cannot hold private endpoints (learn.microsoft.com/azure/virtual-network/
    # subnet-delegation-overview: delegation lets that service deploy its own resources into the subnet).
    if (subnet.get("properties") or {}).get("delegations"):
        raise ArmError(400, "PrivateEndpointCreationNotAllowedAsSubnetIsDelegated", f"Private endpoint {ctx.id} cannot "
                       f"be created in subnet {subnet_id} because the subnet is delegated.")
    connections = _connections(props)
    if not connections and not props.get("manualPrivateLinkServiceConnections"):
        raise ArmError(400, "InvalidRequestFormat", "A private endpoint needs at least one private link service "
                       "connection.")
    for c in connections:
        target_id = str((c.get("properties") or {}).get("privateLinkServiceId") or "")
        if ctx.engine.get(target_id) is None:
            raise ArmError(400, "PrivateLinkServiceIdNotFound", f"Resource {target_id} referenced by private endpoint "
                           f"{ctx.id} was not found.")
        groups = GROUPS.get(_type_of(target_id), {})
        for group in (c.get("properties") or {}).get("groupIds") or []:
            if str(group).lower() not in groups:
                raise ArmError(400, "PrivateEndpointBadRequest", f"Call to {_type_of(target_id)} failed: the group id "
                               f"'{group}' is not valid; valid group ids: {', '.join(sorted(groups)) or 'none'}.")


def _free_address(engine: EngineApi, subnet_id: str, own_id: str) -> str:
    """The first address Azure can hand out: the first four of a subnet and its last are reserved
    (learn.microsoft.com/azure/virtual-network/virtual-networks-faq, "reserved IP addresses")."""
    subnet = engine.get(subnet_id) or {}
    prefix = (subnet.get("properties") or {}).get("addressPrefix") or "10.0.0.0/24"
    taken: set[str] = set()
    for pe in engine.find(ENDPOINT):
        if pe["id"].lower() == own_id.lower():
            continue
        for cfg in (pe.get("properties") or {}).get("customDnsConfigs") or []:
            taken.update(cfg.get("ipAddresses") or [])
    hosts = list(ipaddress.ip_network(prefix, strict=False).hosts())
    for address in hosts[3:-1]:
        if str(address) not in taken:
            return str(address)
    raise ArmError(400, "SubnetIsFull", f"Subnet {subnet_id} has no free address.")


def _endpoint_populate(ctx: WriteCtx) -> None:
    props = ctx.props
    ctx.body["etag"] = _etag()
    old = (ctx.existing or {}).get("properties") or {}
    subnet_id = str((props.get("subnet") or {}).get("id") or "")
    address = next((ip for cfg in old.get("customDnsConfigs") or [] for ip in cfg.get("ipAddresses") or []), None)
    address = address or _free_address(ctx.engine, subnet_id, ctx.id)
    dns = []
    for c in _connections(props):
        c.setdefault("name", f"{ctx.path.name}-connection")
        c["id"] = f"{ctx.id}/privateLinkServiceConnections/{c['name']}"
        c["type"] = f"{ENDPOINT}/privateLinkServiceConnections"
        cprops = c.setdefault("properties", {})
        cprops.update(provisioningState="Succeeded", privateLinkServiceConnectionState={
            "status": "Approved", "description": "Auto-approved", "actionsRequired": "None"})
        target = str(cprops.get("privateLinkServiceId") or "")
        for group in cprops.get("groupIds") or []:
            suffix = GROUPS.get(_type_of(target), {}).get(str(group).lower())
            if suffix:
                dns.append({"fqdn": f"{target.rstrip('/').rsplit('/', 1)[-1]}.{suffix}", "ipAddresses": [address]})
    nic = (old.get("networkInterfaces") or [{}])[0].get("id") or (
        f"/subscriptions/{ctx.path.subscription}/resourceGroups/{ctx.path.resource_group}/providers/Microsoft.Network/"
        f"networkInterfaces/{ctx.path.name}.nic.{det_guid(ctx.id, 'nic')}")
    defaults(props, {"manualPrivateLinkServiceConnections": [], "ipConfigurations": [], "applicationSecurityGroups": [],
                     "customNetworkInterfaceName": ""})
    props.update(networkInterfaces=[{"id": nic}], customDnsConfigs=dns)


def _endpoint_after_write(ctx: WriteCtx) -> None:
    for c in _connections(ctx.props):
        cprops = c.get("properties") or {}
        target = str(cprops.get("privateLinkServiceId") or "")
        if _type_of(target) == "microsoft.dbforpostgresql/flexibleservers":
            postgres_access.remove_connections(ctx.engine, target, ctx.id)
            postgres_access.add_connection(ctx.engine, target, ctx.id, f"{ctx.path.name}.{det_guid(ctx.id, target)}",
                                           list(cprops.get("groupIds") or []), ctx.now)
            pg_arm.refresh_firewall(ctx.engine, target)  # clients in the endpoint's network now reach the server
    _subnet_endpoints(ctx.engine, str((ctx.props.get("subnet") or {}).get("id") or ""))


def _endpoint_removed(engine: EngineApi, body: dict[str, Any], now: str) -> None:
    props = body.get("properties") or {}
    for c in _connections(props):
        target = str((c.get("properties") or {}).get("privateLinkServiceId") or "")
        if _type_of(target) == "microsoft.dbforpostgresql/flexibleservers":
            postgres_access.remove_connections(engine, target, body["id"])
            pg_arm.refresh_firewall(engine, target)
    _subnet_endpoints(engine, str((props.get("subnet") or {}).get("id") or ""))


def _subnet_endpoints(engine: EngineApi, subnet_id: str) -> None:
    """A subnet's GET lists the private endpoints in it (Subnet.privateEndpoints, read-only)."""
    subnet = engine.get(subnet_id) if subnet_id else None
    if subnet is None:
        return
    mine = [{"id": pe["id"]} for pe in engine.find(ENDPOINT)
            if str(((pe.get("properties") or {}).get("subnet") or {}).get("id") or "").lower() == subnet_id.lower()]
    props = subnet.setdefault("properties", {})
    if mine:
        props["privateEndpoints"] = mine
    else:
        props.pop("privateEndpoints", None)
    engine.put_raw(subnet_id, subnet)


# ----------------------------------------------------------------------------- DNS zone groups


def _zone_group_populate(ctx: WriteCtx) -> None:
    endpoint = ctx.engine.get(ctx.path.parent_id) or {}
    dns = (endpoint.get("properties") or {}).get("customDnsConfigs") or []
    for cfg in ctx.props.get("privateDnsZoneConfigs") or []:
        cprops = cfg.setdefault("properties", {})
        zone_id = str(cprops.get("privateDnsZoneId") or "")
        if ctx.engine.get(zone_id) is None:
            raise ArmError(400, "InvalidResourceReference", f"Private DNS zone {zone_id} referenced by {ctx.id} was "
                           "not found.")
        zone = zone_id.rstrip("/").rsplit("/", 1)[-1].lower()
        cfg.setdefault("name", zone.replace(".", "-"))
        service = zone.removeprefix("privatelink.")
        cprops["recordSets"] = [
            {"recordType": "A", "recordSetName": d["fqdn"][:-len(service) - 1], "fqdn": f"{d['fqdn'][:-len(service) - 1]}.{zone}",
             "ttl": 10, "ipAddresses": list(d.get("ipAddresses") or []), "provisioningState": "Succeeded"}
            for d in dns if str(d.get("fqdn") or "").lower().endswith("." + service)]


def _zone_group_after_write(ctx: WriteCtx) -> None:
    """Azure writes each record set into the zone (recordSets above; private-endpoint-dns.md: "the DNS zone group
    ... creates the A records")."""
    for cfg in ctx.props.get("privateDnsZoneConfigs") or []:
        cprops = cfg.get("properties") or {}
        zone_id = str(cprops.get("privateDnsZoneId") or "")
        for rs in cprops.get("recordSets") or []:
            rid = f"{zone_id}/A/{rs['recordSetName']}"
            ctx.engine.put_raw(rid, _record(rid, zone_id, "A", {"ttl": rs["ttl"], "aRecords": [
                {"ipv4Address": ip} for ip in rs["ipAddresses"]]}))
        _zone_counts(ctx.engine, zone_id)


def _zone_group_removed(engine: EngineApi, body: dict[str, Any], now: str) -> None:
    for cfg in (body.get("properties") or {}).get("privateDnsZoneConfigs") or []:
        cprops = cfg.get("properties") or {}
        zone_id = str(cprops.get("privateDnsZoneId") or "")
        for rs in cprops.get("recordSets") or []:
            engine.remove(f"{zone_id}/A/{rs['recordSetName']}")
        _zone_counts(engine, zone_id)


# ----------------------------------------------------------------------------- private DNS zones


def _record(rid: str, zone_id: str, kind: str, props: dict[str, Any]) -> dict[str, Any]:
    name = rid.rsplit("/", 1)[-1]
    zone = zone_id.rsplit("/", 1)[-1]
    return {"id": rid, "name": name, "type": f"{ZONE}/{kind}", "etag": str(uuid.uuid4()),
            "properties": {"metadata": None, "ttl": 3600, **props,
                           "fqdn": f"{zone}." if name == "@" else f"{name}.{zone}.", "isAutoRegistered": False}}


def _zone_counts(engine: EngineApi, zone_id: str) -> None:
    zone = engine.get(zone_id)
    if zone is None:
        return
    props = zone.setdefault("properties", {})
    props["numberOfRecordSets"] = sum(len(engine.find(f"{ZONE}/{t}", zone_id)) for t in RECORD_TYPES)
    links = engine.find(f"{ZONE}/virtualNetworkLinks", zone_id)
    props["numberOfVirtualNetworkLinks"] = len(links)
    props["numberOfVirtualNetworkLinksWithRegistration"] = sum(
        bool((link.get("properties") or {}).get("registrationEnabled")) for link in links)
    engine.put_raw(zone_id, zone)


def _zone_populate(ctx: WriteCtx) -> None:
    ctx.body["location"] = "global"  # PrivateZonePut.json: 'Global' comes back 'global'
    ctx.body["etag"] = str(uuid.uuid4())
    defaults(ctx.props, {"maxNumberOfRecordSets": 25000, "maxNumberOfVirtualNetworkLinks": 1000,
                         "maxNumberOfVirtualNetworkLinksWithRegistration": 100})
    old = (ctx.existing or {}).get("properties") or {}
    for key in ("numberOfRecordSets", "numberOfVirtualNetworkLinks", "numberOfVirtualNetworkLinksWithRegistration"):
        ctx.props[key] = old.get(key, 1 if key == "numberOfRecordSets" else 0)


def _zone_after_write(ctx: WriteCtx) -> None:
    if ctx.created:  # every zone starts with its SOA record set (numberOfRecordSets 1 in PrivateZonePut.json)
        rid = f"{ctx.id}/SOA/@"
        ctx.engine.put_raw(rid, _record(rid, ctx.id, "SOA", {"soaRecord": {
            "host": "azureprivatedns.net", "email": "azureprivatedns-host.microsoft.com", "serialNumber": 1,
            "refreshTime": 3600, "retryTime": 300, "expireTime": 2419200, "minimumTtl": 10}}))
    _zone_counts(ctx.engine, ctx.id)


def _zone_before_delete(engine: EngineApi, body: dict[str, Any]) -> None:
    """A zone with virtual network links cannot be deleted (learn.microsoft.com/azure/dns/private-dns-
    privatednszone: "you must delete all virtual network links before you can delete the zone")."""
    if engine.find(f"{ZONE}/virtualNetworkLinks", body["id"]):
        raise ArmError(409, "CannotDeleteResource", f"The private DNS zone {body['name']} has virtual network links; "
                       "delete them first.")


def _link_before_write(ctx: WriteCtx) -> None:
    vnet_id = str((ctx.sent_props.get("virtualNetwork") or ctx.props.get("virtualNetwork") or {}).get("id") or "")
    if ctx.engine.get(vnet_id) is None:
        raise ArmError(400, "InvalidResourceReference", f"Virtual network {vnet_id or '(none)'} referenced by "
                       f"{ctx.id} was not found.")


def _link_populate(ctx: WriteCtx) -> None:
    ctx.body["location"] = "global"
    ctx.body["etag"] = str(uuid.uuid4())
    defaults(ctx.props, {"registrationEnabled": False})
    ctx.props["virtualNetworkLinkState"] = "Completed"


def _record_populate(ctx: WriteCtx) -> None:
    ctx.body["etag"] = str(uuid.uuid4())
    zone = ctx.path.parent_id.rsplit("/", 1)[-1]
    name = ctx.path.name
    defaults(ctx.props, {"ttl": 3600, "metadata": None})
    ctx.props.update(fqdn=f"{zone}." if name == "@" else f"{name}.{zone}.", isAutoRegistered=False)


def _child_counts(ctx: WriteCtx) -> None:
    _zone_counts(ctx.engine, ctx.path.parent_id)


PROFILES = [
    TypeProfile(type=ENDPOINT, lro=True, created=201, updated=200, latency=45.0, delete_lro=True,
                before_write=_endpoint_before_write, populate=_endpoint_populate, after_write=_endpoint_after_write,
                on_removed=_endpoint_removed),
    TypeProfile(type=f"{ENDPOINT}/privateDnsZoneGroups", lro=True, created=201, updated=200, latency=15.0,
                has_location=False, delete_lro=True, populate=_zone_group_populate, after_write=_zone_group_after_write,
                on_removed=_zone_group_removed),
    TypeProfile(type=ZONE, lro=True, created=201, updated=200, latency=30.0, delete_lro=True, populate=_zone_populate,
                after_write=_zone_after_write, before_delete=_zone_before_delete),
    TypeProfile(type=f"{ZONE}/virtualNetworkLinks", lro=True, created=201, updated=200, latency=30.0, delete_lro=True,
                before_write=_link_before_write, populate=_link_populate, after_write=_child_counts,
                on_removed=lambda engine, body, now: _zone_counts(engine, body["id"].rsplit("/virtualNetworkLinks/", 1)[0])),
    *[TypeProfile(type=f"{ZONE}/{t}", created=201, updated=200, latency=2.0, has_location=False, provisioning_state=False,
                  populate=_record_populate, after_write=_child_counts,
                  on_removed=lambda engine, body, now: _zone_counts(engine, body["id"].rsplit("/", 2)[0]))
      for t in RECORD_TYPES],
]
