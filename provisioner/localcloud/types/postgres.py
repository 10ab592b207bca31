"""Microsoft.DBforPostgreSQL flexible servers and their databases, firewall rules, configurations."""

from __future__ import annotations

from typing import Any

from .. import pg_arm
from ..errors import ArmError
from ..ids import ArmPath
from ..profile import EngineApi, TypeProfile, WriteCtx, defaults

# Azure's code for a write to a server (or its children) while it is busy: "Server '<name>' is busy with
# another operation. Please try again later. (Code: ServerBusy)" (Azure/bicep-registry-modules#4451).
BUSY = "ServerBusy"
# Realistic seconds a new server stays `Updating` after its create operation has ended (HA: while the
# standby is built, HA state `CreatingStandby`); child writes meanwhile get 409 ServerBusy.
SETTLE_SECONDS = {"Disabled": 60.0, "ZoneRedundant": 300.0, "SameZone": 240.0}

_IOPS = {32: 120, 64: 240, 128: 500, 256: 1100, 512: 2300, 1024: 5000, 2048: 7500}


def _lane(resource_id: str) -> str | None:
    """Children of one server are written one at a time (409 ServerIsBusy otherwise)."""
    low = resource_id.lower()
    k = low.find("/flexibleservers/")
    if k < 0:
        return None
    end = low.find("/", k + len("/flexibleservers/"))
    return resource_id if end < 0 else resource_id[:end]


def _ha(body: dict[str, Any]) -> str:
    return str(((body.get("properties") or {}).get("highAvailability") or {}).get("mode") or "Disabled")


def _server_before_write(ctx: WriteCtx) -> None:
    """A point-in-time restore is checked first; then the real cluster is created, restored or given its new
    password (provisioner/localcloud/pg_arm.py), so a refusal leaves nothing stored."""
    if pg_arm.is_restore(ctx):
        pg_arm.check_restore(ctx)
    pg_arm.real_write(ctx)


