"""Validation of monitoring, alerting and budgets: each rule rejects a bad input naming file and key."""

from pathlib import Path

import pytest

import steps
from provisioner.cli.session import load_session
from provisioner.core.errors import ConfigError
from tests.support import edit_env as edit


def only(envs: Path, env: str, key: str, file: str):
    with pytest.raises(ConfigError) as info:
        load_session(env, steps.ALL_STEPS, envs)
    found = [p for p in info.value.problems if p.key == key and p.severity == "error"]
    assert len(found) == 1, info.value.problems
    assert Path(found[0].file).name == file, found[0]
    return found[0]


# ----------------------------------------------------------------------------- Application Insights


def test_sampling_must_be_a_rate_azure_keeps(envs):
    edit(envs, "production.toml", "sampling_percentage = 10 ", "sampling_percentage = 15 ")
    p = only(envs, "production", "app_insights.sampling_percentage", "production.toml")
    assert "15" in p.message and "12.5" in p.message


def test_sampling_above_100_is_rejected(envs):
    edit(envs, "dev.toml", "sampling_percentage = 100 ", "sampling_percentage = 150 ")
    assert "150" in only(envs, "dev", "app_insights.sampling_percentage", "dev.toml").message


def test_retention_must_be_in_the_allowed_set(envs):
    edit(envs, "dev.toml", 'daily_cap_gb = "none"', 'daily_cap_gb = "none"\nretention_days = 45')
    p = only(envs, "dev", "app_insights.retention_days", "dev.toml")
    assert "45" in p.message and "730" in p.message


def test_daily_cap_must_not_be_negative(envs):
    edit(envs, "staging.toml", "daily_cap_gb = 1 ", "daily_cap_gb = -1 ")
    assert ">= 0" in only(envs, "staging", "app_insights.daily_cap_gb", "staging.toml").message


def test_daily_cap_is_a_number_or_none(envs):
    edit(envs, "dev.toml", 'daily_cap_gb = "none"', 'daily_cap_gb = "unlimited"')
    only(envs, "dev", "app_insights.daily_cap_gb", "dev.toml")


# ----------------------------------------------------------------------------- action group


def test_action_group_short_name_at_most_12(envs):
    edit(envs, "production.toml", 'short_name = "fb-prod"', 'short_name = "fundrbolt-prod"')
    assert "12" in only(envs, "production", "action_group.short_name", "production.toml").message


def test_action_group_emails_must_be_valid(envs):
    edit(envs, "staging.toml", '"devops@fundrbolt.app"]', '"devops(at)fundrbolt.app"]')
    p = only(envs, "staging", "action_group.emails", "staging.toml")
    assert "devops(at)fundrbolt.app" in p.message


# ----------------------------------------------------------------------------- alerts


def test_alert_severity_between_0_and_4(envs):
    edit(envs, "common.toml", 'severity = 2                 # "CPU usage', 'severity = 7                 # "CPU usage')
    only(envs, "dev", "metric_alerts.cpu.severity", "common.toml")


def test_alert_threshold_must_be_positive(envs):
    edit(envs, "common.toml", "threshold = 80\nwindow = \"PT15M\"", "threshold = 0\nwindow = \"PT15M\"")
    only(envs, "dev", "metric_alerts.memory.threshold", "common.toml")


def test_percentage_threshold_at_most_100(envs):
    edit(envs, "common.toml", "threshold = 70\n", "threshold = 170\n")
    assert "percentage" in only(envs, "dev", "metric_alerts.cpu.threshold", "common.toml").message


def test_availability_alert_severity_between_0_and_4(envs):
    edit(envs, "dev.toml", "[availability_alerts]\n", "[availability_alerts]\nseverity = 5\n")
    only(envs, "dev", "availability_alerts.severity", "dev.toml")


def test_failed_locations_cannot_exceed_test_locations(envs):
    edit(envs, "common.toml", "failed_location_count = 2", "failed_location_count = 4")
    p = only(envs, "dev", "availability_alerts.failed_location_count", "common.toml")
    assert "3" in p.message


