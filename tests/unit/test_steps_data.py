"""Data-service steps (PostgreSQL, Redis, locks) call the real SDK operations with the right arguments."""

from __future__ import annotations

from unittest.mock import create_autospec

import pytest
from azure.keyvault.secrets import SecretClient

from provisioner.core.model import SENSITIVE, UNKNOWN, Action
from provisioner.engine.diff import diff
from provisioner.engine.reconciler import Policy, decide
from steps import postgres_server as pg
from steps import redis_firewall
from tests.support import cache_session, session, step

RG = "fundrbolt-dev-rg"
PG = "fundrbolt-dev-pg"
VAULT = "https://fundrbolt-dev-kv.vault.azure.net/"
VAULT_ID = (f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{RG}"
            "/providers/Microsoft.KeyVault/vaults/fundrbolt-dev-kv")
KNOWN = {"key_vault": {"id": VAULT_ID, "properties": {"vaultUri": VAULT}}}


@pytest.fixture
def vault(c):
    # The deploying machine never uses the vault's data plane (its firewall keeps it out): any use fails.
    v = create_autospec(SecretClient, instance=True)
    c.secrets = lambda url: pytest.fail(f"data plane of {url} used")
    return v


# --- PostgreSQL server -------------------------------------------------------------------------------

@pytest.mark.parametrize(("env", "sku", "tier", "ha", "days"), [
    ("dev", "Standard_B1ms", "Burstable", "Disabled", 7),
    ("staging", "Standard_B2s", "Burstable", "Disabled", 7),  # Burstable to fit its budget (envs/staging.toml)
    ("production", "Standard_D2s_v3", "GeneralPurpose", "ZoneRedundant", 30),
])
def test_postgres_sizes_per_environment(env, sku, tier, ha, days):
    d = step(session(env), "postgres_server").desired(KNOWN)
    p = d["properties"]
    assert d["sku"] == {"name": sku, "tier": tier}
    assert p["highAvailability"] == {"mode": ha}
    assert p["backup"] == {"backupRetentionDays": days, "geoRedundantBackup": "Disabled", "immutableBackup": "Disabled"}
    assert (p["version"], p["storage"], p["administratorLogin"]) == ("17", {"storageSizeGB": 32}, "fundrboltadmin")


def test_desired_holds_a_vault_reference_never_a_password(dev):
    s = step(dev, "postgres_server")
    assert s.desired({})["properties"]["administratorLoginPassword"] is UNKNOWN  # vault not created yet
    ref = s.desired(KNOWN)["properties"]["administratorLoginPassword"]
    assert ref == f"{pg.PASSWORD_REF}{VAULT_ID}#postgres-admin-password"


def test_password_is_write_only_and_sensitive_in_a_plan(dev):
    s = step(dev, "postgres_server")
    desired = s.desired(KNOWN)
    change = decide(s, desired, None, Policy(), False)
    [pw] = [p for p in change.properties if p.path == "properties.administratorLoginPassword"]
    assert pw.after == SENSITIVE and pw.sensitive
    # GET never returns the password (arm-examples ServerGet): not drift once the server exists.
    observed = {**desired, "properties": {k: v for k, v in desired["properties"].items() if k != "administratorLoginPassword"}}
    assert diff(desired, observed, s.rules).empty


def test_read_server(c, dev):
    step(dev, "postgres_server").read(c)
    assert c.postgres.servers.get.call_args.args == (RG, PG)


def test_create_stores_a_new_password_through_the_control_plane_first(c, vault, dev):
    s = step(dev, "postgres_server")
    desired = s.desired(KNOWN)
    s.create(c, desired)
    rg, kv, name, secret = c.keyvault.secrets.create_or_update.call_args.args
    assert (rg, kv, name) == (RG, "fundrbolt-dev-kv", "postgres-admin-password")
    value = secret["properties"]["value"]
    assert len(value) == 32 and secret["properties"]["contentType"] == "text/plain"
    rg, name, body = c.postgres.servers.begin_create_or_update.call_args.args
    assert (rg, name) == (RG, PG)
    assert body["properties"]["administratorLoginPassword"] == value
    assert body["properties"]["createMode"] == "Create"
    assert desired["properties"]["administratorLoginPassword"].startswith(pg.PASSWORD_REF)  # caller's dict untouched


