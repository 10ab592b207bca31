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
