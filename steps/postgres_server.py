"""Step: the PostgreSQL Flexible Server, its admin password kept only in Key Vault (Microsoft.DBforPostgreSQL/flexibleServers)."""

from __future__ import annotations

import copy
import re
import secrets
import string
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from provisioner.azure import call, raw, wait
from provisioner.core.errors import ConfigProblem, ProvisionerError
from provisioner.core.model import UNKNOWN
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, lower
from steps import _secret_values as sv
from steps._base import NO_IDENTITY, NONE, ArmStep, absent_is, name_problems, rules
from steps._fields import PLACEMENT, UNUSED, SdkModel, nm

SECTION = "postgres"

# The admin password lives only in Key Vault under this name; the secrets step builds the connection string
# from it, the server's fullyQualifiedDomainName and `postgres.administrator_login`.
PASSWORD_SECRET = "postgres-admin-password"
# desired() never holds the password: it holds this reference, resolved inside create() (the way a Bicep
# `getSecret()` reference works). It is a plain, non-secret string, shown as (sensitive) anyway.
PASSWORD_REF = "@keyvault:"
VERSIONS = ("13", "14", "15", "16", "17")  # majors Flexible Server offers for new servers (API 2026-10-01)
# Azure's standard support end date per major version ("Azure Database for PostgreSQL version policy",
# learn.microsoft.com/azure/postgresql/configure-maintain/concepts-version-policy, "Azure Standard Support End
# Date"; as scraped by endoflife.date in 2026: 14 moved from 12-Nov-2026 to 11-Dec-2026, 11-13 to 31-Jul-2026).
# After it Azure enrols the server in paid Extended Support; a major version goes up in place, never down.
STANDARD_SUPPORT_ENDS = {
    "11": date(2026, 7, 31), "12": date(2026, 7, 31), "13": date(2026, 7, 31), "14": date(2026, 12, 11),
    "15": date(2027, 11, 11), "16": date(2028, 11, 9), "17": date(2029, 11, 8), "18": date(2030, 11, 14),
}
WARN_DAYS = 365  # validate warns this long before a version leaves standard support (a major upgrade needs planning)
SKU_FAMILY = {"Burstable": "Standard_B", "GeneralPurpose": "Standard_D", "MemoryOptimized": "Standard_E"}
# learn.microsoft.com "quickstart-create-server": these logins are refused; `pg_` is reserved by PostgreSQL.
RESERVED_LOGINS = {"azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public"}


class Config(Section):
    sku_name: str = "Standard_B1ms"
    sku_tier: Literal["Burstable", "GeneralPurpose", "MemoryOptimized"] = "Burstable"
    version: str = "14"
    storage_size_gb: int = Field(default=32, ge=32, le=32768)
    backup_retention_days: int = 7
    geo_redundant_backup: bool = False
    high_availability: Literal["Disabled", "ZoneRedundant", "SameZone"] = "Disabled"
    administrator_login: str = "fundrboltadmin"
    database_charset: str = "UTF8"
    database_collation: str = "en_US.utf8"
    # Server parameters pinned by the postgres_configuration step (name -> value).
    parameters: dict[str, str] = Field(default_factory=dict)
    # Microsoft Entra sign-in with the web app's managed identity as Entra administrator (steps/postgres_entra_admin.py);
    # password sign-in stays on for the connection string the app uses today.
    entra_admin: bool = True
    # More Entra administrators: principal name -> object id. The deploying identity goes here, so the pre-swap hook
    # signs in with a token instead of a password (docs/operations.md "Migrations"; steps/postgres_entra_admin.py).
    entra_admins: dict[str, str] = Field(default_factory=dict)
    # How the app signs in (the `database-url` secret): "password" = the server's admin login and password (a repair
    # that must rewrite the URL resets that password, named in the plan and refused in production unless asked);
    # "entra" = its managed identity with a token, no password in the URL (docs/operations.md "The app's database
    # sign-in"). Switch once the running app version supports tokens.
    app_sign_in: Literal["password", "entra"] = "password"
    # Private endpoint + private DNS zone in the VNet (steps/postgres_private_endpoint.py), public access off:
    # architecture "Private endpoints for PostgreSQL (production)".
    private_endpoint: bool = False


