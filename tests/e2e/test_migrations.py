"""Migrations before the swap against production's real PostgreSQL behind its private endpoint: the deploy runs on a
runner inside the VNet as the deploying identity (GitHub OIDC -> Entra), the pre-swap hook signs in as that identity's
Entra administrator role with a token (no password from Key Vault), creates a table, and the app's login uses it.
Oracles: the PostgreSQL engine (who ran the DDL, what the app's login can do) and the local cloud's records."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest

from provisioner.cli import ci_setup
from provisioner.localcloud import LocalCloud, pg_arm
from provisioner.localcloud.profile import TENANT_ID
from tests.conftest import require_postgres
from tests.e2e.actions import OidcIssuer
from tests.e2e.helpers import push_image, rest
from tests.support import ENVS, ROOT, SUB

pytestmark = pytest.mark.e2e
REPO_SLUG = "fundrbolt/provisioner"
IMAGE = "fundrbolt.azurecr.io/fundrbolt-api"
RUNNER_IN_VNET = "10.40.3.10"  # envs/common.toml address_space 10.40.0.0/16: a self-hosted runner's subnet
SERVER = "fundrbolt-production-pg"

HOOK = textwrap.dedent("""
    import os, psycopg
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS donations (id serial PRIMARY KEY, amount_cents integer NOT NULL)")
        conn.execute(f'GRANT SELECT, INSERT ON donations TO "{os.environ["DEPLOY_DB_APP_LOGIN"]}"')
        conn.execute(f'GRANT USAGE ON SEQUENCE donations_id_seq TO "{os.environ["DEPLOY_DB_APP_LOGIN"]}"')
        who = conn.execute("SELECT current_user").fetchone()[0]
    open(os.environ["HOOK_OUT"], "w").write(who)
