"""Microsoft.Cache/redisEnterprise: Azure Managed Redis clusters and their one database (LRO writes, listKeys,
regenerateKey) with the SKU, high-availability, persistence and clustering rules Azure applies."""

from __future__ import annotations

import re
from typing import Any

from ..errors import ArmError
from ..profile import Action, ActionCtx, ActionReply, EngineApi, TypeProfile, WriteCtx, defaults, det_hex

CLUSTER = "Microsoft.Cache/redisEnterprise"
DATABASE = "Microsoft.Cache/redisEnterprise/databases"

# Memory (GB) of each Azure Managed Redis SKU (learn.microsoft.com/azure/redis/overview "Choosing the right tier";
# the migration table in articles/redis/migrate/migrate-overview.md: B0 0.5 GB, B1 1 GB, B3 3 GB, B5 6 GB, the
# B10/M10/X10 "offer 12 GB"). Names are the SDK's SkuName values (azure-mgmt-redisenterprise 3.1 models).
MEMORY_GB: dict[str, float] = {
    "Balanced_B0": 0.5, "Balanced_B1": 1, "Balanced_B3": 3, "Balanced_B5": 6, "Balanced_B10": 12,
    "Balanced_B20": 24, "Balanced_B50": 60, "Balanced_B100": 120, "Balanced_B150": 180, "Balanced_B250": 240,
    "Balanced_B350": 360, "Balanced_B500": 480, "Balanced_B700": 720, "Balanced_B1000": 960,
    "MemoryOptimized_M10": 12, "MemoryOptimized_M20": 24, "MemoryOptimized_M50": 60, "MemoryOptimized_M100": 120,
    "MemoryOptimized_M150": 180, "MemoryOptimized_M250": 240, "MemoryOptimized_M350": 360,
    "MemoryOptimized_M500": 480, "MemoryOptimized_M700": 720, "MemoryOptimized_M1000": 960,
    "MemoryOptimized_M1500": 1440, "MemoryOptimized_M2000": 1920,
    "ComputeOptimized_X3": 3, "ComputeOptimized_X5": 6, "ComputeOptimized_X10": 12, "ComputeOptimized_X20": 24,
    "ComputeOptimized_X50": 60, "ComputeOptimized_X100": 120, "ComputeOptimized_X150": 180,
    "ComputeOptimized_X250": 240, "ComputeOptimized_X350": 360, "ComputeOptimized_X500": 480,
    "ComputeOptimized_X700": 720,
    "FlashOptimized_A250": 256, "FlashOptimized_A500": 512, "FlashOptimized_A700": 720,
    "FlashOptimized_A1000": 1024, "FlashOptimized_A1500": 1536, "FlashOptimized_A2000": 2048,
    "FlashOptimized_A4500": 4608,
}
# The retired Enterprise tiers still in the API's SkuName enum. Azure refuses to create them since 1 April 2026
# (live answer quoted in Azure/azure-sdk-for-java#50073: "HTTP 400 BadRequest Creation of new Azure Cache for
# Redis Enterprise resources is no longer supported. Azure Cache for Redis Enterprise is retiring, please create
# Azure Managed Redis instead.").
RETIRED_PREFIXES = ("Enterprise_", "EnterpriseFlash_")
# Cluster names: "1-60 characters long. Allowed characters(A-Z, a-z, 0-9) and hyphen(-). There can be no leading
# nor trailing nor consecutive hyphens" (Get-AzRedisEnterpriseCacheMigration -ClusterName, learn.microsoft.com).
NAME = re.compile(r"(?=.{1,60}$)[A-Za-z0-9]+(-[A-Za-z0-9]+)*")
# The TLS endpoint every Managed Redis database listens on unless told otherwise (migrate-basic-standard-premium-
# understand.md "TLS port 10000"; spec example RedisEnterpriseDatabasesCreate.json "port": 10000).
PORT = 10000
# Regenerated keys per database id: a rotation must change what listKeys returns (kept for the process's life).
_GENERATION: dict[str, int] = {}