def test_a_retried_create_reuses_the_password_of_this_run(c, vault, dev):
    s = step(dev, "postgres_server")
    s.create(c, s.desired(KNOWN))
    s.create(c, s.desired(KNOWN))
    assert c.keyvault.secrets.create_or_update.call_count == 1  # stored once, never a second password
    first, second = (call.args[2]["properties"]["administratorLoginPassword"]
                     for call in c.postgres.servers.begin_create_or_update.call_args_list)
    assert first == second


def test_reset_password_stores_then_patches_the_server(c, vault, dev):
    value = pg.reset_password(c, RG, PG, VAULT_ID)
    assert c.keyvault.secrets.create_or_update.call_args.args[3]["properties"]["value"] == value
    c.postgres.servers.begin_update.assert_called_once_with(RG, PG, {"properties": {"administratorLoginPassword": value}})


def test_generated_passwords_meet_azure_complexity():
    for _ in range(50):
        v = pg.new_password()
        assert any(ch.isupper() for ch in v) and any(ch.islower() for ch in v) and any(ch.isdigit() for ch in v)
        assert set(v) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")


def test_create_refuses_without_a_vault(c, dev):
    s = step(dev, "postgres_server")
    with pytest.raises(Exception, match="Key Vault"):
        s.create(c, s.desired({}))
    c.postgres.servers.begin_create_or_update.assert_not_called()


def test_update_patches_without_password_or_create_only_fields(c, dev):
    s = step(dev, "postgres_server")
    desired = s.desired(KNOWN)
    s.update(c, desired, desired, ())
    rg, name, patch = c.postgres.servers.begin_update.call_args.args
    assert (rg, name) == (RG, PG)
    assert "administratorLoginPassword" not in patch["properties"] and "administratorLogin" not in patch["properties"]
    # geoRedundantBackup is create-only; immutable backups are updatable (SDK visibility: update)
    assert patch["properties"]["backup"] == {"backupRetentionDays": 7, "immutableBackup": "Disabled"}
    # what is fixed at create is compared, never sent
    assert not {"dataEncryption", "replicationRole", "replica"} & set(patch["properties"])
    assert patch["sku"] == desired["sku"]


def test_geo_redundancy_change_is_a_refused_replace(dev):
    s = step(dev, "postgres_server")
    desired = s.desired(KNOWN)
    observed = {**desired, "properties": {**desired["properties"], "backup": {"backupRetentionDays": 7, "geoRedundantBackup": "Enabled"}}}
    change = decide(s, desired, observed, Policy(allow_data_loss=True), True)
    assert change.action is Action.REPLACE and change.refused


def test_server_enums_compare_case_insensitively(dev):
    s = step(dev, "postgres_server")
    desired = s.desired(KNOWN)
    observed = {**desired, "sku": {"name": "standard_b1ms", "tier": "burstable"},
                "properties": {**desired["properties"], "highAvailability": {"mode": "disabled", "state": "NotEnabled"}}}
    assert diff(desired, observed, s.rules).empty


def test_server_and_children_share_one_lane(dev):
    lanes = {step(dev, n).lane for n in ("postgres_server", "postgres_firewall", "postgres_database")}
    assert lanes == {f"postgres:{PG}"}


# --- PostgreSQL firewall + database --------------------------------------------------------------------

def test_firewall_admits_azure_services(c, dev):
    s = step(dev, "postgres_firewall")
    desired = s.desired({})
    assert desired == {"properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"}}
    s.create(c, desired)
    c.postgres.firewall_rules.begin_create_or_update.assert_called_once_with(
        RG, PG, "AllowAllAzureServicesAndResourcesWithinAzureIps", desired)
    s.read(c)
    assert c.postgres.firewall_rules.get.call_args.args == (RG, PG, "AllowAllAzureServicesAndResourcesWithinAzureIps")


