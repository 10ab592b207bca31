"""The disaster-recovery drill's targets, names and verdicts (pure: figures in, rows out; no SDK, no network).

Targets are the architecture document's ("Disaster Recovery", RTO/RPO Targets): App Service 15 min / 0, Static Web
App 5 min / 0, PostgreSQL 1 hour / 15 min by point-in-time restore, Redis 30 min / 1 hour by RDB snapshot restore,
Key Vault soft delete with 90-day recovery.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from provisioner.operate.cost import PriceTable, lines_for

COMPONENTS = ("postgres", "keyvault", "app", "frontend", "cache")


@dataclass(frozen=True)
class Target:
    label: str  # the document's component name
    rto: float | None  # seconds; None: the document sets none (Key Vault "N/A")
    rpo: float | None
    method: str


TARGETS: dict[str, Target] = {
    "app": Target("App Service", 15 * 60, 0, "Redeploy from GitHub"),
    "frontend": Target("Static Web App", 5 * 60, 0, "Redeploy from GitHub"),
    "postgres": Target("PostgreSQL", 60 * 60, 15 * 60, "Point-in-time restore"),
    "cache": Target("Redis", 30 * 60, 60 * 60, "RDB snapshot restore"),
    "keyvault": Target("Key Vault", None, None, "Soft delete (90-day recovery)"),
}
KEYVAULT_RECOVERY_DAYS = 90  # "Soft delete (90-day recovery)"
# The document's Redis backup: "RDB snapshots every 4 hours to Storage Account".
DOCUMENT_RDB_MINUTES = 240
# Premium's rdb-backup-frequency takes 15, 30, 60, 360, 720 or 1440 minutes (azurerm redis_cache
# rdb_backup_frequency, from the Redis REST API); Azure Managed Redis's rdbFrequency 1h, 6h or 12h (SDK Persistence).
PREMIUM_RDB_MINUTES = (15, 30, 60, 360, 720, 1440)
MANAGED_RDB_MINUTES = {"1h": 60, "6h": 360, "12h": 720}

PASS, FAIL, ERROR, SKIPPED = "pass", "fail", "error", "skipped"
SCRATCH_TAG = "DrillScratchFor"  # on the scratch server: the source it was restored from (a later run sweeps it)
CANARY_PREFIX = "drill_canary_"


@dataclass
class Row:
    """One line of the report: a component, its targets, what the drill measured and the verdict."""

    component: str
    status: str
    rto: float | None = None  # measured seconds
    rpo: float | None = None
    detail: str = ""
    notes: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> Target:
        return TARGETS[self.component]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        t = self.target
        out["target"] = {"label": t.label, "rto_seconds": t.rto, "rpo_seconds": t.rpo, "method": t.method}
        return out


def exit_code(rows: list[Row]) -> int:
    """0 every target holds, 2 one is missed (or could not be shown to hold), 1 an error."""
    if any(r.status == ERROR for r in rows):
        return 1
    return 2 if any(r.status in (FAIL, SKIPPED) for r in rows) else 0


def choose(component: str) -> tuple[str, ...]:
    return COMPONENTS if component == "all" else (component,)


# ------------------------------------------------------------------------------------------------ PostgreSQL
def scratch_name(source: str, stamp: datetime) -> str:
    """`<source>-drill-<yyyymmddhhmmss>`, within the 63 characters a server name may have."""
    suffix = f"-drill-{stamp:%Y%m%d%H%M%S}"
    return source[: 63 - len(suffix)].rstrip("-") + suffix


def canary_names(stamp: datetime) -> tuple[str, str]:
    """The database written before the restore point, and the one written after it."""
    run = f"{stamp:%Y%m%d%H%M%S}"
    return f"{CANARY_PREFIX}{run}_before", f"{CANARY_PREFIX}{run}_after"


def scratch_body(source: dict[str, Any], point: datetime, tags: dict[str, str]) -> dict[str, Any]:
    """The restore request: Azure's createMode PointInTimeRestore; the rest is inherited from the source."""
    return {"location": source["location"], "tags": tags,
            "properties": {"createMode": "PointInTimeRestore", "sourceServerResourceId": source["id"],
                           "pointInTimeUTC": point.isoformat().replace("+00:00", "Z")}}


