"""Every field of every managed type is compared, read-only (from the SDK model) or not managed with a reason."""

from __future__ import annotations

import shutil
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from provisioner.core.model import NOT_MANAGED, READ_ONLY
from provisioner.engine.diff import covers, diff, rule_path
from provisioner.engine.fields import account_type, declared_paths, model_fields
from provisioner.engine.step import Step
from tests.support import ENVS as ENVS_DIR
from tests.support import session, step

ENVS = ("dev", "staging", "production")


def _cache_envs() -> Path:
    """The shipped environments with [redis] kind = "cache" (Azure Cache for Redis, kept by an environment that
    already runs one): its step types are accounted for as well."""
    target = Path(tempfile.mkdtemp(prefix="cache-envs-")) / "envs"
    shutil.copytree(ENVS_DIR, target)
    for env in ENVS:
        path = target / f"{env}.toml"
        path.write_text(path.read_text().replace("[redis]\n", '[redis]\nkind = "cache"\n', 1))
    return target


def _by_type() -> dict[type, tuple[Step, list[dict]]]:
    out: dict[type, tuple[Step, list[dict]]] = {}
    cache = _cache_envs()
    for env, envs_dir in [(e, ENVS_DIR) for e in ENVS] + [(e, cache) for e in ENVS]:
        for s in session(env, envs_dir).steps:
            first, bodies = out.setdefault(type(s), (s, []))
            bodies.append(s.desired({}))
    return out


TYPES = _by_type()
IDS = [f"{t.__module__.removeprefix('steps.')}.{t.__name__}" for t in TYPES]


@pytest.mark.parametrize("cls", list(TYPES), ids=IDS)
def test_every_step_type_names_its_model(cls):
    assert cls.model is not None, (
        f"{cls.__module__}.{cls.__name__}: set `model = <SDK model class of the GET body>` (azure.mgmt.*.models) or "
        "a provisioner.engine.fields.SpecModel citing the REST spec, so its read-only and writable fields are known")


@pytest.mark.parametrize("cls", list(TYPES), ids=IDS)
def test_every_writable_field_is_declared_or_not_managed_with_a_reason(cls):
    sample, bodies = TYPES[cls]
    acc = account_type(cls.__name__, cls.model, cls.model_at, sample.rules, bodies)
    assert not acc.missing, (
        f"{cls.__module__}.{cls.__name__} ({cls.type}): {len(acc.missing)} writable field(s) of {getattr(cls.model, '__name__', cls.model)} "
        "are neither declared in desired() nor listed as not managed:\n  " + "\n  ".join(acc.missing) +
        "\nDeclare each (security settings must be declared, pinned to the secure value), or add it to the step's "
        "`not_managed = ((\"<path>\", \"<why someone else owns it>\"), ...)` (steps/_fields.py has shared reasons).")
    declared = {rule_path(p) for b in bodies for p in declared_paths(b)}
    for pattern, reason in sample.rules.not_managed:
        assert reason.strip(), f"{cls.__name__}: not_managed {pattern!r} has no reason"
        if reason.startswith("owned by") and pattern in declared:
            continue  # sent on create, then someone else's (sku.capacity under autoscale)
        hidden = sorted(d for d in declared if covers(pattern, d))
        assert not hidden, f"{cls.__name__}: not_managed {pattern!r} would hide declared field(s) {hidden}"


