"""App Service Key Vault reference status (GET {site}/config/configreferences/appsettings), computed as Azure does."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .. import keyvault_access as access
from .vnet import has_service_endpoint

PATH = re.compile(r"^(/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.web/sites/[^/]+(?:/slots/[^/]+)?)"
                  r"/config/configreferences/appsettings$", re.IGNORECASE)
_REF = re.compile(r"^@Microsoft\.KeyVault\((.*)\)$", re.IGNORECASE)
_URI = re.compile(r"^https://[^/]+(?:/keyvault/([^/]+))?/secrets/([^/]+)/?([^/]*)$", re.IGNORECASE)
_AZURE_HOST = re.compile(r"^https://([^./]+)\.vault\.", re.IGNORECASE)
DETAILS = {
    "Resolved": "Reference has been successfully resolved.",
    "InvalidSyntax": "The reference is not a valid Key Vault reference.",
    "MSINotEnabled": "The app has no managed identity to fetch the secret with.",
    "VaultNotFound": "Key Vault '{vault}' was not found.",
    "SecretNotFound": "Secret '{secret}' was not found in Key Vault '{vault}'.",
    "SecretVersionNotFound": "Version '{version}' of secret '{secret}' was not found in Key Vault '{vault}'.",
}


def parse(value: str) -> tuple[str, str, str] | None:
    """(vault, secret, version) of `@Microsoft.KeyVault(SecretUri=...)` or `(VaultName=..;SecretName=..)`."""
    m = _REF.match(value.strip())
    if not m:
        return None
    parts = dict(p.split("=", 1) for p in m.group(1).split(";") if "=" in p)
    parts = {k.strip().lower(): v.strip() for k, v in parts.items()}
    if "secreturi" in parts:
        uri = _URI.match(parts["secreturi"])
        if not uri:
            return None
        vault = uri.group(1) or (_AZURE_HOST.match(parts["secreturi"]) or [None, ""])[1]
        return (vault, uri.group(2), uri.group(3)) if vault else None
    if parts.get("vaultname") and parts.get("secretname"):
        return parts["vaultname"], parts["secretname"], parts.get("secretversion", "")
    return None


def _status(engine: Any, site: dict[str, Any], ref: tuple[str, str, str] | None, now: datetime) -> tuple[str, str]:
    if ref is None:
        return "InvalidSyntax", DETAILS["InvalidSyntax"]
    vault_name, secret, version = ref
    fill = {"vault": vault_name, "secret": secret, "version": version}
    principal = str((site.get("identity") or {}).get("principalId") or "").lower()
    if not principal:
        return "MSINotEnabled", DETAILS["MSINotEnabled"]
    vault = next((v for v in engine.find("Microsoft.KeyVault/vaults") if v["name"].lower() == vault_name.lower()), None)
    if vault is None:
        return "VaultNotFound", DETAILS["VaultNotFound"].format(**fill)
    site_tenant = str((site.get("identity") or {}).get("tenantId") or engine.tenant_id)
    try:
        access.check_tenant(vault, site_tenant)
    except Exception as exc:  # noqa: BLE001 - the ArmError's message is the detail Azure shows
        return "AccessToKeyVaultDenied", str(getattr(exc, "message", exc))
    props = site.get("properties") or {}
    subnet = str(props.get("virtualNetworkSubnetId") or "")
    # The fetch does not come from the app's outbound IPs (App Service docs, "Access network-restricted
    # vaults"): only a VNet rule for the integration subnet admits it, and only when the subnet carries the
    # Microsoft.KeyVault service endpoint and the app routes its outbound traffic through the VNet.
    routed = subnet and bool(props.get("vnetRouteAllEnabled")) and has_service_endpoint(engine, subnet, "Microsoft.KeyVault")
    if not access.network_admits(vault, client_ip=None, subnet_id=subnet if routed else None):
        return "AccessToKeyVaultDenied", ("Key Vault reference was not able to be resolved because site was denied "
                                          f"access to Key Vault reference's vault '{vault_name}': the vault's "
                                          "firewall does not admit the app's network.")
    if not access.authorized(engine, vault, principal, "read", now):
        return "AccessToKeyVaultDenied", ("Key Vault reference was not able to be resolved because site was denied "
                                          f"access to Key Vault reference's vault '{vault_name}': the identity "
                                          f"{principal} holds no role that may read secrets on it.")
    store = getattr(engine, "secret_store", None)
    if store is None or not store.exists(vault["name"], secret):
        return "SecretNotFound", DETAILS["SecretNotFound"].format(**fill)
    if version and not store.exists(vault["name"], secret, version):
        return "SecretVersionNotFound", DETAILS["SecretVersionNotFound"].format(**fill)
    return "Resolved", DETAILS["Resolved"]


def compute(engine: Any, site_id: str) -> list[dict[str, Any]]:
    site = engine.get(site_id) or {}
    settings = (engine.get(f"{site_id}/config/appsettings") or {}).get("properties") or {}
    now = datetime.now(UTC)
    out = []
    for name, value in settings.items():
        if not isinstance(value, str) or not value.strip().lower().startswith("@microsoft.keyvault("):
            continue
        ref = parse(value)
        status, details = _status(engine, site, ref, now)
        vault, secret, version = ref or ("", "", "")
        out.append({"id": f"{site_id}/config/configreferences/appsettings/{name}", "name": name,
                    "type": "Microsoft.Web/sites/config/configreferences", "location": site.get("location"),
                    "properties": {"reference": value, "status": status, "vaultName": vault, "secretName": secret,
                                   "secretVersion": version or None, "identityType": {"type": "SystemAssigned"},
                                   "details": details, "source": "KeyVault",
                                   "activeVersion": version or None}})
    return out


def refresh(engine: Any, site_id: str) -> None:
    """App Service resolves references when the app's configuration changes or it restarts, then caches the
    result (App Service docs, "Rotation": re-fetched on any configuration change, else every 24 hours)."""
    engine.kv_references[site_id.lower()] = compute(engine, site_id)


def get(engine: Any, site_id: str) -> list[dict[str, Any]] | None:
    if engine.get(site_id) is None:
        return None
    key = site_id.lower()
    if key not in engine.kv_references:
        refresh(engine, site_id)
    return list(engine.kv_references[key])
