"""A saved plan end to end: `plan --out-plan` then `provision --plan` applies exactly what was reviewed, and
refuses, naming what moved, when live state changed in between. The CLI runs in subprocesses against a local
cloud, out-of-band changes come through its REST API as a person in the portal would make them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.localcloud import LocalCloud
from tests.e2e.helpers import cli, rest, rg_path, writes
from tests.support import COMES_WITH_PARENT

pytestmark = pytest.mark.e2e
CONFIG = f"{rg_path('dev')}/providers/Microsoft.Web/sites/fundrbolt-dev-api/config/web"


@pytest.fixture(scope="module")
def lc(tmp_path_factory) -> Iterator[LocalCloud]:
    state = tmp_path_factory.mktemp("saved-plan")
    with LocalCloud(state_file=state / "state.json", request_log=state / "requests.jsonl") as cloud:
        yield cloud


def run(lc: LocalCloud, *args: str):
    return cli(*args, "--env", "dev", "--arm-endpoint", lc.url)


def test_a_saved_plan_applies_exactly_what_was_reviewed(lc, tmp_path: Path):
    saved = tmp_path / "dev.plan.json"
    planned = run(lc, "plan", "--output", "json", "--out-plan", str(saved))
    assert planned.code == 2, planned.err
    doc = json.loads(saved.read_text())
    assert doc["plan"]["summary"] == planned.json()["summary"] and doc["env"] == "dev"
    # Every planned value is kept as a salted digest only (the readable part is the redacted JSON plan).
    assert doc["fingerprints"] and all(len(d) == 32 for fp in doc["fingerprints"].values() for d in fp["properties"].values())
    applied = run(lc, "provision", "--plan", str(saved), "--output", "json")
    assert applied.code == 0, applied.err
    done = json.loads(applied.out)
    reviewed = {c["step"] for c in planned.json()["changes"] if c["action"] != "noop" and not c.get("waiting")}
    applied_steps = {o["step"] for o in done["outcomes"] if o["status"] == "applied"}
    # Nothing beyond the review is written; a reviewed child of a resource created in this run may already hold
    # its value when the server exists (a PostgreSQL parameter whose desired value is Azure's default): the
    # executor re-reads it and writes nothing ("unchanged"), never something else; so may a set Azure creates with
    # its parent (a site's empty connection strings).
    assert applied_steps <= reviewed and "postgres_server" in applied_steps
    assert {o["step"]: o["status"] for o in done["outcomes"] if o["step"] in reviewed - applied_steps} == {
        s: "unchanged" for s in reviewed - applied_steps}
    assert all(s.startswith("postgres_configuration:") or s in COMES_WITH_PARENT for s in reviewed - applied_steps)
    assert run(lc, "plan").code == 0


def converged(lc: LocalCloud) -> None:
    """dev provisioned (the tests of this module may run on different workers, each with its own cloud)."""
    if run(lc, "plan").code != 0:
        assert run(lc, "provision").code == 0


def test_a_live_change_since_the_plan_is_refused_naming_what_moved(lc, tmp_path: Path):
    converged(lc)
    assert rest(lc.url, "PATCH", CONFIG, {"properties": {"minTlsVersion": "1.0"}})[0] == 200
    saved = tmp_path / "dev.plan.json"
    planned = run(lc, "plan", "--out-plan", str(saved))
    assert planned.code == 2 and "minTlsVersion" in planned.out
    # After the review: bob turns FTPS on, and alice lowers TLS once more.
    assert rest(lc.url, "PATCH", CONFIG, {"properties": {"ftpsState": "AllAllowed", "minTlsVersion": "1.1"}},
                caller="bob@fundrbolt.app")[0] == 200
    before = len(writes(lc.requests()))
    refused = run(lc, "provision", "--plan", str(saved))
    assert refused.code == 1
    assert "no longer matches the saved plan" in refused.err and "nothing was applied" in refused.err
    assert "web_app_config (" in refused.err and "changed since the plan: properties.ftpsState, properties.minTlsVersion" in refused.err
    assert len(writes(lc.requests())) == before, "a refused saved plan writes nothing"
    # A fresh plan, reviewed again, applies.
    assert run(lc, "plan", "--out-plan", str(saved)).code == 2
    assert run(lc, "provision", "--plan", str(saved)).code == 0
    assert run(lc, "plan").code == 0


def test_a_plan_that_would_now_do_less_is_refused_too(lc, tmp_path: Path):
    converged(lc)
    assert rest(lc.url, "PATCH", CONFIG, {"properties": {"minTlsVersion": "1.0"}})[0] == 200
    saved = tmp_path / "dev.plan.json"
    assert run(lc, "plan", "--out-plan", str(saved)).code == 2
    assert rest(lc.url, "PATCH", CONFIG, {"properties": {"minTlsVersion": "1.2"}})[0] == 200  # someone repaired it
    refused = run(lc, "provision", "--plan", str(saved))
    assert refused.code == 1 and "web_app_config (" in refused.err and "planned update, now noop" in refused.err


def test_a_saved_plan_of_another_environment_or_no_plan_is_refused_before_any_request(lc, tmp_path: Path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"kind": "fundrbolt-provisioner/saved-plan", "schema": 1, "env": "staging",
                                 "subscription": "00000000-0000-0000-0000-000000000000", "salt": "x",
                                 "fingerprints": {}}))
    before = len(lc.requests())
    wrong = run(lc, "provision", "--plan", str(other))
    assert wrong.code == 1 and f"--plan {other}: a plan for 'staging', not 'dev'" in wrong.err
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{")
    assert "not a saved plan" in run(lc, "provision", "--plan", str(garbage)).err
    missing = run(lc, "provision", "--plan", str(tmp_path / "none.json"))
    assert missing.code == 1 and "none.json" in missing.err
    assert len(lc.requests()) == before
