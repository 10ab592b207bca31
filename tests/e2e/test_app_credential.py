"""Repairs never break the running app (issue 18 point 7), against a real PostgreSQL behind the local cloud whose
stand-in app signs in with its DATABASE_URL (resolved from Key Vault when its container starts) on every health
request. Oracles: the app's answers (the engine accepting or refusing its credential) and the vault's stored values.

- password sign-in (the app as the server's admin): rewriting `database-url` means resetting the admin password;
  the plan names it, production refuses it unless --allow-credential-reset, and with the flag the running app is
  indeed refused until it restarts (what the plan warns of);
- managed-identity sign-in (`app_sign_in = "entra"`, what the env files ship): the URL holds no credential, so a
  hand-set version is repaired with the app answering 200 throughout, a restarted app signs in with its token, and
  so does the slot: site and slot share one user-assigned identity, so a swap moves nothing the sign-in needs."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from provisioner.localcloud import LocalCloud
from tests.conftest import require_postgres
from tests.e2e.helpers import cli, push_image, rest, rg_path
from tests.support import password_sign_in

pytestmark = pytest.mark.e2e
RUNNER_IN_VNET = "10.40.3.10"  # production's server is reachable only through its private endpoint
KV_API = "2023-07-01"
REPO = "fundrbolt.azurecr.io/fundrbolt-api"  # the image the env files name (envs/common.toml [web_app])


def _health(cloud: LocalCloud, host: str) -> int:
    req = urllib.request.Request(f"{cloud.url}/health", headers={"Host": host})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _host(cloud: LocalCloud, env: str) -> str:
    status, body = rest(cloud.url, "GET", f"{rg_path(env)}/providers/Microsoft.Web/sites/fundrbolt-{env}-api")
    assert status == 200
    return str(body["properties"]["defaultHostName"])


def _hand_set(cloud: LocalCloud, env: str, value: str) -> None:
    """A person sets a new version through ARM (the portal's way with the vault's firewall closed)."""
    status, _ = rest(cloud.url, "PUT", f"{rg_path(env)}/providers/Microsoft.KeyVault/vaults/fundrbolt-{env}-kv/secrets/"
                     "database-url", {"properties": {"value": value}}, api_version=KV_API)
    assert status in (200, 201)


def _restart(cloud: LocalCloud, env: str) -> None:
    status, _ = rest(cloud.url, "POST", f"{rg_path(env)}/providers/Microsoft.Web/sites/fundrbolt-{env}-api/restart")
    assert status == 200


def _config(cloud: LocalCloud, env: str) -> dict:
    status, body = rest(cloud.url, "GET", f"{rg_path(env)}/providers/Microsoft.Web/sites/fundrbolt-{env}-api/config/web")
    assert status == 200
    return dict(body["properties"])


def _url(cloud: LocalCloud, env: str) -> str:
    return str(cloud.secrets.latest_value(f"fundrbolt-{env}-kv", "database-url"))


class Watch:
    """Polls the app's health while a command runs: every answer it gave."""

    def __init__(self, cloud: LocalCloud, host: str) -> None:
        self.answers: list[int] = []
        self._stop = threading.Event()

        def run() -> None:
            while not self._stop.is_set():
                self.answers.append(_health(cloud, host))
                time.sleep(0.05)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> list[int]:
        self._stop.set()
        self._thread.join(timeout=15)
        return self.answers


def test_production_names_and_refuses_an_admin_password_reset(tmp_path: Path) -> None:
    require_postgres()
    with LocalCloud(state_file=tmp_path / "state.json", postgres="on", client_ip=RUNNER_IN_VNET) as cloud:
        arm = ("--arm-endpoint", cloud.url, "--envs-dir", str(password_sign_in(tmp_path)))
        first = cli("provision", "--env", "production", "--yes", *arm, timeout=600)
        assert first.code == 0, first.err[-3000:]
        host = _host(cloud, "production")
        assert _health(cloud, host) == 200  # the app signs in as the server's admin with the vault's URL
        original = _url(cloud, "production")
        hand_set = original.replace("sslmode=require", "sslmode=require&connect_timeout=10")
        _hand_set(cloud, "production", hand_set)

        plan = cli("plan", "--env", "production", *arm)
        assert plan.code == 2, plan.err[-2000:]
        assert "resets the admin password of PostgreSQL server fundrbolt-production-pg" in plan.out
        assert "--allow-credential-reset" in plan.out

        refused = cli("provision", "--env", "production", "--yes", *arm)
        assert _url(cloud, "production") == hand_set  # not rewritten: no credential was touched
        assert _health(cloud, host) == 200, refused.err[-2000:]

        # Asked for explicitly, it does what the plan said: the running app holds the old password until restart.
        forced = cli("provision", "--env", "production", "--yes", "--allow-credential-reset", *arm)
        assert forced.code == 0, forced.err[-3000:]
        assert _url(cloud, "production") not in (hand_set, original)
        assert _health(cloud, host) == 503
        _restart(cloud, "production")
        assert _health(cloud, host) == 200

        # The shipped files switch this running app to its managed identity: named, and production asks first.
        shipped = ("--arm-endpoint", cloud.url)
        switch = cli("plan", "--env", "production", *shipped)
        assert switch.code == 2 and "switches the app's database sign-in to its managed identity" in switch.out
        password_url = _url(cloud, "production")
        held = cli("provision", "--env", "production", "--yes", *shipped)
        assert _url(cloud, "production") == password_url and "--allow-credential-reset" in held.out + held.err
        assert _health(cloud, host) == 200
        switched = cli("provision", "--env", "production", "--yes", "--allow-credential-reset", *shipped)
        assert switched.code == 0, switched.err[-3000:]
        assert _url(cloud, "production").startswith("postgresql://fundrbolt-production-app-id@")
        # A new container resolves the new URL and AZURE_CLIENT_ID; the identity's role existed before the URL.
        _restart(cloud, "production")
        assert _health(cloud, host) == 200


