"""Every job of .github/workflows rehearsed as GitHub Actions runs it, under the identities docs/ci.md tells a team
to create, against a local cloud that enforces RBAC as ARM does.

1. docs/ci.md's setup script runs as written (its `az`/`gh` carried out against the local cloud: fake_az.py): the
   app registrations, federated credentials, custom role and role assignments, and the repository variables.
2. A developer provisions dev (the workflows never do).
3. pull-request: validate and plan each environment (plan identity, subject `pull_request`), the plan posted as a
   Markdown comment; push to main: staging (deploy identity, `environment:staging`), the production plan (plan
   identity, `ref:refs/heads/main`) shown in the summary, production (`environment:production`) applying exactly
   that plan; a dispatch naming a built image deploys it through both; the scheduled drift of every environment.
Jobs run with no terminal, no stdin, CI=true; each signs in with its own GitHub OIDC token exchanged at the local
cloud's Entra ID (AADSTS70021 if the documented subject were wrong). A job that fails fails this test with its log,
which names the missing action (`permission denied: <action> on <scope>`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from provisioner.cli import ci_setup
from provisioner.localcloud import LocalCloud, rbac
from tests.e2e.actions import JobResult, OidcIssuer, Runner
from tests.e2e.helpers import cli, push_image, rest
from tests.support import ROOT, SUB

pytestmark = pytest.mark.e2e
REPO = "fundrbolt/provisioner"
TENANT = "5f1c3a2e-7b1d-4c2a-9e7f-0a1b2c3d4e5f"
SETUP = re.compile(r"<!-- sample:ci-setup -->\n```bash\n(?P<script>.*?)```\n<!-- /sample:ci-setup -->", re.S)
# Not rehearsed: the suite itself (pr.yml `test` runs scripts/test.sh, i.e. this test) and installing the SWA CLI
# (the local cloud takes the upload directly; the pinned version is checked from the recorded npm call).
NOT_REHEARSED = (r"bash scripts/test\.sh",)


def setup_script() -> str:
    found = SETUP.search((ROOT / "docs" / "ci.md").read_text())
    assert found, "docs/ci.md has no generated setup script (python scripts/readme_samples.py writes it)"
    return found["script"]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[tuple[LocalCloud, Runner]]:
    work = tmp_path_factory.mktemp("rehearsal")
    issuer = OidcIssuer(lifetime=300)
    with LocalCloud(state_file=work / "state.json", tenant_id=TENANT) as cloud:
        bin_dir = work / "setup-bin"
        bin_dir.mkdir()
        for tool in ("az", "gh"):
            (bin_dir / tool).write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ROOT}/tests/e2e/fake_az.py" "$0" "$@"\n')
            (bin_dir / tool).chmod(0o755)
        variables = work / "variables.json"
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LOCALCLOUD_URL": cloud.url,
               "LOCALCLOUD_TENANT": TENANT, "GH_VARIABLES_FILE": str(variables)}
        script = setup_script().replace("SUBSCRIPTION='<subscription-id>'", f"SUBSCRIPTION={SUB}").replace(
            "REPO='<org>/<repo>'", f"REPO={REPO}")
        done = subprocess.run(["bash", "-eo", "pipefail", "-c", script], env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        # What the setup says to commit: its identities' roles at the subscription are expected (not drift).
        envs = work / "envs"
        shutil.copytree(ROOT / "envs", envs)
        access = done.stdout[done.stdout.index("[access]\n"):]
        assert re.fullmatch(r'\[access\]\nsubscription_principals = \["[0-9a-f-]{36}", "[0-9a-f-]{36}"\]\n', access), access
        with (envs / "common.toml").open("a") as common:
            common.write("\n" + access)
        dist = work / "admin-dist"
        dist.mkdir()
        (dist / "index.html").write_text("<h1>Fundrbolt admin</h1>")
        repo_vars = {**json.loads(variables.read_text()), "FRONTEND_DIST": "admin-dist", "PRE_SWAP_COMMAND": ""}
        # What the runner machine has that the workflows do not say: where "Azure" is, and that its Entra ID and
        # Key Vault speak TLS with the local cloud's certificate.
        machine = {"PROVISIONER_ARM_ENDPOINT": cloud.url, "AZURE_AUTHORITY_HOST": cloud.tls_url,
                   "PYTHONUNBUFFERED": "1"}
        yield cloud, Runner(ROOT, work, REPO, issuer, machine, repo_vars, {"admin-dist": dist, "envs": envs})
    issuer.close()


def passed(results: list[JobResult]) -> list[JobResult]:
    failed = [r for r in results if not r.ok]
    assert not failed, "\n\n".join(r.log() for r in failed)
    return results


def test_every_workflow_job_passes_under_the_documented_identities(world):
    cloud, runner = world
    # 1. what the documented setup created
    assert set(runner.vars) >= {"AZURE_CLIENT_ID", "AZURE_PLAN_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID"}
    apps = {a["displayName"]: a for a in cloud.entra.applications()}
    assert sorted(c["subject"] for c in apps["fundrbolt-deploy"]["federatedCredentials"]) == [
        f"repo:{REPO}:environment:production", f"repo:{REPO}:environment:staging"]
    # 2. a developer provisions dev (no workflow does)
    dev = cli("provision", "--env", "dev", "--arm-endpoint", cloud.url)
    assert dev.code == 0, dev.err

    # 3. a pull request: the suite (not rehearsed here: it is this suite), validate, plan comments
    event = {"pull_request": {"number": 7, "head": {"repo": {"full_name": REPO}}}}
    passed(runner.run("pr.yml", "test", "pull_request", event, skip=NOT_REHEARSED))
    passed(runner.run("pr.yml", "validate", "pull_request", event))
    plans = passed(runner.run("pr.yml", "plan", "pull_request", event))
    assert [r.matrix["env"] for r in plans] == ["dev", "staging", "production"]
    bodies = [next(iter(c[-1].values())) for c in runner.calls() if c[0] == "gh" and "POST" in c]
    assert [b.splitlines()[0] for b in bodies] == [f"<!-- provisioner-plan:{e} -->" for e in ("dev", "staging", "production")]
    assert "to create" in bodies[2], "the production plan comment lists what would be created"

    # 4. merge to main: staging, the production plan in the approval summary, production from that plan
    staging = passed(runner.run("deploy.yml", "staging", "push"))[0]
    assert [s.code for s in staging.steps if s.name == "Deploy the admin frontend"] == [0]
    plan = passed(runner.run("deploy.yml", "production-plan", "push"))[0]
    assert "Approving the `production` deployment applies exactly this plan" in plan.summary and "to create" in plan.summary
    production = passed(runner.run("deploy.yml", "production", "push"))[0]
    assert [s.code for s in production.steps if s.name.startswith("Provision production")] == [0]
    npm = [c for c in runner.calls() if c[0] == "npm"]
    assert len(npm) == 2 and all(re.fullmatch(r"@azure/static-web-apps-cli@\d+\.\d+\.\d+", c[-2]) for c in npm)

    # 5. the application's pipeline dispatches a built image: deployed through staging, then production. An image
    # nothing pushed stops the staging job before anything changes.
    unbuilt = {"image": "fundrbolt.azurecr.io/api:never-built"}
    refused = runner.run("deploy.yml", "staging", "workflow_dispatch", {"inputs": unbuilt}, unbuilt)[0]
    assert not refused.ok and "api:never-built is not in its registry" in refused.log(), refused.log()
    inputs = {"image": "fundrbolt.azurecr.io/api:1.4.2"}
    push_image(cloud.url, inputs["image"])
    for job in ("staging", "production-plan", "production"):
        result = passed(runner.run("deploy.yml", job, "workflow_dispatch", {"inputs": inputs}, inputs))[0]
        if job != "production-plan":
            assert [s.code for s in result.steps if s.name.startswith("Deploy the backend")] == [0], result.log()

    # 6. the scheduled drift: every environment in sync. Dev ran before production delegated its zone, so its
    # developer runs it once more (docs/environments.md, order of first runs); staging's second run did that above.
    dev = cli("provision", "--env", "dev", "--arm-endpoint", cloud.url)
    assert dev.code == 0, dev.err
    results = passed(runner.run("drift.yml", "drift", "schedule"))
    assert [r.matrix["env"] for r in results] == ["dev", "staging", "production"]

    # The plan role is exactly what plan and drift use: its non-read actions are the POSTs the plan identity sent.
    plan_app = runner.vars["AZURE_PLAN_CLIENT_ID"]
    sent = [r for r in cloud.requests() if r.get("caller") == plan_app and r["kind"] == "arm"]
    posts = {str(rbac.request_action("POST", r["path"])[0]).lower() for r in sent if r["method"] == "POST"}
    role = ci_setup.load(ROOT / "ci").custom_roles["Fundrbolt Plan Reader"]
    assert posts == {a.lower() for a in role["actions"] if not a.endswith("/read")}
    assert not [r for r in sent if r["write"] or r["status"] == 403]
    deploy_app = runner.vars["AZURE_CLIENT_ID"]
    assert [r for r in cloud.requests() if r.get("caller") == deploy_app and r["status"] == 403] == []

    # 7. the rehearsal has teeth: with Reader instead of the plan role, the production PR plan fails naming the action
    plan_sp = apps["fundrbolt-plan"]["objectId"]
    for rid, body in cloud.state().items():
        if "/roleassignments/" in rid.lower() and body["properties"]["principalId"] == plan_sp:
            assert rest(cloud.url, "DELETE", rid, caller="owner@fundrbolt.app", api_version="2022-04-01")[0] == 200
    reader = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
    assert rest(cloud.url, "PUT", f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/"
                "0b8f1a2c-3d4e-4f50-8a6b-7c8d9e0f1a2b", {"properties": {
                    "roleDefinitionId": reader, "principalId": plan_sp, "principalType": "ServicePrincipal"}},
                caller="owner@fundrbolt.app", api_version="2022-04-01")[0] == 201
    failed = runner.run("pr.yml", "plan", "pull_request", {**event, "pull_request": {**event["pull_request"], "number": 8}})[2]
    assert not failed.ok, failed.log()
    comment = next(iter([c for c in runner.calls() if c[0] == "gh" and "POST" in c][-1][-1].values()))
    for where in (failed.log(), failed.summary, comment):  # the job's log, its summary and the PR comment
        assert "permission denied: Microsoft.Web/sites/config/list/action on" in where, where
