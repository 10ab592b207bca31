"""Validation of Key Vault secrets and the app settings that reference them: each rule names file and key."""

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


def test_secret_name_rule(envs):
    append(envs, "dev", '[key_vault_secrets.secrets]\n"bad_name!" = "generated"\n')
    [p] = problems_for(envs, "key_vault_secrets.secrets.bad_name!")
    assert p.file.endswith("dev.toml") and "1-127 letters, digits and '-'" in p.message


def test_secret_name_too_long(envs):
    append(envs, "staging", f'[key_vault_secrets.secrets]\n{"a" * 128} = "generated"\n')
    [p] = problems_for(envs, f"key_vault_secrets.secrets.{'a' * 128}", "staging")
    assert p.file.endswith("staging.toml") and "not a valid secret name" in p.message


def test_secret_source_must_be_known(envs):
    append(envs, "dev", '[key_vault_secrets.secrets]\nstripe-key = "stripe"\n')
    [p] = problems_for(envs, "key_vault_secrets.secrets.stripe-key")
    assert p.file.endswith("dev.toml") and "postgres" in p.message  # pydantic lists the allowed sources


def test_reference_must_point_at_a_declared_secret(envs):
    append(envs, "dev", '[web_app.key_vault_references]\nSTRIPE_KEY = "stripe-key"\n')
    [p] = problems_for(envs, "web_app.key_vault_references.STRIPE_KEY")
    assert p.file.endswith("dev.toml") and "'stripe-key', which is not declared" in p.message


def test_reference_blames_common_when_common_declares_it(envs):
    text = (envs / "common.toml").read_text().replace('REDIS_URL = "redis-url"', 'REDIS_URL = "redis-uri"')
    (envs / "common.toml").write_text(text)
    [p] = problems_for(envs, "web_app.key_vault_references.REDIS_URL")
    assert p.file.endswith("common.toml")


def test_reference_and_plain_setting_conflict(envs):
    text = (envs / "production.toml").read_text().replace(
        "[web_app.app_settings]\n", '[web_app.app_settings]\nDATABASE_URL = "postgresql://localhost/x"\n', 1)
    (envs / "production.toml").write_text(text)
    [p] = problems_for(envs, "web_app.key_vault_references.DATABASE_URL", "production")
    assert "also set in [web_app.app_settings]" in p.message
