"""One masking rule for every output: known secrets, credential shapes and key-like names never print."""

from __future__ import annotations

import io

import pytest

from provisioner.cli import render
from provisioner.cli.progress import Progress
from provisioner.core import redact
from provisioner.core.errors import AzureCallError, ProvisionerError
from provisioner.core.model import (
    Action,
    Change,
    Outcome,
    Plan,
    PropertyChange,
    ReadError,
    ResourceRef,
    Status,
)

KNOWN = "Kn0wn-Secret-Value-42"  # e.g. the generated PostgreSQL password, learned by a step
REF = ResourceRef("sub", "rg", "Microsoft.Web/sites/config", "appsettings", "sites/app")


@pytest.fixture(autouse=True)
def _known():
    redact.forget_all()
    redact.remember(KNOWN)
    yield
    redact.forget_all()


@pytest.mark.parametrize("value", [
    KNOWN, f"prefix-{KNOWN}-suffix", "postgresql://u:p4ss@host/db", "rediss://:abcDEF123@cache:6380/0",
    "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc==", "Server=x;Password=hunter22;",
    "Server=x;pwd=hunter22", "sk_live_abcdef123456", "sk_test_abcdef123456", "Bearer abcdefghijklmnop",
    "eyJhbGciOi.eyJzdWIiOi.signature", "https://x.blob.core.windows.net/c?sv=1&sig=abcdef",
])
def test_values_shaped_like_credentials_or_known_are_masked(value):
    assert redact.secret_value(value)
    assert "(sensitive)" in redact.scrub(f"error: {value} was refused")
    assert value not in redact.scrub(f"error: {value} was refused")


@pytest.mark.parametrize("name", ["STRIPE_API_KEY", "JWT_SECRET", "DB_PASSWORD", "GITHUB_TOKEN", "ACCESS_TOKEN_URL",
                                  "DATABASE_CONNECTION_STRING", "properties.administratorLoginPassword",
                                  "properties.primaryKey", "KEY"])
def test_names_like_keys_are_masked(name):
    assert redact.secret_name(name)


@pytest.mark.parametrize("name", ["ENVIRONMENT", "LOG_LEVEL", "properties.minTlsVersion", "tags.CostCenter",
                                  "properties.keySource", "properties.allowSharedKeyAccess", "MONKEY_BUSINESS"])
def test_ordinary_names_are_not(name):
    assert not redact.secret_name(name)


def _plan() -> Plan:
    props = (PropertyChange("properties.DATABASE_URL", "postgresql://a:pw12345678@h/d", "@Microsoft.KeyVault(x)"),
             PropertyChange("properties.STRIPE_API_KEY", "plain-looking", None),
             PropertyChange("properties.NOTE", f"has {KNOWN} inside", None),
             PropertyChange("properties.LOG_LEVEL", "debug", "info"))
    change = Change("app_settings", REF, Action.UPDATE, props, "differs")
    return Plan("dev", (change,), errors=(ReadError("redis", f"400 BadRequest: key {KNOWN} rejected"),))


def test_every_render_format_masks_and_keeps_the_rest():
    plan = _plan()
    texts = [render.plan_text(plan, True), render.plan_json(plan, show_ignored=True), render.plan_markdown(plan),
             render.drift_text(plan, True), render.drift_json(plan, True), render.drift_markdown(plan, True)]
    for text in texts:
        for secret in ("pw12345678", "plain-looking", KNOWN):
            assert secret not in text
        assert "debug" in text and "(sensitive)" in text
    assert "@Microsoft.KeyVault(x)" in texts[0]  # a reference is not a secret


def test_errors_progress_and_outcomes_are_scrubbed():
    assert KNOWN not in str(ProvisionerError(f"failed with {KNOWN}"))
    assert "hunter22" not in str(AzureCallError("400 Bad: Password=hunter22;", code="Bad"))
    change = Change("redis", REF, Action.UPDATE)
    outcome = Outcome(change, Status.FAILED, f"409 Conflict: {KNOWN}")
    stream = io.StringIO()
    with Progress(1, stream, live=False) as progress:
        progress("start", change, None)
        progress("done", change, outcome)
    for text in (stream.getvalue(), render.outcomes_text([outcome], 1.0), str(render.outcomes_json([outcome]))):
        assert KNOWN not in text and "(sensitive)" in text


def test_config_problems_quoting_a_value_are_scrubbed():
    from provisioner.core.errors import ConfigError, ConfigProblem

    problem = ConfigProblem("envs/dev.toml", "web_app.app_settings.DATABASE_URL",
                            "'postgresql://u:hunter2222@h/d' is not a Key Vault reference")
    assert "hunter2222" not in str(problem) and "hunter2222" not in str(ConfigError([problem]))
    assert "envs/dev.toml: web_app.app_settings.DATABASE_URL" in str(problem)
