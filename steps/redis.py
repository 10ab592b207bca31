"""Step: Azure Cache for Redis, the session store and API cache (Microsoft.Cache/redis)."""

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


class Config(Section):
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
    dependencies = ("resource_group",)
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
        return self.dependencies + (("storage_account",) if self.config.aof_persistence else ())

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


def instances(env: EnvironmentSpec) -> list[Redis]:
    return [Redis(env, "redis", env.resource_name("redis"))]


def _problem(env: EnvironmentSpec, key: str, message: str) -> ConfigProblem:
    return ConfigProblem(env.where(f"{SECTION}.{key}"), f"{SECTION}.{key}", message)


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
    return problems
