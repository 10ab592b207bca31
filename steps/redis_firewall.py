"""Step: the whole set of Redis firewall rules, one per web-app outbound address (Microsoft.Cache/redis/firewallRules)."""

from __future__ import annotations

import re
from typing import Any

from provisioner.azure import call
from provisioner.config import EnvironmentSpec
from provisioner.diff import Rules
from provisioner.errors import AzureCallError
from provisioner.model import UNKNOWN, ResourceRef
from provisioner.step import delete_blocked, left_for_person
from steps._base import ArmStep, rules
from steps.redis import lane_of

SECTION = None  # nothing to configure: the addresses come from the web app
PREFIX = "webapp_"


def short(name: Any) -> Any:
    return name.rsplit("/", 1)[-1] if isinstance(name, str) else name


def rule_name(ip: str) -> str:
    """Deterministic, and Azure allows only letters, digits and '_' in a rule name: 1.2.3.4 -> webapp_1_2_3_4."""
    return PREFIX + re.sub(r"[^0-9A-Za-z]", "_", ip)


class RedisFirewall(ArmStep):
    """The rule set is learned from another step, so ONE step owns all of it: the body is {"rules": [...]}.
    A rule Azure has that is not in the set is drift and is deleted (architecture: "App Service ... only")."""

    type = "Microsoft.Cache/redis/firewallRules"
    dependencies = ("redis", "web_app")
    rules = rules(Rules(
        # The API lists rules in its own order: compare as a set.
        sets=("rules",),
        # Redis child resources are named "<cache>/<rule>" in GET/list (spec example RedisCacheFirewallRuleGet:
        # "name": "cache1/rule1"), while we PUT ".../firewallRules/<rule>".
        normalizers=(("rules[].name", lambda v: short(v)),),
    ))

    @property
    def cache(self) -> str:
        return self.env.resource_name("redis")

    @property
    def ref(self) -> ResourceRef:
        cache_id = ResourceRef(self.env.subscription_id, self.resource_group, "Microsoft.Cache/redis", self.cache).id
        # The collection, not one rule: this step owns every rule under it.
        return ResourceRef(self.env.subscription_id, self.resource_group, self.type, self.resource_name,
                           scope=f"{cache_id}/firewallRules")

    @property
    def lane(self) -> str | None:
        return lane_of(self.env)

    def desired(self, known: Any) -> dict[str, Any]:
        web = (known or {}).get("web_app") or {}
        # Comma-separated on the site (azure-sdk-facts §1 web app RO "outbound IPs"); unknown until it exists.
        addresses = (web.get("properties") or {}).get("possibleOutboundIpAddresses")
        if not addresses:
            return {"rules": UNKNOWN}
        ips = sorted({a.strip() for a in addresses.split(",") if a.strip()})
        wanted = [{"name": rule_name(ip), "properties": {"startIP": ip, "endIP": ip}} for ip in ips]
        self._kept = self.kept(wanted, (known or {}).get(self.name))
        return {"rules": wanted + self._kept}

    def kept(self, wanted: list[dict[str, Any]], observed: dict[str, Any] | None) -> list[dict[str, Any]]:
        """Stale rules (an outbound address the app no longer has) that a CanNotDelete lock on the cache
        forbids deleting (409 ScopeLocked): kept as they are and reported, never a planned delete."""
        names = {r["name"] for r in wanted}
        stale = [r for r in (observed or {}).get("rules", []) if short(r.get("name")) not in names]
        cache_id = self.ref.id.rsplit("/firewallRules", 1)[0]
        if not stale or not delete_blocked(f"{cache_id}/firewallRules/x", self.locked_scopes):
            return []
        return [{"name": short(r.get("name")), "properties": {
            "startIP": (r.get("properties") or {}).get("startIP"), "endIP": (r.get("properties") or {}).get("endIP")}}
            for r in stale]

    def held(self, desired: dict[str, Any], observed: dict[str, Any] | None) -> tuple[str, ...]:
        cache_id = self.ref.id.rsplit("/firewallRules", 1)[0]
        scope = delete_blocked(cache_id, self.locked_scopes)
        return tuple(left_for_person(f"{cache_id}/firewallRules/{r['name']}", scope)
                     for r in getattr(self, "_kept", []) if scope)

    def read(self, clients: Any) -> dict[str, Any] | None:
        """None when the cache is missing or has no rules: an empty set is an absent set."""
        def listed() -> list[dict[str, Any]]:
            pages = clients.redis.firewall_rules.list(self.resource_group, self.cache,
                                                      cls=lambda items: [i.serialize(keep_readonly=True) for i in items])
            return list(pages)
        try:
            found = call(listed)
        except AzureCallError as exc:
            if exc.status == 404:  # no cache yet
                return None
            raise
        return {"rules": sorted(found, key=lambda r: r.get("name", ""))} if found else None

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        self.update(clients, desired, {"rules": []}, ())

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        want = {r["name"]: r for r in desired["rules"]}
        have = {short(r.get("name")): r for r in (observed or {}).get("rules", [])}
        for name, rule in want.items():
            if (have.get(name) or {}).get("properties", {}) != rule["properties"]:
                call(clients.redis.firewall_rules.create_or_update, self.resource_group, self.cache, name,
                     {"properties": rule["properties"]})
        for name in have:
            if name not in want:
                call(clients.redis.firewall_rules.delete, self.resource_group, self.cache, name)

    def delete(self, clients: Any) -> None:
        for rule in (self.read(clients) or {}).get("rules", []):
            call(clients.redis.firewall_rules.delete, self.resource_group, self.cache, short(rule["name"]))


def instances(env: EnvironmentSpec) -> list[RedisFirewall]:
    return [RedisFirewall(env, "redis_firewall", "webapp")]