def _bad(message: str, code: str = "BadRequest") -> ArmError:
    # Codes: "BadRequest" is what the service answered in the live refusals quoted above; for the others
    # Azure's exact code is not published (the refusal is Azure's, the code is the local cloud's choice).
    return ArmError(400, code, message)


def _props(body: dict[str, Any] | None) -> dict[str, Any]:
    return dict((body or {}).get("properties") or {})


# The enum values the API accepts (SDK models of azure-mgmt-redisenterprise 3.1: HighAvailability, PublicNetworkAccess,
# TlsVersion, Protocol, ClusteringPolicy, EvictionPolicy, AccessKeysAuthentication, AofFrequency, RdbFrequency).
ENUMS = {
    "highAvailability": ("Enabled", "Disabled"), "publicNetworkAccess": ("Enabled", "Disabled"),
    "minimumTlsVersion": ("1.0", "1.1", "1.2"), "clientProtocol": ("Encrypted", "Plaintext"),
    "clusteringPolicy": ("EnterpriseCluster", "OSSCluster", "NoCluster"),
    "evictionPolicy": ("AllKeysLFU", "AllKeysLRU", "AllKeysRandom", "VolatileLRU", "VolatileLFU", "VolatileTTL",
                       "VolatileRandom", "NoEviction"),
    "accessKeysAuthentication": ("Enabled", "Disabled"),
}


def _enums(props: dict[str, Any]) -> None:
    for key, allowed in ENUMS.items():
        value = props.get(key)
        if value is not None and str(value).lower() not in {a.lower() for a in allowed}:
            raise _bad(f"The value '{value}' of '{key}' is invalid: one of {', '.join(allowed)}.", "InvalidRequestContent")


def _cluster_rules(ctx: WriteCtx) -> None:
    _enums(ctx.props)
    name = ctx.path.name
    if ctx.created and not NAME.fullmatch(name):
        raise _bad(f"The name '{name}' is invalid: 1-60 letters, digits and hyphens, with no leading, trailing or "
                   "consecutive hyphens.", "InvalidResourceName")
    sku = str((ctx.body.get("sku") or {}).get("name") or "")
    old_sku = str(((ctx.existing or {}).get("sku") or {}).get("name") or "")
    if ctx.created and sku.startswith(RETIRED_PREFIXES):
        raise _bad("Creation of new Azure Cache for Redis Enterprise resources is no longer supported. Azure Cache "
                   "for Redis Enterprise is retiring, please create Azure Managed Redis instead.")
    if sku not in MEMORY_GB and not sku.startswith(RETIRED_PREFIXES):
        raise _bad(f"The SKU '{sku}' is not a valid Azure Managed Redis SKU.", "InvalidSkuName")
    if old_sku in MEMORY_GB and sku in MEMORY_GB and MEMORY_GB[sku] < MEMORY_GB[old_sku]:
        # migrate-overview.md feature table: "Scaling down/in: No" for Balanced, Memory and Compute Optimized.
        raise _bad(f"Scaling down from {old_sku} to {sku} is not supported: Azure Managed Redis can only be scaled "
                   "to the same or a larger memory size.", "ScaleDownNotSupported")
    old_ha = str(_props(ctx.existing).get("highAvailability") or "")
    new_ha = str(ctx.props.get("highAvailability") or old_ha or "Enabled")
    if old_ha.lower() == "enabled" and new_ha.lower() == "disabled":
        # docs.azure.cn/redis/plan-reliability-and-durability (High availability, Constraints): HA "can be enabled
        # on an existing cache, but can't be disabled once it's enabled".
        raise _bad("High availability cannot be disabled once it is enabled on an Azure Managed Redis cluster.",
                   "HighAvailabilityCannotBeDisabled")


