"""The step registry: one module per Azure resource type, in declaration order."""

from __future__ import annotations

from types import ModuleType

from steps import (
    action_group,
    app_insights,
    app_insights_billing,
    app_service_plan,
    app_settings,
    autoscale,
    availability_alert,
    budget,
    communication_service,
    custom_domain,
    deployment_slot,
    diagnostic_setting,
    dns_record,
    dns_zone,
    email_domain,
    email_service,
    key_vault,
    key_vault_access,
    key_vault_secret,
    lock,
    log_analytics,
    metric_alert,
    owned,
    postgres_configuration,
    postgres_database,
    postgres_firewall,
    postgres_server,
    redis,
    redis_firewall,
    resource_group,
    slot_config,
    slot_sticky_settings,
    static_web_app,
    storage_account,
    storage_container,
    storage_lifecycle,
    web_app,
    web_app_config,
    web_test,
)

ALL_STEPS: tuple[ModuleType, ...] = (
    resource_group,
    log_analytics,
    app_insights,
    app_insights_billing,
    storage_account,
    storage_container,
    storage_lifecycle,
    key_vault,
    app_service_plan,
    web_app,
    web_app_config,
    app_settings,
    deployment_slot,
    slot_config,
    slot_sticky_settings,
    autoscale,
    key_vault_access,
    static_web_app,
    postgres_server,
    postgres_configuration,
    postgres_firewall,
    postgres_database,
    redis,
    redis_firewall,
    key_vault_secret,
    dns_zone,
    email_service,
    email_domain,
    dns_record,
    custom_domain,
    communication_service,
    action_group,
    diagnostic_setting,
    metric_alert,
    web_test,
    availability_alert,
    budget,
    lock,  # last: each lock waits for the resource it protects
    owned,  # no steps: the collections we own whole (children no env file declares)
)


def sections() -> dict[str, type]:
    """Config section name -> pydantic model, for the loader."""
    return {m.SECTION: m.Config for m in ALL_STEPS if getattr(m, "SECTION", None)}
