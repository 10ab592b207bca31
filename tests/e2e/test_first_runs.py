"""The order of first runs: dev, production, dev, staging (and production, staging once staging's zone exists)
into one local cloud. Each run exits 0; names Azure validates through public DNS wait, saying what a person
must do, until production delegates the sub-zone; everything ends converged (every plan empty)."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import cli

pytestmark = pytest.mark.e2e

# What waits on the delegation of a sub-zone (bindings, certificate, e-mail verification and link).
DNS_STEPS = {"custom_domain:api", "custom_domain:admin", "certificate:api", "custom_domain:api-tls",
             "email_domain_verification", "communication_service_link"}


def provision(url: str, env: str):
    run = cli("provision", "--env", env, "--arm-endpoint", url, "--yes")
    assert run.code == 0, f"{env}: {run.err[-3000:]}{run.out[-3000:]}"
    return run


def plan(url: str, env: str) -> dict:
    run = cli("plan", "--env", env, "--arm-endpoint", url, "--output", "json")
    assert run.code == 0, run.err + run.out[-2000:]  # waiting alone is not "changes pending"
    return run.json()


def quick_plan(clients, env: str):
    """The same plan in this process (no CLI start-up): for the checks between runs."""
    from provisioner.cli.session import Connection, make_plan
    from provisioner.engine.executor import Timing
    from tests.support import session

    the_plan, _ = make_plan(session(env), Connection(clients, Timing.local()))
    assert not the_plan.errors, the_plan.errors
    return the_plan


def test_any_order_of_first_runs_converges(cloud, clients):
    url = cloud.url
    first = provision(url, "dev")
    assert "waiting: delegate dev.fundrbolt.app: production has not run yet" in first.out
    doc = plan(url, "dev")
    assert {w["step"] for w in doc["waiting"]} == DNS_STEPS and not [c for c in doc["changes"]
                                                                      if c["action"] != "noop" and "waiting" not in c]
    drift = cli("drift", "--env", "dev", "--arm-endpoint", url)
    assert drift.code == 0 and "In sync." in drift.out and "wait on a precondition" in drift.out  # not drift

    prod = provision(url, "production")  # the apex: registered, so its own names need no one
    assert "staging.fundrbolt.app does not exist yet" in prod.out
    assert {c.step for c in quick_plan(clients, "production").waiting} == {"dns_delegation:staging"}

    again = provision(url, "dev")  # delegated now: the bindings, certificate and e-mail complete
    assert "waiting" not in again.out.lower(), again.out
    assert quick_plan(clients, "dev").waiting == ()

    staging = provision(url, "staging")
    assert "delegate staging.fundrbolt.app: fundrbolt.app has no NS record 'staging'" in staging.out
    provision(url, "production")
    provision(url, "staging")

    for env in ("dev", "staging", "production"):
        final = quick_plan(clients, env)
        assert final.waiting == () and not final.pending, (env, [c.step for c in final.pending])
    assert cli("drift", "--env", "staging", "--arm-endpoint", url).code == 0


def test_production_first_run_converges_in_one_run_under_realistic_latency(tmp_path):
    """Realistic durations scaled down (e-mail checks take 15 min each on the real clock here, 4.5 s): the apex
    needs no delegation, so one run verifies the e-mail domain in order, issues the certificate and links."""
    from provisioner.localcloud import LocalCloud

    with LocalCloud(latency="realistic", time_scale=0.005) as cloud:
        run = provision(cloud.url, "production")
        held = [line for line in run.out.splitlines() if line.startswith("  … ")]
        assert held and all(line.startswith("  … dns_delegation:") for line in held), run.out[-2000:]
        assert "failed 0, skipped 0, waiting 2" in run.out  # only the sub-zones nobody has created yet
        assert "verifying Domain" in run.err  # progress of the long wait is shown
        doc = plan(cloud.url, "production")
        assert {w["step"] for w in doc["waiting"]} == {"dns_delegation:dev", "dns_delegation:staging"}
        assert doc["summary"]["noop"] + 2 == len(doc["changes"])
        drift = cli("drift", "--env", "production", "--arm-endpoint", cloud.url)
        assert drift.code == 0 and "In sync." in drift.out, drift.out


def test_a_run_that_stops_waiting_for_email_leaves_the_link_to_the_next_run(tmp_path):
    """Azure's checks outlast a run's bound: the run waits (exit 0 semantics), what is verified stays verified,
    and later runs finish verification in order and link the domain (in-process runner, realistic latency)."""
    import shutil
    import time

    from provisioner.azure import Clients, Target
    from provisioner.cli.session import Connection, Session, apply, make_plan
    from provisioner.core.model import Status
    from provisioner.engine.executor import Timing
    from provisioner.engine.graph import build
    from provisioner.localcloud import LocalCloud
    from provisioner.localcloud.providers import register_all
    from tests.support import ENVS, SUB, closure, session

    envs = tmp_path / "envs"
    shutil.copytree(ENVS, envs)
    prod_file = envs / "production.toml"
    prod_file.write_text(prod_file.read_text() + "\n[email]\nverification_wait_minutes = 0.01\n")  # 0.6 s
    full = session("production", envs)
    names = set(closure(full, "communication_service_link"))
    steps = [s for s in full.steps if s.name in names]
    sub = Session(full.env, steps, build([(s.name, s.depends_on) for s in steps]))
    with LocalCloud(latency="realistic", time_scale=0.005) as cloud:  # each DNS check: 900 s -> 4.5 s
        register_all(cloud)  # in-process runs, not the CLI's provision that registers providers itself
        conn = Connection(Clients(Target(SUB, cloud.url, local=True, polling_interval=0.02)), Timing.local())
        seen = []
        for _ in range(4):
            the_plan, known = make_plan(sub, conn)
            outcomes = {o.change.step: o for o in apply(sub, conn, the_plan, known)[0]}
            assert not [o for o in outcomes.values() if o.status in (Status.FAILED, Status.SKIPPED)]
            seen.append((outcomes.get("email_domain_verification"), outcomes.get("communication_service_link")))
            if outcomes.get("communication_service_link") and outcomes["communication_service_link"].status is Status.APPLIED:
                break
            time.sleep(4.6)
        first_verify, first_link = seen[0]
        assert first_verify.status is Status.WAITING and "the next run picks them up" in first_verify.error
        assert first_link.status is Status.WAITING and first_link.error.startswith("after email_domain_verification")
        assert seen[-1][1].status is Status.APPLIED and len(seen) >= 3  # ownership, then SPF/DKIM, then linked
        final, _ = make_plan(sub, conn)
        assert not final.pending and not final.waiting