def _cluster_populate(ctx: WriteCtx) -> None:
    props = ctx.props
    defaults(props, {"highAvailability": "Enabled", "minimumTlsVersion": "1.2", "publicNetworkAccess": "Enabled"})
    location = str(ctx.body.get("location") or "").replace(" ", "").lower()
    ha = str(props["highAvailability"]).lower() == "enabled"
    props.update(
        # <name>.<region>.redis.azure.net (migrate-overview.md "Hostname DNS suffix").
        hostName=f"{ctx.path.name}.{location}.redis.azure.net",
        # HA caches are zone redundant in regions with zones (migrate-overview.md footnote); non-HA: none.
        redundancyMode="ZR" if ha else "None",
        resourceState="Creating" if ctx.created else "Updating",
        redisVersion="7.4",  # migrate-basic-standard-premium-understand.md: "Redis version 7.4"
        privateEndpointConnections=_props(ctx.existing).get("privateEndpointConnections") or [],
    )
    ctx.body["kind"] = "v2"  # the SDK's Kind: "v1" for the retired Enterprise tiers, "v2" for Managed Redis


def _running(engine: EngineApi, body: dict[str, Any]) -> None:
    if isinstance(body.get("properties"), dict):
        body["properties"]["resourceState"] = "Running"


def _database_rules(ctx: WriteCtx) -> None:
    _enums(ctx.props)
    name = ctx.path.name
    if ctx.created and name != "default":
        # A Managed Redis cluster has one database, named "default" (migrate-basic-standard-premium-understand.md:
        # "Azure Managed Redis supports only a single database"; azurerm managed_redis: "Currently the acceptable
        # value for this argument is `default`").
        raise _bad(f"The database name '{name}' is invalid: the only database of a cluster is named 'default'.",
                   "InvalidDatabaseName")
    sent, old = ctx.props, _props(ctx.existing)
    persistence = sent.get("persistence") or {}
    if persistence.get("aofEnabled") is True and persistence.get("rdbEnabled") is True:
        # SDK Persistence: "Note that at most one of AOF or RDB persistence may be enabled"; how-to-persistence.md
        # "Can I enable AOF and RDB persistence at the same time? No".
        raise _bad("At most one of AOF or RDB persistence may be enabled.", "InvalidPersistenceConfiguration")
    if persistence.get("rdbEnabled") is True and persistence.get("rdbFrequency") not in (None, "1h", "6h", "12h"):
        raise _bad(f"RDB frequency '{persistence.get('rdbFrequency')}' is invalid: 1h, 6h or 12h.",
                   "InvalidPersistenceConfiguration")
    if (persistence.get("aofEnabled") or persistence.get("rdbEnabled")) and (sent.get("geoReplication") or {}).get(
            "linkedDatabases"):
        # how-to-persistence.md: "Persistence isn't supported with caches using active geo-replication."
        raise _bad("Persistence cannot be enabled on a geo-replicated database.", "InvalidPersistenceConfiguration")
    if ctx.existing is None:
        return
    before = str(old.get("clusteringPolicy") or "OSSCluster")
    after = str(sent.get("clusteringPolicy") or before)
    if after != before and before != "NoCluster":
        # SDK Database.clustering_policy: "This property can be updated only if the current value is NoCluster. If
        # the value is OSSCluster or EnterpriseCluster, it cannot be updated without deleting the database."
        raise _bad(f"The clustering policy cannot be changed from {before} to {after} without deleting the "
                   "database.", "ClusteringPolicyCannotBeChanged")
    for key, why in (("port", "is set at create time"), ("clientProtocol", "is chosen when the database is created"),
                     ("modules", "can only be added at creation time")):
        if key in sent and sent[key] != old.get(key):
            # SDK Database docs: port "Specified at create time", modules "can only be added at creation time";
            # migrate-basic-standard-premium-understand.md: TLS or non-TLS "Once the mode is chosen during cache
            # creation, all applications connecting to that cache must use the same mode".
            raise _bad(f"The database property '{key}' {why} and cannot be changed.", "PropertyCannotBeChanged")