def _server_populate(ctx: WriteCtx) -> None:
    pg_arm.inherit(ctx)  # a restored server takes its source's configuration
    props = ctx.props
    old = (ctx.existing or {}).get("properties") or {}
    storage = dict(props.get("storage") or {})
    size = int(storage.get("storageSizeGB") or 32)
    before = int((old.get("storage") or {}).get("storageSizeGB") or 0)
    if before and size < before:
        # learn.microsoft.com/azure/postgresql/flexible-server/how-to-scale-compute-storage-portal:
        # "You can't scale down the storage." (error code chosen by the local cloud; the refusal is Azure's)
        raise ArmError(400, "InvalidStorageSizeDecrease", f"The storage size cannot be decreased from {before} GB "
                       f"to {size} GB.")
    defaults(storage, {"storageSizeGB": size, "autoGrow": "Disabled", "iops": _IOPS.get(size, 120),
                       "tier": f"P{max(4, size.bit_length() - 1) if size != 32 else 4}", "type": ""})
    backup = dict(props.get("backup") or {})
    defaults(backup, {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"})
    backup["earliestRestoreDate"] = old.get("backup", {}).get("earliestRestoreDate", ctx.now)
    ha = dict(props.get("highAvailability") or {})
    ha.setdefault("mode", "Disabled")
    ha["state"] = "Healthy" if ha["mode"] != "Disabled" else "NotEnabled"
    state = old.get("state", "Ready")
    if ctx.created:
        # A new server stays Updating until it is usable (HA: the standby is still being created); `_settle`
        # makes it Ready once the create operation has ended plus SETTLE_SECONDS.
        state = "Updating"
        if ha["mode"] != "Disabled":
            ha["state"] = "CreatingStandby"
    if ha["mode"] == "ZoneRedundant":
        ha.setdefault("standbyAvailabilityZone", "2")
    defaults(props, {"version": "16", "availabilityZone": "1", "replicationRole": "Primary", "replicaCapacity": 5,
                     "network": {"publicNetworkAccess": "Enabled"},
                     "maintenanceWindow": {"customWindow": "Disabled", "dayOfWeek": 0, "startHour": 0, "startMinute": 0},
                     "authConfig": {"activeDirectoryAuth": "Disabled", "passwordAuth": "Enabled"},
                     "dataEncryption": {"type": "SystemManaged"}})
    props.update(storage=storage, backup=backup, highAvailability=ha, state=state,
                 fullyQualifiedDomainName=f"{ctx.path.name}.postgres.database.azure.com",
                 minorVersion={"16": "4", "15": "8", "14": "13", "13": "16"}.get(str(props["version"]), "0"))
    if not props.get("administratorLogin") and old.get("administratorLogin"):
        props["administratorLogin"] = old["administratorLogin"]


def _ready(engine: EngineApi, body: dict[str, Any]) -> None:
    props = body.get("properties") or {}
    props["state"] = "Ready"
    ha = props.get("highAvailability") or {}
    ha["state"] = "Healthy" if ha.get("mode", "Disabled") != "Disabled" else "NotEnabled"


def _settle(engine: EngineApi, body: dict[str, Any]) -> None:
    """The create operation has ended: the server stays Updating a while longer (in the server's lane, so
    child writes get ServerBusy), then turns Ready."""
    props = body.get("properties") or {}
    if props.get("state") != "Updating":
        return
    mode = str((props.get("highAvailability") or {}).get("mode") or "Disabled")
    engine.later(body["id"], SETTLE_SECONDS.get(mode, 60.0), _lane(body["id"]), _ready)


def _db_populate(ctx: WriteCtx) -> None:
    defaults(ctx.props, {"charset": "UTF8", "collation": "en_US.utf8"})


def _config_default(engine: EngineApi, path: ArmPath) -> dict[str, Any] | None:
    return {"id": path.path, "name": path.name, "type": path.full_type, "properties": {
        "value": "", "description": "", "defaultValue": "", "dataType": "String", "allowedValues": "",
        "source": "system-default", "isDynamicConfig": True, "isReadOnly": False, "isConfigPendingRestart": False}}


def _config_populate(ctx: WriteCtx) -> None:
    value = ctx.props.get("value")
    ctx.props["source"] = "user-override" if value not in (None, "") else "system-default"


def _server_after_write(ctx: WriteCtx) -> None:
    pg_arm.after_restore(ctx)


def _child(type_name: str, **kw: Any) -> TypeProfile:
    return TypeProfile(type=type_name, lro=True, created=202, updated=202, patch_status=202, patch_lro=True,
                       delete_lro=True, latency=20.0, provisioning_state=False, has_location=False, busy_lane=_lane,
                       busy_code=BUSY, **kw)


PROFILES = [
    TypeProfile(type="Microsoft.DBforPostgreSQL/flexibleServers", lro=True, created=202, updated=202,
                patch_status=202, patch_lro=True, delete_lro=True, latency=600.0,
                latency_fn=lambda body: 900.0 if _ha(body) == "ZoneRedundant" else 600.0,
                provisioning_state=False, busy_lane=_lane, busy_code=BUSY, populate=_server_populate,
                on_settled=_settle, before_write=_server_before_write, after_write=_server_after_write,
                before_delete=pg_arm.server_deleting, on_removed=pg_arm.server_removed,
                write_only=("properties.administratorLoginPassword", "properties.createMode",
                            "properties.pointInTimeUTC", "properties.sourceServerResourceId")),
    # The real cluster (where the local cloud has one) follows each child write: pg_arm.py.
    _child("Microsoft.DBforPostgreSQL/flexibleServers/databases", populate=_db_populate,
           before_write=pg_arm.database_written, on_removed=pg_arm.database_removed),
    _child("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules", after_write=pg_arm.child_changed,
           on_removed=pg_arm.child_removed),
    _child("Microsoft.DBforPostgreSQL/flexibleServers/configurations", default_body=_config_default,
           populate=_config_populate, after_write=pg_arm.child_changed),
]
