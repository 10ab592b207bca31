"""Collections we own whole: where the platform defines a parent's set of children, list it, so a child no
env file declares is drift (revoked by provision when it grants access, reported when it holds data)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from provisioner.azure import call, raw, wait
from provisioner.engine.children import Child, Children, Kind
from provisioner.engine.config import EnvironmentSpec
from steps import owned_routes, redis_firewall
from steps._monitoring import resource_id
from steps.deployment_slot import slot_config, slots_enabled
from steps.diagnostic_setting import API_VERSION as DIAG_API
from steps.diagnostic_setting import scope_of as diag_scope
from steps.diagnostic_setting import targets as diag_targets
from steps.lock import LOCKABLE, lockable
from steps.postgres_server import lane_of as pg_lane
from steps.redis import kind_of
from steps.redis import lane_of as redis_lane
from steps.retired_cache import collection as old_cache

SECTION = None  # nothing to configure: what is ours follows from the other steps


def _wire(item: Any) -> dict[str, Any]:
    """An SDK model as its wire body (msrest models serialize; the newer typespec models are mappings)."""
    if hasattr(item, "serialize"):
        return dict(item.serialize(keep_readonly=True))
    return dict(item.as_dict()) if hasattr(item, "as_dict") else dict(item)


def _children(items: Any) -> list[Child]:
    out = []
    for item in items:
        body = _wire(item)
        rid = str(body.get("id") or "")
        out.append(Child(rid, rid.rsplit("/", 1)[-1], body))
    return out


def _props(child: Child) -> dict[str, Any]:
    return dict(child.body.get("properties") or {})


class _Owned(Children):
    kind: ClassVar[Kind] = "revoke"

    def __init__(self, env: EnvironmentSpec, name: str, parent_step: str, parent_id: str, child_type: str):
        super().__init__(name, parent_step, parent_id, child_type)
        self.env = env

    @property
    def group(self) -> str:
        return self.env.resource_name("resource_group")


# ------------------------------------------------------------------------------------------ PostgreSQL
class _PgChildren(_Owned):
    def __init__(self, env: EnvironmentSpec, segment: str, child_type: str):
        super().__init__(env, f"postgres_server/{segment}", "postgres_server", resource_id(env, "postgres_server"),
                         child_type)
        self.server = env.resource_name("postgres_server")

    @property
    def lane(self) -> str | None:
        return pg_lane(self.env)  # children of one server are written one at a time (409 ServerIsBusy)


class PgFirewallRules(_PgChildren):
    why = "a firewall rule admits addresses to the database server"

    def __init__(self, env: EnvironmentSpec):
        super().__init__(env, "firewallRules", "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules")

    def list(self, clients: Any) -> list[Child]:
        return call(lambda: _children(clients.postgres.firewall_rules.list_by_server(self.group, self.server)))

    def delete(self, clients: Any, child: Child) -> None:
        wait(call(clients.postgres.firewall_rules.begin_delete, self.group, self.server, child.name))

    def shown(self, child: Child) -> dict[str, Any]:
        p = _props(child)
        return {"properties.startIpAddress": p.get("startIpAddress"), "properties.endIpAddress": p.get("endIpAddress")}


class PgDatabases(_PgChildren):
    kind = "report"
    why = "a database holds data; it is never deleted by provision"
    # Every flexible server has these (learn.microsoft.com/azure/postgresql/flexible-server/concepts-servers:
    # "azure_maintenance", "azure_sys" and the default "postgres" database are created with the server).
    SYSTEM = ("postgres", "azure_maintenance", "azure_sys")

    def __init__(self, env: EnvironmentSpec):
        super().__init__(env, "databases", "Microsoft.DBforPostgreSQL/flexibleServers/databases")

    def list(self, clients: Any) -> list[Child]:
        return call(lambda: _children(clients.postgres.databases.list_by_server(self.group, self.server)))

    def platform(self, child: Child) -> str | None:
        if child.name.lower().startswith("drill_canary_"):
            # provisioner/operate/drill_plan.py CANARY_PREFIX: an empty database a drill wrote before its restore
            # point; production's CanNotDelete lock keeps it until the lock is lifted (docs/recovery.md).
            return "a disaster-recovery drill's canary"
        return "created with every server" if child.name.lower() in self.SYSTEM else None


class PgParameters(_PgChildren):
    """A server parameter is "a child no env declares" when its `source` is `user-override` (someone set it)
    and no postgres_configuration step declares it. Every other parameter is at the server's default."""

    kind = "report"
    why = ("a server parameter set by hand is reported, not reset: it tunes the server rather than granting "
           "access, and resetting a static one restarts the server")

    def __init__(self, env: EnvironmentSpec):
        super().__init__(env, "configurations", "Microsoft.DBforPostgreSQL/flexibleServers/configurations")

    def list(self, clients: Any) -> list[Child]:
        return call(lambda: _children(clients.postgres.configurations.list_by_server(self.group, self.server)))

    def platform(self, child: Child) -> str | None:
        source = str(_props(child).get("source") or "").lower()
        return None if source == "user-override" else f"source {source or 'system-default'}"

    def shown(self, child: Child) -> dict[str, Any]:
        return {"properties.value": _props(child).get("value")}


