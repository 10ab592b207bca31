"""Deletes under a CanNotDelete lock are never planned: they are left for a person, with the reason."""

from __future__ import annotations

from provisioner.core.model import Action
from provisioner.engine import children
from provisioner.engine.children import Child
from provisioner.engine.reconciler import Policy, decide, delete_blocked, lock_scopes
from steps.owned import children as owned_children
from tests.support import SUB, cache_session, session, step

GROUP = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/fundrbolt-production-rg"
REDIS = f"{GROUP}/providers/Microsoft.Cache/redis/fundrbolt-production-redis"


def test_lock_scopes_come_from_the_lock_steps_and_every_step_knows_them():
    s = cache_session("production")
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


def test_a_stale_redis_rule_under_the_lock_is_left_for_a_person_not_deleted():
    """The rule step keeps only the app's rules; a stale one is a child of the owned collection
    `redis/firewallRules`, and under production's lock on the cache it is reported, never a planned delete."""
    s = cache_session("production")
    fw = step(s, "redis_firewall")
    web = {"properties": {"possibleOutboundIpAddresses": "20.1.1.1,20.1.1.2"}}
    desired = fw.desired({"web_app": web})
    assert sorted(r["name"] for r in desired["rules"]) == ["webapp_20_1_1_1", "webapp_20_1_1_2"]
    collection = next(c for c in owned_children(s.env) if c.name == "redis/firewallRules")
    stale = Child(f"{REDIS}/firewallRules/webapp_20_9_9_9", "webapp_20_9_9_9",
                  {"properties": {"startIP": "20.9.9.9", "endIP": "20.9.9.9"}})
    kept = Child(f"{REDIS}/firewallRules/webapp_20_1_1_1", "webapp_20_1_1_1", {})
    declared = {n.lower() for n in collection.declared_from({"web_app": web})}
    [change] = children.undeclared(collection, [stale, kept], declared, [REDIS], SUB, "fundrbolt-production-rg")
    assert change.action is Action.DELETE and change.collection == "redis/firewallRules"
    assert change.refused and change.refused.startswith("left for a person:") and "fundrbolt-production-redis" in change.refused
    # Without a lock (dev) the stale rule is revoked: the same change, not refused.
    [dev] = children.undeclared(collection, [stale], declared, [], SUB, "fundrbolt-production-rg")
    assert dev.action is Action.DELETE and dev.refused is None


def test_a_replace_under_a_lock_is_refused_and_left_for_a_person():
    """A change only a delete + create can make (a database's charset) under production's lock on the server."""
    s = session("production")
    db = step(s, "postgres_database")
    desired = db.desired({})
    observed = {"properties": {**desired["properties"], "charset": "LATIN1"}}
    change = decide(db, desired, observed, Policy(allow_replace=True, allow_data_loss=True), production=True)
    assert change.action is Action.REPLACE
    assert change.refused and change.refused.startswith("left for a person:") and "lock" in change.refused
    assert "lock on fundrbolt-production-pg " in change.refused


VAULT = f"{GROUP}/providers/Microsoft.KeyVault/vaults/fundrbolt-production-kv"


def test_a_new_principal_is_a_new_assignment_and_the_stale_one_is_left_for_a_person_under_the_vault_lock():
    """Role assignments are immutable: the site's identity re-created (new principal) is a CREATE of a new
    assignment, never a replace (whose delete the vault's lock refuses). The stale one is a child of the owned
    collection `resource_group/roleAssignments` (every assignment in the group, the vault's too): left for a person while the lock stands, revoked without it."""
    s = session("production")
    grant = step(s, "key_vault_access")
    grant.desired({"web_app": {"identity": {"principalId": "old-principal"}}})
    old = grant.resource_name
    desired = grant.desired({"web_app": {"identity": {"principalId": "new-principal"}}})
    assert grant.resource_name != old
    # Read under the new name: absent. The plan creates it; nothing is refused, nothing is deleted first.
    change = decide(grant, desired, None, Policy(), production=True)
    assert change.action is Action.CREATE and change.refused is None
    assert change.ref.id == f"{VAULT}/providers/Microsoft.Authorization/roleAssignments/{grant.resource_name}"

    collection = next(c for c in s.children if c.name == "resource_group/roleAssignments")
    stale = Child(f"{VAULT}/providers/Microsoft.Authorization/roleAssignments/{old}", old, {"properties": {
        "scope": VAULT, "principalId": "old-principal", "roleDefinitionId": desired["properties"]["roleDefinitionId"]}})
    ours = Child(change.ref.id, grant.resource_name, {"properties": {"scope": VAULT, "principalId": "new-principal"}})
    declared = children.declared_names(collection, [(x.name, x.ref) for x in s.steps])
    [held] = children.undeclared(collection, [stale, ours], declared, sorted(lock_scopes(s.steps)), SUB,
                             "fundrbolt-production-rg")
    assert held.action is Action.DELETE and held.ref.name == old and held.collection == "resource_group/roleAssignments"
    assert held.refused and held.refused.startswith("left for a person:") and "fundrbolt-production-kv" in held.refused
    assert ("properties.principalId", "old-principal") in {(p.path, p.before) for p in held.properties}
    # Without a lock (staging, dev) provision revokes it: it grants access to the vault.
    [revoked] = children.undeclared(collection, [stale, ours], declared, [], SUB, "fundrbolt-production-rg")
    assert revoked.action is Action.DELETE and revoked.ref.name == old and revoked.refused is None


def test_with_managed_redis_production_locks_the_cluster():
    s = session("production")
    amr = f"{GROUP}/providers/Microsoft.Cache/redisEnterprise/fundrbolt-production-amr"
    scopes = lock_scopes(s.steps)
    assert amr.lower() in scopes and REDIS.lower() not in scopes and len(scopes) == 4
    # The database is under the cluster's lock (locks are inherited by children).
    assert delete_blocked(f"{amr}/databases/default", scopes) == amr.lower()
