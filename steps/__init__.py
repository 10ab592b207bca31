"""The step registry: one module per Azure resource type, in declaration order."""

from __future__ import annotations

from types import ModuleType

from steps import (
    app_service_plan,
    app_settings,
    key_vault,
    log_analytics,
    resource_group,
    storage_account,
    web_app,
    web_app_config,
)

ALL_STEPS: tuple[ModuleType, ...] = (
    resource_group,
    log_analytics,
    storage_account,
    key_vault,
    app_service_plan,
    web_app,
    web_app_config,
    app_settings,
)


def sections() -> dict[str, type]:
    """Config section name -> pydantic model, for the loader."""
    return {m.SECTION: m.Config for m in ALL_STEPS if getattr(m, "SECTION", None)}