# ------------------------------------------------------------------------------------------ Redis
class RedisFirewallRules(_Owned):
    """Rules on the cache beyond the ones named after the web app's outbound addresses (steps/redis_firewall)."""

    why = "a firewall rule admits addresses to the cache"

    def __init__(self, env: EnvironmentSpec):
        super().__init__(env, "redis/firewallRules", "redis", resource_id(env, "redis"), "Microsoft.Cache/redis/firewallRules")
        self.cache = env.resource_name("redis")

    @property
    def lane(self) -> str | None:
        return redis_lane(self.env)  # one management operation at a time on a cache

    def list(self, clients: Any) -> list[Child]:
        found = redis_firewall.list_rules(clients, self.group, self.cache) or []
        return [Child(str(r.get("id") or ""), redis_firewall.short(r.get("name")), r) for r in found]

    def declared_from(self, observed: Mapping[str, dict | None]) -> set[str]:
        return redis_firewall.declared_names(observed.get("web_app")) or set()

    def delete(self, clients: Any, child: Child) -> None:
        call(clients.redis.firewall_rules.delete, self.group, self.cache, child.name)

    def shown(self, child: Child) -> dict[str, Any]:
        p = _props(child)
        return {"properties.startIP": p.get("startIP"), "properties.endIP": p.get("endIP")}


# ------------------------------------------------------------------------------------------ web app
class HostNameBindings(_Owned):
    why = "a host-name binding routes another domain's traffic to the API"

    def __init__(self, env: EnvironmentSpec):
        super().__init__(env, "web_app/hostNameBindings", "web_app", resource_id(env, "web_app"),
                         "Microsoft.Web/sites/hostNameBindings")
        self.site = env.resource_name("web_app")

    def list(self, clients: Any) -> list[Child]:
        return call(lambda: _children(clients.web.web_apps.list_host_name_bindings(self.group, self.site)))

    def delete(self, clients: Any, child: Child) -> None:
        call(clients.web.web_apps.delete_host_name_binding, self.group, self.site, child.name)

    def platform(self, child: Child) -> str | None:
        # The default <site>.azurewebsites.net binding comes with every site and cannot be removed.
        return "the site's default host name" if child.name.lower().endswith(".azurewebsites.net") else None


class StaticSiteDomains(_Owned):
    why = "a custom domain routes another domain's traffic to the admin site"

    def __init__(self, env: EnvironmentSpec):
        super().__init__(env, "static_web_app/customDomains", "static_web_app", resource_id(env, "static_web_app"),
                         "Microsoft.Web/staticSites/customDomains")
        self.site = env.resource_name("static_web_app")

    def list(self, clients: Any) -> list[Child]:
        return call(lambda: _children(clients.web.static_sites.list_static_site_custom_domains(self.group, self.site)))

    def delete(self, clients: Any, child: Child) -> None:
        wait(call(clients.web.static_sites.begin_delete_static_site_custom_domain, self.group, self.site, child.name))


