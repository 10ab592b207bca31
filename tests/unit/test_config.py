"""Config loading: layered files, provenance in errors, every problem at once, naming rules."""

from pathlib import Path

import pytest

import steps
from provisioner.cli.session import load_session
from provisioner.core.errors import ConfigError
from tests.support import ENVS


def problems(envs: Path, env: str = "dev") -> list:
    with pytest.raises(ConfigError) as info:
        load_session(env, steps.ALL_STEPS, envs)
    # Errors only: the shipped files carry deliberate warnings (e.g. autoscale limits the document contradicts).
    return [p for p in info.value.problems if p.severity == "error"]


@pytest.mark.parametrize("env", ["dev", "staging", "production"])
def test_shipped_environments_are_valid(env):
    session = load_session(env, steps.ALL_STEPS, ENVS)
    assert session.env.name == env
    assert session.env.resource_name("resource_group") == f"fundrbolt-{env}-rg"  # the seed's name
    assert set(session.env.tags) == {"Environment", "Project", "Owner", "CostCenter", "ManagedBy"}


def test_env_file_overrides_common(envs):
    s = load_session("production", steps.ALL_STEPS, ENVS)
    assert s.env.sections["app_service_plan"].sku == "S1"
    assert s.env.sections["key_vault"].purge_protection is True
    d = load_session("dev", steps.ALL_STEPS, ENVS)
    assert d.env.sections["key_vault"].purge_protection is False


def test_bad_storage_name_names_file_and_key(envs):
    (envs / "dev.toml").write_text((envs / "dev.toml").read_text() + '\n[naming]\nstorage_account = "Bad_Name"\n')
    [p] = problems(envs)
    assert p.file.endswith("dev.toml") and p.key == "naming.storage_account" and "lower-case" in p.message


def test_name_from_common_rule_blames_common(envs):
    text = (envs / "common.toml").read_text().replace('storage_account = "{project}{env}st"', 'storage_account = "{project}-{env}-st"')
    (envs / "common.toml").write_text(text)
    [p] = problems(envs)
    assert p.file.endswith("common.toml") and p.key == "naming.storage_account"


def test_all_problems_reported_at_once(envs):
    (envs / "dev.toml").write_text((envs / "dev.toml").read_text() + (
        '\n[naming]\nkey_vault = "kv--x"\nstorage_account = "x"\n[log_analytics]\nretention_days = 5\ntypo = 1\n'))
    found = {(p.key, Path(p.file).name) for p in problems(envs)}
    assert found == {("naming.key_vault", "dev.toml"), ("naming.storage_account", "dev.toml"),
                     ("log_analytics.retention_days", "dev.toml"), ("log_analytics.typo", "dev.toml")}


def test_unknown_top_level_key(envs):
    (envs / "staging.toml").write_text("colour = 'red'\n" + (envs / "staging.toml").read_text())
    [p] = problems(envs, "staging")
    assert p.key == "colour" and p.file.endswith("staging.toml")


def test_environment_must_match_file_name(envs):
    (envs / "dev.toml").write_text((envs / "dev.toml").read_text().replace('environment = "dev"', 'environment = "prod"'))
    assert any(p.key == "environment" for p in problems(envs))


def test_invalid_toml_names_file(envs):
    (envs / "dev.toml").write_text("this is = = not toml")
    [p] = problems(envs)
    assert p.file.endswith("dev.toml") and "TOML" in p.message


def test_production_requires_purge_protection(envs):
    text = (envs / "production.toml").read_text().replace("purge_protection = true", "purge_protection = false")
    (envs / "production.toml").write_text(text)
    [p] = problems(envs, "production")
    assert p.key == "key_vault.purge_protection"


def test_nested_typo_reads_like_a_top_level_one_and_suggests_the_key(envs):
    """Issue 11.9: no pydantic wording ("Extra inputs are not permitted"), one style at every depth."""
    (envs / "dev.toml").write_text((envs / "dev.toml").read_text()
                                   + "\n[metric_alerts.cpu]\nthreshhold = 90\n[[budget.notifications]]\nthreshold = 50\n"
                                     "operator = 'GreaterThan'\nthreshold_type = 'Actual'\ncontact_email = 'x@y.z'\n")
    found = {p.key: p.message for p in problems(envs)}
    assert found["metric_alerts.cpu.threshhold"] == "unknown key (a typo? did you mean 'threshold'?)"
    assert not any("Extra inputs" in m or "Field required" in m for m in found.values())


def test_top_level_typo_suggests_the_closest_section(envs):
    (envs / "dev.toml").write_text((envs / "dev.toml").read_text() + "\n[postgress]\nsku_name = 'x'\n")
    [p] = problems(envs)
    assert p.key == "postgress" and p.message == "unknown key (a typo? did you mean 'postgres'?)"


def test_unknown_environment_suggests_the_closest_and_names_no_dash_key(envs):
    [p] = problems(envs, "prod")
    assert p.key == "(file)" and "did you mean 'production'?" in p.message
    assert str(p).startswith(str(envs / "prod.toml") + ": (file): unknown environment 'prod'")
