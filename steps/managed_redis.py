"""Steps: Azure Managed Redis, the successor of Azure Cache for Redis: the cluster (Microsoft.Cache/redisEnterprise)
and its one database (Microsoft.Cache/redisEnterprise/databases), chosen by [redis] kind = "managed"."""

from __future__ import annotations

from typing import Any

from provisioner.azure import call, raw, wait
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules, lower
from steps._base import NO_IDENTITY, NONE, ArmStep, name_problems, rules
from steps._fields import PLACEMENT, UNUSED, SdkModel, nm
from steps.redis import SECTION as REDIS_SECTION
from steps.redis import Config as RedisConfig
from steps.redis import Managed, kind_of

SECTION = None  # configured in [redis] / [redis.managed] (steps/redis.py)
DATABASE = "default"  # a cluster has one database, always named "default" (local cloud types/redisenterprise.py)
# The TLS endpoint of a Managed Redis database: <name>.<region>.redis.azure.net:10000
# (articles/redis/migrate/migrate-basic-standard-premium-understand.md, "Key differences for client applications").
PORT = 10000


def config(env: EnvironmentSpec) -> Managed:
    return env.section(REDIS_SECTION, RedisConfig).managed


def lane_of(env: EnvironmentSpec) -> str:
    # One management operation at a time on a cluster and its database (an update in flight answers 409).
    return f"managed_redis:{env.resource_name('managed_redis')}"


class ManagedRedis(ArmStep):
    """The cluster: size (SKU), high availability, TLS 1.2, network access. Named "redis" like the cache it
    replaces, so locks, diagnostics, alerts and the app's secret follow the kind without naming it twice."""

    type = "Microsoft.Cache/redisEnterprise"
    model = SdkModel("azure.mgmt.redisenterprise.models", "Cluster")
    not_managed = (
        # Zone redundancy comes with high availability in regions with zones (migrate-overview.md footnote);
        # zones are "Only needed for legacy Redis Enterprise SKU" (azurerm managed_redis docs).
        nm(PLACEMENT, "zones")
        + nm(UNUSED, "sku.capacity")  # SDK Sku.capacity: "only used with Enterprise and EnterpriseFlash SKUs"
    )
    needs = ("resource_group",)
    holds_data = True  # sessions and API cache; losing them logs every user out
    rules = rules(Rules(
        normalizers=(("properties.highAvailability", lower), ("properties.publicNetworkAccess", lower),
                     ("sku.name", lower)),
        # High availability "can be enabled on an existing cache, but can't be disabled once it's enabled"
        # (docs.azure.cn/redis/plan-reliability-and-durability): a change either way is planned as a replace,
        # which is refused for a cache holding data; a person enables HA in place (docs/managed-redis.md).
        replace_on=("properties.highAvailability", "properties.encryption.customerManagedKeyEncryption"),
        # Azure Policy built-in "Azure Cache for Redis Enterprise should use customer-managed keys" is Audit
        # only; the platform keeps Microsoft-managed keys (the default, an empty encryption object): a key in
        # someone's vault (and the identity that reads it) is drift, and a replace (refused for data).
        absent=("properties.encryption.customerManagedKeyEncryption",),
    ), NO_IDENTITY)

    @property
    def lane(self) -> str | None:
        return lane_of(self.env)

    def desired(self, known: Any) -> dict[str, Any]:
        m = config(self.env)
        body = self.base(
            highAvailability="Enabled" if m.high_availability else "Disabled",
            # TLS 1.0/1.1 are "completely obsolete -- you cannot use them" (SDK Cluster.minimum_tls_version).
            minimumTlsVersion="1.2",
            publicNetworkAccess="Enabled" if m.network == "public" else "Disabled",
        )
        body["sku"] = {"name": m.sku}
        body["identity"] = dict(NONE)  # an identity is only for customer-managed keys, which are not used
        return body

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.redisenterprise.redis_enterprise.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.redisenterprise.redis_enterprise.begin_create, self.resource_group, self.resource_name,
                  desired))

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # PATCH (ClusterUpdate: sku, tags, properties); the location is fixed at create.
        patch = {k: v for k, v in desired.items() if k in ("sku", "tags", "properties", "identity")}
        wait(call(clients.redisenterprise.redis_enterprise.begin_update, self.resource_group, self.resource_name,
                  patch))

    def delete(self, clients: Any) -> None:
        wait(call(clients.redisenterprise.redis_enterprise.begin_delete, self.resource_group, self.resource_name))


