"""Report severity classes (provisioner/engine/severity.py), against the order issue 18 asks for: access and
exposure first (firewall rules opening a database, role assignments, network access, TLS/auth settings), then
data protection, then the rest."""

from __future__ import annotations

import random

from provisioner.core.model import Action, Change, PropertyChange, ResourceRef
from provisioner.engine.severity import Severity, of_change, of_path, ordered

SUB, RG = "00000000-0000-0000-0000-000000000000", "fundrbolt-production-rg"


def change(step: str, type_name: str, action: Action = Action.UPDATE, *paths: str,
           collection: str | None = None) -> Change:
    ref = ResourceRef(SUB, RG, type_name, step.rsplit("/", 1)[-1])
    return Change(step, ref, action, tuple(PropertyChange(p, 1, 2) for p in paths), collection=collection)


RULE = change("postgres_server/firewallRules/AllowAll", "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules",
              Action.DELETE, "properties.startIpAddress", "properties.endIpAddress",
              collection="postgres_server/firewallRules")
GRANT = change("key_vault/roleAssignments/x", "Microsoft.Authorization/roleAssignments", Action.DELETE,
               "properties.principalId", collection="key_vault/roleAssignments")
NETWORK = change("storage_account", "Microsoft.Storage/storageAccounts", Action.UPDATE,
                 "properties.publicNetworkAccess", "tags.temp")
TLS = change("web_app_config", "Microsoft.Web/sites/config", Action.UPDATE, "properties.minTlsVersion")
NON_TLS_PORT = change("redis", "Microsoft.Cache/redis", Action.UPDATE, "properties.enableNonSslPort")
BACKUP = change("postgres_server", "Microsoft.DBforPostgreSQL/flexibleServers", Action.UPDATE,
                "properties.backup.backupRetentionDays")
SOFT_DELETE = change("key_vault", "Microsoft.KeyVault/vaults", Action.UPDATE, "properties.enableSoftDelete")
LOCK = change("lock:redis", "Microsoft.Authorization/locks", Action.CREATE, "properties.level")
DATABASE = change("postgres_server/databases/scratch", "Microsoft.DBforPostgreSQL/flexibleServers/databases",
                  Action.DELETE, collection="postgres_server/databases")
TAGS = change("storage_account", "Microsoft.Storage/storageAccounts", Action.UPDATE, "tags.temp")
SIZE = change("app_service_plan", "Microsoft.Web/serverfarms", Action.UPDATE, "sku.name")
ALERT = change("metric_alert:cpu", "Microsoft.Insights/metricAlerts", Action.UPDATE, "properties.criteria")


def test_each_class():
    for c in (RULE, GRANT, NETWORK, TLS, NON_TLS_PORT):
        assert of_change(c) is Severity.ACCESS, c.step
    for c in (BACKUP, SOFT_DELETE, LOCK, DATABASE):
        assert of_change(c) is Severity.DATA, c.step
    for c in (TAGS, SIZE, ALERT):
        assert of_change(c) is Severity.OTHER, c.step
    assert [s.key for s in Severity] == ["access", "data", "other"]


def test_a_change_takes_its_most_urgent_property():
    assert of_path("tags.temp") is Severity.OTHER
    assert of_path("properties.siteConfig.ipSecurityRestrictions[alice].ipAddress") is Severity.ACCESS
    assert of_path("properties.redisConfiguration.aof-backup-enabled") is Severity.DATA
    assert of_change(NETWORK) is Severity.ACCESS  # a tag changed too: the network setting decides


def test_order_is_the_one_the_issue_lists_whatever_the_input_order():
    expected = [RULE, GRANT, NETWORK, TLS, NON_TLS_PORT, BACKUP, SOFT_DELETE, LOCK, DATABASE, TAGS, SIZE, ALERT]
    rng = random.Random(7)
    for _ in range(20):
        shuffled = expected[:]
        rng.shuffle(shuffled)
        got = ordered(shuffled)
        assert got[:2] == [RULE, GRANT]
        assert {c.step for c in got[2:3]} == {NETWORK.step}
        assert {id(c) for c in got[3:5]} == {id(TLS), id(NON_TLS_PORT)}
        assert {id(c) for c in got[5:9]} == {id(BACKUP), id(SOFT_DELETE), id(LOCK), id(DATABASE)}
        assert {id(c) for c in got[9:]} == {id(TAGS), id(SIZE), id(ALERT)}
