"""Owned collections in the engine (fake steps and a fake collection): read with the plan, decided purely,
deleted after every declared resource, verified, and left for a person when refused."""

from __future__ import annotations

from provisioner.core.model import Action, ResourceRef, Status
from provisioner.engine.children import Child, Children
from provisioner.engine.executor import Executor
from provisioner.engine.graph import build
from provisioner.engine.reconciler import Policy, plan
from tests.unit.test_engine import FAST, Fake, Store

PARENT = "/subscriptions/sub/resourceGroups/rg/providers/Test/things/server"


class Rule(Fake):
    """A declared child: a step whose ref is under the server."""

    type = "Test/things/rules"

    @property
    def ref(self):
        return ResourceRef("sub", "rg", self.type, self.name, "things/server")


class Rules(Children):
    why = "admits addresses"

    def __init__(self, kind: str = "revoke", sticky: bool = False):
        super().__init__("server/rules", "server", PARENT, "Test/things/rules")
        self.kind = kind  # type: ignore[misc]
        self.sticky = sticky  # the fake cloud ignores our delete

    def list(self, clients: Store) -> list[Child]:
        return [Child(f"{PARENT}/rules/{n}", n, b) for n, b in clients.items.items() if n.startswith("rule-")]

    def delete(self, clients: Store, child: Child) -> None:
        clients.writes.append(f"delete:{child.name}")
        if not self.sticky:
            clients.items.pop(child.name, None)


def _run(store: Store, rules: Rules):
    steps = [Fake("server", {"value": 1}), Rule("rule-ours", {"value": 1}, deps=("server",))]
    graph = build([(s.name, s.depends_on) for s in steps])
    the_plan, known = plan("test", steps, graph, store, Policy(), False, children=[rules])
    outcomes = Executor(steps, graph, store, Policy(), False, workers=4, timing=FAST, children=[rules]).run(the_plan, known)
    return the_plan, {o.change.step: o for o in outcomes}


def test_an_undeclared_child_is_deleted_after_the_declared_ones_and_verified():
    store = Store()
    store.items["server"] = {"value": 1}
    store.items["rule-hand"] = {"value": 9}
    the_plan, outcomes = _run(store, Rules())
    [orphan] = [c for c in the_plan.changes if c.collection]
    assert orphan.step == "server/rules/rule-hand" and orphan.action is Action.DELETE and orphan in the_plan.drift
    assert outcomes[orphan.step].status is Status.APPLIED and "rule-hand" not in store.items
    assert store.writes.index("delete:rule-hand") > store.writes.index("rule-ours")  # declared ones first


def test_a_refused_child_is_left_for_a_person_not_a_failure():
    store = Store()
    store.items.update({"server": {"value": 1}, "rule-ours": {"value": 1}, "rule-hand": {"value": 9}})
    _, outcomes = _run(store, Rules(kind="report"))
    left = outcomes["server/rules/rule-hand"]
    assert left.status is Status.LEFT_FOR_A_PERSON and left.error.startswith("left for a person: admits addresses")
    assert "rule-hand" in store.items and store.writes == []


def test_a_delete_that_does_not_take_is_not_converged():
    store = Store()
    store.items.update({"server": {"value": 1}, "rule-ours": {"value": 1}, "rule-hand": {"value": 9}})
    _, outcomes = _run(store, Rules(sticky=True))
    failed = outcomes["server/rules/rule-hand"]
    assert failed.status is Status.FAILED and "still listed" in failed.error


def test_no_parent_no_listing():
    store = Store()
    the_plan, _ = _run(store, Rules())
    assert not [c for c in the_plan.changes if c.collection]