""")


def _deploy_identity(cloud: LocalCloud) -> tuple[str, str, str]:
    app, oid, plan = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    cloud.entra.register({"appId": app, "objectId": oid, "displayName": "fundrbolt-deploy", "federatedCredentials": [
        {"name": "production", "issuer": "https://token.actions.githubusercontent.com",
         "subject": f"repo:{REPO_SLUG}:environment:production", "audiences": ["api://AzureADTokenExchange"]}]})
    spec = ci_setup.load(ROOT / "ci")
    for method, path, body in ci_setup.arm_requests(spec, SUB, {"deploy": oid, "plan": plan}):
        assert rest(cloud.url, method, path, body, caller="owner@fundrbolt.app", api_version="2022-04-01")[0] == 201
    return app, oid, plan


def _envs(tmp_path: Path, oid: str, plan: str) -> Path:
    envs = tmp_path / "envs"
    shutil.copytree(ENVS, envs)
    with (envs / "common.toml").open("a") as f:  # what the CI setup says to commit (docs/ci.md)
        f.write(f'\n[access]\nsubscription_principals = ["{oid}", "{plan}"]\n')
    with (envs / "production.toml").open("a") as f:
        f.write(f'\n[postgres.entra_admins]\n"fundrbolt-deploy" = "{oid}"\n')
    return envs


def _run(cloud: LocalCloud, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "provisioner", *args, "--arm-endpoint", cloud.url], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACTIONS_", "AZURE_", "PROVISIONER_ARM"))}
    return {**env, "PYTHONUNBUFFERED": "1"}


def _app_url(cloud: LocalCloud) -> str:
    value = cloud.secrets.latest_value("fundrbolt-production-kv", "database-url")
    assert value, "provision wrote the app's database-url"
    return value


def _connect_as_app(cloud: LocalCloud, url: str) -> psycopg.Connection:
    """As the app does: the URL's password, or (none in it: Entra sign-in, the shipped env files) a token of the
    user-assigned identity the site carries, from the identity endpoint."""
    parsed = urlparse(url)
    host, port = cloud.pg.endpoint(_server_id(cloud)) or ("", 0)
    password = parsed.password
    if not password:
        identity = next(b for i, b in cloud.state().items() if i.lower().endswith(f"/userassignedidentities/{parsed.username}"))
        password = cloud.entra.managed_identity_token(identity["properties"]["principalId"], pg_arm.PG_AUDIENCE)
    return psycopg.connect(host=parsed.hostname, hostaddr=host, port=port, user=parsed.username,
                           password=password, dbname=parsed.path.lstrip("/"), sslmode="require",
                           autocommit=True, connect_timeout=5)


def _server_id(cloud: LocalCloud) -> str:
    return next(i for i in cloud.state() if i.lower().endswith(f"/flexibleservers/{SERVER}"))


def test_the_pre_swap_hook_migrates_production_through_its_private_endpoint_with_a_token(tmp_path: Path) -> None:
    require_postgres()
    issuer = OidcIssuer()
    state = tmp_path / "state.json"
    try:
        with LocalCloud(state_file=state, postgres="on", client_ip=RUNNER_IN_VNET, tenant_id=TENANT_ID) as cloud:
            app, oid, plan = _deploy_identity(cloud)
            envs = _envs(tmp_path, oid, plan)
            provisioned = _run(cloud, _base_env(), "provision", "--env", "production", "--envs-dir", str(envs),
                               "--yes")
            assert provisioned.returncode == 0, provisioned.stderr[-3000:]
            # The declared administrator (and everything else) is in sync on the next plan
            replan = _run(cloud, _base_env(), "plan", "--env", "production", "--envs-dir", str(envs))
            assert replan.returncode == 0, replan.stdout[-3000:]
            admins = [i for i in cloud.state() if f"/administrators/{oid}" in i.lower()]
            assert len(admins) == 1
            server = cloud.state()[_server_id(cloud)]
            assert server["properties"]["network"]["publicNetworkAccess"] == "Disabled"
            push_image(cloud.url, f"{IMAGE}:v2")
            job = {**_base_env(), "CI": "true", "GITHUB_ACTIONS": "true", "ACTIONS_ID_TOKEN_REQUEST_URL": issuer.url,
                   "ACTIONS_ID_TOKEN_REQUEST_TOKEN": issuer.job_token(
                       {"sub": f"repo:{REPO_SLUG}:environment:production"}),
                   "AZURE_CLIENT_ID": app, "AZURE_TENANT_ID": TENANT_ID, "AZURE_AUTHORITY_HOST": cloud.tls_url,
                   "HOOK_OUT": str(tmp_path / "hook.out")}
            script = tmp_path / "migrate.py"  # stands for `alembic upgrade head`
            script.write_text(HOOK)
            hook = f"{sys.executable} {script}"
            deploy = ["deploy", "backend", "--env", "production", "--envs-dir", str(envs), "--image", f"{IMAGE}:v2",
                      "--yes", "--pre-swap", hook]

            # A runner outside the VNet: refused before anything changes (public access is off).
            cloud.pg.client_ip = "203.0.113.10"
            pg_arm.refresh_firewall(cloud.engine, _server_id(cloud))
            outside = _run(cloud, job, *deploy)
            assert outside.returncode == 1, outside.stderr[-2000:]
            assert "private endpoint" in outside.stderr and "nothing was changed" in outside.stderr
            assert not (tmp_path / "hook.out").exists()

            cloud.pg.client_ip = RUNNER_IN_VNET
            pg_arm.refresh_firewall(cloud.engine, _server_id(cloud))
            done = _run(cloud, job, *deploy)
            assert done.returncode == 0, done.stderr[-3000:]
            assert f"production runs {IMAGE}:v2" in done.stdout
            # The hook ran as the deploying identity's Entra role, signed in with a token
            assert (tmp_path / "hook.out").read_text() == "fundrbolt-deploy"
            tokens = [r for r in cloud.requests() if r["kind"] == "entra"]
            assert tokens and all(r["status"] == 200 for r in tokens)
            # The app's own login uses the new table
            with _connect_as_app(cloud, _app_url(cloud)) as conn:
                conn.execute("INSERT INTO donations (amount_cents) VALUES (2500)")
                assert conn.execute("SELECT sum(amount_cents) FROM donations").fetchone() == (2500,)
                owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'donations'").fetchone()
                assert owner == ("fundrbolt-deploy",)
            # The token never appears in the output
            for text in (done.stdout, done.stderr):
                assert "eyJ" not in text
    finally:
        issuer.close()