def _database_populate(ctx: WriteCtx) -> None:
    props = ctx.props
    old = _props(ctx.existing)
    persistence = dict(props.get("persistence") or old.get("persistence") or {})
    defaults(persistence, {"aofEnabled": False, "rdbEnabled": False})
    if persistence.get("aofEnabled"):
        persistence.setdefault("aofFrequency", "1s")  # SDK Persistence.aof_frequency: "Defaults to '1s'"
    # Defaults: clientProtocol "Default is TLS-encrypted", clusteringPolicy "default is OSSCluster",
    # evictionPolicy "default is VolatileLRU", deferUpgrade "default is NotDeferred" (SDK Database docs); the
    # port as in the spec examples. accessKeysAuthentication: the service turns access keys off unless asked
    # (the Azure CLI's notice "The default value of '--access-keys-auth' will be changed to 'Disabled'" follows
    # the API; an unset value is the stricter Disabled here).
    defaults(props, {"clientProtocol": old.get("clientProtocol", "Encrypted"), "port": old.get("port", PORT),
                     "clusteringPolicy": old.get("clusteringPolicy", "OSSCluster"),
                     "evictionPolicy": old.get("evictionPolicy", "VolatileLRU"),
                     "deferUpgrade": old.get("deferUpgrade", "NotDeferred"),
                     "accessKeysAuthentication": old.get("accessKeysAuthentication", "Disabled"),
                     "modules": old.get("modules", [])})
    props.update(persistence=persistence, redisVersion="7.4",
                 resourceState="Creating" if ctx.created else "Updating")


def _keys(ctx: ActionCtx) -> ActionReply:
    gen = _GENERATION.get(ctx.id.lower(), 0)
    return ActionReply(200, {"primaryKey": det_hex(ctx.id, "primary", str(gen))[:44] + "=",
                             "secondaryKey": det_hex(ctx.id, "secondary", str(gen))[:44] + "="})


def _regenerate(ctx: ActionCtx) -> ActionReply:
    key_type = str((ctx.request or {}).get("keyType") or "")
    if key_type not in ("Primary", "Secondary"):
        raise _bad(f"keyType must be 'Primary' or 'Secondary', not '{key_type}'.", "InvalidRequestContent")
    # Both keys move on here (the local cloud keeps one generation per database): what a caller can rely on is
    # that the key it named is no longer valid. An LRO (SDK begin_regenerate_key, final-state-via
    # azure-async-operation).
    _GENERATION[ctx.id.lower()] = _GENERATION.get(ctx.id.lower(), 0) + 1
    return ActionReply(202, None, lro_seconds=30.0)


PROFILES = [
    # Create: "faster to stand up" than Azure Cache for Redis (microsoft/aspire#6831), yet azurerm raised its
    # create timeout from 30 to 45 minutes after acceptance runs ran past 30 (terraform-provider-azurerm#30932):
    # 1200 realistic seconds, as for the cache. PATCH (begin_update) is an LRO answered 202.
    TypeProfile(type=CLUSTER, lro=True, created=201, updated=200, patch_status=202, patch_lro=True, delete_lro=True,
                latency=1200.0, delete_latency=600.0, before_write=_cluster_rules, populate=_cluster_populate,
                on_settled=_running),
    # The database: GET names it "<cluster>/default" (spec example RedisEnterpriseDatabasesCreate.json).
    TypeProfile(type=DATABASE, lro=True, created=201, updated=200, patch_status=202, patch_lro=True,
                delete_lro=True, latency=120.0, has_location=False, name_fn=lambda p: "/".join(p.names),
                before_write=_database_rules, populate=_database_populate, on_settled=_running,
                actions={"listKeys": Action(_keys, write=False), "regenerateKey": Action(_regenerate, write=True)}),
]
