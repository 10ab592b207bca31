"""ARM side of the real PostgreSQL engine: point-in-time restore requests, and the writes (password, databases,
firewall rules, require_secure_transport) that reach the server's cluster. Hooks in types/postgres.py call these.

Point-in-time restore, as Azure documents it (learn.microsoft.com/azure/postgresql/flexible-server/
concepts-backup-restore, "Point-in-time recovery"): a PUT of a new server with createMode PointInTimeRestore,
sourceServerResourceId and pointInTimeUTC; the new server is in the source's region, "created with the source
server's configuration for the pricing tier, compute generation, number of virtual cores, storage size, backup
retention period, and backup redundancy option. Also, tags and settings such as virtual networks and firewall
settings are inherited from the source server"; an HA source is "restored as a single-instance flexible server";
the point must lie "within the retention period". Points within the last 5 minutes may not be restorable yet
("wait for up to 5 minutes and try to restore again", Azure's PITR troubleshooting guide).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import ArmError
from .ids import type_of
from .profile import EngineApi, WriteCtx

SERVER = "Microsoft.DBforPostgreSQL/flexibleServers"
FIREWALL = f"{SERVER}/firewallRules"
DATABASE = f"{SERVER}/databases"
# Seconds of WAL that may not be archived yet (realistic latency, scaled by the time scale; none under fast).
WAL_LAG_SECONDS = 300.0
INHERITED = ("version", "administratorLogin", "storage", "backup", "network", "authConfig", "dataEncryption")


def pg(engine: EngineApi) -> Any:
    """The cloud's PgEngine, or None (a bare Engine in unit tests)."""
    engine_pg = getattr(engine, "pg", None)
    return engine_pg if engine_pg is not None and engine_pg.real else None


def _parse_time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_restore(ctx: WriteCtx) -> bool:
    return ctx.created and str(ctx.sent_props.get("createMode") or "").lower() == "pointintimerestore"


def _bad(message: str, code: str = "InvalidParameterValue") -> ArmError:
    # Error codes chosen by the local cloud; the refusals are Azure's (see the module docstring).
    return ArmError(400, code, message)


def check_restore(ctx: WriteCtx) -> None:
    """Refuse a restore Azure refuses; remember the source and the point in ctx.extra."""
    props = ctx.sent_props
    source_id = str(props.get("sourceServerResourceId") or "")
    if not source_id:
        raise _bad("sourceServerResourceId is required when createMode is PointInTimeRestore.")
    point = _parse_time(props.get("pointInTimeUTC"))
    if props.get("pointInTimeUTC") in (None, "") or point is None:
        raise _bad("pointInTimeUTC is required, in ISO 8601 format, when createMode is PointInTimeRestore.")
    source = ctx.engine.get(source_id)
    if source is None or type_of(source_id).lower() != SERVER.lower():
        raise ArmError(404, "ResourceNotFound", f"The source server '{source_id}' was not found.")
    if ctx.body.get("location") and str(ctx.body["location"]).replace(" ", "").lower() != source.get("location"):
        raise _bad("A point-in-time restore creates the server in the source server's region "
                   f"({source.get('location')}); use GeoRestore for another region.")
    earliest = _parse_time(((source.get("properties") or {}).get("backup") or {}).get("earliestRestoreDate"))
    now = datetime.now(UTC)
    if earliest and point < earliest:
        raise _bad(f"The point in time {point.isoformat()} is before the earliest restore point of the source server "
                   f"({earliest.isoformat()}).", "InvalidPointInTimeRestore")
    if point > now:
        raise _bad(f"The point in time {point.isoformat()} is in the future.", "InvalidPointInTimeRestore")
    engine = ctx.engine
    lag = 0.0 if getattr(engine, "latency", "fast") == "fast" else WAL_LAG_SECONDS * float(getattr(engine, "time_scale", 1.0))
    if point > now - timedelta(seconds=lag):
        raise _bad(f"The backup for the point in time {point.isoformat()} is not available yet: wait for up to "
                   "5 minutes and try to restore again.", "PointInTimeRestoreNotAvailable")
    ctx.extra.update(source=source, point=point)


def inherit(ctx: WriteCtx) -> None:
    """The restored server's configuration comes from its source (what the caller sent does not override it)."""
    if "source" not in ctx.extra:
        return
    source = ctx.extra["source"]
    sprops = source.get("properties") or {}
    for key in INHERITED:
        if key in sprops:
            ctx.props[key] = copy.deepcopy(sprops[key])
    ctx.props.get("backup", {}).pop("earliestRestoreDate", None)
    ctx.props["highAvailability"] = {"mode": "Disabled"}
    ctx.body["sku"] = copy.deepcopy(source.get("sku") or ctx.body.get("sku"))
    if not ctx.body.get("tags"):
        ctx.body["tags"] = copy.deepcopy(source.get("tags") or {})
    ctx.body["location"] = source.get("location")


