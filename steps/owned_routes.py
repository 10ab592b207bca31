"""Owned collections that route traffic or ship data: record sets in our DNS zones (with a dangling-CNAME
check), the slot's host-name bindings, subnets of our VNet, diagnostic settings on the rest of what we own."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from provisioner.azure import call, raw, wait
from provisioner.core.model import ResourceRef
from provisioner.engine.children import Child, Children, Kind
from provisioner.engine.config import EnvironmentSpec
from steps._monitoring import resource_id
from steps.redis import kind_of

# learn.microsoft.com/azure/security/fundamentals/subdomain-takeover ("Prevent dangling DNS entries"): a
# CNAME to an Azure host name whose resource is gone lets anyone who creates a resource of that name serve the
# subdomain. Where Azure has a global name check for the type, the tool asks it: a name that is available is a
# name anyone can claim. Other Azure suffixes are named as not checked.
CHECKED_SUFFIXES: dict[str, str] = {
    ".azurewebsites.net": "web",
    ".blob.core.windows.net": "storage", ".file.core.windows.net": "storage", ".queue.core.windows.net": "storage",
    ".table.core.windows.net": "storage", ".dfs.core.windows.net": "storage", ".web.core.windows.net": "storage",
}
UNCHECKED_SUFFIXES = (".cloudapp.azure.com", ".cloudapp.net", ".trafficmanager.net", ".azurefd.net",
                      ".azureedge.net", ".azure-api.net", ".azurecontainer.io", ".azurestaticapps.net")
_TARGETS = {"A": ("ARecords", "ipv4Address"), "AAAA": ("AAAARecords", "ipv6Address"), "NS": ("NSRecords", "nsdname"),
            "MX": ("MXRecords", "exchange"), "PTR": ("PTRRecords", "ptrdname"), "SRV": ("SRVRecords", "target"),
            "CAA": ("caaRecords", "value"), "TXT": ("TXTRecords", "value")}


def _wire(item: Any) -> dict[str, Any]:
    if hasattr(item, "serialize"):
        return dict(item.serialize(keep_readonly=True))
    return dict(item.as_dict()) if hasattr(item, "as_dict") else dict(item)


def record_targets(record_type: str, props: dict[str, Any]) -> list[str]:
    """What a record set points at (names, addresses, values), as a person would read it."""
    if record_type == "CNAME":
        cname = (props.get("CNAMERecord") or {}).get("cname")
        return [cname] if cname else []
    if record_type == "SOA":
        return [str((props.get("SOARecord") or {}).get("host") or "")]
    key, leaf = _TARGETS.get(record_type, ("", ""))
    out = []
    for record in props.get(key) or []:
        value = record.get(leaf) if isinstance(record, dict) else record
        out.append(" ".join(value) if isinstance(value, list) else str(value))
    return out


def dangling(clients: Any, target: str) -> str | None:
    """Why a CNAME target is dangling (an Azure host name anyone could now claim), or None. A suffix the tool
    has no check for says so instead of guessing."""
    host = target.lower().rstrip(".")
    for suffix, kind in CHECKED_SUFFIXES.items():
        if host.endswith(suffix):
            label = host[: -len(suffix)].split(".")[-1]
            if kind == "web":
                answer = call(clients.web.check_name_availability, {"name": label, "type": "Microsoft.Web/sites"})
            else:
                answer = call(clients.storage.storage_accounts.check_name_availability,
                              {"name": label, "type": "Microsoft.Storage/storageAccounts"})
            free = _wire(answer).get("nameAvailable") if answer is not None else None
            return f"dangling: {host} does not exist (its name is free for anyone to claim)" if free else None
    if host.endswith(UNCHECKED_SUFFIXES):
        return f"points at an Azure host name ({host}) whose existence this tool does not check"
    return None


class DnsRecordSets(Children):
    """Every record set in the environment's zone. Declared: the dns_record, dns_delegation and e-mail record
    steps (by record type and relative name); the zone's own `@` NS and SOA are Azure's."""

    kind: ClassVar[Kind] = "report"
    why = ("a record set in our zone sends the name's traffic or mail wherever it points (an NS record hands the "
           "name to other name servers); a person removes or declares it")

    def __init__(self, env: EnvironmentSpec):
        self.zone = env.resource_name("dns_zone")
        group = env.resource_name("resource_group")
        parent = (f"/subscriptions/{env.subscription_id}/resourceGroups/{group}"
                  f"/providers/Microsoft.Network/dnsZones/{self.zone}")
        super().__init__("dns_zone/recordSets", "dns_zone", parent, "Microsoft.Network/dnsZones/recordsets")
        self.group = group

    def list(self, clients: Any) -> list[Child]:
        items = call(lambda: [_wire(r) for r in clients.dns.record_sets.list_all_by_dns_zone(self.group, self.zone)])
        out = []
        for body in items:
            rtype = str(body.get("type") or "").rsplit("/", 1)[-1].upper()
            props = dict(body.get("properties") or {})
            found = {**body, "recordType": rtype, "targets": record_targets(rtype, props)}
            if rtype == "CNAME" and found["targets"]:
                found["dangling"] = dangling(clients, found["targets"][0])
            out.append(Child(str(body.get("id") or ""), f"{rtype}/{body.get('name')}", found))
        return out

    def declared(self, step_refs: Iterable[tuple[str, ResourceRef]]) -> set[str]:
        prefix = self.parent_id.lower() + "/"
        out = set()
        for _, ref in step_refs:
            if ref.type.lower().startswith("microsoft.network/dnszones/") and ref.id.lower().startswith(prefix):
                out.add(f"{ref.type.rsplit('/', 1)[-1]}/{ref.name}".lower())
        return out

    def type_of(self, child: Child) -> str:
        return f"Microsoft.Network/dnsZones/{child.name.split('/', 1)[0]}"

    def platform(self, child: Child) -> str | None:
        # Azure creates the apex NS and SOA record sets with every zone (learn.microsoft.com/azure/dns/
        # dns-zones-records: "the SOA and NS record sets at the zone apex are created automatically").
        return "created with the zone" if child.name.upper() in ("NS/@", "SOA/@") else None

    def shown(self, child: Child) -> dict[str, Any]:
        body = child.body
        shown: dict[str, Any] = {"properties.recordType": body.get("recordType"), "properties.name": body.get("name"),
                                 "properties.targets": body.get("targets")}
        if body.get("dangling"):
            shown["properties.dangling"] = body["dangling"]
        return shown


class SlotHostNameBindings(Children):
    """Host names bound to the staging slot: none is declared (the slot's default `<site>-<slot>` host is
    Azure's), so a domain bound to the slot by hand is drift and is removed."""

    why = "a host-name binding routes another domain's traffic to the slot"

    def __init__(self, env: EnvironmentSpec, slot: str):
        self.group = env.resource_name("resource_group")
        self.site = env.resource_name("web_app")
        self.slot = slot
        super().__init__("deployment_slot/hostNameBindings", "deployment_slot",
                         f"{resource_id(env, 'web_app')}/slots/{slot}", "Microsoft.Web/sites/slots/hostNameBindings")

    def list(self, clients: Any) -> list[Child]:
        items = call(lambda: [_wire(b) for b in clients.web.web_apps.list_host_name_bindings_slot(
            self.group, self.site, self.slot)])
        return [Child(str(b.get("id") or ""), str(b.get("id") or "").rsplit("/", 1)[-1], b) for b in items]

    def delete(self, clients: Any, child: Child) -> None:
        call(clients.web.web_apps.delete_host_name_binding_slot, self.group, self.site, self.slot, child.name)

    def platform(self, child: Child) -> str | None:
        return "the slot's default host name" if child.name.lower().endswith(".azurewebsites.net") else None


class VnetSubnets(Children):
    """Subnets of our VNet: the subnet step declares the app's integration subnet; another one (a place to
    run something inside the network) is reported."""

    kind: ClassVar[Kind] = "report"
    why = "a subnet is a place to run something inside our network; a person removes or declares it"

    def __init__(self, env: EnvironmentSpec):
        self.group = env.resource_name("resource_group")
        self.vnet = env.resource_name("virtual_network")
        super().__init__("virtual_network/subnets", "virtual_network",
                         f"/subscriptions/{env.subscription_id}/resourceGroups/{self.group}"
                         f"/providers/Microsoft.Network/virtualNetworks/{self.vnet}",
                         "Microsoft.Network/virtualNetworks/subnets")

    def list(self, clients: Any) -> list[Child]:
        items = call(lambda: [_wire(s) for s in clients.network.subnets.list(self.group, self.vnet)])
        return [Child(str(s.get("id") or ""), str(s.get("name") or ""), s) for s in items]

    def shown(self, child: Child) -> dict[str, Any]:
        return {"properties.addressPrefix": (child.body.get("properties") or {}).get("addressPrefix")}



# A private endpoint connection lets a private endpoint in some VNet reach the resource past its firewall.
# Listed with each type's own API version (the versions the steps use).
PRIVATE_LINK_TYPES: dict[str, tuple[str, str]] = {  # step -> (ARM type, api-version)
    "key_vault": ("Microsoft.KeyVault/vaults", "2024-11-01"),
    "storage_account": ("Microsoft.Storage/storageAccounts", "2025-06-01"),
    "redis": ("Microsoft.Cache/redis", "2024-11-01"),
    "postgres_server": ("Microsoft.DBforPostgreSQL/flexibleServers", "2024-08-01"),
    "web_app": ("Microsoft.Web/sites", "2024-11-01"),
}


class PrivateEndpointConnections(Children):
    """Private endpoint connections on a resource we own: one from a private endpoint in this environment's
    own resource group is ours (e.g. PostgreSQL's, where the platform has one); any other is drift and is
    removed (the connection, not the other side's endpoint)."""

    why = "a private endpoint connection lets another network reach the resource past its firewall"

    def __init__(self, env: EnvironmentSpec, owner: str):
        arm_type, self.api = PRIVATE_LINK_TYPES[owner]
        if owner == "redis" and kind_of(env) == "managed":
            arm_type, self.api = "Microsoft.Cache/redisEnterprise", "2025-07-01"  # azure-mgmt-redisenterprise's
        self.group_id = f"/subscriptions/{env.subscription_id}/resourceGroups/{env.resource_name('resource_group')}"
        super().__init__(f"{owner}/privateEndpointConnections", owner, resource_id(env, owner),
                         f"{arm_type}/privateEndpointConnections")

    def list(self, clients: Any) -> list[Child]:
        body = raw(clients.resource.resources.get_by_id, f"{self.parent_id}/privateEndpointConnections",
                   api_version=self.api) or {}
        return [Child(str(b.get("id") or ""), str(b.get("id") or "").rsplit("/", 1)[-1], b)
                for b in body.get("value") or []]

    def delete(self, clients: Any, child: Child) -> None:
        wait(call(clients.resource.resources.begin_delete_by_id, child.id, api_version=self.api))

    def platform(self, child: Child) -> str | None:
        endpoint = str(((child.body.get("properties") or {}).get("privateEndpoint") or {}).get("id") or "")
        return "a private endpoint of this environment" if endpoint.lower().startswith(self.group_id.lower() + "/") else None

    def shown(self, child: Child) -> dict[str, Any]:
        props = child.body.get("properties") or {}
        return {"properties.privateEndpoint.id": (props.get("privateEndpoint") or {}).get("id"),
                "properties.privateLinkServiceConnectionState.status":
                    (props.get("privateLinkServiceConnectionState") or {}).get("status")}