def scratch_hourly(source: dict[str, Any], table: PriceTable) -> float:
    """What the scratch server costs per hour: the source's SKU and storage, single instance (a restore of an HA
    server "is restored as a single-instance flexible server")."""
    body = {**source, "properties": {**(source.get("properties") or {}), "highAvailability": {"mode": "Disabled"}}}
    monthly = sum(line.monthly for line in lines_for("drill", "Microsoft.DBforPostgreSQL/flexibleServers", body, table)
                  if not line.usage)
    return monthly / table.hours


def billed_cost(hourly: float, seconds: float) -> float:
    """Partial hours counted whole (the conservative reading of an hourly price)."""
    return round(hourly * max(1, math.ceil(seconds / 3600)), 2)


def postgres_row(*, source_dbs: set[str], restored_dbs: set[str], before: str, after: str | None,
                 point: datetime, before_written: datetime | None, started: float, verified: float,
                 waited: float = 0.0, cost: float | None = None) -> Row:
    """The verdict of a restore: the source's databases and the canary written before the point are there,
    the one written after it is not; RTO = restore request to verified server, RPO = the point against the
    last canary write the restored server holds (its request time: an upper bound of its commit time)."""
    problems = []
    missing = sorted(source_dbs - restored_dbs - {after or ""})
    if missing:
        problems.append(f"databases of the source missing after the restore: {', '.join(missing)}")
    before_seen = before_written is not None and before in restored_dbs
    if before_written is not None and not before_seen:
        problems.append(f"the canary written before the restore point ({before}) is missing: data committed before "
                        "the point was lost")
    if before_written is None and before in restored_dbs:
        problems.append(f"the canary {before}, written after the restore point, is in the restored server")
    if after and after in restored_dbs:
        problems.append(f"the canary written after the restore point ({after}) is in the restored server")
    rto = verified - started
    rpo = (point - before_written).total_seconds() if before_seen and before_written else None
    target = TARGETS["postgres"]
    status = PASS
    notes = []
    if problems:
        status = FAIL
    if target.rto is not None and rto > target.rto:
        status = FAIL
        problems.append(f"restore took {rto:.0f}s, over the {target.rto:.0f}s target")
    if rpo is not None and target.rpo is not None and rpo > target.rpo:
        status = FAIL
        problems.append(f"the newest data recovered is {rpo:.0f}s older than the restore point, over the target")
    if rpo is None and not problems:
        notes.append("RPO not measured: the restore point was given (--at), so no canary was written before it")
    if waited >= 0.5:
        notes.append(f"{waited:.0f}s of the RTO waited for the point's WAL to be restorable")
    figures = {"restore_point": point.isoformat(), "databases_checked": sorted(source_dbs & restored_dbs),
               "restored_databases": sorted(restored_dbs),
               "canary_before": before if before_written else None, "canary_after": after,
               "restore_wait_seconds": round(waited, 1)}
    if cost is not None:
        figures["scratch_cost_usd"] = cost
    return Row("postgres", status, round(rto, 1), None if rpo is None else round(rpo, 1),
               "; ".join(problems) or "restored, the canary before the point found, nothing after it", notes, figures)


