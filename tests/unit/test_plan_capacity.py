"""The plan's instance count belongs to autoscale where autoscale runs; elsewhere it is managed drift."""

from provisioner.engine.diff import diff
from tests.support import session, step


def _observed(desired: dict, capacity: int) -> dict:
    return {**desired, "sku": {**desired["sku"], "capacity": capacity, "family": "S", "size": "S1"}}


def test_autoscaled_plan_ignores_capacity_with_a_reason():
    s = step(session("production"), "app_service_plan")
    assert s.autoscaled
    desired = s.desired({})
    result = diff(desired, _observed(desired, 4), s.rules)
    assert result.empty
    assert any(i.path == "sku.capacity" and i.rule == "owned by autoscale" for i in result.ignored)


def test_capacity_is_still_sent_on_create():
    s = step(session("production"), "app_service_plan")
    assert s.desired({})["sku"]["capacity"] == 2


def test_plan_without_autoscale_manages_capacity():
    s = step(session("dev"), "app_service_plan")
    assert not s.autoscaled
    desired = s.desired({})
    [change] = diff(desired, _observed(desired, 3), s.rules).changes
    assert (change.path, change.before, change.after) == ("sku.capacity", 3, 1)
