"""Settling on the local cloud: Communication's steady `Running` is not waited on (real SDK)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from provisioner.cli.session import Connection, Session, apply, make_plan
from provisioner.core.model import Status
from provisioner.engine.executor import Timing
from provisioner.engine.graph import build
from provisioner.engine.reconciler import Policy
from tests.support import closure, session

pytestmark = pytest.mark.e2e


def test_communication_services_report_running_and_the_link_does_not_wait_for_it(cloud, clients):
    # Production: its apex zone needs no delegation, so the e-mail domain verifies and links in this run (in dev
    # it waits for production to delegate dev's zone: tests/e2e/test_first_runs.py).
    full = session("production")
    names = closure(full, "communication_service_link")
    sub = Session(full.env, [s for s in full.steps if s.name in names],
                  build([(s.name, s.depends_on) for s in full.steps if s.name in names]))
    # Before: `Running` was not terminal and each write on the service waited out this deadline.
    conn = Connection(clients, replace(Timing.local(), settle_deadline=20))
    plan, known = make_plan(sub, conn, Policy())
    started = time.monotonic()
    outcomes, _ = apply(sub, conn, plan, known)
    assert all(o.status is Status.APPLIED for o in outcomes), [(o.change.step, o.error) for o in outcomes]
    assert time.monotonic() - started < 10
    states = {rid.rsplit("/", 2)[-2]: b["properties"]["provisioningState"] for rid, b in cloud.state().items()
              if "/microsoft.communication/" in rid.lower() and rid.lower().count("/providers/") == 1
              and "/domains/" not in rid.lower()}
    assert set(states.values()) == {"Running"}, states


def test_postgres_children_wait_for_a_new_ha_server_instead_of_hitting_server_busy(tmp_path):
    from provisioner.azure import Clients, Target
    from provisioner.localcloud import LocalCloud
    from tests.support import SUB

    # Realistic latency, scaled: the HA server's create (900 s) and standby (300 s) take 1.8 s + 0.6 s.
    with LocalCloud(latency="realistic", time_scale=0.002, request_log=tmp_path / "r.jsonl") as cloud:
        clients = Clients(Target(SUB, cloud.url, local=True, polling_interval=0.02, ca_file=str(cloud.ca_file)))
        full = session("production")
        names = set(closure(full, "postgres_database")) | set(closure(full, "postgres_firewall"))
        steps = [s for s in full.steps if s.name in names]
        sub = Session(full.env, steps, build([(s.name, s.depends_on) for s in steps]))
        conn = Connection(clients, Timing.local())
        plan, known = make_plan(sub, conn, Policy())
        outcomes, _ = apply(sub, conn, plan, known)
        assert all(o.status is Status.APPLIED for o in outcomes), [(o.change.step, o.error) for o in outcomes]
        server = next(b for rid, b in cloud.state().items() if rid.lower().endswith("/flexibleservers/fundrbolt-production-pg"))
        assert (server["properties"]["state"], server["properties"]["highAvailability"]["state"]) == ("Ready", "Healthy")
        # The children waited for Ready (Step.needs_settled) rather than spending retries on 409 ServerBusy.
        assert [r for r in cloud.requests() if r["status"] == 409] == []