def test_database_create(c, dev):
    s = step(dev, "postgres_database")
    desired = s.desired({})
    assert desired == {"properties": {"charset": "UTF8", "collation": "en_US.utf8"}}
    s.create(c, desired)
    c.postgres.databases.begin_create.assert_called_once_with(RG, PG, "fundrbolt", desired)
    assert s.ref.id.endswith("/flexibleServers/fundrbolt-dev-pg/databases/fundrbolt")


def test_database_charset_case_is_not_drift(dev):
    # arm-examples DatabaseGet returns 'utf8'.
    s = step(dev, "postgres_database")
    assert diff(s.desired({}), {"properties": {"charset": "utf8", "collation": "en_US.utf8"}}, s.rules).empty


def test_database_collation_change_is_never_applied(dev):
    s = step(dev, "postgres_database")
    change = decide(s, s.desired({}), {"properties": {"charset": "UTF8", "collation": "C"}}, Policy(allow_data_loss=True), False)
    assert change.action is Action.REPLACE and change.refused is None  # dev with --allow-data-loss only
    assert decide(s, s.desired({}), {"properties": {"charset": "UTF8", "collation": "C"}}, Policy(), False).refused


# --- Redis ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("env", "sku"), [
    ("dev", {"name": "Basic", "family": "C", "capacity": 0}),
    ("staging", {"name": "Standard", "family": "C", "capacity": 1}),
    ("production", {"name": "Standard", "family": "C", "capacity": 1}),
])
def test_redis_sizes_and_declared_msrest_defaults(env, sku):
    p = step(cache_session(env), "redis").desired({})["properties"]
    assert p["sku"] == sku
    assert (p["minimumTlsVersion"], p["enableNonSslPort"], p["publicNetworkAccess"], p["disableAccessKeyAuthentication"]) == \
        ("1.2", False, "Enabled", False)
    # auth required, no Entra sign-in; no AOF on Standard (production.toml explains)
    assert p["redisConfiguration"] == {"authnotrequired": "false", "aad-enabled": "false"}


def test_redis_create_update_read(c, dev_cache):
    s = step(dev_cache, "redis")
    desired = s.desired({})
    s.create(c, desired)
    c.redis.redis.begin_create.assert_called_once_with(RG, "fundrbolt-dev-redis", desired)
    s.update(c, desired, desired, ())
    rg, name, patch = c.redis.redis.begin_update.call_args.args
    assert "location" not in patch and patch["properties"]["enableNonSslPort"] is False
    assert patch["properties"]["publicNetworkAccess"] == "Enabled"
    s.read(c)
    assert c.redis.redis.get.call_args.args == (RG, "fundrbolt-dev-redis")


def test_redis_server_additions_are_not_drift(dev_cache):
    # arm-examples RedisCacheCreate: '6' -> '6.0.14'-style versions, redisConfiguration gains server keys.
    s = step(dev_cache, "redis")
    desired = s.desired({})
    observed = {**desired, "properties": {**desired["properties"], "redisVersion": "6.0.14", "sslPort": 6380,
                                          "hostName": "fundrbolt-dev-redis.redis.cache.windows.net",
                                          "redisConfiguration": {"maxclients": "256", "maxmemory-reserved": "30"},
                                          "sku": {"name": "basic", "family": "C", "capacity": 0}}}
    assert diff(desired, observed, s.rules).empty
    drifted = {**observed, "properties": {**observed["properties"], "redisVersion": "4.0.14"}}
    assert [c.path for c in diff(desired, drifted, s.rules).changes] == ["properties.redisVersion"]


def test_redis_config_values_compare_as_strings(dev_cache):
    s = step(dev_cache, "redis")
    assert diff({"properties": {"redisConfiguration": {"aof-backup-enabled": "true"}}},
                {"properties": {"redisConfiguration": {"aof-backup-enabled": True}}}, s.rules).empty


