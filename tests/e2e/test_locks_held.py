"""Under production's CanNotDelete locks, deletes are left for a person and reported; the run still converges."""

from __future__ import annotations

import pytest

from provisioner.cli.render import plan_text
from provisioner.cli.session import Connection, apply, make_plan
from provisioner.core.model import Action, Status
from provisioner.engine.executor import Timing
from provisioner.engine.reconciler import Policy
from tests.e2e.helpers import rest
from tests.support import cache_envs, sub_session

pytestmark = pytest.mark.e2e


def test_a_stale_redis_rule_under_the_lock_is_left_for_a_person_and_the_run_succeeds(cloud, clients):
    # An environment that still runs Azure Cache for Redis (its firewall rules exist only there).
    sub = sub_session("production", "redis_firewall", "lock:redis", envs_dir=cache_envs())
    conn = Connection(clients, Timing.local())
    plan, known = make_plan(sub, conn, Policy())
    outcomes, _ = apply(sub, conn, plan, known)
    assert all(o.status is Status.APPLIED for o in outcomes), [(o.change.step, o.error) for o in outcomes]

    cache = next(rid for rid in cloud.state() if rid.lower().endswith("/redis/fundrbolt-production-redis"))
    stale = f"{cache}/firewallRules/webapp_20_9_9_9"
    status, _ = rest(cloud.url, "PUT", stale, {"properties": {"startIP": "20.9.9.9", "endIP": "20.9.9.9"}},
                     api_version="2024-11-01")
    assert status in (200, 201)
    # As on Azure, the lock refuses the delete (before: the tool planned it and the run failed with this).
    status, body = rest(cloud.url, "DELETE", stale, api_version="2024-11-01")
    assert (status, body["error"]["code"]) == (409, "ScopeLocked")

    plan, known = make_plan(sub, conn, Policy())
    change = next(c for c in plan.changes if c.step == "redis_firewall")
    assert change.action is Action.NOOP
    held = next(c for c in plan.changes if c.collection == "redis/firewallRules")
    assert held.action is Action.DELETE and held.ref.name == "webapp_20_9_9_9"
    assert held.refused and "left for a person" in held.refused
    assert "left for a person" in plan_text(plan)
    outcomes, _ = apply(sub, conn, plan, known)
    assert all(o.status in (Status.APPLIED, Status.UNCHANGED, Status.LEFT_FOR_A_PERSON) for o in outcomes)
    assert any(o.status is Status.LEFT_FOR_A_PERSON for o in outcomes)
    assert stale in cloud.state()
