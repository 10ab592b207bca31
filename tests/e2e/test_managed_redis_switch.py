"""An environment on Azure Cache for Redis moves to Azure Managed Redis with the CLI on the local cloud: Managed
Redis is created alongside, the app's redis-url is switched only once it exists, and the old cache is removed
only when the env file allows it, after the secret names the new one (docs/managed-redis.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.helpers import cli, rg_path, writes
from tests.support import copy_envs

pytestmark = pytest.mark.e2e

CACHE = f"{rg_path()}/providers/Microsoft.Cache/redis/fundrbolt-dev-redis"
AMR = f"{rg_path()}/providers/Microsoft.Cache/redisEnterprise/fundrbolt-dev-amr"


def _edit(envs: Path, old: str, new: str) -> None:
    path = envs / "dev.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _redis_url(cloud) -> str:
    """The app's secret as the vault holds it (the local cloud's data plane, read by the test only)."""
    secrets = json.loads(Path(str(cloud.state_file) + ".secrets.json").read_text())
    found = [v for v in json.dumps(secrets).split('"') if v.startswith("rediss://")]
    assert found, "no redis-url in the vault"
    return found[-1]


def test_a_cache_environment_switches_to_managed_redis(cloud, tmp_path):
    envs = copy_envs(tmp_path)
    _edit(envs, "[redis]\n", '[redis]\nkind = "cache"\n')
    args = ("--env", "dev", "--arm-endpoint", cloud.url, "--envs-dir", str(envs))
    first = cli("provision", *args, "--yes")
    assert first.code == 0, first.err + first.out[-2000:]
    assert "Azure Cache for Redis" in first.err and "2028-09-30" in first.err  # validate's warning
    assert "fundrbolt-dev-redis.redis.cache.windows.net:6380" in _redis_url(cloud)

    # A person switches the environment: Managed Redis is created alongside, the secret follows.
    _edit(envs, 'kind = "cache"\n', 'kind = "managed"\n')
    plan = cli("plan", *args, "--output", "json")
    assert plan.code == 2, plan.err
    changes = {c["step"]: c["action"] for c in plan.json()["changes"]}
    assert changes["redis"] == "create" and changes["redis_database"] == "create"
    assert changes["key_vault_secret:redis-url"] == "update"
    assert not any(c.startswith("redis/old-cache") for c in changes)  # not even planned while AMR is missing
    before = len(cloud.requests())
    switch = cli("provision", *args, "--yes")
    assert switch.code == 0, switch.err + switch.out[-2000:]
    assert "fundrbolt-dev-amr.eastus.redis.azure.net:10000" in _redis_url(cloud)
    # No window: the secret was written after the database existed, and the cache is still there.
    done = writes(cloud.requests()[before:])
    order = [r["path"].split("?")[0] for r in done]
    db_put = next(i for i, p in enumerate(order) if p.endswith("/redisEnterprise/fundrbolt-dev-amr/databases/default"))
    secret_put = next(i for i, p in enumerate(order) if p.endswith("/secrets/redis-url"))
    assert db_put < secret_put
    assert CACHE in cloud.state() and not any(r.get("method") == "DELETE" and CACHE in r["path"] for r in done)

    # The old cache is reported, left alone; a re-plan has nothing else to do.
    again = cli("plan", *args, "--output", "json")
    pending = [c for c in again.json()["changes"] if c["action"] != "noop" and not c.get("waiting")]
    assert [(c["step"], bool(c.get("refused"))) for c in pending] == [("redis/old-cache/fundrbolt-dev-redis", True)]

    # Removal, once allowed: the cache goes; the secret is untouched.
    _edit(envs, "remove_old_cache = false", "remove_old_cache = true") if "remove_old_cache" in (
        envs / "dev.toml").read_text() else _edit(envs, 'kind = "managed"\n', 'kind = "managed"\nremove_old_cache = true\n')
    url = _redis_url(cloud)
    removed = cli("provision", *args, "--yes")
    assert removed.code == 0, removed.err + removed.out[-2000:]
    assert CACHE not in cloud.state() and AMR in cloud.state() and _redis_url(cloud) == url
    final = cli("plan", *args, "--output", "json")
    assert [c for c in final.json()["changes"] if c["action"] != "noop" and not c.get("waiting")] == []