class ManagedRedisDatabase(ArmStep):
    """The database the app talks to: TLS only, the access key the app's redis-url carries, persistence."""

    type = "Microsoft.Cache/redisEnterprise/databases"
    model = SdkModel("azure.mgmt.redisenterprise.models", "Database")
    not_managed = (
        nm("Redis modules are not used by the app (and can only be added when the database is created)", "properties.modules")
        + nm("Redis version upgrades follow Azure's schedule (NotDeferred, the default)", "properties.deferUpgrade")
    )
    needs = ("redis",)
    holds_data = True

    rules = rules(Rules(
        normalizers=(("properties.clientProtocol", lower), ("properties.clusteringPolicy", lower),
                     ("properties.evictionPolicy", lower), ("properties.accessKeysAuthentication", lower)),
        # The port and the protocol are chosen at create (SDK Database.port "Specified at create time"), the
        # clustering policy cannot leave OSSCluster/EnterpriseCluster without deleting the database.
        replace_on=("properties.port", "properties.clientProtocol", "properties.clusteringPolicy",
                    "properties.geoReplication"),
        # Active geo-replication is not used (the document has one region; persistence excludes it) and is
        # chosen when the database is created: a linked database elsewhere is drift (and a refused replace).
        absent=("properties.geoReplication",),
    ))

    def parent_path(self) -> str:
        return f"redisEnterprise/{self.cluster}"

    @property
    def cluster(self) -> str:
        return self.env.resource_name("managed_redis")

    @property
    def lane(self) -> str | None:
        return lane_of(self.env)

    def desired(self, known: Any) -> dict[str, Any]:
        m = config(self.env)
        persistence: dict[str, Any] = {"aofEnabled": m.persistence == "aof", "rdbEnabled": m.persistence == "rdb"}
        if m.persistence == "aof":
            persistence["aofFrequency"] = "1s"  # the only non-deprecated frequency (SDK Persistence)
        elif m.persistence == "rdb":
            persistence["rdbFrequency"] = m.rdb_frequency
        return {"properties": {
            "clientProtocol": "Encrypted",  # TLS only: the plaintext protocol is never offered
            "port": PORT,
            "clusteringPolicy": m.clustering_policy,
            "evictionPolicy": m.eviction_policy,
            "persistence": persistence,
            # The app authenticates with the database's access key (POST listKeys), carried in its redis-url.
            "accessKeysAuthentication": "Enabled",
        }}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.redisenterprise.databases.get, self.resource_group, self.cluster, DATABASE)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.redisenterprise.databases.begin_create, self.resource_group, self.cluster, DATABASE,
                  desired))

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        wait(call(clients.redisenterprise.databases.begin_update, self.resource_group, self.cluster, DATABASE,
                  {"properties": {k: v for k, v in desired["properties"].items()
                                  if k not in ("port", "clientProtocol")}}))

    def delete(self, clients: Any) -> None:
        wait(call(clients.redisenterprise.databases.begin_delete, self.resource_group, self.cluster, DATABASE))


# Each persistence frequency belongs to its kind of persistence: declared when that kind is on, otherwise left at
# what Azure keeps (an RDB frequency with RDB off is not something the API documents). One class per choice, so
# each says exactly which frequency it leaves alone.
_OFF = "frequency of a persistence kind that is off"


class NoPersistenceDatabase(ManagedRedisDatabase):
    not_managed = ManagedRedisDatabase.not_managed + nm(_OFF, "properties.persistence.aofFrequency",
                                                        "properties.persistence.rdbFrequency")


class AofDatabase(ManagedRedisDatabase):
    not_managed = ManagedRedisDatabase.not_managed + nm(_OFF, "properties.persistence.rdbFrequency")


class RdbDatabase(ManagedRedisDatabase):
    not_managed = ManagedRedisDatabase.not_managed + nm(_OFF, "properties.persistence.aofFrequency")


DATABASES: dict[str, type[ManagedRedisDatabase]] = {"none": NoPersistenceDatabase, "aof": AofDatabase,
                                                    "rdb": RdbDatabase}


def instances(env: EnvironmentSpec) -> list[ArmStep]:
    if kind_of(env) != "managed":
        return []
    database = DATABASES[config(env).persistence]
    return [ManagedRedis(env, "redis", env.resource_name("managed_redis")), database(env, "redis_database", DATABASE)]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    if kind_of(env) != "managed":
        return []
    # "1-60 characters long. Allowed characters(A-Z, a-z, 0-9) and hyphen(-). There can be no leading nor trailing
    # nor consecutive hyphens" (Az.RedisEnterpriseCache -ClusterName).
    return name_problems(env, "managed_redis", r"(?=.{1,60}$)[A-Za-z0-9]+(-[A-Za-z0-9]+)*",
                         "1-60 letters, digits and single hyphens, starting and ending with a letter or digit")