class Slots(_Owned):
    kind = "report"
    why = ("a deployment slot is a whole running app (its own content, settings and identity) that a swap "
           "would put in production; reported for a person to remove or declare, never deleted by provision")

    def __init__(self, env: EnvironmentSpec):
        super().__init__(env, "web_app/slots", "web_app", resource_id(env, "web_app"), "Microsoft.Web/sites/slots")
        self.site = env.resource_name("web_app")

    def list(self, clients: Any) -> list[Child]:
        return call(lambda: _children(clients.web.web_apps.list_slots(self.group, self.site)))


# ------------------------------------------------------------------------------------------ diagnostics, locks
class DiagnosticSettings(_Owned):
    why = "a diagnostic setting ships the resource's logs elsewhere"

    def __init__(self, env: EnvironmentSpec, target: str, owner: str, scope: str):
        super().__init__(env, f"{target}/diagnosticSettings", owner, scope, "Microsoft.Insights/diagnosticSettings")

    def list(self, clients: Any) -> list[Child]:
        body = raw(clients.resource.resources.get_by_id, f"{self.parent_id}/providers/Microsoft.Insights/diagnosticSettings",
                   api_version=DIAG_API) or {}
        return [Child(str(b.get("id") or ""), str(b.get("id") or "").rsplit("/", 1)[-1], b) for b in body.get("value") or []]

    def delete(self, clients: Any, child: Child) -> None:
        wait(call(clients.resource.resources.begin_delete_by_id, child.id, api_version=DIAG_API))

    def platform(self, child: Child) -> str | None:
        # Listed at this resource only: a setting on a sub-resource (blobServices/default) has its own list.
        parent = child.id.lower().split("/providers/microsoft.insights/diagnosticsettings/")[0]
        return None if parent == self.parent_id.lower() else "on a sub-resource"

    def shown(self, child: Child) -> dict[str, Any]:
        p = _props(child)
        return {f"properties.{k}": p.get(k) for k in ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId")
                if p.get(k)}


class Locks(_Owned):
    kind = "report"
    why = "a lock protects the resource; removing a protection someone added is a person's decision"

    def __init__(self, env: EnvironmentSpec, target: str, namespace: str, rtype: str, name: str, scope: str):
        super().__init__(env, f"{target}/locks", target, scope, "Microsoft.Authorization/locks")
        self.args = (namespace, "", rtype, name)

    def list(self, clients: Any) -> list[Child]:
        items = call(lambda: _children(clients.locks.management_locks.list_at_resource_level(self.group, *self.args)))
        # Locks are listed at the resource and below; a lock on a child resource is that child's business.
        return [c for c in items if c.id.lower().startswith(self.parent_id.lower() + "/providers/")]

    def shown(self, child: Child) -> dict[str, Any]:
        return {"properties.level": _props(child).get("level")}


def instances(env: EnvironmentSpec) -> list[Any]:
    return []


def children(env: EnvironmentSpec) -> list[Children]:
    """Every owned collection of the environment (the app and slot settings are owned whole by their own
    steps: each is one body replaced as a set)."""
    out: list[Children] = [
        PgFirewallRules(env), PgDatabases(env), PgParameters(env),
        HostNameBindings(env), StaticSiteDomains(env), Slots(env),
        owned_routes.DnsRecordSets(env), owned_routes.VnetSubnets(env),
        *(owned_routes.PrivateEndpointConnections(env, owner) for owner in owned_routes.PRIVATE_LINK_TYPES),
    ]
    out += [RedisFirewallRules(env)] if kind_of(env) == "cache" else [old_cache(env)]
    for target, (owner, _sub, _logs, _metric) in diag_targets(env).items():
        out.append(DiagnosticSettings(env, target, owner, diag_scope(env, target)))
    # Where no diagnostic setting is declared, any one ships that resource's logs somewhere: the Static Web App's
    # settings are an owned collection too (the other resources' are the targets above).
    out.append(DiagnosticSettings(env, "static_web_app", "static_web_app", resource_id(env, "static_web_app")))
    if slots_enabled(env):
        out.append(owned_routes.SlotHostNameBindings(env, slot_config(env).name))
    for step in LOCKABLE:
        namespace, rtype, key = lockable(env, step)
        out.append(Locks(env, step, namespace, rtype, env.resource_name(key), resource_id(env, step)))
    return out
