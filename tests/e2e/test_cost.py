"""`cost` from the CLI, and the monthly delta `plan` shows for a SKU change against the local cloud."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import cli
from tests.support import copy_envs, edit_env

pytestmark = pytest.mark.e2e


def test_cost_command_offline():
    run = cli("cost", "--env", "staging", "--output", "json")
    assert run.code == 0, run.err
    doc = run.json()
    assert doc["env"] == "staging" and doc["budget"] == 300.0 and doc["document_estimate"] == 100.0
    text = cli("cost", "--env", "production")
    assert text.code == 0 and "total (fixed charges)" in text.out and "budget $1,000.00/month" in text.out
    bad = cli("cost", "--env", "qa")
    assert bad.code == 1


def test_plan_shows_the_monthly_delta_of_a_sku_change(cloud, tmp_path):
    assert cli("provision", "--env", "dev", "--arm-endpoint", cloud.url).code == 0
    same = cli("plan", "--env", "dev", "--arm-endpoint", cloud.url, "--output", "json")
    assert same.code == 0 and same.json()["cost"]["monthly_delta"] == 0
    envs = copy_envs(tmp_path)
    edit_env(envs, "dev.toml", 'sku = "B1"', 'sku = "B2"')
    run = cli("plan", "--env", "dev", "--arm-endpoint", cloud.url, "--envs-dir", str(envs), "--output", "json")
    assert run.code == 2, run.err
    delta = run.json()["cost"]
    assert delta["changes"] == [{"step": "app_service_plan", "before": 13.14, "after": 25.55}]
    assert delta["monthly_delta"] == pytest.approx((0.035 - 0.018) * 730, abs=0.01)
    text = cli("plan", "--env", "dev", "--arm-endpoint", cloud.url, "--envs-dir", str(envs))
    assert "Monthly cost change: +$12.41" in text.out


@pytest.mark.parametrize("env", ["dev", "staging", "production"])
def test_the_shipped_environments_pass_the_budget_gate(env):
    run = cli("cost", "--env", env, "--fail-over-budget")
    assert run.code == 0, run.err
    assert "over budget" not in run.err


def test_the_budget_gate_fails_on_the_estimate_and_on_autoscales_maximum(tmp_path):
    envs = copy_envs(tmp_path)
    edit_env(envs, "dev.toml", "frequency = 900", "frequency = 300")  # the document's 5 minutes: $114.39
    over = cli("cost", "--env", "dev", "--fail-over-budget", "--envs-dir", str(envs))
    assert over.code == 1 and "error: dev is over budget: the estimate $114.39/month exceeds the budget $100.00" in over.err
    assert "total (fixed charges)" in over.out  # the report is still printed
    assert cli("cost", "--env", "dev", "--envs-dir", str(envs)).code == 0  # without the flag: a report, exit 0
    edit_env(envs, "staging.toml", "maximum = 2\n", "maximum = 5\n")  # fixed $202.27 fits, 5 x S1 does not
    scaled = cli("cost", "--env", "staging", "--fail-over-budget", "--output", "json", "--envs-dir", str(envs))
    assert scaled.code == 1 and "autoscale at its maximum" in scaled.err
    doc = scaled.json()
    assert doc["total"] < doc["budget"] < doc["at_scale_max"] and doc["over_budget"]
    warned = cli("validate", "--env", "staging", "--envs-dir", str(envs))
    assert warned.code == 0 and "warning: " in warned.out and "budget.amount" in warned.out
