"""The drift report: grouped by resource, before -> after, attribution, ignored counts; text, JSON, Markdown agree."""

from __future__ import annotations

import json

from provisioner.cli import render
from provisioner.core.model import Action, Attribution, Change, Ignored, Plan, PropertyChange, ResourceRef

SUB = "00000000-0000-0000-0000-000000000000"
CONFIG = ResourceRef(SUB, "fundrbolt-dev-rg", "Microsoft.Web/sites/config", "web", "sites/fundrbolt-dev-api")
STORAGE = ResourceRef(SUB, "fundrbolt-dev-rg", "Microsoft.Storage/storageAccounts", "fundrboltdevst")
VAULT = ResourceRef(SUB, "fundrbolt-dev-rg", "Microsoft.KeyVault/vaults", "fundrbolt-dev-kv")

NOISE = tuple(Ignored(f"properties.f{i}", "server-populated") for i in range(14)) + (
    Ignored("tags.hidden-link:/x", "azure-managed tag"),)


def sample() -> Plan:
    return Plan("dev", (
        Change("web_app_config", CONFIG, Action.UPDATE,
               (PropertyChange("properties.minTlsVersion", "1.0", "1.2"),), "differs", NOISE,
               attribution=Attribution("alice@fundrbolt.app", "2025-06-01T11:00:00Z", "Microsoft.Web/sites/config/write")),
        Change("storage_account", STORAGE, Action.CREATE, (PropertyChange("kind", None, "StorageV2"),), "does not exist"),
        Change("key_vault", VAULT, Action.NOOP, (), "in sync", (Ignored("properties.vaultUri", "server-populated"),)),
    ))


def test_text_groups_by_resource_with_before_after_who_and_noise():
    text = render.drift_text(sample())
    assert "2 of 3 resource(s) differ" in text
    assert "ignored 16 field(s) by rule, not compared: 15 read-only (server-populated), 1 azure-managed tag" in text
    assert 'properties.minTlsVersion: "1.0" -> "1.2"' in text
    assert "last changed by alice@fundrbolt.app at 2025-06-01T11:00:00Z" in text
    assert "ignored: 14 read-only (server-populated) fields, 1 azure-managed tag field" in text
    assert "missing: deleted out of band" in text
    assert "key_vault" not in text.split("ignored 16")[1]  # in-sync resources are counted, not listed
    assert "properties.f3" not in text


def test_show_ignored_lists_every_path_with_its_rule():
    text = render.drift_text(sample(), show_ignored=True)
    assert ". properties.f3 (read-only: server-populated)" in text
    assert ". tags.hidden-link:/x (azure-managed tag)" in text
    assert ". properties.vaultUri (read-only: server-populated)" in text


def test_json_carries_the_same_facts():
    doc = json.loads(render.drift_json(sample()))
    assert doc["drift"] == {"resources": 3, "drifted": 2, "in_sync": 1,
                            "ignored": {"read-only": 15, "azure-managed": 1}, "not_managed": {}}
    cfg = doc["changes"][0]
    assert cfg["properties"] == [{"path": "properties.minTlsVersion", "before": "1.0", "after": "1.2"}]
    assert cfg["attribution"] == {"status": "found", "caller": "alice@fundrbolt.app",
                                  "timestamp": "2025-06-01T11:00:00Z", "operation": "Microsoft.Web/sites/config/write"}
    assert cfg["ignored"] == {"read-only": 14, "azure-managed": 1}
    assert doc["changes"][1]["action"] == "create" and "missing" in doc["changes"][1]["reason"]
    assert [c["step"] for c in doc["changes"]] == ["web_app_config", "storage_account"]
    with_paths = json.loads(render.drift_json(sample(), show_ignored=True))
    assert {"path": "tags.hidden-link:/x", "kind": "azure-managed", "rule": "azure-managed tag"} in with_paths["changes"][0]["ignored_paths"]


def test_markdown_for_a_pull_request_has_attribution_and_ignored_counts():
    md = render.drift_markdown(sample())
    assert md.startswith("### Drift in `dev`")
    assert "| `properties.minTlsVersion` | `\"1.0\"` | `\"1.2\"` |" in md
    assert "_last changed by alice@fundrbolt.app at 2025-06-01T11:00:00Z" in md
    assert "ignored 16 field(s) by rule" in md and "14 read-only (server-populated) fields" in md
    assert "<details>" not in md
    assert "`web_app_config` `properties.f3`: read-only: server-populated" in render.drift_markdown(sample(), show_ignored=True)


def test_in_sync():
    plan = Plan("dev", (sample().changes[2],))
    assert "In sync." in render.drift_text(plan)
    assert "In sync" in render.drift_markdown(plan)
    assert json.loads(render.drift_json(plan))["changes"] == []


def test_secrets_stay_sensitive_in_every_format():
    plan = Plan("dev", (Change("app_settings", CONFIG, Action.UPDATE,
                               (PropertyChange("properties.DB_PASSWORD", "(sensitive)", "(sensitive)", sensitive=True),)),))
    for text in (render.drift_text(plan), render.drift_json(plan), render.drift_markdown(plan)):
        assert "(sensitive)" in text


def test_read_only_and_not_managed_are_counted_apart_in_every_format():
    plan = Plan("production", (Change("app_service_plan", CONFIG, Action.NOOP, (), "in sync", (
        Ignored("properties.status", "server-populated", "read-only"),
        Ignored("sku.capacity", "owned by autoscale", "not managed"),
        Ignored("properties.perSiteScaling", "feature the platform does not use", "not managed"),
        Ignored("properties.newField", "neither declared nor listed as not managed", "undeclared"))),))
    text = render.drift_text(plan)
    assert "1 read-only (server-populated), 2 not managed, 1 undeclared" in text
    doc = json.loads(render.drift_json(plan))
    assert doc["drift"]["ignored"] == {"read-only": 1, "not managed": 2, "undeclared": 1}
    assert doc["drift"]["not_managed"] == {"feature the platform does not use": 1, "owned by autoscale": 1}
    listed = render.drift_text(plan, show_ignored=True)
    assert ". sku.capacity (not managed: owned by autoscale)" in listed
    assert ". properties.status (read-only: server-populated)" in listed
    assert "2 not managed" in render.drift_markdown(plan)


def test_added_and_removed_list_elements_read_as_absent_on_the_other_side():
    rule = {"name": "alice-home", "ipAddress": "203.0.113.7/32", "action": "Allow"}
    plan = Plan("dev", (Change("web_app_config", CONFIG, Action.UPDATE, (
        PropertyChange("properties.ipSecurityRestrictions[alice-home]", rule, None),
        PropertyChange("properties.profiles[cpu].rules[2]", None, {"scaleAction": {"value": "1"}}),
        PropertyChange("properties.profiles[cpu].rules[0].metricTrigger.threshold", 90, 70)), "differs"),))
    text = render.drift_text(plan)
    assert 'properties.ipSecurityRestrictions[alice-home]: {"action": "Allow", "ipAddress": "203.0.113.7/32", "name": "alice-home"} -> (absent)' in text
    assert 'properties.profiles[cpu].rules[2]: (absent) -> {"scaleAction": {"value": "1"}}' in text
    assert "properties.profiles[cpu].rules[0].metricTrigger.threshold: 90 -> 70" in text
