"""Repairs never undo what others own: an autoscaled plan keeps its instance count, Azure-managed tags stay."""

from __future__ import annotations

import pytest

from provisioner.cli.session import Connection, apply, make_plan
from provisioner.core.model import AZURE_MANAGED, NOT_MANAGED, Action, Status
from provisioner.engine.executor import Timing
from provisioner.engine.reconciler import Policy
from tests.e2e.mutations import Rest
from tests.e2e.test_step_trio import _sub_session
from tests.support import session, step

pytestmark = pytest.mark.e2e
API = "2024-11-01"


def test_repairing_a_hand_added_tag_on_an_autoscaled_plan_keeps_the_instance_count(cloud, clients):
    full = session("production")
    assert step(full, "app_service_plan").autoscaled
    sub = _sub_session(full, "app_service_plan")
    conn = Connection(clients, Timing.local())
    plan, known = make_plan(sub, conn, Policy())
    outcomes, _ = apply(sub, conn, plan, known)
    assert all(o.status is Status.APPLIED for o in outcomes), outcomes
    s = step(sub, "app_service_plan")
    url = f"{cloud.url}{s.ref.id}?api-version={API}"

    # Autoscale scaled out to 4 under load; bob tagged the plan by hand; App Insights linked it.
    rest = Rest(cloud)
    body = s.read(clients)
    tags = {**body["tags"], "temp": "bob", "hidden-link:/subscriptions/x/components/ai": "Resource"}
    status, _ = rest.call("PATCH", url, {"sku": {**body["sku"], "capacity": 4}, "tags": tags})
    assert status < 300
    rest.settle(url)

    plan, known = make_plan(sub, conn, Policy())
    change = next(c for c in plan.changes if c.step == "app_service_plan")
    assert change.action is Action.UPDATE
    assert [(p.path, p.before, p.after) for p in change.properties] == [("tags.temp", "bob", None)]
    kinds = {(i.path, i.category) for i in change.ignored}
    assert ("sku.capacity", NOT_MANAGED) in kinds
    assert ("tags.hidden-link:/subscriptions/x/components/ai", AZURE_MANAGED) in kinds

    before = len(cloud.requests())
    outcomes, _ = apply(sub, conn, plan, known)
    assert all(o.status in (Status.APPLIED, Status.UNCHANGED) for o in outcomes), outcomes
    assert any(r.get("write") for r in cloud.requests()[before:])  # the tag was repaired by a write
    after = s.read(clients)
    assert after["sku"]["capacity"] == 4  # not scaled back to the declared 2 under load
    assert "temp" not in after["tags"]
    assert after["tags"]["hidden-link:/subscriptions/x/components/ai"] == "Resource"
