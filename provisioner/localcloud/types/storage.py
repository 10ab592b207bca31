"""Microsoft.Storage: accounts (LRO create), blob service + containers, lifecycle management policy."""

from __future__ import annotations

from ..errors import ArmError
from ..profile import Action, ActionCtx, ActionReply, TypeProfile, WriteCtx, defaults, det_hex
from .vnet import has_service_endpoint


def _check_vnet_rules(ctx: WriteCtx) -> None:
    """A virtual network rule needs the subnet's Microsoft.Storage service endpoint first
    (learn.microsoft.com/azure/storage/common/storage-network-security, "Grant access from a virtual network":
    "enable a service endpoint for Azure Storage within the virtual network"); Azure answers
    NetworkAclsValidationFailure (SubnetsHaveNoServiceEndpointsConfigured) otherwise."""
    acls = ctx.sent_props.get("networkAcls") or {}
    for rule in acls.get("virtualNetworkRules") or []:
        subnet = str(rule.get("id") or "")
        if not has_service_endpoint(ctx.engine, subnet, "Microsoft.Storage"):
            raise ArmError(400, "NetworkAclsValidationFailure", "Validation of network acls failure: "
                           f"SubnetsHaveNoServiceEndpointsConfigured:{subnet}.")


def _endpoints(name: str) -> dict[str, str]:
    return {svc: f"https://{name}.{svc}.core.windows.net/" for svc in ("dfs", "web", "blob", "queue", "table", "file")}


def _account_populate(ctx: WriteCtx) -> None:
    body, props, name = ctx.body, ctx.props, ctx.path.name
    body["kind"] = body.get("kind") or "StorageV2"
    sku = dict(body.get("sku") or {"name": "Standard_LRS"})
    sku["tier"] = "Premium" if str(sku.get("name", "")).startswith("Premium") else "Standard"
    body["sku"] = sku
    old = (ctx.existing or {}).get("properties") or {}
    created = old.get("creationTime", ctx.now)
    enc_time = ((old.get("encryption") or {}).get("services") or {}).get("blob", {}).get("lastEnabledTime", ctx.now)
    defaults(props, {
        "dnsEndpointType": "Standard", "defaultToOAuthAuthentication": False, "publicNetworkAccess": "Enabled",
        "allowCrossTenantReplication": False, "minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False,
        "allowSharedKeyAccess": True, "supportsHttpsTrafficOnly": True, "isHnsEnabled": False,
        "networkAcls": {"ipv6Rules": [], "bypass": "AzureServices", "virtualNetworkRules": [], "ipRules": [],
                        "defaultAction": "Allow"},
        "encryption": {"requireInfrastructureEncryption": False,
                       "services": {"file": {"keyType": "Account", "enabled": True, "lastEnabledTime": enc_time},
                                    "blob": {"keyType": "Account", "enabled": True, "lastEnabledTime": enc_time}},
                       "keySource": "Microsoft.Storage"},
    })
    if body["kind"] in ("StorageV2", "BlobStorage"):
        defaults(props, {"accessTier": "Hot"})
    for rule in (props.get("networkAcls") or {}).get("virtualNetworkRules") or []:
        rule.setdefault("action", "Allow")
        rule["state"] = "Succeeded"  # VirtualNetworkRule.state: read-only, Succeeded once the rule applies
    if props.get("isSftpEnabled") is True and not props.get("isHnsEnabled"):
        # SFTP needs a hierarchical namespace (learn.microsoft.com/azure/storage/blobs/secure-file-transfer-
        # protocol-support: "SFTP support requires hierarchical namespace to be enabled"); Azure refuses the flag
        # otherwise with this message (MicrosoftDocs/azure-docs#84233).
        raise ArmError(400, "InvalidRequestPropertyValue", "The value 'True' is not allowed for property "
                       "isSftpEnabled. For more information, see - https://aka.ms/storageaccountsftp")
    location = body.get("location")
    geo = any(x in str(sku.get("name", "")) for x in ("GRS", "GZRS"))
    props.update(
        keyCreationTime=old.get("keyCreationTime") or {"key1": created, "key2": created},
        privateEndpointConnections=[], creationTime=created, primaryEndpoints=_endpoints(name),
        primaryLocation=location, statusOfPrimary="available",
    )
    if geo:
        props.update(secondaryLocation=_pair(str(location)), statusOfSecondary="available")
        if "RA" in str(sku.get("name")):
            props["secondaryEndpoints"] = _endpoints(f"{name}-secondary")
    ctx.extra["blob_service"] = ctx.created