def lane_of(env: EnvironmentSpec) -> str:
    """Azure answers 409 ServerIsBusy to concurrent writes on one server and its children (ARCHITECTURE.md)."""
    return f"postgres:{env.resource_name('postgres_server')}"


class PostgresChild(ArmStep):
    """A child of the server (database, firewall rule, parameter): addressed under it, serialized with it."""

    needs: ClassVar[tuple[str, ...]] = ("postgres_server",)
    # A server accepts child writes only once it is Ready (Azure/bicep-registry-modules#4451: a configuration
    # written right after create fails with 409 ServerBusy): wait for it instead of spending retries.
    needs_settled = ("postgres_server",)

    @property
    def server(self) -> str:
        return self.env.resource_name("postgres_server")

    def parent_path(self) -> str | None:
        return f"flexibleServers/{self.server}"

    @property
    def lane(self) -> str | None:
        return lane_of(self.env)


class PostgresServer(ArmStep):
    type = "Microsoft.DBforPostgreSQL/flexibleServers"
    model = SdkModel("azure.mgmt.postgresqlflexibleservers.models", "Server")
    not_managed = (
        nm("subordinate to properties.authConfig.activeDirectoryAuth (compared; Azure fills in the subscription's tenant "
           "when Entra sign-in is on, and the Entra administrator's tenant is declared by steps/postgres_entra_admin.py)",
           "properties.authConfig.tenantId")
        + nm(PLACEMENT, "properties.availabilityZone", "properties.highAvailability.standbyAvailabilityZone")
        + nm("create-time only (point-in-time restore / replica source)", "properties.createMode",
             "properties.pointInTimeUTC", "properties.sourceServerResourceId", "properties.replica.capacity",
             "properties.replica.promoteMode", "properties.replica.promoteOption")
        # A system-managed maintenance window (Azure picks the time); a custom one set by hand is drift.
        + nm("subordinate to properties.maintenanceWindow.customWindow (compared: Disabled)",
             "properties.maintenanceWindow.dayOfWeek", "properties.maintenanceWindow.startHour",
             "properties.maintenanceWindow.startMinute")
        + nm(UNUSED, "properties.cluster", "properties.fipsMode",
             "properties.storage.autoGrow", "properties.storage.autoGrowIncrementPercent",
             "properties.storage.autoGrowMaxThresholdMb", "properties.storage.iops", "properties.storage.throughput",
             "properties.storage.tier", "properties.storage.type")
    )
    needs = ("resource_group", "key_vault")
    holds_data = True
    rules = rules(Rules(
        # Never returned by GET (arm-examples ServerCreate: administratorLoginPassword is write-only).
        write_only=("properties.administratorLoginPassword",),
        # SkuTier and HA mode are case-insensitive enums (SDK CaseInsensitiveEnumMeta).
        normalizers=(("sku.tier", lower), ("sku.name", lower), ("properties.highAvailability.mode", lower),
                     ("properties.backup.geoRedundantBackup", lower), ("properties.network.publicNetworkAccess", lower),
                     ("properties.authConfig.passwordAuth", lower), ("properties.authConfig.activeDirectoryAuth", lower)),
        # SDK model visibility: administratorLogin is ["read", "create"], geoRedundantBackup ["read", "create"]
        # (azure-sdk-facts §1: "Geo-redundant backup only at create").
        # Customer-managed keys are chosen at create (learn.microsoft.com/azure/postgresql/flexible-server/
        # concepts-data-encryption: "can only be configured during server creation"), and a server is a replica
        # only when it is created as one (createMode Replica): a change of either is not an update.
        replace_on=("properties.administratorLogin", "properties.backup.geoRedundantBackup",
                    "properties.dataEncryption.*", "properties.replicationRole", "properties.replica.role",
                    "properties.network.delegatedSubnetResourceId", "properties.network.privateDnsZoneArmResourceId"),
        # VNet injection (a delegated subnet and its private DNS zone) and customer-managed keys are chosen
        # at create: the platform uses neither, so a value there is drift.
        absent=("properties.network.delegatedSubnetResourceId", "properties.network.privateDnsZoneArmResourceId",
                *(f"properties.dataEncryption.{k}" for k in (
                    "primaryKeyURI", "primaryUserAssignedIdentityId", "geoBackupKeyURI",
                    "geoBackupUserAssignedIdentityId", "primaryFederatedIdentityClientId",
                    "geoBackupFederatedIdentityClientId"))),
    ), NO_IDENTITY, Rules(normalizers=(
        ("properties.dataEncryption.type", absent_is("SystemManaged")), ("properties.replicationRole", absent_is("Primary")),
        ("properties.replica.role", absent_is("Primary")), ("properties.backup.immutableBackup", absent_is("Disabled")),
        ("properties.maintenanceWindow.customWindow", absent_is("Disabled")),
    )))
    # Compared, never sent: what is fixed at create (replace_on above) is not written by an update either.
    COMPARE_ONLY = ("dataEncryption", "replicationRole", "replica")

    @property
    def config(self) -> Config:
        return self.env.section(SECTION, Config)

    @property
    def lane(self) -> str | None:
        return lane_of(self.env)

    def settled(self, body: dict[str, Any]) -> bool:
        """Flexible Server has no provisioningState: it is settled when `state` is Ready and HA is Healthy or
        NotEnabled (SDK enums ServerState, HighAvailabilityState; a new HA server stays Updating /
        CreatingStandby after its create operation has ended)."""
        props = body.get("properties") or {}
        state = str(props.get("state") or "Ready").lower()
        ha = str((props.get("highAvailability") or {}).get("state") or "NotEnabled").lower()
        return state == "ready" and ha in ("healthy", "notenabled")

    # see storage_size; a major version only goes up (refuse_update)
    grows_only = ("properties.storage.storageSizeGB", "properties.version")

    def storage_size(self, known: Any) -> int:
        """Storage only grows: Azure refuses a smaller size, and auto-grow or a person may have enlarged it
        (learn.microsoft.com/azure/postgresql/flexible-server/how-to-scale-compute-storage-portal: "You can't
        scale down the storage").
        A larger live size is kept, so it is never drift and a smaller declared size is never sent."""
        declared = self.config.storage_size_gb
        live = (((known or {}).get(self.name) or {}).get("properties") or {}).get("storage") or {}
        size = live.get("storageSizeGB")
        return max(declared, size) if isinstance(size, int) else declared

    def auth_config(self) -> dict[str, Any]:
        return {"passwordAuth": "Enabled", "activeDirectoryAuth": "Enabled" if self.config.entra_admin else "Disabled"}

    def password_ref(self, known: Any) -> Any:
        vault = (known.get("key_vault") or {}).get("id") if known else None
        return f"{PASSWORD_REF}{vault}#{PASSWORD_SECRET}" if vault else UNKNOWN

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.config
        body = self.base(
            administratorLogin=c.administrator_login,
            administratorLoginPassword=self.password_ref(known),
            version=c.version,
            storage={"storageSizeGB": self.storage_size(known)},
            # The document does not ask for geo-redundant backup, and it can only be chosen at create.
            backup={"backupRetentionDays": c.backup_retention_days,
                    "geoRedundantBackup": "Enabled" if c.geo_redundant_backup else "Disabled"},
            highAvailability={"mode": c.high_availability},
            # Public endpoint closed by the firewall (architecture: "PostgreSQL firewall (Azure services only)").
            # With the private endpoint (production) the public endpoint is closed: the app reaches the server through
            # its regional VNet integration (all traffic routed into the VNet, where the private DNS zone answers).
            network={"publicNetworkAccess": "Disabled" if c.private_endpoint else "Enabled"},
            # Entra ID sign-in (architecture: "Azure AD authentication for PostgreSQL (planned)") with the app's
            # identity as administrator when entra_admin is on; password sign-in stays for the app's connection
            # string.
            authConfig=self.auth_config(),
            dataEncryption={"type": "SystemManaged"},  # service-managed keys
            maintenanceWindow={"customWindow": "Disabled"},
            replicationRole="Primary", replica={"role": "Primary"},  # a primary, not a replica of another server
        )
        body["properties"]["backup"]["immutableBackup"] = "Disabled"
        body["sku"] = {"name": c.sku_name, "tier": c.sku_tier}
        body["identity"] = dict(NONE)
        return body

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.postgres.servers.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        body = copy.deepcopy(desired)  # the caller's dict must never hold the password
        body["properties"]["administratorLoginPassword"] = admin_password(clients, desired["properties"]["administratorLoginPassword"])
        body["properties"]["createMode"] = "Create"
        for key in self.COMPARE_ONLY:
            body["properties"].pop(key, None)
        wait(call(clients.postgres.servers.begin_create_or_update, self.resource_group, self.resource_name, body))

    def refuse_update(self, observed: dict[str, Any], changes: Any) -> str | None:
        """A major version only goes up: Azure's in-place major version upgrade is irreversible and a lower
        version is refused (400 ParameterOutOfRange, "The value of the 'Version' should be in: [...]",
        hashicorp/terraform-provider-azurerm#25344). Going back means a new server and a restore of the data."""
        live, declared = _major((observed.get("properties") or {}).get("version")), _major(self.config.version)
        if live is not None and declared is not None and declared < live:
            key = f"{SECTION}.version"
            return (f"PostgreSQL {live} cannot go back to {declared}: Azure upgrades a major version in place and "
                    f"never down; set {key} to {live} or higher in {self.env.where(key)}")
        return None

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        version, live = desired["properties"].get("version"), (observed.get("properties") or {}).get("version")
        if live is not None and version != live:
            # Azure's in-place major version upgrade: a PATCH of properties.version alone, a long-running
            # operation while the server is offline (learn.microsoft.com/azure/postgresql/flexible-server/
            # concepts-major-version-upgrade; `az postgres flexible-server upgrade` sends exactly this). Never a
            # replace: the data stays. Done first and alone, so a refusal leaves nothing half-changed.
            wait(call(clients.postgres.servers.begin_update, self.resource_group, self.resource_name,
                      {"properties": {"version": version}}))
            if changes and all(getattr(c, "path", "") == "properties.version" for c in changes):
                return
        # PATCH: the password is not re-sent (it would rotate it behind Key Vault's back); create-only fields stay out.
        props = {k: v for k, v in desired["properties"].items()
                 if k not in ("administratorLoginPassword", "administratorLogin", *self.COMPARE_ONLY)}
        props["backup"] = {k: props["backup"][k] for k in ("backupRetentionDays", "immutableBackup")}
        patch = {"sku": desired["sku"], "tags": desired["tags"], "properties": props, "identity": desired["identity"]}
        wait(call(clients.postgres.servers.begin_update, self.resource_group, self.resource_name, patch))

    def delete(self, clients: Any) -> None:
        wait(call(clients.postgres.servers.begin_delete, self.resource_group, self.resource_name))


