"""Microsoft.Insights: App Insights components and billing, web tests, metric alerts, action groups, autoscale."""

from __future__ import annotations

import re
from typing import Any

from ..errors import ArmError
from ..ids import ArmPath
from ..profile import EngineApi, TypeProfile, WriteCtx, defaults, det_guid


def _component_populate(ctx: WriteCtx) -> None:
    props, loc = ctx.props, str(ctx.body.get("location") or "")
    old = (ctx.existing or {}).get("properties") or {}
    key = old.get("InstrumentationKey") or det_guid(ctx.id, ctx.now, "ikey")
    app_id = old.get("AppId") or det_guid(ctx.id, ctx.now, "appid")
    defaults(props, {"Application_Type": "web", "Flow_Type": "Bluefield", "Request_Source": "rest",
                     "RetentionInDays": 90, "IngestionMode": "LogAnalytics", "DisableIpMasking": False,
                     "publicNetworkAccessForIngestion": "Enabled", "publicNetworkAccessForQuery": "Enabled",
                     "SamplingPercentage": None})
    if isinstance(props.get("WorkspaceResourceId"), str):
        props["WorkspaceResourceId"] = props["WorkspaceResourceId"].lower()
    props.update(
        ApplicationId=ctx.path.name, AppId=app_id, Name=ctx.path.name, InstrumentationKey=key,
        ConnectionString=f"InstrumentationKey={key};IngestionEndpoint=https://{loc}-0.in.applicationinsights.azure.com/;"
                         f"LiveEndpoint=https://{loc}.livediagnostics.monitor.azure.com/;ApplicationId={app_id}",
        CreationDate=old.get("CreationDate", ctx.now), TenantId=ctx.path.subscription, HockeyAppId=None,
        HockeyAppToken=None, LaMigrationDate=None,
    )


# What Azure creates next to a new component (MicrosoftDocs/azure-docs#117421; CompositionalIT/farmer#637 for the
# shapes): a "Failure Anomalies" smart detector rule and, once per group, the action group it notifies.
MONITORING_CONTRIBUTOR = "749f88d5-cbae-40b8-bcfc-e573ddc772fa"
MONITORING_READER = "43d0d8ad-25c7-4714-9337-8ba259a9fe05"


def _component_companions(ctx: WriteCtx) -> None:
    if not ctx.created:
        return
    group = ctx.id.split("/providers/")[0]
    ag_id = f"{group}/providers/microsoft.insights/actiongroups/Application Insights Smart Detection"
    if ctx.engine.get(ag_id) is None:
        ctx.engine.put_raw(ag_id, {
            "id": ag_id, "name": "Application Insights Smart Detection", "type": "Microsoft.Insights/ActionGroups",
            "location": "Global", "tags": {}, "properties": {
                "groupShortName": "SmartDetect", "enabled": True, "emailReceivers": [], "smsReceivers": [],
                "webhookReceivers": [], "eventHubReceivers": [], "itsmReceivers": [], "azureAppPushReceivers": [],
                "automationRunbookReceivers": [], "voiceReceivers": [], "logicAppReceivers": [],
                "azureFunctionReceivers": [],
                "armRoleReceivers": [{"name": "Monitoring Contributor", "roleId": MONITORING_CONTRIBUTOR,
                                      "useCommonAlertSchema": True},
                                     {"name": "Monitoring Reader", "roleId": MONITORING_READER,
                                      "useCommonAlertSchema": True}]}})
    name = f"Failure Anomalies - {ctx.path.name}"
    rule_id = f"{group}/providers/microsoft.alertsmanagement/smartdetectoralertrules/{name}"
    ctx.engine.put_raw(rule_id, {
        "id": rule_id, "name": name, "type": "Microsoft.AlertsManagement/smartDetectorAlertRules",
        "location": "global", "properties": {
            "description": "Failure Anomalies notifies you of an unusual rise in the rate of failed HTTP requests or "
                           "dependency calls.",
            "state": "Enabled", "severity": "Sev3", "frequency": "PT1M",
            "detector": {"id": "FailureAnomaliesDetector"}, "scope": [ctx.id],
            "actionGroups": {"groupIds": [ag_id]}}})


def _billing_default(engine: EngineApi, path: ArmPath) -> dict[str, Any]:
    return {"CurrentBillingFeatures": ["Basic"], "DataVolumeCap": {
        "Cap": 100.0, "ResetTime": 0, "WarningThreshold": 90, "StopSendNotificationWhenHitThreshold": False,
        "StopSendNotificationWhenHitCap": False, "MaxHistoryCap": 1000.0}}


def _billing_populate(ctx: WriteCtx) -> None:
    cap = ctx.body.setdefault("DataVolumeCap", {})
    defaults(cap, {"ResetTime": 0, "WarningThreshold": 90, "MaxHistoryCap": 1000.0,
                   "StopSendNotificationWhenHitThreshold": False, "StopSendNotificationWhenHitCap": False})


_DURATION = re.compile(r"^p(t?)[0-9a-z.]+$", re.IGNORECASE)