# Security settings the issue names, per type: declared (compared), never read-only or not managed.
SECURITY: dict[str, tuple[str, ...]] = {
    "steps.storage_account.StorageAccount": ("properties.networkAcls.defaultAction", "properties.publicNetworkAccess",
                                             "properties.allowBlobPublicAccess", "properties.minimumTlsVersion",
                                             "properties.supportsHttpsTrafficOnly", "properties.allowSharedKeyAccess",
                                             "properties.networkAcls.ipRules", "properties.allowCrossTenantReplication"),
    "steps.web_app_config.SiteConfig": ("properties.ipSecurityRestrictions", "properties.scmIpSecurityRestrictions",
                                        "properties.cors.allowedOrigins", "properties.ftpsState", "properties.minTlsVersion",
                                        "properties.publicNetworkAccess", "properties.remoteDebuggingEnabled"),
    "steps.slot_config.SlotSiteConfig": ("properties.ipSecurityRestrictions", "properties.cors.allowedOrigins",
                                         "properties.ftpsState", "properties.minTlsVersion"),
    "steps.web_app.WebApp": ("properties.httpsOnly", "properties.publicNetworkAccess"),
    "steps.deployment_slot.DeploymentSlot": ("properties.httpsOnly", "properties.publicNetworkAccess"),
    "steps.key_vault.KeyVault": ("properties.accessPolicies", "properties.publicNetworkAccess",
                                 "properties.networkAcls.defaultAction", "properties.enableRbacAuthorization",
                                 "properties.enabledForDeployment", "properties.enabledForDiskEncryption",
                                 "properties.enabledForTemplateDeployment"),
    "steps.redis.Redis": ("properties.publicNetworkAccess", "properties.enableNonSslPort", "properties.minimumTlsVersion",
                          "properties.disableAccessKeyAuthentication", "properties.redisConfiguration.authnotrequired"),
    # Azure Managed Redis: network access and TLS on the cluster; TLS-only protocol and the key on the database.
    "steps.managed_redis.ManagedRedis": ("properties.publicNetworkAccess", "properties.minimumTlsVersion"),
    "steps.managed_redis.NoPersistenceDatabase": ("properties.clientProtocol", "properties.accessKeysAuthentication"),
    "steps.managed_redis.AofDatabase": ("properties.clientProtocol", "properties.accessKeysAuthentication"),
    "steps.log_analytics.Workspace": ("properties.publicNetworkAccessForIngestion", "properties.publicNetworkAccessForQuery"),
    "steps.communication_service.CommunicationService": ("properties.disableLocalAuth", "properties.publicNetworkAccess"),
    "steps.app_insights.AppInsights": ("properties.DisableLocalAuth", "properties.publicNetworkAccessForIngestion"),
    "steps.diagnostic_setting.DiagnosticSetting": ("properties.workspaceId",),
    "steps.postgres_server.PostgresServer": ("properties.network.publicNetworkAccess", "properties.authConfig.passwordAuth",
                                             "properties.authConfig.activeDirectoryAuth"),
    "steps.static_web_app.StaticWebApp": ("properties.publicNetworkAccess",),
    "steps.publishing_credentials.PublishingCredentials": ("properties.allow",),
}


@pytest.mark.parametrize("owner", sorted(SECURITY))
def test_security_settings_are_declared_never_not_managed(owner):
    matches = [c for c in TYPES if f"{c.__module__}.{c.__name__}" == owner]
    assert matches, f"{owner} is not a step type of any environment"
    cls = matches[0]
    sample, bodies = TYPES[cls]
    declared = {rule_path(p) for b in bodies for p in declared_paths(b)}
    for path in SECURITY[owner]:
        assert path in declared, f"{owner}: security setting {path} must be declared (pinned to the secure value)"
        assert not any(covers(p, path) for p, _ in sample.rules.not_managed), f"{owner}: {path} is security: not 'not managed'"


def test_read_only_comes_from_the_model_not_a_hand_list():
    from azure.mgmt.storage.models import StorageAccount
    from azure.mgmt.web.models import AppServicePlan

    assert "properties.primaryEndpoints" in model_fields(StorageAccount).read_only
    assert "properties.creationTime" in model_fields(StorageAccount).read_only
    plan = model_fields(AppServicePlan)
    assert {"properties.status", "properties.numberOfSites"} <= plan.read_only
    assert "sku.capacity" in plan.writable and "properties.reserved" in plan.writable


def test_polymorphic_models_include_every_subtype():
    from azure.mgmt.monitor.models import MetricAlertResource

    writable = model_fields(MetricAlertResource).writable
    assert "properties.criteria.allOf[].threshold" in writable  # multi-metric criteria
    assert "properties.criteria.webTestId" in writable  # web-test criteria


def test_a_changed_read_only_field_is_counted_as_read_only_and_a_not_managed_one_with_its_reason():
    s = step(session("production"), "app_service_plan")
    desired = s.desired({})
    observed = {**desired, "sku": {**desired["sku"], "capacity": 4}, "properties": {
        **desired["properties"], "status": "Ready", "numberOfSites": 3}}
    result = diff(desired, observed, s.rules)
    assert result.empty
    kinds = {(i.path, i.kind, i.rule) for i in result.ignored}
    assert ("properties.status", READ_ONLY, "server-populated") in kinds
    assert ("sku.capacity", NOT_MANAGED, "owned by autoscale") in kinds


def test_a_security_setting_changed_by_hand_is_drift():
    s = step(session("dev"), "storage_account")
    desired = s.desired({})
    acls = desired["properties"]["networkAcls"]
    assert acls["defaultAction"] == "Deny"  # envs/common.toml storage.network_default_action
    observed: dict[str, Any] = {**desired, "properties": {**desired["properties"], "publicNetworkAccess": "Enabled",
                                                          "networkAcls": {**acls, "ipRules": None}}}
    assert diff(desired, observed, s.rules).empty  # null rule lists are Azure's empty ones
    observed["properties"]["networkAcls"] = {**acls, "defaultAction": "Allow", "bypass": "None"}
    paths = sorted(c.path for c in diff(desired, observed, s.rules).changes)
    assert paths == ["properties.networkAcls.bypass", "properties.networkAcls.defaultAction"]


