"""Step: the storage account for backups and logs (Microsoft.Storage/storageAccounts)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from provisioner.azure import call, raw, wait
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, lower
from steps._base import NO_IDENTITY, NONE, ArmStep, absent_is, name_problems, rules
from steps._fields import PLACEMENT, UNUSED, SdkModel, nm

SECTION = "storage"


class Config(Section):
    sku: Literal["Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Standard_GZRS", "Standard_RAGZRS"] = "Standard_LRS"
    kind: Literal["StorageV2"] = "StorageV2"
    access_tier: Literal["Hot", "Cool"] = "Hot"
    min_tls_version: Literal["TLS1_2", "TLS1_3"] = "TLS1_2"
    allow_blob_public_access: bool = False
    allow_shared_key_access: bool = True  # diagnostic exports and backup tooling still use keys
    # The document names no network restriction for backups/logs storage; the values are declared (a change by
    # hand is drift) and an environment can close the account down to Azure services.
    public_network_access: Literal["Enabled", "Disabled"] = "Enabled"
    network_default_action: Literal["Allow", "Deny"] = "Allow"
    # With default Deny, the app's integration subnet is admitted (Microsoft.Storage service endpoint on it,
    # steps/subnet.py); public addresses listed here (an operator's network for the backup tooling) too.
    admit_app_subnet: bool = True
    allowed_ips: list[str] = []
    # Longest SAS validity the account accepts (D.HH:MM:SS); longer ones are refused (expirationAction Block).
    # Built-in "Storage SAS tokens should adhere to 7 day maximum validity".
    sas_expiration_period: str = Field(default="7.00:00:00", pattern=r"^\d{1,3}\.\d{2}:\d{2}:\d{2}$")


def files_auth_none(value: Any) -> Any:
    """Azure Files identity-based auth that is off (`directoryServiceOptions: None` and nothing else, all Azure
    returns until it is set up) is no setting at all."""
    if isinstance(value, dict) and str(value.get("directoryServiceOptions") or "none").lower() == "none" \
            and not any(v for k, v in value.items() if k != "directoryServiceOptions"):
        return None
    return value


class StorageAccount(ArmStep):
    type = "Microsoft.Storage/storageAccounts"
    model = SdkModel("azure.mgmt.storage.models", "StorageAccount")
    not_managed = (
        nm(PLACEMENT, "extendedLocation", "placement", "zones")
        + nm(UNUSED, "properties.isHnsEnabled", "properties.isNfsV3Enabled", "properties.enableExtendedGroups",
             "properties.largeFileSharesState", "properties.turboTier")
        + nm("filled in by Azure: a virtual network rule's provisioning state (\"Gets the state\", SDK model)",
             "properties.networkAcls.virtualNetworkRules[].state")
    )
    needs = ("resource_group",)
    holds_data = True
    # sku.tier, primaryEndpoints, creationTime, keyCreationTime, encryption, networkAcls are filled in by
    # Azure (arm-examples StorageAccountGetProperties) and stay out of scope because we do not declare them.
    rules = rules(NO_IDENTITY, Rules(
        normalizers=(("sku.name", lower), ("kind", lower), ("properties.accessTier", lower), ("properties.minimumTlsVersion", lower),
                     ("properties.publicNetworkAccess", absent_is("Enabled")), ("properties.networkAcls.defaultAction", lower),
                     ("properties.networkAcls.bypass", lower), ("properties.networkAcls.*Rules", absent_is([])),
                     ("properties.allowCrossTenantReplication", absent_is(False)),
                     ("properties.networkAcls.virtualNetworkRules[].action", lower),
                     ("properties.networkAcls.ipRules[].action", lower), ("properties.sasPolicy.expirationAction", lower),
                     ("properties.allowCrossTenantDelegationSas", absent_is(False)),
                     ("properties.isSftpEnabled", absent_is(False)), ("properties.isLocalUserEnabled", absent_is(False)),
                     ("properties.defaultToOAuthAuthentication", absent_is(False)),
                     ("properties.dnsEndpointType", absent_is("Standard")),
                     ("properties.encryption.keySource", lower),
                     ("properties.encryption.requireInfrastructureEncryption", absent_is(False)),
                     ("properties.encryption.services.blob.keyType", absent_is("Account")),
                     ("properties.encryption.services.file.keyType", absent_is("Account")),
                     ("properties.encryption.services.*.keyType", absent_is("Service")),
                     ("properties.encryption.services.*.enabled", absent_is(True)),
                     ("properties.azureFilesIdentityBasedAuthentication", files_auth_none)),
        # Infrastructure encryption is chosen when the account is created (learn.microsoft.com/azure/storage/
        # common/infrastructure-encryption-enable: "must be enabled when you create the account"), and so is
        # a service's key type (SDK EncryptionService.key_type: visibility read, create).
        replace_on=("kind", "properties.encryption.requireInfrastructureEncryption",
                    "properties.encryption.services.*.keyType"),
        # Features that would grant access another way (per-service shared keys, Azure Files AD sign-in, data
        # sharing), route traffic (a custom domain, routing endpoints, IPv6), copy data out (copy scope), or
        # change what protects it (key policies, immutability, an SKU conversion): none is used, each is
        # declared absent, so a value set by hand is drift. The GET model calls some of them read-only (they are
        # written through create/update parameters, like networkAcls): declared all the same.
        absent=tuple(f"properties.{p}" for p in (
            "allowSharedKeyAccessForServices", "allowedCopyScope", "azureFilesIdentityBasedAuthentication",
            "dataCollaborationPolicyProperties", "dualStackEndpointPreference", "geoPriorityReplicationStatus",
            "immutableStorageWithVersioning", "routingPreference", "storageAccountSkuConversionStatus",
            "keyPolicy", "customDomain")),
    ))

    @property
    def config(self) -> Config:
        return self.env.section(SECTION, Config)

    @property
    def depends_on(self) -> tuple[str, ...]:
        # A virtual network rule needs the subnet's Microsoft.Storage service endpoint to exist first.
        return (*self.needs, "subnet") if self.admits_subnet else self.needs

    @property
    def admits_subnet(self) -> bool:
        return self.config.admit_app_subnet and self.config.network_default_action == "Deny"

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.config
        body = self.base(
            minimumTlsVersion=c.min_tls_version,
            allowBlobPublicAccess=c.allow_blob_public_access,
            allowSharedKeyAccess=c.allow_shared_key_access,
            supportsHttpsTrafficOnly=True,
            accessTier=c.access_tier,
            publicNetworkAccess=c.public_network_access,
            allowCrossTenantReplication=False,  # object replication only within the tenant
            # The GET model marks networkAcls read-only (it is written through create/update parameters);
            # it is security-relevant, so it is declared and compared all the same.
            # The whole rule set is declared: no IP, VNet or resource-instance rule of anyone else's.
            networkAcls={"defaultAction": c.network_default_action, "bypass": "AzureServices",
                         "ipRules": [{"value": ip, "action": "Allow"} for ip in c.allowed_ips],
                         "ipv6Rules": [], "resourceAccessRules": [],
                         "virtualNetworkRules": [{"id": subnet_id(self.env), "action": "Allow"}]
                         if self.admits_subnet else []},
            sasPolicy={"sasExpirationPeriod": c.sas_expiration_period, "expirationAction": "Block"},
            # Another tenant's user-delegation SAS, SFTP and its local users (their own keys and passwords),
            # and OAuth-by-default in the portal: each is a way in the platform does not use (Azure's defaults).
            allowCrossTenantDelegationSas=False,
            isSftpEnabled=False,
            isLocalUserEnabled=False,
            defaultToOAuthAuthentication=False,
            dnsEndpointType="Standard",
            # Microsoft-managed keys (a key in someone's vault would make the data depend on it).
            # Queues and tables keep Azure's service-scoped keys (keyType is chosen at create).
            # Blobs and files are always encrypted with the account's key (arm-examples
            # StorageAccountGetProperties).
            encryption={"keySource": "Microsoft.Storage", "requireInfrastructureEncryption": False,
                        "services": {"queue": {"keyType": "Service"}, "table": {"keyType": "Service"},
                                     "blob": {"enabled": True, "keyType": "Account"},
                                     "file": {"enabled": True, "keyType": "Account"}}},
        )
        body.update(sku={"name": c.sku}, kind=c.kind, identity=dict(NONE))
        return body

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.storage.storage_accounts.get_properties, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.storage.storage_accounts.begin_create, self.resource_group, self.resource_name, desired))

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # PATCH: kind and location cannot change in place; everything else can.
        patch = {k: v for k, v in desired.items() if k in ("sku", "tags", "properties", "identity")}
        # Infrastructure encryption and key types are fixed at create (compared as immutable, never sent again).
        patch["properties"] = {**patch["properties"], "encryption": {"keySource": "Microsoft.Storage"}}
        call(clients.storage.storage_accounts.update, self.resource_group, self.resource_name, patch)

    def delete(self, clients: Any) -> None:
        call(clients.storage.storage_accounts.delete, self.resource_group, self.resource_name)


def subnet_id(env: EnvironmentSpec) -> str:
    from steps.web_app import integration_subnet_id

    return integration_subnet_id(env)


def instances(env: EnvironmentSpec) -> list[StorageAccount]:
    return [StorageAccount(env, "storage_account", env.resource_name("storage_account"))]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    return name_problems(env, "storage_account", r"[a-z0-9]{3,24}",
                         "3-24 lower-case letters and digits, globally unique")
