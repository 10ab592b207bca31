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


def _registered(engine: EngineApi, host: str) -> dict[str, Any] | None:
    """The zone the registrar points at for `host`'s registered domain. This cloud treats a zone of two labels
    (a name directly under a public suffix, e.g. fundrbolt.app) as registered with its name servers; when
    several groups hold a zone of that name, the registrar can list only one: the oldest."""
    labels = host.split(".")
    if len(labels) < 2:
        return None
    apex = ".".join(labels[-2:])
    zones = [z for z in engine.find(ZONE) if z["name"].lower() == apex]
    return min(zones, key=lambda z: (((z.get("systemData") or {}).get("createdAt") or ""), z["id"])) if zones else None


def _delegated(engine: EngineApi, zone: dict[str, Any], host: str) -> tuple[bool, dict[str, Any] | None]:
    """Whether `zone` hands part of `host`'s path to a child (an NS record set below its apex), and the zone of
    this cloud whose name servers that NS set names (None: a lame or foreign delegation nobody here answers)."""
    name = zone["name"].lower()
    labels = host[: -len(name) - 1].split(".") if host != name else []
    for depth in range(len(labels), 0, -1):  # the delegation point nearest to the zone apex wins
        relative = ".".join(labels[-depth:])
        child = f"{relative}.{name}"
        ns = engine.get(f"{zone['id']}/NS/{relative}")
        if ns is None:
            continue
        wanted = sorted(str(r.get("nsdname") or "").lower().rstrip(".") for r in ns["properties"].get("NSRecords") or [])
        for candidate in engine.find(ZONE):
            servers = sorted(s.lower().rstrip(".") for s in candidate["properties"].get("nameServers") or [])
            if candidate["name"].lower() == child and servers == wanted:
                return True, candidate
        return True, None
    return False, None


def find_record_set(engine: EngineApi, fqdn: str, rtype: str) -> dict[str, Any] | None:
    """The record set public DNS answers for `fqdn`, found as a resolver finds it: from the registered zone
    down the delegation chain (NS record sets naming each child zone's name servers, RFC 1034 §4.3.2;
    https://learn.microsoft.com/azure/dns/delegate-subdomain). A zone of this cloud that is not delegated
    is invisible, as in Azure. Returns {} when the answering zone has no such set, None when nothing answers."""
    host = fqdn.lower().rstrip(".")
    zone = _registered(engine, host)
    while zone is not None:
        delegated, child = _delegated(engine, zone, host)
        if not delegated:
            name = zone["name"].lower()
            relative = "@" if host == name else host[: -len(name) - 1]
            return engine.get(f"{zone['id']}/{rtype}/{relative}") or {}
        zone = child
    return None


def txt_values(record_set: dict[str, Any] | None) -> list[str]:
    """Each TXT record's strings joined, as a resolver hands them to a verifier."""
    props = (record_set or {}).get("properties") or {}
    return ["".join(r.get("value") or []) for r in props.get("TXTRecords") or []]


def cname_target(record_set: dict[str, Any] | None) -> str | None:
    target = (((record_set or {}).get("properties") or {}).get("CNAMERecord") or {}).get("cname")
    return target.lower().rstrip(".") if isinstance(target, str) else None


def _all_record_sets(engine: EngineApi, path: Any) -> list[dict[str, Any]]:
    """GET .../dnsZones/{zone}/recordsets (RecordSets_ListByDnsZone) and .../all (RecordSets_ListAllByDnsZone):
    every record set of the zone, of every type, the apex NS and SOA included (azure-rest-api-specs dns
    RecordSets; arm-examples ListRecordSetsByZone)."""
    zone_id = path.parent_id
    if engine.get(zone_id) is None:
        raise ArmError(404, "ParentResourceNotFound", f"Can not perform requested operation on nested resource. "
                       f"Parent resource '{zone_id}' not found.")
    return _record_sets(engine, zone_id)


PROFILES = [
    *[TypeProfile(type=f"{ZONE}/{listing}", latency=1.0, has_location=False, provisioning_state=False,
                  methods=frozenset({"GET"}), list_fn=_all_record_sets) for listing in ("recordsets", "all")],
    TypeProfile(type=ZONE, created=201, updated=200, delete_lro=True, latency=3.0,
                provisioning_state=False, populate=_zone_populate, after_write=_zone_after_write,
                body_type="Microsoft.Network/dnszones"),
    *[TypeProfile(type=f"{ZONE}/{t}", created=201, updated=200, latency=2.0, has_location=False,
                  before_write=_record_before_write, populate=_record_populate,
                  after_write=lambda ctx: _count(ctx.engine, ctx.id),
                  on_removed=lambda engine, body, now: _count(engine, body["id"])) for t in RECORD_TYPES],
]