def _minutes(duration: str) -> int | None:
    m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?", duration.upper())
    if not m or not any(m.groups()):
        return None
    days, hours, minutes = (int(x or 0) for x in m.groups())
    return days * 1440 + hours * 60 + minutes


# The only metric alert windows and evaluation frequencies Azure Monitor accepts: MicrosoftDocs/azure-docs#38575
# (alerts-metric-create-templates, "the allowed values for the windowSize and evaluationFrequency"), the azurerm
# monitor_metric_alert docs ("Possible values are PT1M, PT5M, PT15M, PT30M, PT1H, PT6H, PT12H and P1D"; frequency
# "PT1M, PT5M, PT15M, PT30M and PT1H"), Azure/azure-cli#31138. Anything else is a 400 BadRequest (Azure Monitor's
# code for invalid alert rules, e.g. DFE-Digital/publish-teacher-training#4368); the wording here is ours.
ALERT_WINDOWS = {1: "PT1M", 5: "PT5M", 15: "PT15M", 30: "PT30M", 60: "PT1H", 360: "PT6H", 720: "PT12H", 1440: "P1D"}
ALERT_FREQUENCIES = {1: "PT1M", 5: "PT5M", 15: "PT15M", 30: "PT30M", 60: "PT1H"}


def _alert_durations(props: dict[str, Any]) -> None:
    sent_window, sent_frequency = (str(props.get(k) or "") for k in ("windowSize", "evaluationFrequency"))
    window, frequency = _minutes(sent_window), _minutes(sent_frequency)
    if window not in ALERT_WINDOWS:
        raise ArmError(400, "BadRequest", f"The window size '{sent_window}' is not supported. Supported window sizes "
                       f"are: {', '.join(ALERT_WINDOWS.values())}.")
    if frequency not in ALERT_FREQUENCIES:
        raise ArmError(400, "BadRequest", f"The evaluation frequency '{sent_frequency}' is not supported. Supported "
                       f"evaluation frequencies are: {', '.join(ALERT_FREQUENCIES.values())}.")
    if window < frequency:
        # learn.microsoft.com/azure/azure-monitor/alerts/alerts-metric-create-templates: the lookback window
        # is at least the evaluation frequency (the portal offers nothing shorter; ARM refuses it).
        raise ArmError(400, "BadRequest", f"The window size {sent_window} must be greater than or equal to "
                       f"the evaluation frequency {sent_frequency}.")
    if window > 240 and frequency < 5:
        # Azure's own words (quoted in DFE-Digital/publish-teacher-training#4368 for a PT6H window at PT1M).
        raise ArmError(400, "BadRequest", "Evaluation frequency must be greater than or equal to five minutes since "
                       "the period is greater than four hours.")


def _alert_populate(ctx: WriteCtx) -> None:
    props = ctx.props
    _alert_durations(props)
    for key in ("evaluationFrequency", "windowSize"):
        if isinstance(props.get(key), str) and _DURATION.match(props[key]):
            props[key] = props[key].upper()  # ARM returns ISO-8601 durations upper-cased (Pt1m -> PT1M)
    defaults(props, {"autoMitigate": True, "targetResourceType": None, "targetResourceRegion": None})
    props.update(lastUpdatedTime=ctx.now, isMigrated=False)


_RECEIVERS = ("emailReceivers", "smsReceivers", "webhookReceivers", "eventHubReceivers", "itsmReceivers",
              "azureAppPushReceivers", "automationRunbookReceivers", "voiceReceivers", "logicAppReceivers",
              "azureFunctionReceivers", "armRoleReceivers")


def _action_group_populate(ctx: WriteCtx) -> None:
    props = ctx.props
    for key in _RECEIVERS:
        if props.get(key) is None:
            props[key] = []  # every receiver array is present, empty when unset
    for receiver in props["emailReceivers"] + props["smsReceivers"]:
        if isinstance(receiver, dict):
            receiver["status"] = "Enabled"
    for receiver in props["emailReceivers"]:
        if isinstance(receiver, dict):
            receiver.setdefault("useCommonAlertSchema", False)


_NO_AUTOSCALE_TIERS = ("Free", "Shared", "Basic")  # App Service plans that cannot scale out on a rule


def _autoscale_check(ctx: WriteCtx, target: dict[str, Any] | None) -> None:
    """What Azure refuses before storing: a missing or non-scalable target, bad capacity triples."""
    uri = str(ctx.props.get("targetResourceUri") or "")
    if target is None:
        raise ArmError(400, "BadRequest", f"The target resource id '{uri}' was not found.")
    sku: dict[str, Any] = target["sku"] if isinstance(target.get("sku"), dict) else {}
    if "/serverfarms/" in uri.lower() and sku.get("tier") in _NO_AUTOSCALE_TIERS:
        raise ArmError(400, "BadRequest", f"Autoscale is not supported for App Service plans in the "
                       f"'{sku.get('tier')}' tier; use Standard or above.")
    workers = (target.get("properties") or {}).get("maximumNumberOfWorkers")
    profiles = ctx.props.get("profiles")
    if not isinstance(profiles, list) or not 1 <= len(profiles) <= 20:
        raise ArmError(400, "BadRequest", "An autoscale setting needs between 1 and 20 profiles.")
    for profile in profiles:
        cap = (profile or {}).get("capacity") or {}
        try:
            low, default, high = (int(str(cap[k])) for k in ("minimum", "default", "maximum"))
        except (KeyError, ValueError):
            raise ArmError(400, "BadRequest", "capacity minimum, default and maximum are required integers "
                           "(sent as strings).") from None
        if not 0 <= low <= default <= high:
            raise ArmError(400, "BadRequest", f"The capacity default {default} must lie between minimum {low} "
                           f"and maximum {high}.")
        if isinstance(workers, int) and high > workers:
            raise ArmError(400, "BadRequest", f"The maximum capacity {high} is more than the target's limit "
                           f"of {workers} instances.")
        if len((profile or {}).get("rules") or []) > 10:
            raise ArmError(400, "BadRequest", "A profile has at most 10 rules.")


