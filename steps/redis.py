"""Step: Azure Cache for Redis, the session store and API cache (Microsoft.Cache/redis), and the [redis] section
that chooses between it and its successor, Azure Managed Redis (steps/managed_redis.py, docs/managed-redis.md)."""

from __future__ import annotations

from typing import Any, Literal

from provisioner.azure import call, raw, wait
from provisioner.core.errors import ConfigProblem
from provisioner.core.model import UNKNOWN
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, as_str, lower
from steps._base import NO_IDENTITY, NONE, ArmStep, name_problems, no_double_hyphen, rules
from steps._fields import PLACEMENT, UNUSED, SdkModel, nm

SECTION = "redis"
FAMILIES = {"Basic": ("C", range(0, 7)), "Standard": ("C", range(0, 7)), "Premium": ("P", range(1, 6))}


# Microsoft's retirement of Azure Cache for Redis (articles/azure-cache-for-redis/retirement-faq.yml: "All instances
# of Azure Cache for Redis tiers (Basic, Standard, and Premium) will be retired on September 30, 2028"; disabled
# from 1 October 2028). Since 1 April 2026 a tenant that had no such cache before cannot create one (the What's New
# page, aka.ms/AzureCacheForRedisRetirement, as quoted by users; Azure answers 400 "Azure Cache for Redis is
# retiring, create Azure Managed Redis instance instead", e.g. Azure/bicep-registry-modules#7175 "creating new
# caches is blocked for new customers").
RETIREMENT = "2028-09-30"
# Azure Managed Redis sizes (azure-mgmt-redisenterprise SkuName, without the retired Enterprise tiers).
MANAGED_SKUS = frozenset(
    [f"Balanced_B{n}" for n in (0, 1, 3, 5, 10, 20, 50, 100, 150, 250, 350, 500, 700, 1000)]
    + [f"MemoryOptimized_M{n}" for n in (10, 20, 50, 100, 150, 250, 350, 500, 700, 1000, 1500, 2000)]
    + [f"ComputeOptimized_X{n}" for n in (3, 5, 10, 20, 50, 100, 150, 250, 350, 500, 700)]
    + [f"FlashOptimized_A{n}" for n in (250, 500, 700, 1000, 1500, 2000, 4500)])
Kind = Literal["managed", "cache"]


class Managed(Section):
    """[redis.managed]: the Azure Managed Redis cluster and its database (steps/managed_redis.py)."""

    # Microsoft's migration mapping (articles/redis/migrate/migrate-overview.md): Basic/Standard C0 -> Balanced B0,
    # C1 -> Balanced B1, C2 -> B3, C3 -> B5, Premium P1 -> B5 ("the same size or bigger").
    sku: str = "Balanced_B0"
    # Basic caches have no replica: "Use non High Availability option of Azure Managed Redis for Migrating Basic
    # SKUs" (same page). HA, once on, cannot be turned off (docs.azure.cn/redis/plan-reliability-and-durability).
    high_availability: bool = True
    # One of AOF or RDB, never both (how-to-persistence.md); RDB every 1h, 6h or 12h.
    persistence: Literal["none", "aof", "rdb"] = "none"
    rdb_frequency: Literal["1h", "6h", "12h"] = "6h"
    # NoCluster: one endpoint, as the Basic/Standard cache the app was written for (a clustered policy needs a
    # cluster-aware client; NoCluster can later become clustered, never the reverse: SDK Database docs).
    clustering_policy: Literal["NoCluster", "OSSCluster", "EnterpriseCluster"] = "NoCluster"
    eviction_policy: Literal["VolatileLRU", "AllKeysLRU", "VolatileLFU", "AllKeysLFU", "VolatileTTL",
                             "VolatileRandom", "AllKeysRandom", "NoEviction"] = "VolatileLRU"
    # How the app reaches the cache: "public" (TLS, access key; Managed Redis has no IP firewall) or "private"
    # (a private endpoint in the app's VNet, what the Azure Policy built-in "Azure Cache for Redis Enterprise
    # should use private link" audits). Private endpoints are not built by this tool yet: validate refuses it.
    network: Literal["public", "private"] = "public"


class Config(Section):
    # "managed": Azure Managed Redis (the default for new environments); "cache": Azure Cache for Redis, kept
    # by an environment that already runs one until a person switches (validate warns; docs/managed-redis.md).
    kind: Kind = "managed"
    managed: Managed = Managed()
    # Explicit permission to delete the Azure Cache for Redis an environment ran before it moved to Managed
    # Redis (a data resource: never deleted unless this says so; only with kind = "managed").
    remove_old_cache: bool = False
    sku: Literal["Basic", "Standard", "Premium"] = "Basic"
    family: Literal["C", "P"] = "C"
    capacity: int = 0
    version: str = "6"
    minimum_tls_version: Literal["1.2"] = "1.2"  # 1.0/1.1 are retired; the document wants "TLS 1.2+"
    # Append-only-file persistence (the document: "AOF persistence for production"). Azure offers it on
    # Premium only; `validate` rejects it elsewhere. On Premium the cache writes AOF to the storage account
    # through its managed identity, so no storage key is ever handed to Redis.
    aof_persistence: bool = False


