"""Azure Managed Redis steps call the real SDK operations (autospec'd) with the right arguments, and the [redis]
kind decides which Redis an environment runs, what its secret says and what validate warns about."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from provisioner.engine.diff import diff
from steps import _secret_values as sv
from steps.managed_redis import AofDatabase, NoPersistenceDatabase
from steps.owned import children as owned_children
from steps.retired_cache import OldCache, OldCacheRemoved
from tests.support import cache_session, copy_envs, session, step

RG = "fundrbolt-dev-rg"


def _set(envs, env: str, old: str, new: str) -> None:
    path = envs / f"{env}.toml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_new_environments_run_managed_redis_and_no_cache_steps():
    for env in ("dev", "staging", "production"):
        names = {s.name: s for s in session(env).steps}
        assert names["redis"].type == "Microsoft.Cache/redisEnterprise"
        assert names["redis_database"].type == "Microsoft.Cache/redisEnterprise/databases"
        assert "redis_firewall" not in names  # Managed Redis has no IP firewall
    cache = {s.name: s for s in cache_session("dev").steps}
    assert cache["redis"].type == "Microsoft.Cache/redis" and "redis_firewall" in cache and "redis_database" not in cache


@pytest.mark.parametrize(("env", "sku", "ha", "persistence"), [
    # Microsoft's migration mapping (migrate-overview.md): Basic C0 -> B0 without HA, Standard C1 -> B1.
    ("dev", "Balanced_B0", "Disabled", {"aofEnabled": False, "rdbEnabled": False}),
    ("staging", "Balanced_B1", "Enabled", {"aofEnabled": False, "rdbEnabled": False}),
    ("production", "Balanced_B1", "Enabled", {"aofEnabled": True, "rdbEnabled": False, "aofFrequency": "1s"}),
])
def test_sizes_ha_and_persistence_per_environment(env, sku, ha, persistence):
    s = session(env)
    cluster = step(s, "redis").desired({})
    assert cluster["sku"] == {"name": sku} and cluster["properties"] == {
        "highAvailability": ha, "minimumTlsVersion": "1.2", "publicNetworkAccess": "Enabled"}
    assert cluster["tags"]["Environment"] == env and cluster["location"] == "eastus"
    db = step(s, "redis_database")
    assert db.desired({})["properties"] == {
        "clientProtocol": "Encrypted", "port": 10000, "clusteringPolicy": "NoCluster", "evictionPolicy": "VolatileLRU",
        "persistence": persistence, "accessKeysAuthentication": "Enabled"}
    assert isinstance(db, AofDatabase if env == "production" else NoPersistenceDatabase)


def test_cluster_create_update_read_delete(c, dev):
    s = step(dev, "redis")
    desired = s.desired({})
    s.create(c, desired)
    c.redisenterprise.redis_enterprise.begin_create.assert_called_once_with(RG, "fundrbolt-dev-amr", desired)
    s.update(c, desired, desired, ())
    rg, name, patch = c.redisenterprise.redis_enterprise.begin_update.call_args.args
    assert (rg, name) == (RG, "fundrbolt-dev-amr") and "location" not in patch and patch["sku"] == desired["sku"]
    s.read(c)
    assert c.redisenterprise.redis_enterprise.get.call_args.args == (RG, "fundrbolt-dev-amr")
    s.delete(c)
    c.redisenterprise.redis_enterprise.begin_delete.assert_called_once_with(RG, "fundrbolt-dev-amr")


def test_database_create_update_read_delete(c, dev):
    s = step(dev, "redis_database")
    assert s.depends_on == ("redis",) and s.ref.id.endswith("/redisEnterprise/fundrbolt-dev-amr/databases/default")
    desired = s.desired({})
    s.create(c, desired)
    c.redisenterprise.databases.begin_create.assert_called_once_with(RG, "fundrbolt-dev-amr", "default", desired)
    s.update(c, desired, desired, ())
    _, _, _, patch = c.redisenterprise.databases.begin_update.call_args.args
    # The port and the protocol are fixed at create: never in a PATCH.
    assert "port" not in patch["properties"] and "clientProtocol" not in patch["properties"]
    s.read(c)
    assert c.redisenterprise.databases.get.call_args.args == (RG, "fundrbolt-dev-amr", "default")
    s.delete(c)
    c.redisenterprise.databases.begin_delete.assert_called_once_with(RG, "fundrbolt-dev-amr", "default")


def test_example_shaped_bodies_are_not_drift_and_insecure_changes_are(dev):
    # Spec examples RedisEnterpriseCreate.json / RedisEnterpriseDatabasesCreate.json: the server adds hostName,
    # kind, redisVersion, resourceState; enum casing may differ.
    s = step(dev, "redis")
    desired = s.desired({})
    observed = {**desired, "kind": "v2", "properties": {**desired["properties"], "hostName": "x.eastus.redis.azure.net",
                "redisVersion": "7.4", "resourceState": "Running", "provisioningState": "Succeeded",
                "highAvailability": "disabled", "redundancyMode": "None"}}
    assert diff(desired, observed, s.rules).empty
    opened = {**observed, "properties": {**observed["properties"], "minimumTlsVersion": "1.0"}}
    assert [c.path for c in diff(desired, opened, s.rules).changes] == ["properties.minimumTlsVersion"]
    db = step(dev, "redis_database")
    want = db.desired({})
    plain = {"properties": {**want["properties"], "clientProtocol": "Plaintext", "redisVersion": "7.4"}}
    [change] = diff(want, plain, db.rules).changes
    assert change.path == "properties.clientProtocol" and change.requires_replace  # fixed at create: a replace


def test_redis_url_names_the_managed_database_on_port_10000(c, dev):
    s = step(dev, "key_vault_secret:redis-url")
    assert s.depends_on == ("key_vault", "redis", "redis_database")  # written only once the database exists
    c.redisenterprise.databases.list_keys.return_value = SimpleNamespace(primary_key="k+/=", secondary_key="s")
    known = {"redis": {"id": "/amr", "properties": {"hostName": "fundrbolt-dev-amr.eastus.redis.azure.net"}},
             "redis_database": {"id": "/amr/databases/default", "properties": {"port": 10000}}}
    s.gather(c, known)
    c.redisenterprise.databases.list_keys.assert_called_once_with(RG, "fundrbolt-dev-amr", "default")
    url = "rediss://:k%2B%2F%3D@fundrbolt-dev-amr.eastus.redis.azure.net:10000/0"
    assert s.desired(known)["properties"]["valueSha256"] == sv.sha256(url)
    # Before the database exists the value is unknown: nothing is written that names a missing cache.
    assert s.desired({"redis": known["redis"]})["properties"]["valueSha256"] is not sv.sha256(url)


def test_alerts_watch_managed_redis_metrics_only_on_managed_redis(dev):
    alerts = {s.name: s for s in dev.steps if s.name.startswith("metric_alert:redis")}
    assert set(alerts) == {"metric_alert:redis-memory", "metric_alert:redis-server-load"}
    memory = alerts["metric_alert:redis-memory"].desired({})
    assert memory["properties"]["scopes"] == [step(dev, "redis").ref.id]
    [criterion] = memory["properties"]["criteria"]["allOf"]
    assert (criterion["metricNamespace"], criterion["metricName"], criterion["threshold"]) == (
        "Microsoft.Cache/redisEnterprise", "usedmemorypercentage", 80)
    assert not [s for s in cache_session("dev").steps if s.name.startswith("metric_alert:redis")]


def test_diagnostics_and_locks_follow_the_kind(dev, prod):
    diag = step(dev, "diagnostic_setting:redis")
    assert diag.ref.id.split("/providers/Microsoft.Insights")[0].endswith("/redisEnterprise/fundrbolt-dev-amr/databases/default")
    assert diag.desired({})["properties"]["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
    assert diag.desired({})["properties"]["metrics"] == []  # as the Policy built-in DS_LA_cache-redisenterprise-databases
    lock = step(prod, "lock:redis")
    assert "/Microsoft.Cache/redisEnterprise/fundrbolt-production-amr/providers/" in lock.ref.id


def test_the_old_cache_is_reported_until_removal_is_allowed(tmp_path):
    envs = copy_envs(tmp_path)
    [old] = [c for c in owned_children(session("dev", envs).env) if c.name == "redis/old-cache"]
    assert type(old) is OldCache and old.kind == "report"
    # Not even planned away while the Managed Redis database is missing: it is still the app's cache.
    assert old.declared_from({"redis_database": None}) == {"fundrbolt-dev-redis"}
    assert old.declared_from({"redis_database": {"id": "x"}}) == set()
    _set(envs, "dev", "[redis]\n", "[redis]\nremove_old_cache = true\n")
    [removed] = [c for c in owned_children(session("dev", envs).env) if c.name == "redis/old-cache"]
    assert type(removed) is OldCacheRemoved and removed.kind == "revoke"


def test_the_old_cache_is_deleted_only_when_the_secret_names_managed_redis(c, dev):
    from provisioner.core.errors import ProvisionerError
    from provisioner.engine.children import Child

    old = OldCacheRemoved(dev.env)
    c.redisenterprise.databases.list_keys.return_value = SimpleNamespace(primary_key="k", secondary_key="s")
    host = "fundrbolt-dev-amr.eastus.redis.azure.net"

    def raw_get(body):
        return lambda *a, **kw: kw["cls"](SimpleNamespace(http_response=SimpleNamespace(json=lambda: body)), None, {})

    c.redisenterprise.redis_enterprise.get.side_effect = raw_get({"properties": {"hostName": host}})
    c.redisenterprise.databases.get.side_effect = raw_get({"properties": {"port": 10000}})
    c.keyvault.secrets.get.side_effect = raw_get({"tags": {sv.FINGERPRINT_TAG: sv.sha256("rediss://old")}})
    child = Child("/x/redis/fundrbolt-dev-redis", "fundrbolt-dev-redis", {})
    with pytest.raises(ProvisionerError, match="does not name the Managed Redis"):
        old.delete(c, child)
    c.redis.redis.begin_delete.assert_not_called()
    url = f"rediss://:k@{host}:10000/0"
    c.keyvault.secrets.get.side_effect = raw_get({"tags": {sv.FINGERPRINT_TAG: sv.sha256(url)}})
    old.delete(c, child)
    c.redis.redis.begin_delete.assert_called_once_with(RG, "fundrbolt-dev-redis")


# --- validate -------------------------------------------------------------------------------------------

def _problems(envs, env):
    import steps
    from provisioner.cli.session import load_session

    return load_session(env, steps.ALL_STEPS, envs).warnings


def test_kind_cache_warns_with_the_retirement_date_and_the_creation_block(tmp_path):
    from tests.support import cache_envs

    warnings = [w for w in _problems(cache_envs(), "production") if w.key == "redis.kind"]
    [w] = warnings
    assert w.severity == "warning" and w.file.endswith("production.toml")
    assert "2028-09-30" in w.message and "2026-04-01" in w.message and 'redis.kind = "managed"' in w.message
    assert "keeps its cache until a person switches" in w.message


@pytest.mark.parametrize(("old", "new", "key", "words"), [
    ('network = "public"', 'network = "private"', "redis.managed.network", "private endpoints"),
    ('sku = "Balanced_B0"\nhigh_availability = false', 'sku = "Enterprise_E10"\nhigh_availability = false',
     "redis.managed.sku", "retired"),
    ('sku = "Balanced_B0"\nhigh_availability = false', 'sku = "Balanced_B2"\nhigh_availability = false',
     "redis.managed.sku", "not an Azure Managed Redis SKU"),
])
def test_managed_settings_are_checked_before_any_request(tmp_path, old, new, key, words):
    import steps
    from provisioner.cli.session import load_session
    from provisioner.core.errors import ConfigError

    envs = copy_envs(tmp_path)
    target = "common" if "network" in old else "dev"
    path = envs / f"{target}.toml"
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_session("dev", steps.ALL_STEPS, envs)
    [p] = [p for p in err.value.problems if p.key == key]
    assert words in p.message and p.file.endswith(f"{target}.toml")


def test_production_without_high_availability_is_refused(tmp_path):
    import steps
    from provisioner.cli.session import load_session
    from provisioner.core.errors import ConfigError

    envs = copy_envs(tmp_path)
    _set(envs, "production", 'sku = "Balanced_B1"\nhigh_availability = true', 'sku = "Balanced_B1"\nhigh_availability = false')
    with pytest.raises(ConfigError) as err:
        load_session("production", steps.ALL_STEPS, envs)
    assert [p.key for p in err.value.problems if p.severity == "error"] == ["redis.managed.high_availability"]
