"""Validation rules of the data services: each bad input names its file and key path and says why."""

from __future__ import annotations

from pathlib import Path

import pytest

import steps
from provisioner.cli.session import load_session
from provisioner.core.errors import ConfigError
from tests.support import append_env as append


def set_in(envs: Path, env: str, old: str, new: str) -> None:
    path = envs / f"{env}.toml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def problems(envs: Path, env: str = "dev") -> list:
    with pytest.raises(ConfigError) as info:
        load_session(env, steps.ALL_STEPS, envs)
    return info.value.problems


MINE = ("postgres.", "redis.", "locks.", "naming.postgres_server", "naming.postgres_database", "naming.redis")


def only(envs: Path, env: str = "dev"):
    """The one problem about this area (other areas' problems in the shared files are not ours to judge)."""
    [p] = [p for p in problems(envs, env) if p.key.startswith(MINE) and p.severity == "error"]
    return p


def session_of(envs: Path, env: str):
    return load_session(env, steps.ALL_STEPS, envs)


@pytest.mark.parametrize("name", ["Fundrbolt-PG", "-pg-dev", "pg-dev-", "pg", "pg_dev", "a" * 64])
def test_postgres_name(envs, name):
    append(envs, "dev", f'[naming]\npostgres_server = "{name}"\n')
    p = only(envs)
    assert p.file.endswith("dev.toml") and p.key == "naming.postgres_server" and "3-63 lower-case" in p.message


def test_postgres_tier_must_match_sku_family(envs):
    set_in(envs, "dev", 'sku_name = "Standard_B1ms"', 'sku_name = "Standard_D2s_v3"')
    p = only(envs)
    assert p.file.endswith("dev.toml") and p.key == "postgres.sku_name"
    assert "not a Burstable SKU" in p.message and "Standard_B*" in p.message


def test_zone_redundant_ha_needs_general_purpose_or_memory_optimized(envs):
    set_in(envs, "dev", 'high_availability = "Disabled"', 'high_availability = "ZoneRedundant"')
    p = only(envs)
    assert p.file.endswith("dev.toml") and p.key == "postgres.high_availability" and "Burstable" in p.message


@pytest.mark.parametrize("days", [6, 36])
def test_backup_retention_range(envs, days):
    set_in(envs, "production", "backup_retention_days = 30", f"backup_retention_days = {days}")
    p = only(envs, "production")
    assert p.file.endswith("production.toml") and p.key == "postgres.backup_retention_days" and "7 to 35" in p.message


def test_postgres_version_supported(envs):
    set_in(envs, "staging", "[postgres]\n", '[postgres]\nversion = "11"\n')
    p = only(envs, "staging")
    assert p.file.endswith("staging.toml") and p.key == "postgres.version" and "'11'" in p.message


@pytest.mark.parametrize("login", ["admin", "pg_owner", "1user", "azure_superuser"])
def test_postgres_admin_login(envs, login):
    set_in(envs, "dev", "[postgres]\n", f'[postgres]\nadministrator_login = "{login}"\n')
    p = only(envs)
    assert p.key == "postgres.administrator_login" and p.file.endswith("dev.toml")


@pytest.mark.parametrize("name", ["-redis", "redis-", "re--dis", "re_dis", "r" * 64])
def test_redis_name(envs, name):
    append(envs, "dev", f'[naming]\nredis = "{name}"\n')
    p = only(envs)
    assert p.file.endswith("dev.toml") and p.key == "naming.redis"


def test_redis_family_must_match_sku(envs):
    set_in(envs, "staging", 'sku = "Standard"', 'sku = "Premium"')
    p = only(envs, "staging")
    assert p.file.endswith("staging.toml") and p.key == "redis.family" and "family 'P'" in p.message


@pytest.mark.parametrize(("env", "old", "new", "why"), [
    ("staging", "capacity = 1", "capacity = 7", "0-6"),
    ("dev", "capacity = 0\n", "capacity = -1\n", "0-6"),
])
def test_redis_capacity_range(envs, env, old, new, why):
    set_in(envs, env, old, new)
    p = only(envs, env)
    assert p.key == "redis.capacity" and why in p.message and p.file.endswith(f"{env}.toml")


def test_premium_capacity_starts_at_one(envs):
    set_in(envs, "staging", 'sku = "Standard"              # architecture: "Redis: Standard C1 (1 GB)"\nfamily = "C"\ncapacity = 1',
           'sku = "Premium"\nfamily = "P"\ncapacity = 0')
    p = only(envs, "staging")
    assert p.key == "redis.capacity" and "1-5" in p.message


def test_aof_persistence_requires_premium(envs):
    set_in(envs, "production", "aof_persistence = false", "aof_persistence = true")
    p = only(envs, "production")
    assert p.file.endswith("production.toml") and p.key == "redis.aof_persistence"
    assert "Premium" in p.message and "Standard C1" in p.message


def test_aof_on_premium_is_accepted_and_uses_the_storage_account(envs):
    set_in(envs, "production", 'sku = "Standard"              # architecture: "Redis: Standard C1 (1 GB, AOF persistence)"\nfamily = "C"',
           'sku = "Premium"\nfamily = "P"')
    set_in(envs, "production", "aof_persistence = false", 'aof_persistence = true\nkind = "cache"')
    s = session_of(envs, "production")
    redis = next(x for x in s.steps if x.name == "redis")
    assert "storage_account" in redis.depends_on
    known = {"storage_account": {"properties": {"primaryEndpoints": {"blob": "https://x.blob.core.windows.net/"}}}}
    d = redis.desired(known)
    assert d["properties"]["redisConfiguration"]["aof-backup-enabled"] == "true" and d["identity"] == {"type": "SystemAssigned"}


def test_locks_name_known_resources(envs):
    set_in(envs, "production", 'resources = ["postgres_server", "redis", "key_vault", "storage_account"]',
           'resources = ["postgres_server", "web_app"]')
    p = only(envs, "production")
    assert p.file.endswith("production.toml") and p.key == "locks.resources[1]" and "'web_app'" in p.message


def test_production_without_locks_is_a_warning(envs):
    set_in(envs, "production", 'resources = ["postgres_server", "redis", "key_vault", "storage_account"]', "resources = []")
    s = session_of(envs, "production")
    assert [(w.key, w.severity) for w in s.warnings if w.key.startswith("locks")] == [("locks.resources", "warning")]


def test_database_name(envs):
    append(envs, "dev", '[naming]\npostgres_database = "1-bad"\n')
    p = only(envs)
    assert p.key == "naming.postgres_database" and p.file.endswith("dev.toml")


def test_tls_floor_parameter(envs):
    append(envs, "dev", '[postgres.parameters]\nssl_min_protocol_version = "TLSv1.1"\n')
    p = only(envs)
    assert p.file.endswith("dev.toml") and p.key == "postgres.parameters.ssl_min_protocol_version" and "TLS 1.2+" in p.message


def test_secure_transport_parameter(envs):
    append(envs, "staging", '[postgres.parameters]\nrequire_secure_transport = "off"\n')
    p = only(envs, "staging")
    assert p.file.endswith("staging.toml") and p.key == "postgres.parameters.require_secure_transport"
