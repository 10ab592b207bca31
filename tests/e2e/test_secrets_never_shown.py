"""Secrets (the generated PostgreSQL password, connection strings, the JWT key) never appear in any output,
report, error or request log, on any command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.helpers import cli, rest, rg_path

pytestmark = pytest.mark.e2e


def _secret_values(state_file: Path) -> list[str]:
    store = json.loads(Path(f"{state_file}.secrets.json").read_text())
    values = [v["value"] for vault in store.values() for secret in vault.values() for v in secret["versions"]]
    # A connection string holds the password; the password alone must not leak either.
    return [v for v in values if len(v) >= 16]


def test_no_secret_in_any_output(cloud, tmp_path):
    url = cloud.url
    runs = [cli("provision", "--env", "dev", "--arm-endpoint", url, "--output", "json")]
    assert runs[0].code == 0, runs[0].err
    rest(url, "PATCH", f"{rg_path()}/providers/Microsoft.Web/sites/fundrbolt-dev-api/config/web",
         {"properties": {"minTlsVersion": "1.0"}})
    for output in ("text", "json", "markdown"):
        runs.append(cli("plan", "--env", "dev", "--arm-endpoint", url, "--output", output, "--show-ignored"))
        runs.append(cli("drift", "--env", "dev", "--arm-endpoint", url, "--output", output, "--show-ignored"))
    runs.append(cli("provision", "--env", "dev", "--arm-endpoint", url))
    state_file = tmp_path / "state.json"
    secrets = _secret_values(state_file)
    assert len(secrets) >= 4  # password, database-url, redis-url, jwt-signing-key
    logs = (tmp_path / "requests.jsonl").read_text() + state_file.read_text()
    for text in [r.out + r.err for r in runs] + [logs]:
        for value in secrets:
            assert value not in text
    assert "(sensitive)" in runs[0].out


# Pasted by hand, none of them known to the run: masked by shape (a URL with a password, a Stripe key, a
# JWT, a storage connection string) or by name (a setting named like a token).
SENTINELS = {
    "DATABASE_URL": "postgresql://admin:SENTINELpw7f3a9c@db.example.com:5432/app?sslmode=require",
    "STRIPE_API_KEY": "sk_live_SENTINEL7f3a9c0d1e2f",
    "SESSION_JWT": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJTRU5USU5FTCJ9.SENTINELsig7f3a9c",
    "BACKUP_STORAGE": "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=SENTINELkey7f3a9c==;EndpointSuffix=core.windows.net",
    "PARTNER_TOKEN": "SENTINELplain7f3a9c",
}


def test_pasted_credentials_are_masked_in_every_output(cloud):
    url = cloud.url
    assert cli("provision", "--env", "dev", "--arm-endpoint", url).code == 0
    site = f"{rg_path()}/providers/Microsoft.Web/sites/fundrbolt-dev-api"
    status, body = rest(url, "POST", f"{site}/config/appsettings/list")
    assert status == 200, body
    status, body = rest(url, "PUT", f"{site}/config/appsettings",
                        {"properties": {**body["properties"], **SENTINELS}}, caller="bob@fundrbolt.app")
    assert status < 300, body
    runs = []
    for output in ("text", "json", "markdown"):
        runs.append(cli("plan", "--env", "dev", "--arm-endpoint", url, "--output", output, "--show-ignored"))
        runs.append(cli("drift", "--env", "dev", "--arm-endpoint", url, "--output", output, "--show-ignored"))
    drift = runs[3].json()
    shown = {p["path"]: p["before"] for c in drift["changes"] for p in c["properties"]}
    assert {f"properties.{k}" for k in SENTINELS} <= set(shown), shown  # reported as drift...
    assert all(shown[f"properties.{k}"] == "(sensitive)" for k in SENTINELS)  # ...without the values
    runs.append(cli("provision", "--env", "dev", "--arm-endpoint", url, "--output", "json"))
    runs.append(cli("provision", "--env", "dev", "--arm-endpoint", url))
    for run in runs:
        assert "SENTINEL" not in run.out + run.err, run.out + run.err
    assert runs[-2].code == 0  # and provision removed them (app settings are owned whole)
