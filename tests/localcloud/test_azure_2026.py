"""Azure as it is in December 2026, through the real SDK clients: each rule accepted and refused as Azure does
(docs/azure-2026.md cites the sources)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure.core.exceptions import HttpResponseError

from .conftest import rid


def _alert(mon, rg, name: str, window: timedelta, frequency: timedelta = timedelta(minutes=1)):
    from azure.mgmt.monitor.models import (
        MetricAlertResource,
        MetricAlertSingleResourceMultipleMetricCriteria,
        MetricCriteria,
    )

    return mon.metric_alerts.create_or_update(rg, name, MetricAlertResource(
        location="global", severity=2, enabled=True, scopes=[rid("Microsoft.Web/serverfarms/p")],
        evaluation_frequency=frequency, window_size=window,
        criteria=MetricAlertSingleResourceMultipleMetricCriteria(all_of=[MetricCriteria(
            name="c", metric_name="CpuPercentage", operator="GreaterThan", threshold=70, time_aggregation="Average")])))


# The oracle is Azure's documented set (MicrosoftDocs/azure-docs#38575, azurerm monitor_metric_alert docs).
AZURE_WINDOWS = [1, 5, 15, 30, 60, 360, 720, 1440]


@pytest.mark.parametrize("minutes", [2, 10, 20, 45, 120, 2880])
def test_a_metric_alert_window_outside_azures_set_is_refused(make, rg, minutes):
    from azure.mgmt.monitor import MonitorManagementClient

    with pytest.raises(HttpResponseError) as info:
        _alert(make(MonitorManagementClient), rg, f"w{minutes}", timedelta(minutes=minutes))
    assert info.value.status_code == 400 and info.value.error.code == "BadRequest"
    assert "PT15M" in info.value.error.message  # names the windows Azure accepts


@pytest.mark.parametrize("minutes", AZURE_WINDOWS)
def test_every_window_azure_offers_is_accepted(make, rg, minutes):
    from azure.mgmt.monitor import MonitorManagementClient

    frequency = timedelta(minutes=5 if minutes > 240 else 1)
    alert = _alert(make(MonitorManagementClient), rg, f"w{minutes}", timedelta(minutes=minutes), frequency)
    assert alert.window_size == timedelta(minutes=minutes)


def test_a_long_window_needs_a_five_minute_frequency(make, rg):
    from azure.mgmt.monitor import MonitorManagementClient

    mon = make(MonitorManagementClient)
    with pytest.raises(HttpResponseError) as info:
        _alert(mon, rg, "six-hours", timedelta(hours=6), timedelta(minutes=1))
    assert "five minutes" in info.value.error.message
    assert _alert(mon, rg, "six-hours", timedelta(hours=6), timedelta(minutes=5)).window_size == timedelta(hours=6)


def test_an_evaluation_frequency_outside_azures_set_is_refused(make, rg):
    from azure.mgmt.monitor import MonitorManagementClient

    with pytest.raises(HttpResponseError) as info:
        _alert(make(MonitorManagementClient), rg, "f10", timedelta(minutes=15), timedelta(minutes=10))
    assert info.value.status_code == 400 and "evaluation frequency" in info.value.error.message