def _autoscale_populate(ctx: WriteCtx) -> None:
    props = ctx.props
    target = ctx.engine.get(str(props.get("targetResourceUri") or ""))
    _autoscale_check(ctx, target)
    # arm-examples createOrUpdateAutoscaleSetting: the id comes back with the provider lower-cased, the
    # server sets properties.name and adds predictiveAutoscalePolicy.scaleLookAheadTime = null.
    ctx.body["id"] = ctx.id.replace("/providers/Microsoft.Insights/autoscaleSettings/",
                                    "/providers/microsoft.insights/autoscalesettings/")
    props["name"] = ctx.path.name
    assert target is not None
    props.setdefault("targetResourceLocation", target.get("location"))
    defaults(props, {"enabled": False, "notifications": [],
                     "predictiveAutoscalePolicy": {"scaleMode": "Disabled"}})
    props["predictiveAutoscalePolicy"].setdefault("scaleLookAheadTime", None)
    for profile in props["profiles"]:
        for rule in profile.get("rules") or []:
            trigger, action = rule.get("metricTrigger") or {}, rule.get("scaleAction") or {}
            defaults(trigger, {"metricNamespace": "", "dividePerInstance": False})
            if isinstance(trigger.get("threshold"), int):
                trigger["threshold"] = float(trigger["threshold"])  # a double on the wire (10.0 in the example)
            for part, key in ((trigger, "timeGrain"), (trigger, "timeWindow"), (action, "cooldown")):
                if isinstance(part.get(key), str):
                    part[key] = part[key].upper()  # ISO-8601 durations come back upper-cased


def _diagnostic_populate(ctx: WriteCtx) -> None:
    """Azure echoes the log category group that was not chosen as a disabled entry, and metrics that were
    not sent as a disabled AllMetrics (hashicorp/terraform-provider-azurerm#5673, #10388, #28428): GET
    returns more entries than were written."""
    props = ctx.props
    logs = props.get("logs")
    # Every entry comes back with both forms (the one not used is null) and a retention policy (arm-examples
    # diagnosticSettings GET; steps/diagnostic_setting.py): built-in policies count `category` per entry.
    for key, forms in (("logs", ("category", "categoryGroup")), ("metrics", ("category",))):
        for entry in props.get(key) or []:
            if isinstance(entry, dict):
                for form in forms:
                    entry.setdefault(form, None)
                entry.setdefault("retentionPolicy", {"enabled": False, "days": 0})
    if isinstance(logs, list) and logs:
        groups = {str(e.get("categoryGroup") or "").lower() for e in logs if isinstance(e, dict)}
        for group in ("audit", "allLogs"):
            if groups & {"audit", "alllogs"} and group.lower() not in groups:
                logs.append({"category": None, "categoryGroup": group, "enabled": False,
                             "retentionPolicy": {"enabled": False, "days": 0}})
    if not props.get("metrics"):
        props["metrics"] = [{"category": "AllMetrics", "enabled": False, "timeGrain": None,
                             "retentionPolicy": {"enabled": False, "days": 0}}]


PROFILES = [
    TypeProfile(type="Microsoft.Insights/components", created=200, updated=200, latency=5.0,
                populate=_component_populate, after_write=_component_companions),
    TypeProfile(type="Microsoft.Insights/components/currentbillingfeatures", created=200, updated=200,
                singleton=True, raw_body=True, latency=1.0, default_body=_billing_default,
                populate=_billing_populate, methods=frozenset({"GET", "PUT"})),
    TypeProfile(type="Microsoft.Insights/webtests", created=200, updated=200, latency=3.0),
    TypeProfile(type="Microsoft.Insights/metricAlerts", created=200, updated=200, latency=3.0,
                provisioning_state=False, populate=_alert_populate),
    TypeProfile(type="Microsoft.Insights/actionGroups", created=201, updated=200, latency=3.0,
                provisioning_state=False, keep_location=True, populate=_action_group_populate),
    TypeProfile(type="Microsoft.Insights/autoscaleSettings", created=201, updated=200, latency=3.0,
                provisioning_state=False, populate=_autoscale_populate),
    TypeProfile(type="Microsoft.Insights/diagnosticSettings", created=200, updated=200, latency=2.0,
                provisioning_state=False, has_location=False, extension=True, populate=_diagnostic_populate),
]
