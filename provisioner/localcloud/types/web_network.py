"""App Service details the newer APIs show: outbound routing over the VNet, the regional integration as a VNet
connection, the identity id config/web carries, and which config resources a listing returns."""

from __future__ import annotations

import zlib
from typing import Any

from ..ids import ArmPath
from ..profile import EngineApi, TypeProfile

# API 2024-11-01 grouped the VNet routing flags under outboundVnetRouting; each new key is the old flag renamed
# (azure-mgmt-web models.OutboundVnetRouting: applicationTraffic "Previously called VnetRouteAllEnabled",
# imagePullTraffic "Previously called VnetImagePullEnabled", contentShareTraffic, backupRestoreTraffic; arm-examples
# GetWebApp 2025-03-01 returns both forms). allTraffic "enables all other routing options".
RENAMED = {"applicationTraffic": "vnetRouteAllEnabled", "imagePullTraffic": "vnetImagePullEnabled",
           "contentShareTraffic": "vnetContentShareEnabled", "backupRestoreTraffic": "vnetBackupRestoreEnabled"}


def routing(props: dict[str, Any], old: dict[str, Any], sent: dict[str, Any]) -> None:
    """Keep outboundVnetRouting and the legacy flags one state: a write of either form sets both."""
    out = dict(old.get("outboundVnetRouting") or {})
    for new, legacy in RENAMED.items():
        if legacy in sent and sent[legacy] is not None:
            out[new] = bool(sent[legacy])
    given = sent.get("outboundVnetRouting")
    if isinstance(given, dict):
        out.update({k: bool(v) for k, v in given.items() if v is not None})
    for new, legacy in RENAMED.items():
        out.setdefault(new, bool(props.get(legacy) or old.get(legacy) or False))
        props[legacy] = out[new]
    out.setdefault("allTraffic", False)
    props["outboundVnetRouting"] = out


def identity_ids(site: dict[str, Any]) -> dict[str, Any]:
    """config/web's managedServiceIdentityId (system-assigned) and xManagedServiceIdentityId (user-assigned):
    App Service fills them in when the site has such an identity. Microsoft's built-in "App Service apps should
    use managed identity" tests exactly these on config/web; a portal export of a site with a system-assigned
    identity shows `"managedServiceIdentityId": 15193`. Numbers here are derived from the principal."""
    ident = site.get("identity") or {}
    kind = str(ident.get("type") or "None").lower()
    system = ident.get("principalId") if "systemassigned" in kind else None
    users = sorted((ident.get("userAssignedIdentities") or {}).keys()) if "userassigned" in kind else []
    return {"managedServiceIdentityId": zlib.crc32(str(system).encode()) % 100000 if system else None,
            "xManagedServiceIdentityId": zlib.crc32(users[0].lower().encode()) % 100000 if users else None}


def web_config_only(engine: EngineApi, path: ArmPath) -> list[dict[str, Any]]:
    """GET sites/{name}/config lists the `web` configuration only (WebApps_ListConfigurations returns a
    SiteConfigResourceCollection; appsettings and the rest have their own list actions)."""
    body = engine.get(f"{path.parent_id}/config/web")
    return [body] if body is not None else []


def _connections(engine: EngineApi, path: ArmPath) -> list[dict[str, Any]]:
    """The regional VNet integration, listed among the site's VNet connections with isSwift true (the azure
    Ansible collection's azure_rm_webappvnetconnection finds it this way: list_vnet_connections, is_swift)."""
    site = engine.get(path.parent_id) or {}
    subnet = str((site.get("properties") or {}).get("virtualNetworkSubnetId") or "")
    if not subnet:
        return []
    vnet = engine.get(subnet.rsplit("/subnets/", 1)[0]) or {}
    guid = (vnet.get("properties") or {}).get("resourceGuid") or "00000000-0000-0000-0000-000000000000"
    name = f"{guid}_{subnet.rsplit('/', 1)[-1]}"
    return [{"id": f"{path.parent_id}/virtualNetworkConnections/{name}", "name": name,
             "type": path.full_type, "location": site.get("location"),
             "properties": {"vnetResourceId": subnet, "certThumbprint": None, "certBlob": None, "routes": None,
                            "resyncRequired": False, "dnsServers": None, "isSwift": True}}]


def _connection(engine: EngineApi, path: ArmPath) -> dict[str, Any] | None:
    return next((c for c in _connections(engine, path) if c["name"].lower() == path.name.lower()), None)


# The list is a bare JSON array: azure-mgmt-web WebAppsOperations.list_vnet_connections deserializes
# List[VnetInfoResource] from the body (REST spec WebApps_ListVnetConnections: an array response).
PROFILES = [
    TypeProfile(type=f"Microsoft.Web/{kind}/virtualNetworkConnections", methods=frozenset({"GET", "HEAD"}),
                provisioning_state=False, stored=False, list_fn=_connections, default_body=_connection,
                bare_list=True)
    for kind in ("sites", "sites/slots")
]
