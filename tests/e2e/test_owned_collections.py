"""Collections we own whole: a child added by hand that no env file declares is drift; provision revokes
what grants access and leaves what holds data (or sits under a lock) for a person, saying why."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import cli, rest, rg_path, writes
from tests.support import SUB

pytestmark = pytest.mark.e2e

KV_SECRETS_USER = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"
STRANGER = "11111111-2222-3333-4444-555555555555"


def _pg(env: str) -> str:
    return f"{rg_path(env)}/providers/Microsoft.DBforPostgreSQL/flexibleServers/fundrbolt-{env}-pg"


def _vault(env: str) -> str:
    return f"{rg_path(env)}/providers/Microsoft.KeyVault/vaults/fundrbolt-{env}-kv"


def _hand_made(url: str, env: str) -> dict[str, str]:
    """bob opens the database to every address, grants someone the vault and the group, adds a database,
    ships the vault's logs elsewhere and binds a domain to the API. Returns step name -> what it touched."""
    bob = "bob@fundrbolt.app"
    made = {
        "postgres_server/firewallRules/AllowAll": (f"{_pg(env)}/firewallRules/AllowAll",
                                                   {"properties": {"startIpAddress": "0.0.0.0",
                                                                   "endIpAddress": "255.255.255.255"}}, "2024-08-01"),
        "postgres_server/databases/scratch": (f"{_pg(env)}/databases/scratch", {"properties": {}}, "2024-08-01"),
        "resource_group/roleAssignments/0b1e0000-0000-4000-8000-000000000001": (
            f"{_vault(env)}/providers/Microsoft.Authorization/roleAssignments/0b1e0000-0000-4000-8000-000000000001",
            {"properties": {"roleDefinitionId": KV_SECRETS_USER, "principalId": STRANGER, "principalType": "User"}},
            "2022-04-01"),
        "resource_group/roleAssignments/0b1e0000-0000-4000-8000-000000000002": (
            f"{rg_path(env)}/providers/Microsoft.Authorization/roleAssignments/0b1e0000-0000-4000-8000-000000000002",
            {"properties": {"roleDefinitionId": KV_SECRETS_USER, "principalId": STRANGER, "principalType": "User"}},
            "2022-04-01"),
        "key_vault/diagnosticSettings/to-bobs-workspace": (
            f"{_vault(env)}/providers/Microsoft.Insights/diagnosticSettings/to-bobs-workspace",
            {"properties": {"workspaceId": f"/subscriptions/{SUB}/resourceGroups/bob/providers/"
                                           "Microsoft.OperationalInsights/workspaces/bobs",
                            "logs": [{"categoryGroup": "allLogs", "enabled": True}]}}, "2021-05-01-preview"),
    }
    for _name, (path, body, api) in made.items():
        status, answer = rest(url, "PUT", path, body, caller=bob, api_version=api)
        assert status < 300, (path, answer)
    return {name: path for name, (path, _body, _api) in made.items()}


def test_children_no_env_declares_are_drift_revoked_or_left_for_a_person(cloud):
    url = cloud.url
    assert cli("provision", "--env", "dev", "--arm-endpoint", url).code == 0
    made = _hand_made(url, "dev")

    drift = cli("drift", "--env", "dev", "--arm-endpoint", url, "--output", "json")
    assert drift.code == 2, drift.out + drift.err
    found = {c["step"]: c for c in drift.json()["changes"] if c["action"] == "delete"}
    assert set(found) == set(made), found
    assert found["postgres_server/databases/scratch"]["refused"].startswith("left for a person: a database holds data")
    assert "refused" not in found["postgres_server/firewallRules/AllowAll"]
    rule = {p["path"]: p["before"] for p in found["postgres_server/firewallRules/AllowAll"]["properties"]}
    assert rule == {"properties.startIpAddress": "0.0.0.0", "properties.endIpAddress": "255.255.255.255"}
    text = cli("drift", "--env", "dev", "--arm-endpoint", url)
    assert "- postgres_server/firewallRules/AllowAll" in text.out and "not declared by any env file" in text.out

    done = cli("provision", "--env", "dev", "--arm-endpoint", url)
    assert done.code == 0, done.out + done.err
    assert "postgres_server/databases/scratch: left for a person" in done.out + done.err
    deleted = {r["path"].lower() for r in cloud.requests() if r.get("method") == "DELETE"}
    for name, path in made.items():
        assert (path.lower() in deleted) == ("databases" not in name), name

    again = cli("drift", "--env", "dev", "--arm-endpoint", url, "--output", "json")
    left = [c["step"] for c in again.json()["changes"]]
    assert left == ["postgres_server/databases/scratch"]  # still drift until a person decides
    before = len(cloud.requests())
    assert cli("provision", "--env", "dev", "--arm-endpoint", url).code == 0
    assert writes(cloud.requests()[before:]) == []  # the database is never touched


def test_under_our_lock_in_production_children_are_left_for_a_person(cloud):
    """Production locks the vault and the database server: a grant or a rule under them is not deleted as
    an ordinary update (ARM would answer ScopeLocked); the report says which lock and what to do."""
    url = cloud.url
    ok = cli("provision", "--env", "production", "--arm-endpoint", url, "--yes")
    assert ok.code == 0, ok.out + ok.err
    made = _hand_made(url, "production")
    before = len(cloud.requests())
    done = cli("provision", "--env", "production", "--arm-endpoint", url, "--yes")
    assert done.code == 0, done.out + done.err
    deleted = {r["path"].lower() for r in cloud.requests()[before:] if r.get("method") == "DELETE"}
    # The group-scope grant is not under any lock: revoked. The rest sit under the vault's / server's lock.
    assert deleted == {made["resource_group/roleAssignments/0b1e0000-0000-4000-8000-000000000002"].lower()}
    assert "under the management lock on fundrbolt-production-kv" in done.out + done.err
