"""`drift` end to end: alice changes and deletes things in the portal; the report names her, never us."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from provisioner.azure import Clients, Target
from provisioner.cli import commands
from provisioner.cli.session import Connection, Session, TargetSpec, apply, make_plan
from provisioner.core.model import Status
from provisioner.engine.executor import Timing
from provisioner.engine.graph import build
from provisioner.engine.reconciler import Policy
from provisioner.localcloud import LocalCloud
from tests.e2e.helpers import cli, rest
from tests.support import SUB, closure, session

ALICE = "alice@fundrbolt.app"
# The resources these tests touch, with what they depend on: the rest of dev is the trio's business.
STEPS = ("web_app_config", "log_analytics", "storage_account")


@dataclass
class Run:
    code: int
    out: str

    def json(self) -> dict:
        return json.loads(self.out)


def _session() -> Session:
    full = session("dev")
    names = {n for step in STEPS for n in closure(full, step)}
    steps = [s for s in full.steps if s.name in names]
    return Session(full.env, steps, build([(s.name, s.depends_on) for s in steps]))


def _provision(cloud: LocalCloud) -> None:
    s = _session()
    conn = Connection(Clients(Target(SUB, cloud.url, local=True, polling_interval=0.02, ca_file=str(cloud.ca_file))), Timing.local())
    plan, known = make_plan(s, conn, Policy())
    outcomes, _ = apply(s, conn, plan, known)
    assert [(o.change.step, o.error) for o in outcomes if o.status is Status.FAILED] == []


@pytest.fixture(scope="module")
def dev_cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as cloud:  # in memory: the Activity Log file would be rewritten on every write
        _provision(cloud)
        yield cloud


def _drift(cloud: LocalCloud, *extra: str) -> Run:
    """The drift command as the CLI runs it (commands.report), against the cloud's ARM endpoint."""
    output = extra[1] if extra[:1] == ("--output",) else "text"
    text, code = commands.report("drift", _session(), TargetSpec(arm_endpoint=cloud.url), output, 4, False)
    return Run(code, text)


def _recent(ts: str, seconds: float = 300) -> bool:
    when = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return 0 <= (datetime.now(UTC) - when).total_seconds() < seconds


def test_after_our_own_provision_nothing_is_drift_and_nobody_is_blamed(dev_cloud: LocalCloud) -> None:
    run = _drift(dev_cloud, "--output", "json")
    assert run.code == 0, run.out
    doc = run.json()
    assert doc["changes"] == [] and doc["drift"]["drifted"] == 0
    assert doc["drift"]["ignored"].get("read-only", 0) > 0  # noise filtered, and counted


def test_a_portal_change_names_alice_for_that_resource_only(dev_cloud: LocalCloud) -> None:
    s = session("dev")
    config = next(st for st in s.steps if st.name == "web_app_config")
    status, _ = rest(dev_cloud.url, "PATCH", config.ref.id, {"properties": {"minTlsVersion": "1.0"}}, caller=ALICE)
    assert status == 200

    run = _drift(dev_cloud, "--output", "json")
    assert run.code == 2, run.out
    doc = run.json()
    assert [c["step"] for c in doc["changes"]] == ["web_app_config"]
    change = doc["changes"][0]
    assert change["properties"] == [{"path": "properties.minTlsVersion", "before": "1.0", "after": "1.2"}]
    who = change["attribution"]
    assert who["status"] == "found" and who["caller"] == ALICE and _recent(who["timestamp"])
    assert who["operation"].lower().startswith("microsoft.web/sites/config/")

    md = _drift(dev_cloud, "--output", "markdown")
    assert md.code == 2 and f"last changed by {ALICE}" in md.out and "server-populated" in md.out
    text = _drift(dev_cloud)
    assert text.code == 2 and f"last changed by {ALICE}" in text.out and "1.0" in text.out

    # Repair with provision: our write is never blamed, and the drift is gone.
    _provision(dev_cloud)
    assert _drift(dev_cloud, "--output", "json").code == 0


def test_a_deleted_resource_is_reported_missing_with_exit_2_and_who_deleted_it(dev_cloud: LocalCloud) -> None:
    s = session("dev")
    workspace = next(st for st in s.steps if st.name == "log_analytics")
    status, _ = rest(dev_cloud.url, "DELETE", workspace.ref.id + "?force=true", caller=ALICE, api_version="2025-07-01")
    assert status in (200, 202, 204)
    run = _drift(dev_cloud, "--output", "json")
    assert run.code == 2, run.out
    by_step = {c["step"]: c for c in run.json()["changes"]}
    gone = by_step["log_analytics"]
    assert gone["action"] == "create" and "missing" in gone["reason"]
    assert gone["attribution"]["caller"] == ALICE and gone["attribution"]["operation"].lower().endswith("/delete")
    assert all(c["attribution"]["caller"] in (ALICE, None) for c in by_step.values())
    _provision(dev_cloud)
    assert _drift(dev_cloud, "--output", "json").code == 0


def test_the_cli_on_the_whole_environment_blames_only_alice() -> None:
    """`provisioner drift --output json` as a user runs it (a real process), on all of dev."""
    with LocalCloud() as cloud:
        full = session("dev")
        conn = Connection(Clients(Target(SUB, cloud.url, local=True, polling_interval=0.02, ca_file=str(cloud.ca_file))), Timing.local())
        plan, known = make_plan(full, conn, Policy())
        outcomes, _ = apply(full, conn, plan, known)
        assert [(o.change.step, o.error) for o in outcomes if o.status is Status.FAILED] == []
        clean = cli("drift", "--env", "dev", "--arm-endpoint", cloud.url, "--output", "json")
        assert clean.code == 0, clean.out + clean.err  # our own provision is never drift, nor blamed

        storage = next(st for st in full.steps if st.name == "storage_account")
        status, _ = rest(cloud.url, "PATCH", storage.ref.id, {"properties": {"allowBlobPublicAccess": True}},
                         caller=ALICE, api_version="2025-06-01")
        assert status == 200
        run = cli("drift", "--env", "dev", "--arm-endpoint", cloud.url, "--output", "json")
        assert run.code == 2, run.err
        doc = run.json()
        assert [(c["step"], c["attribution"]["caller"]) for c in doc["changes"]] == [("storage_account", ALICE)]
        assert _recent(doc["changes"][0]["attribution"]["timestamp"])
        assert doc["changes"][0]["properties"] == [
            {"path": "properties.allowBlobPublicAccess", "before": True, "after": False}]
