"""`provisioner audit` end to end: a fresh production on the local cloud meets every applicable built-in or has an
exemption for it; a weakening made by REST is named by its definition; the documented coverage figure is this."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.azure import Clients, Target
from provisioner.cli.session import Connection, apply, ensure_providers, make_plan
from provisioner.core.model import Status
from provisioner.engine.executor import Timing
from provisioner.engine.reconciler import Policy
from provisioner.localcloud import LocalCloud
from tests.e2e.helpers import cli, rest, rg_path
from tests.support import ROOT, SUB, session

DOC = ROOT / "docs" / "security-baseline.md"
ALICE = "alice@fundrbolt.app"


@pytest.fixture(scope="module")
def production() -> Iterator[LocalCloud]:
    """Production provisioned from nothing by the tool itself (the real SDK over HTTP)."""
    with LocalCloud() as cloud:
        s = session("production")
        conn = Connection(Clients(Target(SUB, cloud.url, local=True, polling_interval=0.02,
                                         ca_file=str(cloud.ca_file))), Timing.local())
        ensure_providers(s, conn)  # as provision does before its first write (a fresh subscription)
        the_plan, known = make_plan(s, conn, Policy())
        outcomes, _ = apply(s, conn, the_plan, known)
        assert [(o.change.step, o.error) for o in outcomes if o.status is Status.FAILED] == []
        yield cloud


def audit(cloud: LocalCloud, *extra: str):
    return cli("audit", "--env", "production", "--arm-endpoint", cloud.url, *extra)


def exemption_names(env_files: list[Path]) -> set[str]:
    names: set[str] = set()
    for path in env_files:
        names |= set(re.findall(r"^\[policy\.exemptions\.([\w-]+)\]", path.read_text(), re.MULTILINE))
    return names


def test_fresh_production_is_compliant_and_lists_its_exemptions(production):
    run = audit(production)
    assert run.code == 0, run.out + run.err
    assert "production against" in run.out and ": compliant" in run.out
    # The Azure Cache for Redis exemptions serve an environment that still runs (or is leaving) the old cache
    # (redis.kind = "cache", steps/retired_cache.py); production runs Managed Redis, so they are listed as not needed.
    cache_only = {"redis-access-key", "redis-firewall"}
    for name in exemption_names([ROOT / "envs" / "common.toml", ROOT / "envs" / "production.toml"]) - cache_only:
        assert f"({name}" in run.out, name
    for name in cache_only:
        assert f"  - {name}: no definition it names applies here" in run.out, name
    doc = audit(production, "--output", "json").json()
    assert doc["compliant"] and doc["summary"]["not_met"] == 0 and doc["summary"]["errors"] == 0
    states = {d["state"] for d in doc["definitions"]}
    assert states <= {"compliant", "exempt", "not-applicable"}
    # Every other exemption production declares is needed there (none names only met definitions).
    assert doc["unused_exemptions"] == dict.fromkeys(cache_only, "no definition it names applies here")
    markdown = audit(production, "--output", "markdown")
    assert markdown.code == 0 and "### Exempted" in markdown.out


def test_a_weakening_made_by_rest_is_named_by_its_definition_and_repaired_it_is_met_again(production):
    storage = f"{rg_path('production')}/providers/Microsoft.Storage/storageAccounts/fundrboltproductionst"
    config = f"{rg_path('production')}/providers/Microsoft.Web/sites/fundrbolt-production-api/config/web"
    status, _ = rest(production.url, "PATCH", storage, {"properties": {"minimumTlsVersion": "TLS1_0"}},
                     caller=ALICE, api_version="2025-06-01")
    assert status == 200
    status, _ = rest(production.url, "PATCH", config, {"properties": {"ftpsState": "AllAllowed"}}, caller=ALICE)
    assert status == 200
    try:
        run = audit(production)
        assert run.code == 2, run.out + run.err
        assert "NOT compliant" in run.out
        assert "Storage accounts should have the specified minimum TLS version" in run.out
        assert "StorageAccountMinimumTLSVersion_Audit" in run.out
        assert 'properties.minimumTlsVersion = "TLS1_0"' in run.out
        assert "App Service apps should require FTPS only" in run.out
        assert 'properties.ftpsState = "AllAllowed"' in run.out
        doc = audit(production, "--output", "json").json()
        failing = {d["referenceId"] for d in doc["definitions"] if d["state"] == "non-compliant"}
        assert failing == {"StorageAccountMinimumTLSVersion_Audit", "AuditFTPS_WebApp_Audit"}
    finally:
        rest(production.url, "PATCH", storage, {"properties": {"minimumTlsVersion": "TLS1_2"}}, caller=ALICE,
             api_version="2025-06-01")
        rest(production.url, "PATCH", config, {"properties": {"ftpsState": "Disabled"}}, caller=ALICE)
    assert audit(production).code == 0


def coverage_figure(doc: dict) -> str:
    """The sentence docs/security-baseline.md states, from an audit of a fresh production."""
    s, left = doc["summary"], doc["not_assigned"]
    left_out = sum(len(c["definitions"]) for c in left.values())
    return (f"Of the {s['assigned'] + left_out} built-ins, {left_out} are not assigned ({len(left)} classes) and "
            f"{s['assigned']} are. On a fresh production {s['applicable']} of them apply: {s['met']} are met, "
            f"{s['exempted']} are exempted, {s['not_met']} are not met; {s['not_applicable']} apply to no resource "
            "of the environment.")


def test_the_documented_coverage_figure_is_the_audits(production):
    doc = audit(production, "--output", "json").json()
    text = DOC.read_text()
    found = re.search(r"<!-- figure:coverage -->\n(.*?)\n<!-- /figure:coverage -->", text, re.DOTALL)
    assert found, "docs/security-baseline.md has no figure:coverage block"
    assert found.group(1).strip() == coverage_figure(doc), (
        "the coverage figure in docs/security-baseline.md is stale; it should read:\n" + coverage_figure(doc))
