"""Validation of the App Service tier: each rule rejects a bad input with a message naming file and key."""

from pathlib import Path

import pytest

import steps
from provisioner.cli.session import load_session
from provisioner.core.errors import ConfigError
from tests.support import ENVS
from tests.support import edit_env as edit


def errors(envs: Path, env: str) -> list:
    with pytest.raises(ConfigError) as info:
        load_session(env, steps.ALL_STEPS, envs)
    return [p for p in info.value.problems if p.severity == "error"]


def only(envs: Path, env: str, key: str):
    found = [p for p in errors(envs, env) if p.key == key]
    assert len(found) == 1, errors(envs, env)
    return found[0]


# ----------------------------------------------------------------------------- slots


def test_slot_on_basic_plan_is_rejected(envs):
    edit(envs, "dev.toml", "enabled = false               # Basic B1 has no deployment slots", "enabled = true")
    p = only(envs, "dev", "deployment_slot.enabled")
    assert p.file.endswith("dev.toml") and "Standard" in p.message and "B1" in p.message


def test_slot_name_must_fit_the_host_name(envs):
    edit(envs, "common.toml", 'web_app = "{project}-{env}-api"', 'web_app = "{project}-{env}-api-service-with-long-name"')
    edit(envs, "staging.toml", 'environment = "staging"', 'environment = "staging"\n[deployment_slot]\nname = "staging-blue-green-slot"')
    p = only(envs, "staging", "deployment_slot.name")
    assert p.file.endswith("staging.toml") and "host name" in p.message


def test_slot_name_pattern(envs):
    edit(envs, "common.toml", 'name = "staging"', 'name = "Staging_Slot"')
    p = only(envs, "staging", "deployment_slot.name")
    assert p.file.endswith("common.toml") and "pattern" in p.message


def test_sticky_setting_must_be_an_app_setting(envs):
    edit(envs, "common.toml", 'sticky_settings = ["ENVIRONMENT", "LOG_LEVEL"]', 'sticky_settings = ["ENVIRONMENT", "LOG_LEVLE"]')
    p = only(envs, "production", "deployment_slot.sticky_settings")
    assert p.file.endswith("common.toml") and "LOG_LEVLE" in p.message


def test_the_deploy_marker_cannot_be_sticky(envs):
    edit(envs, "common.toml", 'sticky_settings = ["ENVIRONMENT", "LOG_LEVEL"]',
         'sticky_settings = ["ENVIRONMENT", "LOG_LEVEL", "DEPLOY_MARKER"]')
    p = only(envs, "production", "deployment_slot.sticky_settings")
    assert "DEPLOY_MARKER must move with the image" in p.message


# ----------------------------------------------------------------------------- autoscale


def test_autoscale_on_basic_plan_is_rejected(envs):
    edit(envs, "dev.toml", "enabled = false\n", "enabled = true\n")
    p = only(envs, "dev", "autoscale.enabled")
    assert p.file.endswith("dev.toml") and "Standard" in p.message


def test_autoscale_default_between_min_and_max(envs):
    edit(envs, "staging.toml", "default = 1\n", "default = 7\n")
    p = only(envs, "staging", "autoscale.default")
    assert p.file.endswith("staging.toml") and "1 <= 7 <= 5" in p.message


def test_autoscale_minimum_above_maximum(envs):
    edit(envs, "staging.toml", "minimum = 1\n", "minimum = 6\n")
    keys = {p.key for p in errors(envs, "staging")}
    assert "autoscale.default" in keys  # 6 <= 1 <= 5 fails


def test_autoscale_maximum_within_standard_tier(envs):
    edit(envs, "production.toml", "maximum = 5\n", "maximum = 11\n")
    p = only(envs, "production", "autoscale.maximum")
    assert p.file.endswith("production.toml") and "Standard" in p.message and "10" in p.message


def test_autoscale_maximum_within_premium_v3_tier(envs):
    edit(envs, "production.toml", 'sku = "S1"       # Standard S1; autoscale adds instances (2 minimum)', 'sku = "P1v3"')
    edit(envs, "production.toml", "maximum = 5\n", "maximum = 30\n")
    load_session("production", steps.ALL_STEPS, envs)  # 30 is PremiumV3's limit: fine
    edit(envs, "production.toml", "maximum = 30\n", "maximum = 31\n")
    p = only(envs, "production", "autoscale.maximum")
    assert "PremiumV3" in p.message and "30" in p.message


def test_plan_capacity_inside_autoscale_range(envs):
    edit(envs, "production.toml", "capacity = 2\n", "capacity = 1\n")
    p = only(envs, "production", "app_service_plan.capacity")
    assert p.file.endswith("production.toml") and "2-5" in p.message


def test_document_conflict_is_a_warning_naming_the_file():
    prod = load_session("production", steps.ALL_STEPS, ENVS)
    [w] = [p for p in prod.warnings if p.key.startswith("autoscale.")]
    assert w.severity == "warning" and w.key == "autoscale.maximum" and w.file.endswith("production.toml")
    assert "2-10" in w.message
    dev = load_session("dev", steps.ALL_STEPS, ENVS)
    [w] = [p for p in dev.warnings if p.key.startswith("autoscale.")]
    assert w.key == "autoscale.enabled" and w.file.endswith("dev.toml") and "1-2" in w.message
    staging = load_session("staging", steps.ALL_STEPS, ENVS)
    assert not [p for p in staging.warnings if p.key.startswith("autoscale.")]


# ----------------------------------------------------------------------------- static web app


def test_static_web_app_region(envs):
    edit(envs, "common.toml", 'location = "eastus2"', 'location = "East US"')
    p = only(envs, "dev", "static_web_app.location")
    assert p.file.endswith("common.toml") and "eastus2" in p.message and "'eastus'" in p.message


def test_static_web_app_region_display_name_is_accepted(envs):
    edit(envs, "common.toml", 'location = "eastus2"', 'location = "West Europe"')
    load_session("dev", steps.ALL_STEPS, envs)


def test_static_web_app_sku_name(envs):
    edit(envs, "common.toml", 'sku = "Standard"              # architecture', 'sku = "Premium"  # architecture')
    p = only(envs, "dev", "static_web_app.sku")
    assert p.file.endswith("common.toml") and "Standard" in p.message


def test_static_web_app_name(envs):
    edit(envs, "common.toml", 'static_web_app = "{project}-{env}-admin"', 'static_web_app = "{project}-{env}-admin-"')
    p = only(envs, "dev", "naming.static_web_app")
    assert p.file.endswith("common.toml") and "'-'" in p.message


# ----------------------------------------------------------------------------- Key Vault firewall


def test_vault_allowed_ip_must_be_an_address(envs):
    edit(envs, "common.toml", "allowed_ips = []", 'allowed_ips = ["52.1.1.1", "runner-1"]')
    p = only(envs, "dev", "key_vault.allowed_ips[1]")
    assert p.file.endswith("common.toml") and "runner-1" in p.message


def test_vault_allowed_ip_must_be_public(envs):
    edit(envs, "common.toml", "allowed_ips = []", 'allowed_ips = ["10.0.0.0/8"]')
    p = only(envs, "dev", "key_vault.allowed_ips[0]")
    assert "public IPv4" in p.message