def new_password(length: int = 32) -> str:
    """Azure wants 3 of 4 classes (upper, lower, digit, symbol); we give all 4, with URL-safe symbols only."""
    symbols = "-_.~"
    alphabet = string.ascii_letters + string.digits + symbols
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(length))
        if (any(ch.islower() for ch in value) and any(ch.isupper() for ch in value)
                and any(ch.isdigit() for ch in value) and any(ch in symbols for ch in value)):
            return value


PASSWORD_TAGS = {"ManagedBy": "fundrbolt-provisioner"}


def admin_password(clients: Any, ref: str) -> str:
    """A new password for a server being created, stored in Key Vault first through the control plane (the
    vault's firewall keeps the deploying machine out of its data plane, so nothing is read back). A retry in
    this run reuses it; a server that does not exist yet has no password to keep."""
    if not isinstance(ref, str) or not ref.startswith(PASSWORD_REF):
        raise ProvisionerError("postgres_server: the Key Vault holding the admin password is not known yet")
    vault_id, _, name = ref[len(PASSWORD_REF):].partition("#")
    value = sv.written(vault_id, name)
    if value is None:
        value = new_password()
        sv.arm_write(clients, vault_id, name, value, PASSWORD_TAGS, content_type="text/plain")
    return value


def reset_password(clients: Any, resource_group: str, server: str, vault_id: str) -> str:
    """A new admin password, stored first, then set on the server (PATCH): how the tool gets a password it
    can build the connection string from when it holds none (it never reads the stored one back)."""
    value = sv.written(vault_id, PASSWORD_SECRET)
    if value is None:
        value = new_password()
        sv.arm_write(clients, vault_id, PASSWORD_SECRET, value, PASSWORD_TAGS, content_type="text/plain")
    wait(call(clients.postgres.servers.begin_update, resource_group, server,
              {"properties": {"administratorLoginPassword": value}}))
    return value


