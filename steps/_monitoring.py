"""Shared helpers for the monitoring steps: ARM ids of the resources they watch, registry checks, e-mails."""

from __future__ import annotations

import re
from typing import Any

from provisioner.core.model import UNKNOWN
from provisioner.engine.config import EnvironmentSpec

# A plain address check: Azure rejects malformed receivers at PUT time; we want the file and key first.
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")

# Resources other steps own, as (ARM type, naming key). Their ids are fixed by the naming rules, so the
# monitoring steps compute them instead of waiting for the observed body.
TARGETS: dict[str, tuple[str, str]] = {
    "web_app": ("Microsoft.Web/sites", "web_app"),
    "app_service_plan": ("Microsoft.Web/serverfarms", "app_service_plan"),
    "postgres_server": ("Microsoft.DBforPostgreSQL/flexibleServers", "postgres_server"),
    "redis": ("Microsoft.Cache/redis", "redis"),
    "key_vault": ("Microsoft.KeyVault/vaults", "key_vault"),
    "storage_account": ("Microsoft.Storage/storageAccounts", "storage_account"),
    "log_analytics": ("Microsoft.OperationalInsights/workspaces", "log_analytics"),
    "app_insights": ("Microsoft.Insights/components", "app_insights"),
    "action_group": ("Microsoft.Insights/actionGroups", "action_group"),
    "static_web_app": ("Microsoft.Web/staticSites", "static_web_app"),
}


def group_id(env: EnvironmentSpec) -> str:
    return f"/subscriptions/{env.subscription_id}/resourceGroups/{env.resource_name('resource_group')}"


def target(env: EnvironmentSpec, step: str) -> tuple[str, str]:
    """(ARM type, naming key) of a step's resource. The step "redis" is Azure Managed Redis or Azure Cache for
    Redis as [redis] kind says (steps/redis.py); "redis_database" is the Managed Redis database."""
    from steps.redis import kind_of

    if step in ("redis", "redis_database") and kind_of(env) == "managed":
        return "Microsoft.Cache/redisEnterprise", "managed_redis"
    return TARGETS[step]


def resource_id(env: EnvironmentSpec, step: str) -> str:
    """The ARM id of another step's resource, from the naming rules."""
    arm_type, key = target(env, step)
    rid = f"{group_id(env)}/providers/{arm_type}/{env.resource_name(key)}"
    return f"{rid}/databases/default" if step == "redis_database" else rid


def observed(known: Any, step: str, *path: str) -> Any:
    """A value from another step's observed body, or UNKNOWN while that resource does not exist."""
    body = (known or {}).get(step)
    for part in path:
        if not isinstance(body, dict):
            return UNKNOWN
        body = body.get(part)
    return UNKNOWN if body is None else body


def bad_emails(addresses: list[str]) -> list[str]:
    return [a for a in addresses if not EMAIL.fullmatch(a)]
