"""The Azure Cache for Redis an environment ran before it moved to Azure Managed Redis: reported, and deleted only
when [redis] remove_old_cache = true and the app's redis-url already names the Managed Redis database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from provisioner.azure import call, raw, wait
from provisioner.core.errors import ProvisionerError
from provisioner.engine.children import Child, Children, Kind
from provisioner.engine.config import EnvironmentSpec
from steps import _secret_values as sv
from steps._monitoring import group_id
from steps.redis import SECTION, Config

LOCKS = "/providers/microsoft.authorization/locks/"
SECRET = "redis-url"  # the app's secret ([key_vault_secrets.secrets] in envs/common.toml)


class OldCache(Children):
    """Listed under the resource group: the cache named by naming.redis, and any lock on it (a lock makes the
    delete a person's decision: provisioner/engine/children.py decide). Kind "report" until the env file says
    remove_old_cache = true."""

    kind: ClassVar[Kind] = "report"
    why: ClassVar[str] = ("the Azure Cache for Redis this environment ran before Azure Managed Redis holds data "
                          "(sessions): set redis.remove_old_cache = true once the app runs on Managed Redis "
                          "(docs/managed-redis.md)")

    def __init__(self, env: EnvironmentSpec):
        super().__init__("redis/old-cache", "resource_group", group_id(env), "Microsoft.Cache/redis")
        self.env = env
        self.group = env.resource_name("resource_group")
        self.cache = env.resource_name("redis")

    def list(self, clients: Any) -> list[Child]:
        body = raw(clients.redis.redis.get, self.group, self.cache)
        if body is None:
            return []
        locks = call(lambda: [lk.serialize(keep_readonly=True) for lk in
                              clients.locks.management_locks.list_at_resource_level(
                                  self.group, "Microsoft.Cache", "", "redis", self.cache)])
        return [Child(str(body.get("id") or ""), self.cache, body)] + [
            Child(str(lk.get("id") or ""), str(lk.get("name") or ""), lk) for lk in locks]

    def platform(self, child: Child) -> str | None:
        # The cache's locks are listed so that the engine sees the cache as locked; they are not ours to judge.
        return "a lock on the old cache" if LOCKS in child.id.lower() else None

    def declared_from(self, observed: Mapping[str, dict | None]) -> set[str]:
        # Until the Managed Redis database exists the old cache is still the app's: not even planned away.
        return set() if observed.get("redis_database") is not None else {self.cache.lower()}

    def shown(self, child: Child) -> dict[str, Any]:
        props = child.body.get("properties") or {}
        return {"properties.sku.name": (props.get("sku") or {}).get("name"), "properties.hostName": props.get("hostName")}

    def delete(self, clients: Any, child: Child) -> None:
        if not names_managed_redis(clients, self.env):
            raise ProvisionerError(
                f"{self.name}: {self.cache} left in place: the app's {SECRET} does not name the Managed Redis "
                "database yet (provision writes it first; re-run provision)")
        wait(call(clients.redis.redis.begin_delete, self.group, self.cache))


class OldCacheRemoved(OldCache):
    kind: ClassVar[Kind] = "revoke"
    why: ClassVar[str] = ("redis.remove_old_cache = true: the Azure Cache for Redis the app no longer uses is "
                          "deleted (its sessions are gone)")


def managed_url(clients: Any, env: EnvironmentSpec) -> str | None:
    """rediss://:<key>@<name>.<region>.redis.azure.net:10000/0 of the Managed Redis database, or None while it
    is missing (POST listKeys: keys never appear in a GET body, spec example RedisEnterpriseDatabasesListKeys)."""
    group, name = env.resource_name("resource_group"), env.resource_name("managed_redis")
    cluster = raw(clients.redisenterprise.redis_enterprise.get, group, name)
    database = raw(clients.redisenterprise.databases.get, group, name, "default")
    host = ((cluster or {}).get("properties") or {}).get("hostName")
    key = sv.managed_redis_primary_key(clients, group, name)
    if not host or database is None or key is None:
        return None
    return sv.redis_url(key, host, int((database.get("properties") or {}).get("port") or 10000))


def names_managed_redis(clients: Any, env: EnvironmentSpec) -> bool:
    """Whether the app's secret, as the vault holds it now, is the Managed Redis URL (its fingerprint tag)."""
    url = managed_url(clients, env)
    vault_id = (f"/subscriptions/{env.subscription_id}/resourceGroups/{env.resource_name('resource_group')}"
                f"/providers/Microsoft.KeyVault/vaults/{env.resource_name('key_vault')}")
    secret = sv.arm_secret(clients, vault_id, SECRET) or {}
    return url is not None and (secret.get("tags") or {}).get(sv.FINGERPRINT_TAG) == sv.sha256(url)


def collection(env: EnvironmentSpec) -> OldCache:
    return OldCacheRemoved(env) if env.section(SECTION, Config).remove_old_cache else OldCache(env)
