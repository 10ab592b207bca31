"""Reconciler and executor against in-memory fake steps: actions, refusals, failures, lanes, verification."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from provisioner.core.errors import AzureCallError
from provisioner.core.model import UNKNOWN, Action, ResourceRef, Status
from provisioner.engine.diff import Rules
from provisioner.engine.executor import Executor, Timing
from provisioner.engine.graph import build
from provisioner.engine.reconciler import Policy, decide, plan
from provisioner.engine.step import Step

FAST = Timing(retry_deadline=2, backoff_min=0.01, backoff_max=0.02, visible_deadline=0.2, settle_deadline=1, poll=0.01)


class Store:
    def __init__(self):
        self.items: dict[str, dict] = {}
        self.writes: list[str] = []
        self.lock = threading.Lock()
        self.active: dict[str, int] = {}
        self.max_active: dict[str, int] = {}


class Fake(Step):
    type = "Test/things"

    def __init__(self, name: str, body: dict, deps: tuple[str, ...] = (), lane: str | None = None, fail: int = 0,
                 holds_data: bool = False, rules: Rules = Rules(), derive: str | None = None, sticky: bool = False,
                 permanent: bool = False):
        super().__init__(env=None, name=name, resource_name=name)  # type: ignore[arg-type]
        self.body, self.deps, self._lane, self.fail = body, deps, lane, fail
        self.holds_data = holds_data  # type: ignore[misc]
        self.rules = rules  # type: ignore[misc]
        self.derive = derive  # name of a step whose observed "value" we copy (a learned value)
        self.sticky = sticky  # the fake cloud ignores our write (to test "did not converge")
        self.permanent = permanent  # fail with an error no retry can help

    @property
    def depends_on(self):
        return self.deps

    @property
    def lane(self):
        return self._lane

    @property
    def ref(self):
        return ResourceRef("sub", "rg", self.type, self.name)

    def desired(self, known: Any) -> dict:
        body = dict(self.body)
        if self.derive:
            source = known.get(self.derive)
            body["value"] = UNKNOWN if source is None else source["value"]
        return body

    def read(self, clients: Store) -> dict | None:
        return clients.items.get(self.name)

    def create(self, clients: Store, desired: dict) -> None:
        if self.permanent:
            raise AzureCallError("400 InvalidTemplate: bad body", code="InvalidTemplate", status=400)
        if self.fail:
            self.fail -= 1
            raise AzureCallError("409 AnotherOperationInProgress", code="AnotherOperationInProgress", status=409, retryable=True)
        with clients.lock:
            key = self._lane or self.name
            clients.active[key] = clients.active.get(key, 0) + 1
            clients.max_active[key] = max(clients.max_active.get(key, 0), clients.active[key])
        time.sleep(0.02)
        with clients.lock:
            clients.active[key] -= 1
            clients.writes.append(self.name)
            if not self.sticky:
                clients.items[self.name] = {**desired, "id": self.name, "properties": {"provisioningState": "Succeeded"}}
            else:
                clients.items[self.name] = {"id": self.name}

    def delete(self, clients: Store) -> None:
        clients.items.pop(self.name, None)
        clients.writes.append(f"delete:{self.name}")


def run(steps: list[Fake], store: Store, policy: Policy = Policy(), production: bool = False):
    graph = build([(s.name, s.depends_on) for s in steps])
    the_plan, known = plan("test", steps, graph, store, policy, production)
    outcomes = Executor(steps, graph, store, policy, production, workers=4, timing=FAST).run(the_plan, known)
    return the_plan, {o.change.step: o for o in outcomes}


def test_create_then_noop_with_zero_writes():
    store = Store()
    steps = [Fake("a", {"value": 1}), Fake("b", {"value": 2}, deps=("a",))]
    first, outcomes = run(steps, store)
    assert [c.action for c in first.changes] == [Action.CREATE, Action.CREATE]
    assert all(o.status is Status.APPLIED for o in outcomes.values())
    store.writes.clear()
    second, outcomes = run(steps, store)
    assert not second.has_changes and store.writes == []


def test_learned_value_is_unknown_in_plan_then_resolved_at_apply():
    store = Store()
    steps = [Fake("web", {"value": "1.2.3.4"}), Fake("fw", {}, deps=("web",), derive="web")]
    the_plan, outcomes = run(steps, store)
    fw = next(c for c in the_plan.changes if c.step == "fw")
    assert any(p.after is UNKNOWN for p in fw.properties)
    assert outcomes["fw"].status is Status.APPLIED
    assert store.items["fw"]["value"] == "1.2.3.4"


def test_failure_skips_dependents_but_not_independent_branches():
    store = Store()
    steps = [Fake("a", {"value": 1}, permanent=True), Fake("b", {"value": 1}, deps=("a",)), Fake("c", {"value": 1})]
    _, outcomes = run(steps, store)
    assert outcomes["a"].status is Status.FAILED
    assert outcomes["b"].status is Status.SKIPPED and "a" in outcomes["b"].error
    assert outcomes["c"].status is Status.APPLIED


def test_transient_errors_are_retried_and_create_happens_once():
    store = Store()
    _, outcomes = run([Fake("a", {"value": 1}, fail=2)], store)
    assert outcomes["a"].status is Status.APPLIED and store.writes == ["a"]


def test_lanes_serialize_writes():
    store = Store()
    steps = [Fake(f"s{i}", {"value": i}, lane="plan") for i in range(4)] + [Fake(f"f{i}", {"value": i}) for i in range(4)]
    run(steps, store)
    assert store.max_active["plan"] == 1


def test_independent_steps_run_concurrently():
    store = Store()
    steps = [Fake(f"s{i}", {"value": i}, lane=None) for i in range(4)]
    started = time.monotonic()
    run(steps, store)
    assert time.monotonic() - started < 0.02 * 4 + 0.5  # not strictly a timing test: generous bound


def test_not_converged_is_a_failure():
    store = Store()
    _, outcomes = run([Fake("a", {"value": 1}, sticky=True)], store)
    assert outcomes["a"].status is Status.FAILED and "converge" in outcomes["a"].error


def test_replace_of_data_is_refused_and_nothing_deleted():
    store = Store()
    store.items["db"] = {"id": "db", "kind": "old", "properties": {"provisioningState": "Succeeded"}}
    step = Fake("db", {"kind": "new"}, holds_data=True, rules=Rules(replace_on=("kind",)))
    change = decide(step, step.desired({}), store.items["db"], Policy(allow_replace=True), production=False)
    assert change.action is Action.REPLACE and change.refused
    _, outcomes = run([step], store, Policy(allow_replace=True, allow_data_loss=False))
    assert outcomes["db"].status is Status.FAILED and "refused" in outcomes["db"].error
    assert store.writes == []


def test_replace_without_data_needs_flag():
    store = Store()
    store.items["x"] = {"id": "x", "kind": "old"}
    step = Fake("x", {"kind": "new"}, rules=Rules(replace_on=("kind",)))
    assert decide(step, step.desired({}), store.items["x"], Policy(), False).refused
    _, outcomes = run([step], store, Policy(allow_replace=True))
    assert outcomes["x"].status is Status.APPLIED and store.writes == ["delete:x", "x"]


def test_data_replace_never_in_production_even_when_allowed():
    step = Fake("db", {"kind": "new"}, holds_data=True, rules=Rules(replace_on=("kind",)))
    change = decide(step, step.desired({}), {"kind": "old"}, Policy(allow_replace=True, allow_data_loss=True), production=True)
    assert "production" in change.refused


def test_failed_provisioning_state_is_reapplied():
    step = Fake("a", {"value": 1})
    change = decide(step, {"value": 1}, {"value": 1, "properties": {"provisioningState": "Failed"}}, Policy(), False)
    assert change.action is Action.UPDATE


@pytest.mark.parametrize("state", ["Creating", "Updating"])
def test_non_terminal_state_waits_before_writing(state):
    store = Store()
    store.items["a"] = {"id": "a", "value": 0, "properties": {"provisioningState": state}}

    def settle():
        time.sleep(0.1)
        store.items["a"]["properties"]["provisioningState"] = "Succeeded"

    threading.Thread(target=settle).start()
    _, outcomes = run([Fake("a", {"value": 1})], store)
    assert outcomes["a"].status is Status.APPLIED


def test_an_in_flight_create_is_waited_for_before_its_dependents_never_sent_again():
    """A killed run left `a` Creating: the next run re-attaches (waits), then writes `b`; `a` is not re-sent."""
    store = Store()
    store.items["a"] = {"id": "a", "value": 1, "properties": {"provisioningState": "Creating"}}
    order: list[str] = []

    def settle():
        time.sleep(0.15)
        order.append("a settled")
        store.items["a"]["properties"]["provisioningState"] = "Succeeded"

    class Child(Fake):
        def create(self, clients: Store, desired: dict) -> None:
            order.append("b written")
            super().create(clients, desired)

    threading.Thread(target=settle).start()
    the_plan, outcomes = run([Fake("a", {"value": 1}), Child("b", {"value": 2}, deps=("a",))], store)
    planned = {c.step: c for c in the_plan.changes}
    assert planned["a"].action is Action.NOOP and "creating in progress" in planned["a"].reason
    assert outcomes["a"].status is Status.UNCHANGED and "a" not in store.writes
    assert order == ["a settled", "b written"]


def test_executor_checks_the_run_lock_before_every_write():
    from provisioner.core.errors import ProvisionerError

    store = Store()
    steps = [Fake("a", {"value": 1}), Fake("b", {"value": 2}, deps=("a",)), Fake("c", {"value": 3})]
    graph = build([(s.name, s.depends_on) for s in steps])
    the_plan, known = plan("test", steps, graph, store, Policy(), False)
    allowed = iter([True])

    def guard():
        if not next(allowed, False):
            raise ProvisionerError("lost the run lock on test: the lease was taken away; stopped writing")

    outcomes = Executor(steps, graph, store, Policy(), False, workers=1, timing=FAST, guard=guard).run(the_plan, known)
    assert len(store.writes) == 1  # one write allowed, then none
    failed = [o for o in outcomes if o.status is Status.FAILED]
    assert failed and all("lost the run lock" in (o.error or "") for o in failed)


class CascadingStore(Store):
    def __init__(self, children: dict[str, list[str]]):
        super().__init__()
        self.children = children


class Parent(Fake):
    """Deleting it deletes its children (as ARM does with a static site's custom domains)."""

    def delete(self, clients: CascadingStore) -> None:  # type: ignore[override]
        super().delete(clients)
        gone = list(clients.children.get(self.name, []))
        while gone:  # ARM deletes every nested child resource with its parent
            name = gone.pop()
            clients.items.pop(name, None)
            gone += clients.children.get(name, [])


def test_replacing_a_parent_recreates_its_children_in_the_same_run():
    """Issue 11.8: the child was planned noop, the replace deleted it; the same run re-creates it (and its child)."""
    store = CascadingStore({"site": ["domain"], "domain": ["cert"]})
    site = Parent("site", {"kind": "old"}, rules=Rules(replace_on=("kind",)))
    domain, cert = Parent("domain", {"v": 1}, deps=("site",)), Fake("cert", {"v": 2}, deps=("domain",))
    other = Fake("other", {"v": 3}, deps=("site",))
    run([site, domain, cert, other], store)
    site.body = {"kind": "new"}
    the_plan, outcomes = run([site, domain, cert, other], store, Policy(allow_replace=True))
    assert [c.action for c in the_plan.changes if c.action is not Action.NOOP] == [Action.REPLACE]
    assert outcomes["domain"].status is Status.APPLIED and outcomes["domain"].change.action is Action.CREATE
    assert outcomes["cert"].status is Status.APPLIED and outcomes["cert"].change.action is Action.CREATE
    assert outcomes["other"].status is Status.UNCHANGED  # re-read, still there: nothing written
    assert {"domain", "cert", "site"} <= set(store.items)
    store.writes.clear()
    again, _ = run([site, domain, cert, other], store)
    assert not again.has_changes and store.writes == []