def _major(value: Any) -> Any:
    """redisVersion is sent as a major ('6') and read back as the full version ('6.0.14')."""
    return value.split(".")[0] if isinstance(value, str) else value


def lane_of(env: EnvironmentSpec) -> str:
    # A cache takes one management operation at a time (scaling, firewall changes conflict with 409s).
    return f"redis:{env.resource_name('redis')}"


class Redis(ArmStep):
    type = "Microsoft.Cache/redis"
    model = SdkModel("azure.mgmt.redis.models", "RedisResource")
    not_managed = (
        nm(PLACEMENT, "zones", "properties.zonalAllocationPolicy")
        + nm(UNUSED, "properties.replicasPerMaster", "properties.replicasPerPrimary", "properties.shardCount",
             "properties.updateChannel")
        # Memory tuning: Azure's defaults.
        + nm(UNUSED, *(f"properties.redisConfiguration.{k}" for k in (
            "maxfragmentationmemory-reserved", "maxmemory-delta", "maxmemory-policy", "maxmemory-reserved",
            "notify-keyspace-events")))
    )
    needs = ("resource_group",)
    holds_data = True  # sessions; losing them logs every user out
    # RDB backups and their storage (a connection string to someone's account ships the cache's data there),
    # VNet injection and tenant settings: never used, declared absent. AOF's keys are declared when AOF is on
    # and absent otherwise (steps/redis.py `rules`).
    ABSENT = ("properties.staticIP", "properties.subnetId", "properties.tenantSettings",
              *(f"properties.redisConfiguration.{k}" for k in (
                  "rdb-backup-enabled", "rdb-backup-frequency", "rdb-backup-max-snapshot-count",
                  "rdb-storage-connection-string", "storage-subscription-id", "aof-storage-connection-string-1")))
    AOF_KEYS = tuple(f"properties.redisConfiguration.{k}" for k in (
        "aof-backup-enabled", "preferred-data-persistence-auth-method", "aof-storage-connection-string-0"))
    base_rules = rules(Rules(
        normalizers=(
            ("properties.sku.name", lower), ("properties.sku.family", lower), ("properties.publicNetworkAccess", lower),
            ("identity.type", lower),
            # arm-examples RedisCacheCreate: redisVersion '4' comes back as '4.0.14'.
            ("properties.redisVersion", _major),
            # Config values travel as strings (azure-sdk-facts §1 Redis: "Config values are strings").
            # authnotrequired is absent until someone sets it: absent is "false" (auth required).
            ("properties.redisConfiguration.authnotrequired", lambda v: as_str(False if v is None else v).lower()),
            # Entra ID sign-in to the cache: absent is off. The app authenticates with the access key.
            ("properties.redisConfiguration.aad-enabled", lambda v: as_str(False if v is None else v).lower()),
            ("properties.redisConfiguration.*", as_str),
        ),
        # Not returned in clear by GET (a storage endpoint reference): set on create/update, never compared.
        write_only=("properties.redisConfiguration.aof-storage-connection-string-0",),
        absent=ABSENT,
    ))

    @property
    def config(self) -> Config:
        return self.env.section(SECTION, Config)

    @property
    def rules(self) -> Rules:  # type: ignore[override]
        if self.config.aof_persistence:
            return self.base_rules  # AOF to the account with the cache's own identity
        return self.base_rules.merged(Rules(absent=self.AOF_KEYS, exact=(), case_insensitive_keys=())).merged(NO_IDENTITY)

    @property
    def lane(self) -> str | None:
        return lane_of(self.env)

    @property
    def depends_on(self) -> tuple[str, ...]:
        # AOF writes to the storage account: only then does the cache need it first.
        return self.needs + (("storage_account",) if self.config.aof_persistence else ())

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.config
        props: dict[str, Any] = {
            "sku": {"name": c.sku, "family": c.family, "capacity": c.capacity},
            "redisVersion": c.version,
            "minimumTlsVersion": c.minimum_tls_version,
            # azure-sdk-facts §9: the msrest models send these three on every PUT and PATCH; declaring them
            # means no request ever changes them by accident, and drift on them is seen.
            "enableNonSslPort": False,
            "publicNetworkAccess": "Enabled",  # the firewall (redis_firewall) admits the web app only
            "disableAccessKeyAuthentication": False,  # the API authenticates with the access key
            # Authentication stays required (Redis' `authnotrequired` opens the cache to anyone who reaches it).
            "redisConfiguration": {"authnotrequired": "false", "aad-enabled": "false"},
        }
        identity: dict[str, Any] = dict(NONE)
        if c.aof_persistence:
            blob = ((known.get("storage_account") or {}).get("properties", {}).get("primaryEndpoints", {}).get("blob")
                    if known else None)
            props["redisConfiguration"] = {
                **props["redisConfiguration"],
                "aof-backup-enabled": "true",
                "preferred-data-persistence-auth-method": "ManagedIdentity",
                "aof-storage-connection-string-0": f"BlobEndpoint={blob}" if blob else UNKNOWN,
            }
            identity = {"type": "SystemAssigned"}
        body = self.base(**props)
        body["identity"] = identity
        return body

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.redis.redis.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.redis.redis.begin_create, self.resource_group, self.resource_name, desired))

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # PATCH (scale, TLS, tags); location and zones are fixed at create.
        patch = {k: v for k, v in desired.items() if k in ("tags", "identity", "properties")}
        wait(call(clients.redis.redis.begin_update, self.resource_group, self.resource_name, patch))

    def delete(self, clients: Any) -> None:
        wait(call(clients.redis.redis.begin_delete, self.resource_group, self.resource_name))


