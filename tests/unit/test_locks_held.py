"""Deletes under a CanNotDelete lock are never planned: they are left for a person, with the reason."""

from __future__ import annotations

from provisioner.model import Action
from provisioner.reconciler import Policy, decide, delete_blocked, lock_scopes
from tests.support import session, step

GROUP = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/fundrbolt-production-rg"
REDIS = f"{GROUP}/providers/Microsoft.Cache/redis/fundrbolt-production-redis"


def test_lock_scopes_come_from_the_lock_steps_and_every_step_knows_them():
    s = session("production")
    scopes = lock_scopes(s.steps)
    assert REDIS.lower() in scopes and len(scopes) == 4
    assert all(x.locked_scopes == scopes for x in s.steps)
    assert lock_scopes(session("dev").steps) == frozenset()


def test_delete_blocked_covers_the_resource_its_children_extension_resources_and_what_contains_it():
    locked = frozenset({REDIS.lower()})
    assert delete_blocked(REDIS, locked) == REDIS.lower()
    assert delete_blocked(f"{REDIS}/firewallRules/app1", locked) == REDIS.lower()
    assert delete_blocked(f"{REDIS}/providers/Microsoft.Authorization/roleAssignments/x", locked) == REDIS.lower()
    assert delete_blocked(GROUP, locked) == REDIS.lower()  # deleting the group would delete the cache
    assert delete_blocked(f"{GROUP}/providers/Microsoft.Cache/redis/other", locked) is None
    assert delete_blocked(REDIS + "x", locked) is None


def _rules(*ips: str) -> list[dict]:
    return [{"name": "webapp_" + ip.replace(".", "_"), "properties": {"startIP": ip, "endIP": ip}} for ip in ips]


def test_a_stale_redis_rule_under_the_lock_is_kept_and_reported_not_deleted():
    fw = step(session("production"), "redis_firewall")
    web = {"properties": {"possibleOutboundIpAddresses": "20.1.1.1,20.1.1.2"}}
    observed = {"rules": _rules("20.1.1.1", "20.9.9.9")}  # 20.9.9.9 is no longer the app's
    desired = fw.desired({"web_app": web, "redis_firewall": observed})
    names = sorted(r["name"] for r in desired["rules"])
    assert names == ["webapp_20_1_1_1", "webapp_20_1_1_2", "webapp_20_9_9_9"]  # the stale rule stays
    change = decide(fw, desired, observed, Policy(), production=True)
    assert change.action is Action.UPDATE and [p.path for p in change.properties] == ["rules"]
    [held] = change.held
    assert held.startswith("left for a person:") and "webapp_20_9_9_9" in held and "fundrbolt-production-redis" in held
    # Without a lock (dev) the stale rule is deleted as before.
    dev = step(session("dev"), "redis_firewall")
    assert len(dev.desired({"web_app": web, "redis_firewall": observed})["rules"]) == 2


def test_a_replace_under_a_lock_is_refused_and_left_for_a_person():
    s = session("production")
    grant = step(s, "key_vault_access")
    desired = grant.desired({"web_app": {"identity": {"principalId": "new-principal"}}})
    observed = {"properties": {**desired["properties"], "principalId": "old-principal"}}
    change = decide(grant, desired, observed, Policy(allow_replace=True), production=True)
    assert change.action is Action.REPLACE
    assert change.refused and change.refused.startswith("left for a person:") and "lock" in change.refused