def test_a_hand_added_access_rule_on_the_site_is_drift_naming_the_rule():
    s = step(session("dev"), "web_app_config")
    desired = s.desired({})
    observed = {"properties": {**desired["properties"], "cors": None, "publicNetworkAccess": None,
                               "ipSecurityRestrictionsDefaultAction": None, "scmIpSecurityRestrictionsDefaultAction": None}}
    assert diff(desired, observed, s.rules).empty  # null is Azure's way of saying "the default"
    rule = {"ipAddress": "203.0.113.7/32", "action": "Allow", "priority": 100, "name": "office"}
    observed["properties"]["ipSecurityRestrictions"] = [rule, *desired["properties"]["ipSecurityRestrictions"]]
    observed["properties"]["cors"] = {"allowedOrigins": ["*"], "supportCredentials": False}
    changes = {c.path: (c.before, c.after) for c in diff(desired, observed, s.rules).changes}
    assert changes == {"properties.ipSecurityRestrictions[office]": (rule, None),
                       "properties.cors.allowedOrigins": (["*"], [])}


def test_a_log_destination_added_by_hand_is_drift():
    s = step(session("dev"), "diagnostic_setting:key_vault")
    desired = s.desired({})
    observed = {**desired, "properties": {**desired["properties"], "storageAccountId": "/subscriptions/x/sa"}}
    [change] = diff(desired, observed, s.rules).changes
    assert (change.path, change.after) == ("properties.storageAccountId", None)


def test_counts_per_environment_are_reproducible():
    """scripts/field_accounting.py prints these; each env has every class of field."""
    totals: dict[str, int] = defaultdict(int)
    for cls, (sample, bodies) in TYPES.items():
        acc = account_type(cls.__name__, cls.model, cls.model_at, sample.rules, bodies)
        totals["compared"] += len(acc.compared)
        totals["read-only"] += len(acc.read_only)
        totals["not managed"] += len(acc.not_managed)
    assert all(totals[k] > 100 for k in ("compared", "read-only", "not managed")), totals


def test_azure_managed_tags_are_ignored_on_every_step_by_one_rule():
    for env in ENVS:
        for s in session(env).steps:
            desired = s.desired({})
            if not isinstance(desired.get("tags"), dict):
                continue
            observed = {**desired, "tags": {**desired["tags"], "hidden-link:/subscriptions/x/components/ai": "Resource",
                                            "$type": "Microsoft.WindowsAzure.Management.Common.Storage.CasePreservedDictionary"}}
            tag_changes = [c.path for c in diff(desired, observed, s.rules).changes if c.path.startswith("tags")]
            assert tag_changes == [], f"{env} {s.name}: {tag_changes}"


def test_repairing_site_config_never_sends_the_deployed_image_back(c):
    """Deployments own the image's tag: a deployed tag from the declared registry is not drift, and a repair
    of something else never sends the env file's image back over it."""
    s = step(session("dev"), "web_app_config")
    desired = s.desired({})
    deployed = "DOCKER|fundrbolt.azurecr.io/fundrbolt-api:2026.12.01-7"
    observed = {"properties": {**desired["properties"], "linuxFxVersion": deployed, "minTlsVersion": "1.0"}}
    changes = diff(desired, observed, s.rules).changes
    assert [c.path for c in changes] == ["properties.minTlsVersion"]
    s.update(c, desired, observed, changes)
    [sent] = [call.args[2] for call in c.web.web_apps.update_configuration.call_args_list]
    assert "linuxFxVersion" not in sent["properties"]
    assert sent["properties"]["minTlsVersion"] == desired["properties"]["minTlsVersion"]


def test_an_image_from_a_registry_no_env_file_declares_is_drift_and_the_repair_puts_the_declared_one_back(c):
    s = step(session("dev"), "web_app_config")
    desired = s.desired({})
    observed = {"properties": {**desired["properties"], "linuxFxVersion": "DOCKER|ghcr.io/mallory/api:latest"}}
    changes = diff(desired, observed, s.rules).changes
    assert [(c.path, c.before) for c in changes] == [("properties.linuxFxVersion", "DOCKER|ghcr.io/mallory/api:latest")]
    s.update(c, desired, observed, changes)
    sent = c.web.web_apps.update_configuration.call_args.args[2]
    assert sent["properties"]["linuxFxVersion"] == "DOCKER|fundrbolt.azurecr.io/fundrbolt-api:latest"