def test_redis_non_ssl_port_drift_is_seen(dev_cache):
    s = step(dev_cache, "redis")
    desired = s.desired({})
    observed = {**desired, "properties": {**desired["properties"], "enableNonSslPort": True}}
    assert [c.path for c in diff(desired, observed, s.rules).changes] == ["properties.enableNonSslPort"]


# --- Redis firewall ------------------------------------------------------------------------------------


class _Resp:
    """What `raw` hands its `cls`: a pipeline response whose http_response has json()."""

    def __init__(self, body):
        self.http_response = self
        self._body = body

    def json(self):
        return self._body

WEB = {"web_app": {"properties": {"possibleOutboundIpAddresses": "20.1.2.3,20.1.2.4, 20.1.2.3"}}}


def test_redis_firewall_set_comes_from_the_web_app(dev_cache):
    s = step(dev_cache, "redis_firewall")
    assert s.desired({})["rules"] is UNKNOWN
    assert s.desired(WEB) == {"rules": [
        {"name": "webapp_20_1_2_3", "properties": {"startIP": "20.1.2.3", "endIP": "20.1.2.3"}},
        {"name": "webapp_20_1_2_4", "properties": {"startIP": "20.1.2.4", "endIP": "20.1.2.4"}},
    ]}
    assert set(s.depends_on) == {"redis", "web_app"}


def test_redis_firewall_adds_missing_and_leaves_extra_to_the_owned_collection(c, dev_cache):
    s = step(dev_cache, "redis_firewall")
    observed = {"rules": [
        {"name": "fundrbolt-dev-redis/webapp_20_1_2_3", "properties": {"startIP": "20.1.2.3", "endIP": "20.1.2.3"}},
    ]}
    s.update(c, s.desired(WEB), observed, ())
    c.redis.firewall_rules.create_or_update.assert_called_once_with(
        RG, "fundrbolt-dev-redis", "webapp_20_1_2_4", {"properties": {"startIP": "20.1.2.4", "endIP": "20.1.2.4"}})
    c.redis.firewall_rules.delete.assert_not_called()  # steps/owned.py RedisFirewallRules revokes extras


def test_a_hand_made_redis_rule_is_the_collections_to_revoke(c, dev_cache):
    from provisioner.engine import children
    from steps.owned import RedisFirewallRules

    rules = RedisFirewallRules(dev_cache.env)
    c.redis.firewall_rules.list.return_value = iter([
        {"id": f"{rules.parent_id}/firewallRules/webapp_20_1_2_3", "name": "fundrbolt-dev-redis/webapp_20_1_2_3",
         "properties": {"startIP": "20.1.2.3", "endIP": "20.1.2.3"}},
        {"id": f"{rules.parent_id}/firewallRules/handmade", "name": "fundrbolt-dev-redis/handmade",
         "properties": {"startIP": "0.0.0.0", "endIP": "255.255.255.255"}}])
    listed = rules.list(c)
    [change] = children.undeclared(rules, listed, rules.declared_from(WEB), [], "s", RG)
    assert change.ref.name == "handmade" and change.refused is None
    rules.delete(c, listed[1])
    c.redis.firewall_rules.delete.assert_called_once_with(RG, "fundrbolt-dev-redis", "handmade")
    # Under production's lock on the cache, the same rule is left for a person.
    [locked] = children.undeclared(rules, listed, rules.declared_from(WEB), [rules.parent_id], "s", RG)
    assert locked.refused and "lock" in locked.refused


def test_redis_firewall_compares_as_a_set_with_cache_prefixed_names(dev_cache):
    # Redis child names come back as "<cache>/<rule>" and in the API's own order.
    s = step(dev_cache, "redis_firewall")
    desired = s.desired(WEB)
    observed = {"rules": [{"name": f"fundrbolt-dev-redis/{r['name']}", "id": "/x", **{"properties": r["properties"]}}
                          for r in reversed(desired["rules"])]}
    assert diff(desired, observed, s.rules).empty
    extra = {"rules": observed["rules"] + [{"name": "x/other", "properties": {"startIP": "1.1.1.1", "endIP": "1.1.1.1"}}]}
    assert not diff(desired, extra, s.rules).empty


