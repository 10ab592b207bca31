"""The trio for every step: plan says create, apply, re-plan says nothing to do (real SDK, local cloud)."""

from __future__ import annotations

import pytest

from provisioner.executor import Timing
from provisioner.graph import build
from provisioner.model import Action, Status
from provisioner.reconciler import Policy
from provisioner.runner import Connection, Session, apply, make_plan
from steps.dns_delegation import Delegation, NeedsPublicDns
from tests.support import closure, session

ENVS = ("dev", "staging", "production")


def _cases() -> list[tuple[str, str]]:
    """Each step in the first environment that has it; a step validated through public DNS in production,
    whose apex zone needs no delegation (in dev it waits for production: tests/e2e/test_first_runs.py)."""
    seen: dict[str, str] = {}
    for env in ENVS:
        full = session(env)
        by_name = {s.name: s for s in full.steps}
        for s in full.steps:
            if env != "production" and any(isinstance(by_name[n], NeedsPublicDns) for n in closure(full, s.name)):
                continue
            seen.setdefault(s.name, env)
    return [(env, name) for name, env in seen.items()]


def _meet_preconditions(sub: Session, clients) -> None:
    """What another environment provides: the sub-zone a delegation reads its name servers from."""
    for s in sub.steps:
        if isinstance(s, Delegation):
            clients.resource.resource_groups.create_or_update(s.child_group, {"location": "eastus"})
            clients.dns.zones.create_or_update(s.child_group, s.child, {"location": "global"})


def _sub_session(full: Session, name: str) -> Session:
    names = closure(full, name)
    steps = [s for s in full.steps if s.name in names]
    return Session(full.env, steps, build([(s.name, s.depends_on) for s in steps]))


@pytest.mark.parametrize(("env", "name"), _cases(), ids=lambda v: v)
def test_trio(env, name, clients):
    sub = _sub_session(session(env), name)
    _meet_preconditions(sub, clients)
    conn = Connection(clients, Timing.local())
    plan, known = make_plan(sub, conn, Policy())
    change = next(c for c in plan.changes if c.step == name)
    assert change.action is Action.CREATE, change

    outcomes, _ = apply(sub, conn, plan, known)
    failed = [(o.change.step, o.error) for o in outcomes if o.status is not Status.APPLIED]
    assert not failed

    again, _ = make_plan(sub, conn, Policy())
    noisy = [(c.step, c.action.value, [(p.path, p.before, p.after) for p in c.properties]) for c in again.pending]
    assert noisy == [], noisy