def _pair(location: str) -> str:
    pairs = {"eastus": "westus", "eastus2": "centralus", "westus": "eastus", "westeurope": "northeurope",
             "northeurope": "westeurope", "centralus": "eastus2", "westus2": "westcentralus"}
    return pairs.get(location, "westus")


def _account_after_write(ctx: WriteCtx) -> None:
    # The blob service 'default' exists as soon as the account does (containers hang below it).
    if ctx.extra.get("blob_service"):
        sid = f"{ctx.id}/blobServices/default"
        ctx.engine.put_raw(sid, {
            "id": sid, "name": "default", "type": "Microsoft.Storage/storageAccounts/blobServices",
            "sku": ctx.body["sku"],
            "properties": {"cors": {"corsRules": []},
                           "deleteRetentionPolicy": {"allowPermanentDelete": False, "enabled": False}},
        })


def account_keys(resource_id: str, body: dict) -> list[str]:
    """key1, key2: stable per account; the blob endpoint verifies Shared Key signatures with them."""
    return [det_hex(resource_id, k)[:86] + "==" for k in ("key1", "key2")]


def _keys(ctx: ActionCtx) -> ActionReply:
    assert ctx.resource is not None
    created = ctx.resource["properties"].get("creationTime")
    return ActionReply(200, {"keys": [
        {"creationTime": created, "keyName": name, "value": value, "permissions": "FULL"}
        for name, value in zip(("key1", "key2"), account_keys(ctx.id, ctx.resource), strict=True)]})


def _container_populate(ctx: WriteCtx) -> None:
    defaults(ctx.props, {"deleted": False, "remainingRetentionDays": 0, "defaultEncryptionScope": "$account-encryption-key",
                         "denyEncryptionScopeOverride": False, "publicAccess": "None", "hasImmutabilityPolicy": False,
                         "hasLegalHold": False, "immutableStorageWithVersioning": None})
    ctx.props.update(leaseStatus="Unlocked", leaseState="Available", lastModifiedTime=ctx.now[:19] + "+00:00")
    ctx.body["etag"] = f'"0x8D{det_hex(ctx.id, ctx.now)[:13].upper()}"'


def _policy_populate(ctx: WriteCtx) -> None:
    ctx.props["lastModifiedTime"] = ctx.now


PROFILES = [
    TypeProfile(type="Microsoft.Storage/storageAccounts", lro=True, created=202, updated=202, patch_status=200,
                latency=30.0, populate=_account_populate, after_write=_account_after_write,
                before_write=_check_vnet_rules,
                write_only=("properties.defaultToOAuthAuthentication",),
                actions={"listKeys": Action(_keys, write=False), "regenerateKey": Action(_keys, write=True)}),
    TypeProfile(type="Microsoft.Storage/storageAccounts/blobServices", created=200, updated=200,
                provisioning_state=False, has_location=False, latency=1.0),
    TypeProfile(type="Microsoft.Storage/storageAccounts/blobServices/containers", created=201, updated=200,
                provisioning_state=False, has_location=False, latency=1.0, populate=_container_populate),
    TypeProfile(type="Microsoft.Storage/storageAccounts/managementPolicies", created=200, updated=200,
                provisioning_state=False, has_location=False, latency=2.0, populate=_policy_populate,
                name_fn=lambda p: "DefaultManagementPolicy"),
]
