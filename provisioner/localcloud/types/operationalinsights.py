"""Microsoft.OperationalInsights: Log Analytics workspaces (LRO create and delete)."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..profile import TypeProfile, WriteCtx, defaults, det_guid


def _populate(ctx: WriteCtx) -> None:
    props = ctx.props
    old = (ctx.existing or {}).get("properties") or {}
    created = old.get("createdDate", ctx.now[:19] + "Z")
    sku = dict(props.get("sku") or {"name": "PerGB2018"})
    sku["lastSkuUpdate"] = (old.get("sku") or {}).get("lastSkuUpdate", created)
    capping = dict(props.get("workspaceCapping") or {})
    capping.setdefault("dailyQuotaGb", -1.0)
    tomorrow = (datetime.fromisoformat(ctx.now[:19]) + timedelta(days=1)).strftime("%Y-%m-%dT%H:00:00Z")
    capping.update(quotaNextResetTime=tomorrow, dataIngestionStatus="RespectQuota")
    defaults(props, {"retentionInDays": 30, "publicNetworkAccessForIngestion": "Enabled",
                     "publicNetworkAccessForQuery": "Enabled"})
    features = dict(props.get("features") or {})
    defaults(features, {"legacy": 0, "searchVersion": 1, "enableLogAccessUsingOnlyResourcePermissions": True})
    props.update(
        customerId=old.get("customerId") or det_guid(ctx.id, created, "customerId"),
        sku=sku, workspaceCapping=capping, features=features, createdDate=created,
        modifiedDate=ctx.now[:19] + "Z",
    )


PROFILES = [
    TypeProfile(type="Microsoft.OperationalInsights/workspaces", lro=True, created=201, updated=200,
                patch_status=200, delete_lro=True, latency=40.0, populate=_populate),
]
