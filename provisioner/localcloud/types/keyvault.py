"""Microsoft.KeyVault vaults with soft delete: deletedVaults, recover via createMode, purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import ArmError
from ..ids import ArmPath, normalize_location
from ..profile import Action, ActionCtx, ActionReply, EngineApi, TypeProfile, WriteCtx, defaults
from .vnet import has_service_endpoint

DELETED = "Microsoft.KeyVault/locations/deletedVaults"


def _deleted_id(sub: str, location: str, name: str) -> str:
    return f"/subscriptions/{sub}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{name}"


def _find_deleted(engine: EngineApi, name: str) -> dict[str, Any] | None:
    # Vault names are global: a soft-deleted vault blocks the name in every location.
    return next((d for d in engine.find(DELETED) if d["name"].lower() == name.lower()), None)


def _check_vnet_rules(ctx: WriteCtx) -> None:
    """A virtual network rule needs the subnet's Microsoft.KeyVault service endpoint first, unless the caller
    says ignoreMissingVnetServiceEndpoint (learn.microsoft.com/azure/key-vault/general/network-security)."""
    acls = ctx.sent_props.get("networkAcls") or {}
    for rule in acls.get("virtualNetworkRules") or []:
        subnet = str(rule.get("id") or "")
        if rule.get("ignoreMissingVnetServiceEndpoint"):
            continue
        if not has_service_endpoint(ctx.engine, subnet, "Microsoft.KeyVault"):
            raise ArmError(400, "BadRequest", f"Subnet '{subnet}' does not have the 'Microsoft.KeyVault' service "
                           "endpoint enabled: enable it on the subnet, or set ignoreMissingVnetServiceEndpoint.")


def _before_write(ctx: WriteCtx) -> None:
    _check_vnet_rules(ctx)
    if ctx.method != "PUT" or not ctx.created:
        return
    name = ctx.path.name
    for vault in ctx.engine.find("Microsoft.KeyVault/vaults"):
        if vault["name"].lower() == name.lower() and vault["id"].lower() != ctx.id.lower():
            raise ArmError(409, "VaultAlreadyExists",
                           f"The vault name '{name}' is already in use. Vault names are globally unique.")
    deleted = _find_deleted(ctx.engine, name)
    mode = str(ctx.sent_props.get("createMode") or "default").lower()
    if deleted is None:
        if mode == "recover":
            raise ArmError(404, "DeletedVaultNotFound", f"No deleted vault named '{name}' was found to recover.")
        return
    if mode != "recover":
        raise ArmError(409, "ConflictError",
                       f"Exist soft deleted vault with the same name. A vault with the same name '{name}' already "
                       "exists in deleted state. You need to either recover or purge existing deleted vault.")
    # Recovering gives back the old vault's protection settings; the deleted entry goes away.
    ctx.extra["recovered"] = deleted
    ctx.engine.remove(deleted["id"])


def _populate(ctx: WriteCtx) -> None:
    body, props = ctx.body, ctx.props
    body.setdefault("tags", {})
    recovered = ctx.extra.get("recovered")
    if recovered:
        if recovered["properties"].get("purgeProtectionEnabled"):
            props["enablePurgeProtection"] = True
        props.setdefault("softDeleteRetentionInDays", recovered["properties"].get("softDeleteRetentionInDays", 90))
    # API 2026-02-01 and later default new vaults to RBAC authorization.
    rbac_default = ctx.api_version >= "2026-02-01"
    defaults(props, {"accessPolicies": [], "enabledForDeployment": False, "enabledForDiskEncryption": False,
                     "enabledForTemplateDeployment": False, "enableSoftDelete": True,
                     "softDeleteRetentionInDays": 90, "enableRbacAuthorization": rbac_default,
                     "publicNetworkAccess": "Enabled"})
    old = (ctx.existing or {}).get("properties") or {}
    if old.get("enablePurgeProtection"):
        props["enablePurgeProtection"] = True  # purge protection cannot be turned off
    if old.get("softDeleteRetentionInDays"):
        props["softDeleteRetentionInDays"] = old["softDeleteRetentionInDays"]  # fixed after create
    props["enableSoftDelete"] = True  # soft delete can no longer be disabled
    props["vaultUri"] = f"{ctx.engine.vault_base_url or ctx.engine.base_url}/keyvault/{ctx.path.name}/"
    props["hsmPoolResourceId"] = None
    props.pop("createMode", None)


def _soft_delete(engine: EngineApi, body: dict[str, Any], now: str) -> None:
    props = body.get("properties") or {}
    sub = body["id"].split("/")[2]
    location = str(normalize_location(body.get("location") or "global"))
    days = int(props.get("softDeleteRetentionInDays") or 90)
    deleted_at = datetime.fromisoformat(now.replace("Z", "+00:00"))
    purge_at = (deleted_at + timedelta(days=days)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    did = _deleted_id(sub, location, body["name"])
    engine.put_raw(did, {
        "id": did, "name": body["name"], "type": "Microsoft.KeyVault/deletedVaults",
        "properties": {"vaultId": body["id"], "location": location, "deletionDate": now[:19] + "Z",
                       "scheduledPurgeDate": purge_at, "tags": body.get("tags") or {},
                       "purgeProtectionEnabled": bool(props.get("enablePurgeProtection")),
                       "softDeleteRetentionInDays": days},
    })


def _purge(ctx: ActionCtx) -> ActionReply:
    assert ctx.resource is not None
    if ctx.resource["properties"].get("purgeProtectionEnabled"):
        raise ArmError(409, "Conflict",
                       f"Operation 'DeleteVault' is not allowed: vault '{ctx.resource['name']}' has purge protection "
                       "enabled and cannot be purged until its scheduled purge date.")
    ctx.engine.remove(ctx.id)
    purge_secrets = getattr(ctx.engine, "purge_vault_secrets", None)
    if purge_secrets is not None:
        purge_secrets(ctx.resource["name"])
    return ActionReply(202, None, lro_seconds=30.0)


def _list_deleted(engine: EngineApi, path: ArmPath) -> list[dict[str, Any]]:
    # GET /subscriptions/{s}/providers/Microsoft.KeyVault/deletedVaults: every location.
    prefix = f"/subscriptions/{path.subscription}/".lower()
    return [d for d in engine.find(DELETED) if d["id"].lower().startswith(prefix)]


# ------------------------------------------------------------------ secrets through the control plane


def _vault_of(engine: EngineApi, path: ArmPath) -> dict[str, Any] | None:
    return engine.get(path.parent_id)


def _base(vault: dict[str, Any]) -> str:
    return str((vault.get("properties") or {}).get("vaultUri") or "").rstrip("/")


def _secret_body(engine: EngineApi, path: ArmPath) -> dict[str, Any] | None:
    vault = _vault_of(engine, path)
    store = getattr(engine, "secret_store", None)
    if vault is None or store is None:
        return None
    return store.arm_body(vault, path.name, _base(vault))  # type: ignore[no-any-return]


def _secret_populate(ctx: WriteCtx) -> None:
    """The data plane's store holds the versions; the ARM resource is a view of its latest one."""
    vault = _vault_of(ctx.engine, ctx.path)
    store = getattr(ctx.engine, "secret_store", None)
    if vault is None or store is None:
        raise ArmError(404, "ParentResourceNotFound", f"Parent resource '{ctx.path.parent_id}' not found.")
    store.arm_write(vault, ctx.path.name, ctx.sent, ctx.method)
    ctx.body = store.arm_body(vault, ctx.path.name, _base(vault)) or {}


