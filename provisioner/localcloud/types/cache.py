"""Microsoft.Cache: Azure Cache for Redis (LRO create/update/delete, listKeys) and its firewall rules."""

from __future__ import annotations

import re

from ..errors import ArmError
from ..profile import Action, ActionCtx, ActionReply, TypeProfile, WriteCtx, defaults, det_hex

_MAXCLIENTS = {("C", 0): "256", ("C", 1): "1000", ("C", 2): "2000", ("C", 3): "5000", ("P", 1): "7500"}
_RESERVED = {("C", 0): "30", ("C", 1): "50", ("C", 2): "200", ("P", 1): "125"}


def _populate(ctx: WriteCtx) -> None:
    props = ctx.props
    sku = props.get("sku") or {"name": "Basic", "family": "C", "capacity": 0}
    key = (str(sku.get("family", "C")), int(sku.get("capacity", 0)))
    config = dict(props.get("redisConfiguration") or {})
    reserved = _RESERVED.get(key, "30")
    config.update({"maxclients": _MAXCLIENTS.get(key, "1000")})  # read-only, server-set
    defaults(config, {"maxmemory-reserved": reserved, "maxmemory-delta": reserved,
                      "maxfragmentationmemory-reserved": reserved})
    version = str(props.get("redisVersion") or "6")
    if not re.fullmatch(r"[46](\.\d+){0,2}|latest", version, re.IGNORECASE):
        # RedisCommonProperties.redisVersion: "Supported versions: 4.0, 6.0 (latest)" (azure-rest-api-specs
        # redis; the SDK's docstring): anything else is refused.
        raise ArmError(400, "InvalidRequestBody", f"The value '{version}' is not a supported Redis version "
                       "(4, 6 or latest).")
    defaults(props, {"enableNonSslPort": False, "minimumTlsVersion": "1.2", "publicNetworkAccess": "Enabled",
                     "updateChannel": "Stable", "zonalAllocationPolicy": "Automatic",
                     "disableAccessKeyAuthentication": False})
    replicas = 1 if str(sku.get("name")) in ("Standard", "Premium") else 0
    props.update(
        sku=sku, redisConfiguration=config, redisVersion={"4": "4.0.14", "6": "6.0"}.get(version, version),
        hostName=f"{ctx.path.name}.redis.cache.windows.net", port=6379, sslPort=6380, linkedServers=[],
        instances=[{"sslPort": 15000 + i, "nonSslPort": 13000 + i, "isMaster": i == 0, "isPrimary": i == 0}
                   for i in range(1 + replicas)],
        replicasPerMaster=replicas, replicasPerPrimary=replicas, privateEndpointConnections=[], accessKeys=None,
    )


def _keys(ctx: ActionCtx) -> ActionReply:
    return ActionReply(200, {"primaryKey": det_hex(ctx.id, "primary")[:44] + "=",
                             "secondaryKey": det_hex(ctx.id, "secondary")[:44] + "="})


PROFILES = [
    TypeProfile(type="Microsoft.Cache/redis", lro=True, created=201, updated=200, patch_status=202, patch_lro=True,
                delete_lro=True, latency=1200.0, populate=_populate,
                actions={"listKeys": Action(_keys, write=False), "regenerateKey": Action(_keys, write=True)}),
    TypeProfile(type="Microsoft.Cache/redis/firewallRules", created=201, updated=200, provisioning_state=False,
                has_location=False, latency=5.0),
]