def _major(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def today() -> date:
    """The date support windows are measured from (a function, so tests can fix it)."""
    return datetime.now(UTC).date()


def support_warning(version: str, on: date) -> str | None:
    """What validate says about a major version nearing or past the end of Azure's standard support."""
    ends = STANDARD_SUPPORT_ENDS.get(version)
    if ends is None or (ends - on).days > WARN_DAYS:
        return None
    newer = [v for v, d in sorted(STANDARD_SUPPORT_ENDS.items(), key=lambda kv: int(kv[0]))
             if v in VERSIONS and (d - on).days > WARN_DAYS]
    days = (ends - on).days
    when = (f"left Azure's standard support on {ends.isoformat()} ({-days} days ago)" if days < 0 else
            f"leaves Azure's standard support on {ends.isoformat()} (in {days} days)")
    return (f"PostgreSQL {version} {when}; after that Azure bills the server for Extended Support. Choose a "
            f"supported version ({', '.join(newer)}): a new server is created with it, an existing one gets Azure's "
            "in-place major version upgrade (irreversible, the server is offline while it runs)")


def instances(env: EnvironmentSpec) -> list[PostgresServer]:
    return [PostgresServer(env, "postgres_server", env.resource_name("postgres_server"))]


def _problem(env: EnvironmentSpec, key: str, message: str) -> ConfigProblem:
    return ConfigProblem(env.where(f"{SECTION}.{key}"), f"{SECTION}.{key}", message)


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    problems = name_problems(env, "postgres_server", r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]",
                             "3-63 lower-case letters, digits and '-', not starting or ending with '-', globally unique")
    c = env.section(SECTION, Config)
    prefix = SKU_FAMILY[c.sku_tier]
    if not c.sku_name.startswith(prefix):
        problems.append(_problem(env, "sku_name", f"{c.sku_name!r} is not a {c.sku_tier} SKU: {c.sku_tier} sizes are "
                                 f"{prefix}* (Burstable -> Standard_B*, GeneralPurpose -> Standard_D*, MemoryOptimized -> Standard_E*)"))
    if c.high_availability != "Disabled" and c.sku_tier == "Burstable":
        problems.append(_problem(env, "high_availability", f"{c.high_availability} high availability needs the "
                                 "GeneralPurpose or MemoryOptimized tier; Burstable servers have no HA"))
    if not 7 <= c.backup_retention_days <= 35:
        problems.append(_problem(env, "backup_retention_days", f"{c.backup_retention_days} is out of range: Flexible "
                                 "Server keeps backups for 7 to 35 days"))
    if c.version not in VERSIONS:
        problems.append(_problem(env, "version", f"{c.version!r} is not a supported PostgreSQL major version "
                                 f"(one of {', '.join(VERSIONS)})"))
    elif (warning := support_warning(c.version, today())):
        problems.append(ConfigProblem(env.where(f"{SECTION}.version"), f"{SECTION}.version", warning, "warning"))
    if c.app_sign_in == "entra" and not c.entra_admin:
        problems.append(_problem(env, "app_sign_in", "'entra' needs Microsoft Entra sign-in with the app's identity as "
                                 f"Entra administrator: set {SECTION}.entra_admin = true"))
    if c.app_sign_in == "password":
        problems.append(ConfigProblem(env.where(f"{SECTION}.app_sign_in"), f"{SECTION}.app_sign_in", "'password': the app "
                                      "connects as the server's admin login, and a repair of database-url must reset that "
                                      "password (refused in production unless asked); 'entra' signs it in with its managed "
                                      "identity (docs/operations.md \"The app's database sign-in\")", "warning"))
    for name, oid in c.entra_admins.items():
        if not re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", oid):
            problems.append(_problem(env, f"entra_admins.{name}", f"{oid!r} is not an object id (a GUID: the service "
                                     "principal's or user's object id, `az ad sp show --id <app> --query id`)"))
        elif not c.entra_admin:
            problems.append(_problem(env, f"entra_admins.{name}", "needs Microsoft Entra sign-in: set "
                                     f"{SECTION}.entra_admin = true"))
    login = c.administrator_login
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,62}", login) or login.lower() in RESERVED_LOGINS or login.lower().startswith("pg_"):
        problems.append(_problem(env, "administrator_login", f"{login!r} is not allowed: 1-63 letters, digits and '_', "
                                 f"starting with a letter, not 'pg_*' and not one of {', '.join(sorted(RESERVED_LOGINS))}"))
    return problems