def kind_of(env: EnvironmentSpec) -> Kind:
    return env.section(SECTION, Config).kind


def instances(env: EnvironmentSpec) -> list[Redis]:
    return [Redis(env, "redis", env.resource_name("redis"))] if kind_of(env) == "cache" else []


def _problem(env: EnvironmentSpec, key: str, message: str, severity: str = "error") -> ConfigProblem:
    return ConfigProblem(env.where(f"{SECTION}.{key}"), f"{SECTION}.{key}", message, severity=severity)


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    problems = name_problems(env, "redis", r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
                             "1-63 letters, digits and '-', starting and ending with a letter or digit, globally unique",
                             no_double_hyphen)
    c = env.section(SECTION, Config)
    family, capacities = FAMILIES[c.sku]
    if c.family != family:
        problems.append(_problem(env, "family", f"{c.sku} caches are family {family!r}, not {c.family!r}"))
    elif c.capacity not in capacities:
        problems.append(_problem(env, "capacity", f"{c.sku} {family}{c.capacity} does not exist: capacity is "
                                 f"{capacities.start}-{capacities.stop - 1} for {c.sku}"))
    if c.aof_persistence and c.sku != "Premium":
        problems.append(_problem(env, "aof_persistence", f"AOF persistence needs a Premium cache; this one is {c.sku} "
                                 f"{c.family}{c.capacity}. Either set redis.aof_persistence = false or move to "
                                 "sku = \"Premium\", family = \"P\", capacity >= 1 (about 4x the price of Standard C1)"))
    return problems + kind_problems(env, c)


def kind_problems(env: EnvironmentSpec, c: Config) -> list[ConfigProblem]:
    """The retirement warning for kind = "cache", and what a move to Managed Redis needs."""
    problems = []
    if c.kind == "cache":
        explicit = env.where(f"{SECTION}.kind") != env.files[0]
        problems.append(_problem(env, "kind", (
            "Azure Cache for Redis (Basic, Standard, Premium) is retired on " + RETIREMENT + " (disabled from "
            "2028-10-01), and since 2026-04-01 Azure refuses to create one in a tenant that had none before "
            "(400 \"Azure Cache for Redis is retiring, create Azure Managed Redis instance instead\"). "
            + ("This environment keeps its cache until a person switches: " if explicit else "")
            + "set redis.kind = \"managed\" to create Azure Managed Redis alongside and move the app's redis-url "
            "to it once it exists; the old cache is left in place until redis.remove_old_cache = true "
            "(docs/managed-redis.md, \"Moving a running environment\")"), severity="warning"))
        if c.remove_old_cache:
            problems.append(_problem(env, "remove_old_cache", "only with kind = \"managed\": the cache this "
                                     "environment runs on is never removed"))
        return problems
    m = c.managed
    if m.network == "private":
        problems.append(_problem(env, "managed.network", "private endpoints for Managed Redis are not built by this "
                                 "tool yet: set network = \"public\" (TLS and the access key; docs/managed-redis.md "
                                 "\"Network\")"))
    if m.sku.startswith(("Enterprise_", "EnterpriseFlash_")):
        problems.append(_problem(env, "managed.sku", f"{m.sku} is a retired Azure Cache for Redis Enterprise SKU: Azure "
                                 "refuses to create it; choose a Balanced_, MemoryOptimized_ or ComputeOptimized_ size"))
    elif m.sku not in MANAGED_SKUS:
        problems.append(_problem(env, "managed.sku", f"{m.sku!r} is not an Azure Managed Redis SKU (e.g. Balanced_B0, "
                                 "Balanced_B1, MemoryOptimized_M10; azure-mgmt-redisenterprise SkuName)"))
    if env.is_production and not m.high_availability:
        problems.append(_problem(env, "managed.high_availability", "production runs with high availability "
                                 "(architecture: Standard, replicated; a non-HA cache has no SLA)"))
    if m.clustering_policy != "NoCluster":
        problems.append(_problem(env, "managed.clustering_policy", f"{m.clustering_policy}: the app must use a "
                                 "cluster-aware Redis client, and the policy cannot go back to NoCluster without "
                                 "deleting the database", severity="warning"))
    return problems
