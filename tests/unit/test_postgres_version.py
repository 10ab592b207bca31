"""PostgreSQL major versions as Azure handles them in December 2026: validate warns before standard support ends,
a higher version is the in-place major version upgrade (a PATCH of properties.version alone), a lower one is
refused before any write."""

from __future__ import annotations

import copy
from datetime import date

import pytest

import steps
from provisioner.cli.session import load_session
from provisioner.core.model import Action
from provisioner.engine.reconciler import Policy, decide
from steps import postgres_server as pg
from tests.support import edit_env, session, step

RG, PG = "fundrbolt-dev-rg", "fundrbolt-dev-pg"
VAULT_ID = (f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{RG}"
            "/providers/Microsoft.KeyVault/vaults/fundrbolt-dev-kv")
KNOWN = {"key_vault": {"id": VAULT_ID}}


def _live(desired: dict, version: str) -> dict:
    """What GET returns for the server as declared but on another major version (no password: write-only)."""
    body = copy.deepcopy(desired)
    body["properties"].pop("administratorLoginPassword")
    body["properties"]["version"] = version
    return body


@pytest.fixture
def december_2026(monkeypatch):
    monkeypatch.setattr(pg, "today", lambda: date(2026, 12, 7))


def _version_warnings(envs, env="dev"):
    return [p for p in load_session(env, steps.ALL_STEPS, envs).warnings if p.key == "postgres.version"]


def test_validate_warns_about_14_with_azures_end_of_standard_support(envs, december_2026):
    edit_env(envs, "common.toml", 'version = "17"', 'version = "14"')
    [w] = _version_warnings(envs)
    # The date is Azure's version policy's "Azure Standard Support End Date" for 14 (2026-12-11).
    assert "2026-12-11" in w.message and "in 4 days" in w.message and w.file.endswith("common.toml")
    assert "17" in w.message and "Extended Support" in w.message


def test_validate_warns_about_a_version_already_past_its_end(envs, december_2026):
    edit_env(envs, "common.toml", 'version = "17"', 'version = "13"')
    [w] = _version_warnings(envs)
    assert "2026-07-31" in w.message and "days ago" in w.message


def test_the_shipped_files_choose_a_version_in_standard_support(december_2026):
    from tests.support import ENVS

    for env in ("dev", "staging", "production"):
        assert _version_warnings(ENVS, env) == []
        assert pg.STANDARD_SUPPORT_ENDS[step(session(env), "postgres_server").config.version] > date(2027, 12, 7)


def test_a_version_increase_is_an_update_never_a_replace(dev):
    s = step(dev, "postgres_server")
    desired = s.desired(KNOWN)
    change = decide(s, desired, _live(desired, "14"), Policy(), production=True)
    assert change.action is Action.UPDATE and not change.refused
    assert [(p.path, p.before, p.after) for p in change.properties] == [("properties.version", "14", "17")]


def test_a_version_decrease_is_refused_naming_the_file_and_key(dev):
    s = step(dev, "postgres_server")
    desired = s.desired(KNOWN)
    change = decide(s, desired, _live(desired, "18"), Policy(), production=False)
    assert change.action is Action.UPDATE
    assert "cannot go back to 17" in change.refused and "postgres.version" in change.refused
    assert "envs/common.toml" in change.refused


def test_the_upgrade_is_a_patch_of_the_version_alone(c, dev):
    s = step(dev, "postgres_server")
    desired = s.desired(KNOWN)
    observed = _live(desired, "14")
    change = decide(s, desired, observed, Policy(), production=False)
    s.update(c, desired, observed, change.properties)
    [only] = c.postgres.servers.begin_update.call_args_list
    assert only.args == (RG, PG, {"properties": {"version": "17"}})


def test_an_upgrade_with_other_changes_patches_them_after_it(c, dev):
    s = step(dev, "postgres_server")
    desired = s.desired(KNOWN)
    observed = _live(desired, "14")
    observed["properties"]["backup"]["backupRetentionDays"] = 14
    change = decide(s, desired, observed, Policy(), production=False)
    s.update(c, desired, observed, change.properties)
    first, second = c.postgres.servers.begin_update.call_args_list
    assert first.args[2] == {"properties": {"version": "17"}}
    assert second.args[2]["properties"]["backup"] == {"backupRetentionDays": 7, "immutableBackup": "Disabled"}
    assert "administratorLoginPassword" not in second.args[2]["properties"]
