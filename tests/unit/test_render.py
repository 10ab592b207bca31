"""Renderers: the documented JSON schema, text and Markdown, and secrets never shown."""

import json

from provisioner.cli.render import drift_text, plan_json, plan_markdown, plan_text
from provisioner.core.model import (
    SENSITIVE,
    UNKNOWN,
    Action,
    Change,
    Ignored,
    Plan,
    PropertyChange,
    ReadError,
    ResourceRef,
)
from provisioner.engine.diff import Rules, diff

REF = ResourceRef("sub", "rg", "Microsoft.Web/sites", "app")


def sample() -> Plan:
    secret = diff({"properties": {"password": "hunter2-secret"}}, {"properties": {"password": "old-secret"}},
                  Rules(sensitive=("properties.password",))).changes
    return Plan("dev", (
        Change("web_app", REF, Action.UPDATE,
               (PropertyChange("properties.siteConfig.minTlsVersion", "1.0", "1.2"), *secret),
               "differs", (Ignored("properties.state", "server-populated"),)),
        Change("plan", ResourceRef("sub", "rg", "Microsoft.Web/serverfarms", "p"), Action.CREATE,
               (PropertyChange("properties.ips", None, UNKNOWN),)),
        Change("kv", ResourceRef("sub", "rg", "Microsoft.KeyVault/vaults", "kv"), Action.NOOP),
    ))


def test_json_schema():
    doc = json.loads(plan_json(sample()))
    assert doc["env"] == "dev"
    assert doc["summary"] == {"create": 1, "update": 1, "replace": 0, "delete": 0, "noop": 1}
    change = doc["changes"][0]
    assert set(change) >= {"step", "id", "type", "action", "properties"}
    assert change["id"] == "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Web/sites/app"
    assert change["properties"][0] == {"path": "properties.siteConfig.minTlsVersion", "before": "1.0", "after": "1.2"}
    assert doc["changes"][1]["properties"][0]["after"] == "(known after apply)"


def test_secrets_never_rendered():
    p = sample()
    for text in (plan_json(p), plan_text(p), plan_markdown(p), drift_text(p, show_ignored=True)):
        assert "hunter2" not in text and "old-secret" not in text
        assert SENSITIVE in text


def test_text_and_markdown():
    text = plan_text(sample())
    assert "~ web_app" in text and '"1.0" -> "1.2"' in text and "1 to create, 1 to update" in text
    assert "ignored: 1 read-only (server-populated) field" in text
    md = plan_markdown(sample())
    assert "| `properties.siteConfig.minTlsVersion` | `\"1.0\"` | `\"1.2\"` |" in md


def test_show_ignored_lists_paths():
    assert "properties.state (read-only: server-populated)" in drift_text(sample(), show_ignored=True)
    assert "properties.state (read-only: server-populated)" not in drift_text(sample())


def test_unmanaged_resources_are_listed_in_every_format():
    from dataclasses import replace

    rid = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/scratch"
    p = replace(sample(), unmanaged=((rid, "Microsoft.Storage/storageAccounts"),))
    assert json.loads(plan_json(p))["unmanaged"] == [{"id": rid, "type": "Microsoft.Storage/storageAccounts"}]
    for text in (plan_text(p), drift_text(p), plan_markdown(p)):
        assert "1 unmanaged resource(s)" in text and "scratch" in text
    assert json.loads(plan_json(sample()))["unmanaged"] == []


def test_read_failures_are_grouped_and_never_called_in_sync():
    msg = "cannot reach 127.0.0.1:1"
    p = Plan("dev", (Change("kv", ResourceRef("sub", "rg", "Microsoft.KeyVault/vaults", "kv"), Action.NOOP),),
             errors=tuple(ReadError(f"step{i}", msg) for i in range(5)))
    for text in (plan_text(p), drift_text(p), plan_markdown(p)):
        assert text.count(msg) == 1 and "step0 and 4 other steps" in text
        assert "matches its definition" not in text and "In sync" not in text