def _secret_list(engine: EngineApi, path: ArmPath) -> list[dict[str, Any]]:
    vault = engine.get(path.parent_id)
    store = getattr(engine, "secret_store", None)
    if vault is None or store is None:
        raise ArmError(404, "ResourceNotFound", f"The Resource '{path.parent_id}' was not found.")
    return store.arm_list(vault, _base(vault))  # type: ignore[no-any-return]


PROFILES = [
    # Microsoft.KeyVault/vaults/secrets (ARM): "intended for ARM deployments"; PUT/PATCH/GET/list, no DELETE.
    # The vault's firewall does not apply to it (learn.microsoft.com/azure/key-vault/general/
    # overview-vnet-service-endpoints: "deployment of secrets or keys through ARM templates ... not affected").
    TypeProfile(type="Microsoft.KeyVault/vaults/secrets", created=201, updated=200, provisioning_state=False,
                has_location=False, latency=2.0, stored=False, default_body=_secret_body, populate=_secret_populate,
                list_fn=_secret_list, methods=frozenset({"GET", "PUT", "PATCH"})),
    TypeProfile(type="Microsoft.KeyVault/vaults", lro=True, created=201, updated=200, patch_status=200,
                latency=45.0, creating_state="RegisteringDns", updating_state="Succeeded",
                before_write=_before_write, populate=_populate, on_removed=_soft_delete,
                write_only=("properties.createMode",)),
    TypeProfile(type=DELETED, methods=frozenset({"GET"}), provisioning_state=False,
                actions={"purge": Action(_purge, write=True)}),
    TypeProfile(type="Microsoft.KeyVault/deletedVaults", methods=frozenset({"GET"}), list_fn=_list_deleted),
]
