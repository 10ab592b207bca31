"""Who may reach a vault's data plane: token tenant (AKV10032), network ACLs, RBAC roles and their propagation."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

from . import conditions, rbac
from .errors import ArmError
from .jwtclaims import claims as _claims

# What each kind of secret request needs (learn.microsoft.com/azure/key-vault/general/rbac-guide): the dataAction
# a role must grant (rbac.py evaluates Microsoft's built-in definitions; Owner/Contributor carry no dataActions,
# so they cannot read a secret), or the access-policy permission on a vault without RBAC.
ACTIONS = {"read": "Microsoft.KeyVault/vaults/secrets/getSecret/action",
           "metadata": "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
           "write": "Microsoft.KeyVault/vaults/secrets/setSecret/action",
           "update": "Microsoft.KeyVault/vaults/secrets/update/action",
           "delete": "Microsoft.KeyVault/vaults/secrets/delete",
           "recover": "Microsoft.KeyVault/vaults/secrets/recover/action",
           "purge": "Microsoft.KeyVault/vaults/secrets/purge/action"}
POLICY_PERMISSIONS = {"read": "get", "metadata": "list", "write": "set", "update": "set", "delete": "delete",
                      "recover": "recover", "purge": "purge"}
# ABAC on secret names (learn.microsoft.com/azure/key-vault/general/rbac-abac, "Attribute sources"): the name is a
# request attribute where the secret may not exist yet (setSecret, restore), a resource attribute otherwise; the
# vault's name is a resource attribute of every secret action.
SECRET_NAME, VAULT_NAME = "microsoft.keyvault/vaults/secrets:name", "microsoft.keyvault/vaults:name"
REQUEST_NAMED = ("write",)
def claims(token: str | None) -> dict[str, Any]:
    """The payload of a JWT (unsigned is fine: the local cloud trusts every issuer it is told about)."""
    return _claims(token)


def principal_of(token: str | None) -> str | None:
    """The object id a token stands for (`oid`); a plain test token names a person with no object id."""
    oid = claims(token).get("oid")
    return str(oid).lower() if oid else None


def tenant_of(token: str | None, default: str) -> str:
    """The directory that issued the token (`tid`); plain tokens come from the cloud's own tenant."""
    return str(claims(token).get("tid") or default).lower()


def forbidden(message: str, inner: str) -> ArmError:
    err = ArmError(403, "Forbidden", message)
    err.inner = inner
    return err


def check_tenant(vault: dict[str, Any], token_tenant: str) -> None:
    """A vault accepts tokens from its own tenantId only (MicrosoftDocs/azure-docs#75410,
    Azure/azure-cli#11871: 401 'AKV10032: Invalid issuer' when the vault's tenant is another directory)."""
    expected = str((vault.get("properties") or {}).get("tenantId") or "").lower()
    if expected != token_tenant.lower():
        raise ArmError(401, "Unauthorized", f"AKV10032: Invalid issuer. Expected one of "
                       f"https://sts.windows.net/{expected}/, found https://sts.windows.net/{token_tenant}/.")


def _in_rules(address: str, rules: list[dict[str, Any]]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for rule in rules:
        try:
            if ip in ipaddress.ip_network(str(rule.get("value") or ""), strict=False):
                return True
        except ValueError:
            continue
    return False


def network_admits(vault: dict[str, Any], client_ip: str | None = None, subnet_id: str | None = None) -> bool:
    """Key Vault's firewall (learn.microsoft.com/azure/key-vault/general/network-security): public access
    disabled admits nobody here; defaultAction Deny admits the ipRules and, for traffic that leaves a subnet
    with the Microsoft.KeyVault service endpoint, the virtualNetworkRules. bypass=AzureServices covers only
    the listed trusted services, none of which call from here."""
    props = vault.get("properties") or {}
    if str(props.get("publicNetworkAccess") or "Enabled").lower() == "disabled":
        return False
    acls = props.get("networkAcls") or {}
    if str(acls.get("defaultAction") or "Allow").lower() != "deny":
        return True
    if client_ip and _in_rules(client_ip, acls.get("ipRules") or []):
        return True
    if subnet_id:
        return any(str(r.get("id") or "").lower() == subnet_id.lower() for r in acls.get("virtualNetworkRules") or [])
    return False


def propagation_delay(engine: Any) -> float:
    return rbac.propagation_delay(engine)


def authorized(engine: Any, vault: dict[str, Any], principal: str | None, need: str, now: datetime,
               secret: str = "") -> bool:
    """RBAC (a role whose dataActions include the action, assigned at the vault or above, propagated: rbac.py
    evaluates the built-in definitions Microsoft publishes) or, on an access-policy vault, a policy entry for
    the object id with the permission."""
    if not principal:
        return False
    props = vault.get("properties") or {}
    if not props.get("enableRbacAuthorization"):
        for policy in props.get("accessPolicies") or []:
            if str(policy.get("objectId") or "").lower() == principal:
                granted = [p.lower() for p in (policy.get("permissions") or {}).get("secrets") or []]
                if POLICY_PERMISSIONS[need] in granted or "all" in granted:
                    return True
        return False
    action = ACTIONS[need]
    resource: dict[str, list[str]] = {VAULT_NAME: [str(vault.get("name") or "")]}
    request: dict[str, list[str]] = {}
    if secret:
        (request if need in REQUEST_NAMED else resource)[SECRET_NAME] = [secret]
    ctx = conditions.Context(action, request, resource)
    return rbac.allowed(engine, principal, action, f"{vault['id']}/secrets/{secret or 'x'}", now, ctx, data=True)


def rbac_denied(vault: dict[str, Any], caller: str, need: str, resource: str) -> ArmError:
    """The 403 an unauthorized caller gets (innererror ForbiddenByRbac; access-policy vaults: AccessDenied)."""
    location = vault.get("location") or ""
    if not (vault.get("properties") or {}).get("enableRbacAuthorization"):
        return forbidden(f"The user, group or application '{caller}' does not have secrets "
                         f"{POLICY_PERMISSIONS[need]} permission on key vault '{vault['name']};location={location}'.",
                         "AccessDenied")
    return forbidden("Caller is not authorized to perform action on resource.\r\nIf role assignments, deny "
                     "assignments or role definitions were changed recently, please observe propagation time.\r\n"
                     f"Caller: {caller}\r\nAction: '{ACTIONS[need]}'\r\nResource: '{resource}'\r\n"
                     f"Assignment: (not found)\r\nVault: {vault['name']};location={location}\r\n", "ForbiddenByRbac")


def firewall_denied(vault: dict[str, Any], client_ip: str, caller: str) -> ArmError:
    props = vault.get("properties") or {}
    if str(props.get("publicNetworkAccess") or "Enabled").lower() == "disabled":
        return forbidden("Public network access is disabled and request is not from a trusted service nor via an "
                         "approved private link.", "ForbiddenByConnection")
    return forbidden(f"Client address is not authorized and caller is not a trusted service.\r\nClient address: "
                     f"{client_ip}\r\nCaller: {caller}\r\nVault: {vault['name']};location={vault.get('location')}",
                     "ForbiddenByFirewall")
