"""Microsoft.Network: public DNS zones and their record sets (A, AAAA, CNAME, TXT, MX, ...)."""

from __future__ import annotations

import uuid
from typing import Any

from ..errors import ArmError
from ..profile import EngineApi, TypeProfile, WriteCtx, defaults, det_hex

ZONE = "Microsoft.Network/dnsZones"
RECORD_TYPES = ("A", "AAAA", "CAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT")
# The wire key that holds each type's records (RecordSet, API 2018-05-01).
RECORD_KEYS = {"A": "ARecords", "AAAA": "AAAARecords", "CAA": "caaRecords", "CNAME": "CNAMERecord",
               "MX": "MXRecords", "NS": "NSRecords", "PTR": "PTRRecords", "SOA": "SOARecord",
               "SRV": "SRVRecords", "TXT": "TXTRecords"}


def name_servers(zone_id: str) -> list[str]:
    """Azure hands a zone four name servers from one numbered set (arm-examples: ns1-01.azure-dns.com ...)."""
    n = int(det_hex(zone_id)[:2], 16) % 8 + 1
    return [f"ns{i}-0{n}.azure-dns.{tld}." for i, tld in ((1, "com"), (2, "net"), (3, "org"), (4, "info"))]


def _record_sets(engine: EngineApi, zone_id: str) -> list[dict[str, Any]]:
    return [r for t in RECORD_TYPES for r in engine.find(f"{ZONE}/{t}", zone_id)]


def _zone_populate(ctx: WriteCtx) -> None:
    props = ctx.props
    ctx.body["location"] = "global"  # 'Global' -> 'global' (arm-examples CreateOrUpdateZone.json)
    ctx.body["etag"] = str(uuid.uuid4())
    defaults(props, {"zoneType": "Public"})
    count = len(_record_sets(ctx.engine, ctx.id))
    props.update(maxNumberOfRecordSets=10000, maxNumberOfRecordsPerRecordSet=None,
                 numberOfRecordSets=count if count else 2, nameServers=name_servers(ctx.id))


def _zone_after_write(ctx: WriteCtx) -> None:
    """A new zone comes with its apex NS and SOA record sets (why numberOfRecordSets starts at 2)."""
    if not ctx.created:
        return
    servers = name_servers(ctx.id)
    soa = {"host": servers[0], "email": "azuredns-hostmaster.microsoft.com", "serialNumber": 1, "refreshTime": 3600,
           "retryTime": 300, "expireTime": 2419200, "minimumTTL": 300}
    for rtype, ttl, records in (("NS", 172800, {"NSRecords": [{"nsdname": s} for s in servers]}),
                                ("SOA", 3600, {"SOARecord": soa})):
        rid = f"{ctx.id}/{rtype}/@"
        ctx.engine.put_raw(rid, {"id": rid, "name": "@", "type": f"Microsoft.Network/dnszones/{rtype}",
                                 "etag": str(uuid.uuid4()), "properties": {
                                     "metadata": None, "TTL": ttl, "fqdn": f"{ctx.path.name}.", **records,
                                     "targetResource": {}, "provisioningState": "Succeeded"}})


def _record_before_write(ctx: WriteCtx) -> None:
    """Azure DNS refuses these with 400 BadRequest before anything changes."""
    rtype, props = ctx.path.types[-1].upper(), ctx.sent_props
    if rtype == "CNAME" and ctx.path.name == "@":
        raise ArmError(400, "BadRequest", "The CNAME record set cannot be created at the zone apex '@': "
                                          "it would conflict with the SOA and NS records.")
    own = RECORD_KEYS.get(rtype)
    foreign = [k for k in RECORD_KEYS.values() if k != own and props.get(k)]
    if foreign:
        raise ArmError(400, "BadRequest", f"A record set of type {rtype} cannot contain {', '.join(foreign)}.")
    for record in props.get("TXTRecords") or []:
        strings = record.get("value") or []
        if any(len(s.encode()) > 255 for s in strings):
            raise ArmError(400, "BadRequest", "The value of a TXT record string cannot exceed 255 characters: "
                                              "split it into several strings.")
        if sum(len(s) for s in strings) > 4096:
            raise ArmError(400, "BadRequest", "The total length of a TXT record cannot exceed 4096 characters.")


def _record_populate(ctx: WriteCtx) -> None:
    zone, name = ctx.path.names[0], ctx.path.name
    ctx.body["etag"] = str(uuid.uuid4())
    ctx.body["type"] = f"Microsoft.Network/dnszones/{ctx.path.types[-1]}"
    ctx.props["fqdn"] = f"{zone}." if name == "@" else f"{name}.{zone}."
    ctx.props.setdefault("metadata", None)
    ctx.props.setdefault("targetResource", {})


def _count(engine: EngineApi, record_id: str) -> None:
    zone_id = record_id.rsplit("/", 2)[0]
    zone = engine.get(zone_id)
    if zone is not None:
        zone["properties"]["numberOfRecordSets"] = len(_record_sets(engine, zone_id))
        engine.put_raw(zone_id, zone)


# ------------------------------------------------------------------ lookups for services that verify DNS


def find_record_set(engine: EngineApi, fqdn: str, rtype: str) -> dict[str, Any] | None:
    """The record set answering `fqdn` in the deepest zone of this cloud that contains it: {} when that zone
    has no such set, None when no zone here serves the name (its DNS is hosted elsewhere)."""
    host = fqdn.lower().rstrip(".")
    zones = [z for z in engine.find(ZONE) if host == z["name"].lower() or host.endswith("." + z["name"].lower())]
    if not zones:
        return None
    zone = max(zones, key=lambda z: len(z["name"]))
    relative = "@" if host == zone["name"].lower() else host[: -len(zone["name"]) - 1]
    return engine.get(f"{zone['id']}/{rtype}/{relative}") or {}


def txt_values(record_set: dict[str, Any] | None) -> list[str]:
    """Each TXT record's strings joined, as a resolver hands them to a verifier."""
    props = (record_set or {}).get("properties") or {}
    return ["".join(r.get("value") or []) for r in props.get("TXTRecords") or []]


def cname_target(record_set: dict[str, Any] | None) -> str | None:
    target = (((record_set or {}).get("properties") or {}).get("CNAMERecord") or {}).get("cname")
    return target.lower().rstrip(".") if isinstance(target, str) else None


PROFILES = [
    TypeProfile(type=ZONE, created=201, updated=200, delete_lro=True, latency=3.0,
                provisioning_state=False, populate=_zone_populate, after_write=_zone_after_write,
                body_type="Microsoft.Network/dnszones"),
    *[TypeProfile(type=f"{ZONE}/{t}", created=201, updated=200, latency=2.0, has_location=False,
                  before_write=_record_before_write, populate=_record_populate,
                  after_write=lambda ctx: _count(ctx.engine, ctx.id),
                  on_removed=lambda engine, body, now: _count(engine, body["id"])) for t in RECORD_TYPES],
]
