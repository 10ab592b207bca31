"""The quarterly drill run as drill.yml runs it: as its own identity, holding exactly what ci/drill-identity.toml grants,
signed in through the job's GitHub OIDC token, against a local cloud that enforces those roles (control plane, Key
Vault data plane, ABAC conditions) and backs production's database with a real PostgreSQL.

docs/recovery.md tells a team to create this identity with these grants; this test is what holds that sentence up.
The oracle is the local cloud's own record: the requests the drill identity sent and what was answered, and the
state it leaves (no scratch server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path
from typing import Any

import pytest

from provisioner.cli import ci_setup
from provisioner.localcloud import LocalCloud
from provisioner.localcloud.profile import TENANT_ID
from provisioner.localcloud.providers import register_all
from tests.conftest import require_postgres
from tests.e2e.actions import OidcIssuer
from tests.e2e.helpers import cli, push_image, rest
from tests.support import ROOT, SUB

pytestmark = pytest.mark.e2e
REPO_SLUG = "fundrbolt/provisioner"
DRILL = ROOT / "ci" / "drill-identity.toml"
IMAGE = "fundrbolt.azurecr.io/fundrbolt-api:latest"  # what production runs (envs/common.toml [web_app])


def _role_id(name: str) -> str:
    return f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{ci_setup.role_guid(_spec(), name)}"


def _spec() -> Any:
    return ci_setup.load(ROOT / "ci")  # the built-in role GUIDs Microsoft publishes (ci/identities.toml [builtin])


def _scope(text: str | None) -> str:
    """ci/drill-identity.toml's `scope`: "resourceGroup:<name>", or the subscription when absent."""
    if not text:
        return f"/subscriptions/{SUB}"
    kind, _, name = text.partition(":")
    assert kind == "resourceGroup", text
    return f"/subscriptions/{SUB}/resourceGroups/{name}"


def grant_drill_identity(cloud: LocalCloud, oid: str, drop_action: str | None = None) -> None:
    """What a subscription Owner does once, from the file: its custom roles, then its assignments at their scopes
    with their conditions (`drop_action` leaves one action out, to show the drill needs it)."""
    data = tomllib.loads(DRILL.read_text())
    for name, role in data["roles"].items():
        actions = [a for a in role.get("actions", []) if a != drop_action]
        body = {"properties": {"roleName": name, "description": role["description"], "type": "CustomRole",
                               "assignableScopes": [f"/subscriptions/{SUB}"],
                               "permissions": [{"actions": actions, "notActions": [],
                                                "dataActions": role.get("dataActions", []), "notDataActions": []}]}}
        path = _role_id(name)
        assert rest(cloud.url, "PUT", path, body, caller="owner@fundrbolt.app", api_version="2022-04-01")[0] in (200, 201)
    for grant in data["identities"]["drill"]["grants"]:
        props = {"roleDefinitionId": _role_id(grant["role"]), "principalId": oid, "principalType": "ServicePrincipal"}
        if grant.get("condition"):
            props.update(condition=grant["condition"].strip(), conditionVersion="2.0")
        path = f"{_scope(grant.get('scope'))}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
        status, body = rest(cloud.url, "PUT", path, {"properties": props}, caller="owner@fundrbolt.app",
                            api_version="2022-04-01")
        assert status == 201 or (status, body["error"]["code"]) == (409, "RoleAssignmentExists"), body  # granted before


def _drill(cloud: LocalCloud, issuer: OidcIssuer, app: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """drill.yml's command in a job of the `production` environment (its OIDC subject), no terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACTIONS_", "AZURE_", "PROVISIONER_ARM"))}
    env.update({"PYTHONUNBUFFERED": "1", "CI": "true", "GITHUB_ACTIONS": "true",
                "ACTIONS_ID_TOKEN_REQUEST_URL": issuer.url,
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": issuer.job_token({"sub": f"repo:{REPO_SLUG}:environment:production"}),
                "AZURE_CLIENT_ID": app, "AZURE_TENANT_ID": TENANT_ID, "AZURE_AUTHORITY_HOST": cloud.tls_url})
    dist = tmp_path / "admin-dist"
    dist.mkdir(exist_ok=True)
    (dist / "index.html").write_text("<h1>Fundrbolt admin</h1>")
    return subprocess.run([sys.executable, "-m", "provisioner", "drill", "--env", "production", "--yes",
                           "--frontend-dist", str(dist), "-o", "json", "--arm-endpoint", cloud.url, *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)


def test_the_drill_runs_as_its_own_identity_with_only_its_grants(tmp_path: Path) -> None:
    require_postgres()
    issuer = OidcIssuer()
    try:
        with LocalCloud(state_file=tmp_path / "state.json", postgres="on") as cloud:
            register_all(cloud)
            first = cli("provision", "--env", "production", "--yes", "--arm-endpoint", cloud.url, timeout=600)
            assert first.code == 0, first.err[-3000:]
            push_image(cloud.url, IMAGE)
            app, oid = str(uuid.uuid4()), str(uuid.uuid4())
            cloud.entra.register({"appId": app, "objectId": oid, "displayName": "fundrbolt-drill", "federatedCredentials": [
                {"name": "production", "issuer": "https://token.actions.githubusercontent.com",
                 "subject": f"repo:{REPO_SLUG}:environment:production", "audiences": ["api://AzureADTokenExchange"]}]})

            # Without one action the file grants, the drill fails naming it, and still leaves no scratch server.
            grant_drill_identity(cloud, oid, drop_action="Microsoft.DBforPostgreSQL/flexibleServers/delete")
            short = _drill(cloud, issuer, app, tmp_path, "--component", "postgres")
            assert short.returncode == 1, short.stdout[-2000:] + short.stderr[-2000:]
            assert "Microsoft.DBforPostgreSQL/flexibleServers/delete" in short.stdout + short.stderr

            grant_drill_identity(cloud, oid)  # the roles as the file declares them (PUT again: the whole definition)
            before = len(cloud.requests())
            run = _drill(cloud, issuer, app, tmp_path)
            assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]  # every target holds
            report = json.loads(run.stdout)
            assert [c["component"] for c in report["components"]] == ["postgres", "keyvault", "app", "frontend", "cache"]
            sent = [r for r in cloud.requests()[before:] if r.get("caller") == app]
            # Every request it sent was allowed, but one the session tolerates: the subscription's tenant check
            # (GET /subscriptions/<id>, provisioner/cli/session.py check_tenant), which the drill needs no role for.
            refused = [(r["method"], r["path"]) for r in sent if r["status"] in (401, 403)]
            assert sent and refused in ([], [("GET", f"/subscriptions/{SUB}")]), refused
            assert report["exit_code"] == 0 and {c["status"] for c in report["components"]} == {"pass"}, run.stdout
            assert any(r["method"] == "PUT" and "-drill-" in r["path"] for r in sent)  # the restore, as itself
            servers = [i for i in cloud.state() if "/flexibleservers/" in i.lower() and i.lower().count("/") == 8]
            assert [s.rsplit("/", 1)[-1] for s in servers] == ["fundrbolt-production-pg"], servers
    finally:
        issuer.close()
