"""Step: the Key Vault holding the platform's secrets (Microsoft.KeyVault/vaults)."""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import Field

from provisioner.azure import call, raw, wait
from provisioner.core.errors import ConfigProblem
from provisioner.core.model import UNKNOWN
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, location, lower
from steps import _kv_references
from steps._base import ArmStep, absent_is, name_problems, no_double_hyphen, rules
from steps._fields import SdkModel, nm
from steps.deployment_slot import slot_config, slots_enabled

SECTION = "key_vault"


class Config(Section):
    sku: Literal["standard", "premium"] = "standard"
    soft_delete_retention_days: int = Field(default=90, ge=7, le=90)
    purge_protection: bool = False
    rbac_authorization: bool = True
    # Public addresses (IPv4 or CIDR) let through the vault firewall, e.g. an operator's network. Neither
    # the app nor the tool needs one: the app comes through its VNet, the tool through the control plane.
    allowed_ips: list[str] = []


def cidr(value: Any) -> Any:
    """Key Vault stores a bare IPv4 as '1.2.3.4/32' (hashicorp/terraform-provider-azurerm#2164: a bare IP
    re-applied on every run until written in CIDR form): compare both forms as the same rule."""
    if isinstance(value, str) and value and "/" not in value:
        return f"{value}/32"
    return value


def ip_rules(allowed: list[str]) -> list[dict[str, str]]:
    return [{"value": v} for v in sorted({cidr(ip) for ip in allowed})]


def subnet_id(env: EnvironmentSpec) -> str:
    """The app's VNet integration subnet (steps/subnet.py): the only network the vault admits."""
    return (f"/subscriptions/{env.subscription_id}/resourceGroups/{env.resource_name('resource_group')}"
            f"/providers/Microsoft.Network/virtualNetworks/{env.resource_name('virtual_network')}"
            f"/subnets/{env.resource_name('app_subnet')}")


class KeyVault(ArmStep):
    type = "Microsoft.KeyVault/vaults"
    model = SdkModel("azure.mgmt.keyvault.models", "Vault")
    not_managed = nm("filled in by Azure from the vault name", "properties.vaultUri")
    # App Service fetches Key Vault references from addresses that are not the app's outbound IPs, and it is
    # not a trusted service that bypass=AzureServices lets in (App Service docs, "Access network-restricted
    # vaults"): the vault admits the app's VNet integration subnet (service endpoint Microsoft.KeyVault),
    # which must exist with that endpoint before a rule may name it.
    needs = ("resource_group", "subnet")
    holds_data = True  # secrets; a deleted vault's name stays reserved for the retention period
    rules = rules(Rules(
        normalizers=(("properties.sku.name", lower), ("properties.sku.family", lower), ("properties.tenantId", lower),
                     ("properties.networkAcls.defaultAction", lower), ("properties.networkAcls.bypass", lower),
                     ("properties.networkAcls.ipRules*.value", cidr),
                     ("properties.publicNetworkAccess", absent_is("Enabled")), ("properties.enabledFor*", absent_is(False)),
                     ("properties.accessPolicies", absent_is([])), ("properties.enablePurgeProtection", absent_is(False))),
        # Rule lists are sets: the service does not keep the order they were written in.
        sets=("properties.networkAcls.ipRules", "properties.networkAcls.virtualNetworkRules"),
        # Retention is fixed once the vault exists (azure-sdk-facts §1 Key Vault); purge protection cannot be
        # turned off once on ("enablePurgeProtection ... cannot be disabled", Key Vault soft-delete overview).
        replace_on=("properties.softDeleteRetentionInDays", "properties.enablePurgeProtection"),
        # How a PUT is meant (a new vault or the recovery of a deleted one): a request input, never returned by
        # GET (arm-examples getVault, createVault responses).
        write_only=("properties.createMode",),
    ))

    def __init__(self, env: EnvironmentSpec, name: str, resource_name: str):
        super().__init__(env, name, resource_name)
        self._tenant: str | None = None  # learned from Azure by gather()

    @property
    def config(self) -> Config:
        return self.env.section(SECTION, Config)

    def gather(self, clients: Any, known: Any) -> None:
        """The subscription's tenant as Azure says (GET /subscriptions/{id}), never a placeholder: a vault
        whose tenantId is another directory refuses every token (AKV10032; MicrosoftDocs/azure-docs#75410).
        The runner already refused an env file that pins a different one."""
        learn = getattr(clients, "subscription_tenant", None)
        if callable(learn):
            self._tenant = learn()

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.config
        props: dict[str, Any] = {
            "tenantId": self._tenant or self.env.core.tenant_id or UNKNOWN,
            "sku": {"family": "A", "name": c.sku},
            # API >= 2026-02-01 turns RBAC on by default; say it explicitly so the intent is in the plan.
            "enableRbacAuthorization": c.rbac_authorization,
            "enableSoftDelete": True,
            "softDeleteRetentionInDays": c.soft_delete_retention_days,
            # architecture "Key Vault network ACLs": deny by default; the app's integration subnet in (its
            # Key Vault references), the configured addresses in, nothing else.
            "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": ip_rules(c.allowed_ips),
                            "virtualNetworkRules": [{"id": subnet_id(self.env)}]},
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
        # Purge protection is irreversible and Azure rejects an explicit false: compared either way (on by hand
        # in dev is drift too, one nobody can undo), sent only when on.
        props["enablePurgeProtection"] = c.purge_protection
        return self.base(**props)

    @staticmethod
    def _sent(desired: dict[str, Any]) -> dict[str, Any]:
        props = {k: v for k, v in desired["properties"].items() if not (k == "enablePurgeProtection" and v is False)}
        return {**desired, "properties": props}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.keyvault.vaults.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        # A soft-deleted vault keeps its name reserved (and its secrets) for the retention period: recover it
        # rather than fail on "already exists in deleted state" or purge it (reliability-notes §4; azurerm
        # recovers by default). Role assignments are not restored by a recovery: key_vault_access re-creates
        # them. The recovered vault keeps its old settings, so the desired ones are patched on top.
        desired = self._sent(desired)
        deleted = raw(clients.keyvault.vaults.get_deleted, self.resource_name, location(self.env.location))
        if deleted is not None:
            body = {**desired, "properties": {**desired["properties"], "createMode": "recover"}}
            wait(call(clients.keyvault.vaults.begin_create_or_update, self.resource_group, self.resource_name, body))
            self.update(clients, desired, body, ())
            return
        wait(call(clients.keyvault.vaults.begin_create_or_update, self.resource_group, self.resource_name, desired))

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        patch = {"tags": desired["tags"], "properties": {k: v for k, v in self._sent(desired)["properties"].items()
                                                         if k != "softDeleteRetentionInDays"}}
        call(clients.keyvault.vaults.update, self.resource_group, self.resource_name, patch)
        if any(str(getattr(c, "path", "")).startswith("properties.networkAcls") for c in changes):
            # The app cached a failed resolution while the vault shut it out: restart it so it re-reads its
            # references now rather than within 24 hours. Not waited for here: a missing role is repaired by
            # a later step (key_vault_access), which waits for every reference to resolve.
            site = self.env.resource_name("web_app")
            for slot in (None, *((slot_config(self.env).name,) if slots_enabled(self.env) else ())):
                _kv_references.restart(clients, self.resource_group, site, slot)

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
