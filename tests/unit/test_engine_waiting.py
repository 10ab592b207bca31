"""Waiting on a precondition: planned apart, not applied, not a failure, dependents wait too, re-checked each run."""

from __future__ import annotations

from typing import Any

from provisioner.cli import render
from provisioner.core.errors import Waiting
from provisioner.core.model import Action, Status
from provisioner.engine.executor import Executor
from provisioner.engine.graph import build
from provisioner.engine.reconciler import Policy, plan
from tests.unit.test_engine import FAST, Fake, Store


class Gated(Fake):
    """A step that can only be applied once `gate["open"]` (a delegation someone else writes)."""

    def __init__(self, name: str, gate: dict, **kw: Any):
        super().__init__(name, {"value": 1}, **kw)
        self.gate = gate

    def precondition(self, known: Any) -> str | None:
        return None if self.gate["open"] else "delegate dev.example: production has not run yet"


class SlowCheck(Fake):
    """Stops its bounded wait (an e-mail verification Azure is still running)."""

    def create(self, clients: Store, desired: dict) -> None:
        self.note("checking (5 s)")
        raise Waiting("still checking: the next run picks it up")


def _run(steps: list[Fake], store: Store, notes: list | None = None):
    graph = build([(s.name, s.depends_on) for s in steps])
    the_plan, known = plan("dev", steps, graph, store, Policy(), False)
    on_note = (lambda step, message: notes.append((step, message))) if notes is not None else None
    outcomes = Executor(steps, graph, store, Policy(), False, workers=4, timing=FAST, on_note=on_note).run(the_plan, known)
    return the_plan, {o.change.step: o for o in outcomes}


def test_unmet_precondition_waits_with_its_dependents_and_the_rest_is_applied():
    gate, store = {"open": False}, Store()
    steps = [Fake("zone", {"value": 1}), Gated("binding", gate, deps=("zone",)), Fake("cert", {"value": 1}, deps=("binding",)),
             Fake("other", {"value": 1})]
    the_plan, outcomes = _run(steps, store)
    assert [c.step for c in the_plan.waiting] == ["binding", "cert"]
    assert {c.step for c in the_plan.pending} == {"zone", "other"}  # what a run applies now
    assert the_plan.summary["create"] == 2 and the_plan.drift == tuple(c for c in the_plan.pending)
    cert = next(c for c in the_plan.changes if c.step == "cert")
    assert cert.action is Action.CREATE and cert.waiting == "after binding: delegate dev.example: production has not run yet"
    assert outcomes["binding"].status is Status.WAITING and outcomes["cert"].status is Status.WAITING
    assert outcomes["zone"].status is Status.APPLIED and outcomes["other"].status is Status.APPLIED
    assert "binding" not in store.items and "cert" not in store.items

    gate["open"] = True  # production delegated the zone: the next run completes them
    again, outcomes = _run(steps, store)
    assert again.waiting == () and outcomes["cert"].status is Status.APPLIED
    third, _ = _run(steps, store)
    assert not third.has_changes and not third.waiting


def test_a_precondition_met_during_the_run_is_applied_in_that_run():
    gate, store = {"open": False}, Store()
    steps = [Gated("binding", gate)]
    graph = build([("binding", ())])
    the_plan, known = plan("dev", steps, graph, store, Policy(), False)
    assert the_plan.waiting
    gate["open"] = True  # re-checked before applying, like desired state
    [outcome] = Executor(steps, graph, store, Policy(), False, timing=FAST).run(the_plan, known)
    assert outcome.status is Status.APPLIED


def test_a_step_that_stops_its_bounded_wait_is_waiting_not_failed_and_reports_progress():
    notes: list = []
    store = Store()
    steps = [SlowCheck("verify", {"value": 1}), Fake("link", {"value": 1}, deps=("verify",))]
    _, outcomes = _run(steps, store, notes)
    assert outcomes["verify"].status is Status.WAITING and "next run" in outcomes["verify"].error
    assert outcomes["link"].status is Status.WAITING and outcomes["link"].error.startswith("after verify: ")
    assert notes == [("verify", "checking (5 s)")]


def test_a_failure_still_skips_a_dependent_that_also_waits():
    gate, store = {"open": False}, Store()
    steps = [Fake("broken", {"value": 1}, permanent=True), Gated("gated", gate),
             Fake("both", {"value": 1}, deps=("broken", "gated"))]
    _, outcomes = _run(steps, store)
    assert outcomes["both"].status is Status.SKIPPED


def test_waiting_is_rendered_apart_with_what_to_do():
    gate = {"open": False}
    the_plan, outcomes = _run([Gated("binding", gate)], Store())
    text = render.plan_text(the_plan)
    assert "0 to create" in text and "1 waiting" in text and "Nothing to apply now." in text
    assert "waiting: delegate dev.example: production has not run yet" in text
    doc = __import__("json").loads(render.plan_json(the_plan))
    assert doc["waiting"] == [{"step": "binding", "id": the_plan.changes[0].ref.id,
                               "message": "delegate dev.example: production has not run yet"}]
    assert doc["changes"][0]["waiting"] and doc["summary"]["create"] == 0
    drift = render.drift_text(the_plan)
    assert "In sync." in drift and "wait on a precondition" in drift  # waiting is not drift
    assert "precondition" in render.plan_markdown(the_plan)
    done = render.outcomes_text(list(outcomes.values()), 1.0)
    assert "failed 0, skipped 0, waiting 1" in done and "binding: waiting: delegate dev.example" in done
    assert render.outcomes_json(list(outcomes.values()))[0]["status"] == "waiting"


def test_progress_of_a_long_wait_prints_when_it_changes_and_rides_the_heartbeat(monkeypatch):
    import io
    import time

    from provisioner.cli.progress import Progress
    from provisioner.core.model import Change, ResourceRef

    monkeypatch.setenv("PROVISIONER_HEARTBEAT", "0.05")
    out = io.StringIO()
    change = Change("email_domain_verification", ResourceRef("s", "rg", "T/x", "d"), Action.UPDATE)
    with Progress(1, out, live=False) as p:
        p("start", change, None)
        for message in ("Domain requested", "Domain requested", "Domain verified"):
            p.step_note("email_domain_verification", message)
        time.sleep(0.3)
    lines = out.getvalue().splitlines()
    assert [line for line in lines if "elapsed)" in line and "still" not in line] == [
        line for line in lines if line.startswith("  email_domain_verification: Domain")]
    assert sum("Domain requested" in line and "still" not in line for line in lines) == 1  # once per change
    assert any("still updating" in line and line.endswith("(Domain verified)") for line in lines)  # heartbeat
