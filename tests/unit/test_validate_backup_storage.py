"""Validation of blob containers and the lifecycle policy: each rule names file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

import steps
from provisioner.cli.session import load_session
from provisioner.core.errors import ConfigError
from tests.support import append_env as append


def problems_for(envs: Path, key: str, env: str = "dev") -> list:
    with pytest.raises(ConfigError) as info:
        load_session(env, steps.ALL_STEPS, envs)
    return [p for p in info.value.problems if p.key == key]


@pytest.mark.parametrize("bad", ["Backups", "ab", "-backups", "backups-", "db--backups", "db_backups", "a" * 64])
def test_container_name_rule(envs, bad):
    append(envs, "dev", f'[storage_containers]\nnames = ["audit-logs", "{bad}"]\n')
    [p] = problems_for(envs, "storage_containers.names[1]")
    assert p.file.endswith("dev.toml") and "not a valid container name" in p.message


def test_container_listed_twice(envs):
    append(envs, "staging", '[storage_containers]\nnames = ["audit-logs", "audit-logs"]\n')
    [p] = problems_for(envs, "storage_containers.names[1]", "staging")
    assert p.file.endswith("staging.toml") and "listed twice" in p.message


def test_archive_days_must_be_positive(envs):
    append(envs, "production", "[storage_lifecycle]\narchive_after_days = -1\n")
    [p] = problems_for(envs, "storage_lifecycle.archive_after_days", "production")
    assert p.file.endswith("production.toml") and "positive number of days" in p.message


def test_delete_days_must_be_positive(envs):
    text = (envs / "dev.toml").read_text().replace("delete_after_days = 365", "delete_after_days = 0")
    (envs / "dev.toml").write_text(text)
    [p] = problems_for(envs, "storage_lifecycle.delete_after_days")
    assert p.file.endswith("dev.toml") and "positive number of days" in p.message


def test_delete_must_come_after_archive(envs):
    append(envs, "production", "[storage_lifecycle]\ndelete_after_days = 60\n")
    [p] = problems_for(envs, "storage_lifecycle.delete_after_days", "production")
    assert p.file.endswith("production.toml") and "later than archive_after_days (90)" in p.message


def test_archive_needs_an_account_sku_with_an_archive_tier(envs):
    append(envs, "staging", '[storage]\nsku = "Standard_ZRS"\n')
    [p] = problems_for(envs, "storage_lifecycle.archive_after_days", "staging")
    assert p.file.endswith("common.toml") and "Standard_ZRS" in p.message
