"""Step: the Key Vault holding the platform's secrets (Microsoft.KeyVault/vaults)."""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from azure.mgmt.keyvault.models import Vault
from pydantic import Field

from provisioner.azure import call, raw, wait
from provisioner.config import EnvironmentSpec, Section
from provisioner.diff import Rules, location, lower
from provisioner.errors import ConfigProblem
from provisioner.model import UNKNOWN
from steps._base import ArmStep, absent_is, name_problems, no_double_hyphen, rules
from steps._fields import UNUSED, nm

SECTION = "key_vault"


class Config(Section):
    sku: Literal["standard", "premium"] = "standard"
    soft_delete_retention_days: int = Field(default=90, ge=7, le=90)
    purge_protection: bool = False
    rbac_authorization: bool = True
    # Addresses (IPv4 or CIDR) allowed through the vault firewall besides the web app's outbound IPs.
    allowed_ips: list[str] = []


def cidr(value: Any) -> Any:
    """Key Vault stores a bare IPv4 as '1.2.3.4/32' (hashicorp/terraform-provider-azurerm#2164: a bare IP
    re-applied on every run until written in CIDR form): compare both forms as the same rule."""
    if isinstance(value, str) and value and "/" not in value:
        return f"{value}/32"
    return value


def ip_rules(known: Any, allowed: list[str]) -> Any:
    """The web app's possible outbound addresses (UNKNOWN until it exists) plus the configured ones."""
    site = (known or {}).get("web_app")
    if not site:
        return UNKNOWN
    outbound = str((site.get("properties") or {}).get("possibleOutboundIpAddresses") or "")
    values = {cidr(ip.strip()) for ip in outbound.split(",") if ip.strip()} | {cidr(ip) for ip in allowed}
    return [{"value": v} for v in sorted(values)]


class KeyVault(ArmStep):
    type = "Microsoft.KeyVault/vaults"
    model = Vault  # the GET body's SDK model: read-only fields derive from it
    not_managed = (
        nm("create-time only (recover or default)", "properties.createMode")
        + nm(UNUSED, "properties.networkAcls.virtualNetworkRules")
        + nm("filled in by Azure from the vault name", "properties.vaultUri")
    )
    # web_app: the firewall lets in the app's outbound IPs (App Service is not a "trusted service" that
    # bypass=AzureServices covers). web_app must never depend on key_vault (cycle).
    dependencies = ("resource_group", "web_app")
    holds_data = True  # secrets; a deleted vault's name stays reserved for the retention period
    rules = rules(Rules(
        normalizers=(("properties.sku.name", lower), ("properties.sku.family", lower), ("properties.tenantId", lower),
                     ("properties.networkAcls.defaultAction", lower), ("properties.networkAcls.bypass", lower),
                     ("properties.networkAcls.ipRules*.value", cidr),
                     ("properties.publicNetworkAccess", absent_is("Enabled")), ("properties.enabledFor*", absent_is(False)), ("properties.accessPolicies", absent_is([]))),
        # An IP rule list is a set: the service does not keep the order it was written in.
        sets=("properties.networkAcls.ipRules",),
        # Retention is fixed once the vault exists (azure-sdk-facts §1 Key Vault).
        replace_on=("properties.softDeleteRetentionInDays",),
    ))

    @property
    def config(self) -> Config:
        return self.env.section(SECTION, Config)

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.config
        props: dict[str, Any] = {
            "tenantId": self.env.tenant_id,
            "sku": {"family": "A", "name": c.sku},
            # API >= 2026-02-01 turns RBAC on by default; say it explicitly so the intent is in the plan.
            "enableRbacAuthorization": c.rbac_authorization,
            "enableSoftDelete": True,
            "softDeleteRetentionInDays": c.soft_delete_retention_days,
            # architecture "Key Vault network ACLs": deny by default, Azure services and our addresses in.
            "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices",
                            "ipRules": ip_rules(known, c.allowed_ips)},
            # Reachable over its public endpoint, filtered by networkAcls above (no private endpoint yet).
            "publicNetworkAccess": "Enabled",
            # None of VMs, disk encryption or ARM template deployments may read the secrets.
            "enabledForDeployment": False,
            "enabledForDiskEncryption": False,
            "enabledForTemplateDeployment": False,
        }
        if c.rbac_authorization:
            # Under RBAC, access policies are ignored by the data plane but still stored: any entry is a grant
            # waiting for RBAC to be turned off. The intended set is empty; one added by hand is drift.
            props["accessPolicies"] = []
        if c.purge_protection:
            # Purge protection is irreversible and Azure rejects an explicit false: declare it only when on.
            props["enablePurgeProtection"] = True
        return self.base(**props)

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.keyvault.vaults.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        # A soft-deleted vault keeps its name reserved (and its secrets) for the retention period: recover it
        # rather than fail on "already exists in deleted state" or purge it (reliability-notes §4; azurerm
        # recovers by default). Role assignments are not restored by a recovery: key_vault_access re-creates
        # them. The recovered vault keeps its old settings, so the desired ones are patched on top.
        deleted = raw(clients.keyvault.vaults.get_deleted, self.resource_name, location(self.env.location))
        if deleted is not None:
            body = {**desired, "properties": {**desired["properties"], "createMode": "recover"}}
            wait(call(clients.keyvault.vaults.begin_create_or_update, self.resource_group, self.resource_name, body))
            self.update(clients, desired, body, ())
            return
        wait(call(clients.keyvault.vaults.begin_create_or_update, self.resource_group, self.resource_name, desired))

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        patch = {"tags": desired["tags"], "properties": {k: v for k, v in desired["properties"].items() if k != "softDeleteRetentionInDays"}}
        call(clients.keyvault.vaults.update, self.resource_group, self.resource_name, patch)

    def delete(self, clients: Any) -> None:
        call(clients.keyvault.vaults.delete, self.resource_group, self.resource_name)


def instances(env: EnvironmentSpec) -> list[KeyVault]:
    return [KeyVault(env, "key_vault", env.resource_name("key_vault"))]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    problems = name_problems(env, "key_vault", r"[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]",
                             "3-24 letters, digits and '-', starting with a letter, globally unique", no_double_hyphen)
    if env.is_production and not env.section(SECTION, Config).purge_protection:
        problems.append(ConfigProblem(env.where("key_vault.purge_protection"), "key_vault.purge_protection",
                                      "production vaults must have purge protection (architecture: 'Soft delete, purge protection')"))
    for i, value in enumerate(env.section(SECTION, Config).allowed_ips):
        key = f"key_vault.allowed_ips[{i}]"
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError:
            problems.append(ConfigProblem(env.where("key_vault.allowed_ips"), key, f"{value!r} is not an IPv4 address or CIDR range"))
            continue
        if net.version != 4 or not net.is_global:
            # Key Vault rejects IPv6 and private ranges (Azure/azure-powershell#11471: "belongs to forbidden range").
            problems.append(ConfigProblem(env.where("key_vault.allowed_ips"), key, f"{value!r} must be a public IPv4 address or range"))
    return problems
