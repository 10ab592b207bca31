"""Step: the whole set of Redis firewall rules, one per web-app outbound address (Microsoft.Cache/redis/firewallRules)."""

from __future__ import annotations

import re
from typing import Any

from provisioner.azure import call, raw
from provisioner.core.errors import AzureCallError
from provisioner.core.model import UNKNOWN, ResourceRef
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules
from steps._base import ArmStep, rules
from steps._fields import SdkModel
from steps.redis import kind_of, lane_of

SECTION = None  # nothing to configure: the addresses come from the web app
PREFIX = "webapp_"


def short(name: Any) -> Any:
    return name.rsplit("/", 1)[-1] if isinstance(name, str) else name


def rule_name(ip: str) -> str:
    """Deterministic, and Azure allows only letters, digits and '_' in a rule name: 1.2.3.4 -> webapp_1_2_3_4."""
    return PREFIX + re.sub(r"[^0-9A-Za-z]", "_", ip)


def _ips(addresses: str) -> list[str]:
    return sorted({a.strip() for a in addresses.split(",") if a.strip()})


def declared_names(web: dict[str, Any] | None) -> set[str] | None:
    """The rule names the web app's outbound addresses call for; None while the site is unknown."""
    # Comma-separated on the site (azure-sdk-facts §1 web app RO "outbound IPs").
    addresses = ((web or {}).get("properties") or {}).get("possibleOutboundIpAddresses")
    return {rule_name(ip) for ip in _ips(addresses)} if addresses else None


class RedisFirewall(ArmStep):
    """The rules learned from another step (one per web-app outbound address) as one body {"rules": [...]},
    compared as a set. A rule Azure has that is not in the set is not this step's: it belongs to the
    `redis/firewallRules` collection (steps/owned.py), which revokes it ("App Service ... only"), or
    leaves it for a person where production's lock on the cache stands."""

    type = "Microsoft.Cache/redis/firewallRules"
    model = SdkModel("azure.mgmt.redis.models", "RedisFirewallRule")
    model_at = "rules[]"  # the step assembles {"rules": [...]} from the rule list
    needs = ("redis", "web_app")
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
        addresses = (web.get("properties") or {}).get("possibleOutboundIpAddresses")
        if not addresses:  # unknown until the site exists
            return {"rules": UNKNOWN}
        return {"rules": [{"name": rule_name(ip), "properties": {"startIP": ip, "endIP": ip}} for ip in _ips(addresses)]}

    def read(self, clients: Any) -> dict[str, Any] | None:
        """Our rules only (named after the site's current outbound addresses); None when the cache is
        missing or has none of them: an empty set is an absent set."""
        # The site first, the list last: the list is this step's resource (tests replay a step's last read).
        ours = declared_names(raw(clients.web.web_apps.get, self.resource_group, self.env.resource_name("web_app")))
        found = list_rules(clients, self.resource_group, self.cache)
        if found is None:
            return None
        mine = [r for r in found if short(r.get("name")) in (ours or set())]
        return {"rules": sorted(mine, key=lambda r: r.get("name", ""))} if mine else None

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        self.update(clients, desired, {"rules": []}, ())

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # Only our rules: one Azure has beyond them is the owned collection's to revoke (or leave under a lock).
        want = {r["name"]: r for r in desired["rules"]}
        have = {short(r.get("name")): r for r in (observed or {}).get("rules", [])}
        for name, rule in want.items():
            if (have.get(name) or {}).get("properties", {}) != rule["properties"]:
                call(clients.redis.firewall_rules.create_or_update, self.resource_group, self.cache, name,
                     {"properties": rule["properties"]})

    def delete(self, clients: Any) -> None:
        for rule in (self.read(clients) or {}).get("rules", []):
            call(clients.redis.firewall_rules.delete, self.resource_group, self.cache, short(rule["name"]))


def list_rules(clients: Any, resource_group: str, cache: str) -> list[dict[str, Any]] | None:
    """Every firewall rule of the cache as the API lists it (wire format), or None when there is no cache."""
    def listed() -> list[dict[str, Any]]:
        pages = clients.redis.firewall_rules.list(resource_group, cache,
                                                  cls=lambda items: [i.serialize(keep_readonly=True) for i in items])
        return list(pages)
    try:
        return call(listed)
    except AzureCallError as exc:
        if exc.status == 404:  # no cache yet
            return None
        raise


def instances(env: EnvironmentSpec) -> list[RedisFirewall]:
    # Azure Managed Redis has no IP firewall rules (migrate-basic-standard-premium-understand.md, "Network
    # isolation"): the rules exist only for the cache.
    return [RedisFirewall(env, "redis_firewall", "webapp")] if kind_of(env) == "cache" else []