def real_write(ctx: WriteCtx) -> None:
    """Before a server body is stored: create or restore its cluster, or set a new password (a failure leaves
    nothing stored)."""
    engine_pg = pg(ctx.engine)
    if engine_pg is None:
        return
    name = ctx.path.name
    fqdn = f"{name}.postgres.database.azure.com"
    if is_restore(ctx):
        source = ctx.extra["source"]
        try:
            ctx.extra["databases"] = engine_pg.restore(ctx.id, fqdn, source["id"], ctx.extra["point"])
        except Exception as exc:  # noqa: BLE001 - the cluster's failure, answered as ARM's
            raise ArmError(500, "InternalServerError", f"The restore failed: {exc}") from None
        return
    login = str(ctx.sent_props.get("administratorLogin") or ((ctx.existing or {}).get("properties") or {})
                .get("administratorLogin") or "")
    password = str(ctx.sent_props.get("administratorLoginPassword") or "")
    if ctx.created:
        engine_pg.create(ctx.id, fqdn, login, password)
    elif password:
        engine_pg.set_password(ctx.id, login, password)


def after_restore(ctx: WriteCtx) -> None:
    """A restored server's children: its source's firewall rules (inherited), and its databases (the restored
    cluster's, or without an engine the source's databases that existed at the point in time)."""
    if "source" not in ctx.extra:
        return
    engine, source, new_id = ctx.engine, ctx.extra["source"], ctx.id
    for rule in engine.find(FIREWALL, under=source["id"]):
        child = copy.deepcopy(rule)
        child["id"] = f"{new_id}/firewallRules/{rule['name']}"
        engine.put_raw(child["id"], child)
    if "databases" in ctx.extra:
        names = list(ctx.extra["databases"])
    else:
        point = ctx.extra["point"]
        names = [d["name"] for d in engine.find(DATABASE, under=source["id"])
                 if (_parse_time((d.get("systemData") or {}).get("createdAt")) or point) <= point]
    by_name = {d["name"]: d for d in engine.find(DATABASE, under=source["id"])}
    for name in names:
        base = by_name.get(name) or {"name": name, "type": DATABASE,
                                     "properties": {"charset": "UTF8", "collation": "en_US.utf8"}}
        child = copy.deepcopy(base)
        child["id"] = f"{new_id}/databases/{name}"
        engine.put_raw(child["id"], child)
    refresh_firewall(engine, new_id)


def server_of(child_id: str) -> str:
    low = child_id.lower()
    k = low.find("/flexibleservers/")
    end = low.find("/", k + len("/flexibleservers/"))
    return child_id if end < 0 else child_id[:end]


def refresh_firewall(engine: EngineApi, server_id: str) -> None:
    engine_pg = pg(engine)
    if engine_pg is None or not engine_pg.has(server_id):
        return
    rules = [(str((r.get("properties") or {}).get("startIpAddress")), str((r.get("properties") or {}).get("endIpAddress")))
             for r in engine.find(FIREWALL, under=server_id)]
    config = engine.get(f"{server_id}/configurations/require_secure_transport")
    ssl_only = str(((config or {}).get("properties") or {}).get("value") or "on").lower() != "off"
    engine_pg.set_firewall(server_id, rules, ssl_only)


def database_written(ctx: WriteCtx) -> None:
    engine_pg = pg(ctx.engine)
    if engine_pg is not None and ctx.created:
        try:
            engine_pg.create_database(server_of(ctx.id), ctx.path.name, str(ctx.props.get("charset") or "UTF8"),
                                      str(ctx.props.get("collation") or ""))
        except Exception as exc:  # noqa: BLE001 - the cluster refused (a bad charset): answered as ARM's
            raise ArmError(400, "InvalidParameterValue", f"The database could not be created: {exc}") from None


def server_deleting(engine: EngineApi, body: dict[str, Any]) -> None:
    """A DELETE of the server was accepted: its children's removal need not reach the cluster."""
    engine_pg = pg(engine)
    if engine_pg is not None:
        engine_pg.deleting.add(body["id"].lower())


def _going(engine_pg: Any, server_id: str) -> bool:
    return server_id.lower() in engine_pg.deleting


def database_removed(engine: EngineApi, body: dict[str, Any], now: str) -> None:
    engine_pg = pg(engine)
    if engine_pg is not None and not _going(engine_pg, server_of(body["id"])):
        engine_pg.drop_database(server_of(body["id"]), body["name"])


def child_changed(ctx: WriteCtx) -> None:
    refresh_firewall(ctx.engine, server_of(ctx.id))


def child_removed(engine: EngineApi, body: dict[str, Any], now: str) -> None:
    server_id = server_of(body["id"])
    engine_pg = pg(engine)
    if engine_pg is not None and not _going(engine_pg, server_id):  # not when the whole server is going
        refresh_firewall(engine, server_id)


def server_removed(engine: EngineApi, body: dict[str, Any], now: str) -> None:
    engine_pg = pg(engine)
    if engine_pg is not None:
        engine_pg.drop(body["id"])