def test_redis_firewall_reads_its_own_rules(c, dev_cache):
    s = step(dev_cache, "redis_firewall")
    c.redis.firewall_rules.list.return_value = iter([])
    assert s.read(c) is None  # no rules == nothing managed yet
    assert c.redis.firewall_rules.list.call_args.args == (RG, "fundrbolt-dev-redis")
    c.web.web_apps.get.side_effect = lambda *a, cls, **kw: cls(_Resp(WEB["web_app"]), None, {})
    c.redis.firewall_rules.list.return_value = iter([{"name": "webapp_20_1_2_3", "properties": {}},
                                                     {"name": "handmade", "properties": {}}])
    assert s.read(c) == {"rules": [{"name": "webapp_20_1_2_3", "properties": {}}]}
    assert redis_firewall.rule_name("10.0.0.1") == "webapp_10_0_0_1"


# --- Locks ---------------------------------------------------------------------------------------------

def test_locks_only_in_production():
    assert not [s for s in session("dev").steps if s.name.startswith("lock:")]
    assert not [s for s in session("staging").steps if s.name.startswith("lock:")]
    names = {s.name for s in session("production").steps if s.name.startswith("lock:")}
    assert names == {"lock:postgres_server", "lock:redis", "lock:key_vault", "lock:storage_account"}


def test_lock_uses_resource_level_operations(c):
    s = step(cache_session("production"), "lock:redis")
    desired = s.desired({})
    assert desired["properties"]["level"] == "CanNotDelete"
    assert s.depends_on == ("redis",)
    args = ("fundrbolt-production-rg", "Microsoft.Cache", "", "redis", "fundrbolt-production-redis", "do-not-delete")
    s.create(c, desired)
    c.locks.management_locks.create_or_update_at_resource_level.assert_called_once_with(*args, desired)
    s.read(c)
    assert c.locks.management_locks.get_at_resource_level.call_args.args == args
    s.delete(c)
    c.locks.management_locks.delete_at_resource_level.assert_called_once_with(*args)
    assert s.ref.id.endswith("/Microsoft.Cache/redis/fundrbolt-production-redis/providers/Microsoft.Authorization/locks/do-not-delete")


def test_lock_level_case_is_not_drift():
    s = step(session("production"), "lock:key_vault")
    assert diff(s.desired({}), {"properties": {"level": "cannotdelete", "notes": s.desired({})["properties"]["notes"]}}, s.rules).empty


# --- PostgreSQL server parameters ---------------------------------------------------------------------

def test_tls_parameters_are_patched(c, dev):
    names = sorted(s.name for s in dev.steps if s.name.startswith("postgres_configuration:"))
    assert names == ["postgres_configuration:log_checkpoints", "postgres_configuration:log_line_prefix",
                     "postgres_configuration:logfiles.retention_days",
                     "postgres_configuration:require_secure_transport", "postgres_configuration:ssl_min_protocol_version"]
    s = step(dev, "postgres_configuration:ssl_min_protocol_version")
    desired = s.desired({})
    assert desired == {"properties": {"value": "TLSv1.2"}}
    s.create(c, desired)
    c.postgres.configurations.begin_update.assert_called_once_with(
        RG, PG, "ssl_min_protocol_version", {"properties": {"value": "TLSv1.2", "source": "user-override"}})
    s.read(c)
    assert c.postgres.configurations.get.call_args.args == (RG, PG, "ssl_min_protocol_version")
    assert s.lane == f"postgres:{PG}"


def test_parameter_value_case_is_not_drift(dev):
    s = step(dev, "postgres_configuration:require_secure_transport")
    assert diff(s.desired({}), {"properties": {"value": "ON", "source": "user-override", "defaultValue": "on"}}, s.rules).empty
