"""A run longer than its GitHub OIDC tokens completes: the provisioner asks the Actions token endpoint for a fresh
assertion each time it needs an Azure token (provisioner/azure/credentials.py). The local cloud plays Entra ID
(federated credential, AADSTS700024 for an expired assertion) and GitHub's token endpoint issues assertions that
live seconds; the replaying credential that azure/login leaves behind (one assertion, reused: Azure/login#180,
Azure/azure-cli#28708) is shown failing on the same setup."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientAssertionCredential

from provisioner.azure.credentials import github_oidc_token
from provisioner.cli import ci_setup
from provisioner.localcloud import LocalCloud
from provisioner.localcloud.rbac import ROLE_PROPAGATION_SECONDS
from tests.e2e.actions import OidcIssuer
from tests.e2e.helpers import rest
from tests.support import ROOT, SUB

pytestmark = pytest.mark.e2e
TENANT = "3b0e7c1d-2a4f-4e5b-9c6d-7e8f9a0b1c2d"
REPO = "fundrbolt/provisioner"
ASSERTION_SECONDS = 4  # GitHub's tokens live minutes; here seconds, so a short run outlives many of them
# Entra's access tokens: just over azure-core's 300 s refresh margin, so the run asks for a new one every 30 s
# (azure-identity's retry delay), each time with a new assertion.
ACCESS_SECONDS = 305
SCALE = 0.05  # realistic latency, scaled: dev takes about a minute


def deploy_identity(cloud: LocalCloud) -> tuple[str, str]:
    """The deploy app registration and its documented roles (ci/identities.toml), made through the APIs."""
    app, oid = str(uuid.uuid4()), str(uuid.uuid4())
    cloud.entra.register({"appId": app, "objectId": oid, "displayName": "fundrbolt-deploy", "federatedCredentials": [
        {"name": "staging", "issuer": "https://token.actions.githubusercontent.com",
         "subject": f"repo:{REPO}:environment:staging", "audiences": ["api://AzureADTokenExchange"]}]})
    spec = ci_setup.load(ROOT / "ci")
    for method, path, body in ci_setup.arm_requests(spec, SUB, {"deploy": oid, "plan": str(uuid.uuid4())}):
        assert rest(cloud.url, method, path, body, caller="owner@fundrbolt.app", api_version="2022-04-01")[0] == 201
    return app, oid


def job_env(cloud: LocalCloud, issuer: OidcIssuer, app: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACTIONS_", "AZURE_"))}
    return {**env, "CI": "true", "GITHUB_ACTIONS": "true", "PYTHONUNBUFFERED": "1",
            "ACTIONS_ID_TOKEN_REQUEST_URL": issuer.url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": issuer.job_token({"sub": f"repo:{REPO}:environment:staging"}),
            "AZURE_CLIENT_ID": app, "AZURE_TENANT_ID": TENANT, "AZURE_AUTHORITY_HOST": cloud.tls_url,
            "PROVISIONER_ARM_ENDPOINT": cloud.url}


def test_a_run_that_outlives_its_tokens_still_completes(tmp_path):
    issuer = OidcIssuer(lifetime=ASSERTION_SECONDS)
    try:
        with LocalCloud(tenant_id=TENANT, token_lifetime=ACCESS_SECONDS, latency="realistic", time_scale=SCALE) as cloud:
            app, _ = deploy_identity(cloud)
            time.sleep(ROLE_PROPAGATION_SECONDS * SCALE + 0.5)  # a new grant takes effect after propagation, as in Azure
            started = time.monotonic()
            run = subprocess.run([sys.executable, "-m", "provisioner", "provision", "--env", "dev"], cwd=ROOT,
                                 env=job_env(cloud, issuer, app), capture_output=True, text=True, timeout=900,
                                 stdin=subprocess.DEVNULL)
            elapsed = time.monotonic() - started
            assert run.returncode == 0, run.stderr[-3000:]
            signins = [r for r in cloud.requests() if r["kind"] == "entra"]
            arm = [r for r in cloud.requests() if r["kind"] == "arm" and r["caller"] == app]
    finally:
        issuer.close()
    # The run lasted many assertion lifetimes and needed several Azure tokens, each from a new assertion.
    assert elapsed > 10 * ASSERTION_SECONDS, elapsed
    assert len(signins) >= 2 and all(r["status"] == 200 for r in signins)
    assert len(issuer.issued) == len(signins), "one fresh assertion per token request"
    assert arm and not [r for r in arm if r["status"] in (401, 403)]


def test_a_replayed_assertion_is_refused_once_it_expires(tmp_path):
    """What breaks long jobs signed in by azure/login: the same assertion presented after it expired."""
    issuer = OidcIssuer(lifetime=2)
    try:
        with LocalCloud(tenant_id=TENANT) as cloud:
            app, _ = deploy_identity(cloud)
            env = job_env(cloud, issuer, app)
            assertion = github_oidc_token(env)
            replaying = ClientAssertionCredential(TENANT, app, lambda: assertion, authority=cloud.tls_url,
                                                  connection_verify=str(cloud.ca_file))
            replaying.get_token("https://management.azure.com/.default")
            time.sleep(2.5)
            with pytest.raises(ClientAuthenticationError, match="AADSTS700024"):
                replaying.get_token("https://graph.microsoft.com/.default")  # any later token: a new exchange
            fresh = ClientAssertionCredential(TENANT, app, lambda: github_oidc_token(env), authority=cloud.tls_url,
                                              connection_verify=str(cloud.ca_file))
            assert fresh.get_token("https://graph.microsoft.com/.default").token
            # A subject the app does not federate (a job without the environment) is refused by name.
            env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = issuer.job_token({"sub": f"repo:{REPO}:ref:refs/heads/main"})
            other = ClientAssertionCredential(TENANT, app, lambda: github_oidc_token(env), authority=cloud.tls_url,
                                              connection_verify=str(cloud.ca_file))
            with pytest.raises(ClientAuthenticationError, match=f"AADSTS70021.*repo:{REPO}:ref:refs/heads/main"):
                other.get_token("https://management.azure.com/.default")
    finally:
        issuer.close()


def test_arm_refuses_an_expired_access_token(tmp_path):
    """ARM checks `exp` on every call: 401 ExpiredAuthenticationToken (the wording reported from Azure)."""
    from provisioner.localcloud.jwtclaims import encode

    with LocalCloud(tenant_id=TENANT) as cloud:
        expired = encode({"oid": str(uuid.uuid4()), "appid": str(uuid.uuid4()), "tid": TENANT, "exp": int(time.time()) - 5})
        status, body = rest(cloud.url, "GET", f"/subscriptions/{SUB}/resourcegroups", caller=expired,
                            api_version="2022-09-01")
        assert status == 401 and body["error"]["code"] == "ExpiredAuthenticationToken"
        assert body["error"]["message"].startswith("The access token expiry UTC time '")
        assert "' is earlier than current UTC time '" in body["error"]["message"]