# ------------------------------------------------------------------------------------------------ cache
def cache_row(kind: str, body: dict[str, Any], database: dict[str, Any] | None = None) -> Row:
    """What the live cache can promise against the document's RDB-every-4-hours, RTO 30 min / RPO 1 hour.
    `kind` is the ARM type: Microsoft.Cache/redis (Azure Cache for Redis) or Microsoft.Cache/redisEnterprise
    (Azure Managed Redis, whose persistence lives on its database)."""
    notes = [f"the document's own schedule (RDB every {DOCUMENT_RDB_MINUTES // 60} hours) allows up to "
             f"{DOCUMENT_RDB_MINUTES // 60} hours of loss, over its 1-hour RPO: snapshots at most hourly are needed"]
    if kind.lower() == "microsoft.cache/redisenterprise":
        sku = str((body.get("sku") or {}).get("name") or "?")
        persistence = ((database or {}).get("properties") or {}).get("persistence") or {}
        if persistence.get("aofEnabled"):
            return Row("cache", PASS, None, 1.0, f"Azure Managed Redis {sku}: AOF persistence "
                       f"({persistence.get('aofFrequency', '1s')}): at most about a second of writes is lost", notes,
                       {"sku": sku, "persistence": persistence})
        minutes = MANAGED_RDB_MINUTES.get(str(persistence.get("rdbFrequency") or "")) if persistence.get("rdbEnabled") else None
        if minutes is None:
            return Row("cache", FAIL, None, None, f"Azure Managed Redis {sku} has no persistence: a failure loses "
                       "every key. Turn on RDB persistence with rdbFrequency 1h (or AOF)", notes,
                       {"sku": sku, "persistence": persistence})
        ok = minutes * 60 <= (TARGETS["cache"].rpo or 0)
        return Row("cache", PASS if ok else FAIL, None, minutes * 60.0,
                   f"Azure Managed Redis {sku}: RDB every {minutes} min" + ("" if ok else ": over the 1-hour RPO; use 1h"),
                   notes, {"sku": sku, "persistence": persistence})
    redis_sku: dict[str, Any] = (body.get("properties") or {}).get("sku") or body.get("sku") or {}
    tier = str(redis_sku.get("name") or "?")
    size = f"{redis_sku.get('family', '')}{redis_sku.get('capacity', '')}"
    config = (body.get("properties") or {}).get("redisConfiguration") or {}
    if tier.lower() != "premium":
        return Row("cache", FAIL, None, None,
                   f"Azure Cache for Redis {tier} {size} cannot hold the target: RDB and AOF persistence exist only on "
                   "Premium, so a lost cache comes back empty (nothing to restore; RPO: every key). Premium P1 with "
                   "rdb-backup-frequency 60 (RDB to a storage account), or Azure Managed Redis with RDB persistence "
                   "every 1h, could hold RPO 1 hour", notes,
                   {"sku": tier, "size": size, "replicas": (body.get("properties") or {}).get("replicasPerPrimary"),
                    "offers": "a replica with automatic failover (Standard); no persistence"})
    if str(config.get("aof-backup-enabled") or "").lower() == "true":
        return Row("cache", PASS, None, 1.0, f"Premium {size}: AOF persistence (about a second of writes at risk)",
                   notes, {"sku": tier, "size": size})
    if str(config.get("rdb-backup-enabled") or "").lower() != "true":
        return Row("cache", FAIL, None, None, f"Premium {size} without persistence: set rdb-backup-enabled with "
                   "rdb-backup-frequency 60", notes, {"sku": tier, "size": size})
    minutes = int(config.get("rdb-backup-frequency") or 0)
    ok = 0 < minutes * 60 <= (TARGETS["cache"].rpo or 0)
    return Row("cache", PASS if ok else FAIL, None, minutes * 60.0,
               f"Premium {size}: RDB every {minutes} min" + ("" if ok else ": over the 1-hour RPO; use 60"), notes,
               {"sku": tier, "size": size, "rdb_backup_frequency": minutes})


# ------------------------------------------------------------------------------------------------ Key Vault
def keyvault_row(vault: dict[str, Any], purge_protection_declared: bool, recovered_seconds: float | None,
                 same_version: bool) -> Row:
    props = vault.get("properties") or {}
    problems = []
    if props.get("enableSoftDelete") is False:
        problems.append("soft delete is off")
    days = int(props.get("softDeleteRetentionInDays") or 90)
    if days < KEYVAULT_RECOVERY_DAYS:
        problems.append(f"deleted secrets are kept {days} days, under the document's {KEYVAULT_RECOVERY_DAYS}")
    purge = bool(props.get("enablePurgeProtection"))
    if purge_protection_declared and not purge:
        problems.append("purge protection is off although the environment declares it (a deleted secret can be "
                        "purged before its retention ends)")
    if recovered_seconds is None:
        problems.append("the scratch secret was not recovered")
    elif not same_version:
        problems.append("the recovered secret is not the version that was deleted")
    return Row("keyvault", FAIL if problems else PASS, recovered_seconds, None,
               "; ".join(problems) or f"a deleted secret was recovered from soft delete ({days}-day retention)",
               [] if purge else ["purge protection is off: a person with purge rights can destroy a deleted secret"],
               {"retention_days": days, "purge_protection": purge})


# ------------------------------------------------------------------------------------------------ app, frontend
def redeploy_row(component: str, seconds: float, before: str, after: str, what: str,
                 kept: str = "the code is in Git and the image in the registry; nothing lives on the host") -> Row:
    target = TARGETS[component]
    problems = []
    if before != after:
        problems.append(f"running {after} after the redeploy, was {before}")
    if target.rto is not None and seconds > target.rto:
        problems.append(f"redeploy took {seconds:.0f}s, over the {target.rto:.0f}s target")
    return Row(component, FAIL if problems else PASS, round(seconds, 1), 0.0 if before == after else None,
               "; ".join(problems) or f"redeployed the running version {what}",
               [f"RPO 0 by construction: {kept}"],
               {"version": before})