def test_web_test_locations_must_be_known_ids(envs):
    edit(envs, "common.toml", '"emea-gb-db3-azr"]', '"North Europe"]')
    assert "North Europe" in only(envs, "dev", "web_tests.locations", "common.toml").message


def test_db_connections_needs_a_known_postgres_sku(envs):
    edit(envs, "dev.toml", 'sku_name = "Standard_B1ms"', 'sku_name = "Standard_B3ms"')
    with pytest.raises(ConfigError) as info:
        load_session("dev", steps.ALL_STEPS, envs)
    [p] = [p for p in info.value.problems if "max_connections" in p.message]
    assert p.key == "postgres.sku_name" and p.file.endswith("dev.toml")


def test_diagnostic_targets_listed_once(envs):
    edit(envs, "common.toml", '"storage_account", "storage_blob",', '"storage_account", "storage_account",')
    only(envs, "dev", "diagnostics.targets", "common.toml")


# ----------------------------------------------------------------------------- budget


def test_budget_amount_must_be_positive(envs):
    edit(envs, "dev.toml", "amount = 100 ", "amount = 0 ")
    only(envs, "dev", "budget.amount", "dev.toml")


def test_budget_notification_threshold_0_to_1000(envs):
    edit(envs, "common.toml", "threshold = 90 ", "threshold = 1500 ")
    p = only(envs, "staging", "budget.notifications[1].threshold", "common.toml")
    assert "0-1000" in p.message


def test_a_fixed_budget_start_date_is_refused_it_would_fail_from_the_next_month_on(envs):
    edit(envs, "common.toml", "[budget]\n", "[budget]\nstart_date = 2026-11-01\n")
    only(envs, "dev", "budget.start_date", "common.toml")


def test_metric_alert_window_must_be_at_least_the_evaluation_frequency(envs):
    edit(envs, "common.toml", 'evaluation_frequency = "PT1M"', 'evaluation_frequency = "PT15M"')
    p = only(envs, "production", "metric_alerts.error_rate.window", "common.toml")
    assert "PT5M" in p.message and "PT15M" in p.message
    only(envs, "production", "availability_alerts.window", "common.toml")


def test_an_availability_alert_window_shorter_than_a_round_of_tests_is_refused(envs):
    edit(envs, "dev.toml", 'window = "PT15M"', 'window = "PT5M"')
    assert "PT15M" in only(envs, "dev", "availability_alerts.window", "dev.toml").message


@pytest.mark.parametrize("window", ["PT10M", "PT2M", "PT45M", "PT2H", "P2D"])
def test_a_metric_alert_window_azure_does_not_offer_is_refused_naming_those_it_does(envs, window):
    # The first PT15M window in common.toml is the cpu rule's.
    text = (envs / "common.toml").read_text().replace('window = "PT15M"\n', f'window = "{window}"\n', 1)
    (envs / "common.toml").write_text(text)
    p = only(envs, "dev", "metric_alerts.cpu.window", "common.toml")
    # Azure's set: MicrosoftDocs/azure-docs#38575, azurerm monitor_metric_alert ("Possible values are ...").
    for allowed in ("PT1M", "PT5M", "PT15M", "PT30M", "PT1H", "PT6H", "PT12H", "P1D"):
        assert allowed in p.message
    assert window in p.message


def test_a_window_over_four_hours_needs_a_five_minute_frequency(envs):
    text = (envs / "common.toml").read_text().replace('window = "PT15M"\n', 'window = "PT6H"\n', 1)
    (envs / "common.toml").write_text(text)
    assert "PT5M" in only(envs, "dev", "metric_alerts.cpu.window", "common.toml").message


def test_shipped_alert_windows_fit_their_frequency():
    import steps
    from provisioner.cli.session import load_session
    from tests.support import ENVS

    for env in ("dev", "staging", "production"):
        assert not [p for p in load_session(env, steps.ALL_STEPS, ENVS).warnings if "window" in p.key]
