"""Faults on the wire: transient errors are retried without creating twice, a failed LRO fails only its
branch, and the next run converges (real SDK over HTTP, faults injected by the local cloud)."""

from __future__ import annotations

import pytest

from provisioner.cli.session import Connection, apply, make_plan
from provisioner.core.model import Status
from provisioner.engine.executor import Timing
from provisioner.engine.reconciler import Policy
from tests.support import created_fresh, session, waits_for_delegation

pytestmark = pytest.mark.e2e
SITE = r"/providers/Microsoft\.Web/sites/fundrbolt-dev-api$"


def _run(clients):
    s = session("dev")
    conn = Connection(clients, Timing.local())
    plan, known = make_plan(s, conn, Policy())
    outcomes, _ = apply(s, conn, plan, known)
    return {o.change.step: o for o in outcomes}, s, conn


def _puts(cloud, pattern: str) -> list[dict]:
    import re

    return [r for r in cloud.requests() if r["method"] == "PUT" and re.search(pattern, r["path"])]


def test_conflict_and_throttling_are_retried_and_the_site_is_created_once(cloud, clients):
    cloud.add_fault({"method": "PUT", "path": SITE, "status": 409, "times": 2,
                     "body": {"error": {"code": "AnotherOperationInProgress", "message": "busy"}}})
    cloud.add_fault({"method": "PUT", "path": r"/storageAccounts/fundrboltdevst$", "status": 429,
                     "headers": {"Retry-After": "1"}, "times": 1})
    outcomes, _, _ = _run(clients)
    assert all(created_fresh(o) or waits_for_delegation(o) for o in outcomes.values()), {
        k: o.error for k, o in outcomes.items() if not created_fresh(o)}
    site_puts = _puts(cloud, SITE)
    assert [r["status"] for r in site_puts].count(409) == 2
    assert len([r for r in site_puts if r["status"] < 300]) == 1  # created exactly once


def test_failed_lro_fails_its_branch_only_and_the_next_run_converges(cloud, clients):
    cloud.add_fault({"method": "PUT", "path": r"/serverfarms/fundrbolt-dev-plan$", "lro_status": "Failed", "times": 1})
    outcomes, s, conn = _run(clients)
    assert outcomes["app_service_plan"].status is Status.FAILED
    assert outcomes["web_app"].status is Status.SKIPPED  # needs the plan
    assert outcomes["storage_account"].status is Status.APPLIED  # an independent branch kept going
    # The vault admits the app's subnet, not its addresses: it needs the subnet, never the plan or the app.
    assert outcomes["key_vault"].status is Status.APPLIED

    again, _, _ = _run(clients)
    assert all(o.status in (Status.APPLIED, Status.UNCHANGED) or waits_for_delegation(o) for o in again.values())
    final, _ = make_plan(s, conn, Policy())
    assert [c.step for c in final.pending] == []


def test_canceled_lro_is_retried_in_the_same_run(cloud, clients):
    cloud.add_fault({"method": "PUT", "path": r"/serverfarms/fundrbolt-dev-plan$", "lro_status": "Canceled", "times": 1})
    outcomes, _, _ = _run(clients)
    assert outcomes["app_service_plan"].status is Status.APPLIED
    assert outcomes["web_app"].status is Status.APPLIED
    assert len(_puts(cloud, r"/serverfarms/fundrbolt-dev-plan$")) == 2  # the canceled PUT, then one re-PUT
