"""Config only: the environment's Azure Policy exemptions (`[policy.exemptions.<name>]`) and the facts the
baseline's assignment parameters are filled from (provisioner/engine/policy/baseline.py). Provisions nothing."""

from __future__ import annotations

from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.policy.baseline import PolicyConfig, exemption_problems
from steps._monitoring import resource_id

SECTION = "policy"
Config = PolicyConfig


def instances(env: EnvironmentSpec) -> list:
    return []


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    return exemption_problems(env.section(SECTION, Config), env.where)


def facts(env: EnvironmentSpec) -> dict[str, str]:
    """Values `{name}` placeholders in policy/baseline.toml stand for in this environment."""
    from steps.communication_service import Config as CommunicationConfig
    from steps.storage_account import Config as StorageConfig

    return {
        "log_analytics_id": resource_id(env, "log_analytics"),
        "diagnostic_setting": env.resource_name("diagnostic_setting"),
        "data_location": env.section("communication", CommunicationConfig).data_location,
        "storage_sku": env.section("storage", StorageConfig).sku,
        "location": env.location,
    }