def test_a_hand_set_database_url_is_repaired_while_the_app_keeps_answering(tmp_path: Path) -> None:
    """Staging as shipped: a slot, and the app signing in with the identity it shares with the slot."""
    require_postgres()
    with LocalCloud(state_file=tmp_path / "state.json", postgres="on") as cloud:
        arm = ("--arm-endpoint", cloud.url)
        first = cli("provision", "--env", "staging", *arm, timeout=600)
        assert first.code == 0, first.err[-3000:]
        host = _host(cloud, "staging")
        url = _url(cloud, "staging")
        assert url.startswith("postgresql://fundrbolt-staging-app-id@") and ":" not in url.split("@")[0][len("postgresql://"):]
        assert _health(cloud, host) == 200  # signed in with its managed identity's token

        # Someone sets the admin's URL by hand; the app restarts onto it (and still works: the password is right).
        admin_password = str(cloud.secrets.latest_value("fundrbolt-staging-kv", "postgres-admin-password"))
        by_hand = url.replace("fundrbolt-staging-app-id@", f"fundrboltadmin:{admin_password}@")
        _hand_set(cloud, "staging", by_hand)
        _restart(cloud, "staging")
        assert _health(cloud, host) == 200

        watch = Watch(cloud, host)
        repaired = cli("provision", "--env", "staging", *arm)
        answers = watch.stop()
        assert repaired.code == 0, repaired.err[-3000:]
        assert "reset" not in repaired.out + repaired.err
        assert _url(cloud, "staging") == url  # repaired
        assert answers and set(answers) == {200}, answers  # the app answered throughout
        # No credential was touched: the admin password the person used still signs in
        assert cloud.secrets.latest_value("fundrbolt-staging-kv", "postgres-admin-password") == admin_password
        _restart(cloud, "staging")  # a new container resolves the repaired URL: the token sign-in
        assert _health(cloud, host) == 200

        # A deploy: the new version starts in the slot, signs in there (the slot's health gate), and after the swap
        # the same identity signs in from production. With the slot's own identity it could not: the role is the
        # shared identity's.
        push_image(cloud.url, f"{REPO}:v2")
        slot = f"{rg_path('staging')}/providers/Microsoft.Web/sites/fundrbolt-staging-api/slots/staging"
        assert rest(cloud.url, "PATCH", slot, {"identity": {"type": "SystemAssigned"}})[0] == 200  # by hand
        drift = cli("drift", "--env", "staging", *arm)
        assert drift.code == 2 and "identity.userAssignedIdentities" in drift.out, drift.out[-3000:]
        refused = cli("deploy", "backend", "--env", "staging", *arm, "--image", f"{REPO}:v2", "--health-timeout", "3")
        assert refused.code != 0, refused.out[-2000:]  # the slot, on its own identity, cannot sign in: no swap
        assert _health(cloud, host) == 200 and "v2" not in str(_config(cloud, "staging")["linuxFxVersion"])
        assert cli("provision", "--env", "staging", *arm).code == 0  # the shared identity back on the slot
        deployed = cli("deploy", "backend", "--env", "staging", *arm, "--image", f"{REPO}:v2", "--health-timeout", "20")
        assert deployed.code == 0, deployed.err[-3000:]
        assert _health(cloud, host) == 200
        status, site = rest(cloud.url, "GET", f"{rg_path('staging')}/providers/Microsoft.Web/sites/fundrbolt-staging-api")
        assert status == 200 and "v2" in str(_config(cloud, "staging")["linuxFxVersion"])

        # ... which the engine checks: without its Entra administrator the app's token is refused
        status, identity = rest(cloud.url, "GET", f"{rg_path('staging')}/providers/Microsoft.ManagedIdentity/"
                                "userAssignedIdentities/fundrbolt-staging-app-id", api_version="2024-11-30")
        assert status == 200
        admin = (f"{rg_path('staging')}/providers/Microsoft.DBforPostgreSQL/flexibleServers/fundrbolt-staging-pg/"
                 f"administrators/{identity['properties']['principalId']}")
        assert rest(cloud.url, "DELETE", admin, api_version="2024-08-01")[0] in (200, 202, 204)
        deadline = time.monotonic() + 10
        while _health(cloud, host) != 503 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _health(cloud, host) == 503
