"""The CLI end to end against a running local cloud: provision, idempotence, drift, repair, bad input."""

from __future__ import annotations

import shutil

import pytest

from tests.e2e.helpers import cli, rest, rg_path, writes
from tests.support import COMES_WITH_PARENT, ENVS

pytestmark = pytest.mark.e2e


def test_provision_then_nothing_to_do_then_drift_and_repair(cloud):
    url = cloud.url
    first = cli("provision", "--env", "dev", "--arm-endpoint", url)
    assert first.code == 0, first.err + first.out
    assert "Applied" in first.out

    plan = cli("plan", "--env", "dev", "--arm-endpoint", url, "--output", "json")
    assert plan.code == 0, plan.err
    assert plan.json()["summary"]["create"] == 0 and plan.json()["summary"]["update"] == 0

    before = len(cloud.requests())
    again = cli("provision", "--env", "dev", "--arm-endpoint", url)
    assert again.code == 0, again.err
    assert writes(cloud.requests()[before:]) == []  # the second provision writes nothing

    status, _ = rest(url, "PATCH", f"{rg_path()}/providers/Microsoft.Web/sites/fundrbolt-dev-api/config/web",
                     {"properties": {"minTlsVersion": "1.0"}})
    assert status == 200
    drift = cli("drift", "--env", "dev", "--arm-endpoint", url, "--output", "json")
    assert drift.code == 2, drift.err
    [change] = drift.json()["changes"]
    assert change["step"] == "web_app_config"
    assert change["properties"] == [{"path": "properties.minTlsVersion", "before": "1.0", "after": "1.2"}]

    repair = cli("provision", "--env", "dev", "--arm-endpoint", url)
    assert repair.code == 0, repair.err
    assert cli("drift", "--env", "dev", "--arm-endpoint", url).code == 0


def test_plan_on_empty_cloud_lists_every_resource_as_create(cloud):
    run = cli("plan", "--env", "dev", "--arm-endpoint", cloud.url, "--output", "json")
    assert run.code == 2, run.err
    doc = run.json()
    assert doc["env"] == "dev"
    # Names validated through public DNS wait for production's delegation; they are listed apart, still creates.
    assert doc["summary"]["create"] + len(doc["waiting"]) == len(doc["changes"]) >= 8
    assert all("delegate dev.fundrbolt.app: production has not run yet" in w["message"] for w in doc["waiting"])
    for change in doc["changes"]:
        assert change["action"] == "create" and change["id"].startswith("/subscriptions/")
        # Every create shows what it sets, but a set Azure creates empty with its parent (connection strings).
        assert change["type"] and (change["properties"] or change["step"] in COMES_WITH_PARENT)
    assert writes(cloud.requests()) == []  # a plan never writes


def test_markdown_and_text_reports(cloud, tmp_path):
    out = tmp_path / "plan.md"
    run = cli("plan", "--env", "dev", "--arm-endpoint", cloud.url, "--output", "markdown", "--out", str(out))
    assert run.code == 2
    text = out.read_text()
    # Creates: the desired values, the column saying which side it is (live -> desired for updates).
    assert text.startswith("### Plan for `dev`") and "| property | desired (env files) |" in text
    plain = cli("plan", "--env", "dev", "--arm-endpoint", cloud.url)
    assert "+ web_app" in plain.out and "to create" in plain.out


def test_bad_storage_name_rejected_before_any_request(cloud, tmp_path):
    envs = tmp_path / "envs"
    shutil.copytree(ENVS, envs)
    (envs / "dev.toml").write_text((envs / "dev.toml").read_text() + '\n[naming]\nstorage_account = "Fundrbolt_Dev_Storage"\n')
    for command in ("validate", "plan", "provision", "drift"):
        extra = () if command == "validate" else ("--arm-endpoint", cloud.url)
        run = cli(command, "--env", "dev", "--envs-dir", str(envs), *extra)
        assert run.code == 1, (command, run.out, run.err)
        assert "dev.toml: naming.storage_account:" in run.err
    assert cloud.requests() == []  # nothing was sent


def test_production_needs_confirmation(cloud):
    run = cli("provision", "--env", "production", "--arm-endpoint", cloud.url)
    assert run.code == 1
    assert "PRODUCTION" in run.err and "--yes" in run.err
    assert writes(cloud.requests()) == []


def test_embedded_local_cloud_keeps_state(tmp_path):
    state = tmp_path / "state"
    first = cli("provision", "--env", "dev", "--cloud", "local", "--state-dir", str(state))
    assert first.code == 0, first.err
    assert (state / "localcloud-state.json").exists()
    second = cli("plan", "--env", "dev", "--cloud", "local", "--state-dir", str(state))
    assert second.code == 0 and "0 to create, 0 to update" in second.out and "Nothing to apply now" in second.out


def test_one_run_at_a_time_on_a_local_state_dir(tmp_path):
    import fcntl

    state = tmp_path / "state"
    state.mkdir()
    with (state / "run.lock").open("a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("pid 4242")
        held.flush()
        run = cli("plan", "--env", "dev", "--cloud", "local", "--state-dir", str(state))
        assert run.code == 1 and "in use by pid 4242" in run.err
    assert cli("plan", "--env", "dev", "--cloud", "local", "--state-dir", str(state)).code == 2  # free again
